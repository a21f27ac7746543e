/*
 * crashtest_opts.c - crashtest's options: one table row per option, saying
 * where its value goes, its bounds and its error message, and whether it
 * defines the trials (then it is repeated in every replay command line).
 */
#include <getopt.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "num.h"
#include "crashtest.h"
#include "report.h"

static const char *ct_usage_text =
    "usage: crashtest [options]\n"
    "       crashtest --merge [--json] [--csv FILE] FILE...\n"
    "\n"
    "Runs a crash campaign: trials that crash a writer running a workload on\n"
    "the engine, damage what it left, recover in another process and check\n"
    "that nothing acknowledged was lost and nothing half-done is visible.\n"
    "\n"
    "campaign:\n"
    "  --seed S             64-bit campaign seed (decimal or 0x hex); random\n"
    "                       when absent; printed first\n"
    "  --trials N           trials to run (default 1000)\n"
    "  --duration SECONDS   instead: start trials until this much time passed\n"
    "  --jobs J             parallel trials (default: the number of cores)\n"
    "  --mode LIST          kill-io, kill-time, torn, powerloss,\n"
    "                       recovery-crash, chain, comma-separated, or engine\n"
    "                       (all six); error modes: eio, enospc, short-write\n"
    "                       (these three need make FIU=1), fsync-fail,\n"
    "                       write-fail, or errors (all five); server modes:\n"
    "                       server-kill-time, server-kill-io, server-torn,\n"
    "                       server-powerloss, or server (all four); all\n"
    "                       (default): the engine's six, fsync-fail and\n"
    "                       write-fail, with one trial in 127 a server trial\n"
    "  --workload LIST      inserts, overwrite, txn, deletes, large-values,\n"
    "                       checkpoint, mixed, comma-separated, or all\n"
    "                       (default)\n"
    "  --txns N             transactions per workload (default: drawn per\n"
    "                       variant from the workload's own size)\n"
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
    "  --fail-at K          with --replay of fsync-fail: fail the sync at\n"
    "                       I/O point K instead\n"
    "  --shard I/N          run only trials t with t % N == I (the CSVs of\n"
    "                       the N shards concatenate into the campaign's)\n"
    "  --merge FILE...      put the shards of one campaign together: the\n"
    "                       --json summary and the --csv file of every\n"
    "                       shard; prints the summary one run of them all\n"
    "                       prints (exit 2 if they are not one campaign's\n"
    "                       shards, each once, all of them)\n"
    "  --stop-at-first      stop at the first violation (every trial before\n"
    "                       it still runs)\n"
    "damage:\n"
    "  --sector 512|4096    atomic unit of torn writes and power cuts\n"
    "                       (default 512)\n"
    "  --persist MODEL      power-cut model: any-subset, per-file-prefix,\n"
    "                       ordered, drop-unsynced-data, drop-unsynced-files,\n"
    "                       or random (default: one of the first three per\n"
    "                       trial; any-subset where an unsynced truncate\n"
    "                       is followed by a write into what it cut)\n"
    "  --fs-model FS        what the file system promises beside the\n"
    "                       device: posix-strict (default: a file's data\n"
    "                       and its directory entry need their own syncs)\n"
    "                       or ext4-ordered (ext4's defaults: an fsync\n"
    "                       keeps the file's creation; a rename over a\n"
    "                       file carries the new file's data)\n"
    "  --recovery-depth N   recovery-crash: crashes of recovery (default 2)\n"
    "engine (by default each workload variant draws these, and its size\n"
    "and shape, from its seed: swarm testing; an option pins its setting):\n"
    "  --sync MODE          off, commit, group, periodic\n"
    "  --torn-protection M  none, fpw, dwb\n"
    "  --page-size BYTES    a power of two, 4096..65536\n"
    "  --checkpoint-bytes N automatic checkpoint interval\n"
    "  --checkpoint-mode M  inline, spread, background\n"
    "  --pool-bytes N       buffer pool size, at least 262144\n"
    "  --segment-bytes N    log segment size, 65536..1073741824\n"
    "  --no-swarm           no draw: what is not pinned is the engine's\n"
    "                       default (sync group, fpw, 4 KiB pages, 64 MiB\n"
    "                       pool and checkpoint interval, 16 MiB segments)\n"
    "                       and the workload's default size\n"
    "  --target NAME        engine (default); server: kvserver, crashed\n"
    "                       under --clients concurrent clients (--mode then\n"
    "                       names server modes: kill-time, kill-io, torn,\n"
    "                       powerloss); or a deliberately broken test\n"
    "                       target: broken-ack, broken-half, broken-lose,\n"
    "                       broken-follower, broken-nosync, broken-sync,\n"
    "                       broken-claim, broken-rckpt, broken-abort,\n"
    "                       broken-hang,\n"
    "                       server-broken-ack (OK before the commit),\n"
    "                       server-broken-skip (every 10th SET dropped);\n"
    "                       sqlite, lmdb, leveldb, rocksdb: SQLite, LMDB,\n"
    "                       LevelDB or RocksDB\n"
    "                       crashed through the libc interposer (modes\n"
    "                       kill-io, kill-time, torn, powerloss,\n"
    "                       recovery-crash: the library's recovery at\n"
    "                       open crashed, fsync-fail: an fsync failed\n"
    "                       with EIO, which the call that made it must\n"
    "                       return, and when asked chain: the recovered\n"
    "                       process goes on and is crashed again;\n"
    "                       docs/TARGETS.md)\n"
    "  --sqlite-journal J   sqlite: journal_mode delete (default),\n"
    "                       truncate, persist or wal\n"
    "  --sqlite-sync S      sqlite: synchronous off, normal, full (default)\n"
    "                       or extra\n"
    "  --lmdb-flags F       lmdb: default, nometasync or nosync\n"
    "  --leveldb-sync S     leveldb: true (default), false, or mixed (only\n"
    "                       the writes a sync call follows sync)\n"
    "  --rocksdb-sync S     rocksdb: true (default), false, or mixed (as\n"
    "                       --leveldb-sync)\n"
    "  --rocksdb-profile P  rocksdb: deterministic (default: no background\n"
    "                       work races the writer) or background (flushes\n"
    "                       and compactions in RocksDB's threads; a replay\n"
    "                       repeats the parameters, not the interleaving)\n"
    "  --target redis       redis-server (7, Debian's) run under the\n"
    "                       interposer with an append-only file, --clients\n"
    "                       clients of --sets transactions each (SET, DEL,\n"
    "                       MULTI/EXEC); --mode: kill-io, torn, powerloss,\n"
    "                       recovery-crash, fsync-fail or all; restarted on\n"
    "                       the crash image, read back, redis-check-aof\n"
    "                       (docs/TARGETS.md)\n"
    "  --redis-fsync F      redis: appendfsync always (default) or everysec\n"
    "any program (docs/TARGETS.md):\n"
    "  --exec 'PROG {dir}'  crash PROG, run under the interposer on a fresh\n"
    "                       directory {dir}, declaring and acknowledging\n"
    "                       its transactions on fd 3 (crashlab_ack.h);\n"
    "                       words split at spaces, no shell; --mode then\n"
    "                       names kill-io, torn, powerloss, recovery-crash\n"
    "                       (PROG2's open crashed), fsync-fail or all\n"
    "  --verify 'PROG2 {dir}'  after the crash, print the recovered state\n"
    "                       as KEY<TAB>VALUE lines (escaped)\n"
    "  --preload PATH       the interposer (default: libcrashlab-preload.so\n"
    "                       next to this program)\n"
    "  --exec-timeout SECONDS  each run of PROG or PROG2 (default 30)\n"
    "  --nondurable LIST    file name suffixes PROG (or an interposed\n"
    "                       --target, instead of its own list) may map\n"
    "                       shared and writable (e.g. -shm: an index\n"
    "                       rebuilt after a crash); comma-separated, at\n"
    "                       most 4\n"
    "server trials:\n"
    "  --clients C          concurrent clients, each writing its own keys\n"
    "                       (default 4)\n"
    "  --sets N             SETs per client, at most (default 200)\n"
    "  --kvserver PATH      the server, built with the crash hooks\n"
    "                       (default: kvserver-crash next to this program,\n"
    "                       or in ../libexec/crashlab/ beside its folder)\n"
    "output:\n"
    "  --dir DIR            where trial directories go (default /dev/shm)\n"
    "  --csv FILE           one row per trial (- for stdout)\n"
    "  --json               the summary as JSON on stdout\n"
    "  --keep-failures DIR  keep the crashed and recovered images of each\n"
    "                       violation, with a description\n"
    "  --quiet              no progress line\n"
    "  --profile            where each mode's time went: microseconds\n"
    "                       per trial in each phase (also in --json)\n"
    "  --fresh-verifier     verify each crash state in a process of its own\n"
    "                       (default: each job's verifier process verifies\n"
    "                       one state after another, and is replaced after\n"
    "                       a violation and every 1,024 states)\n"
    "  --timeout SECONDS    a writer or verifier process of a trial that\n"
    "                       runs longer hangs: it is killed and the trial\n"
    "                       is a writer or recovery violation (default\n"
    "                       300)\n"
    "  -h, --help           this text\n";

