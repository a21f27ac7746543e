/*
 * crashtest_merge.c - crashtest --merge: the shards of one campaign put
 * together again.
 *
 * Each shard ran with --shard I/N --json --csv FILE: its JSON summary says
 * which campaign it belongs to (seed, version, trial count or duration,
 * the options that define the trials) and which shard it is; its CSV holds
 * one row per trial, everything the summary is computed from.  The merge
 * checks that the summaries are of one campaign, every shard once, and
 * that the rows are exactly the shards' trials (no trial twice, none
 * missing from a shard that its summary counts); then it describes the
 * campaign again from its options, checks that each row's trial seed and
 * mode are the ones the campaign gives its trial id, and prints the
 * summary of all rows with the code a single run prints its own with.  Counts,
 * coverage and the recovery percentiles are therefore those of the whole
 * campaign, not combinations of the shards' figures.  What depends on the
 * clock: the elapsed time is the longest shard's (the shards of an array run at
 * once), the jobs are all the shards' jobs.  The JSON summary of an
 * --exec or --target redis campaign is refused: those run no shards.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crashtest.h"
#include "num.h"
#include "report.h"

/* What a shard's JSON summary says. */
typedef struct ct_shard {
    const char *path;
    char seed[40], version[64], options[1024];
    uint64_t index, count;
    double campaign_trials, duration, seconds, jobs, trials;
    int interrupted;
    int exhaustive; /* and then: */
    char ex_workload[64];
    double ex_txns, ex_points, ex_pwrites;
    size_t rows; /* rows of the CSV files that belong to it */
} ct_shard;

typedef struct ct_row {
    trial_result r;
    int file;    /* the argument it came from */
    size_t line; /* and its line there */
} ct_row;

