/*
 * btree.c - the B+tree: lookups, inserts with splits, deletes with merges,
 * values in overflow chains, ordered scans and the structural check.  Node
 * pages are read and edited through btree_node.c; the constants below are
 * in btree_format.h.
 *
 * Page formats
 * ============
 * Three page types belong to the tree.  Every page starts with the common
 * header of page_format.h (crc 0..3, pgno 4..7, lsn 8..15, type at 16);
 * bytes 17..23 and the body are the tree's.  All integers are unsigned and
 * little-endian; ps is the page size (4096..65536).
 *
 * Node page (PG_TYPE_LEAF, PG_TYPE_BRANCH), a slotted page: an array of
 * 2-byte slots grows up from offset 28, the cells they point at are packed
 * down from the end of the page, and the free gap lies between the two.
 *
 *   offset size field
 *       16    1 type    PG_TYPE_LEAF (3) or PG_TYPE_BRANCH (4)
 *       17    1 level   0 for a leaf; a branch's children have its level - 1
 *       18    2 ncells  number of slots, equal to the number of cells
 *       20    2 cstart  offset of the first byte of the cell area
 *                       [cstart, ps); 0 stands for ps (an empty area: the
 *                       page end 65536 does not fit in 16 bits)
 *       22    2 frag    bytes of the cell area that belong to no cell (left
 *                       by removed or shrunk cells until compaction)
 *       24    4 child0  branch: page number of the leftmost child;
 *                       leaf: zero
 *       28 2*ncells     slot i (at 28 + 2*i): offset of cell i.  Cells are
 *                       in key order by slot, in any order by offset.
 *
 * Leaf cell, at its slot's offset o:
 *      o+0    2 klen    key length, 1..CL_KEY_MAX
 *      o+2    4 vlen    value length, 0..CL_VALUE_MAX
 *      o+6    1 flags   bit 0: the value is in an overflow chain; other
 *                       bits zero
 *      o+7 klen key
 *   inline value (bit 0 clear), cell size 7 + klen + vlen:
 *      o+7+klen  vlen   the value
 *   overflow value (bit 0 set), cell size 7 + klen + 4:
 *      o+7+klen  4      page number of the first overflow page
 *
 * Branch cell, at its slot's offset o, cell size 6 + klen:
 *      o+0    2 klen    separator length, 1..CL_KEY_MAX
 *      o+2    4 child   page number of the child right of the separator
 *      o+6 klen key     the separator
 * A branch with n cells has n + 1 children: child 0 is child0, child i > 0
 * is the child of cell i - 1.  The separator s_i of cell i divides the keys
 * below it: those under child i are < s_i, those under child i + 1 are
 * >= s_i.  A separator need not be a key of the tree (see splits below).
 *
 * Overflow page (PG_TYPE_OVERFLOW), one piece of a value, pieces in order:
 *       16    1 type    PG_TYPE_OVERFLOW (5)
 *       17    1 zero
 *       18    2 len     bytes of the value on this page
 *       20    4 next    page number of the next piece, 0 on the last page
 *       24  len data    the bytes; the rest of the page is unused
 *
 * Sizes, with U = ps - 28 the bytes available to slots and cells:
 *   BT_CELL_MAX  = U / 3 - 2 bounds every cell, so any three cells with
 *                  their slots fit in a page (4096: 1354, 65536: 21834).
 *                  The largest cells are 7 + 1024 + 4 = 1035 (leaf, overflow
 *                  value) and 6 + 1024 = 1030 (branch).
 *   BT_LOCAL_MAX = U / 4 - 2 (4096: 1015, 65536: 16375).  A value is
 *                  stored inline iff its leaf cell is at most BT_LOCAL_MAX
 *                  bytes or the value is at most 4 bytes (an overflow
 *                  reference would not make the cell smaller; with a key
 *                  of more than 1008 bytes at ps 4096 even an empty value
 *                  exceeds BT_LOCAL_MAX).  So at least four cells with
 *                  inline values of more than 4 bytes fit in a page.
 *                  Otherwise the value goes to an overflow chain of
 *                  ceil(vlen / (ps - 24)) pages (17 for 64 KiB at 4096).
 *
 * Validity rules.  A node page is valid iff:
 *   B1. its type is PG_TYPE_LEAF with level 0, or PG_TYPE_BRANCH with level
 *       1..BT_MAX_LEVEL (32);
 *   B2. 28 + 2 * ncells <= cstart <= ps (cstart 0 read as ps);
 *   B3. frag <= ps - cstart;
 *   B4. every slot's offset o has cstart <= o, and o + size <= ps for the
 *       cell's fixed header (7 leaf, 6 branch) and for the whole cell;
 *   B5. every klen is 1..CL_KEY_MAX;
 *   B6. leaf cells: flags is 0 or 1; the value is inline exactly when
 *       the rule under Sizes says so (7 + klen + vlen <= BT_LOCAL_MAX or
 *       vlen <= 4); an overflow cell has vlen <= CL_VALUE_MAX;
 *   B7. every page number in the node (child0 of a branch, child, first
 *       overflow page) is in [PG_FIRST_DATA, npages);
 *   B8. no two cells overlap, and the sizes of all cells plus frag equal
 *       ps - cstart;
 *   B9. keys increase strictly from slot to slot;
 *   B10. every key of a node lies within the bounds the separators of its
 *        ancestors give it: lo <= key < hi;
 *   B11. the node has at least one cell (an empty tree has no root page:
 *        pg_root is 0);
 *   B12. the root may have any level; every other node has its parent's
 *        level - 1, so all leaves are at the same depth;
 *   B13. a leaf's bytes 24..27 are zero;
 *   B14. the node is reachable from the root by one path only.
 * The overflow chain of a value of vlen bytes is valid iff:
 *   O1. it has exactly ceil(vlen / (ps - 24)) pages, each of type
 *       PG_TYPE_OVERFLOW with byte 17 zero;
 *   O2. every page but the last holds len = ps - 24 bytes and has next in
 *       [PG_FIRST_DATA, npages); the last holds the remaining 1..ps-24 bytes
 *       and has next 0;
 *   O3. each of its pages belongs to no other chain and no node (B14).
 * The meta page's key count equals the number of leaf cells (rule T1).
 * Readers check B1..B7 and B12 for every node and cell they touch, and
 * O1..O2 for every overflow page they read; a scan also checks B11 for
 * every leaf and that the keys it delivers increase strictly from its start
 * on (what B9 and B10 guarantee); writers check B8 too (without the overlap
 * test, done by compaction) before they edit a node; bt_check checks
 * everything.
 *
 * Algorithms
 * ==========
 * Insert: descend to the leaf, remembering the path (page and child index
 * at each level).  A cell that fits goes into the node (compacting the cell
 * area first if the free gap alone is too small).  Otherwise the node is
 * split: the new cell is placed among the old ones, and the split point is
 * the one that best balances the bytes of the two halves with both fitting
 * in a page (always possible since no cell exceeds BT_CELL_MAX).  The left
 * half stays in the old page, the right half moves to a new page.  A leaf
 * split passes up the shortest separator s with last-left < s <= first-right
 * (a prefix of the first right key), a branch split passes up its middle
 * cell, whose child becomes the new page's child0.  The separator goes into
 * the parent the same way, up to a new root.  Appending past the last key of
 * the rightmost node moves only the new cell to the new page, so that
 * ascending inserts fill pages instead of leaving them half empty.
 *
 * Delete: remove the cell (freeing its overflow chain), then walk back up:
 * a non-root node using fewer than BT_UNDERFULL = U / 4 bytes is merged
 * with its left neighbour, else its right one, when the two (and, for
 * branches, the separator pulled down from the parent) fit in one page.
 * The right page of a merge is freed and the separator between the two is
 * removed from the parent, which may then be merged in turn.  A node that
 * cannot merge stays underfull, except a branch left with no cell, which
 * takes one cell from a neighbour through the parent (a rotation; the
 * parent's separator changes and may split the parent).  Finally a root
 * branch with no cell is replaced by its only child and a root leaf with no
 * cell by the empty tree.  Thresholds: a node splits only when it would
 * exceed U, and a balanced split leaves about U / 3 or more in each half;
 * a node merges only below U / 4, and only when the result fits in U.  So
 * inserts and deletes alternating around one key do not split and merge
 * the same pages back and forth.
 *
 * Replace: a new cell no larger than the old one overwrites it in place
 * (frag takes the difference); otherwise the old cell is removed and the
 * new one inserted.  The old overflow chain is freed before a new one is
 * written, so that its pages are reused at once.
 *
 * Scan: a stack-based descent, not a sibling chain.  Leaves keep no pointer
 * to their neighbours: a split or merge then changes only the nodes it
 * merges or splits and their parent, never a neighbour under another parent
 * (fewer pages in each log record and no chain to keep consistent or to
 * verify), and a scan moves to the next leaf by going up its path to the
 * first ancestor with a child further right, which costs one page visit per
 * level per leaf at worst.
 *
 * Divisions: arguments and search; overflow chains; insert and split;
 * delete and merge; public entry points; scan; check.
 */
