/*
 * crashlab.h - the crashlab storage engine: a crash-safe embedded key-value
 * store (write-ahead log, checksummed pages, B+tree, checkpoints, recovery).
 *
 * This header is the manual.  A database is a directory holding:
 *   LOCK                 flock'd by the one process that has it open (a
 *                        child forked meanwhile shares the lock: its exit
 *                        does not release the parent's);
 *   pages                fixed-size pages, page 0 the two-slot superblock;
 *   wal-<16 hex digits>  write-ahead log segments;
 *   dwb                  the doublewrite area (torn-page mode dwb only).
 * The byte layout of every file is in docs/FORMAT.md.
 *
 * Conventions
 *   - Every fallible function returns int: 0 on success, a positive errno
 *     passed through from the I/O layer, or a negative CL_E* code.
 *     cl_strerror() names both; cl_errdetail() gives the detail of this
 *     thread's most recent failure (file, offset, page, reason) as text
 *     for people, cl_errinfo() the same in fields for programs.  Every
 *     API call clears both on entry, so after a call that returned 0
 *     they say "no failure".
 *   - OUT parameters come last and are written only on success.
 *   - Keys are 1..CL_KEY_MAX bytes, values 0..CL_VALUE_MAX bytes, both
 *     arbitrary bytes, ordered by memcmp then length (shorter first).
 *   - A cl_db may be used from several threads at once (cl_close excepted).
 *     Commits are serialized into the log in commit order; readers never
 *     wait for an fsync.
 *
 * Durability (the D of ACID) depends on the sync mode:
 *   CL_SYNC_COMMIT    each commit fsyncs the log before returning: a crash or
 *                     power cut loses no commit that returned 0;
 *   CL_SYNC_GROUP     (default) the same promise; commits that wait at the
 *                     same time share one fsync (a leader syncs for all);
 *   CL_SYNC_PERIODIC  commits return at once; a background thread writes
 *                     and fsyncs the log every sync_period_ms.  A crash
 *                     may lose commits newer than cl_durable_lsn(), never
 *                     older ones;
 *   CL_SYNC_OFF       commits never wait for an fsync (the log is still
 *                     synced before pages are written and at checkpoints and
 *                     close).  Their log records wait in a 1 MiB buffer in
 *                     memory until one of those, or until it fills: a crash
 *                     of the process, not only a power cut, may lose any
 *                     commits newer than cl_durable_lsn().
 * In every mode a crash leaves the database in the state after some prefix
 * of the commits (atomicity and order are never lost), never a mix.
 *
 * A reader may see a commit as soon as it is applied, which in the durable
 * modes is shortly before the commit's fsync returns.
 *
 * Torn-page protection (what a page write cut in half by a power cut does):
 *   CL_TORN_NONE  a torn page is detected by its CRC and open fails with
 *                 CL_ECORRUPT naming the page;
 *   CL_TORN_FPW   (default) the first change of a page after a checkpoint
 *                 logs the whole page, and recovery rebuilds torn pages from
 *                 those images (as PostgreSQL's full_page_writes);
 *   CL_TORN_DWB   pages are first written and synced to a doublewrite area,
 *                 from which recovery repairs torn pages (as InnoDB).
 */
#ifndef CRASHLAB_H
#define CRASHLAB_H

#include <stddef.h>
#include <stdint.h>

#include "cl_io.h"

#define CL_KEY_MAX 1024    /* bytes */
#define CL_VALUE_MAX 65536 /* bytes */

/* Engine error codes (negative; positive values are errno). */
enum cl_error {
    CL_OK = 0,
    CL_ENOTFOUND = -1, /* key not found */
    CL_ECORRUPT = -2,  /* on-disk data failed validation (see cl_errdetail) */
    CL_EINVAL = -3,    /* bad argument: NULL, empty key, bad option */
    CL_ETOOBIG = -4,   /* key or value over the limits */
    CL_EREADONLY = -5, /* a write or fsync failed earlier: reopen to recover */
    CL_ELOCKED = -6,   /* another process has the database open */
    CL_ENOMEM = -7,    /* out of memory, or a batch larger than the pool */
    CL_EFORMAT = -8,   /* files of an unknown format version or magic */
};

