/*
 * testutil.h - helpers shared by the cmocka suites: temporary directories,
 * byte surgery on files, a seeded random generator, and safe fork()ing
 * inside a cmocka test.
 */
#ifndef CL_TESTUTIL_H
#define CL_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cl_io.h"
#include "fsutil.h"
#include "rng.h"

/* Make a fresh empty directory (under $TMPDIR, default /dev/shm if it
 * exists, else /tmp).  Returns a malloc'd path; aborts on failure. */
char *tu_tmpdir(const char *tag);
/* "<dir>/<name>" in a static rotating buffer (valid for 8 calls). */
const char *tu_path(const char *dir, const char *name);

/* Byte surgery.  Each returns 0 or -1 (errno set). */
int tu_flip_byte(const char *path, uint64_t off);
int tu_set_byte(const char *path, uint64_t off, uint8_t v);
int tu_write_at(const char *path, uint64_t off, const void *buf, size_t len);
int tu_read_at(const char *path, uint64_t off, void *buf, size_t len);
int tu_truncate(const char *path, uint64_t len);
/* File size, or -1 if it cannot be stat'ed. */
int64_t tu_file_size(const char *path);
/* 1 if the file exists. */
int tu_exists(const char *path);
/* 1 if two directory trees hold the same names, types and file contents
 * (recursively), else 0; tu_tree_why() then names the first difference. */
int tu_tree_equal(const char *a, const char *b);
const char *tu_tree_why(void);
/* The whole content of a file in a malloc'd buffer (OUT: *len), or NULL if
 * it cannot be read. */
uint8_t *tu_read_file(const char *path, size_t *len);

/* fork() for use inside a cmocka test: the child gets default signal
 * handlers (cmocka's would make a crashing child run the rest of the suite)
 * and must leave with _exit(). */
pid_t tu_fork(void);
/* Wait for pid; returns the raw wait status. */
int tu_wait(pid_t pid);

/* A failing I/O table for tests: wraps cl_io_posix() and fails chosen
 * calls with a chosen errno, and counts calls of each kind. */
typedef struct tu_failio {
    cl_io io;               /* pass &f->io as cl_options.io */
    int fail_errno;         /* errno to fail with (default EIO) */
    uint64_t fail_sync_at;  /* fail the n-th fsync/fdatasync (1-based) */
    uint64_t fail_write_at; /* fail the n-th pwrite (1-based; 0 never) */
    int fail_all_after;     /* fail every later call of that kind too */
    int fail_short;         /* a failing pwrite first writes the first half
                               of its buffer (a short write) */
    int fail_data;          /* the failing pwrite is the first one from the
                               fail_write_at-th on whose buffer is not all
                               zeros (skips the log's zero-filling ahead) */
    int fail_zeros;         /* the failing pwrite is the first one from the
                               fail_write_at-th on whose buffer is all zeros
                               (the log's zero-filling itself) */
    unsigned sync_delay_us; /* sleep in every fsync (a slow disk) */
    uint64_t syncs, writes, dirsyncs, opens, unlinks, renames;
    uint64_t failed; /* calls failed so far */
} tu_failio;
void tu_failio_init(tu_failio *f);

#endif
