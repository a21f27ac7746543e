/*
 * crashio.c - the crash-simulating I/O table (see crashio.h).
 *
 * Every mutating call follows one recipe, under the crashio's mutex:
 *   1. number the I/O point (and trace it), and show it to the on_point
 *      hook;
 *   2. if it is the crash point, die here (or tear the write and die);
 *   3. if it is the fail_at point, return the errno without any effect;
 *   4. append the shadow record describing the operation, with the old
 *      bytes it will overwrite, before performing it: SIGKILL may come at
 *      any moment, and a record for an operation that did not happen is
 *      harmless (undoing it restores what is there), while an operation
 *      without a record could not be undone;
 *   5. perform it through the inner table; on failure append a FAILED
 *      record so the image builder treats it as never done (a pwrite that
 *      wrote part of its buffer before failing then also gets a record of
 *      the part it wrote: crashio_log_partial).
 * fsync, fdatasync and dirsync hold the mutex only for steps 1-3 and to
 * note which records they cover (all appended so far, whose operations are
 * complete because they ran under the mutex); their SYNC/DIRSYNC record is
 * appended after the system call succeeds.  A kill between the two only
 * makes the image builder more pessimistic than the disk, and the writer
 * had not yet seen the sync return, so it had promised nothing.
 */
#include "crashio.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "crashio_int.h"
#include "fsutil.h"
#include "shadow.h"

/* ---- names ---- */

int crashio_kind_is_sync(int kind)
{
    return kind == CRASHIO_FSYNC || kind == CRASHIO_FDATASYNC ||
           kind == CRASHIO_DIRSYNC;
}

const char *crashio_kind_name(int kind)
{
    switch (kind) {
    case CRASHIO_PWRITE:
        return "pwrite";
    case CRASHIO_FSYNC:
        return "fsync";
    case CRASHIO_FDATASYNC:
        return "fdatasync";
    case CRASHIO_FTRUNCATE:
        return "ftruncate";
    case CRASHIO_RENAME:
        return "rename";
    case CRASHIO_UNLINK:
        return "unlink";
    case CRASHIO_MKDIR:
        return "mkdir";
    case CRASHIO_DIRSYNC:
        return "dirsync";
    case CRASHIO_CREATE:
        return "create";
    }
    return "?";
}

const char *crashio_fill_name(int fill)
{
    switch (fill) {
    case CRASHIO_FILL_OLD:
        return "old";
    case CRASHIO_FILL_ZERO:
        return "zero";
    case CRASHIO_FILL_GARBAGE:
        return "garbage";
    case CRASHIO_FILL_SEED:
        return "seed";
    }
    return "?";
}

size_t crashio_shared_size(uint64_t trace_cap)
{
    return sizeof(crashio_shared) + trace_cap * sizeof(crashio_point_info);
}

void crashio_shared_init(crashio_shared *sh, uint64_t trace_cap)
{
    memset(sh, 0, crashio_shared_size(trace_cap));
    atomic_init(&sh->points, 0);
    atomic_init(&sh->outcome, CRASHIO_OUT_NONE);
    atomic_init(&sh->failed_point, 0);
    atomic_init(&sh->syncs, 0);
    atomic_init(&sh->nnames, 0);
    sh->trace_cap = trace_cap;
}

/* ---- file ids and the fd table (callers hold c->mu) ---- */

/* The id of normalised path p, assigning the next one on first use; 0 when
 * out of memory or past 65535 files. */
uint16_t crashio_id(crashio *c, const char *p)
{
    crashio_shared *sh = c->cfg.shared;
    char *copy;

    for (size_t i = 0; i < c->nids; i++)
        if (strcmp(c->ids[i], p) == 0)
            return (uint16_t)(i + 1);
    if (c->nids >= UINT16_MAX)
        return 0;
    if (c->nids == c->capids) {
        size_t cap = c->capids ? 2 * c->capids : 16;
        char **n = realloc(c->ids, cap * sizeof(*n));
        if (n == NULL)
            return 0;
        c->ids = n;
        c->capids = cap;
    }
    if ((copy = strdup(p)) == NULL)
        return 0;
    c->ids[c->nids++] = copy;
    if (sh && c->nids <= CRASHIO_MAX_NAMES) {
        const char *name = p;
        size_t rl = c->root ? strlen(c->root) : 0, nl;
        if (rl > 0 && strncmp(p, c->root, rl) == 0 && p[rl] == '/')
            name = p + rl + 1;
        nl = strlen(name);
        if (nl >= CRASHIO_NAME_LEN)
            name += nl - (CRASHIO_NAME_LEN - 1);
        strncpy(sh->names[c->nids - 1], name, CRASHIO_NAME_LEN - 1);
        sh->names[c->nids - 1][CRASHIO_NAME_LEN - 1] = '\0';
        atomic_store_explicit(&sh->nnames, (uint32_t)c->nids,
                              memory_order_release);
    }
    return (uint16_t)c->nids;
}

