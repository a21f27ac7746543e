/*
 * powerloss.c - build a power-cut image of a directory from a shadow log
 * (see powerloss.h).
 *
 * THE DEVICE MODEL
 *
 * Terms.  A write or truncate of a file is durable when a later successful
 * fsync/fdatasync of that file began after it completed (its SYNC record
 * covers it).  A create, mkdir, rename or unlink is durable when a later
 * dirsync of its parent directory (for a rename, of both parents) began
 * after it completed.  The directory as it was when the log was created is
 * durable.  Everything else is unsynced.  An operation with a FAILED record
 * never happened.  The sectors of a file, for the unit U (512 or 4096
 * bytes), are the byte ranges [iU, (i+1)U); a write touches every sector
 * its range overlaps, partly covered ones included.  The page cache of a
 * file just after an operation is the file as the writer saw it then.
 *
 * In every model:
 *   M1 durable writes and truncates are in the image;
 *   M2 a write that a failed fsync covered before any successful sync did
 *      never reaches the disk: its bytes are gone even where a later write
 *      to the same sector reaches it (that sector then holds what it would
 *      hold had the lost write never been made).  Linux marks such pages
 *      clean and may drop them at any time, so an engine must not count on
 *      them; the harsher choice of never showing them is the one we test;
 *   M3 durable directory operations persist, and so does every earlier one
 *      on the same entry or on a directory above it: an entry cannot reach
 *      the disk without the history that led to it;
 *   M4 an unsynced unlink, or rename over an existing file, whose removed
 *      file was not kept in a graveyard persists, since it cannot be undone
 *      (counted in meta_forced), and so does its history (M3);
 *   M5 a file whose create did not persist does not exist, nor does
 *      anything written to it; a directory whose mkdir did not persist does
 *      not exist, nor does anything created in it.  The directory being
 *      rewritten is never removed: a pending mkdir of it persists (M4).
 *
 * Directory operations, in any-subset and per-file-prefix: in issue order,
 * each unsynced create, mkdir, rename and unlink persisted when a fair coin
 * says so and every earlier unsynced operation on the same entry, or on a
 * directory above it, persisted; otherwise it did not.  A rename is one
 * operation on its two entries: it persists whole or not at all.
 *
 * Data, per model:
 *   any-subset: each unsynced truncate happened or not (coin).  Each sector
 *     touched by m >= 1 unsynced writes holds one of m+1 versions, drawn
 *     uniformly: its durable content, or the page-cache content of that
 *     sector just after the j-th of those writes (j = 1..m).  Then the
 *     reordering draw, per file: if an unsynced truncate that shrank the
 *     file is followed by an unsynced write into the range it cut, a coin
 *     of its own says whether the image is instead the one in which the
 *     first such truncate did not happen and every sector written after
 *     it holds its newest version (writes reached the disk, the truncate
 *     issued before them did not).  The uniform draw reaches that state
 *     with a probability that falls with every sector involved; it is the
 *     one that shows an engine reusing a cut range before the cut was
 *     synced (files without such a pair draw exactly as without this rule);
 *   per-file-prefix: for each file, of its n unsynced writes and truncates
 *     in issue order, the first p happened (p drawn uniformly in 0..n); if
 *     number p+1 is a write, each sector it touches reached the disk or not
 *     (coin); no later one happened;
 *   ordered: the same over all unsynced operations of all files, data and
 *     directory operations together, in issue order: the first p
 *     happened, number p+1 is torn if it is a write, none after it
 *     happened (directory operations that M3 or M4 make persist are not
 *     in this order: they persisted);
 *   drop-unsynced-data: no unsynced write or truncate happened; every
 *     directory operation persisted;
 *   drop-unsynced-files: no unsynced operation of any kind happened, but
 *     for the directory operations M3 and M4 make persist.
 *
 * The bytes of a file in the image.  Its durable-at-log-start content is
 * recovered from the current file by undoing every logged operation, newest
 * first (a write puts back its old size and old bytes, a truncate its old
 * size and the bytes it cut).  Then, in issue order: each durable operation,
 * and each unsynced truncate that happened, is applied; for an unsynced
 * write, each of its sectors chosen above is copied from the page cache
 * just after that write (only the bytes the page cache file had there), and
 * the file grows to cover what was copied (zeros fill any gap).  So an
 * unsynced extending write that did not reach the disk does not lengthen
 * the file, and a truncate that happened cuts what reached the disk before
 * it but not what reached it after.  With cfg.garbage (random models
 * only: the resets drop, they do not scribble), each sector touched by an
 * unsynced write that received no unsynced version is then overwritten
 * with bytes drawn from the seed, within the final size - durable bytes
 * sharing that sector included, as on a device that scribbles over the
 * sector it was writing.
 *
 * The file system, cfg.fs.  posix-strict adds nothing to the above: a
 * file's fsync makes its data durable and nothing else, a directory's
 * fsync its entries.  ext4-ordered (ext4 mounted with its defaults,
 * data=ordered and auto_da_alloc, with a journal) adds two rules, each
 * from ext4's own documentation or history (docs/FAULTS.md cites them):
 *   E1 a successful fsync or fdatasync of a file also makes durable the
 *      create that made the file (and so, by M3, the history of that
 *      entry and the mkdirs above it): the sync commits the journal
 *      transaction that holds the new entry.  Renames and unlinks of the
 *      file are not covered by E1: they stay as under posix-strict;
 *   E2 a rename over an existing file that persists carries every write
 *      and truncate of the renamed file issued before it (auto_da_alloc
 *      forces that data to disk before the rename is committed); a write
 *      a failed fsync lost (M2) stays lost.
 *
 * The writer may have died inside its last directory operation (the record
 * is written first).  That operation is completed before anything else: the
 * writer had issued it, and a death just after it was equally possible.
 * Data records need no such care: undoing restores the old bytes whether or
 * not the write had happened.
 *
 * The builder is three files: this one (reading the log, the replay of the
 * run, the decisions, plimg_apply), plimg_files.c (the bytes of each file)
 * and plimg_entries.c (directory entries).
 */
