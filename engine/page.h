/*
 * page.h - sealing and verifying pages (format in page_format.h).
 */
#ifndef CL_PAGE_H
#define CL_PAGE_H

#include <stddef.h>
#include <stdint.h>

/* The CRC seed of a database: CRC-32C of its 8-byte little-endian salt. */
uint32_t page_crc_seed(uint64_t salt);

/* Set the pgno field and the CRC of page buf before it is written. */
void page_seal(uint8_t *buf, uint32_t page_size, uint32_t pgno,
               uint32_t crc_seed);

/* Outcome of page_verify. */
enum page_state {
    PAGE_OK = 0,    /* valid page (rule P2) */
    PAGE_BLANK = 1, /* all zero: never written (rule P1) */
    PAGE_BAD = 2,   /* torn or corrupt; why says how */
};

/* Check page buf read from position pgno (rules P1, P2).  why (may be NULL)
 * receives a short reason for PAGE_BAD. */
enum page_state page_verify(const uint8_t *buf, uint32_t page_size,
                            uint32_t pgno, uint32_t crc_seed, char *why,
                            size_t whylen);

/* 1 if all len bytes are zero. */
int page_is_zero(const uint8_t *buf, size_t len);

#endif
