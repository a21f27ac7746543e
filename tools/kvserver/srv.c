/*
 * srv.c - kvserver's sockets and threads: accepting, reading, writing, the
 * I/O threads and the committer threads.  Requests themselves are run in
 * srv_cmd.c.
 *
 * Concurrency design.
 *
 * I/O threads (--threads, default half the CPUs).  Each owns the connections
 * it was given at accept (round robin) in an epoll set of its own,
 * edge-triggered, so a request costs one recv and one send and no
 * epoll_ctl.  Only the owner touches a connection's buffers, so they need
 * no lock, and its requests are run and answered in arrival order.  The
 * owner runs at once whatever needs no commit (GET, EXISTS, PING, ...;
 * reads never wait for an fsync).  An I/O thread never waits for a commit.
 *
 * Committer threads (--committers, default 2) and the commit queue.  The
 * consecutive SETs and DELs at the head of a connection's input form its
 * pending group; the owner parks the connection in the commit queue and
 * turns to its other connections (a parked connection's events are only
 * noted).  A committer takes everything queued (up to SRV_ROUND_MAX writes
 * and SRV_ROUND_BYTES, from any number of connections), commits it with one
 * cl_commit, queues each connection's replies (OK only now: cl_commit
 * returns once the commit is durable in the durable sync modes), sends
 * what the socket takes at once, and hands each connection back to its
 * owner through the owner's resume list and eventfd.  The owner sends the
 * rest and goes on with the input after the group.
 *
 * Why this shape.  On a small machine (the benchmarks ran on 2 cores) one
 * thread per in-flight SET spends most of its CPU switching: dozens of
 * threads queue on the engine's writer lock and all wake on every
 * group-commit fsync; and EPOLLONESHOT sockets shared by all threads cost an
 * epoll_ctl and often a thread wake-up per request.  Here, while one
 * committer waits for its fsync, the other takes everything queued
 * meanwhile, applies it as one batch and waits in the engine's group
 * commit for the next fsync; writes arriving while both are busy pile up
 * into the next round.  So commits per fsync grow with the load, not with
 * the thread count, and a committer wakes once per batch, not per client.
 * Two committers measured best: more split the queue into more, smaller
 * rounds (more wake-ups for the same fsyncs), one leaves the apply of a
 * round unoverlapped with the previous fsync.  Merging writes of different
 * clients into one atomic batch promises each of them nothing less: every
 * write is applied in its connection's order and acknowledged only when
 * durable; if the commit fails, every write in it gets the error and none
 * is acknowledged.
 *
 * Memory per connection is bounded: the input buffer holds at most one
 * request (PROTO_REQ_MAX bytes) plus what follows it, and a connection
 * whose unsent output reaches SRV_OUT_HIGH is not served until the client
 * reads.
 *
 * Divisions:
 *   connections      buffers, reading, writing, closing
 *   I/O threads      serving a connection, accepting, the event loop
 *   committers       the commit queue
 *   start and stop
 */
#include "srv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "srv_int.h"

#define SRV_EVENTS 64             /* events taken per epoll_wait */
#define SRV_READS_PER_RUN 4       /* reads before other connections' turn */
#define SRV_ACCEPT_BURST 64       /* connections accepted per event */
#define SRV_DRAIN_MAX (64u << 20) /* bytes dropped after an error */
#define SRV_OVER_LIMIT_MAX 64     /* over-limit clients waiting to be told */

/* ---------------------------------------------------------------------- */
/* connections                                                            */
/* ---------------------------------------------------------------------- */

size_t srv_unsent(const srv_conn *c)
{
    return c->out.len - c->outoff;
}

static void srv_conn_free(srv_conn *c)
{
    free(c->in);
    free(c->ops);
    free(c->pend);
    proto_buf_free(&c->out);
    free(c);
}

/* Take c off the server's list of connections. */
static void srv_conn_unlink(srv *s, srv_conn *c)
{
    pthread_mutex_lock(&s->mu);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    pthread_mutex_unlock(&s->mu);
    atomic_fetch_sub(c->over_limit ? &s->nwaiting : &s->nconns, 1);
}

/* Close c (by its owner, or by srv_stop once every thread is gone).  The
 * memory is freed at the end of the owner's round, since the owner's lists
 * may still name c. */
static void srv_conn_close(srv *s, srv_conn *c)
{
    srv_conn_unlink(s, c);
    close(c->fd);
    c->dead = 1;
    c->dnext = c->owner->dead;
    c->owner->dead = c;
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
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            c->writable = 0;
            return 0;
        }
        return -1;
    }
    c->out.len = c->outoff = 0;
    if (c->out.cap > SRV_OUT_KEEP)
        proto_buf_free(&c->out);
    return 0;
}

