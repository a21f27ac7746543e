/*
 * trial_int.h - what trial.c (the steps of a trial), trial_run.c (one
 * trial), trial_batch.c (several trials that share one writer run),
 * trial_rcrash.c (recovery crashes) and trial_fault.c (the error modes)
 * have in common: the shared memory of a
 * worker, the scratch paths, the writer, the verifier, and the steps that
 * follow a crash.  Not part of the harness API.
 */
#ifndef CL_TRIAL_INT_H
#define CL_TRIAL_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fsutil.h"
#include "memfs.h"
#include "rng.h"
#include "trial.h"

#define TRIAL_TRACE_CAP (1u << 18) /* points a counting run can record */

/* What the writer publishes.  issued and acked are stored with release
 * order after the fields they vouch for (lsn, durable), because an on_point
 * hook may read them from another thread of the writer. */
typedef struct trial_progress {
    uint32_t opened;   /* the target's open returned */
    uint32_t issued;   /* transactions started */
    uint32_t acked;    /* transactions whose commit returned 0 */
    uint32_t synced;   /* acked when the last sync call (the target's sync
                          or checkpoint) that returned 0 returned */
    uint64_t durable;  /* the highest durable position the writer saw */
    uint64_t run_us;   /* count-only run: microseconds from the writer's
                          start to the end of its last transaction */
    uint64_t start_us; /* when the writer started (its clock's zero) */
    uint64_t first_us; /* a counting run, or a writer killed after a
                          delay: microseconds from its start to its first
                          I/O point (0: none yet) */
    int error;         /* the target failed: its error code */
    char errmsg[256];
    /* error modes: what the workload saw of the injected fault */
    uint32_t err_txn;   /* 1 + the transaction whose commit (or the
                           checkpoint after it) returned the error, 0 */
    int err_where;      /* TRIAL_ERR_* */
    int err_rc;         /* the error returned */
    int err_fatal;      /* the target refused writes afterwards: the
                           workload stopped there */
    uint32_t skipped;   /* 1 + the transaction the target went on without */
    uint32_t ack_after; /* 1 + the first transaction acknowledged after a
                           failed sync was returned to the target (a
                           target that goes on after it: whose commit or
                           sync call returned 0 though its sync failed) */
    /* concurrent workloads (trial_mt.c): thread t's transactions are t,
     * t + threads, ...; it publishes how many it started and how many of
     * its commits returned 0 (after their lsn[]), with release order */
    uint32_t th_issued[WL_MAX_THREADS];
    uint32_t th_acked[WL_MAX_THREADS];
    uint32_t th_synced[WL_MAX_THREADS]; /* of thread t's acknowledged
                                           commits, those a sync call that
                                           returned 0 had begun after */
    uint64_t lsn[]; /* lsn[i]: commit position of transaction i */
} trial_progress;

/* Where the workload met the injected error (trial_progress.err_where). */
#define TRIAL_ERR_OPEN 1
#define TRIAL_ERR_COMMIT 2
#define TRIAL_ERR_CHECKPOINT 3
#define TRIAL_ERR_SYNC 4
#define TRIAL_ERR_CLOSE 5 /* the writer's close after its last transaction */

/* What the verifier reports. */
typedef struct trial_verdict {
    int done;
    int opened;       /* the open (the recovery) succeeded */
    int walking;      /* reading back or checking the recovered database */
    int setup_failed; /* the harness could not set the verifier up */
    uint8_t verdict;
    uint32_t recovered;
    uint64_t open_us;
    uint32_t read_us, check_us, probe_us; /* the verifier's other phases */
    cl_recovery rep;
    char detail[480];
    uint8_t repair;    /* after a failed open: trial_repair */
    uint32_t repair_k; /* and the transactions of the repaired state */
    /* a recovery that samples its crash states (recovery-crash) */
    uint64_t seen;         /* I/O points of the recovery */
    uint64_t sample_point; /* the point whose state was kept */
    uint32_t sample_act;   /* the mechanisms it was in or right after
                              (CL_ACT_* bits) */
    uint64_t shadow_len;   /* the shadow log's length then */
    int sampled;           /* a state was kept */
    int sample_error;      /* copying it failed: an errno */
    /* a chain link (trial_open_how.resume): the workload's progress when
       the kept state was taken (trial_window), and whether the link had
       recovered and gone on with the workload by then */
    uint32_t s_issued, s_acked, s_required, s_claimed, s_synced;
    int s_resumed;
    /* a first session with a read that fails (trial_read_fault) */
    uint64_t rf_at;    /* the read (0: none) */
    uint8_t rf_failed; /* it came (the session made that many reads) */
    uint8_t rf_step;   /* what returned an error: TRIAL_RF_*, or 0 */
} trial_verdict;

