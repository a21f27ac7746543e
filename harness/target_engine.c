/*
 * target_engine.c - the crashlab engine as a harness target, and three
 * broken variants of it that the harness's own tests use to show that
 * every kind of violation is caught:
 *   broken-ack   acknowledges a transaction before committing it (the
 *                commit happens only when the next one arrives);
 *   broken-half  commits each transaction as two commits (first half of
 *                its operations, then the rest);
 *   broken-lose  acknowledges every fifth transaction without writing it;
 *   broken-follower  a group commit of its own over the engine's sync off:
 *                the first committer to find no sync in progress leads one
 *                (cl_sync), but a committer that finds one in progress
 *                returns at once, as if that sync covered its commit, when
 *                it began before the commit was written.  With one thread
 *                every commit leads its own sync, so only concurrent
 *                committers (trial_mt.c) can catch it.
 * The engine target is safe for concurrent commits (each takes a batch of
 * its own); broken-ack, -half and -lose serialize theirs.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "target.h"

typedef struct eng {
    cl_db *db;
    cl_batch *b;
    cl_batch *pending; /* broken-ack: the transaction not yet committed */
    int has_pending;
    int broken;         /* 0 engine, 1 ack, 2 half, 3 lose, 4 follower */
    pthread_mutex_t mu; /* serializes broken 1-3; guards syncing */
    int syncing;        /* broken-follower: a sync is in progress */
} eng;

static int eng_open_common(const char *dir, const cl_options *o, void **h,
                           int broken)
{
    eng *e = calloc(1, sizeof(*e));
    cl_options oo;
    int rc;

    if (e == NULL)
        return CL_ENOMEM;
    e->broken = broken;
    if (broken == 4) { /* the handle never syncs by itself */
        oo = *o;
        oo.sync = CL_SYNC_OFF;
        o = &oo;
    }
    pthread_mutex_init(&e->mu, NULL);
    if ((rc = cl_batch_new(&e->b)) != 0 ||
        (rc = cl_batch_new(&e->pending)) != 0 ||
        (rc = cl_open(dir, o, &e->db)) != 0) {
        pthread_mutex_destroy(&e->mu);
        cl_batch_free(e->b);
        cl_batch_free(e->pending);
        free(e);
        return rc;
    }
    *h = e;
    return 0;
}

static int eng_open(const char *dir, const cl_options *o, void **h)
{
    return eng_open_common(dir, o, h, 0);
}

static int eng_fill(cl_batch *b, const wl_txn *t, uint32_t from, uint32_t to)
{
    int rc = 0;

    cl_batch_clear(b);
    for (uint32_t i = from; i < to && rc == 0; i++) {
        const wl_op *op = &t->ops[i];
        rc = op->del ? cl_batch_delete(b, op->key, op->klen)
                     : cl_batch_put(b, op->key, op->klen, op->val, op->vlen);
    }
    return rc;
}

/* Commit t with a batch of this call's own (concurrent callers). */
static int eng_commit_own(eng *e, const wl_txn *t, uint64_t *lsn)
{
    cl_batch *b;
    int rc;

    if ((rc = cl_batch_new(&b)) != 0)
        return rc;
    if ((rc = eng_fill(b, t, 0, t->nops)) == 0)
        rc = cl_commit(e->db, b, lsn);
    cl_batch_free(b);
    return rc;
}

/* broken-follower: commit (buffered, sync off), then the faulty group
 * commit described at the top. */
static int eng_apply_follower(eng *e, const wl_txn *t, uint64_t *lsn)
{
    int rc = eng_commit_own(e, t, lsn);

    if (rc != 0)
        return rc;
    pthread_mutex_lock(&e->mu);
    if (e->syncing) {
        /* the bug: that sync began before this commit was written */
        pthread_mutex_unlock(&e->mu);
        return 0;
    }
    e->syncing = 1;
    pthread_mutex_unlock(&e->mu);
    rc = cl_sync(e->db);
    pthread_mutex_lock(&e->mu);
    e->syncing = 0;
    pthread_mutex_unlock(&e->mu);
    return rc;
}

