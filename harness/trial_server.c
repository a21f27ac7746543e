/*
 * trial_server.c - server trials: kvserver, a program of its own, takes
 * SETs from concurrent clients and is crashed; restarted, it must give back
 * every acknowledged write and, for each client, a prefix of what it sent.
 *
 * One trial:
 *   1. start kvserver (fork, exec) on a fresh directory with --port 0 and
 *      read its "listening on" line.  Its engine runs through crashio, set
 *      up from KVSERVER_CRASHIO (tools/kvserver/crash/kvserver_crashio.c):
 * crashio numbers the server's I/O points, kills it at the trial's point, and
 * reports in a shared-memory file (a memfd) this process maps;
 *   2. C clients, all driven by one poll loop here, each write their own
 *      keys in order (SET c<client>-<i> <value>), each keeping a window of
 *      1, 2, 4 or 8 SETs in flight; every OK is counted here, in the
 *      harness's memory, never in anything the server writes;
 *   3. the crash: SIGKILL from here after a delay (server-kill-time), or
 *      crashio kills the server before its I/O point k (server-kill-io),
 *      tears the pwrite there first (server-torn), or keeps a shadow log
 *      from which a power-cut image is then made (server-powerloss).  A
 *      server still alive when every client is done is killed then;
 *   4. restart kvserver on the same directory (plain POSIX I/O) and GET
 *      every key each client sent, and the one after its last; count the
 *      keys with DBSIZE (over RESP);
 *   5. the oracle: for each client the keys recovered are exactly its
 *      first j writes, values byte for byte, for some j between the SETs
 *      acknowledged (where OK means durable: sync commit and group; else
 *      0) and the SETs sent; and the database holds nothing else;
 *   6. a probe SET on the restarted server, then SIGTERM: it must
 *      checkpoint, close and exit 0.  A fresh process then opens the
 *      directory with the engine, runs cl_check and reads everything: it
 *      must hold what the server returned, plus the probe.
 *
 * The structure check runs after a clean stop, not through a command of
 * the server: no command that exists only for testing goes into the
 * protocol, every recovered database also goes through the clean stop
 * (checkpoint, close, exit status), and cl_check sees the pages the server
 * wrote back rather than its buffer pool.
 *
 * What a replay cannot repeat.  The interleaving of the clients' requests
 * and of the server's threads changes from run to run.  A replay repeats
 * the trial's parameters -- clients, windows, keys and values, the delay or
 * the I/O point, the tear and the power-cut model and seed -- but not the
 * state the crash leaves: point k is the same call only as far as the
 * server's threads reach their calls in the same order.
 *
 * Steps 4 to 6 are in trial_server_check.c, starting and stopping the
 * server in kvproc.c, the clients' connections in kvclient.c.
 *
 * Divisions: parameters; the clients; one trial.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clk.h"
#include "fsutil.h"
#include "trial_server_int.h"
#include "util.h"

/* The spans crash points and delays are drawn from depend on the
 * workload's size only, never on a measurement, so that a trial stays a
 * pure function of the seed, the trial id and the options, across shards
 * and replays.  On /dev/shm with 4 clients the server's start on a fresh
 * database makes about 20 I/O points, its commits about one point per 2
 * SETs (from 0.2 to 1: concurrent SETs share a log write and its fsync),
 * and a SET takes some 35 us.  Points are drawn from 1..20 + SETs/2, and
 * delays from 0..30 us per SET after the server starts listening: most
 * crashes fall in the workload, some past its end (the server is then
 * killed once every client is done). */
#define TS_START_POINTS 20
#define TS_SETS_PER_POINT 2
#define TS_SET_US 30
/* Half the trials run the server with checkpoints this often (unless the
 * campaign sets --checkpoint-bytes): a checkpoint then comes every few
 * hundred SETs, while other commits go on. */
#define TS_CHECKPOINT_BYTES 65536

/* ---------------------------------------------------------------------- */
/* parameters                                                             */
/* ---------------------------------------------------------------------- */

