/*
 * fuzz.h - helpers shared by the fuzz targets of fuzz/, by the replay
 * driver that runs them without libFuzzer (replay.c) and by the corpus
 * generator (mkcorpus.c).
 *
 * Every target defines LLVMFuzzerTestOneInput and checks one property: the
 * decoder under test never crashes, hangs, leaks or trips a sanitizer on
 * any input, reports damage as an error code, and, where the input decodes,
 * what it returns is consistent (fz_require aborts otherwise, which
 * libFuzzer records as a crash).
 *
 * A target built with -DFZ_FIXCRC is the structure-aware variant: before
 * decoding it recomputes the checksums of the structures it finds in the
 * input (fz_fix_*), so mutations of the fields behind a CRC reach the
 * decoder's later rules instead of all failing the CRC check.
 */
#ifndef CL_FUZZ_H
#define CL_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "cl_io.h"

/* The entry point libFuzzer (or replay.c) calls with one input. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 1 in the structure-aware (checksum-fixing) build of a target. */
#ifdef FZ_FIXCRC
#define FZ_FIX 1
#else
#define FZ_FIX 0
#endif

/* Abort with a message naming the broken property unless cond holds. */
#define fz_require(cond, ...)                                                  \
    do {                                                                       \
        if (!(cond))                                                           \
            fz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);                   \
    } while (0)
_Noreturn void fz_fail(const char *file, int line, const char *cond,
                       const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Page size from a selector byte: 4096 << (sel % 5). */
uint32_t fz_page_size(uint8_t sel);

/* A cursor that consumes an input from the front; reads past the end give
 * zeros. */
typedef struct fz_in {
    const uint8_t *p;
    size_t left; /* bytes */
} fz_in;
uint8_t fz_u8(fz_in *in);
uint32_t fz_le32(fz_in *in);
uint64_t fz_le64(fz_in *in);
/* Take up to n bytes.  OUT: *got, bytes actually taken. */
const uint8_t *fz_bytes(fz_in *in, size_t n, size_t *got);

/* A private scratch directory, crashlab-fuzz-<pid>-XXXXXX under /dev/shm
 * when it exists (else $TMPDIR or /tmp), made on first use and removed at
 * exit; those of processes that died without exiting are removed then. */
const char *fz_scratch(void);
/* Remove every file in directory dir (not recursive; silent). */
void fz_clear_dir(const char *dir);
/* Write a whole file.  Returns 0 or an errno. */
int fz_write_file(const char *path, const void *buf, size_t len);

/* The drivers run the engine's parts on memfs (faults/memfs.h): fast
 * and deterministic, no system call per input.  A file may not grow past
 * FZ_MEM_MAX bytes (EFBIG). */
#define FZ_MEM_MAX (32u << 20)

/* ---------------------------------------------------------------------- */
/* checksum fixing (structure-aware variants)                             */
/* ---------------------------------------------------------------------- */

/* Log segment: when it has a full header, set its salt field to the value
 * rule H5 wants for its own segno, db_salt and start_lsn fields and its
 * CRC; then walk the records from offset 64 and recompute the CRC of each
 * one whose length fits, stopping at the first that does not. */
void fz_fix_segment(uint8_t *buf, size_t len);
/* Superblock slot (SB_SLOT_SIZE bytes): recompute the CRC. */
void fz_fix_sb_slot(uint8_t *slot);
/* Page: unless blank, recompute the CRC for seed crc_seed (the page number
 * field is left alone, so misdirected pages stay detectable). */
void fz_fix_page(uint8_t *page, uint32_t page_size, uint32_t crc_seed);
/* Page file: fix both superblock slots, pick the newest valid one as open
 * would, and fix every page after page 0 with its salt and page size.
 * OUT: *page_size, *salt (0 when no slot is valid). */
void fz_fix_page_file(uint8_t *buf, size_t len, uint32_t *page_size,
                      uint64_t *salt);
/* Shadow log: fix the header CRC and the CRC of every record that fits. */
void fz_fix_shadow(uint8_t *buf, size_t len);

/* ---------------------------------------------------------------------- */
/* the image format of fuzz_open                                          */
/* ---------------------------------------------------------------------- */

/*
 * A database image, as the input of fuzz_open (and as written by mkcorpus):
 *   offset size field
 *        0    1 flags   FZ_OPEN_* below
 *        1    1 nseg    low 4 bits: number of log segments (0..15)
 *        2    8 segno   number of the first segment (le64); the others
 *                       follow consecutively
 *       10    4 plen    bytes of the page file "pages" (le32)
 *       14    4 dlen    bytes of the doublewrite file "dwb" (le32), used
 *                       only with FZ_OPEN_DWB_FILE
 *       18  4*n slen    bytes of each segment (le32)
 *   then the contents in that order: pages, dwb, segments.  Each length is
 * clipped to the bytes that remain; bytes left over after the last file
 * are appended to it (so a mutation that grows the input grows the last
 * file).  The page file is always written, possibly empty.
 */
#define FZ_OPEN_TORN_MASK 0x03  /* 0 default, 1 none, 2 fpw, 3 dwb */
#define FZ_OPEN_WRITE 0x04      /* write, checkpoint and reopen after */
#define FZ_OPEN_SMALL_POOL 0x08 /* 256 KiB buffer pool */
#define FZ_OPEN_DWB_FILE 0x10   /* a "dwb" file is present */
#define FZ_OPEN_HDR 18
#define FZ_OPEN_MAX_SEG 15

typedef struct fz_image {
    uint8_t flags;
    uint64_t segno; /* first segment */
    unsigned nseg;
    const uint8_t *pages, *dwb, *seg[FZ_OPEN_MAX_SEG];
    size_t plen, dlen, slen[FZ_OPEN_MAX_SEG]; /* bytes */
} fz_image;

/* Split an input into an image (pointers into data). */
void fz_image_parse(const uint8_t *data, size_t size, fz_image *img);
/* Encode an image.  Returns a malloc'd buffer (OUT: *len) or NULL. */
uint8_t *fz_image_pack(const fz_image *img, size_t *len);
/* The checksum fixing of fuzz_open's FZ_FIXCRC variant, in place: both
 * superblock slots, every page after page 0 and every doublewrite slot
 * (with the salt and page size of the newest valid slot), and each
 * segment (fz_fix_segment).  img must have been parsed from buf. */
void fz_image_fix(uint8_t *buf, const fz_image *img);
/* Write the image's files into directory dir (which must exist and should
 * be empty).  Returns 0 or an errno. */
int fz_image_write(const fz_image *img, const char *dir);

#endif
