/*
 * fuzz_wal.c - the log segment reader (wal_seg_decode, wal_cursor_init,
 * wal_cursor_next; rules H1-H5 and R1-R9 of engine/wal_reader.c) on
 * arbitrary bytes.
 *
 * Input: le64 the segment number the file name gives, le64 the database
 * salt, then the segment file.  The FZ_FIXCRC variant first makes the
 * header's salt and CRC and the CRCs of the leading records valid
 * (fz_fix_segment).
 *
 * Properties: no crash, and for a header that decodes: every record the
 * cursor returns lies inside the file at the cursor's offset, has the LSN
 * its position gives, re-encodes (wal_rec_encode) to exactly the bytes the
 * CRC covers, and the cursor ends in EOF at the end of the file, or in
 * TORN or CORRUPT with a reason; after that it keeps answering the same.
 */
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "fuzz.h"
#include "wal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {data, size};
    uint64_t segno = fz_le64(&in), db_salt = fz_le64(&in);
    uint8_t *buf = malloc(in.left > 0 ? in.left : 1), *enc = NULL;
    uint64_t len = in.left, expect_off = WAL_SEG_HDR_SIZE;
    wal_seg_hdr hdr;
    wal_cursor cur;
    wal_record r;
    enum wal_next nx;
    char why[256];

    if (buf == NULL)
        return 0;
    memcpy(buf, in.p, in.left);
    if (FZ_FIX)
        fz_fix_segment(buf, len);
    why[0] = '\0';
    if (wal_seg_decode(buf, len, segno, db_salt, &hdr, why, sizeof(why)) != 0) {
        fz_require(why[0] != '\0', "a bad header must give a reason");
        goto out;
    }
    fz_require(hdr.segno == segno && hdr.db_salt == db_salt,
               "decoded header does not match what was asked for");
    wal_cursor_init(&cur, buf, len, &hdr);
    for (;;) {
        why[0] = '\0';
        nx = wal_cursor_next(&cur, &r, why, sizeof(why));
        if (nx != WAL_NEXT_RECORD)
            break;
        fz_require(r.offset == expect_off && r.offset % WAL_ALIGN == 0,
                   "record at offset %llu, cursor was at %llu",
                   (unsigned long long)r.offset,
                   (unsigned long long)expect_off);
        fz_require(r.offset + wal_rec_size(r.len) <= len &&
                       r.data == buf + r.offset + WAL_REC_HDR_SIZE,
                   "record at %llu runs past the file",
                   (unsigned long long)r.offset);
        fz_require(r.lsn == hdr.start_lsn + (r.offset - WAL_SEG_HDR_SIZE) &&
                       r.end_lsn == r.lsn + wal_rec_size(r.len) &&
                       r.synced <= r.lsn && r.type == WAL_TXN,
                   "record fields break R3/R6");
        fz_require(cur.off == r.offset + wal_rec_size(r.len),
                   "cursor did not move past the record");
        /* The record re-encodes to exactly its bytes, CRC and reserved
         * header bytes included (R9: the reader takes only zeros there). */
        enc = realloc(enc, wal_rec_size(r.len));
        fz_require(enc != NULL, "out of memory");
        wal_rec_encode(enc, wal_crc_seed(hdr.salt), r.type, r.lsn, r.synced,
                       r.data, r.len);
        fz_require(memcmp(enc, buf + r.offset, WAL_REC_HDR_SIZE + r.len) == 0,
                   "record at %llu does not re-encode to itself",
                   (unsigned long long)r.offset);
        expect_off = cur.off;
    }
    if (nx == WAL_NEXT_EOF)
        fz_require(cur.off == len, "EOF at %llu of %llu bytes",
                   (unsigned long long)cur.off, (unsigned long long)len);
    else
        fz_require((nx == WAL_NEXT_TORN || nx == WAL_NEXT_CORRUPT) &&
                       why[0] != '\0' && cur.off < len,
                   "cursor ended with %d at %llu without a reason", (int)nx,
                   (unsigned long long)cur.off);
    /* The cursor stays where it stopped. */
    fz_require(wal_cursor_next(&cur, &r, why, sizeof(why)) == nx,
               "a second call after the end answers differently");
out:
    free(enc);
    free(buf);
    return 0;
}
