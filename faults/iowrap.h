/*
 * iowrap.h - an I/O table that forwards every call to another one, with
 * the changes a test of the harness asks for:
 *   - nosync: fsync, fdatasync and directory syncs return 0 without doing
 *     anything (the broken test targets' syncs that make nothing durable);
 *   - fail_read_at: the n-th pread made through the table (1 for the
 *     first, counted across threads) fails with read_errno, with no
 *     effect: a read error of the device, such as a recovery may meet.
 * Everything else, the activity hook included, goes to the inner table
 * unchanged.
 */
#ifndef IOWRAP_H
#define IOWRAP_H

#include <stdatomic.h>
#include <stdint.h>

#include "cl_io.h"

typedef struct iowrap {
    cl_io io; /* the table to hand out; io.ctx points back here */
    const cl_io *inner;
    int nosync;
    uint64_t fail_read_at;  /* 0: no read fails */
    int read_errno;         /* 0: EIO */
    _Atomic uint64_t reads; /* preads made so far */
    _Atomic int failed;     /* the fail_read_at-th read came and failed */
} iowrap;

/* Point w at inner (NULL: cl_io_posix()), every change off. */
void iowrap_init(iowrap *w, const cl_io *inner);

#endif