#include "btree.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "btree_node.h"
#include "coding.h"
#include "errors.h"

/* The path from the root to a leaf taken by a descent. */
typedef struct bt_path {
    uint32_t depth;                   /* entries, root first */
    uint32_t pgno[BT_MAX_LEVEL + 1];  /* page at each depth */
    uint32_t level[BT_MAX_LEVEL + 1]; /* its level */
    uint32_t idx[BT_MAX_LEVEL + 1];   /* branch: child taken; leaf: cell */
    int rightmost; /* every branch on the path took its last child */
} bt_path;

/* ---------------------------------------------------------------------
 * Arguments and search
 * --------------------------------------------------------------------- */

/* Check a user key: CL_EINVAL for NULL or empty, CL_ETOOBIG for long. */
static int bt_check_key(const void *key, size_t klen)
{
    if (key == NULL || klen == 0)
        return err_set(CL_EINVAL, "empty or NULL key");
    if (klen > CL_KEY_MAX)
        return err_set(CL_ETOOBIG, "key of %zu bytes (limit %d)", klen,
                       CL_KEY_MAX);
    return 0;
}

/* Binary search of a node.  Leaf: *idx is the first cell whose key is >=
 * key and *eq says whether it is equal.  Branch: *idx is the child whose
 * range holds key (the number of separators <= key); *eq is 0. */
static int bt_search(const bt_node *nd, const void *key, size_t klen,
                     uint32_t *idx, int *eq)
{
    uint32_t lo = 0, hi = nd->n, ck = 0;
    const uint8_t *c = NULL;
    int rc, cmp;

    /* Only the probed cells' keys are decoded (bt_node_key); the cell that
     * is then used is decoded and checked whole by its caller. */
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if ((rc = bt_node_key(nd, mid, &c, &ck)) != 0)
            return rc;
        cmp = bt_keycmp(c, ck, key, klen);
        if (cmp < 0 || (cmp == 0 && nd->level > 0))
            lo = mid + 1;
        else
            hi = mid;
    }
    *eq = 0;
    if (nd->level == 0 && lo < nd->n) {
        if ((rc = bt_node_key(nd, lo, &c, &ck)) != 0)
            return rc;
        *eq = bt_keycmp(c, ck, key, klen) == 0;
    }
    *idx = lo;
    return 0;
}

/* Descend from the root (which must exist) to the leaf for key.
 * OUT: *path, *leaf (pinned, read-only; path->idx of the leaf is the
 * search position), *found. */
static int bt_descend(pager *p, const void *key, size_t klen, bt_path *path,
                      bt_node *leaf, int *found)
{
    bt_node nd = {0};
    uint32_t pgno = pg_root(p), idx;
    int want = -1, eq = 0, rc;

    path->depth = 0;
    path->rightmost = 1;
    for (;;) {
        /* Levels fall by one per step from at most BT_MAX_LEVEL (B1, B12),
         * so the path cannot overflow. */
        if ((rc = bt_node_load(p, pgno, want, 0, &nd)) != 0)
            goto fail;
        if ((rc = bt_search(&nd, key, klen, &idx, &eq)) != 0)
            goto fail;
        assert(path->depth <= BT_MAX_LEVEL);
        path->pgno[path->depth] = pgno;
        path->level[path->depth] = nd.level;
        path->idx[path->depth] = idx;
        path->depth++;
        if (nd.level == 0)
            break;
        if (idx != nd.n)
            path->rightmost = 0;
        if ((rc = bt_node_child(&nd, idx, &pgno)) != 0)
            goto fail;
        want = (int)nd.level - 1;
        bt_node_release(&nd);
    }
    *found = eq;
    *leaf = nd;
    return 0;

fail:
    bt_node_release(&nd);
    return rc;
}

/* ---------------------------------------------------------------------
 * Overflow chains
 * --------------------------------------------------------------------- */

/* Check overflow page pg of the value held by leaf page leaf, with rest
 * bytes of the value still to come from this page on (rules O1, O2).
 * OUT: *len, *next. */