/* Remember that fd is open on normalised path p (p is taken over). */
int crashio_fd_add(crashio *c, int fd, char *p)
{
    if (p == NULL)
        return ENOMEM;
    if (fd < 0) {
        free(p);
        return EINVAL;
    }
    if ((size_t)fd >= c->nfds) {
        size_t n = (size_t)fd + 16;
        crashio_fd *t = realloc(c->fds, n * sizeof(*t));
        if (t == NULL) {
            free(p);
            return ENOMEM;
        }
        memset(t + c->nfds, 0, (n - c->nfds) * sizeof(*t));
        c->fds = t;
        c->nfds = n;
    }
    free(c->fds[fd].path);
    c->fds[fd].path = p;
    c->fds[fd].id = crashio_id(c, p);
    c->fds[fd].open = 1;
    return 0;
}

static void crashio_fd_drop(crashio *c, int fd)
{
    if (fd < 0 || (size_t)fd >= c->nfds)
        return;
    free(c->fds[fd].path);
    c->fds[fd].path = NULL;
    c->fds[fd].id = 0;
    c->fds[fd].open = 0;
}

/* The fd's entry, or NULL if crashio did not see it opened. */
static crashio_fd *crashio_fd_get(crashio *c, int fd)
{
    if (fd < 0 || (size_t)fd >= c->nfds || !c->fds[fd].open)
        return NULL;
    return &c->fds[fd];
}

/* After a rename or unlink: every fd open on `from` now names `to` (NULL:
 * the file is gone from every name). */
void crashio_fd_move(crashio *c, const char *from, const char *to)
{
    for (size_t i = 0; i < c->nfds; i++) {
        crashio_fd *f = &c->fds[i];
        if (!f->open || f->path == NULL || strcmp(f->path, from) != 0)
            continue;
        free(f->path);
        f->path = to ? strdup(to) : NULL;
        /* The id stays the file's: trace entries keep naming the file the
         * writer opened. */
    }
}

int crashio_op_dup(crashio *c, int fd, int fd2)
{
    crashio_fd *f;
    char *p = NULL;
    uint16_t id;
    int rc = EBADF;

    pthread_mutex_lock(&c->mu);
    if ((f = crashio_fd_get(c, fd)) == NULL || fd2 < 0)
        goto out;
    id = f->id;
    rc = ENOMEM;
    if (f->path != NULL && (p = strdup(f->path)) == NULL)
        goto out;
    /* A placeholder name grows the table; the entry then takes fd's path
     * (NULL for a file unlinked without a graveyard) and id. */
    if ((rc = crashio_fd_add(c, fd2, p ? p : strdup("/"))) != 0)
        goto out;
    if (p == NULL) {
        free(c->fds[fd2].path);
        c->fds[fd2].path = NULL;
    }
    c->fds[fd2].id = id;
out:
    pthread_mutex_unlock(&c->mu);
    return rc;
}

void crashio_op_forget(crashio *c, int fd)
{
    pthread_mutex_lock(&c->mu);
    crashio_fd_drop(c, fd);
    pthread_mutex_unlock(&c->mu);
}

