/*
 * interpose.c - the interposer's state and handlers (interpose.h): which
 * descriptors are tracked, how each libc call maps onto the crash core,
 * and the refusals.
 *
 * A handler runs with this thread's depth raised, so that the file calls
 * the core makes on its own behalf (reading old bytes, the shadow log, the
 * graveyard) go straight to the C library when they come back through the
 * libc names.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "interpose_int.h"
#include "shadow.h"

typedef struct ip_fd {
    int tracked;
    int isdir;
    int accmode; /* O_RDONLY, O_WRONLY or O_RDWR */
    int append;  /* O_APPEND */
    int sync;    /* 0, 1 (O_DSYNC) or 2 (O_SYNC) */
    int direct;  /* O_DIRECT */
    int nondurable;
    dev_t dev;
    ino_t ino;
} ip_fd;

static struct {
    atomic_int guard;  /* the root is known: handlers run */
    atomic_int active; /* this process is the one to crash */
    int forked;        /* a child of the tracked process */
    crashio *c;
    interpose_config cfg;
    size_t rootlen;
    dev_t root_dev;      /* the root's file system */
    pthread_mutex_t mu;  /* fds */
    pthread_mutex_t wmu; /* a write's offset and the write itself */
    ip_fd *fds;
    size_t nfds;
} ip = {.mu = PTHREAD_MUTEX_INITIALIZER, .wmu = PTHREAD_MUTEX_INITIALIZER};

static _Thread_local int ip_depth;

int ip_bypass(void)
{
    return ip_depth > 0 || !atomic_load(&ip.guard);
}

void ip_count(interpose_call call, int tracked)
{
    if (ip_res == NULL)
        return;
    atomic_fetch_add(&ip_res->calls[call], 1);
    if (tracked)
        atomic_fetch_add(&ip_res->tracked[call], 1);
}

const char *interpose_call_name(int call)
{
    static const char *const names[IP_NCALLS] = {
        [IP_OPEN] = "open",           [IP_CLOSE] = "close",
        [IP_WRITE] = "write",         [IP_PWRITE] = "pwrite",
        [IP_WRITEV] = "writev",       [IP_PWRITEV] = "pwritev",
        [IP_LSEEK] = "lseek",         [IP_FTRUNCATE] = "ftruncate",
        [IP_FALLOCATE] = "fallocate", [IP_FSYNC] = "fsync",
        [IP_FDATASYNC] = "fdatasync", [IP_SYNC_FILE_RANGE] = "sync_file_range",
        [IP_SYNCFS] = "syncfs",       [IP_RENAME] = "rename",
        [IP_UNLINK] = "unlink",       [IP_MKDIR] = "mkdir",
        [IP_RMDIR] = "rmdir",         [IP_DUP] = "dup",
        [IP_FCNTL] = "fcntl",         [IP_FORK] = "fork",
        [IP_MMAP] = "mmap",
    };
    return call >= 0 && call < IP_NCALLS ? names[call] : "?";
}

/* ---- refusals ---- */

static void ip_say(const char *s)
{
    size_t n = strlen(s);

    while (n > 0) {
        ssize_t w = ipr_write(2, s, n);
        if (w <= 0)
            break;
        s += w;
        n -= (size_t)w;
    }
}

/* End the process with a set-up error: what it did cannot be modelled. */
static _Noreturn void ip_refuse(const char *call, const char *path,
                                const char *why)
{
    char msg[IP_PATH_MAX + 300];

    if (ip_res != NULL && !atomic_exchange(&ip_res->refused, 1)) {
        snprintf(ip_res->refused_call, sizeof(ip_res->refused_call), "%s",
                 call);
        snprintf(ip_res->refused_path, sizeof(ip_res->refused_path), "%s",
                 path ? path : "");
        snprintf(ip_res->refused_why, sizeof(ip_res->refused_why), "%s", why);
    }
    snprintf(msg, sizeof(msg), "crashlab interposer: refused %s%s%s: %s\n",
             call, path && *path ? " of " : "", path ? path : "", why);
    ip_say(msg);
    _exit(2);
}

/* ---- paths ---- */

/* Resolve ".." by name in the absolute normalised path p, in place: each
 * drops the name before it. */
