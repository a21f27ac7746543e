/*
 * frng.h - the one small random generator of the faults layer (splitmix64).
 *
 * Every random choice crashio and the power-loss image builder make comes
 * from a generator seeded with the caller's seed, so that a trial replays
 * byte for byte.  Independent decisions use independent streams
 * (frng_stream), so adding a draw to one kind of decision does not shift the
 * choices of another.
 */
#ifndef CL_FRNG_H
#define CL_FRNG_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct frng {
    uint64_t s; /* state; any value is a valid seed */
} frng;

static inline uint64_t frng_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline uint64_t frng_next(frng *r)
{
    return frng_mix(r->s += 0x9E3779B97F4A7C15ull);
}

/* A generator for the purpose `tag` (and sub-index `idx`) derived from
 * seed: different tags give unrelated sequences. */
static inline frng frng_stream(uint64_t seed, uint64_t tag, uint64_t idx)
{
    frng r = {frng_mix(seed ^ frng_mix(tag * 0xD1B54A32D192ED03ull + idx))};
    return r;
}

/* Uniform in [0, n); 0 when n is 0.  The modulo bias is below 2^-40 for the
 * small n used here, which is irrelevant for fault injection. */
static inline uint64_t frng_below(frng *r, uint64_t n)
{
    return n == 0 ? 0 : frng_next(r) % n;
}

/* One fair coin. */
static inline int frng_coin(frng *r)
{
    return (int)(frng_next(r) >> 63);
}

/* Fill buf with len bytes drawn from r. */
static inline void frng_fill(frng *r, void *buf, size_t len)
{
    uint8_t *p = buf;

    while (len > 0) {
        uint64_t v = frng_next(r);
        size_t n = len < 8 ? len : 8;
        memcpy(p, &v, n);
        p += n;
        len -= n;
    }
}

#endif