#define TRIAL_RF_OPEN 1 /* the open */
#define TRIAL_RF_READ 2 /* the read-back */

/* What a batch writer records when it copies the database at a trial's
 * crash point, or when a branch it made at an error trial's fault has died
 * (trial_batch.c).  `taken` is set last. */
typedef struct trial_snap {
    uint64_t point;  /* the I/O point it was taken at; 0: after the
                        last transaction */
    uint64_t points; /* I/O points numbered by then */
    uint32_t issued, acked, durable, claimed; /* the oracle's window then
                                                 (trial_window: it reads
                                                 lsn[], which a chain's
                                                 links rewrite later) */
    uint32_t synced;                          /* likewise */
    uint32_t outcome;       /* CRASHIO_OUT_KILLED, _TORN, or _NONE (after the
                               last transaction) */
    crashio_tear_info tear; /* when TORN */
    char tear_file[CRASHIO_NAME_LEN]; /* the torn file, as crashio names it */
    uint64_t shadow_len; /* bytes of the shadow log then (power cuts and
                            branches) */
    /* the writer's published progress then, lsn[] aside (the entries of
     * the transactions acknowledged by then do not change later) */
    unsigned char prog[offsetof(trial_progress, lsn)];
    uint64_t copy_us; /* the time taking it took */
    int error;        /* the copy (or the branch) failed: an errno */
    int lost;         /* and the writer's own files could not be put back:
                         it ended */
    /* a branch: the wait status of its process, whether it hung, its run
     * time, and crashio's shared area as it left it (the point above is
     * its fault's; its progress is in prog) */
    int branch, status, hung;
    uint64_t run_start; /* its start (clk_now_us), while it runs */
    uint64_t run_us;
    unsigned char cio[sizeof(crashio_shared)];
    int taken;
} trial_snap;

typedef struct trial_shm {
    crashio_shared *cio; /* for trials: no trace */
    size_t cio_size;
    crashio_shared *trace; /* for counting runs */
    size_t trace_size;
    trial_progress *prog;
    size_t prog_size;
    uint32_t max_txns;
    trial_verdict *ver;
    trial_snap *snaps;    /* [TRIAL_BATCH_MAX] */
    uint64_t *txn_points; /* [max_txns + 1]: a counting run's I/O points
                             before each transaction, and at [txns] those
                             before the writer's close (0: none) */
    fiuctl_shared *fiu;   /* libfiu counts and firings (error modes) */
    size_t fiu_size;
    struct trial_vreq *vreq; /* shared: the verifier process's request */
    struct interpose_result
        *ipres; /* an interposed writer's calls and refusal */
    /* this worker's verifier process (trial_vserve.c); pid 0: none */
    pid_t vpid;
    int vfd;          /* this end of the socket pair to it */
    uint64_t vepoch;  /* trial_profile_epoch when it was forked */
    uint32_t vserved; /* crash states it has verified */
} trial_shm;

/* Bumped by each trial_profile_build and trial_profile_free: a verifier
 * process forked before a change does not have the profile. */
extern uint64_t trial_profile_epoch;

