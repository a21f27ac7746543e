/*
 * shadow_writer.c - the shadow log's format and its writer (see shadow.h for
 * its purpose; the reader is shadow_reader.c).
 *
 * FORMAT.  All integers little-endian.  A log is a header followed by
 * records, nothing else.
 *
 * Header:
 *   off  width  field
 *   0    8      magic "clshadow" (ASCII, no NUL)
 *   8    4      version, 2
 *   12   4      salt: chosen by the writer when it creates the log
 *   16   4      glen: length of the graveyard path, 0..4095 (0 = none)
 *   20   4      reserved, 0
 *   24   glen   graveyard directory path (no NUL)
 *   24+glen 4   CRC32C of bytes [0, 24+glen)
 *
 * Record (32-byte header, then N payload bytes):
 *   off  width  field
 *   0    4      crc: CRC32C of bytes [4, 32+N) of the record, continued from
 *               the CRC32C of the 4 salt bytes (crc32c_extend(crc32c(salt),
 *               ...)), so a record copied from another log does not verify
 *   4    4      N: payload length, <= 2^30
 *   8    8      seq: 1 for the first record, then +1 for each record
 *   16   8      point: the crashio I/O point that made the record, 0 if none
 *   24   1      type (shadow_type)
 *   25   1      flags: SYNC bit 0 = fdatasync; RENAME bit 0 = target
 *               existed; 0 for the other types
 *   26   6      reserved, 0
 *   32   N      payload, by type (str = le32 length L <= 4095, then L bytes
 *               with no NUL among them):
 *     WRITE        str path, le64 off, le64 len, le64 old_size,
 *                  le64 old_len, old_len old bytes (the bytes written
 *                  are not kept: they are the file's own from the write
 *                  until a later record's old bytes, which is where the
 *                  power-cut image builder takes them from; the part of
 *                  a failed write that reached the file is a write
 *                  record of its own after its FAILED record.  A file
 *                  written through a shared mapping, which no record
 *                  shows, is one a target declared not durable)
 *     TRUNCATE     str path, le64 old_size, le64 new_size, the bytes cut
 *                  (old_size - new_size of them when shrinking, else none)
 *     SYNC         str path, le64 covers
 *     FSYNC_FAILED str path, le64 covers, le32 errno
 *     CREATE       str path
 *     MKDIR        str path
 *     RENAME       str from, str to, str grave (L = 0: none)
 *     UNLINK       str path, str grave (L = 0: none)
 *     DIRSYNC      str path, le64 covers
 *     FAILED       le64 ref, le32 errno
 *
 * A record is valid iff (1) its 32-byte header lies within the file, (2) N
 * <= 2^30 and its payload lies within the file, (3) the CRC matches, (4) seq
 * is one more than the previous record's (1 for the first), (5) the type is
 * known, unused flag bits and the reserved bytes are 0, and the payload
 * decodes to exactly N bytes by the table above, with: WRITE len <= 2^30
 * and old_len = min(len, old_size - off) when off < old_size, else 0;
 * covers <= seq; FAILED ref < seq.
 *
 * Reading stops at the first record that is not valid.  It is a torn tail
 * (SHADOW_END) when it fails (1) or (2)'s "within the file", or fails (3)
 * and ends exactly at the end of the file: the writer appends each record
 * with one writev(2) and can die in the middle of one, which leaves a short
 * file, never bytes after a damaged record.  Anything else - a bad CRC with
 * data after it, an impossible length, a sequence gap, a malformed payload - is
 * SHADOW_CORRUPT: the writer cannot produce it, so something else damaged
 * the log, and the records after the damage cannot be trusted to resync.
 *
 * The log is created fresh (O_TRUNC) for every writer process, so stale
 * records of an older log cannot follow a torn tail; the salt is kept anyway
 * (STYLE rule 4) so that records spliced in from another log never verify.
 */
