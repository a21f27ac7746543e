/*
 * target_lmdb.c - LMDB as a harness target, crashed through the libc
 * interposer (faults/interpose.h) linked into crashtest, like SQLite
 * (target_sqlite.c): open ignores o->io (target_ops.interposed).
 *
 * The environment is the trial directory itself (data.mdb and lock.mdb),
 * one unnamed database.  Each workload transaction is one write
 * transaction, one mdb_put or mdb_del per operation, acknowledged when
 * mdb_txn_commit returns 0.  The sync call and the checkpoint call are
 * both mdb_env_sync(force).  lock.mdb, the reader table LMDB maps shared
 * and writable and rebuilds when the first process opens the
 * environment, is declared non-durable; data.mdb is only read through
 * its map (no MDB_WRITEMAP), so every write to it reaches the interposer.
 *
 * The configuration is --lmdb-flags default|nometasync|nosync, one for
 * the whole campaign.  What each promises, from lmdb.h's documentation of
 * mdb_env_open's flags and of mdb_env_sync (docs/TARGETS.md has the
 * table and the references):
 *   default      every commit: the pages are synced, then the meta page
 *                is written through a descriptor opened for synchronous
 *                writes, before the commit returns
 *   nometasync   every commit against a process crash; after a power cut
 *                every commit but the last (the meta page is synced by
 *                the next commit's sync, or by mdb_env_sync)
 *   nosync       every commit against a process crash; after a power cut
 *                only those before an mdb_env_sync; and integrity only if
 *                the file system keeps the order of writes (the oracle
 *                requires integrity in every configuration, so a power
 *                cut that reorders writes may show violations the
 *                documentation allows: judge nosync under --persist
 *                ordered)
 * After a failed sync (fsync-fail): the commit whose flush of data.mdb
 * failed returns the error and is aborted, and LMDB goes on taking
 * commits (target_ops.sync_error_goes_on); if the meta page's own write
 * failed (in the default flags, a write through the descriptor opened
 * for synchronous writes, whose sync is part of the write), LMDB sets
 * its fatal flag and refuses every transaction with MDB_PANIC until it
 * is reopened (lmdb_fatal).  A failed mdb_env_sync returns the error.
 * MDB_WRITEMAP is refused by the option (crashtest_opts.c): LMDB then
 * writes data.mdb through a shared writable map, which the interposer
 * cannot see.
 *
 * Verification: LMDB keeps no checksums, so the structure check walks
 * everything: the main database with a cursor (keys strictly increasing,
 * as many as its root says), the free-page database (every record a list
 * of page numbers in the file, none twice), and the page count (the two
 * meta pages, the pages of both trees and the free pages make up the
 * file's pages, no more, no fewer).  A walk that crashes its process
 * counts as a structure violation (trial_vserve.c).
 */
#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "target.h"

/* Room for the largest workload: the map is address space, not a file
 * size (no MDB_WRITEMAP), so it costs nothing until written. */
#define LMDB_MAP_BYTES ((size_t)1 << 30)

enum { LMDB_DEFAULT = 0, LMDB_NOMETASYNC, LMDB_NOSYNC, LMDB_WRITEMAP };

static const char *const lmdb_names[] = {"default", "nometasync", "nosync",
                                         "writemap"};
static const unsigned lmdb_env_flags[] = {0, MDB_NOMETASYNC, MDB_NOSYNC,
                                          MDB_WRITEMAP};

/* The campaign's configuration (set before any fork). */
static int lmdb_cfg = LMDB_DEFAULT;

typedef struct lmdb {
    MDB_env *env;
    MDB_dbi dbi;
} lmdb;

int target_lmdb_set_flags(const char *name)
{
    for (int i = 0; i < (int)(sizeof(lmdb_names) / sizeof(lmdb_names[0])); i++)
        if (strcmp(lmdb_names[i], name) == 0) {
            if (i == LMDB_WRITEMAP)
                return -2;
            lmdb_cfg = i;
            return 0;
        }
    return -1;
}

static void lmdb_describe(char *buf, size_t len)
{
    snprintf(buf, len, "flags=%s", lmdb_names[lmdb_cfg]);
}

/* An LMDB result as a cl error code: errnos pass through, damage found in
 * the file is CL_ECORRUPT. */
