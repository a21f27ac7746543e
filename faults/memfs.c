/*
 * memfs.c - an I/O table over files kept in memory (memfs.h).
 *
 * A file is a byte array with a count of the names and descriptors that
 * refer to it; a name is a complete path, as the engine passes it; a
 * directory is a path that names may start with.  Small tables searched
 * in order: a database directory holds a handful of files.
 */
#include "memfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"

typedef struct mf_file {
    uint8_t *data;
    uint64_t len;
    uint64_t cap;
    uint32_t refs; /* names and descriptors */
    int locked;    /* a descriptor holds its lock */
} mf_file;

typedef struct mf_name {
    char *path;
    mf_file *f;
} mf_name;

typedef struct mf_fd {
    mf_file *f; /* NULL: free */
    int rdwr;
    int lock; /* taken with lock(): unlock releases the file's lock */
} mf_fd;

struct memfs {
    cl_io io;
    pthread_mutex_t mu;
    uint64_t max_file; /* a file grows no larger (EFBIG) */
    mf_name *names;
    size_t nnames, capnames;
    char **dirs;
    size_t ndirs, capdirs;
    mf_fd *fds;
    size_t nfds;
    int null_fd; /* memfs_real_fds: the descriptor of /dev/null that each
                    one duplicates; -1: descriptors number from 0 */
};

/* ---------------------------------------------------------------------- */
/* files, names, directories                                             */
/* ---------------------------------------------------------------------- */

static int mf_grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    size_t n = *cap ? *cap : 8;
    void *p;

    if (need <= *cap)
        return 0;
    while (n < need)
        n *= 2;
    if ((p = realloc(*arr, n * elem)) == NULL)
        return ENOMEM;
    *arr = p;
    *cap = n;
    return 0;
}

/* Drop one reference to f; the last frees it. */
static void mf_file_put(mf_file *f)
{
    if (--f->refs > 0)
        return;
    free(f->data);
    free(f);
}

static mf_name *mf_lookup(memfs *m, const char *path)
{
    for (size_t i = 0; i < m->nnames; i++)
        if (strcmp(m->names[i].path, path) == 0)
            return &m->names[i];
    return NULL;
}

/* The length of dir's first len bytes without their trailing slashes (a
 * lone "/" stays). */
static size_t mf_dir_len(const char *dir, size_t len)
{
    while (len > 1 && dir[len - 1] == '/')
        len--;
    return len;
}

static int mf_is_dir(const memfs *m, const char *path, size_t len)
{
    for (size_t i = 0; i < m->ndirs; i++)
        if (strlen(m->dirs[i]) == len && memcmp(m->dirs[i], path, len) == 0)
            return 1;
    return 0;
}

/* Whether path's parent directory exists. */
static int mf_parent_exists(const memfs *m, const char *path)
{
    const char *slash = strrchr(path, '/');

    return slash != NULL &&
           mf_is_dir(m, path, mf_dir_len(path, (size_t)(slash - path)));
}

static int mf_name_add(memfs *m, const char *path, mf_file *f)
{
    char *p = strdup(path);

    if (p == NULL || mf_grow((void **)&m->names, &m->capnames, m->nnames + 1,
                             sizeof(*m->names)) != 0) {
        free(p);
        return ENOMEM;
    }
    m->names[m->nnames].path = p;
    m->names[m->nnames].f = f;
    m->nnames++;
    f->refs++;
    return 0;
}

static void mf_name_remove(memfs *m, mf_name *n)
{
    mf_file *f = n->f;

    free(n->path);
    *n = m->names[--m->nnames];
    mf_file_put(f);
}

/* A new empty file named path (which names nothing). */
static int mf_file_create(memfs *m, const char *path, mf_file **out)
{
    mf_file *f = calloc(1, sizeof(*f));
    int rc;

    if (f == NULL)
        return ENOMEM;
    if ((rc = mf_name_add(m, path, f)) != 0) {
        free(f);
        return rc;
    }
    *out = f;
    return 0;
}

static int mf_file_reserve(mf_file *f, uint64_t need)
{
    uint64_t n = f->cap ? f->cap : 4096;
    uint8_t *p;

    if (need <= f->cap)
        return 0;
    while (n < need)
        n *= 2;
    if ((p = realloc(f->data, (size_t)n)) == NULL)
        return ENOMEM;
    f->data = p;
    f->cap = n;
    return 0;
}

