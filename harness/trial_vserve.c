/*
 * trial_vserve.c - where a crash state is verified: in a verifier process
 * that each worker forks once and sends crash state after crash state.
 * The recoveries that sample their own crash states (recovery-crash) and
 * the chain links that go on with the workload (trial_open_how) run there
 * too.
 *
 * A verifier process runs trial_verify_here (trial.c) on the database the
 * worker names, answers, closes the target's handle (a sampling run's
 * after it has stopped sampling: the close is no state of the run's) and
 * waits for the next.  A fresh process per crash state cost more than the
 * recovery it verified: the fork, and the page faults of an address space that
 * touches every page of the engine's buffers for the first time (docs/
 * PERFORMANCE.md).  What a fresh process gave is kept where it matters:
 *   - the verdict never depends on the process: one that dies while it
 *     verifies is reported as the recovering process's death, as before,
 *     and replaced;
 *   - a recovery that went wrong cannot leave anything behind for the next
 *     trial: the process ends after a violation (not after detected
 *     corruption or an expected loss: the target's documented answers
 *     to the state, a refused open or a prefix that a power cut may
 *     leave), after a failed close, after TRIAL_VSERVE_MAX
 *     crash states and once its heap has grown by TRIAL_VSERVE_HEAP_MAX,
 *     and the worker waits for its end before it reuses the database's
 *     path;
 *   - a process forked before the campaign's profiles changed (a shrink
 *     builds new ones) is replaced, since it would not have them.
 * crashtest --fresh-verifier (trial_env.fresh_verifier) forks a process per
 * crash state instead, for comparison and for targets that do not free
 * what they hold.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clk.h"
#include "interpose.h"
#include "mapkeep.h"
#include "trial_int.h"
#include "util.h"

/* A heap grown past TRIAL_VSERVE_HEAP_MAX (a target that does not free
 * what it holds) ends the process after its state. */
#define TRIAL_VSERVE_HEAP_MAX ((uintptr_t)256 << 20)

/* The verifier process: verify each request, answer 'k' (verified, goes
 * on) or 'x' (verified, ends now), until the worker closes its end. */
static void trial_vserve_loop(trial_env *env, int fd)
{
    trial_vreq *q = env->shm->vreq;
    trial_verdict *v = env->shm->ver;
    uint32_t served = 0;
    uintptr_t heap0 = (uintptr_t)sbrk(0);
    char c;

    util_child_signals();
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    /* this process forks nothing, and a page given back is a page fault
     * for the next state's recovery */
    mapkeep_heap();
    for (;;) {
        ssize_t n;
        void *h;
        int keep;

        while ((n = recv(fd, &c, 1, 0)) < 0 && errno == EINTR)
            ;
        if (n != 1)
            _exit(0);
        crashio *cio = NULL;
        q->x.env = env;
        h = trial_verify_here(env, &q->s, q->dir, q->lo, q->claimed, q->hi,
                              q->skip, q->has_how ? &q->how : NULL, &cio);
        /* a sampling run's close is not one of the states it samples */
        if (q->has_how)
            atomic_store(&q->x.sampling, 0);
        keep = v->done && !v->setup_failed &&
               !oracle_is_violation(v->verdict) &&
               ++served < TRIAL_VSERVE_MAX &&
               (uintptr_t)sbrk(0) - heap0 < TRIAL_VSERVE_HEAP_MAX;
        if (keep && h != NULL && env->target->close(h) != 0)
            keep = 0;
        if (keep) {
            crashio_free(cio);
            if (q->has_how && env->target->interposed)
                interpose_stop();
            if (q->has_how)
                trial_sample_end(&q->x);
        }
        c = keep ? 'k' : 'x';
        if (send(fd, &c, 1, MSG_NOSIGNAL) != 1 || !keep)
            _exit(v->setup_failed ? 20 : 0);
    }
}

static int trial_vserve_start(trial_env *env)
{
    trial_shm *m = env->shm;
    int sv[2];
    pid_t pid;

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return -1;
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        int e = errno;
        close(sv[0]);
        close(sv[1]);
        errno = e;
        return -1;
    }
    if (pid == 0) {
        close(sv[0]);
        util_name_process("ct-verifier");
        trial_vserve_loop(env, sv[1]);
    }
    close(sv[1]);
    m->vpid = pid;
    m->vfd = sv[0];
    m->vepoch = trial_profile_epoch;
    return 0;
}

/* Wait for the verifier process's end; its wait status. */
static int trial_vserve_reap(trial_shm *m)
{
    int st = util_wait(m->vpid);

    close(m->vfd);
    m->vfd = -1;
    m->vpid = 0;
    return st;
}