/* How a row stores its value. */
typedef enum ct_kind {
    CT_U64,  /* a number in lo..hi into a uint64_t */
    CT_U32,  /* likewise into a uint32_t */
    CT_INT,  /* likewise into an int */
    CT_FLAG, /* no argument: the int becomes 1 */
    CT_STR,  /* the argument itself, into a const char * */
    CT_FN,   /* set() parses it */
} ct_kind;

typedef struct ct_option {
    const char *name;
    ct_kind kind;
    size_t off;      /* the field in ct_args */
    uint64_t lo, hi; /* numbers: the bounds */
    const char *msg; /* the error message of a bad value */
    int replay;      /* defines the trials: repeated in replay
                        command lines */
    int (*set)(ct_args *a, const char *arg); /* CT_FN: 0 or -1 */
} ct_option;

#define CT_AT(field) offsetof(ct_args, field)

/* ---- the options that need more than a number ---- */

static int ct_set_seed(ct_args *a, const char *arg)
{
    a->have_seed = 1;
    return num_parse_u64(arg, 0, &a->c.seed);
}

static int ct_set_duration(ct_args *a, const char *arg)
{
    return num_parse_double(arg, &a->c.duration_s) != 0 ||
                   !(a->c.duration_s > 0)
               ? -1
               : 0;
}

