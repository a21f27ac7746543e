/*
 * test_kvserver.c - kvserver over loopback: each test starts the real
 * binary (build/kvserver, next to this test's directory; $KVSERVER
 * overrides) on --port 0 in a fresh directory, reads its listening line and
 * talks to it: both protocols, bad input of every kind, many connections,
 * SIGKILL under load then recovery of every acknowledged SET, SIGTERM.
 *
 * Nothing here depends on timing: waits are for replies, end of stream or
 * process exit, with generous time limits only so that a broken server
 * fails the test instead of hanging it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crashlab.h"
#include "testutil.h"

#define T_WAIT_MS 60000 /* give up on a silent server after this */

typedef struct fx {
    char *tmp;
    char dir[4096];
    char log[4096];
    pid_t pid;
    int port;
    uint64_t fsize_limit; /* RLIMIT_FSIZE of the server, 0: none */
} fx;

/* ---------------------------------------------------------------------- */
/* the server process                                                     */
/* ---------------------------------------------------------------------- */

static const char *server_path(void)
{
    static char path[4096];
    const char *env = getenv("KVSERVER");
    ssize_t n;
    char *slash;

    if (env != NULL && env[0] != '\0')
        return env;
    n = readlink("/proc/self/exe", path, sizeof(path) - 16);
    if (n <= 0)
        return "build/kvserver";
    path[n] = '\0';
    for (int i = 0; i < 2 && (slash = strrchr(path, '/')) != NULL; i++)
        *slash = '\0'; /* .../build/tests/test_kvserver -> .../build */
    strcat(path, "/kvserver");
    return path;
}

/* Start kvserver on f->dir with extra arguments (NULL-terminated list) and
 * read its listening line. */
static void server_start(fx *f, ...)
{
    const char *argv[32];
    int argc = 0, p[2];
    char line[256];
    size_t len = 0;
    va_list ap;
    const char *a;

    argv[argc++] = server_path();
    argv[argc++] = "-d";
    argv[argc++] = f->dir;
    argv[argc++] = "--port";
    argv[argc++] = "0";
    va_start(ap, f);
    while ((a = va_arg(ap, const char *)) != NULL && argc < 30)
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;

    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    f->pid = tu_fork();
    assert_true(f->pid >= 0);
    if (f->pid == 0) {
        int lf = open(f->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        dup2(p[1], 1);
        if (lf >= 0)
            dup2(lf, 2);
        if (f->fsize_limit > 0) {
            /* Writes past the limit fail with EFBIG (instead of killing
             * the server with SIGXFSZ): a disk that refuses writes. */
            struct rlimit rl = {f->fsize_limit, f->fsize_limit};
            signal(SIGXFSZ, SIG_IGN);
            setrlimit(RLIMIT_FSIZE, &rl);
        }
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(p[1]);
    while (len + 1 < sizeof(line)) {
        struct pollfd pfd = {p[0], POLLIN, 0};
        ssize_t n;
        if (poll(&pfd, 1, T_WAIT_MS) <= 0)
            break;
        n = read(p[0], line + len, 1);
        if (n <= 0 || line[len] == '\n')
            break;
        len++;
    }
    line[len] = '\0';
    close(p[0]);
    if (sscanf(line, "kvserver: listening on 127.0.0.1:%d", &f->port) != 1)
        fail_msg("kvserver (%s) did not start: stdout '%s', see %s", argv[0],
                 line, f->log);
}

/* Signal the server and wait for it; returns the wait status. */
static int server_signal(fx *f, int sig)
{
    int st;

    assert_true(f->pid > 0);
    kill(f->pid, sig);
    st = tu_wait(f->pid);
    f->pid = 0;
    return st;
}

static int fx_setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));

    f->tmp = tu_tmpdir("kvserver");
    snprintf(f->dir, sizeof(f->dir), "%s/db", f->tmp);
    snprintf(f->log, sizeof(f->log), "%s/kvserver.log", f->tmp);
    server_start(f, NULL);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    fx *f = *state;

    if (f->pid > 0)
        server_signal(f, SIGKILL);
    fs_rmrf(f->tmp);
    free(f->tmp);
    free(f);
    return 0;
}

/* ---------------------------------------------------------------------- */
/* clients                                                                */
/* ---------------------------------------------------------------------- */

typedef struct tc {
    int fd;
    size_t len, off;
    char buf[4096];
} tc;

/* Connect without cmocka asserts (usable from other threads). */
static tc *tc_try_open(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct timeval tv = {T_WAIT_MS / 1000, 0};
    tc *c = calloc(1, sizeof(*c));
    int one = 1;

    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        if (c->fd >= 0)
            close(c->fd);
        free(c);
        return NULL;
    }
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return c;
}

static tc *tc_open(int port)
{
    tc *c = tc_try_open(port);

    if (c == NULL)
        fail_msg("connect to port %d: %s", port, strerror(errno));
    return c;
}

static void tc_close(tc *c)
{
    close(c->fd);
    free(c);
}

