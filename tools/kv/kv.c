/*
 * kv - command-line client of the crashlab engine.
 *
 * Usage: kv [-d DIR] [options] COMMAND [ARGS]   (kv --help for the list)
 *
 * Exit status: 0 success, 1 key not found, 2 usage error, 3 corruption
 * detected, 4 I/O error, 5 database locked by another process, 6 invalid
 * input (empty or oversized key or value), 7 any other engine error.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crashlab.h"
#include "num.h"

enum {
    KV_OK = 0,
    KV_NOTFOUND = 1,
    KV_USAGE = 2,
    KV_CORRUPT = 3,
    KV_IO = 4,
    KV_LOCKED = 5,
    KV_INPUT = 6,
    KV_OTHER = 7,
};

/* One command: its synopsis, what it does, how many arguments it takes
 * (max -1: it parses its own options), whether it may create a missing
 * database, and the function that runs it on the open database. */
typedef struct kv_cmd {
    const char *name;
    const char *args;
    const char *help;
    int min_args, max_args;
    int creates;
    int (*run)(cl_db *db, int argc, char **argv);
} kv_cmd;

static const char *kv_usage_head =
    "usage: kv [-d DIR] [options] COMMAND [ARGS]\n"
    "       kv COMMAND --help, kv help [COMMAND]\n"
    "\n"
    "commands:\n";

static const char *kv_usage_tail =
    "\n"
    "options:\n"
    "  -d, --dir DIR          database directory (default $CRASHLAB_DB or\n"
    "                         ./crashlab.db); only set and load create one\n"
    "  --sync MODE            off | commit | group | periodic (default group)\n"
    "  --torn-protection MODE none | fpw | dwb (default fpw)\n"
    "  --page-size BYTES      page size of a new database (default 4096)\n"
    "  --checkpoint-bytes N   automatic checkpoint interval (default 64 MiB)\n"
    "  --checkpoint-mode M    inline | spread | background (default inline)\n"
    "  --no-close-checkpoint  leave the log at close for the next open to\n"
    "                         redo (by default a close checkpoints)\n"
    "  -h, --help             this text\n"
    "\n"
    "A key or value that begins with '-' goes after --: kv set -- -1 minus.\n"
    "\n"
    "exit status: 0 ok, 1 not found, 2 usage, 3 corruption, 4 I/O error\n"
    "(a missing database too), 5 locked by another process, 6 invalid key or\n"
    "value, 7 other error\n";

static int kv_exit_code(int rc)
{
    switch (rc) {
    case 0:
        return KV_OK;
    case CL_ENOTFOUND:
        return KV_NOTFOUND;
    case CL_ECORRUPT:
    case CL_EFORMAT:
        return KV_CORRUPT;
    case CL_ELOCKED:
        return KV_LOCKED;
    case CL_EINVAL:
    case CL_ETOOBIG:
        return KV_INPUT;
    }
    return rc > 0 ? KV_IO : KV_OTHER;
}

static int kv_fail(const char *what, int rc)
{
    const char *detail = cl_errdetail();

    fprintf(stderr, "kv: %s: %s%s%s\n", what, cl_strerror(rc),
            detail[0] ? ": " : "", detail);
    return kv_exit_code(rc);
}

/* A usage error: the message and where to read more. */
static int kv_usage(const char *msg)
{
    fprintf(stderr, "kv: %s (kv --help for the usage)\n", msg);
    return KV_USAGE;
}

/* Write n bytes of p to stdout with the bytes that would make a scan line
 * ambiguous escaped: backslash, tab, newline, carriage return as \\ \t \n
 * \r, any other control byte as \xHH.  @return 0, or EOF on a write
 * error. */
