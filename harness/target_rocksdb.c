/*
 * target_rocksdb.c - RocksDB as a harness target, through its C API
 * (rocksdb/c.h), crashed through the libc interposer (faults/interpose.h)
 * linked into crashtest, as LevelDB is (target_leveldb.c): open ignores
 * o->io (target_ops.interposed).
 *
 * The database is the trial directory itself.  Each workload transaction
 * is one WriteBatch (a put or a delete per operation), applied with one
 * rocksdb_write and acknowledged when it returns without error.  The
 * checkpoint call flushes the memtable (rocksdb_flush, waiting: a synced
 * table file, a manifest record, the old write-ahead log deleted); the
 * sync call does nothing of its own (see mixed, below).
 *
 * The deterministic profile.  RocksDB does its flushes and compactions
 * in background threads; for a replay to be exact, the I/O points of a
 * run of the workload must be numbered the same every time, so no file
 * call may race the writer's:
 *   - disable_auto_compactions: no compaction is ever scheduled (and with
 *     it RocksDB applies no level-0 write stall);
 *   - a memtable (64 MiB) larger than any workload writes: no flush but
 *     the checkpoint's, which the writer waits for;
 *   - after the flush returns, the writer also waits until RocksDB counts
 *     no running flush or compaction (the properties
 *     rocksdb.num-running-flushes and -compactions): the flush's thread
 *     wakes the waiter once the new table is installed, and only then
 *     deletes the files that made obsolete (the old log), unlinks that
 *     would otherwise race the writer's next writes;
 *   - max_background_jobs 1: one background thread does it all;
 *   - stats_dump_period_sec and stats_persist_period_sec 0: no periodic
 *     statistics written by the timer thread;
 *   - avoid_flush_during_shutdown: closing writes nothing of its own;
 *   - recycle_log_file_num 0 (the default): a new log is a new file.
 * Background work that races the writer is therefore not exercised.
 *
 * After a failed sync (fsync-fail; target_lsm.c says where RocksDB
 * documents it): the write or flush that met it returns the error, and
 * RocksDB refuses every later write until it is reopened, so the target
 * is fatal from its first error on (target_refusal).  The profile also
 * sets fail_if_options_file_error, so that a failed sync of the OPTIONS
 * file RocksDB writes at open (or of the directory after its rename)
 * fails the open: by default (options.h) RocksDB 7.8 only logs it and
 * opens.  That file holds no acknowledged write, but a failed sync the
 * workload never hears of is what crashtest judges an error-handling
 * violation, and the option is RocksDB's own way of reporting it.
 *
 * RocksDB's informational log (LOG; LOG.old.* when it opens an existing
 * database) is not durable state: RocksDB never reads it.  LevelDB writes
 * its LOG through stdio, which the interposer does not see; RocksDB 7.8
 * writes its LOG with write calls the interposer does see, and their
 * bytes (time stamps, thread ids) differ from run to run, so a power cut
 * or a torn write of one run would not repeat in its replay.  So the LOG
 * is kept out of the crash model by keeping it out of the trial
 * directory: db_log_dir names a directory beside it (the trial
 * directory's name with ".log" appended), which the interposer does not
 * track.  It is emptied at open (RocksDB keeps no LOG.old.* of an earlier
 * run) and removed at close; what a killed writer leaves there goes with
 * its worker's directory at the end of the campaign.
 *
 * The configuration is --rocksdb-sync true|false|mixed, one for the whole
 * campaign, with the meanings of LevelDB's.  What each promises, from
 * RocksDB's documentation (WriteOptions::sync in include/rocksdb/
 * options.h, and the wiki's pages "Write Ahead Log (WAL)" and "Basic
 * Operations", section "Synchronous Writes"; docs/TARGETS.md has the
 * table and the references):
 *   true    every write is synced (fsync of the log) before it returns:
 *           every acknowledged write survives any crash
 *   false   a write returns once the log is written to the operating
 *           system: it survives a process crash; a crash of the machine
 *           may lose the last writes
 *   mixed   most writes with sync=false, every write the workload
 *           follows with a sync or checkpoint call with sync=true: after
 *           a power cut the sync writes and every write before them
 *           survive (a synced write syncs the log, which holds all
 *           writes before it)
 * A WriteBatch is atomic in every configuration.
 *
 * Verification: the database is opened with paranoid_checks (a damaged
 * log record or table file is an error at open); every record is read
 * with verify_checksums, then the structure check iterates again
 * backwards, with verify_checksums, and requires the same records in
 * strictly descending order.  The C API of RocksDB 7.8 has no
 * VerifyChecksum (a check of every table block, iterated or not); the
 * two full iterations read every block that holds a live record.  When
 * that open fails (the verdict stands), a second stage runs RepairDB on
 * a copy of the state and judges what it salvaged (trial.c,
 * trial_second_stage).
 */