static int tc_try_send(tc *c, const void *p, size_t n)
{
    const char *s = p;

    while (n > 0) {
        ssize_t k = send(c->fd, s, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        s += k;
        n -= (size_t)k;
    }
    return 0;
}

static void tc_send(tc *c, const void *p, size_t n)
{
    if (tc_try_send(c, p, n) != 0)
        fail_msg("send: %s", strerror(errno));
}

static void tc_puts(tc *c, const char *s)
{
    tc_send(c, s, strlen(s));
}

/* Next byte, or -1 at end of stream or error. */
static int tc_getc(tc *c)
{
    if (c->off == c->len) {
        ssize_t n;
        do
            n = recv(c->fd, c->buf, sizeof(c->buf), 0);
        while (n < 0 && errno == EINTR);
        if (n <= 0)
            return -1;
        c->len = (size_t)n;
        c->off = 0;
    }
    return (unsigned char)c->buf[c->off++];
}

/* One reply line without its "\n" or "\r\n"; NULL at end of stream. */
static char *tc_try_line(tc *c, char *out, size_t cap)
{
    size_t n = 0;
    int ch;

    while ((ch = tc_getc(c)) != -1) {
        if (ch == '\n') {
            if (n > 0 && out[n - 1] == '\r')
                n--;
            out[n] = '\0';
            return out;
        }
        if (n + 1 < cap)
            out[n++] = (char)ch;
    }
    return NULL;
}

static void tc_expect(tc *c, const char *want)
{
    char line[70000];

    if (tc_try_line(c, line, sizeof(line)) == NULL)
        fail_msg("end of stream while waiting for '%s'", want);
    if (strcmp(line, want) != 0)
        fail_msg("got '%.200s', expected '%s'", line, want);
}

/* A reply line that starts with prefix. */
static void tc_expect_prefix(tc *c, const char *prefix)
{
    char line[4096];

    if (tc_try_line(c, line, sizeof(line)) == NULL)
        fail_msg("end of stream while waiting for '%s...'", prefix);
    if (strncmp(line, prefix, strlen(prefix)) != 0)
        fail_msg("got '%.200s', expected '%s...'", line, prefix);
}

static void tc_expect_eof(tc *c)
{
    assert_int_equal(tc_getc(c), -1);
}

/* The server ends the stream within a few seconds with nothing more sent:
 * an end of stream, not the receive timeout. */
static void tc_expect_eof_soon(tc *c)
{
    struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
    char b;
    ssize_t n;

    if (c->off != c->len)
        fail_msg("%zu more bytes before the end of stream", c->len - c->off);
    if (poll(&pfd, 1, 5000) != 1)
        fail_msg("the server did not end the stream within 5 s");
    n = recv(c->fd, &b, 1, 0);
    if (n != 0)
        fail_msg("expected the end of stream, got %s",
                 n > 0 ? "more bytes" : strerror(errno));
}

static void tc_read_exact(tc *c, void *p, size_t n)
{
    uint8_t *d = p;

    for (size_t i = 0; i < n; i++) {
        int ch = tc_getc(c);
        if (ch < 0)
            fail_msg("end of stream after %zu of %zu bytes", i, n);
        d[i] = (uint8_t)ch;
    }
}

/* Send a RESP command made of (pointer, length) pairs. */
static void resp_send(tc *c, int argc, ...)
{
    char hdr[64];
    va_list ap;

    snprintf(hdr, sizeof(hdr), "*%d\r\n", argc);
    tc_puts(c, hdr);
    va_start(ap, argc);
    for (int i = 0; i < argc; i++) {
        const void *p = va_arg(ap, const void *);
        size_t n = va_arg(ap, size_t);
        snprintf(hdr, sizeof(hdr), "$%zu\r\n", n);
        tc_puts(c, hdr);
        tc_send(c, p, n);
        tc_send(c, "\r\n", 2);
    }
    va_end(ap);
}
#define S(s) (s), strlen(s)

/* A bulk string reply with exactly these bytes. */
static void tc_expect_bulk(tc *c, const void *v, size_t n)
{
    char hdr[64];
    uint8_t *got = malloc(n + 2);

    snprintf(hdr, sizeof(hdr), "$%zu", n);
    tc_expect(c, hdr);
    tc_read_exact(c, got, n + 2);
    assert_memory_equal(got, v, n);
    assert_memory_equal(got + n, "\r\n", 2);
    free(got);
}

/* Send all of data, then close our side, while reading everything the
 * server sends until it closes; returns what was read (malloc'd, NUL
 * terminated) in *out.  Used for inputs the server rejects midway. */
static size_t tc_exchange(tc *c, const void *data, size_t len, char **out)
{
    size_t sent = 0, got = 0, cap = 65536;
    char *buf = malloc(cap + 1);
    int wr_open = 1;

    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    for (;;) {
        struct pollfd pfd = {c->fd, POLLIN | (wr_open ? POLLOUT : 0), 0};
        if (poll(&pfd, 1, T_WAIT_MS) <= 0)
            fail_msg("server silent during exchange (%zu of %zu sent)", sent,
                     len);
        if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = recv(c->fd, buf + got, cap - got, 0);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
                break;
            if (n > 0 && (got += (size_t)n) == cap)
                buf = realloc(buf, (cap *= 2) + 1);
        }
        if (wr_open && (pfd.revents & POLLOUT)) {
            ssize_t n = send(c->fd, (const char *)data + sent, len - sent,
                             MSG_NOSIGNAL);
            if (n > 0)
                sent += (size_t)n;
            if ((n < 0 && errno != EAGAIN && errno != EINTR) || sent == len) {
                shutdown(c->fd, SHUT_WR);
                wr_open = 0;
            }
        }
    }
    buf[got] = '\0';
    *out = buf;
    return got;
}

