/*
 * oracle.c - the model map, prefix hashes, and the verdict on a recovered
 * state (see oracle.h).
 *
 * Classification when no prefix in [lo, hi] matches:
 *   - the state equals the model after some k < lo: durability (the
 *     transactions k..lo-1 had been acknowledged as durable and are gone);
 *   - the state equals the model after k transactions except on keys that
 *     transaction k writes, and agrees with the model after k+1 on some of
 *     them: atomicity (transaction k is partly visible);
 *   - otherwise: prefix (no prefix explains it: an older value came back, a
 *     hole in the middle, data never written).
 */
#include "oracle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"

typedef struct om_entry {
    uint8_t *k;
    uint8_t *v;
    uint32_t klen, vlen;
    uint64_t kh; /* key hash; 0 marks an empty slot */
    uint64_t ph; /* the pair's hash (om_pair_hash) */
} om_entry;

/* Keys and values live in an arena of chunks, released all at once by
 * oracle_map_clear (a replaced or deleted pair's bytes stay until then):
 * maps are short-lived and rebuilt, never long-running. */
typedef struct om_chunk {
    struct om_chunk *next;
    size_t used, cap;
    uint8_t data[];
} om_chunk;

#define OM_CHUNK 65536

struct oracle_map {
    om_entry *e;
    size_t cap; /* power of two */
    size_t n;
    uint64_t sum; /* sum of pair hashes */
    om_chunk *chunks;
};

static uint8_t *om_alloc(oracle_map *m, size_t n)
{
    om_chunk *c = m->chunks;

    n = (n + 7) & ~(size_t)7;
    if (c == NULL || c->cap - c->used < n) {
        size_t cap = n > OM_CHUNK ? n : OM_CHUNK;
        c = malloc(sizeof(*c) + cap);
        if (c == NULL)
            return NULL;
        c->used = 0;
        c->cap = cap;
        c->next = m->chunks;
        m->chunks = c;
    }
    c->used += n;
    return c->data + c->used - n;
}

static uint64_t om_key_hash(const void *k, size_t klen)
{
    uint64_t h = rng_hash(k, klen, 0x6b6579);

    return h ? h : 1;
}

static uint64_t om_pair_hash(uint64_t kh, const void *v, size_t vlen)
{
    return rng_hash(v, vlen, kh);
}

oracle_map *oracle_map_new(void)
{
    oracle_map *m = calloc(1, sizeof(*m));

    if (m == NULL)
        return NULL;
    m->cap = 64;
    m->e = calloc(m->cap, sizeof(*m->e));
    if (m->e == NULL) {
        free(m);
        return NULL;
    }
    return m;
}

void oracle_map_clear(oracle_map *m)
{
    while (m->chunks != NULL) {
        om_chunk *c = m->chunks;
        m->chunks = c->next;
        free(c);
    }
    if (m->n > 0)
        memset(m->e, 0, m->cap * sizeof(*m->e));
    m->n = 0;
    m->sum = 0;
}

void oracle_map_free(oracle_map *m)
{
    if (m == NULL)
        return;
    oracle_map_clear(m);
    free(m->e);
    free(m);
}

static om_entry *om_find(const oracle_map *m, const void *k, size_t klen,
                         uint64_t kh)
{
    size_t i = kh & (m->cap - 1);

    for (;;) {
        om_entry *e = &m->e[i];
        if (e->kh == 0)
            return e;
        if (e->kh == kh && e->klen == klen && memcmp(e->k, k, klen) == 0)
            return e;
        i = (i + 1) & (m->cap - 1);
    }
}

static int om_grow(oracle_map *m)
{
    om_entry *old = m->e;
    size_t oldcap = m->cap;

    m->cap *= 2;
    m->e = calloc(m->cap, sizeof(*m->e));
    if (m->e == NULL) {
        m->e = old;
        m->cap = oldcap;
        return -1;
    }
    for (size_t i = 0; i < oldcap; i++)
        if (old[i].kh != 0)
            *om_find(m, old[i].k, old[i].klen, old[i].kh) = old[i];
    free(old);
    return 0;
}

/* Put (k, v), keeping a copy of v's bytes, or with keep_value 0 only its
 * hash (a map that is only hashed and counted: the prefix hashes). */
