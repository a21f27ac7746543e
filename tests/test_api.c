/*
 * test_api.c - the public API: round trips, limits and bad arguments, the
 * lock, batches, scans, sync counts, and the read-only state after a failed
 * fsync.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crashlab.h"
#include "testutil.h"

typedef struct fx {
    char *tmp;
    char dir[4096];
} fx;

static int fx_setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));

    f->tmp = tu_tmpdir("api");
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

static cl_db *open_db(const char *dir, const cl_options *o)
{
    cl_db *db = NULL;
    int rc = cl_open(dir, o, &db);

    if (rc != 0)
        fail_msg("cl_open(%s): %s: %s", dir, cl_strerror(rc), cl_errdetail());
    return db;
}

static void expect_kv(cl_db *db, const char *k, const void *v, size_t vlen)
{
    void *got = NULL;
    size_t n = 0;

    assert_int_equal(cl_get_alloc(db, k, strlen(k), &got, &n), 0);
    assert_int_equal(n, vlen);
    assert_memory_equal(got, v, vlen);
    free(got);
}

static void expect_absent(cl_db *db, const char *k)
{
    size_t n;

    assert_int_equal(cl_get(db, k, strlen(k), NULL, 0, &n), CL_ENOTFOUND);
}

static void test_api_put_get_delete_round_trip(void **state)
{
    fx *f = *state;
    cl_db *db = open_db(f->dir, NULL);
    cl_recovery rep;
    uint8_t bin[5] = {0, 1, 0, 255, 7};
    char buf[4];
    size_t n;

    assert_int_equal(cl_recovery_report(db, &rep), 0);
    assert_int_equal(rep.created, 1);
    assert_int_equal(cl_put(db, "lang", 4, "c", 1), 0);
    assert_int_equal(cl_put(db, bin, sizeof(bin), "", 0), 0); /* binary key,
                                                                 empty value */
    assert_int_equal(cl_put(db, "lang", 4, "c11", 3), 0);     /* replace */
    expect_kv(db, "lang", "c11", 3);
    /* a buffer too small gets the full length and a prefix */
    assert_int_equal(cl_get(db, "lang", 4, buf, 2, &n), 0);
    assert_int_equal(n, 3);
    assert_memory_equal(buf, "c1", 2);
    assert_int_equal(cl_get(db, bin, sizeof(bin), NULL, 0, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(cl_delete(db, "lang", 4), 0);
    assert_int_equal(cl_delete(db, "lang", 4), CL_ENOTFOUND);
    expect_absent(db, "lang");
    assert_int_equal(cl_close(db), 0);

    db = open_db(f->dir, NULL);
    assert_int_equal(cl_recovery_report(db, &rep), 0);
    assert_int_equal(rep.created, 0);
    expect_absent(db, "lang");
    assert_int_equal(cl_get(db, bin, sizeof(bin), NULL, 0, &n), 0);
    assert_int_equal(cl_check(db, NULL, 0), 0);
    assert_int_equal(cl_close(db), 0);
}

static void test_api_limits_and_bad_arguments(void **state)
{
    fx *f = *state;
    cl_db *db = open_db(f->dir, NULL);
    char *big = calloc(1, CL_VALUE_MAX + 2);
    cl_batch *b;
    size_t n;

    memset(big, 'k', CL_VALUE_MAX + 1);
    assert_int_equal(cl_put(db, big, CL_KEY_MAX + 1, "v", 1), CL_ETOOBIG);
    assert_int_equal(cl_put(db, "k", 1, big, CL_VALUE_MAX + 1), CL_ETOOBIG);
    assert_int_equal(cl_get(db, big, CL_KEY_MAX + 1, NULL, 0, &n), CL_ETOOBIG);
    assert_int_equal(cl_put(db, "", 0, "v", 1), CL_EINVAL);
    assert_int_equal(cl_put(db, NULL, 3, "v", 1), CL_EINVAL);
    assert_int_equal(cl_put(db, "k", 1, NULL, 4), CL_EINVAL);
    assert_int_equal(cl_put(NULL, "k", 1, "v", 1), CL_EINVAL);
    assert_int_equal(cl_get(db, "k", 1, NULL, 5, &n), CL_EINVAL);
    assert_int_equal(cl_open(NULL, NULL, &db), CL_EINVAL);
    /* the limits themselves are fine */
    assert_int_equal(cl_put(db, big, CL_KEY_MAX, big, CL_VALUE_MAX), 0);
    assert_int_equal(cl_get(db, big, CL_KEY_MAX, NULL, 0, &n), 0);
    assert_int_equal(n, CL_VALUE_MAX);
    assert_int_equal(cl_batch_new(&b), 0);
    assert_int_equal(cl_batch_put(b, big, CL_KEY_MAX + 1, "v", 1), CL_ETOOBIG);
    assert_int_equal(cl_batch_count(b), 0);
    cl_batch_free(b);
    assert_int_equal(cl_check(db, NULL, 0), 0);
    assert_int_equal(cl_close(db), 0);
    free(big);
    {
        cl_options o = {0};
        cl_db *x = NULL;
        o.page_size = 5000;
        assert_int_equal(cl_open(f->dir, &o, &x), CL_EINVAL);
        assert_null(x);
        /* cl_options_check refuses what cl_open refuses, and says why */
        assert_int_equal(cl_options_check(&o), CL_EINVAL);
        assert_non_null(strstr(cl_errdetail(), "page size 5000"));
        o.page_size = 65536;
        assert_int_equal(cl_options_check(&o), 0);
        assert_string_equal(cl_errdetail(), "");
        o.pool_bytes = 4096;
        assert_int_equal(cl_options_check(&o), CL_EINVAL);
        assert_non_null(strstr(cl_errdetail(), "buffer pool"));
        o.pool_bytes = 0;
        o.segment_bytes = 4096;
        assert_int_equal(cl_options_check(&o), CL_EINVAL);
        assert_non_null(strstr(cl_errdetail(), "log segments"));
        assert_int_equal(cl_options_check(NULL), 0);
    }
}

static void test_api_second_opener_gets_elocked(void **state)
{
    fx *f = *state;
    cl_db *db = open_db(f->dir, NULL), *db2 = NULL;
    pid_t pid;
    int st, fds[2];
    char got = 0;

    /* another handle in this process */
    assert_int_equal(cl_open(f->dir, NULL, &db2), CL_ELOCKED);
    assert_non_null(strstr(cl_errdetail(), "LOCK"));
    /* another process (the answer comes through a pipe: under valgrind the
     * child's exit status reports the parent's memory it inherited) */
    assert_int_equal(pipe(fds), 0);
    pid = tu_fork();
    if (pid == 0) {
        cl_db *x = NULL;
        char answer = cl_open(f->dir, NULL, &x) == CL_ELOCKED ? 'L' : '?';
        if (write(fds[1], &answer, 1) != 1)
            _exit(2);
        _exit(0);
    }
    st = tu_wait(pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(read(fds[0], &got, 1), 1);
    assert_int_equal(got, 'L');
    close(fds[0]);
    close(fds[1]);
    /* a child forked with the database open closes its copy of the
     * handle: the parent's lock stays */
    pid = tu_fork();
    if (pid == 0)
        _exit(cl_close(db) == 0 ? 0 : 3);
    st = tu_wait(pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_int_equal(cl_open(f->dir, NULL, &db2), CL_ELOCKED);
    assert_int_equal(cl_close(db), 0);
    /* released on close */
    db = open_db(f->dir, NULL);
    assert_int_equal(cl_close(db), 0);
}

static void test_api_batch_applies_in_order_atomically(void **state)
{
    fx *f = *state;
    cl_db *db = open_db(f->dir, NULL);
    cl_batch *b;
    uint64_t lsn = 0;

    assert_int_equal(cl_batch_new(&b), 0);
    assert_int_equal(cl_batch_put(b, "a", 1, "1", 1), 0);
    assert_int_equal(cl_batch_put(b, "b", 1, "2", 1), 0);
    assert_int_equal(cl_batch_delete(b, "a", 1), 0);
    assert_int_equal(cl_batch_put(b, "b", 1, "3", 1), 0);
    assert_int_equal(cl_batch_delete(b, "zz", 2), 0); /* absent: no effect */
    assert_int_equal(cl_batch_count(b), 5);
    assert_int_equal(cl_commit(db, b, &lsn), 0);
    assert_true(lsn > 0);
    assert_true(cl_durable_lsn(db) >= lsn);
    expect_absent(db, "a");
    expect_kv(db, "b", "3", 1);
    cl_batch_clear(b);
    assert_int_equal(cl_batch_count(b), 0);
    assert_int_equal(cl_commit(db, b, NULL), 0); /* empty batch */
    cl_batch_free(b);
    assert_int_equal(cl_close(db), 0);
}

typedef struct scan_acc {
    char keys[64][16];
    int n;
} scan_acc;

static int scan_collect(void *ctx, const void *k, size_t klen, const void *v,
                        size_t vlen)
{
    scan_acc *a = ctx;

    (void)v;
    (void)vlen;
    if (a->n >= 64 || klen >= 16)
        return 1;
    memcpy(a->keys[a->n], k, klen);
    a->keys[a->n][klen] = '\0';
    a->n++;
    return 0;
}

static void test_api_scan_start_prefix_limit(void **state)
{
    fx *f = *state;
    cl_db *db = open_db(f->dir, NULL);
    const char *keys[] = {"b1", "a", "b", "b2", "c", "ba", "b10"};
    scan_acc acc;

    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        assert_int_equal(cl_put(db, keys[i], strlen(keys[i]), "v", 1), 0);
    memset(&acc, 0, sizeof(acc));
    assert_int_equal(cl_scan(db, NULL, 0, NULL, 0, 0, scan_collect, &acc), 0);
    assert_int_equal(acc.n, 7);
    assert_string_equal(acc.keys[0], "a");
    assert_string_equal(acc.keys[1], "b");
    assert_string_equal(acc.keys[2], "b1");
    assert_string_equal(acc.keys[3], "b10");
    assert_string_equal(acc.keys[6], "c");
    memset(&acc, 0, sizeof(acc));
    assert_int_equal(cl_scan(db, NULL, 0, "b1", 2, 0, scan_collect, &acc), 0);
    assert_int_equal(acc.n, 2);
    assert_string_equal(acc.keys[1], "b10");
    memset(&acc, 0, sizeof(acc));
    assert_int_equal(cl_scan(db, "b10", 3, "b", 1, 2, scan_collect, &acc), 0);
    assert_int_equal(acc.n, 2);
    assert_string_equal(acc.keys[0], "b10");
    assert_string_equal(acc.keys[1], "b2");
    assert_int_equal(cl_close(db), 0);
}

/* A scan longer than one chunk continues exactly after the last key. */
static int scan_count(void *ctx, const void *k, size_t klen, const void *v,
                      size_t vlen)
{
    uint64_t *c = ctx;
    char want[32];

    (void)v;
    snprintf(want, sizeof(want), "k%08llu", (unsigned long long)*c);
    if (klen != strlen(want) || memcmp(k, want, klen) != 0 || vlen != 300)
        return 1;
    (*c)++;
    return 0;
}

static void test_api_long_scan_crosses_chunks(void **state)
{
    fx *f = *state;
    cl_db *db = open_db(f->dir, NULL);
    cl_batch *b;
    char k[32], v[300];
    uint64_t count = 0;

    memset(v, 'x', sizeof(v));
    assert_int_equal(cl_batch_new(&b), 0);
    for (int i = 0; i < 10000; i++) {
        snprintf(k, sizeof(k), "k%08d", i);
        assert_int_equal(cl_batch_put(b, k, strlen(k), v, sizeof(v)), 0);
    }
    assert_int_equal(cl_commit(db, b, NULL), 0);
    cl_batch_free(b);
    assert_int_equal(cl_scan(db, NULL, 0, NULL, 0, 0, scan_count, &count), 0);
    assert_int_equal(count, 10000);
    assert_int_equal(cl_close(db), 0);
}

static void test_api_sync_calls_per_mode(void **state)
{
    fx *f = *state;
    tu_failio io;
    cl_options o = {0};
    cl_db *db;
    uint64_t before;

    tu_failio_init(&io);
    o.io = &io.io;
    o.sync = CL_SYNC_COMMIT;
    db = open_db(f->dir, &o);
    before = io.syncs;
    for (int i = 0; i < 10; i++) {
        char v = (char)('a' + i);
        assert_int_equal(cl_put(db, "k", 1, &v, 1), 0);
    }
    assert_int_equal(io.syncs - before, 10); /* one fdatasync per commit */
    /* rewriting the same value changes no page: nothing to log or sync */
    assert_int_equal(cl_put(db, "k", 1, "j", 1), 0);
    assert_int_equal(io.syncs - before, 10);
    assert_int_equal(cl_close(db), 0);

    o.sync = CL_SYNC_OFF;
    db = open_db(f->dir, &o);
    before = io.syncs;
    for (int i = 0; i < 10; i++) {
        char v = (char)('A' + i);
        assert_int_equal(cl_put(db, "k", 1, &v, 1), 0);
    }
    assert_int_equal(io.syncs - before, 0);
    /* close syncs the log, checkpoints (four syncs, below) and seals the
     * new segment */
    assert_int_equal(cl_close(db), 0);
    assert_int_equal(io.syncs - before, 6);
    /* without the checkpoint, the log's sync alone */
    o.no_close_checkpoint = 1;
    db = open_db(f->dir, &o);
    before = io.syncs;
    assert_int_equal(cl_put(db, "k", 1, "x", 1), 0);
    assert_int_equal(cl_close(db), 0);
    assert_int_equal(io.syncs - before, 1);
    o.no_close_checkpoint = 0;

    /* checkpoint: log roll (old segment, new segment), page file before
     * and after the superblock, directory after the new segment and after
     * removing the old ones */
    o.sync = CL_SYNC_GROUP;
    db = open_db(f->dir, &o);
    assert_int_equal(cl_put(db, "k", 1, "w", 1), 0);
    before = io.syncs;
    {
        uint64_t d0 = io.dirsyncs, u0 = io.unlinks;
        cl_stats st;
        assert_int_equal(cl_checkpoint(db), 0);
        assert_int_equal(io.syncs - before, 4);
        assert_int_equal(io.dirsyncs - d0, 2);
        assert_int_equal(io.unlinks - u0, 1);
        assert_int_equal(cl_stats_get(db, &st), 0);
        assert_int_equal(st.checkpoints, 1);
        assert_int_equal(st.wal_since_ckpt, 0);
    }
    /* nothing logged since the checkpoint: the close does not checkpoint
     * again (its one sync is the log's seal) */
    before = io.syncs;
    assert_int_equal(cl_close(db), 0);
    assert_int_equal(io.syncs - before, 1);
    db = open_db(f->dir, NULL);
    expect_kv(db, "k", "w", 1);
    assert_int_equal(cl_close(db), 0);
}

static void test_api_failed_fsync_makes_read_only(void **state)
{
    fx *f = *state;
    tu_failio io;
    cl_options o = {0};
    cl_stats st;
    cl_db *db;
    char k[16];
    int acked = 0, rc;

    tu_failio_init(&io);
    o.io = &io.io;
    o.sync = CL_SYNC_COMMIT;
    db = open_db(f->dir, &o);
    io.fail_sync_at = io.syncs + 6; /* the 6th commit's fdatasync fails */
    for (int i = 0; i < 10; i++) {
        snprintf(k, sizeof(k), "k%d", i);
        rc = cl_put(db, k, strlen(k), "v", 1);
        if (rc == 0) {
            assert_int_equal(acked, i); /* nothing after a failure */
            acked++;
        } else if (i == 5) {
            assert_int_equal(rc, EIO);
        } else {
            assert_int_equal(rc, CL_EREADONLY);
        }
    }
    assert_int_equal(acked, 5);
    {
        /* the refusal names the kind of the log's failure */
        cl_err_info ei;
        assert_int_equal(cl_errinfo(&ei), 0);
        assert_int_equal(ei.code, CL_EREADONLY);
        assert_int_equal(ei.kind, CL_ERRK_IO);
    }
    assert_int_equal(io.failed, 1); /* the fsync was never retried */
    assert_int_equal(cl_stats_get(db, &st), 0);
    assert_int_equal(st.readonly, 1);
    assert_int_equal(cl_checkpoint(db), CL_EREADONLY);
    expect_kv(db, "k0", "v", 1);                  /* reads still work */
    assert_int_equal(cl_close(db), CL_EREADONLY); /* nothing made durable */

    db = open_db(f->dir, NULL); /* reopen recovers */
    for (int i = 0; i < acked; i++) {
        snprintf(k, sizeof(k), "k%d", i);
        expect_kv(db, k, "v", 1);
    }
    for (int i = 6; i < 10; i++) {
        snprintf(k, sizeof(k), "k%d", i);
        expect_absent(db, k);
    }
    assert_int_equal(cl_put(db, "after", 5, "v", 1), 0);
    assert_int_equal(cl_check(db, NULL, 0), 0);
    assert_int_equal(cl_close(db), 0);
}

/* A short write on a full disk leaves half a record past the log's end; the
 * engine goes on, and a checkpoint then rolls the log but fails before its
 * superblock, so recovery starts in the old segment again.  The half record
 * must not be in it: the old segment is no longer the last, and recovery
 * would take anything invalid there for damage to synced records. */
static void test_api_short_write_on_log_append_leaves_nothing(void **state)
{
    fx *f = *state;
    tu_failio io;
    cl_options o = {0};
    cl_db *db;
    char big[2000];

    memset(big, 'x', sizeof(big)); /* half its record outlasts c's */
    tu_failio_init(&io);
    o.io = &io.io;
    db = open_db(f->dir, &o);
    assert_int_equal(cl_put(db, "a", 1, "1", 1), 0);
    /* the record's own write: the log may zero-fill ahead of it first */
    io.fail_errno = ENOSPC;
    io.fail_short = 1;
    io.fail_data = 1;
    io.fail_write_at = io.writes + 1;
    assert_int_equal(cl_put(db, "b", 1, big, sizeof(big)), ENOSPC);
    assert_int_equal(io.failed, 1);
    assert_int_equal(cl_put(db, "c", 1, "3", 1), 0);
    /* the checkpoint: the new segment's header, then the first page */
    io.fail_errno = EIO;
    io.fail_short = 0;
    io.fail_data = 0;
    io.fail_write_at = io.writes + 2;
    assert_int_equal(cl_checkpoint(db), EIO);
    assert_int_equal(cl_close(db), CL_EREADONLY);
    db = open_db(f->dir, NULL);
    expect_kv(db, "a", "1", 1);
    expect_absent(db, "b");
    expect_kv(db, "c", "3", 1);
    assert_int_equal(cl_check(db, NULL, 0), 0);
    assert_int_equal(cl_close(db), 0);
}

/* In the durable modes the log writes zeros ahead of its records.  A
 * record too large for that (a big batch) is appended as it is, so the
 * next record's zero-filling starts at the file's end; if a full disk cuts
 * that short, part of the zeros stays in the file although the commit
 * itself succeeds.  They must be cut when the segment is sealed: a
 * checkpoint that rolls the log and then fails before its superblock
 * leaves recovery to read that segment again, now not the last, where
 * zeros after the last record would be taken for damage. */
static void test_api_short_zero_fill_is_cut_before_a_roll(void **state)
{
    fx *f = *state;
    tu_failio io;
    cl_options o = {0};
    cl_db *db;
    static char big[40000]; /* its record is appended without zeros */

    memset(big, 'x', sizeof(big));
    tu_failio_init(&io);
    o.io = &io.io;
    db = open_db(f->dir, &o);
    assert_int_equal(cl_put(db, "a", 1, big, sizeof(big)), 0);
    io.fail_errno = ENOSPC;
    io.fail_short = 1;
    io.fail_zeros = 1;
    io.fail_write_at = io.writes + 1;
    assert_int_equal(cl_put(db, "b", 1, "2", 1), 0); /* only zeros failed */
    assert_int_equal(io.failed, 1);
    io.fail_errno = EIO;
    io.fail_short = 0;
    io.fail_zeros = 0;
    io.fail_write_at = io.writes + 2; /* after the new segment's header */
    assert_int_equal(cl_checkpoint(db), EIO);
    assert_int_equal(cl_close(db), CL_EREADONLY);
    db = open_db(f->dir, NULL);
    expect_kv(db, "a", big, sizeof(big));
    expect_kv(db, "b", "2", 1);
    assert_int_equal(cl_check(db, NULL, 0), 0);
    assert_int_equal(cl_close(db), 0);
}

/* Commit keys 0.. of about 1 KiB each with a pool too small for them, in
 * doublewrite mode, until the commit that first evicts a page (its first
 * sync is then the doublewrite file's) or one fails.  Returns that
 * commit's index and its error (*rc), with the syncs made before it. */
static int evict_until(cl_db *db, tu_failio *io, uint64_t *syncs_before,
                       int *rc)
{
    char k[16], v[1000];
    cl_stats st;

    memset(v, 'v', sizeof(v));
    for (int i = 0; i < 2000; i++) {
        snprintf(k, sizeof(k), "k%05d", i);
        *syncs_before = io->syncs;
        *rc = cl_put(db, k, strlen(k), v, sizeof(v));
        assert_int_equal(cl_stats_get(db, &st), 0);
        if (*rc != 0 || st.evictions > 0)
            return i;
    }
    fail_msg("no eviction in 2000 commits");
    return -1;
}

/* A full disk reported by a sync made during a page write-back (here the
 * doublewrite file's) is a failed sync: the handle goes read-only, as
 * after any failed sync (fsyncgate), although ENOSPC from the log append
 * alone would leave it writable. */
static void test_api_full_disk_on_page_sync_makes_read_only(void **state)
{
    fx *f = *state;
    tu_failio io;
    cl_options o = {0};
    cl_stats st;
    cl_db *db;
    uint64_t before = 0, first;
    int at, rc;
    char dir2[4200];

    tu_failio_init(&io);
    o.io = &io.io;
    o.sync = CL_SYNC_COMMIT;
    o.torn = CL_TORN_DWB;
    o.pool_bytes = 256u << 10;
    db = open_db(f->dir, &o);
    at = evict_until(db, &io, &first, &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(cl_close(db), 0);

    /* the same again, with that commit's first sync failing */
    snprintf(dir2, sizeof(dir2), "%s2", f->dir);
    tu_failio_init(&io);
    io.fail_errno = ENOSPC;
    io.fail_sync_at = first + 1;
    db = open_db(dir2, &o);
    assert_int_equal(evict_until(db, &io, &before, &rc), at);
    assert_int_equal(rc, ENOSPC);
    assert_int_equal(cl_stats_get(db, &st), 0);
    assert_int_equal(st.readonly, 1);
    assert_int_equal(cl_put(db, "z", 1, "z", 1), CL_EREADONLY);
    assert_int_equal(cl_close(db), CL_EREADONLY);
    fs_rmrf(dir2);
}

static void
test_api_full_disk_on_log_append_fails_only_that_commit(void **state)
{
    fx *f = *state;
    tu_failio io;
    cl_options o = {0};
    cl_stats st;
    cl_db *db;

    tu_failio_init(&io);
    o.io = &io.io;
    db = open_db(f->dir, &o);
    assert_int_equal(cl_put(db, "a", 1, "1", 1), 0);
    io.fail_errno = ENOSPC;
    io.fail_write_at = io.writes + 1;
    assert_int_equal(cl_put(db, "b", 1, "2", 1), ENOSPC);
    expect_absent(db, "b"); /* rolled back */
    assert_int_equal(cl_put(db, "c", 1, "3", 1), 0);
    assert_int_equal(cl_stats_get(db, &st), 0);
    assert_int_equal(st.readonly, 0);
    assert_int_equal(cl_check(db, NULL, 0), 0);
    assert_int_equal(cl_close(db), 0);
    db = open_db(f->dir, NULL);
    expect_kv(db, "a", "1", 1);
    expect_absent(db, "b");
    expect_kv(db, "c", "3", 1);
    assert_int_equal(cl_close(db), 0);
}

static void test_api_every_page_size_works(void **state)
{
    fx *f = *state;

    for (uint32_t ps = 4096; ps <= 65536; ps *= 2) {
        cl_options o = {0};
        char dir[4200], k[32];
        cl_db *db;
        cl_stats st;
        o.page_size = ps;
        snprintf(dir, sizeof(dir), "%s-%u", f->dir, ps);
        db = open_db(dir, &o);
        for (int i = 0; i < 2000; i++) {
            snprintf(k, sizeof(k), "key%05d", i);
            assert_int_equal(cl_put(db, k, strlen(k), k, strlen(k)), 0);
        }
        assert_int_equal(cl_close(db), 0);
        o.page_size = 0; /* an existing database keeps its own */
        db = open_db(dir, &o);
        assert_int_equal(cl_stats_get(db, &st), 0);
        assert_int_equal(st.page_size, ps);
        expect_kv(db, "key01999", "key01999", 8);
        assert_int_equal(cl_check(db, NULL, 0), 0);
        assert_int_equal(cl_close(db), 0);
    }
}

static void test_api_file_size_stable_under_churn(void **state)
{
    fx *f = *state;
    cl_options o = {0};
    cl_db *db;
    char k[32], v[2000];
    int64_t size_after_warmup = 0;
    rng r = {7};

    o.sync = CL_SYNC_OFF;
    o.checkpoint_bytes = 1 << 20;
    db = open_db(f->dir, &o);
    for (int round = 0; round < 30; round++) {
        for (int i = 0; i < 400; i++) {
            size_t vl = rng_below(&r, sizeof(v));
            snprintf(k, sizeof(k), "churn%04d", i);
            rng_fill(&r, v, vl);
            if (rng_below(&r, 3) == 0)
                cl_delete(db, k, strlen(k));
            else
                assert_int_equal(cl_put(db, k, strlen(k), v, vl), 0);
        }
        if (round == 10) {
            assert_int_equal(cl_checkpoint(db), 0);
            size_after_warmup = tu_file_size(tu_path(f->dir, "pages"));
        }
    }
    assert_int_equal(cl_checkpoint(db), 0);
    assert_int_equal(cl_check(db, NULL, 0), 0);
    assert_int_equal(cl_close(db), 0);
    /* 20 more rounds over the same keys reuse freed pages */
    assert_true(tu_file_size(tu_path(f->dir, "pages")) <=
                size_after_warmup * 5 / 4);
}

/* The three checkpoint modes, each over a few intervals of log with pages
 * written back beside the commits: inline writes a checkpoint's pages in
 * the commit that crosses the interval; spread in the commits that follow,
 * 64 at a time as their shares come due, and records it within the next
 * half interval; background in
 * its own thread.  Each leaves every key readable after a reopen that
 * starts replay at its last checkpoint, and cl_checkpoint records one at
 * once in each.  Unknown modes are refused and names round-trip. */
static void test_api_checkpoint_modes(void **state)
{
    fx *f = *state;
    const int n = 6000;
    char k[32], v[200];

    for (int mode = CL_CKPT_INLINE; mode <= CL_CKPT_BACKGROUND; mode++) {
        cl_options o = {0};
        cl_ckpt_mode parsed;
        uint64_t most = 0, dirty_most = 0, last_ckpt = 0;
        cl_recovery rep;
        cl_stats st;
        char dir[4200];
        cl_db *db;

        snprintf(dir, sizeof(dir), "%s-%d", f->dir, mode);
        assert_int_equal(
            cl_ckpt_parse(cl_ckpt_name((cl_ckpt_mode)mode), &parsed), 0);
        assert_int_equal(parsed, mode);
        o.sync = CL_SYNC_OFF;
        o.checkpoint_mode = (cl_ckpt_mode)mode;
        o.checkpoint_bytes = 1 << 20;
        db = open_db(dir, &o);
        memset(v, 'v', sizeof(v));
        for (int i = 0; i < n; i++) {
            uint64_t writes;
            /* spread over the key space: most commits dirty a new page */
            snprintf(k, sizeof(k), "%08x", (unsigned)(i * 2654435761u));
            assert_int_equal(cl_stats_get(db, &st), 0);
            writes = st.page_writes;
            if (st.dirty_pages > dirty_most)
                dirty_most = st.dirty_pages;
            assert_int_equal(cl_put(db, k, strlen(k), v, sizeof(v)), 0);
            assert_int_equal(cl_stats_get(db, &st), 0);
            if (mode != CL_CKPT_BACKGROUND && st.page_writes - writes > most)
                most = st.page_writes - writes;
        }
        /* background: the thread has the last interval's wake-up */
        for (int w = 0; w < 500; w++) {
            assert_int_equal(cl_stats_get(db, &st), 0);
            if (st.checkpoints >= 2)
                break;
            usleep(10000);
        }
        assert_true(st.checkpoints >= 2);
        assert_true(st.checkpoint_lsn > 0);
        if (mode == CL_CKPT_INLINE)
            assert_true(most * 2 >= dirty_most); /* all at once */
        if (mode == CL_CKPT_SPREAD)              /* 64 at a time */
            assert_true(most <= 70 && most * 4 < dirty_most);
        last_ckpt = st.checkpoint_lsn;
        assert_int_equal(cl_close(db), 0);
        db = open_db(dir, &o);
        assert_int_equal(cl_recovery_report(db, &rep), 0);
        assert_true(rep.checkpoint_lsn >= last_ckpt);
        for (int i = 0; i < n; i += 7) {
            snprintf(k, sizeof(k), "%08x", (unsigned)(i * 2654435761u));
            expect_kv(db, k, v, sizeof(v));
        }
        assert_int_equal(cl_checkpoint(db), 0);
        assert_int_equal(cl_stats_get(db, &st), 0);
        assert_int_equal(st.wal_since_ckpt, 0);
        assert_int_equal(st.dirty_pages, 0);
        assert_int_equal(cl_check(db, NULL, 0), 0);
        assert_int_equal(cl_close(db), 0);
        fs_rmrf(dir);
    }
    {
        cl_options o = {0};
        cl_ckpt_mode m;
        cl_db *x = NULL;
        o.checkpoint_mode = (cl_ckpt_mode)(CL_CKPT_BACKGROUND + 1);
        assert_int_equal(cl_open(f->dir, &o, &x), CL_EINVAL);
        assert_null(x);
        assert_int_equal(cl_ckpt_parse("default", &m), CL_EINVAL);
        assert_int_equal(cl_ckpt_parse("fuzzy", &m), CL_EINVAL);
    }
}

/* A database of sync mode off with checkpoints in mode m every `bytes` of
 * log, through io (initialised here). */
static cl_db *open_ckpt_db(const char *dir, tu_failio *io, cl_options *o,
                           cl_ckpt_mode m, uint64_t bytes)
{
    tu_failio_init(io);
    o->io = &io->io;
    o->sync = CL_SYNC_OFF;
    o->checkpoint_mode = m;
    o->checkpoint_bytes = bytes;
    return open_db(dir, o);
}

/* Mode background on a slow disk (10 ms per fsync) under a writer that
 * never waits for one: the writer outruns the checkpoint thread, and is
 * held back (ckpt_throttle) so that after each commit the log since the
 * last checkpoint recorded stays under two intervals. */
static void test_api_background_checkpoints_hold_back_the_writer(void **state)
{
    fx *f = *state;
    tu_failio io;
    cl_options o = {0};
    char k[32], v[200];
    uint64_t most = 0;
    cl_stats st;
    cl_db *db;

    db = open_ckpt_db(f->dir, &io, &o, CL_CKPT_BACKGROUND, 256 << 10);
    io.sync_delay_us = 10000;
    memset(v, 'v', sizeof(v));
    for (int i = 0; i < 3000; i++) {
        snprintf(k, sizeof(k), "%08x", (unsigned)(i * 2654435761u));
        assert_int_equal(cl_put(db, k, strlen(k), v, sizeof(v)), 0);
        assert_int_equal(cl_stats_get(db, &st), 0);
        assert_true(st.wal_since_ckpt < 2 * o.checkpoint_bytes);
        if (st.wal_since_ckpt > most)
            most = st.wal_since_ckpt;
    }
    assert_true(st.checkpoints >= 2);
    /* the bound was reached, so the writer was held back */
    assert_true(most > o.checkpoint_bytes);
    assert_int_equal(cl_close(db), 0);
}

/* A refusal of a read-only handle in thread arg (a cl_db): cl_errinfo
 * has the code CL_EREADONLY with the kind and file of the failure that
 * made it read-only, though that failure was another thread's. */
static void *api_refusal_in_thread(void *arg)
{
    cl_err_info *ei = malloc(sizeof(*ei));

    if (ei != NULL && cl_put(arg, "t", 1, "t", 1) == CL_EREADONLY &&
        cl_errinfo(ei) == 0)
        return ei;
    free(ei);
    return NULL;
}

/* A failed page write while a checkpoint is open (mode spread: begun, its
 * pages being written by the commits) makes the handle read-only, and
 * that checkpoint is never recorded, though the page file's next writes
 * and fsync would succeed: cl_checkpoint refuses, the superblock keeps
 * the previous checkpoint, and the next open replays from it. */
static void test_api_no_checkpoint_recorded_after_a_failure(void **state)
{
    fx *f = *state;
    tu_failio io;
    cl_options o = {0};
    char k[32], v[200];
    cl_stats st, before;
    cl_recovery rep;
    cl_db *db;
    int i = 0, rc;

    db = open_ckpt_db(f->dir, &io, &o, CL_CKPT_SPREAD, 1 << 20);
    memset(v, 'v', sizeof(v));
    assert_int_equal(cl_stats_get(db, &before), 0);
    do { /* until the roll of the first checkpoint */
        snprintf(k, sizeof(k), "%08x", (unsigned)(i++ * 2654435761u));
        assert_int_equal(cl_put(db, k, strlen(k), v, sizeof(v)), 0);
        assert_int_equal(cl_stats_get(db, &st), 0);
    } while (st.wal_segments == before.wal_segments);
    assert_int_equal(st.checkpoints, 0);
    /* the second write from here fails: the first page the commits write
     * for the checkpoint (the first is the log's, which waited in memory
     * and must be durable before the page is written) */
    io.fail_write_at = io.writes + 2;
    for (rc = 0; rc == 0 && i < 100000; i++) {
        snprintf(k, sizeof(k), "%08x", (unsigned)(i * 2654435761u));
        rc = cl_put(db, k, strlen(k), v, sizeof(v));
    }
    assert_int_equal(rc, EIO);
    assert_int_equal(io.failed, 1);
    {
        cl_err_info ei;
        size_t n;
        assert_int_equal(cl_errinfo(&ei), 0);
        n = strlen(ei.file);
        assert_int_equal(ei.kind, CL_ERRK_IO);
        assert_true(n >= 6 && strcmp(ei.file + n - 6, "/pages") == 0);
    }
    assert_int_equal(cl_checkpoint(db), CL_EREADONLY);
    assert_int_equal(cl_put(db, "x", 1, "y", 1), CL_EREADONLY);
    {
        /* why, in the refusals' cl_errinfo: this thread's and another's */
        cl_err_info ei, *in;
        pthread_t th;
        size_t n;
        assert_int_equal(cl_errinfo(&ei), 0);
        n = strlen(ei.file);
        assert_int_equal(ei.code, CL_EREADONLY);
        assert_int_equal(ei.kind, CL_ERRK_IO);
        assert_true(n >= 6 && strcmp(ei.file + n - 6, "/pages") == 0);
        assert_int_equal(pthread_create(&th, NULL, api_refusal_in_thread, db),
                         0);
        assert_int_equal(pthread_join(th, (void **)&in), 0);
        assert_non_null(in);
        assert_int_equal(in->code, CL_EREADONLY);
        assert_int_equal(in->kind, CL_ERRK_IO);
        assert_string_equal(in->file, ei.file);
        free(in);
    }
    assert_int_equal(cl_stats_get(db, &st), 0);
    assert_int_equal(st.checkpoints, 0);
    assert_int_equal(st.checkpoint_lsn, 0);
    cl_close(db);
    o.io = NULL;
    db = open_db(f->dir, &o);
    assert_int_equal(cl_recovery_report(db, &rep), 0);
    assert_int_equal(rep.checkpoint_lsn, 0);
    assert_int_equal(cl_check(db, NULL, 0), 0);
    assert_int_equal(cl_close(db), 0);
}

typedef struct gc_arg {
    cl_db *db;
    int id, n, errors;
} gc_arg;

static void *gc_writer(void *p)
{
    gc_arg *a = p;
    char k[32];

    for (int i = 0; i < a->n; i++) {
        snprintf(k, sizeof(k), "t%02d-%05d", a->id, i);
        if (cl_put(a->db, k, strlen(k), k, strlen(k)) != 0)
            a->errors++;
    }
    return NULL;
}

static void *gc_reader(void *p)
{
    gc_arg *a = p;
    char k[32], v[32];
    size_t n;

    /* reads run alongside commits; a key, once read, keeps its value */
    for (int i = 0; i < a->n; i++) {
        snprintf(k, sizeof(k), "t%02d-%05d", i % 8, i / 8);
        int rc = cl_get(a->db, k, strlen(k), v, sizeof(v), &n);
        if (rc == 0 && (n != strlen(k) || memcmp(v, k, n) != 0))
            a->errors++;
        else if (rc != 0 && rc != CL_ENOTFOUND)
            a->errors++;
    }
    return NULL;
}

static void test_api_group_commit_shares_syncs_across_threads(void **state)
{
    fx *f = *state;
    tu_failio io;
    cl_options o = {0};
    pthread_t th[10];
    gc_arg args[10];
    cl_stats st;
    cl_db *db;
    uint64_t before;

    tu_failio_init(&io);
    io.sync_delay_us = 2000; /* a 2 ms fsync: committers pile up */
    o.io = &io.io;
    o.sync = CL_SYNC_GROUP;
    db = open_db(f->dir, &o);
    before = io.syncs;
    for (int t = 0; t < 10; t++) {
        args[t] = (gc_arg){db, t, t < 8 ? 60 : 2000, 0};
        assert_int_equal(pthread_create(&th[t], NULL,
                                        t < 8 ? gc_writer : gc_reader,
                                        &args[t]),
                         0);
    }
    for (int t = 0; t < 10; t++) {
        assert_int_equal(pthread_join(th[t], NULL), 0);
        assert_int_equal(args[t].errors, 0);
    }
    assert_int_equal(cl_stats_get(db, &st), 0);
    assert_int_equal(st.commits, 480);
    /* 480 durable commits; with 8 writers waiting on each slow fsync, one
     * leader syncs for several of them */
    assert_true(io.syncs - before < 480);
    assert_int_equal(cl_check(db, NULL, 0), 0);
    assert_int_equal(cl_close(db), 0);
    db = open_db(f->dir, NULL);
    for (int t = 0; t < 8; t++)
        for (int i = 0; i < 60; i++) {
            char k[32];
            snprintf(k, sizeof(k), "t%02d-%05d", t, i);
            expect_kv(db, k, k, strlen(k));
        }
    assert_int_equal(cl_close(db), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_api_put_get_delete_round_trip,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_api_limits_and_bad_arguments,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_api_second_opener_gets_elocked,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_api_batch_applies_in_order_atomically, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_api_scan_start_prefix_limit,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_api_long_scan_crosses_chunks,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_api_sync_calls_per_mode, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_api_failed_fsync_makes_read_only,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_api_full_disk_on_log_append_fails_only_that_commit, fx_setup,
            fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_api_short_write_on_log_append_leaves_nothing, fx_setup,
            fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_api_full_disk_on_page_sync_makes_read_only, fx_setup,
            fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_api_short_zero_fill_is_cut_before_a_roll, fx_setup,
            fx_teardown),
        cmocka_unit_test_setup_teardown(test_api_every_page_size_works,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_api_checkpoint_modes, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_api_background_checkpoints_hold_back_the_writer, fx_setup,
            fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_api_no_checkpoint_recorded_after_a_failure, fx_setup,
            fx_teardown),
        cmocka_unit_test_setup_teardown(test_api_file_size_stable_under_churn,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_api_group_commit_shares_syncs_across_threads, fx_setup,
            fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
