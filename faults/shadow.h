/*
 * shadow.h - the shadow log: a record, kept outside the database directory,
 * of every file operation a writer process performed, written before the
 * operation, so that after the process is killed the power-loss image
 * builder (powerloss.h) can tell what had been made durable and what had
 * not, and can undo what had not.
 *
 * The log is written with plain writes (writev(2)) and never fsynced: it only
 * has to survive the death of the process, which does not lose the page cache.
 * Each record is self-delimiting and checksummed, so a record cut short by
 * SIGKILL is recognised and ignored.  The byte layout is specified at the
 * top of shadow_writer.c.
 *
 * Paths in the log are complete paths in normal form (shadow_path_norm):
 * the image builder matches them as strings.
 */
#ifndef CL_SHADOW_H
#define CL_SHADOW_H

#include <stddef.h>
#include <stdint.h>

/* Record types. */
typedef enum shadow_type {
    SHADOW_WRITE = 1,    /* data written into a file */
    SHADOW_TRUNCATE,     /* a file's length set */
    SHADOW_SYNC,         /* fsync/fdatasync of a file succeeded */
    SHADOW_FSYNC_FAILED, /* fsync/fdatasync failed: unsynced writes lost */
    SHADOW_CREATE,       /* a new, empty file */
    SHADOW_MKDIR,        /* a new directory */
    SHADOW_RENAME,       /* path renamed to `to` */
    SHADOW_UNLINK,       /* a file removed (possibly into the graveyard) */
    SHADOW_DIRSYNC,      /* a directory's entries made durable */
    SHADOW_FAILED,       /* the operation of record `ref` failed: no effect */
} shadow_type;

/*
 * One record, as given to shadow_append and as returned by shadow_next.
 * Fields not listed for a type are ignored when writing and zero/NULL when
 * read.  Pointers returned by the reader stay valid until shadow_reader_close.
 */
typedef struct shadow_rec {
    shadow_type type;
    uint64_t seq;      /* record number, 1 for the first: set by the writer */
    uint64_t point;    /* crashio I/O point that made this record, 0 if none */
    const char *path;  /* every type but FAILED; RENAME: the source */
    const char *to;    /* RENAME: the target */
    const char *grave; /* RENAME: where the replaced target went; UNLINK:
                          where the file went; NULL: not kept */
    int to_existed;    /* RENAME: 1 if `to` existed (and was replaced) */
    int datasync;      /* SYNC: 1 for fdatasync, 0 for fsync */
    uint64_t off;      /* WRITE: file offset of the first byte written */
    uint64_t len;      /* WRITE: bytes written */
    uint64_t old_size; /* WRITE, TRUNCATE: file length before, bytes */
    uint64_t new_size; /* TRUNCATE: file length after, bytes */
    uint64_t covers;   /* SYNC, FSYNC_FAILED, DIRSYNC: the call applies to
                          the records with seq < covers (those issued before
                          the call began) */
    uint64_t ref;      /* FAILED: seq of the record whose operation failed */
    int err;           /* FSYNC_FAILED, FAILED: the errno */
    const uint8_t *old_bytes; /* WRITE: the bytes [off, off + old_len) before
                                 the write; TRUNCATE: the bytes cut off,
                                 [new_size, old_size), when shrinking */
    uint64_t old_len;         /* bytes at old_bytes.  WRITE: min(len,
                                 old_size - off), 0 if off >= old_size */
} shadow_rec;

/* Reader results (exactly one per call). */
#define SHADOW_OK 0      /* a record was returned */
#define SHADOW_END 1     /* clean end of the log, or a torn last record */
#define SHADOW_CORRUPT 2 /* damage that is not a torn tail; see the reason */

/* ---- writer ---- */

typedef struct shadow_writer shadow_writer;

/* Create (or truncate) the log at path and write its header, naming
 * graveyard (the directory where removed files are kept; NULL if none).
 * Returns 0, a positive errno, or EINVAL (path too long).  OUT: *out. */
int shadow_writer_open(const char *path, const char *graveyard,
                       shadow_writer **out);

/* Append one record with one writev(2); rec->seq is set to its number.
 * Paths are normalised on the way.  Safe to call from several threads (the
 * appends are serialised).  Returns 0, a positive errno (the log may then end
 * with a partial record, which the reader treats as a torn tail), or EINVAL
 * for a record that breaks the format's limits (nothing is written). */