const char *trial_workload_name(const trial_result *res)
{
    return res->workload == TRIAL_WL_SERVER ? "sets"
                                            : wl_name((wl_kind)res->workload);
}

void trial_server_pick(const trial_env *env, rng *r, plimg_model persist,
                       uint32_t sector, trial_spec *s)
{
    uint64_t sets = (uint64_t)env->clients * env->sets;

    s->prof = NULL;
    s->action = CRASHIO_KILL;
    if (env->eng.checkpoint_bytes == 0 && rng_below(r, 2) == 0)
        s->checkpoint_bytes = TS_CHECKPOINT_BYTES;
    if (s->mode == MODE_SERVER_KILL_TIME) {
        s->delay_us = rng_below(r, sets * TS_SET_US + 1);
        return;
    }
    s->crash_point =
        rng_range(r, 1, TS_START_POINTS + sets / TS_SETS_PER_POINT);
    if (s->mode == MODE_SERVER_TORN) {
        s->action = CRASHIO_TEAR; /* a plain kill if k is no pwrite */
        s->fill = CRASHIO_FILL_SEED;
    } else if (s->mode == MODE_SERVER_POWERLOSS) {
        s->powerloss = 1;
        s->pl.model = persist;
        s->pl.sector = sector;
        s->pl.seed = rng_next(r);
    }
}

/* Client c's window: SETs it keeps in flight (1, 2, 4 or 8). */
static uint32_t ts_window(uint64_t seed, uint32_t c)
{
    rng r;

    rng_seed(&r, rng_mix(seed ^ 0x77696e646f77ull ^ rng_mix(c)));
    return 1u << rng_below(&r, 4);
}

/* The key of client c's write i.  Returns its length. */
size_t ts_key(uint32_t c, uint32_t i, char *buf, size_t len)
{
    return (size_t)snprintf(buf, len, "c%u-%u", c, i);
}

/* The value of client c's write i into buf (TS_VALUE_BIG bytes at least):
 * mostly short, now and then a few KiB (overflow pages), rarely empty;
 * any byte but "\n" and "\r" (the line protocol's only forbidden ones).
 * Returns its length. */
size_t ts_value(uint64_t seed, uint32_t c, uint32_t i, uint8_t *buf)
{
    rng r;
    uint64_t u, len;

    rng_seed(&r, rng_mix(seed ^ rng_mix(((uint64_t)c << 32 | i) ^ 0x5e7)));
    u = rng_below(&r, 1000);
    len = u < 5     ? 0
          : u < 900 ? rng_range(&r, 1, 120)
          : u < 990 ? rng_range(&r, 121, 4096)
                    : rng_range(&r, 4097, TS_VALUE_BIG);
    for (uint64_t j = 0; j < len; j += 8) {
        uint64_t v = rng_next(&r);
        for (uint64_t b = 0; b < 8 && j + b < len; b++) {
            uint8_t x = (uint8_t)(v >> (8 * b));
            buf[j + b] = x == '\n' || x == '\r' ? x ^ 0x40 : x;
        }
    }
    return (size_t)len;
}

/* ---------------------------------------------------------------------- */
/* the clients                                                            */
/* ---------------------------------------------------------------------- */

/* Queue client c's next SETs, as many as its window allows.  Returns 0 or
 * ENOMEM. */
static int ts_client_queue(ts_trial *t, uint32_t c)
{
    ts_client *x = &t->cl[c];

    while (!x->k.wfail && x->sent < t->sets && x->sent - x->acked < x->window) {
        char head[48];
        size_t h = (size_t)snprintf(head, sizeof(head), "SET ");
        size_t v;
        h += ts_key(c, x->sent, head + h, sizeof(head) - h);
        head[h++] = ' ';
        v = ts_value(t->s->seed, c, x->sent, t->vbuf);
        t->vbuf[v] = '\n';
        if (kvc_queue(&x->k, head, h, t->vbuf, v + 1) != 0)
            return ENOMEM;
        x->sent++;
    }
    kvc_flush(&x->k);
    return 0;
}

