/*
 * rng.h - the project's one seeded random generator (splitmix64) and the
 * hashing built on its mixer.  Every random choice of a campaign, of a
 * fault injection, of a benchmark and of a test comes from here, so that
 * anything driven by a seed replays byte for byte.
 *
 * splitmix64: the state advances by the constant RNG_GAMMA at each draw and
 * the output is the new state put through rng_fmix, a bijective mixer.  Any
 * 64-bit value is a valid state, so `rng r = {seed};` starts a generator.
 */
#ifndef CL_COMMON_RNG_H
#define CL_COMMON_RNG_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define RNG_GAMMA 0x9E3779B97F4A7C15ull

typedef struct rng {
    uint64_t s; /* state; any value is a valid seed */
} rng;

/* splitmix64's output function: a bijective mix of the 64 bits of z. */
static inline uint64_t rng_fmix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* The draw that follows state z: rng_fmix(z + RNG_GAMMA).  Used as a hash
 * of one 64-bit value (seeds of sub-streams, running hashes). */
static inline uint64_t rng_mix(uint64_t z)
{
    return rng_fmix(z + RNG_GAMMA);
}

/* The next 64 random bits of r. */
static inline uint64_t rng_next(rng *r)
{
    return rng_fmix(r->s += RNG_GAMMA);
}

/* Start r one step after state seed: its first draw is rng_mix(seed +
 * RNG_GAMMA).  The harness seeds its generators this way; the trials that
 * recorded seeds name depend on it, so it does not change. */
static inline void rng_seed(rng *r, uint64_t seed)
{
    r->s = seed + RNG_GAMMA;
}

/* A generator for the purpose `tag` (and sub-index `idx`) derived from
 * seed: different tags give unrelated sequences, so adding a draw to one
 * kind of decision does not shift the choices of another. */
static inline rng rng_stream(uint64_t seed, uint64_t tag, uint64_t idx)
{
    rng r = {rng_fmix(seed ^ rng_fmix(tag * 0xD1B54A32D192ED03ull + idx))};
    return r;
}

/* Uniform in [0, n); 0 when n is 0.  The modulo bias is below 2^-40 for
 * the n used in the project (far below a million). */
static inline uint64_t rng_below(rng *r, uint64_t n)
{
    return n == 0 ? 0 : rng_next(r) % n;
}

/* Uniform in [lo, hi]. */
static inline uint64_t rng_range(rng *r, uint64_t lo, uint64_t hi)
{
    return lo + rng_below(r, hi - lo + 1);
}

/* One step of a weighted reservoir over a stream of items (one kept, the
 * stream's length unknown in advance): the item of weight w that follows
 * items of weights summing to *sum takes the kept one's place with
 * probability w / (*sum + w).  Adds w to *sum; returns 1 to keep the
 * item.  At the end of the stream each item is the kept one with
 * probability its weight over the sum of all (all weights 1: uniform). */
static inline int rng_reservoir(rng *r, uint64_t *sum, uint64_t w)
{
    *sum += w;
    return rng_below(r, *sum) < w;
}

/* One fair coin. */
static inline int rng_coin(rng *r)
{
    return (int)(rng_next(r) >> 63);
}

/* Fill buf with len bytes drawn from r. */
static inline void rng_fill(rng *r, void *buf, size_t len)
{
    uint8_t *p = buf;

    while (len > 0) {
        uint64_t v = rng_next(r);
        size_t n = len < 8 ? len : 8;
        memcpy(p, &v, n);
        p += n;
        len -= n;
    }
}

/* One step of a lane of rng_hash: the lane takes in 8 bytes v by a
 * multiply, add, rotate and multiply (each bijective, so two inputs that
 * differ leave the lane different). */
static inline uint64_t rng_lane(uint64_t lane, uint64_t v)
{
    lane += v * 0xC2B2AE3D27D4EB4Full;
    lane = (lane << 31) | (lane >> 33);
    return lane * 0x9E3779B185EBCA87ull;
}

/* A 64-bit hash of a byte string with a seed (not cryptographic).  32
 * bytes at a time go into four independent lanes, which the processor
 * computes side by side (the oracle hashes every value it reads back);
 * the lanes, then what is left 8 bytes at a time, go through rng_mix. */
static inline uint64_t rng_hash(const void *buf, size_t len, uint64_t seed)
{
    const uint8_t *p = buf;
    uint64_t h = rng_mix(seed ^ (len * 0x2545F4914F6CDD1Dull));

    if (len >= 32) {
        uint64_t l[4] = {h, h ^ RNG_GAMMA, h + 0x2545F4914F6CDD1Dull, ~h};
        while (len >= 32) {
            for (int i = 0; i < 4; i++) {
                uint64_t v;
                memcpy(&v, p + 8 * i, 8);
                l[i] = rng_lane(l[i], v);
            }
            p += 32;
            len -= 32;
        }
        for (int i = 0; i < 4; i++)
            h = rng_mix(h ^ l[i]);
    }
    while (len >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        h = rng_mix(h ^ v);
        p += 8;
        len -= 8;
    }
    if (len > 0) {
        uint64_t v = 0;
        memcpy(&v, p, len);
        h = rng_mix(h ^ v ^ 0xFF);
    }
    return h;
}

/* The seed of trial number `trial` of campaign `seed`. */
static inline uint64_t rng_trial_seed(uint64_t seed, uint64_t trial)
{
    return rng_mix(seed ^ rng_mix(trial + 0x5851F42D4C957F2Dull));
}

#endif
