/*
 * pager_replay.c - recovery's page-level redo: applying page entries of
 * logged transactions (format and rules of application in pager_txn.c),
 * each page's when it is first read (the redo index below).
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "mem.h"
#include "page.h"
#include "page_format.h"
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

/* Apply the entry at ops (checked by pge_parse: page pgno, kind) of a
 * record ending at lsn to page bytes d, torn or corrupt if *bad.  A page
 * that has the change already (its LSN is not older) is left alone: redo is
 * idempotent.  OUT: *applied, *repaired (it was bad: a full or initialising
 * entry rebuilt it); *bad 0 once applied. */
static int pge_apply(pager *p, uint8_t *d, int *bad, const uint8_t *ops,
                     uint32_t pgno, uint8_t kind, uint64_t lsn, int *applied,
                     int *repaired)
{
    uint32_t nranges = get_le16(ops + 6), size = p->page_size;
    size_t pos;

    *applied = 0;
    *repaired = 0;
    if (!*bad && pg_lsn_of(d) >= lsn)
        return 0;
    if (kind == PGE_DIFF && *bad)
        return err_set_at(
            CL_ECORRUPT, CL_ERRK_PAGE, p->path, (uint64_t)pgno * size, pgno,
            "%s: page %u (offset %llu) is torn or corrupt and the "
            "log holds no full image of it since the checkpoint "
            "(torn-page protection %s)",
            p->path, pgno, (unsigned long long)pgno * size,
            p->torn == CL_TORN_NONE  ? "none"
            : p->torn == CL_TORN_DWB ? "dwb"
                                     : "fpw");
    if (kind == PGE_DIFF && d[PG_OFF_TYPE] == PG_TYPE_BLANK)
        return err_set_at(CL_ECORRUPT, CL_ERRK_PAGE, p->path,
                          (uint64_t)pgno * size, pgno,
                          "%s: page %u (offset %llu) is torn or corrupt: it "
                          "reads as all zeros but the log changes it as a "
                          "written page (a torn write, or a lost one)",
                          p->path, pgno, (unsigned long long)pgno * size);
    if (kind == PGE_FULL) {
        memcpy(d + PG_LOG_OFF, ops + PGE_HDR, size - PG_LOG_OFF);
    } else {
        if (kind == PGE_INIT)
            memset(d + PG_LOG_OFF, 0, size - PG_LOG_OFF);
        pos = PGE_HDR;
        for (uint32_t r = 0; r < nranges; r++) {
            uint32_t off = get_le16(ops + pos), rl = get_le16(ops + pos + 2);
            memcpy(d + off, ops + pos + PGE_RANGE_HDR, rl);
            pos += PGE_RANGE_HDR + rl;
        }
    }
    put_le64(d + PG_OFF_LSN, lsn);
    put_le32(d + PG_OFF_PGNO, pgno);
    *repaired = *bad;
    *bad = 0;
    *applied = 1;
    return 0;
}

/* ---------------------------------------------------------------------- */
/* redo at first read                                                     */
/* ---------------------------------------------------------------------- */

#define PG_REDO_END UINT32_MAX     /* no entry */
#define PG_REDO_CHUNK (256u << 10) /* bytes of the in-memory copies */
#define PG_REDO_RESERVE (1u << 24) /* entries reserved at most (256 MiB) */
/* A page's entries in a segment that lie within this many bytes of each
 * other are read again with one read (the meta page and the root change in
 * nearly every record, and a log of small records puts them close). */
#define PG_REDO_SPAN (64u << 10)

/* A record whose entries are in the index: where its first entry is, in
 * its segment and maybe in memory. */
typedef struct pg_redo_rec {
    uint64_t lsn;       /* its end LSN */
    uint64_t off;       /* file offset of its first entry in segment seg */
    const uint8_t *mem; /* its entries' bytes, or NULL: read them again */
    uint32_t seg;       /* index into segs */
} pg_redo_rec;

/* An entry: 16 bytes, as a log of page changes holds about one entry per
 * 100 bytes and all of them are indexed at the open. */
typedef struct pg_redo_ent {
    uint32_t rec;  /* its record */
    uint32_t at;   /* bytes from the record's first entry */
    uint32_t len;  /* bytes */
    uint32_t prev; /* the page's entry before it, or PG_REDO_END (a list
                      from the newest, so that adding one touches no
                      other) */
} pg_redo_ent;

