/*
 * trial.c - the steps of a crash trial (see trial.h).
 *
 * Processes of a trial, all forked from the worker that runs it:
 *   writer     runs the workload on the target through crashio; publishes
 *              in shared memory how many transactions it issued and which
 *              were acknowledged (and at what LSN, with the durable LSN it
 *              saw), then dies by SIGKILL: at its crash point, when the
 *              parent kills it, or after its last transaction;
 *   sampler    (recovery-crash only) recovers the crashed database
 *              through crashio, keeping a copy of it as a kill at one of
 *              the recovery's I/O points leaves it, up to recovery_depth
 *              times (trial_rcrash.c);
 *   verifier   opens the database with the plain POSIX table (recovery,
 *              timed), reads everything back, asks the oracle, runs the
 *              target's structure check, and writes its findings into
 *              shared memory: trial_verify_here, run by the worker's
 *              long-lived verifier process (trial_vserve.c).
 * The oracle's inputs (issued, acknowledged, durable) are what the writer
 * published in memory before it died, never anything it wrote to disk.
 *
 * This file holds the steps; trial_run.c puts them together into one
 * trial, and trial_batch.c gets the crash states of several trials from one
 * writer run and hands each to the same steps (trial_after_crash).
 *
 * Divisions: trial modes and the worker's set-up; the writer (and the
 * counting run of profiles); the verifier; after a crash.
 */
#include "trial.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clk.h"
#include "fsutil.h"
#include "interpose.h"
#include "iowrap.h"
#include "mapkeep.h"
#include "memfs.h"
#include "rng.h"
#include "trial_int.h"
#include "util.h"

/* Every mode, in the order of the enum (the campaign cycles through a
 * campaign's modes in this order). */
static const trial_mode_info trial_modes[MODE_COUNT] = {
    [MODE_KILL_IO] = {"kill-io", NULL, MODE_GROUP_ENGINE | MODE_GROUP_ALL, 0,
                      1},
    [MODE_KILL_TIME] = {"kill-time", NULL, MODE_GROUP_ENGINE | MODE_GROUP_ALL,
                        0, 0},
    [MODE_TORN] = {"torn", NULL, MODE_GROUP_ENGINE | MODE_GROUP_ALL, 0, 1},
    [MODE_POWERLOSS] = {"powerloss", NULL, MODE_GROUP_ENGINE | MODE_GROUP_ALL,
                        0, 1},
    [MODE_RECOVERY_CRASH] = {"recovery-crash", NULL,
                             MODE_GROUP_ENGINE | MODE_GROUP_ALL, 0, 1},
    [MODE_CHAIN] = {"chain", NULL, MODE_GROUP_ENGINE | MODE_GROUP_ALL, 0, 1},
    [MODE_EIO] = {"eio", NULL, MODE_GROUP_ERRORS, 1, 0},
    [MODE_ENOSPC] = {"enospc", NULL, MODE_GROUP_ERRORS, 1, 0},
    [MODE_SHORT_WRITE] = {"short-write", NULL, MODE_GROUP_ERRORS, 1, 0},
    /* crashio fails the fsync (trial_fault.c): no libfiu, so the default
     * campaign has it */
    [MODE_FSYNC_FAIL] = {"fsync-fail", NULL, MODE_GROUP_ERRORS | MODE_GROUP_ALL,
                         0, 0, 1},
    /* likewise a failed write (a full disk, mostly) */
    [MODE_WRITE_FAIL] = {"write-fail", NULL, MODE_GROUP_ERRORS | MODE_GROUP_ALL,
                         0, 0, 1},
    [MODE_SERVER_KILL_TIME] = {"server-kill-time", "kill-time",
                               MODE_GROUP_SERVER, 0, 0},
    [MODE_SERVER_KILL_IO] = {"server-kill-io", "kill-io", MODE_GROUP_SERVER, 0,
                             0},
    [MODE_SERVER_TORN] = {"server-torn", "torn", MODE_GROUP_SERVER, 0, 0},
    [MODE_SERVER_POWERLOSS] = {"server-powerloss", "powerloss",
                               MODE_GROUP_SERVER, 0, 0},
};

const trial_mode_info *trial_mode_get(trial_mode m)
{
    return &trial_modes[(unsigned)m < MODE_COUNT ? m : 0];
}

int trial_modes_of(unsigned groups, trial_mode *out)
{
    int n = 0;

    for (int i = 0; i < MODE_COUNT; i++)
        if (trial_modes[i].groups & groups)
            out[n++] = (trial_mode)i;
    return n;
}

const char *trial_mode_name(trial_mode m)
{
    return (unsigned)m < MODE_COUNT ? trial_modes[m].name : "?";
}

int trial_mode_is_error(trial_mode m)
{
    return (unsigned)m < MODE_COUNT &&
           (trial_modes[m].groups & MODE_GROUP_ERRORS) != 0;
}

int trial_keeps_log(const trial_spec *s)
{
    return s->powerloss || s->mode == MODE_RECOVERY_CRASH ||
           s->mode == MODE_CHAIN;
}

int trial_mode_is_server(trial_mode m)
{
    return (unsigned)m < MODE_COUNT &&
           (trial_modes[m].groups & MODE_GROUP_SERVER) != 0;
}

int trial_mode_needs_fiu(trial_mode m)
{
    return (unsigned)m < MODE_COUNT && trial_modes[m].needs_fiu;
}

int trial_mode_parse(const char *s, trial_mode *m)
{
    for (int i = 0; i < MODE_COUNT; i++)
        if (strcmp(s, trial_modes[i].name) == 0) {
            *m = (trial_mode)i;
            return 0;
        }
    return -1;
}

int trial_mode_parse_server(const char *s, trial_mode *m)
{
    for (int i = 0; i < MODE_COUNT; i++)
        if ((trial_modes[i].groups & MODE_GROUP_SERVER) &&
            (strcmp(s, trial_modes[i].name) == 0 ||
             strcmp(s, trial_modes[i].server_alias) == 0)) {
            *m = (trial_mode)i;
            return 0;
        }
    return -1;
}

static void *trial_map(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);

    return p == MAP_FAILED ? NULL : p;
}

/* The marker of a scratch directory (trial_env_intact). */
#define TRIAL_MARKER ".crashtest-scratch"

