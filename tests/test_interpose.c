/*
 * test_interpose.c - the libc interposer linked into the executable (the
 * way in for library targets): the file calls of a shared library the
 * program loads (SQLite) reach it, because a symbol the executable defines
 * and exports comes before the C library's; calls outside the root are
 * not tracked; and its shadow log gives power-cut images that keep what
 * was synced and lose what was not, for a write-only descriptor too (whose
 * old bytes the interposer must read through a second descriptor).
 * (The preload object in a separate program: tests/test_preload.sh.)
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fsutil.h"
#include "interpose.h"
#include "powerloss.h"
#include "testutil.h"

typedef struct fx {
    char *base;
    char root[IP_PATH_MAX], log[IP_PATH_MAX], grave[IP_PATH_MAX];
    interpose_config cfg;
    interpose_result *res; /* MAP_SHARED */
    crashio_shared *sh;    /* MAP_SHARED */
} fx;

static int fx_setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));

    f->base = tu_tmpdir("interpose");
    assert_true(strlen(f->base) < 256);
    snprintf(f->root, sizeof(f->root), "%.256s/root", f->base);
    snprintf(f->log, sizeof(f->log), "%.256s/shadow.log", f->base);
    snprintf(f->grave, sizeof(f->grave), "%.256s/grave", f->base);
    assert_int_equal(mkdir(f->root, 0755), 0);
    assert_non_null(realpath(f->root, f->cfg.root));
    snprintf(f->cfg.shadow_path, sizeof(f->cfg.shadow_path), "%s", f->log);
    snprintf(f->cfg.graveyard_dir, sizeof(f->cfg.graveyard_dir), "%s",
             f->grave);
    f->res = mmap(NULL, sizeof(*f->res), PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    f->sh = mmap(NULL, crashio_shared_size(64), PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(f->res != MAP_FAILED && f->sh != MAP_FAILED);
    crashio_shared_init(f->sh, 64);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    fx *f = *state;

    munmap(f->res, sizeof(*f->res));
    munmap(f->sh, crashio_shared_size(64));
    fs_rmrf(f->base);
    free(f->base);
    free(f);
    return 0;
}

/* The child pid was killed at its crash point. */
static void wait_killed(pid_t pid)
{
    int st = tu_wait(pid);

    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
}

/* Turn the root into a power-cut image under model. */
static void cut_power(const fx *f, plimg_model model)
{
    plimg_config pc = {.model = model, .sector = 512};
    plimg_summary sum;

    assert_int_equal(plimg_apply(f->cfg.root, f->log, &pc, &sum), 0);
}

/* SQLite's pwrite and fsync calls, made from libsqlite3.so, are tracked. */
static void sqlite_calls_reach_the_interposer(void **state)
{
    fx *f = *state;
    char db[4200];
    sqlite3 *h;

    snprintf(db, sizeof(db), "%s/t.db", f->cfg.root);
    assert_int_equal(interpose_start(&f->cfg, f->res, f->sh), 0);
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h,
                                  "CREATE TABLE t(k, v);"
                                  "INSERT INTO t VALUES (1, 'one');",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_close(h), SQLITE_OK);
    assert_true(interpose_points() > 0);
    interpose_stop();
    assert_true(f->res->tracked[IP_OPEN] >= 2); /* the database, a journal */
    assert_true(f->res->tracked[IP_PWRITE] + f->res->tracked[IP_WRITE] > 0);
    assert_true(f->res->tracked[IP_FSYNC] + f->res->tracked[IP_FDATASYNC] > 0);
    assert_true(f->res->tracked[IP_UNLINK] > 0); /* the rollback journal */
    assert_true(tu_exists(db));
}

/* A file outside the root: seen, not tracked, no point. */
static void outside_the_root_is_not_tracked(void **state)
{
    fx *f = *state;
    char p[4200];
    int fd;

    snprintf(p, sizeof(p), "%s/outside", f->base);
    assert_int_equal(interpose_start(&f->cfg, f->res, f->sh), 0);
    fd = open(p, O_WRONLY | O_CREAT, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "x", 1), 1);
    assert_int_equal(fsync(fd), 0);
    assert_int_equal(close(fd), 0);
    assert_int_equal(interpose_points(), 0);
    interpose_stop();
    assert_int_equal(f->res->calls[IP_WRITE], 1);
    assert_int_equal(f->res->tracked[IP_WRITE], 0);
    assert_int_equal(tu_file_size(p), 1);
}

/* In a child: a synced file, an unsynced overwrite of a second file
 * through a write-only descriptor, an unsynced append to a third, then a
 * kill at the next point.  An image that drops unsynced data keeps
 * exactly the synced bytes. */
