/*
 * applog.h - the record format of the example log (applog.c writes it,
 * applog_verify.c reads it back).
 *
 * The log is a text file of records, one a line:
 *     ID TAB KEY TAB VALUE [TAB KEY TAB VALUE] TAB CHECK NEWLINE
 * ID is the transaction's number (0 in a compacted log: the state so far,
 * one record a key); CHECK is the FNV-1a hash (32 bits, 8 lowercase hex
 * digits) of every byte of the line before its last TAB.  Keys and values
 * hold no TAB or newline.  A record is valid iff its line is complete and
 * its CHECK matches; reading stops at the first record that is not (the
 * tail a crash cut), so a transaction's keys appear all or none.
 */
#ifndef APPLOG_H
#define APPLOG_H

#include <stddef.h>
#include <stdint.h>

static inline uint32_t applog_hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;

    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

#endif
