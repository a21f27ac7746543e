/*
 * mkcorpus.c - seed corpora for the fuzz targets, made from real databases
 * that the engine writes, and the packing of database images for
 * fuzz_open.
 *
 * Usage:
 *   mkcorpus corpus OUTDIR       write OUTDIR/<target>/<seed> for every
 *                                target (the FZ_FIXCRC variants share their
 *                                target's seeds)
 *   mkcorpus pack DBDIR OUT      pack a database directory into a fuzz_open
 *                                input (pages, dwb, the wal-* segments)
 *   mkcorpus unpack [--fixcrc] INPUT DIR
 *                                write the files of a fuzz_open input into
 *                                DIR (created), to look at with build/kv;
 *                                --fixcrc first fixes the checksums as
 *                                fuzz_open_fixcrc does
 *
 * The databases are made with fixed salts and keys from a fixed generator,
 * so the corpus is the same on every run (the shadow log's clock-drawn salt
 * is overwritten with a constant and its CRCs fixed).  Every seed is small:
 * a few pages and a few KiB of log.  fuzz_proto gets a few request streams
 * in both of kvserver's protocols.
 *
 * Databases: empty; small (40 keys, no checkpoint); ckpt (a checkpoint in
 * the middle of puts and deletes; ckpt-end: checkpointed last, so the page
 * file holds the whole tree); overflow (values in overflow chains); bigpage
 * (16 KiB pages); page64k (64 KiB pages, whose cell area start is stored
 * as 0); deep (1000-byte keys: a tree three levels high); dwb (doublewrite
 * mode: the checkpoint writes pages through the dwb file); segments (64 KiB
 * segments and automatic checkpoints); nofpw (torn-page mode none: diffs
 * only); torn (small with its last record cut); zerotail (small with zeros
 * after its log).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coding.h"
#include "crashio.h"
#include "crashlab.h"
#include "fuzz.h"
#include "page_format.h"
#include "shadow.h"
#include "shadow_format.h"
#include "superblock.h"
#include "wal.h"

#define MC_SALT 0x5eed5a17c0ffee01ull
#define MC_MAX_SEG 64

static const char *mc_out;
static unsigned mc_count;
static char mc_base[1024]; /* where the databases are made */

static void mc_rm(const char *dir)
{
    char cmd[4200];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "mkcorpus: could not remove %s\n", dir);
}

static void mc_die(const char *what, int rc)
{
    fprintf(stderr, "mkcorpus: %s: %s (%s)\n", what, cl_strerror(rc),
            cl_errdetail());
    if (mc_base[0] != '\0')
        mc_rm(mc_base);
    exit(1);
}

/* ---------------------------------------------------------------------
 * Files
 * --------------------------------------------------------------------- */

static uint8_t *mc_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *b;
    long n;

    *len = 0;
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    b = malloc(n > 0 ? (size_t)n : 1);
    if (b == NULL || (n > 0 && fread(b, 1, (size_t)n, f) != (size_t)n)) {
        fprintf(stderr, "mkcorpus: cannot read %s\n", path);
        exit(1);
    }
    fclose(f);
    *len = (size_t)n;
    return b;
}

/* Write one seed: OUTDIR/target/name. */
static void mc_seed(const char *target, const char *name, const void *buf,
                    size_t len)
{
    char path[4096];

    snprintf(path, sizeof(path), "%s/%s", mc_out, target);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        perror(path);
        exit(1);
    }
    snprintf(path, sizeof(path), "%s/%s/%s", mc_out, target, name);
    if (fz_write_file(path, buf, len) != 0) {
        perror(path);
        exit(1);
    }
    mc_count++;
}

/* A database directory's files. */
typedef struct mc_db {
    const char *name;
    uint8_t *pages, *dwb, *seg[MC_MAX_SEG];
    size_t plen, dlen, slen[MC_MAX_SEG];
    uint64_t segno; /* first segment */
    unsigned nseg;
    uint32_t ps; /* page size */
} mc_db;

