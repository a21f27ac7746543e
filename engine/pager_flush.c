/*
 * pager_flush.c - writing dirty pages back to the page file (rule 1 of
 * DESIGN.md: never before the log is durable up to the page's LSN), and
 * the doublewrite file that protects those writes in torn-page mode dwb.
 *
 * Doublewrite file "dwb" (created on first use, its directory entry synced
 * before anything relies on it).  No header; PG_DWB_SLOTS (64) slots of
 * one page each:
 *   offset            size       content
 *   i * page_size     page_size  slot i: a complete sealed page exactly as
 *                                it is written in place (page header of
 *                                page_format.h: CRC, LSN, its page number)
 * A file shorter than 64 pages holds only the slots written so far; a
 * trailing partial slot is ignored.
 * Validity: a slot is used at recovery iff (D1) its page number is >= 1 and
 * below the replay limit and (D2) it passes page validation (rule P2 of
 * page_format.h: CRC over the page seeded with the database salt, page
 * number matches).  A slot failing D1 or D2 is a torn or never-completed
 * doublewrite: its page was not yet written in place, so it is skipped.
 *
 * Writing (pg_flush_batch): the pages of a batch are copied into the next
 * free slots with one write and the file is fdatasynced, and only then are
 * they written in place.  Slots are reused only after the page file has
 * been fsynced (when the ring is full, and at every pager_flush_all), so
 * while a slot is free to overwrite, no in-place write depends on it.
 * Restoring (pager_dwb_restore, recovery): a valid slot replaces the page
 * file's copy of its page if that copy is torn or has an older LSN.  Only
 * the first PG_DWB_SLOTS slots are read, and a valid slot's page number
 * must be below the replay limit (the pages the page file and the log can
 * hold, recovery.c), else the restore fails as corruption: a damaged file
 * cannot make recovery write far past the page file's end.
 *
 * Then the page's LSN becomes the record's end LSN.
 *
 * Crash reasoning for torn pages: a page is written to the page file only
 * when it is dirty, i.e. changed since the last checkpoint.  In mode fpw its
 * first change after the checkpoint is logged PGE_FULL (or PGE_INIT), and
 * replay starts at that checkpoint, so a torn write of it is always followed
 * in the log by a complete image.  In mode dwb every page write first goes
 * to the doublewrite file, which is synced before the page file is touched,
 * and is not reused before the page file is synced: a torn page always has
 * an intact copy there.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "page.h"
#include "pager_int.h"

#define PG_DWB_SLOTS CL_DWB_PAGES /* pages in the doublewrite area */

/* Open (creating) the doublewrite file on first use.  A new file's
 * directory entry is synced before anything relies on it. */
static int pg_dwb_open(pager *p)
{
    int rc;

    if (p->dwb_fd >= 0)
        return 0;
    if (p->iobuf == NULL &&
        (p->iobuf = malloc((size_t)PG_DWB_SLOTS * p->page_size)) == NULL)
        return CL_ENOMEM;
    rc = p->io->open(p->io->ctx, p->dwb_path, CL_IO_RDWR | CL_IO_CREATE,
                     &p->dwb_fd);
    if (rc == 0)
        rc = p->io->dirsync(p->io->ctx, p->dir);
    if (rc != 0)
        return err_set(rc, "%s: cannot create the doublewrite file",
                       p->dwb_path);
    return 0;
}

static int pg_cmp_frame(const void *a, const void *b)
{
    const pg_frame *x = *(pg_frame *const *)a, *y = *(pg_frame *const *)b;

    return x->pgno < y->pgno ? -1 : x->pgno > y->pgno;
}

/* A page about to be written: its number and its sealed bytes. */
typedef struct pg_out {
    uint32_t pgno;
    const uint8_t *data;
} pg_out;

/* Write n sealed pages in place in the page file.  Caller holds
 * p->wb_mu. */
static int pg_write_home(pager *p, const pg_out *o, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int rc = p->io->pwrite(p->io->ctx, p->fd, o[i].data, p->page_size,
                               (uint64_t)o[i].pgno * p->page_size);
        if (rc != 0)
            return err_set_at(
                rc, CL_ERRK_IO, p->path, (uint64_t)o[i].pgno * p->page_size,
                o[i].pgno, "%s: write of page %u failed", p->path, o[i].pgno);
        p->st.page_writes++;
    }
    return 0;
}

