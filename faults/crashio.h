/*
 * crashio.h - the crash core of faults/, and its cl_io front end.
 *
 * The core (crashio_op_* below) performs file operations through an inner
 * cl_io table and numbers those that can change files or their durability.
 * Two front ends feed it: crashio_table, a cl_io table that wraps the inner
 * one (the engine's way in), and the libc interposer (interpose.h), whose
 * inner table is the C library itself.
 *
 * crashio forwards every call to an inner table and numbers the calls that
 * can change files or their durability (the I/O points, 1, 2, 3, ...).  It
 * can then, at a chosen point k:
 *   - kill the process with SIGKILL instead of making call k, so the files
 *     show exactly the effects of points 1..k-1 (CRASHIO_KILL);
 *   - perform only some sectors of the pwrite at point k and then kill the
 *     process (CRASHIO_TEAR), reporting what it tore;
 *   - fail call k with an errno and no effect (fail_at), optionally as Linux
 *     fails an fsync: the unsynced data is lost (fsync_loses_data).
 * With a shadow log (shadow.h) it also records, before performing them, the
 * operations that are not yet durable, from which powerloss.h later builds
 * the image a power cut could have left.
 *
 * An optional hook (crashio_config.on_point) sees every I/O point before
 * its call is made.  At that moment the files hold exactly what a kill at
 * that point would leave, so a caller can copy them there (a snapshot) and
 * get the crash states of several points from one run; crashio_tear_write
 * rebuilds on such a copy the torn write a crash at that point would make.
 *
 * I/O points are: pwrite, fsync, fdatasync, ftruncate, rename, unlink,
 * mkdir, dirsync, and an open that creates a file.  pread, filesize, close,
 * lock, unlock and an open of an existing file are forwarded uncounted.
 * Whether an open creates is decided by first opening without CL_IO_CREATE
 * (and without CL_IO_EXCL): only when that fails with ENOENT is the call a
 * point, and the file is then created with CL_IO_CREATE | CL_IO_EXCL.  lock
 * may create its lock file without a point or a shadow record: the lock file
 * carries no data.
 *
 * Threads: numbering is atomic and the calls that change files are made one
 * at a time (a mutex held from numbering to the end of the call; an fsync or
 * dirsync holds it only while it is numbered, not during the system call).
 * Point numbers are therefore deterministic for a single-threaded caller,
 * and with several threads a kill at k still leaves exactly the effects of
 * the points before k, except for fsyncs already in flight.  A thread that
 * draws a point after the crash point blocks until the process is gone.
 *
 * Create the crashio in the process that will use it (after fork): the
 * shadow log's file descriptor and the kill target are that process's.
 */
#ifndef CL_CRASHIO_H
#define CL_CRASHIO_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "cl_io.h"

/* Kinds of I/O point, as recorded in the trace. */
typedef enum crashio_kind {
    CRASHIO_PWRITE = 1,
    CRASHIO_FSYNC,
    CRASHIO_FDATASYNC,
    CRASHIO_FTRUNCATE,
    CRASHIO_RENAME,
    CRASHIO_UNLINK,
    CRASHIO_MKDIR,
    CRASHIO_DIRSYNC,
    CRASHIO_CREATE, /* an open that created the file */
} crashio_kind;

/* What to do at crash_at. */
typedef enum crashio_action {
    CRASHIO_KILL = 0, /* SIGKILL instead of making the call */
    CRASHIO_TEAR,     /* a pwrite: write some sectors, then SIGKILL; any
                         other call: as CRASHIO_KILL */
} crashio_action;

/* What the sectors of a torn write that do not reach the file hold. */
typedef enum crashio_fill {
    CRASHIO_FILL_OLD = 0, /* the file's bytes before the write (nothing new
                             is written there; the file grows only up to
                             the end of the last sector that reached it) */
    CRASHIO_FILL_ZERO,    /* zeros (the file grows to the whole range) */
    CRASHIO_FILL_GARBAGE, /* bytes drawn from the seed (likewise) */
    CRASHIO_FILL_SEED,    /* one of the three above, drawn from the seed */
} crashio_fill;

/* Flags of a trace entry. */
#define CRASHIO_PF_INJECTED 0x01 /* fail_at fired here */
#define CRASHIO_PF_CRASH 0x02    /* the crash point */

/* One I/O point in the trace (the shared area below). */
typedef struct crashio_point_info {
    uint8_t kind;   /* crashio_kind */
    uint8_t flags;  /* CRASHIO_PF_* */
    uint16_t file;  /* file id (crashio_file_name), 0 if none */
    uint16_t file2; /* RENAME: id of the target; else 0 */
    uint16_t act;   /* the engine's mechanisms in progress when the call
                       was made (CL_ACT_* bits, cl_io.activity) */
    uint32_t len;   /* PWRITE: bytes (saturated at UINT32_MAX); else 0 */
    uint64_t off;   /* PWRITE: offset; FTRUNCATE: new length, bytes */
} crashio_point_info;

