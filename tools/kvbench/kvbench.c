/*
 * kvbench - the same scenarios on our engine and on SQLite, LMDB, LevelDB
 * and RocksDB, measured the same way in one run (kvbench --help).
 *
 * Engines run interleaved: for each round, each scenario runs on every
 * engine in turn (the order rotating from round to round), so drift of the
 * machine hits all of them alike; the result of a (scenario, engine) pair
 * is its median round.  Every read is checked byte for byte against what
 * was written; a mismatch is reported as CORRUPT READ and makes the exit
 * status 3.
 *
 * Divisions:
 *   options
 *   the machine header
 *   the raw disk
 *   output: progress lines, table, JSON, CSV
 *   running
 *   main
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "crashlab.h"
#include "csvmeta.h"
#include "jsonstr.h"
#include "num.h"

#define KVB_MAX_ROUNDS 15
#define KVB_MAX_THREADS 64
#define KVB_ENGINES 5

enum { KVB_OK = 0, KVB_FAIL = 1, KVB_USAGE = 2, KVB_CORRUPT = 3 };

static const bench_engine *const kvb_engines[KVB_ENGINES] = {
    &bench_crashlab, &bench_sqlite, &bench_lmdb, &bench_leveldb, &bench_rocksdb,
};

static const char *kvb_usage_text =
    "usage: kvbench [options] [SCENARIO...]\n"
    "       kvbench [options] N PREFIX VALUE_SIZE\n"
    "       kvbench experiment COMMAND DIR [options]\n"
    "\n"
    "The third form runs one measurement of the experiment scripts on our\n"
    "engine (kvbench experiment --help for the list).\n"
    "\n"
    "The second form writes N keys PREFIX<16 digits> with VALUE_SIZE-byte\n"
    "values, each put durable before the next (sync-put), then reads every\n"
    "key back and checks it (also reachable as: kv bench N PREFIX SIZE).\n"
    "\n"
    "scenarios (default: all but recovery-ckpt and memory):\n"
    "  sync-put      N single puts, each durable before the next\n"
    "  sync-put-mt   T threads doing sync-put at once (--threads)\n"
    "  batch-put     N puts in durable batches of B (--batch)\n"
    "  nosync-put    N single puts, no sync\n"
    "  get           N uniform random reads of --keys loaded keys, after\n"
    "                a reopen\n"
    "  scan          full ordered scans of --keys loaded keys (N passes)\n"
    "  recovery      a process writes N puts in durable batches with\n"
    "                checkpoints postponed and is SIGKILLed; a fresh one\n"
    "                times open + one read, then checks every key\n"
    "  recovery-ckpt the same --trials times with the engine's default\n"
    "                checkpoints, each writer killed after a random\n"
    "                number (1..N) of puts: recovery p50/p99/max\n"
    "  memory        peak RSS of a fresh process that loads --keys keys\n"
    "                and reads N of them, cache = --cache-bytes\n"
    "\n"
    "options:\n"
    "  --engine LIST       crashlab (default), sqlite, lmdb, leveldb,\n"
    "                      rocksdb, or all; comma-separated\n"
    "  -n, --ops N         operations per scenario (defaults: sync-put\n"
    "                      2000, sync-put-mt 1000 per thread, batch-put and\n"
    "                      nosync-put 200000, get 1000000, recovery 200000,\n"
    "                      recovery-ckpt at most 400000, memory 200000)\n"
    "  --trials T          recovery-ckpt crashes (default 30)\n"
    "  --passes P          full scans in the scan scenario (default 5)\n"
    "  --threads LIST      sync-put-mt thread counts (default 1,2,4,8,16)\n"
    "  --batch B           puts per batch (default 1000)\n"
    "  --value-size V      value bytes (default 100)\n"
    "  --keys K            keys loaded for get and scan (default 200000;\n"
    "                      memory: 1000000)\n"
    "  --prefix P          key prefix (default k)\n"
    "  --seconds S         stop a put or get scenario after S seconds\n"
    "  --rounds R          run everything R times, interleaved; report the\n"
    "                      median round (default 1)\n"
    "  --raw               also measure the disk: 4 KiB append + fdatasync\n"
    "  --dir DIR           where the databases go (default ./kvbench.tmp;\n"
    "                      use the file system you mean to measure)\n"
    "  --cache-bytes N     buffer pool / cache of every engine (64 MiB)\n"
    "  --crashlab-options L  our engine's settings, NAME=VALUE,...:\n"
    "                      checkpoint-mode (inline, spread, background),\n"
    "                      checkpoint-bytes (N, K/M/G suffix) and\n"
    "                      torn-protection (none, fpw, dwb); default each\n"
    "                      the engine's default\n"
    "  --seed S            keys, values and read order (default 1)\n"
    "  --json              results as JSON on stdout (no table)\n"
    "  --csv FILE          results as CSV, with a '#' machine header\n"
    "  --quiet             no progress lines on stderr\n"
    "  -h, --help          this text\n"
    "\n"
    "exit status: 0 ok, 1 an engine failed, 2 usage, 3 a read returned\n"
    "something other than what was written\n";

/* ---------------------------------------------------------------------- */
/* options                                                                */
/* ---------------------------------------------------------------------- */

