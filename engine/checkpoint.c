/*
 * checkpoint.c - making the page file current so that recovery can start
 * later in the log, and dropping the log before that point.
 */
#include <string.h>

#include "db.h"
#include "errors.h"

/* Checkpoint recipe (rule 4 of DESIGN.md).  Caller holds db->wlock, so no
 * commit runs meanwhile; readers may.
 *   1. roll the log: fdatasync the current segment, create segment N with
 *      its header synced and the directory synced.  Its start LSN S is the
 *      new checkpoint LSN: every page LSN is <= S and durable (rule 1);
 *   2. write every dirty page (through the doublewrite area in mode dwb),
 *      then fsync the page file;
 *   3. write the superblock slot not holding the previous checkpoint with
 *      {ckpt_lsn = S, ckpt_segno = N, old_segno = the previous checkpoint's
 *      segment}, then fsync the page file.  From here
 *      on recovery starts at S; a power cut before this fsync leaves the
 *      old slot, whose segments are all still there;
 *   4. only now unlink the segments before N, then fsync the directory.
 *      A crash in the middle leaves some of them, which the next recovery
 *      removes.
 * Any failure makes the handle read-only: the state of the files is then
 * whatever recovery will make of them. */
int ckpt_run(cl_db *db)
{
    const cl_io *io = db->io;
    sb_state next = db->sb;
    uint64_t old_segno = db->sb.ckpt_segno;
    int rc;

    if (atomic_load(&db->fatal) != 0)
        return err_set(CL_EREADONLY, "%s: read-only after error: %s", db->dir,
                       cl_strerror(atomic_load(&db->fatal)));
    rc = wal_roll(db->log, &next.ckpt_segno, &next.ckpt_lsn); /* 1 */
    if (rc != 0)
        return db_poison(db, rc);
    if ((rc = pager_flush_all(db->pg)) != 0) /* 2 */
        return db_poison(db, rc);
    next.seq = db->sb.seq + 1; /* 3 */
    next.old_segno = old_segno;
    rc = sb_write(io, pager_fd(db->pg), db->pages_path, &next);
    if (rc == 0 && (rc = io->fsync(io->ctx, pager_fd(db->pg))) != 0)
        err_set(rc, "%s: fsync after the superblock write failed",
                db->pages_path);
    if (rc != 0)
        return db_poison(db, rc);
    db->sb = next;
    rc = wal_unlink_segments(&db->wcfg, old_segno, next.ckpt_segno); /* 4 */
    if (rc != 0)
        return db_poison(db, rc);
    atomic_fetch_add(&db->checkpoints, 1);
    return 0;
}