/* A page with entries: pgno 0 marks a free slot.  last is its newest
 * entry, n the entries waiting: 0 once they are applied (or dropped). */
typedef struct pg_redo_slot {
    uint32_t pgno, last, n;
} pg_redo_slot;

typedef struct pg_redo_seg {
    char *path;
    int fd; /* -1 until an entry is read from it */
} pg_redo_seg;

struct pg_redo {
    pg_redo_ent *ent;
    size_t nent, capent;
    pg_redo_rec *rec;
    size_t nrec, caprec;
    pg_redo_slot *slot;
    uint32_t mask;     /* slots - 1, a power of two */
    size_t used_slots; /* slots with a page (waiting or done) */
    uint64_t waiting;  /* pages whose entries wait */
    pg_redo_seg *seg;
    size_t nseg, capseg;
    uint8_t **chunk; /* the in-memory copies */
    size_t nchunk, capchunk, chunk_used, chunk_cap;
    uint64_t kept, budget; /* bytes kept in memory, and the most */
    uint8_t *buf;          /* entries read again from a segment */
    size_t bufcap;
    uint64_t buf_off, buf_len; /* which bytes of it buf holds */
    uint32_t buf_seg;          /* which segment, or PG_REDO_END */
    uint32_t *order; /* a page's entries, oldest first, being applied */
    size_t caporder;
    uint32_t root;    /* the tree's root as the meta page names it */
    uint64_t end_lsn; /* the log's end (rule 6), once ready */
    int ready;
    int act; /* CL_ACT_REDO announced (cl_io.activity) */
};

static uint32_t pg_redo_hash(uint32_t pgno)
{
    return pgno * 2654435761u;
}

static pg_redo_slot *pg_redo_find(pg_redo *r, uint32_t pgno)
{
    for (uint32_t i = pg_redo_hash(pgno) & r->mask;; i = (i + 1) & r->mask) {
        if (r->slot[i].pgno == pgno)
            return &r->slot[i];
        if (r->slot[i].pgno == 0)
            return NULL;
    }
}

/* The slot of pgno, added if need be (the table kept at most half full). */
static pg_redo_slot *pg_redo_slot_of(pg_redo *r, uint32_t pgno)
{
    pg_redo_slot *s = pg_redo_find(r, pgno);
    uint32_t i;

    if (s != NULL)
        return s;
    if (2 * (r->used_slots + 1) > (size_t)r->mask + 1) {
        uint32_t mask = 2 * r->mask + 1;
        pg_redo_slot *t = calloc((size_t)mask + 1, sizeof(*t));
        if (t == NULL)
            return NULL;
        for (uint32_t j = 0; j <= r->mask; j++) {
            if (r->slot[j].pgno == 0)
                continue;
            for (i = pg_redo_hash(r->slot[j].pgno) & mask; t[i].pgno != 0;
                 i = (i + 1) & mask)
                ;
            t[i] = r->slot[j];
        }
        free(r->slot);
        r->slot = t;
        r->mask = mask;
    }
    for (i = pg_redo_hash(pgno) & r->mask; r->slot[i].pgno != 0;
         i = (i + 1) & r->mask)
        ;
    r->slot[i].pgno = pgno;
    r->slot[i].last = PG_REDO_END;
    r->slot[i].n = 0;
    r->used_slots++;
    return &r->slot[i];
}

void pg_redo_free(pager *p)
{
    pg_redo *r = p->redo;

    if (r == NULL)
        return;
    if (r->act)
        cl_io_activity(p->io, CL_ACT_REDO, 0);
    for (size_t i = 0; i < r->nseg; i++) {
        if (r->seg[i].fd >= 0)
            p->io->close(p->io->ctx, r->seg[i].fd);
        free(r->seg[i].path);
    }
    for (size_t i = 0; i < r->nchunk; i++)
        free(r->chunk[i]);
    free(r->chunk);
    free(r->seg);
    free(r->slot);
    free(r->ent);
    free(r->rec);
    free(r->buf);
    free(r->order);
    free(r);
    p->redo = NULL;
}

/* Room for cap entries in r->ent (which holds r->nent): in huge pages
 * from 2 MiB on, touched only as entries come.  Returns 0 or -1. */