#include "powerloss.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crashlab.h"
#include "rng.h"
#include "plimg_int.h"
#include "shadow.h"

int plimg_fail(plimg_ctx *x, int rc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(x->sum->error, sizeof(x->sum->error), fmt, ap);
    va_end(ap);
    return rc;
}

/* Grow *arr (of *cap elements of size sz) to hold n + 1; 0 or ENOMEM. */
static int plimg_grow(void **arr, size_t *cap, size_t n, size_t sz)
{
    if (n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 16;
    void *p = realloc(*arr, nc * sz);
    if (p == NULL)
        return ENOMEM;
    *arr = p;
    *cap = nc;
    return 0;
}

/* Keep s (malloc'd) until the end; returns s, or NULL (s freed). */
static char *plimg_keep(plimg_ctx *x, char *s)
{
    if (s == NULL)
        return NULL;
    if (plimg_grow((void **)&x->pool, &x->cappool, x->npool, sizeof(char *))) {
        free(s);
        return NULL;
    }
    x->pool[x->npool++] = s;
    return s;
}

/* ---- reading the log ---- */

/* 1 if p is a or below a ("a/..."), for normalised paths. */
int plimg_under(const char *p, const char *a)
{
    size_t n = strlen(a);

    if (n == 0)
        return 0;
    if (strcmp(a, "/") == 0)
        return p[0] == '/';
    return strncmp(p, a, n) == 0 && (p[n] == '\0' || p[n] == '/');
}

/* Check that a path of the log is one plimg may touch. */
static int plimg_check_path(plimg_ctx *x, const plimg_op *o, const char *p)
{
    if (p == NULL || plimg_under(p, x->dir) ||
        (x->grave[0] && plimg_under(p, x->grave) && strcmp(p, x->grave)))
        return 0;
    if (o->r.type == SHADOW_DIRSYNC && plimg_under(x->dir, p))
        return 0;
    return plimg_fail(x, CL_EINVAL, "record %llu (%s): path %s is outside %s",
                      (unsigned long long)o->r.seq, shadow_type_name(o->r.type),
                      p, x->dir);
}

int plimg_is_meta(shadow_type t)
{
    return t == SHADOW_CREATE || t == SHADOW_MKDIR || t == SHADOW_RENAME ||
           t == SHADOW_UNLINK;
}

static int plimg_load(plimg_ctx *x, const char *shadow_path)
{
    shadow_rec r;
    int rc;

    if ((rc = shadow_reader_open(shadow_path, &x->rd)) != 0)
        return plimg_fail(x, rc, "%s: %s", shadow_path, strerror(rc));
    x->grave = shadow_reader_graveyard(x->rd);
    while ((rc = shadow_next(x->rd, &r)) == SHADOW_OK) {
        plimg_op *o;
        if (r.type == SHADOW_FAILED) {
            /* seq n is ops[n - 1]: records are numbered from 1 without
             * gaps, and FAILED records are kept in the array too. */
            x->ops[r.ref - 1].failed = 1;
        }
        if (plimg_grow((void **)&x->ops, &x->capops, x->nops, sizeof(*o)))
            return plimg_fail(x, ENOMEM, "out of memory");
        o = &x->ops[x->nops++];
        memset(o, 0, sizeof(*o));
        o->r = r;
        o->ino = o->ino2 = -1;
        if ((rc = plimg_check_path(x, o, r.path)) != 0 ||
            (rc = plimg_check_path(x, o, r.to)) != 0 ||
            (rc = plimg_check_path(x, o, r.grave)) != 0)
            return rc;
        if (r.grave && !plimg_under(r.grave, x->grave))
            return plimg_fail(x, CL_ECORRUPT,
                              "record %llu: grave %s not in the graveyard",
                              (unsigned long long)r.seq, r.grave);
        if (plimg_is_meta(r.type)) {
            o->parent = plimg_keep(x, shadow_path_parent(r.path));
            o->need = 1;
            if (r.type == SHADOW_RENAME) {
                o->parent2 = plimg_keep(x, shadow_path_parent(r.to));
                if (o->parent2 && o->parent &&
                    strcmp(o->parent, o->parent2) != 0)
                    o->need |= 2;
            }
            if (o->parent == NULL ||
                (r.type == SHADOW_RENAME && o->parent2 == NULL))
                return plimg_fail(x, ENOMEM, "out of memory");
        }
    }
    x->sum->records = x->nops;
    if (rc == SHADOW_CORRUPT)
        return plimg_fail(x, CL_ECORRUPT, "%s: %s", shadow_path,
                          shadow_reader_reason(x->rd));
    x->sum->torn_tail_bytes = shadow_reader_torn_bytes(x->rd);
    return 0;
}

/* ---- the replay of the run ---- */

static plimg_name *plimg_name_find(plimg_ctx *x, const char *p)
{
    /* the last one found first: runs of records name one file */
    if (x->last_name < x->nnames && strcmp(x->names[x->last_name].path, p) == 0)
        return &x->names[x->last_name];
    for (size_t i = 0; i < x->nnames; i++)
        if (strcmp(x->names[i].path, p) == 0) {
            x->last_name = i;
            return &x->names[i];
        }
    return NULL;
}

/* Bind path p to inode ino (-1: absent). */
static int plimg_bind(plimg_ctx *x, const char *p, int ino)
{
    plimg_name *n = plimg_name_find(x, p);

    if (n == NULL) {
        if (plimg_grow((void **)&x->names, &x->capnames, x->nnames, sizeof(*n)))
            return ENOMEM;
        n = &x->names[x->nnames++];
        n->path = p;
    }
    n->ino = ino;
    return 0;
}

static int plimg_new_ino(plimg_ctx *x, int is_dir, int create_op,
                         const char *orig)
{
    plimg_ino *n;

    if (plimg_grow((void **)&x->inos, &x->capinos, x->ninos, sizeof(*n)))
        return -1;
    n = &x->inos[x->ninos];
    memset(n, 0, sizeof(*n));
    n->is_dir = is_dir;
    n->created = create_op >= 0;
    n->create_op = create_op;
    n->orig = orig;
    return (int)x->ninos++;
}

/* The inode at p (OUT: *ino): known, or a file that existed before the log
 * began.  CL_ECORRUPT if the log says nothing is there at that point. */
static int plimg_lookup(plimg_ctx *x, const plimg_op *o, const char *p,
                        int *ino)
{
    plimg_name *n = plimg_name_find(x, p);

    if (n != NULL) {
        if (n->ino < 0)
            return plimg_fail(
                x, CL_ECORRUPT,
                "record %llu (%s): %s does not exist at that point",
                (unsigned long long)o->r.seq, shadow_type_name(o->r.type), p);
        *ino = n->ino;
        return 0;
    }
    *ino = plimg_new_ino(x, 0, -1, p);
    if (*ino < 0 || plimg_bind(x, p, *ino) != 0)
        return plimg_fail(x, ENOMEM, "out of memory");
    return 0;
}

static int plimg_add_dop(plimg_ctx *x, int ino, int op)
{
    plimg_ino *n = &x->inos[ino];

    if (plimg_grow((void **)&n->dops, &n->capdops, n->ndops, sizeof(int)))
        return plimg_fail(x, ENOMEM, "out of memory");
    n->dops[n->ndops++] = op;
    return 0;
}

/* A successful sync (lost = 0) or a failed fsync (lost = 1) of inode ino
 * covering the records before `covers`. */
static void plimg_sync_data(plimg_ctx *x, int ino, uint64_t covers, int lost)
{
    plimg_ino *n = &x->inos[ino];

    for (size_t j = 0; j < n->ndops; j++) {
        plimg_op *d = &x->ops[n->dops[j]];
        if (d->r.seq >= covers || d->state != PLIMG_PEND)
            continue;
        if (!lost)
            d->state = PLIMG_DURABLE;
        else if (d->r.type == SHADOW_WRITE)
            d->state = PLIMG_LOST; /* truncates wait for a good sync */
    }
}

/* A sync of directory r->path: the directory operations in it among
 * ops[0, upto) that it covers are durable there.  Those that are no longer
 * pending leave x->pend, so that a log of many syncs is not read again
 * whole at each (the data records, most of it, never enter it).  Returns
 * 0, or ENOMEM. */
static int plimg_dirsync(plimg_ctx *x, size_t upto, const shadow_rec *r)
{
    size_t k = 0;

    for (; x->pend_from < upto; x->pend_from++) {
        const plimg_op *m = &x->ops[x->pend_from];
        if (!plimg_is_meta(m->r.type) || m->failed)
            continue;
        if (plimg_grow((void **)&x->pend, &x->cappend, x->npend,
                       sizeof(*x->pend)))
            return ENOMEM;
        x->pend[x->npend++] = x->pend_from;
    }
    for (size_t j = 0; j < x->npend; j++) {
        plimg_op *m = &x->ops[x->pend[j]];
        if (m->state == PLIMG_PEND && m->r.seq < r->covers) {
            if (strcmp(m->parent, r->path) == 0)
                m->need &= ~1;
            if (m->parent2 && strcmp(m->parent2, r->path) == 0)
                m->need &= ~2;
            if (m->need == 0)
                m->state = PLIMG_DURABLE;
        }
        if (m->state == PLIMG_PEND)
            x->pend[k++] = x->pend[j];
    }
    x->npend = k;
    return 0;
}

/* E1 (ext4-ordered): a successful sync of inode ino, covering the records
 * before `covers`, makes the create of the file durable too. */
static void plimg_sync_entry(plimg_ctx *x, int ino, uint64_t covers)
{
    const plimg_ino *n = &x->inos[ino];
    plimg_op *c;

    if (n->is_dir || !n->created)
        return;
    c = &x->ops[n->create_op];
    if (c->r.type == SHADOW_CREATE && !c->failed && c->state == PLIMG_PEND &&
        c->r.seq < covers) {
        c->need = 0;
        c->state = PLIMG_DURABLE;
    }
}

/* Replay the run as it happened: inodes, where each one is now, which data
 * and directory operations are durable or lost. */
static int plimg_replay(plimg_ctx *x)
{
    const char *oom = "out of memory";
    int rc;

    for (size_t i = 0; i < x->nops; i++) {
        plimg_op *o = &x->ops[i];
        const shadow_rec *r = &o->r;
        plimg_name *n;

        /* A failed write or truncate is still one of its file's
         * operations: it may have done part of its work (a short write,
         * whose written part crashio logs as a write of its own after
         * it), and undoing it is what restores the bytes from before
         * the call; it is never replayed. */
        if (r->type == SHADOW_FAILED || (o->failed && r->type != SHADOW_WRITE &&
                                         r->type != SHADOW_TRUNCATE))
            continue;
        switch (r->type) {
        case SHADOW_WRITE:
        case SHADOW_TRUNCATE:
            if ((rc = plimg_lookup(x, o, r->path, &o->ino)) != 0 ||
                (rc = plimg_add_dop(x, o->ino, (int)i)) != 0)
                return rc;
            break;
        case SHADOW_SYNC:
        case SHADOW_FSYNC_FAILED:
            if ((rc = plimg_lookup(x, o, r->path, &o->ino)) != 0)
                return rc;
            plimg_sync_data(x, o->ino, r->covers,
                            r->type == SHADOW_FSYNC_FAILED);
            if (r->type == SHADOW_SYNC && x->cfg.fs == PLIMG_FS_EXT4_ORDERED)
                plimg_sync_entry(x, o->ino, r->covers);
            break;
        case SHADOW_CREATE:
        case SHADOW_MKDIR:
            n = plimg_name_find(x, r->path);
            if (n && n->ino >= 0)
                return plimg_fail(x, CL_ECORRUPT,
                                  "record %llu: create of existing %s",
                                  (unsigned long long)r->seq, r->path);
            o->ino = plimg_new_ino(x, r->type == SHADOW_MKDIR, (int)i, NULL);
            if (o->ino < 0 || plimg_bind(x, r->path, o->ino))
                return plimg_fail(x, ENOMEM, "%s", oom);
            /* M5: the directory being rewritten is never removed. */
            if (r->type == SHADOW_MKDIR && strcmp(r->path, x->dir) == 0)
                o->forced = 1;
            break;
        case SHADOW_RENAME:
            if (strcmp(r->path, r->to) == 0)
                break; /* a no-op */
            if ((rc = plimg_lookup(x, o, r->path, &o->ino)) != 0)
                return rc;
            n = plimg_name_find(x, r->to);
            if (r->to_existed) {
                if ((rc = plimg_lookup(x, o, r->to, &o->ino2)) != 0)
                    return rc;
                if (r->grave && plimg_bind(x, r->grave, o->ino2))
                    return plimg_fail(x, ENOMEM, "%s", oom);
            } else if (n && n->ino >= 0) {
                return plimg_fail(x, CL_ECORRUPT,
                                  "record %llu: rename onto %s, which the "
                                  "log says exists",
                                  (unsigned long long)r->seq, r->to);
            }
            if (plimg_bind(x, r->to, o->ino) || plimg_bind(x, r->path, -1))
                return plimg_fail(x, ENOMEM, "%s", oom);
            if (r->to_existed && r->grave == NULL)
                o->forced = 1; /* M4 */
            break;
        case SHADOW_UNLINK:
            if ((rc = plimg_lookup(x, o, r->path, &o->ino)) != 0)
                return rc;
            if ((r->grave && plimg_bind(x, r->grave, o->ino)) ||
                plimg_bind(x, r->path, -1))
                return plimg_fail(x, ENOMEM, "%s", oom);
            if (r->grave == NULL)
                o->forced = 1; /* M4 */
            break;
        case SHADOW_DIRSYNC:
            if (plimg_dirsync(x, i, r) != 0)
                return plimg_fail(x, ENOMEM, "%s", oom);
            break;
        case SHADOW_FAILED:
            break;
        }
    }
    for (size_t i = 0; i < x->nnames; i++)
        if (x->names[i].ino >= 0)
            x->inos[x->names[i].ino].cur = x->names[i].path;
    return 0;
}

/* ---- decisions ---- */

/* 1 if directory operation a (earlier) must persist for b to persist: they
 * share an entry, or a's entry is a directory above one of b's. */
static int plimg_meta_dep(const plimg_op *a, const plimg_op *b)
{
    const char *ka[2] = {a->r.path,
                         a->r.type == SHADOW_RENAME ? a->r.to : NULL};
    const char *kb[2] = {b->r.path,
                         b->r.type == SHADOW_RENAME ? b->r.to : NULL};

    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++)
            if (ka[i] && kb[j] && plimg_under(kb[j], ka[i]))
                return 1;
    return 0;
}

