/*
 * test_powerloss.c - the power-cut image builder on hand-made shadow logs:
 * what each device model may and may not leave, sector sizes, directory
 * entries kept or lost, data lost to a failed fsync, synced data never
 * touched, determinism by seed, and one run against a real killed writer.
 *
 * The hand-made logs are written with the shadow writer API by small helpers
 * (hm_*) that, like crashio, append the record and then perform the
 * operation, so the directory holds what the page cache would.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crashio.h"
#include "crashlab.h"
#include "powerloss.h"
#include "shadow.h"
#include "testutil.h"

#define NSEEDS 200

typedef struct hm {
    char *root;
    char db[4096], grave[4096], log[4096], snap[4096];
    shadow_writer *w;
    int ngrave;
} hm;

static int hm_setup(void **state)
{
    hm *h = calloc(1, sizeof(*h));

    h->root = tu_tmpdir("plimg");
    snprintf(h->db, sizeof(h->db), "%s/db", h->root);
    snprintf(h->grave, sizeof(h->grave), "%s/grave", h->root);
    snprintf(h->log, sizeof(h->log), "%s/shadow.log", h->root);
    snprintf(h->snap, sizeof(h->snap), "%s/snap", h->root);
    assert_int_equal(mkdir(h->db, 0755), 0);
    assert_int_equal(mkdir(h->grave, 0755), 0);
    assert_int_equal(shadow_writer_open(h->log, h->grave, &h->w), 0);
    *state = h;
    return 0;
}

static int hm_teardown(void **state)
{
    hm *h = *state;

    shadow_writer_close(h->w);
    fs_rmrf(h->root);
    free(h->root);
    free(h);
    return 0;
}

static const char *P(hm *h, const char *name)
{
    return name[0] ? tu_path(h->db, name) : h->db;
}

static void fill(uint8_t *b, int c, size_t n)
{
    memset(b, c, n);
}

/* A durable file that existed before the log began. */
static void hm_pre(hm *h, const char *name, int c, size_t len)
{
    uint8_t *b = malloc(len + 1);
    int fd = open(P(h, name), O_WRONLY | O_CREAT | O_TRUNC, 0644);

    assert_true(fd >= 0);
    fill(b, c, len);
    assert_int_equal(write(fd, b, len), (ssize_t)len);
    close(fd);
    free(b);
}

/* Append the WRITE record of len bytes at off of path, with the file's
 * bytes there now as its old bytes.  Returns its seq. */
static uint64_t hm_log_write(hm *h, const char *path, uint64_t off, size_t len)
{
    int64_t size = tu_file_size(path);
    uint8_t *old = malloc(len + 1);
    shadow_rec r = {.type = SHADOW_WRITE, .path = path, .off = off, .len = len};

    assert_true(size >= 0);
    r.old_size = (uint64_t)size;
    r.old_len = off < (uint64_t)size ? (uint64_t)size - off : 0;
    if (r.old_len > len)
        r.old_len = len;
    if (r.old_len)
        assert_int_equal(tu_read_at(path, off, old, r.old_len), 0);
    r.old_bytes = old;
    assert_int_equal(shadow_append(h->w, &r), 0);
    free(old);
    return r.seq;
}

static void hm_write_path(hm *h, const char *path, uint64_t off, int c,
                          size_t len)
{
    uint8_t *neu = malloc(len);

    fill(neu, c, len);
    hm_log_write(h, path, off, len);
    assert_int_equal(tu_write_at(path, off, neu, len), 0);
    free(neu);
}

/* A write of len bytes c at off that fails after its first `landed`
 * bytes reached the file, logged as crashio logs it: the write, its
 * FAILED record, then a write of the part that landed (whose old bytes
 * are the file's after the call). */
static void hm_short_write(hm *h, const char *name, uint64_t off, int c,
                           size_t len, size_t landed)
{
    const char *p = P(h, name);
    uint8_t *neu = malloc(len);
    uint64_t seq = hm_log_write(h, p, off, len);
    shadow_rec f = {.type = SHADOW_FAILED, .ref = seq, .err = ENOSPC};

    fill(neu, c, len);
    assert_int_equal(tu_write_at(p, off, neu, landed), 0);
    assert_int_equal(shadow_append(h->w, &f), 0);
    hm_log_write(h, p, off, landed);
    free(neu);
}

static void hm_write(hm *h, const char *name, uint64_t off, int c, size_t len)
{
    hm_write_path(h, P(h, name), off, c, len);
}

static void hm_truncate(hm *h, const char *name, uint64_t len)
{
    const char *p = P(h, name);
    int64_t size = tu_file_size(p);
    uint8_t *cut = NULL;
    shadow_rec r = {.type = SHADOW_TRUNCATE, .path = p, .new_size = len};

    r.old_size = (uint64_t)size;
    if (len < (uint64_t)size) {
        r.old_len = (uint64_t)size - len;
        cut = malloc(r.old_len);
        assert_int_equal(tu_read_at(p, len, cut, r.old_len), 0);
        r.old_bytes = cut;
    }
    assert_int_equal(shadow_append(h->w, &r), 0);
    assert_int_equal(tu_truncate(p, len), 0);
    free(cut);
}

static void hm_sync(hm *h, const char *name)
{
    shadow_rec r = {.type = SHADOW_SYNC,
                    .path = P(h, name),
                    .covers = shadow_next_seq(h->w)};

    assert_int_equal(shadow_append(h->w, &r), 0);
}

static void hm_fsync_failed(hm *h, const char *name)
{
    shadow_rec r = {.type = SHADOW_FSYNC_FAILED,
                    .path = P(h, name),
                    .covers = shadow_next_seq(h->w),
                    .err = EIO};

    assert_int_equal(shadow_append(h->w, &r), 0);
}

static void hm_dirsync(hm *h, const char *name)
{
    shadow_rec r = {.type = SHADOW_DIRSYNC,
                    .path = P(h, name),
                    .covers = shadow_next_seq(h->w)};

    assert_int_equal(shadow_append(h->w, &r), 0);
}

static void hm_create(hm *h, const char *name)
{
    shadow_rec r = {.type = SHADOW_CREATE, .path = P(h, name)};
    int fd;

    assert_int_equal(shadow_append(h->w, &r), 0);
    fd = open(P(h, name), O_WRONLY | O_CREAT | O_EXCL, 0644);
    assert_true(fd >= 0);
    close(fd);
}

static void hm_mkdir(hm *h, const char *name)
{
    shadow_rec r = {.type = SHADOW_MKDIR, .path = P(h, name)};

    assert_int_equal(shadow_append(h->w, &r), 0);
    assert_int_equal(mkdir(P(h, name), 0755), 0);
}

/* Rename; a replaced target goes to the graveyard when keep is set. */
static void hm_rename(hm *h, const char *from, const char *to, int keep)
{
    char grave[4200], pf[4096], pt[4096];
    shadow_rec r = {.type = SHADOW_RENAME};

    snprintf(pf, sizeof(pf), "%s", P(h, from));
    snprintf(pt, sizeof(pt), "%s", P(h, to));
    snprintf(grave, sizeof(grave), "%s/g%d", h->grave, ++h->ngrave);
    r.path = pf;
    r.to = pt;
    r.to_existed = tu_exists(pt);
    r.grave = r.to_existed && keep ? grave : NULL;
    assert_int_equal(shadow_append(h->w, &r), 0);
    if (r.grave)
        assert_int_equal(rename(pt, grave), 0);
    assert_int_equal(rename(pf, pt), 0);
}

