/*
 * test_swarm.c - the swarm draw is a pure function of the variant's seed
 * and the pins, leaves pinned settings alone, stays within the engine's
 * bounds, and spreads over every value it promises; and its variants with
 * the doublewrite area do start the ring over when run on the engine.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "campaign.h"
#include "swarm.h"
#include "target.h"
#include "testutil.h"

static void draw_as(uint64_t seed, int directed, const swarm_pins *pins,
                    cl_options *eng, wl_params *wl)
{
    memset(eng, 0, sizeof(*eng));
    memset(wl, 0, sizeof(*wl));
    eng->sync = CL_SYNC_GROUP;
    eng->torn = CL_TORN_FPW;
    wl->kind = WL_MIXED;
    wl->seed = seed;
    wl->txns = pins->txns ? pins->txns : 40;
    static const swarm_aim no_aim;
    swarm_draw(pins, 40, directed ? &no_aim : NULL, eng, wl);
}

static void draw(uint64_t seed, const swarm_pins *pins, cl_options *eng,
                 wl_params *wl)
{
    draw_as(seed, 0, pins, eng, wl);
}

static void test_swarm_same_seed_same_draw(void **state)
{
    swarm_pins none;
    cl_options a, b;
    wl_params wa, wb;
    int differ = 0;

    (void)state;
    memset(&none, 0, sizeof(none));
    for (uint64_t s = 1; s < 200; s++) {
        draw(s, &none, &a, &wa);
        draw(s, &none, &b, &wb);
        assert_memory_equal(&a, &b, sizeof(a));
        assert_memory_equal(&wa, &wb, sizeof(wa));
        draw(s + 1000, &none, &b, &wb);
        differ += memcmp(&a, &b, sizeof(a)) != 0;
    }
    assert_true(differ > 150);
}

static void test_swarm_pins_are_kept(void **state)
{
    swarm_pins pins, none;
    cl_options a, b;
    wl_params wa, wb;

    (void)state;
    memset(&none, 0, sizeof(none));
    memset(&pins, 0, sizeof(pins));
    pins.eng.sync = CL_SYNC_COMMIT;
    pins.eng.segment_bytes = 1u << 20;
    pins.eng.pool_bytes = 8u << 20;
    pins.txns = 7;
    for (uint64_t s = 1; s < 200; s++) {
        draw(s, &pins, &a, &wa);
        /* what is pinned keeps the campaign's value (the draw leaves it) */
        assert_int_equal(a.sync, CL_SYNC_GROUP);
        assert_int_equal(a.segment_bytes, 0);
        assert_int_equal(a.pool_bytes, 0);
        assert_int_equal(wa.txns, 7);
        /* and pinning one setting leaves the others' draws as they were */
        draw(s, &none, &b, &wb);
        assert_int_equal(a.torn, b.torn);
        assert_int_equal(a.page_size, b.page_size);
        assert_int_equal(a.checkpoint_bytes, b.checkpoint_bytes);
        assert_int_equal(wa.keys, wb.keys);
        assert_int_equal(wa.drain != 0, wb.drain != 0);
    }
}

static void test_swarm_draws_within_bounds_and_reach_every_value(void **state)
{
    swarm_pins none;
    cl_options e;
    wl_params w;
    int sync[4] = {0}, torn[3] = {0}, small_pool = 0, small_seg = 0,
        back_to_back = 0, longer = 0, drain = 0, wide = 0;

    (void)state;
    memset(&none, 0, sizeof(none));
    for (uint64_t s = 1; s <= 2000; s++) {
        draw(s, &none, &e, &w);
        assert_true(e.sync >= CL_SYNC_OFF && e.sync <= CL_SYNC_PERIODIC);
        assert_true(e.torn >= CL_TORN_NONE && e.torn <= CL_TORN_DWB);
        assert_true(e.page_size >= 4096 && e.page_size <= 65536 &&
                    (e.page_size & (e.page_size - 1)) == 0);
        /* the engine's bounds (db.c), and a pool of at least
         * SWARM_MIN_FRAMES pages */
        assert_true(e.pool_bytes == 0 ||
                    (e.pool_bytes >= (256u << 10) &&
                     e.pool_bytes >= (uint64_t)SWARM_MIN_FRAMES * e.page_size));
        assert_true(e.segment_bytes == 0 || e.segment_bytes >= (64u << 10));
        assert_true(e.checkpoint_bytes == 0 ||
                    e.checkpoint_bytes >= (4u << 10));
        assert_true(w.txns >= 40 && w.txns <= 40 * 16);
        sync[e.sync - CL_SYNC_OFF]++;
        torn[e.torn - CL_TORN_NONE]++;
        small_pool += e.pool_bytes != 0 && e.pool_bytes < (1u << 20);
        small_seg += e.segment_bytes == (64u << 10);
        back_to_back += e.checkpoint_bytes != 0 && e.checkpoint_bytes <= 16384;
        longer += w.txns > 40;
        drain += w.drain != 0;
        assert_true(w.drain == 0 || w.drain == (w.txns + 1) / 2);
        /* a draining workload has a tree with leaves to merge */
        assert_true(w.drain == 0 || w.txns >= 4 * 40);
        wide += w.keys > 1;
        /* the smallest pool comes with a workload long enough to evict */
        if (e.pool_bytes == (uint64_t)SWARM_MIN_FRAMES * e.page_size ||
            e.pool_bytes == (256u << 10))
            assert_true(w.txns > 40 || w.kind == WL_LARGE);
    }
    for (int i = 0; i < 4; i++)
        assert_true(sync[i] > 300);
    for (int i = 0; i < 3; i++)
        assert_true(torn[i] > 400);
    assert_true(small_pool > 300 && small_seg > 300 && back_to_back > 300);
    assert_true(longer > 300 && drain > 300 && wide > 300);
}

