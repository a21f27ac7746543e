/*
 * fuzz_page.c - one page: the page decoder (page_verify, rules P1-P2 of
 * engine/page_format.h) and, for a valid B+tree node, the node decoder and
 * editor of engine/btree_node.c (rules B1-B8), on arbitrary bytes.
 *
 * Input: u8 page size selector (4096 << sel % 5), le32 the page's position,
 * le64 the database salt, le32 the page count the meta page claims, u8 a
 * choice of edits, then the page (zero-padded or cut to the page size).
 * The FZ_FIXCRC variant recomputes the page's CRC first.
 *
 * Properties: no crash; BLANK only for an all-zero page; OK only with the
 * right CRC, page number and a known type.  A valid node page is then put
 * into a small page file (as page 2, or page 1 if it is a meta page) and
 * loaded: every cell the decoder accepts lies inside the page, and a node
 * that passes the full check (bt_node_verify with the overlap test) still
 * passes it after each edit the tree makes (remove, overwrite with a
 * smaller cell, insert, truncate).
 */
#include <stdlib.h>
#include <string.h>

#include "btree_node.h"
#include "coding.h"
#include "crc32c.h"
#include "fuzz.h"
#include "memfs.h"
#include "page.h"

#define FZ_PG_FILE "/m/pages"

/* Decode every cell and child of a loaded node.  Returns 0 when every cell
 * decodes (child0 is not a cell: bt_node_verify does not check it, readers
 * check it when they follow it). */
static int fz_pg_cells(const bt_node *nd)
{
    bt_cell c;
    uint32_t child;
    int bad = 0;

    for (uint32_t i = 0; i < nd->n; i++) {
        if (bt_node_cell(nd, i, &c) != 0) {
            bad = 1;
            continue;
        }
        fz_require(c.off >= nd->cstart && c.off + c.size <= nd->psize &&
                       c.key == nd->pg.data + c.off +
                                    (nd->level ? BT_BRANCH_HDR : BT_LEAF_HDR) &&
                       c.klen >= 1 && c.klen <= CL_KEY_MAX,
                   "cell %u (offset %u, %u bytes) escapes the page", i, c.off,
                   c.size);
        if (nd->level == 0 && c.ovfl == 0)
            fz_require(c.val + c.vlen <= nd->pg.data + nd->psize,
                       "inline value of cell %u escapes the page", i);
    }
    for (uint32_t j = 0; nd->level > 0 && j <= nd->n; j++)
        if (bt_node_child(nd, j, &child) == 0)
            fz_require(child >= PG_FIRST_DATA && child < pg_npages(nd->p),
                       "child %u out of range", child);
    return bad;
}

static void fz_pg_must_verify(const bt_node *nd, const char *after)
{
    fz_require(bt_node_verify(nd, 1) == 0 && fz_pg_cells(nd) == 0,
               "a valid node is no longer valid after %s: %s", after,
               cl_errdetail());
}

static const uint8_t fz_pg_key[128] = "a key and a value for the edits";