static void hm_unlink(hm *h, const char *name, int keep)
{
    char grave[4200];
    shadow_rec r = {.type = SHADOW_UNLINK, .path = P(h, name)};

    snprintf(grave, sizeof(grave), "%s/g%d", h->grave, ++h->ngrave);
    r.grave = keep ? grave : NULL;
    assert_int_equal(shadow_append(h->w, &r), 0);
    if (keep)
        assert_int_equal(rename(P(h, name), grave), 0);
    else
        assert_int_equal(unlink(P(h, name)), 0);
}

/* The log is complete: keep a pristine copy of db/ and grave/. */
static void hm_done(hm *h)
{
    char p[4200];

    shadow_writer_close(h->w);
    h->w = NULL;
    fs_rmrf(h->snap);
    assert_int_equal(mkdir(h->snap, 0755), 0);
    snprintf(p, sizeof(p), "%s/db", h->snap);
    assert_int_equal(fs_copy_tree(h->db, p), 0);
    snprintf(p, sizeof(p), "%s/grave", h->snap);
    assert_int_equal(fs_copy_tree(h->grave, p), 0);
}

/* Put db/ and grave/ back as the writer left them. */
static void hm_restore(hm *h)
{
    char p[4200];

    fs_rmrf(h->db);
    fs_rmrf(h->grave);
    snprintf(p, sizeof(p), "%s/db", h->snap);
    assert_int_equal(fs_copy_tree(p, h->db), 0);
    snprintf(p, sizeof(p), "%s/grave", h->snap);
    assert_int_equal(fs_copy_tree(p, h->grave), 0);
}

/* Restore, then build the image under file-system model fs. */
static plimg_summary hm_apply_fs(hm *h, plimg_model m, plimg_fs fs,
                                 uint32_t sector, uint64_t seed, int garbage)
{
    plimg_config cfg = {.model = m,
                        .fs = fs,
                        .sector = sector,
                        .seed = seed,
                        .garbage = garbage};
    plimg_summary s;
    int rc;

    hm_restore(h);
    rc = plimg_apply(h->db, h->log, &cfg, &s);
    if (rc != 0)
        fprintf(stderr, "plimg_apply: %d: %s\n", rc, s.error);
    assert_int_equal(rc, 0);
    return s;
}

/* Restore, then build the image (posix-strict). */
static plimg_summary hm_apply(hm *h, plimg_model m, uint32_t sector,
                              uint64_t seed, int garbage)
{
    return hm_apply_fs(h, m, PLIMG_FS_POSIX_STRICT, sector, seed, garbage);
}

/* Fail the test, naming the first difference, unless trees a and b match. */
static void assert_same_tree(const char *a, const char *b)
{
    if (!tu_tree_equal(a, b))
        fail_msg("trees differ: %s", tu_tree_why());
}

/* 1 if the graveyard holds no file. */
static int grave_empty(hm *h)
{
    char p[4200];
    int any = 0;

    for (int i = 1; i <= h->ngrave; i++) {
        snprintf(p, sizeof(p), "%s/g%d", h->grave, i);
        any |= tu_exists(p);
    }
    return !any;
}

/* The content of a file in the image, or NULL if it does not exist. */
static uint8_t *img(hm *h, const char *name, size_t *len)
{
    *len = 0;
    return tu_read_file(P(h, name), len);
}

/* 1 if b[off, off+len) is all c. */
static int all(const uint8_t *b, size_t off, size_t len, int c)
{
    for (size_t i = off; i < off + len; i++)
        if (b[i] != (uint8_t)c)
            return 0;
    return 1;
}

/* Fail unless the image's file name is len bytes, all c. */
static void assert_img_all(hm *h, const char *name, size_t len, int c)
{
    size_t got;
    uint8_t *b = img(h, name, &got);

    assert_int_equal(got, len);
    assert_true(all(b, 0, len, c));
    free(b);
}

static const plimg_model every_model[] = {
    PLIMG_ANY_SUBSET,         PLIMG_PER_FILE_PREFIX,     PLIMG_ORDERED,
    PLIMG_DROP_UNSYNCED_DATA, PLIMG_DROP_UNSYNCED_FILES,
};
#define NMODELS 5

static void test_powerloss_synced_data_never_touched(void **state)
{
    hm *h = *state;

    hm_pre(h, "f", 'D', 4096);
    hm_write(h, "f", 0, 'S', 2048);
    hm_sync(h, "f");
    hm_write(h, "f", 1024, 'U', 2048);
    hm_write(h, "f", 5000, 'V', 1000);
    hm_done(h);
    for (int mi = 0; mi < NMODELS; mi++)
        for (uint32_t u = 512; u <= 4096; u *= 8)
            for (uint64_t seed = 1; seed <= 40; seed++) {
                size_t len;
                plimg_summary s = hm_apply(h, every_model[mi], u, seed, 0);
                uint8_t *b = img(h, "f", &len);
                assert_int_equal(s.writes_unsynced, 2);
                assert_non_null(b);
                assert_true(len >= 4096 && len <= 6000);
                assert_true(all(b, 0, 1024, 'S'));
                for (size_t i = 1024; i < 2048; i++)
                    assert_true(b[i] == 'S' || b[i] == 'U');
                for (size_t i = 2048; i < 3072; i++)
                    assert_true(b[i] == 'D' || b[i] == 'U');
                assert_true(all(b, 3072, 1024, 'D'));
                for (size_t i = 4096; i < len; i++)
                    assert_true(b[i] == 0 || (b[i] == 'V' && i >= 5000));
                if (every_model[mi] >= PLIMG_DROP_UNSYNCED_DATA) {
                    assert_int_equal(len, 4096);
                    assert_true(all(b, 1024, 1024, 'S'));
                    assert_true(all(b, 2048, 1024, 'D'));
                }
                free(b);
            }
}

static void test_powerloss_any_subset_sector_versions(void **state)
{
    hm *h = *state;
    /* Versions per sector: 0 durable, 1 after W1, 2 after W2. */
    int seen[3][3] = {{0}}, later_without_earlier = 0;

    hm_pre(h, "f", 'D', 2048);
    hm_write(h, "f", 0, 'a', 1024);   /* W1: sectors 0, 1 */
    hm_write(h, "f", 256, 'b', 512);  /* W2: halves of sectors 0, 1 */
    hm_write(h, "f", 1024, 'c', 512); /* W3: sector 2 */
    hm_done(h);
    for (uint64_t seed = 1; seed <= NSEEDS; seed++) {
        size_t len;
        int v[3] = {0, 0, 0};
        hm_apply(h, PLIMG_ANY_SUBSET, 512, seed, 0);
        uint8_t *b = img(h, "f", &len);
        assert_int_equal(len, 2048);
        /* Sector 0. */
        if (all(b, 0, 512, 'D'))
            v[0] = 0;
        else if (all(b, 0, 512, 'a'))
            v[0] = 1;
        else if (all(b, 0, 256, 'a') && all(b, 256, 256, 'b'))
            v[0] = 2;
        else
            fail_msg("seed %llu: sector 0 holds no allowed version",
                     (unsigned long long)seed);
        /* Sector 1. */
        if (all(b, 512, 512, 'D'))
            v[1] = 0;
        else if (all(b, 512, 512, 'a'))
            v[1] = 1;
        else if (all(b, 512, 256, 'b') && all(b, 768, 256, 'a'))
            v[1] = 2;
        else
            fail_msg("seed %llu: sector 1 holds no allowed version",
                     (unsigned long long)seed);
        /* Sector 2: durable or W3; sector 3: durable. */
        if (all(b, 1024, 512, 'D'))
            v[2] = 0;
        else if (all(b, 1024, 512, 'c'))
            v[2] = 1;
        else
            fail_msg("seed %llu: sector 2", (unsigned long long)seed);
        assert_true(all(b, 1536, 512, 'D'));
        for (int i = 0; i < 3; i++)
            seen[i][v[i]]++;
        later_without_earlier += v[2] == 1 && v[0] == 0 && v[1] == 0;
        free(b);
    }
    /* Every version of every sector shows up, independently. */
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            assert_true(seen[i][j] > 0);
    assert_true(seen[2][0] > 0 && seen[2][1] > 0 && seen[2][2] == 0);
    assert_true(later_without_earlier > 0);
}

