/*
 * pager.c - the buffer pool: frames, the page table and clock eviction;
 * reading pages from the page file; opening and closing it.  The other
 * concerns of the pager are in pager_flush.c (write-back, doublewrite),
 * pager_txn.c (transactions and their log encoding), pager_meta.c (the
 * meta page and the free list) and pager_replay.c (recovery).
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "mem.h"
#include "page.h"
#include "pager_int.h"

#define PG_FLUSH_BATCH 32 /* dirty pages written together on eviction */
#define PG_READ_RUN 32    /* pages one prefetch read spans at most */
#define PG_READ_GAP 3     /* pages a prefetch read takes between two wanted */

/* ---------------------------------------------------------------------- */
/* frames and the page table                                              */
/* ---------------------------------------------------------------------- */

/* Page numbers are dense, so the low bits spread them well; neighbouring
 * pages share the page table's memory, which a fresh pool touches little
 * of. */
static pg_table *pg_table_new(uint32_t buckets)
{
    pg_table *t = calloc(1, sizeof(*t) + (size_t)buckets * sizeof(t->slot[0]));

    if (t != NULL)
        t->mask = buckets - 1;
    return t;
}

static inline pg_table *pg_table_cur(const pager *p)
{
    return atomic_load_explicit(&((pager *)p)->table, memory_order_acquire);
}

pg_frame *pg_lookup(pager *p, uint32_t pgno)
{
    pg_table *t = pg_table_cur(p);
    pg_frame *f = atomic_load(&t->slot[pgno & t->mask]);

    while (f != NULL && f->pgno != pgno)
        f = atomic_load(&f->hnext);
    return f;
}

/* Caller holds p->mu; f's fields are set. */
static void pg_table_insert(pager *p, pg_frame *f)
{
    pg_table *t = pg_table_cur(p);
    _Atomic(pg_frame *) *head = &t->slot[f->pgno & t->mask];

    atomic_store(&f->hnext, atomic_load(head));
    atomic_store_explicit(head, f, memory_order_release);
}

/* Caller holds p->mu.  A reader walking the chain may still be at f: f's
 * own link is left as it is. */
static void pg_table_remove(pager *p, pg_frame *f)
{
    pg_table *t = pg_table_cur(p);
    _Atomic(pg_frame *) *pp = &t->slot[f->pgno & t->mask];
    pg_frame *c;

    while ((c = atomic_load(pp)) != NULL && c != f)
        pp = &c->hnext;
    if (c == f)
        atomic_store_explicit(pp, atomic_load(&f->hnext), memory_order_release);
}

/* Memory for chunk c of frames' pages.  From the second chunk on: in
 * transparent huge pages where the kernel gives them (mem_alloc_huge), so
 * that reads of random pages of a large pool do not each miss the TLB.
 * The first chunk is ordinary memory: a small database (a short-lived
 * process, a crash trial) never needs more, and the first touch of a huge
 * page makes the kernel clear all 2 MiB of it, which made every open about
 * 80 us slower. */
static uint8_t *pg_chunk_alloc(uint32_t c, size_t bytes)
{
    return c == 0 ? malloc(bytes) : mem_alloc_huge(bytes);
}

/* Double the page table (at most 1 frame per bucket on average).  Caller
 * holds p->mu.  Readers walking the old table may miss a page while the
 * chains are rebuilt: they then take the locked path. */
static int pg_table_grow(pager *p)
{
    pg_table *old = pg_table_cur(p), *t = pg_table_new(2 * (old->mask + 1));

    if (t == NULL)
        return CL_ENOMEM;
    for (uint32_t i = 0; i < p->nused; i++) {
        pg_frame *f = pg_frame_at(p, i);
        if (f->in_use) {
            _Atomic(pg_frame *) *head = &t->slot[f->pgno & t->mask];
            atomic_store(&f->hnext, atomic_load(head));
            atomic_store(head, f);
        }
    }
    atomic_store_explicit(&p->table, t, memory_order_release);
    old->next_retired = p->retired;
    p->retired = old;
    return 0;
}

