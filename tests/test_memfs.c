/*
 * test_memfs.c - the I/O table over files in memory: the POSIX semantics
 * the engine relies on (names and descriptors, holes, removal and
 * replacement of open files, locks, directories), loading a directory
 * and writing it back, copies, and the engine itself run on it, whose files are
 * those it makes on disk.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crashlab.h"
#include "fsutil.h"
#include "memfs.h"
#include "testutil.h"

typedef struct fx {
    char *tmp;
    char dir[4096];
    memfs *m;
    const cl_io *io;
} fx;

static int fx_setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));

    f->tmp = tu_tmpdir("memfs");
    snprintf(f->dir, sizeof(f->dir), "%s/db", f->tmp);
    f->m = memfs_new(1 << 20);
    assert_non_null(f->m);
    f->io = memfs_table(f->m);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    fx *f = *state;

    memfs_free(f->m);
    fs_rmrf(f->tmp);
    free(f->tmp);
    free(f);
    return 0;
}

static const char *at(const fx *f, const char *name)
{
    return tu_path(f->dir, name);
}

static void write_file(const char *path, const void *buf, size_t len)
{
    FILE *fp = fopen(path, "wb");

    assert_non_null(fp);
    assert_int_equal(fwrite(buf, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

static int io_open(const fx *f, const char *name, int flags)
{
    int fd = -1;

    assert_int_equal(f->io->open(f->io->ctx, at(f, name), flags, &fd), 0);
    return fd;
}

static void io_write(const fx *f, int fd, const char *s, uint64_t off)
{
    assert_int_equal(f->io->pwrite(f->io->ctx, fd, s, strlen(s), off), 0);
}

/* The file's whole content, as a string (the tests write text). */
static const char *io_all(const fx *f, int fd)
{
    static char buf[256];
    uint64_t size = 0;
    size_t n = 0;

    assert_int_equal(f->io->filesize(f->io->ctx, fd, &size), 0);
    assert_true(size < sizeof(buf));
    assert_int_equal(f->io->pread(f->io->ctx, fd, buf, sizeof(buf), 0, &n), 0);
    assert_int_equal(n, size);
    buf[n] = '\0';
    return buf;
}

