/*
 * srv.h - the network half of kvserver: listening socket, connections,
 * worker threads, and the commands run against an open cl_db.  The
 * protocols themselves are in proto.h; the program (options, signals,
 * opening and closing the database) is kvserver.c.
 */
#ifndef CL_SRV_H
#define CL_SRV_H

#include <stddef.h>

#include "crashlab.h"

typedef struct srv_config {
    const char *bind;     /* numeric IPv4 or IPv6 address to listen on */
    unsigned port;        /* 0: any free port */
    unsigned threads;     /* I/O threads, >= 1 */
    unsigned committers;  /* committer threads, >= 1 */
    unsigned max_clients; /* connections served at once, >= 1 */
    cl_sync_mode sync;    /* the database's sync mode, for CONFIG GET */
#ifdef KVSERVER_CRASH
    int broken; /* SRV_BROKEN_*, set by crash/kvserver_crashio.c */
#endif
} srv_config;

#ifdef KVSERVER_CRASH
/* Deliberately broken acknowledgements, only in the test-only build of the
 * server (build/kvserver-crash, KVSERVER_BROKEN): the crash harness must
 * catch each of them.  The shipped kvserver is compiled without
 * KVSERVER_CRASH and has none of this. */
#define SRV_BROKEN_NONE 0
#define SRV_BROKEN_ACK_EARLY 1 /* answer OK before the commit is durable */
#define SRV_BROKEN_SKIP_SET 2  /* acknowledge every 10th SET unwritten */
#endif

typedef struct srv srv;

/* Bind and listen on cfg->bind:cfg->port and set up the server, but serve
 * nobody yet: clients that connect wait in the listen queue until
 * srv_serve.  (Done before the database is opened, so that a bad address or
 * a port in use fails at once, not after a recovery.)
 * @param s    OUT: the server.
 * @param addr OUT: the address listened on, "127.0.0.1:PORT" or "[::1]:PORT"
 *             (the port actually bound when cfg->port is 0).
 * @param err  OUT: what failed, on error.
 * @return 0, or an errno (err says which call failed). */
int srv_start(const srv_config *cfg, srv **s, char *addr, size_t addrlen,
              char *err, size_t errlen);

/* Start the threads, which serve clients on db until srv_stop.  The
 * caller keeps db open until srv_stop has returned, and calls srv_stop
 * also when this fails.  @return 0, or an errno (err says what failed). */
int srv_serve(srv *s, cl_db *db, char *err, size_t errlen);

/* Stop accepting connections, let every command being executed finish and
 * its reply go out (as far as the client's socket takes it without
 * waiting), join the threads, close every connection and free s.  Requests
 * received but not yet started are not executed, so never acknowledged. */
void srv_stop(srv *s);

#endif