/* Scratch paths of this process (all below env->base). */
typedef struct trial_paths {
    char dir[4200];     /* the database the writer uses */
    char shadow[4200];  /* the writer's shadow log (power cuts, crashed
                           recoveries, chains), which the recoveries after
                           its kill go on with */
    char grave[4200];   /* the writer's graveyard (likewise) */
    char rshadow[4200]; /* recovery-crash, chain: the shadow log the
                           recoveries start after a power cut */
    char rgrave[4200];  /* and their graveyard */
    char probe[4200];   /* recovery-crash, chain: the sampled state */
    char pgrave[4200];  /* and the graveyard then */
    char crashed[4200]; /* --keep-failures: the crash state */
    char snaps[4200];   /* a batch's snapshots */
    char log[4200];     /* server trials: kvserver's standard error */
    char report[4200];  /* server trials: kvserver's --report file */
} trial_paths;

void trial_paths_init(const trial_env *env, trial_paths *p);
/* Whether s's writer keeps a shadow log and graveyard: for its power cut,
 * and for the recoveries after its crash, which go on with them
 * (trial_rcrash.c). */
int trial_keeps_log(const trial_spec *s);
/* Remove every scratch path. */
void trial_paths_clean(const trial_paths *p);

/* What a writer does besides its workload (a batch's, trial_batch.c):
 * at_start once its crashio is made, before the target opens; at_txn
 * before each transaction of a single-threaded workload, between calls
 * of the target (none in progress); at_end after the last transaction,
 * before the writer dies there.  Any may be NULL.  With in_memory the
 * writer's files live in its memory (memfs.h; m in at_start), its shadow
 * log held there too (crashio_config.shadow_hold): nothing of its run
 * reaches the disk but what the hooks write out. */
typedef struct trial_writer_hooks {
    void (*at_start)(void *ctx, crashio *c, memfs *m);
    void (*at_txn)(void *ctx, crashio *c, uint32_t i); /* c: the writer's */
    void (*at_end)(void *ctx);
    void *ctx;
    int in_memory;
} trial_writer_hooks;

/* Whether a batch's writer runs in memory (trial_batch.c): its target's
 * calls all go through the engine's table, the campaign does not want the
 * writers' files on disk (trial_env.writers_on_disk), and has no libfiu
 * modes, whose faults are injected in the system's table. */
int trial_writer_in_memory(const trial_env *env);

/* Run the workload of prof through crashio configured by cc in dir; never
 * returns.  Exits 0 at the end with count_only (a single-threaded one
 * records in shared memory the I/O points made before each transaction:
 * trial_shm.txn_points), else dies by SIGKILL there (after the hooks'
 * at_end); exits non-zero when the target fails.  s:
 * the trial (NULL for a counting run or a batch); in an error mode the
 * writer arms its fault and goes on after the error as far as the target
 * lets it. */
_Noreturn void trial_writer(trial_env *env, const trial_profile *prof,
                            const char *dir, const crashio_config *cc,
                            int count_only, const trial_writer_hooks *hk,
                            const trial_spec *s);

/* The writer's death after its last transaction, or once a batch has
 * served every trial it had to (SIGKILL, as at a crash). */
_Noreturn void trial_die(void);

/* Zero the writer's published progress. */
void trial_progress_reset(trial_env *env);

/* Run the writer once, count-only (s: NULL, or a concurrent spec whose
 * threads it uses), in dir through crashio configured by cc.  Returns 0,
 * or -1 with a message in err when it did not exit 0. */
int trial_count_run(trial_env *env, const trial_profile *prof, const char *dir,
                    const crashio_config *cc, const trial_spec *s, char *err,
                    size_t errlen);

/* How many of the first `acked` transactions the writer saw the target
 * report durable (its durable LSN). */
uint32_t trial_durable_count(const trial_progress *pg, uint32_t acked);

/* The oracle's window from what the writer published in pg now: OUT
 * *issued, *acked, *required (the transactions promised to survive a
 * process crash, by the target's promise for the engine options eng, the
 * variant's), *claimed (those the target reported durable) and, unless
 * synced is NULL, *synced (those acknowledged before the last sync call
 * that returned 0; trial_after_crash lowers *required from it after a
 * power cut where the promise says so). */
