/*
 * check.c - cl_check: verify every page of the database.
 *
 * Every page is read through the pager, which checks its CRC (rule P2) as
 * it comes from disk; the B+tree verifies its own structure (bt_check);
 * here the free list is walked and the two structures are reconciled: each
 * page from 2 to npages-1 must be reachable from the root exactly once or
 * be on the free list exactly once, never both, never neither.  Page 0 is
 * the superblock's: its slots were checked at open (sb_read), and the rest
 * of it must be zero (superblock.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "btree.h"
#include "coding.h"
#include "db.h"
#include "errors.h"
#include "page.h"

static int chk_fail(char *msg, size_t msglen, const char *dir, const char *fmt,
                    uint64_t a, uint64_t b)
{
    char text[256];

    snprintf(text, sizeof(text), fmt, (unsigned long long)a,
             (unsigned long long)b);
    if (msg != NULL && msglen > 0)
        snprintf(msg, msglen, "%s", text);
    return err_set(CL_ECORRUPT, "%s: %s", dir, text);
}

/* Page 0 outside the two superblock slots: the engine writes zeros there
 * when it creates the page file and never writes there again, so any other
 * byte is damage (or a file of another format), reported with its offset. */
static int chk_page0(cl_db *db, char *msg, size_t msglen)
{
    const cl_io *io = db->io;
    uint32_t ps = pg_page_size(db->pg);
    uint8_t *buf = malloc(ps);
    size_t got = 0, off;
    int rc;

    if (buf == NULL)
        return CL_ENOMEM;
    if ((rc = io->pread(io->ctx, pager_fd(db->pg), buf, ps, 0, &got)) != 0) {
        rc = err_set(rc, "%s: cannot read page 0", db->pages_path);
        goto out;
    }
    /* (a page file too short for slot 1 was refused at open) */
    if (got < SB_SLOT1_OFF + SB_SLOT_SIZE)
        goto out;
    memset(buf + SB_SLOT0_OFF, 0, SB_SLOT_SIZE);
    memset(buf + SB_SLOT1_OFF, 0, SB_SLOT_SIZE);
    if (page_is_zero(buf, got))
        goto out;
    for (off = 0; buf[off] == 0; off++)
        ;
    rc = chk_fail(msg, msglen, db->dir,
                  "page 0 byte %llu is %llu, not zero (page 0 holds nothing "
                  "but the two superblock slots)",
                  off, buf[off]);
out:
    free(buf);
    return rc;
}

static int chk_run(cl_db *db, char *msg, size_t msglen)
{
    pager *p = db->pg;
    uint32_t npages = pg_npages(p), pgno;
    uint64_t nfree = 0;
    uint8_t *seen;
    int rc;

    if ((rc = pg_npages_check(p)) != 0) {
        if (msg != NULL && msglen > 0)
            snprintf(msg, msglen, "%s", cl_errdetail());
        return rc;
    }
    if ((rc = chk_page0(db, msg, msglen)) != 0)
        return rc;
    seen = calloc((size_t)npages / 8 + 1, 1);
    if (seen == NULL)
        return CL_ENOMEM;
    seen[0] |= 3; /* the superblock and the meta page */
    rc = bt_check(p, seen, msg, msglen);
    if (rc != 0) {
        if (msg != NULL && msglen > 0 && msg[0] == '\0')
            snprintf(msg, msglen, "%s", cl_errdetail());
        goto out;
    }
    for (pgno = pg_free_head(p); pgno != 0;) {
        pg_page pg = {0};
        if (pgno < PG_FIRST_DATA || pgno >= npages) {
            rc = chk_fail(msg, msglen, db->dir,
                          "free list holds page %llu, outside 2..%llu", pgno,
                          npages - 1);
            goto out;
        }
        if (seen[pgno / 8] & (1u << (pgno % 8))) {
            rc = chk_fail(msg, msglen, db->dir,
                          "page %llu is on the free list but also in use or "
                          "listed twice (after %llu free pages)",
                          pgno, nfree);
            goto out;
        }
        seen[pgno / 8] |= (uint8_t)(1u << (pgno % 8));
        if ((rc = pg_get(p, pgno, &pg)) != 0) {
            if (msg != NULL && msglen > 0)
                snprintf(msg, msglen, "%s", cl_errdetail());
            goto out;
        }
        if (pg.data[PG_OFF_TYPE] != PG_TYPE_FREE) {
            rc = chk_fail(msg, msglen, db->dir,
                          "page %llu is on the free list but has type %llu",
                          pgno, pg.data[PG_OFF_TYPE]);
            pg_release(p, &pg);
            goto out;
        }
        nfree++;
        pgno = get_le32(pg.data + PG_FREE_OFF_NEXT);
        pg_release(p, &pg);
    }
    if (nfree != pg_nfree(p)) {
        rc = chk_fail(msg, msglen, db->dir,
                      "the free list has %llu pages but the meta page says "
                      "%llu",
                      nfree, pg_nfree(p));
        goto out;
    }
    for (pgno = PG_FIRST_DATA; pgno < npages; pgno++)
        if (!(seen[pgno / 8] & (1u << (pgno % 8)))) {
            rc = chk_fail(msg, msglen, db->dir,
                          "page %llu of %llu is neither reachable nor free "
                          "(leaked)",
                          pgno, npages);
            goto out;
        }
out:
    free(seen);
    return rc;
}

int cl_check(cl_db *db, char *msg, size_t msglen)
{
    int rc;

    err_clear();
    if (db == NULL)
        return CL_EINVAL;
    if (msg != NULL && msglen > 0)
        msg[0] = '\0';
    /* The writer lock keeps commits out; the shared tree lock lets other
     * readers in. */
    pthread_mutex_lock(&db->wlock);
    pthread_rwlock_rdlock(&db->tree);
    rc = chk_run(db, msg, msglen);
    pthread_rwlock_unlock(&db->tree);
    pthread_mutex_unlock(&db->wlock);
    return rc;
}