#include <assert.h>
#include <errno.h>
#include <rocksdb/c.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "fsutil.h"
#include "target.h"

/* The suffix of the informational log's directory, beside the trial's. */
#define RDB_LOG_SUFFIX ".log"

/* The campaign's configuration (set before any fork). */
static target_sync rdb_cfg = TARGET_SYNC_TRUE;
static int rdb_background; /* the background profile */

typedef struct rdb {
    target_refusal refused; /* first: target_refusal_fatal */
    rocksdb_t *db;
    rocksdb_options_t *base, *opt;
    rocksdb_writeoptions_t *wsync, *wasync;
    rocksdb_readoptions_t *ropt;
    rocksdb_flushoptions_t *fopt;
    rocksdb_writebatch_t *batch;
    char *logdir; /* the informational log's directory */
} rdb;
static_assert(offsetof(rdb, refused) == 0, "target_refusal_fatal reads the "
                                           "handle's first member");

int target_rocksdb_set_sync(const char *name)
{
    return target_sync_parse(name, &rdb_cfg);
}

int target_rocksdb_set_profile(const char *name)
{
    if (strcmp(name, "deterministic") == 0)
        rdb_background = 0;
    else if (strcmp(name, "background") == 0)
        rdb_background = 1;
    else
        return -1;
    return 0;
}

static int rdb_is_background(void)
{
    return rdb_background;
}

static void rdb_describe(char *buf, size_t len)
{
    snprintf(buf, len, "sync=%s%s", target_sync_name(rdb_cfg),
             rdb_background ? ", background profile" : "");
}

/* A RocksDB error as a cl error code (target_status_code), and freed. */
static int rdb_err(char *err)
{
    int rc = target_status_code(err);

    if (err != NULL)
        rocksdb_free(err);
    return rc;
}

static void rdb_free(rdb *r)
{
    if (r->db != NULL)
        rocksdb_close(r->db);
    if (r->batch != NULL)
        rocksdb_writebatch_destroy(r->batch);
    if (r->fopt != NULL)
        rocksdb_flushoptions_destroy(r->fopt);
    if (r->ropt != NULL)
        rocksdb_readoptions_destroy(r->ropt);
    if (r->wsync != NULL)
        rocksdb_writeoptions_destroy(r->wsync);
    if (r->wasync != NULL)
        rocksdb_writeoptions_destroy(r->wasync);
    if (r->opt != NULL)
        rocksdb_options_destroy(r->opt);
    if (r->base != NULL)
        rocksdb_options_destroy(r->base);
    if (r->logdir != NULL)
        fs_rmrf(r->logdir);
    free(r->logdir);
    free(r);
}

/* The options of the deterministic profile (the header comment says why
 * each), as RocksDB's option string: the C API of 7.8 has no setter for
 * avoid_flush_during_shutdown; write_buffer_size is 64 MiB). */
static const char rdb_profile[] =
    "create_if_missing=true;paranoid_checks=true;"
    "disable_auto_compactions=true;write_buffer_size=67108864;"
    "max_background_jobs=1;stats_dump_period_sec=0;"
    "stats_persist_period_sec=0;avoid_flush_during_shutdown=true;"
    "recycle_log_file_num=0;fail_if_options_file_error=true";

/* The background profile: RocksDB's own background work, racing the
 * writer.  64 KiB memtables (RocksDB's smallest) are flushed by a
 * background thread as the workload fills them, and level 0 is
 * compacted as soon as it holds two tables, by two background jobs; the
 * rest as in the deterministic profile. */
static const char rdb_profile_bg[] =
    "create_if_missing=true;paranoid_checks=true;"
    "disable_auto_compactions=false;write_buffer_size=65536;"
    "level0_file_num_compaction_trigger=2;max_background_jobs=2;"
    "stats_dump_period_sec=0;stats_persist_period_sec=0;"
    "avoid_flush_during_shutdown=true;recycle_log_file_num=0;"
    "fail_if_options_file_error=true";

