/*
 * target.h - how the harness talks to the system under test.
 *
 * A target opens (creating or recovering) a database in a directory through
 * a given I/O table, commits workload transactions one at a time, reports
 * how far it is durable, reads everything back, checks its structure and
 * closes, and states what it promises.  The trial loop knows nothing else of
 * it, so other engines (or a server reached over a socket) can be added as
 * targets.  Besides the crashlab engine, three deliberately broken targets
 * prove that the oracle catches what it claims to catch.
 */
#ifndef CL_TARGET_H
#define CL_TARGET_H

#include <stddef.h>
#include <stdint.h>

#include "crashlab.h"
#include "oracle.h"
#include "workload.h"

typedef struct target_ops {
    const char *name;
    const char *about; /* one line for --help */
    /* Open (creating or recovering) the database in dir with options o
     * (o->io is the I/O table to use).  OUT: *h.  Returns 0 or a cl
     * error code (the thread's cl_errdetail says more). */
    int (*open)(const char *dir, const cl_options *o, void **h);
    /* Commit t.  Returns 0 once the target acknowledges it.  OUT: *lsn, a
     * position such that the commit is durable once durable() >= *lsn. */
    int (*apply)(void *h, const wl_txn *t, uint64_t *lsn);
    /* The durable position now. */
    uint64_t (*durable)(void *h);
    int (*checkpoint)(void *h);
    /* Make every commit that returned before durable (cl_sync). */
    int (*sync)(void *h);
    /* What the target promises under options o: which of the commits the
     * workload was told about must survive a crash (oracle.h). */
    oracle_promise (*promise)(const cl_options *o);
    /* Read every key and value into out. */
    int (*read_all)(void *h, oracle_map *out);
    /* Verify the structure: 0, or an error with msg filled. */
    int (*check)(void *h, char *msg, size_t len);
    /* What recovery did at open (zeros if not known). */
    void (*recovery)(void *h, cl_recovery *rep);
    /* 0 while the target takes writes; else the error that made it refuse
     * them until it is reopened (after a failed sync, say). */
    int (*fatal)(void *h);
    int (*close)(void *h);
    /* 1: a close that returns 0 has made every commit durable, as a sync
     * (cl_close documents it); a writer may then close after its last
     * transaction (trial.c), so that crashes come in the close too.  0:
     * writers never close. */
    int close_syncs;
    /* 1: the target makes its file calls through the C library and ignores
     * o->io; its writer runs under the libc interposer linked into
     * crashtest (faults/interpose.h), with the crash core configured as
     * for an I/O table; a recovery crash, and each link of a crash
     * chain (which recovers and goes on with the workload), starts it in
     * the verifier too.  Such a target runs no libfiu error modes or
     * concurrent writers. */
    int interposed;
    /* After a sync that failed: 0, the target refuses writes until it is
     * reopened (fatal; DESIGN rule 6), and a commit acknowledged after the
     * failure is an error-handling violation; 1, it goes on taking
     * commits and promises only that the call whose sync failed (a commit
     * or the sync call) returns an error, and that the failed commit is
     * all there or not at all (it may have passed its commit point). */
    int sync_error_goes_on;
    /* Interposed: 1 if the target also runs recovery-crash (its recovery
     * at open crashed under the interposer), crash chains (recovery and
     * the commits after it crashed so) and fsync-fail, having declared
     * sync_error_goes_on from its documentation. */
    int rcrash_fsync_fail;
    /* Interposed: suffixes (comma-separated, up to IP_NONDURABLE) of files
     * it may map shared and writable, which it rebuilds after a crash; or
     * NULL. */
    const char *nondurable;
    /* Optional: the target's own configuration in words, for the summary
     * (NULL: the engine's options describe it). */
    void (*describe)(char *buf, size_t len);
    /* Optional: the engine's own documented repair of the database in
     * dir, which its open refused (LevelDB's and RocksDB's RepairDB), in
     * place; what it salvaged is then opened and read as ever.  Returns
     * 0 or a cl error code (target_errdetail says more).  NULL: the
     * target has no second stage after a failed open. */
    int (*repair)(const char *dir);
    /* Interposed, optional: 1 if, in the campaign's configuration, the
     * writer's state survives a fork between two transactions with its
     * descriptors reopened on copies of its files: one thread, no file
     * mapped, no lock held from one transaction to the next.  Its error
     * trials then share a writer run up to their fault's transaction and
     * branch off it there, as the engine's do (trial_batch.c).  NULL: 0. */
    int (*forkable)(void);
    /* Interposed, optional: 1 if, in the campaign's configuration, the
     * target works in threads of its own that race the writer's calls
     * (flushes, compactions), so that the I/O points are numbered as the
     * threads come: a replay repeats a trial's parameters, not which call
     * its crash point is.  NULL: 0. */
    int (*background)(void);
    /* Optional: look key up by itself (a point read, not a scan).  0 and
     * OUT: *val (malloc'd; the caller frees it) and *vlen when the key
     * is there, CL_ENOTFOUND when it is not, or another cl error code.
     * NULL: the verifier reads by read_all only. */
    int (*get)(void *h, const void *key, size_t klen, void **val, size_t *vlen);
} target_ops;

/* The target called name, or NULL. */
const target_ops *target_find(const char *name);