int crashio_op_syncall(crashio *c)
{
    crashio_pt pt;
    uint64_t covers = 0;
    char **names = NULL;
    size_t n = 0;
    int rc = 0;

    pthread_mutex_lock(&c->mu);
    pt = crashio_point(c, CRASHIO_FSYNC, -1, 0, 0, NULL, NULL, 0, 0);
    if (c->sw && (!pt.fail || c->cfg.fsync_loses_data)) {
        covers = shadow_next_seq(c->sw);
        names = calloc(c->nids + 1, sizeof(*names));
        for (size_t i = 0; names && i < c->nids; i++)
            if ((names[n] = strdup(c->ids[i])) != NULL)
                n++;
        if (names && c->root && (names[n] = strdup(c->root)) != NULL)
            n++;
        if (names == NULL)
            rc = ENOMEM;
    }
    pthread_mutex_unlock(&c->mu);
    if (pt.fail && !c->cfg.fsync_loses_data)
        return c->cfg.fail_errno;
    if (!pt.fail)
        sync();
    /* Every name the core has seen, as it is now: a file gets a SYNC
     * record, a directory a DIRSYNC one, a name that is gone nothing.  A
     * failed one (fsync_loses_data) loses every file's unsynced writes,
     * as a failed fsync of each would; directories stay unsynced. */
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        shadow_rec r = {.point = pt.k,
                        .path = names[i],
                        .covers = covers,
                        .err = pt.fail ? c->cfg.fail_errno : 0};
        if (rc == 0 && stat(names[i], &st) == 0 &&
            (S_ISREG(st.st_mode) || (S_ISDIR(st.st_mode) && !pt.fail))) {
            r.type = pt.fail               ? SHADOW_FSYNC_FAILED
                     : S_ISDIR(st.st_mode) ? SHADOW_DIRSYNC
                                           : SHADOW_SYNC;
            rc = shadow_append(c->sw, &r);
        }
        free(names[i]);
    }
    free(names);
    return pt.fail ? c->cfg.fail_errno : rc;
}

int crashio_op_tracked(crashio *c, int fd, char **path)
{
    crashio_fd *f;
    int known = 0, ok = 1;

    pthread_mutex_lock(&c->mu);
    if ((f = crashio_fd_get(c, fd)) != NULL) {
        known = 1;
        if (path != NULL) {
            *path = f->path ? strdup(f->path) : NULL;
            ok = f->path == NULL || *path != NULL;
        }
    }
    pthread_mutex_unlock(&c->mu);
    return known && ok;
}

/* ---- points, crashes ---- */

/* The process is being killed by another thread's crash point: make sure
 * this thread never performs anything. */
_Noreturn void crashio_hang(void)
{
    for (;;)
        pause();
}

_Noreturn void crashio_die(crashio *c, uint64_t k, uint32_t outcome)
{
    crashio_shared *sh = c->cfg.shared;

    if (sh) {
        sh->crash_point = k;
        atomic_store_explicit(&sh->outcome, outcome, memory_order_release);
    }
    if (c->cfg.on_die != NULL)
        c->cfg.on_die(c->cfg.on_point_ctx);
    /* SIGKILL, not exit(): no atexit handler, stdio flush or destructor
     * may run, exactly as when the machine stops.  A signal a process
     * sends itself is delivered before kill() returns to user space. */
    kill(getpid(), SIGKILL);
    crashio_hang();
}

/* Number an I/O point (steps 1-3 of the recipe, except tearing, which the
 * pwrite does itself). */
