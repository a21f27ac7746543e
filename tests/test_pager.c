/*
 * test_pager.c - the pager: page-change encoding replayed on a copy gives
 * the same pages, full images after a checkpoint (fpw), idempotent replay,
 * torn pages, rollback, rule 1 on write-back, a checkpoint's write-back
 * beside the writer and beside evictions, recovery's read-ahead, and page
 * validity rules P1-P2.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coding.h"
#include "page.h"
#include "pager.h"
#include "testutil.h"
#include "txn_format.h"

#define PS 4096
#define SALT 77

typedef struct fx {
    char *tmp;
} fx;

static int fx_setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));

    f->tmp = tu_tmpdir("pager");
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    fx *f = *state;

    fs_rmrf(f->tmp);
    free(f->tmp);
    free(f);
    return 0;
}

/* Rule-1 checking I/O: every page written to the page file must carry an
 * LSN no greater than the highest LSN the pager asked the log to make
 * durable before that write. */
typedef struct r1 {
    cl_io io;
    uint64_t flushed; /* highest lsn passed to wal_flush */
    uint64_t page_writes, violations;
} r1;

static int r1_pwrite(void *ctx, int fd, const void *buf, size_t len,
                     uint64_t off)
{
    r1 *r = ctx;

    if (len == PS && off % PS == 0) {
        r->page_writes++;
        if (get_le64((const uint8_t *)buf + 8) > r->flushed)
            r->violations++;
    }
    return cl_io_posix()->pwrite(NULL, fd, buf, len, off);
}

static int r1_flush(void *ctx, uint64_t lsn)
{
    r1 *r = ctx;

    if (lsn > r->flushed)
        r->flushed = lsn;
    return 0;
}

static void r1_init(r1 *r)
{
    memset(r, 0, sizeof(*r));
    r->io = *cl_io_posix();
    r->io.ctx = r;
    r->io.pwrite = r1_pwrite;
}

static pager *open_pager(const char *dir, const char *name, const cl_io *io,
                         uint32_t frames, cl_torn_mode torn,
                         pg_wal_flush_fn flush, void *fctx, int create)
{
    pager_config c = {0};
    char path[4200], dwb[4200];
    pager *p = NULL;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    snprintf(dwb, sizeof(dwb), "%s/%s.dwb", dir, name);
    if (create) {
        FILE *fp = fopen(path, "w");
        assert_non_null(fp);
        fclose(fp);
    }
    c.io = io;
    c.dir = dir;
    c.path = path;
    c.dwb_path = dwb;
    c.page_size = PS;
    c.salt = SALT;
    c.frames = frames;
    c.torn = torn;
    c.wal_flush = flush;
    c.wal_ctx = fctx;
    assert_int_equal(pager_open(&c, &p), 0);
    return p;
}

/* Redo page entries as recovery does: each into the redo index (kept in
 * memory), applied when its page is read; here at once (pager_redo_all),
 * the end of the log being lsn.  OUT: what was applied and repaired. */
static int redo_entries(pager *p, const uint8_t *pl, size_t len, uint32_t n,
                        uint64_t lsn, size_t *used_out, int *applied,
                        int *repaired)
{
    uint64_t waiting, app0, rep0, app1, rep1;
    size_t used = 0;
    uint32_t seg;
    int rc;

    pager_redo_counts(p, &waiting, &app0, &rep0);
    if ((rc = pager_redo_begin(p, UINT64_MAX, len)) != 0 ||
        (rc = pager_redo_segment(p, "unused", &seg)) != 0 ||
        (rc = pager_redo_record(p, pl, len, n, lsn, seg, 0, &used)) != 0)
        return rc;
    if (used_out != NULL)
        *used_out = used;
    if ((rc = pager_redo_ready(p, lsn)) != 0 || (rc = pager_redo_all(p)) != 0)
        return rc;
    pager_redo_counts(p, &waiting, &app1, &rep1);
    assert_int_equal(waiting, 0);
    *applied = (int)(app1 - app0);
    *repaired = (int)(rep1 - rep0);
    return 0;
}

/* One entry. */
static int redo_entry(pager *p, const uint8_t *e, size_t len, uint64_t lsn,
                      size_t *used, int *applied, int *repaired)
{
    return redo_entries(p, e, len, 1, lsn, used, applied, repaired);
}

/* Replay a whole transaction payload on p at end LSN lsn.  OUT: counts. */
static void replay_payload(pager *p, const uint8_t *pl, size_t len,
                           uint64_t lsn, int *applied_out, int *full_out)
{
    uint32_t count = get_le32(pl);
    size_t used;
    int repaired;

    if (full_out) { /* the full images among the entries */
        *full_out = 0;
        for (size_t off = 4, i = 0; i < count; i++) {
            size_t e = off + PGE_HDR;
            if (pl[off + 4] == PGE_FULL) {
                (*full_out)++;
                e += PS - PG_LOG_OFF;
            } else {
                for (uint32_t r = 0; r < get_le16(pl + off + 6); r++)
                    e += PGE_RANGE_HDR + get_le16(pl + e + 2);
            }
            off = e;
        }
    }
    assert_int_equal(redo_entries(p, pl + 4, len - 4, count, lsn, &used,
                                  applied_out, &repaired),
                     0);
    assert_int_equal(used, len - 4);
}