static int pg_redo_room(pg_redo *r, uint64_t cap)
{
    uint64_t bytes = cap * sizeof(pg_redo_ent);
    pg_redo_ent *e;

    if (cap > PG_REDO_END - 1 || bytes > SIZE_MAX / 2)
        return -1;
    if (bytes >= MEM_HUGE)
        bytes = (bytes + MEM_HUGE - 1) / MEM_HUGE * MEM_HUGE;
    if ((e = mem_alloc_huge((size_t)bytes)) == NULL)
        return -1;
    if (r->nent > 0)
        memcpy(e, r->ent, r->nent * sizeof(*e));
    free(r->ent);
    r->ent = e;
    r->capent = (size_t)(bytes / sizeof(pg_redo_ent));
    return 0;
}

int pager_redo_begin(pager *p, uint64_t mem_budget, uint64_t log_bytes)
{
    pg_redo *r = calloc(1, sizeof(*r));
    /* room for the entries of a log of page changes (about one per 100
     * bytes; a log of smaller ones grows it, by copying), reserved at once
     * and touched as they come, up to PG_REDO_RESERVE entries */
    uint64_t cap = log_bytes / 32 + 1024;

    if (cap > PG_REDO_RESERVE)
        cap = PG_REDO_RESERVE;
    if (r == NULL || (r->slot = calloc(64, sizeof(*r->slot))) == NULL ||
        pg_redo_room(r, cap) != 0) {
        if (r != NULL)
            free(r->slot);
        free(r);
        return err_set(CL_ENOMEM, "no memory for recovery's redo index");
    }
    r->mask = 63;
    r->budget = mem_budget;
    r->buf_seg = PG_REDO_END;
    pg_redo_free(p);
    p->redo = r;
    return 0;
}

int pager_redo_segment(pager *p, const char *path, uint32_t *seg)
{
    pg_redo *r = p->redo;

    if (mem_grow(&r->seg, &r->capseg, r->nseg + 1, sizeof(*r->seg), 8) != 0)
        return err_set(CL_ENOMEM, "no memory for recovery's redo index");
    if ((r->seg[r->nseg].path = strdup(path)) == NULL)
        return err_set(CL_ENOMEM, "no memory for recovery's redo index");
    r->seg[r->nseg].fd = -1;
    *seg = (uint32_t)r->nseg++;
    return 0;
}

/* A copy of the n bytes at b in the in-memory copies, or NULL. */
static const uint8_t *pg_redo_keep(pg_redo *r, const uint8_t *b, size_t n)
{
    uint8_t *c;

    if (r->kept + n > r->budget)
        return NULL;
    if (r->nchunk == 0 || r->chunk_used + n > r->chunk_cap) {
        if (mem_grow(&r->chunk, &r->capchunk, r->nchunk + 1, sizeof(*r->chunk),
                     16) != 0)
            return NULL;
        /* huge pages for a large budget: a fault per 2 MiB */
        size_t sz = r->budget >= MEM_HUGE / 2 ? MEM_HUGE : PG_REDO_CHUNK;
        if (n > sz)
            sz = (n + MEM_HUGE - 1) / MEM_HUGE * MEM_HUGE;
        if ((r->chunk[r->nchunk] = mem_alloc_huge(sz)) == NULL)
            return NULL;
        r->chunk_cap = sz;
        r->nchunk++;
        r->chunk_used = 0;
    }
    c = r->chunk[r->nchunk - 1] + r->chunk_used;
    memcpy(c, b, n);
    r->chunk_used += n;
    r->kept += n;
    return c;
}

/* Apply the entry at ops (parsed: page pgno, kind) of a record ending at
 * lsn to page pgno now: a page redone already, during the scan. */
static int pg_redo_now(pager *p, const uint8_t *ops, uint32_t pgno,
                       uint8_t kind, uint64_t lsn)
{
    pg_frame *f;
    int rc, bad, a, rep;

    if ((rc = pg_fetch(p, pgno, PG_FETCH_RAW, &f)) != 0)
        return rc;
    bad = f->bad;
    rc = pge_apply(p, f->data, &bad, ops, pgno, kind, lsn, &a, &rep);
    pthread_mutex_lock(&p->mu);
    if (rc == 0 && a) {
        f->bad = 0;
        f->dirty = 1;
        f->owner_mark = 0;
        p->redo_applied++;
        p->redo_repaired += (uint64_t)rep;
    }
    pthread_mutex_unlock(&p->mu);
    pg_unpin(p, f);
    return rc;
}