/* Classify write i (2 sectors of 512 at sector 2i, filled with c, over a
 * durable file of '.'): 2 full, 1 partly there, 0 absent. */
static int wstate(const uint8_t *b, int i, int c)
{
    int s0 = all(b, (size_t)i * 1024, 512, c);
    int s1 = all(b, (size_t)i * 1024 + 512, 512, c);

    assert_true(s0 || all(b, (size_t)i * 1024, 512, '.'));
    assert_true(s1 || all(b, (size_t)i * 1024 + 512, 512, '.'));
    return s0 + s1;
}

/* Check that states st[0..n) are a prefix: full ones, at most one partial
 * or absent one, then absent ones.  Returns the number of full ones. */
static int check_prefix(const int *st, int n)
{
    int i = 0;

    while (i < n && st[i] == 2)
        i++;
    for (int j = i + 1; j < n; j++)
        assert_int_equal(st[j], 0);
    return i;
}

static void test_powerloss_per_file_prefix_in_issue_order(void **state)
{
    hm *h = *state;
    int prefixes[5] = {0}, partial = 0, f_ahead = 0, g_ahead = 0;

    hm_pre(h, "f", '.', 4096);
    hm_pre(h, "g", '.', 4096);
    for (int i = 0; i < 4; i++) {
        hm_write(h, "f", (uint64_t)i * 1024, 'A' + i, 1024);
        hm_write(h, "g", (uint64_t)i * 1024, 'a' + i, 1024);
    }
    hm_done(h);
    for (uint64_t seed = 1; seed <= NSEEDS; seed++) {
        size_t lf, lg;
        int sf[4], sg[4], pf, pg;
        hm_apply(h, PLIMG_PER_FILE_PREFIX, 512, seed, 0);
        uint8_t *bf = img(h, "f", &lf), *bg = img(h, "g", &lg);
        assert_int_equal(lf, 4096);
        assert_int_equal(lg, 4096);
        for (int i = 0; i < 4; i++) {
            sf[i] = wstate(bf, i, 'A' + i);
            sg[i] = wstate(bg, i, 'a' + i);
            partial += sf[i] == 1;
        }
        pf = check_prefix(sf, 4);
        pg = check_prefix(sg, 4);
        prefixes[pf]++;
        f_ahead += pf > pg;
        g_ahead += pg > pf;
        free(bf);
        free(bg);
    }
    for (int i = 0; i <= 4; i++)
        assert_true(prefixes[i] > 0);
    assert_true(partial > 0);
    /* Files are independent of each other. */
    assert_true(f_ahead > 0 && g_ahead > 0);
}

static void test_powerloss_ordered_is_one_global_prefix(void **state)
{
    hm *h = *state;
    int prefixes[5] = {0}, created = 0;

    hm_pre(h, "f", '.', 2048);
    hm_pre(h, "g", '.', 2048);
    hm_write(h, "f", 0, 'A', 1024);    /* op 0 */
    hm_write(h, "g", 0, 'B', 1024);    /* op 1 */
    hm_create(h, "h");                 /* op 2 */
    hm_write(h, "f", 1024, 'C', 1024); /* op 3 */
    hm_write(h, "g", 1024, 'E', 1024); /* op 4 */
    hm_done(h);
    for (uint64_t seed = 1; seed <= NSEEDS; seed++) {
        size_t lf, lg;
        int st[5], p;
        hm_apply(h, PLIMG_ORDERED, 512, seed, 0);
        uint8_t *bf = img(h, "f", &lf), *bg = img(h, "g", &lg);
        st[0] = wstate(bf, 0, 'A');
        st[1] = wstate(bg, 0, 'B');
        st[2] = tu_exists(P(h, "h")) ? 2 : 0;
        st[3] = wstate(bf, 1, 'C');
        st[4] = wstate(bg, 1, 'E');
        p = check_prefix(st, 5);
        prefixes[p < 4 ? p : 4]++;
        created += st[2] == 2;
        free(bf);
        free(bg);
    }
    for (int i = 0; i <= 4; i++)
        assert_true(prefixes[i] > 0);
    assert_true(created > 0 && created < NSEEDS);
}

static void test_powerloss_sector_size_is_the_atomic_unit(void **state)
{
    hm *h = *state;
    int mixed512 = 0, units[2] = {0, 0};

    hm_pre(h, "f", 'D', 4096);
    hm_write(h, "f", 0, 'n', 4096);
    hm_done(h);
    for (uint64_t seed = 1; seed <= NSEEDS; seed++) {
        size_t len;
        uint8_t *b;
        int news = 0;

        hm_apply(h, PLIMG_ANY_SUBSET, 4096, seed, 0);
        b = img(h, "f", &len);
        assert_true(all(b, 0, 4096, 'D') || all(b, 0, 4096, 'n'));
        free(b);

        hm_apply(h, PLIMG_ORDERED, 512, seed, 0);
        b = img(h, "f", &len);
        for (int i = 0; i < 8; i++) {
            int n = all(b, (size_t)i * 512, 512, 'n');
            assert_true(n || all(b, (size_t)i * 512, 512, 'D'));
            news += n;
        }
        mixed512 += news > 0 && news < 8;
        free(b);

        plimg_summary s = hm_apply(h, PLIMG_RANDOM, 0, seed, 0);
        assert_true(s.sector == 512 || s.sector == 4096);
        assert_true(s.model >= PLIMG_ANY_SUBSET && s.model <= PLIMG_ORDERED);
        units[s.sector == 4096]++;
    }
    assert_true(mixed512 > 0);
    assert_true(units[0] > 0 && units[1] > 0);
}

static void test_powerloss_unsynced_extension_does_not_grow_file(void **state)
{
    hm *h = *state;
    int sizes_seen = 0, gap_zero = 0, short_seen = 0;

    hm_pre(h, "f", 'D', 1000);
    hm_write(h, "f", 1000, 'x', 1000); /* [1000, 2000) */
    hm_write(h, "f", 3000, 'y', 500);  /* [3000, 3500) */
    hm_done(h);
    for (uint64_t seed = 1; seed <= NSEEDS; seed++) {
        size_t len;
        hm_apply(h, PLIMG_ANY_SUBSET, 512, seed, 0);
        uint8_t *b = img(h, "f", &len);
        assert_true(len >= 1000 && len <= 3500);
        assert_true(all(b, 0, 1000, 'D'));
        for (size_t i = 1000; i < len; i++) {
            if (b[i] == 'x')
                assert_true(i < 2000);
            else if (b[i] == 'y')
                assert_true(i >= 3000);
            else
                assert_int_equal(b[i], 0);
        }
        /* The size is where the last byte that reached the disk ends. */
        if (len > 1000)
            assert_true(b[len - 1] != 0);
        short_seen += len == 1000;
        sizes_seen += len == 3500;
        gap_zero += len == 3500 && all(b, 1000, 1000, 0);
        free(b);
    }
    assert_true(short_seen > 0 && sizes_seen > 0 && gap_zero > 0);
}

