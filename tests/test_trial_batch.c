/*
 * test_trial_batch.c - trials that share one writer run (trial_run_batch)
 * give exactly what each gives alone (trial_run): for random crash points
 * of real engine workloads, the crash state a batch copies at point k and
 * the directory a writer killed by SIGKILL at point k leaves are identical
 * byte for byte, and so are the torn and power-cut states built from them,
 * the recovered databases and every field of the results but timings.
 * Error trials that branch off the shared run at the transaction of their
 * fault end as their own runs do, states and results alike.  The batches
 * run their writers in memory (trial_batch.c) and on disk in turn, and
 * are held to the same runs on disk.
 * And the verifier process that judges them (trial_vserve.c): killed
 * between two states it is replaced, and the next state is judged as
 * before; it is replaced after a fixed number of states.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "target.h"
#include "testutil.h"
#include "trial.h"
#include "trial_int.h"

#define MAX_TRIALS TRIAL_BATCH_MAX

typedef struct fx {
    char *root;
    trial_env env;
    trial_result got[MAX_TRIALS]; /* by spec index */
    int have[MAX_TRIALS];
    uint64_t first_id;
    unsigned batches; /* run_and_compare's so far */
} fx;

static int fx_setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));

    f->root = tu_tmpdir("trialbatch");
    f->env.target = target_find("engine");
    f->env.eng.sync = CL_SYNC_GROUP;
    f->env.eng.torn = CL_TORN_FPW;
    f->env.sector = 512;
    f->env.persist = PLIMG_RANDOM;
    f->env.recovery_depth = 2;
    snprintf(f->env.base, sizeof(f->env.base), "%s/w", f->root);
    assert_int_equal(trial_env_init(&f->env, 64), 0);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    fx *f = *state;

    trial_env_fini(&f->env);
    fs_rmrf(f->root);
    free(f->root);
    free(f);
    return 0;
}

static void build_profile(fx *f, wl_kind kind, uint64_t seed, trial_profile *p)
{
    char err[256];

    memset(p, 0, sizeof(*p));
    p->wl.kind = kind;
    p->wl.seed = seed;
    p->wl.txns = kind == WL_LARGE ? 10 : 40;
    if (trial_profile_build(&f->env, p, err, sizeof(err)) != 0)
        fail_msg("profile: %s", err);
    assert_true(p->points > 10 && p->npwrites > 0);
}

/* A spec of `mode` on p, with its seed drawn from r and nothing else. */
static trial_spec spec_start(uint64_t id, trial_mode mode,
                             const trial_profile *p, rng *r)
{
    trial_spec s;

    memset(&s, 0, sizeof(s));
    s.id = id;
    s.seed = rng_next(r);
    s.mode = mode;
    s.prof = p;
    return s;
}

/* A trial of `mode` at a point drawn from r (or at `at` when nonzero), as
 * the campaign draws them. */
static trial_spec make_spec(uint64_t id, trial_mode mode, trial_mode first,
                            const trial_profile *p, rng *r, uint64_t at)
{
    trial_spec s = spec_start(id, mode, p, r);

    if (mode == MODE_RECOVERY_CRASH)
        s.rec_seed = rng_next(r);
    else
        first = mode;
    s.crash_point = at ? at : 1 + rng_below(r, p->points + 1);
    if (first == MODE_TORN) {
        s.crash_point = p->pwrites[rng_below(r, p->npwrites)];
        s.action = CRASHIO_TEAR;
        s.fill = CRASHIO_FILL_SEED;
    } else if (first == MODE_POWERLOSS) {
        s.powerloss = 1;
        s.pl.model = PLIMG_RANDOM;
        s.pl.sector = 512;
        s.pl.seed = rng_next(r);
    }
    return s;
}

static int collect(void *ctx, const trial_result *res)
{
    fx *f = ctx;
    uint64_t i = res->id - f->first_id;

    assert_true(i < MAX_TRIALS);
    assert_false(f->have[i]);
    f->got[i] = *res;
    f->have[i] = 1;
    return 0;
}