/* The directed draw (further variants that must reach what the first
 * ones missed): no periodic sync (its runs do not repeat, so they cannot
 * be chosen by what they reached), always torn-page protection, and the
 * rare ends more often than the plain draw. */
static void test_swarm_directed_draw_favours_rare_settings(void **state)
{
    swarm_pins none;
    cl_options e;
    wl_params w;
    int small_pool[2] = {0}, dwb[2] = {0}, drain[2] = {0}, longer[2] = {0};

    (void)state;
    memset(&none, 0, sizeof(none));
    for (int d = 0; d < 2; d++)
        for (uint64_t s = 1; s <= 2000; s++) {
            draw_as(s, d, &none, &e, &w);
            if (d) {
                assert_int_not_equal(e.sync, CL_SYNC_PERIODIC);
                assert_int_not_equal(e.torn, CL_TORN_NONE);
            }
            small_pool[d] +=
                e.pool_bytes == (256u << 10) ||
                e.pool_bytes == (uint64_t)SWARM_MIN_FRAMES * e.page_size;
            dwb[d] += e.torn == CL_TORN_DWB;
            drain[d] += w.drain != 0;
            longer[d] += w.txns > 40;
        }
    assert_true(small_pool[1] > 2 * small_pool[0]);
    assert_true(dwb[1] > dwb[0] + 400);
    assert_true(drain[1] > drain[0] + 200);
    assert_true(longer[1] > longer[0] + 400);
}

/* A directed draw's aim sets each setting it names, for every seed,
 * unless the command line pinned it; a pinned one stays as given. */
static void test_swarm_aim_sets_what_it_names(void **state)
{
    swarm_pins none, pinned;
    swarm_aim aim = {.sync = 2,
                     .doublewrite = 1,
                     .ring = 1,
                     .small_pool = 1,
                     .drain = 1,
                     .small_segments = 1,
                     .checkpoints = 1};
    swarm_aim each = {.sync = 1};
    cl_options e;
    wl_params w;

    (void)state;
    memset(&none, 0, sizeof(none));
    memset(&pinned, 0, sizeof(pinned));
    pinned.eng.sync = CL_SYNC_COMMIT;
    pinned.eng.torn = CL_TORN_FPW;
    pinned.eng.segment_bytes = 1u << 20;
    for (uint64_t s = 1; s <= 500; s++) {
        memset(&e, 0, sizeof(e));
        memset(&w, 0, sizeof(w));
        w.kind = WL_MIXED;
        w.seed = s;
        swarm_draw(&none, 40, &aim, &e, &w);
        assert_int_equal(e.sync, CL_SYNC_OFF);
        assert_int_equal(e.torn, CL_TORN_DWB);
        assert_true(e.pool_bytes == (uint64_t)SWARM_MIN_FRAMES *
                                        (e.page_size ? e.page_size : 4096) ||
                    e.pool_bytes == (256u << 10));
        assert_int_equal(e.segment_bytes, 64u << 10);
        assert_true(e.checkpoint_bytes != 0);
        assert_true(w.drain != 0);
        memset(&e, 0, sizeof(e));
        swarm_draw(&none, 40, &each, &e, &w);
        assert_true(e.sync == CL_SYNC_COMMIT || e.sync == CL_SYNC_GROUP);
        memset(&e, 0, sizeof(e));
        e.sync = CL_SYNC_COMMIT;
        e.torn = CL_TORN_FPW;
        e.segment_bytes = 1u << 20;
        swarm_draw(&pinned, 40, &aim, &e, &w);
        assert_int_equal(e.sync, CL_SYNC_COMMIT);
        assert_int_equal(e.torn, CL_TORN_FPW);
        assert_int_equal(e.segment_bytes, 1u << 20);
    }
}

