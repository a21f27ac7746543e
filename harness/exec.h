/*
 * exec.h - crash campaigns of any program: `crashtest --exec 'PROG {dir}'
 * --verify 'PROG2 {dir}'` (docs/TARGETS.md).
 *
 * PROG runs under the preload object (faults/interpose.h) on a fresh
 * directory, declaring its transactions and acknowledging them on fd 3
 * (crashlab_ack.h); it is crashed at an I/O point, optionally torn or cut
 * to a power-loss image; PROG2 then prints the recovered state as
 * key<TAB>value lines, and the oracle (exec_oracle.c) checks it is the
 * state after some prefix of the declared transactions no shorter than
 * the acknowledged one.
 */
#ifndef CL_EXEC_H
#define CL_EXEC_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "campaign.h"
#include "interpose.h"
#include "powerloss.h"
#include "rng.h"

/* The exec crash modes (bits of exec_config.modes). */
#define EX_KILL 0x1      /* killed at point k: the page cache survives */
#define EX_TORN 0x2      /* the write at k torn, then killed */
#define EX_POWERLOSS 0x4 /* killed at k, then a power-cut image */
/* killed at k (a power cut or not), then its recovery killed at a point
 * of its own (a power cut or not) */
#define EX_RCRASH 0x8
/* sync call k fails and loses what it covered, then (for --exec, one
 * time in two) a kill, and a power cut */
#define EX_FSYNC_FAIL 0x10
#define EX_CRASH_MODES (EX_KILL | EX_TORN | EX_POWERLOSS)
#define EX_ALL_MODES (EX_CRASH_MODES | EX_RCRASH | EX_FSYNC_FAIL)

typedef struct exec_config {
    const char *exec_cmd;   /* PROG's command line, {dir} replaced */
    const char *verify_cmd; /* PROG2's */
    const char *preload;    /* the preload object; NULL: next to crashtest */
    const char *dirbase;    /* scratch directories go here */
    const char *csv;        /* one row per trial, or NULL; "-": stdout */
    uint64_t seed;
    uint64_t trials;
    int64_t replay;  /* run only this trial, verbosely; -1: all */
    unsigned modes;  /* EX_* bits */
    uint32_t sector; /* 512 or 4096 */
    plimg_model persist;
    plimg_fs fs;            /* the file system's promises (--fs-model) */
    uint32_t timeout_s;     /* each run of PROG or PROG2 */
    const char *nondurable; /* comma-separated file name suffixes PROG may
                               map shared and writable (interpose.h) */
    int quiet;
    int stop_at_first;
    int json; /* the summary as JSON on stdout (report.h's rpt_json), the
                 text on stderr */
} exec_config;

/* Parse a --mode list: names of the EX_* bits in allowed (kill-io, torn,
 * powerloss, recovery-crash, fsync-fail), comma-separated, or all (every
 * bit of allowed).  Returns 0 or -1.  OUT: *modes. */
int exec_modes_parse(const char *list, unsigned allowed, unsigned *modes);

/* Run the campaign.  Returns the exit status: 0 no violation, 1 a
 * violation, 2 a set-up error (after a message naming it on stderr). */
int exec_run(const exec_config *cfg);

/* ---- the crash of a run under the preload object, shared with the
 * other targets run that way (redis.h) ---- */

/* "kill-io", "torn", "powerloss", "recovery-crash" or "fsync-fail" for one
 * EX_* bit. */
const char *ex_mode_name(unsigned m);

/* What a trial's number k names in mode (one EX_* bit): "sync call" for
 * fsync-fail, else "point". */
const char *ex_point_name(unsigned mode);

/* Draw trial t's crash from seed (in the stream tag): a mode among the
 * EX_* bits of modes, a point in 1..points, a power-cut seed.  Returns the
 * generator, for the trial's further draws. */
