/*
 * test_recovery.c - recovery after real process deaths, damaged log tails
 * and segments, torn superblock slots and torn pages in each torn-page
 * protection mode.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crashlab.h"
#include "coding.h"
#include "crc32c.h"
#include "page.h"
#include "page_format.h"
#include "superblock.h"
#include "testutil.h"
#include "wal.h"

#define SEG1 "wal-0000000000000001"

typedef struct fx {
    char *tmp;
    char dir[4096];
} fx;

static int fx_setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));

    f->tmp = tu_tmpdir("rec");
    snprintf(f->dir, sizeof(f->dir), "%s/db", f->tmp);
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

/* Open dir with o (NULL: defaults), closing without the checkpoint a
 * close makes: these tests recover the log a close leaves, as a crash
 * would leave it. */
static cl_db *open_db(const char *dir, const cl_options *o)
{
    cl_options lo = {0};
    cl_db *db = NULL;
    int rc;

    if (o != NULL)
        lo = *o;
    lo.no_close_checkpoint = 1;
    rc = cl_open(dir, &lo, &db);

    if (rc != 0)
        fail_msg("cl_open(%s): %s: %s", dir, cl_strerror(rc), cl_errdetail());
    return db;
}

/* Batch i writes keys "b<i>-<j>" for j < 5 with value "<i>". */
static int write_batch(cl_db *db, int i)
{
    cl_batch *b;
    char k[32], v[32];
    int rc;

    if (cl_batch_new(&b) != 0)
        return -1;
    snprintf(v, sizeof(v), "%d", i);
    for (int j = 0; j < 5; j++) {
        snprintf(k, sizeof(k), "b%06d-%d", i, j);
        cl_batch_put(b, k, strlen(k), v, strlen(v));
    }
    /* overwrite a shared key too, so batches depend on each other */
    cl_batch_put(b, "last", 4, v, strlen(v));
    rc = cl_commit(db, b, NULL);
    cl_batch_free(b);
    return rc;
}

/* How many batches are present: asserts they are exactly batches
 * 0..n-1, each whole (atomicity, prefix). */
static int count_batches(cl_db *db)
{
    char k[32], v[32];
    size_t n;
    int i, present;

    for (i = 0;; i++) {
        present = 0;
        for (int j = 0; j < 5; j++) {
            snprintf(k, sizeof(k), "b%06d-%d", i, j);
            int rc = cl_get(db, k, strlen(k), v, sizeof(v), &n);
            assert_true(rc == 0 || rc == CL_ENOTFOUND);
            present += rc == 0;
        }
        if (present == 0)
            break;
        assert_int_equal(present, 5); /* never half a batch */
    }
    if (i > 0) { /* the shared key holds the last batch's value */
        assert_int_equal(cl_get(db, "last", 4, v, sizeof(v), &n), 0);
        v[n] = '\0';
        assert_int_equal(atoi(v), i - 1);
    }
    for (int k2 = i + 1; k2 < i + 50; k2++) { /* nothing after a gap */
        snprintf(k, sizeof(k), "b%06d-0", k2);
        assert_int_equal(cl_get(db, k, strlen(k), v, sizeof(v), &n),
                         CL_ENOTFOUND);
    }
    return i;
}

static void test_recovery_killed_writer_keeps_acknowledged_batches(void **state)
{
    fx *f = *state;
    volatile int *acked = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                               MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    rng r = {2024};
    int trials = 150, total_batches = 0;

    assert_true(acked != MAP_FAILED);
    for (int t = 0; t < trials; t++) {
        cl_options o = {0};
        char dir[4200];
        pid_t pid;
        int st, n;
        cl_db *db;

        snprintf(dir, sizeof(dir), "%s-%d", f->dir, t);
        *acked = -1;
        o.sync = t % 3 == 0 ? CL_SYNC_COMMIT : CL_SYNC_GROUP;
        o.torn = (cl_torn_mode)(CL_TORN_NONE + t % 3);
        o.checkpoint_bytes = 64 << 10; /* checkpoints during the run */
        o.checkpoint_mode = (cl_ckpt_mode)(CL_CKPT_INLINE + (t / 3) % 3);
        o.pool_bytes = 256 << 10; /* and evictions */
        pid = tu_fork();
        if (pid == 0) {
            cl_db *cdb = NULL;
            if (cl_open(dir, &o, &cdb) != 0)
                _exit(3);
            for (int i = 0;; i++) {
                if (write_batch(cdb, i) != 0)
                    _exit(4);
                *acked = i; /* published only once durable */
            }
        }
        usleep((useconds_t)(1000 + rng_below(&r, 30000)));
        kill(pid, SIGKILL);
        st = tu_wait(pid);
        assert_true(WIFSIGNALED(st));
        assert_int_equal(WTERMSIG(st), SIGKILL);
        db = open_db(dir, &o);
        n = count_batches(db);
        assert_true(n >= *acked + 1); /* durability */
        assert_int_equal(cl_check(db, NULL, 0), 0);
        /* and the database goes on */
        assert_int_equal(write_batch(db, n), 0);
        assert_int_equal(cl_close(db), 0);
        total_batches += n;
        fs_rmrf(dir);
    }
    assert_true(total_batches > trials); /* the trials did real work */
    munmap((void *)acked, 4096);
}

static void
test_recovery_truncated_last_record_is_cut_and_reported(void **state)
{
    fx *f = *state;
    cl_db *db = open_db(f->dir, NULL);
    cl_recovery rep;
    const char *seg = tu_path(f->dir, SEG1);
    int64_t size;

    for (int i = 0; i < 10; i++)
        assert_int_equal(write_batch(db, i), 0);
    assert_int_equal(cl_close(db), 0);
    size = tu_file_size(seg);
    assert_int_equal(tu_truncate(seg, (uint64_t)size - 20), 0);
    db = open_db(f->dir, NULL);
    assert_int_equal(cl_recovery_report(db, &rep), 0);
    assert_int_equal(rep.tail_cut, 1);
    assert_string_equal(rep.tail_file, SEG1);
    assert_true(rep.tail_offset < (uint64_t)size - 20);
    assert_int_equal(rep.tail_offset + rep.tail_bytes, (uint64_t)size - 20);
    assert_int_equal(count_batches(db), 9); /* the last batch is gone */
    assert_int_equal(write_batch(db, 9), 0);
    assert_int_equal(cl_close(db), 0);
    assert_int_equal(tu_file_size(seg) > (int64_t)rep.tail_offset, 1);
    db = open_db(f->dir, NULL);
    assert_int_equal(cl_recovery_report(db, &rep), 0);
    assert_int_equal(rep.tail_cut, 0); /* the cut was made durable */
    assert_int_equal(count_batches(db), 10);
    assert_int_equal(cl_close(db), 0);
}

static void test_recovery_zero_filled_tail_is_cut(void **state)
{
    fx *f = *state;
    cl_db *db = open_db(f->dir, NULL);
    cl_recovery rep;
    const char *seg = tu_path(f->dir, SEG1);
    static const uint8_t zero[8192];
    int64_t size;

    for (int i = 0; i < 3; i++)
        assert_int_equal(write_batch(db, i), 0);
    assert_int_equal(cl_close(db), 0);
    size = tu_file_size(seg);
    assert_int_equal(tu_write_at(seg, (uint64_t)size, zero, sizeof(zero)), 0);
    db = open_db(f->dir, NULL);
    assert_int_equal(cl_recovery_report(db, &rep), 0);
    assert_int_equal(rep.tail_cut, 1);
    assert_int_equal(rep.tail_offset, (uint64_t)size);
    assert_int_equal(count_batches(db), 3);
    assert_int_equal(cl_close(db), 0);
    assert_int_equal(tu_file_size(seg), size);
}

