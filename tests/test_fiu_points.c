/*
 * test_fiu_points.c - the libfiu wiring of the fault-injection build (FIU=1
 * only; the Makefile leaves this suite out of other builds): every
 * engine/io/<call> point of the POSIX table fails its call with the errno
 * given as failinfo (EIO when none), before any effect; engine/io/pwrite/
 * short writes half the buffer and fails; fiu_ctl counts the evaluations of
 * one thread and fails exactly the n-th; the engine goes read-only after an
 * fsync failed through libfiu.  (Planted bugs are patches, mutants/, not
 * fault points.)  That the points are absent from a normal build is checked
 * with nm by tests/test_faults.sh.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fiu-control.h>
#include <fiu.h>
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
#include "crashlab.h"
#include "fiu_ctl.h"
#include "testutil.h"

typedef struct fx {
    char *tmp;
} fx;

static int fx_setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));

    f->tmp = tu_tmpdir("fiu");
    *state = f;
    return fiu_init(0);
}

static int fx_teardown(void **state)
{
    fx *f = *state;

    fs_rmrf(f->tmp);
    free(f->tmp);
    free(f);
    return 0;
}

static int exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0;
}

/* Enable point name with failinfo err (0: none). */
static void on(const char *name, int err)
{
    assert_int_equal(fiu_enable(name, 1, err ? (void *)(intptr_t)err : NULL, 0),
                     0);
}

/* The call of an enabled point fails with want; then disable it. */
static void expect_fail(const char *name, int rc, int want)
{
    fiu_disable(name);
    assert_int_equal(rc, want);
}

/* The point name with failinfo err makes `call` fail with want. */
#define FAILS(name, err, want, call)                                           \
    do {                                                                       \
        on(name, err);                                                         \
        expect_fail(name, (call), want);                                       \
    } while (0)

static void test_fiu_points_each_call_fails_with_its_errno(void **state)
{
    fx *f = *state;
    const cl_io *io = cl_io_posix();
    char *a = strdup(tu_path(f->tmp, "a")), *b = strdup(tu_path(f->tmp, "b")),
         *d = strdup(tu_path(f->tmp, "d")),
         *lk = strdup(tu_path(f->tmp, "LOCK"));
    uint8_t buf[16] = "0123456789abcdef", rd[16];
    uint64_t size;
    size_t got;
    int fd, fd2, lfd;

    /* open: no file is created */
    FAILS("engine/io/open", ENOSPC, ENOSPC,
          io->open(NULL, a, CL_IO_RDWR | CL_IO_CREATE, &fd));
    assert_false(exists(a));
    assert_int_equal(io->open(NULL, a, CL_IO_RDWR | CL_IO_CREATE, &fd), 0);
    /* pwrite: nothing written; without failinfo the errno is EIO */
    FAILS("engine/io/pwrite", 0, EIO,
          io->pwrite(NULL, fd, buf, sizeof(buf), 0));
    assert_int_equal(io->filesize(NULL, fd, &size), 0);
    assert_int_equal(size, 0);
    assert_int_equal(io->pwrite(NULL, fd, buf, sizeof(buf), 0), 0);
    FAILS("engine/io/pread", EIO, EIO,
          io->pread(NULL, fd, rd, sizeof(rd), 0, &got));
    FAILS("engine/io/fsync", EROFS, EROFS, io->fsync(NULL, fd));
    FAILS("engine/io/fdatasync", EIO, EIO, io->fdatasync(NULL, fd));
    /* ftruncate: the size stays */
    FAILS("engine/io/ftruncate", EDQUOT, EDQUOT, io->ftruncate(NULL, fd, 4));
    assert_int_equal(io->filesize(NULL, fd, &size), 0);
    assert_int_equal(size, sizeof(buf));
    FAILS("engine/io/filesize", EIO, EIO, io->filesize(NULL, fd, &size));
    /* close: the point fires before the descriptor is released */
    assert_int_equal(io->open(NULL, a, CL_IO_RDONLY, &fd2), 0);
    FAILS("engine/io/close", EIO, EIO, io->close(NULL, fd2));
    assert_int_equal(io->close(NULL, fd2), 0);
    assert_int_equal(io->close(NULL, fd), 0);
    /* rename, unlink, mkdir: the directory is unchanged */
    FAILS("engine/io/rename", ENOSPC, ENOSPC, io->rename(NULL, a, b));
    assert_true(exists(a) && !exists(b));
    FAILS("engine/io/unlink", EIO, EIO, io->unlink(NULL, a));
    assert_true(exists(a));
    FAILS("engine/io/mkdir", ENOSPC, ENOSPC, io->mkdir(NULL, d));
    assert_false(exists(d));
    FAILS("engine/io/dirsync", EIO, EIO, io->dirsync(NULL, f->tmp));
    FAILS("engine/io/lock", EAGAIN, EAGAIN, io->lock(NULL, lk, &lfd));
    /* and every call works again once its point is disabled */
    assert_int_equal(io->rename(NULL, a, b), 0);
    assert_int_equal(io->unlink(NULL, b), 0);
    assert_int_equal(io->mkdir(NULL, d), 0);
    assert_int_equal(io->dirsync(NULL, f->tmp), 0);
    assert_int_equal(io->lock(NULL, lk, &lfd), 0);
    assert_int_equal(io->unlock(NULL, lfd), 0);
    free(a);
    free(b);
    free(d);
    free(lk);
}

