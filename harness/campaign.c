/*
 * campaign.c - profiles, trial specs, worker processes and the collection
 * of results.
 *
 * Trial id -> spec (campaign_spec): the mode is modes[id % nmodes] and the
 * workload kinds[(id / nmodes) % nkinds], so every mode and workload gets
 * its share of any run; everything else (crash point, damage) is drawn from
 * the trial seed mix(seed, id).  In exhaustive mode the ids enumerate every
 * (damage class, I/O point) of the first workload.  The default campaign
 * also runs server trials: one id in server_every (a number prime to
 * nmodes * nkinds, so that the ids it takes are spread over every mode and
 * workload) is a server trial instead, the server modes taking turns;
 * every other id keeps the spec it would have without them.
 *
 * Blocks: the ids are cut into blocks of consecutive ids (campaign_block),
 * and within a block every trial of one workload kind runs the same
 * workload variant, drawn from (seed, block, kind).  So the trials of a
 * block whose crash is at an I/O point, and the error trials that branch
 * off at their fault, can share one writer run per kind (trial_run_batch),
 * which yields their crash states one after another.  A
 * block is G rounds of nmodes * nkinds ids, G chosen so that a writer
 * serves about CAMPAIGN_STATES_PER_WRITER trials; the block size depends
 * only on the options that define the trials, so a trial stays a pure
 * function of (options, seed, id), shards and replays included.
 *
 * Workers are forked processes, each with its own scratch directory and
 * shared memory; they take units of work (a block and a workload kind)
 * from a shared counter, run the ids of the unit that belong to their
 * shard and the trial limit, and send each result (a fixed-size record,
 * smaller than PIPE_BUF so a write is atomic) through a pipe.  The parent
 * shows progress and, at the end, sorts the results by id.
 */
#include "campaign.h"

#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cl_io.h"
#include "clk.h"
#include "fsutil.h"
#include "report.h"
#include "rng.h"
#include "util.h"

_Static_assert(sizeof(trial_result) < 4096, "results fit a pipe write");

/* About how many trials one writer run serves in a campaign that is not
 * exhaustive: enough to make the writer's cost small per crash state,
 * few enough that blocks stay short for load balance and --duration. */
#define CAMPAIGN_STATES_PER_WRITER 16
/* Blocks from this size on are mapped and unmapped on their own in a
 * worker (campaign_worker). */
#define CAMPAIGN_MMAP_THRESHOLD (128u << 10)
/* Block of an exhaustive campaign: consecutive ids of one workload. */
#define CAMPAIGN_EXHAUSTIVE_BLOCK TRIAL_BATCH_MAX

/* Small by default: a crash anywhere in a few dozen transactions reaches
 * every code path of recovery (including checkpoints, overflow chains,
 * splits and merges), and small workloads make many trials per second. */
static const uint32_t campaign_txns_default[WL_KINDS] = {
    [WL_INSERTS] = 48, [WL_OVERWRITE] = 40,  [WL_TXN] = 32,   [WL_DELETES] = 40,
    [WL_LARGE] = 10,   [WL_CHECKPOINT] = 48, [WL_MIXED] = 40,
};

uint32_t campaign_default_txns(wl_kind k)
{
    return (unsigned)k < WL_KINDS ? campaign_txns_default[k] : 50;
}

/* Writer threads of a workload variant: pinned by --threads, else drawn
 * from the variant's seed: one variant in CAMPAIGN_MT_SHARE commits from 2
 * to WL_MAX_THREADS threads at once (trial_mt.c), so that the default
 * campaign reaches group commit with followers.  An exhaustive campaign
 * enumerates the points of one run, which only one thread repeats. */
#define CAMPAIGN_MT_SHARE 4

static uint32_t campaign_threads(const campaign *c, const trial_profile *p)
{
    uint64_t x = rng_mix(p->wl.seed ^ 0x7468726561647321ull);

    if (c->threads > 0)
        return c->threads;
    if (c->exhaustive || p->wl.txns >= WL_MAX_THREADED_TXNS ||
        x % CAMPAIGN_MT_SHARE != 0)
        return 1;
    return 2 + (uint32_t)((x >> 16) % (WL_MAX_THREADS - 1));
}

static trial_profile *campaign_profile(const campaign *c, int kind_index,
                                       uint32_t variant)
{
    return &c->profiles[(size_t)kind_index * c->vstride + variant];
}

/* Trial ids per block (see the file comment). */
static uint64_t campaign_block(const campaign *c)
{
    uint64_t round = (uint64_t)c->nmodes * (uint64_t)c->nkinds, shared = 0,
             rounds;

    if (c->exhaustive)
        return CAMPAIGN_EXHAUSTIVE_BLOCK;
    for (int i = 0; i < c->nmodes; i++) {
        const trial_mode_info *m = trial_mode_get(c->modes[i]);
        /* an interposed target's error trials run alone (trial_batchable) */
        shared +=
            !target_is_background(c->env.target) &&
            (m->batchable || (m->branches && (c->env.target == NULL ||
                                              !c->env.target->interposed)));
    }
    if (shared == 0)
        return round;
    rounds = (CAMPAIGN_STATES_PER_WRITER + shared - 1) / shared;
    return rounds * round;
}

uint32_t campaign_max_txns(const campaign *c)
{
    uint32_t m = 0;

    for (int i = 0; i < c->nkinds; i++)
        for (uint32_t v = 0; v < c->nvar[i]; v++)
            if (campaign_profile(c, i, v)->wl.txns > m)
                m = campaign_profile(c, i, v)->wl.txns;
    return m;
}

/* The parameters of variant v of kind i: its workload seed, and its engine
 * configuration and workload size, the campaign's or drawn (aim non-NULL:
 * as the further variants are, swarm.h). */
