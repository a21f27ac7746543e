/*
 * redis.c - crash campaigns of redis-server (redis.h): start it under the
 * preload object, crash it, damage what it left, restart it, judge.
 *
 * The server runs with `appendonly yes` and the campaign's appendfsync, in
 * a deterministic profile: no RDB snapshots (`save ""`), no automatic AOF
 * rewrite (`auto-aof-rewrite-percentage 0`), so it never forks; it listens
 * on a Unix socket beside the trial's directory only.  Its process group
 * is killed whole all the same, should anything have forked.
 *
 * Redis 7 keeps a multi-part AOF: appendonlydir/ holds a manifest, a base
 * file and an incremental file the commands are appended to.  On a fresh
 * directory redis-server writes its base file at start through stdio (a
 * synchronous rewrite), which the interposer refuses (stdio writes bypass
 * it).  So a campaign starts one server without the interposer on a
 * template directory, stops it, and each trial starts from a copy of that
 * template: the AOF's creation is not crash-tested, its appends are.
 *
 * One trial:
 *   1. copy the template to the trial's directory; start redis-server under
 *      the preload object, its crash core set to kill (or tear, or keep a
 *      shadow log) at I/O point k, and wait until it listens (fsync-fail:
 *      the drawn sync call fails with EIO instead, and loses what it
 *      covered);
 *   2. the clients (redis_client.c) run until done, until the server
 *      dies, or (fsync-fail) until the server refuses a transaction with
 *      an error reply; then the server's process group is killed
 *      (SIGKILL).  Under fsync-fail the server ending on its own after
 *      the failure is its answer to the fault, not a set-up error;
 *   3. powerloss and fsync-fail: a power-cut image from the shadow log;
 *      recovery-crash: one time in two a power cut, then a restart under
 *      the interposer on a copy counts the points of Redis's recovery
 *      (until it listens), and a restart on the image is killed at one
 *      of them, one time in two followed by a power cut that may drop
 *      what the recovery and, after a kill, the crashed run left unsynced
 *      (rd_recovery_crash);
 *   4. the crash image kept aside; where the trial breaks a promise,
 *      redis-check-aof on it once it is judged: its exit
 *      status is recorded, not judged (a torn last command, which Redis
 *      itself loads by cutting it off with aof-load-truncated, makes it
 *      fail just as damage would);
 *   5. restart redis-server on the image without the interposer.  A server
 *      that exits instead of listening refuses the image: unavailability,
 *      judged by its exit status, its last log line kept as a detail;
 *   6. read every key back; the oracle (exec_oracle.c's ex_check, client by
 *      client) wants each client's keys to be the state after a prefix of
 *      its declared transactions, at least as long as what appendfsync
 *      promised it for this crash (oracle_promised_after), and DBSIZE to
 *      count no other key.  A prefix shorter than the acknowledged one but
 *      within the promise is an expected loss;
 *   7. stop the server (SHUTDOWN: it must exit 0) and run redis-check-aof
 *      again: the AOF Redis recovered and closed must be valid.
 *
 * A campaign starts with a probe, a run without a crash, whose I/O point
 * count N bounds the crash points (and its sync calls S the failed sync
 * of fsync-fail, 1..S); trial t draws its mode, k in 1..N and the
 * power-cut seed from the campaign seed and t alone.  A replay repeats
 * them; it repeats the crash state only where the server reaches its calls
 * in the same order: with one client and appendfsync always (every append
 * and its fsync in the main thread, in the order of the commands).
 * everysec syncs in a background thread once a second, and concurrent
 * clients interleave as the scheduler lets them.
 *
 * Trials run in --jobs worker processes, forked after the probe: worker w
 * runs trials w, w + jobs, ... in a folder of its own (its own directory,
 * socket, area and log) and sends each outcome on a pipe; the campaign
 * reads trial t from worker t % jobs, so it reports them in order, as one
 * job would.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clk.h"
#include "fsutil.h"
#include "interpose.h"
#include "campaign.h"
#include "kvproc.h"
#include "redis.h"
#include "report.h"
#include "rng.h"
#include "util.h"

#define RD_TAG 0x7265646973u /* the trials' stream of the campaign seed */

int redis_fsync_parse(const char *name, redis_fsync *out)
{
    if (strcmp(name, "always") == 0)
        *out = REDIS_FSYNC_ALWAYS;
    else if (strcmp(name, "everysec") == 0)
        *out = REDIS_FSYNC_EVERYSEC;
    else
        return -1;
    return 0;
}

const char *redis_fsync_name(redis_fsync f)
{
    return f == REDIS_FSYNC_ALWAYS ? "always" : "everysec";
}

/* docs/TARGETS.md, Redis: the persistence page of Redis's documentation.
 * always: every write is fsynced before it is acknowledged.  everysec:
 * the write(2) is done before the reply, the fsync up to a second later,
 * so a crash of the process loses nothing the kernel has, and a power cut
 * may lose the last second. */
oracle_promise redis_fsync_promise(redis_fsync f)
{
    return f == REDIS_FSYNC_ALWAYS ? ORACLE_PROMISE_ACK
                                   : ORACLE_PROMISE_PROCESS;
}

/* The paths of a campaign's scratch directory. */
typedef struct rd_paths {
    char base[1024];
    char tmpl[1100], dir[1100], shadow[1100], grave[1100], area[1100];
    char log[1100], sock[1100], manifest[4200];
    char saved[1100]; /* recovery-crash: the crash image, kept while a
                         recovery of it counts its points */
    char root[4096];  /* dir, resolved */
} rd_paths;

