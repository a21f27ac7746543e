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
} cl_io;

/* The default table: POSIX calls with EINTR/short-transfer loops and libfiu
 * fault points engine/io/<call> (compiled out unless FIU_ENABLE). */
const cl_io *cl_io_posix(void);

#endif