static void test_powerloss_fsync_failed_data_always_dropped(void **state)
{
    hm *h = *state;

    hm_pre(h, "f", 'D', 2048);
    hm_write(h, "f", 0, 'L', 1024); /* lost */
    hm_fsync_failed(h, "f");
    hm_write(h, "f", 512, 'K', 1024); /* then synced */
    hm_sync(h, "f");
    hm_done(h);
    for (int mi = 0; mi < NMODELS; mi++)
        for (uint64_t seed = 1; seed <= 40; seed++) {
            size_t len;
            plimg_summary s = hm_apply(h, every_model[mi], 512, seed, 0);
            uint8_t *b = img(h, "f", &len);
            assert_int_equal(len, 2048);
            assert_true(all(b, 0, 512, 'D'));
            assert_true(all(b, 512, 1024, 'K'));
            assert_true(all(b, 1536, 512, 'D'));
            assert_int_equal(s.writes_lost_fsync, 1);
            assert_int_equal(s.writes_unsynced, 1);
            free(b);
        }
}

/* A lost write that began past the end of the file (a hole before it)
 * leaves the file as long as it was: undoing it must not keep the hole. */
static void test_powerloss_lost_write_past_the_end_leaves_no_hole(void **state)
{
    hm *h = *state;

    hm_pre(h, "f", 'D', 64);
    hm_write(h, "f", 4464, 'L', 4096); /* past the end: a hole before it */
    hm_write(h, "f", 64, 'M', 4400);   /* fills the hole */
    hm_fsync_failed(h, "f");
    hm_done(h);
    for (int mi = 0; mi < NMODELS; mi++)
        for (uint64_t seed = 1; seed <= 20; seed++) {
            plimg_summary s = hm_apply(h, every_model[mi], 512, seed, 0);
            assert_img_all(h, "f", 64, 'D');
            assert_int_equal(s.writes_lost_fsync, 2);
        }
}

/* The part of a failed short write that landed is an unsynced write of
 * its own: a model that drops unsynced data drops it, and the bytes from
 * before the call come back. */
static void test_powerloss_short_write_part_is_unsynced(void **state)
{
    hm *h = *state;

    hm_create(h, "f");
    hm_write(h, "f", 0, 'A', 1024);
    hm_sync(h, "f");
    hm_dirsync(h, "");
    hm_short_write(h, "f", 1024, 'B', 1024, 512);
    hm_done(h);
    for (uint64_t seed = 1; seed <= 20; seed++) {
        hm_apply(h, PLIMG_DROP_UNSYNCED_DATA, 512, seed, 0);
        assert_img_all(h, "f", 1024, 'A');
    }
}

/* An unsynced overwrite, then a short write over it: each write's bytes
 * in the image are its own, whichever of the two a prefix keeps. */
static void test_powerloss_short_write_over_unsynced_write(void **state)
{
    hm *h = *state;
    int only_first = 0;

    hm_pre(h, "f", 'D', 1024);
    hm_write(h, "f", 0, 'A', 1024);
    hm_short_write(h, "f", 0, 'B', 1024, 512);
    hm_done(h);
    for (uint64_t seed = 1; seed <= 60; seed++) {
        size_t len;
        hm_apply(h, PLIMG_PER_FILE_PREFIX, 512, seed, 0);
        uint8_t *b = img(h, "f", &len);
        assert_int_equal(len, 1024);
        /* a prefix of the writes (the last kept one perhaps torn at a
         * sector): each sector is D, A, or the landed part of B */
        only_first += all(b, 0, 1024, 'A');
        assert_true(all(b, 0, 512, 'D') || all(b, 0, 512, 'A') ||
                    all(b, 0, 512, 'B'));
        assert_true(all(b, 512, 512, 'D') || all(b, 512, 512, 'A'));
        free(b);
    }
    assert_true(only_first > 0);
}

/* fsyncgate: the fsync after a failed one succeeds, and the engine that
 * retries it sees success, but what the failed one lost is still lost. */
static void test_powerloss_retried_fsync_does_not_bring_back_lost(void **state)
{
    hm *h = *state;

    hm_pre(h, "f", 'D', 2048);
    hm_write(h, "f", 0, 'L', 1024); /* covered by the failed fsync */
    hm_fsync_failed(h, "f");
    hm_sync(h, "f"); /* the retry: succeeds, writes nothing again */
    hm_write(h, "f", 2048, 'K', 512); /* after it, synced */
    hm_sync(h, "f");
    hm_done(h);
    for (int mi = 0; mi < NMODELS; mi++)
        for (uint64_t seed = 1; seed <= 20; seed++) {
            size_t len;
            plimg_summary s = hm_apply(h, every_model[mi], 512, seed, 0);
            uint8_t *b = img(h, "f", &len);
            assert_int_equal(len, 2560);
            assert_true(all(b, 0, 2048, 'D'));
            assert_true(all(b, 2048, 512, 'K'));
            assert_int_equal(s.writes_lost_fsync, 1);
            free(b);
        }
}

static void test_powerloss_lost_create_means_no_file(void **state)
{
    hm *h = *state;
    int exists = 0, gone = 0;
    size_t len;
    uint8_t *b;

    hm_create(h, "f");
    hm_write(h, "f", 0, 'a', 100);
    hm_sync(h, "f"); /* data durable, but the entry is not */
    hm_create(h, "g");
    hm_write(h, "g", 0, 'b', 100); /* nothing durable */
    hm_done(h);
    for (uint64_t seed = 1; seed <= NSEEDS; seed++) {
        plimg_summary s = hm_apply(h, PLIMG_ANY_SUBSET, 512, seed, 0);
        b = img(h, "f", &len);
        if (b) {
            assert_int_equal(len, 100);
            assert_true(all(b, 0, 100, 'a'));
            exists++;
        } else {
            gone++;
        }
        assert_int_equal(s.creates_lost, (b == NULL) + !tu_exists(P(h, "g")));
        free(b);
    }
    assert_true(exists > 0 && gone > 0);

    hm_apply(h, PLIMG_DROP_UNSYNCED_FILES, 0, 1, 0);
    assert_false(tu_exists(P(h, "f")));
    assert_false(tu_exists(P(h, "g")));
    hm_apply(h, PLIMG_DROP_UNSYNCED_DATA, 0, 1, 0);
    b = img(h, "f", &len);
    assert_non_null(b);
    assert_int_equal(len, 100);
    free(b);
    b = img(h, "g", &len);
    assert_non_null(b);
    assert_int_equal(len, 0); /* the file stays, its data does not */
    free(b);
}

/* E1: a file created and fsynced, its directory never synced.  Strict
 * POSIX may lose the file (its entry was not synced); ext4 data=ordered
 * keeps it, its data with it, in every model, while a file that was
 * never synced may still vanish. */
