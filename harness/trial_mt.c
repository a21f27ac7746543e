/*
 * trial_mt.c - concurrent writers: several threads commit on one handle at
 * once, so that commits meet in the engine's group commit (a leader's sync
 * covering its followers' records) as they do in a server.
 *
 * Thread t commits transactions t, t + T, t + 2T, ... of the workload (T
 * threads), whose keys are its own (wl_params.threads).  Before each
 * commit it publishes that it started it; after the commit returns, the
 * commit's LSN (the engine's commit order) and then its acknowledgement.
 * All of it lives in the trial's shared memory, so the oracle reads what
 * each thread had been told when the process died (oracle_mt.h).
 *
 * The interleaving of the threads, and so the numbering of I/O points,
 * differs from run to run: a trial's crash point is a count of I/O calls
 * of a run of the variant's threads (one it shares with the variant's
 * other trials, trial_batch.c, or its own), which always lands on some
 * call, but a replay repeats the trial's parameters, not its
 * interleaving.  With --keep-failures the
 * crashed image and the recorded commit order are kept (trial_mt_keep):
 * what the verdict was computed from.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/wait.h>

#include "trial_int.h"
#include "util.h"

typedef struct mt_thread {
    trial_env *env;
    const trial_profile *prof;
    void *h;
    uint32_t t, threads;
    pthread_barrier_t *start;
    pthread_t tid;
} mt_thread;

static pthread_mutex_t mt_fail_mu = PTHREAD_MUTEX_INITIALIZER;

/* A thread's commit or checkpoint failed: report it and end the writer
 * (every thread), as the single-threaded writer does. */
_Noreturn static void mt_fail(trial_progress *pg, int rc, int code,
                              const char *what, uint32_t i)
{
    pthread_mutex_lock(&mt_fail_mu);
    pg->error = rc;
    snprintf(pg->errmsg, sizeof(pg->errmsg), "%s transaction %u: %s: %s", what,
             i, cl_strerror(rc), target_errdetail());
    _exit(code);
}

static void mt_max_u64(uint64_t *p, uint64_t v)
{
    uint64_t cur = __atomic_load_n(p, __ATOMIC_RELAXED);

    while (cur < v && !__atomic_compare_exchange_n(
                          p, &cur, v, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED))
        ;
}

static void mt_max_u32(uint32_t *p, uint32_t v)
{
    uint32_t cur = __atomic_load_n(p, __ATOMIC_RELAXED);

    while (cur < v && !__atomic_compare_exchange_n(
                          p, &cur, v, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED))
        ;
}

static void *mt_thread_main(void *arg)
{
    mt_thread *x = arg;
    trial_progress *pg = x->env->shm->prog;
    const target_ops *tg = x->env->target;
    wl_txn t;

    if (wl_txn_init(&t) != 0)
        mt_fail(pg, CL_ENOMEM, 20, "memory for", x->t);
    /* all start together: commits of a few microseconds each would
     * otherwise be over before the next thread is running */
    pthread_barrier_wait(x->start);
    for (uint32_t m = 0;; m++) {
        uint64_t i = x->t + (uint64_t)m * x->threads, lsn = 0;
        int rc;
        if (i >= x->prof->wl.txns)
            break;
        wl_gen(&x->prof->wl, (uint32_t)i, &t);
        __atomic_store_n(&pg->th_issued[x->t], m + 1, __ATOMIC_RELEASE);
        __atomic_fetch_add(&pg->issued, 1, __ATOMIC_RELEASE);
        if ((rc = tg->apply(x->h, &t, &lsn)) != 0)
            mt_fail(pg, rc, 22, "commit of", (uint32_t)i);
        pg->lsn[i] = lsn;
        mt_max_u64(&pg->durable, tg->durable(x->h));
        __atomic_store_n(&pg->th_acked[x->t], m + 1, __ATOMIC_RELEASE);
        __atomic_fetch_add(&pg->acked, 1, __ATOMIC_RELEASE);
        if (t.checkpoint_after || t.sync_after) {
            /* what every thread had acknowledged before the call began is
             * durable once it returns 0 */
            uint32_t before[WL_MAX_THREADS];
            for (uint32_t u = 0; u < x->threads; u++)
                before[u] = __atomic_load_n(&pg->th_acked[u], __ATOMIC_ACQUIRE);
            rc = t.checkpoint_after ? tg->checkpoint(x->h) : tg->sync(x->h);
            if (rc != 0)
                mt_fail(pg, rc, t.checkpoint_after ? 23 : 24,
                        t.checkpoint_after ? "checkpoint after" : "sync after",
                        (uint32_t)i);
            for (uint32_t u = 0; u < x->threads; u++)
                mt_max_u32(&pg->th_synced[u], before[u]);
        }
        /* Let the others run: on few cores a thread would otherwise commit
         * many times in one time slice, while theirs wait, and commits
         * would rarely meet in a group. */
        sched_yield();
    }
    wl_txn_free(&t);
    return NULL;
}

