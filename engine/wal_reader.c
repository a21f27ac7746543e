/*
 * wal_reader.c - decoding log segments, and the rules that tell a torn or
 * unsynced tail (normal after a crash: cut it off) from damage to durable
 * records (corruption: report it, never skip it).
 *
 * The byte layout of segment headers and records is documented in
 * wal_writer.c, which encodes them.
 *
 * Header validity (wal_seg_decode), a segment header is valid iff:
 *   H1. the file holds at least 64 bytes;
 *   H2. crc matches;
 *   H3. magic, version and hdrsize are as in wal_writer.c, and the
 *       reserved bytes 48-63 are zero;
 *   H4. segno equals the number in the file name;
 *   H5. db_salt equals the database's salt and salt equals
 *       wal_seg_salt(db_salt, segno, start_lsn).
 *
 * Record validity (wal_cursor_next), for the record at offset x:
 *   R1. x equal to the file length is the clean end of the segment;
 *   R2. a record needs 32 header bytes, not all zero;
 *   R3. lsn equals start_lsn + (x - 64): a record from elsewhere (an older
 *       incarnation, a misdirected write) never validates;
 *   R4. type is known, len <= 2^30 and x + 32 + padded len <= file length;
 *   R5. crc matches (the salt makes records of other segments fail);
 *   R6. synced <= lsn.
 *   R9. a record valid under R2-R6 whose reserved header bytes (25-31) are
 *       not zero was written whole by another version of the format: it is
 *       CORRUPT (refused, never cut off as a torn tail).
 *   A record breaking R2-R6 is invalid, and then:
 *   R7. if some later 8-aligned offset y of the same segment holds a record
 *       valid under R2-R6 whose synced is greater than the invalid
 *       record's LSN, the invalid record had been durable before that later
 *       record was written: it is damage, CORRUPT (never skipped);
 *   R8. otherwise the invalid record and everything after it are a torn or
 *       unsynced tail that a crash may leave: the log ends at x (TORN), and
 *       recovery cuts the file there.
 * Across segments (recovery.c): a segment is created only after the one
 * before it was fsynced, so a TORN segment followed by a segment with a
 * valid header is CORRUPT, and a segment whose start_lsn is not where the
 * previous one ended is CORRUPT.
 *
 * Why R7 is sound: the writer stamps each record with the durable point of
 * the log at the time it writes it.  A crash (even a power cut that keeps
 * any subset of unsynced sectors) can only damage bytes that were not yet
 * durable, so every record after damaged bytes was written while those
 * bytes were still unsynced: its synced field is at most their LSN.
 *
 * R7's look-ahead stays linear in the window: a header is checksummed
 * only if everything else about it could prove damage, and the CRCs of
 * the overlapping spans a crafted segment can claim come from prefix CRCs
 * of the window instead of a pass each (wal_span_crc).
 */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "crc32c.h"
#include "errors.h"
#include "page.h"
#include "wal.h"

