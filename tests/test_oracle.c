/*
 * test_oracle.c - the model's state hash and the oracle's verdicts: a
 * prefix in the window passes (every prefix of every workload is recognised
 * by the full comparison); fewer transactions than were durable is a
 * durability violation (what was promised: the promise table; what the
 * target claimed durable is checked too; a crash chain holds every
 * link's promises); part of a transaction is an atomicity
 * violation; anything no prefix explains is a prefix violation.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "oracle.h"

static const wl_params WL = {WL_TXN, 77, 40, 0, 0};

/* The model after k transactions of workload p. */
static oracle_map *model_of(const wl_params *p, uint32_t k)
{
    oracle_map *m = oracle_map_new();
    wl_txn t;

    assert_int_equal(wl_txn_init(&t), 0);
    for (uint32_t i = 0; i < k; i++) {
        wl_gen(p, i, &t);
        assert_int_equal(oracle_map_apply(m, &t), 0);
    }
    wl_txn_free(&t);
    return m;
}

static oracle_map *model_after(uint32_t k)
{
    return model_of(&WL, k);
}

static void test_oracle_hash_depends_only_on_content(void **state)
{
    oracle_map *a = oracle_map_new(), *b = oracle_map_new();

    (void)state;
    /* a: a history with overwrites and deletes; b: only the result */
    oracle_map_put(a, "x", 1, "1", 1);
    oracle_map_put(a, "y", 1, "2", 1);
    oracle_map_put(a, "x", 1, "3", 1);
    oracle_map_put(a, "z", 1, "4", 1);
    oracle_map_del(a, "y", 1);
    oracle_map_del(a, "nope", 4);
    oracle_map_put(b, "z", 1, "4", 1);
    oracle_map_put(b, "x", 1, "3", 1);
    assert_int_equal(oracle_map_count(a), 2);
    assert_true(oracle_map_hash(a) == oracle_map_hash(b));
    oracle_map_put(b, "x", 1, "5", 1);
    assert_true(oracle_map_hash(a) != oracle_map_hash(b));
    oracle_map_clear(a);
    assert_int_equal(oracle_map_count(a), 0);
    assert_true(oracle_map_hash(a) == 0);
    /* many keys: growth and deletion keep every lookup right */
    for (int i = 0; i < 5000; i++) {
        char k[16];
        snprintf(k, sizeof(k), "k%d", i);
        oracle_map_put(a, k, strlen(k), k, strlen(k));
    }
    for (int i = 0; i < 5000; i += 2) {
        char k[16];
        snprintf(k, sizeof(k), "k%d", i);
        oracle_map_del(a, k, strlen(k));
    }
    assert_int_equal(oracle_map_count(a), 2500);
    for (int i = 0; i < 5000; i++) {
        char k[16];
        size_t vl;
        snprintf(k, sizeof(k), "k%d", i);
        const uint8_t *v = oracle_map_get(a, k, strlen(k), &vl);
        if (i % 2)
            assert_true(v != NULL && vl == strlen(k) && !memcmp(v, k, vl));
        else
            assert_null(v);
    }
    oracle_map_free(a);
    oracle_map_free(b);
}

static void test_oracle_prefix_in_window_passes(void **state)
{
    oracle_prefix o;
    char detail[256];
    uint32_t k;

    (void)state;
    assert_int_equal(oracle_prefix_build(&WL, &o), 0);
    for (uint32_t want = 0; want <= 40; want += 5) {
        oracle_map *r = model_after(want);
        assert_int_equal(
            oracle_judge(&WL, &o, r, want, 40, &k, detail, sizeof(detail)),
            ORACLE_OK);
        assert_int_equal(k, want);
        assert_int_equal(
            oracle_judge(&WL, &o, r, 0, want, &k, detail, sizeof(detail)),
            ORACLE_OK);
        oracle_map_free(r);
    }
    oracle_prefix_free(&o);
}

