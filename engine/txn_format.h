/*
 * txn_format.h - constants of the transaction payload (the body of a TXN
 * log record).  The layout and the rules of applying it are documented in
 * pager_txn.c, which encodes it; pager_replay.c decodes it.
 */
#ifndef CL_TXN_FORMAT_H
#define CL_TXN_FORMAT_H

#include <assert.h>

#include "page_format.h"

#define PGE_FULL 1      /* the page's bytes [16, size) */
#define PGE_INIT 2      /* ranges over a blank page */
#define PGE_DIFF 3      /* ranges over the page's previous version */
#define PGE_HDR 8       /* bytes of an entry header */
#define PGE_OFF_ZERO 5  /* u8 of an entry header, written zero */
#define PGE_RANGE_HDR 4 /* bytes of a range header */

static_assert(PG_LOG_OFF == PG_OFF_TYPE,
              "a range over the type byte starts exactly at it");

#endif
