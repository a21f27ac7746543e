/*
 * pager.c - the page file, the buffer pool, transaction page tracking and
 * write-back (rule 1), the doublewrite area, and page-level redo.
 *
 * Divisions:
 *   frames and the page table     lookup, load, clock eviction
 *   write-back                    rule 1, doublewrite batches
 *   transactions                  before-images, encode, finish, abort
 *   the meta page and free list   allocation
 *   recovery                      replaying page entries, dwb restore
 *
 * Transaction payload (the body of a TXN log record; the record framing is
 * in wal_format.h).  All integers little-endian.
 *
 *   offset size field
 *        0    4 count     number of page entries that follow
 *   then count entries, each:
 *        0    4 pgno      page changed (>= 1)
 *        4    1 kind      PGE_FULL, PGE_INIT or PGE_DIFF
 *        5    1 -         zero
 *        6    2 nranges   ranges that follow (0 for PGE_FULL)
 *        8      PGE_FULL: page_size - 16 bytes, the page's bytes [16, size)
 *               PGE_INIT, PGE_DIFF: nranges ranges, each
 *                 0  2 off   byte offset in the page, >= 16
 *                 2  2 len   bytes, >= 1, off + len <= page_size
 *                 4    len bytes of new content
 *
 * An entry is valid only if the page it leaves has a known type (rule P2
 * of page_format.h): the image of PGE_FULL, the ranges of PGE_INIT and a
 * PGE_DIFF range over byte 16 must put one there.  Otherwise replay would
 * write a page that every later read rejects as corrupt, and that the next
 * recovery would rebuild again (replay would not be idempotent).
 *
 * Applying an entry to a page whose LSN is older than the record's end LSN
 * (otherwise it is skipped: replay is idempotent):
 *   PGE_FULL  the page becomes the image (whatever was on disk, torn or not);
 *   PGE_INIT  the page becomes zero from byte 16 on, then the ranges are
 *             copied in (a page newly allocated or freed, or the image of
 *             a page's first change since the checkpoint when smaller than
 *             PGE_FULL: its content does not depend on what was there);
 *   PGE_DIFF  the ranges are copied over the page's previous version, which
 *             therefore must be intact: a torn page here is corruption
 *             (torn-page protection none), as is a blank page.
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
#include "pager.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "coding.h"
#include "errors.h"
#include "fault_points.h"
#include "page.h"

#define PGE_FULL 1
#define PGE_INIT 2
#define PGE_DIFF 3
#define PGE_HDR 8
#define PGE_RANGE_HDR 4
#define PG_DIFF_STRIDE 256 /* bytes compared at once in a page diff */
#define PG_DWB_SLOTS 64    /* pages in the doublewrite area */
#define PG_FLUSH_BATCH 32  /* dirty pages written together on eviction */
#define PG_CHUNK 512       /* frames allocated together */
#define PG_HUGE (2u << 20) /* bytes of a transparent huge page (x86-64) */

/* A frame's pins count the users of its page; PG_EVICTING is set (with a
 * compare-and-swap from 0, under the pool mutex) while the frame is being
 * taken for another page, and makes pg_pin_fast back off. */
#define PG_EVICTING 0x80000000u

/* The page table: chains of frames by page number.  Readers walk it
 * without the pool mutex (pg_pin_fast); changes are made under the mutex.
 * A table replaced by a larger one is kept until the pager closes, since a
 * reader may still be walking it. */
typedef struct pg_table pg_table;
struct pg_table {
    pg_table *next_retired;
    uint32_t mask;              /* buckets - 1, buckets a power of two */
    _Atomic(pg_frame *) slot[]; /* bucket heads */
};

static_assert(PG_LOG_OFF == PG_OFF_TYPE,
              "a range over the type byte starts exactly at it");

