/*
 * pager.h - the page file and its buffer pool.
 *
 * The pager caches pages in a fixed number of frames, tracks the pages a
 * write transaction changes (keeping a before-image of each, so the change
 * can be logged as a byte diff or rolled back), and writes dirty pages back
 * only after the log is durable up to their LSN (rule 1 of DESIGN.md),
 * through the doublewrite area in torn-page mode dwb.
 *
 * Locking: the pool's own mutex protects frames, pins and the page table.
 * Page contents are protected by the caller: one writer at a time (the
 * engine's writer lock and the tree lock held for writing) while readers
 * hold the tree lock for reading.  A pinned frame is never evicted.
 *
 * Write transactions: between pg_txn_begin and pg_txn_finish/pg_txn_abort,
 * the single writer may call pg_write/pg_get_write/pg_alloc/pg_free and the
 * meta setters.  Every page made writable stays pinned until the end of the
 * transaction.
 */
#ifndef CL_PAGER_H
#define CL_PAGER_H

#include <stddef.h>
#include <stdint.h>

#include "crashlab.h"
#include "page_format.h"

typedef struct pager pager;
typedef struct pg_frame pg_frame;

/* A pinned page.  data is page_size bytes; bytes [0, PG_HDR_SIZE) belong to
 * the pager, except the type byte at PG_OFF_TYPE and bytes 17..23, which the
 * page's owner may use. */
typedef struct pg_page {
    uint8_t *data;
    uint32_t pgno;
    pg_frame *frame;
} pg_page;

/* Called before a dirty page is written: make the log durable up to lsn
 * (an end LSN).  Returns 0 or an error. */
typedef int (*pg_wal_flush_fn)(void *ctx, uint64_t lsn);

typedef struct pager_config {
    const cl_io *io;
    const char *dir;      /* the database directory (for dirsync) */
    const char *path;     /* the page file */
    const char *dwb_path; /* the doublewrite file (used in CL_TORN_DWB) */
    uint32_t page_size;   /* bytes */
    uint64_t salt;        /* database salt: seeds every page CRC */
    uint32_t frames;      /* buffer pool capacity in pages (>= 64) */
    cl_torn_mode torn;
    pg_wal_flush_fn wal_flush; /* NULL: no log (tests) */
    void *wal_ctx;
} pager_config;

/* Per-pager counters (copied into cl_stats). */
typedef struct pager_stats {
    uint64_t page_reads, page_writes, page_syncs, dwb_writes;
    uint64_t hits, misses, evictions, fpi_records;
} pager_stats;

/* Open the page file (which must exist).  OUT: *out. */
int pager_open(const pager_config *cfg, pager **out);
/* Close the file and free the pool, discarding dirty pages (write them
 * first with pager_flush_all if they matter). */
void pager_close(pager *p);

uint32_t pg_page_size(const pager *p);
/* The page file's fd (for the superblock, which is not a pooled page). */
int pager_fd(const pager *p);
/* The I/O table the pager was opened with. */
const cl_io *pager_io(const pager *p);

/* --- reading (any thread, under the tree lock) ------------------------ */

/* Pin page pgno and return it.  A page that fails validation (rule P2 of
 * page_format.h) gives CL_ECORRUPT naming the page; a page at or past
 * npages gives CL_ECORRUPT too. */
int pg_get(pager *p, uint32_t pgno, pg_page *out);
/* Unpin.  Safe on a zeroed pg_page (does nothing). */
void pg_release(pager *p, pg_page *pg);

/* Meta fields. */
uint32_t pg_root(pager *p);
uint32_t pg_npages(pager *p);
/* CL_ECORRUPT if the meta page counts more pages than the page file and
 * the pool can hold (pager_meta.c). */
int pg_npages_check(pager *p);
uint64_t pg_nfree(pager *p);
uint64_t pg_nkeys(pager *p);
uint32_t pg_free_head(pager *p);

/* A mark the page's owner may set on a pooled page to remember that it
 * checked the page (the B+tree: its node is verified).  The pager clears
 * it whenever the frame's content comes from anywhere but the owner's own
 * edits: read from disk, replayed, rolled back by pg_txn_abort, or blanked
 * by pg_alloc, pg_free and pager_format.  Only the single writer, holding
 * the page writable inside a transaction, may read or set it. */
int pg_owner_mark(const pg_page *pg);
void pg_set_owner_mark(pg_page *pg);

/* --- writing (the single writer, inside a transaction) ---------------- */

void pg_txn_begin(pager *p);
/* Make a pinned page writable: saves its before-image.  Call before
 * changing any byte of it. */
int pg_write(pager *p, pg_page *pg);
/* pg_get + pg_write. */
int pg_get_write(pager *p, uint32_t pgno, pg_page *out);
/* A new page (from the free list, or past the end): all bytes from
 * PG_OFF_TYPE on are zero except the type byte; writable and pinned. */
int pg_alloc(pager *p, uint8_t type, pg_page *out);
/* Put a page on the free list.  pg must be pinned; the pin is released. */
int pg_free(pager *p, pg_page *pg);
int pg_set_root(pager *p, uint32_t root);
int pg_nkeys_add(pager *p, int64_t delta);

/* Encode the transaction's page changes as the payload of a log record
 * (format in wal_writer.c): for each page changed, a full image, an init
 * (a diff against a blank page) or a diff against the before-image.
 * ckpt_lsn is the LSN of the last checkpoint: in torn mode fpw, a page
 * whose LSN is not newer than it is logged whole.  The payload is valid
 * until the next pager call.  OUT: *payload, *len (0 if nothing changed). */
int pg_txn_encode(pager *p, uint64_t ckpt_lsn, const uint8_t **payload,
                  size_t *len);