int wal_seg_decode(const uint8_t *buf, uint64_t len, uint64_t segno,
                   uint64_t db_salt, wal_seg_hdr *hdr, char *why, size_t whylen)
{
    wal_seg_hdr h;

    if (len < WAL_SEG_HDR_SIZE) { /* H1 */
        snprintf(why, whylen, "segment header truncated (%llu bytes)",
                 (unsigned long long)len);
        return CL_ECORRUPT;
    }
    if (get_le32(buf + WAL_SH_OFF_CRC) !=
        crc32c(buf + 4, WAL_SEG_HDR_SIZE - 4)) { /* H2 */
        snprintf(why, whylen, "segment header CRC mismatch%s",
                 page_is_zero(buf, WAL_SEG_HDR_SIZE) ? " (zero-filled)" : "");
        return CL_ECORRUPT;
    }
    if (get_le32(buf + WAL_SH_OFF_MAGIC) != WAL_SEG_MAGIC ||
        get_le32(buf + WAL_SH_OFF_VERSION) != WAL_VERSION ||
        get_le32(buf + WAL_SH_OFF_HDRSIZE) != WAL_SEG_HDR_SIZE ||
        !page_is_zero(buf + WAL_SH_OFF_RESERVED,
                      WAL_SEG_HDR_SIZE - WAL_SH_OFF_RESERVED)) { /* H3 */
        snprintf(why, whylen, "not a version %u log segment", WAL_VERSION);
        return CL_ECORRUPT;
    }
    h.segno = get_le64(buf + WAL_SH_OFF_SEGNO);
    h.start_lsn = get_le64(buf + WAL_SH_OFF_START);
    h.db_salt = get_le64(buf + WAL_SH_OFF_DBSALT);
    h.salt = get_le64(buf + WAL_SH_OFF_SALT);
    if (h.segno != segno) { /* H4 */
        snprintf(why, whylen, "segment header says segment %llu",
                 (unsigned long long)h.segno);
        return CL_ECORRUPT;
    }
    if (h.db_salt != db_salt ||
        h.salt != wal_seg_salt(db_salt, segno, h.start_lsn)) { /* H5 */
        snprintf(why, whylen, "segment belongs to another database");
        return CL_ECORRUPT;
    }
    *hdr = h;
    return 0;
}

void wal_cursor_init(wal_cursor *c, const uint8_t *buf, uint64_t len,
                     const wal_seg_hdr *hdr)
{
    c->buf = buf;
    c->len = len;
    c->base = 0;
    c->off = WAL_SEG_HDR_SIZE;
    c->hdr = *hdr;
    c->crc_seed = wal_crc_seed(hdr->salt);
}

void wal_cursor_window(wal_cursor *c, const uint8_t *buf, uint64_t len,
                       uint64_t base)
{
    c->buf = buf;
    c->len = len;
    c->base = base;
}

/* The byte at file offset off, which the window holds. */
static const uint8_t *wal_at(const wal_cursor *c, uint64_t off)
{
    return c->buf + (off - c->base);
}

/* Check the header of the record at offset x against rules R2-R4: 1 if
 * they hold (OUT: *len, its payload length; the whole record then lies in
 * the window), 0 if not (reason in why when why != NULL). */
static int wal_rec_header(const wal_cursor *c, uint64_t x, uint32_t *len,
                          char *why, size_t whylen)
{
    const uint8_t *h = wal_at(c, x);
    uint64_t lsn = c->hdr.start_lsn + (x - WAL_SEG_HDR_SIZE);
    uint64_t left = c->base + c->len - x; /* bytes from x to the end */
    uint32_t n;

    if (left < WAL_REC_HDR_SIZE) { /* R2 */
        if (why)
            snprintf(why, whylen, "truncated record header (%llu bytes)",
                     (unsigned long long)left);
        return 0;
    }
    if (get_le64(h + WAL_RH_OFF_LSN) != lsn) { /* R3, checked first: cheap */
        if (why)
            snprintf(why, whylen, "%s",
                     page_is_zero(h, WAL_REC_HDR_SIZE)
                         ? "zero-filled record header"
                         : "record LSN does not match its position");
        return 0;
    }
    n = get_le32(h + WAL_RH_OFF_LEN);
    if (h[WAL_RH_OFF_TYPE] != WAL_TXN || n > WAL_MAX_PAYLOAD) { /* R4 */
        if (why)
            snprintf(why, whylen, "bad record type %u or length %u",
                     h[WAL_RH_OFF_TYPE], n);
        return 0;
    }
    if (left < wal_rec_size(n)) {
        if (why)
            snprintf(
                why, whylen, "truncated record (needs %llu bytes, %llu left)",
                (unsigned long long)wal_rec_size(n), (unsigned long long)left);
        return 0;
    }
    *len = n;
    return 1;
}

/* Check the record at offset x against rules R2-R6 (and R9).  Returns 1 if
 * valid (rec filled), 0 if not (reason in why), -1 if it is a whole record
 * this version cannot read (R9). */