void trial_window(const trial_env *env, const cl_options *eng,
                  const trial_progress *pg, uint32_t *issued, uint32_t *acked,
                  uint32_t *required, uint32_t *claimed, uint32_t *synced);
/* trial_window's *required alone. */
uint32_t trial_required(const trial_env *env, const cl_options *eng,
                        const trial_progress *pg);

/* What the target's promise for s's engine options keeps through a power
 * cut of a process that had `acked` transactions acknowledged, the first
 * `synced` of them before a sync call that returned 0
 * (oracle_promised_after; under process+prev a last commit that changed
 * nothing counts for none: oracle_last_change).  Less than the process
 * crash's promise (trial_window's required): a loss between the two is an
 * expected loss. */
uint32_t trial_promised_cut(const trial_env *env, const trial_spec *s,
                            uint32_t acked, uint32_t synced);

/* res's window (issued, acked, durable, claimed, synced) from the
 * progress in shared memory now, by trial_window, and for concurrent
 * writers from their threads' (trial_mt_counts). */
void trial_result_window(const trial_env *env, const trial_spec *s,
                         trial_result *res);

/* Fill the fields of res that come from the spec alone. */
void trial_result_start(const trial_spec *s, trial_result *res);

/* A recovery that samples its own crash states (trial_rcrash.c). */
typedef struct trial_sampler {
    trial_env *env;
    const cl_options *eng; /* the variant's engine options */
    const trial_paths *p;
    int logs;             /* the run has a shadow log: keep its length and
                             the graveyard with the sample */
    int writers;          /* that log is the writer's, gone on with
                             (trial_paths shadow and grave), not one of
                             the recoveries' own (rshadow and rgrave) */
    rng r;                /* draws the sample */
    uint32_t aim;         /* a CL_ACT_* mechanism whose points (and the
                             point right after each) weigh
                             TRIAL_AIM_WEIGHT in the reservoir,
                             TRIAL_AIM_ACK (a chain link's first points
                             after its open, at its first sync call and
                             after its first promised commit), or 0:
                             every point weighs 1 */
    uint32_t prev_act;    /* the mechanisms of the point before */
    uint32_t aim_seen;    /* TRIAL_AIM_ACK: which of its three points
                             have come (TRIAL_ACK_* bits) */
    uint64_t weight;      /* the weights of the points so far */
    _Atomic int sampling; /* cleared when the open returns */
    fs_lazy *lazy;        /* in the sampling process: the lazy copy's
                             keeper, or NULL (trial_sample_end frees it) */
    memfs *vfs;           /* in the sampling process: the file system in
                             memory the run's files are in
                             (trial_verify_here), or NULL: on disk */
    crashio *cio;         /* in the sampling process: the run's crash core
                             (NULL for an interposed target), which with
                             vfs holds its shadow log in memory */
    int kept;             /* with vfs: a sample is kept in memory, to be
                             saved to disk by trial_sample_save */
} trial_sampler;

/* The end of a sampling run's process's part (after the target's handle
 * is closed): what the sampler held there is freed. */
void trial_sample_end(trial_sampler *x);

/* A run in memory (x->vfs): stop sampling and write the state it kept
 * (and the graveyard then) where a run on disk leaves it, before the
 * verifier process answers; only then does the run count as sampled.  A
 * failure is the run's sample_error (the first one it had stays). */
void trial_sample_save(trial_sampler *x);

/* How a verifier opens the database: plain POSIX (NULL), or through
 * crashio with a sampler, and whether it then judges what it recovered. */
typedef struct trial_open_how {
    const crashio_config *cc;
    trial_sampler *sampler;
    int full;   /* read back, judge and check after the open */
    int resume; /* with full: a chain link.  Once the recovered state is
                   judged (the state after k transactions), go on with
                   the workload from transaction k, publishing progress
                   as a writer does, the sampler still sampling */
} trial_open_how;

/* What a worker asks of its verifier process: verify dir as trial s
 * (trial_verify_here's arguments).  With has_how, opened as `how` says,
 * whose crashio configuration, sampler and scratch paths are the copies
 * here (pointers into the worker's memory would not be the worker's
 * current values in the verifier process). */