static void ip_dotdot(char *p)
{
    size_t o = 0, i = 0;

    while (p[i] != '\0') {
        size_t j = i + 1; /* p[i] is a '/' */
        while (p[j] != '\0' && p[j] != '/')
            j++;
        if (j - i == 3 && p[i + 1] == '.' && p[i + 2] == '.') {
            while (o > 0 && p[o - 1] != '/')
                o--;
            if (o > 0)
                o--;
        } else {
            memmove(p + o, p + i, j - i);
            o += j - i;
        }
        i = j;
    }
    if (o == 0)
        p[o++] = '/';
    p[o] = '\0';
}

/* The absolute, normalised form of path relative to dirfd ("." and ".."
 * resolved by name, symbolic links not followed), or NULL. */
static char *ip_abs(int dirfd, const char *path)
{
    char base[IP_PATH_MAX], *joined, *out;

    if (path == NULL)
        return NULL;
    if (path[0] == '/') {
        base[0] = '\0';
    } else if (dirfd == AT_FDCWD) {
        if (getcwd(base, sizeof(base)) == NULL)
            return NULL;
    } else {
        char link[64];
        ssize_t n;
        snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
        if ((n = readlink(link, base, sizeof(base) - 1)) < 0)
            return NULL;
        base[n] = '\0';
    }
    if (asprintf(&joined, "%s/%s", base, path) < 0)
        return NULL;
    out = shadow_path_norm(joined); /* no "//", no "." */
    free(joined);
    if (out != NULL)
        ip_dotdot(out);
    return out;
}

static int ip_under_root(const char *abs)
{
    return abs != NULL && strncmp(abs, ip.cfg.root, ip.rootlen) == 0 &&
           (abs[ip.rootlen] == '\0' || abs[ip.rootlen] == '/');
}

/* Strict mode: 1 if a change to abs (outside the root) is refused: any
 * but to a device, a pipe or a socket (/dev/null, a terminal) or /proc. */
static int ip_outside_refused(const char *abs)
{
    struct stat st;

    if (!ip.cfg.strict || abs == NULL || strncmp(abs, "/proc/", 6) == 0)
        return 0;
    if (ipr_fstatat(AT_FDCWD, abs, &st, 0) == 0 && !S_ISREG(st.st_mode) &&
        !S_ISDIR(st.st_mode))
        return 0;
    return 1;
}

/* Changes under the root are the tracked process's only. */
static void ip_check_owner(const char *call, const char *abs)
{
    if (!atomic_load(&ip.active))
        ip_refuse(call, abs,
                  "a process other than the one under test changed a file "
                  "under the root");
    if (ip.forked)
        ip_refuse(call, abs,
                  "a forked child changed a file under the root (only the "
                  "process under test is modelled)");
}

static int ip_nondurable(const char *abs)
{
    size_t n = strlen(abs);

    for (int i = 0; i < IP_NONDURABLE; i++) {
        size_t m = strlen(ip.cfg.nondurable[i]);
        if (m > 0 && m <= n && strcmp(abs + n - m, ip.cfg.nondurable[i]) == 0)
            return 1;
    }
    return 0;
}

/* ---- the descriptor table ---- */

static ip_fd ip_get(int fd)
{
    ip_fd f = {0};

    pthread_mutex_lock(&ip.mu);
    if (fd >= 0 && (size_t)fd < ip.nfds)
        f = ip.fds[fd];
    pthread_mutex_unlock(&ip.mu);
    return f;
}

int ip_fd_flags(int fd)
{
    ip_fd f = ip_get(fd);

    if (!f.tracked)
        return -1;
    return f.accmode | (f.append ? O_APPEND : 0) | (f.direct ? O_DIRECT : 0);
}

static int ip_set(int fd, const ip_fd *f)
{
    int rc = 0;

    pthread_mutex_lock(&ip.mu);
    if ((size_t)fd >= ip.nfds) {
        size_t n = (size_t)fd + 64;
        ip_fd *t = realloc(ip.fds, n * sizeof(*t));
        if (t == NULL) {
            rc = ENOMEM;
            goto out;
        }
        memset(t + ip.nfds, 0, (n - ip.nfds) * sizeof(*t));
        ip.fds = t;
        ip.nfds = n;
    }
    ip.fds[fd] = *f;
out:
    pthread_mutex_unlock(&ip.mu);
    return rc;
}

