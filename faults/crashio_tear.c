/*
 * crashio_tear.c - a torn write: at the crash point, only some sectors of a
 * pwrite reach the file (the others keep their old bytes, or get zeros or
 * garbage), then the process dies.  This is what a write cut by a power
 * failure can leave on a device whose atomic unit is the sector.
 *
 * The decision (which sectors, which fill, which garbage) is a pure function
 * of (seed, point, sector size, fill, the write), made in one place
 * (crashio_tear_pieces) for the crash itself and for crashio_tear_write,
 * which performs the same tear on a copy of the files without dying.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crashio_int.h"
#include "rng.h"

/* Receives each piece of a torn write that reaches the file: the bytes
 * [bytes, bytes + n) at file offset off.  Returns 0 or an errno. */
typedef int (*crashio_piece_fn)(void *ctx, const uint8_t *bytes, size_t n,
                                uint64_t off);

/* Tear the pwrite of buf[0..len) at off for point k: choose a seed-chosen
 * non-empty strict subset of its sectors (or, for a one-sector write, all or
 * nothing), fill the others per fill, describe it in *t (t->file left 0)
 * and hand the pieces to put, in file order.  Returns 0, 1 for an empty
 * write (nothing to tear: a plain kill), ENOMEM, or put's error. */
static int crashio_tear_pieces(uint64_t seed, uint64_t k, uint32_t sector,
                               int fill, const void *buf, size_t len,
                               uint64_t off, crashio_tear_info *t,
                               crashio_piece_fn put, void *ctx)
{
    rng r = rng_stream(seed, CRASHIO_TAG_TEAR, k);
    uint64_t u = sector, first, n, cnt = 0;
    uint8_t *reach = NULL, *img = NULL;
    int rc = 0;

    memset(t, 0, sizeof(*t));
    if (len == 0)
        return 1;
    first = off / u;
    n = (off + len - 1) / u - first + 1;
    reach = calloc(n, 1);
    if (fill == CRASHIO_FILL_SEED)
        fill = (int)rng_below(&r, 3);
    if (reach == NULL)
        return ENOMEM;
    if (n == 1) {
        reach[0] = (uint8_t)rng_coin(&r);
        cnt = reach[0];
    } else {
        for (uint64_t i = 0; i < n; i++)
            cnt += reach[i] = (uint8_t)rng_coin(&r);
        if (cnt == 0) {
            reach[rng_below(&r, n)] = 1;
            cnt = 1;
        } else if (cnt == n) {
            reach[rng_below(&r, n)] = 0;
            cnt = n - 1;
        }
    }
    t->point = k;
    t->off = off;
    t->len = len;
    t->sector = (uint32_t)u;
    t->nsectors = (uint32_t)n;
    t->nreached = (uint32_t)cnt;
    t->fill = (uint32_t)fill;
    for (uint64_t i = 0; i < n && i < 64; i++)
        if (reach[i])
            t->mask |= 1ull << i;

    if (fill == CRASHIO_FILL_OLD) {
        /* Write each run of reaching sectors as its own piece. */
        for (uint64_t i = 0; i < n && rc == 0;) {
            uint64_t j = i, lo, hi;
            if (!reach[i]) {
                i++;
                continue;
            }
            while (j < n && reach[j])
                j++;
            lo = (first + i) * u;
            hi = (first + j) * u;
            if (lo < off)
                lo = off;
            if (hi > off + len)
                hi = off + len;
            rc = put(ctx, (const uint8_t *)buf + (lo - off), (size_t)(hi - lo),
                     lo);
            i = j;
        }
    } else {
        /* One write of the whole range with the missing sectors filled. */
        img = malloc(len);
        if (img == NULL) {
            free(reach);
            return ENOMEM;
        }
        memcpy(img, buf, len);
        for (uint64_t i = 0; i < n; i++) {
            uint64_t lo = (first + i) * u, hi = lo + u;
            if (reach[i])
                continue;
            if (lo < off)
                lo = off;
            if (hi > off + len)
                hi = off + len;
            if (fill == CRASHIO_FILL_ZERO)
                memset(img + (lo - off), 0, (size_t)(hi - lo));
            else
                rng_fill(&r, img + (lo - off), (size_t)(hi - lo));
        }
        rc = put(ctx, img, len, off);
    }
    free(img);
    free(reach);
    return rc;
}

/* The pieces of the crash itself: logged (with a shadow log) and written
 * through the inner table; a failure changes nothing, the process dies. */
typedef struct crashio_tear_ctx {
    crashio *c;
    uint64_t k;
    int fd;
    const crashio_fd *f;
} crashio_tear_ctx;

static int crashio_tear_put(void *ctx, const uint8_t *bytes, size_t n,
                            uint64_t off)
{
    crashio_tear_ctx *x = ctx;
    crashio *c = x->c;
    uint64_t seq = 0;

    if (c->sw && x->f && x->f->path)
        crashio_log_write(c, x->k, x->fd, x->f->path, n, off, &seq);
    c->in->pwrite(c->in->ctx, x->fd, bytes, n, off);
    return 0;
}

/* Tear the pwrite at point k, report, and die.  Caller holds c->mu. */
_Noreturn void crashio_tear(crashio *c, uint64_t k, int fd, const crashio_fd *f,
                            const void *buf, size_t len, uint64_t off)
{
    crashio_tear_ctx x = {c, k, fd, f};
    crashio_shared *sh = c->cfg.shared;
    crashio_tear_info t;

    if (crashio_tear_pieces(c->cfg.seed, k, c->cfg.sector, (int)c->cfg.fill,
                            buf, len, off, &t, crashio_tear_put, &x) != 0)
        crashio_die(c, k, CRASHIO_OUT_KILLED);
    t.file = f ? f->id : 0;
    if (sh)
        sh->tear = t;
    crashio_die(c, k, CRASHIO_OUT_TORN);
}

/* The pieces of crashio_tear_write: written through the caller's table. */
typedef struct crashio_copy_ctx {
    const cl_io *io;
    int fd;
} crashio_copy_ctx;

static int crashio_copy_put(void *ctx, const uint8_t *bytes, size_t n,
                            uint64_t off)
{
    crashio_copy_ctx *x = ctx;

    return x->io->pwrite(x->io->ctx, x->fd, bytes, n, off);
}

int crashio_tear_write(const cl_io *io, int fd, uint64_t seed, uint64_t k,
                       uint32_t sector, crashio_fill fill, const void *buf,
                       size_t len, uint64_t off, crashio_tear_info *info)
{
    crashio_copy_ctx x = {io, fd};

    if (sector == 0)
        sector = 512;
    if ((sector != 512 && sector != 4096) ||
        (unsigned)fill > CRASHIO_FILL_SEED) {
        memset(info, 0, sizeof(*info));
        return EINVAL;
    }
    return crashio_tear_pieces(seed, k, sector, (int)fill, buf, len, off, info,
                               crashio_copy_put, &x);
}