static void test_memfs_names_and_descriptors(void **state)
{
    fx *f = *state;
    int fd, fd2;
    char buf[16];
    size_t n = 99;
    uint64_t size;

    /* no directory yet: nothing can be made in it */
    assert_int_equal(f->io->open(f->io->ctx, at(f, "a"), CL_IO_RDWR, &fd),
                     ENOENT);
    assert_int_equal(
        f->io->open(f->io->ctx, at(f, "a"), CL_IO_RDWR | CL_IO_CREATE, &fd),
        ENOENT);
    assert_int_equal(f->io->dirsync(f->io->ctx, f->dir), ENOENT);
    assert_int_equal(f->io->mkdir(f->io->ctx, f->dir), 0);
    assert_int_equal(f->io->mkdir(f->io->ctx, f->dir), EEXIST);
    assert_int_equal(f->io->dirsync(f->io->ctx, f->dir), 0);
    assert_int_equal(f->io->open(f->io->ctx, f->dir, CL_IO_RDONLY, &fd),
                     EISDIR);

    fd = io_open(f, "a", CL_IO_RDWR | CL_IO_CREATE | CL_IO_EXCL);
    assert_int_equal(f->io->open(f->io->ctx, at(f, "a"),
                                 CL_IO_RDWR | CL_IO_CREATE | CL_IO_EXCL, &fd2),
                     EEXIST);
    /* a write past the end leaves zeros before it */
    io_write(f, fd, "xy", 4);
    assert_int_equal(f->io->filesize(f->io->ctx, fd, &size), 0);
    assert_int_equal(size, 6);
    assert_int_equal(f->io->pread(f->io->ctx, fd, buf, sizeof(buf), 0, &n), 0);
    assert_int_equal(n, 6);
    assert_memory_equal(buf, "\0\0\0\0xy", 6);
    /* a read at or past the end reads nothing */
    assert_int_equal(f->io->pread(f->io->ctx, fd, buf, 4, 6, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(f->io->pread(f->io->ctx, fd, buf, 4, 100, &n), 0);
    assert_int_equal(n, 0);
    /* truncation cuts, then grows with zeros */
    assert_int_equal(f->io->ftruncate(f->io->ctx, fd, 5), 0);
    assert_int_equal(f->io->ftruncate(f->io->ctx, fd, 7), 0);
    assert_int_equal(f->io->pread(f->io->ctx, fd, buf, sizeof(buf), 0, &n), 0);
    assert_int_equal(n, 7);
    assert_memory_equal(buf, "\0\0\0\0x\0\0", 7);
    assert_int_equal(f->io->fsync(f->io->ctx, fd), 0);
    assert_int_equal(f->io->fdatasync(f->io->ctx, fd), 0);

    /* a read-only descriptor does not write */
    fd2 = io_open(f, "a", CL_IO_RDONLY);
    assert_int_equal(f->io->pwrite(f->io->ctx, fd2, "z", 1, 0), EBADF);
    assert_int_equal(f->io->ftruncate(f->io->ctx, fd2, 0), EINVAL);
    assert_int_equal(f->io->close(f->io->ctx, fd2), 0);
    /* a closed descriptor is gone */
    assert_int_equal(f->io->close(f->io->ctx, fd2), EBADF);
    assert_int_equal(f->io->pread(f->io->ctx, fd2, buf, 1, 0, &n), EBADF);
    assert_int_equal(f->io->fsync(f->io->ctx, 12345), EBADF);
    assert_int_equal(f->io->close(f->io->ctx, fd), 0);
}

static void test_memfs_removed_and_replaced_files_live_on(void **state)
{
    fx *f = *state;
    int a, b, c;

    assert_int_equal(f->io->mkdir(f->io->ctx, f->dir), 0);
    a = io_open(f, "a", CL_IO_RDWR | CL_IO_CREATE);
    io_write(f, a, "first", 0);
    /* removed: gone by name, still there through its descriptor */
    assert_int_equal(f->io->unlink(f->io->ctx, at(f, "a")), 0);
    assert_int_equal(f->io->unlink(f->io->ctx, at(f, "a")), ENOENT);
    assert_int_equal(f->io->open(f->io->ctx, at(f, "a"), CL_IO_RDONLY, &b),
                     ENOENT);
    assert_string_equal(io_all(f, a), "first");
    /* a new file of that name is another file */
    b = io_open(f, "a", CL_IO_RDWR | CL_IO_CREATE);
    assert_string_equal(io_all(f, b), "");
    io_write(f, a, "FIRST", 0);
    assert_string_equal(io_all(f, b), "");

    /* a rename over an open file: the name moves, the old file lives on
     * for its descriptor */
    c = io_open(f, "c", CL_IO_RDWR | CL_IO_CREATE);
    io_write(f, c, "third", 0);
    io_write(f, b, "second", 0);
    assert_int_equal(f->io->rename(f->io->ctx, at(f, "c"), at(f, "a")), 0);
    assert_int_equal(f->io->open(f->io->ctx, at(f, "c"), CL_IO_RDONLY, &a),
                     ENOENT);
    assert_string_equal(io_all(f, b), "second");
    assert_int_equal(f->io->close(f->io->ctx, b), 0);
    b = io_open(f, "a", CL_IO_RDONLY);
    assert_string_equal(io_all(f, b), "third");
    assert_int_equal(f->io->rename(f->io->ctx, at(f, "nope"), at(f, "x")),
                     ENOENT);
    assert_int_equal(
        f->io->rename(f->io->ctx, at(f, "a"), "/no/such/directory/a"), ENOENT);
    /* renaming a file onto itself changes nothing */
    assert_int_equal(f->io->rename(f->io->ctx, at(f, "a"), at(f, "a")), 0);
    assert_string_equal(io_all(f, b), "third");
    assert_int_equal(f->io->close(f->io->ctx, a), 0);
    assert_int_equal(f->io->close(f->io->ctx, b), 0);
    assert_int_equal(f->io->close(f->io->ctx, c), 0);
}

static void test_memfs_lock_is_held_by_one_descriptor(void **state)
{
    fx *f = *state;
    int l1, l2;

    assert_int_equal(f->io->mkdir(f->io->ctx, f->dir), 0);
    assert_int_equal(f->io->lock(f->io->ctx, at(f, "LOCK"), &l1), 0);
    assert_int_equal(f->io->lock(f->io->ctx, at(f, "LOCK"), &l2), EWOULDBLOCK);
    assert_int_equal(f->io->unlock(f->io->ctx, l1), 0);
    assert_int_equal(f->io->lock(f->io->ctx, at(f, "LOCK"), &l2), 0);
    assert_int_equal(f->io->unlock(f->io->ctx, l2), 0);
}

static void test_memfs_load_and_store(void **state)
{
    fx *f = *state;
    char sub[4300], out[4300];
    uint8_t big[3000];
    size_t n;
    uint8_t *got;
    int fd;

    assert_int_equal(fs_mkdirs(f->dir), 0);
    write_file(at(f, "keep"), "kept", 4);
    write_file(at(f, "gone"), "gone", 4);
    memset(big, 0xa5, sizeof(big));
    write_file(at(f, "big"), big, sizeof(big));
    snprintf(sub, sizeof(sub), "%s/sub", f->dir);
    assert_int_equal(fs_mkdirs(sub), 0);

    /* too large for the bytes allowed: nothing loaded */
    assert_int_equal(memfs_load(f->m, f->dir, 100), EFBIG);
    assert_int_equal(f->io->dirsync(f->io->ctx, f->dir), ENOENT);
    assert_int_equal(memfs_load(f->m, f->dir, 1 << 20), 0);
    fd = io_open(f, "big", CL_IO_RDWR);
    got = malloc(sizeof(big));
    assert_int_equal(f->io->pread(f->io->ctx, fd, got, sizeof(big), 0, &n), 0);
    assert_int_equal(n, sizeof(big));
    assert_memory_equal(got, big, sizeof(big));
    free(got);
    /* the directories above it exist */
    assert_int_equal(f->io->dirsync(f->io->ctx, f->tmp), 0);
    assert_int_equal(f->io->mkdir(f->io->ctx, f->tmp), EEXIST);

    /* changes stay in memory until stored */
    io_write(f, fd, "new", 0);
    assert_int_equal(f->io->close(f->io->ctx, fd), 0);
    assert_int_equal(f->io->unlink(f->io->ctx, at(f, "gone")), 0);
    fd = io_open(f, "made", CL_IO_RDWR | CL_IO_CREATE);
    io_write(f, fd, "made", 0);
    assert_int_equal(f->io->close(f->io->ctx, fd), 0);
    assert_true(tu_exists(at(f, "gone")));
    assert_false(tu_exists(at(f, "made")));

    /* stored to another directory: what the file system has now */
    snprintf(out, sizeof(out), "%s/out", f->tmp);
    assert_int_equal(memfs_store_at(f->m, f->dir, out), 0);
    assert_false(tu_exists(tu_path(out, "gone")));
    got = tu_read_file(tu_path(out, "made"), &n);
    assert_int_equal(n, 4);
    assert_memory_equal(got, "made", 4);
    free(got);
    got = tu_read_file(tu_path(out, "big"), &n);
    assert_int_equal(n, sizeof(big));
    assert_memory_equal(got, "new", 3);
    assert_memory_equal(got + 3, big + 3, sizeof(big) - 3);
    free(got);
    got = tu_read_file(tu_path(out, "keep"), &n);
    assert_int_equal(n, 4);
    assert_memory_equal(got, "kept", 4);
    free(got);
    assert_false(tu_exists(tu_path(out, "sub"))); /* files only */

    /* a directory that does not exist is not made; one made in memory is
     * made on disk by the store */
    assert_int_equal(fs_rmrf(f->dir), 0);
    assert_int_equal(memfs_load(f->m, f->dir, 1 << 20), 0);
    assert_int_equal(f->io->dirsync(f->io->ctx, f->dir), ENOENT);
    assert_int_equal(memfs_store_at(f->m, f->dir, f->dir), 0);
    assert_false(tu_exists(f->dir));
    assert_int_equal(f->io->mkdir(f->io->ctx, f->dir), 0);
    fd = io_open(f, "x", CL_IO_RDWR | CL_IO_CREATE);
    assert_int_equal(f->io->close(f->io->ctx, fd), 0);
    assert_int_equal(memfs_store_at(f->m, f->dir, f->dir), 0);
    assert_true(tu_exists(at(f, "x")));
}

/* The directory's entries in the order readdir gives them, names joined
 * by spaces. */
static void listing(const char *dir, char *out, size_t len)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t n = 0;

    assert_non_null(d);
    out[0] = '\0';
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n += (size_t)snprintf(out + n, len - n, "%s ", e->d_name);
    closedir(d);
}

/* The engine finds a new directory's surroundings as on disk: only the
 * directories above it that exist there are made.  And files written out
 * are made in name order, as a copy makes them, whatever order they were
 * made in: the two directories list them alike. */
static void test_memfs_parents_and_store_order(void **state)
{
    fx *f = *state;
    char deep[4096], a[4096], b[4096], copy[4096];
    const char *names[] = {"wal-3", "data", "lock", "wal-10", "a", "z"};
    char l1[256], l2[256];

    snprintf(a, sizeof(a), "%s/a", f->tmp);
    snprintf(b, sizeof(b), "%s/a/b", f->tmp);
    snprintf(deep, sizeof(deep), "%s/a/b/db", f->tmp);
    assert_int_equal(mkdir(a, 0755), 0);
    memfs_reset(f->m);
    assert_int_equal(memfs_make_parents(f->m, deep), 0);
    assert_int_equal(f->io->dirsync(f->io->ctx, a), 0);
    assert_int_equal(f->io->dirsync(f->io->ctx, b), ENOENT);
    assert_int_equal(f->io->mkdir(f->io->ctx, a), EEXIST);
    assert_int_equal(f->io->mkdir(f->io->ctx, b), 0);

    assert_int_equal(memfs_make_parents(f->m, f->dir), 0);
    assert_int_equal(f->io->mkdir(f->io->ctx, f->dir), 0);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        int fd = io_open(f, names[i], CL_IO_RDWR | CL_IO_CREATE);
        io_write(f, fd, names[i], 0);
        assert_int_equal(f->io->close(f->io->ctx, fd), 0);
    }
    snprintf(copy, sizeof(copy), "%s/copy", f->tmp);
    assert_int_equal(memfs_store_at(f->m, f->dir, f->dir), 0);
    assert_int_equal(fs_copy_tree(f->dir, copy), 0);
    listing(f->dir, l1, sizeof(l1));
    listing(copy, l2, sizeof(l2));
    /* tmpfs (TMPDIR, /dev/shm by default) lists entries in the order
     * they were made, newest first; a file system that lists by a hash
     * of the names lists both alike whatever their order (and the test
     * then holds nothing to it) */
    assert_string_equal(l1, l2);
    fs_rmrf(copy);
}

