/*
 * crashtest_redis.c - crashtest --target redis: the options of a campaign
 * of redis-server turned into a redis_config (redis.h).
 */
#include <stdio.h>
#include <string.h>

#include "crashtest.h"
#include "redis.h"

int ct_redis(ct_args *a)
{
    static char preload[4200];
    redis_config r = {0};
    int rc;

    if (a->exec_cmd != NULL || a->verify_cmd != NULL || a->c.duration_s > 0 ||
        a->c.exhaustive || a->c.shard_count > 1)
        return ct_usage("--target redis runs --trials trials of its own: no "
                        "--exec, --duration, --exhaustive or --shard");
    if (exec_modes_parse(a->mode_list, EX_ALL_MODES, &r.modes) != 0)
        return ct_usage("with --target redis, --mode is kill-io, torn, "
                        "powerloss, recovery-crash, fsync-fail "
                        "(comma-separated) or all");
    if (redis_fsync_parse(a->redis_fsync ? a->redis_fsync : "always",
                          &r.fsync) != 0)
        return ct_usage("--redis-fsync: always or everysec");
    if ((rc = ct_preload(a->preload, preload, sizeof(preload))) != 0)
        return rc;
    r.server = "redis-server";
    r.check_aof = "redis-check-aof";
    r.preload = preload;
    r.dirbase = a->dirbase;
    r.csv = a->c.csv;
    r.trials = a->c.trials ? a->c.trials : 1000;
    r.replay = a->c.replay;
    r.sector = a->c.env.sector;
    r.persist = a->c.env.persist;
    r.fs = a->c.env.fs;
    r.timeout_s = a->c.env.timeout_s ? a->c.env.timeout_s : 30;
    r.clients = a->c.env.clients;
    r.txns = a->c.env.sets;
    r.jobs = a->c.jobs > 0 ? (unsigned)a->c.jobs : 1;
    r.quiet = a->c.quiet;
    r.stop_at_first = a->c.stop_at_first;
    r.json = a->c.json;
    r.seed = ct_seed(a);
    return redis_run(&r);
}
