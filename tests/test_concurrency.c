/*
 * test_concurrency.c - the engine under threads: group commit with 16
 * committing threads and a SIGKILL in the middle (every acknowledged
 * commit must be there after recovery), and readers that pin pages
 * without the pool mutex while a writer evicts, checkpoints and rewrites
 * under them (every value read must be one that was written).  No timing
 * is asserted: the kill points vary, the invariants do not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crashlab.h"
#include "testutil.h"

#define GC_THREADS 16
#define GC_ROUNDS 6

/* ---------------------------------------------------------------------- */
/* group commit, 16 threads, kill -9                                      */
/* ---------------------------------------------------------------------- */

/* Shared with the forked writer: how many commits of each thread have
 * returned 0 (each thread's commits are sequential, so this is a prefix). */
typedef struct gc_shared {
    _Atomic uint32_t acked[GC_THREADS];
    _Atomic uint32_t failed;
} gc_shared;

typedef struct gc_thread {
    cl_db *db;
    gc_shared *sh;
    int id;
} gc_thread;

static void gc_key(char *buf, size_t len, int t, uint32_t i)
{
    snprintf(buf, len, "t%02d-%07u", t, i);
}

/* The value of commit i of thread t: the key, repeated to 40 bytes. */
static size_t gc_value(char *buf, int t, uint32_t i)
{
    char k[32];
    size_t n = 0;

    gc_key(k, sizeof(k), t, i);
    while (n + strlen(k) <= 40) {
        memcpy(buf + n, k, strlen(k));
        n += strlen(k);
    }
    return n;
}

/* A committer: each commit is a batch of two puts (the key and a second
 * key "<key>/b"), so atomicity is checked too.  Runs until killed. */
static void *gc_committer(void *arg)
{
    gc_thread *g = arg;
    cl_batch *b = NULL;
    char k[32], k2[40], v[64];

    if (cl_batch_new(&b) != 0) {
        atomic_store(&g->sh->failed, 1);
        return NULL;
    }
    for (uint32_t i = 0;; i++) {
        size_t vl = gc_value(v, g->id, i);
        gc_key(k, sizeof(k), g->id, i);
        snprintf(k2, sizeof(k2), "%s/b", k);
        cl_batch_clear(b);
        if (cl_batch_put(b, k, strlen(k), v, vl) != 0 ||
            cl_batch_put(b, k2, strlen(k2), v, vl) != 0 ||
            cl_commit(g->db, b, NULL) != 0) {
            atomic_store(&g->sh->failed, 1);
            break;
        }
        atomic_store_explicit(&g->sh->acked[g->id], i + 1,
                              memory_order_release);
    }
    cl_batch_free(b);
    return NULL;
}

/* The forked child: 16 committers on a slow disk (each fsync sleeps), so
 * that commits really wait in groups. */
static void gc_child(const char *dir, gc_shared *sh)
{
    static tu_failio io;
    cl_options o;
    pthread_t th[GC_THREADS];
    gc_thread g[GC_THREADS];
    cl_db *db;

    memset(&o, 0, sizeof(o));
    tu_failio_init(&io);
    io.sync_delay_us = 300;
    o.io = &io.io;
    o.sync = CL_SYNC_GROUP;
    o.pool_bytes = 1 << 20; /* write-back during the run, too */
    o.checkpoint_bytes = 1 << 20;
    if (cl_open(dir, &o, &db) != 0)
        _exit(2);
    for (int t = 0; t < GC_THREADS; t++) {
        g[t] = (gc_thread){db, sh, t};
        if (pthread_create(&th[t], NULL, gc_committer, &g[t]) != 0)
            _exit(3);
    }
    for (;;)
        pause();
}

static uint32_t gc_total(gc_shared *sh)
{
    uint32_t n = 0;

    for (int t = 0; t < GC_THREADS; t++)
        n += atomic_load(&sh->acked[t]);
    return n;
}

/* 1 if key k holds value v; 0 if absent; fails the test on a wrong value. */
static int gc_present(cl_db *db, const char *k, const char *v, size_t vl)
{
    char got[128];
    size_t n = 0;
    int rc = cl_get(db, k, strlen(k), got, sizeof(got), &n);

    if (rc == CL_ENOTFOUND)
        return 0;
    assert_int_equal(rc, 0);
    assert_int_equal(n, vl);
    assert_memory_equal(got, v, vl);
    return 1;
}

