/*
 * fuzz_shadow.c - the shadow log reader of faults/ (shadow_reader_open,
 * shadow_next; format and rules at the top of faults/shadow_writer.c) on
 * arbitrary bytes.  The harness reads this log back after killing a
 * writer, so it is a decoder of bytes like the engine's.
 *
 * Input: the log file.  The FZ_FIXCRC variant recomputes the header's CRC
 * and the CRC of every record that fits (fz_fix_shadow).
 *
 * Properties: no crash or leak; every record returned has consecutive
 * sequence numbers from 1, a known type, NUL-terminated paths and byte
 * ranges the reader owns (all are read here, so ASan checks them), the
 * field relations of rule 5, and the reader ends in END (with a torn tail
 * no longer than the file) or CORRUPT (with a reason), and stays there.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "shadow.h"

static volatile uint8_t fz_sh_sink;

static void fz_sh_touch(const uint8_t *b, uint64_t n)
{
    uint8_t x = 0;

    for (uint64_t i = 0; i < n; i++)
        x ^= b[i];
    fz_sh_sink ^= x;
}

static void fz_sh_check(const shadow_rec *r, uint64_t want_seq)
{
    fz_require(r->seq == want_seq, "record %llu has seq %llu",
               (unsigned long long)want_seq, (unsigned long long)r->seq);
    fz_require(r->type >= SHADOW_WRITE && r->type <= SHADOW_FAILED,
               "unknown type %d returned", (int)r->type);
    fz_require(r->type == SHADOW_FAILED ||
                   (r->path != NULL && strlen(r->path) > 0),
               "record without a path");
    if (r->to != NULL)
        fz_require(strlen(r->to) > 0, "rename to an empty path");
    if (r->grave != NULL)
        fz_require(strlen(r->grave) > 0, "empty graveyard path");
    fz_require(r->covers <= r->seq, "covers a later record");
    if (r->type == SHADOW_FAILED)
        fz_require(r->ref < r->seq, "failed record refers forward");
    if (r->type == SHADOW_WRITE) {
        uint64_t want = r->off < r->old_size ? r->old_size - r->off : 0;
        fz_require(r->old_len == (want < r->len ? want : r->len) &&
                       r->off + r->len >= r->off,
                   "write record breaks rule 5");
        fz_sh_touch(r->old_bytes, r->old_len);
    }
    if (r->type == SHADOW_TRUNCATE)
        fz_sh_touch(r->old_bytes, r->old_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[512];
    uint8_t *buf = malloc(size > 0 ? size : 1);
    shadow_reader *r = NULL;
    shadow_rec rec;
    uint64_t seq = 0;
    int rc;

    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    if (FZ_FIX)
        fz_fix_shadow(buf, size);
    snprintf(path, sizeof(path), "%s/shadow", fz_scratch());
    if (fz_write_file(path, buf, size) != 0)
        goto out;
    if (shadow_reader_open(path, &r) != 0)
        goto out;
    fz_require(strlen(shadow_reader_graveyard(r)) < 4096,
               "graveyard path too long");
    while ((rc = shadow_next(r, &rec)) == SHADOW_OK)
        fz_sh_check(&rec, ++seq);
    if (rc == SHADOW_END)
        fz_require(shadow_reader_torn_bytes(r) <= size,
                   "torn tail longer than the file");
    else
        fz_require(rc == SHADOW_CORRUPT && strlen(shadow_reader_reason(r)) > 0,
                   "reader ended with %d and no reason", rc);
    fz_require(shadow_next(r, &rec) == rc, "the reader did not stay ended");
out:
    shadow_reader_close(r);
    free(buf);
    return 0;
}
