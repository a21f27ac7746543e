/*
 * bench_child.c - the scenarios that need fresh processes: recovery after
 * kill -9, and peak memory.
 *
 * Recovery: a writer process (kvbench --recovery-writer) puts n keys in
 * durable batches with checkpoints (memtable flushes, WAL checkpoints)
 * postponed, tells the parent it is done through a pipe, and waits; the
 * parent SIGKILLs it.  A second fresh process (kvbench --recovery-reader)
 * times open (which recovers) plus one read, then reads every key back and
 * checks it; it prints "<open ns> <found> <corrupt>".  Both are exec'd
 * copies of kvbench, so no engine state (RocksDB's thread pools, say)
 * crosses a fork.
 *
 * Recovery with default checkpoints (recovery-ckpt): the same, trial after
 * trial, each writer keeping the engine's default checkpoint interval and
 * killed after a random number of puts (1..n), so that the crash falls
 * anywhere in the checkpoint cycle; the latencies are the recoveries, and
 * their p99 is the number to read.
 *
 * Memory: a fresh process (kvbench --memory-child) loads p->keys keys in
 * batches of 100 with sync off (more data than the cache, so the cache
 * fills and evicts), reopens (recovering the log since the last
 * checkpoint), does p->n random verified gets, and prints "<peak RSS KiB>
 * <RSS KiB before the open>" (getrusage and /proc/self/statm): their
 * difference is what the engine added.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

int bench_recovery_run(const bench_engine *e, const bench_params *p,
                       bench_result *r);
int bench_memory_run(const bench_engine *e, const bench_params *p,
                     bench_result *r);
int bench_spawn_child(const bench_engine *e, const bench_params *p,
                      const char *mode, int fd_arg, int out_fd, pid_t *pid);
int bench_recovery_ckpt_run(const bench_engine *e, const bench_params *p,
                            bench_result *r);

/* Start "self MODE --engine ... " with stdout on out_fd (if >= 0) and the
 * number fd_arg (if >= 0) passed as --notify-fd.  OUT: *pid. */
int bench_spawn_child(const bench_engine *e, const bench_params *p,
                      const char *mode, int fd_arg, int out_fd, pid_t *pid)
{
    char n[32], keys[32], batch[32], vsize[32], seed[32], cache[32], fd[32];
    char *argv[32];
    int a = 0;
    pid_t c;

    snprintf(n, sizeof(n), "%llu", (unsigned long long)p->n);
    snprintf(keys, sizeof(keys), "%llu", (unsigned long long)p->keys);
    snprintf(batch, sizeof(batch), "%u", p->batch);
    snprintf(vsize, sizeof(vsize), "%zu", p->vsize);
    snprintf(seed, sizeof(seed), "%llu", (unsigned long long)p->seed);
    snprintf(cache, sizeof(cache), "%llu", (unsigned long long)p->cache_bytes);
    snprintf(fd, sizeof(fd), "%d", fd_arg);
    argv[a++] = (char *)p->self;
    argv[a++] = (char *)mode;
    argv[a++] = "--engine";
    argv[a++] = (char *)e->name;
    argv[a++] = "--dir";
    argv[a++] = (char *)p->dir;
    argv[a++] = "--ops";
    argv[a++] = n;
    argv[a++] = "--keys";
    argv[a++] = keys;
    argv[a++] = "--batch";
    argv[a++] = batch;
    argv[a++] = "--value-size";
    argv[a++] = vsize;
    argv[a++] = "--seed";
    argv[a++] = seed;
    argv[a++] = "--prefix";
    argv[a++] = (char *)p->prefix;
    argv[a++] = "--cache-bytes";
    argv[a++] = cache;
    if (fd_arg >= 0) {
        argv[a++] = "--notify-fd";
        argv[a++] = fd;
    }
    if (p->default_ckpt)
        argv[a++] = "--default-checkpoints";
    if (p->crashlab_opts != NULL) {
        argv[a++] = "--crashlab-options";
        argv[a++] = (char *)p->crashlab_opts;
    }
    argv[a] = NULL;
    fflush(NULL);
    c = fork();
    if (c < 0)
        return bench_err("fork: %s", strerror(errno));
    if (c == 0) {
        if (out_fd >= 0 && dup2(out_fd, STDOUT_FILENO) < 0)
            _exit(126);
        execv(p->self, argv);
        fprintf(stderr, "kvbench: exec %s: %s\n", p->self, strerror(errno));
        _exit(127);
    }
    *pid = c;
    return 0;
}

