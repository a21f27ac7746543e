/*
 * srv.c - kvserver's connections, threads and commands.
 *
 * Concurrency design.  There is no dedicated event-loop thread: a pool of
 * identical worker threads (--threads, default 64) all wait in epoll_wait
 * on one epoll instance, and every socket is registered with EPOLLONESHOT.
 * When a socket becomes ready exactly one thread receives the event, and
 * the socket stays disarmed until that thread has finished with it and
 * re-arms it.  So a connection is owned by at most one thread at a time:
 * its buffers need no lock, its requests run in the order they arrived,
 * and its replies go out in that order.  The thread that owns a connection
 * reads what is there, runs the complete requests (engine calls included),
 * writes the replies and re-arms the socket for reading (or for writing,
 * when the client does not read fast enough).
 *
 * Why not an event loop handing engine calls to a pool: with that design a
 * GET costs two thread hand-offs (loop to worker and back) on top of its
 * system calls; here it costs none.  What the hand-off design guarantees,
 * that no event loop ever waits for an fsync, holds here in this form: a
 * thread waiting for a commit to become durable owns only the connection
 * whose command it runs; the other threads keep serving everyone else.
 * Before a thread blocks in a commit it gives back (re-arms) the other
 * ready sockets that epoll_wait handed it in the same batch, so that they
 * are picked up by idle threads instead of waiting behind the fsync.
 *
 * Group commit.  Each SET is executed by the thread owning its connection,
 * so N clients whose SETs arrive together are N threads inside cl_commit at
 * once, and the engine's group commit makes them share fsyncs: while one
 * fdatasync runs the others append their records, and the next one covers
 * all of them.  At most --threads commits wait at the same time.  A
 * connection's consecutive pipelined SETs are committed as one batch (one
 * log record, one wait), which keeps their order and makes them durable
 * together; each still gets its own OK, sent only after cl_commit returned,
 * i.e. after the batch is durable in the durable sync modes.
 *
 * Memory per connection is bounded: the input buffer holds at most one
 * request (PROTO_REQ_MAX bytes) plus what follows it, and a connection
 * whose unsent output reaches SRV_OUT_HIGH stops being served (its socket
 * armed only for writing) until the client reads.
 *
 * Divisions:
 *   connections      buffers, reading, writing, arming, closing
 *   commands         running one parsed request against the engine
 *   threads          serving a connection, accepting, the worker loop
 *   start and stop
 */
#include "srv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "proto.h"

#define SRV_IN_INIT (16 * 1024)          /* first input buffer, bytes */
#define SRV_OUT_HIGH (256 * 1024)        /* unsent output that pauses serving */
#define SRV_OUT_KEEP (64 * 1024)         /* output buffer kept once drained */
#define SRV_EVENTS 16                    /* events taken per epoll_wait */
#define SRV_ACCEPT_BURST 64              /* connections accepted per event */
#define SRV_BATCH_MAX 1024               /* pipelined SETs per commit */
#define SRV_DRAIN_MAX (64 * 1024 * 1024) /* bytes dropped after an error */

enum srv_state {
    SRV_OPEN,    /* serving requests */
    SRV_CLOSING, /* QUIT: send what is queued, then close */
    SRV_DRAIN,   /* protocol error: send the error, then drop input */
};

typedef struct srv_conn {
    int fd;
    uint32_t want; /* events the socket is (to be) armed for */
    int state;     /* enum srv_state */
    int need_input;
    int shut;        /* shutdown(SHUT_WR) done (SRV_DRAIN) */
    proto_kind kind; /* 0 until the first byte arrives */
    uint8_t *in;     /* received, not yet executed */
    size_t inlen, incap;
    proto_buf out;                /* replies */
    size_t outoff;                /* bytes of out already sent */
    uint64_t dropped;             /* bytes discarded in SRV_DRAIN */
    struct srv_conn *prev, *next; /* srv.conns, under srv.mu */
} srv_conn;

/* Per-thread counters: written by their thread only, summed by STATS. */
typedef struct srv_counters {
    atomic_uint_fast64_t commands, sets, gets, dels, errors;
} srv_counters;

