/*
 * report.c - see report.h.
 */
#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jsonstr.h"

const char *rpt_program = "build/crashtest";

/* The engine mechanisms whose crash states the summary counts
 * (trial_result.reached), in the order it prints them. */
static const struct {
    uint32_t bit;
    const char *name, *json;
} rpt_mechanisms[] = {
    {CL_ACT_CKPT_ROLL, "checkpoint 1: roll the log", "checkpoint_roll"},
    {CL_ACT_CKPT_FLUSH, "checkpoint 2: write pages, fsync", "checkpoint_flush"},
    {CL_ACT_CKPT_SB, "checkpoint 3: superblock, fsync",
     "checkpoint_superblock"},
    {CL_ACT_CKPT_DROP, "checkpoint 4: drop old segments", "checkpoint_drop"},
    {CL_ACT_CKPT_OPEN, "checkpoint open beside commits", "checkpoint_open"},
    {CL_ACT_EVICT, "eviction write-back", "eviction"},
    {CL_ACT_SEG_ROLL, "log segment roll", "segment_roll"},
    {CL_ACT_SEG_REMOVE, "log segment removal", "segment_removal"},
    {CL_ACT_SB_WRITE, "superblock write", "superblock_write"},
    {CL_ACT_SPLIT, "B-tree split", "split"},
    {CL_ACT_MERGE, "B-tree merge", "merge"},
    {CL_ACT_OVERFLOW, "overflow chain write", "overflow"},
    {CL_ACT_FREE_REUSE, "free-list reuse", "free_reuse"},
    {CL_ACT_DWB, "doublewrite write", "doublewrite"},
    {CL_ACT_DWB_WRAP, "doublewrite wrap", "doublewrite_wrap"},
    {TRIAL_REACH_CLOSE, "writer's close (its checkpoint)", "close"},
    {TRIAL_REACH_DIR_WINDOW, "directory change not yet synced", "dir_unsynced"},
    {TRIAL_REACH_TAIL_CUT, "torn-tail cut (recovery)", "tail_cut"},
    {TRIAL_REACH_FPI_REPAIR, "full-page-image repair (recovery)", "fpi_repair"},
    {TRIAL_REACH_DWB_RESTORE, "doublewrite restore (recovery)", "dwb_restore"},
    {TRIAL_REACH_READ_FAULT, "a read failing (recovery, read-back)",
     "read_failed"},
    {CL_ACT_RECOVERY, "recovery's own writes (crashed)", "recovery_writes"},
    {CL_ACT_REDO, "pages awaiting redo (after recovery)", "redo_pending"},
};

#define RPT_NMECH (sizeof(rpt_mechanisms) / sizeof(rpt_mechanisms[0]))

/* Crash states per mechanism (out[RPT_NMECH]), and of them those of trials
 * whose log was synced on request (deferred[RPT_NMECH]).  Returns the
 * engine trials (server trials are not counted: their points are the
 * server's). */
static size_t rpt_coverage(const trial_result *res, size_t n, size_t *out,
                           size_t *deferred)
{
    size_t engine = 0;

    for (size_t j = 0; j < RPT_NMECH; j++)
        out[j] = deferred[j] = 0;
    for (size_t i = 0; i < n; i++) {
        if (trial_mode_is_server((trial_mode)res[i].mode))
            continue;
        engine++;
        for (size_t j = 0; j < RPT_NMECH; j++) {
            int in = (res[i].reached & rpt_mechanisms[j].bit) != 0;
            out[j] += in;
            deferred[j] += in && trial_sync_on_request(res[i].cfg.sync);
        }
    }
    return engine;
}

/* The coverage table and a warning naming each mechanism never reached. */
static void rpt_coverage_table(FILE *f, const trial_result *res, size_t n)
{
    size_t cov[RPT_NMECH], def[RPT_NMECH], missing = 0;

    if (rpt_coverage(res, n, cov, def) == 0)
        return;
    fprintf(f, "\n  crash states in or right after each engine mechanism "
               "(all; with the log\n  synced on request, sync off or "
               "periodic):\n");
    for (size_t j = 0; j < RPT_NMECH; j++) {
        fprintf(f, "    %-36s %9zu %9zu\n", rpt_mechanisms[j].name, cov[j],
                def[j]);
        missing += cov[j] == 0;
    }
    if (missing == 0)
        return;
    fprintf(f, "  warning: %zu mechanism%s never reached:", missing,
            missing > 1 ? "s" : "");
    for (size_t j = 0, first = 1; j < RPT_NMECH; j++)
        if (cov[j] == 0) {
            fprintf(f, "%s %s", first ? "" : ",", rpt_mechanisms[j].name);
            first = 0;
        }
    fputc('\n', f);
}

static int rpt_is_violation(const trial_result *r)
{
    return oracle_is_violation((oracle_kind)r->verdict);
}

void rpt_replay_command(const campaign *c, uint64_t id, char *buf, size_t len)
{
    snprintf(buf, len, "%s --seed 0x%016" PRIx64 " --replay %" PRIu64 "%s",
             rpt_program, c->seed, id, c->options);
}