static void campaign_variant(const campaign *c, int i, uint32_t v,
                             const swarm_aim *aim, trial_profile *p)
{
    uint32_t base = campaign_default_txns(c->kinds[i]);

    memset(p, 0, sizeof(*p));
    p->variant = v;
    p->eng = c->env.eng;
    p->wl.kind = c->kinds[i];
    p->wl.seed = rng_mix(c->seed ^ rng_mix(0xC0FFEEull + v) ^
                         ((uint64_t)c->kinds[i] << 40));
    p->wl.txns = c->txns ? c->txns : base;
    p->wl.max_ops = c->max_ops;
    p->wl.max_value = c->max_value;
    if (c->swarm)
        swarm_draw(&c->pins, base, aim, &p->eng, &p->wl);
    p->wl.threads = campaign_threads(c, p);
}

/* The engine's own mechanisms, each of which a writer's run may reach (the
 * recovery ones are seen in the recovery reports instead). */
#define CAMPAIGN_ACT_WRITER                                                    \
    (CL_ACT_CKPT | CL_ACT_EVICT | CL_ACT_SEG_ROLL | CL_ACT_SEG_REMOVE |        \
     CL_ACT_SB_WRITE | CL_ACT_TXN | CL_ACT_DWB | CL_ACT_DWB_WRAP |             \
     CL_ACT_CKPT_OPEN)

/* Coverage is counted per mechanism and sync class
 * (trial_sync_on_request): bit b of class k is bit b + 32 k.  Where each
 * commit syncs the log, a page written back or a checkpoint finds it
 * durable; where it is synced on request, eviction and checkpoints must
 * force it first, segments roll over unsynced records and recovery finds
 * unsynced tails.
 *
 * The classes a campaign's variants can draw: both, unless --sync pinned
 * one. */
static uint64_t campaign_classes_wanted(const campaign *c)
{
    uint64_t all = (uint64_t)CAMPAIGN_ACT_WRITER;

    /* no checkpoint left open beside commits in mode inline */
    if (c->pins.eng.checkpoint_mode == CL_CKPT_INLINE)
        all &= ~(uint64_t)CL_ACT_CKPT_OPEN;
    /* no doublewrite area, no doublewrite work */
    if (c->pins.eng.torn != CL_TORN_DEFAULT && c->pins.eng.torn != CL_TORN_DWB)
        all &= ~(uint64_t)(CL_ACT_DWB | CL_ACT_DWB_WRAP);

    if (c->pins.eng.sync == CL_SYNC_DEFAULT)
        return all | all << 32;
    return all << (32 * trial_sync_on_request(c->pins.eng.sync));
}

/* The mechanisms a profile's counting run was in at any of its points, in
 * its sync mode's class. */
static uint64_t campaign_reach(const trial_profile *p)
{
    uint32_t m = 0;

    for (uint64_t k = 0; k < p->points; k++)
        m |= p->acts[k];
    m &= CAMPAIGN_ACT_WRITER;
    return (uint64_t)m << (32 * trial_sync_on_request(p->eng.sync));
}

/* What a further variant aims at (swarm.h) to reach the mechanisms still
 * missing: one sync class, taking turns (try t) when both miss some, and
 * the settings under which that class's missing mechanisms run. */
static void campaign_aim(uint64_t missing, uint32_t t, swarm_aim *a)
{
    uint32_t each = (uint32_t)missing, on_request = (uint32_t)(missing >> 32);
    uint32_t m;

    memset(a, 0, sizeof(*a));
    if (each != 0 && on_request != 0)
        a->sync = 1 + (int)(t % 2);
    else
        a->sync = each != 0 ? 1 : 2;
    m = a->sync == 1 ? each : on_request;
    a->doublewrite = (m & (CL_ACT_DWB | CL_ACT_DWB_WRAP)) != 0;
    a->ring = (m & CL_ACT_DWB_WRAP) != 0;
    a->small_pool = (m & CL_ACT_EVICT) != 0;
    a->drain = (m & (CL_ACT_MERGE | CL_ACT_FREE_REUSE)) != 0;
    a->small_segments = (m & (CL_ACT_SEG_ROLL | CL_ACT_SEG_REMOVE)) != 0;
    a->checkpoints = (m & (CL_ACT_CKPT | CL_ACT_SB_WRITE | CL_ACT_SEG_REMOVE |
                           CL_ACT_CKPT_OPEN)) != 0;
    a->spread = (m & CL_ACT_CKPT_OPEN) != 0;
}

/* Coverage-directed swarm: a swarm campaign whose variants' runs leave some
 * mechanism unreached in some sync class draws further variants, kind
 * after kind (variant numbers `variants` and up, with the directed draw of
 * swarm.h aimed at what is missing), and keeps each one that reaches a
 * mechanism and class no kept variant reached, until every mechanism is
 * reached in every class, or CAMPAIGN_EXTRA_VARIANTS are kept, or the
 * tries (campaign.h) are drawn, or CAMPAIGN_EXTRA_IDLE tries in a row
 * reached nothing missing.  Only
 * variants whose run repeats exactly are candidates (one writer thread, a
 * sync mode without a timer), so that the same options always keep the
 * same variants and a replay finds its trial's.  Returns 0 or -1 (message
 * in err). */
static int campaign_extra_variants(campaign *c, trial_env *env, char *err,
                                   size_t errlen)
{
    uint64_t missing = campaign_classes_wanted(c);
    uint32_t kept = 0, idle = 0,
             tries = CAMPAIGN_EXTRA_TRIES_PER_KIND * (uint32_t)c->nkinds;

    /* what a run that does not repeat reached may differ from run to run:
     * it must not decide which further variants a campaign draws */
    for (int i = 0; i < c->nkinds; i++)
        for (uint32_t v = 0; v < c->nvar[i]; v++)
            if (trial_eng_repeats(&campaign_profile(c, i, v)->eng))
                missing &= ~campaign_reach(campaign_profile(c, i, v));
    if (tries > CAMPAIGN_EXTRA_TRIES)
        tries = CAMPAIGN_EXTRA_TRIES;
    for (uint32_t t = 0;
         t < tries && missing != 0 && kept < CAMPAIGN_EXTRA_VARIANTS &&
         idle < CAMPAIGN_EXTRA_IDLE;
         t++) {
        int i = (int)(t % (uint32_t)c->nkinds);
        trial_profile *p = campaign_profile(c, i, c->nvar[i]);
        swarm_aim aim;
        campaign_aim(missing, t / (uint32_t)c->nkinds, &aim);
        campaign_variant(c, i, c->variants + t / (uint32_t)c->nkinds, &aim, p);
        idle++;
        if (p->wl.threads > 1 || !trial_eng_repeats(&p->eng))
            continue;
        if (trial_profile_build(env, p, err, errlen) != 0)
            return -1;
        if ((campaign_reach(p) & missing) == 0) {
            trial_profile_free(p);
            continue;
        }
        idle = 0;
        missing &= ~campaign_reach(p);
        c->nvar[i]++;
        kept++;
    }
    return 0;
}