/* Set f's length; what it grows by reads as zeros. */
static int mf_file_resize(const memfs *m, mf_file *f, uint64_t len)
{
    int rc;

    if (len > m->max_file)
        return EFBIG;
    if (len > f->len) {
        if ((rc = mf_file_reserve(f, len)) != 0)
            return rc;
        memset(f->data + f->len, 0, (size_t)(len - f->len));
    }
    f->len = len;
    return 0;
}

static mf_fd *mf_fd_get(memfs *m, int fd)
{
    if (fd < 0 || (size_t)fd >= m->nfds || m->fds[fd].f == NULL)
        return NULL;
    return &m->fds[fd];
}

/* Free descriptor d (its slot, and with memfs_real_fds the system's
 * descriptor under its number). */
static void mf_fd_free(memfs *m, mf_fd *d)
{
    d->f = NULL;
    if (m->null_fd >= 0)
        close((int)(d - m->fds));
}

static int mf_fd_new(memfs *m, mf_file *f, int rdwr, int lock, int *fd)
{
    size_t i;

    if (m->null_fd >= 0) {
        /* the number the system gives a duplicate of /dev/null */
        int k = fcntl(m->null_fd, F_DUPFD_CLOEXEC, 0);
        if (k < 0)
            return errno;
        i = (size_t)k;
    } else {
        for (i = 0; i < m->nfds && m->fds[i].f != NULL; i++)
            ;
    }
    if (i >= m->nfds) {
        size_t cap = m->nfds;
        if (mf_grow((void **)&m->fds, &cap, i + 1, sizeof(*m->fds)) != 0) {
            if (m->null_fd >= 0)
                close((int)i);
            return ENOMEM;
        }
        memset(m->fds + m->nfds, 0, (cap - m->nfds) * sizeof(*m->fds));
        m->nfds = cap;
    }
    m->fds[i].f = f;
    m->fds[i].rdwr = rdwr;
    m->fds[i].lock = lock;
    f->refs++;
    *fd = (int)i;
    return 0;
}

/* Find or create path's file (open's and lock's common part). */
static int mf_open_file(memfs *m, const char *path, int flags, mf_file **out)
{
    mf_name *n = mf_lookup(m, path);
    mf_file *f;
    int rc;

    if (n != NULL) {
        if ((flags & CL_IO_CREATE) && (flags & CL_IO_EXCL))
            return EEXIST;
        *out = n->f;
        return 0;
    }
    if (mf_is_dir(m, path, strlen(path)))
        return EISDIR;
    if (!(flags & CL_IO_CREATE) || !mf_parent_exists(m, path))
        return ENOENT;
    if ((rc = mf_file_create(m, path, &f)) != 0)
        return rc;
    *out = f;
    return 0;
}

/* ---------------------------------------------------------------------- */
/* the table                                                              */
/* ---------------------------------------------------------------------- */

#define MF_LOCKED(m, expr)                                                     \
    do {                                                                       \
        int rc_;                                                               \
        pthread_mutex_lock(&(m)->mu);                                          \
        rc_ = (expr);                                                          \
        pthread_mutex_unlock(&(m)->mu);                                        \
        return rc_;                                                            \
    } while (0)

static int mf_open_l(memfs *m, const char *path, int flags, int *fd)
{
    mf_file *f;
    int rc = mf_open_file(m, path, flags, &f);

    return rc != 0 ? rc : mf_fd_new(m, f, (flags & CL_IO_RDWR) != 0, 0, fd);
}

static int mf_open(void *ctx, const char *path, int flags, int *fd)
{
    MF_LOCKED((memfs *)ctx, mf_open_l(ctx, path, flags, fd));
}

static int mf_close_l(memfs *m, int fd)
{
    mf_fd *d = mf_fd_get(m, fd);
    mf_file *f;

    if (d == NULL)
        return EBADF;
    f = d->f;
    if (d->lock)
        f->locked = 0;
    mf_fd_free(m, d);
    mf_file_put(f);
    return 0;
}

static int mf_close(void *ctx, int fd)
{
    MF_LOCKED((memfs *)ctx, mf_close_l(ctx, fd));
}