/* Steps 3 and 4 of pg_flush_batch in mode dwb: the pages through the
 * doublewrite area, PG_DWB_SLOTS at a time, then in place.  Caller holds
 * p->wb_mu. */
static int pg_flush_dwb(pager *p, const pg_out *o, size_t n)
{
    int rc;

    for (size_t done = 0; done < n;) {
        size_t k = n - done;
        if ((rc = pg_dwb_open(p)) != 0)
            return rc;
        if (k > PG_DWB_SLOTS)
            k = PG_DWB_SLOTS;
        if (p->dwb_next + k > PG_DWB_SLOTS) {
            /* the wrap: until the end of the batch */
            cl_io_activity(p->io, CL_ACT_DWB_WRAP, 1);
            rc = p->io->fsync(p->io->ctx, p->fd);
            if (rc != 0)
                return err_set(rc, "%s: fsync failed", p->path);
            p->st.page_syncs++;
            p->dwb_next = 0;
        }
        for (size_t i = 0; i < k; i++)
            memcpy(p->iobuf + i * p->page_size, o[done + i].data, p->page_size);
        rc = p->io->pwrite(p->io->ctx, p->dwb_fd, p->iobuf, k * p->page_size,
                           (uint64_t)p->dwb_next * p->page_size);
        if (rc == 0)
            rc = p->io->fdatasync(p->io->ctx, p->dwb_fd);
        if (rc != 0)
            return err_set(rc, "%s: doublewrite failed", p->dwb_path);
        p->dwb_next += (uint32_t)k;
        p->st.dwb_writes += k;
        if ((rc = pg_write_home(p, o + done, k)) != 0)
            return rc;
        done += k;
    }
    return 0;
}

/* Steps 3 and 4: write n sealed pages, sorted by page number, through the
 * doublewrite area in mode dwb.  Caller holds p->wb_mu. */
static int pg_write_out_locked(pager *p, const pg_out *o, size_t n)
{
    int rc;

    if (p->wb_err != 0)
        return err_set(p->wb_err, "%s: an earlier page write-back failed",
                       p->path);
    p->wb_gen++;
    if (p->torn != CL_TORN_DWB) {
        rc = pg_write_home(p, o, n);
    } else {
        cl_io_activity(p->io, CL_ACT_DWB, 1);
        rc = pg_flush_dwb(p, o, n);
        cl_io_activity(p->io, CL_ACT_DWB | CL_ACT_DWB_WRAP, 0);
    }
    if (rc > 0)
        p->wb_err = rc;
    return rc;
}

/* Write n dirty frames to the page file.  Caller holds p->mu, and none of
 * the frames is in an open transaction.
 *
 * Recipe:
 *   1. make the log durable up to the highest page LSN (rule 1);
 *   2. seal each page (pgno, CRC);
 *   3. dwb mode: if the doublewrite ring has no room, fsync the page file
 *      (so the slots about to be reused protect nothing any more), copy the
 *      pages into free slots with one write and fdatasync the doublewrite
 *      file; only then
 *   4. write the pages in place.
 * The page file is not synced here; checkpoints do that. */
int pg_flush_batch(pager *p, pg_frame **fr, size_t n)
{
    pg_out o[PG_DWB_SLOTS] = {{0, NULL}};
    uint64_t max_lsn = 0;
    int rc;

    if (n > PG_DWB_SLOTS)
        return err_set(CL_EINVAL, "write-back of %zu pages at once", n);
    for (size_t i = 0; i < n; i++) {
        uint64_t l = pg_lsn_of(fr[i]->data);
        if (l > max_lsn)
            max_lsn = l;
    }
    if (p->wal_flush != NULL && (rc = p->wal_flush(p->wal_ctx, max_lsn)) != 0)
        return rc;
    qsort(fr, n, sizeof(*fr), pg_cmp_frame);
    for (size_t i = 0; i < n; i++) {
        page_seal(fr[i]->data, p->page_size, fr[i]->pgno, p->crc_seed);
        o[i].pgno = fr[i]->pgno;
        o[i].data = fr[i]->data;
    }
    pthread_mutex_lock(&p->wb_mu);
    rc = pg_write_out_locked(p, o, n);
    pthread_mutex_unlock(&p->wb_mu);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < n; i++)
        fr[i]->dirty = 0;
    return 0;
}

