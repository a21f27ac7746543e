/*
 * test_server_judge.c - the end of a server trial against a scripted
 * server: reading every key back, DBSIZE and the probe
 * (trial_server_check.c), where a torn page refused (kvserver's code
 * CORRUPT and the kind page) is no violation only where the crash could
 * tear a page and nothing protects pages, and where the refusal is one a
 * crash can explain; and the oracle, which gives a key the server could
 * not read the benefit of the doubt, and nothing else; the clean stop,
 * whose checkpoint may meet a torn page no answer read.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fsutil.h"
#include "testutil.h"
#include "trial_server_int.h"

#define NC 2 /* clients */
#define NS 4 /* SETs each sent, all acknowledged */

/* What the scripted server answers. */
typedef struct script {
    const char *get[NC][NS + 1]; /* NULL: the value written (or NOT_FOUND
                                    past the SETs sent), else this line */
    const char *dbsize;          /* NULL: the count of keys, else this */
    const char *probe;           /* NULL: OK, else this */
} script;

typedef struct server {
    int lfd;
    unsigned port;
    const script *sc;
    uint64_t seed;
    pthread_t th;
} server;

static void put_all(int fd, const void *p, size_t n)
{
    const char *c = p;

    while (n > 0) {
        ssize_t k = send(fd, c, n, MSG_NOSIGNAL); /* the reader may be gone */
        if (k <= 0)
            return;
        c += k;
        n -= (size_t)k;
    }
}

/* One connection: answer each request line as the script says. */
static void *conn_main(void *arg)
{
    server *sv = arg;
    int fd = accept(sv->lfd, NULL, NULL);
    char buf[4096], line[256];
    size_t have = 0;
    uint8_t val[TS_VALUE_BIG + 8];

    while (fd >= 0) {
        ssize_t k = read(fd, buf + have, sizeof(buf) - have);
        char *nl;
        if (k <= 0)
            break;
        have += (size_t)k;
        while ((nl = memchr(buf, '\n', have)) != NULL) {
            size_t n = (size_t)(nl - buf) + 1;
            unsigned c, i;
            snprintf(line, sizeof(line), "%.*s", (int)(n - 1), buf);
            memmove(buf, buf + n, have - n);
            have -= n;
            if (line[0] != '\0' && line[strlen(line) - 1] == '\r')
                line[strlen(line) - 1] = '\0';
            if (sscanf(line, "GET c%u-%u", &c, &i) == 2 && c < NC && i <= NS) {
                const char *a = sv->sc->get[c][i];
                if (a != NULL) {
                    put_all(fd, a, strlen(a));
                    put_all(fd, "\n", 1);
                } else if (i == NS) {
                    put_all(fd, "NOT_FOUND\n", 10);
                } else {
                    size_t v = ts_value(sv->seed, c, i, val);
                    put_all(fd, "VALUE ", 6);
                    put_all(fd, val, v);
                    put_all(fd, "\n", 1);
                }
            } else if (strcmp(line, "DBSIZE") == 0) {
                char r[64];
                if (sv->sc->dbsize != NULL)
                    snprintf(r, sizeof(r), "%s\r\n", sv->sc->dbsize);
                else
                    snprintf(r, sizeof(r), ":%d\r\n", NC * NS);
                put_all(fd, r, strlen(r));
            } else if (strncmp(line, "SET probe ", 10) == 0) {
                const char *a = sv->sc->probe != NULL ? sv->sc->probe : "OK";
                put_all(fd, a, strlen(a));
                put_all(fd, "\n", 1);
            }
            /* RESP's "*1" and "$6" lines: nothing to answer */
        }
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

/* Accept the two connections the read-back opens (GETs and the probe;
 * DBSIZE), each served by a thread of its own. */
static void *accept_main(void *arg)
{
    server *sv = arg;
    pthread_t t[2];

    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, conn_main, sv);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    return NULL;
}

static void server_start(server *sv, const script *sc, uint64_t seed)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);

    sv->sc = sc;
    sv->seed = seed;
    sv->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(sv->lfd >= 0);
    assert_int_equal(bind(sv->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(sv->lfd, 4), 0);
    assert_int_equal(getsockname(sv->lfd, (struct sockaddr *)&a, &al), 0);
    sv->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&sv->th, NULL, accept_main, sv), 0);
}

