/*
 * fsutil.c - see fsutil.h.
 */
#include "fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fs_join(char *buf, size_t len, const char *dir, const char *name)
{
    int n = snprintf(buf, len, "%s/%s", dir, name);

    return n < 0 || (size_t)n >= len ? ENAMETOOLONG : 0;
}

int fs_mkdirs(const char *path)
{
    char buf[4096];
    size_t n = strlen(path);

    if (n >= sizeof(buf))
        return ENAMETOOLONG;
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                return errno;
            buf[i] = c;
        }
    }
    return 0;
}

int fs_rmrf(const char *path)
{
    struct stat st;
    DIR *d;
    struct dirent *e;
    int rc = 0;

    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : errno;
    if (!S_ISDIR(st.st_mode))
        return unlink(path) == 0 ? 0 : errno;
    d = opendir(path);
    if (d == NULL)
        return errno;
    while ((e = readdir(d)) != NULL) {
        char sub[4096];
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if ((rc = fs_join(sub, sizeof(sub), path, e->d_name)) != 0)
            break;
        if (e->d_type == DT_DIR || e->d_type == DT_UNKNOWN)
            rc = fs_rmrf(sub);
        else if (unlink(sub) != 0)
            rc = errno;
        if (rc != 0)
            break;
    }
    closedir(d);
    if (rc == 0 && rmdir(path) != 0)
        rc = errno;
    return rc;
}

/* Copy len bytes of in from offset off to the end of out (len
 * UINT64_MAX: to in's end).  Returns 0, ENODATA if in ends first, or an
 * errno. */
