/*
 * test_wal.c - the log segment reader against each numbered validity rule
 * of wal_reader.c (H1-H5, R1-R8), by building segments in memory and
 * damaging them byte by byte; and the writer's refusal of a sync past the
 * log's end.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cl_io.h"
#include "coding.h"
#include "crc32c.h"
#include "fsutil.h"
#include "page.h"
#include "rng.h"
#include "wal.h"

#define SALT 0x1234567890abcdefull
#define SEGNO 7
#define START 4096

typedef struct seg {
    uint8_t buf[1 << 16];
    uint64_t len;
    wal_seg_hdr hdr;
    uint64_t rec_off[16]; /* file offset of each record */
    int n;
} seg;

static void seg_init(seg *s)
{
    memset(s, 0, sizeof(*s));
    s->hdr.segno = SEGNO;
    s->hdr.start_lsn = START;
    s->hdr.db_salt = SALT;
    s->hdr.salt = wal_seg_salt(SALT, SEGNO, START);
    wal_seg_encode(s->buf, &s->hdr);
    s->len = WAL_SEG_HDR_SIZE;
}

/* Append a record with a payload of len bytes (value fill), synced as
 * given (-1: the LSN of the record itself, i.e. everything before it was
 * durable). */
static void seg_add(seg *s, uint32_t len, uint8_t fill, int64_t synced)
{
    uint8_t payload[4096];
    uint64_t lsn = START + (s->len - WAL_SEG_HDR_SIZE);

    memset(payload, fill, sizeof(payload));
    wal_rec_encode(s->buf + s->len, wal_crc_seed(s->hdr.salt), WAL_TXN, lsn,
                   synced < 0 ? lsn : (uint64_t)synced, payload, len);
    s->rec_off[s->n++] = s->len;
    s->len += wal_rec_size(len);
}

/* Read every record; return the outcome that ended the segment and the
 * number of records read.  why receives the reason. */
static enum wal_next seg_read(seg *s, int *nrec, uint64_t *end_off, char *why)
{
    wal_seg_hdr h;
    wal_cursor c;
    wal_record r;
    enum wal_next nx;

    assert_int_equal(wal_seg_decode(s->buf, s->len, SEGNO, SALT, &h, why, 256),
                     0);
    wal_cursor_init(&c, s->buf, s->len, &h);
    *nrec = 0;
    why[0] = '\0';
    while ((nx = wal_cursor_next(&c, &r, why, 256)) == WAL_NEXT_RECORD) {
        assert_int_equal(r.offset, s->rec_off[*nrec]);
        (*nrec)++;
    }
    *end_off = c.off;
    return nx;
}

/* The writer: a sync up to an LSN no appended record reaches (a page that
 * claims a change the log never had) fails at once with CL_ECORRUPT
 * instead of syncing for ever; a sync up to the end still works. */
static void test_wal_sync_past_the_end_is_corrupt(void **state)
{
    char dir[] = "/tmp/test_wal-XXXXXX";
    wal_config cfg = {0};
    wal *w = NULL;
    uint64_t end = 0;
    int rc;

    (void)state;
    assert_non_null(mkdtemp(dir));
    cfg.io = cl_io_posix();
    cfg.dir = dir;
    cfg.db_salt = SALT;
    cfg.segment_bytes = 1 << 20;
    assert_int_equal(wal_create_segment(&cfg, 1, START), 0);
    assert_int_equal(wal_open(&cfg, 1, START, WAL_SEG_HDR_SIZE, START, &w), 0);
    assert_int_equal(wal_append(w, WAL_TXN, "x", 1, &end), 0);
    assert_int_equal(wal_sync(w, end), 0);
    rc = wal_sync(w, end + 4096);
    assert_int_equal(rc, CL_ECORRUPT);
    assert_int_equal(wal_fatal(w), 0);
    assert_int_equal(wal_append(w, WAL_TXN, "y", 1, &end), 0);
    assert_int_equal(wal_sync(w, end), 0);
    wal_close(w);
    assert_int_equal(fs_rmrf(dir), 0);
}