/* Take client c's replies.  Returns 0, or -1 when one is not an OK to a
 * SET in flight (why says what it was). */
static int ts_client_replies(ts_trial *t, uint32_t c, char *why, size_t len)
{
    ts_client *x = &t->cl[c];
    const uint8_t *l;
    size_t n;

    while ((l = kvc_line(&x->k, &n)) != NULL) {
        if (n == 2 && memcmp(l, "OK", 2) == 0 && x->acked < x->sent) {
            x->acked++;
            continue;
        }
        snprintf(why, len, "client %u: SET %u was answered '%.*s'", c, x->acked,
                 (int)(n > 200 ? 200 : n), (const char *)l);
        return -1;
    }
    if (x->k.toolong) {
        snprintf(why, len, "client %u: a reply line over %d bytes", c,
                 KVC_LINE_MAX);
        return -1;
    }
    return 0;
}

/* What ts_clients_run saw. */
enum { TS_RUN_END, TS_RUN_BAD, TS_RUN_HUNG, TS_RUN_NOMEM };

/* Connect the clients and run them until each is done (every SET
 * acknowledged) or cut off (the server gone).  At deadline (a time of
 * clk_now_us; 0: none) SIGKILL the server, and go on reading what it had
 * sent before it died.  OUT: *killed (1 if this killed it).  Returns a
 * TS_RUN_*; why says what went wrong. */
static int ts_clients_run(ts_trial *t, uint64_t deadline, int *killed,
                          char *why, size_t len)
{
    struct pollfd *pf = calloc(t->n, sizeof(*pf));
    uint32_t *idx = calloc(t->n, sizeof(*idx));
    uint64_t last = clk_now_us();
    unsigned long conts = util_continues();
    int rc = TS_RUN_END;

    if (pf == NULL || idx == NULL) {
        rc = TS_RUN_NOMEM;
        goto out;
    }
    for (uint32_t c = 0; c < t->n; c++)
        if (kvc_connect(&t->cl[c].k, t->sv.port) != 0)
            t->cl[c].k.eof = 1; /* the server is already gone */
    for (;;) {
        nfds_t nfd = 0;
        uint64_t now, wait = 100000;
        struct timespec ts;
        for (uint32_t c = 0; c < t->n; c++) {
            ts_client *x = &t->cl[c];
            if (x->k.fd < 0 || x->k.eof || x->acked == t->sets)
                continue;
            if (ts_client_queue(t, c) != 0) {
                rc = TS_RUN_NOMEM;
                goto out;
            }
            pf[nfd].fd = x->k.fd;
            pf[nfd].events = POLLIN | (kvc_unsent(&x->k) ? POLLOUT : 0);
            idx[nfd++] = c;
        }
        if (nfd == 0)
            break;
        now = clk_now_us();
        if (deadline != 0 && !*killed && now >= deadline) {
            kill(t->sv.pid, SIGKILL);
            *killed = 1;
        }
        if (now - last > TS_TIMEOUT_US && util_continued(&conts))
            last = now; /* stopped and continued meanwhile */
        if (now - last > TS_TIMEOUT_US) {
            snprintf(why, len, "the server answered nothing for %llu s",
                     TS_TIMEOUT_US / 1000000);
            rc = TS_RUN_HUNG;
            goto out;
        }
        if (deadline != 0 && !*killed && deadline - now < wait)
            wait = deadline - now;
        ts.tv_sec = (time_t)(wait / 1000000);
        ts.tv_nsec = (long)(wait % 1000000) * 1000;
        if (ppoll(pf, nfd, &ts, NULL) <= 0)
            continue;
        for (nfds_t i = 0; i < nfd; i++) {
            ts_client *x = &t->cl[idx[i]];
            uint32_t before = x->acked;
            if (pf[i].revents == 0)
                continue;
            if (pf[i].revents & POLLOUT)
                kvc_flush(&x->k);
            if ((pf[i].revents & (POLLIN | POLLHUP | POLLERR)) &&
                kvc_fill(&x->k) != 0) {
                rc = TS_RUN_NOMEM;
                goto out;
            }
            if (ts_client_replies(t, idx[i], why, len) != 0) {
                rc = TS_RUN_BAD;
                goto out;
            }
            if (x->acked != before || x->k.eof)
                last = clk_now_us();
        }
    }
out:
    free(pf);
    free(idx);
    return rc;
}

