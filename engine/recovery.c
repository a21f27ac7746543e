/*
 * recovery.c - bringing a database back to its last committed state at
 * open (rule 5 of DESIGN.md).
 *
 * Recipe:
 *   1. make durable what the files hold, then read the superblock: the
 *      newest valid slot names the checkpoint LSN and the segment that
 *      starts there.  A process killed before its syncs leaves its writes
 *      in the page cache, where recovery reads them and a power cut can
 *      still lose them: a superblock it wrote but did not fsync, a segment
 *      whose directory entry it did not sync.  Recovery acts on what it
 *      reads (it removes the segments before the checkpoint's, appends to
 *      the last segment, acknowledges commits after it), so the page file
 *      is fsynced and the directory synced first, as PostgreSQL syncs its
 *      data directory before a crash recovery; each segment is fdatasynced
 *      when it is opened (3);
 *   2. restore torn or stale pages from the doublewrite file, if there is
 *      one (fsync the page file if anything was restored);
 *   3. read the log from the checkpoint, segment by segment: each segment
 *      is fdatasynced before it is read (through a window of REC_WINDOW
 *      bytes), and every record is checked whole, each of its page
 *      entries too, and handed to the pager's redo index
 *      (pager_redo_record): a page's entries are applied, in log order and
 *      only if the page's LSN is older than the record's end LSN
 *      (idempotent), when the page is first read into the pool, at the
 *      latest by the next checkpoint (pager_redo_all).  So the open costs
 *      the log's bytes, not the pages it changes; the log stays until that
 *      checkpoint, and pages written back meanwhile (pool pressure) are
 *      never ahead of it (rule 1).  Entries up to an eighth of the pool
 *      (at most REC_KEEP_MAX bytes) are kept in memory, the others read
 *      again from their segment when applied; a page with 16 entries (the
 *      meta page, the root: pages nearly every record changes) is redone
 *      at once, and its later entries as they are read;
 *   4. at the first invalid record that nothing durable follows (see
 *      wal_reader.c R7/R8), the log ends: cut the file there (ftruncate,
 *      fdatasync) and remove any segment after it (directory fsync);
 *   5. remove the segments before the checkpoint's that an interrupted
 *      checkpoint left (the superblock names their range; see
 *      rec_remove_garbage for how much of it is tried);
 *   6. check that no page read from disk so far claims an LSN past the end
 *      of the log (that would mean a page was written before its log
 *      record was durable: rule 1 broken, and the log cannot repair it);
 *      the pager checks the same at the first read of every page whose
 *      redo waits (pg_redo_page), and refuses there, as replay would
 *      have, a torn page the log holds no full image of;
 *   7. load the meta page and open the log for appending at its end.
 * Every step is redone identically if recovery itself is interrupted: steps
 * 2, 4 and 5 only write what a complete run writes, and redo only changes
 * pages in memory (a page written back after its redo holds changes the
 * log still has).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coding.h"
#include "db.h"
#include "errors.h"
#include "mem.h"

static uint64_t rec_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* A segment is read through a window of REC_WINDOW bytes (grown only for
 * a record larger than that), so that recovery's memory does not grow
 * with the segment size. */
#define REC_WINDOW (1u << 20)

/* The page entries waiting for their redo are kept in memory up to an
 * eighth of the pool, and at most this many bytes; the others are read
 * from their segment when their page is first read. */
#define REC_KEEP_MAX (1u << 20)

typedef struct rec_win {
    const cl_io *io;
    int fd;
    const char *path;
    uint64_t size; /* of the file */
    uint8_t *buf;  /* holds file bytes [base, base + len) */
    uint64_t cap, base, len;
} rec_win;

/* Make the window start at file offset off and hold at least want bytes
 * (or up to the end of the file), keeping the bytes it has. */