struct pg_frame {
    uint8_t *data;             /* page_size bytes */
    uint8_t *before;           /* before-image while in a transaction */
    _Atomic(pg_frame *) hnext; /* page table chain */
    _Atomic uint32_t pgno;     /* 0 while the frame holds no page */
    _Atomic uint32_t pins;     /* users, plus PG_EVICTING */
    uint8_t in_use;            /* holds page pgno */
    uint8_t dirty;             /* changed since written to the page file */
    atomic_uchar ref;          /* clock reference bit */
    uint8_t bad;               /* content failed validation (recovery only) */
    uint8_t in_txn;            /* made writable by the current transaction */
    uint8_t txn_init;     /* reinitialised in the transaction: log PGE_INIT */
    uint8_t txn_changed;  /* pg_txn_encode found it changed */
    uint8_t before_dirty; /* dirty before the transaction */
    uint8_t owner_mark;   /* pg_set_owner_mark: the owner checked it */
};

struct pager {
    const cl_io *io;
    char *dir, *path, *dwb_path;
    int fd, dwb_fd;
    uint32_t page_size;
    uint32_t crc_seed;
    cl_torn_mode torn;
    pg_wal_flush_fn wal_flush;
    void *wal_ctx;

    pthread_mutex_t mu;
    pg_frame **fchunks; /* frames, PG_CHUNK per chunk, allocated as used */
    uint8_t **dchunks;  /* their page memory, likewise */
    uint32_t nframes, nused, hand;
    _Atomic(pg_table *) table;      /* grown with nused */
    pg_table *retired;              /* tables replaced by larger ones */
    pg_frame *meta;                 /* page 1, pinned for the pager's life */
    atomic_uint_fast64_t fast_hits; /* hits of pg_pin_fast */

    int txn_active;
    int txn_encoded; /* pg_txn_encode ran: txn_changed flags are valid */
    pg_frame **txn;
    size_t ntxn, captxn;
    uint8_t **spare; /* free before-image buffers */
    size_t nspare, capspare;
    uint8_t *enc; /* encoded payload */
    size_t enclen, enccap;

    uint32_t dwb_next; /* next free doublewrite slot */
    uint8_t *iobuf;    /* PG_DWB_SLOTS pages, for doublewrite batches */
    uint8_t *zero;     /* one page of zeros */

    uint64_t replay_limit;
    uint64_t max_disk_lsn;
    pager_stats st;
};

static inline pg_frame *pg_frame_at(const pager *p, uint32_t i)
{
    return &p->fchunks[i / PG_CHUNK][i % PG_CHUNK];
}

static inline uint64_t pg_lsn_of(const uint8_t *data)
{
    return get_le64(data + PG_OFF_LSN);
}

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

/* Caller holds p->mu. */
static pg_frame *pg_lookup(pager *p, uint32_t pgno)
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

static int pg_flush_batch(pager *p, pg_frame **fr, size_t n);

/* Memory for chunk c of frames' pages.  From the second chunk on: aligned
 * to, and asking the kernel for, transparent huge pages, so that reads of
 * random pages of a large pool do not each miss the TLB (the kernel may
 * decline; then these are ordinary pages).  The first chunk is ordinary
 * memory: a small database (a short-lived process, a crash trial) never
 * needs more, and the first touch of a huge page makes the kernel clear
 * all 2 MiB of it, which made every open about 80 us slower. */
static uint8_t *pg_chunk_alloc(uint32_t c, size_t bytes)
{
    void *m = NULL;

    if (c == 0 || bytes % PG_HUGE != 0 ||
        posix_memalign(&m, PG_HUGE, bytes) != 0)
        return malloc(bytes);
#ifdef MADV_HUGEPAGE
    madvise(m, bytes, MADV_HUGEPAGE);
#endif
    return m;
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
        if ((rc = pg_flush_batch(p, batch, n)) != 0) {
            atomic_fetch_sub(&f->pins, PG_EVICTING);
            return rc;
        }
    }
    if (f->in_use)
        pg_table_remove(p, f);
    f->in_use = 0;
    atomic_store(&f->pgno, 0);
    p->st.evictions++;
    *out = f;
    return 0;
}

/* Read page pgno from the page file into buf (zero past the end of file).
 * OUT: *state (enum page_state), why for PAGE_BAD. */