static void test_fiu_points_short_write_writes_half(void **state)
{
    fx *f = *state;
    const cl_io *io = cl_io_posix();
    char *a = strdup(tu_path(f->tmp, "a"));
    uint8_t buf[1000], *back;
    size_t len;
    int fd;

    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(i * 7);
    assert_int_equal(io->open(NULL, a, CL_IO_RDWR | CL_IO_CREATE, &fd), 0);
    FAILS("engine/io/pwrite/short", ENOSPC, ENOSPC,
          io->pwrite(NULL, fd, buf, sizeof(buf), 0));
    io->close(NULL, fd);
    back = tu_read_file(a, &len);
    assert_int_equal(len, 500);
    assert_memory_equal(back, buf, 500);
    free(back);
    free(a);
}

/* ---- fiu_ctl, in forked children (its state is per process) ---- */

static void *fiu_other_thread(void *arg)
{
    uint64_t size;

    cl_io_posix()->filesize(NULL, *(int *)arg, &size);
    return NULL;
}

/* In a child: count (nth == 0) or fail the nth pwrite, then make 3
 * pwrites, 2 fdatasyncs and a filesize from another thread; exit with a
 * bit per failed pwrite. */
static void fiu_child(const char *path, fiuctl_shared *sh, uint64_t nth,
                      _Atomic uint64_t *clock)
{
    const cl_io *io = cl_io_posix();
    uint8_t b[8] = {0};
    pthread_t th;
    int fd, out = 0;

    signal(SIGSEGV, SIG_DFL);
    signal(SIGABRT, SIG_DFL);
    if (io->open(NULL, path, CL_IO_RDWR | CL_IO_CREATE, &fd) != 0)
        _exit(100);
    if ((nth == 0
             ? fiuctl_count(7, sh, clock)
             : fiuctl_fail_nth(7, FIUCTL_PWRITE, nth, ENOSPC, sh, clock)) != 0)
        _exit(101);
    for (int i = 0; i < 3; i++) {
        atomic_fetch_add(clock, 10);
        if (io->pwrite(NULL, fd, b, sizeof(b), (uint64_t)i * 8) == ENOSPC)
            out |= 1 << i;
    }
    io->fdatasync(NULL, fd);
    io->fdatasync(NULL, fd);
    if (pthread_create(&th, NULL, fiu_other_thread, &fd) != 0)
        _exit(102);
    pthread_join(th, NULL);
    _exit(out);
}

static int fiu_run_child(const char *path, fiuctl_shared *sh, uint64_t nth,
                         _Atomic uint64_t *clock)
{
    int st;
    pid_t pid = fork();

    assert_true(pid >= 0);
    if (pid == 0)
        fiu_child(path, sh, nth, clock);
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st);
}