static int rec_win_fill(rec_win *w, uint64_t off, uint64_t want)
{
    uint64_t keep = 0, end;
    size_t got = 0;
    int rc;

    if (want < REC_WINDOW)
        want = REC_WINDOW;
    if (off + want > w->size)
        want = w->size - off;
    if (off >= w->base && off < w->base + w->len)
        keep = w->base + w->len - off;
    if (want > w->cap || w->buf == NULL) {
        uint64_t cap = want, rest = w->size - off;
        uint8_t *b = NULL;
        /* From REC_WINDOW on (a whole window, a record larger than that,
         * or the rest of the segment for rule R7): a power of two of huge
         * pages, no more than the rest of the file rounded up to one, so
         * that a run of ever larger records seldom moves the window and the
         * kernel faults its memory in 2 MiB at a time (a 4 KiB fault costs
         * about 10 us on a virtual machine like ours).  A log of records of
         * megabytes (a batch after a checkpoint, every page a full image) took
         * three times as long to replay with a window of exactly each record's
         * size in 4 KiB pages (docs/BENCH.md). */
        if (cap >= REC_WINDOW) {
            rest = (rest + MEM_HUGE - 1) / MEM_HUGE * MEM_HUGE;
            for (cap = MEM_HUGE; cap < want && cap < rest; cap *= 2)
                ;
            cap = cap < rest ? cap : rest;
            if ((b = mem_alloc_huge(cap)) == NULL)
                cap = want; /* then just what it needs */
        }
        if (b == NULL)
            b = malloc(cap > 0 ? cap : 1);
        if (b == NULL)
            return err_set(CL_ENOMEM,
                           "%s: no memory for a read window of %llu bytes "
                           "(a record or the rest of the segment)",
                           w->path, (unsigned long long)cap);
        if (keep > 0)
            memcpy(b, w->buf + (off - w->base), keep);
        free(w->buf);
        w->buf = b;
        w->cap = cap;
    } else if (keep > 0) {
        memmove(w->buf, w->buf + (off - w->base), keep);
    }
    end = off + keep;
    if (want > keep && (rc = w->io->pread(w->io->ctx, w->fd, w->buf + keep,
                                          want - keep, end, &got)) != 0)
        return err_set(rc, "%s: read failed", w->path);
    w->base = off;
    w->len = keep + got;
    return 0;
}

/* 0 if the record at file offset off is whole in the window, as far as
 * its length field can be trusted, or the window reaches the end of the
 * file; else the bytes from off the window must hold. */
static uint64_t rec_win_short(const rec_win *w, uint64_t off)
{
    uint64_t have = w->base + w->len - off, need = WAL_REC_HDR_SIZE;

    if (w->base + w->len >= w->size)
        return 0;
    if (have >= WAL_REC_HDR_SIZE) {
        uint32_t plen = get_le32(w->buf + (off - w->base) + WAL_RH_OFF_LEN);
        if (plen <= WAL_MAX_PAYLOAD)
            need = wal_rec_size(plen);
    }
    return have >= need ? 0 : need;
}

/* Make the record at cur->off whole in the window, as far as its length
 * field can be trusted, or else let the window reach the end of the file. */
static int rec_win_need(rec_win *w, wal_cursor *cur)
{
    uint64_t need = rec_win_short(w, cur->off);
    int rc;

    if (need == 0)
        return 0;
    if ((rc = rec_win_fill(w, cur->off, need)) != 0)
        return rc;
    wal_cursor_window(cur, w->buf, w->len, w->base);
    return 0;
}

/* Index one TXN record's page entries for their redo (pager_redo_record):
 * each is checked whole now, and applied when its page is first read.
 * The payload is at file offset off of the segment seg. */