/* What a failure concerns, in machine-readable form (cl_errinfo): the kind
 * of damage or failure, and where.  Tools and harnesses decide from these
 * fields, never from the wording of cl_errdetail(). */
typedef enum cl_err_kind {
    CL_ERRK_NONE = 0,    /* no failure recorded (or one with no kind below) */
    CL_ERRK_IO,          /* an I/O call failed: the errno is the code */
    CL_ERRK_PAGE,        /* a page is torn or corrupt (its CRC or header
                            fails, or it is blank where the log needs a
                            written page): file, offset, pgno */
    CL_ERRK_WAL_RECORD,  /* a log record is damaged but later records were
                            written after it was durable, or a record's
                            content cannot be applied: file, offset */
    CL_ERRK_WAL_SEGMENT, /* a log segment is missing, misnumbered, has a bad
                            header, or does not continue the log: file */
    CL_ERRK_SUPERBLOCK,  /* no valid superblock slot: file */
    CL_ERRK_META,        /* page 1 is not a valid meta page: file, pgno */
    CL_ERRK_LSN_AHEAD,   /* a page's LSN is past the end of the log (it was
                            written before its log record was durable) */
    CL_ERRK_STRUCTURE,   /* any other corruption: bad references, B+tree or
                            free-list invariants (cl_check) */
} cl_err_kind;

typedef struct cl_err_info {
    int code; /* the error returned (0 if none) */
    cl_err_kind kind;
    char file[256];  /* the file it concerns ("" if none), as opened */
    uint64_t offset; /* byte offset in file, or CL_ERR_NO_OFFSET */
    uint32_t pgno;   /* page number, or 0 if none */
} cl_err_info;

#define CL_ERR_NO_OFFSET UINT64_MAX

typedef enum cl_sync_mode {
    CL_SYNC_DEFAULT = 0, /* = CL_SYNC_GROUP */
    CL_SYNC_OFF,
    CL_SYNC_COMMIT,
    CL_SYNC_GROUP,
    CL_SYNC_PERIODIC,
} cl_sync_mode;

typedef enum cl_torn_mode {
    CL_TORN_DEFAULT = 0, /* = CL_TORN_FPW */
    CL_TORN_NONE,
    CL_TORN_FPW,
    CL_TORN_DWB,
} cl_torn_mode;

/* When checkpoints run (cl_options.checkpoint_mode).  Each one rolls the
 * log to a new segment at LSN S, writes every page that was dirty at S,
 * fsyncs the page file and records S in the superblock, after which
 * recovery starts at S and the older segments are removed.  Pages changed
 * after S may be written in their newer state meanwhile (the log is
 * always durable up to a page's LSN before the page is written).  The
 * modes differ in who writes the pages and whether commits wait:
 *   CL_CKPT_INLINE      (default) the commit that brings the log to
 *                       checkpoint_bytes past the last checkpoint runs the
 *                       whole checkpoint before it returns, and no other
 *                       commit runs meanwhile;
 *   CL_CKPT_SPREAD      that commit only rolls the log and lists the dirty
 *                       pages; the commits after it write them, 64 at a
 *                       time as their shares come due, so that the
 *                       checkpoint ends by the time half an interval more
 *                       of log has been written, and the commit that
 *                       writes the last one records it;
 *   CL_CKPT_BACKGROUND  a thread of the handle's own does all of it; the
 *                       commit that crosses the interval wakes it, and
 *                       commits go on while it writes pages (the roll
 *                       itself holds them for its fsyncs); a commit that
 *                       finds the log two intervals past the last
 *                       checkpoint recorded waits until the thread has
 *                       recorded one, so that recovery never replays much
 *                       more than that.
 * A crash in the middle of a checkpoint leaves the previous one in force
 * in every mode, and so does cl_close (it does not finish one in
 * progress), or a failure that makes the handle read-only.  cl_checkpoint
 * runs one to its end in every mode. */
typedef enum cl_ckpt_mode {
    CL_CKPT_DEFAULT = 0, /* = CL_CKPT_INLINE */
    CL_CKPT_INLINE,
    CL_CKPT_SPREAD,
    CL_CKPT_BACKGROUND,
} cl_ckpt_mode;

