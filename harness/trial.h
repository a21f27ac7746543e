/*
 * trial.h - one crash trial: a writer child runs a workload through the
 * crash-simulating I/O table and dies at a chosen point (or is killed at a
 * chosen time); its directory may be turned into a power-loss image; the
 * recovery may itself be crashed; then a verifier process (the worker's,
 * which verifies state after state, trial_vserve.c) recovers, reads
 * everything back and the oracle judges it.
 *
 * In the error modes one I/O call of the writer fails instead (an injected
 * EIO, full disk, short write or failed fsync), the workload goes on as far
 * as the engine lets it, and then the writer is killed (and the directory
 * perhaps power-cut) at a later point: error and crash in one trial
 * (trial_fault.c).
 */
#ifndef CL_TRIAL_H
#define CL_TRIAL_H

#include <stddef.h>
#include <stdint.h>

#include "crashio.h"
#include "fiu_ctl.h"
#include "oracle.h"
#include "oracle_mt.h"
#include "powerloss.h"
#include "rng.h"
#include "target.h"
#include "workload.h"

typedef enum trial_mode {
    MODE_KILL_IO = 0,    /* SIGKILL at I/O point k */
    MODE_KILL_TIME,      /* SIGKILL from the parent after a delay */
    MODE_TORN,           /* the pwrite at point k is torn, then SIGKILL */
    MODE_POWERLOSS,      /* SIGKILL at point k, then a power-cut image */
    MODE_RECOVERY_CRASH, /* a crash as above, then recovery crashed too */
    MODE_CHAIN,          /* a crash as above, then 1-3 links: recover, go
                            on with the workload, crash again (kill or
                            power cut, recovery's own I/O included) */
    MODE_EIO,            /* one I/O call fails with EIO (libfiu), then a
                            kill or power cut at a later point */
    MODE_ENOSPC,         /* one writing call fails with ENOSPC (libfiu),
                            then likewise */
    MODE_SHORT_WRITE,    /* one pwrite writes half its bytes and fails with
                            ENOSPC (libfiu), then likewise */
    MODE_FSYNC_FAIL,     /* one fsync fails with EIO and the file's writes
                            since its last good sync are lost (crashio),
                            then a power cut at a later point */
    MODE_WRITE_FAIL,     /* one write (pwrite, ftruncate) fails with ENOSPC
                            or EIO and has no effect (crashio), then likewise
                            a kill or power cut at a later point */
    /* server trials (trial_server.c): kvserver under concurrent clients */
    MODE_SERVER_KILL_TIME, /* SIGKILL from the harness after a delay */
    MODE_SERVER_KILL_IO,   /* SIGKILL at the server's I/O point k */
    MODE_SERVER_TORN,      /* the pwrite at point k torn, then SIGKILL */
    MODE_SERVER_POWERLOSS, /* SIGKILL at point k, then a power-cut image */
    MODE_COUNT
} trial_mode;

/* The groups a mode belongs to (trial_mode_info.groups): what the mode
 * lists of --mode expand to. */
#define MODE_GROUP_ENGINE 1u /* crash modes of the engine ("engine") */
#define MODE_GROUP_ERRORS 2u /* error modes ("errors") */
#define MODE_GROUP_SERVER 4u /* server modes ("server") */
#define MODE_GROUP_ALL 8u    /* the default campaign's engine modes ("all") */

/* One row of the mode table. */
typedef struct trial_mode_info {
    const char *name;
    const char *server_alias; /* server modes: the name under --target server
                                 (kill-time, ...), else NULL */
    unsigned groups;          /* MODE_GROUP_* */
    int needs_fiu;            /* injects its error through libfiu */
    int batchable; /* its crash is at an I/O point: trials can share one
                      writer run (trial_batch.c) */
    int branches;  /* its trials can branch off a shared writer run at the
                      transaction of their fault (trial_batchable) */
} trial_mode_info;