int plimg_meta_live(const plimg_op *o)
{
    return plimg_is_meta(o->r.type) && !o->failed &&
           !(o->r.type == SHADOW_RENAME && strcmp(o->r.path, o->r.to) == 0);
}

/* The indices, ascending, of the live directory operations that are not
 * durable: the only ones whose forced or keep the closure and the coins
 * can change (a durable one is forced, and kept, by its own state).  A
 * campaign's log holds thousands of durable ones (a file created and
 * removed per transaction), which the pairwise loops then skip.  *out: a
 * malloc'd array (NULL when out of memory).  Returns the count. */
static size_t plimg_pending_meta(const plimg_ctx *x, size_t **out)
{
    size_t n = 0, *v = malloc((x->nops ? x->nops : 1) * sizeof(*v));

    *out = v;
    for (size_t i = 0; v != NULL && i < x->nops; i++)
        if (plimg_meta_live(&x->ops[i]) && x->ops[i].state != PLIMG_DURABLE)
            v[n++] = i;
    return n;
}

/* M3/M4 closure: everything an op that must persist depends on must
 * persist too. */
static void plimg_force_closure(plimg_ctx *x, const size_t *pend, size_t npend)
{
    for (size_t i = x->nops; i-- > 0;) {
        plimg_op *o = &x->ops[i];
        if (!plimg_meta_live(o))
            continue;
        if (o->state == PLIMG_DURABLE)
            o->forced = 1;
        if (!o->forced)
            continue;
        for (size_t j = 0; j < npend && pend[j] < i; j++)
            if (plimg_meta_dep(&x->ops[pend[j]], o))
                x->ops[pend[j]].forced = 1;
    }
}