static int eng_apply_broken(eng *e, const wl_txn *t, uint64_t *lsn)
{
    int rc;

    switch (e->broken) {
    case 1: /* broken-ack: commit the previous one, acknowledge this one */
        if (e->has_pending && (rc = cl_commit(e->db, e->pending, lsn)) != 0)
            return rc;
        if (!e->has_pending)
            *lsn = 0;
        e->has_pending = 1;
        return eng_fill(e->pending, t, 0, t->nops);
    case 2: /* broken-half */
        if (t->nops > 1) {
            if ((rc = eng_fill(e->b, t, 0, t->nops / 2)) != 0 ||
                (rc = cl_commit(e->db, e->b, lsn)) != 0)
                return rc;
            if ((rc = eng_fill(e->b, t, t->nops / 2, t->nops)) != 0)
                return rc;
            return cl_commit(e->db, e->b, lsn);
        }
        break;
    case 3: /* broken-lose */
        if (t->index % 5 == 4) {
            *lsn = 0;
            return 0;
        }
        break;
    }
    if ((rc = eng_fill(e->b, t, 0, t->nops)) != 0)
        return rc;
    return cl_commit(e->db, e->b, lsn);
}

static int eng_apply(void *h, const wl_txn *t, uint64_t *lsn)
{
    eng *e = h;
    int rc;

    if (e->broken == 0)
        return eng_commit_own(e, t, lsn);
    if (e->broken == 4)
        return eng_apply_follower(e, t, lsn);
    pthread_mutex_lock(&e->mu);
    rc = eng_apply_broken(e, t, lsn);
    pthread_mutex_unlock(&e->mu);
    return rc;
}

static uint64_t eng_durable(void *h)
{
    return cl_durable_lsn(((eng *)h)->db);
}

static int eng_checkpoint(void *h)
{
    return cl_checkpoint(((eng *)h)->db);
}

static int eng_collect(void *ctx, const void *k, size_t klen, const void *v,
                       size_t vlen)
{
    return oracle_map_put(ctx, k, klen, v, vlen) != 0;
}

static int eng_read_all(void *h, oracle_map *out)
{
    return cl_scan(((eng *)h)->db, NULL, 0, NULL, 0, 0, eng_collect, out);
}

static int eng_check(void *h, char *msg, size_t len)
{
    return cl_check(((eng *)h)->db, msg, len);
}

static void eng_recovery(void *h, cl_recovery *rep)
{
    cl_recovery_report(((eng *)h)->db, rep);
}

static int eng_fatal(void *h)
{
    cl_stats st;

    if (cl_stats_get(((eng *)h)->db, &st) != 0)
        return CL_EINVAL;
    return st.readonly ? (st.fatal_error ? st.fatal_error : CL_EREADONLY) : 0;
}

static int eng_close(void *h)
{
    eng *e = h;
    int rc = cl_close(e->db);

    cl_batch_free(e->b);
    cl_batch_free(e->pending);
    pthread_mutex_destroy(&e->mu);
    free(e);
    return rc;
}

static int eng_open_ack(const char *dir, const cl_options *o, void **h)
{
    return eng_open_common(dir, o, h, 1);
}

static int eng_open_half(const char *dir, const cl_options *o, void **h)
{
    return eng_open_common(dir, o, h, 2);
}

static int eng_open_lose(const char *dir, const cl_options *o, void **h)
{
    return eng_open_common(dir, o, h, 3);
}

static int eng_open_follower(const char *dir, const cl_options *o, void **h)
{
    return eng_open_common(dir, o, h, 4);
}

#define ENG_TARGET(nm, about_text, openfn)                                     \
    {                                                                          \
        nm, about_text, openfn, eng_apply, eng_durable, eng_checkpoint,        \
            eng_read_all, eng_check, eng_recovery, eng_fatal, eng_close        \
    }

static const target_ops eng_targets[] = {
    ENG_TARGET("engine", "the crashlab engine (default)", eng_open),
    ENG_TARGET("broken-ack",
               "test target: acknowledges before it commits (durability)",
               eng_open_ack),
    ENG_TARGET("broken-half",
               "test target: commits a transaction in two halves (atomicity)",
               eng_open_half),
    ENG_TARGET("broken-lose",
               "test target: drops every fifth transaction (prefix)",
               eng_open_lose),
    ENG_TARGET("broken-follower",
               "test target: acknowledges a concurrent committer on a sync "
               "begun before its commit (durability, concurrent writers only)",
               eng_open_follower),
};

const target_ops *target_find(const char *name)
{
    for (size_t i = 0; i < sizeof(eng_targets) / sizeof(eng_targets[0]); i++)
        if (strcmp(eng_targets[i].name, name) == 0)
            return &eng_targets[i];
    return NULL;
}