/* ---------------------------------------------------------------------- */
/* one trial                                                              */
/* ---------------------------------------------------------------------- */

/* The shared area crashio reports in, and the KVSERVER_CRASHIO words that
 * configure the crash.  Returns 0 or an errno. */
static int ts_crashio(ts_trial *t, char *words, size_t len)
{
    const trial_spec *s = t->s;

    t->shlen = crashio_shared_size(TS_TRACE_CAP);
    t->memfd = memfd_create("kvserver-crashio", MFD_CLOEXEC);
    if (t->memfd < 0 || ftruncate(t->memfd, (off_t)t->shlen) != 0)
        return errno;
    t->sh =
        mmap(NULL, t->shlen, PROT_READ | PROT_WRITE, MAP_SHARED, t->memfd, 0);
    if (t->sh == MAP_FAILED) {
        t->sh = NULL;
        return errno;
    }
    crashio_shared_init(t->sh, TS_TRACE_CAP);
    snprintf(words, len,
             "seed=%" PRIu64 " crash_at=%" PRIu64 " action=%s sector=%u "
             "fill=%s",
             s->seed, s->crash_point,
             s->action == CRASHIO_TEAR ? "tear" : "kill", t->env->sector,
             crashio_fill_name(s->fill));
    return 0;
}

/* The damage sentence of the first server's end. */
static void ts_describe(ts_trial *t, int listened, int killed, char *out,
                        size_t len)
{
    const trial_spec *s = t->s;
    const crashio_shared *sh = t->sh;
    uint32_t outcome = atomic_load(&sh->outcome);
    uint64_t at = sh->crash_point, seen = atomic_load(&sh->points);
    const char *phase = listened ? "" : ", before it listened";

    if (outcome == CRASHIO_OUT_TORN) {
        const crashio_tear_info *ti = &sh->tear;
        snprintf(out, len,
                 "server's pwrite at point %" PRIu64 " torn%s: %s offset "
                 "%" PRIu64 " length %" PRIu64 ", %u of %u sectors of %u B "
                 "reached, rest %s",
                 at, phase,
                 ti->file > 0 && ti->file <= CRASHIO_MAX_NAMES
                     ? sh->names[ti->file - 1]
                     : "?",
                 ti->off, ti->len, ti->nreached, ti->nsectors, ti->sector,
                 crashio_fill_name((int)ti->fill));
    } else if (outcome == CRASHIO_OUT_KILLED) {
        snprintf(out, len,
                 "server killed before its I/O point %" PRIu64 " (%s)%s", at,
                 at >= 1 && at <= sh->trace_cap
                     ? crashio_kind_name(sh->trace[at - 1].kind)
                     : "?",
                 phase);
    } else if (killed) {
        snprintf(out, len,
                 "server killed after %" PRIu64 " us, at its I/O point %" PRIu64
                 "%s",
                 s->delay_us, seen, phase);
    } else {
        snprintf(out, len,
                 "server killed after the workload, at its I/O point %" PRIu64
                 " (%s %" PRIu64 " not reached)",
                 seen, s->mode == MODE_SERVER_KILL_TIME ? "delay" : "point",
                 s->mode == MODE_SERVER_KILL_TIME ? s->delay_us
                                                  : s->crash_point);
    }
}

/* Start the server on the trial's directory: the run to crash, through
 * crashio configured by words (and the trial's shadow log, and broken if
 * the campaign says so), or (words NULL) the restart.  Returns 0 or an
 * errno. */
