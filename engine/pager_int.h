/*
 * pager_int.h - the pager's internals, shared by its files:
 *   pager.c         frames, the page table, clock eviction, reading pages
 *   pager_flush.c   write-back (rule 1) and the doublewrite file
 *   pager_txn.c     transactions: before-images, the payload encoding
 *   pager_meta.c    the meta page and the free list
 *   pager_replay.c  applying logged page entries (recovery)
 * Engine-internal: only these files include it.
 */
#ifndef CL_PAGER_INT_H
#define CL_PAGER_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "coding.h"
#include "pager.h"

#define PG_CHUNK 512 /* frames allocated together */

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

struct pg_frame {
    uint8_t *data;             /* page_size bytes */
    uint8_t *before;           /* before-image while in a transaction */
    _Atomic(pg_frame *) hnext; /* page table chain */
    _Atomic uint32_t pgno;     /* 0 while the frame holds no page */
    _Atomic uint32_t pins;     /* users, plus PG_EVICTING */
    /* the eight flags below are read and written under the pool mutex;
     * ref, which readers set without it, comes after them, so that no
     * read of the flags a compiler widens to a word touches it */
    uint8_t in_use;       /* holds page pgno */
    uint8_t dirty;        /* changed since written to the page file */
    uint8_t bad;          /* content failed validation */
    uint8_t in_txn;       /* made writable by the current transaction */
    uint8_t txn_init;     /* reinitialised in the transaction: log PGE_INIT */
    uint8_t txn_changed;  /* pg_txn_encode found it changed */
    uint8_t before_dirty; /* dirty before the transaction */
    uint8_t owner_mark;   /* pg_set_owner_mark: the owner checked it */
    atomic_uchar ref;     /* clock reference bit */
};

/* Redo at first read (pager_replay.c): the page entries recovery found in
 * the log and has not applied, by page.  Read and written under p->mu. */
typedef struct pg_redo pg_redo;

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

    /* Writing back: wb_mu serializes the writes to the page file and the
     * doublewrite file, and the fsyncs that free doublewrite slots, so that
     * a checkpoint can write pages without the pool mutex (taken first
     * when both are held).  It protects dwb_fd, dwb_next, iobuf, wb_gen
     * and the write counters of st (page_writes, page_syncs,
     * dwb_writes). */
    pthread_mutex_t wb_mu;
    int wb_err; /* the first failed write or sync of written-back pages: it
                   stays (the kernel may have dropped what it had not
                   written), so no later sync can make a checkpoint of
                   them */
    uint32_t dwb_next; /* next free doublewrite slot */
    uint64_t wb_gen;   /* page writes begun (pg_write_out_locked) */
    uint8_t *iobuf;    /* PG_DWB_SLOTS pages, for doublewrite batches */
    uint8_t *ckbuf;    /* PG_DWB_SLOTS pages: copies a checkpoint writes */
    uint8_t *zero;     /* one page of zeros */
    uint8_t *rdbuf;    /* PG_READ_RUN pages: pager_prefetch's reads */

    uint64_t replay_limit;
    uint64_t max_disk_lsn;
    pg_redo *redo; /* NULL when no page waits for its redo */
    uint64_t redo_applied, redo_repaired; /* what the redo index applied */
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

/* pager.c */

enum { PG_FETCH_VERIFY, PG_FETCH_RAW, PG_FETCH_NEW };

/* Pin page pgno into a frame.  VERIFY: a bad page is CL_ECORRUPT.  RAW: a
 * bad page is returned with f->bad set.  NEW: the page is past the end of
 * the database: its content is blank, nothing is read. */
int pg_fetch(pager *p, uint32_t pgno, int mode, pg_frame **out);
void pg_unpin(pager *p, pg_frame *f);
/* Read page pgno from the page file into buf (zero past the end of file).
 * OUT: *state (enum page_state), why for PAGE_BAD. */
int pg_read_disk(pager *p, uint32_t pgno, uint8_t *buf, int *state, char *why,
                 size_t whylen);

/* pager_flush.c: write n dirty frames to the page file (recipe there).
 * Caller holds p->mu, and none of the frames is in an open transaction. */
int pg_flush_batch(pager *p, pg_frame **fr, size_t n);
/* pg_lookup: the frame holding pgno, or NULL.  Caller holds p->mu. */
pg_frame *pg_lookup(pager *p, uint32_t pgno);

/* pager_txn.c: enter frame f into the transaction (saving its
 * before-image). */
int pg_txn_add(pager *p, pg_frame *f);

/* pager_replay.c: page pgno has just been read into data, in state *state
 * (enum page_state): apply the log's entries that wait for it, if any
 * (rule 6 first: a page read intact must not be newer than the log).
 * OUT: *state after them, *dirtied 1 if they changed the page.  On an
 * error the page stays waiting, and data is to be dropped.  Caller holds
 * p->mu. */
int pg_redo_page(pager *p, uint32_t pgno, uint8_t *data, int *state,
                 int *dirtied);
/* Page pgno is taken as a new page (PG_FETCH_NEW): what waited for it is
 * dropped.  Caller holds p->mu. */
void pg_redo_forget(pager *p, uint32_t pgno);
/* Pages waiting for their redo.  Takes p->mu. */
uint64_t pg_redo_waiting(pager *p);
/* Free the redo index (pager_close). */
void pg_redo_free(pager *p);

#endif
