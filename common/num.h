/*
 * num.h - strict parsing of numbers given on command lines and in
 * environment variables, for every program of the project.  A value is all
 * of its string or nothing: no sign, no space, no trailing junk, no
 * overflow, so that "1x" or " 5" is an error, not 1 or 5.
 */
#ifndef CL_COMMON_NUM_H
#define CL_COMMON_NUM_H

#include <stdint.h>

/* Parse all of s as an unsigned 64-bit number in base (10, or 0 for C's
 * 0x and 0 prefixes).  No sign, no leading or trailing junk, no overflow.
 * Returns 0 or -1 (then *out is unchanged). */
int num_parse_u64(const char *s, int base, uint64_t *out);

/* Parse all of s as a byte count: an unsigned decimal number with an
 * optional suffix K, M or G (times 1024, 1024^2, 1024^3), "64M".  The same
 * strictness as num_parse_u64, and the product must not overflow.
 * Returns 0 or -1 (then *out is unchanged). */
int num_parse_size(const char *s, uint64_t *out);

/* Parse all of s as a finite non-negative decimal number ("2", "0.5",
 * "1e3").  No sign, no leading or trailing junk, no "inf" or "nan".
 * Returns 0 or -1 (then *out is unchanged). */
int num_parse_double(const char *s, double *out);

#endif
