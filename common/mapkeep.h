/*
 * mapkeep.h - anonymous memory mappings kept for reuse within a process.
 *
 * Code that needs a large buffer again and again (a power-cut image per
 * crash state reads a shadow log of megabytes and rebuilds each file) can
 * take a mapping here and give it back when done: the next take gets a
 * kept one, already faulted in, instead of a new mapping, and no
 * unmapping flushes the TLB of every CPU each time.  A kept mapping holds
 * stale bytes: the taker must not read what it has not written.  Kept
 * mappings are not inherited by a fork (MADV_DONTFORK: the process goes on
 * writing them, and copy-on-write would make each write a copy), nor is
 * one taken again from them: a buffer from here must not be used across
 * a fork by the child.  A child process starts with none kept.
 */
#ifndef CL_COMMON_MAPKEEP_H
#define CL_COMMON_MAPKEEP_H

#include <stddef.h>

/* A private anonymous mapping of at least n bytes (*cap: its size, which
 * mapkeep_give wants back), a kept one if one is large enough; NULL when
 * out of memory. */
void *mapkeep_take(size_t n, size_t *cap);
/* mapkeep_take for a taker that writes all n bytes at once (a file read
 * whole): their pages are made in one call, not a page fault each, which
 * costs microseconds (docs/PERFORMANCE.md). */
void *mapkeep_take_written(size_t n, size_t *cap);
/* Give back p (of cap bytes): kept for a later take, or unmapped.  p may
 * also have been grown with mremap since (cap: its size now); NULL is
 * nothing. */
void mapkeep_give(void *p, size_t cap);

/* Let the C library keep memory for reuse too: serve every block up to
 * its limit (32 MiB) from the heap, whose pages come as huge pages where
 * glibc.malloc.hugetlb=1 asks for them, and keep up to 256 MiB of it
 * free rather than give it back.  For a process that allocates and frees
 * the same buffers again and again and forks little: a page given back
 * is a page fault when it is needed again, and each fork copies the page
 * tables of what is kept. */
void mapkeep_heap(void);

#endif