void trial_vserve_stop(trial_env *env)
{
    trial_shm *m = env->shm;

    if (m == NULL || m->vpid == 0)
        return;
    kill(m->vpid, SIGKILL);
    trial_vserve_reap(m);
}

/* Copy how (its crashio configuration, sampler and the sampler's paths)
 * into q, pointing at the copies.  A sampling run (trial_rcrash.c) roots
 * crashio at the sampler's database and keeps its shadow log and
 * graveyard at the sampler's shadow and grave (trial_sampler.writers) or
 * rshadow and rgrave, which is all the configuration's paths can be. */
static void trial_vserve_how(trial_vreq *q, const trial_open_how *how)
{
    const trial_paths *p = how->sampler->p;
    const crashio_config *cc = how->cc;

    q->has_how = 1;
    q->how = *how;
    q->cc = *cc;
    q->x = *how->sampler;
    q->p = *p;
    q->x.p = &q->p;
    q->how.cc = &q->cc;
    q->how.sampler = &q->x;
    q->cc.on_point_ctx = &q->x;
    q->cc.root = q->p.dir;
    q->cc.shadow_path = cc->shadow_path == NULL ? NULL
                        : q->x.writers          ? q->p.shadow
                                                : q->p.rshadow;
    q->cc.graveyard_dir = cc->graveyard_dir == NULL ? NULL
                          : q->x.writers            ? q->p.grave
                                                    : q->p.rgrave;
}

/* Whether the verifier process answers on fd (or ends) within us
 * microseconds. */
static int trial_vserve_answers(int fd, uint64_t us)
{
    uint64_t full = us, end = clk_now_us() + us, now;
    unsigned long conts = util_continues();
    struct pollfd p = {.fd = fd, .events = POLLIN};

    for (;;) {
        int n = poll(&p, 1, (int)((us + 999) / 1000));
        if (n > 0 || (n < 0 && errno != EINTR))
            return 1;
        if ((now = clk_now_us()) >= end) {
            if (!util_continued(&conts))
                return 0;
            end = now + full; /* stopped and continued meanwhile */
        }
        us = end - now;
    }
}

/* Have the verifier process verify; *st: its wait status if it ended;
 * *hung: 1 if it ran past the trial's time limit and was killed.
 * Returns 0, or -1 if no verifier process could be started. */
