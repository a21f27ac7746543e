/*
 * pager_txn.c - write transactions: the pages a transaction changes (with
 * a before-image of each, for the log encoding and for rollback), and the
 * encoding of their changes as the payload of a TXN log record.
 *
 * Transaction payload (the body of a TXN log record; the record framing is
 * in wal_format.h).  All integers little-endian.
 *
 *   offset size field
 *        0    4 count     number of page entries that follow
 *   then count entries, each:
 *        0    4 pgno      page changed (>= 1)
 *        4    1 kind      PGE_FULL, PGE_INIT or PGE_DIFF
 *        5    1 -         zero
 *        6    2 nranges   ranges that follow (0 for PGE_FULL)
 *        8      PGE_FULL: page_size - 16 bytes, the page's bytes [16, size)
 *               PGE_INIT, PGE_DIFF: nranges ranges, each
 *                 0  2 off   byte offset in the page, >= 16
 *                 2  2 len   bytes, >= 1, off + len <= page_size
 *                 4    len bytes of new content
 *
 * An entry is valid only if its byte 5 is zero (a nonzero byte there was
 * written by another format, or damaged under a good record CRC) and the
 * page it leaves has a known type (rule P2 of page_format.h): the image of
 * PGE_FULL, the ranges of PGE_INIT and a PGE_DIFF range over byte 16 must
 * put one there.  Otherwise replay would write a page that every later read
 * rejects as corrupt, and that the next recovery would rebuild again
 * (replay would not be idempotent).
 *
 * Applying an entry to a page whose LSN is older than the record's end LSN
 * (otherwise it is skipped: replay is idempotent):
 *   PGE_FULL  the page becomes the image (whatever was on disk, torn or not);
 *   PGE_INIT  the page becomes zero from byte 16 on, then the ranges are
 *             copied in (a page newly allocated or freed, or the image of
 *             a page's first change since the checkpoint when smaller than
 *             PGE_FULL: its content does not depend on what was there);
 *   PGE_DIFF  the ranges are copied over the page's previous version, which
 *             therefore must be intact: a torn page here is corruption
 *             (torn-page protection none), as is a blank page.
 * Then the page's LSN becomes the record's end LSN.
 */
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "mem.h"
#include "pager_int.h"
#include "txn_format.h"

#define PG_DIFF_STRIDE 256 /* bytes compared at once in a page diff */

void pg_txn_begin(pager *p)
{
    p->txn_active = 1;
    p->txn_encoded = 0;
    p->ntxn = 0;
}

size_t pg_txn_pages(const pager *p)
{
    return p->ntxn;
}

static uint8_t *pg_spare_get(pager *p)
{
    if (p->nspare > 0)
        return p->spare[--p->nspare];
    return malloc(p->page_size);
}

static void pg_spare_put(pager *p, uint8_t *b)
{
    if (b == NULL)
        return;
    if (p->nspare == p->capspare) {
        if (mem_grow(&p->spare, &p->capspare, p->nspare + 1, sizeof(*p->spare),
                     64) != 0) {
            free(b);
            return;
        }
    }
    p->spare[p->nspare++] = b;
}

int pg_txn_add(pager *p, pg_frame *f)
{
    if (!p->txn_active)
        return err_set(CL_EINVAL, "page change outside a transaction");
    if (f->in_txn)
        return 0;
    if (mem_grow(&p->txn, &p->captxn, p->ntxn + 1, sizeof(*p->txn), 64) != 0)
        return CL_ENOMEM;
    f->before = pg_spare_get(p);
    if (f->before == NULL)
        return CL_ENOMEM;
    memcpy(f->before, f->data, p->page_size);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add(&f->pins, 1); /* held until the transaction ends */
    f->in_txn = 1;
    f->txn_init = 0;
    f->before_dirty = f->dirty;
    pthread_mutex_unlock(&p->mu);
    p->txn[p->ntxn++] = f;
    return 0;
}