static int rec_index_txn(cl_db *db, const wal_record *r, uint32_t seg,
                         uint64_t off, const char *path)
{
    size_t used;
    int rc;

    if (r->len < 4)
        return err_set_at(CL_ECORRUPT, CL_ERRK_WAL_RECORD, path, r->offset, 0,
                          "%s: offset %llu: empty transaction", path,
                          (unsigned long long)r->offset);
    rc = pager_redo_record(db->pg, r->data + 4, r->len - 4, get_le32(r->data),
                           r->end_lsn, seg, off + 4, &used);
    if (rc != 0) {
        cl_err_info ei;
        cl_errinfo(&ei);
        if (ei.kind == CL_ERRK_STRUCTURE) /* an entry itself is bad */
            return err_set_at(rc, CL_ERRK_WAL_RECORD, path, r->offset, 0,
                              "%s: record at offset %llu (LSN %llu): %s", path,
                              (unsigned long long)r->offset,
                              (unsigned long long)r->lsn, cl_errdetail());
        return err_reword(rc, "%s: record at offset %llu (LSN %llu): %s", path,
                          (unsigned long long)r->offset,
                          (unsigned long long)r->lsn, cl_errdetail());
    }
    if (used != r->len - 4)
        return err_set_at(CL_ECORRUPT, CL_ERRK_WAL_RECORD, path, r->offset, 0,
                          "%s: record at offset %llu has %zu stray bytes", path,
                          (unsigned long long)r->offset, r->len - 4 - used);
    return 0;
}

/* 1 if the file exists (it can be opened). */
static int rec_exists(const cl_io *io, const char *path)
{
    int fd, rc = io->open(io->ctx, path, CL_IO_RDONLY, &fd);

    if (rc == 0)
        io->close(io->ctx, fd);
    return rc != ENOENT;
}

/* 1 if the segment after segno exists. */
static int rec_next_exists(cl_db *db, uint64_t segno)
{
    char next[4096];

    wal_seg_path(next, sizeof(next), db->dir, segno + 1);
    return rec_exists(db->io, next);
}

/* Replay's progress: the segment being read, and the end of the log found
 * so far. */
typedef struct rec_log {
    uint64_t segno;  /* the segment being read */
    uint64_t expect; /* the LSN it must start at */
    uint64_t limit;  /* page numbers replayed records may name are below */
    char path[4096]; /* of segment segno */
    int fd;          /* segment segno, or -1 */
    uint64_t len;    /* its size, bytes */
    rec_win win;
    uint32_t seg; /* segment segno in the redo index */
    /* The end of the log: segment, its start LSN, the file offset and LSN
     * after its last valid record. */
    uint64_t last_segno, last_start, end_off, end_lsn;
} rec_log;

/* Open segment lg->segno.  OUT: *ended 1 if the log ended with the
 * previous segment. */
static int rec_seg_open(cl_db *db, rec_log *lg, int *ended)
{
    const cl_io *io = db->io;
    int rc;

    *ended = 0;
    wal_seg_path(lg->path, sizeof(lg->path), db->dir, lg->segno);
    rc = io->open(io->ctx, lg->path, CL_IO_RDWR, &lg->fd);
    if (rc == 0)
        return 0;
    lg->fd = -1;
    if (rc == ENOENT && lg->segno != db->sb.ckpt_segno) {
        /* The log ends with the previous segment.  A segment's directory
         * entry is synced before the next one is created, so a later
         * segment beyond a missing one is damage. */
        if (rec_next_exists(db, lg->segno))
            return err_set_at(
                CL_ECORRUPT, CL_ERRK_WAL_SEGMENT, lg->path, CL_ERR_NO_OFFSET, 0,
                "%s: missing, but a later segment exists", lg->path);
        *ended = 1;
        return 0;
    }
    if (rc == ENOENT)
        return err_set_at(
            CL_ECORRUPT, CL_ERRK_WAL_SEGMENT, lg->path, CL_ERR_NO_OFFSET, 0,
            "%s: missing: the checkpoint's log segment", lg->path);
    return err_set(rc, "%s: cannot open", lg->path);
}

/* Sync the open segment, read its first window and check its header.
 * OUT: *hdr; *ended 1 if it was a half-created last segment, now
 * removed. */
