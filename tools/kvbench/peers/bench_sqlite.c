/*
 * bench_sqlite.c - kvbench adapter for SQLite.
 *
 * Settings: one file <dir>/kv.sqlite, table kv(k BLOB PRIMARY KEY, v BLOB)
 * WITHOUT ROWID (a B-tree keyed by k, as ours); journal_mode=WAL;
 * synchronous=FULL (durable: the WAL is fsynced at every commit) or OFF;
 * cache_size = --cache-bytes; prepared statements, INSERT OR REPLACE;
 * a batch is BEGIN .. COMMIT.  Each thread has its own connection; writes
 * are serialized by a mutex in the adapter (SQLite allows one writer at a
 * time, and its busy handler would sleep instead).  Recovery scenario:
 * wal_autocheckpoint=0, so the whole load stays in the WAL.
 */
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench.h"

typedef struct bsq_db {
    char path[4096];
    bench_cfg cfg;
    pthread_mutex_t wmu; /* one writer at a time */
    struct bsq_conn *main;
} bsq_db;

typedef struct bsq_conn {
    bsq_db *d;
    sqlite3 *h;
    sqlite3_stmt *put, *get, *scan, *begin, *commit;
} bsq_conn;

static int bsq_fail(sqlite3 *h, const char *what)
{
    return bench_err("sqlite: %s: %s", what,
                     h ? sqlite3_errmsg(h) : "cannot allocate");
}