/* Directory operations by coin with the dependency rule (any-subset,
 * per-file-prefix), or all / none for the reset models. */
static void plimg_decide_meta(plimg_ctx *x, plimg_model m, const size_t *pend,
                              size_t npend)
{
    rng r = rng_stream(x->cfg.seed, PLIMG_TAG_META, 0);

    for (size_t i = 0; i < x->nops; i++) {
        plimg_op *o = &x->ops[i];
        if (!plimg_meta_live(o))
            continue;
        if (o->forced) {
            o->keep = 1;
            continue;
        }
        if (m == PLIMG_DROP_UNSYNCED_DATA) {
            o->keep = 1;
            continue;
        }
        if (m == PLIMG_DROP_UNSYNCED_FILES) {
            o->keep = 0;
            continue;
        }
        o->keep = rng_coin(&r);
        for (size_t j = 0; j < npend && pend[j] < i && o->keep; j++)
            if (!x->ops[pend[j]].keep && plimg_meta_dep(&x->ops[pend[j]], o))
                o->keep = 0;
    }
}

/* E2 (ext4-ordered): a rename over an existing file that persists makes
 * the renamed file's earlier writes and truncates durable.  Runs after the
 * directory operations are decided (m: the model; in ordered, a rename
 * that is not forced persists only with every operation before it, so
 * only the forced ones need this). */
