/*
 * btree_format.h - offsets and size limits of the B+tree pages (leaf,
 * branch and overflow), shared by the tree code, its tests and fuzzers.
 * The layout and its validity rules are described byte by byte at the top
 * of btree.c.
 */
#ifndef CL_BTREE_FORMAT_H
#define CL_BTREE_FORMAT_H

#include <assert.h>

#include "crashlab.h"
#include "page_format.h"

/* Node pages (PG_TYPE_LEAF, PG_TYPE_BRANCH). */
#define BT_OFF_LEVEL 17  /* u8: 0 for a leaf */
#define BT_OFF_NCELLS 18 /* u16 */
#define BT_OFF_CSTART 20 /* u16: first byte of the cell area, 0 = page end */
#define BT_OFF_FRAG 22   /* u16: unused bytes inside the cell area */
#define BT_OFF_CHILD0 24 /* u32: branch leftmost child; leaf: zero */
#define BT_OFF_SLOTS 28  /* u16 slots, one per cell */
#define BT_SLOT_SIZE 2

/* Leaf cell: klen u16, vlen u32, flags u8, key, value or overflow page. */
#define BT_LEAF_HDR 7
#define BT_LEAF_OFF_KLEN 0
#define BT_LEAF_OFF_VLEN 2
#define BT_LEAF_OFF_FLAGS 6
#define BT_LEAF_F_OVERFLOW 0x01 /* the value is in an overflow chain */
#define BT_OVFL_REF 4           /* bytes of the first overflow page number */

/* Branch cell: klen u16, child u32, key. */
#define BT_BRANCH_HDR 6
#define BT_BRANCH_OFF_KLEN 0
#define BT_BRANCH_OFF_CHILD 2

/* Overflow pages (PG_TYPE_OVERFLOW). */
#define BT_OV_OFF_ZERO 17 /* u8: zero */
#define BT_OV_OFF_LEN 18  /* u16: value bytes on this page */
#define BT_OV_OFF_NEXT 20 /* u32: next page of the chain, 0 at the end */
#define BT_OV_OFF_DATA 24
#define BT_OV_CAP(ps) ((uint32_t)(ps)-BT_OV_OFF_DATA)

/* Highest branch level.  Every branch has at least two children, so a tree
 * of height h has at least 2^h pages: with 32-bit page numbers no valid tree
 * is taller. */
#define BT_MAX_LEVEL 32

/* Bytes of a node page available to slots and cells. */
#define BT_USABLE(ps) ((uint32_t)(ps)-BT_OFF_SLOTS)
/* Largest cell (without its slot): any three cells fit in one page, so a
 * full page plus one cell can always be split into two pages. */
#define BT_CELL_MAX(ps) (BT_USABLE(ps) / 3 - BT_SLOT_SIZE)
/* Largest leaf cell with an inline value, unless the value is no longer
 * than an overflow reference (a maximal key with a short value exceeds it
 * in 4 KiB pages).  At least four such cells fit a page. */
#define BT_LOCAL_MAX(ps) (BT_USABLE(ps) / 4 - BT_SLOT_SIZE)
/* Whether a value is stored inline in its leaf cell: when the cell is at
 * most BT_LOCAL_MAX bytes, or when an overflow reference would not make it
 * smaller. */
#define BT_INLINE(ps, klen, vlen)                                              \
    ((vlen) <= BT_OVFL_REF ||                                                  \
     BT_LEAF_HDR + (uint64_t)(klen) + (vlen) <= BT_LOCAL_MAX(ps))
/* A non-root node whose slots and cells take fewer bytes is merged with a
 * neighbour when the two fit in one page. */
#define BT_UNDERFULL(ps) (BT_USABLE(ps) / 4)

static_assert(BT_OFF_SLOTS == PG_HDR_SIZE + 4, "node header layout");
static_assert(BT_OV_OFF_DATA == PG_HDR_SIZE, "overflow header layout");
static_assert(BT_LEAF_HDR + CL_KEY_MAX + BT_OVFL_REF <=
                  BT_CELL_MAX(PG_SIZE_MIN),
              "a leaf cell with a maximal key and an overflow value fits");
static_assert(BT_BRANCH_HDR + CL_KEY_MAX <= BT_CELL_MAX(PG_SIZE_MIN),
              "three maximal separators fit in a branch page");
static_assert(BT_LEAF_HDR + CL_KEY_MAX + BT_OVFL_REF <=
                  BT_CELL_MAX(PG_SIZE_MIN),
              "a maximal key with a value of up to 4 bytes fits inline");
static_assert(PG_SIZE_MAX - 1 <= 0xffff, "cell offsets fit in 16 bits");
static_assert(BT_OV_CAP(PG_SIZE_MAX) <= 0xffff, "overflow len fits 16 bits");
static_assert(BT_USABLE(PG_SIZE_MAX) <= 0xffff, "frag fits in 16 bits");

#endif
