/*
 * plimg_entries.c - directory entries in a power-cut image: completing the
 * operation the writer died inside, where each file is in the image, and
 * moving files there (see the model at the top of powerloss.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "plimg_int.h"

/* Complete the last directory operation if the writer died inside it. */
int plimg_roll_forward(plimg_ctx *x)
{
    const shadow_rec *r = NULL;
    int rc = 0;

    for (size_t i = x->nops; i-- > 0;)
        if (plimg_is_meta(x->ops[i].r.type)) {
            if (!x->ops[i].failed)
                r = &x->ops[i].r;
            break;
        }
    if (r == NULL)
        return 0;
    switch (r->type) {
    case SHADOW_CREATE:
        if (!plimg_exists(r->path)) {
            int fd = open(r->path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
            if (fd < 0)
                rc = errno;
            else
                close(fd);
        }
        break;
    case SHADOW_MKDIR:
        if (!plimg_exists(r->path) && mkdir(r->path, 0755) != 0)
            rc = errno;
        break;
    case SHADOW_UNLINK:
        if (plimg_exists(r->path)) {
            if (r->grave)
                rc = rename(r->path, r->grave) ? errno : 0;
            else
                rc = unlink(r->path) ? errno : 0;
        }
        break;
    case SHADOW_RENAME:
        if (plimg_exists(r->path) && strcmp(r->path, r->to) != 0) {
            if (r->grave && plimg_exists(r->to) && !plimg_exists(r->grave) &&
                rename(r->to, r->grave) != 0)
                rc = errno;
            if (rc == 0 && rename(r->path, r->to) != 0)
                rc = errno;
        }
        break;
    default:
        break;
    }
    if (rc != 0)
        return plimg_fail(x, rc, "completing the last %s of %s: %s",
                          shadow_type_name(r->type), r->path, strerror(rc));
    return 0;
}

/* ---- directory entries ---- */

/* Where each inode is in the image: the state at log start with the
 * persisted directory operations applied in issue order. */
void plimg_image_names(plimg_ctx *x)
{
    for (size_t i = 0; i < x->ninos; i++)
        x->inos[i].img = x->inos[i].created ? NULL : x->inos[i].orig;
    for (size_t i = 0; i < x->nops; i++) {
        plimg_op *o = &x->ops[i];
        if (!plimg_meta_live(o) || !o->keep)
            continue;
        switch (o->r.type) {
        case SHADOW_CREATE:
        case SHADOW_MKDIR:
            x->inos[o->ino].img = o->r.path;
            break;
        case SHADOW_RENAME:
            if (o->ino2 >= 0)
                x->inos[o->ino2].img = NULL;
            x->inos[o->ino].img = o->r.to;
            break;
        case SHADOW_UNLINK:
            x->inos[o->ino].img = NULL;
            break;
        default:
            break;
        }
    }
}

void plimg_count_meta(plimg_ctx *x)
{
    plimg_summary *s = x->sum;

    for (size_t i = 0; i < x->nops; i++) {
        const plimg_op *o = &x->ops[i];
        if (!plimg_meta_live(o) || o->state == PLIMG_DURABLE)
            continue;
        s->meta_unsynced++;
        if ((o->r.type == SHADOW_UNLINK && o->r.grave == NULL) ||
            (o->r.type == SHADOW_RENAME && o->r.to_existed &&
             o->r.grave == NULL) ||
            (o->r.type == SHADOW_MKDIR && strcmp(o->r.path, x->dir) == 0))
            s->meta_forced++;
        if (o->keep)
            continue;
        s->creates_lost += o->r.type == SHADOW_CREATE;
        s->mkdirs_lost += o->r.type == SHADOW_MKDIR;
        s->renames_undone += o->r.type == SHADOW_RENAME;
        s->unlinks_undone += o->r.type == SHADOW_UNLINK;
    }
}

/* Remove every file the image does not hold, move every file whose image
 * name differs from its current one, through a staging directory (so that
 * swaps and cycles work), and remove the directories whose mkdir did not
 * persist. */
int plimg_relocate(plimg_ctx *x)
{
    char *stage = NULL, *tmp = NULL;
    int rc = 0, moves = 0;

    for (size_t i = 0; i < x->ninos; i++) {
        plimg_ino *n = &x->inos[i];
        moves += !n->is_dir && n->cur && n->img && strcmp(n->img, n->cur);
    }
    /* Nothing to move: do not touch dir (which may not even exist, if the
     * writer died before creating it). */
    if (moves > 0) {
        if (asprintf(&stage, "%s/.plimg-stage", x->dir) < 0)
            return plimg_fail(x, ENOMEM, "out of memory");
        if ((rc = fs_rmrf(stage)) != 0 || mkdir(stage, 0700) != 0) {
            rc = rc ? rc : errno;
            plimg_fail(x, rc, "%s: %s", stage, strerror(rc));
            goto out;
        }
    }
    for (size_t i = 0; i < x->ninos; i++) {
        plimg_ino *n = &x->inos[i];
        if (n->is_dir || n->cur == NULL ||
            (n->img && strcmp(n->img, n->cur) == 0))
            continue;
        if (n->img == NULL) {
            /* not in the image: its name is freed at once, as moving it
             * aside would free it (a campaign's graveyard holds hundreds) */
            if (unlink(n->cur) != 0 && errno != ENOENT) {
                rc = errno;
                plimg_fail(x, rc, "removing %s: %s", n->cur, strerror(rc));
                goto out;
            }
            continue;
        }
        free(tmp);
        if (asprintf(&tmp, "%s/%zu", stage, i) < 0) {
            tmp = NULL;
            rc = ENOMEM;
            goto out;
        }
        if (rename(n->cur, tmp) == 0) {
            n->staged = 1;
        } else if (errno != ENOENT) {
            rc = errno;
            plimg_fail(x, rc, "moving %s aside: %s", n->cur, strerror(rc));
            goto out;
        }
    }
    /* Newest first, so that a lost directory inside another goes first. */
    for (size_t i = x->ninos; i-- > 0;) {
        plimg_ino *n = &x->inos[i];
        if (n->is_dir && n->cur && n->img == NULL &&
            (rc = fs_rmrf(n->cur)) != 0) {
            plimg_fail(x, rc, "removing %s: %s", n->cur, strerror(rc));
            goto out;
        }
    }
    for (size_t i = 0; i < x->ninos; i++) {
        plimg_ino *n = &x->inos[i];
        if (!n->staged)
            continue;
        free(tmp);
        if (asprintf(&tmp, "%s/%zu", stage, i) < 0) {
            tmp = NULL;
            rc = ENOMEM;
            goto out;
        }
        if (n->img ? rename(tmp, n->img) : unlink(tmp)) {
            rc = errno;
            plimg_fail(x, rc, "putting %s in place: %s",
                       n->img ? n->img : n->cur, strerror(rc));
            goto out;
        }
    }
    if (stage != NULL && rmdir(stage) != 0) {
        rc = errno;
        plimg_fail(x, rc, "%s: %s", stage, strerror(rc));
        goto out;
    }
    /* A file the image holds is the recovery's to write: one that came
     * from a graveyard shared with other crash states (fs_share_tree)
     * gets an inode of its own. */
    for (size_t i = 0; i < x->ninos; i++) {
        plimg_ino *n = &x->inos[i];
        if (!n->is_dir && n->cur && n->img && (rc = fs_unshare(n->img)) != 0) {
            plimg_fail(x, rc, "%s: %s", n->img, strerror(rc));
            goto out;
        }
    }
out:
    free(tmp);
    free(stage);
    return rc;
}