static int bt_ovfl_page(pager *p, const pg_page *pg, uint32_t leaf,
                        uint32_t rest, uint32_t *len, uint32_t *next)
{
    const uint8_t *d = pg->data;
    uint32_t cap = BT_OV_CAP(pg_page_size(p));
    uint32_t want = rest < cap ? rest : cap;

    if (d[PG_OFF_TYPE] != PG_TYPE_OVERFLOW)
        return err_set(CL_ECORRUPT,
                       "page %u: page of the value chain of leaf %u has type "
                       "%u, not overflow",
                       pg->pgno, leaf, d[PG_OFF_TYPE]);
    if (d[BT_OV_OFF_ZERO] != 0)
        return err_set(CL_ECORRUPT,
                       "page %u: overflow page of a value in leaf %u has "
                       "byte 17 = %u, not 0",
                       pg->pgno, leaf, d[BT_OV_OFF_ZERO]);
    *len = get_le16(d + BT_OV_OFF_LEN);
    *next = get_le32(d + BT_OV_OFF_NEXT);
    if (*len != want)
        return err_set(CL_ECORRUPT,
                       "page %u: overflow page of a value in leaf %u holds "
                       "%u bytes where %u are expected",
                       pg->pgno, leaf, *len, want);
    if (rest > cap && *next == pg->pgno)
        return err_set(CL_ECORRUPT,
                       "page %u: overflow page of a value in leaf %u has "
                       "itself as next page",
                       pg->pgno, leaf);
    if (rest > cap && (*next < PG_FIRST_DATA || *next >= pg_npages(p)))
        return err_set(CL_ECORRUPT,
                       "page %u: overflow page of a value in leaf %u has "
                       "next page %u, out of range [%u, %u)",
                       pg->pgno, leaf, *next, PG_FIRST_DATA, pg_npages(p));
    if (rest <= cap && *next != 0)
        return err_set(CL_ECORRUPT,
                       "page %u: last overflow page of a value in leaf %u "
                       "has next page %u",
                       pg->pgno, leaf, *next);
    return 0;
}

/* Copy the first want bytes (want <= vlen) of the vlen-byte value whose
 * chain starts at first into buf.  Pages past those needed are not read. */
static int bt_ovfl_read(pager *p, uint32_t leaf, uint32_t first, uint32_t vlen,
                        uint8_t *buf, size_t want)
{
    pg_page pg = {0};
    uint32_t pgno = first, rest = vlen, len, next;
    size_t done = 0;
    int rc = 0;

    while (done < want) {
        if ((rc = pg_get(p, pgno, &pg)) != 0)
            goto fail;
        if ((rc = bt_ovfl_page(p, &pg, leaf, rest, &len, &next)) != 0)
            goto fail;
        size_t n = want - done < len ? want - done : len;
        memcpy(buf + done, pg.data + BT_OV_OFF_DATA, n);
        done += n;
        rest -= len;
        pg_release(p, &pg);
        pgno = next;
    }
    return 0;

fail:
    pg_release(p, &pg);
    return rc;
}

/* Put every page of the chain of a vlen-byte value on the free list. */
static int bt_ovfl_free(pager *p, uint32_t leaf, uint32_t first, uint32_t vlen)
{
    pg_page pg = {0};
    uint32_t pgno = first, rest = vlen, len, next;
    int rc = 0;

    /* rest falls by a whole page's capacity per page (O2), so a chain that
     * loops is cut off when the value's length runs out. */
    while (rest > 0) {
        if ((rc = pg_get(p, pgno, &pg)) != 0)
            goto fail;
        if ((rc = bt_ovfl_page(p, &pg, leaf, rest, &len, &next)) != 0)
            goto fail;
        if ((rc = pg_free(p, &pg)) != 0)
            goto fail;
        memset(&pg, 0, sizeof(pg));
        rest -= len;
        pgno = next;
    }
    return 0;

fail:
    pg_release(p, &pg);
    return rc;
}

/* Write a value (vlen > 0) into a new chain of overflow pages, in order.
 * OUT: *first. */
static int bt_ovfl_write(pager *p, const uint8_t *val, size_t vlen,
                         uint32_t *first)
{
    pg_page prev = {0}, cur = {0};
    uint32_t cap = BT_OV_CAP(pg_page_size(p)), head = 0;
    size_t off, len;
    int rc = 0;

    cl_io_activity(pager_io(p), CL_ACT_OVERFLOW, 1); /* until the commit */

    assert(vlen > 0);
    for (off = 0; off < vlen; off += len) {
        if ((rc = pg_alloc(p, PG_TYPE_OVERFLOW, &cur)) != 0)
            goto fail;
        len = vlen - off < cap ? vlen - off : cap;
        put_le16(cur.data + BT_OV_OFF_LEN, (uint16_t)len);
        memcpy(cur.data + BT_OV_OFF_DATA, val + off, len);
        if (prev.data != NULL) {
            put_le32(prev.data + BT_OV_OFF_NEXT, cur.pgno);
            pg_release(p, &prev);
        } else {
            head = cur.pgno;
        }
        prev = cur;
        memset(&cur, 0, sizeof(cur));
    }
    pg_release(p, &prev);
    *first = head;
    return 0;

fail:
    pg_release(p, &prev);
    pg_release(p, &cur);
    return rc;
}

/* ---------------------------------------------------------------------
 * Insert and split
 * --------------------------------------------------------------------- */

/* A cell of a node that is about to take one more: the cell at position v
 * of the node's cells with the new one (bytes cell) inserted at idx.
 * OUT: *c (its fields; off unused) and *bytes. */
static int bt_vcell(const bt_node *nd, uint32_t idx, const uint8_t *cell,
                    uint32_t csize, uint32_t v, bt_cell *c,
                    const uint8_t **bytes)
{
    int rc;

    if (v == idx) {
        uint32_t hdr = nd->level == 0 ? BT_LEAF_HDR : BT_BRANCH_HDR;
        memset(c, 0, sizeof(*c));
        c->klen = get_le16(cell);
        c->key = cell + hdr;
        if (nd->level > 0)
            c->child = get_le32(cell + BT_BRANCH_OFF_CHILD);
        c->size = csize;
        *bytes = cell;
        return 0;
    }
    if ((rc = bt_node_cell(nd, v < idx ? v : v - 1, c)) != 0)
        return rc;
    *bytes = nd->pg.data + c->off;
    return 0;
}

/* Choose where to split total cells whose sizes with slots are sz[].
 * Leaf: left gets [0, k), right [k, total).  Branch: left [0, k), cell k
 * goes up, right (k, total).  Both sides must fit in U bytes; among the
 * points that do, take the last one when append is set and it fits, else
 * the one with the smallest larger side.  OUT: *k. */
