/*
 * crashio_int.h - what the files of crashio share (crashio.c: the core's
 * points, crashes and file operations; crashio_tear.c: torn writes;
 * crashio_dir.c: directory operations and the graveyard; crashio_clio.c:
 * the cl_io front end).  Not part of the faults API.
 */
#ifndef CL_CRASHIO_INT_H
#define CL_CRASHIO_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "crashio.h"
#include "shadow.h"

/* Stream tags for rng_stream. */
#define CRASHIO_TAG_TEAR 1

typedef struct crashio_fd {
    char *path;  /* normalised; NULL: unlinked without a graveyard, or not
                    open */
    uint16_t id; /* file id, 0 if none */
    int open;
} crashio_fd;

struct crashio {
    cl_io table; /* the cl_io front end's table (crashio_clio.c), ctx =
                    this */
    const cl_io *in;
    crashio_config cfg; /* strings below are our own copies */
    char *root;         /* normalised cfg.root, or NULL */
    char *graveyard;    /* normalised graveyard dir, or NULL */
    shadow_writer *sw;  /* NULL without a shadow log */
    char *shadow;       /* normalised cfg.shadow_path, or NULL */
    _Atomic uint64_t points;
    _Atomic uint64_t syncs;  /* sync points numbered so far */
    _Atomic uint32_t act;    /* CL_ACT_* in progress (cl_io.activity) */
    _Atomic uint64_t graves; /* graveyard names handed out */
    pthread_mutex_t mu;      /* mutating calls, fd table, file ids */
    crashio_fd *fds;         /* indexed by fd */
    size_t nfds;
    char **ids; /* ids[i]: path of file id i + 1 */
    size_t nids, capids;
};

typedef struct crashio_pt {
    uint64_t k; /* the point number */
    int fail;   /* 1: this call must fail with cfg.fail_errno */
} crashio_pt;

/* The id of normalised path p, assigning the next one on first use (0 when
 * out of memory or past 65535 files).  Caller holds c->mu. */
uint16_t crashio_id(crashio *c, const char *p);

/* After a rename or unlink: every fd open on `from` now names `to` (NULL:
 * the file is gone from every name).  Caller holds c->mu. */
void crashio_fd_move(crashio *c, const char *from, const char *to);

/* Block this thread until the process is gone. */
_Noreturn void crashio_hang(void);

/* Record the outcome in the shared area and SIGKILL the process. */
_Noreturn void crashio_die(crashio *c, uint64_t k, uint32_t outcome);

/* Number an I/O point, trace it, show it to the on_point hook, and die if
 * it is the crash point (unless it is a pwrite to tear, which the caller
 * does).  fd, path and buf are for the hook (crashio_call).  Caller holds
 * c->mu. */
crashio_pt crashio_point(crashio *c, crashio_kind kind, int fd, uint16_t file,
                         uint16_t file2, const char *path, const void *buf,
                         uint64_t off, uint64_t len);

/* Append a FAILED record for the operation of record seq (0: none). */
void crashio_log_failed(crashio *c, uint64_t seq, uint64_t k, int err);

/* Append the WRITE record for writing len bytes at off of fd (path p),
 * reading the old bytes through the inner table.  Returns 0 or an errno.
 * OUT: *seq. */
int crashio_log_write(crashio *c, uint64_t k, int fd, const char *p, size_t len,
                      uint64_t off, uint64_t *seq);

/* Tear the pwrite at point k and die (crashio_tear.c).  Caller holds
 * c->mu. */
_Noreturn void crashio_tear(crashio *c, uint64_t k, int fd, const crashio_fd *f,
                            const void *buf, size_t len, uint64_t off);

/* Remember that fd is open on normalised path p (p is taken over, freed
 * on failure).  Returns 0, EINVAL or ENOMEM.  Caller holds c->mu. */
int crashio_fd_add(crashio *c, int fd, char *p);

#endif
