/*
 * swarm.c - the configuration draw of swarm testing (see swarm.h).
 *
 * Each setting is drawn on its own, with a good share of the engine's
 * defaults, so that a campaign's variants mix the rare settings with the
 * common ones rather than always stacking every rare one:
 *   sync             off, commit, group, periodic: one in four each;
 *   torn protection  none, fpw, dwb: one in three each;
 *   page size        4 KiB (5/8), 8 KiB (1/4), 16 KiB (1/16), 64 KiB
 *                    (1/16);
 *   pool             the smallest (1/6: 256 KiB and at least
 *                    SWARM_MIN_FRAMES pages, so a few hundred dirty pages
 *                    must be written back), up to 4 MiB (1/6), or the
 *                    default 64 MiB (2/3);
 *   checkpoints      every 4..16 KiB of log (1/4: with full-page images
 *                    nearly every commit ends in one, back to back), every
 *                    16 KiB..1 MiB (1/3), or the default (5/12); but a
 *                    variant with the doublewrite area (dwb) that does not
 *                    checkpoint back to back checkpoints every one to two
 *                    rings of log instead (CL_DWB_PAGES pages of its page
 *                    size) when its workload puts at least twice that
 *                    many bytes of keys and values, so that its
 *                    checkpoints write more pages than the ring holds and
 *                    the ring starts over (the page file synced before a
 *                    slot is reused), which neither a few KiB nor the
 *                    default interval gets to; with the smallest pool, the
 *                    default interval stays: there the evictions fill
 *                    the ring;
 *   checkpoint mode  for a variant that checkpoints by log size: inline
 *                    (1/2), spread (3/8) or background (1/8, whose runs do
 *                    not repeat, so that each of its trials runs a writer
 *                    of its own); drawn from a stream of its own, so that
 *                    every other draw is as it would be without it;
 *   log segments     64 KiB, the engine's smallest (1/3), up to 1 MiB
 *                    (1/6), or the default 16 MiB (1/2);
 *   workload size    the kind's default (13/16), four times it (1/8) or
 *                    sixteen times it (1/16), at most SWARM_MAX_TXNS; the
 *                    smallest pool makes the default four times longer
 *                    (but for large values, which fill it at any length),
 *                    so that it has something to evict, and so does a
 *                    variant that fills the doublewrite ring when four
 *                    times the default, and not the default, puts enough
 *                    (longer workloads cost more per crash state: the
 *                    writer runs longer and recovery has more to replay);
 *   key space        the kind's (1/2), four or sixteen times wider (1/4
 *                    each): more leaves, so more splits, and more pages
 *                    than a small pool holds;
 *   drain            one variant in three deletes mostly in its second
 *                    half (wl_params.drain): nodes empty and merge, pages
 *                    go to the free list and are reused; such a workload
 *                    is at least four times the kind's default, so that
 *                    its tree has leaves to merge.
 */
#include "swarm.h"

#include "rng.h"

static uint64_t swarm_pick(rng *r, const uint64_t *v, const unsigned *w, int n)
{
    unsigned total = 0, x;

    for (int i = 0; i < n; i++)
        total += w[i];
    x = (unsigned)rng_below(r, total);
    for (int i = 0; i < n; i++) {
        if (x < w[i])
            return v[i];
        x -= w[i];
    }
    return v[n - 1];
}

/* The weights of each setting's choices, in the order of the tables in
 * swarm_draw.  The plain draw is the one described at the top; the
 * directed one (swarm.h) leaves out what the engine does least in
 * (periodic sync, whose runs do not repeat, and no torn-page protection)
 * and favours the rare ends: the smallest pools and segments, checkpoints
 * by log size, longer workloads over wider key spaces, and draining; then
 * its aim sets what it names (the draws are made all the same). */
typedef struct swarm_weights {
    unsigned sync[4], torn[3], page[4], pool[3], ckpt[3], seg[3], mult[3],
        keys[3], drain[2];
} swarm_weights;

static const swarm_weights swarm_plain = {
    {1, 1, 1, 1}, {1, 1, 1},  {10, 4, 1, 1}, {1, 1, 4}, {3, 4, 5},
    {2, 1, 3},    {13, 2, 1}, {2, 1, 1},     {2, 1}};
