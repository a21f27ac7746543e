/*
 * fuzz_util.c - what the fuzz targets share: failing a property, input
 * cursors, a scratch directory, an in-memory I/O table, the checksum fixers
 * of the structure-aware variants, and the database image format of
 * fuzz_open (described in fuzz.h).
 *
 * Divisions: properties and input; scratch directory; in-memory I/O;
 * checksum fixing; images.
 */
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coding.h"
#include "crc32c.h"
#include "fsutil.h"
#include "page.h"
#include "page_format.h"
#include "shadow_format.h"
#include "superblock.h"
#include "wal.h"

/* ---------------------------------------------------------------------
 * Properties and input
 * --------------------------------------------------------------------- */

void fz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "\n%s:%d: property violated: %s\n  ", file, line, cond);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    abort();
}

uint32_t fz_page_size(uint8_t sel)
{
    return PG_SIZE_MIN << (sel % 5);
}

uint8_t fz_u8(fz_in *in)
{
    uint8_t v = 0;

    if (in->left > 0) {
        v = in->p[0];
        in->p++;
        in->left--;
    }
    return v;
}

uint32_t fz_le32(fz_in *in)
{
    uint32_t v = 0;

    for (int i = 0; i < 4; i++)
        v |= (uint32_t)fz_u8(in) << (8 * i);
    return v;
}

uint64_t fz_le64(fz_in *in)
{
    uint64_t lo = fz_le32(in);

    return lo | ((uint64_t)fz_le32(in) << 32);
}

const uint8_t *fz_bytes(fz_in *in, size_t n, size_t *got)
{
    const uint8_t *p = in->p;

    if (n > in->left)
        n = in->left;
    in->p += n;
    in->left -= n;
    *got = n;
    return p;
}

/* ---------------------------------------------------------------------
 * Scratch directory
 * --------------------------------------------------------------------- */

static char fz_scratch_path[256];

void fz_clear_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[512];

    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
}

static void fz_scratch_remove(void)
{
    if (fz_scratch_path[0] != '\0')
        fs_rmrf(fz_scratch_path);
}

/* A process that crashed (libFuzzer leaves with _Exit, skipping atexit)
 * leaves its scratch directory behind: remove those of dead processes. */
static void fz_scratch_reap(const char *base)
{
    DIR *d = opendir(base);
    struct dirent *e;
    char path[512];
    long pid;

    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        if (sscanf(e->d_name, "crashlab-fuzz-%ld-", &pid) != 1 || pid <= 0 ||
            kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        snprintf(path, sizeof(path), "%s/%s", base, e->d_name);
        fs_rmrf(path);
    }
    closedir(d);
}

const char *fz_scratch(void)
{
    const char *base;
    struct stat st;

    if (fz_scratch_path[0] != '\0')
        return fz_scratch_path;
    base =
        stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : NULL;
    if (base == NULL && (base = getenv("TMPDIR")) == NULL)
        base = "/tmp";
    fz_scratch_reap(base);
    snprintf(fz_scratch_path, sizeof(fz_scratch_path),
             "%s/crashlab-fuzz-%ld-XXXXXX", base, (long)getpid());
    if (mkdtemp(fz_scratch_path) == NULL) {
        fprintf(stderr, "fuzz: cannot make %s: %s\n", fz_scratch_path,
                strerror(errno));
        abort();
    }
    atexit(fz_scratch_remove);
    return fz_scratch_path;
}

int fz_write_file(const char *path, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int rc = 0;

    if (fd < 0)
        return errno;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = n < 0 ? errno : EIO;
            break;
        }
        p += n;
        len -= (size_t)n;
    }
    close(fd);
    return rc;
}

/* ---------------------------------------------------------------------
 * Checksum fixing
 * --------------------------------------------------------------------- */