static int pg_read_disk(pager *p, uint32_t pgno, uint8_t *buf, int *state,
                        char *why, size_t whylen)
{
    size_t got = 0;
    int rc;

    rc = p->io->pread(p->io->ctx, p->fd, buf, p->page_size,
                      (uint64_t)pgno * p->page_size, &got);
    if (rc != 0)
        return err_set(rc, "%s: read of page %u failed", p->path, pgno);
    if (got < p->page_size)
        memset(buf + got, 0, p->page_size - got);
    p->st.page_reads++;
    *state = page_verify(buf, p->page_size, pgno, p->crc_seed, why, whylen);
    if (*state == PAGE_BAD && CL_MUTANT("skip-page-crc"))
        *state = PAGE_OK; /* planted bug: a damaged page passes */
    if (*state == PAGE_OK && pg_lsn_of(buf) > p->max_disk_lsn)
        p->max_disk_lsn = pg_lsn_of(buf);
    return 0;
}

enum { PG_FETCH_VERIFY, PG_FETCH_RAW, PG_FETCH_NEW };

/* Pin page pgno into a frame.  VERIFY: a bad page is CL_ECORRUPT.  RAW: a
 * bad page is returned with f->bad set.  NEW: the page is past the end of
 * the database: its content is blank, nothing is read.  Caller holds
 * p->mu.  (No frame in the table has PG_EVICTING set while the mutex is
 * free: a victim is claimed, loaded and released under it.) */
static int pg_fetch_locked(pager *p, uint32_t pgno, int mode, pg_frame **out)
{
    pg_frame *f = pg_lookup(p, pgno);
    char why[96] = "";
    int rc, state = PAGE_BLANK;

    if (f != NULL) {
        if (f->bad && mode == PG_FETCH_VERIFY)
            return err_set(CL_ECORRUPT, "%s: page %u is torn or corrupt",
                           p->path, pgno);
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
    } else {
        rc = pg_read_disk(p, pgno, f->data, &state, why, sizeof(why));
        if (rc == 0 && state == PAGE_BAD && mode == PG_FETCH_VERIFY)
            rc = err_set(CL_ECORRUPT,
                         "%s: page %u (offset %llu) is torn "
                         "or corrupt: %s",
                         p->path, pgno, (unsigned long long)pgno * p->page_size,
                         why);
        if (rc != 0) {
            atomic_fetch_sub(&f->pins, PG_EVICTING); /* f stays unused */
            return rc;
        }
    }
    atomic_store(&f->pgno, pgno);
    f->in_use = 1;
    atomic_store_explicit(&f->ref, 1, memory_order_relaxed);
    f->dirty = 0;
    f->bad = state == PAGE_BAD;
    f->in_txn = 0;
    f->txn_init = 0;
    f->owner_mark = 0;
    pg_table_insert(p, f);
    /* our pin, and the end of the claim: publishes the frame's content */
    atomic_fetch_add_explicit(&f->pins, 1u - PG_EVICTING, memory_order_acq_rel);
    *out = f;
    return 0;
}

static int pg_fetch(pager *p, uint32_t pgno, int mode, pg_frame **out)
{
    int rc;

    if (mode == PG_FETCH_VERIFY && (*out = pg_pin_fast(p, pgno)) != NULL)
        return 0;
    pthread_mutex_lock(&p->mu);
    rc = pg_fetch_locked(p, pgno, mode, out);
    pthread_mutex_unlock(&p->mu);
    return rc;
}