static int om_set(oracle_map *m, const void *k, size_t klen, const void *v,
                  size_t vlen, int keep_value)
{
    uint64_t kh = om_key_hash(k, klen), ph = om_pair_hash(kh, v, vlen);
    om_entry *e;
    uint8_t *nv = NULL;

    if ((m->n + 1) * 2 > m->cap && om_grow(m) != 0)
        return -1;
    e = om_find(m, k, klen, kh);
    if (keep_value) {
        nv = om_alloc(m, vlen > 0 ? vlen : 1);
        if (nv == NULL)
            return -1;
        if (vlen > 0)
            memcpy(nv, v, vlen);
    }
    if (e->kh != 0) {
        m->sum -= e->ph;
    } else {
        e->k = om_alloc(m, klen);
        if (e->k == NULL)
            return -1;
        memcpy(e->k, k, klen);
        e->klen = (uint32_t)klen;
        e->kh = kh;
        m->n++;
    }
    e->v = nv;
    e->vlen = keep_value ? (uint32_t)vlen : 0;
    e->ph = ph;
    m->sum += ph;
    return 0;
}

int oracle_map_put(oracle_map *m, const void *k, size_t klen, const void *v,
                   size_t vlen)
{
    return om_set(m, k, klen, v, vlen, 1);
}

void oracle_map_del(oracle_map *m, const void *k, size_t klen)
{
    uint64_t kh = om_key_hash(k, klen);
    om_entry *e = om_find(m, k, klen, kh);
    size_t i, j;

    if (e->kh == 0)
        return;
    m->sum -= e->ph;
    memset(e, 0, sizeof(*e));
    m->n--;
    /* re-place the rest of the cluster (linear probing deletion) */
    i = (size_t)(e - m->e);
    for (j = (i + 1) & (m->cap - 1); m->e[j].kh != 0;
         j = (j + 1) & (m->cap - 1)) {
        om_entry moved = m->e[j];
        memset(&m->e[j], 0, sizeof(m->e[j]));
        *om_find(m, moved.k, moved.klen, moved.kh) = moved;
    }
}

const uint8_t *oracle_map_get(const oracle_map *m, const void *k, size_t klen,
                              size_t *vlen)
{
    om_entry *e = om_find(m, k, klen, om_key_hash(k, klen));

    if (e->kh == 0)
        return NULL;
    *vlen = e->vlen;
    return e->v != NULL ? e->v : (const uint8_t *)"";
}

uint64_t oracle_map_hash(const oracle_map *m)
{
    return m->sum;
}

size_t oracle_map_count(const oracle_map *m)
{
    return m->n;
}

/* oracle_map_apply, keeping values or (keep_values 0) only their hashes */
static int om_apply(oracle_map *m, const wl_txn *t, int keep_values)
{
    for (uint32_t i = 0; i < t->nops; i++) {
        const wl_op *op = &t->ops[i];
        if (op->del)
            oracle_map_del(m, op->key, op->klen);
        else if (om_set(m, op->key, op->klen, op->val, op->vlen, keep_values) !=
                 0)
            return -1;
    }
    return 0;
}

int oracle_map_apply(oracle_map *m, const wl_txn *t)
{
    return om_apply(m, t, 1);
}

int oracle_map_foreach(const oracle_map *m,
                       int (*fn)(void *ctx, const uint8_t *k, size_t klen,
                                 const uint8_t *v, size_t vlen),
                       void *ctx)
{
    for (size_t i = 0; i < m->cap; i++) {
        const om_entry *e = &m->e[i];
        int rc;
        if (e->kh != 0 && (rc = fn(ctx, e->k, e->klen, e->v, e->vlen)) != 0)
            return rc;
    }
    return 0;
}

/* Transaction i of p into t; the skipped one is empty. */
static void om_gen(const wl_params *p, uint32_t skip, uint32_t i, wl_txn *t)
{
    wl_gen(p, i, t);
    if (i == skip)
        t->nops = 0;
}

int oracle_prefix_build(const wl_params *p, oracle_prefix *out)
{
    return oracle_prefix_build_skip(p, ORACLE_NO_SKIP, out);
}