static void ip_drop(int fd)
{
    ip_fd none = {0};

    if (fd >= 0 && (size_t)fd < ip.nfds)
        ip_set(fd, &none);
}

/* The return of a call that failed with rc. */
static int ip_fail(int rc)
{
    errno = rc;
    return -1;
}

/* ---- handlers ---- */

int ip_open(int dirfd, const char *path, int flags, mode_t mode)
{
    char *abs = ip_abs(dirfd, path);
    int writes =
            (flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC)),
        fd = -1, rc, cl = 0;
    ip_fd f = {0};
    struct stat st;

    ip_depth++;
    ip_count(IP_OPEN, ip_under_root(abs));
    if (!ip_under_root(abs)) {
        if (writes && ip_outside_refused(abs))
            ip_refuse("open", abs,
                      "a file outside the root opened for "
                      "writing");
        fd = ipr_openat(dirfd, path, flags, mode);
        goto out;
    }
    if (writes)
        ip_check_owner("open", abs);
    else if (!atomic_load(&ip.active) || ip.forked) {
        fd = ipr_openat(dirfd, path, flags, mode);
        goto out;
    }
    if ((flags & O_TMPFILE) == O_TMPFILE)
        ip_refuse("open", abs,
                  "O_TMPFILE (an unnamed file) is not "
                  "modelled");
    ipr_pending.set = 1;
    ipr_pending.flags = flags & ~(O_CREAT | O_EXCL | O_TRUNC);
    ipr_pending.mode = mode;
    if ((flags & O_ACCMODE) != O_RDONLY)
        cl |= CL_IO_RDWR;
    if (flags & O_CREAT)
        cl |= CL_IO_CREATE;
    if (flags & O_EXCL)
        cl |= CL_IO_EXCL;
    rc = crashio_op_open(ip.c, abs, cl, &fd);
    ipr_pending.set = 0;
    if (rc != 0) {
        fd = ip_fail(rc);
        goto out;
    }
    if (ipr_fstat(fd, &st) != 0) {
        rc = errno;
        crashio_op_close(ip.c, fd);
        fd = ip_fail(rc);
        goto out;
    }
    f.tracked = 1;
    f.isdir = S_ISDIR(st.st_mode);
    f.accmode = flags & O_ACCMODE;
    f.append = (flags & O_APPEND) != 0;
    f.sync = (flags & O_SYNC) == O_SYNC ? 2 : (flags & O_DSYNC) ? 1 : 0;
    f.direct = (flags & O_DIRECT) != 0;
    f.nondurable = ip_nondurable(abs);
    f.dev = st.st_dev;
    f.ino = st.st_ino;
    if ((rc = ip_set(fd, &f)) == 0 && (flags & O_TRUNC) &&
        f.accmode != O_RDONLY && S_ISREG(st.st_mode) && st.st_size > 0)
        rc = crashio_op_ftruncate(ip.c, fd, 0);
    if (rc != 0) {
        ip_drop(fd);
        crashio_op_close(ip.c, fd);
        fd = ip_fail(rc);
    }
out:
    free(abs);
    ip_depth--;
    return fd;
}

int ip_close(int fd)
{
    ip_fd f = ip_get(fd);
    int rc;

    ip_depth++;
    ip_count(IP_CLOSE, f.tracked);
    if (f.tracked) {
        ip_drop(fd);
        rc = crashio_op_close(ip.c, fd);
        rc = rc == 0 ? 0 : ip_fail(rc);
    } else {
        rc = ipr_close(fd);
    }
    ip_depth--;
    return rc;
}

/* A tracked descriptor that may write, or NULL-equivalent (tracked 0). */
static ip_fd ip_writer(int fd, const char *call)
{
    ip_fd f = ip_get(fd);

    if (f.tracked && (ip.forked || !atomic_load(&ip.active)))
        ip_refuse(call, "", "a forked child wrote to a file under the root");
    if (f.accmode == O_RDONLY || f.isdir)
        f.tracked = 0; /* the kernel's error, through the C library */
    return f;
}

