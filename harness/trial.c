/*
 * trial.c - running one crash trial (see trial.h).
 *
 * Processes of a trial, all forked from the worker that runs it:
 *   writer     runs the workload on the target through crashio; publishes
 *              in shared memory how many transactions it issued and which
 *              were acknowledged (and at what LSN, with the durable LSN it
 *              saw), then dies by SIGKILL: at its crash point, when the
 *              parent kills it, or after its last transaction;
 *   recoverer  (recovery-crash only) opens the crashed database through
 *              crashio and dies at a point of its recovery, up to
 *              recovery_depth times;
 *   verifier   opens the database with the plain POSIX table (recovery,
 *              timed), reads everything back, asks the oracle, runs the
 *              target's structure check, and writes its findings into
 *              shared memory.
 * The oracle's inputs (issued, acknowledged, durable) are what the writer
 * published in memory before it died, never anything it wrote to disk.
 */
#include "trial.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rng.h"
#include "util.h"

#define TRIAL_TRACE_CAP (1u << 18) /* points a counting run can record */

/* What the writer publishes. */
typedef struct trial_progress {
    uint32_t opened;  /* the target's open returned */
    uint32_t issued;  /* transactions started */
    uint32_t acked;   /* transactions whose commit returned 0 */
    uint64_t durable; /* the highest durable position the writer saw */
    int error;        /* the target failed: its error code */
    char errmsg[256];
    uint64_t lsn[]; /* lsn[i]: commit position of transaction i */
} trial_progress;

/* What the verifier reports. */
typedef struct trial_verdict {
    int done;
    uint8_t verdict;
    uint32_t recovered;
    uint64_t open_us;
    cl_recovery rep;
    char detail[480];
} trial_verdict;

typedef struct trial_shm {
    crashio_shared *cio; /* for trials: no trace */
    size_t cio_size;
    crashio_shared *trace; /* for counting runs */
    size_t trace_size;
    trial_progress *prog;
    size_t prog_size;
    uint32_t max_txns;
    trial_verdict *ver;
} trial_shm;

static const char *const trial_mode_names[MODE_COUNT] = {
    "kill-io", "kill-time", "torn", "powerloss", "recovery-crash",
};

const char *trial_mode_name(trial_mode m)
{
    return (unsigned)m < MODE_COUNT ? trial_mode_names[m] : "?";
}

int trial_mode_parse(const char *s, trial_mode *m)
{
    for (int i = 0; i < MODE_COUNT; i++)
        if (strcmp(s, trial_mode_names[i]) == 0) {
            *m = (trial_mode)i;
            return 0;
        }
    return -1;
}

static void *trial_map(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);

    return p == MAP_FAILED ? NULL : p;
}

int trial_env_init(trial_env *env, uint32_t max_txns)
{
    trial_shm *m = calloc(1, sizeof(*m));
    int rc;

    if (m == NULL)
        return ENOMEM;
    m->max_txns = max_txns;
    m->cio_size = crashio_shared_size(0);
    m->trace_size = crashio_shared_size(TRIAL_TRACE_CAP);
    m->prog_size = sizeof(trial_progress) + (size_t)max_txns * 8;
    m->cio = trial_map(m->cio_size);
    m->trace = trial_map(m->trace_size);
    m->prog = trial_map(m->prog_size);
    m->ver = trial_map(sizeof(trial_verdict));
    if (!m->cio || !m->trace || !m->prog || !m->ver) {
        free(m);
        return ENOMEM;
    }
    env->shm = m;
    if ((rc = util_mkdirs(env->base)) != 0)
        return rc;
    return 0;
}

void trial_env_fini(trial_env *env)
{
    trial_shm *m = env->shm;

    if (m == NULL)
        return;
    munmap(m->cio, m->cio_size);
    munmap(m->trace, m->trace_size);
    munmap(m->prog, m->prog_size);
    munmap(m->ver, sizeof(trial_verdict));
    free(m);
    env->shm = NULL;
}

/* Scratch paths of this process. */
typedef struct trial_paths {
    char dir[4200], shadow[4200], grave[4200], ref[4200], probe[4200],
        crashed[4200];
} trial_paths;

