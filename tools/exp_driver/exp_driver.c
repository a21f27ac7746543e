/*
 * exp_driver - the measurements behind the experiment scripts
 * (experiments/) that no other tool makes: a crashed database with a chosen
 * amount of log to replay, the time recovery takes on it, put throughput
 * under a checkpoint interval, recovery after kills at random points of the
 * checkpoint cycle, durable puts from several threads in one sync mode, and
 * the disk's raw append + fdatasync rate.  Each command prints CSV rows (no
 * header) on stdout; the scripts put the header and the machine notes
 * around them.
 *
 * Usage: exp_driver COMMAND DIR [options]   (exp_driver --help)
 * Exit status: 0 ok, 1 a measurement failed (the message says which), 2
 * usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crashlab.h"

static const char *exd_usage_text =
    "usage: exp_driver COMMAND DIR [options]\n"
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
    "  crash-cycle --trials times: a writer process puts batches until it\n"
    "              has written a random amount of log, uniform in\n"
    "              [0, --checkpoint-bytes), and is SIGKILLed; then the\n"
    "              database is recovered; prints one row per trial:\n"
    "              trial,usec,records,bytes\n"
    "  writers     --threads threads each put their own keys one durable\n"
    "              put at a time for --seconds on a new database; prints\n"
    "              puts,seconds,wal_syncs\n"
    "  raw         4 KiB appends, each followed by fdatasync, for --seconds;\n"
    "              prints syncs,seconds\n"
    "\n"
    "options:\n"
    "  --torn-protection M  none | fpw | dwb (default fpw)\n"
    "  --sync M             off | commit | group | periodic (default group)\n"
    "  --checkpoint-bytes N automatic checkpoint interval (default 64 MiB)\n"
    "  --wal-bytes N        load: log bytes after the last checkpoint\n"
    "  --keys K             random keys are drawn from K (default 100000)\n"
    "  --value-size V       value bytes (default 100)\n"
    "  --batch B            puts per commit (default 100)\n"
    "  --threads T          writers: threads (default 1)\n"
    "  --seconds S          put-rate, writers, raw: duration (default 2)\n"
    "  --trials N           crash-cycle: trials (default 10)\n"
    "  --seed S             random keys and kill points (default 1)\n";

/* Options of every command; each uses the ones it names. */
struct exd_opts {
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

static double exd_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* xorshift64*: deterministic keys and kill points from --seed. */
static uint64_t exd_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1DULL;
}

static void exd_fail(const char *what, int rc)
{
    const char *d = cl_errdetail();
    fprintf(stderr, "exp_driver: %s: %s%s%s\n", what, cl_strerror(rc),
            d[0] ? ": " : "", d);
}

/* Fill b with o->batch puts of random keys "k<12 digits>" and random
 * values of o->value_size bytes.  Returns 0 or an engine
 * error. */