/* memfs_real_fds: each descriptor is a number the process holds (a
 * descriptor of /dev/null, open for reading and writing), given back at
 * its close; only before the first descriptor. */
static void test_memfs_real_fds(void **state)
{
    fx *f = *state;
    char link[64], target[64];
    int fd, fd2, other;
    ssize_t n;

    memfs_reset(f->m);
    assert_int_equal(memfs_make_parents(f->m, f->dir), 0);
    assert_int_equal(f->io->mkdir(f->io->ctx, f->dir), 0);
    fd = io_open(f, "a", CL_IO_RDWR | CL_IO_CREATE);
    assert_int_equal(memfs_real_fds(f->m), EBUSY);
    assert_int_equal(f->io->close(f->io->ctx, fd), 0);
    fx_teardown(state);
    fx_setup(state);
    f = *state;
    assert_int_equal(memfs_real_fds(f->m), 0);
    assert_int_equal(memfs_make_parents(f->m, f->dir), 0);
    assert_int_equal(f->io->mkdir(f->io->ctx, f->dir), 0);
    fd = io_open(f, "a", CL_IO_RDWR | CL_IO_CREATE);
    fd2 = io_open(f, "b", CL_IO_RDWR | CL_IO_CREATE);
    assert_true(fd >= 0 && fd2 >= 0 && fd != fd2);
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    n = readlink(link, target, sizeof(target) - 1);
    assert_true(n > 0);
    target[n] = '\0';
    assert_string_equal(target, "/dev/null");
    assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR);
    io_write(f, fd, "kept", 0);
    assert_int_equal(f->io->close(f->io->ctx, fd), 0);
    assert_int_equal(fcntl(fd, F_GETFD), -1);
    /* the number is the system's to give again */
    other = open("/dev/null", O_RDONLY);
    assert_int_equal(other, fd);
    close(other);
    assert_int_equal(f->io->close(f->io->ctx, fd2), 0);
}