static int trial_env_mark(const trial_env *env)
{
    char marker[4200];
    int fd;

    snprintf(marker, sizeof(marker), "%s/%s", env->base, TRIAL_MARKER);
    if ((fd = open(marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) < 0)
        return errno;
    close(fd);
    return 0;
}

int trial_env_init(trial_env *env, uint32_t max_txns)
{
    trial_shm *m = calloc(1, sizeof(*m));
    int rc;

    if (m == NULL)
        return ENOMEM;
    m->max_txns = max_txns;
    m->cio_size = crashio_shared_size(0);
    m->trace_size = crashio_shared_size(TRIAL_TRACE_CAP);
    m->prog_size = sizeof(trial_progress) + (size_t)max_txns * 8;
    m->cio = trial_map(m->cio_size);
    m->trace = trial_map(m->trace_size);
    m->prog = trial_map(m->prog_size);
    m->ver = trial_map(sizeof(trial_verdict));
    m->snaps = trial_map(TRIAL_BATCH_MAX * sizeof(trial_snap));
    m->txn_points = trial_map(((size_t)max_txns + 1) * sizeof(uint64_t));
    m->fiu_size = fiuctl_shared_size(TRIAL_TRACE_CAP);
    m->fiu = trial_map(m->fiu_size);
    m->vreq = trial_map(sizeof(trial_vreq));
    m->ipres = trial_map(sizeof(interpose_result));
    m->vfd = -1;
    if (!m->cio || !m->trace || !m->prog || !m->ver || !m->snaps ||
        !m->txn_points || !m->fiu || !m->vreq || !m->ipres) {
        free(m);
        return ENOMEM;
    }
    env->shm = m;
    if ((rc = fs_mkdirs(env->base)) != 0)
        return rc;
    return trial_env_mark(env);
}

int trial_env_intact(const trial_env *env)
{
    char marker[4200];
    struct stat st;

    snprintf(marker, sizeof(marker), "%s/%s", env->base, TRIAL_MARKER);
    return stat(marker, &st) == 0;
}

void trial_env_fini(trial_env *env)
{
    trial_shm *m = env->shm;

    if (m == NULL)
        return;
    trial_vserve_stop(env);
    munmap(m->vreq, sizeof(trial_vreq));
    munmap(m->cio, m->cio_size);
    munmap(m->trace, m->trace_size);
    munmap(m->prog, m->prog_size);
    munmap(m->ver, sizeof(trial_verdict));
    munmap(m->snaps, TRIAL_BATCH_MAX * sizeof(trial_snap));
    munmap(m->txn_points, ((size_t)m->max_txns + 1) * sizeof(uint64_t));
    munmap(m->fiu, m->fiu_size);
    munmap(m->ipres, sizeof(interpose_result));
    free(m);
    env->shm = NULL;
}

void trial_paths_init(const trial_env *env, trial_paths *p)
{
    snprintf(p->dir, sizeof(p->dir), "%s/db", env->base);
    snprintf(p->shadow, sizeof(p->shadow), "%s/shadow.log", env->base);
    snprintf(p->grave, sizeof(p->grave), "%s/grave", env->base);
    snprintf(p->rshadow, sizeof(p->rshadow), "%s/rshadow.log", env->base);
    snprintf(p->rgrave, sizeof(p->rgrave), "%s/rgrave", env->base);
    snprintf(p->probe, sizeof(p->probe), "%s/probe", env->base);
    snprintf(p->pgrave, sizeof(p->pgrave), "%s/probe.grave", env->base);
    snprintf(p->crashed, sizeof(p->crashed), "%s/crashed", env->base);
    snprintf(p->snaps, sizeof(p->snaps), "%s/snap", env->base);
    snprintf(p->log, sizeof(p->log), "%s/kvserver.log", env->base);
    snprintf(p->report, sizeof(p->report), "%s/kvserver.report", env->base);
}

/* The paths of one crash state and what its recovery crashes use. */
static void trial_paths_clean_state(const trial_paths *p)
{
    fs_rmrf(p->dir);
    fs_rmrf(p->rshadow);
    fs_rmrf(p->rgrave);
    fs_rmrf(p->probe);
    fs_rmrf(p->pgrave);
    fs_rmrf(p->crashed);
}

void trial_paths_clean(const trial_paths *p)
{
    trial_paths_clean_state(p);
    fs_rmrf(p->shadow);
    fs_rmrf(p->grave);
    fs_rmrf(p->snaps);
    fs_rmrf(p->log);
}

void trial_die(void)
{
    raise(SIGKILL);
    for (;;)
        pause();
}

/* ---------------------------------------------------------------------- */
/* the writer                                                             */
/* ---------------------------------------------------------------------- */

/* Run transactions [from, n) of workload wl on the open target h,
 * through crashio c (or NULL), publishing in shared memory what each call
 * returned; hk: the hooks (NULL: none).  env->fault: the error trial whose
 * injected error the workload may meet, or NULL (a batch writer's at_txn
 * may make this process a branch with one: trial_batch.c).  Returns at
 * the end of the workload, or when the target refuses writes after the
 * injected error; any other error ends the process (a writer failure). */
static void trial_txns(trial_env *env, const wl_params *wl, void *h,
                       uint32_t from, crashio *c, const trial_writer_hooks *hk)
{
    trial_progress *pg = env->shm->prog;
    const trial_spec *fault;
    wl_txn t;
    int rc, go, fired;

    if (wl_txn_init(&t) != 0) {
        pg->error = ENOMEM;
        snprintf(pg->errmsg, sizeof(pg->errmsg), "out of memory");
        _exit(20);
    }
    for (uint32_t i = from; i < wl->txns; i++) {
        uint64_t lsn = 0;
        int where;
        if (hk != NULL && hk->at_txn != NULL) {
            /* the hook's own file calls are not the target's */
            if (env->target->interposed)
                interpose_aside(1);
            hk->at_txn(hk->ctx, c, i);
            if (env->target->interposed)
                interpose_aside(0);
        }
        fault = env->fault;
        wl_gen(wl, i, &t);
        __atomic_store_n(&pg->issued, i + 1, __ATOMIC_RELEASE);
        fired = fault != NULL && trial_fault_fired(env, fault);
        rc = env->target->apply(h, &t, &lsn);
        if (rc != 0) {
            go = fault != NULL ? trial_fault_on_error(env, fault, h, i,
                                                      TRIAL_ERR_COMMIT, rc)
                               : -1;
            if (go > 0)
                break; /* writes refused: the workload ends here */
            if (go == 0) {
                pg->lsn[i] = 0; /* never committed: nothing to wait for */
                continue;
            }
            pg->error = rc;
            snprintf(pg->errmsg, sizeof(pg->errmsg),
                     "commit of transaction %u: %s: %s", i, cl_strerror(rc),
                     target_errdetail());
            _exit(22);
        }
        if (fault != NULL)
            trial_fault_on_ack(env, fault, i, 0, fired);
        pg->lsn[i] = lsn;
        pg->durable = env->target->durable(h);
        __atomic_store_n(&pg->acked, i + 1, __ATOMIC_RELEASE);
        if (!t.checkpoint_after && !t.sync_after)
            continue;
        /* A checkpoint syncs too: either makes every commit that returned
         * before it durable, once it returns 0. */
        where = t.checkpoint_after ? TRIAL_ERR_CHECKPOINT : TRIAL_ERR_SYNC;
        fired = fault != NULL && trial_fault_fired(env, fault);
        rc = t.checkpoint_after ? env->target->checkpoint(h)
                                : env->target->sync(h);
        if (rc == 0 && fault != NULL)
            trial_fault_on_ack(env, fault, i, 1, fired);
        if (rc == 0) {
            pg->durable = env->target->durable(h);
            __atomic_store_n(&pg->synced, i + 1, __ATOMIC_RELEASE);
            continue;
        }
        go = fault != NULL ? trial_fault_on_error(env, fault, h, i, where, rc)
                           : -1;
        if (go > 0)
            break;
        if (go == 0)
            continue;
        pg->error = rc;
        snprintf(pg->errmsg, sizeof(pg->errmsg),
                 "%s after transaction %u: %s: %s",
                 where == TRIAL_ERR_CHECKPOINT ? "checkpoint" : "sync", i,
                 cl_strerror(rc), target_errdetail());
        _exit(where == TRIAL_ERR_CHECKPOINT ? 23 : 24);
    }
    wl_txn_free(&t);
}

/* Whether prof's writer closes the target after its last transaction:
 * half of the workloads (by their seed), one thread, a target whose close
 * syncs. */
static int trial_writer_closes(const trial_env *env, const trial_profile *prof)
{
    return env->target->close_syncs && prof->wl.threads <= 1 &&
           (rng_mix(prof->wl.seed ^ 0xC105Eull) & 1) == 0;
}

/* The writer's close after its last transaction (of n acknowledged or
 * not): one that returns 0 has made every commit durable, as a sync call
 * would.  h is gone after it. */
static void trial_writer_close(trial_env *env, void *h, uint32_t n)
{
    trial_progress *pg = env->shm->prog;
    const trial_spec *fault = env->fault;
    int fired, rc;

    if (pg->err_fatal) {
        /* writes were refused: the handle owes nothing more */
        env->target->close(h);
        return;
    }
    fired = fault != NULL && trial_fault_fired(env, fault);
    rc = env->target->close(h);
    if (rc == 0) {
        if (fault != NULL && n > 0)
            trial_fault_on_ack(env, fault, n - 1, 1, fired);
        __atomic_store_n(&pg->synced,
                         __atomic_load_n(&pg->acked, __ATOMIC_ACQUIRE),
                         __ATOMIC_RELEASE);
        return;
    }
    if (fault != NULL && n > 0 &&
        trial_fault_on_error(env, fault, NULL, n - 1, TRIAL_ERR_CLOSE, rc) >= 0)
        return;
    pg->error = rc;
    snprintf(pg->errmsg, sizeof(pg->errmsg),
             "close after transaction %u: %s: %s", n > 0 ? n - 1 : 0,
             cl_strerror(rc), target_errdetail());
    _exit(26);
}

/* An interposed target's writer, or its recovery crashed by a sampling
 * run: start the libc interposer on dir with the crash core configured as
 * cc would configure it for an I/O table (the seed, crash point and
 * action, sector, fill, injected failure, shadow log, graveyard and
 * on_point hook).  Returns 0 or an errno. */
static int trial_interpose(const trial_env *env, const char *dir,
                           const crashio_config *cc)
{
    interpose_config ic;
    char real[PATH_MAX], list[128], *save = NULL;
    int n = 0;

    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return errno;
    if (realpath(dir, real) == NULL)
        return errno;
    memset(&ic, 0, sizeof(ic));
    if (snprintf(ic.root, sizeof(ic.root), "%s", real) >=
            (int)sizeof(ic.root) ||
        snprintf(ic.shadow_path, sizeof(ic.shadow_path), "%s",
                 cc->shadow_path ? cc->shadow_path : "") >=
            (int)sizeof(ic.shadow_path) ||
        snprintf(ic.graveyard_dir, sizeof(ic.graveyard_dir), "%s",
                 cc->graveyard_dir ? cc->graveyard_dir : "") >=
            (int)sizeof(ic.graveyard_dir))
        return ENAMETOOLONG;
    snprintf(list, sizeof(list), "%s",
             env->nondurable           ? env->nondurable
             : env->target->nondurable ? env->target->nondurable
                                       : "");
    for (char *t = strtok_r(list, ",", &save); t != NULL && n < IP_NONDURABLE;
         t = strtok_r(NULL, ",", &save))
        snprintf(ic.nondurable[n++], sizeof(ic.nondurable[0]), "%s", t);
    ic.seed = cc->seed;
    ic.crash_at = cc->crash_at;
    ic.crash_action = (uint32_t)cc->crash_action;
    ic.sector = cc->sector;
    ic.fill = (uint32_t)cc->fill;
    ic.fail_at = cc->fail_at;
    ic.fail_sync = cc->fail_sync;
    ic.fail_errno = cc->fail_errno;
    ic.fsync_loses_data = cc->fsync_loses_data;
    ic.shadow_continue = cc->shadow_continue;
    memset(env->shm->ipres, 0, sizeof(*env->shm->ipres));
    return interpose_start_hooked(&ic, env->shm->ipres, cc->shared,
                                  cc->on_point, cc->on_point_ctx);
}

/* 1 if an interposed writer ended on a refusal of the interposer (a call
 * it cannot model), described in buf; else 0. */
static int trial_refused(const trial_env *env, char *buf, size_t len)
{
    const interpose_result *r = env->shm->ipres;

    if (!env->target->interposed || !atomic_load(&r->refused))
        return 0;
    snprintf(buf, len,
             "the interposer refused %s%s%s: %s (a set-up error: the "
             "target does something it cannot model; --nondurable names "
             "files it may map)",
             r->refused_call, r->refused_path[0] ? " of " : "", r->refused_path,
             r->refused_why);
    return 1;
}

/* A counting run's at_txn: the points made so far, before transaction
 * i. */
typedef struct trial_count_ctx {
    trial_env *env;
    const crashio_shared *sh;
} trial_count_ctx;

/* The on_point of a counting run and of a writer that is killed after a
 * delay (one that has none of its own): the time of its first I/O point,
 * from which kill-time delays run (trial_run.c, campaign.c). */
static void trial_first_point(void *ctx, const crashio_call *call)
{
    trial_progress *pg = ((trial_env *)ctx)->shm->prog;
    uint64_t t;

    (void)call;
    if (__atomic_load_n(&pg->first_us, __ATOMIC_RELAXED) == 0) {
        t = clk_now_us() - pg->start_us;
        __atomic_store_n(&pg->first_us, t > 0 ? t : 1, __ATOMIC_RELEASE);
    }
}

static void trial_count_at_txn(void *ctx, crashio *c, uint32_t i)
{
    const trial_count_ctx *x = ctx;

    (void)c;
    if (i < x->env->shm->max_txns)
        x->env->shm->txn_points[i] = atomic_load(&x->sh->points);
}

int trial_writer_in_memory(const trial_env *env)
{
    /* libfiu's points are in the system's table (engine/io_posix.c) */
    return !env->target->interposed && !env->writers_on_disk && !env->count_fiu;
}

/* Whether the counting run of prof runs in memory: where its kill-time
 * trials, whose delays are drawn from its time, are served by batches
 * (trial_batch.c), whose writers run there. */
static int trial_counts_in_memory(const trial_env *env,
                                  const trial_profile *prof)
{
    return trial_writer_in_memory(env) && !target_is_background(env->target) &&
           trial_eng_repeats(&prof->eng);
}

/* The writer's file system in memory (hk->in_memory, or a counting run's
 * of a profile whose writers run there), with the
 * directories above dir and the graveyard's as they are on disk: cc with
 * it as the inner table and the shadow log held (mc).  Exits on failure,
 * as a failed crashio set-up does. */
static const crashio_config *trial_writer_mem(trial_env *env, const char *dir,
                                              const crashio_config *cc,
                                              crashio_config *mc, memfs **m)
{
    *m = memfs_new(UINT64_MAX);
    /* descriptors a branch can put the files on disk under
     * (trial_batch.c) */
    if (*m == NULL || memfs_real_fds(*m) != 0 ||
        memfs_make_parents(*m, dir) != 0 ||
        (cc->graveyard_dir != NULL &&
         memfs_make_parents(*m, cc->graveyard_dir) != 0)) {
        env->shm->prog->error = ENOMEM;
        snprintf(env->shm->prog->errmsg, sizeof(env->shm->prog->errmsg),
                 "file system in memory: setup failed");
        _exit(20);
    }
    *mc = *cc;
    mc->inner = memfs_table(*m);
    mc->shadow_hold = cc->shadow_path != NULL;
    return mc;
}

void trial_writer(trial_env *env, const trial_profile *prof, const char *dir,
                  const crashio_config *cc, int count_only,
                  const trial_writer_hooks *hk, const trial_spec *s)
{
    trial_count_ctx cx = {env, cc->shared};
    const trial_writer_hooks count = {.at_txn = trial_count_at_txn, .ctx = &cx};
    trial_progress *pg = env->shm->prog;
    crashio *c = NULL;
    crashio_config mc, cnt;
    memfs *m = NULL;
    cl_options o = prof->eng;
    uint64_t t0 = clk_now_us();
    void *h = NULL;
    int rc, closes;

    util_child_signals();
    util_name_process(count_only ? "ct-count" : "ct-writer");
    /* the engine's buffers from the heap, in huge pages, rather than
     * mapped each on its own a page fault a page (the worker's setting);
     * of the forks a writer makes, its branches, each copies the page
     * tables of a heap of a few MiB */
    mapkeep_heap();
    env->fault = s != NULL && trial_mode_is_error(s->mode) ? s : NULL;
    pg->start_us = t0;
    if ((count_only || (s != NULL && s->mode == MODE_KILL_TIME)) &&
        cc->on_point == NULL) {
        /* when the first I/O point comes */
        cnt = *cc;
        cnt.on_point = trial_first_point;
        cnt.on_point_ctx = env;
        cc = &cnt;
    }
    if ((hk != NULL && hk->in_memory) ||
        (count_only && s == NULL && trial_counts_in_memory(env, prof)))
        cc = trial_writer_mem(env, dir, cc, &mc, &m);
    if (env->target->interposed) {
        if ((rc = trial_interpose(env, dir, cc)) != 0) {
            pg->error = rc;
            snprintf(pg->errmsg, sizeof(pg->errmsg),
                     "interposer setup failed: %s", strerror(rc));
            _exit(20);
        }
    } else if (crashio_new(cc, &c) != 0) {
        pg->error = ENOMEM;
        snprintf(pg->errmsg, sizeof(pg->errmsg), "crashio setup failed");
        _exit(20);
    }
    /* libfiu is armed after crashio_new, whose graveyard mkdir goes
     * through the same table but is none of the engine's calls. */
    if ((count_only && s == NULL && env->count_fiu &&
         (rc = fiuctl_count(prof->wl.seed, env->shm->fiu,
                            &cc->shared->points)) != 0) ||
        (env->fault && (rc = trial_fault_arm(env, s, cc)) != 0)) {
        pg->error = rc;
        snprintf(pg->errmsg, sizeof(pg->errmsg), "libfiu setup failed: %s",
                 strerror(rc));
        _exit(20);
    }
    if (hk != NULL && hk->at_start != NULL)
        hk->at_start(hk->ctx, c, m);
    o.io = c != NULL ? crashio_table(c) : cl_io_posix();
    o.create_salt = prof->salt;
    rc = env->target->open(dir, &o, &h);
    if (rc != 0) {
        if (env->fault && trial_fault_on_error(env, env->fault, NULL, 0,
                                               TRIAL_ERR_OPEN, rc) > 0)
            goto end;
        pg->error = rc;
        snprintf(pg->errmsg, sizeof(pg->errmsg), "open: %s: %s",
                 cl_strerror(rc), target_errdetail());
        _exit(21);
    }
    pg->opened = 1;
    if (s != NULL && s->threads > 1) {
        trial_mt_write(env, prof, h, s);
        goto end;
    }
    trial_txns(env, &prof->wl, h, 0, c,
               count_only && cc->shared != NULL ? &count : hk);
    closes = trial_writer_closes(env, prof);
    if (count_only && cc->shared != NULL && prof->wl.txns <= env->shm->max_txns)
        env->shm->txn_points[prof->wl.txns] =
            closes ? atomic_load(&cc->shared->points) : 0;
    if (closes)
        trial_writer_close(env, h, prof->wl.txns);
end:
    if (count_only) {
        pg->run_us = clk_now_us() - t0;
        _exit(0);
    }
    if (hk != NULL && hk->at_end != NULL)
        hk->at_end(hk->ctx);
    trial_die(); /* a crash after the last transaction */
}

uint32_t trial_required(const trial_env *env, const cl_options *eng,
                        const trial_progress *pg)
{
    uint32_t synced = __atomic_load_n(&pg->synced, __ATOMIC_ACQUIRE);

    return oracle_promised(env->target->promise(eng),
                           __atomic_load_n(&pg->acked, __ATOMIC_ACQUIRE),
                           synced);
}

uint32_t trial_durable_count(const trial_progress *pg, uint32_t acked)
{
    uint32_t lo = 0;

    while (lo < acked && pg->lsn[lo] <= pg->durable)
        lo++;
    return lo;
}

void trial_window(const trial_env *env, const cl_options *eng,
                  const trial_progress *pg, uint32_t *issued, uint32_t *acked,
                  uint32_t *required, uint32_t *claimed, uint32_t *synced_out)
{
    uint32_t synced = __atomic_load_n(&pg->synced, __ATOMIC_ACQUIRE);

    *issued = __atomic_load_n(&pg->issued, __ATOMIC_ACQUIRE);
    *acked = __atomic_load_n(&pg->acked, __ATOMIC_ACQUIRE);
    *required = oracle_promised(env->target->promise(eng), *acked, synced);
    *claimed = trial_durable_count(pg, *acked);
    if (synced_out != NULL)
        *synced_out = synced;
}

uint32_t trial_promised_cut(const trial_env *env, const trial_spec *s,
                            uint32_t acked, uint32_t synced)
{
    oracle_promise pr = env->target->promise(&s->prof->eng);

    if (pr == ORACLE_PROMISE_PROCESS_PREV)
        acked = oracle_last_change(&s->prof->prefix, acked);
    return oracle_promised_after(pr, 1, acked, synced);
}

void trial_result_window(const trial_env *env, const trial_spec *s,
                         trial_result *res)
{
    trial_window(env, &s->prof->eng, env->shm->prog, &res->issued, &res->acked,
                 &res->durable, &res->claimed, &res->synced);
    if (s->threads > 1)
        trial_mt_counts(env, s, res);
}

void trial_progress_reset(trial_env *env)
{
    memset(env->shm->prog, 0, env->shm->prog_size);
}

int trial_count_run(trial_env *env, const trial_profile *prof, const char *dir,
                    const crashio_config *cc, const trial_spec *s, char *err,
                    size_t errlen)
{
    pid_t pid;
    int st;

    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0)
        trial_writer(env, prof, dir, cc, 1, NULL, s);
    if (util_wait_within(pid, TRIAL_TIMEOUT_US(env), &st)) {
        snprintf(err, errlen,
                 "%s run of %s did not finish within %u s: the target hangs "
                 "(--timeout)",
                 s != NULL ? "concurrent" : "counting", wl_name(prof->wl.kind),
                 TRIAL_TIMEOUT_SECS(env));
        return -1;
    }
    if (trial_refused(env, err, errlen))
        return -1;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        char how[64];
        util_status_text(st, how, sizeof(how));
        snprintf(err, errlen, "%s run of %s failed (%s): %s",
                 s != NULL ? "concurrent" : "counting", wl_name(prof->wl.kind),
                 how, env->shm->prog->errmsg);
        return -1;
    }
    return 0;
}