static int kv_put_escaped(const void *p, size_t n)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < n; i++) {
        unsigned char ch = b[i];
        int r;
        if (ch == '\\')
            r = fputs("\\\\", stdout);
        else if (ch == '\t')
            r = fputs("\\t", stdout);
        else if (ch == '\n')
            r = fputs("\\n", stdout);
        else if (ch == '\r')
            r = fputs("\\r", stdout);
        else if (ch < 0x20 || ch == 0x7f)
            r = printf("\\x%02x", ch);
        else
            r = putchar(ch);
        if (r == EOF || r < 0)
            return EOF;
    }
    return 0;
}

typedef struct kv_scan_ctx {
    int err;
} kv_scan_ctx;

static int kv_print_entry(void *ctx, const void *k, size_t klen, const void *v,
                          size_t vlen)
{
    kv_scan_ctx *c = ctx;

    if (kv_put_escaped(k, klen) != 0 || putchar('\t') == EOF ||
        kv_put_escaped(v, vlen) != 0 || putchar('\n') == EOF) {
        c->err = errno ? errno : EIO;
        return 1;
    }
    return 0;
}

static int kv_cmd_scan(cl_db *db, int argc, char **argv)
{
    const char *prefix = NULL, *start = NULL;
    uint64_t limit = 0;
    kv_scan_ctx c = {0};
    int rc;

    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--prefix") == 0 && i + 1 < argc)
            prefix = argv[++i];
        else if (strcmp(argv[i], "--start") == 0 && i + 1 < argc)
            start = argv[++i];
        else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc) {
            if (num_parse_u64(argv[++i], 10, &limit) != 0)
                return kv_usage("scan: --limit needs a number");
        } else
            return kv_usage("scan: unknown argument");
    }
    rc =
        cl_scan(db, start, start ? strlen(start) : 0, prefix,
                prefix ? strlen(prefix) : 0, (size_t)limit, kv_print_entry, &c);
    if (rc != 0)
        return kv_fail("scan", rc);
    if (c.err != 0 || fflush(stdout) != 0) {
        fprintf(stderr, "kv: scan: writing output: %s\n", strerror(c.err));
        return KV_IO;
    }
    return KV_OK;
}
static int kv_cmd_load(cl_db *db, int argc, char **argv)
{
    uint64_t count = UINT64_MAX, vsize = 100, batch = 1, n = 0;
    const char *prefix = "load-";
    cl_batch *b = NULL;
    char *val, key[CL_KEY_MAX + 1];
    int rc = 0;

    for (int i = 0; i < argc; i++) {
        uint64_t *dst = NULL;
        if (strcmp(argv[i], "--count") == 0)
            dst = &count;
        else if (strcmp(argv[i], "--value-size") == 0)
            dst = &vsize;
        else if (strcmp(argv[i], "--batch") == 0)
            dst = &batch;
        else if (strcmp(argv[i], "--prefix") == 0 && i + 1 < argc) {
            prefix = argv[++i];
            continue;
        } else
            return kv_usage("load: unknown argument");
        if (i + 1 >= argc || num_parse_u64(argv[++i], 10, dst) != 0)
            return kv_usage("load: option needs a number");
    }
    if (vsize > CL_VALUE_MAX || batch == 0 || strlen(prefix) > 1000)
        return kv_usage("load: value size over 65536, zero batch or long "
                        "prefix");
    val = malloc(vsize + 1);
    if (val == NULL || cl_batch_new(&b) != 0) {
        free(val);
        return kv_fail("load", CL_ENOMEM);
    }
    while (n < count) {
        cl_batch_clear(b);
        for (uint64_t i = 0; i < batch && n < count; i++, n++) {
            snprintf(key, sizeof(key), "%s%012" PRIu64, prefix, n);
            for (uint64_t j = 0; j < vsize; j++)
                val[j] = (char)('a' + (n + j) % 26);
            if ((rc = cl_batch_put(b, key, strlen(key), val, vsize)) != 0)
                break;
        }
        if (rc == 0)
            rc = cl_commit(db, b, NULL);
        if (rc != 0)
            break;
        /* the last count is the total, printed once below */
        if (n % 10000 < batch && n < count) {
            printf("loaded %" PRIu64 "\n", n);
            fflush(stdout);
        }
    }
    cl_batch_free(b);
    free(val);
    if (rc != 0)
        return kv_fail("load", rc);
    printf("loaded %" PRIu64 "\n", n);
    return KV_OK;
}

