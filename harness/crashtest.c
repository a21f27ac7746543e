/*
 * crashtest - fork-based crash campaigns against a storage engine.
 *
 * Exit status: 0 no violation, 1 at least one violation, 2 usage or set-up
 * error.  See --help and the README.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "campaign.h"
#include "num.h"
#include "crc32c.h"
#include "fiu_ctl.h"
#include "mutants.h"
#include "report.h"
#include "rng.h"
#include "util.h"

static const char *ct_usage_text =
    "usage: crashtest [options]\n"
    "\n"
    "Runs a crash campaign: trials that crash a writer running a workload on\n"
    "the engine, damage what it left, recover in a fresh process and check\n"
    "that nothing acknowledged was lost and nothing half-done is visible.\n"
    "\n"
    "campaign:\n"
    "  --seed S             64-bit campaign seed (decimal or 0x hex); random\n"
    "                       when absent; printed first\n"
    "  --trials N           trials to run (default 1000)\n"
    "  --duration SECONDS   instead: start trials until this much time passed\n"
    "  --jobs J             parallel trials (default: the number of cores)\n"
    "  --mode LIST          kill-io, kill-time, torn, powerloss,\n"
    "                       recovery-crash, comma-separated, or engine (all\n"
    "                       five); error modes: eio, enospc, short-write\n"
    "                       (these three need make FIU=1), fsync-fail, or\n"
    "                       errors (all four); server modes: "
    "server-kill-time,\n"
    "                       server-kill-io, server-torn, server-powerloss, or\n"
    "                       server (all four); all (default): the engine's\n"
    "                       five, with one trial in 127 a server trial\n"
    "  --workload LIST      inserts, overwrite, txn, deletes, large-values,\n"
    "                       checkpoint, mixed, comma-separated, or all\n"
    "                       (default)\n"
    "  --txns N             transactions per workload (default: per workload)\n"
    "  --variants N         workload seeds per workload (default 4)\n"
    "  --max-ops N, --max-value BYTES   caps on transactions' operations and\n"
    "                       values\n"
    "  --threads N          writer threads of every workload variant, 1..8\n"
    "                       (default: one variant in 4 draws 2..8 threads\n"
    "                       that commit at once; its crash trials use them)\n"
    "  --exhaustive         crash the first workload at every I/O point with\n"
    "                       every damage class, and report coverage\n"
    "  --replay TRIAL       run one trial of the campaign again, verbosely\n"
    "  --shrink             with --replay: find a smaller reproducer\n"
    "  --crash-point K      with --replay: crash at I/O point K instead\n"
    "  --shard I/N          run only trials t with t % N == I (the CSVs of\n"
    "                       the N shards concatenate into the campaign's)\n"
    "  --stop-at-first      stop at the first violation (every trial before\n"
    "                       it still runs)\n"
    "damage:\n"
    "  --sector 512|4096    atomic unit of torn writes and power cuts\n"
    "                       (default 512)\n"
    "  --persist MODEL      power-cut model: any-subset, per-file-prefix,\n"
    "                       ordered, drop-unsynced-data, drop-unsynced-files,\n"
    "                       or random (default: one of the first three per\n"
    "                       trial)\n"
    "  --recovery-depth N   recovery-crash: crashes of recovery (default 2)\n"
    "engine:\n"
    "  --sync MODE          off, commit, group (default), periodic\n"
    "  --torn-protection M  none, fpw (default), dwb\n"
    "  --page-size BYTES    4096 (default) .. 65536\n"
    "  --checkpoint-bytes N automatic checkpoint interval (default 64 MiB)\n"
    "  --pool-bytes N       buffer pool size (default 64 MiB; a small pool,\n"
    "                       e.g. 262144, makes pages get written back early)\n"
    "  --target NAME        engine (default); server: kvserver, crashed\n"
    "                       under --clients concurrent clients (--mode then\n"
    "                       names server modes: kill-time, kill-io, torn,\n"
    "                       powerloss); or a deliberately broken test\n"
    "                       target: broken-ack, broken-half, broken-lose,\n"
    "                       server-broken-ack (OK before the commit),\n"
    "                       server-broken-skip (every 10th SET dropped)\n"
    "server trials:\n"
    "  --clients C          concurrent clients, each writing its own keys\n"
    "                       (default 4)\n"
    "  --sets N             SETs per client, at most (default 200)\n"
    "  --kvserver PATH      the server, built with the crash hooks\n"
    "                       (default: kvserver-crash next to this program)\n"
    "  --mutant NAME        switch a bug planted in the engine on (make "
    "FIU=1)\n"
    "  --list-mutants       the planted bugs and the campaigns that should\n"
    "                       catch them: name, mode, options (- for none),\n"
    "                       what it breaks, why none can (- for most);\n"
    "                       tab-separated\n"
    "output:\n"
    "  --dir DIR            where trial directories go (default /dev/shm)\n"
    "  --csv FILE           one row per trial (- for stdout)\n"
    "  --json               the summary as JSON on stdout\n"
    "  --keep-failures DIR  keep the crashed and recovered images of each\n"
    "                       violation, with a description\n"
    "  --quiet              no progress line\n"
    "  -h, --help           this text\n";

enum {
    OPT_SEED = 256,
    OPT_TRIALS,
    OPT_DURATION,
    OPT_JOBS,
    OPT_MODE,
    OPT_WORKLOAD,
    OPT_TXNS,
    OPT_VARIANTS,
    OPT_MAX_OPS,
    OPT_MAX_VALUE,
    OPT_THREADS,
    OPT_EXHAUSTIVE,
    OPT_REPLAY,
    OPT_SHRINK,
    OPT_CRASH_POINT,
    OPT_SHARD,
    OPT_SECTOR,
    OPT_PERSIST,
    OPT_RECOVERY_DEPTH,
    OPT_SYNC,
    OPT_TORN,
    OPT_PAGE_SIZE,
    OPT_CHECKPOINT_BYTES,
    OPT_POOL_BYTES,
    OPT_TARGET,
    OPT_DIR,
    OPT_CSV,
    OPT_JSON,
    OPT_KEEP,
    OPT_QUIET,
    OPT_STOP_AT_FIRST,
    OPT_MUTANT,
    OPT_LIST_MUTANTS,
    OPT_CLIENTS,
    OPT_SETS,
    OPT_KVSERVER,
};

/* The default campaign's share of server trials: one in CT_SERVER_EVERY.
 * A server trial starts kvserver twice and costs some 50 ms on /dev/shm,
 * about 25 engine trials' worth (these verify some 1,000 crash states per
 * second on 2 cores), so the server's trials take about a sixth of the
 * campaign's time.  A prime: the ids it takes fall on every mode and
 * workload in turn. */