static void plimg_replace_data(plimg_ctx *x, plimg_model m)
{
    for (size_t i = 0; i < x->nops; i++) {
        const plimg_op *o = &x->ops[i];
        const plimg_ino *n;
        if (o->r.type != SHADOW_RENAME || !plimg_meta_live(o) ||
            !o->r.to_existed || o->ino < 0 ||
            !(o->forced || (m != PLIMG_ORDERED && o->keep)))
            continue;
        n = &x->inos[o->ino];
        for (size_t j = 0; j < n->ndops; j++) {
            plimg_op *d = &x->ops[n->dops[j]];
            if (d->r.seq < o->r.seq && plimg_data_pending(d))
                d->state = PLIMG_DURABLE;
        }
    }
}

/* 1 for an unsynced data op that the model decides about. */
int plimg_data_pending(const plimg_op *o)
{
    return (o->r.type == SHADOW_WRITE || o->r.type == SHADOW_TRUNCATE) &&
           !o->failed && o->state == PLIMG_PEND;
}

/* Data decisions of the prefix models (any-subset decides sector by sector
 * while building, see plimg_build). */
static void plimg_decide_data(plimg_ctx *x, plimg_model m)
{
    if (m == PLIMG_PER_FILE_PREFIX) {
        for (size_t i = 0; i < x->ninos; i++) {
            plimg_ino *n = &x->inos[i];
            rng r = rng_stream(x->cfg.seed, PLIMG_TAG_PREFIX, i);
            size_t cnt = 0, p, k = 0;
            for (size_t j = 0; j < n->ndops; j++)
                cnt += plimg_data_pending(&x->ops[n->dops[j]]);
            p = (size_t)rng_below(&r, cnt + 1);
            for (size_t j = 0; j < n->ndops; j++) {
                plimg_op *o = &x->ops[n->dops[j]];
                if (!plimg_data_pending(o))
                    continue;
                o->keep = k < p;
                o->torn = k == p && o->r.type == SHADOW_WRITE;
                k++;
            }
        }
    } else if (m == PLIMG_ORDERED) {
        rng r = rng_stream(x->cfg.seed, PLIMG_TAG_ORDERED, 0);
        size_t cnt = 0, p, k = 0;
        for (size_t i = 0; i < x->nops; i++) {
            plimg_op *o = &x->ops[i];
            cnt += plimg_data_pending(o) || (plimg_meta_live(o) && !o->forced);
        }
        p = (size_t)rng_below(&r, cnt + 1);
        for (size_t i = 0; i < x->nops; i++) {
            plimg_op *o = &x->ops[i];
            if (plimg_meta_live(o) && o->forced) {
                o->keep = 1;
                continue;
            }
            if (!plimg_data_pending(o) && !plimg_meta_live(o))
                continue;
            o->keep = k < p;
            o->torn = k == p && o->r.type == SHADOW_WRITE;
            k++;
        }
    }
    /* any-subset: truncates are decided in plimg_build; the reset models
     * keep nothing (keep stays 0). */
}