static void test_wal_records_read_back_in_order(void **state)
{
    seg *s = malloc(sizeof(*s));
    wal_seg_hdr h;
    wal_cursor c;
    wal_record r;
    char why[256];

    (void)state;
    seg_init(s);
    seg_add(s, 10, 'a', 0);
    seg_add(s, 0, 'b', 0);
    seg_add(s, 1000, 'c', -1);
    assert_int_equal(
        wal_seg_decode(s->buf, s->len, SEGNO, SALT, &h, why, sizeof(why)), 0);
    assert_int_equal(h.start_lsn, START);
    wal_cursor_init(&c, s->buf, s->len, &h);
    assert_int_equal(wal_cursor_next(&c, &r, why, sizeof(why)),
                     WAL_NEXT_RECORD);
    assert_int_equal(r.len, 10);
    assert_int_equal(r.lsn, START);
    assert_int_equal(r.end_lsn, START + wal_rec_size(10));
    assert_int_equal(r.data[0], 'a');
    assert_int_equal(wal_cursor_next(&c, &r, why, sizeof(why)),
                     WAL_NEXT_RECORD);
    assert_int_equal(r.len, 0);
    assert_int_equal(wal_cursor_next(&c, &r, why, sizeof(why)),
                     WAL_NEXT_RECORD);
    assert_int_equal(r.len, 1000);
    assert_int_equal(r.data[999], 'c');
    /* R1: the file ends exactly after the last record */
    assert_int_equal(wal_cursor_next(&c, &r, why, sizeof(why)), WAL_NEXT_EOF);
    free(s);
}

static void test_wal_header_rules(void **state)
{
    seg *s = malloc(sizeof(*s));
    wal_seg_hdr h;
    char why[256];

    (void)state;
    seg_init(s);
    /* H1: truncated header */
    assert_int_equal(wal_seg_decode(s->buf, 63, SEGNO, SALT, &h, why, 256),
                     CL_ECORRUPT);
    /* H4: segment number differs from the file name */
    assert_int_equal(
        wal_seg_decode(s->buf, s->len, SEGNO + 1, SALT, &h, why, 256),
        CL_ECORRUPT);
    /* H5: another database */
    assert_int_equal(
        wal_seg_decode(s->buf, s->len, SEGNO, SALT + 1, &h, why, 256),
        CL_ECORRUPT);
    /* H2: any flipped byte in the header */
    for (int i = 0; i < WAL_SEG_HDR_SIZE; i++) {
        s->buf[i] ^= 0x40;
        assert_int_equal(
            wal_seg_decode(s->buf, s->len, SEGNO, SALT, &h, why, 256),
            CL_ECORRUPT);
        s->buf[i] ^= 0x40;
    }
    /* H3: a well-checksummed header of another version */
    put_le32(s->buf + WAL_SH_OFF_VERSION, 2);
    put_le32(s->buf, 0);
    put_le32(s->buf, crc32c(s->buf + 4, WAL_SEG_HDR_SIZE - 4));
    assert_int_equal(wal_seg_decode(s->buf, s->len, SEGNO, SALT, &h, why, 256),
                     CL_ECORRUPT);
    assert_non_null(strstr(why, "version"));
    free(s);
}

static void test_wal_truncated_tail_is_torn(void **state)
{
    seg *s = malloc(sizeof(*s));
    char why[256];
    uint64_t end, full;
    int n;

    (void)state;
    seg_init(s);
    seg_add(s, 100, 'a', 0);
    seg_add(s, 300, 'b', 0);
    full = s->len;
    /* cut inside the payload, inside the header (R2), and 1 byte short */
    uint64_t cuts[] = {s->rec_off[1] + 40, s->rec_off[1] + 5, full - 1};
    for (int i = 0; i < 3; i++) {
        s->len = cuts[i];
        assert_int_equal(seg_read(s, &n, &end, why), WAL_NEXT_TORN);
        assert_int_equal(n, 1);
        assert_int_equal(end, s->rec_off[1]);
    }
    free(s);
}

static void test_wal_zero_fill_is_torn(void **state)
{
    seg *s = malloc(sizeof(*s));
    char why[256];
    uint64_t end;
    int n;

    (void)state;
    seg_init(s);
    seg_add(s, 100, 'a', 0);
    s->len += 8192; /* preallocated, never written: zeros (R2) */
    assert_int_equal(seg_read(s, &n, &end, why), WAL_NEXT_TORN);
    assert_int_equal(n, 1);
    assert_non_null(strstr(why, "zero"));
    free(s);
}