static void trial_paths_init(const trial_env *env, trial_paths *p)
{
    snprintf(p->dir, sizeof(p->dir), "%s/db", env->base);
    snprintf(p->shadow, sizeof(p->shadow), "%s/shadow.log", env->base);
    snprintf(p->grave, sizeof(p->grave), "%s/grave", env->base);
    snprintf(p->ref, sizeof(p->ref), "%s/ref", env->base);
    snprintf(p->probe, sizeof(p->probe), "%s/probe", env->base);
    snprintf(p->crashed, sizeof(p->crashed), "%s/crashed", env->base);
}

static void trial_paths_clean(const trial_paths *p)
{
    util_rmrf(p->dir);
    util_rmrf(p->shadow);
    util_rmrf(p->grave);
    util_rmrf(p->ref);
    util_rmrf(p->probe);
    util_rmrf(p->crashed);
}

static void trial_die(void)
{
    raise(SIGKILL);
    for (;;)
        pause();
}

/* ---------------------------------------------------------------------- */
/* the writer                                                             */
/* ---------------------------------------------------------------------- */

/* Run the workload through crashio configured by cc; never returns.  With
 * count_only, exit 0 at the end instead of dying. */
static void trial_writer(trial_env *env, const trial_profile *prof,
                         const char *dir, const crashio_config *cc,
                         int count_only)
{
    trial_progress *pg = env->shm->prog;
    crashio *c = NULL;
    cl_options o = env->eng;
    wl_txn t;
    void *h = NULL;
    int rc;

    util_child_signals();
    if (crashio_new(cc, &c) != 0 || wl_txn_init(&t) != 0) {
        pg->error = ENOMEM;
        snprintf(pg->errmsg, sizeof(pg->errmsg), "crashio setup failed");
        _exit(20);
    }
    o.io = crashio_table(c);
    o.create_salt = prof->salt;
    rc = env->target->open(dir, &o, &h);
    if (rc != 0) {
        pg->error = rc;
        snprintf(pg->errmsg, sizeof(pg->errmsg), "open: %s: %s",
                 cl_strerror(rc), cl_errdetail());
        _exit(21);
    }
    pg->opened = 1;
    for (uint32_t i = 0; i < prof->wl.txns; i++) {
        uint64_t lsn = 0;
        wl_gen(&prof->wl, i, &t);
        pg->issued = i + 1;
        rc = env->target->apply(h, &t, &lsn);
        if (rc != 0) {
            pg->error = rc;
            snprintf(pg->errmsg, sizeof(pg->errmsg),
                     "commit of transaction %u: %s: %s", i, cl_strerror(rc),
                     cl_errdetail());
            _exit(22);
        }
        pg->lsn[i] = lsn;
        pg->durable = env->target->durable(h);
        pg->acked = i + 1;
        if (t.checkpoint_after && (rc = env->target->checkpoint(h)) != 0) {
            pg->error = rc;
            snprintf(pg->errmsg, sizeof(pg->errmsg),
                     "checkpoint after transaction %u: %s: %s", i,
                     cl_strerror(rc), cl_errdetail());
            _exit(23);
        }
    }
    if (count_only)
        _exit(0);
    trial_die(); /* a crash after the last transaction */
}

static void trial_progress_reset(trial_env *env)
{
    memset(env->shm->prog, 0, env->shm->prog_size);
}

int trial_profile_build(trial_env *env, trial_profile *prof, char *err,
                        size_t errlen)
{
    trial_paths p;
    crashio_config cc;
    crashio_shared *sh = env->shm->trace;
    uint64_t t0;
    pid_t pid;
    int st;

    if (prof->wl.txns > env->shm->max_txns) {
        snprintf(err, errlen, "workload of %u transactions over the limit",
                 prof->wl.txns);
        return -1;
    }
    prof->salt = rng_mix(prof->wl.seed ^ 0x5a17);
    if (prof->salt == 0)
        prof->salt = 1;
    if (oracle_prefix_build(&prof->wl, &prof->prefix) != 0) {
        snprintf(err, errlen, "out of memory for the oracle");
        return -1;
    }
    trial_paths_init(env, &p);
    trial_paths_clean(&p);
    crashio_shared_init(sh, TRIAL_TRACE_CAP);
    trial_progress_reset(env);
    memset(&cc, 0, sizeof(cc));
    cc.inner = cl_io_posix();
    cc.seed = prof->wl.seed;
    cc.root = p.dir;
    cc.shared = sh;
    t0 = util_now_us();
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0)
        trial_writer(env, prof, p.dir, &cc, 1);
    st = util_wait(pid);
    prof->run_us = util_now_us() - t0;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        char how[64];
        util_status_text(st, how, sizeof(how));
        snprintf(err, errlen, "counting run of %s failed (%s): %s",
                 wl_name(prof->wl.kind), how, env->shm->prog->errmsg);
        return -1;
    }
    prof->points = atomic_load(&sh->points);
    if (prof->points > TRIAL_TRACE_CAP) {
        snprintf(err, errlen, "workload has %llu I/O points, over %u",
                 (unsigned long long)prof->points, TRIAL_TRACE_CAP);
        return -1;
    }
    prof->kinds = malloc(prof->points + 1);
    prof->pwrites = malloc((prof->points + 1) * sizeof(uint64_t));
    if (prof->kinds == NULL || prof->pwrites == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    prof->npwrites = 0;
    for (uint64_t k = 1; k <= prof->points; k++) {
        prof->kinds[k - 1] = sh->trace[k - 1].kind;
        if (sh->trace[k - 1].kind == CRASHIO_PWRITE)
            prof->pwrites[prof->npwrites++] = k;
    }
    trial_paths_clean(&p);
    return 0;
}