static int rec_seg_start(cl_db *db, rec_log *lg, wal_seg_hdr *hdr, int *ended)
{
    const cl_io *io = db->io;
    char why[256];
    int rc;

    *ended = 0;
    if ((rc = io->fdatasync(io->ctx, lg->fd)) != 0)
        return err_set(rc, "%s: fdatasync failed", lg->path);
    if ((rc = io->filesize(io->ctx, lg->fd, &lg->len)) != 0)
        return err_set(rc, "%s: cannot stat", lg->path);
    lg->win.fd = lg->fd;
    lg->win.size = lg->len;
    lg->win.base = lg->win.len = 0;
    if ((rc = rec_win_fill(&lg->win, 0, REC_WINDOW)) != 0)
        return rc;
    db->rec.segments++;
    db->rec.bytes += lg->len;
    if (wal_seg_decode(lg->win.buf, lg->win.len, lg->segno, db->sb.salt, hdr,
                       why, sizeof(why)) != 0) {
        /* A segment is created only after the previous one is synced, and
         * its header is synced before any record is written to it: an
         * invalid header can only be a segment whose creation was cut
         * short, which must then be the last one. */
        if (lg->segno == db->sb.ckpt_segno || rec_next_exists(db, lg->segno))
            return err_set_at(CL_ECORRUPT, CL_ERRK_WAL_SEGMENT, lg->path, 0, 0,
                              "%s: offset 0: %s", lg->path, why);
        io->close(io->ctx, lg->fd);
        lg->fd = -1;
        rc = io->unlink(io->ctx, lg->path);
        if (rc == 0)
            rc = io->dirsync(io->ctx, db->dir);
        if (rc != 0)
            return err_set(rc, "%s: cannot remove a half-created segment",
                           lg->path);
        *ended = 1;
        return 0;
    }
    if (hdr->start_lsn != lg->expect)
        return err_set_at(
            CL_ECORRUPT, CL_ERRK_WAL_SEGMENT, lg->path, 0, 0,
            "%s: segment starts at LSN %llu but the log before it "
            "ends at %llu",
            lg->path, (unsigned long long)hdr->start_lsn,
            (unsigned long long)lg->expect);
    return 0;
}

/* Index the segment's records in order, up to the first byte that is not
 * a valid record.  OUT: the cursor there, *nx the reader's verdict on it
 * (never WAL_NEXT_RECORD), with its reason in why. */
static int rec_seg_records(cl_db *db, rec_log *lg, wal_cursor *cur,
                           enum wal_next *nx, char *why, size_t whylen)
{
    rec_win *win = &lg->win;
    wal_record r;
    int rc;

    for (;;) {
        why[0] = '\0';
        if ((rc = rec_win_need(win, cur)) != 0)
            return rc;
        *nx = wal_cursor_next(cur, &r, why, whylen);
        if (*nx != WAL_NEXT_RECORD && win->base + win->len < win->size) {
            /* A verdict on the end of the log needs all of the rest of the
             * segment (rule R7 looks at every later record). */
            if ((rc = rec_win_fill(win, cur->off, win->size - cur->off)) != 0)
                return rc;
            wal_cursor_window(cur, win->buf, win->len, win->base);
            continue;
        }
        if (*nx != WAL_NEXT_RECORD)
            return 0;
        rc = rec_index_txn(db, &r, lg->seg,
                           win->base + (uint64_t)(r.data - win->buf), lg->path);
        if (rc != 0)
            return rc;
        db->rec.records++;
    }
}

/* Step 4: the log ends at cur->off of the open segment with a torn or
 * unsynced tail (reason why): cut the file there. */
