/*
 * test_btree.c - the B+tree against an in-memory model, at the page-size
 * boundaries, under churn, with transaction aborts, and against corrupted
 * pages (rules B1..B14 and O1..O3 of btree.c).
 *
 * Each test builds a pager on a fresh page file with a small pool, so that
 * eviction and write-back happen, and runs the tree operations inside pager
 * transactions stamped with increasing LSNs (no log: wal_flush is NULL).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "btree.h"
#include "btree_format.h"
#include "coding.h"
#include "pager.h"
#include "testutil.h"

/* Operations of the long random test (about 3 s, also under ASan+UBSan);
 * -DBTT_RANDOM_OPS=... for longer runs. */
#ifndef BTT_RANDOM_OPS
#define BTT_RANDOM_OPS 200000
#endif
#ifndef BTT_SEED
#define BTT_SEED 20261122
#endif

/* ---------------------------------------------------------------------
 * Fixture: a pager on a page file in a temporary directory
 * --------------------------------------------------------------------- */

typedef struct btt_fx {
    char *dir;
    char *path;
    pager *p;
    uint32_t ps;     /* page size, bytes */
    uint32_t frames; /* pool size */
    uint64_t lsn;    /* next LSN to stamp */
} btt_fx;

static void btt_open(btt_fx *f, int create)
{
    pager_config pc;

    memset(&pc, 0, sizeof(pc));
    pc.io = cl_io_posix();
    pc.dir = f->dir;
    pc.path = f->path;
    pc.dwb_path = tu_path(f->dir, "dwb");
    pc.page_size = f->ps;
    pc.salt = 0x5eed5eedull;
    pc.frames = f->frames;
    pc.torn = CL_TORN_NONE;
    assert_int_equal(pager_open(&pc, &f->p), 0);
    if (create) {
        pg_txn_begin(f->p);
        assert_int_equal(pager_format(f->p), 0);
        pg_txn_finish(f->p, f->lsn++);
    } else {
        assert_int_equal(pager_load_meta(f->p), 0);
    }
}

static btt_fx *btt_new(uint32_t ps, uint32_t frames)
{
    btt_fx *f = calloc(1, sizeof(*f));
    uint8_t *zero = calloc(2, ps);

    assert_non_null(f);
    assert_non_null(zero);
    f->dir = tu_tmpdir("btree");
    f->path = strdup(tu_path(f->dir, "pages"));
    f->ps = ps;
    f->frames = frames;
    f->lsn = 1;
    {
        FILE *fp = fopen(f->path, "w");
        assert_non_null(fp);
        fclose(fp);
    }
    /* Page 0 (the superblock) is not the pager's; page 1 becomes the meta
     * page in pager_format. */
    assert_int_equal(tu_write_at(f->path, 0, zero, 2 * (size_t)ps), 0);
    free(zero);
    btt_open(f, 1);
    return f;
}

/* Write everything back, close and open the page file again. */
static void btt_reopen(btt_fx *f)
{
    assert_int_equal(pager_flush_all(f->p), 0);
    pager_close(f->p);
    f->p = NULL;
    btt_open(f, 0);
}

static void btt_free(btt_fx *f)
{
    pager_close(f->p);
    fs_rmrf(f->dir);
    free(f->dir);
    free(f->path);
    free(f);
}

static void btt_begin(btt_fx *f)
{
    pg_txn_begin(f->p);
}

static void btt_commit(btt_fx *f)
{
    pg_txn_finish(f->p, f->lsn++);
}

/* bt_check, then the free list: every page from 2 on must be reached by
 * the tree or be free, exactly once (what cl_check adds on top). */
static void btt_check(btt_fx *f)
{
    uint32_t np = pg_npages(f->p);
    uint8_t *seen = calloc(np / 8 + 1, 1);
    char msg[256];
    uint64_t nfree = 0;
    int rc;

    assert_non_null(seen);
    rc = bt_check(f->p, seen, msg, sizeof(msg));
    if (rc != 0)
        fail_msg("bt_check: %d: %s", rc, msg);
    for (uint32_t pgno = pg_free_head(f->p); pgno != 0; nfree++) {
        pg_page pg = {0};
        assert_true(pgno >= PG_FIRST_DATA && pgno < np);
        assert_false(seen[pgno / 8] & (1u << (pgno % 8)));
        seen[pgno / 8] |= (uint8_t)(1u << (pgno % 8));
        assert_int_equal(pg_get(f->p, pgno, &pg), 0);
        assert_int_equal(pg.data[PG_OFF_TYPE], PG_TYPE_FREE);
        pgno = get_le32(pg.data + PG_FREE_OFF_NEXT);
        pg_release(f->p, &pg);
    }
    assert_int_equal(nfree, pg_nfree(f->p));
    for (uint32_t pgno = PG_FIRST_DATA; pgno < np; pgno++)
        if (!(seen[pgno / 8] & (1u << (pgno % 8))))
            fail_msg("page %u of %u is neither in the tree nor free", pgno, np);
    free(seen);
}

/* bt_check alone; returns its code (the message goes to msg). */
static int btt_check_rc(btt_fx *f, char *msg, size_t msglen)
{
    uint8_t *seen = calloc(pg_npages(f->p) / 8 + 1, 1);
    int rc;

    assert_non_null(seen);
    rc = bt_check(f->p, seen, msg, msglen);
    free(seen);
    return rc;
}

/* ---------------------------------------------------------------------
 * Values: derived from a seed, so the model stores no value bytes
 * --------------------------------------------------------------------- */

static uint8_t btt_vbuf[CL_VALUE_MAX];
static uint8_t btt_vbuf2[CL_VALUE_MAX];

static const uint8_t *btt_value(uint64_t seed, size_t len, uint8_t *buf)
{
    rng r = {seed};

    rng_fill(&r, buf, len);
    return buf;
}

static void btt_put(btt_fx *f, const void *k, size_t klen, uint64_t vseed,
                    size_t vlen)
{
    int rc = bt_put(f->p, k, klen, btt_value(vseed, vlen, btt_vbuf), vlen);
    if (rc != 0)
        fail_msg("bt_put: %d: %s", rc, cl_errdetail());
}

static void btt_expect(btt_fx *f, const void *k, size_t klen, uint64_t vseed,
                       size_t vlen)
{
    size_t got = 0;
    int rc = bt_get(f->p, k, klen, btt_vbuf2, sizeof(btt_vbuf2), &got);

    if (rc != 0)
        fail_msg("bt_get: %d: %s", rc, cl_errdetail());
    assert_int_equal(got, vlen);
    if (vlen > 0)
        assert_memory_equal(btt_vbuf2, btt_value(vseed, vlen, btt_vbuf), vlen);
}

/* ---------------------------------------------------------------------
 * The model: a sorted array of keys with their value seeds and lengths
 * --------------------------------------------------------------------- */

typedef struct btt_ent {
    uint8_t *key;
    uint32_t klen;  /* bytes */
    uint32_t vlen;  /* bytes */
    uint64_t vseed; /* value = btt_value(vseed, vlen) */
} btt_ent;

typedef struct btt_model {
    btt_ent *e;
    size_t n, cap;
} btt_model;

static int btt_cmp(const void *a, size_t alen, const void *b, size_t blen)
{
    size_t m = alen < blen ? alen : blen;
    int r = memcmp(a, b, m);

    if (r != 0)
        return r;
    return (alen > blen) - (alen < blen);
}