static void test_powerloss_ext4_fsync_keeps_the_new_entry(void **state)
{
    hm *h = *state;
    int strict_gone = 0, g_gone = 0;

    hm_mkdir(h, "sub");
    hm_create(h, "sub/f");
    hm_write(h, "sub/f", 0, 'a', 100);
    hm_sync(h, "sub/f");
    hm_create(h, "g"); /* never synced: no rule keeps it */
    hm_write(h, "g", 0, 'b', 100);
    hm_done(h);
    for (uint64_t seed = 1; seed <= 40; seed++) {
        hm_apply(h, PLIMG_ANY_SUBSET, 512, seed, 0);
        strict_gone += !tu_exists(P(h, "sub/f"));
    }
    assert_true(strict_gone > 0);
    hm_apply(h, PLIMG_DROP_UNSYNCED_FILES, 0, 1, 0);
    assert_false(tu_exists(P(h, "sub/f")));
    for (int mi = 0; mi < NMODELS; mi++)
        for (uint64_t seed = 1; seed <= 20; seed++) {
            size_t len;
            plimg_summary s = hm_apply_fs(h, every_model[mi],
                                          PLIMG_FS_EXT4_ORDERED, 512, seed, 0);
            uint8_t *b = img(h, "sub/f", &len);
            assert_non_null(b); /* the mkdir above it persisted too (M3) */
            assert_int_equal(len, 100);
            assert_true(all(b, 0, 100, 'a'));
            free(b);
            g_gone += !tu_exists(P(h, "g"));
            assert_int_equal(s.fs, PLIMG_FS_EXT4_ORDERED);
        }
    assert_true(g_gone > 0);
}

/* E2: a new version written without fsync and renamed over the old file.
 * Strict POSIX may persist the rename without the data (an empty file);
 * ext4's auto_da_alloc writes the data before the rename is committed:
 * the name holds the old version or the whole new one. */
static void test_powerloss_ext4_replace_rename_carries_data(void **state)
{
    hm *h = *state;
    int empty = 0, fresh = 0, old = 0;

    hm_pre(h, "cfg", 'O', 100);
    hm_create(h, "cfg.tmp");
    hm_write(h, "cfg.tmp", 0, 'N', 100);
    hm_rename(h, "cfg.tmp", "cfg", 1);
    hm_done(h);
    hm_apply(h, PLIMG_DROP_UNSYNCED_DATA, 0, 1, 0);
    assert_int_equal(tu_file_size(P(h, "cfg")), 0);
    for (int mi = 0; mi < NMODELS; mi++)
        for (uint64_t seed = 1; seed <= 40; seed++) {
            size_t len;
            uint8_t *b;
            hm_apply(h, every_model[mi], 512, seed, 0);
            empty += tu_file_size(P(h, "cfg")) == 0;
            hm_apply_fs(h, every_model[mi], PLIMG_FS_EXT4_ORDERED, 512, seed,
                        0);
            b = img(h, "cfg", &len);
            assert_non_null(b);
            assert_int_equal(len, 100);
            if (all(b, 0, 100, 'N'))
                fresh++;
            else if (all(b, 0, 100, 'O'))
                old++;
            else
                fail_msg("model %d seed %llu: a mixed or empty cfg", mi,
                         (unsigned long long)seed);
            free(b);
        }
    assert_true(empty > 0 && fresh > 0 && old > 0);
}

static void test_powerloss_dirsync_makes_entries_durable(void **state)
{
    hm *h = *state;

    hm_pre(h, "old", 'o', 10);
    hm_create(h, "f");
    hm_write(h, "f", 0, 'a', 100);
    hm_sync(h, "f");
    hm_rename(h, "old", "new", 1);
    hm_dirsync(h, "");
    hm_create(h, "late"); /* after the dirsync: not durable */
    hm_done(h);
    for (int mi = 0; mi < NMODELS; mi++)
        for (uint64_t seed = 1; seed <= 20; seed++) {
            size_t len;
            plimg_summary s = hm_apply(h, every_model[mi], 512, seed, 0);
            uint8_t *b = img(h, "f", &len);
            assert_non_null(b);
            assert_int_equal(len, 100);
            free(b);
            assert_true(tu_exists(P(h, "new")));
            assert_false(tu_exists(P(h, "old")));
            assert_int_equal(s.meta_unsynced, 1);
            if (every_model[mi] == PLIMG_DROP_UNSYNCED_FILES)
                assert_false(tu_exists(P(h, "late")));
        }
}

static void test_powerloss_rename_over_existing_kept_or_undone(void **state)
{
    hm *h = *state;
    int renamed = 0, undone = 0;
    size_t la, lb;

    hm_pre(h, "a", 'A', 100);
    hm_pre(h, "b", 'B', 200);
    hm_rename(h, "a", "b", 1);
    hm_done(h);
    for (uint64_t seed = 1; seed <= NSEEDS; seed++) {
        plimg_summary s = hm_apply(h, PLIMG_ANY_SUBSET, 512, seed, 0);
        uint8_t *a = img(h, "a", &la), *b = img(h, "b", &lb);
        assert_non_null(b);
        if (a == NULL) {
            assert_int_equal(lb, 100);
            assert_true(all(b, 0, 100, 'A'));
            renamed++;
        } else {
            assert_int_equal(la, 100);
            assert_true(all(a, 0, 100, 'A'));
            assert_int_equal(lb, 200);
            assert_true(all(b, 0, 200, 'B'));
            undone++;
            assert_int_equal(s.renames_undone, 1);
        }
        assert_true(grave_empty(h));
        free(a);
        free(b);
    }
    assert_true(renamed > 0 && undone > 0);
    hm_apply(h, PLIMG_DROP_UNSYNCED_FILES, 0, 1, 0);
    assert_true(tu_exists(P(h, "a")));
    assert_int_equal(tu_file_size(P(h, "b")), 200);
    hm_apply(h, PLIMG_DROP_UNSYNCED_DATA, 0, 1, 0);
    assert_false(tu_exists(P(h, "a")));
    assert_int_equal(tu_file_size(P(h, "b")), 100);
}

static void test_powerloss_rename_without_graveyard_is_forced(void **state)
{
    hm *h = *state;

    hm_pre(h, "a", 'A', 100);
    hm_pre(h, "b", 'B', 200);
    hm_rename(h, "a", "b", 0); /* b's old content is gone for good */
    hm_done(h);
    for (uint64_t seed = 1; seed <= 20; seed++) {
        plimg_summary s = hm_apply(h, PLIMG_DROP_UNSYNCED_FILES, 512, seed, 0);
        assert_false(tu_exists(P(h, "a")));
        assert_int_equal(tu_file_size(P(h, "b")), 100);
        assert_int_equal(s.meta_forced, 1);
        assert_int_equal(s.renames_undone, 0);
    }
}

static void test_powerloss_unlink_kept_or_undone(void **state)
{
    hm *h = *state;
    int back = 0, gone = 0;

    hm_pre(h, "a", 'A', 100);
    hm_pre(h, "b", 'B', 100);
    hm_unlink(h, "a", 1);
    hm_unlink(h, "b", 0); /* no graveyard copy: cannot come back */
    hm_done(h);
    for (uint64_t seed = 1; seed <= NSEEDS; seed++) {
        size_t len;
        plimg_summary s = hm_apply(h, PLIMG_ANY_SUBSET, 512, seed, 0);
        uint8_t *a = img(h, "a", &len);
        if (a) {
            assert_int_equal(len, 100);
            assert_true(all(a, 0, 100, 'A'));
            back++;
        } else {
            gone++;
        }
        assert_int_equal(s.unlinks_undone, a != NULL);
        assert_int_equal(s.meta_forced, 1);
        assert_false(tu_exists(P(h, "b")));
        assert_true(grave_empty(h));
        free(a);
    }
    assert_true(back > 0 && gone > 0);
}

/* A graveyard shared with other crash states (fs_share_tree links its
 * files): the image rewrites a file there (an unsynced write undone) and
 * brings it back (an unsynced unlink undone) on an inode of its own, and
 * the other name of the file keeps the bytes the writer left. */
