/*
 * redis_client.c - the clients of a Redis trial (redis.h): a blocking RESP
 * connection over the server's Unix socket, the workload each client
 * issues, and the read-back after the restart.
 *
 * Client c owns the keys c<c>:k0 .. c<c>:k7 and issues its transactions
 * one at a time, in order: a SET, a DEL, or MULTI, two to four SETs and
 * DELs, EXEC (sent together, their replies read after).  Each transaction
 * is declared (ex_decl, exec.h) before its first byte is sent, and counted
 * acknowledged when its last reply arrives: +OK for a SET, an integer for
 * a DEL, for EXEC an array of as many replies.  The counts live in the
 * harness's memory, never in anything the server writes.  Values name the
 * client and the transaction and are padded to 16..700 bytes, so that an
 * append may straddle sectors and every value is written once only.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "redis.h"
#include "rng.h"

#define RD_TAG_WL 0x7264776cu /* the clients' stream of the trial seed */
#define RD_VALUE_MAX 700

/* One connection: received bytes buf[pos, len). */
typedef struct rd_conn {
    int fd;
    size_t len, pos;
    char buf[65536];
} rd_conn;

/* A reply: type '+', '-', ':', '$' or '*'; n the integer, the length of a
 * bulk string or of an array (-1: nil); str a bulk or a status line
 * (malloc'd, NUL-ended; NULL for the others). */
typedef struct rd_reply {
    char type;
    long long n;
    char *str;
} rd_reply;

/* Connect to the Unix socket sock, with replies and sends timing out after
 * timeout_s.  Returns 0 or an errno. */