/* Index of the first entry >= key; *eq when equal. */
static size_t btt_find(const btt_model *m, const void *k, size_t klen, int *eq)
{
    size_t lo = 0, hi = m->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (btt_cmp(m->e[mid].key, m->e[mid].klen, k, klen) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *eq = lo < m->n && btt_cmp(m->e[lo].key, m->e[lo].klen, k, klen) == 0;
    return lo;
}

/* Set key's value; returns 1 if the key was new. */
static int btt_model_put(btt_model *m, const void *k, size_t klen,
                         uint64_t vseed, size_t vlen)
{
    int eq;
    size_t i = btt_find(m, k, klen, &eq);

    if (eq) {
        m->e[i].vseed = vseed;
        m->e[i].vlen = (uint32_t)vlen;
        return 0;
    }
    if (m->n == m->cap) {
        m->cap = m->cap ? 2 * m->cap : 1024;
        m->e = realloc(m->e, m->cap * sizeof(*m->e));
        assert_non_null(m->e);
    }
    memmove(m->e + i + 1, m->e + i, (m->n - i) * sizeof(*m->e));
    m->e[i].key = malloc(klen);
    assert_non_null(m->e[i].key);
    memcpy(m->e[i].key, k, klen);
    m->e[i].klen = (uint32_t)klen;
    m->e[i].vseed = vseed;
    m->e[i].vlen = (uint32_t)vlen;
    m->n++;
    return 1;
}

static void btt_model_del(btt_model *m, size_t i)
{
    free(m->e[i].key);
    memmove(m->e + i, m->e + i + 1, (m->n - i - 1) * sizeof(*m->e));
    m->n--;
}

static void btt_model_free(btt_model *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->e[i].key);
    free(m->e);
    memset(m, 0, sizeof(*m));
}

/* Scan callback state: compares each key and value with the model. */
typedef struct btt_scan_cmp {
    const btt_model *m;
    size_t next;  /* model index expected next */
    size_t limit; /* stop after this many (0: never) */
    size_t seen;
} btt_scan_cmp;

static int btt_scan_cmp_fn(void *ctx, const void *k, size_t klen, const void *v,
                           size_t vlen)
{
    btt_scan_cmp *s = ctx;
    const btt_ent *e;

    assert_true(s->next < s->m->n);
    e = &s->m->e[s->next];
    assert_int_equal(klen, e->klen);
    assert_memory_equal(k, e->key, klen);
    assert_int_equal(vlen, e->vlen);
    if (vlen > 0)
        assert_memory_equal(v, btt_value(e->vseed, vlen, btt_vbuf), vlen);
    s->next++;
    s->seen++;
    return s->limit != 0 && s->seen >= s->limit;
}

/* A full scan equals the model. */
static void btt_scan_all(btt_fx *f, const btt_model *m)
{
    btt_scan_cmp s = {m, 0, 0, 0};
    int rc = bt_scan(f->p, NULL, 0, 0, btt_scan_cmp_fn, &s);

    if (rc != 0)
        fail_msg("bt_scan: %d: %s", rc, cl_errdetail());
    assert_int_equal(s.next, m->n);
    assert_int_equal(pg_nkeys(f->p), m->n);
}

/* ---------------------------------------------------------------------
 * Random keys and value lengths
 * --------------------------------------------------------------------- */

static size_t btt_rand_klen(rng *r)
{
    uint64_t x = rng_below(r, 100);

    if (x < 55)
        return 1 + rng_below(r, 16);
    if (x < 85)
        return 17 + rng_below(r, 184);
    if (x < 96)
        return 201 + rng_below(r, 823);
    return CL_KEY_MAX;
}

static size_t btt_rand_vlen(rng *r)
{
    uint64_t x = rng_below(r, 100);

    if (x < 65)
        return rng_below(r, 101);
    if (x < 88)
        return 100 + rng_below(r, 1900);
    if (x < 97)
        return 2000 + rng_below(r, 18000);
    if (x < 99)
        return 20000 + rng_below(r, 45537);
    return CL_VALUE_MAX;
}

/* A random key: a few shared prefixes make long common prefixes (and
 * short separators) frequent; the rest is random bytes, zeros included. */
static size_t btt_rand_key(rng *r, uint8_t *k)
{
    size_t klen = btt_rand_klen(r);

    rng_fill(r, k, klen);
    if (klen > 4 && rng_below(r, 3) == 0)
        memset(k, (int)rng_below(r, 3), klen / 2);
    return klen;
}

/* ---------------------------------------------------------------------
 * Random operations against the model
 * --------------------------------------------------------------------- */

/* Run nops random operations on f against m, in transactions of a few
 * operations each; reopen the pager halfway; abort a few transactions. */
static void btt_random_run(btt_fx *f, btt_model *m, uint64_t seed, long nops,
                           size_t target)
{
    rng r = {seed};
    uint8_t key[CL_KEY_MAX];
    long done = 0, txns = 0, aborts = 0, reopened = 0;
    int rc;

    while (done < nops) {
        int abort_it = rng_below(&r, 50) == 0;
        long n = 1 + (long)rng_below(&r, 8);
        btt_begin(f);
        for (long i = 0; i < n && done < nops; i++, done++) {
            uint64_t x = rng_below(&r, 100), vseed = rng_next(&r);
            size_t klen, vlen = btt_rand_vlen(&r);
            /* Keep the key count around target: delete more above it. */
            uint64_t del = m->n > target ? 45 : 20;
            if (pg_txn_pages(f->p) > f->frames / 3)
                break;
            if (m->n == 0 || x < 100 - del - 30) {
                klen = btt_rand_key(&r, key);
                btt_put(f, key, klen, vseed, vlen);
                if (!abort_it)
                    btt_model_put(m, key, klen, vseed, vlen);
            } else if (x < 100 - del) {
                size_t j = rng_below(&r, m->n);
                btt_ent *e = &m->e[j];
                btt_put(f, e->key, e->klen, vseed, vlen);
                if (!abort_it) {
                    e->vseed = vseed;
                    e->vlen = (uint32_t)vlen;
                }
            } else if (x < 100 - 3) {
                size_t j = rng_below(&r, m->n);
                rc = bt_delete(f->p, m->e[j].key, m->e[j].klen);
                /* In a transaction to be aborted the model is not updated:
                 * the key may be gone already. */
                if (rc != 0 && !(abort_it && rc == CL_ENOTFOUND))
                    fail_msg("bt_delete: %d: %s", rc, cl_errdetail());
                if (!abort_it)
                    btt_model_del(m, j);
            } else {
                int eq;
                klen = btt_rand_key(&r, key);
                btt_find(m, key, klen, &eq);
                rc = bt_delete(f->p, key, klen);
                if (abort_it) {
                    assert_true(rc == 0 || rc == CL_ENOTFOUND);
                } else if (eq) {
                    assert_int_equal(rc, 0);
                    if (!abort_it)
                        btt_model_del(m, btt_find(m, key, klen, &eq));
                } else {
                    assert_int_equal(rc, CL_ENOTFOUND);
                }
            }
        }
        if (abort_it) {
            pg_txn_abort(f->p);
            aborts++;
        } else {
            btt_commit(f);
        }
        txns++;
        /* Read back a few keys after every transaction. */
        for (int i = 0; i < 3 && m->n > 0; i++) {
            const btt_ent *e = &m->e[rng_below(&r, m->n)];
            btt_expect(f, e->key, e->klen, e->vseed, e->vlen);
        }
        if (txns % 2000 == 0)
            btt_scan_all(f, m);
        if (!reopened && done >= nops / 2) {
            btt_check(f);
            btt_reopen(f);
            btt_scan_all(f, m);
            reopened = 1;
        }
    }
    assert_true(aborts > 0);
    btt_scan_all(f, m);
    for (size_t i = 0; i < m->n; i++)
        btt_expect(f, m->e[i].key, m->e[i].klen, m->e[i].vseed, m->e[i].vlen);
    btt_check(f);
}

static void test_btree_random_ops_match_model(void **state)
{
    btt_fx *f = btt_new(4096, 128);
    btt_model m = {0};
    clock_t t0 = clock();

    (void)state;
    btt_random_run(f, &m, BTT_SEED, BTT_RANDOM_OPS, 3000);
    print_message("random ops: %d ops, %zu keys, %u pages, %.1f s cpu\n",
                  BTT_RANDOM_OPS, m.n, pg_npages(f->p),
                  (double)(clock() - t0) / CLOCKS_PER_SEC);
    btt_model_free(&m);
    btt_free(f);
}

