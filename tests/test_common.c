/*
 * test_common.c - the shared helpers of common/: the strict number
 * parsers, the seeded generator (splitmix64, reference values), the file
 * tree helpers and the clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "clk.h"
#include "fsutil.h"
#include "mapkeep.h"
#include "num.h"
#include "rng.h"
#include "testutil.h"

static void test_common_num_u64_strict(void **state)
{
    uint64_t v = 7;

    (void)state;
    assert_int_equal(num_parse_u64("42", 10, &v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(num_parse_u64("0x10", 0, &v), 0);
    assert_int_equal(v, 16);
    assert_int_equal(num_parse_u64("18446744073709551615", 10, &v), 0);
    assert_true(v == UINT64_MAX);
    v = 7;
    assert_int_equal(num_parse_u64("18446744073709551616", 10, &v), -1);
    assert_int_equal(num_parse_u64("1x", 10, &v), -1);
    assert_int_equal(num_parse_u64(" 1", 10, &v), -1);
    assert_int_equal(num_parse_u64("-1", 10, &v), -1);
    assert_int_equal(num_parse_u64("+1", 10, &v), -1);
    assert_int_equal(num_parse_u64("", 10, &v), -1);
    assert_int_equal(v, 7); /* unchanged on error */
}

static void test_common_num_size_suffixes(void **state)
{
    uint64_t v = 7;

    (void)state;
    assert_int_equal(num_parse_size("100", &v), 0);
    assert_int_equal(v, 100);
    assert_int_equal(num_parse_size("4K", &v), 0);
    assert_int_equal(v, 4096);
    assert_int_equal(num_parse_size("64M", &v), 0);
    assert_int_equal(v, 64ull << 20);
    assert_int_equal(num_parse_size("2G", &v), 0);
    assert_int_equal(v, 2ull << 30);
    v = 7;
    static const char *const bad[] = {"",   "K",   "1k",  "1KB",
                                      "-1", " 1M", "1 M", "17179869184G"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(num_parse_size(bad[i], &v), -1);
    assert_int_equal(v, 7);
}

static void test_common_num_double_strict(void **state)
{
    double d = 7;

    (void)state;
    assert_int_equal(num_parse_double("2", &d), 0);
    assert_true(d == 2.0);
    assert_int_equal(num_parse_double("0.5", &d), 0);
    assert_true(d == 0.5);
    assert_int_equal(num_parse_double(".25", &d), 0);
    assert_true(d == 0.25);
    assert_int_equal(num_parse_double("1e3", &d), 0);
    assert_true(d == 1000.0);
    d = 7;
    static const char *const bad[] = {"1x", " 1",  "-1",  "+1",   "",
                                      ".",  "inf", "nan", "0x10", "1e999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(num_parse_double(bad[i], &d), -1);
    assert_true(d == 7.0);
}

/* splitmix64 from state 1234567: the first two outputs of the reference
 * algorithm (state += 0x9E3779B97F4A7C15, then the two xor-shift-multiply
 * rounds), computed independently of this code. */
static void test_common_rng_is_splitmix64(void **state)
{
    rng r = {1234567};

    (void)state;
    assert_true(rng_next(&r) == 6457827717110365317ull);
    assert_true(rng_next(&r) == 3203168211198807973ull);
}

/* rng_seed starts one step in: the harness's recorded seeds rely on it. */
static void test_common_rng_seed_one_step_in(void **state)
{
    rng a, b = {99};

    (void)state;
    rng_seed(&a, 99);
    rng_next(&b);
    assert_true(rng_next(&a) == rng_next(&b));
    assert_true(rng_mix(99) == rng_fmix(99 + RNG_GAMMA));
}

static void test_common_rng_streams_differ(void **state)
{
    rng a = rng_stream(5, 1, 0), b = rng_stream(5, 2, 0),
        c = rng_stream(5, 1, 1), d = rng_stream(5, 1, 0);
    uint64_t x = rng_next(&a);

    (void)state;
    assert_true(x != rng_next(&b));
    assert_true(x != rng_next(&c));
    assert_true(x == rng_next(&d));
    for (int i = 0; i < 1000; i++)
        assert_true(rng_below(&a, 10) < 10);
    assert_true(rng_below(&a, 0) == 0);
}

/* rng_hash tells apart strings that differ in one bit at any place (in the
 * four lanes, in the 8-byte steps after them, in the tail), in the length
 * or in the seed, and gives the same string the same hash; every output
 * bit flips for about half of the one-bit changes. */
static void test_common_rng_hash_sees_every_bit(void **state)
{
    uint8_t buf[300];
    uint64_t flips[64] = {0}, n = 0;

    (void)state;
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(i * 37 + 11);
    for (size_t len = 0; len <= sizeof(buf); len += len < 80 ? 1 : 37) {
        uint64_t h = rng_hash(buf, len, 7);
        assert_true(h == rng_hash(buf, len, 7));
        assert_true(h != rng_hash(buf, len, 8));
        if (len > 0)
            assert_true(h != rng_hash(buf, len - 1, 7));
        for (size_t i = 0; i < len; i++)
            for (int b = 0; b < 8; b++) {
                uint64_t d;
                buf[i] ^= (uint8_t)(1u << b);
                d = h ^ rng_hash(buf, len, 7);
                buf[i] ^= (uint8_t)(1u << b);
                assert_true(d != 0);
                for (int k = 0; k < 64; k++)
                    flips[k] += (d >> k) & 1;
                n++;
            }
    }
    for (int k = 0; k < 64; k++)
        if (flips[k] < n * 45 / 100 || flips[k] > n * 55 / 100)
            fail_msg("output bit %d flipped %llu times in %llu", k,
                     (unsigned long long)flips[k], (unsigned long long)n);
}

/* Keep one of n items by rng_reservoir over N streams: each item must be
 * the kept one about weight/total of the time (within six standard
 * deviations; the seed is fixed, so the test is deterministic). */
static void reservoir_check(const uint64_t *w, size_t n, uint64_t seed)
{
    enum { N = 100000 };
    uint64_t kept[128] = {0}, total = 0;
    rng r;

    assert_true(n <= 128);
    rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++)
        total += w[i];
    for (int s = 0; s < N; s++) {
        uint64_t sum = 0;
        size_t k = n;
        for (size_t i = 0; i < n; i++)
            if (rng_reservoir(&r, &sum, w[i]))
                k = i;
        assert_true(sum == total);
        assert_true(k < n); /* the first item is always taken */
        kept[k]++;
    }
    for (size_t i = 0; i < n; i++) {
        double p = (double)w[i] / (double)total, var = p * (1 - p) / N,
               f = (double)kept[i] / N;
        if ((f - p) * (f - p) > 36 * var || (p == 0 && kept[i] != 0))
            fail_msg("item %zu of weight %llu kept %.4f of the time, "
                     "expected %.4f (variance %.3g)",
                     i, (unsigned long long)w[i], f, p, var);
    }
}

static void test_common_rng_reservoir_uniform(void **state)
{
    uint64_t w[10];

    (void)state;
    for (size_t i = 0; i < 10; i++)
        w[i] = 1;
    reservoir_check(w, 10, 7);
}

/* As a sampling recovery aims: most points weigh 1, two points in the
 * mechanism aimed at weigh 1024 and take almost every draw between
 * them; a zero weight is never kept. */
static void test_common_rng_reservoir_weighted(void **state)
{
    uint64_t w[100];

    (void)state;
    for (size_t i = 0; i < 100; i++)
        w[i] = 1;
    w[40] = w[41] = 1024;
    w[99] = 0;
    reservoir_check(w, 100, 11);
}

static void test_common_fs_copy_and_remove_tree(void **state)
{
    char *dir = tu_tmpdir("common");
    char src[4096], dst[4096], sub[4200];
    const char *f;

    (void)state;
    snprintf(src, sizeof(src), "%s/src", dir);
    snprintf(dst, sizeof(dst), "%s/copy/of/src", dir);
    snprintf(sub, sizeof(sub), "%s/a/b", src);
    assert_int_equal(fs_mkdirs(sub), 0);
    f = tu_path(sub, "file");
    FILE *fp = fopen(f, "w");
    assert_non_null(fp);
    fputs("hello", fp);
    fclose(fp);
    assert_int_equal(fs_copy_tree(src, dst), 0);
    assert_true(tu_tree_equal(src, dst));
    assert_int_equal(fs_tree_bytes(dst), 5);
    assert_int_equal(fs_rmrf(src), 0);
    assert_false(tu_exists(src));
    assert_int_equal(fs_rmrf(src), 0); /* missing is fine */
    /* a missing source leaves the destination missing */
    assert_int_equal(fs_copy_tree(src, tu_path(dir, "none")), 0);
    assert_false(tu_exists(tu_path(dir, "none")));
    assert_int_equal(fs_rmrf(dir), 0);
    free(dir);
}

/* A mapping given back is the next take's, when large enough; the
 * smallest large enough is taken; a forked child starts without them. */
static void test_common_mapkeep_reuses_mappings(void **state)
{
    size_t c1, c2, c3, c4;
    uint8_t *a, *b, *c, *d;
    pid_t pid;
    int st;

    (void)state;
    a = mapkeep_take(100000, &c1);
    b = mapkeep_take(3000000, &c2);
    assert_non_null(a);
    assert_non_null(b);
    assert_true(c1 >= 100000 && c2 >= 3000000);
    memset(a, 1, c1);
    memset(b, 2, c2);
    mapkeep_give(a, c1);
    mapkeep_give(b, c2);
    c = mapkeep_take(50000, &c3); /* the smaller one fits */
    assert_ptr_equal(c, a);
    assert_int_equal(c3, c1);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* the kept one is not the child's: it gets a mapping of its own */
        size_t cc;
        uint8_t *x = mapkeep_take(2000000, &cc);
        _exit(x != NULL && x != b && cc >= 2000000 ? 0 : 1);
    }
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    d = mapkeep_take(2000000, &c4);
    assert_ptr_equal(d, b);
    mapkeep_give(c, c3);
    mapkeep_give(d, c4);
    mapkeep_give(NULL, 0);
}

