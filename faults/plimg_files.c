/*
 * plimg_files.c - the bytes of each file in a power-cut image: undo the
 * logged operations back to the last durable one, then replay what the
 * device model keeps, sector by sector (see the model at the top of
 * powerloss.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "mapkeep.h"
#include "plimg_int.h"
#include "rng.h"

/* ---- buffers and files ---- */

/* A file's bytes, b[i] being byte i, in an anonymous mapping kept for the
 * next file's image (mapkeep.h), whose bytes are stale: plimg_build reads,
 * copies and writes back only the spans its operations touch
 * (plimg_spans), and a growth is zero-filled, so nothing reads a byte it
 * has not written; a page file of megabytes of which a checkpoint
 * rewrote a few pages costs those pages. */
typedef struct plimg_buf {
    uint8_t *b;
    uint64_t size; /* the file's length */
    uint64_t cap;
} plimg_buf;

/* Room for n bytes (the length stays). */
static int plimg_buf_room(plimg_buf *f, uint64_t n)
{
    if (n > SIZE_MAX)
        return ENOMEM;
    if (f->b == NULL) {
        size_t cap;
        if ((f->b = mapkeep_take((size_t)n, &cap)) == NULL)
            return ENOMEM;
        f->cap = cap;
    } else if (n > f->cap) {
        uint64_t nc = f->cap;
        void *p;
        while (nc < n)
            nc *= 2;
        if (nc > SIZE_MAX)
            return ENOMEM;
        p = mremap(f->b, (size_t)f->cap, (size_t)nc, MREMAP_MAYMOVE);
        if (p == MAP_FAILED)
            return ENOMEM;
        f->b = p;
        f->cap = nc;
    }
    return 0;
}

static void plimg_buf_free(plimg_buf *f)
{
    mapkeep_give(f->b, (size_t)f->cap);
    f->b = NULL;
    f->cap = f->size = 0;
}

/* The byte ranges [lo, hi) outside which a file, its page cache and its
 * image hold the same bytes, in ascending order, disjoint. */
typedef struct plimg_span {
    uint64_t lo, hi;
} plimg_span;

typedef struct plimg_spans {
    plimg_span *s;
    size_t n;
} plimg_spans;

/* Set the length to n: growth is zero-filled, shrinking forgets. */
static int plimg_buf_resize(plimg_buf *f, uint64_t n)
{
    if (plimg_buf_room(f, n) != 0)
        return ENOMEM;
    if (n > f->size)
        memset(f->b + f->size, 0, n - f->size);
    f->size = n;
    return 0;
}

/* Write len bytes at off, as pwrite does: nothing at all when len is 0
 * (the length stays, wherever off is). */
static int plimg_buf_write(plimg_buf *f, uint64_t off, const void *src,
                           uint64_t len)
{
    int rc;

    if (len == 0)
        return 0;
    if (off + len > f->size && (rc = plimg_buf_resize(f, off + len)) != 0)
        return rc;
    memcpy(f->b + off, src, len);
    return 0;
}

/* dst becomes src, within the spans (dst's other bytes are never read). */
static int plimg_buf_copy(plimg_buf *dst, const plimg_buf *src,
                          const plimg_spans *sp)
{
    if (plimg_buf_room(dst, src->size) != 0)
        return ENOMEM;
    for (size_t i = 0; i < sp->n && sp->s[i].lo < src->size; i++) {
        uint64_t hi = sp->s[i].hi < src->size ? sp->s[i].hi : src->size;
        memcpy(dst->b + sp->s[i].lo, src->b + sp->s[i].lo, hi - sp->s[i].lo);
    }
    dst->size = src->size;
    return 0;
}

/* Read [lo, hi) of fd into f->b at the same offsets; *got: where the file
 * ended, if before hi. */
static int plimg_pread_all(int fd, plimg_buf *f, uint64_t lo, uint64_t hi,
                           uint64_t *got)
{
    while (lo < hi) {
        ssize_t n = pread(fd, f->b + lo, hi - lo, (off_t)lo);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno;
        if (n == 0) {
            *got = lo;
            return 0;
        }
        lo += (uint64_t)n;
    }
    return 0;
}

/* Read the spans of the file at path into f, whose length becomes the
 * file's; a missing file reads as empty. */