static void test_btree_random_ops_large_pages(void **state)
{
    btt_fx *f = btt_new(65536, 64);
    btt_model m = {0};

    (void)state;
    btt_random_run(f, &m, BTT_SEED + 1, BTT_RANDOM_OPS / 10, 3000);
    btt_model_free(&m);
    btt_free(f);
}

/* ---------------------------------------------------------------------
 * File size under churn
 * --------------------------------------------------------------------- */

static void test_btree_file_size_stable_under_churn(void **state)
{
    btt_fx *f = btt_new(4096, 128);
    rng r = {99};
    enum { NK = 600, ROUNDS = 60 };
    uint32_t np[ROUNDS], sizes[NK], max1 = 0;
    uint8_t key[8];

    (void)state;
    /* One fixed multiset of value sizes (overflow values included), dealt
     * to the keys in a new order every round: the live data is the same
     * size at the same point of every round, the tree's shape is not. */
    for (int i = 0; i < NK; i++)
        sizes[i] = (uint32_t)btt_rand_vlen(&r);
    for (int round = 0; round < ROUNDS; round++) {
        for (int i = NK - 1; i > 0; i--) {
            int j = (int)rng_below(&r, (uint64_t)i + 1);
            uint32_t t = sizes[i];
            sizes[i] = sizes[j];
            sizes[j] = t;
        }
        /* Overwrite (or re-insert) every key, then delete half of them. */
        btt_begin(f);
        for (int i = 0; i < NK; i++) {
            put_le64(key, (uint64_t)i * 0x9E3779B97F4A7C15ull);
            btt_put(f, key, 8, rng_next(&r), sizes[i]);
            if (pg_txn_pages(f->p) > 40) {
                btt_commit(f);
                btt_begin(f);
            }
        }
        for (int i = (int)(round % 2); i < NK; i += 2) {
            put_le64(key, (uint64_t)i * 0x9E3779B97F4A7C15ull);
            assert_int_equal(bt_delete(f->p, key, 8), 0);
            if (pg_txn_pages(f->p) > 40) {
                btt_commit(f);
                btt_begin(f);
            }
        }
        btt_commit(f);
        np[round] = pg_npages(f->p);
    }
    btt_check(f);
    for (int i = 0; i < ROUNDS / 2; i++)
        max1 = np[i] > max1 ? np[i] : max1;
    print_message("churn: %u pages after round 1, at most %u in the first "
                  "half, %u at the end (%u free)\n",
                  np[0], max1, np[ROUNDS - 1], (uint32_t)pg_nfree(f->p));
    /* Freed pages are reused: the second half of the run grows the file
     * by no more than a few pages of slack. */
    assert_true(np[ROUNDS - 1] <= max1 + max1 / 50);
    btt_free(f);
}

/* ---------------------------------------------------------------------
 * Boundaries: maximal keys, both page-size limits
 * --------------------------------------------------------------------- */

/* Insert n keys of CL_KEY_MAX bytes that differ only in their last bytes
 * (so separators are long too) in random order with values of vlen bytes,
 * check, delete them all in another order, and check that every page went
 * back to the free list. */