/* What a torn write did (the shared area below). */
typedef struct crashio_tear_info {
    uint64_t point;    /* I/O point of the torn pwrite */
    uint64_t off;      /* the write's offset, bytes */
    uint64_t len;      /* the write's length, bytes */
    uint32_t sector;   /* sector size used, bytes */
    uint32_t nsectors; /* sectors the range touches (partial ones count) */
    uint32_t nreached; /* of which reached the file */
    uint32_t fill;     /* crashio_fill used (never CRASHIO_FILL_SEED) */
    uint64_t mask;     /* bit i set: sector i of the range reached the file
                          (sectors 64 and beyond are not shown) */
    uint16_t file;     /* file id */
} crashio_tear_info;

/* Outcomes recorded in crashio_shared.outcome. */
#define CRASHIO_OUT_NONE 0   /* still running, or exited on its own */
#define CRASHIO_OUT_KILLED 1 /* killed instead of making call crash_point */
#define CRASHIO_OUT_TORN 2   /* tore the pwrite at crash_point, then killed */

#define CRASHIO_MAX_NAMES 64 /* file ids that get a name in the shared area */
#define CRASHIO_NAME_LEN 64  /* bytes per name, NUL included */

/*
 * An area the caller may place in MAP_SHARED memory before fork, so the
 * parent can read it after the child dies.  Size it with
 * crashio_shared_size and reset it with crashio_shared_init before each
 * run.  Only one crashio may use an area at a time.
 */
typedef struct crashio_shared {
    _Atomic uint64_t points;       /* I/O points numbered so far */
    _Atomic uint32_t outcome;      /* CRASHIO_OUT_*; set last, after the
                                      fields it vouches for */
    uint64_t crash_point;          /* the point of KILLED / TORN */
    _Atomic uint64_t failed_point; /* the point where fail_at or fail_sync
                                      fired, or 0 */
    _Atomic uint64_t syncs;        /* sync calls numbered so far (fsync,
                                      fdatasync, directory sync) */
    crashio_tear_info tear;        /* valid when outcome is TORN */
    _Atomic uint32_t nnames;       /* names[0..nnames) are set */
    char names[CRASHIO_MAX_NAMES][CRASHIO_NAME_LEN]; /* names[id - 1]: the
                                       file's path relative to cfg.root
                                       (or its last bytes), NUL-ended */
    uint64_t trace_cap;                              /* entries in trace[] */
    crashio_point_info trace[]; /* trace[k - 1]: point k, k <= cap */
} crashio_shared;

/*
 * An I/O point as the on_point hook sees it: the call about to be made.
 * Pointers are valid during the hook only.
 */
typedef struct crashio crashio;

typedef struct crashio_call {
    uint64_t k;        /* the point number */
    crashio_kind kind; /* what the call is */
    int fd;            /* the descriptor of a pwrite, fsync, fdatasync or
                          ftruncate (of an fsync of every file: -1); -1 for
                          the others */
    uint16_t file;     /* file id (crashio_file_name), 0 if none */
    const char *path;  /* normalised path the call acts on now, or NULL:
                          the fd's file for pwrite, fsync, fdatasync and
                          ftruncate (NULL once unlinked without a
                          graveyard; in the graveyard once unlinked with
                          one), the file an open creates, the directory
                          of mkdir and dirsync, the source of a rename,
                          the file of an unlink */
    const void *buf;   /* PWRITE: the bytes to be written; else NULL */
    uint64_t off;      /* PWRITE: offset; FTRUNCATE: the new length */
    uint64_t len;      /* PWRITE: bytes; else 0 */
    uint32_t act;      /* the engine's mechanisms in progress (CL_ACT_*
                          bits, cl_io.activity), as the trace keeps them */
} crashio_call;