static void test_pager_changes_replay_to_identical_pages(void **state)
{
    fx *f = *state;
    pager *a =
        open_pager(f->tmp, "a", cl_io_posix(), 64, CL_TORN_NONE, NULL, NULL, 1);
    pager *b =
        open_pager(f->tmp, "b", cl_io_posix(), 64, CL_TORN_NONE, NULL, NULL, 1);
    rng r = {1};
    uint64_t lsn = 100;
    uint32_t pages[40];
    int npages = 0;

    for (int t = 0; t < 300; t++) {
        const uint8_t *pl;
        size_t len;
        int applied;

        pg_txn_begin(a);
        if (t == 0)
            assert_int_equal(pager_format(a), 0);
        else if (npages < 40 && rng_below(&r, 3) == 0) {
            pg_page pg;
            assert_int_equal(pg_alloc(a, PG_TYPE_LEAF, &pg), 0);
            pages[npages++] = pg.pgno;
            pg_release(a, &pg);
        }
        for (int k = 0; k < 3 && npages > 0; k++) {
            pg_page pg;
            uint32_t pgno = pages[rng_below(&r, (uint64_t)npages)];
            assert_int_equal(pg_get_write(a, pgno, &pg), 0);
            /* scattered small changes and an occasional block move */
            for (int c = 0; c < 5; c++)
                pg.data[PG_HDR_SIZE + rng_below(&r, PS - PG_HDR_SIZE)] =
                    (uint8_t)rng_next(&r);
            if (rng_below(&r, 10) == 0)
                memmove(pg.data + 100, pg.data + 200, 1500);
            pg_release(a, &pg);
        }
        assert_int_equal(pg_txn_encode(a, 0, &pl, &len), 0);
        lsn += 64;
        if (len > 0)
            replay_payload(b, pl, len, lsn, &applied, NULL);
        pg_txn_finish(a, lsn);
        if (t == 0)
            assert_int_equal(pager_load_meta(b), 0);
    }
    /* same pages on both sides, and the same meta fields */
    assert_int_equal(pg_npages(a), pg_npages(b));
    for (int i = 0; i < npages; i++) {
        pg_page x, y;
        assert_int_equal(pg_get(a, pages[i], &x), 0);
        assert_int_equal(pg_get(b, pages[i], &y), 0);
        assert_memory_equal(x.data + 8, y.data + 8, PS - 8);
        pg_release(a, &x);
        pg_release(b, &y);
    }
    /* and after writing both out and reading them back from disk */
    assert_int_equal(pager_flush_all(a), 0);
    assert_int_equal(pager_flush_all(b), 0);
    pager_close(a);
    pager_close(b);
    {
        size_t la, lb;
        uint8_t *da = tu_read_file(tu_path(f->tmp, "a"), &la);
        uint8_t *db = tu_read_file(tu_path(f->tmp, "b"), &lb);
        assert_int_equal(la, lb);
        assert_memory_equal(da, db, la);
        free(da);
        free(db);
    }
}

static void test_pager_first_change_after_checkpoint_is_an_image(void **state)
{
    fx *f = *state;
    pager *a =
        open_pager(f->tmp, "a", cl_io_posix(), 64, CL_TORN_FPW, NULL, NULL, 1);
    pager *b =
        open_pager(f->tmp, "b", cl_io_posix(), 64, CL_TORN_FPW, NULL, NULL, 1);
    const uint8_t *pl;
    size_t len;
    pg_page pg;
    uint32_t leaf;
    int applied, full;

    pg_txn_begin(a);
    assert_int_equal(pager_format(a), 0);
    assert_int_equal(pg_alloc(a, PG_TYPE_LEAF, &pg), 0);
    leaf = pg.pgno;
    pg.data[100] = 1;
    pg_release(a, &pg);
    assert_int_equal(pg_txn_encode(a, 0, &pl, &len), 0);
    replay_payload(b, pl, len, 1000, &applied, &full);
    assert_int_equal(full, 0); /* new pages are logged as inits */
    pg_txn_finish(a, 1000);

    /* checkpoint at 1000: the next change of the leaf logs the whole page,
     * here mostly zeros, so as an init (ranges over a blank page) */
    pg_txn_begin(a);
    assert_int_equal(pg_get_write(a, leaf, &pg), 0);
    pg.data[200] = 2;
    pg_release(a, &pg);
    assert_int_equal(pg_txn_encode(a, 1000, &pl, &len), 0);
    assert_int_equal(get_le32(pl), 1);
    assert_int_equal(pl[4 + 4], 2); /* PGE_INIT */
    assert_true(len < 100);
    replay_payload(b, pl, len, 2000, &applied, &full);
    assert_int_equal(applied, 1);
    pg_txn_finish(a, 2000);

    /* a page without zeros to skip is logged as a full image */
    pg_txn_begin(a);
    assert_int_equal(pg_get_write(a, leaf, &pg), 0);
    memset(pg.data + PG_HDR_SIZE, 0xA5, PS - PG_HDR_SIZE);
    pg_release(a, &pg);
    assert_int_equal(pg_txn_encode(a, 1000, &pl, &len), 0);
    replay_payload(b, pl, len, 2500, &applied, &full);
    pg_txn_finish(a, 2500);
    pg_txn_begin(a); /* checkpoint at 2500 */
    assert_int_equal(pg_get_write(a, leaf, &pg), 0);
    pg.data[200] = 4;
    pg_release(a, &pg);
    assert_int_equal(pg_txn_encode(a, 2500, &pl, &len), 0);
    assert_true(len > PS - 16);
    replay_payload(b, pl, len, 2600, &applied, &full);
    assert_int_equal(full, 1);
    pg_txn_finish(a, 2600);

    /* then diffs again until the next checkpoint */
    pg_txn_begin(a);
    assert_int_equal(pg_get_write(a, leaf, &pg), 0);
    pg.data[300] = 3;
    pg_release(a, &pg);
    assert_int_equal(pg_txn_encode(a, 2500, &pl, &len), 0);
    assert_true(len < 100);
    replay_payload(b, pl, len, 3000, &applied, &full);
    assert_int_equal(full, 0);
    assert_int_equal(applied, 1);
    /* replaying the same record again changes nothing (idempotent) */
    replay_payload(b, pl, len, 3000, &applied, &full);
    assert_int_equal(applied, 0);
    pg_txn_finish(a, 3000);
    pager_close(a);
    pager_close(b);
}