/* Pin page pgno without the pool mutex if it is in the pool and intact.
 * Returns the pinned frame, or NULL: the caller takes the locked path.
 *
 * Why this is safe: a frame is only taken for another page after a
 * compare-and-swap of its pins from 0 to PG_EVICTING, so either our
 * increment comes first (the eviction fails and skips the frame) or we see
 * PG_EVICTING and back off, or the eviction is over and the page number
 * checked after pinning tells whether the frame still holds our page.  The
 * pin's acquire pairs with the release that ends a load, so the page's
 * bytes are those loaded.  Frames are never freed while the pager is open,
 * so a stale chain link at worst leads to a miss. */
static pg_frame *pg_pin_fast(pager *p, uint32_t pgno)
{
    pg_table *t = pg_table_cur(p);
    pg_frame *f =
        atomic_load_explicit(&t->slot[pgno & t->mask], memory_order_acquire);

    for (int steps = 0; f != NULL && steps < 8; steps++) {
        if (atomic_load_explicit(&f->pgno, memory_order_relaxed) == pgno) {
            uint32_t old =
                atomic_fetch_add_explicit(&f->pins, 1, memory_order_acquire);
            if ((old & PG_EVICTING) == 0 &&
                atomic_load_explicit(&f->pgno, memory_order_relaxed) == pgno &&
                !f->bad) {
                if (!atomic_load_explicit(&f->ref, memory_order_relaxed))
                    atomic_store_explicit(&f->ref, 1, memory_order_relaxed);
                /* a statistic: a plain load and store (no locked
                 * instruction); concurrent readers may lose a count */
                atomic_store_explicit(
                    &p->fast_hits,
                    atomic_load_explicit(&p->fast_hits, memory_order_relaxed) +
                        1,
                    memory_order_relaxed);
                return f;
            }
            atomic_fetch_sub_explicit(&f->pins, 1, memory_order_release);
            return NULL;
        }
        f = atomic_load_explicit(&f->hnext, memory_order_acquire);
    }
    return NULL;
}

/* Find a frame for a new page: an unused one, else the clock's victim,
 * written back first if dirty (with up to PG_FLUSH_BATCH other dirty
 * unpinned frames, to amortise the log sync and the doublewrite fsync).
 * Caller holds p->mu.  OUT: *out, removed from the page table. */
static int pg_victim(pager *p, pg_frame **out)
{
    pg_frame *f = NULL;
    int rc;

    if (p->nused < p->nframes) {
        /* Frames and their memory are allocated in chunks as the pool
         * fills: a large pool costs nothing until it is used. */
        uint32_t c = p->nused / PG_CHUNK, i = p->nused % PG_CHUNK;
        if (i == 0) {
            p->fchunks[c] = calloc(PG_CHUNK, sizeof(pg_frame));
            p->dchunks[c] = pg_chunk_alloc(c, (size_t)PG_CHUNK * p->page_size);
            if (p->fchunks[c] == NULL || p->dchunks[c] == NULL) {
                free(p->fchunks[c]);
                free(p->dchunks[c]);
                p->fchunks[c] = NULL;
                p->dchunks[c] = NULL;
                return CL_ENOMEM;
            }
        }
        if (p->nused + 1 > pg_table_cur(p)->mask + 1 &&
            (rc = pg_table_grow(p)) != 0)
            return rc;
        f = &p->fchunks[c][i];
        f->data = p->dchunks[c] + (size_t)i * p->page_size;
        atomic_store(&f->pins, PG_EVICTING);
        p->nused++;
        *out = f;
        return 0;
    }
    for (uint32_t i = 0; i < 3 * p->nframes; i++) {
        pg_frame *c = pg_frame_at(p, p->hand);
        uint32_t zero = 0;
        p->hand = (p->hand + 1) % p->nframes;
        if (atomic_load(&c->pins) != 0)
            continue;
        if (atomic_load_explicit(&c->ref, memory_order_relaxed)) {
            atomic_store_explicit(&c->ref, 0, memory_order_relaxed);
            continue;
        }
        /* Claim it; a reader that pinned it meanwhile wins. */
        if (!atomic_compare_exchange_strong(&c->pins, &zero, PG_EVICTING))
            continue;
        f = c;
        break;
    }
    if (f == NULL)
        return err_set(CL_ENOMEM,
                       "buffer pool exhausted: all %u frames are pinned "
                       "(a transaction larger than the pool?)",
                       p->nframes);
    if (f->dirty) {
        pg_frame *batch[PG_FLUSH_BATCH];
        size_t n = 0;
        batch[n++] = f;
        for (uint32_t i = 0; i < p->nframes && n < PG_FLUSH_BATCH; i++) {
            pg_frame *c = pg_frame_at(p, (p->hand + i) % p->nframes);
            if (c != f && c->in_use && c->dirty && atomic_load(&c->pins) == 0)
                batch[n++] = c;
        }
        cl_io_activity(p->io, CL_ACT_EVICT, 1);
        rc = pg_flush_batch(p, batch, n);
        cl_io_activity(p->io, CL_ACT_EVICT, 0);
        if (rc != 0) {
            atomic_fetch_sub(&f->pins, PG_EVICTING);
            return rc;
        }
    }
    if (f->in_use) { /* else a frame a failed read left empty */
        pg_table_remove(p, f);
        p->st.evictions++;
    }
    f->in_use = 0;
    atomic_store(&f->pgno, 0);
    *out = f;
    return 0;
}

