/*
 * swarm.h - swarm testing (Groce et al., ISSTA 2012): every workload
 * variant of a campaign draws, from its own seed, the engine configuration
 * it runs under and the size and shape of its workload, so one campaign
 * reaches the mechanisms that only some configurations exercise (eviction
 * from a small pool, segment rolls, back-to-back checkpoints, merges of
 * B-tree nodes, the doublewrite ring and its wrap) instead of running
 * every trial under one.  Settings given on the command line are pinned:
 * the draw leaves them as given.
 */
#ifndef CL_SWARM_H
#define CL_SWARM_H

#include <stdint.h>

#include "crashlab.h"
#include "workload.h"

/* What the command line pinned: an engine option is pinned when nonzero in
 * eng (CL_SYNC_DEFAULT and CL_TORN_DEFAULT are zero), the workload's size
 * when txns is nonzero. */
typedef struct swarm_pins {
    cl_options eng;
    uint32_t txns;
} swarm_pins;

/* The smallest pool the draw gives for a page size: 256 KiB, the engine's
 * minimum, and at least SWARM_MIN_FRAMES pages. */
#define SWARM_MIN_FRAMES 32

/* Longest drawn workload: the writer's shared memory holds a position per
 * transaction. */
#define SWARM_MAX_TXNS 512

/* What a directed draw aims at: the settings under which the mechanisms
 * a campaign's first variants missed run (campaign.c fills it from
 * them).  Each nonzero field sets its setting, unless the command line
 * pinned it; the other settings are drawn. */
typedef struct swarm_aim {
    int sync;           /* 0 drawn; 1 the log synced by each commit (commit or
                           group, by the seed); 2 synced on request (off) */
    int doublewrite;    /* torn-page protection through the doublewrite area */
    int ring;           /* with it: checkpoints that fill its ring */
    int small_pool;     /* the smallest pool: eviction */
    int drain;          /* a draining workload: merges, free-list reuse */
    int small_segments; /* 64 KiB segments: rolls and removals */
    int checkpoints;    /* checkpoints by log size */
    int spread;         /* checkpoint mode spread: pages written beside the
                           commits, which go on meanwhile */
} swarm_aim;

/* Draw the configuration of the variant whose workload seed is wl->seed:
 * every setting of *eng that pins leaves open (eng starts as the
 * campaign's defaults), and wl's size (from base_txns, the kind's default
 * size) and shape (key space, drain).  aim non-NULL: the draw of the
 * further variants a campaign adds to reach a mechanism its first ones
 * missed (campaign.c), weighted towards the settings under which the
 * engine does its rarer work (swarm.c) and set to what aim asks.  wl's
 * kind, seed and caps (max_ops, max_value) are set: a variant with the
 * doublewrite area generates its workload to see whether its checkpoints
 * can fill the ring.  A pure function of its inputs. */
void swarm_draw(const swarm_pins *pins, uint32_t base_txns,
                const swarm_aim *aim, cl_options *eng, wl_params *wl);

#endif