crashio_pt crashio_point(crashio *c, crashio_kind kind, int fd, uint16_t file,
                         uint16_t file2, const char *path, const void *buf,
                         uint64_t off, uint64_t len)
{
    crashio_shared *sh = c->cfg.shared;
    crashio_pt pt;
    uint64_t k = atomic_fetch_add(&c->points, 1) + 1;

    pt.k = k;
    pt.fail = (c->cfg.fail_at != 0 && k == c->cfg.fail_at);
    if (crashio_kind_is_sync(kind)) {
        uint64_t s = atomic_fetch_add(&c->syncs, 1) + 1;
        pt.fail |= c->cfg.fail_sync != 0 && s == c->cfg.fail_sync;
        if (sh)
            atomic_fetch_add(&sh->syncs, 1);
    }
    if (c->cfg.crash_at != 0 && k > c->cfg.crash_at)
        crashio_hang();
    if (sh) {
        if (k <= sh->trace_cap) {
            crashio_point_info *t = &sh->trace[k - 1];
            t->kind = (uint8_t)kind;
            t->flags = (uint8_t)((pt.fail ? CRASHIO_PF_INJECTED : 0) |
                                 (k == c->cfg.crash_at ? CRASHIO_PF_CRASH : 0));
            t->file = file;
            t->file2 = file2;
            t->act = (uint16_t)atomic_load(&c->act);
            t->len = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
            t->off = off;
        }
        atomic_fetch_add(&sh->points, 1);
        if (pt.fail)
            atomic_store(&sh->failed_point, k);
    }
    if (c->cfg.on_point != NULL) {
        /* Nothing of call k has happened yet, and every earlier point's
         * call is complete (they ran under the mutex we hold). */
        crashio_call call = {.k = k,
                             .kind = kind,
                             .fd = fd,
                             .file = file,
                             .path = path,
                             .buf = kind == CRASHIO_PWRITE ? buf : NULL,
                             .off = off,
                             .len = len,
                             .act = (uint32_t)atomic_load(&c->act)};
        c->cfg.on_point(c->cfg.on_point_ctx, &call);
    }
    if (k == c->cfg.crash_at &&
        (c->cfg.crash_action != CRASHIO_TEAR || kind != CRASHIO_PWRITE))
        crashio_die(c, k, CRASHIO_OUT_KILLED);
    return pt;
}

/* ---- shadow helpers ---- */

/* Append a FAILED record for the operation of record seq (0: none). */
void crashio_log_failed(crashio *c, uint64_t seq, uint64_t k, int err)
{
    shadow_rec r = {.type = SHADOW_FAILED, .point = k, .ref = seq, .err = err};

    if (c->sw && seq != 0)
        shadow_append(c->sw, &r);
}

/* Append the WRITE record for writing len bytes at off of fd (path p),
 * reading the old bytes through the inner table.  OUT: *seq. */
int crashio_log_write(crashio *c, uint64_t k, int fd, const char *p, size_t len,
                      uint64_t off, uint64_t *seq)
{
    shadow_rec r = {.type = SHADOW_WRITE, .point = k, .path = p};
    uint8_t *old = NULL;
    uint64_t size;
    size_t got = 0;
    int rc;

    if ((rc = c->in->filesize(c->in->ctx, fd, &size)) != 0)
        return rc;
    r.off = off;
    r.len = len;
    r.old_size = size;
    r.old_len = off < size ? size - off : 0;
    if (r.old_len > len)
        r.old_len = len;
    if (r.old_len > 0) {
        if ((old = malloc(r.old_len)) == NULL)
            return ENOMEM;
        rc = c->in->pread(c->in->ctx, fd, old, r.old_len, off, &got);
        if (rc != 0)
            goto out;
        if (got < r.old_len) {
            /* The file is shorter than filesize said a moment ago: only
             * another process could do that; record what is there. */
            r.old_len = got;
            r.old_size = off + got;
        }
        r.old_bytes = old;
    }
    rc = shadow_append(c->sw, &r);
    if (rc == 0)
        *seq = r.seq;
out:
    free(old);
    return rc;
}

/* The inner pwrite of point k failed with err after record seq: cancel the
 * record, and if the call wrote a prefix of buf before failing (a short
 * write on a filling disk), record that prefix as a write of its own, so
 * that a power-cut image may show it as any unsynced write.  The prefix is
 * found by reading the range back.  Its record's old bytes are the page
 * cache's after the failed call; undoing it is followed by undoing the
 * failed record, which restores the bytes from before the call. */
static void crashio_log_partial(crashio *c, uint64_t k, int fd, const char *p,
                                const uint8_t *buf, size_t len, uint64_t off,
                                uint64_t seq, int err)
{
    uint8_t *now;
    size_t got = 0, n = 0;
    uint64_t seq2;

    crashio_log_failed(c, seq, k, err);
    if (seq == 0 || len == 0 || (now = malloc(len)) == NULL)
        return;
    if (c->in->pread(c->in->ctx, fd, now, len, off, &got) == 0)
        while (n < got && now[n] == buf[n])
            n++;
    free(now);
    if (n > 0)
        crashio_log_write(c, k, fd, p, n, off, &seq2);
}

/* ---- the table ---- */

