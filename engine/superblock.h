/*
 * superblock.h - page 0 of the page file: two self-checking slots written
 * in turn, each naming the last checkpoint.  Layout in superblock.c.
 */
#ifndef CL_SUPERBLOCK_H
#define CL_SUPERBLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "crashlab.h"

#define SB_MAGIC 0x42534c43u /* "CLSB" */
#define SB_VERSION 1u
#define SB_SLOT_SIZE 512
#define SB_SLOT0_OFF 0
#define SB_SLOT1_OFF 2048
#define SB_OFF_RESERVED 56 /* to 511: zero (rule S5) */

typedef struct sb_state {
    uint64_t seq;        /* slot sequence number: higher is newer */
    uint32_t page_size;  /* bytes */
    uint64_t salt;       /* database salt */
    uint64_t ckpt_lsn;   /* replay starts here */
    uint64_t ckpt_segno; /* segment that starts at ckpt_lsn */
    uint64_t old_segno;  /* first segment the checkpoint may have left
                            behind: [old_segno, ckpt_segno) are garbage */
} sb_state;

/* Encode st into a slot image of SB_SLOT_SIZE bytes. */
void sb_encode(uint8_t *slot, const sb_state *st);
/* Decode a slot image (rules S1-S4).  @return 0 or CL_ECORRUPT (reason in
 * why). */
int sb_decode(const uint8_t *slot, sb_state *st, char *why, size_t whylen);
/* Read both slots from fd and pick the newest valid one.
 * @return 0; CL_ECORRUPT if neither is valid; an errno. */
int sb_read(const cl_io *io, int fd, const char *path, sb_state *st);
/* Write st into slot (st->seq % 2), which is not the slot of st->seq - 1:
 * the previous superblock survives a torn write of this one.  Not synced. */
int sb_write(const cl_io *io, int fd, const char *path, const sb_state *st);

#endif
