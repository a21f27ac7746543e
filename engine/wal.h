/*
 * wal.h - the write-ahead log: the segment reader (wal_reader.c) and the
 * appender with group commit and the encoders (wal_writer.c).
 */
#ifndef CL_WAL_H
#define CL_WAL_H

#include <stddef.h>
#include <stdint.h>

#include "crashlab.h"
#include "wal_format.h"

/* ---------------------------------------------------------------------- */
/* reader: classify the bytes of one segment held in memory               */
/* ---------------------------------------------------------------------- */

typedef struct wal_seg_hdr {
    uint64_t segno;
    uint64_t start_lsn;
    uint64_t db_salt;
    uint64_t salt;
} wal_seg_hdr;

typedef struct wal_record {
    uint8_t type;
    uint64_t lsn;        /* start LSN */
    uint64_t end_lsn;    /* lsn + padded size */
    uint64_t synced;     /* durable point when it was written */
    uint64_t offset;     /* file offset of the header */
    const uint8_t *data; /* payload (points into the segment buffer) */
    uint32_t len;        /* payload bytes */
} wal_record;

typedef struct wal_cursor {
    const uint8_t *buf; /* bytes [base, base + len) of the segment file */
    uint64_t len;       /* their length */
    uint64_t base;      /* file offset of buf[0] */
    uint64_t off;       /* file offset of the next record */
    wal_seg_hdr hdr;
    uint32_t crc_seed;
} wal_cursor;

/* Outcome of wal_cursor_next. */
enum wal_next {
    WAL_NEXT_RECORD = 0, /* *rec filled, cursor advanced */
    WAL_NEXT_EOF = 1,    /* the file ends exactly here */
    WAL_NEXT_TORN = 2,   /* an invalid record here, nothing durable after
                            it: the end of the log (a torn or unsynced
                            tail); reason in why */
    WAL_NEXT_CORRUPT = 3 /* an invalid record here followed by one written
                            after it was durable: damage; reason in why */
};

/* Validate the segment header (rules H1-H5 in wal_reader.c).
 * @return 0 and fill *hdr, or CL_ECORRUPT with the reason in why. */
int wal_seg_decode(const uint8_t *buf, uint64_t len, uint64_t segno,
                   uint64_t db_salt, wal_seg_hdr *hdr, char *why,
                   size_t whylen);
/* Start reading records of a segment whose header decoded as hdr; buf
 * holds the whole file (len bytes). */
void wal_cursor_init(wal_cursor *c, const uint8_t *buf, uint64_t len,
                     const wal_seg_hdr *hdr);
/* Let the cursor see bytes [base, base + len) of the file in buf instead
 * (base <= c->off).  The reader then treats base + len as the end of the
 * file: a caller reading a segment in windows must give it the whole rest
 * of the file before it believes any verdict other than a record. */
void wal_cursor_window(wal_cursor *c, const uint8_t *buf, uint64_t len,
                       uint64_t base);
/* Read the record at the cursor (rules R1-R9 in wal_reader.c).  At an
 * invalid record, rule R7 looks at the rest of the window: time linear in
 * its length, and at most half its length in temporary memory when the
 * later record headers overlap (only a crafted segment's do). */
enum wal_next wal_cursor_next(wal_cursor *c, wal_record *rec, char *why,
                              size_t whylen);

/* ---------------------------------------------------------------------- */
/* writer                                                                 */
/* ---------------------------------------------------------------------- */

/* Encode a segment header into buf[WAL_SEG_HDR_SIZE]. */
void wal_seg_encode(uint8_t *buf, const wal_seg_hdr *hdr);
/* Encode a record (header + payload + zero padding) into buf, which must
 * hold wal_rec_size(len) bytes. */
void wal_rec_encode(uint8_t *buf, uint32_t crc_seed, uint8_t type, uint64_t lsn,
                    uint64_t synced, const void *payload, uint32_t len);
/* The CRC seed of a segment: CRC-32C of its 8-byte little-endian salt. */
uint32_t wal_crc_seed(uint64_t salt);
/* "<dir>/wal-<segno>" into out (size outlen). */
void wal_seg_path(char *out, size_t outlen, const char *dir, uint64_t segno);

typedef struct wal wal;

typedef struct wal_config {
    const cl_io *io;
    const char *dir;
    uint64_t db_salt;
    uint64_t segment_bytes; /* roll once a segment is this long */
    size_t buffer_bytes;    /* 0: each append writes its record; else
                               records wait in two buffers of this size
                               until a sync, a roll, or a full buffer */
    uint64_t zero_ahead;    /* unbuffered: keep this many bytes of zeros
                               written ahead of the records (0: none) */
} wal_config;

typedef struct wal_stats {
    uint64_t records, bytes, syncs, segments;
} wal_stats;

/* Create segment segno starting at start_lsn (header written and synced,
 * directory synced).  Replaces a stale file of that name. */
int wal_create_segment(const wal_config *cfg, uint64_t segno,
                       uint64_t start_lsn);

/* Open segment segno (starting at start_lsn) for appending at file offset
 * end_off, which is LSN end_lsn; everything before it must be durable. */
int wal_open(const wal_config *cfg, uint64_t segno, uint64_t start_lsn,
             uint64_t end_off, uint64_t end_lsn, wal **out);
/* Close (no sync). */
void wal_close(wal *w);

/* Append one record; the caller serializes appends (the writer lock).
 * OUT: *end_lsn.  Rolls to a new segment first when the current one is
 * full.  Unbuffered, after a failed write the log is poisoned (every later
 * call fails) unless the error was ENOSPC or EDQUOT, which leave it
 * usable; buffered, any failed write poisons it. */
int wal_append(wal *w, uint8_t type, const void *payload, size_t len,
               uint64_t *end_lsn);
/* Return once the log is durable up to lsn: one caller fsyncs for all the
 * others waiting (group commit).  A failed fsync poisons the log: the error
 * is returned now and CL_EREADONLY forever after. */
int wal_sync(wal *w, uint64_t lsn);
/* wal_sync for a committer in group mode: a leader may first wait (at
 * most one fsync) for the committers the last sync released. */
int wal_sync_group(wal *w, uint64_t lsn);
/* A group-mode commit starts / ends (counts the committers a group
 * leader waits for). */
void wal_group_enter(wal *w);
void wal_group_leave(wal *w);
/* Make everything appended durable and leave the segment ending at its
 * last record (close). */
int wal_finish(wal *w);
/* Start a new segment (syncing the current one first).  The caller
 * serializes with appends.  OUT: *segno, *start_lsn of the new one. */
int wal_roll(wal *w, uint64_t *segno, uint64_t *start_lsn);
/* Unlink segments first..last-1 (missing ones are fine), then sync the
 * directory if any was removed. */
int wal_unlink_segments(const wal_config *cfg, uint64_t first, uint64_t last);

/* End LSN of the last record appended (buffered or written). */
uint64_t wal_written(wal *w);
uint64_t wal_durable(wal *w);
/* 0, or the error that poisoned the log. */
int wal_fatal(wal *w);
/* The same, and (when not 0 and info is not NULL) its kind and place, as
 * cl_errinfo gave them in the thread that met it.  OUT: *info. */
int wal_fatal_info(wal *w, cl_err_info *info);
void wal_stats_get(wal *w, wal_stats *st);

#endif
