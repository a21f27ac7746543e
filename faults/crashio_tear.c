/*
 * crashio_tear.c - a torn write: at the crash point, only some sectors of a
 * pwrite reach the file (the others keep their old bytes, or get zeros or
 * garbage), then the process dies.  This is what a write cut by a power
 * failure can leave on a device whose atomic unit is the sector.
 */
#include <stdlib.h>
#include <string.h>

#include "crashio_int.h"
#include "frng.h"

/* Tear the pwrite at point k: write only a seed-chosen non-empty strict
 * subset of its sectors (or, for a one-sector write, all or nothing),
 * filling the others per cfg.fill, report, and die.  Caller holds c->mu. */
_Noreturn void crashio_tear(crashio *c, uint64_t k, int fd, const crashio_fd *f,
                            const void *buf, size_t len, uint64_t off)
{
    frng r = frng_stream(c->cfg.seed, CRASHIO_TAG_TEAR, k);
    uint64_t u = c->cfg.sector, first, n, cnt = 0;
    uint8_t *reach = NULL, *img = NULL;
    crashio_shared *sh = c->cfg.shared;
    int fill = (int)c->cfg.fill;
    uint64_t seq;

    if (len == 0)
        crashio_die(c, k, CRASHIO_OUT_KILLED);
    first = off / u;
    n = (off + len - 1) / u - first + 1;
    reach = calloc(n, 1);
    if (fill == CRASHIO_FILL_SEED)
        fill = (int)frng_below(&r, 3);
    if (reach == NULL)
        crashio_die(c, k, CRASHIO_OUT_KILLED);
    if (n == 1) {
        reach[0] = (uint8_t)frng_coin(&r);
        cnt = reach[0];
    } else {
        for (uint64_t i = 0; i < n; i++)
            cnt += reach[i] = (uint8_t)frng_coin(&r);
        if (cnt == 0) {
            reach[frng_below(&r, n)] = 1;
            cnt = 1;
        } else if (cnt == n) {
            reach[frng_below(&r, n)] = 0;
            cnt = n - 1;
        }
    }
    if (sh) {
        crashio_tear_info *t = &sh->tear;
        memset(t, 0, sizeof(*t));
        t->point = k;
        t->off = off;
        t->len = len;
        t->sector = (uint32_t)u;
        t->nsectors = (uint32_t)n;
        t->nreached = (uint32_t)cnt;
        t->fill = (uint32_t)fill;
        t->file = f ? f->id : 0;
        for (uint64_t i = 0; i < n && i < 64; i++)
            if (reach[i])
                t->mask |= 1ull << i;
    }

    if (fill == CRASHIO_FILL_OLD) {
        /* Write each run of reaching sectors as its own piece. */
        for (uint64_t i = 0; i < n;) {
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
            seq = 0;
            if (c->sw && f && f->path)
                crashio_log_write(c, k, fd, f->path,
                                  (const uint8_t *)buf + (lo - off),
                                  (size_t)(hi - lo), lo, &seq);
            c->in->pwrite(c->in->ctx, fd, (const uint8_t *)buf + (lo - off),
                          (size_t)(hi - lo), lo);
            i = j;
        }
    } else {
        /* One write of the whole range with the missing sectors filled. */
        img = malloc(len);
        if (img == NULL)
            crashio_die(c, k, CRASHIO_OUT_KILLED);
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
                frng_fill(&r, img + (lo - off), (size_t)(hi - lo));
        }
        seq = 0;
        if (c->sw && f && f->path)
            crashio_log_write(c, k, fd, f->path, img, len, off, &seq);
        c->in->pwrite(c->in->ctx, fd, img, len, off);
    }
    crashio_die(c, k, CRASHIO_OUT_TORN);
}