typedef struct trial_vreq {
    trial_spec s;
    uint32_t lo, claimed, hi, skip;
    char dir[4200];
    int has_how;
    trial_open_how how;
    crashio_config cc;
    trial_sampler x;
    trial_paths p;
} trial_vreq;

/* May the engine with options eng refuse a page torn by a crash (detected
 * corruption, not a violation)?  Only without torn-page protection, and
 * where the damage can tear a page write: tears_any (a torn write, a power
 * cut, crashed recoveries), or tears_large (a kill that can land in the
 * middle of a write: kill-time, other writing threads) for pages larger
 * than a write a kill cannot tear. */
int trial_torn_refusal_ok(const cl_options *eng, int tears_any,
                          int tears_large);
/* Whether the engine's last failure in this thread is a torn or corrupt
 * page (its cl_errinfo, not its message: the wording is for people). */
int trial_is_page_damage(void);

/* Verify dir, opened as `how` says (NULL: plain POSIX, and judge), in
 * this worker's verifier process, which verifies state after state
 * (trial_vserve.c), or with env->fresh_verifier in a fresh process.  Fills
 * res's verdict fields.  Returns 0, or -1 if the verifier could not run or
 * be set up (res->detail says why: a set-up failure of the harness, such
 * as its scratch directory gone, never a verdict on the target). */
int trial_verify(trial_env *env, const trial_spec *s, const char *dir,
                 uint32_t lo, uint32_t hi, const trial_open_how *how,
                 trial_result *res);

/* The verifier's work, in the calling process (trial.c): open dir as `how`
 * says, read back, judge against the window lo..claimed..hi (skip: the
 * transaction the target went on without, or ORACLE_NO_SKIP), check and
 * probe, into env->shm->ver (done set once judged; setup_failed when the
 * harness could not set it up).  Returns the target's handle if one is
 * still open (to be closed or abandoned by the caller), else NULL; with
 * `how`, OUT (when cio is not NULL): *cio, the crashio the handle's I/O
 * goes through, to free once the handle is closed. */
void *trial_verify_here(trial_env *env, const trial_spec *s, const char *dir,
                        uint32_t lo, uint32_t claimed, uint32_t hi,
                        uint32_t skip, const trial_open_how *how,
                        crashio **cio);

/* The workload s's verifier judges against (its chain's links so far,
 * into *wl) and its prefix hashes: the profile's, or, when a transaction
 * was skipped (skip, not ORACLE_NO_SKIP) or a chain's links wrote values
 * of their own, built into *local (free it with oracle_prefix_free when
 * *pre is local).  OUT: *wl, *pre.  Returns 0 or -1 (out of memory). */
int trial_prefix_of(const trial_spec *s, uint32_t skip, wl_params *wl,
                    oracle_prefix *local, const oracle_prefix **pre);

/* The second stage after the verifying open of dir failed, for a target
 * with a repair op (trial_repair.c): repair a copy of dir (dir itself is
 * left as it is, for the kept artifacts), open and read it back, and
 * judge it against transactions 0..hi (claimed and skip as for
 * trial_verify_here).  OUT: *k, the transactions of the repaired state
 * (0 unless it is a prefix).  Returns the outcome; trial_repair_settle
 * holds an ok to the trial's final promise. */
trial_repair trial_second_stage(const trial_env *env, const trial_spec *s,
                                const char *dir, uint32_t claimed, uint32_t hi,
                                uint32_t skip, uint32_t *k);
/* Once res->durable is final: a repaired state of fewer transactions
 * than that lost promised ones (repair lost, repair_k kept). */
void trial_repair_settle(trial_result *res);

/* Crash states one verifier process verifies before it is replaced. */
#define TRIAL_VSERVE_MAX 1024

/* Stop this worker's verifier process, if it runs (trial_env_fini does). */
void trial_vserve_stop(trial_env *env);

