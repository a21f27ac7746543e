/*
 * mem.h - memory for large buffers (engine-internal).
 */
#ifndef CL_MEM_H
#define CL_MEM_H

#include <stddef.h>

#define MEM_HUGE (2u << 20) /* bytes of a transparent huge page (x86-64) */

/* bytes of memory, released with free().  When bytes is a multiple of
 * MEM_HUGE, aligned to it and offered to the kernel for transparent huge
 * pages, so that the first touch of each 2 MiB is one page fault, not 512,
 * and reads through it do not miss the TLB at every 4 KiB (the kernel may
 * decline: then these are ordinary pages).  Otherwise plain malloc.  The
 * first touch of a huge page clears all of it: for memory that may stay
 * mostly unused, ask for less. */
void *mem_alloc_huge(size_t bytes);

/* Make room for n elements of elem bytes in the array *arr of *cap
 * elements, doubling it (first elements at least).  Returns 0, or -1 (no
 * memory) with the array as it was. */
int mem_grow(void *arr, size_t *cap, size_t n, size_t elem, size_t first);

#endif