/* How many of the pages of [p, p + n) are in memory (mincore). */
static size_t common_resident(const void *p, size_t n)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE), np = (n + pg - 1) / pg, k = 0;
    unsigned char *v = malloc(np);

    assert_non_null(v);
    assert_int_equal(mincore((void *)p, n, v), 0);
    for (size_t i = 0; i < np; i++)
        k += v[i] & 1;
    free(v);
    return k;
}

/* mapkeep_take_written makes the pages of the bytes asked for before
 * they are written (mapkeep_take leaves a new mapping's to fault in);
 * the rest of the mapping stays untouched. */
static void test_common_mapkeep_written_populates(void **state)
{
    /* larger than what the test above leaves kept: new mappings (of
     * 8 MiB); past n, a huge page may reach 2 MiB on */
    size_t pg = (size_t)sysconf(_SC_PAGESIZE), n = (size_t)5 << 20,
           slack = (size_t)2 << 20, c1, c2;
    uint8_t *a, *b;
    void *probe;

    (void)state;
    probe = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                 -1, 0);
    assert_true(probe != MAP_FAILED);
    if (madvise(probe, pg, MADV_POPULATE_WRITE) != 0 && errno == EINVAL) {
        munmap(probe, pg);
        skip(); /* a kernel before 5.14: the pages fault in as written */
    }
    munmap(probe, pg);
    a = mapkeep_take(n, &c1);
    assert_non_null(a);
    assert_int_equal(common_resident(a, n), 0);
    b = mapkeep_take_written(n, &c2);
    assert_non_null(b);
    assert_true(c2 > n + slack);
    assert_int_equal(common_resident(b, n), n / pg);
    assert_int_equal(common_resident(b + n + slack, c2 - n - slack), 0);
    munmap(a, c1);
    munmap(b, c2);
}

