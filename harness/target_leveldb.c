/*
 * target_leveldb.c - LevelDB as a harness target, through its C API
 * (leveldb/c.h), crashed through the libc interposer (faults/interpose.h)
 * linked into crashtest, like SQLite and LMDB: open ignores o->io
 * (target_ops.interposed).
 *
 * The database is the trial directory itself.  Each workload transaction
 * is one WriteBatch (a put or a delete per operation), applied with one
 * leveldb_write and acknowledged when it returns without error.  The
 * checkpoint call compacts the whole key range (the memtable goes into a
 * synced table file, the manifest records it, the old log is deleted);
 * the sync call does nothing of its own (see mixed, below).
 *
 * The memtable is larger (64 MiB) than any workload writes, so it is
 * flushed only by the checkpoint call, while the writer waits for it:
 * LevelDB's background thread then does its I/O in the writer's place,
 * and the I/O point numbering repeats from run to run (a replay is
 * exact).  Background compactions that race the writer are not
 * exercised.
 *
 * The configuration is --leveldb-sync true|false|mixed, one for the whole
 * campaign.  What each promises, from LevelDB's documentation
 * (doc/index.md, "Synchronous Writes" and "Atomic Updates"; docs/
 * TARGETS.md has the table and the references):
 *   true    every write is synced before it returns: every
 *           acknowledged write survives any crash
 *   false   a write returns once the operating system has it: every
 *           acknowledged write survives a process crash; a crash of
 *           the machine may lose the last writes
 *   mixed   as applications do it: most writes with sync=false, every
 *           write the workload follows with a sync or checkpoint call
 *           with sync=true (the sync call then has nothing left to do);
 *           after a power cut the sync writes and every write before
 *           them survive (the documentation's own hybrid scheme: restart
 *           a bulk load just after the last synchronous write)
 * A WriteBatch is atomic in every configuration.
 *
 * Verification: the database is opened with paranoid_checks (a damaged
 * log record or table is an error at open, not skipped); every record is
 * read with verify_checksums, then the structure check iterates again
 * backwards, with verify_checksums, and requires the same records in
 * strictly descending order.  When that open fails (the verdict stands),
 * a second stage runs RepairDB on a copy of the state and judges what it
 * salvaged (trial.c, trial_second_stage).
 *
 * After a failed sync (fsync-fail; target_lsm.c says where LevelDB
 * documents it): a write whose log sync failed returns the error, and
 * LevelDB refuses every later write with it until it is reopened, so the
 * target is fatal from its first error on (target_refusal).  The
 * checkpoint's CompactRange returns nothing: a failed sync of the table
 * or manifest it writes reaches the workload as the error of the next
 * write.
 *
 * LevelDB writes its informational log (LOG) through stdio, which the
 * interposer does not see: that file is outside the crash model (LevelDB
 * never reads it).
 */
#include <assert.h>
#include <leveldb/c.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "target.h"

/* Above every workload's bytes: no memtable flush but the checkpoint's. */
#define LDB_WRITE_BUFFER ((size_t)64 << 20)

/* The campaign's configuration (set before any fork). */
static target_sync ldb_cfg = TARGET_SYNC_TRUE;

typedef struct ldb {
    target_refusal refused; /* first: target_refusal_fatal */
    leveldb_t *db;
    leveldb_options_t *opt;
    leveldb_writeoptions_t *wsync, *wasync;
    leveldb_readoptions_t *ropt;
    leveldb_writebatch_t *batch;
} ldb;
static_assert(offsetof(ldb, refused) == 0, "target_refusal_fatal reads the "
                                           "handle's first member");

int target_leveldb_set_sync(const char *name)
{
    return target_sync_parse(name, &ldb_cfg);
}

static void ldb_describe(char *buf, size_t len)
{
    snprintf(buf, len, "sync=%s", target_sync_name(ldb_cfg));
}

/* A LevelDB error as a cl error code (target_status_code), and freed. */
static int ldb_err(char *err)
{
    int rc = target_status_code(err);

    if (err != NULL)
        leveldb_free(err);
    return rc;
}