static void test_pager_abort_restores_every_page(void **state)
{
    fx *f = *state;
    pager *a =
        open_pager(f->tmp, "a", cl_io_posix(), 64, CL_TORN_FPW, NULL, NULL, 1);
    pg_page pg;
    uint32_t leaf, npages;
    uint8_t before[PS];

    pg_txn_begin(a);
    assert_int_equal(pager_format(a), 0);
    assert_int_equal(pg_alloc(a, PG_TYPE_LEAF, &pg), 0);
    leaf = pg.pgno;
    memset(pg.data + 100, 'x', 50);
    pg_release(a, &pg);
    pg_txn_finish(a, 10);
    npages = pg_npages(a);
    assert_int_equal(pg_get(a, leaf, &pg), 0);
    memcpy(before, pg.data, PS);
    pg_release(a, &pg);

    pg_txn_begin(a);
    assert_int_equal(pg_get_write(a, leaf, &pg), 0);
    memset(pg.data + 100, 'y', 500);
    assert_int_equal(pg_free(a, &pg), 0);
    assert_int_equal(pg_alloc(a, PG_TYPE_LEAF, &pg), 0); /* reuses it */
    assert_int_equal(pg.pgno, leaf);
    pg_release(a, &pg);
    assert_int_equal(pg_alloc(a, PG_TYPE_OVERFLOW, &pg), 0); /* extends */
    pg_release(a, &pg);
    assert_int_equal(pg_set_root(a, 99), 0);
    pg_txn_abort(a);

    assert_int_equal(pg_npages(a), npages);
    assert_int_equal(pg_root(a), 0);
    assert_int_equal(pg_nfree(a), 0);
    assert_int_equal(pg_get(a, leaf, &pg), 0);
    assert_memory_equal(pg.data, before, PS);
    pg_release(a, &pg);
    pager_close(a);
}

static void test_pager_write_back_keeps_rule_1(void **state)
{
    fx *f = *state;
    r1 io;
    pager *a;
    uint32_t pages[200];
    uint64_t lsn = 0;

    r1_init(&io);
    for (int mode = CL_TORN_NONE; mode <= CL_TORN_DWB; mode++) {
        char name[16];
        snprintf(name, sizeof(name), "r1-%d", mode);
        a = open_pager(f->tmp, name, &io.io, 16, (cl_torn_mode)mode, r1_flush,
                       &io, 1);
        pg_txn_begin(a);
        assert_int_equal(pager_format(a), 0);
        pg_txn_finish(a, ++lsn);
        for (int i = 0; i < 200; i++) {
            pg_page pg;
            pg_txn_begin(a);
            assert_int_equal(pg_alloc(a, PG_TYPE_LEAF, &pg), 0);
            pages[i] = pg.pgno;
            pg.data[50] = (uint8_t)i;
            pg_release(a, &pg);
            pg_txn_finish(a, lsn += 100);
            if (i % 3 == 0) { /* touch an old page: evictions of dirty ones */
                pg_txn_begin(a);
                assert_int_equal(pg_get_write(a, pages[i / 2], &pg), 0);
                pg.data[60]++;
                pg_release(a, &pg);
                pg_txn_finish(a, lsn += 100);
            }
        }
        assert_int_equal(pager_flush_all(a), 0);
        pager_close(a);
    }
    assert_true(io.page_writes > 200);
    assert_int_equal(io.violations, 0);
}