void fz_fix_segment(uint8_t *buf, size_t len)
{
    uint64_t segno, start, db_salt, salt;
    uint32_t seed;
    size_t x;

    if (len < WAL_SEG_HDR_SIZE)
        return;
    segno = get_le64(buf + WAL_SH_OFF_SEGNO);
    start = get_le64(buf + WAL_SH_OFF_START);
    db_salt = get_le64(buf + WAL_SH_OFF_DBSALT);
    salt = wal_seg_salt(db_salt, segno, start);
    put_le64(buf + WAL_SH_OFF_SALT, salt);
    put_le32(buf + WAL_SH_OFF_CRC, crc32c(buf + 4, WAL_SEG_HDR_SIZE - 4));
    seed = wal_crc_seed(salt);
    for (x = WAL_SEG_HDR_SIZE; len - x >= WAL_REC_HDR_SIZE;) {
        uint32_t rl = get_le32(buf + x + WAL_RH_OFF_LEN);
        if (rl > WAL_MAX_PAYLOAD || len - x < wal_rec_size(rl))
            break;
        put_le32(buf + x + WAL_RH_OFF_CRC,
                 crc32c_extend(seed, buf + x + 4, WAL_REC_HDR_SIZE - 4 + rl));
        x += wal_rec_size(rl);
    }
}

void fz_fix_sb_slot(uint8_t *slot)
{
    put_le32(slot, crc32c(slot + 4, SB_SLOT_SIZE - 4));
}

void fz_fix_page(uint8_t *page, uint32_t page_size, uint32_t crc_seed)
{
    if (page_is_zero(page, page_size))
        return;
    put_le32(page + PG_OFF_CRC,
             crc32c_extend(crc_seed, page + 4, (size_t)page_size - 4));
}

void fz_fix_page_file(uint8_t *buf, size_t len, uint32_t *page_size,
                      uint64_t *salt)
{
    static const size_t offs[2] = {SB_SLOT0_OFF, SB_SLOT1_OFF};
    sb_state s[2], *best = NULL;
    char why[64];
    uint32_t seed;

    *page_size = 0;
    *salt = 0;
    for (int i = 0; i < 2; i++) {
        if (len < offs[i] + SB_SLOT_SIZE)
            continue;
        fz_fix_sb_slot(buf + offs[i]);
        if (sb_decode(buf + offs[i], &s[i], why, sizeof(why)) == 0 &&
            (best == NULL || s[i].seq >= best->seq))
            best = &s[i];
    }
    if (best == NULL)
        return;
    *page_size = best->page_size;
    *salt = best->salt;
    seed = page_crc_seed(best->salt);
    for (size_t off = best->page_size;
         off <= len && len - off >= best->page_size; off += best->page_size)
        fz_fix_page(buf + off, best->page_size, seed);
}

void fz_fix_shadow(uint8_t *buf, size_t len)
{
    uint32_t glen, salt_crc;
    size_t pos;

    if (len < SHADOW_HDR_FIXED)
        return;
    glen = get_le32(buf + SHADOW_HDR_OFF_GLEN);
    if (glen > SHADOW_PATH_MAX ||
        len - SHADOW_HDR_FIXED < (size_t)glen + SHADOW_HDR_CRC_LEN)
        return;
    put_le32(buf + SHADOW_HDR_FIXED + glen,
             crc32c(buf, SHADOW_HDR_FIXED + glen));
    salt_crc = crc32c(buf + SHADOW_HDR_OFF_SALT, 4);
    pos = SHADOW_HDR_FIXED + glen + SHADOW_HDR_CRC_LEN;
    while (len - pos >= SHADOW_REC_HDR) {
        uint32_t n = get_le32(buf + pos + SHADOW_REC_OFF_LEN);
        if (n > SHADOW_PAYLOAD_MAX || len - pos - SHADOW_REC_HDR < n)
            break;
        put_le32(buf + pos + SHADOW_REC_OFF_CRC,
                 crc32c_extend(salt_crc, buf + pos + 4,
                               SHADOW_REC_HDR - 4 + (size_t)n));
        pos += SHADOW_REC_HDR + (size_t)n;
    }
}

/* ---------------------------------------------------------------------
 * Images
 * --------------------------------------------------------------------- */

