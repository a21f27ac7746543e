/*
 * wal_writer.c - appending records to the log, segment rolls, and group
 * commit.  The byte layout is described in wal_reader.c.
 *
 * Appends are serialized by the caller (the engine's writer lock), so the
 * log holds transactions in commit order.  Each append is one pwrite of the
 * whole record at the end of the current segment; nothing is synced there.
 *
 * Durability is asked for with wal_sync(lsn).  Group commit: whoever finds
 * no sync in progress becomes the leader, notes how far the log is written,
 * fdatasyncs the segment without holding the lock, and publishes the new
 * durable point to everyone waiting; callers whose lsn is covered return
 * without a sync of their own, the others wait for the next round.
 *
 * A failed fdatasync poisons the log for good (rule 6 of DESIGN.md): after
 * a failed fsync Linux may have dropped the dirty pages and a retry can
 * succeed without the data being on disk, so nothing may be acknowledged
 * from this handle again.  The database must be reopened, which recovers
 * from what is really on disk.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "fault_points.h"
#include "wal.h"

struct wal {
    wal_config cfg;
    char *dir;
    int fd;             /* current segment */
    uint64_t segno;     /* current segment number */
    uint64_t seg_start; /* its start LSN */
    uint32_t crc_seed;  /* its record CRC seed */
    uint8_t *buf;       /* record encoding buffer */
    size_t cap;

    pthread_mutex_t mu; /* protects the fields below */
    pthread_cond_t cv;
    uint64_t written; /* end LSN of the last record written */
    uint64_t durable; /* end LSN known durable */
    int syncing;      /* a leader (or a roll) is syncing */
    int fatal;        /* error that poisoned the log, or 0 */
    wal_stats st;
};

static uint64_t wal_off_of(const wal *w, uint64_t lsn)
{
    return WAL_SEG_HDR_SIZE + (lsn - w->seg_start);
}

/* Create segment segno.  Recipe (a new file is durable only once its
 * directory entry is):
 *   1. open with create (truncating a stale file of that name, left by a
 *      recovery that cut the log before it);
 *   2. write the 64-byte header;
 *   3. fdatasync the segment;
 *   4. fsync the directory.
 * OUT: *fd_out (may be NULL: closed). */
static int wal_create(const wal_config *cfg, uint64_t segno, uint64_t start_lsn,
                      int *fd_out)
{
    const cl_io *io = cfg->io;
    char path[4096];
    uint8_t hdr[WAL_SEG_HDR_SIZE];
    wal_seg_hdr h = {segno, start_lsn, cfg->db_salt,
                     wal_seg_salt(cfg->db_salt, segno, start_lsn)};
    int fd = -1, rc;

    wal_seg_path(path, sizeof(path), cfg->dir, segno);
    rc = io->open(io->ctx, path, CL_IO_RDWR | CL_IO_CREATE, &fd);
    if (rc != 0)
        return err_set(rc, "%s: cannot create log segment", path);
    wal_seg_encode(hdr, &h);
    if ((rc = io->ftruncate(io->ctx, fd, 0)) != 0 ||
        (rc = io->pwrite(io->ctx, fd, hdr, sizeof(hdr), 0)) != 0 ||
        (rc = io->fdatasync(io->ctx, fd)) != 0 ||
        (!CL_MUTANT("no-segment-dirsync") &&
         (rc = io->dirsync(io->ctx, cfg->dir)) != 0)) {
        io->close(io->ctx, fd);
        return err_set(rc, "%s: cannot create log segment", path);
    }
    if (fd_out != NULL)
        *fd_out = fd;
    else
        io->close(io->ctx, fd);
    return 0;
}

int wal_create_segment(const wal_config *cfg, uint64_t segno,
                       uint64_t start_lsn)
{
    return wal_create(cfg, segno, start_lsn, NULL);
}

int wal_open(const wal_config *cfg, uint64_t segno, uint64_t start_lsn,
             uint64_t end_off, uint64_t end_lsn, wal **out)
{
    char path[4096];
    wal *w;
    int rc;

    w = calloc(1, sizeof(*w));
    if (w == NULL)
        return CL_ENOMEM;
    w->cfg = *cfg;
    w->dir = strdup(cfg->dir);
    if (w->dir == NULL) {
        free(w);
        return CL_ENOMEM;
    }
    w->cfg.dir = w->dir;
    w->segno = segno;
    w->seg_start = start_lsn;
    w->crc_seed = wal_crc_seed(wal_seg_salt(cfg->db_salt, segno, start_lsn));
    w->written = end_lsn;
    w->durable = end_lsn;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    wal_seg_path(path, sizeof(path), cfg->dir, segno);
    rc = cfg->io->open(cfg->io->ctx, path, CL_IO_RDWR, &w->fd);
    if (rc != 0) {
        err_set(rc, "%s: cannot open log segment", path);
        w->fd = -1;
        wal_close(w);
        return rc;
    }
    if (end_off != wal_off_of(w, end_lsn)) {
        wal_close(w);
        return err_set(CL_EINVAL, "%s: end offset %llu is not LSN %llu", path,
                       (unsigned long long)end_off,
                       (unsigned long long)end_lsn);
    }
    *out = w;
    return 0;
}

