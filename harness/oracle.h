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
 * What must survive: the oracle trusts acknowledgements, not the engine.
 * lo is the number of transactions the workload was promised, from what
 * its calls returned and the target's promise for its configuration
 * (oracle_promise; docs/ORACLE.md):
 *
 *   sync mode         kill (process crash)       power cut
 *   commit, group     every commit that          the same
 *                     returned 0
 *   periodic, off     every commit that returned before a sync call
 *                     (cl_sync, cl_checkpoint, cl_close) that returned 0
 *
 * In every mode the state must be that after a prefix of the issued
 * transactions (atomicity and order are never lost).  What the engine
 * reports about itself, its durable LSN, is a claim the oracle checks
 * (oracle_judge_claim): a transaction at or below a durable LSN the
 * engine reported, lost, is a violation of its own kind (claimed), even
 * where the workload was promised less.  A chain of crashes (crash,
 * recover, commit more, crash again) is judged the same way over the
 * workload's transactions, which the processes of the chain issue in
 * order: lo holds every acknowledgement of every process in it.
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
    ORACLE_CLAIMED,        /* lost a transaction the target had reported
                              durable (its durable LSN), though the
                              workload was not promised it */
    ORACLE_DETECTED,       /* not a violation: corruption detected and
                              refused where the damage allows it */
    ORACLE_EXPECTED_LOSS,  /* not a violation, never a pass: acknowledged
                              transactions lost by a crash (a power cut)
                              against which the configuration promises
                              nothing; the state is still a prefix */
    ORACLE_KINDS
} oracle_kind;

const char *oracle_kind_name(oracle_kind k);

/* 1 if k is a violation (a broken promise), 0 for ok, detected and
 * expected-loss. */
int oracle_is_violation(oracle_kind k);

/* What a target promises the workload (the table above; docs/ORACLE.md),
 * for one configuration.  Every promise includes atomicity and order:
 * whatever survives is the state after a prefix of the transactions. */
typedef enum oracle_promise {
    ORACLE_PROMISE_ACK = 0,      /* every commit that returned 0, whatever the
                                    crash */
    ORACLE_PROMISE_SYNC,         /* every commit that returned before a sync
                                    call that returned 0, whatever the crash */
    ORACLE_PROMISE_PROCESS,      /* every commit that returned 0 against a
                                    process crash; nothing after a power cut */
    ORACLE_PROMISE_PROCESS_SYNC, /* every commit that returned 0 against a
                                    process crash; after a power cut, those
                                    that returned before a sync call that
                                    returned 0 */
    ORACLE_PROMISE_PROCESS_PREV, /* every commit that returned 0 against a
                                    process crash; after a power cut, every
                                    one but the last (which a later commit
                                    or a sync call that returned 0 makes
                                    durable too).  A commit that changed
                                    nothing is no commit for this: pass
                                    oracle_last_change as acked */
} oracle_promise;

/* The transactions (of acked acknowledged, in order) promised to survive
 * a process crash under promise pr, when the last sync call that returned
 * 0 came after the first `synced` of them. */
uint32_t oracle_promised(oracle_promise pr, uint32_t acked, uint32_t synced);

/* The same for a power cut (powerloss 1) or a process crash (0).  Fewer
 * than oracle_promised: a loss between the two is an expected loss. */
uint32_t oracle_promised_after(oracle_promise pr, int powerloss, uint32_t acked,
                               uint32_t synced);

/* Of the first n transactions of prefix o, the count up to the last one
 * that changed the state (0 if none did): the commits after it left the
 * state as it was, and an engine may well have written nothing for them. */
uint32_t oracle_last_change(const oracle_prefix *o, uint32_t n);

/* "ack", "sync", "process", "process+sync", "process+prev". */
const char *oracle_promise_name(oracle_promise pr);

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

/* The window a state is judged in: transactions [0, lo) promised,
 * [0, claimed) reported durable by the target, [0, hi) issued. */
typedef struct oracle_window {
    uint32_t lo, claimed, hi;
} oracle_window;

/* Fold one link of a crash chain into w.  The link recovered the state
 * after r transactions (judged in w) and went on with the workload from
 * transaction r; when it crashed it had been promised the first
 * `promised` transactions, claimed `claimed` durable and issued up to
 * `issued` (counts from the workload's start).  resumed: the crash came
 * after the recovery, not in it (then only lo and claimed of a recovery
 * crashed before it judged anything stay).  What any process of the
 * chain was promised stays required; a transaction the link's recovery
 * did not find may come back only if the link issued it again. */
void oracle_chain_add(oracle_window *w, uint32_t r, int resumed,
                      uint32_t promised, uint32_t claimed, uint32_t issued);

/* The same, checking the target's own claim too: transactions [0, lo)
 * were promised, [0, claimed) reported durable by the target.  A state
 * after k transactions with lo <= k < claimed is ORACLE_CLAIMED; k < lo
 * is ORACLE_DURABILITY. */
oracle_kind oracle_judge_claim(const wl_params *p, const oracle_prefix *o,
                               const oracle_map *r, uint32_t lo,
                               uint32_t claimed, uint32_t hi, uint32_t skip,
                               uint32_t *k_out, char *detail, size_t dlen);

#endif
