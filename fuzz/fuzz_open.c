/*
 * fuzz_open.c - opening (and so recovering) a database from an arbitrary
 * image: superblock, doublewrite restore, log replay and tail cut, meta
 * page; then the check, reads and scans, and optionally writes, a
 * checkpoint and a second open.  Real files through the POSIX I/O table,
 * in a private directory under /dev/shm.
 *
 * Input: an image (format in fuzz.h: a small header, then the page file,
 * the doublewrite file and the log segments).  The FZ_FIXCRC variant
 * recomputes the checksums the image holds before writing it: both
 * superblock slots, every page after page 0 (with the salt and page size of
 * the newest valid slot), every doublewrite slot, and each segment's header
 * and leading records (fz_fix_segment).
 *
 * Properties: no crash, hang, leak or sanitizer report, and:
 *   - cl_open fails with a code of its documented vocabulary, or succeeds
 *     with a recovery report whose log end is not before its checkpoint;
 *   - cl_check then passes or fails with CL_ECORRUPT (or a resource error)
 *     and a message;
 *   - a scan that succeeds delivers keys in ascending order; when the check
 *     passed, every scanned key reads back (cl_get) with its value;
 *   - with FZ_OPEN_WRITE and a database that passed the check, puts, a
 *     delete and a checkpoint succeed, and the database opens again,
 *     passes the check and holds what was written.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "crashlab.h"
#include "fuzz.h"
#include "page.h"
#include "page_format.h"

#define FZ_OP_KEEP 16
#define FZ_OP_BIG 10000 /* bytes: a value in an overflow chain */

typedef struct fz_op_scan {
    uint8_t *key[FZ_OP_KEEP], *val[FZ_OP_KEEP];
    size_t klen[FZ_OP_KEEP], vlen[FZ_OP_KEEP];
    size_t nkept;
    uint64_t count;
    uint8_t last[CL_KEY_MAX];
    size_t lastlen;
} fz_op_scan;

static int fz_op_keycmp(const uint8_t *a, size_t alen, const uint8_t *b,
                        size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);

    return c != 0 ? c : (alen > blen) - (alen < blen);
}

static int fz_op_cb(void *ctx, const void *k, size_t klen, const void *v,
                    size_t vlen)
{
    fz_op_scan *s = ctx;

    fz_require(klen >= 1 && klen <= CL_KEY_MAX && vlen <= CL_VALUE_MAX,
               "scan gave a key of %zu or a value of %zu bytes", klen, vlen);
    if (s->count > 0)
        fz_require(fz_op_keycmp(s->last, s->lastlen, k, klen) < 0,
                   "scan gave key %llu out of order",
                   (unsigned long long)s->count);
    memcpy(s->last, k, klen);
    s->lastlen = klen;
    if (s->nkept < FZ_OP_KEEP) {
        size_t i = s->nkept;
        s->key[i] = malloc(klen);
        s->val[i] = malloc(vlen > 0 ? vlen : 1);
        if (s->key[i] == NULL || s->val[i] == NULL) {
            free(s->key[i]);
            free(s->val[i]);
            return 1;
        }
        memcpy(s->key[i], k, klen);
        if (vlen > 0)
            memcpy(s->val[i], v, vlen);
        s->klen[i] = klen;
        s->vlen[i] = vlen;
        s->nkept++;
    }
    s->count++;
    return 0;
}

static void fz_op_scan_free(fz_op_scan *s)
{
    for (size_t i = 0; i < s->nkept; i++) {
        free(s->key[i]);
        free(s->val[i]);
    }
    memset(s, 0, sizeof(*s));
}

static int fz_op_open_ok(int rc)
{
    return rc == CL_ECORRUPT || rc == CL_EFORMAT || rc == CL_ENOMEM || rc > 0;
}

