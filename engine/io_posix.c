/*
 * io_posix.c - the default I/O table: the only engine file that makes
 * file-system system calls.
 *
 * Each call loops over EINTR and short transfers, returns 0 or a positive
 * errno, and starts with a libfiu fault point engine/io/<call> (nothing in a
 * normal build).  A fired point fails the call with the errno given as the
 * point's failinfo (EIO when none is given), before any effect.
 * engine/io/pwrite/short writes only the first half of the buffer and then
 * fails with the failinfo errno (ENOSPC when none): what a filling disk does.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cl_io.h"
#include "fault_points.h"

#define IO_FAULT(name)                                                         \
    do {                                                                       \
        if (fiu_fail(name)) {                                                  \
            void *fi_ = fiu_failinfo();                                        \
            return fi_ ? (int)(intptr_t)fi_ : EIO;                             \
        }                                                                      \
    } while (0)

static int io_posix_open(void *ctx, const char *path, int flags, int *fd)
{
    int oflags = O_CLOEXEC;

    (void)ctx;
    IO_FAULT("engine/io/open");
    oflags |= (flags & CL_IO_RDWR) ? O_RDWR : O_RDONLY;
    if (flags & CL_IO_CREATE)
        oflags |= O_CREAT;
    if (flags & CL_IO_EXCL)
        oflags |= O_EXCL;
    for (;;) {
        int f = open(path, oflags, 0644);
        if (f >= 0) {
            *fd = f;
            return 0;
        }
        if (errno != EINTR)
            return errno;
    }
}

static int io_posix_close(void *ctx, int fd)
{
    (void)ctx;
    IO_FAULT("engine/io/close");
    /* Linux releases the fd even when close fails with EINTR: never retry. */
    if (close(fd) != 0 && errno != EINTR)
        return errno;
    return 0;
}

static int io_posix_pread(void *ctx, int fd, void *buf, size_t len,
                          uint64_t off, size_t *nread)
{
    size_t done = 0;

    (void)ctx;
    IO_FAULT("engine/io/pread");
    while (done < len) {
        ssize_t n =
            pread(fd, (char *)buf + done, len - done, (off_t)(off + done));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        if (n == 0)
            break; /* end of file */
        done += (size_t)n;
    }
    *nread = done;
    return 0;
}

static int io_posix_pwrite(void *ctx, int fd, const void *buf, size_t len,
                           uint64_t off)
{
    size_t done = 0;
    int short_errno = 0;

    (void)ctx;
    IO_FAULT("engine/io/pwrite");
    if (fiu_fail("engine/io/pwrite/short")) {
        void *fi = fiu_failinfo();
        short_errno = fi ? (int)(intptr_t)fi : ENOSPC;
        len /= 2;
    }
    while (done < len) {
        ssize_t n = pwrite(fd, (const char *)buf + done, len - done,
                           (off_t)(off + done));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        if (n == 0)
            return ENOSPC; /* no progress: treat as a full device */
        done += (size_t)n;
    }
    return short_errno;
}

static int io_posix_fsync(void *ctx, int fd)
{
    (void)ctx;
    IO_FAULT("engine/io/fsync");
    /* fsync is not retried on EINTR: after a failed fsync the kernel may
     * have dropped the dirty pages, so a retry could falsely succeed. */
    return fsync(fd) == 0 ? 0 : errno;
}

static int io_posix_fdatasync(void *ctx, int fd)
{
    (void)ctx;
    IO_FAULT("engine/io/fdatasync");
    return fdatasync(fd) == 0 ? 0 : errno;
}

static int io_posix_ftruncate(void *ctx, int fd, uint64_t len)
{
    (void)ctx;
    IO_FAULT("engine/io/ftruncate");
    for (;;) {
        if (ftruncate(fd, (off_t)len) == 0)
            return 0;
        if (errno != EINTR)
            return errno;
    }
}

static int io_posix_filesize(void *ctx, int fd, uint64_t *size)
{
    struct stat st;

    (void)ctx;
    IO_FAULT("engine/io/filesize");
    if (fstat(fd, &st) != 0)
        return errno;
    *size = (uint64_t)st.st_size;
    return 0;
}

static int io_posix_rename(void *ctx, const char *from, const char *to)
{
    (void)ctx;
    IO_FAULT("engine/io/rename");
    return rename(from, to) == 0 ? 0 : errno;
}

static int io_posix_unlink(void *ctx, const char *path)
{
    (void)ctx;
    IO_FAULT("engine/io/unlink");
    return unlink(path) == 0 ? 0 : errno;
}

static int io_posix_mkdir(void *ctx, const char *path)
{
    (void)ctx;
    IO_FAULT("engine/io/mkdir");
    return mkdir(path, 0755) == 0 ? 0 : errno;
}

static int io_posix_dirsync(void *ctx, const char *dir)
{
    int fd, rc = 0;

    (void)ctx;
    IO_FAULT("engine/io/dirsync");
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    if (fsync(fd) != 0)
        rc = errno;
    close(fd);
    return rc;
}

static int io_posix_lock(void *ctx, const char *path, int *fd)
{
    int f;

    (void)ctx;
    IO_FAULT("engine/io/lock");
    f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (f < 0)
        return errno;
    while (flock(f, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        if (e == EINTR)
            continue;
        close(f);
        return e;
    }
    *fd = f;
    return 0;
}

/* The lock belongs to the open file description, which a fork shares:
 * closing the descriptor releases it once no descriptor refers to it any
 * more.  An explicit LOCK_UN would release it for every process sharing
 * it, so that a child forked with the database open that closes its copy
 * of the handle would leave the parent's open unlocked. */
static int io_posix_unlock(void *ctx, int fd)
{
    (void)ctx;
    return close(fd) == 0 ? 0 : errno;
}

static const cl_io io_posix_table = {
    .ctx = NULL,
    .open = io_posix_open,
    .close = io_posix_close,
    .pread = io_posix_pread,
    .pwrite = io_posix_pwrite,
    .fsync = io_posix_fsync,
    .fdatasync = io_posix_fdatasync,
    .ftruncate = io_posix_ftruncate,
    .filesize = io_posix_filesize,
    .rename = io_posix_rename,
    .unlink = io_posix_unlink,
    .mkdir = io_posix_mkdir,
    .dirsync = io_posix_dirsync,
    .lock = io_posix_lock,
    .unlock = io_posix_unlock,
};

const cl_io *cl_io_posix(void)
{
    return &io_posix_table;
}