/* Crash the recovery of p->dir up to env->recovery_depth times, each at a
 * point drawn from the points of its clean run, power cut or not
 * (trial_rcrash.c).  The first clean run is also verified in full: the
 * reference of the idempotence check, in *ref, which holds (*same 1) unless
 * a power cut of a crashed recovery could drop what the killed writer had
 * left unsynced, which its clean recovery found.  Appends to res->damage and
 * sets res->rec_crashes.  Returns 0, 1 when a clean recovery failed (res
 * then holds that verdict: the state it started from is what the verifier
 * would have judged), or -1 (harness failure, res->detail says why). */
int trial_crash_recovery(trial_env *env, const trial_spec *s,
                         const trial_paths *p, trial_result *res,
                         trial_result *ref, int *same);

/* What a chain's crashes took that only process crashes would have had
 * to keep (trial_chain): nominal, the most any process of the chain was
 * promised against a process crash; lowered, set once a power cut
 * brought the promised window (trial_result.durable) below nominal; lost,
 * set when a link recovered fewer transactions than nominal was then (an
 * expected loss, even if a later link issued them again). */
typedef struct trial_chain_loss {
    uint32_t nominal;
    int lowered, lost;
} trial_chain_loss;

/* The links of a crash chain (trial_rcrash.c): up to three times, recover
 * p->dir in a process that goes on with the workload from the recovered
 * state, and crash it at a point of its run drawn as recovery-crash draws
 * one (recovery's own points included), power cut or not.  Updates res's
 * window (durable, claimed, issued, acked) to hold every link's
 * acknowledgements, as the target's promise holds them through each
 * crash (a power cut keeps only what trial_promised_cut says, of every
 * process since the last one), appends to res->damage, sets res->links,
 * and keeps *loss (nominal and lowered as trial_after_crash left them for
 * the first crash); adds to s->hist each link whose kept state is from
 * after its recovery (the state holds the values it went on with).
 * Returns 0, 1 when a link's own verdict decided the trial (res holds
 * it), or -1 (harness failure, res->detail says why). */
int trial_chain(trial_env *env, trial_spec *s, const trial_paths *p,
                trial_result *res, trial_chain_loss *loss);

/* The damage sentence of a crash: outcome (CRASHIO_OUT_*) at point `at`,
 * `seen` points numbered by then, the tear and its file when torn. */
void trial_describe_crash(const trial_spec *s, uint32_t outcome, uint64_t at,
                          uint64_t seen, const crashio_tear_info *t,
                          const char *file, char *out, size_t len);

/* The damage sentence of a writer killed for real (from crashio's shared
 * area). */
void trial_describe_kill(const trial_env *env, const trial_spec *s, char *out,
                         size_t len);

/* The writer ended otherwise than by the crash's SIGKILL (wait status
 * st), or hung (ran past the trial's time limit, trial_env.timeout_s, and
 * was killed): the verdict is ORACLE_WRITER. */
void trial_writer_failed(const trial_env *env, int st, int hung,
                         trial_result *res);

/* After the death of a trial's own writer (wait status st; hung: killed
 * at the time limit), with its progress and crashio's shared area as it
 * left them and the window in res: the damage sentence (the fault's, then
 * the kill's), and trial_after_crash, or the writer's failure.  Returns 0
 * or -1 as trial_after_crash. */
int trial_writer_ended(trial_env *env, const trial_spec *s,
                       const trial_paths *p, trial_result *res, int st,
                       int hung, uint64_t t1);

/* Everything after the crash, with the crash state in p->dir (and, for a
 * power cut, the shadow log and graveyard in p->shadow and p->grave) and
 * res's progress and damage filled: the power-cut image, the crashed
 * recoveries, the verifier, the idempotence check; t1 is when the crash
 * state was ready.  Sets us_damage and us_verify.  Returns 0 (verdict in
 * res) or -1 (harness failure, res->detail says why). */
int trial_after_crash(trial_env *env, const trial_spec *s, const trial_paths *p,
                      trial_result *res, uint64_t t1);

/* How often the parent of a kill-time writer looks whether its first I/O
 * point came (trial_run.c): a point comes a millisecond or two after a
 * writer's start. */