static int ts_start(ts_trial *t, const char *words)
{
    cl_options eng = t->env->eng;
    kvproc_args a;

    memset(&a, 0, sizeof(a));
    if (t->s->checkpoint_bytes != 0)
        eng.checkpoint_bytes = t->s->checkpoint_bytes;
    a.path = t->env->kvserver;
    a.dir = t->p.dir;
    a.log = t->p.log;
    a.report = t->p.report;
    a.eng = &eng;
    a.memfd = -1;
    if (words != NULL) {
        a.memfd = t->memfd;
        a.crashio = words;
        a.shadow = t->s->powerloss ? t->p.shadow : NULL;
        a.graveyard = t->p.grave;
        a.broken = t->env->server_broken;
    }
    return kvproc_start(&a, &t->sv);
}

/* The first server ended otherwise than by SIGKILL (or stopped answering):
 * a writer verdict. */
static void ts_server_failed(ts_trial *t, const char *what)
{
    char how[64], tail[240];

    util_status_text(t->sv.status, how, sizeof(how));
    kvproc_log_tail(t->p.log, tail, sizeof(tail));
    t->res->verdict = ORACLE_WRITER;
    snprintf(t->res->detail, sizeof(t->res->detail), "%.200s (%s): %.200s",
             what, how, tail);
}

int ts_detect_ok(const ts_trial *t)
{
    /* the server's other threads may be in a write when one is killed */
    return trial_torn_refusal_ok(
        &t->env->eng, t->s->mode == MODE_SERVER_TORN || t->s->powerloss, 1);
}

/* Restart the server on the crashed directory.  Returns 1 if it listens,
 * 0 if not (res has the verdict), -1 (harness failure). */
static int ts_restart(ts_trial *t)
{
    trial_result *res = t->res;
    char tail[1024], how[64]; /* the log's last line, for the detail */
    uint64_t t0 = clk_now_us();
    kvproc_report rep;
    int rc, l;

    if ((rc = ts_start(t, NULL)) != 0) {
        snprintf(res->detail, sizeof(res->detail), "starting kvserver: %s",
                 strerror(rc));
        return -1;
    }
    l = kvproc_listen(&t->sv, TS_TIMEOUT_US);
    res->recovery_us = clk_now_us() - t0;
    if (l == KVPROC_LISTENING) {
        /* What recovery did, as the server reports it for programs (its
         * log's wording is for people). */
        if (kvproc_report_read(t->p.report, &rep) != 0 || !rep.ok) {
            snprintf(res->detail, sizeof(res->detail),
                     "kvserver listens but its --report %.300s is missing or "
                     "not a successful open",
                     t->p.report);
            return -1;
        }
        res->records = rep.records;
        res->recovery_us = rep.usec;
        return 1;
    }
    kvproc_reap(&t->sv, l == KVPROC_ENDED ? 0 : SIGKILL);
    util_status_text(t->sv.status, how, sizeof(how));
    kvproc_log_tail(t->p.log, tail, sizeof(tail));
    if (WIFEXITED(t->sv.status) && WEXITSTATUS(t->sv.status) == 127) {
        snprintf(res->detail, sizeof(res->detail), "cannot run %s",
                 t->env->kvserver);
        return -1;
    }
    /* a torn or corrupt page found at open (the kind the server's --report
     * gives, not its log's wording): refused rightly where pages can be
     * torn and nothing protects them */
    res->verdict = WIFEXITED(t->sv.status) && WEXITSTATUS(t->sv.status) == 3 &&
                           ts_detect_ok(t) &&
                           kvproc_report_read(t->p.report, &rep) == 0 &&
                           !rep.ok && strcmp(rep.kind, "page") == 0
                       ? ORACLE_DETECTED
                       : ORACLE_RECOVERY;
    snprintf(res->detail, sizeof(res->detail),
             "the restarted server %s (%s): %.300s",
             l == KVPROC_SILENT ? "never listened" : "did not start", how,
             tail);
    return 0;
}

static void ts_free(ts_trial *t)
{
    if (t->sv.pid > 0)
        kvproc_reap(&t->sv, SIGKILL);
    if (t->cl != NULL)
        for (uint32_t c = 0; c < t->n; c++)
            kvc_close(&t->cl[c].k);
    if (t->state != NULL)
        for (uint32_t c = 0; c < t->n; c++)
            free(t->state[c]);
    free(t->state);
    free(t->cl);
    free(t->rec);
    free(t->vbuf);
    if (t->sh != NULL)
        munmap(t->sh, t->shlen);
    if (t->memfd >= 0)
        close(t->memfd);
}