static int plimg_read_file(const char *path, plimg_buf *f,
                           const plimg_spans *sp)
{
    struct stat st;
    uint64_t size;
    int fd, rc = 0;

    f->size = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : errno;
    if (fstat(fd, &st) != 0 ||
        (rc = plimg_buf_room(f, (uint64_t)st.st_size)) != 0) {
        rc = rc ? rc : errno;
        goto out;
    }
    size = (uint64_t)st.st_size;
    for (size_t i = 0; i < sp->n && sp->s[i].lo < size && rc == 0; i++)
        rc = plimg_pread_all(fd, f, sp->s[i].lo,
                             sp->s[i].hi < size ? sp->s[i].hi : size, &size);
    f->size = size;
out:
    close(fd);
    return rc;
}

/* Write [lo, hi) of f->b to fd at the same offsets. */
static int plimg_pwrite_all(int fd, const plimg_buf *f, uint64_t lo,
                            uint64_t hi)
{
    while (lo < hi) {
        ssize_t n = pwrite(fd, f->b + lo, hi - lo, (off_t)lo);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? errno : ENOSPC;
        lo += (uint64_t)n;
    }
    return 0;
}

/* Make the file at path (created if missing) f: its spans are written,
 * the bytes outside them being already f's, and its length set. */
static int plimg_write_file(const char *path, const plimg_buf *f,
                            const plimg_spans *sp)
{
    int fd, rc;

    /* a file of a graveyard shared with other crash states (fs_share_tree)
     * gets an inode of its own first */
    if ((rc = fs_unshare(path)) != 0)
        return rc;
    fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return errno;
    for (size_t i = 0; i < sp->n && sp->s[i].lo < f->size && rc == 0; i++)
        rc = plimg_pwrite_all(fd, f, sp->s[i].lo,
                              sp->s[i].hi < f->size ? sp->s[i].hi : f->size);
    if (rc == 0 && ftruncate(fd, (off_t)f->size) != 0)
        rc = errno;
    close(fd);
    return rc;
}

