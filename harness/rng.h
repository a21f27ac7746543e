/*
 * rng.h - the harness's deterministic randomness and hashing: every choice
 * of a campaign is a pure function of its seed, so any trial replays.
 */
#ifndef CL_HARNESS_RNG_H
#define CL_HARNESS_RNG_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* splitmix64 step. */
static inline uint64_t rng_mix(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

typedef struct rng {
    uint64_t s;
} rng;

static inline void rng_seed(rng *r, uint64_t seed)
{
    r->s = seed;
}

static inline uint64_t rng_next(rng *r)
{
    r->s += 0x9E3779B97F4A7C15ull;
    return rng_mix(r->s);
}

/* Uniform in [0, n) (n > 0). */
static inline uint64_t rng_below(rng *r, uint64_t n)
{
    return n == 0 ? 0 : rng_next(r) % n;
}

/* Uniform in [lo, hi]. */
static inline uint64_t rng_range(rng *r, uint64_t lo, uint64_t hi)
{
    return lo + rng_below(r, hi - lo + 1);
}

/* A 64-bit hash of a byte string with a seed (not cryptographic). */
static inline uint64_t rng_hash(const void *buf, size_t len, uint64_t seed)
{
    const uint8_t *p = buf;
    uint64_t h = rng_mix(seed ^ (len * 0x2545F4914F6CDD1Dull));

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
