/*
 * bench_experiment.c - kvbench experiment: the measurements behind the
 * experiment scripts (experiments/) that the benchmark's scenarios do not
 * make, all on our engine and its knobs: a crashed database with a chosen
 * amount of log to replay, the time recovery takes on it, put throughput
 * under a checkpoint interval, recovery after kills at random points of the
 * checkpoint cycle, durable puts from several threads in one sync mode, and
 * the disk's raw append + fdatasync rate (bench_raw, as kvbench --raw).
 * Each command prints CSV rows (no header) on stdout; the scripts put the
 * header and the machine notes around them.
 *
 * Usage: kvbench experiment COMMAND DIR [options]
 * Exit status: 0 ok, 1 a measurement failed (the message says which), 2
 * usage.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "crashlab.h"
#include "num.h"

static const char *bexp_usage_text =
    "usage: kvbench experiment COMMAND DIR [options]\n"
    "\n"
    "commands (DIR is the database directory):\n"
    "  load        a writer process puts --keys keys in order, checkpoints,\n"
    "              then puts random keys (automatic checkpoints off) until\n"
    "              --wal-bytes of log follow the checkpoint, syncs the log\n"
    "              and is SIGKILLed; prints wal_bytes,records\n"
    "  recover     open DIR (recovering it) and close; prints\n"
    "              usec,records,bytes,pages_repaired\n"
    "  put-rate    durable batches of --batch random puts for --seconds on a\n"
    "              new database; prints puts,seconds,checkpoints,wal_syncs\n"
    "  crash-cycle --trials times: a writer process puts batches on a new\n"
    "              database until it has written a random amount of log,\n"
    "              uniform in [C, 2C) for C = --checkpoint-bytes (so\n"
    "              past its first checkpoint's start), and is SIGKILLed;\n"
    "              then the database is recovered; prints one row per trial:\n"
    "              trial,usec,records,bytes\n"
    "  writers     --threads threads each put their own keys one durable\n"
    "              put at a time for --seconds on a new database; prints\n"
    "              puts,seconds,wal_syncs\n"
    "  raw         4 KiB appends, each followed by fdatasync, for --seconds\n"
    "              (as kvbench --raw); prints syncs,seconds\n"
    "  fork        fork a child that exits at once and wait for it, for\n"
    "              --seconds (DIR is not used): the machine's limit for\n"
    "              work that needs a process each; prints forks,seconds\n"
    "  open-close  open and close a new, empty database in DIR, for\n"
    "              --seconds, in this process; prints opens,seconds\n"
    "  fork-open   the same, each open and close in a child process\n"
    "              forked for it; prints opens,seconds\n"
    "  syscalls    what the kernel charges for the calls a crash state\n"
    "              makes most, each for --seconds / 5: getppid (a bare\n"
    "              system call), a 4 KiB pread and an fstat of a file in\n"
    "              DIR, a page fault (a fresh page touched, its\n"
    "              mapping removed, per 256 pages), and the same per\n"
    "              4 KiB of a fresh transparent huge page (2 MiB,\n"
    "              MADV_HUGEPAGE); prints call,calls,seconds,us_per_call\n"
    "  io-tables   one workload (a new database, 200 transactions,\n"
    "              closed) run again and again through each I/O table\n"
    "              crashtest puts under the engine: posix (DIR), memfs\n"
    "              (memory), crashio-posix and crashio-memfs (the crash\n"
    "              core and its shadow log over either), sync off and\n"
    "              commit, each for --seconds / 8; prints table,sync,\n"
    "              runs,seconds,us_per_run\n"
    "\n"
    "options:\n"
    "  --torn-protection M  none | fpw | dwb (default fpw)\n"
    "  --sync M             off | commit | group | periodic (default group)\n"
    "  --checkpoint-bytes N automatic checkpoint interval (default 64M)\n"
    "  --checkpoint-mode M  inline | spread | background (default inline)\n"
    "  --wal-bytes N        load: log bytes after the last checkpoint\n"
    "                       (byte counts take a K, M or G suffix)\n"
    "  --keys K             random keys are drawn from K (default 100000)\n"
    "  --value-size V       value bytes (default 100)\n"
    "  --batch B            puts per commit (default 100)\n"
    "  --threads T          writers: threads (default 1)\n"
    "  --seconds S          put-rate, writers, raw, fork, open-close,\n"
    "                       fork-open, syscalls, io-tables: duration\n"
    "                       (default 2)\n"
    "  --trials N           crash-cycle: trials (default 10)\n"
    "  --seed S             random keys and kill points (default 1)\n";

/* Options of every command; each uses the ones it names. */
struct bexp_opts {
    const char *cmd;
    const char *dir;
    cl_options eng;
    uint64_t wal_bytes; /* load: log after the last checkpoint */
    uint64_t keys;      /* key space of random puts */
    size_t value_size;  /* bytes */
    unsigned batch;     /* puts per commit */
    unsigned threads;   /* writers */
    double seconds;     /* duration of a timed run */
    unsigned trials;    /* crash-cycle */
    uint64_t seed;
};