/* Redo page pgno now (during the scan), if entries wait for it. */
static int pg_redo_read(pager *p, uint32_t pgno)
{
    pg_frame *f;
    int rc = pg_fetch(p, pgno, PG_FETCH_RAW, &f);

    if (rc == 0)
        pg_unpin(p, f);
    return rc;
}

/* After a change of the meta page: the tree's root, which it names, is
 * redone as the log is read too. */
static int pg_redo_follow_root(pager *p)
{
    pg_frame *f;
    uint32_t root;
    int rc;

    if ((rc = pg_fetch(p, PG_META, PG_FETCH_RAW, &f)) != 0)
        return rc;
    root = get_le32(f->data + PG_META_OFF_ROOT);
    pg_unpin(p, f);
    if (root == p->redo->root)
        return 0;
    p->redo->root = root;
    return root >= PG_FIRST_DATA && root < p->replay_limit
               ? pg_redo_read(p, root)
               : 0;
}

int pager_redo_record(pager *p, const uint8_t *ents, size_t len, uint32_t count,
                      uint64_t lsn, uint32_t seg, uint64_t off, size_t *used)
{
    pg_redo *r = p->redo;
    pg_redo_rec *rec;
    uint32_t nrec;
    size_t pos = 0, u;
    int rc;

    if (r->nrec >= PG_REDO_END ||
        mem_grow(&r->rec, &r->caprec, r->nrec + 1, sizeof(*r->rec), 64) != 0)
        return err_set(CL_ENOMEM, "no memory for recovery's redo index");
    nrec = (uint32_t)r->nrec++;
    rec = &r->rec[nrec];
    rec->lsn = lsn;
    rec->off = off;
    rec->seg = seg;
    /* kept before the entries are parsed: the redo of the meta page or
     * the root below reads them */
    rec->mem = pg_redo_keep(r, ents, len);
    for (uint32_t i = 0; i < count; i++) {
        pg_redo_slot *s;
        pg_redo_ent *e;
        uint32_t pgno;
        uint8_t kind;
        if ((rc = pge_parse(p, ents + pos, len - pos, 1, &pgno, &kind, &u)) !=
            0)
            return rc;
        if ((r->nent == r->capent &&
             pg_redo_room(r, 2 * (uint64_t)r->capent) != 0) ||
            (s = pg_redo_slot_of(r, pgno)) == NULL)
            return err_set(CL_ENOMEM, "no memory for recovery's redo index");
        if (s->n == 0 && s->last != PG_REDO_END) {
            /* redone already (the meta page, the root): applied now */
            if ((rc = pg_redo_now(p, ents + pos, pgno, kind, lsn)) != 0)
                return rc;
        } else {
            if (s->n == 0)
                r->waiting++;
            e = &r->ent[r->nent];
            e->rec = nrec;
            e->at = (uint32_t)pos;
            e->len = (uint32_t)u;
            e->prev = s->last;
            s->last = (uint32_t)r->nent++;
            s->n++;
            /* the meta page and the root change in nearly every record of
             * a log of inserts, and the first read after the open needs
             * both: they are redone as the log is read */
            if ((pgno == PG_META || pgno == r->root) &&
                (rc = pg_redo_read(p, pgno)) != 0)
                return rc;
        }
        if (pgno == PG_META && (rc = pg_redo_follow_root(p)) != 0)
            return rc;
        pos += u;
    }
    *used = pos;
    return 0;
}

