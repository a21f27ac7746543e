/*
 * bench_leveldb.c - kvbench adapter for LevelDB (its C API).
 *
 * Settings: LevelDB's defaults (4 MiB write buffer, Snappy compression,
 * 4 KiB blocks, no paranoid checks) except: an LRU block cache of
 * --cache-bytes; WriteOptions.sync = true (durable: the log is fdatasynced
 * before the write returns; concurrent writers are grouped by LevelDB) or
 * false; for the recovery scenario a 1 GiB write buffer, so nothing is
 * flushed to tables and the whole load stays in the log.
 */
#include <leveldb/c.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

typedef struct bld_db {
    leveldb_t *db;
    leveldb_options_t *opt;
    leveldb_cache_t *cache;
    leveldb_writeoptions_t *wopt;
    leveldb_readoptions_t *ropt;
} bld_db;

typedef struct bld_thread {
    bld_db *d;
    leveldb_writebatch_t *b;
} bld_thread;

static int bld_fail(const char *what, char *err)
{
    bench_err("leveldb: %s: %s", what, err ? err : "?");
    leveldb_free(err);
    return -1;
}

static int bld_close(void *db)
{
    bld_db *d = db;

    if (d->db != NULL)
        leveldb_close(d->db);
    if (d->opt != NULL)
        leveldb_options_destroy(d->opt);
    if (d->cache != NULL)
        leveldb_cache_destroy(d->cache);
    if (d->wopt != NULL)
        leveldb_writeoptions_destroy(d->wopt);
    if (d->ropt != NULL)
        leveldb_readoptions_destroy(d->ropt);
    free(d);
    return 0;
}

static int bld_open(const char *dir, const bench_cfg *cfg, void **db)
{
    bld_db *d = calloc(1, sizeof(*d));
    char *err = NULL;

    if (d == NULL)
        return bench_err("out of memory");
    d->opt = leveldb_options_create();
    d->cache = leveldb_cache_create_lru(cfg->cache_bytes);
    d->wopt = leveldb_writeoptions_create();
    d->ropt = leveldb_readoptions_create();
    leveldb_options_set_create_if_missing(d->opt, 1);
    leveldb_options_set_cache(d->opt, d->cache);
    if (cfg->bulk)
        leveldb_options_set_write_buffer_size(d->opt, (size_t)1 << 30);
    leveldb_writeoptions_set_sync(d->wopt, cfg->sync ? 1 : 0);
    d->db = leveldb_open(d->opt, dir, &err);
    if (err != NULL) {
        d->db = NULL;
        bld_close(d);
        return bld_fail("open", err);
    }
    *db = d;
    return 0;
}

static int bld_thread_open(void *db, void **th)
{
    bld_thread *t = calloc(1, sizeof(*t));

    if (t == NULL)
        return bench_err("out of memory");
    t->d = db;
    t->b = leveldb_writebatch_create();
    *th = t;
    return 0;
}

static void bld_thread_close(void *db, void *th)
{
    bld_thread *t = th;

    (void)db;
    leveldb_writebatch_destroy(t->b);
    free(t);
}

static int bld_put(void *th, const void *k, size_t klen, const void *v,
                   size_t vlen)
{
    bld_thread *t = th;
    char *err = NULL;

    leveldb_put(t->d->db, t->d->wopt, k, klen, v, vlen, &err);
    return err ? bld_fail("put", err) : 0;
}

static int bld_write_batch(void *th, const bench_kv *kv, size_t n)
{
    bld_thread *t = th;
    char *err = NULL;

    leveldb_writebatch_clear(t->b);
    for (size_t i = 0; i < n; i++)
        leveldb_writebatch_put(t->b, kv[i].k, kv[i].klen, kv[i].v, kv[i].vlen);
    leveldb_write(t->d->db, t->d->wopt, t->b, &err);
    return err ? bld_fail("write", err) : 0;
}

static int bld_get(void *th, const void *k, size_t klen, void *buf, size_t cap,
                   size_t *vlen)
{
    bld_thread *t = th;
    char *err = NULL, *v;
    size_t n = 0;

    v = leveldb_get(t->d->db, t->d->ropt, k, klen, &n, &err);
    if (err != NULL)
        return bld_fail("get", err);
    if (v == NULL)
        return 1;
    memcpy(buf, v, n < cap ? n : cap);
    *vlen = n;
    leveldb_free(v);
    return 0;
}

static int bld_scan(void *th, bench_scan_fn fn, void *ctx)
{
    bld_thread *t = th;
    leveldb_iterator_t *it = leveldb_create_iterator(t->d->db, t->d->ropt);
    char *err = NULL;

    for (leveldb_iter_seek_to_first(it); leveldb_iter_valid(it);
         leveldb_iter_next(it)) {
        size_t kl, vl;
        const char *k = leveldb_iter_key(it, &kl);
        const char *v = leveldb_iter_value(it, &vl);
        if (fn(ctx, k, kl, v, vl) != 0)
            break;
    }
    leveldb_iter_get_error(it, &err);
    leveldb_iter_destroy(it);
    return err ? bld_fail("scan", err) : 0;
}

const bench_engine bench_leveldb = {
    "leveldb",
    "defaults (4 MiB write buffer, Snappy) + LRU block cache = cache; "
    "sync=true (durable) / false; 1 GiB write buffer for recovery",
    bld_open,
    bld_close,
    bld_thread_open,
    bld_thread_close,
    bld_put,
    bld_write_batch,
    bld_get,
    bld_scan,
};
