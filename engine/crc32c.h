/*
 * crc32c.h - CRC-32C (Castagnoli), the checksum of every log record, page
 * and superblock slot.
 *
 * crc32c(0, "123456789", 9) == 0xE3069283.  crc32c_extend(crc32c(0, a), b)
 * == crc32c(0, a || b), so a checksum can be seeded with a salt by starting
 * from crc32c(0, salt bytes).
 */
#ifndef CL_CRC32C_H
#define CL_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* CRC-32C of buf, continuing from the CRC crc of earlier bytes (0 to
 * start).  Hardware-accelerated through ISA-L. */
uint32_t crc32c_extend(uint32_t crc, const void *buf, size_t len);

static inline uint32_t crc32c(const void *buf, size_t len)
{
    return crc32c_extend(0, buf, len);
}

/* The CRC-32C of A || B, from crc_a (the CRC of A, continued from any
 * start), crc_b = crc32c_extend(0, B) and len_b, the length of B, without
 * reading B again: crc32c_combine(crc32c_extend(c, A), crc32c_extend(0, B),
 * len(B)) == crc32c_extend(c, A || B).  It costs at most one GF(2)
 * multiplication per nonzero byte of len_b (four below 4 GiB), not a pass
 * over len_b bytes.  Thread-safe. */
uint32_t crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b);

/* The same function computed bit by bit, for tests. */
uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len);

#endif