/* The row of mode m (m < MODE_COUNT). */
const trial_mode_info *trial_mode_get(trial_mode m);
/* The modes of any of the groups in `groups`, in table order, into
 * out[0..MODE_COUNT).  Returns how many. */
int trial_modes_of(unsigned groups, trial_mode *out);
const char *trial_mode_name(trial_mode m);
int trial_mode_parse(const char *s, trial_mode *m);
/* The server mode whose name, or name under --target server, is s.
 * Returns 0 or -1. */
int trial_mode_parse_server(const char *s, trial_mode *m);
/* 1 for the error modes. */
int trial_mode_is_error(trial_mode m);
/* 1 for the modes that need libfiu (a build with FIU_ENABLE). */
int trial_mode_needs_fiu(trial_mode m);
/* 1 for the server modes. */
int trial_mode_is_server(trial_mode m);

/* What a counting run of a workload learned (shared by every trial of that
 * workload variant). */
typedef struct trial_profile {
    wl_params wl;
    cl_options eng; /* the engine's options (io is set per process): the
                       campaign's, or drawn for this variant (swarm.h) */
    uint32_t variant;
    uint64_t salt;     /* the database salt: files are reproducible */
    uint64_t points;   /* I/O points of the whole run, open included */
    uint8_t *kinds;    /* kinds[k - 1]: crashio_kind of point k */
    uint64_t *pwrites; /* the points that are pwrites */
    uint16_t *acts;    /* acts[k - 1]: the engine's mechanisms in progress
                          at point k (CL_ACT_* bits) */
    uint8_t *dirwin;   /* dirwin[k - 1]: 1 if a crash at point k leaves a
                          change of a directory (a file created, renamed
                          or removed, a directory made) whose directory no
                          sync has made durable since */
    uint64_t npwrites;
    uint64_t *txn_points; /* txn_points[i]: the points made before
                             transaction i began (wl.txns of them; one
                             thread, as the counting run) */
    uint64_t close_point; /* the points made before the writer's close
                             after its last transaction began; 0: it does
                             not close (trial.c) */
    uint64_t run_us;      /* the run's wall time, as the writer timed it */
    uint64_t first_us;    /* when its first I/O point came, microseconds
                             after its start: a kill before it finds no
                             file, and kill-time delays are drawn after
                             it (campaign.c) */
    oracle_prefix prefix;
    oracle_mt_prefix mt; /* concurrent workloads (wl.threads > 1): each
                            thread's prefix hashes */
    uint64_t mt_points;  /* and the I/O points and wall time of one run of
                            its threads (trial_mt.c) */
    uint64_t mt_run_us;
    uint64_t mt_first_us;
    /* With trial_env.count_fiu: the evaluations of the engine's libfiu points
     * by the writer's thread, in order, each with the I/O points numbered
     * by then; counted with a shadow log and graveyard, as error trials
     * run. */
    fiuctl_eval *evals;
    uint64_t nevals;
} trial_profile;

/* Settings shared by every trial of a campaign. */
/* How long a writer or verifier process of a trial may run by default,
 * in seconds: longer, it is taken to hang, killed, and the trial is a
 * writer or recovery violation (trial_env.timeout_s). */
#define TRIAL_TIMEOUT_S 300u

/* trial_env.timeout_s, or its default, in seconds and in microseconds. */
#define TRIAL_TIMEOUT_SECS(env)                                                \
    ((env)->timeout_s ? (env)->timeout_s : TRIAL_TIMEOUT_S)
#define TRIAL_TIMEOUT_US(env) (1000000ull * TRIAL_TIMEOUT_SECS(env))