static void test_powerloss_shared_graveyard_file_is_not_changed(void **state)
{
    hm *h = *state;
    char grave[4200], other[4200];
    int back = 0, undone = 0;

    hm_pre(h, "a", 'A', 600);
    hm_write(h, "a", 0, 'n', 100);
    hm_unlink(h, "a", 1);
    hm_done(h);
    snprintf(grave, sizeof(grave), "%s/g1", h->grave);
    snprintf(other, sizeof(other), "%s/other", h->root);
    for (uint64_t seed = 1; seed <= 40; seed++) {
        plimg_config cfg = {
            .model = PLIMG_ANY_SUBSET, .sector = 512, .seed = seed};
        plimg_summary s;
        size_t len;
        uint8_t *a, *o;
        hm_restore(h);
        unlink(other);
        assert_int_equal(link(grave, other), 0);
        assert_int_equal(plimg_apply(h->db, h->log, &cfg, &s), 0);
        o = tu_read_file(other, &len);
        assert_non_null(o);
        assert_int_equal(len, 600);
        assert_true(all(o, 0, 100, 'n') && all(o, 100, 500, 'A'));
        a = img(h, "a", &len);
        if (a != NULL) {
            back++;
            undone += all(a, 0, 100, 'A');
        }
        free(a);
        free(o);
    }
    assert_true(back > 0 && undone > 0);
}

static void test_powerloss_mkdir_lost_takes_its_children(void **state)
{
    hm *h = *state;
    int states[3] = {0, 0, 0};

    hm_mkdir(h, "d");
    hm_create(h, "d/x");
    hm_write(h, "d/x", 0, 'x', 10);
    hm_done(h);
    for (uint64_t seed = 1; seed <= NSEEDS; seed++) {
        plimg_summary s = hm_apply(h, PLIMG_ANY_SUBSET, 512, seed, 0);
        int d = tu_exists(P(h, "d")), x = tu_exists(P(h, "d/x"));
        states[d + x]++;
        assert_int_equal(s.mkdirs_lost, !d);
        assert_int_equal(s.creates_lost, !x);
        assert_false(tu_exists(P(h, ".plimg-stage")));
    }
    assert_true(states[0] > 0 && states[1] > 0 && states[2] > 0);

    /* A durable create inside d makes d's mkdir persist too (M3). */
    hm_teardown(state);
    hm_setup(state);
    h = *state;
    hm_mkdir(h, "d");
    hm_create(h, "d/x");
    hm_dirsync(h, "d");
    hm_done(h);
    for (uint64_t seed = 1; seed <= 40; seed++) {
        hm_apply(h, PLIMG_ANY_SUBSET, 512, seed, 0);
        assert_true(tu_exists(P(h, "d/x")));
    }
}

static void test_powerloss_truncate_may_or_may_not_happen(void **state)
{
    hm *h = *state;
    int cut = 0, kept = 0;

    hm_pre(h, "f", 'D', 4096);
    hm_truncate(h, "f", 1000);
    hm_done(h);
    for (uint64_t seed = 1; seed <= 60; seed++) {
        plimg_summary s = hm_apply(h, PLIMG_ANY_SUBSET, 512, seed, 0);
        int64_t len = tu_file_size(P(h, "f"));
        size_t l;
        uint8_t *b = img(h, "f", &l);
        assert_true(len == 1000 || len == 4096);
        assert_true(all(b, 0, l, 'D'));
        cut += len == 1000;
        kept += len == 4096;
        assert_int_equal(s.truncates_unsynced, 1);
        assert_int_equal(s.truncates_undone, len == 4096);
        free(b);
    }
    assert_true(cut > 0 && kept > 0);
    hm_apply(h, PLIMG_DROP_UNSYNCED_DATA, 0, 1, 0);
    assert_int_equal(tu_file_size(P(h, "f")), 4096);
}

/* A truncate, then writes into the range it cut, none synced: besides the
 * uniform draw, any-subset takes the reordering in which the truncate did
 * not happen and the writes after it reached the disk sector by sector in
 * issue order up to some point: new bytes followed by the old ones cut.
 * The random model is any-subset for such a log; a log without the pair
 * draws no reordering (next test). */
static void test_powerloss_reordering_over_an_unsynced_cut(void **state)
{
    hm *h = *state;
    int reordered = 0, old_after_new = 0, uniform = 0;

    hm_pre(h, "f", 'D', 4096);
    hm_truncate(h, "f", 1024);
    hm_write(h, "f", 1024, 'n', 1536); /* sectors 2-4 */
    hm_write(h, "f", 2560, 'm', 512);  /* sector 5 */
    hm_done(h);
    for (uint64_t seed = 1; seed <= NSEEDS; seed++) {
        plimg_summary s = hm_apply(h, PLIMG_RANDOM, 512, seed, 0);
        size_t len;
        uint8_t *b = img(h, "f", &len);
        assert_int_equal(s.model, PLIMG_ANY_SUBSET);
        if (s.reorders == 0) {
            uniform++;
            free(b);
            continue;
        }
        assert_int_equal(s.reorders, 1);
        reordered++;
        assert_int_equal(s.truncates_undone, 1);
        assert_int_equal(len, 4096);
        assert_true(all(b, 0, 1024, 'D'));
        /* sectors 2-5: a prefix of n, n, n, m reached the disk, at least
         * its first sector; the rest hold the bytes the truncate cut */
        int k = 0;
        const int want[4] = {'n', 'n', 'n', 'm'};
        while (k < 4 && all(b, 1024 + 512 * (size_t)k, 512, want[k]))
            k++;
        assert_true(k >= 1);
        assert_true(
            all(b, 1024 + 512 * (size_t)k, 4096 - 1024 - 512 * (size_t)k, 'D'));
        old_after_new += k < 4;
        free(b);
    }
    assert_true(reordered > 0 && uniform > 0 && old_after_new > 0);
}

/* Writes below a cut: no pair, no reordering, and the random model draws
 * among all three. */
static void
test_powerloss_no_reordering_without_a_write_into_the_cut(void **state)
{
    hm *h = *state;
    int other_models = 0;

    hm_pre(h, "g", 'D', 4096);
    hm_truncate(h, "g", 2048);
    hm_write(h, "g", 0, 'n', 1024);
    hm_done(h);
    for (uint64_t seed = 1; seed <= 60; seed++) {
        plimg_summary s = hm_apply(h, PLIMG_RANDOM, 512, seed, 0);
        assert_int_equal(s.reorders, 0);
        other_models += s.model != PLIMG_ANY_SUBSET;
    }
    assert_true(other_models > 0);
}

static void test_powerloss_garbage_replaces_dropped_sectors(void **state)
{
    hm *h = *state;
    int garbage_seen = 0;

    hm_pre(h, "f", 'D', 2048);
    hm_write(h, "f", 0, 'n', 2048);
    hm_done(h);
    for (uint64_t seed = 1; seed <= 40; seed++) {
        size_t len;
        plimg_summary s = hm_apply(h, PLIMG_ANY_SUBSET, 512, seed, 1);
        uint8_t *b = img(h, "f", &len);
        uint64_t g = 0;
        assert_int_equal(len, 2048);
        for (int i = 0; i < 4; i++) {
            if (all(b, (size_t)i * 512, 512, 'n'))
                continue;
            assert_false(all(b, (size_t)i * 512, 512, 'D'));
            g++;
        }
        assert_int_equal(s.sectors_garbage, g);
        assert_int_equal(s.sectors_dropped, g);
        assert_int_equal(s.sectors_unsynced, 4);
        garbage_seen += g > 0;
        free(b);
    }
    assert_true(garbage_seen > 0);
    /* The resets drop unsynced data; they never scribble. */
    plimg_summary s = hm_apply(h, PLIMG_DROP_UNSYNCED_DATA, 512, 1, 1);
    assert_img_all(h, "f", 2048, 'D');
    assert_int_equal(s.sectors_garbage, 0);
}