/* With a transaction skipped (it failed and the engine went on), the states
 * that leave it out pass, and one that shows it is a violation. */
static void test_oracle_skipped_transaction_must_be_absent(void **state)
{
    const uint32_t skip = 12;
    oracle_prefix o;
    char detail[256];
    uint32_t k;
    wl_txn t;
    oracle_map *r;

    (void)state;
    assert_int_equal(oracle_prefix_build_skip(&WL, skip, &o), 0);
    assert_int_equal(wl_txn_init(&t), 0);
    /* the model of the first 30 transactions without transaction 12 */
    r = oracle_map_new();
    for (uint32_t i = 0; i < 30; i++) {
        wl_gen(&WL, i, &t);
        if (i != skip)
            assert_int_equal(oracle_map_apply(r, &t), 0);
    }
    assert_int_equal(
        oracle_judge_skip(&WL, &o, r, 20, 40, skip, &k, detail, sizeof(detail)),
        ORACLE_OK);
    assert_int_equal(k, 30);
    /* the same state is not a prefix of the whole workload */
    oracle_prefix_free(&o);
    assert_int_equal(oracle_prefix_build(&WL, &o), 0);
    assert_true(oracle_judge(&WL, &o, r, 20, 40, &k, detail, sizeof(detail)) !=
                ORACLE_OK);
    oracle_map_free(r);
    oracle_prefix_free(&o);
    /* and the whole workload's prefix shows the skipped transaction */
    assert_int_equal(oracle_prefix_build_skip(&WL, skip, &o), 0);
    r = model_after(30);
    assert_true(oracle_judge_skip(&WL, &o, r, 20, 40, skip, &k, detail,
                                  sizeof(detail)) != ORACLE_OK);
    oracle_map_free(r);
    oracle_prefix_free(&o);
    wl_txn_free(&t);
}

/* Every prefix of every workload is recognised as itself (deletes,
 * overwrites in one transaction and large values included), and a state
 * one value away from it is not. */
static void test_oracle_every_prefix_of_every_workload(void **state)
{
    (void)state;
    for (int kind = 0; kind < WL_KINDS; kind++) {
        wl_params p = {(wl_kind)kind, 500 + (uint64_t)kind, 24, 0, 0};
        oracle_prefix o;
        char detail[256];
        uint32_t k;

        assert_int_equal(oracle_prefix_build(&p, &o), 0);
        for (uint32_t want = 0; want <= p.txns; want++) {
            oracle_map *r = model_of(&p, want);
            assert_int_equal(
                oracle_judge(&p, &o, r, want, want, &k, detail, sizeof(detail)),
                ORACLE_OK);
            assert_int_equal(k, want);
            if (want > 0) {
                /* the same keys, one value changed: no prefix */
                oracle_map *x = model_of(&p, want);
                wl_txn t;
                assert_int_equal(wl_txn_init(&t), 0);
                wl_gen(&p, want - 1, &t);
                for (uint32_t j = 0; j < t.nops; j++)
                    if (!t.ops[j].del &&
                        oracle_map_get(x, t.ops[j].key, t.ops[j].klen,
                                       &(size_t){0}) != NULL) {
                        assert_int_equal(oracle_map_put(x, t.ops[j].key,
                                                        t.ops[j].klen, "?", 1),
                                         0);
                        break;
                    }
                wl_txn_free(&t);
                if (oracle_map_hash(x) != oracle_map_hash(r))
                    assert_int_not_equal(oracle_judge(&p, &o, x, want, want, &k,
                                                      detail, sizeof(detail)),
                                         ORACLE_OK);
                oracle_map_free(x);
            }
            oracle_map_free(r);
        }
        oracle_prefix_free(&o);
    }
}

