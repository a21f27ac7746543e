/*
 * trial_rcrash.c - recovery-crash: the recovery of a crash state is itself
 * crashed, up to recovery_depth times, then the final state is verified
 * (by trial_after_crash) and compared with a clean recovery.  And crash
 * chains: the process that recovers goes on with the workload and is
 * crashed in turn, recovery's points and the resumed commits' alike.
 *
 * A crash of the recovery at its I/O point k leaves, like any crash, the
 * files as they are just before call k.  So one recovery run can both count
 * the points n of a clean recovery and keep the state of a point k drawn
 * uniformly from 1..n, without knowing n in advance: at point k it replaces
 * its copy with probability 1/k (reservoir sampling), which leaves each
 * point with probability 1/n, at the cost of about ln n copies.  A copy
 * is lazy where every change of the files is a call the hook sees (not an
 * interposed target's): its files are linked, and one the run is about to
 * change in place gets a file of its own in the copy first
 * (trial_sample_lazy; fs_lazy in common/fsutil.h).  A run of such a
 * target whose state the verifier process holds in memory (trial.c,
 * memfs.h) runs there, its crash core over the file system in memory: a
 * copy is then one in memory, its shadow log is held in memory as well
 * (crashio_config.shadow_hold), and once the run is over the state it
 * kept, its graveyard and the log up to that state are written where a
 * run on disk leaves them (trial_sample_save), before the verifier
 * answers.
 * Half of the runs of the engine's own trials aim at one of its
 * mechanisms (an interposed target reports none), drawn from those a
 * writer or a recovery can be in (trial_aims), as the first crash does
 * (campaign.c): the reservoir is weighted, point k kept with probability
 * w_k / (w_1 + ... + w_k), where a point in that mechanism or right after
 * one of its points weighs TRIAL_AIM_WEIGHT and any other 1.  A run that
 * reaches the mechanism is then almost always crashed in or right after
 * it (a superblock written and not yet synced, a segment removed, a page
 * written back); one that does not is sampled uniformly.  A chain link
 * may aim instead at the points right after its open, at its first sync
 * call and after its first promised commit, with a power cut
 * (TRIAL_AIM_ACK).  The copy then
 * takes the place of the database: that is the recovery killed at k
 * (and, with a power cut, its shadow log is cut back to its length at k;
 * the image is built under the campaign's power-cut model, --persist, as
 * the first crash's is, so that a pinned model holds for every power cut
 * of the trial).
 * The sampling runs are verifier processes (trial_verify) opening through
 * crashio; the first one also judges what it recovered: the clean
 * reference of the idempotence check.
 *
 * A chain link is the same sampling run with the verifier resuming the
 * workload once it has judged the recovered state (trial_open_how.resume):
 * the reservoir then runs over recovery's points and the resumed
 * transactions' points together, and with the state it keeps it notes the
 * workload's progress (trial_window) at that point.  A link recovered the
 * state after r transactions and went on from transaction r, so the
 * workload's transactions stay one sequence across the chain, with the
 * values of the link from r on (wl_history, in the spec the verifiers
 * judge with: a dropped transaction of an earlier process that comes back
 * differs from the one the link issued).  After the link the window of
 * the final verdict becomes:
 *   promised  the larger of the chain's so far and the link's own (what
 *             any process of the chain was promised must survive);
 *   claimed   likewise;
 *   issued    if the kept state is from after the recovery: the larger of
 *             r and what the link issued (a transaction the link's
 *             recovery did not find may not come back unless the link
 *             issued it again); else unchanged.
 *
 * A kill leaves what the process had not synced in the page cache, where a
 * later power cut can still lose it, whoever wrote it: a recovery and the
 * commits that follow it must make durable what they build on.  So after a
 * kill the next sampling run goes on with the dead process's shadow log
 * and graveyard (crashio_config.shadow_continue), and a power cut of it
 * can drop what the writer, a crashed recovery or an earlier link left
 * unsynced as well as its own writes, unless a sync since covered them.
 * After a power cut the image is what is on disk: the next run starts a
 * log of its own.  A first crash that tore a write starts one too (the
 * torn bytes count as on disk): a batch makes that tear on its copy of
 * the files, where no record of it is kept.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "rng.h"
#include "trial_int.h"
#include "util.h"

/* Which shadow log a sampling run writes: none yet (the run starts its own
 * at rshadow), the writer's (shadow) or a recoveries' own (rshadow), gone
 * on with after a kill. */
