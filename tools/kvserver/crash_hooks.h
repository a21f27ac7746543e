/*
 * crash_hooks.h - the start-up hooks of kvserver's test-only build
 * (build/kvserver-crash, compiled with KVSERVER_CRASH; defined in
 * crash/kvserver_crashio.c, which links the faults library).  The shipped
 * kvserver neither calls nor contains them.  They are read from the
 * environment once, before the database is opened, and are inert when
 * their variables are absent.
 *
 *   KVSERVER_CRASHIO   run the engine through the crash-simulating I/O
 *                      table (faults/crashio.h), configured by its parent
 *                      (crashtest --target server), which reads crashio's
 *                      report from a shared-memory file it passes down;
 *   KVSERVER_BROKEN    a deliberately broken acknowledgement, so that the
 *                      harness can show it catches one.
 *
 * The variables and their format are documented in docs/KVSERVER.md
 * ("Crash testing").  They are not options: no user should set them.
 */
#ifndef CL_KVSERVER_CRASH_HOOKS_H
#define CL_KVSERVER_CRASH_HOOKS_H

#include <stddef.h>

#include "crashlab.h"
#include "srv.h"

/* Apply the hooks the environment asks for: point o->io at a crashio
 * table wrapping the POSIX one (dir is the database directory: crashio
 * names files relative to it), and set cfg->broken.
 * @param err OUT: what is wrong with a variable, on error.
 * @return 0 (also when no variable is set), or -1. */
int kvcrash_setup(const char *dir, cl_options *o, srv_config *cfg, char *err,
                  size_t errlen);

/* Release what kvcrash_setup made, once the database is closed. */
void kvcrash_done(void);

#endif