void trial_profile_free(trial_profile *prof)
{
    free(prof->kinds);
    free(prof->pwrites);
    prof->kinds = NULL;
    prof->pwrites = NULL;
    oracle_prefix_free(&prof->prefix);
}

/* ---------------------------------------------------------------------- */
/* recovery crashes                                                       */
/* ---------------------------------------------------------------------- */

/* Open dir through crashio (configured by cc) and stop: the recovery
 * alone.  Exits 0 after a complete open; dies at cc->crash_at. */
static void trial_recoverer(trial_env *env, const char *dir,
                            const crashio_config *cc)
{
    crashio *c = NULL;
    cl_options o = env->eng;
    void *h = NULL;

    util_child_signals();
    if (crashio_new(cc, &c) != 0)
        _exit(20);
    o.io = crashio_table(c);
    if (env->target->open(dir, &o, &h) != 0)
        _exit(21);
    _exit(0); /* no close: whatever recovery left is what a crash leaves */
}

/* Run one recoverer and wait.  Returns the raw wait status. */
static int trial_spawn_recoverer(trial_env *env, const char *dir,
                                 const crashio_config *cc)
{
    pid_t pid;

    fflush(NULL);
    pid = fork();
    if (pid == 0)
        trial_recoverer(env, dir, cc);
    if (pid < 0)
        return -1;
    return util_wait(pid);
}

/* Crash the recovery of p->dir up to env->recovery_depth times.
 * Returns the number of crashes made, appending to damage. */
static uint32_t trial_crash_recovery(trial_env *env, const trial_spec *s,
                                     const trial_paths *p, char *damage,
                                     size_t dlen)
{
    uint32_t made = 0;
    rng r;

    rng_seed(&r, s->rec_seed);
    for (uint32_t d = 0; d < env->recovery_depth; d++) {
        crashio_config cc;
        uint64_t k, n;
        int st, power;
        size_t used = strlen(damage);

        /* count the recovery's points on a copy */
        util_rmrf(p->probe);
        if (util_copy_tree(p->dir, p->probe) != 0)
            break;
        memset(&cc, 0, sizeof(cc));
        cc.inner = cl_io_posix();
        cc.seed = rng_next(&r);
        cc.shared = env->shm->cio;
        cc.root = p->probe;
        crashio_shared_init(env->shm->cio, 0);
        st = trial_spawn_recoverer(env, p->probe, &cc);
        n = atomic_load(&env->shm->cio->points);
        util_rmrf(p->probe);
        if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0 || n == 0)
            break; /* a failing recovery is the verifier's to report */
        k = rng_range(&r, 1, n);
        power = (int)rng_below(&r, 2);
        /* crash the real one at k */
        util_rmrf(p->shadow);
        util_rmrf(p->grave);
        memset(&cc, 0, sizeof(cc));
        cc.inner = cl_io_posix();
        cc.seed = rng_next(&r);
        cc.crash_at = k;
        cc.shared = env->shm->cio;
        cc.root = p->dir;
        if (power) {
            cc.shadow_path = p->shadow;
            cc.graveyard_dir = p->grave;
        }
        crashio_shared_init(env->shm->cio, 0);
        st = trial_spawn_recoverer(env, p->dir, &cc);
        if (!(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL))
            break;
        made++;
        snprintf(damage + used, dlen - used,
                 "; recovery %u killed at %llu/%llu", d + 1,
                 (unsigned long long)k, (unsigned long long)n);
        if (power) {
            plimg_config pc = {0};
            plimg_summary sum;
            pc.model = PLIMG_RANDOM;
            pc.sector = env->sector;
            pc.seed = rng_next(&r);
            used = strlen(damage);
            if (plimg_apply(p->dir, p->shadow, &pc, &sum) != 0) {
                snprintf(damage + used, dlen - used, " (image failed: %s)",
                         sum.error);
                break;
            }
            snprintf(damage + used, dlen - used, " + power cut");
        }
    }
    return made;
}