/* Every field that is not a timing. */
static void assert_same_result(const trial_result *a, const trial_result *b)
{
    assert_int_equal(a->id, b->id);
    assert_int_equal(a->seed, b->seed);
    assert_int_equal(a->mode, b->mode);
    assert_int_equal(a->workload, b->workload);
    assert_int_equal(a->variant, b->variant);
    assert_int_equal(a->verdict, b->verdict);
    assert_int_equal(a->crash_point, b->crash_point);
    assert_int_equal(a->points, b->points);
    assert_int_equal(a->issued, b->issued);
    assert_int_equal(a->acked, b->acked);
    assert_int_equal(a->durable, b->durable);
    assert_int_equal(a->recovered, b->recovered);
    assert_int_equal(a->rec_crashes, b->rec_crashes);
    assert_int_equal(a->bytes, b->bytes);
    assert_int_equal(a->records, b->records);
    assert_int_equal(a->repaired, b->repaired);
    assert_int_equal(a->tail_cut, b->tail_cut);
    assert_string_equal(a->damage, b->damage);
    assert_string_equal(a->detail, b->detail);
}

/* How the crash states of a batch ended. */
typedef struct seen {
    size_t killed, torn, ended, power, refused, went_on;
} seen;

/* Run specs[0..n) as one batch, keeping every state under <root>/batch,
 * then each alone under <root>/alone, and compare states and results. */
static void run_and_compare(fx *f, const trial_spec *specs, size_t n, seen *sn)
{
    const trial_spec *ptr[MAX_TRIALS];
    char batch[4200], alone[4200];

    snprintf(batch, sizeof(batch), "%s/batch", f->root);
    snprintf(alone, sizeof(alone), "%s/alone", f->root);
    fs_rmrf(batch);
    fs_rmrf(alone);
    memset(f->have, 0, sizeof(f->have));
    f->first_id = specs[0].id;
    for (size_t i = 0; i < n; i++)
        ptr[i] = &specs[i];
    f->env.keep_dir = batch;
    f->env.keep_all = 1;
    /* the batch's writer in memory and on disk, in turn */
    f->env.writers_on_disk = f->batches++ % 2;
    assert_int_equal(trial_run_batch(&f->env, ptr, n, collect, f), 0);
    f->env.writers_on_disk = 0;
    f->env.keep_dir = alone;
    for (size_t i = 0; i < n; i++) {
        trial_result res;
        char a[4400], b[4400];
        assert_true(f->have[i]);
        assert_int_equal(trial_run(&f->env, &specs[i], &res), 0);
        assert_same_result(&f->got[i], &res);
        assert_true(res.verdict == ORACLE_OK || res.verdict == ORACLE_DETECTED);
        snprintf(a, sizeof(a), "%s/trial-%llu/crashed", batch,
                 (unsigned long long)specs[i].id);
        snprintf(b, sizeof(b), "%s/trial-%llu/crashed", alone,
                 (unsigned long long)specs[i].id);
        if ((tu_exists(a) || tu_exists(b)) && !tu_tree_equal(a, b))
            fail_msg("trial %llu at point %llu: crash states differ: %s",
                     (unsigned long long)specs[i].id,
                     (unsigned long long)specs[i].crash_point, tu_tree_why());
        snprintf(a, sizeof(a), "%s/trial-%llu/recovered", batch,
                 (unsigned long long)specs[i].id);
        snprintf(b, sizeof(b), "%s/trial-%llu/recovered", alone,
                 (unsigned long long)specs[i].id);
        if ((tu_exists(a) || tu_exists(b)) && !tu_tree_equal(a, b))
            fail_msg("trial %llu: recovered databases differ: %s",
                     (unsigned long long)specs[i].id, tu_tree_why());
        sn->torn += strncmp(res.damage, "torn", 4) == 0;
        sn->killed += strncmp(res.damage, "killed before", 13) == 0;
        sn->ended += strncmp(res.damage, "killed after the last", 21) == 0;
        sn->power += strstr(res.damage, "power cut") != NULL;
        sn->refused += strstr(res.damage, "then writes were refused") != NULL;
        sn->went_on += strstr(res.damage, "the engine went on") != NULL;
    }
    f->env.keep_dir = NULL;
    f->env.keep_all = 0;
    fs_rmrf(batch);
    fs_rmrf(alone);
}