/* Read page pgno of the page file at path (its LSN, byte 50). */
static void disk_page(const char *dir, const char *name, uint32_t pgno,
                      uint64_t *lsn, uint8_t *b50)
{
    char path[4200];
    uint8_t buf[PS];
    FILE *fp;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fp = fopen(path, "rb");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, (long)pgno * PS, SEEK_SET), 0);
    assert_int_equal(fread(buf, 1, PS, fp), PS);
    fclose(fp);
    *lsn = get_le64(buf + 8);
    *b50 = buf[50];
}

/* A checkpoint's write-back while the writer goes on: a page listed and
 * then changed by an open transaction is written as it was at its last
 * commit (the before-image), and stays dirty; one changed and committed
 * before it is written goes out in its newer state (the log asked to be
 * durable up to that LSN first) and is clean; a second pass over the
 * same list writes only the page still dirty.  Each in every torn mode. */
static void test_pager_checkpoint_write_back_beside_the_writer(void **state)
{
    fx *f = *state;
    r1 io;

    r1_init(&io);
    for (int mode = CL_TORN_NONE; mode <= CL_TORN_DWB; mode++) {
        char name[16];
        uint32_t *list = NULL, leaf[3];
        size_t n = 0;
        uint64_t lsn, st_pages, dirty;
        uint8_t b50;
        pager_stats st;
        pg_page pg;
        pager *a;

        snprintf(name, sizeof(name), "ck-%d", mode);
        a = open_pager(f->tmp, name, &io.io, 64, (cl_torn_mode)mode, r1_flush,
                       &io, 1);
        pg_txn_begin(a);
        assert_int_equal(pager_format(a), 0);
        for (int i = 0; i < 3; i++) {
            assert_int_equal(pg_alloc(a, PG_TYPE_LEAF, &pg), 0);
            leaf[i] = pg.pgno;
            pg.data[50] = 1;
            pg_release(a, &pg);
        }
        pg_txn_finish(a, 100);
        assert_int_equal(pager_dirty_list(a, &list, &n), 0);
        assert_int_equal(n, 4); /* the meta page and the three leaves */
        for (size_t i = 1; i < n; i++)
            assert_true(list[i - 1] < list[i]);

        /* leaf 1 changed and committed at 200 */
        pg_txn_begin(a);
        assert_int_equal(pg_get_write(a, leaf[1], &pg), 0);
        pg.data[50] = 2;
        pg_release(a, &pg);
        pg_txn_finish(a, 200);
        /* leaf 0 changed by a transaction still open */
        pg_txn_begin(a);
        assert_int_equal(pg_get_write(a, leaf[0], &pg), 0);
        pg.data[50] = 3;
        pg_release(a, &pg);

        io.flushed = 0;
        assert_int_equal(pager_write_pages(a, list, n), 0);
        assert_true(io.flushed >= 200);
        pager_stats_get(a, &st, &st_pages, &dirty);
        assert_int_equal(dirty, 1); /* leaf 0 only */
        disk_page(f->tmp, name, leaf[0], &lsn, &b50);
        assert_int_equal(lsn, 100);
        assert_int_equal(b50, 1);
        disk_page(f->tmp, name, leaf[1], &lsn, &b50);
        assert_int_equal(lsn, 200);
        assert_int_equal(b50, 2);

        pg_txn_finish(a, 300);
        /* a second pass writes only what is dirty: leaf 0, now at 300 */
        {
            uint64_t before;
            pager_stats_get(a, &st, &st_pages, &dirty);
            before = st.page_writes;
            assert_int_equal(pager_write_pages(a, list, n), 0);
            pager_stats_get(a, &st, &st_pages, &dirty);
            assert_int_equal(st.page_writes - before, 1);
        }
        disk_page(f->tmp, name, leaf[0], &lsn, &b50);
        assert_int_equal(lsn, 300);
        assert_int_equal(b50, 3);
        assert_int_equal(pager_sync(a), 0);
        pager_stats_get(a, &st, &st_pages, &dirty);
        assert_int_equal(dirty, 0);
        free(list);
        pager_close(a);
    }
    assert_int_equal(io.violations, 0);
}