static int wal_rec_valid(const wal_cursor *c, uint64_t x, wal_record *rec,
                         char *why, size_t whylen)
{
    const uint8_t *h = wal_at(c, x);
    uint64_t lsn = c->hdr.start_lsn + (x - WAL_SEG_HDR_SIZE);
    uint32_t len;

    if (!wal_rec_header(c, x, &len, why, whylen))
        return 0;
    if (get_le32(h + WAL_RH_OFF_CRC) !=
        crc32c_extend(c->crc_seed, h + 4, WAL_REC_HDR_SIZE - 4 + len)) {
        snprintf(why, whylen, "record CRC mismatch"); /* R5 */
        return 0;
    }
    if (get_le64(h + WAL_RH_OFF_SYNCED) > lsn) { /* R6 */
        snprintf(why, whylen, "record claims a durable point past itself");
        return 0;
    }
    if (!page_is_zero(h + WAL_RH_OFF_RESERVED,
                      WAL_REC_HDR_SIZE - WAL_RH_OFF_RESERVED)) { /* R9 */
        snprintf(why, whylen,
                 "record with nonzero reserved header bytes (not "
                 "written by log version %u)",
                 WAL_VERSION);
        return -1;
    }
    rec->type = h[WAL_RH_OFF_TYPE];
    rec->lsn = lsn;
    rec->end_lsn = lsn + wal_rec_size(len);
    rec->synced = get_le64(h + WAL_RH_OFF_SYNCED);
    rec->offset = x;
    rec->data = h + WAL_REC_HDR_SIZE;
    rec->len = len;
    return 1;
}

/* For R7's look-ahead: 1 if the record at offset y would prove the record
 * whose LSN is bad_lsn damaged, provided its CRC matches (OUT: *end, the
 * file offset where the bytes its CRC covers end), else 0.  Everything but
 * the CRC is checked here, so that only such a record costs one: R2-R4,
 * then synced in (bad_lsn, lsn] (at or below bad_lsn it proves nothing,
 * above lsn it breaks R6), then zero reserved bytes (R9: a whole record of
 * another format is no proof either). */
static int wal_rec_could_prove(const wal_cursor *c, uint64_t y,
                               uint64_t bad_lsn, uint64_t *end)
{
    const uint8_t *h = wal_at(c, y);
    uint64_t lsn = c->hdr.start_lsn + (y - WAL_SEG_HDR_SIZE), synced;
    uint32_t len;

    if (!wal_rec_header(c, y, &len, NULL, 0))
        return 0;
    synced = get_le64(h + WAL_RH_OFF_SYNCED);
    if (synced <= bad_lsn || synced > lsn ||
        !page_is_zero(h + WAL_RH_OFF_RESERVED,
                      WAL_REC_HDR_SIZE - WAL_RH_OFF_RESERVED))
        return 0;
    *end = y + WAL_REC_HDR_SIZE + len;
    return 1;
}

/* The CRCs R7's look-ahead needs: of spans [y + 4, end) of the window,
 * each seeded with the segment's seed, asked for in increasing order of y.
 *
 * Spans are checksummed one by one while the bytes checksummed stay
 * within a budget, the window's length from the invalid record on.
 * Records that do not overlap (a real log after a torn or damaged record)
 * never use it up, so that case costs what it always did and allocates
 * nothing.  Overlapping spans can only be crafted, and a span past the
 * budget switches to prefix CRCs for itself and every later span: pre[j]
 * is the CRC (from 0) of the bytes [org, org + 8j), filled once as far as
 * the spans reach, and every span starts at org plus a multiple of 8 (y
 * steps by 8), so that with C(i) the CRC of [org, i)
 *
 *   crc32c_extend(seed, [a, b)) == crc32c_combine(seed ^ C(a), C(b), b - a)
 *
 * (crc32c.h), where C(a) = pre[(a - org) / 8] and C(b) extends the entry
 * at or below b by fewer than 8 bytes.  The CRC is the same number either
 * way, so the verdicts are those of checksumming every span; the cost is
 * at most twice the window plus 7 bytes per span checksummed, and a few
 * GF(2) multiplications per span, however the headers are crafted.  If
 * the prefix array cannot be allocated, spans stay checksummed one by one:
 * slow on a crafted segment, the same verdicts. */
