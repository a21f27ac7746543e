/*
 * trial_server_check.c - the end of a server trial: reading every key back
 * from the restarted server, the oracle, the probe, the clean stop and the
 * structure check (see trial_server.c for the whole trial).
 *
 * Divisions: reading back and judging; the structure check.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "trial_server_int.h"
#include "util.h"

#define TS_READ_WINDOW 256   /* GETs in flight while reading back */
#define TS_PROBE_KEY "probe" /* no client's key (they are c<n>-<i>) */

/* ---------------------------------------------------------------------- */
/* reading back and judging                                               */
/* ---------------------------------------------------------------------- */

/* Wait until k has something to read (sending what is queued meanwhile),
 * and read it.  Returns 0, or -1 (the server closed the connection, or
 * nothing came for TS_TIMEOUT_US, or out of memory; why says which). */
static int ts_wait(kvc_conn *k, char *why, size_t len)
{
    struct pollfd p = {.fd = k->fd};
    int n;

    kvc_flush(k);
    p.events = POLLIN | (kvc_unsent(k) ? POLLOUT : 0);
    n = poll(&p, 1, (int)(TS_TIMEOUT_US / 1000));
    if (n == 0) {
        snprintf(why, len, "the restarted server answered nothing for %llu s",
                 TS_TIMEOUT_US / 1000000);
        return -1;
    }
    if (n > 0 && (p.revents & POLLOUT))
        kvc_flush(k);
    if (n > 0 && kvc_fill(k) != 0) {
        snprintf(why, len, "out of memory");
        return -1;
    }
    if (k->eof || k->wfail || k->toolong) {
        snprintf(why, len, "the restarted server %s",
                 k->toolong ? "sent a reply line too long"
                            : "closed the connection");
        return -1;
    }
    return 0;
}

/* Reply l[0, n) for a detail: at most 200 bytes, without the line end
 * RESP's lines keep. */
static int ts_shown(const uint8_t *l, size_t n)
{
    if (n > 0 && l[n - 1] == '\r')
        n--;
    return (int)(n > 200 ? 200 : n);
}

/* Is reply l[0, n) to `what` the restarted server's refusal of a torn
 * page (the code CORRUPT and the kind page, docs/KVSERVER.md; not the
 * message's wording), where one may be (ts_detect_ok)?  Returns 1 and
 * counts it in t->refusals (the first one's detail in t->refused), or
 * 0. */
static int ts_torn_refused(ts_trial *t, const uint8_t *l, size_t n,
                           const char *what)
{
    static const char line[] = "ERROR CORRUPT page:", resp[] = "-CORRUPT page:";

    if (!ts_detect_ok(t) ||
        !((n >= sizeof(line) - 1 && memcmp(l, line, sizeof(line) - 1) == 0) ||
          (n >= sizeof(resp) - 1 && memcmp(l, resp, sizeof(resp) - 1) == 0)))
        return 0;
    if (t->refusals++ == 0)
        snprintf(t->refused, sizeof(t->refused),
                 "%s was refused, a torn page: '%.*s'", what, ts_shown(l, n),
                 (const char *)l);
    return 1;
}

/* Judge one GET reply l[0, n) to key i of client c: t->state[c][i].
 * Returns 0, or -1 (not an answer to a GET: why says it). */
static int ts_got(ts_trial *t, uint32_t c, uint32_t i, const uint8_t *l,
                  size_t n, char *why, size_t len)
{
    size_t v;

    if (n == 9 && memcmp(l, "NOT_FOUND", 9) == 0) {
        t->state[c][i] = TS_ABSENT;
        return 0;
    }
    if (n < 6 || memcmp(l, "VALUE ", 6) != 0) {
        char what[48] = "GET ";
        ts_key(c, i, what + 4, sizeof(what) - 4);
        if (ts_torn_refused(t, l, n, what)) {
            t->state[c][i] = TS_REFUSED;
            t->refused_keys++;
            return 0;
        }
        snprintf(why, len, "%s was answered '%.*s'", what, ts_shown(l, n),
                 (const char *)l);
        return -1;
    }
    v = i < t->sets ? ts_value(t->s->seed, c, i, t->vbuf) : 0;
    t->state[c][i] = i < t->sets && v == n - 6 && memcmp(l + 6, t->vbuf, v) == 0
                         ? TS_SAME
                         : TS_WRONG;
    return 0;
}