/* The reads of an open database.  Returns 1 if cl_check passed. */
static int fz_op_reads(cl_db *db, fz_op_scan *s)
{
    static uint8_t buf[CL_VALUE_MAX];
    cl_recovery rep;
    cl_stats st;
    char msg[512];
    size_t vlen;
    void *v;
    int rc, valid;

    fz_require(cl_recovery_report(db, &rep) == 0 &&
                   rep.end_lsn >= rep.checkpoint_lsn,
               "log ends at %llu, before its checkpoint %llu",
               (unsigned long long)rep.end_lsn,
               (unsigned long long)rep.checkpoint_lsn);
    fz_require(cl_stats_get(db, &st) == 0, "no stats");
    msg[0] = '\0';
    rc = cl_check(db, msg, sizeof(msg));
    fz_require(rc == 0 || ((rc == CL_ECORRUPT || rc == CL_ENOMEM || rc > 0) &&
                           msg[0] != '\0'),
               "cl_check gave %d (%s)", rc, msg);
    valid = rc == 0;

    rc = cl_scan(db, NULL, 0, NULL, 0, 0, fz_op_cb, s);
    if (valid)
        fz_require(rc == 0, "scan of a checked database failed: %d (%s)", rc,
                   cl_errdetail());
    for (size_t i = 0; i < s->nkept; i++) {
        rc = cl_get(db, s->key[i], s->klen[i], buf, sizeof(buf), &vlen);
        if (valid)
            fz_require(rc == 0 && vlen == s->vlen[i] &&
                           memcmp(buf, s->val[i], vlen) == 0,
                       "scanned key %zu reads back as %d", i, rc);
    }
    if (s->nkept > 0) {
        fz_op_scan t = {0};
        /* A prefix scan with a limit, from the first key's first byte. */
        rc = cl_scan(db, NULL, 0, s->key[0], 1, 3, fz_op_cb, &t);
        if (valid)
            fz_require(rc == 0 && t.count >= 1 && t.count <= 3,
                       "prefix scan gave %d with %llu keys", rc,
                       (unsigned long long)t.count);
        fz_op_scan_free(&t);
        if (cl_get_alloc(db, s->key[0], s->klen[0], &v, &vlen) == 0)
            free(v);
    }
    return valid;
}

/* Writes and a checkpoint.  Returns 0 if all succeeded. */
static int fz_op_writes(cl_db *db, const fz_op_scan *s, const uint8_t *big)
{
    int rc;

    if ((rc = cl_put(db, "fz-small", 8, "value", 5)) != 0 ||
        (rc = cl_put(db, "fz-big", 6, big, FZ_OP_BIG)) != 0)
        return rc;
    if (s->nkept > 0 &&
        fz_op_keycmp(s->key[0], s->klen[0], (const uint8_t *)"fz-big", 6) !=
            0 &&
        (rc = cl_delete(db, s->key[0], s->klen[0])) != 0)
        return rc;
    return cl_checkpoint(db);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char dir[512];
    static uint8_t big[FZ_OP_BIG];
    uint8_t *buf = malloc(size > 0 ? size : 1);
    fz_image img;
    fz_op_scan s = {0};
    cl_options o;
    cl_db *db = NULL;
    int rc, valid, wrc;

    if (buf == NULL)
        return 0;
    if (dir[0] == '\0') {
        snprintf(dir, sizeof(dir), "%s/db", fz_scratch());
        if (mkdir(dir, 0755) != 0 && errno != EEXIST)
            abort();
        memset(big, 'b', sizeof(big));
    }
    fz_clear_dir(dir);
    memcpy(buf, data, size);
    fz_image_parse(buf, size, &img);
    if (FZ_FIX)
        fz_image_fix(buf, &img);
    if (fz_image_write(&img, dir) != 0)
        goto out;

    memset(&o, 0, sizeof(o));
    o.torn = (cl_torn_mode)(img.flags & FZ_OPEN_TORN_MASK);
    o.pool_bytes = (img.flags & FZ_OPEN_SMALL_POOL) ? 256u << 10 : 1u << 20;
    o.no_create = 1;
    rc = cl_open(dir, &o, &db);
    if (rc != 0) {
        fz_require(fz_op_open_ok(rc) && db == NULL,
                   "cl_open failed with %d (%s)", rc, cl_strerror(rc));
        goto out;
    }
    valid = fz_op_reads(db, &s);
    if (!(img.flags & FZ_OPEN_WRITE))
        goto out;

    wrc = fz_op_writes(db, &s, big);
    if (valid)
        fz_require(wrc == 0, "writes to a checked database failed: %d (%s)",
                   wrc, cl_errdetail());
    cl_close(db);
    db = NULL;
    fz_op_scan_free(&s);
    rc = cl_open(dir, &o, &db);
    if (valid) {
        static uint8_t got[FZ_OP_BIG];
        size_t vlen = 0;
        fz_require(rc == 0, "reopen after writes failed: %d (%s)", rc,
                   cl_errdetail());
        fz_require(fz_op_reads(db, &s), "the check fails after writes: %s",
                   cl_errdetail());
        fz_require(cl_get(db, "fz-big", 6, got, sizeof(got), &vlen) == 0 &&
                       vlen == FZ_OP_BIG && memcmp(got, big, vlen) == 0,
                   "a written value is not there after reopening");
    } else if (rc == 0) {
        fz_op_reads(db, &s);
    } else {
        fz_require(fz_op_open_ok(rc), "reopen failed with %d", rc);
    }
out:
    if (db != NULL)
        cl_close(db);
    fz_op_scan_free(&s);
    free(buf);
    return 0;
}