/* A run's paths in folder at (the campaign's, or a worker's). */
static void rd_paths_in(rd_paths *p, const char *at)
{
    snprintf(p->dir, sizeof(p->dir), "%.1000s/dir", at);
    snprintf(p->shadow, sizeof(p->shadow), "%.1000s/shadow.log", at);
    snprintf(p->grave, sizeof(p->grave), "%.1000s/grave", at);
    snprintf(p->area, sizeof(p->area), "%.1000s/area", at);
    snprintf(p->log, sizeof(p->log), "%.1000s/server.log", at);
    snprintf(p->sock, sizeof(p->sock), "%.1000s/sock", at);
    snprintf(p->saved, sizeof(p->saved), "%.1000s/saved", at);
}

/* ---------------------------------------------------------------------- */
/* the server                                                             */
/* ---------------------------------------------------------------------- */

#define RD_ARGC 31 /* redis-server's arguments */

/* redis-server's command line for directory dir (RD_ARGC words and
 * NULL). */
static void rd_argv(const redis_config *cfg, const rd_paths *p, const char *dir,
                    const char **v)
{
    /* clang-format off */
    const char *a[] = {cfg->server,
        "--port", "0", "--unixsocket", p->sock, "--dir", dir,
        "--daemonize", "no", "--logfile", "",
        "--appendonly", "yes", "--appendfsync", redis_fsync_name(cfg->fsync),
        "--appenddirname", "appendonlydir",
        "--appendfilename", "appendonly.aof",
        "--aof-use-rdb-preamble", "yes", "--aof-load-truncated", "yes",
        "--aof-timestamp-enabled", "no",
        /* the deterministic profile: nothing forks */
        "--save", "", "--auto-aof-rewrite-percentage", "0",
        "--databases", "1", NULL};
    /* clang-format on */

    _Static_assert(sizeof(a) / sizeof(a[0]) == RD_ARGC + 1, "RD_ARGC");
    memcpy(v, a, sizeof(a));
}

/* Start redis-server on dir, in a process group of its own that dies with
 * this process; under the preload object with area a (if not NULL).  Its
 * output is appended to p->log.  Returns 0 or an errno.  OUT: *pid. */