static void test_pager_torn_page_needs_a_full_image(void **state)
{
    fx *f = *state;
    pager *a =
        open_pager(f->tmp, "a", cl_io_posix(), 64, CL_TORN_NONE, NULL, NULL, 1);
    const uint8_t *pl;
    size_t len, used;
    uint8_t diff[256], full[8 + PS];
    pg_page pg;
    uint32_t leaf;
    int applied, repaired;

    pg_txn_begin(a);
    assert_int_equal(pager_format(a), 0);
    assert_int_equal(pg_alloc(a, PG_TYPE_LEAF, &pg), 0);
    leaf = pg.pgno;
    pg_release(a, &pg);
    pg_txn_finish(a, 10);
    assert_int_equal(pager_flush_all(a), 0);
    /* a diff of the leaf, kept for replay */
    pg_txn_begin(a);
    assert_int_equal(pg_get_write(a, leaf, &pg), 0);
    pg.data[500] = 5;
    pg_release(a, &pg);
    assert_int_equal(pg_txn_encode(a, 0, &pl, &len), 0);
    assert_true(len - 4 <= sizeof(diff));
    memcpy(diff, pl + 4, len - 4);
    pg_txn_abort(a);
    pager_close(a);

    /* tear the leaf on disk */
    assert_int_equal(
        tu_set_byte(tu_path(f->tmp, "a"), (uint64_t)leaf * PS + 3000, 0xEE), 0);
    a = open_pager(f->tmp, "a", cl_io_posix(), 64, CL_TORN_NONE, NULL, NULL, 0);
    assert_int_equal(
        redo_entry(a, diff, len - 4, 20, &used, &applied, &repaired),
        CL_ECORRUPT);
    assert_non_null(strstr(cl_errdetail(), "torn"));
    /* a full image repairs it */
    memset(full, 0, sizeof(full));
    put_le32(full, leaf);
    full[4] = 1; /* PGE_FULL */
    full[8] = PG_TYPE_LEAF;
    assert_int_equal(
        redo_entry(a, full, sizeof(full), 20, &used, &applied, &repaired), 0);
    assert_int_equal(applied, 1);
    assert_int_equal(repaired, 1);
    pager_close(a);
}

/* Prefetch I/O: preads longer than a page fail while fail_runs is set. */
typedef struct pf_io {
    cl_io io;
    int fail_runs;
    uint64_t run_reads; /* preads longer than a page */
} pf_io;

static int pf_pread(void *ctx, int fd, void *buf, size_t len, uint64_t off,
                    size_t *got)
{
    pf_io *x = ctx;

    if (len > PS) {
        x->run_reads++;
        if (x->fail_runs)
            return EIO;
    }
    return cl_io_posix()->pread(NULL, fd, buf, len, off, got);
}

static void pf_init(pf_io *x)
{
    memset(x, 0, sizeof(*x));
    x->io = *cl_io_posix();
    x->io.ctx = x;
    x->io.pread = pf_pread;
}

/* A database of npages leaf pages after the meta page, each page's byte
 * 100 its own number, written to file "a" (pages 2 .. npages + 1). */
static void pf_make(fx *f, uint32_t npages)
{
    pager *a =
        open_pager(f->tmp, "a", cl_io_posix(), 64, CL_TORN_NONE, NULL, NULL, 1);
    pg_page pg;

    pg_txn_begin(a);
    assert_int_equal(pager_format(a), 0);
    for (uint32_t i = 0; i < npages; i++) {
        assert_int_equal(pg_alloc(a, PG_TYPE_LEAF, &pg), 0);
        assert_int_equal(pg.pgno, i + 2);
        pg.data[100] = (uint8_t)pg.pgno;
        pg_release(a, &pg);
    }
    pg_txn_finish(a, 10);
    assert_int_equal(pager_flush_all(a), 0);
    pager_close(a);
}

/* pf_make's database of npages, page tear (if not 0) torn on disk,
 * opened through x (fresh) with the given frames and its meta page
 * loaded (pg_get needs it: one frame). */
static pager *pf_open(fx *f, pf_io *x, uint32_t npages, uint32_t tear,
                      uint32_t frames)
{
    pager *a;

    pf_init(x);
    pf_make(f, npages);
    if (tear != 0)
        assert_int_equal(
            tu_set_byte(tu_path(f->tmp, "a"), (uint64_t)tear * PS + 3000, 0xEE),
            0);
    a = open_pager(f->tmp, "a", &x->io, frames, CL_TORN_NONE, NULL, NULL, 0);
    assert_int_equal(pager_load_meta(a), 0);
    return a;
}

/* Recovery's read-ahead: pages named in replay's order, repeats and
 * numbers replay would refuse among them, are read into free frames only
 * (no eviction), sorted, neighbours with one read; a torn page among them
 * is marked bad, and a fetch of it refused as torn; a later fetch of a
 * read page is a hit. */