static int rdb_open(const char *dir, const cl_options *o, void **h)
{
    rdb *r = calloc(1, sizeof(*r));
    char *err = NULL;
    size_t dl = strlen(dir);

    (void)o; /* the interposer, not o->io, sees RocksDB's calls */
    if (r == NULL)
        return CL_ENOMEM;
    while (dl > 1 && dir[dl - 1] == '/')
        dl--;
    if ((r->logdir = malloc(dl + sizeof(RDB_LOG_SUFFIX))) == NULL ||
        (r->base = rocksdb_options_create()) == NULL ||
        (r->opt = rocksdb_options_create()) == NULL ||
        (r->wsync = rocksdb_writeoptions_create()) == NULL ||
        (r->wasync = rocksdb_writeoptions_create()) == NULL ||
        (r->ropt = rocksdb_readoptions_create()) == NULL ||
        (r->fopt = rocksdb_flushoptions_create()) == NULL ||
        (r->batch = rocksdb_writebatch_create()) == NULL) {
        rdb_free(r);
        return CL_ENOMEM;
    }
    memcpy(r->logdir, dir, dl);
    memcpy(r->logdir + dl, RDB_LOG_SUFFIX, sizeof(RDB_LOG_SUFFIX));
    fs_rmrf(r->logdir);
    if (mkdir(r->logdir, 0700) != 0) {
        rdb_free(r);
        return errno;
    }
    rocksdb_get_options_from_string(
        r->base, rdb_background ? rdb_profile_bg : rdb_profile, r->opt, &err);
    if (err != NULL) {
        int rc = rdb_err(err);
        rdb_free(r);
        return rc;
    }
    rocksdb_options_set_db_log_dir(r->opt, r->logdir);
    rocksdb_writeoptions_set_sync(r->wsync, 1);
    rocksdb_writeoptions_set_sync(r->wasync, 0);
    rocksdb_readoptions_set_verify_checksums(r->ropt, 1);
    rocksdb_readoptions_set_fill_cache(r->ropt, 0);
    rocksdb_flushoptions_set_wait(r->fopt, 1);
    r->db = rocksdb_open(r->opt, dir, &err);
    if (r->db == NULL) {
        int rc = err != NULL ? rdb_err(err) : CL_EINVAL;
        rdb_free(r);
        return rc;
    }
    *h = r;
    return 0;
}

static int rdb_apply(void *h, const wl_txn *t, uint64_t *lsn)
{
    rdb *r = h;
    char *err = NULL;

    rocksdb_writebatch_clear(r->batch);
    for (uint32_t i = 0; i < t->nops; i++) {
        const wl_op *op = &t->ops[i];
        if (op->del)
            rocksdb_writebatch_delete(r->batch, (const char *)op->key,
                                      op->klen);
        else
            rocksdb_writebatch_put(r->batch, (const char *)op->key, op->klen,
                                   (const char *)op->val, op->vlen);
    }
    rocksdb_write(r->db, target_sync_write(rdb_cfg, t) ? r->wsync : r->wasync,
                  r->batch, &err);
    if (err != NULL)
        return target_refusal_note(&r->refused, rdb_err(err));
    /* RocksDB reports no durable position: nothing is claimed durable. */
    *lsn = (uint64_t)t->index + 1;
    return 0;
}

/* The sync call: as LevelDB's (under mixed the write it follows was
 * synced; under true every write was; under false nothing is promised). */
static int rdb_sync(void *h)
{
    (void)h;
    return 0;
}

/* A property of RocksDB's as a number (0 if it has none). */
static unsigned long rdb_property(rdb *r, const char *name)
{
    char *v = rocksdb_property_value(r->db, name);
    unsigned long n = v != NULL ? strtoul(v, NULL, 10) : 0;

    rocksdb_free(v);
    return n;
}

/* The checkpoint call: flush the memtable, then wait until the flush's
 * thread has finished deleting the files it made obsolete. */
static int rdb_checkpoint(void *h)
{
    rdb *r = h;
    char *err = NULL;
    const struct timespec tick = {0, 100000}; /* 0.1 ms */

    rocksdb_flush(r->db, r->fopt, &err);
    if (err != NULL)
        return target_refusal_note(&r->refused, rdb_err(err));
    while (!rdb_background &&
           (rdb_property(r, "rocksdb.num-running-flushes") != 0 ||
            rdb_property(r, "rocksdb.num-running-compactions") != 0))
        nanosleep(&tick, NULL);
    return 0;
}

static oracle_promise rdb_promise(const cl_options *o)
{
    (void)o;
    return target_sync_promise(rdb_cfg);
}