/* kv bench ARGS: run the kvbench binary that sits next to this one. */
static int kv_cmd_bench(const char *dir, int argc, char **argv)
{
    char self[4096], path[4200];
    char **args = calloc((size_t)argc + 4, sizeof(*args));
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    char *slash;
    int a = 0;

    if (args == NULL)
        return kv_fail("bench", CL_ENOMEM);
    if (n <= 0) {
        fprintf(stderr, "kv: bench: cannot find my own path: %s\n",
                strerror(errno));
        return KV_OTHER;
    }
    self[n] = '\0';
    slash = strrchr(self, '/');
    if (slash != NULL)
        slash[1] = '\0';
    snprintf(path, sizeof(path), "%skvbench", slash ? self : "./");
    args[a++] = path;
    if (dir != NULL) {
        args[a++] = "--dir";
        args[a++] = (char *)dir;
    }
    for (int i = 0; i < argc; i++)
        args[a++] = argv[i];
    args[a] = NULL;
    fflush(NULL);
    execv(path, args);
    fprintf(stderr, "kv: bench: cannot run %s: %s\n", path, strerror(errno));
    free(args);
    return KV_OTHER;
}

static int kv_cmd_recover(cl_db *db, int argc, char **argv)
{
    cl_recovery r;

    (void)argc;
    (void)argv;
    cl_recovery_report(db, &r);
    printf("created: %s\n", r.created ? "yes (new database)" : "no");
    printf("checkpoint LSN: %" PRIu64 "\n", r.checkpoint_lsn);
    printf("end of log LSN: %" PRIu64 "\n", r.end_lsn);
    printf("segments read: %u\n", r.segments);
    printf("log bytes read: %" PRIu64 "\n", r.bytes);
    printf("records replayed: %" PRIu64 "\n", r.records);
    printf("page changes applied: %" PRIu64 "\n", r.pages_applied);
    printf("pages repaired from full images: %" PRIu64 "\n",
           r.pages_repaired_fpi);
    printf("pages restored from the doublewrite area: %" PRIu64 "\n",
           r.pages_repaired_dwb);
    if (r.tail_cut)
        printf("torn tail cut: %s at offset %" PRIu64 " (%" PRIu64
               " bytes discarded): %s\n",
               r.tail_file, r.tail_offset, r.tail_bytes, r.tail_reason);
    else
        printf("torn tail cut: none\n");
    printf("recovery time: %" PRIu64 " us\n", r.usec);
    return KV_OK;
}

static int kv_cmd_stats(cl_db *db, int argc, char **argv)
{
    cl_stats s;
    int rc = cl_stats_get(db, &s);

    (void)argc;
    (void)argv;
    if (rc != 0)
        return kv_fail("stats", rc);
#define KV_STAT(name) printf("%-16s %" PRIu64 "\n", #name, (uint64_t)s.name)
    KV_STAT(page_size);
    KV_STAT(pages_total);
    KV_STAT(pages_free);
    KV_STAT(pool_pages);
    KV_STAT(dirty_pages);
    KV_STAT(written_lsn);
    KV_STAT(durable_lsn);
    KV_STAT(checkpoint_lsn);
    KV_STAT(wal_since_ckpt);
    KV_STAT(commits);
    KV_STAT(puts);
    KV_STAT(deletes);
    KV_STAT(gets);
    KV_STAT(wal_records);
    KV_STAT(wal_bytes);
    KV_STAT(wal_syncs);
    KV_STAT(wal_segments);
    KV_STAT(page_reads);
    KV_STAT(page_writes);
    KV_STAT(page_syncs);
    KV_STAT(fpi_records);
    KV_STAT(dwb_writes);
    KV_STAT(cache_hits);
    KV_STAT(cache_misses);
    KV_STAT(evictions);
    KV_STAT(checkpoints);
#undef KV_STAT
    printf("%-16s %s\n", "readonly", s.readonly ? "yes" : "no");
    return KV_OK;
}

