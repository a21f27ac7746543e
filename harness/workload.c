/*
 * workload.c - the transaction generators.
 *
 * Transaction i draws everything from a generator seeded with
 * mix(seed, i): its operations, keys and value bytes.  Keys are "k" plus 8
 * hex digits of a key number plus 0-27 bytes of padding that depend on the
 * number, so that key sizes vary and the same number always gives the same
 * key.
 */
#include "workload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"

#define WL_ARENA (WL_MAX_OPS * 80 + 2 * 65536 + 4096)

static const char *const wl_names[WL_KINDS] = {
    "inserts",      "overwrite",  "txn",   "deletes",
    "large-values", "checkpoint", "mixed",
};

const char *wl_name(wl_kind k)
{
    return (unsigned)k < WL_KINDS ? wl_names[k] : "?";
}

int wl_parse(const char *name, wl_kind *k)
{
    for (int i = 0; i < WL_KINDS; i++)
        if (strcmp(name, wl_names[i]) == 0) {
            *k = (wl_kind)i;
            return 0;
        }
    return -1;
}

int wl_txn_init(wl_txn *t)
{
    memset(t, 0, sizeof(*t));
    t->arena = malloc(WL_ARENA);
    t->cap = WL_ARENA;
    return t->arena != NULL ? 0 : -1;
}

int wl_history_add(wl_history *h, uint32_t from)
{
    if (h->n >= WL_MAX_GENS)
        return -1;
    h->from[h->n++] = from;
    return 0;
}

void wl_txn_free(wl_txn *t)
{
    free(t->arena);
    t->arena = NULL;
}

static uint8_t *wl_alloc(wl_txn *t, size_t n)
{
    uint8_t *p = t->arena + t->used;

    t->used += n;
    return p;
}

/* The key number's bits that name the thread of a concurrent workload. */
#define WL_THREAD_SHIFT 20

static void wl_key(wl_txn *t, wl_op *op, uint32_t id)
{
    uint32_t pad = (uint32_t)(rng_mix(id) % 4) * 9;
    uint8_t *k = wl_alloc(t, 9 + pad + 1);

    snprintf((char *)k, 10, "k%08x", id);
    memset(k + 9, 'a' + (int)(id % 26), pad);
    op->key = k;
    op->klen = 9 + pad;
}

/* Make t's keys thread th's own: its number goes into bits 20-23 of each
 * key number (the 8 hex digits after the 'k'), which every workload kind
 * leaves zero below WL_MAX_THREADED_TXNS transactions. */
static void wl_key_own(wl_txn *t, uint32_t th)
{
    static const char hex[] = "0123456789abcdef";

    for (uint32_t i = 0; i < t->nops; i++) {
        uint8_t *k = (uint8_t *)t->ops[i].key;
        k[3] = (uint8_t)hex[th & 0xf];
    }
}

static void wl_put(wl_txn *t, rng *r, uint32_t id, uint32_t vmin, uint32_t vmax,
                   uint32_t cap)
{
    wl_op *op = &t->ops[t->nops++];
    uint64_t s, x, g = t->gen * 0x9e3779b97f4a7c15ull;
    uint32_t vlen, i;
    uint8_t *v;

    if (cap > 0 && vmax > cap)
        vmax = cap;
    if (vmin > vmax)
        vmin = vmax;
    vlen = (uint32_t)rng_range(r, vmin, vmax);
    op->del = 0;
    wl_key(t, op, id);
    v = wl_alloc(t, vlen);
    /* a draw per 8 bytes; a chain's later process writes other bytes
     * (wl_history).  The state is a local, which the stores into v
     * cannot alias. */
    s = r->s;
    for (i = 0; i + 8 <= vlen; i += 8) {
        s += RNG_GAMMA;
        x = rng_fmix(s) ^ g;
        memcpy(v + i, &x, 8);
    }
    if (i < vlen) {
        s += RNG_GAMMA;
        x = rng_fmix(s) ^ g;
        memcpy(v + i, &x, vlen - i);
    }
    r->s = s;
    op->val = v;
    op->vlen = vlen;
}

static void wl_del(wl_txn *t, uint32_t id)
{
    wl_op *op = &t->ops[t->nops++];

    op->del = 1;
    wl_key(t, op, id);
    op->val = NULL;
    op->vlen = 0;
}

static uint32_t wl_nops(rng *r, uint32_t lo, uint32_t hi, uint32_t cap)
{
    uint32_t n = (uint32_t)rng_range(r, lo, hi);

    if (cap > 0 && n > cap)
        n = cap;
    return n < 1 ? 1 : n;
}

/* The first key id of a kind's key space: base for the kind's own space,
 * moved apart from the others' when the space is ks (at most 16) times
 * wider, below the bits that name a thread (WL_THREAD_SHIFT). */