static void test_recovery_flipped_byte_mid_log_is_corruption(void **state)
{
    fx *f = *state;
    cl_options o = {0};
    cl_db *db;
    const char *seg = tu_path(f->dir, SEG1);
    cl_err_info ei;
    int64_t size;

    o.sync = CL_SYNC_COMMIT; /* each record durable before the next */
    db = open_db(f->dir, &o);
    for (int i = 0; i < 20; i++)
        assert_int_equal(write_batch(db, i), 0);
    assert_int_equal(cl_close(db), 0);
    size = tu_file_size(seg);
    assert_int_equal(tu_flip_byte(seg, (uint64_t)size / 2), 0);
    db = NULL;
    assert_int_equal(cl_open(f->dir, NULL, &db), CL_ECORRUPT);
    assert_null(db);
    assert_non_null(strstr(cl_errdetail(), SEG1));
    assert_non_null(strstr(cl_errdetail(), "offset"));
    assert_int_equal(cl_errinfo(&ei), 0);
    assert_int_equal(ei.kind, CL_ERRK_WAL_RECORD);
    assert_string_equal(ei.file, seg);
    assert_true(ei.offset <= (uint64_t)size / 2);
    /* and it stays so: never skipped, never "repaired" by cutting */
    assert_int_equal(cl_open(f->dir, NULL, &db), CL_ECORRUPT);
    assert_int_equal(tu_file_size(seg), size);
}

static void test_recovery_torn_superblock_slot_falls_back(void **state)
{
    fx *f = *state;
    cl_db *db = open_db(f->dir, NULL);
    const char *pages = tu_path(f->dir, "pages");
    uint8_t garbage[512];
    rng r = {5};

    for (int i = 0; i < 5; i++)
        assert_int_equal(write_batch(db, i), 0);
    assert_int_equal(cl_checkpoint(db), 0); /* seq 2: slot 0 */
    for (int i = 5; i < 8; i++)
        assert_int_equal(write_batch(db, i), 0);
    assert_int_equal(cl_close(db), 0);
    /* a torn write of the next checkpoint's slot (seq 3: slot 1) */
    rng_fill(&r, garbage, sizeof(garbage));
    assert_int_equal(tu_write_at(pages, 2048 + 100, garbage, 300), 0);
    db = open_db(f->dir, NULL);
    assert_int_equal(count_batches(db), 8);
    assert_int_equal(cl_close(db), 0);
    /* both slots gone: a clear error naming both */
    assert_int_equal(tu_write_at(pages, 10, garbage, 100), 0);
    assert_int_equal(cl_open(f->dir, NULL, &db), CL_ECORRUPT);
    assert_non_null(strstr(cl_errdetail(), "superblock"));
    assert_non_null(strstr(cl_errdetail(), "slot 1"));
}

static void test_recovery_torn_superblock_before_segments_dropped(void **state)
{
    fx *f = *state;
    tu_failio io;
    cl_options o = {0};
    cl_db *db;
    const char *pages = tu_path(f->dir, "pages");
    uint8_t zero[512] = {0};

    tu_failio_init(&io);
    o.io = &io.io;
    db = open_db(f->dir, &o);
    for (int i = 0; i < 6; i++)
        assert_int_equal(write_batch(db, i), 0);
    /* The checkpoint's fsyncs: old segment, new segment, page file, then
     * the one after the superblock write: fail that one, so the old
     * segments stay, and then tear the new slot (seq 2: slot 0). */
    io.fail_sync_at = io.syncs + 4;
    assert_int_equal(cl_checkpoint(db), EIO);
    assert_int_equal(cl_close(db), CL_EREADONLY);
    assert_true(tu_exists(tu_path(f->dir, SEG1)));
    assert_int_equal(tu_write_at(pages, 0, zero, 200), 0);
    db = open_db(f->dir, NULL);
    assert_int_equal(count_batches(db), 6);
    assert_int_equal(cl_check(db, NULL, 0), 0);
    assert_int_equal(cl_close(db), 0);
}

/* Make a database whose page file holds an old version of the pages the
 * log changed since the last checkpoint, then tear those pages on disk (as
 * a power cut during their write-back would): their second half becomes
 * garbage.  Returns how many pages were torn. */
static int make_torn_pages(const char *dir, cl_torn_mode torn)
{
    cl_options o = {0};
    cl_db *db;
    char copy[4200], pages[4300], cpages[4300];
    uint8_t a[4096], b[4096], garbage[2048];
    rng r = {9};
    int64_t npages;
    int torn_count = 0;

    o.torn = torn;
    db = open_db(dir, &o);
    for (int i = 0; i < 50; i++)
        assert_int_equal(write_batch(db, i), 0);
    assert_int_equal(cl_checkpoint(db), 0);
    for (int i = 50; i < 60; i++)
        assert_int_equal(write_batch(db, i), 0);
    assert_int_equal(cl_close(db), 0);
    /* Which pages did the log change?  Recover a copy, checkpoint it and
     * compare. */
    snprintf(copy, sizeof(copy), "%s-copy", dir);
    snprintf(pages, sizeof(pages), "%s/pages", dir);
    snprintf(cpages, sizeof(cpages), "%s/pages", copy);
    assert_int_equal(fs_copy_tree(dir, copy), 0);
    db = open_db(copy, &o);
    assert_int_equal(cl_checkpoint(db), 0);
    assert_int_equal(cl_close(db), 0);
    npages = tu_file_size(pages) / 4096;
    rng_fill(&r, garbage, sizeof(garbage));
    for (int64_t pg = 2; pg < npages; pg++) {
        assert_int_equal(tu_read_at(pages, (uint64_t)pg * 4096, a, 4096), 0);
        assert_int_equal(tu_read_at(cpages, (uint64_t)pg * 4096, b, 4096), 0);
        if (memcmp(a, b, 4096) == 0)
            continue;
        assert_int_equal(tu_write_at(pages, (uint64_t)pg * 4096 + 2048, garbage,
                                     sizeof(garbage)),
                         0);
        torn_count++;
    }
    fs_rmrf(copy);
    assert_true(torn_count >= 1);
    return torn_count;
}

static void test_recovery_torn_page_fpw_is_repaired(void **state)
{
    fx *f = *state;
    cl_recovery rep;
    cl_db *db;

    int n = make_torn_pages(f->dir, CL_TORN_FPW);
    db = open_db(f->dir, NULL);
    /* a page is redone when it is first read: the reads repair them */
    assert_int_equal(count_batches(db), 60);
    assert_int_equal(cl_check(db, NULL, 0), 0);
    assert_int_equal(cl_recovery_report(db, &rep), 0);
    assert_int_equal(rep.pages_repaired_fpi, n);
    assert_int_equal(cl_close(db), 0);
}

/* Without torn-page protection a torn page the log changes is found when
 * it is first read: the open succeeds, and the read (here the structure
 * check, which reads every page) fails with kind page, the page named. */
static void test_recovery_torn_page_none_is_detected(void **state)
{
    fx *f = *state;
    cl_options o = {0};
    cl_db *db = NULL;
    char msg[256];

    cl_err_info ei;
    char pages[4200];

    make_torn_pages(f->dir, CL_TORN_NONE);
    o.torn = CL_TORN_NONE;
    assert_int_equal(cl_open(f->dir, &o, &db), 0);
    assert_int_equal(cl_check(db, msg, sizeof(msg)), CL_ECORRUPT);
    assert_non_null(strstr(cl_errdetail(), "page "));
    assert_non_null(strstr(cl_errdetail(), "torn"));
    /* the same, in fields */
    assert_int_equal(cl_errinfo(&ei), 0);
    assert_int_equal(ei.code, CL_ECORRUPT);
    assert_int_equal(ei.kind, CL_ERRK_PAGE);
    snprintf(pages, sizeof(pages), "%s/pages", f->dir);
    assert_string_equal(ei.file, pages);
    assert_true(ei.pgno >= 2);
    assert_int_equal(ei.offset, (uint64_t)ei.pgno * 4096);
    assert_string_equal(cl_err_kind_name(ei.kind), "page");
    /* it stays torn: the next read of it fails the same way */
    assert_int_equal(cl_check(db, msg, sizeof(msg)), CL_ECORRUPT);
    assert_int_equal(cl_errinfo(&ei), 0);
    assert_int_equal(ei.kind, CL_ERRK_PAGE);
    /* a close cannot checkpoint past it, and says so */
    assert_int_equal(cl_close(db), CL_ECORRUPT);
    /* the next call clears it */
    assert_int_equal(cl_torn_parse("fpw", &o.torn), 0);
    assert_int_equal(cl_errinfo(&ei), 0);
    assert_int_equal(ei.kind, CL_ERRK_NONE);
    assert_int_equal(ei.code, 0);
    assert_string_equal(cl_errdetail(), "");
    assert_int_equal(cl_errinfo(NULL), CL_EINVAL);
}