static void pg_unpin(pager *p, pg_frame *f)
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
/* write-back                                                             */
/* ---------------------------------------------------------------------- */

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
static int pg_flush_batch(pager *p, pg_frame **fr, size_t n)
{
    uint64_t max_lsn = 0;
    int rc;

    for (size_t i = 0; i < n; i++) {
        uint64_t l = pg_lsn_of(fr[i]->data);
        if (l > max_lsn)
            max_lsn = l;
    }
    if (p->wal_flush != NULL && !CL_MUTANT("page-before-wal") &&
        (rc = p->wal_flush(p->wal_ctx, max_lsn)) != 0)
        return rc;
    qsort(fr, n, sizeof(*fr), pg_cmp_frame);
    for (size_t i = 0; i < n; i++)
        page_seal(fr[i]->data, p->page_size, fr[i]->pgno, p->crc_seed);
    if (p->torn == CL_TORN_DWB) {
        for (size_t done = 0; done < n;) {
            size_t k = n - done;
            if ((rc = pg_dwb_open(p)) != 0)
                return rc;
            if (k > PG_DWB_SLOTS)
                k = PG_DWB_SLOTS;
            if (p->dwb_next + k > PG_DWB_SLOTS) {
                rc = p->io->fsync(p->io->ctx, p->fd);
                if (rc != 0)
                    return err_set(rc, "%s: fsync failed", p->path);
                p->st.page_syncs++;
                p->dwb_next = 0;
            }
            for (size_t i = 0; i < k; i++)
                memcpy(p->iobuf + i * p->page_size, fr[done + i]->data,
                       p->page_size);
            rc =
                p->io->pwrite(p->io->ctx, p->dwb_fd, p->iobuf, k * p->page_size,
                              (uint64_t)p->dwb_next * p->page_size);
            if (rc == 0 && !CL_MUTANT("skip-dwb-sync"))
                rc = p->io->fdatasync(p->io->ctx, p->dwb_fd);
            if (rc != 0)
                return err_set(rc, "%s: doublewrite failed", p->dwb_path);
            p->dwb_next += (uint32_t)k;
            p->st.dwb_writes += k;
            for (size_t i = done; i < done + k; i++) {
                rc = p->io->pwrite(p->io->ctx, p->fd, fr[i]->data, p->page_size,
                                   (uint64_t)fr[i]->pgno * p->page_size);
                if (rc != 0)
                    return err_set(rc, "%s: write of page %u failed", p->path,
                                   fr[i]->pgno);
                fr[i]->dirty = 0;
                p->st.page_writes++;
            }
            done += k;
        }
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        rc = p->io->pwrite(p->io->ctx, p->fd, fr[i]->data, p->page_size,
                           (uint64_t)fr[i]->pgno * p->page_size);
        if (rc != 0)
            return err_set(rc, "%s: write of page %u failed", p->path,
                           fr[i]->pgno);
        fr[i]->dirty = 0;
        p->st.page_writes++;
    }
    return 0;
}

int pager_flush_all(pager *p)
{
    pg_frame **list = NULL;
    size_t n = 0;
    int rc = 0;

    pthread_mutex_lock(&p->mu);
    list = malloc((size_t)p->nused * sizeof(*list) + 1);
    if (list == NULL) {
        rc = CL_ENOMEM;
        goto out;
    }
    for (uint32_t i = 0; i < p->nused; i++) {
        pg_frame *f = pg_frame_at(p, i);
        if (f->in_use && f->dirty) {
            if (f->in_txn || f->bad) {
                rc = err_set(CL_EINVAL,
                             "flush of page %u inside a transaction or with "
                             "bad content",
                             f->pgno);
                goto out;
            }
            list[n++] = f;
        }
    }
    if (n > 0 && (rc = pg_flush_batch(p, list, n)) != 0)
        goto out;
    rc = p->io->fsync(p->io->ctx, p->fd);
    if (rc != 0) {
        err_set(rc, "%s: fsync failed", p->path);
        goto out;
    }
    p->st.page_syncs++;
    p->dwb_next = 0; /* every in-place write is durable: slots are free */
out:
    pthread_mutex_unlock(&p->mu);
    free(list);
    return rc;
}

/* ---------------------------------------------------------------------- */
/* reading                                                                */
/* ---------------------------------------------------------------------- */

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
        return err_set(CL_ECORRUPT, "%s: page 1 is not a valid meta page",
                       p->path);
    }
    p->meta = f; /* the pin is kept */
    return 0;
}