/* ---------------------------------------------------------------------- */
/* the verifier                                                           */
/* ---------------------------------------------------------------------- */

/* May an open or read of this trial's image legitimately fail with a
 * detected corruption?  Only when pages can be torn (a torn write or a
 * power cut) and the engine runs without torn-page protection. */
static int trial_detect_ok(const trial_env *env, const trial_spec *s)
{
    if (env->eng.torn != CL_TORN_NONE)
        return 0;
    return s->mode == MODE_TORN || s->powerloss ||
           s->mode == MODE_RECOVERY_CRASH;
}

static int trial_is_page_damage(const char *detail)
{
    return strstr(detail, "is torn or corrupt") != NULL;
}

static void trial_verifier(trial_env *env, const trial_spec *s, const char *dir,
                           uint32_t lo, uint32_t hi)
{
    trial_verdict *v = env->shm->ver;
    cl_options o = env->eng;
    oracle_map *m = oracle_map_new();
    char msg[400];
    uint64_t t0;
    void *h = NULL;
    int rc;

    util_child_signals();
    o.io = cl_io_posix();
    o.create_salt = s->prof->salt;
    t0 = util_now_us();
    rc = env->target->open(dir, &o, &h);
    v->open_us = util_now_us() - t0;
    if (rc != 0) {
        snprintf(v->detail, sizeof(v->detail), "open failed: %s: %s",
                 cl_strerror(rc), cl_errdetail());
        v->verdict = (rc == CL_ECORRUPT && trial_detect_ok(env, s) &&
                      trial_is_page_damage(cl_errdetail()))
                         ? ORACLE_DETECTED
                         : ORACLE_RECOVERY;
        v->done = 1;
        _exit(0);
    }
    env->target->recovery(h, &v->rep);
    if (m == NULL || (rc = env->target->read_all(h, m)) != 0) {
        snprintf(v->detail, sizeof(v->detail), "reading back failed: %s: %s",
                 cl_strerror(rc), cl_errdetail());
        v->verdict = (rc == CL_ECORRUPT && trial_detect_ok(env, s) &&
                      trial_is_page_damage(cl_errdetail()))
                         ? ORACLE_DETECTED
                         : ORACLE_RECOVERY;
        v->done = 1;
        _exit(0);
    }
    v->verdict =
        (uint8_t)oracle_judge(&s->prof->wl, &s->prof->prefix, m, lo, hi,
                              &v->recovered, v->detail, sizeof(v->detail));
    if (v->verdict == ORACLE_OK &&
        (rc = env->target->check(h, msg, sizeof(msg))) != 0) {
        v->verdict = (rc == CL_ECORRUPT && trial_detect_ok(env, s) &&
                      trial_is_page_damage(cl_errdetail()))
                         ? ORACLE_DETECTED
                         : ORACLE_STRUCTURE;
        snprintf(v->detail, sizeof(v->detail), "check failed: %s: %s",
                 cl_strerror(rc), msg);
    }
    env->target->close(h);
    v->done = 1;
    _exit(0);
}

/* Verify dir.  Fills res's verdict fields.  Returns 0, or -1 if the
 * verifier could not run. */
static int trial_verify(trial_env *env, const trial_spec *s, const char *dir,
                        uint32_t lo, uint32_t hi, trial_result *res)
{
    trial_verdict *v = env->shm->ver;
    pid_t pid;
    int st;

    memset(v, 0, sizeof(*v));
    fflush(NULL);
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0)
        trial_verifier(env, s, dir, lo, hi);
    st = util_wait(pid);
    if (!v->done) {
        char how[64];
        util_status_text(st, how, sizeof(how));
        res->verdict = ORACLE_RECOVERY;
        snprintf(res->detail, sizeof(res->detail),
                 "the recovering process died (%s)", how);
        return 0;
    }
    res->verdict = v->verdict;
    res->recovered = v->recovered;
    res->recovery_us = v->open_us;
    res->bytes = v->rep.bytes;
    res->records = v->rep.records;
    res->repaired = v->rep.pages_repaired_fpi + v->rep.pages_repaired_dwb;
    res->tail_cut = v->rep.tail_cut;
    snprintf(res->detail, sizeof(res->detail), "%s", v->detail);
    return 0;
}