static int ct_set_replay(ct_args *a, const char *arg)
{
    uint64_t v;

    if (num_parse_u64(arg, 0, &v) != 0 || v > INT64_MAX)
        return -1;
    a->c.replay = (int64_t)v;
    return 0;
}

static int ct_set_shard(ct_args *a, const char *arg)
{
    unsigned long long i, n;
    char extra;

    if (sscanf(arg, "%llu/%llu%c", &i, &n, &extra) != 2 || n == 0 || i >= n)
        return -1;
    a->c.shard_index = i;
    a->c.shard_count = n;
    return 0;
}

static int ct_set_sector(ct_args *a, const char *arg)
{
    uint64_t v;

    if (num_parse_u64(arg, 0, &v) != 0 || (v != 512 && v != 4096))
        return -1;
    a->c.env.sector = (uint32_t)v;
    return 0;
}

static int ct_set_persist(ct_args *a, const char *arg)
{
    return plimg_model_parse(arg, &a->c.env.persist);
}

static int ct_set_fs_model(ct_args *a, const char *arg)
{
    return plimg_fs_parse(arg, &a->c.env.fs);
}

static int ct_set_sync(ct_args *a, const char *arg)
{
    return cl_sync_parse(arg, &a->c.env.eng.sync);
}

static int ct_set_torn(ct_args *a, const char *arg)
{
    return cl_torn_parse(arg, &a->c.env.eng.torn);
}