static void ldb_free(ldb *l)
{
    if (l->db != NULL)
        leveldb_close(l->db);
    if (l->batch != NULL)
        leveldb_writebatch_destroy(l->batch);
    if (l->ropt != NULL)
        leveldb_readoptions_destroy(l->ropt);
    if (l->wsync != NULL)
        leveldb_writeoptions_destroy(l->wsync);
    if (l->wasync != NULL)
        leveldb_writeoptions_destroy(l->wasync);
    if (l->opt != NULL)
        leveldb_options_destroy(l->opt);
    free(l);
}

static int ldb_open(const char *dir, const cl_options *o, void **h)
{
    ldb *l = calloc(1, sizeof(*l));
    char *err = NULL;

    (void)o; /* the interposer, not o->io, sees LevelDB's calls */
    if (l == NULL)
        return CL_ENOMEM;
    if ((l->opt = leveldb_options_create()) == NULL ||
        (l->wsync = leveldb_writeoptions_create()) == NULL ||
        (l->wasync = leveldb_writeoptions_create()) == NULL ||
        (l->ropt = leveldb_readoptions_create()) == NULL ||
        (l->batch = leveldb_writebatch_create()) == NULL) {
        ldb_free(l);
        return CL_ENOMEM;
    }
    leveldb_options_set_create_if_missing(l->opt, 1);
    leveldb_options_set_paranoid_checks(l->opt, 1);
    leveldb_options_set_write_buffer_size(l->opt, LDB_WRITE_BUFFER);
    leveldb_writeoptions_set_sync(l->wsync, 1);
    leveldb_writeoptions_set_sync(l->wasync, 0);
    leveldb_readoptions_set_verify_checksums(l->ropt, 1);
    leveldb_readoptions_set_fill_cache(l->ropt, 0);
    l->db = leveldb_open(l->opt, dir, &err);
    if (l->db == NULL) {
        int rc = err != NULL ? ldb_err(err) : CL_EINVAL;
        ldb_free(l);
        return rc;
    }
    *h = l;
    return 0;
}

static int ldb_apply(void *h, const wl_txn *t, uint64_t *lsn)
{
    ldb *l = h;
    char *err = NULL;

    leveldb_writebatch_clear(l->batch);
    for (uint32_t i = 0; i < t->nops; i++) {
        const wl_op *op = &t->ops[i];
        if (op->del)
            leveldb_writebatch_delete(l->batch, (const char *)op->key,
                                      op->klen);
        else
            leveldb_writebatch_put(l->batch, (const char *)op->key, op->klen,
                                   (const char *)op->val, op->vlen);
    }
    leveldb_write(l->db, target_sync_write(ldb_cfg, t) ? l->wsync : l->wasync,
                  l->batch, &err);
    if (err != NULL)
        return target_refusal_note(&l->refused, ldb_err(err));
    /* LevelDB reports no durable position: nothing is claimed durable. */
    *lsn = (uint64_t)t->index + 1;
    return 0;
}

/* The sync call: under mixed, the write it follows was synced (every
 * write before it is in the same log, or in a table the checkpoint
 * synced); under true every write was; under false nothing is promised
 * and nothing is done. */
static int ldb_sync(void *h)
{
    (void)h;
    return 0;
}

/* The checkpoint call: compact everything, memtable included.  LevelDB's
 * CompactRange returns nothing: a sync of the compaction that failed
 * reaches the workload as the error of its next write (target_lsm.c). */
static int ldb_checkpoint(void *h)
{
    ldb *l = h;

    leveldb_compact_range(l->db, NULL, 0, NULL, 0);
    return 0;
}

static oracle_promise ldb_promise(const cl_options *o)
{
    (void)o;
    return target_sync_promise(ldb_cfg);
}