void rpt_violation(FILE *f, const campaign *c, const trial_result *r)
{
    char cmd[1400];

    rpt_replay_command(c, r->id, cmd, sizeof(cmd));
    fprintf(f,
            "\nVIOLATION (%s) in trial %" PRIu64 ": %s / %s: %s\n"
            "  damage: %s\n  replay: %s\n",
            oracle_kind_name((oracle_kind)r->verdict), r->id,
            trial_mode_name((trial_mode)r->mode), trial_workload_name(r),
            r->detail, r->damage, cmd);
    if (r->threads > 1)
        fprintf(f,
                "  (%u writer threads: the replay repeats the parameters, not "
                "the interleaving; --keep-failures keeps the crashed image "
                "and the commit order)\n",
                r->threads);
}

/* The plan of server trial s (replay). */
static void rpt_server_spec(FILE *f, const campaign *c, const trial_spec *s)
{
    fprintf(f,
            "trial %" PRIu64 " (seed %016" PRIx64 "): mode %s: kvserver (%s), "
            "%u clients writing up to %u keys each\n",
            s->id, s->seed, trial_mode_name(s->mode), c->env.kvserver,
            c->env.clients, c->env.sets);
    if (s->checkpoint_bytes != 0)
        fprintf(f, "  the server checkpoints every %" PRIu64 " bytes of log\n",
                s->checkpoint_bytes);
    if (s->mode == MODE_SERVER_KILL_TIME)
        fprintf(f, "  SIGKILL %" PRIu64 " us after it starts listening\n",
                s->delay_us);
    else
        fprintf(f, "  crash at the server's I/O point %" PRIu64 "%s%s%s\n",
                s->crash_point,
                s->action == CRASHIO_TEAR ? ", tearing it if a pwrite (fill "
                                          : "",
                s->action == CRASHIO_TEAR ? crashio_fill_name(s->fill) : "",
                s->action == CRASHIO_TEAR ? ")" : "");
    if (s->powerloss)
        fprintf(f,
                "  then a power cut: model %s, %u B sectors, seed %016" PRIx64
                "\n",
                plimg_model_name(s->pl.model), s->pl.sector, s->pl.seed);
    if (c->env.server_broken != NULL)
        fprintf(f, "  the crashed server is deliberately broken: %s\n",
                c->env.server_broken);
    fprintf(f,
            "  note: the clients' and the server's threads interleave "
            "differently in every run:\n"
            "  this replay repeats the parameters above (and the clients' "
            "windows, keys and\n"
            "  values), not the state the crash leaves, nor which call is "
            "I/O point %" PRIu64 "\n",
            s->crash_point);
}

void rpt_spec(FILE *f, const campaign *c, const trial_spec *s)
{
    if (trial_mode_is_server(s->mode)) {
        rpt_server_spec(f, c, s);
        return;
    }
    fprintf(f,
            "trial %" PRIu64 " (seed %016" PRIx64 "): mode %s, workload %s "
            "variant %u (%u transactions, %" PRIu64 " I/O points)\n",
            s->id, s->seed, trial_mode_name(s->mode), wl_name(s->prof->wl.kind),
            s->prof->variant, s->prof->wl.txns, s->prof->points);
    if (s->threads > 1)
        fprintf(f,
                "  %u writer threads commit at once; their interleaving "
                "differs in every run:\n  this replay repeats the "
                "parameters, not the interleaving, nor which call is\n  the "
                "I/O point; --keep-failures DIR keeps the crashed image and "
                "the commit order\n",
                s->threads);
    if (target_is_background(c->env.target))
        fprintf(f, "  the target's own threads work beside the writer: this "
                   "replay repeats the\n  parameters, not which call is the "
                   "I/O point\n");
    if (s->mode == MODE_KILL_TIME)
        fprintf(f, "  kill after %" PRIu64 " us\n", s->delay_us);
    else
        fprintf(f, "  crash at point %" PRIu64 "%s%s%s\n", s->crash_point,
                s->action == CRASHIO_TEAR ? ", torn write (fill " : "",
                s->action == CRASHIO_TEAR ? crashio_fill_name(s->fill) : "",
                s->action == CRASHIO_TEAR ? ")" : "");
    if (s->mode == MODE_FSYNC_FAIL && s->fail_at != 0)
        fprintf(f,
                "  first the sync at I/O point %" PRIu64 " fails with EIO, "
                "losing its file's unsynced writes\n",
                s->fail_at);
    else if (s->mode == MODE_WRITE_FAIL && s->fail_at != 0)
        fprintf(f,
                "  first the write at I/O point %" PRIu64 " fails with %s, "
                "with no effect\n",
                s->fail_at, s->fault_errno == ENOSPC ? "ENOSPC" : "EIO");
    else if (trial_mode_is_error(s->mode) && s->fault_point >= 0)
        fprintf(f,
                "  first engine/io/%s call %" PRIu64 " (by the writer's "
                "thread) fails with %s\n",
                fiuctl_point_short(s->fault_point), s->fault_nth,
                strerror(s->fault_errno));
    if (s->powerloss)
        fprintf(f,
                "  then a power cut: model %s, %u B sectors, seed %016" PRIx64
                "\n",
                plimg_model_name(s->pl.model), s->pl.sector, s->pl.seed);
    if (s->mode == MODE_RECOVERY_CRASH)
        fprintf(f, "  then recovery crashed (seed %016" PRIx64 ")\n",
                s->rec_seed);
    if (s->mode == MODE_CHAIN)
        fprintf(f,
                "  then a crash chain: recover, go on, crash again (seed "
                "%016" PRIx64 ")\n",
                s->rec_seed);
}

