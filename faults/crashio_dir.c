/*
 * crashio_dir.c - the directory operations of the crashio table: rename,
 * unlink, mkdir, dirsync.  With a shadow log and a graveyard, an unlink (and
 * a rename over an existing file) moves the removed file into the graveyard
 * instead of deleting it, so that an image in which the operation did not
 * persist can bring it back without any copy.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crashio_int.h"

/* 1 if path exists (as far as an open for reading can tell), 0 if not, or
 * a negative errno. */
static int crashio_exists(crashio *c, const char *path)
{
    int fd, rc = c->in->open(c->in->ctx, path, CL_IO_RDONLY, &fd);

    if (rc == 0) {
        c->in->close(c->in->ctx, fd);
        return 1;
    }
    return rc == ENOENT ? 0 : -rc;
}

/* A fresh graveyard path for a file now at normalised path p. */
static char *crashio_grave_name(crashio *c, const char *p)
{
    const char *base = strrchr(p, '/');
    uint64_t n = atomic_fetch_add(&c->graves, 1) + 1;
    char *g;

    base = base ? base + 1 : p;
    /* The pid keeps names unique across the processes that share one
     * graveyard (a writer, then its recovery). */
    if (asprintf(&g, "%s/g%ld-%llu-%s", c->graveyard, (long)getpid(),
                 (unsigned long long)n, base) < 0)
        return NULL;
    return g;
}

int crashio_op_rename(crashio *c, const char *from, const char *to)
{
    char *pf = shadow_path_norm(from), *pt_ = shadow_path_norm(to);
    char *grave = NULL;
    uint64_t seq = 0;
    crashio_pt pt;
    int rc, existed = 0;

    if (pf == NULL || pt_ == NULL) {
        free(pf);
        free(pt_);
        return ENOMEM;
    }
    pthread_mutex_lock(&c->mu);
    pt = crashio_point(c, CRASHIO_RENAME, -1, crashio_id(c, pf),
                       crashio_id(c, pt_), pf, NULL, 0, 0);
    if (pt.fail) {
        rc = c->cfg.fail_errno;
        goto out;
    }
    if (c->sw == NULL || strcmp(pf, pt_) == 0) {
        rc = c->in->rename(c->in->ctx, from, to);
        if (rc == 0 && strcmp(pf, pt_) != 0) {
            crashio_fd_move(c, pt_, NULL);
            crashio_fd_move(c, pf, pt_);
        }
        goto out;
    }
    existed = crashio_exists(c, to);
    if (existed < 0) {
        rc = -existed;
        goto out;
    }
    if (existed && c->graveyard &&
        (grave = crashio_grave_name(c, pt_)) == NULL) {
        rc = ENOMEM;
        goto out;
    }
    {
        shadow_rec r = {.type = SHADOW_RENAME,
                        .point = pt.k,
                        .path = pf,
                        .to = pt_,
                        .grave = grave,
                        .to_existed = existed};
        if ((rc = shadow_append(c->sw, &r)) != 0)
            goto out;
        seq = r.seq;
    }
    if (grave != NULL) {
        /* Keep the replaced file: an image where the rename did not
         * persist must show it again. */
        rc = c->in->rename(c->in->ctx, to, grave);
        if (rc != 0) {
            crashio_log_failed(c, seq, pt.k, rc);
            goto out;
        }
    }
    rc = c->in->rename(c->in->ctx, from, to);
    if (rc != 0) {
        if (grave != NULL)
            c->in->rename(c->in->ctx, grave, to);
        crashio_log_failed(c, seq, pt.k, rc);
        goto out;
    }
    crashio_fd_move(c, pt_, grave);
    crashio_fd_move(c, pf, pt_);
out:
    pthread_mutex_unlock(&c->mu);
    free(pf);
    free(pt_);
    free(grave);
    return rc;
}

int crashio_op_unlink(crashio *c, const char *path)
{
    char *p = shadow_path_norm(path), *grave = NULL;
    uint64_t seq = 0;
    crashio_pt pt;
    int rc;

    if (p == NULL)
        return ENOMEM;
    pthread_mutex_lock(&c->mu);
    pt = crashio_point(c, CRASHIO_UNLINK, -1, crashio_id(c, p), 0, p, NULL, 0,
                       0);
    if (pt.fail) {
        rc = c->cfg.fail_errno;
        goto out;
    }
    if (c->sw) {
        shadow_rec r = {.type = SHADOW_UNLINK, .point = pt.k, .path = p};
        if (c->graveyard && (grave = crashio_grave_name(c, p)) == NULL) {
            rc = ENOMEM;
            goto out;
        }
        r.grave = grave;
        if ((rc = shadow_append(c->sw, &r)) != 0)
            goto out;
        seq = r.seq;
    }
    if (grave != NULL)
        rc = c->in->rename(c->in->ctx, path, grave);
    else
        rc = c->in->unlink(c->in->ctx, path);
    if (rc != 0) {
        crashio_log_failed(c, seq, pt.k, rc);
        goto out;
    }
    crashio_fd_move(c, p, grave);
out:
    pthread_mutex_unlock(&c->mu);
    free(p);
    free(grave);
    return rc;
}

int crashio_op_mkdir(crashio *c, const char *path)
{
    char *p = shadow_path_norm(path);
    uint64_t seq = 0;
    crashio_pt pt;
    int rc;

    if (p == NULL)
        return ENOMEM;
    pthread_mutex_lock(&c->mu);
    pt =
        crashio_point(c, CRASHIO_MKDIR, -1, crashio_id(c, p), 0, p, NULL, 0, 0);
    if (pt.fail) {
        rc = c->cfg.fail_errno;
        goto out;
    }
    if (c->sw) {
        shadow_rec r = {.type = SHADOW_MKDIR, .point = pt.k, .path = p};
        if ((rc = shadow_append(c->sw, &r)) != 0)
            goto out;
        seq = r.seq;
    }
    rc = c->in->mkdir(c->in->ctx, path);
    if (rc != 0)
        crashio_log_failed(c, seq, pt.k, rc);
out:
    pthread_mutex_unlock(&c->mu);
    free(p);
    return rc;
}

int crashio_op_dirsync(crashio *c, const char *dir)
{
    char *p = shadow_path_norm(dir);
    uint64_t covers = 0;
    crashio_pt pt;
    int rc;

    if (p == NULL)
        return ENOMEM;
    pthread_mutex_lock(&c->mu);
    pt = crashio_point(c, CRASHIO_DIRSYNC, -1, crashio_id(c, p), 0, p, NULL, 0,
                       0);
    if (c->sw)
        covers = shadow_next_seq(c->sw);
    pthread_mutex_unlock(&c->mu);
    if (pt.fail) {
        rc = c->cfg.fail_errno;
        goto out;
    }
    rc = c->in->dirsync(c->in->ctx, dir);
    if (rc == 0 && c->sw) {
        shadow_rec r = {
            .type = SHADOW_DIRSYNC, .point = pt.k, .path = p, .covers = covers};
        rc = shadow_append(c->sw, &r);
    }
out:
    free(p);
    return rc;
}