typedef struct kvb_opts {
    const bench_engine *engines[KVB_ENGINES];
    int nengines;
    int scenarios[BS_COUNT];
    int nscenarios;
    unsigned threads[16];
    int nthreads;
    uint64_t ops;    /* 0: per-scenario default */
    uint64_t passes; /* scan passes, 0: default */
    unsigned trials; /* recovery-ckpt */
    uint64_t keys;   /* 0: per-scenario default */
    unsigned batch;
    size_t vsize;
    const char *prefix;
    double seconds;
    int rounds;
    int raw;
    const char *dir;
    uint64_t cache_bytes;
    uint64_t seed;
    int json, quiet;
    const char *csv;
    int notify_fd;
    int default_ckpt;          /* children: --default-checkpoints */
    const char *crashlab_opts; /* --crashlab-options */
    const char *internal;      /* --recovery-writer etc. */
    char self[PATH_MAX];
    int argc;
    char **argv;
} kvb_opts;

static int kvb_usage(const char *msg)
{
    if (msg != NULL)
        fprintf(stderr, "kvbench: %s\n", msg);
    fputs(kvb_usage_text, stderr);
    return KVB_USAGE;
}

static const bench_engine *kvb_engine(const char *name)
{
    for (int i = 0; i < KVB_ENGINES; i++)
        if (strcmp(kvb_engines[i]->name, name) == 0)
            return kvb_engines[i];
    return NULL;
}

static int kvb_parse_engines(kvb_opts *o, const char *arg)
{
    char buf[256], *save = NULL, *tok;

    o->nengines = 0;
    if (strcmp(arg, "all") == 0) {
        for (int i = 0; i < KVB_ENGINES; i++)
            o->engines[o->nengines++] = kvb_engines[i];
        return 0;
    }
    snprintf(buf, sizeof(buf), "%s", arg);
    for (tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        const bench_engine *e = kvb_engine(tok);
        if (e == NULL || o->nengines == KVB_ENGINES)
            return -1;
        o->engines[o->nengines++] = e;
    }
    return o->nengines > 0 ? 0 : -1;
}

static int kvb_add_scenario(kvb_opts *o, const char *name)
{
    int w;

    if (strcmp(name, "all") == 0) {
        for (w = 0; w < BS_COUNT; w++)
            if (w != BS_MEMORY && w != BS_RECOVERY_CKPT)
                kvb_add_scenario(o, bench_scenario_name(w));
        return 0;
    }
    if ((w = bench_scenario_parse(name)) < 0)
        return -1;
    for (int i = 0; i < o->nscenarios; i++)
        if (o->scenarios[i] == w)
            return 0;
    o->scenarios[o->nscenarios++] = w;
    return 0;
}

static int kvb_parse_threads(kvb_opts *o, const char *arg)
{
    char buf[256], *save = NULL, *tok;
    uint64_t t;

    o->nthreads = 0;
    snprintf(buf, sizeof(buf), "%s", arg);
    for (tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        if (num_parse_u64(tok, 0, &t) != 0 || t == 0 || t > KVB_MAX_THREADS ||
            o->nthreads == 16)
            return -1;
        o->threads[o->nthreads++] = (unsigned)t;
    }
    return o->nthreads > 0 ? 0 : -1;
}

/* Write the machine header lines, each starting with lead ("# " for CSV):
 * the project's one vocabulary (common/csvmeta.h). */
static void kvb_header(FILE *f, const char *lead, const kvb_opts *o)
{
    char cmd[4096];
    const char *env = getenv("BENCH_COMMAND");
    size_t n = 0;

    cmd[0] = '\0';
    if (env != NULL)
        snprintf(cmd, sizeof(cmd), "%s", env);
    else
        for (int i = 0; i < o->argc && n < sizeof(cmd); i++)
            n += (size_t)snprintf(cmd + n, sizeof(cmd) - n, "%s%s",
                                  i ? " " : "", o->argv[i]);
    csvmeta_write(f, lead, o->dir, getenv("BENCH_COMMIT"), cmd);
}

/* ---------------------------------------------------------------------- */
/* output: progress lines, table, JSON, CSV                               */
/* ---------------------------------------------------------------------- */

static const char *kvb_wname(const bench_result *r)
{
    return r->scenario < 0 ? "disk-fdatasync-4k"
                           : bench_scenario_name(r->scenario);
}

static double kvb_rate(const bench_result *r)
{
    return r->seconds > 0 ? (double)r->ops / r->seconds : 0;
}

static int kvb_is_sync(int w)
{
    return w < 0 || w == BS_SYNC_PUT || w == BS_SYNC_PUT_MT ||
           w == BS_BATCH_PUT;
}

static double kvb_puts_per_fsync(const bench_result *r)
{
    return r->syncs > 0 ? (double)r->ops / (double)r->syncs : 0;
}