static int bt_split_point(const bt_node *nd, const uint32_t *sz, uint32_t total,
                          int append, uint32_t *kout)
{
    uint32_t u = BT_USABLE(nd->psize), up = nd->level > 0;
    uint64_t all = 0, left = 0, best = UINT64_MAX;
    uint32_t k, last = total - 1 - up, bestk = 0;

    for (k = 0; k < total; k++)
        all += sz[k];
    for (k = 1; k <= last && total > 1 + up; k++) {
        left += sz[k - 1];
        uint64_t right = all - left - (up ? sz[k] : 0);
        uint64_t larger = left > right ? left : right;
        if (left > u || right > u)
            continue;
        if (append && k == last) {
            bestk = k;
            break;
        }
        if (larger < best) {
            best = larger;
            bestk = k;
        }
    }
    if (bestk == 0)
        return err_set(CL_ECORRUPT,
                       "page %u: no way to split %u cells into two pages",
                       nd->pg.pgno, total);
    *kout = bestk;
    return 0;
}

/* Split node nd (writable, verified) that cannot take cell (csize bytes)
 * at idx: afterwards nd holds the left part and a new page the right part,
 * the new cell being in one of them.  OUT: sep and *seplen, the separator
 * to insert into the parent (sep holds CL_KEY_MAX bytes), and *right, the
 * new page, which goes right of it. */
static int bt_split(pager *p, bt_node *nd, uint32_t idx, const uint8_t *cell,
                    uint32_t csize, int append, uint8_t *sep, uint32_t *seplen,
                    uint32_t *right)
{
    uint32_t total = nd->n + 1, k = 0, v, *sz = NULL, rchild0 = 0;
    const uint8_t *bytes;
    bt_node r = {0};
    bt_cell a, b;

    cl_io_activity(pager_io(p), CL_ACT_SPLIT, 1); /* until the commit */
    int rc;

    if ((sz = malloc(total * sizeof(*sz))) == NULL) {
        rc = err_set(CL_ENOMEM, "page %u: no memory to split", nd->pg.pgno);
        goto done;
    }
    for (v = 0; v < total; v++) {
        if ((rc = bt_vcell(nd, idx, cell, csize, v, &b, &bytes)) != 0)
            goto done;
        sz[v] = b.size + BT_SLOT_SIZE;
    }
    if ((rc = bt_split_point(nd, sz, total, append, &k)) != 0)
        goto done;
    if ((rc = bt_vcell(nd, idx, cell, csize, k, &b, &bytes)) != 0)
        goto done;
    if (nd->level == 0) {
        /* The shortest prefix of the first right key that is above the
         * last left key: a shorter separator makes a fuller parent. */
        uint32_t m = 0;
        if ((rc = bt_vcell(nd, idx, cell, csize, k - 1, &a, &bytes)) != 0)
            goto done;
        while (m < a.klen && m < b.klen && a.key[m] == b.key[m])
            m++;
        if (m >= b.klen) {
            rc = err_set(CL_ECORRUPT,
                         "page %u: keys of cells %u and %u are out of order",
                         nd->pg.pgno, k - 1, k);
            goto done;
        }
        *seplen = m + 1;
    } else {
        *seplen = b.klen;
        rchild0 = b.child;
    }
    memcpy(sep, b.key, *seplen);

    if ((rc = bt_node_new(p, nd->level, rchild0, &r)) != 0)
        goto done;
    for (v = nd->level == 0 ? k : k + 1; v < total; v++) {
        if ((rc = bt_vcell(nd, idx, cell, csize, v, &b, &bytes)) != 0)
            goto done;
        if ((rc = bt_node_insert(&r, r.n, bytes, b.size)) != 0)
            goto done;
    }
    if ((rc = bt_node_truncate(nd, idx < k ? k - 1 : k)) != 0)
        goto done;
    if (idx < k && (rc = bt_node_insert(nd, idx, cell, csize)) != 0)
        goto done;
    *right = r.pg.pgno;
done:
    bt_node_release(&r);
    free(sz);
    return rc;
}

/* Insert cell (csize bytes, not in any page) at index idx of the node at
 * depth lvl of path, splitting it and its ancestors as needed and growing
 * a new root when the root splits. */
static int bt_insert(pager *p, const bt_path *path, uint32_t lvl, uint32_t idx,
                     const uint8_t *cell, uint32_t csize)
{
    uint8_t up[BT_BRANCH_HDR + CL_KEY_MAX], sep[CL_KEY_MAX];
    uint32_t seplen = 0, right = 0;
    bt_node nd = {0}, root = {0};
    int rc;

    for (;;) {
        rc = bt_node_load(p, path->pgno[lvl], (int)path->level[lvl], 1, &nd);
        if (rc != 0)
            goto done;
        if ((rc = bt_node_verify_edit(&nd)) != 0)
            goto done;
        if (bt_node_fits(&nd, csize)) {
            rc = bt_node_insert(&nd, idx, cell, csize);
            goto done;
        }
        rc = bt_split(p, &nd, idx, cell, csize, path->rightmost && idx == nd.n,
                      sep, &seplen, &right);
        if (rc != 0)
            goto done;
        /* cell has been placed: its buffer may now hold the separator. */
        csize = bt_branch_cell_encode(up, sep, seplen, right);
        cell = up;
        if (lvl == 0)
            break;
        bt_node_release(&nd);
        idx = path->idx[lvl - 1];
        lvl--;
    }
    /* The root split: a new root above the two halves. */
    if (nd.level >= BT_MAX_LEVEL) {
        rc = err_set(CL_ECORRUPT, "page %u: tree taller than %d levels",
                     nd.pg.pgno, BT_MAX_LEVEL);
        goto done;
    }
    if ((rc = bt_node_new(p, nd.level + 1, nd.pg.pgno, &root)) != 0)
        goto done;
    if ((rc = bt_node_insert(&root, 0, cell, csize)) != 0)
        goto done;
    rc = pg_set_root(p, root.pg.pgno);
done:
    bt_node_release(&root);
    bt_node_release(&nd);
    return rc;
}

/* ---------------------------------------------------------------------
 * Delete and merge
 * --------------------------------------------------------------------- */

/* Whether left and right (siblings, with separator sep between them in
 * their parent) fit in one page. */
static int bt_merge_fits(const bt_node *left, const bt_node *right,
                         const bt_cell *sep)
{
    uint32_t need = bt_node_used(left) + bt_node_used(right);

    if (left->level > 0)
        need += BT_BRANCH_HDR + sep->klen + BT_SLOT_SIZE;
    return need <= BT_USABLE(left->psize);
}