/* The whole of file path, NUL-terminated, or NULL after a message. */
static char *ct_slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf = NULL;
    size_t len = 0, cap = 0, n;

    if (f == NULL) {
        fprintf(stderr, "crashtest: cannot read %s: %s\n", path,
                strerror(errno));
        return NULL;
    }
    do {
        if (cap - len < 65536) {
            char *nb = realloc(buf, cap = cap ? 2 * cap : 1 << 20);
            if (nb == NULL) {
                fprintf(stderr, "crashtest: %s: out of memory\n", path);
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
    } while (n > 0);
    buf[len] = '\0';
    if (ferror(f)) {
        fprintf(stderr, "crashtest: cannot read %s: %s\n", path,
                strerror(errno));
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

/* Read the JSON summary text of one shard.  Returns 0, or 2 after a
 * message. */
static int ct_shard_read(const char *path, const char *text, ct_shard *s)
{
    char shard[64], extra;
    unsigned long long i, n;
    const char *v, *missing = NULL;

    memset(s, 0, sizeof(*s));
    s->path = path;
    /* --exec and --target redis run their trials in one process, with no
     * --shard: their summaries have no shard and nothing to merge. */
    if (rpt_json_find(text, NULL, "shard") == NULL &&
        rpt_json_string(rpt_json_find(text, NULL, "target"), shard,
                        sizeof(shard)) == 0 &&
        (strcmp(shard, "exec") == 0 || strcmp(shard, "redis") == 0)) {
        fprintf(stderr,
                "crashtest: %s: the summary of a %s campaign, which runs "
                "no shards: --merge puts together only the shards of "
                "engine and library-target campaigns (--shard I/N)\n",
                path, strcmp(shard, "exec") == 0 ? "--exec" : "--target redis");
        return 2;
    }
    if (rpt_json_string(rpt_json_find(text, NULL, "seed"), s->seed,
                        sizeof(s->seed)) != 0)
        missing = "seed";
    else if (rpt_json_string(rpt_json_find(text, NULL, "version"), s->version,
                             sizeof(s->version)) != 0)
        missing = "version";
    else if (rpt_json_string(rpt_json_find(text, NULL, "options"), s->options,
                             sizeof(s->options)) != 0)
        missing = "options";
    else if (rpt_json_string(rpt_json_find(text, NULL, "shard"), shard,
                             sizeof(shard)) != 0 ||
             sscanf(shard, "%llu/%llu%c", &i, &n, &extra) != 2 || n == 0 ||
             i >= n)
        missing = "shard";
    else if (rpt_json_number(rpt_json_find(text, NULL, "campaign_trials"),
                             &s->campaign_trials) != 0)
        missing = "campaign_trials";
    else if (rpt_json_number(rpt_json_find(text, NULL, "duration"),
                             &s->duration) != 0)
        missing = "duration";
    else if (rpt_json_number(rpt_json_find(text, NULL, "seconds"),
                             &s->seconds) != 0)
        missing = "seconds";
    else if (rpt_json_number(rpt_json_find(text, NULL, "jobs"), &s->jobs) != 0)
        missing = "jobs";
    else if (rpt_json_number(rpt_json_find(text, NULL, "trials"), &s->trials) !=
             0)
        missing = "trials";
    else if ((v = rpt_json_find(text, NULL, "interrupted")) == NULL)
        missing = "interrupted";
    if (missing != NULL) {
        fprintf(stderr,
                "crashtest: %s: not the JSON summary of a shard (no valid "
                "\"%s\"): run each shard with --shard I/N --json\n",
                path, missing);
        return 2;
    }
    s->index = i;
    s->count = n;
    s->interrupted = strncmp(v, "true", 4) == 0;
    if (rpt_json_find(text, NULL, "exhaustive") != NULL) {
        s->exhaustive = 1;
        if (rpt_json_string(rpt_json_find(text, "exhaustive", "workload"),
                            s->ex_workload, sizeof(s->ex_workload)) != 0 ||
            rpt_json_number(rpt_json_find(text, "exhaustive", "txns"),
                            &s->ex_txns) != 0 ||
            rpt_json_number(rpt_json_find(text, "exhaustive", "points"),
                            &s->ex_points) != 0 ||
            rpt_json_number(rpt_json_find(text, "exhaustive", "pwrites"),
                            &s->ex_pwrites) != 0) {
            fprintf(stderr, "crashtest: %s: a bad \"exhaustive\" entry\n",
                    path);
            return 2;
        }
    }
    return 0;
}

/* Append the rows of one CSV text.  Returns 0, or 2 after a message. */
static int ct_rows_read(const char *path, int file, char *text, ct_row **rows,
                        size_t *n, size_t *cap)
{
    size_t line = 0;
    char err[200];

    for (char *p = text, *nl; *p != '\0'; p = nl + 1) {
        nl = strchr(p, '\n');
        if (nl == NULL) {
            fprintf(stderr,
                    "crashtest: %s: the last line has no end (a shard still "
                    "running, or cut short?)\n",
                    path);
            return 2;
        }
        *nl = '\0';
        line++;
        if (line == 1 && rpt_csv_is_header(p))
            continue;
        if (*n == *cap) {
            size_t nc = *cap ? 2 * *cap : 1024;
            ct_row *nr = realloc(*rows, nc * sizeof(*nr));
            if (nr == NULL) {
                fprintf(stderr, "crashtest: out of memory\n");
                return 2;
            }
            *rows = nr;
            *cap = nc;
        }
        if (rpt_csv_parse(p, &(*rows)[*n].r, err, sizeof(err)) != 0) {
            fprintf(stderr,
                    "crashtest: %s line %zu: not a row of a crashtest CSV "
                    "of this version: %s\n",
                    path, line, err);
            return 2;
        }
        (*rows)[*n].file = file;
        (*rows)[(*n)++].line = line;
    }
    return 0;
}

static int ct_row_cmp(const void *a, const void *b)
{
    const ct_row *x = a, *y = b;

    return x->r.id < y->r.id ? -1 : x->r.id > y->r.id;
}

/* Are the shards one campaign's, each once, all of them?  Returns 0, or 2
 * after a message. */
static int ct_check_shards(const ct_shard *sh, int ns)
{
    const ct_shard *a = &sh[0];
    uint64_t n = a->count;
    const ct_shard **by = calloc(n, sizeof(*by));
    size_t missing = 0;

    if (by == NULL) {
        fprintf(stderr, "crashtest: out of memory\n");
        return 2;
    }
    for (int i = 0; i < ns; i++) {
        const ct_shard *b = &sh[i];
        const char *what =
            strcmp(a->seed, b->seed) != 0              ? "seed"
            : strcmp(a->version, b->version) != 0      ? "crashlab version"
            : strcmp(a->options, b->options) != 0      ? "option string"
            : a->campaign_trials != b->campaign_trials ? "trial count"
            : a->duration != b->duration               ? "duration"
            : a->count != b->count                     ? "number of shards"
                                                       : NULL;
        if (what != NULL) {
            fprintf(stderr,
                    "crashtest: %s and %s are not shards of one campaign: "
                    "the %s differs (seed %s, version %s, %" PRIu64
                    " shards, options '%s'; and seed %s, version %s, %" PRIu64
                    " shards, options '%s')\n",
                    a->path, b->path, what, a->seed, a->version, a->count,
                    a->options, b->seed, b->version, b->count, b->options);
            free(by);
            return 2;
        }
        if (by[b->index] != NULL) {
            fprintf(stderr,
                    "crashtest: shard %" PRIu64 "/%" PRIu64
                    " is given twice: %s and %s\n",
                    b->index, n, by[b->index]->path, b->path);
            free(by);
            return 2;
        }
        by[b->index] = b;
    }
    for (uint64_t i = 0; i < n; i++)
        missing += by[i] == NULL;
    if (missing > 0) {
        fprintf(stderr,
                "crashtest: %zu of the %" PRIu64 " shards missing:", missing,
                n);
        for (uint64_t i = 0, shown = 0; i < n && shown < 20; i++)
            if (by[i] == NULL) {
                fprintf(stderr, " %" PRIu64 "/%" PRIu64, i, n);
                shown++;
            }
        fprintf(stderr, " (give every shard's JSON summary and CSV)\n");
        free(by);
        return 2;
    }
    free(by);
    return 0;
}

/* Are the rows exactly the shards' trials?  rows sorted by id.  Returns
 * 0, or 2 after a message. */
static int ct_check_rows(ct_shard *sh, int ns, const ct_row *rows, size_t n,
                         char **files)
{
    uint64_t count = sh[0].count, total = (uint64_t)sh[0].campaign_trials;
    ct_shard **by = calloc(count, sizeof(*by));

    if (by == NULL) {
        fprintf(stderr, "crashtest: out of memory\n");
        return 2;
    }
    for (int i = 0; i < ns; i++)
        by[sh[i].index] = &sh[i];
    for (size_t i = 0; i < n; i++) {
        const trial_result *r = &rows[i].r;
        if (i > 0 && rows[i - 1].r.id == r->id) {
            fprintf(stderr,
                    "crashtest: trial %" PRIu64 " is in %s and in %s: "
                    "overlapping shards, or one CSV given twice\n",
                    r->id, files[rows[i - 1].file], files[rows[i].file]);
            free(by);
            return 2;
        }
        if (total > 0 && r->id >= total) {
            fprintf(stderr,
                    "crashtest: %s: trial %" PRIu64 " is past the "
                    "campaign's %" PRIu64 " trials: a CSV of another "
                    "campaign\n",
                    files[rows[i].file], r->id, total);
            free(by);
            return 2;
        }
        by[r->id % count]->rows++;
    }
    for (uint64_t i = 0; i < count; i++) {
        const ct_shard *s = by[i];
        uint64_t want = total / count + (i < total % count);
        if ((double)s->rows != s->trials) {
            fprintf(stderr,
                    "crashtest: shard %" PRIu64 "/%" PRIu64 ": its summary "
                    "(%s) counts %.0f trials, the CSV files given hold %zu "
                    "of its trials (%s)\n",
                    i, count, s->path, s->trials, s->rows,
                    (double)s->rows < s->trials
                        ? "give its CSV file, complete"
                        : "a CSV of another run of it is among them");
            free(by);
            return 2;
        }
        if (total > 0 && s->rows != want) {
            fprintf(stderr,
                    "crashtest: shard %" PRIu64 "/%" PRIu64 " (%s) is "
                    "incomplete: %zu of its %" PRIu64 " trials ran%s; run "
                    "it again\n",
                    i, count, s->path, s->rows, want,
                    s->interrupted ? " (interrupted)" : "");
            free(by);
            return 2;
        }
    }
    free(by);
    return 0;
}

/* Are the rows the trials of campaign c, as described again from the
 * summaries?  A trial's seed is a function of the campaign's seed and its
 * id, and its mode one of its id and the campaign's modes: a CSV of
 * another seed, or of other modes, has rows that differ in one or the
 * other.  (A CSV of the same seed and modes but other options, --sync for
 * one, is not told apart here.)  Returns 0, or 2 after a message. */
static int ct_check_trials(const campaign *c, const ct_row *rows, size_t n,
                           char **files)
{
    for (size_t i = 0; i < n; i++) {
        const trial_result *r = &rows[i].r;
        uint64_t seed = rng_trial_seed(c->seed, r->id);
        trial_mode mode;

        /* ids past the end of the campaign were refused already
         * (ct_check_rows) */
        if (campaign_mode(c, r->id, &mode) != 0 ||
            (r->seed == seed && r->mode == mode))
            continue;
        fprintf(stderr,
                "crashtest: %s line %zu: trial %" PRIu64 " is not this "
                "campaign's: its seed is %016" PRIx64 " and its mode %s, "
                "the campaign's trial %" PRIu64 " has seed %016" PRIx64
                " and mode %s (a CSV of another seed, or of other modes)\n",
                files[rows[i].file], rows[i].line, r->id, r->seed,
                trial_mode_name((trial_mode)r->mode), r->id, seed,
                trial_mode_name(mode));
        return 2;
    }
    return 0;
}

/* Describe the campaign of shard s again, from its options, into a (its
 * programs are not looked for: nothing runs).  Returns 0, or 2 after a
 * message. */
static int ct_describe(const ct_shard *s, ct_args *a)
{
    /* the campaign keeps pointers into its options (--target, --mode,
     * --kvserver): they live as long as it */
    static char opts[sizeof(s->options)], count[64];
    char *argv[260], *save = NULL;
    int argc = 0, rc;

    snprintf(opts, sizeof(opts), "%s", s->options);
    argv[argc++] = "crashtest";
    argv[argc++] = "--seed";
    argv[argc++] = (char *)s->seed;
    if (s->campaign_trials > 0) {
        snprintf(count, sizeof(count), "%.0f", s->campaign_trials);
        argv[argc++] = "--trials";
    } else {
        snprintf(count, sizeof(count), "%.17g", s->duration);
        argv[argc++] = "--duration";
    }
    argv[argc++] = count;
    for (char *t = strtok_r(opts, " ", &save); t != NULL && argc < 258;
         t = strtok_r(NULL, " ", &save))
        argv[argc++] = t;
    argv[argc] = NULL;
    if ((rc = ct_parse(argc, argv, a)) != 0)
        return rc;
    a->describe_only = 1;
    if ((rc = ct_expand(a)) != 0)
        return rc;
    if (strcmp(a->c.options, s->options) != 0) {
        fprintf(stderr,
                "crashtest: the shards' options read back as '%s', not "
                "'%s'\n",
                a->c.options, s->options);
        return 2;
    }
    return 0;
}

int ct_merge(const ct_args *m)
{
    static ct_args d;
    ct_shard *sh = calloc((size_t)m->nmerge, sizeof(*sh));
    ct_row *rows = NULL;
    trial_result *res = NULL;
    trial_profile prof;
    size_t nrows = 0, caprows = 0, violations = 0;
    double secs = 0, job_secs = 0;
    int ns = 0, rc = 2, interrupted = 0, jobs = 0;
    campaign *c = &d.c;

    if (sh == NULL) {
        fprintf(stderr, "crashtest: out of memory\n");
        return 2;
    }
    for (int i = 0; i < m->nmerge; i++) {
        const char *path = m->merge_files[i];
        char *text = ct_slurp(path), *p = text;
        int r;
        if (text == NULL)
            goto out;
        while (*p == ' ' || *p == '\n')
            p++;
        if (*p == '{')
            r = ct_shard_read(path, text, &sh[ns++]);
        else
            r = ct_rows_read(path, i, text, &rows, &nrows, &caprows);
        free(text);
        if (r != 0)
            goto out;
    }
    if (ns == 0) {
        fprintf(stderr, "crashtest: --merge needs the JSON summary of every "
                        "shard (crashtest --shard I/N --json >FILE)\n");
        goto out;
    }
    if (nrows > 0) /* none: rows may be NULL */
        qsort(rows, nrows, sizeof(*rows), ct_row_cmp);
    if (ct_check_shards(sh, ns) != 0 ||
        ct_check_rows(sh, ns, rows, nrows, m->merge_files) != 0 ||
        ct_describe(&sh[0], &d) != 0)
        goto out;
    for (int i = 0; i < ns; i++) {
        secs = sh[i].seconds > secs ? sh[i].seconds : secs;
        job_secs += sh[i].seconds * sh[i].jobs;
        jobs += (int)sh[i].jobs;
        interrupted |= sh[i].interrupted;
    }
    c->jobs = jobs;
    c->json = m->c.json;
    c->csv = m->c.csv;
    if (sh[0].exhaustive) {
        memset(&prof, 0, sizeof(prof));
        if (wl_parse(sh[0].ex_workload, &prof.wl.kind) != 0) {
            fprintf(stderr, "crashtest: %s: unknown workload %s\n", sh[0].path,
                    sh[0].ex_workload);
            goto out;
        }
        prof.wl.txns = (uint32_t)sh[0].ex_txns;
        prof.points = (uint64_t)sh[0].ex_points;
        prof.npwrites = (uint64_t)sh[0].ex_pwrites;
        c->profiles = &prof;
        c->exhaustive_total = (uint64_t)sh[0].campaign_trials;
    }
    if (ct_check_trials(c, rows, nrows, m->merge_files) != 0)
        goto out;
    res = malloc((nrows ? nrows : 1) * sizeof(*res));
    if (res == NULL) {
        fprintf(stderr, "crashtest: out of memory\n");
        goto out;
    }
    for (size_t i = 0; i < nrows; i++)
        res[i] = rows[i].r;
    ct_print_seed(c);
    ct_print_exhaustive(c);
    for (size_t i = 0; i < nrows; i++)
        if (oracle_is_violation((oracle_kind)res[i].verdict))
            rpt_violation(stderr, c, &res[i]);
    fprintf(stderr,
            "crashtest: merged %d shards: %zu trials, %.1f job-seconds in "
            "all: %.1f crash states verified per job-second\n",
            ns, nrows, job_secs, job_secs > 0 ? nrows / job_secs : 0.0);
    fflush(stderr);
    if (c->csv != NULL && rpt_csv_file(c->csv, res, nrows, 1) != 0) {
        fprintf(stderr, "crashtest: cannot write %s: %s\n", c->csv,
                strerror(errno));
        goto out;
    }
    violations = (size_t)rpt_summary(c->json ? NULL : stdout, c, res, nrows,
                                     (uint64_t)(secs * 1e6), interrupted);
    if (c->json)
        rpt_json(stdout, c, res, nrows, (uint64_t)(secs * 1e6), interrupted);
    rc = violations > 0 ? 1 : 0;
out:
    if (c->profiles == &prof)
        c->profiles = NULL;
    free(res);
    free(rows);
    free(sh);
    return rc;
}