/* Write buf[0..n) of tracked fd at off (positioned) or at the offset
 * (moving it), then sync for O_SYNC / O_DSYNC.  Caller holds ip.wmu when
 * not positioned. */
static ssize_t ip_do_write(int fd, const ip_fd *f, const void *buf, size_t n,
                           int positioned, off_t off)
{
    uint64_t at;
    int rc;

    if (f->append) {
        struct stat st;
        if (ipr_fstat(fd, &st) != 0)
            return -1;
        at = (uint64_t)st.st_size;
    } else if (positioned) {
        at = (uint64_t)off;
    } else {
        off_t cur = ipr_lseek(fd, 0, SEEK_CUR);
        if (cur < 0)
            return -1;
        at = (uint64_t)cur;
    }
    if ((rc = crashio_op_pwrite(ip.c, fd, buf, n, at)) != 0)
        return ip_fail(rc);
    if (!positioned && ipr_lseek(fd, (off_t)(at + n), SEEK_SET) < 0)
        return -1;
    if (f->sync && (rc = crashio_op_sync(ip.c, fd, f->sync == 1)) != 0)
        return ip_fail(rc);
    return (ssize_t)n;
}

ssize_t ip_write(int fd, const void *buf, size_t n)
{
    ip_fd f;
    ssize_t r;

    ip_depth++;
    f = ip_writer(fd, "write");
    ip_count(IP_WRITE, f.tracked);
    if (!f.tracked || n == 0) {
        r = ipr_write(fd, buf, n);
    } else {
        pthread_mutex_lock(&ip.wmu);
        r = ip_do_write(fd, &f, buf, n, 0, 0);
        pthread_mutex_unlock(&ip.wmu);
    }
    ip_depth--;
    return r;
}

ssize_t ip_pwrite(int fd, const void *buf, size_t n, off_t off)
{
    ip_fd f;
    ssize_t r;

    ip_depth++;
    f = ip_writer(fd, "pwrite");
    ip_count(IP_PWRITE, f.tracked);
    if (!f.tracked || n == 0 || off < 0)
        r = ipr_pwrite(fd, buf, n, off);
    else
        r = ip_do_write(fd, &f, buf, n, 1, off);
    ip_depth--;
    return r;
}

ssize_t ip_writev(int fd, const struct iovec *iov, int n, int positioned,
                  off_t off)
{
    ip_fd f;
    ssize_t r;
    size_t total = 0, o = 0;
    char *buf;

    ip_depth++;
    f = ip_writer(fd, positioned ? "pwritev" : "writev");
    ip_count(positioned ? IP_PWRITEV : IP_WRITEV, f.tracked);
    for (int i = 0; f.tracked && i < n; i++)
        total += iov[i].iov_len;
    if (!f.tracked || n <= 0 || total == 0 || (positioned && off < 0)) {
        r = positioned ? ipr_pwritev(fd, iov, n, off) : ipr_writev(fd, iov, n);
        goto out;
    }
    /* One write of the gathered bytes: one I/O point, as the kernel makes
     * one call of it. */
    if ((buf = malloc(total)) == NULL) {
        r = ip_fail(ENOMEM);
        goto out;
    }
    for (int i = 0; i < n; i++) {
        memcpy(buf + o, iov[i].iov_base, iov[i].iov_len);
        o += iov[i].iov_len;
    }
    if (!positioned)
        pthread_mutex_lock(&ip.wmu);
    r = ip_do_write(fd, &f, buf, total, positioned, off);
    if (!positioned)
        pthread_mutex_unlock(&ip.wmu);
    free(buf);
out:
    ip_depth--;
    return r;
}

off_t ip_lseek(int fd, off_t off, int whence)
{
    off_t r;

    ip_depth++;
    ip_count(IP_LSEEK, ip_get(fd).tracked);
    r = ipr_lseek(fd, off, whence);
    ip_depth--;
    return r;
}

int ip_ftruncate(int fd, off_t len)
{
    ip_fd f;
    int rc;

    ip_depth++;
    f = ip_writer(fd, "ftruncate");
    ip_count(IP_FTRUNCATE, f.tracked);
    if (!f.tracked || len < 0)
        rc = ipr_ftruncate(fd, len);
    else if ((rc = crashio_op_ftruncate(ip.c, fd, (uint64_t)len)) != 0)
        rc = ip_fail(rc);
    ip_depth--;
    return rc;
}