int campaign_prepare(campaign *c)
{
    char err[512];
    trial_env env = c->env;
    /* a target that runs under the interposer reports none of the
     * engine's mechanisms: nothing for further variants to reach */
    int extra = c->swarm && !c->exhaustive &&
                (c->env.target == NULL || !c->env.target->interposed),
        rc;
    uint32_t max_txns;

    c->vstride = c->variants + (extra ? CAMPAIGN_EXTRA_VARIANTS : 0);
    c->profiles = calloc((size_t)c->nkinds * c->vstride, sizeof(*c->profiles));
    if (c->profiles == NULL)
        return -1;
    for (int i = 0; i < c->nkinds; i++) {
        for (uint32_t v = 0; v < c->variants; v++)
            campaign_variant(c, i, v, NULL, campaign_profile(c, i, v));
        c->nvar[i] = c->variants;
    }
    snprintf(env.base, sizeof(env.base), "%s/profile", c->dir);
    max_txns = campaign_max_txns(c);
    if (extra && max_txns < SWARM_MAX_TXNS)
        max_txns = SWARM_MAX_TXNS;
    if ((rc = trial_env_init(&env, max_txns)) != 0) {
        fprintf(stderr, "crashtest: %s: %s\n", env.base, strerror(rc));
        return -1;
    }
    rc = 0;
    for (int i = 0; i < c->nkinds && rc == 0; i++)
        for (uint32_t v = 0; v < c->nvar[i] && rc == 0; v++)
            rc = trial_profile_build(&env, campaign_profile(c, i, v), err,
                                     sizeof(err));
    if (rc == 0 && extra)
        rc = campaign_extra_variants(c, &env, err, sizeof(err));
    trial_env_fini(&env);
    if (rc != 0) {
        fprintf(stderr, "crashtest: %s\n", err);
        return -1;
    }
    fs_rmrf(env.base);
    c->env.shm = NULL;
    if (c->exhaustive) {
        const trial_profile *p = campaign_profile(c, 0, 0);
        /* kill at every point (and after the end), tear every pwrite three
         * ways, and five power-cut models at every point */
        c->exhaustive_total =
            (p->points + 1) + 3 * p->npwrites + 5 * (p->points + 1);
    }
    c->block = campaign_block(c);
    return 0;
}

void campaign_free(campaign *c)
{
    if (c->profiles != NULL)
        for (int i = 0; i < c->nkinds; i++)
            for (uint32_t v = 0; v < c->nvar[i]; v++)
                trial_profile_free(campaign_profile(c, i, v));
    free(c->profiles);
    c->profiles = NULL;
}

/* The mechanisms a crash at point k of p's counting run comes in: the
 * engine's (CL_ACT_* bits) and, for every target, the window in which a
 * directory change is not yet durable (CAMPAIGN_DIR_WINDOW), where the
 * bugs of a missing directory sync show. */
#define CAMPAIGN_DIR_WINDOW 0x10000u
static uint32_t campaign_mech_at(const trial_profile *p, uint64_t k)
{
    return (p->acts[k - 1] & CAMPAIGN_ACT_WRITER) |
           (p->dirwin[k - 1] ? CAMPAIGN_DIR_WINDOW : 0);
}

/* A crash point inside a mechanism, for one-thread trials of p: half of
 * them pick one of the mechanisms p's counting run reached, each with the
 * same chance, and then a point (a pwrite when pwrites is set) that run
 * made in it; so a mechanism that takes a few points of a long run, a
 * merge or the doublewrite wrap, gets its share of crash states.  The other
 * half, and runs that reached none, get 0: draw over the whole run.  Both
 * draws are made either way, so the rest of the trial's draws do not
 * depend on the outcome. */
static uint64_t campaign_point_in_mechanism(const trial_profile *p, rng *r,
                                            int pwrites)
{
    uint64_t x = rng_next(r), y = rng_next(r), n = 0;
    uint64_t end = pwrites ? p->npwrites : p->points;
    uint32_t reach = 0, bit;
    int nbits, b;

#define CAMPAIGN_POINT(i) (pwrites ? p->pwrites[i] : (i) + 1)
    for (uint64_t i = 0; i < end; i++)
        reach |= campaign_mech_at(p, CAMPAIGN_POINT(i));
    nbits = __builtin_popcount(reach);
    if (nbits == 0 || x % 2 != 0)
        return 0;
    b = (int)((x / 2) % (uint64_t)nbits);
    for (bit = reach; b-- > 0;)
        bit &= bit - 1;
    bit &= -bit; /* the chosen mechanism: the lowest bit left */
    for (uint64_t i = 0; i < end; i++)
        n += (campaign_mech_at(p, CAMPAIGN_POINT(i)) & bit) != 0;
    y %= n; /* n >= 1: bit is in reach */
    for (uint64_t i = 0; i < end; i++)
        if ((campaign_mech_at(p, CAMPAIGN_POINT(i)) & bit) != 0 && y-- == 0)
            return CAMPAIGN_POINT(i);
#undef CAMPAIGN_POINT
    return 0;
}