/* Both superblock slots destroyed: kind superblock, naming the page file;
 * a flipped byte in a durable log record followed by later ones: kind
 * wal-record at the record's offset. */
static void test_recovery_errinfo_kinds(void **state)
{
    fx *f = *state;
    cl_db *db = open_db(f->dir, NULL);
    cl_err_info ei;
    uint8_t zeros[512] = {0};

    for (int i = 0; i < 10; i++)
        assert_int_equal(write_batch(db, i), 0);
    assert_int_equal(cl_close(db), 0);
    assert_int_equal(tu_write_at(tu_path(f->dir, "pages"), 0, zeros, 512), 0);
    assert_int_equal(tu_write_at(tu_path(f->dir, "pages"), 2048, zeros, 512),
                     0);
    db = NULL;
    assert_int_equal(cl_open(f->dir, NULL, &db), CL_ECORRUPT);
    assert_int_equal(cl_errinfo(&ei), 0);
    assert_int_equal(ei.kind, CL_ERRK_SUPERBLOCK);
    assert_non_null(strstr(ei.file, "pages"));
}

/* A database in torn-page mode dwb with n batches, checkpointed (which
 * writes every page through the doublewrite area) and closed. */
static void make_dwb_db(const char *dir, const cl_options *o, int n)
{
    cl_db *db = open_db(dir, o);

    for (int i = 0; i < n; i++)
        assert_int_equal(write_batch(db, i), 0);
    assert_int_equal(cl_checkpoint(db), 0);
    assert_int_equal(cl_close(db), 0);
    assert_true(tu_exists(tu_path(dir, "dwb")));
}

/* cl_open of a directory whose page file is gone returns CL_ECORRUPT
 * naming the file it found, with and without no_create, and leaves it. */
static void assert_lost_page_file(const char *dir, const char *file)
{
    cl_options o = {0};
    cl_db *db = NULL;
    cl_err_info ei;
    int64_t size = tu_file_size(tu_path(dir, file));

    for (int no_create = 0; no_create < 2; no_create++) {
        o.no_create = no_create;
        assert_int_equal(cl_open(dir, &o, &db), CL_ECORRUPT);
        assert_non_null(strstr(cl_errdetail(), dir));
        assert_non_null(strstr(cl_errdetail(), file));
        assert_int_equal(cl_errinfo(&ei), 0);
        assert_non_null(strstr(ei.file, file));
        assert_false(tu_exists(tu_path(dir, "pages")));
        assert_int_equal(tu_file_size(tu_path(dir, file)), size);
    }
}

/* The page file makes a directory a database, but a log without it is a
 * database that lost its page file: an open does not create a new one
 * over its log (which would overwrite segment 1 and strand the rest).
 * Segment 1 with its header alone is what a create that crashed before
 * installing the page file leaves, and a create goes on over it. */
static void test_recovery_log_without_page_file_is_not_recreated(void **state)
{
    fx *f = *state;
    cl_options o = {.torn = CL_TORN_DWB};
    char pages[sizeof(f->dir) + 8];
    cl_db *db = open_db(f->dir, NULL);

    snprintf(pages, sizeof(pages), "%s/pages", f->dir);
    /* records in segment 1 (the handle does not checkpoint at close) */
    for (int i = 0; i < 4; i++)
        assert_int_equal(write_batch(db, i), 0);
    assert_int_equal(cl_close(db), 0);
    assert_int_equal(unlink(pages), 0);
    assert_lost_page_file(f->dir, SEG1);

    /* a checkpointed database: segment 2, its header alone */
    assert_int_equal(fs_rmrf(f->dir), 0);
    db = open_db(f->dir, NULL);
    assert_int_equal(write_batch(db, 0), 0);
    assert_int_equal(cl_checkpoint(db), 0);
    assert_int_equal(cl_close(db), 0);
    assert_false(tu_exists(tu_path(f->dir, SEG1)));
    assert_int_equal(unlink(pages), 0);
    assert_lost_page_file(f->dir, "wal-0000000000000002");

    /* the doublewrite file of torn-page mode dwb, alone */
    assert_int_equal(fs_rmrf(f->dir), 0);
    make_dwb_db(f->dir, &o, 4);
    assert_int_equal(unlink(pages), 0);
    for (uint64_t segno = 1; segno < 16; segno++) {
        char seg[64];
        wal_seg_path(seg, sizeof(seg), f->dir, segno);
        unlink(seg);
    }
    assert_lost_page_file(f->dir, "dwb");

    /* a create cut before its page file: segment 1, header only */
    assert_int_equal(fs_rmrf(f->dir), 0);
    db = open_db(f->dir, NULL);
    assert_int_equal(cl_close(db), 0);
    assert_int_equal(unlink(pages), 0);
    assert_int_equal(tu_file_size(tu_path(f->dir, SEG1)), WAL_SEG_HDR_SIZE);
    db = open_db(f->dir, NULL);
    assert_int_equal(write_batch(db, 0), 0);
    assert_int_equal(count_batches(db), 1);
    assert_int_equal(cl_close(db), 0);
}

static void test_recovery_torn_page_dwb_is_restored(void **state)
{
    fx *f = *state;
    cl_options o = {0};
    cl_recovery rep;
    cl_db *db;
    const char *pages = tu_path(f->dir, "pages");
    uint8_t garbage[1024];
    rng r = {11};

    o.torn = CL_TORN_DWB;
    make_dwb_db(f->dir, &o, 50);
    rng_fill(&r, garbage, sizeof(garbage));
    assert_int_equal(tu_write_at(pages, 2 * 4096 + 1000, garbage, 1024), 0);
    db = open_db(f->dir, &o);
    assert_int_equal(cl_recovery_report(db, &rep), 0);
    assert_int_equal(rep.pages_repaired_dwb, 1);
    assert_int_equal(count_batches(db), 50);
    assert_int_equal(cl_check(db, NULL, 0), 0);
    assert_int_equal(cl_close(db), 0);
}

/* A page file holding an intact but older version of a page whose newer
 * version is in the doublewrite area (its in-place write was lost):
 * recovery brings the newer one forward, and does not count it as a
 * repaired page. */
static void test_recovery_dwb_older_page_is_restored_not_counted(void **state)
{
    fx *f = *state;
    cl_options o = {0};
    cl_recovery rep;
    cl_db *db;
    const char *pages = tu_path(f->dir, "pages");
    uint8_t old_meta[4096];

    o.torn = CL_TORN_DWB;
    db = open_db(f->dir, &o);
    for (int i = 0; i < 20; i++)
        assert_int_equal(write_batch(db, i), 0);
    assert_int_equal(cl_checkpoint(db), 0);
    assert_int_equal(tu_read_at(pages, 4096, old_meta, sizeof(old_meta)), 0);
    for (int i = 20; i < 40; i++)
        assert_int_equal(write_batch(db, i), 0);
    /* the meta page (its key count) changed: written through the area */
    assert_int_equal(cl_checkpoint(db), 0);
    assert_int_equal(cl_close(db), 0);
    assert_int_equal(tu_write_at(pages, 4096, old_meta, sizeof(old_meta)), 0);
    db = open_db(f->dir, &o);
    assert_int_equal(cl_recovery_report(db, &rep), 0);
    assert_int_equal(rep.pages_repaired_dwb, 0);
    assert_int_equal(count_batches(db), 40);
    assert_int_equal(cl_check(db, NULL, 0), 0);
    assert_int_equal(cl_close(db), 0);
}