static void kvb_progress(const bench_result *r)
{
    fprintf(stderr, "  %-9s %-17s", r->engine, kvb_wname(r));
    if (r->scenario == BS_SYNC_PUT_MT)
        fprintf(stderr, " T=%-3u", r->threads);
    else
        fprintf(stderr, "      ");
    if (r->scenario == BS_RECOVERY) {
        fprintf(stderr,
                " %10.1f ms to recover %" PRIu64 " puts, peak RSS "
                "%" PRIu64 " MiB\n",
                r->seconds * 1e3, r->ops, r->peak_rss_kib / 1024);
        return;
    }
    if (r->scenario == BS_RECOVERY_CKPT) {
        fprintf(stderr,
                " %" PRIu64 " recoveries: p50 %.1f ms, p99 %.1f ms, max %.1f "
                "ms\n",
                r->ops, bench_hist_quantile(&r->lat, 0.5) / 1e6,
                bench_hist_quantile(&r->lat, 0.99) / 1e6,
                (double)r->lat.max_ns / 1e6);
        return;
    }
    if (r->scenario == BS_MEMORY) {
        fprintf(stderr, " peak RSS %.1f MiB (%.1f at start)\n",
                r->peak_rss_kib / 1024.0, r->start_rss_kib / 1024.0);
        return;
    }
    fprintf(stderr,
            " %12.0f ops/s  mean %8.1f us  p50 %8.1f  p99 %8.1f  p99.9 "
            "%8.1f",
            kvb_rate(r),
            r->lat.count ? (double)r->lat.sum_ns / r->lat.count / 1e3 : 0,
            bench_hist_quantile(&r->lat, 0.5) / 1e3,
            bench_hist_quantile(&r->lat, 0.99) / 1e3,
            bench_hist_quantile(&r->lat, 0.999) / 1e3);
    if (kvb_is_sync(r->scenario) && r->scenario >= 0)
        fprintf(stderr, "  %.2f puts/fsync", kvb_puts_per_fsync(r));
    fprintf(stderr, "\n");
}

/* One measured cell: a (scenario, threads) pair on one engine. */
typedef struct kvb_cell {
    int scenario; /* -1: the raw disk */
    unsigned threads;
    const bench_engine *e; /* NULL: the raw disk */
    bench_result r[KVB_MAX_ROUNDS];
    int n;
    int median; /* index into r */
    int failed;
} kvb_cell;

static int kvb_cmp_rate(const void *a, const void *b)
{
    double x = kvb_rate(a), y = kvb_rate(b);

    return x < y ? -1 : x > y;
}

static void kvb_pick_median(kvb_cell *c)
{
    bench_result sorted[KVB_MAX_ROUNDS];
    double want;

    c->median = 0;
    if (c->n <= 1)
        return;
    memcpy(sorted, c->r, (size_t)c->n * sizeof(sorted[0]));
    qsort(sorted, (size_t)c->n, sizeof(sorted[0]), kvb_cmp_rate);
    want = kvb_rate(&sorted[(c->n - 1) / 2]);
    for (int i = 0; i < c->n; i++)
        if (kvb_rate(&c->r[i]) == want)
            c->median = i;
}

static void kvb_fmt_rate(char *buf, size_t len, double v)
{
    if (v >= 1e6)
        snprintf(buf, len, "%.2fM", v / 1e6);
    else if (v >= 1e4)
        snprintf(buf, len, "%.0fk", v / 1e3);
    else if (v >= 1e3)
        snprintf(buf, len, "%.2fk", v / 1e3);
    else
        snprintf(buf, len, "%.0f", v);
}

static kvb_cell *kvb_find(kvb_cell *cells, int ncells, int w, unsigned t,
                          const bench_engine *e)
{
    for (int i = 0; i < ncells; i++)
        if (cells[i].scenario == w && cells[i].threads == t &&
            cells[i].e == e && cells[i].n > 0 && !cells[i].failed)
            return &cells[i];
    return NULL;
}

/* The side-by-side table: ops/s per engine (recovery: milliseconds), then
 * ours/peer ratios (recovery: time ratio, lower is better), then puts per
 * fsync of the sync scenarios. */
