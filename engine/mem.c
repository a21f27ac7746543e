/*
 * mem.c - memory for large buffers.
 */
#include "mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

void *mem_alloc_huge(size_t bytes)
{
    void *m = NULL;

    if (bytes == 0 || bytes % MEM_HUGE != 0 ||
        posix_memalign(&m, MEM_HUGE, bytes) != 0)
        return malloc(bytes > 0 ? bytes : 1);
#ifdef MADV_HUGEPAGE
    madvise(m, bytes, MADV_HUGEPAGE);
#endif
    return m;
}

int mem_grow(void *arr, size_t *cap, size_t n, size_t elem, size_t first)
{
    size_t c = *cap ? *cap : first > 0 ? first : 1;
    void *old, *m;

    if (n <= *cap)
        return 0;
    while (c < n) {
        if (c > SIZE_MAX / 2)
            return -1;
        c *= 2;
    }
    if (c > SIZE_MAX / elem)
        return -1;
    memcpy(&old, arr, sizeof(old));
    if ((m = realloc(old, c * elem)) == NULL)
        return -1;
    memcpy(arr, &m, sizeof(m));
    *cap = c;
    return 0;
}
