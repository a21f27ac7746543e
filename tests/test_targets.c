/*
 * test_targets.c - every target's two read paths agree: after commits of
 * puts, replacements and deletes, a point read (target_ops.get) of each
 * key finds what the scan (read_all) reads back, and finds nothing for a
 * key deleted or never written, before and after a reopen.  The verifier
 * judges a crash state by both (docs/ORACLE.md), so a get that misreads
 * would be a false violation.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "oracle.h"
#include "target.h"
#include "testutil.h"

#define NKEYS 40

static void key_of(int i, char *k, size_t len)
{
    snprintf(k, len, "key-%04d", i);
}

/* Transaction r: puts keys r*10 .. r*10+19 (the first ten replace what
 * the round before put), then deletes every third key of the round
 * before. */
static void fill(wl_txn *t, int r, char keys[][16], char vals[][64])
{
    int n = 0;

    memset(t->ops, 0, sizeof(t->ops));
    t->index = (uint32_t)r;
    for (int i = r * 10; i < r * 10 + 20 && i < NKEYS; i++) {
        key_of(i, keys[n], sizeof(keys[n]));
        snprintf(vals[n], sizeof(vals[n]), "value %d of round %d", i, r);
        t->ops[n].key = (const uint8_t *)keys[n];
        t->ops[n].klen = (uint32_t)strlen(keys[n]);
        t->ops[n].val = (const uint8_t *)vals[n];
        t->ops[n].vlen = (uint32_t)strlen(vals[n]);
        n++;
    }
    for (int i = (r - 1) * 10; r > 0 && i < r * 10; i += 3) {
        key_of(i, keys[n], sizeof(keys[n]));
        t->ops[n].del = 1;
        t->ops[n].key = (const uint8_t *)keys[n];
        t->ops[n].klen = (uint32_t)strlen(keys[n]);
        n++;
    }
    t->nops = (uint32_t)n;
}

/* Every key of the key space, and one never written: get agrees with
 * read_all. */
static void expect_agree(const target_ops *tg, void *h)
{
    oracle_map *m = oracle_map_new();
    size_t found = 0;

    assert_non_null(m);
    assert_int_equal(tg->read_all(h, m), 0);
    for (int i = 0; i <= NKEYS; i++) {
        char k[16];
        void *v = NULL;
        size_t vl = 0, sl = 0;
        const uint8_t *sv;
        int rc;

        key_of(i == NKEYS ? 9999 : i, k, sizeof(k));
        sv = oracle_map_get(m, k, strlen(k), &sl);
        rc = tg->get(h, k, strlen(k), &v, &vl);
        if (sv == NULL) {
            if (rc != CL_ENOTFOUND)
                fail_msg("%s: get(%s) gave %d, the scan has no such key",
                         tg->name, k, rc);
        } else {
            if (rc != 0 || vl != sl || memcmp(v, sv, sl) != 0)
                fail_msg("%s: get(%s) gave %d and %zu bytes, the scan %zu",
                         tg->name, k, rc, vl, sl);
            found++;
        }
        free(v);
    }
    assert_int_equal(found, oracle_map_count(m));
    assert_true(found > NKEYS / 2);
    oracle_map_free(m);
}

static void test_targets_agree(void **state)
{
    const target_ops *tg = target_find(*state);
    char *tmp = tu_tmpdir("targets");
    const char *dir = tu_path(tmp, "db");
    char keys[WL_MAX_OPS][16], vals[WL_MAX_OPS][64];
    cl_options o;
    wl_txn t;
    void *h = NULL;
    uint64_t lsn;

    assert_non_null(tg);
    assert_non_null(tg->get);
    memset(&o, 0, sizeof(o));
    memset(&t, 0, sizeof(t));
    o.io = cl_io_posix();
    assert_int_equal(tg->open(dir, &o, &h), 0);
    for (int r = 0; r < 4; r++) {
        fill(&t, r, keys, vals);
        assert_int_equal(tg->apply(h, &t, &lsn), 0);
    }
    expect_agree(tg, h);
    assert_int_equal(tg->close(h), 0);
    assert_int_equal(tg->open(dir, &o, &h), 0);
    expect_agree(tg, h);
    assert_int_equal(tg->close(h), 0);
    fs_rmrf(tmp);
    free(tmp);
}

/* One test per target, whose name is the test's state. */
#define TARGET_TEST(t)                                                         \
    {                                                                          \
        .name = "test_targets_" t, .test_func = test_targets_agree,            \
        .initial_state = (void *)t                                             \
    }

int main(void)
{
    const struct CMUnitTest tests[] = {
        TARGET_TEST("engine"),  TARGET_TEST("sqlite"),  TARGET_TEST("lmdb"),
        TARGET_TEST("leveldb"), TARGET_TEST("rocksdb"),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