/* Page pgno has just been read into buf: count it, verify it, and note its
 * LSN.  Returns its state (enum page_state), the reason in why. */
static int pg_read_check(pager *p, uint32_t pgno, const uint8_t *buf, char *why,
                         size_t whylen)
{
    int state = page_verify(buf, p->page_size, pgno, p->crc_seed, why, whylen);

    p->st.page_reads++;
    if (state == PAGE_OK && pg_lsn_of(buf) > p->max_disk_lsn)
        p->max_disk_lsn = pg_lsn_of(buf);
    return state;
}

/* Frame f now holds page pgno as read (state), clean and unshared. */
static void pg_frame_fresh(pg_frame *f, int state)
{
    f->in_use = 1;
    atomic_store_explicit(&f->ref, 1, memory_order_relaxed);
    f->dirty = 0;
    f->bad = state == PAGE_BAD;
    f->in_txn = 0;
    f->txn_init = 0;
    f->owner_mark = 0;
}

int pg_read_disk(pager *p, uint32_t pgno, uint8_t *buf, int *state, char *why,
                 size_t whylen)
{
    size_t got = 0;
    int rc;

    rc = p->io->pread(p->io->ctx, p->fd, buf, p->page_size,
                      (uint64_t)pgno * p->page_size, &got);
    if (rc != 0)
        return err_set(rc, "%s: read of page %u failed", p->path, pgno);
    if (got < p->page_size)
        memset(buf + got, 0, p->page_size - got);
    *state = pg_read_check(p, pgno, buf, why, whylen);
    return 0;
}

/* pg_fetch with p->mu held.  (No frame in the table has PG_EVICTING set while
 * the mutex is free: a victim is claimed, loaded and released under it.) */
