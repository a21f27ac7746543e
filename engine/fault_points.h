/*
 * fault_points.h - libfiu fault points that cost nothing in a normal build.
 *
 * With FIU_ENABLE defined (the FIU=1 build flavour) these are libfiu's own
 * macros; otherwise they expand to nothing and the engine neither includes
 * <fiu.h> nor links libfiu, so the shipped engine is the tested engine.
 *
 * Point names are hierarchical: engine/io/<call> for every entry of the
 * POSIX I/O table (failinfo carries the errno to fail with), and
 * engine/io/pwrite/short for short writes.
 */
#ifndef CL_FAULT_POINTS_H
#define CL_FAULT_POINTS_H

#ifdef FIU_ENABLE
#include <fiu.h>
#else
#define fiu_init(flags) 0
#define fiu_fail(name) 0
#define fiu_failinfo() NULL
#define fiu_do_on(name, action)
#define fiu_exit_on(name)
#define fiu_return_on(name, retval)
#endif

#endif