static void test_fiu_ctl_counts_one_thread_and_fails_nth(void **state)
{
    fx *f = *state;
    size_t size = fiuctl_shared_size(64) + 64;
    void *mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    _Atomic uint64_t *clock = mem;
    fiuctl_shared *sh = (fiuctl_shared *)((char *)mem + 64);
    char *a = strdup(tu_path(f->tmp, "a"));

    assert_true(mem != MAP_FAILED);
    /* counting: the open came before, the other thread's filesize is not
     * counted; each pwrite also evaluates pwrite/short */
    fiuctl_shared_init(sh, 64);
    atomic_store(clock, 0);
    assert_int_equal(fiu_run_child(a, sh, 0, clock), 0);
    assert_int_equal(sh->counts[FIUCTL_PWRITE], 3);
    assert_int_equal(sh->counts[FIUCTL_PWRITE_SHORT], 3);
    assert_int_equal(sh->counts[FIUCTL_FDATASYNC], 2);
    assert_int_equal(sh->counts[FIUCTL_FILESIZE], 0);
    assert_int_equal(sh->counts[FIUCTL_OPEN], 0);
    assert_int_equal(atomic_load(&sh->n), 8);
    assert_int_equal(sh->e[0].point, FIUCTL_PWRITE);
    assert_int_equal(sh->e[0].clock, 10);
    assert_int_equal(sh->e[1].point, FIUCTL_PWRITE_SHORT);
    assert_int_equal(sh->e[2].clock, 20);
    assert_int_equal(sh->e[7].point, FIUCTL_FDATASYNC);
    /* failing the 2nd pwrite: exactly that one, and it is recorded */
    fiuctl_shared_init(sh, 0);
    atomic_store(clock, 0);
    assert_int_equal(fiu_run_child(a, sh, 2, clock), 1 << 1);
    assert_int_equal(atomic_load(&sh->fired), 1);
    assert_int_equal(sh->fired_clock, 20);
    /* an evaluation past the run never fires */
    fiuctl_shared_init(sh, 0);
    assert_int_equal(fiu_run_child(a, sh, 4, clock), 0);
    assert_int_equal(atomic_load(&sh->fired), 0);
    munmap(mem, size);
    free(a);
}

/* ---- the engine under libfiu ---- */

static void test_fiu_engine_read_only_after_failed_fsync(void **state)
{
    fx *f = *state;
    char *dir = strdup(tu_path(f->tmp, "db")), k[16];
    cl_options o = {0};
    cl_stats st;
    cl_db *db;
    size_t vl;

    o.sync = CL_SYNC_COMMIT;
    assert_int_equal(cl_open(dir, &o, &db), 0);
    for (int i = 0; i < 5; i++) {
        snprintf(k, sizeof(k), "k%d", i);
        assert_int_equal(cl_put(db, k, strlen(k), "v", 1), 0);
    }
    /* One failed fdatasync (FIU_ONETIME, then disabled: a fired one-time
     * point would otherwise stay in libfiu's table). */
    assert_int_equal(fiu_enable("engine/io/fdatasync", 1, (void *)(intptr_t)EIO,
                                FIU_ONETIME),
                     0);
    assert_int_equal(cl_put(db, "k5", 2, "v", 1), EIO);
    fiu_disable("engine/io/fdatasync");
    /* later fsyncs would succeed, but the handle takes no more writes */
    assert_int_equal(cl_put(db, "k6", 2, "v", 1), CL_EREADONLY);
    assert_int_equal(cl_sync(db), CL_EREADONLY);
    assert_int_equal(cl_checkpoint(db), CL_EREADONLY);
    assert_int_equal(cl_stats_get(db, &st), 0);
    assert_int_equal(st.readonly, 1);
    assert_int_equal(st.fatal_error, EIO);
    assert_int_equal(cl_get(db, "k0", 2, NULL, 0, &vl), 0);
    cl_close(db);
    /* reopening recovers: every acknowledged commit is there */
    assert_int_equal(cl_open(dir, NULL, &db), 0);
    for (int i = 0; i < 5; i++) {
        snprintf(k, sizeof(k), "k%d", i);
        assert_int_equal(cl_get(db, k, strlen(k), NULL, 0, &vl), 0);
    }
    assert_int_equal(cl_get(db, "k6", 2, NULL, 0, &vl), CL_ENOTFOUND);
    assert_int_equal(cl_put(db, "k7", 2, "v", 1), 0);
    assert_int_equal(cl_close(db), 0);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_fiu_points_each_call_fails_with_its_errno, fx_setup,
            fx_teardown),
        cmocka_unit_test_setup_teardown(test_fiu_points_short_write_writes_half,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_fiu_ctl_counts_one_thread_and_fails_nth, fx_setup,
            fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_fiu_engine_read_only_after_failed_fsync, fx_setup,
            fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
