/*
 * db.c - the public entry points: open (create), close, batches and
 * commits, reads, scans, checkpoints, stats.
 *
 * Divisions:
 *   options and names
 *   opening, creating and closing
 *   write batches and commits
 *   reads and scans
 *   checkpoints, sync, stats
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "btree.h"
#include "coding.h"
#include "db.h"
#include "errors.h"
#include "mem.h"
#include "page.h"

#define DB_DEFAULT_POOL (64ull << 20)
#define DB_DEFAULT_CKPT (64ull << 20)
#define DB_DEFAULT_SEGMENT (16ull << 20)
#define DB_DEFAULT_PERIOD_MS 100

/* ---------------------------------------------------------------------- */
/* options and names                                                      */
/* ---------------------------------------------------------------------- */

static const char *const db_sync_names[] = {"default", "off", "commit", "group",
                                            "periodic"};
static const char *const db_torn_names[] = {"default", "none", "fpw", "dwb"};
static const char *const db_ckpt_names[] = {"default", "inline", "spread",
                                            "background"};

const char *cl_sync_name(cl_sync_mode m)
{
    return (unsigned)m <= CL_SYNC_PERIODIC ? db_sync_names[m] : "?";
}

const char *cl_torn_name(cl_torn_mode m)
{
    return (unsigned)m <= CL_TORN_DWB ? db_torn_names[m] : "?";
}

const char *cl_ckpt_name(cl_ckpt_mode m)
{
    return (unsigned)m <= CL_CKPT_BACKGROUND ? db_ckpt_names[m] : "?";
}

/* The index in names[1..last] of the name s (index 0, "default", is not
 * parsed), or -1. */