static void btt_max_keys(uint32_t ps, int n, size_t vlen)
{
    btt_fx *f = btt_new(ps, 64);
    rng r = {ps + (uint64_t)vlen};
    int *perm = malloc(n * sizeof(*perm));
    uint8_t key[CL_KEY_MAX];

    assert_non_null(perm);
    for (int i = 0; i < n; i++)
        perm[i] = i;
    for (int pass = 0; pass < 2; pass++) {
        for (int i = n - 1; i > 0; i--) {
            int j = (int)rng_below(&r, (uint64_t)i + 1), t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        for (int i = 0; i < n; i++) {
            memset(key, 0xab, sizeof(key));
            put_le32(key + CL_KEY_MAX - 4, (uint32_t)perm[i]);
            btt_begin(f);
            if (pass == 0)
                btt_put(f, key, sizeof(key), (uint64_t)perm[i], vlen);
            else
                assert_int_equal(bt_delete(f->p, key, sizeof(key)), 0);
            btt_commit(f);
            if (i % 64 == 0 || i == n - 1)
                btt_check(f);
        }
        if (pass == 0)
            for (int i = 0; i < n; i++) {
                memset(key, 0xab, sizeof(key));
                put_le32(key + CL_KEY_MAX - 4, (uint32_t)i);
                btt_expect(f, key, sizeof(key), (uint64_t)i, vlen);
            }
    }
    assert_int_equal(pg_root(f->p), 0);
    assert_int_equal(pg_nkeys(f->p), 0);
    assert_int_equal(pg_nfree(f->p), pg_npages(f->p) - PG_FIRST_DATA);
    free(perm);
    btt_free(f);
}

static void test_btree_max_keys_split_and_merge_4k(void **state)
{
    (void)state;
    btt_max_keys(4096, 800, 0);
    btt_max_keys(4096, 300, CL_VALUE_MAX); /* key + overflow reference */
    /* With a maximal key a cell exceeds BT_LOCAL_MAX at 4 KiB: values of
     * up to 4 bytes stay inline (the largest inline cell), 5 overflow. */
    static_assert(BT_LEAF_HDR + CL_KEY_MAX > BT_LOCAL_MAX(4096), "4K");
    btt_max_keys(4096, 300, BT_OVFL_REF);
    btt_max_keys(4096, 300, BT_OVFL_REF + 1);
}

static void test_btree_max_keys_split_and_merge_64k(void **state)
{
    (void)state;
    btt_max_keys(65536, 800, 0);
    btt_max_keys(65536, 200,
                 BT_LOCAL_MAX(65536) - BT_LEAF_HDR - CL_KEY_MAX); /* inline */
    btt_max_keys(65536, 100, CL_VALUE_MAX);
}

/* Values at the inline/overflow boundary and chain-length boundaries. */
static void test_btree_value_size_boundaries(void **state)
{
    uint32_t sizes[] = {4096, 65536};

    (void)state;
    for (int s = 0; s < 2; s++) {
        uint32_t ps = sizes[s], cap = BT_OV_CAP(ps);
        btt_fx *f = btt_new(ps, 64);
        size_t inl = BT_LOCAL_MAX(ps) - BT_LEAF_HDR - 1; /* 1-byte key */
        size_t vl[] = {
            0,       1,       inl,         inl + 1,          cap - 1,     cap,
            cap + 1, 2 * cap, 2 * cap + 1, CL_VALUE_MAX - 1, CL_VALUE_MAX};
        size_t nv = sizeof(vl) / sizeof(vl[0]);
        for (size_t i = 0; i < nv; i++) /* 2 * cap > CL_VALUE_MAX at 64K */
            vl[i] = vl[i] > CL_VALUE_MAX ? CL_VALUE_MAX - i : vl[i];
        for (size_t i = 0; i < nv; i++) {
            uint8_t k = (uint8_t)i;
            btt_begin(f);
            btt_put(f, &k, 1, i, vl[i]);
            btt_commit(f);
        }
        btt_check(f);
        btt_reopen(f);
        for (size_t i = 0; i < nv; i++) {
            uint8_t k = (uint8_t)i;
            size_t got = 0;
            btt_expect(f, &k, 1, i, vl[i]);
            /* A short buffer gets a prefix and the full length. */
            memset(btt_vbuf2, 0, 16);
            assert_int_equal(bt_get(f->p, &k, 1, btt_vbuf2, 10, &got), 0);
            assert_int_equal(got, vl[i]);
            btt_value(i, vl[i], btt_vbuf);
            if (vl[i] > 0)
                assert_memory_equal(btt_vbuf2, btt_vbuf,
                                    vl[i] < 10 ? vl[i] : 10);
            assert_int_equal(bt_get(f->p, &k, 1, NULL, 0, &got), 0);
            assert_int_equal(got, vl[i]);
        }
        btt_free(f);
    }
}

/* Ascending inserts fill leaves instead of leaving them half empty. */
static void test_btree_ascending_inserts_fill_pages(void **state)
{
    btt_fx *f = btt_new(4096, 64);
    uint8_t key[8];
    enum { N = 20000 };

    (void)state;
    for (int i = 0; i < N; i++) {
        if (i % 100 == 0)
            btt_begin(f);
        put_le64(key, __builtin_bswap64((uint64_t)i)); /* big-endian order */
        btt_put(f, key, 8, (uint64_t)i, 20);
        if (i % 100 == 99)
            btt_commit(f);
    }
    btt_check(f);
    /* Leaf cells are 7 + 8 + 20 = 35 bytes plus a 2-byte slot: 109 per
     * 4068 usable bytes, so about 184 leaves when full. */
    print_message("ascending: %d keys in %u pages\n", N, pg_npages(f->p));
    assert_true(pg_npages(f->p) < 220);
    btt_free(f);
}

/* ---------------------------------------------------------------------
 * Scans, errors, overflow chains, aborts, diff size
 * --------------------------------------------------------------------- */

typedef struct btt_collect {
    char keys[64][8];
    int n, stop_at;
} btt_collect;

static int btt_collect_fn(void *ctx, const void *k, size_t klen, const void *v,
                          size_t vlen)
{
    btt_collect *c = ctx;

    (void)v;
    (void)vlen;
    assert_true(klen < 8 && c->n < 64);
    memcpy(c->keys[c->n], k, klen);
    c->keys[c->n][klen] = '\0';
    c->n++;
    return c->stop_at != 0 && c->n >= c->stop_at;
}

static void btt_scan_expect(btt_fx *f, const char *start, int exclusive,
                            int stop_at, const char *want)
{
    btt_collect c;
    char got[512] = "";

    memset(&c, 0, sizeof(c));
    c.stop_at = stop_at;
    assert_int_equal(bt_scan(f->p, start, start ? strlen(start) : 0, exclusive,
                             btt_collect_fn, &c),
                     0);
    for (int i = 0; i < c.n; i++) {
        strcat(got, c.keys[i]);
        strcat(got, " ");
    }
    assert_string_equal(got, want);
}

static void test_btree_scan_start_and_exclusive(void **state)
{
    btt_fx *f = btt_new(4096, 64);
    const char *keys[] = {"b", "ba", "bb", "c", "d", "da"};

    (void)state;
    btt_scan_expect(f, NULL, 0, 0, ""); /* empty tree */
    btt_begin(f);
    for (int i = 0; i < 6; i++)
        btt_put(f, keys[i], strlen(keys[i]), 1, 3);
    btt_commit(f);
    btt_scan_expect(f, NULL, 0, 0, "b ba bb c d da ");
    btt_scan_expect(f, "b", 0, 0, "b ba bb c d da ");
    btt_scan_expect(f, "b", 1, 0, "ba bb c d da ");
    btt_scan_expect(f, "a", 1, 0, "b ba bb c d da ");
    btt_scan_expect(f, "bab", 0, 0, "bb c d da ");
    btt_scan_expect(f, "bab", 1, 0, "bb c d da ");
    btt_scan_expect(f, "da", 0, 0, "da ");
    btt_scan_expect(f, "da", 1, 0, "");
    btt_scan_expect(f, "z", 0, 0, "");
    btt_scan_expect(f, "b", 1, 2, "ba bb ");
    btt_free(f);
}

/* Scans from many start keys over a tree of several levels. */
static void test_btree_scan_from_every_position(void **state)
{
    btt_fx *f = btt_new(4096, 64);
    btt_model m = {0};
    rng r = {5};
    uint8_t key[CL_KEY_MAX];

    (void)state;
    btt_begin(f);
    for (int i = 0; i < 3000; i++) {
        size_t klen = btt_rand_key(&r, key), vlen = rng_below(&r, 300);
        btt_put(f, key, klen, (uint64_t)i, vlen);
        btt_model_put(&m, key, klen, (uint64_t)i, vlen);
        if (pg_txn_pages(f->p) > 20) {
            btt_commit(f);
            btt_begin(f);
        }
    }
    btt_commit(f);
    for (int t = 0; t < 300; t++) {
        size_t klen;
        int eq, excl = (int)rng_below(&r, 2);
        if (t % 2 == 0) { /* an existing key */
            const btt_ent *e = &m.e[rng_below(&r, m.n)];
            klen = e->klen;
            memcpy(key, e->key, klen);
        } else {
            klen = btt_rand_key(&r, key);
        }
        size_t i = btt_find(&m, key, klen, &eq);
        btt_scan_cmp s = {&m, i + (eq && excl), 50, 0};
        assert_int_equal(bt_scan(f->p, key, klen, excl, btt_scan_cmp_fn, &s),
                         0);
        assert_int_equal(s.seen, m.n - (i + (eq && excl)) < 50
                                     ? m.n - (i + (eq && excl))
                                     : 50);
    }
    btt_model_free(&m);
    btt_free(f);
}

static void test_btree_absent_key_and_bad_arguments(void **state)
{
    btt_fx *f = btt_new(4096, 64);
    uint8_t big[CL_KEY_MAX + 1] = {0};
    size_t n = 0;

    (void)state;
    assert_int_equal(bt_get(f->p, "a", 1, NULL, 0, &n), CL_ENOTFOUND);
    btt_begin(f);
    assert_int_equal(bt_delete(f->p, "a", 1), CL_ENOTFOUND);
    btt_put(f, "a", 1, 1, 10);
    assert_int_equal(bt_delete(f->p, "b", 1), CL_ENOTFOUND);
    assert_int_equal(bt_delete(f->p, "", 0), CL_EINVAL);
    assert_int_equal(bt_put(f->p, NULL, 0, "x", 1), CL_EINVAL);
    assert_int_equal(bt_put(f->p, big, sizeof(big), "x", 1), CL_ETOOBIG);
    assert_int_equal(bt_put(f->p, "k", 1, btt_vbuf, CL_VALUE_MAX + 1),
                     CL_ETOOBIG);
    assert_int_equal(bt_put(f->p, "k", 1, NULL, 5), CL_EINVAL);
    assert_int_equal(bt_get(f->p, big, sizeof(big), NULL, 0, &n), CL_ETOOBIG);
    assert_int_equal(bt_scan(f->p, NULL, 0, 0, NULL, NULL), CL_EINVAL);
    btt_put(f, "k", 1, 0, 0); /* NULL-free empty value */
    assert_int_equal(bt_put(f->p, "e", 1, NULL, 0), 0);
    assert_int_equal(bt_get(f->p, "e", 1, NULL, 0, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(bt_delete(f->p, "a", 1), 0);
    assert_int_equal(bt_delete(f->p, "a", 1), CL_ENOTFOUND);
    btt_commit(f);
    assert_int_equal(pg_nkeys(f->p), 2);
    btt_check(f);
    btt_free(f);
}

static void test_btree_overflow_chain_freed_on_replace_and_delete(void **state)
{
    btt_fx *f = btt_new(4096, 64);
    uint32_t chain = (CL_VALUE_MAX + BT_OV_CAP(4096) - 1) / BT_OV_CAP(4096);
    uint64_t free0;

    (void)state;
    btt_begin(f);
    btt_put(f, "small", 5, 1, 10);
    btt_commit(f);
    free0 = pg_nfree(f->p);
    assert_int_equal(free0, 0);

    btt_begin(f);
    btt_put(f, "big", 3, 2, CL_VALUE_MAX);
    btt_commit(f);
    assert_int_equal(pg_npages(f->p), PG_FIRST_DATA + 1 + chain);
    /* Replace with a small value: the whole chain is freed. */
    btt_begin(f);
    btt_put(f, "big", 3, 3, 10);
    btt_commit(f);
    assert_int_equal(pg_nfree(f->p), chain);
    btt_expect(f, "big", 3, 3, 10);
    /* A big value again reuses the freed pages, no new page. */
    btt_begin(f);
    btt_put(f, "big", 3, 4, CL_VALUE_MAX);
    btt_commit(f);
    assert_int_equal(pg_nfree(f->p), 0);
    assert_int_equal(pg_npages(f->p), PG_FIRST_DATA + 1 + chain);
    /* Replace big by a shorter big value: the old chain is freed first
     * and its pages are reused. */
    btt_begin(f);
    btt_put(f, "big", 3, 5, 3 * BT_OV_CAP(4096));
    btt_commit(f);
    assert_int_equal(pg_npages(f->p), PG_FIRST_DATA + 1 + chain);
    assert_int_equal(pg_nfree(f->p), chain - 3);
    btt_expect(f, "big", 3, 5, 3 * BT_OV_CAP(4096));
    /* Delete frees the chain. */
    btt_begin(f);
    assert_int_equal(bt_delete(f->p, "big", 3), 0);
    btt_commit(f);
    assert_int_equal(pg_nfree(f->p), chain);
    btt_check(f);
    btt_free(f);
}

static void test_btree_txn_abort_restores_tree(void **state)
{
    btt_fx *f = btt_new(4096, 256);
    btt_model m = {0};
    rng r = {11};
    uint8_t key[CL_KEY_MAX];
    uint32_t np, root;
    uint64_t nfree;

    (void)state;
    btt_begin(f);
    for (int i = 0; i < 400; i++) {
        size_t klen = btt_rand_key(&r, key), vlen = btt_rand_vlen(&r) % 3000;
        btt_put(f, key, klen, (uint64_t)i, vlen);
        btt_model_put(&m, key, klen, (uint64_t)i, vlen);
        if (pg_txn_pages(f->p) > 60) {
            btt_commit(f);
            btt_begin(f);
        }
    }
    btt_commit(f);
    np = pg_npages(f->p);
    nfree = pg_nfree(f->p);
    root = pg_root(f->p);

    /* Splits, merges, overflow writes and frees, then abort. */
    btt_begin(f);
    for (int i = 0; i < 150; i++)
        assert_int_equal(bt_delete(f->p, m.e[i * 2].key, m.e[i * 2].klen), 0);
    for (int i = 0; i < 20; i++) {
        size_t klen = btt_rand_key(&r, key);
        btt_put(f, key, klen, 9, i % 2 ? CL_VALUE_MAX : 100);
    }
    pg_txn_abort(f->p);

    assert_int_equal(pg_npages(f->p), np);
    assert_int_equal(pg_nfree(f->p), nfree);
    assert_int_equal(pg_root(f->p), root);
    btt_scan_all(f, &m);
    btt_check(f);
    btt_model_free(&m);
    btt_free(f);
}

/* A put into a populated tree changes few bytes: the log record of the
 * transaction is small. */
static void test_btree_insert_and_delete_log_few_bytes(void **state)
{
    btt_fx *f = btt_new(4096, 64);
    const uint8_t *payload;
    size_t len, total = 0;
    uint8_t key[16];

    (void)state;
    for (int i = 0; i < 3000; i++) {
        if (i % 100 == 0)
            btt_begin(f);
        put_le64(key, (uint64_t)i * 0x9E3779B97F4A7C15ull);
        btt_put(f, key, 8, (uint64_t)i, 16);
        if (i % 100 == 99)
            btt_commit(f);
    }
    for (int i = 0; i < 100; i++) {
        put_le64(key, (uint64_t)i * 0x2545F4914F6CDD1Dull + 1);
        btt_begin(f);
        btt_put(f, key, 8, 7, 16);
        assert_int_equal(pg_txn_encode(f->p, 0, &payload, &len), 0);
        btt_commit(f);
        total += len;
    }
    print_message("log bytes per small insert: %zu on average\n", total / 100);
    /* A slot array shift of up to 2 * ~110 slots plus a 31-byte cell, the
     * header and the meta page's key count; far from a 4 KiB page. */
    assert_true(total / 100 < 400);
    total = 0;
    for (int i = 0; i < 100; i++) {
        put_le64(key, (uint64_t)i * 0x9E3779B97F4A7C15ull);
        btt_begin(f);
        assert_int_equal(bt_delete(f->p, key, 8), 0);
        assert_int_equal(pg_txn_encode(f->p, 0, &payload, &len), 0);
        btt_commit(f);
        total += len;
    }
    print_message("log bytes per delete: %zu on average\n", total / 100);
    assert_true(total / 100 < 600);
    btt_check(f);
    btt_free(f);
}

/* ---------------------------------------------------------------------
 * Corruption: every damaged page gives CL_ECORRUPT, never a crash
 * --------------------------------------------------------------------- */

/* A tree of three levels with 4 KiB pages, some overflow values. */
static btt_fx *btt_corrupt_fixture(btt_model *m)
{
    btt_fx *f = btt_new(4096, 128);
    rng r = {3};
    uint8_t key[64];

    btt_begin(f);
    for (int i = 0; i < 3000; i++) {
        size_t klen = 8 + rng_below(&r, 40), vlen = rng_below(&r, 60);
        rng_fill(&r, key, klen);
        if (i % 100 == 0)
            vlen = 5000;
        btt_put(f, key, klen, (uint64_t)i, vlen);
        btt_model_put(m, key, klen, (uint64_t)i, vlen);
        if (pg_txn_pages(f->p) > 30) {
            btt_commit(f);
            btt_begin(f);
        }
    }
    /* Deletes leave free pages (for the free-page child test). */
    for (int i = 0; i < 1500; i++)
        assert_int_equal(bt_delete(f->p, m->e[i].key, m->e[i].klen), 0);
    btt_commit(f);
    for (int i = 0; i < 1500; i++)
        btt_model_del(m, 0);
    btt_check(f);
    return f;
}

/* Pin page pgno writable (inside a transaction the test aborts later). */
static uint8_t *btt_page_w(btt_fx *f, uint32_t pgno, pg_page *pg)
{
    assert_int_equal(pg_get_write(f->p, pgno, pg), 0);
    return pg->data;
}

/* Scan everything, counting; the scan must end with rc. */
static int btt_count_fn(void *ctx, const void *k, size_t klen, const void *v,
                        size_t vlen)
{
    (void)k;
    (void)klen;
    (void)v;
    (void)vlen;
    (*(size_t *)ctx)++;
    return 0;
}

static int btt_scan_rc(btt_fx *f)
{
    size_t count = 0;

    return bt_scan(f->p, NULL, 0, 0, btt_count_fn, &count);
}

#define BTT_GET_FAILS 1  /* some bt_get returns CL_ECORRUPT */
#define BTT_SCAN_FAILS 2 /* bt_scan returns CL_ECORRUPT */

/* bt_check must return CL_ECORRUPT with a message; bt_get of every key and
 * a full bt_scan must return 0, CL_ENOTFOUND (gets) or CL_ECORRUPT, and
 * CL_ECORRUPT where flags say so; nothing may crash. */
static void btt_expect_corrupt(btt_fx *f, const btt_model *m, const char *what,
                               int flags)
{
    char msg[256] = "";
    size_t n, bad = 0;
    int rc;

    rc = btt_check_rc(f, msg, sizeof(msg));
    if (rc != CL_ECORRUPT)
        fail_msg("%s: bt_check returned %d", what, rc);
    assert_true(msg[0] != '\0');
    print_message("%-30s %s\n", what, msg);
    rc = btt_scan_rc(f);
    assert_true(rc == 0 || rc == CL_ECORRUPT);
    if (flags & BTT_SCAN_FAILS)
        assert_int_equal(rc, CL_ECORRUPT);
    for (size_t i = 0; i < m->n; i++) {
        rc = bt_get(f->p, m->e[i].key, m->e[i].klen, btt_vbuf2,
                    sizeof(btt_vbuf2), &n);
        assert_true(rc == 0 || rc == CL_ECORRUPT || rc == CL_ENOTFOUND);
        bad += rc == CL_ECORRUPT;
    }
    if (flags & BTT_GET_FAILS)
        assert_true(bad > 0);
}

/* Find a leaf and a branch with at least two children: descend along
 * child0 from the root. */
static void btt_find_nodes(btt_fx *f, uint32_t *branch, uint32_t *leaf)
{
    pg_page pg = {0};
    uint32_t pgno = pg_root(f->p);

    *branch = 0;
    for (;;) {
        assert_int_equal(pg_get(f->p, pgno, &pg), 0);
        if (pg.data[PG_OFF_TYPE] == PG_TYPE_LEAF)
            break;
        *branch = pgno;
        pgno = get_le32(pg.data + BT_OFF_CHILD0);
        pg_release(f->p, &pg);
    }
    pg_release(f->p, &pg);
    *leaf = pgno;
    assert_true(*branch != 0);
}

static void test_btree_check_catches_damage(void **state)
{
    const int GS = BTT_GET_FAILS | BTT_SCAN_FAILS;
    btt_model m = {0};
    btt_fx *f = btt_corrupt_fixture(&m);
    uint32_t branch, leaf, n, frag, c0;
    pg_page pg = {0};
    uint8_t *d, tmp[2];

    (void)state;
    btt_find_nodes(f, &branch, &leaf);

    /* B1: a node of the wrong type. */
    btt_begin(f);
    d = btt_page_w(f, leaf, &pg);
    d[PG_OFF_TYPE] = PG_TYPE_OVERFLOW;
    btt_expect_corrupt(f, &m, "B1 leaf typed overflow", GS);
    d[PG_OFF_TYPE] = PG_TYPE_LEAF;
    d[BT_OFF_LEVEL] = 3;
    btt_expect_corrupt(f, &m, "B1 leaf with level 3", GS);
    pg_release(f->p, &pg);
    pg_txn_abort(f->p);

    /* B2: a slot count whose slots run into the cell area. */
    btt_begin(f);
    d = btt_page_w(f, leaf, &pg);
    put_le16(d + BT_OFF_NCELLS, 3000);
    btt_expect_corrupt(f, &m, "B2 slot count 3000", GS);
    pg_release(f->p, &pg);
    pg_txn_abort(f->p);
    btt_begin(f);
    d = btt_page_w(f, leaf, &pg);
    put_le16(d + BT_OFF_CSTART, 10);
    btt_expect_corrupt(f, &m, "B2 cell area start 10", GS);
    pg_release(f->p, &pg);
    pg_txn_abort(f->p);

    /* B3: more fragment bytes than the cell area has. */
    btt_begin(f);
    d = btt_page_w(f, leaf, &pg);
    put_le16(d + BT_OFF_FRAG, 4000);
    btt_expect_corrupt(f, &m, "B3 frag 4000", GS);
    pg_release(f->p, &pg);
    pg_txn_abort(f->p);

    /* B4: slots pointing into the slot array, past the end, at the end. */
    uint16_t bad_offs[] = {5, BT_OFF_SLOTS, 4095, 4090};
    for (int i = 0; i < 4; i++) {
        btt_begin(f);
        d = btt_page_w(f, leaf, &pg);
        n = get_le16(d + BT_OFF_NCELLS);
        for (uint32_t j = 0; j < n; j += 2)
            put_le16(d + BT_OFF_SLOTS + 2 * j, bad_offs[i]);
        btt_expect_corrupt(f, &m, "B4 bad slot offset", GS);
        pg_release(f->p, &pg);
        pg_txn_abort(f->p);
    }

    /* B5: key lengths of zero and past CL_KEY_MAX. */
    btt_begin(f);
    d = btt_page_w(f, leaf, &pg);
    c0 = get_le16(d + BT_OFF_SLOTS);
    put_le16(d + c0, 0);
    btt_expect_corrupt(f, &m, "B5 key length 0", GS);
    put_le16(d + c0, 60000);
    btt_expect_corrupt(f, &m, "B5 key length 60000", GS);
    pg_release(f->p, &pg);
    pg_txn_abort(f->p);

    /* B6: a value length past the page, unknown flags, and a short value
     * marked as in an overflow chain. */
    btt_begin(f);
    d = btt_page_w(f, leaf, &pg);
    put_le32(d + c0 + BT_LEAF_OFF_VLEN, 0xfffffff0u);
    btt_expect_corrupt(f, &m, "B6 huge value length", GS);
    pg_release(f->p, &pg);
    pg_txn_abort(f->p);
    btt_begin(f);
    d = btt_page_w(f, leaf, &pg);
    d[c0 + BT_LEAF_OFF_FLAGS] = 0x80;
    btt_expect_corrupt(f, &m, "B6 unknown flags", GS);
    d[c0 + BT_LEAF_OFF_FLAGS] = BT_LEAF_F_OVERFLOW;
    btt_expect_corrupt(f, &m, "B6 inline value marked overflow", GS);
    pg_release(f->p, &pg);
    pg_txn_abort(f->p);

    /* B7: child pointers out of range, to the meta page, to a free page,
     * to the node itself. */
    btt_begin(f);
    d = btt_page_w(f, branch, &pg);
    put_le32(d + BT_OFF_CHILD0, pg_npages(f->p) + 5);
    btt_expect_corrupt(f, &m, "B7 child out of range", GS);
    put_le32(d + BT_OFF_CHILD0, PG_META);
    btt_expect_corrupt(f, &m, "B7 child is the meta page", GS);
    assert_true(pg_free_head(f->p) != 0);
    put_le32(d + BT_OFF_CHILD0, pg_free_head(f->p));
    btt_expect_corrupt(f, &m, "B7 child is a free page", GS);
    put_le32(d + BT_OFF_CHILD0, branch);
    btt_expect_corrupt(f, &m, "B7 child is its parent", GS);
    pg_release(f->p, &pg);
    pg_txn_abort(f->p);

    /* B8: two slots pointing at one cell, frag adjusted so that the sizes
     * still add up (only the overlap test sees it); frag one byte off. */
    btt_begin(f);
    d = btt_page_w(f, leaf, &pg);
    {
        uint32_t s0 = get_le16(d + BT_OFF_SLOTS), s1 = get_le16(d + 30);
        uint32_t z0 = BT_LEAF_HDR + get_le16(d + s0) + get_le32(d + s0 + 2);
        uint32_t z1 = BT_LEAF_HDR + get_le16(d + s1) + get_le32(d + s1 + 2);
        assert_int_equal(d[s0 + BT_LEAF_OFF_FLAGS] | d[s1 + 6], 0);
        put_le16(d + BT_OFF_SLOTS + 2, (uint16_t)s0);
        put_le16(d + BT_OFF_FRAG,
                 (uint16_t)(get_le16(d + BT_OFF_FRAG) + z1 - z0));
    }
    btt_expect_corrupt(f, &m, "B8 two slots, one cell", 0);
    pg_release(f->p, &pg);
    pg_txn_abort(f->p);
    btt_begin(f);
    d = btt_page_w(f, leaf, &pg);
    frag = get_le16(d + BT_OFF_FRAG);
    put_le16(d + BT_OFF_FRAG, (uint16_t)(frag + 1));
    btt_expect_corrupt(f, &m, "B8 frag off by one", 0);
    pg_release(f->p, &pg);
    pg_txn_abort(f->p);

    /* B9: two slots of a leaf swapped (keys out of order). */
    btt_begin(f);
    d = btt_page_w(f, leaf, &pg);
    memcpy(tmp, d + BT_OFF_SLOTS, 2);
    memcpy(d + BT_OFF_SLOTS, d + BT_OFF_SLOTS + 2, 2);
    memcpy(d + BT_OFF_SLOTS + 2, tmp, 2);
    btt_expect_corrupt(f, &m, "B9 swapped slots", BTT_SCAN_FAILS);
    pg_release(f->p, &pg);
    pg_txn_abort(f->p);

    /* B10: the last key of the leftmost leaf raised above the separator
     * right of it (still the largest key of its leaf). */
    btt_begin(f);
    d = btt_page_w(f, leaf, &pg);
    n = get_le16(d + BT_OFF_NCELLS);
    {
        uint32_t off = get_le16(d + BT_OFF_SLOTS + 2 * (n - 1));
        memset(d + off + BT_LEAF_HDR, 0xff, get_le16(d + off));
    }
    btt_expect_corrupt(f, &m, "B10 key above its separator", BTT_SCAN_FAILS);
    pg_release(f->p, &pg);
    pg_txn_abort(f->p);

    /* B11: a leaf emptied (with a consistent header). */
    btt_begin(f);
    d = btt_page_w(f, leaf, &pg);
    put_le16(d + BT_OFF_NCELLS, 0);
    put_le16(d + BT_OFF_CSTART, 0);
    put_le16(d + BT_OFF_FRAG, 0);
    btt_expect_corrupt(f, &m, "B11 empty leaf", BTT_SCAN_FAILS);
    pg_release(f->p, &pg);
    pg_txn_abort(f->p);

    /* B12: a branch where its parent expects a leaf (levels skipped). */
    btt_begin(f);
    d = btt_page_w(f, leaf, &pg);
    d[PG_OFF_TYPE] = PG_TYPE_BRANCH;
    d[BT_OFF_LEVEL] = 1;
    btt_expect_corrupt(f, &m, "B12 leaf typed branch", GS);
    pg_release(f->p, &pg);
    pg_txn_abort(f->p);

    /* B13: a leaf's reserved bytes. */
    btt_begin(f);
    d = btt_page_w(f, leaf, &pg);
    d[BT_OFF_CHILD0 + 2] = 1;
    btt_expect_corrupt(f, &m, "B13 leaf reserved bytes", 0);
    pg_release(f->p, &pg);
    pg_txn_abort(f->p);

    /* B14: a page reachable twice (cell 0's child = child0). */
    btt_begin(f);
    d = btt_page_w(f, branch, &pg);
    put_le32(d + get_le16(d + BT_OFF_SLOTS) + BT_BRANCH_OFF_CHILD,
             get_le32(d + BT_OFF_CHILD0));
    btt_expect_corrupt(f, &m, "B14 page reachable twice", BTT_SCAN_FAILS);
    pg_release(f->p, &pg);
    pg_txn_abort(f->p);

    /* T1: the key count in the meta page. */
    btt_begin(f);
    assert_int_equal(pg_nkeys_add(f->p, 1), 0);
    btt_expect_corrupt(f, &m, "T1 key count", 0);
    pg_txn_abort(f->p);

    btt_check(f);
    btt_scan_all(f, &m);
    btt_model_free(&m);
    btt_free(f);
}

/* Counting scan that checks the keys it gets are in order. */
typedef struct btt_order {
    uint8_t last[CL_KEY_MAX];
    size_t lastlen, count;
    int out_of_order;
} btt_order;

static int btt_order_fn(void *ctx, const void *k, size_t klen, const void *v,
                        size_t vlen)
{
    btt_order *o = ctx;

    (void)v;
    (void)vlen;
    if (o->count > 0 && btt_cmp(o->last, o->lastlen, k, klen) >= 0)
        o->out_of_order = 1;
    memcpy(o->last, k, klen);
    o->lastlen = klen;
    o->count++;
    return 0;
}

/* A damaged tree whose child pointers lead back to pages already scanned
 * (found by fuzz_open_fixcrc: cl_scan delivered keys out of order): a scan
 * must stop with CL_ECORRUPT instead of delivering keys again or out of
 * order, which would also keep cl_scan, resuming after its last key, from
 * ever finishing.  Cases: every child of a branch is its first child; the
 * same with a start key; the first leaf's slots reversed. */
static void test_btree_scan_stops_at_keys_out_of_order(void **state)
{
    btt_model m = {0};
    btt_fx *f = btt_corrupt_fixture(&m);
    uint32_t branch, leaf, n;
    pg_page pg = {0};
    btt_order o;
    uint8_t *d;
    int rc;

    (void)state;
    btt_find_nodes(f, &branch, &leaf);

    /* Every child of the branch is its leftmost one. */
    btt_begin(f);
    d = btt_page_w(f, branch, &pg);
    n = get_le16(d + BT_OFF_NCELLS);
    assert_true(n >= 2);
    for (uint32_t i = 0; i < n; i++)
        put_le32(d + get_le16(d + BT_OFF_SLOTS + 2 * i) + BT_BRANCH_OFF_CHILD,
                 get_le32(d + BT_OFF_CHILD0));
    memset(&o, 0, sizeof(o));
    rc = bt_scan(f->p, NULL, 0, 0, btt_order_fn, &o);
    assert_int_equal(rc, CL_ECORRUPT);
    assert_false(o.out_of_order);
    memset(&o, 0, sizeof(o));
    rc = bt_scan(f->p, m.e[0].key, m.e[0].klen, 1, btt_order_fn, &o);
    assert_int_equal(rc, CL_ECORRUPT);
    assert_false(o.out_of_order);
    pg_release(f->p, &pg);
    pg_txn_abort(f->p);

    /* The slots of the first leaf in reverse order. */
    btt_begin(f);
    d = btt_page_w(f, leaf, &pg);
    n = get_le16(d + BT_OFF_NCELLS);
    for (uint32_t i = 0; i < n / 2; i++) {
        uint8_t tmp[2];
        memcpy(tmp, d + BT_OFF_SLOTS + 2 * i, 2);
        memcpy(d + BT_OFF_SLOTS + 2 * i, d + BT_OFF_SLOTS + 2 * (n - 1 - i), 2);
        memcpy(d + BT_OFF_SLOTS + 2 * (n - 1 - i), tmp, 2);
    }
    memset(&o, 0, sizeof(o));
    rc = bt_scan(f->p, NULL, 0, 0, btt_order_fn, &o);
    assert_int_equal(rc, CL_ECORRUPT);
    assert_false(o.out_of_order);
    assert_int_equal(o.count, 1);
    pg_release(f->p, &pg);
    pg_txn_abort(f->p);

    btt_check(f);
    btt_scan_all(f, &m);
    btt_model_free(&m);
    btt_free(f);
}

/* Find a leaf cell with an overflow value.  OUT: *leaf, *off (cell). */
static void btt_find_overflow(btt_fx *f, const btt_model *m, size_t skip,
                              uint32_t *leaf, uint32_t *off, size_t *mi)
{
    for (size_t i = 0; i < m->n; i++) {
        if (m->e[i].vlen != 5000 || skip-- > 0)
            continue;
        /* Walk down to the key's leaf. */
        pg_page pg = {0};
        uint32_t pgno = pg_root(f->p);
        for (;;) {
            assert_int_equal(pg_get(f->p, pgno, &pg), 0);
            uint8_t *d = pg.data;
            uint32_t n = get_le16(d + BT_OFF_NCELLS), j, child;
            if (d[PG_OFF_TYPE] == PG_TYPE_LEAF) {
                for (j = 0; j < n; j++) {
                    uint32_t o = get_le16(d + BT_OFF_SLOTS + 2 * j);
                    if (get_le16(d + o) == m->e[i].klen &&
                        memcmp(d + o + BT_LEAF_HDR, m->e[i].key,
                               m->e[i].klen) == 0) {
                        *leaf = pgno;
                        *off = o;
                        *mi = i;
                        pg_release(f->p, &pg);
                        return;
                    }
                }
                fail_msg("key not in its leaf");
            }
            child = get_le32(d + BT_OFF_CHILD0);
            for (j = 0; j < n; j++) {
                uint32_t o = get_le16(d + BT_OFF_SLOTS + 2 * j);
                if (btt_cmp(d + o + BT_BRANCH_HDR, get_le16(d + o), m->e[i].key,
                            m->e[i].klen) > 0)
                    break;
                child = get_le32(d + o + BT_BRANCH_OFF_CHILD);
            }
            pg_release(f->p, &pg);
            pgno = child;
        }
    }
    fail_msg("no overflow value");
}

static void test_btree_check_catches_overflow_damage(void **state)
{
    btt_model m = {0};
    btt_fx *f = btt_corrupt_fixture(&m);
    uint32_t leaf = 0, off = 0, leaf2 = 0, off2 = 0, first, second;
    pg_page pg = {0}, pg2 = {0}, opg = {0};
    uint8_t *d, *d2, *o;
    size_t mi = 0, mi2 = 0, n;
    const int G = BTT_GET_FAILS;

    (void)state;
    btt_find_overflow(f, &m, 0, &leaf, &off, &mi);
    btt_find_overflow(f, &m, 1, &leaf2, &off2, &mi2);
    const btt_ent *e = &m.e[mi], *e2 = &m.e[mi2];

    btt_begin(f);
    d = btt_page_w(f, leaf, &pg);
    first = get_le32(d + off + BT_LEAF_HDR + e->klen);
    o = btt_page_w(f, first, &opg);
    second = get_le32(o + BT_OV_OFF_NEXT);

    /* O1: the first page is not an overflow page (here a leaf). */
    put_le32(d + off + BT_LEAF_HDR + e->klen, leaf);
    btt_expect_corrupt(f, &m, "O1 overflow ref to a leaf", G);
    put_le32(d + off + BT_LEAF_HDR + e->klen, first);
    o[BT_OV_OFF_ZERO] = 1;
    btt_expect_corrupt(f, &m, "O1 byte 17 set", G);
    o[BT_OV_OFF_ZERO] = 0;
    /* A length query does not read the chain. */
    o[PG_OFF_TYPE] = PG_TYPE_LEAF;
    assert_int_equal(bt_get(f->p, e->key, e->klen, NULL, 0, &n), 0);
    assert_int_equal(n, 5000);
    o[PG_OFF_TYPE] = PG_TYPE_OVERFLOW;

    /* O2: a chain one page short (the value's length says two), a chain
     * looping onto itself, a wrong piece length, a value length that no
     * longer matches the chain. */
    put_le32(o + BT_OV_OFF_NEXT, 0);
    btt_expect_corrupt(f, &m, "O2 chain cut short", G | BTT_SCAN_FAILS);
    put_le32(o + BT_OV_OFF_NEXT, first);
    btt_expect_corrupt(f, &m, "O2 chain loops", G | BTT_SCAN_FAILS);
    put_le32(o + BT_OV_OFF_NEXT, second);
    put_le16(o + BT_OV_OFF_LEN, 100);
    btt_expect_corrupt(f, &m, "O2 piece length", G | BTT_SCAN_FAILS);
    put_le16(o + BT_OV_OFF_LEN, (uint16_t)BT_OV_CAP(4096));
    put_le32(d + off + BT_LEAF_OFF_VLEN, 9000);
    btt_expect_corrupt(f, &m, "O2 value length vs chain", G);
    put_le32(d + off + BT_LEAF_OFF_VLEN, 5000);
    btt_check(f);

    /* O3: two values sharing one chain. */
    d2 = btt_page_w(f, leaf2, &pg2);
    put_le32(d2 + off2 + BT_LEAF_HDR + e2->klen, first);
    btt_expect_corrupt(f, &m, "O3 chain shared", 0);
    pg_release(f->p, &pg2);
    pg_release(f->p, &opg);
    pg_release(f->p, &pg);
    pg_txn_abort(f->p);

    /* Writers stop on damage too: deleting or replacing the damaged value
     * gives CL_ECORRUPT, and the transaction is aborted. */
    btt_begin(f);
    o = btt_page_w(f, first, &opg);
    o[PG_OFF_TYPE] = PG_TYPE_LEAF;
    assert_int_equal(bt_delete(f->p, e->key, e->klen), CL_ECORRUPT);
    assert_int_equal(bt_put(f->p, e->key, e->klen, "x", 1), CL_ECORRUPT);
    pg_release(f->p, &opg);
    pg_txn_abort(f->p);

    btt_check(f);
    btt_model_free(&m);
    btt_free(f);
}

/* Random byte damage to node pages: every operation returns an error code
 * or succeeds, and none crashes (the sanitizer build checks the memory
 * accesses). */
static void test_btree_random_damage_never_crashes(void **state)
{
    btt_model m = {0};
    btt_fx *f = btt_corrupt_fixture(&m);
    rng r = {8};
    uint32_t np = pg_npages(f->p);
    int detected = 0;

    (void)state;
    for (int t = 0; t < 400; t++) {
        pg_page pg = {0};
        uint32_t pgno = PG_FIRST_DATA + (uint32_t)rng_below(&r, np - 2);
        char msg[256];
        size_t n;
        btt_begin(f);
        uint8_t *d = btt_page_w(f, pgno, &pg);
        int k = 1 + (int)rng_below(&r, 4);
        for (int i = 0; i < k; i++) {
            /* Mostly the header and slots, sometimes anywhere. */
            uint32_t at = rng_below(&r, 2) ? 16 + (uint32_t)rng_below(&r, 80)
                                           : 16 + (uint32_t)rng_below(&r, 4080);
            d[at] = (uint8_t)rng_next(&r);
        }
        int rc = btt_check_rc(f, msg, sizeof(msg));
        assert_true(rc == 0 || rc == CL_ECORRUPT);
        detected += rc == CL_ECORRUPT;
        rc = btt_scan_rc(f);
        assert_true(rc == 0 || rc == CL_ECORRUPT);
        for (int i = 0; i < 20; i++) {
            const btt_ent *e = &m.e[rng_below(&r, m.n)];
            rc =
                bt_get(f->p, e->key, e->klen, btt_vbuf2, sizeof(btt_vbuf2), &n);
            assert_true(rc == 0 || rc == CL_ECORRUPT || rc == CL_ENOTFOUND);
        }
        /* Writes on a damaged tree: an error or success, then abort. */
        for (int i = 0; i < 5; i++) {
            const btt_ent *e = &m.e[rng_below(&r, m.n)];
            rc = rng_below(&r, 2)
                     ? bt_delete(f->p, e->key, e->klen)
                     : bt_put(f->p, e->key, e->klen, btt_vbuf, 3000);
            assert_true(rc == 0 || rc == CL_ECORRUPT || rc == CL_ENOTFOUND);
            if (rc != 0)
                break;
        }
        pg_release(f->p, &pg);
        pg_txn_abort(f->p);
    }
    /* Damage to a free page, to bytes of the free gap or to the inside of
     * a key or value that keeps the order is invisible to bt_check. */
    print_message("random damage: %d of 400 detected by bt_check\n", detected);
    assert_true(detected > 50);
    btt_check(f);
    btt_scan_all(f, &m);
    btt_model_free(&m);
    btt_free(f);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_btree_random_ops_match_model),
        cmocka_unit_test(test_btree_random_ops_large_pages),
        cmocka_unit_test(test_btree_file_size_stable_under_churn),
        cmocka_unit_test(test_btree_max_keys_split_and_merge_4k),
        cmocka_unit_test(test_btree_max_keys_split_and_merge_64k),
        cmocka_unit_test(test_btree_value_size_boundaries),
        cmocka_unit_test(test_btree_ascending_inserts_fill_pages),
        cmocka_unit_test(test_btree_scan_start_and_exclusive),
        cmocka_unit_test(test_btree_scan_from_every_position),
        cmocka_unit_test(test_btree_absent_key_and_bad_arguments),
        cmocka_unit_test(test_btree_overflow_chain_freed_on_replace_and_delete),
        cmocka_unit_test(test_btree_txn_abort_restores_tree),
        cmocka_unit_test(test_btree_insert_and_delete_log_few_bytes),
        cmocka_unit_test(test_btree_check_catches_damage),
        cmocka_unit_test(test_btree_scan_stops_at_keys_out_of_order),
        cmocka_unit_test(test_btree_check_catches_overflow_damage),
        cmocka_unit_test(test_btree_random_damage_never_crashes),
    };

    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