/* Seconds on the monotonic clock. */
static double bexp_now(void)
{
    return (double)clk_now_ns() / 1e9;
}

static void bexp_fail(const char *what, int rc)
{
    const char *d = cl_errdetail();
    fprintf(stderr, "kvbench experiment: %s: %s%s%s\n", what, cl_strerror(rc),
            d[0] ? ": " : "", d);
}

/* Fill b with o->batch puts of random keys "k<12 digits>" and random
 * values of o->value_size bytes.  Returns 0 or an engine
 * error. */
static int bexp_fill_batch(const struct bexp_opts *o, cl_batch *b, rng *rs,
                           char *val)
{
    char key[32];
    cl_batch_clear(b);
    for (unsigned i = 0; i < o->batch; i++) {
        uint64_t k = rng_next(rs) % o->keys;
        int klen = snprintf(key, sizeof(key), "k%012" PRIu64, k);
        /* A fresh value each time: the engine logs nothing for a put
         * that does not change the value. */
        uint64_t stamp = rng_next(rs);
        for (size_t j = 0; j < o->value_size; j++)
            val[j] = (char)('a' + (stamp >> (j % 8 * 8)) % 26);
        int rc = cl_batch_put(b, key, (size_t)klen, val, o->value_size);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Wait for the writer child pid, which must have died of SIGKILL (it kills
 * itself, or the parent kills it).  Returns 0, or 1 with a message. */
static int bexp_reap(pid_t pid)
{
    int st;
    if (waitpid(pid, &st, 0) < 0) {
        perror("kvbench experiment: waitpid");
        return 1;
    }
    if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)
        return 0;
    fprintf(stderr,
            "kvbench experiment: the writer process %s %d, not SIGKILL\n",
            WIFEXITED(st) ? "exited with status" : "died of signal",
            WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
    return 1;
}

/*
 * The writer of load and crash-cycle, in a child process: open dir with
 * eng, commit batches of random puts until `target` log bytes have been
 * written by this process (stop_since_ckpt 0) or until the log since the
 * last checkpoint reaches `target` (stop_since_ckpt 1), sync the log and
 * die by SIGKILL, so that nothing a clean close would do happens.  On an
 * error it exits with status 1 after a message.  Never returns.
 */
static void bexp_writer(const struct bexp_opts *o, const cl_options *eng,
                        uint64_t target, int stop_since_ckpt, uint64_t seed)
{
    cl_db *db = NULL;
    cl_batch *b = NULL;
    char *val = malloc(o->value_size + 1);
    rng rs = {seed};
    cl_stats st;
    int rc;

    if (val == NULL)
        _exit(1);
    if ((rc = cl_open(o->dir, eng, &db)) != 0) {
        bexp_fail("open (writer)", rc);
        _exit(1);
    }
    if ((rc = cl_batch_new(&b)) != 0)
        goto fail;
    if (stop_since_ckpt) {
        /* A tree of every key first, then a checkpoint: the log to replay
         * is then overwrites of an existing tree, not its creation. */
        char key[32];
        memset(val, 'p', o->value_size);
        for (uint64_t k = 0; k < o->keys; k++) {
            int klen = snprintf(key, sizeof(key), "k%012" PRIu64, k);
            if ((rc = cl_batch_put(b, key, (size_t)klen, val, o->value_size)) !=
                0)
                goto fail;
            if (cl_batch_count(b) == 1000 || k + 1 == o->keys) {
                if ((rc = cl_commit(db, b, NULL)) != 0)
                    goto fail;
                cl_batch_clear(b);
            }
        }
        if ((rc = cl_checkpoint(db)) != 0)
            goto fail;
    }
    if ((rc = cl_stats_get(db, &st)) != 0)
        goto fail;
    /* Progress comes from the commits' LSNs (log byte positions): a stats
     * call per commit would cost more than the commit. */
    uint64_t base = stop_since_ckpt ? st.checkpoint_lsn : st.written_lsn;
    uint64_t lsn = st.written_lsn, records0 = st.wal_records;
    while (lsn - base < target) {
        if ((rc = bexp_fill_batch(o, b, &rs, val)) != 0)
            goto fail;
        if ((rc = cl_commit(db, b, &lsn)) != 0)
            goto fail;
    }
    if ((rc = cl_sync(db)) != 0)
        goto fail;
    if ((rc = cl_stats_get(db, &st)) != 0)
        goto fail;
    if (stop_since_ckpt)
        printf("%" PRIu64 ",%" PRIu64 "\n", st.wal_since_ckpt,
               st.wal_records - records0);
    fflush(stdout);
    /* The crash: no close, no final sync, no checkpoint. */
    kill(getpid(), SIGKILL);
    _exit(1);
fail:
    bexp_fail("writer", rc);
    _exit(1);
}

/* Run bexp_writer in a child and wait for its death.  Returns 0 or 1. */
static int bexp_run_writer(const struct bexp_opts *o, const cl_options *eng,
                           uint64_t target, int stop_since_ckpt, uint64_t seed)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        perror("kvbench experiment: fork");
        return 1;
    }
    if (pid == 0)
        bexp_writer(o, eng, target, stop_since_ckpt, seed);
    return bexp_reap(pid);
}