static int rd_connect(const char *sock, uint32_t timeout_s, rd_conn *c)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    struct timeval tv = {.tv_sec = (time_t)timeout_s};

    c->len = c->pos = 0;
    c->fd = -1;
    if (strlen(sock) >= sizeof(a.sun_path))
        return ENAMETOOLONG;
    memcpy(a.sun_path, sock, strlen(sock) + 1);
    if ((c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
        return errno;
    if (setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
        setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0 ||
        connect(c->fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        int e = errno;
        close(c->fd);
        c->fd = -1;
        return e;
    }
    return 0;
}

/* Append argv[0..argc) as one RESP command to out (at *olen, of cap
 * bytes).  Returns 0 or ENOBUFS. */
static int rd_encode(char *out, size_t cap, size_t *olen, int argc,
                     const char *const *argv)
{
    int n = snprintf(out + *olen, cap - *olen, "*%d\r\n", argc);

    if (n < 0 || (size_t)n >= cap - *olen)
        return ENOBUFS;
    *olen += (size_t)n;
    for (int i = 0; i < argc; i++) {
        size_t len = strlen(argv[i]);
        n = snprintf(out + *olen, cap - *olen, "$%zu\r\n", len);
        if (n < 0 || (size_t)n + len + 2 >= cap - *olen)
            return ENOBUFS;
        *olen += (size_t)n;
        memcpy(out + *olen, argv[i], len);
        memcpy(out + *olen + len, "\r\n", 2);
        *olen += len + 2;
    }
    return 0;
}

/* Send buf[0, len) whole.  Returns 0 or an errno (EPIPE, ECONNRESET: the
 * server is gone; EAGAIN: it took nothing for the timeout). */
static int rd_send(rd_conn *c, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Receive more bytes.  Returns 0, EPIPE at the end of the stream, or an
 * errno (EAGAIN: no reply within the timeout). */
static int rd_fill(rd_conn *c)
{
    ssize_t n;

    if (c->pos > 0) {
        memmove(c->buf, c->buf + c->pos, c->len - c->pos);
        c->len -= c->pos;
        c->pos = 0;
    }
    if (c->len == sizeof(c->buf))
        return EPROTO;
    do
        n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno;
    if (n == 0)
        return EPIPE;
    c->len += (size_t)n;
    return 0;
}

/* The next n bytes and their "\r\n" (n = SIZE_MAX: up to the next "\r\n").
 * OUT: *out (malloc'd, NUL-ended), *got.  Returns 0 or an errno. */
static int rd_take(rd_conn *c, size_t n, char **out, size_t *got)
{
    for (;;) {
        size_t avail = c->len - c->pos, len = n;
        int rc;
        if (n == SIZE_MAX) {
            char *e = memmem(c->buf + c->pos, avail, "\r\n", 2);
            len = e ? (size_t)(e - (c->buf + c->pos)) : SIZE_MAX;
        }
        if (len != SIZE_MAX && avail >= len + 2) {
            if (memcmp(c->buf + c->pos + len, "\r\n", 2) != 0 ||
                (*out = malloc(len + 1)) == NULL)
                return EPROTO;
            memcpy(*out, c->buf + c->pos, len);
            (*out)[len] = '\0';
            *got = len;
            c->pos += len + 2;
            return 0;
        }
        if ((rc = rd_fill(c)) != 0)
            return rc;
    }
}

/* Read one reply (an array's elements are read by the caller).  Returns 0,
 * EPROTO (not RESP), or rd_fill's errno. */
static int rd_read(rd_conn *c, rd_reply *r)
{
    char *line, *end;
    size_t len;
    int rc;

    memset(r, 0, sizeof(*r));
    if ((rc = rd_take(c, SIZE_MAX, &line, &len)) != 0)
        return rc;
    r->type = len > 0 ? line[0] : 0;
    if (r->type == '+' || r->type == '-') {
        memmove(line, line + 1, len);
        r->str = line;
        return 0;
    }
    errno = 0;
    r->n = strtoll(line + (len > 0), &end, 10);
    rc = (r->type != ':' && r->type != '$' && r->type != '*') || errno ||
                 *end != '\0' || end == line + 1
             ? EPROTO
             : 0;
    free(line);
    if (rc == 0 && r->type == '$' && r->n >= 0) {
        if (r->n > (long long)RD_VALUE_MAX * 2)
            return EPROTO;
        rc = rd_take(c, (size_t)r->n, &r->str, &len);
    }
    return rc;
}

/* Send the one-word command word on a connection of its own and read one
 * reply.  Returns 0 (OUT: *type, and whether the reply is the string
 * want), or an errno (EPIPE: the server closed the connection). */
static int rd_once(const char *sock, uint32_t timeout_s, const char *word,
                   const char *want, int *same)
{
    rd_conn *c = malloc(sizeof(*c));
    char cmd[64];
    size_t len = 0;
    rd_reply r = {0};
    int rc;

    if (c == NULL)
        return ENOMEM;
    if ((rc = rd_connect(sock, timeout_s, c)) == 0 &&
        (rc = rd_encode(cmd, sizeof(cmd), &len, 1, (const char *[]){word})) ==
            0 &&
        (rc = rd_send(c, cmd, len)) == 0 && (rc = rd_read(c, &r)) == 0)
        *same = r.str != NULL && strcmp(r.str, want) == 0;
    if (c->fd >= 0)
        close(c->fd);
    free(r.str);
    free(c);
    return rc;
}

int rd_ping(const char *sock)
{
    int pong = 0, rc = rd_once(sock, 1, "PING", "PONG", &pong);

    return rc != 0 ? rc : pong ? 0 : EAGAIN;
}

int rd_shutdown(const char *sock, uint32_t timeout_s)
{
    int same = 0, rc = rd_once(sock, timeout_s, "SHUTDOWN", "", &same);

    /* The server closes the connection as it exits; a reply is a
     * refusal. */
    return rc == EPIPE || rc == ECONNRESET ? 0 : rc == 0 ? EPROTO : rc;
}

/* ---------------------------------------------------------------------- */
/* the workload                                                           */
/* ---------------------------------------------------------------------- */

/* Draw transaction id (1-based) of client cl into t (ops malloc'd).
 * Returns 0 or ENOMEM. */
static int rd_draw(rng *r, uint32_t cl, uint64_t id, ex_txn *t)
{
    uint64_t u = rng_below(r, 10);
    size_t nops = u < 6 ? 1 : (size_t)rng_range(r, 2, 4);

    t->id = id;
    t->nops = 0;
    if ((t->ops = calloc(nops, sizeof(*t->ops))) == NULL)
        return ENOMEM;
    for (size_t i = 0; i < nops; i++) {
        ex_op *o = &t->ops[t->nops++];
        int del = nops == 1 ? u == 5 : rng_below(r, 5) == 0;
        size_t len = rng_below(r, 4) == 0 ? rng_range(r, 16, RD_VALUE_MAX)
                                          : rng_range(r, 16, 64);
        int n;
        if ((o->key = malloc(32)) == NULL)
            return ENOMEM;
        snprintf(o->key, 32, "c%u:k%u", cl, (unsigned)rng_below(r, RD_KEYS));
        if (del)
            continue;
        if ((o->value = malloc(len + 1)) == NULL)
            return ENOMEM;
        n = snprintf(o->value, len + 1, "c%u.t%" PRIu64 ".o%zu.", cl, id, i);
        for (size_t j = (size_t)n; j < len; j++)
            o->value[j] = (char)('a' + rng_below(r, 26));
        o->value[len] = '\0';
    }
    return 0;
}

/* t as the commands it is sent as, into out.  Returns 0 or ENOBUFS. */
static int rd_txn_encode(const ex_txn *t, char *out, size_t cap, size_t *len)
{
    int rc = 0;

    *len = 0;
    if (t->nops > 1)
        rc = rd_encode(out, cap, len, 1, (const char *[]){"MULTI"});
    for (size_t i = 0; i < t->nops && rc == 0; i++) {
        const ex_op *o = &t->ops[i];
        if (o->value != NULL)
            rc = rd_encode(out, cap, len, 3,
                           (const char *[]){"SET", o->key, o->value});
        else
            rc = rd_encode(out, cap, len, 2, (const char *[]){"DEL", o->key});
    }
    if (t->nops > 1 && rc == 0)
        rc = rd_encode(out, cap, len, 1, (const char *[]){"EXEC"});
    return rc;
}

/* 1 if r is the reply op o must get: +OK for a SET, an integer for a
 * DEL. */
static int rd_op_ok(const ex_op *o, const rd_reply *r)
{
    return o->value != NULL ? r->type == '+' && strcmp(r->str, "OK") == 0
                            : r->type == ':';
}

/* Read t's replies.  Returns 0 (acknowledged), EPIPE/ECONNRESET (the
 * server is gone), ECANCELED (an error reply: refused, its text in
 * refusal), EPROTO with why in err, or another errno. */
static int rd_txn_replies(rd_conn *c, const ex_txn *t, char *err, size_t errlen,
                          char *refusal, size_t reflen)
{
    size_t queued = t->nops > 1 ? t->nops + 1 : 0; /* MULTI and the ops */
    size_t want = t->nops > 1 ? 1 : t->nops;       /* the result */
    rd_reply r;
    int rc = 0;

    for (size_t i = 0; i < queued + want && rc == 0; i++) {
        if ((rc = rd_read(c, &r)) != 0)
            break;
        if (r.type == '-') {
            /* Refused (at MULTI, a queued command or the command itself):
             * the transaction is not acknowledged, whatever the text. */
            snprintf(refusal, reflen, "transaction %" PRIu64 ": %.120s", t->id,
                     r.str ? r.str : "");
            free(r.str);
            return ECANCELED;
        }
        if (i < queued) {
            if (r.type != '+')
                rc = EPROTO;
        } else if (t->nops == 1) {
            if (!rd_op_ok(&t->ops[0], &r))
                rc = EPROTO;
        } else if (r.type != '*' || r.n != (long long)t->nops) {
            rc = EPROTO;
        } else {
            for (size_t j = 0; j < t->nops && rc == 0; j++) {
                rd_reply e;
                if ((rc = rd_read(c, &e)) == 0 && !rd_op_ok(&t->ops[j], &e))
                    rc = EPROTO;
                free(e.str);
            }
        }
        if (rc == EPROTO)
            snprintf(err, errlen,
                     "transaction %" PRIu64 " got an unexpected reply "
                     "(type '%c'%s%.80s)",
                     t->id, r.type ? r.type : '?', r.str ? ": " : "",
                     r.str ? r.str : "");
        free(r.str);
    }
    return rc;
}

typedef struct rd_job {
    const redis_config *cfg;
    uint64_t seed;
    const char *sock;
    uint32_t client;
    rd_client *out;
    rd_conn conn;
    char cmd[4 * (RD_VALUE_MAX + 128) + 64];
} rd_job;

static void *rd_client_main(void *arg)
{
    rd_job *j = arg;
    ex_decl *d = &j->out->decl;
    rng r = rng_stream(j->seed, RD_TAG_WL, j->client);
    int rc;

    if ((rc = rd_connect(j->sock, j->cfg->timeout_s, &j->conn)) != 0) {
        /* Refused: the server has crashed before this client came (the
         * probe, which does not crash, sees every client through). */
        if (rc != ECONNREFUSED && rc != ENOENT)
            snprintf(j->out->err, sizeof(j->out->err), "connect: %s",
                     strerror(rc));
        return NULL;
    }
    if ((d->txns = calloc(j->cfg->txns, sizeof(*d->txns))) == NULL)
        rc = ENOMEM;
    for (uint32_t i = 0; i < j->cfg->txns && rc == 0; i++) {
        ex_txn *t = &d->txns[i];
        size_t len;
        d->ntxns++; /* declared before it is sent */
        if ((rc = rd_draw(&r, j->client, i + 1, t)) != 0 ||
            (rc = rd_txn_encode(t, j->cmd, sizeof(j->cmd), &len)) != 0)
            break;
        if ((rc = rd_send(&j->conn, j->cmd, len)) != 0 ||
            (rc = rd_txn_replies(&j->conn, t, j->out->err, sizeof(j->out->err),
                                 j->out->refusal, sizeof(j->out->refusal))) !=
                0)
            break;
        d->acked = d->ntxns;
    }
    /* The server's end (a crash) and a refusal stop a client without an
     * error. */
    if (rc != 0 && rc != EPIPE && rc != ECONNRESET && rc != ECANCELED &&
        j->out->err[0] == '\0')
        snprintf(j->out->err, sizeof(j->out->err), "%s",
                 rc == EAGAIN ? "no reply within the timeout" : strerror(rc));
    close(j->conn.fd);
    return NULL;
}

int rd_clients_run(const redis_config *cfg, uint64_t seed, const char *sock,
                   rd_client *cl)
{
    rd_job *jobs = calloc(cfg->clients, sizeof(*jobs));
    pthread_t *th = calloc(cfg->clients, sizeof(*th));
    uint32_t started = 0;
    int rc = 0;

    if (jobs == NULL || th == NULL)
        rc = ENOMEM;
    for (uint32_t c = 0; c < cfg->clients && rc == 0; c++) {
        memset(&cl[c], 0, sizeof(cl[c]));
        jobs[c] = (rd_job){
            .cfg = cfg, .seed = seed, .sock = sock, .client = c, .out = &cl[c]};
        if ((rc = pthread_create(&th[c], NULL, rd_client_main, &jobs[c])) == 0)
            started++;
    }
    for (uint32_t c = 0; c < started; c++)
        pthread_join(th[c], NULL);
    free(jobs);
    free(th);
    return rc;
}

/* ---------------------------------------------------------------------- */
/* reading back                                                           */
/* ---------------------------------------------------------------------- */

int rd_read_back(const redis_config *cfg, const char *sock, ex_state *st,
                 uint64_t *dbsize, char *err, size_t errlen)
{
    rd_conn *c = malloc(sizeof(*c));
    char cmd[256], key[32];
    rd_reply r = {0};
    size_t len;
    int rc;

    if (c == NULL)
        return snprintf(err, errlen, "out of memory"), -1;
    if ((rc = rd_connect(sock, cfg->timeout_s, c)) != 0)
        goto fail;
    for (uint32_t cl = 0; cl < cfg->clients; cl++) {
        memset(&st[cl], 0, sizeof(st[cl]));
        if ((st[cl].kv = calloc(RD_KEYS, sizeof(*st[cl].kv))) == NULL) {
            rc = ENOMEM;
            goto fail;
        }
        for (unsigned k = 0; k < RD_KEYS; k++) {
            len = 0;
            snprintf(key, sizeof(key), "c%u:k%u", cl, k);
            if ((rc = rd_encode(cmd, sizeof(cmd), &len, 2,
                                (const char *[]){"GET", key})) != 0 ||
                (rc = rd_send(c, cmd, len)) != 0 || (rc = rd_read(c, &r)) != 0)
                goto fail;
            if (r.type != '$') {
                rc = EPROTO;
                goto fail;
            }
            if (r.n < 0)
                continue;
            st[cl].kv[st[cl].n].value = r.str;
            r.str = NULL;
            if ((st[cl].kv[st[cl].n++].key = strdup(key)) == NULL) {
                rc = ENOMEM;
                goto fail;
            }
        }
    }
    len = 0;
    if ((rc = rd_encode(cmd, sizeof(cmd), &len, 1,
                        (const char *[]){"DBSIZE"})) != 0 ||
        (rc = rd_send(c, cmd, len)) != 0 || (rc = rd_read(c, &r)) != 0)
        goto fail;
    if (r.type != ':' || r.n < 0) {
        rc = EPROTO;
        goto fail;
    }
    *dbsize = (uint64_t)r.n;
    close(c->fd);
    free(c);
    return 0;
fail:
    snprintf(err, errlen, "reading back: %s%s%.80s",
             rc == EPROTO ? "an unexpected reply" : strerror(rc),
             r.str ? ": " : "", r.str ? r.str : "");
    free(r.str);
    if (c->fd >= 0)
        close(c->fd);
    free(c);
    return -1;
}
