/*
 * interpose_real.c - the C library underneath the interposer: every file
 * call the interposer makes goes through one of these functions, which
 * call the next definition of the name (the C library's, found with
 * dlsym(RTLD_NEXT)) and count it.  Also the core's inner table on them,
 * and the area file of the preload object.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "interpose_int.h"

_Thread_local ipr_pending_t ipr_pending;
interpose_result *ip_res;

/* The C library functions underneath, by the names they are looked up
 * by: each at its first call, or all at once (interpose_bind_now). */
#define IPR_NAMES(X)                                                           \
    X(OPENAT64, "openat64")                                                    \
    X(CLOSE, "close")                                                          \
    X(WRITE, "write")                                                          \
    X(PWRITE64, "pwrite64")                                                    \
    X(WRITEV, "writev")                                                        \
    X(PWRITEV64, "pwritev64")                                                  \
    X(PREAD64, "pread64")                                                      \
    X(LSEEK64, "lseek64")                                                      \
    X(FTRUNCATE64, "ftruncate64")                                              \
    X(TRUNCATE64, "truncate64")                                                \
    X(FALLOCATE64, "fallocate64")                                              \
    X(POSIX_FALLOCATE64, "posix_fallocate64")                                  \
    X(FSYNC, "fsync")                                                          \
    X(FDATASYNC, "fdatasync")                                                  \
    X(SYNC_FILE_RANGE, "sync_file_range")                                      \
    X(SYNCFS, "syncfs")                                                        \
    X(RENAMEAT2, "renameat2")                                                  \
    X(UNLINKAT, "unlinkat")                                                    \
    X(MKDIRAT, "mkdirat")                                                      \
    X(DUP, "dup")                                                              \
    X(DUP2, "dup2")                                                            \
    X(DUP3, "dup3")                                                            \
    X(FCNTL, "fcntl")                                                          \
    X(FORK, "fork")                                                            \
    X(MMAP64, "mmap64")                                                        \
    X(SYSCALL, "syscall")                                                      \
    X(FOPEN64, "fopen64")                                                      \
    X(FSTAT64, "fstat64")                                                      \
    X(FSTATAT64, "fstatat64")

enum {
#define IPR_ID(id, name) IPR_##id,
    IPR_NAMES(IPR_ID)
#undef IPR_ID
        IPR_N
};

static const char *const ipr_names[IPR_N] = {
#define IPR_NAME(id, name) [IPR_##id] = name,
    IPR_NAMES(IPR_NAME)
#undef IPR_NAME
};

/* Resolved once (a race only stores the same pointer twice). */
static void *ipr_fns[IPR_N];

/* The next definition of function i; the process cannot go on without
 * it. */
static void *ipr_next(int i)
{
    void *f = __atomic_load_n(&ipr_fns[i], __ATOMIC_RELAXED);

    if (f != NULL)
        return f;
    f = dlsym(RTLD_NEXT, ipr_names[i]);
    if (f == NULL) {
        static const char msg[] = "crashlab interposer: a C library "
                                  "function is missing\n";
        /* No stdio: it may come back here. */
        (void)!syscall(1, 2, msg, sizeof(msg) - 1);
        _exit(2);
    }
    __atomic_store_n(&ipr_fns[i], f, __ATOMIC_RELAXED);
    return f;
}

void interpose_bind_now(void)
{
    /* one the C library lacks (an older one) ends the process only if it
     * is called, as it would have without this */
    for (int i = 0; i < IPR_N; i++) {
        void *f = dlsym(RTLD_NEXT, ipr_names[i]);
        if (f != NULL)
            __atomic_store_n(&ipr_fns[i], f, __ATOMIC_RELAXED);
    }
}

