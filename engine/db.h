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
#include <stdatomic.h>
#include <stdint.h>

#include "crashlab.h"
#include "pager.h"
#include "superblock.h"
#include "wal.h"

#define DB_PAGES_NAME "pages"
#define DB_PAGES_TMP_NAME "pages.tmp"
#define DB_DWB_NAME "dwb"
#define DB_LOCK_NAME "LOCK"
#define DB_WAL_BUFFER (1u << 20)       /* log buffer, sync off and periodic */
#define DB_WAL_ZERO_AHEAD (256u << 10) /* zeros ahead, durable modes */

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

    cl_recovery rec;
    atomic_uint_fast64_t commits, puts, deletes, gets, checkpoints;

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

/* checkpoint.c: the checkpoint recipe.  Caller holds db->wlock. */
int ckpt_run(cl_db *db);

/* Make the handle read-only with error rc (first error wins); returns
 * rc.  Inline here, with db_wal_flush, so that checkpoint.c and recovery.c,
 * which db.c calls, do not call back into db.c. */
static inline int db_poison(cl_db *db, int rc)
{
    int expected = 0;

    if (rc != 0)
        atomic_compare_exchange_strong(&db->fatal, &expected, rc);
    return rc;
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