/* Open (recovering) and close dir; OUT rep: what recovery did.  The close
 * leaves the log (no checkpoint): what is measured is the open, and the
 * next crash of a cycle starts from the state the crash left. */
static int bexp_recover(const struct bexp_opts *o, cl_recovery *rep)
{
    cl_db *db = NULL;
    cl_options eng = o->eng;
    int rc;

    eng.no_create = 1;
    eng.no_close_checkpoint = 1;
    if ((rc = cl_open(o->dir, &eng, &db)) != 0) {
        bexp_fail("open (recovery)", rc);
        return 1;
    }
    rc = cl_recovery_report(db, rep);
    int crc = cl_close(db);
    if (rc != 0 || crc != 0) {
        bexp_fail("recovery report or close", rc != 0 ? rc : crc);
        return 1;
    }
    return 0;
}

static int bexp_cmd_load(const struct bexp_opts *o)
{
    cl_options eng = o->eng;
    eng.sync = CL_SYNC_OFF;
    eng.checkpoint_bytes = CL_CHECKPOINT_NEVER;
    if (o->wal_bytes == 0) {
        fprintf(stderr, "kvbench experiment: load needs --wal-bytes\n");
        return 2;
    }
    return bexp_run_writer(o, &eng, o->wal_bytes, 1, o->seed);
}

static int bexp_cmd_recover(const struct bexp_opts *o)
{
    cl_recovery rep;
    if (bexp_recover(o, &rep) != 0)
        return 1;
    printf("%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 "\n", rep.usec,
           rep.records, rep.bytes,
           rep.pages_repaired_fpi + rep.pages_repaired_dwb);
    return 0;
}

static int bexp_cmd_put_rate(const struct bexp_opts *o)
{
    cl_db *db = NULL;
    cl_batch *b = NULL;
    char *val = malloc(o->value_size + 1);
    rng rs = {o->seed};
    uint64_t puts = 0;
    cl_stats st;
    int rc;

    if (val == NULL)
        return 1;
    if ((rc = cl_open(o->dir, &o->eng, &db)) != 0)
        goto fail;
    if ((rc = cl_batch_new(&b)) != 0)
        goto fail;
    double t0 = bexp_now(), t;
    do {
        if ((rc = bexp_fill_batch(o, b, &rs, val)) != 0)
            goto fail;
        if ((rc = cl_commit(db, b, NULL)) != 0)
            goto fail;
        puts += o->batch;
        t = bexp_now() - t0;
    } while (t < o->seconds);
    if ((rc = cl_stats_get(db, &st)) != 0)
        goto fail;
    printf("%" PRIu64 ",%.3f,%" PRIu64 ",%" PRIu64 "\n", puts, t,
           st.checkpoints, st.wal_syncs);
    cl_batch_free(b);
    free(val);
    return cl_close(db) == 0 ? 0 : 1;
fail:
    bexp_fail("put-rate", rc);
    cl_batch_free(b);
    free(val);
    if (db != NULL)
        cl_close(db);
    return 1;
}