static int ct_set_ckpt(ct_args *a, const char *arg)
{
    return cl_ckpt_parse(arg, &a->c.env.eng.checkpoint_mode);
}

/* A page size the engine takes (cl_options_check says which: a power of
 * two in 4096..65536); 0 would mean its default, which --page-size does
 * not pin. */
static int ct_set_page_size(ct_args *a, const char *arg)
{
    cl_options o;
    uint64_t v;

    memset(&o, 0, sizeof(o));
    if (num_parse_u64(arg, 0, &v) != 0 || v == 0 || v > UINT32_MAX)
        return -1;
    o.page_size = (uint32_t)v;
    if (cl_options_check(&o) != 0)
        return -1;
    a->c.env.eng.page_size = (uint32_t)v;
    return 0;
}

/* The targets --target names: the engine's (target.h), or kvserver and its
 * deliberately broken variants (KVSERVER_BROKEN,
 * tools/kvserver/crash/kvserver_crashio.c).  A server target keeps the engine
 * as the target of the structure check of the server's files. */
static const struct {
    const char *name, *broken;
} ct_server_targets[] = {
    {"server", NULL},
    {"server-broken-ack", "ack-before-commit"},
    {"server-broken-skip", "skip-10th-set"},
};

static int ct_set_sqlite_journal(ct_args *a, const char *arg)
{
    (void)a;
    return target_sqlite_set_journal(arg);
}

static int ct_set_sqlite_sync(ct_args *a, const char *arg)
{
    (void)a;
    return target_sqlite_set_sync(arg);
}

/* writemap is known but refused, with the others' message, which says
 * why: LMDB's writes would bypass the interposer. */
static int ct_set_lmdb_flags(ct_args *a, const char *arg)
{
    (void)a;
    return target_lmdb_set_flags(arg) == 0 ? 0 : -1;
}

static int ct_set_leveldb_sync(ct_args *a, const char *arg)
{
    (void)a;
    return target_leveldb_set_sync(arg);
}

static int ct_set_rocksdb_sync(ct_args *a, const char *arg)
{
    (void)a;
    return target_rocksdb_set_sync(arg);
}

static int ct_set_rocksdb_profile(ct_args *a, const char *arg)
{
    (void)a;
    return target_rocksdb_set_profile(arg);
}

static int ct_set_target(ct_args *a, const char *arg)
{
    a->redis_target = strcmp(arg, "redis") == 0;
    if (a->redis_target) {
        a->c.target_name = arg;
        return 0;
    }
    a->c.env.target = target_find("engine");
    a->server_target = 0;
    for (size_t i = 0;
         i < sizeof(ct_server_targets) / sizeof(ct_server_targets[0]); i++)
        if (strcmp(arg, ct_server_targets[i].name) == 0) {
            a->server_target = 1;
            a->c.env.server_broken = ct_server_targets[i].broken;
        }
    if (!a->server_target)
        a->c.env.target = target_find(arg);
    a->c.target_name = arg;
    return a->c.env.target == NULL ? -1 : 0;
}

/* ---- the table ---- */