/* ---- plimg_apply ---- */

static void plimg_ctx_free(plimg_ctx *x)
{
    for (size_t i = 0; i < x->ninos; i++)
        free(x->inos[i].dops);
    free(x->inos);
    free(x->names);
    free(x->ops);
    free(x->pend);
    for (size_t i = 0; i < x->npool; i++)
        free(x->pool[i]);
    free(x->pool);
    shadow_reader_close(x->rd);
}

int plimg_apply(const char *dir, const char *shadow_path,
                const plimg_config *cfg, plimg_summary *sum)
{
    plimg_summary dummy;
    plimg_ctx x;
    plimg_model m;
    size_t *pend, npend;
    int rc;

    if (sum == NULL)
        sum = &dummy;
    memset(sum, 0, sizeof(*sum));
    memset(&x, 0, sizeof(x));
    x.sum = sum;
    if (dir == NULL || shadow_path == NULL || cfg == NULL ||
        (unsigned)cfg->model > PLIMG_DROP_UNSYNCED_FILES ||
        (unsigned)cfg->fs > PLIMG_FS_EXT4_ORDERED ||
        (cfg->sector != 0 && cfg->sector != 512 && cfg->sector != 4096))
        return plimg_fail(&x, CL_EINVAL, "bad arguments");
    x.cfg = *cfg;
    if ((x.dir = plimg_keep(&x, shadow_path_norm(dir))) == NULL)
        return plimg_fail(&x, ENOMEM, "out of memory");

    m = cfg->model;
    if (m == PLIMG_RANDOM) {
        rng r = rng_stream(cfg->seed, PLIMG_TAG_MODEL, 0);
        m = (plimg_model)(PLIMG_ANY_SUBSET + rng_below(&r, 3));
    }
    sum->model = m;
    sum->fs = cfg->fs;
    sum->sector = cfg->sector;
    if (sum->sector == 0) {
        rng r = rng_stream(cfg->seed, PLIMG_TAG_SECTOR, 0);
        sum->sector = rng_coin(&r) ? 4096 : 512;
    }

    if ((rc = plimg_load(&x, shadow_path)) != 0 ||
        (rc = plimg_roll_forward(&x)) != 0 || (rc = plimg_replay(&x)) != 0)
        goto out;
    /* The drawn model is any-subset wherever a file holds a truncate and
     * then a write into what it cut, both unsynced: only that model
     * reaches the reorderings of such a pair (plimg_build). */
    if (cfg->model == PLIMG_RANDOM && m != PLIMG_ANY_SUBSET)
        for (size_t i = 0; i < x.ninos; i++)
            if (plimg_reorder_find(&x, &x.inos[i]) < x.inos[i].ndops) {
                m = sum->model = PLIMG_ANY_SUBSET;
                break;
            }
    npend = plimg_pending_meta(&x, &pend);
    if (pend == NULL) {
        rc = plimg_fail(&x, ENOMEM, "out of memory");
        goto out;
    }
    plimg_force_closure(&x, pend, npend);
    if (m != PLIMG_ORDERED)
        plimg_decide_meta(&x, m, pend, npend);
    free(pend);
    if (cfg->fs == PLIMG_FS_EXT4_ORDERED)
        plimg_replace_data(&x, m);
    plimg_decide_data(&x, m);
    plimg_image_names(&x);

    for (size_t i = 0; i < x.nops; i++) {
        const plimg_op *o = &x.ops[i];
        if (o->r.type != SHADOW_WRITE || o->failed || o->state == PLIMG_DURABLE)
            continue;
        sum->writes_unsynced++;
        sum->writes_lost_fsync += o->state == PLIMG_LOST;
    }
    for (size_t i = 0; i < x.ninos; i++) {
        plimg_ino *n = &x.inos[i];
        if (n->is_dir || n->cur == NULL || n->img == NULL)
            continue;
        if ((rc = plimg_build(&x, i, m)) != 0)
            goto out;
    }
    plimg_count_meta(&x);
    rc = plimg_relocate(&x);
out:
    plimg_ctx_free(&x);
    return rc;
}

