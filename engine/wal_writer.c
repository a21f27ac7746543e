/*
 * wal_writer.c - appending records to the log, segment rolls, and group
 * commit, and the encoding of segment headers and records.
 *
 * Segment file "wal-<segno: 16 lowercase hex digits>".  All integers
 * little-endian.
 *
 * Segment header, bytes [0, 64):
 *   offset size field
 *        0    4 crc        CRC-32C of bytes [4, 64)
 *        4    4 magic      0x4c574c43 ("CLWL")
 *        8    4 version    1
 *       12    4 hdrsize    64
 *       16    8 segno      the number in the file name
 *       24    8 start_lsn  LSN of the byte at file offset 64
 *       32    8 db_salt    the database's salt (superblock)
 *       40    8 salt       wal_seg_salt(db_salt, segno, start_lsn)
 *       48   16 -          zero
 *
 * Records follow from offset 64, each at an offset that is a multiple of 8:
 *   offset size field
 *        0    4 crc     CRC-32C seeded with the segment salt (wal_crc_seed)
 *                       of bytes [4, 32 + len) of the record
 *        4    4 len     payload bytes, <= 2^30
 *        8    8 lsn     the record's LSN: start_lsn + (offset - 64)
 *       16    8 synced  the log's durable end LSN when the record was
 *                       written (everything before it had been fsynced)
 *       24    1 type    WAL_TXN
 *       25    7 -       zero
 *       32  len payload
 *           pad zero bytes up to a multiple of 8
 *
 * The rules that tell a valid record, the clean end of the log, a torn
 * tail and damage apart are in wal_reader.c.
 *
 * Appends are serialized by the caller (the engine's writer lock), so the
 * log holds transactions in commit order.  How a record reaches the file
 * depends on the configuration (wal_config):
 *   - unbuffered (the durable sync modes): each append writes its record at
 *     once with one pwrite at the end of the current segment, so a failed
 *     write (a full disk) fails only that commit;
 *   - buffered (sync off and periodic): records are copied into a memory
 *     buffer and written out together at the next sync, segment roll, or
 *     when the buffer is full: one pwrite for many commits.  A write
 *     failure then concerns commits already acknowledged, so any failed
 *     write poisons the log.
 * In the durable modes the segment is also kept zero-filled ahead of the
 * records (zero_ahead bytes written and extended in steps): records then
 * overwrite blocks the file already has, and fdatasync need not commit a
 * size change to the file system's journal with every record.  A
 * zero-filled record header is the end of the log for the reader (rule R2
 * and R8 in wal_reader.c), exactly like a torn tail; a segment is cut back
 * to its last record (and fsynced) before the next one is created and at
 * close, so that only the last segment can end in zeros.
 *
 * Durability is asked for with wal_sync(lsn).  Group commit: whoever finds
 * no sync in progress takes the sync token and becomes the leader, notes how
 * far the log is written, fdatasyncs the segment without holding the lock,
 * and publishes the new durable point to everyone waiting; callers whose
 * lsn is covered return without a sync of their own, the others wait for
 * the next round.  Committers (wal_sync_group) also let a new leader wait,
 * for at most one fsync, until as many committers wait as were committing
 * when the last sync ended: those it released come back with their next
 * commit within microseconds, and without the wait every other sync would
 * carry only the stragglers of the one before.
 *
 * A failed fdatasync poisons the log for good (rule 6 of DESIGN.md): after
 * a failed fsync Linux may have dropped the dirty pages and a retry can
 * succeed without the data being on disk, so nothing may be acknowledged
 * from this handle again.  The database must be reopened, which recovers
 * from what is really on disk.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coding.h"
#include "crc32c.h"
#include "errors.h"
#include "wal.h"

#define WAL_GROUP_WAIT_MAX_NS 2000000u /* never wait longer for a group */
#define WAL_ZERO_MIN 4096u             /* least zero-filling step, bytes */

/* A committer in wal_sync_group whose record is not durable yet, on the
 * stack of its thread.  The leader of the sync that covers it unlinks it,
 * so that the count of waiters is never stale. */