static void test_concurrency_group_commit_16_threads_killed(void **state)
{
    gc_shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
                         MAP_SHARED | MAP_ANONYMOUS, -1, 0);

    (void)state;
    assert_true(sh != MAP_FAILED);
    for (int round = 0; round < GC_ROUNDS; round++) {
        char *tmp = tu_tmpdir("gc");
        char dir[4200], k[32], k2[40], v[64];
        uint32_t want = 200 + 300 * (uint32_t)round, recovered = 0;
        cl_db *db = NULL;
        pid_t pid;
        int st;

        snprintf(dir, sizeof(dir), "%s/db", tmp);
        memset(sh, 0, sizeof(*sh));
        pid = tu_fork();
        assert_true(pid >= 0);
        if (pid == 0)
            gc_child(dir, sh);
        /* Let it run until enough commits are acknowledged (or it died),
         * then kill it wherever it is. */
        for (int spins = 0;
             spins < 20000 && gc_total(sh) < want && !atomic_load(&sh->failed);
             spins++) {
            if (waitpid(pid, &st, WNOHANG) == pid)
                fail_msg("the writer exited early (status 0x%x)", st);
            usleep(500);
        }
        kill(pid, SIGKILL);
        st = tu_wait(pid);
        assert_true(WIFSIGNALED(st));
        assert_int_equal(atomic_load(&sh->failed), 0);
        assert_true(gc_total(sh) > 0);

        assert_int_equal(cl_open(dir, NULL, &db), 0);
        for (int t = 0; t < GC_THREADS; t++) {
            uint32_t acked = atomic_load(&sh->acked[t]), i;
            /* every acknowledged commit, both halves */
            for (i = 0; i < acked; i++) {
                size_t vl = gc_value(v, t, i);
                gc_key(k, sizeof(k), t, i);
                snprintf(k2, sizeof(k2), "%s/b", k);
                assert_int_equal(gc_present(db, k, v, vl), 1);
                assert_int_equal(gc_present(db, k2, v, vl), 1);
            }
            /* beyond them: at most the commits that were in flight, each
             * whole or absent, and never a gap */
            for (;; i++) {
                size_t vl = gc_value(v, t, i);
                int a, b;
                gc_key(k, sizeof(k), t, i);
                snprintf(k2, sizeof(k2), "%s/b", k);
                a = gc_present(db, k, v, vl);
                b = gc_present(db, k2, v, vl);
                assert_int_equal(a, b);
                if (!a)
                    break;
            }
            gc_key(k, sizeof(k), t, i + 1);
            assert_int_equal(gc_present(db, k, v, 0), 0);
            recovered += i;
        }
        assert_true(recovered >= gc_total(sh));
        assert_int_equal(cl_check(db, NULL, 0), 0);
        assert_int_equal(cl_close(db), 0);
        fs_rmrf(tmp);
        free(tmp);
    }
    munmap(sh, sizeof(*sh));
}

/* ---------------------------------------------------------------------- */
/* readers while a writer evicts                                          */
/* ---------------------------------------------------------------------- */

#define RD_KEYS 3000
#define RD_WRITES 30000
#define RD_READERS 3

/* A value names its key and version and is 60..250 bytes long. */
static size_t rd_value(char *buf, uint32_t key, uint32_t version)
{
    size_t len = 60 + (key * 7 + version * 13) % 190;
    int n = snprintf(buf, len + 1, "key %u version %u:", key, version);

    for (size_t i = (size_t)n; i < len; i++)
        buf[i] = (char)('a' + (key + version + i) % 26);
    return len;
}

typedef struct rd_ctx {
    cl_db *db;
    atomic_int done;
    _Atomic uint32_t version[RD_KEYS]; /* newest version written */
    atomic_int bad;
    atomic_ulong reads;
    char why[256];
    pthread_mutex_t mu;
} rd_ctx;

static void rd_fail(rd_ctx *c, const char *fmt, unsigned a, unsigned b)
{
    pthread_mutex_lock(&c->mu);
    if (!atomic_load(&c->bad))
        snprintf(c->why, sizeof(c->why), fmt, a, b);
    atomic_store(&c->bad, 1);
    pthread_mutex_unlock(&c->mu);
}

/* Check a value read for key: it must be exactly one that was written. */
static void rd_check(rd_ctx *c, uint32_t key, const char *got, size_t n)
{
    char want[256];
    unsigned k, ver;

    if (sscanf(got, "key %u version %u:", &k, &ver) != 2 || k != key) {
        rd_fail(c, "key %u: unrecognised value of %u bytes", key, (unsigned)n);
        return;
    }
    if (ver > atomic_load(&c->version[key]) || rd_value(want, key, ver) != n ||
        memcmp(want, got, n) != 0)
        rd_fail(c, "key %u: damaged value of version %u", key, ver);
}

