/*
 * srv_int.h - kvserver's internal structures, shared by srv.c (sockets,
 * threads, the commit queue) and srv_cmd.c (running requests).  See the
 * top of srv.c for the concurrency design.
 */
#ifndef CL_SRV_INT_H
#define CL_SRV_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "crashlab.h"
#include "proto.h"
#include "srv.h"

#define SRV_IN_INIT (16 * 1024)   /* first input buffer, bytes */
#define SRV_OUT_HIGH (256 * 1024) /* unsent output that pauses serving */
#define SRV_OUT_KEEP (64 * 1024)  /* output buffer kept once drained */
#define SRV_GROUP_MAX 1024        /* writes of one connection per commit */
#define SRV_ROUND_MAX 4096        /* writes merged into one cl_commit */
/* Key and value bytes merged into one cl_commit (at least one group is
 * always taken): a batch must fit in the engine's buffer pool (64 MiB by
 * default) or the whole commit fails with CL_ENOMEM. */
#define SRV_ROUND_BYTES (8u << 20)

enum srv_state {
    SRV_OPEN,    /* serving requests */
    SRV_CLOSING, /* QUIT: send what is queued, then close */
    SRV_DRAIN,   /* protocol error: send the error, then drop input */
};

/* One write of a connection's pending group.  Key and value point into
 * the connection's input buffer, which is left untouched while the group
 * waits for its commit. */
typedef struct srv_op {
    int del;
    const uint8_t *k, *v;
    size_t klen, vlen; /* bytes */
} srv_op;

/* One reply owed for the pending group, in request order: a SET's OK, or a
 * DEL's answer with the number of keys it found (its deletes are ops). */
typedef struct srv_pend {
    int del;
    uint32_t count;
} srv_pend;

typedef struct srv_conn {
    int fd;
    struct srv_thread *owner; /* the I/O thread whose epoll set holds fd */
    int state;                /* enum srv_state */
    int need_input;  /* no complete request buffered: read before running */
    int readable;    /* input may be waiting (edge seen, no EAGAIN since) */
    int hup;         /* the peer closed or failed: read until 0 or error */
    int writable;    /* the socket may take output (same, for EPOLLOUT) */
    int dead;        /* closed; freed at the end of the owner's round */
    int shut;        /* shutdown(SHUT_WR) done (SRV_DRAIN) */
    int over_limit;  /* accepted over --max-clients: refuse, close */
    proto_kind kind; /* 0 until the protocol is known */
    uint8_t *in;     /* received bytes */
    size_t inoff;    /* of which executed (or part of the pending group) */
    size_t inlen, incap;
    proto_buf out;    /* replies */
    size_t outoff;    /* bytes of out already sent */
    uint64_t dropped; /* bytes discarded in SRV_DRAIN */

    /* The pending group: writes collected from the requests at the head
     * of the input, and the replies they owe.  While parked the group
     * waits in the commit queue and a committer thread owns c. */
    srv_op *ops;
    size_t nops, capops;
    size_t group_bytes; /* key and value bytes of ops */
    srv_pend *pend;
    size_t npend, cappend;
    int parked;
    struct srv_conn *qnext; /* commit queue, then the owner's resume list */
    struct srv_conn *anext; /* the owner's again list */
    int in_again;
    struct srv_conn *dnext; /* the owner's dead list */

    struct srv_conn *prev, *next; /* srv.conns, under srv.mu */
} srv_conn;

/* Counters of one thread: written by it only, summed by STATS and INFO. */
typedef struct srv_counters {
    atomic_uint_fast64_t commands, sets, gets, dels, errors, rounds;
} srv_counters;

typedef struct srv_thread {
    struct srv *s;
    pthread_t tid;
    int started;
    srv_counters ct;
    /* I/O threads */
    int epfd;           /* epoll set of this thread's connections */
    int resfd;          /* eventfd: connections to resume */
    uint8_t *scratch;   /* CL_VALUE_MAX bytes for cl_get */
    pthread_mutex_t mu; /* protects resume */
    srv_conn *resume;   /* handed back by committers */
    srv_conn *again;    /* to run again before the next epoll_wait */
    srv_conn *dead;     /* closed this round, to free */
    /* committers */
    cl_batch *batch; /* the merged writes of a round */
} srv_thread;

typedef struct srv {
    cl_db *db;
    srv_config cfg;
    int lfd;     /* listening socket; &lfd is its epoll token */
    int stopfd;  /* eventfd written to stop; &stopfd is its token */
    int sparefd; /* an fd kept to be closed when accept hits EMFILE */
    atomic_int stop;
    srv_thread *io;        /* cfg.threads I/O threads */
    srv_thread *committer; /* cfg.committers committer threads */

    pthread_mutex_t qmu; /* the commit queue */
    pthread_cond_t qcv;
    srv_conn *qhead, *qtail;
    int qstop; /* committers: leave once the queue is empty */

    pthread_mutex_t mu; /* protects conns */
    srv_conn *conns;
    atomic_uint nconns;     /* connections served (over_limit ones apart) */
    atomic_uint nwaiting;   /* over_limit connections not yet closed */
    atomic_uint next_owner; /* round-robin choice of I/O thread */
    atomic_uint_fast64_t conns_total, rejected, proto_errors;
    atomic_int engine_error_logged;
#ifdef KVSERVER_CRASH
    atomic_uint_fast64_t broken_sets; /* SRV_BROKEN_SKIP_SET's count */
#endif
    time_t started;
} srv;

/* The deliberately broken acknowledgements of the test-only build (srv.h):
 * constant 0 in the shipped server, so the compiler removes them. */
#ifdef KVSERVER_CRASH
static inline int srv_broken_ack_early(const srv *s)
{
    return s->cfg.broken == SRV_BROKEN_ACK_EARLY;
}
/* 1 if this SET is the one in ten that the broken server drops. */
static inline int srv_broken_drop_set(srv *s)
{
    return s->cfg.broken == SRV_BROKEN_SKIP_SET &&
           atomic_fetch_add(&s->broken_sets, 1) % 10 == 9;
}
#else
#define srv_broken_ack_early(s) ((void)(s), 0)
#define srv_broken_drop_set(s) ((void)(s), 0)
#endif

/* srv.c */
size_t srv_unsent(const srv_conn *c);
/* Hand c's pending group to the committers; c then belongs to them. */
void srv_park(srv *s, srv_conn *c);

/* srv_cmd.c */
/* Run the complete requests buffered in c (owned by I/O thread t), in
 * order, until the input holds no complete request (need_input set), the
 * unsent output reaches SRV_OUT_HIGH, the connection stops being served
 * (QUIT, protocol error), or c is parked with writes to commit.
 * @return 0, 1 if c was parked (the caller must not touch it any more),
 *         or -1 when out of memory (close c). */
int srv_conn_process(srv_thread *t, srv_conn *c);
/* Add the writes of c's pending group to batch.  @return 0 or an engine
 * error (CL_ENOMEM). */
int srv_group_add(srv_conn *c, cl_batch *batch);
/* Queue the replies c's pending group owes, given the result of the
 * commit that held it, and empty the group.  @return 0 or -1 (out of
 * memory: close c). */
int srv_group_done(srv_thread *t, srv_conn *c, int rc);
/* Say once on stderr that the engine failed, with its detail. */
void srv_log_engine_error(srv *s, const char *what, int rc);

#endif