/* A copy is a file system of its own: what changes in one after it was
 * made does not show in the other; its descriptors are not copied.  And
 * it can be written to another directory on disk, beside what is there. */
static void test_memfs_copy_and_store_at(void **state)
{
    fx *f = *state;
    memfs *c = memfs_new(1 << 20);
    const cl_io *cio = memfs_table(c);
    char other[4096], grave[4096];
    const uint8_t *d;
    size_t n = 0;
    uint8_t *got;
    int fd, fd2 = -1;

    assert_non_null(c);
    snprintf(grave, sizeof(grave), "%s/grave", f->tmp);
    snprintf(other, sizeof(other), "%s/other", f->tmp);
    assert_int_equal(fs_mkdirs(f->dir), 0);
    assert_int_equal(memfs_load(f->m, f->dir, 1 << 20), 0);
    fd = io_open(f, "a", CL_IO_RDWR | CL_IO_CREATE);
    io_write(f, fd, "first", 0);
    assert_int_equal(f->io->mkdir(f->io->ctx, grave), 0);
    assert_int_equal(memfs_put(f->m, tu_path(grave, "g1"), "gone", 4), 0);
    /* something already in the copy goes with the reset */
    assert_int_equal(memfs_put(c, "/elsewhere/x", "x", 1), 0);

    assert_int_equal(memfs_copy(c, f->m), 0);
    assert_null(memfs_get(c, "/elsewhere/x", &n));
    io_write(f, fd, "SECOND", 0);
    assert_int_equal(f->io->unlink(f->io->ctx, tu_path(grave, "g1")), 0);
    d = memfs_get(c, at(f, "a"), &n);
    assert_non_null(d);
    assert_int_equal(n, 5);
    assert_memory_equal(d, "first", 5);
    assert_non_null(memfs_get(c, tu_path(grave, "g1"), &n));
    /* the directories came along; the descriptor did not */
    assert_int_equal(cio->dirsync(cio->ctx, grave), 0);
    assert_int_equal(cio->close(cio->ctx, fd), EBADF);
    assert_int_equal(
        cio->open(cio->ctx, at(f, "b"), CL_IO_RDWR | CL_IO_CREATE, &fd2), 0);
    assert_null(memfs_get(f->m, at(f, "b"), &n));
    assert_int_equal(cio->close(cio->ctx, fd2), 0);
    assert_int_equal(f->io->close(f->io->ctx, fd), 0);

    /* stored elsewhere: the directory made, its files beside those there */
    assert_int_equal(fs_mkdirs(other), 0);
    write_file(tu_path(other, "old"), "old", 3);
    assert_int_equal(memfs_store_at(c, grave, other), 0);
    assert_true(tu_exists(tu_path(other, "old")));
    got = tu_read_file(tu_path(other, "g1"), &n);
    assert_int_equal(n, 4);
    assert_memory_equal(got, "gone", 4);
    free(got);
    assert_false(tu_exists(tu_path(other, "a")));
    snprintf(other, sizeof(other), "%s/probe", f->tmp);
    assert_int_equal(memfs_store_at(c, f->dir, other), 0);
    got = tu_read_file(tu_path(other, "a"), &n);
    assert_int_equal(n, 5);
    assert_memory_equal(got, "first", 5);
    free(got);
    assert_true(tu_exists(tu_path(other, "b")));
    assert_false(tu_exists(at(f, "a"))); /* the source stays as it was */
    /* a directory the file system does not have: nothing made */
    snprintf(other, sizeof(other), "%s/none", f->tmp);
    assert_int_equal(memfs_store_at(c, "/no/such", other), 0);
    assert_false(tu_exists(other));
    memfs_free(c);
}

