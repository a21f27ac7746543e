/*
 * exec.c - crash campaigns of any program (exec.h): run PROG under the
 * preload object, crash it, damage what it left, run PROG2, judge.
 *
 * A campaign starts with a probe: PROG runs once on a fresh directory
 * without a crash.  It must exit 0, acknowledge at least one transaction,
 * and PROG2 must then print the state after every transaction it
 * declared; the probe also counts the I/O points N of a run.  Trial t then
 * draws, from the campaign seed and t alone, a mode and a point k in
 * 1..N, so that any trial can be replayed exactly (for a single-threaded,
 * deterministic PROG).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "campaign.h"
#include "clk.h"
#include "exec.h"
#include "fsutil.h"
#include "interpose.h"
#include "report.h"
#include "rng.h"
#include "util.h"

#define EX_TAG 0x65786563u /* the trials' stream of the campaign seed */

/* The paths of a campaign's scratch directory. */
typedef struct ex_paths {
    char base[1024];
    char dir[1100], shadow[1100], grave[1100], area[1100], log[1100];
    char saved[1100]; /* recovery-crash: the crash image, kept while a
                         recovery of it counts its points */
    char root[4096];  /* dir, resolved */
} ex_paths;

/* One run of PROG or PROG2. */
typedef struct ex_out {
    int status;    /* wait status */
    int timed_out; /* killed after timeout_s */
    char *text;    /* fd 3 (PROG) or stdout (PROG2), NUL-ended */
    size_t len;
} ex_out;

/* PROG's words with {dir} replaced, NULL-ended; NULL when out of memory. */
static char **ex_argv(const char *cmd, const char *dir)
{
    size_t n = 0, cap = 8;
    char **v = calloc(cap, sizeof(*v));
    const char *p = cmd;

    while (v != NULL && *p != '\0') {
        const char *w;
        size_t len, o = 0;
        char *word;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0')
            break;
        w = p;
        while (*p != '\0' && *p != ' ' && *p != '\t')
            p++;
        len = (size_t)(p - w);
        if ((word = malloc(len * (strlen(dir) + 1) + 1)) == NULL)
            return NULL;
        for (size_t i = 0; i < len; i++) {
            if (len - i >= 5 && memcmp(w + i, "{dir}", 5) == 0) {
                memcpy(word + o, dir, strlen(dir));
                o += strlen(dir);
                i += 4;
            } else {
                word[o++] = w[i];
            }
        }
        word[o] = '\0';
        if (n + 2 > cap) {
            char **t = realloc(v, (cap *= 2) * sizeof(*v));
            if (t == NULL)
                return NULL;
            v = t;
        }
        v[n++] = word;
        v[n] = NULL;
    }
    return v;
}

