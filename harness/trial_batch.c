/*
 * trial_batch.c - the crash states of several trials from one writer run.
 *
 * A crash at I/O point k leaves the files exactly as they are just before
 * call k is made: the page cache holds every earlier write, and nothing of
 * call k has happened.  So the trials of one workload variant whose crash
 * is at an I/O point (kill-io, torn, powerloss, and the first crash of
 * recovery-crash) can share one writer.  At each of their points, crashio's
 * on_point hook (in the writer, before the call) copies the database
 * directory -- a snapshot -- and records what the writer had published by
 * then (transactions issued, acknowledged, known durable: the oracle's
 * window for that state).  For a torn trial it then makes on the copy the
 * torn write a crash there makes (crashio_tear_write, same seed, same
 * bytes); for a trial that keeps the shadow log (trial_keeps_log: a power
 * cut, and the recoveries of recovery-crash and chain trials, which go on
 * with it) it also copies the graveyard and notes the length of the log,
 * whose records up to then are exactly those of the earlier points (the
 * graveyard's files are linked, not copied, but for one the writer holds
 * open: nothing writes a removed file again, and a power-cut image that
 * rewrites one, or brings it back, gives it an inode of its own first:
 * fs_share_tree, fs_unshare).  The trial
 * with the last point is crashed for real, as trial_run would; trials past the
 * end of the workload get their copy after the last transaction.
 *
 * The writer of a target whose calls all go through the engine's I/O
 * table (not an interposed one) keeps its files in its own memory
 * (memfs.h), and its shadow log there too, unless the campaign keeps
 * failed states (trial_writer_in_memory): its run makes no system call
 * for its files.  A snapshot is then its files written out to the slot,
 * in name order as a copy is, the graveyard's likewise, and the log
 * written out up to that point; and where its own crash (or the end of
 * its workload) is a trial's state, the on_die hook (and the end hook)
 * writes the files, graveyard and whole log out where a writer on disk
 * would have left them, before it dies.  A writer that dies any other
 * way (it failed, or hung and was killed) leaves nothing on disk, and
 * nothing is judged from its files then.  The profile's counting run
 * runs in memory too where its kill-time trials are served here, so
 * that their delays, drawn from its time, fall in a run of the same
 * speed.
 *
 * kill-time trials of a writer of one thread without a sync thread get a
 * snapshot too, at the first point after their delay (trial_batch_timed);
 * a batch that serves one crashes nobody for real, since its time may
 * come after every point.  A writer that has served every trial of its
 * batch, none by its own crash, dies there rather than run on for
 * nothing (trial_batch_served): a batch of one kill-time trial then ends
 * at its delay, as the trial's own writer would.
 *
 * Error trials (fsync-fail, write-fail) share the run up to the start of
 * the transaction in which their fault comes (the profile's counting run
 * tells which: trial_profile.txn_points).  There, between two calls of the
 * target, so that it holds no lock, the writer branches: it copies the
 * directory and the graveyard, notes the shadow log's length and starts
 * an empty one for the branch's records, puts these at the original paths
 * (its descriptors follow its own files, parked under other names) and
 * forks.  The branch reopens every descriptor crashio tracks on the copies
 * (crashio_branch), takes on the trial's fault and crash point, and runs
 * on exactly as the trial's own writer would from there: the same process
 * image, files and published progress (but for the lock the target holds
 * on the writer's own lock file, which nothing else opens meanwhile).
 * When it has died, the writer records its wait status, its progress and
 * crashio's shared area, moves its files to the trial's slot, puts its own
 * back and goes on; the trial's shadow log is then the writer's up to the
 * noted length followed by the branch's records.  A branch's time limit is
 * what its own writer would have had left at that point, and the writer's
 * own limit leaves out the time its branches and copies took.  A writer
 * in memory writes its files and graveyard out to the slot instead of
 * copying them, and its log out up to the branch point; its descriptors
 * are numbers the system holds for it (memfs_real_fds), so the branch
 * reopens them on the files written out like any other, and goes on on
 * disk (crashio_branch_cfg.inner): a branch that went on in the memory it
 * shares with the writer would copy each page it changes at a page
 * fault, which costs more here than writing the files out does.  Only a
 * writer of
 * one thread can branch: not a concurrent one (a concurrent variant's error
 * trials run its workload in one thread, as its counting run did, and branch
 * from such a run), nor one with a sync thread (sync periodic), nor an
 * interposed target's unless it says its state survives the fork
 * (target_ops.forkable: SQLite in its rollback-journal modes; the
 * interposer then reopens the program's descriptors, interpose_branch).
 * Such a branch goes on in the writer's own database, not in a copy put
 * at its path: SQLite refuses a database whose path names another file
 * than the one it opened.  The writer's copy is then what it gets back:
 * once the branch has died, what the branch left goes to the trial's
 * slot and the copy is written back into the same files
 * (trial_batch_in_place_back).  A fault in the target's open comes before
 * any transaction: such a trial runs alone.  An error trial whose run makes no
 * call of the kind its fault fails (fail_at 0: a run with no sync at all) is a
 * crash at its point, and gets a snapshot like a kill-io trial.
 *
 * Concurrent writers share runs too.  Their trials repeat parameters, not
 * interleavings, so a point of the shared run is as much their crash as a
 * point of a run of their own; every thread's I/O takes crashio's lock,
 * which the hook holds, so the files do not change while it copies them,
 * and what the threads published by then (each one's transactions issued
 * and acknowledged) is kept with the copy.  A batch is of one profile and
 * one number of threads (a concurrent variant's chains run its workload
 * in one thread).
 *
 * Each state is then moved to the path the writer used (so the shadow log's
 * paths, and any message naming a file, are those of a run of that trial
 * alone) and goes through the same steps as in trial_run: power-cut image,
 * crashed recoveries, and the verifier (trial_vserve.c).  A trial's result
 * is therefore the one trial_run gives for it alone, timings aside: that is
 * what --replay relies on, and tests/test_crashtest.sh compares the rows.
 * (A snapshot is a copy, whose directories list their entries in name
 * order; a killed writer's own directory is renewed into the same order
 * where recoveries are crashed at numbered points: trial_writer_ended.)
 *
 * States are handled from the last point down, so that the one shadow log
 * can be cut back to each snapshot's length in turn (a branch's log is
 * made from its prefix and the branch's own records).  The writer's time,
 * its branches' aside, is shared equally among the trials it served
 * (us_writer); a branch's run is its trial's own.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clk.h"
#include "fsutil.h"
#include "interpose.h"
#include "shadow.h"
#include "trial_int.h"
#include "util.h"

/* The snapshots a batch writer takes (it works on its own copy of this
 * plan, inherited through fork). */