/* Read once into the input buffer, growing it while it is short of room
 * and under PROTO_REQ_MAX (the parser rejects a request that fills that).
 * A short read means the socket was emptied: readable is cleared and the
 * next edge sets it again; unless the peer's end of stream was already
 * reported, which no later edge will repeat.
 * @return bytes read (> 0), 0 at end of stream, -1 if nothing is there,
 *         -2 on error. */
static ssize_t srv_conn_read(srv_conn *c)
{
    size_t room;
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
    room = c->incap - c->inlen;
    if (room == 0)
        return -2; /* cannot happen: the parser said BAD first */
    do
        n = recv(c->fd, c->in + c->inlen, room, 0);
    while (n < 0 && errno == EINTR);
    if (n > 0) {
        c->inlen += (size_t)n;
        if ((size_t)n < room && !c->hup)
            c->readable = 0;
        return n;
    }
    if (n == 0)
        return 0;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
        c->readable = c->hup;
        return -1;
    }
    return -2;
}

/* After a protocol error has been sent and our side closed for writing
 * (the client sees the error, then end of stream): read and drop what it
 * still sends (closing with unread input would make the kernel reset the
 * connection, and the reset can destroy the error reply before the client
 * reads it).  @return 1 to keep waiting for input, 0 to close. */
static int srv_conn_drain(srv_conn *c)
{
    uint8_t buf[16384];

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
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            c->readable = c->hup;
            return 1;
        }
        return 0;
    }
}

/* ---------------------------------------------------------------------- */
/* I/O threads                                                            */
/* ---------------------------------------------------------------------- */

/* Serve c, which belongs to this I/O thread and is not parked: send
 * pending output, read, run what arrived, send the replies; stop when
 * waiting for the socket, when c is parked, or after SRV_READS_PER_RUN
 * reads (then c runs again before the next epoll_wait). */
static void srv_conn_run(srv_thread *t, srv_conn *c)
{
    int reads = 0, r;

    if (c->dead || c->parked)
        return;
    for (;;) {
        if (srv_unsent(c) > 0) {
            if (!c->writable)
                return; /* the EPOLLOUT edge brings us back */
            if (srv_conn_flush(c) != 0)
                goto close;
            if (srv_unsent(c) > 0)
                return;
        }
        if (c->state == SRV_CLOSING)
            goto close;
        if (c->state == SRV_DRAIN) {
            /* The error is sent: end of stream for the client now, not
             * when it next sends something. */
            if (!c->shut) {
                shutdown(c->fd, SHUT_WR);
                c->shut = 1;
            }
            if (c->readable && srv_conn_drain(c) == 0)
                goto close;
            return;
        }
        if (c->need_input) {
            ssize_t n;
            if (!c->readable)
                return; /* the EPOLLIN edge brings us back */
            if (reads++ == SRV_READS_PER_RUN) {
                if (!c->in_again) {
                    c->in_again = 1;
                    c->anext = t->again;
                    t->again = c;
                }
                return;
            }
            n = srv_conn_read(c);
            if (n == -1)
                return;
            if (n <= 0) /* end of stream: a partial request is dropped */
                goto close;
            c->need_input = 0;
        }
        r = srv_conn_process(t, c);
        if (r == 1)
            return; /* parked: the committers own it now */
        if (r != 0)
            goto close;
    }
close:
    srv_conn_close(t->s, c);
}