static void rd_key(char *buf, size_t len, uint32_t key)
{
    snprintf(buf, len, "r%06u", key);
}

static void *rd_writer(void *arg)
{
    rd_ctx *c = arg;
    rng gen = {7};
    char k[16], v[256];

    for (uint32_t i = 0; i < RD_WRITES && !atomic_load(&c->bad); i++) {
        uint32_t key = (uint32_t)rng_below(&gen, RD_KEYS);
        uint32_t ver = atomic_load(&c->version[key]) + 1;
        rd_key(k, sizeof(k), key);
        /* announce the version first: a reader may see it as soon as the
         * commit applies */
        atomic_store(&c->version[key], ver);
        if (cl_put(c->db, k, strlen(k), v, rd_value(v, key, ver)) != 0)
            rd_fail(c, "put of key %u version %u failed", key, ver);
    }
    atomic_store(&c->done, 1);
    return NULL;
}

static void *rd_reader(void *arg)
{
    rd_ctx *c = arg;
    rng gen = {(uint64_t)(uintptr_t)arg ^ (uint64_t)(uintptr_t)&gen};
    char k[16], got[256];

    while (!atomic_load(&c->done) && !atomic_load(&c->bad)) {
        uint32_t key = (uint32_t)rng_below(&gen, RD_KEYS);
        size_t n = 0;
        int rc;
        rd_key(k, sizeof(k), key);
        rc = cl_get(c->db, k, strlen(k), got, sizeof(got) - 1, &n);
        if (rc != 0) {
            rd_fail(c, "get of key %u failed (%u)", key, (unsigned)-rc);
            break;
        }
        got[n < sizeof(got) ? n : sizeof(got) - 1] = '\0';
        rd_check(c, key, got, n);
        atomic_fetch_add(&c->reads, 1);
    }
    return NULL;
}

typedef struct rd_scan {
    rd_ctx *c;
    int64_t last;
    uint32_t n;
} rd_scan;

static int rd_scan_cb(void *ctx, const void *k, size_t klen, const void *v,
                      size_t vlen)
{
    rd_scan *s = ctx;
    char kb[16], vb[256];
    unsigned key;

    if (klen >= sizeof(kb) || vlen >= sizeof(vb)) {
        rd_fail(s->c, "scan: entry of %u/%u bytes", (unsigned)klen,
                (unsigned)vlen);
        return 1;
    }
    memcpy(kb, k, klen);
    kb[klen] = '\0';
    memcpy(vb, v, vlen);
    vb[vlen] = '\0';
    if (sscanf(kb, "r%u", &key) != 1 || key >= RD_KEYS ||
        (int64_t)key <= s->last) {
        rd_fail(s->c, "scan: key %u after %u out of order", key,
                (unsigned)s->last);
        return 1;
    }
    s->last = key;
    s->n++;
    rd_check(s->c, key, vb, vlen);
    return 0;
}

static void *rd_scanner(void *arg)
{
    rd_ctx *c = arg;

    while (!atomic_load(&c->done) && !atomic_load(&c->bad)) {
        rd_scan s = {c, -1, 0};
        if (cl_scan(c->db, NULL, 0, NULL, 0, 0, rd_scan_cb, &s) != 0)
            rd_fail(c, "scan failed", 0, 0);
        else if (s.n != RD_KEYS)
            rd_fail(c, "scan saw %u keys of %u", s.n, RD_KEYS);
    }
    return NULL;
}

/* Readers, a scanner and one writer over a pool of 64 frames, with
 * checkpoints every 512 KiB of log in mode ckpt; then every key's last
 * version is there after a reopen. */