static void test_oracle_lost_durable_transactions(void **state)
{
    oracle_prefix o;
    oracle_map *r = model_after(10);
    char detail[256];
    uint32_t k;

    (void)state;
    assert_int_equal(oracle_prefix_build(&WL, &o), 0);
    assert_int_equal(
        oracle_judge(&WL, &o, r, 12, 20, &k, detail, sizeof(detail)),
        ORACLE_DURABILITY);
    assert_int_equal(k, 10);
    assert_non_null(strstr(detail, "12"));
    oracle_map_free(r);
    oracle_prefix_free(&o);
}

/* The promise table: durable modes promise every acknowledgement, buffered
 * ones only what a successful sync came after. */
static void test_oracle_promise_table(void **state)
{
    (void)state;
    assert_int_equal(oracle_promised(ORACLE_PROMISE_ACK, 17, 0), 17);
    assert_int_equal(oracle_promised(ORACLE_PROMISE_ACK, 17, 9), 17);
    assert_int_equal(oracle_promised(ORACLE_PROMISE_SYNC, 17, 0), 0);
    assert_int_equal(oracle_promised(ORACLE_PROMISE_SYNC, 17, 9), 9);
    /* a sync read after a later acknowledgement never promises more than
     * was acknowledged */
    assert_int_equal(oracle_promised(ORACLE_PROMISE_SYNC, 9, 12), 9);
}

/* The last transaction that changed the state: trailing ones that left
 * it as it was (same hash and key count) do not count. */
static void test_oracle_last_change_skips_unchanged(void **state)
{
    uint64_t h[] = {0, 7, 9, 9, 9, 4};
    uint32_t count[] = {0, 1, 2, 2, 2, 1};
    oracle_prefix o = {5, h, count};

    (void)state;
    assert_int_equal(oracle_last_change(&o, 5), 5);
    assert_int_equal(oracle_last_change(&o, 4), 2);
    assert_int_equal(oracle_last_change(&o, 2), 2);
    assert_int_equal(oracle_last_change(&o, 0), 0);
    assert_int_equal(oracle_last_change(&o, 9), 5); /* clipped to o.n */
}

/* Promises that differ by crash: process-crash-only ones promise nothing
 * after a power cut (or only what a sync came after), and what they lose
 * there is an expected loss, not a violation; the integrity kinds stay
 * violations. */
static void test_oracle_promise_by_crash(void **state)
{
    (void)state;
    for (int pl = 0; pl <= 1; pl++) {
        assert_int_equal(oracle_promised_after(ORACLE_PROMISE_ACK, pl, 17, 9),
                         17);
        assert_int_equal(oracle_promised_after(ORACLE_PROMISE_SYNC, pl, 17, 9),
                         9);
    }
    assert_int_equal(oracle_promised_after(ORACLE_PROMISE_PROCESS, 0, 17, 9),
                     17);
    assert_int_equal(oracle_promised_after(ORACLE_PROMISE_PROCESS, 1, 17, 9),
                     0);
    assert_int_equal(
        oracle_promised_after(ORACLE_PROMISE_PROCESS_SYNC, 0, 17, 9), 17);
    assert_int_equal(
        oracle_promised_after(ORACLE_PROMISE_PROCESS_SYNC, 1, 17, 9), 9);
    assert_int_equal(oracle_promised(ORACLE_PROMISE_PROCESS_SYNC, 17, 9), 17);
    /* all but the last commit after a power cut, the last too once a sync
     * call returned after it */
    assert_int_equal(
        oracle_promised_after(ORACLE_PROMISE_PROCESS_PREV, 0, 17, 9), 17);
    assert_int_equal(
        oracle_promised_after(ORACLE_PROMISE_PROCESS_PREV, 1, 17, 9), 16);
    assert_int_equal(
        oracle_promised_after(ORACLE_PROMISE_PROCESS_PREV, 1, 17, 17), 17);
    assert_int_equal(
        oracle_promised_after(ORACLE_PROMISE_PROCESS_PREV, 1, 0, 0), 0);
    assert_false(oracle_is_violation(ORACLE_OK));
    assert_false(oracle_is_violation(ORACLE_DETECTED));
    assert_false(oracle_is_violation(ORACLE_EXPECTED_LOSS));
    assert_true(oracle_is_violation(ORACLE_DURABILITY));
    assert_true(oracle_is_violation(ORACLE_ATOMICITY));
    assert_true(oracle_is_violation(ORACLE_PREFIX));
    assert_true(oracle_is_violation(ORACLE_STRUCTURE));
    assert_string_equal(oracle_kind_name(ORACLE_EXPECTED_LOSS),
                        "expected-loss");
}