static void mc_load(const char *dir, const char *name, mc_db *d)
{
    char path[4096];
    DIR *dd;
    struct dirent *e;
    uint64_t lo = UINT64_MAX, hi = 0;

    memset(d, 0, sizeof(*d));
    d->name = name;
    snprintf(path, sizeof(path), "%s/pages", dir);
    d->pages = mc_read(path, &d->plen);
    snprintf(path, sizeof(path), "%s/dwb", dir);
    d->dwb = mc_read(path, &d->dlen);
    if ((dd = opendir(dir)) == NULL) {
        perror(dir);
        exit(1);
    }
    while ((e = readdir(dd)) != NULL) {
        unsigned long long s;
        if (sscanf(e->d_name, "wal-%16llx", &s) == 1) {
            lo = s < lo ? s : lo;
            hi = s > hi ? s : hi;
        }
    }
    closedir(dd);
    d->segno = lo;
    for (uint64_t s = lo; lo != UINT64_MAX && s <= hi; s++) {
        if (d->nseg == MC_MAX_SEG) {
            fprintf(stderr, "mkcorpus: too many segments in %s\n", dir);
            exit(1);
        }
        wal_seg_path(path, sizeof(path), dir, s);
        d->seg[d->nseg] = mc_read(path, &d->slen[d->nseg]);
        d->nseg++;
    }
    d->ps = PG_SIZE_DEFAULT;
    if (d->plen >= SB_SLOT1_OFF + SB_SLOT_SIZE) {
        sb_state st;
        char why[64];
        if (sb_decode(d->pages + SB_SLOT1_OFF, &st, why, sizeof(why)) == 0 ||
            sb_decode(d->pages, &st, why, sizeof(why)) == 0)
            d->ps = st.page_size;
    }
}

static void mc_free(mc_db *d)
{
    free(d->pages);
    free(d->dwb);
    for (unsigned i = 0; i < d->nseg; i++)
        free(d->seg[i]);
}

/* ---------------------------------------------------------------------
 * Databases
 * --------------------------------------------------------------------- */

/* A fixed sequence of pseudo-random numbers. */
static uint64_t mc_rng = 1;
static uint64_t mc_next(void)
{
    mc_rng = mc_rng * 6364136223846793005ull + 1442695040888963407ull;
    return mc_rng >> 33;
}

static void mc_key(char *k, size_t *klen, unsigned i, size_t width)
{
    memset(k, 'k', width);
    *klen = (size_t)snprintf(k, width + 1, "key-%08u", i * 7919u % 100003u);
    if (*klen < width) {
        k[*klen] = '-';
        *klen = width;
    }
}

typedef struct mc_spec {
    const char *name;
    unsigned puts;     /* keys written */
    size_t klen;       /* key width, at least 12 */
    size_t vmin, vmax; /* value sizes */
    unsigned ckpt_at;  /* checkpoint after this many puts (0: never) */
    unsigned deletes;  /* keys deleted at the end */
    uint32_t page_size;
    cl_torn_mode torn;
    uint64_t pool, segment, ckpt_bytes;
    int ckpt_at_end; /* checkpoint last, so the page file is complete */
} mc_spec;