typedef struct wal_waiter {
    uint64_t lsn;
    struct wal_waiter *next;
    int linked;
} wal_waiter;

struct wal {
    wal_config cfg;
    char *dir;
    /* Changed only by rolls, which hold the sync token and exclude
     * appends (the caller's writer lock): */
    int fd;             /* current segment */
    uint64_t segno;     /* current segment number */
    uint64_t seg_start; /* its start LSN */
    uint32_t crc_seed;  /* its record CRC seed */
    /* The appender's own (under the caller's writer lock): */
    uint8_t *rec; /* record encoding buffer */
    size_t reccap;
    uint64_t zeroed; /* unbuffered: the segment holds nothing but our
                        records and zeros past this file offset (it may
                        end before it after a failed zero-filling) */
    int zero_off;    /* zero-filling failed (full disk): not this segment */

    pthread_mutex_t mu;         /* protects the fields below */
    pthread_cond_t cv;          /* the token was given back, durable advanced */
    pthread_cond_t arrive;      /* a committer started waiting */
    uint8_t *buf[2];            /* buffered: the appends' and the write-out's */
    size_t cap;                 /* bytes of each */
    int cur;                    /* buffer appends go to */
    size_t len;                 /* bytes in buf[cur] */
    uint64_t buf_lsn;           /* LSN of buf[cur][0] */
    uint64_t appended;          /* end LSN of the last record appended */
    uint64_t written;           /* end LSN written to the file */
    uint64_t durable;           /* end LSN known durable */
    int token;                  /* held to write out, sync or roll */
    int fatal;                  /* error that poisoned the log, or 0 */
    cl_err_info fatal_info;     /* and its kind and place */
    unsigned active;            /* committers between wal_group_enter and
                                   wal_group_leave */
    struct wal_waiter *waiters; /* committers waiting for a sync */
    unsigned waiting;           /* how many */
    unsigned last_group;        /* committers active when the last sync ended */
    uint64_t sync_ns;           /* moving average of one fdatasync */
    wal_stats st;
};

/* ---------------------------------------------------------------------- */
/* encoding                                                               */
/* ---------------------------------------------------------------------- */

uint32_t wal_crc_seed(uint64_t salt)
{
    uint8_t b[8];

    put_le64(b, salt);
    return crc32c(b, sizeof(b));
}

void wal_seg_path(char *out, size_t outlen, const char *dir, uint64_t segno)
{
    snprintf(out, outlen, "%s/" WAL_SEG_NAME_FMT, dir,
             (unsigned long long)segno);
}

void wal_seg_encode(uint8_t *buf, const wal_seg_hdr *hdr)
{
    memset(buf, 0, WAL_SEG_HDR_SIZE);
    put_le32(buf + WAL_SH_OFF_MAGIC, WAL_SEG_MAGIC);
    put_le32(buf + WAL_SH_OFF_VERSION, WAL_VERSION);
    put_le32(buf + WAL_SH_OFF_HDRSIZE, WAL_SEG_HDR_SIZE);
    put_le64(buf + WAL_SH_OFF_SEGNO, hdr->segno);
    put_le64(buf + WAL_SH_OFF_START, hdr->start_lsn);
    put_le64(buf + WAL_SH_OFF_DBSALT, hdr->db_salt);
    put_le64(buf + WAL_SH_OFF_SALT, hdr->salt);
    put_le32(buf + WAL_SH_OFF_CRC, crc32c(buf + 4, WAL_SEG_HDR_SIZE - 4));
}