#include "shadow.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/uio.h>
#include <unistd.h>

#include "coding.h"
#include "crc32c.h"
#include "fsutil.h"
#include "rng.h"
#include "shadow_format.h"

/* ---- paths ---- */

char *shadow_path_norm(const char *path)
{
    size_t n = strlen(path), o = 0;
    char *out = malloc(n + 2);
    const char *p = path;

    if (out == NULL)
        return NULL;
    if (*p == '/')
        out[o++] = '/';
    while (*p != '\0') {
        const char *seg;
        size_t len;

        while (*p == '/')
            p++;
        seg = p;
        while (*p != '\0' && *p != '/')
            p++;
        len = (size_t)(p - seg);
        if (len == 0 || (len == 1 && seg[0] == '.'))
            continue;
        if (o > 0 && out[o - 1] != '/')
            out[o++] = '/';
        memcpy(out + o, seg, len);
        o += len;
    }
    if (o == 0)
        out[o++] = '.';
    out[o] = '\0';
    return out;
}

char *shadow_path_parent(const char *path)
{
    const char *slash = strrchr(path, '/');

    if (slash == NULL)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

const char *shadow_type_name(shadow_type t)
{
    switch (t) {
    case SHADOW_WRITE:
        return "write";
    case SHADOW_TRUNCATE:
        return "truncate";
    case SHADOW_SYNC:
        return "sync";
    case SHADOW_FSYNC_FAILED:
        return "fsync-failed";
    case SHADOW_CREATE:
        return "create";
    case SHADOW_MKDIR:
        return "mkdir";
    case SHADOW_RENAME:
        return "rename";
    case SHADOW_UNLINK:
        return "unlink";
    case SHADOW_DIRSYNC:
        return "dirsync";
    case SHADOW_FAILED:
        return "failed";
    }
    return "?";
}

/* ---- writer ---- */

struct shadow_writer {
    int fd;
    uint32_t salt;
    uint32_t salt_crc; /* crc32c of the 4 salt bytes */
    uint64_t next_seq;
    uint64_t len;  /* bytes in the file */
    int hold;      /* appends stay in held until a flush */
    uint8_t *held; /* records appended, not yet written */
    size_t nheld, capheld;
    pthread_mutex_t mu; /* serialises appends and next_seq */
};

/* Write v[0..n) with writev(2), looping over EINTR and short writes (v is
 * consumed). */
static int shadow_writev_all(int fd, struct iovec *v, int n)
{
    while (n > 0) {
        ssize_t got = writev(fd, v, n);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        if (got == 0)
            return ENOSPC;
        while (n > 0 && (size_t)got >= v->iov_len) {
            got -= (ssize_t)v->iov_len;
            v++;
            n--;
        }
        if (n > 0) {
            v->iov_base = (uint8_t *)v->iov_base + got;
            v->iov_len -= (size_t)got;
        }
    }
    return 0;
}

int shadow_writer_open(const char *path, const char *graveyard,
                       shadow_writer **out)
{
    size_t glen = graveyard ? strlen(graveyard) : 0;
    uint8_t hdr[SHADOW_HDR_FIXED + SHADOW_PATH_MAX + SHADOW_HDR_CRC_LEN];
    struct timespec ts;
    shadow_writer *w;
    char *gnorm = NULL;
    int rc;

    if (glen > 0) {
        gnorm = shadow_path_norm(graveyard);
        if (gnorm == NULL)
            return ENOMEM;
        glen = strlen(gnorm);
    }
    if (glen > SHADOW_PATH_MAX) {
        free(gnorm);
        return EINVAL;
    }
    w = calloc(1, sizeof(*w));
    if (w == NULL) {
        free(gnorm);
        return ENOMEM;
    }
    /* The salt only has to differ between logs; it plays no part in any
     * result, so it may come from the clock. */
    clock_gettime(CLOCK_REALTIME, &ts);
    w->salt =
        (uint32_t)rng_fmix((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^
                           ((uint64_t)getpid() << 40));
    w->next_seq = 1;
    w->fd = -1;
    pthread_mutex_init(&w->mu, NULL);

    memcpy(hdr, SHADOW_MAGIC, SHADOW_MAGIC_LEN);
    put_le32(hdr + SHADOW_HDR_OFF_VERSION, SHADOW_VERSION);
    put_le32(hdr + SHADOW_HDR_OFF_SALT, w->salt);
    w->salt_crc = crc32c(hdr + SHADOW_HDR_OFF_SALT, 4);
    put_le32(hdr + SHADOW_HDR_OFF_GLEN, (uint32_t)glen);
    put_le32(hdr + SHADOW_HDR_OFF_RSV, 0);
    if (glen > 0)
        memcpy(hdr + SHADOW_HDR_FIXED, gnorm, glen);
    put_le32(hdr + SHADOW_HDR_FIXED + glen,
             crc32c(hdr, SHADOW_HDR_FIXED + glen));
    free(gnorm);

    w->fd =
        open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (w->fd < 0) {
        rc = errno;
        goto fail;
    }
    rc = shadow_writev_all(
        w->fd,
        &(struct iovec){hdr, SHADOW_HDR_FIXED + glen + SHADOW_HDR_CRC_LEN}, 1);
    if (rc != 0)
        goto fail;
    w->len = SHADOW_HDR_FIXED + glen + SHADOW_HDR_CRC_LEN;
    *out = w;
    return 0;

fail:
    if (w->fd >= 0)
        close(w->fd);
    pthread_mutex_destroy(&w->mu);
    free(w);
    return rc;
}

int shadow_writer_continue(const char *path, const char *graveyard,
                           shadow_writer **out)
{
    shadow_reader *r = NULL;
    shadow_writer *w = NULL;
    shadow_rec rec;
    char *gnorm = NULL;
    uint8_t salt[4];
    int rc, got;

    if ((rc = shadow_reader_open_mapped(path, &r)) != 0)
        return rc;
    while ((got = shadow_next(r, &rec)) == SHADOW_OK)
        ;
    if (got == SHADOW_CORRUPT) {
        rc = EINVAL;
        goto out;
    }
    if (shadow_reader_valid_bytes(r) == 0) { /* no header: nothing in it */
        shadow_reader_close(r);
        return shadow_writer_open(path, graveyard, out);
    }
    if (graveyard != NULL && (gnorm = shadow_path_norm(graveyard)) == NULL) {
        rc = ENOMEM;
        goto out;
    }
    if (strcmp(gnorm != NULL ? gnorm : "", shadow_reader_graveyard(r)) != 0) {
        rc = EINVAL;
        goto out;
    }
    if ((w = calloc(1, sizeof(*w))) == NULL) {
        rc = ENOMEM;
        goto out;
    }
    w->salt = shadow_reader_salt(r);
    put_le32(salt, w->salt);
    w->salt_crc = crc32c(salt, 4);
    w->next_seq = shadow_reader_last_seq(r) + 1;
    w->len = shadow_reader_valid_bytes(r);
    pthread_mutex_init(&w->mu, NULL);
    w->fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (w->fd < 0 ||
        ftruncate(w->fd, (off_t)shadow_reader_valid_bytes(r)) != 0) {
        rc = errno;
        shadow_writer_close(w);
        w = NULL;
    }
out:
    free(gnorm);
    shadow_reader_close(r);
    if (w != NULL)
        *out = w;
    return rc;
}

/* Bytes a string field takes, or 0 when the string breaks the limits (too
 * long); NULL counts as the empty string. */
static size_t shadow_str_size(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    return n > SHADOW_PATH_MAX ? 0 : 4 + n;
}

static uint8_t *shadow_put_str(uint8_t *p, const char *s)
{
    size_t n = s ? strlen(s) : 0;

    put_le32(p, (uint32_t)n);
    if (n > 0)
        memcpy(p + 4, s, n);
    return p + 4 + n;
}

static uint8_t *shadow_put64(uint8_t *p, uint64_t v)
{
    put_le64(p, v);
    return p + 8;
}

/* The normalised copies of a record's paths, owned by the caller. */
typedef struct shadow_paths {
    char *path, *to, *grave;
} shadow_paths;

static void shadow_paths_free(shadow_paths *ps)
{
    free(ps->path);
    free(ps->to);
    free(ps->grave);
}

static int shadow_paths_norm(const shadow_rec *rec, shadow_paths *ps)
{
    memset(ps, 0, sizeof(*ps));
    if (rec->path && (ps->path = shadow_path_norm(rec->path)) == NULL)
        return ENOMEM;
    if (rec->to && (ps->to = shadow_path_norm(rec->to)) == NULL)
        return ENOMEM;
    if (rec->grave && rec->grave[0] != '\0' &&
        (ps->grave = shadow_path_norm(rec->grave)) == NULL)
        return ENOMEM;
    return 0;
}

/* Payload size of rec (with normalised paths ps), or 0 if it breaks the
 * format's limits. */
static size_t shadow_payload_size(const shadow_rec *rec, const shadow_paths *ps)
{
    size_t sp = ps->path ? shadow_str_size(ps->path) : 0;
    uint64_t n;

    if (rec->type != SHADOW_FAILED && (ps->path == NULL || sp == 0))
        return 0;
    switch (rec->type) {
    case SHADOW_WRITE:
        n = (uint64_t)sp + 32 + rec->old_len;
        break;
    case SHADOW_TRUNCATE:
        n = (uint64_t)sp + 16 + rec->old_len;
        break;
    case SHADOW_SYNC:
    case SHADOW_DIRSYNC:
        n = sp + 8;
        break;
    case SHADOW_FSYNC_FAILED:
        n = sp + 12;
        break;
    case SHADOW_CREATE:
    case SHADOW_MKDIR:
        n = sp;
        break;
    case SHADOW_RENAME: {
        size_t st = ps->to ? shadow_str_size(ps->to) : 0;
        size_t sg = shadow_str_size(ps->grave);
        if (st == 0 || sg == 0)
            return 0;
        n = sp + st + sg;
        break;
    }
    case SHADOW_UNLINK: {
        size_t sg = shadow_str_size(ps->grave);
        if (sg == 0)
            return 0;
        n = sp + sg;
        break;
    }
    case SHADOW_FAILED:
        n = 12;
        break;
    default:
        return 0;
    }
    return n > SHADOW_PAYLOAD_MAX ? 0 : (size_t)n;
}

/* Check the parts of rec that the reader's rule (5) checks, so the writer
 * never produces a record its reader would call corrupt. */
static int shadow_rec_consistent(const shadow_rec *rec)
{
    if (rec->type == SHADOW_WRITE) {
        uint64_t want = rec->off < rec->old_size ? rec->old_size - rec->off : 0;
        if (want > rec->len)
            want = rec->len;
        if (rec->old_len != want || rec->len > SHADOW_PAYLOAD_MAX ||
            (rec->old_len > 0 && !rec->old_bytes))
            return 0;
    }
    if (rec->type == SHADOW_TRUNCATE) {
        uint64_t cut =
            rec->new_size < rec->old_size ? rec->old_size - rec->new_size : 0;
        if (rec->old_len != cut || (cut > 0 && !rec->old_bytes))
            return 0;
    }
    return 1;
}

/* Append v[0..n) to w's held records (w->mu held). */
static int shadow_hold_add(shadow_writer *w, const struct iovec *v, int n)
{
    size_t need = w->nheld;

    for (int i = 0; i < n; i++)
        need += v[i].iov_len;
    if (need > w->capheld) {
        size_t cap = w->capheld ? w->capheld : 65536;
        uint8_t *p;
        while (cap < need)
            cap *= 2;
        if ((p = realloc(w->held, cap)) == NULL)
            return ENOMEM;
        w->held = p;
        w->capheld = cap;
    }
    for (int i = 0; i < n; i++) {
        memcpy(w->held + w->nheld, v[i].iov_base, v[i].iov_len);
        w->nheld += v[i].iov_len;
    }
    return 0;
}

int shadow_append(shadow_writer *w, shadow_rec *rec)
{
    shadow_paths ps;
    size_t n;
    /* The header and the payload's fixed part are built here; the data of
     * a write or a cut goes out from the caller's buffers (one writev per
     * record, its CRC continued over the pieces). */
    uint8_t *buf = NULL, *p;
    struct iovec v[2];
    int nv = 1;
    size_t data; /* payload bytes that go out from the caller's buffer */
    uint8_t flags = 0;
    uint64_t seq, total = 0;
    uint32_t crc;
    int rc;

    if ((rc = shadow_paths_norm(rec, &ps)) != 0)
        goto out;
    n = shadow_payload_size(rec, &ps);
    if (n == 0 || !shadow_rec_consistent(rec)) {
        rc = EINVAL;
        goto out;
    }
    data = rec->type == SHADOW_WRITE || rec->type == SHADOW_TRUNCATE
               ? (size_t)rec->old_len
               : 0;
    buf = malloc(SHADOW_REC_HDR + n - data);
    if (buf == NULL) {
        rc = ENOMEM;
        goto out;
    }
    p = buf + SHADOW_REC_HDR;
    switch (rec->type) {
    case SHADOW_WRITE:
        p = shadow_put_str(p, ps.path);
        p = shadow_put64(p, rec->off);
        p = shadow_put64(p, rec->len);
        p = shadow_put64(p, rec->old_size);
        p = shadow_put64(p, rec->old_len);
        if (rec->old_len > 0)
            v[nv++] = (struct iovec){(void *)rec->old_bytes, rec->old_len};
        break;
    case SHADOW_TRUNCATE:
        p = shadow_put_str(p, ps.path);
        p = shadow_put64(p, rec->old_size);
        p = shadow_put64(p, rec->new_size);
        if (rec->old_len > 0)
            v[nv++] = (struct iovec){(void *)rec->old_bytes, rec->old_len};
        break;
    case SHADOW_SYNC:
        flags = rec->datasync ? SHADOW_REC_FLAG_DATASYNC : 0;
        /* fall through */
    case SHADOW_DIRSYNC:
        p = shadow_put_str(p, ps.path);
        p = shadow_put64(p, rec->covers);
        break;
    case SHADOW_FSYNC_FAILED:
        p = shadow_put_str(p, ps.path);
        p = shadow_put64(p, rec->covers);
        put_le32(p, (uint32_t)rec->err);
        p += 4;
        break;
    case SHADOW_CREATE:
    case SHADOW_MKDIR:
        p = shadow_put_str(p, ps.path);
        break;
    case SHADOW_RENAME:
        flags = rec->to_existed ? SHADOW_REC_FLAG_TO_EXISTED : 0;
        p = shadow_put_str(p, ps.path);
        p = shadow_put_str(p, ps.to);
        p = shadow_put_str(p, ps.grave);
        break;
    case SHADOW_UNLINK:
        p = shadow_put_str(p, ps.path);
        p = shadow_put_str(p, ps.grave);
        break;
    case SHADOW_FAILED:
        p = shadow_put64(p, rec->ref);
        put_le32(p, (uint32_t)rec->err);
        p += 4;
        break;
    }
    if ((size_t)(p - buf) != SHADOW_REC_HDR + n - data) {
        rc = EINVAL;
        goto out;
    }
    v[0] = (struct iovec){buf, (size_t)(p - buf)};

    pthread_mutex_lock(&w->mu);
    seq = w->next_seq;
    if ((rec->type == SHADOW_SYNC || rec->type == SHADOW_DIRSYNC ||
         rec->type == SHADOW_FSYNC_FAILED) &&
        rec->covers > seq) {
        pthread_mutex_unlock(&w->mu);
        rc = EINVAL;
        goto out;
    }
    if (rec->type == SHADOW_FAILED && rec->ref >= seq) {
        pthread_mutex_unlock(&w->mu);
        rc = EINVAL;
        goto out;
    }
    put_le32(buf + SHADOW_REC_OFF_LEN, (uint32_t)n);
    put_le64(buf + SHADOW_REC_OFF_SEQ, seq);
    put_le64(buf + SHADOW_REC_OFF_POINT, rec->point);
    buf[SHADOW_REC_OFF_TYPE] = (uint8_t)rec->type;
    buf[SHADOW_REC_OFF_FLAGS] = flags;
    memset(buf + SHADOW_REC_OFF_RSV, 0, 6);
    crc = crc32c_extend(w->salt_crc, buf + 4, v[0].iov_len - 4);
    for (int i = 1; i < nv; i++)
        crc = crc32c_extend(crc, v[i].iov_base, v[i].iov_len);
    put_le32(buf + SHADOW_REC_OFF_CRC, crc);
    for (int i = 0; i < nv; i++)
        total += v[i].iov_len;
    rc = w->hold ? shadow_hold_add(w, v, nv) : shadow_writev_all(w->fd, v, nv);
    if (rc == 0 && !w->hold)
        w->len += total;
    /* The seq is used even when the write failed part-way: a later record
     * must not reuse it, and the reader stops at the damaged one anyway. */
    w->next_seq = seq + 1;
    pthread_mutex_unlock(&w->mu);
    if (rc == 0)
        rec->seq = seq;

out:
    free(buf);
    shadow_paths_free(&ps);
    return rc;
}

uint64_t shadow_next_seq(shadow_writer *w)
{
    uint64_t s;

    pthread_mutex_lock(&w->mu);
    s = w->next_seq;
    pthread_mutex_unlock(&w->mu);
    return s;
}

void shadow_writer_hold(shadow_writer *w)
{
    pthread_mutex_lock(&w->mu);
    w->hold = 1;
    pthread_mutex_unlock(&w->mu);
}

int shadow_writer_release(shadow_writer *w)
{
    int rc = shadow_writer_flush(w, UINT64_MAX);

    pthread_mutex_lock(&w->mu);
    if (rc == 0 && w->nheld == 0)
        w->hold = 0;
    pthread_mutex_unlock(&w->mu);
    return rc;
}

uint64_t shadow_writer_length(shadow_writer *w)
{
    uint64_t n;

    pthread_mutex_lock(&w->mu);
    n = w->len + w->nheld;
    pthread_mutex_unlock(&w->mu);
    return n;
}

int shadow_writer_flush(shadow_writer *w, uint64_t upto)
{
    size_t n;
    int rc = 0;

    pthread_mutex_lock(&w->mu);
    n = upto <= w->len             ? 0
        : upto - w->len < w->nheld ? (size_t)(upto - w->len)
                                   : w->nheld;
    if (n > 0 &&
        (rc = shadow_writev_all(w->fd, &(struct iovec){w->held, n}, 1)) == 0) {
        w->len += n;
        w->nheld -= n;
        memmove(w->held, w->held + n, w->nheld);
    }
    pthread_mutex_unlock(&w->mu);
    return rc;
}

int shadow_writer_reopen(shadow_writer *w, const char *path)
{
    return fs_reopen(w->fd, path);
}

void shadow_writer_close(shadow_writer *w)
{
    if (w == NULL)
        return;
    close(w->fd);
    pthread_mutex_destroy(&w->mu);
    free(w->held);
    free(w);
}