static int rd_start(const redis_config *cfg, const rd_paths *p, const char *dir,
                    interpose_area *a, pid_t *pid)
{
    const char *argv[RD_ARGC + 1];
    int logfd, rc = 0;

    rd_argv(cfg, p, dir, argv);
    logfd = open(p->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (logfd < 0)
        return errno;
    if (a != NULL) {
        interpose_spawn_opts so = {.preload = cfg->preload,
                                   .area_path = p->area,
                                   .area = a,
                                   .argv = (char *const *)argv,
                                   .fd3 = -1,
                                   .out_fd = logfd,
                                   .new_group = 1};
        rc = interpose_spawn(&so, pid);
    } else if ((*pid = fork()) < 0) {
        rc = errno;
    } else if (*pid == 0) {
        if (setpgid(0, 0) != 0 || prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 ||
            dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0)
            _exit(127);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    } else {
        (void)setpgid(*pid, *pid);
    }
    close(logfd);
    return rc;
}

enum { RD_LISTENING, RD_ENDED, RD_SILENT };

/* Wait until the server listens on p->sock, or ends (then reaped, *status
 * set), or timeout_s passes. */
static int rd_listen(const redis_config *cfg, const rd_paths *p, pid_t pid,
                     int *status)
{
    uint64_t deadline = clk_now_ns() + (uint64_t)cfg->timeout_s * 1000000000u;

    while (clk_now_ns() < deadline) {
        struct timespec ts = {0, 500000};
        pid_t w = waitpid(pid, status, WNOHANG);
        if (w == pid)
            return RD_ENDED;
        if (rd_ping(p->sock) == 0)
            return RD_LISTENING;
        nanosleep(&ts, NULL);
    }
    return RD_SILENT;
}

/* Kill the server's process group and reap the server.  OUT: *status. */
static void rd_kill(pid_t pid, int *status)
{
    kill(-pid, SIGKILL);
    while (waitpid(pid, status, 0) < 0 && errno == EINTR)
        ;
}

/* Wait for pid up to timeout_s, then kill its group.  Returns 0, or
 * ETIMEDOUT (killed).  OUT: *status. */
static int rd_wait(pid_t pid, uint32_t timeout_s, int *status)
{
    uint64_t deadline = clk_now_ns() + (uint64_t)timeout_s * 1000000000u;

    while (clk_now_ns() < deadline) {
        struct timespec ts = {0, 500000};
        if (waitpid(pid, status, WNOHANG) == pid)
            return 0;
        nanosleep(&ts, NULL);
    }
    rd_kill(pid, status);
    return ETIMEDOUT;
}

/* Stop the server cleanly: SHUTDOWN (SIGTERM would do the same, but is
 * acted on only by the server's cron, up to 100 ms later).  Returns 0, or
 * an errno (then the server's group is killed).  OUT: *status. */
static int rd_stop(const redis_config *cfg, const rd_paths *p, pid_t pid,
                   int *status)
{
    int rc = rd_shutdown(p->sock, cfg->timeout_s);

    if (rc != 0) {
        rd_kill(pid, status);
        return rc;
    }
    return rd_wait(pid, cfg->timeout_s, status);
}

/* redis-check-aof on manifest.  Returns its exit status, 127 if it could
 * not be run, or 255 if it died or hung. */
static int rd_check_aof(const redis_config *cfg, const rd_paths *p,
                        const char *manifest)
{
    int logfd = open(p->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    int status;
    pid_t pid;

    if (logfd < 0 || (pid = fork()) < 0) {
        if (logfd >= 0)
            close(logfd);
        return 127;
    }
    if (pid == 0) {
        if (setpgid(0, 0) != 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0)
            _exit(127);
        execlp(cfg->check_aof, cfg->check_aof, manifest, (char *)NULL);
        _exit(127);
    }
    close(logfd);
    if (rd_wait(pid, cfg->timeout_s, &status) != 0 || !WIFEXITED(status))
        return 255;
    return WEXITSTATUS(status);
}

/* Print a set-up error, with the server's last log line.  Returns 2. */
static int rd_setup(const rd_paths *p, const char *what, const char *msg)
{
    char last[200];

    kvproc_log_tail(p->log, last, sizeof(last));
    fprintf(stderr, "crashtest: set-up error: %s: %s\n", what, msg);
    fprintf(stderr, "crashtest: the last line of its log: %s\n", last);
    return 2;
}

/* The template: a directory on which redis-server has made its AOF (base,
 * incremental file, manifest) and stopped cleanly.  Returns 0 or 2. */
static int rd_template(const redis_config *cfg, rd_paths *p)
{
    char msg[300];
    int status = 0, rc;
    pid_t pid;

    if (mkdir(p->tmpl, 0755) != 0)
        return rd_setup(p, p->tmpl, strerror(errno));
    if ((rc = rd_start(cfg, p, p->tmpl, NULL, &pid)) != 0)
        return rd_setup(p, cfg->server, strerror(rc));
    if ((rc = rd_listen(cfg, p, pid, &status)) != RD_LISTENING) {
        if (rc == RD_SILENT)
            rd_kill(pid, &status);
        snprintf(msg, sizeof(msg),
                 "did not start on an empty directory (%s%d): is it "
                 "redis-server 7 (make deps installs it)?",
                 WIFEXITED(status) ? "exit status " : "signal ",
                 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
        return rd_setup(p, cfg->server, msg);
    }
    if (rd_stop(cfg, p, pid, &status) != 0 || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0)
        return rd_setup(p, cfg->server, "did not stop cleanly on SHUTDOWN");
    snprintf(p->manifest, sizeof(p->manifest),
             "%s/appendonlydir/appendonly.aof.manifest", p->tmpl);
    if ((rc = rd_check_aof(cfg, p, p->manifest)) != 0) {
        snprintf(msg, sizeof(msg),
                 "%s on the AOF of an empty server exited with %d",
                 cfg->check_aof, rc);
        return rd_setup(p, cfg->check_aof, msg);
    }
    return 0;
}

/* ---------------------------------------------------------------------- */
/* one trial                                                              */
/* ---------------------------------------------------------------------- */

/* What the probe's run made: its I/O points, and of them its sync calls. */
typedef struct rd_size {
    uint64_t points, syncs;
} rd_size;

typedef struct rd_trial {
    uint64_t t;
    unsigned mode; /* one EX_* bit */
    uint64_t k;    /* the crash point; fsync-fail: the sync call that fails
                      (0: the run made none) */
    uint64_t pl_seed, wl_seed;
    uint64_t rc_seed; /* recovery-crash: its power cuts and point */
    int power;        /* a power cut came after the last acknowledgement */
    char damage[700];
    char detail[400];
    oracle_kind verdict;
    uint64_t declared, acked, promised, points, syncs;
    int64_t recovered; /* transactions of every client found, or -1 */
    int aof_image;     /* redis-check-aof's exit status on the crash image,
                          run where the trial broke a promise; -1: not
                          run */
    uint64_t rpoint;   /* recovery-crash: the point of its recovery it was
                          killed at, or 0 */
    uint64_t fpoint;   /* fsync-fail: the I/O point whose sync failed, or 0 */
    int crashed;
} rd_trial;

/* A fresh p->dir, a copy of the template; p->root its resolved path. */
static int rd_fresh(rd_paths *p)
{
    int rc;

    if ((rc = fs_rmrf(p->dir)) != 0 || (rc = fs_rmrf(p->grave)) != 0 ||
        (rc = fs_copy_tree(p->tmpl, p->dir)) != 0)
        return rc;
    if (realpath(p->dir, p->root) == NULL)
        return errno;
    if (strlen(p->root) > 500)
        return ENAMETOOLONG;
    unlink(p->shadow);
    unlink(p->log);
    snprintf(p->manifest, sizeof(p->manifest),
             "%s/appendonlydir/appendonly.aof.manifest", p->root);
    return 0;
}

/* Set a verdict unless one as grave is set: violations before losses. */
static void rd_verdict(rd_trial *tr, oracle_kind k, const char *detail)
{
    if (tr->verdict != ORACLE_OK &&
        (oracle_is_violation(tr->verdict) || !oracle_is_violation(k)))
        return;
    tr->verdict = k;
    snprintf(tr->detail, sizeof(tr->detail), "%s", detail);
}

/* The transactions of a client that declared d promised to survive
 * trial tr's crash. */
static uint32_t rd_promised(const redis_config *cfg, const rd_trial *tr,
                            const ex_decl *d)
{
    return oracle_promised_after(redis_fsync_promise(cfg->fsync), tr->power,
                                 (uint32_t)d->acked, 0);
}

/* The oracle over the clients' read-back states st. */
static void rd_judge(const redis_config *cfg, rd_trial *tr, const rd_client *cl,
                     const ex_state *st, uint64_t dbsize)
{
    uint64_t keys = 0;
    char msg[400];

    tr->recovered = 0;
    for (uint32_t c = 0; c < cfg->clients; c++) {
        const ex_decl *d = &cl[c].decl;
        uint32_t promised = rd_promised(cfg, tr, d);
        int64_t m;
        (void)ex_check(d, &st[c], 1, &m);
        keys += st[c].n;
        if (m < 0) {
            snprintf(msg, sizeof(msg),
                     "client %u: its keys are the state after no prefix of "
                     "its %zu declared transactions",
                     c, d->ntxns);
            rd_verdict(tr, ORACLE_PREFIX, msg);
            tr->recovered = -1;
            continue;
        }
        if (tr->recovered >= 0)
            tr->recovered += m;
        snprintf(msg, sizeof(msg),
                 "client %u: the state after %" PRId64 " of %zu transactions "
                 "acknowledged, %u promised",
                 c, m, d->acked, promised);
        if (m < (int64_t)promised)
            rd_verdict(tr, ORACLE_DURABILITY, msg);
        else if (m < (int64_t)d->acked)
            rd_verdict(tr, ORACLE_EXPECTED_LOSS, msg);
    }
    if (dbsize != keys) {
        snprintf(msg, sizeof(msg),
                 "DBSIZE counts %" PRIu64 " keys, the clients' keys %" PRIu64,
                 dbsize, keys);
        rd_verdict(tr, ORACLE_PREFIX, msg);
    }
}

/* Steps 5 to 7 on the crash image: restart, read back, judge, stop, check.
 * Returns 0, or 2 after a set-up error. */
static int rd_verify(const redis_config *cfg, rd_paths *p, rd_trial *tr,
                     const rd_client *cl)
{
    ex_state *st = calloc(cfg->clients, sizeof(*st));
    uint64_t dbsize = 0;
    char err[300], last[200];
    int status = 0, rc, ret = 0;
    pid_t pid;

    if (st == NULL)
        return rd_setup(p, "crashtest", strerror(ENOMEM));
    for (uint32_t c = 0; c < cfg->clients; c++)
        tr->promised += rd_promised(cfg, tr, &cl[c].decl);
    if ((rc = rd_start(cfg, p, p->root, NULL, &pid)) != 0) {
        free(st);
        return rd_setup(p, cfg->server, strerror(rc));
    }
    rc = rd_listen(cfg, p, pid, &status);
    if (rc != RD_LISTENING) {
        /* Unavailability: judged by how the server ended, never by what it
         * wrote; its last log line is the detail. */
        if (rc == RD_SILENT)
            rd_kill(pid, &status);
        kvproc_log_tail(p->log, last, sizeof(last));
        /* The line may quote bytes of the damaged file: keep the CSV
         * text. */
        for (char *c = last; *c; c++)
            if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
                *c = '?';
        snprintf(err, sizeof(err),
                 "redis-server %s on the crash image (%s %d); its log: %s",
                 rc == RD_SILENT ? "did not listen" : "refused to start",
                 WIFEXITED(status) ? "exit status" : "signal",
                 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
                 last);
        rd_verdict(tr, tr->promised > 0 ? ORACLE_RECOVERY : ORACLE_DETECTED,
                   err);
        tr->recovered = -1;
        free(st);
        return 0;
    }
    if (rd_read_back(cfg, p->sock, st, &dbsize, err, sizeof(err)) != 0) {
        rd_kill(pid, &status);
        rd_verdict(tr, ORACLE_RECOVERY, err);
        tr->recovered = -1;
        goto out;
    }
    rd_judge(cfg, tr, cl, st, dbsize);
    if (rd_stop(cfg, p, pid, &status) != 0 || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
        rd_verdict(tr, ORACLE_STRUCTURE,
                   "redis-server did not exit 0 on SHUTDOWN after recovering");
        goto out;
    }
    if ((rc = rd_check_aof(cfg, p, p->manifest)) != 0) {
        if (rc == 127) {
            ret = rd_setup(p, cfg->check_aof, "could not be run");
            goto out;
        }
        snprintf(err, sizeof(err),
                 "redis-check-aof exited with %d on the AOF that "
                 "redis-server recovered and closed",
                 rc);
        rd_verdict(tr, ORACLE_STRUCTURE, err);
    }
out:
    for (uint32_t c = 0; c < cfg->clients; c++)
        ex_state_free(&st[c]);
    free(st);
    return ret;
}

#define RD_RECOVERY_TRACE 4096 /* points of a recovery described */

/* Start redis-server on p->root under the interposer configured by ic,
 * its area at p->area with trace_cap trace entries.  Returns 0, or 2
 * after a set-up error.  OUT: *a (to unmap; NULL if none), *pid. */
static int rd_start_under(const redis_config *cfg, rd_paths *p,
                          const interpose_config *ic, uint64_t trace_cap,
                          interpose_area **a, pid_t *pid)
{
    int rc;

    *a = NULL;
    if ((rc = interpose_area_create(p->area, ic, trace_cap, a)) != 0)
        return rd_setup(p, p->area, strerror(rc));
    if ((rc = rd_start(cfg, p, p->root, *a, pid)) != 0)
        return rd_setup(p, cfg->server, strerror(rc));
    return 0;
}

/* A restart of redis-server on p->root under the interposer configured by
 * ic, until it listens (then killed) or ends: a recovery of the image,
 * counted or crashed.  OUT: *sh (its crash core's results as they were
 * when it listened or ended), *listened, and what[0..len): the call of
 * point ic->crash_at and its file ("" if none).  Returns 0 or 2. */
static int rd_recover_under(const redis_config *cfg, rd_paths *p,
                            const interpose_config *ic, crashio_shared *sh,
                            int *listened, char *what, size_t len)
{
    interpose_area *a = NULL;
    char msg[IP_PATH_MAX + 400];
    int rc, status = 0, ret = 0;
    pid_t pid;

    what[0] = '\0';
    if ((ret = rd_start_under(cfg, p, ic, RD_RECOVERY_TRACE, &a, &pid)) != 0)
        goto out;
    rc = rd_listen(cfg, p, pid, &status);
    /* Stopped before its counts are read: once it listens, its cron and
     * background threads would go on adding points that are not the
     * recovery's. */
    if (rc == RD_LISTENING)
        kill(-pid, SIGSTOP);
    memcpy(sh, interpose_area_shared(a), sizeof(*sh));
    if (ic->crash_at > 0 && ic->crash_at <= RD_RECOVERY_TRACE &&
        ic->crash_at <= sh->points) {
        const crashio_shared *full = interpose_area_shared(a);
        const crashio_point_info *pi = &full->trace[ic->crash_at - 1];
        snprintf(what, len, "%s%s%.64s", crashio_kind_name(pi->kind),
                 pi->file && pi->file <= full->nnames ? " of " : "",
                 pi->file && pi->file <= full->nnames
                     ? full->names[pi->file - 1]
                     : "");
    }
    *listened = rc == RD_LISTENING;
    if (rc != RD_ENDED)
        rd_kill(pid, &status);
    if (a->res.refused) {
        ex_refusal(&a->res, msg, sizeof(msg));
        ret = rd_setup(p, cfg->server, msg);
    }
out:
    interpose_area_unmap(a);
    return ret;
}

/* recovery-crash's run of the target's recovery (ex_rcrash.run): a
 * restart of redis-server under the interposer until it listens. */
typedef struct rd_rc_ctx {
    const redis_config *cfg;
    rd_paths *p;
} rd_rc_ctx;

static int rd_recover_run(void *ctx, const interpose_config *ic,
                          crashio_shared *sh, int *ran, char *what, size_t len)
{
    rd_rc_ctx *c = ctx;

    return rd_recover_under(c->cfg, c->p, ic, sh, ran, what, len);
}

/* recovery-crash, after the first crash (and its power cut, if drawn):
 * Redis's recovery (the points it makes before it listens) crashed
 * (ex_recovery_crash).  Returns 0 or 2. */
static int rd_recovery_crash(const redis_config *cfg, rd_paths *p, rd_trial *tr)
{
    rd_rc_ctx ctx = {cfg, p};
    ex_rcrash x = {.dir = p->dir,
                   .root = p->root,
                   .saved = p->saved,
                   .shadow = p->shadow,
                   .grave = p->grave,
                   .sector = cfg->sector,
                   .persist = cfg->persist,
                   .fs = cfg->fs,
                   .seed = tr->rc_seed,
                   .pl_seed = tr->pl_seed,
                   .run = rd_recover_run,
                   .ctx = &ctx,
                   .power = tr->power,
                   .damage = tr->damage,
                   .dlen = sizeof(tr->damage)};
    int rc = ex_recovery_crash(&x);

    tr->power = x.power;
    tr->rpoint = x.rpoint;
    return rc < 0 ? rd_setup(p, x.err_what, x.err) : rc;
}

/* Run trial tr (mode and k set; k 0: the probe, no crash).  Returns 0 or
 * 2. */
static int rd_trial_run(const redis_config *cfg, rd_paths *p, rd_trial *tr,
                        rd_client *cl)
{
    interpose_config ic = {0};
    interpose_area *a = NULL;
    crashio_shared sh;
    char msg[IP_PATH_MAX + 400];
    int rc, status = 0, ret = 0, failed, refused = 0;
    pid_t pid;

    for (uint32_t c = 0; c < cfg->clients; c++)
        memset(&cl[c], 0, sizeof(cl[c]));
    if ((rc = rd_fresh(p)) != 0)
        return rd_setup(p, p->dir, strerror(rc));
    ex_crash_config(&ic, p->root, tr->mode, tr->k, tr->pl_seed, cfg->sector,
                    p->shadow, p->grave);
    if ((ret = rd_start_under(cfg, p, &ic, 0, &a, &pid)) != 0)
        goto out;
    rc = rd_listen(cfg, p, pid, &status);
    if (rc == RD_LISTENING)
        rc = rd_clients_run(cfg, tr->wl_seed, p->sock, cl);
    else if (rc == RD_SILENT)
        rc = ETIMEDOUT;
    else
        rc = 0; /* ended: crashed while starting, or refused (below) */
    if (waitpid(pid, &status, WNOHANG) == 0 || kill(-pid, 0) == 0)
        rd_kill(pid, &status);
    memcpy(&sh, interpose_area_shared(a), sizeof(sh));
    /* An injected sync failure may make the server refuse writes or end:
     * both are its answer to the fault, not a set-up error. */
    failed = tr->mode == EX_FSYNC_FAIL && sh.failed_point != 0;
    tr->fpoint = failed ? sh.failed_point : 0;
    if (a->res.refused) {
        ex_refusal(&a->res, msg, sizeof(msg));
        ret = rd_setup(p, cfg->server, msg);
        goto out;
    }
    /* Unmapped now: a recovery crash makes an area of another size at the
     * same path. */
    interpose_area_unmap(a);
    a = NULL;
    if (rc != 0) {
        ret =
            rd_setup(p, cfg->server,
                     rc == ETIMEDOUT ? "did not listen in time" : strerror(rc));
        goto out;
    }
    for (uint32_t c = 0; c < cfg->clients; c++) {
        if (cl[c].err[0] != '\0' || (cl[c].refusal[0] != '\0' && !failed)) {
            snprintf(msg, sizeof(msg), "client %u: %s%s", c,
                     cl[c].err[0] ? "" : "refused with no fault injected: ",
                     cl[c].err[0] ? cl[c].err : cl[c].refusal);
            ret = rd_setup(p, cfg->server, msg);
            goto out;
        }
        refused += cl[c].refusal[0] != '\0';
    }
    tr->crashed = sh.outcome != CRASHIO_OUT_NONE || failed;
    tr->points = sh.points;
    tr->syncs = sh.syncs;
    if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) && !failed) {
        snprintf(msg, sizeof(msg), "ended on its own (%s %d)",
                 WIFEXITED(status) ? "exit status" : "signal",
                 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
        ret = rd_setup(p, cfg->server, msg);
        goto out;
    }
    for (uint32_t c = 0; c < cfg->clients; c++) {
        tr->declared += cl[c].decl.ntxns;
        tr->acked += cl[c].decl.acked;
    }
    if (tr->mode == EX_FSYNC_FAIL) {
        ex_fsync_describe(&sh, tr->k, tr->damage, sizeof(tr->damage));
        if (refused > 0)
            util_appendf(tr->damage, sizeof(tr->damage),
                         "; %d client%s refused", refused,
                         refused > 1 ? "s" : "");
        if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL))
            util_appendf(tr->damage, sizeof(tr->damage),
                         "; redis-server ended on its own (%s %d)",
                         WIFEXITED(status) ? "exit status" : "signal",
                         WIFEXITED(status) ? WEXITSTATUS(status)
                                           : WTERMSIG(status));
        else
            util_appendf(tr->damage, sizeof(tr->damage), "; killed then");
    } else {
        ex_crash_describe(&sh, tr->k, tr->damage, sizeof(tr->damage));
        if (!tr->crashed)
            util_appendf(tr->damage, sizeof(tr->damage), "; killed then");
    }
    /* fsync-fail's power cut is what makes the lost writes lost; half the
     * recovery crashes start from one. */
    if (ex_first_cut(tr->mode, tr->rc_seed)) {
        if (ex_power_cut(p->root, p->shadow, cfg->persist, cfg->fs, cfg->sector,
                         tr->pl_seed, tr->damage, sizeof(tr->damage), msg,
                         sizeof(msg)) != 0) {
            ret = rd_setup(p, "the power-cut image", msg);
            goto out;
        }
        tr->power = 1;
    }
    if (tr->mode == EX_RCRASH && (ret = rd_recovery_crash(cfg, p, tr)) != 0)
        goto out;
    /* The crash image is kept aside (the restart changes it): Redis's
     * own checker reads it where the trial broke a promise, to say
     * whether it accepts the image; it is not judged, and running it on
     * every trial cost a fifth of a trial's time. */
    if ((rc = fs_rmrf(p->saved)) != 0 ||
        (rc = fs_copy_tree(p->dir, p->saved)) != 0) {
        ret = rd_setup(p, p->saved, strerror(rc));
        goto out;
    }
    ret = rd_verify(cfg, p, tr, cl);
    tr->aof_image = -1;
    if (ret == 0 && oracle_is_violation(tr->verdict)) {
        snprintf(msg, sizeof(msg),
                 "%.800s/appendonlydir/appendonly.aof.manifest", p->saved);
        if ((tr->aof_image = rd_check_aof(cfg, p, msg)) == 127)
            ret = rd_setup(p, cfg->check_aof, "could not be run");
    }
out:
    interpose_area_unmap(a);
    return ret;
}