static void mc_make(const char *dir, const mc_spec *sp)
{
    static uint8_t val[CL_VALUE_MAX];
    char key[CL_KEY_MAX + 1];
    cl_options o;
    cl_db *db;
    size_t klen;
    int rc;

    memset(&o, 0, sizeof(o));
    o.create_salt = MC_SALT;
    o.page_size = sp->page_size;
    o.torn = sp->torn;
    o.pool_bytes = sp->pool;
    o.segment_bytes = sp->segment;
    o.checkpoint_bytes = sp->ckpt_bytes ? sp->ckpt_bytes : CL_CHECKPOINT_NEVER;
    o.sync = CL_SYNC_COMMIT;
    mc_rng = 1;
    if ((rc = cl_open(dir, &o, &db)) != 0)
        mc_die(dir, rc);
    for (unsigned i = 0; i < sp->puts; i++) {
        size_t vlen = sp->vmin + mc_next() % (sp->vmax - sp->vmin + 1);
        memset(val, 'a' + (int)(i % 26), vlen);
        mc_key(key, &klen, i, sp->klen);
        if ((rc = cl_put(db, key, klen, val, vlen)) != 0)
            mc_die("put", rc);
        if (sp->ckpt_at != 0 && i + 1 == sp->ckpt_at &&
            (rc = cl_checkpoint(db)) != 0)
            mc_die("checkpoint", rc);
    }
    for (unsigned i = 0; i < sp->deletes; i++) {
        mc_key(key, &klen, i * 3, sp->klen);
        rc = cl_delete(db, key, klen);
        if (rc != 0 && rc != CL_ENOTFOUND)
            mc_die("delete", rc);
    }
    if (sp->ckpt_at_end && (rc = cl_checkpoint(db)) != 0)
        mc_die("checkpoint", rc);
    if ((rc = cl_close(db)) != 0)
        mc_die("close", rc);
}

/* ---------------------------------------------------------------------
 * Seeds per target
 * --------------------------------------------------------------------- */

static uint8_t mc_sel(uint32_t ps)
{
    uint8_t sel = 0;

    while ((PG_SIZE_MIN << sel) < ps)
        sel++;
    return sel;
}

static void mc_open_seed(const mc_db *d, const char *tag, uint8_t flags)
{
    fz_image img;
    uint8_t *b;
    size_t len;
    char name[128];

    memset(&img, 0, sizeof(img));
    img.flags = flags | (d->dwb != NULL ? FZ_OPEN_DWB_FILE : 0);
    img.segno = d->segno;
    img.nseg = d->nseg < FZ_OPEN_MAX_SEG ? d->nseg : FZ_OPEN_MAX_SEG;
    img.pages = d->pages;
    img.plen = d->plen;
    img.dwb = d->dwb;
    img.dlen = d->dlen;
    for (unsigned i = 0; i < img.nseg; i++) {
        img.seg[i] = d->seg[i];
        img.slen[i] = d->slen[i];
    }
    if ((b = fz_image_pack(&img, &len)) == NULL)
        exit(1);
    snprintf(name, sizeof(name), "%s%s", d->name, tag);
    mc_seed("fuzz_open", name, b, len);
    free(b);
}

static void mc_wal_seeds(const mc_db *d)
{
    char name[128];

    for (unsigned i = 0; i < d->nseg; i++) {
        uint8_t *b = malloc(16 + d->slen[i]);
        if (b == NULL)
            exit(1);
        put_le64(b, d->segno + i);
        put_le64(b + 8, MC_SALT);
        memcpy(b + 16, d->seg[i], d->slen[i]);
        snprintf(name, sizeof(name), "%s-seg%u", d->name, i);
        mc_seed("fuzz_wal", name, b, 16 + d->slen[i]);
        free(b);
    }
}

/* One page seed per page type found (first of each), from the page file
 * and the doublewrite file. */
static void mc_page_seeds(const mc_db *d)
{
    int done[PG_TYPE_MAX + 1] = {0};
    const uint8_t *src[2] = {d->pages, d->dwb};
    size_t len[2] = {d->plen, d->dlen};
    uint32_t npages = 0;
    char name[128];

    if (d->plen >= 2 * (size_t)d->ps)
        npages = get_le32(d->pages + d->ps + PG_META_OFF_NPAGES);
    for (int f = 0; f < 2; f++)
        for (size_t off = f == 0 ? d->ps : 0;
             src[f] != NULL && off + d->ps <= len[f]; off += d->ps) {
            const uint8_t *pg = src[f] + off;
            uint8_t t = pg[PG_OFF_TYPE];
            uint8_t *b;
            if (t == 0 || t > PG_TYPE_MAX || done[t])
                continue;
            done[t] = 1;
            if ((b = malloc(18 + d->ps)) == NULL)
                exit(1);
            b[0] = mc_sel(d->ps);
            put_le32(b + 1, get_le32(pg + PG_OFF_PGNO));
            put_le64(b + 5, MC_SALT);
            put_le32(b + 13, npages);
            b[17] = (uint8_t)(off / d->ps * 37);
            memcpy(b + 18, pg, d->ps);
            snprintf(name, sizeof(name), "%s-%s-type%u", d->name,
                     f ? "dwb" : "page", t);
            mc_seed("fuzz_page", name, b, 18 + d->ps);
            free(b);
        }
}

