/*
 * oracle.h - what a recovered database may contain.
 *
 * The model is the key-value state the workload's transactions produce,
 * applied in order.  Its hash is a sum over (key, value) pairs, so it is
 * updated in constant time per operation and the hash after each prefix of
 * k transactions, H[k], costs one pass over the workload.  A recovered
 * database passes when its state equals the model after exactly k
 * transactions for some k in [lo, hi] (lo: transactions known durable,
 * hi: transactions issued): durability, atomicity and prefix consistency at
 * once.  A hash match is confirmed by a full comparison.
 *
 * Under injected errors one transaction may have failed while the engine
 * went on (a full disk on its log append): it was never committed, so the
 * model skips it.  The _skip variants take its index (ORACLE_NO_SKIP:
 * none); transaction numbers, and so lo, hi and k, still count it.
 */
#ifndef CL_ORACLE_H
#define CL_ORACLE_H

#include <stddef.h>
#include <stdint.h>

#include "workload.h"

/* A key-value map with the additive state hash. */
typedef struct oracle_map oracle_map;

oracle_map *oracle_map_new(void);
void oracle_map_free(oracle_map *m);
void oracle_map_clear(oracle_map *m);
/* Insert or replace (copies). Returns 0 or -1 (no memory). */
int oracle_map_put(oracle_map *m, const void *k, size_t klen, const void *v,
                   size_t vlen);
void oracle_map_del(oracle_map *m, const void *k, size_t klen);
/* The value of k, or NULL.  OUT: *vlen. */
const uint8_t *oracle_map_get(const oracle_map *m, const void *k, size_t klen,
                              size_t *vlen);
uint64_t oracle_map_hash(const oracle_map *m);
size_t oracle_map_count(const oracle_map *m);
/* Apply a transaction. */
int oracle_map_apply(oracle_map *m, const wl_txn *t);
/* Call fn on every pair of m, in no order, until it returns nonzero (that
 * value is returned; 0 when every pair was seen).  m must not change
 * meanwhile. */
int oracle_map_foreach(const oracle_map *m,
                       int (*fn)(void *ctx, const uint8_t *k, size_t klen,
                                 const uint8_t *v, size_t vlen),
                       void *ctx);

/* Hashes of every prefix of a workload: h[k] = state after k txns. */
typedef struct oracle_prefix {
    uint32_t n;      /* transactions */
    uint64_t *h;     /* n + 1 hashes */
    uint32_t *count; /* n + 1 key counts */
} oracle_prefix;

#define ORACLE_NO_SKIP UINT32_MAX

int oracle_prefix_build(const wl_params *p, oracle_prefix *out);
/* The same with transaction skip left out of the model. */
int oracle_prefix_build_skip(const wl_params *p, uint32_t skip,
                             oracle_prefix *out);
void oracle_prefix_free(oracle_prefix *o);

/* Violation kinds (and the non-violation outcomes). */
typedef enum oracle_kind {
    ORACLE_OK = 0,
    ORACLE_DURABILITY,  /* lost a transaction known durable */
    ORACLE_ATOMICITY,   /* part of a transaction is visible */
    ORACLE_PREFIX,      /* no prefix of the transactions explains the state */
    ORACLE_STRUCTURE,   /* cl_check failed */
    ORACLE_RECOVERY,    /* open failed where the damage model says it must
                           succeed, or recovery crashed */
    ORACLE_IDEMPOTENCE, /* a crashed and resumed recovery ended elsewhere
                           than a clean one */
    ORACLE_WRITER,      /* the target failed during the workload on a
                           healthy disk */
    ORACLE_ERROR_HANDLING, /* under an injected error: the target
                              acknowledged a commit after a failed sync
                              (or in the commit that saw it fail) */
    ORACLE_DETECTED,       /* not a violation: corruption detected and
                              refused where the damage allows it */
    ORACLE_KINDS
} oracle_kind;

const char *oracle_kind_name(oracle_kind k);

/* Judge recovered state r against workload p with prefix hashes o, when
 * transactions [0, lo) were durable and [0, hi) issued.
 * OUT: *k_out the prefix length that matches (or the closest one), detail
 * a sentence on a violation.  Returns the oracle_kind. */
oracle_kind oracle_judge(const wl_params *p, const oracle_prefix *o,
                         const oracle_map *r, uint32_t lo, uint32_t hi,
                         uint32_t *k_out, char *detail, size_t dlen);
/* The same with transaction skip left out of the model (o built with the
 * same skip). */
oracle_kind oracle_judge_skip(const wl_params *p, const oracle_prefix *o,
                              const oracle_map *r, uint32_t lo, uint32_t hi,
                              uint32_t skip, uint32_t *k_out, char *detail,
                              size_t dlen);

#endif
