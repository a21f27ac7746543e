/*
 * page_format.h - the common header of every page of the page file (page 0,
 * the superblock, excepted: see superblock.c).
 *
 * A page is page_size bytes (a power of two, 4096..65536, fixed at creation
 * and recorded in the superblock) at file offset pgno * page_size.
 * All integers little-endian.
 *
 *   offset size field
 *        0    4 crc    CRC-32C, seeded with the database salt (see
 *                      page_seal), of bytes [4, page_size)
 *        4    4 pgno   this page's number: catches misdirected writes
 *        8    8 lsn    end LSN of the last log record that changed the page
 *       16    1 type   PG_TYPE_*
 *       17    7 -      owned by the page type (B+tree node fields, ...)
 *       24      body   owned by the page type
 *
 * Validity rules (page_verify):
 *   P1. a page whose page_size bytes are all zero is a blank page: never
 *       written (a hole, or past the end of the file); it is valid, with
 *       type PG_TYPE_BLANK and lsn 0;
 *   P2. otherwise crc must equal the CRC-32C of bytes [4, page_size) seeded
 *       with the salt, pgno must equal the page's position, and type must be
 *       a known PG_TYPE_*; anything else is a torn or corrupt page.
 *
 * The log records changes to bytes [PG_LOG_OFF, page_size) (type and body);
 * crc and lsn are set when the page is written or replayed, pgno never
 * changes.
 */
#ifndef CL_PAGE_FORMAT_H
#define CL_PAGE_FORMAT_H

#include <assert.h>
#include <stdint.h>

#define PG_OFF_CRC 0
#define PG_OFF_PGNO 4
#define PG_OFF_LSN 8
#define PG_OFF_TYPE 16
#define PG_LOG_OFF 16  /* first byte covered by the log's page changes */
#define PG_HDR_SIZE 24 /* first byte of the body */

#define PG_SIZE_MIN 4096u
#define PG_SIZE_MAX 65536u
#define PG_SIZE_DEFAULT 4096u

#define PG_TYPE_BLANK 0    /* never written */
#define PG_TYPE_META 1     /* page 1: root, page count, free list */
#define PG_TYPE_FREE 2     /* on the free list */
#define PG_TYPE_LEAF 3     /* B+tree leaf */
#define PG_TYPE_BRANCH 4   /* B+tree internal node */
#define PG_TYPE_OVERFLOW 5 /* part of a large value */
#define PG_TYPE_MAX 5

#define PG_SUPERBLOCK 0 /* page number of the superblock */
#define PG_META 1       /* page number of the meta page */
#define PG_FIRST_DATA 2 /* first page number that pg_alloc can return */

/*
 * Meta page (page 1) body:
 *   24  4 magic   PG_META_MAGIC
 *   28  4 root    page number of the B+tree root, 0 for an empty tree
 *   32  4 npages  pages in the database: numbers 0..npages-1 exist
 *   36  4 free    first page of the free list, 0 when empty
 *   40  8 nfree   pages on the free list
 *   48  8 nkeys   keys in the B+tree
 * Free page body:
 *   24  4 next    next page of the free list, 0 at the end
 */
#define PG_META_MAGIC 0x544d4c43u /* "CLMT" */
#define PG_META_OFF_MAGIC 24
#define PG_META_OFF_ROOT 28
#define PG_META_OFF_NPAGES 32
#define PG_META_OFF_FREE 36
#define PG_META_OFF_NFREE 40
#define PG_META_OFF_NKEYS 48
#define PG_FREE_OFF_NEXT 24

static_assert(PG_HDR_SIZE == 24, "page header layout");
static_assert(PG_META_OFF_NKEYS + 8 <= 64, "meta fields fit early in page");

#endif