static void test_trial_batch_kill_states_equal_real_kills(void **state)
{
    fx *f = *state;
    static const wl_kind kinds[] = {WL_CHECKPOINT, WL_MIXED, WL_LARGE,
                                    WL_DELETES};
    rng r = {42};
    seen sn = {0};

    for (size_t w = 0; w < sizeof(kinds) / sizeof(kinds[0]); w++) {
        trial_profile p;
        trial_spec specs[24];
        size_t n = 0;
        build_profile(f, kinds[w], 1000 + w, &p);
        /* the first and last points, after the end, a point twice, and
         * random ones */
        specs[n] = make_spec(100 * w + n, MODE_KILL_IO, 0, &p, &r, 1), n++;
        specs[n] = make_spec(100 * w + n, MODE_KILL_IO, 0, &p, &r, p.points),
        n++;
        specs[n] =
            make_spec(100 * w + n, MODE_KILL_IO, 0, &p, &r, p.points + 1),
        n++;
        while (n < 20)
            specs[n] = make_spec(100 * w + n, MODE_KILL_IO, 0, &p, &r, 0), n++;
        specs[n] = make_spec(100 * w + n, MODE_KILL_IO, 0, &p, &r,
                             specs[5].crash_point),
        n++;
        run_and_compare(f, specs, n, &sn);
        trial_profile_free(&p);
    }
    assert_true(sn.killed > 0 && sn.ended > 0);
}

static void test_trial_batch_torn_and_power_states_equal_their_own(void **state)
{
    fx *f = *state;
    static const wl_kind kinds[] = {WL_CHECKPOINT, WL_MIXED, WL_TXN};
    static const trial_mode modes[] = {MODE_KILL_IO, MODE_TORN, MODE_POWERLOSS,
                                       MODE_RECOVERY_CRASH};
    static const trial_mode firsts[] = {MODE_KILL_IO, MODE_TORN,
                                        MODE_POWERLOSS};
    rng r = {7};
    seen sn = {0};

    for (size_t w = 0; w < sizeof(kinds) / sizeof(kinds[0]); w++) {
        trial_profile p;
        trial_spec specs[24];
        build_profile(f, kinds[w], 2000 + w, &p);
        for (size_t i = 0; i < 24; i++)
            specs[i] = make_spec(100 * w + i, modes[i % 4], firsts[i / 4 % 3],
                                 &p, &r, 0);
        run_and_compare(f, specs, 24, &sn);
        trial_profile_free(&p);
    }
    assert_true(sn.killed > 0 && sn.torn > 0 && sn.power > 0);
}

/* An fsync-fail or write-fail trial as the campaign draws it. */
static trial_spec make_error_spec(uint64_t id, trial_mode mode,
                                  const trial_profile *p, rng *r)
{
    trial_spec s = spec_start(id, mode, p, r);

    trial_fault_pick(p, mode, r, PLIMG_RANDOM, 512, &s);
    return s;
}

static void test_trial_batch_error_branches_equal_their_own_runs(void **state)
{
    fx *f = *state;
    static const wl_kind kinds[] = {WL_CHECKPOINT, WL_MIXED, WL_TXN,
                                    WL_DELETES};
    static const cl_sync_mode syncs[] = {CL_SYNC_GROUP, CL_SYNC_COMMIT,
                                         CL_SYNC_OFF, CL_SYNC_GROUP};
    rng r = {99};
    seen sn = {0};
    size_t alone = 0;

    for (size_t w = 0; w < sizeof(kinds) / sizeof(kinds[0]); w++) {
        trial_profile p;
        trial_spec specs[24];
        size_t n = 0;
        char err[256];
        memset(&p, 0, sizeof(p));
        p.wl.kind = kinds[w];
        p.wl.seed = 3000 + w;
        p.wl.txns = 40;
        p.eng.sync = syncs[w];
        if (trial_profile_build(&f->env, &p, err, sizeof(err)) != 0)
            fail_msg("profile: %s", err);
        /* error trials among crash trials, so that some branch before
         * the real crash and some after it */
        while (n < 24) {
            if (n % 3 == 2)
                specs[n] = make_spec(100 * w + n,
                                     n % 2 ? MODE_POWERLOSS : MODE_KILL_IO, 0,
                                     &p, &r, 0);
            else
                specs[n] = make_error_spec(
                    100 * w + n, n % 2 ? MODE_WRITE_FAIL : MODE_FSYNC_FAIL, &p,
                    &r);
            /* one whose fault comes in the open runs alone */
            if (!trial_batchable(&f->env, &specs[n])) {
                alone++;
                continue;
            }
            n++;
        }
        run_and_compare(f, specs, n, &sn);
        trial_profile_free(&p);
    }
    /* most faults come in a transaction, not in the open (whose syncs,
     * the recovery's of the directory, the page file and the segment, are
     * most of a sync-off workload's): under a quarter of those drawn */
    assert_true(4 * alone < 4 * 24 + alone);
    assert_true(sn.refused > 0 && sn.went_on > 0 && sn.power > 0);
}