/* Read what a child writes to fd until EOF, or with line set until the
 * first newline (at most cap - 1 bytes kept). */
static void bench_read_all(int fd, char *buf, size_t cap, int line)
{
    size_t len = 0;

    for (;;) {
        ssize_t k = read(fd, buf + len, cap - 1 - len);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        len += (size_t)k;
        if (len == cap - 1 || (line && memchr(buf, '\n', len) != NULL))
            break;
    }
    buf[len] = '\0';
}

static const char *bench_status_text(int st, char *buf, size_t len)
{
    if (WIFEXITED(st))
        snprintf(buf, len, "exit status %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(buf, len, "killed by signal %d", WTERMSIG(st));
    else
        snprintf(buf, len, "status 0x%x", st);
    return buf;
}

int bench_recovery_run(const bench_engine *e, const bench_params *p,
                       bench_result *r)
{
    unsigned long long open_ns = 0, found = 0, corrupt = 0, rss = 0;
    char out[4096], why[64];
    int pfd[2], st, rc;
    pid_t pid;

    if (p->self == NULL)
        return bench_err("recovery needs the path of kvbench");
    /* 1. the writer, killed once it has acknowledged everything */
    if (pipe(pfd) != 0)
        return bench_err("pipe: %s", strerror(errno));
    rc = bench_spawn_child(e, p, "--recovery-writer", pfd[1], -1, &pid);
    close(pfd[1]);
    if (rc != 0) {
        close(pfd[0]);
        return rc;
    }
    bench_read_all(pfd[0], out, 16, 1);
    close(pfd[0]);
    if (strcmp(out, "ok\n") != 0) {
        waitpid(pid, &st, 0);
        return bench_err("recovery writer failed (%s) before it finished",
                         bench_status_text(st, why, sizeof(why)));
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);

    /* 2. a fresh process recovers, reads, and checks every key */
    if (pipe(pfd) != 0)
        return bench_err("pipe: %s", strerror(errno));
    rc = bench_spawn_child(e, p, "--recovery-reader", -1, pfd[1], &pid);
    close(pfd[1]);
    if (rc != 0) {
        close(pfd[0]);
        return rc;
    }
    bench_read_all(pfd[0], out, sizeof(out), 0);
    close(pfd[0]);
    waitpid(pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 ||
        sscanf(out, "%llu %llu %llu %llu", &open_ns, &found, &corrupt, &rss) !=
            4)
        return bench_err("recovery reader failed (%s)%s%s",
                         bench_status_text(st, why, sizeof(why)),
                         out[0] ? ": " : "", out);
    r->ops = p->n;
    r->peak_rss_kib = rss;
    r->seconds = (double)open_ns / 1e9;
    bench_hist_add(&r->lat, open_ns);
    r->recovered = found;
    r->corrupt = corrupt;
    if (found != p->n || corrupt != 0)
        return bench_err("CORRUPT READ: after recovery %llu of %llu "
                         "acknowledged keys were present and right",
                         found, (unsigned long long)p->n);
    return 0;
}

int bench_recovery_writer(const bench_engine *e, const bench_params *p,
                          int notify_fd)
{
    bench_cfg cfg = {1, !p->default_ckpt, p->cache_bytes, p->crashlab_opts};
    size_t plen = strlen(p->prefix);
    uint32_t *perm = bench_shuffle(p->n, p->seed);
    size_t b = p->batch ? p->batch : 1;
    bench_kv *kv = calloc(b, sizeof(*kv));
    char *keys = malloc(b * BENCH_KEY_MAX);
    uint8_t *vals = malloc(b * (p->vsize + 8));
    void *db = NULL, *th = NULL;
    int rc;

    if (perm == NULL || kv == NULL || keys == NULL || vals == NULL)
        return bench_err("out of memory");
    if ((rc = e->open(p->dir, &cfg, &db)) != 0)
        return rc;
    if ((rc = e->thread_open(db, &th)) != 0)
        return rc;
    for (uint64_t i = 0; i < p->n;) {
        size_t m = 0;
        for (; m < b && i < p->n; m++, i++) {
            char *k = keys + m * BENCH_KEY_MAX;
            uint8_t *v = vals + m * (p->vsize + 8);
            kv[m].k = k;
            kv[m].klen = bench_key(k, p->prefix, plen, perm[i]);
            bench_value(v, p->vsize, p->seed, perm[i]);
            kv[m].v = v;
            kv[m].vlen = p->vsize;
        }
        if ((rc = e->write_batch(th, kv, m)) != 0)
            return rc;
    }
    /* Everything is acknowledged: say so and wait for SIGKILL. */
    if (write(notify_fd, "ok\n", 3) != 3)
        return bench_err("notify: %s", strerror(errno));
    for (;;)
        pause();
}

int bench_recovery_reader(const bench_engine *e, const bench_params *p,
                          uint64_t *open_ns, uint64_t *found, uint64_t *corrupt,
                          uint64_t *peak_rss_kib)
{
    bench_cfg cfg = {1, !p->default_ckpt, p->cache_bytes, p->crashlab_opts};
    char key[BENCH_KEY_MAX];
    uint8_t *buf = malloc(p->vsize + 64);
    size_t vlen;
    void *db = NULL, *th = NULL;
    uint64_t t0, t1;
    int rc;

    if (buf == NULL)
        return bench_err("out of memory");
    t0 = clk_now_ns();
    if ((rc = e->open(p->dir, &cfg, &db)) != 0)
        goto out;
    if ((rc = e->thread_open(db, &th)) != 0)
        goto out;
    rc = e->get(th, key, bench_key(key, p->prefix, strlen(p->prefix), 0), buf,
                p->vsize + 64, &vlen);
    t1 = clk_now_ns();
    e->thread_close(db, th);
    if (rc < 0)
        goto out;
    *open_ns = t1 - t0;
    rc = bench_verify_all(e, db, p, p->n, found, corrupt);
    *peak_rss_kib = bench_peak_rss_kib();
    if (rc != 0 && *corrupt > 0)
        rc = 0; /* reported through the counts */
    if (e->close(db) != 0 && rc == 0)
        rc = -1;
out:
    free(buf);
    return rc;
}

/* Resident set size now, in KiB (0 if unknown). */
static uint64_t bench_rss_now_kib(void)
{
    unsigned long long size = 0, res = 0;
    FILE *f = fopen("/proc/self/statm", "r");

    if (f == NULL)
        return 0;
    if (fscanf(f, "%llu %llu", &size, &res) != 2)
        res = 0;
    fclose(f);
    return res * (uint64_t)sysconf(_SC_PAGESIZE) / 1024;
}

uint64_t bench_peak_rss_kib(void)
{
    struct rusage ru;

    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (uint64_t)ru.ru_maxrss; /* KiB on Linux */
}

int bench_memory_child(const bench_engine *e, const bench_params *p)
{
    bench_cfg cfg = {0, 0, p->cache_bytes, p->crashlab_opts};
    uint64_t start;
    rng s = {p->seed ^ 0x27d4eb2f};
    uint32_t *perm = bench_shuffle(p->keys, p->seed);
    bench_kv kv[100];
    char keys[100][BENCH_KEY_MAX];
    uint8_t *vals = malloc(100 * (p->vsize + 8)), *buf = malloc(p->vsize + 64);
    size_t plen = strlen(p->prefix), vlen;
    void *db = NULL, *th = NULL;
    int rc;

    if (perm == NULL || vals == NULL || buf == NULL)
        return bench_err("out of memory");
    /* what the process holds before the engine: binary, libraries, and
     * kvbench's own key order */
    start = bench_rss_now_kib();
    if ((rc = e->open(p->dir, &cfg, &db)) != 0 ||
        (rc = e->thread_open(db, &th)) != 0)
        return rc;
    for (uint64_t i = 0; i < p->keys;) {
        size_t m = 0;
        for (; m < 100 && i < p->keys; m++, i++) {
            uint8_t *v = vals + m * (p->vsize + 8);
            kv[m].k = keys[m];
            kv[m].klen = bench_key(keys[m], p->prefix, plen, perm[i]);
            bench_value(v, p->vsize, p->seed, perm[i]);
            kv[m].v = v;
            kv[m].vlen = p->vsize;
        }
        if ((rc = e->write_batch(th, kv, m)) != 0)
            return rc;
    }
    e->thread_close(db, th);
    if ((rc = e->close(db)) != 0 || (rc = e->open(p->dir, &cfg, &db)) != 0 ||
        (rc = e->thread_open(db, &th)) != 0)
        return rc;
    for (uint64_t i = 0; i < p->n; i++) {
        uint64_t kn = rng_next(&s) % p->keys;
        char key[BENCH_KEY_MAX];
        rc = e->get(th, key, bench_key(key, p->prefix, plen, kn), buf,
                    p->vsize + 64, &vlen);
        if (rc < 0)
            return rc;
        if (rc == 1)
            return bench_err("CORRUPT READ: key number %llu is missing",
                             (unsigned long long)kn);
        if (bench_check(buf, vlen, p->vsize, p->seed, kn) != 0)
            return bench_err("CORRUPT READ: %s", bench_errmsg());
    }
    e->thread_close(db, th);
    if ((rc = e->close(db)) != 0)
        return rc;
    printf("%llu %llu\n", (unsigned long long)bench_peak_rss_kib(),
           (unsigned long long)start);
    free(perm);
    free(vals);
    free(buf);
    return 0;
}

int bench_memory_run(const bench_engine *e, const bench_params *p,
                     bench_result *r)
{
    unsigned long long peak = 0, start = 0;
    char out[4096], why[64];
    int pfd[2], st, rc;
    uint64_t t0, t1;
    pid_t pid;

    if (p->self == NULL)
        return bench_err("memory needs the path of kvbench");
    if (pipe(pfd) != 0)
        return bench_err("pipe: %s", strerror(errno));
    t0 = clk_now_ns();
    rc = bench_spawn_child(e, p, "--memory-child", -1, pfd[1], &pid);
    close(pfd[1]);
    if (rc != 0) {
        close(pfd[0]);
        return rc;
    }
    bench_read_all(pfd[0], out, sizeof(out), 0);
    close(pfd[0]);
    waitpid(pid, &st, 0);
    t1 = clk_now_ns();
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 ||
        sscanf(out, "%llu %llu", &peak, &start) != 2)
        return bench_err("memory child failed (%s)%s%s",
                         bench_status_text(st, why, sizeof(why)),
                         out[0] ? ": " : "", out);
    r->ops = p->keys + p->n;
    r->seconds = (double)(t1 - t0) / 1e9;
    r->peak_rss_kib = peak;
    r->start_rss_kib = start;
    return 0;
}

int bench_recovery_ckpt_run(const bench_engine *e, const bench_params *p,
                            bench_result *r)
{
    rng s = {p->seed ^ 0x3c6ef372};
    uint64_t trials = p->trials ? p->trials : 1;
    char dir[4200];
    int rc = 0;

    for (uint64_t t = 0; t < trials && rc == 0; t++) {
        bench_params q = *p;
        bench_result one;
        q.n = 1 + rng_next(&s) % (p->n ? p->n : 1);
        q.default_ckpt = 1;
        q.seed = p->seed + t;
        snprintf(dir, sizeof(dir), "%s/trial-%llu", p->dir,
                 (unsigned long long)t);
        fs_rmrf(dir);
        q.dir = dir;
        memset(&one, 0, sizeof(one));
        rc = bench_recovery_run(e, &q, &one);
        fs_rmrf(dir);
        if (rc == 0) {
            bench_hist_merge(&r->lat, &one.lat);
            r->seconds += one.seconds;
            r->recovered += one.recovered;
            if (one.peak_rss_kib > r->peak_rss_kib)
                r->peak_rss_kib = one.peak_rss_kib;
        }
        r->corrupt += one.corrupt;
    }
    r->ops = r->lat.count; /* recoveries */
    return rc;
}