typedef struct trial_env {
    const target_ops *target;
    const char *nondurable;  /* interposed targets: suffixes of files that
                                may be mapped, instead of the target's
                                own list (--nondurable), or NULL */
    cl_options eng;          /* engine options of server trials (and the
                                template of the variants'); io is set per
                                process */
    uint32_t sector;         /* torn writes and images: 512 or 4096 */
    plimg_model persist;     /* PLIMG_RANDOM: drawn per trial */
    plimg_fs fs;             /* what the file system promises, for every
                                power cut of the campaign (--fs-model) */
    uint32_t recovery_depth; /* recovery-crash: nested crashes, default 2 */
    char base[4096];         /* this process's scratch directory */
    const char *keep_dir;    /* keep images of violations here, or NULL */
    int keep_all;            /* with keep_dir: keep every trial's images
                                (the crashed one is the crash state, after
                                any power cut, before recovery) */
    int writers_on_disk;     /* batch writers keep their files on disk,
                                not in their memory (trial_batch.c): so
                                that a writer that fails leaves them to
                                keep (--keep-failures sets it) */
    int verbose;             /* print each step (replay) */
    int fresh_verifier;      /* a verifier process per crash state, not
                                one per worker (trial_vserve.c) */
    uint32_t timeout_s;      /* a writer or verifier process of a trial
                                that runs longer is killed (0:
                                TRIAL_TIMEOUT_S) */
    int count_fiu;           /* libfiu error modes in the campaign:
                                profiles count libfiu evaluations */
    /* server trials */
    const char *kvserver;           /* the kvserver program */
    uint32_t clients;               /* concurrent clients, each writing its
                                       own keys */
    uint32_t sets;                  /* SETs per client, at most */
    const char *server_broken;      /* KVSERVER_BROKEN of the crashed server
                                       (a deliberately broken one), or NULL */
    struct trial_shm *shm;          /* shared memory of this process */
    const struct trial_spec *fault; /* in a writer: the error trial whose
                                       fault its workload may meet, or NULL
                                       (a batch writer's branch takes one
                                       on: trial_batch.c) */
} trial_env;

/* One trial; a pure function of the campaign seed and the trial id. */
typedef struct trial_spec {
    uint64_t id, seed;
    trial_mode mode;
    const trial_profile *prof; /* NULL for server trials */
    uint64_t crash_point;      /* 1..points+1; points+1: after the last txn
                                  (server trials: a point of the server's
                                  run, which may end before it) */
    crashio_action action;
    crashio_fill fill;
    uint64_t delay_us; /* MODE_KILL_TIME */
    int powerloss;     /* build a power-cut image after the crash */
    plimg_config pl;
    uint64_t rec_seed; /* MODE_RECOVERY_CRASH: seeds the recovery crashes;
                          MODE_CHAIN: the chain's depth and its links'
                          crashes */
    /* error modes (crash_point, powerloss and pl then say what follows) */
    int fault_point;           /* libfiu modes: the fiuctl_point that fails, or
                                  -1 (none: the workload has no such call) */
    uint64_t fault_nth;        /* its evaluation by the writer's thread, 1.. */
    uint64_t fault_clock;      /* I/O points numbered by then (counting run) */
    int fault_errno;           /* the pinned errno */
    uint64_t fail_at;          /* MODE_FSYNC_FAIL: the I/O point (a sync)
                                  that fails, losing the file's unsynced
                                  writes; MODE_WRITE_FAIL: the write that
                                  fails with fault_errno, with no effect */
    uint64_t checkpoint_bytes; /* server trials: the server's
                                  --checkpoint-bytes (0: the campaign's) */
    uint32_t threads; /* writer threads committing at once (2 or more: the
                         profile's concurrent workload, trial_mt.c); 0 or
                         1: one, in index order (which the profile's
                         counting run took, so its I/O points are the
                         run's own) */
    wl_history hist;  /* MODE_CHAIN: the links that went on so far, each
                         with values of its own (the verifiers judge the
                         workload with it; trial_chain adds to it) */
} trial_spec;

/* The engine's mechanisms a crash of a recovery or of a chain link counts
 * as reached (trial_result.reached) when it came in or right after them. */
#define TRIAL_REACH_SAMPLED (CL_ACT_REDO | 0xffffu)