/* Move every cell of right (and for branches the separator sep, pointing at
 * right's child0) to the end of left, then free right.  Both writable and
 * verified, and bt_merge_fits.  sep must not point into left or right. */
static int bt_merge(pager *p, bt_node *left, bt_node *right, const bt_cell *sep)
{
    uint8_t cell[BT_BRANCH_HDR + CL_KEY_MAX];
    uint32_t csize, child0;
    bt_cell c;
    int rc;

    cl_io_activity(pager_io(p), CL_ACT_MERGE, 1); /* until the commit */
    if (left->level > 0) {
        if ((rc = bt_node_child(right, 0, &child0)) != 0)
            return rc;
        csize = bt_branch_cell_encode(cell, sep->key, sep->klen, child0);
        if ((rc = bt_node_insert(left, left->n, cell, csize)) != 0)
            return rc;
    }
    for (uint32_t i = 0; i < right->n; i++) {
        if ((rc = bt_node_cell(right, i, &c)) != 0)
            return rc;
        rc = bt_node_insert(left, left->n, right->pg.data + c.off, c.size);
        if (rc != 0)
            return rc;
    }
    rc = pg_free(p, &right->pg);
    memset(&right->pg, 0, sizeof(right->pg));
    return rc;
}

/* Branch nd (writable, no cell) at depth lvl of path is child j of par
 * (writable) and could not merge: move one cell from a neighbour through
 * the parent.  Releases par and nd; the parent's new separator is inserted
 * with bt_insert, which may split it. */
static int bt_rotate(pager *p, const bt_path *path, uint32_t lvl, bt_node *par,
                     bt_node *nd, uint32_t j)
{
    uint8_t cell[BT_BRANCH_HDR + CL_KEY_MAX], key[CL_KEY_MAX];
    uint32_t sepidx = j > 0 ? j - 1 : 0, sibno, csize, klen, child, old0;
    bt_node sib = {0};
    bt_cell sep, c;
    int rc;

    if ((rc = bt_node_child(par, j > 0 ? j - 1 : j + 1, &sibno)) != 0)
        goto done;
    if ((rc = bt_node_cell(par, sepidx, &sep)) != 0)
        goto done;
    if ((rc = bt_node_load(p, sibno, (int)nd->level, 1, &sib)) != 0)
        goto done;
    if ((rc = bt_node_verify_edit(&sib)) != 0)
        goto done;
    /* A neighbour too full to merge with an empty node has at least three
     * cells when every cell is within BT_CELL_MAX. */
    if (sib.n < 2) {
        rc = err_set(CL_ECORRUPT,
                     "page %u: branch with %u cells cannot merge with an "
                     "empty neighbour",
                     sib.pg.pgno, sib.n);
        goto done;
    }
    if ((rc = bt_node_child(nd, 0, &old0)) != 0)
        goto done;
    if (j > 0) {
        /* Left neighbour's last cell (k, c): nd takes (sep, old child0)
         * and child0 c; the parent's separator becomes k. */
        if ((rc = bt_node_cell(&sib, sib.n - 1, &c)) != 0)
            goto done;
        csize = bt_branch_cell_encode(cell, sep.key, sep.klen, old0);
        if ((rc = bt_node_insert(nd, 0, cell, csize)) != 0)
            goto done;
        bt_node_set_child0(nd, c.child);
        klen = c.klen;
        memcpy(key, c.key, klen);
        child = nd->pg.pgno;
        rc = bt_node_remove(&sib, sib.n - 1);
    } else {
        /* Right neighbour's first cell (k, c): nd takes (sep, its child0),
         * the neighbour's child0 becomes c; the separator becomes k. */
        if ((rc = bt_node_cell(&sib, 0, &c)) != 0)
            goto done;
        if ((rc = bt_node_child(&sib, 0, &child)) != 0)
            goto done;
        csize = bt_branch_cell_encode(cell, sep.key, sep.klen, child);
        if ((rc = bt_node_insert(nd, 0, cell, csize)) != 0)
            goto done;
        bt_node_set_child0(&sib, c.child);
        klen = c.klen;
        memcpy(key, c.key, klen);
        child = sib.pg.pgno;
        rc = bt_node_remove(&sib, 0);
    }
    if (rc != 0)
        goto done;
    if ((rc = bt_node_remove(par, sepidx)) != 0)
        goto done;
    bt_node_release(par);
    bt_node_release(nd);
    bt_node_release(&sib);
    csize = bt_branch_cell_encode(cell, key, klen, child);
    rc = bt_insert(p, path, lvl - 1, sepidx, cell, csize);
done:
    bt_node_release(&sib);
    bt_node_release(par);
    bt_node_release(nd);
    return rc;
}

/* After a cell was removed from the node at depth lvl of path, merge
 * underfull nodes on the way up (see Algorithms above). */
static int bt_rebalance(pager *p, const bt_path *path, uint32_t lvl)
{
    bt_node nd = {0}, par = {0}, sib = {0};
    uint32_t j, sibno, ps = pg_page_size(p);
    bt_cell sep;
    int rc = 0;

    for (; lvl > 0; lvl--) {
        rc = bt_node_load(p, path->pgno[lvl], (int)path->level[lvl], 1, &nd);
        if (rc != 0)
            goto done;
        if (nd.n > 0 && bt_node_used(&nd) >= BT_UNDERFULL(ps))
            goto done;
        if ((rc = bt_node_verify_edit(&nd)) != 0)
            goto done;
        rc = bt_node_load(p, path->pgno[lvl - 1], (int)path->level[lvl - 1], 1,
                          &par);
        if (rc != 0)
            goto done;
        if ((rc = bt_node_verify_edit(&par)) != 0)
            goto done;
        j = path->idx[lvl - 1];
        assert(j <= par.n); /* par is unchanged since the descent */
        if (par.n == 0) {
            rc = err_set(CL_ECORRUPT, "page %u: branch without cells",
                         par.pg.pgno);
            goto done;
        }
        /* Left neighbour first: nd merges into it. */
        if (j > 0) {
            if ((rc = bt_node_child(&par, j - 1, &sibno)) != 0 ||
                (rc = bt_node_cell(&par, j - 1, &sep)) != 0 ||
                (rc = bt_node_load(p, sibno, (int)nd.level, 0, &sib)) != 0)
                goto done;
            if (bt_merge_fits(&sib, &nd, &sep)) {
                if ((rc = bt_node_make_writable(&sib)) != 0 ||
                    (rc = bt_node_verify_edit(&sib)) != 0 ||
                    (rc = bt_merge(p, &sib, &nd, &sep)) != 0 ||
                    (rc = bt_node_remove(&par, j - 1)) != 0)
                    goto done;
                goto merged;
            }
            bt_node_release(&sib);
        }
        if (j < par.n) {
            if ((rc = bt_node_child(&par, j + 1, &sibno)) != 0 ||
                (rc = bt_node_cell(&par, j, &sep)) != 0 ||
                (rc = bt_node_load(p, sibno, (int)nd.level, 0, &sib)) != 0)
                goto done;
            if (bt_merge_fits(&nd, &sib, &sep)) {
                if ((rc = bt_node_make_writable(&sib)) != 0 ||
                    (rc = bt_node_verify_edit(&sib)) != 0 ||
                    (rc = bt_merge(p, &nd, &sib, &sep)) != 0 ||
                    (rc = bt_node_remove(&par, j)) != 0)
                    goto done;
                goto merged;
            }
            bt_node_release(&sib);
        }
        /* An empty leaf always fits into its neighbour; an empty branch
         * may not (the separator pulled down adds up to 1032 bytes). */
        if (nd.n == 0)
            rc = bt_rotate(p, path, lvl, &par, &nd, j);
        goto done;
    merged:
        bt_node_release(&sib);
        bt_node_release(&par);
        bt_node_release(&nd);
    }
done:
    bt_node_release(&sib);
    bt_node_release(&par);
    bt_node_release(&nd);
    return rc;
}

