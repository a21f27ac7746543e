/*
 * oracle_mt.c - the verdict on a recovered state of a concurrent workload
 * (see oracle_mt.h).
 *
 * Steps:
 *   1. split the recovered state by the thread each key belongs to (a key
 *      of no thread is a prefix violation: data never written);
 *   2. for each thread, the candidates: every c such that the thread's
 *      part equals the state after its first c transactions (hash and key
 *      count, then a full comparison).  Several c may fit when some of its
 *      transactions change nothing.  A thread with no candidate at all
 *      decides the verdict alone, as the single-threaded oracle judges its
 *      own transactions: atomicity when one is partly there, else
 *      durability or prefix;
 *   3. the cuts of the commit order: for a cut after LSN L (L = 0 or the
 *      LSN of an acknowledged commit), thread t holds a_t(L) transactions,
 *      those of its acknowledged ones with LSN <= L, plus perhaps the one
 *      in flight if all its acknowledged ones are in.  The state passes
 *      when some cut gives every thread a candidate that keeps its
 *      required and its claimed transactions.  A cut that fits but loses
 *      claimed ones only is claimed, required ones durability; when no
 *      cut fits, some transaction is missing while a later one in the
 *      commit order is there: prefix.
 * A thread's LSNs never go down (it commits in order), so a_t(L) is found
 * by binary search; all cuts cost O(n log n) for n transactions.
 */
#include "oracle_mt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int oracle_mt_build(const wl_params *p, oracle_mt_prefix *out)
{
    memset(out, 0, sizeof(*out));
    if (p->threads <= 1 || p->threads > WL_MAX_THREADS)
        return -1;
    out->threads = p->threads;
    for (uint32_t t = 0; t < p->threads; t++) {
        wl_params v;
        wl_thread_view(p, t, &v);
        if (oracle_prefix_build(&v, &out->th[t]) != 0) {
            oracle_mt_free(out);
            return -1;
        }
    }
    return 0;
}

void oracle_mt_free(oracle_mt_prefix *o)
{
    for (uint32_t t = 0; t < WL_MAX_THREADS; t++)
        oracle_prefix_free(&o->th[t]);
    o->threads = 0;
}

typedef struct mt_split {
    const wl_params *p;
    oracle_map *part[WL_MAX_THREADS];
    const uint8_t *stray; /* a key of no thread */
    size_t stray_len;
} mt_split;

static int mt_split_one(void *ctx, const uint8_t *k, size_t klen,
                        const uint8_t *v, size_t vlen)
{
    mt_split *s = ctx;
    int t = wl_key_thread(s->p, k, klen);

    if (t < 0) {
        s->stray = k;
        s->stray_len = klen;
        return 1;
    }
    return oracle_map_put(s->part[t], k, klen, v, vlen) != 0 ? -1 : 0;
}

/* The LSN of thread t's m-th transaction (m < its acked count). */
static uint64_t mt_lsn(const oracle_mt_input *in, uint32_t t, uint32_t m)
{
    return in->lsn[t + (uint64_t)m * in->threads];
}

