/*
 * target_engine.c - the crashlab engine as a harness target, and broken
 * variants of it that the harness's own tests use to show that every kind
 * of violation, and every rule of the oracle, is caught:
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
 *                committers (trial_mt.c) can catch it;
 *   broken-nosync acknowledges commits without any fsync (it runs the
 *                engine in sync off whatever the configuration says),
 *                while reporting its durable LSN honestly and promising
 *                what the configured mode promises;
 *   broken-sync  runs the engine in sync off and promises what sync off
 *                promises, but its sync call returns 0 without syncing;
 *   broken-claim runs the engine in sync off and promises what sync off
 *                promises, but reports every commit durable as soon as
 *                it returns (its durable LSN is a false claim);
 *   broken-rckpt after an open that replayed the log, checkpoints before
 *                its first commit with every sync of that checkpoint
 *                skipped, as if the replayed state were durable already:
 *                the new commits then build on pages, a superblock and a
 *                log segment that a power cut can still take away.  Only
 *                a crash after the recovery, with commits after it (a
 *                crash chain), can see it;
 *   broken-abort a recovery that crashes its process (abort) when it
 *                replayed an odd number of log records: a verifier's
 *                death must be reported, and the next trials verified.
 *   broken-hang  a recovery that never returns when it replayed an odd
 *                number of log records: a verifier that hangs must be
 *                killed after --timeout and reported, and the next trials
 *                verified.
 * The engine's promise (crashlab.h): commit and group make every commit
 * that returned 0 durable; periodic and off only what a cl_sync (or a
 * checkpoint, or close) that returned 0 came after.
 * The engine target is safe for concurrent commits (each takes a batch of
 * its own); the other broken targets but -follower serialize theirs.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iowrap.h"
#include "rng.h"
#include "target.h"

typedef struct eng {
    cl_db *db;
    cl_batch *b;
    cl_batch *pending; /* broken-ack: the transaction not yet committed */
    int has_pending;
    int broken;         /* ENG_* */
    pthread_mutex_t mu; /* serializes the broken ones but follower; guards
                           syncing */
    int syncing;        /* broken-follower: a sync is in progress */
    iowrap wio;         /* broken-rckpt, broken-close: the table the
                           engine uses */
    int ckpt_pending;   /* broken-rckpt: checkpoint before the next commit */
} eng;

enum {
    ENG_OK = 0,
    ENG_BROKEN_ACK,
    ENG_BROKEN_HALF,
    ENG_BROKEN_LOSE,
    ENG_BROKEN_FOLLOWER,
    ENG_BROKEN_NOSYNC,
    ENG_BROKEN_SYNC,
    ENG_BROKEN_CLAIM,
    ENG_BROKEN_RCKPT,
    ENG_BROKEN_ABORT,
    ENG_BROKEN_HANG,
    ENG_BROKEN_CLOSE,
    ENG_BROKEN_LOOKUP,
};

static int eng_open_common(const char *dir, const cl_options *o, void **h,
                           int broken)
{
    eng *e = calloc(1, sizeof(*e));
    cl_options oo;
    int rc;

    if (e == NULL)
        return CL_ENOMEM;
    e->broken = broken;
    oo = *o;
    if (broken == ENG_BROKEN_FOLLOWER || broken == ENG_BROKEN_NOSYNC ||
        broken == ENG_BROKEN_SYNC || broken == ENG_BROKEN_CLAIM ||
        broken == ENG_BROKEN_CLOSE)
        oo.sync = CL_SYNC_OFF; /* the handle never syncs by itself */
    if (broken == ENG_BROKEN_RCKPT || broken == ENG_BROKEN_CLOSE) {
        iowrap_init(&e->wio, o->io);
        oo.io = &e->wio.io;
    }
    o = &oo;
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
    if (broken == ENG_BROKEN_RCKPT || broken == ENG_BROKEN_ABORT ||
        broken == ENG_BROKEN_HANG) {
        cl_recovery rep;
        cl_recovery_report(e->db, &rep);
        e->ckpt_pending = rep.records > 0;
        if (broken == ENG_BROKEN_ABORT && rep.records % 2 == 1)
            abort();
        while (broken == ENG_BROKEN_HANG && rep.records % 2 == 1)
            pause();
    }
    *h = e;
    return 0;
}

