/*
 * test_crashio.c - the crash-simulating I/O table: which calls are I/O
 * points and how they are numbered and traced, a kill at point k leaves
 * exactly the effects of points 1..k-1 (and a copy made by the on_point
 * hook at k is that same state), torn writes hold exactly the chosen
 * sectors (and crashio_tear_write repeats them on a copy), injected
 * failures, a branch going on on copies of the files, and the shadow
 * records crashio writes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cl_io.h"
#include "crashio.h"
#include "memfs.h"
#include "shadow.h"
#include "testutil.h"

#define TRACE_CAP 64

typedef struct fx {
    char *root; /* holds db/, ref/, grave/, shadow.log */
    char db[4096], ref[4096], grave[4096], log[4096];
    crashio_shared *sh; /* MAP_SHARED */
} fx;

static int fx_setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));

    f->root = tu_tmpdir("crashio");
    snprintf(f->db, sizeof(f->db), "%s/db", f->root);
    snprintf(f->ref, sizeof(f->ref), "%s/ref", f->root);
    snprintf(f->grave, sizeof(f->grave), "%s/grave", f->root);
    snprintf(f->log, sizeof(f->log), "%s/shadow.log", f->root);
    f->sh = mmap(NULL, crashio_shared_size(TRACE_CAP), PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(f->sh != MAP_FAILED);
    crashio_shared_init(f->sh, TRACE_CAP);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    fx *f = *state;

    munmap(f->sh, crashio_shared_size(TRACE_CAP));
    fs_rmrf(f->root);
    free(f->root);
    free(f);
    return 0;
}

/* Empty f->db (and f->ref), reset the shared area. */
static void fx_reset(fx *f)
{
    fs_rmrf(f->db);
    fs_rmrf(f->ref);
    fs_rmrf(f->grave);
    unlink(f->log);
    assert_int_equal(mkdir(f->db, 0755), 0);
    assert_int_equal(mkdir(f->ref, 0755), 0);
    crashio_shared_init(f->sh, TRACE_CAP);
}

/* Fail the test, naming the first difference, unless trees a and b match. */
static void assert_same_tree(const char *a, const char *b)
{
    if (!tu_tree_equal(a, b))
        fail_msg("trees differ: %s", tu_tree_why());
}

static crashio *mk(const crashio_config *cfg)
{
    crashio *c = NULL;

    assert_int_equal(crashio_new(cfg, &c), 0);
    return c;
}

/*
 * The workload: every step is exactly one I/O point, in this order.  It
 * stops after `upto` steps, so that wl_run(posix, ref, k - 1) is the state a
 * kill at point k must leave.
 */
static const crashio_kind wl_kinds[] = {
    CRASHIO_CREATE,    CRASHIO_PWRITE,    CRASHIO_PWRITE,  CRASHIO_FSYNC,
    CRASHIO_FTRUNCATE, CRASHIO_FDATASYNC, CRASHIO_RENAME,  CRASHIO_MKDIR,
    CRASHIO_CREATE,    CRASHIO_PWRITE,    CRASHIO_DIRSYNC, CRASHIO_UNLINK,
};
#define WL_STEPS ((int)(sizeof(wl_kinds) / sizeof(wl_kinds[0])))

static void wl_run(const cl_io *io, const char *dir, int upto)
{
    uint8_t a[1000], b[500], h[300];
    int fd = -1, fd2 = -1, step = 0;
    void *x = io->ctx;
    size_t n;
    uint8_t tmp[16];

    memset(a, 'A', sizeof(a));
    memset(b, 'B', sizeof(b));
    memset(h, 'H', sizeof(h));
#define WL_STEP(call)                                                          \
    do {                                                                       \
        if (++step > upto)                                                     \
            goto done;                                                         \
        if ((call) != 0)                                                       \
            abort();                                                           \
    } while (0)
    WL_STEP(io->open(x, tu_path(dir, "f"), CL_IO_RDWR | CL_IO_CREATE, &fd));
    /* Uncounted calls between the points. */
    if (io->pread(x, fd, tmp, sizeof(tmp), 0, &n) != 0 || n != 0)
        abort();
    WL_STEP(io->pwrite(x, fd, a, sizeof(a), 0));
    WL_STEP(io->pwrite(x, fd, b, sizeof(b), 700));
    WL_STEP(io->fsync(x, fd));
    WL_STEP(io->ftruncate(x, fd, 900));
    WL_STEP(io->fdatasync(x, fd));
    WL_STEP(io->rename(x, tu_path(dir, "f"), tu_path(dir, "g")));
    WL_STEP(io->mkdir(x, tu_path(dir, "d")));
    WL_STEP(io->open(x, tu_path(dir, "d/h"), CL_IO_RDWR | CL_IO_CREATE, &fd2));
    WL_STEP(io->pwrite(x, fd2, h, sizeof(h), 50));
    WL_STEP(io->dirsync(x, dir));
    WL_STEP(io->unlink(x, tu_path(dir, "g")));
#undef WL_STEP
done:
    if (fd >= 0)
        io->close(x, fd);
    if (fd2 >= 0)
        io->close(x, fd2);
}

static void test_crashio_counts_and_traces_points(void **state)
{
    fx *f = *state;
    crashio_config cfg = {
        .inner = cl_io_posix(), .shared = f->sh, .root = f->db};
    crashio *c;
    const cl_io *io;
    int fd, lfd;

    fx_reset(f);
    c = mk(&cfg);
    io = crashio_table(c);
    wl_run(io, f->db, WL_STEPS);
    assert_int_equal(crashio_points(c), WL_STEPS);
    assert_int_equal(atomic_load(&f->sh->points), WL_STEPS);
    for (int k = 1; k <= WL_STEPS; k++) {
        assert_int_equal(f->sh->trace[k - 1].kind, wl_kinds[k - 1]);
        assert_int_equal(f->sh->trace[k - 1].flags, 0);
    }
    /* File ids in order of first use, names relative to root. */
    assert_int_equal(f->sh->trace[0].file, 1);
    assert_string_equal(f->sh->names[0], "f");
    assert_int_equal(f->sh->trace[1].off, 0);
    assert_int_equal(f->sh->trace[1].len, 1000);
    assert_int_equal(f->sh->trace[2].off, 700);
    assert_int_equal(f->sh->trace[4].off, 900); /* ftruncate length */
    assert_int_equal(f->sh->trace[6].file, 1);  /* rename from f */
    assert_int_equal(f->sh->trace[6].file2, 2); /* to g */
    assert_string_equal(f->sh->names[1], "g");
    assert_string_equal(f->sh->names[2], "d");
    assert_string_equal(f->sh->names[3], "d/h");
    assert_string_equal(crashio_file_name(c, 4), tu_path(f->db, "d/h"));
    assert_null(crashio_file_name(c, 99));
    assert_int_equal(atomic_load(&f->sh->nnames), 5); /* + db itself */

    /* Opening an existing file, reads, size, lock and unlock: no points. */
    assert_int_equal(io->open(io->ctx, tu_path(f->db, "d/h"),
                              CL_IO_RDWR | CL_IO_CREATE, &fd),
                     0);
    uint64_t size;
    assert_int_equal(io->filesize(io->ctx, fd, &size), 0);
    assert_int_equal(size, 350);
    assert_int_equal(io->close(io->ctx, fd), 0);
    assert_int_equal(io->lock(io->ctx, tu_path(f->db, "LOCK"), &lfd), 0);
    assert_int_equal(io->unlock(io->ctx, lfd), 0);
    assert_int_equal(crashio_points(c), WL_STEPS);
    /* CREATE|EXCL on an existing file fails without a point. */
    assert_int_equal(io->open(io->ctx, tu_path(f->db, "d/h"),
                              CL_IO_RDWR | CL_IO_CREATE | CL_IO_EXCL, &fd),
                     EEXIST);
    assert_int_equal(crashio_points(c), WL_STEPS);
    /* The table did what POSIX does. */
    wl_run(cl_io_posix(), f->ref, WL_STEPS);
    fs_rmrf(tu_path(f->db, "LOCK"));
    assert_same_tree(f->db, f->ref);
    crashio_free(c);
}