void wal_rec_encode(uint8_t *buf, uint32_t crc_seed, uint8_t type, uint64_t lsn,
                    uint64_t synced, const void *payload, uint32_t len)
{
    uint64_t pad = wal_padded(len) - len;

    memset(buf, 0, WAL_REC_HDR_SIZE);
    put_le32(buf + WAL_RH_OFF_LEN, len);
    put_le64(buf + WAL_RH_OFF_LSN, lsn);
    put_le64(buf + WAL_RH_OFF_SYNCED, synced);
    buf[WAL_RH_OFF_TYPE] = type;
    if (len > 0)
        memcpy(buf + WAL_REC_HDR_SIZE, payload, len);
    memset(buf + WAL_REC_HDR_SIZE + len, 0, pad);
    put_le32(buf + WAL_RH_OFF_CRC,
             crc32c_extend(crc_seed, buf + 4, WAL_REC_HDR_SIZE - 4 + len));
}

static uint64_t wal_off_of(const wal *w, uint64_t lsn)
{
    return WAL_SEG_HDR_SIZE + (lsn - w->seg_start);
}

static uint64_t wal_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
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
        (rc = io->dirsync(io->ctx, cfg->dir)) != 0) {
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
    pthread_condattr_t ca;
    char path[4096];
    wal *w;
    int rc;

    w = calloc(1, sizeof(*w));
    if (w == NULL)
        return CL_ENOMEM;
    w->cfg = *cfg;
    w->dir = strdup(cfg->dir);
    if (cfg->buffer_bytes > 0) {
        w->cap = cfg->buffer_bytes;
        w->buf[0] = malloc(w->cap);
        w->buf[1] = malloc(w->cap);
    }
    if (w->dir == NULL || (w->cap > 0 && (!w->buf[0] || !w->buf[1]))) {
        free(w->buf[0]);
        free(w->buf[1]);
        free(w->dir);
        free(w);
        return CL_ENOMEM;
    }
    w->cfg.dir = w->dir;
    w->segno = segno;
    w->seg_start = start_lsn;
    w->crc_seed = wal_crc_seed(wal_seg_salt(cfg->db_salt, segno, start_lsn));
    w->appended = end_lsn;
    w->written = end_lsn;
    w->durable = end_lsn;
    w->buf_lsn = end_lsn;
    w->zeroed = end_off;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->arrive, &ca);
    pthread_condattr_destroy(&ca);
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
    pthread_cond_destroy(&w->arrive);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w->buf[0]);
    free(w->buf[1]);
    free(w->rec);
    free(w->dir);
    free(w);
}

/* Take the sync token.  Caller holds w->mu. */
static void wal_token_take_locked(wal *w)
{
    while (w->token)
        pthread_cond_wait(&w->cv, &w->mu);
    w->token = 1;
}

/* Give it back.  Caller holds w->mu. */
static void wal_token_give_locked(wal *w)
{
    w->token = 0;
    pthread_cond_broadcast(&w->cv);
}

/* Poison the log with rc (first error wins).  Caller holds w->mu. */
static int wal_poison_locked(wal *w, int rc)
{
    if (w->fatal == 0) {
        w->fatal = rc;
        err_cause(rc, &w->fatal_info); /* this thread's failure */
    }
    pthread_cond_broadcast(&w->cv);
    return rc;
}

/* CL_EREADONLY for a poisoned log, with the poisoning failure's kind and
 * place in cl_errinfo.  Caller holds w->mu. */
static int wal_refuse_locked(const wal *w)
{
    return err_set_readonly(&w->fatal_info, "log is read-only after error: %s",
                            cl_strerror(w->fatal));
}

/* wal_refuse_locked if the log is poisoned, else 0. */
static int wal_refuse(wal *w)
{
    int rc = 0;

    pthread_mutex_lock(&w->mu);
    if (w->fatal != 0)
        rc = wal_refuse_locked(w);
    pthread_mutex_unlock(&w->mu);
    return rc;
}

int wal_fatal(wal *w)
{
    return wal_fatal_info(w, NULL);
}

int wal_fatal_info(wal *w, cl_err_info *info)
{
    int f;

    pthread_mutex_lock(&w->mu);
    f = w->fatal;
    if (f != 0 && info != NULL)
        *info = w->fatal_info;
    pthread_mutex_unlock(&w->mu);
    return f;
}