/* Replace a root without cells by its only child (a branch) or by the
 * empty tree (a leaf), as often as needed. */
static int bt_collapse_root(pager *p)
{
    bt_node nd = {0};
    uint32_t root, child;
    int rc = 0;

    for (int i = 0; i <= BT_MAX_LEVEL && (root = pg_root(p)) != 0; i++) {
        if ((rc = bt_node_load(p, root, -1, 0, &nd)) != 0)
            goto done;
        if (nd.n > 0)
            goto done;
        child = 0;
        if (nd.level > 0 && (rc = bt_node_child(&nd, 0, &child)) != 0)
            goto done;
        if ((rc = pg_set_root(p, child)) != 0)
            goto done;
        rc = pg_free(p, &nd.pg);
        memset(&nd.pg, 0, sizeof(nd.pg));
        if (rc != 0)
            goto done;
    }
done:
    bt_node_release(&nd);
    return rc;
}

/* ---------------------------------------------------------------------
 * Public entry points
 * --------------------------------------------------------------------- */

int bt_get(pager *p, const void *key, size_t klen, void *buf, size_t cap,
           size_t *vlen)
{
    bt_path path;
    bt_node leaf = {0};
    bt_cell c;
    size_t n;
    int found, rc;

    if ((rc = bt_check_key(key, klen)) != 0)
        return rc;
    if ((buf == NULL && cap > 0) || vlen == NULL)
        return err_set(CL_EINVAL, "NULL buffer or length pointer");
    if (pg_root(p) == 0)
        return CL_ENOTFOUND;
    if ((rc = bt_descend(p, key, klen, &path, &leaf, &found)) != 0)
        goto done;
    if (!found) {
        rc = CL_ENOTFOUND;
        goto done;
    }
    if ((rc = bt_node_cell(&leaf, path.idx[path.depth - 1], &c)) != 0)
        goto done;
    n = cap < c.vlen ? cap : c.vlen;
    if (c.ovfl == 0 && n > 0)
        memcpy(buf, c.val, n);
    else if (c.ovfl != 0)
        rc = bt_ovfl_read(p, leaf.pg.pgno, c.ovfl, c.vlen, buf, n);
    if (rc == 0)
        *vlen = c.vlen;
done:
    bt_node_release(&leaf);
    return rc;
}

int bt_put(pager *p, const void *key, size_t klen, const void *val, size_t vlen)
{
    uint32_t ps = pg_page_size(p), csize, ovfl = 0, idx = 0, old_size = 0;
    bt_path path;
    bt_node leaf = {0};
    bt_cell old;
    uint8_t *cell = NULL;
    int found = 0, overflow, rc;

    if ((rc = bt_check_key(key, klen)) != 0)
        return rc;
    if (val == NULL && vlen > 0)
        return err_set(CL_EINVAL, "NULL value of %zu bytes", vlen);
    if (vlen > CL_VALUE_MAX)
        return err_set(CL_ETOOBIG, "value of %zu bytes (limit %d)", vlen,
                       CL_VALUE_MAX);
    overflow = !BT_INLINE(ps, klen, vlen);
    csize = bt_leaf_cell_size(klen, vlen, overflow);
    if ((cell = malloc(csize)) == NULL) {
        rc = err_set(CL_ENOMEM, "no memory for a %u-byte cell", csize);
        goto done;
    }

    if (pg_root(p) != 0) {
        if ((rc = bt_descend(p, key, klen, &path, &leaf, &found)) != 0)
            goto done;
        idx = path.idx[path.depth - 1];
        if (found) {
            if ((rc = bt_node_cell(&leaf, idx, &old)) != 0)
                goto done;
            old_size = old.size;
            if (old.ovfl != 0 &&
                (rc = bt_ovfl_free(p, leaf.pg.pgno, old.ovfl, old.vlen)) != 0)
                goto done;
        }
        bt_node_release(&leaf);
    }
    if (overflow && (rc = bt_ovfl_write(p, val, vlen, &ovfl)) != 0)
        goto done;
    bt_leaf_cell_encode(cell, key, klen, val, vlen, ovfl);

    if (pg_root(p) == 0) {
        if ((rc = bt_node_new(p, 0, 0, &leaf)) != 0 ||
            (rc = bt_node_insert(&leaf, 0, cell, csize)) != 0 ||
            (rc = pg_set_root(p, leaf.pg.pgno)) != 0)
            goto done;
    } else if (found) {
        /* Replace: in place when the new cell is no larger. */
        uint32_t lv = path.depth - 1;
        rc = bt_node_load(p, path.pgno[lv], 0, 1, &leaf);
        if (rc != 0 || (rc = bt_node_verify_edit(&leaf)) != 0)
            goto done;
        if (csize <= old_size) {
            rc = bt_node_overwrite(&leaf, idx, cell, csize);
            goto done;
        }
        if ((rc = bt_node_remove(&leaf, idx)) != 0)
            goto done;
        bt_node_release(&leaf);
        rc = bt_insert(p, &path, lv, idx, cell, csize);
        goto done;
    } else {
        rc = bt_insert(p, &path, path.depth - 1, idx, cell, csize);
        if (rc != 0)
            goto done;
    }
    rc = pg_nkeys_add(p, 1);
done:
    bt_node_release(&leaf);
    free(cell);
    return rc;
}