static void test_pager_prefetch_reads_what_replay_will_fetch(void **state)
{
    fx *f = *state;
    /* 20 frames for 40 pages: the pool fills before the list ends */
    uint32_t names[] = {7,  3,  7,  0,  1000, 4,  5,  6,  30, 31, 32,
                        33, 34, 35, 36, 37,   38, 39, 40, 41, 9,  10,
                        11, 12, 13, 14, 15,   16, 17, 18, 19, 20, 21};
    pf_io x;
    pager_stats st;
    uint64_t pool, dirty;
    pg_page pg;
    pager *a;

    a = pf_open(f, &x, 40, 31, 20);
    pager_set_replay_limit(a, 100);
    assert_int_equal(pager_prefetch(a, names, sizeof(names) / sizeof(names[0])),
                     19);
    pager_stats_get(a, &st, &pool, &dirty);
    /* 19 free frames: the first 19 distinct pages replay may name, 7 3 4 5
     * 6 30-41 9 10, and the meta page */
    assert_int_equal(st.page_reads, 20);
    assert_int_equal(st.evictions, 0);
    /* two reads: 3-10 (8 read and dropped: a gap of one page) and 30-41 */
    assert_int_equal(x.run_reads, 2);
    for (uint32_t pgno = 3; pgno <= 41; pgno++) {
        if (pgno == 8 || (pgno > 10 && pgno < 30) || pgno == 31)
            continue;
        assert_int_equal(pg_get(a, pgno, &pg), 0);
        assert_int_equal(pg.data[100], (uint8_t)pgno);
        pg_release(a, &pg);
    }
    pager_stats_get(a, &st, &pool, &dirty);
    assert_int_equal(st.page_reads, 20);
    assert_int_equal(st.hits, 18);
    assert_int_equal(pg_get(a, 31, &pg), CL_ECORRUPT); /* read torn */
    assert_non_null(strstr(cl_errdetail(), "torn"));
    /* a full pool: nothing more is read ahead, a fetch evicts */
    assert_int_equal(pager_prefetch(a, (uint32_t[]){25, 26}, 2), 0);
    pager_stats_get(a, &st, &pool, &dirty);
    assert_int_equal(st.page_reads, 20);
    assert_int_equal(pg_get(a, 25, &pg), 0);
    assert_int_equal(pg.data[100], 25);
    pg_release(a, &pg);
    pager_stats_get(a, &st, &pool, &dirty);
    assert_int_equal(st.page_reads, 21);
    assert_int_equal(st.evictions, 1);
    pager_close(a);
}

/* A read-ahead whose read fails gives its frames back and reports
 * nothing: every page is then read on its own, intact (a read of a few
 * pages between two wanted ones that fails, say, must not fail a recovery
 * that never needed them). */
static void test_pager_prefetch_read_failure(void **state)
{
    fx *f = *state;
    uint32_t names[] = {2, 3, 4, 5, 6, 7, 8, 9};
    pf_io x;
    pager *a = pf_open(f, &x, 8, 0, 16);
    uint64_t pool, dirty;
    pager_stats st;
    pg_page pg;

    x.fail_runs = 1;
    assert_int_equal(pager_prefetch(a, names, 8), 0);
    assert_int_equal(x.run_reads, 1);
    pager_stats_get(a, &st, &pool, &dirty);
    assert_int_equal(st.page_reads, 1); /* the meta page */
    for (uint32_t pgno = 2; pgno <= 9; pgno++) {
        assert_int_equal(pg_get(a, pgno, &pg), 0);
        assert_int_equal(pg.data[100], (uint8_t)pgno);
        pg_release(a, &pg);
    }
    pager_stats_get(a, &st, &pool, &dirty);
    assert_int_equal(st.page_reads, 9);
    assert_int_equal(st.evictions, 0); /* the frames given back were used */
    pager_close(a);
}

/* The log sync a checkpoint's page copies need (a page changed after the
 * write-back's first sync) holds up no page write: an eviction started
 * during that sync, which writes dirty pages, finishes before the sync
 * returns.  The checkpoint then copies its pages again (a page was written
 * meanwhile): its older copy of a page the eviction wrote newer is not
 * written over it, and the page file ends with every page's newest
 * state. */
typedef struct ev {
    pager *a;
    int calls; /* flushes asked for by the checkpoint's thread */
    uint64_t flushed;
    pthread_t self, t;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int evicted, evicted_during_sync, evict_rc;
} ev;

static void *ev_evict(void *arg)
{
    ev *e = arg;
    pg_page pg;
    int rc = pg_get(e->a, 17, &pg); /* a miss in a full pool */

    if (rc == 0)
        pg_release(e->a, &pg);
    pthread_mutex_lock(&e->mu);
    e->evict_rc = rc;
    e->evicted = 1;
    pthread_cond_signal(&e->cv);
    pthread_mutex_unlock(&e->mu);
    return NULL;
}

static int ev_flush(void *ctx, uint64_t lsn)
{
    ev *e = ctx;
    pg_page pg;

    if (!pthread_equal(pthread_self(), e->self)) {
        pthread_mutex_lock(&e->mu);
        if (lsn > e->flushed)
            e->flushed = lsn;
        pthread_mutex_unlock(&e->mu);
        return 0; /* the eviction's own sync */
    }
    if (++e->calls == 1) {
        /* the write-back's first sync: then page 2 changes, at 300 */
        pg_txn_begin(e->a);
        assert_int_equal(pg_get_write(e->a, 2, &pg), 0);
        pg.data[50] = 30;
        pg_release(e->a, &pg);
        pg_txn_finish(e->a, 300);
    } else if (e->calls == 2) {
        /* the copies' sync: page 2 changes again, at 400, and an eviction
         * writes it meanwhile; the copy of it at 300 must not follow */
        struct timespec until;
        pg_txn_begin(e->a);
        assert_int_equal(pg_get_write(e->a, 2, &pg), 0);
        pg.data[50] = 40;
        pg_release(e->a, &pg);
        pg_txn_finish(e->a, 400);
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 3;
        assert_int_equal(pthread_create(&e->t, NULL, ev_evict, e), 0);
        pthread_mutex_lock(&e->mu);
        while (!e->evicted &&
               pthread_cond_timedwait(&e->cv, &e->mu, &until) == 0)
            ;
        e->evicted_during_sync = e->evicted;
        pthread_mutex_unlock(&e->mu);
        /* joined after the write-back: an eviction that waits for this
         * thread's write-back to end could not end before it */
    }
    pthread_mutex_lock(&e->mu);
    if (lsn > e->flushed)
        e->flushed = lsn;
    pthread_mutex_unlock(&e->mu);
    return 0;
}