static void power_cut_keeps_only_synced_writes(void **state)
{
    fx *f = *state;
    char a[4200], b[4200], c[4200];
    uint8_t *got;
    size_t n;
    pid_t pid;

    snprintf(a, sizeof(a), "%s/a", f->cfg.root);
    snprintf(b, sizeof(b), "%s/b", f->cfg.root);
    snprintf(c, sizeof(c), "%s/c", f->cfg.root);
    /* b exists, durable, before the writer starts */
    {
        int fd = open(b, O_WRONLY | O_CREAT, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "AAAA", 4), 4);
        assert_int_equal(close(fd), 0);
    }
    f->cfg.crash_at = 8;
    pid = tu_fork();
    if (pid == 0) {
        int fd;
        if (interpose_start(&f->cfg, f->res, f->sh) != 0)
            _exit(3);
        /* 1 create, 2 write, 3 fsync, 4 dirsync */
        fd = open(a, O_RDWR | O_CREAT, 0644);
        if (fd < 0 || write(fd, "synced", 6) != 6 || fsync(fd) != 0)
            _exit(4);
        close(fd);
        fd = open(f->cfg.root, O_RDONLY | O_DIRECTORY);
        if (fd < 0 || fsync(fd) != 0)
            _exit(5);
        close(fd);
        /* 5 pwrite (write-only) */
        fd = open(b, O_WRONLY);
        if (fd < 0 || pwrite(fd, "BB", 2, 1) != 2)
            _exit(6);
        /* 6 append, 7 write */
        fd = open(a, O_WRONLY | O_APPEND);
        if (fd < 0 || write(fd, "+lost", 5) != 5)
            _exit(7);
        fd = open(c, O_WRONLY | O_CREAT, 0644);
        if (fd < 0 || write(fd, "lost", 4) != 4)
            _exit(8);
        /* 8: killed here */
        fsync(fd);
        _exit(9);
    }
    wait_killed(pid);
    assert_int_equal(f->sh->outcome, CRASHIO_OUT_KILLED);
    assert_int_equal(f->sh->crash_point, 8);
    assert_int_equal(tu_file_size(a), 11); /* the page cache had it all */
    cut_power(f, PLIMG_DROP_UNSYNCED_FILES);
    got = tu_read_file(a, &n);
    assert_non_null(got);
    assert_int_equal(n, 6);
    assert_memory_equal(got, "synced", 6);
    free(got);
    got = tu_read_file(b, &n);
    assert_non_null(got);
    assert_int_equal(n, 4);
    assert_memory_equal(got, "AAAA", 4);
    free(got);
    assert_false(tu_exists(c)); /* its create was never made durable */
}

/* truncate(2) by path is a truncate point of the core: a power cut before
 * a sync undoes it, the page cache keeps it. */
static void truncate_by_path_is_a_truncate_point(void **state)
{
    fx *f = *state;
    char a[4200];
    uint8_t *got;
    size_t n;
    pid_t pid;

    snprintf(a, sizeof(a), "%s/a", f->cfg.root);
    f->cfg.crash_at = 5;
    pid = tu_fork();
    if (pid == 0) {
        int fd;
        if (interpose_start(&f->cfg, f->res, f->sh) != 0)
            _exit(3);
        /* 1 create, 2 write, 3 fsync, 4 truncate */
        fd = open(a, O_RDWR | O_CREAT, 0644);
        if (fd < 0 || write(fd, "0123456789", 10) != 10 || fsync(fd) != 0)
            _exit(4);
        if (truncate(a, 4) != 0)
            _exit(5);
        /* 5: killed here */
        fsync(fd);
        _exit(6);
    }
    wait_killed(pid);
    assert_int_equal(f->sh->crash_point, 5);
    assert_int_equal(f->sh->trace[3].kind, CRASHIO_FTRUNCATE);
    assert_int_equal(f->sh->trace[3].off, 4);
    assert_int_equal(f->res->tracked[IP_FTRUNCATE], 1);
    assert_int_equal(tu_file_size(a), 4); /* the page cache had it */
    cut_power(f, PLIMG_DROP_UNSYNCED_DATA);
    got = tu_read_file(a, &n);
    assert_non_null(got);
    assert_int_equal(n, 10);
    assert_memory_equal(got, "0123456789", 10);
    free(got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(sqlite_calls_reach_the_interposer,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(outside_the_root_is_not_tracked,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(power_cut_keeps_only_synced_writes,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(truncate_by_path_is_a_truncate_point,
                                        fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