/* A trial that cannot branch runs alone: one whose target has a sync
 * thread (sync periodic), or whose fault comes in the open. */
static void test_trial_batch_error_trials_that_cannot_branch(void **state)
{
    fx *f = *state;
    trial_profile p;
    trial_spec s;
    rng r = {5};
    char err[256];

    memset(&p, 0, sizeof(p));
    p.wl.kind = WL_TXN;
    p.wl.seed = 77;
    p.wl.txns = 20;
    if (trial_profile_build(&f->env, &p, err, sizeof(err)) != 0)
        fail_msg("profile: %s", err);
    s = make_error_spec(1, MODE_WRITE_FAIL, &p, &r);
    s.fail_at = p.txn_points[3] + 1;
    assert_true(trial_batchable(&f->env, &s));
    s.fail_at = p.txn_points[0]; /* the open's last point */
    assert_true(s.fail_at > 0);
    assert_false(trial_batchable(&f->env, &s));
    s.fail_at = p.txn_points[3] + 1;
    p.eng.sync = CL_SYNC_PERIODIC;
    assert_false(trial_batchable(&f->env, &s));
    trial_profile_free(&p);
}

static void test_trial_verifier_killed_between_states_is_replaced(void **state)
{
    fx *f = *state;
    trial_profile p;
    rng r = {9};
    trial_result a, b;
    trial_spec s;
    siginfo_t si;
    pid_t first;

    build_profile(f, WL_MIXED, 3000, &p);
    s = make_spec(1, MODE_KILL_IO, 0, &p, &r, p.points / 2);
    assert_int_equal(trial_run(&f->env, &s, &a), 0);
    assert_int_equal(a.verdict, ORACLE_OK);
    first = f->env.shm->vpid;
    assert_true(first > 0);
    /* dead (its socket closed), not yet waited for */
    assert_int_equal(kill(first, SIGKILL), 0);
    assert_int_equal(waitid(P_PID, (id_t)first, &si, WEXITED | WNOWAIT), 0);
    assert_int_equal(trial_run(&f->env, &s, &b), 0);
    assert_same_result(&a, &b);
    assert_true(f->env.shm->vpid > 0 && f->env.shm->vpid != first);
    trial_profile_free(&p);
}

static void test_trial_verifier_replaced_after_its_share_of_states(void **state)
{
    fx *f = *state;
    trial_profile p;
    rng r = {11};
    trial_result res;
    pid_t first = 0;

    build_profile(f, WL_MIXED, 3001, &p);
    for (int i = 0; i < TRIAL_VSERVE_MAX; i++) {
        trial_spec s = make_spec((uint64_t)i, MODE_KILL_IO, 0, &p, &r, 0);
        assert_int_equal(trial_run(&f->env, &s, &res), 0);
        assert_int_equal(res.verdict, ORACLE_OK);
        if (i == 0)
            first = f->env.shm->vpid;
        else if (i < TRIAL_VSERVE_MAX - 1)
            assert_int_equal(f->env.shm->vpid, first);
    }
    /* the last state of its share ended it, and it was waited for */
    assert_true(first > 0);
    assert_int_equal(f->env.shm->vpid, 0);
    trial_profile_free(&p);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_trial_batch_kill_states_equal_real_kills),
        T(test_trial_batch_torn_and_power_states_equal_their_own),
        T(test_trial_batch_error_branches_equal_their_own_runs),
        T(test_trial_batch_error_trials_that_cannot_branch),
        T(test_trial_verifier_killed_between_states_is_replaced),
        T(test_trial_verifier_replaced_after_its_share_of_states),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