/* In sync off, commits after the last sync may be lost, but those before
 * it may not: the rule the sync-point workload calls make testable. */
static void test_oracle_sync_point_rule(void **state)
{
    oracle_prefix o;
    oracle_map *r = model_after(10);
    char detail[256];
    uint32_t k;
    uint32_t lo_ok = oracle_promised(ORACLE_PROMISE_SYNC, 20, 6);
    uint32_t lo_bad = oracle_promised(ORACLE_PROMISE_SYNC, 20, 12);

    (void)state;
    assert_int_equal(oracle_prefix_build(&WL, &o), 0);
    /* acknowledged 20, synced after 6: the state after 10 passes */
    assert_int_equal(oracle_judge_claim(&WL, &o, r, lo_ok, 0, 20,
                                        ORACLE_NO_SKIP, &k, detail,
                                        sizeof(detail)),
                     ORACLE_OK);
    assert_int_equal(k, 10);
    /* synced after 12: transactions 10 and 11 are lost */
    assert_int_equal(oracle_judge_claim(&WL, &o, r, lo_bad, 0, 20,
                                        ORACLE_NO_SKIP, &k, detail,
                                        sizeof(detail)),
                     ORACLE_DURABILITY);
    assert_int_equal(k, 10);
    oracle_map_free(r);
    oracle_prefix_free(&o);
}

/* The engine's durable LSN is a claim the oracle checks: losing what it
 * claimed is a violation of its own kind; losing what the workload was
 * promised stays a durability violation. */
static void test_oracle_claimed_durable_is_checked(void **state)
{
    oracle_prefix o;
    oracle_map *r = model_after(10);
    char detail[256];
    uint32_t k;

    (void)state;
    assert_int_equal(oracle_prefix_build(&WL, &o), 0);
    /* promised 8, claimed 12, recovered 10 */
    assert_int_equal(oracle_judge_claim(&WL, &o, r, 8, 12, 20, ORACLE_NO_SKIP,
                                        &k, detail, sizeof(detail)),
                     ORACLE_CLAIMED);
    assert_int_equal(k, 10);
    assert_string_equal(oracle_kind_name(ORACLE_CLAIMED), "claimed");
    /* promised 12, claimed 14, recovered 10: the promise decides */
    assert_int_equal(oracle_judge_claim(&WL, &o, r, 12, 14, 20, ORACLE_NO_SKIP,
                                        &k, detail, sizeof(detail)),
                     ORACLE_DURABILITY);
    /* promised 8, claimed 10, recovered 10: kept */
    assert_int_equal(oracle_judge_claim(&WL, &o, r, 8, 10, 20, ORACLE_NO_SKIP,
                                        &k, detail, sizeof(detail)),
                     ORACLE_OK);
    oracle_map_free(r);
    oracle_prefix_free(&o);
}

/* Judge the state after k transactions in window w. */
static oracle_kind judge_in(const oracle_prefix *o, const oracle_window *w,
                            uint32_t k, uint32_t *got)
{
    oracle_map *r = model_after(k);
    char detail[256];
    oracle_kind v =
        oracle_judge_claim(&WL, o, r, w->lo, w->claimed, w->hi, ORACLE_NO_SKIP,
                           got, detail, sizeof(detail));

    oracle_map_free(r);
    return v;
}

/* A crash chain: the writer was promised 8 of 20 issued; its recovery
 * found 10 and went on from there, was promised up to 25 and issued 26,
 * then crashed.  The final state must hold every link's promises. */