/* Buffered mode: write the records buffered so far to the segment.  Caller
 * holds the token and w->mu, which is released during the write; appends
 * meanwhile go to the other buffer (free: the previous write-out, made
 * under the token too, is over).  Records are acknowledged already, so a
 * failed write poisons the log. */
static int wal_write_out_locked(wal *w)
{
    const cl_io *io = w->cfg.io;
    int b = w->cur, rc;
    size_t n = w->len;
    uint64_t lsn = w->buf_lsn;

    if (n == 0)
        return 0;
    w->cur ^= 1;
    w->len = 0;
    w->buf_lsn = lsn + n;
    pthread_mutex_unlock(&w->mu);
    rc = io->pwrite(io->ctx, w->fd, w->buf[b], n, wal_off_of(w, lsn));
    pthread_mutex_lock(&w->mu);
    if (rc != 0) {
        err_set(rc, "write to log segment %llu at offset %llu failed",
                (unsigned long long)w->segno,
                (unsigned long long)wal_off_of(w, lsn));
        return wal_poison_locked(w, rc);
    }
    w->written = lsn + n;
    return 0;
}

/* Make the segment end at its last record again (unbuffered mode cuts the
 * zeros written ahead).  Caller holds the token, and the appends are
 * excluded (writer lock).  OUT: *cut, 1 if the size changed. */
static int wal_cut_zeros(wal *w, int *cut)
{
    const cl_io *io = w->cfg.io;
    uint64_t end = wal_off_of(w, w->written);
    int rc;

    *cut = 0;
    if (w->zeroed <= end)
        return 0;
    if ((rc = io->ftruncate(io->ctx, w->fd, end)) != 0)
        return err_set(rc,
                       "log segment %llu: cannot cut the space after "
                       "its last record",
                       (unsigned long long)w->segno);
    w->zeroed = end;
    *cut = 1;
    return 0;
}

/* Unlink the waiters durable now.  Caller holds w->mu. */
static void wal_waiters_release_locked(wal *w)
{
    wal_waiter **pp = &w->waiters;

    while (*pp != NULL) {
        wal_waiter *x = *pp;
        if (x->lsn <= w->durable) {
            *pp = x->next;
            x->linked = 0;
            w->waiting--;
        } else {
            pp = &x->next;
        }
    }
}

/* Make everything appended durable and the segment end at its last record.
 * Caller holds the token (not w->mu), and the appends are excluded.  A
 * segment's size change is made durable with fsync (fdatasync need not
 * write a smaller size). */
static int wal_seal(wal *w)
{
    const cl_io *io = w->cfg.io;
    int rc = 0, cut = 0;

    pthread_mutex_lock(&w->mu);
    /* The caller checked for an error before it waited for the token; a
     * leader that held the token meanwhile (the periodic syncer, say) may
     * have failed its fdatasync.  Its writes may be gone, and an fsync now
     * could succeed over the hole: a roll or a close must not go on. */
    if (w->fatal != 0) {
        rc = wal_refuse_locked(w);
        pthread_mutex_unlock(&w->mu);
        return rc;
    }
    if (w->cap > 0)
        rc = wal_write_out_locked(w);
    pthread_mutex_unlock(&w->mu);
    if (rc == 0)
        rc = wal_cut_zeros(w, &cut);
    if (rc == 0 && (rc = cut ? io->fsync(io->ctx, w->fd)
                             : io->fdatasync(io->ctx, w->fd)) != 0)
        err_set(rc, "fsync of log segment %llu failed",
                (unsigned long long)w->segno);
    pthread_mutex_lock(&w->mu);
    w->st.syncs++;
    if (rc != 0)
        wal_poison_locked(w, rc);
    else if (w->written > w->durable)
        w->durable = w->written;
    wal_waiters_release_locked(w);
    pthread_mutex_unlock(&w->mu);
    return rc;
}