static void kvb_table(const kvb_opts *o, kvb_cell *cells, int ncells)
{
    const bench_engine *ours = NULL;
    char v[32];

    for (int i = 0; i < o->nengines; i++)
        if (o->engines[i] == &bench_crashlab)
            ours = &bench_crashlab;
    printf("\n%-22s", "ops/s (median)");
    for (int i = 0; i < o->nengines; i++)
        printf(" %9s", o->engines[i]->name);
    if (ours != NULL)
        for (int i = 0; i < o->nengines; i++)
            if (o->engines[i] != ours)
                printf(" %10.10s", o->engines[i]->name);
    printf("\n%-22s", "");
    for (int i = 0; i < o->nengines; i++)
        printf(" %9s", "");
    if (ours != NULL)
        for (int i = 0; i < o->nengines; i++)
            if (o->engines[i] != ours)
                printf(" %10s", "ours/peer");
    printf("\n");
    for (int i = 0; i < ncells; i++) {
        kvb_cell *c = &cells[i], *mine;
        char label[64];
        int w = c->scenario;
        if (c->e != o->engines[0] || w == BS_MEMORY)
            continue; /* one row per (scenario, threads) */
        if (w == BS_SYNC_PUT_MT)
            snprintf(label, sizeof(label), "%s T=%u", bench_scenario_name(w),
                     c->threads);
        else if (w == BS_RECOVERY)
            snprintf(label, sizeof(label), "recovery (ms)");
        else if (w == BS_RECOVERY_CKPT)
            snprintf(label, sizeof(label), "recovery-ckpt p99 (ms)");
        else
            snprintf(label, sizeof(label), "%s", bench_scenario_name(w));
        printf("%-22s", label);
        for (int j = 0; j < o->nengines; j++) {
            kvb_cell *x = kvb_find(cells, ncells, w, c->threads, o->engines[j]);
            if (x == NULL)
                snprintf(v, sizeof(v), "failed");
            else if (w == BS_RECOVERY)
                snprintf(v, sizeof(v), "%.1f", x->r[x->median].seconds * 1e3);
            else if (w == BS_RECOVERY_CKPT)
                snprintf(v, sizeof(v), "%.1f",
                         bench_hist_quantile(&x->r[x->median].lat, 0.99) / 1e6);
            else
                kvb_fmt_rate(v, sizeof(v), kvb_rate(&x->r[x->median]));
            printf(" %9s", v);
        }
        mine = ours ? kvb_find(cells, ncells, w, c->threads, ours) : NULL;
        for (int j = 0; ours != NULL && j < o->nengines; j++) {
            kvb_cell *x;
            double a, b;
            if (o->engines[j] == ours)
                continue;
            x = kvb_find(cells, ncells, w, c->threads, o->engines[j]);
            if (mine == NULL || x == NULL) {
                printf(" %10s", "-");
                continue;
            }
            if (w == BS_RECOVERY) {
                a = mine->r[mine->median].seconds;
                b = x->r[x->median].seconds;
            } else if (w == BS_RECOVERY_CKPT) {
                a = bench_hist_quantile(&mine->r[mine->median].lat, 0.99);
                b = bench_hist_quantile(&x->r[x->median].lat, 0.99);
            } else {
                a = kvb_rate(&mine->r[mine->median]);
                b = kvb_rate(&x->r[x->median]);
            }
            if (b > 0)
                printf(" %10.2f", a / b);
            else
                printf(" %10s", "-");
        }
        printf("\n");
    }
    /* puts per fsync */
    printf("\n%-22s", "puts per fsync");
    for (int i = 0; i < o->nengines; i++)
        printf(" %9s", o->engines[i]->name);
    printf("\n");
    for (int i = 0; i < ncells; i++) {
        kvb_cell *c = &cells[i];
        char label[64];
        if (c->e != o->engines[0] || c->scenario < 0 ||
            !kvb_is_sync(c->scenario))
            continue;
        if (c->scenario == BS_SYNC_PUT_MT)
            snprintf(label, sizeof(label), "sync-put-mt T=%u", c->threads);
        else
            snprintf(label, sizeof(label), "%s",
                     bench_scenario_name(c->scenario));
        printf("%-22s", label);
        for (int j = 0; j < o->nengines; j++) {
            kvb_cell *x =
                kvb_find(cells, ncells, c->scenario, c->threads, o->engines[j]);
            if (x == NULL)
                printf(" %9s", "-");
            else
                printf(" %9.2f", kvb_puts_per_fsync(&x->r[x->median]));
        }
        printf("\n");
    }
    for (int i = 0; i < ncells; i++) {
        kvb_cell *c = &cells[i];
        if (c->scenario == BS_MEMORY && c->n > 0 && !c->failed)
            printf(
                "\nmemory: %s peak RSS %.1f MiB with a %.0f MiB cache, "
                "%.1f MiB before the open: the engine added %.1f MiB "
                "(cache + %.1f)\n",
                c->e->name, c->r[c->median].peak_rss_kib / 1024.0,
                o->cache_bytes / 1048576.0,
                c->r[c->median].start_rss_kib / 1024.0,
                (c->r[c->median].peak_rss_kib - c->r[c->median].start_rss_kib) /
                    1024.0,
                (c->r[c->median].peak_rss_kib - c->r[c->median].start_rss_kib) /
                        1024.0 -
                    o->cache_bytes / 1048576.0);
        if (c->scenario < 0 && c->n > 0 && !c->failed) {
            kvb_fmt_rate(v, sizeof(v), kvb_rate(&c->r[c->median]));
            printf("\ndisk: 4 KiB append + fdatasync in %s: %s/s (median "
                   "of %d)\n",
                   o->dir, v, c->n);
        }
    }
    printf("\nfsyncs: every fsync/fdatasync call of the process, for every "
           "engine alike,\ncounted by kvbench's own definitions of those "
           "functions.\n");
}

static void kvb_json(const kvb_opts *o, kvb_cell *cells, int ncells)
{
    int first = 1;

    printf("{\"dir\": ");
    json_put_string(stdout, o->dir);
    printf(", \"value_size\": %zu, \"rounds\": %d, \"results\": [", o->vsize,
           o->rounds);
    for (int i = 0; i < ncells; i++) {
        kvb_cell *c = &cells[i];
        bench_result *r;
        if (c->n == 0)
            continue;
        r = &c->r[c->median];
        printf("%s\n  {\"engine\": \"%s\", \"scenario\": \"%s\", "
               "\"threads\": %u, \"batch\": %u, \"ok\": %s, \"ops\": %" PRIu64
               ", \"seconds\": %.6f, \"ops_per_sec\": %.1f, \"latency_us\": "
               "{\"mean\": %.2f, \"p50\": %.2f, \"p95\": %.2f, \"p99\": %.2f, "
               "\"p999\": %.2f, \"max\": %.2f}",
               first ? "" : ",", r->engine, kvb_wname(r), r->threads, r->batch,
               c->failed ? "false" : "true", r->ops, r->seconds, kvb_rate(r),
               r->lat.count ? (double)r->lat.sum_ns / r->lat.count / 1e3 : 0,
               bench_hist_quantile(&r->lat, 0.5) / 1e3,
               bench_hist_quantile(&r->lat, 0.95) / 1e3,
               bench_hist_quantile(&r->lat, 0.99) / 1e3,
               bench_hist_quantile(&r->lat, 0.999) / 1e3,
               (double)r->lat.max_ns / 1e3);
        if (kvb_is_sync(r->scenario))
            printf(", \"fsyncs\": %" PRIu64 ", \"puts_per_fsync\": %.3f, "
                   "\"fsyncs_counted_by\": \"%s\"",
                   r->syncs, kvb_puts_per_fsync(r),
                   r->scenario < 0 ? "kvbench" : "interposed fsync/fdatasync");
        if (r->peak_rss_kib > 0)
            printf(", \"peak_rss_kib\": %" PRIu64, r->peak_rss_kib);
        if (r->scenario == BS_RECOVERY)
            printf(", \"recovery_ms\": %.3f, \"keys_recovered\": %" PRIu64,
                   r->seconds * 1e3, r->recovered);
        printf(", \"corrupt_reads\": %" PRIu64 ", \"rounds\": %d}", r->corrupt,
               c->n);
        first = 0;
    }
    printf("\n]}\n");
}