/* For a target's get: *val = a malloc'd copy of the vl bytes at v (at
 * least one byte allocated), *vlen = vl.  0 or CL_ENOMEM. */
int target_value_copy(const void *v, size_t vl, void **val, size_t *vlen);

/* For targets whose engine reports neither a durable position nor what
 * its recovery did, and never refuses writes until reopened: durable 0
 * (nothing claimed), a zero recovery report, never fatal. */
uint64_t target_no_durable(void *h);
void target_no_recovery(void *h, cl_recovery *rep);
int target_never_fatal(void *h);
/* 1 if t reports a durable position (its durable is not
 * target_no_durable), so that what it recovered and what it reports
 * durable count as claimed. */
int target_reports_durable(const target_ops *t);

/* 1 if t's writer can branch off a shared run (trial_batch.c): every
 * target of ours (crashio_branch), an interposed one that says it is
 * forkable. */
int target_can_branch(const target_ops *t);

/* 1 if t, in the campaign's configuration, works in threads of its own
 * beside the writer (target_ops.background): a run's points are not
 * numbered the same twice, so no trial shares a writer run with another
 * (trial_batch.c) and none runs fsync-fail. */
int target_is_background(const target_ops *t);

/* The detail of the last error a target op returned in this thread: the
 * engine's own (cl_errdetail) until a target of another engine sets one
 * with target_detail_set (its library's message: RocksDB's status text,
 * mdb_strerror, sqlite3_errstr), which each of them does with every error
 * it maps to a cl error code. */
const char *target_errdetail(void);
void target_detail_set(const char *msg);

/* The sync option of LevelDB's and RocksDB's writes, one for a campaign
 * (target_lsm.c): true, every write synced; false, none; mixed, only the
 * writes the workload follows with a sync or checkpoint call. */
typedef enum target_sync {
    TARGET_SYNC_TRUE = 0,
    TARGET_SYNC_FALSE,
    TARGET_SYNC_MIXED
} target_sync;
/* The setting called name: 0, or -1 (unknown name). */
int target_sync_parse(const char *name, target_sync *out);
const char *target_sync_name(target_sync s);
/* Whether transaction t is written with sync set. */
int target_sync_write(target_sync s, const wl_txn *t);
/* What the setting promises: true ack, false process, mixed
 * process+sync (oracle.h). */
oracle_promise target_sync_promise(target_sync s);

/* For targets whose C API returns a Status as text (LevelDB, RocksDB:
 * target_lsm.c): the cl error code of its code, the name it begins
 * with (Status::ToString), not the message after it: 0 for NULL (OK),
 * CL_ECORRUPT for "Corruption: ", EIO for "IO error: ", else CL_EINVAL. */
int target_status_code(const char *status);

/* LevelDB and RocksDB refuse every write after a failed sync until they
 * are reopened (target_lsm.c says where each documents it), and report
 * that state through no call of their C APIs but the refused writes: the
 * handle keeps the first error it returned to the workload.  A handle
 * whose first member is a target_refusal has its fatal in
 * target_refusal_fatal. */
typedef struct target_refusal {
    int rc; /* 0, or the first error returned */
} target_refusal;
/* Note rc, returned by a write, sync or checkpoint of the handle; returns
 * rc. */
int target_refusal_note(target_refusal *f, int rc);
/* target_ops.fatal of a handle that begins with a target_refusal. */
int target_refusal_fatal(void *h);

/* The keys of a backward walk, each to be strictly below the one before
 * (zero-initialised; target_keyorder_free releases it). */
typedef struct target_keyorder {
    char *prev;
    size_t plen, cap;
    int any;
} target_keyorder;
/* Take key k: 0 if below the previous one (or the first), 1 if not,
 * CL_ENOMEM. */
int target_keyorder_next(target_keyorder *o, const char *k, size_t kl);
void target_keyorder_free(target_keyorder *o);

/* SQLite (target_sqlite.c), and its configuration for the campaign: the
 * journal mode (delete, truncate, persist, wal) and synchronous (off,
 * normal, full, extra).  The setters return 0 or -1 (unknown name). */
extern const target_ops target_sqlite;
int target_sqlite_set_journal(const char *name);
int target_sqlite_set_sync(const char *name);

/* LMDB (target_lmdb.c), and its flags for the campaign: default,
 * nometasync or nosync.  Returns 0, -1 (unknown name) or -2 (writemap:
 * known, but the interposer cannot see writes through LMDB's map). */
extern const target_ops target_lmdb;
int target_lmdb_set_flags(const char *name);

/* LevelDB (target_leveldb.c), and how its writes sync: true, false, or
 * mixed (sync=true only for the writes a sync or checkpoint call
 * follows).  Returns 0 or -1 (unknown name). */
extern const target_ops target_leveldb;
int target_leveldb_set_sync(const char *name);

/* RocksDB (target_rocksdb.c), and how its writes sync: true, false or
 * mixed, as LevelDB's.  Returns 0 or -1 (unknown name). */
extern const target_ops target_rocksdb;
int target_rocksdb_set_sync(const char *name);
/* "deterministic" (the default: no background work races the writer)
 * or "background" (automatic flushes and compactions on).  0 or -1. */
int target_rocksdb_set_profile(const char *name);

#endif