/* Read back, from the restarted server, key i of every client c for i <=
 * sent (the one after the last sent: never written), into t->state; then
 * DBSIZE (over RESP) and the probe SET.  Returns 0, or -1 (the server did
 * not answer as it should: why says how; a recovery violation). */
int ts_read_back(ts_trial *t, char *why, size_t len)
{
    kvc_conn k, r;
    uint32_t qc = 0, qi = 0, ac = 0, ai = 0; /* next to ask, to answer */
    uint64_t asked = 0, answered = 0;
    const uint8_t *l;
    size_t n;
    char line[64];
    int rc = -1;

    memset(&r, 0, sizeof(r));
    r.fd = -1;
    if (kvc_connect(&k, t->sv.port) != 0) {
        k.fd = -1;
        snprintf(why, len, "cannot connect to the restarted server");
        goto out;
    }
    while (ac < t->n) {
        while (qc < t->n && asked - answered < TS_READ_WINDOW) {
            size_t h = (size_t)snprintf(line, sizeof(line), "GET ");
            h += ts_key(qc, qi, line + h, sizeof(line) - h);
            line[h++] = '\n';
            if (kvc_queue(&k, line, h, NULL, 0) != 0)
                goto nomem;
            asked++;
            if (qi++ == t->cl[qc].sent) {
                qc++;
                qi = 0;
            }
        }
        if (ts_wait(&k, why, len) != 0)
            goto out;
        while (ac < t->n && (l = kvc_line(&k, &n)) != NULL) {
            if (ts_got(t, ac, ai, l, n, why, len) != 0)
                goto out;
            answered++;
            if (ai++ == t->cl[ac].sent) {
                ac++;
                ai = 0;
            }
        }
    }
    /* DBSIZE, on a connection of its own: the line protocol has none */
    if (kvc_connect(&r, t->sv.port) != 0 ||
        kvc_queue(&r, "*1\r\n$6\r\nDBSIZE\r\n", 16, NULL, 0) != 0) {
        snprintf(why, len, "cannot ask the restarted server for DBSIZE");
        goto out;
    }
    while ((l = kvc_line(&r, &n)) == NULL)
        if (ts_wait(&r, why, len) != 0)
            goto out;
    snprintf(line, sizeof(line), "%.*s", (int)(n < 40 ? n : 40),
             (const char *)l);
    if (sscanf(line, ":%" SCNu64, &t->dbsize) != 1) {
        /* its scan reads the pages the GETs did: a refusal is one only
         * where a GET was refused too */
        if (t->refused_keys > 0 && ts_torn_refused(t, l, n, "DBSIZE")) {
            t->dbsize_refused = 1;
        } else {
            snprintf(why, len, "DBSIZE was answered '%.*s'", ts_shown(l, n),
                     (const char *)l);
            goto out;
        }
    }
    /* the probe: the recovered database must take a write */
    n = (size_t)snprintf(line, sizeof(line),
                         "SET " TS_PROBE_KEY " %016" PRIx64 "\n", t->s->seed);
    if (kvc_queue(&k, line, n, NULL, 0) != 0)
        goto nomem;
    while ((l = kvc_line(&k, &n)) == NULL)
        if (ts_wait(&k, why, len) != 0)
            goto out;
    if (n != 2 || memcmp(l, "OK", 2) != 0) {
        /* it may read a page no GET did (a free one it reuses) */
        if (!ts_torn_refused(t, l, n, "the probe SET")) {
            snprintf(why, len, "the probe SET was answered '%.*s'",
                     ts_shown(l, n), (const char *)l);
            goto out;
        }
    } else {
        t->probe_ok = 1;
    }
    rc = 0;
    goto out;
nomem:
    snprintf(why, len, "out of memory");
out:
    kvc_close(&k);
    kvc_close(&r);
    return rc;
}

/* The oracle (see the file comment).  Sets t->rec, and res's verdict,
 * recovered and detail. */
