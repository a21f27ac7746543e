/*
 * fuzz_replay.c - redo of log records (the pager's redo index,
 * pager_redo_record and the redo at a page's first read; the transaction
 * payload format of engine/pager_txn.c) on arbitrary payloads and
 * arbitrary page files, the way recovery applies them (recovery.c
 * rec_index_txn).
 *
 * Input: u8 flags (bits 0-2 page size selector, 4096 << sel % 5; bits 3-4
 * torn-page mode; bits 5-7 how far past the file replay may reach), le64
 * the database salt, le64 the record's end LSN, u8 the number n of pages
 * in the page file after page 0, then those n pages, then the payload (le32
 * entry count, entries).  The salt's top bit chooses whether the entries
 * are kept in memory or read back from a segment file holding the payload.
 * The FZ_FIXCRC variant recomputes the CRC of every page of the file that
 * is not blank.
 *
 * Properties: no crash; every entry consumes at least its header and no
 * more than the payload holds; no page waits once all are redone; when
 * anything applied, every page an entry names is written back as a valid
 * page (page_verify) with the record's LSN; and replaying the same payload
 * again in a fresh pager over the written file (a recovery run again after
 * a crash) applies nothing (replay is idempotent).
 */
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "fuzz.h"
#include "memfs.h"
#include "page.h"
#include "page_format.h"
#include "pager.h"

#define FZ_RP_FILE "/m/pages"
#define FZ_RP_WAL "/m/wal" /* holds the payload, for entries read back */
#define FZ_RP_PGE_HDR 8    /* bytes of an entry header (txn_format.h) */

/* Index a payload's entries for their redo as recovery does (recovery.c
 * rec_index_txn), the payload being at offset 0 of segment FZ_RP_WAL, and
 * apply them (pager_redo_all).  OUT: pgnos[] of the first entries (up to
 * max), *nentries, *applied (page changes applied).  Returns the first
 * error, or 0 when every entry applied or was skipped and no bytes were
 * left over. */
static int fz_rp_apply(pager *p, const uint8_t *pl, size_t left, uint64_t lsn,
                       uint64_t keep, uint32_t *pgnos, size_t max,
                       size_t *nentries, uint64_t *applied)
{
    uint64_t waiting, a0, r0, a1, r1;
    uint32_t count, seg;
    size_t used = 0, u;
    int rc;

    *nentries = 0;
    *applied = 0;
    if (left < 4)
        return CL_ECORRUPT;
    pager_redo_counts(p, &waiting, &a0, &r0);
    count = get_le32(pl);
    if ((rc = pager_redo_begin(p, keep, left)) != 0 ||
        (rc = pager_redo_segment(p, FZ_RP_WAL, &seg)) != 0 ||
        (rc = pager_redo_record(p, pl + 4, left - 4, count, lsn, seg, 4,
                                &used)) != 0)
        return rc;
    fz_require(used <= left - 4 && used >= (size_t)count * FZ_RP_PGE_HDR,
               "%u entries used %zu of %zu bytes", count, used, left - 4);
    for (size_t off = 4; *nentries < max && *nentries < count; off += u) {
        const uint8_t *e = pl + off;
        u = FZ_RP_PGE_HDR; /* the entry's length, as its header says */
        if (e[4] == 1)
            u += pg_page_size(p) - PG_LOG_OFF;
        else
            for (uint32_t r = 0; r < get_le16(e + 6); r++)
                u += 4 + get_le16(pl + off + u + 2);
        pgnos[(*nentries)++] = get_le32(e);
    }
    if (used != left - 4)
        return CL_ECORRUPT;
    if ((rc = pager_redo_ready(p, lsn)) != 0 || (rc = pager_redo_all(p)) != 0)
        return rc;
    pager_redo_counts(p, &waiting, &a1, &r1);
    fz_require(waiting == 0, "%llu pages still wait after the redo of all",
               (unsigned long long)waiting);
    fz_require(r1 - r0 <= a1 - a0, "more pages repaired than changes applied");
    *applied = a1 - a0;
    return 0;
}