static int eng_open(const char *dir, const cl_options *o, void **h)
{
    return eng_open_common(dir, o, h, ENG_OK);
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

    if (e->ckpt_pending) {
        /* the bug: the replayed state is taken as durable already */
        e->ckpt_pending = 0;
        e->wio.nosync = 1;
        rc = cl_checkpoint(e->db);
        e->wio.nosync = 0;
        if (rc != 0)
            return rc;
    }
    switch (e->broken) {
    case ENG_BROKEN_ACK: /* commit the previous one, acknowledge this one */
        if (e->has_pending && (rc = cl_commit(e->db, e->pending, lsn)) != 0)
            return rc;
        if (!e->has_pending)
            *lsn = 0;
        e->has_pending = 1;
        return eng_fill(e->pending, t, 0, t->nops);
    case ENG_BROKEN_HALF:
        if (t->nops > 1) {
            if ((rc = eng_fill(e->b, t, 0, t->nops / 2)) != 0 ||
                (rc = cl_commit(e->db, e->b, lsn)) != 0)
                return rc;
            if ((rc = eng_fill(e->b, t, t->nops / 2, t->nops)) != 0)
                return rc;
            return cl_commit(e->db, e->b, lsn);
        }
        break;
    case ENG_BROKEN_LOSE:
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

    if (e->broken == ENG_OK)
        return eng_commit_own(e, t, lsn);
    if (e->broken == ENG_BROKEN_FOLLOWER)
        return eng_apply_follower(e, t, lsn);
    pthread_mutex_lock(&e->mu);
    rc = eng_apply_broken(e, t, lsn);
    pthread_mutex_unlock(&e->mu);
    return rc;
}

static uint64_t eng_durable(void *h)
{
    eng *e = h;

    if (e->broken == ENG_BROKEN_CLAIM)
        return UINT64_MAX; /* the bug: everything claimed durable */
    return cl_durable_lsn(e->db);
}

static int eng_checkpoint(void *h)
{
    return cl_checkpoint(((eng *)h)->db);
}

static int eng_sync(void *h)
{
    eng *e = h;

    if (e->broken == ENG_BROKEN_SYNC)
        return 0; /* the bug: nothing is written or synced */
    return cl_sync(e->db);
}

static oracle_promise eng_promise_of(cl_sync_mode m)
{
    return m == CL_SYNC_OFF || m == CL_SYNC_PERIODIC ? ORACLE_PROMISE_SYNC
                                                     : ORACLE_PROMISE_ACK;
}

static oracle_promise eng_promise(const cl_options *o)
{
    return eng_promise_of(o->sync);
}

static oracle_promise eng_promise_off(const cl_options *o)
{
    (void)o;
    return eng_promise_of(CL_SYNC_OFF);
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

static int eng_get(void *h, const void *key, size_t klen, void **val,
                   size_t *vlen)
{
    eng *e = h;

    /* the bug: a point read misses one key in four */
    if (e->broken == ENG_BROKEN_LOOKUP && rng_hash(key, klen, 0) % 4 == 0)
        return CL_ENOTFOUND;
    return cl_get_alloc(e->db, key, klen, val, vlen);
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
    int rc;

    if (e->broken == ENG_BROKEN_CLOSE)
        e->wio.nosync = 1; /* the bug: the close syncs nothing */
    rc = cl_close(e->db);

    cl_batch_free(e->b);
    cl_batch_free(e->pending);
    pthread_mutex_destroy(&e->mu);
    free(e);
    return rc;
}

static int eng_open_ack(const char *dir, const cl_options *o, void **h)
{
    return eng_open_common(dir, o, h, ENG_BROKEN_ACK);
}

static int eng_open_half(const char *dir, const cl_options *o, void **h)
{
    return eng_open_common(dir, o, h, ENG_BROKEN_HALF);
}

static int eng_open_lose(const char *dir, const cl_options *o, void **h)
{
    return eng_open_common(dir, o, h, ENG_BROKEN_LOSE);
}

static int eng_open_follower(const char *dir, const cl_options *o, void **h)
{
    return eng_open_common(dir, o, h, ENG_BROKEN_FOLLOWER);
}

static int eng_open_nosync(const char *dir, const cl_options *o, void **h)
{
    return eng_open_common(dir, o, h, ENG_BROKEN_NOSYNC);
}

static int eng_open_sync(const char *dir, const cl_options *o, void **h)
{
    return eng_open_common(dir, o, h, ENG_BROKEN_SYNC);
}

static int eng_open_claim(const char *dir, const cl_options *o, void **h)
{
    return eng_open_common(dir, o, h, ENG_BROKEN_CLAIM);
}

static int eng_open_rckpt(const char *dir, const cl_options *o, void **h)
{
    return eng_open_common(dir, o, h, ENG_BROKEN_RCKPT);
}

static int eng_open_lookup(const char *dir, const cl_options *o, void **h)
{
    return eng_open_common(dir, o, h, ENG_BROKEN_LOOKUP);
}

static int eng_open_close(const char *dir, const cl_options *o, void **h)
{
    return eng_open_common(dir, o, h, ENG_BROKEN_CLOSE);
}

static int eng_open_abort(const char *dir, const cl_options *o, void **h)
{
    return eng_open_common(dir, o, h, ENG_BROKEN_ABORT);
}

static int eng_open_hang(const char *dir, const cl_options *o, void **h)
{
    return eng_open_common(dir, o, h, ENG_BROKEN_HANG);
}

#define ENG_TARGET(nm, about_text, openfn, promisefn)                          \
    {                                                                          \
        nm, about_text, openfn, eng_apply, eng_durable, eng_checkpoint,        \
            eng_sync, promisefn, eng_read_all, eng_check, eng_recovery,        \
            eng_fatal, eng_close, 1, .get = eng_get                            \
    }

static const target_ops eng_targets[] = {
    ENG_TARGET("engine", "the crashlab engine (default)", eng_open,
               eng_promise),
    ENG_TARGET("broken-ack",
               "test target: acknowledges before it commits (durability)",
               eng_open_ack, eng_promise),
    ENG_TARGET("broken-half",
               "test target: commits a transaction in two halves (atomicity)",
               eng_open_half, eng_promise),
    ENG_TARGET("broken-lose",
               "test target: drops every fifth transaction (prefix)",
               eng_open_lose, eng_promise),
    ENG_TARGET("broken-follower",
               "test target: acknowledges a concurrent committer on a sync "
               "begun before its commit (durability, concurrent writers only)",
               eng_open_follower, eng_promise),
    ENG_TARGET("broken-nosync",
               "test target: acknowledges commits without syncing, durable "
               "LSN honest (durability)",
               eng_open_nosync, eng_promise),
    ENG_TARGET("broken-sync",
               "test target: sync off whose sync call syncs nothing "
               "(durability)",
               eng_open_sync, eng_promise_off),
    ENG_TARGET("broken-claim",
               "test target: sync off reporting every commit durable "
               "(claimed)",
               eng_open_claim, eng_promise_off),
    ENG_TARGET("broken-rckpt",
               "test target: after recovery, checkpoints without syncing "
               "(caught by crash chains)",
               eng_open_rckpt, eng_promise),
    ENG_TARGET("broken-abort",
               "test target: a recovery that replayed an odd number of "
               "records aborts its process (recovery)",
               eng_open_abort, eng_promise),
    ENG_TARGET("broken-hang",
               "test target: a recovery that replayed an odd number of "
               "records never returns (recovery, after --timeout)",
               eng_open_hang, eng_promise),
    ENG_TARGET("broken-close",
               "test target: sync off whose close syncs nothing (durability, "
               "right after the writer's close)",
               eng_open_close, eng_promise_off),
    ENG_TARGET("broken-lookup",
               "test target: a point read misses one key in four, which a "
               "scan finds (structure)",
               eng_open_lookup, eng_promise),
};

#define ENG_NTARGETS (sizeof(eng_targets) / sizeof(eng_targets[0]))

int target_value_copy(const void *v, size_t vl, void **val, size_t *vlen)
{
    if ((*val = malloc(vl > 0 ? vl : 1)) == NULL)
        return CL_ENOMEM;
    if (vl > 0)
        memcpy(*val, v, vl);
    *vlen = vl;
    return 0;
}

uint64_t target_no_durable(void *h)
{
    (void)h;
    return 0;
}

int target_reports_durable(const target_ops *t)
{
    return t->durable != target_no_durable;
}

int target_can_branch(const target_ops *t)
{
    return !t->interposed || (t->forkable != NULL && t->forkable());
}

int target_is_background(const target_ops *t)
{
    return t != NULL && t->background != NULL && t->background();
}

void target_no_recovery(void *h, cl_recovery *rep)
{
    (void)h;
    memset(rep, 0, sizeof(*rep));
}

int target_never_fatal(void *h)
{
    (void)h;
    return 0;
}

/* A target of another engine's last error detail in this thread, once it
 * has set one. */
static __thread char target_detail[512];
static __thread int target_detail_given;

void target_detail_set(const char *msg)
{
    snprintf(target_detail, sizeof(target_detail), "%s",
             msg != NULL ? msg : "");
    target_detail_given = 1;
}

const char *target_errdetail(void)
{
    return target_detail_given ? target_detail : cl_errdetail();
}

/* The targets of other engines, each in a file of its own. */
static const target_ops *const eng_foreign[] = {
    &target_sqlite, &target_lmdb, &target_leveldb, &target_rocksdb};

const target_ops *target_find(const char *name)
{
    for (size_t i = 0; i < ENG_NTARGETS; i++)
        if (strcmp(eng_targets[i].name, name) == 0)
            return &eng_targets[i];
    for (size_t i = 0; i < sizeof(eng_foreign) / sizeof(eng_foreign[0]); i++)
        if (strcmp(eng_foreign[i]->name, name) == 0)
            return eng_foreign[i];
    return NULL;
}