int shadow_append(shadow_writer *w, shadow_rec *rec);

/* The seq the next appended record will get. */
uint64_t shadow_next_seq(shadow_writer *w);

/* Go on appending to the existing log at path, which another writer (a
 * process now dead) made with the same graveyard: its records keep their
 * meaning and the new ones follow them in one sequence, under its salt, as
 * if one process had made them all.  A torn last record is cut off first.
 * A file shorter than a complete header is made afresh (nothing was
 * recorded in it).  Returns 0, EINVAL (a corrupt log, or one naming
 * another graveyard) or a positive errno.  OUT: *out. */
int shadow_writer_continue(const char *path, const char *graveyard,
                           shadow_writer **out);

/* Go on appending to the log at path, a copy of w's own that the caller
 * put there (crashio_branch): w's descriptor is reopened on it.  Returns 0
 * or an errno. */
int shadow_writer_reopen(shadow_writer *w, const char *path);

/* From now on, keep the records appended in memory instead of writing
 * each one: for a process whose log matters only up to a length it
 * chooses later (a sampling recovery, trial_rcrash.c), which then writes
 * that much with shadow_writer_flush.  A held record counts in the log's
 * length and sequence as a written one. */
void shadow_writer_hold(shadow_writer *w);

/* Write the held records out and write each record as it is appended
 * from now on (shadow_writer_hold undone).  Returns 0 or an errno. */
int shadow_writer_release(shadow_writer *w);

/* The log's length in bytes, the held records included. */
uint64_t shadow_writer_length(shadow_writer *w);

/* Write the held records up to the log length upto (UINT64_MAX: all of
 * them) to the file; the later ones stay held.  Returns 0 or an errno. */
int shadow_writer_flush(shadow_writer *w, uint64_t upto);

/* Close the log (no fsync: see the file comment); records still held are
 * dropped.  NULL is allowed. */
void shadow_writer_close(shadow_writer *w);

/* ---- reader ---- */

typedef struct shadow_reader shadow_reader;

/* Read the whole log at path into memory and check its header.  A file
 * shorter than a complete header is an empty log (the writer died while
 * creating it).  A complete but bad header (magic, version, CRC) still opens:
 * the first shadow_next returns SHADOW_CORRUPT.  Returns 0 or a positive
 * errno.  OUT: *out. */
int shadow_reader_open(const char *path, shadow_reader **out);

/* shadow_reader_open for a process that reads a log once: the file's
 * pages are mapped instead of copied into a buffer kept for the next log
 * (a process that has none kept yet would fault in and fill every page).
 * The file must not change until shadow_reader_close. */
int shadow_reader_open_mapped(const char *path, shadow_reader **out);

/* The next record: SHADOW_OK (OUT: *rec), SHADOW_END, or SHADOW_CORRUPT.
 * After END or CORRUPT every later call returns the same. */
int shadow_next(shadow_reader *r, shadow_rec *rec);

/* The graveyard directory named in the header ("" if none). */
const char *shadow_reader_graveyard(const shadow_reader *r);

/* After SHADOW_END: bytes of torn tail that were ignored (0 = clean end). */
uint64_t shadow_reader_torn_bytes(const shadow_reader *r);

/* The header's salt; 0 for an empty log. */
uint32_t shadow_reader_salt(const shadow_reader *r);

/* The seq of the last record returned (0 if none). */
uint64_t shadow_reader_last_seq(const shadow_reader *r);

/* After SHADOW_END: the bytes of the header and the valid records, where
 * a writer going on with the log appends. */
uint64_t shadow_reader_valid_bytes(const shadow_reader *r);

/* Why the log (or its header) is corrupt, with the byte offset. */
const char *shadow_reader_reason(const shadow_reader *r);

/* Free the reader and everything its records point to.  NULL is allowed. */
void shadow_reader_close(shadow_reader *r);

/* ---- paths ---- */

/* Normal form of a path, in a new malloc'd string (NULL when out of
 * memory): repeated '/' collapsed, "." components and a trailing '/'
 * removed ("/" stays "/").  ".." is kept as is. */
char *shadow_path_norm(const char *path);

/* The parent directory of a normalised path, malloc'd: "a/b" -> "a",
 * "/a" -> "/", "a" -> ".".  NULL when out of memory. */
char *shadow_path_parent(const char *path);

/* Name of a record type ("write", "sync", ...). */
const char *shadow_type_name(shadow_type t);

#endif
