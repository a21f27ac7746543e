/*
 * interpose_calls.c - the C library's names that the interposer defines.
 * Each goes straight to the C library when the interposer is not started
 * or the call comes from inside it (ip_bypass), and to its handler in
 * interpose.c otherwise.  This object must never be linked by accident:
 * it is not in libcrashlab-faults.a, only in the preload object and in
 * the programs that link the interposer on purpose.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "interpose_int.h"

/* The mode argument of an open that may create. */
#define IP_MODE(flags, last)                                                   \
    mode_t mode = 0;                                                           \
    if ((flags) & (O_CREAT | __O_TMPFILE)) {                                   \
        va_list ap;                                                            \
        va_start(ap, last);                                                    \
        mode = (mode_t)va_arg(ap, int);                                        \
        va_end(ap);                                                            \
    }

static int ip_openat_any(int dirfd, const char *path, int flags, mode_t mode)
{
    if (ip_bypass())
        return ipr_openat(dirfd, path, flags, mode);
    return ip_open(dirfd, path, flags, mode);
}

int open(const char *path, int flags, ...)
{
    IP_MODE(flags, flags);
    return ip_openat_any(AT_FDCWD, path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
    IP_MODE(flags, flags);
    return ip_openat_any(AT_FDCWD, path, flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...)
{
    IP_MODE(flags, flags);
    return ip_openat_any(dirfd, path, flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...)
{
    IP_MODE(flags, flags);
    return ip_openat_any(dirfd, path, flags, mode);
}

int creat(const char *path, mode_t mode)
{
    return ip_openat_any(AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC, mode);
}

int creat64(const char *path, mode_t mode)
{
    return ip_openat_any(AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC, mode);
}

/* The fortified variants (_FORTIFY_SOURCE): no mode argument may be
 * needed, else the program would have called open itself. */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);

int __open_2(const char *path, int flags)
{
    return ip_openat_any(AT_FDCWD, path, flags, 0);
}

int __open64_2(const char *path, int flags)
{
    return ip_openat_any(AT_FDCWD, path, flags, 0);
}

int __openat_2(int dirfd, const char *path, int flags)
{
    return ip_openat_any(dirfd, path, flags, 0);
}

int __openat64_2(int dirfd, const char *path, int flags)
{
    return ip_openat_any(dirfd, path, flags, 0);
}

int close(int fd)
{
    return ip_bypass() ? ipr_close(fd) : ip_close(fd);
}

ssize_t write(int fd, const void *buf, size_t n)
{
    return ip_bypass() ? ipr_write(fd, buf, n) : ip_write(fd, buf, n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    return ip_bypass() ? ipr_pwrite(fd, buf, n, off)
                       : ip_pwrite(fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
    return ip_bypass() ? ipr_pwrite(fd, buf, n, off)
                       : ip_pwrite(fd, buf, n, off);
}

ssize_t writev(int fd, const struct iovec *iov, int n)
{
    return ip_bypass() ? ipr_writev(fd, iov, n) : ip_writev(fd, iov, n, 0, 0);
}

ssize_t pwritev(int fd, const struct iovec *iov, int n, off_t off)
{
    return ip_bypass() ? ipr_pwritev(fd, iov, n, off)
                       : ip_writev(fd, iov, n, 1, off);
}

ssize_t pwritev64(int fd, const struct iovec *iov, int n, off64_t off)
{
    return ip_bypass() ? ipr_pwritev(fd, iov, n, off)
                       : ip_writev(fd, iov, n, 1, off);
}

off_t lseek(int fd, off_t off, int whence)
{
    return ip_bypass() ? ipr_lseek(fd, off, whence) : ip_lseek(fd, off, whence);
}

off64_t lseek64(int fd, off64_t off, int whence)
{
    return ip_bypass() ? ipr_lseek(fd, off, whence) : ip_lseek(fd, off, whence);
}

int ftruncate(int fd, off_t len)
{
    return ip_bypass() ? ipr_ftruncate(fd, len) : ip_ftruncate(fd, len);
}

int ftruncate64(int fd, off64_t len)
{
    return ip_bypass() ? ipr_ftruncate(fd, len) : ip_ftruncate(fd, len);
}

int truncate(const char *path, off_t len)
{
    return ip_bypass() ? ipr_truncate(path, len) : ip_truncate(path, len);
}

int truncate64(const char *path, off64_t len)
{
    return ip_bypass() ? ipr_truncate(path, len) : ip_truncate(path, len);
}

int fallocate(int fd, int mode, off_t off, off_t len)
{
    return ip_bypass() ? ipr_fallocate(fd, mode, off, len)
                       : ip_fallocate(fd, mode, off, len, 0);
}

int fallocate64(int fd, int mode, off64_t off, off64_t len)
{
    return ip_bypass() ? ipr_fallocate(fd, mode, off, len)
                       : ip_fallocate(fd, mode, off, len, 0);
}

int posix_fallocate(int fd, off_t off, off_t len)
{
    return ip_bypass() ? ipr_posix_fallocate(fd, off, len)
                       : ip_fallocate(fd, 0, off, len, 1);
}

int posix_fallocate64(int fd, off64_t off, off64_t len)
{
    return ip_bypass() ? ipr_posix_fallocate(fd, off, len)
                       : ip_fallocate(fd, 0, off, len, 1);
}

int fsync(int fd)
{
    return ip_bypass() ? ipr_fsync(fd) : ip_sync(fd, 0);
}

int fdatasync(int fd)
{
    return ip_bypass() ? ipr_fdatasync(fd) : ip_sync(fd, 1);
}

int sync_file_range(int fd, off64_t off, off64_t n, unsigned flags)
{
    return ip_bypass() ? ipr_sync_file_range(fd, off, n, flags)
                       : ip_sync_file_range(fd, off, n, flags);
}

int syncfs(int fd)
{
    return ip_bypass() ? ipr_syncfs(fd) : ip_syncfs(fd);
}

int rename(const char *from, const char *to)
{
    return ip_bypass() ? ipr_renameat2(AT_FDCWD, from, AT_FDCWD, to, 0)
                       : ip_rename(AT_FDCWD, from, AT_FDCWD, to, 0);
}

int renameat(int olddir, const char *from, int newdir, const char *to)
{
    return ip_bypass() ? ipr_renameat2(olddir, from, newdir, to, 0)
                       : ip_rename(olddir, from, newdir, to, 0);
}

int renameat2(int olddir, const char *from, int newdir, const char *to,
              unsigned flags)
{
    return ip_bypass() ? ipr_renameat2(olddir, from, newdir, to, flags)
                       : ip_rename(olddir, from, newdir, to, flags);
}

int unlink(const char *path)
{
    return ip_bypass() ? ipr_unlinkat(AT_FDCWD, path, 0)
                       : ip_unlink(AT_FDCWD, path, 0);
}

int unlinkat(int dirfd, const char *path, int flags)
{
    return ip_bypass() ? ipr_unlinkat(dirfd, path, flags)
                       : ip_unlink(dirfd, path, flags);
}

int rmdir(const char *path)
{
    return ip_bypass() ? ipr_unlinkat(AT_FDCWD, path, AT_REMOVEDIR)
                       : ip_unlink(AT_FDCWD, path, AT_REMOVEDIR);
}

int mkdir(const char *path, mode_t mode)
{
    return ip_bypass() ? ipr_mkdirat(AT_FDCWD, path, mode)
                       : ip_mkdir(AT_FDCWD, path, mode);
}

int mkdirat(int dirfd, const char *path, mode_t mode)
{
    return ip_bypass() ? ipr_mkdirat(dirfd, path, mode)
                       : ip_mkdir(dirfd, path, mode);
}

int dup(int fd)
{
    return ip_bypass() ? ipr_dup(fd) : ip_dup(fd, -1, 0, 0);
}

int dup2(int fd, int fd2)
{
    return ip_bypass() ? ipr_dup3(fd, fd2, -1) : ip_dup(fd, fd2, 0, 2);
}

int dup3(int fd, int fd2, int flags)
{
    return ip_bypass() ? ipr_dup3(fd, fd2, flags) : ip_dup(fd, fd2, flags, 3);
}

/* Every fcntl argument fits a pointer's register: an int is passed on. */
#define IP_FCNTL_BODY                                                          \
    va_list ap;                                                                \
    void *arg;                                                                 \
    va_start(ap, cmd);                                                         \
    arg = va_arg(ap, void *);                                                  \
    va_end(ap);                                                                \
    return ip_bypass() ? ipr_fcntl(fd, cmd, arg) : ip_fcntl(fd, cmd, arg)

int fcntl(int fd, int cmd, ...)
{
    IP_FCNTL_BODY;
}

int fcntl64(int fd, int cmd, ...)
{
    IP_FCNTL_BODY;
}

pid_t fork(void)
{
    return ip_bypass() ? ipr_fork() : ip_fork();
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    return ip_bypass() ? ipr_mmap(addr, len, prot, flags, fd, off)
                       : ip_mmap(addr, len, prot, flags, fd, off);
}

void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off)
{
    return ip_bypass() ? ipr_mmap(addr, len, prot, flags, fd, off)
                       : ip_mmap(addr, len, prot, flags, fd, off);
}

long syscall(long nr, ...)
{
    va_list ap;
    long a, b, c, d, e, f;

    va_start(ap, nr);
    a = va_arg(ap, long);
    b = va_arg(ap, long);
    c = va_arg(ap, long);
    d = va_arg(ap, long);
    e = va_arg(ap, long);
    f = va_arg(ap, long);
    va_end(ap);
    return ip_bypass() ? ipr_syscall(nr, a, b, c, d, e, f)
                       : ip_syscall(nr, a, b, c, d, e, f);
}

FILE *fopen(const char *path, const char *mode)
{
    return ip_bypass() ? ipr_fopen(path, mode) : ip_fopen(path, mode);
}

FILE *fopen64(const char *path, const char *mode)
{
    return ip_bypass() ? ipr_fopen(path, mode) : ip_fopen(path, mode);
}