static void campaign_pick_crash(const campaign *c, rng *r, trial_mode mode,
                                trial_spec *s)
{
    const trial_profile *p = s->prof;
    /* Concurrent writers number their own points: a crash point is drawn
     * over about as many as one of their runs had. */
    uint64_t points = s->threads > 1 ? p->mt_points : p->points;
    uint64_t run_us = s->threads > 1 ? p->mt_run_us : p->run_us;
    uint64_t first_us = s->threads > 1 ? p->mt_first_us : p->first_us;

    /* one-thread runs repeat their counting run's points */
    uint64_t in_mech =
        s->threads > 1 || (mode != MODE_KILL_IO && mode != MODE_TORN &&
                           mode != MODE_POWERLOSS)
            ? 0
            : campaign_point_in_mechanism(p, r, mode == MODE_TORN);

    switch (mode) {
    case MODE_KILL_IO:
        s->crash_point = in_mech ? in_mech : rng_range(r, 1, points + 1);
        s->action = CRASHIO_KILL;
        break;
    case MODE_TORN:
        if (s->threads > 1) {
            /* which of their points are pwrites is the run's own: the
             * point is torn if it is one, else the writer is killed
             * there */
            s->crash_point = rng_range(r, 1, points + 1);
            s->action = CRASHIO_TEAR;
            s->fill = CRASHIO_FILL_SEED;
        } else if (p->npwrites > 0) {
            s->crash_point =
                in_mech ? in_mech : p->pwrites[rng_below(r, p->npwrites)];
            s->action = CRASHIO_TEAR;
            s->fill = CRASHIO_FILL_SEED;
        } else {
            s->crash_point = rng_range(r, 1, p->points + 1);
        }
        break;
    case MODE_POWERLOSS:
        s->crash_point = in_mech ? in_mech : rng_range(r, 1, points + 1);
        s->powerloss = 1;
        s->pl.model = c->env.persist;
        s->pl.sector = c->env.sector;
        s->pl.seed = rng_next(r);
        break;
    case MODE_KILL_TIME:
        /* over the run from its first I/O point on (and a quarter past
         * its end): before it, a new process has made no file, however
         * long its start and open take -- most of a short run's time */
        if (first_us > run_us)
            first_us = run_us;
        s->delay_us = first_us + rng_below(r, (run_us - first_us) * 5 / 4 + 1);
        break;
    case MODE_EIO:
    case MODE_ENOSPC:
    case MODE_SHORT_WRITE:
    case MODE_FSYNC_FAIL:
    case MODE_WRITE_FAIL:
        trial_fault_pick(p, mode, r, c->env.persist, c->env.sector, s);
        break;
    default:
        break;
    }
}

/* The draws of a trial's spec once its mode and profile are set: its
 * writer threads, its crash and damage, from r (seeded with the trial's
 * seed and not drawn from yet). */
static void campaign_spec_draw(const campaign *c, rng *r, trial_spec *s)
{
    /* A concurrent variant's crash trials run its threads; its error
     * trials run them one after another, as the counting run did: their
     * fault is a call of that run; and so do its chains, whose links go on
     * from a recovered prefix of the workload's order. */
    if (s->prof->wl.threads > 1 && !trial_mode_is_error(s->mode) &&
        s->mode != MODE_CHAIN)
        s->threads = s->prof->wl.threads;
    if (s->mode == MODE_RECOVERY_CRASH || s->mode == MODE_CHAIN) {
        /* Half of the chains begin with a kill: it leaves what the writer
         * had not synced (log records, directory entries) in the page
         * cache, which a link's power cut can still drop, so that a
         * recovery that builds on it without making it durable is found
         * (trial_rcrash.c); a torn write or a power cut leaves only what
         * is on disk. */
        static const trial_mode rcrash[3] = {MODE_KILL_IO, MODE_TORN,
                                             MODE_POWERLOSS},
                                chain[4] = {MODE_KILL_IO, MODE_KILL_IO,
                                            MODE_TORN, MODE_POWERLOSS};
        trial_mode first = s->mode == MODE_CHAIN ? chain[rng_below(r, 4)]
                                                 : rcrash[rng_below(r, 3)];
        campaign_pick_crash(c, r, first, s);
        s->rec_seed = rng_next(r);
    } else {
        campaign_pick_crash(c, r, s->mode, s);
    }
}

/* The mode of trial id of an exhaustive campaign of profile p, and *k, its
 * place among the trials of that mode: every I/O point killed, then every
 * pwrite torn with each fill, then every point cut by each power-loss
 * model.  MODE_COUNT past the end. */
static trial_mode campaign_exhaustive_mode(const trial_profile *p, uint64_t id,
                                           uint64_t *k)
{
    uint64_t n = p->points + 1;

    *k = id;
    if (*k < n)
        return MODE_KILL_IO;
    *k -= n;
    if (*k < 3 * p->npwrites)
        return MODE_TORN;
    *k -= 3 * p->npwrites;
    if (*k < 5 * n)
        return MODE_POWERLOSS;
    return MODE_COUNT;
}

int campaign_mode(const campaign *c, uint64_t id, trial_mode *m)
{
    uint64_t k;

    if (c->exhaustive) {
        *m = campaign_exhaustive_mode(campaign_profile(c, 0, 0), id, &k);
        return *m == MODE_COUNT ? -1 : 0;
    }
    if (c->server_every > 0 && id % c->server_every == c->server_every - 1) {
        trial_mode server[MODE_COUNT];
        int n = trial_modes_of(MODE_GROUP_SERVER, server);
        *m = server[(id / c->server_every) % (uint64_t)n];
        return 0;
    }
    *m = c->modes[id % (uint64_t)c->nmodes];
    return 0;
}