/* ---------------------------------------------------------------------- */
/* transactions                                                           */
/* ---------------------------------------------------------------------- */

void pg_txn_begin(pager *p)
{
    p->txn_active = 1;
    p->txn_encoded = 0;
    p->ntxn = 0;
}

size_t pg_txn_pages(const pager *p)
{
    return p->ntxn;
}

static uint8_t *pg_spare_get(pager *p)
{
    if (p->nspare > 0)
        return p->spare[--p->nspare];
    return malloc(p->page_size);
}

static void pg_spare_put(pager *p, uint8_t *b)
{
    if (b == NULL)
        return;
    if (p->nspare == p->capspare) {
        size_t cap = p->capspare ? 2 * p->capspare : 64;
        uint8_t **s = realloc(p->spare, cap * sizeof(*s));
        if (s == NULL) {
            free(b);
            return;
        }
        p->spare = s;
        p->capspare = cap;
    }
    p->spare[p->nspare++] = b;
}

/* Enter frame f into the transaction (saving its before-image). */
static int pg_txn_add(pager *p, pg_frame *f)
{
    if (!p->txn_active)
        return err_set(CL_EINVAL, "page change outside a transaction");
    if (f->in_txn)
        return 0;
    if (p->ntxn == p->captxn) {
        size_t cap = p->captxn ? 2 * p->captxn : 64;
        pg_frame **t = realloc(p->txn, cap * sizeof(*t));
        if (t == NULL)
            return CL_ENOMEM;
        p->txn = t;
        p->captxn = cap;
    }
    f->before = pg_spare_get(p);
    if (f->before == NULL)
        return CL_ENOMEM;
    memcpy(f->before, f->data, p->page_size);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add(&f->pins, 1); /* held until the transaction ends */
    f->in_txn = 1;
    f->txn_init = 0;
    f->before_dirty = f->dirty;
    pthread_mutex_unlock(&p->mu);
    p->txn[p->ntxn++] = f;
    return 0;
}

int pg_write(pager *p, pg_page *pg)
{
    return pg_txn_add(p, pg->frame);
}

int pg_get_write(pager *p, uint32_t pgno, pg_page *out)
{
    int rc = pg_get(p, pgno, out);

    if (rc == 0 && (rc = pg_write(p, out)) != 0)
        pg_release(p, out);
    return rc;
}

/* Append bytes to the encode buffer. */
static int pg_enc_reserve(pager *p, size_t more)
{
    if (p->enclen + more > p->enccap) {
        size_t cap = p->enccap ? p->enccap : 4096;
        uint8_t *e;
        while (cap < p->enclen + more)
            cap *= 2;
        if ((e = realloc(p->enc, cap)) == NULL)
            return CL_ENOMEM;
        p->enc = e;
        p->enccap = cap;
    }
    return 0;
}

/* Load 8 bytes for comparison (any byte order: only equality and the
 * position of differing bytes within the word are used, via byte loops). */
static inline uint64_t pg_word(const uint8_t *b)
{
    uint64_t w;

    memcpy(&w, b, 8);
    return w;
}

/* Encode the ranges where cur differs from base (bytes [16, size)) after
 * an entry header at p->enc + hdr.  Returns the number of ranges, or -1 if
 * the encoding would not be smaller than a full image.
 *
 * The pages are compared a word (8 bytes, aligned with the page) at a time,
 * PG_DIFF_STRIDE bytes at a time across equal stretches: a range runs over
 * consecutive
 * differing words and ends at the first equal word, so differences closer
 * than that are merged into one range, and then it is trimmed to its first
 * and last differing byte.  Any ranges that cover every differing byte
 * give the same page on replay; these keep the scan a few instructions per
 * word where a byte loop cost most of a commit. */