typedef struct crashio_config {
    const cl_io *inner; /* the table to wrap (required) */
    uint64_t seed;      /* source of every random choice */

    uint64_t crash_at;           /* point to crash at, 0 = never */
    crashio_action crash_action; /* CRASHIO_KILL (default) or TEAR */
    uint32_t sector;             /* TEAR: sector size, 512 (default, 0) or
                                    4096; sectors are aligned to file
                                    offsets */
    crashio_fill fill;           /* TEAR: default CRASHIO_FILL_OLD */

    uint64_t fail_at;       /* point whose call fails, 0 = never */
    uint64_t fail_sync;     /* or: the fail_sync-th sync call (fsync,
                               fdatasync, directory sync) fails, 0 = never;
                               for a program whose threads interleave its
                               calls differently from run to run, where
                               point fail_at may not be a sync each time */
    int fail_errno;         /* its errno, default EIO */
    int fsync_loses_data;   /* if the failed call is an fsync/fdatasync,
                               record in the shadow log that the file's
                               writes since its last good sync are lost */
    uint32_t sync_delay_us; /* an fsync/fdatasync takes at least this long
                               (slept outside the mutex, after it is
                               numbered): the latency of a real device,
                               which memory file systems lack, so that
                               other threads' calls can come while a sync
                               is in progress, as they do on a disk */

    const char *shadow_path;   /* shadow log to create, NULL = none; keep
                                  it outside the database directory */
    int shadow_continue;       /* with shadow_path: go on with the log
                                  there, which a process now dead made
                                  with the same graveyard, instead of
                                  creating one: its unsynced operations
                                  stay unsynced until a sync of this
                                  process covers them, as a kill leaves
                                  them in the page cache */
    int shadow_hold;           /* with shadow_path: keep the records in
                                  memory until crashio_shadow_flush
                                  writes them (shadow_writer_hold): for a
                                  process that is never killed, whose log
                                  matters up to a length it picks later */
    const char *graveyard_dir; /* with shadow_path: unlinks (and files
                                  replaced by renames) move here instead
                                  of vanishing, so an image can restore
                                  them; must be on the database's file
                                  system; created if missing; NULL: plain
                                  unlink, which no image can undo */
    const char *root;          /* optional: names in `shared` are relative
                                  to this directory */
    crashio_shared *shared;    /* optional shared area */

    /* Optional: called at every I/O point that is made or crashed at,
     * after the point is numbered and traced and before anything of the
     * call happens -- at crash_at too, just before the crash.  The files
     * then hold exactly the effects of points 1..k-1 (in the page cache),
     * which is what a kill at k leaves: a copy made here equals the crash
     * state of point k, and the run goes on.  With a shadow log, the log
     * then holds exactly the records of points before k (but for the sync
     * record of an fsync another thread still has in flight, which a kill
     * at k may also beat).  The hook runs in the thread making the call
     * with crashio's mutex held: it must not use this table, and the I/O
     * points of other threads wait for it.  A point drawn after crash_at
     * by another thread never reaches it. */
    void (*on_point)(void *ctx, const crashio_call *call);
    void *on_point_ctx;
    /* Optional, with on_point_ctx: called when the process is about to
     * kill itself at crash_at (a torn write's sectors written), in the
     * crashing thread with crashio's mutex held and the calls of other
     * threads held up: a process whose files are in memory (the inner
     * table is memfs) writes out there the state its crash leaves. */
    void (*on_die)(void *ctx);
} crashio_config;

/* Make a crashio from cfg (copied; strings duplicated).  Creates the shadow
 * log (and the graveyard directory) when configured, or goes on with the
 * log there (shadow_continue).  Returns 0, EINVAL (no
 * inner table, a sector size other than 512/4096, graveyard without shadow
 * log), or a positive errno from creating the log.  OUT: *out. */
int crashio_new(const crashio_config *cfg, crashio **out);

/* The cl_io front end: the wrapping table; valid until crashio_free.
 * pread, filesize, lock and unlock go straight to the inner table. */
const cl_io *crashio_table(crashio *c);

/*
 * The core operations, what a front end calls.  Each has the meaning and
 * return convention of the cl_io entry of the same name (0 or a positive
 * errno; paths complete), performs the call through the inner table and
 * makes it an I/O point where crashio.h says so.
 */
int crashio_op_open(crashio *c, const char *path, int flags, int *fd);
int crashio_op_close(crashio *c, int fd);
int crashio_op_pwrite(crashio *c, int fd, const void *buf, size_t len,
                      uint64_t off);
/* fsync (datasync 0) or fdatasync (1). */
int crashio_op_sync(crashio *c, int fd, int datasync);
int crashio_op_ftruncate(crashio *c, int fd, uint64_t len);
int crashio_op_rename(crashio *c, const char *from, const char *to);
/* Removes what the inner table's unlink removes (the interposer's removes
 * an empty directory for rmdir); with a graveyard it moves there instead. */
int crashio_op_unlink(crashio *c, const char *path);
int crashio_op_mkdir(crashio *c, const char *path);
int crashio_op_dirsync(crashio *c, const char *dir);
void crashio_op_activity(crashio *c, uint32_t act, int on);
/* fd2 now refers to the file fd refers to (dup): later calls on either
 * name it.  Not an I/O point.  Returns 0, EBADF (fd not tracked) or
 * ENOMEM. */
int crashio_op_dup(crashio *c, int fd, int fd2);
/* Forget fd without closing it (the program's dup2 replaced it). */
void crashio_op_forget(crashio *c, int fd);
/* Everything durable, as sync(2) or syncfs(2) make it: one I/O point
 * (kind FSYNC, no file), then a sync of every file and a dirsync of every
 * directory the core has a name for, and of the root. */