/* The POSIX table, except that every read of the doublewrite file fails
 * with EIO. */
typedef struct dwb_eio {
    cl_io io;
    const cl_io *posix;
    int dwb_fd;
} dwb_eio;

static int dwb_eio_open(void *ctx, const char *path, int flags, int *fd)
{
    dwb_eio *d = ctx;
    size_t n = strlen(path);
    int rc = d->posix->open(d->posix->ctx, path, flags, fd);

    if (rc == 0 && n >= 4 && strcmp(path + n - 4, "/dwb") == 0)
        d->dwb_fd = *fd;
    return rc;
}

static int dwb_eio_pread(void *ctx, int fd, void *buf, size_t len, uint64_t off,
                         size_t *nread)
{
    dwb_eio *d = ctx;

    if (fd == d->dwb_fd)
        return EIO;
    return d->posix->pread(d->posix->ctx, fd, buf, len, off, nread);
}

/* A doublewrite slot that cannot be read may hold the only intact copy of
 * a torn page: the open fails with the read error instead of recovering
 * without it. */
static void test_recovery_dwb_read_error_fails_open(void **state)
{
    fx *f = *state;
    cl_options o = {0};
    dwb_eio d;
    cl_db *db = NULL;

    o.torn = CL_TORN_DWB;
    make_dwb_db(f->dir, &o, 20);
    d.posix = cl_io_posix();
    d.io = *d.posix;
    d.io.ctx = &d;
    d.io.open = dwb_eio_open;
    d.io.pread = dwb_eio_pread;
    d.dwb_fd = -1;
    o.io = &d.io;
    db = NULL;
    assert_int_equal(cl_open(f->dir, &o, &db), EIO);
    assert_null(db);
    assert_non_null(strstr(cl_errdetail(), "dwb"));
}

static void test_recovery_is_repeatable(void **state)
{
    fx *f = *state;
    char copy[4200];
    cl_db *a, *b;
    cl_recovery ra, rb;

    a = open_db(f->dir, NULL);
    for (int i = 0; i < 30; i++)
        assert_int_equal(write_batch(a, i), 0);
    assert_int_equal(cl_close(a), 0);
    snprintf(copy, sizeof(copy), "%s-copy", f->dir);
    assert_int_equal(fs_copy_tree(f->dir, copy), 0);
    a = open_db(f->dir, NULL);
    assert_int_equal(cl_recovery_report(a, &ra), 0);
    assert_int_equal(cl_close(a), 0);
    /* a second recovery over the result of the first: same state */
    a = open_db(f->dir, NULL);
    b = open_db(copy, NULL);
    assert_int_equal(cl_recovery_report(b, &rb), 0);
    assert_int_equal(ra.records, rb.records);
    assert_int_equal(ra.end_lsn, rb.end_lsn);
    assert_int_equal(count_batches(a), 30);
    assert_int_equal(count_batches(b), 30);
    assert_int_equal(cl_close(a), 0);
    assert_int_equal(cl_close(b), 0);
    fs_rmrf(copy);
}

/* Open dir with o (NULL: defaults, cl_close's checkpoint included),
 * write batches from..to - 1 and close. */
static void write_batches_and_close(const char *dir, const cl_options *o,
                                    int from, int to)
{
    cl_db *db = NULL;

    assert_int_equal(cl_open(dir, o, &db), 0);
    for (int i = from; i < to; i++)
        assert_int_equal(write_batch(db, i), 0);
    assert_int_equal(cl_close(db), 0);
}

/* A close checkpoints by default: the next open has no record to replay
 * and every batch is there; a handle that wrote nothing closes without
 * touching the files; cl_options.no_close_checkpoint leaves the log. */
static void test_recovery_close_checkpoints(void **state)
{
    fx *f = *state;
    char copy[4200];
    cl_options keep = {0};
    cl_recovery rep;
    cl_db *db = NULL;

    write_batches_and_close(f->dir, NULL, 0, 30);
    assert_int_equal(cl_open(f->dir, NULL, &db), 0);
    assert_int_equal(cl_recovery_report(db, &rep), 0);
    assert_int_equal(rep.records, 0);
    assert_int_equal(rep.pages_applied, 0);
    assert_int_equal(count_batches(db), 30);
    assert_int_equal(cl_close(db), 0);
    /* nothing written: the close leaves the files as they were */
    snprintf(copy, sizeof(copy), "%s-copy", f->dir);
    assert_int_equal(fs_copy_tree(f->dir, copy), 0);
    assert_int_equal(cl_open(f->dir, NULL, &db), 0);
    assert_int_equal(count_batches(db), 30);
    assert_int_equal(cl_close(db), 0);
    assert_true(tu_tree_equal(f->dir, copy));
    fs_rmrf(copy);
    /* a fast shutdown: the next open replays what this handle wrote */
    keep.no_close_checkpoint = 1;
    write_batches_and_close(f->dir, &keep, 30, 40);
    assert_int_equal(cl_open(f->dir, NULL, &db), 0);
    assert_int_equal(cl_recovery_report(db, &rep), 0);
    assert_int_equal(rep.records, 10);
    assert_int_equal(count_batches(db), 40);
    assert_int_equal(cl_close(db), 0);
}

/* Batch i of the spread workload: 150 keys spread over the key space,
 * 200-byte values naming their key's number. */
static void spread_batch(cl_db *db, int i)
{
    char k[32], v[200];
    cl_batch *b;

    assert_int_equal(cl_batch_new(&b), 0);
    for (int j = 0; j < 150; j++) {
        int x = j * 64 + i;
        snprintf(k, sizeof(k), "k%08d", x * 7919 % 100003);
        memset(v, 'v', sizeof(v));
        snprintf(v, 16, "%d", x);
        assert_int_equal(cl_batch_put(b, k, strlen(k), v, sizeof(v)), 0);
    }
    assert_int_equal(cl_commit(db, b, NULL), 0);
    cl_batch_free(b);
}

/* Every key of spread batches 0..n-1 reads back. */
static void spread_check(cl_db *db, int n)
{
    char k[32], v[201];
    size_t len;

    for (int i = 0; i < n; i++)
        for (int j = 0; j < 150; j++) {
            int x = j * 64 + i;
            snprintf(k, sizeof(k), "k%08d", x * 7919 % 100003);
            assert_int_equal(cl_get(db, k, strlen(k), v, 200, &len), 0);
            v[len < 200 ? len : 200] = '\0';
            assert_int_equal(atoi(v), x);
        }
}

/* Recovery redoes a page when it is first read: the open reads the log, the
 * meta page and the root (redone as the log is read: nearly every record
 * changes them), and nothing else; each later read brings its pages'
 * changes, and the report counts them as they come.  Then again after 40
 * batches (the leaves changed in most of them). */