#define CT_SERVER_EVERY 127

/* The server targets: kvserver, and two deliberately broken variants of
 * it (KVSERVER_BROKEN, tools/kvserver/crash/kvserver_crashio.c). */
static const struct {
    const char *name, *broken;
} ct_server_targets[] = {
    {"server", NULL},
    {"server-broken-ack", "ack-before-commit"},
    {"server-broken-skip", "skip-10th-set"},
};

/* The server mode an engine crash mode's name stands for under --target
 * server (or the server mode named), or -1. */
static int ct_server_mode(const char *name)
{
    static const char *const as[MODE_SERVER_COUNT] = {"kill-time", "kill-io",
                                                      "torn", "powerloss"};
    trial_mode m;

    for (int i = 0; i < MODE_SERVER_COUNT; i++)
        if (strcmp(name, as[i]) == 0)
            return MODE_SERVER_KILL_TIME + i;
    if (trial_mode_parse(name, &m) == 0 && trial_mode_is_server(m))
        return (int)m;
    return -1;
}

/* kvserver-crash next to this program (the build directory holds both):
 * the server's test-only build, with the crash hooks that server trials
 * drive.  Returns 0 or -1. */
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
    snprintf(buf, len, "%.2000s/kvserver-crash", self);
    return 0;
}

static int ct_usage(const char *msg)
{
    fprintf(stderr, "crashtest: %s\n(crashtest --help for the options)\n", msg);
    return 2;
}

