/*
 * test_workload.c - workloads are deterministic functions of (kind, seed,
 * transaction number), respect their caps, and have the shape their names
 * promise.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "rng.h"
#include "workload.h"

static uint64_t txn_digest(const wl_txn *t)
{
    uint64_t h = t->nops + ((uint64_t)t->checkpoint_after << 32);

    for (uint32_t i = 0; i < t->nops; i++) {
        h = rng_hash(t->ops[i].key, t->ops[i].klen, h ^ t->ops[i].del);
        if (!t->ops[i].del)
            h = rng_hash(t->ops[i].val, t->ops[i].vlen, h);
    }
    return h;
}

static void test_workload_same_seed_same_transactions(void **state)
{
    wl_txn a, b;

    (void)state;
    assert_int_equal(wl_txn_init(&a), 0);
    assert_int_equal(wl_txn_init(&b), 0);
    for (int k = 0; k < WL_KINDS; k++) {
        wl_params p = {(wl_kind)k, 1234, 50, 0, 0};
        wl_params q = p;
        int differ = 0;
        q.seed = 1235;
        for (uint32_t i = 0; i < 50; i++) {
            wl_gen(&p, i, &a);
            /* generating other transactions in between changes nothing */
            wl_gen(&q, 49 - i, &b);
            wl_gen(&p, i, &b);
            assert_int_equal(txn_digest(&a), txn_digest(&b));
            assert_int_equal(a.index, i);
            wl_gen(&q, i, &b);
            differ += txn_digest(&a) != txn_digest(&b);
        }
        assert_true(differ > 40); /* another seed: other transactions */
    }
    wl_txn_free(&a);
    wl_txn_free(&b);
}

static void test_workload_shapes_and_caps(void **state)
{
    wl_txn t;
    int dels = 0, large = 0, ckpts = 0, multi = 0;

    (void)state;
    assert_int_equal(wl_txn_init(&t), 0);
    for (uint32_t i = 0; i < 200; i++) {
        wl_params ins = {WL_INSERTS, 9, 200, 0, 0};
        wl_params txn = {WL_TXN, 9, 200, 0, 0};
        wl_params del = {WL_DELETES, 9, 200, 0, 0};
        wl_params big = {WL_LARGE, 9, 200, 0, 0};
        wl_params ck = {WL_CHECKPOINT, 9, 200, 0, 0};
        wl_params cap = {WL_LARGE, 9, 200, 1, 100};

        wl_gen(&ins, i, &t);
        assert_int_equal(t.nops, 1);
        assert_int_equal(t.ops[0].del, 0);
        wl_gen(&txn, i, &t);
        assert_true(t.nops >= 2 && t.nops <= 16);
        multi += t.nops > 2;
        wl_gen(&del, i, &t);
        for (uint32_t j = 0; j < t.nops; j++)
            dels += t.ops[j].del;
        wl_gen(&big, i, &t);
        for (uint32_t j = 0; j < t.nops; j++) {
            assert_true(t.ops[j].vlen >= 2048 && t.ops[j].vlen <= 65536);
            large += t.ops[j].vlen > 16384;
        }
        wl_gen(&ck, i, &t);
        ckpts += t.checkpoint_after;
        wl_gen(&cap, i, &t);
        assert_int_equal(t.nops, 1);
        assert_true(t.ops[0].vlen <= 100);
        for (uint32_t j = 0; j < t.nops; j++)
            assert_true(t.ops[j].klen >= 1 && t.ops[j].klen <= 1024);
    }
    assert_true(dels > 50);
    assert_true(large > 50);
    assert_int_equal(ckpts, 200 / 16);
    assert_true(multi > 100);
    wl_txn_free(&t);
}

static void test_workload_inserts_use_new_keys(void **state)
{
    wl_txn t;
    char seen[200][40];

    (void)state;
    assert_int_equal(wl_txn_init(&t), 0);
    for (uint32_t i = 0; i < 200; i++) {
        wl_params p = {WL_INSERTS, 3, 200, 0, 0};
        wl_gen(&p, i, &t);
        assert_true(t.ops[0].klen < sizeof(seen[0]));
        memcpy(seen[i], t.ops[0].key, t.ops[0].klen);
        seen[i][t.ops[0].klen] = '\0';
        for (uint32_t j = 0; j < i; j++)
            assert_string_not_equal(seen[i], seen[j]);
    }
    wl_txn_free(&t);
}

/* A crash chain's later process issues the same operations, keys and
 * value sizes with other value bytes, from where its history says. */
static void test_workload_chain_history_changes_values_only(void **state)
{
    wl_txn a, b;

    (void)state;
    assert_int_equal(wl_txn_init(&a), 0);
    assert_int_equal(wl_txn_init(&b), 0);
    for (int k = 0; k < WL_KINDS; k++) {
        wl_params p = {(wl_kind)k, 77, 60, 0, 0};
        wl_params q = p;
        assert_int_equal(wl_history_add(&q.hist, 20), 0);
        assert_int_equal(wl_history_add(&q.hist, 10), 0);
        for (uint32_t i = 0; i < 60; i++) {
            int differ = 0, puts = 0;
            wl_gen(&p, i, &a);
            wl_gen(&q, i, &b);
            /* the latest process that went on from at or before i */
            assert_int_equal(b.gen, i < 10 ? 0 : 2);
            assert_int_equal(a.gen, 0);
            assert_int_equal(a.nops, b.nops);
            assert_int_equal(a.sync_after, b.sync_after);
            assert_int_equal(a.checkpoint_after, b.checkpoint_after);
            for (uint32_t o = 0; o < a.nops; o++) {
                assert_int_equal(a.ops[o].del, b.ops[o].del);
                assert_int_equal(a.ops[o].klen, b.ops[o].klen);
                assert_memory_equal(a.ops[o].key, b.ops[o].key, a.ops[o].klen);
                assert_int_equal(a.ops[o].vlen, b.ops[o].vlen);
                if (a.ops[o].del || a.ops[o].vlen == 0)
                    continue;
                puts++;
                differ +=
                    memcmp(a.ops[o].val, b.ops[o].val, a.ops[o].vlen) != 0;
            }
            assert_int_equal(differ, b.gen > 0 ? puts : 0);
        }
    }
    {
        wl_history h = {0, {0}};
        for (int g = 0; g < WL_MAX_GENS; g++)
            assert_int_equal(wl_history_add(&h, (uint32_t)g), 0);
        assert_int_equal(wl_history_add(&h, 9), -1); /* full */
        assert_int_equal(h.n, WL_MAX_GENS);
    }
    wl_txn_free(&a);
    wl_txn_free(&b);
}

static void test_workload_names_round_trip(void **state)
{
    wl_kind k;

    (void)state;
    for (int i = 0; i < WL_KINDS; i++) {
        assert_int_equal(wl_parse(wl_name((wl_kind)i), &k), 0);
        assert_int_equal(k, i);
    }
    assert_int_equal(wl_parse("nope", &k), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_workload_same_seed_same_transactions),
        cmocka_unit_test(test_workload_shapes_and_caps),
        cmocka_unit_test(test_workload_inserts_use_new_keys),
        cmocka_unit_test(test_workload_chain_history_changes_values_only),
        cmocka_unit_test(test_workload_names_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