/* Roll recipe:
 *   1. take the sync token, so no leader fsyncs the old segment's fd while
 *      it is being replaced;
 *   2. write out what is buffered, cut the zeros written ahead and make
 *      the old segment durable (fsync if its size changed): a segment is
 *      complete and durable, ending at its last record, before the next one
 *      exists, which lets the reader call any damage in a non-last segment
 *      corruption;
 *   3. create the new segment (header, fdatasync, directory fsync);
 *   4. switch to it and close the old one. */
int wal_roll(wal *w, uint64_t *segno, uint64_t *start_lsn)
{
    const cl_io *io = w->cfg.io;
    uint64_t start;
    int rc, nfd = -1;

    if ((rc = wal_refuse(w)) != 0)
        return rc;
    pthread_mutex_lock(&w->mu);
    wal_token_take_locked(w);
    pthread_mutex_unlock(&w->mu);
    cl_io_activity(io, CL_ACT_SEG_ROLL, 1);
    if ((rc = wal_seal(w)) != 0)
        goto out;
    start = w->written;
    rc = wal_create(&w->cfg, w->segno + 1, start, &nfd);
    if (rc != 0) {
        /* A half-made segment after the current one would be cut by
         * recovery; but the handle cannot go on without one. */
        pthread_mutex_lock(&w->mu);
        wal_poison_locked(w, rc);
        pthread_mutex_unlock(&w->mu);
        goto out;
    }
    io->close(io->ctx, w->fd);
    pthread_mutex_lock(&w->mu);
    w->fd = nfd;
    w->segno++;
    w->seg_start = start;
    w->crc_seed = wal_crc_seed(wal_seg_salt(w->cfg.db_salt, w->segno, start));
    w->zeroed = WAL_SEG_HDR_SIZE;
    w->zero_off = 0;
    w->st.segments++;
    pthread_mutex_unlock(&w->mu);
    *segno = w->segno;
    *start_lsn = start;
out:
    cl_io_activity(io, CL_ACT_SEG_ROLL, 0);
    pthread_mutex_lock(&w->mu);
    wal_token_give_locked(w);
    pthread_mutex_unlock(&w->mu);
    return rc;
}

int wal_finish(wal *w)
{
    int rc;

    if ((rc = wal_refuse(w)) != 0)
        return rc;
    pthread_mutex_lock(&w->mu);
    wal_token_take_locked(w);
    pthread_mutex_unlock(&w->mu);
    rc = wal_seal(w);
    pthread_mutex_lock(&w->mu);
    wal_token_give_locked(w);
    pthread_mutex_unlock(&w->mu);
    return rc;
}

/* Unbuffered, zero-filling: make sure the segment holds zeros (or records)
 * well past [off, off + size) before the record is written there.  Zeros
 * are written from the end of what the segment holds, as far ahead as the
 * segment is long already (at least WAL_ZERO_MIN, at most zero_ahead
 * bytes: a short log writes few zeros), up to the roll size, for records of
 * at most zero_ahead / 8 bytes.  A full disk
 * only stops the zero-filling of this segment: the record is then simply
 * appended. */
static int wal_zero_ahead(wal *w, uint64_t off, uint64_t size)
{
    static const uint8_t zeros[65536];
    const cl_io *io = w->cfg.io;
    uint64_t ahead = off < WAL_ZERO_MIN ? WAL_ZERO_MIN : off, want, to;
    int rc = 0;

    if (ahead > w->cfg.zero_ahead)
        ahead = w->cfg.zero_ahead;
    /* A large record (a big batch) is simply appended: zeros ahead of it
     * would double what its fdatasync writes, and it would outgrow them
     * anyway. */
    if (size > w->cfg.zero_ahead / 8)
        return 0;
    want = off + size + ahead / 2;
    if (w->cfg.zero_ahead == 0 || w->zero_off || w->zeroed >= want ||
        w->zeroed >= w->cfg.segment_bytes)
        return 0;
    to = off + size + ahead;
    if (to > w->cfg.segment_bytes)
        to = w->cfg.segment_bytes;
    for (uint64_t z = w->zeroed > off + size ? w->zeroed : off + size;
         z < to && rc == 0; z += sizeof(zeros)) {
        uint64_t n = to - z < sizeof(zeros) ? to - z : sizeof(zeros);
        rc = io->pwrite(io->ctx, w->fd, zeros, n, z);
        /* A failed write may still have put part of its zeros into the
         * file (a short write on a full disk): they count as written, so
         * that wal_cut_zeros removes them before the segment is sealed.
         * Left behind the last record of a segment that is no longer the
         * last, they would read as damage to synced records. */
        if (z + n > w->zeroed)
            w->zeroed = z + n;
    }
    if (rc == ENOSPC || rc == EDQUOT) {
        w->zero_off = 1;
        return 0;
    }
    if (rc != 0)
        return err_set(rc, "write to log segment %llu failed",
                       (unsigned long long)w->segno);
    return 0;
}