static void test_oracle_chain_holds_every_link(void **state)
{
    oracle_prefix o;
    oracle_window w = {8, 8, 20};
    uint32_t k;

    (void)state;
    assert_int_equal(oracle_prefix_build(&WL, &o), 0);
    oracle_chain_add(&w, 10, 1, 25, 25, 26);
    assert_int_equal(w.lo, 25);
    assert_int_equal(w.hi, 26);
    /* a clean chain: every promise kept */
    assert_int_equal(judge_in(&o, &w, 25, &k), ORACLE_OK);
    assert_int_equal(judge_in(&o, &w, 26, &k), ORACLE_OK);
    /* the second link's acknowledged commits lost */
    assert_int_equal(judge_in(&o, &w, 12, &k), ORACLE_DURABILITY);
    /* and the first link's: below what the first writer was promised */
    assert_int_equal(judge_in(&o, &w, 5, &k), ORACLE_DURABILITY);
    assert_int_equal(k, 5);
    oracle_prefix_free(&o);
}

/* A chain's link went on from transaction 10 with values of its own: the
 * state after its transactions passes against the chain's history, and a
 * state where the first writer's transaction 12, which the link's
 * recovery had dropped, came back in place of the link's (what a
 * recovery that does not make its cut of the log durable can leave after
 * a power cut) is a violation, though it has the same keys. */
static void test_oracle_chain_resurrected_transaction(void **state)
{
    wl_params h = WL;
    oracle_prefix o;
    oracle_map *r;
    char detail[256];
    uint32_t k;
    wl_txn t;

    (void)state;
    assert_int_equal(wl_history_add(&h.hist, 10), 0);
    assert_int_equal(oracle_prefix_build(&h, &o), 0);
    r = model_of(&h, 15);
    assert_int_equal(
        oracle_judge(&h, &o, r, 10, 15, &k, detail, sizeof(detail)), ORACLE_OK);
    assert_int_equal(k, 15);
    oracle_map_free(r);
    /* the link's 10 and 11, then the first writer's 12, 13 and 14 */
    r = model_of(&h, 12);
    assert_int_equal(wl_txn_init(&t), 0);
    for (uint32_t i = 12; i < 15; i++) {
        wl_gen(&WL, i, &t);
        assert_int_equal(oracle_map_apply(r, &t), 0);
    }
    assert_true(oracle_is_violation(
        oracle_judge(&h, &o, r, 10, 15, &k, detail, sizeof(detail))));
    wl_txn_free(&t);
    oracle_map_free(r);
    oracle_prefix_free(&o);
}

/* A link killed in its own recovery adds nothing; a later link that
 * acknowledged nothing still holds the first writer's promise, and what
 * its recovery did not find may not come back unissued. */
static void test_oracle_chain_earlier_link_promise_stays(void **state)
{
    oracle_prefix o;
    oracle_window w = {8, 8, 20};
    uint32_t k;

    (void)state;
    assert_int_equal(oracle_prefix_build(&WL, &o), 0);
    oracle_chain_add(&w, 0, 0, 0, 0, 0); /* crashed in recovery */
    assert_int_equal(w.lo, 8);
    assert_int_equal(w.hi, 20);
    oracle_chain_add(&w, 10, 1, 0, 0, 12); /* recovered 10, issued to 12 */
    assert_int_equal(w.lo, 8);
    assert_int_equal(w.hi, 12);
    assert_int_equal(judge_in(&o, &w, 9, &k), ORACLE_OK);
    /* the first writer's promised commits lost after the second crash */
    assert_int_equal(judge_in(&o, &w, 7, &k), ORACLE_DURABILITY);
    /* transactions the second recovery had not found came back */
    assert_int_equal(judge_in(&o, &w, 15, &k), ORACLE_PREFIX);
    oracle_prefix_free(&o);
}