static int fs_copy_span(int in, uint64_t off, uint64_t len, int out)
{
    char buf[65536];

    while (len > 0) {
        size_t want = len < sizeof(buf) ? (size_t)len : sizeof(buf);
        ssize_t n = pread(in, buf, want, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno;
        if (n == 0)
            return len == UINT64_MAX ? 0 : ENODATA;
        for (ssize_t done = 0; done < n;) {
            ssize_t w = write(out, buf + done, (size_t)(n - done));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                return errno;
            done += w;
        }
        off += (uint64_t)n;
        if (len != UINT64_MAX)
            len -= (uint64_t)n;
    }
    return 0;
}

/* Copy the rest of in, from its offset, to out with read and write (when
 * the kernel cannot copy between them itself).  Returns 0 or an errno. */
static int fs_copy_fd_rw(int in, int out)
{
    off_t at = lseek(in, 0, SEEK_CUR);

    return at < 0 ? errno : fs_copy_span(in, (uint64_t)at, UINT64_MAX, out);
}

int fs_copy_joined(const char *a, uint64_t alen, const char *b, const char *dst)
{
    int fa = open(a, O_RDONLY | O_CLOEXEC), fb = -1, out = -1, rc = 0;

    if (fa < 0)
        return errno;
    if ((fb = open(b, O_RDONLY | O_CLOEXEC)) < 0 ||
        (out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
        rc = errno;
    if (rc == 0 && alen > 0)
        rc = fs_copy_span(fa, 0, alen, out);
    if (rc == 0)
        rc = fs_copy_span(fb, 0, UINT64_MAX, out);
    close(fa);
    if (fb >= 0)
        close(fb);
    if (out >= 0)
        close(out);
    return rc;
}

int fs_copy_file(const char *src, const char *dst)
{
    int in, out, rc = 0;

    in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return errno;
    out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) {
        rc = errno;
        close(in);
        return rc;
    }
    /* In the kernel, page cache to page cache, until the end of the file:
     * no buffer of ours to fault in, which matters in the short-lived
     * processes that take snapshots. */
    for (;;) {
        ssize_t n = copy_file_range(in, NULL, out, NULL, 1u << 30, 0);
        if (n > 0)
            continue;
        if (n == 0)
            break;
        if (errno == EINTR)
            continue;
        if (errno == EXDEV || errno == ENOSYS || errno == EINVAL ||
            errno == EOPNOTSUPP)
            rc = fs_copy_fd_rw(in, out); /* from where the kernel stopped */
        else
            rc = errno;
        break;
    }
    close(in);
    close(out);
    return rc;
}

int fs_reopen(int fd, const char *path)
{
    /* the flags open(2) takes back from F_GETFL; the file exists */
    const int keep = O_ACCMODE | O_APPEND | O_DIRECT | O_SYNC | O_DSYNC |
                     O_NOATIME | O_LARGEFILE;
    int fl = fcntl(fd, F_GETFL), fdfl = fcntl(fd, F_GETFD), nfd, rc = 0;
    off_t off;

    if (fl < 0 || fdfl < 0)
        return errno;
    off = lseek(fd, 0, SEEK_CUR);
    nfd = open(path, (fl & keep) | O_CLOEXEC | O_NOCTTY);
    if (nfd < 0)
        return errno;
    if (dup3(nfd, fd, (fdfl & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0)
        rc = errno;
    close(nfd);
    if (rc == 0 && off >= 0 && lseek(fd, off, SEEK_SET) < 0)
        rc = errno;
    return rc;
}

/* scandir's order for fs_copy_tree: by name, byte by byte (alphasort
 * would follow the locale). */
static int fs_name_order(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* The regular files this process holds open, by device and inode (known
 * 0: they could not be listed, so no file may be linked). */
typedef struct fs_open_set {
    struct fs_open_file {
        dev_t dev;
        ino_t ino;
    } * f;
    size_t n;
    int known;
} fs_open_set;

/* Fill *set from /proc/self/fd.  Returns 0, or an errno. */
static int fs_open_files(fs_open_set *set)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    size_t cap = 0;
    int rc = 0;

    set->f = NULL;
    set->n = 0;
    set->known = 0;
    if (d == NULL)
        return errno;
    while ((e = readdir(d)) != NULL) {
        struct stat st;
        char *end;
        long fd = strtol(e->d_name, &end, 10);
        if (*end != '\0' || end == e->d_name || fd == dirfd(d) ||
            fstat((int)fd, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (set->n == cap) {
            void *p =
                realloc(set->f, (cap = cap ? 2 * cap : 16) * sizeof(*set->f));
            if (p == NULL) {
                rc = ENOMEM;
                break;
            }
            set->f = p;
        }
        set->f[set->n].dev = st.st_dev;
        set->f[set->n].ino = st.st_ino;
        set->n++;
    }
    closedir(d);
    if (rc != 0) {
        free(set->f);
        set->f = NULL;
        set->n = 0;
    }
    set->known = rc == 0;
    return rc;
}

/* Link src at dst, unless this process may hold src open or the link
 * fails: then copy it. */
static int fs_share_file(const char *src, const char *dst,
                         const fs_open_set *open)
{
    struct stat st;

    if (open->known && lstat(src, &st) == 0 && S_ISREG(st.st_mode)) {
        size_t i;
        for (i = 0; i < open->n; i++)
            if (open->f[i].dev == st.st_dev && open->f[i].ino == st.st_ino)
                break;
        if (i == open->n && link(src, dst) == 0)
            return 0;
    }
    return fs_copy_file(src, dst);
}

/* A regular file of a lazy copy still linked to its tree's (fs_lazy). */
typedef struct fs_lazy_file {
    dev_t dev;
    ino_t ino;
    char *path; /* the copy's name */
} fs_lazy_file;

struct fs_lazy {
    fs_lazy_file *f; /* the files still linked */
    size_t n, cap;
    unsigned *seen; /* seen[fd]: the tag of a descriptor found on no linked
                       file since the last take or move, else 0 */
    size_t nseen;
};

/* Link src at dst and remember the file as z's, or copy it where the file
 * system does not link.  Returns 0 or an errno. */
static int fs_lazy_link(fs_lazy *z, const char *src, const char *dst)
{
    struct stat st;
    char *p;

    if (lstat(src, &st) != 0)
        return errno;
    if (link(src, dst) != 0)
        return fs_copy_file(src, dst);
    if (z->n == z->cap) {
        size_t cap = z->cap ? 2 * z->cap : 16;
        void *f = realloc(z->f, cap * sizeof(*z->f));
        if (f == NULL)
            return ENOMEM;
        z->f = f;
        z->cap = cap;
    }
    if ((p = strdup(dst)) == NULL)
        return ENOMEM;
    z->f[z->n++] = (fs_lazy_file){st.st_dev, st.st_ino, p};
    return 0;
}

/* fs_copy_tree; fs_share_tree when share is not NULL (the files open in
 * this process, which it copies); fs_lazy_take when lazy is not NULL. */
static int fs_tree(const char *src, const char *dst, const fs_open_set *share,
                   fs_lazy *lazy)
{
    struct dirent **list;
    int n, rc = 0;

    /* Few system calls: snapshots are copied for every crash state.  The
     * entries are made in name order, so that the order in which the copy
     * lists them depends on the names only (see fsutil.h). */
    n = scandir(src, &list, NULL, fs_name_order);
    if (n < 0)
        return errno == ENOENT ? 0 : errno; /* nothing: dst stays missing */
    if (mkdir(dst, 0755) != 0 && errno != EEXIST &&
        (errno != ENOENT || (rc = fs_mkdirs(dst)) != 0))
        rc = rc ? rc : errno;
    for (int i = 0; i < n; i++) {
        const struct dirent *e = list[i];
        char a[4096], b[4096];
        unsigned char type = e->d_type;
        if (rc != 0 || strcmp(e->d_name, ".") == 0 ||
            strcmp(e->d_name, "..") == 0)
            continue;
        if ((rc = fs_join(a, sizeof(a), src, e->d_name)) != 0 ||
            (rc = fs_join(b, sizeof(b), dst, e->d_name)) != 0)
            continue;
        if (type == DT_UNKNOWN) {
            struct stat st;
            if (lstat(a, &st) != 0)
                continue;
            type = S_ISDIR(st.st_mode)   ? DT_DIR
                   : S_ISREG(st.st_mode) ? DT_REG
                                         : DT_UNKNOWN;
        }
        if (type == DT_DIR)
            rc = fs_tree(a, b, share, lazy);
        else if (type == DT_REG && lazy != NULL)
            rc = fs_lazy_link(lazy, a, b);
        else if (type == DT_REG && share != NULL)
            rc = fs_share_file(a, b, share);
        else if (type == DT_REG)
            rc = fs_copy_file(a, b);
    }
    for (int i = 0; i < n; i++)
        free(list[i]);
    free(list);
    return rc;
}

int fs_copy_tree(const char *src, const char *dst)
{
    return fs_tree(src, dst, NULL, NULL);
}

int fs_share_tree(const char *src, const char *dst)
{
    fs_open_set open;
    int rc;

    fs_open_files(&open); /* if they cannot be listed, every file is copied */
    rc = fs_tree(src, dst, &open, NULL);
    free(open.f);
    return rc;
}

/* Give path a file of its own with the same bytes (through path.unshare).
 * Returns 0 or an errno. */
static int fs_own_copy(const char *path)
{
    char tmp[4200];
    int rc;

    if (snprintf(tmp, sizeof(tmp), "%s.unshare", path) >= (int)sizeof(tmp))
        return ENAMETOOLONG;
    if ((rc = fs_copy_file(path, tmp)) != 0) {
        unlink(tmp);
        return rc;
    }
    if (rename(tmp, path) != 0) {
        rc = errno;
        unlink(tmp);
        return rc;
    }
    return 0;
}

int fs_unshare(const char *path)
{
    struct stat st;

    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : errno;
    if (!S_ISREG(st.st_mode) || st.st_nlink <= 1)
        return 0;
    return fs_own_copy(path);
}

fs_lazy *fs_lazy_new(void)
{
    return calloc(1, sizeof(fs_lazy));
}

/* Forget the linked files (their copies stay as they are) and what the
 * descriptors were found on. */
static void fs_lazy_clear(fs_lazy *z)
{
    for (size_t i = 0; i < z->n; i++)
        free(z->f[i].path);
    z->n = 0;
    fs_lazy_moved(z);
}

int fs_lazy_take(fs_lazy *z, const char *src, const char *dst)
{
    fs_lazy_clear(z);
    return fs_tree(src, dst, NULL, z);
}

int fs_lazy_add(fs_lazy *z, const char *src, const char *dst)
{
    return fs_tree(src, dst, NULL, z);
}

int fs_lazy_write(fs_lazy *z, int fd, unsigned tag)
{
    struct stat st;
    int rc = 0;

    if (z->n == 0)
        return 0;
    if (tag != 0 && fd >= 0 && (size_t)fd < z->nseen && z->seen[fd] == tag)
        return 0;
    if (fstat(fd, &st) != 0)
        return errno;
    for (size_t i = 0; i < z->n;) {
        if (z->f[i].dev != st.st_dev || z->f[i].ino != st.st_ino) {
            i++;
            continue;
        }
        /* also when it has no other name: a descriptor writes it */
        if ((rc = fs_own_copy(z->f[i].path)) != 0)
            return rc;
        free(z->f[i].path);
        z->f[i] = z->f[--z->n];
    }
    if (tag != 0) {
        if ((size_t)fd >= z->nseen) {
            size_t n = (size_t)fd + 64;
            unsigned *s = realloc(z->seen, n * sizeof(*s));
            if (s == NULL)
                return 0; /* it is looked up again next time */
            memset(s + z->nseen, 0, (n - z->nseen) * sizeof(*s));
            z->seen = s;
            z->nseen = n;
        }
        z->seen[fd] = tag;
    }
    return 0;
}

void fs_lazy_moved(fs_lazy *z)
{
    if (z->nseen > 0)
        memset(z->seen, 0, z->nseen * sizeof(*z->seen));
}

void fs_lazy_free(fs_lazy *z)
{
    if (z == NULL)
        return;
    fs_lazy_clear(z);
    free(z->f);
    free(z->seen);
    free(z);
}

/* Remove what dst holds that src does not, at every level.  Returns 0 or
 * an errno. */
static int fs_prune_tree(const char *dst, const char *src)
{
    struct dirent **list;
    int n, rc = 0;

    n = scandir(dst, &list, NULL, fs_name_order);
    if (n < 0)
        return errno == ENOENT ? 0 : errno;
    for (int i = 0; i < n; i++) {
        const struct dirent *e = list[i];
        char a[4096], b[4096];
        struct stat sa, sb;
        if (rc != 0 || strcmp(e->d_name, ".") == 0 ||
            strcmp(e->d_name, "..") == 0)
            continue;
        if ((rc = fs_join(a, sizeof(a), dst, e->d_name)) != 0 ||
            (rc = fs_join(b, sizeof(b), src, e->d_name)) != 0)
            continue;
        if (lstat(b, &sb) != 0) {
            rc = errno == ENOENT ? fs_rmrf(a) : errno;
            continue;
        }
        if (lstat(a, &sa) != 0) {
            rc = errno;
            continue;
        }
        if (S_ISDIR(sa.st_mode) != S_ISDIR(sb.st_mode))
            rc = fs_rmrf(a); /* made again by the copy */
        else if (S_ISDIR(sa.st_mode))
            rc = fs_prune_tree(a, b);
    }
    for (int i = 0; i < n; i++)
        free(list[i]);
    free(list);
    return rc;
}

int fs_restore_tree(const char *dst, const char *src)
{
    int rc = fs_prune_tree(dst, src);

    /* fs_copy_file opens each file of dst with O_TRUNC: same inode */
    return rc != 0 ? rc : fs_copy_tree(src, dst);
}

int fs_renew_tree(const char *path, const char *tmp)
{
    int rc;

    if ((rc = fs_rmrf(tmp)) != 0 || (rc = fs_copy_tree(path, tmp)) != 0)
        return rc;
    if ((rc = fs_rmrf(path)) != 0)
        return rc;
    return rename(tmp, path) == 0 || errno == ENOENT ? 0 : errno;
}

uint64_t fs_tree_bytes(const char *path)
{
    struct stat st;
    DIR *d;
    struct dirent *e;
    uint64_t total = 0;

    if (lstat(path, &st) != 0)
        return 0;
    if (!S_ISDIR(st.st_mode))
        return S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
    d = opendir(path);
    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL) {
        char sub[4096];
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (fs_join(sub, sizeof(sub), path, e->d_name) != 0)
            continue;
        total += fs_tree_bytes(sub);
    }
    closedir(d);
    return total;
}
