/*
 * trial_server_int.h - what trial_server.c (the server trials: the server
 * run, the clients, the crash) and trial_server_check.c (reading back,
 * the oracle, the structure check) share.  Not part of the harness API.
 */
#ifndef CL_TRIAL_SERVER_INT_H
#define CL_TRIAL_SERVER_INT_H

#include <stddef.h>
#include <stdint.h>

#include "kvclient.h"
#include "kvproc.h"
#include "trial_int.h"

#define TS_TIMEOUT_US 10000000ull /* a server silent this long is hung */
#define TS_TRACE_CAP 16384        /* I/O points whose kind is kept */
#define TS_VALUE_BIG 20000        /* largest value written, bytes */

/* What a GET of key i of a client found (ts_trial.state). */
enum { TS_ABSENT = 0, TS_SAME, TS_WRONG, TS_REFUSED };

/* One client: its connection, and what it sent and was answered, counted
 * here in the harness's memory. */
typedef struct ts_client {
    kvc_conn k;
    uint32_t window; /* SETs kept in flight */
    uint32_t sent;   /* SETs queued (an upper bound of what the server
                        received) */
    uint32_t acked;  /* OKs received */
} ts_client;

/* One server trial, from its start to its verdict. */
typedef struct ts_trial {
    trial_env *env;
    const trial_spec *s;
    trial_result *res;
    trial_paths p;
    uint32_t n, sets;      /* clients, SETs per client */
    int durable_ok;        /* OK promises durability (sync commit, group) */
    ts_client *cl;         /* [n] */
    uint8_t **state;       /* state[c][i], i <= cl[c].sent: what GET found */
    uint32_t *rec;         /* rec[c]: the prefix of client c recovered */
    uint64_t dbsize;       /* keys DBSIZE counted */
    int probe_ok;          /* the probe SET was acknowledged */
    uint32_t refusals;     /* answers of the restarted server refusing a torn
                              page where one may be (ts_detect_ok): keys it
                              could not read (TS_REFUSED), the probe */
    uint32_t refused_keys; /* of them, GETs (keys in TS_REFUSED) */
    char refused[240];     /* the first of them, for the detail */
    int dbsize_refused;    /* DBSIZE met a page a GET had been refused for */
    uint8_t *vbuf;         /* one value (+1 for a newline) */
    int memfd;             /* crashio's shared area, or -1 */
    crashio_shared *sh;    /* mapped */
    size_t shlen;
    kvproc sv;
} ts_trial;

/* The key of client c's write i into buf.  Returns its length. */
size_t ts_key(uint32_t c, uint32_t i, char *buf, size_t len);
/* The value of client c's write i into buf (TS_VALUE_BIG bytes at least).
 * Returns its length. */
size_t ts_value(uint64_t seed, uint32_t c, uint32_t i, uint8_t *buf);

/* May the restarted server refuse a torn page of t's database (found at
 * its open, in answers, or by the check after its stop)?  Where pages can
 * be torn (a torn write or a power cut) and nothing protects them. */
int ts_detect_ok(const ts_trial *t);
/* Read back, from the restarted server (t->sv), key i of every client c
 * for i <= sent (the one after the last sent: never written), into
 * t->state; then DBSIZE and the probe SET.  A torn page refused where
 * one may be is counted in t->refusals, and the reading goes on.  Returns
 * 0, or -1 (the server did not answer as it should: why says how; a
 * recovery violation). */
int ts_read_back(ts_trial *t, char *why, size_t len);
/* The oracle: sets t->rec, and t->res's verdict, recovered and detail.
 * A key the server refused to read is given the benefit of the doubt:
 * what it cannot show is no violation (the trial is then detected). */
void ts_judge(ts_trial *t);
/* Stop the restarted server (SIGTERM: it checkpoints, closes, exits 0),
 * then check its files in a fresh process.  Sets res's verdict and detail
 * on a violation.  Returns 0, or -1 (harness failure). */
int ts_stop_and_check(ts_trial *t);

#endif