static uint32_t wl_base(uint32_t base, uint32_t ks)
{
    return ks == 1 ? base : base * 0x100u;
}

/* From a draining workload's drain on, three operations in four delete.
 * (i is the transaction's index in the whole workload, also in a thread's
 * view.) */
static int wl_drains(const wl_params *p, uint32_t i, rng *r)
{
    return p->drain && i >= p->drain && rng_below(r, 4) != 0;
}

void wl_gen(const wl_params *p, uint32_t i, wl_txn *t)
{
    rng r;
    wl_kind kind = p->kind;
    uint32_t n, cap = p->max_value, ks = p->keys ? p->keys : 1;

    if (p->view > 0)
        i = (p->view - 1) + i * p->threads;
    rng_seed(&r, rng_mix(p->seed ^ rng_mix(i)));
    t->index = i;
    t->gen = 0;
    for (uint32_t g = p->hist.n; g > 0 && t->gen == 0; g--)
        if (p->hist.from[g - 1] <= i)
            t->gen = g;
    t->nops = 0;
    t->used = 0;
    t->checkpoint_after = 0;
    /* a stream of its own: the operations do not depend on it */
    t->sync_after =
        rng_mix(p->seed ^ rng_mix(i) ^ 0x53594e43ull) % WL_SYNC_EVERY == 0;
    if (kind == WL_MIXED)
        kind = (wl_kind)rng_below(&r, WL_MIXED);
    switch (kind) {
    case WL_INSERTS:
        if (p->drain && i >= p->drain)
            /* delete what was inserted before the drain, in its order */
            wl_del(t, 0x10000000u + (i - p->drain));
        else
            wl_put(t, &r, 0x10000000u + i, 16, 200, cap);
        break;
    case WL_OVERWRITE:
        n = wl_nops(&r, 1, 3, p->max_ops);
        while (n-- > 0) {
            uint32_t id = (uint32_t)rng_below(&r, 32 * ks);
            if (wl_drains(p, i, &r))
                wl_del(t, id);
            else
                wl_put(t, &r, id, 8, 300, cap);
        }
        break;
    case WL_TXN:
        n = wl_nops(&r, 2, 16, p->max_ops);
        while (n-- > 0) {
            uint32_t id =
                wl_base(0x100, ks) + (uint32_t)rng_below(&r, 256 * ks);
            if (rng_below(&r, 5) == 0 || wl_drains(p, i, &r))
                wl_del(t, id);
            else
                wl_put(t, &r, id, 8, 200, cap);
        }
        break;
    case WL_DELETES:
        n = wl_nops(&r, 1, 4, p->max_ops);
        while (n-- > 0) {
            uint32_t id = wl_base(0x200, ks) + (uint32_t)rng_below(&r, 64 * ks);
            if (rng_below(&r, 2) == 0 || wl_drains(p, i, &r))
                wl_del(t, id);
            else
                wl_put(t, &r, id, 8, 600, cap);
        }
        break;
    case WL_LARGE:
        n = wl_nops(&r, 1, 2, p->max_ops);
        while (n-- > 0)
            wl_put(t, &r, wl_base(0x300, ks) + (uint32_t)rng_below(&r, 16 * ks),
                   2048, 65536, cap);
        break;
    case WL_CHECKPOINT:
        n = wl_nops(&r, 1, 4, p->max_ops);
        while (n-- > 0) {
            uint32_t id =
                wl_base(0x400, ks) + (uint32_t)rng_below(&r, 128 * ks);
            if (wl_drains(p, i, &r))
                wl_del(t, id);
            else
                wl_put(t, &r, id, 8, 400, cap);
        }
        t->checkpoint_after = i % 16 == 15;
        break;
    default:
        break;
    }
    if (p->threads > 1)
        wl_key_own(t, i % p->threads);
}

int wl_key_thread(const wl_params *p, const uint8_t *k, size_t klen)
{
    uint32_t id = 0;

    if (p->threads <= 1 || klen < 9 || k[0] != 'k')
        return -1;
    for (int i = 1; i < 9; i++) {
        int c = k[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                       : -1;
        if (d < 0)
            return -1;
        id = id << 4 | (uint32_t)d;
    }
    id = (id >> WL_THREAD_SHIFT) & 0xf;
    return id < p->threads ? (int)id : -1;
}

void wl_thread_view(const wl_params *p, uint32_t t, wl_params *v)
{
    *v = *p;
    v->view = t + 1;
    v->txns = wl_thread_txns(p, t);
}

uint32_t wl_thread_txns(const wl_params *p, uint32_t t)
{
    if (p->threads <= 1)
        return t == 0 ? p->txns : 0;
    return p->txns > t ? (p->txns - t + p->threads - 1) / p->threads : 0;
}