static void srv_reject(srv *s, int fd)
{
    static const char msg[] = "-ERR max number of clients reached\r\n";

    (void)!send(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    close(fd);
    atomic_fetch_add(&s->rejected, 1);
}

/* Give a new connection to the next I/O thread.  over_limit: the server is
 * full; the connection is served only to learn its protocol and be told so
 * in it (srv_conn_process), then closed. */
static void srv_add_conn(srv *s, int fd, int over_limit)
{
    srv_conn *c = calloc(1, sizeof(*c));
    unsigned i = atomic_fetch_add(&s->next_owner, 1) % s->cfg.threads;
    struct epoll_event ev = {.events =
                                 EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET};
    int one = 1;

    if (c == NULL) {
        srv_reject(s, fd);
        return;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->fd = fd;
    c->owner = &s->io[i];
    c->need_input = 1;
    c->writable = 1;
    c->over_limit = over_limit;
    pthread_mutex_lock(&s->mu);
    c->next = s->conns;
    if (s->conns != NULL)
        s->conns->prev = c;
    s->conns = c;
    pthread_mutex_unlock(&s->mu);
    atomic_fetch_add(over_limit ? &s->nwaiting : &s->nconns, 1);
    atomic_fetch_add(&s->conns_total, 1);
    /* From here on the owner may receive c's events (input that arrived
     * before this call gives one at once). */
    ev.data.ptr = c;
    if (epoll_ctl(c->owner->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        srv_conn_unlink(s, c);
        srv_reject(s, fd);
        srv_conn_free(c);
    }
}

/* Accept what is waiting.  Several I/O threads may do this at once. */
static void srv_accept(srv *s)
{
    for (int i = 0; i < SRV_ACCEPT_BURST && !atomic_load(&s->stop); i++) {
        int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
                continue;
            if (errno == EMFILE || errno == ENFILE) {
                /* Out of descriptors: free the spare one to accept and
                 * turn away this client, rather than leaving it queued
                 * and the listening socket ready forever. */
                pthread_mutex_lock(&s->mu);
                if (s->sparefd >= 0) {
                    close(s->sparefd);
                    fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
                    if (fd >= 0)
                        srv_reject(s, fd);
                    s->sparefd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                }
                pthread_mutex_unlock(&s->mu);
            }
            break; /* EAGAIN, or an error to retry on the next event */
        }
        /* Over the limit, a client is told so in its own protocol, which
         * its first request shows; beyond SRV_OVER_LIMIT_MAX of those
         * waiting to speak, it gets RESP's error at once. */
        if (atomic_load(&s->nconns) < s->cfg.max_clients)
            srv_add_conn(s, fd, 0);
        else if (atomic_load(&s->nwaiting) < SRV_OVER_LIMIT_MAX)
            srv_add_conn(s, fd, 1);
        else
            srv_reject(s, fd);
    }
}

/* Take back the connections the committers answered. */
static void srv_resume_all(srv_thread *t)
{
    uint64_t v;
    srv_conn *c, *next;

    /* Reset the eventfd before taking the list: a connection handed back
     * after the take writes it again. */
    (void)!read(t->resfd, &v, sizeof(v));
    pthread_mutex_lock(&t->mu);
    c = t->resume;
    t->resume = NULL;
    pthread_mutex_unlock(&t->mu);
    for (; c != NULL; c = next) {
        next = c->qnext;
        c->parked = 0;
        srv_conn_run(t, c);
    }
}

static void *srv_io_main(void *arg)
{
    srv_thread *t = arg;
    srv *s = t->s;
    struct epoll_event ev[SRV_EVENTS];

    while (!atomic_load(&s->stop)) {
        srv_conn *c, *next;
        /* The timeout is only a backstop for srv_stop's wake-up. */
        int n = epoll_wait(t->epfd, ev, SRV_EVENTS, t->again ? 0 : 1000);
        if (n < 0 && errno != EINTR) {
            perror("kvserver: epoll_wait");
            break;
        }
        for (int i = 0; i < n && !atomic_load(&s->stop); i++) {
            void *p = ev[i].data.ptr;
            uint32_t e = ev[i].events;
            if (p == &s->stopfd)
                continue;
            if (p == &s->lfd) {
                srv_accept(s);
                continue;
            }
            if (p == &t->resfd) {
                srv_resume_all(t);
                continue;
            }
            c = p;
            if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
                c->readable = 1;
            if (e & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
                c->hup = 1;
            if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR))
                c->writable = 1;
            srv_conn_run(t, c);
        }
        c = t->again;
        t->again = NULL;
        for (; c != NULL; c = next) {
            next = c->anext;
            c->in_again = 0;
            if (!atomic_load(&s->stop))
                srv_conn_run(t, c);
        }
        for (c = t->dead, t->dead = NULL; c != NULL; c = next) {
            next = c->dnext;
            srv_conn_free(c);
        }
    }
    return NULL;
}

/* ---------------------------------------------------------------------- */
/* committers                                                             */
/* ---------------------------------------------------------------------- */

void srv_park(srv *s, srv_conn *c)
{
    c->parked = 1;
    c->qnext = NULL;
    pthread_mutex_lock(&s->qmu);
    if (s->qtail != NULL)
        s->qtail->qnext = c;
    else
        s->qhead = c;
    s->qtail = c;
    pthread_cond_signal(&s->qcv);
    pthread_mutex_unlock(&s->qmu);
}

/* Send what a parked connection's socket takes now, from the committer:
 * the client gets its replies without waiting for the owner to wake up.
 * Only the output buffer is touched (the owner keeps the socket's state
 * flags: if the socket is full the owner finds out by itself). */
static void srv_send_now(srv_conn *c)
{
    while (c->outoff < c->out.len) {
        ssize_t n = send(c->fd, c->out.data + c->outoff, srv_unsent(c),
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0)
            c->outoff += (size_t)n;
        else if (!(n < 0 && errno == EINTR))
            return;
    }
}

/* Hand a parked connection back to its owner. */
static void srv_hand_back(srv_conn *c)
{
    srv_thread *o = c->owner;
    uint64_t one = 1;
    int was_empty;

    pthread_mutex_lock(&o->mu);
    was_empty = o->resume == NULL;
    c->qnext = o->resume;
    o->resume = c;
    pthread_mutex_unlock(&o->mu);
    if (was_empty)
        (void)!write(o->resfd, &one, sizeof(one));
}

/* A committer: take what is queued, commit it as one batch, answer and
 * hand back each connection; at stop, leave once the queue is empty. */
static void *srv_committer_main(void *arg)
{
    srv_thread *t = arg;
    srv *s = t->s;

    for (;;) {
        srv_conn *list = NULL, *last = NULL, *c, *next;
        size_t nops = 0, bytes = 0;
        int rc = 0;

        pthread_mutex_lock(&s->qmu);
        while (s->qhead == NULL && !s->qstop)
            pthread_cond_wait(&s->qcv, &s->qmu);
        if (s->qhead == NULL) {
            pthread_mutex_unlock(&s->qmu);
            break;
        }
        while ((c = s->qhead) != NULL &&
               (list == NULL || (nops + c->nops <= SRV_ROUND_MAX &&
                                 bytes + c->group_bytes <= SRV_ROUND_BYTES))) {
            s->qhead = c->qnext;
            c->qnext = NULL;
            if (last != NULL)
                last->qnext = c;
            else
                list = c;
            last = c;
            nops += c->nops;
            bytes += c->group_bytes;
        }
        if (s->qhead == NULL)
            s->qtail = NULL;
        else
            pthread_cond_signal(&s->qcv); /* the rest: another committer */
        pthread_mutex_unlock(&s->qmu);

        cl_batch_clear(t->batch);
        for (c = list; c != NULL && rc == 0; c = c->qnext)
            rc = srv_group_add(c, t->batch);
        /* A deliberately broken server (srv.h): OK goes out before the
         * commit, and the loop below has nothing left to answer. */
        for (c = list; srv_broken_ack_early(s) && rc == 0 && c != NULL;
             c = c->qnext)
            if (srv_group_done(t, c, 0) == 0)
                srv_send_now(c);
        if (rc == 0 && cl_batch_count(t->batch) > 0)
            rc = cl_commit(s->db, t->batch, NULL);
        if (rc != 0)
            srv_log_engine_error(s, "commit", rc);
        atomic_fetch_add_explicit(&t->ct.rounds, 1, memory_order_relaxed);
        for (c = list; c != NULL; c = next) {
            next = c->qnext;
            if (srv_group_done(t, c, rc) != 0)
                c->state = SRV_CLOSING; /* out of memory: the owner closes */
            else
                srv_send_now(c);
            srv_hand_back(c);
        }
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

/* Set up I/O thread t's epoll set: the stop eventfd (level-triggered, so
 * every thread sees it), the listening socket (shared; EPOLLEXCLUSIVE
 * wakes one waiting thread per new connection, not all), and t's resume
 * eventfd. */
static int srv_io_init(srv *s, srv_thread *t)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &s->stopfd};

    t->s = s;
    t->epfd = epoll_create1(EPOLL_CLOEXEC);
    t->resfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (t->epfd < 0 || t->resfd < 0 ||
        epoll_ctl(t->epfd, EPOLL_CTL_ADD, s->stopfd, &ev) != 0)
        return errno;
    ev.events = EPOLLIN | EPOLLEXCLUSIVE;
    ev.data.ptr = &s->lfd;
    if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, s->lfd, &ev) != 0)
        return errno;
    ev.events = EPOLLIN;
    ev.data.ptr = &t->resfd;
    if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, t->resfd, &ev) != 0)
        return errno;
    if ((t->scratch = malloc(CL_VALUE_MAX)) == NULL)
        return ENOMEM;
    return 0;
}

