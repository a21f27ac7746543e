/*
 * bench_lmdb.c - kvbench adapter for LMDB.
 *
 * Settings: default flags (each write transaction is durable: data pages
 * fdatasynced, then the meta page written through an O_DSYNC descriptor)
 * or MDB_NOSYNC; MDB_NOTLS (read transactions belong to our per-thread
 * handles); map size 16 GiB.  A get renews one read-only transaction per
 * thread (mdb_txn_renew / mdb_txn_reset, the fast idiom).  LMDB has no
 * cache size (the OS page cache holds the map) and no log: its
 * "recovery" is an open.
 */
#include <errno.h>
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench.h"

typedef struct blm_db {
    MDB_env *env;
    MDB_dbi dbi;
} blm_db;

typedef struct blm_thread {
    blm_db *d;
    MDB_txn *rtxn; /* reset between gets */
} blm_thread;

static int blm_fail(const char *what, int rc)
{
    return bench_err("lmdb: %s: %s", what, mdb_strerror(rc));
}

static int blm_open(const char *dir, const bench_cfg *cfg, void **db)
{
    blm_db *d = calloc(1, sizeof(*d));
    MDB_txn *t = NULL;
    int rc;

    if (d == NULL)
        return bench_err("out of memory");
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        free(d);
        return bench_err("lmdb: mkdir %s: %s", dir, strerror(errno));
    }
    if ((rc = mdb_env_create(&d->env)) != 0)
        goto fail;
    if ((rc = mdb_env_set_mapsize(d->env, (size_t)16 << 30)) != 0 ||
        (rc = mdb_env_open(
             d->env, dir, MDB_NOTLS | (cfg->sync ? 0 : MDB_NOSYNC), 0644)) != 0)
        goto fail;
    if ((rc = mdb_txn_begin(d->env, NULL, 0, &t)) != 0 ||
        (rc = mdb_dbi_open(t, NULL, 0, &d->dbi)) != 0)
        goto fail;
    rc = mdb_txn_commit(t); /* frees t, even when it fails */
    t = NULL;
    if (rc != 0)
        goto fail;
    *db = d;
    return 0;
fail:
    if (t != NULL)
        mdb_txn_abort(t);
    if (d->env != NULL)
        mdb_env_close(d->env);
    free(d);
    return blm_fail("open", rc);
}

static int blm_close(void *db)
{
    blm_db *d = db;

    mdb_env_close(d->env);
    free(d);
    return 0;
}

static int blm_thread_open(void *db, void **th)
{
    blm_thread *t = calloc(1, sizeof(*t));
    int rc;

    if (t == NULL)
        return bench_err("out of memory");
    t->d = db;
    if ((rc = mdb_txn_begin(t->d->env, NULL, MDB_RDONLY, &t->rtxn)) != 0) {
        free(t);
        return blm_fail("read transaction", rc);
    }
    mdb_txn_reset(t->rtxn);
    *th = t;
    return 0;
}

static void blm_thread_close(void *db, void *th)
{
    blm_thread *t = th;

    (void)db;
    mdb_txn_abort(t->rtxn);
    free(t);
}

static int blm_write_batch(void *th, const bench_kv *kv, size_t n)
{
    blm_thread *t = th;
    MDB_txn *w;
    int rc;

    if ((rc = mdb_txn_begin(t->d->env, NULL, 0, &w)) != 0)
        return blm_fail("begin", rc);
    for (size_t i = 0; i < n; i++) {
        MDB_val k = {kv[i].klen, (void *)kv[i].k};
        MDB_val v = {kv[i].vlen, (void *)kv[i].v};
        if ((rc = mdb_put(w, t->d->dbi, &k, &v, 0)) != 0) {
            mdb_txn_abort(w);
            return blm_fail("put", rc);
        }
    }
    if ((rc = mdb_txn_commit(w)) != 0)
        return blm_fail("commit", rc);
    return 0;
}

static int blm_put(void *th, const void *k, size_t klen, const void *v,
                   size_t vlen)
{
    bench_kv kv = {k, klen, v, vlen};

    return blm_write_batch(th, &kv, 1);
}

static int blm_get(void *th, const void *k, size_t klen, void *buf, size_t cap,
                   size_t *vlen)
{
    blm_thread *t = th;
    MDB_val key = {klen, (void *)k}, val;
    int rc;

    if ((rc = mdb_txn_renew(t->rtxn)) != 0)
        return blm_fail("renew", rc);
    rc = mdb_get(t->rtxn, t->d->dbi, &key, &val);
    if (rc == 0) {
        memcpy(buf, val.mv_data, val.mv_size < cap ? val.mv_size : cap);
        *vlen = val.mv_size;
    }
    mdb_txn_reset(t->rtxn);
    if (rc == MDB_NOTFOUND)
        return 1;
    return rc ? blm_fail("get", rc) : 0;
}

static int blm_scan(void *th, bench_scan_fn fn, void *ctx)
{
    blm_thread *t = th;
    MDB_cursor *cur;
    MDB_val k, v;
    int rc;

    if ((rc = mdb_txn_renew(t->rtxn)) != 0)
        return blm_fail("renew", rc);
    if ((rc = mdb_cursor_open(t->rtxn, t->d->dbi, &cur)) != 0) {
        mdb_txn_reset(t->rtxn);
        return blm_fail("cursor", rc);
    }
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
        if (fn(ctx, k.mv_data, k.mv_size, v.mv_data, v.mv_size) != 0)
            break;
    mdb_cursor_close(cur);
    mdb_txn_reset(t->rtxn);
    return rc == 0 || rc == MDB_NOTFOUND ? 0 : blm_fail("scan", rc);
}

const bench_engine bench_lmdb = {
    "lmdb",
    "default flags (durable) / MDB_NOSYNC; MDB_NOTLS; map 16 GiB; one "
    "renewed read transaction per get; no cache knob (the OS page cache)",
    blm_open,
    blm_close,
    blm_thread_open,
    blm_thread_close,
    blm_put,
    blm_write_batch,
    blm_get,
    blm_scan,
};
