/*
 * target_sqlite.c - SQLite as a harness target, crashed through the libc
 * interposer (faults/interpose.h) linked into crashtest: its file calls
 * reach the crash core without any I/O table of ours, so open ignores
 * o->io (target_ops.interposed).
 *
 * The database is `db` in the trial directory, one table kv(k BLOB PRIMARY
 * KEY, v BLOB).  Each workload transaction is BEGIN, one INSERT OR REPLACE
 * or DELETE per operation, COMMIT; it is acknowledged when COMMIT returns
 * SQLITE_OK.  The sync call of the workload is, in WAL mode, a checkpoint
 * (which syncs the WAL before it and the database after it, in NORMAL and
 * above), and in the rollback-journal modes an fsync of the directory
 * (what EXTRA adds to FULL in DELETE mode: the journal's unlink made
 * durable).  Verification is PRAGMA integrity_check, then every row.
 *
 * The configuration is --sqlite-journal delete|truncate|persist|wal and
 * --sqlite-sync off|normal|full|extra, one for the whole campaign
 * (default delete and full).  What each promises, from SQLite's
 * documentation of PRAGMA synchronous, WAL and atomic commit
 * (docs/TARGETS.md has the table and the references):
 *   off              against a process crash every commit (the page cache
 *                    keeps them); nothing after a power cut
 *   normal, rollback the same: the documentation promises no durability
 *                    after a power cut in NORMAL
 *   normal, wal      every commit against a process crash; after a power
 *                    cut, those before a checkpoint (the sync call)
 *   full, delete     every commit against a process crash; after a power
 *                    cut the last commit may be rolled back by a journal
 *                    whose unlink was not yet durable: those before the
 *                    sync call (the directory fsync)
 *   full, others     every commit (the journal's truncation or zeroed
 *                    header, or the WAL frame, is synced at commit)
 *   extra            every commit
 * Atomicity and integrity are promised in every configuration but off,
 * and off promises them against a process crash; the oracle holds every
 * configuration to them, so a violation under off after a power cut is
 * reported (and is what SQLite's documentation warns of).
 */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "target.h"

enum { SQL_DELETE = 0, SQL_TRUNCATE, SQL_PERSIST, SQL_WAL };
enum { SQL_OFF = 0, SQL_NORMAL, SQL_FULL, SQL_EXTRA };

static const char *const sql_journals[] = {"delete", "truncate", "persist",
                                           "wal"};
static const char *const sql_syncs[] = {"off", "normal", "full", "extra"};

/* The campaign's configuration (set before any fork). */
static int sql_journal = SQL_DELETE;
static int sql_sync = SQL_FULL;

typedef struct sql {
    sqlite3 *db;
    sqlite3_stmt *put, *del;
    char dir[4096];
} sql;

/* *out = the index of arg among names[0..n); -1 if it is none of them. */
static int sql_pick(const char *const *names, int n, const char *arg, int *out)
{
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], arg) == 0) {
            *out = i;
            return 0;
        }
    return -1;
}

int target_sqlite_set_journal(const char *name)
{
    return sql_pick(sql_journals, 4, name, &sql_journal);
}

int target_sqlite_set_sync(const char *name)
{
    return sql_pick(sql_syncs, 4, name, &sql_sync);
}

static void sql_describe(char *buf, size_t len)
{
    snprintf(buf, len, "journal_mode=%s synchronous=%s",
             sql_journals[sql_journal], sql_syncs[sql_sync]);
}

/* A SQLite result code as a cl error code: corruption is CL_ECORRUPT. */
static int sql_err(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_DONE:
    case SQLITE_ROW:
        return 0;
    default:
        break;
    }
    target_detail_set(sqlite3_errstr(rc));
    switch (rc & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return CL_ECORRUPT;
    case SQLITE_NOMEM:
        return CL_ENOMEM;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return CL_ELOCKED;
    default:
        return rc == SQLITE_IOERR || (rc & 0xff) == SQLITE_IOERR ? EIO
                                                                 : CL_EINVAL;
    }
}

static int sql_exec(sql *s, const char *text)
{
    return sql_err(sqlite3_exec(s->db, text, NULL, NULL, NULL));
}