typedef struct trial_batch_plan {
    trial_env *env;
    const trial_paths *p;
    char *root;          /* p->dir in normal form, as crashio spells paths */
    size_t n;            /* trials that get a snapshot or a branch, in s[] */
    size_t npoint;       /* s[0..npoint): served at a point (crash, or a
                            branch's transaction); s[npoint..n): kill-time
                            trials, served by time (trial_batch_timed) */
    size_t next;         /* the first of s[0..npoint) not taken yet */
    size_t next_timed;   /* the first of s[npoint..n) not taken yet */
    int branch;          /* this process is a branch: it takes nothing */
    uint64_t t0;         /* when the writer was forked; from its first I/O
                            point on, held to the counting run's start
                            (trial_batch_on_point) */
    int pointed;         /* its first I/O point came */
    uint64_t hooks_us;   /* the time its copies and branches took */
    unsigned long conts; /* util_continues() at t0 */
    memfs *vfs;          /* the writer's files, in its memory (NULL: on
                            disk) */
    crashio *cio;        /* the writer's crash core, once made */
    int own_death;       /* the writer's crash state is a trial's: it
                            writes it out before it dies */
    const trial_spec *s[TRIAL_BATCH_MAX]; /* by trial_batch_at, ascending,
                                             a branch before a snapshot at
                                             the same point; then the
                                             timed ones by delay */
} trial_batch_plan;

/* Is s a kill-time trial served by a shared run?  A writer of one thread
 * with no sync thread changes its files only in its calls, each of them
 * an I/O point: a SIGKILL between two calls leaves the files as they are
 * before the later one, and the writer has published no more than it had
 * when that point came.  So its state is the snapshot at the first point
 * the run reaches once its own time (its copies and branches aside) has
 * passed the trial's delay, or the run's end.  A kill that lands inside a
 * call is left out: on a file system in memory only a write of several
 * pages can be cut by it, and torn trials cut writes at every sector. */
static int trial_batch_timed(const trial_spec *s)
{
    return s->mode == MODE_KILL_TIME;
}

int trial_mode_batchable(trial_mode m)
{
    return trial_mode_get(m)->batchable;
}

/* Does s branch off a shared run at its fault?  An error trial of a run
 * that makes no call its fault could fail (fail_at 0: SQLite with
 * synchronous=OFF makes no sync) is a crash at its point like any other,
 * and gets a snapshot. */
static int trial_batch_branches(const trial_spec *s)
{
    return trial_mode_get(s->mode)->branches && s->fail_at != 0;
}

/* The transaction in which s's fault comes, or wl.txns if in none (in
 * the open). */
static uint32_t trial_batch_txn(const trial_spec *s)
{
    const trial_profile *pr = s->prof;
    uint32_t lo = 0, hi = pr->wl.txns; /* the answer is lo - 1 */

    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (pr->txn_points[mid] < s->fail_at)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo > 0 ? lo - 1 : pr->wl.txns;
}

int trial_batchable(const trial_env *env, const trial_spec *s)
{
    /* a point of one run is not the same call in another; with the
     * engine's checkpoint thread, runs do not even make as many calls */
    if (target_is_background(env->target) ||
        (s->prof != NULL && s->prof->eng.checkpoint_mode == CL_CKPT_BACKGROUND))
        return 0;
    /* an interposed target's files may change outside its calls (a
     * mapping) */
    if (trial_batch_timed(s))
        return s->threads <= 1 && trial_eng_repeats(&s->prof->eng) &&
               !env->target->interposed;
    if (trial_mode_batchable(s->mode) ||
        (trial_mode_get(s->mode)->branches && s->fail_at == 0))
        return 1;
    return trial_batch_branches(s) && s->threads <= 1 &&
           s->prof->txn_points != NULL &&
           trial_batch_txn(s) < s->prof->wl.txns &&
           trial_eng_repeats(&s->prof->eng) && target_can_branch(env->target);
}

/* The point at which the writer serves s: its crash's; a branch's, the
 * first of its transaction's. */
static uint64_t trial_batch_at(const trial_spec *s)
{
    return trial_batch_branches(s) ? s->prof->txn_points[trial_batch_txn(s)] + 1
                                   : s->crash_point;
}

/* Does a come before b in a plan? */
static int trial_batch_before(const trial_spec *a, const trial_spec *b)
{
    uint64_t x, y;

    if (trial_batch_timed(a) || trial_batch_timed(b))
        return !trial_batch_timed(a) ||
               (trial_batch_timed(b) && a->delay_us < b->delay_us);
    x = trial_batch_at(a);
    y = trial_batch_at(b);

    return x < y ||
           (x == y && trial_batch_branches(a) && !trial_batch_branches(b));
}

/* What of a trial's state trial_batch_path names: a branch's shadow log
 * holds its own records, TB_LOG the whole log its trial reads; TB_TMP is
 * a database on its way to the slot. */
enum { TB_DB, TB_GRAVE, TB_SHADOW, TB_LOG, TB_TMP };
/* The slot of trial_batch_path where a branch parks the writer's files. */
#define TB_PARK TRIAL_BATCH_MAX

/* Where slot i (a snapshot or a branch's end) keeps the database, the
 * graveyard or (a branch's) the shadow log.  Returns 0, or ENAMETOOLONG
 * (out then holds a truncated name). */
