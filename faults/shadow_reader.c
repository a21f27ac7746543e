/*
 * shadow_reader.c - the shadow log's reader.  The format, its validity rules
 * and the classification of a bad record as a torn tail (SHADOW_END) or as
 * damage (SHADOW_CORRUPT) are specified at the top of shadow_writer.c.
 */
#include "shadow.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coding.h"
#include "crc32c.h"
#include "mapkeep.h"
#include "shadow_format.h"

enum { SHADOW_STATE_OPEN, SHADOW_STATE_END, SHADOW_STATE_CORRUPT };

struct shadow_reader {
    uint8_t *buf;  /* the whole file */
    size_t size;   /* bytes in buf */
    size_t bufcap; /* buf's mapping (mapkeep), or 0: the file's own pages
                      mapped (shadow_reader_open_mapped) */
    size_t pos;    /* offset of the next record */
    uint32_t salt; /* as the header has it */
    uint32_t salt_crc;
    uint64_t last_seq;
    int state;
    uint64_t torn;    /* bytes of torn tail ignored */
    char *strs;       /* NUL-terminated copies of the records' strings */
    size_t strscap;   /* strs's mapping (mapkeep) */
    size_t strs_used; /* bytes of strs in use (never more than size + 1) */
    char graveyard[SHADOW_PATH_MAX + 1];
    char reason[200];
};

/* The whole file at path in *buf (*size bytes, in a mapping of *cap from
 * mapkeep_take: a shadow log holds the old bytes of every write of a run,
 * megabytes that a power-cut image reads once per crash state).  The file
 * must not change while it is read: a shadow log is read after its writer
 * has died. */
static int shadow_read_file(const char *path, uint8_t **buf, size_t *size,
                            size_t *cap)
{
    struct stat st;
    uint8_t *b = NULL;
    size_t done = 0;
    int fd, rc = 0;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    if (fstat(fd, &st) != 0) {
        rc = errno;
        goto out;
    }
    b = mapkeep_take_written((size_t)st.st_size, cap);
    if (b == NULL) {
        rc = ENOMEM;
        goto out;
    }
    while (done < (size_t)st.st_size) {
        ssize_t n = read(fd, b + done, (size_t)st.st_size - done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = errno;
            goto out;
        }
        if (n == 0)
            break;
        done += (size_t)n;
    }
    *buf = b;
    *size = done;
    b = NULL;
out:
    mapkeep_give(b, *cap);
    close(fd);
    return rc;
}

/* The file at path mapped read-only in *buf (*size bytes; NULL when
 * empty), its pages mapped at once.  Returns 0 or an errno. */
static int shadow_map_file(const char *path, uint8_t **buf, size_t *size)
{
    struct stat st;
    void *b;
    int fd, rc = 0;

    *buf = NULL;
    *size = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    if (fstat(fd, &st) != 0)
        rc = errno;
    else if (st.st_size > 0) {
        b = mmap(NULL, (size_t)st.st_size, PROT_READ,
                 MAP_PRIVATE | MAP_POPULATE, fd, 0);
        if (b == MAP_FAILED)
            rc = errno;
        else {
            *buf = b;
            *size = (size_t)st.st_size;
        }
    }
    close(fd);
    return rc;
}

/* A header that is complete but wrong: the reader opens, and its first
 * shadow_next reports SHADOW_CORRUPT with the reason. */
static int shadow_bad_header(shadow_reader *r, const char *what,
                             shadow_reader **out)
{
    snprintf(r->reason, sizeof(r->reason), "header: %s", what);
    r->state = SHADOW_STATE_CORRUPT;
    *out = r;
    return 0;
}

/* shadow_reader_open, the file read into a kept buffer or (mapped) its
 * pages mapped. */
