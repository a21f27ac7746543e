/*
 * pager_meta.c - the meta page (page 1: the root, the page count, the
 * free list head and counts; layout in page_format.h) and the free list.
 * The meta page is pinned for the pager's life; a change to it joins the
 * current transaction like any other page.
 */
#include <errno.h>
#include <string.h>

#include "errors.h"
#include "pager_int.h"

uint32_t pg_npages(pager *p)
{
    return get_le32(p->meta->data + PG_META_OFF_NPAGES);
}

uint32_t pg_root(pager *p)
{
    return get_le32(p->meta->data + PG_META_OFF_ROOT);
}

uint32_t pg_free_head(pager *p)
{
    return get_le32(p->meta->data + PG_META_OFF_FREE);
}

uint64_t pg_nfree(pager *p)
{
    return get_le64(p->meta->data + PG_META_OFF_NFREE);
}

uint64_t pg_nkeys(pager *p)
{
    return get_le64(p->meta->data + PG_META_OFF_NKEYS);
}

int pager_load_meta(pager *p)
{
    pg_frame *f;
    int rc;

    if (p->meta != NULL)
        return 0;
    if ((rc = pg_fetch(p, PG_META, PG_FETCH_VERIFY, &f)) != 0)
        return rc;
    if (f->data[PG_OFF_TYPE] != PG_TYPE_META ||
        get_le32(f->data + PG_META_OFF_MAGIC) != PG_META_MAGIC ||
        get_le32(f->data + PG_META_OFF_NPAGES) < PG_FIRST_DATA) {
        pg_unpin(p, f);
        return err_set_at(CL_ECORRUPT, CL_ERRK_META, p->path,
                          (uint64_t)PG_META * p->page_size, PG_META,
                          "%s: page 1 is not a valid meta page", p->path);
    }
    p->meta = f; /* the pin is kept */
    if ((rc = pg_npages_check(p)) != 0) {
        p->meta = NULL;
        pg_unpin(p, f);
        return rc;
    }
    return 0;
}

/* Every page below the meta page's count is in the page file, or, not yet
 * written back, in a frame of the pool (a new page is dirty until it is
 * written) or in the log, waiting for its redo, so the count is at most the
 * file's pages plus the pool's frames plus the pages waiting.  A larger count
 * is damage; checking it first keeps cl_check from sizing its bitmap of pages
 * by a damaged count. */
int pg_npages_check(pager *p)
{
    uint64_t bytes = 0, waiting = pg_redo_waiting(p);
    int rc = p->io->filesize(p->io->ctx, p->fd, &bytes);

    if (rc != 0)
        return err_set(rc, "%s: cannot stat", p->path);
    if (pg_npages(p) > bytes / p->page_size + p->nframes + waiting)
        return err_set_at(CL_ECORRUPT, CL_ERRK_META, p->path,
                          (uint64_t)PG_META * p->page_size, PG_META,
                          "%s: the meta page counts %u pages, but the page "
                          "file holds %llu, the pool %u more and the log "
                          "%llu waiting for their redo",
                          p->path, pg_npages(p),
                          (unsigned long long)(bytes / p->page_size),
                          p->nframes, (unsigned long long)waiting);
    return 0;
}

static int pg_meta_write(pager *p)
{
    return pg_txn_add(p, p->meta);
}

int pg_set_root(pager *p, uint32_t root)
{
    int rc = pg_meta_write(p);

    if (rc == 0)
        put_le32(p->meta->data + PG_META_OFF_ROOT, root);
    return rc;
}

int pg_nkeys_add(pager *p, int64_t delta)
{
    int rc = pg_meta_write(p);

    if (rc == 0)
        put_le64(p->meta->data + PG_META_OFF_NKEYS,
                 pg_nkeys(p) + (uint64_t)delta);
    return rc;
}

int pg_alloc(pager *p, uint8_t type, pg_page *out)
{
    uint32_t pgno = pg_free_head(p);
    pg_frame *f;
    int rc;

    if ((rc = pg_meta_write(p)) != 0)
        return rc;
    if (pgno != 0) {
        cl_io_activity(p->io, CL_ACT_FREE_REUSE, 1); /* until the commit */
        if (pgno < PG_FIRST_DATA || pgno >= pg_npages(p))
            return err_set(CL_ECORRUPT, "%s: free list head %u out of range",
                           p->path, pgno);
        if ((rc = pg_fetch(p, pgno, PG_FETCH_VERIFY, &f)) != 0)
            return rc;
        if (f->data[PG_OFF_TYPE] != PG_TYPE_FREE) {
            pg_unpin(p, f);
            return err_set(CL_ECORRUPT,
                           "%s: page %u is on the free list but has type %u",
                           p->path, pgno, f->data[PG_OFF_TYPE]);
        }
        if ((rc = pg_txn_add(p, f)) != 0) {
            pg_unpin(p, f);
            return rc;
        }
        put_le32(p->meta->data + PG_META_OFF_FREE,
                 get_le32(f->data + PG_FREE_OFF_NEXT));
        put_le64(p->meta->data + PG_META_OFF_NFREE, pg_nfree(p) - 1);
    } else {
        pgno = pg_npages(p);
        if (pgno == UINT32_MAX)
            return err_set(ENOSPC, "%s: page numbers exhausted", p->path);
        if ((rc = pg_fetch(p, pgno, PG_FETCH_NEW, &f)) != 0)
            return rc;
        if ((rc = pg_txn_add(p, f)) != 0) {
            pg_unpin(p, f);
            return rc;
        }
        put_le32(p->meta->data + PG_META_OFF_NPAGES, pgno + 1);
    }
    f->txn_init = 1;
    f->owner_mark = 0;
    memset(f->data + PG_LOG_OFF, 0, p->page_size - PG_LOG_OFF);
    f->data[PG_OFF_TYPE] = type;
    out->data = f->data;
    out->pgno = pgno;
    out->frame = f;
    return 0;
}

int pg_free(pager *p, pg_page *pg)
{
    pg_frame *f = pg->frame;
    int rc;

    if ((rc = pg_txn_add(p, f)) != 0 || (rc = pg_meta_write(p)) != 0)
        return rc;
    f->txn_init = 1;
    f->owner_mark = 0;
    memset(f->data + PG_LOG_OFF, 0, p->page_size - PG_LOG_OFF);
    f->data[PG_OFF_TYPE] = PG_TYPE_FREE;
    put_le32(f->data + PG_FREE_OFF_NEXT, pg_free_head(p));
    put_le32(p->meta->data + PG_META_OFF_FREE, pg->pgno);
    put_le64(p->meta->data + PG_META_OFF_NFREE, pg_nfree(p) + 1);
    pg_release(p, pg);
    return 0;
}

int pager_format(pager *p)
{
    pg_frame *f;
    int rc;

    if ((rc = pg_fetch(p, PG_META, PG_FETCH_NEW, &f)) != 0)
        return rc;
    if ((rc = pg_txn_add(p, f)) != 0) {
        pg_unpin(p, f);
        return rc;
    }
    f->txn_init = 1;
    f->owner_mark = 0;
    memset(f->data + PG_LOG_OFF, 0, p->page_size - PG_LOG_OFF);
    f->data[PG_OFF_TYPE] = PG_TYPE_META;
    put_le32(f->data + PG_META_OFF_MAGIC, PG_META_MAGIC);
    put_le32(f->data + PG_META_OFF_NPAGES, PG_FIRST_DATA);
    p->meta = f; /* keeps the fetch pin */
    return 0;
}