static void test_crashio_kill_at_k_leaves_points_before_k(void **state)
{
    fx *f = *state;

    for (int k = 1; k <= WL_STEPS; k++) {
        pid_t pid;
        int st;

        fx_reset(f);
        pid = tu_fork();
        if (pid == 0) {
            crashio_config cfg = {.inner = cl_io_posix(),
                                  .shared = f->sh,
                                  .crash_at = (uint64_t)k};
            crashio *c;
            if (crashio_new(&cfg, &c) != 0)
                _exit(2);
            wl_run(crashio_table(c), f->db, WL_STEPS);
            _exit(0); /* not reached */
        }
        st = tu_wait(pid);
        assert_true(WIFSIGNALED(st));
        assert_int_equal(WTERMSIG(st), SIGKILL);
        assert_int_equal(atomic_load(&f->sh->outcome), CRASHIO_OUT_KILLED);
        assert_int_equal(f->sh->crash_point, (uint64_t)k);
        assert_int_equal(atomic_load(&f->sh->points), (uint64_t)k);
        assert_int_equal(f->sh->trace[k - 1].flags, CRASHIO_PF_CRASH);
        wl_run(cl_io_posix(), f->ref, k - 1);
        assert_same_tree(f->db, f->ref);
    }
}

/* Create (or replace) path holding buf[0..len).  Returns 0 or -1. */
static int put_file(const char *path, const void *buf, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ssize_t n;

    if (fd < 0)
        return -1;
    n = write(fd, buf, len);
    close(fd);
    return n == (ssize_t)len ? 0 : -1;
}

/* What the on_point hook of the snapshot test records. */
typedef struct hook_rec {
    fx *f;
    int calls;
    crashio_kind kinds[WL_STEPS + 1];
    uint64_t lens[WL_STEPS + 1], offs[WL_STEPS + 1];
    int paths_ok;
    int64_t log_size[WL_STEPS + 1]; /* shadow log bytes at point k */
} hook_rec;

/* Copy the database as it is at point k into <root>/snap-k. */
static void hook_snapshot(void *ctx, const crashio_call *call)
{
    hook_rec *h = ctx;
    char dst[4200];

    h->calls++;
    if (call->k > WL_STEPS)
        return;
    h->kinds[call->k] = call->kind;
    h->lens[call->k] = call->len;
    h->offs[call->k] = call->off;
    if (call->path == NULL || strncmp(call->path, h->f->db, strlen(h->f->db)))
        h->paths_ok = 0;
    if (call->kind == CRASHIO_PWRITE &&
        (call->buf == NULL || ((const uint8_t *)call->buf)[0] == 0))
        h->paths_ok = 0;
    h->log_size[call->k] = tu_file_size(h->f->log);
    snprintf(dst, sizeof(dst), "%s/snap-%llu", h->f->root,
             (unsigned long long)call->k);
    fs_rmrf(dst);
    if (fs_copy_tree(h->f->db, dst) != 0)
        abort();
}

/* A copy made by the hook at point k is the state a kill at k leaves: the
 * effects of points 1..k-1 exactly, with the shadow log holding the
 * records of those points and no other. */
static void test_crashio_hook_snapshot_equals_kill_state(void **state)
{
    fx *f = *state;
    hook_rec h = {.f = f, .paths_ok = 1};
    crashio_config cfg = {.inner = cl_io_posix(),
                          .shared = f->sh,
                          .shadow_path = f->log,
                          .graveyard_dir = f->grave,
                          .on_point = hook_snapshot,
                          .on_point_ctx = &h};
    crashio *c;

    fx_reset(f);
    c = mk(&cfg);
    wl_run(crashio_table(c), f->db, WL_STEPS);
    crashio_free(c);
    assert_int_equal(h.calls, WL_STEPS);
    assert_true(h.paths_ok);
    assert_int_equal(h.lens[2], 1000); /* the pwrite of 1000 B at 0 */
    assert_int_equal(h.offs[3], 700);
    assert_int_equal(h.offs[5], 900); /* ftruncate to 900 */
    for (int k = 1; k <= WL_STEPS; k++) {
        char snap[4200], cut[4200];
        shadow_reader *rd;
        shadow_rec rec;
        uint8_t *log;
        size_t loglen;
        int nrec = 0;

        assert_int_equal(h.kinds[k], wl_kinds[k - 1]);
        fs_rmrf(f->ref);
        assert_int_equal(mkdir(f->ref, 0755), 0);
        wl_run(cl_io_posix(), f->ref, k - 1);
        snprintf(snap, sizeof(snap), "%s/snap-%d", f->root, k);
        assert_same_tree(snap, f->ref);
        /* The log up to the hook: every record is of a point before k. */
        log = tu_read_file(f->log, &loglen);
        assert_non_null(log);
        assert_true(h.log_size[k] > 0 && (size_t)h.log_size[k] <= loglen);
        snprintf(cut, sizeof(cut), "%s/cut.log", f->root);
        assert_int_equal(put_file(cut, log, (size_t)h.log_size[k]), 0);
        assert_int_equal(shadow_reader_open(cut, &rd), 0);
        while (shadow_next(rd, &rec) == SHADOW_OK) {
            assert_true(rec.point < (uint64_t)k);
            nrec++;
        }
        assert_int_equal(shadow_reader_torn_bytes(rd), 0);
        shadow_reader_close(rd);
        assert_true(k == 1 || nrec > 0);
        unlink(cut);
        free(log);
        fs_rmrf(snap);
    }
}

/* The hook runs at the crash point too, before the crash, and a kill
 * there leaves what it saw. */