#define FZ_RP_MAX 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {data, size};
    uint8_t flags = fz_u8(&in);
    uint32_t ps = fz_page_size(flags & 7), seed;
    uint64_t salt = fz_le64(&in), lsn = fz_le64(&in);
    unsigned npg = fz_u8(&in);
    uint32_t pgnos[FZ_RP_MAX];
    uint64_t applied, again, keep;
    uint8_t *file = NULL, *disk = NULL;
    const uint8_t *pages, *pl, *d;
    size_t got, plen, n, n2, dlen;
    pager_config pc;
    pager *p = NULL;
    char why[128] = "";
    int rc;
    memfs *m = memfs_new(FZ_MEM_MAX);

    if (npg > 16)
        npg %= 17;
    pages = fz_bytes(&in, (size_t)npg * ps, &got);
    pl = fz_bytes(&in, in.left, &plen);
    if ((file = calloc(1, ps + got)) == NULL)
        goto out;
    memcpy(file + ps, pages, got);
    seed = page_crc_seed(salt);
    if (FZ_FIX)
        for (size_t off = ps; ps + got - off >= ps; off += ps)
            fz_fix_page(file + off, ps, seed);
    if (m == NULL || memfs_put(m, FZ_RP_FILE, file, ps + got) != 0 ||
        memfs_put(m, FZ_RP_WAL, pl, plen) != 0)
        goto out;
    /* the salt's top bit: entries kept in memory, or read back from the
     * segment when applied */
    keep = salt >> 63 ? 0 : UINT64_MAX;
    memset(&pc, 0, sizeof(pc));
    pc.io = memfs_table(m);
    pc.dir = "/m";
    pc.path = FZ_RP_FILE;
    pc.page_size = ps;
    pc.salt = salt;
    pc.frames = 16;
    pc.torn = (cl_torn_mode)((flags >> 3) & 3);
    if (pager_open(&pc, &p) != 0)
        goto out;
    pager_set_replay_limit(p, npg + 1 + 4 * (uint64_t)(flags >> 5));
    rc = fz_rp_apply(p, pl, plen, lsn, keep, pgnos, FZ_RP_MAX, &n, &applied);
    if (rc != 0 || pager_flush_all(p) != 0)
        goto out;
    pager_close(p);
    p = NULL;

    /* Every page an entry named is on "disk", sealed and stamped: it took
     * the change, or had it (its LSN the record's; one past it is refused
     * by rule 6). */
    d = memfs_get(m, FZ_RP_FILE, &dlen);
    fz_require(d != NULL, "page file gone");
    if ((disk = malloc(dlen > 0 ? dlen : 1)) == NULL)
        goto out;
    memcpy(disk, d, dlen);
    for (size_t i = 0; i < n && applied > 0; i++) {
        const uint8_t *pg;
        fz_require((size_t)pgnos[i] * ps + ps <= dlen,
                   "page %u applied but not written", pgnos[i]);
        pg = disk + (size_t)pgnos[i] * ps;
        fz_require(page_verify(pg, ps, pgnos[i], seed, why, sizeof(why)) ==
                           PAGE_OK &&
                       get_le64(pg + PG_OFF_LSN) == lsn,
                   "page %u written back invalid (%s) or without the LSN",
                   pgnos[i], why);
    }

    /* Replay again over what was written: nothing applies. */
    if (pager_open(&pc, &p) != 0)
        goto out;
    pager_set_replay_limit(p, npg + 1 + 4 * (uint64_t)(flags >> 5));
    rc = fz_rp_apply(p, pl, plen, lsn, keep, pgnos, FZ_RP_MAX, &n2, &again);
    fz_require(rc == 0 && n2 == n, "second replay failed: %d (%s)", rc,
               cl_errdetail());
    fz_require(again == 0, "%llu page changes applied twice",
               (unsigned long long)again);
out:
    pager_close(p);
    memfs_free(m);
    free(disk);
    free(file);
    return 0;
}
