/*
 * srv_cmd.c - running kvserver's requests: reads (GET, EXISTS, DBSIZE) and
 * the commands that touch no data are run at once by the I/O thread that
 * owns the connection; writes (SET, DEL) are collected into the
 * connection's pending group, which a committer thread commits (srv.c) and
 * answers with srv_group_done.
 *
 * Ordering.  A connection's requests take effect and are answered in the
 * order they arrived: consecutive writes join one group; any other request
 * that follows them waits until the group is committed (the connection is
 * parked and processing stops there), so a GET always sees its own
 * connection's earlier SETs and every reply goes out after the replies
 * before it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "srv_int.h"

void srv_log_engine_error(srv *s, const char *what, int rc)
{
    if (atomic_exchange(&s->engine_error_logged, 1) == 0)
        fprintf(stderr, "kvserver: %s: %s%s%s (further errors not logged)\n",
                what, cl_strerror(rc), cl_errdetail()[0] ? ": " : "",
                cl_errdetail());
}

static void srv_count(atomic_uint_fast64_t *ctr, uint64_t n)
{
    atomic_fetch_add_explicit(ctr, n, memory_order_relaxed);
}

/* The reply to a request the engine failed with rc, in this thread (its
 * cl_errinfo is the failure's): corruption carries the code CORRUPT and
 * the kind of damage, for programs (docs/KVSERVER.md); so does a write
 * refused because corruption found earlier (by another thread, such as
 * the background checkpoint's) made the database read-only. */
static int srv_reply_engine_error(srv_conn *c, int rc)
{
    cl_err_info ei;
    char msg[96];

    cl_errinfo(&ei);
    if (rc == CL_ECORRUPT)
        snprintf(msg, sizeof(msg), "%s: %s", cl_err_kind_name(ei.kind),
                 cl_strerror(rc));
    else if (rc == CL_EREADONLY && ei.kind != CL_ERRK_NONE &&
             ei.kind != CL_ERRK_IO)
        snprintf(msg, sizeof(msg),
                 "%s: database is read-only after corruption was detected; "
                 "reopen it",
                 cl_err_kind_name(ei.kind));
    else
        return proto_reply_error(c->kind, &c->out, cl_strerror(rc));
    return proto_reply_error_code(c->kind, &c->out, "CORRUPT", msg);
}

static int srv_engine_error(srv_thread *t, srv_conn *c, const char *what,
                            int rc)
{
    srv_log_engine_error(t->s, what, rc);
    srv_count(&t->ct.errors, 1);
    return srv_reply_engine_error(c, rc);
}

/* ---------------------------------------------------------------------- */
/* the pending group                                                      */
/* ---------------------------------------------------------------------- */

static int srv_add_op(srv_conn *c, int del, const uint8_t *k, size_t klen,
                      const uint8_t *v, size_t vlen)
{
    if (c->nops == c->capops) {
        size_t cap = c->capops ? 2 * c->capops : 16;
        srv_op *p = realloc(c->ops, cap * sizeof(*p));
        if (p == NULL)
            return -1;
        c->ops = p;
        c->capops = cap;
    }
    c->ops[c->nops++] = (srv_op){del, k, v, klen, vlen};
    c->group_bytes += klen + vlen;
    return 0;
}

static int srv_add_pend(srv_conn *c, int del, uint32_t count)
{
    if (c->npend == c->cappend) {
        size_t cap = c->cappend ? 2 * c->cappend : 16;
        srv_pend *p = realloc(c->pend, cap * sizeof(*p));
        if (p == NULL)
            return -1;
        c->pend = p;
        c->cappend = cap;
    }
    c->pend[c->npend++] = (srv_pend){del, count};
    return 0;
}

int srv_group_add(srv_conn *c, cl_batch *batch)
{
    srv *s = c->owner->s;
    int rc = 0;

    for (size_t i = 0; i < c->nops && rc == 0; i++) {
        const srv_op *op = &c->ops[i];
        /* A deliberately broken server (srv.h): the write is dropped
         * here, and still acknowledged by srv_group_done. */
        if (!op->del && srv_broken_drop_set(s))
            continue;
        rc = op->del ? cl_batch_delete(batch, op->k, op->klen)
                     : cl_batch_put(batch, op->k, op->klen, op->v, op->vlen);
    }
    return rc;
}