static void server_stop(server *sv)
{
    /* a read-back that ended early opened one connection: the other
     * accept returns now */
    shutdown(sv->lfd, SHUT_RDWR);
    pthread_join(sv->th, NULL);
    close(sv->lfd);
}

/* One trial's end: read back from a server scripted by sc, then judge.
 * torn: the engine's torn-page protection; mode: the server mode
 * (run_end returns ts_read_back's value; r->t is the trial after it, and
 * after ts_judge if it returned 0). */
typedef struct run {
    trial_env env;
    trial_spec s;
    trial_result res;
    ts_client cl[NC];
    uint8_t st[NC][NS + 1], *state[NC];
    uint32_t rec[NC];
    uint8_t vbuf[TS_VALUE_BIG + 1];
    ts_trial t;
    char why[300];
} run;

/* r as a trial of mode on an engine with torn-page protection torn:
 * NC clients, NS SETs each sent and acknowledged. */
static void run_init(run *r, cl_torn_mode torn, trial_mode mode)
{
    memset(r, 0, sizeof(*r));
    r->env.eng.torn = torn;
    r->s.mode = mode;
    r->s.powerloss = mode == MODE_SERVER_POWERLOSS;
    r->s.seed = 0x5eed;
    r->t.env = &r->env;
    r->t.s = &r->s;
    r->t.res = &r->res;
    r->t.n = NC;
    r->t.sets = NS;
    r->t.durable_ok = 1;
    r->t.cl = r->cl;
    r->t.rec = r->rec;
    r->t.vbuf = r->vbuf;
    r->t.memfd = -1;
    for (int c = 0; c < NC; c++) {
        r->cl[c].sent = NS;
        r->cl[c].acked = NS;
        r->state[c] = r->st[c];
    }
    r->t.state = r->state;
    r->t.sv.out = -1;
}

static int run_end(run *r, const script *sc, cl_torn_mode torn, trial_mode mode)
{
    server sv;
    int rc;

    run_init(r, torn, mode);
    server_start(&sv, sc, r->s.seed);
    r->t.sv.port = sv.port;
    rc = ts_read_back(&r->t, r->why, sizeof(r->why));
    server_stop(&sv);
    if (rc == 0)
        ts_judge(&r->t);
    return rc;
}

static void test_all_back(void **state)
{
    script sc = {0};
    run *r = malloc(sizeof(*r));

    (void)state;
    assert_int_equal(run_end(r, &sc, CL_TORN_NONE, MODE_SERVER_TORN), 0);
    assert_int_equal(r->res.verdict, ORACLE_OK);
    assert_int_equal(r->t.refusals, 0);
    assert_true(r->t.probe_ok);
    free(r);
}

/* A GET refused (a torn leaf), and DBSIZE, whose scan meets it too: read
 * on, no violation; the caller counts the trial detected. */
static void test_refused_get_and_dbsize(void **state)
{
    script sc = {.dbsize = "-CORRUPT page: database corruption detected"};
    run *r = malloc(sizeof(*r));

    (void)state;
    sc.get[0][1] = "ERROR CORRUPT page: database corruption detected";
    sc.get[0][2] = "ERROR CORRUPT page: database corruption detected";
    assert_int_equal(run_end(r, &sc, CL_TORN_NONE, MODE_SERVER_POWERLOSS), 0);
    assert_int_equal(r->res.verdict, ORACLE_OK);
    assert_int_equal(r->t.refusals, 3);
    assert_true(r->t.dbsize_refused);
    assert_int_equal(r->st[0][1], TS_REFUSED);
    assert_int_equal(r->st[1][0], TS_SAME);
    assert_true(r->t.probe_ok);
    assert_string_equal(r->t.refused,
                        "GET c0-1 was refused, a torn page: 'ERROR CORRUPT "
                        "page: database corruption detected'");
    free(r);
}

/* The same answers where pages are protected, or where the crash cannot
 * tear one (a kill of a 4 KiB page's write), or of another kind of
 * damage: recovery violations. */