enum { TRIAL_LOG_NONE, TRIAL_LOG_WRITER, TRIAL_LOG_OWN };

/* How a sampling run's kept state was crashed: killed only, or killed and
 * power-cut over its own log, or over a log it went on with (which can
 * drop what the processes before it left unsynced). */
enum { TRIAL_CUT_NONE, TRIAL_CUT_OWN, TRIAL_CUT_BACK };

/* The log a first crash of s leaves for the runs that follow it. */
static int trial_log_after(const trial_spec *s)
{
    return s->powerloss || s->action == CRASHIO_TEAR ? TRIAL_LOG_NONE
                                                     : TRIAL_LOG_WRITER;
}

/* The shadow log and graveyard x's run writes. */
static void trial_sampler_log(const trial_sampler *x, const char **shadow,
                              const char **grave)
{
    *shadow = x->writers ? x->p->shadow : x->p->rshadow;
    *grave = x->writers ? x->p->grave : x->p->rgrave;
}

/* The mechanisms a sampling run may aim at, each drawn with the same
 * chance, and the weight of a point in or right after the one aimed at. */
static const uint32_t trial_aims[] = {
    CL_ACT_CKPT_ROLL, CL_ACT_CKPT_FLUSH, CL_ACT_CKPT_SB,    CL_ACT_CKPT_DROP,
    CL_ACT_EVICT,     CL_ACT_SEG_ROLL,   CL_ACT_SEG_REMOVE, CL_ACT_SB_WRITE,
    CL_ACT_SPLIT,     CL_ACT_MERGE,      CL_ACT_OVERFLOW,   CL_ACT_FREE_REUSE,
    CL_ACT_DWB,       CL_ACT_DWB_WRAP,   CL_ACT_RECOVERY,   CL_ACT_CKPT_OPEN,
    CL_ACT_REDO};
#define TRIAL_AIMS (sizeof(trial_aims) / sizeof(trial_aims[0]))
#define TRIAL_AIM_WEIGHT 1024u

/* A chain link's aim at the three points where a recovery that builds on
 * what it has not made durable shows (outside every CL_ACT_* bit): the
 * first point after the open returned (whatever it recovered, it has
 * handed over: our engine reports it durable), its first sync call (what
 * it wrote on top of the recovered state is written, not yet synced: a
 * power cut may keep the new writes and not what recovery changed before
 * them, a cut tail not synced), and the first point after the resumed
 * workload's first commit that the target promised to keep (once
 * something is promised on top of it).  A power cut there takes away
 * what the killed process left unsynced, a directory entry never synced,
 * a cut the recovery did not sync. */
#define TRIAL_AIM_ACK 0x80000000u /* no CL_ACT_* bit */
#define TRIAL_ACK_OPEN 1u
#define TRIAL_ACK_SYNC 2u
#define TRIAL_ACK_PROMISE 4u

/* A sampling run's aim from r: 0 (none) for half of them, else one of
 * trial_aims.  A chain link (link) aims at TRIAL_AIM_ACK instead one time
 * in four, or one in two if it goes on with a killed process's shadow log
 * (cont: a power cut can then take what that process left unsynced). */
static uint32_t trial_aim_draw(rng *r, int link, int cont)
{
    uint64_t x;

    if (link && rng_below(r, cont ? 2 : 4) == 0)
        return TRIAL_AIM_ACK;
    x = rng_below(r, 2 * TRIAL_AIMS);
    return x < TRIAL_AIMS ? 0 : trial_aims[x - TRIAL_AIMS];
}

/* The weight of the point the on_point hook of x is at: TRIAL_AIM_WEIGHT
 * if it is in or right after the mechanism aimed at, or one of the three
 * points of TRIAL_AIM_ACK; else 1. */