/* Pages the doublewrite area of CL_TORN_DWB holds (docs/FORMAT.md).  A
 * batch of pages written back is copied there first; when the pages
 * written back since the last checkpoint exceed it (a checkpoint or an
 * eviction with more dirty pages than are left), the page file is synced
 * and the area starts over. */
#define CL_DWB_PAGES 64

/* Pass as checkpoint_bytes to postpone automatic checkpoints forever. */
#define CL_CHECKPOINT_NEVER UINT64_MAX

/* Open options.  A zeroed struct (or a NULL pointer) means all defaults. */
typedef struct cl_options {
    cl_sync_mode sync;            /* default CL_SYNC_GROUP */
    unsigned sync_period_ms;      /* CL_SYNC_PERIODIC interval; default 100 */
    cl_torn_mode torn;            /* default CL_TORN_FPW */
    uint32_t page_size;           /* bytes, at creation only: a power of two
                                     4096..65536, default 4096; an existing
                                     database keeps its own */
    uint64_t pool_bytes;          /* buffer pool size, default 64 MiB, min 256
                                     KiB */
    uint64_t checkpoint_bytes;    /* automatic checkpoint once this much log has
                                     been written since the last one; default
                                     64 MiB; CL_CHECKPOINT_NEVER disables */
    uint64_t segment_bytes;       /* log segment roll size, default 16 MiB */
    int no_create;                /* nonzero: fail with ENOENT if missing */
    uint64_t create_salt;         /* salt of a database created by this open
                                     (0: random); fixing it makes the files
                                     byte-for-byte reproducible */
    const cl_io *io;              /* NULL: cl_io_posix() */
    cl_ckpt_mode checkpoint_mode; /* default CL_CKPT_INLINE */
    int no_close_checkpoint;      /* nonzero: cl_close leaves the log since
                                     the last checkpoint for the next open
                                     (a fast shutdown); default: cl_close
                                     checkpoints first */
} cl_options;

typedef struct cl_db cl_db;
typedef struct cl_batch cl_batch;

/* What recovery did (cl_recovery_report).  The open reads the log from the
 * last checkpoint and checks every record; each page the log changes is
 * brought up to date when it is first read (by a read, a commit, cl_check,
 * at the latest by the next checkpoint), so pages_applied and
 * pages_repaired_fpi count what has been applied so far. */
typedef struct cl_recovery {
    int created;                 /* 1 if open created a new database */
    uint64_t checkpoint_lsn;     /* replay started here */
    uint64_t end_lsn;            /* end of the valid log */
    uint64_t records;            /* log records replayed */
    uint64_t bytes;              /* log bytes read */
    uint64_t pages_applied;      /* page changes applied (not skipped) */
    uint64_t pages_repaired_fpi; /* torn pages rebuilt from full images */
    uint64_t pages_repaired_dwb; /* torn pages restored from the doublewrite
                                    area (intact older ones are restored
                                    too, and not counted) */
    uint32_t segments;           /* log segments read */
    int tail_cut;                /* 1 if a torn or unsynced tail was cut */
    char tail_file[64];          /* segment file name of the cut */
    uint64_t tail_offset;        /* byte offset of the cut in tail_file */
    uint64_t tail_bytes;         /* bytes discarded by the cut */
    char tail_reason[256];       /* why the record at the cut was invalid */
    uint64_t usec;               /* wall time of the whole open */
} cl_recovery;

/* Counters since open (cl_stats_get). */
typedef struct cl_stats {
    uint64_t commits;       /* successful commits */
    uint64_t puts, deletes; /* operations committed */
    uint64_t gets;          /* point reads */
    uint64_t wal_records;   /* log records written */
    uint64_t wal_bytes;     /* log bytes written */
    uint64_t wal_syncs;     /* fsync/fdatasync calls on the log */
    uint64_t wal_segments;  /* segments created */
    uint64_t page_reads;    /* pages read from the page file */
    uint64_t page_writes;   /* pages written to the page file */
    uint64_t page_syncs;    /* fsyncs of the page file */
    uint64_t fpi_records;   /* full-page images logged */
    uint64_t dwb_writes;    /* pages written through the doublewrite area */
    uint64_t cache_hits, cache_misses, evictions;
    uint64_t checkpoints;    /* checkpoints completed */
    uint64_t pages_total;    /* pages in the database (page 0 included) */
    uint64_t pages_free;     /* pages on the free list */
    uint64_t pool_pages;     /* frames in the buffer pool */
    uint64_t dirty_pages;    /* dirty frames now */
    uint64_t written_lsn;    /* end of the log appended (in the file or
                                still in the log buffer) */
    uint64_t durable_lsn;    /* end of the log known durable */
    uint64_t checkpoint_lsn; /* LSN of the last checkpoint */
    uint64_t wal_since_ckpt; /* log bytes since the last checkpoint */
    uint32_t page_size;      /* bytes */
    int readonly;            /* 1 once a write or fsync failed */
    int fatal_error;         /* the error that made it read-only */
} cl_stats;