static void test_wal_record_at_wrong_position_is_invalid(void **state)
{
    seg *s = malloc(sizeof(*s));
    char why[256];
    uint64_t end, rsize;
    int n;

    (void)state;
    seg_init(s);
    seg_add(s, 16, 'a', 0);
    seg_add(s, 16, 'b', 0);
    rsize = wal_rec_size(16);
    /* R3: copy record 0 over record 1: valid CRC, wrong place */
    memcpy(s->buf + s->rec_off[1], s->buf + s->rec_off[0], rsize);
    assert_int_equal(seg_read(s, &n, &end, why), WAL_NEXT_TORN);
    assert_int_equal(n, 1);
    assert_non_null(strstr(why, "LSN"));
    free(s);
}

static void test_wal_bad_length_or_type_is_invalid(void **state)
{
    seg *s = malloc(sizeof(*s));
    char why[256];
    uint64_t end;
    int n;

    (void)state;
    seg_init(s); /* R4: length past the end of the file */
    seg_add(s, 16, 'a', 0);
    seg_add(s, 16, 'b', 0);
    put_le32(s->buf + s->rec_off[1] + WAL_RH_OFF_LEN, 1u << 20);
    assert_int_equal(seg_read(s, &n, &end, why), WAL_NEXT_TORN);
    assert_int_equal(n, 1);

    seg_init(s); /* R4: unknown type */
    seg_add(s, 16, 'a', 0);
    s->buf[s->rec_off[0] + WAL_RH_OFF_TYPE] = 99;
    assert_int_equal(seg_read(s, &n, &end, why), WAL_NEXT_TORN);
    assert_int_equal(n, 0);
    free(s);
}

static void test_wal_flipped_byte_in_last_record_is_torn(void **state)
{
    seg *s = malloc(sizeof(*s));
    char why[256];
    uint64_t end;
    int n;

    (void)state;
    seg_init(s);
    seg_add(s, 100, 'a', 0);
    seg_add(s, 100, 'b', 0);
    s->buf[s->rec_off[1] + 60] ^= 1; /* R5 at the tail */
    assert_int_equal(seg_read(s, &n, &end, why), WAL_NEXT_TORN);
    assert_int_equal(n, 1);
    assert_non_null(strstr(why, "CRC"));
    free(s);
}

static void test_wal_bad_record_then_durable_one_is_corrupt(void **state)
{
    seg *s = malloc(sizeof(*s));
    char why[256];
    uint64_t end;
    int n;

    (void)state;
    seg_init(s);
    seg_add(s, 100, 'a', 0);
    seg_add(s, 100, 'b', 0);
    /* written after a sync that covered record 1 (R7) */
    seg_add(s, 100, 'c', -1);
    s->buf[s->rec_off[1] + 50] ^= 1;
    assert_int_equal(seg_read(s, &n, &end, why), WAL_NEXT_CORRUPT);
    assert_int_equal(n, 1);
    assert_int_equal(end, s->rec_off[1]);
    assert_non_null(strstr(why, "after it was durable"));
    free(s);
}

static void test_wal_bad_record_then_unsynced_ones_is_torn(void **state)
{
    seg *s = malloc(sizeof(*s));
    char why[256];
    uint64_t end;
    int n;

    (void)state;
    seg_init(s);
    seg_add(s, 100, 'a', -1);
    /* records 1..3 written in one unsynced batch: a power cut may keep the
     * later ones and lose record 1 (R8) */
    uint64_t durable = START + (s->len - WAL_SEG_HDR_SIZE);
    seg_add(s, 100, 'b', (int64_t)durable);
    seg_add(s, 100, 'c', (int64_t)durable);
    seg_add(s, 100, 'd', (int64_t)durable);
    memset(s->buf + s->rec_off[1], 0, 64);
    assert_int_equal(seg_read(s, &n, &end, why), WAL_NEXT_TORN);
    assert_int_equal(n, 1);
    assert_int_equal(end, s->rec_off[1]);
    free(s);
}