static int ldb_read_all(void *h, oracle_map *out)
{
    ldb *l = h;
    leveldb_iterator_t *it = leveldb_create_iterator(l->db, l->ropt);
    char *err = NULL;
    int rc = 0;

    if (it == NULL)
        return CL_ENOMEM;
    for (leveldb_iter_seek_to_first(it); rc == 0 && leveldb_iter_valid(it);
         leveldb_iter_next(it)) {
        size_t kl, vl;
        const char *k = leveldb_iter_key(it, &kl);
        const char *v = leveldb_iter_value(it, &vl);
        if (oracle_map_put(out, k, kl, v, vl) != 0)
            rc = CL_ENOMEM;
    }
    leveldb_iter_get_error(it, &err);
    leveldb_iter_destroy(it);
    if (rc != 0) {
        leveldb_free(err);
        return rc;
    }
    return ldb_err(err);
}

static int ldb_get(void *h, const void *key, size_t klen, void **val,
                   size_t *vlen)
{
    ldb *x = h;
    char *err = NULL;
    size_t vl = 0;
    char *v = leveldb_get(x->db, x->ropt, key, klen, &vl, &err);
    int rc;

    if (err != NULL) {
        leveldb_free(v);
        return ldb_err(err);
    }
    if (v == NULL)
        return CL_ENOTFOUND;
    rc = target_value_copy(v, vl, val, vlen);
    leveldb_free(v);
    return rc;
}

/* The structure check: a second full iteration, backwards, with checksums
 * verified; keys strictly descending. */
static int ldb_check(void *h, char *msg, size_t len)
{
    ldb *l = h;
    leveldb_iterator_t *it = leveldb_create_iterator(l->db, l->ropt);
    target_keyorder ko = {0};
    char *err = NULL;
    size_t n = 0;
    int rc = 0;

    msg[0] = '\0';
    if (it == NULL)
        return CL_ENOMEM;
    for (leveldb_iter_seek_to_last(it); rc == 0 && leveldb_iter_valid(it);
         leveldb_iter_prev(it), n++) {
        size_t kl;
        const char *k = leveldb_iter_key(it, &kl);
        if ((rc = target_keyorder_next(&ko, k, kl)) == 1) {
            snprintf(msg, len,
                     "record %zu from the end is not below the one after it",
                     n);
            rc = CL_ECORRUPT;
        }
    }
    leveldb_iter_get_error(it, &err);
    leveldb_iter_destroy(it);
    target_keyorder_free(&ko);
    if (rc == 0 && err != NULL) {
        snprintf(msg, len, "backward iteration: %s", err);
        rc = ldb_err(err);
    } else if (err != NULL) {
        leveldb_free(err);
    }
    return rc;
}

static int ldb_close(void *h)
{
    ldb_free(h);
    return 0;
}

/* leveldb_repair_db (RepairDB, include/leveldb/db.h: "If a DB cannot be
 * opened, you may attempt to call this method to resurrect as much of
 * the contents of the database as possible"): it turns every log into a
 * table, scans every table, and writes a new manifest naming what it
 * kept.  Default options: it is told nothing but where the files are. */
static int ldb_repair(const char *dir)
{
    leveldb_options_t *opt = leveldb_options_create();
    char *err = NULL;

    if (opt == NULL)
        return CL_ENOMEM;
    leveldb_repair_db(opt, dir, &err);
    leveldb_options_destroy(opt);
    return err != NULL ? ldb_err(err) : 0;
}

const target_ops target_leveldb = {
    .name = "leveldb",
    .about = "LevelDB (libleveldb) through the libc interposer: "
             "--leveldb-sync",
    .open = ldb_open,
    .apply = ldb_apply,
    .durable = target_no_durable,
    .checkpoint = ldb_checkpoint,
    .sync = ldb_sync,
    .promise = ldb_promise,
    .read_all = ldb_read_all,
    .get = ldb_get,
    .check = ldb_check,
    .recovery = target_no_recovery,
    .fatal = target_refusal_fatal,
    .close = ldb_close,
    .interposed = 1,
    .rcrash_fsync_fail = 1,
    .nondurable = NULL,
    .describe = ldb_describe,
    .repair = ldb_repair,
};