static int lmdb_err(int rc)
{
    if (rc != MDB_SUCCESS)
        target_detail_set(mdb_strerror(rc));
    switch (rc) {
    case MDB_SUCCESS:
        return 0;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
        return CL_ECORRUPT;
    case MDB_READERS_FULL:
    case MDB_MAP_FULL:
    case MDB_TXN_FULL:
        return CL_ENOMEM;
    default:
        return rc > 0 ? rc : CL_EINVAL;
    }
}

static int lmdb_open(const char *dir, const cl_options *o, void **h)
{
    lmdb *l = calloc(1, sizeof(*l));
    MDB_txn *txn = NULL;
    int rc;

    (void)o; /* the interposer, not o->io, sees LMDB's calls */
    if (l == NULL)
        return CL_ENOMEM;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        rc = errno;
        free(l);
        return rc;
    }
    if ((rc = mdb_env_create(&l->env)) != 0)
        goto fail;
    if ((rc = mdb_env_set_mapsize(l->env, LMDB_MAP_BYTES)) != 0 ||
        (rc = mdb_env_open(l->env, dir, lmdb_env_flags[lmdb_cfg], 0644)) != 0 ||
        (rc = mdb_txn_begin(l->env, NULL, MDB_RDONLY, &txn)) != 0 ||
        (rc = mdb_dbi_open(txn, NULL, 0, &l->dbi)) != 0)
        goto fail;
    mdb_txn_abort(txn);
    *h = l;
    return 0;
fail:
    if (txn != NULL)
        mdb_txn_abort(txn);
    if (l->env != NULL)
        mdb_env_close(l->env);
    free(l);
    return lmdb_err(rc);
}

static int lmdb_apply(void *h, const wl_txn *t, uint64_t *lsn)
{
    lmdb *l = h;
    MDB_txn *txn;
    int rc;

    if ((rc = mdb_txn_begin(l->env, NULL, 0, &txn)) != 0)
        return lmdb_err(rc);
    for (uint32_t i = 0; i < t->nops; i++) {
        const wl_op *op = &t->ops[i];
        MDB_val k = {op->klen, (void *)op->key};
        MDB_val v = {op->vlen, (void *)op->val};
        rc = op->del ? mdb_del(txn, l->dbi, &k, NULL)
                     : mdb_put(txn, l->dbi, &k, &v, 0);
        if (rc == MDB_NOTFOUND && op->del)
            rc = 0; /* deleting a key that is not there */
        if (rc != 0) {
            mdb_txn_abort(txn);
            return lmdb_err(rc);
        }
    }
    if ((rc = mdb_txn_commit(txn)) != 0)
        return lmdb_err(rc);
    /* LMDB reports no durable position: nothing is claimed durable. */
    *lsn = (uint64_t)t->index + 1;
    return 0;
}

/* The sync call: mdb_env_sync with force, which flushes the data file
 * (and so the meta page written last) whatever the flags. */
static int lmdb_sync(void *h)
{
    lmdb *l = h;

    return lmdb_err(mdb_env_sync(l->env, 1));
}

/* Whether LMDB takes writes: after a commit whose meta page could not be
 * written (its synchronous write failed, in the default flags), LMDB
 * marks the environment with its fatal flag and refuses every
 * transaction with MDB_PANIC until it is reopened (mdb.c,
 * mdb_env_write_meta; lmdb.h, MDB_PANIC).  A commit whose flush of the
 * data pages failed is aborted and returns the error, and the
 * environment goes on (target_ops.sync_error_goes_on).  Beginning a
 * write transaction and aborting it makes no file call: it takes the
 * writer's lock in lock.mdb's map and reads the meta pages. */
static int lmdb_fatal(void *h)
{
    lmdb *l = h;
    MDB_txn *txn;
    int rc = mdb_txn_begin(l->env, NULL, 0, &txn);

    if (rc == 0) {
        mdb_txn_abort(txn);
        return 0;
    }
    return rc == MDB_PANIC ? EIO : lmdb_err(rc);
}

static oracle_promise lmdb_promise(const cl_options *o)
{
    (void)o;
    switch (lmdb_cfg) {
    case LMDB_NOMETASYNC:
        return ORACLE_PROMISE_PROCESS_PREV;
    case LMDB_NOSYNC:
        return ORACLE_PROMISE_PROCESS_SYNC;
    default:
        return ORACLE_PROMISE_ACK;
    }
}