int bt_delete(pager *p, const void *key, size_t klen)
{
    bt_path path;
    bt_node leaf = {0};
    bt_cell c;
    uint32_t idx;
    int found, rc;

    if ((rc = bt_check_key(key, klen)) != 0)
        return rc;
    if (pg_root(p) == 0)
        return CL_ENOTFOUND;
    if ((rc = bt_descend(p, key, klen, &path, &leaf, &found)) != 0)
        goto done;
    if (!found) {
        rc = CL_ENOTFOUND;
        goto done;
    }
    idx = path.idx[path.depth - 1];
    if ((rc = bt_node_make_writable(&leaf)) != 0 ||
        (rc = bt_node_verify_edit(&leaf)) != 0 ||
        (rc = bt_node_cell(&leaf, idx, &c)) != 0)
        goto done;
    if (c.ovfl != 0 &&
        (rc = bt_ovfl_free(p, leaf.pg.pgno, c.ovfl, c.vlen)) != 0)
        goto done;
    if ((rc = bt_node_remove(&leaf, idx)) != 0)
        goto done;
    bt_node_release(&leaf);
    if ((rc = pg_nkeys_add(p, -1)) != 0)
        goto done;
    if ((rc = bt_rebalance(p, &path, path.depth - 1)) != 0)
        goto done;
    rc = bt_collapse_root(p);
done:
    bt_node_release(&leaf);
    return rc;
}

/* ---------------------------------------------------------------------
 * Scan
 * --------------------------------------------------------------------- */

/* Descend from the node at depth d of path (whose pgno and level are set)
 * to a leaf: towards start when start is not NULL, else along the leftmost
 * children.  OUT: path entries d.., *leaf (pinned), *eq (the leaf position
 * holds start). */
static int bt_scan_descend(pager *p, bt_path *path, uint32_t d,
                           const void *start, size_t startlen, bt_node *leaf,
                           int *eq)
{
    bt_node nd = {0};
    uint32_t pgno = path->pgno[d], idx = 0;
    int want = d == 0 ? -1 : (int)path->level[d], rc;

    *eq = 0;
    for (;;) {
        if ((rc = bt_node_load(p, pgno, want, 0, &nd)) != 0)
            goto fail;
        if (start != NULL &&
            (rc = bt_search(&nd, start, startlen, &idx, eq)) != 0)
            goto fail;
        assert(d <= BT_MAX_LEVEL);
        path->pgno[d] = pgno;
        path->level[d] = nd.level;
        path->idx[d] = idx;
        path->depth = d + 1;
        if (nd.level == 0)
            break;
        if ((rc = bt_node_child(&nd, idx, &pgno)) != 0)
            goto fail;
        want = (int)nd.level - 1;
        bt_node_release(&nd);
        d++;
    }
    *leaf = nd;
    return 0;

fail:
    bt_node_release(&nd);
    return rc;
}

/* The keys a scan delivers must increase strictly, from its start key on.
 * Without this check a damaged tree would make the scan deliver keys out
 * of order or twice (a leaf reachable along two paths), and cl_scan, which
 * resumes after the last key it delivered, could run forever. */
typedef struct bt_scan_order {
    const uint8_t *start; /* the start key until the first key is seen */
    size_t startlen;
    int exclusive;            /* the first key must be above start */
    uint8_t last[CL_KEY_MAX]; /* the key delivered last */
    size_t lastlen;           /* 0 before the first key */
} bt_scan_order;

/* Check that the key of cell c (cell i of leaf nd) may come next in the
 * scan, and remember it. */
static int bt_scan_next_key(bt_scan_order *o, const bt_node *nd, uint32_t i,
                            const bt_cell *c)
{
    if (o->lastlen > 0 && bt_keycmp(o->last, o->lastlen, c->key, c->klen) >= 0)
        return err_set(CL_ECORRUPT,
                       "page %u: key of cell %u is not above the key the "
                       "scan delivered before it (rule B9 or B10)",
                       nd->pg.pgno, i);
    if (o->lastlen == 0 && o->start != NULL &&
        bt_keycmp(o->start, o->startlen, c->key, c->klen) >
            (o->exclusive ? -1 : 0))
        return err_set(CL_ECORRUPT,
                       "page %u: key of cell %u is below the key the scan "
                       "was asked to start %s (rule B9 or B10)",
                       nd->pg.pgno, i, o->exclusive ? "after" : "at");
    memcpy(o->last, c->key, c->klen);
    o->lastlen = c->klen;
    return 0;
}

int bt_scan(pager *p, const void *start, size_t startlen, int exclusive,
            bt_scan_fn fn, void *ctx)
{
    bt_path path;
    bt_node nd = {0};
    bt_cell c;
    uint8_t *vbuf = NULL;
    const uint8_t *v;
    uint32_t i, d;
    int eq, rc = 0;
    bt_scan_order ord;

    if (fn == NULL)
        return err_set(CL_EINVAL, "NULL scan callback");
    if (pg_root(p) == 0)
        return 0;
    ord.start = start;
    ord.startlen = startlen;
    ord.exclusive = exclusive;
    ord.lastlen = 0;
    path.pgno[0] = pg_root(p);
    path.rightmost = 0;
    rc = bt_scan_descend(p, &path, 0, start, startlen, &nd, &eq);
    if (rc != 0)
        goto done;
    i = path.idx[path.depth - 1] + (start != NULL && exclusive && eq);
    for (;;) {
        /* B11: every leaf delivers at least one key, which with the order
         * check bounds the scan by the number of leaves, however the
         * child pointers of a damaged tree loop back. */
        if (nd.n == 0) {
            rc = err_set(CL_ECORRUPT, "page %u: leaf without cells (rule B11)",
                         nd.pg.pgno);
            goto done;
        }
        for (; i < nd.n; i++) {
            if ((rc = bt_node_cell(&nd, i, &c)) != 0 ||
                (rc = bt_scan_next_key(&ord, &nd, i, &c)) != 0)
                goto done;
            v = c.val;
            if (c.ovfl != 0) {
                if (vbuf == NULL && (vbuf = malloc(CL_VALUE_MAX)) == NULL) {
                    rc = err_set(CL_ENOMEM, "no memory for a scan buffer");
                    goto done;
                }
                rc = bt_ovfl_read(p, nd.pg.pgno, c.ovfl, c.vlen, vbuf, c.vlen);
                if (rc != 0)
                    goto done;
                v = vbuf;
            }
            if (fn(ctx, c.key, c.klen, v, c.vlen) != 0)
                goto done;
        }
        bt_node_release(&nd);
        /* Up to the nearest ancestor with a child further right. */
        for (d = path.depth - 1; d > 0; d--) {
            rc = bt_node_load(p, path.pgno[d - 1], (int)path.level[d - 1], 0,
                              &nd);
            if (rc != 0)
                goto done;
            int more = path.idx[d - 1] < nd.n;
            if (more) {
                path.idx[d - 1]++;
                rc = bt_node_child(&nd, path.idx[d - 1], &path.pgno[d]);
            }
            bt_node_release(&nd);
            if (rc != 0)
                goto done;
            if (more)
                break;
        }
        if (d == 0)
            goto done;
        rc = bt_scan_descend(p, &path, d, NULL, 0, &nd, &eq);
        if (rc != 0)
            goto done;
        i = 0;
    }
done:
    bt_node_release(&nd);
    free(vbuf);
    return rc;
}

