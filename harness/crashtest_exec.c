/*
 * crashtest_exec.c - crashtest --exec: the options of a campaign of any
 * program turned into an exec_config (exec.h).
 */
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crashtest.h"
#include "exec.h"

int ct_preload(const char *path, char *buf, size_t len)
{
    char self[4096];
    ssize_t n;

    if (path != NULL) {
        snprintf(buf, len, "%s", path);
        return 0;
    }
    /* next to this program */
    if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) < 0)
        return ct_usage("cannot find this program's folder: give --preload");
    self[n] = '\0';
    snprintf(buf, len, "%s/libcrashlab-preload.so", dirname(self));
    return 0;
}

uint64_t ct_seed(const ct_args *a)
{
    uint64_t seed = a->c.seed;

    if (!a->have_seed)
        seed =
            (uint64_t)getpid() * 0x9e3779b97f4a7c15ULL ^ (uint64_t)time(NULL);
    fprintf(a->c.json ? stderr : stdout, "crashtest: seed 0x%016" PRIx64 "\n",
            seed);
    fflush(NULL);
    return seed;
}

int ct_exec(ct_args *a)
{
    static char preload[4200];
    exec_config e = {0};
    int n;

    if (a->exec_cmd == NULL || a->verify_cmd == NULL)
        return ct_usage("--exec and --verify go together");
    if (a->c.duration_s > 0 || a->server_target || a->c.exhaustive ||
        a->c.shard_count > 1)
        return ct_usage("--exec runs --trials trials of its own program: "
                        "no --duration, --target, --exhaustive or --shard");
    e.exec_cmd = a->exec_cmd;
    e.verify_cmd = a->verify_cmd;
    if (exec_modes_parse(a->mode_list, EX_ALL_MODES, &e.modes) != 0)
        return ct_usage("with --exec, --mode is kill-io, torn, powerloss, "
                        "recovery-crash, fsync-fail (comma-separated) or "
                        "all");
    if ((n = ct_preload(a->preload, preload, sizeof(preload))) != 0)
        return n;
    e.preload = preload;
    e.dirbase = a->dirbase;
    e.csv = a->c.csv;
    e.seed = a->c.seed;
    e.trials = a->c.trials ? a->c.trials : 1000;
    e.replay = a->c.replay;
    e.sector = a->c.env.sector;
    e.persist = a->c.env.persist;
    e.fs = a->c.env.fs;
    e.timeout_s = a->exec_timeout ? a->exec_timeout : 30;
    e.quiet = a->c.quiet;
    e.nondurable = a->nondurable;
    e.stop_at_first = a->c.stop_at_first;
    e.json = a->c.json;
    e.seed = ct_seed(a);
    return exec_run(&e);
}