rng ex_draw_crash(uint64_t seed, uint64_t tag, uint64_t t, unsigned modes,
                  uint64_t points, unsigned *mode, uint64_t *k,
                  uint64_t *pl_seed);

/* Configure ic for a crash in mode at point k (0: none) of a run on root,
 * with the shadow log and graveyard at shadow and grave for powerloss and
 * recovery-crash; for fsync-fail, k is the sync call that fails (and no
 * crash: the harness kills the program). */
void ex_crash_config(interpose_config *ic, const char *root, unsigned mode,
                     uint64_t k, uint64_t pl_seed, uint32_t sector,
                     const char *shadow, const char *grave);

/* Append to buf (len bytes) which sync call k of a fsync-fail run failed,
 * or that the run made fewer (sh: the run's results). */
void ex_fsync_describe(const crashio_shared *sh, uint64_t k, char *buf,
                       size_t len);

/* 1 if a trial of mode (one EX_* bit) with recovery-crash seed rc_seed has
 * a power cut after its first crash: powerloss and fsync-fail always
 * (the cut is what loses what the failed sync covered), recovery-crash
 * one time in two. */
int ex_first_cut(unsigned mode, uint64_t rc_seed);

/* Describe, into buf, the crash sh reports for point k. */
void ex_crash_describe(const crashio_shared *sh, uint64_t k, char *buf,
                       size_t len);

/* recovery-crash, shared by the targets run this way: after the first
 * crash (and its power cut, if power is set), run the target's recovery
 * under the interposer on the image to count its I/O points (the image
 * kept aside and put back after: a target's root is fixed), then again,
 * killed at a point drawn among them, one time
 * in two followed by a power cut that may drop what that recovery and,
 * after a kill, the crashed run left unsynced (the shadow log goes on
 * across the kill).  The target's part: */
typedef struct ex_rcrash {
    /* in */
    const char *dir, *root, *saved, *shadow, *grave;
    uint32_t sector;
    plimg_model persist;
    plimg_fs fs;
    int strict;       /* the interposer refuses changes outside root */
    uint64_t seed;    /* the trial's recovery-crash seed */
    uint64_t pl_seed; /* the first crash's power-cut seed */
    /* run the recovery on root under ic until it has recovered (or ended,
     * or was killed); OUT: *sh as it left it, *ran 0 if it could not
     * recover at all (then nothing is crashed); what[0..len) the call of
     * point ic->crash_at, or "".  Returns 0, or 2 after a set-up error. */
    int (*run)(void *ctx, const interpose_config *ic, crashio_shared *sh,
               int *ran, char *what, size_t len);
    void *ctx;
    /* in and out */
    int power;    /* a power cut came after the last acknowledgement */
    char *damage; /* the trial's damage, appended to */
    size_t dlen;
    uint64_t rpoint;      /* out: the point the recovery was killed at, or 0 */
    char err[300];        /* out, when ex_recovery_crash returns -1 */
    const char *err_what; /* what err is about */
} ex_rcrash;

/* Crash x's recovery (above).  Returns 0, 2 (x->run's set-up error), or
 * -1 with the set-up error in x->err about x->err_what. */
int ex_recovery_crash(ex_rcrash *x);

/* Turn root into a power-cut image from shadow under model, and append
 * "; power cut: " and its description to damage.  Returns 0, or -1 with
 * why in err. */
int ex_power_cut(const char *root, const char *shadow, plimg_model model,
                 plimg_fs fs, uint32_t sector, uint64_t seed, char *damage,
                 size_t dlen, char *err, size_t errlen);

/* 0 if the preload object at path can be read, else 2 after a message on
 * stderr saying how to get one (a set-up error). */
int ex_preload_check(const char *path);

/* The sentence that says what the interposer refused (res->refused). */
void ex_refusal(const interpose_result *res, char *msg, size_t len);

/* Open the CSV file path ("-": stdout) and write header.  Returns it, or
 * NULL after a message on stderr. */
FILE *ex_csv_open(const char *path, const char *header);

