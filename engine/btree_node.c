/*
 * btree_node.c - B+tree node pages: header validation on load, bounds-checked
 * cell decoding, and the edits the tree makes to a slotted page.  The byte
 * layout and the numbered validity rules (B1..B14) are at the top of
 * btree.c; the constants in btree_format.h.
 *
 * Edits are written to change few bytes, because the pager logs each
 * changed page as a byte diff against its before-image: a new cell goes to
 * the bottom of the free gap and only the slots after it move; a removed
 * cell's bytes stay where they are and are counted in frag; the cell area is
 * compacted only when an insert needs the space, and compaction slides cells
 * towards the page end so that those already packed there do not move.
 */
#include "btree_node.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "errors.h"

/* One cell's place, for compaction and the overlap check. */
typedef struct bt_span {
    uint32_t off;  /* offset in the page */
    uint32_t size; /* bytes */
    uint32_t slot; /* index of the slot pointing at it */
} bt_span;

/* Write the header fields kept in nd back to the page. */
static void bt_node_put_hdr(bt_node *nd)
{
    uint8_t *d = nd->pg.data;

    assert(nd->n <= 0xffff && nd->frag <= 0xffff);
    put_le16(d + BT_OFF_NCELLS, (uint16_t)nd->n);
    /* The page end (65536 for the largest pages) is written as 0. */
    put_le16(d + BT_OFF_CSTART,
             (uint16_t)(nd->cstart == nd->psize ? 0 : nd->cstart));
    put_le16(d + BT_OFF_FRAG, (uint16_t)nd->frag);
}

static uint32_t bt_node_slot(const bt_node *nd, uint32_t i)
{
    return get_le16(nd->pg.data + BT_OFF_SLOTS + BT_SLOT_SIZE * i);
}

/* 1 if pgno may be the page of a node or an overflow page (rule B7). */
static int bt_node_pgno_ok(const bt_node *nd, uint32_t pgno)
{
    return pgno >= PG_FIRST_DATA && pgno < pg_npages(nd->p);
}

int bt_node_load(pager *p, uint32_t pgno, int want_level, int write,
                 bt_node *out)
{
    bt_node nd;
    const uint8_t *d;
    uint32_t type, raw, slot_end;
    int rc;

    memset(&nd, 0, sizeof(nd));
    nd.p = p;
    nd.psize = pg_page_size(p);
    rc = write ? pg_get_write(p, pgno, &nd.pg) : pg_get(p, pgno, &nd.pg);
    if (rc != 0)
        goto fail;
    d = nd.pg.data;
    type = d[PG_OFF_TYPE];
    nd.level = d[BT_OFF_LEVEL];
    if (type != PG_TYPE_LEAF && type != PG_TYPE_BRANCH) {
        rc = err_set(CL_ECORRUPT, "page %u: type %u is not a B+tree node", pgno,
                     type);
        goto fail;
    }
    if ((type == PG_TYPE_LEAF) != (nd.level == 0) || nd.level > BT_MAX_LEVEL) {
        rc = err_set(CL_ECORRUPT, "page %u: %s page with level %u", pgno,
                     type == PG_TYPE_LEAF ? "leaf" : "branch", nd.level);
        goto fail;
    }
    if (want_level >= 0 && nd.level != (uint32_t)want_level) {
        rc = err_set(CL_ECORRUPT,
                     "page %u: node of level %u where its parent expects "
                     "level %d",
                     pgno, nd.level, want_level);
        goto fail;
    }
    nd.n = get_le16(d + BT_OFF_NCELLS);
    raw = get_le16(d + BT_OFF_CSTART);
    nd.cstart = raw == 0 ? nd.psize : raw;
    slot_end = BT_OFF_SLOTS + BT_SLOT_SIZE * nd.n;
    if (nd.cstart < slot_end || nd.cstart > nd.psize) {
        rc = err_set(CL_ECORRUPT,
                     "page %u: cell area starts at %u, outside [%u, %u] "
                     "for %u slots",
                     pgno, nd.cstart, slot_end, nd.psize, nd.n);
        goto fail;
    }
    nd.frag = get_le16(d + BT_OFF_FRAG);
    if (nd.frag > nd.psize - nd.cstart) {
        rc = err_set(CL_ECORRUPT,
                     "page %u: %u fragment bytes in a cell area of %u bytes",
                     pgno, nd.frag, nd.psize - nd.cstart);
        goto fail;
    }
    *out = nd;
    return 0;

fail:
    pg_release(p, &nd.pg);
    return rc;
}

