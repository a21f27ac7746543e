/*
 * bench.h - kvbench's pieces: the engine adapter interface (one small
 * tools/kvbench/peers/bench_<engine>.c per engine), keys and values, the
 * byte-for-byte read check, latency histograms and the scenarios.
 *
 * Every adapter function returns 0 on success or -1 on failure after
 * describing the failure with bench_err() (read back with bench_errmsg()).
 * get returns 1 for a key that is absent.
 */
#ifndef BENCH_H
#define BENCH_H

#include <stddef.h>
#include <stdint.h>

#include "clk.h"
#include "fsutil.h"
#include "rng.h"

/* ---------------------------------------------------------------------- */
/* adapters                                                               */
/* ---------------------------------------------------------------------- */

typedef struct bench_cfg {
    int sync;                  /* 1: each write is durable before it returns */
    int bulk;                  /* 1: postpone checkpoints / memtable flushes as
                                  far as the engine allows (recovery scenario) */
    uint64_t cache_bytes;      /* buffer pool / page cache / block cache */
    const char *crashlab_opts; /* crashlab only: --crashlab-options */
} bench_cfg;

typedef struct bench_kv {
    const void *k;
    size_t klen; /* bytes */
    const void *v;
    size_t vlen; /* bytes */
} bench_kv;

/* Scan callback: return 0 to go on, nonzero to stop. */
typedef int (*bench_scan_fn)(void *ctx, const void *k, size_t klen,
                             const void *v, size_t vlen);

typedef struct bench_engine {
    const char *name;     /* as given to --engine */
    const char *settings; /* one line: how the engine is configured */
    /* Open (creating) the database in the empty or existing directory dir.
     * OUT: *db. */
    int (*open)(const char *dir, const bench_cfg *cfg, void **db);
    /* Close (the engine's normal, clean close). */
    int (*close)(void *db);
    /* A handle for one thread (SQLite: its own connection; the others:
     * the database handle itself).  OUT: *th. */
    int (*thread_open)(void *db, void **th);
    void (*thread_close)(void *db, void *th);
    /* One put, durable on return when cfg.sync. */
    int (*put)(void *th, const void *k, size_t klen, const void *v,
               size_t vlen);
    /* n puts committed atomically, durable on return when cfg.sync. */
    int (*write_batch)(void *th, const bench_kv *kv, size_t n);
    /* Copy the value of k into buf (up to cap bytes).  OUT: *vlen, the
     * full length.  Returns 0, 1 if absent, or -1. */
    int (*get)(void *th, const void *k, size_t klen, void *buf, size_t cap,
               size_t *vlen);
    /* Every key in order. */
    int (*scan)(void *th, bench_scan_fn fn, void *ctx);
} bench_engine;

extern const bench_engine bench_crashlab;
/* Parse --crashlab-options: NAME=VALUE pairs separated by commas, NAME one
 * of checkpoint-mode, checkpoint-bytes (K, M, G suffixes) and
 * torn-protection, into *o.  Returns 0, or -1 with a message in err. */
struct cl_options;
int bench_crashlab_options(const char *s, struct cl_options *o, char *err,
                           size_t errlen);
extern const bench_engine bench_sqlite;
extern const bench_engine bench_lmdb;
extern const bench_engine bench_leveldb;
extern const bench_engine bench_rocksdb;

/* Record the failure of the current operation (printf format). */
int bench_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *bench_errmsg(void);

/* fsync + fdatasync calls made by this process (bench_fsync.c: the
 * benchmark binary defines both functions, so every engine linked into it,
 * shared libraries included, calls them; they count and make the system
 * call).  0 when the counting definitions are not linked in. */
uint64_t bench_fsync_count(void);

/* ---------------------------------------------------------------------- */
/* keys, values and the check                                             */
/* ---------------------------------------------------------------------- */

#define BENCH_PREFIX_MAX 64
#define BENCH_KEY_MAX (BENCH_PREFIX_MAX + 16)

/* Key number n as PREFIX followed by n in 16 zero-padded decimal digits
 * (the default prefix "k" gives k%016llu).  Returns its length. */
size_t bench_key(char *buf, const char *prefix, size_t prefixlen, uint64_t n);
/* The value of key number n: len bytes from a generator seeded by seed and
 * n, so any value can be recomputed to check a read. */
void bench_value(uint8_t *buf, size_t len, uint64_t seed, uint64_t n);
/* Compare a value read for key number n with what was written, byte for
 * byte.  Returns 0, or -1 with the first difference in bench_errmsg(). */
int bench_check(const void *got, size_t gotlen, size_t vsize, uint64_t seed,
                uint64_t n);
/* A permutation of 0..n-1 from seed (malloc'd).  NULL if out of memory. */
uint32_t *bench_shuffle(uint64_t n, uint64_t seed);

/* ---------------------------------------------------------------------- */
/* latency histogram                                                      */
/* ---------------------------------------------------------------------- */

/* Log-linear buckets: exact below 64 ns, then 32 per power of two (at most
 * 3% wide). */
#define BENCH_HIST_SUB 5
#define BENCH_HIST_BUCKETS ((64 - BENCH_HIST_SUB) << BENCH_HIST_SUB)

typedef struct bench_hist {
    uint64_t count;
    uint64_t sum_ns;
    uint64_t max_ns;
    uint64_t b[BENCH_HIST_BUCKETS];
} bench_hist;