static int pg_fetch_locked(pager *p, uint32_t pgno, int mode, pg_frame **out)
{
    pg_frame *f = pg_lookup(p, pgno);
    char why[96] = "";
    int rc, state = PAGE_BLANK, dirtied = 0;

    if (f != NULL) {
        if (f->bad && mode == PG_FETCH_VERIFY)
            return err_set_at(CL_ECORRUPT, CL_ERRK_PAGE, p->path,
                              (uint64_t)pgno * p->page_size, pgno,
                              "%s: page %u is torn or corrupt", p->path, pgno);
        if (mode == PG_FETCH_NEW && !f->dirty && !f->in_txn) {
            memset(f->data, 0, p->page_size);
            f->owner_mark = 0;
        }
        atomic_fetch_add(&f->pins, 1);
        atomic_store_explicit(&f->ref, 1, memory_order_relaxed);
        p->st.hits++;
        *out = f;
        return 0;
    }
    p->st.misses++;
    if ((rc = pg_victim(p, &f)) != 0)
        return rc;
    /* f is claimed (PG_EVICTING), unused and out of the table */
    if (mode == PG_FETCH_NEW) {
        memset(f->data, 0, p->page_size);
        pg_redo_forget(p, pgno);
    } else {
        rc = pg_read_disk(p, pgno, f->data, &state, why, sizeof(why));
        if (rc == 0)
            rc = pg_redo_page(p, pgno, f->data, &state, &dirtied);
        if (rc == 0 && state == PAGE_BAD && mode == PG_FETCH_VERIFY)
            rc = err_set_at(CL_ECORRUPT, CL_ERRK_PAGE, p->path,
                            (uint64_t)pgno * p->page_size, pgno,
                            "%s: page %u (offset %llu) is torn or corrupt: %s",
                            p->path, pgno,
                            (unsigned long long)pgno * p->page_size, why);
        if (rc != 0) {
            atomic_fetch_sub(&f->pins, PG_EVICTING); /* f stays unused */
            return rc;
        }
    }
    atomic_store(&f->pgno, pgno);
    pg_frame_fresh(f, state);
    f->dirty = (uint8_t)dirtied;
    pg_table_insert(p, f);
    /* our pin, and the end of the claim: publishes the frame's content */
    atomic_fetch_add_explicit(&f->pins, 1u - PG_EVICTING, memory_order_acq_rel);
    *out = f;
    return 0;
}

int pg_fetch(pager *p, uint32_t pgno, int mode, pg_frame **out)
{
    int rc;

    if (mode == PG_FETCH_VERIFY && (*out = pg_pin_fast(p, pgno)) != NULL)
        return 0;
    pthread_mutex_lock(&p->mu);
    rc = pg_fetch_locked(p, pgno, mode, out);
    pthread_mutex_unlock(&p->mu);
    return rc;
}

/* Prefetch: claimed frames by page number. */
static int pg_cmp_frame_pgno(const void *a, const void *b)
{
    uint32_t x = atomic_load_explicit(&(*(pg_frame *const *)a)->pgno,
                                      memory_order_relaxed),
             y = atomic_load_explicit(&(*(pg_frame *const *)b)->pgno,
                                      memory_order_relaxed);

    return x < y ? -1 : x > y;
}

/* Give back frames fr[0..n) that pager_prefetch claimed and did not fill:
 * unused, as pg_victim left them. */
static void pg_unclaim(pager *p, pg_frame **fr, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        pg_table_remove(p, fr[i]);
        fr[i]->in_use = 0;
        atomic_store(&fr[i]->pgno, 0);
        atomic_fetch_sub(&fr[i]->pins, PG_EVICTING);
    }
}

/* Read the pages of claimed frames fr[0..n), sorted by page number, a run
 * of neighbours (gaps of up to PG_READ_GAP pages read and dropped) with
 * each pread.  At a read that fails, the frames not yet filled are given
 * back: fetched one by one, their pages fail (or not) as they would have,
 * in replay's order.  Returns the frames filled. */
static size_t pg_read_runs(pager *p, pg_frame **fr, size_t n)
{
    size_t ps = p->page_size, i = 0, filled = 0;
    char why[96];

    while (i < n) {
        uint32_t first = atomic_load(&fr[i]->pgno), last = first;
        size_t j = i + 1, got = 0;
        while (j < n) {
            uint32_t next = atomic_load(&fr[j]->pgno);
            if (next - first >= PG_READ_RUN || next - last > PG_READ_GAP + 1)
                break;
            last = next;
            j++;
        }
        if (p->io->pread(p->io->ctx, p->fd, p->rdbuf,
                         (size_t)(last - first + 1) * ps, (uint64_t)first * ps,
                         &got) != 0) {
            pg_unclaim(p, fr + i, n - i);
            return filled;
        }
        if (got < (size_t)(last - first + 1) * ps)
            memset(p->rdbuf + got, 0, (last - first + 1) * ps - got);
        for (; i < j; i++) {
            pg_frame *f = fr[i];
            uint32_t pgno = atomic_load(&f->pgno);
            int state, dirtied;
            memcpy(f->data, p->rdbuf + (size_t)(pgno - first) * ps, ps);
            state = pg_read_check(p, pgno, f->data, why, sizeof(why));
            if (pg_redo_page(p, pgno, f->data, &state, &dirtied) != 0) {
                /* left to the fetch, which fails the same way */
                pg_unclaim(p, &f, 1);
                continue;
            }
            pg_frame_fresh(f, state);
            f->dirty = (uint8_t)dirtied;
            filled++;
            p->st.misses++;
            /* the end of the claim: publishes the frame's content */
            atomic_fetch_sub_explicit(&f->pins, PG_EVICTING,
                                      memory_order_release);
        }
    }
    return filled;
}