/* ---------------------------------------------------------------------- */
/* the campaign                                                           */
/* ---------------------------------------------------------------------- */

static void rd_draw(const redis_config *cfg, uint64_t t, const rd_size *size,
                    rd_trial *tr)
{
    rng r;

    memset(tr, 0, sizeof(*tr));
    tr->t = t;
    r = ex_draw_crash(cfg->seed, RD_TAG, t, cfg->modes, size->points, &tr->mode,
                      &tr->k, &tr->pl_seed);
    tr->wl_seed = rng_next(&r);
    tr->rc_seed = rng_next(&r);
    /* A run of everysec may make no sync (the probe's made none): then
     * the first sync fails if one comes.  Its syncs follow the clock, so
     * a run slower or faster than the probe's makes more or fewer: the
     * failing one is drawn among the first half of the probe's, which a
     * run at half its pace still reaches. */
    if (tr->mode == EX_FSYNC_FAIL) {
        uint64_t n = size->syncs > 0 ? size->syncs : 1;
        if (cfg->fsync == REDIS_FSYNC_EVERYSEC)
            n = (n + 1) / 2;
        tr->k = 1 + rng_next(&r) % n;
    }
}
static void rd_csv_row(FILE *f, const rd_trial *tr)
{
    fprintf(f,
            "%" PRIu64 ",%s,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
            ",%" PRId64 ",%s,%d,%" PRIu64 ",%" PRIu64 ",",
            tr->t, ex_mode_name(tr->mode), tr->k, tr->declared, tr->acked,
            tr->promised, tr->recovered, oracle_kind_name(tr->verdict),
            tr->aof_image, tr->rpoint, tr->fpoint);
    ex_csv_quoted(f, tr->damage);
    fputc(',', f);
    ex_csv_quoted(f, tr->detail);
    fputc('\n', f);
}