static const ct_option ct_options[] = {
    {"seed", CT_FN, 0, 0, 0, "--seed needs a number", 0, ct_set_seed},
    {"trials", CT_U64, CT_AT(c.trials), 1, UINT64_MAX,
     "--trials needs a positive number", 0, NULL},
    {"duration", CT_FN, 0, 0, 0, "--duration needs a positive number", 0,
     ct_set_duration},
    {"jobs", CT_INT, CT_AT(c.jobs), 1, 256, "--jobs needs a number in 1..256",
     0, NULL},
    {"mode", CT_STR, CT_AT(mode_list), 0, 0, NULL, 0, NULL},
    {"workload", CT_STR, CT_AT(workload_list), 0, 0, NULL, 0, NULL},
    {"txns", CT_U32, CT_AT(c.txns), 1, 1000000,
     "--txns needs a number in 1..1000000", 1, NULL},
    {"variants", CT_U32, CT_AT(c.variants), 1, CAMPAIGN_MAX_VARIANTS,
     "--variants needs a number in 1..16", 1, NULL},
    {"max-ops", CT_U32, CT_AT(c.max_ops), 1, WL_MAX_OPS,
     "--max-ops needs a number in 1..32", 1, NULL},
    {"max-value", CT_U32, CT_AT(c.max_value), 0, CL_VALUE_MAX,
     "--max-value needs a number up to 65536", 1, NULL},
    {"threads", CT_U32, CT_AT(c.threads), 1, WL_MAX_THREADS,
     "--threads needs a number in 1..8", 1, NULL},
    {"exhaustive", CT_FLAG, CT_AT(c.exhaustive), 0, 0, NULL, 1, NULL},
    {"replay", CT_FN, 0, 0, 0, "--replay needs a trial number", 0,
     ct_set_replay},
    {"shrink", CT_FLAG, CT_AT(c.shrink), 0, 0, NULL, 0, NULL},
    {"crash-point", CT_U64, CT_AT(c.crash_point), 1, UINT64_MAX,
     "--crash-point needs a positive number", 0, NULL},
    {"fail-at", CT_U64, CT_AT(c.fail_at), 1, UINT64_MAX,
     "--fail-at needs a positive number", 0, NULL},
    {"shard", CT_FN, 0, 0, 0, "--shard needs I/N with I < N", 0, ct_set_shard},
    {"sector", CT_FN, 0, 0, 0, "--sector is 512 or 4096", 1, ct_set_sector},
    {"persist", CT_FN, 0, 0, 0,
     "--persist: any-subset, per-file-prefix, ordered, drop-unsynced-data, "
     "drop-unsynced-files or random",
     1, ct_set_persist},
    {"fs-model", CT_FN, 0, 0, 0, "--fs-model: posix-strict or ext4-ordered", 1,
     ct_set_fs_model},
    {"recovery-depth", CT_U32, CT_AT(c.env.recovery_depth), 1, 16,
     "--recovery-depth needs a number in 1..16", 1, NULL},
    {"sync", CT_FN, 0, 0, 0, "--sync: off, commit, group or periodic", 1,
     ct_set_sync},
    {"torn-protection", CT_FN, 0, 0, 0, "--torn-protection: none, fpw or dwb",
     1, ct_set_torn},
    {"page-size", CT_FN, 0, 0, 0, "--page-size: a power of two, 4096..65536", 1,
     ct_set_page_size},
    {"checkpoint-mode", CT_FN, 0, 0, 0,
     "--checkpoint-mode: inline, spread or background", 1, ct_set_ckpt},
    {"checkpoint-bytes", CT_U64, CT_AT(c.env.eng.checkpoint_bytes), 1,
     UINT64_MAX, "--checkpoint-bytes needs a positive number", 1, NULL},
    {"segment-bytes", CT_U64, CT_AT(c.env.eng.segment_bytes), 64u << 10,
     1u << 30, "--segment-bytes needs a number in 65536..1073741824", 1, NULL},
    {"no-swarm", CT_FLAG, CT_AT(no_swarm), 0, 0, NULL, 1, NULL},
    {"pool-bytes", CT_U64, CT_AT(c.env.eng.pool_bytes), 256u << 10, UINT64_MAX,
     "--pool-bytes needs a number >= 262144", 1, NULL},
    {"target", CT_FN, 0, 0, 0, "unknown --target", 1, ct_set_target},
    {"sqlite-journal", CT_FN, 0, 0, 0,
     "--sqlite-journal: delete, truncate, persist or wal", 1,
     ct_set_sqlite_journal},
    {"sqlite-sync", CT_FN, 0, 0, 0, "--sqlite-sync: off, normal, full or extra",
     1, ct_set_sqlite_sync},
    {"lmdb-flags", CT_FN, 0, 0, 0,
     "--lmdb-flags: default, nometasync or nosync (writemap is refused: "
     "LMDB would write data.mdb through a shared writable map, which the "
     "interposer cannot see)",
     1, ct_set_lmdb_flags},
    {"leveldb-sync", CT_FN, 0, 0, 0, "--leveldb-sync: true, false or mixed", 1,
     ct_set_leveldb_sync},
    {"rocksdb-sync", CT_FN, 0, 0, 0, "--rocksdb-sync: true, false or mixed", 1,
     ct_set_rocksdb_sync},
    {"rocksdb-profile", CT_FN, 0, 0, 0,
     "--rocksdb-profile: deterministic or background", 1,
     ct_set_rocksdb_profile},
    {"redis-fsync", CT_STR, CT_AT(redis_fsync), 0, 0, NULL, 1, NULL},
    {"clients", CT_U32, CT_AT(c.env.clients), 1, 200,
     "--clients needs a number in 1..200", 1, NULL},
    {"sets", CT_U32, CT_AT(c.env.sets), 1, 100000,
     "--sets needs a number in 1..100000", 1, NULL},
    {"kvserver", CT_STR, CT_AT(c.env.kvserver), 0, 0, NULL, 1, NULL},
    {"dir", CT_STR, CT_AT(dirbase), 0, 0, NULL, 0, NULL},
    {"csv", CT_STR, CT_AT(c.csv), 0, 0, NULL, 0, NULL},
    {"json", CT_FLAG, CT_AT(c.json), 0, 0, NULL, 0, NULL},
    {"keep-failures", CT_STR, CT_AT(c.env.keep_dir), 0, 0, NULL, 0, NULL},
    {"quiet", CT_FLAG, CT_AT(c.quiet), 0, 0, NULL, 0, NULL},
    {"profile", CT_FLAG, CT_AT(c.profile), 0, 0, NULL, 0, NULL},
    {"fresh-verifier", CT_FLAG, CT_AT(c.env.fresh_verifier), 0, 0, NULL, 0,
     NULL},
    {"timeout", CT_U32, CT_AT(c.env.timeout_s), 1, 86400,
     "--timeout needs a number of seconds in 1..86400", 0, NULL},
    {"stop-at-first", CT_FLAG, CT_AT(c.stop_at_first), 0, 0, NULL, 0, NULL},
    {"help", CT_FLAG, CT_AT(help), 0, 0, NULL, 0, NULL},
    {"exec", CT_STR, CT_AT(exec_cmd), 0, 0, NULL, 1, NULL},
    {"verify", CT_STR, CT_AT(verify_cmd), 0, 0, NULL, 1, NULL},
    {"preload", CT_STR, CT_AT(preload), 0, 0, NULL, 0, NULL},
    {"nondurable", CT_STR, CT_AT(nondurable), 0, 0, NULL, 1, NULL},
    {"exec-timeout", CT_U32, CT_AT(exec_timeout), 1, 86400,
     "--exec-timeout needs a number of seconds in 1..86400", 0, NULL},
    {"merge", CT_FLAG, CT_AT(merge), 0, 0, NULL, 0, NULL},
};