int pg_write(pager *p, pg_page *pg)
{
    return pg_txn_add(p, pg->frame);
}

int pg_get_write(pager *p, uint32_t pgno, pg_page *out)
{
    int rc = pg_get(p, pgno, out);

    if (rc == 0 && (rc = pg_write(p, out)) != 0)
        pg_release(p, out);
    return rc;
}

/* Append bytes to the encode buffer. */
static int pg_enc_reserve(pager *p, size_t more)
{
    if (p->enclen + more > p->enccap) {
        size_t cap = p->enccap ? p->enccap : 4096;
        uint8_t *e;
        while (cap < p->enclen + more)
            cap *= 2;
        if ((e = realloc(p->enc, cap)) == NULL)
            return CL_ENOMEM;
        p->enc = e;
        p->enccap = cap;
    }
    return 0;
}

/* Load 8 bytes for comparison (any byte order: only equality and the
 * position of differing bytes within the word are used, via byte loops). */
static inline uint64_t pg_word(const uint8_t *b)
{
    uint64_t w;

    memcpy(&w, b, 8);
    return w;
}

/* Encode the ranges where cur differs from base (bytes [16, size)) after
 * an entry header at p->enc + hdr.  Returns the number of ranges, or -1 if
 * the encoding would not be smaller than a full image.
 *
 * The pages are compared a word (8 bytes, aligned with the page) at a time,
 * PG_DIFF_STRIDE bytes at a time across equal stretches: a range runs over
 * consecutive
 * differing words and ends at the first equal word, so differences closer
 * than that are merged into one range, and then it is trimmed to its first
 * and last differing byte.  Any ranges that cover every differing byte
 * give the same page on replay; these keep the scan a few instructions per
 * word where a byte loop cost most of a commit. */
static int pg_encode_ranges(pager *p, const uint8_t *base, const uint8_t *cur,
                            size_t hdr)
{
    uint32_t size = p->page_size, i = PG_LOG_OFF;
    size_t limit = hdr + PGE_HDR + (size - PG_LOG_OFF);
    int nr = 0;

    static_assert(PG_LOG_OFF % 8 == 0, "word-aligned page diff");
    while (i < size) {
        uint32_t start, end, last;
        /* skip equal stretches: libc's memcmp compares wide vectors */
        while (i + PG_DIFF_STRIDE <= size &&
               memcmp(base + i, cur + i, PG_DIFF_STRIDE) == 0)
            i += PG_DIFF_STRIDE;
        while (i < size && pg_word(base + i) == pg_word(cur + i))
            i += 8;
        if (i >= size)
            break;
        /* words [i, last + 8) differ, the one at last + 8 does not */
        last = i;
        while (last + 8 < size &&
               pg_word(base + last + 8) != pg_word(cur + last + 8))
            last += 8;
        start = i;
        while (base[start] == cur[start])
            start++;
        end = last + 8;
        while (base[end - 1] == cur[end - 1])
            end--;
        i = last + 8;
        if (p->enclen + PGE_RANGE_HDR + (end - start) >= limit)
            return -1;
        if (pg_enc_reserve(p, PGE_RANGE_HDR + (end - start)) != 0)
            return -2;
        put_le16(p->enc + p->enclen, (uint16_t)start);
        put_le16(p->enc + p->enclen + 2, (uint16_t)(end - start));
        memcpy(p->enc + p->enclen + PGE_RANGE_HDR, cur + start, end - start);
        p->enclen += PGE_RANGE_HDR + (end - start);
        nr++;
    }
    return nr;
}

