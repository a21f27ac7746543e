/*
 * bench_core.c - kvbench's engine-independent half: keys and values, the
 * byte-for-byte check of every read, latency histograms, and the put, get
 * and scan scenarios run through an engine adapter (bench.h).  The
 * recovery scenario, which needs fresh processes, is in bench_recovery.c.
 *
 * Divisions:
 *   errors, time, random numbers
 *   keys, values and the check
 *   histograms
 *   scenarios
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

int bench_recovery_run(const bench_engine *e, const bench_params *p,
                       bench_result *r);
int bench_memory_run(const bench_engine *e, const bench_params *p,
                     bench_result *r);
int bench_recovery_ckpt_run(const bench_engine *e, const bench_params *p,
                            bench_result *r);

/* ---------------------------------------------------------------------- */
/* errors, time, random numbers                                           */
/* ---------------------------------------------------------------------- */

static _Thread_local char bench_errbuf[1024];

int bench_err(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(bench_errbuf, sizeof(bench_errbuf), fmt, ap);
    va_end(ap);
    return -1;
}

const char *bench_errmsg(void)
{
    return bench_errbuf;
}

/* ---------------------------------------------------------------------- */
/* keys, values and the check                                             */
/* ---------------------------------------------------------------------- */

size_t bench_key(char *buf, const char *prefix, size_t prefixlen, uint64_t n)
{
    memcpy(buf, prefix, prefixlen);
    for (int i = 15; i >= 0; i--) {
        buf[prefixlen + (size_t)i] = (char)('0' + n % 10);
        n /= 10;
    }
    return prefixlen + 16;
}

void bench_value(uint8_t *buf, size_t len, uint64_t seed, uint64_t n)
{
    rng s = {seed ^ (n * 0xD1B54A32D192ED03ull)};

    rng_fill(&s, buf, len);
}

int bench_check(const void *got, size_t gotlen, size_t vsize, uint64_t seed,
                uint64_t n)
{
    uint8_t want[65536 + 8];
    const uint8_t *g = got;

    if (vsize > 65536)
        return bench_err("value size %zu over 65536", vsize);
    bench_value(want, vsize, seed, n);
    if (gotlen != vsize)
        return bench_err("key number %llu: value of %zu bytes, %zu written",
                         (unsigned long long)n, gotlen, vsize);
    if (memcmp(got, want, vsize) == 0)
        return 0;
    for (size_t i = 0; i < vsize; i++)
        if (g[i] != want[i])
            return bench_err("key number %llu: value byte %zu is 0x%02x, "
                             "0x%02x was written",
                             (unsigned long long)n, i, g[i], want[i]);
    return 0;
}