#define CT_NOPTIONS (sizeof(ct_options) / sizeof(ct_options[0]))

int ct_usage(const char *msg)
{
    fprintf(stderr, "crashtest: %s\n(crashtest --help for the options)\n", msg);
    return 2;
}

void ct_print_help(void)
{
    fputs(ct_usage_text, stdout);
}

/* Store arg as row o says.  Returns 0 or -1 (a bad value). */
static int ct_store(ct_args *a, const ct_option *o, const char *arg)
{
    char *field = (char *)a + o->off;
    uint64_t v;

    switch (o->kind) {
    case CT_FLAG:
        *(int *)field = 1;
        return 0;
    case CT_STR:
        *(const char **)field = arg;
        return 0;
    case CT_FN:
        return o->set(a, arg);
    default:
        break;
    }
    if (num_parse_u64(arg, 0, &v) != 0 || v < o->lo || v > o->hi)
        return -1;
    if (o->kind == CT_U64)
        *(uint64_t *)field = v;
    else if (o->kind == CT_U32)
        *(uint32_t *)field = (uint32_t)v;
    else
        *(int *)field = (int)v;
    return 0;
}

/* Append " --name[ arg]" to the options replay command lines repeat. */
static void ct_append(campaign *c, const char *name, const char *arg)
{
    size_t n = strlen(c->options);

    snprintf(c->options + n, sizeof(c->options) - n, " --%s%s%s", name,
             arg ? " " : "", arg ? arg : "");
}