static int srv_spawn(srv_thread *ts, unsigned n, void *(*fn)(void *), char *err,
                     size_t errlen)
{
    for (unsigned i = 0; i < n; i++) {
        int rc = pthread_create(&ts[i].tid, NULL, fn, &ts[i]);
        if (rc != 0) {
            snprintf(err, errlen, "cannot start a thread: %s", strerror(rc));
            return rc;
        }
        ts[i].started = 1;
    }
    return 0;
}

int srv_start(const srv_config *cfg, srv **out, char *addr, size_t addrlen,
              char *err, size_t errlen)
{
    srv *s = calloc(1, sizeof(*s));
    int rc = ENOMEM;

    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return ENOMEM;
    }
    s->cfg = *cfg;
    s->lfd = s->stopfd = s->sparefd = -1;
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->qmu, NULL);
    pthread_cond_init(&s->qcv, NULL);
    s->io = calloc(cfg->threads, sizeof(*s->io));
    s->committer = calloc(cfg->committers, sizeof(*s->committer));
    if (s->io == NULL || s->committer == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail_nothreads;
    }
    for (unsigned i = 0; i < cfg->threads; i++) {
        s->io[i].epfd = s->io[i].resfd = -1;
        pthread_mutex_init(&s->io[i].mu, NULL);
    }
    for (unsigned i = 0; i < cfg->committers; i++) {
        s->committer[i].s = s;
        if (cl_batch_new(&s->committer[i].batch) != 0) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
    }
    if ((rc = srv_listen(s, addr, addrlen, err, errlen)) != 0)
        goto fail;
    s->stopfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    s->sparefd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (s->stopfd < 0) {
        rc = errno;
        snprintf(err, errlen, "eventfd: %s", strerror(rc));
        goto fail;
    }
    for (unsigned i = 0; i < cfg->threads; i++)
        if ((rc = srv_io_init(s, &s->io[i])) != 0) {
            snprintf(err, errlen, "epoll/eventfd: %s", strerror(rc));
            goto fail;
        }
    *out = s;
    return 0;