static int db_name_index(const char *const *names, int last, const char *s)
{
    err_clear();
    for (int i = 1; s != NULL && i <= last; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

int cl_sync_parse(const char *s, cl_sync_mode *m)
{
    int i = db_name_index(db_sync_names, CL_SYNC_PERIODIC, s);

    if (i < 0)
        return CL_EINVAL;
    *m = (cl_sync_mode)i;
    return 0;
}

int cl_torn_parse(const char *s, cl_torn_mode *m)
{
    int i = db_name_index(db_torn_names, CL_TORN_DWB, s);

    if (i < 0)
        return CL_EINVAL;
    *m = (cl_torn_mode)i;
    return 0;
}

int cl_ckpt_parse(const char *s, cl_ckpt_mode *m)
{
    int i = db_name_index(db_ckpt_names, CL_CKPT_BACKGROUND, s);

    if (i < 0)
        return CL_EINVAL;
    *m = (cl_ckpt_mode)i;
    return 0;
}

/* Fill in defaults and check ranges. */
static int db_resolve_options(const cl_options *in, cl_options *o)
{
    if (in != NULL)
        *o = *in;
    else
        memset(o, 0, sizeof(*o));
    if ((unsigned)o->sync > CL_SYNC_PERIODIC ||
        (unsigned)o->torn > CL_TORN_DWB ||
        (unsigned)o->checkpoint_mode > CL_CKPT_BACKGROUND)
        return err_set(CL_EINVAL, "unknown sync, torn-page or checkpoint mode");
    if (o->checkpoint_mode == CL_CKPT_DEFAULT)
        o->checkpoint_mode = CL_CKPT_INLINE;
    if (o->sync == CL_SYNC_DEFAULT)
        o->sync = CL_SYNC_GROUP;
    if (o->torn == CL_TORN_DEFAULT)
        o->torn = CL_TORN_FPW;
    if (o->sync_period_ms == 0)
        o->sync_period_ms = DB_DEFAULT_PERIOD_MS;
    if (o->page_size == 0)
        o->page_size = PG_SIZE_DEFAULT;
    if (o->page_size < PG_SIZE_MIN || o->page_size > PG_SIZE_MAX ||
        (o->page_size & (o->page_size - 1)) != 0)
        return err_set(CL_EINVAL,
                       "page size %u is not a power of two in 4096..65536",
                       o->page_size);
    if (o->pool_bytes == 0)
        o->pool_bytes = DB_DEFAULT_POOL;
    if (o->pool_bytes < (256u << 10))
        return err_set(CL_EINVAL, "buffer pool of %llu bytes is below 256 KiB",
                       (unsigned long long)o->pool_bytes);
    if (o->checkpoint_bytes == 0)
        o->checkpoint_bytes = DB_DEFAULT_CKPT;
    if (o->segment_bytes == 0)
        o->segment_bytes = DB_DEFAULT_SEGMENT;
    if (o->segment_bytes < (64u << 10))
        return err_set(CL_EINVAL, "log segments below 64 KiB");
    if (o->io == NULL)
        o->io = cl_io_posix();
    return 0;
}

int cl_options_check(const cl_options *opt)
{
    cl_options o;

    err_clear();
    return db_resolve_options(opt, &o);
}

/* ---------------------------------------------------------------------- */
/* opening, creating and closing                                          */
/* ---------------------------------------------------------------------- */

static char *db_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *s = malloc(n);

    if (s != NULL)
        snprintf(s, n, "%s/%s", dir, name);
    return s;
}

/* The directory containing path ("." if none). */
static char *db_parent(const char *path)
{
    const char *slash = strrchr(path, '/');

    if (slash == NULL)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

/* Log segment numbers probed for a log left without its page file
 * (db_check_no_log). */
#define DB_PROBE_SEGMENTS 256

/* Is a directory without a page file free of a database's log?  The page
 * file is what makes a directory a database, but a log without it is not
 * an empty directory: it is a database whose page file was lost, and
 * creating a new database there would overwrite segment 1 and leave the
 * rest unreadable.  The I/O table cannot list a directory, so this probes
 * names: the doublewrite file, and log segments 1..DB_PROBE_SEGMENTS.
 * Segment 1 with at most its header is what a create that crashed before
 * installing the page file leaves (db_create), and the create overwrites
 * it; segment 1 with records, any later segment, or a doublewrite file
 * come only from a database that had its page file.  Not detected: a log
 * whose segments are all numbered past DB_PROBE_SEGMENTS (every checkpoint
 * starts a new segment and removes the older ones, so a database
 * checkpointed that many times), and files of other names.  Returns 0,
 * CL_ECORRUPT naming the file, or an errno. */
static int db_check_no_log(cl_db *db)
{
    const cl_io *io = db->io;
    char path[4096];
    uint64_t len = 0;
    int fd = -1, rc;

    for (uint64_t segno = 0; segno <= DB_PROBE_SEGMENTS; segno++) {
        /* 0: the doublewrite file */
        if (segno == 0)
            snprintf(path, sizeof(path), "%s", db->dwb_path);
        else
            wal_seg_path(path, sizeof(path), db->dir, segno);
        rc = io->open(io->ctx, path, CL_IO_RDONLY, &fd);
        if (rc == ENOENT)
            continue;
        if (rc != 0)
            return err_set(rc, "%s: cannot open", path);
        rc = io->filesize(io->ctx, fd, &len);
        io->close(io->ctx, fd);
        if (rc != 0)
            return err_set(rc, "%s: cannot stat", path);
        if (segno == 1 && len <= WAL_SEG_HDR_SIZE)
            continue;
        return err_set_at(CL_ECORRUPT, CL_ERRK_STRUCTURE, path,
                          CL_ERR_NO_OFFSET, 0,
                          "%s: no page file (%s), but %s is there: the "
                          "database lost its page file (it is not created "
                          "again over its log)",
                          db->dir, DB_PAGES_NAME, path);
    }
    return 0;
}

/* Create a new, empty database in db->dir.  Recipe:
 *   1. create log segment 1 starting at LSN 0 (header synced, directory
 *      synced);
 *   2. write the page file under a temporary name: page 0 with superblock
 *      slot 1 {seq 1, ckpt_lsn 0, ckpt_segno 1}, page 1 the meta page of an
 *      empty tree; fsync it;
 *   3. rename it to "pages" and fsync the directory.
 * "pages" therefore exists only complete, and its existence is what makes
 * a directory a database; a crash before step 3 leaves files that the next
 * open overwrites. */
static int db_create(cl_db *db)
{
    const cl_io *io = db->io;
    uint32_t ps = db->opt.page_size;
    char *tmp = db_join(db->dir, DB_PAGES_TMP_NAME);
    uint8_t *buf = calloc(2, ps);
    sb_state sb;
    uint64_t salt = db->opt.create_salt;
    int fd = -1, rc;

    if (tmp == NULL || buf == NULL) {
        rc = CL_ENOMEM;
        goto out;
    }
    while (salt == 0)
        if (getrandom(&salt, sizeof(salt), 0) != sizeof(salt))
            salt = (uint64_t)time(NULL) * 0x9E3779B97F4A7C15ull;
    db->wcfg.io = io;
    db->wcfg.dir = db->dir;
    db->wcfg.db_salt = salt;
    db->wcfg.segment_bytes = db->opt.segment_bytes;
    if ((rc = wal_create_segment(&db->wcfg, 1, 0)) != 0) /* 1 */
        goto out;

    memset(&sb, 0, sizeof(sb)); /* 2 */
    sb.seq = 1;
    sb.page_size = ps;
    sb.salt = salt;
    sb.ckpt_lsn = 0;
    sb.ckpt_segno = 1;
    sb.old_segno = 1;
    sb_encode(buf + SB_SLOT1_OFF, &sb);
    buf[ps + PG_OFF_TYPE] = PG_TYPE_META;
    put_le32(buf + ps + PG_META_OFF_MAGIC, PG_META_MAGIC);
    put_le32(buf + ps + PG_META_OFF_NPAGES, PG_FIRST_DATA);
    page_seal(buf + ps, ps, PG_META, page_crc_seed(salt));
    rc = io->open(io->ctx, tmp, CL_IO_RDWR | CL_IO_CREATE, &fd);
    if (rc == 0 && (rc = io->ftruncate(io->ctx, fd, 0)) == 0 &&
        (rc = io->pwrite(io->ctx, fd, buf, 2 * (size_t)ps, 0)) == 0)
        rc = io->fsync(io->ctx, fd);
    if (fd >= 0)
        io->close(io->ctx, fd);
    if (rc != 0) {
        err_set(rc, "%s: cannot write the new page file", tmp);
        goto out;
    }
    rc = io->rename(io->ctx, tmp, db->pages_path); /* 3 */
    if (rc == 0)
        rc = io->dirsync(io->ctx, db->dir);
    if (rc != 0)
        err_set(rc, "%s: cannot install the new page file", db->pages_path);
out:
    free(tmp);
    free(buf);
    return rc;
}

static void *db_syncer_main(void *arg)
{
    cl_db *db = arg;
    struct timespec ts;

    pthread_mutex_lock(&db->syncer_mu);
    while (!db->syncer_stop) {
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)(db->opt.sync_period_ms % 1000) * 1000000L;
        ts.tv_sec += db->opt.sync_period_ms / 1000 + ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&db->syncer_cv, &db->syncer_mu, &ts);
        if (db->syncer_stop)
            break;
        pthread_mutex_unlock(&db->syncer_mu);
        if (atomic_load(&db->fatal) == 0) {
            int rc = wal_sync(db->log, wal_written(db->log));
            if (rc != 0)
                db_poison(db, rc);
        }
        pthread_mutex_lock(&db->syncer_mu);
    }
    pthread_mutex_unlock(&db->syncer_mu);
    return NULL;
}

