/*
 * test_oracle_mt.c - the oracle of concurrent workloads: a state that is a
 * prefix of the commit order (LSN order) holding every required commit
 * passes, also with a commit in flight present; a lost required commit is
 * a durability violation, a lost commit the target reported durable a
 * claimed one; a hole in LSN order (a commit missing while a
 * later one is there) is a prefix violation; a partly visible transaction
 * is an atomicity violation; a key of no thread is a prefix violation.
 * Also: a concurrent workload's keys are each one thread's own.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "oracle_mt.h"

#define T 3
#define N 24

/* WL_TXN: 2-16 puts and deletes over shared key numbers, so without the
 * threads' own keys the order between threads would matter. */
static const wl_params WL = {WL_TXN, 91, N, 0, 0, T, 0};

/* The commit order: transaction i has LSN 100 * (1 + (i ^ 1)) (pairs
 * swapped, so LSN order is not index order; each thread's LSNs still
 * rise). */
static uint64_t lsn_of(uint32_t i)
{
    return 100u * (1u + (i ^ 1u));
}

static uint64_t LSN[N];

/* The state after the transactions {i : keep[i]}, applied in LSN order. */
static oracle_map *state_of(const uint8_t *keep)
{
    oracle_map *m = oracle_map_new();
    wl_txn t;

    assert_non_null(m);
    assert_int_equal(wl_txn_init(&t), 0);
    for (uint32_t pos = 0; pos < N; pos++) {
        uint32_t i = pos ^ 1u;
        if (!keep[i])
            continue;
        wl_gen(&WL, i, &t);
        assert_int_equal(oracle_map_apply(m, &t), 0);
    }
    wl_txn_free(&t);
    return m;
}

/* Every thread committed all of its transactions (returned), the first
 * `req` of the commit order were promised durable. */
static void input_all_acked(oracle_mt_input *in, uint32_t req_below_pos)
{
    memset(in, 0, sizeof(*in));
    in->threads = T;
    in->lsn = LSN;
    for (uint32_t i = 0; i < N; i++)
        LSN[i] = lsn_of(i);
    for (uint32_t t = 0; t < T; t++) {
        in->th[t].issued = in->th[t].acked = wl_thread_txns(&WL, t);
        for (uint32_t m = 0; m < in->th[t].acked; m++)
            if (((t + m * T) ^ 1u) < req_below_pos)
                in->th[t].required = m + 1;
    }
}

/* keep[i] = 1 for the first `cut` transactions of the commit order. */
static void cut_at(uint8_t *keep, uint32_t cut)
{
    for (uint32_t i = 0; i < N; i++)
        keep[i] = (i ^ 1u) < cut;
}

static oracle_kind judge(const oracle_mt_input *in, const oracle_map *r,
                         uint32_t *k, char *detail, size_t len)
{
    oracle_mt_prefix o;
    oracle_kind v;

    assert_int_equal(oracle_mt_build(&WL, &o), 0);
    v = oracle_judge_mt(&WL, &o, in, r, k, detail, len);
    oracle_mt_free(&o);
    return v;
}

static void test_oracle_mt_keys_belong_to_one_thread(void **state)
{
    wl_txn t;

    (void)state;
    assert_int_equal(wl_txn_init(&t), 0);
    for (uint32_t i = 0; i < N; i++) {
        wl_gen(&WL, i, &t);
        for (uint32_t j = 0; j < t.nops; j++)
            assert_int_equal(wl_key_thread(&WL, t.ops[j].key, t.ops[j].klen),
                             (int)(i % T));
    }
    assert_int_equal(wl_key_thread(&WL, (const uint8_t *)"probe", 5), -1);
    wl_txn_free(&t);
}

static void test_oracle_mt_prefix_in_lsn_order_passes(void **state)
{
    oracle_mt_input in;
    uint8_t keep[N];
    char detail[512];
    uint32_t k = 0;

    (void)state;
    for (uint32_t cut = 6; cut <= N; cut++) {
        oracle_map *r;
        input_all_acked(&in, 6);
        cut_at(keep, cut);
        r = state_of(keep);
        assert_int_equal(judge(&in, r, &k, detail, sizeof(detail)), ORACLE_OK);
        assert_int_equal(k, cut);
        oracle_map_free(r);
    }
    /* thread 2's last commit had not returned (no LSN): present or not,
     * with everything else committed, both pass */
    input_all_acked(&in, 6);
    in.th[2].acked--;
    for (int with = 0; with < 2; with++) {
        oracle_map *r;
        cut_at(keep, N);
        keep[2 + (in.th[2].acked) * T] = (uint8_t)with;
        r = state_of(keep);
        assert_int_equal(judge(&in, r, &k, detail, sizeof(detail)), ORACLE_OK);
        oracle_map_free(r);
    }
}

/* The state after the first `cut` commits, without transaction `drop`
 * (-1: none), when the first `req` commits were promised durable: the
 * verdict is `want`, and its detail says `needle`. */