static void ex_argv_free(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

/* Read fd to its end into o->text (at most 64 MiB), then wait for pid;
 * kill it after timeout_s seconds. */
static int ex_collect(int fd, pid_t pid, uint32_t timeout_s, ex_out *o)
{
    uint64_t deadline = clk_now_ns() + (uint64_t)timeout_s * 1000000000u;
    size_t cap = 4096;
    int rc = 0;

    memset(o, 0, sizeof(*o));
    if ((o->text = malloc(cap)) == NULL)
        rc = ENOMEM;
    while (rc == 0) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        uint64_t now = clk_now_ns();
        ssize_t n;
        if (now >= deadline) {
            o->timed_out = 1;
            kill(pid, SIGKILL);
            break;
        }
        if (poll(&p, 1, (int)((deadline - now) / 1000000u) + 1) < 0) {
            if (errno == EINTR)
                continue;
            rc = errno;
            break;
        }
        if (p.revents == 0)
            continue;
        if (o->len + 4096 > cap) {
            char *t;
            if (cap >= (64u << 20) ||
                (t = realloc(o->text, cap *= 2)) == NULL) {
                rc = ENOMEM;
                break;
            }
            o->text = t;
        }
        n = read(fd, o->text + o->len, cap - o->len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        o->len += (size_t)n;
    }
    if (o->text)
        o->text[o->len] = '\0';
    close(fd);
    while (waitpid(pid, &o->status, 0) < 0)
        if (errno != EINTR) {
            rc = errno;
            break;
        }
    return rc;
}

/* The last line PROG or PROG2 wrote to its log, for a set-up error. */
static void ex_last_line(const char *log, char *buf, size_t len)
{
    static char all[65536];
    int fd = open(log, O_RDONLY | O_CLOEXEC);
    ssize_t got = fd < 0 ? -1 : pread(fd, all, sizeof(all), 0);
    size_t end, start;

    buf[0] = '\0';
    if (fd >= 0)
        close(fd);
    if (got <= 0)
        return;
    end = (size_t)got;
    while (end > 0 && (all[end - 1] == '\n' || all[end - 1] == '\r'))
        end--;
    start = end;
    while (start > 0 && all[start - 1] != '\n')
        start--;
    snprintf(buf, len, "%.*s", (int)(end - start), all + start);
}

/* Open the run's output log (*logfd) and the pipe it reports on. */
static int ex_log_and_pipe(const ex_paths *p, int *logfd, int pfd[2])
{
    *logfd = open(p->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (*logfd < 0 || pipe2(pfd, O_CLOEXEC) != 0)
        return errno;
    return 0;
}

/* The --nondurable suffixes into ic.  Returns 0 or -1 (too many, too
 * long). */
static int ex_nondurable(const char *list, interpose_config *ic)
{
    size_t i = 0;

    while (list != NULL && *list != '\0') {
        size_t n = strcspn(list, ",");
        if (i == IP_NONDURABLE || n >= sizeof(ic->nondurable[0]))
            return -1;
        memcpy(ic->nondurable[i], list, n);
        ic->nondurable[i++][n] = '\0';
        list += n + (list[n] == ',');
    }
    return 0;
}

#define EX_TRACE_CAP 65536 /* points of the probe's trace */

/* The sync calls of the probe's run. */
typedef struct ex_syncs {
    uint64_t *pt;
    size_t n;       /* the sync calls among the traced points */
    uint64_t total; /* all the run's sync calls */
} ex_syncs;

/* Run command cmd (PROG, or PROG2 for a recovery crash) on p->root with
 * the interposer configured by ic, its fd 3 read into o, its output into
 * the log.  OUT: *o, *res (the interposer's results), *sh (the crash
 * outcome); with syncs non-NULL (the probe), syncs->pt[0..n): the point
 * number of each sync call of the run (among its first EX_TRACE_CAP
 * points), malloc'd. */
static int ex_run_prog(const exec_config *cfg, ex_paths *p, const char *cmd,
                       const interpose_config *ic, ex_out *o,
                       interpose_result *res, crashio_shared *sh,
                       ex_syncs *syncs)
{
    interpose_area *a;
    int pfd[2], logfd = -1, rc;
    char **argv;
    pid_t pid;

    interpose_config c = *ic;

    if (ex_nondurable(cfg->nondurable, &c) != 0)
        return EINVAL;
    if ((rc = interpose_area_create(p->area, &c, syncs ? EX_TRACE_CAP : 0,
                                    &a)) != 0)
        return rc;
    if ((argv = ex_argv(cmd, p->root)) == NULL || argv[0] == NULL) {
        interpose_area_unmap(a);
        ex_argv_free(argv);
        return EINVAL;
    }
    if ((rc = ex_log_and_pipe(p, &logfd, pfd)) != 0)
        goto out;
    {
        interpose_spawn_opts so = {.preload = cfg->preload,
                                   .area_path = p->area,
                                   .area = a,
                                   .argv = argv,
                                   .fd3 = pfd[1],
                                   .out_fd = logfd};
        rc = interpose_spawn(&so, &pid);
    }
    close(pfd[1]);
    if (rc != 0) {
        close(pfd[0]);
        goto out;
    }
    rc = ex_collect(pfd[0], pid, cfg->timeout_s, o);
    *res = a->res;
    memcpy(sh, interpose_area_shared(a), sizeof(*sh));
    if (rc == 0 && syncs != NULL) {
        const crashio_shared *full = interpose_area_shared(a);
        uint64_t n = full->points < EX_TRACE_CAP ? full->points : EX_TRACE_CAP;
        syncs->n = 0;
        syncs->total = full->syncs;
        if ((syncs->pt = malloc((n + 1) * sizeof(*syncs->pt))) == NULL)
            rc = ENOMEM;
        for (uint64_t k = 1; rc == 0 && k <= n; k++) {
            if (crashio_kind_is_sync(full->trace[k - 1].kind))
                syncs->pt[syncs->n++] = k;
        }
    }
out:
    if (logfd >= 0)
        close(logfd);
    ex_argv_free(argv);
    interpose_area_unmap(a);
    return rc;
}

/* Run PROG2 on p->dir, its stdout into o. */
static int ex_run_verify(const exec_config *cfg, ex_paths *p, ex_out *o)
{
    char **argv = ex_argv(cfg->verify_cmd, p->root);
    int pfd[2], logfd = -1, rc = 0;
    pid_t pid;

    if (argv == NULL || argv[0] == NULL) {
        ex_argv_free(argv);
        return EINVAL;
    }
    if ((rc = ex_log_and_pipe(p, &logfd, pfd)) != 0)
        goto out;
    if ((pid = fork()) < 0) {
        rc = errno;
        close(pfd[0]);
        close(pfd[1]);
        goto out;
    }
    if (pid == 0) {
        if (dup2(pfd[1], 1) < 0 || dup2(logfd, 2) < 0)
            _exit(127);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(pfd[1]);
    rc = ex_collect(pfd[0], pid, cfg->timeout_s, o);
out:
    if (logfd >= 0)
        close(logfd);
    ex_argv_free(argv);
    return rc;
}

/* A fresh, empty p->dir; p->root its resolved path. */
static int ex_fresh(ex_paths *p)
{
    if (fs_rmrf(p->dir) != 0 || fs_rmrf(p->grave) != 0 ||
        mkdir(p->dir, 0755) != 0 || realpath(p->dir, p->root) == NULL)
        return errno ? errno : EIO;
    if (strlen(p->root) > 500)
        return ENAMETOOLONG;
    unlink(p->shadow);
    return 0;
}

/* ---- the crash of a preloaded run (exec.h; shared with redis.c) ---- */

rng ex_draw_crash(uint64_t seed, uint64_t tag, uint64_t t, unsigned modes,
                  uint64_t points, unsigned *mode, uint64_t *k,
                  uint64_t *pl_seed)
{
    rng r = rng_stream(seed, tag, t);
    unsigned m[5], n = 0;

    for (unsigned b = EX_KILL; b <= EX_FSYNC_FAIL; b <<= 1)
        if (modes & b)
            m[n++] = b;
    *mode = m[rng_next(&r) % n];
    *k = 1 + rng_next(&r) % points;
    *pl_seed = rng_next(&r);
    return r;
}

void ex_crash_config(interpose_config *ic, const char *root, unsigned mode,
                     uint64_t k, uint64_t pl_seed, uint32_t sector,
                     const char *shadow, const char *grave)
{
    snprintf(ic->root, sizeof(ic->root), "%.500s", root);
    ic->seed = pl_seed;
    ic->crash_at = mode == EX_FSYNC_FAIL ? 0 : k;
    ic->crash_action = mode == EX_TORN ? CRASHIO_TEAR : CRASHIO_KILL;
    ic->sector = sector;
    ic->fill = CRASHIO_FILL_SEED;
    if (mode == EX_FSYNC_FAIL) {
        ic->fail_sync = k;
        ic->fail_errno = EIO;
        ic->fsync_loses_data = 1;
    }
    if (mode & (EX_POWERLOSS | EX_RCRASH | EX_FSYNC_FAIL)) {
        snprintf(ic->shadow_path, sizeof(ic->shadow_path), "%.500s", shadow);
        snprintf(ic->graveyard_dir, sizeof(ic->graveyard_dir), "%.500s", grave);
    }
}

void ex_fsync_describe(const crashio_shared *sh, uint64_t k, char *buf,
                       size_t len)
{
    uint64_t at = atomic_load(&sh->failed_point);

    if (at != 0)
        util_appendf(buf, len,
                     "sync call %" PRIu64 " (point %" PRIu64 ") failed", k, at);
    else
        util_appendf(buf, len,
                     "no sync call %" PRIu64 " (the run made %" PRIu64 ")", k,
                     (uint64_t)atomic_load(&sh->syncs));
}

int ex_first_cut(unsigned mode, uint64_t rc_seed)
{
    return mode == EX_POWERLOSS || mode == EX_FSYNC_FAIL ||
           (mode == EX_RCRASH && (rc_seed & 1));
}

void ex_crash_describe(const crashio_shared *sh, uint64_t k, char *buf,
                       size_t len)
{
    if (sh->outcome == CRASHIO_OUT_NONE)
        snprintf(buf, len,
                 "ran to the end (%" PRIu64 " points) before point %" PRIu64,
                 sh->points, k);
    else if (sh->outcome == CRASHIO_OUT_TORN)
        snprintf(buf, len,
                 "torn write at point %" PRIu64 ": %u of %u sectors of %u B "
                 "reached, rest %s",
                 k, sh->tear.nreached, sh->tear.nsectors, sh->tear.sector,
                 crashio_fill_name((int)sh->tear.fill));
    else
        snprintf(buf, len, "killed before point %" PRIu64, k);
}

int ex_power_cut(const char *root, const char *shadow, plimg_model model,
                 plimg_fs fs, uint32_t sector, uint64_t seed, char *damage,
                 size_t dlen, char *err, size_t errlen)
{
    plimg_config pc = {
        .model = model, .fs = fs, .sector = sector, .seed = seed};
    plimg_summary sum;
    size_t n = strlen(damage);

    if (plimg_apply(root, shadow, &pc, &sum) != 0) {
        snprintf(err, errlen, "%s", sum.error);
        return -1;
    }
    snprintf(damage + n, dlen - n, "; power cut: ");
    n = strlen(damage);
    plimg_describe(&sum, damage + n, dlen - n);
    return 0;
}

int ex_recovery_crash(ex_rcrash *x)
{
    interpose_config ic = {0};
    crashio_shared sh;
    rng r = rng_stream(x->seed, EX_RCRASH, 1);
    uint64_t n, j;
    int ran = 0, rc, cut;
    char what[200];

    x->err_what = x->saved;
    if ((rc = fs_rmrf(x->saved)) != 0 ||
        (rc = fs_copy_tree(x->dir, x->saved)) != 0)
        goto fail;
    ex_crash_config(&ic, x->root, EX_KILL, 0, x->pl_seed, x->sector, x->shadow,
                    x->grave);
    ic.strict = x->strict;
    if ((rc = x->run(x->ctx, &ic, &sh, &ran, what, sizeof(what))) != 0)
        return rc;
    x->err_what = x->dir;
    if ((rc = fs_rmrf(x->dir)) != 0 ||
        (rename(x->saved, x->dir) != 0 && (rc = errno) != 0))
        goto fail;
    n = sh.points;
    if (!ran || n == 0) {
        util_appendf(x->damage, x->dlen, "; its recovery %s, nothing to crash",
                     ran ? "made no I/O point" : "did not recover");
        return 0;
    }
    j = 1 + rng_next(&r) % n;
    cut = (int)(rng_next(&r) & 1);
    memset(&ic, 0, sizeof(ic));
    ex_crash_config(&ic, x->root, EX_RCRASH, j, rng_next(&r), x->sector,
                    x->shadow, x->grave);
    ic.strict = x->strict;
    /* After a power cut everything on disk is durable: a log of its own;
     * after a kill the crashed run's unsynced operations stay so. */
    ic.shadow_continue = !x->power;
    x->err_what = x->shadow;
    if (x->power && ((rc = fs_rmrf(x->grave)) != 0 ||
                     (unlink(x->shadow) != 0 && (rc = errno) != ENOENT)))
        goto fail;
    if ((rc = x->run(x->ctx, &ic, &sh, &ran, what, sizeof(what))) != 0)
        return rc;
    if (sh.outcome == CRASHIO_OUT_NONE) {
        util_appendf(x->damage, x->dlen,
                     "; its recovery ran to the end before point %" PRIu64, j);
    } else {
        x->rpoint = j;
        util_appendf(x->damage, x->dlen,
                     "; its recovery killed before point %" PRIu64
                     " of %" PRIu64 "%s%s%s",
                     j, n, what[0] ? " (" : "", what, what[0] ? ")" : "");
    }
    if (cut) {
        x->err_what = "the power-cut image";
        if (ex_power_cut(x->root, x->shadow, x->persist, x->fs, x->sector,
                         ic.seed, x->damage, x->dlen, x->err,
                         sizeof(x->err)) != 0)
            return -1;
        x->power = 1;
    }
    return 0;
fail:
    snprintf(x->err, sizeof(x->err), "%s", strerror(rc));
    return -1;
}

int ex_preload_check(const char *path)
{
    if (access(path, R_OK) == 0)
        return 0;
    fprintf(stderr,
            "crashtest: the preload object %s: %s (make builds it; or give "
            "--preload PATH)\n",
            path, strerror(errno));
    return 2;
}

void ex_refusal(const interpose_result *res, char *msg, size_t len)
{
    snprintf(msg, len, "the interposer refused %s%s%s: %s", res->refused_call,
             res->refused_path[0] ? " of " : "", res->refused_path,
             res->refused_why);
}

FILE *ex_csv_open(const char *path, const char *header)
{
    FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");

    if (f == NULL)
        fprintf(stderr, "crashtest: %s: %s\n", path, strerror(errno));
    else
        fprintf(f, "%s\n", header);
    return f;
}

void ex_csv_quoted(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++)
        fputs(*s == '"' ? "\"\"" : (char[]){*s, 0}, f);
    fputc('"', f);
}

/* ---- the JSON summary ---- */

void ex_crash_options(unsigned modes, plimg_model persist, plimg_fs fs,
                      uint32_t sector, char *buf, size_t len)
{
    char list[100] = "";

    for (unsigned b = EX_KILL; b <= EX_FSYNC_FAIL; b <<= 1)
        if (modes & b)
            snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
                     list[0] ? "," : "", ex_mode_name(b));
    snprintf(buf, len, " --mode %s --persist %s%s%s --sector %u", list,
             plimg_model_name(persist),
             fs != PLIMG_FS_POSIX_STRICT ? " --fs-model " : "",
             fs != PLIMG_FS_POSIX_STRICT ? plimg_fs_name(fs) : "", sector);
}

void ex_replay_print(FILE *f, uint64_t seed, uint64_t t, const char *opts)
{
    fprintf(f,
            "  replay: crashtest --seed 0x%016" PRIx64 " --replay %" PRIu64
            "%s\n",
            seed, t, opts);
}

int ex_json(const ex_summary *s, const trial_result *res, size_t n,
            uint64_t elapsed_ns)
{
    campaign *c = calloc(1, sizeof(*c));

    if (c == NULL) {
        fprintf(stderr, "crashtest: out of memory\n");
        return 2;
    }
    c->runner = c->target_name = s->runner;
    c->seed = s->seed;
    c->trials = s->trials;
    c->jobs = (int)s->jobs;
    c->env.fs = s->fs;
    c->promise = s->promise;
    snprintf(c->options, sizeof(c->options), "%s", s->options);
    memcpy(c->facts, s->facts, sizeof(c->facts));
    c->nfacts = s->nfacts;
    rpt_json(stdout, c, res, n, elapsed_ns / 1000, 0);
    free(c);
    return 0;
}

void ex_result_set(trial_result *r, uint64_t t, unsigned mode, uint64_t k,
                   int verdict)
{
    memset(r, 0, sizeof(*r));
    r->id = t;
    r->mode = mode == EX_KILL         ? MODE_KILL_IO
              : mode == EX_TORN       ? MODE_TORN
              : mode == EX_RCRASH     ? MODE_RECOVERY_CRASH
              : mode == EX_FSYNC_FAIL ? MODE_FSYNC_FAIL
                                      : MODE_POWERLOSS;
    r->crash_point = k;
    r->verdict = (uint8_t)verdict;
}

/* ---- the campaign ---- */

/* Where the text goes: standard error when standard output has the JSON
 * summary. */
static FILE *ex_text(const exec_config *cfg)
{
    return cfg->json ? stderr : stdout;
}

typedef struct ex_trial {
    uint64_t t;
    unsigned mode; /* one EX_* bit */
    uint64_t k;    /* the crash point; fsync-fail: the sync call that fails */
    uint64_t kc;   /* fsync-fail: the crash point after it (0: the run goes
                      on to its end) */
    uint64_t pl_seed;
    uint64_t rc_seed; /* recovery-crash: its power cuts and point */
    int power;        /* a power cut came after the last acknowledgement */
    uint64_t rpoint;  /* recovery-crash: the point PROG2 was killed at */
    uint64_t fpoint;  /* fsync-fail: the I/O point whose sync failed */
    char damage[700];
    ex_verdict verdict;
    int64_t match;
    size_t acked, acked_process, declared;
    int crashed;
} ex_trial;

const char *ex_point_name(unsigned mode)
{
    return mode == EX_FSYNC_FAIL ? "sync call" : "point";
}

const char *ex_mode_name(unsigned m)
{
    return m == EX_KILL         ? "kill-io"
           : m == EX_TORN       ? "torn"
           : m == EX_RCRASH     ? "recovery-crash"
           : m == EX_FSYNC_FAIL ? "fsync-fail"
                                : "powerloss";
}

int exec_modes_parse(const char *list, unsigned allowed, unsigned *modes)
{
    char buf[200], *save = NULL;

    *modes = 0;
    if (strlen(list) >= sizeof(buf))
        return -1;
    snprintf(buf, sizeof(buf), "%s", list);
    for (char *w = strtok_r(buf, ",", &save); w;
         w = strtok_r(NULL, ",", &save)) {
        unsigned b = EX_KILL;
        if (strcmp(w, "all") == 0) {
            *modes |= allowed;
            continue;
        }
        while (b <= EX_FSYNC_FAIL && strcmp(w, ex_mode_name(b)) != 0)
            b <<= 1;
        if (!(b & allowed))
            return -1;
        *modes |= b;
    }
    return *modes != 0 ? 0 : -1;
}

/* Print a set-up error about PROG's (or PROG2's) run.  Returns 2. */
static int ex_setup(const ex_paths *p, const char *what, const char *msg)
{
    char last[200];

    ex_last_line(p->log, last, sizeof(last));
    fprintf(stderr, "crashtest: set-up error: %s: %s\n", what, msg);
    if (last[0] != '\0')
        fprintf(stderr, "crashtest: its last output line: %s\n", last);
    return 2;
}

/* A run of PROG that ended other than by the crash or cleanly: the
 * set-up error that says why (returns 2), or 0 when it is fine. */
static int ex_prog_ended(const exec_config *cfg, const ex_paths *p,
                         const ex_out *o, const interpose_result *res,
                         const crashio_shared *sh, int probe)
{
    char msg[IP_PATH_MAX + 400];
    const char *what = cfg->exec_cmd;

    if (res->refused) {
        ex_refusal(res, msg, sizeof(msg));
        return ex_setup(p, what, msg);
    }
    if (o->timed_out) {
        snprintf(msg, sizeof(msg), "did not finish within %u s (killed)",
                 cfg->timeout_s);
        return ex_setup(p, what, msg);
    }
    /* After an injected sync failure, how it ended is its answer to the
     * fault, not a set-up error. */
    if (!probe && atomic_load(&sh->failed_point) != 0)
        return 0;
    if (WIFEXITED(o->status) && WEXITSTATUS(o->status) == 127)
        return ex_setup(p, what,
                        "could not be started (exit status 127: "
                        "not found or not executable?)");
    if (WIFEXITED(o->status) && WEXITSTATUS(o->status) != 0) {
        snprintf(msg, sizeof(msg), "exited with status %d %s",
                 WEXITSTATUS(o->status),
                 probe ? "on its run without a crash"
                       : "before the crash point, without being crashed");
        return ex_setup(p, what, msg);
    }
    if (WIFSIGNALED(o->status) &&
        !(WTERMSIG(o->status) == SIGKILL && sh->outcome != CRASHIO_OUT_NONE &&
          !probe)) {
        snprintf(msg, sizeof(msg), "died of signal %d on its own",
                 WTERMSIG(o->status));
        return ex_setup(p, what, msg);
    }
    return 0;
}

/* Run PROG2 and judge against d.  Returns 0, or 2 after a set-up error.
 * OUT: tr->verdict, tr->match. */
static int ex_judge(const exec_config *cfg, ex_paths *p, const ex_decl *d,
                    ex_trial *tr, int verbose)
{
    ex_out o;
    ex_state s;
    char err[300];
    int rc;

    if ((rc = ex_run_verify(cfg, p, &o)) != 0) {
        free(o.text);
        return ex_setup(p, cfg->verify_cmd, strerror(rc));
    }
    if (o.timed_out || (WIFEXITED(o.status) && WEXITSTATUS(o.status) == 127) ||
        WIFSIGNALED(o.status)) {
        free(o.text);
        return ex_setup(p, cfg->verify_cmd,
                        o.timed_out ? "did not finish in time"
                        : WIFSIGNALED(o.status)
                            ? "died of a signal"
                            : "could not be started (exit status 127)");
    }
    if (WEXITSTATUS(o.status) != 0) {
        /* The target's own recovery refused what the crash left. */
        util_appendf(tr->damage, sizeof(tr->damage),
                     "; verify exited with status %d", WEXITSTATUS(o.status));
        tr->verdict = EX_NOT_PREFIX;
        tr->match = -1;
        free(o.text);
        return 0;
    }
    if (ex_state_parse(o.text, o.len, &s, err, sizeof(err)) != 0) {
        free(o.text);
        return ex_setup(p, cfg->verify_cmd, err);
    }
    tr->verdict = ex_check(d, &s, tr->power, &tr->match);
    if (verbose)
        for (size_t i = 0; i < s.n; i++)
            fprintf(ex_text(cfg), "  recovered %s = %s\n", s.kv[i].key,
                    s.kv[i].value);
    ex_state_free(&s);
    free(o.text);
    return 0;
}

/* The power cut of tr's image, built from the shadow log under cfg's
 * model with seed.  Returns 0 or 2. */
static int ex_cut(const exec_config *cfg, ex_paths *p, ex_trial *tr,
                  uint64_t seed)
{
    char err[300];

    if (ex_power_cut(p->root, p->shadow, cfg->persist, cfg->fs, cfg->sector,
                     seed, tr->damage, sizeof(tr->damage), err,
                     sizeof(err)) != 0)
        return ex_setup(p, "the power-cut image", err);
    tr->power = 1;
    return 0;
}

/* recovery-crash's run of the target's recovery (ex_rcrash.run): PROG2,
 * the program whose open recovers what the crash left, under the
 * interposer (strict), to its end or its crash. */
typedef struct ex_rc_ctx {
    const exec_config *cfg;
    ex_paths *p;
} ex_rc_ctx;

static int ex_recover_run(void *ctx, const interpose_config *ic,
                          crashio_shared *sh, int *ran, char *what, size_t len)
{
    ex_rc_ctx *c = ctx;
    interpose_result res;
    ex_out o = {0};
    int rc;

    what[0] = '\0';
    (void)len;
    rc = ex_run_prog(c->cfg, c->p, c->cfg->verify_cmd, ic, &o, &res, sh, NULL);
    free(o.text); /* what it prints is judged only by the final run */
    if (rc != 0)
        return ex_setup(c->p, c->cfg->verify_cmd, strerror(rc));
    if (res.refused) {
        char msg[IP_PATH_MAX + 400];
        ex_refusal(&res, msg, sizeof(msg));
        return ex_setup(c->p, c->cfg->verify_cmd, msg);
    }
    /* A run killed at its point recovered up to it; one that exited
     * non-zero (or timed out) refused the image: nothing to crash. */
    *ran =
        !o.timed_out && ((WIFEXITED(o.status) && WEXITSTATUS(o.status) == 0) ||
                         sh->outcome != CRASHIO_OUT_NONE);
    return 0;
}

/* recovery-crash after the first crash: PROG2's open crashed
 * (ex_recovery_crash).  Returns 0 or 2. */
static int ex_recovery_crash_prog2(const exec_config *cfg, ex_paths *p,
                                   ex_trial *tr)
{
    ex_rc_ctx ctx = {cfg, p};
    ex_rcrash x = {.dir = p->dir,
                   .root = p->root,
                   .saved = p->saved,
                   .shadow = p->shadow,
                   .grave = p->grave,
                   .sector = cfg->sector,
                   .persist = cfg->persist,
                   .fs = cfg->fs,
                   .strict = 1,
                   .seed = tr->rc_seed,
                   .pl_seed = tr->pl_seed,
                   .run = ex_recover_run,
                   .ctx = &ctx,
                   .power = tr->power,
                   .damage = tr->damage,
                   .dlen = sizeof(tr->damage)};
    int rc = ex_recovery_crash(&x);

    tr->power = x.power;
    tr->rpoint = x.rpoint;
    return rc < 0 ? ex_setup(p, x.err_what, x.err) : rc;
}

/* Run trial tr (mode, k set) of N points.  Returns 0 or 2. */
static int ex_trial_run(const exec_config *cfg, ex_paths *p, ex_trial *tr,
                        int verbose)
{
    interpose_config ic = {0};
    interpose_result res;
    crashio_shared sh;
    ex_out o = {0};
    ex_decl d;
    char err[300];
    int rc;

    if ((rc = ex_fresh(p)) != 0)
        return ex_setup(p, p->dir, strerror(rc));
    ex_crash_config(&ic, p->root, tr->mode, tr->k, tr->pl_seed, cfg->sector,
                    p->shadow, p->grave);
    ic.strict = 1;
    if (tr->mode == EX_FSYNC_FAIL)
        ic.crash_at = tr->kc;
    rc = ex_run_prog(cfg, p, cfg->exec_cmd, &ic, &o, &res, &sh, NULL);
    if (rc != 0) {
        free(o.text);
        return ex_setup(p, cfg->exec_cmd, strerror(rc));
    }
    if ((rc = ex_prog_ended(cfg, p, &o, &res, &sh, 0)) != 0) {
        free(o.text);
        return rc;
    }
    if (ex_decl_parse(o.text, o.len, &d, err, sizeof(err)) != 0) {
        free(o.text);
        ex_decl_free(&d);
        return ex_setup(p, cfg->exec_cmd, err);
    }
    free(o.text);
    tr->crashed = sh.outcome != CRASHIO_OUT_NONE || sh.failed_point != 0;
    tr->acked = d.acked;
    tr->acked_process = ex_decl_kept(&d, 0);
    tr->declared = d.ntxns;
    if (tr->mode == EX_FSYNC_FAIL) {
        tr->fpoint = sh.failed_point;
        ex_fsync_describe(&sh, tr->k, tr->damage, sizeof(tr->damage));
        if (sh.outcome != CRASHIO_OUT_NONE)
            util_appendf(tr->damage, sizeof(tr->damage),
                         "; killed before point %" PRIu64, tr->kc);
        else if (WIFEXITED(o.status))
            util_appendf(tr->damage, sizeof(tr->damage),
                         "; the program exited with status %d",
                         WEXITSTATUS(o.status));
        else
            util_appendf(tr->damage, sizeof(tr->damage),
                         "; the program died of signal %d", WTERMSIG(o.status));
    } else {
        ex_crash_describe(&sh, tr->k, tr->damage, sizeof(tr->damage));
    }
    /* fsync-fail's power cut is what makes the lost writes lost; half the
     * recovery crashes start from one. */
    if (ex_first_cut(tr->mode, tr->rc_seed) &&
        (rc = ex_cut(cfg, p, tr, tr->pl_seed)) != 0) {
        ex_decl_free(&d);
        return rc;
    }
    if (tr->mode == EX_RCRASH &&
        (rc = ex_recovery_crash_prog2(cfg, p, tr)) != 0) {
        ex_decl_free(&d);
        return rc;
    }
    rc = ex_judge(cfg, p, &d, tr, verbose);
    ex_decl_free(&d);
    return rc;
}

/* The probe: a run without a crash.  OUT: *points, *syncs (the point of
 * each of its sync calls, malloc'd). */
static int ex_probe(const exec_config *cfg, ex_paths *p, uint64_t *points,
                    ex_syncs *syncs)
{
    interpose_config ic = {0};
    interpose_result res;
    crashio_shared sh;
    ex_out o = {0};
    ex_decl d;
    ex_trial tr = {0};
    char err[300], msg[400];
    int rc;

    if ((rc = ex_fresh(p)) != 0)
        return ex_setup(p, p->dir, strerror(rc));
    snprintf(ic.root, sizeof(ic.root), "%.500s", p->root);
    ic.strict = 1;
    if ((rc = ex_run_prog(cfg, p, cfg->exec_cmd, &ic, &o, &res, &sh, syncs)) !=
        0) {
        free(o.text);
        return ex_setup(p, cfg->exec_cmd, strerror(rc));
    }
    if ((rc = ex_prog_ended(cfg, p, &o, &res, &sh, 1)) != 0) {
        free(o.text);
        return rc;
    }
    rc = ex_decl_parse(o.text, o.len, &d, err, sizeof(err));
    free(o.text);
    if (rc != 0) {
        ex_decl_free(&d);
        return ex_setup(p, cfg->exec_cmd, err);
    }
    if (ex_decl_kept(&d, 0) == 0) {
        ex_decl_free(&d);
        return ex_setup(p, cfg->exec_cmd,
                        "acknowledged no transaction on fd 3 in a run "
                        "without a crash (crashlab_ack.h)");
    }
    if (sh.points == 0) {
        ex_decl_free(&d);
        return ex_setup(p, cfg->exec_cmd,
                        "made no I/O point under its directory (is {dir} "
                        "where it writes?)");
    }
    if ((rc = ex_judge(cfg, p, &d, &tr, 0)) != 0) {
        ex_decl_free(&d);
        return rc;
    }
    if (tr.verdict != EX_OK || tr.match != (int64_t)d.ntxns) {
        snprintf(msg, sizeof(msg),
                 "after a run without a crash its output is not the state "
                 "after all %zu transactions declared (it matches %s)",
                 d.ntxns, tr.match < 0 ? "no prefix" : "a shorter prefix");
        ex_decl_free(&d);
        return ex_setup(p, cfg->verify_cmd, msg);
    }
    ex_decl_free(&d);
    *points = sh.points;
    return 0;
}

/* Trial t's draws from the campaign seed and t alone.  fsync-fail: a sync
 * call of the probe's run (the first, if it made none), and one time in
 * two a crash at a point after it (uniform up to the run's end), so that
 * a program that acknowledges after the failure is crashed before it can
 * write that data again. */
static void ex_draw(const exec_config *cfg, uint64_t t, uint64_t points,
                    const ex_syncs *syncs, ex_trial *tr)
{
    rng r;

    memset(tr, 0, sizeof(*tr));
    tr->t = t;
    r = ex_draw_crash(cfg->seed, EX_TAG, t, cfg->modes, points, &tr->mode,
                      &tr->k, &tr->pl_seed);
    tr->rc_seed = rng_next(&r);
    if (tr->mode == EX_FSYNC_FAIL) {
        uint64_t after;
        tr->k = 1 + rng_next(&r) % (syncs->total > 0 ? syncs->total : 1);
        after = tr->k <= syncs->n ? syncs->pt[tr->k - 1] : points;
        if ((rng_next(&r) & 1) && after < points)
            tr->kc = after + 1 + rng_next(&r) % (points - after);
    }
}

static void ex_csv_row(FILE *f, const exec_config *cfg, const ex_trial *tr)
{
    fprintf(f,
            "%" PRIu64 ",%s,%" PRIu64 ",%zu,%zu,%zu,%" PRId64 ",%s,%" PRIu64
            ",%" PRIu64 ",",
            tr->t, ex_mode_name(tr->mode), tr->k, tr->declared, tr->acked,
            tr->acked_process, tr->match, ex_verdict_name(tr->verdict),
            tr->rpoint, tr->fpoint);
    ex_csv_quoted(f, tr->damage);
    fputc('\n', f);
    (void)cfg;
}

/* The options that replay a trial of cfg after --seed and --replay:
 * everything that decides it (the modes, the damage model and unit, the
 * suffixes). */
static void ex_options(const exec_config *cfg, char *buf, size_t len)
{
    char crash[200];

    ex_crash_options(cfg->modes, cfg->persist, cfg->fs, cfg->sector, crash,
                     sizeof(crash));
    snprintf(buf, len, " --exec '%s' --verify '%s'%s%s%s", cfg->exec_cmd,
             cfg->verify_cmd, crash, cfg->nondurable ? " --nondurable " : "",
             cfg->nondurable ? cfg->nondurable : "");
}

static void ex_replay_line(const exec_config *cfg, uint64_t t)
{
    char opts[2048];

    ex_options(cfg, opts, sizeof(opts));
    ex_replay_print(ex_text(cfg), cfg->seed, t, opts);
}

/* The JSON summary of the res[0..n) of cfg's campaign on stdout (an
 * exec campaign's promise: every acknowledged transaction, whatever the
 * crash).  Returns 0 or 2. */
static int ex_summary_print(const exec_config *cfg, const trial_result *res,
                            size_t n, uint64_t points, uint64_t syncs,
                            uint64_t nocrash, uint64_t elapsed_ns)
{
    ex_summary s = {.runner = "exec",
                    .seed = cfg->seed,
                    .trials = cfg->trials,
                    .jobs = 1,
                    .fs = cfg->fs,
                    .promise = oracle_promise_name(ORACLE_PROMISE_ACK),
                    .facts = {{"exec_io_points", NULL, points},
                              {"exec_sync_calls", NULL, syncs},
                              {"exec_trials_without_crash", NULL, nocrash}},
                    .nfacts = 3};

    ex_options(cfg, s.options, sizeof(s.options));
    return ex_json(&s, res, n, elapsed_ns);
}

int exec_run(const exec_config *cfg)
{
    ex_paths p;
    uint64_t points = 0, ran = 0, bad = 0, nocrash = 0, by[3] = {0};
    ex_syncs syncs = {NULL, 0};
    uint64_t expected = 0;
    uint64_t t0 = clk_now_ns();
    FILE *csv = NULL, *out = ex_text(cfg);
    trial_result *res = NULL;
    int rc = 0;

    if (strlen(cfg->dirbase) > 300) {
        fprintf(stderr, "crashtest: --dir: a path of at most 300 bytes\n");
        return 2;
    }
    snprintf(p.base, sizeof(p.base), "%s/crashtest-exec-XXXXXX", cfg->dirbase);
    if (fs_mkdirs(cfg->dirbase) != 0 || mkdtemp(p.base) == NULL) {
        fprintf(stderr, "crashtest: cannot make a directory in %s: %s\n",
                cfg->dirbase, strerror(errno));
        return 2;
    }
    snprintf(p.dir, sizeof(p.dir), "%s/dir", p.base);
    snprintf(p.shadow, sizeof(p.shadow), "%s/shadow.log", p.base);
    snprintf(p.grave, sizeof(p.grave), "%s/grave", p.base);
    snprintf(p.area, sizeof(p.area), "%s/area", p.base);
    snprintf(p.log, sizeof(p.log), "%s/output.log", p.base);
    snprintf(p.saved, sizeof(p.saved), "%s/saved", p.base);
    {
        interpose_config probe = {0};
        if (ex_nondurable(cfg->nondurable, &probe) != 0) {
            fprintf(stderr,
                    "crashtest: --nondurable: at most %d suffixes "
                    "of at most %zu bytes, comma-separated\n",
                    IP_NONDURABLE, sizeof(probe.nondurable[0]) - 1);
            rc = 2;
            goto out;
        }
    }
    if ((rc = ex_preload_check(cfg->preload)) != 0)
        goto out;
    if ((rc = ex_probe(cfg, &p, &points, &syncs)) != 0)
        goto out;
    if (!cfg->quiet)
        fprintf(out,
                "crashtest: --exec: %" PRIu64 " I/O points in a run, %" PRIu64
                " of them sync calls\n",
                points, syncs.total);
    if (cfg->json &&
        (res = calloc(cfg->trials ? cfg->trials : 1, sizeof(*res))) == NULL) {
        fprintf(stderr, "crashtest: out of memory\n");
        rc = 2;
        goto out;
    }
    if (cfg->csv &&
        (csv = ex_csv_open(cfg->csv, "trial,mode,crash_point,declared,acked,"
                                     "acked_process,recovered,verdict,"
                                     "recovery_point,failed_point,damage")) ==
            NULL) {
        rc = 2;
        goto out;
    }
    for (uint64_t t = 0; t < cfg->trials; t++) {
        ex_trial tr;
        if (cfg->replay >= 0 && (uint64_t)cfg->replay != t)
            continue;
        ex_draw(cfg, t, points, &syncs, &tr);
        if ((rc = ex_trial_run(cfg, &p, &tr, cfg->replay >= 0)) != 0)
            goto out;
        ran++;
        nocrash += !tr.crashed;
        if (csv)
            ex_csv_row(csv, cfg, &tr);
        if (res != NULL)
            ex_result_set(&res[ran - 1], t, tr.mode, tr.k,
                          tr.verdict == EX_OK         ? ORACLE_OK
                          : tr.verdict == EX_LOST_ACK ? ORACLE_DURABILITY
                          : tr.verdict == EX_EXPECTED_LOSS
                              ? ORACLE_EXPECTED_LOSS
                              : ORACLE_PREFIX);
        if (cfg->replay >= 0)
            fprintf(out,
                    "trial %" PRIu64 ": %s at %s %" PRIu64 ": %s; "
                    "declared %zu, acknowledged %zu, recovered the state after "
                    "%" PRId64 ": %s\n",
                    t, ex_mode_name(tr.mode), ex_point_name(tr.mode), tr.k,
                    tr.damage, tr.declared, tr.acked, tr.match,
                    ex_verdict_name(tr.verdict));
        expected += tr.verdict == EX_EXPECTED_LOSS;
        if (tr.verdict != EX_OK && tr.verdict != EX_EXPECTED_LOSS) {
            bad++;
            by[tr.verdict == EX_LOST_ACK ? 0 : 1]++;
            if (cfg->replay < 0) {
                fprintf(out,
                        "crashtest: trial %" PRIu64 ": VIOLATION %s: %s at "
                        "%s %" PRIu64 ": %s; %zu acknowledged, recovered "
                        "the state after %" PRId64 "\n",
                        t, ex_verdict_name(tr.verdict), ex_mode_name(tr.mode),
                        ex_point_name(tr.mode), tr.k, tr.damage, tr.acked,
                        tr.match);
                ex_replay_line(cfg, t);
            }
            if (cfg->stop_at_first)
                break;
        }
    }
    {
        double s = (double)(clk_now_ns() - t0) / 1e9;
        fprintf(out,
                "crashtest: --exec: %" PRIu64 " trials (%" PRIu64
                " ran to the end before their crash point), %.1f states/s, "
                "violations %" PRIu64 " (lost-acknowledged %" PRIu64
                ", not-a-prefix %" PRIu64 "); expected losses %" PRIu64
                " (acknowledged against a crash of the program only, lost "
                "in a power cut: not violations, not passes)\n",
                ran, nocrash, s > 0 ? (double)ran / s : 0.0, bad, by[0], by[1],
                expected);
    }
    rc = bad > 0 ? 1 : 0;
    if (res != NULL && ex_summary_print(cfg, res, ran, points, syncs.total,
                                        nocrash, clk_now_ns() - t0) != 0)
        rc = 2;
out:
    free(res);
    free(syncs.pt);
    if (csv && csv != stdout)
        fclose(csv);
    fs_rmrf(p.base);
    (void)by[2];
    return rc;
}