/* Write s as one quoted CSV field. */
void ex_csv_quoted(FILE *f, const char *s);

/* ---- the JSON summary of a campaign run this way (report.h's
 * rpt_json), shared with redis.c ---- */

/* The options of a crash, into buf: " --mode M --persist P
 * [--fs-model F] --sector S" (modes: EX_* bits). */
void ex_crash_options(unsigned modes, plimg_model persist, plimg_fs fs,
                      uint32_t sector, char *buf, size_t len);

/* The replay line of trial t of the campaign of seed whose other options
 * (those that decide its trials) are opts, on f. */
void ex_replay_print(FILE *f, uint64_t seed, uint64_t t, const char *opts);

/* What the summary says of the campaign beside its trials. */
typedef struct ex_summary {
    const char *runner; /* "exec", "redis": campaign.runner and target */
    uint64_t seed, trials;
    unsigned jobs;
    plimg_fs fs;
    const char *promise; /* every trial's, as oracle_promise_name says it */
    char options[1024];  /* those that replay a trial after --seed and
                            --replay */
    campaign_fact facts[CAMPAIGN_FACTS];
    int nfacts;
} ex_summary;

/* Print the JSON summary of the trials res[0..n) of campaign s, which ran
 * for elapsed_ns, on stdout.  Returns 0, or 2 (out of memory, said on
 * stderr). */
int ex_json(const ex_summary *s, const trial_result *res, size_t n,
            uint64_t elapsed_ns);

/* Trial t's outcome as a row of the summary: its crash (one EX_* bit, at
 * point k) and its verdict (an oracle_kind). */
void ex_result_set(trial_result *r, uint64_t t, unsigned mode, uint64_t k,
                   int verdict);

/* ---- the protocol and the oracle (exec_oracle.c) ---- */

typedef struct ex_op {
    char *key;
    char *value; /* NULL: deleted */
} ex_op;

typedef struct ex_txn {
    uint64_t id;
    ex_op *ops;
    size_t nops;
} ex_txn;

/* What PROG said on fd 3. */
typedef struct ex_decl {
    ex_txn *txns;
    size_t ntxns;
    size_t acked;         /* acknowledged against any crash (ack) */
    size_t acked_process; /* against a crash of PROG only (ackp) */
} ex_decl;

/* A recovered state: PROG2's lines. */
typedef struct ex_state {
    ex_op *kv; /* value never NULL */
    size_t n;
} ex_state;

/* Parse PROG's fd-3 bytes buf[0..len) into *d.  Returns 0, or -1 with why
 * (a sentence naming the line) in err. */
int ex_decl_parse(const char *buf, size_t len, ex_decl *d, char *err,
                  size_t errlen);
void ex_decl_free(ex_decl *d);

/* Parse PROG2's output into *s.  Returns 0, or -1 with why in err. */
int ex_state_parse(const char *buf, size_t len, ex_state *s, char *err,
                   size_t errlen);
void ex_state_free(ex_state *s);

/* The oracle's verdict. */
typedef enum ex_verdict {
    EX_OK = 0,
    EX_LOST_ACK,      /* a prefix, shorter than what the crash must keep */
    EX_NOT_PREFIX,    /* the state after no prefix at all */
    EX_EXPECTED_LOSS, /* after a power cut, shorter than what a crash of
                         PROG alone must keep: promised nothing, no pass */
} ex_verdict;

/* How many of d's transactions a crash must keep: after a power cut
 * (power) those acknowledged against any crash, else also those
 * acknowledged against a crash of PROG. */
size_t ex_decl_kept(const ex_decl *d, int power);

/* Check s against d after a crash (power: with a power cut).  OUT:
 * *match, the longest prefix s equals (or -1). */
ex_verdict ex_check(const ex_decl *d, const ex_state *s, int power,
                    int64_t *match);

const char *ex_verdict_name(ex_verdict v);

#endif