static uint64_t trial_aim_weight(trial_sampler *x, const crashio_call *call)
{
    const trial_progress *pg = x->env->shm->prog;
    uint32_t now = 0;

    if (x->aim != TRIAL_AIM_ACK)
        return ((call->act | x->prev_act) & x->aim) ? TRIAL_AIM_WEIGHT : 1;
    if (!__atomic_load_n(&pg->opened, __ATOMIC_ACQUIRE))
        return 1;
    if (!(x->aim_seen & TRIAL_ACK_OPEN))
        now = TRIAL_ACK_OPEN;
    else if (!(x->aim_seen & TRIAL_ACK_SYNC) &&
             (call->kind == CRASHIO_FSYNC || call->kind == CRASHIO_FDATASYNC))
        now = TRIAL_ACK_SYNC;
    else if (!(x->aim_seen & TRIAL_ACK_PROMISE) &&
             trial_required(x->env, x->eng, pg) > 0)
        now = TRIAL_ACK_PROMISE;
    x->aim_seen |= now;
    return now != 0 ? TRIAL_AIM_WEIGHT : 1;
}

/* In a verifier process, the state a sampling run in memory keeps. */
static memfs *trial_sample_mem;

/* Keep the database as it is now at x->p->probe: a lazy copy (its files
 * linked until the run changes them: trial_sample_point), or a copy for
 * an interposed target, whose files may change outside the calls the
 * hook sees.  Returns 0 or an errno. */
static int trial_sample_keep(trial_sampler *x)
{
    if (x->vfs != NULL) {
        /* a copy in memory, graveyard and all (trial_sample_save) */
        if (trial_sample_mem == NULL &&
            (trial_sample_mem = memfs_new(UINT64_MAX)) == NULL)
            return ENOMEM;
        return memfs_copy(trial_sample_mem, x->vfs);
    }
    fs_rmrf(x->p->probe);
    if (x->env->target->interposed)
        return fs_copy_tree(x->p->dir, x->p->probe);
    if (x->lazy == NULL && (x->lazy = fs_lazy_new()) == NULL)
        return ENOMEM;
    return fs_lazy_take(x->lazy, x->p->dir, x->p->probe);
}

/* Before call: a file it changes in place gets out of the lazy copy
 * first; names it changes make the descriptors' tags stale. */
static int trial_sample_lazy(trial_sampler *x, const crashio_call *call)
{
    if (x->lazy == NULL)
        return 0;
    switch (call->kind) {
    case CRASHIO_PWRITE:
    case CRASHIO_FTRUNCATE:
        return fs_lazy_write(x->lazy, call->fd, call->file);
    case CRASHIO_RENAME:
    case CRASHIO_UNLINK:
    case CRASHIO_CREATE:
        fs_lazy_moved(x->lazy);
        return 0;
    default:
        return 0;
    }
}

void trial_sample_end(trial_sampler *x)
{
    fs_lazy_free(x->lazy);
    x->lazy = NULL;
}

/* The reservoir keeps the state before call: the database, and with the
 * run's shadow log its graveyard and length, and the workload's window. */
static void trial_sample_take(trial_sampler *x, const crashio_call *call,
                              uint32_t act)
{
    trial_verdict *v = x->env->shm->ver;
    int rc;

    v->sampled = 0;
    x->kept = 0;
    rc = trial_sample_keep(x);
    if (rc == 0 && x->logs) {
        const char *shadow, *grave;
        struct stat st;
        trial_sampler_log(x, &shadow, &grave);
        if (x->vfs == NULL) {
            fs_rmrf(x->p->pgrave);
            rc = x->lazy != NULL ? fs_lazy_add(x->lazy, grave, x->p->pgrave)
                                 : fs_share_tree(grave, x->p->pgrave);
        }
        v->shadow_len = x->cio != NULL           ? crashio_shadow_length(x->cio)
                        : stat(shadow, &st) == 0 ? (uint64_t)st.st_size
                                                 : 0;
    }
    if (rc != 0) {
        v->sample_error = rc;
        return;
    }
    v->sample_point = call->k;
    v->sample_act = act;
    v->s_resumed =
        (int)__atomic_load_n(&x->env->shm->prog->opened, __ATOMIC_ACQUIRE);
    trial_window(x->env, x->eng, x->env->shm->prog, &v->s_issued, &v->s_acked,
                 &v->s_required, &v->s_claimed, &v->s_synced);
    /* in memory: sampled once saved */
    x->kept = x->vfs != NULL;
    v->sampled = x->vfs == NULL;
}