void wal_close(wal *w)
{
    if (w == NULL)
        return;
    if (w->fd >= 0)
        w->cfg.io->close(w->cfg.io->ctx, w->fd);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w->buf);
    free(w->dir);
    free(w);
}

/* Take the sync token (no leader syncs while a roll swaps segments). */
static void wal_token_take(wal *w)
{
    pthread_mutex_lock(&w->mu);
    while (w->syncing)
        pthread_cond_wait(&w->cv, &w->mu);
    w->syncing = 1;
    pthread_mutex_unlock(&w->mu);
}

static void wal_token_give(wal *w)
{
    pthread_mutex_lock(&w->mu);
    w->syncing = 0;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static int wal_poison(wal *w, int rc)
{
    pthread_mutex_lock(&w->mu);
    if (w->fatal == 0)
        w->fatal = rc;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return rc;
}

int wal_fatal(wal *w)
{
    int f;

    pthread_mutex_lock(&w->mu);
    f = w->fatal;
    pthread_mutex_unlock(&w->mu);
    return f;
}

/* Planted bug ack-before-wal-write (FIU builds only): wal_append leaves
 * its record unwritten in w->buf and returns as if it were written, so the
 * commit is acknowledged before its log write; the record reaches the file
 * only when the next append or roll comes, here.  The file then ends
 * exactly one record short of the written end. */
static int wal_write_late(wal *w)
{
    const cl_io *io = w->cfg.io;
    uint64_t size = 0, end = wal_off_of(w, wal_written(w));

    if (io->filesize(io->ctx, w->fd, &size) != 0 || size >= end)
        return 0;
    return io->pwrite(io->ctx, w->fd, w->buf, end - size, size);
}

/* Roll recipe:
 *   1. take the sync token, so no leader fsyncs the old segment's fd while
 *      it is being replaced;
 *   2. fdatasync the old segment: a segment is complete and durable before
 *      the next one exists, which lets the reader call any damage in a
 *      non-last segment corruption;
 *   3. create the new segment (header, fdatasync, directory fsync);
 *   4. switch to it and close the old one. */
int wal_roll(wal *w, uint64_t *segno, uint64_t *start_lsn)
{
    const cl_io *io = w->cfg.io;
    uint64_t start;
    int rc, nfd = -1;

    if ((rc = wal_fatal(w)) != 0)
        return err_set(CL_EREADONLY, "log is read-only after error: %s",
                       cl_strerror(rc));
    if (CL_MUTANT("ack-before-wal-write") && (rc = wal_write_late(w)) != 0)
        return wal_poison(w, rc);
    wal_token_take(w);
    rc = io->fdatasync(io->ctx, w->fd);
    if (rc != 0) {
        wal_token_give(w);
        err_set(rc, "fdatasync of log segment %llu failed",
                (unsigned long long)w->segno);
        return wal_poison(w, rc);
    }
    pthread_mutex_lock(&w->mu);
    w->durable = w->written;
    w->st.syncs++;
    start = w->written;
    pthread_mutex_unlock(&w->mu);
    rc = wal_create(&w->cfg, w->segno + 1, start, &nfd);
    if (rc != 0) {
        wal_token_give(w);
        /* A half-made segment after the current one would be cut by
         * recovery; but the handle cannot go on without one. */
        return wal_poison(w, rc);
    }
    io->close(io->ctx, w->fd);
    pthread_mutex_lock(&w->mu);
    w->fd = nfd;
    w->segno++;
    w->seg_start = start;
    w->crc_seed = wal_crc_seed(wal_seg_salt(w->cfg.db_salt, w->segno, start));
    w->st.segments++;
    pthread_mutex_unlock(&w->mu);
    wal_token_give(w);
    *segno = w->segno;
    *start_lsn = start;
    return 0;
}

int wal_append(wal *w, uint8_t type, const void *payload, size_t len,
               uint64_t *end_lsn)
{
    const cl_io *io = w->cfg.io;
    uint64_t lsn, synced, size;
    int rc;

    if ((rc = wal_fatal(w)) != 0)
        return err_set(CL_EREADONLY, "log is read-only after error: %s",
                       cl_strerror(rc));
    if (len > WAL_MAX_PAYLOAD)
        return err_set(CL_ENOMEM,
                       "transaction of %zu bytes is too large "
                       "for one log record",
                       len);
    if (CL_MUTANT("ack-before-wal-write") && (rc = wal_write_late(w)) != 0)
        return wal_poison(w, rc);
    if (wal_off_of(w, w->written) >= w->cfg.segment_bytes) {
        uint64_t s, l;
        if ((rc = wal_roll(w, &s, &l)) != 0)
            return rc;
    }
    size = wal_rec_size(len);
    if (size > w->cap) {
        size_t cap = w->cap ? w->cap : 65536;
        uint8_t *b;
        while (cap < size)
            cap *= 2;
        if ((b = realloc(w->buf, cap)) == NULL)
            return CL_ENOMEM;
        w->buf = b;
        w->cap = cap;
    }
    pthread_mutex_lock(&w->mu);
    lsn = w->written;
    synced = w->durable;
    pthread_mutex_unlock(&w->mu);
    wal_rec_encode(w->buf, w->crc_seed, type, lsn, synced, payload,
                   (uint32_t)len);
    if (CL_MUTANT("ack-before-wal-write"))
        rc = 0; /* written by the next append (wal_write_late) */
    else
        rc = io->pwrite(io->ctx, w->fd, w->buf, size, wal_off_of(w, lsn));
    if (rc != 0) {
        err_set(rc, "write to log segment %llu at offset %llu failed",
                (unsigned long long)w->segno,
                (unsigned long long)wal_off_of(w, lsn));
        /* A full disk may leave part of the record past the written end (a
         * short write).  It is cut off at once: left there, a roll would
         * sync it into a segment that is no longer the last, where
         * recovery must take it for damage.  Cutting needs no space; if
         * even that fails, or on any other write error, the log is
         * poisoned.  Otherwise the log stays usable: only this commit
         * failed. */
        if (rc != ENOSPC && rc != EDQUOT) {
            wal_poison(w, rc);
        } else if (CL_MUTANT("enospc-advance")) {
            /* Planted bug: the end moves past the partial record. */
            pthread_mutex_lock(&w->mu);
            w->written = lsn + size;
            pthread_mutex_unlock(&w->mu);
        } else {
            int trc = io->ftruncate(io->ctx, w->fd, wal_off_of(w, lsn));
            if (trc != 0)
                wal_poison(w, trc);
        }
        return rc;
    }
    pthread_mutex_lock(&w->mu);
    w->written = lsn + size;
    w->st.records++;
    w->st.bytes += size;
    pthread_mutex_unlock(&w->mu);
    *end_lsn = lsn + size;
    return 0;
}

int wal_sync(wal *w, uint64_t lsn)
{
    const cl_io *io = w->cfg.io;
    int rc = 0;

    pthread_mutex_lock(&w->mu);
    while (w->durable < lsn) {
        if (w->fatal != 0) {
            rc = err_set(CL_EREADONLY, "log is read-only after error: %s",
                         cl_strerror(w->fatal));
            break;
        }
        if (w->syncing) {
            pthread_cond_wait(&w->cv, &w->mu);
            continue;
        }
        /* Become the leader for everything written so far. */
        uint64_t upto = w->written;
        int fd = w->fd;
        w->syncing = 1;
        pthread_mutex_unlock(&w->mu);
        if (CL_MUTANT("skip-wal-fsync")) {
            rc = 0; /* planted bug: acknowledged without a sync */
        } else {
            rc = io->fdatasync(io->ctx, fd);
            if (rc != 0 && CL_MUTANT("fsync-error-ignored"))
                rc = io->fdatasync(io->ctx, fd); /* planted bug: retried */
        }
        pthread_mutex_lock(&w->mu);
        w->syncing = 0;
        w->st.syncs++;
        if (rc != 0) {
            if (w->fatal == 0)
                w->fatal = rc;
            pthread_cond_broadcast(&w->cv);
            err_set(rc, "fdatasync of log segment %llu failed",
                    (unsigned long long)w->segno);
            break;
        }
        if (upto > w->durable)
            w->durable = upto;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return rc;
}

int wal_unlink_segments(const wal_config *cfg, uint64_t first, uint64_t last)
{
    const cl_io *io = cfg->io;
    char path[4096];
    int removed = 0, rc;

    for (uint64_t s = first; s < last; s++) {
        wal_seg_path(path, sizeof(path), cfg->dir, s);
        rc = io->unlink(io->ctx, path);
        if (rc == ENOENT)
            continue;
        if (rc != 0)
            return err_set(rc, "%s: cannot remove old log segment", path);
        removed++;
    }
    if (removed > 0 && (rc = io->dirsync(io->ctx, cfg->dir)) != 0)
        return err_set(rc, "%s: directory fsync failed", cfg->dir);
    return 0;
}

uint64_t wal_written(wal *w)
{
    uint64_t v;

    pthread_mutex_lock(&w->mu);
    v = w->written;
    pthread_mutex_unlock(&w->mu);
    return v;
}

uint64_t wal_durable(wal *w)
{
    uint64_t v;

    pthread_mutex_lock(&w->mu);
    v = w->durable;
    pthread_mutex_unlock(&w->mu);
    return v;
}

uint64_t wal_segno(wal *w)
{
    return w->segno;
}

void wal_stats_get(wal *w, wal_stats *st)
{
    pthread_mutex_lock(&w->mu);
    *st = w->st;
    pthread_mutex_unlock(&w->mu);
}