typedef struct srv_worker {
    struct srv *s;
    pthread_t tid;
    int started;
    cl_batch *batch;          /* pipelined SETs waiting to be committed */
    size_t nbatch;            /* SETs in it */
    uint8_t *scratch;         /* CL_VALUE_MAX bytes for cl_get */
    struct epoll_event *held; /* events received but not yet handled */
    size_t nheld;
    srv_counters ct;
} srv_worker;

struct srv {
    cl_db *db;
    srv_config cfg;
    int epfd;
    int lfd;     /* listening socket; &lfd is its epoll token */
    int stopfd;  /* eventfd written by srv_stop; &stopfd is its token */
    int sparefd; /* an fd kept to be closed when accept hits EMFILE */
    atomic_int stop;
    srv_worker *workers;
    pthread_mutex_t mu; /* protects conns */
    srv_conn *conns;
    atomic_uint nconns;
    atomic_uint_fast64_t conns_total, rejected, proto_errors;
    atomic_int engine_error_logged;
    time_t started;
};

/* ---------------------------------------------------------------------- */
/* connections                                                            */
/* ---------------------------------------------------------------------- */

static size_t srv_unsent(const srv_conn *c)
{
    return c->out.len - c->outoff;
}

/* Arm c's socket for events (EPOLLIN or EPOLLOUT).  After this call the
 * connection may belong to another thread: the caller must not touch it.
 * @return 0, or -1 (the caller still owns c and should close it). */
static int srv_conn_arm(srv *s, srv_conn *c, uint32_t events)
{
    struct epoll_event ev = {.events = events | EPOLLONESHOT, .data.ptr = c};

    c->want = events;
    return epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0 ? 0 : -1;
}

static void srv_conn_close(srv *s, srv_conn *c)
{
    pthread_mutex_lock(&s->mu);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    pthread_mutex_unlock(&s->mu);
    atomic_fetch_sub(&s->nconns, 1);
    close(c->fd);
    free(c->in);
    proto_buf_free(&c->out);
    free(c);
}

/* Send as much queued output as the socket takes.
 * @return 0 (all sent, or the rest must wait for EPOLLOUT), -1 on error. */
static int srv_conn_flush(srv_conn *c)
{
    while (c->outoff < c->out.len) {
        ssize_t n =
            send(c->fd, c->out.data + c->outoff, srv_unsent(c), MSG_NOSIGNAL);
        if (n > 0) {
            c->outoff += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        return -1;
    }
    c->out.len = c->outoff = 0;
    if (c->out.cap > SRV_OUT_KEEP)
        proto_buf_free(&c->out);
    return 0;
}

/* Read once into the input buffer, growing it while it is short of room
 * and under PROTO_REQ_MAX (the parser rejects a request that fills that).
 * @return bytes read (> 0), 0 at end of stream, -1 if nothing is there,
 *         -2 on error. */
static ssize_t srv_conn_read(srv_conn *c)
{
    ssize_t n;

    if (c->incap - c->inlen < 4096 && c->incap < PROTO_REQ_MAX) {
        size_t cap = c->incap ? 2 * c->incap : SRV_IN_INIT;
        uint8_t *p;
        if (cap > PROTO_REQ_MAX)
            cap = PROTO_REQ_MAX;
        if ((p = realloc(c->in, cap)) == NULL)
            return -2;
        c->in = p;
        c->incap = cap;
    }
    if (c->inlen == c->incap)
        return -2; /* cannot happen: the parser said BAD first */
    do
        n = recv(c->fd, c->in + c->inlen, c->incap - c->inlen, 0);
    while (n < 0 && errno == EINTR);
    if (n > 0) {
        c->inlen += (size_t)n;
        return n;
    }
    if (n == 0)
        return 0;
    return errno == EAGAIN || errno == EWOULDBLOCK ? -1 : -2;
}

/* After a protocol error has been sent: close our side for writing so the
 * client sees the error then end of stream, and read and drop what it still
 * sends (closing with unread input would make the kernel reset the
 * connection, and the reset can destroy the error reply before the client
 * reads it).  @return 1 to keep waiting for input, 0 to close. */
static int srv_conn_drain(srv_conn *c)
{
    uint8_t buf[16384];

    if (!c->shut) {
        shutdown(c->fd, SHUT_WR);
        c->shut = 1;
    }
    for (;;) {
        ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
        if (n > 0) {
            c->dropped += (uint64_t)n;
            if (c->dropped > SRV_DRAIN_MAX)
                return 0;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    }
}

/* ---------------------------------------------------------------------- */
/* commands                                                               */
/* ---------------------------------------------------------------------- */

/* Give back the events this thread received but has not handled yet, so
 * that other threads serve those sockets while this one waits for a
 * commit. */
static void srv_release_held(srv_worker *w)
{
    srv *s = w->s;

    for (size_t i = 0; i < w->nheld; i++) {
        struct epoll_event *e = &w->held[i];
        struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT};
        if (e->data.ptr == NULL || e->data.ptr == &s->stopfd)
            continue;
        if (e->data.ptr == &s->lfd) {
            ev.data.ptr = &s->lfd;
            if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, s->lfd, &ev) != 0)
                continue; /* keep it: this thread will accept */
        } else {
            srv_conn *c = e->data.ptr;
            if (srv_conn_arm(s, c, c->want) != 0)
                continue; /* keep it: this thread will serve it */
        }
        e->data.ptr = NULL;
    }
    w->nheld = 0;
}

