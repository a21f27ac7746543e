/*
 * db.h - the database handle shared by db.c (the public entry points),
 * recovery.c, checkpoint.c and check.c.  Engine-internal.
 *
 * Locks, always taken in this order:
 *   wlock  (mutex)   one writer at a time: commits, checkpoints, close;
 *   tree   (rwlock)  page contents: writers exclusive while they change the
 *                    tree and append its record, readers shared;
 *   the pager's pool mutex, then the log's mutex (inside those modules).
 */
#ifndef CL_DB_H
#define CL_DB_H

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>

#include "crashlab.h"
#include "errors.h"
#include "pager.h"
#include "superblock.h"
#include "wal.h"

#define DB_PAGES_NAME "pages"
#define DB_PAGES_TMP_NAME "pages.tmp"
#define DB_DWB_NAME "dwb"
#define DB_LOCK_NAME "LOCK"
#define DB_WAL_BUFFER (1u << 20)       /* log buffer, sync off and periodic */
#define DB_WAL_ZERO_AHEAD (256u << 10) /* zeros ahead, durable modes */

/* A checkpoint begun (the log rolled, the dirty pages listed) and not yet
 * recorded in the superblock. */
typedef struct ckpt_state {
    int active;
    sb_state next;   /* the superblock it will write */
    uint32_t *pages; /* dirty at the roll, by page number */
    size_t npages, done;
} ckpt_state;

struct cl_db {
    char *dir;
    char *pages_path, *dwb_path, *lock_path;
    const cl_io *io;
    cl_options opt; /* with defaults filled in */
    int lock_fd;

    pager *pg;
    wal *log;
    wal_config wcfg;
    sb_state sb; /* the superblock of the last checkpoint */

    pthread_mutex_t wlock;
    pthread_rwlock_t tree;
    atomic_int fatal; /* sticky: the error that made the handle read-only */
    cl_err_info fatal_info;   /* and its kind and place (db_poison) ... */
    atomic_int fatal_info_in; /* ... once this is 1 */

    cl_recovery rec;
    atomic_uint_fast64_t commits, puts, deletes, gets, checkpoints;

    /* Checkpoints (checkpoint.c).  roll_lsn is where the last one begun
     * starts (the interval and the full-page-image rule count from it),
     * ckpt_lsn where the last one recorded does.  ck is changed under
     * wlock in modes inline and spread, under ckpt_mu in background. */
    _Atomic uint64_t roll_lsn, ckpt_lsn;
    ckpt_state ck;
    pthread_mutex_t ckpt_mu; /* background: one checkpoint at a time */
    pthread_t ckpter;        /* CL_CKPT_BACKGROUND */
    int ckpter_running;
    pthread_mutex_t ckpter_mu; /* ckpt_wanted and ckpt_stop, with ckpter_cv;
                                  ckpt_recorded_cv: a checkpoint recorded */
    pthread_cond_t ckpter_cv, ckpt_recorded_cv;
    int ckpt_wanted;
    atomic_int ckpt_stop;

    pthread_t syncer; /* CL_SYNC_PERIODIC */
    int syncer_running;
    pthread_mutex_t syncer_mu;
    pthread_cond_t syncer_cv;
    int syncer_stop;
};

/* recovery.c: read the superblock, open the pager, restore from the
 * doublewrite area, replay the log from the checkpoint, cut its torn tail,
 * remove stale segments and open the log for appending.  Fills db->rec. */
int rec_run(cl_db *db);

#define CKPT_LAG_INTERVALS 2

/* checkpoint.c: the checkpoint recipe, for each mode (crashlab.h).
 * ckpt_run runs one to its end (the one begun, if any, then a new one):
 * caller holds db->wlock in modes inline and spread, nothing in
 * background.  ckpt_after_commit is called by every commit of log end
 * `end`, holding db->wlock: in mode inline it runs a checkpoint when the
 * interval is reached, in spread it writes the commit's share and begins
 * or records one, in background it wakes the thread.  ckpt_stop ends the
 * thread (abandoning the checkpoint in progress) and forgets a begun one:
 * the handle is closing. */
int ckpt_run(cl_db *db);
int ckpt_after_commit(cl_db *db, uint64_t end);
int ckpt_start(cl_db *db);
void ckpt_stop(cl_db *db);
/* Mode background, after a commit, holding no lock: while the log ends
 * CKPT_LAG_INTERVALS intervals or more past the last checkpoint recorded,
 * wait for the thread to record one (recovery then never replays much
 * more, however far the commits outrun the page writes). */
void ckpt_throttle(cl_db *db);

/* Make the handle read-only with error rc (first error wins); returns
 * rc.  Inline here, with db_wal_flush, so that checkpoint.c and recovery.c,
 * which db.c calls, do not call back into db.c. */
static inline int db_poison(cl_db *db, int rc)
{
    cl_err_info cause;
    int expected = 0, f = 0;

    if (rc == 0 || atomic_load(&db->fatal) != 0)
        return rc;
    /* A refusal of a log that another thread's failure poisoned (a group
     * commit's leader, the periodic syncer) may come here first: the
     * handle takes that failure, not the refusal. */
    if (rc == CL_EREADONLY && db->log != NULL)
        f = wal_fatal_info(db->log, &cause);
    if (f == 0) {
        f = rc;
        err_cause(rc, &cause); /* this thread's cl_errinfo is the failure's */
    }
    if (atomic_compare_exchange_strong(&db->fatal, &expected, f)) {
        db->fatal_info = cause;
        atomic_store_explicit(&db->fatal_info_in, 1, memory_order_release);
    }
    return rc;
}

/* CL_EREADONLY for a handle db_poison made read-only, with the failure's
 * kind and place in cl_errinfo; what, the refusal's wording. */
static inline int db_refuse(cl_db *db, const char *what)
{
    cl_err_info cause;
    int f = atomic_load(&db->fatal);

    /* the thread that set fatal records why next, without a lock or a
     * call that could block between the two */
    while (!atomic_load_explicit(&db->fatal_info_in, memory_order_acquire))
        sched_yield();
    cause = db->fatal_info;
    return err_set_readonly(&cause, "%s: %s (%s)", db->dir, what,
                            cl_strerror(f));
}

/* The pager's hook for rule 1: make the log durable up to lsn. */
static inline int db_wal_flush(void *ctx, uint64_t lsn)
{
    cl_db *db = ctx;
    int rc;

    if (db->log == NULL)
        return 0; /* recovery: the segments replayed were synced */
    rc = wal_sync(db->log, lsn);
    if (rc != 0)
        db_poison(db, rc);
    return rc;
}

#endif
