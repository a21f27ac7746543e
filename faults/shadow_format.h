/*
 * shadow_format.h - layout constants of the shadow log, shared by its writer,
 * its reader and the tests.  The byte-level specification is the comment at
 * the top of shadow_writer.c; these constants must agree with it.
 */
#ifndef CL_SHADOW_FORMAT_H
#define CL_SHADOW_FORMAT_H

#include <assert.h>
#include <stdint.h>

/* File header: magic, version, salt, graveyard length, reserved, then the
 * graveyard path and a CRC32C of everything before it. */
#define SHADOW_MAGIC "clshadow" /* 8 bytes, no NUL on disk */
#define SHADOW_MAGIC_LEN 8
#define SHADOW_VERSION 2
#define SHADOW_HDR_FIXED 24 /* bytes before the graveyard path */
#define SHADOW_HDR_CRC_LEN 4
#define SHADOW_HDR_OFF_VERSION 8
#define SHADOW_HDR_OFF_SALT 12
#define SHADOW_HDR_OFF_GLEN 16
#define SHADOW_HDR_OFF_RSV 20

/* Record header. */
#define SHADOW_REC_HDR 32 /* bytes */
#define SHADOW_REC_OFF_CRC 0
#define SHADOW_REC_OFF_LEN 4
#define SHADOW_REC_OFF_SEQ 8
#define SHADOW_REC_OFF_POINT 16
#define SHADOW_REC_OFF_TYPE 24
#define SHADOW_REC_OFF_FLAGS 25
#define SHADOW_REC_OFF_RSV 26 /* 6 zero bytes */

/* Limits. */
#define SHADOW_PATH_MAX 4095            /* bytes of a path, no NUL */
#define SHADOW_PAYLOAD_MAX (1u << 30)   /* bytes of one payload */
#define SHADOW_REC_FLAG_DATASYNC 0x01   /* SYNC: it was an fdatasync */
#define SHADOW_REC_FLAG_TO_EXISTED 0x01 /* RENAME: the target existed */

static_assert(SHADOW_HDR_OFF_RSV + 4 == SHADOW_HDR_FIXED,
              "header fields fill the fixed part");
static_assert(SHADOW_REC_OFF_RSV + 6 == SHADOW_REC_HDR,
              "record header fields fill 32 bytes");
static_assert(sizeof(SHADOW_MAGIC) - 1 == SHADOW_MAGIC_LEN, "magic length");

#endif
