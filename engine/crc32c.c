/*
 * crc32c.c - CRC-32C through Intel ISA-L's crc32_iscsi, which uses the
 * SSE4.2 crc32 instruction with carry-less-multiply folding where the CPU has
 * them and a table otherwise (ISA-L dispatches at run time).
 *
 * ISA-L's convention differs from the usual one: it neither inverts the
 * initial value nor the result, so crc32c(crc, buf) is
 * ~crc32_iscsi(buf, len, ~crc).  Its length is an int, so long buffers go in
 * chunks.
 */
#include "crc32c.h"

#include <isa-l/crc.h>
#include <limits.h>

uint32_t crc32c_extend(uint32_t crc, const void *buf, size_t len)
{
    unsigned char *p = (unsigned char *)buf; /* ISA-L takes non-const */
    uint32_t c = ~crc;

    while (len > 0) {
        size_t n = len > (size_t)(INT_MAX / 2) ? (size_t)(INT_MAX / 2) : len;
        c = crc32_iscsi(p, (int)n, c);
        p += n;
        len -= n;
    }
    return ~c;
}

uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    uint32_t c = ~crc;

    while (len-- > 0) {
        c ^= *p++;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
    }
    return ~c;
}