static int rec_cut_tail(cl_db *db, rec_log *lg, const wal_cursor *cur,
                        const char *why)
{
    const cl_io *io = db->io;
    int rc;

    if (rec_next_exists(db, lg->segno))
        return err_set_at(
            CL_ECORRUPT, CL_ERRK_WAL_RECORD, lg->path, cur->off, 0,
            "%s: offset %llu: %s, but the next segment exists, so "
            "this one had been synced",
            lg->path, (unsigned long long)cur->off, why);
    db->rec.tail_cut = 1;
    snprintf(db->rec.tail_file, sizeof(db->rec.tail_file), WAL_SEG_NAME_FMT,
             (unsigned long long)lg->segno);
    db->rec.tail_offset = cur->off;
    db->rec.tail_bytes = lg->len - cur->off;
    snprintf(db->rec.tail_reason, sizeof(db->rec.tail_reason), "%s", why);
    rc = io->ftruncate(io->ctx, lg->fd, cur->off);
    if (rc == 0)
        rc = io->fdatasync(io->ctx, lg->fd);
    if (rc != 0)
        return err_set(rc, "%s: cannot cut the torn tail", lg->path);
    return 0;
}

/* Before step 2: no page at or past file_pages + 16 + (bytes of the log
 * from the checkpoint's segment on) / 8 can exist, since every page past
 * the page file's end at the checkpoint was allocated by a logged
 * transaction since (rec_replay narrows the same bound segment by
 * segment).  The doublewrite restore takes its page numbers from the
 * doublewrite file: this bounds them, so that a slot naming page 2^31
 * cannot make it write far past the end of the page file. */
static int rec_page_bound(cl_db *db, uint64_t *log_bytes)
{
    const cl_io *io = db->io;
    uint64_t file_bytes = 0, limit;
    char path[4096];
    int rc;

    if ((rc = io->filesize(io->ctx, pager_fd(db->pg), &file_bytes)) != 0)
        return err_set(rc, "%s: cannot stat", db->pages_path);
    limit = file_bytes / db->sb.page_size + 16;
    *log_bytes = 0;
    for (uint64_t segno = db->sb.ckpt_segno;; segno++) {
        uint64_t len = 0;
        int fd = -1;
        wal_seg_path(path, sizeof(path), db->dir, segno);
        if ((rc = io->open(io->ctx, path, CL_IO_RDONLY, &fd)) != 0)
            break; /* the log ends there (rec_replay tells the rest) */
        rc = io->filesize(io->ctx, fd, &len);
        io->close(io->ctx, fd);
        if (rc != 0)
            return err_set(rc, "%s: cannot stat", path);
        limit += len / 8;
        *log_bytes += len;
    }
    pager_set_replay_limit(db->pg, limit);
    return 0;
}

/* Steps 3 and 4: replay the log from the checkpoint's segment to its end
 * (at most log_bytes), which it leaves in lg. */
static int rec_replay(cl_db *db, rec_log *lg, uint64_t log_bytes)
{
    const cl_io *io = db->io;
    uint64_t file_pages = 0, keep;
    int rc, ended;

    if ((rc = io->filesize(io->ctx, pager_fd(db->pg), &file_pages)) != 0)
        return err_set(rc, "%s: cannot stat", db->pages_path);
    memset(lg, 0, sizeof(*lg));
    lg->fd = -1;
    keep = db->opt.pool_bytes / 8;
    if (keep > REC_KEEP_MAX)
        keep = REC_KEEP_MAX;
    if ((rc = pager_redo_begin(db->pg, keep, log_bytes)) != 0)
        return rc;
    lg->expect = db->sb.ckpt_lsn;
    lg->limit = file_pages / db->sb.page_size + 16;
    lg->win.io = io;
    lg->win.path = lg->path;
    for (lg->segno = db->sb.ckpt_segno;; lg->segno++) {
        wal_seg_hdr hdr;
        wal_cursor cur;
        enum wal_next nx;
        char why[256];

        if ((rc = rec_seg_open(db, lg, &ended)) != 0 || ended)
            break;
        if ((rc = rec_seg_start(db, lg, &hdr, &ended)) != 0 || ended)
            break;
        lg->limit += lg->len / 8;
        pager_set_replay_limit(db->pg, lg->limit);
        if ((rc = pager_redo_segment(db->pg, lg->path, &lg->seg)) != 0)
            break;
        wal_cursor_init(&cur, lg->win.buf, lg->win.len, &hdr);
        if ((rc = rec_seg_records(db, lg, &cur, &nx, why, sizeof(why))) != 0)
            break;
        lg->last_segno = lg->segno;
        lg->last_start = hdr.start_lsn;
        lg->end_off = cur.off;
        lg->end_lsn = hdr.start_lsn + (cur.off - WAL_SEG_HDR_SIZE);
        if (nx == WAL_NEXT_CORRUPT) {
            rc = err_set_at(CL_ECORRUPT, CL_ERRK_WAL_RECORD, lg->path, cur.off,
                            0, "%s: offset %llu: %s", lg->path,
                            (unsigned long long)cur.off, why);
            break;
        }
        if (nx == WAL_NEXT_TORN) {
            rc = rec_cut_tail(db, lg, &cur, why);
            break;
        }
        lg->expect = lg->end_lsn;
        io->close(io->ctx, lg->fd);
        lg->fd = -1;
    }
    if (lg->fd >= 0)
        io->close(io->ctx, lg->fd);
    lg->fd = -1;
    free(lg->win.buf);
    lg->win.buf = NULL;
    return rc;
}

