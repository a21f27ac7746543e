/*
 * bench_crashlab.c - kvbench adapter for our engine.
 *
 * Settings: sync group (durable commits share fsyncs) or off; torn-page
 * protection fpw (the default); 4 KiB pages; pool = --cache-bytes; the
 * default checkpoint interval, or checkpoints postponed (CL_CHECKPOINT_NEVER)
 * for the recovery scenario.  Its fsyncs are counted as the peers' are:
 * every fsync and fdatasync call of the process (log, page file,
 * directories).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "crashlab.h"
#include "num.h"

static int bcl_fail(const char *what, int rc)
{
    const char *d = cl_errdetail();

    return bench_err("crashlab: %s: %s%s%s", what, cl_strerror(rc),
                     d[0] ? ": " : "", d);
}

int bench_crashlab_options(const char *s, cl_options *o, char *err,
                           size_t errlen)
{
    char buf[256], *save = NULL;

    if (strlen(s) >= sizeof(buf)) {
        snprintf(err, errlen, "--crashlab-options: too long");
        return -1;
    }
    snprintf(buf, sizeof(buf), "%s", s);
    for (char *t = strtok_r(buf, ",", &save); t != NULL;
         t = strtok_r(NULL, ",", &save)) {
        char *v = strchr(t, '=');
        int bad;
        if (v == NULL) {
            snprintf(err, errlen,
                     "--crashlab-options: '%.60s' is not NAME=VALUE", t);
            return -1;
        }
        *v++ = '\0';
        if (strcmp(t, "checkpoint-mode") == 0)
            bad = cl_ckpt_parse(v, &o->checkpoint_mode) != 0;
        else if (strcmp(t, "torn-protection") == 0)
            bad = cl_torn_parse(v, &o->torn) != 0;
        else if (strcmp(t, "checkpoint-bytes") == 0)
            bad = num_parse_size(v, &o->checkpoint_bytes) != 0 ||
                  o->checkpoint_bytes == 0;
        else {
            snprintf(err, errlen, "--crashlab-options: unknown setting '%.60s'",
                     t);
            return -1;
        }
        if (bad) {
            snprintf(err, errlen, "--crashlab-options: bad %s '%.60s'", t, v);
            return -1;
        }
    }
    return 0;
}

static int bcl_open(const char *dir, const bench_cfg *cfg, void **db)
{
    cl_options o;
    char err[160];
    int rc;

    memset(&o, 0, sizeof(o));
    if (cfg->crashlab_opts != NULL &&
        bench_crashlab_options(cfg->crashlab_opts, &o, err, sizeof(err)) != 0)
        return bench_err("crashlab: %s", err);
    o.sync = cfg->sync ? CL_SYNC_GROUP : CL_SYNC_OFF;
    o.pool_bytes = cfg->cache_bytes;
    if (cfg->bulk)
        o.checkpoint_bytes = CL_CHECKPOINT_NEVER;
    if ((rc = cl_open(dir, &o, (cl_db **)db)) != 0)
        return bcl_fail("open", rc);
    return 0;
}

static int bcl_close(void *db)
{
    int rc = cl_close(db);

    return rc ? bcl_fail("close", rc) : 0;
}

/* A thread's handle: the database and a reusable batch. */
typedef struct bcl_thread {
    cl_db *db;
    cl_batch *b;
} bcl_thread;

static int bcl_thread_open(void *db, void **th)
{
    bcl_thread *t = calloc(1, sizeof(*t));
    int rc;

    if (t == NULL)
        return bench_err("out of memory");
    t->db = db;
    if ((rc = cl_batch_new(&t->b)) != 0) {
        free(t);
        return bcl_fail("batch", rc);
    }
    *th = t;
    return 0;
}

static void bcl_thread_close(void *db, void *th)
{
    bcl_thread *t = th;

    (void)db;
    cl_batch_free(t->b);
    free(t);
}

static int bcl_put(void *th, const void *k, size_t klen, const void *v,
                   size_t vlen)
{
    int rc = cl_put(((bcl_thread *)th)->db, k, klen, v, vlen);

    return rc ? bcl_fail("put", rc) : 0;
}

static int bcl_write_batch(void *th, const bench_kv *kv, size_t n)
{
    bcl_thread *t = th;
    int rc = 0;

    cl_batch_clear(t->b);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = cl_batch_put(t->b, kv[i].k, kv[i].klen, kv[i].v, kv[i].vlen);
    if (rc == 0)
        rc = cl_commit(t->db, t->b, NULL);
    return rc ? bcl_fail("commit", rc) : 0;
}

static int bcl_get(void *th, const void *k, size_t klen, void *buf, size_t cap,
                   size_t *vlen)
{
    int rc = cl_get(((bcl_thread *)th)->db, k, klen, buf, cap, vlen);

    if (rc == CL_ENOTFOUND)
        return 1;
    return rc ? bcl_fail("get", rc) : 0;
}

typedef struct bcl_scan_ctx {
    bench_scan_fn fn;
    void *ctx;
} bcl_scan_ctx;

static int bcl_scan_cb(void *ctx, const void *k, size_t klen, const void *v,
                       size_t vlen)
{
    bcl_scan_ctx *c = ctx;

    return c->fn(c->ctx, k, klen, v, vlen);
}

static int bcl_scan(void *th, bench_scan_fn fn, void *ctx)
{
    bcl_scan_ctx c = {fn, ctx};
    int rc =
        cl_scan(((bcl_thread *)th)->db, NULL, 0, NULL, 0, 0, bcl_scan_cb, &c);

    return rc ? bcl_fail("scan", rc) : 0;
}

const bench_engine bench_crashlab = {
    "crashlab",
    "sync group (durable) / off; torn-page fpw; 4 KiB pages; pool = cache; "
    "default checkpoint interval (never, for recovery)",
    bcl_open,
    bcl_close,
    bcl_thread_open,
    bcl_thread_close,
    bcl_put,
    bcl_write_batch,
    bcl_get,
    bcl_scan,
};