int pg_txn_encode(pager *p, uint64_t ckpt_lsn, const uint8_t **payload,
                  size_t *len)
{
    uint32_t count = 0;
    int rc;

    p->enclen = 0;
    if ((rc = pg_enc_reserve(p, 4)) != 0)
        return rc;
    p->enclen = 4;
    for (size_t i = 0; i < p->ntxn; i++) {
        pg_frame *f = p->txn[i];
        size_t hdr = p->enclen;
        const uint8_t *base;
        uint8_t kind;
        int nr = -1, image = 0;

        f->txn_changed = 0;
        if (!f->txn_init && memcmp(f->before + PG_LOG_OFF, f->data + PG_LOG_OFF,
                                   p->page_size - PG_LOG_OFF) == 0)
            continue; /* made writable but not changed */
        f->txn_changed = 1;
        if ((rc = pg_enc_reserve(p, PGE_HDR)) != 0)
            return rc;
        p->enclen += PGE_HDR;
        if (f->txn_init) {
            kind = PGE_INIT;
            base = p->zero;
        } else if (p->torn == CL_TORN_FPW && pg_lsn_of(f->before) <= ckpt_lsn) {
            /* First change since the checkpoint: the whole page, as
             * PGE_INIT (ranges over a blank page) when that is smaller
             * than PGE_FULL.  Both rebuild the page from nothing, so both
             * repair a torn write of it; the free middle of a slotted page
             * and most of the meta page are zeros that PGE_INIT skips. */
            kind = PGE_INIT;
            base = p->zero;
            image = 1;
        } else {
            kind = PGE_DIFF;
            base = f->before;
        }
        if (base != NULL) {
            nr = pg_encode_ranges(p, base, f->data, hdr);
            if (nr == -2)
                return CL_ENOMEM;
            if (nr < 0) {
                p->enclen = hdr + PGE_HDR; /* larger than an image */
                kind = PGE_FULL;
            }
        }
        if (kind == PGE_FULL) {
            if ((rc = pg_enc_reserve(p, p->page_size - PG_LOG_OFF)) != 0)
                return rc;
            memcpy(p->enc + p->enclen, f->data + PG_LOG_OFF,
                   p->page_size - PG_LOG_OFF);
            p->enclen += p->page_size - PG_LOG_OFF;
            nr = 0;
        }
        if (kind == PGE_FULL || image)
            p->st.fpi_records++;
        put_le32(p->enc + hdr, f->pgno);
        p->enc[hdr + 4] = kind;
        p->enc[hdr + PGE_OFF_ZERO] = 0;
        put_le16(p->enc + hdr + 6, (uint16_t)nr);
        count++;
    }
    put_le32(p->enc, count);
    p->txn_encoded = 1;
    *payload = p->enc;
    *len = count > 0 ? p->enclen : 0;
    return 0;
}

/* Take f out of the transaction: drop its before-image and the
 * transaction's pin.  Caller holds p->mu. */
static void pg_txn_leave(pager *p, pg_frame *f)
{
    f->in_txn = 0;
    f->txn_init = 0;
    atomic_fetch_sub(&f->pins, 1);
    pg_spare_put(p, f->before);
    f->before = NULL;
}

/* Close the transaction whose frames have all left it: releases p->mu. */
static void pg_txn_end_locked(pager *p)
{
    pthread_mutex_unlock(&p->mu);
    p->ntxn = 0;
    p->txn_active = 0;
}

void pg_txn_finish(pager *p, uint64_t lsn)
{
    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; i < p->ntxn; i++) {
        pg_frame *f = p->txn[i];
        int changed =
            p->txn_encoded
                ? f->txn_changed
                : f->txn_init ||
                      memcmp(f->before + PG_LOG_OFF, f->data + PG_LOG_OFF,
                             p->page_size - PG_LOG_OFF) != 0;
        if (changed) {
            put_le64(f->data + PG_OFF_LSN, lsn);
            f->dirty = 1;
        }
        pg_txn_leave(p, f);
    }
    pg_txn_end_locked(p);
}

void pg_txn_abort(pager *p)
{
    pthread_mutex_lock(&p->mu);
    for (size_t i = p->ntxn; i-- > 0;) {
        pg_frame *f = p->txn[i];
        memcpy(f->data, f->before, p->page_size);
        f->dirty = f->before_dirty;
        f->owner_mark = 0;
        pg_txn_leave(p, f);
    }
    pg_txn_end_locked(p);
}