int oracle_prefix_build_skip(const wl_params *p, uint32_t skip,
                             oracle_prefix *out)
{
    oracle_map *m = oracle_map_new();
    wl_txn t;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    if (m == NULL || wl_txn_init(&t) != 0) {
        oracle_map_free(m);
        return -1;
    }
    out->n = p->txns;
    out->h = malloc(((size_t)p->txns + 1) * sizeof(*out->h));
    out->count = malloc(((size_t)p->txns + 1) * sizeof(*out->count));
    if (out->h == NULL || out->count == NULL) {
        rc = -1;
        goto out;
    }
    out->h[0] = 0;
    out->count[0] = 0;
    for (uint32_t i = 0; i < p->txns; i++) {
        om_gen(p, skip, i, &t);
        if (om_apply(m, &t, 0) != 0) {
            rc = -1;
            goto out;
        }
        out->h[i + 1] = oracle_map_hash(m);
        out->count[i + 1] = (uint32_t)oracle_map_count(m);
    }
out:
    wl_txn_free(&t);
    oracle_map_free(m);
    if (rc != 0)
        oracle_prefix_free(out);
    return rc;
}

void oracle_prefix_free(oracle_prefix *o)
{
    free(o->h);
    free(o->count);
    o->h = NULL;
    o->count = NULL;
}

static const char *const oracle_names[ORACLE_KINDS] = {
    "ok",       "durability",    "atomicity", "prefix",         "structure",
    "recovery", "idempotence",   "writer",    "error-handling", "claimed",
    "detected", "expected-loss",
};

const char *oracle_kind_name(oracle_kind k)
{
    return (unsigned)k < ORACLE_KINDS ? oracle_names[k] : "?";
}

/* Keys on which a and b differ (counting both directions). */
static size_t om_diff(const oracle_map *a, const oracle_map *b)
{
    size_t d = 0;

    for (size_t i = 0; i < a->cap; i++) {
        const om_entry *e = &a->e[i];
        size_t vl;
        const uint8_t *v;
        if (e->kh == 0)
            continue;
        v = oracle_map_get(b, e->k, e->klen, &vl);
        if (v == NULL || vl != e->vlen || memcmp(v, e->v, vl) != 0)
            d++;
    }
    for (size_t i = 0; i < b->cap; i++) {
        const om_entry *e = &b->e[i];
        size_t vl;
        if (e->kh != 0 && oracle_map_get(a, e->k, e->klen, &vl) == NULL)
            d++;
    }
    return d;
}

/* 1 if r, on key k, holds what model m holds. */
static int om_same_at(const oracle_map *r, const oracle_map *m,
                      const uint8_t *k, size_t klen)
{
    size_t a, b;
    const uint8_t *x = oracle_map_get(r, k, klen, &a);
    const uint8_t *y = oracle_map_get(m, k, klen, &b);

    if (x == NULL || y == NULL)
        return x == y;
    return a == b && memcmp(x, y, a) == 0;
}

/* Is r the model m with transaction t applied only in part?  That is: r
 * differs from m only on keys of t; on each of those keys r holds either
 * the value before t (m) or after it (next); and there is at least one key
 * of each sort.  next receives m's values of t's keys with t applied.
 * OUT: *changed, *total: keys of t that show t's effect, keys t changes. */
static int om_partial(const oracle_map *m, const oracle_map *r,
                      oracle_map *next, const wl_txn *t, uint32_t *changed,
                      uint32_t *total)
{
    uint32_t differ = 0, new_side = 0, old_side = 0, touched = 0;

    oracle_map_clear(next);
    for (uint32_t i = 0; i < t->nops; i++) {
        size_t vl;
        const uint8_t *v =
            oracle_map_get(m, t->ops[i].key, t->ops[i].klen, &vl);
        if (v != NULL &&
            oracle_map_put(next, t->ops[i].key, t->ops[i].klen, v, vl) != 0)
            return 0;
    }
    oracle_map_apply(next, t);
    for (uint32_t i = 0; i < t->nops; i++) {
        const uint8_t *k = t->ops[i].key;
        size_t kl = t->ops[i].klen;
        int dup = 0, is_old, is_new;
        for (uint32_t j = 0; j < i && !dup; j++)
            dup = t->ops[j].klen == kl && memcmp(t->ops[j].key, k, kl) == 0;
        if (dup)
            continue;
        is_old = om_same_at(r, m, k, kl);
        is_new = om_same_at(r, next, k, kl);
        if (!is_old && !is_new)
            return 0; /* neither before nor after: not this transaction */
        if (om_same_at(m, next, k, kl))
            continue; /* t does not change this key */
        touched++;
        differ += !is_old;
        new_side += is_new;
        old_side += is_old;
    }
    *changed = new_side;
    *total = touched;
    return new_side > 0 && old_side > 0 && om_diff(m, r) == differ;
}