static int kvb_csv(const kvb_opts *o, kvb_cell *cells, int ncells)
{
    FILE *f = strcmp(o->csv, "-") == 0 ? stdout : fopen(o->csv, "w");

    if (f == NULL) {
        fprintf(stderr, "kvbench: %s: %s\n", o->csv, strerror(errno));
        return -1;
    }
    kvb_header(f, "# ", o);
    fprintf(f,
            "# value size %zu bytes, cache %" PRIu64 " bytes, rounds %d "
            "(each row is the median round)\n",
            o->vsize, o->cache_bytes, o->rounds);
    fprintf(f, "engine,scenario,threads,batch,ops,seconds,ops_per_sec,"
               "mean_us,p50_us,p95_us,p99_us,p999_us,max_us,fsyncs,"
               "puts_per_fsync,min_ops_per_sec,max_ops_per_sec,rounds,"
               "peak_rss_kib,corrupt_reads,ok\n");
    for (int i = 0; i < ncells; i++) {
        kvb_cell *c = &cells[i];
        bench_result *r;
        double lo = 0, hi = 0;
        if (c->n == 0)
            continue;
        r = &c->r[c->median];
        for (int j = 0; j < c->n; j++) {
            double x = kvb_rate(&c->r[j]);
            if (j == 0 || x < lo)
                lo = x;
            if (j == 0 || x > hi)
                hi = x;
        }
        fprintf(f,
                "%s,%s,%u,%u,%" PRIu64 ",%.6f,%.1f,%.2f,%.2f,%.2f,%.2f,%.2f,"
                "%.2f,%" PRIu64 ",%.3f,%.1f,%.1f,%d,%" PRIu64 ",%" PRIu64
                ",%d\n",
                r->engine, kvb_wname(r), r->threads, r->batch, r->ops,
                r->seconds, kvb_rate(r),
                r->lat.count ? (double)r->lat.sum_ns / r->lat.count / 1e3 : 0,
                bench_hist_quantile(&r->lat, 0.5) / 1e3,
                bench_hist_quantile(&r->lat, 0.95) / 1e3,
                bench_hist_quantile(&r->lat, 0.99) / 1e3,
                bench_hist_quantile(&r->lat, 0.999) / 1e3,
                (double)r->lat.max_ns / 1e3,
                kvb_is_sync(r->scenario) ? r->syncs : 0,
                kvb_is_sync(r->scenario) ? kvb_puts_per_fsync(r) : 0, lo, hi,
                c->n, r->peak_rss_kib, r->corrupt, c->failed ? 0 : 1);
    }
    if (f != stdout && fclose(f) != 0) {
        fprintf(stderr, "kvbench: %s: %s\n", o->csv, strerror(errno));
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------------- */
/* running                                                                */
/* ---------------------------------------------------------------------- */

/* The parameters of scenario w with t threads, from the options. */
static void kvb_params(const kvb_opts *o, int w, unsigned t, const char *dir,
                       bench_params *p)
{
    static const uint64_t def_ops[BS_COUNT] = {
        2000, 1000, 200000, 200000, 1000000, 5, 200000, 400000, 200000,
    };

    memset(p, 0, sizeof(*p));
    p->dir = dir;
    p->prefix = o->prefix;
    p->n = o->ops && w != BS_SCAN ? o->ops : def_ops[w];
    if (w == BS_SCAN && o->passes)
        p->n = o->passes;
    if (w == BS_SYNC_PUT_MT && o->ops == 0)
        p->n *= t;
    p->keys = o->keys ? o->keys : w == BS_MEMORY ? 1000000 : 200000;
    p->threads = t;
    p->batch = o->batch;
    p->vsize = o->vsize;
    p->seed = o->seed;
    if (w != BS_SCAN && w != BS_RECOVERY && w != BS_RECOVERY_CKPT &&
        w != BS_MEMORY)
        p->seconds = o->seconds;
    p->cache_bytes = o->cache_bytes;
    p->crashlab_opts = o->crashlab_opts;
    p->self = o->self;
    p->default_ckpt = o->default_ckpt;
    p->trials = o->trials;
}

/* Run one cell's next round.  Returns 0, or KVB_FAIL / KVB_CORRUPT. */
static int kvb_run_cell(const kvb_opts *o, kvb_cell *c)
{
    char dir[PATH_MAX];
    bench_params p;
    bench_result *r = &c->r[c->n];
    int rc;

    if (c->failed)
        return 0;
    snprintf(
        dir, sizeof(dir), "%s/%s-%s-%u", o->dir, c->e ? c->e->name : "disk",
        c->scenario < 0 ? "raw" : bench_scenario_name(c->scenario), c->threads);
    fs_rmrf(dir);
    if (fs_mkdirs(dir) != 0) {
        fprintf(stderr, "kvbench: %s: %s\n", dir, strerror(errno));
        c->failed = 1;
        return KVB_FAIL;
    }
    if (c->e == NULL) {
        rc = bench_raw(dir, o->ops ? o->ops : 2000, o->seconds, r);
    } else {
        kvb_params(o, c->scenario, c->threads, dir, &p);
        rc = bench_run(c->e, c->scenario, &p, r);
    }
    fs_rmrf(dir);
    if (rc != 0) {
        fprintf(stderr, "kvbench: %s %s: %s\n", c->e ? c->e->name : "disk",
                c->scenario < 0 ? "raw" : bench_scenario_name(c->scenario),
                bench_errmsg());
        c->failed = 1;
        return r->corrupt > 0 || strstr(bench_errmsg(), "CORRUPT READ")
                   ? KVB_CORRUPT
                   : KVB_FAIL;
    }
    c->n++;
    if (!o->quiet)
        kvb_progress(r);
    return 0;
}

static int kvb_worse(int a, int b)
{
    return a > b ? a : b;
}

static int kvb_run_all(kvb_opts *o)
{
    kvb_cell *cells;
    int ncells = 0, status = KVB_OK, cap;

    cap = (o->nscenarios * 16 + 1) * o->nengines + 1;
    cells = calloc((size_t)cap, sizeof(*cells));
    if (cells == NULL) {
        fprintf(stderr, "kvbench: out of memory\n");
        return KVB_FAIL;
    }
    if (o->raw) {
        cells[ncells].scenario = -1;
        cells[ncells].threads = 1;
        ncells++;
    }
    for (int i = 0; i < o->nscenarios; i++) {
        int w = o->scenarios[i];
        int nt = w == BS_SYNC_PUT_MT ? o->nthreads : 1;
        for (int t = 0; t < nt; t++)
            for (int e = 0; e < o->nengines; e++) {
                cells[ncells].scenario = w;
                cells[ncells].threads = w == BS_SYNC_PUT_MT ? o->threads[t] : 1;
                cells[ncells].e = o->engines[e];
                ncells++;
            }
    }
    if (!o->quiet)
        kvb_header(stderr, "", o);
    for (int round = 0; round < o->rounds; round++) {
        if (!o->quiet)
            fprintf(stderr, "round %d of %d\n", round + 1, o->rounds);
        /* Cells of one (scenario, threads) pair are consecutive: run them
         * in an order that rotates with the round. */
        for (int i = 0; i < ncells;) {
            int j = i + 1;
            while (j < ncells && cells[j].scenario == cells[i].scenario &&
                   cells[j].threads == cells[i].threads)
                j++;
            for (int k = 0; k < j - i; k++) {
                kvb_cell *c = &cells[i + (k + round) % (j - i)];
                status = kvb_worse(status, kvb_run_cell(o, c));
            }
            i = j;
        }
    }
    for (int i = 0; i < ncells; i++)
        kvb_pick_median(&cells[i]);
    if (o->json)
        kvb_json(o, cells, ncells);
    else {
        printf("\n");
        kvb_header(stdout, "", o);
        kvb_table(o, cells, ncells);
    }
    if (o->csv != NULL && kvb_csv(o, cells, ncells) != 0)
        status = kvb_worse(status, KVB_FAIL);
    free(cells);
    return status;
}

/* kvbench N PREFIX SIZE: sync-put of N keys, then every key read back. */
static int kvb_one(kvb_opts *o, uint64_t n, const char *prefix, uint64_t vsize)
{
    const bench_engine *e = o->engines[0];
    char dir[PATH_MAX];
    bench_params p;
    bench_result r;
    bench_cfg cfg = {1, 0, o->cache_bytes, o->crashlab_opts};
    uint64_t found = 0, corrupt = 0;
    void *db;
    int rc;

    o->prefix = prefix;
    o->vsize = (size_t)vsize;
    snprintf(dir, sizeof(dir), "%s/%s-one", o->dir, e->name);
    fs_rmrf(dir);
    if (fs_mkdirs(dir) != 0) {
        fprintf(stderr, "kvbench: %s: %s\n", dir, strerror(errno));
        return KVB_FAIL;
    }
    kvb_params(o, BS_SYNC_PUT, 1, dir, &p);
    p.n = n;
    p.seconds = 0;
    rc = bench_run(e, BS_SYNC_PUT, &p, &r);
    if (rc == 0 && (rc = e->open(dir, &cfg, &db)) == 0) {
        rc = bench_verify_all(e, db, &p, n, &found, &corrupt);
        if (e->close(db) != 0 && rc == 0)
            rc = -1;
    }
    fs_rmrf(dir);
    if (rc != 0) {
        fprintf(stderr, "kvbench: %s: %s\n", e->name, bench_errmsg());
        return corrupt > 0 ? KVB_CORRUPT : KVB_FAIL;
    }
    printf("%s sync-put: %" PRIu64 " puts of %" PRIu64 "-byte values "
           "(keys %s + 16 digits) in %.3f s: %.0f puts/s\n",
           e->name, r.ops, vsize, prefix, r.seconds, kvb_rate(&r));
    printf("latency: mean %.1f us, p50 %.1f us, p95 %.1f us, p99 %.1f us, "
           "p99.9 %.1f us, max %.1f us\n",
           r.lat.count ? (double)r.lat.sum_ns / r.lat.count / 1e3 : 0,
           bench_hist_quantile(&r.lat, 0.5) / 1e3,
           bench_hist_quantile(&r.lat, 0.95) / 1e3,
           bench_hist_quantile(&r.lat, 0.99) / 1e3,
           bench_hist_quantile(&r.lat, 0.999) / 1e3,
           (double)r.lat.max_ns / 1e3);
    printf("fsyncs: %" PRIu64 " (%.2f puts per fsync: every fsync and "
           "fdatasync call)\n",
           r.syncs, kvb_puts_per_fsync(&r));
    printf("read back: %" PRIu64 " of %" PRIu64 " keys present and right\n",
           found, n);
    return KVB_OK;
}

/* The fresh processes of the recovery and memory scenarios. */
static int kvb_internal(kvb_opts *o)
{
    const bench_engine *e = o->engines[0];
    bench_params p;
    uint64_t open_ns = 0, found = 0, corrupt = 0, rss = 0;
    int w =
        strcmp(o->internal, "--memory-child") == 0 ? BS_MEMORY : BS_RECOVERY;
    int rc;

    kvb_params(o, w, 1, o->dir, &p);
    if (strcmp(o->internal, "--recovery-writer") == 0)
        rc = bench_recovery_writer(e, &p, o->notify_fd);
    else if (strcmp(o->internal, "--recovery-reader") == 0) {
        rc = bench_recovery_reader(e, &p, &open_ns, &found, &corrupt, &rss);
        if (rc == 0)
            printf("%" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", open_ns,
                   found, corrupt, rss);
    } else
        rc = bench_memory_child(e, &p);
    if (rc != 0) {
        printf("%s\n", bench_errmsg());
        return KVB_FAIL;
    }
    return fflush(stdout) == 0 ? KVB_OK : KVB_FAIL;
}

/* ---------------------------------------------------------------------- */
/* main                                                                   */
/* ---------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    enum {
        O_ENGINE = 256,
        O_THREADS,
        O_BATCH,
        O_VSIZE,
        O_KEYS,
        O_PREFIX,
        O_SECONDS,
        O_ROUNDS,
        O_RAW,
        O_DIR,
        O_CACHE,
        O_CLOPTS,
        O_SEED,
        O_JSON,
        O_CSV,
        O_QUIET,
        O_NOTIFY,
        O_SCENARIO,
        O_RWRITER,
        O_RREADER,
        O_MEMCHILD,
        O_PASSES,
        O_DEFCKPT,
        O_TRIALS,
    };
    static const struct option longopts[] = {
        {"engine", required_argument, NULL, O_ENGINE},
        {"scenario", required_argument, NULL, O_SCENARIO},
        {"ops", required_argument, NULL, 'n'},
        {"threads", required_argument, NULL, O_THREADS},
        {"passes", required_argument, NULL, O_PASSES},
        {"trials", required_argument, NULL, O_TRIALS},
        {"batch", required_argument, NULL, O_BATCH},
        {"value-size", required_argument, NULL, O_VSIZE},
        {"keys", required_argument, NULL, O_KEYS},
        {"prefix", required_argument, NULL, O_PREFIX},
        {"seconds", required_argument, NULL, O_SECONDS},
        {"rounds", required_argument, NULL, O_ROUNDS},
        {"raw", no_argument, NULL, O_RAW},
        {"dir", required_argument, NULL, O_DIR},
        {"cache-bytes", required_argument, NULL, O_CACHE},
        {"crashlab-options", required_argument, NULL, O_CLOPTS},
        {"seed", required_argument, NULL, O_SEED},
        {"json", no_argument, NULL, O_JSON},
        {"csv", required_argument, NULL, O_CSV},
        {"quiet", no_argument, NULL, O_QUIET},
        {"notify-fd", required_argument, NULL, O_NOTIFY},
        {"recovery-writer", no_argument, NULL, O_RWRITER},
        {"recovery-reader", no_argument, NULL, O_RREADER},
        {"memory-child", no_argument, NULL, O_MEMCHILD},
        {"default-checkpoints", no_argument, NULL, O_DEFCKPT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    kvb_opts o;
    uint64_t v;
    uint64_t n = 0, size = 0;
    int c, npos, one, made, rc;
    ssize_t sl;

    memset(&o, 0, sizeof(o));
    o.engines[0] = &bench_crashlab;
    o.nengines = 1;
    kvb_parse_threads(&o, "1,2,4,8,16");
    o.batch = 1000;
    o.vsize = 100;
    o.prefix = "k";
    o.rounds = 1;
    o.dir = "kvbench.tmp";
    o.cache_bytes = 64ull << 20;
    o.seed = 1;
    o.notify_fd = -1;
    o.trials = 30;
    if (argc >= 2 && strcmp(argv[1], "experiment") == 0)
        return bench_experiment_main(argc - 1, argv + 1);
    o.argc = argc;
    o.argv = argv;
    sl = readlink("/proc/self/exe", o.self, sizeof(o.self) - 1);
    if (sl <= 0)
        snprintf(o.self, sizeof(o.self), "%s", argv[0]);
    else
        o.self[sl] = '\0';

    while ((c = getopt_long(argc, argv, "n:h", longopts, NULL)) != -1) {
        switch (c) {
        case O_ENGINE:
            if (kvb_parse_engines(&o, optarg) != 0)
                return kvb_usage("--engine: crashlab, sqlite, lmdb, leveldb, "
                                 "rocksdb or all");
            break;
        case O_SCENARIO:
            if (kvb_add_scenario(&o, optarg) != 0)
                return kvb_usage("unknown scenario");
            break;
        case 'n':
            if (num_parse_u64(optarg, 0, &o.ops) != 0 || o.ops == 0)
                return kvb_usage("--ops needs a positive number");
            break;
        case O_TRIALS:
            if (num_parse_u64(optarg, 0, &v) != 0 || v == 0 || v > 100000)
                return kvb_usage("--trials: 1..100000");
            o.trials = (unsigned)v;
            break;
        case O_PASSES:
            if (num_parse_u64(optarg, 0, &o.passes) != 0 || o.passes == 0)
                return kvb_usage("--passes needs a positive number");
            break;
        case O_THREADS:
            if (kvb_parse_threads(&o, optarg) != 0)
                return kvb_usage("--threads: numbers 1..64, comma-separated");
            break;
        case O_BATCH:
            if (num_parse_u64(optarg, 0, &v) != 0 || v == 0 || v > 1000000)
                return kvb_usage("--batch: 1..1000000");
            o.batch = (unsigned)v;
            break;
        case O_VSIZE:
            if (num_parse_u64(optarg, 0, &v) != 0 || v > 65536)
                return kvb_usage("--value-size: 0..65536");
            o.vsize = (size_t)v;
            break;
        case O_KEYS:
            if (num_parse_u64(optarg, 0, &o.keys) != 0 || o.keys == 0)
                return kvb_usage("--keys needs a positive number");
            break;
        case O_PREFIX:
            if (strlen(optarg) > BENCH_PREFIX_MAX)
                return kvb_usage("--prefix: at most 64 bytes");
            o.prefix = optarg;
            break;
        case O_SECONDS:
            if (num_parse_double(optarg, &o.seconds) != 0)
                return kvb_usage("--seconds needs a number, 0 or more");
            break;
        case O_ROUNDS:
            if (num_parse_u64(optarg, 0, &v) != 0 || v == 0 ||
                v > KVB_MAX_ROUNDS)
                return kvb_usage("--rounds: 1..15");
            o.rounds = (int)v;
            break;
        case O_RAW:
            o.raw = 1;
            break;
        case O_DIR:
            o.dir = optarg;
            break;
        case O_CACHE:
            if (num_parse_u64(optarg, 0, &o.cache_bytes) != 0 ||
                o.cache_bytes < (256u << 10))
                return kvb_usage("--cache-bytes: at least 262144");
            break;
        case O_SEED:
            if (num_parse_u64(optarg, 0, &o.seed) != 0)
                return kvb_usage("--seed needs a number");
            break;
        case O_JSON:
            o.json = 1;
            break;
        case O_CSV:
            o.csv = optarg;
            break;
        case O_QUIET:
            o.quiet = 1;
            break;
        case O_NOTIFY:
            if (num_parse_u64(optarg, 0, &v) != 0 || v > INT_MAX)
                return kvb_usage("--notify-fd needs a number");
            o.notify_fd = (int)v;
            break;
        case O_RWRITER:
            o.internal = "--recovery-writer";
            break;
        case O_RREADER:
            o.internal = "--recovery-reader";
            break;
        case O_MEMCHILD:
            o.internal = "--memory-child";
            break;
        case O_DEFCKPT:
            o.default_ckpt = 1;
            break;
        case O_CLOPTS: {
            cl_options eng;
            char err[160];
            memset(&eng, 0, sizeof(eng));
            if (bench_crashlab_options(optarg, &eng, err, sizeof(err)) != 0)
                return kvb_usage(err);
            o.crashlab_opts = optarg;
            break;
        }
        case 'h':
            fputs(kvb_usage_text, stdout);
            return KVB_OK;
        default:
            return kvb_usage(NULL);
        }
    }
    if (o.internal != NULL)
        return kvb_internal(&o);
    npos = argc - optind;
    /* The one-scenario form N PREFIX VALUE_SIZE starts with a number. */
    one = npos > 0 && num_parse_u64(argv[optind], 0, &n) == 0;
    if (one) {
        if (npos != 3)
            return kvb_usage(npos == 1   ? "N PREFIX VALUE_SIZE: PREFIX and "
                                           "VALUE_SIZE are missing"
                             : npos == 2 ? "N PREFIX VALUE_SIZE: VALUE_SIZE "
                                           "is missing"
                                         : "N PREFIX VALUE_SIZE: too many "
                                           "arguments");
        if (n == 0 || n > UINT32_MAX)
            return kvb_usage("N must be 1..4294967295");
        if (num_parse_u64(argv[optind + 2], 0, &size) != 0 || size > 65536)
            return kvb_usage("VALUE_SIZE must be 0..65536");
        if (argv[optind + 1][0] == '\0' ||
            strlen(argv[optind + 1]) > BENCH_PREFIX_MAX)
            return kvb_usage("PREFIX must be 1..64 bytes");
    } else {
        for (int i = optind; i < argc; i++)
            if (kvb_add_scenario(&o, argv[i]) != 0) {
                fprintf(stderr,
                        "kvbench: unknown scenario '%s' (kvbench --help "
                        "lists them)\n",
                        argv[i]);
                return KVB_USAGE;
            }
        if (o.nscenarios == 0)
            kvb_add_scenario(&o, "all");
    }
    /* A directory made here is removed at the end (its databases are). */
    made = access(o.dir, F_OK) != 0;
    if (fs_mkdirs(o.dir) != 0) {
        fprintf(stderr, "kvbench: %s: %s\n", o.dir, strerror(errno));
        return KVB_FAIL;
    }
    rc = one ? kvb_one(&o, n, argv[optind + 1], size) : kvb_run_all(&o);
    if (made)
        rmdir(o.dir);
    return rc;
}