/* Where the text goes: standard error when standard output has the JSON
 * summary. */
static FILE *rd_text(const redis_config *cfg)
{
    return cfg->json ? stderr : stdout;
}

/* The options that replay a trial of cfg after --seed and --replay:
 * everything that decides it. */
static void rd_options(const redis_config *cfg, char *buf, size_t len)
{
    char crash[200];

    ex_crash_options(cfg->modes, cfg->persist, cfg->fs, cfg->sector, crash,
                     sizeof(crash));
    snprintf(buf, len,
             " --target redis --redis-fsync %s --clients %u "
             "--sets %u%s",
             redis_fsync_name(cfg->fsync), cfg->clients, cfg->txns, crash);
}

static void rd_replay_line(const redis_config *cfg, uint64_t t)
{
    char opts[512];

    rd_options(cfg, opts, sizeof(opts));
    ex_replay_print(rd_text(cfg), cfg->seed, t, opts);
}

/* The JSON summary of the res[0..n) of cfg's campaign on stdout.
 * Returns 0 or 2. */
static int rd_json(const redis_config *cfg, const trial_result *res, size_t n,
                   const rd_size *size, uint64_t nocrash, uint64_t elapsed_ns)
{
    const char *fs = redis_fsync_name(cfg->fsync);
    ex_summary s = {
        .runner = "redis",
        .seed = cfg->seed,
        .trials = cfg->trials,
        .jobs = cfg->jobs,
        .fs = cfg->fs,
        .promise = oracle_promise_name(redis_fsync_promise(cfg->fsync)),
        .facts = {{"redis_appendfsync", fs, 0},
                  {"redis_clients", NULL, cfg->clients},
                  {"redis_transactions_per_client", NULL, cfg->txns},
                  {"redis_io_points", NULL, size->points},
                  {"redis_sync_calls", NULL, size->syncs},
                  {"redis_trials_without_crash", NULL, nocrash}},
        .nfacts = 6};

    rd_options(cfg, s.options, sizeof(s.options));
    return ex_json(&s, res, n, elapsed_ns);
}