/* The names of dir's entries in the order readdir lists them, joined. */
static void common_listing(const char *dir, char *out, size_t len)
{
    DIR *d = opendir(dir);
    struct dirent *e;

    assert_non_null(d);
    out[0] = '\0';
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            snprintf(out + strlen(out), len - strlen(out), "%s/", e->d_name);
    closedir(d);
}

/* Two trees of the same names made in opposite orders (tmpfs lists by
 * when an entry was made): their copies, and each tree renewed in place,
 * list their entries alike, so that a program listing a crash state acts
 * in the same order on a snapshot and on the killed writer's own files. */
static void test_common_fs_copy_tree_order_is_by_name(void **state)
{
    static const char *const names[] = {"000024.log", "CURRENT",
                                        "MANIFEST-000002", "000026.ldb", "LOG"};
    enum { N = sizeof(names) / sizeof(names[0]) };
    char *dir = tu_tmpdir("common");
    char a[4096], b[4096], la[256], lb[256];

    (void)state;
    snprintf(a, sizeof(a), "%s/a", dir);
    snprintf(b, sizeof(b), "%s/b", dir);
    assert_int_equal(fs_mkdirs(a), 0);
    assert_int_equal(fs_mkdirs(b), 0);
    for (int i = 0; i < N; i++) {
        FILE *fa = fopen(tu_path(a, names[i]), "w");
        FILE *fb = fopen(tu_path(b, names[N - 1 - i]), "w");
        assert_non_null(fa);
        assert_non_null(fb);
        fclose(fa);
        fclose(fb);
    }
    assert_int_equal(fs_copy_tree(a, tu_path(dir, "ca")), 0);
    assert_int_equal(fs_copy_tree(b, tu_path(dir, "cb")), 0);
    common_listing(tu_path(dir, "ca"), la, sizeof(la));
    common_listing(tu_path(dir, "cb"), lb, sizeof(lb));
    assert_string_equal(la, lb);
    assert_int_equal(fs_renew_tree(a, tu_path(dir, "tmp")), 0);
    assert_int_equal(fs_renew_tree(b, tu_path(dir, "tmp")), 0);
    common_listing(a, la, sizeof(la));
    common_listing(b, lb, sizeof(lb));
    assert_string_equal(la, lb);
    assert_true(tu_tree_equal(a, tu_path(dir, "ca")));
    assert_false(tu_exists(tu_path(dir, "tmp")));
    assert_int_equal(fs_rmrf(dir), 0);
    free(dir);
}