/* ---------------------------------------------------------------------
 * Check
 * --------------------------------------------------------------------- */

typedef struct bt_chk {
    pager *p;
    uint8_t *seen;   /* one bit per page */
    uint32_t npages; /* pages in the file */
    uint64_t nkeys;  /* leaf cells counted so far */
} bt_chk;

/* Mark page pgno, referred to by page from as its what, as reached (B14,
 * O3). */
static int bt_chk_mark(bt_chk *ck, uint32_t pgno, uint32_t from,
                       const char *what)
{
    uint8_t bit = (uint8_t)(1u << (pgno % 8));

    if (pgno < PG_FIRST_DATA || pgno >= ck->npages)
        return err_set(CL_ECORRUPT, "page %u: %s page %u out of range", from,
                       what, pgno);
    if (ck->seen[pgno / 8] & bit)
        return err_set(CL_ECORRUPT,
                       "page %u is reachable twice (again as %s of page %u)",
                       pgno, what, from);
    ck->seen[pgno / 8] |= bit;
    return 0;
}

/* Walk and mark the overflow chain of cell c of leaf (rules O1..O3). */
static int bt_chk_ovfl(bt_chk *ck, uint32_t leaf, const bt_cell *c)
{
    pg_page pg = {0};
    uint32_t pgno = c->ovfl, from = leaf, rest = c->vlen, len, next;
    int rc = 0;

    while (rest > 0) {
        if ((rc = bt_chk_mark(ck, pgno, from, "overflow")) != 0)
            goto done;
        if ((rc = pg_get(ck->p, pgno, &pg)) != 0)
            goto done;
        if ((rc = bt_ovfl_page(ck->p, &pg, leaf, rest, &len, &next)) != 0)
            goto done;
        pg_release(ck->p, &pg);
        rest -= len;
        from = pgno;
        pgno = next;
    }
done:
    pg_release(ck->p, &pg);
    return rc;
}

/* Check the subtree rooted at pgno (already marked), expected at level
 * (negative for the root), whose keys must lie in [lo, hi) (NULL: no
 * bound). */
static int bt_chk_node(bt_chk *ck, uint32_t pgno, int level, const uint8_t *lo,
                       uint32_t lolen, const uint8_t *hi, uint32_t hilen)
{
    bt_node nd = {0};
    bt_cell c, prev;
    uint32_t child;
    int rc;

    if ((rc = bt_node_load(ck->p, pgno, level, 0, &nd)) != 0)
        goto done;
    if ((rc = bt_node_verify(&nd, 1)) != 0)
        goto done;
    if (nd.level == 0 && get_le32(nd.pg.data + BT_OFF_CHILD0) != 0) {
        rc = err_set(CL_ECORRUPT, "page %u: leaf with nonzero bytes 24..27",
                     pgno);
        goto done;
    }
    if (nd.n == 0) {
        rc = err_set(CL_ECORRUPT, "page %u: %s without cells", pgno,
                     nd.level ? "branch" : "leaf");
        goto done;
    }
    for (uint32_t i = 0; i < nd.n; i++) {
        if ((rc = bt_node_cell(&nd, i, &c)) != 0)
            goto done;
        if (i > 0 && bt_keycmp(prev.key, prev.klen, c.key, c.klen) >= 0) {
            rc = err_set(CL_ECORRUPT,
                         "page %u: key of cell %u is not above the key of "
                         "cell %u",
                         pgno, i, i - 1);
            goto done;
        }
        if ((lo != NULL && bt_keycmp(c.key, c.klen, lo, lolen) < 0) ||
            (hi != NULL && bt_keycmp(c.key, c.klen, hi, hilen) >= 0)) {
            rc = err_set(CL_ECORRUPT,
                         "page %u: key of cell %u lies outside the range "
                         "the separators of its parents give",
                         pgno, i);
            goto done;
        }
        if (nd.level == 0) {
            ck->nkeys++;
            if (c.ovfl != 0 && (rc = bt_chk_ovfl(ck, pgno, &c)) != 0)
                goto done;
        }
        prev = c;
    }
    for (uint32_t j = 0; nd.level > 0 && j <= nd.n; j++) {
        const uint8_t *clo = lo, *chi = hi;
        uint32_t clolen = lolen, chilen = hilen;
        if ((rc = bt_node_child(&nd, j, &child)) != 0)
            goto done;
        if (j > 0) {
            if ((rc = bt_node_cell(&nd, j - 1, &c)) != 0)
                goto done;
            clo = c.key;
            clolen = c.klen;
        }
        if (j < nd.n) {
            if ((rc = bt_node_cell(&nd, j, &c)) != 0)
                goto done;
            chi = c.key;
            chilen = c.klen;
        }
        if ((rc = bt_chk_mark(ck, child, pgno, "child")) != 0)
            goto done;
        rc =
            bt_chk_node(ck, child, (int)nd.level - 1, clo, clolen, chi, chilen);
        if (rc != 0)
            goto done;
    }
done:
    bt_node_release(&nd);
    return rc;
}

int bt_check(pager *p, uint8_t *seen, char *msg, size_t msglen)
{
    bt_chk ck = {p, seen, pg_npages(p), 0};
    uint32_t root = pg_root(p);
    int rc = 0;

    if (root != 0) {
        if ((rc = bt_chk_mark(&ck, root, PG_META, "root")) != 0)
            goto done;
        if ((rc = bt_chk_node(&ck, root, -1, NULL, 0, NULL, 0)) != 0)
            goto done;
    }
    if (ck.nkeys != pg_nkeys(p))
        rc = err_set(CL_ECORRUPT,
                     "page %u: key count %llu, but the tree holds %llu keys",
                     PG_META, (unsigned long long)pg_nkeys(p),
                     (unsigned long long)ck.nkeys);
done:
    if (msg != NULL && msglen > 0)
        snprintf(msg, msglen, "%s", rc != 0 ? cl_errdetail() : "");
    return rc;
}