static void db_free(cl_db *db)
{
    ckpt_stop(db);
    if (db->syncer_running) {
        pthread_mutex_lock(&db->syncer_mu);
        db->syncer_stop = 1;
        pthread_cond_signal(&db->syncer_cv);
        pthread_mutex_unlock(&db->syncer_mu);
        pthread_join(db->syncer, NULL);
    }
    wal_close(db->log);
    pager_close(db->pg);
    if (db->lock_fd >= 0)
        db->io->unlock(db->io->ctx, db->lock_fd);
    pthread_mutex_destroy(&db->syncer_mu);
    pthread_cond_destroy(&db->syncer_cv);
    pthread_mutex_destroy(&db->ckpt_mu);
    pthread_mutex_destroy(&db->ckpter_mu);
    pthread_cond_destroy(&db->ckpter_cv);
    pthread_cond_destroy(&db->ckpt_recorded_cv);
    pthread_rwlock_destroy(&db->tree);
    pthread_mutex_destroy(&db->wlock);
    free(db->dir);
    free(db->pages_path);
    free(db->dwb_path);
    free(db->lock_path);
    free(db);
}

int cl_open(const char *dir, const cl_options *opt, cl_db **out)
{
    pthread_rwlockattr_t rwa;
    cl_db *db;
    int rc, fd, created = 0, made_dir;

    err_clear();
    if (dir == NULL || dir[0] == '\0' || out == NULL)
        return err_set(CL_EINVAL, "cl_open: no directory or handle");
    db = calloc(1, sizeof(*db));
    if (db == NULL)
        return CL_ENOMEM;
    db->lock_fd = -1;
    pthread_mutex_init(&db->wlock, NULL);
    pthread_rwlockattr_init(&rwa);
    /* Writers first: with glibc's default (readers first) a stream of
     * overlapping readers keeps a committer waiting for as long as it
     * lasts.  No thread takes the tree lock for reading twice (a scan's
     * callback runs without it), which writer preference would deadlock. */
    pthread_rwlockattr_setkind_np(&rwa,
                                  PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&db->tree, &rwa);
    pthread_rwlockattr_destroy(&rwa);
    pthread_mutex_init(&db->syncer_mu, NULL);
    pthread_cond_init(&db->syncer_cv, NULL);
    pthread_mutex_init(&db->ckpt_mu, NULL);
    pthread_mutex_init(&db->ckpter_mu, NULL);
    pthread_cond_init(&db->ckpter_cv, NULL);
    pthread_cond_init(&db->ckpt_recorded_cv, NULL);
    if ((rc = db_resolve_options(opt, &db->opt)) != 0)
        goto fail;
    db->io = db->opt.io;
    db->dir = strdup(dir);
    db->pages_path = db_join(dir, DB_PAGES_NAME);
    db->dwb_path = db_join(dir, DB_DWB_NAME);
    db->lock_path = db_join(dir, DB_LOCK_NAME);
    if (!db->dir || !db->pages_path || !db->dwb_path || !db->lock_path) {
        rc = CL_ENOMEM;
        goto fail;
    }

    /* no_create: a database that is not there is an error before anything
     * is made, not the directory and not LOCK. */
    if (db->opt.no_create) {
        rc = db->io->open(db->io->ctx, db->pages_path, CL_IO_RDONLY, &fd);
        if (rc == ENOENT) {
            /* a log without its page file is damage, not no database */
            if ((rc = db_check_no_log(db)) == 0)
                rc = err_set(ENOENT, "%s: no such database", dir);
            goto fail;
        }
        if (rc != 0) {
            err_set(rc, "%s: cannot open", db->pages_path);
            goto fail;
        }
        db->io->close(db->io->ctx, fd);
    }

    rc = db->io->mkdir(db->io->ctx, dir);
    made_dir = rc == 0;
    if (rc == 0) {
        char *parent = db_parent(dir);
        rc = parent ? db->io->dirsync(db->io->ctx, parent) : CL_ENOMEM;
        free(parent);
        if (rc != 0) {
            err_set(rc, "%s: cannot sync the parent directory", dir);
            goto fail;
        }
    } else if (rc != EEXIST) {
        err_set(rc, "%s: cannot create the database directory", dir);
        goto fail;
    }

    rc = db->io->lock(db->io->ctx, db->lock_path, &db->lock_fd);
    if (rc == EWOULDBLOCK || rc == EAGAIN) {
        db->lock_fd = -1;
        rc = err_set(CL_ELOCKED, "%s is held by another process or handle",
                     db->lock_path);
        goto fail;
    }
    if (rc != 0) {
        db->lock_fd = -1;
        err_set(rc, "%s: cannot lock", db->lock_path);
        goto fail;
    }

    rc = db->io->open(db->io->ctx, db->pages_path, CL_IO_RDONLY, &fd);
    if (rc == 0) {
        db->io->close(db->io->ctx, fd);
    } else if (rc == ENOENT && !db->opt.no_create) {
        /* a directory just made has no log to look for */
        if ((!made_dir && (rc = db_check_no_log(db)) != 0) ||
            (rc = db_create(db)) != 0)
            goto fail;
        created = 1;
    } else {
        err_set(rc, "%s: cannot open", db->pages_path);
        goto fail;
    }

    cl_io_activity(db->io, CL_ACT_RECOVERY, 1);
    rc = rec_run(db);
    cl_io_activity(db->io, CL_ACT_RECOVERY, 0);
    if (rc != 0)
        goto fail;
    db->rec.created = created;
    atomic_store(&db->roll_lsn, db->sb.ckpt_lsn);
    atomic_store(&db->ckpt_lsn, db->sb.ckpt_lsn);
    if ((rc = ckpt_start(db)) != 0)
        goto fail;
    if (db->opt.sync == CL_SYNC_PERIODIC) {
        if (pthread_create(&db->syncer, NULL, db_syncer_main, db) != 0) {
            rc = err_set(CL_ENOMEM, "cannot start the sync thread");
            goto fail;
        }
        db->syncer_running = 1;
    }
    *out = db;
    return 0;
fail:
    db_free(db);
    return rc;
}

