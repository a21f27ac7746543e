/*
 * crashtest_modes.c - from the options to the campaign: the defaults the
 * options leave open, the mode and workload lists expanded, and what the
 * modes need (kvserver, the fault-injection build, a planted bug switched
 * on before any fork).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "crashtest.h"
#include "fiu_ctl.h"

/* The default campaign's share of server trials: one in CT_SERVER_EVERY.
 * A server trial starts kvserver twice and costs some 50 ms on /dev/shm,
 * about 25 engine trials' worth (these verify some 1,000 crash states per
 * second on 2 cores), so the server's trials take about a sixth of the
 * campaign's time.  A prime: the ids it takes fall on every mode and
 * workload in turn. */
#define CT_SERVER_EVERY 127

/* The names --mode takes for groups of modes. */
static const struct {
    const char *name;
    unsigned groups;
} ct_mode_groups[] = {
    {"engine", MODE_GROUP_ENGINE},
    {"errors", MODE_GROUP_ERRORS},
    {"server", MODE_GROUP_SERVER},
};

/* kvserver-crash, the server's test-only build with the crash hooks that
 * server trials drive: next to this program (the build directory holds
 * both), else in ../libexec/crashlab/ beside this program's folder (where
 * make install and the Debian package put it, for any PREFIX).
 * Returns 0 or -1. */
static int ct_default_kvserver(char *buf, size_t len)
{
    char self[2048];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    char *slash;

    if (n <= 0)
        return -1;
    self[n] = '\0';
    if ((slash = strrchr(self, '/')) == NULL)
        return -1;
    *slash = '\0';
    snprintf(buf, len, "%.2000s/../libexec/crashlab/kvserver-crash", self);
    if (access(buf, X_OK) == 0)
        return 0;
    snprintf(buf, len, "%.2000s/kvserver-crash", self);
    return 0;
}

/* Add the modes of one name of the --mode list.  Returns 0, or 2 after a
 * message. */
static int ct_add_modes(ct_args *a, const char *t)
{
    campaign *c = &a->c;
    trial_mode add[MODE_COUNT];
    int n = 0;

    for (size_t i = 0; i < sizeof(ct_mode_groups) / sizeof(ct_mode_groups[0]);
         i++)
        if (strcmp(t, ct_mode_groups[i].name) == 0 &&
            (!a->server_target ||
             ct_mode_groups[i].groups == MODE_GROUP_SERVER))
            n = trial_modes_of(ct_mode_groups[i].groups, add);
    if (n == 0 && a->server_target) {
        if (trial_mode_parse_server(t, &add[0]) != 0)
            return ct_usage("--mode of --target server: kill-time, kill-io, "
                            "torn, powerloss (or their server- names), "
                            "server or all");
        n = 1;
    } else if (n == 0) {
        if (trial_mode_parse(t, &add[0]) != 0)
            return ct_usage(
                "--mode: kill-io, kill-time, torn, powerloss, "
                "recovery-crash, chain, eio, enospc, "
                "short-write, "
                "fsync-fail, write-fail, server-kill-time, server-kill-io, "
                "server-torn, server-powerloss, all, engine, "
                "errors or server");
        n = 1;
    }
    if (c->nmodes + n > MODE_COUNT)
        return ct_usage("--mode: too many modes");
    for (int i = 0; i < n; i++)
        c->modes[c->nmodes++] = add[i];
    return 0;
}

/* The modes ("all": the default mix, and one trial in CT_SERVER_EVERY on
 * the server, or with a server target the server modes).  Returns 0 or
 * 2. */
static int ct_expand_modes(ct_args *a)
{
    campaign *c = &a->c;
    char buf[512], *save = NULL;
    size_t n;
    int rc;

    if (strcmp(a->mode_list, "all") == 0) {
        c->nmodes = trial_modes_of(
            a->server_target ? MODE_GROUP_SERVER : MODE_GROUP_ALL, c->modes);
        /* The server trials test kvserver's engine, not a broken
         * target's: only the engine's campaigns get them. */
        if (!a->server_target && strcmp(c->env.target->name, "engine") == 0 &&
            !c->exhaustive)
            c->server_every = CT_SERVER_EVERY;
        return 0;
    }
    snprintf(buf, sizeof(buf), "%s", a->mode_list);
    for (char *t = strtok_r(buf, ",", &save); t != NULL;
         t = strtok_r(NULL, ",", &save))
        if ((rc = ct_add_modes(a, t)) != 0)
            return rc;
    n = strlen(c->options);
    snprintf(c->options + n, sizeof(c->options) - n, " --mode %s",
             a->mode_list);
    return 0;
}

/* The workload kinds.  Returns 0 or 2. */
static int ct_expand_workloads(ct_args *a)
{
    campaign *c = &a->c;
    char buf[512], *save = NULL;
    size_t n;

    if (strcmp(a->workload_list, "all") == 0) {
        for (int i = 0; i < WL_KINDS; i++)
            c->kinds[c->nkinds++] = (wl_kind)i;
        return 0;
    }
    snprintf(buf, sizeof(buf), "%s", a->workload_list);
    for (char *t = strtok_r(buf, ",", &save); t != NULL;
         t = strtok_r(NULL, ",", &save)) {
        if (c->nkinds == WL_KINDS || wl_parse(t, &c->kinds[c->nkinds]) != 0)
            return ct_usage("--workload: inserts, overwrite, txn, deletes, "
                            "large-values, checkpoint, mixed or all");
        c->nkinds++;
    }
    n = strlen(c->options);
    snprintf(c->options + n, sizeof(c->options) - n, " --workload %s",
             a->workload_list);
    return 0;
}