static int mf_pread_l(memfs *m, int fd, void *buf, size_t len, uint64_t off,
                      size_t *nread)
{
    mf_fd *d = mf_fd_get(m, fd);
    uint64_t n = 0;

    if (d == NULL)
        return EBADF;
    if (off < d->f->len) {
        n = d->f->len - off;
        if (n > len)
            n = len;
        memcpy(buf, d->f->data + off, (size_t)n);
    }
    *nread = (size_t)n;
    return 0;
}

static int mf_pread(void *ctx, int fd, void *buf, size_t len, uint64_t off,
                    size_t *nread)
{
    MF_LOCKED((memfs *)ctx, mf_pread_l(ctx, fd, buf, len, off, nread));
}

static int mf_pwrite_l(memfs *m, int fd, const void *buf, size_t len,
                       uint64_t off)
{
    mf_fd *d = mf_fd_get(m, fd);
    int rc;

    if (d == NULL || !d->rdwr)
        return EBADF;
    if (len == 0)
        return 0;
    if (off > m->max_file || len > m->max_file - off)
        return EFBIG;
    if (off + len > d->f->len && (rc = mf_file_resize(m, d->f, off + len)) != 0)
        return rc;
    memcpy(d->f->data + off, buf, len);
    return 0;
}

static int mf_pwrite(void *ctx, int fd, const void *buf, size_t len,
                     uint64_t off)
{
    MF_LOCKED((memfs *)ctx, mf_pwrite_l(ctx, fd, buf, len, off));
}

static int mf_sync_l(memfs *m, int fd)
{
    return mf_fd_get(m, fd) != NULL ? 0 : EBADF;
}

static int mf_fsync(void *ctx, int fd)
{
    MF_LOCKED((memfs *)ctx, mf_sync_l(ctx, fd));
}

static int mf_ftruncate_l(memfs *m, int fd, uint64_t len)
{
    mf_fd *d = mf_fd_get(m, fd);

    if (d == NULL)
        return EBADF;
    if (!d->rdwr)
        return EINVAL;
    return mf_file_resize(m, d->f, len);
}

static int mf_ftruncate(void *ctx, int fd, uint64_t len)
{
    MF_LOCKED((memfs *)ctx, mf_ftruncate_l(ctx, fd, len));
}

static int mf_filesize_l(memfs *m, int fd, uint64_t *size)
{
    mf_fd *d = mf_fd_get(m, fd);

    if (d == NULL)
        return EBADF;
    *size = d->f->len;
    return 0;
}

static int mf_filesize(void *ctx, int fd, uint64_t *size)
{
    MF_LOCKED((memfs *)ctx, mf_filesize_l(ctx, fd, size));
}

static int mf_rename_l(memfs *m, const char *from, const char *to)
{
    mf_name *src = mf_lookup(m, from), *dst;
    char *p;

    if (src == NULL) /* directories are not renamed here */
        return mf_is_dir(m, from, strlen(from)) ? ENOTSUP : ENOENT;
    if (mf_is_dir(m, to, strlen(to)))
        return EISDIR;
    if (!mf_parent_exists(m, to))
        return ENOENT;
    if (strcmp(from, to) == 0)
        return 0;
    if ((p = strdup(to)) == NULL)
        return ENOMEM;
    if ((dst = mf_lookup(m, to)) != NULL) {
        /* removing dst moves the last name into its slot */
        size_t si = (size_t)(src - m->names);
        size_t last = m->nnames - 1;
        mf_name_remove(m, dst);
        if (si == last)
            src = dst;
    }
    free(src->path);
    src->path = p;
    return 0;
}

static int mf_rename(void *ctx, const char *from, const char *to)
{
    MF_LOCKED((memfs *)ctx, mf_rename_l(ctx, from, to));
}

static int mf_unlink_l(memfs *m, const char *path)
{
    mf_name *n = mf_lookup(m, path);

    if (n == NULL)
        return mf_is_dir(m, path, strlen(path)) ? EISDIR : ENOENT;
    mf_name_remove(m, n);
    return 0;
}

static int mf_unlink(void *ctx, const char *path)
{
    MF_LOCKED((memfs *)ctx, mf_unlink_l(ctx, path));
}