static int trial_batch_path(const trial_paths *p, size_t i, int what, char *out,
                            size_t len)
{
    static const char *const ext[] = {"", ".grave", ".shadow", ".log", ".tmp"};
    int n = i == TB_PARK
                ? snprintf(out, len, "%s/park%s", p->snaps, ext[what])
                : snprintf(out, len, "%s/%zu%s", p->snaps, i, ext[what]);

    return n >= 0 && (size_t)n < len ? 0 : ENAMETOOLONG;
}

/* A table whose pwrite writes nothing: the tear of a file that is not in
 * the database (unlinked) changes nothing there, and is only described. */
static int trial_batch_null_pwrite(void *ctx, int fd, const void *buf,
                                   size_t len, uint64_t off)
{
    (void)ctx;
    (void)fd;
    (void)buf;
    (void)len;
    (void)off;
    return 0;
}

/* Make on the copy db the tear a crash of s at this pwrite makes.  Returns
 * 0 (torn: rec filled), 1 (a plain kill) or an errno. */
static int trial_batch_tear(trial_batch_plan *b, const trial_spec *s,
                            const crashio_call *call, const char *db,
                            trial_snap *rec)
{
    static const cl_io null_io = {.pwrite = trial_batch_null_pwrite};
    const cl_io *posix = cl_io_posix();
    const crashio_shared *sh = b->env->shm->cio;
    size_t rl = strlen(b->root);
    int fd = -1, rc;

    if (call->path != NULL && strncmp(call->path, b->root, rl) == 0 &&
        call->path[rl] == '/') {
        char f[8600];
        snprintf(f, sizeof(f), "%s/%s", db, call->path + rl + 1);
        if ((rc = posix->open(posix->ctx, f, CL_IO_RDWR, &fd)) != 0)
            return rc;
        rc = crashio_tear_write(posix, fd, s->seed, call->k, b->env->sector,
                                s->fill, call->buf, call->len, call->off,
                                &rec->tear);
        posix->close(posix->ctx, fd);
    } else {
        rc = crashio_tear_write(&null_io, -1, s->seed, call->k, b->env->sector,
                                s->fill, call->buf, call->len, call->off,
                                &rec->tear);
    }
    if (rc != 0)
        return rc;
    rec->tear.file = call->file;
    snprintf(rec->tear_file, sizeof(rec->tear_file), "%s",
             call->file > 0 && call->file <= CRASHIO_MAX_NAMES
                 ? sh->names[call->file - 1]
                 : "?");
    return 0;
}

/* Copy the progress header pg (lsn[] aside) to out.  Concurrent writer
 * threads go on publishing meanwhile: the counts they publish are read one
 * by one in the reverse of their publishing order (synced, acknowledged,
 * durable position, issued), so that none is behind one published after
 * it. */
static void trial_batch_progress(const trial_progress *pg, unsigned char *out,
                                 size_t n)
{
    trial_progress h;

    memcpy(&h, pg, n);
    h.synced = __atomic_load_n(&pg->synced, __ATOMIC_ACQUIRE);
    for (int t = 0; t < WL_MAX_THREADS; t++)
        h.th_synced[t] = __atomic_load_n(&pg->th_synced[t], __ATOMIC_ACQUIRE);
    h.acked = __atomic_load_n(&pg->acked, __ATOMIC_ACQUIRE);
    for (int t = 0; t < WL_MAX_THREADS; t++)
        h.th_acked[t] = __atomic_load_n(&pg->th_acked[t], __ATOMIC_ACQUIRE);
    h.durable = __atomic_load_n(&pg->durable, __ATOMIC_ACQUIRE);
    h.issued = __atomic_load_n(&pg->issued, __ATOMIC_ACQUIRE);
    for (int t = 0; t < WL_MAX_THREADS; t++)
        h.th_issued[t] = __atomic_load_n(&pg->th_issued[t], __ATOMIC_ACQUIRE);
    memcpy(out, &h, n);
}

/* Slot i gets the writer's database as it is now and, with its log (log),
 * its graveyard: from its memory (b->vfs), or copied on disk (the
 * graveyard's files not open here linked: fs_share_tree).
 * rec->shadow_len: the writer's log's length, that much of it on disk.
 * Returns 0 or an errno. */
static int trial_batch_slot(const trial_batch_plan *b, size_t i, int log,
                            trial_snap *rec)
{
    const trial_paths *p = b->p;
    char slot[4300];
    struct stat st;
    int rc;

    if ((rc = trial_batch_path(p, i, TB_DB, slot, sizeof(slot))) != 0 ||
        (rc = b->vfs != NULL ? memfs_store_at(b->vfs, p->dir, slot)
                             : fs_copy_tree(p->dir, slot)) != 0 ||
        !log ||
        (rc = trial_batch_path(p, i, TB_GRAVE, slot, sizeof(slot))) != 0)
        return rc;
    if (b->vfs != NULL) {
        rec->shadow_len = crashio_shadow_length(b->cio);
        if ((rc = memfs_store_at(b->vfs, p->grave, slot)) != 0)
            return rc;
        return crashio_shadow_flush(b->cio, rec->shadow_len);
    }
    if ((rc = fs_share_tree(p->grave, slot)) != 0)
        return rc;
    if (stat(p->shadow, &st) != 0)
        return errno;
    rec->shadow_len = (uint64_t)st.st_size;
    return 0;
}

/* Take snapshot i: the database as a crash of b->s[i] at this point (call;
 * NULL: after the last transaction) leaves it, and the writer's progress. */