static const swarm_weights swarm_directed = {
    {1, 1, 1, 0}, {0, 1, 2}, {10, 4, 1, 1}, {2, 1, 1}, {1, 1, 1},
    {2, 1, 1},    {1, 2, 1}, {1, 1, 2},     {1, 1}};

static uint32_t swarm_txns(uint32_t base_txns, uint64_t mult)
{
    uint64_t n = (uint64_t)base_txns * mult;

    return (uint32_t)(n > SWARM_MAX_TXNS ? SWARM_MAX_TXNS : n);
}

/* The checkpoint interval of a variant that fills the doublewrite ring:
 * one to two rings (CL_DWB_PAGES pages of page_size; 0 is the default
 * page size) of log, drawn from a stream of its own so that the draws
 * after it are the same whether or not a variant takes it. */
static uint64_t swarm_ring_checkpoint(uint64_t seed, uint32_t page_size)
{
    uint64_t ring = (uint64_t)CL_DWB_PAGES * (page_size ? page_size : 4096);
    rng r;

    rng_seed(&r, rng_mix(seed ^ 0x52494E47ull));
    return rng_range(&r, ring, 2 * ring);
}

/* The checkpoint mode of a variant that checkpoints by log size (the
 * directed draw leaves out background, whose runs do not repeat). */
static cl_ckpt_mode swarm_ckpt_mode(uint64_t seed, int directed)
{
    static const uint64_t modes[] = {CL_CKPT_INLINE, CL_CKPT_SPREAD,
                                     CL_CKPT_BACKGROUND};
    static const unsigned plain[] = {4, 3, 1}, aimed[] = {1, 1, 0};
    rng r;

    rng_seed(&r, rng_mix(seed ^ 0x434B5054ull));
    return (cl_ckpt_mode)swarm_pick(&r, modes, directed ? aimed : plain, 3);
}

/* Bytes of keys and values that the first n transactions of wl put,
 * before any drain (0 if out of memory). */
static uint64_t swarm_payload(const wl_params *wl, uint32_t n)
{
    wl_params p = *wl;
    wl_txn t;
    uint64_t bytes = 0;

    p.txns = n;
    p.drain = 0;
    p.threads = 0;
    p.view = 0;
    if (wl_txn_init(&t) != 0)
        return 0;
    for (uint32_t i = 0; i < n; i++) {
        wl_gen(&p, i, &t);
        for (uint32_t j = 0; j < t.nops; j++)
            bytes += t.ops[j].del ? 0 : t.ops[j].klen + t.ops[j].vlen;
    }
    wl_txn_free(&t);
    return bytes;
}