/* Say once on stderr that the engine failed, with its detail. */
static void srv_log_engine_error(srv *s, const char *what, int rc)
{
    if (atomic_exchange(&s->engine_error_logged, 1) == 0)
        fprintf(stderr, "kvserver: %s: %s%s%s (further errors not logged)\n",
                what, cl_strerror(rc), cl_errdetail()[0] ? ": " : "",
                cl_errdetail());
}

static int srv_engine_error(srv_worker *w, srv_conn *c, const char *what,
                            int rc)
{
    srv_log_engine_error(w->s, what, rc);
    atomic_fetch_add_explicit(&w->ct.errors, 1, memory_order_relaxed);
    return proto_reply_error(c->kind, &c->out, cl_strerror(rc));
}

/* Commit the pipelined SETs collected for c and queue their replies: OK
 * for each once the batch is durable, or the engine's error for each.
 * @return 0, or -1 when out of memory. */
static int srv_commit_batch(srv_worker *w, srv_conn *c)
{
    size_t n = w->nbatch;
    int rc, r = 0;

    if (n == 0)
        return 0;
    srv_release_held(w);
    rc = cl_commit(w->s->db, w->batch, NULL);
    cl_batch_clear(w->batch);
    w->nbatch = 0;
    atomic_fetch_add_explicit(&w->ct.sets, n, memory_order_relaxed);
    if (rc != 0)
        srv_log_engine_error(w->s, "SET", rc);
    for (size_t i = 0; i < n && r == 0; i++)
        r = rc == 0 ? proto_reply_ok(c->kind, &c->out)
                    : proto_reply_error(c->kind, &c->out, cl_strerror(rc));
    if (rc != 0)
        atomic_fetch_add_explicit(&w->ct.errors, n, memory_order_relaxed);
    return r;
}

static int srv_count_key(void *ctx, const void *k, size_t klen, const void *v,
                         size_t vlen)
{
    (void)k;
    (void)klen;
    (void)v;
    (void)vlen;
    (*(uint64_t *)ctx)++;
    return 0;
}

static void srv_sum(srv *s, uint64_t out[5])
{
    memset(out, 0, 5 * sizeof(out[0]));
    for (unsigned i = 0; i < s->cfg.threads; i++) {
        srv_counters *ct = &s->workers[i].ct;
        out[0] += atomic_load_explicit(&ct->commands, memory_order_relaxed);
        out[1] += atomic_load_explicit(&ct->sets, memory_order_relaxed);
        out[2] += atomic_load_explicit(&ct->gets, memory_order_relaxed);
        out[3] += atomic_load_explicit(&ct->dels, memory_order_relaxed);
        out[4] += atomic_load_explicit(&ct->errors, memory_order_relaxed);
    }
}