void bench_hist_add(bench_hist *h, uint64_t ns);
void bench_hist_merge(bench_hist *into, const bench_hist *from);
/* The q-quantile (0 < q <= 1) in ns (the middle of its bucket). */
double bench_hist_quantile(const bench_hist *h, double q);

/* ---------------------------------------------------------------------- */
/* scenarios                                                              */
/* ---------------------------------------------------------------------- */

enum bench_scenario {
    BS_SYNC_PUT,
    BS_SYNC_PUT_MT,
    BS_BATCH_PUT,
    BS_NOSYNC_PUT,
    BS_GET,
    BS_SCAN,
    BS_RECOVERY,
    BS_RECOVERY_CKPT,
    BS_MEMORY,
    BS_COUNT
};

const char *bench_scenario_name(int w);
int bench_scenario_parse(const char *s);

typedef struct bench_params {
    const char *dir;    /* an empty directory for this run */
    const char *prefix; /* key prefix */
    uint64_t n;         /* operations: puts, gets, scan passes, or puts in
                           the recovery log */
    uint64_t keys;      /* keys loaded before get and scan */
    unsigned threads;   /* sync-put-mt */
    unsigned batch;     /* puts per commit (batch-put, loads, recovery) */
    size_t vsize;       /* value bytes */
    uint64_t seed;
    double seconds; /* stop a put or get scenario after this long
                       (0: never) */
    uint64_t cache_bytes;
    const char *crashlab_opts; /* --crashlab-options (NULL: none) */
    const char *self; /* path of the kvbench binary (recovery children) */
    int default_ckpt; /* recovery children: the engine's default
                          checkpoints instead of postponed ones */
    unsigned trials;  /* recovery-ckpt: crashes and recoveries */
} bench_params;

typedef struct bench_result {
    const char *engine;
    int scenario;
    unsigned threads, batch;
    size_t vsize;
    uint64_t ops;           /* puts, gets or keys scanned */
    double seconds;         /* wall time of the measured phase */
    bench_hist lat;         /* per put/get, per batch, per scan pass, or per
                               recovery */
    uint64_t syncs;         /* fsync and fdatasync calls of the process
                               during the measured phase (sync scenarios),
                               every engine counted alike (bench_fsync.c) */
    uint64_t corrupt;       /* reads that did not match what was written */
    uint64_t recovered;     /* recovery: keys found after recovery */
    uint64_t peak_rss_kib;  /* recovery, memory: the child's peak RSS */
    uint64_t start_rss_kib; /* memory: its RSS before opening */
} bench_result;

/* Run scenario w of engine e.  Returns 0, or -1 (message in
 * bench_errmsg(); r->corrupt > 0 when a read did not match). */
int bench_run(const bench_engine *e, int w, const bench_params *p,
              bench_result *r);

/* Read keys 0..n-1 through db and check each value byte for byte.
 * OUT: *found (present and right), *corrupt (missing or wrong).  Returns
 * 0, or -1 on an engine error or when *corrupt > 0. */
int bench_verify_all(const bench_engine *e, void *db, const bench_params *p,
                     uint64_t n, uint64_t *found, uint64_t *corrupt);

/* The two halves of the recovery scenario, each run in a fresh process
 * (kvbench --recovery-writer / --recovery-reader; bench_child.c). */
int bench_recovery_writer(const bench_engine *e, const bench_params *p,
                          int notify_fd);
int bench_recovery_reader(const bench_engine *e, const bench_params *p,
                          uint64_t *open_ns, uint64_t *found, uint64_t *corrupt,
                          uint64_t *peak_rss_kib);
/* The memory scenario's fresh process (kvbench --memory-child). */
int bench_memory_child(const bench_engine *e, const bench_params *p);
/* Peak resident set size of this process, KiB. */
uint64_t bench_peak_rss_kib(void);
/* The raw disk: n times (or until seconds, when > 0) 4 KiB appended to a
 * new file in dir and fdatasynced, the rate a log that syncs every commit
 * cannot beat on this file system.  OUT: r (engine "disk", scenario -1).
 * Returns 0, or -1 with bench_errmsg(). */
int bench_raw(const char *dir, uint64_t n, double seconds, bench_result *r);
/* kvbench experiment syscalls: the cost of a bare system call, a 4 KiB
 * pread, an fstat and a page fault, each measured for seconds / 4, one
 * CSV row each (call,calls,seconds,us_per_call); its file in dir is
 * removed.  Returns the exit status. */
int bench_syscalls(const char *dir, double seconds);
/* kvbench experiment io-tables: one workload (a new database, 200
 * transactions, closed) run again and again through each I/O table
 * crashtest puts under the engine (posix, memfs, the crash core over
 * either), sync off and commit, seconds / 8 each; one CSV row each
 * (table,sync,runs,seconds,us_per_run).  Its files in dir are removed.
 * Returns the exit status. */
int bench_iotables(const char *dir, double seconds);
/* kvbench experiment COMMAND DIR [options]: the measurements of the
 * experiment scripts (experiments/) that the benchmark's scenarios do not
 * make (bench_experiment.c); argv[0] is "experiment".  Returns the exit
 * status. */
int bench_experiment_main(int argc, char **argv);

#endif
