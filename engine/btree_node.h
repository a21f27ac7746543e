/*
 * btree_node.h - one B+tree node page in memory: loading with header
 * validation, decoding cells with bounds checks, and the few edits the tree
 * makes (insert, remove, truncate, append, compact).  Private to btree.c.
 * The byte layout is described at the top of btree.c.
 */
#ifndef CL_BTREE_NODE_H
#define CL_BTREE_NODE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "btree_format.h"
#include "coding.h"
#include "pager.h"

/* A pinned node page and its decoded header.  The header fields are kept in
 * step with the page by every edit below. */
typedef struct bt_node {
    pager *p;
    pg_page pg;      /* pinned; pg.data is the page */
    uint32_t psize;  /* bytes */
    uint32_t level;  /* 0 for a leaf */
    uint32_t n;      /* cells */
    uint32_t cstart; /* offset of the cell area (ps when empty) */
    uint32_t frag;   /* bytes of the cell area used by no cell */
} bt_node;

/* A decoded cell.  Pointers point into the page and live as long as the pin
 * and until the next edit of the node. */
typedef struct bt_cell {
    const uint8_t *key;
    uint32_t klen;      /* bytes */
    const uint8_t *val; /* leaf with inline value: the value, else NULL */
    uint32_t vlen;      /* leaf: value length in bytes */
    uint32_t ovfl;      /* leaf: first overflow page, 0 when inline */
    uint32_t child;     /* branch: page right of the separator */
    uint32_t off;       /* offset of the cell in the page */
    uint32_t size;      /* bytes the cell occupies (slot excluded) */
} bt_cell;

/* Pin page pgno as a node and check its header (rules B1..B3): level must
 * equal want_level unless want_level is negative.  With write nonzero the
 * page is also made writable (pg_get_write).  OUT: *out (pinned; release
 * with bt_node_release).  Errors: CL_ECORRUPT, pager errors. */
int bt_node_load(pager *p, uint32_t pgno, int want_level, int write,
                 bt_node *out);
/* Release the node's pin (safe on a zeroed node). */
void bt_node_release(bt_node *nd);
/* Make a loaded node writable. */
int bt_node_make_writable(bt_node *nd);
/* Allocate a fresh empty node (leaf for level 0) with leftmost child child0
 * (0 for a leaf).  OUT: *out, writable and pinned. */
int bt_node_new(pager *p, uint32_t level, uint32_t child0, bt_node *out);

/* Decode cell i < n with rules B4..B7.  OUT: *c.  Errors: CL_ECORRUPT. */
int bt_node_cell(const bt_node *nd, uint32_t i, bt_cell *c);
/* Child j (0..n) of a branch: child0 for j = 0, else cell j-1's child, with
 * rule B7.  OUT: *pgno. */
int bt_node_child(const bt_node *nd, uint32_t j, uint32_t *pgno);
/* Decode every cell (B4..B7) and check that the cell sizes plus frag fill
 * the cell area exactly, and with overlap nonzero that no two cells overlap
 * (together rule B8).  Required before any edit, since edits trust the
 * header and the cell sizes.  Errors: CL_ECORRUPT, CL_ENOMEM. */
int bt_node_verify(const bt_node *nd, int overlap);

/* bt_node_verify(nd, 0) for a writable node about to be edited, skipped
 * when the node was verified before and has changed since only through
 * the edits below, which keep rules B2..B8 (the pager's owner mark, which
 * anything else that changes the page clears). */
int bt_node_verify_edit(bt_node *nd);

/* Bytes taken by slots and cells. */
uint32_t bt_node_used(const bt_node *nd);
/* Whether one more cell of csize bytes (plus its slot) fits. */
int bt_node_fits(const bt_node *nd, uint32_t csize);

/* Edits.  The node must be writable and verified.  bt_node_insert requires
 * bt_node_fits; it compacts the cell area when the free gap alone is too
 * small.  Errors: CL_ECORRUPT (found while compacting). */
int bt_node_insert(bt_node *nd, uint32_t idx, const uint8_t *cell,
                   uint32_t csize);
/* Remove cell idx (its bytes become frag, or leave the area if lowest). */
int bt_node_remove(bt_node *nd, uint32_t idx);
/* Keep only cells [0, keep): the others' bytes become frag. */
int bt_node_truncate(bt_node *nd, uint32_t keep);
/* Overwrite cell idx with a cell no larger than it, in place. */
int bt_node_overwrite(bt_node *nd, uint32_t idx, const uint8_t *cell,
                      uint32_t csize);
/* Set a branch's leftmost child. */
void bt_node_set_child0(bt_node *nd, uint32_t child0);

/* Encode cells into buf (which must hold the returned size). */
uint32_t bt_leaf_cell_size(size_t klen, size_t vlen, int overflow);
uint32_t bt_leaf_cell_encode(uint8_t *buf, const void *key, size_t klen,
                             const void *val, size_t vlen, uint32_t ovfl);
uint32_t bt_branch_cell_encode(uint8_t *buf, const void *key, size_t klen,
                               uint32_t child);

/* 8 bytes as a big-endian number: comparing two of them compares the
 * bytes in memcmp order. */
static inline uint64_t bt_be64(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap64(v);
#elif !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_BIG_ENDIAN__
    v = ((uint64_t)p[0] << 56) | ((uint64_t)p[1] << 48) |
        ((uint64_t)p[2] << 40) | ((uint64_t)p[3] << 32) |
        ((uint64_t)p[4] << 24) | ((uint64_t)p[5] << 16) |
        ((uint64_t)p[6] << 8) | p[7];
#endif
    return v;
}

/* Key order: memcmp of the common prefix, then shorter first.  Inline and
 * a word at a time: binary search calls it for every probe. */
static inline int bt_keycmp(const void *a, size_t alen, const void *b,
                            size_t blen)
{
    const uint8_t *x = a, *y = b;
    size_t m = alen < blen ? alen : blen;

    for (; m >= 8; m -= 8, x += 8, y += 8) {
        uint64_t u = bt_be64(x), v = bt_be64(y);
        if (u != v)
            return u < v ? -1 : 1;
    }
    for (; m > 0; m--, x++, y++)
        if (*x != *y)
            return *x < *y ? -1 : 1;
    return (alen > blen) - (alen < blen);
}

/* The CL_ECORRUPT report of bt_node_key (out of line: the cold path). */
int bt_node_key_bad(const bt_node *nd, uint32_t i, uint32_t off, uint32_t klen);

/* Only the key of cell i < n, for binary search: the slot must point into
 * the cell area with room for the cell's fixed header, and the key must be
 * 1..CL_KEY_MAX bytes inside the page (the part of rules B4, B5 that
 * reading the key relies on; bt_node_cell checks the whole cell).
 * OUT: *key, *klen.  Errors: CL_ECORRUPT. */
static inline int bt_node_key(const bt_node *nd, uint32_t i,
                              const uint8_t **key, uint32_t *klen)
{
    const uint8_t *d = nd->pg.data;
    uint32_t hdr = nd->level == 0 ? BT_LEAF_HDR : BT_BRANCH_HDR;
    uint32_t off = get_le16(d + BT_OFF_SLOTS + BT_SLOT_SIZE * i), kl;

    if (off < nd->cstart || off + hdr > nd->psize)
        return bt_node_key_bad(nd, i, off, 0);
    kl = get_le16(d + off);
    if (kl == 0 || kl > CL_KEY_MAX || off + hdr + kl > nd->psize)
        return bt_node_key_bad(nd, i, off, kl);
    *key = d + off + hdr;
    *klen = kl;
    return 0;
}

#endif