void bt_node_release(bt_node *nd)
{
    if (nd->pg.data != NULL)
        pg_release(nd->p, &nd->pg);
    memset(&nd->pg, 0, sizeof(nd->pg));
}

int bt_node_make_writable(bt_node *nd)
{
    return pg_write(nd->p, &nd->pg);
}

int bt_node_new(pager *p, uint32_t level, uint32_t child0, bt_node *out)
{
    bt_node nd;
    int rc;

    assert(level <= BT_MAX_LEVEL && (level == 0) == (child0 == 0));
    memset(&nd, 0, sizeof(nd));
    nd.p = p;
    nd.psize = pg_page_size(p);
    rc = pg_alloc(p, level == 0 ? PG_TYPE_LEAF : PG_TYPE_BRANCH, &nd.pg);
    if (rc != 0)
        return rc;
    nd.level = level;
    nd.n = 0;
    nd.cstart = nd.psize;
    nd.frag = 0;
    nd.pg.data[BT_OFF_LEVEL] = (uint8_t)level;
    put_le32(nd.pg.data + BT_OFF_CHILD0, child0);
    bt_node_put_hdr(&nd);
    *out = nd;
    return 0;
}

int bt_node_cell(const bt_node *nd, uint32_t i, bt_cell *c)
{
    const uint8_t *d = nd->pg.data;
    uint32_t ps = nd->psize, pgno = nd->pg.pgno;
    uint32_t hdr = nd->level == 0 ? BT_LEAF_HDR : BT_BRANCH_HDR;
    uint64_t size;
    bt_cell x;

    assert(i < nd->n);
    memset(&x, 0, sizeof(x));
    x.off = bt_node_slot(nd, i);
    if (x.off < nd->cstart || x.off + hdr > ps)
        return err_set(CL_ECORRUPT,
                       "page %u: slot %u points at %u, outside the cell "
                       "area [%u, %u)",
                       pgno, i, x.off, nd->cstart, ps - hdr + 1);
    x.klen = get_le16(d + x.off);
    if (x.klen == 0 || x.klen > CL_KEY_MAX)
        return err_set(CL_ECORRUPT, "page %u: cell %u has key length %u", pgno,
                       i, x.klen);
    x.key = d + x.off + hdr;
    if (nd->level == 0) {
        uint8_t flags = d[x.off + BT_LEAF_OFF_FLAGS];
        x.vlen = get_le32(d + x.off + BT_LEAF_OFF_VLEN);
        if (flags & ~BT_LEAF_F_OVERFLOW)
            return err_set(CL_ECORRUPT, "page %u: cell %u has flags 0x%02x",
                           pgno, i, flags);
        if (flags & BT_LEAF_F_OVERFLOW) {
            size = hdr + x.klen + BT_OVFL_REF;
            if (x.vlen > CL_VALUE_MAX || BT_INLINE(ps, x.klen, x.vlen))
                return err_set(CL_ECORRUPT,
                               "page %u: cell %u: overflow value of %u bytes "
                               "with a %u-byte key (inline limit %u)",
                               pgno, i, x.vlen, x.klen, BT_LOCAL_MAX(ps));
        } else {
            size = (uint64_t)hdr + x.klen + x.vlen;
            if (!BT_INLINE(ps, x.klen, x.vlen))
                return err_set(CL_ECORRUPT,
                               "page %u: cell %u: inline cell of %llu bytes "
                               "exceeds %u",
                               pgno, i, (unsigned long long)size,
                               BT_LOCAL_MAX(ps));
        }
    } else {
        size = hdr + x.klen;
    }
    if (x.off + size > ps)
        return err_set(CL_ECORRUPT,
                       "page %u: cell %u at %u of %llu bytes runs past the "
                       "page end %u",
                       pgno, i, x.off, (unsigned long long)size, ps);
    x.size = (uint32_t)size;
    if (nd->level == 0) {
        if (d[x.off + BT_LEAF_OFF_FLAGS] & BT_LEAF_F_OVERFLOW) {
            x.ovfl = get_le32(d + x.off + hdr + x.klen);
            if (!bt_node_pgno_ok(nd, x.ovfl))
                return err_set(CL_ECORRUPT,
                               "page %u: cell %u: overflow page %u out of "
                               "range [%u, %u)",
                               pgno, i, x.ovfl, PG_FIRST_DATA,
                               pg_npages(nd->p));
        } else {
            x.val = d + x.off + hdr + x.klen;
        }
    } else {
        x.child = get_le32(d + x.off + BT_BRANCH_OFF_CHILD);
        if (!bt_node_pgno_ok(nd, x.child))
            return err_set(CL_ECORRUPT,
                           "page %u: cell %u: child page %u out of range "
                           "[%u, %u)",
                           pgno, i, x.child, PG_FIRST_DATA, pg_npages(nd->p));
    }
    *c = x;
    return 0;
}