/* The edits of btree_node.c on a node that passed the full check. */
static void fz_pg_edit(bt_node *nd, uint8_t choice)
{
    static uint8_t cell[PG_SIZE_MAX]; /* any cell fits */
    bt_cell c;
    uint32_t size;

    if (bt_node_make_writable(nd) != 0)
        return;
    if (nd->n > 0 && (choice & 1)) {
        fz_require(bt_node_remove(nd, choice % nd->n) == 0, "remove failed");
        fz_pg_must_verify(nd, "remove");
    }
    if (nd->n > 0 && nd->level == 0 && (choice & 2) &&
        bt_node_cell(nd, 0, &c) == 0 && c.ovfl == 0 && c.vlen > 0) {
        size = bt_leaf_cell_encode(cell, c.key, c.klen, c.val, c.vlen - 1, 0);
        fz_require(bt_node_overwrite(nd, 0, cell, size) == 0,
                   "overwrite failed");
        fz_pg_must_verify(nd, "overwrite");
    }
    if (nd->level == 0)
        size = bt_leaf_cell_encode(cell, fz_pg_key, 1 + choice % 64, fz_pg_key,
                                   choice / 8 * 3, 0);
    else
        size = bt_branch_cell_encode(cell, fz_pg_key, 1 + choice % 64,
                                     PG_FIRST_DATA);
    if (bt_node_fits(nd, size)) {
        uint32_t idx = nd->n > 0 ? choice % (nd->n + 1) : 0;
        fz_require(bt_node_insert(nd, idx, cell, size) == 0 &&
                       bt_node_cell(nd, idx, &c) == 0 && c.size == size &&
                       memcmp(nd->pg.data + c.off, cell, size) == 0,
                   "insert of a fitting cell failed");
        fz_pg_must_verify(nd, "insert");
    }
    if (choice & 4) {
        fz_require(bt_node_truncate(nd, nd->n / 2) == 0, "truncate failed");
        fz_pg_must_verify(nd, "truncate");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {data, size};
    uint32_t ps = fz_page_size(fz_u8(&in)), pgno = fz_le32(&in);
    uint64_t salt = fz_le64(&in);
    uint32_t npages = fz_le32(&in), seed = page_crc_seed(salt), at;
    uint8_t choice = fz_u8(&in);
    uint8_t *file = NULL, *page;
    enum page_state st;
    pager_config pc;
    pager *p = NULL;
    bt_node nd = {0};
    size_t n;
    const uint8_t *src = fz_bytes(&in, ps, &n);
    char why[128];
    memfs *m = NULL;

    if ((file = calloc(3, ps)) == NULL)
        return 0;
    m = memfs_new(FZ_MEM_MAX);
    page = file + 2 * (size_t)ps;
    memcpy(page, src, n);
    if (FZ_FIX)
        fz_fix_page(page, ps, seed);
    why[0] = '\0';
    st = page_verify(page, ps, pgno, seed, why, sizeof(why));
    if (st == PAGE_BLANK) {
        fz_require(page_is_zero(page, ps), "a written page reads as blank");
        goto out;
    }
    if (st != PAGE_OK) {
        fz_require(st == PAGE_BAD && why[0] != '\0', "bad page, no reason");
        goto out;
    }
    fz_require(get_le32(page + PG_OFF_PGNO) == pgno &&
                   get_le32(page) == crc32c_extend(seed, page + 4, ps - 4) &&
                   page[PG_OFF_TYPE] >= 1 && page[PG_OFF_TYPE] <= PG_TYPE_MAX,
               "page_verify accepted a page breaking P2");

    /* A page file holding it: page 1 the meta page (or the page itself if
     * it is one), page 2 the page. */
    at = page[PG_OFF_TYPE] == PG_TYPE_META ? PG_META : PG_FIRST_DATA;
    if (at == PG_META)
        memcpy(file + ps, page, ps);
    if (at != PG_META) {
        file[ps + PG_OFF_TYPE] = PG_TYPE_META;
        put_le32(file + ps + PG_META_OFF_MAGIC, PG_META_MAGIC);
        put_le32(file + ps + PG_META_OFF_NPAGES, npages > 2 ? npages : 3);
    }
    page_seal(file + ps, ps, PG_META, seed);
    page_seal(page, ps, PG_FIRST_DATA, seed);
    if (m == NULL || memfs_put(m, FZ_PG_FILE, file, 3 * (size_t)ps) != 0)
        goto out;
    memset(&pc, 0, sizeof(pc));
    pc.io = memfs_table(m);
    pc.dir = "/m";
    pc.path = FZ_PG_FILE;
    pc.page_size = ps;
    pc.salt = salt;
    pc.frames = 16;
    pc.torn = CL_TORN_NONE;
    if (pager_open(&pc, &p) != 0 || pager_load_meta(p) != 0 || at == PG_META)
        goto out;
    pg_txn_begin(p);
    if (bt_node_load(p, PG_FIRST_DATA, -1, 0, &nd) == 0) {
        int cells_bad = fz_pg_cells(&nd);
        bt_node_verify(&nd, 0);
        if (bt_node_verify(&nd, 1) == 0) {
            fz_require(cells_bad == 0, "verified node with a bad cell");
            fz_pg_edit(&nd, choice);
        }
        bt_node_release(&nd);
    }
    pg_txn_abort(p);
out:
    pager_close(p);
    memfs_free(m);
    free(file);
    return 0;
}