void fz_image_parse(const uint8_t *data, size_t size, fz_image *img)
{
    fz_in in = {data, size};
    uint32_t want[2 + FZ_OPEN_MAX_SEG];
    const uint8_t **ptr[2 + FZ_OPEN_MAX_SEG];
    size_t *len[2 + FZ_OPEN_MAX_SEG];
    unsigned nfiles = 0, i;

    memset(img, 0, sizeof(*img));
    img->flags = fz_u8(&in);
    img->nseg = fz_u8(&in) & 0x0f;
    img->segno = fz_le64(&in);
    want[0] = fz_le32(&in);
    want[1] = fz_le32(&in);
    for (i = 0; i < img->nseg; i++)
        want[2 + i] = fz_le32(&in);
    ptr[nfiles] = &img->pages;
    len[nfiles] = &img->plen;
    want[nfiles++] = want[0];
    if (img->flags & FZ_OPEN_DWB_FILE) {
        ptr[nfiles] = &img->dwb;
        len[nfiles] = &img->dlen;
        want[nfiles++] = want[1];
    }
    for (i = 0; i < img->nseg; i++) {
        ptr[nfiles] = &img->seg[i];
        len[nfiles] = &img->slen[i];
        want[nfiles++] = want[2 + i];
    }
    for (i = 0; i < nfiles; i++)
        *ptr[i] = fz_bytes(&in, want[i], len[i]);
    /* The rest belongs to the last file, which is contiguous with it. */
    *len[nfiles - 1] += in.left;
}

uint8_t *fz_image_pack(const fz_image *img, size_t *len)
{
    size_t total = FZ_OPEN_HDR + 4 * (size_t)img->nseg + img->plen, o = 0;
    uint8_t *b;

    if (img->nseg > FZ_OPEN_MAX_SEG)
        return NULL;
    if (img->flags & FZ_OPEN_DWB_FILE)
        total += img->dlen;
    for (unsigned i = 0; i < img->nseg; i++)
        total += img->slen[i];
    if ((b = malloc(total > 0 ? total : 1)) == NULL)
        return NULL;
    b[o++] = img->flags;
    b[o++] = (uint8_t)img->nseg;
    put_le64(b + o, img->segno);
    o += 8;
    put_le32(b + o, (uint32_t)img->plen);
    put_le32(b + o + 4,
             (img->flags & FZ_OPEN_DWB_FILE) ? (uint32_t)img->dlen : 0);
    o += 8;
    for (unsigned i = 0; i < img->nseg; i++, o += 4)
        put_le32(b + o, (uint32_t)img->slen[i]);
    if (img->plen > 0)
        memcpy(b + o, img->pages, img->plen);
    o += img->plen;
    if ((img->flags & FZ_OPEN_DWB_FILE) && img->dlen > 0) {
        memcpy(b + o, img->dwb, img->dlen);
        o += img->dlen;
    }
    for (unsigned i = 0; i < img->nseg; i++) {
        if (img->slen[i] > 0)
            memcpy(b + o, img->seg[i], img->slen[i]);
        o += img->slen[i];
    }
    *len = o;
    return b;
}

/* A mutable pointer into buf for a pointer p that points into it. */
static uint8_t *fz_mut(uint8_t *buf, const uint8_t *p)
{
    return buf + (p - buf);
}

void fz_image_fix(uint8_t *buf, const fz_image *img)
{
    uint32_t ps;
    uint64_t salt;

    fz_fix_page_file(fz_mut(buf, img->pages), img->plen, &ps, &salt);
    if (ps != 0 && img->dwb != NULL)
        for (size_t off = 0; off <= img->dlen && img->dlen - off >= ps;
             off += ps)
            fz_fix_page(fz_mut(buf, img->dwb) + off, ps, page_crc_seed(salt));
    for (unsigned i = 0; i < img->nseg; i++)
        fz_fix_segment(fz_mut(buf, img->seg[i]), img->slen[i]);
}

int fz_image_write(const fz_image *img, const char *dir)
{
    char path[4200];
    int rc;

    snprintf(path, sizeof(path), "%s/pages", dir);
    if ((rc = fz_write_file(path, img->pages, img->plen)) != 0)
        return rc;
    if (img->flags & FZ_OPEN_DWB_FILE) {
        snprintf(path, sizeof(path), "%s/dwb", dir);
        if ((rc = fz_write_file(path, img->dwb, img->dlen)) != 0)
            return rc;
    }
    for (unsigned i = 0; i < img->nseg; i++) {
        wal_seg_path(path, sizeof(path), dir, img->segno + i);
        if ((rc = fz_write_file(path, img->seg[i], img->slen[i])) != 0)
            return rc;
    }
    return 0;
}