/* campaign_spec without the campaign-wide settings of every trial. */
static int campaign_spec_trial(const campaign *c, uint64_t id, trial_spec *s)
{
    rng r;

    memset(s, 0, sizeof(*s));
    s->fault_point = -1;
    s->id = id;
    s->seed = rng_trial_seed(c->seed, id);
    rng_seed(&r, s->seed);
    if (c->exhaustive) {
        const trial_profile *p = campaign_profile(c, 0, 0);
        uint64_t k, n = p->points + 1;
        static const crashio_fill fills[3] = {
            CRASHIO_FILL_OLD, CRASHIO_FILL_ZERO, CRASHIO_FILL_GARBAGE};
        static const plimg_model models[5] = {
            PLIMG_ANY_SUBSET, PLIMG_PER_FILE_PREFIX, PLIMG_ORDERED,
            PLIMG_DROP_UNSYNCED_DATA, PLIMG_DROP_UNSYNCED_FILES};
        s->prof = p;
        s->mode = campaign_exhaustive_mode(p, id, &k);
        if (s->mode == MODE_COUNT)
            return -1;
        if (s->mode == MODE_KILL_IO) {
            s->crash_point = k + 1;
        } else if (s->mode == MODE_TORN) {
            s->crash_point = p->pwrites[k % p->npwrites];
            s->action = CRASHIO_TEAR;
            s->fill = fills[k / p->npwrites];
        } else {
            s->crash_point = k % n + 1;
            s->powerloss = 1;
            s->pl.model = models[k / n];
            s->pl.sector = c->env.sector;
            s->pl.seed = rng_next(&r);
        }
        return 0;
    }
    campaign_mode(c, id, &s->mode);
    if (trial_mode_is_server(s->mode)) {
        trial_server_pick(&c->env, &r, c->env.persist, c->env.sector, s);
        return 0;
    }
    {
        /* The variant is the block's for this kind, for every mode. */
        uint64_t ki = (id / (uint64_t)c->nmodes) % (uint64_t)c->nkinds;
        uint64_t v = rng_mix(
            c->seed ^ rng_mix((id / c->block) ^ (ki << 56) ^ 0xB10C5EEDull));
        s->prof = campaign_profile(c, (int)ki, (uint32_t)(v % c->nvar[ki]));
    }
    campaign_spec_draw(c, &r, s);
    return 0;
}

int campaign_spec(const campaign *c, uint64_t id, trial_spec *s)
{
    int rc = campaign_spec_trial(c, id, s);

    /* The file system's promises hold for every power cut of the
     * campaign, whichever mode or pick made it. */
    if (rc == 0)
        s->pl.fs = c->env.fs;
    return rc;
}

/* ---------------------------------------------------------------------- */
/* workers                                                                */
/* ---------------------------------------------------------------------- */

typedef struct campaign_shared {
    _Atomic uint64_t next; /* next unit (block, kind) to hand out */
    _Atomic int stop;
    _Atomic uint64_t first_bad; /* --stop-at-first: the lowest violating
                                   trial id seen (UINT64_MAX: none) */
} campaign_shared;

static volatile sig_atomic_t campaign_interrupted;

static void campaign_on_signal(int sig)
{
    (void)sig;
    campaign_interrupted = 1;
}

/* Where a worker's results go. */
typedef struct campaign_out {
    int fd;
    campaign_shared *cs;
    const trial_env *env;
    int failed; /* a harness failure was sent */
} campaign_out;

static int campaign_emit(void *ctx, const trial_result *in)
{
    campaign_out *o = ctx;
    const trial_result *res = in;
    trial_result gone;

    /* a scratch directory removed under the worker: its trials' states
     * were not the target's doing (a harness failure, not a verdict) */
    if (in->verdict != ORACLE_KINDS && !trial_env_intact(o->env)) {
        gone = *in;
        gone.verdict = ORACLE_KINDS;
        snprintf(gone.detail, sizeof(gone.detail),
                 "the scratch directory %.300s was removed under the campaign",
                 o->env->base);
        res = &gone;
    }
    if (write(o->fd, res, sizeof(*res)) != (ssize_t)sizeof(*res))
        _exit(3);
    if (res->verdict == ORACLE_KINDS) {
        o->failed = 1;
        return 1;
    }
    return atomic_load(&o->cs->stop);
}

/* Run the trials specs[0..n) of one unit: those that cannot share a
 * writer run (trial_batchable) one by one, the others
 * grouped by workload variant and writer threads, one writer run per
 * group.
 * Returns 0, or -1 to stop (harness failure, or the campaign stops). */
static int campaign_run_block(trial_env *env, trial_spec *specs, size_t n,
                              campaign_out *o)
{
    const trial_spec *group[TRIAL_BATCH_MAX];
    uint8_t *done = calloc(n ? n : 1, 1);
    int rc = 0;

    if (done == NULL)
        return -1;
    for (size_t i = 0; i < n && rc == 0; i++) {
        size_t m = 0;
        if (done[i])
            continue;
        if (!trial_batchable(env, &specs[i])) {
            trial_result res;
            done[i] = 1;
            if (trial_run(env, &specs[i], &res) != 0)
                res.verdict = ORACLE_KINDS; /* the harness failed */
            if (campaign_emit(o, &res) != 0)
                rc = -1;
            continue;
        }
        for (size_t j = i; j < n && m < TRIAL_BATCH_MAX; j++)
            if (!done[j] && trial_batchable(env, &specs[j]) &&
                specs[j].prof == specs[i].prof &&
                specs[j].threads == specs[i].threads) {
                group[m++] = &specs[j];
                done[j] = 1;
            }
        if (trial_run_batch(env, group, m, campaign_emit, o) != 0 ||
            o->failed || atomic_load(&o->cs->stop))
            rc = -1;
    }
    free(done);
    return rc;
}