static int bexp_cmd_crash_cycle(const struct bexp_opts *o)
{
    rng rs = {o->seed};
    cl_options eng = o->eng;
    /* The writer does not wait for fsyncs: what recovery has to do
     * depends on the log since the checkpoint, not on how it was synced,
     * and the kills come sooner. */
    eng.sync = CL_SYNC_OFF;
    for (unsigned t = 0; t < o->trials; t++) {
        uint64_t target =
            eng.checkpoint_bytes + rng_next(&rs) % eng.checkpoint_bytes;
        if (bexp_run_writer(o, &eng, target, 0, rng_next(&rs)) != 0)
            return 1;
        cl_recovery rep;
        if (bexp_recover(o, &rep) != 0)
            return 1;
        printf("%u,%" PRIu64 ",%" PRIu64 ",%" PRIu64 "\n", t, rep.usec,
               rep.records, rep.bytes);
        fflush(stdout);
    }
    return 0;
}

/* One writer thread of the writers command. */
struct bexp_thread {
    pthread_t tid;
    const struct bexp_opts *o;
    cl_db *db;
    unsigned id;
    const volatile int *stop;
    uint64_t puts;
    int rc;
};

static void *bexp_writer_thread(void *arg)
{
    struct bexp_thread *w = arg;
    char key[32], val[256];
    size_t vlen =
        w->o->value_size < sizeof(val) ? w->o->value_size : sizeof(val);
    memset(val, 'v', vlen);
    while (!__atomic_load_n(w->stop, __ATOMIC_RELAXED)) {
        int klen =
            snprintf(key, sizeof(key), "t%02u-%012" PRIu64, w->id, w->puts);
        w->rc = cl_put(w->db, key, (size_t)klen, val, vlen);
        if (w->rc != 0)
            break;
        w->puts++;
    }
    return NULL;
}

static int bexp_cmd_writers(const struct bexp_opts *o)
{
    cl_db *db = NULL;
    struct bexp_thread *w = calloc(o->threads, sizeof(*w));
    volatile int stop = 0;
    cl_stats st0, st;
    unsigned started = 0;
    int rc, failed = 0;

    if (w == NULL)
        return 1;
    if ((rc = cl_open(o->dir, &o->eng, &db)) != 0) {
        bexp_fail("open", rc);
        free(w);
        return 1;
    }
    if ((rc = cl_stats_get(db, &st0)) != 0)
        goto out;
    double t0 = bexp_now();
    for (; started < o->threads; started++) {
        w[started] = (struct bexp_thread){
            .o = o, .db = db, .id = started, .stop = &stop};
        if (pthread_create(&w[started].tid, NULL, bexp_writer_thread,
                           &w[started]) != 0) {
            fprintf(stderr, "kvbench experiment: pthread_create failed\n");
            failed = 1;
            break;
        }
    }
    while (!failed && bexp_now() - t0 < o->seconds)
        usleep(10000);
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    uint64_t puts = 0;
    for (unsigned i = 0; i < started; i++) {
        pthread_join(w[i].tid, NULL);
        puts += w[i].puts;
        if (w[i].rc != 0) {
            bexp_fail("put", w[i].rc);
            failed = 1;
        }
    }
    double t = bexp_now() - t0;
    if ((rc = cl_stats_get(db, &st)) != 0)
        goto out;
    if (!failed)
        printf("%" PRIu64 ",%.3f,%" PRIu64 "\n", puts, t,
               st.wal_syncs - st0.wal_syncs);
out:
    if (rc != 0)
        bexp_fail("stats", rc);
    int crc = cl_close(db);
    free(w);
    return rc != 0 || crc != 0 || failed ? 1 : 0;
}

