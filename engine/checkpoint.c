/*
 * checkpoint.c - making the page file current so that recovery can start
 * later in the log, and dropping the log before that point; in the three
 * modes of crashlab.h (inline, spread, background).
 */
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "errors.h"

#define CKPT_BG_PAGES 512 /* pages a background checkpoint writes at once */
/* Mode spread writes a commit's share once this many pages are due (or
 * the last ones): each write of pages changed since the log's last sync
 * needs a sync first, one per group rather than one per commit. */
#define CKPT_SPREAD_PAGES 64

/* Announce step (a CL_ACT_CKPT_* bit) of the checkpoint recipe, the
 * previous step being over. */
static void ckpt_step(const cl_io *io, uint32_t step)
{
    cl_io_activity(io, CL_ACT_CKPT & ~step, 0);
    cl_io_activity(io, step, 1);
}

/* Checkpoint recipe (rule 4 of DESIGN.md), in three parts so that the
 * pages can be written while commits go on.
 *
 * Begin (ckpt_begin), holding db->wlock, so that no commit runs:
 *   1. roll the log: fdatasync the current segment, create segment N with
 *      its header synced and the directory synced.  Its start LSN S is the
 *      new checkpoint LSN: every change logged before S is in the pool or
 *      in the page file, and durable in the log;
 *      list the pages dirty now: they hold every change before S that the
 *      page file does not.  From here on, a page's first change logs its
 *      whole image in mode fpw if its LSN is not above S.
 * Write (ckpt_write), any number of times, commits going on or not:
 *   2. write the listed pages still dirty (pager_write_pages: through the
 *      doublewrite area in mode dwb; a page changed since S in its newer
 *      state, the log durable up to its LSN first);
 * Record (ckpt_finish):
 *   3. fsync the page file: every change before S is durable there;
 *   4. write the superblock slot not holding the previous checkpoint with
 *      {ckpt_lsn = S, ckpt_segno = N, old_segno = the previous checkpoint's
 *      segment}, then fsync the page file.  From here on recovery starts
 *      at S; a power cut before this fsync leaves the old slot, whose
 *      segments are all still there;
 *   5. only now unlink the segments before N, then fsync the directory.
 *      A crash in the middle leaves some of them, which the next recovery
 *      removes.
 * Torn pages: a page written in step 2 and torn by a power cut before step
 * 3 is repaired as every write-back is (pager_flush.c): its first change
 * after the previous checkpoint, where recovery still starts, was logged
 * whole in mode fpw, and mode dwb wrote it through the doublewrite area.
 * Any failure makes the handle read-only: the state of the files is then
 * whatever recovery will make of them.  Each step is announced to the I/O
 * table's listener (cl_io.activity) while it does I/O. */
/* CL_EREADONLY once the handle has failed: a failed write or sync may have
 * lost pages a checkpoint counts on, so none may be begun, written or
 * recorded after it (the one in progress stays unrecorded). */
static int ckpt_readonly(cl_db *db)
{
    if (atomic_load(&db->fatal) == 0)
        return 0;
    return db_refuse(db, "read-only after error");
}

static int ckpt_begin(cl_db *db, int beside)
{
    ckpt_state *ck = &db->ck;
    int rc;

    if ((rc = ckpt_readonly(db)) != 0)
        return rc;
    /* Recovery starts from here on only once every change the log holds
     * since the last checkpoint is in the pool or the page file: the
     * pages whose redo waits for their first read are read now. */
    if ((rc = pager_redo_all(db->pg)) != 0)
        return db_poison(db, rc);
    ck->next = db->sb;
    ck->next.old_segno = db->sb.ckpt_segno;
    ck->npages = ck->done = 0;
    ckpt_step(db->io, CL_ACT_CKPT_ROLL);
    rc = wal_roll(db->log, &ck->next.ckpt_segno, &ck->next.ckpt_lsn); /* 1 */
    if (rc == 0)
        rc = pager_dirty_list(db->pg, &ck->pages, &ck->npages);
    cl_io_activity(db->io, CL_ACT_CKPT, 0);
    if (rc != 0)
        return db_poison(db, rc);
    ck->active = 1;
    atomic_store(&db->roll_lsn, ck->next.ckpt_lsn);
    if (beside)
        cl_io_activity(db->io, CL_ACT_CKPT_OPEN, 1);
    return 0;
}

/* Step 2 for up to max more of the listed pages. */
static int ckpt_write(cl_db *db, size_t max)
{
    ckpt_state *ck = &db->ck;
    size_t k = ck->npages - ck->done;
    int rc;

    if (k > max)
        k = max;
    if (k == 0)
        return 0;
    if ((rc = ckpt_readonly(db)) != 0)
        return rc;
    cl_io_activity(db->io, CL_ACT_CKPT_FLUSH, 1);
    rc = pager_write_pages(db->pg, ck->pages + ck->done, k);
    cl_io_activity(db->io, CL_ACT_CKPT_FLUSH, 0);
    if (rc != 0)
        return db_poison(db, rc);
    ck->done += k;
    return 0;
}

