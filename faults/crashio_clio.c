/*
 * crashio_clio.c - the cl_io front end of the crash core: a table whose
 * every entry is the core operation of the same name (crashio.h), or, for
 * the calls that change nothing, the inner table's entry.
 */
#include "crashio.h"

#include "crashio_int.h"

static int clio_open(void *ctx, const char *path, int flags, int *fd)
{
    return crashio_op_open(ctx, path, flags, fd);
}

static int clio_close(void *ctx, int fd)
{
    return crashio_op_close(ctx, fd);
}

static int clio_pread(void *ctx, int fd, void *buf, size_t len, uint64_t off,
                      size_t *nread)
{
    crashio *c = ctx;

    return c->in->pread(c->in->ctx, fd, buf, len, off, nread);
}

static int clio_pwrite(void *ctx, int fd, const void *buf, size_t len,
                       uint64_t off)
{
    return crashio_op_pwrite(ctx, fd, buf, len, off);
}

static int clio_fsync(void *ctx, int fd)
{
    return crashio_op_sync(ctx, fd, 0);
}

static int clio_fdatasync(void *ctx, int fd)
{
    return crashio_op_sync(ctx, fd, 1);
}

static int clio_ftruncate(void *ctx, int fd, uint64_t len)
{
    return crashio_op_ftruncate(ctx, fd, len);
}

static int clio_filesize(void *ctx, int fd, uint64_t *size)
{
    crashio *c = ctx;

    return c->in->filesize(c->in->ctx, fd, size);
}

static int clio_rename(void *ctx, const char *from, const char *to)
{
    return crashio_op_rename(ctx, from, to);
}

static int clio_unlink(void *ctx, const char *path)
{
    return crashio_op_unlink(ctx, path);
}

static int clio_mkdir(void *ctx, const char *path)
{
    return crashio_op_mkdir(ctx, path);
}

static int clio_dirsync(void *ctx, const char *dir)
{
    return crashio_op_dirsync(ctx, dir);
}

/* lock may create its lock file without a point: it carries no data. */
static int clio_lock(void *ctx, const char *path, int *fd)
{
    crashio *c = ctx;

    return c->in->lock(c->in->ctx, path, fd);
}

static int clio_unlock(void *ctx, int fd)
{
    crashio *c = ctx;

    return c->in->unlock(c->in->ctx, fd);
}

static void clio_activity(void *ctx, uint32_t act, int on)
{
    crashio_op_activity(ctx, act, on);
}

const cl_io *crashio_table(crashio *c)
{
    /* Filled on first use, at set-up, before any I/O goes through it. */
    if (c->table.ctx == NULL)
        c->table = (cl_io){
            .ctx = c,
            .open = clio_open,
            .close = clio_close,
            .pread = clio_pread,
            .pwrite = clio_pwrite,
            .fsync = clio_fsync,
            .fdatasync = clio_fdatasync,
            .ftruncate = clio_ftruncate,
            .filesize = clio_filesize,
            .rename = clio_rename,
            .unlink = clio_unlink,
            .mkdir = clio_mkdir,
            .dirsync = clio_dirsync,
            .lock = clio_lock,
            .unlock = clio_unlock,
            .activity = clio_activity,
        };
    return &c->table;
}