/* truncate(2), by path: under the root, the file opened for writing, an
 * ftruncate point on it and the descriptor closed, as the program would
 * do it by hand (the counts show that open and close too); elsewhere
 * passed on, or refused as any change outside the root is. */
int ip_truncate(const char *path, off_t len)
{
    char *abs = ip_abs(AT_FDCWD, path);
    int fd, rc, err;

    if (!ip_under_root(abs)) {
        ip_depth++;
        ip_count(IP_FTRUNCATE, 0);
        if (ip_outside_refused(abs))
            ip_refuse("truncate", abs, "a file outside the root truncated");
        rc = ipr_truncate(path, len);
        free(abs);
        ip_depth--;
        return rc;
    }
    free(abs);
    if ((fd = ip_open(AT_FDCWD, path, O_WRONLY | O_CLOEXEC, 0)) < 0)
        return -1;
    rc = ip_ftruncate(fd, len);
    err = errno;
    ip_close(fd);
    errno = err;
    return rc;
}

/* fallocate (posix 0: returns -1 and errno) and posix_fallocate (posix 1:
 * returns the errno). */
int ip_fallocate(int fd, int mode, off_t off, off_t len, int posix)
{
    ip_fd f;
    struct stat st;
    int rc = 0;

    ip_depth++;
    f = ip_writer(fd, posix ? "posix_fallocate" : "fallocate");
    ip_count(IP_FALLOCATE, f.tracked);
    if (!f.tracked || off < 0 || len <= 0 || mode == FALLOC_FL_KEEP_SIZE) {
        rc = posix ? ipr_posix_fallocate(fd, off, len)
                   : ipr_fallocate(fd, mode, off, len);
        goto out;
    }
    if (ipr_fstat(fd, &st) != 0) {
        rc = errno;
        goto done;
    }
    if (mode == 0) {
        /* The file grows to off + len, with zeros: a truncate point; the
         * blocks are then reserved without changing the size. */
        if (off + len > st.st_size &&
            (rc = crashio_op_ftruncate(ip.c, fd, (uint64_t)(off + len))) != 0)
            goto done;
        if (ipr_fallocate(fd, FALLOC_FL_KEEP_SIZE, off, len) != 0 &&
            errno != EOPNOTSUPP)
            rc = errno;
    } else if (mode == (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE) ||
               mode == FALLOC_FL_ZERO_RANGE ||
               mode == (FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE)) {
        /* The range reads as zeros: a write of zeros (within the file
         * when the size is kept). */
        off_t end = off + len;
        char *z;
        if ((mode & FALLOC_FL_KEEP_SIZE) && end > st.st_size)
            end = st.st_size;
        if (end > off + (off_t)(64 << 20))
            ip_refuse("fallocate", "",
                      "a hole or zero range over 64 MiB is "
                      "not modelled");
        if (end > off) {
            if ((z = calloc(1, (size_t)(end - off))) == NULL) {
                rc = ENOMEM;
                goto done;
            }
            rc = crashio_op_pwrite(ip.c, fd, z, (size_t)(end - off),
                                   (uint64_t)off);
            free(z);
        }
    } else {
        ip_refuse("fallocate", "",
                  "this fallocate mode (collapse or insert "
                  "range) is not modelled");
    }
done:
    if (!posix && rc != 0)
        rc = ip_fail(rc);
out:
    ip_depth--;
    return rc;
}

int ip_sync(int fd, int datasync)
{
    ip_fd f = ip_get(fd);
    char *path = NULL;
    int rc;

    ip_depth++;
    ip_count(datasync ? IP_FDATASYNC : IP_FSYNC, f.tracked);
    if (!f.tracked || ip.forked || !atomic_load(&ip.active)) {
        rc = datasync ? ipr_fdatasync(fd) : ipr_fsync(fd);
        goto out;
    }
    if (f.isdir) {
        if (!crashio_op_tracked(ip.c, fd, &path) || path == NULL)
            rc = datasync ? ipr_fdatasync(fd) : ipr_fsync(fd);
        else
            rc = crashio_op_dirsync(ip.c, path);
    } else {
        rc = crashio_op_sync(ip.c, fd, datasync);
    }
    if (rc > 0)
        rc = ip_fail(rc);
out:
    free(path);
    ip_depth--;
    return rc;
}