/* How many of thread t's acknowledged transactions have LSN <= L. */
static uint32_t mt_upto(const oracle_mt_input *in, uint32_t t, uint64_t L)
{
    uint32_t lo = 0, hi = in->th[t].acked;

    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (mt_lsn(in, t, mid) <= L)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int mt_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* How many of thread t's transactions a cut must keep: none (need 0),
 * the required ones (1), those and the claimed ones (2). */
static uint32_t mt_need(const oracle_mt_thread *th, int need)
{
    if (need == 0)
        return 0;
    if (need == 1 || th->claimed < th->required)
        return th->required;
    return th->claimed;
}

/* For cut L: does every thread have a candidate that keeps what `need`
 * says (mt_need)?  OUT: *total, the transactions of the first fitting
 * choice. */
static int mt_cut_fits(const oracle_mt_input *in, uint8_t *const cand[],
                       uint64_t L, int need, uint32_t *total)
{
    uint32_t sum = 0;

    for (uint32_t t = 0; t < in->threads; t++) {
        const oracle_mt_thread *th = &in->th[t];
        uint32_t a = mt_upto(in, t, L), pick = UINT32_MAX,
                 keep = mt_need(th, need);
        if (cand[t][a] && a >= keep)
            pick = a;
        else if (a == th->acked && th->issued > th->acked && cand[t][a + 1] &&
                 a + 1 >= keep)
            pick = a + 1;
        if (pick == UINT32_MAX)
            return 0;
        sum += pick;
    }
    *total = sum;
    return 1;
}

/* The largest candidate of thread t. */
static uint32_t mt_best(const oracle_mt_input *in, uint8_t *const cand[],
                        uint32_t t)
{
    uint32_t c = in->th[t].issued;

    while (c > 0 && !cand[t][c])
        c--;
    return c;
}

/* No cut fits: name a missing transaction that precedes a present one in
 * the commit order (each thread taken at its largest candidate). */
static void mt_describe_hole(const oracle_mt_input *in, uint8_t *const cand[],
                             char *detail, size_t dlen)
{
    uint64_t in_max = 0, out_min = UINT64_MAX;
    uint32_t in_i = 0, out_i = 0;

    for (uint32_t t = 0; t < in->threads; t++) {
        uint32_t c = mt_best(in, cand, t);
        if (c > 0 && c - 1 < in->th[t].acked &&
            mt_lsn(in, t, c - 1) >= in_max) {
            in_max = mt_lsn(in, t, c - 1);
            in_i = t + (c - 1) * in->threads;
        }
        if (c < in->th[t].acked && mt_lsn(in, t, c) < out_min) {
            out_min = mt_lsn(in, t, c);
            out_i = t + c * in->threads;
        }
    }
    if (out_min < in_max)
        snprintf(detail, dlen,
                 "not a prefix of the commit order: transaction %u (thread "
                 "%u, LSN %llu) is missing but transaction %u (thread %u, "
                 "LSN %llu) is there",
                 out_i, out_i % in->threads, (unsigned long long)out_min, in_i,
                 in_i % in->threads, (unsigned long long)in_max);
    else
        snprintf(detail, dlen,
                 "no prefix of the commit order explains the state of the "
                 "%u threads' keys",
                 in->threads);
}

/* A cut fits but loses what was promised (claimed: 0) or reported durable
 * (1): name a lost transaction (each thread taken at its largest
 * candidate). */
static void mt_describe_lost(const oracle_mt_input *in, uint8_t *const cand[],
                             int claimed, char *detail, size_t dlen)
{
    const char *what =
        claimed ? "reported durable by the target" : "promised durable";

    for (uint32_t t = 0; t < in->threads; t++) {
        uint32_t c = mt_best(in, cand, t);
        uint32_t must = claimed ? in->th[t].claimed : in->th[t].required;
        if (c < must) {
            snprintf(detail, dlen,
                     "thread %u of %u kept %u of its transactions, but its "
                     "first %u had been %s (transaction %u is lost)",
                     t, in->threads, c, must, what, t + c * in->threads);
            return;
        }
    }
    snprintf(detail, dlen,
             "every cut of the commit order that explains the state loses a "
             "transaction %s",
             what);
}

oracle_kind oracle_judge_mt(const wl_params *p, const oracle_mt_prefix *o,
                            const oracle_mt_input *in, const oracle_map *r,
                            uint32_t *k_out, char *detail, size_t dlen)
{
    mt_split sp;
    uint8_t *cand[WL_MAX_THREADS] = {0};
    uint64_t *cuts = NULL;
    size_t ncuts = 0;
    uint32_t total = 0, T = in->threads;
    oracle_kind verdict = ORACLE_PREFIX;
    int rc, fits_any = 0, fits_req = 0;

    detail[0] = '\0';
    *k_out = 0;
    memset(&sp, 0, sizeof(sp));
    sp.p = p;
    if (T <= 1 || T > WL_MAX_THREADS || T != p->threads || T != o->threads) {
        snprintf(detail, dlen, "oracle: %u threads in a workload of %u", T,
                 p->threads);
        return ORACLE_RECOVERY;
    }
    for (uint32_t t = 0; t < T; t++) {
        sp.part[t] = oracle_map_new();
        cand[t] = calloc((size_t)in->th[t].issued + 2, 1);
        if (sp.part[t] == NULL || cand[t] == NULL)
            goto oom;
    }
    /* 1: split by thread */
    rc = oracle_map_foreach(r, mt_split_one, &sp);
    if (rc < 0)
        goto oom;
    if (rc > 0) {
        snprintf(detail, dlen,
                 "key '%.*s' (%zu bytes) belongs to no thread: no transaction "
                 "wrote it",
                 (int)(sp.stray_len < 40 ? sp.stray_len : 40), sp.stray,
                 sp.stray_len);
        goto out;
    }
    /* 2: each thread's candidates */
    for (uint32_t t = 0; t < T; t++) {
        const oracle_prefix *op = &o->th[t];
        const oracle_mt_thread *th = &in->th[t];
        uint64_t h = oracle_map_hash(sp.part[t]);
        size_t n = oracle_map_count(sp.part[t]);
        uint32_t hi = th->issued < op->n ? th->issued : op->n, k, found = 0;
        wl_params v;
        char sub[400];
        wl_thread_view(p, t, &v);
        for (uint32_t c = 0; c <= hi; c++)
            if (op->h[c] == h && op->count[c] == n &&
                oracle_judge(&v, op, sp.part[t], c, c, &k, sub, sizeof(sub)) ==
                    ORACLE_OK) {
                cand[t][c] = 1;
                found++;
            }
        if (found > 0)
            continue;
        verdict = oracle_judge(&v, op, sp.part[t], th->required, hi, &k, sub,
                               sizeof(sub));
        if (verdict == ORACLE_OK)
            verdict = ORACLE_PREFIX;
        snprintf(detail, dlen,
                 "thread %u of %u, counting its own transactions (its m-th "
                 "is transaction %u + %u m): %s",
                 t, T, t, T, sub);
        *k_out = k;
        goto out;
    }
    /* 3: the cuts of the commit order */
    for (uint32_t t = 0; t < T; t++)
        ncuts += in->th[t].acked;
    cuts = malloc((ncuts + 1) * sizeof(*cuts));
    if (cuts == NULL)
        goto oom;
    ncuts = 0;
    cuts[ncuts++] = 0;
    for (uint32_t t = 0; t < T; t++)
        for (uint32_t m = 0; m < in->th[t].acked; m++)
            cuts[ncuts++] = mt_lsn(in, t, m);
    qsort(cuts, ncuts, sizeof(*cuts), mt_cmp_u64);
    for (size_t i = 0; i < ncuts; i++) {
        uint32_t n;
        if (i > 0 && cuts[i] == cuts[i - 1])
            continue;
        if (mt_cut_fits(in, cand, cuts[i], 2, &n)) {
            *k_out = n;
            verdict = ORACLE_OK;
            goto out;
        }
        if (!fits_req && mt_cut_fits(in, cand, cuts[i], 1, &n)) {
            fits_req = 1;
            total = n;
        }
        if (!fits_any && !fits_req && mt_cut_fits(in, cand, cuts[i], 0, &n)) {
            fits_any = 1;
            total = n;
        }
    }
    if (fits_req || fits_any) {
        verdict = fits_req ? ORACLE_CLAIMED : ORACLE_DURABILITY;
        *k_out = total;
        mt_describe_lost(in, cand, fits_req, detail, dlen);
        goto out;
    }
    verdict = ORACLE_PREFIX;
    for (uint32_t t = 0; t < T; t++)
        total += mt_best(in, cand, t);
    *k_out = total;
    mt_describe_hole(in, cand, detail, dlen);
    goto out;
oom:
    verdict = ORACLE_RECOVERY;
    snprintf(detail, dlen, "oracle out of memory");
out:
    for (uint32_t t = 0; t < T && t < WL_MAX_THREADS; t++) {
        oracle_map_free(sp.part[t]);
        free(cand[t]);
    }
    free(cuts);
    return verdict;
}
