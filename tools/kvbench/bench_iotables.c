/*
 * bench_iotables.c - kvbench experiment io-tables: what a crash writer's
 * workload costs through each I/O table crashtest can put under the
 * engine (docs/PERFORMANCE.md), so that moving a part of the harness
 * from one to another can be sized before it is built:
 *   posix          the file system in DIR
 *   memfs          files in this process's memory (faults/memfs.h)
 *   crashio-posix  the crash core over DIR, keeping its shadow log and
 *                  graveyard there, as crashtest's writers run
 *   crashio-memfs  the crash core over memfs, its shadow log held in
 *                  memory and written once at the end, as crashtest's
 *                  crashed recoveries and chain links run
 * Each run opens a new database, commits the same transactions (1 to 8
 * puts and deletes over 512 keys, values of 16 to 2,000 bytes, a
 * checkpoint every 32 transactions) and closes it; the sync modes off and
 * commit.  The process keeps the memory it frees (as crashtest's
 * verifier does), so that runs after the first find their buffers.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "clk.h"
#include "crashio.h"
#include "crashlab.h"
#include "fsutil.h"
#include "mapkeep.h"
#include "memfs.h"
#include "rng.h"

#define BIO_TXNS 200
#define BIO_KEYS 512
#define BIO_CKPT_EVERY 32

enum { BIO_POSIX, BIO_MEMFS, BIO_CRASHIO_POSIX, BIO_CRASHIO_MEMFS, BIO_TABLES };

static const char *const bio_names[BIO_TABLES] = {
    "posix", "memfs", "crashio-posix", "crashio-memfs"};

/* One run: a new database at db through io, the workload, closed. */
static int bio_workload(const char *db, const cl_io *io, cl_sync_mode sync)
{
    cl_options o;
    cl_db *h = NULL;
    cl_batch *b = NULL;
    uint8_t val[2000];
    rng r;
    int rc;

    memset(&o, 0, sizeof(o));
    o.io = io;
    o.sync = sync;
    rng_seed(&r, 0x10AB1E5ull);
    if ((rc = cl_open(db, &o, &h)) != 0 || (rc = cl_batch_new(&b)) != 0)
        goto out;
    for (uint32_t t = 0; t < BIO_TXNS && rc == 0; t++) {
        uint32_t n = 1 + (uint32_t)rng_below(&r, 8);
        cl_batch_clear(b);
        for (uint32_t i = 0; i < n && rc == 0; i++) {
            char key[16];
            int kl = snprintf(key, sizeof(key), "k%03u",
                              (unsigned)rng_below(&r, BIO_KEYS));
            size_t vl = 16 + (size_t)rng_below(&r, sizeof(val) - 15);
            if (rng_below(&r, 8) == 0) {
                rc = cl_batch_delete(b, key, (size_t)kl);
                continue;
            }
            for (size_t j = 0; j < vl; j += 8) {
                uint64_t x = rng_next(&r);
                memcpy(val + j, &x, vl - j < 8 ? vl - j : 8);
            }
            rc = cl_batch_put(b, key, (size_t)kl, val, vl);
        }
        if (rc == 0)
            rc = cl_commit(h, b, NULL);
        if (rc == 0 && (t + 1) % BIO_CKPT_EVERY == 0)
            rc = cl_checkpoint(h);
    }
out:
    cl_batch_free(b);
    if (h != NULL && cl_close(h) != 0 && rc == 0)
        rc = EIO;
    return rc;
}

/* One run through table kind k in the scratch directory dir (emptied
 * first).  Returns 0 or an error code (set in *what). */
static int bio_run(int k, const char *dir, memfs *m, cl_sync_mode sync,
                   const char **what)
{
    char db[4200], shadow[4200], grave[4200];
    const cl_io *io = cl_io_posix();
    crashio *c = NULL;
    crashio_config cc;
    int rc;

    *what = "setting up";
    fs_rmrf(dir);
    if ((rc = fs_mkdirs(dir)) != 0 ||
        (rc = fs_join(db, sizeof(db), dir, "db")) ||
        (rc = fs_join(shadow, sizeof(shadow), dir, "shadow")) ||
        (rc = fs_join(grave, sizeof(grave), dir, "grave")))
        return rc;
    if (k == BIO_MEMFS || k == BIO_CRASHIO_MEMFS) {
        if ((rc = memfs_load(m, dir, UINT64_MAX)) != 0)
            return rc;
        io = memfs_table(m);
    }
    if (k == BIO_CRASHIO_POSIX || k == BIO_CRASHIO_MEMFS) {
        memset(&cc, 0, sizeof(cc));
        cc.inner = io;
        cc.root = db;
        cc.shadow_path = shadow;
        cc.graveyard_dir = grave;
        cc.shadow_hold = k == BIO_CRASHIO_MEMFS;
        if ((rc = crashio_new(&cc, &c)) != 0)
            return rc;
        io = crashio_table(c);
    }
    *what = "the workload";
    rc = bio_workload(db, io, sync);
    if (rc == 0 && c != NULL) {
        *what = "writing the shadow log";
        rc = crashio_shadow_flush(c, UINT64_MAX);
    }
    crashio_free(c);
    return rc;
}

int bench_iotables(const char *dir, double seconds)
{
    static const cl_sync_mode syncs[] = {CL_SYNC_OFF, CL_SYNC_COMMIT};
    memfs *m = memfs_new(UINT64_MAX);
    int rc = 0;

    if (m == NULL) {
        fprintf(stderr, "kvbench experiment: out of memory\n");
        return 1;
    }
    mapkeep_heap();
    for (int k = 0; k < BIO_TABLES && rc == 0; k++)
        for (size_t s = 0; s < sizeof(syncs) / sizeof(syncs[0]) && rc == 0;
             s++) {
            uint64_t n = 0, t0 = clk_now_ns(), t;
            const char *what = "";
            do {
                if ((rc = bio_run(k, dir, m, syncs[s], &what)) != 0) {
                    fprintf(stderr,
                            "kvbench experiment: io-tables %s: %s: %s\n",
                            bio_names[k], what, cl_strerror(rc));
                    break;
                }
                n++;
            } while ((t = clk_now_ns() - t0) <
                     (uint64_t)(seconds / (2 * BIO_TABLES) * 1e9));
            if (rc == 0)
                printf("%s,%s,%" PRIu64 ",%.3f,%.1f\n", bio_names[k],
                       syncs[s] == CL_SYNC_OFF ? "off" : "commit", n,
                       (double)t / 1e9, (double)t / 1e3 / (double)n);
        }
    fs_rmrf(dir); /* the scratch files, and the directory made for them */
    memfs_free(m);
    return rc == 0 ? 0 : 1;
}