static void test_crashio_hook_runs_before_the_crash(void **state)
{
    fx *f = *state;

    for (int k = 1; k <= WL_STEPS; k++) {
        hook_rec *h;
        pid_t pid;
        char snap[4200];

        fx_reset(f);
        h = mmap(NULL, sizeof(*h), PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        assert_true(h != MAP_FAILED);
        memset(h, 0, sizeof(*h));
        h->f = f;
        pid = tu_fork();
        if (pid == 0) {
            crashio_config cfg = {.inner = cl_io_posix(),
                                  .shared = f->sh,
                                  .crash_at = (uint64_t)k,
                                  .on_point = hook_snapshot,
                                  .on_point_ctx = h};
            crashio *c;
            if (crashio_new(&cfg, &c) != 0)
                _exit(2);
            wl_run(crashio_table(c), f->db, WL_STEPS);
            _exit(0); /* not reached */
        }
        assert_int_equal(WTERMSIG(tu_wait(pid)), SIGKILL);
        assert_int_equal(h->calls, k);
        snprintf(snap, sizeof(snap), "%s/snap-%d", f->root, k);
        assert_same_tree(snap, f->db);
        fs_rmrf(snap);
        munmap(h, sizeof(*h));
    }
}

/* Fill buf with a pattern that differs from 'o' everywhere. */
static void pattern(uint8_t *buf, size_t len, int salt)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(0x80 | ((i * 31 + (size_t)salt) & 0x7f));
}

typedef struct tear_case {
    uint64_t old_len;  /* bytes of 'o' written (and synced) first */
    uint64_t off, len; /* the torn write */
    uint32_t sector;
    crashio_fill fill;
} tear_case;

/* Run the tear case in a child with seed; OUT: the file after the crash
 * (malloc'd) and the tear report. */
static uint8_t *run_tear(fx *f, const tear_case *tc, uint64_t seed,
                         size_t *flen, crashio_tear_info *ti)
{
    pid_t pid;
    int st;

    fx_reset(f);
    pid = tu_fork();
    if (pid == 0) {
        crashio_config cfg = {.inner = cl_io_posix(),
                              .shared = f->sh,
                              .seed = seed,
                              .crash_at = 4,
                              .crash_action = CRASHIO_TEAR,
                              .sector = tc->sector,
                              .fill = tc->fill,
                              .shadow_path = f->log};
        crashio *c;
        const cl_io *io;
        uint8_t *old = malloc(tc->old_len + 1), *neu = malloc(tc->len);
        int fd;
        if (crashio_new(&cfg, &c) != 0)
            _exit(2);
        io = crashio_table(c);
        memset(old, 'o', tc->old_len);
        pattern(neu, tc->len, 0);
        if (io->open(io->ctx, tu_path(f->db, "f"), CL_IO_RDWR | CL_IO_CREATE,
                     &fd) ||
            io->pwrite(io->ctx, fd, old, tc->old_len, 0) ||
            io->fsync(io->ctx, fd))
            _exit(3);
        io->pwrite(io->ctx, fd, neu, tc->len, tc->off); /* point 4 */
        _exit(4);
    }
    st = tu_wait(pid);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGKILL);
    assert_int_equal(atomic_load(&f->sh->outcome), CRASHIO_OUT_TORN);
    *ti = f->sh->tear;
    return tu_read_file(tu_path(f->db, "f"), flen);
}

/* Check that the file holds exactly the reported sectors new and the others
 * per the fill; returns the fill seen. */
static void check_tear(const tear_case *tc, const uint8_t *file, size_t flen,
                       const crashio_tear_info *ti)
{
    uint64_t u = tc->sector, first = tc->off / u;
    uint64_t n = (tc->off + tc->len - 1) / u - first + 1;
    uint8_t *neu = malloc(tc->len);
    uint64_t reached = 0, end_reached = 0;

    pattern(neu, tc->len, 0);
    assert_int_equal(ti->point, 4);
    assert_int_equal(ti->off, tc->off);
    assert_int_equal(ti->len, tc->len);
    assert_int_equal(ti->sector, u);
    assert_int_equal(ti->nsectors, n);
    assert_true(ti->fill != CRASHIO_FILL_SEED);
    if (tc->fill != CRASHIO_FILL_SEED)
        assert_int_equal(ti->fill, tc->fill);
    if (n == 1)
        assert_true(ti->nreached <= 1);
    else
        assert_true(ti->nreached >= 1 && ti->nreached < n);

    /* Bytes before the write are untouched. */
    for (uint64_t i = 0; i < tc->off && i < flen; i++)
        assert_int_equal(file[i], 'o');
    for (uint64_t i = 0; i < n; i++) {
        uint64_t lo = (first + i) * u, hi = lo + u;
        int hit = (ti->mask >> i) & 1;
        if (lo < tc->off)
            lo = tc->off;
        if (hi > tc->off + tc->len)
            hi = tc->off + tc->len;
        reached += (uint64_t)hit;
        if (hit) {
            assert_true(flen >= hi);
            assert_memory_equal(file + lo, neu + (lo - tc->off), hi - lo);
            end_reached = hi;
            continue;
        }
        if (ti->fill == CRASHIO_FILL_OLD) {
            /* Old bytes where the file had them, zeros (a hole) or nothing
             * beyond its old end. */
            for (uint64_t j = lo; j < hi && j < flen; j++)
                assert_int_equal(file[j], j < tc->old_len ? 'o' : 0);
        } else {
            assert_true(flen >= hi);
            if (ti->fill == CRASHIO_FILL_ZERO) {
                for (uint64_t j = lo; j < hi; j++)
                    assert_int_equal(file[j], 0);
            } else {
                assert_memory_not_equal(file + lo, neu + (lo - tc->off),
                                        hi - lo);
            }
        }
    }
    assert_int_equal(reached, ti->nreached);
    /* The size: the old size, grown by what the torn write put there. */
    if (ti->fill == CRASHIO_FILL_OLD) {
        uint64_t want = tc->old_len > end_reached ? tc->old_len : end_reached;
        assert_int_equal(flen, want);
    } else {
        uint64_t end = tc->off + tc->len;
        assert_int_equal(flen, tc->old_len > end ? tc->old_len : end);
    }
    /* Bytes after the write are untouched. */
    for (uint64_t i = tc->off + tc->len; i < flen; i++)
        assert_int_equal(file[i], 'o');
    free(neu);
}

static void test_crashio_tear_holds_exactly_chosen_sectors(void **state)
{
    fx *f = *state;
    static const tear_case cases[] = {
        {6000, 700, 3000, 512, CRASHIO_FILL_OLD},
        {6000, 700, 3000, 512, CRASHIO_FILL_ZERO},
        {6000, 700, 3000, 512, CRASHIO_FILL_GARBAGE},
        {6000, 100, 9000, 4096, CRASHIO_FILL_OLD},
        {1000, 512, 3584, 512, CRASHIO_FILL_OLD}, /* extends the file */
        {1000, 300, 5000, 512, CRASHIO_FILL_ZERO},
        {6000, 700, 3000, 512, CRASHIO_FILL_SEED},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (uint64_t seed = 1; seed <= 6; seed++) {
            crashio_tear_info ti;
            size_t flen;
            uint8_t *file = run_tear(f, &cases[i], seed, &flen, &ti);
            assert_non_null(file);
            check_tear(&cases[i], file, flen, &ti);
            free(file);
        }
    }
}