int bt_node_child(const bt_node *nd, uint32_t j, uint32_t *pgno)
{
    bt_cell c;
    uint32_t child;
    int rc;

    assert(nd->level > 0 && j <= nd->n);
    if (j > 0) {
        if ((rc = bt_node_cell(nd, j - 1, &c)) != 0)
            return rc;
        *pgno = c.child;
        return 0;
    }
    child = get_le32(nd->pg.data + BT_OFF_CHILD0);
    if (!bt_node_pgno_ok(nd, child))
        return err_set(CL_ECORRUPT,
                       "page %u: leftmost child %u out of range [%u, %u)",
                       nd->pg.pgno, child, PG_FIRST_DATA, pg_npages(nd->p));
    *pgno = child;
    return 0;
}

/* Order spans by offset, highest first. */
static int bt_span_cmp(const void *a, const void *b)
{
    const bt_span *x = a, *y = b;

    return (x->off < y->off) - (x->off > y->off);
}

/* Decode every cell into spans (malloc'd, n entries, sorted by offset from
 * the highest when sorted is nonzero).  OUT: *out (NULL when n is 0), *sum
 * (bytes of all cells). */
static int bt_node_spans(const bt_node *nd, int sorted, bt_span **out,
                         uint64_t *sum)
{
    bt_span *sp = NULL;
    uint64_t total = 0;
    bt_cell c;
    int rc = 0;

    if (nd->n > 0 && (sp = malloc(nd->n * sizeof(*sp))) == NULL) {
        rc = err_set(CL_ENOMEM, "page %u: no memory for %u cells", nd->pg.pgno,
                     nd->n);
        goto fail;
    }
    for (uint32_t i = 0; i < nd->n; i++) {
        if ((rc = bt_node_cell(nd, i, &c)) != 0)
            goto fail;
        sp[i].off = c.off;
        sp[i].size = c.size;
        sp[i].slot = i;
        total += c.size;
    }
    if (sorted && nd->n > 1)
        qsort(sp, nd->n, sizeof(*sp), bt_span_cmp);
    *out = sp;
    *sum = total;
    return 0;

fail:
    free(sp);
    return rc;
}

/* Rule B8 on sorted spans: each cell ends at or before the next higher one
 * starts. */
static int bt_spans_disjoint(const bt_node *nd, const bt_span *sp)
{
    uint32_t limit = nd->psize;

    for (uint32_t i = 0; i < nd->n; i++) {
        if (sp[i].off + sp[i].size > limit)
            return err_set(CL_ECORRUPT,
                           "page %u: cell %u at %u (%u bytes) overlaps the "
                           "cell at %u",
                           nd->pg.pgno, sp[i].slot, sp[i].off, sp[i].size,
                           limit);
        limit = sp[i].off;
    }
    return 0;
}

int bt_node_verify(const bt_node *nd, int overlap)
{
    bt_span *sp = NULL;
    uint64_t sum = 0;
    int rc;

    if ((rc = bt_node_spans(nd, overlap, &sp, &sum)) != 0)
        goto done;
    if (sum + nd->frag != nd->psize - nd->cstart) {
        rc = err_set(CL_ECORRUPT,
                     "page %u: cells take %llu bytes and frag is %u, but "
                     "the cell area [%u, %u) has %u",
                     nd->pg.pgno, (unsigned long long)sum, nd->frag, nd->cstart,
                     nd->psize, nd->psize - nd->cstart);
        goto done;
    }
    if (overlap)
        rc = bt_spans_disjoint(nd, sp);
done:
    free(sp);
    return rc;
}

