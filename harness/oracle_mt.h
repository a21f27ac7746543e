/*
 * oracle_mt.h - what a recovered database may contain after the crash of a
 * concurrent workload (wl_params.threads > 1: several threads commit on one
 * handle at once, each its own transactions in index order).
 *
 * The engine's commit order is the order of the commits' LSNs.  The
 * recovered state must be the state after a prefix of that order which
 * holds every transaction required to be durable, with each transaction
 * all there or not at all.  Each thread's keys are its own, so the state
 * after such a prefix is the union of each thread's state after the first
 * c_t of its own transactions, and its hash is the sum of theirs: the
 * recovered state is split by thread, each part is matched against that
 * thread's prefix hashes (and confirmed in full), and then a cut of the
 * commit order is looked for that includes exactly those transactions.
 *
 * A transaction whose commit had not returned when the writer died has no
 * known LSN: it may have reached the log anywhere after its thread's
 * earlier transactions, or not at all, so it may be present or absent (but
 * present only with all of its thread's earlier ones) whatever the cut.
 */
#ifndef CL_ORACLE_MT_H
#define CL_ORACLE_MT_H

#include <stddef.h>
#include <stdint.h>

#include "oracle.h"
#include "workload.h"

/* What one thread of the writer did before it died. */
typedef struct oracle_mt_thread {
    uint32_t issued;   /* its transactions started (the last one may have
                          been in its commit when the writer died) */
    uint32_t acked;    /* its commits that returned 0, each with its LSN */
    uint32_t required; /* its first `required` transactions had been
                          promised durable: they must be there */
    uint32_t claimed;  /* its first `claimed` had been reported durable by
                          the target (its durable LSN): a claim checked too */
} oracle_mt_thread;

typedef struct oracle_mt_input {
    uint32_t threads;
    oracle_mt_thread th[WL_MAX_THREADS];
    const uint64_t *lsn; /* lsn[i]: the commit LSN of transaction i of the
                            workload (read for acknowledged ones only) */
} oracle_mt_input;

/* Prefix hashes of each thread's own transactions. */
typedef struct oracle_mt_prefix {
    uint32_t threads;
    oracle_prefix th[WL_MAX_THREADS];
} oracle_mt_prefix;

/* Build them for concurrent workload p.  Returns 0 or -1 (no memory, or
 * p is not concurrent). */
int oracle_mt_build(const wl_params *p, oracle_mt_prefix *out);
void oracle_mt_free(oracle_mt_prefix *o);

/* Judge recovered state r of concurrent workload p (prefix hashes o)
 * against what the writer's threads did (in).  OUT: *k_out the number of
 * transactions recovered (or the closest explanation's), detail a sentence
 * on a violation.  Returns the oracle_kind: durability (a required
 * transaction is gone), claimed (one the target reported durable is gone,
 * though none promised is), atomicity (one is partly there), prefix (a hole
 * in the commit order, or a state no thread's transactions explain). */
oracle_kind oracle_judge_mt(const wl_params *p, const oracle_mt_prefix *o,
                            const oracle_mt_input *in, const oracle_map *r,
                            uint32_t *k_out, char *detail, size_t dlen);

#endif