static void test_memfs_put_get_and_size_limit(void **state)
{
    fx *f = *state;
    const uint8_t *d;
    size_t n = 0;
    int fd;

    /* put makes the directories above the file */
    assert_int_equal(memfs_put(f->m, "/p/q/file", "abc", 3), 0);
    assert_int_equal(f->io->dirsync(f->io->ctx, "/p/q"), 0);
    assert_int_equal(f->io->dirsync(f->io->ctx, "/p"), 0);
    d = memfs_get(f->m, "/p/q/file", &n);
    assert_non_null(d);
    assert_int_equal(n, 3);
    assert_memory_equal(d, "abc", 3);
    assert_int_equal(memfs_put(f->m, "/p/q/file", "z", 1), 0);
    d = memfs_get(f->m, "/p/q/file", &n);
    assert_int_equal(n, 1);
    assert_memory_equal(d, "z", 1);
    assert_null(memfs_get(f->m, "/p/q/none", &n));
    /* no file grows past the limit (1 MiB here) */
    assert_int_equal(memfs_put(f->m, "/p/big", NULL, (1 << 20) + 1), EFBIG);
    assert_int_equal(f->io->open(f->io->ctx, "/p/q/file", CL_IO_RDWR, &fd), 0);
    assert_int_equal(f->io->pwrite(f->io->ctx, fd, "x", 1, 1 << 20), EFBIG);
    assert_int_equal(f->io->pwrite(f->io->ctx, fd, "x", 1, UINT64_MAX), EFBIG);
    assert_int_equal(f->io->ftruncate(f->io->ctx, fd, (1 << 20) + 1), EFBIG);
    assert_int_equal(f->io->pwrite(f->io->ctx, fd, "x", 1, (1 << 20) - 1), 0);
    assert_int_equal(f->io->close(f->io->ctx, fd), 0);
}