static void ct_defaults(ct_args *a)
{
    campaign *c = &a->c;

    memset(a, 0, sizeof(*a));
    a->dirbase = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    a->mode_list = "all";
    a->workload_list = "all";
    c->replay = -1;
    c->variants = 4;
    c->jobs = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (c->jobs < 1)
        c->jobs = 1;
    c->env.target = target_find("engine");
    c->env.sector = 512;
    c->env.persist = PLIMG_RANDOM;
    c->env.recovery_depth = 2;
    c->env.clients = 4;
    c->env.sets = 200;
}

int ct_parse(int argc, char **argv, ct_args *a)
{
    struct option longopts[CT_NOPTIONS + 1];
    int opt;

    ct_defaults(a);
    optind = 0; /* a second parse (ct_merge's) starts afresh */
    for (size_t i = 0; i < CT_NOPTIONS; i++) {
        longopts[i].name = ct_options[i].name;
        longopts[i].has_arg =
            ct_options[i].kind == CT_FLAG ? no_argument : required_argument;
        longopts[i].flag = NULL;
        longopts[i].val = 256 + (int)i;
    }
    memset(&longopts[CT_NOPTIONS], 0, sizeof(longopts[0]));
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        const ct_option *o;
        if (opt == 'h') {
            a->help = 1;
            continue;
        }
        if (opt < 256 || opt >= 256 + (int)CT_NOPTIONS)
            return ct_usage("bad option");
        o = &ct_options[opt - 256];
        if (ct_store(a, o, optarg) != 0)
            return ct_usage(o->msg);
        if (o->replay)
            ct_append(&a->c, o->name, o->kind == CT_FLAG ? NULL : optarg);
        if (strcmp(o->name, "merge") != 0 && strcmp(o->name, "json") != 0 &&
            strcmp(o->name, "csv") != 0 && strcmp(o->name, "quiet") != 0)
            a->campaign_opts++;
    }
    if (a->merge) {
        a->merge_files = argv + optind;
        a->nmerge = argc - optind;
        if (a->nmerge == 0)
            return ct_usage("--merge needs the shards' JSON summaries and "
                            "CSV files");
        if (a->campaign_opts > 0 && !a->help)
            return ct_usage("--merge takes only --json, --csv FILE and "
                            "--quiet: the shards' summaries say the rest");
        return 0;
    }
    if (optind < argc)
        return ct_usage("unexpected argument");
    if (a->c.json && a->c.csv != NULL && strcmp(a->c.csv, "-") == 0)
        return ct_usage("--json and --csv - would both write to standard "
                        "output: give --csv a file");
    return 0;
}