static void mc_btree_seed(const mc_db *d)
{
    uint8_t *b;
    size_t n;

    if (d->plen <= d->ps)
        return;
    n = d->plen - d->ps;
    if ((b = malloc(9 + n)) == NULL)
        exit(1);
    b[0] = mc_sel(d->ps) | 8;
    put_le64(b + 1, MC_SALT);
    memcpy(b + 9, d->pages + d->ps, n);
    mc_seed("fuzz_btree", d->name, b, 9 + n);
    free(b);
}

/* One seed per log record (up to max): the record's payload over the page
 * file's first pages. */
static void mc_replay_seeds(const mc_db *d, unsigned max)
{
    unsigned npg = 0, made = 0;
    char name[128], why[128];

    if (d->plen > d->ps)
        npg = (unsigned)((d->plen - d->ps) / d->ps);
    if (npg > 16)
        npg = 16;
    for (unsigned i = 0; i < d->nseg && made < max; i++) {
        wal_seg_hdr h;
        wal_cursor c;
        wal_record r;
        if (wal_seg_decode(d->seg[i], d->slen[i], d->segno + i, MC_SALT, &h,
                           why, sizeof(why)) != 0)
            continue;
        wal_cursor_init(&c, d->seg[i], d->slen[i], &h);
        while (made < max &&
               wal_cursor_next(&c, &r, why, sizeof(why)) == WAL_NEXT_RECORD) {
            size_t n = 18 + (size_t)npg * d->ps + r.len;
            uint8_t *b = malloc(n);
            if (b == NULL)
                exit(1);
            b[0] = (uint8_t)(mc_sel(d->ps) | 0xe0 | (made % 4) << 3);
            put_le64(b + 1, MC_SALT);
            put_le64(b + 9, r.end_lsn);
            b[17] = (uint8_t)npg;
            memcpy(b + 18, d->pages + d->ps, (size_t)npg * d->ps);
            memcpy(b + 18 + (size_t)npg * d->ps, r.data, r.len);
            snprintf(name, sizeof(name), "%s-rec%u", d->name, made);
            mc_seed("fuzz_replay", name, b, n);
            free(b);
            made++;
        }
    }
}

static void mc_sb_seed(const mc_db *d)
{
    if (d->plen >= PG_SIZE_MIN)
        mc_seed("fuzz_superblock", d->name, d->pages, PG_SIZE_MIN);
}

static void mc_seeds(const mc_db *d, uint8_t open_flags)
{
    mc_open_seed(d, "", 0);
    if (open_flags)
        mc_open_seed(d, "-w", open_flags);
    mc_wal_seeds(d);
    mc_page_seeds(d);
    mc_btree_seed(d);
    mc_replay_seeds(d, 3);
    mc_sb_seed(d);
}

/* ---------------------------------------------------------------------
 * Shadow logs
 * --------------------------------------------------------------------- */

/* Give a shadow log a fixed salt (and so fixed CRCs), and replace the
 * process id in graveyard names ("grave/g<pid>-...") with zeros. */
static void mc_shadow_seed(const char *path, const char *name)
{
    size_t len, plen;
    uint8_t *b = mc_read(path, &len);
    char pid[32];

    if (b == NULL || len < SHADOW_HDR_FIXED)
        exit(1);
    plen = (size_t)snprintf(pid, sizeof(pid), "/g%ld-", (long)getpid());
    for (size_t i = 0; i + plen <= len; i++)
        if (memcmp(b + i, pid, plen) == 0)
            memset(b + i + 2, '0', plen - 3);
    put_le32(b + SHADOW_HDR_OFF_SALT, 0x5a17u);
    fz_fix_shadow(b, len);
    mc_seed("fuzz_shadow", name, b, len);
    if (len > 40)
        mc_seed("fuzz_shadow", "torn", b, len - 13);
    free(b);
}