/* The probe: a run without a crash, whose state must be the state after
 * every transaction.  OUT: *size.  Returns 0 or 2. */
static int rd_probe(const redis_config *cfg, rd_paths *p, rd_client *cl,
                    rd_size *size)
{
    rd_trial tr = {.mode = EX_KILL, .wl_seed = cfg->seed};
    int rc = rd_trial_run(cfg, p, &tr, cl);
    uint64_t want = (uint64_t)cfg->clients * cfg->txns;

    if (rc == 0 && tr.points == 0)
        rc = rd_setup(p, cfg->server,
                      "made no I/O point under its directory in a run without "
                      "a crash (did the preload object load?)");
    if (rc == 0 && (tr.verdict != ORACLE_OK || tr.acked != want ||
                    tr.recovered != (int64_t)want)) {
        char msg[600];
        snprintf(msg, sizeof(msg),
                 "a run without a crash acknowledged %" PRIu64 " of %" PRIu64
                 " transactions and recovered %" PRId64 " (%s: %s)",
                 tr.acked, want, tr.recovered, oracle_kind_name(tr.verdict),
                 tr.detail);
        rc = rd_setup(p, cfg->server, msg);
    }
    for (uint32_t c = 0; c < cfg->clients; c++)
        ex_decl_free(&cl[c].decl);
    size->points = tr.points;
    size->syncs = tr.syncs;
    return rc;
}