static void test_wal_record_of_another_segment_is_invalid(void **state)
{
    seg *s = malloc(sizeof(*s));
    char why[256];
    uint64_t end;
    int n;

    (void)state;
    seg_init(s);
    seg_add(s, 100, 'a', 0);
    /* R5 with the salt: a record written for the same LSN by an older
     * incarnation of this segment number (another start LSN) */
    wal_rec_encode(s->buf + s->len,
                   wal_crc_seed(wal_seg_salt(SALT, SEGNO, START + 8)), WAL_TXN,
                   START + (s->len - WAL_SEG_HDR_SIZE), 0, "x", 1);
    s->len += wal_rec_size(1);
    assert_int_equal(seg_read(s, &n, &end, why), WAL_NEXT_TORN);
    assert_int_equal(n, 1);
    free(s);
}

static void test_wal_synced_past_itself_is_invalid(void **state)
{
    seg *s = malloc(sizeof(*s));
    char why[256];
    uint64_t end;
    int n;

    (void)state;
    seg_init(s);
    seg_add(s, 10, 'a', START + 1000); /* R6 */
    assert_int_equal(seg_read(s, &n, &end, why), WAL_NEXT_TORN);
    assert_int_equal(n, 0);
    free(s);
}

/* H3: a header with a nonzero reserved byte under a good CRC is not a
 * version 1 header. */
static void test_wal_header_reserved_bytes_must_be_zero(void **state)
{
    seg *s = malloc(sizeof(*s));
    wal_seg_hdr h;
    char why[256];

    (void)state;
    seg_init(s);
    s->buf[WAL_SH_OFF_RESERVED + 3] = 1;
    put_le32(s->buf, crc32c(s->buf + 4, WAL_SEG_HDR_SIZE - 4));
    assert_int_equal(wal_seg_decode(s->buf, s->len, SEGNO, SALT, &h, why, 256),
                     CL_ECORRUPT);
    free(s);
}

/* R9: a whole record (good CRC) with a nonzero reserved header byte was
 * written by another format: refused, not cut off as a torn tail. */
static void test_wal_record_reserved_bytes_are_refused(void **state)
{
    seg *s = malloc(sizeof(*s));
    uint8_t *r;
    char why[256];
    uint64_t end;
    int n;

    (void)state;
    seg_init(s);
    seg_add(s, 100, 'a', -1);
    seg_add(s, 100, 'b', -1);
    r = s->buf + s->rec_off[1];
    r[WAL_RH_OFF_RESERVED + 2] = 1;
    put_le32(r, crc32c_extend(wal_crc_seed(s->hdr.salt), r + 4,
                              WAL_REC_HDR_SIZE - 4 + 100));
    assert_int_equal(seg_read(s, &n, &end, why), WAL_NEXT_CORRUPT);
    assert_int_equal(n, 1);
    assert_int_equal(end, s->rec_off[1]);
    assert_non_null(strstr(why, "reserved"));
    free(s);
}

/* Bytes checksummed since the last reset: every crc32c_extend call of
 * this program goes through here (the link wraps it, see the Makefile), so
 * a test can bound the reader's work without timing it. */
static uint64_t crc_bytes;
uint32_t __real_crc32c_extend(uint32_t crc, const void *buf, size_t len);
uint32_t __wrap_crc32c_extend(uint32_t crc, const void *buf, size_t len);
uint32_t __wrap_crc32c_extend(uint32_t crc, const void *buf, size_t len)
{
    crc_bytes += len;
    return __real_crc32c_extend(crc, buf, len);
}

/* R7's look-ahead over a crafted segment of 1 MiB: an invalid record at
 * offset 64, then a record header at every 32 bytes, each at its right
 * LSN, claiming the rest of the file, with a wrong CRC and a durable point
 * of START (at the invalid record's LSN: it proves nothing) or, with
 * provable, of its own LSN (past the invalid record's: it could prove
 * damage if its CRC matched).  A CRC over each claimed length would be
 * about 2^34 bytes.  The verdict must be TORN at offset 64; then, with a
 * genuine record in the last 64 bytes written after the bad one was
 * durable, CORRUPT naming it.  OUT: the bytes checksummed for each. */