/* What a trial's recovery did (trial_result.reached, between the CL_ACT_*
 * bits of cl_io.h). */
#define TRIAL_REACH_TAIL_CUT 0x10000u   /* cut a torn or unsynced tail */
#define TRIAL_REACH_FPI_REPAIR 0x20000u /* rebuilt a page from its image */
#define TRIAL_REACH_DWB_RESTORE                                                \
    0x40000u /* restored a page from the                                       \
                doublewrite area */
/* A crash state of the writer's close after its last transaction (the
 * checkpoint a close makes), from its counting run. */
#define TRIAL_REACH_CLOSE 0x80000u
/* A crash state in a directory window (trial_profile.dirwin). */
#define TRIAL_REACH_DIR_WINDOW 0x200000u
/* A read of the verifier's first session failed (trial_read_fault). */
#define TRIAL_REACH_READ_FAULT 0x400000u

/* The second stage of a trial whose verifying open failed, for targets
 * with a repair op (trial_result.repair; the CSV's repair column): the
 * engine's repair run on a copy of the crash state, the result opened
 * and read back, and judged by the same oracle against the trial's
 * window (as final: trial_repair_settle).  It never changes the verdict
 * or the exit status. */
typedef enum trial_repair {
    TRIAL_REPAIR_NONE = 0,  /* not taken: the open succeeded, or the
                               target has no repair */
    TRIAL_REPAIR_OK,        /* the state after repair_k transactions,
                               every promised one there */
    TRIAL_REPAIR_LOST,      /* the state after repair_k transactions,
                               fewer than were promised (or a loss of
                               what the target claimed durable: 0) */
    TRIAL_REPAIR_NO_PREFIX, /* a state no prefix explains (part of a
                               transaction, or a later one without an
                               earlier one) */
    TRIAL_REPAIR_FAILED,    /* the repair, or the open or read-back after
                               it, failed */
    TRIAL_REPAIR_COUNT
} trial_repair;

/* The CSV name of r ("none", "ok", "lost", "no-prefix", "failed"). */
const char *trial_repair_name(trial_repair r);
/* The outcome named s: 0, or -1 (unknown name). */
int trial_repair_parse(const char *s, trial_repair *out);

/* The configuration a trial ran under (a CSV column each): the engine's
 * (0: the engine's default) and its workload's size and shape. */
typedef struct trial_config {
    uint8_t sync, torn; /* cl_sync_mode, cl_torn_mode */
    uint8_t ckpt;       /* cl_ckpt_mode (the default resolved: inline) */
    uint32_t drain;     /* wl_params.drain */
    uint32_t page_size, txns, keys;
    uint64_t pool_bytes, checkpoint_bytes, segment_bytes;
} trial_config;

/* The sync class of a sync mode: 1 if the log is synced on request (off,
 * periodic), 0 if by each commit (commit, group; the default is group).
 * Eviction, checkpoints and segment rolls owe the log different things
 * in each, so the swarm's coverage is sought and reported per class. */
static inline int trial_sync_on_request(int sync)
{
    return sync == CL_SYNC_OFF || sync == CL_SYNC_PERIODIC;
}

/* Whether two runs of the engine configured by o make the same calls in
 * the same order: not with a thread of the engine's own doing I/O on its
 * own clock (the periodic sync, the checkpoint thread). */
static inline int trial_eng_repeats(const cl_options *o)
{
    return o->sync != CL_SYNC_PERIODIC &&
           o->checkpoint_mode != CL_CKPT_BACKGROUND;
}

/* The configuration of eng and wl. */
void trial_config_of(const cl_options *eng, const wl_params *wl,
                     trial_config *cfg);

/* Where a trial's time went, in microseconds (crashtest --profile).  The
 * phases do not overlap; what is left of us_total is the rest (waiting
 * for children, the results' bookkeeping).  A writer run shared by n
 * trials counts 1/n in each one's writer and fork. */