static int db_readonly_error(cl_db *db);

int cl_close(cl_db *db)
{
    int rc = 0;

    err_clear();
    if (db == NULL)
        return CL_EINVAL;
    if (!db->opt.no_close_checkpoint && atomic_load(&db->fatal) == 0 &&
        db->log != NULL && wal_written(db->log) != atomic_load(&db->ckpt_lsn)) {
        /* the commits first: a checkpoint that fails (a page found
         * damaged when its redo reads it) leaves them durable */
        if ((rc = cl_sync(db)) == 0)
            rc = cl_checkpoint(db);
    }
    ckpt_stop(db); /* a checkpoint in progress is left unrecorded */
    pthread_mutex_lock(&db->wlock);
    if (atomic_load(&db->fatal) == 0 && db->log != NULL) {
        int frc = wal_finish(db->log);
        if (rc == 0)
            rc = frc;
    } else if (rc == 0 && atomic_load(&db->fatal) != 0) {
        /* commits it acknowledged before the failure may not be durable:
         * this close makes none */
        rc = db_readonly_error(db);
    }
    pthread_mutex_unlock(&db->wlock);
    db_free(db);
    return rc;
}

/* ---------------------------------------------------------------------- */
/* write batches and commits                                              */
/* ---------------------------------------------------------------------- */

enum { DB_OP_PUT = 1, DB_OP_DEL = 2 };

/* One operation: key and value either point at the caller's bytes (cl_put,
 * cl_delete) or, when NULL, are at koff/voff in the batch's own buffer. */
typedef struct db_op {
    int type;
    const uint8_t *k;
    size_t klen;
    const uint8_t *v;
    size_t vlen;
    size_t koff, voff;
} db_op;

struct cl_batch {
    db_op *ops;
    size_t nops, capops;
    uint8_t *bytes;
    size_t nbytes, capbytes;
};