static void test_refusal_not_explained(void **state)
{
    script sc = {0};
    run *r = malloc(sizeof(*r));

    (void)state;
    sc.get[0][1] = "ERROR CORRUPT page: database corruption detected";
    assert_int_equal(run_end(r, &sc, CL_TORN_FPW, MODE_SERVER_TORN), -1);
    assert_string_equal(r->why, "GET c0-1 was answered 'ERROR CORRUPT page: "
                                "database corruption detected'");
    assert_int_equal(run_end(r, &sc, CL_TORN_NONE, MODE_SERVER_KILL_IO), -1);
    sc.get[0][1] = "ERROR CORRUPT structure: database corruption detected";
    assert_int_equal(run_end(r, &sc, CL_TORN_NONE, MODE_SERVER_TORN), -1);
    sc.get[0][1] = "ERROR database corruption detected";
    assert_int_equal(run_end(r, &sc, CL_TORN_NONE, MODE_SERVER_TORN), -1);
    free(r);
}

/* DBSIZE refused where no GET was: its scan reads only pages the GETs
 * read (nothing is ever deleted), so no crash explains it. */
static void test_dbsize_refused_alone(void **state)
{
    script sc = {.dbsize = "-CORRUPT page: database corruption detected"};
    run *r = malloc(sizeof(*r));

    (void)state;
    assert_int_equal(run_end(r, &sc, CL_TORN_NONE, MODE_SERVER_TORN), -1);
    assert_string_equal(r->why, "DBSIZE was answered '-CORRUPT page: "
                                "database corruption detected'");
    free(r);
}

/* The probe may read a page no GET did (a free one it reuses). */
static void test_probe_refused(void **state)
{
    script sc = {.probe = "ERROR CORRUPT page: database corruption detected"};
    run *r = malloc(sizeof(*r));

    (void)state;
    assert_int_equal(run_end(r, &sc, CL_TORN_NONE, MODE_SERVER_TORN), 0);
    assert_int_equal(r->res.verdict, ORACLE_OK);
    assert_int_equal(r->t.refusals, 1);
    assert_false(r->t.probe_ok);
    free(r);
}

/* The probe read after DBSIZE: its refusal does not excuse a count of
 * keys the clients' prefixes do not hold. */
static void test_probe_refused_dbsize_wrong(void **state)
{
    script sc = {.dbsize = ":9",
                 .probe = "ERROR CORRUPT page: database corruption detected"};
    run *r = malloc(sizeof(*r));

    (void)state;
    assert_int_equal(run_end(r, &sc, CL_TORN_NONE, MODE_SERVER_TORN), 0);
    assert_int_equal(r->t.refusals, 1);
    assert_int_equal(r->res.verdict, ORACLE_PREFIX);
    free(r);
}

/* A refusal does not hide a loss elsewhere: an acknowledged SET of
 * another client that did not come back is a durability violation. */
static void test_refusal_hides_nothing(void **state)
{
    script sc = {0};
    run *r = malloc(sizeof(*r));

    (void)state;
    sc.get[0][0] = "ERROR CORRUPT page: database corruption detected";
    sc.get[1][2] = "NOT_FOUND";
    sc.get[1][3] = "NOT_FOUND";
    assert_int_equal(run_end(r, &sc, CL_TORN_NONE, MODE_SERVER_TORN), 0);
    assert_int_equal(r->res.verdict, ORACLE_DURABILITY);
    assert_int_equal(r->rec[0], NS);
    assert_int_equal(r->rec[1], 2);
    free(r);
}

/* A key after the recovered prefix that the server refused is not taken
 * as present: the prefix rule skips it as it skips one absent. */
static void test_refused_past_prefix(void **state)
{
    script sc = {0};
    run *r = malloc(sizeof(*r));

    (void)state;
    sc.get[0][NS] = "ERROR CORRUPT page: database corruption detected";
    assert_int_equal(run_end(r, &sc, CL_TORN_NONE, MODE_SERVER_TORN), 0);
    assert_int_equal(r->res.verdict, ORACLE_OK);
    assert_int_equal(r->t.refusals, 1);
    free(r);
}

/* The clean stop after the read-back, of a scripted server that writes
 * report (its --report file) at SIGTERM and exits with status: its
 * verdict, or ORACLE_OK if ts_stop_and_check went on to the check of the
 * files (not wanted here). */
