/*
 * test_kvbench.c - kvbench's own correctness: values are checked byte for
 * byte, and a read that returns something other than what was written
 * (a flipped byte, a wrong length, a missing key, a scan out of order) is
 * reported, never counted as a good operation.  The bad reads come from an
 * adapter that wraps our engine's and damages what it returns.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bench.h"
#include "testutil.h"

/* ---------------------------------------------------------------------- */
/* a damaging adapter                                                     */
/* ---------------------------------------------------------------------- */

enum { DMG_NONE, DMG_FLIP, DMG_SHORT, DMG_MISSING, DMG_SCAN_SKIP };

static int dmg_mode;
static uint64_t dmg_hits;

/* Key number of a key made by bench_key with prefix "k". */
static uint64_t dmg_keyno(const void *k, size_t klen)
{
    uint64_t n = 0;

    for (size_t i = 1; i < klen; i++)
        n = n * 10 + (uint64_t)(((const char *)k)[i] - '0');
    return n;
}

static int dmg_get(void *th, const void *k, size_t klen, void *buf, size_t cap,
                   size_t *vlen)
{
    int rc = bench_crashlab.get(th, k, klen, buf, cap, vlen);

    if (rc != 0 || dmg_keyno(k, klen) != 7)
        return rc;
    dmg_hits++;
    switch (dmg_mode) {
    case DMG_FLIP:
        ((uint8_t *)buf)[*vlen / 2] ^= 0x10;
        break;
    case DMG_SHORT:
        (*vlen)--;
        break;
    case DMG_MISSING:
        return 1;
    }
    return 0;
}

typedef struct dmg_scan_ctx {
    bench_scan_fn fn;
    void *ctx;
} dmg_scan_ctx;

static int dmg_scan_cb(void *ctx, const void *k, size_t klen, const void *v,
                       size_t vlen)
{
    dmg_scan_ctx *c = ctx;
    uint8_t copy[256];

    if (dmg_keyno(k, klen) == 7) {
        dmg_hits++;
        if (dmg_mode == DMG_SCAN_SKIP)
            return 0;
        if (dmg_mode == DMG_FLIP && vlen <= sizeof(copy) && vlen > 0) {
            memcpy(copy, v, vlen);
            copy[0] ^= 1;
            return c->fn(c->ctx, k, klen, copy, vlen);
        }
    }
    return c->fn(c->ctx, k, klen, v, vlen);
}

static int dmg_scan(void *th, bench_scan_fn fn, void *ctx)
{
    dmg_scan_ctx c = {fn, ctx};

    return bench_crashlab.scan(th, dmg_scan_cb, &c);
}

static bench_engine dmg_engine(void)
{
    bench_engine e = bench_crashlab;

    e.name = "damaging";
    e.get = dmg_get;
    e.scan = dmg_scan;
    return e;
}

static void dmg_params(bench_params *p, const char *dir)
{
    memset(p, 0, sizeof(*p));
    p->dir = dir;
    p->prefix = "k";
    p->n = 2000;
    p->keys = 100;
    p->threads = 1;
    p->batch = 50;
    p->vsize = 100;
    p->seed = 42;
    p->cache_bytes = 1 << 20;
}

/* ---------------------------------------------------------------------- */
/* tests                                                                  */
/* ---------------------------------------------------------------------- */

static void test_kvbench_check_accepts_the_value_written(void **state)
{
    uint8_t v[300];

    (void)state;
    for (size_t len = 0; len <= sizeof(v); len += 37) {
        bench_value(v, len, 9, 123);
        assert_int_equal(bench_check(v, len, len, 9, 123), 0);
    }
}

static void test_kvbench_check_reports_a_flipped_byte(void **state)
{
    uint8_t v[100];

    (void)state;
    bench_value(v, sizeof(v), 9, 5);
    v[63] ^= 0x80;
    assert_int_equal(bench_check(v, sizeof(v), sizeof(v), 9, 5), -1);
    assert_non_null(strstr(bench_errmsg(), "byte 63"));
    v[63] ^= 0x80;
    /* the value of another key, or under another seed, is not accepted */
    assert_int_equal(bench_check(v, sizeof(v), sizeof(v), 9, 6), -1);
    assert_int_equal(bench_check(v, sizeof(v), sizeof(v), 8, 5), -1);
}

static void test_kvbench_check_reports_a_wrong_length(void **state)
{
    uint8_t v[101];

    (void)state;
    bench_value(v, sizeof(v), 1, 1);
    assert_int_equal(bench_check(v, 100, 101, 1, 1), -1);
    assert_non_null(strstr(bench_errmsg(), "100 bytes"));
    assert_int_equal(bench_check(v, 101, 100, 1, 1), -1);
}

static void test_kvbench_keys_and_shuffle(void **state)
{
    char k[BENCH_KEY_MAX];
    uint32_t *perm = bench_shuffle(1000, 3);
    uint8_t seen[1000] = {0};

    (void)state;
    assert_int_equal(bench_key(k, "k", 1, 42), 17);
    assert_memory_equal(k, "k0000000000000042", 17);
    assert_non_null(perm);
    for (int i = 0; i < 1000; i++) {
        assert_true(perm[i] < 1000);
        assert_int_equal(seen[perm[i]], 0);
        seen[perm[i]] = 1;
    }
    free(perm);
}