static int pg_encode_ranges(pager *p, const uint8_t *base, const uint8_t *cur,
                            size_t hdr)
{
    uint32_t size = p->page_size, i = PG_LOG_OFF;
    size_t limit = hdr + PGE_HDR + (size - PG_LOG_OFF);
    int nr = 0;

    static_assert(PG_LOG_OFF % 8 == 0, "word-aligned page diff");
    while (i < size) {
        uint32_t start, end, last;
        /* skip equal stretches: libc's memcmp compares wide vectors */
        while (i + PG_DIFF_STRIDE <= size &&
               memcmp(base + i, cur + i, PG_DIFF_STRIDE) == 0)
            i += PG_DIFF_STRIDE;
        while (i < size && pg_word(base + i) == pg_word(cur + i))
            i += 8;
        if (i >= size)
            break;
        /* words [i, last + 8) differ, the one at last + 8 does not */
        last = i;
        while (last + 8 < size &&
               pg_word(base + last + 8) != pg_word(cur + last + 8))
            last += 8;
        start = i;
        while (base[start] == cur[start])
            start++;
        end = last + 8;
        while (base[end - 1] == cur[end - 1])
            end--;
        i = last + 8;
        if (p->enclen + PGE_RANGE_HDR + (end - start) >= limit)
            return -1;
        if (pg_enc_reserve(p, PGE_RANGE_HDR + (end - start)) != 0)
            return -2;
        put_le16(p->enc + p->enclen, (uint16_t)start);
        put_le16(p->enc + p->enclen + 2, (uint16_t)(end - start));
        memcpy(p->enc + p->enclen + PGE_RANGE_HDR, cur + start, end - start);
        p->enclen += PGE_RANGE_HDR + (end - start);
        nr++;
    }
    return nr;
}

int pg_txn_encode(pager *p, uint64_t ckpt_lsn, const uint8_t **payload,
                  size_t *len)
{
    uint32_t count = 0;
    int rc;

    p->enclen = 0;
    if ((rc = pg_enc_reserve(p, 4)) != 0)
        return rc;
    p->enclen = 4;
    for (size_t i = 0; i < p->ntxn; i++) {
        pg_frame *f = p->txn[i];
        size_t hdr = p->enclen;
        const uint8_t *base;
        uint8_t kind;
        int nr = -1, image = 0;

        f->txn_changed = 0;
        if (!f->txn_init && memcmp(f->before + PG_LOG_OFF, f->data + PG_LOG_OFF,
                                   p->page_size - PG_LOG_OFF) == 0)
            continue; /* made writable but not changed */
        f->txn_changed = 1;
        if ((rc = pg_enc_reserve(p, PGE_HDR)) != 0)
            return rc;
        p->enclen += PGE_HDR;
        if (f->txn_init) {
            kind = PGE_INIT;
            base = p->zero;
        } else if (p->torn == CL_TORN_FPW && pg_lsn_of(f->before) <= ckpt_lsn &&
                   !CL_MUTANT("no-fpw")) {
            /* First change since the checkpoint: the whole page, as
             * PGE_INIT (ranges over a blank page) when that is smaller
             * than PGE_FULL.  Both rebuild the page from nothing, so both
             * repair a torn write of it; the free middle of a slotted page
             * and most of the meta page are zeros that PGE_INIT skips. */
            kind = PGE_INIT;
            base = p->zero;
            image = 1;
        } else {
            kind = PGE_DIFF;
            base = f->before;
        }
        if (base != NULL) {
            nr = pg_encode_ranges(p, base, f->data, hdr);
            if (nr == -2)
                return CL_ENOMEM;
            if (nr < 0) {
                p->enclen = hdr + PGE_HDR; /* larger than an image */
                kind = PGE_FULL;
            }
        }
        if (kind == PGE_FULL) {
            if ((rc = pg_enc_reserve(p, p->page_size - PG_LOG_OFF)) != 0)
                return rc;
            memcpy(p->enc + p->enclen, f->data + PG_LOG_OFF,
                   p->page_size - PG_LOG_OFF);
            p->enclen += p->page_size - PG_LOG_OFF;
            nr = 0;
        }
        if (kind == PGE_FULL || image)
            p->st.fpi_records++;
        put_le32(p->enc + hdr, f->pgno);
        p->enc[hdr + 4] = kind;
        p->enc[hdr + 5] = 0;
        put_le16(p->enc + hdr + 6, (uint16_t)nr);
        count++;
    }
    put_le32(p->enc, count);
    p->txn_encoded = 1;
    *payload = p->enc;
    *len = count > 0 ? p->enclen : 0;
    return 0;
}