/* Encode a record of payload at the end of the log into w->rec.  OUT:
 * *lsn its LSN, *size its bytes. */
static int wal_rec_prepare(wal *w, uint8_t type, const void *payload,
                           size_t len, uint64_t *lsn, uint64_t *size)
{
    uint64_t synced;

    *size = wal_rec_size(len);
    if (*size > w->reccap) {
        size_t cap = w->reccap ? w->reccap : 65536;
        uint8_t *b;
        while (cap < *size)
            cap *= 2;
        if ((b = realloc(w->rec, cap)) == NULL)
            return CL_ENOMEM;
        w->rec = b;
        w->reccap = cap;
    }
    pthread_mutex_lock(&w->mu);
    *lsn = w->appended;
    synced = w->durable;
    pthread_mutex_unlock(&w->mu);
    /* synced may be older than the durable point when the record reaches
     * the file (buffered): rule R7 only needs it to be no newer. */
    wal_rec_encode(w->rec, w->crc_seed, type, *lsn, synced, payload,
                   (uint32_t)len);
    return 0;
}

/* Buffered: write a record larger than the buffer directly, after what is
 * buffered.  Caller holds the token and w->mu (released meanwhile). */
static int wal_write_large_locked(wal *w, uint64_t lsn, uint64_t size)
{
    const cl_io *io = w->cfg.io;
    int rc;

    pthread_mutex_unlock(&w->mu);
    rc = io->pwrite(io->ctx, w->fd, w->rec, size, wal_off_of(w, lsn));
    pthread_mutex_lock(&w->mu);
    if (rc != 0) {
        err_set(rc, "write to log segment %llu failed",
                (unsigned long long)w->segno);
        return wal_poison_locked(w, rc);
    }
    w->written = w->buf_lsn = lsn + size;
    w->appended = lsn + size;
    w->st.records++;
    w->st.bytes += size;
    return 0;
}

/* Buffered: copy the record at w->rec into the buffer, writing out what
 * the buffer holds first if it has no room for it. */
static int wal_append_buffered(wal *w, uint64_t lsn, uint64_t size)
{
    int rc = 0;

    pthread_mutex_lock(&w->mu);
    while (rc == 0 && w->len + size > w->cap && w->fatal == 0) {
        if (w->token) { /* a leader is writing out: wait for it */
            pthread_cond_wait(&w->cv, &w->mu);
            continue;
        }
        w->token = 1;
        rc = wal_write_out_locked(w);
        if (rc == 0 && size > w->cap) {
            rc = wal_write_large_locked(w, lsn, size);
            wal_token_give_locked(w);
            pthread_mutex_unlock(&w->mu);
            return rc;
        }
        wal_token_give_locked(w);
    }
    if (rc == 0 && w->fatal != 0)
        rc = wal_refuse_locked(w);
    if (rc == 0) {
        memcpy(w->buf[w->cur] + w->len, w->rec, size);
        w->len += size;
        w->appended = lsn + size;
        w->st.records++;
        w->st.bytes += size;
    }
    pthread_mutex_unlock(&w->mu);
    return rc;
}