int srv_group_done(srv_thread *t, srv_conn *c, int rc)
{
    uint64_t sets = 0;
    int r = 0;

    for (size_t i = 0; i < c->npend && r == 0; i++) {
        const srv_pend *p = &c->pend[i];
        sets += !p->del;
        if (rc != 0)
            r = srv_reply_engine_error(c, rc);
        else if (!p->del || c->kind == PROTO_LINE)
            r = proto_reply_ok(c->kind, &c->out); /* a DEL here found keys */
        else
            r = proto_reply_int(c->kind, &c->out, (long long)p->count);
    }
    srv_count(&t->ct.sets, sets);
    if (rc != 0)
        srv_count(&t->ct.errors, c->npend);
    c->nops = c->npend = c->group_bytes = 0;
    return r;
}

/* DEL, with the group empty: look each key up (this connection's earlier
 * writes are all committed, so it sees them) and add a delete for each one
 * found; with none found the answer is given at once.  Another client may
 * change a key between the look-up and the commit, exactly as with
 * cl_delete.  @return 0, or -1 when out of memory. */
static int srv_del(srv_thread *t, srv_conn *c, const proto_req *req)
{
    uint32_t count = 0;
    size_t vlen;

    for (size_t i = 1; i < req->argc; i++) {
        int rc = cl_get(t->s->db, req->argv[i], req->argl[i], NULL, 0, &vlen);
        srv_count(&t->ct.dels, 1);
        if (rc == CL_ENOTFOUND)
            continue;
        if (rc != 0) {
            c->nops = c->group_bytes = 0;
            return srv_engine_error(t, c, "DEL", rc);
        }
        if (srv_add_op(c, 1, req->argv[i], req->argl[i], NULL, 0) != 0)
            return -1;
        count++;
    }
    if (count > 0)
        return srv_add_pend(c, 1, count);
    if (c->kind == PROTO_LINE)
        return proto_reply_nil(c->kind, &c->out);
    return proto_reply_int(c->kind, &c->out, 0);
}

/* ---------------------------------------------------------------------- */
/* commands run at once                                                   */
/* ---------------------------------------------------------------------- */

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

/* The counters of every thread: commands, sets, gets, dels, errors,
 * commit rounds. */
static void srv_sum(srv *s, uint64_t out[6])
{
    memset(out, 0, 6 * sizeof(out[0]));
    for (unsigned i = 0; i < s->cfg.threads + s->cfg.committers; i++) {
        srv_counters *ct = i < s->cfg.threads
                               ? &s->io[i].ct
                               : &s->committer[i - s->cfg.threads].ct;
        out[0] += atomic_load_explicit(&ct->commands, memory_order_relaxed);
        out[1] += atomic_load_explicit(&ct->sets, memory_order_relaxed);
        out[2] += atomic_load_explicit(&ct->gets, memory_order_relaxed);
        out[3] += atomic_load_explicit(&ct->dels, memory_order_relaxed);
        out[4] += atomic_load_explicit(&ct->errors, memory_order_relaxed);
        out[5] += atomic_load_explicit(&ct->rounds, memory_order_relaxed);
    }
}