int crashio_op_syncall(crashio *c);
/* 1 if the core knows fd (opened through crashio_op_open or dup'd), else
 * 0.  OUT (when 1 and path is not NULL): *path, a copy of the file's
 * normalised path (NULL once unlinked without a graveyard) to free. */
int crashio_op_tracked(crashio *c, int fd, char **path);

/* What a branch (crashio_branch) does from its point on, in place of the
 * configuration's crash and failure. */
typedef struct crashio_branch_cfg {
    uint64_t seed;
    uint64_t crash_at; /* a point after those made so far, or 0 */
    crashio_action crash_action;
    crashio_fill fill;
    uint64_t fail_at; /* a point after those made so far, or 0 */
    int fail_errno;   /* 0: EIO */
    int fsync_loses_data;
    /* Non-NULL: from now on the calls go to this table instead of the
     * inner one, on the files at their paths: a process whose files were
     * in memory (memfs, descriptors numbered as the process's own:
     * memfs_real_fds), written out there for the branch; a held shadow
     * log is written record by record again. */
    const cl_io *inner;
} crashio_branch_cfg;

/*
 * Make the calling process a branch of the run: a process forked between
 * two calls of the run (none in progress) goes on from there with b's
 * crash and failure, on copies of its files.  Before the fork the caller
 * has put copies of the files under the root, of the graveyard and of the
 * shadow log at their paths (and moved the originals away);
 * crashio_branch reopens every descriptor it tracks that still has a
 * path, and the shadow log's, on the file now at that path, under the same
 * number, access mode, flags and offset (not the descriptors the inner
 * table's lock made, which crashio does not track), and takes b's
 * settings.  No more on_point or on_die calls are made.  The interposer's front
 * end calls it through interpose_branch, which makes its reopening go straight
 * to the C library (the program's descriptors are then reopened under
 * their numbers).  Only the calling thread may run: a lock held
 * by another thread at the fork stays held.  Returns 0, EINVAL (b's crash
 * or failure at a point already made), or an errno (then some descriptors
 * may still name the originals: the process must end).
 */
int crashio_branch(crashio *c, const crashio_branch_cfg *b);

/* Free c and close its shadow log.  Files opened through the table are the
 * caller's to close first.  NULL is allowed. */
void crashio_free(crashio *c);

/* I/O points numbered so far. */
uint64_t crashio_points(const crashio *c);

/* No more on_point calls: once this returns, none is running either (the
 * hook runs under the lock this takes), in whichever thread. */
void crashio_stop_hook(crashio *c);

/* The shadow log's length in bytes, held records included (0 without a
 * log). */
uint64_t crashio_shadow_length(crashio *c);

/* With shadow_hold: write the held records up to the log length upto.
 * Returns 0 or an errno. */
int crashio_shadow_flush(crashio *c, uint64_t upto);

/* With shadow_hold: write every held record, and from now on each one as
 * it is made (a process about to die whose other threads may still log
 * a sync they then report done).  Returns 0 or an errno. */
int crashio_shadow_release(crashio *c);

/* The normalised path of file id `id` (ids count from 1 in order of first
 * use), or NULL for an unknown id.  Valid until crashio_free. */
const char *crashio_file_name(crashio *c, unsigned id);

/* Bytes of a shared area holding trace_cap trace entries. */
size_t crashio_shared_size(uint64_t trace_cap);

/* Zero a shared area of crashio_shared_size(trace_cap) bytes. */
void crashio_shared_init(crashio_shared *sh, uint64_t trace_cap);

/*
 * Perform on fd, through io, the torn version of the pwrite of buf[0..len)
 * at off that a crashio with this seed, sector size (0: 512) and fill makes
 * when it tears the pwrite at point k (crash_action CRASHIO_TEAR), byte for
 * byte, but without dying; describe it in *info (info->file is left 0).
 * Made on a snapshot taken by on_point at k, this gives the torn crash state
 * of point k.  Returns 0 when the write was torn, 1 when a crash at k would
 * be a plain kill (an empty write: nothing is written), EINVAL for a bad
 * sector size or fill, ENOMEM, or the errno of a failed pwrite.  OUT: *info.
 */
int crashio_tear_write(const cl_io *io, int fd, uint64_t seed, uint64_t k,
                       uint32_t sector, crashio_fill fill, const void *buf,
                       size_t len, uint64_t off, crashio_tear_info *info);

/* Names for reports: "pwrite", "fsync", ...; "old", "zero", ... */
const char *crashio_kind_name(int kind);
/* 1 if kind is a sync call (fsync, fdatasync, directory sync): what
 * fail_sync counts. */
int crashio_kind_is_sync(int kind);
const char *crashio_fill_name(int fill);

#endif