/* Call fn on every record of database dbi, in key order, in read
 * transaction txn.  Returns 0, fn's nonzero result (a cl error code), or
 * a cl error code. */
static int lmdb_walk(MDB_txn *txn, MDB_dbi dbi,
                     int (*fn)(void *ctx, const MDB_val *k, const MDB_val *v),
                     void *ctx)
{
    MDB_cursor *c;
    MDB_val k, v;
    int rc, stop = 0, op = MDB_FIRST;

    if ((rc = mdb_cursor_open(txn, dbi, &c)) != 0)
        return lmdb_err(rc);
    while (stop == 0 &&
           (rc = mdb_cursor_get(c, &k, &v, (MDB_cursor_op)op)) == 0) {
        op = MDB_NEXT;
        stop = fn(ctx, &k, &v);
    }
    mdb_cursor_close(c);
    return stop != 0 ? stop : rc == MDB_NOTFOUND ? 0 : lmdb_err(rc);
}

static int lmdb_put_one(void *ctx, const MDB_val *k, const MDB_val *v)
{
    return oracle_map_put(ctx, k->mv_data, k->mv_size, v->mv_data,
                          v->mv_size) != 0
               ? CL_ENOMEM
               : 0;
}

static int lmdb_read_all(void *h, oracle_map *out)
{
    lmdb *l = h;
    MDB_txn *txn;
    int rc;

    if ((rc = mdb_txn_begin(l->env, NULL, MDB_RDONLY, &txn)) != 0)
        return lmdb_err(rc);
    rc = lmdb_walk(txn, l->dbi, lmdb_put_one, out);
    mdb_txn_abort(txn);
    return rc;
}

static int lmdb_get(void *h, const void *key, size_t klen, void **val,
                    size_t *vlen)
{
    lmdb *l = h;
    MDB_txn *txn;
    MDB_val k = {klen, (void *)key}, v;
    int rc;

    if ((rc = mdb_txn_begin(l->env, NULL, MDB_RDONLY, &txn)) != 0)
        return lmdb_err(rc);
    rc = mdb_get(txn, l->dbi, &k, &v);
    rc = rc == MDB_NOTFOUND ? CL_ENOTFOUND
         : rc != 0          ? lmdb_err(rc)
                   : target_value_copy(v.mv_data, v.mv_size, val, vlen);
    mdb_txn_abort(txn);
    return rc;
}

/* What the structure check gathers from its walks. */
typedef struct lmdb_census {
    MDB_txn *txn;
    MDB_dbi dbi;
    size_t last_pgno; /* the file's last page */
    size_t entries;   /* records walked */
    size_t free;      /* pages on the free lists */
    uint8_t *seen;    /* one bit per page: on a free list */
    MDB_val prev;     /* the last key walked (copied) */
    uint8_t prevbuf[512];
    char *msg;
    size_t len;
} lmdb_census;

/* A record of the main database: keys strictly increasing. */
static int lmdb_count_main(void *ctx, const MDB_val *k, const MDB_val *v)
{
    lmdb_census *cs = ctx;

    (void)v;
    if (cs->entries > 0 && mdb_cmp(cs->txn, cs->dbi, &cs->prev, k) >= 0) {
        snprintf(cs->msg, cs->len,
                 "key %zu of the walk is not above its "
                 "predecessor",
                 cs->entries);
        return CL_ECORRUPT;
    }
    if (k->mv_size > sizeof(cs->prevbuf)) {
        snprintf(cs->msg, cs->len, "a key of %zu bytes", k->mv_size);
        return CL_ECORRUPT;
    }
    memcpy(cs->prevbuf, k->mv_data, k->mv_size);
    cs->prev.mv_size = k->mv_size;
    cs->prev.mv_data = cs->prevbuf;
    cs->entries++;
    return 0;
}

/* A record of the free-page database: the list of pages a transaction
 * freed, as LMDB stores it (a count, then that many page numbers), each
 * within the file, past the meta pages, on no other list. */