static int db_check_key(const void *key, size_t klen)
{
    if (key == NULL || klen == 0)
        return err_set(CL_EINVAL, "empty or NULL key");
    if (klen > CL_KEY_MAX)
        return err_set(CL_ETOOBIG, "key of %zu bytes exceeds %d", klen,
                       CL_KEY_MAX);
    return 0;
}

static int db_check_value(const void *val, size_t vlen)
{
    if (val == NULL && vlen > 0)
        return err_set(CL_EINVAL, "NULL value of %zu bytes", vlen);
    if (vlen > CL_VALUE_MAX)
        return err_set(CL_ETOOBIG, "value of %zu bytes exceeds %d", vlen,
                       CL_VALUE_MAX);
    return 0;
}

int cl_batch_new(cl_batch **b)
{
    err_clear();
    if (b == NULL)
        return CL_EINVAL;
    *b = calloc(1, sizeof(**b));
    return *b != NULL ? 0 : CL_ENOMEM;
}

static int db_batch_add(cl_batch *b, int type, const void *key, size_t klen,
                        const void *val, size_t vlen)
{
    db_op *op;

    if (mem_grow(&b->ops, &b->capops, b->nops + 1, sizeof(*b->ops), 16) != 0)
        return CL_ENOMEM;
    if (b->nbytes + klen + vlen > b->capbytes) {
        size_t cap = b->capbytes ? b->capbytes : 1024;
        uint8_t *n;
        while (cap < b->nbytes + klen + vlen)
            cap *= 2;
        if ((n = realloc(b->bytes, cap)) == NULL)
            return CL_ENOMEM;
        b->bytes = n;
        b->capbytes = cap;
    }
    op = &b->ops[b->nops++];
    op->type = type;
    op->k = NULL;
    op->v = NULL;
    op->koff = b->nbytes;
    op->klen = klen;
    memcpy(b->bytes + b->nbytes, key, klen);
    b->nbytes += klen;
    op->voff = b->nbytes;
    op->vlen = vlen;
    if (vlen > 0)
        memcpy(b->bytes + b->nbytes, val, vlen);
    b->nbytes += vlen;
    return 0;
}

int cl_batch_put(cl_batch *b, const void *key, size_t klen, const void *val,
                 size_t vlen)
{
    int rc;

    err_clear();
    if (b == NULL)
        return CL_EINVAL;
    if ((rc = db_check_key(key, klen)) != 0 ||
        (rc = db_check_value(val, vlen)) != 0)
        return rc;
    return db_batch_add(b, DB_OP_PUT, key, klen, val, vlen);
}

int cl_batch_delete(cl_batch *b, const void *key, size_t klen)
{
    int rc;

    err_clear();
    if (b == NULL)
        return CL_EINVAL;
    if ((rc = db_check_key(key, klen)) != 0)
        return rc;
    return db_batch_add(b, DB_OP_DEL, key, klen, NULL, 0);
}

size_t cl_batch_count(const cl_batch *b)
{
    return b != NULL ? b->nops : 0;
}

void cl_batch_clear(cl_batch *b)
{
    if (b != NULL) {
        b->nops = 0;
        b->nbytes = 0;
    }
}

void cl_batch_free(cl_batch *b)
{
    if (b != NULL) {
        free(b->ops);
        free(b->bytes);
        free(b);
    }
}

static int db_readonly_error(cl_db *db)
{
    return db_refuse(db, "read-only after an earlier failure; reopen the "
                         "database to recover");
}

/* Commit recipe:
 *   1. under the writer lock and the tree lock (exclusive), apply the
 *      batch to the B+tree in the buffer pool; the pager keeps a
 *      before-image of every page touched;
 *   2. encode the changed pages as one log record and append it (one
 *      write): the record is the unit of atomicity, a crash keeps all of
 *      it or none;
 *   3. stamp the pages with the record's end LSN (rule 1 now holds them
 *      back until the log is durable that far) and release the tree;
 *   4. make the record durable as the sync mode asks: commit mode syncs
 *      under the writer lock, group mode after releasing it so that
 *      commits arriving meanwhile share the next sync.
 * A failure before step 2 completes rolls the pages back from their
 * before-images.  A failure after it (a failed sync) cannot be rolled back
 * and makes the handle read-only. */
/* cl_commit, but for telling the I/O table's listener that this
 * transaction's changes are over (cl_io.activity, CL_ACT_TXN). */