static void put_keys(cl_db *db, int from, int to)
{
    for (int i = from; i < to; i++) {
        char k[32], v[64];
        snprintf(k, sizeof(k), "key%05d", i);
        memset(v, 'a' + i % 26, sizeof(v));
        assert_int_equal(cl_put(db, k, strlen(k), v, (size_t)(i % 60) + 1), 0);
    }
}

static void expect_keys(cl_db *db, int n)
{
    for (int i = 0; i < n; i++) {
        char k[32], v[64];
        size_t len = 0;
        snprintf(k, sizeof(k), "key%05d", i);
        assert_int_equal(cl_get(db, k, strlen(k), v, sizeof(v), &len), 0);
        assert_int_equal(len, (size_t)(i % 60) + 1);
        assert_int_equal(v[0], 'a' + i % 26);
    }
    assert_int_equal(cl_check(db, NULL, 0), 0);
}

/* The engine on memfs makes the files it makes on disk: a database made
 * in memory and stored opens on disk with every key, and one made on
 * disk and loaded opens in memory with every key, after recoveries on
 * both sides. */
static void test_memfs_runs_the_engine(void **state)
{
    fx *f = *state;
    cl_options o;
    cl_db *db = NULL;
    char ref[4300];

    memset(&o, 0, sizeof(o));
    o.io = f->io;
    o.no_close_checkpoint = 1; /* the reopen is a recovery of the log */
    assert_int_equal(memfs_load(f->m, f->dir, 1 << 20), 0);
    assert_int_equal(cl_open(f->dir, &o, &db), 0);
    put_keys(db, 0, 300);
    assert_int_equal(cl_checkpoint(db), 0);
    put_keys(db, 300, 400);
    assert_int_equal(cl_close(db), 0);
    assert_int_equal(cl_open(f->dir, &o, &db), 0);
    expect_keys(db, 400);
    assert_int_equal(cl_close(db), 0);
    assert_false(tu_exists(f->dir));
    assert_int_equal(memfs_store_at(f->m, f->dir, f->dir), 0);

    /* on disk: every key, then more, recovered from the log */
    o.io = NULL;
    assert_int_equal(cl_open(f->dir, &o, &db), 0);
    expect_keys(db, 400);
    put_keys(db, 400, 500);
    assert_int_equal(cl_close(db), 0);
    snprintf(ref, sizeof(ref), "%s/ref", f->tmp);
    assert_int_equal(fs_copy_tree(f->dir, ref), 0);

    /* back in memory: the same recovery, and its files are those the
     * same recovery makes on disk */
    o.io = f->io;
    assert_int_equal(memfs_load(f->m, f->dir, 1 << 20), 0);
    assert_int_equal(cl_open(f->dir, &o, &db), 0);
    expect_keys(db, 500);
    assert_int_equal(cl_close(db), 0);
    assert_int_equal(fs_rmrf(f->dir), 0);
    assert_int_equal(memfs_store_at(f->m, f->dir, f->dir), 0);
    o.io = NULL;
    assert_int_equal(cl_open(ref, &o, &db), 0);
    expect_keys(db, 500);
    assert_int_equal(cl_close(db), 0);
    if (!tu_tree_equal(f->dir, ref))
        fail_msg("memory and disk differ: %s", tu_tree_why());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_memfs_names_and_descriptors,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_memfs_removed_and_replaced_files_live_on, fx_setup,
            fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_memfs_lock_is_held_by_one_descriptor, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_memfs_load_and_store, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_memfs_parents_and_store_order,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_memfs_real_fds, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_memfs_copy_and_store_at, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_memfs_put_get_and_size_limit,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_memfs_runs_the_engine, fx_setup,
                                        fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