int ip_sync_file_range(int fd, off_t off, off_t n, unsigned flags)
{
    int rc;

    ip_depth++;
    ip_count(IP_SYNC_FILE_RANGE, ip_get(fd).tracked);
    rc = ipr_sync_file_range(fd, off, n, flags);
    ip_depth--;
    return rc;
}

int ip_syncfs(int fd)
{
    int rc;

    ip_depth++;
    struct stat st;
    int mine = ipr_fstat(fd, &st) == 0 && st.st_dev == ip.root_dev;

    ip_count(IP_SYNCFS, mine);
    /* Only a syncfs of the root's file system syncs the root. */
    if (!mine || !atomic_load(&ip.active) || ip.forked)
        rc = ipr_syncfs(fd);
    else if ((rc = crashio_op_syncall(ip.c)) != 0)
        rc = ip_fail(rc);
    ip_depth--;
    return rc;
}

int ip_rename(int olddir, const char *from, int newdir, const char *to,
              unsigned flags)
{
    char *af = ip_abs(olddir, from), *at = ip_abs(newdir, to);
    int uf = ip_under_root(af), ut = ip_under_root(at), rc;
    struct stat st;

    ip_depth++;
    ip_count(IP_RENAME, uf || ut);
    if (!uf && !ut) {
        if (ip_outside_refused(af) || ip_outside_refused(at))
            ip_refuse("rename", af, "a rename outside the root");
        rc = ipr_renameat2(olddir, from, newdir, to, flags);
        goto out;
    }
    ip_check_owner("rename", uf ? af : at);
    if (uf != ut)
        ip_refuse("rename", uf ? af : at,
                  "a rename into or out of the root is not modelled");
    if (flags & ~(unsigned)RENAME_NOREPLACE)
        ip_refuse("renameat2", af,
                  "RENAME_EXCHANGE and RENAME_WHITEOUT are "
                  "not modelled");
    if ((flags & RENAME_NOREPLACE) &&
        ipr_fstatat(AT_FDCWD, at, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        rc = ip_fail(EEXIST);
        goto out;
    }
    if ((rc = crashio_op_rename(ip.c, af, at)) != 0)
        rc = ip_fail(rc);
out:
    free(af);
    free(at);
    ip_depth--;
    return rc;
}

int ip_unlink(int dirfd, const char *path, int flags)
{
    char *abs = ip_abs(dirfd, path);
    int rc, dir = (flags & AT_REMOVEDIR) != 0;

    ip_depth++;
    ip_count(dir ? IP_RMDIR : IP_UNLINK, ip_under_root(abs));
    if (!ip_under_root(abs)) {
        if (ip_outside_refused(abs))
            ip_refuse(dir ? "rmdir" : "unlink", abs,
                      "a file outside the root removed");
        rc = ipr_unlinkat(dirfd, path, flags);
        goto out;
    }
    ip_check_owner(dir ? "rmdir" : "unlink", abs);
    ipr_pending.rmdir = dir;
    rc = crashio_op_unlink(ip.c, abs);
    ipr_pending.rmdir = 0;
    if (rc != 0)
        rc = ip_fail(rc);
out:
    free(abs);
    ip_depth--;
    return rc;
}

int ip_mkdir(int dirfd, const char *path, mode_t mode)
{
    char *abs = ip_abs(dirfd, path);
    int rc;

    ip_depth++;
    ip_count(IP_MKDIR, ip_under_root(abs));
    if (!ip_under_root(abs)) {
        if (ip_outside_refused(abs))
            ip_refuse("mkdir", abs, "a directory made outside the root");
        rc = ipr_mkdirat(dirfd, path, mode);
        goto out;
    }
    ip_check_owner("mkdir", abs);
    ipr_pending.set = 1;
    ipr_pending.mode = mode;
    rc = crashio_op_mkdir(ip.c, abs);
    ipr_pending.set = 0;
    if (rc != 0)
        rc = ip_fail(rc);
out:
    free(abs);
    ip_depth--;
    return rc;
}

/* After a dup of any kind made fd2 from fd: fd2 names fd's file, or
 * nothing. */
static void ip_dup_track(int fd, int fd2)
{
    ip_fd f = ip_get(fd), g = ip_get(fd2);

    if (fd2 < 0 || fd2 == fd)
        return;
    if (f.tracked) {
        if (crashio_op_dup(ip.c, fd, fd2) == 0)
            ip_set(fd2, &f);
    } else if (g.tracked) {
        crashio_op_forget(ip.c, fd2);
        ip_drop(fd2);
    }
}

int ip_dup(int fd, int fd2, int flags, int how)
{
    int r;

    ip_depth++;
    ip_count(IP_DUP, ip_get(fd).tracked);
    if (how == 0)
        r = ipr_dup(fd);
    else
        r = ipr_dup3(fd, fd2, how == 2 ? -1 : flags);
    if (r >= 0 && atomic_load(&ip.active))
        ip_dup_track(fd, r);
    ip_depth--;
    return r;
}

int ip_fcntl(int fd, int cmd, void *arg)
{
    ip_fd f = ip_get(fd);
    int r;

    ip_depth++;
    ip_count(IP_FCNTL, f.tracked);
    r = ipr_fcntl(fd, cmd, arg);
    if (r >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) &&
        atomic_load(&ip.active))
        ip_dup_track(fd, r);
    if (r >= 0 && cmd == F_SETFL && f.tracked) {
        int fl = (int)(long)arg;
        f.append = (fl & O_APPEND) != 0;
        f.direct = (fl & O_DIRECT) != 0;
        ip_set(fd, &f);
    }
    ip_depth--;
    return r;
}