static int shadow_reader_open_how(const char *path, int mapped,
                                  shadow_reader **out)
{
    shadow_reader *r = calloc(1, sizeof(*r));
    uint32_t glen;
    int rc;

    if (r == NULL)
        return ENOMEM;
    rc = mapped ? shadow_map_file(path, &r->buf, &r->size)
                : shadow_read_file(path, &r->buf, &r->size, &r->bufcap);
    if (rc != 0)
        goto fail;
    r->strs = mapkeep_take(r->size + 1, &r->strscap);
    if (r->strs == NULL) {
        rc = ENOMEM;
        goto fail;
    }
    r->state = SHADOW_STATE_OPEN;
    if (r->size < SHADOW_HDR_FIXED) {
        /* The writer died while creating the log: no operation followed. */
        goto empty;
    }
    if (memcmp(r->buf, SHADOW_MAGIC, SHADOW_MAGIC_LEN) != 0)
        return shadow_bad_header(r, "bad magic", out);
    glen = get_le32(r->buf + SHADOW_HDR_OFF_GLEN);
    if (glen > SHADOW_PATH_MAX)
        return shadow_bad_header(r, "impossible graveyard length", out);
    if (r->size < SHADOW_HDR_FIXED + glen + SHADOW_HDR_CRC_LEN)
        goto empty;
    if (get_le32(r->buf + SHADOW_HDR_FIXED + glen) !=
        crc32c(r->buf, SHADOW_HDR_FIXED + glen))
        return shadow_bad_header(r, "bad CRC", out);
    if (get_le32(r->buf + SHADOW_HDR_OFF_VERSION) != SHADOW_VERSION ||
        get_le32(r->buf + SHADOW_HDR_OFF_RSV) != 0)
        return shadow_bad_header(r, "unknown version", out);
    memcpy(r->graveyard, r->buf + SHADOW_HDR_FIXED, glen);
    r->graveyard[glen] = '\0';
    r->salt = get_le32(r->buf + SHADOW_HDR_OFF_SALT);
    r->salt_crc = crc32c(r->buf + SHADOW_HDR_OFF_SALT, 4);
    r->pos = SHADOW_HDR_FIXED + glen + SHADOW_HDR_CRC_LEN;
    *out = r;
    return 0;

empty:
    r->state = SHADOW_STATE_END;
    r->torn = r->size;
    *out = r;
    return 0;

fail:
    shadow_reader_close(r);
    return rc;
}

int shadow_reader_open(const char *path, shadow_reader **out)
{
    return shadow_reader_open_how(path, 0, out);
}

int shadow_reader_open_mapped(const char *path, shadow_reader **out)
{
    return shadow_reader_open_how(path, 1, out);
}

/* A cursor over one payload; every get fails (sets bad) past its end. */
typedef struct shadow_cur {
    const uint8_t *p, *end;
    int bad;
} shadow_cur;

static uint64_t shadow_get64(shadow_cur *c)
{
    uint64_t v;

    if (c->bad || c->end - c->p < 8) {
        c->bad = 1;
        return 0;
    }
    v = get_le64(c->p);
    c->p += 8;
    return v;
}

static uint32_t shadow_get32(shadow_cur *c)
{
    uint32_t v;

    if (c->bad || c->end - c->p < 4) {
        c->bad = 1;
        return 0;
    }
    v = get_le32(c->p);
    c->p += 4;
    return v;
}

static const uint8_t *shadow_get_bytes(shadow_cur *c, uint64_t n)
{
    const uint8_t *b = c->p;

    if (c->bad || (uint64_t)(c->end - c->p) < n) {
        c->bad = 1;
        return NULL;
    }
    c->p += n;
    return b;
}

/* A string field as a NUL-terminated copy in r->strs; NULL (and c->bad) if
 * malformed.  Empty strings are returned as "". */
static const char *shadow_get_str(shadow_reader *r, shadow_cur *c)
{
    uint32_t n = shadow_get32(c);
    const uint8_t *b;
    char *s;

    if (c->bad || n > SHADOW_PATH_MAX) {
        c->bad = 1;
        return NULL;
    }
    b = shadow_get_bytes(c, n);
    if (b == NULL || memchr(b, '\0', n) != NULL) {
        c->bad = 1;
        return NULL;
    }
    /* Each string has a 4-byte length prefix on disk, so the copies (plus
     * their NULs) never need more room than the file itself. */
    s = r->strs + r->strs_used;
    memcpy(s, b, n);
    s[n] = '\0';
    r->strs_used += n + 1;
    return s;
}