static void test_pager_checkpoint_sync_holds_up_no_eviction(void **state)
{
    fx *f = *state;
    ev e = {.self = pthread_self()};
    uint32_t *list = NULL;
    size_t n = 0;
    uint64_t pool, dirty, lsn;
    uint8_t b50;
    pager_stats st;
    pg_page pg;

    pthread_mutex_init(&e.mu, NULL);
    pthread_cond_init(&e.cv, NULL);
    pf_make(f, 20); /* pages 2-21 on disk */
    e.a = open_pager(f->tmp, "a", cl_io_posix(), 16, CL_TORN_NONE, ev_flush, &e,
                     0);
    assert_int_equal(pager_load_meta(e.a), 0);
    /* the pool full: the meta page and pages 2-16, each changed at 200 */
    pg_txn_begin(e.a);
    for (uint32_t pgno = 2; pgno <= 16; pgno++) {
        assert_int_equal(pg_get_write(e.a, pgno, &pg), 0);
        pg.data[50] = 20;
        pg_release(e.a, &pg);
    }
    pg_txn_finish(e.a, 200);
    assert_int_equal(pager_dirty_list(e.a, &list, &n), 0);
    assert_int_equal(n, 15);
    assert_int_equal(pager_write_pages(e.a, list, n), 0);
    assert_int_equal(e.calls, 2);
    pthread_join(e.t, NULL);
    assert_true(e.evicted_during_sync);
    assert_int_equal(e.evict_rc, 0);
    pager_stats_get(e.a, &st, &pool, &dirty);
    assert_true(st.evictions >= 1);
    assert_int_equal(dirty, 0);
    assert_true(e.flushed >= 400);
    disk_page(f->tmp, "a", 2, &lsn, &b50);
    assert_int_equal(lsn, 400);
    assert_int_equal(b50, 40);
    for (uint32_t pgno = 3; pgno <= 16; pgno++) {
        disk_page(f->tmp, "a", pgno, &lsn, &b50);
        assert_int_equal(lsn, 200);
        assert_int_equal(b50, 20);
    }
    free(list);
    pager_close(e.a);
    pthread_cond_destroy(&e.cv);
    pthread_mutex_destroy(&e.mu);
}

/* An entry that would leave a page of unknown type (found by fuzz_replay:
 * an INIT entry without ranges zeroed the type byte) is corruption, and a
 * page is only ever replayed into a page that page_verify accepts. */
/* A pager "a" in torn mode none holding a fresh leaf, its number in *leaf,
 * for tests that replay hand-made entries over it. */
static pager *pager_with_leaf(fx *f, uint32_t *leaf)
{
    pager *a =
        open_pager(f->tmp, "a", cl_io_posix(), 64, CL_TORN_NONE, NULL, NULL, 1);
    pg_page pg;

    pg_txn_begin(a);
    assert_int_equal(pager_format(a), 0);
    assert_int_equal(pg_alloc(a, PG_TYPE_LEAF, &pg), 0);
    *leaf = pg.pgno;
    pg_release(a, &pg);
    pg_txn_finish(a, 10);
    return a;
}

/* An entry whose reserved byte 5 is not zero is refused before it touches
 * its page; the same entry with the byte zero applies. */
static void test_pager_entry_reserved_byte_must_be_zero(void **state)
{
    uint32_t leaf;
    pager *a = pager_with_leaf(*state, &leaf);
    uint8_t e[13] = {0};
    size_t used;
    int applied, repaired;

    put_le32(e, leaf);
    e[4] = PGE_INIT; /* one range: the type byte, free */
    put_le16(e + 6, 1);
    put_le16(e + 8, PG_OFF_TYPE);
    put_le16(e + 10, 1);
    e[12] = PG_TYPE_FREE;
    e[PGE_OFF_ZERO] = 1;
    assert_int_equal(
        redo_entry(a, e, sizeof(e), 20, &used, &applied, &repaired),
        CL_ECORRUPT);
    e[PGE_OFF_ZERO] = 0;
    assert_int_equal(
        redo_entry(a, e, sizeof(e), 20, &used, &applied, &repaired), 0);
    assert_int_equal(used, sizeof(e));
    assert_int_equal(applied, 1);
    pager_close(a);
}