static int pg_cmp_pgno(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

int pager_dirty_list(pager *p, uint32_t **pgnos, size_t *n)
{
    uint32_t *list;
    size_t k = 0;
    int rc = 0;

    pthread_mutex_lock(&p->mu);
    list = malloc((size_t)p->nused * sizeof(*list) + 1);
    if (list == NULL) {
        pthread_mutex_unlock(&p->mu);
        return err_set(CL_ENOMEM,
                       "no memory for a checkpoint's list of %u "
                       "pages",
                       p->nused);
    }
    for (uint32_t i = 0; i < p->nused && rc == 0; i++) {
        pg_frame *f = pg_frame_at(p, i);
        if (!f->in_use || !f->dirty)
            continue;
        if (f->in_txn || f->bad)
            rc = err_set(CL_EINVAL,
                         "write-back of page %u inside a transaction or with "
                         "bad content",
                         f->pgno);
        list[k++] = f->pgno;
    }
    pthread_mutex_unlock(&p->mu);
    if (rc != 0) {
        free(list);
        return rc;
    }
    qsort(list, k, sizeof(*list), pg_cmp_pgno);
    *pgnos = list;
    *n = k;
    return 0;
}

/* Copy the pages of pgnos[0..n) still dirty into p->ckbuf, for
 * pg_write_some.  Caller holds p->mu and p->wb_mu.  OUT: the frames, their
 * LSNs and what to write, *k of them, and *max_lsn. */
static int pg_copy_some(pager *p, const uint32_t *pgnos, size_t n,
                        pg_frame **fr, uint64_t *lsn, pg_out *o, size_t *k,
                        uint64_t *max_lsn)
{
    *k = 0;
    *max_lsn = 0;
    for (size_t i = 0; i < n; i++) {
        pg_frame *f = pg_lookup(p, pgnos[i]);
        uint8_t *copy = p->ckbuf + *k * p->page_size;
        if (f == NULL || !f->in_use || !f->dirty)
            continue; /* written back since */
        if (f->bad)
            return err_set(CL_EINVAL, "write-back of page %u with bad content",
                           f->pgno);
        /* The open transaction's before-image is the page as of the last
         * commit, which holds every change logged before the caller
         * listed it: the page itself is changing. */
        memcpy(copy, f->in_txn ? f->before : f->data, p->page_size);
        fr[*k] = f;
        lsn[*k] = pg_lsn_of(copy);
        if (lsn[*k] > *max_lsn)
            *max_lsn = lsn[*k];
        o[*k].pgno = f->pgno;
        o[*k].data = copy;
        (*k)++;
    }
    return 0;
}

/* Tries at copies newer than the log's durable end, each followed by a
 * log sync without wb_mu, before one sync is made holding it. */
#define PG_COPY_TRIES 2

/* pager_write_pages for at most PG_DWB_SLOTS pages.  The copies are
 * written with no page write between them and their own (wb_mu held, or
 * given up only while nothing else writes a page: wb_gen unchanged), so
 * an eviction cannot write a newer state of a page copied here before
 * this older one, and the frames need no pin, which would take them from
 * a small pool.  A copy newer than the log's durable end needs a log sync
 * first (rule 1): it is made without wb_mu, which evictions wait for
 * holding the pool mutex; if a page was written meanwhile the pages are
 * copied again. */
static int pg_write_some(pager *p, const uint32_t *pgnos, size_t n,
                         uint64_t *flushed)
{
    pg_frame *fr[PG_DWB_SLOTS];
    uint64_t lsn[PG_DWB_SLOTS], max_lsn = 0, gen;
    pg_out o[PG_DWB_SLOTS];
    size_t k = 0;
    int rc = 0;

    if (p->ckbuf == NULL &&
        (p->ckbuf = malloc((size_t)PG_DWB_SLOTS * p->page_size)) == NULL)
        return err_set(CL_ENOMEM, "no memory for a checkpoint's page copies");
    for (int tries = 0;; tries++) {
        /* 1. copy each page still dirty */
        pthread_mutex_lock(&p->mu);
        pthread_mutex_lock(&p->wb_mu);
        rc = pg_copy_some(p, pgnos, n, fr, lsn, o, &k, &max_lsn);
        pthread_mutex_unlock(&p->mu);
        if (rc != 0 || max_lsn <= *flushed || p->wal_flush == NULL ||
            tries == PG_COPY_TRIES)
            break;
        /* 2. rule 1 (a page changed since the caller's flush needs
         * another), without wb_mu */
        gen = p->wb_gen;
        pthread_mutex_unlock(&p->wb_mu);
        if ((rc = p->wal_flush(p->wal_ctx, max_lsn)) != 0)
            return rc;
        *flushed = max_lsn;
        pthread_mutex_lock(&p->wb_mu);
        if (p->wb_gen == gen)
            break; /* nothing written since the copies: they stand */
        pthread_mutex_unlock(&p->wb_mu);
    }
    /* 2, again after the last tries: with wb_mu; then seal and write
     * (pg_flush_batch's steps) */
    if (rc == 0 && max_lsn > *flushed && p->wal_flush != NULL &&
        (rc = p->wal_flush(p->wal_ctx, max_lsn)) == 0)
        *flushed = max_lsn;
    for (size_t i = 0; rc == 0 && i < k; i++)
        page_seal(p->ckbuf + i * p->page_size, p->page_size, o[i].pgno,
                  p->crc_seed);
    if (rc == 0 && k > 0)
        rc = pg_write_out_locked(p, o, k);
    pthread_mutex_unlock(&p->wb_mu);
    if (rc != 0)
        return rc;
    /* 3. clean: a frame that still holds the page at the LSN written, and
     * that no transaction is changing */
    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; i < k; i++) {
        pg_frame *f = fr[i];
        if (f->in_use && atomic_load(&f->pgno) == o[i].pgno && !f->in_txn &&
            pg_lsn_of(f->data) == lsn[i])
            f->dirty = 0;
    }
    pthread_mutex_unlock(&p->mu);
    return 0;
}