/* The disk's limit for durable appends (bench_raw, as kvbench --raw). */
static int bexp_cmd_raw(const struct bexp_opts *o)
{
    bench_result r;

    if ((errno = fs_mkdirs(o->dir)) != 0) {
        perror(o->dir);
        return 1;
    }
    if (bench_raw(o->dir, UINT64_MAX, o->seconds, &r) != 0) {
        fprintf(stderr, "kvbench experiment: raw: %s\n", bench_errmsg());
        return 1;
    }
    printf("%" PRIu64 ",%.3f\n", r.ops, r.seconds);
    return 0;
}

/* One open and close of o->dir (no_create: an existing database). */
static int bexp_open_close(const struct bexp_opts *o, int no_create)
{
    cl_options eng = o->eng;
    cl_db *db = NULL;
    int rc;

    eng.no_create = no_create;
    if ((rc = cl_open(o->dir, &eng, &db)) != 0) {
        bexp_fail("open", rc);
        return 1;
    }
    if ((rc = cl_close(db)) != 0) {
        bexp_fail("close", rc);
        return 1;
    }
    return 0;
}

/* fork, open-close and fork-open: as many rounds as --seconds allow of
 * a fork (with open, as an open and close in the child; without, a child
 * that exits at once) or of an open and close in this process.  The
 * database is created first. */
static int bexp_cmd_rounds(const struct bexp_opts *o, int fork_each,
                           int open_each)
{
    uint64_t n = 0;
    double t0, t;

    if (open_each && bexp_open_close(o, 0) != 0)
        return 1;
    t0 = bexp_now();
    do {
        if (fork_each) {
            int st;
            pid_t pid = fork();
            if (pid < 0) {
                perror("kvbench experiment: fork");
                return 1;
            }
            if (pid == 0)
                _exit(open_each ? bexp_open_close(o, 1) : 0);
            if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) ||
                WEXITSTATUS(st) != 0) {
                fprintf(stderr, "kvbench experiment: a child failed\n");
                return 1;
            }
        } else if (bexp_open_close(o, 1) != 0) {
            return 1;
        }
        n++;
    } while ((t = bexp_now() - t0) < o->seconds);
    printf("%" PRIu64 ",%.3f\n", n, t);
    return 0;
}

/* Parse the options after COMMAND DIR into o.  Returns 0, or -1 after a
 * message saying which option is wrong. */
