/*
 * fuzz_btree.c - the B+tree over an arbitrary page file: the structural
 * check (bt_check, rules B1-B14, O1-O3, T1 of engine/btree.c), the read
 * paths (bt_scan, bt_get) and, optionally, the write paths (bt_put,
 * bt_delete) with the pager's transaction encoding and rollback.
 *
 * Input: u8 flags (bits 0-2 page size selector, 4096 << sel % 5; bit 3 run
 * the writes), le64 the database salt, then pages 1, 2, ... of the page
 * file (page 0, the superblock, is not read by the tree; a cut last page
 * reads as zero-padded).  The FZ_FIXCRC variant recomputes the CRC of every
 * page that is not blank, keeping its page number field.
 *
 * Properties: no crash, hang or leak on any page file, and:
 *   - a scan that succeeds delivers keys in strictly ascending order (and
 *     from its start key on), with lengths within the limits;
 *   - when the page file passes what cl_check checks (bt_check, the free
 *     list, every page used once): the scan delivers exactly the meta page's
 * key count, bt_get finds every scanned key with the scanned value, and after
 * the writes (which must then succeed) the tree still passes bt_check, holds
 * what was written, and passes it again once the transaction is rolled back.
 */
#include <stdlib.h>
#include <string.h>

#include "btree.h"
#include "btree_node.h"
#include "coding.h"
#include "fuzz.h"
#include "memfs.h"
#include "page.h"

#define FZ_BT_FILE "/m/pages"
#define FZ_BT_KEEP 16             /* entries whose values are kept */
#define FZ_BT_SEEN_MAX (1u << 22) /* pages bt_check is run for */
#define FZ_BT_BIG 5000            /* bytes: a value in an overflow chain */

typedef struct fz_bt_ent {
    uint8_t key[CL_KEY_MAX];
    size_t klen;
    uint8_t *val;
    size_t vlen;
} fz_bt_ent;

typedef struct fz_bt_scan {
    fz_bt_ent ent[FZ_BT_KEEP];
    size_t nkept;
    uint64_t count;
    uint8_t last[CL_KEY_MAX]; /* previous key delivered */
    size_t lastlen;
    const uint8_t *start; /* the scan's start key, NULL for none */
    size_t startlen;
    int exclusive;
    int nomem;
} fz_bt_scan;

static int fz_bt_cb(void *ctx, const void *k, size_t klen, const void *v,
                    size_t vlen)
{
    fz_bt_scan *s = ctx;

    fz_require(klen >= 1 && klen <= CL_KEY_MAX && vlen <= CL_VALUE_MAX,
               "scan delivered a key of %zu or a value of %zu bytes", klen,
               vlen);
    if (s->count > 0)
        fz_require(bt_keycmp(s->last, s->lastlen, k, klen) < 0,
                   "scan delivered key %llu out of order",
                   (unsigned long long)s->count);
    else if (s->start != NULL)
        fz_require(bt_keycmp(s->start, s->startlen, k, klen) <
                       (s->exclusive ? 0 : 1),
                   "scan started before its start key");
    memcpy(s->last, k, klen);
    s->lastlen = klen;
    if (s->nkept < FZ_BT_KEEP) {
        fz_bt_ent *e = &s->ent[s->nkept];
        if ((e->val = malloc(vlen > 0 ? vlen : 1)) == NULL) {
            s->nomem = 1;
            return 1;
        }
        memcpy(e->key, k, klen);
        e->klen = klen;
        if (vlen > 0)
            memcpy(e->val, v, vlen);
        e->vlen = vlen;
        s->nkept++;
    }
    s->count++;
    return 0;
}

static void fz_bt_scan_free(fz_bt_scan *s)
{
    for (size_t i = 0; i < s->nkept; i++)
        free(s->ent[i].val);
    s->nkept = 0;
}

/* What cl_check verifies (engine/check.c), on a bare pager: bt_check, then
 * the free list, then that every page from 2 on is in exactly one of the
 * two.  Returns 1 if the page file passes, 0 if not, -1 when the page
 * count is too large to check here. */