/* A worker process: it runs trials w, w + jobs, w + 2 jobs, ... in its
 * own folder, and sends each trial's outcome on a pipe, in order. */
typedef struct rd_worker {
    pid_t pid; /* 0: none, or reaped */
    int fd;    /* the read end, or -1 */
} rd_worker;

/* One trial's outcome (less than PIPE_BUF bytes: written whole). */
typedef struct rd_rec {
    int status; /* 0, or 2: a set-up error, said on stderr */
    rd_trial tr;
} rd_rec;

_Static_assert(sizeof(rd_rec) <= 4096, "rd_rec must fit PIPE_BUF");

/* Worker number i's loop, in the forked child, in a folder of its own
 * under the campaign's (whole).  Never returns. */
static void rd_worker_main(const redis_config *cfg, const rd_paths *whole,
                           const rd_size *size, unsigned i, int fd)
{
    rd_paths p = *whole;
    rd_client *cl = calloc(cfg->clients, sizeof(*cl));
    char at[1100];

    snprintf(at, sizeof(at), "%s/w%u", whole->base, i);
    rd_paths_in(&p, at);
    if (cl == NULL || mkdir(at, 0755) != 0)
        _exit(2);
    for (uint64_t t = i; t < cfg->trials; t += cfg->jobs) {
        rd_rec rec = {0};
        if (cfg->replay >= 0 && (uint64_t)cfg->replay != t)
            continue;
        rd_draw(cfg, t, size, &rec.tr);
        rec.status = rd_trial_run(cfg, &p, &rec.tr, cl);
        for (uint32_t c = 0; c < cfg->clients; c++)
            ex_decl_free(&cl[c].decl);
        if (write(fd, &rec, sizeof(rec)) != (ssize_t)sizeof(rec) ||
            rec.status != 0)
            break;
    }
    _exit(0);
}

/* Fork cfg->jobs workers into w.  Returns 0 or 2. */
static int rd_workers_start(const redis_config *cfg, const rd_paths *p,
                            const rd_size *size, rd_worker *w)
{
    fflush(NULL);
    for (unsigned i = 0; i < cfg->jobs; i++) {
        int pfd[2];
        if (pipe2(pfd, O_CLOEXEC) != 0 || (w[i].pid = fork()) < 0) {
            fprintf(stderr, "crashtest: cannot start a worker: %s\n",
                    strerror(errno));
            w[i].pid = 0;
            return 2;
        }
        if (w[i].pid == 0) {
            close(pfd[0]);
            for (unsigned j = 0; j < i; j++)
                close(w[j].fd);
            rd_worker_main(cfg, p, size, i, pfd[1]);
        }
        close(pfd[1]);
        w[i].fd = pfd[0];
    }
    return 0;
}

/* The next outcome of worker w.  Returns 0, or 2 (a set-up error, said
 * on stderr by the worker or here). */
static int rd_rec_read(rd_worker *w, rd_rec *rec)
{
    size_t got = 0;

    while (got < sizeof(*rec)) {
        ssize_t n = read(w->fd, (char *)rec + got, sizeof(*rec) - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            fprintf(stderr, "crashtest: a worker ended early\n");
            return 2;
        }
        got += (size_t)n;
    }
    return rec->status;
}

/* Stop the workers (those still running are killed: a campaign stopped at
 * its first violation, or on an error) and reap them.  Each server's
 * process group dies with its worker (PR_SET_PDEATHSIG). */
static void rd_workers_end(const redis_config *cfg, rd_worker *w)
{
    for (unsigned i = 0; w != NULL && i < cfg->jobs; i++) {
        int status;
        if (w[i].fd >= 0)
            close(w[i].fd);
        w[i].fd = -1;
        if (w[i].pid > 0) {
            kill(w[i].pid, SIGKILL);
            while (waitpid(w[i].pid, &status, 0) < 0 && errno == EINTR)
                ;
        }
        w[i].pid = 0;
    }
}