int pager_redo_ready(pager *p, uint64_t end_lsn)
{
    pg_redo *r = p->redo;
    int rc = 0;

    if (r == NULL)
        return 0;
    r->end_lsn = end_lsn;
    r->ready = 1;
    /* A page already in the pool gets its entries now: every later read
     * of it is a hit.  (Recovery reads none before; a caller that did
     * gets the same result as a first read.) */
    pthread_mutex_lock(&p->mu);
    for (uint32_t i = 0; p->redo == r && i <= r->mask && rc == 0; i++) {
        pg_frame *f;
        int state, dirtied;
        if (r->slot[i].pgno == 0 || r->slot[i].n == 0 ||
            (f = pg_lookup(p, r->slot[i].pgno)) == NULL)
            continue;
        state = f->bad ? PAGE_BAD : PAGE_OK;
        rc = pg_redo_page(p, r->slot[i].pgno, f->data, &state, &dirtied);
        if (rc == 0 && dirtied) {
            f->bad = state == PAGE_BAD;
            f->dirty = 1;
            f->owner_mark = 0;
        }
    }
    if (rc == 0 && p->redo == r && r->waiting > 0) {
        r->act = 1;
        cl_io_activity(p->io, CL_ACT_REDO, 1);
    } else if (rc == 0 && p->redo == r) {
        pg_redo_free(p);
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

/* The bytes of the page's entry order[k] (of n): in memory, or read again
 * from its segment into r->buf, which holds bytes [buf_off, buf_off +
 * buf_len) of segment buf_seg; one read also takes the page's next entries
 * that end within PG_REDO_SPAN of it. */
static int pg_redo_bytes(pager *p, const uint32_t *order, uint32_t k,
                         uint32_t n, const uint8_t **out)
{
    pg_redo *r = p->redo;
    const pg_redo_ent *e = &r->ent[order[k]];
    const pg_redo_rec *rec = &r->rec[e->rec];
    uint64_t start = rec->off + e->at, end = start + e->len;
    pg_redo_seg *sg;
    size_t got = 0;
    int rc;

    if (rec->mem != NULL) {
        *out = rec->mem + e->at;
        return 0;
    }
    if (r->buf_seg == rec->seg && start >= r->buf_off &&
        end <= r->buf_off + r->buf_len) {
        *out = r->buf + (start - r->buf_off);
        return 0;
    }
    for (uint32_t j = k + 1; j < n; j++) {
        const pg_redo_ent *x = &r->ent[order[j]];
        const pg_redo_rec *xr = &r->rec[x->rec];
        uint64_t xend = xr->off + x->at + x->len;
        if (xr->mem != NULL || xr->seg != rec->seg || xend < end ||
            xend - start > PG_REDO_SPAN)
            break;
        end = xend;
    }
    sg = &r->seg[rec->seg];
    if (sg->fd < 0 &&
        (rc = p->io->open(p->io->ctx, sg->path, CL_IO_RDONLY, &sg->fd)) != 0) {
        sg->fd = -1;
        return err_set(rc, "%s: cannot open for the redo of a page", sg->path);
    }
    r->buf_seg = PG_REDO_END;
    if (mem_grow(&r->buf, &r->bufcap, (size_t)(end - start), 1, 4096) != 0)
        return err_set(CL_ENOMEM, "no memory for a page's redo");
    rc = p->io->pread(p->io->ctx, sg->fd, r->buf, (size_t)(end - start), start,
                      &got);
    if (rc != 0)
        return err_set(rc, "%s: read failed (the redo of a page)", sg->path);
    if (got < e->len)
        return err_set_at(CL_ECORRUPT, CL_ERRK_WAL_RECORD, sg->path, start, 0,
                          "%s: offset %llu: the log is shorter than when "
                          "recovery read it",
                          sg->path, (unsigned long long)start);
    r->buf_seg = rec->seg;
    r->buf_off = start;
    r->buf_len = got;
    *out = r->buf;
    return 0;
}

/* Mark slot s done. */
static void pg_redo_done(pager *p, pg_redo_slot *s)
{
    s->n = 0;
    p->redo->waiting--;
}

int pg_redo_page(pager *p, uint32_t pgno, uint8_t *data, int *state,
                 int *dirtied)
{
    pg_redo *r = p->redo;
    pg_redo_slot *s;
    uint64_t applied = 0, repaired = 0;
    uint32_t k;
    int bad, rc;

    *dirtied = 0;
    if (r == NULL || (s = pg_redo_find(r, pgno)) == NULL || s->n == 0)
        return 0;
    if (mem_grow(&r->order, &r->caporder, s->n, sizeof(*r->order), 64) != 0)
        return err_set(CL_ENOMEM, "no memory for a page's redo");
    k = s->n;
    for (uint32_t i = s->last; i != PG_REDO_END; i = r->ent[i].prev)
        r->order[--k] = i;
    if (r->ready && *state == PAGE_OK && pg_lsn_of(data) > r->end_lsn)
        return err_set_at(CL_ECORRUPT, CL_ERRK_LSN_AHEAD, p->path,
                          (uint64_t)pgno * p->page_size, pgno,
                          "%s: page %u has LSN %llu but the log ends at "
                          "%llu: a page was written before its log record "
                          "was durable",
                          p->path, pgno, (unsigned long long)pg_lsn_of(data),
                          (unsigned long long)r->end_lsn);
    bad = *state == PAGE_BAD;
    for (k = 0; k < s->n; k++) {
        const pg_redo_ent *e = &r->ent[r->order[k]];
        const uint8_t *ops = NULL;
        uint32_t at;
        uint8_t kind;
        size_t used;
        int a, rep;
        const pg_redo_rec *rec = &r->rec[e->rec];
        if ((rc = pg_redo_bytes(p, r->order, k, s->n, &ops)) != 0)
            return rc;
        if (pge_parse(p, ops, e->len, 0, &at, &kind, &used) != 0 ||
            at != pgno || used != e->len)
            return err_set_at(CL_ECORRUPT, CL_ERRK_WAL_RECORD,
                              r->seg[rec->seg].path, rec->off + e->at, 0,
                              "%s: offset %llu: the log entry for page %u "
                              "(LSN %llu) is not the one recovery checked",
                              r->seg[rec->seg].path,
                              (unsigned long long)(rec->off + e->at), pgno,
                              (unsigned long long)rec->lsn);
        if ((rc = pge_apply(p, data, &bad, ops, pgno, kind, rec->lsn, &a,
                            &rep)) != 0)
            return rc;
        applied += (uint64_t)a;
        repaired += (uint64_t)rep;
    }
    pg_redo_done(p, s);
    p->redo_applied += applied;
    p->redo_repaired += repaired;
    if (applied > 0) {
        *dirtied = 1;
        *state = PAGE_OK;
    }
    if (r->ready && r->waiting == 0)
        pg_redo_free(p);
    return 0;
}

void pg_redo_forget(pager *p, uint32_t pgno)
{
    pg_redo_slot *s;

    if (p->redo == NULL || (s = pg_redo_find(p->redo, pgno)) == NULL ||
        s->n == 0)
        return;
    pg_redo_done(p, s);
    if (p->redo->ready && p->redo->waiting == 0)
        pg_redo_free(p);
}

static int pg_cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

int pager_redo_all(pager *p)
{
    uint32_t *pg = NULL;
    size_t n = 0;
    int rc = 0;

    pthread_mutex_lock(&p->mu);
    if (p->redo != NULL && p->redo->waiting > 0 &&
        (pg = malloc(p->redo->waiting * sizeof(*pg))) == NULL)
        rc = err_set(CL_ENOMEM, "no memory to list the pages to redo");
    for (uint32_t i = 0; pg != NULL && i <= p->redo->mask; i++)
        if (p->redo->slot[i].pgno != 0 && p->redo->slot[i].n > 0)
            pg[n++] = p->redo->slot[i].pgno;
    pthread_mutex_unlock(&p->mu);
    if (rc != 0 || n == 0)
        return rc;
    qsort(pg, n, sizeof(*pg), pg_cmp_u32);
    for (size_t i = 0; i < n && rc == 0;) {
        size_t k = n - i;
        pg_frame *f;
        if (k > PG_CHUNK)
            k = PG_CHUNK;
        pager_prefetch(p, pg + i, k); /* into free frames, if any */
        for (size_t j = i; j < i + k && rc == 0; j++)
            if ((rc = pg_fetch(p, pg[j], PG_FETCH_RAW, &f)) == 0)
                pg_unpin(p, f);
        i += k;
    }
    free(pg);
    return rc;
}

uint64_t pg_redo_waiting(pager *p)
{
    uint64_t n;

    pthread_mutex_lock(&p->mu);
    n = p->redo != NULL ? p->redo->waiting : 0;
    pthread_mutex_unlock(&p->mu);
    return n;
}

void pager_redo_counts(pager *p, uint64_t *waiting, uint64_t *applied,
                       uint64_t *repaired)
{
    pthread_mutex_lock(&p->mu);
    *waiting = p->redo != NULL ? p->redo->waiting : 0;
    *applied = p->redo_applied;
    *repaired = p->redo_repaired;
    pthread_mutex_unlock(&p->mu);
}