/* The second stage of a trial whose open failed (trial_repair.c), from
 * its structured fields: nothing when it was not taken. */
static void rpt_second_stage(FILE *f, const trial_result *r)
{
    switch ((trial_repair)r->repair) {
    case TRIAL_REPAIR_NONE:
    case TRIAL_REPAIR_COUNT:
        return;
    case TRIAL_REPAIR_OK:
        fprintf(f,
                "  second stage: repair ok: the state after %u transactions, "
                "every promised one there\n",
                r->repair_k);
        return;
    case TRIAL_REPAIR_LOST:
        fprintf(f,
                "  second stage: repair lost promised transactions: the "
                "state after %u transactions, %u promised\n",
                r->repair_k, r->durable);
        return;
    case TRIAL_REPAIR_NO_PREFIX:
        fprintf(f, "  second stage: repair produced a state no prefix "
                   "explains\n");
        return;
    case TRIAL_REPAIR_FAILED:
        fprintf(f, "  second stage: repair failed (the repair, or the open "
                   "or read-back after it)\n");
        return;
    }
}

void rpt_result(FILE *f, const campaign *c, const trial_result *r)
{
    (void)c;
    if (trial_mode_is_server((trial_mode)r->mode)) {
        fprintf(f,
                "  damage: %s\n  SETs: sent %u, acknowledged %u, required "
                "durable %u, recovered %u\n  restart: %" PRIu64
                " us to open, %" PRIu64 " log records replayed\n"
                "  verdict: %s%s%s\n",
                r->damage, r->issued, r->acked, r->durable, r->recovered,
                r->recovery_us, r->records,
                oracle_kind_name((oracle_kind)r->verdict),
                r->detail[0] ? ": " : "", r->detail);
        return;
    }
    fprintf(f,
            "  damage: %s\n  transactions: issued %u, acknowledged %u, "
            "promised durable %u, claimed durable %u, recovered %u\n"
            "  recovery: %" PRIu64 " us, %" PRIu64 " records, %" PRIu64
            " bytes, %" PRIu64 " pages repaired%s\n"
            "  verdict: %s%s%s\n",
            r->damage, r->issued, r->acked, r->durable, r->claimed,
            r->recovered, r->recovery_us, r->records, r->bytes, r->repaired,
            r->tail_cut ? ", torn tail cut" : "",
            oracle_kind_name((oracle_kind)r->verdict), r->detail[0] ? ": " : "",
            r->detail);
    rpt_second_stage(f, r);
}

void rpt_progress(FILE *f, const campaign *c, const trial_result *res, size_t n,
                  uint64_t total, uint64_t elapsed_us, int final)
{
    static uint64_t last_plain;
    int tty = isatty(fileno(f));
    double secs = elapsed_us / 1e6, rate = secs > 0 ? n / secs : 0;
    size_t viol = 0;
    char left[64];

    for (size_t i = 0; i < n; i++)
        viol += rpt_is_violation(&res[i]);
    if (!tty && !final && elapsed_us - last_plain < 10000000)
        return;
    last_plain = elapsed_us;
    if (total != UINT64_MAX && rate > 0)
        snprintf(left, sizeof(left), "%.0f s left",
                 (double)(total - (n < total ? n : total)) / rate);
    else if (c->duration_s > 0)
        snprintf(left, sizeof(left), "%.0f s left",
                 c->duration_s > secs ? c->duration_s - secs : 0);
    else
        snprintf(left, sizeof(left), "-");
    if (total != UINT64_MAX)
        fprintf(f, "%s[%zu/%" PRIu64 "] %.0f trials/s, violations %zu, %s%s",
                tty ? "\r" : "", n, total, rate, viol, left,
                tty ? "   " : "\n");
    else
        fprintf(f, "%s[%zu] %.0f trials/s, violations %zu, %s%s",
                tty ? "\r" : "", n, rate, viol, left, tty ? "   " : "\n");
    if (tty && final)
        fputc('\n', f);
    fflush(f);
}