static int bsq_exec(sqlite3 *h, const char *sql)
{
    char *msg = NULL;

    if (sqlite3_exec(h, sql, NULL, NULL, &msg) != SQLITE_OK) {
        bench_err("sqlite: %s: %s", sql, msg ? msg : "?");
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static void bsq_conn_close(bsq_conn *c)
{
    if (c == NULL)
        return;
    sqlite3_finalize(c->put);
    sqlite3_finalize(c->get);
    sqlite3_finalize(c->scan);
    sqlite3_finalize(c->begin);
    sqlite3_finalize(c->commit);
    sqlite3_close(c->h);
    free(c);
}

static int bsq_conn_open(bsq_db *d, int create, bsq_conn **out)
{
    bsq_conn *c = calloc(1, sizeof(*c));
    char sql[256];

    if (c == NULL)
        return bench_err("out of memory");
    c->d = d;
    if (sqlite3_open_v2(d->path, &c->h,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                            SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        bsq_fail(c->h, "open");
        goto fail;
    }
    snprintf(sql, sizeof(sql),
             "PRAGMA synchronous=%s; PRAGMA cache_size=-%llu; "
             "PRAGMA busy_timeout=10000;%s",
             d->cfg.sync ? "FULL" : "OFF",
             (unsigned long long)(d->cfg.cache_bytes / 1024),
             d->cfg.bulk ? " PRAGMA wal_autocheckpoint=0;" : "");
    if (bsq_exec(c->h, "PRAGMA journal_mode=WAL") != 0 ||
        bsq_exec(c->h, sql) != 0)
        goto fail;
    if (create && bsq_exec(c->h, "CREATE TABLE IF NOT EXISTS kv(k BLOB "
                                 "PRIMARY KEY, v BLOB) WITHOUT ROWID") != 0)
        goto fail;
    if (sqlite3_prepare_v2(c->h, "INSERT OR REPLACE INTO kv(k, v) VALUES(?, ?)",
                           -1, &c->put, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(c->h, "SELECT v FROM kv WHERE k = ?", -1, &c->get,
                           NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(c->h, "SELECT k, v FROM kv ORDER BY k", -1, &c->scan,
                           NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(c->h, "BEGIN", -1, &c->begin, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(c->h, "COMMIT", -1, &c->commit, NULL) != SQLITE_OK) {
        bsq_fail(c->h, "prepare");
        goto fail;
    }
    *out = c;
    return 0;
fail:
    bsq_conn_close(c);
    return -1;
}

static int bsq_open(const char *dir, const bench_cfg *cfg, void **db)
{
    bsq_db *d = calloc(1, sizeof(*d));

    if (d == NULL)
        return bench_err("out of memory");
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        free(d);
        return bench_err("sqlite: mkdir %s: %s", dir, strerror(errno));
    }
    snprintf(d->path, sizeof(d->path), "%s/kv.sqlite", dir);
    d->cfg = *cfg;
    pthread_mutex_init(&d->wmu, NULL);
    if (bsq_conn_open(d, 1, &d->main) != 0) {
        pthread_mutex_destroy(&d->wmu);
        free(d);
        return -1;
    }
    *db = d;
    return 0;
}

static int bsq_close(void *db)
{
    bsq_db *d = db;

    bsq_conn_close(d->main);
    pthread_mutex_destroy(&d->wmu);
    free(d);
    return 0;
}

static int bsq_thread_open(void *db, void **th)
{
    return bsq_conn_open(db, 0, (bsq_conn **)th);
}

static void bsq_thread_close(void *db, void *th)
{
    (void)db;
    bsq_conn_close(th);
}

/* Step a write statement to completion.  Caller holds wmu. */
static int bsq_step_done(bsq_conn *c, sqlite3_stmt *s, const char *what)
{
    int rc = sqlite3_step(s);

    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : bsq_fail(c->h, what);
}

static int bsq_insert(bsq_conn *c, const void *k, size_t klen, const void *v,
                      size_t vlen)
{
    sqlite3_bind_blob(c->put, 1, k, (int)klen, SQLITE_STATIC);
    sqlite3_bind_blob(c->put, 2, v, (int)vlen, SQLITE_STATIC);
    return bsq_step_done(c, c->put, "insert");
}

static int bsq_put(void *th, const void *k, size_t klen, const void *v,
                   size_t vlen)
{
    bsq_conn *c = th;
    int rc;

    pthread_mutex_lock(&c->d->wmu);
    rc = bsq_insert(c, k, klen, v, vlen);
    pthread_mutex_unlock(&c->d->wmu);
    return rc;
}

static int bsq_write_batch(void *th, const bench_kv *kv, size_t n)
{
    bsq_conn *c = th;
    int rc;

    pthread_mutex_lock(&c->d->wmu);
    rc = bsq_step_done(c, c->begin, "begin");
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = bsq_insert(c, kv[i].k, kv[i].klen, kv[i].v, kv[i].vlen);
    if (rc == 0)
        rc = bsq_step_done(c, c->commit, "commit");
    else
        sqlite3_exec(c->h, "ROLLBACK", NULL, NULL, NULL);
    pthread_mutex_unlock(&c->d->wmu);
    return rc;
}

static int bsq_get(void *th, const void *k, size_t klen, void *buf, size_t cap,
                   size_t *vlen)
{
    bsq_conn *c = th;
    int rc;

    sqlite3_bind_blob(c->get, 1, k, (int)klen, SQLITE_STATIC);
    rc = sqlite3_step(c->get);
    if (rc == SQLITE_ROW) {
        const void *v = sqlite3_column_blob(c->get, 0);
        size_t n = (size_t)sqlite3_column_bytes(c->get, 0);
        memcpy(buf, v, n < cap ? n : cap);
        *vlen = n;
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = 1;
    } else {
        rc = bsq_fail(c->h, "select");
    }
    sqlite3_reset(c->get);
    return rc;
}

static int bsq_scan(void *th, bench_scan_fn fn, void *ctx)
{
    bsq_conn *c = th;
    int rc;

    while ((rc = sqlite3_step(c->scan)) == SQLITE_ROW) {
        const void *k = sqlite3_column_blob(c->scan, 0);
        size_t kl = (size_t)sqlite3_column_bytes(c->scan, 0);
        const void *v = sqlite3_column_blob(c->scan, 1);
        size_t vl = (size_t)sqlite3_column_bytes(c->scan, 1);
        if (fn(ctx, k, kl, v, vl) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_reset(c->scan);
    return rc == SQLITE_DONE ? 0 : bsq_fail(c->h, "scan");
}

const bench_engine bench_sqlite = {
    "sqlite",
    "WAL; synchronous=FULL (durable) / OFF; WITHOUT ROWID table; cache_size "
    "= cache; writers serialized by a mutex, one connection per thread; "
    "wal_autocheckpoint=0 for recovery",
    bsq_open,
    bsq_close,
    bsq_thread_open,
    bsq_thread_close,
    bsq_put,
    bsq_write_batch,
    bsq_get,
    bsq_scan,
};