fail_nothreads:
    free(s->io);
    free(s->committer);
    s->io = NULL;
    s->committer = NULL;
fail:
    srv_stop(s);
    return rc;
}

int srv_serve(srv *s, cl_db *db, char *err, size_t errlen)
{
    int rc;

    s->db = db;
    s->started = time(NULL);
    if ((rc = srv_spawn(s->committer, s->cfg.committers, srv_committer_main,
                        err, errlen)) != 0)
        return rc;
    return srv_spawn(s->io, s->cfg.threads, srv_io_main, err, errlen);
}

void srv_stop(srv *s)
{
    uint64_t one = 1;

    if (s == NULL)
        return;
    /* 1. I/O threads: no new connections, no new requests started. */
    atomic_store(&s->stop, 1);
    if (s->stopfd >= 0)
        (void)!write(s->stopfd, &one, sizeof(one));
    for (unsigned i = 0; s->io != NULL && i < s->cfg.threads; i++)
        if (s->io[i].started)
            pthread_join(s->io[i].tid, NULL);
    /* 2. Committers: commit and answer every write already queued. */
    pthread_mutex_lock(&s->qmu);
    s->qstop = 1;
    pthread_cond_broadcast(&s->qcv);
    pthread_mutex_unlock(&s->qmu);
    for (unsigned i = 0; s->committer != NULL && i < s->cfg.committers; i++) {
        if (s->committer[i].started)
            pthread_join(s->committer[i].tid, NULL);
        cl_batch_free(s->committer[i].batch);
    }
    /* 3. Every thread is gone: send what the sockets take, and close. */
    while (s->conns != NULL) {
        srv_conn *c = s->conns;
        srv_conn_flush(c);
        srv_conn_close(s, c);
    }
    for (unsigned i = 0; s->io != NULL && i < s->cfg.threads; i++) {
        srv_thread *t = &s->io[i];
        srv_conn *c, *next;
        for (c = t->dead; c != NULL; c = next) {
            next = c->dnext;
            srv_conn_free(c);
        }
        if (t->epfd >= 0)
            close(t->epfd);
        if (t->resfd >= 0)
            close(t->resfd);
        free(t->scratch);
        pthread_mutex_destroy(&t->mu);
    }
    if (s->lfd >= 0)
        close(s->lfd);
    if (s->stopfd >= 0)
        close(s->stopfd);
    if (s->sparefd >= 0)
        close(s->sparefd);
    pthread_cond_destroy(&s->qcv);
    pthread_mutex_destroy(&s->qmu);
    pthread_mutex_destroy(&s->mu);
    free(s->io);
    free(s->committer);
    free(s);
}
