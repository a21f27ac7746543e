/*
 * clk.h - the monotonic clock every program of the project measures with.
 */
#ifndef CL_COMMON_CLK_H
#define CL_COMMON_CLK_H

#include <stdint.h>

/* CLOCK_MONOTONIC now, in microseconds. */
uint64_t clk_now_us(void);
/* CLOCK_MONOTONIC now, in nanoseconds. */
uint64_t clk_now_ns(void);

#endif