static void crafted_lookahead(int provable, uint64_t *torn_bytes,
                              uint64_t *corrupt_bytes)
{
    const uint64_t len = 1u << 20, last = len - 64;
    uint8_t *buf = calloc(1, len);
    wal_seg_hdr h = {SEGNO, START, SALT, wal_seg_salt(SALT, SEGNO, START)}, got;
    wal_cursor c;
    wal_record r;
    char why[256];

    assert_non_null(buf);
    wal_seg_encode(buf, &h);
    for (uint64_t y = WAL_SEG_HDR_SIZE + 32; y < last; y += 32) {
        uint64_t lsn = START + (y - WAL_SEG_HDR_SIZE);
        put_le32(buf + y + WAL_RH_OFF_LEN,
                 (uint32_t)(len - y - WAL_REC_HDR_SIZE));
        put_le64(buf + y + WAL_RH_OFF_LSN, lsn);
        put_le64(buf + y + WAL_RH_OFF_SYNCED, provable ? lsn : START);
        buf[y + WAL_RH_OFF_TYPE] = WAL_TXN;
    }
    assert_int_equal(wal_seg_decode(buf, len, SEGNO, SALT, &got, why, 256), 0);
    wal_cursor_init(&c, buf, len, &got);
    crc_bytes = 0;
    assert_int_equal(wal_cursor_next(&c, &r, why, sizeof(why)), WAL_NEXT_TORN);
    assert_int_equal(c.off, WAL_SEG_HDR_SIZE);
    *torn_bytes = crc_bytes;

    wal_rec_encode(buf + last, wal_crc_seed(got.salt), WAL_TXN,
                   START + (last - WAL_SEG_HDR_SIZE),
                   START + (last - WAL_SEG_HDR_SIZE), "payload", 7);
    wal_cursor_init(&c, buf, len, &got);
    crc_bytes = 0;
    assert_int_equal(wal_cursor_next(&c, &r, why, sizeof(why)),
                     WAL_NEXT_CORRUPT);
    assert_non_null(strstr(why, "offset 1048512 was written"));
    *corrupt_bytes = crc_bytes;
    print_message("%s headers over %llu bytes: %llu bytes checksummed for "
                  "TORN, %llu for CORRUPT\n",
                  provable ? "provable" : "unprovable", (unsigned long long)len,
                  (unsigned long long)*torn_bytes,
                  (unsigned long long)*corrupt_bytes);
    free(buf);
}

/* Headers that cannot prove anything are never checksummed: TORN costs no
 * CRC at all, and CORRUPT only the genuine record's. */
static void test_wal_lookahead_on_crafted_segment_is_linear(void **state)
{
    uint64_t torn, corrupt;

    (void)state;
    crafted_lookahead(0, &torn, &corrupt);
    assert_int_equal(torn, 0);
    assert_int_equal(corrupt, WAL_REC_HDR_SIZE - 4 + 7);
}

/* Headers that could prove damage are checksummed, but through prefix
 * CRCs once their spans overlap: both verdicts cost at most three times
 * the segment's size. */
static void test_wal_lookahead_on_provable_headers_is_linear(void **state)
{
    uint64_t torn, corrupt;

    (void)state;
    crafted_lookahead(1, &torn, &corrupt);
    assert_true(torn <= 3u << 20);
    assert_true(corrupt <= 3u << 20);
}

/* Rule R7's look-ahead as it was before prefix CRCs, kept here only to
 * compare verdicts: every later 8-aligned offset y of buf[0, len) whose
 * header passes R2-R4, with synced in (bad LSN, its LSN] and zero reserved
 * bytes, is checksummed over its own claimed length.  Returns the first
 * such y whose CRC matches, or 0.  OUT: *direct, 0 if the linear
 * look-ahead must have switched to prefix CRCs before reaching its answer
 * (the spans checksummed so far exceed len - x), else 1. */