int crashio_op_open(crashio *c, const char *path, int flags, int *fd)
{
    int rc, f = -1;
    char *p = shadow_path_norm(path);
    uint64_t seq = 0;
    crashio_pt pt;

    if (p == NULL)
        return ENOMEM;
    rc =
        c->in->open(c->in->ctx, path, flags & ~(CL_IO_CREATE | CL_IO_EXCL), &f);
    if (rc == 0 && (flags & CL_IO_CREATE) && (flags & CL_IO_EXCL)) {
        c->in->close(c->in->ctx, f);
        free(p);
        return EEXIST;
    }
    if (rc == 0) {
        pthread_mutex_lock(&c->mu);
        rc = crashio_fd_add(c, f, p);
        pthread_mutex_unlock(&c->mu);
        if (rc != 0) {
            c->in->close(c->in->ctx, f);
            return rc;
        }
        *fd = f;
        return 0;
    }
    if (rc != ENOENT || !(flags & CL_IO_CREATE)) {
        free(p);
        return rc;
    }

    /* The open creates the file: an I/O point. */
    pthread_mutex_lock(&c->mu);
    pt = crashio_point(c, CRASHIO_CREATE, -1, crashio_id(c, p), 0, p, NULL, 0,
                       0);
    if (pt.fail) {
        rc = c->cfg.fail_errno;
        goto out;
    }
    if (c->sw) {
        shadow_rec r = {.type = SHADOW_CREATE, .point = pt.k, .path = p};
        if ((rc = shadow_append(c->sw, &r)) != 0)
            goto out;
        seq = r.seq;
    }
    rc = c->in->open(c->in->ctx, path, flags | CL_IO_CREATE | CL_IO_EXCL, &f);
    if (rc == EEXIST && !(flags & CL_IO_EXCL)) {
        /* Created behind our back since the first open (not through this
         * table): open it as it is; our CREATE did not happen. */
        crashio_log_failed(c, seq, pt.k, rc);
        rc = c->in->open(c->in->ctx, path, flags & ~CL_IO_CREATE, &f);
    } else if (rc != 0) {
        crashio_log_failed(c, seq, pt.k, rc);
    }
    if (rc == 0) {
        rc = crashio_fd_add(c, f, p);
        p = NULL;
        if (rc != 0)
            c->in->close(c->in->ctx, f);
        else
            *fd = f;
    }
out:
    pthread_mutex_unlock(&c->mu);
    free(p);
    return rc;
}

int crashio_op_close(crashio *c, int fd)
{

    pthread_mutex_lock(&c->mu);
    crashio_fd_drop(c, fd);
    pthread_mutex_unlock(&c->mu);
    return c->in->close(c->in->ctx, fd);
}

int crashio_op_pwrite(crashio *c, int fd, const void *buf, size_t len,
                      uint64_t off)
{
    crashio_fd *f;
    crashio_pt pt;
    uint64_t seq = 0;
    int rc;

    pthread_mutex_lock(&c->mu);
    f = crashio_fd_get(c, fd);
    pt = crashio_point(c, CRASHIO_PWRITE, fd, f ? f->id : 0, 0,
                       f ? f->path : NULL, buf, off, len);
    if (pt.k == c->cfg.crash_at)
        crashio_tear(c, pt.k, fd, f, buf, len, off);
    if (pt.fail) {
        rc = c->cfg.fail_errno;
        goto out;
    }
    /* A file unlinked without a graveyard (path NULL) cannot come back in
     * any image: its writes need no record. */
    if (c->sw && f && f->path &&
        (rc = crashio_log_write(c, pt.k, fd, f->path, len, off, &seq)) != 0)
        goto out;
    rc = c->in->pwrite(c->in->ctx, fd, buf, len, off);
    if (rc != 0)
        crashio_log_partial(c, pt.k, fd, f ? f->path : NULL, buf, len, off, seq,
                            rc);
out:
    pthread_mutex_unlock(&c->mu);
    return rc;
}