/* The server is alive and serving. */
static void expect_alive(fx *f)
{
    tc *c = tc_open(f->port);

    tc_puts(c, "PING\n");
    tc_expect(c, "PONG");
    tc_close(c);
}

/* ---------------------------------------------------------------------- */
/* tests                                                                  */
/* ---------------------------------------------------------------------- */

static void test_kvserver_line_protocol(void **state)
{
    fx *f = *state;
    tc *c = tc_open(f->port);
    char *big = malloc(CL_VALUE_MAX + 64);

    tc_puts(c, "SET lang c\n");
    tc_expect(c, "OK");
    tc_puts(c, "GET lang\n");
    tc_expect(c, "VALUE c");
    tc_puts(c, "SET greeting hello,  big world \r\n");
    tc_expect(c, "OK");
    tc_puts(c, "get greeting\n");
    tc_expect(c, "VALUE hello,  big world ");
    tc_puts(c, "SET empty \n");
    tc_expect(c, "OK");
    tc_puts(c, "GET empty\n");
    tc_expect(c, "VALUE ");
    tc_puts(c, "GET nothing\n");
    tc_expect(c, "NOT_FOUND");
    tc_puts(c, "DEL lang\n");
    tc_expect(c, "OK");
    tc_puts(c, "DEL lang\n");
    tc_expect(c, "NOT_FOUND");
    tc_puts(c, "GET lang\n");
    tc_expect(c, "NOT_FOUND");
    tc_puts(c, "PING\n");
    tc_expect(c, "PONG");
    tc_puts(c, "\n");
    tc_puts(c, "STATS\n");
    tc_expect_prefix(c, "STATS clients=1 ");

    /* Errors keep the connection usable. */
    tc_puts(c, "FLY away\n");
    tc_expect(c, "ERROR unknown command 'fly'");
    tc_puts(c, "GET\n");
    tc_expect(c, "ERROR wrong number of arguments for 'get'");
    tc_puts(c, "SET k\n");
    tc_expect(c, "ERROR wrong number of arguments for 'set'");
    memcpy(big, "SET big ", 8);
    memset(big + 8, 'v', CL_VALUE_MAX + 1);
    big[8 + CL_VALUE_MAX + 1] = '\n';
    tc_send(c, big, 8 + CL_VALUE_MAX + 2);
    tc_expect(c, "ERROR value too long (at most 65536 bytes)");
    memset(big + 4, 'k', 1025);
    memcpy(big + 4 + 1025, " v\n", 3);
    tc_send(c, big, 4 + 1025 + 3);
    tc_expect(c, "ERROR key too long (at most 1024 bytes)");

    /* The largest value goes through. */
    memset(big + 4, 'v', CL_VALUE_MAX + 8);
    memcpy(big, "SET big ", 8);
    big[8 + CL_VALUE_MAX] = '\n';
    tc_send(c, big, 8 + CL_VALUE_MAX + 1);
    tc_expect(c, "OK");
    tc_puts(c, "GET big\n");
    memcpy(big + 2, "VALUE ", 6);
    big[8 + CL_VALUE_MAX] = '\0';
    tc_expect(c, big + 2);

    /* Pipelined requests, answered in order. */
    tc_puts(c, "SET p1 a\nSET p2 b\nGET p1\nDEL p2\nGET p2\nSET p1 c\nGET "
               "p1\nPING\n");
    tc_expect(c, "OK");
    tc_expect(c, "OK");
    tc_expect(c, "VALUE a");
    tc_expect(c, "OK");
    tc_expect(c, "NOT_FOUND");
    tc_expect(c, "OK");
    tc_expect(c, "VALUE c");
    tc_expect(c, "PONG");

    tc_puts(c, "QUIT\n");
    tc_expect(c, "OK");
    tc_expect_eof(c);
    tc_close(c);
    free(big);
}