size_t pager_prefetch(pager *p, const uint32_t *pgnos, size_t n)
{
    pg_frame **fr;
    size_t k = 0, done;

    if (n == 0 || (fr = malloc(n * sizeof(*fr))) == NULL)
        return 0;
    pthread_mutex_lock(&p->mu);
    if (p->nused >= p->nframes ||
        (p->rdbuf == NULL &&
         (p->rdbuf = malloc((size_t)PG_READ_RUN * p->page_size)) == NULL)) {
        /* then each page is read when it is needed */
        pthread_mutex_unlock(&p->mu);
        free(fr);
        return 0;
    }
    /* Frames in the order the pages are named, as fetching them one by one
     * would have taken them; only free ones, so that nothing is evicted
     * and the clock sees what it would have seen. */
    for (size_t i = 0; i < n && p->nused < p->nframes; i++) {
        pg_frame *f;
        if (pgnos[i] < PG_META || pgnos[i] >= p->replay_limit ||
            pg_lookup(p, pgnos[i]) != NULL)
            continue;
        if (pg_victim(p, &f) != 0) /* no memory: the fetch will say */
            break;
        atomic_store(&f->pgno, pgnos[i]);
        f->in_use = 1;         /* in the table, which may grow meanwhile */
        pg_table_insert(p, f); /* claimed: a later name of it is found */
        fr[k++] = f;
    }
    qsort(fr, k, sizeof(*fr), pg_cmp_frame_pgno);
    done = pg_read_runs(p, fr, k);
    pthread_mutex_unlock(&p->mu);
    free(fr);
    return done;
}

void pg_unpin(pager *p, pg_frame *f)
{
    uint32_t old = atomic_fetch_sub_explicit(&f->pins, 1, memory_order_release);

    (void)p;
    assert((old & ~PG_EVICTING) > 0);
}

/* ---------------------------------------------------------------------- */
/* opening and closing                                                    */
/* ---------------------------------------------------------------------- */

int pager_open(const pager_config *cfg, pager **out)
{
    pager *p;
    int rc;

    if (cfg->page_size < PG_SIZE_MIN || cfg->page_size > PG_SIZE_MAX ||
        (cfg->page_size & (cfg->page_size - 1)) != 0 || cfg->frames < 16)
        return err_set(CL_EINVAL, "bad page size %u or pool of %u frames",
                       cfg->page_size, cfg->frames);
    p = calloc(1, sizeof(*p));
    if (p == NULL)
        return CL_ENOMEM;
    p->io = cfg->io;
    p->fd = -1;
    p->dwb_fd = -1;
    p->page_size = cfg->page_size;
    p->crc_seed = page_crc_seed(cfg->salt);
    p->torn = cfg->torn;
    p->wal_flush = cfg->wal_flush;
    p->wal_ctx = cfg->wal_ctx;
    p->nframes = cfg->frames;
    p->replay_limit = UINT32_MAX;
    pthread_mutex_init(&p->mu, NULL);
    pthread_mutex_init(&p->wb_mu, NULL);
    p->dir = strdup(cfg->dir ? cfg->dir : ".");
    p->path = strdup(cfg->path);
    p->dwb_path = strdup(cfg->dwb_path ? cfg->dwb_path : "");
    p->table = pg_table_new(64);
    p->fchunks = calloc(p->nframes / PG_CHUNK + 1, sizeof(*p->fchunks));
    p->dchunks = calloc(p->nframes / PG_CHUNK + 1, sizeof(*p->dchunks));

    p->zero = calloc(1, p->page_size);
    if (!p->dir || !p->path || !p->dwb_path || !p->fchunks || !p->dchunks ||
        !p->table || !p->zero) {
        rc = CL_ENOMEM;
        goto fail;
    }
    rc = p->io->open(p->io->ctx, p->path, CL_IO_RDWR, &p->fd);
    if (rc != 0) {
        err_set(rc, "%s: cannot open the page file", p->path);
        goto fail;
    }
    *out = p;
    return 0;
fail:
    pager_close(p);
    return rc;
}