/* A shadow log made by crashio under a small workload (creates, writes,
 * syncs, renames, unlinks into a graveyard), and one with every record
 * type written directly.  Made in base with relative paths, which the log
 * records as they are, so that the seeds do not depend on where base is. */
static void mc_shadows(const char *base)
{
    static const uint8_t bytes[40] = "shadow bytes shadow bytes shadow bytes";
    const char *log = "shadow.log", *grave = "grave", *dir = "shadowdb";
    char cwd[4096];
    crashio_config cc;
    crashio *cio;
    cl_options o;
    cl_db *db;
    shadow_writer *w;
    int rc;

    if (getcwd(cwd, sizeof(cwd)) == NULL || chdir(base) != 0) {
        perror(base);
        exit(1);
    }
    memset(&cc, 0, sizeof(cc));
    cc.inner = cl_io_posix();
    cc.seed = 1;
    cc.shadow_path = log;
    cc.graveyard_dir = grave;
    if ((rc = crashio_new(&cc, &cio)) != 0)
        mc_die("crashio_new", rc);
    memset(&o, 0, sizeof(o));
    o.create_salt = MC_SALT;
    o.io = crashio_table(cio);
    o.segment_bytes = 64 << 10;
    if ((rc = cl_open(dir, &o, &db)) != 0)
        mc_die(dir, rc);
    for (unsigned i = 0; i < 12; i++) {
        char k[16];
        snprintf(k, sizeof(k), "s%02u", i);
        if ((rc = cl_put(db, k, strlen(k), bytes, sizeof(bytes))) != 0)
            mc_die("put", rc);
        if (i == 5 && (rc = cl_checkpoint(db)) != 0)
            mc_die("checkpoint", rc);
    }
    cl_close(db);
    crashio_free(cio);
    mc_shadow_seed(log, "crashio");

    log = "shadow2.log";
    if ((rc = shadow_writer_open(log, grave, &w)) != 0)
        mc_die("shadow_writer_open", rc);
    {
        shadow_rec r[] = {
            {.type = SHADOW_MKDIR, .path = "/d"},
            {.type = SHADOW_CREATE, .path = "/d/f"},
            {.type = SHADOW_WRITE,
             .path = "/d/f",
             .off = 0,
             .len = 20,
             .old_size = 0},
            {.type = SHADOW_WRITE,
             .path = "/d/f",
             .off = 10,
             .len = 20,
             .old_size = 20,
             .old_len = 10,
             .old_bytes = bytes},
            {.type = SHADOW_SYNC, .path = "/d/f", .datasync = 1, .covers = 4},
            {.type = SHADOW_TRUNCATE,
             .path = "/d/f",
             .old_size = 30,
             .new_size = 25,
             .old_len = 5,
             .old_bytes = bytes},
            {.type = SHADOW_FSYNC_FAILED,
             .path = "/d/f",
             .covers = 6,
             .err = EIO},
            {.type = SHADOW_RENAME,
             .path = "/d/f",
             .to = "/d/g",
             .to_existed = 1,
             .grave = "/grave/1"},
            {.type = SHADOW_UNLINK, .path = "/d/g", .grave = "/grave/2"},
            {.type = SHADOW_DIRSYNC, .path = "/d", .covers = 9},
            {.type = SHADOW_FAILED, .ref = 9, .err = ENOSPC},
        };
        for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++)
            if ((rc = shadow_append(w, &r[i])) != 0)
                mc_die("shadow_append", rc);
    }
    shadow_writer_close(w);
    mc_shadow_seed(log, "every-type");
    if (chdir(cwd) != 0) {
        perror(cwd);
        exit(1);
    }
}