static void campaign_worker(campaign *c, int w, campaign_shared *cs, int fd,
                            uint64_t limit)
{
    trial_env env = c->env;
    trial_result res;
    trial_spec *specs = malloc(c->block * sizeof(*specs));
    campaign_out out = {fd, cs, &env, 0};
    int rc;

    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_DFL);
    /* Every trial forks this process (writer, verifier): its cost is that
     * of the memory mapped here.  glibc raises its threshold for serving a
     * large block by mmap each time such a block is freed, after which
     * the multi-megabyte buffers of power-cut images stay in the heap:
     * tens of megabytes that each fork copied the page tables of.  A
     * fixed threshold gives them back as soon as they are freed. */
    mallopt(M_MMAP_THRESHOLD, CAMPAIGN_MMAP_THRESHOLD);
    mallopt(M_TRIM_THRESHOLD, CAMPAIGN_MMAP_THRESHOLD);
    snprintf(env.base, sizeof(env.base), "%s/w%d", c->dir, w);
    rc = specs == NULL ? ENOMEM : trial_env_init(&env, campaign_max_txns(c));
    if (rc != 0) {
        memset(&res, 0, sizeof(res));
        res.verdict = ORACLE_KINDS;
        snprintf(res.detail, sizeof(res.detail), "%.300s: %s", env.base,
                 strerror(rc));
        (void)!write(fd, &res, sizeof(res));
        _exit(2);
    }
    for (;;) {
        /* A unit of work is one workload kind of one block: the trials
         * that share writer runs, and small enough to balance the end. */
        uint64_t kinds = c->exhaustive ? 1 : (uint64_t)c->nkinds;
        uint64_t u = atomic_fetch_add(&cs->next, 1), b = u / kinds,
                 ki = u % kinds, first, end;
        size_t n = 0;
        if (atomic_load(&cs->stop) || b > UINT64_MAX / c->block ||
            (first = b * c->block) >= limit)
            break;
        /* Stopping at the first violation: units are handed out in order,
         * so once a block starts past the lowest violating id, every id
         * below it has been handed out (and will be run): the first
         * violation of the campaign is known whatever the timing. */
        if (c->stop_at_first && first >= atomic_load(&cs->first_bad))
            break;
        end = limit - first < c->block ? limit : first + c->block;
        for (uint64_t id = first; id < end; id++) {
            if (c->shard_count > 1 && id % c->shard_count != c->shard_index)
                continue;
            if (!c->exhaustive && (id / (uint64_t)c->nmodes) % kinds != ki)
                continue;
            if (campaign_spec(c, id, &specs[n]) != 0)
                break;
            n++;
        }
        if (campaign_run_block(&env, specs, n, &out) != 0)
            break;
    }
    free(specs);
    trial_env_fini(&env);
    fs_rmrf(env.base);
    _exit(0);
}

static int campaign_cmp_id(const void *a, const void *b)
{
    const trial_result *x = a, *y = b;

    return x->id < y->id ? -1 : x->id > y->id;
}

/* Read one whole record from fd.  Returns 1, 0 at end of file, -1. */
static int campaign_read_result(int fd, trial_result *res)
{
    size_t got = 0;

    while (got < sizeof(*res)) {
        ssize_t n = read(fd, (char *)res + got, sizeof(*res) - got);
        if (n == 0)
            return got == 0 ? 0 : -1;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        got += (size_t)n;
    }
    return 1;
}

/* Run trial orig on a profile rebuilt with other workload caps, crashed
 * at point cp, as its replay with those caps and --crash-point (and an
 * fsync-fail's --fail-at) runs it: the draws after the profile's (damage
 * seeds, a recovery's) are made on the new profile.  Returns 1 if the
 * trial shows a violation of kind `kind`, 0 if not, -1 if the crash point
 * does not exist in that workload. */
static int campaign_try(const campaign *c, trial_env *env,
                        const trial_spec *orig, uint32_t txns, uint32_t ops,
                        uint32_t val, uint64_t cp, int kind)
{
    trial_profile p;
    trial_spec s = *orig;
    trial_result res;
    char err[256];
    int rc = -1;

    memset(&p, 0, sizeof(p));
    p.wl = orig->prof->wl;
    p.eng = orig->prof->eng;
    p.variant = orig->prof->variant;
    p.wl.txns = txns;
    if (p.wl.drain != 0) /* as the draw sets it for pinned --txns */
        p.wl.drain = (txns + 1) / 2;
    p.wl.max_ops = ops;
    p.wl.max_value = val;
    if (trial_profile_build(env, &p, err, sizeof(err)) != 0)
        goto out;
    s.prof = &p;
    if (!c->exhaustive) {
        rng r;
        memset(&s, 0, sizeof(s));
        s.fault_point = -1;
        s.id = orig->id;
        s.seed = orig->seed;
        s.mode = orig->mode;
        s.prof = &p;
        rng_seed(&r, s.seed);
        campaign_spec_draw(c, &r, &s);
        s.fail_at = orig->fail_at;
    }
    s.crash_point = cp;
    if (s.mode != MODE_KILL_TIME && s.crash_point > p.points + 1)
        goto out;
    if (s.action == CRASHIO_TEAR &&
        (s.crash_point > p.points ||
         p.kinds[s.crash_point - 1] != CRASHIO_PWRITE))
        goto out;
    if (s.mode == MODE_FSYNC_FAIL && s.fail_at != 0 &&
        (s.fail_at > p.points || !crashio_kind_is_sync(p.kinds[s.fail_at - 1])))
        goto out;
    if (trial_run_one(env, &s, &res) != 0)
        goto out;
    rc = res.verdict == kind;
out:
    trial_profile_free(&p);
    return rc;
}

#define CAMPAIGN_SHRINK_POINTS 24 /* earlier crash points tried per pass */

/* The earliest crash point below *cp, of CAMPAIGN_SHRINK_POINTS spread
 * evenly over 1..*cp, at which s on the given caps still fails with
 * `kind`: into *cp.  An error mode's crash must follow its fault: an
 * fsync-fail's point stays after its failing sync, a libfiu mode's is
 * left alone.  Returns the attempts made. */
static uint32_t campaign_shrink_point(const campaign *c, trial_env *env,
                                      const trial_spec *s, uint32_t txns,
                                      uint32_t ops, uint32_t val, uint64_t *cp,
                                      int kind)
{
    uint64_t was = *cp, prev = 0;
    uint32_t tries = 0;

    if ((trial_mode_is_error(s->mode) && s->mode != MODE_FSYNC_FAIL) ||
        s->mode == MODE_KILL_TIME)
        return 0;
    for (uint64_t i = 1; i < CAMPAIGN_SHRINK_POINTS; i++) {
        uint64_t k =
            (was * i + CAMPAIGN_SHRINK_POINTS - 1) / CAMPAIGN_SHRINK_POINTS;
        if (k >= was || k == prev || k <= s->fail_at)
            continue;
        prev = k;
        tries++;
        if (campaign_try(c, env, s, txns, ops, val, k, kind) == 1) {
            *cp = k;
            break;
        }
    }
    return tries;
}