static void rd_run(cl_ckpt_mode ckpt)
{
    char *tmp = tu_tmpdir("rd");
    char dir[4200], k[16], v[256];
    rd_ctx *c = calloc(1, sizeof(*c));
    pthread_t w, r[RD_READERS], sc;
    cl_options o;
    cl_stats st;

    assert_non_null(c);
    pthread_mutex_init(&c->mu, NULL);
    snprintf(dir, sizeof(dir), "%s/db", tmp);
    memset(&o, 0, sizeof(o));
    o.sync = CL_SYNC_OFF;
    o.pool_bytes = 256 << 10; /* 64 frames: readers and writer evict */
    o.checkpoint_bytes = 512 << 10;
    o.checkpoint_mode = ckpt;
    assert_int_equal(cl_open(dir, &o, &c->db), 0);
    for (uint32_t key = 0; key < RD_KEYS; key++) {
        rd_key(k, sizeof(k), key);
        assert_int_equal(cl_put(c->db, k, strlen(k), v, rd_value(v, key, 0)),
                         0);
    }
    assert_int_equal(pthread_create(&w, NULL, rd_writer, c), 0);
    for (int i = 0; i < RD_READERS; i++)
        assert_int_equal(pthread_create(&r[i], NULL, rd_reader, c), 0);
    assert_int_equal(pthread_create(&sc, NULL, rd_scanner, c), 0);
    pthread_join(w, NULL);
    for (int i = 0; i < RD_READERS; i++)
        pthread_join(r[i], NULL);
    pthread_join(sc, NULL);
    if (atomic_load(&c->bad))
        fail_msg("%s", c->why);
    assert_true(atomic_load(&c->reads) > 0);
    assert_int_equal(cl_stats_get(c->db, &st), 0);
    assert_true(st.evictions > 0);
    assert_true(st.checkpoints > 0);
    assert_int_equal(cl_check(c->db, NULL, 0), 0);
    assert_int_equal(cl_close(c->db), 0);
    assert_int_equal(cl_open(dir, &o, &c->db), 0);
    for (uint32_t key = 0; key < RD_KEYS; key++) {
        char got[256];
        size_t n = 0;
        rd_key(k, sizeof(k), key);
        assert_int_equal(cl_get(c->db, k, strlen(k), got, sizeof(got) - 1, &n),
                         0);
        assert_int_equal(n, rd_value(v, key, atomic_load(&c->version[key])));
        assert_memory_equal(got, v, n);
    }
    assert_int_equal(cl_check(c->db, NULL, 0), 0);
    assert_int_equal(cl_close(c->db), 0);
    pthread_mutex_destroy(&c->mu);
    free(c);
    fs_rmrf(tmp);
    free(tmp);
}

static void test_concurrency_readers_while_a_writer_evicts(void **state)
{
    (void)state;
    rd_run(CL_CKPT_INLINE);
}

/* The same with the checkpoint thread writing pages beside the writer and
 * the evictions. */
static void test_concurrency_readers_writer_and_checkpoint_thread(void **state)
{
    (void)state;
    rd_run(CL_CKPT_BACKGROUND);
}

/* ---------------------------------------------------------------------- */
/* a failed background sync stops a log roll waiting behind it            */
/* ---------------------------------------------------------------------- */

typedef struct bg_sync {
    cl_db *db;
    int rc;
} bg_sync;

static void *bg_sync_main(void *arg)
{
    bg_sync *b = arg;

    b->rc = cl_sync(b->db);
    return NULL;
}

/* Sync mode periodic: a sync that holds the log's sync token fails (EIO,
 * after 300 ms) while a checkpoint's log roll waits for the token.  The
 * failed fdatasync may have lost the segment's unsynced writes, so the roll
 * must not make the segment durable by a later fsync and start the next
 * one over the hole (recovery would find a hole in a segment followed by
 * another: corruption): the checkpoint fails and no segment 2 appears. */
static void test_concurrency_roll_behind_a_failed_sync_stops(void **state)
{
    char *tmp = tu_tmpdir("bgsync");
    char dir[4200];
    tu_failio io;
    cl_options o = {0};
    bg_sync b = {NULL, 0};
    pthread_t t;
    cl_db *db;

    (void)state;
    snprintf(dir, sizeof(dir), "%s/db", tmp);
    tu_failio_init(&io);
    o.io = &io.io;
    o.sync = CL_SYNC_PERIODIC;
    o.sync_period_ms = 100000; /* the test's sync is the only one */
    assert_int_equal(cl_open(dir, &o, &db), 0);
    assert_int_equal(cl_put(db, "a", 1, "1", 1), 0);
    io.sync_delay_us = 300000;
    io.fail_sync_at = io.syncs + 1;
    b.db = db;
    assert_int_equal(pthread_create(&t, NULL, bg_sync_main, &b), 0);
    usleep(50000); /* the sync holds the token and sleeps in fdatasync */
    assert_int_not_equal(cl_checkpoint(db), 0);
    pthread_join(t, NULL);
    assert_int_not_equal(b.rc, 0);
    assert_false(tu_exists(tu_path(dir, "wal-0000000000000002")));
    io.sync_delay_us = 0;
    cl_close(db);
    fs_rmrf(tmp);
    free(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concurrency_group_commit_16_threads_killed),
        cmocka_unit_test(test_concurrency_readers_while_a_writer_evicts),
        cmocka_unit_test(test_concurrency_readers_writer_and_checkpoint_thread),
        cmocka_unit_test(test_concurrency_roll_behind_a_failed_sync_stops),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