/* The transaction's record is in the log, ending at lsn: stamp the changed
 * pages with lsn, mark them dirty, unpin them. */
void pg_txn_finish(pager *p, uint64_t lsn);
/* Undo every change of the transaction (restore before-images). */
void pg_txn_abort(pager *p);
/* Pages made writable so far in the current transaction. */
size_t pg_txn_pages(const pager *p);

/* --- write-back, checkpoint, recovery --------------------------------- */

/* Write every dirty page (keeping rule 1), then fsync the page file:
 * pager_dirty_list, pager_write_pages, pager_sync. */
int pager_flush_all(pager *p);
/* The pages dirty now, by page number, in a malloc'd array (a checkpoint's
 * list).  No transaction may be open.  OUT: *pgnos, *n. */
int pager_dirty_list(pager *p, uint32_t **pgnos, size_t *n);
/* Write back those of the n pages (sorted by page number) that are still
 * dirty, keeping rule 1, PG_DWB_SLOTS at a time.  Any thread, one at a
 * time (its page copies are the pager's), while the single writer goes
 * on: each page is copied under the pool mutex (the before-image of a
 * page an open transaction is changing), and a page changed meanwhile
 * stays dirty.  Does not sync the page file. */
int pager_write_pages(pager *p, const uint32_t *pgnos, size_t n);
/* fsync the page file: every page written so far is durable, and the
 * doublewrite slots are free again. */
int pager_sync(pager *p);
/* Initialise a new database's meta page (in the current transaction). */
int pager_format(pager *p);
/* Load and pin the meta page (after recovery, or after pager_format):
 * CL_ECORRUPT if page 1 is not a valid meta page.  The meta accessors and
 * pg_get need it. */
int pager_load_meta(pager *p);
/* Recovery: page numbers in replayed records must be below limit. */
void pager_set_replay_limit(pager *p, uint64_t limit);
/* Restore torn or stale pages from the doublewrite file (recovery, before
 * replay): a valid slot replaces the page file's copy if that is torn or
 * older.  A slot that cannot be read fails the restore.  OUT: *repaired,
 * the pages restored that were torn or corrupt (intact but older ones are
 * restored too, and not counted). */
int pager_dwb_restore(pager *p, uint64_t *repaired);
/* Read the pages named in pgnos (in the order they will be fetched,
 * repeats allowed) that are not in the pool, into free frames only,
 * sorted by page number, neighbours with one read (which also reads the
 * few pages between two of them), each with its redo (pager_redo_all's
 * reads).  Only a saving: it stops when the pool has no free frame, and a
 * read or a redo that fails (or memory it cannot get) leaves its page to
 * be read, and the failure reported, when it is fetched.  Returns the
 * pages read.  A page read ahead counts as a miss when it is read and as
 * a hit when it is fetched. */
size_t pager_prefetch(pager *p, const uint32_t *pgnos, size_t n);
/* Highest LSN seen on a page loaded from disk since open. */
uint64_t pager_max_disk_lsn(const pager *p);

/* Redo at first read.  Recovery hands each page entry of the log to
 * pager_redo_record instead of applying it; the pager applies a page's
 * entries, in log order, when the page is first read into the pool (a miss
 * of any fetch, or a read ahead), and checks rule 6 on it then.  An entry
 * applies only if the page's LSN is older than its record's end LSN (redo
 * is idempotent); a torn page must get a full image (or an initialising
 * entry) before any byte-range change, and a page that reads as zeros
 * cannot take a byte-range change: either is CL_ECORRUPT, kind page.  A
 * page whose entries fail stays waiting and fails every fetch the same
 * way.  Nothing else changes: a page never
 * read keeps its entries in the log, which stays until a checkpoint, and
 * a checkpoint begins with pager_redo_all.
 *
 * pager_redo_begin: the records whose entries fit in mem_budget bytes in
 * all are kept in memory; the others are read from their log segment when
 * applied.  log_bytes: the log's size, at most (it sizes the index).
 * Recovery only (nothing else uses the pager). */
int pager_redo_begin(pager *p, uint64_t mem_budget, uint64_t log_bytes);
/* The log segment at path (whose entries follow): its index for
 * pager_redo_record.  It is opened (read-only) when an entry must be read
 * from it. */
int pager_redo_segment(pager *p, const char *path, uint32_t *seg);
/* The count page entries at ents (len bytes left in their record) of a
 * record ending at lsn, the first at file offset off of segment seg: each
 * checked whole (its page below the replay limit, its ranges inside the
 * page, a known kind, zero reserved byte, the page type it leaves known;
 * CL_ECORRUPT with the reason set) and added to its page's list.  OUT:
 * *used, the bytes they take. */
int pager_redo_record(pager *p, const uint8_t *ents, size_t len, uint32_t count,
                      uint64_t lsn, uint32_t seg, uint64_t off, size_t *used);
/* Recovery found the log's end: rule 6 holds pages to it from here on.
 * A page with entries that is in the pool already gets them now: the
 * first error (pg_redo_page's), if any. */
int pager_redo_ready(pager *p, uint64_t end_lsn);
/* Apply every waiting entry (each page fetched once, in page order, read
 * ahead into free frames): the first error, if any.  Any thread. */
int pager_redo_all(pager *p);
/* Pages still waiting for their redo, and what the redo applied so far:
 * page changes, and torn pages rebuilt from full images. */
void pager_redo_counts(pager *p, uint64_t *waiting, uint64_t *applied,
                       uint64_t *repaired);

void pager_stats_get(pager *p, pager_stats *st, uint64_t *pool_pages,
                     uint64_t *dirty_pages);

#endif
