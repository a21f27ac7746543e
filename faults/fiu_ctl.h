/*
 * fiu_ctl.h - libfiu control for the harness: the engine's fault points by
 * name, counting their evaluations, and failing exactly the n-th one with
 * a pinned errno.
 *
 * The engine evaluates engine/io/<call> at the start of every call of its
 * POSIX table (engine/io_posix.c) and engine/io/pwrite/short in every
 * pwrite; which evaluation of a point fails must be reproducible, so the
 * harness never uses libfiu's random modes here: it enables each point with
 * an external callback that counts the evaluations made by one thread (the
 * one that runs the workload; a background thread's calls happen at times
 * no seed fixes, so they are neither counted nor failed) and fails exactly
 * the n-th.  libfiu is still seeded per trial (fiu_set_prng_seed before
 * fiu_init, in the child after fork), so anything random it might do is
 * replayable too.
 *
 * Everything here needs a build with FIU_ENABLE (make FIU=1).  Elsewhere
 * fiuctl_available() is 0 and the enabling functions return ENOTSUP.
 */
#ifndef CL_FIU_CTL_H
#define CL_FIU_CTL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* The fault points of the POSIX table, in a fixed order. */
typedef enum fiuctl_point {
    FIUCTL_OPEN = 0,
    FIUCTL_CLOSE,
    FIUCTL_PREAD,
    FIUCTL_PWRITE,
    FIUCTL_PWRITE_SHORT,
    FIUCTL_FSYNC,
    FIUCTL_FDATASYNC,
    FIUCTL_FTRUNCATE,
    FIUCTL_FILESIZE,
    FIUCTL_RENAME,
    FIUCTL_UNLINK,
    FIUCTL_MKDIR,
    FIUCTL_DIRSYNC,
    FIUCTL_LOCK,
    FIUCTL_POINTS
} fiuctl_point;

/* "engine/io/open", ..., "engine/io/pwrite/short"; NULL out of range. */
const char *fiuctl_point_name(int p);
/* The short name after "engine/io/" ("pwrite/short"). */
const char *fiuctl_point_short(int p);

/* 1 in a build with FIU_ENABLE, else 0. */
int fiuctl_available(void);

/* One evaluation, as a counting run records it. */
typedef struct fiuctl_eval {
    uint8_t point;  /* fiuctl_point */
    uint8_t rsv[3]; /* zero */
    uint32_t clock; /* the clock's value then (see fiuctl_count) */
} fiuctl_eval;

/*
 * An area the caller places in MAP_SHARED memory before fork, so the
 * parent can read what a child's run counted or fired.  Size it with
 * fiuctl_shared_size, reset it with fiuctl_shared_init before each run.
 */
typedef struct fiuctl_shared {
    _Atomic uint64_t n;             /* evaluations counted (may exceed cap) */
    _Atomic uint64_t fired;         /* failing run: 1 once the failure fired */
    uint64_t fired_clock;           /* the clock then (set before fired) */
    uint64_t counts[FIUCTL_POINTS]; /* counting run: per point */
    uint64_t cap;                   /* entries in e[] */
    fiuctl_eval e[];                /* e[i]: evaluation i + 1, i < cap */
} fiuctl_shared;

size_t fiuctl_shared_size(uint64_t cap);
void fiuctl_shared_init(fiuctl_shared *sh, uint64_t cap);

/* In a child after fork, in the thread whose calls count: seed libfiu with
 * seed, initialise it, and record every evaluation of every point made by
 * this thread into sh, with the value of *clock at that moment (clock may
 * be NULL: 0).  Nothing fails.  Returns 0 or an errno (ENOTSUP without
 * FIU_ENABLE). */
int fiuctl_count(uint64_t seed, fiuctl_shared *sh,
                 const _Atomic uint64_t *clock);

/* Likewise, but fail the nth evaluation (1 = the first) of point p made by
 * this thread, with errno err as the point's failinfo, and record it in
 * sh->fired and sh->fired_clock.  Returns 0 or an errno (EINVAL for a bad
 * point, nth or err; ENOTSUP without FIU_ENABLE). */
int fiuctl_fail_nth(uint64_t seed, int p, uint64_t nth, int err,
                    fiuctl_shared *sh, const _Atomic uint64_t *clock);

#endif