/* Look for a smaller reproducer of a failing trial: an earlier crash
 * point, fewer transactions, then smaller values, then fewer operations
 * per transaction, keeping the damage seed; print the command that
 * replays it. */
static int campaign_shrink(campaign *c, trial_env *env, const trial_spec *s,
                           const trial_result *first)
{
    static const uint32_t vals[] = {0, 8, 64, 512, 4096};
    static const uint32_t opss[] = {1, 2, 4, 8};
    uint32_t txns, ops, val, tries = 0;
    uint64_t cp = s->crash_point;
    int kind = first->verdict;
    char cmd[1600];
    size_t n;

    if (s->mode == MODE_KILL_TIME) {
        printf("shrink: kill-time trials depend on timing; not shrunk\n");
        return 1;
    }
    if (trial_mode_is_server(s->mode)) {
        printf("shrink: server trials are not shrunk (fewer clients or SETs: "
               "--clients, --sets)\n");
        return 1;
    }
    txns = s->prof->wl.txns;
    ops = s->prof->wl.max_ops;
    val = s->prof->wl.max_value;
    printf("shrink: trial %llu fails (%s) with %u transactions; looking for "
           "less\n",
           (unsigned long long)s->id, oracle_kind_name((oracle_kind)kind),
           txns);
    for (int pass = 0; pass < 2; pass++) {
        tries += campaign_shrink_point(c, env, s, txns, ops, val, &cp, kind);
        for (uint32_t t = 1; t < txns; t++, tries++)
            if (campaign_try(c, env, s, t, ops, val, cp, kind) == 1) {
                txns = t;
                break;
            }
        for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++, tries++)
            if ((val == 0 || vals[i] < val) && vals[i] != 0 &&
                campaign_try(c, env, s, txns, ops, vals[i], cp, kind) == 1) {
                val = vals[i];
                break;
            }
        for (size_t i = 0; i < sizeof(opss) / sizeof(opss[0]); i++, tries++)
            if ((ops == 0 || opss[i] < ops) &&
                campaign_try(c, env, s, txns, opss[i], val, cp, kind) == 1) {
                ops = opss[i];
                break;
            }
    }
    rpt_replay_command(c, s->id, cmd, sizeof(cmd));
    n = strlen(cmd);
    snprintf(cmd + n, sizeof(cmd) - n, " --txns %u", txns);
    n = strlen(cmd);
    if (ops)
        snprintf(cmd + n, sizeof(cmd) - n, " --max-ops %u", ops);
    n = strlen(cmd);
    if (val)
        snprintf(cmd + n, sizeof(cmd) - n, " --max-value %u", val);
    n = strlen(cmd);
    if (s->mode != MODE_KILL_TIME)
        snprintf(cmd + n, sizeof(cmd) - n, " --crash-point %llu",
                 (unsigned long long)cp);
    n = strlen(cmd);
    if (s->mode == MODE_FSYNC_FAIL && s->fail_at != 0)
        snprintf(cmd + n, sizeof(cmd) - n, " --fail-at %llu",
                 (unsigned long long)s->fail_at);
    printf("shrink: %u attempts; smallest reproducer found: %u transactions, "
           "at most %u operations and %u value bytes each:\n  %s\n",
           tries, txns, ops, val, cmd);
    return 1;
}

static int campaign_replay(campaign *c)
{
    trial_env env = c->env;
    trial_spec s;
    trial_result res;
    int rc;

    if (campaign_spec(c, (uint64_t)c->replay, &s) != 0) {
        fprintf(stderr, "crashtest: no trial %lld in this campaign\n",
                (long long)c->replay);
        return 2;
    }
    snprintf(env.base, sizeof(env.base), "%s/replay", c->dir);
    if ((rc = trial_env_init(&env, campaign_max_txns(c))) != 0) {
        fprintf(stderr, "crashtest: %s: %s\n", env.base, strerror(rc));
        return 2;
    }
    if (c->fail_at != 0) {
        if (s.mode != MODE_FSYNC_FAIL || s.prof == NULL ||
            c->fail_at > s.prof->points ||
            !crashio_kind_is_sync(s.prof->kinds[c->fail_at - 1])) {
            fprintf(stderr,
                    "crashtest: --fail-at %llu: not a sync of an "
                    "fsync-fail trial\n",
                    (unsigned long long)c->fail_at);
            trial_env_fini(&env);
            return 2;
        }
        s.fail_at = c->fail_at;
    }
    if (c->crash_point != 0) {
        s.crash_point = c->crash_point;
        if (s.action == CRASHIO_TEAR && s.prof != NULL &&
            (s.crash_point > s.prof->points ||
             s.prof->kinds[s.crash_point - 1] != CRASHIO_PWRITE)) {
            fprintf(stderr, "crashtest: point %llu is not a pwrite\n",
                    (unsigned long long)s.crash_point);
            trial_env_fini(&env);
            return 2;
        }
    }
    rpt_spec(stdout, c, &s);
    if (trial_run_one(&env, &s, &res) != 0) {
        fprintf(stderr, "crashtest: trial %llu: harness failure: %s\n",
                (unsigned long long)s.id, res.detail);
        trial_env_fini(&env);
        return 2;
    }
    if (c->csv != NULL && rpt_csv_file(c->csv, &res, 1, 1) != 0) {
        fprintf(stderr, "crashtest: cannot write %s: %s\n", c->csv,
                strerror(errno));
        trial_env_fini(&env);
        return 2;
    }
    rpt_result(stdout, c, &res);
    rc = oracle_is_violation((oracle_kind)res.verdict) ? 1 : 0;
    if (rc == 1 && c->shrink)
        campaign_shrink(c, &env, &s, &res);
    else if (c->shrink)
        printf("shrink: the trial passes; nothing to shrink\n");
    trial_env_fini(&env);
    fs_rmrf(env.base);
    return rc;
}