int crashio_op_sync(crashio *c, int fd, int datasync)
{
    crashio_fd *f;
    crashio_pt pt;
    uint64_t covers = 0;
    char *p = NULL;
    int rc;

    pthread_mutex_lock(&c->mu);
    f = crashio_fd_get(c, fd);
    pt = crashio_point(c, datasync ? CRASHIO_FDATASYNC : CRASHIO_FSYNC, fd,
                       f ? f->id : 0, 0, f ? f->path : NULL, NULL, 0, 0);
    if (c->sw && f && f->path) {
        covers = shadow_next_seq(c->sw);
        p = strdup(f->path);
    }
    pthread_mutex_unlock(&c->mu);

    if (pt.fail) {
        rc = c->cfg.fail_errno;
        if (!c->cfg.fsync_loses_data)
            goto out;
    } else {
        if (c->cfg.sync_delay_us > 0)
            usleep(c->cfg.sync_delay_us);
        rc = datasync ? c->in->fdatasync(c->in->ctx, fd)
                      : c->in->fsync(c->in->ctx, fd);
    }
    if (p != NULL) {
        /* A real failure is recorded as lost data too: that is what Linux
         * does with the dirty pages of a file whose writeback failed. */
        shadow_rec r = {.type = rc == 0 ? SHADOW_SYNC : SHADOW_FSYNC_FAILED,
                        .point = pt.k,
                        .path = p,
                        .covers = covers,
                        .datasync = datasync,
                        .err = rc};
        int lrc = shadow_append(c->sw, &r);
        if (rc == 0)
            rc = lrc;
    }
out:
    free(p);
    return rc;
}

int crashio_op_ftruncate(crashio *c, int fd, uint64_t len)
{
    crashio_fd *f;
    crashio_pt pt;
    uint64_t seq = 0, size;
    uint8_t *cut = NULL;
    int rc;

    pthread_mutex_lock(&c->mu);
    f = crashio_fd_get(c, fd);
    pt = crashio_point(c, CRASHIO_FTRUNCATE, fd, f ? f->id : 0, 0,
                       f ? f->path : NULL, NULL, len, 0);
    if (pt.fail) {
        rc = c->cfg.fail_errno;
        goto out;
    }
    if (c->sw && f && f->path) {
        shadow_rec r = {.type = SHADOW_TRUNCATE,
                        .point = pt.k,
                        .path = f->path,
                        .new_size = len};
        if ((rc = c->in->filesize(c->in->ctx, fd, &size)) != 0)
            goto out;
        r.old_size = size;
        if (len < size) {
            size_t got = 0;
            r.old_len = size - len;
            if ((cut = malloc(r.old_len)) == NULL) {
                rc = ENOMEM;
                goto out;
            }
            rc = c->in->pread(c->in->ctx, fd, cut, r.old_len, len, &got);
            if (rc != 0)
                goto out;
            r.old_len = got;
            r.old_size = len + got;
            r.old_bytes = cut;
        }
        if ((rc = shadow_append(c->sw, &r)) != 0)
            goto out;
        seq = r.seq;
    }
    rc = c->in->ftruncate(c->in->ctx, fd, len);
    if (rc != 0)
        crashio_log_failed(c, seq, pt.k, rc);
out:
    pthread_mutex_unlock(&c->mu);
    free(cut);
    return rc;
}

/* The engine's word on its mechanisms: kept for the trace, and passed on
 * to the wrapped table. */
void crashio_op_activity(crashio *c, uint32_t act, int on)
{

    if (on)
        atomic_fetch_or(&c->act, act);
    else
        atomic_fetch_and(&c->act, ~act);
    cl_io_activity(c->in, act, on);
}

/* ---- life cycle ---- */

