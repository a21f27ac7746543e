/*
 * workload.h - deterministic workloads: transaction i of a workload is a
 * pure function of (kind, seed, i), so the writer child, the oracle and a
 * replay all see the same transactions without sharing any file.
 */
#ifndef CL_WORKLOAD_H
#define CL_WORKLOAD_H

#include <stddef.h>
#include <stdint.h>

typedef enum wl_kind {
    WL_INSERTS = 0, /* one new key per transaction */
    WL_OVERWRITE,   /* 1-3 puts over 32 keys */
    WL_TXN,         /* multi-key batches: 2-16 puts and deletes, 256 keys */
    WL_DELETES,     /* puts and deletes half and half over 64 keys */
    WL_LARGE,       /* 1-2 values of 2-64 KiB over 16 keys (overflow pages) */
    WL_CHECKPOINT,  /* overwrites over 128 keys, a checkpoint every 16 */
    WL_MIXED,       /* each transaction one of the above, drawn */
    WL_KINDS
} wl_kind;

#define WL_MAX_OPS 32
#define WL_SYNC_EVERY 6

/* A crash chain's processes (trial_rcrash.c): process g >= 1 of the chain
 * recovered the state after from[g - 1] transactions and issued the
 * workload again from there, with values of its own (the same keys,
 * operations and value sizes, other bytes), so that a transaction a
 * recovery dropped cannot come back unnoticed in the place of the one the
 * next process issued.  Transaction i holds the values of process g, the
 * largest with from[g - 1] <= i (0: the first writer's). */
#define WL_MAX_GENS 4
typedef struct wl_history {
    uint32_t n; /* processes after the first */
    uint32_t from[WL_MAX_GENS];
} wl_history;

typedef struct wl_params {
    wl_kind kind;
    uint64_t seed;
    uint32_t txns;      /* transactions in the workload */
    uint32_t max_ops;   /* cap on operations per transaction (0: none) */
    uint32_t max_value; /* cap on value bytes (0: none) */
    /* Concurrent workloads (threads > 1): transaction i belongs to thread
     * i % threads, which commits its transactions in index order, and
     * every key belongs to one thread alone (wl_key_thread), so the state
     * after any set of transactions that holds a prefix of each thread's
     * own is the same in whatever order the threads' commits came. */
    uint32_t threads;
    /* 1 + t: this is the view of thread t's transactions alone, transaction
     * m of the view being transaction t + m * threads of the workload (and
     * txns the thread's count); 0: the whole workload. */
    uint32_t view;
    uint32_t keys;   /* key space: the kind's times this (0: 1) */
    uint32_t drain;  /* from transaction drain on (0: never), most
                        operations delete (but for large-values, which
                        never deletes) */
    wl_history hist; /* n 0: one process issued every transaction */
} wl_params;

#define WL_MAX_THREADS 8
/* Transactions a concurrent workload may have (key numbers keep the
 * thread in bits 20-23). */
#define WL_MAX_THREADED_TXNS (1u << 20)

typedef struct wl_op {
    int del;            /* 1: delete, 0: put */
    const uint8_t *key; /* into the transaction's arena */
    uint32_t klen;
    const uint8_t *val;
    uint32_t vlen;
} wl_op;

typedef struct wl_txn {
    uint32_t index; /* 0-based */
    uint32_t nops;
    wl_op ops[WL_MAX_OPS];
    int checkpoint_after; /* the writer checkpoints after committing it */
    int sync_after;       /* the writer calls the target's sync after
                             committing it (about one transaction in
                             WL_SYNC_EVERY, drawn from the seed apart from
                             the operations, which stay as they were) */
    uint32_t gen;         /* the chain's process whose values it holds (hist) */
    uint8_t *arena;
    size_t used, cap;
} wl_txn;

/* Allocate a transaction's arena.  Returns 0 or -1. */
int wl_txn_init(wl_txn *t);
/* h with one more process, which issues from transaction `from` on.
 * Returns 0, or -1 if h is full. */
int wl_history_add(wl_history *h, uint32_t from);
void wl_txn_free(wl_txn *t);

/* Generate transaction i of p into t (reusing its arena). */
void wl_gen(const wl_params *p, uint32_t i, wl_txn *t);

/* The thread (0 .. p->threads - 1) that key k of concurrent workload p
 * belongs to, or -1 if no transaction of p writes such a key. */
int wl_key_thread(const wl_params *p, const uint8_t *k, size_t klen);

/* Thread t's view of concurrent workload p (see wl_params.view).  OUT:
 * *v. */
void wl_thread_view(const wl_params *p, uint32_t t, wl_params *v);
/* How many of p's transactions thread t commits. */
uint32_t wl_thread_txns(const wl_params *p, uint32_t t);

const char *wl_name(wl_kind k);
/* Returns 0 or -1. */
int wl_parse(const char *name, wl_kind *k);

#endif