typedef struct wal_spans {
    const wal_cursor *c;
    uint64_t budget; /* bytes still to checksum span by span */
    int direct;      /* 1: no memory for the prefix array */
    uint64_t org;    /* file offset of pre[0] */
    uint32_t *pre;   /* NULL until the budget runs out */
    uint64_t npre;   /* entries of pre filled */
} wal_spans;

/* The CRC of span [a, b) (see above).  a is at least the previous span's
 * start. */
static uint32_t wal_span_crc(wal_spans *s, uint64_t a, uint64_t b)
{
    const wal_cursor *c = s->c;
    uint64_t ja, jb;
    uint32_t cb;

    if (s->pre == NULL && !s->direct && b - a > s->budget) {
        uint64_t n = (c->base + c->len - a) / WAL_ALIGN + 1;
        s->pre = n <= SIZE_MAX / sizeof(*s->pre)
                     ? malloc((size_t)n * sizeof(*s->pre))
                     : NULL;
        s->direct = s->pre == NULL;
        s->org = a;
        if (s->pre != NULL)
            s->pre[0] = 0;
        s->npre = 1;
    }
    if (s->pre == NULL) {
        s->budget -= b - a > s->budget ? s->budget : b - a;
        return crc32c_extend(c->crc_seed, wal_at(c, a), b - a);
    }
    assert(a >= s->org && (a - s->org) % WAL_ALIGN == 0);
    ja = (a - s->org) / WAL_ALIGN;
    jb = (b - s->org) / WAL_ALIGN;
    for (; s->npre <= jb; s->npre++) {
        uint64_t at = s->org + (s->npre - 1) * WAL_ALIGN;
        s->pre[s->npre] =
            crc32c_extend(s->pre[s->npre - 1], wal_at(c, at), WAL_ALIGN);
    }
    cb = crc32c_extend(s->pre[jb], wal_at(c, s->org + jb * WAL_ALIGN),
                       (size_t)((b - s->org) % WAL_ALIGN));
    return crc32c_combine(c->crc_seed ^ s->pre[ja], cb, b - a);
}

/* R7: the first 8-aligned offset after the invalid record at c->off whose
 * record was written after that one was durable, or 0 if there is none in
 * the window (R8). */
static uint64_t wal_lookahead(const wal_cursor *c)
{
    uint64_t bad_lsn = c->hdr.start_lsn + (c->off - WAL_SEG_HDR_SIZE);
    uint64_t stop = c->base + c->len, found = 0, end;
    wal_spans sp = {c, stop - c->off, 0, 0, NULL, 0};

    for (uint64_t y = c->off + WAL_ALIGN; y + WAL_REC_HDR_SIZE <= stop;
         y += WAL_ALIGN) {
        if (wal_rec_could_prove(c, y, bad_lsn, &end) &&
            get_le32(wal_at(c, y) + WAL_RH_OFF_CRC) ==
                wal_span_crc(&sp, y + 4, end)) {
            found = y;
            break;
        }
    }
    free(sp.pre);
    return found;
}

enum wal_next wal_cursor_next(wal_cursor *c, wal_record *rec, char *why,
                              size_t whylen)
{
    uint64_t later;
    size_t n;

    if (c->off >= c->base + c->len) /* R1 */
        return WAL_NEXT_EOF;
    switch (wal_rec_valid(c, c->off, rec, why, whylen)) {
    case 1:
        c->off += wal_rec_size(rec->len);
        return WAL_NEXT_RECORD;
    case -1:
        return WAL_NEXT_CORRUPT; /* R9: intact, but not ours to skip */
    default:
        break;
    }
    /* R7/R8: is anything after the invalid record provably newer than
     * its durability? */
    if ((later = wal_lookahead(c)) == 0)
        return WAL_NEXT_TORN;
    n = strlen(why);
    snprintf(why + n, whylen - n,
             ", and the valid record at offset %llu was written "
             "after it was durable",
             (unsigned long long)later);
    return WAL_NEXT_CORRUPT;
}