static int stop_verdict(cl_torn_mode torn, trial_mode mode, const char *report,
                        int status)
{
    run *r = malloc(sizeof(*r));
    char *dir = tu_tmpdir("server-judge");
    trial_verdict ver = {0};
    trial_shm shm = {.ver = &ver};
    sigset_t term, old;
    int sig, v;
    pid_t pid;

    run_init(r, torn, mode);
    r->env.shm = &shm;
    snprintf(r->t.p.report, sizeof(r->t.p.report), "%s/report", dir);
    snprintf(r->t.p.log, sizeof(r->t.p.log), "%s/log", dir);
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    sigprocmask(SIG_BLOCK, &term, &old);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        FILE *f;
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* not left behind a failure */
        sigwait(&term, &sig);
        f = fopen(r->t.p.report, "w");
        fputs(report, f);
        fclose(f);
        _exit(status);
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    r->t.sv.pid = pid;
    r->res.verdict = ORACLE_OK;
    assert_int_equal(ts_stop_and_check(&r->t), 0);
    v = r->res.verdict;
    fs_rmrf(dir);
    free(dir);
    free(r);
    return v;
}

/* The stop's checkpoint reads a page no answer read (one awaiting redo),
 * or the background checkpoint did and made the database read-only: a
 * torn one refused there is detected where one may be; any other
 * failure of the stop is a violation. */
static void test_stop_refused(void **state)
{
    static const char ok[] = "open\tresult=ok\tcreated=0\trecords=3\n",
                      page[] = "open\tresult=ok\tcreated=0\trecords=3\n"
                               "stop\tresult=error\trc=-2\tkind=page\n",
                      io[] = "open\tresult=ok\tcreated=0\trecords=3\n"
                             "stop\tresult=error\trc=5\tkind=io\n",
                      /* the background checkpoint met the page first:
                       * the database went read-only, and the close's
                       * refusal names why */
        ro[] = "open\tresult=ok\tcreated=0\trecords=3\n"
               "stop\tresult=error\trc=-5\tkind=page\n",
                      ro_io[] = "open\tresult=ok\tcreated=0\trecords=3\n"
                                "stop\tresult=error\trc=-5\tkind=io\n",
                      third[] = "open\tresult=ok\tcreated=0\trecords=3\n"
                                "stop\tresult=error\trc=-2\tkind=io\n"
                                "x\tkind=page\n",
                      crlf[] = "open\tresult=ok\tcreated=0\trecords=3\r\n"
                               "stop\tresult=error\trc=-2\tkind=page\r\n";

    static const struct {
        cl_torn_mode torn;
        trial_mode mode;
        const char *report;
        int status, want;
    } cases[] = {
        {CL_TORN_NONE, MODE_SERVER_TORN, page, 1, ORACLE_DETECTED},
        {CL_TORN_NONE, MODE_SERVER_POWERLOSS, page, 1, ORACLE_DETECTED},
        {CL_TORN_FPW, MODE_SERVER_TORN, page, 1, ORACLE_RECOVERY},
        {CL_TORN_NONE, MODE_SERVER_KILL_IO, page, 1, ORACLE_RECOVERY},
        {CL_TORN_NONE, MODE_SERVER_TORN, io, 1, ORACLE_RECOVERY},
        {CL_TORN_NONE, MODE_SERVER_TORN, ro, 1, ORACLE_DETECTED},
        {CL_TORN_FPW, MODE_SERVER_TORN, ro, 1, ORACLE_RECOVERY},
        {CL_TORN_NONE, MODE_SERVER_TORN, ro_io, 1, ORACLE_RECOVERY},
        /* no stop line: the server did not say why */
        {CL_TORN_NONE, MODE_SERVER_TORN, ok, 1, ORACLE_RECOVERY},
        /* not the status of a failed stop */
        {CL_TORN_NONE, MODE_SERVER_TORN, page, 3, ORACLE_RECOVERY},
        /* malformed: never read as a torn page */
        {CL_TORN_NONE, MODE_SERVER_TORN, third, 1, ORACLE_RECOVERY},
        {CL_TORN_NONE, MODE_SERVER_TORN, crlf, 1, ORACLE_RECOVERY},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_int_equal(stop_verdict(cases[i].torn, cases[i].mode,
                                      cases[i].report, cases[i].status),
                         cases[i].want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_back),
        cmocka_unit_test(test_refused_get_and_dbsize),
        cmocka_unit_test(test_refusal_not_explained),
        cmocka_unit_test(test_dbsize_refused_alone),
        cmocka_unit_test(test_probe_refused),
        cmocka_unit_test(test_probe_refused_dbsize_wrong),
        cmocka_unit_test(test_refusal_hides_nothing),
        cmocka_unit_test(test_refused_past_prefix),
        cmocka_unit_test(test_stop_refused),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