static int plimg_span_cmp(const void *a, const void *b)
{
    const plimg_span *x = a, *y = b;

    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* The spans of ops j0.. of inode n, for the sector size u: every byte a
 * write of them covers, and every byte between the lengths the file had
 * before and after each of them (what a growth fills or a cut takes),
 * rounded out to whole sectors.  Undoing and replaying those operations,
 * and every choice the model makes about their sectors, reads and writes
 * only these bytes: the file, the page cache and the image agree on the
 * rest. */
static int plimg_spans_of(const plimg_ctx *x, const plimg_ino *n, size_t j0,
                          uint32_t u, plimg_spans *sp)
{
    size_t k = 0, m = 0;

    sp->n = 0;
    sp->s = malloc(2 * (n->ndops - j0 + 1) * sizeof(*sp->s));
    if (sp->s == NULL)
        return ENOMEM;
    for (size_t j = j0; j < n->ndops; j++) {
        const shadow_rec *r = &x->ops[n->dops[j]].r;
        uint64_t after = r->new_size;
        if (r->type == SHADOW_WRITE) {
            after =
                r->off + r->len > r->old_size ? r->off + r->len : r->old_size;
            if (r->len > 0)
                sp->s[k++] = (plimg_span){r->off, r->off + r->len};
        }
        if (after != r->old_size)
            sp->s[k++] = after < r->old_size ? (plimg_span){after, r->old_size}
                                             : (plimg_span){r->old_size, after};
    }
    for (size_t i = 0; i < k; i++) {
        sp->s[i].lo = sp->s[i].lo / u * u;
        sp->s[i].hi = (sp->s[i].hi + u - 1) / u * u;
    }
    qsort(sp->s, k, sizeof(*sp->s), plimg_span_cmp);
    for (size_t i = 0; i < k; i++) {
        if (m > 0 && sp->s[i].lo <= sp->s[m - 1].hi) {
            if (sp->s[i].hi > sp->s[m - 1].hi)
                sp->s[m - 1].hi = sp->s[i].hi;
        } else {
            sp->s[m++] = sp->s[i];
        }
    }
    sp->n = m;
    return 0;
}

int plimg_exists(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0;
}

/* ---- building file contents ---- */

/* The bytes a write left in the file: arena bytes [at, at + n).  The log
 * does not keep them; they are the file's own from the write until the
 * next record that changes them, so undoing the records newest first
 * finds each one just before its own undo.  n < len only when the file
 * holds less (a writer killed inside a long write): what it holds is what
 * the page cache had. */
typedef struct plimg_written {
    uint64_t at, n;
} plimg_written;

/* Keep f[r->off, r->off + r->len) (what is there of it) in the arena. */
static int plimg_keep_written(const plimg_buf *f, const shadow_rec *r,
                              plimg_buf *arena, plimg_written *w)
{
    uint64_t n = r->off < f->size ? f->size - r->off : 0;

    if (n > r->len)
        n = r->len;
    w->at = arena->size;
    w->n = n;
    return n > 0 ? plimg_buf_write(arena, arena->size, f->b + r->off, n) : 0;
}

/* Undo op o on f (newest first). */
static int plimg_undo(plimg_buf *f, const shadow_rec *r)
{
    int rc;

    if ((rc = plimg_buf_resize(f, r->old_size)) != 0)
        return rc;
    if (r->type == SHADOW_WRITE)
        return plimg_buf_write(f, r->off, r->old_bytes, r->old_len);
    return plimg_buf_write(f, r->new_size, r->old_bytes, r->old_len);
}

/* Do op o on f; a write writes the bytes it left in the file (w). */
static int plimg_do(plimg_buf *f, const shadow_rec *r, const plimg_buf *arena,
                    const plimg_written *w)
{
    if (r->type == SHADOW_TRUNCATE)
        return plimg_buf_resize(f, r->new_size);
    return w->n > 0 ? plimg_buf_write(f, r->off, arena->b + w->at, w->n) : 0;
}

/* Copy sector s of the page cache pc into the image im. */
static int plimg_copy_sector(plimg_buf *im, const plimg_buf *pc, uint64_t s,
                             uint32_t u)
{
    uint64_t lo = s * u, hi = lo + u;

    if (hi > pc->size)
        hi = pc->size;
    if (hi <= lo)
        return 0;
    return plimg_buf_write(im, lo, pc->b + lo, hi - lo);
}

/* Per-sector bookkeeping of one file. */
typedef struct plimg_sectors {
    uint32_t *tot;  /* unsynced writes touching the sector */
    uint32_t *seen; /* of which replayed so far */
    uint32_t *pick; /* any-subset: version chosen (0 = durable) */
    uint8_t *got;   /* received an unsynced version */
    uint64_t n;
} plimg_sectors;

static void plimg_sectors_free(plimg_sectors *s)
{
    free(s->tot);
    free(s->seen);
    free(s->pick);
    free(s->got);
}

/* 1 for an unsynced write of at least one byte that the model decides
 * about. */
static int plimg_is_pending_write(const plimg_op *o)
{
    return plimg_data_pending(o) && o->r.type == SHADOW_WRITE && o->r.len > 0;
}

size_t plimg_reorder_find(const plimg_ctx *x, const plimg_ino *n)
{
    for (size_t j = 0; j < n->ndops; j++) {
        const plimg_op *t = &x->ops[n->dops[j]];
        if (!plimg_data_pending(t) || t->r.type != SHADOW_TRUNCATE ||
            t->r.new_size >= t->r.old_size)
            continue;
        for (size_t k = j + 1; k < n->ndops; k++) {
            const shadow_rec *w = &x->ops[n->dops[k]].r;
            if (plimg_is_pending_write(&x->ops[n->dops[k]]) &&
                w->off < t->r.old_size && w->off + w->len > t->r.new_size)
                return j;
        }
    }
    return n->ndops;
}

/* any-subset only, after the coins: look for an unsynced truncate that
 * shrank the file followed by an unsynced write into the range it cut.
 * When there is one, a coin of its own (so that files without one draw
 * as before) may turn the image into a reordering the device allows and
 * the uniform coins seldom reach: the first such truncate did not happen,
 * and the writes after it reached the disk in issue order, sector by
 * sector in ascending order within a write, up to the p-th of those
 * sectors (p drawn from 1 to their number), none after it.  Each sector
 * they touch holds its version just after the last write that reached it
 * (from before the truncate if none after it did).  That is the state in
 * which an engine that reuses a range it cut, before the cut is durable,
 * finds its new bytes followed by the old ones it cut. */
static void plimg_reorder(plimg_ctx *x, const plimg_ino *n, size_t j0,
                          plimg_sectors *sec, uint32_t u, size_t ino)
{
    rng rr = rng_stream(x->cfg.seed, PLIMG_TAG_REORDER, ino);
    size_t jt = plimg_reorder_find(x, n), k;
    uint64_t nsec = 0, p;

    if (jt == n->ndops || !rng_coin(&rr))
        return;
    /* The sectors the writes after the truncate touch are marked in got
     * (which the replay fills only later) and counted again from 0. */
    for (k = jt + 1; k < n->ndops; k++) {
        const shadow_rec *w = &x->ops[n->dops[k]].r;
        if (!plimg_is_pending_write(&x->ops[n->dops[k]]))
            continue;
        for (uint64_t s = w->off / u; s <= (w->off + w->len - 1) / u; s++) {
            sec->got[s] = 1;
            sec->pick[s] = 0;
            nsec++;
        }
    }
    p = 1 + rng_below(&rr, nsec);
    x->ops[n->dops[jt]].keep = 0;
    /* pick[s] counts the writes that reached s, in issue order: all those
     * before the truncate, then those after it up to the p-th sector. */
    for (k = j0; k < n->ndops && p > 0; k++) {
        const shadow_rec *w = &x->ops[n->dops[k]].r;
        if (!plimg_is_pending_write(&x->ops[n->dops[k]]))
            continue;
        for (uint64_t s = w->off / u; s <= (w->off + w->len - 1) / u && p > 0;
             s++) {
            sec->pick[s] += sec->got[s];
            p -= k > jt;
        }
    }
    memset(sec->got, 0, sec->n + 1);
    x->sum->reorders++;
}

/* Rebuild the bytes of inode ino in place at its current path. */
int plimg_build(plimg_ctx *x, size_t ino, plimg_model m)
{
    plimg_ino *n = &x->inos[ino];
    uint32_t u = x->sum->sector;
    plimg_buf pc = {0}, im = {0}, arena = {0};
    plimg_written *wr = NULL; /* [j - j0] for j >= j0 */
    plimg_sectors sec = {0};
    plimg_spans sp = {0};
    rng rs = rng_stream(x->cfg.seed, PLIMG_TAG_SECTORS, ino);
    size_t j0 = 0;
    int rc, dirty = 0;

    for (size_t j = 0; j < n->ndops; j++)
        dirty |= x->ops[n->dops[j]].state != PLIMG_DURABLE;
    if (!dirty)
        return 0;
    /* The operations before j0 are durable and happened: the page cache
     * and the image agree on the content after them, so only the rest is
     * undone and replayed (undoing everything and replaying those first
     * gives the same bytes, at the cost of the whole history of the file
     * twice). */
    while (j0 < n->ndops && x->ops[n->dops[j0]].state == PLIMG_DURABLE &&
           !x->ops[n->dops[j0]].failed)
        j0++;
    if ((rc = plimg_spans_of(x, n, j0, u, &sp)) != 0 ||
        (rc = plimg_read_file(n->cur, &pc, &sp)) != 0) {
        if (rc != ENOMEM)
            plimg_fail(x, rc, "reading %s: %s", n->cur, strerror(rc));
        goto out;
    }
    /* Undo back to j0, newest first: pc becomes the content after the
     * durable operations, and each write's bytes are kept on the way for
     * the replay.  Failed operations are undone as well, in case they did
     * part of their work. */
    if ((wr = calloc(n->ndops - j0 + 1, sizeof(*wr))) == NULL) {
        rc = ENOMEM;
        goto out;
    }
    for (size_t j = n->ndops; j-- > j0;) {
        const plimg_op *o = &x->ops[n->dops[j]];
        if (o->r.type == SHADOW_WRITE && !o->failed && o->state != PLIMG_LOST &&
            (rc = plimg_keep_written(&pc, &o->r, &arena, &wr[j - j0])) != 0)
            goto out;
        if ((rc = plimg_undo(&pc, &o->r)) != 0)
            goto out;
    }
    if ((rc = plimg_buf_copy(&im, &pc, &sp)) != 0)
        goto out;

    for (size_t j = j0; j < n->ndops; j++) {
        const plimg_op *o = &x->ops[n->dops[j]];
        uint64_t last;
        if (!plimg_is_pending_write(o))
            continue;
        last = (o->r.off + o->r.len - 1) / u;
        if (last + 1 > sec.n)
            sec.n = last + 1;
    }
    sec.tot = calloc(sec.n + 1, sizeof(uint32_t));
    sec.seen = calloc(sec.n + 1, sizeof(uint32_t));
    sec.pick = calloc(sec.n + 1, sizeof(uint32_t));
    sec.got = calloc(sec.n + 1, 1);
    if (!sec.tot || !sec.seen || !sec.pick || !sec.got) {
        rc = ENOMEM;
        goto out;
    }
    for (size_t j = j0; j < n->ndops; j++) {
        const plimg_op *o = &x->ops[n->dops[j]];
        if (!plimg_is_pending_write(o))
            continue;
        for (uint64_t s = o->r.off / u; s <= (o->r.off + o->r.len - 1) / u; s++)
            sec.tot[s]++;
    }
    if (m == PLIMG_ANY_SUBSET) {
        for (size_t j = j0; j < n->ndops; j++) {
            plimg_op *o = &x->ops[n->dops[j]];
            if (plimg_data_pending(o) && o->r.type == SHADOW_TRUNCATE)
                o->keep = rng_coin(&rs);
        }
        for (uint64_t s = 0; s < sec.n; s++)
            if (sec.tot[s] > 0)
                sec.pick[s] = (uint32_t)rng_below(&rs, sec.tot[s] + 1ull);
        plimg_reorder(x, n, j0, &sec, u, ino);
    }

    /* Replay in issue order: pc is the page cache, im the image. */
    for (size_t j = j0; j < n->ndops; j++) {
        plimg_op *o = &x->ops[n->dops[j]];
        const shadow_rec *r = &o->r;
        rng rt = rng_stream(x->cfg.seed, PLIMG_TAG_TORN, o->r.seq);
        if (o->failed || o->state == PLIMG_LOST)
            continue; /* M2: a lost write is not in the page cache either */
        if ((rc = plimg_do(&pc, r, &arena, &wr[j - j0])) != 0)
            goto out;
        if (o->state == PLIMG_DURABLE) {
            rc = plimg_do(&im, r, &arena, &wr[j - j0]);
        } else if (r->type == SHADOW_TRUNCATE) {
            x->sum->truncates_unsynced++;
            x->sum->truncates_undone += !o->keep;
            rc = o->keep ? plimg_do(&im, r, &arena, &wr[j - j0]) : 0;
        } else if (r->len > 0) {
            for (uint64_t s = r->off / u; s <= (r->off + r->len - 1) / u; s++) {
                int take;
                sec.seen[s]++;
                if (m == PLIMG_ANY_SUBSET)
                    take = sec.pick[s] == sec.seen[s];
                else if (o->torn)
                    take = rng_coin(&rt);
                else
                    take = o->keep;
                if (take) {
                    sec.got[s] = 1;
                    if ((rc = plimg_copy_sector(&im, &pc, s, u)) != 0)
                        goto out;
                }
            }
        }
        if (rc != 0)
            goto out;
    }

    {
        rng rg = rng_stream(x->cfg.seed, PLIMG_TAG_GARBAGE, ino);
        for (uint64_t s = 0; s < sec.n; s++) {
            uint64_t lo = s * u, hi = lo + u;
            if (sec.tot[s] == 0)
                continue;
            x->sum->sectors_unsynced++;
            if (sec.got[s]) {
                x->sum->sectors_kept++;
                continue;
            }
            x->sum->sectors_dropped++;
            if (!x->cfg.garbage || m >= PLIMG_DROP_UNSYNCED_DATA)
                continue;
            if (hi > im.size)
                hi = im.size;
            if (hi > lo) {
                rng_fill(&rg, im.b + lo, hi - lo);
                x->sum->sectors_garbage++;
            }
        }
    }
    rc = plimg_write_file(n->cur, &im, &sp);
    if (rc != 0)
        plimg_fail(x, rc, "writing %s: %s", n->cur, strerror(rc));
out:
    if (rc == ENOMEM)
        plimg_fail(x, rc, "out of memory");
    plimg_sectors_free(&sec);
    plimg_buf_free(&pc);
    plimg_buf_free(&im);
    plimg_buf_free(&arena);
    free(sp.s);
    free(wr);
    return rc;
}
