/*
 * fiu_ctl.c - counting and failing the engine's libfiu points (see
 * fiu_ctl.h).
 *
 * libfiu calls an external callback with no context of ours, so the state
 * of a run lives in this file's statics: one run per process (a writer
 * child), set up after fork and never torn down.  Callbacks may run in
 * several threads at once (under libfiu's read lock): they only read the
 * statics set before the points were enabled, and count with atomics.
 * They must not call back into libfiu (fiu_enable from a callback hangs).
 */
#include "fiu_ctl.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#ifdef FIU_ENABLE
#include <fiu-control.h>
#include <fiu.h>
#endif

static const char *const fiuctl_names[FIUCTL_POINTS] = {
    [FIUCTL_OPEN] = "engine/io/open",
    [FIUCTL_CLOSE] = "engine/io/close",
    [FIUCTL_PREAD] = "engine/io/pread",
    [FIUCTL_PWRITE] = "engine/io/pwrite",
    [FIUCTL_PWRITE_SHORT] = "engine/io/pwrite/short",
    [FIUCTL_FSYNC] = "engine/io/fsync",
    [FIUCTL_FDATASYNC] = "engine/io/fdatasync",
    [FIUCTL_FTRUNCATE] = "engine/io/ftruncate",
    [FIUCTL_FILESIZE] = "engine/io/filesize",
    [FIUCTL_RENAME] = "engine/io/rename",
    [FIUCTL_UNLINK] = "engine/io/unlink",
    [FIUCTL_MKDIR] = "engine/io/mkdir",
    [FIUCTL_DIRSYNC] = "engine/io/dirsync",
    [FIUCTL_LOCK] = "engine/io/lock",
};

#define FIUCTL_PREFIX "engine/io/"

const char *fiuctl_point_name(int p)
{
    return p >= 0 && p < FIUCTL_POINTS ? fiuctl_names[p] : NULL;
}

const char *fiuctl_point_short(int p)
{
    const char *n = fiuctl_point_name(p);

    return n != NULL ? n + strlen(FIUCTL_PREFIX) : "?";
}

size_t fiuctl_shared_size(uint64_t cap)
{
    return sizeof(fiuctl_shared) + cap * sizeof(fiuctl_eval);
}

void fiuctl_shared_init(fiuctl_shared *sh, uint64_t cap)
{
    memset(sh, 0, fiuctl_shared_size(cap));
    atomic_init(&sh->n, 0);
    atomic_init(&sh->fired, 0);
    sh->cap = cap;
}

#ifdef FIU_ENABLE

/* The run of this process (set before any point is enabled). */
static pthread_t fiuctl_owner;             /* the thread whose calls count */
static fiuctl_shared *fiuctl_sh;           /* where they are recorded */
static const _Atomic uint64_t *fiuctl_clk; /* sampled at each evaluation */
static uint64_t fiuctl_nth;                /* failing run: the evaluation */
static _Atomic uint64_t fiuctl_seen;       /* ... evaluations so far */

int fiuctl_available(void)
{
    return 1;
}

static uint64_t fiuctl_clock(void)
{
    return fiuctl_clk != NULL ? atomic_load(fiuctl_clk) : 0;
}

static int fiuctl_index(const char *name)
{
    for (int i = 0; i < FIUCTL_POINTS; i++)
        if (strcmp(name, fiuctl_names[i]) == 0)
            return i;
    return -1;
}

/* Counting run: record the evaluation, never fail. */
static int fiuctl_count_cb(const char *name, int *failnum, void **failinfo,
                           unsigned int *flags)
{
    int p = fiuctl_index(name);
    uint64_t i;

    (void)failnum;
    (void)failinfo;
    (void)flags;
    if (p < 0 || !pthread_equal(pthread_self(), fiuctl_owner))
        return 0;
    i = atomic_fetch_add(&fiuctl_sh->n, 1);
    fiuctl_sh->counts[p]++; /* only the owner thread writes counts */
    if (i < fiuctl_sh->cap) {
        fiuctl_sh->e[i].point = (uint8_t)p;
        fiuctl_sh->e[i].clock = (uint32_t)fiuctl_clock();
    }
    return 0;
}

/* Failing run: fail the nth evaluation of the target in the owner thread.
 * failinfo was pinned to the errno when the point was enabled. */
static int fiuctl_fail_cb(const char *name, int *failnum, void **failinfo,
                          unsigned int *flags)
{
    (void)name;
    (void)failnum;
    (void)failinfo;
    (void)flags;
    if (!pthread_equal(pthread_self(), fiuctl_owner))
        return 0;
    if (atomic_fetch_add(&fiuctl_seen, 1) + 1 != fiuctl_nth)
        return 0;
    fiuctl_sh->fired_clock = fiuctl_clock();
    atomic_store(&fiuctl_sh->fired, 1);
    return 1;
}

/* Seed and initialise libfiu in this (freshly forked) process. */
static int fiuctl_start(uint64_t seed, fiuctl_shared *sh,
                        const _Atomic uint64_t *clock)
{
    /* libfiu's PRNG takes 32 bits: fold the trial seed into them. */
    fiu_set_prng_seed((unsigned int)(seed ^ (seed >> 32)));
    if (fiu_init(0) != 0)
        return EIO;
    fiuctl_owner = pthread_self();
    fiuctl_sh = sh;
    fiuctl_clk = clock;
    return 0;
}

int fiuctl_count(uint64_t seed, fiuctl_shared *sh,
                 const _Atomic uint64_t *clock)
{
    int rc;

    if (sh == NULL)
        return EINVAL;
    if ((rc = fiuctl_start(seed, sh, clock)) != 0)
        return rc;
    for (int i = 0; i < FIUCTL_POINTS; i++)
        if (fiu_enable_external(fiuctl_names[i], 1, NULL, 0, fiuctl_count_cb) !=
            0)
            return EIO;
    return 0;
}

int fiuctl_fail_nth(uint64_t seed, int p, uint64_t nth, int err,
                    fiuctl_shared *sh, const _Atomic uint64_t *clock)
{
    int rc;

    if (p < 0 || p >= FIUCTL_POINTS || nth == 0 || err <= 0 || sh == NULL)
        return EINVAL;
    if ((rc = fiuctl_start(seed, sh, clock)) != 0)
        return rc;
    fiuctl_nth = nth;
    atomic_store(&fiuctl_seen, 0);
    /* The errno is the point's failinfo: pinned, never libfiu's choice. */
    if (fiu_enable_external(fiuctl_names[p], 1, (void *)(intptr_t)err, 0,
                            fiuctl_fail_cb) != 0)
        return EIO;
    return 0;
}

#else /* !FIU_ENABLE */

int fiuctl_available(void)
{
    return 0;
}

int fiuctl_count(uint64_t seed, fiuctl_shared *sh,
                 const _Atomic uint64_t *clock)
{
    (void)seed;
    (void)sh;
    (void)clock;
    return ENOTSUP;
}

int fiuctl_fail_nth(uint64_t seed, int p, uint64_t nth, int err,
                    fiuctl_shared *sh, const _Atomic uint64_t *clock)
{
    (void)seed;
    (void)p;
    (void)nth;
    (void)err;
    (void)sh;
    (void)clock;
    return ENOTSUP;
}

#endif