static int db_commit(cl_db *db, const cl_batch *b, uint64_t *lsn_out)
{
    const uint8_t *payload;
    size_t len = 0;
    uint64_t end = 0, puts = 0, dels = 0;
    int rc = 0, appending = 0;

    err_clear();
    if (db == NULL || b == NULL)
        return err_set(CL_EINVAL, "cl_commit: NULL argument");
    if (atomic_load(&db->fatal) != 0)
        return db_readonly_error(db);
    if (db->opt.sync == CL_SYNC_GROUP)
        wal_group_enter(db->log);
    pthread_mutex_lock(&db->wlock);
    if (atomic_load(&db->fatal) != 0) {
        rc = db_readonly_error(db);
        goto unlock_w;
    }
    pthread_rwlock_wrlock(&db->tree);
    pg_txn_begin(db->pg); /* 1 */
    for (size_t i = 0; i < b->nops && rc == 0; i++) {
        const db_op *op = &b->ops[i];
        const uint8_t *k = op->k ? op->k : b->bytes + op->koff;
        const uint8_t *v = op->v != NULL ? op->v
                           : b->bytes    ? b->bytes + op->voff
                                         : NULL;
        if (op->type == DB_OP_PUT) {
            rc = bt_put(db->pg, k, op->klen, v, op->vlen);
            puts++;
        } else {
            rc = bt_delete(db->pg, k, op->klen);
            if (rc == CL_ENOTFOUND)
                rc = 0;
            else
                dels++;
        }
    }
    if (rc == 0)
        rc = pg_txn_encode(db->pg, atomic_load(&db->roll_lsn), &payload, &len);
    if (rc == 0 && len > 0) { /* 2 */
        appending = 1;
        rc = wal_append(db->log, WAL_TXN, payload, len, &end);
    }
    if (rc != 0) {
        pg_txn_abort(db->pg);
        pthread_rwlock_unlock(&db->tree);
        /* An I/O failure while changing pages (a page write-back, with
         * the syncs it makes: a full disk there may have come from an
         * fsync) or a damaged tree: no more writes through this handle.
         * A full disk on the log append or a batch too large for the pool
         * is only this commit's failure. */
        if (wal_fatal(db->log) != 0 || rc == CL_ECORRUPT ||
            (rc > 0 && !(appending && (rc == ENOSPC || rc == EDQUOT))))
            db_poison(db, rc);
        goto unlock_w;
    }
    if (len == 0)
        end = wal_written(db->log);
    pg_txn_finish(db->pg, end); /* 3 */
    pthread_rwlock_unlock(&db->tree);
    atomic_fetch_add(&db->commits, 1);
    atomic_fetch_add(&db->puts, puts);
    atomic_fetch_add(&db->deletes, dels);

    if ((rc = ckpt_after_commit(db, end)) != 0)
        goto unlock_w;

    if (db->opt.sync == CL_SYNC_COMMIT) { /* 4 */
        rc = wal_sync(db->log, end);
    } else if (db->opt.sync == CL_SYNC_GROUP) {
        pthread_mutex_unlock(&db->wlock);
        rc = wal_sync_group(db->log, end);
        wal_group_leave(db->log);
        if (rc != 0)
            db_poison(db, rc);
        else if (lsn_out != NULL)
            *lsn_out = end;
        return rc;
    }
    if (rc != 0)
        db_poison(db, rc);
    else if (lsn_out != NULL)
        *lsn_out = end;
unlock_w:
    pthread_mutex_unlock(&db->wlock);
    if (db->opt.sync == CL_SYNC_GROUP)
        wal_group_leave(db->log);
    return rc;
}

int cl_commit(cl_db *db, const cl_batch *b, uint64_t *lsn_out)
{
    int rc = db_commit(db, b, lsn_out);

    if (db != NULL)
        cl_io_activity(db->io, CL_ACT_TXN, 0);
    if (rc == 0)
        ckpt_throttle(db);
    return rc;
}

int cl_put(cl_db *db, const void *key, size_t klen, const void *val,
           size_t vlen)
{
    err_clear();
    db_op op = {DB_OP_PUT, key, klen, val, vlen};
    cl_batch b = {&op, 1, 1, NULL, 0, 0};
    int rc;

    if (db == NULL)
        return CL_EINVAL;
    if ((rc = db_check_key(key, klen)) != 0 ||
        (rc = db_check_value(val, vlen)) != 0)
        return rc;
    return cl_commit(db, &b, NULL);
}

int cl_delete(cl_db *db, const void *key, size_t klen)
{
    err_clear();
    db_op op = {DB_OP_DEL, key, klen, NULL, 0};
    cl_batch b = {&op, 1, 1, NULL, 0, 0};
    size_t vlen;
    int rc;

    if (db == NULL)
        return CL_EINVAL;
    if ((rc = db_check_key(key, klen)) != 0)
        return rc;
    /* Absent: nothing to log.  (A concurrent commit may insert it in
     * between; the delete then simply runs after that commit.) */
    if ((rc = cl_get(db, key, klen, NULL, 0, &vlen)) != 0)
        return rc;
    return cl_commit(db, &b, NULL);
}

/* ---------------------------------------------------------------------- */
/* reads and scans                                                        */
/* ---------------------------------------------------------------------- */