static int rdb_read_all(void *h, oracle_map *out)
{
    rdb *r = h;
    rocksdb_iterator_t *it = rocksdb_create_iterator(r->db, r->ropt);
    char *err = NULL;
    int rc = 0;

    if (it == NULL)
        return CL_ENOMEM;
    for (rocksdb_iter_seek_to_first(it); rc == 0 && rocksdb_iter_valid(it);
         rocksdb_iter_next(it)) {
        size_t kl, vl;
        const char *k = rocksdb_iter_key(it, &kl);
        const char *v = rocksdb_iter_value(it, &vl);
        if (oracle_map_put(out, k, kl, v, vl) != 0)
            rc = CL_ENOMEM;
    }
    rocksdb_iter_get_error(it, &err);
    rocksdb_iter_destroy(it);
    if (rc != 0) {
        rocksdb_free(err);
        return rc;
    }
    return rdb_err(err);
}

static int rdb_get(void *h, const void *key, size_t klen, void **val,
                   size_t *vlen)
{
    rdb *x = h;
    char *err = NULL;
    size_t vl = 0;
    char *v = rocksdb_get(x->db, x->ropt, key, klen, &vl, &err);
    int rc;

    if (err != NULL) {
        rocksdb_free(v);
        return rdb_err(err);
    }
    if (v == NULL)
        return CL_ENOTFOUND;
    rc = target_value_copy(v, vl, val, vlen);
    rocksdb_free(v);
    return rc;
}

/* The structure check: a second full iteration, backwards, with checksums
 * verified; keys strictly descending. */
static int rdb_check(void *h, char *msg, size_t len)
{
    rdb *r = h;
    rocksdb_iterator_t *it = rocksdb_create_iterator(r->db, r->ropt);
    target_keyorder ko = {0};
    char *err = NULL;
    size_t n = 0;
    int rc = 0;

    msg[0] = '\0';
    if (it == NULL)
        return CL_ENOMEM;
    for (rocksdb_iter_seek_to_last(it); rc == 0 && rocksdb_iter_valid(it);
         rocksdb_iter_prev(it), n++) {
        size_t kl;
        const char *k = rocksdb_iter_key(it, &kl);
        if ((rc = target_keyorder_next(&ko, k, kl)) == 1) {
            snprintf(msg, len,
                     "record %zu from the end is not below the one after it",
                     n);
            rc = CL_ECORRUPT;
        }
    }
    rocksdb_iter_get_error(it, &err);
    rocksdb_iter_destroy(it);
    target_keyorder_free(&ko);
    if (rc == 0 && err != NULL) {
        snprintf(msg, len, "backward iteration: %s", err);
        rc = rdb_err(err);
    } else if (err != NULL) {
        rocksdb_free(err);
    }
    return rc;
}

static int rdb_close(void *h)
{
    rdb_free(h);
    return 0;
}

/* rocksdb_repair_db (RepairDB, include/rocksdb/db.h: "If a DB cannot be
 * opened, you may attempt to call this method to resurrect as much of
 * the contents of the database as possible"): it archives the old
 * manifests, turns every WAL into a table, scans every table and writes
 * a new manifest naming what it kept.  Default options (one column
 * family, the default comparator: the workload's); its informational
 * log goes into dir, a copy of the state. */
static int rdb_repair(const char *dir)
{
    rocksdb_options_t *opt = rocksdb_options_create();
    char *err = NULL;

    if (opt == NULL)
        return CL_ENOMEM;
    rocksdb_repair_db(opt, dir, &err);
    rocksdb_options_destroy(opt);
    return err != NULL ? rdb_err(err) : 0;
}

const target_ops target_rocksdb = {
    .name = "rocksdb",
    .about = "RocksDB (librocksdb) through the libc interposer: "
             "--rocksdb-sync",
    .open = rdb_open,
    .apply = rdb_apply,
    .durable = target_no_durable,
    .checkpoint = rdb_checkpoint,
    .sync = rdb_sync,
    .promise = rdb_promise,
    .read_all = rdb_read_all,
    .get = rdb_get,
    .check = rdb_check,
    .recovery = target_no_recovery,
    .fatal = target_refusal_fatal,
    .close = rdb_close,
    .interposed = 1,
    .rcrash_fsync_fail = 1,
    .nondurable = NULL,
    .describe = rdb_describe,
    .repair = rdb_repair,
    .background = rdb_is_background,
};
