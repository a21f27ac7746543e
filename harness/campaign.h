/*
 * campaign.h - a campaign: many trials from one seed, run by parallel
 * worker processes, each trial a pure function of (seed, trial number).
 */
#ifndef CL_CAMPAIGN_H
#define CL_CAMPAIGN_H

#include <stddef.h>
#include <stdint.h>

#include "swarm.h"
#include "trial.h"

#define CAMPAIGN_MAX_VARIANTS 16
/* Further variants a swarm campaign may draw to reach the mechanisms its
 * first ones did not (campaign.c), and the candidates it may try: per
 * workload kind, at most CAMPAIGN_EXTRA_TRIES in all, and no more once
 * CAMPAIGN_EXTRA_IDLE in a row reached nothing missing. */
#define CAMPAIGN_EXTRA_VARIANTS 8
#define CAMPAIGN_EXTRA_TRIES_PER_KIND 8
#define CAMPAIGN_EXTRA_TRIES 48
#define CAMPAIGN_EXTRA_IDLE 12

/* A fact of a runner of its own for its JSON summary (campaign.runner). */
#define CAMPAIGN_FACTS 6
typedef struct campaign_fact {
    const char *name; /* a JSON key, prefixed with the runner's name */
    const char *text; /* a string value; NULL: num */
    uint64_t num;
} campaign_fact;

typedef struct campaign {
    uint64_t seed;
    uint64_t trials;   /* trials to run (0: until duration) */
    double duration_s; /* stop starting trials after this (0: none) */
    int jobs;
    int nmodes;
    trial_mode modes[MODE_COUNT];
    int nkinds;
    wl_kind kinds[WL_KINDS];
    uint32_t txns;     /* transactions per workload (0: per-kind default) */
    uint32_t variants; /* workload variants (seeds) per kind */
    uint32_t max_ops, max_value;
    uint32_t threads; /* writer threads of every workload variant (1: one
                         thread); 0: drawn per variant (campaign.c) */
    int exhaustive;
    int64_t replay;       /* trial to replay, or -1 */
    int shrink;           /* with replay: look for a smaller reproducer */
    uint64_t crash_point; /* with replay: force this crash point (0: the
                             trial's own) */
    uint64_t fail_at;     /* with replay of fsync-fail: force the failing
                             sync to this I/O point (0: the trial's own) */
    uint64_t shard_index, shard_count; /* run trials i with i % count ==
                                          index */
    char dir[3000];                    /* the scratch directory */
    const char *csv;                   /* CSV output path, or NULL */
    int json;                          /* summary as JSON on stdout */
    int quiet;                         /* no progress line */
    int profile;                       /* the summary says where each mode's
                                          time went (trial_phases) */
    int stop_at_first;                 /* stop handing out trials past the
                                          first violation (every lower id
                                          still runs) */
    uint64_t server_every;             /* one trial in server_every (those with
                                          id % server_every == server_every - 1) is a
                                          server trial, of the server modes in turn;
                                          0: only the modes of `modes` */
    const char *target_name;           /* the target as the summary names it */
    int swarm;                         /* each variant draws its configuration
                                          (swarm.h) */
    swarm_pins pins;                   /* what the options pinned */
    trial_env env;                     /* template for the workers */
    char options[1024]; /* the options that define the trials, for replay
                           command lines */

    /* A campaign run by a runner of its own (crashtest --exec, --target
     * redis: exec.h, redis.h), described here only for its JSON summary
     * (rpt_json): runner names it, NULL for campaign.c's.  Its summary
     * leaves out what only campaign.c's trials have (shard, duration,
     * the engine's mechanisms, recovery times) and adds facts. */
    const char *runner;
    const char *promise; /* oracle_promise_name of every trial's
                            configuration; NULL: rpt_json works it out */
    campaign_fact facts[CAMPAIGN_FACTS];
    int nfacts;

    /* filled by campaign_prepare */
    trial_profile *profiles; /* [nkinds * vstride]: kind i's variants are
                                profiles[i * vstride + 0 .. nvar[i] - 1] */
    uint32_t vstride;
    uint32_t nvar[WL_KINDS]; /* variants per kind: `variants`, and any
                                drawn to reach a mechanism */
    uint64_t exhaustive_total;
    uint64_t block; /* trial ids per block (campaign.c) */
} campaign;

/* Counting runs for every workload variant.  Returns 0, or -1 with a
 * message on stderr. */
int campaign_prepare(campaign *c);
void campaign_free(campaign *c);

/* The spec of trial id (after campaign_prepare).  Returns 0, or -1 if id is
 * past the end of an exhaustive campaign. */
int campaign_spec(const campaign *c, uint64_t id, trial_spec *s);

/* The mode of trial id, as campaign_spec gives it, without the workload
 * variants' counting runs: of an exhaustive campaign it needs only the
 * points and pwrites counts of profiles[0].  Returns 0, or -1 if id is past
 * the end of an exhaustive campaign. */
int campaign_mode(const campaign *c, uint64_t id, trial_mode *m);

/* Run the campaign (or the replay): progress, CSV, summary.  Returns the
 * process exit status: 0 no violation, 1 violations, 2 set-up error. */
int campaign_run(campaign *c);

/* Default transactions per workload kind. */
uint32_t campaign_default_txns(wl_kind k);

/* The longest workload of the campaign's variants (after
 * campaign_prepare). */
uint32_t campaign_max_txns(const campaign *c);

#endif