/* Callback of cl_scan: return 0 to continue, nonzero to stop.  k and v are
 * valid only during the call. */
typedef int (*cl_scan_fn)(void *ctx, const void *k, size_t klen, const void *v,
                          size_t vlen);

/* Open (and recover, or create) the database in directory dir.  The page
 * file (pages) makes a directory a database: without it a new database is
 * created, unless the directory holds what only a database leaves (a log
 * segment with records, a segment past the first, a dwb file): that is a
 * database that lost its page file, and the open fails with CL_ECORRUPT
 * naming the directory and the file rather than create a database over its
 * log (with no_create too).  Only segment numbers up to 256 are looked for
 * (the I/O table cannot list a directory).
 * @param dir  path of the database directory, created if missing.
 * @param opt  options, or NULL for defaults.
 * @param db   OUT: the handle, to be closed with cl_close.
 * @return 0; CL_ELOCKED if another process has it open; CL_ECORRUPT if
 *         recovery found damage it cannot repair (cl_errdetail names the file
 *         and offset or page) or the page file is missing beside a log;
 *         CL_EFORMAT; CL_EINVAL for bad options; an
 *         errno from the I/O layer.  Recovery may be interrupted at any point
 *         and run again with the same result.  A page the log changes is
 *         redone when it is first read, so damage to such a page (torn
 *         with no full image of it in the log, or newer than the log) is
 *         reported as CL_ECORRUPT by the call that first reads it. */
int cl_open(const char *dir, const cl_options *opt, cl_db **db);

/* Make every commit durable, checkpoint, release the lock and free db.
 * The checkpoint (as cl_checkpoint) is made when the log has grown since
 * the last one, so that the next open has nothing to redo and the first
 * reads after it find current pages; cl_options.no_close_checkpoint leaves
 * it out, and the next open then indexes the log as after a crash.  A
 * handle that has gone read-only after a failure neither checkpoints nor
 * syncs, and returns CL_EREADONLY: what it acknowledged before the failure
 * may not be durable.
 * @return 0, or the error of the checkpoint or of the final fsync, or
 *         CL_EREADONLY (the handle is freed anyway). */
int cl_close(cl_db *db);

/* Read the value of key into buf (up to cap bytes).
 * @param vlen OUT: the value's full length, which may exceed cap (then only
 *             cap bytes were copied).
 * @return 0; CL_ENOTFOUND; CL_EINVAL; CL_ETOOBIG for an oversized key;
 *         CL_ECORRUPT; an errno. */
int cl_get(cl_db *db, const void *key, size_t klen, void *buf, size_t cap,
           size_t *vlen);

/* Like cl_get, but the value is returned in a malloc'd buffer.
 * @param val OUT: the value (free() it); never NULL on success.
 * @param vlen OUT: its length. */
int cl_get_alloc(cl_db *db, const void *key, size_t klen, void **val,
                 size_t *vlen);

/* Insert or replace one key (a batch of one).  Durable on return in the
 * durable sync modes.  @return 0; CL_EINVAL; CL_ETOOBIG; CL_EREADONLY;
 * CL_ECORRUPT; an errno (the commit then did not happen). */
int cl_put(cl_db *db, const void *key, size_t klen, const void *val,
           size_t vlen);

/* Delete one key.  @return 0; CL_ENOTFOUND if it was absent (nothing is
 * written); otherwise as cl_put. */
int cl_delete(cl_db *db, const void *key, size_t klen);