static void test_crashio_tear_is_deterministic_by_seed(void **state)
{
    fx *f = *state;
    const tear_case tc = {6000, 700, 3000, 512, CRASHIO_FILL_SEED};
    crashio_tear_info t1, t2;
    size_t l1, l2;
    int differs = 0, fills[3] = {0};

    for (uint64_t seed = 1; seed <= 12; seed++) {
        uint8_t *a = run_tear(f, &tc, seed, &l1, &t1);
        uint8_t *b = run_tear(f, &tc, seed, &l2, &t2);
        assert_int_equal(l1, l2);
        assert_memory_equal(a, b, l1);
        assert_int_equal(t1.mask, t2.mask);
        assert_int_equal(t1.fill, t2.fill);
        fills[t1.fill]++;
        uint8_t *c = run_tear(f, &tc, seed + 1000, &l2, &t2);
        differs += l1 != l2 || memcmp(a, c, l1) != 0;
        free(a);
        free(b);
        free(c);
    }
    /* Different seeds give different damage (all but by bad luck), and the
     * seed-drawn fill takes every value. */
    assert_true(differs >= 10);
    assert_true(fills[0] > 0 && fills[1] > 0 && fills[2] > 0);
}

/* crashio_tear_write on a copy of the file as it was before point 4 makes
 * the very bytes the crash's own tear left, and reports the same tear. */
static void test_crashio_tear_write_equals_the_crash_tear(void **state)
{
    fx *f = *state;
    static const tear_case cases[] = {
        {6000, 700, 3000, 512, CRASHIO_FILL_OLD},
        {6000, 700, 3000, 512, CRASHIO_FILL_ZERO},
        {6000, 700, 3000, 512, CRASHIO_FILL_GARBAGE},
        {6000, 100, 9000, 4096, CRASHIO_FILL_SEED},
        {1000, 512, 3584, 512, CRASHIO_FILL_OLD},
        {2000, 100, 200, 512, CRASHIO_FILL_SEED},
    };
    const char *copy = tu_path(f->root, "copy");

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const tear_case *tc = &cases[i];
        for (uint64_t seed = 1; seed <= 8; seed++) {
            crashio_tear_info ti, tw;
            size_t flen, clen;
            uint8_t *file = run_tear(f, tc, seed, &flen, &ti);
            uint8_t *old = malloc(tc->old_len), *neu = malloc(tc->len);
            uint8_t *mine;
            int fd;

            memset(old, 'o', tc->old_len);
            pattern(neu, tc->len, 0);
            assert_int_equal(put_file(copy, old, tc->old_len), 0);
            assert_int_equal(cl_io_posix()->open(NULL, copy, CL_IO_RDWR, &fd),
                             0);
            assert_int_equal(crashio_tear_write(cl_io_posix(), fd, seed, 4,
                                                tc->sector, tc->fill, neu,
                                                tc->len, tc->off, &tw),
                             0);
            cl_io_posix()->close(NULL, fd);
            mine = tu_read_file(copy, &clen);
            assert_int_equal(clen, flen);
            assert_memory_equal(mine, file, flen);
            ti.file = 0;
            assert_memory_equal(&tw, &ti, sizeof(ti));
            free(mine);
            free(old);
            free(neu);
            free(file);
        }
    }
    /* An empty write is a plain kill; bad arguments are refused. */
    {
        crashio_tear_info tw;
        int fd;
        assert_int_equal(cl_io_posix()->open(NULL, copy, CL_IO_RDWR, &fd), 0);
        assert_int_equal(crashio_tear_write(cl_io_posix(), fd, 1, 4, 512,
                                            CRASHIO_FILL_OLD, "", 0, 0, &tw),
                         1);
        assert_int_equal(crashio_tear_write(cl_io_posix(), fd, 1, 4, 1000,
                                            CRASHIO_FILL_OLD, "x", 1, 0, &tw),
                         EINVAL);
        cl_io_posix()->close(NULL, fd);
    }
}

static void test_crashio_tear_single_sector_all_or_nothing(void **state)
{
    fx *f = *state;
    const tear_case tc = {2000, 100, 200, 512, CRASHIO_FILL_OLD};
    int seen[2] = {0, 0};

    for (uint64_t seed = 1; seed <= 16; seed++) {
        crashio_tear_info ti;
        size_t flen;
        uint8_t *file = run_tear(f, &tc, seed, &flen, &ti);
        assert_int_equal(ti.nsectors, 1);
        check_tear(&tc, file, flen, &ti);
        seen[ti.nreached]++;
        free(file);
    }
    assert_true(seen[0] > 0 && seen[1] > 0);
}

static void test_crashio_tear_of_other_call_just_kills(void **state)
{
    fx *f = *state;
    pid_t pid;

    fx_reset(f);
    pid = tu_fork();
    if (pid == 0) {
        crashio_config cfg = {.inner = cl_io_posix(),
                              .shared = f->sh,
                              .crash_at = 4,
                              .crash_action = CRASHIO_TEAR};
        crashio *c;
        if (crashio_new(&cfg, &c) != 0)
            _exit(2);
        wl_run(crashio_table(c), f->db, WL_STEPS); /* point 4: fsync */
        _exit(0);
    }
    assert_int_equal(WTERMSIG(tu_wait(pid)), SIGKILL);
    assert_int_equal(atomic_load(&f->sh->outcome), CRASHIO_OUT_KILLED);
    wl_run(cl_io_posix(), f->ref, 3);
    assert_same_tree(f->db, f->ref);
}

/* Create and open the file "f" of the fixture's database through io. */
static int open_f(const fx *f, const cl_io *io)
{
    int fd = -1;

    assert_int_equal(
        io->open(io->ctx, tu_path(f->db, "f"), CL_IO_RDWR | CL_IO_CREATE, &fd),
        0);
    return fd;
}

static void test_crashio_fail_at_returns_errno_without_effect(void **state)
{
    fx *f = *state;
    crashio_config cfg = {.inner = cl_io_posix(),
                          .shared = f->sh,
                          .fail_at = 2,
                          .fail_errno = ENOSPC};
    crashio *c;
    const cl_io *io;
    int fd;

    fx_reset(f);
    c = mk(&cfg);
    io = crashio_table(c);
    fd = open_f(f, io);
    assert_int_equal(io->pwrite(io->ctx, fd, "abc", 3, 0), ENOSPC);
    assert_int_equal(tu_file_size(tu_path(f->db, "f")), 0);
    assert_int_equal(f->sh->trace[1].flags, CRASHIO_PF_INJECTED);
    assert_int_equal(atomic_load(&f->sh->failed_point), 2);
    /* Only that call fails. */
    assert_int_equal(io->pwrite(io->ctx, fd, "abc", 3, 0), 0);
    assert_int_equal(tu_file_size(tu_path(f->db, "f")), 3);
    assert_int_equal(crashio_points(c), 3);
    io->close(io->ctx, fd);
    crashio_free(c);

    /* A failed rename does not rename; a failed create creates nothing. */
    cfg.fail_at = 1;
    cfg.fail_errno = 0; /* default EIO */
    c = mk(&cfg);
    io = crashio_table(c);
    assert_int_equal(
        io->rename(io->ctx, tu_path(f->db, "f"), tu_path(f->db, "g")), EIO);
    assert_true(tu_exists(tu_path(f->db, "f")));
    crashio_free(c);
    c = mk(&cfg);
    io = crashio_table(c);
    assert_int_equal(io->open(io->ctx, tu_path(f->db, "new"),
                              CL_IO_RDWR | CL_IO_CREATE, &fd),
                     EIO);
    assert_false(tu_exists(tu_path(f->db, "new")));
    crashio_free(c);
}