int bt_node_verify_edit(bt_node *nd)
{
    int rc;

    if (pg_owner_mark(&nd->pg))
        return 0;
    if ((rc = bt_node_verify(nd, 0)) == 0)
        pg_set_owner_mark(&nd->pg);
    return rc;
}

uint32_t bt_node_used(const bt_node *nd)
{
    return BT_SLOT_SIZE * nd->n + (nd->psize - nd->cstart - nd->frag);
}

int bt_node_fits(const bt_node *nd, uint32_t csize)
{
    return bt_node_used(nd) + csize + BT_SLOT_SIZE <= BT_USABLE(nd->psize);
}

/* Slide every cell towards the page end, removing the fragments between
 * them, so that the free gap is all the free space.  Cells that are already
 * packed against the end keep their bytes and offsets. */
static int bt_node_compact(bt_node *nd)
{
    uint8_t *d = nd->pg.data;
    bt_span *sp = NULL;
    uint64_t sum = 0;
    uint32_t dest = nd->psize;
    int rc;

    if ((rc = bt_node_spans(nd, 1, &sp, &sum)) != 0)
        goto done;
    /* Moving a cell up over one not yet moved would destroy it. */
    if ((rc = bt_spans_disjoint(nd, sp)) != 0)
        goto done;
    for (uint32_t i = 0; i < nd->n; i++) {
        /* dest >= sp[i].off: the cells moved so far all lie in
         * [sp[i].off, psize) and are disjoint. */
        dest -= sp[i].size;
        if (dest != sp[i].off) {
            memmove(d + dest, d + sp[i].off, sp[i].size);
            put_le16(d + BT_OFF_SLOTS + BT_SLOT_SIZE * sp[i].slot,
                     (uint16_t)dest);
        }
    }
    nd->cstart = dest;
    nd->frag = 0;
    bt_node_put_hdr(nd);
done:
    free(sp);
    return rc;
}

int bt_node_insert(bt_node *nd, uint32_t idx, const uint8_t *cell,
                   uint32_t csize)
{
    uint8_t *slots = nd->pg.data + BT_OFF_SLOTS;
    uint32_t need = BT_OFF_SLOTS + BT_SLOT_SIZE * (nd->n + 1) + csize;
    uint32_t off;
    int rc;

    assert(idx <= nd->n && bt_node_fits(nd, csize));
    if (nd->cstart < need) {
        if ((rc = bt_node_compact(nd)) != 0)
            return rc;
        /* Only a frag count that disagrees with the cells can leave too
         * little room here, and the caller has verified it; check anyway,
         * since the bytes came from disk. */
        if (nd->cstart < need)
            return err_set(CL_ECORRUPT,
                           "page %u: no room for a %u-byte cell after "
                           "compaction",
                           nd->pg.pgno, csize);
    }
    off = nd->cstart - csize;
    memcpy(nd->pg.data + off, cell, csize);
    memmove(slots + BT_SLOT_SIZE * (idx + 1), slots + BT_SLOT_SIZE * idx,
            BT_SLOT_SIZE * (nd->n - idx));
    put_le16(slots + BT_SLOT_SIZE * idx, (uint16_t)off);
    nd->n++;
    nd->cstart = off;
    bt_node_put_hdr(nd);
    return 0;
}

/* Account for the removal of cell c's bytes from the cell area. */
static void bt_node_drop_bytes(bt_node *nd, const bt_cell *c)
{
    if (c->off == nd->cstart)
        nd->cstart += c->size;
    else
        nd->frag += c->size;
}

/* An empty node has an empty cell area: no fragments to carry around. */
static void bt_node_reset_if_empty(bt_node *nd)
{
    if (nd->n == 0) {
        nd->cstart = nd->psize;
        nd->frag = 0;
    }
}