void trial_mt_write(trial_env *env, const trial_profile *prof, void *h,
                    const trial_spec *s)
{
    mt_thread th[WL_MAX_THREADS];
    pthread_barrier_t start;
    uint32_t n = s->threads;

    if (n > WL_MAX_THREADS || n != prof->wl.threads) {
        mt_fail(env->shm->prog, CL_EINVAL, 20, "thread count of", 0);
    }
    pthread_barrier_init(&start, NULL, n);
    for (uint32_t t = 0; t < n; t++) {
        th[t] = (mt_thread){env, prof, h, t, n, &start, 0};
        if (t > 0 &&
            pthread_create(&th[t].tid, NULL, mt_thread_main, &th[t]) != 0)
            mt_fail(env->shm->prog, ENOMEM, 20, "thread for", t);
    }
    mt_thread_main(&th[0]);
    for (uint32_t t = 1; t < n; t++)
        pthread_join(th[t].tid, NULL);
}

void trial_mt_window(const trial_env *env, const trial_spec *s,
                     oracle_mt_input *in)
{
    const trial_progress *pg = env->shm->prog;
    oracle_promise pr = env->target->promise(&s->prof->eng);

    memset(in, 0, sizeof(*in));
    in->threads = s->threads;
    in->lsn = pg->lsn;
    for (uint32_t t = 0; t < s->threads && t < WL_MAX_THREADS; t++) {
        oracle_mt_thread *th = &in->th[t];
        th->issued = __atomic_load_n(&pg->th_issued[t], __ATOMIC_ACQUIRE);
        th->acked = __atomic_load_n(&pg->th_acked[t], __ATOMIC_ACQUIRE);
        /* The promise table (oracle.h): in the durable modes every commit
         * that returned; in off and periodic those a sync call that
         * returned 0 came after. */
        th->required = oracle_promised(
            pr, th->acked,
            __atomic_load_n(&pg->th_synced[t], __ATOMIC_ACQUIRE));
        /* and the target's claim: the acknowledged commits up to the
         * highest durable LSN it reported (a thread's LSNs never fall) */
        th->claimed = th->acked;
        while (th->claimed > 0 &&
               pg->lsn[t + (uint64_t)(th->claimed - 1) * s->threads] >
                   pg->durable)
            th->claimed--;
    }
}

void trial_mt_counts(const trial_env *env, const trial_spec *s,
                     trial_result *res)
{
    oracle_mt_input in;

    trial_mt_window(env, s, &in);
    res->issued = res->acked = res->durable = res->claimed = 0;
    for (uint32_t t = 0; t < in.threads; t++) {
        res->issued += in.th[t].issued;
        res->acked += in.th[t].acked;
        res->durable += in.th[t].required;
        res->claimed += in.th[t].claimed > in.th[t].required
                            ? in.th[t].claimed
                            : in.th[t].required;
    }
}

int trial_mt_keep(const trial_env *env, const trial_spec *s, const char *path)
{
    oracle_mt_input in;
    FILE *f = fopen(path, "w");

    if (f == NULL)
        return errno;
    trial_mt_window(env, s, &in);
    fprintf(f,
            "# %u writer threads; thread t commits transactions t, t + %u, "
            "...\n# sync %s; state: acked (its commit returned 0, with its "
            "LSN), in-flight\n# (started, commit not returned), required "
            "(promised durable)\n# transaction thread lsn state\n",
            in.threads, in.threads, cl_sync_name(s->prof->eng.sync));
    for (uint32_t t = 0; t < in.threads; t++)
        for (uint32_t m = 0; m < in.th[t].issued; m++) {
            uint64_t i = t + (uint64_t)m * in.threads;
            if (m < in.th[t].acked)
                fprintf(f, "%llu %u %llu acked%s\n", (unsigned long long)i, t,
                        (unsigned long long)in.lsn[i],
                        m < in.th[t].required ? ",required" : "");
            else
                fprintf(f, "%llu %u - in-flight\n", (unsigned long long)i, t);
        }
    return fclose(f) == 0 ? 0 : errno;
}

int trial_mt_profile(trial_env *env, trial_profile *prof, char *err,
                     size_t errlen)
{
    trial_paths p;
    crashio_config cc;
    trial_spec s;

    memset(&s, 0, sizeof(s));
    s.mode = MODE_KILL_IO;
    s.threads = prof->wl.threads;
    s.prof = prof;
    trial_paths_init(env, &p);
    trial_paths_clean(&p);
    crashio_shared_init(env->shm->cio, 0);
    memset(env->shm->prog, 0, env->shm->prog_size);
    memset(&cc, 0, sizeof(cc));
    cc.inner = cl_io_posix();
    cc.seed = prof->wl.seed;
    cc.root = p.dir;
    cc.shared = env->shm->cio;
    cc.sync_delay_us = TRIAL_MT_SYNC_DELAY_US;
    if (trial_count_run(env, prof, p.dir, &cc, &s, err, errlen) != 0)
        return -1;
    prof->mt_points = atomic_load(&env->shm->cio->points);
    prof->mt_run_us = env->shm->prog->run_us;
    prof->mt_first_us = env->shm->prog->first_us;
    trial_paths_clean(&p);
    return 0;
}