static int bexp_parse(int argc, char **argv, struct bexp_opts *o)
{
    enum {
        O_TORN = 256,
        O_SYNC,
        O_CKPT,
        O_CKPT_MODE,
        O_WAL,
        O_KEYS,
        O_VSIZE,
        O_BATCH,
        O_THREADS,
        O_SECONDS,
        O_TRIALS,
        O_SEED,
    };
    static const struct option longopts[] = {
        {"torn-protection", required_argument, NULL, O_TORN},
        {"sync", required_argument, NULL, O_SYNC},
        {"checkpoint-bytes", required_argument, NULL, O_CKPT},
        {"checkpoint-mode", required_argument, NULL, O_CKPT_MODE},
        {"wal-bytes", required_argument, NULL, O_WAL},
        {"keys", required_argument, NULL, O_KEYS},
        {"value-size", required_argument, NULL, O_VSIZE},
        {"batch", required_argument, NULL, O_BATCH},
        {"threads", required_argument, NULL, O_THREADS},
        {"seconds", required_argument, NULL, O_SECONDS},
        {"trials", required_argument, NULL, O_TRIALS},
        {"seed", required_argument, NULL, O_SEED},
        {NULL, 0, NULL, 0},
    };
    const char *bad = NULL;
    uint64_t v;
    int c;

    if (argc < 3 || argv[1][0] == '-' || argv[2][0] == '-') {
        fprintf(stderr, "kvbench experiment: COMMAND and DIR come first\n");
        return -1;
    }
    o->cmd = argv[1];
    o->dir = argv[2];
    optind = 3;
    while (bad == NULL &&
           (c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case O_TORN:
            if (cl_torn_parse(optarg, &o->eng.torn) != 0)
                bad = "--torn-protection: none, fpw or dwb";
            break;
        case O_SYNC:
            if (cl_sync_parse(optarg, &o->eng.sync) != 0)
                bad = "--sync: off, commit, group or periodic";
            break;
        case O_CKPT:
            if (num_parse_size(optarg, &o->eng.checkpoint_bytes) != 0 ||
                o->eng.checkpoint_bytes == 0)
                bad = "--checkpoint-bytes needs a byte count above 0";
            break;
        case O_CKPT_MODE:
            if (cl_ckpt_parse(optarg, &o->eng.checkpoint_mode) != 0)
                bad = "--checkpoint-mode: inline, spread or background";
            break;
        case O_WAL:
            if (num_parse_size(optarg, &o->wal_bytes) != 0)
                bad = "--wal-bytes needs a byte count";
            break;
        case O_KEYS:
            if (num_parse_u64(optarg, 10, &o->keys) != 0 || o->keys == 0)
                bad = "--keys needs a number above 0";
            break;
        case O_SEED:
            if (num_parse_u64(optarg, 0, &o->seed) != 0)
                bad = "--seed needs a number";
            break;
        case O_VSIZE:
            if (num_parse_u64(optarg, 10, &v) != 0 || v == 0 ||
                v > CL_VALUE_MAX)
                bad = "--value-size needs a number in 1..CL_VALUE_MAX";
            else
                o->value_size = (size_t)v;
            break;
        case O_BATCH:
            if (num_parse_u64(optarg, 10, &v) != 0 || v == 0 || v > 1000000)
                bad = "--batch needs a number in 1..1000000";
            else
                o->batch = (unsigned)v;
            break;
        case O_THREADS:
            if (num_parse_u64(optarg, 10, &v) != 0 || v == 0 || v > 1024)
                bad = "--threads needs a number in 1..1024";
            else
                o->threads = (unsigned)v;
            break;
        case O_TRIALS:
            if (num_parse_u64(optarg, 10, &v) != 0 || v == 0 || v > 1000000)
                bad = "--trials needs a number in 1..1000000";
            else
                o->trials = (unsigned)v;
            break;
        case O_SECONDS:
            if (num_parse_double(optarg, &o->seconds) != 0 || o->seconds <= 0)
                bad = "--seconds needs a number above 0";
            break;
        default:
            bad = "unknown option";
        }
    }
    if (bad == NULL && optind < argc)
        bad = "unexpected argument";
    if (bad != NULL) {
        fprintf(stderr, "kvbench experiment: %s\n", bad);
        return -1;
    }
    return 0;
}

int bench_experiment_main(int argc, char **argv)
{
    struct bexp_opts o = {
        .eng = {.checkpoint_bytes = 64ULL << 20},
        .keys = 100000,
        .value_size = 100,
        .batch = 100,
        .threads = 1,
        .seconds = 2,
        .trials = 10,
        .seed = 1,
    };
    if (argc == 2 &&
        (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(bexp_usage_text, stdout);
        return 0;
    }
    if (bexp_parse(argc, argv, &o) != 0) {
        fputs(bexp_usage_text, stderr);
        return 2;
    }
    if (strcmp(o.cmd, "load") == 0)
        return bexp_cmd_load(&o);
    if (strcmp(o.cmd, "recover") == 0)
        return bexp_cmd_recover(&o);
    if (strcmp(o.cmd, "put-rate") == 0)
        return bexp_cmd_put_rate(&o);
    if (strcmp(o.cmd, "crash-cycle") == 0)
        return bexp_cmd_crash_cycle(&o);
    if (strcmp(o.cmd, "writers") == 0)
        return bexp_cmd_writers(&o);
    if (strcmp(o.cmd, "raw") == 0)
        return bexp_cmd_raw(&o);
    if (strcmp(o.cmd, "fork") == 0)
        return bexp_cmd_rounds(&o, 1, 0);
    if (strcmp(o.cmd, "open-close") == 0)
        return bexp_cmd_rounds(&o, 0, 1);
    if (strcmp(o.cmd, "fork-open") == 0)
        return bexp_cmd_rounds(&o, 1, 1);
    if (strcmp(o.cmd, "syscalls") == 0)
        return bench_syscalls(o.dir, o.seconds);
    if (strcmp(o.cmd, "io-tables") == 0)
        return bench_iotables(o.dir, o.seconds);
    fputs(bexp_usage_text, stderr);
    return 2;
}