static void test_oracle_partial_transaction(void **state)
{
    oracle_prefix o;
    char detail[256];
    uint32_t k;
    wl_txn t;
    uint32_t i;

    (void)state;
    assert_int_equal(oracle_prefix_build(&WL, &o), 0);
    assert_int_equal(wl_txn_init(&t), 0);
    /* find a transaction that changes at least two distinct keys */
    for (i = 5; i < 40; i++) {
        wl_gen(&WL, i, &t);
        if (t.nops >= 3 && !t.ops[0].del && !t.ops[t.nops - 1].del &&
            (t.ops[0].klen != t.ops[t.nops - 1].klen ||
             memcmp(t.ops[0].key, t.ops[t.nops - 1].key, t.ops[0].klen)))
            break;
    }
    assert_true(i < 40);
    {
        oracle_map *r = model_after(i);
        /* apply only the first operation of transaction i */
        oracle_map_put(r, t.ops[0].key, t.ops[0].klen, t.ops[0].val,
                       t.ops[0].vlen);
        assert_int_equal(
            oracle_judge(&WL, &o, r, 0, 40, &k, detail, sizeof(detail)),
            ORACLE_ATOMICITY);
        assert_int_equal(k, i);
        assert_non_null(strstr(detail, "partly"));
        oracle_map_free(r);
    }
    wl_txn_free(&t);
    oracle_prefix_free(&o);
}

static void test_oracle_unexplained_states(void **state)
{
    oracle_prefix o;
    char detail[256];
    uint32_t k;
    oracle_map *r;

    (void)state;
    assert_int_equal(oracle_prefix_build(&WL, &o), 0);
    /* a value never written */
    r = model_after(20);
    oracle_map_put(r, "stranger", 8, "x", 1);
    assert_int_equal(
        oracle_judge(&WL, &o, r, 0, 40, &k, detail, sizeof(detail)),
        ORACLE_PREFIX);
    assert_non_null(strstr(detail, "matches no prefix"));
    oracle_map_free(r);
    /* more transactions than were issued */
    r = model_after(30);
    assert_int_equal(
        oracle_judge(&WL, &o, r, 0, 25, &k, detail, sizeof(detail)),
        ORACLE_PREFIX);
    assert_int_equal(k, 30);
    assert_non_null(strstr(detail, "issued"));
    oracle_map_free(r);
    /* a transaction missing from the middle */
    {
        oracle_map *m = oracle_map_new();
        wl_txn t;
        assert_int_equal(wl_txn_init(&t), 0);
        for (uint32_t i = 0; i < 30; i++) {
            wl_gen(&WL, i, &t);
            if (i != 12)
                oracle_map_apply(m, &t);
        }
        assert_int_equal(
            oracle_judge(&WL, &o, m, 0, 40, &k, detail, sizeof(detail)),
            ORACLE_PREFIX);
        wl_txn_free(&t);
        oracle_map_free(m);
    }
    oracle_prefix_free(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_oracle_hash_depends_only_on_content),
        cmocka_unit_test(test_oracle_prefix_in_window_passes),
        cmocka_unit_test(test_oracle_skipped_transaction_must_be_absent),
        cmocka_unit_test(test_oracle_every_prefix_of_every_workload),
        cmocka_unit_test(test_oracle_lost_durable_transactions),
        cmocka_unit_test(test_oracle_promise_table),
        cmocka_unit_test(test_oracle_sync_point_rule),
        cmocka_unit_test(test_oracle_claimed_durable_is_checked),
        cmocka_unit_test(test_oracle_chain_holds_every_link),
        cmocka_unit_test(test_oracle_chain_earlier_link_promise_stays),
        cmocka_unit_test(test_oracle_chain_resurrected_transaction),
        cmocka_unit_test(test_oracle_partial_transaction),
        cmocka_unit_test(test_oracle_promise_by_crash),
        cmocka_unit_test(test_oracle_last_change_skips_unchanged),
        cmocka_unit_test(test_oracle_unexplained_states),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
