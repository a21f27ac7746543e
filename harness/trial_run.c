/*
 * trial_run.c - one crash trial from its steps (trial.c): the writer runs
 * and dies at the trial's crash; then what follows every crash state
 * (trial_after_crash, shared with trial_batch.c): the power-cut image, the
 * crashed recoveries, the verifier and the idempotence check.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "clk.h"
#include "fsutil.h"
#include "trial_int.h"
#include "util.h"

/* A configuration may promise less against a power cut than against a
 * process crash (oracle_promised_after): after one, res->durable is what
 * it promises against it, and loss notes that it was lowered. */
static void trial_cut_promise(const trial_env *env, const trial_spec *s,
                              trial_result *res, trial_chain_loss *loss)
{
    uint32_t pl = trial_promised_cut(env, s, res->acked, res->synced);

    if (pl < res->durable) {
        res->durable = pl;
        loss->lowered = 1;
    }
}

int trial_after_crash(trial_env *env, const trial_spec *s, const trial_paths *p,
                      trial_result *res, uint64_t t1)
{
    trial_result ref;
    trial_spec chain; /* a chain's spec, with the links' values */
    uint64_t t2;
    /* what a process crash must keep (for a chain: of any process) */
    trial_chain_loss loss = {res->durable, 0, 0};
    int decided = 0, same = 1;

    if (s->powerloss) {
        plimg_summary sum;
        char text[200];
        size_t used = strlen(res->damage);
        uint64_t ti = clk_now_us();
        int prc = plimg_apply(p->dir, p->shadow, &s->pl, &sum);
        res->ph.image = (uint32_t)(clk_now_us() - ti);
        if (prc != 0) {
            snprintf(res->detail, sizeof(res->detail),
                     "building the power-loss image failed: %s", sum.error);
            return -1;
        }
        plimg_describe(&sum, text, sizeof(text));
        snprintf(res->damage + used, sizeof(res->damage) - used,
                 "; power cut: %s", text);
        trial_cut_promise(env, s, res, &loss);
    }
    if (env->keep_dir != NULL)
        fs_copy_tree(p->dir, p->crashed);
    memset(&ref, 0, sizeof(ref));
    if (s->mode == MODE_RECOVERY_CRASH &&
        (decided = trial_crash_recovery(env, s, p, res, &ref, &same)) < 0)
        return -1;
    /* a crashed recovery's power cut that went back over what the killed
     * writer left unsynced is a power cut after the writer's commits */
    if (s->mode == MODE_RECOVERY_CRASH && !same)
        trial_cut_promise(env, s, res, &loss);
    if (s->mode == MODE_CHAIN) {
        chain = *s;
        s = &chain;
        if ((decided = trial_chain(env, &chain, p, res, &loss)) < 0)
            return -1;
    }
    t2 = clk_now_us();
    res->us_damage = (uint32_t)(t2 - t1);
    res->ph.chain = res->us_damage - res->ph.image;
    /* What the workload was promised is res->durable (trial_window; for a
     * chain, every link's), the same after a kill and after a power cut:
     * in the error modes too, since a failed sync call never advances it
     * and a commit whose sync failed never returns 0.  What the target
     * claimed durable is checked as well (res->claimed). */
    if (!decided &&
        trial_verify(env, s, p->dir, res->durable, res->issued, NULL, res) != 0)
        return -1; /* res->detail says why */
    /* idempotence: a clean recovery of the same crash image must end in
     * the same state (unless a power cut could take back what the killed
     * writer left unsynced: then only the oracle judges) */
    if (!decided && same && res->verdict == ORACLE_OK && res->rec_crashes > 0 &&
        ref.verdict == ORACLE_OK && ref.recovered != res->recovered) {
        res->verdict = ORACLE_IDEMPOTENCE;
        snprintf(res->detail, sizeof(res->detail),
                 "after %u crashed recoveries the state is that after %u "
                 "transactions; a clean recovery gives %u",
                 res->rec_crashes, res->recovered, ref.recovered);
    }
    if (!decided && trial_mode_is_error(s->mode))
        trial_fault_judge(env, s, res);
    /* Kept a prefix and all it was promised, but lost acknowledged
     * commits that only a process crash would have had to keep (in a
     * chain, at its end or in a recovery of one of its links, even if a
     * later link issued them again): the configuration promises nothing
     * against this crash. */
    if (!decided && loss.lowered && res->verdict == ORACLE_OK &&
        (res->recovered < loss.nominal || loss.lost)) {
        res->verdict = ORACLE_EXPECTED_LOSS;
        snprintf(res->detail, sizeof(res->detail),
                 "recovered the state after %u transactions of %u "
                 "acknowledged%s; the configuration (promise: %s) keeps them "
                 "against a process crash only",
                 res->recovered, res->acked,
                 loss.lost ? " (a link recovered fewer than were then "
                             "acknowledged)"
                           : "",
                 oracle_promise_name(env->target->promise(&s->prof->eng)));
    }
    /* the second stage after a failed open, held to the final promise */
    trial_repair_settle(res);
    res->us_verify = (uint32_t)(clk_now_us() - t2);
    return 0;
}

