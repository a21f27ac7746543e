/*
 * redis.h - crash campaigns of redis-server (`crashtest --target redis`,
 * docs/TARGETS.md): the server runs under the preload object with an
 * append-only file, concurrent clients send SETs, DELs and MULTI/EXEC
 * transactions, the server is crashed at an I/O point (optionally torn, or
 * cut to a power-loss image, or with its recovery crashed too) or meets a
 * failed sync, is restarted on what the crash left, read back, and judged
 * against what each client was acknowledged and what the configuration's
 * appendfsync promises.
 *
 * redis.c runs the campaign and the trials; redis_client.c speaks RESP,
 * runs the clients' workload and reads the keys back.
 */
#ifndef CL_REDIS_H
#define CL_REDIS_H

#include <stddef.h>
#include <stdint.h>

#include "exec.h"
#include "oracle.h"
#include "powerloss.h"

/* appendfsync, one for a campaign. */
typedef enum redis_fsync {
    REDIS_FSYNC_ALWAYS = 0, /* fsync before every reply */
    REDIS_FSYNC_EVERYSEC    /* write before the reply, fsync once a second
                               in a background thread */
} redis_fsync;

/* The setting called name: 0, or -1 (unknown name). */
int redis_fsync_parse(const char *name, redis_fsync *out);
const char *redis_fsync_name(redis_fsync f);
/* What the setting promises (oracle.h): always ack, everysec process. */
oracle_promise redis_fsync_promise(redis_fsync f);

typedef struct redis_config {
    const char *server;    /* redis-server (PATH searched) */
    const char *check_aof; /* redis-check-aof */
    const char *preload;   /* the preload object */
    const char *dirbase;   /* scratch directories go here */
    const char *csv;       /* one row per trial, or NULL; "-": stdout */
    uint64_t seed;
    uint64_t trials;
    int64_t replay;  /* run only this trial, verbosely; -1: all */
    unsigned modes;  /* EX_* bits (exec.h): kill-io, torn, powerloss,
                        recovery-crash, fsync-fail */
    uint32_t sector; /* 512 or 4096 */
    plimg_model persist;
    plimg_fs fs;        /* the file system's promises (--fs-model) */
    uint32_t timeout_s; /* a server start, a client's reply, a stop */
    uint32_t clients;   /* concurrent clients, each on its own keys */
    uint32_t txns;      /* transactions per client */
    unsigned jobs;      /* trials run at once, each by a worker process */
    redis_fsync fsync;
    int quiet;
    int stop_at_first;
    int json; /* the summary as JSON on stdout (report.h's rpt_json), the
                 text on stderr */
} redis_config;

/* Run the campaign.  Returns the exit status: 0 no violation, 1 a
 * violation, 2 a set-up error (after a message naming it on stderr). */
int redis_run(const redis_config *cfg);

/* ---- the clients (redis_client.c) ---- */

#define RD_KEYS 8 /* keys per client: c<client>:k0 .. k7 */

/* What one client declared (before sending) and was acknowledged. */
typedef struct rd_client {
    ex_decl decl;
    char err[160];     /* why it stopped early, other than the server's end
                          or a refusal */
    char refusal[160]; /* the error reply that stopped it, or "": the server
                          refused its last transaction (not acknowledged),
                          as Redis refuses writes after a failed AOF sync */
} rd_client;

/* Run cfg->clients clients against the server at socket path sock, each
 * issuing cfg->txns transactions drawn from seed, one at a time, until it
 * is done, the server is gone, or the server answers one with an error
 * reply (a refusal: that transaction is not acknowledged).  OUT:
 * cl[0..clients).  Returns 0, or an errno (a client could not be started). */
int rd_clients_run(const redis_config *cfg, uint64_t seed, const char *sock,
                   rd_client *cl);

/* PING the server at sock.  Returns 0 (it answered PONG: it listens and
 * has loaded its data), EAGAIN (another answer, such as LOADING), or an
 * errno. */
int rd_ping(const char *sock);

/* Send SHUTDOWN to the server at sock (it syncs the AOF and exits, saving
 * no snapshot where none is configured).  Returns 0 (the server closed
 * the connection), EPROTO (it replied: a refusal) or an errno. */
int rd_shutdown(const char *sock, uint32_t timeout_s);

/* Read back every key of every client from the server at sock into
 * st[0..clients) (the keys of client c, in ex_state form), and the number
 * of keys the server holds.  Returns 0, or -1 with why in err (the server
 * did not answer as it should). */
int rd_read_back(const redis_config *cfg, const char *sock, ex_state *st,
                 uint64_t *dbsize, char *err, size_t errlen);

#endif