typedef struct trial_phases {
    uint32_t fork;     /* the harness's fork() call of the writer (a
                          server trial: the server's start until it
                          listens) */
    uint32_t writer;   /* the writer's run, snapshots excluded */
    uint32_t snapshot; /* copying the database at this trial's crash point
                          (a shared writer run) and moving it back */
    uint32_t image;    /* building the power-cut image */
    uint32_t chain;    /* crashed recoveries and chain links */
    uint32_t open;     /* the verifier's open: the recovery (a server
                          trial: the restart until it listens) */
    uint32_t readback; /* reading everything back */
    uint32_t check;    /* the oracle's judgement and the structure check */
    uint32_t probe;    /* the probe commit and reopen */
    uint32_t process;  /* the verifier's process apart from the above: its
                          fork, start, first touches of memory, exit and
                          wait */
    uint32_t clean;    /* removing the trial's files */
} trial_phases;

/* The outcome (a fixed-size record: workers send it through a pipe).  In
 * a server trial the transactions are the clients' SETs (durable: those
 * whose acknowledgement promised durability), workload is
 * TRIAL_WL_SERVER, variant the number of clients and points the I/O
 * points the server had made when it died. */
typedef struct trial_result {
    uint64_t id, seed;
    uint8_t mode, workload, variant, verdict; /* verdict: oracle_kind */
    uint8_t threads; /* the writer's threads (trial_spec.threads) */
    uint64_t crash_point, points, delay_us;
    uint32_t issued, acked, recovered;
    uint32_t durable;     /* transactions promised to survive (oracle.h) */
    uint32_t claimed;     /* transactions the target reported durable */
    uint32_t synced;      /* transactions acknowledged before the last sync
                             call that returned 0 (not in the CSV) */
    uint32_t rec_crashes; /* crashes of recovery injected */
    uint32_t links;       /* chain: processes that recovered the crash
                             state and were crashed in turn */
    uint64_t recovery_us; /* wall time of the verifying open */
    uint64_t bytes, records, repaired;
    int tail_cut;
    /* where the time went: a writer run shared by n trials (and the
     * snapshots it took) counts 1/n in each one's us_writer and us_total */
    uint32_t us_writer, us_damage, us_verify, us_total;
    trial_phases ph;
    uint32_t skipped; /* error modes: 1 + the transaction that failed while
                         the engine went on (not in the model), or 0 */
    trial_config cfg;
    uint32_t reached; /* the mechanisms the crash state was taken in or
                         right after (CL_ACT_* bits of the crash point and
                         the point before it) and what its recovery did
                         (TRIAL_REACH_*) */

    /* the second stage after a failed open (trial_repair) */
    uint8_t repair;
    uint32_t repair_k; /* with repair ok or lost: the transactions of
                          the repaired state (else 0) */
    char damage[400];
    char detail[480];
} trial_result;

/* The I/O points of a run of s's writer: its profile's counting run's, or
 * for concurrent writers about as many as one of their runs had. */
static inline uint64_t trial_spec_points(const trial_spec *s)
{
    return s->threads > 1 ? s->prof->mt_points : s->prof->points;
}

/* The point crashio crashes s's writer at (crashio_config.crash_at): its
 * crash point, or 0 past the run's last (it dies after its last
 * transaction). */
static inline uint64_t trial_spec_crash_at(const trial_spec *s)
{
    return s->crash_point <= trial_spec_points(s) ? s->crash_point : 0;
}

/* Set up this process's shared memory (for trials of up to max_txns
 * transactions) and its scratch directory env->base.  Returns 0 or an
 * errno. */
int trial_env_init(trial_env *env, uint32_t max_txns);
void trial_env_fini(trial_env *env);

/* Whether env->base is still the scratch directory trial_env_init made (its
 * marker file is there).  When it is not, something removed it under the
 * campaign: no verdict of its trials can be trusted, whatever the target
 * did.  Returns 1 or 0. */
int trial_env_intact(const trial_env *env);

