/*
 * btree.h - the B+tree that maps keys to values over the pager's pages.
 *
 * One tree per database; its root page number is kept in the meta page
 * (pg_root, 0 for an empty tree) and its key count too (pg_nkeys).  Keys are
 * 1..CL_KEY_MAX bytes, values 0..CL_VALUE_MAX bytes, both arbitrary bytes,
 * ordered by memcmp of the common prefix and then by length (shorter first).
 * The page formats are described byte by byte at the top of btree.c.
 *
 * Locking: every function takes the pager and relies on the caller's locks.
 * Readers (bt_get, bt_scan, bt_check) hold the engine's tree lock shared;
 * writers (bt_put, bt_delete) hold it exclusively and run inside a pager
 * write transaction (pg_txn_begin .. pg_txn_finish / pg_txn_abort).
 *
 * Errors: 0 on success, CL_ENOTFOUND where stated, CL_EINVAL or CL_ETOOBIG
 * for bad arguments (checked before anything is touched), CL_ECORRUPT for a
 * page that breaks a validity rule of the format (the thread's error detail
 * names the page and the rule), CL_ENOMEM, or whatever the pager returns
 * (a positive errno, or CL_ENOMEM when the pool is full of pinned pages).
 * A writer that fails after it has started changing pages leaves the
 * transaction half done: the caller must pg_txn_abort it.
 */
#ifndef CL_BTREE_H
#define CL_BTREE_H

#include <stddef.h>
#include <stdint.h>

#include "pager.h"

/* Look key up.  Copies min(cap, length of the value) bytes of the value into
 * buf (which may be NULL when cap is 0: a length query that reads no
 * overflow page).  OUT: *vlen, the value's full length.
 * Returns 0, CL_ENOTFOUND, CL_EINVAL, CL_ETOOBIG, CL_ECORRUPT or a pager
 * error. */
int bt_get(pager *p, const void *key, size_t klen, void *buf, size_t cap,
           size_t *vlen);

/* Insert key with value val, or replace the value of an existing key (the
 * old value's overflow pages, if any, go back to the free list).  Increments
 * the meta page's key count for a new key only.  val may be NULL when vlen
 * is 0.  Returns 0, CL_EINVAL, CL_ETOOBIG, CL_ECORRUPT or a pager error. */
int bt_put(pager *p, const void *key, size_t klen, const void *val,
           size_t vlen);

/* Remove key and free its overflow pages; nodes that fall under the fill
 * threshold are merged with a neighbour, emptied pages are freed and the
 * root collapses when it has a single child.  Returns 0, CL_ENOTFOUND (and
 * nothing was changed), CL_EINVAL, CL_ETOOBIG, CL_ECORRUPT or a pager
 * error. */
int bt_delete(pager *p, const void *key, size_t klen);

/* Callback of bt_scan: k and v are valid only during the call; return
 * nonzero to stop the scan.  It must not call bt_put or bt_delete. */
typedef int (*bt_scan_fn)(void *ctx, const void *k, size_t klen, const void *v,
                          size_t vlen);

/* Call fn for every key >= start (> start when exclusive is nonzero) in
 * ascending order; start NULL means from the first key (startlen and
 * exclusive are then ignored).  start may be longer than CL_KEY_MAX (no key
 * is, so the comparison still works).  Returns 0 when the keys ran out or fn
 * stopped the scan, CL_EINVAL, CL_ENOMEM, CL_ECORRUPT (also for a key that
 * is not above the one delivered before it, or an empty leaf: a damaged tree
 * never makes a scan deliver a key twice, out of order, or run on without
 * end) or a pager error (fn may have been called for some keys before). */
int bt_scan(pager *p, const void *start, size_t startlen, int exclusive,
            bt_scan_fn fn, void *ctx);

/* Verify the whole tree: every node's type, level, header, slots and cells
 * (rules B1..B14 of btree.c), key order within nodes and against the
 * separators above them, equal depth of all leaves, every overflow chain
 * (rules O1..O4), and that the key count in the meta page matches.  Sets bit
 * pgno of seen (the caller allocates and zeroes pg_npages() bits, bit i in
 * seen[i / 8] at (1 << i % 8)) for every page reached, and fails if a bit is
 * already set (a page reachable twice, or shared with another structure the
 * caller has marked).  Returns 0, or CL_ECORRUPT with the first problem in
 * msg (msglen bytes, NUL-terminated; msg may be NULL) and in the thread's
 * error detail, or a pager error. */
int bt_check(pager *p, uint8_t *seen, char *msg, size_t msglen);

#endif