static int kv_cmd_set(cl_db *db, int argc, char **argv)
{
    int rc = cl_put(db, argv[0], strlen(argv[0]), argv[1], strlen(argv[1]));

    (void)argc;
    return rc ? kv_fail("set", rc) : KV_OK;
}

static int kv_cmd_get(cl_db *db, int argc, char **argv)
{
    void *v = NULL;
    size_t vlen = 0;
    int rc = cl_get_alloc(db, argv[0], strlen(argv[0]), &v, &vlen), code;

    (void)argc;
    if (rc == CL_ENOTFOUND) {
        fprintf(stderr, "kv: get: %s: not found\n", argv[0]);
        code = KV_NOTFOUND;
    } else if (rc != 0) {
        code = kv_fail("get", rc);
    } else {
        fwrite(v, 1, vlen, stdout);
        putchar('\n');
        code = KV_OK;
    }
    free(v);
    return code;
}

static int kv_cmd_del(cl_db *db, int argc, char **argv)
{
    int rc = cl_delete(db, argv[0], strlen(argv[0]));

    (void)argc;
    if (rc == CL_ENOTFOUND) {
        fprintf(stderr, "kv: del: %s: not found\n", argv[0]);
        return KV_NOTFOUND;
    }
    return rc ? kv_fail("del", rc) : KV_OK;
}

static int kv_cmd_check(cl_db *db, int argc, char **argv)
{
    char msg[512];
    int rc = cl_check(db, msg, sizeof(msg));

    (void)argc;
    (void)argv;
    if (rc != 0)
        return kv_fail("check", rc);
    printf("ok\n");
    return KV_OK;
}

static int kv_cmd_checkpoint(cl_db *db, int argc, char **argv)
{
    int rc = cl_checkpoint(db);

    (void)argc;
    (void)argv;
    return rc ? kv_fail("checkpoint", rc) : KV_OK;
}

/* The commands, in the order the usage lists them.  bench and help need no
 * database: main runs them itself. */
static const kv_cmd kv_cmds[] = {
    {"set", "KEY VALUE", "insert or replace KEY", 2, 2, 1, kv_cmd_set},
    {"get", "KEY", "print the value of KEY and a newline", 1, 1, 0, kv_cmd_get},
    {"del", "KEY", "delete KEY", 1, 1, 0, kv_cmd_del},
    {"scan", "[--prefix P] [--start K] [--limit N]",
     "print KEY<tab>VALUE lines in key order; a\n"
     "backslash, tab, newline, CR or other control byte\n"
     "in a key or value is escaped: \\\\ \\t \\n \\r \\xHH",
     0, -1, 0, kv_cmd_scan},
    {"load", "[--count N] [--value-size B] [--prefix P] [--batch N]",
     "write N keys P%012u (default: forever), for crash\n"
     "demos: kill it and reopen",
     0, -1, 1, kv_cmd_load},
    {"check", "", "verify every page and the tree structure", 0, 0, 0,
     kv_cmd_check},
    {"recover", "", "open (recovering) and print the recovery report", 0, 0, 0,
     kv_cmd_recover},
    {"checkpoint", "", "write a checkpoint", 0, 0, 0, kv_cmd_checkpoint},
    {"stats", "", "print the engine's counters", 0, 0, 0, kv_cmd_stats},
    {"bench", "[N PREFIX VALUE_SIZE | ARGS]",
     "run kvbench, the benchmark (installed next to kv):\n"
     "N durable puts of PREFIX<digits> keys, then reads;\n"
     "throughput in ops/s, latencies in microseconds (us);\n"
     "or kvbench's options and workloads (kv bench --help);\n"
     "-d becomes kvbench's --dir",
     0, -1, 0, NULL},
    {"help", "[COMMAND]", "this text, or the usage of COMMAND", 0, 1, 0, NULL},
};
#define KV_NCMDS (sizeof(kv_cmds) / sizeof(kv_cmds[0]))