static void test_kvserver_resp_basics(void **state)
{
    fx *f = *state;
    tc *c = tc_open(f->port), *l;
    uint8_t bin[256];
    char line[4096];

    for (int i = 0; i < 256; i++)
        bin[i] = (uint8_t)i;
    resp_send(c, 1, S("PING"));
    tc_expect(c, "+PONG");
    resp_send(c, 2, S("PING"), S("hi there"));
    tc_expect_bulk(c, "hi there", 8);
    resp_send(c, 3, S("SET"), S("a"), S("1"));
    tc_expect(c, "+OK");
    resp_send(c, 3, S("SET"), bin, (size_t)256, bin, (size_t)256);
    tc_expect(c, "+OK");
    resp_send(c, 2, S("GET"), bin, (size_t)256);
    tc_expect_bulk(c, bin, 256);
    resp_send(c, 2, S("GET"), S("a"));
    tc_expect_bulk(c, "1", 1);
    resp_send(c, 2, S("GET"), S("zz"));
    tc_expect(c, "$-1");
    resp_send(c, 4, S("EXISTS"), S("a"), S("zz"), S("a"));
    tc_expect(c, ":2");
    resp_send(c, 1, S("DBSIZE"));
    tc_expect(c, ":2");
    resp_send(c, 3, S("DEL"), S("a"), S("zz"));
    tc_expect(c, ":1");
    resp_send(c, 1, S("DBSIZE"));
    tc_expect(c, ":1");
    resp_send(c, 1, S("COMMAND"));
    tc_expect(c, "*0");
    resp_send(c, 3, S("CONFIG"), S("GET"), S("appendonly"));
    tc_expect(c, "*2");
    tc_expect_bulk(c, "appendonly", 10);
    tc_expect_bulk(c, "yes", 3);
    resp_send(c, 1, S("INFO"));
    {
        size_t n = 0;
        assert_non_null(tc_try_line(c, line, sizeof(line)));
        assert_int_equal(sscanf(line, "$%zu", &n), 1);
        assert_true(n + 2 < sizeof(line));
        tc_read_exact(c, line, n + 2);
        line[n] = '\0';
        assert_memory_equal(line, "# Server\r\n", 10);
        assert_non_null(strstr(line, "\r\nconnected_clients:1\r\n"));
    }
    resp_send(c, 5, S("SET"), S("k"), S("v"), S("EX"), S("10"));
    tc_expect_prefix(c, "-ERR syntax error");
    resp_send(c, 2, S("NOPE"), S("x"));
    tc_expect(c, "-ERR unknown command 'nope'");
    resp_send(c, 2, S("GET"), S(""));
    tc_expect_prefix(c, "-ERR empty keys");
    resp_send(c, 1, S("PING"));
    tc_expect(c, "+PONG");

    /* The binary value holds "\n": the line protocol says so. */
    l = tc_open(f->port);
    tc_puts(l, "GET ");
    tc_send(l, "\x01\x02", 2);
    tc_puts(l, "\n");
    tc_expect(l, "NOT_FOUND");
    resp_send(c, 3, S("SET"), S("nl"), S("x\ny"));
    tc_expect(c, "+OK");
    tc_puts(l, "GET nl\n");
    tc_expect_prefix(l, "ERROR value holds a newline");
    tc_close(l);

    /* Inline commands (a first line ended by CRLF) get RESP replies. */
    l = tc_open(f->port);
    tc_puts(l, "PING\r\nGET nl\r\n");
    tc_expect(l, "+PONG");
    tc_expect_bulk(l, "x\ny", 3);
    tc_close(l);

    /* A pipeline of 200 SETs in one write, then the GETs. */
    {
        char *p = malloc(200 * 64);
        size_t n = 0;
        for (int i = 0; i < 200; i++)
            n += (size_t)sprintf(p + n,
                                 "*3\r\n$3\r\nSET\r\n$4\r\nk%03d\r\n$4\r\nv%03d"
                                 "\r\n",
                                 i, i);
        tc_send(c, p, n);
        for (int i = 0; i < 200; i++)
            tc_expect(c, "+OK");
        n = 0;
        for (int i = 0; i < 200; i++)
            n +=
                (size_t)sprintf(p + n, "*2\r\n$3\r\nGET\r\n$4\r\nk%03d\r\n", i);
        tc_send(c, p, n);
        for (int i = 0; i < 200; i++) {
            char v[16];
            snprintf(v, sizeof(v), "v%03d", i);
            tc_expect_bulk(c, v, 4);
        }
        free(p);
    }
    resp_send(c, 1, S("QUIT"));
    tc_expect(c, "+OK");
    tc_expect_eof(c);
    tc_close(c);
}

static void test_kvserver_invalid_resp(void **state)
{
    static const char *bad[] = {
        "*-1\r\n",
        "*-5\r\n",
        "*99999999\r\n",
        "*1\r\n$-7\r\n",
        "*1\r\n$99999999999\r\n",
        "*2\r\n$3\r\nGET\r\n:1\r\n",
        "*1\r\n$4\r\nPINGxx",
        "*garbage\r\n",
    };
    fx *f = *state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        tc *c = tc_open(f->port);
        char *out;
        /* A valid request first: it is answered before the error. */
        resp_send(c, 1, S("PING"));
        tc_exchange(c, bad[i], strlen(bad[i]), &out);
        if (strncmp(out, "+PONG\r\n-ERR Protocol error", 26) != 0)
            fail_msg("input %zu: got '%s'", i, out);
        free(out);
        tc_close(c);
    }
    expect_alive(f);
}

/* A protocol error ends the stream at once, while the client still has
 * its side open and sends nothing more. */
static void test_kvserver_protocol_error_closes_at_once(void **state)
{
    fx *f = *state;
    tc *c = tc_open(f->port);

    tc_puts(c, "*1\r\n$-7\r\n");
    tc_expect(c, "-ERR Protocol error: invalid bulk length");
    tc_expect_eof_soon(c);
    tc_close(c);
    expect_alive(f);
}

