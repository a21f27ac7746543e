/*
 * superblock.c - the two superblock slots in page 0 of the page file.
 *
 * Page 0 holds two 512-byte slots, slot 0 at byte 0 and slot 1 at byte
 * 2048 (never in the same 512-byte sector); the rest of the page is zero
 * (written at creation and never again; cl_check reports any other byte).
 * A checkpoint with sequence number n writes slot n % 2, leaving slot
 * (n - 1) % 2, the previous checkpoint, untouched.  A power cut during the
 * write can tear only the slot being written, whose CRC then fails, so
 * open falls back to the other one: the checkpoint before, whose log
 * segments are still there because segments are dropped only after the new
 * slot is durable.  Open takes the valid slot with the higher seq.
 *
 * Slot layout, all integers little-endian:
 *   offset size field
 *        0    4 crc         CRC-32C of bytes [4, 512) of the slot
 *        4    4 magic       0x42534c43 ("CLSB")
 *        8    4 version     1
 *       12    4 page_size   bytes: power of two, 4096..65536
 *       16    8 seq         sequence number, >= 1
 *       24    8 salt        database salt (seeds page and log CRCs)
 *       32    8 ckpt_lsn    LSN where recovery starts replaying
 *       40    8 ckpt_segno  number of the log segment starting at ckpt_lsn
 *       48    8 old_segno   first segment of the previous checkpoint: the
 *                           segments [old_segno, ckpt_segno) are no longer
 *                           needed and are removed after the slot is durable
 *       56  456 -           zero
 * A slot is valid iff: S1 its crc matches; S2 magic and version match;
 * S3 page_size is a power of two in range; S4 seq >= 1 and
 * 1 <= old_segno <= ckpt_segno; S5 bytes 56-511 are zero (sb_decode); and
 * S6 seq % 2 is the slot's number (sb_read: the engine writes seq n only
 * to slot n % 2).  So two valid slots never hold the same seq, and open
 * has no tie to break: it takes the higher one.
 */
#include "superblock.h"

#include <stdio.h>
#include <string.h>

#include "coding.h"
#include "crc32c.h"
#include "errors.h"
#include "page.h"
#include "page_format.h"

void sb_encode(uint8_t *slot, const sb_state *st)
{
    memset(slot, 0, SB_SLOT_SIZE);
    put_le32(slot + 4, SB_MAGIC);
    put_le32(slot + 8, SB_VERSION);
    put_le32(slot + 12, st->page_size);
    put_le64(slot + 16, st->seq);
    put_le64(slot + 24, st->salt);
    put_le64(slot + 32, st->ckpt_lsn);
    put_le64(slot + 40, st->ckpt_segno);
    put_le64(slot + 48, st->old_segno);
    put_le32(slot, crc32c(slot + 4, SB_SLOT_SIZE - 4));
}

int sb_decode(const uint8_t *slot, sb_state *st, char *why, size_t whylen)
{
    sb_state s;

    if (get_le32(slot) != crc32c(slot + 4, SB_SLOT_SIZE - 4)) { /* S1 */
        snprintf(why, whylen, "CRC mismatch");
        return CL_ECORRUPT;
    }
    if (get_le32(slot + 4) != SB_MAGIC || get_le32(slot + 8) != SB_VERSION) {
        snprintf(why, whylen, "bad magic or version"); /* S2 */
        return CL_ECORRUPT;
    }
    s.page_size = get_le32(slot + 12);
    s.seq = get_le64(slot + 16);
    s.salt = get_le64(slot + 24);
    s.ckpt_lsn = get_le64(slot + 32);
    s.ckpt_segno = get_le64(slot + 40);
    s.old_segno = get_le64(slot + 48);
    if (s.page_size < PG_SIZE_MIN || s.page_size > PG_SIZE_MAX ||
        (s.page_size & (s.page_size - 1)) != 0) { /* S3 */
        snprintf(why, whylen, "bad page size %u", s.page_size);
        return CL_ECORRUPT;
    }
    if (s.seq == 0 || s.old_segno == 0 || s.old_segno > s.ckpt_segno) {
        snprintf(why, whylen, "bad sequence or segment numbers"); /* S4 */
        return CL_ECORRUPT;
    }
    if (!page_is_zero(slot + SB_OFF_RESERVED, SB_SLOT_SIZE - SB_OFF_RESERVED)) {
        snprintf(why, whylen, "nonzero reserved bytes"); /* S5 */
        return CL_ECORRUPT;
    }
    *st = s;
    return 0;
}

int sb_read(const cl_io *io, int fd, const char *path, sb_state *st)
{
    static const uint64_t offs[2] = {SB_SLOT0_OFF, SB_SLOT1_OFF};
    uint8_t slot[SB_SLOT_SIZE];
    sb_state s[2];
    char why[2][64];
    int ok[2] = {0, 0};

    for (int i = 0; i < 2; i++) {
        size_t got = 0;
        int rc = io->pread(io->ctx, fd, slot, sizeof(slot), offs[i], &got);
        if (rc != 0)
            return err_set(rc, "%s: cannot read the superblock", path);
        if (got < sizeof(slot)) {
            snprintf(why[i], sizeof(why[i]), "file too short");
            continue;
        }
        ok[i] = sb_decode(slot, &s[i], why[i], sizeof(why[i])) == 0;
        if (ok[i] && s[i].seq % 2 != (uint64_t)i) { /* S6 */
            snprintf(why[i], sizeof(why[i]),
                     "sequence number %llu belongs in the other slot",
                     (unsigned long long)s[i].seq);
            ok[i] = 0;
        }
    }
    if (!ok[0] && !ok[1])
        return err_set_at(CL_ECORRUPT, CL_ERRK_SUPERBLOCK, path, 0, 0,
                          "%s: both superblock slots are invalid (slot 0 at "
                          "offset 0: %s; slot 1 at offset 2048: %s)",
                          path, why[0], why[1]);
    if (ok[0] && ok[1] && s[0].salt != s[1].salt)
        return err_set_at(CL_ECORRUPT, CL_ERRK_SUPERBLOCK, path, 0, 0,
                          "%s: the superblock slots belong to different "
                          "databases",
                          path);
    if (ok[0] && (!ok[1] || s[0].seq > s[1].seq))
        *st = s[0];
    else
        *st = s[1];
    return 0;
}

int sb_write(const cl_io *io, int fd, const char *path, const sb_state *st)
{
    uint8_t slot[SB_SLOT_SIZE];
    int rc;

    sb_encode(slot, st);
    cl_io_activity(io, CL_ACT_SB_WRITE, 1);
    rc = io->pwrite(io->ctx, fd, slot, sizeof(slot),
                    st->seq % 2 ? SB_SLOT1_OFF : SB_SLOT0_OFF);
    cl_io_activity(io, CL_ACT_SB_WRITE, 0);
    if (rc != 0)
        return err_set(rc, "%s: superblock write failed", path);
    return 0;
}