int trial_writer_ended(trial_env *env, const trial_spec *s,
                       const trial_paths *p, trial_result *res, int st,
                       int hung, uint64_t t1)
{
    int rc = 0;

    res->skipped = env->shm->prog->skipped;
    if (hung || !(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)) {
        trial_writer_failed(env, st, hung, res);
        if (trial_mode_is_error(s->mode))
            trial_fault_describe(env, s, res->damage, sizeof(res->damage));
    } else {
        size_t n = trial_fault_then(env, s, res->damage, sizeof(res->damage));
        trial_describe_kill(env, s, res->damage + n, sizeof(res->damage) - n);
        /* The killed writer's own directory lists its files in the order
         * of its history; a batch's snapshot of the same point is a copy,
         * listed in fs_copy_tree's order.  A recovery that acts on files
         * in listed order (LevelDB deletes obsolete files so) numbers its
         * I/O points by it, and recovery-crash and chain trials crash it
         * at a numbered point: renew the directory so that both paths,
         * and so a trial and its --replay, crash the same call. */
        if ((s->mode == MODE_RECOVERY_CRASH || s->mode == MODE_CHAIN) &&
            (rc = fs_renew_tree(p->dir, p->probe)) != 0) {
            snprintf(res->detail, sizeof(res->detail),
                     "copying the crash state: %s", strerror(rc));
            return -1;
        }
        rc = trial_after_crash(env, s, p, res, t1);
    }
    return rc;
}

/* How trial_kill_time_wait ended. */
enum { TKW_KILL, TKW_ENDED, TKW_HUNG };

/* Whether pid has ended, without reaping it. */
static int trial_ended(pid_t pid)
{
    siginfo_t si;

    memset(&si, 0, sizeof(si));
    return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
           si.si_pid == pid;
}

/* Wait out a kill-time trial's delay, for writer pid: TKW_KILL when it is
 * still there to be killed, TKW_ENDED when it ended before, TKW_HUNG when
 * it ran past the trial's time limit before its first I/O point.  The
 * delay was drawn over the counting run's time after its first I/O point
 * (campaign.c), and a new process's start and open before it vary by more
 * than a short run's rest: the delay runs from the writer's own first
 * point (trial_writer records it, in an interposed target's process too),
 * as if that had come when the counting run's did.  A profile with no
 * first point (its run made no file call) has it from the fork. */
static int trial_kill_time_wait(const trial_env *env, const trial_spec *s,
                                pid_t pid)
{
    const trial_progress *pg = env->shm->prog;
    const struct timespec poll = {0, TRIAL_FIRST_POINT_POLL_US * 1000};
    uint64_t first = s->threads > 1 ? s->prof->mt_first_us : s->prof->first_us;
    uint64_t t0 = clk_now_us(), own, at, now;
    unsigned long conts = util_continues();

    if (first == 0 || first > s->delay_us)
        return util_wait_exit_us(pid, s->delay_us) ? TKW_ENDED : TKW_KILL;
    while ((own = __atomic_load_n(&pg->first_us, __ATOMIC_ACQUIRE)) == 0) {
        if (trial_ended(pid))
            return TKW_ENDED;
        if ((now = clk_now_us()) - t0 >= TRIAL_TIMEOUT_US(env)) {
            if (!util_continued(&conts))
                return TKW_HUNG;
            t0 = now; /* stopped and continued: not the writer's time */
        }
        nanosleep(&poll, NULL);
    }
    at = pg->start_us + own + (s->delay_us - first);
    now = clk_now_us();
    if (at <= now)
        return TKW_KILL;
    return util_wait_exit_us(pid, at - now) ? TKW_ENDED : TKW_KILL;
}

int trial_run(trial_env *env, const trial_spec *s, trial_result *res)
{
    const trial_profile *pr = s->prof;
    trial_paths p;
    crashio_config cc;
    pid_t pid;
    int st, rc = 0, hung, kw;
    uint64_t t0 = clk_now_us(), t1, tf;

    if (trial_mode_is_server(s->mode))
        return trial_server_run(env, s, res);
    trial_result_start(s, res);
    trial_paths_init(env, &p);
    trial_paths_clean(&p);
    trial_progress_reset(env);
    crashio_shared_init(env->shm->cio, 0);

    memset(&cc, 0, sizeof(cc));
    cc.inner = cl_io_posix();
    cc.seed = s->seed;
    cc.root = p.dir;
    cc.shared = env->shm->cio;
    cc.crash_at = trial_spec_crash_at(s);
    cc.crash_action = s->action;
    cc.sector = env->sector;
    cc.fill = s->fill;
    if (s->threads > 1)
        cc.sync_delay_us = TRIAL_MT_SYNC_DELAY_US;
    if (trial_keeps_log(s)) {
        cc.shadow_path = p.shadow;
        cc.graveyard_dir = p.grave;
    }
    if (trial_mode_is_error(s->mode)) {
        trial_fault_config(s, &p, target_is_background(env->target), &cc);
        fiuctl_shared_init(env->shm->fiu, 0);
    }
    fflush(NULL);
    tf = clk_now_us();
    pid = fork();
    if (pid < 0) {
        snprintf(res->detail, sizeof(res->detail), "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0)
        trial_writer(env, pr, p.dir, &cc, 0, NULL, s);
    res->ph.fork = (uint32_t)(clk_now_us() - tf);
    kw = s->mode == MODE_KILL_TIME ? trial_kill_time_wait(env, s, pid)
                                   : TKW_ENDED;
    if (kw != TKW_ENDED)
        kill(pid, SIGKILL);
    if (kw == TKW_HUNG) {
        st = util_wait(pid);
        hung = 1;
    } else {
        hung = util_wait_within(pid, TRIAL_TIMEOUT_US(env), &st);
    }
    t1 = clk_now_us();
    res->us_writer = (uint32_t)(t1 - t0);
    res->ph.writer = res->us_writer - res->ph.fork;
    trial_result_window(env, s, res);
    rc = trial_writer_ended(env, s, &p, res, st, hung, t1);
    tf = clk_now_us();
    if (rc == 0)
        trial_state_done(env, s, &p, res);
    trial_paths_clean(&p);
    res->ph.clean = (uint32_t)(clk_now_us() - tf);
    res->us_total = (uint32_t)(clk_now_us() - t0);
    return rc;
}
