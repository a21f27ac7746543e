/*
 * fuzz_replay.c - redo of log records (pager_replay_entry, the
 * transaction payload format of engine/pager_txn.c) on arbitrary payloads and
 * arbitrary page files, the way recovery applies them (recovery.c
 * rec_apply_txn).
 *
 * Input: u8 flags (bits 0-2 page size selector, 4096 << sel % 5; bits 3-4
 * torn-page mode; bits 5-7 how far past the file replay may reach), le64
 * the database salt, le64 the record's end LSN, u8 the number n of pages
 * in the page file after page 0, then those n pages, then the payload (le32
 * entry count, entries).  The FZ_FIXCRC variant recomputes the CRC of every
 * page of the file that is not blank.
 *
 * Properties: no crash; every entry consumes at least its header and no
 * more than the payload holds; a page that an entry applied to is written
 * back as a valid page (page_verify) with the record's LSN; and replaying
 * the same payload again in a fresh pager over the written file (a recovery
 * run again after a crash) applies nothing (replay is idempotent).
 */
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "fuzz.h"
#include "page.h"
#include "pager.h"

#define FZ_RP_FILE "/m/pages"
#define FZ_RP_PGE_HDR 8 /* bytes of an entry header (txn_format.h) */

/* Apply a payload like rec_apply_txn.  OUT: *napplied; pgnos[] and
 * applied[] of the first entries (up to max).  Returns the first error, or
 * 0 when every entry applied or was skipped and no bytes were left over. */
static int fz_rp_apply(pager *p, const uint8_t *pl, size_t left, uint64_t lsn,
                       uint32_t *pgnos, int *applied, size_t max,
                       size_t *nentries)
{
    uint32_t count;
    size_t used;
    int rc = 0, repaired;

    *nentries = 0;
    if (left < 4)
        return CL_ECORRUPT;
    count = get_le32(pl);
    pl += 4;
    left -= 4;
    for (uint32_t i = 0; i < count; i++) {
        int a = 0;
        rc = pager_replay_entry(p, pl, left, lsn, &used, &a, &repaired);
        if (rc != 0)
            return rc;
        fz_require(used >= FZ_RP_PGE_HDR && used <= left,
                   "entry %u used %zu of %zu bytes", i, used, left);
        fz_require(a || !repaired, "a skipped entry repaired a page");
        if (*nentries < max) {
            pgnos[*nentries] = get_le32(pl);
            applied[*nentries] = a;
            (*nentries)++;
        }
        pl += used;
        left -= used;
    }
    return left == 0 ? 0 : CL_ECORRUPT;
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
    int applied[FZ_RP_MAX], again[FZ_RP_MAX];
    uint8_t *file = NULL, *disk = NULL;
    const uint8_t *pages, *pl, *d;
    size_t got, plen, n, n2, dlen;
    pager_config pc;
    pager *p = NULL;
    char why[128] = "";
    int rc;
    fz_memio m;

    fz_memio_init(&m);
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
    if (fz_memio_put(&m, FZ_RP_FILE, file, ps + got) != 0)
        goto out;
    memset(&pc, 0, sizeof(pc));
    pc.io = &m.io;
    pc.dir = "/m";
    pc.path = FZ_RP_FILE;
    pc.page_size = ps;
    pc.salt = salt;
    pc.frames = 16;
    pc.torn = (cl_torn_mode)((flags >> 3) & 3);
    if (pager_open(&pc, &p) != 0)
        goto out;
    pager_set_replay_limit(p, npg + 1 + 4 * (uint64_t)(flags >> 5));
    rc = fz_rp_apply(p, pl, plen, lsn, pgnos, applied, FZ_RP_MAX, &n);
    if (pager_flush_all(p) != 0 || rc != 0)
        goto out;
    pager_close(p);
    p = NULL;

    /* Every page applied to is on "disk", sealed and stamped. */
    d = fz_memio_get(&m, FZ_RP_FILE, &dlen);
    fz_require(d != NULL, "page file gone");
    if ((disk = malloc(dlen > 0 ? dlen : 1)) == NULL)
        goto out;
    memcpy(disk, d, dlen);
    for (size_t i = 0; i < n; i++) {
        const uint8_t *pg;
        if (!applied[i])
            continue;
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
    rc = fz_rp_apply(p, pl, plen, lsn, pgnos, again, FZ_RP_MAX, &n2);
    fz_require(rc == 0 && n2 == n, "second replay failed: %d (%s)", rc,
               cl_errdetail());
    for (size_t i = 0; i < n; i++)
        fz_require(!again[i], "entry %zu (page %u) applied twice", i, pgnos[i]);
out:
    pager_close(p);
    fz_memio_free(&m);
    free(disk);
    free(file);
    return 0;
}