static int rpt_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* Recovery times of the trials that recovered (sorted). OUT: *m. */
static uint64_t *rpt_times(const trial_result *res, size_t n, size_t *m)
{
    uint64_t *t = malloc((n + 1) * sizeof(*t));

    *m = 0;
    if (t == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (res[i].verdict != ORACLE_WRITER && res[i].recovery_us > 0)
            t[(*m)++] = res[i].recovery_us;
    qsort(t, *m, sizeof(*t), rpt_cmp_u64);
    return t;
}

static uint64_t rpt_pct(const uint64_t *t, size_t m, double p)
{
    size_t i;

    if (m == 0)
        return 0;
    i = (size_t)(p * (double)(m - 1) + 0.5);
    return t[i < m ? i : m - 1];
}

/* How the engine was configured: drawn per variant (what the options
 * pinned named), or the campaign's one configuration. */
static void rpt_config_line(FILE *f, const campaign *c)
{
    const cl_options *p = &c->pins.eng;

    if (c->env.target != NULL && c->env.target->describe != NULL) {
        char d[200];
        c->env.target->describe(d, sizeof(d));
        fprintf(f, "%s: %s (promise: %s); workload size drawn per variant\n",
                c->env.target->name, d,
                oracle_promise_name(c->env.target->promise(&c->env.eng)));
        return;
    }
    if (!c->swarm) {
        fprintf(f,
                "engine: sync %s, torn-page protection %s, checkpoint mode "
                "%s\n",
                cl_sync_name(c->env.eng.sync), cl_torn_name(c->env.eng.torn),
                cl_ckpt_name(c->env.eng.checkpoint_mode));
        return;
    }
    fprintf(f, "engine configuration and workload size drawn per workload "
               "variant (swarm; the CSV has each trial's)");
    if (p->sync != CL_SYNC_DEFAULT)
        fprintf(f, ", sync %s pinned", cl_sync_name(p->sync));
    if (p->torn != CL_TORN_DEFAULT)
        fprintf(f, ", torn-page protection %s pinned", cl_torn_name(p->torn));
    if (p->checkpoint_mode != CL_CKPT_DEFAULT)
        fprintf(f, ", checkpoint mode %s pinned",
                cl_ckpt_name(p->checkpoint_mode));
    if (p->page_size != 0)
        fprintf(f, ", page size %u pinned", p->page_size);
    if (p->pool_bytes != 0)
        fprintf(f, ", pool %" PRIu64 " B pinned", p->pool_bytes);
    if (p->checkpoint_bytes != 0)
        fprintf(f, ", checkpoint interval %" PRIu64 " B pinned",
                p->checkpoint_bytes);
    if (p->segment_bytes != 0)
        fprintf(f, ", segments %" PRIu64 " B pinned", p->segment_bytes);
    if (c->pins.txns != 0)
        fprintf(f, ", %u transactions pinned", c->pins.txns);
    fputc('\n', f);
}

/* The phases of trial_phases, in its order, and the rest of us_total. */
static const char *const rpt_phase_names[] = {
    "fork",     "writer", "snapshot", "image",   "chain", "open",
    "readback", "check",  "probe",    "process", "clean", "rest",
};
#define RPT_NPHASES (sizeof(rpt_phase_names) / sizeof(rpt_phase_names[0]))

/* The sums of each phase over the trials of mode `mode` (-1: every
 * trial) into sum[RPT_NPHASES], and sum[RPT_NPHASES] = us_total.  Returns
 * the number of trials. */
static size_t rpt_phase_sums(const trial_result *res, size_t n, int mode,
                             uint64_t *sum)
{
    size_t cnt = 0;

    memset(sum, 0, (RPT_NPHASES + 1) * sizeof(*sum));
    for (size_t i = 0; i < n; i++) {
        const trial_result *r = &res[i];
        const uint32_t ph[] = {r->ph.fork,     r->ph.writer, r->ph.snapshot,
                               r->ph.image,    r->ph.chain,  r->ph.open,
                               r->ph.readback, r->ph.check,  r->ph.probe,
                               r->ph.process,  r->ph.clean};
        uint64_t known = 0;
        _Static_assert(sizeof(ph) / sizeof(ph[0]) == RPT_NPHASES - 1,
                       "a name per phase");
        if (mode >= 0 && r->mode != mode)
            continue;
        for (size_t j = 0; j < RPT_NPHASES - 1; j++) {
            sum[j] += ph[j];
            known += ph[j];
        }
        sum[RPT_NPHASES - 1] += r->us_total > known ? r->us_total - known : 0;
        sum[RPT_NPHASES] += r->us_total;
        cnt++;
    }
    return cnt;
}

/* --profile: microseconds per trial in each phase, per mode and for all
 * trials. */
static void rpt_profile(FILE *f, const trial_result *res, size_t n)
{
    uint64_t sum[RPT_NPHASES + 1];

    fprintf(f, "\n  time per trial by phase (us, mean):\n  %-16s", "mode");
    for (size_t j = 0; j < RPT_NPHASES; j++)
        fprintf(f, " %8s", rpt_phase_names[j]);
    fprintf(f, " %8s\n", "total");
    for (int m = -1; m < MODE_COUNT; m++) {
        size_t cnt = rpt_phase_sums(res, n, m, sum);
        if (cnt == 0)
            continue;
        fprintf(f, "  %-16s", m < 0 ? "all" : trial_mode_name((trial_mode)m));
        for (size_t j = 0; j <= RPT_NPHASES; j++)
            fprintf(f, " %8" PRIu64, sum[j] / cnt);
        fprintf(f, "\n");
    }
}

/* The same as JSON: {"all": {"fork": us, ...}, "kill-io": {...}, ...}. */
static void rpt_profile_json(FILE *f, const trial_result *res, size_t n)
{
    uint64_t sum[RPT_NPHASES + 1];

    fprintf(f, "{");
    for (int m = -1, first = 1; m < MODE_COUNT; m++) {
        size_t cnt = rpt_phase_sums(res, n, m, sum);
        if (cnt == 0)
            continue;
        fprintf(f, "%s\n  \"%s\": {", first ? "" : ",",
                m < 0 ? "all" : trial_mode_name((trial_mode)m));
        for (size_t j = 0; j < RPT_NPHASES; j++)
            fprintf(f, "\"%s\": %" PRIu64 ", ", rpt_phase_names[j],
                    sum[j] / cnt);
        fprintf(f, "\"total\": %" PRIu64 "}", sum[RPT_NPHASES] / cnt);
        first = 0;
    }
    fprintf(f, "}");
}

/* How many trials took each second stage (trial_repair); returns whether
 * to report them: the target has a repair, or a trial took one. */
static int rpt_repairs(const campaign *c, const trial_result *res, size_t n,
                       size_t out[TRIAL_REPAIR_COUNT])
{
    size_t any = 0;

    memset(out, 0, TRIAL_REPAIR_COUNT * sizeof(*out));
    for (size_t i = 0; i < n; i++)
        if (res[i].repair < TRIAL_REPAIR_COUNT) {
            out[res[i].repair]++;
            any += res[i].repair != TRIAL_REPAIR_NONE;
        }
    return any > 0 || (c->env.target != NULL && c->env.target->repair != NULL);
}

int rpt_summary(FILE *f, const campaign *c, const trial_result *res, size_t n,
                uint64_t elapsed_us, int interrupted)
{
    size_t per[MODE_COUNT] = {0}, pviol[MODE_COUNT] = {0},
           pdet[MODE_COUNT] = {0}, kinds[ORACLE_KINDS + 1] = {0}, m,
           repairs[TRIAL_REPAIR_COUNT];
    int violations = 0;
    double secs = elapsed_us / 1e6;
    uint64_t *t;

    for (size_t i = 0; i < n; i++) {
        const trial_result *r = &res[i];
        int v = rpt_is_violation(r);
        per[r->mode]++;
        pviol[r->mode] += v;
        pdet[r->mode] += r->verdict == ORACLE_DETECTED;
        kinds[r->verdict]++;
        violations += v;
    }
    if (f == NULL)
        return violations;
    fprintf(f, "\ncrashtest: seed 0x%016" PRIx64 ", target %s%s\n", c->seed,
            c->target_name, interrupted ? " (interrupted)" : "");
    rpt_config_line(f, c);
    if (c->server_every > 0)
        fprintf(f,
                "one trial in %" PRIu64 " on kvserver (%u clients, up to %u "
                "SETs each)\n",
                c->server_every, c->env.clients, c->env.sets);
    else if (c->env.kvserver != NULL)
        fprintf(f, "server trials: kvserver, %u clients, up to %u SETs each\n",
                c->env.clients, c->env.sets);
    fprintf(f,
            "%zu trials in %.1f s on %d job%s: %.0f crash states verified "
            "per second\n\n",
            n, secs, c->jobs, c->jobs == 1 ? "" : "s",
            secs > 0 ? n / secs : 0.0);
    fprintf(f, "  %-16s %9s %11s %9s\n", "mode", "trials", "violations",
            "detected");
    for (int i = 0; i < MODE_COUNT; i++)
        if (per[i] > 0)
            fprintf(f, "  %-16s %9zu %11zu %9zu\n",
                    trial_mode_name((trial_mode)i), per[i], pviol[i], pdet[i]);
    if (c->exhaustive && c->profiles != NULL) {
        const trial_profile *p = &c->profiles[0];
        fprintf(f,
                "\n  exhaustive coverage of workload %s (%u transactions): "
                "%" PRIu64 " I/O points, %" PRIu64 " of them pwrites\n"
                "    kill at every point and after the end: %zu of %" PRIu64
                "\n    torn pwrite, 3 fills each: %zu of %" PRIu64
                "\n    power cut, 5 models at every point: %zu of %" PRIu64
                "\n",
                wl_name(p->wl.kind), p->wl.txns, p->points, p->npwrites,
                per[MODE_KILL_IO], p->points + 1, per[MODE_TORN],
                3 * p->npwrites, per[MODE_POWERLOSS], 5 * (p->points + 1));
    }
    /* the engine's mechanisms: nothing an interposed target has */
    if (c->env.target == NULL || !c->env.target->interposed)
        rpt_coverage_table(f, res, n);
    fprintf(f, "\n  violations by kind:");
    if (violations == 0)
        fprintf(f, " none");
    for (int k = ORACLE_DURABILITY; k < ORACLE_DETECTED; k++)
        if (kinds[k] > 0)
            fprintf(f, " %s %zu", oracle_kind_name((oracle_kind)k), kinds[k]);
    fprintf(f, "\n  corruption detected and refused (not violations): %zu\n",
            kinds[ORACLE_DETECTED]);
    if (kinds[ORACLE_EXPECTED_LOSS] > 0)
        fprintf(f,
                "  expected losses (acknowledged commits lost where the "
                "configuration promises nothing; not violations, not "
                "passes): %zu\n",
                kinds[ORACLE_EXPECTED_LOSS]);
    if (rpt_repairs(c, res, n, repairs)) {
        fprintf(f, "  second stage after a refused open (the target's repair "
                   "on a copy; the verdicts above are unchanged):");
        for (int r = TRIAL_REPAIR_OK; r < TRIAL_REPAIR_COUNT; r++)
            fprintf(f, "%s %s %zu", r == TRIAL_REPAIR_OK ? "" : ",",
                    trial_repair_name((trial_repair)r), repairs[r]);
        fputc('\n', f);
    }
    if (n > 0) {
        uint64_t w = 0, d = 0, v = 0, tot = 0;
        for (size_t i = 0; i < n; i++) {
            w += res[i].us_writer;
            d += res[i].us_damage;
            v += res[i].us_verify;
            tot += res[i].us_total;
        }
        fprintf(f,
                "  time per trial (mean): %" PRIu64 " us = writer %" PRIu64
                " + damage %" PRIu64 " + recovery and verification %" PRIu64
                " + clean-up\n",
                tot / n, w / n, d / n, v / n);
    }
    if (c->profile)
        rpt_profile(f, res, n);
    t = rpt_times(res, n, &m);
    if (t != NULL && m > 0)
        fprintf(f,
                "  recovery time (open of the crashed database): p50 %" PRIu64
                " us, p99 %" PRIu64 " us, max %" PRIu64 " us\n",
                rpt_pct(t, m, 0.5), rpt_pct(t, m, 0.99), t[m - 1]);
    free(t);
    if (violations > 0) {
        size_t shown = 0;
        fprintf(f, "\n%d violation%s; replay with:\n", violations,
                violations > 1 ? "s" : "");
        for (size_t i = 0; i < n && shown < 10; i++)
            if (rpt_is_violation(&res[i])) {
                char cmd[1400];
                rpt_replay_command(c, res[i].id, cmd, sizeof(cmd));
                fprintf(f, "  %s   # %s\n", cmd,
                        oracle_kind_name((oracle_kind)res[i].verdict));
                shown++;
            }
    } else {
        fprintf(f, "\nno violations\n");
    }
    return violations;
}

/* The promise of the campaign's configurations, into "promise" when every
 * trial had one and the same, else into "promises" with the trials of
 * each (a swarm draws the engine's sync mode per variant).  Nothing when
 * no trial had a promise (an engine campaign of no trial). */
static void rpt_promise_json(FILE *f, const campaign *c,
                             const trial_result *res, size_t n)
{
    enum { NPR = ORACLE_PROMISE_PROCESS_PREV + 1 };
    size_t per[NPR] = {0}, kinds = 0;
    const target_ops *tg = c->env.target;

    if (c->promise != NULL) {
        fprintf(f, ", \"promise\": \"%s\"", c->promise);
        return;
    }
    if (tg == NULL || tg->promise == NULL)
        return;
    if (tg->describe != NULL) {
        /* a foreign target: one configuration for the whole campaign */
        fprintf(f, ", \"promise\": \"%s\"",
                oracle_promise_name(tg->promise(&c->env.eng)));
        return;
    }
    for (size_t i = 0; i < n; i++) {
        cl_options o = c->env.eng;
        oracle_promise pr;
        o.sync = (cl_sync_mode)res[i].cfg.sync;
        pr = tg->promise(&o);
        kinds += (unsigned)pr < NPR && per[pr]++ == 0;
    }
    for (int p = 0, first = 1; p < NPR; p++) {
        const char *name = oracle_promise_name((oracle_promise)p);
        if (per[p] == 0)
            continue;
        if (kinds == 1)
            fprintf(f, ", \"promise\": \"%s\"", name);
        else
            fprintf(f, "%s\"%s\": %zu", first ? ", \"promises\": {" : ", ",
                    name, per[p]);
        first = 0;
    }
    if (kinds > 1)
        fputc('}', f);
}

/* What only campaign.c's trials have: the engine's mechanisms and the
 * recovery times.  Each entry ends with a comma. */
static void rpt_engine_json(FILE *f, const campaign *c, const trial_result *res,
                            size_t n)
{
    size_t cov[RPT_NMECH], def[RPT_NMECH], m;
    uint64_t *t = rpt_times(res, n, &m);

    rpt_coverage(res, n, cov, def);
    fprintf(f, "\n \"swarm\": %s, \"unreached\": [",
            c->swarm ? "true" : "false");
    for (size_t j = 0, first = 1; j < RPT_NMECH; j++)
        if (cov[j] == 0) {
            fprintf(f, "%s\"%s\"", first ? "" : ", ", rpt_mechanisms[j].json);
            first = 0;
        }
    fprintf(f, "],\n \"coverage\": {");
    for (size_t j = 0; j < RPT_NMECH; j++)
        fprintf(f, "%s\"%s\": %zu", j ? ", " : "", rpt_mechanisms[j].json,
                cov[j]);
    fprintf(f, "},\n \"coverage_sync_on_request\": {");
    for (size_t j = 0; j < RPT_NMECH; j++)
        fprintf(f, "%s\"%s\": %zu", j ? ", " : "", rpt_mechanisms[j].json,
                def[j]);
    fprintf(f,
            "},\n \"recovery_us\": {\"p50\": %" PRIu64 ", \"p99\": %" PRIu64
            ", \"max\": %" PRIu64 "},",
            t && m ? rpt_pct(t, m, 0.5) : 0, t && m ? rpt_pct(t, m, 0.99) : 0,
            t && m ? t[m - 1] : 0);
    free(t);
    if (c->profile) {
        fprintf(f, "\n \"profile\": ");
        rpt_profile_json(f, res, n);
        fprintf(f, ",");
    }
}

/* ",\n \"key\": {mode: count[mode], ...}" over the modes that ran
 * (per[mode] > 0). */
static void rpt_modes_json(FILE *f, const char *key, const size_t *per,
                           const size_t *count)
{
    fprintf(f, ",\n \"%s\": {", key);
    for (int i = 0, first = 1; i < MODE_COUNT; i++)
        if (per[i] > 0) {
            fprintf(f, "%s\"%s\": %zu", first ? "" : ", ",
                    trial_mode_name((trial_mode)i), count[i]);
            first = 0;
        }
    fputc('}', f);
}

void rpt_json(FILE *f, const campaign *c, const trial_result *res, size_t n,
              uint64_t elapsed_us, int interrupted)
{
    size_t per[MODE_COUNT] = {0}, pviol[MODE_COUNT] = {0},
           kinds[ORACLE_KINDS + 1] = {0}, repairs[TRIAL_REPAIR_COUNT];
    double secs = elapsed_us / 1e6;

    for (size_t i = 0; i < n; i++) {
        per[res[i].mode]++;
        pviol[res[i].mode] += rpt_is_violation(&res[i]);
        kinds[res[i].verdict]++;
    }
    fprintf(f, "{\"seed\": \"0x%016" PRIx64 "\", \"target\": ", c->seed);
    json_put_string(f, c->target_name);
    fprintf(f,
            ", \"trials\": %zu, \"seconds\": %.3f, \"jobs\": %d, "
            "\"states_per_second\": %.1f,\n",
            n, secs, c->jobs, secs > 0 ? n / secs : 0.0);
    /* What crashtest --merge needs to check that shards belong together
     * and to describe their campaign again.  A runner of its own runs no
     * shards and no duration. */
    fprintf(f, " \"version\": \"%s\", ", CL_VERSION);
    if (c->runner == NULL)
        fprintf(f, "\"shard\": \"%" PRIu64 "/%" PRIu64 "\", ",
                c->shard_count > 1 ? c->shard_index : 0,
                c->shard_count > 1 ? c->shard_count : 1);
    fprintf(f, "\"campaign_trials\": %" PRIu64 ", ",
            c->exhaustive ? c->exhaustive_total : c->trials);
    if (c->runner == NULL)
        fprintf(f, "\"duration\": %.17g, ", c->duration_s);
    fprintf(f, "\"interrupted\": %s,\n \"options\": ",
            interrupted ? "true" : "false");
    json_put_string(f, c->options);
    /* Power cuts: what the file system was taken to promise (the device
     * model is per trial, in the CSV's damage). */
    fprintf(f, ", \"fs_model\": \"%s\"", plimg_fs_name(c->env.fs));
    rpt_promise_json(f, c, res, n);
    for (int i = 0; i < c->nfacts; i++) {
        fprintf(f, ", \"%s\": ", c->facts[i].name);
        if (c->facts[i].text != NULL)
            json_put_string(f, c->facts[i].text);
        else
            fprintf(f, "%" PRIu64, c->facts[i].num);
    }
    if (c->exhaustive && c->profiles != NULL)
        fprintf(f,
                ", \"exhaustive\": {\"workload\": \"%s\", \"txns\": %u, "
                "\"points\": %" PRIu64 ", \"pwrites\": %" PRIu64 "}",
                wl_name(c->profiles[0].wl.kind), c->profiles[0].wl.txns,
                c->profiles[0].points, c->profiles[0].npwrites);
    rpt_modes_json(f, "modes", per, per);
    rpt_modes_json(f, "mode_violations", per, pviol);
    fprintf(f, ",\n \"verdicts\": {");
    for (int k = 0; k < ORACLE_KINDS; k++)
        fprintf(f, "%s\"%s\": %zu", k ? ", " : "",
                oracle_kind_name((oracle_kind)k), kinds[k]);
    fprintf(f, "},");
    if (rpt_repairs(c, res, n, repairs)) {
        fprintf(f, "\n \"second_stage\": {");
        for (int r = TRIAL_REPAIR_OK; r < TRIAL_REPAIR_COUNT; r++)
            fprintf(f, "%s\"%s\": %zu", r == TRIAL_REPAIR_OK ? "" : ", ",
                    trial_repair_name((trial_repair)r), repairs[r]);
        fprintf(f, "},");
    }
    if (c->runner == NULL)
        rpt_engine_json(f, c, res, n);
    fprintf(f, "\n \"violations\": [");
    for (size_t i = 0, first = 1; i < n; i++)
        if (rpt_is_violation(&res[i])) {
            char cmd[1400];
            rpt_replay_command(c, res[i].id, cmd, sizeof(cmd));
            fprintf(f,
                    "%s\n  {\"trial\": %" PRIu64 ", \"kind\": \"%s\", "
                    "\"mode\": \"%s\", \"replay\": ",
                    first ? "" : ",", res[i].id,
                    oracle_kind_name((oracle_kind)res[i].verdict),
                    trial_mode_name((trial_mode)res[i].mode));
            json_put_string(f, cmd);
            fputc('}', f);
            first = 0;
        }
    fprintf(f, "]}\n");
}

static void rpt_csv_text(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s == '\n' ? ' ' : *s, f);
    }
    fputc('"', f);
}