static int trial_vserve_ask(trial_env *env, const trial_spec *s,
                            const char *dir, uint32_t lo, uint32_t claimed,
                            uint32_t hi, uint32_t skip,
                            const trial_open_how *how, int *st, int *hung)
{
    trial_shm *m = env->shm;
    trial_vreq *q = m->vreq;
    ssize_t n;
    char c = 'v';

    *st = 0;
    if (strlen(dir) >= sizeof(q->dir)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if (m->vpid != 0 && m->vepoch != trial_profile_epoch)
        trial_vserve_stop(env);
    if (m->vpid == 0 && trial_vserve_start(env) != 0)
        return -1;
    q->s = *s;
    q->lo = lo;
    q->claimed = claimed;
    q->hi = hi;
    q->skip = skip;
    snprintf(q->dir, sizeof(q->dir), "%s", dir);
    q->has_how = 0;
    if (how != NULL)
        trial_vserve_how(q, how);
    if (send(m->vfd, &c, 1, MSG_NOSIGNAL) != 1) {
        /* It ended between two states (killed from outside): that is no
         * state's doing; a new one takes this one. */
        trial_vserve_reap(m);
        if (trial_vserve_start(env) != 0)
            return -1;
        if (send(m->vfd, &c, 1, MSG_NOSIGNAL) != 1) {
            *st = trial_vserve_reap(m);
            return 0;
        }
    }
    if (!trial_vserve_answers(m->vfd, TRIAL_TIMEOUT_US(env))) {
        /* It hangs: killed, and replaced for the next state. */
        *hung = 1;
        trial_vserve_stop(env);
        return 0;
    }
    while ((n = recv(m->vfd, &c, 1, 0)) < 0 && errno == EINTR)
        ;
    /* An answer of 'x', or none (it died): it ends, and nothing of it may
     * touch dir once this returns. */
    if (n != 1 || c != 'k')
        *st = trial_vserve_reap(m);
    return 0;
}

int trial_verify(trial_env *env, const trial_spec *s, const char *dir,
                 uint32_t lo, uint32_t hi, const trial_open_how *how,
                 trial_result *res)
{
    trial_verdict *v = env->shm->ver;
    trial_phases *ph = &res->ph;
    uint32_t skip = res->skipped ? res->skipped - 1 : ORACLE_NO_SKIP;
    uint64_t t0, t1, inner;
    int st = 0, hung = 0;

    memset(v, 0, sizeof(*v));
    t0 = clk_now_us();
    if (env->fresh_verifier) {
        pid_t pid;
        fflush(NULL);
        if ((pid = fork()) < 0) {
            snprintf(res->detail, sizeof(res->detail), "fork: %s",
                     strerror(errno));
            return -1;
        }
        if (pid == 0) {
            util_child_signals();
            /* No close: the process ends here, and its end frees what the
             * database held. */
            trial_verify_here(env, s, dir, lo, res->claimed, hi, skip, how,
                              NULL);
            _exit(v->setup_failed ? 20 : 0);
        }
        hung = util_wait_within(pid, TRIAL_TIMEOUT_US(env), &st);
    } else if (trial_vserve_ask(env, s, dir, lo, res->claimed, hi, skip, how,
                                &st, &hung) != 0) {
        snprintf(res->detail, sizeof(res->detail),
                 "starting the verifier process: %s", strerror(errno));
        return -1;
    }
    /* the verifier's phases may begin before fork returns here */
    t1 = clk_now_us() - t0;
    inner = v->open_us + v->read_us + v->check_us + v->probe_us;
    ph->open += (uint32_t)v->open_us;
    ph->readback += v->read_us;
    ph->check += v->check_us;
    ph->probe += v->probe_us;
    if (t1 > inner)
        ph->process += (uint32_t)(t1 - inner);
    if (v->setup_failed) {
        snprintf(res->detail, sizeof(res->detail), "%s",
                 v->detail[0] ? v->detail : "the verifier could not be set up");
        return -1;
    }
    if (v->rf_at != 0) {
        size_t n = strlen(res->damage);
        snprintf(res->damage + n, sizeof(res->damage) - n,
                 "; then a first open and read-back with read %llu failing "
                 "(EIO): %s",
                 (unsigned long long)v->rf_at,
                 !v->rf_failed                 ? "fewer reads made"
                 : v->rf_step == TRIAL_RF_OPEN ? "the open failed"
                 : v->rf_step == TRIAL_RF_READ ? "the read-back failed"
                                               : "both returned");
        if (v->rf_failed)
            res->reached |= TRIAL_REACH_READ_FAULT;
    }
    if (!v->done) {
        char text[64];
        if (hung)
            snprintf(text, sizeof(text), "ran past %u s: killed",
                     TRIAL_TIMEOUT_SECS(env));
        else
            util_status_text(st, text, sizeof(text));
        res->verdict = ORACLE_RECOVERY;
        snprintf(res->detail, sizeof(res->detail),
                 "the recovering process %s (%s)", hung ? "hung" : "died",
                 text);
        if (v->walking) {
            /* it recovered, then died (or hung) reading the database: a
             * structure an engine without checksums cannot tell from a
             * good one */
            res->verdict = ORACLE_STRUCTURE;
            snprintf(res->detail, sizeof(res->detail),
                     "the verifier %s reading back or checking the "
                     "recovered database (%s)",
                     hung ? "hung" : "died", text);
        }
        if (how != NULL && how->resume && env->shm->prog->error != 0) {
            /* a chain link failed in the workload, not in recovery */
            res->verdict = ORACLE_WRITER;
            snprintf(res->detail, sizeof(res->detail),
                     "the resumed writer ended (%s): %s", text,
                     env->shm->prog->errmsg);
        }
        return 0;
    }
    res->verdict = v->verdict;
    res->recovered = v->recovered;
    res->repair = v->repair;
    res->repair_k = v->repair_k;
    res->recovery_us = v->open_us;
    res->bytes = v->rep.bytes;
    res->records = v->rep.records;
    res->repaired = v->rep.pages_repaired_fpi + v->rep.pages_repaired_dwb;
    res->tail_cut = v->rep.tail_cut;
    if (v->rep.tail_cut)
        res->reached |= TRIAL_REACH_TAIL_CUT;
    if (v->rep.pages_repaired_fpi > 0)
        res->reached |= TRIAL_REACH_FPI_REPAIR;
    if (v->rep.pages_repaired_dwb > 0)
        res->reached |= TRIAL_REACH_DWB_RESTORE;
    snprintf(res->detail, sizeof(res->detail), "%s", v->detail);
    return 0;
}