static void test_pager_entry_must_leave_a_known_type(void **state)
{
    fx *f = *state;
    uint32_t leaf;
    pager *a = pager_with_leaf(f, &leaf);
    uint8_t e[8 + PS];
    uint64_t lsn = 20;
    size_t used;
    int applied, repaired;

#define ENTRY(kind, nranges)                                                   \
    (memset(e, 0, sizeof(e)), put_le32(e, leaf), e[4] = (kind),                \
     put_le16(e + 6, (nranges)))
#define RANGE(off, byte)                                                       \
    (put_le16(e + 8, (off)), put_le16(e + 10, 1), e[12] = (byte))
    /* PGE_INIT without ranges: type 0. */
    ENTRY(2, 0);
    assert_int_equal(redo_entry(a, e, 8, lsn++, &used, &applied, &repaired),
                     CL_ECORRUPT);
    /* PGE_INIT setting type 6; then type free, which is fine. */
    ENTRY(2, 1);
    RANGE(PG_OFF_TYPE, 6);
    assert_int_equal(redo_entry(a, e, 13, lsn++, &used, &applied, &repaired),
                     CL_ECORRUPT);
    e[12] = PG_TYPE_FREE;
    assert_int_equal(redo_entry(a, e, 13, lsn++, &used, &applied, &repaired),
                     0);
    assert_int_equal(applied, 1);
    /* PGE_FULL images of type 0 and 6; then a leaf. */
    ENTRY(1, 0);
    assert_int_equal(
        redo_entry(a, e, sizeof(e), lsn++, &used, &applied, &repaired),
        CL_ECORRUPT);
    e[8] = 6;
    assert_int_equal(
        redo_entry(a, e, sizeof(e), lsn++, &used, &applied, &repaired),
        CL_ECORRUPT);
    e[8] = PG_TYPE_LEAF;
    assert_int_equal(
        redo_entry(a, e, sizeof(e), lsn++, &used, &applied, &repaired), 0);
    assert_int_equal(applied, 1);
    /* PGE_DIFF zeroing the type byte; a diff elsewhere keeps the type. */
    ENTRY(3, 1);
    RANGE(PG_OFF_TYPE, 0);
    assert_int_equal(redo_entry(a, e, 13, lsn++, &used, &applied, &repaired),
                     CL_ECORRUPT);
    RANGE(500, 7);
    assert_int_equal(redo_entry(a, e, 13, lsn++, &used, &applied, &repaired),
                     0);
    assert_int_equal(applied, 1);
#undef ENTRY
#undef RANGE
    /* What was replayed reads back as a valid leaf. */
    assert_int_equal(pager_flush_all(a), 0);
    pager_close(a);
    {
        uint8_t buf[PS];
        char why[96];
        assert_int_equal(
            tu_read_at(tu_path(f->tmp, "a"), (uint64_t)leaf * PS, buf, PS), 0);
        assert_int_equal(
            page_verify(buf, PS, leaf, page_crc_seed(SALT), why, sizeof(why)),
            PAGE_OK);
        assert_int_equal(buf[PG_OFF_TYPE], PG_TYPE_LEAF);
        assert_int_equal(buf[500], 7);
    }
}

static void test_pager_page_validity_rules(void **state)
{
    uint8_t pg[PS];
    uint32_t seed = page_crc_seed(SALT);
    char why[96];

    (void)state;
    memset(pg, 0, sizeof(pg));
    assert_int_equal(page_verify(pg, PS, 5, seed, why, sizeof(why)),
                     PAGE_BLANK); /* P1 */
    pg[PG_OFF_TYPE] = PG_TYPE_LEAF;
    page_seal(pg, PS, 5, seed);
    assert_int_equal(page_verify(pg, PS, 5, seed, why, sizeof(why)), PAGE_OK);
    /* P2: misdirected (read at another position) */
    assert_int_equal(page_verify(pg, PS, 6, seed, why, sizeof(why)), PAGE_BAD);
    /* P2: another database's salt */
    assert_int_equal(
        page_verify(pg, PS, 5, page_crc_seed(SALT + 1), why, sizeof(why)),
        PAGE_BAD);
    /* P2: any flipped byte */
    for (int i = 0; i < PS; i += 97) {
        pg[i] ^= 4;
        assert_int_equal(page_verify(pg, PS, 5, seed, why, sizeof(why)),
                         PAGE_BAD);
        pg[i] ^= 4;
    }
    /* P2: unknown type */
    pg[PG_OFF_TYPE] = 77;
    page_seal(pg, PS, 5, seed);
    assert_int_equal(page_verify(pg, PS, 5, seed, why, sizeof(why)), PAGE_BAD);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_pager_changes_replay_to_identical_pages, fx_setup,
            fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_pager_first_change_after_checkpoint_is_an_image, fx_setup,
            fx_teardown),
        cmocka_unit_test_setup_teardown(test_pager_abort_restores_every_page,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_pager_write_back_keeps_rule_1,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_pager_checkpoint_write_back_beside_the_writer, fx_setup,
            fx_teardown),
        cmocka_unit_test_setup_teardown(test_pager_torn_page_needs_a_full_image,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_pager_entry_must_leave_a_known_type, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_pager_entry_reserved_byte_must_be_zero, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_pager_prefetch_reads_what_replay_will_fetch, fx_setup,
            fx_teardown),
        cmocka_unit_test_setup_teardown(test_pager_prefetch_read_failure,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_pager_checkpoint_sync_holds_up_no_eviction, fx_setup,
            fx_teardown),
        cmocka_unit_test(test_pager_page_validity_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