static void ckpt_forget(cl_db *db)
{
    if (db->ck.active)
        cl_io_activity(db->io, CL_ACT_CKPT_OPEN, 0);
    free(db->ck.pages);
    db->ck.pages = NULL;
    db->ck.npages = db->ck.done = 0;
    db->ck.active = 0;
}

/* Steps 3 to 5, once every listed page is written. */
static int ckpt_finish(cl_db *db)
{
    const cl_io *io = db->io;
    ckpt_state *ck = &db->ck;
    int rc;

    ckpt_forget(db);
    if ((rc = ckpt_readonly(db)) != 0)
        return rc;
    ckpt_step(io, CL_ACT_CKPT_FLUSH);
    if ((rc = pager_sync(db->pg)) != 0) /* 3 */
        return db_poison(db, rc);
    if ((rc = ckpt_readonly(db)) != 0) /* a write-back failed meanwhile */
        return rc;
    ckpt_step(io, CL_ACT_CKPT_SB);
    ck->next.seq = db->sb.seq + 1; /* 4 */
    rc = sb_write(io, pager_fd(db->pg), db->pages_path, &ck->next);
    if (rc == 0 && (rc = io->fsync(io->ctx, pager_fd(db->pg))) != 0)
        err_set(rc, "%s: fsync after the superblock write failed",
                db->pages_path);
    if (rc != 0)
        return db_poison(db, rc);
    db->sb = ck->next;
    atomic_store(&db->ckpt_lsn, db->sb.ckpt_lsn);
    if (db->opt.checkpoint_mode == CL_CKPT_BACKGROUND) {
        pthread_mutex_lock(&db->ckpter_mu);
        pthread_cond_broadcast(&db->ckpt_recorded_cv);
        pthread_mutex_unlock(&db->ckpter_mu);
    }
    ckpt_step(io, CL_ACT_CKPT_DROP);
    rc = wal_unlink_segments(&db->wcfg, ck->next.old_segno,
                             ck->next.ckpt_segno); /* 5 */
    if (rc != 0)
        return db_poison(db, rc);
    atomic_fetch_add(&db->checkpoints, 1);
    return 0;
}

/* The checkpoint begun, if any, written and recorded; then a new one
 * begun, written and recorded.  Caller holds db->wlock (modes inline and
 * spread) or ckpt_mu (background), and takes wlock for the begin. */
static int ckpt_whole(cl_db *db, int take_wlock)
{
    int rc = 0;

    if (db->ck.active) {
        if ((rc = ckpt_write(db, SIZE_MAX)) == 0)
            rc = ckpt_finish(db);
        if (rc != 0)
            return rc;
    }
    if (take_wlock)
        pthread_mutex_lock(&db->wlock);
    rc = ckpt_begin(db, 0);
    if (take_wlock)
        pthread_mutex_unlock(&db->wlock);
    if (rc == 0)
        rc = ckpt_write(db, SIZE_MAX);
    if (rc == 0)
        rc = ckpt_finish(db);
    cl_io_activity(db->io, CL_ACT_CKPT, 0);
    return rc;
}

int ckpt_run(cl_db *db)
{
    int rc;

    if (db->opt.checkpoint_mode != CL_CKPT_BACKGROUND)
        return ckpt_whole(db, 0);
    pthread_mutex_lock(&db->ckpt_mu);
    rc = ckpt_whole(db, 1);
    pthread_mutex_unlock(&db->ckpt_mu);
    return rc;
}

/* Mode spread: the share of the listed pages that is due when the log
 * ends at end, so that the last one is written once half an interval of
 * log has followed the roll. */
static size_t ckpt_spread_due(const cl_db *db, uint64_t end)
{
    const ckpt_state *ck = &db->ck;
    uint64_t since = end - ck->next.ckpt_lsn,
             half = db->opt.checkpoint_bytes / 2;

    if (half == 0 || since >= half)
        return ck->npages;
    return (size_t)((double)ck->npages * ((double)since / (double)half));
}

int ckpt_after_commit(cl_db *db, uint64_t end)
{
    int due = db->opt.checkpoint_bytes != CL_CHECKPOINT_NEVER &&
              end - atomic_load(&db->roll_lsn) >= db->opt.checkpoint_bytes;
    int rc = 0;

    switch (db->opt.checkpoint_mode) {
    case CL_CKPT_SPREAD:
        if (db->ck.active) {
            size_t want = due ? db->ck.npages : ckpt_spread_due(db, end);
            if (want == db->ck.npages ||
                want >= db->ck.done + CKPT_SPREAD_PAGES)
                rc = ckpt_write(db, want - db->ck.done);
            if (rc == 0 && db->ck.done == db->ck.npages)
                rc = ckpt_finish(db);
            cl_io_activity(db->io, CL_ACT_CKPT, 0);
            if (rc != 0)
                return rc;
        }
        if (due && !db->ck.active)
            rc = ckpt_begin(db, 1);
        return rc;
    case CL_CKPT_BACKGROUND:
        if (due) {
            pthread_mutex_lock(&db->ckpter_mu);
            db->ckpt_wanted = 1;
            pthread_cond_signal(&db->ckpter_cv);
            pthread_mutex_unlock(&db->ckpter_mu);
        }
        return 0;
    default:
        return due ? ckpt_whole(db, 0) : 0;
    }
}