int trial_server_run(trial_env *env, const trial_spec *s, trial_result *res)
{
    ts_trial t;
    char words[256], why[300];
    uint64_t t0 = clk_now_us(), t1, t2, t3, deadline = 0;
    int rc = -1, l, killed = 0, run = TS_RUN_END, r;

    memset(res, 0, sizeof(*res));
    res->id = s->id;
    res->seed = s->seed;
    res->mode = (uint8_t)s->mode;
    res->workload = TRIAL_WL_SERVER;
    res->variant = (uint8_t)env->clients;
    trial_config_of(&env->eng, NULL, &res->cfg);
    res->cfg.txns = env->sets;
    if (s->checkpoint_bytes != 0)
        res->cfg.checkpoint_bytes = s->checkpoint_bytes;
    res->crash_point = s->crash_point;
    res->delay_us = s->delay_us;
    memset(&t, 0, sizeof(t));
    t.env = env;
    t.s = s;
    t.res = res;
    t.n = env->clients;
    t.sets = env->sets;
    t.memfd = -1;
    t.durable_ok =
        env->eng.sync == CL_SYNC_COMMIT || env->eng.sync == CL_SYNC_GROUP;
    trial_paths_init(env, &t.p);
    trial_paths_clean(&t.p);
    t.cl = calloc(t.n, sizeof(*t.cl));
    t.state = calloc(t.n, sizeof(*t.state));
    t.rec = calloc(t.n, sizeof(*t.rec));
    t.vbuf = malloc(TS_VALUE_BIG + 1);
    if (t.cl == NULL || t.state == NULL || t.rec == NULL || t.vbuf == NULL) {
        snprintf(res->detail, sizeof(res->detail), "out of memory");
        goto out;
    }
    for (uint32_t c = 0; c < t.n; c++) {
        t.cl[c].k.fd = -1;
        t.cl[c].window = ts_window(s->seed, c);
    }
    if ((r = ts_crashio(&t, words, sizeof(words))) != 0 ||
        (r = fs_mkdirs(env->base)) != 0) {
        snprintf(res->detail, sizeof(res->detail), "crashio set-up: %s",
                 strerror(r));
        goto out;
    }

    /* 1-3: the server, the clients and the crash */
    if ((r = ts_start(&t, words)) != 0) {
        snprintf(res->detail, sizeof(res->detail), "starting kvserver: %s",
                 strerror(r));
        goto out;
    }
    /* a kill-time delay counts from the server's start of service: kills
     * during its start are the I/O-point modes' */
    l = kvproc_listen(&t.sv, TS_TIMEOUT_US);
    res->ph.fork = (uint32_t)(clk_now_us() - t0); /* its start, to service */
    if (l == KVPROC_LISTENING && s->mode == MODE_SERVER_KILL_TIME)
        deadline = clk_now_us() + s->delay_us;
    if (l == KVPROC_LISTENING) {
        run = ts_clients_run(&t, deadline, &killed, why, sizeof(why));
        if (run == TS_RUN_NOMEM) {
            snprintf(res->detail, sizeof(res->detail), "out of memory");
            goto out;
        }
    }
    kvproc_reap(&t.sv, SIGKILL); /* dead already, or the workload is over */
    t1 = clk_now_us();
    res->us_writer = (uint32_t)(t1 - t0);
    res->ph.writer = res->us_writer - res->ph.fork;
    res->points = atomic_load(&t.sh->points);
    for (uint32_t c = 0; c < t.n; c++) {
        res->issued += t.cl[c].sent;
        res->acked += t.cl[c].acked;
        res->durable += t.durable_ok ? t.cl[c].acked : 0;
        kvc_close(&t.cl[c].k);
    }
    ts_describe(&t, l == KVPROC_LISTENING, killed, res->damage,
                sizeof(res->damage));
    if (s->checkpoint_bytes != 0) {
        size_t used = strlen(res->damage);
        snprintf(res->damage + used, sizeof(res->damage) - used,
                 " (checkpoints every %" PRIu64 " B)", s->checkpoint_bytes);
    }
    if (WIFEXITED(t.sv.status) && WEXITSTATUS(t.sv.status) == 127) {
        snprintf(res->detail, sizeof(res->detail), "cannot run %s",
                 env->kvserver);
        goto out;
    }
    if (run == TS_RUN_BAD || run == TS_RUN_HUNG) {
        ts_server_failed(&t, why);
        rc = 0;
        goto out;
    }
    /* SILENT: alive but not listening when the wait ended (it was killed
     * just above, so its status says SIGKILL) */
    if (l == KVPROC_SILENT ||
        !(WIFSIGNALED(t.sv.status) && WTERMSIG(t.sv.status) == SIGKILL)) {
        ts_server_failed(&t, l == KVPROC_SILENT ? "the server never listened"
                                                : "the server ended by itself");
        rc = 0;
        goto out;
    }

    /* the power cut */
    if (s->powerloss) {
        plimg_summary sum;
        char text[200];
        size_t used = strlen(res->damage);
        if (plimg_apply(t.p.dir, t.p.shadow, &s->pl, &sum) != 0) {
            snprintf(res->detail, sizeof(res->detail),
                     "building the power-loss image failed: %s", sum.error);
            goto out;
        }
        plimg_describe(&sum, text, sizeof(text));
        snprintf(res->damage + used, sizeof(res->damage) - used,
                 "; power cut: %s", text);
    }
    if (env->keep_dir != NULL)
        fs_copy_tree(t.p.dir, t.p.crashed);
    t2 = clk_now_us();
    res->us_damage = (uint32_t)(t2 - t1);
    res->ph.image = res->us_damage;

    /* 4-6: restart, read back, judge, stop, check */
    for (uint32_t c = 0; c < t.n; c++)
        if ((t.state[c] = calloc((size_t)t.cl[c].sent + 1, 1)) == NULL) {
            snprintf(res->detail, sizeof(res->detail), "out of memory");
            goto out;
        }
    r = ts_restart(&t);
    t3 = clk_now_us();
    res->ph.open = (uint32_t)(t3 - t2);
    if (r < 0)
        goto out;
    if (r > 0) {
        r = ts_read_back(&t, why, sizeof(why));
        res->ph.readback = (uint32_t)(clk_now_us() - t3);
        if (r != 0) {
            res->verdict = ORACLE_RECOVERY;
            snprintf(res->detail, sizeof(res->detail), "%s", why);
            kvproc_reap(&t.sv, SIGKILL);
        } else {
            ts_judge(&t);
            if (res->verdict == ORACLE_OK && t.refusals > 0) {
                /* no stop and check: its checkpoint would meet the page */
                res->verdict = ORACLE_DETECTED;
                snprintf(res->detail, sizeof(res->detail), "%s", t.refused);
                kvproc_reap(&t.sv, SIGKILL);
            } else if (res->verdict == ORACLE_OK) {
                if (ts_stop_and_check(&t) != 0) {
                    snprintf(res->detail, sizeof(res->detail),
                             "the check: fork: %s", strerror(errno));
                    goto out;
                }
            } else {
                kvproc_reap(&t.sv, SIGKILL);
            }
        }
    }
    res->us_verify = (uint32_t)(clk_now_us() - t2);
    /* the oracle, the clean stop and the check of the files */
    res->ph.check = res->us_verify - res->ph.open - res->ph.readback;
    rc = 0;
out:
    t3 = clk_now_us();
    ts_free(&t);
    if (rc == 0)
        trial_state_done(env, s, &t.p, res);
    trial_paths_clean(&t.p);
    res->ph.clean = (uint32_t)(clk_now_us() - t3);
    res->us_total = (uint32_t)(clk_now_us() - t0);
    return rc;
}
