/*
 * cl_io.h - the engine's I/O table.
 *
 * Every byte the engine reads or writes, and every file-system operation it
 * performs, goes through one cl_io table given at open time (cl_options.io).
 * The default table is plain POSIX (cl_io_posix()).  Fault layers (faults/)
 * wrap another table: they count, fail, tear or drop calls and forward the
 * rest, without the engine knowing.
 *
 * Conventions shared by every entry:
 *   - return 0 on success or a positive errno value on failure; never -1;
 *   - paths are complete paths ("<dir>/<name>"), never relative to an fd;
 *   - an fd is whatever integer the table's open returned; the engine only
 *     passes it back to the same table;
 *   - EINTR and short transfers are handled inside the table: pread fills the
 *     whole buffer unless end-of-file comes first, pwrite writes everything or
 *     fails.
 */
#ifndef CL_IO_H
#define CL_IO_H

#include <stddef.h>
#include <stdint.h>

/* Flags for cl_io.open. */
#define CL_IO_RDONLY 0x0 /* open for reading only */
#define CL_IO_RDWR 0x1   /* open for reading and writing */
#define CL_IO_CREATE                                                           \
    0x2                /* create the file if it does not exist (mode 0644)     \
                        */
#define CL_IO_EXCL 0x4 /* with CL_IO_CREATE: fail with EEXIST if it exists */

/* The engine's mechanisms, as bits of a mask (cl_io.activity).  The four
 * CKPT_* bits are the steps of the checkpoint recipe (checkpoint.c); the
 * four per-transaction bits (SPLIT, MERGE, OVERFLOW, FREE_REUSE) are on
 * from the change that sets them until the commit (or the failed commit)
 * of that transaction returns, so that the log writes and syncs carrying
 * the change count as part of it. */
#define CL_ACT_CKPT_ROLL 0x0001u  /* checkpoint 1: roll the log */
#define CL_ACT_CKPT_FLUSH 0x0002u /* checkpoint 2: pages written, fsync */
#define CL_ACT_CKPT_SB 0x0004u    /* checkpoint 3: superblock and fsync */
#define CL_ACT_CKPT_DROP 0x0008u  /* checkpoint 4: old segments removed */
#define CL_ACT_EVICT 0x0010u      /* dirty pages written back for frames */
#define CL_ACT_SEG_ROLL 0x0020u   /* a new log segment */
#define CL_ACT_SEG_REMOVE 0x0040u /* old log segments removed */
#define CL_ACT_SB_WRITE 0x0080u   /* a superblock slot written */
#define CL_ACT_SPLIT 0x0100u      /* a B-tree node split */
#define CL_ACT_MERGE 0x0200u      /* B-tree nodes merged */
#define CL_ACT_OVERFLOW 0x0400u   /* an overflow chain written */
#define CL_ACT_FREE_REUSE 0x0800u /* a page taken from the free list */
#define CL_ACT_DWB                                                             \
    0x1000u                     /* pages written through the doublewrite       \
                                   area */
#define CL_ACT_DWB_WRAP 0x2000u /* the doublewrite area started over */
#define CL_ACT_RECOVERY 0x4000u /* recovery, in the open */
#define CL_ACT_CKPT_OPEN                                                       \
    0x8000u /* a checkpoint begun and not yet recorded while commits go on     \
               (modes spread and background): from the end of its roll to      \
               the start of its recording (the page file's fsync), or until    \
               it is abandoned */
/* Pages whose redo waits for their first read after a recovery (from the
 * end of the open until every one is read, at the latest by the next
 * checkpoint's start).  Apart from the bits below 0x10000, which callers
 * may keep in 16 bits of their own. */
#define CL_ACT_REDO 0x00100000u
#define CL_ACT_CKPT                                                            \
    (CL_ACT_CKPT_ROLL | CL_ACT_CKPT_FLUSH | CL_ACT_CKPT_SB | CL_ACT_CKPT_DROP)
#define CL_ACT_TXN                                                             \
    (CL_ACT_SPLIT | CL_ACT_MERGE | CL_ACT_OVERFLOW | CL_ACT_FREE_REUSE)

typedef struct cl_io {
    void *ctx; /* passed as the first argument of every call */

    /* Open path with CL_IO_* flags.  OUT: *fd. */
    int (*open)(void *ctx, const char *path, int flags, int *fd);
    /* Close fd.  Unsynced data is not made durable by close. */
    int (*close)(void *ctx, int fd);
    /* Read up to len bytes at off.  OUT: *nread (< len only at end-of-file). */
    int (*pread)(void *ctx, int fd, void *buf, size_t len, uint64_t off,
                 size_t *nread);
    /* Write exactly len bytes at off, or fail. */
    int (*pwrite)(void *ctx, int fd, const void *buf, size_t len, uint64_t off);
    /* Make the file's data and metadata durable. */
    int (*fsync)(void *ctx, int fd);
    /* Make the file's data (and the size, if it changed) durable. */
    int (*fdatasync)(void *ctx, int fd);
    /* Set the file's length. */
    int (*ftruncate)(void *ctx, int fd, uint64_t len);
    /* OUT: *size, the file's length in bytes. */
    int (*filesize)(void *ctx, int fd, uint64_t *size);
    /* Rename a file (atomically replacing to); durable after dirsync. */
    int (*rename)(void *ctx, const char *from, const char *to);
    /* Remove a file; durable after dirsync. */
    int (*unlink)(void *ctx, const char *path);
    /* Create a directory (mode 0755); EEXIST if it exists. */
    int (*mkdir)(void *ctx, const char *path);
    /* Make the directory's entries (creates, renames, unlinks) durable. */
    int (*dirsync)(void *ctx, const char *dir);
    /* Open (creating) path and take an exclusive advisory lock on it without
     * waiting; EWOULDBLOCK when another open file description holds it.
     * OUT: *fd, to pass to unlock. */
    int (*lock)(void *ctx, const char *path, int *fd);
    /* Release a lock taken with lock and close its fd. */
    int (*unlock)(void *ctx, int fd);
    /* Optional (NULL: nobody listens).  The engine says that the
     * mechanisms in act (CL_ACT_* bits) start (on = 1) or are over (on =
     * 0), so that a fault layer can tell which of them each later call
     * belongs to.  Never fails; does no I/O. */
    void (*activity)(void *ctx, uint32_t act, int on);
} cl_io;

/* Tell io's listener, if any, that act starts (on = 1) or is over. */
static inline void cl_io_activity(const cl_io *io, uint32_t act, int on)
{
    if (io->activity != NULL)
        io->activity(io->ctx, act, on);
}

/* The default table: POSIX calls with EINTR/short-transfer loops and libfiu
 * fault points engine/io/<call> (compiled out unless FIU_ENABLE). */
const cl_io *cl_io_posix(void);

#endif