/* Unbuffered: the write of the record at lsn failed with rc.  A full disk
 * may leave part of the record past the written end (a short write).  It
 * is cut off at once, with the zeros after it: left there, a roll would
 * sync it into a segment that is no longer the last, where recovery must
 * take it for damage.  Cutting needs no space; if even that fails, or on
 * any other write error, the log is poisoned.  Otherwise the log stays
 * usable: only this commit failed.  Returns rc. */
static int wal_append_failed(wal *w, uint64_t lsn, int rc)
{
    const cl_io *io = w->cfg.io;
    int trc;

    err_set(rc, "write to log segment %llu at offset %llu failed",
            (unsigned long long)w->segno,
            (unsigned long long)wal_off_of(w, lsn));
    if (rc != ENOSPC && rc != EDQUOT) {
        pthread_mutex_lock(&w->mu);
        wal_poison_locked(w, rc);
        pthread_mutex_unlock(&w->mu);
    } else if ((trc = io->ftruncate(io->ctx, w->fd, wal_off_of(w, lsn))) == 0) {
        w->zeroed = wal_off_of(w, lsn);
    } else {
        pthread_mutex_lock(&w->mu);
        wal_poison_locked(w, trc);
        pthread_mutex_unlock(&w->mu);
    }
    return rc;
}

/* Unbuffered: write the record at w->rec in place at once. */
static int wal_append_direct(wal *w, uint64_t lsn, uint64_t size)
{
    const cl_io *io = w->cfg.io;
    int rc;

    rc = wal_zero_ahead(w, wal_off_of(w, lsn), size);
    if (rc == 0)
        rc = io->pwrite(io->ctx, w->fd, w->rec, size, wal_off_of(w, lsn));
    if (rc != 0)
        return wal_append_failed(w, lsn, rc);
    if (wal_off_of(w, lsn) + size > w->zeroed)
        w->zeroed = wal_off_of(w, lsn) + size;
    pthread_mutex_lock(&w->mu);
    w->appended = lsn + size;
    w->written = lsn + size;
    w->buf_lsn = lsn + size;
    w->st.records++;
    w->st.bytes += size;
    pthread_mutex_unlock(&w->mu);
    return 0;
}

int wal_append(wal *w, uint8_t type, const void *payload, size_t len,
               uint64_t *end_lsn)
{
    uint64_t lsn, size;
    int rc;

    if ((rc = wal_refuse(w)) != 0)
        return rc;
    if (len > WAL_MAX_PAYLOAD)
        return err_set(CL_ENOMEM,
                       "transaction of %zu bytes is too large "
                       "for one log record",
                       len);
    if (wal_off_of(w, w->appended) >= w->cfg.segment_bytes) {
        uint64_t s, l;
        if ((rc = wal_roll(w, &s, &l)) != 0)
            return rc;
    }
    if ((rc = wal_rec_prepare(w, type, payload, len, &lsn, &size)) != 0)
        return rc;
    rc = w->cap > 0 ? wal_append_buffered(w, lsn, size)
                    : wal_append_direct(w, lsn, size);
    if (rc == 0)
        *end_lsn = lsn + size;
    return rc;
}

/* Group commit's gathering: the new leader (holding the token) waits until
 * as many committers wait as were committing when the last sync ended (those
 * it released come back with their next commit, those in the commit path
 * are about to append), for at most one average fsync.  Caller holds
 * w->mu. */
static void wal_gather_locked(wal *w)
{
    struct timespec ts;
    uint64_t wait_ns, deadline;

    if (w->last_group <= 1 || w->waiting >= w->last_group)
        return;
    wait_ns = w->sync_ns;
    if (wait_ns > WAL_GROUP_WAIT_MAX_NS)
        wait_ns = WAL_GROUP_WAIT_MAX_NS;
    deadline = wal_now_ns() + wait_ns;
    ts.tv_sec = (time_t)(deadline / 1000000000u);
    ts.tv_nsec = (long)(deadline % 1000000000u);
    while (w->waiting < w->last_group && w->fatal == 0)
        if (pthread_cond_timedwait(&w->arrive, &w->mu, &ts) == ETIMEDOUT)
            break;
}