/* Is r (of rn keys) exactly the model after the first k transactions?
 * The last write of a key before k decides what the model holds for it, so
 * walking the transactions (and their operations) from the last back, the
 * first operation met on each key is compared with r, and keys are only
 * noted in `seen`: no value is copied, which matters for large values.
 * Every model key found equal in r and rn equal to their number means r
 * holds nothing else.  Returns 1, 0, or -1 (out of memory). */
static int om_is_prefix(const wl_params *p, uint32_t skip, uint32_t k,
                        const oracle_map *r, size_t rn, wl_txn *t,
                        oracle_map *seen)
{
    size_t present = 0;

    oracle_map_clear(seen);
    for (uint32_t i = k; i-- > 0;) {
        om_gen(p, skip, i, t);
        for (uint32_t j = t->nops; j-- > 0;) {
            const wl_op *op = &t->ops[j];
            const uint8_t *v;
            size_t vl;
            if (oracle_map_get(seen, op->key, op->klen, &vl) != NULL)
                continue; /* a later write decides this key */
            if (oracle_map_put(seen, op->key, op->klen, "", 0) != 0)
                return -1;
            v = oracle_map_get(r, op->key, op->klen, &vl);
            if (op->del) {
                if (v != NULL)
                    return 0;
                continue;
            }
            if (v == NULL || vl != op->vlen || memcmp(v, op->val, vl) != 0)
                return 0;
            present++;
        }
    }
    return present == rn;
}

oracle_kind oracle_judge(const wl_params *p, const oracle_prefix *o,
                         const oracle_map *r, uint32_t lo, uint32_t hi,
                         uint32_t *k_out, char *detail, size_t dlen)
{
    return oracle_judge_skip(p, o, r, lo, hi, ORACLE_NO_SKIP, k_out, detail,
                             dlen);
}

oracle_kind oracle_judge_skip(const wl_params *p, const oracle_prefix *o,
                              const oracle_map *r, uint32_t lo, uint32_t hi,
                              uint32_t skip, uint32_t *k_out, char *detail,
                              size_t dlen)
{
    uint64_t rh = oracle_map_hash(r);
    size_t rn = oracle_map_count(r), best_diff = (size_t)-1;
    oracle_map *m = oracle_map_new(), *next = oracle_map_new();
    int64_t ok_k = -1, dur_k = -1, phantom_k = -1, atom_k = -1;
    uint32_t best = 0, atom_changed = 0, atom_total = 0;
    oracle_kind verdict;
    wl_txn t;

    detail[0] = '\0';
    if (hi > o->n)
        hi = o->n;
    if (lo > hi)
        lo = hi;
    if (m == NULL || next == NULL || wl_txn_init(&t) != 0) {
        oracle_map_free(m);
        oracle_map_free(next);
        snprintf(detail, dlen, "oracle out of memory");
        return ORACLE_RECOVERY;
    }
    /* The common case: a prefix in [lo, hi] has the recovered state's hash
     * and key count; compare the state with that model in full. */
    for (uint32_t k = lo; k <= hi; k++) {
        if (o->h[k] != rh || o->count[k] != rn)
            continue;
        if (om_is_prefix(p, skip, k, r, rn, &t, m) == 1) {
            *k_out = k;
            wl_txn_free(&t);
            oracle_map_free(m);
            oracle_map_free(next);
            return ORACLE_OK;
        }
    }
    oracle_map_clear(m);
    /* Otherwise walk every prefix in order, with the model after k
     * transactions in m, to say what went wrong. */
    for (uint32_t k = 0;; k++) {
        if (o->h[k] == rh && o->count[k] == rn && om_diff(m, r) == 0) {
            if (k >= lo && k <= hi) {
                ok_k = k;
                break;
            }
            if (k < lo) {
                dur_k = k; /* a later prefix may still match: go on */
            } else {
                phantom_k = k;
                break;
            }
        }
        if (k == o->n)
            break;
        if (k <= hi) {
            size_t d = om_diff(m, r);
            if (d < best_diff) {
                best_diff = d;
                best = k;
            }
        }
        om_gen(p, skip, k, &t);
        if (k < hi && atom_k < 0 &&
            om_partial(m, r, next, &t, &atom_changed, &atom_total))
            atom_k = k;
        if (oracle_map_apply(m, &t) != 0)
            break;
    }
    if (ok_k >= 0) {
        verdict = ORACLE_OK;
        best = (uint32_t)ok_k;
    } else if (dur_k >= 0) {
        verdict = ORACLE_DURABILITY;
        best = (uint32_t)dur_k;
        snprintf(detail, dlen,
                 "recovered the state after %u transactions, but %u had been "
                 "acknowledged as durable",
                 best, lo);
    } else if (atom_k >= 0) {
        verdict = ORACLE_ATOMICITY;
        best = (uint32_t)atom_k;
        snprintf(detail, dlen,
                 "transaction %u is partly visible: %u of the %u keys it "
                 "changes show it",
                 best, atom_changed, atom_total);
    } else if (phantom_k >= 0) {
        verdict = ORACLE_PREFIX;
        best = (uint32_t)phantom_k;
        snprintf(detail, dlen,
                 "recovered the state after %u transactions, but only %u "
                 "had been issued",
                 best, hi);
    } else {
        verdict = ORACLE_PREFIX;
        snprintf(detail, dlen,
                 "the recovered state (%zu keys) matches no prefix of the %u "
                 "issued transactions; closest: after %u, %zu keys differ",
                 rn, hi, best, best_diff);
    }
    *k_out = best;
    wl_txn_free(&t);
    oracle_map_free(m);
    oracle_map_free(next);
    return verdict;
}