#define TRIAL_FIRST_POINT_POLL_US 50

/* ---- concurrent writers (trial_mt.c) ---- */

/* The least duration of a concurrent writer's syncs (crashio_config.
 * sync_delay_us): on a memory file system an fsync is over at once, and
 * commits would never arrive while a group commit's leader syncs. */
#define TRIAL_MT_SYNC_DELAY_US 200

/* In the writer, with h open: run prof's workload on s->threads threads,
 * each committing its own transactions and publishing its progress;
 * returns when all are done (a failing commit ends the process, as in the
 * single-threaded writer). */
void trial_mt_write(trial_env *env, const trial_profile *prof, void *h,
                    const trial_spec *s);

/* Run prof's concurrent workload once without crashing, to learn about
 * how many I/O points and how long such a run takes (prof->mt_points,
 * mt_run_us: each run's own differ).  Returns 0, or -1 with a message in
 * err. */
int trial_mt_profile(trial_env *env, trial_profile *prof, char *err,
                     size_t errlen);

/* What the writer's threads did, for the oracle, as the sync mode's promise
 * reads it (commit, group: every commit that returned; off, periodic:
 * those the engine reported durable).  in->lsn points into shared memory. */
void trial_mt_window(const trial_env *env, const trial_spec *s,
                     oracle_mt_input *in);

/* res's issued, acked and durable counts from the threads' progress. */
void trial_mt_counts(const trial_env *env, const trial_spec *s,
                     trial_result *res);

/* Write the commit order and acknowledgements of the writer's threads to
 * path (--keep-failures): with the crashed image, what the verdict was
 * computed from.  Returns 0 or an errno. */
int trial_mt_keep(const trial_env *env, const trial_spec *s, const char *path);

/* ---- error modes (trial_fault.c) ---- */

/* Configure the writer's crashio for error trial s (shadow log and
 * graveyard always, as the counting run had them; fail_at for
 * fsync-fail, or, where the target's own threads race the writer
 * (racing), fail_sync: the same sync call counted among the syncs, since
 * point fail_at of this run may be another call). */
void trial_fault_config(const trial_spec *s, const trial_paths *p, int racing,
                        crashio_config *cc);
/* In the writer, after crashio_new: arm s's libfiu fault (nothing for
 * fsync-fail).  Returns 0 or an errno. */
int trial_fault_arm(trial_env *env, const trial_spec *s,
                    const crashio_config *cc);
/* Has s's fault been returned to the target yet (in the writer)? */
int trial_fault_fired(const trial_env *env, const trial_spec *s);
/* In the writer: transaction i (or the checkpoint after it, or the open:
 * where) returned rc.  Returns 0 to go on without it, 1 to stop the
 * workload (the target refuses writes), -1 if the error is not the
 * injected one's (a writer failure). */
int trial_fault_on_error(trial_env *env, const trial_spec *s, void *h,
                         uint32_t i, int where, int rc);
/* In the writer: transaction i was acknowledged (or the sync call after
 * it returned 0: synced); note it if a failed sync had been returned to
 * the target before (fired_before: already before the call began). */
void trial_fault_on_ack(trial_env *env, const trial_spec *s, uint32_t i,
                        int synced, int fired_before);
/* The damage sentence of the fault and of what the workload saw of it. */
void trial_fault_describe(const trial_env *env, const trial_spec *s, char *out,
                          size_t len);
/* For an error trial, its fault's sentence followed by "; then " (else
 * nothing), where a killed writer's damage begins.  Returns its length. */
size_t trial_fault_then(const trial_env *env, const trial_spec *s, char *out,
                        size_t len);
/* After verification: a violation of error handling that the oracle's
 * verdict (OK) does not show. */
void trial_fault_judge(const trial_env *env, const trial_spec *s,
                       trial_result *res);

/* With --keep-failures, keep a violation's images (every trial's with
 * keep_all); then remove the paths of this one state (not the writer's
 * shadow log and graveyard). */
void trial_state_done(const trial_env *env, const trial_spec *s,
                      const trial_paths *p, const trial_result *res);

#endif