static int shadow_corrupt(shadow_reader *r, const char *what)
{
    snprintf(r->reason, sizeof(r->reason), "record at offset %zu: %s", r->pos,
             what);
    r->state = SHADOW_STATE_CORRUPT;
    return SHADOW_CORRUPT;
}

static int shadow_torn(shadow_reader *r)
{
    r->torn = r->size - r->pos;
    r->state = SHADOW_STATE_END;
    return SHADOW_END;
}

/* Decode the payload of a record whose header and CRC are good (rule 5). */
static int shadow_decode(shadow_reader *r, const uint8_t *h, shadow_rec *rec)
{
    uint32_t n = get_le32(h + SHADOW_REC_OFF_LEN);
    uint8_t flags = h[SHADOW_REC_OFF_FLAGS];
    shadow_cur c = {h + SHADOW_REC_HDR, h + SHADOW_REC_HDR + n, 0};
    uint8_t allowed = 0;
    const char *g;

    memset(rec, 0, sizeof(*rec));
    rec->type = (shadow_type)h[SHADOW_REC_OFF_TYPE];
    rec->seq = get_le64(h + SHADOW_REC_OFF_SEQ);
    rec->point = get_le64(h + SHADOW_REC_OFF_POINT);
    for (int i = 0; i < 6; i++)
        if (h[SHADOW_REC_OFF_RSV + i] != 0)
            return shadow_corrupt(r, "reserved bytes not zero");
    switch (rec->type) {
    case SHADOW_WRITE: {
        uint64_t want;
        rec->path = shadow_get_str(r, &c);
        rec->off = shadow_get64(&c);
        rec->len = shadow_get64(&c);
        rec->old_size = shadow_get64(&c);
        rec->old_len = shadow_get64(&c);
        want = rec->off < rec->old_size ? rec->old_size - rec->off : 0;
        if (want > rec->len)
            want = rec->len;
        if (!c.bad && rec->old_len != want)
            return shadow_corrupt(r, "write: old_len does not match");
        rec->old_bytes = shadow_get_bytes(&c, rec->old_len);
        if (!c.bad && rec->len > SHADOW_PAYLOAD_MAX)
            return shadow_corrupt(r, "write: impossible length");
        if (!c.bad && rec->off + rec->len < rec->off)
            return shadow_corrupt(r, "write: range overflows");
        break;
    }
    case SHADOW_TRUNCATE:
        rec->path = shadow_get_str(r, &c);
        rec->old_size = shadow_get64(&c);
        rec->new_size = shadow_get64(&c);
        rec->old_len =
            rec->new_size < rec->old_size ? rec->old_size - rec->new_size : 0;
        rec->old_bytes = shadow_get_bytes(&c, rec->old_len);
        break;
    case SHADOW_SYNC:
        allowed = SHADOW_REC_FLAG_DATASYNC;
        rec->datasync = (flags & SHADOW_REC_FLAG_DATASYNC) != 0;
        /* fall through */
    case SHADOW_DIRSYNC:
        rec->path = shadow_get_str(r, &c);
        rec->covers = shadow_get64(&c);
        break;
    case SHADOW_FSYNC_FAILED:
        rec->path = shadow_get_str(r, &c);
        rec->covers = shadow_get64(&c);
        rec->err = (int)shadow_get32(&c);
        break;
    case SHADOW_CREATE:
    case SHADOW_MKDIR:
        rec->path = shadow_get_str(r, &c);
        break;
    case SHADOW_RENAME:
        allowed = SHADOW_REC_FLAG_TO_EXISTED;
        rec->to_existed = (flags & SHADOW_REC_FLAG_TO_EXISTED) != 0;
        rec->path = shadow_get_str(r, &c);
        rec->to = shadow_get_str(r, &c);
        g = shadow_get_str(r, &c);
        rec->grave = (g && g[0]) ? g : NULL;
        if (!c.bad && rec->to[0] == '\0')
            return shadow_corrupt(r, "rename: empty target");
        break;
    case SHADOW_UNLINK:
        rec->path = shadow_get_str(r, &c);
        g = shadow_get_str(r, &c);
        rec->grave = (g && g[0]) ? g : NULL;
        break;
    case SHADOW_FAILED:
        rec->ref = shadow_get64(&c);
        rec->err = (int)shadow_get32(&c);
        if (!c.bad && rec->ref >= rec->seq)
            return shadow_corrupt(r, "failed: ref not before the record");
        break;
    default:
        return shadow_corrupt(r, "unknown type");
    }
    if (flags & ~allowed)
        return shadow_corrupt(r, "unknown flags");
    if (c.bad)
        return shadow_corrupt(r, "payload too short or malformed");
    if (c.p != c.end)
        return shadow_corrupt(r, "payload longer than its fields");
    if (rec->type != SHADOW_FAILED && rec->path[0] == '\0')
        return shadow_corrupt(r, "empty path");
    if (rec->covers > rec->seq)
        return shadow_corrupt(r, "covers a record after itself");
    return SHADOW_OK;
}