/* The STATS line (after "STATS ") or the INFO text, into buf. */
static size_t srv_describe(srv *s, int info, char *buf, size_t cap)
{
    cl_stats st;
    uint64_t t[6];
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
            " commit_rounds=%" PRIu64 " commits=%" PRIu64 " wal_syncs=%" PRIu64
            " checkpoints=%" PRIu64 " durable_lsn=%" PRIu64 " readonly=%d",
            atomic_load(&s->nconns), (uint64_t)atomic_load(&s->conns_total),
            (uint64_t)atomic_load(&s->rejected), t[0], t[1], t[2], t[3], t[4],
            (uint64_t)atomic_load(&s->proto_errors), t[5], st.commits,
            st.wal_syncs, st.checkpoints, st.durable_lsn, st.readonly);
    else
        n = snprintf(
            buf, cap,
            "# Server\r\nserver:crashlab-kvserver\r\nuptime_in_seconds:%lld\r\n"
            "io_threads:%u\r\ncommitter_threads:%u\r\n"
            "# Clients\r\nconnected_clients:%u\r\nmaxclients:%u\r\n"
            "# Stats\r\ntotal_connections_received:%" PRIu64
            "\r\nrejected_connections:%" PRIu64
            "\r\ntotal_commands_processed:%" PRIu64 "\r\nsets:%" PRIu64
            "\r\ngets:%" PRIu64 "\r\ndels:%" PRIu64 "\r\nerrors:%" PRIu64
            "\r\ncommit_rounds:%" PRIu64 "\r\n# Engine\r\ncommits:%" PRIu64
            "\r\nwal_syncs:%" PRIu64 "\r\nwal_bytes:%" PRIu64
            "\r\ncheckpoints:%" PRIu64 "\r\ndurable_lsn:%" PRIu64
            "\r\npages_total:%" PRIu64 "\r\nreadonly:%d\r\n",
            (long long)(time(NULL) - s->started), s->cfg.threads,
            s->cfg.committers, atomic_load(&s->nconns), s->cfg.max_clients,
            (uint64_t)atomic_load(&s->conns_total),
            (uint64_t)atomic_load(&s->rejected), t[0], t[1], t[2], t[3], t[4],
            t[5], st.commits, st.wal_syncs, st.wal_bytes, st.checkpoints,
            st.durable_lsn, st.pages_total, st.readonly);
    if (n < 0)
        return 0;
    return (size_t)n < cap ? (size_t)n : cap - 1;
}

/* CONFIG GET for the parameters redis-benchmark asks about, answered in
 * Redis's terms; any other parameter matches nothing. */