pid_t ip_fork(void)
{
    pid_t p;

    ip_depth++;
    ip_count(IP_FORK, 0);
    p = ipr_fork();
    if (p == 0) {
        /* The child shares the files but not the core: its counts and
         * points are not the process's under test. */
        ip.forked = 1;
        ip_res = NULL;
    }
    ip_depth--;
    return p;
}

void *ip_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    ip_fd f = ip_get(fd);
    void *r;

    ip_depth++;
    ip_count(IP_MMAP, f.tracked);
    if (f.tracked && !f.nondurable && (prot & PROT_WRITE) &&
        (flags & MAP_SHARED)) {
        char *path = NULL;
        crashio_op_tracked(ip.c, fd, &path);
        ip_refuse("mmap", path,
                  "a writable shared mapping of a durable "
                  "file: its writes bypass the interposer");
    }
    r = ipr_mmap(addr, len, prot, flags, fd, off);
    ip_depth--;
    return r;
}

long ip_syscall(long nr, long a, long b, long c, long d, long e, long f)
{
    static const long fs[] = {
        SYS_open,      SYS_openat,
        SYS_creat,     SYS_write,
        SYS_pwrite64,  SYS_writev,
        SYS_pwritev,   SYS_pwritev2,
        SYS_ftruncate, SYS_truncate,
        SYS_fallocate, SYS_fsync,
        SYS_fdatasync, SYS_sync_file_range,
        SYS_syncfs,    SYS_rename,
        SYS_renameat,  SYS_renameat2,
        SYS_unlink,    SYS_unlinkat,
        SYS_mkdir,     SYS_mkdirat,
        SYS_rmdir,     SYS_dup2,
        SYS_dup3,      SYS_mmap,
        SYS_openat2,
    };
    char why[80];

    for (size_t i = 0; i < sizeof(fs) / sizeof(fs[0]); i++)
        if (nr == fs[i] && atomic_load(&ip.active)) {
            snprintf(why, sizeof(why),
                     "a direct system call (number %ld) bypasses the "
                     "interposer",
                     nr);
            ip_refuse("syscall", "", why);
        }
    return ipr_syscall(nr, a, b, c, d, e, f);
}

