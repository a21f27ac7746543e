/*
 * bench_rocksdb.c - kvbench adapter for RocksDB (its C API).
 *
 * Settings: RocksDB's defaults (64 MiB write buffer, Snappy compression,
 * block-based tables with 4 KiB blocks, WAL on, use_fsync off so the WAL
 * is fdatasynced) except: an LRU block cache of --cache-bytes;
 * WriteOptions.sync = true (durable; concurrent writers are grouped by
 * RocksDB) or false; for the recovery scenario a 1 GiB write buffer, so
 * nothing is flushed to tables and the whole load stays in the WAL.
 */
#include <rocksdb/c.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

typedef struct brk_db {
    rocksdb_t *db;
    rocksdb_options_t *opt;
    rocksdb_cache_t *cache;
    rocksdb_block_based_table_options_t *bbto;
    rocksdb_writeoptions_t *wopt;
    rocksdb_readoptions_t *ropt;
} brk_db;

typedef struct brk_thread {
    brk_db *d;
    rocksdb_writebatch_t *b;
} brk_thread;

static int brk_fail(const char *what, char *err)
{
    bench_err("rocksdb: %s: %s", what, err ? err : "?");
    rocksdb_free(err);
    return -1;
}

static int brk_close(void *db)
{
    brk_db *d = db;

    if (d->db != NULL)
        rocksdb_close(d->db);
    if (d->opt != NULL)
        rocksdb_options_destroy(d->opt);
    if (d->bbto != NULL)
        rocksdb_block_based_options_destroy(d->bbto);
    if (d->cache != NULL)
        rocksdb_cache_destroy(d->cache);
    if (d->wopt != NULL)
        rocksdb_writeoptions_destroy(d->wopt);
    if (d->ropt != NULL)
        rocksdb_readoptions_destroy(d->ropt);
    free(d);
    return 0;
}

static int brk_open(const char *dir, const bench_cfg *cfg, void **db)
{
    brk_db *d = calloc(1, sizeof(*d));
    char *err = NULL;

    if (d == NULL)
        return bench_err("out of memory");
    d->opt = rocksdb_options_create();
    d->cache = rocksdb_cache_create_lru(cfg->cache_bytes);
    d->wopt = rocksdb_writeoptions_create();
    d->ropt = rocksdb_readoptions_create();
    rocksdb_options_set_create_if_missing(d->opt, 1);
    d->bbto = rocksdb_block_based_options_create();
    rocksdb_block_based_options_set_block_cache(d->bbto, d->cache);
    rocksdb_options_set_block_based_table_factory(d->opt, d->bbto);
    if (cfg->bulk)
        rocksdb_options_set_write_buffer_size(d->opt, (size_t)1 << 30);
    rocksdb_writeoptions_set_sync(d->wopt, cfg->sync ? 1 : 0);
    d->db = rocksdb_open(d->opt, dir, &err);
    if (err != NULL) {
        d->db = NULL;
        brk_close(d);
        return brk_fail("open", err);
    }
    *db = d;
    return 0;
}

static int brk_thread_open(void *db, void **th)
{
    brk_thread *t = calloc(1, sizeof(*t));

    if (t == NULL)
        return bench_err("out of memory");
    t->d = db;
    t->b = rocksdb_writebatch_create();
    *th = t;
    return 0;
}

static void brk_thread_close(void *db, void *th)
{
    brk_thread *t = th;

    (void)db;
    rocksdb_writebatch_destroy(t->b);
    free(t);
}

static int brk_put(void *th, const void *k, size_t klen, const void *v,
                   size_t vlen)
{
    brk_thread *t = th;
    char *err = NULL;

    rocksdb_put(t->d->db, t->d->wopt, k, klen, v, vlen, &err);
    return err ? brk_fail("put", err) : 0;
}

static int brk_write_batch(void *th, const bench_kv *kv, size_t n)
{
    brk_thread *t = th;
    char *err = NULL;

    rocksdb_writebatch_clear(t->b);
    for (size_t i = 0; i < n; i++)
        rocksdb_writebatch_put(t->b, kv[i].k, kv[i].klen, kv[i].v, kv[i].vlen);
    rocksdb_write(t->d->db, t->d->wopt, t->b, &err);
    return err ? brk_fail("write", err) : 0;
}

static int brk_get(void *th, const void *k, size_t klen, void *buf, size_t cap,
                   size_t *vlen)
{
    brk_thread *t = th;
    char *err = NULL, *v;
    size_t n = 0;

    v = rocksdb_get(t->d->db, t->d->ropt, k, klen, &n, &err);
    if (err != NULL)
        return brk_fail("get", err);
    if (v == NULL)
        return 1;
    memcpy(buf, v, n < cap ? n : cap);
    *vlen = n;
    rocksdb_free(v);
    return 0;
}

static int brk_scan(void *th, bench_scan_fn fn, void *ctx)
{
    brk_thread *t = th;
    rocksdb_iterator_t *it = rocksdb_create_iterator(t->d->db, t->d->ropt);
    char *err = NULL;

    for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it);
         rocksdb_iter_next(it)) {
        size_t kl, vl;
        const char *k = rocksdb_iter_key(it, &kl);
        const char *v = rocksdb_iter_value(it, &vl);
        if (fn(ctx, k, kl, v, vl) != 0)
            break;
    }
    rocksdb_iter_get_error(it, &err);
    rocksdb_iter_destroy(it);
    return err ? brk_fail("scan", err) : 0;
}

const bench_engine bench_rocksdb = {
    "rocksdb",
    "defaults (64 MiB write buffer, Snappy) + LRU block cache = cache; "
    "sync=true (durable) / false; 1 GiB write buffer for recovery",
    brk_open,
    brk_close,
    brk_thread_open,
    brk_thread_close,
    brk_put,
    brk_write_batch,
    brk_get,
    brk_scan,
};
