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
 * point with probability 1/n, at the cost of about ln n copies.  The copy
 * then takes the place of the database: that is the recovery killed at k
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
 * workload's transactions stay one sequence across the chain and the
 * oracle's prefix hashes still apply.  After the link the window of the
 * final verdict becomes:
 *   promised  the larger of the chain's so far and the link's own (what
 *             any process of the chain was promised must survive);
 *   claimed   likewise;
 *   issued    if the kept state is from after the recovery: the larger of
 *             r and what the link issued (a transaction the link's
 *             recovery did not find may not come back unless the link
 *             issued it again); else unchanged.
 * The link's shadow log starts with the link: what the writer before it
 * left unsynced after a kill counts as on disk from then on, so a power
 * cut of a link drops only what the link itself wrote since its last
 * sync.
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

/* The on_point hook of a sampling recovery (in its process): one step of
 * the reservoir, while the open runs. */
static void trial_sample_point(void *ctx, const crashio_call *call)
{
    trial_sampler *x = ctx;
    trial_verdict *v = x->env->shm->ver;
    int rc;

    if (!atomic_load(&x->sampling))
        return;
    v->seen = call->k;
    if (rng_below(&x->r, call->k) != 0)
        return;
    v->sampled = 0;
    fs_rmrf(x->p->probe);
    rc = fs_copy_tree(x->p->dir, x->p->probe);
    if (rc == 0 && x->power) {
        struct stat st;
        fs_rmrf(x->p->pgrave);
        rc = fs_copy_tree(x->p->rgrave, x->p->pgrave);
        v->shadow_len =
            stat(x->p->rshadow, &st) == 0 ? (uint64_t)st.st_size : 0;
    }
    if (rc != 0) {
        v->sample_error = rc;
        return;
    }
    v->sample_point = call->k;
    v->s_resumed =
        (int)__atomic_load_n(&x->env->shm->prog->opened, __ATOMIC_ACQUIRE);
    trial_window(x->env, x->eng, x->env->shm->prog, &v->s_issued, &v->s_acked,
                 &v->s_required, &v->s_claimed, NULL);
    v->sampled = 1;
}

/* Put the sampled copy in place of the database (and the recoverers'
 * graveyard and shadow log as they were then).  Returns 0 or an errno. */
static int trial_sample_restore(const trial_paths *p, int power,
                                uint64_t shadow_len)
{
    fs_rmrf(p->dir);
    if (rename(p->probe, p->dir) != 0 && errno != ENOENT)
        return errno;
    if (power) {
        fs_rmrf(p->rgrave);
        if (rename(p->pgrave, p->rgrave) != 0 && errno != ENOENT)
            return errno;
        if (truncate(p->rshadow, (off_t)shadow_len) != 0)
            return errno;
    }
    return 0;
}

/* One sampling run of d-th recovery (resume: a chain link, judged against
 * res's window) from r: it recovers p->dir through crashio, judges (d == 0
 * or a link), and the state it kept takes the place of the database, with
 * a power cut or not (drawn).  OUT: *got the run's verdict.  Returns 0 (a
 * crash taken: damage appended), 2 (the run made no I/O: nothing to
 * crash, or no power-cut image could be built: the kill's state stays and
 * the crashes stop there), 1 (the run's verdict decides the trial: a clean
 * recovery failed, or a link judged a violation; res holds it) or -1 (harness
 * failure). */
static int trial_sample_run(trial_env *env, const trial_spec *s,
                            const trial_paths *p, trial_result *res, rng *r,
                            uint32_t d, int resume, trial_result *got)
{
    trial_verdict *v = env->shm->ver;
    char *damage = res->damage;
    size_t dlen = sizeof(res->damage), used = strlen(damage);
    trial_sampler x;
    trial_open_how how = {NULL, &x, d == 0 || resume, resume};
    crashio_config cc;
    plimg_config pc = {0};
    int rc;

    memset(&x, 0, sizeof(x));
    x.env = env;
    x.eng = &s->prof->eng;
    x.p = p;
    x.power = (int)rng_below(r, 2);
    rng_seed(&x.r, rng_next(r));
    atomic_init(&x.sampling, 1);
    pc.model = env->persist;
    pc.sector = env->sector;
    pc.seed = rng_next(r);
    fs_rmrf(p->probe);
    fs_rmrf(p->pgrave);
    fs_rmrf(p->rshadow);
    fs_rmrf(p->rgrave);
    memset(&cc, 0, sizeof(cc));
    cc.inner = cl_io_posix();
    cc.shared = env->shm->cio;
    cc.root = p->dir;
    if (x.power) {
        cc.shadow_path = p->rshadow;
        cc.graveyard_dir = p->rgrave;
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
                 "sampling recovery %u failed: %s", d + 1,
                 v->sample_error ? strerror(v->sample_error) : "fork");
        return -1;
    }
    if (!v->opened || (resume && got->verdict != ORACLE_OK)) {
        res->verdict = got->verdict;
        res->recovered = got->recovered;
        res->recovery_us = got->recovery_us;
        snprintf(res->detail, sizeof(res->detail), "%s", got->detail);
        return 1;
    }
    if (!v->sampled)
        return 2; /* the run made no I/O: nothing to crash */
    if ((rc = trial_sample_restore(p, x.power, v->shadow_len)) != 0) {
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
    if (x.power) {
        plimg_summary sum;
        used = strlen(damage);
        if (plimg_apply(p->dir, p->rshadow, &pc, &sum) != 0) {
            snprintf(damage + used, dlen - used, " (image failed: %s)",
                     sum.error);
            return 2; /* the state as the kill left it: go no further */
        }
        snprintf(damage + used, dlen - used, " + power cut");
    }
    return 0;
}

int trial_crash_recovery(trial_env *env, const trial_spec *s,
                         const trial_paths *p, trial_result *res,
                         trial_result *ref)
{
    rng r;

    rng_seed(&r, s->rec_seed);
    for (uint32_t d = 0; d < env->recovery_depth; d++) {
        trial_result got;
        int rc = trial_sample_run(env, s, p, res, &r, d, 0, &got);
        if (rc == 1 || rc < 0)
            return rc;
        if (d == 0)
            *ref = got;
        if (rc == 2)
            break;
        res->rec_crashes++;
        res->reached |= CL_ACT_RECOVERY; /* crashed in recovery's own I/O */
    }
    return 0;
}

#define TRIAL_CHAIN_MAX 3 /* links of a chain, at most */

int trial_chain(trial_env *env, const trial_spec *s, const trial_paths *p,
                trial_result *res)
{
    const trial_verdict *v = env->shm->ver;
    oracle_window w = {res->durable, res->claimed, res->issued};
    uint32_t depth;
    rng r;

    rng_seed(&r, s->rec_seed);
    depth = 1 + (uint32_t)rng_below(&r, TRIAL_CHAIN_MAX);
    for (uint32_t d = 0; d < depth; d++) {
        trial_result got;
        int rc = trial_sample_run(env, s, p, res, &r, d, 1, &got);
        if (rc == 1 || rc < 0)
            return rc;
        if (rc == 2)
            break;
        res->links++;
        oracle_chain_add(&w, v->recovered, v->s_resumed, v->s_required,
                         v->s_claimed, v->s_issued);
        res->durable = w.lo;
        res->claimed = w.claimed;
        res->issued = w.hi;
        if (v->s_acked > res->acked)
            res->acked = v->s_acked;
    }
    return 0;
}