int pager_write_pages(pager *p, const uint32_t *pgnos, size_t n)
{
    uint64_t max_lsn = 0, flushed = 0;
    int rc = 0;

    /* One log sync for the pages as they are now, rather than one per
     * PG_DWB_SLOTS of them: beside commits, most pages are newer than
     * the log's durable end. */
    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; i < n; i++) {
        pg_frame *f = pg_lookup(p, pgnos[i]);
        if (f != NULL && f->in_use && f->dirty && !f->in_txn &&
            pg_lsn_of(f->data) > max_lsn)
            max_lsn = pg_lsn_of(f->data);
    }
    pthread_mutex_unlock(&p->mu);
    if (max_lsn > 0 && p->wal_flush != NULL &&
        (rc = p->wal_flush(p->wal_ctx, max_lsn)) == 0)
        flushed = max_lsn;
    for (size_t i = 0; i < n && rc == 0; i += PG_DWB_SLOTS)
        rc = pg_write_some(p, pgnos + i,
                           n - i < PG_DWB_SLOTS ? n - i : PG_DWB_SLOTS,
                           &flushed);
    return rc;
}

int pager_sync(pager *p)
{
    int rc;

    pthread_mutex_lock(&p->wb_mu);
    if (p->wb_err != 0) {
        rc = p->wb_err;
        pthread_mutex_unlock(&p->wb_mu);
        return err_set(rc, "%s: an earlier page write-back failed", p->path);
    }
    rc = p->io->fsync(p->io->ctx, p->fd);
    if (rc == 0) {
        p->st.page_syncs++;
        /* every in-place write is durable: the slots are free */
        p->dwb_next = 0;
    } else {
        p->wb_err = rc;
    }
    pthread_mutex_unlock(&p->wb_mu);
    if (rc != 0)
        return err_set(rc, "%s: fsync failed", p->path);
    return 0;
}

int pager_flush_all(pager *p)
{
    uint32_t *list = NULL;
    size_t n = 0;
    int rc = pager_dirty_list(p, &list, &n);

    if (rc == 0)
        rc = pager_write_pages(p, list, n);
    if (rc == 0)
        rc = pager_sync(p);
    free(list);
    return rc;
}