static void test_kvserver_binary_garbage(void **state)
{
    fx *f = *state;
    size_t n = 256 * 1024;
    uint8_t *g = malloc(n);
    rng gen = {77};

    for (int round = 0; round < 6; round++) {
        tc *c = tc_open(f->port);
        char *out, *line;
        rng_fill(&gen, g, n);
        if (round % 3 == 0)
            g[0] = '*';
        else if (round % 3 == 1)
            g[0] = 'G';
        tc_exchange(c, g, n, &out);
        /* Every reply is an error; the server closed the connection. */
        for (line = strtok(out, "\n"); line != NULL; line = strtok(NULL, "\n"))
            if (strncmp(line, "ERROR ", 6) != 0 &&
                strncmp(line, "-ERR ", 5) != 0)
                fail_msg("round %d: reply '%.100s'", round, line);
        free(out);
        tc_close(c);
        expect_alive(f);
    }
    free(g);
}

static void test_kvserver_ten_mb_line(void **state)
{
    fx *f = *state;
    size_t n = 10 * 1024 * 1024;
    char *big = malloc(n + 64), *out;
    tc *c;

    memset(big, 'x', n);
    c = tc_open(f->port);
    tc_exchange(c, big, n, &out);
    assert_string_equal(out, "ERROR line too long\n");
    free(out);
    tc_close(c);

    /* The same size as one RESP bulk string. */
    c = tc_open(f->port);
    memcpy(big, "*1\r\n$10485760\r\n", 15);
    tc_exchange(c, big, n, &out);
    assert_string_equal(out, "-ERR Protocol error: invalid bulk length\r\n");
    free(out);
    tc_close(c);
    expect_alive(f);
    free(big);
}

static void test_kvserver_half_request_then_close(void **state)
{
    fx *f = *state;
    tc *c = tc_open(f->port);

    tc_puts(c, "SET half done");
    tc_close(c);
    c = tc_open(f->port);
    tc_puts(c, "*3\r\n$3\r\nSET\r\n$5\r\nhalf2\r\n$4\r\nab");
    tc_close(c);
    c = tc_open(f->port);
    tc_puts(c, "GET half\nGET half2\n");
    tc_expect(c, "NOT_FOUND");
    tc_expect(c, "NOT_FOUND");
    /* A complete request followed by end of stream is still answered. */
    tc_puts(c, "SET whole yes\n");
    shutdown(c->fd, SHUT_WR);
    tc_expect(c, "OK");
    tc_expect_eof(c);
    tc_close(c);
    expect_alive(f);
}

static void test_kvserver_silent_clients_block_nobody(void **state)
{
    fx *f = *state;
    tc *idle = tc_open(f->port), *partial = tc_open(f->port);
    tc *c = tc_open(f->port);
    char cmd[64], want[64];

    tc_puts(partial, "*2\r\n$3\r\nGET\r\n$4\r\nke");
    for (int i = 0; i < 100; i++) {
        snprintf(cmd, sizeof(cmd), "SET key%d value%d\nGET key%d\n", i, i, i);
        tc_puts(c, cmd);
        tc_expect(c, "OK");
        snprintf(want, sizeof(want), "VALUE value%d", i);
        tc_expect(c, want);
    }
    /* Both waiting clients are still served. */
    tc_puts(partial, "y5\r\n");
    tc_expect_bulk(partial, "value5", 6);
    tc_puts(idle, "PING\n");
    tc_expect(idle, "PONG");
    tc_close(idle);
    tc_close(partial);
    tc_close(c);
}

static void test_kvserver_slow_reader_blocks_nobody(void **state)
{
    enum { NGET = 400 };
    fx *f = *state;
    tc *slow = tc_open(f->port), *c = tc_open(f->port);
    char *val = malloc(CL_VALUE_MAX + 16), *req = malloc(NGET * 16);
    size_t n = 0, sent = 0;
    int got = 0;

    /* 400 GETs of a 64 KiB value: 26 MB of replies the client does not
     * read.  The server must stop serving it (bounded output) and go on
     * serving everyone else. */
    memset(val, 'v', CL_VALUE_MAX);
    memcpy(val, "SET big ", 8);
    val[CL_VALUE_MAX] = '\n';
    tc_send(c, val, CL_VALUE_MAX + 1);
    tc_expect(c, "OK");
    for (int i = 0; i < NGET; i++)
        n += (size_t)sprintf(req + n, "GET big\n");
    fcntl(slow->fd, F_SETFL, fcntl(slow->fd, F_GETFL) | O_NONBLOCK);
    for (;;) {
        ssize_t k = send(slow->fd, req + sent, n - sent, MSG_NOSIGNAL);
        if (k <= 0 || (sent += (size_t)k) == n)
            break;
    }
    for (int i = 0; i < 20; i++) {
        char cmd[64], want[64];
        snprintf(cmd, sizeof(cmd), "SET other%d %d\nGET other%d\n", i, i, i);
        tc_puts(c, cmd);
        tc_expect(c, "OK");
        snprintf(want, sizeof(want), "VALUE %d", i);
        tc_expect(c, want);
    }
    /* Now read everything the slow client asked for, sending the rest of
     * its requests as the server makes room. */
    {
        size_t want = 6 + (CL_VALUE_MAX - 8) + 1, have = 0;
        char *buf = malloc(1 << 20);
        while (got < NGET) {
            struct pollfd pfd = {slow->fd, POLLIN | (sent < n ? POLLOUT : 0),
                                 0};
            ssize_t k;
            if (poll(&pfd, 1, T_WAIT_MS) <= 0)
                fail_msg("server silent: %d of %d replies", got, NGET);
            if ((pfd.revents & POLLOUT) && sent < n) {
                k = send(slow->fd, req + sent, n - sent, MSG_NOSIGNAL);
                if (k > 0)
                    sent += (size_t)k;
            }
            if (!(pfd.revents & POLLIN))
                continue;
            k = recv(slow->fd, buf, 1 << 20, 0);
            if (k <= 0)
                fail_msg("end of stream after %d replies", got);
            for (ssize_t i = 0; i < k; i++) {
                if (have < 6)
                    assert_int_equal(buf[i], "VALUE "[have]);
                else if (have < want - 1)
                    assert_int_equal(buf[i], 'v');
                else
                    assert_int_equal(buf[i], '\n');
                if (++have == want) {
                    have = 0;
                    got++;
                }
            }
        }
        free(buf);
    }
    tc_close(slow);
    tc_close(c);
    free(val);
    free(req);
}