/* Make path hold len bytes of b (created, or truncated in place). */
static void common_put(const char *path, const char *b, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, b, len), (ssize_t)len);
    close(fd);
}

/* fs_restore_tree: dst ends up holding src's files and directories and
 * nothing else, and a file that was there keeps its inode, so that a
 * descriptor open on it reads the restored bytes. */
static void test_common_fs_restore_tree_in_place(void **state)
{
    char *dir = tu_tmpdir("common");
    char dst[4200], src[4200], buf[16] = {0};
    struct stat before, after;
    int fd;

    (void)state;
    snprintf(dst, sizeof(dst), "%s/dst", dir);
    snprintf(src, sizeof(src), "%s/src", dir);
    assert_int_equal(fs_mkdirs(tu_path(src, "sub")), 0);
    common_put(tu_path(src, "db"), "saved", 5);
    common_put(tu_path(src, "sub/kept"), "k", 1);
    assert_int_equal(fs_copy_tree(src, dst), 0);
    fd = open(tu_path(dst, "db"), O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(fstat(fd, &before), 0);
    /* what a branch leaves: the file changed and grown, a new file, a new
     * directory, one removed, one turned into a directory */
    common_put(tu_path(dst, "db"), "changed and longer", 18);
    common_put(tu_path(dst, "db-journal"), "j", 1);
    assert_int_equal(fs_mkdirs(tu_path(dst, "new/deeper")), 0);
    assert_int_equal(unlink(tu_path(dst, "sub/kept")), 0);
    assert_int_equal(fs_mkdirs(tu_path(dst, "sub/kept")), 0);
    assert_int_equal(fs_restore_tree(dst, src), 0);
    assert_true(tu_tree_equal(dst, src));
    assert_int_equal(stat(tu_path(dst, "db"), &after), 0);
    assert_true(after.st_ino == before.st_ino);
    assert_int_equal(pread(fd, buf, sizeof(buf), 0), 5);
    assert_string_equal(buf, "saved");
    close(fd);
    assert_int_equal(fs_rmrf(dir), 0);
    free(dir);
}

/* The inode of path. */
static ino_t common_ino(const char *path)
{
    struct stat st;

    assert_int_equal(lstat(path, &st), 0);
    return st.st_ino;
}

/* A graveyard shared with a crash state: its files are linked, but one
 * this process holds open (it may still write it) is copied; breaking the
 * sharing before a write leaves the other name's bytes as they were. */
static void test_common_fs_share_tree_links_all_but_open_files(void **state)
{
    char *dir = tu_tmpdir("common");
    char src[4096], dst[4096], a[4200], b[4200], c[4200], d[4200];
    int fd;

    (void)state;
    snprintf(src, sizeof(src), "%s/grave", dir);
    snprintf(dst, sizeof(dst), "%s/snap/grave", dir);
    snprintf(a, sizeof(a), "%s/g1", src);
    snprintf(b, sizeof(b), "%s/g2", src);
    assert_int_equal(fs_mkdirs(src), 0);
    common_put(a, "closed", 6);
    common_put(b, "open", 4);
    fd = open(b, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(fs_share_tree(src, dst), 0);
    assert_true(tu_tree_equal(src, dst));
    snprintf(c, sizeof(c), "%s/g1", dst);
    snprintf(d, sizeof(d), "%s/g2", dst);
    assert_true(common_ino(c) == common_ino(a)); /* linked */
    assert_true(common_ino(d) != common_ino(b)); /* open: copied */
    close(fd);
    /* unsharing gives c an inode of its own; a stays as it was */
    assert_int_equal(fs_unshare(c), 0);
    assert_true(common_ino(c) != common_ino(a));
    common_put(c, "changed", 7);
    assert_int_equal(fs_tree_bytes(src), strlen("closed") + strlen("open"));
    {
        char buf[16] = {0};
        FILE *fp = fopen(a, "r");
        assert_non_null(fp);
        assert_non_null(fgets(buf, sizeof(buf), fp));
        fclose(fp);
        assert_string_equal(buf, "closed");
    }
    /* a file with one name, or none, is left alone */
    assert_int_equal(fs_unshare(c), 0);
    assert_int_equal(fs_unshare(tu_path(dir, "missing")), 0);
    assert_int_equal(fs_rmrf(dir), 0);
    free(dir);
}

/* The bytes of the file at path, as a string. */
static char *common_get(const char *path)
{
    static char buf[64];
    size_t n;
    uint8_t *b = tu_read_file(path, &n);

    assert_non_null(b);
    assert_true(n < sizeof(buf));
    memcpy(buf, b, n);
    buf[n] = '\0';
    free(b);
    return buf;
}

/* A lazy copy keeps the tree as it was when taken while the process goes
 * on changing it through descriptors it hands over first: a file written
 * (or truncated) gets a copy of its own, also one written after its name
 * is gone or moved; a file not changed stays linked; a descriptor on
 * another file under the same tag is looked at after fs_lazy_moved only. */
static void test_common_fs_lazy_copy_keeps_the_state(void **state)
{
    char *dir = tu_tmpdir("common");
    char src[4096], dst[4096], sub[4200], f[4][4300], g[4][4300];
    const char *names[4] = {"a", "b", "c", "sub/d"};
    fs_lazy *z = fs_lazy_new();
    int fd[4];

    (void)state;
    assert_non_null(z);
    snprintf(src, sizeof(src), "%s/db", dir);
    snprintf(dst, sizeof(dst), "%s/probe", dir);
    snprintf(sub, sizeof(sub), "%s/sub", src);
    assert_int_equal(fs_mkdirs(sub), 0);
    for (int i = 0; i < 4; i++) {
        snprintf(f[i], sizeof(f[i]), "%s/%s", src, names[i]);
        snprintf(g[i], sizeof(g[i]), "%s/%s", dst, names[i]);
        common_put(f[i], "old", 3);
        fd[i] = open(f[i], O_RDWR);
        assert_true(fd[i] >= 0);
    }
    assert_int_equal(fs_lazy_take(z, src, dst), 0);
    assert_true(tu_tree_equal(src, dst));
    for (int i = 0; i < 4; i++)
        assert_true(common_ino(f[i]) == common_ino(g[i]));
    /* a: written; b: truncated after its name moved; sub/d: written after
     * its name is gone; c: untouched */
    assert_int_equal(fs_lazy_write(z, fd[0], 1), 0);
    assert_int_equal(pwrite(fd[0], "new", 3, 0), 3);
    assert_int_equal(rename(f[1], tu_path(src, "moved")), 0);
    fs_lazy_moved(z);
    assert_int_equal(fs_lazy_write(z, fd[1], 2), 0);
    assert_int_equal(ftruncate(fd[1], 1), 0);
    assert_int_equal(unlink(f[3]), 0);
    assert_int_equal(fs_lazy_write(z, fd[3], 4), 0);
    assert_int_equal(pwrite(fd[3], "gone", 4, 0), 4);
    assert_string_equal(common_get(g[0]), "old");
    assert_string_equal(common_get(g[1]), "old");
    assert_string_equal(common_get(g[3]), "old");
    assert_string_equal(common_get(f[0]), "new");
    assert_true(common_ino(g[2]) == common_ino(f[2])); /* still linked */
    assert_true(common_ino(g[0]) != common_ino(f[0]));
    /* a descriptor looked at under a tag is not looked at again under
     * it, even on another file, until names change */
    assert_int_equal(fs_lazy_write(z, fd[0], 9), 0);
    assert_int_equal(dup2(fd[2], fd[0]), fd[0]);
    assert_int_equal(fs_lazy_write(z, fd[0], 9), 0);
    assert_true(common_ino(g[2]) == common_ino(f[2]));
    fs_lazy_moved(z);
    assert_int_equal(fs_lazy_write(z, fd[0], 9), 0);
    assert_int_equal(pwrite(fd[0], "C", 1, 0), 1);
    assert_string_equal(common_get(g[2]), "old");
    assert_string_equal(common_get(f[2]), "Cld");
    /* a new take starts again: the earlier copy's files are its own */
    assert_int_equal(fs_rmrf(tu_path(dir, "p2")), 0);
    assert_int_equal(fs_lazy_take(z, src, tu_path(dir, "p2")), 0);
    assert_int_equal(fs_lazy_write(z, fd[2], 3), 0);
    assert_int_equal(pwrite(fd[2], "D", 1, 0), 1);
    assert_string_equal(common_get(tu_path(tu_path(dir, "p2"), "c")), "Cld");
    assert_string_equal(common_get(g[2]), "old");
    /* a second tree in the same copy: its files are kept the same way */
    {
        char gr[4200], pg[4200], gf[4300];
        int gfd;
        snprintf(gr, sizeof(gr), "%s/grave", dir);
        snprintf(pg, sizeof(pg), "%s/pgrave", dir);
        snprintf(gf, sizeof(gf), "%s/g", gr);
        assert_int_equal(fs_mkdirs(gr), 0);
        common_put(gf, "grave", 5);
        gfd = open(gf, O_RDWR);
        assert_true(gfd >= 0);
        assert_int_equal(fs_lazy_add(z, gr, pg), 0);
        assert_int_equal(fs_lazy_write(z, gfd, 5), 0);
        assert_int_equal(pwrite(gfd, "G", 1, 0), 1);
        assert_string_equal(common_get(tu_path(pg, "g")), "grave");
        assert_string_equal(common_get(gf), "Grave");
        close(gfd);
    }
    for (int i = 0; i < 4; i++)
        close(fd[i]);
    fs_lazy_free(z);
    assert_int_equal(fs_rmrf(dir), 0);
    free(dir);
}

/* fs_reopen: the same number, access mode, flags and offset, on the file
 * now at the path. */
static void test_common_fs_reopen_keeps_number_flags_offset(void **state)
{
    char *dir = tu_tmpdir("common");
    char a[4200], b[4200], buf[8];
    int fd;

    (void)state;
    snprintf(a, sizeof(a), "%s/a", dir);
    snprintf(b, sizeof(b), "%s/b", dir);
    fd = open(a, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "1234", 4), 4);
    assert_int_equal(rename(a, b), 0);
    assert_int_equal(fs_copy_file(b, a), 0);
    assert_int_equal(lseek(fd, 2, SEEK_SET), 2);
    assert_int_equal(fs_reopen(fd, a), 0);
    assert_int_equal(lseek(fd, 0, SEEK_CUR), 2);
    assert_true(fcntl(fd, F_GETFL) & O_APPEND);
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    assert_int_equal(write(fd, "5", 1), 1);
    assert_int_equal(tu_file_size(a), 5);
    assert_int_equal(tu_file_size(b), 4);
    assert_int_equal(pread(fd, buf, 5, 0), 5);
    assert_memory_equal(buf, "12345", 5);
    close(fd);
    assert_int_not_equal(fs_reopen(fd, a), 0); /* not open */
    assert_int_equal(fs_rmrf(dir), 0);
    free(dir);
}

static void test_common_fs_join_refuses_truncation(void **state)
{
    char buf[8];

    (void)state;
    assert_int_equal(fs_join(buf, sizeof(buf), "ab", "cd"), 0);
    assert_string_equal(buf, "ab/cd");
    assert_int_not_equal(fs_join(buf, sizeof(buf), "abcd", "efgh"), 0);
}

static void test_common_clock_is_monotonic(void **state)
{
    uint64_t a = clk_now_us(), b = clk_now_ns(), c = clk_now_us();

    (void)state;
    assert_true(a <= c);
    assert_true(b / 1000 >= a && b / 1000 <= c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_common_num_u64_strict),
        cmocka_unit_test(test_common_rng_reservoir_uniform),
        cmocka_unit_test(test_common_rng_reservoir_weighted),
        cmocka_unit_test(test_common_num_size_suffixes),
        cmocka_unit_test(test_common_num_double_strict),
        cmocka_unit_test(test_common_rng_is_splitmix64),
        cmocka_unit_test(test_common_rng_seed_one_step_in),
        cmocka_unit_test(test_common_rng_streams_differ),
        cmocka_unit_test(test_common_rng_hash_sees_every_bit),
        cmocka_unit_test(test_common_fs_copy_and_remove_tree),
        cmocka_unit_test(test_common_fs_copy_tree_order_is_by_name),
        cmocka_unit_test(test_common_mapkeep_reuses_mappings),
        cmocka_unit_test(test_common_mapkeep_written_populates),
        cmocka_unit_test(test_common_fs_share_tree_links_all_but_open_files),
        cmocka_unit_test(test_common_fs_lazy_copy_keeps_the_state),
        cmocka_unit_test(test_common_fs_restore_tree_in_place),
        cmocka_unit_test(test_common_fs_reopen_keeps_number_flags_offset),
        cmocka_unit_test(test_common_fs_join_refuses_truncation),
        cmocka_unit_test(test_common_clock_is_monotonic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