void trial_sample_save(trial_sampler *x)
{
    trial_verdict *v = x->env->shm->ver;
    const char *shadow, *grave;
    struct stat st;
    int rc;

    /* a sample the engine's own thread is taking is complete once the
     * hook is stopped, and no other comes */
    atomic_store(&x->sampling, 0);
    crashio_stop_hook(x->cio);
    if (!x->kept)
        return;
    x->kept = 0;
    fs_rmrf(x->p->probe);
    rc = memfs_store_at(trial_sample_mem, x->p->dir, x->p->probe);
    if (rc == 0 && x->logs) {
        /* the shadow log up to the sample, the graveyard on disk, which
         * the run left alone, and what the run had moved to it in memory
         * by then */
        rc = crashio_shadow_flush(x->cio, v->shadow_len);
        trial_sampler_log(x, &shadow, &grave);
        fs_rmrf(x->p->pgrave);
        if (rc == 0 && stat(grave, &st) == 0)
            rc = fs_share_tree(grave, x->p->pgrave);
        if (rc == 0)
            rc = memfs_store_at(trial_sample_mem, grave, x->p->pgrave);
    }
    memfs_reset(trial_sample_mem); /* its memory for the next state */
    if (rc == 0)
        v->sampled = 1;
    else if (v->sample_error == 0)
        v->sample_error = rc;
}

/* The on_point hook of a sampling recovery (in its process): one step of
 * the reservoir, while the open runs; and at every call, the lazy copy's
 * part. */
static void trial_sample_point(void *ctx, const crashio_call *call)
{
    trial_sampler *x = ctx;
    trial_verdict *v = x->env->shm->ver;
    uint64_t w;
    int rc;

    if (atomic_load(&x->sampling)) {
        uint32_t act = call->act | x->prev_act;
        w = trial_aim_weight(x, call);
        v->seen = call->k;
        x->prev_act = call->act;
        if (rng_reservoir(&x->r, &x->weight, w))
            trial_sample_take(x, call, act);
    }
    if ((rc = trial_sample_lazy(x, call)) != 0 && v->sample_error == 0)
        v->sample_error = rc;
}

/* Put the sampled copy in place of the database (and x's graveyard and
 * shadow log as they were then).  Returns 0 or an errno. */
static int trial_sample_restore(const trial_sampler *x, uint64_t shadow_len)
{
    const trial_paths *p = x->p;
    const char *shadow, *grave;

    fs_rmrf(p->dir);
    if (rename(p->probe, p->dir) != 0 && errno != ENOENT)
        return errno;
    if (x->logs) {
        trial_sampler_log(x, &shadow, &grave);
        fs_rmrf(grave);
        if (rename(p->pgrave, grave) != 0 && errno != ENOENT)
            return errno;
        if (truncate(shadow, (off_t)shadow_len) != 0)
            return errno;
    }
    return 0;
}

/* One sampling run of d-th recovery (resume: a chain link, judged against
 * res's window) from r: it recovers p->dir through crashio, judges (d == 0
 * or a link), and the state it kept takes the place of the database, with
 * a power cut or not (drawn).  *log: the shadow log it goes on with, and
 * then the one it leaves (more: another run may follow, which needs it).
 * OUT: *got the run's verdict; *cut how its kept state was crashed
 * (TRIAL_CUT_*).  Returns 0 (a
 * crash taken: damage appended), 2 (the run made no I/O: nothing to
 * crash, or no power-cut image could be built: the kill's state stays and
 * the crashes stop there), 1 (the run's verdict decides the trial: a clean
 * recovery failed, or a link judged a violation; res holds it) or -1 (harness
 * failure). */