/* ---------------------------------------------------------------------- */
/* one trial                                                              */
/* ---------------------------------------------------------------------- */

static void trial_describe_kill(const trial_env *env, const trial_spec *s,
                                char *out, size_t len)
{
    crashio_shared *sh = env->shm->cio;
    const trial_profile *pr = s->prof;
    uint32_t outcome = atomic_load(&sh->outcome);
    uint64_t at = sh->crash_point;

    if (outcome == CRASHIO_OUT_TORN) {
        const crashio_tear_info *t = &sh->tear;
        const char *file = t->file > 0 && t->file <= CRASHIO_MAX_NAMES
                               ? sh->names[t->file - 1]
                               : "?";
        snprintf(out, len,
                 "torn pwrite at point %llu/%llu: %s offset %llu length "
                 "%llu, %u of %u sectors of %u B reached, rest %s",
                 (unsigned long long)at, (unsigned long long)pr->points, file,
                 (unsigned long long)t->off, (unsigned long long)t->len,
                 t->nreached, t->nsectors, t->sector,
                 crashio_fill_name((int)t->fill));
    } else if (outcome == CRASHIO_OUT_KILLED) {
        snprintf(out, len, "killed before point %llu/%llu (%s)",
                 (unsigned long long)at, (unsigned long long)pr->points,
                 at >= 1 && at <= pr->points
                     ? crashio_kind_name(pr->kinds[at - 1])
                     : "?");
    } else if (s->mode == MODE_KILL_TIME) {
        snprintf(out, len, "killed after %llu us, at point %llu/%llu",
                 (unsigned long long)s->delay_us,
                 (unsigned long long)atomic_load(&sh->points),
                 (unsigned long long)pr->points);
    } else {
        snprintf(out, len, "killed after the last transaction (%llu points)",
                 (unsigned long long)atomic_load(&sh->points));
    }
}

/* Keep the images of a violation: crashed (before recovery) and recovered,
 * with a text file describing the trial. */
static void trial_keep(const trial_env *env, const trial_paths *p,
                       const trial_result *res)
{
    char d[4300], f[4400];
    FILE *fp;

    snprintf(d, sizeof(d), "%s/trial-%llu", env->keep_dir,
             (unsigned long long)res->id);
    util_rmrf(d);
    if (util_mkdirs(d) != 0)
        return;
    snprintf(f, sizeof(f), "%s/crashed", d);
    util_copy_tree(p->crashed, f);
    snprintf(f, sizeof(f), "%s/recovered", d);
    util_copy_tree(p->dir, f);
    snprintf(f, sizeof(f), "%s/trial.txt", d);
    fp = fopen(f, "w");
    if (fp == NULL)
        return;
    fprintf(fp,
            "trial %llu seed %016llx\nmode %s\nworkload %s variant %u "
            "(%u transactions)\ncrash point %llu of %llu\ndamage: %s\n"
            "issued %u, acknowledged %u, durable %u, recovered %u\n"
            "verdict: %s\ndetail: %s\n",
            (unsigned long long)res->id, (unsigned long long)res->seed,
            trial_mode_name((trial_mode)res->mode),
            wl_name((wl_kind)res->workload), res->variant, 0u,
            (unsigned long long)res->crash_point,
            (unsigned long long)res->points, res->damage, res->issued,
            res->acked, res->durable, res->recovered,
            oracle_kind_name((oracle_kind)res->verdict), res->detail);
    fclose(fp);
}