static void expect_cut(uint32_t req, uint32_t cut, int drop, oracle_kind want,
                       const char *needle)
{
    oracle_mt_input in;
    uint8_t keep[N];
    char detail[512];
    uint32_t k = 0;
    oracle_map *r;

    input_all_acked(&in, req);
    cut_at(keep, cut);
    if (drop >= 0)
        keep[drop] = 0;
    r = state_of(keep);
    assert_int_equal(judge(&in, r, &k, detail, sizeof(detail)), want);
    assert_non_null(strstr(detail, needle));
    oracle_map_free(r);
}

static void test_oracle_mt_lost_acknowledged_commit(void **state)
{
    (void)state;
    /* the first 14 commits were promised, 10 are there */
    expect_cut(14, 10, -1, ORACLE_DURABILITY, "promised durable");
}

static void test_oracle_mt_hole_in_lsn_order(void **state)
{
    (void)state;
    /* the first 10 commits are transactions 0..9; drop 7 (position 6,
     * thread 1's last among them) while 8 and 9 (positions 9 and 8) of
     * threads 2 and 0 are there */
    expect_cut(0, 10, 7, ORACLE_PREFIX, "transaction 7");
}

static void test_oracle_mt_lost_claimed_commit(void **state)
{
    oracle_mt_input in;
    uint8_t keep[N];
    char detail[512];
    uint32_t k = 0;
    oracle_map *r;

    (void)state;
    /* the first 6 commits were promised, the target reported every
     * commit durable, 10 are there */
    input_all_acked(&in, 6);
    for (uint32_t t = 0; t < T; t++)
        in.th[t].claimed = in.th[t].acked;
    cut_at(keep, 10);
    r = state_of(keep);
    assert_int_equal(judge(&in, r, &k, detail, sizeof(detail)), ORACLE_CLAIMED);
    assert_non_null(strstr(detail, "reported"));
    oracle_map_free(r);
    /* with every commit there, the claim holds */
    cut_at(keep, N);
    r = state_of(keep);
    assert_int_equal(judge(&in, r, &k, detail, sizeof(detail)), ORACLE_OK);
    oracle_map_free(r);
}

static void test_oracle_mt_partly_visible_transaction(void **state)
{
    oracle_mt_input in;
    uint8_t keep[N];
    char detail[512];
    uint32_t k = 0;
    wl_txn t;
    int tried = 0;

    (void)state;
    assert_int_equal(wl_txn_init(&t), 0);
    /* after a cut, the next transaction of thread 0 with its first put
     * only (a transaction whose first operation is a put and whose last is
     * a put of another key) */
    for (uint32_t cut = 2; cut < N; cut++) {
        uint32_t i = 0;
        oracle_map *r;
        while ((i ^ 1u) < cut)
            i += T;
        if (i >= N)
            break;
        wl_gen(&WL, i, &t);
        if (t.nops < 2 || t.ops[0].del || t.ops[t.nops - 1].del ||
            (t.ops[0].klen == t.ops[t.nops - 1].klen &&
             memcmp(t.ops[0].key, t.ops[t.nops - 1].key, t.ops[0].klen) == 0))
            continue;
        input_all_acked(&in, 0);
        cut_at(keep, cut);
        r = state_of(keep);
        /* the first put reaches the state, the last does not */
        assert_int_equal(oracle_map_put(r, t.ops[0].key, t.ops[0].klen,
                                        t.ops[0].val, t.ops[0].vlen),
                         0);
        {
            int later_same = 0;
            for (uint32_t j = 1; j < t.nops; j++)
                later_same |=
                    t.ops[j].klen == t.ops[0].klen &&
                    memcmp(t.ops[j].key, t.ops[0].key, t.ops[0].klen) == 0;
            if (later_same) {
                oracle_map_free(r);
                continue;
            }
        }
        assert_int_equal(judge(&in, r, &k, detail, sizeof(detail)),
                         ORACLE_ATOMICITY);
        assert_non_null(strstr(detail, "partly visible"));
        oracle_map_free(r);
        tried++;
    }
    wl_txn_free(&t);
    assert_true(tried > 0);
}

static void test_oracle_mt_key_of_no_thread(void **state)
{
    oracle_mt_input in;
    uint8_t keep[N];
    char detail[512];
    uint32_t k = 0;
    oracle_map *r;

    (void)state;
    input_all_acked(&in, 0);
    cut_at(keep, 8);
    r = state_of(keep);
    assert_int_equal(oracle_map_put(r, "k00f00001", 9, "x", 1), 0);
    assert_int_equal(judge(&in, r, &k, detail, sizeof(detail)), ORACLE_PREFIX);
    assert_non_null(strstr(detail, "belongs to no thread"));
    oracle_map_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_oracle_mt_keys_belong_to_one_thread),
        cmocka_unit_test(test_oracle_mt_prefix_in_lsn_order_passes),
        cmocka_unit_test(test_oracle_mt_lost_acknowledged_commit),
        cmocka_unit_test(test_oracle_mt_hole_in_lsn_order),
        cmocka_unit_test(test_oracle_mt_lost_claimed_commit),
        cmocka_unit_test(test_oracle_mt_partly_visible_transaction),
        cmocka_unit_test(test_oracle_mt_key_of_no_thread),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