/* Names below the checkpoint's segment that step 5 always tries. */
#define REC_GARBAGE_WINDOW 65536

/* Remove segment s if it exists.  OUT: *gone (1 removed, 0 missing). */
static int rec_unlink_segment(cl_db *db, uint64_t s, int *gone)
{
    char path[4096];
    int rc;

    wal_seg_path(path, sizeof(path), db->dir, s);
    rc = db->io->unlink(db->io->ctx, path);
    *gone = rc == 0;
    if (rc != 0 && rc != ENOENT)
        return err_set(rc, "%s: cannot remove old log segment", path);
    return 0;
}

/* Step 5: remove the segments [old_segno, ckpt_segno) that a checkpoint
 * cut short left behind, then sync the directory if any was removed.
 *
 * The range comes from the superblock, and a damaged slot whose CRC still
 * matches can name 2^64 segments: trying every name would never end.  So
 * only the REC_GARBAGE_WINDOW names just below ckpt_segno are all tried, in
 * ascending order as the checkpoint removes them: that covers every range
 * a checkpoint leaves in practice (65536 segments are 4 GiB of log at the
 * smallest segment size, 1 TiB at the default), at a cost of at most 65536
 * failing unlink calls for a range that is gone or absurd.  Below the window
 * the sweep goes down from the window while segments exist, and stops at the
 * first missing one: the checkpoint removes in ascending order, so what a crash
 * leaves is the top of the range.  A segment stranded below a gap (a power cut
 * can undo unsynced unlinks in any order) is dead weight, never read: replay
 * starts at ckpt_segno and segment numbers only grow. */
static int rec_remove_garbage(cl_db *db)
{
    uint64_t first = db->sb.old_segno, last = db->sb.ckpt_segno, s;
    int removed = 0, gone, rc;

    if (last - first > REC_GARBAGE_WINDOW)
        first = last - REC_GARBAGE_WINDOW;
    for (s = first; s < last; s++) {
        if ((rc = rec_unlink_segment(db, s, &gone)) != 0)
            return rc;
        removed += gone;
    }
    for (s = first; s > db->sb.old_segno;) {
        if ((rc = rec_unlink_segment(db, --s, &gone)) != 0)
            return rc;
        if (!gone)
            break;
        removed++;
    }
    if (removed > 0 && (rc = db->io->dirsync(db->io->ctx, db->dir)) != 0)
        return err_set(rc, "%s: directory fsync failed", db->dir);
    return 0;
}