/* f: function id's definition (resolved if not yet); count, call. */
#define IPR_FN(var, type, id, call)                                            \
    __typeof__(type) var;                                                      \
    *(void **)&var = ipr_next(IPR_##id);                                       \
    if (ip_res != NULL && (int)(call) >= 0)                                    \
    atomic_fetch_add(&ip_res->real[call], 1)

int ipr_openat(int dirfd, const char *path, int flags, mode_t mode)
{
    IPR_FN(f, int (*)(int, const char *, int, ...), OPENAT64, IP_OPEN);
    return f(dirfd, path, flags, mode);
}

int ipr_close(int fd)
{
    IPR_FN(f, int (*)(int), CLOSE, IP_CLOSE);
    return f(fd);
}

ssize_t ipr_write(int fd, const void *buf, size_t n)
{
    IPR_FN(f, ssize_t(*)(int, const void *, size_t), WRITE, IP_WRITE);
    return f(fd, buf, n);
}

ssize_t ipr_pwrite(int fd, const void *buf, size_t n, off_t off)
{
    IPR_FN(f, ssize_t(*)(int, const void *, size_t, off_t), PWRITE64,
           IP_PWRITE);
    return f(fd, buf, n, off);
}

ssize_t ipr_writev(int fd, const struct iovec *iov, int n)
{
    IPR_FN(f, ssize_t(*)(int, const struct iovec *, int), WRITEV, IP_WRITEV);
    return f(fd, iov, n);
}

ssize_t ipr_pwritev(int fd, const struct iovec *iov, int n, off_t off)
{
    IPR_FN(f, ssize_t(*)(int, const struct iovec *, int, off_t), PWRITEV64,
           IP_PWRITEV);
    return f(fd, iov, n, off);
}

ssize_t ipr_pread(int fd, void *buf, size_t n, off_t off)
{
    IPR_FN(f, ssize_t(*)(int, void *, size_t, off_t), PREAD64, -1);
    return f(fd, buf, n, off);
}

off_t ipr_lseek(int fd, off_t off, int whence)
{
    IPR_FN(f, off_t(*)(int, off_t, int), LSEEK64, IP_LSEEK);
    return f(fd, off, whence);
}

int ipr_ftruncate(int fd, off_t len)
{
    IPR_FN(f, int (*)(int, off_t), FTRUNCATE64, IP_FTRUNCATE);
    return f(fd, len);
}

int ipr_truncate(const char *path, off_t len)
{
    IPR_FN(f, int (*)(const char *, off_t), TRUNCATE64, IP_FTRUNCATE);
    return f(path, len);
}

int ipr_fallocate(int fd, int mode, off_t off, off_t len)
{
    IPR_FN(f, int (*)(int, int, off_t, off_t), FALLOCATE64, IP_FALLOCATE);
    return f(fd, mode, off, len);
}

int ipr_posix_fallocate(int fd, off_t off, off_t len)
{
    IPR_FN(f, int (*)(int, off_t, off_t), POSIX_FALLOCATE64, IP_FALLOCATE);
    return f(fd, off, len);
}

int ipr_fsync(int fd)
{
    IPR_FN(f, int (*)(int), FSYNC, IP_FSYNC);
    return f(fd);
}

int ipr_fdatasync(int fd)
{
    IPR_FN(f, int (*)(int), FDATASYNC, IP_FDATASYNC);
    return f(fd);
}

int ipr_sync_file_range(int fd, off_t off, off_t n, unsigned flags)
{
    IPR_FN(f, int (*)(int, off_t, off_t, unsigned), SYNC_FILE_RANGE,
           IP_SYNC_FILE_RANGE);
    return f(fd, off, n, flags);
}

int ipr_syncfs(int fd)
{
    IPR_FN(f, int (*)(int), SYNCFS, IP_SYNCFS);
    return f(fd);
}

int ipr_renameat2(int olddir, const char *from, int newdir, const char *to,
                  unsigned flags)
{
    IPR_FN(f, int (*)(int, const char *, int, const char *, unsigned),
           RENAMEAT2, IP_RENAME);
    return f(olddir, from, newdir, to, flags);
}

int ipr_unlinkat(int dirfd, const char *path, int flags)
{
    IPR_FN(f, int (*)(int, const char *, int), UNLINKAT,
           (flags & AT_REMOVEDIR) ? IP_RMDIR : IP_UNLINK);
    return f(dirfd, path, flags);
}

int ipr_mkdirat(int dirfd, const char *path, mode_t mode)
{
    IPR_FN(f, int (*)(int, const char *, mode_t), MKDIRAT, IP_MKDIR);
    return f(dirfd, path, mode);
}

int ipr_dup(int fd)
{
    IPR_FN(f, int (*)(int), DUP, IP_DUP);
    return f(fd);
}

int ipr_dup3(int fd, int fd2, int flags)
{
    if (flags < 0) {
        IPR_FN(f, int (*)(int, int), DUP2, IP_DUP);
        return f(fd, fd2);
    }
    IPR_FN(g, int (*)(int, int, int), DUP3, IP_DUP);
    return g(fd, fd2, flags);
}

int ipr_fcntl(int fd, int cmd, void *arg)
{
    IPR_FN(f, int (*)(int, int, ...), FCNTL, IP_FCNTL);
    return f(fd, cmd, arg);
}

pid_t ipr_fork(void)
{
    IPR_FN(f, pid_t(*)(void), FORK, IP_FORK);
    return f();
}

void *ipr_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    IPR_FN(f, void *(*)(void *, size_t, int, int, int, off_t), MMAP64, IP_MMAP);
    return f(addr, len, prot, flags, fd, off);
}