static int lmdb_count_free(void *ctx, const MDB_val *k, const MDB_val *v)
{
    lmdb_census *cs = ctx;
    const size_t *ids = v->mv_data;
    size_t n;

    (void)k;
    if (v->mv_size < sizeof(size_t) || v->mv_size % sizeof(size_t) != 0 ||
        (n = ids[0]) != v->mv_size / sizeof(size_t) - 1) {
        snprintf(cs->msg, cs->len, "a free list of %zu bytes is malformed",
                 v->mv_size);
        return CL_ECORRUPT;
    }
    for (size_t i = 1; i <= n; i++) {
        size_t p = ids[i];
        if (p < 2 || p > cs->last_pgno) {
            snprintf(cs->msg, cs->len,
                     "free page %zu outside pages 2..%zu of the file", p,
                     cs->last_pgno);
            return CL_ECORRUPT;
        }
        if (cs->seen[p / 8] & (1u << (p % 8))) {
            snprintf(cs->msg, cs->len, "page %zu is free twice", p);
            return CL_ECORRUPT;
        }
        cs->seen[p / 8] |= (uint8_t)(1u << (p % 8));
    }
    cs->free += n;
    return 0;
}

static size_t lmdb_tree_pages(const MDB_stat *st)
{
    return st->ms_branch_pages + st->ms_leaf_pages + st->ms_overflow_pages;
}

/* The full walk described at the top.  The walks run in one read
 * transaction, so they see one snapshot. */
static int lmdb_check(void *h, char *msg, size_t len)
{
    lmdb *l = h;
    lmdb_census cs;
    MDB_envinfo info;
    MDB_stat sm, sf;
    int rc;

    memset(&cs, 0, sizeof(cs));
    cs.msg = msg;
    cs.len = len;
    msg[0] = '\0';
    if ((rc = lmdb_err(mdb_txn_begin(l->env, NULL, MDB_RDONLY, &cs.txn))) != 0)
        goto out;
    /* the environment's info is of the newest meta page, which is this
     * snapshot's (nothing writes meanwhile) */
    if ((rc = lmdb_err(mdb_env_info(l->env, &info))) != 0 ||
        (rc = lmdb_err(mdb_stat(cs.txn, l->dbi, &sm))) != 0 ||
        (rc = lmdb_err(mdb_stat(cs.txn, 0, &sf))) != 0)
        goto out;
    cs.last_pgno = info.me_last_pgno;
    if ((cs.seen = calloc(cs.last_pgno / 8 + 1, 1)) == NULL) {
        rc = CL_ENOMEM;
        goto out;
    }
    cs.dbi = l->dbi;
    if ((rc = lmdb_walk(cs.txn, l->dbi, lmdb_count_main, &cs)) != 0 ||
        (rc = lmdb_walk(cs.txn, 0, lmdb_count_free, &cs)) != 0) /* 0: the
                                                    free-page database */
        goto out;
    if (cs.entries != sm.ms_entries) {
        snprintf(msg, len, "the walk found %zu records, the root says %zu",
                 cs.entries, sm.ms_entries);
        rc = CL_ECORRUPT;
    } else if (2 + lmdb_tree_pages(&sm) + lmdb_tree_pages(&sf) + cs.free !=
               cs.last_pgno + 1) {
        snprintf(msg, len,
                 "pages do not add up: 2 meta + %zu in the tree + %zu in the "
                 "free-page tree + %zu free != %zu in the file",
                 lmdb_tree_pages(&sm), lmdb_tree_pages(&sf), cs.free,
                 cs.last_pgno + 1);
        rc = CL_ECORRUPT;
    }
out:
    if (cs.txn != NULL)
        mdb_txn_abort(cs.txn);
    free(cs.seen);
    if (rc != 0 && msg[0] == '\0')
        snprintf(msg, len, "walk failed: %s", cl_strerror(rc));
    return rc;
}

static int lmdb_close(void *h)
{
    lmdb *l = h;

    mdb_env_close(l->env);
    free(l);
    return 0;
}

const target_ops target_lmdb = {
    .name = "lmdb",
    .about = "LMDB (liblmdb) through the libc interposer: --lmdb-flags",
    .open = lmdb_open,
    .apply = lmdb_apply,
    .durable = target_no_durable,
    .checkpoint = lmdb_sync,
    .sync = lmdb_sync,
    .promise = lmdb_promise,
    .read_all = lmdb_read_all,
    .get = lmdb_get,
    .check = lmdb_check,
    .recovery = target_no_recovery,
    .fatal = lmdb_fatal,
    .close = lmdb_close,
    .interposed = 1,
    .sync_error_goes_on = 1,
    .rcrash_fsync_fail = 1,
    .nondurable = "lock.mdb",
    .describe = lmdb_describe,
};