static uint64_t old_lookahead(const uint8_t *buf, uint64_t len,
                              const wal_seg_hdr *h, uint64_t x, int *direct)
{
    uint64_t bad = h->start_lsn + (x - WAL_SEG_HDR_SIZE), spent = 0;
    uint32_t seed = wal_crc_seed(h->salt);

    *direct = 1;
    for (uint64_t y = x + WAL_ALIGN; y + WAL_REC_HDR_SIZE <= len;
         y += WAL_ALIGN) {
        const uint8_t *p = buf + y;
        uint64_t lsn = h->start_lsn + (y - WAL_SEG_HDR_SIZE);
        uint64_t synced = get_le64(p + WAL_RH_OFF_SYNCED);
        uint32_t n = get_le32(p + WAL_RH_OFF_LEN);

        if (get_le64(p + WAL_RH_OFF_LSN) != lsn || p[WAL_RH_OFF_TYPE] != 1 ||
            n > WAL_MAX_PAYLOAD || len - y < wal_rec_size(n) || synced <= bad ||
            synced > lsn)
            continue;
        if (!page_is_zero(p + WAL_RH_OFF_RESERVED,
                          WAL_REC_HDR_SIZE - WAL_RH_OFF_RESERVED))
            continue;
        if (*direct && spent + WAL_REC_HDR_SIZE - 4 + n > len - x)
            *direct = 0;
        spent += WAL_REC_HDR_SIZE - 4 + n;
        if (get_le32(p) ==
            __real_crc32c_extend(seed, p + 4, WAL_REC_HDR_SIZE - 4 + n))
            return y;
    }
    return 0;
}

/* Fill a segment of len bytes at random: genuine records from the start,
 * then record headers at random 8-aligned offsets written from the last
 * to the first (so that an outer record's CRC covers the inner ones as
 * they end up), most at their right LSN and claiming up to the end of the
 * file, with durable points around their own LSN, a share of correct CRCs
 * that differs from segment to segment and now and then a reserved byte
 * set; then a few flipped bytes. */
static void diff_segment(rng *r, uint8_t *buf, uint64_t len,
                         const wal_seg_hdr *h)
{
    uint32_t seed = wal_crc_seed(h->salt);
    uint64_t x = WAL_SEG_HDR_SIZE, pos[64];
    uint8_t payload[512];
    int good = (int)rng_below(r, 100), npos = (int)rng_below(r, 64);

    memset(buf, 0, len);
    wal_seg_encode(buf, h);
    rng_fill(r, payload, sizeof(payload));
    while (x + wal_rec_size(sizeof(payload)) <= len / 2) {
        uint64_t lsn = h->start_lsn + (x - WAL_SEG_HDR_SIZE);
        uint32_t n = (uint32_t)rng_below(r, sizeof(payload));
        wal_rec_encode(buf + x, seed, WAL_TXN, lsn,
                       rng_range(r, h->start_lsn, lsn), payload, n);
        x += wal_rec_size(n);
    }
    for (int i = 0; i < npos; i++)
        pos[i] = WAL_SEG_HDR_SIZE +
                 WAL_ALIGN *
                     rng_below(r, (len - WAL_SEG_HDR_SIZE - WAL_REC_HDR_SIZE) /
                                          WAL_ALIGN +
                                      1);
    for (int i = 0; i < npos; i++) { /* the largest offset first */
        int k = i;
        for (int j = i + 1; j < npos; j++)
            k = pos[j] > pos[k] ? j : k;
        uint64_t y = pos[k], lsn = h->start_lsn + (y - WAL_SEG_HDR_SIZE);
        uint64_t room = len - y - WAL_REC_HDR_SIZE;
        uint32_t n =
            (uint32_t)(rng_below(r, 4) == 0 ? rng_below(r, room + 1) : room);
        uint8_t *p = buf + y;
        pos[k] = pos[i];
        put_le32(p + WAL_RH_OFF_LEN, n);
        put_le64(p + WAL_RH_OFF_LSN, rng_below(r, 20) == 0 ? lsn + 8 : lsn);
        put_le64(p + WAL_RH_OFF_SYNCED, rng_range(r, h->start_lsn, lsn + 16));
        p[WAL_RH_OFF_TYPE] = WAL_TXN;
        memset(p + WAL_RH_OFF_RESERVED, 0,
               WAL_REC_HDR_SIZE - WAL_RH_OFF_RESERVED);
        if (rng_below(r, 20) == 0)
            p[WAL_RH_OFF_RESERVED + rng_below(r, 7)] = 1;
        put_le32(p, (int)rng_below(r, 100) < good
                        ? crc32c_extend(seed, p + 4, WAL_REC_HDR_SIZE - 4 + n)
                        : (uint32_t)rng_next(r));
    }
    for (int i = (int)rng_below(r, 4); i > 0; i--)
        buf[WAL_SEG_HDR_SIZE + rng_below(r, len - WAL_SEG_HDR_SIZE)] ^=
            (uint8_t)(1u << rng_below(r, 8));
}