int campaign_run(campaign *c)
{
    campaign_shared *cs;
    trial_result *results = NULL;
    size_t nres = 0, capres = 0;
    uint64_t total, t0, last_progress = 0;
    pid_t *pids;
    int *fds, open_fds, harness_failed = 0;
    struct pollfd *pfd;
    struct sigaction sa;

    if (c->replay >= 0)
        return campaign_replay(c);
    total = c->exhaustive ? c->exhaustive_total
                          : (c->trials ? c->trials : UINT64_MAX);
    if (c->shard_count > 1 && total != UINT64_MAX)
        total =
            total / c->shard_count + (c->shard_index < total % c->shard_count);
    cs = mmap(NULL, sizeof(*cs), PROT_READ | PROT_WRITE,
              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pids = calloc((size_t)c->jobs, sizeof(*pids));
    fds = calloc((size_t)c->jobs, sizeof(*fds));
    pfd = calloc((size_t)c->jobs, sizeof(*pfd));
    if (cs == MAP_FAILED || pids == NULL || fds == NULL || pfd == NULL) {
        fprintf(stderr, "crashtest: out of memory\n");
        return 2;
    }
    atomic_store(&cs->first_bad, UINT64_MAX);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = campaign_on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    t0 = clk_now_us();
    for (int w = 0; w < c->jobs; w++) {
        int p[2];
        if (pipe(p) != 0) {
            fprintf(stderr, "crashtest: pipe: %s\n", strerror(errno));
            return 2;
        }
        fflush(NULL);
        pids[w] = fork();
        if (pids[w] < 0) {
            fprintf(stderr, "crashtest: fork: %s\n", strerror(errno));
            return 2;
        }
        if (pids[w] == 0) {
            close(p[0]);
            util_name_process("ct-job");
            for (int i = 0; i < w; i++)
                close(fds[i]);
            campaign_worker(c, w, cs, p[1],
                            c->exhaustive
                                ? c->exhaustive_total
                                : (c->trials ? c->trials : UINT64_MAX));
        }
        close(p[1]);
        fds[w] = p[0];
    }
    open_fds = c->jobs;
    while (open_fds > 0) {
        uint64_t now = clk_now_us();
        int n;
        if (campaign_interrupted ||
            (c->duration_s > 0 && now - t0 >= c->duration_s * 1e6))
            atomic_store(&cs->stop, 1);
        for (int w = 0; w < c->jobs; w++) {
            pfd[w].fd = fds[w];
            pfd[w].events = POLLIN;
        }
        n = poll(pfd, (nfds_t)c->jobs, 200);
        if (n < 0 && errno != EINTR)
            break;
        for (int w = 0; w < c->jobs && n > 0; w++) {
            trial_result res;
            int r;
            if (fds[w] < 0 || !(pfd[w].revents & (POLLIN | POLLHUP)))
                continue;
            r = campaign_read_result(fds[w], &res);
            if (r <= 0) {
                close(fds[w]);
                fds[w] = -1;
                open_fds--;
                continue;
            }
            if (res.verdict == ORACLE_KINDS) {
                fprintf(stderr,
                        "\ncrashtest: harness failure in trial %llu: "
                        "%s\n",
                        (unsigned long long)res.id, res.detail);
                harness_failed = 1;
                atomic_store(&cs->stop, 1);
                continue;
            }
            if (nres == capres) {
                size_t cap = capres ? 2 * capres : 1024;
                trial_result *nr = realloc(results, cap * sizeof(*nr));
                if (nr == NULL) {
                    fprintf(stderr, "crashtest: out of memory\n");
                    atomic_store(&cs->stop, 1);
                    continue;
                }
                results = nr;
                capres = cap;
            }
            results[nres++] = res;
            if (oracle_is_violation((oracle_kind)res.verdict)) {
                rpt_violation(stderr, c, &res);
                if (res.id < atomic_load(&cs->first_bad))
                    atomic_store(&cs->first_bad, res.id);
            }
        }
        if (!c->quiet && clk_now_us() - last_progress >= 200000) {
            rpt_progress(stderr, c, results, nres, total, clk_now_us() - t0, 0);
            last_progress = clk_now_us();
        }
    }
    /* A job that died without a harness failure's record left trials
     * unrun: the campaign is not the one asked for. */
    for (int w = 0; w < c->jobs; w++) {
        int st = util_wait(pids[w]);
        if (harness_failed || campaign_interrupted ||
            (WIFEXITED(st) && WEXITSTATUS(st) == 0))
            continue;
        if (WIFSIGNALED(st))
            fprintf(stderr,
                    "\ncrashtest: harness failure: job %d died of "
                    "signal %d (%s); its trials were not all run\n",
                    w, WTERMSIG(st), strsignal(WTERMSIG(st)));
        else
            fprintf(stderr,
                    "\ncrashtest: harness failure: job %d exited "
                    "with status %d; its trials were not all run\n",
                    w, WEXITSTATUS(st));
        harness_failed = 1;
    }
    if (!c->quiet)
        rpt_progress(stderr, c, results, nres, total, clk_now_us() - t0, 1);
    if (nres > 0) /* none: results may be NULL */
        qsort(results, nres, sizeof(*results), campaign_cmp_id);
    /* Only shard 0 writes the header, so the shards' files concatenate
     * into the campaign's. */
    if (c->csv != NULL &&
        rpt_csv_file(c->csv, results, nres,
                     c->shard_count <= 1 || c->shard_index == 0) != 0) {
        fprintf(stderr, "crashtest: cannot write %s: %s\n", c->csv,
                strerror(errno));
        harness_failed = 1; /* the rows asked for are lost */
    }
    {
        int violations = rpt_summary(c->json ? NULL : stdout, c, results, nres,
                                     clk_now_us() - t0, campaign_interrupted);
        if (c->json)
            rpt_json(stdout, c, results, nres, clk_now_us() - t0,
                     campaign_interrupted);
        free(results);
        free(pids);
        free(fds);
        free(pfd);
        munmap(cs, sizeof(*cs));
        if (harness_failed)
            return 2;
        return violations > 0 ? 1 : 0;
    }
}