/* The STATS line (after "STATS ") or the INFO text, into buf. */
static size_t srv_describe(srv *s, int info, char *buf, size_t cap)
{
    cl_stats st;
    uint64_t t[5];
    int n;

    memset(&st, 0, sizeof(st));
    cl_stats_get(s->db, &st);
    srv_sum(s, t);
    if (!info)
        n = snprintf(
            buf, cap,
            "clients=%u connections=%" PRIu64 " rejected=%" PRIu64
            " commands=%" PRIu64 " sets=%" PRIu64 " gets=%" PRIu64
            " dels=%" PRIu64 " errors=%" PRIu64 " protocol_errors=%" PRIu64
            " commits=%" PRIu64 " wal_syncs=%" PRIu64 " checkpoints=%" PRIu64
            " durable_lsn=%" PRIu64 " readonly=%d",
            atomic_load(&s->nconns), (uint64_t)atomic_load(&s->conns_total),
            (uint64_t)atomic_load(&s->rejected), t[0], t[1], t[2], t[3], t[4],
            (uint64_t)atomic_load(&s->proto_errors), st.commits, st.wal_syncs,
            st.checkpoints, st.durable_lsn, st.readonly);
    else
        n = snprintf(
            buf, cap,
            "# Server\r\nserver:crashlab-kvserver\r\nuptime_in_seconds:%lld\r\n"
            "worker_threads:%u\r\n"
            "# Clients\r\nconnected_clients:%u\r\nmaxclients:%u\r\n"
            "# Stats\r\ntotal_connections_received:%" PRIu64
            "\r\nrejected_connections:%" PRIu64
            "\r\ntotal_commands_processed:%" PRIu64 "\r\nsets:%" PRIu64
            "\r\ngets:%" PRIu64 "\r\ndels:%" PRIu64 "\r\nerrors:%" PRIu64
            "\r\n# Engine\r\ncommits:%" PRIu64 "\r\nwal_syncs:%" PRIu64
            "\r\nwal_bytes:%" PRIu64 "\r\ncheckpoints:%" PRIu64
            "\r\ndurable_lsn:%" PRIu64 "\r\npages_total:%" PRIu64
            "\r\nreadonly:%d\r\n",
            (long long)(time(NULL) - s->started), s->cfg.threads,
            atomic_load(&s->nconns), s->cfg.max_clients,
            (uint64_t)atomic_load(&s->conns_total),
            (uint64_t)atomic_load(&s->rejected), t[0], t[1], t[2], t[3], t[4],
            st.commits, st.wal_syncs, st.wal_bytes, st.checkpoints,
            st.durable_lsn, st.pages_total, st.readonly);
    if (n < 0)
        return 0;
    return (size_t)n < cap ? (size_t)n : cap - 1;
}

/* CONFIG GET for the two parameters redis-benchmark asks about, answered
 * in Redis's terms; any other parameter matches nothing. */
static int srv_config_get(srv_worker *w, srv_conn *c, const proto_req *req)
{
    static const char *fsync_names[] = {[CL_SYNC_DEFAULT] = "always",
                                        [CL_SYNC_OFF] = "no",
                                        [CL_SYNC_COMMIT] = "always",
                                        [CL_SYNC_GROUP] = "always",
                                        [CL_SYNC_PERIODIC] = "everysec"};
    const char *v = NULL;

    if (req->argl[1] != 3 ||
        strncasecmp((const char *)req->argv[1], "GET", 3) != 0) {
        atomic_fetch_add_explicit(&w->ct.errors, 1, memory_order_relaxed);
        return proto_reply_error(c->kind, &c->out,
                                 "only CONFIG GET is supported");
    }
    if (req->argc != 3)
        return proto_reply_empty_array(c->kind, &c->out);
    if (req->argl[2] == 4 && memcmp(req->argv[2], "save", 4) == 0)
        v = "";
    else if (req->argl[2] == 10 && memcmp(req->argv[2], "appendonly", 10) == 0)
        v = "yes";
    else if (req->argl[2] == 11 && memcmp(req->argv[2], "appendfsync", 11) == 0)
        v = fsync_names[w->s->cfg.sync];
    if (v == NULL)
        return proto_reply_empty_array(c->kind, &c->out);
    return proto_reply_pair(c->kind, &c->out, req->argv[2], req->argl[2], v,
                            strlen(v));
}