/* A dropped write that covers part of a sector scribbles over the whole
 * sector, the durable bytes it shares with the write included; the rest
 * of the file stays as it was.  [1000, 1100) touches sectors 1 and 2. */
static void test_powerloss_garbage_covers_the_whole_sector(void **state)
{
    hm *h = *state;
    int garbage_seen = 0;

    hm_pre(h, "f", 'D', 4096);
    hm_write(h, "f", 1000, 'n', 100);
    hm_done(h);
    for (uint64_t seed = 1; seed <= 40; seed++) {
        size_t len;
        plimg_summary s = hm_apply(h, PLIMG_ANY_SUBSET, 512, seed, 1);
        uint8_t *b = img(h, "f", &len);
        uint64_t g = 0;
        int kept1, kept2;
        assert_int_equal(len, 4096);
        assert_true(all(b, 0, 512, 'D'));
        assert_true(all(b, 1536, 4096 - 1536, 'D'));
        /* a kept sector is the page cache's: the write within durable
         * bytes; a dropped one is garbage from its first byte to its last */
        kept1 = all(b, 512, 488, 'D') && all(b, 1000, 24, 'n');
        kept2 = all(b, 1024, 76, 'n') && all(b, 1100, 436, 'D');
        if (!kept1) {
            assert_false(all(b, 512, 488, 'D'));
            g++;
        }
        if (!kept2) {
            assert_false(all(b, 1100, 436, 'D'));
            g++;
        }
        assert_int_equal(s.sectors_unsynced, 2);
        assert_int_equal(s.sectors_garbage, g);
        garbage_seen += g > 0;
        free(b);
    }
    assert_true(garbage_seen > 0);
}

static void test_powerloss_completes_interrupted_last_operation(void **state)
{
    hm *h = *state;
    char grave[4200];
    shadow_rec r;

    /* The writer logged a rename over b and died after moving b to the
     * graveyard but before renaming a: the image builder finishes it. */
    hm_pre(h, "a", 'A', 10);
    hm_pre(h, "b", 'B', 20);
    hm_create(h, "c");
    snprintf(grave, sizeof(grave), "%s/g%d", h->grave, ++h->ngrave);
    r = (shadow_rec){.type = SHADOW_RENAME,
                     .path = P(h, "a"),
                     .to = P(h, "b"),
                     .grave = grave,
                     .to_existed = 1};
    assert_int_equal(shadow_append(h->w, &r), 0);
    assert_int_equal(rename(P(h, "b"), grave), 0);
    hm_done(h);

    hm_apply(h, PLIMG_DROP_UNSYNCED_DATA, 0, 1, 0); /* every entry kept */
    assert_false(tu_exists(P(h, "a")));
    assert_int_equal(tu_file_size(P(h, "b")), 10);
    assert_true(tu_exists(P(h, "c")));
    assert_true(grave_empty(h));
    hm_apply(h, PLIMG_DROP_UNSYNCED_FILES, 0, 1, 0); /* none kept */
    assert_int_equal(tu_file_size(P(h, "a")), 10);
    assert_int_equal(tu_file_size(P(h, "b")), 20);
    assert_false(tu_exists(P(h, "c")));
    assert_true(grave_empty(h));
}

static void test_powerloss_never_removes_the_directory(void **state)
{
    hm *h = *state;
    shadow_rec r = {.type = SHADOW_MKDIR, .path = h->db};
    plimg_summary s;

    /* A writer that made the database directory itself and never synced
     * its parent: the directory stays (and says so). */
    assert_int_equal(shadow_append(h->w, &r), 0);
    hm_create(h, "f");
    hm_done(h);
    s = hm_apply(h, PLIMG_DROP_UNSYNCED_FILES, 0, 1, 0);
    assert_true(tu_exists(h->db));
    assert_false(tu_exists(P(h, "f")));
    assert_int_equal(s.meta_forced, 1);
    assert_int_equal(s.mkdirs_lost, 0);
    assert_int_equal(s.creates_lost, 1);
}

static void test_powerloss_empty_log_touches_nothing(void **state)
{
    hm *h = *state;
    plimg_config cfg = {.model = PLIMG_ANY_SUBSET, .seed = 3};
    plimg_summary s;

    /* The writer died before its first I/O point, before even creating
     * its directory. */
    hm_done(h);
    fs_rmrf(h->db);
    assert_int_equal(plimg_apply(h->db, h->log, &cfg, &s), 0);
    assert_false(tu_exists(h->db));
    assert_int_equal(s.records, 0);
}

/* A scenario with some of everything. */
static void mixed_scenario(hm *h)
{
    hm_pre(h, "a", 'A', 3000);
    hm_pre(h, "b", 'B', 100);
    hm_write(h, "a", 500, 'x', 2000);
    hm_sync(h, "a");
    hm_write(h, "a", 2500, 'y', 3000);
    hm_create(h, "c");
    hm_write(h, "c", 0, 'c', 5000);
    hm_truncate(h, "a", 4000);
    hm_rename(h, "c", "b", 1);
    hm_mkdir(h, "d");
    hm_create(h, "d/e");
    hm_write(h, "d/e", 10, 'e', 700);
    hm_unlink(h, "a", 1);
    hm_done(h);
}

static void test_powerloss_deterministic_by_seed(void **state)
{
    hm *h = *state;
    char first[4200], second[4200];
    int differ = 0;

    mixed_scenario(h);
    snprintf(first, sizeof(first), "%s/first", h->root);
    snprintf(second, sizeof(second), "%s/second", h->root);
    for (int mi = 0; mi < NMODELS; mi++)
        for (uint64_t seed = 1; seed <= 10; seed++) {
            fs_rmrf(first);
            fs_rmrf(second);
            hm_apply(h, every_model[mi], 0, seed, seed & 1);
            assert_int_equal(fs_copy_tree(h->db, first), 0);
            hm_apply(h, every_model[mi], 0, seed, seed & 1);
            assert_same_tree(h->db, first);
            hm_apply(h, every_model[mi], 0, seed + 7777, seed & 1);
            assert_int_equal(fs_copy_tree(h->db, second), 0);
            if (every_model[mi] < PLIMG_DROP_UNSYNCED_DATA) {
                differ += !tu_tree_equal(first, second);
            } else if (!(seed & 1)) {
                /* Without garbage the resets draw nothing from the seed
                 * (but the unit, which does not change their result). */
                assert_same_tree(first, second);
            }
        }
    assert_true(differ >= 20);
}

