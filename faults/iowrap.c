/*
 * iowrap.c - a forwarding I/O table with a test's changes (iowrap.h).
 */
#include "iowrap.h"

#include <errno.h>

#define IOWRAP(ctx) ((iowrap *)(ctx))
#define IOWRAP_IN(ctx) (IOWRAP(ctx)->inner)

static int iowrap_open(void *ctx, const char *path, int flags, int *fd)
{
    return IOWRAP_IN(ctx)->open(IOWRAP_IN(ctx)->ctx, path, flags, fd);
}

static int iowrap_close(void *ctx, int fd)
{
    return IOWRAP_IN(ctx)->close(IOWRAP_IN(ctx)->ctx, fd);
}

static int iowrap_pread(void *ctx, int fd, void *buf, size_t len, uint64_t off,
                        size_t *nread)
{
    iowrap *w = IOWRAP(ctx);
    uint64_t n = atomic_fetch_add(&w->reads, 1) + 1;

    if (w->fail_read_at != 0 && n == w->fail_read_at) {
        atomic_store(&w->failed, 1);
        return w->read_errno != 0 ? w->read_errno : EIO;
    }
    return w->inner->pread(w->inner->ctx, fd, buf, len, off, nread);
}

static int iowrap_pwrite(void *ctx, int fd, const void *buf, size_t len,
                         uint64_t off)
{
    return IOWRAP_IN(ctx)->pwrite(IOWRAP_IN(ctx)->ctx, fd, buf, len, off);
}

static int iowrap_fsync(void *ctx, int fd)
{
    if (IOWRAP(ctx)->nosync)
        return 0;
    return IOWRAP_IN(ctx)->fsync(IOWRAP_IN(ctx)->ctx, fd);
}

static int iowrap_fdatasync(void *ctx, int fd)
{
    if (IOWRAP(ctx)->nosync)
        return 0;
    return IOWRAP_IN(ctx)->fdatasync(IOWRAP_IN(ctx)->ctx, fd);
}

static int iowrap_ftruncate(void *ctx, int fd, uint64_t len)
{
    return IOWRAP_IN(ctx)->ftruncate(IOWRAP_IN(ctx)->ctx, fd, len);
}

static int iowrap_filesize(void *ctx, int fd, uint64_t *size)
{
    return IOWRAP_IN(ctx)->filesize(IOWRAP_IN(ctx)->ctx, fd, size);
}

static int iowrap_rename(void *ctx, const char *from, const char *to)
{
    return IOWRAP_IN(ctx)->rename(IOWRAP_IN(ctx)->ctx, from, to);
}

static int iowrap_unlink(void *ctx, const char *path)
{
    return IOWRAP_IN(ctx)->unlink(IOWRAP_IN(ctx)->ctx, path);
}

static int iowrap_mkdir(void *ctx, const char *path)
{
    return IOWRAP_IN(ctx)->mkdir(IOWRAP_IN(ctx)->ctx, path);
}

static int iowrap_dirsync(void *ctx, const char *dir)
{
    if (IOWRAP(ctx)->nosync)
        return 0;
    return IOWRAP_IN(ctx)->dirsync(IOWRAP_IN(ctx)->ctx, dir);
}

static int iowrap_lock(void *ctx, const char *path, int *fd)
{
    return IOWRAP_IN(ctx)->lock(IOWRAP_IN(ctx)->ctx, path, fd);
}

static int iowrap_unlock(void *ctx, int fd)
{
    return IOWRAP_IN(ctx)->unlock(IOWRAP_IN(ctx)->ctx, fd);
}

static void iowrap_activity(void *ctx, uint32_t act, int on)
{
    cl_io_activity(IOWRAP_IN(ctx), act, on);
}

void iowrap_init(iowrap *w, const cl_io *inner)
{
    static const cl_io calls = {
        NULL,
        iowrap_open,
        iowrap_close,
        iowrap_pread,
        iowrap_pwrite,
        iowrap_fsync,
        iowrap_fdatasync,
        iowrap_ftruncate,
        iowrap_filesize,
        iowrap_rename,
        iowrap_unlink,
        iowrap_mkdir,
        iowrap_dirsync,
        iowrap_lock,
        iowrap_unlock,
        iowrap_activity,
    };

    w->io = calls;
    w->io.ctx = w;
    w->inner = inner != NULL ? inner : cl_io_posix();
    w->nosync = 0;
    w->fail_read_at = 0;
    w->read_errno = 0;
    atomic_store(&w->reads, 0);
    atomic_store(&w->failed, 0);
}
