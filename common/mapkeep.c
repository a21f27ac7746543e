/*
 * mapkeep.c - anonymous memory mappings kept for reuse (see mapkeep.h).
 */
#include "mapkeep.h"

#include <malloc.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Mappings kept per thread, and the largest one kept. */
#define MAPKEEP_SLOTS 6
#define MAPKEEP_MAX ((size_t)256 << 20)
#define MAPKEEP_MIN ((size_t)64 << 10)
#ifdef MADV_POPULATE_WRITE
#define MAPKEEP_POPULATE_WRITE MADV_POPULATE_WRITE
#else
#define MAPKEEP_POPULATE_WRITE 23 /* Linux 5.14's value */
#endif

static _Thread_local struct mapkeep_slot {
    void *p;
    size_t cap;
} mapkeep_slots[MAPKEEP_SLOTS];
/* The process the slots belong to: a forked child does not have them. */
static _Thread_local pid_t mapkeep_pid;

static void mapkeep_own(void)
{
    if (mapkeep_pid != getpid()) {
        memset(mapkeep_slots, 0, sizeof(mapkeep_slots));
        mapkeep_pid = getpid();
    }
}

void *mapkeep_take(size_t n, size_t *cap)
{
    int best = -1;
    void *p;

    mapkeep_own();
    /* the smallest kept mapping that is large enough */
    for (int i = 0; i < MAPKEEP_SLOTS; i++)
        if (mapkeep_slots[i].p != NULL && mapkeep_slots[i].cap >= n &&
            (best < 0 || mapkeep_slots[i].cap < mapkeep_slots[best].cap))
            best = i;
    if (best >= 0) {
        p = mapkeep_slots[best].p;
        *cap = mapkeep_slots[best].cap;
        mapkeep_slots[best].p = NULL;
        return p;
    }
    *cap = MAPKEEP_MIN;
    while (*cap < n) {
        if (*cap > ((size_t)-1) / 2)
            return NULL;
        *cap *= 2;
    }
    p = mmap(NULL, *cap, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void mapkeep_give(void *p, size_t cap)
{
    int k = -1;

    if (p == NULL)
        return;
    mapkeep_own();
    if (cap <= MAPKEEP_MAX) {
        /* an empty slot, else the one of the smallest kept mapping if it
         * is smaller than this one */
        for (int i = 0; i < MAPKEEP_SLOTS; i++)
            if (k < 0 || mapkeep_slots[i].p == NULL ||
                (mapkeep_slots[k].p != NULL &&
                 mapkeep_slots[i].cap < mapkeep_slots[k].cap))
                k = i;
        if (mapkeep_slots[k].p != NULL && mapkeep_slots[k].cap >= cap)
            k = -1;
    }
    if (k >= 0 && madvise(p, cap, MADV_DONTFORK) == 0) {
        if (mapkeep_slots[k].p != NULL)
            munmap(mapkeep_slots[k].p, mapkeep_slots[k].cap);
        mapkeep_slots[k].p = p;
        mapkeep_slots[k].cap = cap;
        return;
    }
    munmap(p, cap);
}

void *mapkeep_take_written(size_t n, size_t *cap)
{
    void *p = mapkeep_take(n, cap);

    /* The n bytes' pages in one call rather than a fault each (without
     * MADV_POPULATE_WRITE, before Linux 5.14, they fault in as they are
     * written); of a kept mapping, most are there already, and for those
     * the call only walks its page tables. */
    if (p != NULL && n > 0)
        (void)madvise(p, n, MAPKEEP_POPULATE_WRITE);
    return p;
}

void mapkeep_heap(void)
{
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
}