static int fz_bt_check(pager *p)
{
    uint32_t npages = pg_npages(p), pgno;
    uint64_t nfree = 0;
    uint8_t *seen;
    char msg[256];
    int rc, ok = 0;

    if (npages > FZ_BT_SEEN_MAX)
        return -1;
    if ((seen = calloc(npages / 8 + 1, 1)) == NULL)
        return -1;
    seen[0] |= 3; /* the superblock and the meta page */
    msg[0] = '\0';
    rc = bt_check(p, seen, msg, sizeof(msg));
    fz_require(rc == 0 || msg[0] != '\0', "bt_check failed without a reason");
    if (rc != 0)
        goto out;
    for (pgno = pg_free_head(p); pgno != 0;) {
        pg_page pg = {0};
        if (pgno < PG_FIRST_DATA || pgno >= npages ||
            (seen[pgno / 8] & (1u << (pgno % 8))))
            goto out;
        seen[pgno / 8] |= (uint8_t)(1u << (pgno % 8));
        if (pg_get(p, pgno, &pg) != 0)
            goto out;
        rc = pg.data[PG_OFF_TYPE] != PG_TYPE_FREE;
        nfree++;
        pgno = get_le32(pg.data + PG_FREE_OFF_NEXT);
        pg_release(p, &pg);
        if (rc != 0)
            goto out;
    }
    if (nfree != pg_nfree(p))
        goto out;
    for (pgno = PG_FIRST_DATA; pgno < npages; pgno++)
        if (!(seen[pgno / 8] & (1u << (pgno % 8))))
            goto out;
    ok = 1;
out:
    free(seen);
    return ok;
}

/* Reads of every kept key (and of keys next to them); with a valid tree
 * they must find the scanned values. */
static void fz_bt_gets(pager *p, const fz_bt_scan *s, int valid)
{
    static uint8_t buf[CL_VALUE_MAX];
    uint8_t key[CL_KEY_MAX + 1];
    size_t vlen;
    int rc;

    for (size_t i = 0; i < s->nkept; i++) {
        const fz_bt_ent *e = &s->ent[i];
        rc = bt_get(p, e->key, e->klen, buf, sizeof(buf), &vlen);
        if (valid)
            fz_require(rc == 0 && vlen == e->vlen &&
                           memcmp(buf, e->val, vlen) == 0,
                       "bt_get of scanned key %zu gave %d", i, rc);
        rc = bt_get(p, e->key, e->klen, buf, e->vlen / 2, &vlen);
        if (valid)
            fz_require(rc == 0 && vlen == e->vlen &&
                           memcmp(buf, e->val, e->vlen / 2) == 0,
                       "partial bt_get of scanned key %zu gave %d", i, rc);
        memcpy(key, e->key, e->klen);
        key[e->klen] = 0;
        rc = bt_get(p, key, e->klen + 1, NULL, 0, &vlen);
        if (valid && i + 1 < s->nkept)
            fz_require(rc == CL_ENOTFOUND ||
                           (s->ent[i + 1].klen == e->klen + 1 &&
                            memcmp(s->ent[i + 1].key, key, e->klen + 1) == 0),
                       "bt_get found a key the scan did not deliver");
        if (e->klen > 1)
            bt_get(p, e->key, e->klen - 1, NULL, 0, &vlen);
    }
}

/* Puts and deletes in one transaction.  Returns 0 when all of them did what
 * they should. */
