/*
 * pager_replay.c - recovery's page-level redo: applying one page entry of
 * a logged transaction (format and rules of application in pager_txn.c).
 */
#include <assert.h>
#include <string.h>

#include "errors.h"
#include "pager_int.h"
#include "txn_format.h"

void pager_set_replay_limit(pager *p, uint64_t limit)
{
    p->replay_limit = limit;
}

uint64_t pager_max_disk_lsn(const pager *p)
{
    return p->max_disk_lsn;
}

/* pge_parse's failure: CL_ECORRUPT, with the reason set if loud. */
#define PGE_BAD(...) (loud ? err_set(CL_ECORRUPT, __VA_ARGS__) : CL_ECORRUPT)

/* Check the page entry at ops (len bytes left) whole, before anything
 * touches the page.  OUT: *pgno, *kind, *used (its bytes); CL_ECORRUPT
 * if it is malformed, with the reason set if loud. */
static int pge_parse(const pager *p, const uint8_t *ops, size_t len, int loud,
                     uint32_t *pgno_out, uint8_t *kind_out, size_t *used)
{
    uint32_t pgno, nranges, size = p->page_size;
    uint8_t kind;
    size_t pos = PGE_HDR;
    int type = -1; /* the type the entry sets, -1 if none */

    if (len < PGE_HDR)
        return PGE_BAD("page entry truncated");
    pgno = get_le32(ops);
    kind = ops[4];
    nranges = get_le16(ops + 6);
    if (pgno < PG_META || pgno >= p->replay_limit)
        return PGE_BAD("page entry for page %u out of range", pgno);
    if (ops[PGE_OFF_ZERO] != 0)
        return PGE_BAD("page entry for page %u: reserved byte 5 is %u, not 0",
                       pgno, ops[PGE_OFF_ZERO]);
    if (kind == PGE_FULL) {
        if (nranges != 0 || len - pos < size - PG_LOG_OFF)
            return PGE_BAD("bad full-page entry for page %u", pgno);
        type = ops[pos + PG_OFF_TYPE - PG_LOG_OFF];
        pos += size - PG_LOG_OFF;
    } else if (kind == PGE_INIT || kind == PGE_DIFF) {
        if (kind == PGE_INIT)
            type = PG_TYPE_BLANK;
        for (uint32_t r = 0; r < nranges; r++) {
            uint32_t off, rl;
            if (len - pos < PGE_RANGE_HDR)
                return PGE_BAD("page %u: range truncated", pgno);
            off = get_le16(ops + pos);
            rl = get_le16(ops + pos + 2);
            if (off < PG_LOG_OFF || rl == 0 || off + rl > size ||
                len - pos - PGE_RANGE_HDR < rl)
                return PGE_BAD("page %u: bad range (offset %u, length %u)",
                               pgno, off, rl);
            if (off == PG_OFF_TYPE) /* ranges start at PG_LOG_OFF or later */
                type = ops[pos + PGE_RANGE_HDR];
            pos += PGE_RANGE_HDR + rl;
        }
    } else {
        return PGE_BAD("page %u: unknown entry kind %u", pgno, kind);
    }
    if (type == PG_TYPE_BLANK || type > PG_TYPE_MAX)
        return PGE_BAD("page %u: the entry would leave it with unknown page "
                       "type %d",
                       pgno, type);
    *pgno_out = pgno;
    *kind_out = kind;
    *used = pos;
    return 0;
}

int pager_entry_page(const pager *p, const uint8_t *ops, size_t len,
                     uint32_t *pgno, size_t *used)
{
    uint8_t kind;

    return pge_parse(p, ops, len, 0, pgno, &kind, used);
}

int pager_replay_entry(pager *p, const uint8_t *ops, size_t len, uint64_t lsn,
                       size_t *used, int *applied, int *repaired)
{
    uint32_t pgno, nranges, pins, size = p->page_size;
    uint8_t kind;
    size_t pos;
    pg_frame *f;
    int rc, was_bad;

    if ((rc = pge_parse(p, ops, len, 1, &pgno, &kind, used)) != 0)
        return rc;
    nranges = get_le16(ops + 6);
    *applied = 0;
    *repaired = 0;

    if ((rc = pg_fetch(p, pgno, PG_FETCH_RAW, &f)) != 0)
        return rc;
    was_bad = f->bad;
    if (!was_bad && pg_lsn_of(f->data) >= lsn) {
        pg_unpin(p, f); /* already has this change: replay is idempotent */
        return 0;
    }
    if (kind == PGE_DIFF && was_bad) {
        pg_unpin(p, f);
        return err_set_at(
            CL_ECORRUPT, CL_ERRK_PAGE, p->path, (uint64_t)pgno * size, pgno,
            "%s: page %u (offset %llu) is torn or corrupt and the "
            "log holds no full image of it since the checkpoint "
            "(torn-page protection %s)",
            p->path, pgno, (unsigned long long)pgno * size,
            p->torn == CL_TORN_NONE  ? "none"
            : p->torn == CL_TORN_DWB ? "dwb"
                                     : "fpw");
    }
    if (kind == PGE_DIFF && f->data[PG_OFF_TYPE] == PG_TYPE_BLANK) {
        pg_unpin(p, f);
        return err_set_at(CL_ECORRUPT, CL_ERRK_PAGE, p->path,
                          (uint64_t)pgno * size, pgno,
                          "%s: page %u (offset %llu) is torn or corrupt: it "
                          "reads as all zeros but the log changes it as a "
                          "written page (a torn write, or a lost one)",
                          p->path, pgno, (unsigned long long)pgno * size);
    }
    if (kind == PGE_FULL) {
        memcpy(f->data + PG_LOG_OFF, ops + PGE_HDR, size - PG_LOG_OFF);
    } else {
        if (kind == PGE_INIT)
            memset(f->data + PG_LOG_OFF, 0, size - PG_LOG_OFF);
        pos = PGE_HDR;
        for (uint32_t r = 0; r < nranges; r++) {
            uint32_t off = get_le16(ops + pos), rl = get_le16(ops + pos + 2);
            memcpy(f->data + off, ops + pos + PGE_RANGE_HDR, rl);
            pos += PGE_RANGE_HDR + rl;
        }
    }
    put_le64(f->data + PG_OFF_LSN, lsn);
    put_le32(f->data + PG_OFF_PGNO, pgno);
    /* Recovery is the pager's only user (cl_open has not handed the handle
     * to anyone yet, nor started a thread), so no lock and no atomic
     * read-modify-write here: with them, a log of 64 MiB of page changes
     * took a quarter longer to replay (docs/BENCH.md). */
    f->bad = 0;
    f->dirty = 1;
    f->owner_mark = 0;
    pins = atomic_load_explicit(&f->pins, memory_order_relaxed);
    assert((pins & ~PG_EVICTING) > 0);
    atomic_store_explicit(&f->pins, pins - 1, memory_order_relaxed);
    *applied = 1;
    *repaired = was_bad;
    return 0;
}