int rec_run(cl_db *db)
{
    const cl_io *io = db->io;
    uint64_t t0 = rec_now_us(), restored = 0, frames, log_bytes = 0;
    pager_config pc;
    rec_log lg;
    int fd = -1, rc;

    /* 1 */
    if ((rc = io->dirsync(io->ctx, db->dir)) != 0)
        return err_set(rc, "%s: cannot sync the directory", db->dir);
    rc = io->open(io->ctx, db->pages_path, CL_IO_RDONLY, &fd);
    if (rc != 0)
        return err_set(rc, "%s: cannot open", db->pages_path);
    if ((rc = io->fsync(io->ctx, fd)) != 0)
        rc = err_set(rc, "%s: fsync failed", db->pages_path);
    else
        rc = sb_read(io, fd, db->pages_path, &db->sb);
    io->close(io->ctx, fd);
    if (rc != 0)
        return rc;
    frames = db->opt.pool_bytes / db->sb.page_size;
    if (frames < 64) /* replacing a 64 KiB value pins ~40 pages of 4 KiB */
        frames = 64;
    if (frames > UINT32_MAX / 2)
        frames = UINT32_MAX / 2;
    memset(&pc, 0, sizeof(pc));
    pc.io = io;
    pc.dir = db->dir;
    pc.path = db->pages_path;
    pc.dwb_path = db->dwb_path;
    pc.page_size = db->sb.page_size;
    pc.salt = db->sb.salt;
    pc.frames = (uint32_t)frames;
    pc.torn = db->opt.torn;
    pc.wal_flush = db_wal_flush;
    pc.wal_ctx = db;
    if ((rc = pager_open(&pc, &db->pg)) != 0)
        return rc;
    db->wcfg.io = io;
    db->wcfg.dir = db->dir;
    db->wcfg.db_salt = db->sb.salt;
    db->wcfg.segment_bytes = db->opt.segment_bytes;
    /* The modes that sync every commit write each record at once (a full
     * disk fails just that commit) into zero-filled space; the others
     * buffer records in memory until a sync. */
    if (db->opt.sync == CL_SYNC_OFF || db->opt.sync == CL_SYNC_PERIODIC)
        db->wcfg.buffer_bytes = DB_WAL_BUFFER;
    else
        db->wcfg.zero_ahead = DB_WAL_ZERO_AHEAD;
    db->rec.checkpoint_lsn = db->sb.ckpt_lsn;

    /* 2 */
    if ((rc = rec_page_bound(db, &log_bytes)) != 0 ||
        (rc = pager_dwb_restore(db->pg, &restored)) != 0)
        return rc;
    db->rec.pages_repaired_dwb = restored;

    /* 3, 4 */
    if ((rc = rec_replay(db, &lg, log_bytes)) != 0)
        return rc;
    /* Anything after the last segment is unreachable: a later segment
     * exists only past a segment that ended cleanly (checked above), and a
     * stale one cannot hold records newer than the end we found. */

    if ((rc = pager_redo_ready(db->pg, lg.end_lsn)) != 0)
        return rc;

    /* 5 */
    if ((rc = rec_remove_garbage(db)) != 0)
        return rc;

    /* 6 */
    if (pager_max_disk_lsn(db->pg) > lg.end_lsn)
        return err_set_at(
            CL_ECORRUPT, CL_ERRK_LSN_AHEAD, db->pages_path, CL_ERR_NO_OFFSET, 0,
            "%s: a page has LSN %llu but the log ends at %llu: a "
            "page was written before its log record was durable",
            db->pages_path, (unsigned long long)pager_max_disk_lsn(db->pg),
            (unsigned long long)lg.end_lsn);

    /* 7 */
    if ((rc = pager_load_meta(db->pg)) != 0)
        return rc;
    rc = wal_open(&db->wcfg, lg.last_segno, lg.last_start, lg.end_off,
                  lg.end_lsn, &db->log);
    if (rc != 0)
        return rc;
    db->rec.end_lsn = lg.end_lsn;
    db->rec.usec = rec_now_us() - t0;
    return 0;
}