int crashio_new(const crashio_config *cfg, crashio **out)
{
    crashio *c;
    int rc;

    if (cfg == NULL || cfg->inner == NULL ||
        (cfg->sector != 0 && cfg->sector != 512 && cfg->sector != 4096) ||
        (cfg->graveyard_dir != NULL && cfg->shadow_path == NULL) ||
        (unsigned)cfg->fill > CRASHIO_FILL_SEED)
        return EINVAL;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return ENOMEM;
    c->in = cfg->inner;
    c->cfg = *cfg;
    if (c->cfg.sector == 0)
        c->cfg.sector = 512;
    if (c->cfg.fail_errno == 0)
        c->cfg.fail_errno = EIO;
    c->cfg.shadow_path = NULL; /* not kept */
    c->cfg.graveyard_dir = NULL;
    c->cfg.root = NULL;
    atomic_init(&c->points, 0);
    atomic_init(&c->graves, 0);
    pthread_mutex_init(&c->mu, NULL);
    if (cfg->root && (c->root = shadow_path_norm(cfg->root)) == NULL) {
        rc = ENOMEM;
        goto fail;
    }
    if (cfg->graveyard_dir) {
        if ((c->graveyard = shadow_path_norm(cfg->graveyard_dir)) == NULL) {
            rc = ENOMEM;
            goto fail;
        }
        rc = c->in->mkdir(c->in->ctx, c->graveyard);
        if (rc != 0 && rc != EEXIST)
            goto fail;
    }
    if (cfg->shadow_path) {
        if ((c->shadow = shadow_path_norm(cfg->shadow_path)) == NULL) {
            rc = ENOMEM;
            goto fail;
        }
        rc =
            cfg->shadow_continue
                ? shadow_writer_continue(cfg->shadow_path, c->graveyard, &c->sw)
                : shadow_writer_open(cfg->shadow_path, c->graveyard, &c->sw);
        if (rc != 0)
            goto fail;
        if (cfg->shadow_hold)
            shadow_writer_hold(c->sw);
        /* A process that goes on with a log may have the pid of one that
         * wrote it (a long-lived verifier runs recovery after recovery);
         * each graveyard name it hands out then numbers past every record
         * of that log, which no earlier name does (each came with a
         * record). */
        atomic_store(&c->graves, shadow_next_seq(c->sw));
    }

    *out = c;
    return 0;

fail:
    crashio_free(c);
    return rc;
}

void crashio_stop_hook(crashio *c)
{
    pthread_mutex_lock(&c->mu);
    c->cfg.on_point = NULL;
    pthread_mutex_unlock(&c->mu);
}

uint64_t crashio_shadow_length(crashio *c)
{
    return c->sw != NULL ? shadow_writer_length(c->sw) : 0;
}

int crashio_shadow_flush(crashio *c, uint64_t upto)
{
    return c->sw != NULL ? shadow_writer_flush(c->sw, upto) : 0;
}

int crashio_shadow_release(crashio *c)
{
    return c->sw != NULL ? shadow_writer_release(c->sw) : 0;
}

void crashio_free(crashio *c)
{
    if (c == NULL)
        return;
    shadow_writer_close(c->sw);
    for (size_t i = 0; i < c->nfds; i++)
        free(c->fds[i].path);
    free(c->fds);
    for (size_t i = 0; i < c->nids; i++)
        free(c->ids[i]);
    free(c->ids);
    free(c->root);
    free(c->graveyard);
    free(c->shadow);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

int crashio_branch(crashio *c, const crashio_branch_cfg *b)
{
    uint64_t made = atomic_load(&c->points);
    int rc = 0;

    if ((b->fail_at != 0 && b->fail_at <= made) ||
        (b->crash_at != 0 && b->crash_at <= made))
        return EINVAL;
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->nfds && rc == 0; i++)
        if (c->fds[i].open && c->fds[i].path != NULL)
            rc = fs_reopen((int)i, c->fds[i].path);
    if (rc == 0 && c->sw != NULL)
        rc = shadow_writer_reopen(c->sw, c->shadow);
    if (rc == 0 && c->sw != NULL && b->inner != NULL)
        rc = shadow_writer_release(c->sw);
    if (rc != 0)
        goto out;
    if (b->inner != NULL)
        c->in = b->inner;
    c->cfg.seed = b->seed;
    c->cfg.crash_at = b->crash_at;
    c->cfg.crash_action = b->crash_action;
    c->cfg.fill = b->fill;
    c->cfg.fail_at = b->fail_at;
    c->cfg.fail_errno = b->fail_errno != 0 ? b->fail_errno : EIO;
    c->cfg.fsync_loses_data = b->fsync_loses_data;
    c->cfg.on_point = NULL;
    c->cfg.on_die = NULL;
out:
    pthread_mutex_unlock(&c->mu);
    return rc;
}

uint64_t crashio_points(const crashio *c)
{
    return atomic_load(&((crashio *)c)->points);
}

const char *crashio_file_name(crashio *c, unsigned id)
{
    const char *p = NULL;

    pthread_mutex_lock(&c->mu);
    if (id >= 1 && id <= c->nids)
        p = c->ids[id - 1];
    pthread_mutex_unlock(&c->mu);
    return p;
}