static int mf_mkdir_l(memfs *m, const char *path)
{
    size_t len = mf_dir_len(path, strlen(path));
    char *p;

    if (mf_is_dir(m, path, len) || mf_lookup(m, path) != NULL)
        return EEXIST;
    if ((p = strndup(path, len)) == NULL ||
        mf_grow((void **)&m->dirs, &m->capdirs, m->ndirs + 1,
                sizeof(*m->dirs)) != 0) {
        free(p);
        return ENOMEM;
    }
    m->dirs[m->ndirs++] = p;
    return 0;
}

static int mf_mkdir(void *ctx, const char *path)
{
    MF_LOCKED((memfs *)ctx, mf_mkdir_l(ctx, path));
}

static int mf_dirsync_l(memfs *m, const char *dir)
{
    if (mf_is_dir(m, dir, mf_dir_len(dir, strlen(dir))))
        return 0;
    return mf_lookup(m, dir) != NULL ? ENOTDIR : ENOENT;
}

static int mf_dirsync(void *ctx, const char *dir)
{
    MF_LOCKED((memfs *)ctx, mf_dirsync_l(ctx, dir));
}

static int mf_lock_l(memfs *m, const char *path, int *fd)
{
    mf_file *f;
    int rc = mf_open_file(m, path, CL_IO_CREATE, &f);

    if (rc != 0)
        return rc;
    if (f->locked)
        return EWOULDBLOCK;
    if ((rc = mf_fd_new(m, f, 1, 1, fd)) != 0)
        return rc;
    f->locked = 1;
    return 0;
}

static int mf_lock(void *ctx, const char *path, int *fd)
{
    MF_LOCKED((memfs *)ctx, mf_lock_l(ctx, path, fd));
}

/* ---------------------------------------------------------------------- */
/* the file system                                                        */
/* ---------------------------------------------------------------------- */

memfs *memfs_new(uint64_t max_file)
{
    memfs *m = calloc(1, sizeof(*m));

    if (m == NULL)
        return NULL;
    pthread_mutex_init(&m->mu, NULL);
    m->max_file = max_file;
    m->null_fd = -1;
    m->io.ctx = m;
    m->io.open = mf_open;
    m->io.close = mf_close;
    m->io.pread = mf_pread;
    m->io.pwrite = mf_pwrite;
    m->io.fsync = mf_fsync;
    m->io.fdatasync = mf_fsync;
    m->io.ftruncate = mf_ftruncate;
    m->io.filesize = mf_filesize;
    m->io.rename = mf_rename;
    m->io.unlink = mf_unlink;
    m->io.mkdir = mf_mkdir;
    m->io.dirsync = mf_dirsync;
    m->io.lock = mf_lock;
    m->io.unlock = mf_close;
    m->io.activity = NULL;
    return m;
}

void memfs_reset(memfs *m)
{
    for (size_t i = 0; i < m->nfds; i++)
        if (m->fds[i].f != NULL) {
            mf_file_put(m->fds[i].f);
            mf_fd_free(m, &m->fds[i]);
        }
    while (m->nnames > 0)
        mf_name_remove(m, &m->names[m->nnames - 1]);
    for (size_t i = 0; i < m->ndirs; i++)
        free(m->dirs[i]);
    m->ndirs = 0;
}

