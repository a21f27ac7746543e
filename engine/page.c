/*
 * page.c - page checksums and the validity rules P1-P2 of page_format.h.
 */
#include "page.h"

#include <stdio.h>
#include <string.h>

#include "coding.h"
#include "crc32c.h"
#include "page_format.h"

uint32_t page_crc_seed(uint64_t salt)
{
    uint8_t b[8];

    put_le64(b, salt);
    return crc32c(b, sizeof(b));
}

void page_seal(uint8_t *buf, uint32_t page_size, uint32_t pgno,
               uint32_t crc_seed)
{
    put_le32(buf + PG_OFF_PGNO, pgno);
    put_le32(buf + PG_OFF_CRC,
             crc32c_extend(crc_seed, buf + 4, (size_t)page_size - 4));
}

int page_is_zero(const uint8_t *buf, size_t len)
{
    static const uint8_t zero[256];

    while (len >= sizeof(zero)) {
        if (memcmp(buf, zero, sizeof(zero)) != 0)
            return 0;
        buf += sizeof(zero);
        len -= sizeof(zero);
    }
    return memcmp(buf, zero, len) == 0;
}

enum page_state page_verify(const uint8_t *buf, uint32_t page_size,
                            uint32_t pgno, uint32_t crc_seed, char *why,
                            size_t whylen)
{
    uint32_t stored = get_le32(buf + PG_OFF_CRC);
    uint32_t crc;

    if (stored == 0 && page_is_zero(buf, page_size))
        return PAGE_BLANK;
    crc = crc32c_extend(crc_seed, buf + 4, (size_t)page_size - 4);
    if (crc != stored) {
        if (why)
            snprintf(why, whylen, "CRC mismatch (stored %08x, computed %08x)",
                     stored, crc);
        return PAGE_BAD;
    }
    if (get_le32(buf + PG_OFF_PGNO) != pgno) {
        if (why)
            snprintf(why, whylen, "page number field is %u",
                     get_le32(buf + PG_OFF_PGNO));
        return PAGE_BAD;
    }
    if (buf[PG_OFF_TYPE] == PG_TYPE_BLANK || buf[PG_OFF_TYPE] > PG_TYPE_MAX) {
        if (why)
            snprintf(why, whylen, "unknown page type %u", buf[PG_OFF_TYPE]);
        return PAGE_BAD;
    }
    return PAGE_OK;
}