long ipr_syscall(long nr, long a, long b, long c, long d, long e, long f6)
{
    IPR_FN(f, long (*)(long, ...), SYSCALL, -1);
    return f(nr, a, b, c, d, e, f6);
}

FILE *ipr_fopen(const char *path, const char *mode)
{
    IPR_FN(f, FILE * (*)(const char *, const char *), FOPEN64, -1);
    return f(path, mode);
}

int ipr_fstat(int fd, struct stat *st)
{
    IPR_FN(f, int (*)(int, struct stat *), FSTAT64, -1);
    return f(fd, st);
}

int ipr_fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
    IPR_FN(f, int (*)(int, const char *, struct stat *, int), FSTATAT64, -1);
    return f(dirfd, path, st, flags);
}

/* ---- the core's inner table ---- */

static int ipr_err(void)
{
    return errno != 0 ? errno : EIO;
}

static int ipr_t_open(void *ctx, const char *path, int flags, int *fd)
{
    int f = O_CLOEXEC, fl;
    mode_t mode = 0644;

    (void)ctx;
    if (ipr_pending.set) {
        f = ipr_pending.flags;
        mode = ipr_pending.mode;
        if ((f & O_ACCMODE) == O_RDONLY && (flags & CL_IO_RDWR))
            f = (f & ~O_ACCMODE) | O_RDWR;
    } else if (flags & CL_IO_RDWR) {
        f |= O_RDWR;
    }
    if (flags & CL_IO_CREATE)
        f |= O_CREAT;
    if (flags & CL_IO_EXCL)
        f |= O_EXCL;
    if ((fl = ipr_openat(AT_FDCWD, path, f, mode)) < 0)
        return ipr_err();
    *fd = fl;
    return 0;
}

static int ipr_t_close(void *ctx, int fd)
{
    (void)ctx;
    return ipr_close(fd) == 0 ? 0 : ipr_err();
}

/* A second descriptor of fd's file opened with oflags, for what fd's own
 * flags forbid (reading a write-only file, writing at an offset of an
 * O_APPEND one, unaligned bytes of an O_DIRECT one). */
static int ipr_side(int fd, int oflags)
{
    char p[64];

    snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
    return ipr_openat(AT_FDCWD, p, oflags | O_CLOEXEC, 0);
}

/* fd's access mode, O_APPEND and O_DIRECT: from the descriptor table for
 * a descriptor of the program (no system call: the crash core reads and
 * writes through here for every write the program makes), else F_GETFL. */
static int ipr_flags(int fd)
{
    int fl = ip_fd_flags(fd);

    return fl >= 0 ? fl : ipr_fcntl(fd, F_GETFL, NULL);
}