static void test_powerloss_rejects_bad_logs_and_paths(void **state)
{
    hm *h = *state;
    plimg_config cfg = {.model = PLIMG_ANY_SUBSET, .seed = 1};
    plimg_summary s;
    int64_t size;
    char buf[300];

    mixed_scenario(h);
    size = tu_file_size(h->log);

    /* A torn tail is ignored. */
    hm_restore(h);
    assert_int_equal(tu_truncate(h->log, (uint64_t)size - 3), 0);
    assert_int_equal(plimg_apply(h->db, h->log, &cfg, &s), 0);
    assert_true(s.torn_tail_bytes > 0);
    assert_true(plimg_describe(&s, buf, sizeof(buf)) > 0);
    assert_non_null(strstr(buf, "any-subset/"));

    /* Damage in the middle is corruption. */
    hm_restore(h);
    assert_int_equal(tu_truncate(h->log, (uint64_t)size), 0);
    assert_int_equal(tu_flip_byte(h->log, (uint64_t)size / 2), 0);
    assert_int_equal(plimg_apply(h->db, h->log, &cfg, &s), CL_ECORRUPT);
    assert_true(s.error[0] != '\0');

    /* A log about another directory is refused. */
    hm_restore(h);
    char other[4200];
    snprintf(other, sizeof(other), "%s/elsewhere", h->root);
    assert_int_equal(mkdir(other, 0755), 0);
    shadow_writer *w;
    char lg[4200];
    snprintf(lg, sizeof(lg), "%s/other.log", h->root);
    assert_int_equal(shadow_writer_open(lg, NULL, &w), 0);
    shadow_rec r = {.type = SHADOW_CREATE, .path = P(h, "zzz")};
    assert_int_equal(shadow_append(w, &r), 0);
    shadow_writer_close(w);
    assert_int_equal(plimg_apply(other, lg, &cfg, &s), CL_EINVAL);

    /* Bad configurations. */
    cfg.sector = 1024;
    assert_int_equal(plimg_apply(h->db, h->log, &cfg, &s), CL_EINVAL);
    cfg.sector = 0;
    cfg.model = (plimg_model)99;
    assert_int_equal(plimg_apply(h->db, h->log, &cfg, NULL), CL_EINVAL);

    plimg_model m;
    assert_int_equal(plimg_model_parse("per-file-prefix", &m), 0);
    assert_int_equal(m, PLIMG_PER_FILE_PREFIX);
    assert_int_equal(plimg_model_parse("nonsense", &m), CL_EINVAL);
    assert_string_equal(plimg_model_name(PLIMG_DROP_UNSYNCED_FILES),
                        "drop-unsynced-files");
}

/*
 * End to end: a writer using crashio is killed at every I/O point; each
 * image must keep what the writer had synced by then.
 */
static void e2e_writer(const cl_io *io, const char *db)
{
    uint8_t a[4096], b[8192];
    void *x = io->ctx;
    int fd, t;

    memset(a, 'A', sizeof(a));
    memset(b, 'B', sizeof(b));
    if (io->open(x, tu_path(db, "data"), CL_IO_RDWR | CL_IO_CREATE, &fd) ||
        io->pwrite(x, fd, a, sizeof(a), 0) || io->fsync(x, fd) ||
        io->dirsync(x, db)) /* points 1-4: data is durable */
        abort();
    if (io->pwrite(x, fd, b, sizeof(b), 2048) || /* 5: unsynced */
        io->open(x, tu_path(db, "tmp"), CL_IO_RDWR | CL_IO_CREATE, &t) ||
        io->pwrite(x, t, a, 100, 0) || io->fsync(x, t) ||
        io->rename(x, tu_path(db, "tmp"), tu_path(db, "meta")) ||
        io->dirsync(x, db) || /* 6-10: meta = 100 A's, durable */
        io->unlink(x, tu_path(db, "meta")) || /* 11: unsynced */
        io->fsync(x, fd))                     /* 12: b durable */
        abort();
    io->close(x, t);
    io->close(x, fd);
}

static void test_powerloss_after_real_kill_keeps_synced_data(void **state)
{
    hm *h = *state;

    shadow_writer_close(h->w);
    h->w = NULL;
    for (uint64_t k = 1; k <= 13; k++) {
        pid_t pid;
        int st;

        fs_rmrf(h->db);
        fs_rmrf(h->grave);
        assert_int_equal(mkdir(h->db, 0755), 0);
        pid = tu_fork();
        if (pid == 0) {
            crashio_config cfg = {.inner = cl_io_posix(),
                                  .crash_at = k,
                                  .shadow_path = h->log,
                                  .graveyard_dir = h->grave};
            crashio *c;
            if (crashio_new(&cfg, &c) != 0)
                _exit(2);
            e2e_writer(crashio_table(c), h->db);
            _exit(0);
        }
        st = tu_wait(pid);
        if (k <= 12)
            assert_int_equal(WTERMSIG(st), SIGKILL);
        else
            assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        /* Reuse the hm snapshot machinery on this run's files. */
        hm_done(h);
        for (int mi = 0; mi < NMODELS; mi++)
            for (uint64_t seed = 1; seed <= 8; seed++) {
                size_t len;
                hm_apply(h, every_model[mi], 0, seed, 0);
                uint8_t *d = img(h, "data", &len), *m;
                if (k > 4) {
                    assert_non_null(d);
                    assert_true(all(d, 0, 2048, 'A'));
                    if (k > 12) {
                        assert_int_equal(len, 2048 + 8192);
                        assert_true(all(d, 2048, 8192, 'B'));
                    } else {
                        assert_true(len >= 4096 && len <= 2048 + 8192);
                        /* Unsynced sectors past the durable end that did
                         * not reach the disk read as zeros. */
                        for (size_t i = 2048; i < len; i++)
                            assert_true(d[i] == 'A' || d[i] == 'B' ||
                                        (i >= 4096 && d[i] == 0));
                    }
                }
                m = img(h, "meta", &len);
                if (k > 10 && k <= 11) {
                    assert_non_null(m);
                    assert_int_equal(len, 100);
                }
                if (m)
                    assert_true(all(m, 0, len, 'A'));
                assert_false(tu_exists(P(h, "tmp")) && tu_exists(P(h, "meta")));
                free(d);
                free(m);
            }
    }
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, hm_setup, hm_teardown)
    const struct CMUnitTest tests[] = {
        T(test_powerloss_synced_data_never_touched),
        T(test_powerloss_any_subset_sector_versions),
        T(test_powerloss_per_file_prefix_in_issue_order),
        T(test_powerloss_ordered_is_one_global_prefix),
        T(test_powerloss_sector_size_is_the_atomic_unit),
        T(test_powerloss_unsynced_extension_does_not_grow_file),
        T(test_powerloss_fsync_failed_data_always_dropped),
        T(test_powerloss_lost_write_past_the_end_leaves_no_hole),
        T(test_powerloss_short_write_part_is_unsynced),
        T(test_powerloss_short_write_over_unsynced_write),
        T(test_powerloss_retried_fsync_does_not_bring_back_lost),
        T(test_powerloss_lost_create_means_no_file),
        T(test_powerloss_dirsync_makes_entries_durable),
        T(test_powerloss_ext4_fsync_keeps_the_new_entry),
        T(test_powerloss_ext4_replace_rename_carries_data),
        T(test_powerloss_rename_over_existing_kept_or_undone),
        T(test_powerloss_rename_without_graveyard_is_forced),
        T(test_powerloss_unlink_kept_or_undone),
        T(test_powerloss_shared_graveyard_file_is_not_changed),
        T(test_powerloss_mkdir_lost_takes_its_children),
        T(test_powerloss_truncate_may_or_may_not_happen),
        T(test_powerloss_reordering_over_an_unsynced_cut),
        T(test_powerloss_no_reordering_without_a_write_into_the_cut),
        T(test_powerloss_garbage_replaces_dropped_sectors),
        T(test_powerloss_garbage_covers_the_whole_sector),
        T(test_powerloss_completes_interrupted_last_operation),
        T(test_powerloss_never_removes_the_directory),
        T(test_powerloss_empty_log_touches_nothing),
        T(test_powerloss_deterministic_by_seed),
        T(test_powerloss_rejects_bad_logs_and_paths),
        T(test_powerloss_after_real_kill_keeps_synced_data),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