static void test_recovery_redo_waits_for_first_read(void **state)
{
    fx *f = *state;
    cl_recovery rep;
    cl_stats st;
    uint64_t at_open;
    cl_db *db = open_db(f->dir, NULL);

    for (int i = 0; i < 15; i++)
        spread_batch(db, i);
    assert_int_equal(cl_close(db), 0);
    db = open_db(f->dir, NULL);
    assert_int_equal(cl_recovery_report(db, &rep), 0);
    assert_true(rep.records >= 15);
    assert_int_equal(cl_stats_get(db, &st), 0);
    assert_int_equal(st.page_reads, 2); /* the meta page and the root */
    assert_true(st.pages_total > 50);
    at_open = rep.pages_applied;
    assert_true(at_open >= 15); /* the meta page changes in each batch */
    spread_check(db, 15);
    assert_int_equal(cl_check(db, NULL, 0), 0);
    assert_int_equal(cl_stats_get(db, &st), 0);
    assert_true(st.page_reads > 50);
    assert_int_equal(cl_recovery_report(db, &rep), 0);
    assert_true(rep.pages_applied > at_open + 50);
    for (int i = 15; i < 40; i++)
        spread_batch(db, i);
    assert_int_equal(cl_close(db), 0);
    db = open_db(f->dir, NULL);
    assert_int_equal(cl_stats_get(db, &st), 0);
    /* the meta page, the root, and an earlier root if the root split */
    assert_true(st.page_reads >= 2 && st.page_reads <= 4);
    spread_check(db, 40);
    assert_int_equal(cl_check(db, NULL, 0), 0);
    assert_int_equal(cl_close(db), 0);
}

/* Commits while pages wait for their redo: they redo the pages they
 * change, a small pool writes redone pages back to make room, and the
 * next open replays the whole log again over what was written (no
 * checkpoint between): every batch is there, each once; after a
 * checkpoint as well. */
static void test_recovery_commits_while_pages_wait(void **state)
{
    fx *f = *state;
    cl_options o = {0};
    cl_stats st;
    cl_db *db;

    o.pool_bytes = 1048576; /* 256 frames: a batch fits, the database not */
    db = open_db(f->dir, &o);
    for (int i = 0; i < 15; i++)
        spread_batch(db, i);
    assert_int_equal(cl_close(db), 0);
    db = open_db(f->dir, &o);
    for (int i = 15; i < 30; i++)
        spread_batch(db, i);
    assert_int_equal(cl_stats_get(db, &st), 0);
    assert_true(st.evictions > 0);
    assert_int_equal(cl_close(db), 0);
    db = open_db(f->dir, &o);
    spread_check(db, 30);
    assert_int_equal(cl_check(db, NULL, 0), 0);
    assert_int_equal(cl_close(db), 0);
    db = open_db(f->dir, &o);
    for (int i = 30; i < 35; i++)
        spread_batch(db, i);
    assert_int_equal(cl_checkpoint(db), 0);
    assert_int_equal(cl_close(db), 0);
    db = open_db(f->dir, &o);
    spread_check(db, 35);
    assert_int_equal(cl_check(db, NULL, 0), 0);
    assert_int_equal(cl_close(db), 0);
}

/* A checkpoint moves recovery's start past the log it has: it first reads
 * every page still waiting for its redo.  Nothing is read between the open
 * and the checkpoint here, and the next open has nothing to replay. */
static void test_recovery_checkpoint_redoes_waiting_pages(void **state)
{
    fx *f = *state;
    cl_options o = {0};
    cl_recovery rep;
    cl_db *db;

    o.pool_bytes = 262144; /* 64 frames: the checkpoint's reads evict */
    db = open_db(f->dir, &o);
    for (int i = 0; i < 400; i++)
        assert_int_equal(write_batch(db, i), 0);
    assert_int_equal(cl_close(db), 0);
    db = open_db(f->dir, &o);
    assert_int_equal(cl_checkpoint(db), 0);
    assert_int_equal(cl_close(db), 0);
    db = open_db(f->dir, &o);
    assert_int_equal(cl_recovery_report(db, &rep), 0);
    assert_int_equal(rep.records, 0);
    assert_int_equal(count_batches(db), 400);
    assert_int_equal(cl_check(db, NULL, 0), 0);
    assert_int_equal(cl_close(db), 0);
}

/* Rule 6 at a page's first read: a page the log changes whose copy in the
 * page file claims an LSN past the end of the log was written before its
 * record was durable.  The open does not read it; the first read does, and
 * fails with kind lsn-ahead, naming the page. */
static void test_recovery_page_ahead_of_log_found_at_first_read(void **state)
{
    fx *f = *state;
    cl_options o = {0};
    cl_recovery rep;
    cl_err_info ei;
    uint8_t pg[4096], cp[4096];
    char pages[4200], copy[4200], cpages[4300];
    uint32_t root, victim = 0;
    int64_t npages;
    cl_db *db;

    o.create_salt = 77;
    db = open_db(f->dir, &o);
    for (int i = 0; i < 15; i++)
        spread_batch(db, i);
    assert_int_equal(cl_checkpoint(db), 0);
    for (int i = 15; i < 20; i++)
        spread_batch(db, i);
    assert_int_equal(cl_close(db), 0);
    /* a leaf the log changes (not the root, which the open redoes): the
     * pages a checkpointed copy has that differ */
    snprintf(pages, sizeof(pages), "%s/pages", f->dir);
    snprintf(copy, sizeof(copy), "%s-copy", f->dir);
    snprintf(cpages, sizeof(cpages), "%s/pages", copy);
    assert_int_equal(fs_copy_tree(f->dir, copy), 0);
    db = open_db(copy, &o);
    assert_int_equal(cl_checkpoint(db), 0);
    assert_int_equal(cl_close(db), 0);
    assert_int_equal(tu_read_at(cpages, 4096, cp, sizeof(cp)), 0);
    root = get_le32(cp + PG_META_OFF_ROOT);
    npages = tu_file_size(pages) / 4096;
    for (int64_t n = 2; n < npages && victim == 0; n++) {
        assert_int_equal(tu_read_at(pages, (uint64_t)n * 4096, pg, 4096), 0);
        assert_int_equal(tu_read_at(cpages, (uint64_t)n * 4096, cp, 4096), 0);
        if ((uint32_t)n != root && pg[PG_OFF_TYPE] == PG_TYPE_LEAF &&
            memcmp(pg, cp, 4096) != 0)
            victim = (uint32_t)n;
    }
    fs_rmrf(copy);
    assert_true(victim >= 2);
    /* its copy in the page file now claims a far later LSN */
    put_le64(pg + PG_OFF_LSN, UINT64_C(1) << 40);
    page_seal(pg, 4096, victim, page_crc_seed(77));
    assert_int_equal(tu_write_at(pages, (uint64_t)victim * 4096, pg, 4096), 0);
    db = open_db(f->dir, &o);
    assert_int_equal(cl_recovery_report(db, &rep), 0);
    assert_true(rep.end_lsn < (UINT64_C(1) << 40));
    assert_int_equal(cl_check(db, NULL, 0), CL_ECORRUPT);
    assert_int_equal(cl_errinfo(&ei), 0);
    assert_int_equal(ei.kind, CL_ERRK_LSN_AHEAD);
    assert_int_equal(ei.pgno, victim);
    assert_string_equal(ei.file, pages);
    assert_int_equal(cl_close(db), 0);
}

/* Entries beyond the memory recovery keeps them in (an eighth of a small
 * pool here) are read from their log segment when their page is first
 * read, by several readers at once, while a checkpoint redoes the rest.
 * The I/O table counts the reads of log segments (read-only opens of
 * "wal-" files: recovery's own opens are read-write) to show it. */
typedef struct reader_arg {
    cl_db *db;
    int from, to, bad;
} reader_arg;

static const cl_io *seg_base;
static _Atomic int seg_fd[64];
static atomic_int seg_nfd, seg_reads;

static int seg_open(void *ctx, const char *path, int flags, int *fd)
{
    int rc = seg_base->open(ctx, path, flags, fd);
    int n;

    if (rc == 0 && flags == CL_IO_RDONLY && strstr(path, "/wal-") != NULL &&
        (n = atomic_fetch_add(&seg_nfd, 1)) < 64)
        atomic_store(&seg_fd[n], *fd);
    return rc;
}

static int seg_pread(void *ctx, int fd, void *buf, size_t len, uint64_t off,
                     size_t *nread)
{
    for (int i = 0; i < atomic_load(&seg_nfd) && i < 64; i++)
        if (atomic_load(&seg_fd[i]) == fd)
            atomic_fetch_add(&seg_reads, 1);
    return seg_base->pread(ctx, fd, buf, len, off, nread);
}