/* Run the workload of prof->wl once without crashing, counting its I/O
 * points (and building the oracle's prefix hashes).  Returns 0, or -1 with
 * a message in err. */
int trial_profile_build(trial_env *env, trial_profile *prof, char *err,
                        size_t errlen);
void trial_profile_free(trial_profile *prof);

/* Run one trial.  Returns 0 (verdict in res) or -1 if the harness itself
 * failed (message in res->detail). */
int trial_run(trial_env *env, const trial_spec *s, trial_result *res);

/* Draw the fault of an error-mode (m) trial from r, over the calls the
 * profile counted: the call that fails and its errno; then what follows, a
 * kill or power cut (model persist, sector size sector) at an I/O point
 * after the fault, or after the last transaction.  Sets s's fault fields,
 * crash_point, powerloss and pl. */
void trial_fault_pick(const trial_profile *p, trial_mode m, rng *r,
                      plimg_model persist, uint32_t sector, trial_spec *s);

/* ---- server trials (trial_server.c) ---- */

/* trial_result.workload of a server trial: the clients' SETs. */
#define TRIAL_WL_SERVER 255

/* The name of res's workload: the engine workload's, or "sets". */
const char *trial_workload_name(const trial_result *res);

/* Draw the crash of a server trial (s->mode set) from r: a delay, or an
 * I/O point of the server's run (torn, or followed by a power cut of model
 * persist and sector size sector). */
void trial_server_pick(const trial_env *env, rng *r, plimg_model persist,
                       uint32_t sector, trial_spec *s);

/* Run server trial s: start kvserver on a fresh database, let the clients
 * write, crash the server as s says, restart it, read every key back and
 * judge; then stop it and check the files.  Returns 0 (verdict in res) or
 * -1 if the harness itself failed (res->detail says why). */
int trial_server_run(trial_env *env, const trial_spec *s, trial_result *res);

#define TRIAL_BATCH_MAX 64 /* trials one writer run can serve */

/* Can the trials of mode m share a writer run with others of their
 * profile and thread count?  Every crash mode but kill-time can: its crash
 * is at an I/O point.  Error modes do not (after its fault, each trial's
 * run is its own), but see trial_batchable, which serves some kill-time
 * and error trials from shared runs too. */
int trial_mode_batchable(trial_mode m);

/* Can trial s share a writer run with others of its profile and thread
 * count?  Those of a batchable mode; the fsync-fail and write-fail trials
 * that can branch off a shared run at their fault (trial_batch.c): of a
 * target reached through its I/O table, without a sync thread; and the
 * kill-time trials of a writer of one thread without a sync thread, on a
 * target reached through its I/O table (trial_batch_timed). */
int trial_batchable(const trial_env *env, const trial_spec *s);

/* Receives each result of trial_run_batch as soon as it is known.  Returns
 * 0 to go on, nonzero to stop before the next state. */
typedef int (*trial_emit_fn)(void *ctx, const trial_result *res);

/* Run the trials *s[0..n) -- batchable, of one profile, n at most
 * TRIAL_BATCH_MAX -- from one writer run: it copies the database at each
 * trial's crash point, branches off a process at each error trial's fault,
 * and dies at the last crash point, and every state is then recovered and
 * judged by the verifier (see trial_batch.c).  Each result is what trial_run
 * gives for that trial alone, timings aside; emit gets them one by one, in
 * no fixed order.  Returns 0, or -1 if the harness itself failed (emit
 * then got the failing trial with verdict ORACLE_KINDS and the message in
 * detail). */
int trial_run_batch(trial_env *env, const trial_spec *const *s, size_t n,
                    trial_emit_fn emit, void *ctx);

/* Run the trial s alone, as a campaign runs it (--replay, --shrink): a
 * kill-time trial that a campaign serves from a shared writer run in
 * memory as a batch of one (its delay is drawn from a counting run in
 * memory), any other with trial_run.  Returns what they return. */
int trial_run_one(trial_env *env, const trial_spec *s, trial_result *res);

#endif