/* Write batches: puts and deletes committed atomically, applied in order. */
int cl_batch_new(cl_batch **b);
/* Append a put (copies key and value).  @return 0, CL_EINVAL, CL_ETOOBIG,
 * CL_ENOMEM. */
int cl_batch_put(cl_batch *b, const void *key, size_t klen, const void *val,
                 size_t vlen);
/* Append a delete (of an absent key: no effect at commit). */
int cl_batch_delete(cl_batch *b, const void *key, size_t klen);
size_t cl_batch_count(const cl_batch *b);
void cl_batch_clear(cl_batch *b);
void cl_batch_free(cl_batch *b);

/* Commit b atomically: after any crash either all of it or none is visible.
 * @param lsn OUT (may be NULL): the commit's LSN; the commit is durable once
 *            cl_durable_lsn() >= *lsn.
 * @return 0; CL_EREADONLY; CL_ENOMEM (batch too large for the pool); an
 *         errno from the I/O layer (then the batch was not committed; after
 *         a failed fsync the handle is read-only until reopened). */
int cl_commit(cl_db *db, const cl_batch *b, uint64_t *lsn);

/* Ordered scan of keys >= start (NULL: from the first key) that begin with
 * prefix (NULL: any), calling fn for each, at most limit times (0: no limit).
 * Not a snapshot: keys committed during the scan may or may not be seen, but
 * each key is seen at most once and in order.  fn may call other functions
 * of this db (the scan holds no lock while fn runs). */
int cl_scan(cl_db *db, const void *start, size_t startlen, const void *prefix,
            size_t prefixlen, size_t limit, cl_scan_fn fn, void *ctx);

/* Checkpoint now: redo the pages still waiting for their first read since
 * the open, flush dirty pages, sync, write the superblock, drop old log
 * segments.  @return 0 or an error (the handle goes read-only on I/O
 * errors, and on a page the redo finds damaged: CL_ECORRUPT). */
int cl_checkpoint(cl_db *db);

/* Write out and fsync the log now (useful in CL_SYNC_OFF and
 * CL_SYNC_PERIODIC): every commit that returned before is then durable. */
int cl_sync(cl_db *db);

/* The end LSN of the log known to be durable. */
uint64_t cl_durable_lsn(cl_db *db);

/* Verify every page: CRC, B+tree order and structure, overflow chains, the
 * free list, and that each page is reachable exactly once or free.
 * @return 0 or CL_ECORRUPT with the first problem in msg (and
 *         cl_errdetail()); an errno on I/O failure. */
int cl_check(cl_db *db, char *msg, size_t msglen);

int cl_stats_get(cl_db *db, cl_stats *st);
int cl_recovery_report(cl_db *db, cl_recovery *rep);

/* Names of sync, torn and checkpoint modes ("off", "fpw", "background"...),
 * and parsers for them (0 or CL_EINVAL). */
const char *cl_sync_name(cl_sync_mode m);
const char *cl_torn_name(cl_torn_mode m);
const char *cl_ckpt_name(cl_ckpt_mode m);
int cl_sync_parse(const char *s, cl_sync_mode *m);
int cl_torn_parse(const char *s, cl_torn_mode *m);
int cl_ckpt_parse(const char *s, cl_ckpt_mode *m);

/* Check opt (NULL: defaults) as cl_open does, without opening anything, so
 * that a program can refuse a bad option value as a usage error before it
 * acts.  @return 0, or CL_EINVAL with cl_errdetail saying which value and
 * what it must be. */
int cl_options_check(const cl_options *opt);

/* Text for an error code (negative CL_E* or positive errno). */
const char *cl_strerror(int rc);
/* Detail of this thread's most recent failure ("" if none), for people:
 * its wording may change. */
const char *cl_errdetail(void);
/* The same failure in fields (kind, file, offset, page), for programs;
 * for CL_EREADONLY, the kind and place of the failure that made the handle
 * read-only, in whichever thread it came (a page the background
 * checkpoint found torn: CL_ERRK_PAGE).  OUT: *out (kind CL_ERRK_NONE and
 * code 0 if none).  @return 0, or
 * CL_EINVAL if out is NULL. */
int cl_errinfo(cl_err_info *out);
/* Name of a kind ("page", "wal-record", ...). */
const char *cl_err_kind_name(cl_err_kind kind);

#endif