static void *reader_main(void *arg)
{
    reader_arg *a = arg;
    char k[32], v[32];
    size_t n;

    for (int i = a->from; i < a->to; i++)
        for (int j = 0; j < 5; j++) {
            snprintf(k, sizeof(k), "b%06d-%d", i, j);
            if (cl_get(a->db, k, strlen(k), v, sizeof(v), &n) != 0 ||
                n != (size_t)snprintf(NULL, 0, "%d", i) ||
                atoi((v[n] = '\0', v)) != i)
                a->bad++;
        }
    return NULL;
}

static void test_recovery_redo_from_the_log_by_readers(void **state)
{
    fx *f = *state;
    cl_options o = {0};
    reader_arg a[4];
    pthread_t t[4];
    cl_db *db;

    cl_io io;

    o.pool_bytes = 262144;
    db = open_db(f->dir, &o);
    for (int i = 0; i < 400; i++)
        assert_int_equal(write_batch(db, i), 0);
    assert_int_equal(cl_close(db), 0);
    seg_base = cl_io_posix();
    io = *seg_base;
    io.open = seg_open;
    io.pread = seg_pread;
    o.io = &io;
    db = open_db(f->dir, &o);
    /* the open read the log through its read-write descriptor, and the
     * meta page's entries that are not in memory: read again */
    assert_true(atomic_load(&seg_reads) < 400);
    atomic_store(&seg_reads, 0);
    for (int r = 0; r < 4; r++) {
        a[r] = (reader_arg){db, r * 100, r * 100 + 100, 0};
        assert_int_equal(pthread_create(&t[r], NULL, reader_main, &a[r]), 0);
    }
    /* and a checkpoint meanwhile, which redoes what is left */
    assert_int_equal(cl_checkpoint(db), 0);
    for (int r = 0; r < 4; r++) {
        assert_int_equal(pthread_join(t[r], NULL), 0);
        assert_int_equal(a[r].bad, 0);
    }
    assert_true(atomic_load(&seg_reads) > 0); /* entries read again */
    assert_int_equal(count_batches(db), 400);
    assert_int_equal(cl_check(db, NULL, 0), 0);
    assert_int_equal(cl_close(db), 0);
}

/* A batch of n values of 60,000 bytes each (value j of batch i is its
 * key's bytes, repeated), one log record of about n * 60 KB. */
static int write_big_batch(cl_db *db, int i, int n)
{
    static char v[60000];
    cl_batch *b;
    char k[32];
    int rc = 0;

    if (cl_batch_new(&b) != 0)
        return -1;
    for (int j = 0; j < n && rc == 0; j++) {
        size_t kl = (size_t)snprintf(k, sizeof(k), "big%03d-%03d", i, j);
        for (size_t x = 0; x < sizeof(v); x++)
            v[x] = k[x % kl];
        rc = cl_batch_put(b, k, kl, v, sizeof(v));
    }
    if (rc == 0)
        rc = cl_commit(db, b, NULL);
    cl_batch_free(b);
    return rc;
}

static void expect_big_batch(cl_db *db, int i, int n, int present)
{
    static char got[60000];
    char k[32];
    size_t vl;

    for (int j = 0; j < n; j++) {
        size_t kl = (size_t)snprintf(k, sizeof(k), "big%03d-%03d", i, j);
        int rc = cl_get(db, k, kl, got, sizeof(got), &vl);
        if (!present) {
            assert_int_equal(rc, CL_ENOTFOUND);
            continue;
        }
        assert_int_equal(rc, 0);
        assert_int_equal(vl, sizeof(got));
        for (size_t x = 0; x < sizeof(got); x += 997)
            assert_int_equal(got[x], k[x % kl]);
    }
}

/* Recovery reads segments through a 1 MiB window: records several times
 * larger than it replay whole, and a torn one at the end is still cut. */
static void test_recovery_records_larger_than_the_read_window(void **state)
{
    fx *f = *state;
    cl_options o = {0};
    cl_recovery rep;
    cl_db *db;
    const char *seg = tu_path(f->dir, SEG1);
    int64_t size;

    o.checkpoint_bytes = CL_CHECKPOINT_NEVER;
    o.segment_bytes = 64 << 20;
    db = open_db(f->dir, &o);
    for (int i = 0; i < 4; i++) /* about 3 MB each */
        assert_int_equal(write_big_batch(db, i, 50), 0);
    assert_int_equal(write_batch(db, 0), 0);
    assert_int_equal(write_big_batch(db, 4, 50), 0);
    assert_int_equal(cl_close(db), 0);
    size = tu_file_size(seg);
    assert_true(size > 12 << 20);
    assert_int_equal(tu_truncate(seg, (uint64_t)size - 100), 0);
    db = open_db(f->dir, &o);
    assert_int_equal(cl_recovery_report(db, &rep), 0);
    assert_int_equal(rep.records, 5);
    assert_int_equal(rep.tail_cut, 1);
    assert_true(rep.tail_bytes > 1 << 20); /* the whole last record */
    for (int i = 0; i < 4; i++)
        expect_big_batch(db, i, 50, 1);
    expect_big_batch(db, 4, 50, 0);
    assert_int_equal(count_batches(db), 1);
    assert_int_equal(cl_check(db, NULL, 0), 0);
    assert_int_equal(cl_close(db), 0);
}

/* Records ever larger than the window (1.5, 3, 6 and 9 MB, each after a
 * small one that the window holds when it must grow), then smaller ones
 * (6 and 1.5 MB) that fit the grown window: every regrowth keeps the bytes
 * it has, and everything replays. */
static void test_recovery_records_growing_past_the_window(void **state)
{
    fx *f = *state;
    cl_options o = {0};
    cl_recovery rep;
    cl_db *db;
    const int n[] = {25, 50, 100, 150, 100, 25};

    o.checkpoint_bytes = CL_CHECKPOINT_NEVER;
    o.segment_bytes = 64 << 20;
    o.pool_bytes = 64 << 20;
    db = open_db(f->dir, &o);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(write_batch(db, i), 0);
        assert_int_equal(write_big_batch(db, i, n[i]), 0);
    }
    assert_int_equal(cl_close(db), 0);
    db = open_db(f->dir, &o);
    assert_int_equal(cl_recovery_report(db, &rep), 0);
    assert_int_equal(rep.records, 12);
    assert_int_equal(rep.tail_cut, 0);
    for (int i = 0; i < 6; i++)
        expect_big_batch(db, i, n[i], 1);
    assert_int_equal(count_batches(db), 6);
    assert_int_equal(cl_check(db, NULL, 0), 0);
    assert_int_equal(cl_close(db), 0);
}

/* A damaged record (larger than the read window) with the record written
 * after it was durable beyond the window that holds it: still corruption
 * (R7 must see the whole rest of the segment), never a cut. */
static void
test_recovery_damage_before_a_later_window_is_corruption(void **state)
{
    fx *f = *state;
    cl_options o = {0};
    cl_db *db = NULL;
    const char *seg = tu_path(f->dir, SEG1);
    int64_t size, first;

    o.sync = CL_SYNC_COMMIT; /* each record durable before the next */
    o.checkpoint_bytes = CL_CHECKPOINT_NEVER;
    o.segment_bytes = 64 << 20;
    db = open_db(f->dir, &o);
    for (int i = 0; i < 200; i++)
        assert_int_equal(write_batch(db, i), 0);
    assert_int_equal(cl_close(db), 0);
    first = tu_file_size(seg); /* where the first big record goes */
    db = open_db(f->dir, &o);
    for (int i = 0; i < 2; i++)
        assert_int_equal(write_big_batch(db, i, 25), 0);
    assert_int_equal(cl_close(db), 0);
    size = tu_file_size(seg);
    assert_true(size > first + (2 << 20));
    assert_int_equal(tu_flip_byte(seg, (uint64_t)first + 5000), 0);
    db = NULL;
    assert_int_equal(cl_open(f->dir, &o, &db), CL_ECORRUPT);
    assert_null(db);
    assert_non_null(strstr(cl_errdetail(), "written after it was durable"));
}

