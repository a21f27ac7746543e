/*
 * cli.h - what the command-line programs (kv, kvserver, kvbench,
 * crashtest) parse alike.
 */
#ifndef CRASHLAB_CLI_H
#define CRASHLAB_CLI_H

#include <stdint.h>

/* Parse all of s as an unsigned 64-bit number in base (10, or 0 for C's
 * 0x and 0 prefixes).  No sign, no leading or trailing junk, no overflow.
 * Returns 0 or -1 (then *out is unchanged). */
int cli_parse_u64(const char *s, int base, uint64_t *out);

#endif