static int exd_fill_batch(const struct exd_opts *o, cl_batch *b, uint64_t *rs,
                          char *val)
{
    char key[32];
    cl_batch_clear(b);
    for (unsigned i = 0; i < o->batch; i++) {
        uint64_t k = exd_rand(rs) % o->keys;
        int klen = snprintf(key, sizeof(key), "k%012" PRIu64, k);
        /* A fresh value each time: the engine logs nothing for a put
         * that does not change the value. */
        uint64_t stamp = exd_rand(rs);
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
static int exd_reap(pid_t pid)
{
    int st;
    if (waitpid(pid, &st, 0) < 0) {
        perror("exp_driver: waitpid");
        return 1;
    }
    if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)
        return 0;
    fprintf(stderr, "exp_driver: the writer process %s %d, not SIGKILL\n",
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
static void exd_writer(const struct exd_opts *o, const cl_options *eng,
                       uint64_t target, int stop_since_ckpt, uint64_t seed)
{
    cl_db *db = NULL;
    cl_batch *b = NULL;
    char *val = malloc(o->value_size + 1);
    uint64_t rs = seed | 1;
    cl_stats st;
    int rc;

    if (val == NULL)
        _exit(1);
    if ((rc = cl_open(o->dir, eng, &db)) != 0) {
        exd_fail("open (writer)", rc);
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
        if ((rc = exd_fill_batch(o, b, &rs, val)) != 0)
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
    exd_fail("writer", rc);
    _exit(1);
}

/* Run exd_writer in a child and wait for its death.  Returns 0 or 1. */
static int exd_run_writer(const struct exd_opts *o, const cl_options *eng,
                          uint64_t target, int stop_since_ckpt, uint64_t seed)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        perror("exp_driver: fork");
        return 1;
    }
    if (pid == 0)
        exd_writer(o, eng, target, stop_since_ckpt, seed);
    return exd_reap(pid);
}

/* Open (recovering) and close dir; OUT rep: what recovery did. */
static int exd_recover(const struct exd_opts *o, cl_recovery *rep)
{
    cl_db *db = NULL;
    cl_options eng = o->eng;
    int rc;

    eng.no_create = 1;
    if ((rc = cl_open(o->dir, &eng, &db)) != 0) {
        exd_fail("open (recovery)", rc);
        return 1;
    }
    rc = cl_recovery_report(db, rep);
    int crc = cl_close(db);
    if (rc != 0 || crc != 0) {
        exd_fail("recovery report or close", rc != 0 ? rc : crc);
        return 1;
    }
    return 0;
}

static int exd_cmd_load(const struct exd_opts *o)
{
    cl_options eng = o->eng;
    eng.sync = CL_SYNC_OFF;
    eng.checkpoint_bytes = CL_CHECKPOINT_NEVER;
    if (o->wal_bytes == 0) {
        fprintf(stderr, "exp_driver: load needs --wal-bytes\n");
        return 2;
    }
    return exd_run_writer(o, &eng, o->wal_bytes, 1, o->seed);
}

static int exd_cmd_recover(const struct exd_opts *o)
{
    cl_recovery rep;
    if (exd_recover(o, &rep) != 0)
        return 1;
    printf("%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 "\n", rep.usec,
           rep.records, rep.bytes,
           rep.pages_repaired_fpi + rep.pages_repaired_dwb);
    return 0;
}

static int exd_cmd_put_rate(const struct exd_opts *o)
{
    cl_db *db = NULL;
    cl_batch *b = NULL;
    char *val = malloc(o->value_size + 1);
    uint64_t rs = o->seed | 1, puts = 0;
    cl_stats st;
    int rc;

    if (val == NULL)
        return 1;
    if ((rc = cl_open(o->dir, &o->eng, &db)) != 0)
        goto fail;
    if ((rc = cl_batch_new(&b)) != 0)
        goto fail;
    double t0 = exd_now(), t;
    do {
        if ((rc = exd_fill_batch(o, b, &rs, val)) != 0)
            goto fail;
        if ((rc = cl_commit(db, b, NULL)) != 0)
            goto fail;
        puts += o->batch;
        t = exd_now() - t0;
    } while (t < o->seconds);
    if ((rc = cl_stats_get(db, &st)) != 0)
        goto fail;
    printf("%" PRIu64 ",%.3f,%" PRIu64 ",%" PRIu64 "\n", puts, t,
           st.checkpoints, st.wal_syncs);
    cl_batch_free(b);
    free(val);
    return cl_close(db) == 0 ? 0 : 1;
fail:
    exd_fail("put-rate", rc);
    cl_batch_free(b);
    free(val);
    if (db != NULL)
        cl_close(db);
    return 1;
}

static int exd_cmd_crash_cycle(const struct exd_opts *o)
{
    uint64_t rs = o->seed | 1;
    cl_options eng = o->eng;
    /* The writer does not wait for fsyncs: what recovery has to do
     * depends on the log since the checkpoint, not on how it was synced,
     * and the kills come sooner. */
    eng.sync = CL_SYNC_OFF;
    for (unsigned t = 0; t < o->trials; t++) {
        uint64_t target = exd_rand(&rs) % eng.checkpoint_bytes;
        if (exd_run_writer(o, &eng, target, 0, exd_rand(&rs)) != 0)
            return 1;
        cl_recovery rep;
        if (exd_recover(o, &rep) != 0)
            return 1;
        printf("%u,%" PRIu64 ",%" PRIu64 ",%" PRIu64 "\n", t, rep.usec,
               rep.records, rep.bytes);
        fflush(stdout);
    }
    return 0;
}

/* One writer thread of the writers command. */
struct exd_thread {
    pthread_t tid;
    const struct exd_opts *o;
    cl_db *db;
    unsigned id;
    const volatile int *stop;
    uint64_t puts;
    int rc;
};

static void *exd_writer_thread(void *arg)
{
    struct exd_thread *w = arg;
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

static int exd_cmd_writers(const struct exd_opts *o)
{
    cl_db *db = NULL;
    struct exd_thread *w = calloc(o->threads, sizeof(*w));
    volatile int stop = 0;
    cl_stats st0, st;
    unsigned started = 0;
    int rc, failed = 0;

    if (w == NULL)
        return 1;
    if ((rc = cl_open(o->dir, &o->eng, &db)) != 0) {
        exd_fail("open", rc);
        free(w);
        return 1;
    }
    if ((rc = cl_stats_get(db, &st0)) != 0)
        goto out;
    double t0 = exd_now();
    for (; started < o->threads; started++) {
        w[started] =
            (struct exd_thread){.o = o, .db = db, .id = started, .stop = &stop};
        if (pthread_create(&w[started].tid, NULL, exd_writer_thread,
                           &w[started]) != 0) {
            fprintf(stderr, "exp_driver: pthread_create failed\n");
            failed = 1;
            break;
        }
    }
    while (!failed && exd_now() - t0 < o->seconds)
        usleep(10000);
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    uint64_t puts = 0;
    for (unsigned i = 0; i < started; i++) {
        pthread_join(w[i].tid, NULL);
        puts += w[i].puts;
        if (w[i].rc != 0) {
            exd_fail("put", w[i].rc);
            failed = 1;
        }
    }
    double t = exd_now() - t0;
    if ((rc = cl_stats_get(db, &st)) != 0)
        goto out;
    if (!failed)
        printf("%" PRIu64 ",%.3f,%" PRIu64 "\n", puts, t,
               st.wal_syncs - st0.wal_syncs);
out:
    if (rc != 0)
        exd_fail("stats", rc);
    int crc = cl_close(db);
    free(w);
    return rc != 0 || crc != 0 || failed ? 1 : 0;
}

/* The disk's limit for durable appends: 4 KiB written at the end of a
 * file, then fdatasync, again and again (what a one-record-per-commit log
 * costs at best). */
static int exd_cmd_raw(const struct exd_opts *o)
{
    char path[4096], buf[4096];
    uint64_t syncs = 0;
    memset(buf, 'r', sizeof(buf));
    if (mkdir(o->dir, 0755) != 0 && errno != EEXIST) {
        perror(o->dir);
        return 1;
    }
    snprintf(path, sizeof(path), "%s/raw-append", o->dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
    if (fd < 0) {
        perror(path);
        return 1;
    }
    double t0 = exd_now(), t;
    do {
        if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf) ||
            fdatasync(fd) != 0) {
            perror(path);
            close(fd);
            return 1;
        }
        syncs++;
        t = exd_now() - t0;
    } while (t < o->seconds);
    close(fd);
    unlink(path);
    printf("%" PRIu64 ",%.3f\n", syncs, t);
    return 0;
}

/* Parse a byte count with an optional K, M or G suffix (powers of 1024). */
static int exd_parse_bytes(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s)
        return -1;
    switch (*end) {
    case 'K':
        v <<= 10;
        end++;
        break;
    case 'M':
        v <<= 20;
        end++;
        break;
    case 'G':
        v <<= 30;
        end++;
        break;
    }
    if (*end != '\0')
        return -1;
    *out = v;
    return 0;
}

static int exd_parse(int argc, char **argv, struct exd_opts *o)
{
    uint64_t v;
    if (argc < 3)
        return -1;
    o->cmd = argv[1];
    o->dir = argv[2];
    for (int i = 3; i < argc; i++) {
        const char *name = argv[i];
        if (i + 1 >= argc)
            return -1;
        const char *arg = argv[++i];
        if (strcmp(name, "--torn-protection") == 0) {
            if (cl_torn_parse(arg, &o->eng.torn) != 0)
                return -1;
        } else if (strcmp(name, "--sync") == 0) {
            if (cl_sync_parse(arg, &o->eng.sync) != 0)
                return -1;
        } else if (strcmp(name, "--checkpoint-bytes") == 0) {
            if (exd_parse_bytes(arg, &o->eng.checkpoint_bytes) != 0 ||
                o->eng.checkpoint_bytes == 0)
                return -1;
        } else if (strcmp(name, "--wal-bytes") == 0) {
            if (exd_parse_bytes(arg, &o->wal_bytes) != 0)
                return -1;
        } else if (strcmp(name, "--keys") == 0) {
            if (exd_parse_bytes(arg, &o->keys) != 0 || o->keys == 0)
                return -1;
        } else if (strcmp(name, "--seed") == 0) {
            if (exd_parse_bytes(arg, &o->seed) != 0)
                return -1;
        } else if (strcmp(name, "--value-size") == 0 ||
                   strcmp(name, "--batch") == 0 ||
                   strcmp(name, "--threads") == 0 ||
                   strcmp(name, "--trials") == 0) {
            if (exd_parse_bytes(arg, &v) != 0 || v == 0 || v > 1000000)
                return -1;
            if (name[2] == 'v')
                o->value_size = (size_t)v;
            else if (name[2] == 'b')
                o->batch = (unsigned)v;
            else if (name[3] == 'h')
                o->threads = (unsigned)v;
            else
                o->trials = (unsigned)v;
        } else if (strcmp(name, "--seconds") == 0) {
            char *end;
            o->seconds = strtod(arg, &end);
            if (*end != '\0' || o->seconds <= 0)
                return -1;
        } else {
            return -1;
        }
    }
    if (o->value_size > CL_VALUE_MAX)
        return -1;
    return 0;
}

int main(int argc, char **argv)
{
    struct exd_opts o = {
        .eng = {.checkpoint_bytes = 64ULL << 20},
        .keys = 100000,
        .value_size = 100,
        .batch = 100,
        .threads = 1,
        .seconds = 2,
        .trials = 10,
        .seed = 1,
    };
    if (argc >= 2 &&
        (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(exd_usage_text, stdout);
        return 0;
    }
    if (exd_parse(argc, argv, &o) != 0) {
        fputs(exd_usage_text, stderr);
        return 2;
    }
    if (strcmp(o.cmd, "load") == 0)
        return exd_cmd_load(&o);
    if (strcmp(o.cmd, "recover") == 0)
        return exd_cmd_recover(&o);
    if (strcmp(o.cmd, "put-rate") == 0)
        return exd_cmd_put_rate(&o);
    if (strcmp(o.cmd, "crash-cycle") == 0)
        return exd_cmd_crash_cycle(&o);
    if (strcmp(o.cmd, "writers") == 0)
        return exd_cmd_writers(&o);
    if (strcmp(o.cmd, "raw") == 0)
        return exd_cmd_raw(&o);
    fputs(exd_usage_text, stderr);
    return 2;
}