static void ct_append(campaign *c, const char *fmt, const char *val)
{
    size_t n = strlen(c->options);

    snprintf(c->options + n, sizeof(c->options) - n, fmt, val);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"seed", required_argument, NULL, OPT_SEED},
        {"trials", required_argument, NULL, OPT_TRIALS},
        {"duration", required_argument, NULL, OPT_DURATION},
        {"jobs", required_argument, NULL, OPT_JOBS},
        {"mode", required_argument, NULL, OPT_MODE},
        {"workload", required_argument, NULL, OPT_WORKLOAD},
        {"txns", required_argument, NULL, OPT_TXNS},
        {"variants", required_argument, NULL, OPT_VARIANTS},
        {"max-ops", required_argument, NULL, OPT_MAX_OPS},
        {"max-value", required_argument, NULL, OPT_MAX_VALUE},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"exhaustive", no_argument, NULL, OPT_EXHAUSTIVE},
        {"replay", required_argument, NULL, OPT_REPLAY},
        {"shrink", no_argument, NULL, OPT_SHRINK},
        {"crash-point", required_argument, NULL, OPT_CRASH_POINT},
        {"shard", required_argument, NULL, OPT_SHARD},
        {"sector", required_argument, NULL, OPT_SECTOR},
        {"persist", required_argument, NULL, OPT_PERSIST},
        {"recovery-depth", required_argument, NULL, OPT_RECOVERY_DEPTH},
        {"sync", required_argument, NULL, OPT_SYNC},
        {"torn-protection", required_argument, NULL, OPT_TORN},
        {"page-size", required_argument, NULL, OPT_PAGE_SIZE},
        {"checkpoint-bytes", required_argument, NULL, OPT_CHECKPOINT_BYTES},
        {"pool-bytes", required_argument, NULL, OPT_POOL_BYTES},
        {"target", required_argument, NULL, OPT_TARGET},
        {"dir", required_argument, NULL, OPT_DIR},
        {"csv", required_argument, NULL, OPT_CSV},
        {"json", no_argument, NULL, OPT_JSON},
        {"keep-failures", required_argument, NULL, OPT_KEEP},
        {"quiet", no_argument, NULL, OPT_QUIET},
        {"stop-at-first", no_argument, NULL, OPT_STOP_AT_FIRST},
        {"mutant", required_argument, NULL, OPT_MUTANT},
        {"list-mutants", no_argument, NULL, OPT_LIST_MUTANTS},
        {"clients", required_argument, NULL, OPT_CLIENTS},
        {"sets", required_argument, NULL, OPT_SETS},
        {"kvserver", required_argument, NULL, OPT_KVSERVER},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    campaign c;
    const char *dirbase = "/dev/shm", *mode_list = "all",
               *workload_list = "all";
    char scratch[2900], kvpath[2100];
    int have_seed = 0, opt, rc, server_target = 0, server_trials = 0;
    uint64_t v;

    /* Every crash state is judged in a freshly forked process, and with
     * lazy binding each of them would look up again every library function
     * it calls (writing, and so copying, the pages that hold the bindings).
     * Binding them all once, before the first fork, spares that: run again
     * with LD_BIND_NOW set (if the exec fails, go on lazily). */
    if (getenv("LD_BIND_NOW") == NULL && setenv("LD_BIND_NOW", "1", 1) == 0)
        execv("/proc/self/exe", argv);
    memset(&c, 0, sizeof(c));
    rpt_program = argv[0];
    /* ISA-L picks its CRC routine on first use (cpuid, slow in a VM):
     * choose it once here so every forked child inherits the choice. */
    (void)crc32c("crashlab", 8);
    c.replay = -1;
    c.variants = 4;
    c.jobs = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (c.jobs < 1)
        c.jobs = 1;
    c.env.target = target_find("engine");
    c.env.sector = 512;
    c.env.persist = PLIMG_RANDOM;
    c.env.recovery_depth = 2;
    c.env.clients = 4;
    c.env.sets = 200;
    if (access("/dev/shm", W_OK) != 0)
        dirbase = "/tmp";

    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (opt) {
        case OPT_SEED:
            if (num_parse_u64(optarg, 0, &c.seed) != 0)
                return ct_usage("--seed needs a number");
            have_seed = 1;
            break;
        case OPT_TRIALS:
            if (num_parse_u64(optarg, 0, &c.trials) != 0 || c.trials == 0)
                return ct_usage("--trials needs a positive number");
            break;
        case OPT_DURATION:
            if (num_parse_double(optarg, &c.duration_s) != 0 ||
                c.duration_s <= 0)
                return ct_usage("--duration needs a positive number");
            break;
        case OPT_JOBS:
            if (num_parse_u64(optarg, 0, &v) != 0 || v == 0 || v > 256)
                return ct_usage("--jobs needs a number in 1..256");
            c.jobs = (int)v;
            break;
        case OPT_MODE:
            mode_list = optarg;
            break;
        case OPT_WORKLOAD:
            workload_list = optarg;
            break;
        case OPT_TXNS:
            if (num_parse_u64(optarg, 0, &v) != 0 || v == 0 || v > 1000000)
                return ct_usage("--txns needs a number in 1..1000000");
            c.txns = (uint32_t)v;
            ct_append(&c, " --txns %s", optarg);
            break;
        case OPT_VARIANTS:
            if (num_parse_u64(optarg, 0, &v) != 0 || v == 0 ||
                v > CAMPAIGN_MAX_VARIANTS)
                return ct_usage("--variants needs a number in 1..16");
            c.variants = (uint32_t)v;
            ct_append(&c, " --variants %s", optarg);
            break;
        case OPT_MAX_OPS:
            if (num_parse_u64(optarg, 0, &v) != 0 || v == 0 || v > WL_MAX_OPS)
                return ct_usage("--max-ops needs a number in 1..32");
            c.max_ops = (uint32_t)v;
            ct_append(&c, " --max-ops %s", optarg);
            break;
        case OPT_THREADS:
            if (num_parse_u64(optarg, 0, &v) != 0 || v == 0 ||
                v > WL_MAX_THREADS)
                return ct_usage("--threads needs a number in 1..8");
            c.threads = (uint32_t)v;
            ct_append(&c, " --threads %s", optarg);
            break;
        case OPT_MAX_VALUE:
            if (num_parse_u64(optarg, 0, &v) != 0 || v > CL_VALUE_MAX)
                return ct_usage("--max-value needs a number up to 65536");
            c.max_value = (uint32_t)v;
            ct_append(&c, " --max-value %s", optarg);
            break;
        case OPT_EXHAUSTIVE:
            c.exhaustive = 1;
            ct_append(&c, "%s", " --exhaustive");
            break;
        case OPT_REPLAY:
            if (num_parse_u64(optarg, 0, &v) != 0 || v > INT64_MAX)
                return ct_usage("--replay needs a trial number");
            c.replay = (int64_t)v;
            break;
        case OPT_SHRINK:
            c.shrink = 1;
            break;
        case OPT_CRASH_POINT:
            if (num_parse_u64(optarg, 0, &c.crash_point) != 0 ||
                c.crash_point == 0)
                return ct_usage("--crash-point needs a positive number");
            break;
        case OPT_SHARD: {
            unsigned long long i, n;
            char extra;
            if (sscanf(optarg, "%llu/%llu%c", &i, &n, &extra) != 2 || n == 0 ||
                i >= n)
                return ct_usage("--shard needs I/N with I < N");
            c.shard_index = i;
            c.shard_count = n;
            break;
        }
        case OPT_SECTOR:
            if (num_parse_u64(optarg, 0, &v) != 0 || (v != 512 && v != 4096))
                return ct_usage("--sector is 512 or 4096");
            c.env.sector = (uint32_t)v;
            ct_append(&c, " --sector %s", optarg);
            break;
        case OPT_PERSIST:
            if (plimg_model_parse(optarg, &c.env.persist) != 0)
                return ct_usage("--persist: any-subset, per-file-prefix, "
                                "ordered, drop-unsynced-data, "
                                "drop-unsynced-files or random");
            ct_append(&c, " --persist %s", optarg);
            break;
        case OPT_RECOVERY_DEPTH:
            if (num_parse_u64(optarg, 0, &v) != 0 || v == 0 || v > 16)
                return ct_usage("--recovery-depth needs a number in 1..16");
            c.env.recovery_depth = (uint32_t)v;
            ct_append(&c, " --recovery-depth %s", optarg);
            break;
        case OPT_SYNC:
            if (cl_sync_parse(optarg, &c.env.eng.sync) != 0)
                return ct_usage("--sync: off, commit, group or periodic");
            ct_append(&c, " --sync %s", optarg);
            break;
        case OPT_TORN:
            if (cl_torn_parse(optarg, &c.env.eng.torn) != 0)
                return ct_usage("--torn-protection: none, fpw or dwb");
            ct_append(&c, " --torn-protection %s", optarg);
            break;
        case OPT_PAGE_SIZE:
            if (num_parse_u64(optarg, 0, &v) != 0 || v < 4096 || v > 65536 ||
                (v & (v - 1)) != 0)
                return ct_usage("--page-size: a power of two, 4096..65536");
            c.env.eng.page_size = (uint32_t)v;
            ct_append(&c, " --page-size %s", optarg);
            break;
        case OPT_CHECKPOINT_BYTES:
            if (num_parse_u64(optarg, 0, &v) != 0 || v == 0)
                return ct_usage("--checkpoint-bytes needs a positive number");
            c.env.eng.checkpoint_bytes = v;
            ct_append(&c, " --checkpoint-bytes %s", optarg);
            break;
        case OPT_POOL_BYTES:
            if (num_parse_u64(optarg, 0, &v) != 0 || v < (256u << 10))
                return ct_usage("--pool-bytes needs a number >= 262144");
            c.env.eng.pool_bytes = v;
            ct_append(&c, " --pool-bytes %s", optarg);
            break;
        case OPT_TARGET:
            /* a server target keeps the engine as the target of the
             * structure check of the server's files */
            c.env.target = target_find("engine");
            server_target = 0;
            for (size_t i = 0;
                 i < sizeof(ct_server_targets) / sizeof(ct_server_targets[0]);
                 i++)
                if (strcmp(optarg, ct_server_targets[i].name) == 0) {
                    server_target = 1;
                    c.env.server_broken = ct_server_targets[i].broken;
                }
            if (!server_target)
                c.env.target = target_find(optarg);
            if (c.env.target == NULL)
                return ct_usage("unknown --target");
            c.target_name = optarg;
            ct_append(&c, " --target %s", optarg);
            break;
        case OPT_CLIENTS:
            if (num_parse_u64(optarg, 0, &v) != 0 || v == 0 || v > 200)
                return ct_usage("--clients needs a number in 1..200");
            c.env.clients = (uint32_t)v;
            ct_append(&c, " --clients %s", optarg);
            break;
        case OPT_SETS:
            if (num_parse_u64(optarg, 0, &v) != 0 || v == 0 || v > 100000)
                return ct_usage("--sets needs a number in 1..100000");
            c.env.sets = (uint32_t)v;
            ct_append(&c, " --sets %s", optarg);
            break;
        case OPT_KVSERVER:
            c.env.kvserver = optarg;
            ct_append(&c, " --kvserver %s", optarg);
            break;
        case OPT_DIR:
            dirbase = optarg;
            break;
        case OPT_CSV:
            c.csv = optarg;
            break;
        case OPT_JSON:
            c.json = 1;
            break;
        case OPT_KEEP:
            c.env.keep_dir = optarg;
            break;
        case OPT_QUIET:
            c.quiet = 1;
            break;
        case OPT_STOP_AT_FIRST:
            c.stop_at_first = 1;
            break;
        case OPT_MUTANT:
            if (mutant_find(optarg) == NULL)
                return ct_usage("unknown --mutant (see --list-mutants)");
            c.mutant = optarg;
            ct_append(&c, " --mutant %s", optarg);
            break;
        case OPT_LIST_MUTANTS:
            for (const mutant_info *m = mutant_all(); m->name != NULL; m++)
                for (int i = 0; i < MUTANT_MAX_CAMPAIGNS; i++)
                    if (m->campaigns[i].mode != NULL)
                        printf("%s\t%s\t%s\t%s\t%s\n", m->name,
                               m->campaigns[i].mode,
                               m->campaigns[i].options[0]
                                   ? m->campaigns[i].options
                                   : "-",
                               m->breaks, m->equivalent ? m->equivalent : "-");
            return 0;
        case 'h':
            fputs(ct_usage_text, stdout);
            return 0;
        default:
            return ct_usage("bad option");
        }
    }
    if (optind < argc)
        return ct_usage("unexpected argument");
    if (c.trials > 0 && c.duration_s > 0)
        return ct_usage("--trials and --duration exclude each other");
    if ((c.shrink || c.crash_point) && c.replay < 0)
        return ct_usage("--shrink and --crash-point go with --replay");
    if (c.trials == 0 && c.duration_s == 0)
        c.trials = 1000;
    if (c.env.eng.sync == CL_SYNC_DEFAULT)
        c.env.eng.sync = CL_SYNC_GROUP;
    if (c.env.eng.torn == CL_TORN_DEFAULT)
        c.env.eng.torn = CL_TORN_FPW;

    /* modes ("all": the crash modes, and one trial in CT_SERVER_EVERY on
     * the server, or with a server target the server modes; "engine": the
     * crash modes; "errors": the error modes; "server": the server modes) */
    if (c.target_name == NULL)
        c.target_name = c.env.target->name;
    if (strcmp(mode_list, "all") == 0 && server_target) {
        for (int i = 0; i < MODE_SERVER_COUNT; i++)
            c.modes[c.nmodes++] = (trial_mode)(MODE_SERVER_KILL_TIME + i);
    } else if (strcmp(mode_list, "all") == 0) {
        for (int i = 0; i < MODE_CRASH_COUNT; i++)
            c.modes[c.nmodes++] = (trial_mode)i;
        /* The server trials test kvserver's engine, not a broken target's
         * nor a mutant's (the exec'd server does not inherit libfiu's
         * state): only the engine's campaigns get them. */
        if (strcmp(c.env.target->name, "engine") == 0 && c.mutant == NULL &&
            !c.exhaustive)
            c.server_every = CT_SERVER_EVERY;
    } else {
        char buf[512], *save = NULL;
        trial_mode m;
        int sm;
        snprintf(buf, sizeof(buf), "%s", mode_list);
        for (char *t = strtok_r(buf, ",", &save); t != NULL;
             t = strtok_r(NULL, ",", &save)) {
            int first = -1, last = -1;
            if (strcmp(t, "errors") == 0 && !server_target) {
                first = MODE_EIO;
                last = MODE_FSYNC_FAIL;
            } else if (strcmp(t, "engine") == 0 && !server_target) {
                first = 0;
                last = MODE_CRASH_COUNT - 1;
            } else if (strcmp(t, "server") == 0) {
                first = MODE_SERVER_KILL_TIME;
                last = MODE_COUNT - 1;
            } else if (server_target) {
                if ((sm = ct_server_mode(t)) < 0)
                    return ct_usage("--mode of --target server: kill-time, "
                                    "kill-io, torn, powerloss (or their "
                                    "server- names), server or all");
                first = last = sm;
            } else if (trial_mode_parse(t, &m) == 0) {
                first = last = (int)m;
            } else {
                return ct_usage("--mode: kill-io, kill-time, torn, "
                                "powerloss, recovery-crash, eio, enospc, "
                                "short-write, fsync-fail, server-kill-time, "
                                "server-kill-io, server-torn, "
                                "server-powerloss, all, engine, errors or "
                                "server");
            }
            if (c.nmodes + (last - first + 1) > MODE_COUNT)
                return ct_usage("--mode: too many modes");
            for (int i = first; i <= last; i++)
                c.modes[c.nmodes++] = (trial_mode)i;
        }
        ct_append(&c, " --mode %s", mode_list);
    }
    for (int i = 0; i < c.nmodes; i++)
        server_trials |= trial_mode_is_server(c.modes[i]);
    if (c.server_every > 0)
        server_trials = 1;
    if (server_trials && c.exhaustive)
        return ct_usage("--exhaustive crashes the engine, not the server");
    if (server_trials && c.env.kvserver == NULL) {
        if (ct_default_kvserver(kvpath, sizeof(kvpath)) != 0)
            return ct_usage("cannot find kvserver: give --kvserver PATH");
        c.env.kvserver = kvpath;
    }
    if (server_trials && access(c.env.kvserver, X_OK) != 0) {
        fprintf(stderr,
                "crashtest: server trials run %s, which cannot be run (%s): "
                "make builds it, or give --kvserver PATH (or --mode engine: "
                "no server trials)\n",
                c.env.kvserver, strerror(errno));
        return 2;
    }
    for (int i = 0; i < c.nmodes; i++) {
        if (!trial_mode_needs_fiu(c.modes[i]))
            continue;
        if (!fiuctl_available()) {
            fprintf(stderr,
                    "crashtest: mode %s injects errors through libfiu and "
                    "needs the fault-injection build: make FIU=1, then run "
                    "build-fiu/crashtest\n",
                    trial_mode_name(c.modes[i]));
            return 2;
        }
        c.env.count_fiu = 1;
    }
    if (c.mutant != NULL) {
        if (!fiuctl_available()) {
            fprintf(stderr, "crashtest: --mutant needs the fault-injection "
                            "build: make FIU=1, then run "
                            "build-fiu/crashtest\n");
            return 2;
        }
        /* Before any fork: every writer, recovery and verifier the
         * campaign forks runs the mutated engine. */
        if ((rc = fiuctl_mutant(c.mutant)) != 0) {
            fprintf(stderr, "crashtest: cannot enable mutant/%s: %s\n",
                    c.mutant, strerror(rc));
            return 2;
        }
    }
    /* workloads */
    if (strcmp(workload_list, "all") == 0) {
        for (int i = 0; i < WL_KINDS; i++)
            c.kinds[c.nkinds++] = (wl_kind)i;
    } else {
        char buf[512], *save = NULL;
        snprintf(buf, sizeof(buf), "%s", workload_list);
        for (char *t = strtok_r(buf, ",", &save); t != NULL;
             t = strtok_r(NULL, ",", &save)) {
            if (c.nkinds == WL_KINDS || wl_parse(t, &c.kinds[c.nkinds]) != 0)
                return ct_usage("--workload: inserts, overwrite, txn, "
                                "deletes, large-values, checkpoint, mixed "
                                "or all");
            c.nkinds++;
        }
        ct_append(&c, " --workload %s", workload_list);
    }
    if (c.nmodes == 0 || c.nkinds == 0)
        return ct_usage("no mode or no workload");

    if (!have_seed) {
        while (getrandom(&c.seed, sizeof(c.seed), 0) != sizeof(c.seed))
            c.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    }
    fprintf(c.json ? stderr : stdout, "crashtest: seed 0x%016" PRIx64 "\n",
            c.seed);
    fflush(NULL);

    snprintf(scratch, sizeof(scratch), "%.2800s/crashtest-XXXXXX", dirbase);
    if (fs_mkdirs(dirbase) != 0 || mkdtemp(scratch) == NULL) {
        fprintf(stderr, "crashtest: cannot make a directory in %s: %s\n",
                dirbase, strerror(errno));
        return 2;
    }
    snprintf(c.dir, sizeof(c.dir), "%s", scratch);
    if (campaign_prepare(&c) != 0) {
        fs_rmrf(c.dir);
        campaign_free(&c);
        return 2;
    }
    if (c.exhaustive)
        fprintf(c.json ? stderr : stdout,
                "crashtest: exhaustive: workload %s, %" PRIu64
                " I/O points (%" PRIu64 " pwrites): %" PRIu64 " trials\n",
                wl_name(c.kinds[0]), c.profiles[0].points,
                c.profiles[0].npwrites, c.exhaustive_total);
    rc = campaign_run(&c);
    fs_rmrf(c.dir);
    campaign_free(&c);
    return rc;
}