/* Create (or replace) a file holding buf. */
static void write_file(const char *path, const void *buf, size_t len)
{
    FILE *fp = fopen(path, "wb");

    assert_non_null(fp);
    assert_int_equal(fwrite(buf, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

/* Segments an interrupted checkpoint left below the checkpoint's segment,
 * even with a gap among them (a power cut can undo unlinks in any order),
 * are removed by the next recovery. */
static void test_recovery_leftover_segments_are_removed(void **state)
{
    fx *f = *state;
    cl_options o = {0};
    cl_db *db;
    uint8_t *seg1, *seg3;
    size_t len1, len3;
    char name[64];
    int i, last = 0;

    o.segment_bytes = 64 << 10;
    o.checkpoint_bytes = CL_CHECKPOINT_NEVER;
    db = open_db(f->dir, &o);
    for (i = 0; !tu_exists(tu_path(f->dir, "wal-0000000000000004")); i++)
        assert_int_equal(write_batch(db, i), 0);
    seg1 = tu_read_file(tu_path(f->dir, SEG1), &len1);
    seg3 = tu_read_file(tu_path(f->dir, "wal-0000000000000003"), &len3);
    assert_non_null(seg1);
    assert_non_null(seg3);
    assert_int_equal(cl_checkpoint(db), 0);
    assert_int_equal(cl_close(db), 0);
    for (int s = 1; s < 5; s++) {
        snprintf(name, sizeof(name), "wal-%016x", s);
        assert_false(tu_exists(tu_path(f->dir, name)));
    }
    /* As if the checkpoint's unlinks of segments 1 and 3 had not reached
     * the disk. */
    write_file(tu_path(f->dir, SEG1), seg1, len1);
    write_file(tu_path(f->dir, "wal-0000000000000003"), seg3, len3);
    db = open_db(f->dir, &o);
    assert_false(tu_exists(tu_path(f->dir, SEG1)));
    assert_false(tu_exists(tu_path(f->dir, "wal-0000000000000003")));
    last = count_batches(db);
    assert_int_equal(last, i);
    assert_int_equal(cl_close(db), 0);
    free(seg1);
    free(seg3);
}

/* A superblock slot with a valid CRC that names 2^40 segments as left
 * behind by its checkpoint (found by crafting a fuzz_open_fixcrc input):
 * recovery used to try to unlink every one of those names, which never
 * ends.  Open must finish, in a child with an alarm set so that a
 * regression fails instead of hanging. */
static void test_recovery_huge_garbage_range_is_bounded(void **state)
{
    fx *f = *state;
    const uint64_t far = 1ull << 40;
    const char *pages = tu_path(f->dir, "pages");
    uint8_t slot[SB_SLOT_SIZE], hdr[WAL_SEG_HDR_SIZE];
    char path[4200], why[64];
    sb_state st;
    wal_seg_hdr h;
    cl_db *db = open_db(f->dir, NULL);
    pid_t pid;
    int status;

    for (int i = 0; i < 5; i++)
        assert_int_equal(write_batch(db, i), 0);
    assert_int_equal(cl_checkpoint(db), 0); /* seq 2, in slot 0 */
    assert_int_equal(cl_close(db), 0);
    assert_int_equal(tu_read_at(pages, SB_SLOT0_OFF, slot, sizeof(slot)), 0);
    assert_int_equal(sb_decode(slot, &st, why, sizeof(why)), 0);
    /* seq 3 in slot 1: the checkpoint at segment 2^40 (which starts where
     * the log ends), leaving [1, 2^40) behind. */
    st.seq = 3;
    st.ckpt_segno = far;
    st.old_segno = 1;
    sb_encode(slot, &st);
    assert_int_equal(tu_write_at(pages, SB_SLOT1_OFF, slot, sizeof(slot)), 0);
    h.segno = far;
    h.start_lsn = st.ckpt_lsn;
    h.db_salt = st.salt;
    h.salt = wal_seg_salt(st.salt, far, st.ckpt_lsn);
    wal_seg_encode(hdr, &h);
    wal_seg_path(path, sizeof(path), f->dir, far);
    write_file(path, hdr, sizeof(hdr));

    pid = tu_fork();
    if (pid == 0) {
        alarm(300); /* a hang, not slowness: 65536 unlinks take seconds */
        if (cl_open(f->dir, NULL, &db) != 0 || count_batches(db) != 5 ||
            cl_check(db, NULL, 0) != 0)
            _exit(1);
        cl_close(db);
        _exit(0);
    }
    status = tu_wait(pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* The superblock slot at off of page file pages (it must decode). */
static sb_state read_slot(const char *pages, uint64_t off)
{
    uint8_t slot[SB_SLOT_SIZE];
    char why[64];
    sb_state st;

    assert_int_equal(tu_read_at(pages, off, slot, sizeof(slot)), 0);
    assert_int_equal(sb_decode(slot, &st, why, sizeof(why)), 0);
    return st;
}

/* sb_read on the page file at path: the state it picks, or -1. */
static int sb_pick(const char *path, sb_state *st)
{
    const cl_io *io = cl_io_posix();
    int fd, rc;

    assert_int_equal(io->open(io->ctx, path, CL_IO_RDONLY, &fd), 0);
    rc = sb_read(io, fd, path, st);
    io->close(io->ctx, fd);
    return rc;
}

/* Rules S5 and S6: a slot with nonzero reserved bytes, or with a sequence
 * number of the other slot's parity, is invalid even with a good CRC; so
 * two valid slots never tie, and a slot written by another format is
 * never taken for the newer checkpoint. */
static void test_recovery_superblock_reserved_and_parity_rules(void **state)
{
    fx *f = *state;
    const char *pages = tu_path(f->dir, "pages");
    uint8_t slot[SB_SLOT_SIZE];
    sb_state s0, st, got;
    cl_db *db = open_db(f->dir, NULL);

    for (int i = 0; i < 5; i++)
        assert_int_equal(write_batch(db, i), 0);
    assert_int_equal(cl_checkpoint(db), 0); /* seq 2, in slot 0 */
    assert_int_equal(cl_close(db), 0);
    s0 = read_slot(pages, SB_SLOT0_OFF);
    assert_int_equal(s0.seq, 2);
    /* slot 1: the same seq as slot 0 (a tie), another checkpoint LSN */
    st = s0;
    st.ckpt_lsn = s0.ckpt_lsn + 4096;
    sb_encode(slot, &st);
    assert_int_equal(tu_write_at(pages, SB_SLOT1_OFF, slot, sizeof(slot)), 0);
    assert_int_equal(sb_pick(pages, &got), 0);
    assert_int_equal(got.ckpt_lsn, s0.ckpt_lsn);
    /* slot 1: a higher seq, but even (slot 0's parity) */
    st.seq = 4;
    sb_encode(slot, &st);
    assert_int_equal(tu_write_at(pages, SB_SLOT1_OFF, slot, sizeof(slot)), 0);
    assert_int_equal(sb_pick(pages, &got), 0);
    assert_int_equal(got.seq, 2);
    /* slot 1: seq 3, but a reserved byte set under a good CRC */
    st.seq = 3;
    sb_encode(slot, &st);
    slot[SB_OFF_RESERVED + 7] = 1;
    put_le32(slot, crc32c(slot + 4, SB_SLOT_SIZE - 4));
    assert_int_equal(tu_write_at(pages, SB_SLOT1_OFF, slot, sizeof(slot)), 0);
    assert_int_equal(sb_pick(pages, &got), 0);
    assert_int_equal(got.seq, 2);
    /* and the database opens from slot 0 */
    db = open_db(f->dir, NULL);
    assert_int_equal(count_batches(db), 5);
    assert_int_equal(cl_close(db), 0);
}

/* Page 0 is zero outside its two slots: a nonzero byte between the slots
 * or after slot 1 leaves both slots valid (open works) but fails cl_check
 * as corruption; zero again, the check passes. */
static void test_recovery_page0_outside_slots_must_be_zero(void **state)
{
    fx *f = *state;
    const char *pages = tu_path(f->dir, "pages");
    static const uint64_t offs[] = {SB_SLOT_SIZE, SB_SLOT1_OFF - 1,
                                    SB_SLOT1_OFF + SB_SLOT_SIZE, 4095};
    uint8_t one = 1, zero = 0;
    char msg[256];
    cl_db *db = open_db(f->dir, NULL);

    assert_int_equal(write_batch(db, 0), 0);
    assert_int_equal(cl_checkpoint(db), 0);
    assert_int_equal(cl_close(db), 0);
    for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
        assert_int_equal(tu_write_at(pages, offs[i], &one, 1), 0);
        db = open_db(f->dir, NULL);
        assert_int_equal(cl_check(db, msg, sizeof(msg)), CL_ECORRUPT);
        assert_int_equal(cl_close(db), 0);
        assert_int_equal(tu_write_at(pages, offs[i], &zero, 1), 0);
        db = open_db(f->dir, NULL);
        assert_int_equal(cl_check(db, msg, sizeof(msg)), 0);
        assert_int_equal(count_batches(db), 1);
        assert_int_equal(cl_close(db), 0);
    }
}

/* A doublewrite slot naming a page far past anything the page file and
 * the log can hold, with a good CRC, is damage: open refuses it as
 * corruption (kind structure) and writes nothing, where restoring it would
 * extend the page file by 4 GiB.  The slot as it was opens the database. */
static void test_recovery_dwb_slot_page_number_is_bounded(void **state)
{
    fx *f = *state;
    cl_options o = {0};
    cl_db *db;
    const char *pages = tu_path(f->dir, "pages"), *dwb = tu_path(f->dir, "dwb");
    uint8_t page[4096], orig[4096];
    cl_err_info ei;
    int64_t before;

    o.torn = CL_TORN_DWB;
    make_dwb_db(f->dir, &o, 50);
    before = tu_file_size(pages);
    assert_int_equal(tu_read_at(dwb, 0, orig, sizeof(orig)), 0);
    memcpy(page, orig, sizeof(page));
    page_seal(page, sizeof(page), 1u << 20,
              page_crc_seed(read_slot(pages, SB_SLOT0_OFF).salt));
    assert_int_equal(tu_write_at(dwb, 0, page, sizeof(page)), 0);
    assert_int_equal(cl_open(f->dir, &o, &db), CL_ECORRUPT);
    assert_int_equal(cl_errinfo(&ei), 0);
    assert_int_equal(ei.kind, CL_ERRK_STRUCTURE);
    assert_true(ei.pgno == 1u << 20);
    assert_true(tu_file_size(pages) == before);
    assert_int_equal(tu_write_at(dwb, 0, orig, sizeof(orig)), 0);
    db = open_db(f->dir, &o);
    assert_int_equal(count_batches(db), 50);
    assert_int_equal(cl_close(db), 0);
}

/* A meta page counting more pages than the page file and the pool can
 * hold (2^31, with a good CRC) is refused at open as a damaged meta page,
 * before anything sizes itself by the count. */
static void test_recovery_meta_page_count_is_bounded(void **state)
{
    fx *f = *state;
    const char *pages = tu_path(f->dir, "pages");
    uint8_t page[4096];
    cl_err_info ei;
    cl_db *db = open_db(f->dir, NULL);

    for (int i = 0; i < 5; i++)
        assert_int_equal(write_batch(db, i), 0);
    assert_int_equal(cl_checkpoint(db), 0);
    assert_int_equal(cl_close(db), 0);
    assert_int_equal(tu_read_at(pages, 4096, page, sizeof(page)), 0);
    put_le32(page + PG_META_OFF_NPAGES, 1u << 31);
    page_seal(page, sizeof(page), 1,
              page_crc_seed(read_slot(pages, SB_SLOT0_OFF).salt));
    assert_int_equal(tu_write_at(pages, 4096, page, sizeof(page)), 0);
    assert_int_equal(cl_open(f->dir, NULL, &db), CL_ECORRUPT);
    assert_int_equal(cl_errinfo(&ei), 0);
    assert_int_equal(ei.kind, CL_ERRK_META);
}

/* cl_check sizes its bitmap of pages by the meta page's count only after
 * checking the count against the page file's real size: with the page
 * file cut to two pages under an open database whose meta page counts
 * more than 200, the check reports a damaged meta page (kind meta) before
 * it reads or allocates anything by the count. */
static void test_recovery_check_bounds_page_count_by_file_size(void **state)
{
    fx *f = *state;
    cl_options o = {0};
    static char val[3000];
    char k[32];
    cl_err_info ei;
    cl_db *db;

    o.pool_bytes = 256 << 10; /* 64 frames */
    db = open_db(f->dir, &o);
    for (int i = 0; i < 200; i++) { /* an overflow page each */
        snprintf(k, sizeof(k), "k%04d", i);
        assert_int_equal(cl_put(db, k, strlen(k), val, sizeof(val)), 0);
    }
    assert_int_equal(cl_checkpoint(db), 0);
    assert_int_equal(cl_check(db, NULL, 0), 0);
    assert_int_equal(tu_truncate(tu_path(f->dir, "pages"), 2 * 4096), 0);
    assert_int_equal(cl_check(db, NULL, 0), CL_ECORRUPT);
    assert_int_equal(cl_errinfo(&ei), 0);
    assert_int_equal(ei.kind, CL_ERRK_META);
    assert_int_equal(cl_close(db), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_recovery_superblock_reserved_and_parity_rules, fx_setup,
            fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_recovery_page0_outside_slots_must_be_zero, fx_setup,
            fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_recovery_dwb_slot_page_number_is_bounded, fx_setup,
            fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_recovery_meta_page_count_is_bounded, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_recovery_check_bounds_page_count_by_file_size, fx_setup,
            fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_recovery_killed_writer_keeps_acknowledged_batches, fx_setup,
            fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_recovery_truncated_last_record_is_cut_and_reported, fx_setup,
            fx_teardown),
        cmocka_unit_test_setup_teardown(test_recovery_zero_filled_tail_is_cut,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_recovery_flipped_byte_mid_log_is_corruption, fx_setup,
            fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_recovery_torn_superblock_slot_falls_back, fx_setup,
            fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_recovery_torn_superblock_before_segments_dropped, fx_setup,
            fx_teardown),
        cmocka_unit_test_setup_teardown(test_recovery_torn_page_fpw_is_repaired,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_recovery_torn_page_none_is_detected, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_recovery_dwb_older_page_is_restored_not_counted, fx_setup,
            fx_teardown),
        cmocka_unit_test_setup_teardown(test_recovery_errinfo_kinds, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_recovery_dwb_read_error_fails_open,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_recovery_torn_page_dwb_is_restored,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_recovery_is_repeatable, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_recovery_close_checkpoints,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_recovery_redo_waits_for_first_read,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_recovery_checkpoint_redoes_waiting_pages, fx_setup,
            fx_teardown),
        cmocka_unit_test_setup_teardown(test_recovery_commits_while_pages_wait,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_recovery_page_ahead_of_log_found_at_first_read, fx_setup,
            fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_recovery_redo_from_the_log_by_readers, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_recovery_records_larger_than_the_read_window, fx_setup,
            fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_recovery_records_growing_past_the_window, fx_setup,
            fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_recovery_damage_before_a_later_window_is_corruption, fx_setup,
            fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_recovery_leftover_segments_are_removed, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_recovery_huge_garbage_range_is_bounded, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_recovery_log_without_page_file_is_not_recreated, fx_setup,
            fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