/* What the modes need: kvserver for server trials, the fault-injection
 * build for libfiu's modes.  Returns 0 or 2. */
static int ct_check_needs(ct_args *a)
{
    campaign *c = &a->c;
    int server_trials = c->server_every > 0;

    for (int i = 0; i < c->nmodes; i++)
        server_trials |= trial_mode_is_server(c->modes[i]);
    if (server_trials && c->exhaustive)
        return ct_usage("--exhaustive crashes the engine, not the server");
    if (server_trials && c->env.kvserver == NULL) {
        if (ct_default_kvserver(a->kvserver, sizeof(a->kvserver)) != 0)
            return ct_usage("cannot find kvserver: give --kvserver PATH");
        c->env.kvserver = a->kvserver;
    }
    /* A campaign only described again (--merge) runs nothing here. */
    if (a->describe_only)
        return 0;
    if (server_trials && access(c->env.kvserver, X_OK) != 0) {
        fprintf(stderr,
                "crashtest: server trials run %s, which cannot be run (%s): "
                "make builds it, or give --kvserver PATH (or --mode engine: "
                "no server trials)\n",
                c->env.kvserver, strerror(errno));
        return 2;
    }
    for (int i = 0; i < c->nmodes; i++) {
        if (!trial_mode_needs_fiu(c->modes[i]))
            continue;
        if (!fiuctl_available()) {
            fprintf(stderr,
                    "crashtest: mode %s injects errors through libfiu and "
                    "needs the fault-injection build: make FIU=1, then run "
                    "build-fiu/crashtest\n",
                    trial_mode_name(c->modes[i]));
            return 2;
        }
        c->env.count_fiu = 1;
    }
    return 0;
}

/* An interposed target (target.h) runs the crash modes whose writer
 * needs nothing but the crash core: kill-io, kill-time, torn and
 * powerloss ("all" means these), and, if it declares what a crashed
 * recovery and a failed sync owe (target_ops.rcrash_fsync_fail),
 * recovery-crash and fsync-fail (in "all" too) and chain (on request
 * only: its links cost each trial several runs of the workload, and a
 * target's default campaign stays what it was), with one writer thread.
 * A target whose own threads work beside the writer (background) runs
 * no fsync-fail.
 * Returns 0, or 2 after a message. */
static int ct_check_interposed(ct_args *a)
{
    campaign *c = &a->c;
    static const trial_mode ok[] = {
        MODE_KILL_IO,        MODE_KILL_TIME,  MODE_TORN, MODE_POWERLOSS,
        MODE_RECOVERY_CRASH, MODE_FSYNC_FAIL, MODE_CHAIN};
    int full = c->env.target->rcrash_fsync_fail;
    size_t nok = full ? 7 : 4, nall = full ? 6 : 4;

    if (!c->env.target->interposed)
        return 0;
    if (c->threads > 1) {
        fprintf(stderr,
                "crashtest: --target %s runs one writer thread; "
                "--threads over 1 is not supported yet\n",
                c->env.target->name);
        return 2;
    }
    c->threads = 1;
    c->env.nondurable = a->nondurable;
    if (strcmp(a->mode_list, "all") == 0) {
        c->nmodes = 0;
        for (size_t i = 0; i < nall; i++)
            c->modes[c->nmodes++] = ok[i];
        return 0;
    }
    for (int i = 0; i < c->nmodes; i++) {
        int found = 0;
        for (size_t j = 0; j < nok; j++)
            found |= c->modes[i] == ok[j];
        if (!found) {
            fprintf(stderr,
                    "crashtest: --target %s cannot run mode %s yet (its "
                    "writer runs under the libc interposer): kill-io, "
                    "kill-time, torn, powerloss%s only\n",
                    c->env.target->name, trial_mode_name(c->modes[i]),
                    full ? ", recovery-crash, fsync-fail and chain" : "");
            return 2;
        }
    }
    return 0;
}

int ct_expand(ct_args *a)
{
    campaign *c = &a->c;
    int rc;

    if (c->trials > 0 && c->duration_s > 0)
        return ct_usage("--trials and --duration exclude each other");
    if ((c->shrink || c->crash_point || c->fail_at) && c->replay < 0)
        return ct_usage("--shrink, --crash-point and --fail-at go with "
                        "--replay");
    if (c->trials == 0 && c->duration_s == 0)
        c->trials = 1000;
    /* What the options pinned, before the defaults fill the rest: the
     * swarm draws only the others. */
    c->swarm = !a->no_swarm;
    c->pins.eng = c->env.eng;
    c->pins.txns = c->txns;
    if (c->env.eng.sync == CL_SYNC_DEFAULT)
        c->env.eng.sync = CL_SYNC_GROUP;
    if (c->env.eng.torn == CL_TORN_DEFAULT)
        c->env.eng.torn = CL_TORN_FPW;
    if (c->env.eng.checkpoint_mode == CL_CKPT_DEFAULT)
        c->env.eng.checkpoint_mode = CL_CKPT_INLINE;
    if (c->target_name == NULL)
        c->target_name = c->env.target->name;
    if ((rc = ct_expand_modes(a)) != 0 || (rc = ct_check_interposed(a)) != 0 ||
        (rc = ct_check_needs(a)) != 0 || (rc = ct_expand_workloads(a)) != 0)
        return rc;
    if (c->nmodes == 0 || c->nkinds == 0)
        return ct_usage("no mode or no workload");
    return 0;
}