int pager_dwb_restore(pager *p, uint64_t *repaired)
{
    uint8_t *slot = NULL, *cur = NULL;
    uint64_t size = 0, written = 0, fixed = 0;
    int fd = -1, rc;

    *repaired = 0;
    rc = p->io->open(p->io->ctx, p->dwb_path, CL_IO_RDONLY, &fd);
    if (rc == ENOENT)
        return 0;
    if (rc != 0)
        return err_set(rc, "%s: cannot open", p->dwb_path);
    /* A slot a killed process wrote and did not sync is in the page cache
     * only: written in place from there, a power cut during the restore
     * could tear the page and lose the slot with it.  So the slots are
     * made durable before any of them is used. */
    if ((rc = p->io->fsync(p->io->ctx, fd)) != 0) {
        err_set(rc, "%s: fsync failed", p->dwb_path);
        goto out;
    }
    slot = malloc(p->page_size);
    cur = malloc(p->page_size);
    if (slot == NULL || cur == NULL) {
        rc = CL_ENOMEM;
        goto out;
    }
    if ((rc = p->io->filesize(p->io->ctx, fd, &size)) != 0) {
        err_set(rc, "%s: cannot stat", p->dwb_path);
        goto out;
    }
    /* only the ring's slots: bytes past them were never written by the
     * engine */
    if (size > (uint64_t)PG_DWB_SLOTS * p->page_size)
        size = (uint64_t)PG_DWB_SLOTS * p->page_size;
    for (uint64_t off = 0; off + p->page_size <= size; off += p->page_size) {
        size_t got = 0;
        uint32_t pgno;
        int state;
        char why[96];
        rc = p->io->pread(p->io->ctx, fd, slot, p->page_size, off, &got);
        if (rc != 0) {
            /* A slot that cannot be read may hold the only intact copy of
             * a torn page: recovery cannot go on without it. */
            err_set(rc, "%s: read of slot %llu failed", p->dwb_path,
                    (unsigned long long)(off / p->page_size));
            goto out;
        }
        if (got < p->page_size)
            break; /* the file ended early: no more slots */
        pgno = get_le32(slot + PG_OFF_PGNO);
        /* A torn slot is harmless: its page was not yet written in place. */
        if (pgno < PG_META || page_verify(slot, p->page_size, pgno, p->crc_seed,
                                          NULL, 0) != PAGE_OK)
            continue;
        /* An intact slot was sealed by this database for a page it had:
         * one past every page the database can hold is damage (a crash
         * cannot make it), and restoring it would write past the end of
         * the page file. */
        if (pgno >= p->replay_limit) {
            rc = err_set_at(
                CL_ECORRUPT, CL_ERRK_STRUCTURE, p->dwb_path, off, pgno,
                "%s: slot %llu holds page %u, past the %llu "
                "pages the page file and the log can hold",
                p->dwb_path, (unsigned long long)(off / p->page_size), pgno,
                (unsigned long long)p->replay_limit);
            goto out;
        }
        if ((rc = pg_read_disk(p, pgno, cur, &state, why, sizeof(why))) != 0)
            goto out;
        if (state == PAGE_OK && pg_lsn_of(cur) >= pg_lsn_of(slot))
            continue;
        rc = p->io->pwrite(p->io->ctx, p->fd, slot, p->page_size,
                           (uint64_t)pgno * p->page_size);
        if (rc != 0) {
            err_set(rc, "%s: restoring page %u failed", p->path, pgno);
            goto out;
        }
        if (pg_lsn_of(slot) > p->max_disk_lsn)
            p->max_disk_lsn = pg_lsn_of(slot);
        written++;
        /* An intact but older page is brought forward too (its in-place
         * write was lost); only a torn or corrupt one is a repair. */
        fixed += state != PAGE_OK;
    }
    if (written > 0 && (rc = p->io->fsync(p->io->ctx, p->fd)) != 0) {
        err_set(rc, "%s: fsync failed", p->path);
        goto out;
    }
    *repaired = fixed;
out:
    free(slot);
    free(cur);
    p->io->close(p->io->ctx, fd);
    return rc;
}