static void sql_free(sql *s)
{
    sqlite3_finalize(s->put);
    sqlite3_finalize(s->del);
    sqlite3_close(s->db);
    free(s);
}

static int sql_open(const char *dir, const cl_options *o, void **h)
{
    sql *s = calloc(1, sizeof(*s));
    char path[4200], prag[96];
    int rc;

    (void)o; /* the interposer, not o->io, sees SQLite's calls */
    if (s == NULL)
        return CL_ENOMEM;
    snprintf(s->dir, sizeof(s->dir), "%s", dir);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        rc = errno;
        free(s);
        return rc;
    }
    snprintf(path, sizeof(path), "%s/db", dir);
    rc = sqlite3_open_v2(path, &s->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK)
        goto fail;
    snprintf(prag, sizeof(prag), "PRAGMA journal_mode=%s;PRAGMA synchronous=%s",
             sql_journals[sql_journal], sql_syncs[sql_sync]);
    /* the journal mode first: it may need the database (a hot journal is
     * rolled back by the first read) */
    if ((rc = sqlite3_exec(s->db, prag, NULL, NULL, NULL)) != SQLITE_OK ||
        (rc = sqlite3_exec(s->db,
                           "CREATE TABLE IF NOT EXISTS kv(k BLOB PRIMARY KEY, "
                           "v BLOB) WITHOUT ROWID",
                           NULL, NULL, NULL)) != SQLITE_OK ||
        (rc = sqlite3_prepare_v2(s->db,
                                 "INSERT OR REPLACE INTO kv(k, v) VALUES(?, ?)",
                                 -1, &s->put, NULL)) != SQLITE_OK ||
        (rc = sqlite3_prepare_v2(s->db, "DELETE FROM kv WHERE k = ?", -1,
                                 &s->del, NULL)) != SQLITE_OK)
        goto fail;
    *h = s;
    return 0;
fail:
    sql_free(s);
    return sql_err(rc) ? sql_err(rc) : CL_EINVAL;
}

/* One statement of a transaction. */
static int sql_op(sql *s, const wl_op *op)
{
    sqlite3_stmt *st = op->del ? s->del : s->put;
    int rc;

    sqlite3_reset(st);
    sqlite3_bind_blob(st, 1, op->key, (int)op->klen, SQLITE_STATIC);
    if (!op->del)
        sqlite3_bind_blob(st, 2, op->vlen ? (const void *)op->val : "",
                          (int)op->vlen, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : sql_err(rc) ? sql_err(rc) : CL_EINVAL;
}

static int sql_apply(void *h, const wl_txn *t, uint64_t *lsn)
{
    sql *s = h;
    int rc;

    if ((rc = sql_exec(s, "BEGIN")) != 0)
        return rc;
    for (uint32_t i = 0; i < t->nops; i++)
        if ((rc = sql_op(s, &t->ops[i])) != 0) {
            sql_exec(s, "ROLLBACK");
            return rc;
        }
    if ((rc = sql_exec(s, "COMMIT")) != 0) {
        /* After an I/O error SQLite may leave the transaction open (its
         * page "Response To Errors Within A Transaction"): end it, so
         * that the next BEGIN starts afresh. */
        if (!sqlite3_get_autocommit(s->db))
            sql_exec(s, "ROLLBACK");
        return rc;
    }
    /* SQLite reports no durable position: nothing is claimed durable
     * (target_no_durable). */
    *lsn = (uint64_t)t->index + 1;
    return 0;
}

/* The sync call: a checkpoint in WAL mode; an fsync of the directory in
 * the rollback modes (the plain POSIX table's directory sync: its calls
 * reach the interposer like SQLite's own). */
static int sql_sync_call(void *h)
{
    sql *s = h;
    const cl_io *io = cl_io_posix();

    if (sql_journal == SQL_WAL)
        return sql_err(sqlite3_wal_checkpoint_v2(
            s->db, NULL, SQLITE_CHECKPOINT_FULL, NULL, NULL));
    if (sql_sync == SQL_OFF)
        return 0; /* synchronous=OFF never syncs */
    return io->dirsync(io->ctx, s->dir);
}

static oracle_promise sql_promise(const cl_options *o)
{
    (void)o;
    if (sql_sync == SQL_OFF)
        return ORACLE_PROMISE_PROCESS;
    if (sql_sync == SQL_NORMAL)
        return sql_journal == SQL_WAL ? ORACLE_PROMISE_PROCESS_SYNC
                                      : ORACLE_PROMISE_PROCESS;
    if (sql_sync == SQL_FULL && sql_journal == SQL_DELETE)
        return ORACLE_PROMISE_PROCESS_SYNC;
    return ORACLE_PROMISE_ACK;
}

static int sql_read_all(void *h, oracle_map *out)
{
    sql *s = h;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, "SELECT k, v FROM kv", -1, &st, NULL);

    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const void *k = sqlite3_column_blob(st, 0);
        int kl = sqlite3_column_bytes(st, 0);
        const void *v = sqlite3_column_blob(st, 1);
        int vl = sqlite3_column_bytes(st, 1);
        if (oracle_map_put(out, k ? k : "", (size_t)kl, v ? v : "",
                           (size_t)vl) != 0) {
            sqlite3_finalize(st);
            return CL_ENOMEM;
        }
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : sql_err(rc) ? sql_err(rc) : CL_EINVAL;
}

