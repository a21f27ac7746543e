/*
 * interpose.h - the libc interposer, the crash core's second front end.
 *
 * The interposer defines the C library's file calls (open, write, pwrite,
 * fsync, rename, ...: the full list is interpose_call_name's) and sends
 * those that act on files under one root directory through the crash core
 * (crashio.h): they become I/O points, can be killed at, torn, failed, and
 * leave a shadow log from which powerloss.h builds power-cut images.  Calls
 * on other files, and every call while the interposer is not started, go
 * straight to the C library.
 *
 * Two ways in:
 *   - linked into an executable (faults/interpose*.c objects, and the
 *     executable exporting the names: -Wl,--export-dynamic-symbol=...):
 *     a symbol an executable defines takes precedence over libc's for the
 *     shared libraries it loads, so a library target's file calls reach
 *     the interposer; the executable calls interpose_start in the process
 *     to crash;
 *   - build/libcrashlab-preload.so with LD_PRELOAD for another program: its
 *     constructor starts the interposer from an area file named by the
 *     environment variable CRASHLAB_INTERPOSE (interpose_area_*), which
 *     holds the configuration and receives the results.
 *
 * Per descriptor the interposer keeps the normalised path (the core's),
 * the file's identity (st_dev, st_ino: one file may be open twice), the
 * access mode, O_APPEND, O_SYNC/O_DSYNC, O_DIRECT and whether it is a
 * directory.  The file offset is the kernel's, so dup'd descriptors share
 * it as they do without the interposer.  Mapping of calls onto the core:
 *   open* / creat     crashio_op_open (a point when it creates), then an
 *                     ftruncate point for O_TRUNC of a non-empty file
 *   write, writev     a pwrite point at the current offset (the end of the
 *                     file for O_APPEND), then the offset moves past it;
 *                     pwrite*, pwritev* the same at their offset
 *   O_SYNC, O_DSYNC   each write is followed by an fsync / fdatasync point
 *   O_DIRECT          an ordinary write: it is not durable before a sync
 *                     either (the device has a cache)
 *   fsync, fdatasync  a sync point; on a directory, a dirsync point
 *   syncfs            one sync point and a sync of every file and
 *                     directory the core has seen
 *   ftruncate         a truncate point; truncate (by path): the file
 *                     opened for writing, a truncate point, closed
 *   fallocate / posix_fallocate that
 *                     grow the file: a truncate point to the new size
 *                     (KEEP_SIZE: no point); PUNCH_HOLE, ZERO_RANGE: a write
 *                     of zeros; other modes are refused
 *   rename*, unlink*, mkdir*, rmdir: the core's directory operations
 *   dup*, fcntl(F_DUPFD*): the new descriptor names the same file
 *   sync_file_range, lseek: forwarded (no durability is promised by
 *                     sync_file_range), counted
 * What the interposer cannot model is refused: the process prints the
 * reason, records it in the area and exits with status 2 (a set-up
 * error):  a writable MAP_SHARED mmap of a tracked durable file, syscall()
 * of a file system call, stdio streams (fopen) opened for writing on a
 * tracked file, O_TMPFILE, renameat2 RENAME_EXCHANGE/WHITEOUT, a rename
 * into or out of the root, file calls on the root from a forked child,
 * and, in strict mode, creating or changing files outside the root (but
 * /dev and /proc).  Files named in `nondurable` (suffixes) are tracked
 * but may be mapped (a shared-memory index such as SQLite's -shm).
 */
#ifndef CL_INTERPOSE_H
#define CL_INTERPOSE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "crashio.h"

/* The calls the interposer counts (interpose_call_name). */
typedef enum interpose_call {
    IP_OPEN,
    IP_CLOSE,
    IP_WRITE,
    IP_PWRITE,
    IP_WRITEV,
    IP_PWRITEV,
    IP_LSEEK,
    IP_FTRUNCATE,
    IP_FALLOCATE,
    IP_FSYNC,
    IP_FDATASYNC,
    IP_SYNC_FILE_RANGE,
    IP_SYNCFS,
    IP_RENAME,
    IP_UNLINK,
    IP_MKDIR,
    IP_RMDIR,
    IP_DUP,
    IP_FCNTL,
    IP_FORK,
    IP_MMAP,
    IP_NCALLS
} interpose_call;

#define IP_PATH_MAX 512
#define IP_NONDURABLE 4 /* suffixes */

typedef struct interpose_config {
    char root[IP_PATH_MAX];             /* absolute, no symbolic link */
    char shadow_path[IP_PATH_MAX];      /* "" = no shadow log */
    char graveyard_dir[IP_PATH_MAX];    /* "" = none */
    char nondurable[IP_NONDURABLE][32]; /* suffixes of non-durable files */
    uint64_t seed;
    uint64_t crash_at;     /* crashio_config's fields of the same names */
    uint32_t crash_action; /* crashio_action */
    uint32_t sector;
    uint32_t fill; /* crashio_fill */
    uint64_t fail_at;
    uint64_t fail_sync;
    int32_t fail_errno;
    int32_t strict;           /* refuse changes to files outside the root */
    int32_t fsync_loses_data; /* crashio_config's field of that name */
    int32_t shadow_continue;  /* likewise */
} interpose_config;

