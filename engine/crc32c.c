/*
 * crc32c.c - CRC-32C through Intel ISA-L's crc32_iscsi, which uses the
 * SSE4.2 crc32 instruction with carry-less-multiply folding where the CPU has
 * them and a table otherwise (ISA-L dispatches at run time).
 *
 * ISA-L's convention differs from the usual one: it neither inverts the
 * initial value nor the result, so crc32c(crc, buf) is
 * ~crc32_iscsi(buf, len, ~crc).  Its length is an int, so long buffers go in
 * chunks.
 *
 * crc32c_combine joins two CRCs without reading the bytes again (GF(2)
 * polynomial arithmetic, below).
 */
#include "crc32c.h"

#include <isa-l/crc.h>
#include <limits.h>
#include <pthread.h>

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

/*
 * Combining CRCs.  A CRC register is a polynomial over GF(2) of degree
 * below 32, reduced modulo the CRC-32C polynomial P; in this reflected
 * form bit 31 - i of the uint32_t holds the coefficient of x^i.  Feeding
 * one byte multiplies the register by x^8 and adds a term that depends on
 * the byte alone, so for bytes B the CRC is affine in its starting value:
 *
 *   crc32c_extend(c, B) == c * x^(8 len(B)) + crc32c_extend(0, B)   (mod P)
 *
 * (the inversions before and after cancel: ~u * y + ~0 * y == u * y).
 * crc32c_combine is the right-hand side with c = crc_a.  x^(8 n) comes
 * from a table holding x^(8 d 256^i) for every byte d of n at every
 * position i, so one multiplication per nonzero byte of n suffices.
 */
#define CRC32C_POLY 0x82F63B78u /* P without its x^32 term, reflected */
#define CRC32C_ONE 0x80000000u  /* the polynomial 1 */

/* a * b mod P. */
static uint32_t crc32c_mulmod(uint32_t a, uint32_t b)
{
    uint32_t prod = 0;

    for (int i = 0; i < 32; i++) {
        /* b holds the original b times x^i; add it if a has x^i */
        prod ^= b & (0u - ((a >> (31 - i)) & 1u));
        b = (b >> 1) ^ (CRC32C_POLY & (0u - (b & 1u)));
    }
    return prod;
}

/* crc32c_xpow[i][d] = x^(8 d 256^i) mod P, filled once. */
static uint32_t crc32c_xpow[8][256];
static pthread_once_t crc32c_xpow_once = PTHREAD_ONCE_INIT;

static void crc32c_xpow_fill(void)
{
    uint32_t x8 = CRC32C_ONE;

    for (int k = 0; k < 8; k++) /* x^8: eight shifts of 1 */
        x8 = (x8 >> 1) ^ (CRC32C_POLY & (0u - (x8 & 1u)));
    for (int i = 0; i < 8; i++) {
        crc32c_xpow[i][0] = CRC32C_ONE;
        /* x^(8 * 256^i): x^8, then 256 times the step of the row above */
        crc32c_xpow[i][1] = i == 0 ? x8
                                   : crc32c_mulmod(crc32c_xpow[i - 1][255],
                                                   crc32c_xpow[i - 1][1]);
        for (int d = 2; d < 256; d++)
            crc32c_xpow[i][d] =
                crc32c_mulmod(crc32c_xpow[i][d - 1], crc32c_xpow[i][1]);
    }
}

uint32_t crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b)
{
    uint32_t v = crc_a;

    pthread_once(&crc32c_xpow_once, crc32c_xpow_fill);
    for (int i = 0; len_b != 0; i++, len_b >>= 8)
        if ((len_b & 0xff) != 0)
            v = crc32c_mulmod(v, crc32c_xpow[i][len_b & 0xff]);
    return v ^ crc_b;
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