static void trial_batch_take(trial_batch_plan *b, size_t i,
                             const crashio_call *call)
{
    trial_env *env = b->env;
    const trial_spec *s = b->s[i];
    trial_snap *rec = &env->shm->snaps[i];
    trial_progress *pg = env->shm->prog;
    char db[4300];
    uint64_t t0 = clk_now_us();
    int rc;

    memset(rec, 0, sizeof(*rec));
    rec->point = call != NULL ? call->k : 0;
    rec->points = atomic_load(&env->shm->cio->points);
    trial_window(env, &b->s[i]->prof->eng, pg, &rec->issued, &rec->acked,
                 &rec->durable, &rec->claimed, &rec->synced);
    trial_batch_progress(pg, rec->prog, sizeof(rec->prog));
    /* a timed trial is killed by its parent after the calls so far
     * (trial_run's description: the points it had made) */
    rec->outcome = call != NULL && !trial_batch_timed(s) ? CRASHIO_OUT_KILLED
                                                         : CRASHIO_OUT_NONE;
    if (call != NULL && trial_batch_timed(s))
        rec->points = call->k - 1;
    if ((rc = trial_batch_slot(b, i, trial_keeps_log(s), rec)) != 0)
        goto fail;
    if (call != NULL && s->action == CRASHIO_TEAR &&
        call->kind == CRASHIO_PWRITE) {
        trial_batch_path(b->p, i, TB_DB, db, sizeof(db));
        rc = trial_batch_tear(b, s, call, db, rec);
        if (rc > 1)
            goto fail;
        if (rc == 0)
            rec->outcome = CRASHIO_OUT_TORN;
    }
    rec->copy_us = clk_now_us() - t0;
    __atomic_store_n(&rec->taken, 1, __ATOMIC_RELEASE);
    return;
fail:
    rec->error = rc;
}

/* Exchange the writer's database (unless db is 0), graveyard and shadow
 * log with those of slot i: park the writer's and put slot i's at their
 * paths (in 1), or put them back in slot i and the parked ones back (in
 * 0).  Returns 0 or an errno. */
static int trial_batch_swap(const trial_paths *p, size_t i, int in, int db)
{
    const struct {
        const char *orig;
        int what;
    } part[] = {{p->grave, TB_GRAVE}, {p->shadow, TB_SHADOW}, {p->dir, TB_DB}};

    for (size_t k = 0; k < sizeof(part) / sizeof(part[0]) - !db; k++) {
        char slot[4300], park[4300];
        if (trial_batch_path(p, i, part[k].what, slot, sizeof(slot)) != 0 ||
            trial_batch_path(p, TB_PARK, part[k].what, park, sizeof(park)) != 0)
            return ENAMETOOLONG;
        if ((rename(part[k].orig, in ? park : slot) != 0 && errno != ENOENT) ||
            (rename(in ? slot : park, part[k].orig) != 0 && errno != ENOENT))
            return errno;
    }
    return 0;
}

/* A rename of trial_batch_swap failed (errno rc) for slot rec: the
 * writer's files are not where its run expects them.  It ends, and the
 * worker reports a failure of the harness (rec->lost). */
_Noreturn static void trial_batch_lost(trial_snap *rec, int rc)
{
    rec->error = rc;
    rec->lost = 1;
    _exit(25);
}

/* A branch's slot i: trial_batch_slot's files and log, and the branch's
 * empty shadow log.  Returns 0 or an errno. */
