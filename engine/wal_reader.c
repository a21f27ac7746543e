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
 */
#include <stdio.h>
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

/* Check the record at offset x against rules R2-R6 (and R9).  Returns 1 if
 * valid (rec filled), 0 if not (reason in why when why != NULL), -1 if it
 * is a whole record this version cannot read (R9).  With later != NULL (the
 * look-ahead of R7) a record whose synced is not above *later is rejected
 * before its CRC is computed: the look-ahead tries every 8-aligned offset
 * of the rest of the segment, and a CRC over each one's claimed length
 * would make a crafted segment cost quadratic time.  (A header whose
 * synced lies in (*later, lsn] is still checksummed over its claimed
 * length: a segment crafted with many of those still costs a CRC each.) */
static int wal_rec_valid(const wal_cursor *c, uint64_t x, wal_record *rec,
                         const uint64_t *later, char *why, size_t whylen)
{
    const uint8_t *h = c->buf + (x - c->base);
    uint64_t lsn = c->hdr.start_lsn + (x - WAL_SEG_HDR_SIZE);
    uint64_t left = c->base + c->len - x; /* bytes from x to the end */
    uint32_t len;

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
    len = get_le32(h + WAL_RH_OFF_LEN);
    if (h[WAL_RH_OFF_TYPE] != WAL_TXN || len > WAL_MAX_PAYLOAD) { /* R4 */
        if (why)
            snprintf(why, whylen, "bad record type %u or length %u",
                     h[WAL_RH_OFF_TYPE], len);
        return 0;
    }
    if (left < wal_rec_size(len)) {
        if (why)
            snprintf(why, whylen,
                     "truncated record (needs %llu bytes, %llu left)",
                     (unsigned long long)wal_rec_size(len),
                     (unsigned long long)left);
        return 0;
    }
    if (later != NULL && (get_le64(h + WAL_RH_OFF_SYNCED) <= *later ||
                          get_le64(h + WAL_RH_OFF_SYNCED) > lsn))
        return 0; /* cannot prove anything under R7 (or breaks R6) */
    if (get_le32(h + WAL_RH_OFF_CRC) !=
        crc32c_extend(c->crc_seed, h + 4, WAL_REC_HDR_SIZE - 4 + len)) {
        if (why) /* R5 */
            snprintf(why, whylen, "record CRC mismatch");
        return 0;
    }
    if (get_le64(h + WAL_RH_OFF_SYNCED) > lsn) { /* R6 */
        if (why)
            snprintf(why, whylen, "record claims a durable point past itself");
        return 0;
    }
    if (!page_is_zero(h + WAL_RH_OFF_RESERVED,
                      WAL_REC_HDR_SIZE - WAL_RH_OFF_RESERVED)) {
        if (why) /* R9 */
            snprintf(why, whylen,
                     "record with nonzero reserved header bytes (not "
                     "written by log version %u)",
                     WAL_VERSION);
        return -1;
    }
    if (rec != NULL) {
        rec->type = h[WAL_RH_OFF_TYPE];
        rec->lsn = lsn;
        rec->end_lsn = lsn + wal_rec_size(len);
        rec->synced = get_le64(h + WAL_RH_OFF_SYNCED);
        rec->offset = x;
        rec->data = h + WAL_REC_HDR_SIZE;
        rec->len = len;
    }
    return 1;
}

enum wal_next wal_cursor_next(wal_cursor *c, wal_record *rec, char *why,
                              size_t whylen)
{
    uint64_t bad_lsn;
    wal_record later;

    if (c->off >= c->base + c->len) /* R1 */
        return WAL_NEXT_EOF;
    switch (wal_rec_valid(c, c->off, rec, NULL, why, whylen)) {
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
    bad_lsn = c->hdr.start_lsn + (c->off - WAL_SEG_HDR_SIZE);
    for (uint64_t y = c->off + WAL_ALIGN;
         y + WAL_REC_HDR_SIZE <= c->base + c->len; y += WAL_ALIGN) {
        if (wal_rec_valid(c, y, &later, &bad_lsn, NULL, 0) == 1) {
            size_t n = strlen(why);
            snprintf(why + n, whylen - n,
                     ", and the valid record at offset %llu was written "
                     "after it was durable",
                     (unsigned long long)y);
            return WAL_NEXT_CORRUPT;
        }
    }
    return WAL_NEXT_TORN;
}