/* The log cannot grow (the server runs with a small RLIMIT_FSIZE): the
 * SET that needs more room gets the engine's error, the database goes
 * read-only (every later write gets an error, reads go on), the stop is
 * not clean, and a restart without the limit recovers every acknowledged
 * write. */
static void test_kvserver_engine_error_is_reported(void **state)
{
    fx *f = *state;
    char val[1024], cmd[1200], line[512], want[1200];
    int acked = 0, st;
    tc *c;

    server_signal(f, SIGKILL);
    fs_rmrf(f->dir);
    f->fsize_limit = 256 * 1024;
    server_start(f, NULL);
    f->fsize_limit = 0;
    c = tc_open(f->port);
    memset(val, 'x', sizeof(val) - 1);
    val[sizeof(val) - 1] = '\0';
    for (;; acked++) {
        snprintf(cmd, sizeof(cmd), "SET k%05d %s\n", acked, val);
        tc_puts(c, cmd);
        assert_non_null(tc_try_line(c, line, sizeof(line)));
        if (strcmp(line, "OK") != 0)
            break;
        assert_true(acked < 100000);
    }
    assert_string_equal(line, "ERROR File too large");
    tc_puts(c, "SET after the failure\n");
    tc_expect(c, "ERROR database is read-only after an I/O failure; "
                 "reopen it");
    tc_puts(c, "DEL k00000\n");
    tc_expect_prefix(c, "ERROR database is read-only");
    tc_puts(c, "GET k00000\n");
    snprintf(want, sizeof(want), "VALUE %s", val);
    tc_expect(c, want);
    tc_puts(c, "STATS\n");
    assert_non_null(tc_try_line(c, line, sizeof(line)));
    assert_non_null(strstr(line, " readonly=1"));
    tc_close(c);
    c = tc_open(f->port);
    resp_send(c, 3, S("SET"), S("r"), S("1"));
    tc_expect(c, "-ERR database is read-only after an I/O failure; "
                 "reopen it");
    tc_close(c);
    st = server_signal(f, SIGTERM);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 1); /* the checkpoint failed */

    server_start(f, NULL);
    c = tc_open(f->port);
    for (int i = 0; i < acked; i++) {
        snprintf(cmd, sizeof(cmd), "GET k%05d\n", i);
        tc_puts(c, cmd);
        tc_expect(c, want);
    }
    snprintf(cmd, sizeof(cmd), "GET k%05d\n", acked);
    tc_puts(c, cmd);
    tc_expect(c, "NOT_FOUND");
    tc_close(c);
}

/* Corruption found while serving a request carries the code CORRUPT and
 * the kind of damage, on both protocols, for programs (the crash harness
 * judges a torn page by them): every page past the meta page damaged
 * after a clean stop, so the first GET reads a damaged page. */
static void test_kvserver_corrupt_page_is_coded(void **state)
{
    fx *f = *state;
    char cmd[256], path[4200];
    struct stat st;
    tc *c;

    c = tc_open(f->port);
    for (int i = 0; i < 300; i++) {
        snprintf(cmd, sizeof(cmd), "SET key%04d %0100d\n", i, i);
        tc_puts(c, cmd);
        tc_expect(c, "OK");
    }
    tc_close(c);
    assert_true(WIFEXITED(server_signal(f, SIGTERM)));
    snprintf(path, sizeof(path), "%s/pages", f->dir);
    assert_int_equal(stat(path, &st), 0);
    assert_true(st.st_size >= 3 * 4096);
    for (off_t pg = 2; pg < st.st_size / 4096; pg++)
        assert_int_equal(tu_flip_byte(path, (uint64_t)pg * 4096 + 100), 0);

    server_start(f, NULL);
    c = tc_open(f->port);
    tc_puts(c, "GET key0007\n");
    tc_expect(c, "ERROR CORRUPT page: database corruption detected");
    tc_puts(c, "PING\n");
    tc_expect(c, "PONG"); /* the connection goes on */
    tc_close(c);
    c = tc_open(f->port);
    resp_send(c, 2, S("GET"), S("key0007"));
    tc_expect(c, "-CORRUPT page: database corruption detected");
    resp_send(c, 1, S("fly"));
    tc_expect(c, "-ERR unknown command 'fly'"); /* no code: ERR */
    tc_close(c);
}