static void test_kvbench_histogram_quantiles(void **state)
{
    bench_hist *h = calloc(1, sizeof(*h));

    (void)state;
    assert_non_null(h);
    for (uint64_t v = 1; v <= 100000; v++)
        bench_hist_add(h, v * 1000); /* 1 us .. 100 ms */
    assert_int_equal(h->count, 100000);
    /* within the 3% bucket width */
    assert_true(bench_hist_quantile(h, 0.5) > 48.5e6 &&
                bench_hist_quantile(h, 0.5) < 51.5e6);
    assert_true(bench_hist_quantile(h, 0.99) > 96e6 &&
                bench_hist_quantile(h, 0.99) < 102e6);
    assert_true(bench_hist_quantile(h, 1.0) <= 100e6);
    free(h);
}

/* The real engine, undamaged: every read checks out. */
static void test_kvbench_get_and_scan_clean(void **state)
{
    char *dir = tu_tmpdir("kvbench");
    bench_params p;
    bench_result r;

    (void)state;
    dmg_params(&p, tu_path(dir, "get"));
    assert_int_equal(bench_run(&bench_crashlab, BS_GET, &p, &r), 0);
    assert_int_equal(r.ops, 2000);
    assert_int_equal(r.corrupt, 0);
    assert_int_equal(r.lat.count, 2000);
    p.dir = tu_path(dir, "scan");
    p.n = 2;
    assert_int_equal(bench_run(&bench_crashlab, BS_SCAN, &p, &r), 0);
    assert_int_equal(r.ops, 200);
    assert_int_equal(r.corrupt, 0);
    fs_rmrf(dir);
    free(dir);
}

static void dmg_expect_corrupt(int scenario, int mode)
{
    char *dir = tu_tmpdir("kvbench");
    bench_engine e = dmg_engine();
    bench_params p;
    bench_result r;

    dmg_params(&p, tu_path(dir, "db"));
    if (scenario == BS_SCAN)
        p.n = 1;
    dmg_mode = mode;
    dmg_hits = 0;
    assert_int_equal(bench_run(&e, scenario, &p, &r), -1);
    assert_true(dmg_hits > 0);
    assert_true(r.corrupt > 0);
    assert_non_null(strstr(bench_errmsg(), "CORRUPT READ"));
    dmg_mode = DMG_NONE;
    fs_rmrf(dir);
    free(dir);
}

static void test_kvbench_get_reports_a_flipped_byte(void **state)
{
    (void)state;
    dmg_expect_corrupt(BS_GET, DMG_FLIP);
    assert_non_null(strstr(bench_errmsg(), "key number 7"));
}

static void test_kvbench_get_reports_a_short_value(void **state)
{
    (void)state;
    dmg_expect_corrupt(BS_GET, DMG_SHORT);
}

static void test_kvbench_get_reports_a_missing_key(void **state)
{
    (void)state;
    dmg_expect_corrupt(BS_GET, DMG_MISSING);
    assert_non_null(strstr(bench_errmsg(), "missing"));
}

static void test_kvbench_scan_reports_a_flipped_byte(void **state)
{
    (void)state;
    dmg_expect_corrupt(BS_SCAN, DMG_FLIP);
}

static void test_kvbench_scan_reports_a_skipped_key(void **state)
{
    (void)state;
    dmg_expect_corrupt(BS_SCAN, DMG_SCAN_SKIP);
}

/* bench_verify_all, used after recovery, counts bad keys. */
static void test_kvbench_verify_all_counts_bad_keys(void **state)
{
    char *dir = tu_tmpdir("kvbench");
    bench_engine e = dmg_engine();
    bench_params p;
    bench_result r;
    bench_cfg cfg = {0, 0, 1 << 20};
    uint64_t found, corrupt;
    void *db;

    (void)state;
    dmg_params(&p, tu_path(dir, "db"));
    p.n = 300;
    assert_int_equal(bench_run(&bench_crashlab, BS_NOSYNC_PUT, &p, &r), 0);
    assert_int_equal(r.ops, 300);
    assert_int_equal(e.open(p.dir, &cfg, &db), 0);
    assert_int_equal(bench_verify_all(&e, db, &p, 300, &found, &corrupt), 0);
    assert_int_equal(found, 300);
    dmg_mode = DMG_FLIP;
    assert_int_equal(bench_verify_all(&e, db, &p, 300, &found, &corrupt), -1);
    assert_int_equal(found, 299);
    assert_int_equal(corrupt, 1);
    dmg_mode = DMG_NONE;
    /* a key that was never written is missing */
    assert_int_equal(bench_verify_all(&e, db, &p, 301, &found, &corrupt), -1);
    assert_int_equal(corrupt, 1);
    assert_int_equal(e.close(db), 0);
    fs_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kvbench_check_accepts_the_value_written),
        cmocka_unit_test(test_kvbench_check_reports_a_flipped_byte),
        cmocka_unit_test(test_kvbench_check_reports_a_wrong_length),
        cmocka_unit_test(test_kvbench_keys_and_shuffle),
        cmocka_unit_test(test_kvbench_histogram_quantiles),
        cmocka_unit_test(test_kvbench_get_and_scan_clean),
        cmocka_unit_test(test_kvbench_get_reports_a_flipped_byte),
        cmocka_unit_test(test_kvbench_get_reports_a_short_value),
        cmocka_unit_test(test_kvbench_get_reports_a_missing_key),
        cmocka_unit_test(test_kvbench_scan_reports_a_flipped_byte),
        cmocka_unit_test(test_kvbench_scan_reports_a_skipped_key),
        cmocka_unit_test(test_kvbench_verify_all_counts_bad_keys),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