void ts_judge(ts_trial *t)
{
    trial_result *res = t->res;
    uint64_t total = 0;
    char key[32];
    int found = 0;

    res->verdict = ORACLE_OK;
    for (uint32_t c = 0; c < t->n; c++) {
        const ts_client *x = &t->cl[c];
        uint32_t j = 0;
        while (j < x->sent &&
               (t->state[c][j] == TS_SAME || t->state[c][j] == TS_REFUSED))
            j++;
        t->rec[c] = j;
        total += j;
    }
    res->recovered = (uint32_t)total;
    /* durability first: the promise the server makes with OK */
    for (uint32_t c = 0; c < t->n && !found; c++) {
        const ts_client *x = &t->cl[c];
        uint32_t lo = t->durable_ok ? x->acked : 0;
        if (t->rec[c] < lo) {
            ts_key(c, t->rec[c], key, sizeof(key));
            res->verdict = ORACLE_DURABILITY;
            snprintf(res->detail, sizeof(res->detail),
                     "client %u had %u SETs acknowledged, only its first %u "
                     "came back: %s is %s",
                     c, x->acked, t->rec[c], key,
                     t->state[c][t->rec[c]] == TS_WRONG ? "wrong" : "missing");
            found = 1;
        }
    }
    /* then the prefix: nothing after the first key that did not come back
     * whole, in particular nothing never sent */
    for (uint32_t c = 0; c < t->n && !found; c++) {
        const ts_client *x = &t->cl[c];
        for (uint32_t i = t->rec[c]; i <= x->sent && !found; i++) {
            if (t->state[c][i] == TS_ABSENT || t->state[c][i] == TS_REFUSED)
                continue;
            ts_key(c, i, key, sizeof(key));
            res->verdict = ORACLE_PREFIX;
            if (i == x->sent)
                snprintf(res->detail, sizeof(res->detail),
                         "client %u sent %u SETs, but %s, never sent, is "
                         "present",
                         c, x->sent, key);
            else if (t->state[c][i] == TS_WRONG)
                snprintf(res->detail, sizeof(res->detail),
                         "client %u: %s holds a value never written to it", c,
                         key);
            else
                snprintf(res->detail, sizeof(res->detail),
                         "client %u: %s (SET %u) is present, but SET %u, "
                         "sent before it, is not",
                         c, key, i, t->rec[c]);
            found = 1;
        }
    }
    /* a refused key's presence is unknown, and DBSIZE counts it or not */
    if (!found && t->refused_keys == 0 && t->dbsize != total) {
        res->verdict = ORACLE_PREFIX;
        snprintf(res->detail, sizeof(res->detail),
                 "DBSIZE counts %" PRIu64 " keys, but the clients' recovered "
                 "prefixes hold %" PRIu64,
                 t->dbsize, total);
    }
}

/* ---------------------------------------------------------------------- */
/* the structure check                                                    */
/* ---------------------------------------------------------------------- */

/* In a fresh process: open the stopped server's directory with the engine,
 * run cl_check, and read everything back: it must be the clients' recovered
 * prefixes and the probe.  The verdict goes to the worker's shared
 * trial_verdict. */