/* A number, or "default" for 0 (the engine's default). */
static void rpt_csv_num(FILE *f, uint64_t v)
{
    if (v == 0)
        fprintf(f, "default,");
    else
        fprintf(f, "%" PRIu64 ",", v);
}

/* The configuration columns, each followed by a comma. */
static void rpt_csv_config(FILE *f, const trial_config *g)
{
    fprintf(f, "%s,%s,", cl_sync_name((cl_sync_mode)g->sync),
            cl_torn_name((cl_torn_mode)g->torn));
    rpt_csv_num(f, g->page_size);
    rpt_csv_num(f, g->pool_bytes);
    rpt_csv_num(f, g->checkpoint_bytes);
    rpt_csv_num(f, g->segment_bytes);
    fprintf(f, "%u,%u,%u,", g->txns, g->keys, g->drain);
}

void rpt_csv_header(FILE *f)
{
    fprintf(
        f, "trial,seed,mode,workload,variant,crash_point,points,delay_us,"
           "damage,issued,acked,durable,recovered,verdict,violation,"
           "recovery_us,bytes_replayed,records_replayed,pages_repaired,"
           "tail_cut,recovery_crashes,threads,claimed,chain_links,sync,torn,"
           "page_size,pool_bytes,checkpoint_bytes,segment_bytes,txns,keys,"
           "drain,reached,us_writer,us_damage,us_verify,us_total,detail,repair,"
           "repair_k,checkpoint_mode\n");
}

