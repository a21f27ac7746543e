/*
 * wal_format.h - the write-ahead log's on-disk layout (shared by the writer,
 * the reader, tests and fuzzers).  The byte-level description is in
 * wal_writer.c, the validity rules in wal_reader.c; docs/FORMAT.md
 * summarises them.
 *
 * The log is a sequence of segment files "wal-<segno as 16 hex digits>" in
 * the database directory, numbered consecutively.  LSNs are byte positions
 * in the concatenation of the segments' record areas: the record at file
 * offset x of a segment that starts at LSN s has LSN s + (x - 64).  A
 * record's end LSN (its LSN plus its padded size) is what pages, commits and
 * the durable point are expressed in.
 */
#ifndef CL_WAL_FORMAT_H
#define CL_WAL_FORMAT_H

#include <assert.h>
#include <stdint.h>

#define WAL_SEG_MAGIC 0x4c574c43u /* "CLWL" */
#define WAL_VERSION 1u

/* Segment header: 64 bytes at offset 0. */
#define WAL_SEG_HDR_SIZE 64
#define WAL_SH_OFF_CRC 0
#define WAL_SH_OFF_MAGIC 4
#define WAL_SH_OFF_VERSION 8
#define WAL_SH_OFF_HDRSIZE 12
#define WAL_SH_OFF_SEGNO 16
#define WAL_SH_OFF_START 24
#define WAL_SH_OFF_DBSALT 32
#define WAL_SH_OFF_SALT 40
#define WAL_SH_OFF_RESERVED 48 /* to 63: zero (rule H3) */

/* Record header: 32 bytes at an 8-aligned offset >= 64. */
#define WAL_REC_HDR_SIZE 32
#define WAL_RH_OFF_CRC 0
#define WAL_RH_OFF_LEN 4
#define WAL_RH_OFF_LSN 8
#define WAL_RH_OFF_SYNCED 16
#define WAL_RH_OFF_TYPE 24
#define WAL_RH_OFF_RESERVED 25 /* to 31: zero (rule R9) */

#define WAL_ALIGN 8
#define WAL_MAX_PAYLOAD (1u << 30) /* bytes */

/* Record types. */
#define WAL_TXN 1 /* a committed transaction's page changes (pager_txn.c) */

#define WAL_SEG_NAME_FMT "wal-%016llx"
#define WAL_SEG_NAME_LEN 20 /* "wal-" + 16 hex digits */

static inline uint64_t wal_padded(uint64_t len)
{
    return (len + WAL_ALIGN - 1) & ~(uint64_t)(WAL_ALIGN - 1);
}

/* Bytes a record with a payload of len bytes takes in the log. */
static inline uint64_t wal_rec_size(uint64_t len)
{
    return WAL_REC_HDR_SIZE + wal_padded(len);
}

/* The salt of a segment, derived from the database salt, its number and
 * its start LSN, so that a record from an older incarnation of a segment
 * number never validates in a newer one. */
static inline uint64_t wal_seg_salt(uint64_t db_salt, uint64_t segno,
                                    uint64_t start_lsn)
{
    uint64_t z = db_salt ^ (segno * 0x9E3779B97F4A7C15ull) ^
                 (start_lsn * 0xC2B2AE3D27D4EB4Full);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static_assert(WAL_SEG_HDR_SIZE % WAL_ALIGN == 0, "records start aligned");
static_assert(WAL_REC_HDR_SIZE % WAL_ALIGN == 0, "payload starts aligned");

#endif