int cl_get(cl_db *db, const void *key, size_t klen, void *buf, size_t cap,
           size_t *vlen)
{
    size_t n = 0;
    int rc;

    err_clear();
    if (db == NULL || vlen == NULL || (buf == NULL && cap > 0))
        return err_set(CL_EINVAL, "cl_get: NULL argument");
    if ((rc = db_check_key(key, klen)) != 0)
        return rc;
    pthread_rwlock_rdlock(&db->tree);
    rc = bt_get(db->pg, key, klen, buf, cap, &n);
    pthread_rwlock_unlock(&db->tree);
    atomic_fetch_add(&db->gets, 1);
    if (rc == 0)
        *vlen = n;
    return rc;
}

int cl_get_alloc(cl_db *db, const void *key, size_t klen, void **val,
                 size_t *vlen)
{
    size_t n = 0, n2 = 0;
    void *v;
    int rc;

    err_clear();
    if (db == NULL || val == NULL || vlen == NULL)
        return err_set(CL_EINVAL, "cl_get_alloc: NULL argument");
    if ((rc = db_check_key(key, klen)) != 0)
        return rc;
    pthread_rwlock_rdlock(&db->tree);
    rc = bt_get(db->pg, key, klen, NULL, 0, &n);
    if (rc == 0) {
        v = malloc(n > 0 ? n : 1);
        if (v == NULL)
            rc = CL_ENOMEM;
        else if ((rc = bt_get(db->pg, key, klen, v, n, &n2)) != 0)
            free(v);
    }
    pthread_rwlock_unlock(&db->tree);
    atomic_fetch_add(&db->gets, 1);
    if (rc == 0) {
        *val = v;
        *vlen = n;
    }
    return rc;
}

/* Keys compare by memcmp of the common prefix, then shorter first. */
static int db_keycmp(const void *a, size_t alen, const void *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);

    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen;
}

/* A chunk of scanned entries, copied out under the tree lock and handed to
 * the caller's callback without it.  Entry: klen u32, vlen u32, key, value. */
typedef struct db_chunk {
    uint8_t *buf;
    size_t len, cap, n;
    const uint8_t *prefix;
    size_t prefixlen;
    size_t want; /* entries still wanted (SIZE_MAX: no limit) */
    int full;    /* stopped because the chunk is full */
    int done;    /* stopped because the prefix range ended */
} db_chunk;

#define DB_CHUNK_BYTES (1u << 20)
#define DB_CHUNK_ENTRIES 4096u

static int db_chunk_add(void *ctx, const void *k, size_t klen, const void *v,
                        size_t vlen)
{
    db_chunk *c = ctx;
    size_t need = 8 + klen + vlen;

    if (c->prefixlen > 0 &&
        (klen < c->prefixlen || memcmp(k, c->prefix, c->prefixlen) != 0)) {
        c->done = 1;
        return 1;
    }
    if (c->n > 0 && (c->len + need > c->cap || c->n >= DB_CHUNK_ENTRIES ||
                     c->n >= c->want)) {
        c->full = 1;
        return 1;
    }
    if (c->len + need > c->cap) {
        size_t cap = c->cap ? c->cap : DB_CHUNK_BYTES;
        uint8_t *b;
        while (cap < c->len + need)
            cap *= 2;
        if ((b = realloc(c->buf, cap)) == NULL) {
            c->full = 1;
            return 1;
        }
        c->buf = b;
        c->cap = cap;
    }
    put_le32(c->buf + c->len, (uint32_t)klen);
    put_le32(c->buf + c->len + 4, (uint32_t)vlen);
    memcpy(c->buf + c->len + 8, k, klen);
    if (vlen > 0)
        memcpy(c->buf + c->len + 8 + klen, v, vlen);
    c->len += need;
    c->n++;
    return 0;
}