void pager_close(pager *p)
{
    if (p == NULL)
        return;
    pg_redo_free(p);
    if (p->fd >= 0)
        p->io->close(p->io->ctx, p->fd);
    if (p->dwb_fd >= 0)
        p->io->close(p->io->ctx, p->dwb_fd);
    for (uint32_t i = 0; i < p->nused; i++)
        free(pg_frame_at(p, i)->before);
    for (uint32_t c = 0; p->fchunks && c <= p->nframes / PG_CHUNK; c++) {
        free(p->fchunks[c]);
        free(p->dchunks ? p->dchunks[c] : NULL);
    }
    for (size_t i = 0; i < p->nspare; i++)
        free(p->spare[i]);
    free(p->spare);
    free(p->txn);
    free(p->enc);
    free(p->iobuf);
    free(p->ckbuf);
    free(p->rdbuf);
    free(p->zero);
    free(atomic_load(&p->table));
    while (p->retired != NULL) {
        pg_table *t = p->retired;
        p->retired = t->next_retired;
        free(t);
    }
    free(p->fchunks);
    free(p->dchunks);
    free(p->dir);
    free(p->path);
    free(p->dwb_path);
    pthread_mutex_destroy(&p->wb_mu);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

uint32_t pg_page_size(const pager *p)
{
    return p->page_size;
}

int pager_fd(const pager *p)
{
    return p->fd;
}

const cl_io *pager_io(const pager *p)
{
    return p->io;
}

/* ---------------------------------------------------------------------- */
/* reading                                                                */
/* ---------------------------------------------------------------------- */

int pg_get(pager *p, uint32_t pgno, pg_page *out)
{
    pg_frame *f;
    int rc;

    if (pgno < PG_META || pgno >= pg_npages(p))
        return err_set(CL_ECORRUPT, "%s: reference to page %u outside 1..%u",
                       p->path, pgno, pg_npages(p) - 1);
    if ((rc = pg_fetch(p, pgno, PG_FETCH_VERIFY, &f)) != 0)
        return rc;
    out->data = f->data;
    out->pgno = pgno;
    out->frame = f;
    return 0;
}

void pg_release(pager *p, pg_page *pg)
{
    if (pg->frame != NULL)
        pg_unpin(p, pg->frame);
    pg->frame = NULL;
    pg->data = NULL;
}

int pg_owner_mark(const pg_page *pg)
{
    return pg->frame != NULL && pg->frame->owner_mark;
}

void pg_set_owner_mark(pg_page *pg)
{
    if (pg->frame != NULL)
        pg->frame->owner_mark = 1;
}

void pager_stats_get(pager *p, pager_stats *st, uint64_t *pool_pages,
                     uint64_t *dirty_pages)
{
    uint64_t dirty = 0;

    pthread_mutex_lock(&p->mu);
    pthread_mutex_lock(&p->wb_mu);
    *st = p->st;
    pthread_mutex_unlock(&p->wb_mu);
    st->hits += atomic_load(&p->fast_hits);
    for (uint32_t i = 0; i < p->nused; i++)
        dirty += pg_frame_at(p, i)->in_use && pg_frame_at(p, i)->dirty;
    pthread_mutex_unlock(&p->mu);
    *pool_pages = p->nframes;
    *dirty_pages = dirty;
}
