/*
 * clk.c - see clk.h.
 */
#include "clk.h"

#include <time.h>

uint64_t clk_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t clk_now_us(void)
{
    return clk_now_ns() / 1000u;
}