static int trial_sample_run(trial_env *env, const trial_spec *s,
                            const trial_paths *p, trial_result *res, rng *r,
                            uint32_t d, int resume, int more, int *log,
                            trial_result *got, int *cut)
{
    trial_verdict *v = env->shm->ver;
    char *damage = res->damage;
    size_t dlen = sizeof(res->damage), used = strlen(damage);
    trial_sampler x;
    trial_open_how how = {NULL, &x, d == 0 || resume, resume};
    crashio_config cc;
    plimg_config pc = {0};
    const char *shadow = NULL, *grave = NULL;
    int power, rc;

    *cut = TRIAL_CUT_NONE;
    memset(&x, 0, sizeof(x));
    x.env = env;
    x.eng = &s->prof->eng;
    x.p = p;
    power = (int)rng_below(r, 2);
    x.writers = *log == TRIAL_LOG_WRITER;
    rng_seed(&x.r, rng_next(r));
    /* an interposed target reports no mechanism: nothing to aim at */
    x.aim = env->target->interposed
                ? 0
                : trial_aim_draw(r, resume, *log != TRIAL_LOG_NONE);
    if (x.aim == TRIAL_AIM_ACK)
        power = 1; /* a kill there shows nothing a kill elsewhere does not */
    x.logs = power || more;
    atomic_init(&x.sampling, 1);
    pc.model = env->persist;
    pc.fs = env->fs;
    pc.sector = env->sector;
    pc.seed = rng_next(r);
    fs_rmrf(p->probe);
    fs_rmrf(p->pgrave);
    if (*log == TRIAL_LOG_NONE) {
        fs_rmrf(p->rshadow);
        fs_rmrf(p->rgrave);
    }
    trial_sampler_log(&x, &shadow, &grave);
    memset(&cc, 0, sizeof(cc));
    cc.inner = cl_io_posix();
    cc.shared = env->shm->cio;
    cc.root = p->dir;
    if (x.logs) {
        cc.shadow_path = shadow;
        cc.graveyard_dir = grave;
        cc.shadow_continue = *log != TRIAL_LOG_NONE;
    }
    cc.on_point = trial_sample_point;
    cc.on_point_ctx = &x;
    how.cc = &cc;
    crashio_shared_init(env->shm->cio, 0);
    if (resume) /* the link publishes its progress afresh */
        memset(env->shm->prog, 0, env->shm->prog_size);
    memset(got, 0, sizeof(*got));
    got->claimed = res->claimed;
    if (trial_verify(env, s, p->dir, res->durable, res->issued, &how, got) !=
            0 ||
        v->sample_error != 0) {
        snprintf(res->detail, sizeof(res->detail),
                 "sampling recovery %u failed: %.400s", d + 1,
                 v->sample_error ? strerror(v->sample_error) : got->detail);
        return -1;
    }
    if (!v->opened || (resume && got->verdict != ORACLE_OK)) {
        res->verdict = got->verdict;
        res->recovered = got->recovered;
        res->repair = got->repair;
        res->repair_k = got->repair_k;
        res->recovery_us = got->recovery_us;
        snprintf(res->detail, sizeof(res->detail), "%s", got->detail);
        return 1;
    }
    if (!v->sampled)
        return 2; /* the run made no I/O: nothing to crash */
    /* the mechanisms this crash came in or right after count as reached */
    res->reached |= v->sample_act & TRIAL_REACH_SAMPLED;
    if ((rc = trial_sample_restore(&x, v->shadow_len)) != 0) {
        snprintf(res->detail, sizeof(res->detail),
                 "restoring the sampled state: %s", strerror(rc));
        return -1;
    }
    if (resume)
        snprintf(damage + used, dlen - used,
                 "; link %u recovered %u, went on: killed at %llu/%llu "
                 "(%s, issued %u, acknowledged %u)",
                 d + 1, v->recovered, (unsigned long long)v->sample_point,
                 (unsigned long long)v->seen,
                 v->s_resumed ? "resumed" : "in recovery", v->s_issued,
                 v->s_acked);
    else
        snprintf(damage + used, dlen - used,
                 "; recovery %u killed at %llu/%llu", d + 1,
                 (unsigned long long)v->sample_point,
                 (unsigned long long)v->seen);
    *log = !x.logs     ? TRIAL_LOG_NONE
           : x.writers ? TRIAL_LOG_WRITER
                       : TRIAL_LOG_OWN;
    if (power) {
        plimg_summary sum;
        used = strlen(damage);
        if (plimg_apply(p->dir, shadow, &pc, &sum) != 0) {
            snprintf(damage + used, dlen - used, " (image failed: %s)",
                     sum.error);
            return 2; /* the state as the kill left it: go no further */
        }
        snprintf(damage + used, dlen - used, " + power cut%s%s%s%s",
                 cc.shadow_continue ? " (of what the killed ones left too)"
                                    : "",
                 sum.reorders ? " (writes kept over a cut that was not)" : "",
                 pc.fs != PLIMG_FS_POSIX_STRICT ? " under " : "",
                 pc.fs != PLIMG_FS_POSIX_STRICT ? plimg_fs_name(pc.fs) : "");
        *log = TRIAL_LOG_NONE;
        *cut = cc.shadow_continue ? TRIAL_CUT_BACK : TRIAL_CUT_OWN;
    }
    return 0;
}