int shadow_next(shadow_reader *r, shadow_rec *rec)
{
    const uint8_t *h;
    size_t left;
    uint32_t n;
    uint64_t seq;
    int rc;

    if (r->state == SHADOW_STATE_END)
        return SHADOW_END;
    if (r->state == SHADOW_STATE_CORRUPT)
        return SHADOW_CORRUPT;
    left = r->size - r->pos;
    if (left == 0) {
        r->state = SHADOW_STATE_END;
        return SHADOW_END;
    }
    if (left < SHADOW_REC_HDR) /* rule 1 */
        return shadow_torn(r);
    h = r->buf + r->pos;
    n = get_le32(h + SHADOW_REC_OFF_LEN);
    if (n > SHADOW_PAYLOAD_MAX) /* rule 2: not something a tear makes */
        return shadow_corrupt(r, "impossible payload length");
    if (left - SHADOW_REC_HDR < n) /* rule 2 */
        return shadow_torn(r);
    if (get_le32(h + SHADOW_REC_OFF_CRC) !=
        crc32c_extend(r->salt_crc, h + 4, SHADOW_REC_HDR - 4 + n)) {
        /* rule 3 */
        if (left == SHADOW_REC_HDR + (size_t)n)
            return shadow_torn(r);
        return shadow_corrupt(r, "bad CRC with records after it");
    }
    seq = get_le64(h + SHADOW_REC_OFF_SEQ);
    if (seq != r->last_seq + 1) /* rule 4 */
        return shadow_corrupt(r, "sequence gap");
    rc = shadow_decode(r, h, rec); /* rule 5 */
    if (rc != SHADOW_OK)
        return rc;
    r->last_seq = seq;
    r->pos += SHADOW_REC_HDR + n;
    return SHADOW_OK;
}

const char *shadow_reader_graveyard(const shadow_reader *r)
{
    return r->graveyard;
}

uint64_t shadow_reader_torn_bytes(const shadow_reader *r)
{
    return r->torn;
}

uint32_t shadow_reader_salt(const shadow_reader *r)
{
    return r->salt;
}

uint64_t shadow_reader_last_seq(const shadow_reader *r)
{
    return r->last_seq;
}

uint64_t shadow_reader_valid_bytes(const shadow_reader *r)
{
    return r->size - r->torn;
}

const char *shadow_reader_reason(const shadow_reader *r)
{
    return r->reason;
}

void shadow_reader_close(shadow_reader *r)
{
    if (r == NULL)
        return;
    if (r->bufcap == 0 && r->buf != NULL)
        munmap(r->buf, r->size);
    else
        mapkeep_give(r->buf, r->bufcap);
    mapkeep_give(r->strs, r->strscap);
    free(r);
}