FILE *ip_fopen(const char *path, const char *mode)
{
    char *abs = ip_abs(AT_FDCWD, path);
    FILE *r;

    ip_depth++;
    if (ip_under_root(abs) && strpbrk(mode, "wa+") != NULL)
        ip_refuse("fopen", abs,
                  "a stdio stream writing a file under the "
                  "root (its writes bypass the interposer)");
    if (!ip_under_root(abs) && strpbrk(mode, "wa+") != NULL &&
        ip_outside_refused(abs))
        ip_refuse("fopen", abs, "a file outside the root opened for writing");
    r = ipr_fopen(path, mode);
    free(abs);
    ip_depth--;
    return r;
}

/* ---- life cycle ---- */

static int ip_configure(const interpose_config *cfg)
{
    struct stat st;

    ip.cfg = *cfg;
    ip.cfg.root[IP_PATH_MAX - 1] = '\0';
    ip.rootlen = strlen(ip.cfg.root);
    while (ip.rootlen > 1 && ip.cfg.root[ip.rootlen - 1] == '/')
        ip.cfg.root[--ip.rootlen] = '\0';
    if (ip.cfg.root[0] != '/')
        return EINVAL;
    if (ipr_fstatat(AT_FDCWD, ip.cfg.root, &st, 0) != 0)
        return errno;
    ip.root_dev = st.st_dev;
    return 0;
}

int interpose_start(const interpose_config *cfg, interpose_result *res,
                    crashio_shared *shared)
{
    return interpose_start_hooked(cfg, res, shared, NULL, NULL);
}

int interpose_start_hooked(
    const interpose_config *cfg, interpose_result *res, crashio_shared *shared,
    void (*on_point)(void *ctx, const crashio_call *call), void *ctx)
{
    crashio_config cc = {0};
    int rc;

    if (atomic_load(&ip.guard))
        return EBUSY;
    ip_depth++;
    if ((rc = ip_configure(cfg)) != 0)
        goto out;
    cc.inner = ipr_table();
    cc.seed = cfg->seed;
    cc.crash_at = cfg->crash_at;
    cc.crash_action = (crashio_action)cfg->crash_action;
    cc.sector = cfg->sector;
    cc.fill = (crashio_fill)cfg->fill;
    cc.fail_at = cfg->fail_at;
    cc.fail_sync = cfg->fail_sync;
    cc.fail_errno = cfg->fail_errno;
    cc.fsync_loses_data = cfg->fsync_loses_data;
    cc.on_point = on_point;
    cc.on_point_ctx = ctx;
    cc.shadow_path = cfg->shadow_path[0] ? ip.cfg.shadow_path : NULL;
    cc.graveyard_dir = cfg->graveyard_dir[0] ? ip.cfg.graveyard_dir : NULL;
    cc.shadow_continue = cfg->shadow_continue;
    cc.root = ip.cfg.root;
    cc.shared = shared;
    ip_res = res; /* the core's own calls from here on are counted */
    if ((rc = crashio_new(&cc, &ip.c)) != 0) {
        ip_res = NULL;
        goto out;
    }
    ip.forked = 0;
    atomic_store(&ip.active, 1);
    atomic_store(&ip.guard, 1);
out:
    ip_depth--;
    return rc;
}

/* A process that loaded the preload object but is not the one under test:
 * calls pass through, changes under the root are refused. */
void ip_start_foreign(const interpose_config *cfg)
{
    if (ip_configure(cfg) == 0)
        atomic_store(&ip.guard, 1);
}

void interpose_stop(void)
{
    ip_depth++;
    atomic_store(&ip.guard, 0);
    atomic_store(&ip.active, 0);
    crashio_free(ip.c);
    ip.c = NULL;
    pthread_mutex_lock(&ip.mu);
    free(ip.fds);
    ip.fds = NULL;
    ip.nfds = 0;
    pthread_mutex_unlock(&ip.mu);
    ip_res = NULL;
    ip_depth--;
}

uint64_t interpose_points(void)
{
    return ip.c ? crashio_points(ip.c) : 0;
}

void interpose_aside(int on)
{
    if (on)
        ip_depth++;
    else if (ip_depth > 0)
        ip_depth--;
}

int interpose_branch(const crashio_branch_cfg *b)
{
    int rc;

    if (!atomic_load(&ip.guard) || ip.c == NULL)
        return EINVAL;
    ip_depth++;
    rc = crashio_branch(ip.c, b);
    ip_depth--;
    return rc;
}