static int ipr_t_pread(void *ctx, int fd, void *buf, size_t len, uint64_t off,
                       size_t *nread)
{
    int fl = ipr_flags(fd), use = fd, rc = 0;
    size_t got = 0;

    (void)ctx;
    if (fl < 0)
        return ipr_err();
    if ((fl & O_ACCMODE) == O_WRONLY || (fl & O_DIRECT)) {
        if ((use = ipr_side(fd, O_RDONLY)) < 0)
            return ipr_err();
    }
    while (got < len) {
        ssize_t n =
            ipr_pread(use, (char *)buf + got, len - got, (off_t)(off + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = ipr_err();
            break;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    if (use != fd)
        ipr_close(use);
    *nread = got;
    return rc;
}

static int ipr_t_filesize(void *ctx, int fd, uint64_t *size)
{
    struct stat st;

    (void)ctx;
    if (ipr_fstat(fd, &st) != 0)
        return ipr_err();
    *size = (uint64_t)st.st_size;
    return 0;
}

static int ipr_t_pwrite(void *ctx, int fd, const void *buf, size_t len,
                        uint64_t off)
{
    int fl = ipr_flags(fd), use = fd, rc = 0;
    size_t done = 0;

    if (fl < 0)
        return ipr_err();
    if (fl & (O_APPEND | O_DIRECT)) {
        /* Linux appends a pwrite on an O_APPEND descriptor wherever off
         * says: only a write at the end may use it.  O_DIRECT wants
         * aligned buffers, which a torn write's pieces are not. */
        uint64_t size = 0;
        if ((fl & O_DIRECT) || ipr_t_filesize(ctx, fd, &size) != 0 ||
            size != off)
            if ((use = ipr_side(fd, O_WRONLY)) < 0)
                return ipr_err();
    }
    while (done < len) {
        ssize_t n = ipr_pwrite(use, (const char *)buf + done, len - done,
                               (off_t)(off + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = n < 0 ? ipr_err() : EIO;
            break;
        }
        done += (size_t)n;
    }
    if (use != fd)
        ipr_close(use);
    return rc;
}

static int ipr_t_fsync(void *ctx, int fd)
{
    (void)ctx;
    return ipr_fsync(fd) == 0 ? 0 : ipr_err();
}

static int ipr_t_fdatasync(void *ctx, int fd)
{
    (void)ctx;
    return ipr_fdatasync(fd) == 0 ? 0 : ipr_err();
}

static int ipr_t_ftruncate(void *ctx, int fd, uint64_t len)
{
    (void)ctx;
    return ipr_ftruncate(fd, (off_t)len) == 0 ? 0 : ipr_err();
}

static int ipr_t_rename(void *ctx, const char *from, const char *to)
{
    (void)ctx;
    return ipr_renameat2(AT_FDCWD, from, AT_FDCWD, to, 0) == 0 ? 0 : ipr_err();
}

static int ipr_t_unlink(void *ctx, const char *path)
{
    (void)ctx;
    return ipr_unlinkat(AT_FDCWD, path, ipr_pending.rmdir ? AT_REMOVEDIR : 0) ==
                   0
               ? 0
               : ipr_err();
}

static int ipr_t_mkdir(void *ctx, const char *path)
{
    (void)ctx;
    return ipr_mkdirat(AT_FDCWD, path,
                       ipr_pending.set ? ipr_pending.mode : 0755) == 0
               ? 0
               : ipr_err();
}

static int ipr_t_dirsync(void *ctx, const char *dir)
{
    int fd = ipr_openat(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0),
        rc = 0;

    (void)ctx;
    if (fd < 0)
        return ipr_err();
    if (ipr_fsync(fd) != 0)
        rc = ipr_err();
    ipr_close(fd);
    return rc;
}

/* The core never locks; a table entry must exist all the same. */
static int ipr_t_lock(void *ctx, const char *path, int *fd)
{
    (void)ctx;
    (void)path;
    (void)fd;
    return ENOTSUP;
}

static int ipr_t_unlock(void *ctx, int fd)
{
    (void)ctx;
    (void)fd;
    return ENOTSUP;
}

const cl_io *ipr_table(void)
{
    static const cl_io t = {
        .open = ipr_t_open,
        .close = ipr_t_close,
        .pread = ipr_t_pread,
        .pwrite = ipr_t_pwrite,
        .fsync = ipr_t_fsync,
        .fdatasync = ipr_t_fdatasync,
        .ftruncate = ipr_t_ftruncate,
        .filesize = ipr_t_filesize,
        .rename = ipr_t_rename,
        .unlink = ipr_t_unlink,
        .mkdir = ipr_t_mkdir,
        .dirsync = ipr_t_dirsync,
        .lock = ipr_t_lock,
        .unlock = ipr_t_unlock,
    };
    return &t;
}

/* ---- the area file ---- */

size_t interpose_area_size(uint64_t trace_cap)
{
    size_t head = (sizeof(interpose_area) + 63) & ~(size_t)63;

    return head + crashio_shared_size(trace_cap);
}

crashio_shared *interpose_area_shared(interpose_area *a)
{
    size_t head = (sizeof(interpose_area) + 63) & ~(size_t)63;

    return (crashio_shared *)((char *)a + head);
}

int interpose_area_create(const char *path, const interpose_config *cfg,
                          uint64_t trace_cap, interpose_area **out)
{
    size_t size = interpose_area_size(trace_cap);
    int fd = ipr_openat(AT_FDCWD, path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
                        0600),
        rc = 0;
    interpose_area *a;

    if (fd < 0)
        return ipr_err();
    if (ipr_ftruncate(fd, (off_t)size) != 0) {
        rc = ipr_err();
        ipr_close(fd);
        return rc;
    }
    a = ipr_mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (a == MAP_FAILED)
        rc = ipr_err();
    ipr_close(fd);
    if (rc != 0)
        return rc;
    memset(a, 0, size);
    a->magic = IP_AREA_MAGIC;
    a->trace_cap = trace_cap;
    a->cfg = *cfg;
    crashio_shared_init(interpose_area_shared(a), trace_cap);
    *out = a;
    return 0;
}

void interpose_area_unmap(interpose_area *a)
{
    if (a != NULL)
        munmap(a, interpose_area_size(a->trace_cap));
}