static void test_kvserver_thousand_connections(void **state)
{
    enum { N = 1000 };
    fx *f = *state;
    tc **c = calloc(N, sizeof(*c));
    struct rlimit rl;
    char cmd[64], want[64];

    /* Several I/O threads, whatever the machine: connections are spread
     * over them. */
    server_signal(f, SIGKILL);
    server_start(f, "--threads", "3", "--committers", "3", NULL);
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < N + 64 && rl.rlim_max >= N + 64) {
        rl.rlim_cur = N + 64;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    for (int i = 0; i < N; i++)
        c[i] = tc_open(f->port);
    /* Every connection sends before any reads: all are open at once. */
    for (int i = 0; i < N; i++) {
        if (i % 2)
            snprintf(cmd, sizeof(cmd), "SET conn%d %d\n", i, i);
        else
            snprintf(cmd, sizeof(cmd),
                     "*3\r\n$3\r\nSET\r\n$%d\r\nconn%d\r\n$%d\r\n%d\r\n",
                     snprintf(NULL, 0, "conn%d", i), i,
                     snprintf(NULL, 0, "%d", i), i);
        tc_puts(c[i], cmd);
    }
    for (int i = 0; i < N; i++)
        tc_expect(c[i], i % 2 ? "OK" : "+OK");
    {
        tc *s = tc_open(f->port);
        char line[1024];
        unsigned clients = 0;
        tc_puts(s, "STATS\n");
        assert_non_null(tc_try_line(s, line, sizeof(line)));
        assert_int_equal(sscanf(line, "STATS clients=%u", &clients), 1);
        assert_int_equal(clients, N + 1);
        tc_close(s);
    }
    for (int i = 0; i < N; i++) {
        if (i % 2 == 0)
            snprintf(cmd, sizeof(cmd), "*2\r\n$3\r\nGET\r\n$%d\r\nconn%d\r\n",
                     snprintf(NULL, 0, "conn%d", (i + 1) % N), (i + 1) % N);
        else
            snprintf(cmd, sizeof(cmd), "GET conn%d\n", (i + 1) % N);
        tc_puts(c[i], cmd);
    }
    for (int i = 0; i < N; i++) {
        if (i % 2) {
            snprintf(want, sizeof(want), "VALUE %d", (i + 1) % N);
            tc_expect(c[i], want);
        } else {
            snprintf(want, sizeof(want), "%d", (i + 1) % N);
            tc_expect_bulk(c[i], want, strlen(want));
        }
    }
    for (int i = 0; i < N; i++)
        tc_close(c[i]);
    free(c);
    expect_alive(f);
}

static void test_kvserver_max_clients(void **state)
{
    fx *f = *state;
    tc *c[3], *extra;

    server_signal(f, SIGTERM);
    server_start(f, "--max-clients", "3", NULL);
    for (int i = 0; i < 3; i++) {
        c[i] = tc_open(f->port);
        tc_puts(c[i], "PING\n");
        tc_expect(c[i], "PONG");
    }
    /* A client over the limit is told so in its own protocol. */
    extra = tc_open(f->port);
    tc_puts(extra, "PING\n");
    tc_expect(extra, "ERROR max number of clients reached");
    tc_expect_eof_soon(extra);
    tc_close(extra);
    extra = tc_open(f->port);
    resp_send(extra, 1, S("PING"));
    tc_expect(extra, "-ERR max number of clients reached");
    tc_expect_eof_soon(extra);
    tc_close(extra);
    /* Once a client leaves, a new one is served: the refused ones took no
     * place. */
    tc_close(c[0]);
    for (int tries = 0;; tries++) {
        char line[256];
        extra = tc_open(f->port);
        tc_puts(extra, "PING\n");
        if (tc_try_line(extra, line, sizeof(line)) != NULL &&
            strcmp(line, "PONG") == 0)
            break;
        tc_close(extra);
        if (tries == 100)
            fail_msg("no place for a client after one left");
        usleep(50000);
    }
    tc_close(extra);
    for (int i = 1; i < 3; i++)
        tc_close(c[i]);
}

/* Writers for the SIGKILL test: each has its own connection and keys, and
 * counts the SETs acknowledged with OK. */
typedef struct writer {
    pthread_t tid;
    int port, id;
    atomic_int acked;
} writer;