uint64_t trial_profile_epoch;

int trial_profile_build(trial_env *env, trial_profile *prof, char *err,
                        size_t errlen)
{
    trial_paths p;
    crashio_config cc;
    crashio_shared *sh = env->shm->trace;
    uint64_t t0;
    int rc;

    trial_profile_epoch++;
    if (prof->wl.txns > env->shm->max_txns) {
        snprintf(err, errlen, "workload of %u transactions over the limit",
                 prof->wl.txns);
        return -1;
    }
    prof->salt = rng_mix(prof->wl.seed ^ 0x5a17);
    if (prof->salt == 0)
        prof->salt = 1;
    if (oracle_prefix_build(&prof->wl, &prof->prefix) != 0 ||
        (prof->wl.threads > 1 && oracle_mt_build(&prof->wl, &prof->mt) != 0)) {
        snprintf(err, errlen, "out of memory for the oracle");
        return -1;
    }
    trial_paths_init(env, &p);
    trial_paths_clean(&p);
    crashio_shared_init(sh, TRIAL_TRACE_CAP);
    trial_progress_reset(env);
    memset(&cc, 0, sizeof(cc));
    cc.inner = cl_io_posix();
    cc.seed = prof->wl.seed;
    cc.root = p.dir;
    cc.shared = sh;
    if (env->count_fiu) {
        /* count libfiu evaluations as error trials run (trial_fault.c) */
        cc.shadow_path = p.shadow;
        cc.graveyard_dir = p.grave;
        fiuctl_shared_init(env->shm->fiu, TRIAL_TRACE_CAP);
    }
    t0 = clk_now_us();
    rc = trial_count_run(env, prof, p.dir, &cc, NULL, err, errlen);
    /* The run as the writer timed it, without the fork and the exit: the
     * span kill-time delays are drawn from, so that they fall in the run
     * rather than mostly after it. */
    prof->run_us =
        env->shm->prog->run_us ? env->shm->prog->run_us : clk_now_us() - t0;
    prof->first_us = env->shm->prog->first_us;
    if (rc != 0)
        return -1;
    prof->points = atomic_load(&sh->points);
    if (prof->points > TRIAL_TRACE_CAP) {
        snprintf(err, errlen, "workload has %llu I/O points, over %u",
                 (unsigned long long)prof->points, TRIAL_TRACE_CAP);
        return -1;
    }
    prof->kinds = malloc(prof->points + 1);
    prof->pwrites = malloc((prof->points + 1) * sizeof(uint64_t));
    prof->acts = malloc((prof->points + 1) * sizeof(uint16_t));
    prof->dirwin = malloc(prof->points + 1);
    prof->txn_points = malloc(((size_t)prof->wl.txns + 1) * sizeof(uint64_t));
    if (prof->kinds == NULL || prof->pwrites == NULL || prof->acts == NULL ||
        prof->dirwin == NULL || prof->txn_points == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memcpy(prof->txn_points, env->shm->txn_points,
           (size_t)prof->wl.txns * sizeof(uint64_t));
    prof->close_point = prof->wl.txns <= env->shm->max_txns
                            ? env->shm->txn_points[prof->wl.txns]
                            : 0;
    prof->npwrites = 0;
    for (uint64_t k = 1, open = 0; k <= prof->points; k++) {
        uint8_t kind = sh->trace[k - 1].kind;
        prof->kinds[k - 1] = kind;
        prof->acts[k - 1] = sh->trace[k - 1].act;
        if (kind == CRASHIO_PWRITE)
            prof->pwrites[prof->npwrites++] = k;
        /* the window opens after a directory change and closes once a
         * directory sync has returned (a crash at the sync is still in
         * it) */
        prof->dirwin[k - 1] = (uint8_t)open;
        if (kind == CRASHIO_CREATE || kind == CRASHIO_RENAME ||
            kind == CRASHIO_UNLINK || kind == CRASHIO_MKDIR)
            open = 1;
        else if (kind == CRASHIO_DIRSYNC)
            open = 0;
    }
    if (env->count_fiu) {
        const fiuctl_shared *f = env->shm->fiu;
        uint64_t n = atomic_load(&f->n);
        if (n > f->cap) {
            snprintf(err, errlen,
                     "workload has %llu libfiu evaluations, over "
                     "%llu",
                     (unsigned long long)n, (unsigned long long)f->cap);
            return -1;
        }
        prof->evals = malloc((n + 1) * sizeof(*prof->evals));
        if (prof->evals == NULL) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        memcpy(prof->evals, f->e, n * sizeof(*prof->evals));
        prof->nevals = n;
    }
    trial_paths_clean(&p);
    if (prof->wl.threads > 1)
        return trial_mt_profile(env, prof, err, errlen);
    return 0;
}

void trial_profile_free(trial_profile *prof)
{
    trial_profile_epoch++;
    free(prof->kinds);
    free(prof->pwrites);
    free(prof->acts);
    free(prof->dirwin);
    free(prof->txn_points);
    free(prof->evals);
    prof->acts = NULL;
    prof->dirwin = NULL;
    prof->kinds = NULL;
    prof->pwrites = NULL;
    prof->txn_points = NULL;
    prof->evals = NULL;
    oracle_prefix_free(&prof->prefix);
    oracle_mt_free(&prof->mt);
}

/* ---------------------------------------------------------------------- */
/* the verifier                                                           */
/* ---------------------------------------------------------------------- */

/* The kernel copies a write into the page cache 4 KiB at a time and lets
 * a fatal signal stop it between two of them: a process killed while a
 * thread of it is in the middle of a page write larger than that leaves
 * the page half written (torn) in the file, with no power cut at all. */
#define TRIAL_KILL_ATOMIC 4096u

/* Damage that can tear a write of any size: a torn write, a power cut,
 * and the modes that crash a recovery (whose writes a power cut follows). */
static int trial_tears_any(const trial_spec *s)
{
    return s->mode == MODE_TORN || s->powerloss ||
           s->mode == MODE_RECOVERY_CRASH || s->mode == MODE_CHAIN ||
           s->mode == MODE_SHORT_WRITE;
}

/* Damage that tears only writes larger than TRIAL_KILL_ATOMIC: a kill
 * that can land in the middle of a write (kill-time), or while writer
 * threads other than the one crashio kills are in one. */
static int trial_tears_large(const trial_spec *s)
{
    return s->mode == MODE_KILL_TIME || s->threads > 1;
}

int trial_torn_refusal_ok(const cl_options *eng, int tears_any, int tears_large)
{
    uint32_t ps = eng->page_size ? eng->page_size : 4096;

    if (eng->torn != CL_TORN_NONE)
        return 0;
    return tears_any || (ps > TRIAL_KILL_ATOMIC && tears_large);
}

/* May an open or read of this trial's image legitimately fail with a
 * detected corruption?  Only when pages can be torn and the engine runs
 * without torn-page protection. */
static int trial_detect_ok(const trial_spec *s)
{
    return trial_torn_refusal_ok(&s->prof->eng, trial_tears_any(s),
                                 trial_tears_large(s));
}

/* May the open of this trial's image refuse it as corrupt for any target?
 * When the crash came before the workload began its first transaction
 * (within the database's creation: issued is 0, nothing was promised)
 * and the damage can tear a write: a target that cannot tell a torn
 * creation from a damaged database and refuses it loses nothing (LMDB
 * writes both of its meta pages in one write; docs/ORACLE.md). */
static int trial_create_refusal_ok(const trial_spec *s, uint32_t issued)
{
    return issued == 0 && (trial_tears_any(s) || trial_tears_large(s));
}

int trial_is_page_damage(void)
{
    cl_err_info ei;

    return cl_errinfo(&ei) == 0 && ei.kind == CL_ERRK_PAGE;
}

/* The key of the probe transaction: outside every workload's keys (which
 * start with 'k'). */
#define TRIAL_PROBE_KEY "probe"

/* After a verdict of OK, the database must also stay usable: commit a
 * probe transaction (one key outside the workload's), close, open again (a
 * second recovery, which replays it) and read everything back: the state
 * must be the one judged, m, plus the probe.  This is what catches a
 * recovery that leaves the log in a state that breaks only once something
 * is appended (a torn tail left in place).  On failure sets v's verdict
 * (recovery) and detail. */
static void trial_probe(trial_env *env, const trial_spec *s, const char *dir,
                        const cl_io *io, void **hp, oracle_map *m,
                        trial_verdict *v)
{
    void *h = *hp;
    cl_options o = s->prof->eng;
    wl_txn t;
    oracle_map *after = oracle_map_new();
    char val[24];
    const char *step = "commit";
    uint64_t lsn = 0, want;
    size_t n;
    int rc;

    memset(&t, 0, sizeof(t));
    snprintf(val, sizeof(val), "%016llx", (unsigned long long)s->seed);
    t.index = UINT32_MAX; /* no workload's: the broken targets pass it */
    t.nops = 1;
    t.ops[0].key = (const uint8_t *)TRIAL_PROBE_KEY;
    t.ops[0].klen = sizeof(TRIAL_PROBE_KEY) - 1;
    t.ops[0].val = (const uint8_t *)val;
    t.ops[0].vlen = 16;
    if (after == NULL ||
        oracle_map_put(m, t.ops[0].key, t.ops[0].klen, val, 16) != 0) {
        rc = CL_ENOMEM;
        goto fail;
    }
    want = oracle_map_hash(m);
    n = oracle_map_count(m);
    if ((rc = env->target->apply(h, &t, &lsn)) != 0)
        goto fail;
    step = "close";
    *hp = NULL;
    if ((rc = env->target->close(h)) != 0)
        goto fail;
    step = "reopen";
    o.io = io;
    o.no_close_checkpoint = 1; /* as the first handle's */
    o.create_salt = s->prof->salt;
    h = NULL;
    if ((rc = env->target->open(dir, &o, &h)) != 0)
        goto fail;
    *hp = h;
    step = "read back";
    if ((rc = env->target->read_all(h, after)) != 0)
        goto fail;
    if (oracle_map_hash(after) != want || oracle_map_count(after) != n) {
        size_t vl;
        /* The probe was acknowledged and closed: its loss is durability;
         * any other change came from the second recovery. */
        int lost =
            oracle_map_get(after, t.ops[0].key, t.ops[0].klen, &vl) == NULL;
        v->verdict = lost ? ORACLE_DURABILITY : ORACLE_RECOVERY;
        snprintf(v->detail, sizeof(v->detail),
                 "after recovery, a probe commit, close and reopen: %zu keys "
                 "where %zu were expected%s",
                 oracle_map_count(after), n,
                 lost ? "; the probe, acknowledged, is missing" : "");
    }
    oracle_map_free(after);
    return;
fail:
    oracle_map_free(after);
    v->verdict = ORACLE_RECOVERY;
    snprintf(v->detail, sizeof(v->detail),
             "the recovered database is not usable: probe %s failed: %s: "
             "%.200s",
             step, cl_strerror(rc), target_errdetail());
}

int trial_prefix_of(const trial_spec *s, uint32_t skip, wl_params *wl,
                    oracle_prefix *local, const oracle_prefix **pre)
{
    *wl = s->prof->wl;
    *pre = &s->prof->prefix;
    /* A transaction the engine went on without is not in the model; a
     * chain's links wrote values of their own. */
    wl->hist = s->hist;
    if (skip != ORACLE_NO_SKIP || wl->hist.n > 0) {
        if (oracle_prefix_build_skip(wl, skip, local) != 0)
            return -1;
        *pre = local;
    }
    return 0;
}

/* Whether a chain link restarts the database after its judging (half of
 * them, by a bit of the trial seed). */
static int trial_chain_restarts(const trial_spec *s)
{
    return (s->seed >> 23) % 2 == 0;
}

/* Judge the state m read back (v->verdict, recovered and detail), with
 * the window [lo, hi], claimed, the skipped transaction and the workload
 * and prefix of trial_prefix_of. */
static void trial_judge(trial_env *env, const trial_spec *s,
                        const oracle_map *m, uint32_t lo, uint32_t claimed,
                        uint32_t hi, uint32_t skip, const wl_params *wl,
                        const oracle_prefix *pre, trial_verdict *v)
{
    if (s->threads > 1) {
        oracle_mt_input in;
        trial_mt_window(env, s, &in);
        v->verdict = (uint8_t)oracle_judge_mt(&s->prof->wl, &s->prof->mt, &in,
                                              m, &v->recovered, v->detail,
                                              sizeof(v->detail));
        return;
    }
    v->verdict = (uint8_t)oracle_judge_claim(wl, pre, m, lo, claimed, hi, skip,
                                             &v->recovered, v->detail,
                                             sizeof(v->detail));
    /* A target that goes on after a failed sync may have committed the
     * transaction whose commit returned the error (past its commit point):
     * a prefix with it is as good as one without. */
    if (skip != ORACLE_NO_SKIP && env->target->sync_error_goes_on &&
        oracle_is_violation((oracle_kind)v->verdict)) {
        char d[sizeof(v->detail)];
        uint32_t k;
        oracle_kind with =
            oracle_judge_claim(&s->prof->wl, &s->prof->prefix, m, lo, claimed,
                               hi, ORACLE_NO_SKIP, &k, d, sizeof(d));
        if (!oracle_is_violation(with)) {
            v->verdict = (uint8_t)with;
            v->recovered = k;
            memcpy(v->detail, d, sizeof(d));
        }
    }
}

/* The read of the verifier's first session that fails (1..63), for
 * one trial in four of the modes whose verifier opens the crash state as
 * the crash left it (kill-io, torn, powerloss), of targets that do their
 * I/O through the table (not the interposed ones); 0 for the others.
 * From bits of the trial seed that no other draw takes: the read's binary
 * exponent uniformly in 0..5, the read uniformly among those of that
 * exponent, so that each of a recovery's first reads (the superblock, a
 * segment's first window) fails more often than a page read back later;
 * a session of fewer reads meets no failure. */
static uint64_t trial_read_fault(const trial_env *env, const trial_spec *s)
{
    uint64_t h, e;

    if (env->target->interposed || s->prof == NULL ||
        (s->mode != MODE_KILL_IO && s->mode != MODE_TORN &&
         s->mode != MODE_POWERLOSS))
        return 0;
    h = rng_mix(s->seed ^ 0x5EADFA17ull);
    if (h % 4 != 0)
        return 0;
    e = (h >> 8) % 6;
    return (1ull << e) + ((h >> 16) % (1ull << e));
}

/* The verifier's first session of a trial with a read fault (rf, the
 * read that fails: trial_read_fault): open, read back and close with
 * that read failing with EIO.  An error of the open or the read-back is
 * what the target owes when it could not read; a read-back that returned
 * is judged as any recovered state.  Returns 1 when that found a
 * violation (in v), else 0: the usual session then verifies what this one
 * left, which shows a recovery that took the failed read for less data
 * than there was and cut the rest away. */
static int trial_read_fault_session(trial_env *env, const trial_spec *s,
                                    const char *dir, cl_options o, uint64_t rf,
                                    uint32_t lo, uint32_t claimed, uint32_t hi,
                                    uint32_t skip, const wl_params *wl,
                                    const oracle_prefix *pre, trial_verdict *v)
{
    oracle_map *m = NULL;
    iowrap w;
    void *h = NULL;
    int rc;

    iowrap_init(&w, o.io);
    w.fail_read_at = rf;
    o.io = &w.io;
    v->rf_at = rf;
    rc = env->target->open(dir, &o, &h);
    if (rc == 0 && (m = oracle_map_new()) == NULL) {
        env->target->close(h);
        v->setup_failed = 1;
        return 1;
    }
    if (rc == 0)
        rc = env->target->read_all(h, m);
    v->rf_failed = (uint8_t)atomic_load(&w.failed);
    v->rf_step = h == NULL ? TRIAL_RF_OPEN : rc != 0 ? TRIAL_RF_READ : 0;
    if (rc == 0) {
        trial_judge(env, s, m, lo, claimed, hi, skip, wl, pre, v);
        if (oracle_is_violation((oracle_kind)v->verdict)) {
            char d[sizeof(v->detail)];
            memcpy(d, v->detail, sizeof(d));
            snprintf(v->detail, sizeof(v->detail),
                     "with read %llu failing (EIO) in the first open and "
                     "read-back, which returned: %.380s",
                     (unsigned long long)rf, d);
            env->target->recovery(h, &v->rep);
            env->target->close(h);
            oracle_map_free(m);
            v->opened = 1;
            v->done = 1;
            return 1;
        }
    }
    if (h != NULL)
        env->target->close(h);
    oracle_map_free(m);
    v->verdict = ORACLE_OK;
    v->recovered = 0;
    v->detail[0] = '\0';
    return 0;
}

/* Keys the verifier looks up one by one before it reads the state back
 * with a scan: a point read descends the B-tree by key comparisons, which
 * a scan from the first key never makes, and comes before the scan has
 * read (and so redone) every page. */
#define TRIAL_LOOKUPS 8

typedef struct trial_lookup {
    uint8_t key[CL_KEY_MAX];
    uint32_t klen;
    int rc;        /* 0, CL_ENOTFOUND or the error of the lookup */
    size_t vlen;   /* found: the value's length */
    uint64_t vh;   /* and its hash */
    int damage;    /* failed: on a damaged page (trial_is_page_damage) */
    char why[160]; /* failed: target_errdetail() */
} trial_lookup;

/* Look up TRIAL_LOOKUPS keys of the first hi transactions of s's
 * workload, drawn from the trial seed, in h; their answers in out.
 * Returns how many were looked up (0 for a target without point reads,
 * or before any transaction), or -1 (out of memory). */
static int trial_lookups(const trial_env *env, const trial_spec *s, void *h,
                         uint32_t hi, trial_lookup *out)
{
    rng r;
    wl_txn t;
    int n = 0;

    if (env->target->get == NULL || hi == 0 || s->prof == NULL)
        return 0;
    if (wl_txn_init(&t) != 0)
        return -1;
    rng_seed(&r, rng_mix(s->seed ^ 0x100C0B1Cull));
    for (; n < TRIAL_LOOKUPS; n++) {
        trial_lookup *l = &out[n];
        const wl_op *op;
        void *val = NULL;

        l->damage = 0;
        l->why[0] = '\0';
        wl_gen(&s->prof->wl, (uint32_t)rng_below(&r, hi), &t);
        op = &t.ops[rng_below(&r, t.nops)];
        l->klen = op->klen < CL_KEY_MAX ? op->klen : CL_KEY_MAX;
        memcpy(l->key, op->key, l->klen);
        l->rc = env->target->get(h, l->key, l->klen, &val, &l->vlen);
        if (l->rc == 0)
            l->vh = rng_hash(val, l->vlen, 0);
        /* what the error says, before a later call clears it */
        if (l->rc != 0 && l->rc != CL_ENOTFOUND) {
            l->damage = trial_is_page_damage();
            snprintf(l->why, sizeof(l->why), "%s", target_errdetail());
        }
        free(val);
    }
    wl_txn_free(&t);
    return n;
}

/* Judge the n lookups of l against m, the state the scan read back and
 * the oracle found right: the same keys, the same values.  Sets v's
 * verdict and detail on the first that differs. */
static void trial_lookups_judge(const trial_spec *s, const trial_lookup *l,
                                int n, const oracle_map *m, trial_verdict *v)
{
    for (int i = 0; i < n; i++) {
        size_t vl = 0;
        const uint8_t *sv = oracle_map_get(m, l[i].key, l[i].klen, &vl);
        char key[64];
        size_t k;

        if (l[i].rc == 0 && sv != NULL && vl == l[i].vlen &&
            rng_hash(sv, vl, 0) == l[i].vh)
            continue;
        if (l[i].rc == CL_ENOTFOUND && sv == NULL)
            continue;
        for (k = 0; k < l[i].klen && k < sizeof(key) - 1; k++)
            key[k] = l[i].key[k] >= 0x20 && l[i].key[k] < 0x7f
                         ? (char)l[i].key[k]
                         : '.';
        key[k] = '\0';
        if (l[i].rc != 0 && l[i].rc != CL_ENOTFOUND) {
            v->verdict =
                (l[i].rc == CL_ECORRUPT && trial_detect_ok(s) && l[i].damage)
                    ? ORACLE_DETECTED
                    : ORACLE_RECOVERY;
            snprintf(v->detail, sizeof(v->detail),
                     "looking up key %s before reading back failed: %s: "
                     "%s (the scan read the state back)",
                     key, cl_strerror(l[i].rc), l[i].why);
            return;
        }
        v->verdict = ORACLE_STRUCTURE;
        if (l[i].rc == CL_ENOTFOUND)
            snprintf(v->detail, sizeof(v->detail),
                     "a lookup of key %s found nothing, but the scan read "
                     "back %zu bytes for it",
                     key, vl);
        else if (sv == NULL)
            snprintf(v->detail, sizeof(v->detail),
                     "a lookup of key %s found %zu bytes, but the scan read "
                     "back no such key",
                     key, l[i].vlen);
        else
            snprintf(v->detail, sizeof(v->detail),
                     "a lookup of key %s found a value of %zu bytes, the scan "
                     "another of %zu",
                     key, l[i].vlen, vl);
        return;
    }
}

/* The verifier's file system in memory (memfs.h), made at its first
 * crash state and kept for the next.  What a verification writes there
 * never reaches the directory, so a state whose directory is read again
 * afterwards is verified on disk: the kept images of --keep-failures
 * (taken from it after the verifier answered, its close included) and
 * the repair of a target that has one (on a copy of it). */
static memfs *trial_vfs;

/* The largest crash state it takes, in bytes of its files, and the
 * largest file a verification may make in it (EFBIG). */
#define TRIAL_VFS_MAX ((uint64_t)64 << 20)
#define TRIAL_VFS_FILE_MAX ((uint64_t)1 << 30)

static void *trial_verify_in(trial_env *env, const trial_spec *s,
                             const char *dir, uint32_t lo, uint32_t claimed,
                             uint32_t hi, uint32_t skip,
                             const trial_open_how *how, crashio **cio)
{
    trial_verdict *v = env->shm->ver;
    cl_options o = s->prof->eng;
    oracle_prefix local;
    const oracle_prefix *pre = &s->prof->prefix;
    wl_params wl = s->prof->wl; /* with the chain's links so far */
    oracle_map *m = NULL;
    char msg[400];
    uint64_t t0, rf;
    void *h = NULL;
    trial_lookup look[TRIAL_LOOKUPS];
    int rc, have_pre = 0, nlook = 0;

    memset(&local, 0, sizeof(local));
    o.io = cl_io_posix();
    if (!env->target->interposed && env->keep_dir == NULL &&
        env->target->repair == NULL) {
        /* the state as the crash left it, in memory: every session of
         * its verification runs there, without a system call, and so
         * does a sampling run, under its crash core (a state too large
         * for it stays on disk) */
        int rc2 = trial_vfs == NULL &&
                          (trial_vfs = memfs_new(TRIAL_VFS_FILE_MAX)) == NULL
                      ? ENOMEM
                      : memfs_load(trial_vfs, dir, TRIAL_VFS_MAX);
        if (rc2 == 0) {
            o.io = memfs_table(trial_vfs);
        } else if (rc2 != EFBIG) {
            snprintf(v->detail, sizeof(v->detail),
                     "reading the crash state into memory: %s", strerror(rc2));
            v->setup_failed = 1;
            return NULL;
        }
    }
    if (how != NULL && env->target->interposed) {
        /* its recovery's calls reach the crash core through the libc
         * interposer (stopped once the state is done: trial_vserve.c) */
        if (trial_interpose(env, dir, how->cc) != 0) {
            v->setup_failed = 1;
            return NULL;
        }
    } else if (how != NULL) {
        crashio_config cc = *how->cc;
        crashio *c = NULL;
        if (o.io != cl_io_posix()) {
            /* in memory too: its shadow log up to the state it keeps
             * is all that reaches the disk (trial_sample_save) */
            cc.inner = o.io;
            cc.shadow_hold = 1;
            how->sampler->vfs = trial_vfs;
        }
        if (crashio_new(&cc, &c) != 0) {
            v->setup_failed = 1;
            return NULL;
        }
        how->sampler->cio = c;
        if (cio != NULL)
            *cio = c;
        o.io = crashio_table(c);
    }
    o.create_salt = s->prof->salt;
    /* The handle's close (the probe's, a chain's restart) leaves the log
     * as a crash would, without the checkpoint a close makes: the open
     * after it is a second recovery of the same log. */
    o.no_close_checkpoint = 1;
    if (how == NULL && (rf = trial_read_fault(env, s)) != 0) {
        if (trial_prefix_of(s, skip, &wl, &local, &pre) != 0) {
            v->setup_failed = 1;
            return NULL;
        }
        have_pre = 1;
        if (trial_read_fault_session(env, s, dir, o, rf, lo, claimed, hi, skip,
                                     &wl, pre, v))
            goto out;
    }
    t0 = clk_now_us();
    rc = env->target->open(dir, &o, &h);
    v->open_us = clk_now_us() - t0;
    if (how != NULL && !how->resume) {
        atomic_store(&how->sampler->sampling, 0);
        /* in memory, the sample goes to disk now: what the process does
         * after the open (or a death there) is not the sampled state's */
        if (how->sampler->vfs != NULL)
            trial_sample_save(how->sampler);
    }
    if (rc != 0) {
        snprintf(v->detail, sizeof(v->detail), "open failed: %s: %s",
                 cl_strerror(rc), target_errdetail());
        util_strip_dir(v->detail, dir);
        v->verdict = rc == CL_ECORRUPT &&
                             ((trial_detect_ok(s) && trial_is_page_damage()) ||
                              trial_create_refusal_ok(s, hi))
                         ? ORACLE_DETECTED
                         : ORACLE_RECOVERY;
        /* The verdict is decided: the database, as the crash left it, is
         * unavailable.  What the engine's documented repair salvages from
         * it is a second, separate finding.  A failed open under `how`
         * (a sampled recovery, a chain link) decides the trial too; its
         * crash core is done with, and the repair's calls are not part of
         * the crash model. */
        if (v->verdict == ORACLE_RECOVERY && env->target->repair != NULL) {
            if (how != NULL && env->target->interposed)
                interpose_stop();
            v->repair = (uint8_t)trial_second_stage(env, s, dir, claimed, hi,
                                                    skip, &v->repair_k);
        }
        v->done = 1;
        return NULL;
    }
    v->opened = 1;
    env->target->recovery(h, &v->rep);
    if (how != NULL && !how->full) {
        v->done = 1; /* only the recovery was wanted */
        return h;
    }
    t0 = clk_now_us();
    v->walking = 1;
    if (how == NULL && (nlook = trial_lookups(env, s, h, hi, look)) < 0) {
        v->setup_failed = 1;
        goto out;
    }
    m = oracle_map_new();
    if (m == NULL || (rc = env->target->read_all(h, m)) != 0) {
        snprintf(v->detail, sizeof(v->detail), "reading back failed: %s: %s",
                 cl_strerror(rc), target_errdetail());
        util_strip_dir(v->detail, dir);
        v->verdict =
            (rc == CL_ECORRUPT && trial_detect_ok(s) && trial_is_page_damage())
                ? ORACLE_DETECTED
                : ORACLE_RECOVERY;
        v->done = 1;
        goto out;
    }
    v->read_us = (uint32_t)(clk_now_us() - t0);
    t0 = clk_now_us();
    if (!have_pre && trial_prefix_of(s, skip, &wl, &local, &pre) != 0) {
        v->setup_failed = 1;
        goto out;
    }
    trial_judge(env, s, m, lo, claimed, hi, skip, &wl, pre, v);
    if (v->verdict == ORACLE_OK)
        trial_lookups_judge(s, look, nlook, m, v);

    if (v->verdict == ORACLE_OK &&
        (rc = env->target->check(h, msg, sizeof(msg))) != 0) {
        v->verdict =
            (rc == CL_ECORRUPT && trial_detect_ok(s) && trial_is_page_damage())
                ? ORACLE_DETECTED
                : ORACLE_STRUCTURE;
        snprintf(v->detail, sizeof(v->detail), "check failed: %s: %s",
                 cl_strerror(rc), msg);
    }
    v->check_us = (uint32_t)(clk_now_us() - t0);
    v->walking = 0;
    /* The report again, now that every page was read: a recovery may
     * redo a page when it is first read (the engine's does), and what it
     * repaired then counts too. */
    env->target->recovery(h, &v->rep);
    if (v->verdict == ORACLE_OK && how != NULL && how->resume) {
        /* A chain link: the workload goes on from the recovered state.
         * Its transactions before k are that state's: the parent reset
         * their LSNs to 0, so they count as claimed durable (what the
         * engine's recovery makes durable before it returns).  A target
         * that reports no durable position claims nothing, not even
         * what its recovery found: a recovery that reads the page cache
         * of a killed process may sync none of it. */
        if (!target_reports_durable(env->target))
            for (uint32_t i = 0; i < v->recovered; i++)
                env->shm->prog->lsn[i] = UINT64_MAX;
        /* with values of its own from k on: a transaction a recovery
         * dropped that comes back is not the one the link issued */
        if (wl_history_add(&wl.hist, v->recovered) != 0) {
            v->setup_failed = 1;
            goto out;
        }
        /* The chains that restart close the handle that judged the state
         * (leaving the log) and open the database again, so that the
         * workload goes on in a recovery's first moments, before it has
         * read anything (the engine redoes a page when it is first read,
         * and judging read them all).  The reopen is a recovery like the
         * first, sampled with it; its handle closes as the default does. */
        if (trial_chain_restarts(s)) {
            rc = env->target->close(h);
            h = NULL;
            o.no_close_checkpoint = s->prof->eng.no_close_checkpoint;
            if (rc == 0)
                rc = env->target->open(dir, &o, &h);
            if (rc != 0) {
                snprintf(v->detail, sizeof(v->detail),
                         "closed and opened again after the recovery: %s: %s",
                         cl_strerror(rc), target_errdetail());
                util_strip_dir(v->detail, dir);
                v->verdict = ORACLE_RECOVERY;
                h = NULL;
                goto out;
            }
        }
        __atomic_store_n(&env->shm->prog->opened, 1, __ATOMIC_RELEASE);
        trial_txns(env, &wl, h, v->recovered, NULL, NULL);
    }
    /* The probe costs a second recovery: every error trial gets it (the
     * engine has just been through an error), half of the others, by a
     * bit of the trial seed. */
    if (v->verdict == ORACLE_OK && how == NULL &&
        (trial_mode_is_error(s->mode) || (s->seed >> 17) % 2 == 0)) {
        t0 = clk_now_us();
        trial_probe(env, s, dir, o.io, &h, m, v);
        v->probe_us = (uint32_t)(clk_now_us() - t0);
    }
    v->done = 1;
out:
    if (pre == &local)
        oracle_prefix_free(&local);
    oracle_map_free(m);
    return h;
}

void *trial_verify_here(trial_env *env, const trial_spec *s, const char *dir,
                        uint32_t lo, uint32_t claimed, uint32_t hi,
                        uint32_t skip, const trial_open_how *how, crashio **cio)
{
    void *h;

    if (how != NULL) {
        how->sampler->vfs = NULL;
        how->sampler->cio = NULL;
    }
    h = trial_verify_in(env, s, dir, lo, claimed, hi, skip, how, cio);
    /* a sampling run in memory: its sample goes to disk before the
     * answer, which the worker reads it after */
    if (how != NULL && how->sampler->vfs != NULL)
        trial_sample_save(how->sampler);
    return h;
}

/* ---------------------------------------------------------------------- */
/* after a crash: describing it, keeping it                               */
/* ---------------------------------------------------------------------- */

void trial_describe_crash(const trial_spec *s, uint32_t outcome, uint64_t at,
                          uint64_t seen, const crashio_tear_info *t,
                          const char *file, char *out, size_t len)
{
    const trial_profile *pr = s->prof;

    if (outcome == CRASHIO_OUT_TORN) {
        snprintf(out, len,
                 "torn pwrite at point %llu/%llu: %s offset %llu length "
                 "%llu, %u of %u sectors of %u B reached, rest %s",
                 (unsigned long long)at, (unsigned long long)pr->points, file,
                 (unsigned long long)t->off, (unsigned long long)t->len,
                 t->nreached, t->nsectors, t->sector,
                 crashio_fill_name((int)t->fill));
    } else if (outcome == CRASHIO_OUT_KILLED && s->threads > 1) {
        /* the threads' interleaving numbers the points: not the
         * profile's, but the run's (its own, or one it shared) */
        snprintf(out, len,
                 "killed before point %llu of a concurrent run (%u threads)",
                 (unsigned long long)at, s->threads);
    } else if (outcome == CRASHIO_OUT_KILLED && trial_mode_is_error(s->mode)) {
        /* after the fault the run's points are its own: no kind from the
         * profile */
        snprintf(out, len, "killed before point %llu", (unsigned long long)at);
    } else if (outcome == CRASHIO_OUT_KILLED) {
        snprintf(out, len, "killed before point %llu/%llu (%s)",
                 (unsigned long long)at, (unsigned long long)pr->points,
                 at >= 1 && at <= pr->points
                     ? crashio_kind_name(pr->kinds[at - 1])
                     : "?");
    } else if (s->mode == MODE_KILL_TIME) {
        snprintf(out, len, "killed after %llu us, at point %llu/%llu",
                 (unsigned long long)s->delay_us, (unsigned long long)seen,
                 (unsigned long long)pr->points);
    } else if (trial_mode_is_error(s->mode)) {
        snprintf(out, len, "killed after the workload ended (%llu points)",
                 (unsigned long long)seen);
    } else {
        snprintf(out, len, "killed after the last transaction (%llu points)",
                 (unsigned long long)seen);
    }
}

void trial_describe_kill(const trial_env *env, const trial_spec *s, char *out,
                         size_t len)
{
    crashio_shared *sh = env->shm->cio;
    uint32_t outcome = atomic_load(&sh->outcome);
    const crashio_tear_info *t = &sh->tear;
    const char *file = "?";

    if (outcome == CRASHIO_OUT_TORN && t->file > 0 &&
        t->file <= CRASHIO_MAX_NAMES)
        file = sh->names[t->file - 1];
    trial_describe_crash(s, outcome, sh->crash_point, atomic_load(&sh->points),
                         t, file, out, len);
}

/* Keep the images of a violation: crashed (before recovery) and recovered,
 * with a text file describing the trial. */
static void trial_keep(const trial_env *env, const trial_spec *s,
                       const trial_paths *p, const trial_result *res)
{
    char d[4300], f[4400];
    FILE *fp;
    int rc;

    snprintf(d, sizeof(d), "%s/trial-%llu", env->keep_dir,
             (unsigned long long)res->id);
    fs_rmrf(d);
    if (fs_mkdirs(d) != 0) {
        fprintf(stderr, "crashtest: --keep-failures: cannot make %s: %s\n", d,
                strerror(errno));
        return;
    }
    snprintf(f, sizeof(f), "%s/crashed", d);
    if ((rc = fs_copy_tree(p->crashed, f)) == 0) {
        snprintf(f, sizeof(f), "%s/recovered", d);
        rc = fs_copy_tree(p->dir, f);
    }
    if (rc != 0)
        fprintf(stderr, "crashtest: --keep-failures: cannot copy into %s: %s\n",
                f, strerror(rc));
    snprintf(f, sizeof(f), "%s/trial.txt", d);
    fp = fopen(f, "w");
    if (fp == NULL) {
        fprintf(stderr, "crashtest: --keep-failures: cannot write %s: %s\n", f,
                strerror(errno));
        return;
    }
    if (trial_mode_is_server(s->mode)) {
        snprintf(f, sizeof(f), "%s/kvserver.log", d);
        fs_copy_file(p->log, f);
        fprintf(fp,
                "trial %llu seed %016llx\nmode %s\n%u clients, up to %u "
                "SETs each\ncrash point %llu, delay %llu us, I/O points "
                "%llu\ndamage: %s\nSETs sent %u, acknowledged %u, required "
                "durable %u, recovered %u\nverdict: %s\ndetail: %s\n",
                (unsigned long long)res->id, (unsigned long long)res->seed,
                trial_mode_name((trial_mode)res->mode), env->clients, env->sets,
                (unsigned long long)res->crash_point,
                (unsigned long long)res->delay_us,
                (unsigned long long)res->points, res->damage, res->issued,
                res->acked, res->durable, res->recovered,
                oracle_kind_name((oracle_kind)res->verdict), res->detail);
        fclose(fp);
        return;
    }
    if (s->threads > 1) {
        snprintf(f, sizeof(f), "%s/commits.txt", d);
        trial_mt_keep(env, s, f);
        fprintf(fp,
                "%u writer threads committing at once: the replay repeats "
                "this trial's parameters, not its interleaving; commits.txt "
                "holds the commit order and the acknowledgements the verdict "
                "was computed from\n",
                s->threads);
    }
    fprintf(fp,
            "trial %llu seed %016llx\nmode %s\nworkload %s variant %u "
            "(%u transactions)\ncrash point %llu of %llu\ndamage: %s\n"
            "issued %u, acknowledged %u, durable %u, recovered %u\n"
            "verdict: %s\ndetail: %s\n",
            (unsigned long long)res->id, (unsigned long long)res->seed,
            trial_mode_name((trial_mode)res->mode),
            wl_name((wl_kind)res->workload), res->variant, s->prof->wl.txns,
            (unsigned long long)res->crash_point,
            (unsigned long long)res->points, res->damage, res->issued,
            res->acked, res->durable, res->recovered,
            oracle_kind_name((oracle_kind)res->verdict), res->detail);
    fclose(fp);
}

void trial_config_of(const cl_options *eng, const wl_params *wl,
                     trial_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->sync = (uint8_t)eng->sync;
    cfg->torn = (uint8_t)eng->torn;
    cfg->ckpt =
        (uint8_t)(eng->checkpoint_mode != CL_CKPT_DEFAULT ? eng->checkpoint_mode
                                                          : CL_CKPT_INLINE);
    cfg->page_size = eng->page_size;
    cfg->pool_bytes = eng->pool_bytes;
    cfg->checkpoint_bytes = eng->checkpoint_bytes;
    cfg->segment_bytes = eng->segment_bytes;
    if (wl != NULL) {
        cfg->txns = wl->txns;
        cfg->keys = wl->keys ? wl->keys : 1;
        cfg->drain = wl->drain;
    }
}

/* The engine's mechanisms in progress at the I/O point where s's crash
 * state (or its fault) is taken, or at the point before it: the state of a
 * crash in a mechanism or right after it.  0 when the point is not one of
 * the counting run (kill-time). */
static uint32_t trial_reached_at(const trial_spec *s)
{
    const trial_profile *pr = s->prof;
    uint64_t k = s->crash_point;
    uint32_t m = 0;

    if (s->mode == MODE_FSYNC_FAIL || s->mode == MODE_WRITE_FAIL)
        k = s->fail_at;
    else if (trial_mode_is_error(s->mode))
        k = s->fault_point >= 0 ? s->fault_clock + 1 : 0;
    else if (s->mode == MODE_KILL_TIME)
        k = 0;
    if (pr->acts == NULL || k == 0)
        return 0;
    if (k <= pr->points)
        m |= pr->acts[k - 1];
    if (k >= 2 && k - 2 < pr->points)
        m |= pr->acts[k - 2];
    if (pr->close_point != 0 && k > pr->close_point)
        m |= TRIAL_REACH_CLOSE;
    if (pr->dirwin != NULL && k <= pr->points && pr->dirwin[k - 1])
        m |= TRIAL_REACH_DIR_WINDOW;
    return m;
}

void trial_result_start(const trial_spec *s, trial_result *res)
{
    const trial_profile *pr = s->prof;

    memset(res, 0, sizeof(*res));
    res->id = s->id;
    res->seed = s->seed;
    res->mode = (uint8_t)s->mode;
    res->workload = (uint8_t)pr->wl.kind;
    res->variant = (uint8_t)pr->variant;
    res->crash_point = s->crash_point;
    res->points = trial_spec_points(s);
    res->delay_us = s->delay_us;
    trial_config_of(&pr->eng, &pr->wl, &res->cfg);
    res->reached = trial_reached_at(s);
    res->threads = (uint8_t)(s->threads > 1 ? s->threads : 1);
}

void trial_writer_failed(const trial_env *env, int st, int hung,
                         trial_result *res)
{
    char how[64];

    if (trial_refused(env, res->detail, sizeof(res->detail))) {
        res->verdict = ORACLE_KINDS; /* a set-up error, not a verdict */
        return;
    }
    res->verdict = ORACLE_WRITER;
    if (hung)
        snprintf(res->detail, sizeof(res->detail),
                 "the writer did not finish within %u s: killed",
                 TRIAL_TIMEOUT_SECS(env));
    else {
        util_status_text(st, how, sizeof(how));
        snprintf(res->detail, sizeof(res->detail), "writer ended (%s): %s", how,
                 env->shm->prog->errmsg);
    }
    snprintf(res->damage, sizeof(res->damage), "none");
}

void trial_state_done(const trial_env *env, const trial_spec *s,
                      const trial_paths *p, const trial_result *res)
{
    if (env->keep_dir != NULL &&
        (env->keep_all || oracle_is_violation((oracle_kind)res->verdict)))
        trial_keep(env, s, p, res);
    trial_paths_clean_state(p);
}