static int fz_bt_writes(pager *p, const fz_bt_scan *s, uint8_t *big)
{
    static const uint8_t k1[] = "fuzz-key", v1[] = "fuzz-value";
    int rc;

    if (s->nkept > 0) {
        const fz_bt_ent *e = &s->ent[s->nkept / 2];
        if ((rc = bt_put(p, e->key, e->klen, big, FZ_BT_BIG / 3)) != 0)
            return rc;
        if ((rc = bt_delete(p, s->ent[0].key, s->ent[0].klen)) != 0)
            return rc;
    }
    if ((rc = bt_put(p, k1, sizeof(k1), v1, sizeof(v1))) != 0)
        return rc;
    /* Checked afterwards: "fuzz" holds the big value. */
    if ((rc = bt_put(p, k1, 4, big, FZ_BT_BIG)) != 0)
        return rc;
    rc = bt_delete(p, k1, 3);
    return rc == CL_ENOTFOUND || rc == 0 ? 0 : rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {data, size};
    uint8_t flags = fz_u8(&in);
    uint32_t ps = fz_page_size(flags & 7);
    uint64_t salt = fz_le64(&in);
    uint8_t *file = NULL, *big = NULL;
    size_t flen = ps + in.left, vlen;
    pager_config pc;
    pager *p = NULL;
    fz_bt_scan *s = NULL;
    int valid, rc;
    memfs *m = memfs_new(FZ_MEM_MAX);

    if (in.left > 16 * ps || (file = calloc(1, flen)) == NULL ||
        (s = calloc(1, sizeof(*s))) == NULL)
        goto out;
    memcpy(file + ps, in.p, in.left);
    if (FZ_FIX) {
        uint32_t seed = page_crc_seed(salt);
        for (size_t off = ps; flen - off >= ps; off += ps)
            fz_fix_page(file + off, ps, seed);
    }
    if (m == NULL || memfs_put(m, FZ_BT_FILE, file, flen) != 0)
        goto out;
    memset(&pc, 0, sizeof(pc));
    pc.io = memfs_table(m);
    pc.dir = "/m";
    pc.path = FZ_BT_FILE;
    pc.page_size = ps;
    pc.salt = salt;
    pc.frames = 64;
    pc.torn = CL_TORN_NONE;
    if (pager_open(&pc, &p) != 0 || pager_load_meta(p) != 0)
        goto out;

    valid = fz_bt_check(p) == 1;
    rc = bt_scan(p, NULL, 0, 0, fz_bt_cb, s);
    if (valid)
        fz_require(rc == 0 && !s->nomem && s->count == pg_nkeys(p),
                   "scan of a valid tree gave %d after %llu of %llu keys", rc,
                   (unsigned long long)s->count,
                   (unsigned long long)pg_nkeys(p));
    fz_bt_gets(p, s, valid && rc == 0 && !s->nomem);
    if (s->nkept > 1) {
        /* A scan from a key, exclusive and not. */
        fz_bt_scan *t = calloc(1, sizeof(*t));
        for (int excl = 0; t != NULL && excl < 2; excl++) {
            memset(t, 0, sizeof(*t));
            t->start = s->ent[1].key;
            t->startlen = s->ent[1].klen;
            t->exclusive = excl;
            rc = bt_scan(p, t->start, t->startlen, excl, fz_bt_cb, t);
            if (valid)
                fz_require(rc == 0 &&
                               t->count + 1 + (uint64_t)excl == pg_nkeys(p),
                           "scan from key 1 (exclusive %d) gave %d, %llu "
                           "keys",
                           excl, rc, (unsigned long long)t->count);
            fz_bt_scan_free(t);
        }
        free(t);
    }

    if ((flags & 8) && (big = malloc(FZ_BT_BIG)) != NULL) {
        memset(big, 'v', FZ_BT_BIG);
        pg_txn_begin(p);
        rc = fz_bt_writes(p, s, big);
        if (valid) {
            const uint8_t *payload;
            size_t plen;
            fz_require(rc == 0, "writes to a valid tree failed: %d (%s)", rc,
                       cl_errdetail());
            fz_require(fz_bt_check(p) != 0, "writes broke a valid tree: %s",
                       cl_errdetail());
            fz_require(bt_get(p, "fuzz", 4, big, FZ_BT_BIG, &vlen) == 0 &&
                           vlen == FZ_BT_BIG,
                       "the big value is not there after the writes");
            fz_require(pg_txn_encode(p, 0, &payload, &plen) == 0 && plen > 0,
                       "the writes did not encode");
        }
        pg_txn_abort(p);
        if (valid)
            fz_require(fz_bt_check(p) != 0, "rollback left a broken tree: %s",
                       cl_errdetail());
    }
out:
    if (s != NULL)
        fz_bt_scan_free(s);
    free(s);
    free(big);
    pager_close(p);
    memfs_free(m);
    free(file);
    return 0;
}
