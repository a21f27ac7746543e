/*
 * mem.c - memory for large buffers.
 */
#include "mem.h"

#include <stdlib.h>
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