/* Run one request of c, queueing its reply.  SETs are only collected here
 * (srv_commit_batch runs them); every other command first commits the SETs
 * before it, so replies stay in request order and a GET sees its own
 * connection's earlier SETs.  @return 0, or -1 when out of memory. */
static int srv_exec(srv_worker *w, srv_conn *c, const proto_req *req)
{
    srv *s = w->s;
    proto_buf *o = &c->out;
    proto_kind kind = c->kind;
    char err[128], text[2048];
    size_t vlen = 0;
    uint64_t count = 0;
    proto_op op = proto_command(kind, req, err, sizeof(err));
    int rc;

    atomic_fetch_add_explicit(&w->ct.commands, 1, memory_order_relaxed);
    if (op == PROTO_OP_SET) {
        rc = cl_batch_put(w->batch, req->argv[1], req->argl[1], req->argv[2],
                          req->argl[2]);
        if (rc == 0) {
            if (++w->nbatch >= SRV_BATCH_MAX)
                return srv_commit_batch(w, c);
            return 0;
        }
        if (srv_commit_batch(w, c) != 0)
            return -1;
        return srv_engine_error(w, c, "SET", rc);
    }
    if (srv_commit_batch(w, c) != 0)
        return -1;
    switch (op) {
    case PROTO_OP_GET:
        atomic_fetch_add_explicit(&w->ct.gets, 1, memory_order_relaxed);
        rc = cl_get(s->db, req->argv[1], req->argl[1], w->scratch, CL_VALUE_MAX,
                    &vlen);
        if (rc == 0)
            return proto_reply_value(kind, o, w->scratch,
                                     vlen < CL_VALUE_MAX ? vlen : CL_VALUE_MAX);
        if (rc == CL_ENOTFOUND)
            return proto_reply_nil(kind, o);
        return srv_engine_error(w, c, "GET", rc);
    case PROTO_OP_DEL:
        srv_release_held(w);
        for (size_t i = 1; i < req->argc; i++) {
            atomic_fetch_add_explicit(&w->ct.dels, 1, memory_order_relaxed);
            rc = cl_delete(s->db, req->argv[i], req->argl[i]);
            if (rc == 0)
                count++;
            else if (rc != CL_ENOTFOUND)
                return srv_engine_error(w, c, "DEL", rc);
        }
        if (kind == PROTO_LINE)
            return count ? proto_reply_ok(kind, o) : proto_reply_nil(kind, o);
        return proto_reply_int(kind, o, (long long)count);
    case PROTO_OP_EXISTS:
        for (size_t i = 1; i < req->argc; i++) {
            rc = cl_get(s->db, req->argv[i], req->argl[i], NULL, 0, &vlen);
            if (rc == 0)
                count++;
            else if (rc != CL_ENOTFOUND)
                return srv_engine_error(w, c, "EXISTS", rc);
        }
        return proto_reply_int(kind, o, (long long)count);
    case PROTO_OP_PING:
        if (req->argc == 2)
            return proto_reply_value(kind, o, req->argv[1], req->argl[1]);
        return proto_reply_status(kind, o, "PONG");
    case PROTO_OP_DBSIZE:
        /* The engine keeps no key count: count by a scan, O(keys). */
        srv_release_held(w);
        rc = cl_scan(s->db, NULL, 0, NULL, 0, 0, srv_count_key, &count);
        if (rc != 0)
            return srv_engine_error(w, c, "DBSIZE", rc);
        return proto_reply_int(kind, o, (long long)count);
    case PROTO_OP_INFO:
        vlen = srv_describe(s, 1, text, sizeof(text));
        return proto_reply_text(kind, o, text, vlen);
    case PROTO_OP_STATS:
        memcpy(text, "STATS ", 6);
        vlen = srv_describe(s, 0, text + 6, sizeof(text) - 6);
        if (kind == PROTO_LINE)
            return proto_reply_text(kind, o, text, vlen + 6);
        return proto_reply_text(kind, o, text + 6, vlen);
    case PROTO_OP_COMMAND:
        return proto_reply_empty_array(kind, o);
    case PROTO_OP_CONFIG:
        return srv_config_get(w, c, req);
    case PROTO_OP_QUIT:
        c->state = SRV_CLOSING;
        return proto_reply_ok(kind, o);
    case PROTO_OP_ERROR:
    default:
        atomic_fetch_add_explicit(&w->ct.errors, 1, memory_order_relaxed);
        return proto_reply_error(kind, o, err);
    }
}