void oracle_chain_add(oracle_window *w, uint32_t r, int resumed,
                      uint32_t promised, uint32_t claimed, uint32_t issued)
{
    if (!resumed)
        return; /* killed in its recovery: nothing of its own */
    if (promised > w->lo)
        w->lo = promised;
    if (claimed > w->claimed)
        w->claimed = claimed;
    w->hi = issued > r ? issued : r;
}

int oracle_is_violation(oracle_kind k)
{
    return k != ORACLE_OK && k != ORACLE_DETECTED && k != ORACLE_EXPECTED_LOSS;
}

uint32_t oracle_promised(oracle_promise pr, uint32_t acked, uint32_t synced)
{
    if (pr != ORACLE_PROMISE_SYNC)
        return acked;
    return synced < acked ? synced : acked;
}

uint32_t oracle_promised_after(oracle_promise pr, int powerloss, uint32_t acked,
                               uint32_t synced)
{
    if (!powerloss)
        return oracle_promised(pr, acked, synced);
    switch (pr) {
    case ORACLE_PROMISE_PROCESS:
        return 0;
    case ORACLE_PROMISE_PROCESS_SYNC:
        return oracle_promised(ORACLE_PROMISE_SYNC, acked, synced);
    case ORACLE_PROMISE_PROCESS_PREV:
        return synced >= acked || acked == 0 ? acked : acked - 1;
    default:
        return oracle_promised(pr, acked, synced);
    }
}

uint32_t oracle_last_change(const oracle_prefix *o, uint32_t n)
{
    if (n > o->n)
        n = o->n;
    while (n > 0 && o->h[n] == o->h[n - 1] && o->count[n] == o->count[n - 1])
        n--;
    return n;
}

const char *oracle_promise_name(oracle_promise pr)
{
    static const char *const names[] = {"ack", "sync", "process",
                                        "process+sync", "process+prev"};
    return (unsigned)pr < sizeof(names) / sizeof(names[0]) ? names[pr] : "?";
}

oracle_kind oracle_judge_claim(const wl_params *p, const oracle_prefix *o,
                               const oracle_map *r, uint32_t lo,
                               uint32_t claimed, uint32_t hi, uint32_t skip,
                               uint32_t *k_out, char *detail, size_t dlen)
{
    oracle_kind v;

    if (claimed <= lo)
        return oracle_judge_skip(p, o, r, lo, hi, skip, k_out, detail, dlen);
    v = oracle_judge_skip(p, o, r, claimed, hi, skip, k_out, detail, dlen);
    if (v == ORACLE_DURABILITY && *k_out >= lo) {
        v = ORACLE_CLAIMED;
        snprintf(detail, dlen,
                 "recovered the state after %u transactions; %u were "
                 "promised, but the target had reported %u durable (claimed "
                 "durable)",
                 *k_out, lo, claimed);
    }
    return v;
}