/* ---- names and descriptions ---- */

/* The index of name in names[0..n), or -1. */
static int plimg_name_index(const char *const *names, unsigned n,
                            const char *name)
{
    for (unsigned i = 0; i < n; i++)
        if (strcmp(name, names[i]) == 0)
            return (int)i;
    return -1;
}

static const char *const plimg_model_names[] = {
    [PLIMG_RANDOM] = "random",
    [PLIMG_ANY_SUBSET] = "any-subset",
    [PLIMG_PER_FILE_PREFIX] = "per-file-prefix",
    [PLIMG_ORDERED] = "ordered",
    [PLIMG_DROP_UNSYNCED_DATA] = "drop-unsynced-data",
    [PLIMG_DROP_UNSYNCED_FILES] = "drop-unsynced-files",
};

static const char *const plimg_fs_names[] = {
    [PLIMG_FS_POSIX_STRICT] = "posix-strict",
    [PLIMG_FS_EXT4_ORDERED] = "ext4-ordered",
};

const char *plimg_model_name(plimg_model m)
{
    return (unsigned)m > PLIMG_DROP_UNSYNCED_FILES ? "?" : plimg_model_names[m];
}

int plimg_model_parse(const char *name, plimg_model *m)
{
    int i = plimg_name_index(plimg_model_names, PLIMG_DROP_UNSYNCED_FILES + 1,
                             name);

    if (i < 0)
        return CL_EINVAL;
    *m = (plimg_model)i;
    return 0;
}