uint32_t *bench_shuffle(uint64_t n, uint64_t seed)
{
    uint32_t *a = malloc((n > 0 ? n : 1) * sizeof(*a));
    rng s = {seed};

    if (a == NULL)
        return NULL;
    for (uint64_t i = 0; i < n; i++)
        a[i] = (uint32_t)i;
    for (uint64_t i = n; i > 1; i--) {
        uint64_t j = rng_next(&s) % i;
        uint32_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
    return a;
}

/* ---------------------------------------------------------------------- */
/* histograms                                                             */
/* ---------------------------------------------------------------------- */

static unsigned bench_hist_index(uint64_t v)
{
    unsigned e;

    if (v < (2u << BENCH_HIST_SUB))
        return (unsigned)v;
    e = 63u - (unsigned)__builtin_clzll(v);
    return ((e - BENCH_HIST_SUB + 1) << BENCH_HIST_SUB) +
           (unsigned)((v >> (e - BENCH_HIST_SUB)) - (1u << BENCH_HIST_SUB));
}

/* Lowest value and width of bucket i. */
static void bench_hist_bounds(unsigned i, double *lo, double *width)
{
    unsigned e, m;

    if (i < (2u << BENCH_HIST_SUB)) {
        *lo = i;
        *width = 1;
        return;
    }
    e = (i >> BENCH_HIST_SUB) + BENCH_HIST_SUB - 1;
    m = i & ((1u << BENCH_HIST_SUB) - 1);
    *width = (double)(1ull << (e - BENCH_HIST_SUB));
    *lo = (double)(1ull << e) + m * *width;
}

void bench_hist_add(bench_hist *h, uint64_t ns)
{
    unsigned i = bench_hist_index(ns);

    if (i >= BENCH_HIST_BUCKETS)
        i = BENCH_HIST_BUCKETS - 1;
    h->b[i]++;
    h->count++;
    h->sum_ns += ns;
    if (ns > h->max_ns)
        h->max_ns = ns;
}

void bench_hist_merge(bench_hist *into, const bench_hist *from)
{
    for (unsigned i = 0; i < BENCH_HIST_BUCKETS; i++)
        into->b[i] += from->b[i];
    into->count += from->count;
    into->sum_ns += from->sum_ns;
    if (from->max_ns > into->max_ns)
        into->max_ns = from->max_ns;
}

double bench_hist_quantile(const bench_hist *h, double q)
{
    uint64_t want, seen = 0;
    double lo, width;

    if (h->count == 0)
        return 0;
    want = (uint64_t)(q * (double)h->count + 0.5);
    if (want < 1)
        want = 1;
    if (want > h->count)
        want = h->count;
    for (unsigned i = 0; i < BENCH_HIST_BUCKETS; i++) {
        seen += h->b[i];
        if (seen >= want) {
            bench_hist_bounds(i, &lo, &width);
            lo += width / 2;
            return lo > (double)h->max_ns ? (double)h->max_ns : lo;
        }
    }
    return (double)h->max_ns;
}

/* ---------------------------------------------------------------------- */
/* scenarios                                                              */
/* ---------------------------------------------------------------------- */

static const char *const bench_names[BS_COUNT] = {
    "sync-put", "sync-put-mt", "batch-put",     "nosync-put", "get",
    "scan",     "recovery",    "recovery-ckpt", "memory",
};

const char *bench_scenario_name(int w)
{
    return w >= 0 && w < BS_COUNT ? bench_names[w] : "?";
}

int bench_scenario_parse(const char *s)
{
    for (int w = 0; w < BS_COUNT; w++)
        if (strcmp(s, bench_names[w]) == 0)
            return w;
    return -1;
}

/* What the threads of a put scenario share. */
typedef struct bench_run_ctx {
    const bench_engine *e;
    const bench_params *p;
    void *db;
    const uint32_t *perm; /* key numbers in write order */
    uint64_t n;           /* puts in all */
    unsigned nthreads;
    uint64_t deadline_ns; /* 0: none */
    pthread_barrier_t start;
    atomic_int failed;
    pthread_mutex_t mu; /* protects the merged results below */
    bench_hist lat;
    uint64_t ops;
    char err[1024];
} bench_run_ctx;

typedef struct bench_thread {
    bench_run_ctx *c;
    unsigned id;
    pthread_t tid;
} bench_thread;

static void bench_fail_shared(bench_run_ctx *c)
{
    pthread_mutex_lock(&c->mu);
    if (!atomic_load(&c->failed))
        snprintf(c->err, sizeof(c->err), "%s", bench_errmsg());
    atomic_store(&c->failed, 1);
    pthread_mutex_unlock(&c->mu);
}

/* One thread of a put scenario: puts perm[i] for i = id, id + T, ... */
static void *bench_put_thread(void *arg)
{
    bench_thread *t = arg;
    bench_run_ctx *c = t->c;
    const bench_params *p = c->p;
    size_t plen = strlen(p->prefix);
    char key[BENCH_KEY_MAX];
    uint8_t *val = malloc(p->vsize + 8);
    bench_hist *lat = calloc(1, sizeof(*lat));
    uint64_t ops = 0;
    void *th = NULL;
    int rc = 0;

    if (val == NULL || lat == NULL)
        rc = bench_err("out of memory");
    else if (c->e->thread_open(c->db, &th) != 0)
        rc = -1;
    pthread_barrier_wait(&c->start);
    for (uint64_t i = t->id; rc == 0 && i < c->n; i += c->nthreads) {
        uint64_t kn = c->perm[i], t0, t1;
        size_t klen = bench_key(key, p->prefix, plen, kn);
        bench_value(val, p->vsize, p->seed, kn);
        if (atomic_load_explicit(&c->failed, memory_order_relaxed))
            break;
        t0 = clk_now_ns();
        rc = c->e->put(th, key, klen, val, p->vsize);
        t1 = clk_now_ns();
        if (rc != 0)
            break;
        bench_hist_add(lat, t1 - t0);
        ops++;
        if (c->deadline_ns != 0 && t1 >= c->deadline_ns)
            break;
    }
    if (rc != 0)
        bench_fail_shared(c);
    if (th != NULL)
        c->e->thread_close(c->db, th);
    pthread_mutex_lock(&c->mu);
    if (lat != NULL)
        bench_hist_merge(&c->lat, lat);
    c->ops += ops;
    pthread_mutex_unlock(&c->mu);
    free(lat);
    free(val);
    return NULL;
}

/* sync-put, sync-put-mt, nosync-put: single puts from nthreads threads. */
static int bench_puts(const bench_engine *e, const bench_params *p,
                      unsigned nthreads, int sync, bench_result *r)
{
    bench_cfg cfg = {sync, 0, p->cache_bytes, p->crashlab_opts};
    bench_run_ctx c;
    bench_thread *ts = NULL;
    uint64_t s0, s1, t0, t1;
    int rc = 0;

    memset(&c, 0, sizeof(c));
    c.e = e;
    c.p = p;
    c.n = p->n;
    c.nthreads = nthreads;
    pthread_mutex_init(&c.mu, NULL);
    pthread_barrier_init(&c.start, NULL, nthreads + 1);
    c.perm = bench_shuffle(p->n, p->seed);
    ts = calloc(nthreads, sizeof(*ts));
    if (c.perm == NULL || ts == NULL) {
        rc = bench_err("out of memory");
        goto out;
    }
    if (e->open(p->dir, &cfg, &c.db) != 0) {
        rc = -1;
        goto out;
    }
    for (unsigned i = 0; i < nthreads; i++) {
        ts[i].c = &c;
        ts[i].id = i;
        if (pthread_create(&ts[i].tid, NULL, bench_put_thread, &ts[i]) != 0) {
            /* Not reached in practice; the barrier would hang, so stop. */
            fprintf(stderr, "kvbench: cannot start thread %u\n", i);
            abort();
        }
    }
    s0 = bench_fsync_count();
    t0 = clk_now_ns();
    c.deadline_ns = p->seconds > 0 ? t0 + (uint64_t)(p->seconds * 1e9) : 0;
    pthread_barrier_wait(&c.start);
    for (unsigned i = 0; i < nthreads; i++)
        pthread_join(ts[i].tid, NULL);
    t1 = clk_now_ns();
    s1 = bench_fsync_count();
    if (e->close(c.db) != 0 && !atomic_load(&c.failed)) {
        snprintf(c.err, sizeof(c.err), "close: %.1000s", bench_errmsg());
        atomic_store(&c.failed, 1);
    }
    if (atomic_load(&c.failed)) {
        rc = bench_err("%s", c.err);
        goto out;
    }
    r->ops = c.ops;
    r->seconds = (double)(t1 - t0) / 1e9;
    r->lat = c.lat;
    r->syncs = s1 - s0;
out:
    pthread_barrier_destroy(&c.start);
    pthread_mutex_destroy(&c.mu);
    free((void *)c.perm);
    free(ts);
    return rc;
}

/* Write keys perm[from..to) in batches of p->batch through db, timing each
 * batch into lat (may be NULL).  Stops at deadline_ns (0: never).
 * OUT: *done puts written. */
static int bench_write_batches(const bench_engine *e, void *db,
                               const bench_params *p, const uint32_t *perm,
                               uint64_t from, uint64_t to, uint64_t deadline_ns,
                               bench_hist *lat, uint64_t *done)
{
    size_t plen = strlen(p->prefix), b = p->batch ? p->batch : 1;
    bench_kv *kv = calloc(b, sizeof(*kv));
    char *keys = malloc(b * BENCH_KEY_MAX);
    uint8_t *vals = malloc(b * (p->vsize + 8));
    void *th = NULL;
    int rc = 0;

    *done = 0;
    if (kv == NULL || keys == NULL || vals == NULL) {
        rc = bench_err("out of memory");
        goto out;
    }
    if ((rc = e->thread_open(db, &th)) != 0)
        goto out;
    for (uint64_t i = from; i < to;) {
        size_t m = 0;
        uint64_t t0, t1;
        for (; m < b && i < to; m++, i++) {
            char *k = keys + m * BENCH_KEY_MAX;
            uint8_t *v = vals + m * (p->vsize + 8);
            kv[m].k = k;
            kv[m].klen = bench_key(k, p->prefix, plen, perm[i]);
            bench_value(v, p->vsize, p->seed, perm[i]);
            kv[m].v = v;
            kv[m].vlen = p->vsize;
        }
        t0 = clk_now_ns();
        if ((rc = e->write_batch(th, kv, m)) != 0)
            break;
        t1 = clk_now_ns();
        if (lat != NULL)
            bench_hist_add(lat, t1 - t0);
        *done += m;
        if (deadline_ns != 0 && t1 >= deadline_ns)
            break;
    }
    e->thread_close(db, th);
out:
    free(kv);
    free(keys);
    free(vals);
    return rc;
}

static int bench_batch_put(const bench_engine *e, const bench_params *p,
                           bench_result *r)
{
    bench_cfg cfg = {1, 0, p->cache_bytes, p->crashlab_opts};
    uint32_t *perm = bench_shuffle(p->n, p->seed);
    uint64_t s0, s1, t0, t1, done = 0;
    void *db = NULL;
    int rc;

    if (perm == NULL)
        return bench_err("out of memory");
    if ((rc = e->open(p->dir, &cfg, &db)) != 0)
        goto out;
    s0 = bench_fsync_count();
    t0 = clk_now_ns();
    rc = bench_write_batches(
        e, db, p, perm, 0, p->n,
        p->seconds > 0 ? t0 + (uint64_t)(p->seconds * 1e9) : 0, &r->lat, &done);
    t1 = clk_now_ns();
    s1 = bench_fsync_count();
    if (e->close(db) != 0 && rc == 0)
        rc = -1;
    r->ops = done;
    r->seconds = (double)(t1 - t0) / 1e9;
    r->syncs = s1 - s0;
out:
    free(perm);
    return rc;
}

/* Load p->keys keys (in batches, not durable one by one), close, and open
 * again: the starting point of get and scan. */
static int bench_load_reopen(const bench_engine *e, const bench_params *p,
                             void **db)
{
    bench_cfg cfg = {0, 0, p->cache_bytes, p->crashlab_opts};
    bench_params lp = *p;
    uint32_t *perm = bench_shuffle(p->keys, p->seed);
    uint64_t done;
    int rc;

    if (perm == NULL)
        return bench_err("out of memory");
    if (lp.batch == 0)
        lp.batch = 1000;
    rc = e->open(p->dir, &cfg, db);
    if (rc == 0) {
        rc = bench_write_batches(e, *db, &lp, perm, 0, p->keys, 0, NULL, &done);
        if (e->close(*db) != 0 && rc == 0)
            rc = -1;
    }
    free(perm);
    if (rc == 0)
        rc = e->open(p->dir, &cfg, db);
    return rc;
}

static int bench_get(const bench_engine *e, const bench_params *p,
                     bench_result *r)
{
    size_t plen = strlen(p->prefix), vlen;
    char key[BENCH_KEY_MAX];
    uint8_t *buf = malloc(p->vsize + 64);
    rng s = {p->seed ^ 0x5bd1e995};
    uint64_t t0, t1, a, b, deadline = 0, i;
    void *db = NULL, *th = NULL;
    char first[1024] = "";
    int rc;

    if (buf == NULL)
        return bench_err("out of memory");
    if (p->keys == 0) {
        free(buf);
        return bench_err("get needs loaded keys (--keys)");
    }
    if ((rc = bench_load_reopen(e, p, &db)) != 0)
        goto out_free;
    if ((rc = e->thread_open(db, &th)) != 0)
        goto out_close;
    t0 = clk_now_ns();
    if (p->seconds > 0)
        deadline = t0 + (uint64_t)(p->seconds * 1e9);
    for (i = 0; i < p->n; i++) {
        uint64_t kn = rng_next(&s) % p->keys;
        size_t klen = bench_key(key, p->prefix, plen, kn);
        a = clk_now_ns();
        rc = e->get(th, key, klen, buf, p->vsize + 64, &vlen);
        b = clk_now_ns();
        if (rc < 0)
            break;
        bench_hist_add(&r->lat, b - a);
        if (rc == 1)
            rc =
                bench_err("key number %llu is missing", (unsigned long long)kn);
        else
            rc = bench_check(buf, vlen, p->vsize, p->seed, kn);
        if (rc != 0 && r->corrupt++ == 0)
            snprintf(first, sizeof(first), "%s", bench_errmsg());
        rc = 0;
        if (deadline != 0 && b >= deadline) {
            i++;
            break;
        }
    }
    t1 = clk_now_ns();
    r->ops = i;
    r->seconds = (double)(t1 - t0) / 1e9;
    e->thread_close(db, th);
out_close:
    if (e->close(db) != 0 && rc == 0)
        rc = -1;
out_free:
    free(buf);
    if (rc == 0 && r->corrupt > 0)
        rc = bench_err("CORRUPT READ: %llu of %llu reads did not return what "
                       "was written; first: %s",
                       (unsigned long long)r->corrupt,
                       (unsigned long long)r->ops, first);
    return rc;
}

/* Checking a full scan: keys come in order, each with its value. */
typedef struct bench_scan_ctx {
    const bench_params *p;
    size_t plen;
    uint64_t next; /* key number expected next */
    uint64_t corrupt;
    char first[1024];
} bench_scan_ctx;

static int bench_scan_check(void *ctx, const void *k, size_t klen,
                            const void *v, size_t vlen)
{
    bench_scan_ctx *c = ctx;
    char want[BENCH_KEY_MAX];
    size_t wl = bench_key(want, c->p->prefix, c->plen, c->next);
    int bad = 0;

    if (klen != wl || memcmp(k, want, wl) != 0)
        bad = bench_err("scan: key %.*s where %.*s was expected", (int)klen,
                        (const char *)k, (int)wl, want);
    else if (bench_check(v, vlen, c->p->vsize, c->p->seed, c->next) != 0)
        bad = 1;
    if (bad && c->corrupt++ == 0)
        snprintf(c->first, sizeof(c->first), "%s", bench_errmsg());
    c->next++;
    return 0;
}

static int bench_scan(const bench_engine *e, const bench_params *p,
                      bench_result *r)
{
    bench_scan_ctx sc;
    void *db = NULL, *th = NULL;
    uint64_t t0, t1, a, b, passes = p->n ? p->n : 1;
    int rc;

    memset(&sc, 0, sizeof(sc));
    sc.p = p;
    sc.plen = strlen(p->prefix);
    if ((rc = bench_load_reopen(e, p, &db)) != 0)
        return rc;
    if ((rc = e->thread_open(db, &th)) != 0)
        goto out_close;
    t0 = clk_now_ns();
    for (uint64_t i = 0; i < passes; i++) {
        sc.next = 0;
        a = clk_now_ns();
        if ((rc = e->scan(th, bench_scan_check, &sc)) != 0)
            break;
        b = clk_now_ns();
        bench_hist_add(&r->lat, b - a);
        if (sc.next != p->keys && sc.corrupt++ == 0)
            snprintf(sc.first, sizeof(sc.first),
                     "scan returned %llu keys, %llu were written",
                     (unsigned long long)sc.next, (unsigned long long)p->keys);
        r->ops += sc.next;
    }
    t1 = clk_now_ns();
    r->seconds = (double)(t1 - t0) / 1e9;
    r->corrupt = sc.corrupt;
    e->thread_close(db, th);
out_close:
    if (e->close(db) != 0 && rc == 0)
        rc = -1;
    if (rc == 0 && r->corrupt > 0)
        rc = bench_err("CORRUPT READ: %llu bad entries in %llu scanned; "
                       "first: %s",
                       (unsigned long long)r->corrupt,
                       (unsigned long long)r->ops, sc.first);
    return rc;
}

int bench_verify_all(const bench_engine *e, void *db, const bench_params *p,
                     uint64_t n, uint64_t *found, uint64_t *corrupt)
{
    size_t plen = strlen(p->prefix), vlen;
    char key[BENCH_KEY_MAX], first[1024] = "";
    uint8_t *buf = malloc(p->vsize + 64);
    void *th = NULL;
    int rc;

    *found = 0;
    *corrupt = 0;
    if (buf == NULL)
        return bench_err("out of memory");
    if ((rc = e->thread_open(db, &th)) != 0) {
        free(buf);
        return rc;
    }
    for (uint64_t kn = 0; kn < n; kn++) {
        size_t klen = bench_key(key, p->prefix, plen, kn);
        rc = e->get(th, key, klen, buf, p->vsize + 64, &vlen);
        if (rc < 0)
            break;
        if (rc == 1)
            rc =
                bench_err("key number %llu is missing", (unsigned long long)kn);
        else if ((rc = bench_check(buf, vlen, p->vsize, p->seed, kn)) == 0)
            (*found)++;
        if (rc != 0 && (*corrupt)++ == 0)
            snprintf(first, sizeof(first), "%s", bench_errmsg());
        rc = 0;
    }
    e->thread_close(db, th);
    free(buf);
    if (rc == 0 && *corrupt > 0)
        rc = bench_err("CORRUPT READ: %llu of %llu keys missing or wrong; "
                       "first: %s",
                       (unsigned long long)*corrupt, (unsigned long long)n,
                       first);
    return rc;
}

int bench_run(const bench_engine *e, int w, const bench_params *p,
              bench_result *r)
{
    memset(r, 0, sizeof(*r));
    r->engine = e->name;
    r->scenario = w;
    r->threads = 1;
    r->vsize = p->vsize;
    if (strlen(p->prefix) > BENCH_PREFIX_MAX)
        return bench_err("key prefix over %d bytes", BENCH_PREFIX_MAX);
    if (p->vsize > 65536)
        return bench_err("value size over 65536 bytes");
    if (p->n > UINT32_MAX || p->keys > UINT32_MAX)
        return bench_err("at most 2^32 operations or keys");
    switch (w) {
    case BS_SYNC_PUT:
        return bench_puts(e, p, 1, 1, r);
    case BS_SYNC_PUT_MT:
        r->threads = p->threads ? p->threads : 1;
        return bench_puts(e, p, r->threads, 1, r);
    case BS_NOSYNC_PUT:
        return bench_puts(e, p, 1, 0, r);
    case BS_BATCH_PUT:
        r->batch = p->batch;
        return bench_batch_put(e, p, r);
    case BS_GET:
        return bench_get(e, p, r);
    case BS_SCAN:
        return bench_scan(e, p, r);
    case BS_RECOVERY:
        r->batch = p->batch;
        return bench_recovery_run(e, p, r);
    case BS_RECOVERY_CKPT:
        r->batch = p->batch;
        return bench_recovery_ckpt_run(e, p, r);
    case BS_MEMORY:
        return bench_memory_run(e, p, r);
    }
    return bench_err("unknown scenario %d", w);
}

/* ---------------------------------------------------------------------- */
/* the raw disk                                                           */
/* ---------------------------------------------------------------------- */

/* 4 KiB appended and fdatasynced per operation, in a new file in dir: the
 * rate a log that syncs every commit cannot beat on this file system. */
int bench_raw(const char *dir, uint64_t n, double seconds, bench_result *r)
{
    char path[PATH_MAX];
    static char block[4096];
    uint64_t t0, t1, a, b, deadline, i;
    int fd;

    memset(r, 0, sizeof(*r));
    r->engine = "disk";
    r->scenario = -1;
    r->threads = 1;
    r->vsize = sizeof(block);
    memset(block, 0xa5, sizeof(block));
    if (snprintf(path, sizeof(path), "%s/raw-append", dir) >= (int)sizeof(path))
        return bench_err("%s: path too long", dir);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
    if (fd < 0)
        return bench_err("%s: %s", path, strerror(errno));
    t0 = clk_now_ns();
    deadline = seconds > 0 ? t0 + (uint64_t)(seconds * 1e9) : 0;
    for (i = 0; i < n; i++) {
        a = clk_now_ns();
        if (write(fd, block, sizeof(block)) != (ssize_t)sizeof(block) ||
            fdatasync(fd) != 0) {
            bench_err("%s: %s", path, strerror(errno));
            close(fd);
            unlink(path);
            return -1;
        }
        b = clk_now_ns();
        bench_hist_add(&r->lat, b - a);
        if (deadline != 0 && b >= deadline) {
            i++;
            break;
        }
    }
    t1 = clk_now_ns();
    close(fd);
    unlink(path);
    r->ops = i;
    r->syncs = i;
    r->seconds = (double)(t1 - t0) / 1e9;
    return 0;
}