static int trial_batch_branch_slot(const trial_batch_plan *b, size_t i,
                                   trial_snap *rec)
{
    char slot[4300];
    int fd, rc;

    if ((rc = trial_batch_slot(b, i, 1, rec)) != 0 ||
        (rc = trial_batch_path(b->p, i, TB_SHADOW, slot, sizeof(slot))) != 0)
        return rc;
    if ((fd = open(slot, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
        return errno;
    close(fd);
    return 0;
}

/* After the branch of slot i that went on in the writer's own database
 * (an interposed target's): slot i gets what the branch left there, and
 * the writer's files get back, in place, what they held before it (slot
 * i's copy).  Returns 0 or an errno. */
static int trial_batch_in_place_back(const trial_paths *p, size_t i)
{
    char slot[4300], left[4300];
    int rc;

    if ((rc = trial_batch_path(p, i, TB_DB, slot, sizeof(slot))) != 0 ||
        (rc = trial_batch_path(p, i, TB_TMP, left, sizeof(left))) != 0)
        return rc;
    fs_rmrf(left);
    if ((rc = fs_copy_tree(p->dir, left)) != 0 ||
        (rc = fs_restore_tree(p->dir, slot)) != 0 || (rc = fs_rmrf(slot)) != 0)
        return rc;
    return rename(left, slot) == 0 ? 0 : errno;
}

/* Branch off a process for b->s[i] at the start of the transaction of
 * its fault (now; c: the writer's crashio), which goes on as the trial's
 * own writer would from here (see the file comment), and record how it
 * ended in snapshot i; then put the writer's files, progress and crashio's
 * shared area back, and go on.  Returns in the branch too, which then runs
 * the trial. */
static void trial_batch_branch(trial_batch_plan *b, size_t i, crashio *c)
{
    trial_env *env = b->env;
    const trial_spec *s = b->s[i];
    const trial_paths *p = b->p;
    trial_snap *rec = &env->shm->snaps[i];
    trial_progress *pg = env->shm->prog;
    crashio_shared *sh = env->shm->cio;
    unsigned char saved_cio[sizeof(crashio_shared)];
    void *saved_prog = malloc(env->shm->prog_size);
    uint64_t t0 = clk_now_us(), t1, ran, limit = TRIAL_TIMEOUT_US(env);
    pid_t pid, me = getpid();
    /* an interposed target's branch goes on in the writer's own files */
    int in_place = env->target->interposed, rc;

    memset(rec, 0, sizeof(*rec));
    rec->point = s->fail_at;
    rec->branch = 1;
    rc = saved_prog == NULL       ? ENOMEM
         : c == NULL && !in_place ? EINVAL
                                  : trial_batch_branch_slot(b, i, rec);
    if (rc != 0)
        goto fail;
    if ((rc = trial_batch_swap(p, i, 1, !in_place)) != 0)
        trial_batch_lost(rec, rc);
    memcpy(saved_prog, pg, env->shm->prog_size);
    memcpy(saved_cio, sh, sizeof(saved_cio));
    fflush(NULL);
    t1 = clk_now_us();
    __atomic_store_n(&rec->copy_us, t1 - t0, __ATOMIC_RELEASE);
    __atomic_store_n(&rec->run_start, t1, __ATOMIC_RELEASE);
    if ((pid = fork()) < 0) {
        rc = errno;
        if (trial_batch_swap(p, i, 0, !in_place) != 0)
            trial_batch_lost(rec, errno);
        goto fail;
    }
    if (pid == 0) {
        crashio_branch_cfg bc = {.seed = s->seed,
                                 .crash_at = trial_spec_crash_at(s),
                                 .crash_action = s->action,
                                 .fill = s->fill,
                                 .fail_at = s->fail_at,
                                 .fail_errno = s->fault_errno,
                                 /* a writer in memory: the branch goes
                                  * on on disk, on the files written out */
                                 .inner =
                                     b->vfs != NULL ? cl_io_posix() : NULL};
        crashio_config cc;
        free(saved_prog);
        /* the writer may have been killed before the prctl */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != me)
            _exit(20);
        b->branch = 1;
        util_name_process("ct-branch");
        memset(&cc, 0, sizeof(cc));
        trial_fault_config(s, p, 0, &cc);
        bc.fsync_loses_data = cc.fsync_loses_data;
        rc = in_place ? interpose_branch(&bc) : crashio_branch(c, &bc);
        if (rc != 0) {
            rec->error = rc; /* the harness's failure, not the target's */
            _exit(20);
        }
        env->fault = s;
        return;
    }
    /* what the trial's own writer would have had left of its time */
    if (util_continued(&b->conts)) {
        /* stopped and continued since t0 (util_watch_continue): none of
         * that was the writer's time, which starts again */
        b->t0 = t0 - b->hooks_us;
    }
    ran = t0 - b->t0 - b->hooks_us;
    rec->hung =
        util_wait_within(pid, ran < limit ? limit - ran : 1, &rec->status);
    __atomic_store_n(&rec->run_us, clk_now_us() - t1, __ATOMIC_RELEASE);
    b->hooks_us += rec->copy_us + rec->run_us;
    trial_window(env, &s->prof->eng, pg, &rec->issued, &rec->acked,
                 &rec->durable, &rec->claimed, &rec->synced);
    memcpy(rec->prog, pg, sizeof(rec->prog));
    memcpy(rec->cio, sh, sizeof(rec->cio));
    memcpy(pg, saved_prog, env->shm->prog_size);
    memcpy(sh, saved_cio, sizeof(saved_cio));
    free(saved_prog);
    if (in_place && (rc = trial_batch_in_place_back(p, i)) != 0)
        trial_batch_lost(rec, rc);
    if ((rc = trial_batch_swap(p, i, 0, !in_place)) != 0)
        trial_batch_lost(rec, rc);
    if (rec->error == 0)
        __atomic_store_n(&rec->taken, 1, __ATOMIC_RELEASE);
    return;
fail:
    free(saved_prog);
    rec->error = rc;
}

/* Take snapshot i and leave its time out of the writer's. */
static void trial_batch_take_own(trial_batch_plan *b, size_t i,
                                 const crashio_call *call)
{
    trial_batch_take(b, i, call);
    b->hooks_us += b->env->shm->snaps[i].copy_us;
}

/* A writer that has served every trial of its plan, none of them by its
 * own crash, has nothing left to run for: it dies there, as it would
 * after its last transaction. */
static void trial_batch_served(const trial_batch_plan *b)
{
    if (!b->branch && !b->own_death && b->next >= b->npoint &&
        b->next_timed >= b->n)
        trial_die();
}

/* The on_point hook of a batch writer.  Trials past the end of the
 * workload wait for trial_batch_at_end, as their own run would not crash
 * before it; timed ones whose delay the writer's own time has passed are
 * taken here, before this call. */
static void trial_batch_on_point(void *ctx, const crashio_call *call)
{
    trial_batch_plan *b = ctx;
    uint64_t end = trial_spec_points(b->s[0]);

    if (b->branch)
        return;
    if (!b->pointed) {
        /* Its clock is held to the counting run's at the first I/O
         * point: kill-time delays are drawn from that run's time after
         * it, and a new process's start and open (before it, and most of
         * a short run's time) vary by more than the run's remaining time
         * between two runs. */
        b->pointed = 1;
        b->t0 = clk_now_us() - b->hooks_us - b->s[0]->prof->first_us;
    }
    while (b->next < b->npoint && !trial_batch_branches(b->s[b->next]) &&
           b->s[b->next]->crash_point <= call->k &&
           b->s[b->next]->crash_point <= end)
        trial_batch_take_own(b, b->next++, call);
    while (b->next_timed < b->n &&
           clk_now_us() - b->t0 - b->hooks_us >= b->s[b->next_timed]->delay_us)
        trial_batch_take_own(b, b->next_timed++, call);
    trial_batch_served(b);
}

/* The writer's hook before transaction i: the branches of the trials
 * whose fault comes in it. */
static void trial_batch_at_txn(void *ctx, crashio *c, uint32_t i)
{
    trial_batch_plan *b = ctx;

    while (!b->branch && b->next < b->npoint &&
           trial_batch_branches(b->s[b->next]) &&
           trial_batch_txn(b->s[b->next]) == i)
        trial_batch_branch(b, b->next++, c);
    trial_batch_served(b);
}

/* A writer in memory that is about to die (its crash, or the end of its
 * workload): where its death is a trial's crash state, that state goes
 * to disk where a writer on disk leaves it, with the graveyard and the
 * whole shadow log; a failure is the harness's, in the snapshot record
 * after the plan's. */
static void trial_batch_write_out(void *ctx)
{
    trial_batch_plan *b = ctx;
    const trial_paths *p = b->p;
    trial_snap *rec = &b->env->shm->snaps[b->n];
    int rc;

    if (b->vfs == NULL || !b->own_death)
        return;
    /* the log first, and written through from here: another thread's
     * sync may still log its record, and report the sync done, before
     * the kill lands, as on disk */
    rc = crashio_shadow_release(b->cio);
    if (rc == 0)
        rc = memfs_store_at(b->vfs, p->dir, p->dir);
    if (rc == 0)
        rc = memfs_store_at(b->vfs, p->grave, p->grave);
    if (rc != 0)
        rec->error = rc;
    else
        __atomic_store_n(&rec->taken, 1, __ATOMIC_RELEASE);
}

/* The writer's start hook: its files and crash core. */
static void trial_batch_at_start(void *ctx, crashio *c, memfs *m)
{
    trial_batch_plan *b = ctx;

    b->cio = c;
    b->vfs = m;
}

/* The writer's end hook: snapshots for the trials whose points were not
 * reached (a branch's transaction, one of the run, always is) and for the
 * timed ones whose delay the run outlasted not; then, in memory, the
 * state its death leaves to disk. */
static void trial_batch_at_end(void *ctx)
{
    trial_batch_plan *b = ctx;

    if (b->branch)
        return;
    for (; b->next < b->npoint; b->next++)
        if (!trial_batch_branches(b->s[b->next]))
            trial_batch_take(b, b->next, NULL);
    for (; b->next_timed < b->n; b->next_timed++)
        trial_batch_take(b, b->next_timed, NULL);
    trial_batch_write_out(b);
}

/* Move snapshot i (and, for a trial that keeps the log or a branch, its
 * graveyard; for the former, its shadow log's length) to where the writer
 * had them (a branch's shadow log stays in its slot).  Returns 0 or an
 * errno. */
static int trial_batch_restore(const trial_paths *p, size_t i,
                               const trial_spec *s, const trial_snap *rec)
{
    char from[4300];

    fs_rmrf(p->dir);
    trial_batch_path(p, i, TB_DB, from, sizeof(from));
    if (rename(from, p->dir) != 0 && errno != ENOENT)
        return errno;
    if (trial_keeps_log(s) || rec->branch) {
        fs_rmrf(p->grave);
        trial_batch_path(p, i, TB_GRAVE, from, sizeof(from));
        if (rename(from, p->grave) != 0 && errno != ENOENT)
            return errno;
    }
    if (trial_keeps_log(s) && !rec->branch &&
        truncate(p->shadow, (off_t)rec->shadow_len) != 0 && errno != ENOENT)
        return errno;
    return 0;
}

/* Wait for the batch writer pid, started at t0, to end (wait status *st).
 * Its time limit is a trial's, not counting what its copies and branches
 * took (a branch has a limit of its own), which it publishes in the n
 * slots as it goes, nor a stop: conts is util_continues() at t0, read
 * before the fork, so that a stop and continue between the fork and this
 * wait is seen too.  Returns 1 if it ran past it (and was killed), else
 * 0. */
static int trial_batch_wait(const trial_env *env, pid_t pid, uint64_t t0,
                            unsigned long conts, size_t n, int *st)
{
    for (;;) {
        uint64_t end = t0 + TRIAL_TIMEOUT_US(env), now = clk_now_us();
        for (size_t i = 0; i < n; i++) {
            const trial_snap *r = &env->shm->snaps[i];
            uint64_t ran = __atomic_load_n(&r->run_us, __ATOMIC_ACQUIRE),
                     from = __atomic_load_n(&r->run_start, __ATOMIC_ACQUIRE);
            if (ran == 0 && from != 0 && from < now)
                ran = now - from; /* a branch that runs now */
            end += __atomic_load_n(&r->copy_us, __ATOMIC_ACQUIRE) + ran;
        }
        if (now >= end && util_continued(&conts)) {
            /* stopped and continued meanwhile (util_watch_continue): the
             * limit starts again, end now and the whole limit */
            t0 = now - (end - t0 - TRIAL_TIMEOUT_US(env));
            continue;
        }
        if (now >= end) {
            kill(pid, SIGKILL);
            *st = util_wait(pid);
            return 1;
        }
        /* a branch that ends meanwhile moves the limit: look again */
        if (util_wait_exit_us(pid, end - now < 100000 ? end - now : 100000)) {
            *st = util_wait(pid);
            return 0;
        }
        if (waitpid(pid, st, WNOHANG) == pid) /* no pid watching */
            return 0;
    }
}

/* Give res its share of a writer run that served n trials (per: the
 * run's time over n, fork_per: its fork's; snaps_us: the time of all the
 * snapshots it took), in phases that add up to the share.  The writer
 * may run, and take snapshots, before fork returns in the worker (on a
 * loaded machine for milliseconds), so the fork's time is what the share
 * leaves of it. */
static void trial_batch_share(trial_result *res, uint32_t per,
                              uint32_t fork_per, uint64_t snaps_us, size_t n)
{
    uint32_t snaps_per = (uint32_t)(snaps_us / n);

    if (snaps_per > per)
        snaps_per = per;
    if (fork_per > per - snaps_per)
        fork_per = per - snaps_per;
    res->us_writer = per;
    res->ph.fork = fork_per;
    res->ph.snapshot = snaps_per;
    res->ph.writer = per - fork_per - snaps_per;
}

/* trial_state_done, timed. */
static void trial_batch_done(const trial_env *env, const trial_spec *s,
                             const trial_paths *p, trial_result *res)
{
    uint64_t t = clk_now_us();

    trial_state_done(env, s, p, res);
    res->ph.clean = (uint32_t)(clk_now_us() - t);
}

/* Hand res to emit (its total time: since t0, plus its share of the
 * writer; t0 == 0: already set); a harness failure is passed on as verdict
 * ORACLE_KINDS.  Returns 1 to stop (failure or emit says so), else 0. */
static int trial_batch_emit(trial_emit_fn emit, void *ctx, trial_result *res,
                            int rc, uint64_t t0)
{
    if (t0 != 0)
        res->us_total = (uint32_t)(clk_now_us() - t0) + res->us_writer;
    if (rc != 0)
        res->verdict = ORACLE_KINDS;
    return emit(ctx, res) != 0 || rc != 0;
}

int trial_run_batch(trial_env *env, const trial_spec *const *s, size_t n,
                    trial_emit_fn emit, void *ctx)
{
    const trial_profile *pr = s[0]->prof;
    trial_progress *pg = env->shm->prog;
    trial_batch_plan plan;
    trial_paths p, *q = NULL;
    crashio_config cc;
    trial_result res;
    const trial_spec *last = NULL, *first;
    uint32_t per, fork_per;
    uint64_t t0 = clk_now_us(), t1, tf, snaps_us = 0, branch_us = 0,
             last_branch = 0;
    /* the progress the writer left when it died, and crashio's area */
    unsigned char at_end[sizeof(env->shm->snaps[0].prog)];
    unsigned char at_end_cio[sizeof(env->shm->snaps[0].cio)];
    int st, rc = 0, killed, hung, need_shadow = 0, lost = 0, timed = 0,
            in_memory;
    size_t branches = 0;
    pid_t pid;

    /* a kill-time trial of a writer in memory is served by a snapshot
     * even alone: its delay is drawn from a run in memory */
    if (n == 1 && !(trial_batch_timed(s[0]) && trial_writer_in_memory(env))) {
        rc = trial_run(env, s[0], &res);
        trial_batch_emit(emit, ctx, &res, rc, 0);
        return rc;
    }
    /* The crash trial with the last point is crashed for real, unless a
     * branch comes after it (the hooks at a crash point come before the
     * crash) or a timed trial is served (its time may come later); the
     * others get snapshots or branches, ordered by point, then the timed
     * ones. */
    for (size_t i = 0; i < n; i++) {
        if (trial_batch_timed(s[i])) {
            timed = 1;
        } else if (trial_batch_branches(s[i])) {
            branches++;
            if (trial_batch_at(s[i]) > last_branch)
                last_branch = trial_batch_at(s[i]);
        } else if (last == NULL || s[i]->crash_point > last->crash_point) {
            last = s[i];
        }
    }
    if (last != NULL && (timed || last_branch > last->crash_point))
        last = NULL;
    memset(&plan, 0, sizeof(plan));
    for (size_t i = 0; i < n; i++) {
        size_t j;
        need_shadow |= trial_keeps_log(s[i]) || trial_batch_branches(s[i]);
        if (s[i] == last)
            continue;
        for (j = plan.n; j > 0 && trial_batch_before(s[i], plan.s[j - 1]); j--)
            plan.s[j] = plan.s[j - 1];
        plan.s[j] = s[i];
        plan.n++;
        plan.npoint += !trial_batch_timed(s[i]);
    }
    plan.next_timed = plan.npoint;
    first = last != NULL ? last : plan.s[0];
    trial_paths_init(env, &p);
    trial_paths_clean(&p);
    plan.env = env;
    plan.p = &p;
    plan.own_death = last != NULL;
    in_memory = trial_writer_in_memory(env);
    plan.root = shadow_path_norm(p.dir);
    if (plan.root == NULL || fs_mkdirs(p.snaps) != 0 ||
        (branches > 0 && (q = malloc(sizeof(*q))) == NULL)) {
        trial_result_start(first, &res);
        snprintf(res.detail, sizeof(res.detail), "%.300s: cannot set up",
                 p.snaps);
        free(plan.root);
        trial_batch_emit(emit, ctx, &res, -1, t0);
        return -1;
    }
    memset(pg, 0, env->shm->prog_size);
    memset(env->shm->snaps, 0, TRIAL_BATCH_MAX * sizeof(trial_snap));
    crashio_shared_init(env->shm->cio, 0);

    memset(&cc, 0, sizeof(cc));
    cc.inner = cl_io_posix();
    cc.root = p.dir;
    cc.shared = env->shm->cio;
    if (last != NULL) {
        cc.seed = last->seed;
        cc.crash_at = last->crash_point <= trial_spec_points(last)
                          ? last->crash_point
                          : 0;
        cc.crash_action = last->action;
        cc.fill = last->fill;
    }
    cc.sector = env->sector;
    if (first->threads > 1)
        cc.sync_delay_us = TRIAL_MT_SYNC_DELAY_US;
    if (need_shadow) {
        cc.shadow_path = p.shadow;
        cc.graveyard_dir = p.grave;
    }
    cc.on_point = trial_batch_on_point;
    cc.on_die = trial_batch_write_out;
    cc.on_point_ctx = &plan;
    fflush(NULL);
    tf = clk_now_us();
    plan.t0 = tf;
    plan.conts = util_continues();
    pid = fork();
    if (pid < 0) {
        trial_result_start(first, &res);
        snprintf(res.detail, sizeof(res.detail), "fork: %s", strerror(errno));
        free(plan.root);
        free(q);
        trial_batch_emit(emit, ctx, &res, -1, t0);
        return -1;
    }
    if (pid == 0) {
        const trial_writer_hooks hk = {.at_start = trial_batch_at_start,
                                       .at_txn = trial_batch_at_txn,
                                       .at_end = trial_batch_at_end,
                                       .ctx = &plan,
                                       .in_memory = in_memory};
        /* the spec gives a concurrent run its threads */
        trial_writer(env, pr, p.dir, &cc, 0, &hk,
                     first->threads > 1 ? first : NULL);
    }
    fork_per = (uint32_t)((clk_now_us() - tf) / n);
    hung = trial_batch_wait(env, pid, tf, plan.conts, plan.n, &st);
    t1 = clk_now_us();
    for (size_t i = 0; i < plan.n; i++) {
        const trial_snap *rec = &env->shm->snaps[i];
        snaps_us += rec->copy_us;
        branch_us += rec->run_us;
        if (rec->lost && lost == 0)
            lost = rec->error;
    }
    per = (uint32_t)((t1 - t0 - (branch_us < t1 - t0 ? branch_us : 0)) / n);
    killed = WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
    memcpy(at_end, pg, sizeof(at_end));
    memcpy(at_end_cio, env->shm->cio, sizeof(at_end_cio));

    if (lost != 0) {
        /* a branch left the writer's files out of place: it ended */
        trial_result_start(first, &res);
        snprintf(res.detail, sizeof(res.detail),
                 "moving the run's files for a branch: %s", strerror(lost));
        rc = -1;
        trial_batch_emit(emit, ctx, &res, rc, t1);
        goto out;
    }
    /* The state the writer died in: exactly trial_run's. */
    if (last != NULL) {
        trial_result_start(last, &res);
        trial_batch_share(&res, per, fork_per, snaps_us, n);
        trial_result_window(env, last, &res);
        const trial_snap *own = &env->shm->snaps[plan.n];
        if (in_memory &&
            (own->error != 0 || (!hung && killed && !own->taken))) {
            /* a writer in memory that could not write its state out, or
             * was killed by another hand before it could */
            rc = -1;
            snprintf(res.detail, sizeof(res.detail),
                     "writing the crash state out: %s",
                     own->error != 0 ? strerror(own->error)
                                     : "the writer was killed first");
        } else {
            rc = trial_writer_ended(env, last, &p, &res, st, hung, t1);
        }
        if (rc == 0)
            trial_batch_done(env, last, &p, &res);
        if (trial_batch_emit(emit, ctx, &res, rc, t1))
            goto out;
    }

    /* The snapshots and branches, last point first. */
    for (size_t i = plan.n; i-- > 0;) {
        const trial_spec *si = plan.s[i];
        const trial_snap *rec = &env->shm->snaps[i];
        const trial_paths *ps = &p;
        uint64_t t = clk_now_us();

        rc = 0;
        trial_result_start(si, &res);
        trial_batch_share(&res, per, fork_per, snaps_us, n);
        if (rec->taken) {
            res.issued = rec->issued;
            res.acked = rec->acked;
            res.durable = rec->durable;
            res.claimed = rec->claimed;
            res.synced = rec->synced;
            /* the progress the oracle reads, as the trial's own writer
             * would have left it (a concurrent trial's is its threads',
             * whose lsn[] entries no chain link rewrites: the chains of a
             * concurrent variant run in one thread, in another batch) */
            memcpy(pg, rec->prog, sizeof(rec->prog));
            if (si->threads > 1)
                trial_mt_counts(env, si, &res);
            if (rec->branch) {
                /* its files, and the writer's log up to the branch
                 * followed by the branch's records */
                char own[4300];
                *q = p;
                ps = q;
                rc = trial_batch_path(&p, i, TB_LOG, q->shadow,
                                      sizeof(q->shadow));
                if (rc == 0)
                    rc = trial_batch_path(&p, i, TB_SHADOW, own, sizeof(own));
                if (rc == 0)
                    rc = fs_copy_joined(p.shadow, rec->shadow_len, own,
                                        q->shadow);
                memcpy(env->shm->cio, rec->cio, sizeof(rec->cio));
                res.us_writer += (uint32_t)rec->run_us;
                res.ph.writer += (uint32_t)rec->run_us;
            } else {
                /* as trial_writer_ended describes a killed writer */
                size_t m =
                    trial_fault_then(env, si, res.damage, sizeof(res.damage));
                trial_describe_crash(si, rec->outcome, rec->point, rec->points,
                                     &rec->tear, rec->tear_file, res.damage + m,
                                     sizeof(res.damage) - m);
            }
            if (rc == 0)
                rc = trial_batch_restore(&p, i, si, rec);
            res.ph.snapshot += (uint32_t)(clk_now_us() - t);
            if (rc != 0)
                snprintf(res.detail, sizeof(res.detail),
                         "restoring the snapshot: %s", strerror(rc));
            else if (rec->branch)
                rc = trial_writer_ended(env, si, ps, &res, rec->status,
                                        rec->hung, clk_now_us());
            else
                rc = trial_after_crash(env, si, &p, &res, clk_now_us());
        } else if (rec->error != 0) {
            snprintf(res.detail, sizeof(res.detail), "no %s at point %llu: %s",
                     rec->branch ? "branch" : "snapshot",
                     (unsigned long long)trial_batch_at(si),
                     strerror(rec->error));
            rc = -1;
        } else if (hung || !killed) {
            /* The writer failed (or hung) before this point: so would its
             * own. */
            memcpy(pg, at_end, sizeof(at_end));
            memcpy(env->shm->cio, at_end_cio, sizeof(at_end_cio));
            trial_result_window(env, si, &res);
            trial_writer_ended(env, si, &p, &res, st, hung, clk_now_us());
        } else {
            snprintf(res.detail, sizeof(res.detail),
                     "no %s at point %llu: not reached",
                     trial_batch_branches(si) ? "branch" : "snapshot",
                     (unsigned long long)trial_batch_at(si));
            rc = -1;
        }
        if (rc == 0)
            trial_batch_done(env, si, ps, &res);
        if (ps != &p) {
            char own[4300];
            fs_rmrf(ps->shadow);
            if (trial_batch_path(&p, i, TB_SHADOW, own, sizeof(own)) == 0)
                fs_rmrf(own);
        }
        if (trial_batch_emit(emit, ctx, &res, rc, t))
            break;
    }
out:
    trial_paths_clean(&p);
    free(plan.root);
    free(q);
    return rc != 0 ? -1 : 0;
}

/* trial_run_one's emit: the one result. */
static int trial_batch_keep(void *ctx, const trial_result *res)
{
    *(trial_result *)ctx = *res;
    return 0;
}

int trial_run_one(trial_env *env, const trial_spec *s, trial_result *res)
{
    /* served by a shared run in memory in a campaign (a batch of one:
     * trial_run_batch) */
    if (trial_batch_timed(s) && trial_writer_in_memory(env) &&
        trial_batchable(env, s))
        return trial_run_batch(env, &s, 1, trial_batch_keep, res);
    return trial_run(env, s, res);
}