/* Run the complete requests buffered in c, in order, until the input holds
 * no complete request (need_input set), the unsent output reaches
 * SRV_OUT_HIGH, or the connection stops being served (QUIT, protocol
 * error).  @return 0, or -1 when out of memory (close c). */
static int srv_conn_process(srv_worker *w, srv_conn *c)
{
    size_t off = 0;
    int rc = 0;

    if (c->kind == 0 &&
        (c->kind = (proto_kind)proto_detect(c->in, c->inlen)) == 0) {
        c->need_input = 1;
        return 0;
    }
    while (c->state == SRV_OPEN && srv_unsent(c) < SRV_OUT_HIGH) {
        proto_req req;
        size_t used = 0;
        const char *err = "protocol error";
        int r = proto_parse(c->kind, c->in + off, c->inlen - off, &req, &used,
                            &err);
        if (r == PROTO_NEED) {
            c->need_input = 1;
            break;
        }
        if (r == PROTO_BAD) {
            /* The stream cannot be trusted past this point. */
            if (srv_commit_batch(w, c) != 0 ||
                proto_reply_error(c->kind, &c->out, err) != 0)
                rc = -1;
            atomic_fetch_add(&w->s->proto_errors, 1);
            c->state = SRV_DRAIN;
            off = c->inlen;
            break;
        }
        off += used;
        if (r == PROTO_SKIP)
            continue;
        if ((rc = srv_exec(w, c, &req)) != 0)
            break;
    }
    if (srv_commit_batch(w, c) != 0)
        rc = -1;
    if (off > 0) {
        memmove(c->in, c->in + off, c->inlen - off);
        c->inlen -= off;
    }
    if (c->inlen == 0 && c->incap > SRV_IN_INIT) {
        free(c->in);
        c->in = NULL;
        c->incap = 0;
    }
    return rc;
}

/* ---------------------------------------------------------------------- */
/* threads                                                                */
/* ---------------------------------------------------------------------- */

/* Serve c, which this thread now owns: send pending output, read once, run
 * what arrived, send the replies, and re-arm (or close) the socket. */
static void srv_conn_run(srv_worker *w, srv_conn *c)
{
    srv *s = w->s;
    int did_read = 0;

    if (srv_conn_flush(c) != 0)
        goto close;
    if (srv_unsent(c) > 0)
        goto arm_out;
    for (;;) {
        if (c->state == SRV_CLOSING)
            goto close;
        if (c->state == SRV_DRAIN) {
            if (srv_conn_drain(c) == 0)
                goto close;
            goto arm_in;
        }
        if (c->need_input) {
            ssize_t n;
            if (did_read)
                goto arm_in;
            did_read = 1;
            n = srv_conn_read(c);
            if (n == -1)
                goto arm_in;
            if (n <= 0) /* end of stream: a partial request is dropped */
                goto close;
            c->need_input = 0;
        }
        if (srv_conn_process(w, c) != 0 || srv_conn_flush(c) != 0)
            goto close;
        if (srv_unsent(c) > 0)
            goto arm_out;
    }
arm_in:
    if (srv_conn_arm(s, c, EPOLLIN) != 0)
        goto close;
    return;
arm_out:
    if (srv_conn_arm(s, c, EPOLLOUT) != 0)
        goto close;
    return;
close:
    srv_conn_close(s, c);
}