/* The linear look-ahead against the old one on random segments: at random
 * offsets (the cursor put there, sometimes seeing the file through a
 * window that starts before it), the reader's verdict is TORN exactly
 * when the old look-ahead finds nothing, and otherwise CORRUPT naming the
 * offset the old one found (or CORRUPT by R9 for a whole record of another
 * format, which needs no look-ahead).  Enough of the cases must have gone
 * past the direct budget into prefix CRCs, with both verdicts. */
static void test_wal_lookahead_matches_old_lookahead(void **state)
{
    const uint64_t max = 16384;
    uint8_t *buf = malloc(max);
    wal_seg_hdr h = {SEGNO, START, SALT, wal_seg_salt(SALT, SEGNO, START)};
    rng r = {19};
    int seen[2][2] = {{0, 0}, {0, 0}}; /* [direct][found] */

    (void)state;
    assert_non_null(buf);
    for (int seg_i = 0; seg_i < 300; seg_i++) {
        uint64_t len = WAL_ALIGN * rng_range(&r, 64, max / WAL_ALIGN);
        diff_segment(&r, buf, len, &h);
        for (int k = 0; k < 40; k++) {
            uint64_t x =
                k == 0
                    ? WAL_SEG_HDR_SIZE
                    : WAL_SEG_HDR_SIZE +
                          WAL_ALIGN * rng_below(&r, (len - WAL_SEG_HDR_SIZE) /
                                                        WAL_ALIGN);
            uint64_t base = rng_coin(&r) ? 0 : x - rng_below(&r, x - 1);
            wal_cursor c;
            wal_record rec;
            char why[256], want[256];
            int direct;
            uint64_t y = old_lookahead(buf, len, &h, x, &direct);
            enum wal_next nx;

            wal_cursor_init(&c, buf, len, &h);
            wal_cursor_window(&c, buf + base, len - base, base);
            c.off = x;
            why[0] = '\0';
            nx = wal_cursor_next(&c, &rec, why, sizeof(why));
            if (nx == WAL_NEXT_RECORD ||
                (nx == WAL_NEXT_CORRUPT && strstr(why, "reserved") &&
                 !strstr(why, "durable")))
                continue; /* no look-ahead ran */
            snprintf(want, sizeof(want),
                     ", and the valid record at offset %llu was written "
                     "after it was durable",
                     (unsigned long long)y);
            if (y == 0) {
                assert_int_equal(nx, WAL_NEXT_TORN);
            } else {
                assert_int_equal(nx, WAL_NEXT_CORRUPT);
                assert_true(strlen(why) > strlen(want));
                assert_string_equal(why + strlen(why) - strlen(want), want);
            }
            seen[direct][y != 0]++;
        }
    }
    print_message("verdicts compared: direct %d torn, %d corrupt; through "
                  "prefix CRCs %d torn, %d corrupt\n",
                  seen[1][0], seen[1][1], seen[0][0], seen[0][1]);
    assert_true(seen[0][0] >= 50 && seen[0][1] >= 50);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wal_header_reserved_bytes_must_be_zero),
        cmocka_unit_test(test_wal_record_reserved_bytes_are_refused),
        cmocka_unit_test(test_wal_lookahead_on_crafted_segment_is_linear),
        cmocka_unit_test(test_wal_lookahead_on_provable_headers_is_linear),
        cmocka_unit_test(test_wal_lookahead_matches_old_lookahead),
        cmocka_unit_test(test_wal_records_read_back_in_order),
        cmocka_unit_test(test_wal_sync_past_the_end_is_corrupt),
        cmocka_unit_test(test_wal_header_rules),
        cmocka_unit_test(test_wal_truncated_tail_is_torn),
        cmocka_unit_test(test_wal_zero_fill_is_torn),
        cmocka_unit_test(test_wal_record_at_wrong_position_is_invalid),
        cmocka_unit_test(test_wal_bad_length_or_type_is_invalid),
        cmocka_unit_test(test_wal_flipped_byte_in_last_record_is_torn),
        cmocka_unit_test(test_wal_bad_record_then_durable_one_is_corrupt),
        cmocka_unit_test(test_wal_bad_record_then_unsynced_ones_is_torn),
        cmocka_unit_test(test_wal_record_of_another_segment_is_invalid),
        cmocka_unit_test(test_wal_synced_past_itself_is_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