static void *writer_main(void *arg)
{
    writer *w = arg;
    tc *c = tc_try_open(w->port);
    char cmd[128], line[128];

    if (c == NULL)
        return NULL;
    for (int i = 0;; i++) {
        snprintf(cmd, sizeof(cmd), "SET w%d-%06d value-%d-%d\n", w->id, i,
                 w->id, i);
        if (tc_try_send(c, cmd, strlen(cmd)) != 0 ||
            tc_try_line(c, line, sizeof(line)) == NULL ||
            strcmp(line, "OK") != 0)
            break;
        atomic_store(&w->acked, i + 1);
    }
    tc_close(c);
    return NULL;
}

static void test_kvserver_sigkill_keeps_acknowledged(void **state)
{
    enum { W = 8, TARGET = 400 };
    fx *f = *state;
    writer w[W];
    int total = 0, st;
    tc *c;
    char cmd[128], want[128], line[128];

    server_signal(f, SIGKILL);
    server_start(f, "--threads", "2", "--committers", "3", NULL);
    for (int i = 0; i < W; i++) {
        w[i].port = f->port;
        w[i].id = i;
        atomic_init(&w[i].acked, 0);
        assert_int_equal(pthread_create(&w[i].tid, NULL, writer_main, &w[i]),
                         0);
    }
    for (int spins = 0; total < TARGET && spins < T_WAIT_MS; spins++) {
        usleep(1000);
        total = 0;
        for (int i = 0; i < W; i++)
            total += atomic_load(&w[i].acked);
    }
    assert_true(total >= TARGET);
    st = server_signal(f, SIGKILL);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    for (int i = 0; i < W; i++)
        pthread_join(w[i].tid, NULL);

    server_start(f, NULL);
    c = tc_open(f->port);
    for (int i = 0; i < W; i++) {
        int acked = atomic_load(&w[i].acked);
        /* Every acknowledged SET is there... */
        for (int k = 0; k < acked; k++) {
            snprintf(cmd, sizeof(cmd), "GET w%d-%06d\n", i, k);
            snprintf(want, sizeof(want), "VALUE value-%d-%d", i, k);
            tc_puts(c, cmd);
            tc_expect(c, want);
        }
        /* ...the one in flight may be, and nothing after it. */
        snprintf(cmd, sizeof(cmd), "GET w%d-%06d\nGET w%d-%06d\n", i, acked, i,
                 acked + 1);
        tc_puts(c, cmd);
        assert_non_null(tc_try_line(c, line, sizeof(line)));
        tc_expect(c, "NOT_FOUND");
    }
    tc_close(c);
}

static void test_kvserver_restart_demo(void **state)
{
    fx *f = *state;
    tc *c = tc_open(f->port);

    tc_puts(c, "SET lang c\n");
    tc_expect(c, "OK");
    tc_close(c);
    server_signal(f, SIGKILL);
    server_start(f, NULL);
    c = tc_open(f->port);
    tc_puts(c, "GET lang\n");
    tc_expect(c, "VALUE c");
    tc_close(c);
}

static void test_kvserver_sigterm_exits_cleanly(void **state)
{
    fx *f = *state;
    tc *c = tc_open(f->port), *idle = tc_open(f->port);
    int st;

    for (int i = 0; i < 50; i++) {
        char cmd[64];
        snprintf(cmd, sizeof(cmd), "SET t%d %d\n", i, i);
        tc_puts(c, cmd);
        tc_expect(c, "OK");
    }
    /* An idle client does not hold up the stop. */
    st = server_signal(f, SIGTERM);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    tc_expect_eof(c);
    tc_close(c);
    tc_close(idle);

    server_start(f, NULL);
    c = tc_open(f->port);
    tc_puts(c, "GET t49\n");
    tc_expect(c, "VALUE 49");
    tc_close(c);
    st = server_signal(f, SIGINT);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_kvserver_redis_cli(void **state)
{
    fx *f = *state;
    char cmd[256], out[256];
    FILE *p;

    if (system("command -v redis-cli >/dev/null 2>&1") != 0) {
        skip();
        return;
    }
    snprintf(cmd, sizeof(cmd),
             "redis-cli -p %d set a b && redis-cli -p %d get a && "
             "redis-cli -p %d exists a && redis-cli -p %d ping",
             f->port, f->port, f->port, f->port);
    p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = '\0';
    assert_int_equal(pclose(p), 0);
    assert_string_equal(out, "OK\nb\n1\nPONG\n");
}

int main(int argc, char **argv)
{
#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_kvserver_line_protocol),
        T(test_kvserver_resp_basics),
        T(test_kvserver_invalid_resp),
        T(test_kvserver_protocol_error_closes_at_once),
        T(test_kvserver_binary_garbage),
        T(test_kvserver_ten_mb_line),
        T(test_kvserver_half_request_then_close),
        T(test_kvserver_silent_clients_block_nobody),
        T(test_kvserver_slow_reader_blocks_nobody),
        T(test_kvserver_thousand_connections),
        T(test_kvserver_max_clients),
        T(test_kvserver_sigkill_keeps_acknowledged),
        T(test_kvserver_restart_demo),
        T(test_kvserver_sigterm_exits_cleanly),
        T(test_kvserver_engine_error_is_reported),
        T(test_kvserver_corrupt_page_is_coded),
        T(test_kvserver_redis_cli),
    };

    signal(SIGPIPE, SIG_IGN);
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
