/*
 * kvproc.h - kvserver as a child process of the harness: start it (fork,
 * exec) on a directory with the campaign's engine options and, for a
 * crashed run, the crash-testing variables of docs/KVSERVER.md; read its
 * "listening on" line and its --report file; kill or stop it and reap it;
 * read its log.
 */
#ifndef CL_KVPROC_H
#define CL_KVPROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "crashlab.h"

/* How to start the server. */
typedef struct kvproc_args {
    const char *path;      /* the kvserver program */
    const char *dir;       /* its database directory */
    const char *log;       /* its standard error is appended here */
    const char *report;    /* its --report file (removed first) */
    const cl_options *eng; /* sync, torn, checkpoint_bytes, page_size */
    int memfd;             /* crashio's shared area (KVSERVER_CRASHIO's
                              shm=, seen by the server as descriptor 3),
                              or -1: plain POSIX I/O */
    const char *crashio;   /* with memfd: KVSERVER_CRASHIO's other words */
    const char *shadow;    /* with memfd: the shadow log, or NULL */
    const char *graveyard; /* with shadow: the graveyard */
    const char *broken;    /* KVSERVER_BROKEN, or NULL */
} kvproc_args;

typedef struct kvproc {
    pid_t pid;     /* 0 once reaped */
    int out;       /* read end of its standard output, or -1 */
    unsigned port; /* once listening */
    int status;    /* wait status, once reaped */
} kvproc;

/* What kvproc_listen saw. */
enum { KVPROC_LISTENING, KVPROC_ENDED, KVPROC_SILENT };

/* Start the server.  It runs in a process group of its own (a terminal's
 * Ctrl-C is the harness's to handle, and must not stop a server cleanly
 * in the middle of a trial) and dies with the process that started it.
 * @return 0, or an errno (nothing was started). */
int kvproc_start(const kvproc_args *a, kvproc *p);

/* Wait up to timeout_us for the "listening on ADDR:PORT" line.
 * @return KVPROC_LISTENING (p->port set), KVPROC_ENDED (the server closed
 *         its output: it died or exited; reap it) or KVPROC_SILENT. */
int kvproc_listen(kvproc *p, uint64_t timeout_us);

/* Send sig (if not 0) and reap the server; p->status keeps how it
 * ended.  Nothing happens if it is reaped already. */
void kvproc_reap(kvproc *p, int sig);

/* The last line of the log, at most len - 1 bytes, or "no message". */
void kvproc_log_tail(const char *log, char *out, size_t len);

/* What opening the database did, from kvserver's --report file. */
typedef struct kvproc_report {
    int ok;                  /* 1: result=ok (the fields below); 0: error */
    int rc;                  /* result=error: cl_open's return value */
    char kind[32];           /* result=error: its kind (cl_err_kind_name),
                                "" if not reported */
    int created;             /* 1 if the open created the database */
    uint64_t records;        /* log records replayed */
    uint64_t bytes;          /* log bytes read */
    uint64_t pages_repaired; /* torn pages rebuilt */
    int tail_cut;            /* 1 if a torn or unsynced tail was cut */
    uint64_t usec;           /* time of the whole open */
    int stopped;             /* 1: a "stop" line follows (a stop by
                                signal), with: */
    int stop_ok;             /* 1: result=ok; 0: result=error, and */
    int stop_rc;             /* the stop's first failure (checkpoint or
                                close), a CL_E* code or an errno */
    char stop_kind[32];      /* its kind (cl_err_kind_name) */
} kvproc_report;

/* Read the --report file at path: its "open" line, and its "stop" line if
 * there is one.  Fields it does not know are skipped.
 * @param r OUT: the report.
 * @return 0, or -1 if the file is missing or not a report (then the
 *         server broke its contract, or was killed before writing). */
int kvproc_report_read(const char *path, kvproc_report *r);

#endif