static int srv_config_get(srv_thread *t, srv_conn *c, const proto_req *req)
{
    static const char *fsync_names[] = {[CL_SYNC_DEFAULT] = "always",
                                        [CL_SYNC_OFF] = "no",
                                        [CL_SYNC_COMMIT] = "always",
                                        [CL_SYNC_GROUP] = "always",
                                        [CL_SYNC_PERIODIC] = "everysec"};
    const char *v = NULL;

    if (req->argl[1] != 3 ||
        strncasecmp((const char *)req->argv[1], "GET", 3) != 0) {
        srv_count(&t->ct.errors, 1);
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
        v = fsync_names[t->s->cfg.sync];
    if (v == NULL)
        return proto_reply_empty_array(c->kind, &c->out);
    return proto_reply_pair(c->kind, &c->out, req->argv[2], req->argl[2], v,
                            strlen(v));
}

/* Run a request that is not a write (the group is empty), queueing its
 * reply.  @return 0, or -1 when out of memory. */
static int srv_exec(srv_thread *t, srv_conn *c, const proto_req *req,
                    proto_op op, const char *err)
{
    srv *s = t->s;
    proto_buf *o = &c->out;
    proto_kind kind = c->kind;
    char text[2048];
    size_t vlen = 0;
    uint64_t count = 0;
    int rc;

    switch (op) {
    case PROTO_OP_GET:
        srv_count(&t->ct.gets, 1);
        rc = cl_get(s->db, req->argv[1], req->argl[1], t->scratch, CL_VALUE_MAX,
                    &vlen);
        if (rc == 0)
            return proto_reply_value(kind, o, t->scratch,
                                     vlen < CL_VALUE_MAX ? vlen : CL_VALUE_MAX);
        if (rc == CL_ENOTFOUND)
            return proto_reply_nil(kind, o);
        return srv_engine_error(t, c, "GET", rc);
    case PROTO_OP_EXISTS:
        for (size_t i = 1; i < req->argc; i++) {
            rc = cl_get(s->db, req->argv[i], req->argl[i], NULL, 0, &vlen);
            if (rc == 0)
                count++;
            else if (rc != CL_ENOTFOUND)
                return srv_engine_error(t, c, "EXISTS", rc);
        }
        return proto_reply_int(kind, o, (long long)count);
    case PROTO_OP_PING:
        if (req->argc == 2)
            return proto_reply_value(kind, o, req->argv[1], req->argl[1]);
        return proto_reply_status(kind, o, "PONG");
    case PROTO_OP_DBSIZE:
        /* The engine keeps no key count: count by a scan, O(keys). */
        rc = cl_scan(s->db, NULL, 0, NULL, 0, 0, srv_count_key, &count);
        if (rc != 0)
            return srv_engine_error(t, c, "DBSIZE", rc);
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
        return srv_config_get(t, c, req);
    case PROTO_OP_QUIT:
        c->state = SRV_CLOSING;
        return proto_reply_ok(kind, o);
    case PROTO_OP_ERROR:
    default:
        srv_count(&t->ct.errors, 1);
        return proto_reply_error(kind, o, err);
    }
}

/* ---------------------------------------------------------------------- */
/* the requests of a connection                                           */
/* ---------------------------------------------------------------------- */

int srv_conn_process(srv_thread *t, srv_conn *c)
{
    size_t off = 0;
    char err[128];
    int rc = 0;

    if (c->inoff > 0) {
        memmove(c->in, c->in + c->inoff, c->inlen - c->inoff);
        c->inlen -= c->inoff;
        c->inoff = 0;
    }
    if (c->kind == 0 &&
        (c->kind = (proto_kind)proto_detect(c->in, c->inlen)) == 0) {
        c->need_input = 1;
        return 0;
    }
    if (c->over_limit) {
        /* Accepted over --max-clients: refused in its own protocol. */
        atomic_fetch_add(&t->s->rejected, 1);
        c->state = SRV_DRAIN;
        c->inoff = c->inlen;
        return proto_reply_error(c->kind, &c->out,
                                 "max number of clients reached");
    }
    while (c->state == SRV_OPEN && srv_unsent(c) < SRV_OUT_HIGH) {
        proto_req req;
        size_t used = 0;
        const char *perr = "protocol error";
        int r = proto_parse(c->kind, c->in + off, c->inlen - off, &req, &used,
                            &perr);
        proto_op op;

        if (r == PROTO_NEED) {
            c->need_input = 1;
            break;
        }
        if (r == PROTO_BAD) {
            if (c->npend > 0)
                goto park; /* answer the writes before it first */
            /* The stream cannot be trusted past this point. */
            rc = proto_reply_error(c->kind, &c->out, perr);
            atomic_fetch_add(&t->s->proto_errors, 1);
            c->state = SRV_DRAIN;
            off = c->inlen;
            break;
        }
        if (r == PROTO_SKIP) {
            off += used;
            continue;
        }
        op = proto_command(c->kind, &req, err, sizeof(err));
        if (op == PROTO_OP_SET) {
            if (srv_add_op(c, 0, req.argv[1], req.argl[1], req.argv[2],
                           req.argl[2]) != 0 ||
                srv_add_pend(c, 0, 0) != 0) {
                rc = -1;
                break;
            }
            srv_count(&t->ct.commands, 1);
            off += used;
            if (c->nops >= SRV_GROUP_MAX)
                goto park;
            continue;
        }
        if (c->npend > 0)
            goto park; /* everything else waits for the writes before it */
        srv_count(&t->ct.commands, 1);
        off += used;
        rc = op == PROTO_OP_DEL ? srv_del(t, c, &req)
                                : srv_exec(t, c, &req, op, err);
        if (rc != 0)
            break;
    }
    if (rc == 0 && c->npend > 0)
        goto park;
    c->nops = c->npend = c->group_bytes = 0;
    c->inoff = off;
    if (c->inoff == c->inlen && c->incap > SRV_IN_INIT) {
        free(c->in);
        c->in = NULL;
        c->inoff = c->inlen = c->incap = 0;
    }
    return rc;
park:
    c->inoff = off;
    c->need_input = 0; /* what follows the group is run after it */
    srv_park(t->s, c);
    return 1;
}