int trial_crash_recovery(trial_env *env, const trial_spec *s,
                         const trial_paths *p, trial_result *res,
                         trial_result *ref, int *same)
{
    int log = trial_log_after(s), cut;
    rng r;

    rng_seed(&r, s->rec_seed);
    *same = 1;
    for (uint32_t d = 0; d < env->recovery_depth; d++) {
        trial_result got;
        int rc =
            trial_sample_run(env, s, p, res, &r, d, 0,
                             d + 1 < env->recovery_depth, &log, &got, &cut);
        if (rc == 1 || rc < 0)
            return rc;
        if (d == 0)
            *ref = got;
        if (cut == TRIAL_CUT_BACK)
            *same = 0;
        if (rc == 2)
            break;
        res->rec_crashes++;
        res->reached |= CL_ACT_RECOVERY; /* crashed in recovery's own I/O */
    }
    return 0;
}

#define TRIAL_CHAIN_MAX 3 /* links of a chain, at most */

int trial_chain(trial_env *env, trial_spec *s, const trial_paths *p,
                trial_result *res, trial_chain_loss *loss)
{
    const trial_verdict *v = env->shm->ver;
    oracle_window w = {res->durable, res->claimed, res->issued};
    /* what a power cut keeps of every process so far: the writer's */
    uint32_t depth, kept = trial_promised_cut(env, s, res->acked, res->synced);
    int log = trial_log_after(s), cut;
    rng r;

    rng_seed(&r, s->rec_seed);
    depth = 1 + (uint32_t)rng_below(&r, TRIAL_CHAIN_MAX);
    for (uint32_t d = 0; d < depth; d++) {
        trial_result got;
        int rc = trial_sample_run(env, s, p, res, &r, d, 1, d + 1 < depth, &log,
                                  &got, &cut);
        if (rc == 1 || rc < 0)
            return rc;
        if (rc == 2)
            break;
        res->links++;
        /* The link judged what it recovered against w.lo: fewer than
         * nominal is a loss that only the power cuts before it allowed. */
        if (v->recovered < loss->nominal)
            loss->lost = 1;
        oracle_chain_add(&w, v->recovered, v->s_resumed, v->s_required,
                         v->s_claimed, v->s_issued);
        if (v->s_resumed) {
            /* the state holds the link's values from where it went on */
            if (wl_history_add(&s->hist, v->recovered) != 0) {
                snprintf(res->detail, sizeof(res->detail),
                         "a chain of more than %d links", WL_MAX_GENS);
                return -1;
            }
            uint32_t k = trial_promised_cut(env, s, v->s_acked, v->s_synced);
            if (k > kept)
                kept = k;
            if (v->s_required > loss->nominal)
                loss->nominal = v->s_required;
        }
        /* A power cut of the link can drop what every process since the
         * last power cut left unsynced (it went on with their shadow log
         * after each kill): of all their acknowledgements only what the
         * promise keeps through a power cut must survive.  For a promise
         * that a power cut does not weaken (ack, sync) kept is w.lo. */
        if (cut != TRIAL_CUT_NONE && kept < w.lo) {
            w.lo = kept;
            loss->lowered = 1;
        }
        res->durable = w.lo;
        res->claimed = w.claimed;
        res->issued = w.hi;
        if (v->s_acked > res->acked)
            res->acked = v->s_acked;
    }
    return 0;
}
