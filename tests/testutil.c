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

void tu_rmrf(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;

    if (d == NULL) {
        unlink(path);
        return;
    }
    while ((e = readdir(d)) != NULL) {
        char *sub;
        struct stat st;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (asprintf(&sub, "%s/%s", path, e->d_name) < 0)
            continue;
        if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
            tu_rmrf(sub);
        else
            unlink(sub);
        free(sub);
    }
    closedir(d);
    rmdir(path);
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

int tu_copy_dir(const char *src, const char *dst)
{
    DIR *d;
    struct dirent *e;
    int rc = 0;

    if (mkdir(dst, 0755) != 0 && errno != EEXIST)
        return -1;
    d = opendir(src);
    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL && rc == 0) {
        char *from, *to, buf[65536];
        int in, out;
        ssize_t n;
        struct stat st;

        if (asprintf(&from, "%s/%s", src, e->d_name) < 0)
            return -1;
        if (asprintf(&to, "%s/%s", dst, e->d_name) < 0) {
            free(from);
            return -1;
        }
        if (lstat(from, &st) == 0 && S_ISREG(st.st_mode)) {
            in = open(from, O_RDONLY);
            out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (in < 0 || out < 0)
                rc = -1;
            while (rc == 0 && (n = read(in, buf, sizeof(buf))) > 0)
                if (write(out, buf, (size_t)n) != n)
                    rc = -1;
            if (in >= 0)
                close(in);
            if (out >= 0)
                close(out);
        }
        free(from);
        free(to);
    }
    closedir(d);
    return rc;
}

uint64_t tu_next(tu_rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

uint64_t tu_below(tu_rng *r, uint64_t n)
{
    return n == 0 ? 0 : tu_next(r) % n;
}

void tu_fill(tu_rng *r, void *buf, size_t len)
{
    uint8_t *p = buf;

    while (len > 0) {
        uint64_t v = tu_next(r);
        size_t n = len < 8 ? len : 8;
        memcpy(p, &v, n);
        p += n;
        len -= n;
    }
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
