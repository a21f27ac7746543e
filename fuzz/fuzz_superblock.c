/*
 * fuzz_superblock.c - the superblock slots (sb_decode, rules S1-S6 of
 * engine/superblock.c) and the choice between them (sb_read) on arbitrary
 * bytes.
 *
 * Input: the first bytes of a page file (slot 0 at offset 0, slot 1 at
 * 2048; a shorter input is a short file).  The FZ_FIXCRC variant
 * recomputes the CRC of each slot the input holds completely.
 *
 * Properties: no crash; a slot that decodes re-encodes (sb_encode) to a
 * slot that decodes to the same fields; sb_read succeeds exactly when a
 * slot decodes with a sequence number of its slot's parity (S6) and the
 * two valid slots agree on the salt, and then returns the valid slot with
 * the higher sequence number (never a tie: S6).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crashlab.h"
#include "fuzz.h"
#include "memfs.h"
#include "superblock.h"

#define FZ_SB_FILE "/m/pages"

static int fz_sb_same(const sb_state *a, const sb_state *b)
{
    return a->seq == b->seq && a->page_size == b->page_size &&
           a->salt == b->salt && a->ckpt_lsn == b->ckpt_lsn &&
           a->ckpt_segno == b->ckpt_segno && a->old_segno == b->old_segno;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t offs[2] = {SB_SLOT0_OFF, SB_SLOT1_OFF};
    uint8_t *buf, slot[SB_SLOT_SIZE];
    sb_state s[2], again, got;
    int ok[2] = {0, 0}, rc, fd = -1;
    char why[64];
    memfs *m = NULL;
    const cl_io *io;

    if (size > 65536)
        return 0;
    if ((buf = malloc(size > 0 ? size : 1)) == NULL)
        return 0;
    memcpy(buf, data, size);
    for (int i = 0; i < 2; i++) {
        if (size < offs[i] + SB_SLOT_SIZE)
            continue;
        if (FZ_FIX)
            fz_fix_sb_slot(buf + offs[i]);
        why[0] = '\0';
        ok[i] = sb_decode(buf + offs[i], &s[i], why, sizeof(why)) == 0;
        if (!ok[i]) {
            fz_require(why[0] != '\0', "slot %d: no reason given", i);
            continue;
        }
        sb_encode(slot, &s[i]);
        fz_require(sb_decode(slot, &again, why, sizeof(why)) == 0 &&
                       fz_sb_same(&s[i], &again),
                   "slot %d does not survive re-encoding", i);
        ok[i] = s[i].seq % 2 == (uint64_t)i; /* S6, sb_read's rule */
    }

    if ((m = memfs_new(FZ_MEM_MAX)) == NULL)
        goto out;
    io = memfs_table(m);
    if (memfs_put(m, FZ_SB_FILE, buf, size) != 0 ||
        io->open(io->ctx, FZ_SB_FILE, CL_IO_RDONLY, &fd) != 0)
        goto out;
    rc = sb_read(io, fd, FZ_SB_FILE, &got);
    if (!ok[0] && !ok[1]) {
        fz_require(rc == CL_ECORRUPT, "no valid slot, sb_read gave %d", rc);
    } else if (ok[0] && ok[1] && s[0].salt != s[1].salt) {
        fz_require(rc == CL_ECORRUPT, "slots of two databases accepted");
    } else {
        const sb_state *want =
            ok[0] && (!ok[1] || s[0].seq > s[1].seq) ? &s[0] : &s[1];
        fz_require(rc == 0 && fz_sb_same(&got, want),
                   "sb_read gave %d, or not the newest valid slot", rc);
        if (ok[0] && ok[1])
            fz_require(got.seq > s[0].seq || got.seq > s[1].seq,
                       "sb_read picked the older slot, or two valid slots "
                       "hold one seq");
    }
    io->close(io->ctx, fd);
out:
    memfs_free(m);
    free(buf);
    return 0;
}