static const kv_cmd *kv_find(const char *name)
{
    for (size_t i = 0; i < KV_NCMDS; i++)
        if (strcmp(kv_cmds[i].name, name) == 0)
            return &kv_cmds[i];
    return NULL;
}

/* Print text's lines, each after indent spaces. */
static void kv_put_lines(FILE *f, const char *text, int indent)
{
    while (*text != '\0') {
        size_t n = strcspn(text, "\n");
        fprintf(f, "%*s%.*s\n", indent, "", (int)n, text);
        text += n + (text[n] == '\n');
    }
}

static void kv_usage_full(FILE *f)
{
    fputs(kv_usage_head, f);
    for (size_t i = 0; i < KV_NCMDS; i++) {
        const kv_cmd *c = &kv_cmds[i];
        char syn[128];
        snprintf(syn, sizeof(syn), "%s%s%s", c->name, c->args[0] ? " " : "",
                 c->args);
        if (strlen(syn) <= 22 && strchr(c->help, '\n') == NULL) {
            fprintf(f, "  %-22s %s\n", syn, c->help);
        } else {
            fprintf(f, "  %s\n", syn);
            kv_put_lines(f, c->help, 25);
        }
    }
    fputs(kv_usage_tail, f);
}

static void kv_usage_cmd(FILE *f, const kv_cmd *c)
{
    fprintf(f, "usage: kv [-d DIR] [options] %s%s%s\n\n", c->name,
            c->args[0] ? " " : "", c->args);
    kv_put_lines(f, c->help, 2);
}