void memfs_free(memfs *m)
{
    if (m == NULL)
        return;
    memfs_reset(m);
    if (m->null_fd >= 0)
        close(m->null_fd);
    free(m->names);
    free(m->dirs);
    free(m->fds);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

int memfs_real_fds(memfs *m)
{
    int rc = 0;

    pthread_mutex_lock(&m->mu);
    if (m->nfds > 0)
        rc = EBUSY;
    else if (m->null_fd < 0 &&
             (m->null_fd = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
        rc = errno;
    pthread_mutex_unlock(&m->mu);
    return rc;
}

const cl_io *memfs_table(memfs *m)
{
    return &m->io;
}

/* Copy the regular file at path (open as fd) into a new file named path,
 * if *budget bytes hold it (what it takes is taken off). */
static int mf_load_file(memfs *m, const char *path, int fd, uint64_t *budget)
{
    struct stat st;
    mf_file *f;
    uint64_t done = 0;
    int rc;

    if (fstat(fd, &st) != 0)
        return errno;
    if (!S_ISREG(st.st_mode))
        return 0;
    if ((uint64_t)st.st_size > *budget || (uint64_t)st.st_size > m->max_file)
        return EFBIG;
    if ((rc = mf_file_create(m, path, &f)) != 0)
        return rc;
    if ((rc = mf_file_reserve(f, (uint64_t)st.st_size)) != 0)
        return rc;
    /* read to the end, whatever the size said: a read past the buffer
     * goes to tail first, so that a file of the size it had costs no
     * larger buffer */
    for (;;) {
        uint8_t tail[512];
        int in_tail = done == f->cap;
        ssize_t n = in_tail ? pread(fd, tail, sizeof(tail), (off_t)done)
                            : pread(fd, f->data + done, (size_t)(f->cap - done),
                                    (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno;
        if (n == 0)
            break;
        if (in_tail) {
            if (done + (uint64_t)n > *budget ||
                done + (uint64_t)n > m->max_file)
                return EFBIG;
            if ((rc = mf_file_reserve(f, done + (uint64_t)n)) != 0)
                return rc;
            memcpy(f->data + done, tail, (size_t)n);
        }
        done += (uint64_t)n;
    }
    f->len = done;
    *budget -= done;
    return 0;
}

/* Make the directories above path, from the top, that the file system
 * lacks; with on_disk, only those that are directories on disk. */
static int mf_make_parents(memfs *m, const char *path, int on_disk)
{
    const char *slash = strrchr(path, '/');
    size_t len = slash != NULL ? (size_t)(slash - path) : 0;
    char dir[4096];
    struct stat st;
    int rc;

    if (len >= sizeof(dir))
        return ENAMETOOLONG;
    for (size_t i = 1; i <= len; i++) {
        if ((i < len && path[i] != '/') || path[i - 1] == '/' ||
            mf_is_dir(m, path, i))
            continue;
        memcpy(dir, path, i);
        dir[i] = '\0';
        if (on_disk && (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)))
            continue;
        if ((rc = mf_mkdir_l(m, dir)) != 0)
            return rc;
    }
    return 0;
}

static int mf_load(memfs *m, const char *dir, uint64_t budget)
{
    DIR *d;
    struct dirent *e;
    char path[4096];
    int rc;

    if ((d = opendir(dir)) == NULL) {
        if (errno != ENOENT)
            return errno;
        return mf_make_parents(m, dir, 1); /* as the engine would find it */
    }
    if ((rc = mf_make_parents(m, dir, 0)) != 0 ||
        (rc = mf_mkdir_l(m, dir)) != 0) {
        closedir(d);
        return rc;
    }
    rc = 0;
    while (rc == 0 && (errno = 0, e = readdir(d)) != NULL) {
        int fd;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (e->d_type != DT_REG && e->d_type != DT_UNKNOWN)
            continue;
        if ((rc = fs_join(path, sizeof(path), dir, e->d_name)) != 0)
            break;
        if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
            rc = errno;
            break;
        }
        rc = mf_load_file(m, path, fd, &budget);
        close(fd);
    }
    if (rc == 0 && e == NULL && errno != 0)
        rc = errno;
    closedir(d);
    return rc;
}

int memfs_make_parents(memfs *m, const char *path)
{
    int rc;

    pthread_mutex_lock(&m->mu);
    rc = mf_make_parents(m, path, 1);
    pthread_mutex_unlock(&m->mu);
    return rc;
}

int memfs_load(memfs *m, const char *dir, uint64_t max_bytes)
{
    int rc;

    pthread_mutex_lock(&m->mu);
    memfs_reset(m);
    if ((rc = mf_load(m, dir, max_bytes)) != 0)
        memfs_reset(m);
    pthread_mutex_unlock(&m->mu);
    return rc;
}

/* Write f's bytes to path, replacing what was there. */
static int mf_store_file(const char *path, const mf_file *f)
{
    uint64_t done = 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int rc = 0;

    if (fd < 0)
        return errno;
    while (done < f->len) {
        ssize_t n =
            pwrite(fd, f->data + done, (size_t)(f->len - done), (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = n < 0 ? errno : ENOSPC;
            break;
        }
        done += (uint64_t)n;
    }
    if (close(fd) != 0 && rc == 0)
        rc = errno;
    return rc;
}

static int mf_name_order(const void *a, const void *b)
{
    return strcmp((*(const mf_name *const *)a)->path,
                  (*(const mf_name *const *)b)->path);
}

/* Write the files m has directly under dir to the same names under dest
 * (made if missing), by name. */
static int mf_store(memfs *m, const char *dir, const char *dest)
{
    size_t dlen = mf_dir_len(dir, strlen(dir)), n = 0;
    const mf_name **sel;
    char path[4096];
    int rc = 0;

    if (!mf_is_dir(m, dir, dlen))
        return 0; /* never made: the directory is as it was */
    if (mkdir(dest, 0755) != 0 && errno != EEXIST)
        return errno;
    if ((sel = malloc((m->nnames + 1) * sizeof(*sel))) == NULL)
        return ENOMEM;
    for (size_t i = 0; i < m->nnames; i++) {
        const char *p = m->names[i].path;
        if (strncmp(p, dir, dlen) == 0 && p[dlen] == '/' &&
            strchr(p + dlen + 1, '/') == NULL)
            sel[n++] = &m->names[i];
    }
    qsort(sel, n, sizeof(*sel), mf_name_order);
    for (size_t i = 0; i < n && rc == 0; i++)
        if ((rc = fs_join(path, sizeof(path), dest, sel[i]->path + dlen + 1)) ==
            0)
            rc = mf_store_file(path, sel[i]->f);
    free(sel);
    return rc;
}

int memfs_store_at(memfs *m, const char *dir, const char *dest)
{
    int rc;

    pthread_mutex_lock(&m->mu);
    rc = mf_store(m, dir, dest);
    pthread_mutex_unlock(&m->mu);
    return rc;
}

/* dst (reset) gets a copy of src's directories and named files. */
static int mf_copy(memfs *dst, memfs *src)
{
    int rc;

    for (size_t i = 0; i < src->ndirs; i++)
        if ((rc = mf_mkdir_l(dst, src->dirs[i])) != 0)
            return rc;
    for (size_t i = 0; i < src->nnames; i++) {
        const mf_file *from = src->names[i].f;
        mf_file *f;
        if ((rc = mf_file_create(dst, src->names[i].path, &f)) != 0 ||
            (rc = mf_file_reserve(f, from->len)) != 0)
            return rc;
        if (from->len > 0)
            memcpy(f->data, from->data, (size_t)from->len);
        f->len = from->len;
    }
    return 0;
}

int memfs_copy(memfs *dst, memfs *src)
{
    int rc;

    pthread_mutex_lock(&src->mu);
    pthread_mutex_lock(&dst->mu);
    memfs_reset(dst);
    if ((rc = mf_copy(dst, src)) != 0)
        memfs_reset(dst);
    pthread_mutex_unlock(&dst->mu);
    pthread_mutex_unlock(&src->mu);
    return rc;
}

static int mf_put(memfs *m, const char *path, const void *buf, size_t len)
{
    mf_name *n = mf_lookup(m, path);
    mf_file *f;
    int rc;

    if (n != NULL) {
        f = n->f;
    } else if ((rc = mf_make_parents(m, path, 0)) != 0 ||
               (rc = mf_file_create(m, path, &f)) != 0) {
        return rc;
    }
    f->len = 0;
    if ((rc = mf_file_resize(m, f, len)) != 0)
        return rc;
    if (len > 0)
        memcpy(f->data, buf, len);
    return 0;
}

int memfs_put(memfs *m, const char *path, const void *buf, size_t len)
{
    int rc;

    pthread_mutex_lock(&m->mu);
    rc = mf_put(m, path, buf, len);
    pthread_mutex_unlock(&m->mu);
    return rc;
}

const uint8_t *memfs_get(memfs *m, const char *path, size_t *len)
{
    const uint8_t *d = NULL;
    mf_name *n;

    pthread_mutex_lock(&m->mu);
    if ((n = mf_lookup(m, path)) != NULL) {
        d = n->f->data;
        *len = (size_t)n->f->len;
    }
    pthread_mutex_unlock(&m->mu);
    return d;
}