/* The mechanisms the engine said it was in (cl_io.activity) during a run. */
static uint32_t swarm_seen;

static void swarm_on_activity(void *ctx, uint32_t act, int on)
{
    (void)ctx;
    if (on)
        swarm_seen |= act;
}

/* Run the workload of a drawn variant on the engine, without crashing, in
 * a fresh directory under root; returns the mechanisms it went through. */
static uint32_t run_variant(const char *root, const cl_options *drawn,
                            const wl_params *wl)
{
    const target_ops *tg = target_find("engine");
    const char *dir = tu_path(root, "db");
    cl_io io = *cl_io_posix();
    cl_options o = *drawn;
    wl_txn t;
    void *h;

    io.activity = swarm_on_activity;
    o.io = &io;
    swarm_seen = 0;
    fs_rmrf(dir);
    assert_non_null(tg);
    assert_int_equal(wl_txn_init(&t), 0);
    assert_int_equal(tg->open(dir, &o, &h), 0);
    for (uint32_t i = 0; i < wl->txns; i++) {
        uint64_t lsn;
        wl_gen(wl, i, &t);
        assert_int_equal(tg->apply(h, &t, &lsn), 0);
        if (t.checkpoint_after)
            assert_int_equal(tg->checkpoint(h), 0);
    }
    assert_int_equal(tg->close(h), 0);
    wl_txn_free(&t);
    return swarm_seen;
}

/* The doublewrite ring starts over only when more pages are written back
 * between two checkpoints than it holds (CL_DWB_PAGES): a workload that
 * puts that much (large values, or a mix with some) under a checkpoint
 * interval that lets it.  The plain draws of such kinds give the
 * doublewrite area to about a third of them, and more than a third of
 * those must wrap the ring when run on the engine (half of them do;
 * without the ring-sized intervals of swarm.c, a fifth did: those whose
 * interval was of the right size by chance).  A kind that puts too little
 * to fill the ring (inserts) keeps the very draw it would have under
 * full-page writes, so that it pays nothing for them. */
static void test_swarm_dwb_variants_wrap_the_ring(void **state)
{
    static const wl_kind kinds[] = {WL_LARGE, WL_MIXED};
    char *root = tu_tmpdir("swarm");
    swarm_pins none, dwb;
    cl_options e, f;
    wl_params w, wf;
    int drawn = 0, wrapped = 0;

    (void)state;
    memset(&none, 0, sizeof(none));
    for (int k = 0; k < 2; k++)
        for (uint64_t s = 1; s <= 90; s++) {
            uint32_t base = campaign_default_txns(kinds[k]);
            memset(&e, 0, sizeof(e));
            memset(&w, 0, sizeof(w));
            w.kind = kinds[k];
            w.seed = s * 0x9E3779B97F4A7C15ull;
            w.txns = base;
            swarm_draw(&none, base, NULL, &e, &w);
            if (e.torn != CL_TORN_DWB)
                continue;
            drawn++;
            wrapped += (run_variant(root, &e, &w) & CL_ACT_DWB_WRAP) != 0;
        }
    assert_true(drawn > 40);
    assert_true(3 * wrapped > drawn);
    memset(&dwb, 0, sizeof(dwb));
    dwb.eng.torn = CL_TORN_DWB;
    for (uint64_t s = 1; s <= 200; s++) {
        swarm_pins fpw = dwb;
        fpw.eng.torn = CL_TORN_FPW;
        memset(&e, 0, sizeof(e));
        memset(&w, 0, sizeof(w));
        e.torn = CL_TORN_DWB;
        w.kind = WL_INSERTS;
        w.seed = s;
        w.txns = 48;
        f = e;
        f.torn = CL_TORN_FPW;
        wf = w;
        swarm_draw(&dwb, 48, NULL, &e, &w);
        swarm_draw(&fpw, 48, NULL, &f, &wf);
        f.torn = CL_TORN_DWB;
        assert_memory_equal(&e, &f, sizeof(e));
        assert_memory_equal(&w, &wf, sizeof(w));
    }
    fs_rmrf(root);
    free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_swarm_same_seed_same_draw),
        cmocka_unit_test(test_swarm_pins_are_kept),
        cmocka_unit_test(test_swarm_draws_within_bounds_and_reach_every_value),
        cmocka_unit_test(test_swarm_directed_draw_favours_rare_settings),
        cmocka_unit_test(test_swarm_aim_sets_what_it_names),
        cmocka_unit_test(test_swarm_dwb_variants_wrap_the_ring),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