void pg_txn_finish(pager *p, uint64_t lsn)
{
    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; i < p->ntxn; i++) {
        pg_frame *f = p->txn[i];
        int changed =
            p->txn_encoded
                ? f->txn_changed
                : f->txn_init ||
                      memcmp(f->before + PG_LOG_OFF, f->data + PG_LOG_OFF,
                             p->page_size - PG_LOG_OFF) != 0;
        if (changed) {
            put_le64(f->data + PG_OFF_LSN, lsn);
            f->dirty = 1;
        }
        f->in_txn = 0;
        f->txn_init = 0;
        atomic_fetch_sub(&f->pins, 1);
        pg_spare_put(p, f->before);
        f->before = NULL;
    }
    pthread_mutex_unlock(&p->mu);
    p->ntxn = 0;
    p->txn_active = 0;
}

void pg_txn_abort(pager *p)
{
    pthread_mutex_lock(&p->mu);
    for (size_t i = p->ntxn; i-- > 0;) {
        pg_frame *f = p->txn[i];
        memcpy(f->data, f->before, p->page_size);
        f->dirty = f->before_dirty;
        f->owner_mark = 0;
        f->in_txn = 0;
        f->txn_init = 0;
        atomic_fetch_sub(&f->pins, 1);
        pg_spare_put(p, f->before);
        f->before = NULL;
    }
    pthread_mutex_unlock(&p->mu);
    p->ntxn = 0;
    p->txn_active = 0;
}

/* ---------------------------------------------------------------------- */
/* the meta page and the free list                                        */
/* ---------------------------------------------------------------------- */

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

/* ---------------------------------------------------------------------- */
/* recovery                                                               */
/* ---------------------------------------------------------------------- */

void pager_set_replay_limit(pager *p, uint64_t limit)
{
    p->replay_limit = limit;
}

uint64_t pager_max_disk_lsn(const pager *p)
{
    return p->max_disk_lsn;
}