void rpt_csv_row(FILE *f, const trial_result *r)
{
    fprintf(f,
            "%" PRIu64 ",%016" PRIx64 ",%s,%s,%u,%" PRIu64 ",%" PRIu64
            ",%" PRIu64 ",",
            r->id, r->seed, trial_mode_name((trial_mode)r->mode),
            trial_workload_name(r), r->variant, r->crash_point, r->points,
            r->delay_us);
    rpt_csv_text(f, r->damage);
    fprintf(f,
            ",%u,%u,%u,%u,%s,%s,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
            ",%d,%u,%u,%u,%u,",
            r->issued, r->acked, r->durable, r->recovered,
            r->verdict == ORACLE_OK              ? "ok"
            : r->verdict == ORACLE_DETECTED      ? "detected"
            : r->verdict == ORACLE_EXPECTED_LOSS ? "expected-loss"
                                                 : "violation",
            rpt_is_violation(r) ? oracle_kind_name((oracle_kind)r->verdict)
                                : "",
            r->recovery_us, r->bytes, r->records, r->repaired, r->tail_cut,
            r->rec_crashes, r->threads ? r->threads : 1, r->claimed, r->links);
    rpt_csv_config(f, &r->cfg);
    fprintf(f, "0x%x,%u,%u,%u,%u,", r->reached, r->us_writer, r->us_damage,
            r->us_verify, r->us_total);
    rpt_csv_text(f, r->detail);
    fprintf(f, ",%s,%u,%s\n", trial_repair_name((trial_repair)r->repair),
            r->repair_k, cl_ckpt_name((cl_ckpt_mode)r->cfg.ckpt));
}

int rpt_csv_file(const char *path, const trial_result *res, size_t n,
                 int header)
{
    FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");

    if (f == NULL)
        return -1;
    if (header)
        rpt_csv_header(f);
    for (size_t i = 0; i < n; i++)
        rpt_csv_row(f, &res[i]);
    if (f == stdout)
        return fflush(f) == 0 ? 0 : -1;
    return fclose(f) == 0 ? 0 : -1;
}