int cl_scan(cl_db *db, const void *start, size_t startlen, const void *prefix,
            size_t prefixlen, size_t limit, cl_scan_fn fn, void *ctx)
{
    err_clear();
    db_chunk c;
    uint8_t *from = NULL;
    size_t fromlen = 0, seen = 0;
    int exclusive = 0, rc = 0;

    if (db == NULL || fn == NULL || (prefix == NULL && prefixlen > 0) ||
        (start == NULL && startlen > 0))
        return err_set(CL_EINVAL, "cl_scan: NULL argument");
    memset(&c, 0, sizeof(c));
    c.prefix = prefix;
    c.prefixlen = prefixlen;
    if (limit == 0)
        limit = SIZE_MAX;
    /* Start at the later of start and prefix. */
    if (prefixlen > 0 &&
        (start == NULL || db_keycmp(start, startlen, prefix, prefixlen) < 0)) {
        start = prefix;
        startlen = prefixlen;
    }
    if (start != NULL) {
        from = malloc(startlen > 0 ? startlen : 1);
        if (from == NULL)
            return CL_ENOMEM;
        memcpy(from, start, startlen);
        fromlen = startlen;
    }
    for (;;) {
        size_t off = 0;
        c.len = 0;
        c.n = 0;
        c.full = 0;
        c.want = limit - seen;
        pthread_rwlock_rdlock(&db->tree);
        rc = bt_scan(db->pg, from, fromlen, exclusive, db_chunk_add, &c);
        pthread_rwlock_unlock(&db->tree);
        if (rc != 0)
            break;
        for (size_t i = 0; i < c.n; i++) {
            uint32_t kl = get_le32(c.buf + off), vl = get_le32(c.buf + off + 4);
            const uint8_t *k = c.buf + off + 8;
            if (fn(ctx, k, kl, k + kl, vl) != 0) {
                c.done = 1;
                break;
            }
            off += 8 + (size_t)kl + vl;
            if (++seen >= limit) {
                c.done = 1;
                break;
            }
        }
        if (c.done || !c.full || c.n == 0)
            break;
        /* Continue after the last key delivered. */
        {
            size_t last = 0, o = 0;
            for (size_t i = 0; i < c.n; i++) {
                last = o;
                o += 8 + (size_t)get_le32(c.buf + o) + get_le32(c.buf + o + 4);
            }
            fromlen = get_le32(c.buf + last);
            free(from);
            from = malloc(fromlen);
            if (from == NULL) {
                rc = CL_ENOMEM;
                break;
            }
            memcpy(from, c.buf + last + 8, fromlen);
            exclusive = 1;
        }
    }
    free(from);
    free(c.buf);
    return rc;
}

/* ---------------------------------------------------------------------- */
/* checkpoints, sync, stats                                               */
/* ---------------------------------------------------------------------- */

int cl_checkpoint(cl_db *db)
{
    int rc;

    err_clear();
    if (db == NULL)
        return CL_EINVAL;
    if (db->opt.checkpoint_mode == CL_CKPT_BACKGROUND)
        return ckpt_run(db); /* takes the writer lock for the roll */
    pthread_mutex_lock(&db->wlock);
    rc = ckpt_run(db);
    pthread_mutex_unlock(&db->wlock);
    return rc;
}

int cl_sync(cl_db *db)
{
    int rc;

    err_clear();
    if (db == NULL)
        return CL_EINVAL;
    if (atomic_load(&db->fatal) != 0)
        return db_readonly_error(db);
    rc = wal_sync(db->log, wal_written(db->log));
    if (rc != 0)
        db_poison(db, rc);
    return rc;
}

uint64_t cl_durable_lsn(cl_db *db)
{
    err_clear();
    return db != NULL ? wal_durable(db->log) : 0;
}

int cl_stats_get(cl_db *db, cl_stats *st)
{
    err_clear();
    pager_stats ps;
    wal_stats ws;

    if (db == NULL || st == NULL)
        return CL_EINVAL;
    memset(st, 0, sizeof(*st));
    pager_stats_get(db->pg, &ps, &st->pool_pages, &st->dirty_pages);
    wal_stats_get(db->log, &ws);
    st->commits = atomic_load(&db->commits);
    st->puts = atomic_load(&db->puts);
    st->deletes = atomic_load(&db->deletes);
    st->gets = atomic_load(&db->gets);
    st->checkpoints = atomic_load(&db->checkpoints);
    st->wal_records = ws.records;
    st->wal_bytes = ws.bytes;
    st->wal_syncs = ws.syncs;
    st->wal_segments = ws.segments;
    st->page_reads = ps.page_reads;
    st->page_writes = ps.page_writes;
    st->page_syncs = ps.page_syncs;
    st->fpi_records = ps.fpi_records;
    st->dwb_writes = ps.dwb_writes;
    st->cache_hits = ps.hits;
    st->cache_misses = ps.misses;
    st->evictions = ps.evictions;
    pthread_rwlock_rdlock(&db->tree);
    st->pages_total = pg_npages(db->pg);
    st->pages_free = pg_nfree(db->pg);
    pthread_rwlock_unlock(&db->tree);
    st->written_lsn = wal_written(db->log);
    st->durable_lsn = wal_durable(db->log);
    st->checkpoint_lsn = atomic_load(&db->ckpt_lsn);
    st->wal_since_ckpt = st->written_lsn - st->checkpoint_lsn;
    st->page_size = pg_page_size(db->pg);
    st->fatal_error = atomic_load(&db->fatal);
    st->readonly = st->fatal_error != 0;
    return 0;
}

int cl_recovery_report(cl_db *db, cl_recovery *rep)
{
    err_clear();
    if (db == NULL || rep == NULL)
        return CL_EINVAL;
    *rep = db->rec;
    if (db->pg != NULL) { /* the redo of pages read since the open */
        uint64_t waiting, applied, repaired;
        pager_redo_counts(db->pg, &waiting, &applied, &repaired);
        rep->pages_applied += applied;
        rep->pages_repaired_fpi += repaired;
    }
    return 0;
}