_Noreturn static void ts_checker(ts_trial *t)
{
    trial_verdict *v = t->env->shm->ver;
    const target_ops *eng = target_find("engine");
    cl_options o = t->env->eng;
    oracle_map *m = oracle_map_new();
    char msg[400], key[32];
    uint64_t want = t->probe_ok;
    void *h = NULL;
    int rc;

    util_child_signals();
    o.io = cl_io_posix();
    if (m == NULL || eng == NULL) {
        v->setup_failed = 1;
        _exit(20);
    }
    if ((rc = eng->open(t->p.dir, &o, &h)) != 0) {
        v->verdict = ORACLE_RECOVERY;
        snprintf(v->detail, sizeof(v->detail),
                 "after the server's clean stop the open failed: %s: %s",
                 cl_strerror(rc), cl_errdetail());
        goto done;
    }
    v->opened = 1;
    if ((rc = eng->check(h, msg, sizeof(msg))) != 0) {
        /* it reads every page, the free ones too, which no answer read:
         * one torn by the crash may be refused here */
        v->verdict =
            rc == CL_ECORRUPT && ts_detect_ok(t) && trial_is_page_damage()
                ? ORACLE_DETECTED
                : ORACLE_STRUCTURE;
        snprintf(v->detail, sizeof(v->detail), "check failed: %s: %s",
                 cl_strerror(rc), msg);
        goto done;
    }
    if ((rc = eng->read_all(h, m)) != 0) {
        v->verdict = ORACLE_RECOVERY;
        snprintf(v->detail, sizeof(v->detail),
                 "after the server's clean stop reading failed: %s: %s",
                 cl_strerror(rc), cl_errdetail());
        goto done;
    }
    for (uint32_t c = 0; c < t->n; c++) {
        want += t->rec[c];
        for (uint32_t i = 0; i < t->rec[c]; i++) {
            size_t kl = ts_key(c, i, key, sizeof(key)), vl;
            size_t wl = ts_value(t->s->seed, c, i, t->vbuf);
            const uint8_t *got = oracle_map_get(m, key, kl, &vl);
            if (got == NULL || vl != wl || memcmp(got, t->vbuf, wl) != 0) {
                v->verdict = ORACLE_RECOVERY;
                snprintf(v->detail, sizeof(v->detail),
                         "after the server's clean stop %s is %s, though the "
                         "server had returned it",
                         key, got == NULL ? "missing" : "wrong");
                goto done;
            }
        }
    }
    if (oracle_map_count(m) != want) {
        v->verdict = ORACLE_RECOVERY;
        snprintf(v->detail, sizeof(v->detail),
                 "after the server's clean stop the database holds %zu keys, "
                 "not the %" PRIu64 " the server returned%s",
                 oracle_map_count(m), want,
                 t->probe_ok ? " and its probe" : "");
        goto done;
    }
    v->verdict = ORACLE_OK;
done:
    v->done = 1;
    _exit(0); /* no close: the process's end frees everything */
}

/* Stop the restarted server (SIGTERM: it checkpoints, closes, exits 0),
 * then check its files in a fresh process.  Sets res's verdict and detail
 * on a violation.  Returns 0, or -1 (harness failure). */
int ts_stop_and_check(ts_trial *t)
{
    trial_verdict *v = t->env->shm->ver;
    trial_result *res = t->res;
    char tail[240], how[64];
    pid_t pid;
    int st;

    kill(t->sv.pid, SIGTERM);
    if (util_wait_exit_us(t->sv.pid, TS_TIMEOUT_US) == 0) {
        kvproc_reap(&t->sv, SIGKILL);
        res->verdict = ORACLE_RECOVERY;
        snprintf(res->detail, sizeof(res->detail),
                 "the restarted server did not stop within %llu s of SIGTERM",
                 TS_TIMEOUT_US / 1000000);
        return 0;
    }
    kvproc_reap(&t->sv, 0);
    if (!WIFEXITED(t->sv.status) || WEXITSTATUS(t->sv.status) != 0) {
        kvproc_report rep;
        util_status_text(t->sv.status, how, sizeof(how));
        kvproc_log_tail(t->p.log, tail, sizeof(tail));
        /* its checkpoint read a page no answer had (one awaiting redo),
         * torn by the crash: from its --report's stop line (the close's
         * refusal, when the background checkpoint met the page first and
         * made the database read-only, names that failure's kind) */
        res->verdict = WIFEXITED(t->sv.status) &&
                               WEXITSTATUS(t->sv.status) == 1 &&
                               ts_detect_ok(t) &&
                               kvproc_report_read(t->p.report, &rep) == 0 &&
                               rep.stopped && !rep.stop_ok &&
                               (rep.stop_rc == CL_ECORRUPT ||
                                rep.stop_rc == CL_EREADONLY) &&
                               strcmp(rep.stop_kind, "page") == 0
                           ? ORACLE_DETECTED
                           : ORACLE_RECOVERY;
        snprintf(res->detail, sizeof(res->detail),
                 "the restarted server's clean stop failed (%s): %s", how,
                 tail);
        return 0;
    }
    memset(v, 0, sizeof(*v));
    fflush(NULL);
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0)
        ts_checker(t);
    st = util_wait(pid);
    if (v->setup_failed)
        return -1;
    if (!v->done) {
        util_status_text(st, how, sizeof(how));
        res->verdict = ORACLE_RECOVERY;
        snprintf(res->detail, sizeof(res->detail),
                 "the process checking the files died (%s)", how);
        return 0;
    }
    if (v->verdict != ORACLE_OK) {
        res->verdict = v->verdict;
        snprintf(res->detail, sizeof(res->detail), "%s", v->detail);
    }
    return 0;
}