static void srv_reject(srv *s, int fd)
{
    static const char msg[] = "-ERR max number of clients reached\r\n";

    (void)!send(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    close(fd);
    atomic_fetch_add(&s->rejected, 1);
}

static void srv_add_conn(srv *s, int fd)
{
    srv_conn *c = calloc(1, sizeof(*c));
    struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT};
    int one = 1;

    if (c == NULL) {
        srv_reject(s, fd);
        return;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->fd = fd;
    c->want = EPOLLIN;
    c->need_input = 1;
    pthread_mutex_lock(&s->mu);
    c->next = s->conns;
    if (s->conns != NULL)
        s->conns->prev = c;
    s->conns = c;
    pthread_mutex_unlock(&s->mu);
    atomic_fetch_add(&s->nconns, 1);
    atomic_fetch_add(&s->conns_total, 1);
    ev.data.ptr = c;
    if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
        srv_conn_close(s, c);
}

/* Accept what is waiting (this thread owns the listening socket). */
static void srv_accept(srv_worker *w)
{
    srv *s = w->s;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT,
                             .data.ptr = &s->lfd};

    for (int i = 0; i < SRV_ACCEPT_BURST && !atomic_load(&s->stop); i++) {
        int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
                continue;
            if ((errno == EMFILE || errno == ENFILE) && s->sparefd >= 0) {
                /* Out of descriptors: free the spare one to accept and
                 * turn away this client, rather than leaving it queued
                 * and the listening socket ready forever. */
                close(s->sparefd);
                fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
                if (fd >= 0)
                    srv_reject(s, fd);
                s->sparefd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                continue;
            }
            break; /* EAGAIN, or an error to retry on the next event */
        }
        if (atomic_load(&s->nconns) >= s->cfg.max_clients)
            srv_reject(s, fd);
        else
            srv_add_conn(s, fd);
    }
    if (!atomic_load(&s->stop))
        epoll_ctl(s->epfd, EPOLL_CTL_MOD, s->lfd, &ev);
}

static void *srv_worker_main(void *arg)
{
    srv_worker *w = arg;
    srv *s = w->s;
    struct epoll_event ev[SRV_EVENTS];

    while (!atomic_load(&s->stop)) {
        /* The timeout is only a backstop for srv_stop's wake-up. */
        int n = epoll_wait(s->epfd, ev, SRV_EVENTS, 1000);
        if (n < 0 && errno != EINTR) {
            perror("kvserver: epoll_wait");
            break;
        }
        for (int i = 0; i < n && !atomic_load(&s->stop); i++) {
            void *p = ev[i].data.ptr;
            w->held = ev + i + 1;
            w->nheld = (size_t)(n - i - 1);
            if (p == NULL || p == &s->stopfd)
                continue;
            if (p == &s->lfd)
                srv_accept(w);
            else
                srv_conn_run(w, p);
        }
        w->nheld = 0;
    }
    return NULL;
}

/* ---------------------------------------------------------------------- */
/* start and stop                                                         */
/* ---------------------------------------------------------------------- */

static int srv_listen(srv *s, char *addr, size_t addrlen, char *err,
                      size_t errlen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags =
                                 AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE};
    struct addrinfo *ai = NULL;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char port[16], host[INET6_ADDRSTRLEN];
    int one = 1, rc;

    snprintf(port, sizeof(port), "%u", s->cfg.port);
    rc = getaddrinfo(s->cfg.bind, port, &hints, &ai);
    if (rc != 0) {
        snprintf(err, errlen, "bad --bind address '%s': %s", s->cfg.bind,
                 gai_strerror(rc));
        return EINVAL;
    }
    s->lfd =
        socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->lfd < 0) {
        rc = errno;
        snprintf(err, errlen, "socket: %s", strerror(rc));
        goto out;
    }
    setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(s->lfd, ai->ai_addr, ai->ai_addrlen) != 0 ||
        listen(s->lfd, 4096) != 0 ||
        getsockname(s->lfd, (struct sockaddr *)&ss, &sl) != 0) {
        rc = errno;
        snprintf(err, errlen, "cannot listen on %s port %s: %s", s->cfg.bind,
                 port, strerror(rc));
        goto out;
    }
    if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
        snprintf(addr, addrlen, "[%s]:%u", host, ntohs(a->sin6_port));
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
        snprintf(addr, addrlen, "%s:%u", host, ntohs(a->sin_port));
    }
    rc = 0;