/* All records of the log at path, malloc'd; the reader stays open in *rd
 * so that their pointers stay valid. */
static shadow_rec *read_log(const char *path, shadow_reader **rd, int *n)
{
    shadow_rec *v = calloc(256, sizeof(*v));
    int k = 0;

    assert_int_equal(shadow_reader_open(path, rd), 0);
    while (k < 256 && shadow_next(*rd, &v[k]) == SHADOW_OK)
        k++;
    assert_int_equal(shadow_next(*rd, &v[255]), SHADOW_END);
    *n = k;
    return v;
}

/* Fork a branch of c's run (inner: crashio_branch_cfg.inner) whose fourth
 * point fails with ENOSPC, and which writes "bb" at 0, "cc" at 2 (that
 * call fails) and "d" at 3 on fd; check that the file it leaves at
 * f->db/f holds "bbad". */
static void run_branch(const fx *f, crashio *c, int fd, const cl_io *inner)
{
    const cl_io *io = crashio_table(c);
    pid_t pid = fork();
    size_t len;
    uint8_t *got;
    int st;

    assert_true(pid >= 0);
    if (pid == 0) {
        const crashio_branch_cfg b = {
            .fail_at = 4, .fail_errno = ENOSPC, .inner = inner};
        if (crashio_branch(c, &b) != 0 ||
            io->pwrite(io->ctx, fd, "bb", 2, 0) != 0 ||
            io->pwrite(io->ctx, fd, "cc", 2, 2) != ENOSPC ||
            io->pwrite(io->ctx, fd, "d", 1, 3) != 0)
            _exit(1);
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    got = tu_read_file(tu_path(f->db, "f"), &len);
    assert_int_equal(len, 4);
    assert_memory_equal(got, "bbad", 4);
    free(got);
}

/* A branch forked between calls goes on with its own failure on copies of
 * the files put at their paths: its writes and shadow records land on the
 * copies, the originals (moved away) keep the run's, and its failure is
 * its own. */
static void test_crashio_branch_goes_on_on_copies(void **state)
{
    fx *f = *state;
    crashio_config cfg = {.inner = cl_io_posix(),
                          .shared = f->sh,
                          .shadow_path = f->log,
                          .graveyard_dir = f->grave};
    char park[4200], parklog[4200];
    crashio *c;
    const cl_io *io;
    shadow_reader *rd;
    shadow_rec *v;
    int fd, n;
    size_t len;
    uint8_t *got;

    fx_reset(f);
    snprintf(park, sizeof(park), "%s/park", f->root);
    snprintf(parklog, sizeof(parklog), "%s/park.log", f->root);
    fs_rmrf(park);
    c = mk(&cfg);
    io = crashio_table(c);
    fd = open_f(f, io);
    assert_int_equal(io->pwrite(io->ctx, fd, "aaaa", 4, 0), 0);
    /* copies at the paths, originals parked */
    assert_int_equal(rename(f->db, park), 0);
    assert_int_equal(fs_copy_tree(park, f->db), 0);
    assert_int_equal(rename(f->log, parklog), 0);
    assert_int_equal(fs_copy_file(parklog, f->log), 0);
    run_branch(f, c, fd, NULL);
    /* the branch's log */
    v = read_log(f->log, &rd, &n);
    /* create, write, then the branch's two writes (the failed call made
     * none) */
    assert_int_equal(n, 4);
    assert_int_equal(v[2].point, 3);
    assert_int_equal(v[3].point, 5);
    shadow_reader_close(rd);
    free(v);
    /* the run's, untouched; it goes on there with no failure */
    got = tu_read_file(tu_path(park, "f"), &len);
    assert_memory_equal(got, "aaaa", 4);
    free(got);
    v = read_log(parklog, &rd, &n);
    assert_int_equal(n, 2);
    shadow_reader_close(rd);
    free(v);
    assert_int_equal(io->pwrite(io->ctx, fd, "e", 1, 0), 0);
    got = tu_read_file(tu_path(park, "f"), &len);
    assert_memory_equal(got, "eaaa", 4);
    free(got);
    io->close(io->ctx, fd);
    crashio_free(c);
    fs_rmrf(park);
    unlink(parklog);
}

/* What a process whose files are in memory writes out as it dies: its
 * files and its whole shadow log (crashio_config.on_die). */
typedef struct mem_out {
    memfs *m;
    crashio *c;
    const char *dir;
    int calls;
} mem_out;

static void mem_out_die(void *ctx)
{
    mem_out *x = ctx;

    x->calls++;
    if (memfs_store_at(x->m, x->dir, x->dir) != 0 ||
        crashio_shadow_flush(x->c, UINT64_MAX) != 0)
        _exit(9);
}

/* The on_die hook runs as the crash kills the process, after a torn
 * write's sectors are written: a process with its files in memory and its
 * log held writes out there the very file and log a process on disk
 * leaves. */
static void test_crashio_on_die_sees_the_crash_state(void **state)
{
    fx *f = *state;
    const tear_case tc = {6000, 700, 3000, 512, CRASHIO_FILL_GARBAGE};
    crashio_tear_info want_ti;
    size_t want_len, got_len;
    uint8_t *want = run_tear(f, &tc, 7, &want_len, &want_ti), *got;
    char want_log[4200];
    shadow_reader *rw, *rg;
    shadow_rec *vw, *vg;
    int nw, ng;
    pid_t pid;

    assert_non_null(want);
    snprintf(want_log, sizeof(want_log), "%s/want.log", f->root);
    assert_int_equal(rename(f->log, want_log), 0);
    fx_reset(f);
    pid = tu_fork();
    if (pid == 0) {
        memfs *m = memfs_new(UINT64_MAX);
        mem_out x = {m, NULL, f->db, 0};
        crashio_config cfg = {.shared = f->sh,
                              .seed = 7,
                              .crash_at = 4,
                              .crash_action = CRASHIO_TEAR,
                              .sector = tc.sector,
                              .fill = tc.fill,
                              .shadow_path = f->log,
                              .shadow_hold = 1,
                              .on_die = mem_out_die,
                              .on_point_ctx = &x};
        uint8_t *old = malloc(tc.old_len), *neu = malloc(tc.len);
        const cl_io *io;
        int fd;
        if (m == NULL || memfs_load(m, f->db, 1 << 20) != 0)
            _exit(2);
        cfg.inner = memfs_table(m);
        if (crashio_new(&cfg, &x.c) != 0)
            _exit(2);
        io = crashio_table(x.c);
        memset(old, 'o', tc.old_len);
        pattern(neu, tc.len, 0);
        if (io->open(io->ctx, tu_path(f->db, "f"), CL_IO_RDWR | CL_IO_CREATE,
                     &fd) ||
            io->pwrite(io->ctx, fd, old, tc.old_len, 0) ||
            io->fsync(io->ctx, fd))
            _exit(3);
        /* nothing on disk before the crash */
        if (tu_exists(tu_path(f->db, "f")) || x.calls != 0)
            _exit(5);
        io->pwrite(io->ctx, fd, neu, tc.len, tc.off); /* point 4 */
        _exit(4);
    }
    assert_int_equal(WTERMSIG(tu_wait(pid)), SIGKILL);
    assert_int_equal(atomic_load(&f->sh->outcome), CRASHIO_OUT_TORN);
    assert_int_equal(f->sh->tear.mask, want_ti.mask);
    got = tu_read_file(tu_path(f->db, "f"), &got_len);
    assert_non_null(got);
    assert_int_equal(got_len, want_len);
    assert_memory_equal(got, want, want_len);
    /* the same records (each log has a salt of its own) */
    vw = read_log(want_log, &rw, &nw);
    vg = read_log(f->log, &rg, &ng);
    assert_int_equal(ng, nw);
    assert_true(nw >= 4); /* create, write, sync, a torn piece or more */
    for (int i = 0; i < nw; i++) {
        assert_int_equal(vg[i].type, vw[i].type);
        assert_int_equal(vg[i].point, vw[i].point);
        assert_int_equal(vg[i].off, vw[i].off);
        assert_int_equal(vg[i].len, vw[i].len);
        assert_int_equal(vg[i].old_len, vw[i].old_len);
        if (vw[i].old_len > 0)
            assert_memory_equal(vg[i].old_bytes, vw[i].old_bytes,
                                vw[i].old_len);
    }
    shadow_reader_close(rw);
    shadow_reader_close(rg);
    free(vw);
    free(vg);
    unlink(want_log);
    free(want);
    free(got);
}

/* A run whose files are in memory, under descriptors numbered as the
 * process's own (memfs_real_fds), branches onto disk: its files written
 * out at their paths and an empty log put at the log's, the branch goes
 * on there through the system's table (crashio_branch_cfg.inner), with
 * its own failure; the run's files in memory stay as they were. */
static void test_crashio_branch_from_memory_goes_on_on_disk(void **state)
{
    fx *f = *state;
    memfs *m = memfs_new(UINT64_MAX);
    crashio_config cfg = {.shared = f->sh,
                          .shadow_path = f->log,
                          .shadow_hold = 1,
                          .graveyard_dir = f->grave};
    char parklog[4200], joined[4200];
    uint64_t at_fork;
    const uint8_t *d;
    crashio *c;
    const cl_io *io;
    shadow_reader *rd;
    shadow_rec *v;
    size_t len;
    int fd, fd2, n;

    fx_reset(f);
    snprintf(parklog, sizeof(parklog), "%s/park.log", f->root);
    snprintf(joined, sizeof(joined), "%s/joined.log", f->root);
    assert_non_null(m);
    assert_int_equal(memfs_real_fds(m), 0);
    assert_int_equal(memfs_load(m, f->db, 1 << 20), 0);
    assert_int_equal(memfs_make_parents(m, f->grave), 0);
    cfg.inner = memfs_table(m);
    c = mk(&cfg);
    io = crashio_table(c);
    fd = open_f(f, io);
    assert_int_equal(io->pwrite(io->ctx, fd, "aaaa", 4, 0), 0);
    /* nothing on disk yet; then the files and the log written out, the
     * log parked and an empty one in its place */
    assert_false(tu_exists(tu_path(f->db, "f")));
    assert_int_equal(memfs_store_at(m, f->db, f->db), 0);
    assert_int_equal(crashio_shadow_flush(c, UINT64_MAX), 0);
    at_fork = crashio_shadow_length(c);
    assert_int_equal(rename(f->log, parklog), 0);
    fd2 = open(f->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd2 >= 0);
    close(fd2);
    run_branch(f, c, fd, cl_io_posix());
    /* the branch's records, written one by one (it held none), after the
     * run's up to the branch */
    assert_int_equal(fs_copy_joined(parklog, at_fork, f->log, joined), 0);
    v = read_log(joined, &rd, &n);
    assert_int_equal(n, 4);
    assert_int_equal(v[2].point, 3);
    assert_int_equal(v[3].point, 5);
    shadow_reader_close(rd);
    free(v);
    unlink(joined);
    /* the run's: create and write, and its file in memory */
    v = read_log(parklog, &rd, &n);
    assert_int_equal(n, 2);
    shadow_reader_close(rd);
    free(v);
    d = memfs_get(m, tu_path(f->db, "f"), &len);
    assert_non_null(d);
    assert_int_equal(len, 4);
    assert_memory_equal(d, "aaaa", 4);
    io->close(io->ctx, fd);
    crashio_free(c);
    memfs_free(m);
    unlink(parklog);
}

/* fail_sync counts sync calls only: the second sync fails, at whatever
 * point it comes, and the syncs are counted in the shared area. */
static void test_crashio_fail_sync_fails_the_nth_sync(void **state)
{
    fx *f = *state;
    crashio_config cfg = {
        .inner = cl_io_posix(), .shared = f->sh, .fail_sync = 2};
    crashio *c;
    const cl_io *io;
    int fd;

    fx_reset(f);
    c = mk(&cfg);
    io = crashio_table(c);
    fd = open_f(f, io);                                       /* point 1 */
    assert_int_equal(io->pwrite(io->ctx, fd, "ab", 2, 0), 0); /* 2 */
    assert_int_equal(io->fsync(io->ctx, fd), 0);              /* 3: sync 1 */
    assert_int_equal(io->pwrite(io->ctx, fd, "cd", 2, 2), 0); /* 4 */
    assert_int_equal(io->fdatasync(io->ctx, fd), EIO);        /* 5: sync 2 */
    assert_int_equal(io->fsync(io->ctx, fd), 0);              /* 6: sync 3 */
    assert_int_equal(atomic_load(&f->sh->failed_point), 5);
    assert_int_equal(f->sh->trace[4].flags, CRASHIO_PF_INJECTED);
    assert_int_equal(atomic_load(&f->sh->syncs), 3);
    assert_int_equal(crashio_points(c), 6);
    io->close(io->ctx, fd);
    crashio_free(c);
}

/* A failed syncfs (crashio_op_syncall) under fsync_loses_data loses every
 * file's unsynced writes, as a failed fsync of each would. */
static void test_crashio_failed_syncall_logs_lost_data(void **state)
{
    fx *f = *state;
    crashio_config cfg = {.inner = cl_io_posix(),
                          .fail_sync = 1,
                          .fsync_loses_data = 1,
                          .shadow_path = f->log};
    crashio *c;
    const cl_io *io;
    shadow_reader *rd;
    shadow_rec *v;
    int fd, n;

    fx_reset(f);
    c = mk(&cfg);
    io = crashio_table(c);
    fd = open_f(f, io);                                         /* point 1 */
    assert_int_equal(io->pwrite(io->ctx, fd, "abcd", 4, 0), 0); /* 2 */
    assert_int_equal(crashio_op_syncall(c), EIO);               /* 3 */
    io->close(io->ctx, fd);
    crashio_free(c);

    v = read_log(f->log, &rd, &n);
    assert_int_equal(n, 3);
    assert_int_equal(v[1].type, SHADOW_WRITE);
    assert_int_equal(v[2].type, SHADOW_FSYNC_FAILED);
    assert_int_equal(v[2].covers, 3);
    assert_int_equal(v[2].err, EIO);
    free(v);
    shadow_reader_close(rd);
}

static void test_crashio_failed_fsync_logs_lost_data(void **state)
{
    fx *f = *state;
    crashio_config cfg = {.inner = cl_io_posix(),
                          .fail_at = 3,
                          .fsync_loses_data = 1,
                          .shadow_path = f->log};
    crashio *c;
    const cl_io *io;
    shadow_reader *rd;
    shadow_rec *v;
    int fd, n;

    fx_reset(f);
    c = mk(&cfg);
    io = crashio_table(c);
    fd = open_f(f, io);
    assert_int_equal(io->pwrite(io->ctx, fd, "abcd", 4, 0), 0);
    assert_int_equal(io->fsync(io->ctx, fd), EIO);            /* point 3 */
    assert_int_equal(io->pwrite(io->ctx, fd, "xy", 2, 4), 0); /* point 4 */
    assert_int_equal(io->fdatasync(io->ctx, fd), 0);          /* point 5 */
    io->close(io->ctx, fd);
    crashio_free(c);

    v = read_log(f->log, &rd, &n);
    assert_int_equal(n, 5);
    assert_int_equal(v[0].type, SHADOW_CREATE);
    assert_int_equal(v[1].type, SHADOW_WRITE);
    assert_int_equal(v[2].type, SHADOW_FSYNC_FAILED);
    assert_int_equal(v[2].covers, 3); /* records 1 and 2 */
    assert_int_equal(v[2].err, EIO);
    assert_int_equal(v[2].point, 3);
    assert_int_equal(v[3].type, SHADOW_WRITE);
    assert_int_equal(v[4].type, SHADOW_SYNC);
    assert_int_equal(v[4].datasync, 1);
    assert_int_equal(v[4].covers, 5);
    free(v);
    shadow_reader_close(rd);

    /* Without fsync_loses_data, an injected fsync failure logs nothing. */
    cfg.fsync_loses_data = 0;
    fx_reset(f);
    c = mk(&cfg);
    io = crashio_table(c);
    fd = open_f(f, io);
    assert_int_equal(io->pwrite(io->ctx, fd, "abcd", 4, 0), 0);
    assert_int_equal(io->fsync(io->ctx, fd), EIO);
    io->close(io->ctx, fd);
    crashio_free(c);
    v = read_log(f->log, &rd, &n);
    assert_int_equal(n, 2);
    free(v);
    shadow_reader_close(rd);
}

static void test_crashio_shadow_records_each_operation(void **state)
{
    fx *f = *state;
    crashio_config cfg = {.inner = cl_io_posix(),
                          .shadow_path = f->log,
                          .graveyard_dir = f->grave};
    crashio *c;
    const cl_io *io;
    shadow_reader *rd;
    shadow_rec *v;
    int fd, fd2, n;
    uint8_t *buf;
    size_t len;

    fx_reset(f);
    c = mk(&cfg);
    io = crashio_table(c);
    assert_true(tu_exists(f->grave));
    assert_int_equal(
        io->open(io->ctx, tu_path(f->db, "g"), CL_IO_RDWR | CL_IO_CREATE, &fd2),
        0);
    assert_int_equal(io->pwrite(io->ctx, fd2, "GGGG", 4, 0), 0);
    fd = open_f(f, io);
    assert_int_equal(io->pwrite(io->ctx, fd, "0123456789", 10, 0), 0);
    assert_int_equal(io->pwrite(io->ctx, fd, "abcdef", 6, 7), 0);
    assert_int_equal(io->ftruncate(io->ctx, fd, 5), 0);
    assert_int_equal(io->fsync(io->ctx, fd), 0);
    /* Rename over g: g's content goes to the graveyard. */
    assert_int_equal(
        io->rename(io->ctx, tu_path(f->db, "f"), tu_path(f->db, "g")), 0);
    /* Unlink g (the former f), still open: it also goes to the graveyard,
     * and writes through the open fd are logged under its grave name. */
    assert_int_equal(io->unlink(io->ctx, tu_path(f->db, "g")), 0);
    assert_false(tu_exists(tu_path(f->db, "g")));
    assert_int_equal(io->pwrite(io->ctx, fd, "Z", 1, 0), 0);
    assert_int_equal(io->dirsync(io->ctx, f->db), 0);
    io->close(io->ctx, fd);
    io->close(io->ctx, fd2);
    crashio_free(c);

    v = read_log(f->log, &rd, &n);
    assert_int_equal(n, 11);
    assert_int_equal(v[0].type, SHADOW_CREATE);
    assert_string_equal(v[0].path, tu_path(f->db, "g"));
    assert_int_equal(v[1].type, SHADOW_WRITE);
    assert_int_equal(v[3].type, SHADOW_WRITE);
    assert_int_equal(v[3].old_size, 0);
    assert_int_equal(v[4].type, SHADOW_WRITE); /* "abcdef" at 7 */
    assert_int_equal(v[4].old_size, 10);
    assert_int_equal(v[4].old_len, 3);
    assert_memory_equal(v[4].old_bytes, "789", 3);
    assert_int_equal(v[4].off, 7);
    assert_int_equal(v[4].len, 6);
    assert_int_equal(v[5].type, SHADOW_TRUNCATE);
    assert_int_equal(v[5].old_size, 13);
    assert_int_equal(v[5].new_size, 5);
    assert_memory_equal(v[5].old_bytes, "56abcdef", 8);
    assert_int_equal(v[6].type, SHADOW_SYNC);
    assert_int_equal(v[6].covers, 7);
    assert_int_equal(v[7].type, SHADOW_RENAME);
    assert_int_equal(v[7].to_existed, 1);
    assert_non_null(v[7].grave);
    buf = tu_read_file(v[7].grave, &len);
    assert_non_null(buf);
    assert_int_equal(len, 4);
    assert_memory_equal(buf, "GGGG", 4);
    free(buf);
    assert_int_equal(v[8].type, SHADOW_UNLINK);
    assert_non_null(v[8].grave);
    assert_int_equal(v[9].type, SHADOW_WRITE);
    assert_string_equal(v[9].path, v[8].grave);
    buf = tu_read_file(v[8].grave, &len);
    assert_int_equal(len, 5);
    assert_memory_equal(buf, "Z1234", 5);
    free(buf);
    assert_int_equal(v[10].type, SHADOW_DIRSYNC);
    assert_int_equal(v[10].covers, 11);
    free(v);
    shadow_reader_close(rd);
}

static void test_crashio_failed_inner_call_is_logged_failed(void **state)
{
    fx *f = *state;
    crashio_config cfg = {.inner = cl_io_posix(),
                          .shadow_path = f->log,
                          .graveyard_dir = f->grave};
    crashio *c;
    const cl_io *io;
    shadow_reader *rd;
    shadow_rec *v;
    int n;

    fx_reset(f);
    c = mk(&cfg);
    io = crashio_table(c);
    /* Rename of a missing file: logged, then marked failed. */
    assert_int_equal(
        io->rename(io->ctx, tu_path(f->db, "nope"), tu_path(f->db, "x")),
        ENOENT);
    assert_int_equal(io->unlink(io->ctx, tu_path(f->db, "nope")), ENOENT);
    crashio_free(c);
    v = read_log(f->log, &rd, &n);
    assert_int_equal(n, 4);
    assert_int_equal(v[0].type, SHADOW_RENAME);
    assert_int_equal(v[1].type, SHADOW_FAILED);
    assert_int_equal(v[1].ref, 1);
    assert_int_equal(v[1].err, ENOENT);
    assert_int_equal(v[2].type, SHADOW_UNLINK);
    assert_int_equal(v[3].type, SHADOW_FAILED);
    assert_int_equal(v[3].ref, 3);
    free(v);
    shadow_reader_close(rd);
}

/* An inner pwrite that writes the first half of its buffer and then fails
 * with ENOSPC, as a filling disk does. */
static int short_pwrite(void *ctx, int fd, const void *buf, size_t len,
                        uint64_t off)
{
    (void)ctx;
    cl_io_posix()->pwrite(NULL, fd, buf, len / 2, off);
    return ENOSPC;
}

static void test_crashio_short_write_logs_the_part_written(void **state)
{
    fx *f = *state;
    cl_io inner = *cl_io_posix();
    crashio_config cfg = {.inner = &inner, .shadow_path = f->log};
    crashio *c;
    const cl_io *io;
    shadow_reader *rd;
    shadow_rec *v;
    uint8_t b[1000];
    int n, fd;

    inner.pwrite = short_pwrite;
    memset(b, 'n', sizeof(b));
    fx_reset(f);
    c = mk(&cfg);
    io = crashio_table(c);
    fd = open_f(f, io);
    assert_int_equal(io->pwrite(io->ctx, fd, b, sizeof(b), 0), ENOSPC);
    io->close(io->ctx, fd);
    crashio_free(c);
    /* CREATE, the WRITE of the whole buffer, its FAILED, then a WRITE of
     * the half that reached the file. */
    v = read_log(f->log, &rd, &n);
    assert_int_equal(n, 4);
    assert_int_equal(v[1].type, SHADOW_WRITE);
    assert_int_equal(v[1].len, 1000);
    assert_int_equal(v[2].type, SHADOW_FAILED);
    assert_int_equal(v[2].ref, v[1].seq);
    assert_int_equal(v[3].type, SHADOW_WRITE);
    assert_int_equal(v[3].off, 0);
    assert_int_equal(v[3].len, 500);
    free(v);
    shadow_reader_close(rd);
}

typedef struct thr_arg {
    const cl_io *io;
    const char *dir;
    int id;
} thr_arg;

static void *thr_writer(void *p)
{
    thr_arg *a = p;
    char name[16];
    int fd;
    uint8_t b[100];

    snprintf(name, sizeof(name), "t%d", a->id);
    memset(b, 'a' + a->id, sizeof(b));
    if (a->io->open(a->io->ctx, tu_path(a->dir, name),
                    CL_IO_RDWR | CL_IO_CREATE, &fd))
        abort();
    for (int i = 0; i < 200; i++) {
        if (a->io->pwrite(a->io->ctx, fd, b, sizeof(b), (uint64_t)i * 100))
            abort();
        if (i % 50 == 49 && a->io->fdatasync(a->io->ctx, fd))
            abort();
    }
    a->io->close(a->io->ctx, fd);
    return NULL;
}

static void test_crashio_threads_count_every_point(void **state)
{
    fx *f = *state;
    crashio_config cfg = {.inner = cl_io_posix(), .shadow_path = f->log};
    pthread_t t[4];
    thr_arg a[4];
    crashio *c;
    shadow_reader *rd;
    shadow_rec rec;
    uint64_t writes = 0, seq = 0;

    fx_reset(f);
    c = mk(&cfg);
    for (int i = 0; i < 4; i++) {
        a[i] = (thr_arg){crashio_table(c), f->db, i};
        pthread_create(&t[i], NULL, thr_writer, &a[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    /* 4 creates, 800 writes, 16 syncs. */
    assert_int_equal(crashio_points(c), 4 + 800 + 16);
    crashio_free(c);
    assert_int_equal(shadow_reader_open(f->log, &rd), 0);
    while (shadow_next(rd, &rec) == SHADOW_OK) {
        assert_int_equal(rec.seq, ++seq);
        writes += rec.type == SHADOW_WRITE;
        if (rec.type == SHADOW_SYNC)
            assert_true(rec.covers <= rec.seq);
    }
    assert_int_equal(writes, 800);
    shadow_reader_close(rd);
}

static void test_crashio_rejects_bad_config(void **state)
{
    crashio_config cfg = {0};
    crashio *c;

    (void)state;
    assert_int_equal(crashio_new(&cfg, &c), EINVAL); /* no inner */
    cfg.inner = cl_io_posix();
    cfg.sector = 1000;
    assert_int_equal(crashio_new(&cfg, &c), EINVAL);
    cfg.sector = 4096;
    cfg.graveyard_dir = "/tmp";
    assert_int_equal(crashio_new(&cfg, &c), EINVAL); /* no shadow log */
    assert_string_equal(crashio_kind_name(CRASHIO_DIRSYNC), "dirsync");
    assert_string_equal(crashio_fill_name(CRASHIO_FILL_GARBAGE), "garbage");
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_crashio_counts_and_traces_points),
        T(test_crashio_kill_at_k_leaves_points_before_k),
        T(test_crashio_hook_snapshot_equals_kill_state),
        T(test_crashio_hook_runs_before_the_crash),
        T(test_crashio_tear_holds_exactly_chosen_sectors),
        T(test_crashio_tear_is_deterministic_by_seed),
        T(test_crashio_tear_write_equals_the_crash_tear),
        T(test_crashio_tear_single_sector_all_or_nothing),
        T(test_crashio_tear_of_other_call_just_kills),
        T(test_crashio_fail_at_returns_errno_without_effect),
        T(test_crashio_fail_sync_fails_the_nth_sync),
        T(test_crashio_failed_syncall_logs_lost_data),
        T(test_crashio_branch_goes_on_on_copies),
        T(test_crashio_branch_from_memory_goes_on_on_disk),
        T(test_crashio_on_die_sees_the_crash_state),
        T(test_crashio_failed_fsync_logs_lost_data),
        T(test_crashio_shadow_records_each_operation),
        T(test_crashio_failed_inner_call_is_logged_failed),
        T(test_crashio_short_write_logs_the_part_written),
        T(test_crashio_threads_count_every_point),
        cmocka_unit_test(test_crashio_rejects_bad_config),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
