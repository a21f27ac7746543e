/*
 * testutil.c - see testutil.h.
 */

#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

char *tu_tmpdir(const char *tag)
{
    const char *base = getenv("TMPDIR");
    struct stat st;
    char *path;

    if (base == NULL || base[0] == '\0')
        base = (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode)) ? "/dev/shm"
                                                                   : "/tmp";
    if (asprintf(&path, "%s/crashlab-%s-XXXXXX", base, tag ? tag : "t") < 0)
        abort();
    if (mkdtemp(path) == NULL) {
        perror("mkdtemp");
        abort();
    }
    return path;
}

const char *tu_path(const char *dir, const char *name)
{
    static char bufs[8][4096];
    static int next;
    char *b = bufs[next++ & 7];

    snprintf(b, sizeof(bufs[0]), "%s/%s", dir, name);
    return b;
}

int tu_write_at(const char *path, uint64_t off, const void *buf, size_t len)
{
    int fd = open(path, O_WRONLY);
    ssize_t n;

    if (fd < 0)
        return -1;
    n = pwrite(fd, buf, len, (off_t)off);
    close(fd);
    return n == (ssize_t)len ? 0 : -1;
}

int tu_read_at(const char *path, uint64_t off, void *buf, size_t len)
{
    int fd = open(path, O_RDONLY);
    ssize_t n;

    if (fd < 0)
        return -1;
    n = pread(fd, buf, len, (off_t)off);
    close(fd);
    return n == (ssize_t)len ? 0 : -1;
}

int tu_set_byte(const char *path, uint64_t off, uint8_t v)
{
    return tu_write_at(path, off, &v, 1);
}

int tu_flip_byte(const char *path, uint64_t off)
{
    uint8_t v;

    if (tu_read_at(path, off, &v, 1) != 0)
        return -1;
    v ^= 0xff;
    return tu_write_at(path, off, &v, 1);
}

int tu_truncate(const char *path, uint64_t len)
{
    return truncate(path, (off_t)len);
}

int64_t tu_file_size(const char *path)
{
    struct stat st;

    if (stat(path, &st) != 0)
        return -1;
    return (int64_t)st.st_size;
}

int tu_exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0;
}

static char tu_tree_diff[8192];

const char *tu_tree_why(void)
{
    return tu_tree_diff;
}

static int tu_name_filter(const struct dirent *e)
{
    return strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
}

int tu_tree_equal(const char *a, const char *b)
{
    struct dirent **la = NULL, **lb = NULL;
    int na = scandir(a, &la, tu_name_filter, alphasort);
    int nb = scandir(b, &lb, tu_name_filter, alphasort);
    int eq = na >= 0 && na == nb;

    if (!eq)
        snprintf(tu_tree_diff, sizeof(tu_tree_diff),
                 "%s has %d entries, %s has %d", a, na, b, nb);
    for (int i = 0; eq && i < na; i++) {
        char *pa, *pb;
        struct stat sa, sb;

        if (strcmp(la[i]->d_name, lb[i]->d_name) != 0) {
            snprintf(tu_tree_diff, sizeof(tu_tree_diff), "%s/%s vs %s/%s", a,
                     la[i]->d_name, b, lb[i]->d_name);
            eq = 0;
            break;
        }
        if (asprintf(&pa, "%s/%s", a, la[i]->d_name) < 0)
            abort();
        if (asprintf(&pb, "%s/%s", b, lb[i]->d_name) < 0)
            abort();
        if (lstat(pa, &sa) != 0 || lstat(pb, &sb) != 0 ||
            S_ISDIR(sa.st_mode) != S_ISDIR(sb.st_mode)) {
            snprintf(tu_tree_diff, sizeof(tu_tree_diff),
                     "%s and %s differ in type", pa, pb);
            eq = 0;
        } else if (S_ISDIR(sa.st_mode)) {
            eq = tu_tree_equal(pa, pb);
        } else {
            size_t lena = 0, lenb = 0;
            uint8_t *ca = tu_read_file(pa, &lena),
                    *cb = tu_read_file(pb, &lenb);
            if (ca == NULL || cb == NULL || lena != lenb ||
                memcmp(ca, cb, lena) != 0) {
                snprintf(tu_tree_diff, sizeof(tu_tree_diff),
                         "%s (%zu bytes) and %s (%zu) differ", pa, lena, pb,
                         lenb);
                eq = 0;
            }
            free(ca);
            free(cb);
        }
        free(pa);
        free(pb);
    }
    for (int i = 0; i < na; i++)
        free(la[i]);
    for (int i = 0; i < nb; i++)
        free(lb[i]);
    free(la);
    free(lb);
    return eq;
}

uint8_t *tu_read_file(const char *path, size_t *len)
{
    int64_t size = tu_file_size(path);
    uint8_t *buf;

    if (size < 0)
        return NULL;
    buf = malloc((size_t)size + 1);
    if (buf == NULL)
        return NULL;
    if (size > 0 && tu_read_at(path, 0, buf, (size_t)size) != 0) {
        free(buf);
        return NULL;
    }
    *len = (size_t)size;
    return buf;
}

pid_t tu_fork(void)
{
    pid_t pid;

    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        static const int sigs[] = {SIGSEGV, SIGABRT, SIGBUS, SIGILL, SIGFPE};
        for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
            signal(sigs[i], SIG_DFL);
    }
    return pid;
}

int tu_wait(pid_t pid)
{
    int st = 0;

    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return st;
}