int trial_run(trial_env *env, const trial_spec *s, trial_result *res)
{
    trial_progress *pg = env->shm->prog;
    const trial_profile *pr = s->prof;
    trial_paths p;
    crashio_config cc;
    pid_t pid;
    int st;
    uint32_t lo = 0;
    uint64_t t0 = util_now_us(), t1, t2 = 0;

    memset(res, 0, sizeof(*res));
    res->id = s->id;
    res->seed = s->seed;
    res->mode = (uint8_t)s->mode;
    res->workload = (uint8_t)pr->wl.kind;
    res->variant = (uint8_t)pr->variant;
    res->crash_point = s->crash_point;
    res->points = pr->points;
    res->delay_us = s->delay_us;
    trial_paths_init(env, &p);
    trial_paths_clean(&p);
    trial_progress_reset(env);
    crashio_shared_init(env->shm->cio, 0);

    memset(&cc, 0, sizeof(cc));
    cc.inner = cl_io_posix();
    cc.seed = s->seed;
    cc.root = p.dir;
    cc.shared = env->shm->cio;
    cc.crash_at = s->crash_point <= pr->points ? s->crash_point : 0;
    cc.crash_action = s->action;
    cc.sector = env->sector;
    cc.fill = s->fill;
    if (s->powerloss) {
        cc.shadow_path = p.shadow;
        cc.graveyard_dir = p.grave;
    }
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        snprintf(res->detail, sizeof(res->detail), "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0)
        trial_writer(env, pr, p.dir, &cc, 0);
    if (s->mode == MODE_KILL_TIME) {
        struct timespec ts = {(time_t)(s->delay_us / 1000000),
                              (long)(s->delay_us % 1000000) * 1000};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
        kill(pid, SIGKILL);
    }
    st = util_wait(pid);
    t1 = util_now_us();
    res->us_writer = (uint32_t)(t1 - t0);
    res->issued = pg->issued;
    res->acked = pg->acked;
    while (lo < pg->acked && pg->lsn[lo] <= pg->durable)
        lo++;
    res->durable = lo;
    if (!(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)) {
        char how[64];
        util_status_text(st, how, sizeof(how));
        res->verdict = ORACLE_WRITER;
        snprintf(res->detail, sizeof(res->detail), "writer ended (%s): %s", how,
                 pg->errmsg);
        snprintf(res->damage, sizeof(res->damage), "none");
        goto done;
    }
    trial_describe_kill(env, s, res->damage, sizeof(res->damage));
    if (s->powerloss) {
        plimg_summary sum;
        char text[200];
        size_t used = strlen(res->damage);
        if (plimg_apply(p.dir, p.shadow, &s->pl, &sum) != 0) {
            snprintf(res->detail, sizeof(res->detail),
                     "building the power-loss image failed: %s", sum.error);
            return -1;
        }
        plimg_describe(&sum, text, sizeof(text));
        snprintf(res->damage + used, sizeof(res->damage) - used,
                 "; power cut: %s", text);
    }
    if (env->keep_dir != NULL)
        util_copy_tree(p.dir, p.crashed);
    if (s->mode == MODE_RECOVERY_CRASH) {
        if (util_copy_tree(p.dir, p.ref) != 0) {
            snprintf(res->detail, sizeof(res->detail), "copy failed");
            return -1;
        }
        res->rec_crashes =
            trial_crash_recovery(env, s, &p, res->damage, sizeof(res->damage));
    }
    t2 = util_now_us();
    res->us_damage = (uint32_t)(t2 - t1);
    if (trial_verify(env, s, p.dir, lo, res->issued, res) != 0) {
        snprintf(res->detail, sizeof(res->detail), "fork: %s", strerror(errno));
        return -1;
    }
    if (s->mode == MODE_RECOVERY_CRASH && res->verdict == ORACLE_OK &&
        res->rec_crashes > 0) {
        /* idempotence: a clean recovery of the same crash image must end in
         * the same state */
        trial_result ref;
        memset(&ref, 0, sizeof(ref));
        if (trial_verify(env, s, p.ref, lo, res->issued, &ref) != 0)
            return -1;
        if (ref.verdict == ORACLE_OK && ref.recovered != res->recovered) {
            res->verdict = ORACLE_IDEMPOTENCE;
            snprintf(res->detail, sizeof(res->detail),
                     "after %u crashed recoveries the state is that after %u "
                     "transactions; a clean recovery gives %u",
                     res->rec_crashes, res->recovered, ref.recovered);
        }
    }
done:
    if (t2 != 0)
        res->us_verify = (uint32_t)(util_now_us() - t2);
    if (env->keep_dir != NULL && res->verdict != ORACLE_OK &&
        res->verdict != ORACLE_DETECTED)
        trial_keep(env, &p, res);
    trial_paths_clean(&p);
    res->us_total = (uint32_t)(util_now_us() - t0);
    return 0;
}