/* The results: counts of the calls the program made, per interpose_call
 * (of the C library's calls made through the interposer on the
 * program's behalf: interpose_real.c), and the refusal, if any. */
typedef struct interpose_result {
    _Atomic uint64_t calls[IP_NCALLS];   /* calls the program made */
    _Atomic uint64_t tracked[IP_NCALLS]; /* of which on tracked files */
    _Atomic uint64_t real[IP_NCALLS];    /* calls made into the C library
                                            (the program's and the core's:
                                            what strace sees) */
    _Atomic uint32_t refused;            /* 1: a refusal ended the run */
    char refused_call[32];               /* the call refused */
    char refused_path[IP_PATH_MAX];      /* the file, or "" */
    char refused_why[160];               /* a sentence */
} interpose_result;

/* Start tracking cfg->root in this process, with the core configured from
 * cfg; counts and a refusal go to *res, crash outcomes to *shared (both
 * may be in MAP_SHARED memory; either may be NULL).  Returns 0, EBUSY
 * (already started), or an errno of crashio_new. */
int interpose_start(const interpose_config *cfg, interpose_result *res,
                    crashio_shared *shared);

/* The same with the core's on_point hook (crashio_config.on_point; NULL:
 * none), for an interposer linked into the program (a function pointer
 * means nothing in a preload area).  The hook runs inside the interposer:
 * the file calls it makes go straight to the C library, untracked. */
int interpose_start_hooked(
    const interpose_config *cfg, interpose_result *res, crashio_shared *shared,
    void (*on_point)(void *ctx, const crashio_call *call), void *ctx);

/* Stop tracking (the descriptors stay open, untracked) and free the core.
 */
void interpose_stop(void);

/* The points the core has numbered since interpose_start. */
uint64_t interpose_points(void);

/* Make the calling process a branch of the interposed run: crashio_branch
 * (crashio.h) on the core, its reopening of the program's descriptors made
 * straight to the C library (the program's own descriptor numbers, flags
 * and offsets, on the files now at their paths).  For a program whose
 * state survives a fork between two of its calls: one thread, no file
 * mapped, no lock it counts on holding.  Returns 0, EINVAL (not started,
 * or b's crash or failure at a point already made) or an errno of
 * crashio_branch (the process must then end). */
int interpose_branch(const crashio_branch_cfg *b);

/* interpose_aside(1) ... interpose_aside(0): the calling thread's calls in
 * between go straight to the C library, untracked and uncounted, as the
 * interposer's own do: the harness's copies, renames and fork in a hook
 * of the writer it runs between two of the program's calls.  The pairs
 * nest; a process forked in between inherits the count and ends the pair
 * too. */
void interpose_aside(int on);

/* "open", "write", ... */
const char *interpose_call_name(int call);

/* Look up now every C library function the interposer calls (it
 * otherwise looks each up at its first call, with dlsym): a program that
 * links the interposer and forks many processes calls this once before
 * its first fork, and they inherit the lookups instead of each making
 * them again. */
void interpose_bind_now(void);

/*
 * The area file of the preload object: an interpose_area followed by a
 * crashio_shared of area.trace_cap entries.  The harness creates it
 * (interpose_area_create), names it in CRASHLAB_INTERPOSE and reads it
 * after the program ends.  `pid`: the process that may start (the one the
 * harness execs; 0: the first process that loads the object claims it);
 * others that load the object refuse changes under root.
 */
typedef struct interpose_area {
    uint64_t magic;
    int64_t pid;
    uint64_t trace_cap;
    interpose_config cfg;
    interpose_result res;
} interpose_area;

/* Changes with the layout of interpose_config and crashio_shared, so that
 * a preload object of another build is refused. */
#define IP_AREA_MAGIC 0x32706f7069636c63ULL

/* Size of an area with trace_cap trace entries. */
size_t interpose_area_size(uint64_t trace_cap);

/* The crashio_shared part of an area. */
crashio_shared *interpose_area_shared(interpose_area *a);

/* Create the area file at path (mode 0600) for cfg and map it.  Returns 0
 * or an errno.  OUT: *out, to unmap with interpose_area_unmap. */
int interpose_area_create(const char *path, const interpose_config *cfg,
                          uint64_t trace_cap, interpose_area **out);

/* Unmap an area of interpose_area_create / the preload object. */
void interpose_area_unmap(interpose_area *a);

/* How to start a program under the preload object (interpose_spawn). */
typedef struct interpose_spawn_opts {
    const char *preload;   /* the preload object's path */
    const char *area_path; /* the area file */
    interpose_area *area;  /* its mapping: pid is set to the child's */
    char *const *argv;     /* the program and its arguments (PATH used) */
    int fd3;               /* becomes the child's fd 3, or -1 */
    int out_fd;            /* becomes its stdout and stderr, or -1 */
    int new_group;         /* 1: the child leads a process group of its own
                              (so that it and every process it forks can be
                              killed at once) and dies with its parent */
} interpose_spawn_opts;

/* Fork and exec o->argv with LD_PRELOAD and CRASHLAB_INTERPOSE set; a
 * child that cannot exec exits with status 127.  Returns 0 or an errno.
 * OUT: *pid. */
int interpose_spawn(const interpose_spawn_opts *o, pid_t *pid);

#endif
