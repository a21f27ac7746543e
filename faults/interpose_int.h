/*
 * interpose_int.h - what the files of the interposer share
 * (interpose_real.c: the C library underneath; interpose.c: the state and
 * the handlers; interpose_calls.c: the libc names; interpose_preload.c:
 * the preload object's constructor).  Not part of the faults API.
 */
#ifndef CL_INTERPOSE_INT_H
#define CL_INTERPOSE_INT_H

#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "cl_io.h"
#include "interpose.h"

/* ---- the C library underneath (interpose_real.c) ----
 * The only functions of the interposer that make file-system calls
 * (scripts/check-io.sh checks it): each calls the next definition of its
 * name (dlsym RTLD_NEXT), never the interposer's own, and counts the call
 * in the result's `real` array. */
int ipr_openat(int dirfd, const char *path, int flags, mode_t mode);
int ipr_close(int fd);
ssize_t ipr_write(int fd, const void *buf, size_t n);
ssize_t ipr_pwrite(int fd, const void *buf, size_t n, off_t off);
ssize_t ipr_writev(int fd, const struct iovec *iov, int n);
ssize_t ipr_pwritev(int fd, const struct iovec *iov, int n, off_t off);
ssize_t ipr_pread(int fd, void *buf, size_t n, off_t off);
off_t ipr_lseek(int fd, off_t off, int whence);
int ipr_ftruncate(int fd, off_t len);
int ipr_truncate(const char *path, off_t len);
int ipr_fallocate(int fd, int mode, off_t off, off_t len);
int ipr_posix_fallocate(int fd, off_t off, off_t len);
int ipr_fsync(int fd);
int ipr_fdatasync(int fd);
int ipr_sync_file_range(int fd, off_t off, off_t n, unsigned flags);
int ipr_syncfs(int fd);
int ipr_renameat2(int olddir, const char *from, int newdir, const char *to,
                  unsigned flags);
int ipr_unlinkat(int dirfd, const char *path, int flags);
int ipr_mkdirat(int dirfd, const char *path, mode_t mode);
int ipr_dup(int fd);
int ipr_dup3(int fd, int fd2, int flags); /* flags -1: dup2 */
int ipr_fcntl(int fd, int cmd, void *arg);
pid_t ipr_fork(void);
void *ipr_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
long ipr_syscall(long nr, long a, long b, long c, long d, long e, long f);
FILE *ipr_fopen(const char *path, const char *mode);
int ipr_fstat(int fd, struct stat *st);
int ipr_fstatat(int dirfd, const char *path, struct stat *st, int flags);

/* The core's inner table: the C library (interpose_real.c).  Its open
 * takes the program's flags and mode from ipr_pending when set; its unlink
 * removes a directory when ipr_pending.rmdir is set. */
const cl_io *ipr_table(void);

typedef struct ipr_pending_t {
    int set;   /* open: use flags and mode below */
    int flags; /* the program's open flags, less O_CREAT/O_EXCL/O_TRUNC */
    mode_t mode;
    int rmdir; /* unlink: remove a directory */
} ipr_pending_t;
extern _Thread_local ipr_pending_t ipr_pending;

/* Where counts go (NULL: nowhere). */
extern interpose_result *ip_res;

/* ---- the state and handlers (interpose.c) ---- */

/* 1 when a call must go straight to the C library: not started, or this
 * thread is inside the interposer already (the core's own file calls, the
 * shadow log's, come back through the libc names). */
int ip_bypass(void);

/* The access mode, O_APPEND and O_DIRECT of the program's descriptor fd
 * as the descriptor table holds them (kept through F_SETFL), or -1 if fd
 * is not one it tracks. */
int ip_fd_flags(int fd);

/* Count a call of the program (tracked: 1 when it acts on the root). */
void ip_count(interpose_call call, int tracked);

int ip_open(int dirfd, const char *path, int flags, mode_t mode);
int ip_close(int fd);
ssize_t ip_write(int fd, const void *buf, size_t n);
ssize_t ip_pwrite(int fd, const void *buf, size_t n, off_t off);
ssize_t ip_writev(int fd, const struct iovec *iov, int n, int positioned,
                  off_t off);
off_t ip_lseek(int fd, off_t off, int whence);
int ip_ftruncate(int fd, off_t len);
int ip_truncate(const char *path, off_t len);
int ip_fallocate(int fd, int mode, off_t off, off_t len, int posix);
int ip_sync(int fd, int datasync);
int ip_sync_file_range(int fd, off_t off, off_t n, unsigned flags);
int ip_syncfs(int fd);
int ip_rename(int olddir, const char *from, int newdir, const char *to,
              unsigned flags);
int ip_unlink(int dirfd, const char *path, int flags);
int ip_mkdir(int dirfd, const char *path, mode_t mode);
int ip_dup(int fd, int fd2, int flags, int how); /* how: 0 dup, 2 dup2,
                                                    3 dup3 */
int ip_fcntl(int fd, int cmd, void *arg);
pid_t ip_fork(void);
void *ip_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
long ip_syscall(long nr, long a, long b, long c, long d, long e, long f);
FILE *ip_fopen(const char *path, const char *mode);

/* Calls pass through, changes under cfg's root are refused: a process
 * that loaded the preload object but is not the one under test. */
void ip_start_foreign(const interpose_config *cfg);

/* The preload object's start from its area file (interpose_preload.c). */
void ip_preload_start(void);

#endif