#include <errno.h>

static int tu_fio_sync_common(tu_failio *f)
{
    uint64_t n = __atomic_add_fetch(&f->syncs, 1, __ATOMIC_SEQ_CST);

    if (f->sync_delay_us > 0)
        usleep(f->sync_delay_us);
    if (f->fail_sync_at != 0 &&
        (n == f->fail_sync_at || (f->fail_all_after && n > f->fail_sync_at))) {
        __atomic_add_fetch(&f->failed, 1, __ATOMIC_SEQ_CST);
        return f->fail_errno ? f->fail_errno : EIO;
    }
    return 0;
}

static int tu_fio_open(void *ctx, const char *path, int flags, int *fd)
{
    tu_failio *f = ctx;

    __atomic_add_fetch(&f->opens, 1, __ATOMIC_SEQ_CST);
    return cl_io_posix()->open(NULL, path, flags, fd);
}

static int tu_fio_close(void *ctx, int fd)
{
    (void)ctx;
    return cl_io_posix()->close(NULL, fd);
}

static int tu_fio_pread(void *ctx, int fd, void *buf, size_t len, uint64_t off,
                        size_t *nread)
{
    (void)ctx;
    return cl_io_posix()->pread(NULL, fd, buf, len, off, nread);
}

static int tu_is_zero(const void *buf, size_t len)
{
    const unsigned char *p = buf;

    for (size_t i = 0; i < len; i++)
        if (p[i] != 0)
            return 0;
    return 1;
}

static int tu_fio_pwrite(void *ctx, int fd, const void *buf, size_t len,
                         uint64_t off)
{
    tu_failio *f = ctx;
    uint64_t n = __atomic_add_fetch(&f->writes, 1, __ATOMIC_SEQ_CST);

    /* The target moves on to the next write while this one is not of the
     * kind asked for. */
    if ((f->fail_data || f->fail_zeros) && n == f->fail_write_at &&
        tu_is_zero(buf, len) == (f->fail_data != 0))
        f->fail_write_at++;
    if (f->fail_write_at != 0 &&
        (n == f->fail_write_at ||
         (f->fail_all_after && n > f->fail_write_at))) {
        __atomic_add_fetch(&f->failed, 1, __ATOMIC_SEQ_CST);
        if (f->fail_short && len / 2 > 0)
            cl_io_posix()->pwrite(NULL, fd, buf, len / 2, off);
        return f->fail_errno ? f->fail_errno : EIO;
    }
    return cl_io_posix()->pwrite(NULL, fd, buf, len, off);
}

static int tu_fio_fsync(void *ctx, int fd)
{
    int rc = tu_fio_sync_common(ctx);

    return rc ? rc : cl_io_posix()->fsync(NULL, fd);
}

static int tu_fio_fdatasync(void *ctx, int fd)
{
    int rc = tu_fio_sync_common(ctx);

    return rc ? rc : cl_io_posix()->fdatasync(NULL, fd);
}

static int tu_fio_ftruncate(void *ctx, int fd, uint64_t len)
{
    (void)ctx;
    return cl_io_posix()->ftruncate(NULL, fd, len);
}

static int tu_fio_filesize(void *ctx, int fd, uint64_t *size)
{
    (void)ctx;
    return cl_io_posix()->filesize(NULL, fd, size);
}

static int tu_fio_rename(void *ctx, const char *from, const char *to)
{
    tu_failio *f = ctx;

    __atomic_add_fetch(&f->renames, 1, __ATOMIC_SEQ_CST);
    return cl_io_posix()->rename(NULL, from, to);
}

static int tu_fio_unlink(void *ctx, const char *path)
{
    tu_failio *f = ctx;

    __atomic_add_fetch(&f->unlinks, 1, __ATOMIC_SEQ_CST);
    return cl_io_posix()->unlink(NULL, path);
}

static int tu_fio_mkdir(void *ctx, const char *path)
{
    (void)ctx;
    return cl_io_posix()->mkdir(NULL, path);
}

static int tu_fio_dirsync(void *ctx, const char *dir)
{
    tu_failio *f = ctx;

    __atomic_add_fetch(&f->dirsyncs, 1, __ATOMIC_SEQ_CST);
    return cl_io_posix()->dirsync(NULL, dir);
}

static int tu_fio_lock(void *ctx, const char *path, int *fd)
{
    (void)ctx;
    return cl_io_posix()->lock(NULL, path, fd);
}

static int tu_fio_unlock(void *ctx, int fd)
{
    (void)ctx;
    return cl_io_posix()->unlock(NULL, fd);
}

void tu_failio_init(tu_failio *f)
{
    memset(f, 0, sizeof(*f));
    f->io.ctx = f;
    f->io.open = tu_fio_open;
    f->io.close = tu_fio_close;
    f->io.pread = tu_fio_pread;
    f->io.pwrite = tu_fio_pwrite;
    f->io.fsync = tu_fio_fsync;
    f->io.fdatasync = tu_fio_fdatasync;
    f->io.ftruncate = tu_fio_ftruncate;
    f->io.filesize = tu_fio_filesize;
    f->io.rename = tu_fio_rename;
    f->io.unlink = tu_fio_unlink;
    f->io.mkdir = tu_fio_mkdir;
    f->io.dirsync = tu_fio_dirsync;
    f->io.lock = tu_fio_lock;
    f->io.unlock = tu_fio_unlock;
}