static int wal_sync_common(wal *w, uint64_t lsn, int group)
{
    const cl_io *io = w->cfg.io;
    wal_waiter me = {lsn, NULL, 0};
    int rc = 0;

    pthread_mutex_lock(&w->mu);
    if (lsn > w->appended) {
        /* No record the log holds ends there (a page written back claims
         * a change the log never had): no sync can reach it. */
        uint64_t end = w->appended;
        pthread_mutex_unlock(&w->mu);
        return err_set(CL_ECORRUPT,
                       "log: asked to be durable up to %llu, but it ends at "
                       "%llu",
                       (unsigned long long)lsn, (unsigned long long)end);
    }
    if (group && w->durable < lsn) {
        me.next = w->waiters;
        me.linked = 1;
        w->waiters = &me;
        w->waiting++;
        pthread_cond_signal(&w->arrive);
    }
    while (w->durable < lsn) {
        uint64_t upto, t0, took;
        int fd;
        if (w->fatal != 0) {
            rc = wal_refuse_locked(w);
            break;
        }
        if (w->token) {
            pthread_cond_wait(&w->cv, &w->mu);
            continue;
        }
        /* Become the leader for everything appended so far. */
        w->token = 1;
        if (group)
            wal_gather_locked(w);
        if (w->cap > 0 && (rc = wal_write_out_locked(w)) != 0) {
            wal_token_give_locked(w);
            break;
        }
        upto = w->written;
        fd = w->fd;
        pthread_mutex_unlock(&w->mu);
        t0 = wal_now_ns();
        rc = io->fdatasync(io->ctx, fd);
        took = wal_now_ns() - t0;
        pthread_mutex_lock(&w->mu);
        w->sync_ns = w->sync_ns ? (w->sync_ns * 7 + took) / 8 : took;
        w->st.syncs++;
        wal_token_give_locked(w);
        if (rc != 0) {
            err_set(rc, "fdatasync of log segment %llu failed",
                    (unsigned long long)w->segno);
            wal_poison_locked(w, rc); /* after: it takes err_set's info */
            break;
        }
        if (upto > w->durable)
            w->durable = upto;
        wal_waiters_release_locked(w);
        w->last_group = w->active;
    }
    if (me.linked) { /* an error, or a roll's sync, ended the wait */
        wal_waiter **pp = &w->waiters;
        while (*pp != &me)
            pp = &(*pp)->next;
        *pp = me.next;
        w->waiting--;
    }
    pthread_mutex_unlock(&w->mu);
    return rc;
}

int wal_sync(wal *w, uint64_t lsn)
{
    return wal_sync_common(w, lsn, 0);
}

int wal_sync_group(wal *w, uint64_t lsn)
{
    return wal_sync_common(w, lsn, 1);
}

void wal_group_enter(wal *w)
{
    pthread_mutex_lock(&w->mu);
    w->active++;
    pthread_mutex_unlock(&w->mu);
}

void wal_group_leave(wal *w)
{
    pthread_mutex_lock(&w->mu);
    w->active--;
    pthread_mutex_unlock(&w->mu);
}

static int wal_unlink_range(const wal_config *cfg, uint64_t first,
                            uint64_t last)
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

int wal_unlink_segments(const wal_config *cfg, uint64_t first, uint64_t last)
{
    int rc;

    cl_io_activity(cfg->io, CL_ACT_SEG_REMOVE, 1);
    rc = wal_unlink_range(cfg, first, last);
    cl_io_activity(cfg->io, CL_ACT_SEG_REMOVE, 0);
    return rc;
}

uint64_t wal_written(wal *w)
{
    uint64_t v;

    pthread_mutex_lock(&w->mu);
    v = w->appended;
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

void wal_stats_get(wal *w, wal_stats *st)
{
    pthread_mutex_lock(&w->mu);
    *st = w->st;
    pthread_mutex_unlock(&w->mu);
}