int redis_run(const redis_config *cfg)
{
    rd_paths p;
    rd_client *cl = calloc(cfg->clients, sizeof(*cl));
    rd_worker *w = calloc(cfg->jobs, sizeof(*w));
    rd_size size = {0, 0};
    uint64_t ran = 0, bad = 0, nocrash = 0;
    uint64_t by[ORACLE_KINDS] = {0};
    uint64_t t0 = clk_now_ns();
    FILE *csv = NULL, *out = rd_text(cfg);
    trial_result *res = NULL;
    int rc = 0;

    if (cl == NULL || w == NULL || strlen(cfg->dirbase) > 60) {
        fprintf(stderr, "crashtest: --dir: a path of at most 60 bytes with "
                        "--target redis (its Unix socket goes there)\n");
        free(cl);
        free(w);
        return 2;
    }
    snprintf(p.base, sizeof(p.base), "%s/crashtest-redis-XXXXXX", cfg->dirbase);
    if (fs_mkdirs(cfg->dirbase) != 0 || mkdtemp(p.base) == NULL) {
        fprintf(stderr, "crashtest: cannot make a directory in %s: %s\n",
                cfg->dirbase, strerror(errno));
        free(cl);
        free(w);
        return 2;
    }
    snprintf(p.tmpl, sizeof(p.tmpl), "%s/template", p.base);
    rd_paths_in(&p, p.base);
    for (unsigned i = 0; i < cfg->jobs; i++)
        w[i].fd = -1;
    if ((rc = ex_preload_check(cfg->preload)) != 0 ||
        (rc = rd_template(cfg, &p)) != 0 ||
        (rc = rd_probe(cfg, &p, cl, &size)) != 0)
        goto out;
    if (!cfg->quiet)
        fprintf(out,
                "crashtest: redis: appendfsync %s (promise %s), %u clients of "
                "%u transactions: %" PRIu64 " I/O points in a run, %" PRIu64
                " of them sync calls\n",
                redis_fsync_name(cfg->fsync),
                oracle_promise_name(redis_fsync_promise(cfg->fsync)),
                cfg->clients, cfg->txns, size.points, size.syncs);
    if (cfg->csv &&
        (csv = ex_csv_open(cfg->csv, "trial,mode,crash_point,declared,acked,"
                                     "promised,recovered,verdict,"
                                     "check_aof_image,recovery_point,"
                                     "failed_point,damage,detail")) == NULL) {
        rc = 2;
        goto out;
    }
    if (cfg->json &&
        (res = calloc(cfg->trials ? cfg->trials : 1, sizeof(*res))) == NULL) {
        fprintf(stderr, "crashtest: out of memory\n");
        rc = 2;
        goto out;
    }
    if ((rc = rd_workers_start(cfg, &p, &size, w)) != 0)
        goto out;
    for (uint64_t t = 0; t < cfg->trials; t++) {
        rd_rec rec;
        rd_trial tr;
        if (cfg->replay >= 0 && (uint64_t)cfg->replay != t)
            continue;
        /* Worker t % jobs runs trial t; each runs its own in order. */
        if ((rc = rd_rec_read(&w[t % cfg->jobs], &rec)) != 0)
            goto out;
        tr = rec.tr;
        ran++;
        nocrash += !tr.crashed;
        by[tr.verdict]++;
        if (csv)
            rd_csv_row(csv, &tr);
        if (res != NULL)
            ex_result_set(&res[ran - 1], t, tr.mode, tr.k, tr.verdict);
        if (cfg->replay >= 0)
            fprintf(out,
                    "trial %" PRIu64 ": %s at %s %" PRIu64
                    ": %s; declared %" PRIu64 ", acknowledged %" PRIu64
                    ", promised %" PRIu64 ", recovered %" PRId64
                    "; redis-check-aof on the image: %d; %s%s%s\n",
                    t, ex_mode_name(tr.mode), ex_point_name(tr.mode), tr.k,
                    tr.damage, tr.declared, tr.acked, tr.promised, tr.recovered,
                    tr.aof_image, oracle_kind_name(tr.verdict),
                    tr.detail[0] ? ": " : "", tr.detail);
        if (oracle_is_violation(tr.verdict)) {
            bad++;
            if (cfg->replay < 0) {
                fprintf(out,
                        "crashtest: trial %" PRIu64 ": VIOLATION %s: %s at "
                        "%s %" PRIu64 ": %s; %s\n",
                        t, oracle_kind_name(tr.verdict), ex_mode_name(tr.mode),
                        ex_point_name(tr.mode), tr.k, tr.damage, tr.detail);
                rd_replay_line(cfg, t);
            }
            if (cfg->stop_at_first)
                break;
        }
    }
    rd_workers_end(cfg, w);
    {
        double s = (double)(clk_now_ns() - t0) / 1e9;
        fprintf(out,
                "crashtest: redis: %" PRIu64 " trials (%" PRIu64
                " ran to the end before their crash point), %.1f states/s, "
                "violations %" PRIu64 " (durability %" PRIu64
                ", prefix %" PRIu64 ", recovery %" PRIu64 ", structure %" PRIu64
                "), expected losses %" PRIu64 ", detected %" PRIu64 "\n",
                ran, nocrash, s > 0 ? (double)ran / s : 0.0, bad,
                by[ORACLE_DURABILITY], by[ORACLE_PREFIX], by[ORACLE_RECOVERY],
                by[ORACLE_STRUCTURE], by[ORACLE_EXPECTED_LOSS],
                by[ORACLE_DETECTED]);
    }
    rc = bad > 0 ? 1 : 0;
    if (res != NULL &&
        rd_json(cfg, res, ran, &size, nocrash, clk_now_ns() - t0) != 0)
        rc = 2;
out:
    free(res);
    rd_workers_end(cfg, w);
    if (csv && csv != stdout)
        fclose(csv);
    free(cl);
    free(w);
    fs_rmrf(p.base);
    return rc;
}