void swarm_draw(const swarm_pins *pins, uint32_t base_txns,
                const swarm_aim *aim, cl_options *eng, wl_params *wl)
{
    static const swarm_aim plain = {0};
    static const uint64_t syncs[] = {CL_SYNC_OFF, CL_SYNC_COMMIT, CL_SYNC_GROUP,
                                     CL_SYNC_PERIODIC};
    static const uint64_t torns[] = {CL_TORN_NONE, CL_TORN_FPW, CL_TORN_DWB};
    static const uint64_t pages[] = {4096, 8192, 16384, 65536};
    static const uint64_t three[] = {0, 1, 2};
    static const uint64_t scales[] = {1, 4, 16};
    const swarm_weights *w = aim ? &swarm_directed : &swarm_plain;
    rng r;
    uint64_t min_pool, mult, ring_ck = 0;
    int small_pool = 0, drawn_small, by_evictions = 0;

    /* Every setting takes the same number of draws whether pinned or not,
     * so pinning one leaves the others' draws as they were. */
    rng_seed(&r, rng_mix(wl->seed ^ 0x5A53A4D5EEDull));
    if (aim == NULL)
        aim = &plain;
    {
        cl_sync_mode s = (cl_sync_mode)swarm_pick(&r, syncs, w->sync, 4);
        if (aim->sync == 2)
            s = CL_SYNC_OFF;
        else if (aim->sync == 1 && s != CL_SYNC_COMMIT && s != CL_SYNC_GROUP)
            s = wl->seed % 2 ? CL_SYNC_COMMIT : CL_SYNC_GROUP;
        if (pins->eng.sync == CL_SYNC_DEFAULT)
            eng->sync = s;
    }
    {
        cl_torn_mode t = (cl_torn_mode)swarm_pick(&r, torns, w->torn, 3);
        if (aim->doublewrite)
            t = CL_TORN_DWB;
        if (pins->eng.torn == CL_TORN_DEFAULT)
            eng->torn = t;
    }
    {
        uint32_t ps = (uint32_t)swarm_pick(&r, pages, w->page, 4);
        if (pins->eng.page_size == 0)
            eng->page_size = ps;
    }
    {
        uint32_t ps = eng->page_size ? eng->page_size : 4096;
        uint64_t x = swarm_pick(&r, three, w->pool, 3), pool = 0;
        min_pool = (uint64_t)SWARM_MIN_FRAMES * ps;
        if (min_pool < (256u << 10))
            min_pool = 256u << 10;
        if (x == 0)
            pool = min_pool;
        else if (x == 1 && min_pool < (4u << 20))
            pool = rng_range(&r, min_pool, 4u << 20) & ~(uint64_t)(ps - 1);
        if (aim->small_pool) {
            x = 0;
            pool = min_pool;
        }
        if (pins->eng.pool_bytes == 0) {
            eng->pool_bytes = pool;
            small_pool = pool == min_pool;
        }
        drawn_small = x == 0;
    }
    {
        uint64_t x = swarm_pick(&r, three, w->ckpt, 3), ck = 0;
        if (x == 0)
            ck = rng_range(&r, 4u << 10, 16u << 10);
        else if (x == 1)
            ck = rng_range(&r, 16u << 10, 1u << 20);
        if ((aim->ring && x != 1) || (aim->checkpoints && x == 2)) {
            x = 1; /* by log size (the ring's, below, with aim->ring) */
            ck = 16u << 10;
        }
        if (pins->eng.checkpoint_bytes == 0) {
            eng->checkpoint_bytes = ck;
            if (x != 0 && eng->torn == CL_TORN_DWB) {
                ring_ck = swarm_ring_checkpoint(wl->seed, eng->page_size);
                by_evictions = x == 2 && drawn_small;
            }
        }
    }
    {
        uint64_t x = swarm_pick(&r, three, w->seg, 3), seg = 0;
        if (x == 0)
            seg = 64u << 10;
        else if (x == 1)
            seg = rng_range(&r, 64u << 10, 1u << 20);
        if (aim->small_segments)
            seg = 64u << 10;
        if (pins->eng.segment_bytes == 0)
            eng->segment_bytes = seg;
    }
    mult = swarm_pick(&r, scales, w->mult, 3);
    /* large values fill a small pool at any length */
    if (small_pool && mult == 1 && wl->kind != WL_LARGE)
        mult = 4;
    wl->keys = (uint32_t)swarm_pick(&r, scales, w->keys, 3);
    /* a tree of one or two leaves has nothing to merge: a draining
     * workload is at least four times the kind's default */
    wl->drain = (uint32_t)swarm_pick(&r, three, w->drain, 2);
    if (aim->drain)
        wl->drain = 1;
    if (wl->drain && mult == 1)
        mult = 4;
    /* A ring-sized interval where four times the kind's default size puts
     * twice that much, and then at least that size; with the smallest
     * pool drawn and the default interval, the evictions fill the ring
     * and only the size is set.  (Whether the workload puts that much
     * depends on no pinnable setting but the page size, and the pool
     * drawn counts whether or not it is pinned, so that pinning the
     * others leaves the interval as it is.) */
    if (ring_ck != 0 &&
        swarm_payload(wl, swarm_txns(base_txns, 4)) >= 2 * ring_ck) {
        if (!by_evictions)
            eng->checkpoint_bytes = ring_ck;
        if (mult == 1)
            mult = 4;
    }
    if (pins->eng.checkpoint_mode == CL_CKPT_DEFAULT &&
        eng->checkpoint_bytes != 0)
        eng->checkpoint_mode =
            aim->spread ? CL_CKPT_SPREAD
                        : swarm_ckpt_mode(wl->seed, w == &swarm_directed);
    if (pins->txns == 0)
        wl->txns = swarm_txns(base_txns, mult);
    wl->drain = wl->drain ? (wl->txns + 1) / 2 : 0;
}