static int kv_is_help(const char *arg)
{
    return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

/* The command's own leading options, before the database is opened:
 * -h/--help prints its usage; for commands of fixed arguments, -- ends
 * the options and any other word that begins with '-' is refused, so that
 * a mistyped option is never taken for a key.  Then the argument count.
 * @return -1 to go on (*argc, *argv without the options), or the exit
 * status. */
static int kv_cmd_options(const kv_cmd *c, int *argc, char ***argv)
{
    char *first = *argc > 0 ? (*argv)[0] : NULL;

    if (first != NULL && kv_is_help(first)) {
        kv_usage_cmd(stdout, c);
        return KV_OK;
    }
    if (c->max_args < 0)
        return -1;
    if (first != NULL && strcmp(first, "--") == 0) {
        (*argc)--;
        (*argv)++;
    } else if (first != NULL && first[0] == '-' && first[1] != '\0') {
        fprintf(stderr,
                "kv: %s: unknown option '%s' (put -- before a key or value "
                "that begins with '-')\n",
                c->name, first);
        return KV_USAGE;
    }
    if (*argc < c->min_args || *argc > c->max_args) {
        fprintf(stderr, "kv: %s: wrong number of arguments\n", c->name);
        kv_usage_cmd(stderr, c);
        return KV_USAGE;
    }
    return -1;
}

/* kv help [COMMAND] */
static int kv_cmd_help(int argc, char **argv)
{
    const kv_cmd *c;

    if (argc == 0) {
        kv_usage_full(stdout);
        return KV_OK;
    }
    if ((c = kv_find(argv[0])) == NULL) {
        fprintf(stderr, "kv: help: unknown command '%s'\n", argv[0]);
        return KV_USAGE;
    }
    kv_usage_cmd(stdout, c);
    return KV_OK;
}

/* cl_open failed: the engine's detail names the file; a missing database
 * (only set and load create one) says how to make one.  A log without its
 * page file is not missing but damaged (CL_ECORRUPT): creating one there
 * is what the engine refuses. */
static int kv_open_fail(const char *dir, int rc, int no_create)
{
    const char *detail = cl_errdetail();

    if (rc == ENOENT && no_create)
        fprintf(stderr,
                "kv: %s: no such database (kv set or kv load creates one)\n",
                dir);
    else if (detail[0] != '\0')
        fprintf(stderr, "kv: %s: %s\n", cl_strerror(rc), detail);
    else
        fprintf(stderr, "kv: %s: %s\n", dir, cl_strerror(rc));
    return kv_exit_code(rc);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"dir", required_argument, NULL, 'd'},
        {"sync", required_argument, NULL, 's'},
        {"torn-protection", required_argument, NULL, 't'},
        {"page-size", required_argument, NULL, 'p'},
        {"checkpoint-bytes", required_argument, NULL, 'c'},
        {"checkpoint-mode", required_argument, NULL, 'm'},
        {"no-close-checkpoint", no_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *dir = getenv("CRASHLAB_DB"), *dir_opt = NULL;
    const kv_cmd *cmd;
    cl_options opt;
    cl_db *db = NULL;
    uint64_t num;
    int c, rc, code;

    memset(&opt, 0, sizeof(opt));
    if (dir == NULL || dir[0] == '\0')
        dir = "crashlab.db";
    /* '+': stop at the command, so its own options are left to it. */
    while ((c = getopt_long(argc, argv, "+d:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            dir = optarg;
            dir_opt = optarg;
            break;
        case 's':
            if (cl_sync_parse(optarg, &opt.sync) != 0)
                return kv_usage("--sync: off, commit, group or periodic");
            break;
        case 't':
            if (cl_torn_parse(optarg, &opt.torn) != 0)
                return kv_usage("--torn-protection: none, fpw or dwb");
            break;
        case 'p':
            if (num_parse_u64(optarg, 10, &num) != 0 || num > UINT32_MAX)
                return kv_usage("--page-size needs a number");
            opt.page_size = (uint32_t)num;
            break;
        case 'c':
            if (num_parse_u64(optarg, 10, &num) != 0 || num == 0)
                return kv_usage("--checkpoint-bytes needs a positive number");
            opt.checkpoint_bytes = num;
            break;
        case 'm':
            if (cl_ckpt_parse(optarg, &opt.checkpoint_mode) != 0)
                return kv_usage(
                    "--checkpoint-mode: inline, spread or background");
            break;
        case 'n':
            opt.no_close_checkpoint = 1;
            break;
        case 'h':
            kv_usage_full(stdout);
            return KV_OK;
        default:
            return kv_usage("unknown option");
        }
    }
    /* A value the engine would refuse is the user's mistake, told before
     * anything is opened, not an engine error of cl_open. */
    if (dir[0] == '\0')
        return kv_usage("-d needs a directory");
    if (cl_options_check(&opt) != 0)
        return kv_usage(cl_errdetail());
    if (optind >= argc)
        return kv_usage("no command");
    if ((cmd = kv_find(argv[optind])) == NULL) {
        fprintf(stderr, "kv: unknown command '%s' (kv help lists them)\n",
                argv[optind]);
        return KV_USAGE;
    }
    argc -= optind + 1;
    argv += optind + 1;
    if (strcmp(cmd->name, "bench") == 0)
        return kv_cmd_bench(dir_opt, argc, argv);
    if (strcmp(cmd->name, "help") == 0)
        return kv_cmd_help(argc, argv);
    /* Options and arguments are checked before the open, which may create
     * the database. */
    if ((code = kv_cmd_options(cmd, &argc, &argv)) >= 0)
        return code;

    opt.no_create = !cmd->creates;
    if ((rc = cl_open(dir, &opt, &db)) != 0)
        return kv_open_fail(dir, rc, opt.no_create);
    code = cmd->run(db, argc, argv);
    rc = cl_close(db);
    if (rc != 0 && code == KV_OK)
        code = kv_fail("close", rc);
    if (fflush(stdout) != 0 && code == KV_OK)
        code = KV_IO;
    return code;
}