out:
    freeaddrinfo(ai);
    return rc;
}

int srv_start(cl_db *db, const srv_config *cfg, srv **out, char *addr,
              size_t addrlen, char *err, size_t errlen)
{
    srv *s = calloc(1, sizeof(*s));
    struct epoll_event ev = {.events = EPOLLIN};
    int rc;

    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return ENOMEM;
    }
    s->db = db;
    s->cfg = *cfg;
    s->lfd = s->stopfd = s->epfd = s->sparefd = -1;
    s->started = time(NULL);
    pthread_mutex_init(&s->mu, NULL);
    s->workers = calloc(cfg->threads, sizeof(*s->workers));
    if (s->workers == NULL) {
        rc = ENOMEM;
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if ((rc = srv_listen(s, addr, addrlen, err, errlen)) != 0)
        goto fail;
    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    s->stopfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    s->sparefd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (s->epfd < 0 || s->stopfd < 0) {
        rc = errno;
        snprintf(err, errlen, "epoll/eventfd: %s", strerror(rc));
        goto fail;
    }
    /* The stop event is level-triggered and never disarmed: once written,
     * every epoll_wait returns it, so every thread sees it. */
    ev.data.ptr = &s->stopfd;
    if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->stopfd, &ev) != 0)
        goto fail_errno;
    ev.events = EPOLLIN | EPOLLONESHOT;
    ev.data.ptr = &s->lfd;
    if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->lfd, &ev) != 0)
        goto fail_errno;
    for (unsigned i = 0; i < cfg->threads; i++) {
        srv_worker *w = &s->workers[i];
        w->s = s;
        w->scratch = malloc(CL_VALUE_MAX);
        if (w->scratch == NULL || cl_batch_new(&w->batch) != 0) {
            rc = ENOMEM;
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
    }
    for (unsigned i = 0; i < cfg->threads; i++) {
        srv_worker *w = &s->workers[i];
        if ((rc = pthread_create(&w->tid, NULL, srv_worker_main, w)) != 0) {
            snprintf(err, errlen, "cannot start thread %u: %s", i,
                     strerror(rc));
            goto fail;
        }
        w->started = 1;
    }
    *out = s;
    return 0;
fail_errno:
    rc = errno;
    snprintf(err, errlen, "epoll_ctl: %s", strerror(rc));
fail:
    srv_stop(s);
    return rc;
}

void srv_stop(srv *s)
{
    uint64_t one = 1;

    if (s == NULL)
        return;
    atomic_store(&s->stop, 1);
    if (s->stopfd >= 0)
        (void)!write(s->stopfd, &one, sizeof(one));
    for (unsigned i = 0; s->workers != NULL && i < s->cfg.threads; i++) {
        srv_worker *w = &s->workers[i];
        if (w->started)
            pthread_join(w->tid, NULL);
        cl_batch_free(w->batch);
        free(w->scratch);
    }
    /* Every thread is gone: this one owns all connections now. */
    while (s->conns != NULL) {
        srv_conn *c = s->conns;
        srv_conn_flush(c);
        srv_conn_close(s, c);
    }
    if (s->lfd >= 0)
        close(s->lfd);
    if (s->epfd >= 0)
        close(s->epfd);
    if (s->stopfd >= 0)
        close(s->stopfd);
    if (s->sparefd >= 0)
        close(s->sparefd);
    pthread_mutex_destroy(&s->mu);
    free(s->workers);
    free(s);
}