int bt_node_remove(bt_node *nd, uint32_t idx)
{
    uint8_t *slots = nd->pg.data + BT_OFF_SLOTS;
    bt_cell c;
    int rc;

    assert(idx < nd->n);
    if ((rc = bt_node_cell(nd, idx, &c)) != 0)
        return rc;
    bt_node_drop_bytes(nd, &c);
    memmove(slots + BT_SLOT_SIZE * idx, slots + BT_SLOT_SIZE * (idx + 1),
            BT_SLOT_SIZE * (nd->n - idx - 1));
    nd->n--;
    bt_node_reset_if_empty(nd);
    bt_node_put_hdr(nd);
    return 0;
}

int bt_node_truncate(bt_node *nd, uint32_t keep)
{
    bt_cell c;
    int rc;

    assert(keep <= nd->n);
    /* From the last cell down, so that cells at the bottom of the area
     * give their bytes back to the gap where they can. */
    while (nd->n > keep) {
        if ((rc = bt_node_cell(nd, nd->n - 1, &c)) != 0)
            return rc;
        bt_node_drop_bytes(nd, &c);
        nd->n--;
    }
    bt_node_reset_if_empty(nd);
    bt_node_put_hdr(nd);
    return 0;
}

int bt_node_overwrite(bt_node *nd, uint32_t idx, const uint8_t *cell,
                      uint32_t csize)
{
    bt_cell c;
    int rc;

    if ((rc = bt_node_cell(nd, idx, &c)) != 0)
        return rc;
    assert(csize <= c.size);
    memcpy(nd->pg.data + c.off, cell, csize);
    nd->frag += c.size - csize;
    bt_node_put_hdr(nd);
    return 0;
}

void bt_node_set_child0(bt_node *nd, uint32_t child0)
{
    assert(nd->level > 0);
    put_le32(nd->pg.data + BT_OFF_CHILD0, child0);
}

uint32_t bt_leaf_cell_size(size_t klen, size_t vlen, int overflow)
{
    return (uint32_t)(BT_LEAF_HDR + klen + (overflow ? BT_OVFL_REF : vlen));
}

uint32_t bt_leaf_cell_encode(uint8_t *buf, const void *key, size_t klen,
                             const void *val, size_t vlen, uint32_t ovfl)
{
    assert(klen >= 1 && klen <= CL_KEY_MAX && vlen <= CL_VALUE_MAX);
    put_le16(buf + BT_LEAF_OFF_KLEN, (uint16_t)klen);
    put_le32(buf + BT_LEAF_OFF_VLEN, (uint32_t)vlen);
    buf[BT_LEAF_OFF_FLAGS] = ovfl != 0 ? BT_LEAF_F_OVERFLOW : 0;
    memcpy(buf + BT_LEAF_HDR, key, klen);
    if (ovfl != 0)
        put_le32(buf + BT_LEAF_HDR + klen, ovfl);
    else if (vlen > 0)
        memcpy(buf + BT_LEAF_HDR + klen, val, vlen);
    return bt_leaf_cell_size(klen, vlen, ovfl != 0);
}

uint32_t bt_branch_cell_encode(uint8_t *buf, const void *key, size_t klen,
                               uint32_t child)
{
    assert(klen >= 1 && klen <= CL_KEY_MAX);
    put_le16(buf + BT_BRANCH_OFF_KLEN, (uint16_t)klen);
    put_le32(buf + BT_BRANCH_OFF_CHILD, child);
    memmove(buf + BT_BRANCH_HDR, key, klen);
    return (uint32_t)(BT_BRANCH_HDR + klen);
}

int bt_node_key_bad(const bt_node *nd, uint32_t i, uint32_t off, uint32_t klen)
{
    uint32_t hdr = nd->level == 0 ? BT_LEAF_HDR : BT_BRANCH_HDR;

    if (off < nd->cstart || off + hdr > nd->psize)
        return err_set(CL_ECORRUPT,
                       "page %u: slot %u points at %u, outside the cell "
                       "area [%u, %u)",
                       nd->pg.pgno, i, off, nd->cstart, nd->psize - hdr + 1);
    if (klen == 0 || klen > CL_KEY_MAX)
        return err_set(CL_ECORRUPT, "page %u: cell %u has key length %u",
                       nd->pg.pgno, i, klen);
    return err_set(CL_ECORRUPT,
                   "page %u: cell %u at %u with a %u-byte key runs past the "
                   "page end %u",
                   nd->pg.pgno, i, off, klen, nd->psize);
}