int pager_replay_entry(pager *p, const uint8_t *ops, size_t len, uint64_t lsn,
                       size_t *used, int *applied, int *repaired)
{
    uint32_t pgno, nranges, size = p->page_size;
    uint8_t kind;
    size_t pos = PGE_HDR;
    pg_frame *f;
    int rc, was_bad, type = -1; /* the type the entry sets, -1 if none */

    if (len < PGE_HDR)
        return err_set(CL_ECORRUPT, "page entry truncated");
    pgno = get_le32(ops);
    kind = ops[4];
    nranges = get_le16(ops + 6);
    if (pgno < PG_META || pgno >= p->replay_limit)
        return err_set(CL_ECORRUPT, "page entry for page %u out of range",
                       pgno);
    /* Validate the whole entry before touching the page. */
    if (kind == PGE_FULL) {
        if (nranges != 0 || len - pos < size - PG_LOG_OFF)
            return err_set(CL_ECORRUPT, "bad full-page entry for page %u",
                           pgno);
        type = ops[pos + PG_OFF_TYPE - PG_LOG_OFF];
        pos += size - PG_LOG_OFF;
    } else if (kind == PGE_INIT || kind == PGE_DIFF) {
        if (kind == PGE_INIT)
            type = PG_TYPE_BLANK;
        for (uint32_t r = 0; r < nranges; r++) {
            uint32_t off, rl;
            if (len - pos < PGE_RANGE_HDR)
                return err_set(CL_ECORRUPT, "page %u: range truncated", pgno);
            off = get_le16(ops + pos);
            rl = get_le16(ops + pos + 2);
            if (off < PG_LOG_OFF || rl == 0 || off + rl > size ||
                len - pos - PGE_RANGE_HDR < rl)
                return err_set(CL_ECORRUPT,
                               "page %u: bad range (offset %u, length %u)",
                               pgno, off, rl);
            if (off == PG_OFF_TYPE) /* ranges start at PG_LOG_OFF or later */
                type = ops[pos + PGE_RANGE_HDR];
            pos += PGE_RANGE_HDR + rl;
        }
    } else {
        return err_set(CL_ECORRUPT, "page %u: unknown entry kind %u", pgno,
                       kind);
    }
    if (type == PG_TYPE_BLANK || type > PG_TYPE_MAX)
        return err_set(CL_ECORRUPT,
                       "page %u: the entry would leave it with unknown page "
                       "type %d",
                       pgno, type);
    *used = pos;
    *applied = 0;
    *repaired = 0;

    if ((rc = pg_fetch(p, pgno, PG_FETCH_RAW, &f)) != 0)
        return rc;
    was_bad = f->bad;
    if (!was_bad && pg_lsn_of(f->data) >= lsn &&
        !CL_MUTANT("replay-ignores-lsn")) {
        pg_unpin(p, f); /* already has this change: replay is idempotent */
        return 0;
    }
    if (kind == PGE_DIFF && was_bad) {
        pg_unpin(p, f);
        return err_set(CL_ECORRUPT,
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
        return err_set(CL_ECORRUPT,
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
    pthread_mutex_lock(&p->mu);
    f->bad = 0;
    f->dirty = 1;
    f->owner_mark = 0;
    atomic_fetch_sub(&f->pins, 1);
    pthread_mutex_unlock(&p->mu);
    *applied = 1;
    *repaired = was_bad;
    return 0;
}

int pager_dwb_restore(pager *p, uint64_t *restored)
{
    uint8_t *slot = NULL, *cur = NULL;
    uint64_t size = 0, n = 0;
    int fd = -1, rc;

    *restored = 0;
    rc = p->io->open(p->io->ctx, p->dwb_path, CL_IO_RDONLY, &fd);
    if (rc == ENOENT)
        return 0;
    if (rc != 0)
        return err_set(rc, "%s: cannot open", p->dwb_path);
    slot = malloc(p->page_size);
    cur = malloc(p->page_size);
    if (slot == NULL || cur == NULL) {
        rc = CL_ENOMEM;
        goto out;
    }
    if ((rc = p->io->filesize(p->io->ctx, fd, &size)) != 0)
        goto out;
    for (uint64_t off = 0; off + p->page_size <= size; off += p->page_size) {
        size_t got = 0;
        uint32_t pgno;
        int state;
        char why[96];
        rc = p->io->pread(p->io->ctx, fd, slot, p->page_size, off, &got);
        if (rc != 0 || got < p->page_size)
            break;
        pgno = get_le32(slot + PG_OFF_PGNO);
        /* A torn slot is harmless: its page was not yet written in place. */
        if (pgno < PG_META || pgno >= p->replay_limit ||
            page_verify(slot, p->page_size, pgno, p->crc_seed, NULL, 0) !=
                PAGE_OK)
            continue;
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
        n++;
    }
    rc = 0;
    if (n > 0) {
        rc = p->io->fsync(p->io->ctx, p->fd);
        if (rc != 0)
            err_set(rc, "%s: fsync failed", p->path);
    }
    *restored = n;
out:
    free(slot);
    free(cur);
    p->io->close(p->io->ctx, fd);
    return rc;
}

void pager_stats_get(pager *p, pager_stats *st, uint64_t *pool_pages,
                     uint64_t *dirty_pages)
{
    uint64_t dirty = 0;

    pthread_mutex_lock(&p->mu);
    *st = p->st;
    st->hits += atomic_load(&p->fast_hits);
    for (uint32_t i = 0; i < p->nused; i++)
        dirty += pg_frame_at(p, i)->in_use && pg_frame_at(p, i)->dirty;
    pthread_mutex_unlock(&p->mu);
    *pool_pages = p->nframes;
    *dirty_pages = dirty;
}