/* A point read: the primary key's index, not the table scan. */
static int sql_get(void *h, const void *key, size_t klen, void **val,
                   size_t *vlen)
{
    sql *s = h;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, "SELECT v FROM kv WHERE k = ?", -1, &st,
                                NULL);
    int out;

    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 1, klen > 0 ? key : "", (int)klen,
                               SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const void *v = sqlite3_column_blob(st, 0);
        out = target_value_copy(v ? v : "", (size_t)sqlite3_column_bytes(st, 0),
                                val, vlen);
    } else if (rc == SQLITE_DONE) {
        out = CL_ENOTFOUND;
    } else {
        out = sql_err(rc) ? sql_err(rc) : CL_EINVAL;
    }
    sqlite3_finalize(st);
    return out;
}

/* PRAGMA integrity_check: one row "ok", or rows naming the damage. */
static int sql_check(void *h, char *msg, size_t len)
{
    sql *s = h;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, "PRAGMA integrity_check", -1, &st, NULL);
    int ok = 0, rows = 0;

    msg[0] = '\0';
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        if (rows++ == 0) {
            ok = t != NULL && strcmp(t, "ok") == 0;
            snprintf(msg, len, "integrity_check: %s", t ? t : "(null)");
        }
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        snprintf(msg, len, "integrity_check failed: %s", sqlite3_errstr(rc));
        return sql_err(rc) ? sql_err(rc) : CL_EINVAL;
    }
    return ok && rows == 1 ? 0 : CL_ECORRUPT;
}

static int sql_close(void *h)
{
    sql *s = h;
    int rc;

    sqlite3_finalize(s->put);
    sqlite3_finalize(s->del);
    s->put = s->del = NULL;
    rc = sqlite3_close(s->db);
    s->db = NULL;
    free(s);
    return sql_err(rc);
}

/* In the rollback-journal modes a transaction leaves nothing behind that a
 * fork loses: SQLite releases its file locks at COMMIT, maps no file, and
 * runs no thread of its own.  WAL mode maps the -shm index shared, which
 * a branch and the writer it came from would then both change. */
static int sql_forkable(void)
{
    return sql_journal != SQL_WAL;
}

const target_ops target_sqlite = {
    .name = "sqlite",
    .about = "SQLite (libsqlite3) through the libc interposer: "
             "--sqlite-journal, --sqlite-sync",
    .open = sql_open,
    .apply = sql_apply,
    .durable = target_no_durable,
    .checkpoint = sql_sync_call,
    .sync = sql_sync_call,
    .promise = sql_promise,
    .read_all = sql_read_all,
    .get = sql_get,
    .check = sql_check,
    .recovery = target_no_recovery,
    .fatal = target_never_fatal,
    .close = sql_close,
    .interposed = 1,
    .sync_error_goes_on = 1,
    .rcrash_fsync_fail = 1,
    .nondurable = "-shm",
    .describe = sql_describe,
    .forkable = sql_forkable,
};