/* Whether the log has grown an interval past the last checkpoint begun. */
static int ckpt_due_now(cl_db *db)
{
    return db->opt.checkpoint_bytes != CL_CHECKPOINT_NEVER &&
           wal_written(db->log) - atomic_load(&db->roll_lsn) >=
               db->opt.checkpoint_bytes;
}

/* The background thread: a checkpoint whenever a commit wakes it or one
 * is due when the last ends (commits may be waiting in ckpt_throttle),
 * its pages written CKPT_BG_PAGES at a time; when the handle closes
 * (ckpt_stop), the one in progress is left unrecorded, as a crash would
 * leave it. */
static void *ckpt_main(void *arg)
{
    cl_db *db = arg;

    for (;;) {
        int rc;
        pthread_mutex_lock(&db->ckpter_mu);
        while (!db->ckpt_wanted && !atomic_load(&db->ckpt_stop) &&
               !(atomic_load(&db->fatal) == 0 && ckpt_due_now(db)))
            pthread_cond_wait(&db->ckpter_cv, &db->ckpter_mu);
        pthread_mutex_unlock(&db->ckpter_mu);
        if (atomic_load(&db->ckpt_stop))
            break;
        pthread_mutex_lock(&db->ckpt_mu);
        pthread_mutex_lock(&db->wlock);
        rc = atomic_load(&db->fatal) != 0 ? CL_EREADONLY : ckpt_begin(db, 1);
        pthread_mutex_unlock(&db->wlock);
        /* requests made before the roll are met by this checkpoint */
        pthread_mutex_lock(&db->ckpter_mu);
        db->ckpt_wanted = 0;
        pthread_mutex_unlock(&db->ckpter_mu);
        while (rc == 0 && db->ck.done < db->ck.npages &&
               !atomic_load(&db->ckpt_stop))
            rc = ckpt_write(db, CKPT_BG_PAGES);
        if (rc == 0 && !atomic_load(&db->ckpt_stop))
            ckpt_finish(db); /* a failure has made the handle read-only */
        cl_io_activity(db->io, CL_ACT_CKPT, 0);
        ckpt_forget(db);
        pthread_mutex_unlock(&db->ckpt_mu);
        if (rc != 0 || atomic_load(&db->fatal) != 0) {
            /* no checkpoint will come: let the waiting commits go */
            pthread_mutex_lock(&db->ckpter_mu);
            pthread_cond_broadcast(&db->ckpt_recorded_cv);
            pthread_mutex_unlock(&db->ckpter_mu);
        }
    }
    return NULL;
}

void ckpt_throttle(cl_db *db)
{
    uint64_t limit = db->opt.checkpoint_bytes * CKPT_LAG_INTERVALS;

    if (!db->ckpter_running ||
        db->opt.checkpoint_bytes == CL_CHECKPOINT_NEVER ||
        limit / CKPT_LAG_INTERVALS != db->opt.checkpoint_bytes)
        return;
    pthread_mutex_lock(&db->ckpter_mu);
    while (atomic_load(&db->fatal) == 0 && !atomic_load(&db->ckpt_stop) &&
           wal_written(db->log) - atomic_load(&db->ckpt_lsn) >= limit) {
        db->ckpt_wanted = 1;
        pthread_cond_signal(&db->ckpter_cv);
        pthread_cond_wait(&db->ckpt_recorded_cv, &db->ckpter_mu);
    }
    pthread_mutex_unlock(&db->ckpter_mu);
}

int ckpt_start(cl_db *db)
{
    if (db->opt.checkpoint_mode != CL_CKPT_BACKGROUND)
        return 0;
    if (pthread_create(&db->ckpter, NULL, ckpt_main, db) != 0)
        return err_set(CL_ENOMEM, "cannot start the checkpoint thread");
    db->ckpter_running = 1;
    return 0;
}

void ckpt_stop(cl_db *db)
{
    if (db->ckpter_running) {
        pthread_mutex_lock(&db->ckpter_mu);
        atomic_store(&db->ckpt_stop, 1);
        pthread_cond_signal(&db->ckpter_cv);
        pthread_cond_broadcast(&db->ckpt_recorded_cv);
        pthread_mutex_unlock(&db->ckpter_mu);
        pthread_join(db->ckpter, NULL);
        db->ckpter_running = 0;
    }
    ckpt_forget(db);
}