const char *plimg_fs_name(plimg_fs fs)
{
    return (unsigned)fs > PLIMG_FS_EXT4_ORDERED ? "?" : plimg_fs_names[fs];
}

int plimg_fs_parse(const char *name, plimg_fs *fs)
{
    int i = plimg_name_index(plimg_fs_names, PLIMG_FS_EXT4_ORDERED + 1, name);

    if (i < 0)
        return CL_EINVAL;
    *fs = (plimg_fs)i;
    return 0;
}

int plimg_describe(const plimg_summary *s, char *buf, size_t len)
{
    char reord[40] = "";

    if (s->reorders > 0)
        snprintf(reord, sizeof(reord), " (%llu reordered)",
                 (unsigned long long)s->reorders);
    return snprintf(
        buf, len,
        "%s/%u%s%s: %llu unsynced writes (%llu lost to fsync), sectors %llu "
        "unsynced %llu kept %llu dropped (%llu garbage), truncates %llu "
        "unsynced %llu undone%s, dir ops %llu unsynced: %llu creates lost, "
        "%llu mkdirs lost, %llu renames undone, %llu unlinks undone, "
        "%llu forced",
        plimg_model_name(s->model), s->sector,
        s->fs != PLIMG_FS_POSIX_STRICT ? "/" : "",
        s->fs != PLIMG_FS_POSIX_STRICT ? plimg_fs_name(s->fs) : "",
        (unsigned long long)s->writes_unsynced,
        (unsigned long long)s->writes_lost_fsync,
        (unsigned long long)s->sectors_unsynced,
        (unsigned long long)s->sectors_kept,
        (unsigned long long)s->sectors_dropped,
        (unsigned long long)s->sectors_garbage,
        (unsigned long long)s->truncates_unsynced,
        (unsigned long long)s->truncates_undone, reord,
        (unsigned long long)s->meta_unsynced,
        (unsigned long long)s->creates_lost, (unsigned long long)s->mkdirs_lost,
        (unsigned long long)s->renames_undone,
        (unsigned long long)s->unlinks_undone,
        (unsigned long long)s->meta_forced);
}