/* ---------------------------------------------------------------------
 * kvserver requests
 * --------------------------------------------------------------------- */

/* Request streams for fuzz_proto: a mode byte (0 detect, 1 line, 2 RESP),
 * then what a client sends. */
static void mc_proto_seeds(void)
{
    static const char *const seeds[][2] = {
        {"line", "\0SET a 1\nGET a\nDEL a\nPING\nSTATS\nQUIT\n"},
        {"line-spaces",
         "\1SET key a value with spaces\nSET k \n\n   \nGET key\r\n"},
        {"resp", "\0*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n"
                 "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nPING\r\n"
                 "*0\r\n"},
        {"resp-more", "\2*2\r\n$3\r\nDEL\r\n$1\r\na\r\n*3\r\n$6\r\nEXISTS"
                      "\r\n$1\r\na\r\n$1\r\nb\r\n*1\r\n$6\r\nDBSIZE\r\n"
                      "*2\r\n$4\r\nINFO\r\n$3\r\nall\r\n*3\r\n$6\r\n"
                      "CONFIG\r\n$3\r\nGET\r\n$4\r\nsave\r\n*1\r\n$7\r\n"
                      "COMMAND\r\n"},
        {"inline", "\0PING\r\nGET k\r\nSET k v\r\n"},
        {"resp-bad", "\2*1\r\n:5\r\n"},
    };

    for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
        mc_seed("fuzz_proto", seeds[i][0], seeds[i][1],
                1 + strlen(seeds[i][1] + 1));
}

/* ---------------------------------------------------------------------
 * Main
 * --------------------------------------------------------------------- */

/* Copy the last segment of src's files into d, changed by cut (bytes cut
 * off its end) or zeros (bytes appended). */
static void mc_variant(const mc_db *src, const char *name, size_t cut,
                       size_t zeros, uint8_t open_flags)
{
    mc_db d = *src;
    unsigned last = src->nseg - 1;
    uint8_t *s;

    if (src->nseg == 0)
        return;
    d.name = name;
    d.slen[last] = src->slen[last] - cut + zeros;
    if ((s = calloc(1, d.slen[last])) == NULL)
        exit(1);
    memcpy(s, src->seg[last], src->slen[last] - cut);
    d.seg[last] = s;
    mc_open_seed(&d, "", open_flags);
    mc_wal_seeds(&d);
    free(s);
}

static int mc_corpus(const char *out)
{
    static const mc_spec specs[] = {
        {"empty", 0, 12, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1},
        {"small", 40, 12, 1, 60, 0, 5, 0, 0, 0, 0, 0, 0},
        {"ckpt", 120, 12, 10, 150, 80, 20, 0, 0, 0, 0, 0, 0},
        {"ckpt-end", 120, 12, 10, 150, 0, 20, 0, 0, 0, 0, 0, 1},
        {"overflow", 8, 16, 3000, 12000, 5, 2, 0, 0, 0, 0, 0, 0},
        {"overflow-end", 8, 16, 3000, 12000, 0, 2, 0, 0, 0, 0, 0, 1},
        {"bigpage", 60, 40, 20, 400, 40, 10, 16384, 0, 0, 0, 0, 0},
        {"page64k", 30, 30, 10, 3000, 0, 4, 65536, 0, 0, 0, 0, 1},
        {"deep", 60, 1000, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1},
        {"dwb", 100, 12, 40, 120, 60, 10, 0, CL_TORN_DWB, 0, 0, 0, 0},
        {"segments", 120, 12, 400, 700, 0, 0, 0, 0, 0, 64 << 10, 96 << 10, 0},
        {"nofpw", 60, 12, 10, 100, 30, 5, 0, CL_TORN_NONE, 0, 0, 0, 0},
    };
    char *base = mc_base, dir[1200];
    mc_db d, small;

    if (mkdir(out, 0755) != 0 && errno != EEXIST) {
        perror(out);
        return 1;
    }
    /* Absolute: the shadow logs are made in another working directory. */
    if ((mc_out = realpath(out, NULL)) == NULL) {
        perror(out);
        return 1;
    }
    snprintf(mc_base, sizeof(mc_base), "%s/mkcorpus-XXXXXX", fz_scratch());
    if (mkdtemp(base) == NULL) {
        perror(base);
        return 1;
    }
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
        snprintf(dir, sizeof(dir), "%s/%s", base, specs[i].name);
        mc_make(dir, &specs[i]);
        mc_load(dir, specs[i].name, &d);
        mc_seeds(&d, FZ_OPEN_WRITE | (i % 2 ? FZ_OPEN_SMALL_POOL : 0));
        if (strcmp(specs[i].name, "small") == 0)
            small = d;
        else
            mc_free(&d);
    }
    mc_variant(&small, "torn", 13, 0, 0);
    mc_variant(&small, "zerotail", 0, 4096, FZ_OPEN_WRITE);
    mc_free(&small);
    mc_shadows(base);
    mc_proto_seeds();
    mc_rm(base);
    printf("mkcorpus: %u seeds in %s\n", mc_count, out);
    free((char *)mc_out);
    return 0;
}

static int mc_pack(const char *dir, const char *out)
{
    mc_db d;
    fz_image img;
    uint8_t *b;
    size_t len;
    int rc;

    mc_load(dir, "pack", &d);
    if (d.nseg > FZ_OPEN_MAX_SEG) {
        fprintf(stderr, "mkcorpus: more than %d segments\n", FZ_OPEN_MAX_SEG);
        return 1;
    }
    memset(&img, 0, sizeof(img));
    img.flags = d.dwb != NULL ? FZ_OPEN_DWB_FILE : 0;
    img.segno = d.segno;
    img.nseg = d.nseg;
    img.pages = d.pages;
    img.plen = d.plen;
    img.dwb = d.dwb;
    img.dlen = d.dlen;
    for (unsigned i = 0; i < d.nseg; i++) {
        img.seg[i] = d.seg[i];
        img.slen[i] = d.slen[i];
    }
    if ((b = fz_image_pack(&img, &len)) == NULL)
        return 1;
    rc = fz_write_file(out, b, len);
    free(b);
    mc_free(&d);
    if (rc != 0)
        fprintf(stderr, "mkcorpus: %s: %s\n", out, strerror(rc));
    return rc != 0;
}

static int mc_unpack(const char *in, const char *dir, int fix)
{
    size_t len;
    uint8_t *b = mc_read(in, &len);
    fz_image img;
    int rc;

    if (b == NULL) {
        fprintf(stderr, "mkcorpus: cannot read %s\n", in);
        return 1;
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        perror(dir);
        return 1;
    }
    fz_image_parse(b, len, &img);
    if (fix)
        fz_image_fix(b, &img);
    rc = fz_image_write(&img, dir);
    if (rc != 0)
        fprintf(stderr, "mkcorpus: %s: %s\n", dir, strerror(rc));
    else
        printf("mkcorpus: %s: pages (%zu bytes)%s, %u segments from %llu, "
               "fuzz_open flags 0x%02x%s\n",
               dir, img.plen, (img.flags & FZ_OPEN_DWB_FILE) ? ", dwb" : "",
               img.nseg, (unsigned long long)img.segno, img.flags,
               fix ? ", checksums fixed" : "");
    free(b);
    return rc != 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "corpus") == 0)
        return mc_corpus(argv[2]);
    if (argc == 4 && strcmp(argv[1], "pack") == 0)
        return mc_pack(argv[2], argv[3]);
    if (argc == 4 && strcmp(argv[1], "unpack") == 0)
        return mc_unpack(argv[2], argv[3], 0);
    if (argc == 5 && strcmp(argv[1], "unpack") == 0 &&
        strcmp(argv[2], "--fixcrc") == 0)
        return mc_unpack(argv[3], argv[4], 1);
    fprintf(stderr, "usage: mkcorpus corpus OUTDIR | pack DBDIR OUT | "
                    "unpack [--fixcrc] INPUT DIR\n");
    return 2;
}
