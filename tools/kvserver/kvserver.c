/*
 * kvserver - a TCP server for the crashlab engine, speaking a line protocol
 * and enough RESP2 for redis-cli and redis-benchmark (protocols: proto.h;
 * threads and connections: srv.c; docs/KVSERVER.md for users).
 *
 * Usage: kvserver [-d DIR] [options]   (kvserver --help for the list)
 *
 * Once it accepts connections it prints exactly one line on standard
 * output, "kvserver: listening on ADDRESS:PORT", and flushes it: a program
 * that starts kvserver with --port 0 reads that line to learn the port.
 * With --report FILE it also writes what opening the database did to FILE,
 * for programs (kvserver_report below), before it listens or exits.
 * SIGTERM or SIGINT stop it cleanly: no new connections, commands being run
 * finish, then a checkpoint and cl_close.  Killed any other way, the next
 * start recovers every acknowledged write from the log.
 *
 * Exit status: 0 clean stop, 1 server error (cannot listen, the final
 * checkpoint or close failed), 2 usage error, 3 corruption detected at
 * open, 4 I/O error at open, 5 database locked by another process, 7 any
 * other engine error at open.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "num.h"
#include "crashlab.h"
#include "srv.h"
#ifdef KVSERVER_CRASH
#include "crash_hooks.h"
#endif

enum {
    KS_OK = 0,
    KS_SERVER = 1,
    KS_USAGE = 2,
    KS_CORRUPT = 3,
    KS_IO = 4,
    KS_LOCKED = 5,
    KS_OTHER = 7,
};

static const char *kvserver_usage_text =
    "usage: kvserver [-d DIR] [options]\n"
    "\n"
    "Serves the crashlab database in DIR over TCP: a line protocol (SET GET\n"
    "DEL PING STATS QUIT, one command per line) and RESP2 for redis-cli and\n"
    "redis-benchmark.  See docs/KVSERVER.md.\n"
    "\n"
    "options:\n"
    "  -d, --dir DIR          database directory (default ./kvserver.db;\n"
    "                         created if missing)\n"
    "  -p, --port N           TCP port (default 3838; 0 picks a free one)\n"
    "  -b, --bind ADDR        numeric address to listen on (default "
    "127.0.0.1)\n"
    "  --sync MODE            off | commit | group | periodic (default group)\n"
    "  --torn-protection MODE none | fpw | dwb (default fpw)\n"
    "  --checkpoint-bytes N   automatic checkpoint interval (default 64 MiB)\n"
    "  --checkpoint-mode M    inline | spread | background (default inline)\n"
    "  --page-size BYTES      page size of a new database (default 4096)\n"
    "  --threads N            I/O threads (default: half the CPUs, 1..16)\n"
    "  --committers N         threads that commit queued writes (default 2)\n"
    "  --max-clients N        connections served at once (default 10000)\n"
    "  --report FILE          write what opening the database did to FILE:\n"
    "                         one line of tab-separated name=value fields;\n"
    "                         after a stop by signal, a second line: the\n"
    "                         stop's result\n"
    "  -h, --help             this text\n"
    "\n"
    "Prints \"kvserver: listening on ADDR:PORT\" once it accepts connections.\n"
    "OK to a SET is sent only once the write is durable (sync modes commit\n"
    "and group).  SIGTERM/SIGINT: finish running commands, checkpoint, exit "
    "0.\n"
    "\n"
    "exit status: 0 clean stop, 1 server error, 2 usage, 3 corruption,\n"
    "4 I/O error, 5 locked by another process, 7 other engine error\n";

static int kvserver_usage(const char *msg)
{
    if (msg != NULL)
        fprintf(stderr, "kvserver: %s\n", msg);
    fputs(kvserver_usage_text, stderr);
    return KS_USAGE;
}

static int kvserver_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v;

    if (num_parse_u64(s, 10, &v) != 0 || v > max)
        return -1;
    *out = v;
    return 0;
}

static int kvserver_open_error(const char *dir, int rc)
{
    const char *detail = cl_errdetail();

    fprintf(stderr, "kvserver: cannot open %s: %s%s%s\n", dir, cl_strerror(rc),
            detail[0] ? ": " : "", detail);
    switch (rc) {
    case CL_ECORRUPT:
    case CL_EFORMAT:
        return KS_CORRUPT;
    case CL_ELOCKED:
        return KS_LOCKED;
    }
    return rc > 0 ? KS_IO : KS_OTHER;
}

/* Write one line of the report to path (when not NULL), opened with
 * mode ("w" replaces it, "a" appends).  Returns 0, or -1 after a message
 * (the file could not be written). */
__attribute__((format(printf, 3, 4))) static int
kvserver_report_line(const char *path, const char *mode, const char *fmt, ...)
{
    va_list ap;
    FILE *f;
    int bad;

    if (path == NULL)
        return 0;
    if ((f = fopen(path, mode)) == NULL) {
        fprintf(stderr, "kvserver: --report %s: %s\n", path, strerror(errno));
        return -1;
    }
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        fprintf(stderr, "kvserver: --report %s: write failed\n", path);
        return -1;
    }
    return 0;
}

/* Write the outcome of cl_open to path (when not NULL), replacing the
 * file: one line, "open" then tab-separated name=value fields, for
 * programs to read instead of the log's sentences:
 *   result=ok created=0|1 records=N bytes=N pages_repaired=N tail_cut=0|1
 *   usec=N            (the database is open; cl_recovery's figures)
 *   result=error rc=N kind=K (cl_open failed: rc is its return value, a
 *                      negative CL_E* code or a positive errno; K names
 *                      the kind of failure, cl_err_kind_name of
 *                      cl_errinfo: page for a torn or corrupt page, ...)
 * and, after a stop by signal, a second line "stop" with result=ok, or
 * result=error rc=N kind=K for the stop's first failure (its checkpoint
 * or close): kvserver_report_stop.
 * Fields may be added; readers skip names they do not know.  Returns 0,
 * or -1 after a message (the file could not be written). */
static int kvserver_report(const char *path, int rc, const cl_recovery *r)
{
    cl_err_info ei;

    if (rc != 0) {
        cl_errinfo(&ei);
        return kvserver_report_line(path, "w",
                                    "open\tresult=error\trc=%d\tkind=%s\n", rc,
                                    cl_err_kind_name(ei.kind));
    }
    return kvserver_report_line(
        path, "w",
        "open\tresult=ok\tcreated=%d\trecords=%" PRIu64 "\tbytes=%" PRIu64
        "\tpages_repaired=%" PRIu64 "\ttail_cut=%d\tusec=%" PRIu64 "\n",
        r->created, r->records, r->bytes,
        r->pages_repaired_fpi + r->pages_repaired_dwb, r->tail_cut, r->usec);
}

/* The report's "stop" line (see kvserver_report): rc is the stop's first
 * failure (0: none), ei its cl_errinfo. */
static int kvserver_report_stop(const char *path, int rc, const cl_err_info *ei)
{
    if (rc != 0)
        return kvserver_report_line(path, "a",
                                    "stop\tresult=error\trc=%d\tkind=%s\n", rc,
                                    cl_err_kind_name(ei->kind));
    return kvserver_report_line(path, "a", "stop\tresult=ok\n");
}

/* Raise the soft limit on open files so that max_clients connections fit
 * (with room for the database's own files); lower max_clients if the hard
 * limit does not allow it. */
static void kvserver_fd_limit(unsigned *max_clients)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)*max_clients + 64;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
        return;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want
                      ? want
                      : rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want) {
        unsigned n = rl.rlim_cur > 128 ? (unsigned)(rl.rlim_cur - 64) : 64;
        fprintf(stderr,
                "kvserver: open file limit %llu: serving at most %u "
                "clients\n",
                (unsigned long long)rl.rlim_cur, n);
        *max_clients = n;
    }
}

int main(int argc, char **argv)
{
    enum {
        OPT_SYNC = 256,
        OPT_TORN,
        OPT_CKPT,
        OPT_CKPT_MODE,
        OPT_PAGE,
        OPT_THREADS,
        OPT_COMMITTERS,
        OPT_MAXCLIENTS,
        OPT_REPORT,
    };
    static const struct option longopts[] = {
        {"dir", required_argument, NULL, 'd'},
        {"port", required_argument, NULL, 'p'},
        {"bind", required_argument, NULL, 'b'},
        {"sync", required_argument, NULL, OPT_SYNC},
        {"torn-protection", required_argument, NULL, OPT_TORN},
        {"checkpoint-bytes", required_argument, NULL, OPT_CKPT},
        {"checkpoint-mode", required_argument, NULL, OPT_CKPT_MODE},
        {"page-size", required_argument, NULL, OPT_PAGE},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"committers", required_argument, NULL, OPT_COMMITTERS},
        {"max-clients", required_argument, NULL, OPT_MAXCLIENTS},
        {"report", required_argument, NULL, OPT_REPORT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    srv_config cfg = {"127.0.0.1", 3838, 0, 2, 10000, CL_SYNC_DEFAULT};
    cl_options opt;
    const char *dir = "kvserver.db", *report = NULL;
    char addr[128], err[256];
    cl_db *db = NULL;
    srv *s = NULL;
    sigset_t sigs;
    uint64_t v;
    int c, rc, sig = 0, status = KS_OK, first = 0;
    cl_err_info ei = {0};

    memset(&opt, 0, sizeof(opt));
    while ((c = getopt_long(argc, argv, "d:p:b:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            dir = optarg;
            break;
        case 'p':
            if (kvserver_parse_u64(optarg, 65535, &v) != 0)
                return kvserver_usage("--port needs a number 0..65535");
            cfg.port = (unsigned)v;
            break;
        case 'b':
            cfg.bind = optarg;
            break;
        case OPT_SYNC:
            if (cl_sync_parse(optarg, &opt.sync) != 0)
                return kvserver_usage("unknown --sync mode");
            break;
        case OPT_TORN:
            if (cl_torn_parse(optarg, &opt.torn) != 0)
                return kvserver_usage("unknown --torn-protection mode");
            break;
        case OPT_CKPT:
            if (kvserver_parse_u64(optarg, UINT64_MAX, &v) != 0)
                return kvserver_usage("--checkpoint-bytes needs a number");
            opt.checkpoint_bytes = v;
            break;
        case OPT_CKPT_MODE:
            if (cl_ckpt_parse(optarg, &opt.checkpoint_mode) != 0)
                return kvserver_usage("unknown --checkpoint-mode");
            break;
        case OPT_PAGE:
            if (kvserver_parse_u64(optarg, 65536, &v) != 0)
                return kvserver_usage("--page-size needs a number");
            opt.page_size = (uint32_t)v;
            break;
        case OPT_THREADS:
            if (kvserver_parse_u64(optarg, 4096, &v) != 0 || v == 0)
                return kvserver_usage("--threads needs a number 1..4096");
            cfg.threads = (unsigned)v;
            break;
        case OPT_COMMITTERS:
            if (kvserver_parse_u64(optarg, 256, &v) != 0 || v == 0)
                return kvserver_usage("--committers needs a number 1..256");
            cfg.committers = (unsigned)v;
            break;
        case OPT_MAXCLIENTS:
            if (kvserver_parse_u64(optarg, 1000000, &v) != 0 || v == 0)
                return kvserver_usage("--max-clients needs a number "
                                      "1..1000000");
            cfg.max_clients = (unsigned)v;
            break;
        case OPT_REPORT:
            report = optarg;
            break;
        case 'h':
            fputs(kvserver_usage_text, stdout);
            return KS_OK;
        default:
            return kvserver_usage(NULL);
        }
    }
    if (optind != argc)
        return kvserver_usage("unexpected argument");
    /* A value the engine would refuse is the user's mistake, told before
     * the server listens, not an engine error of cl_open. */
    if (dir[0] == '\0')
        return kvserver_usage("-d needs a directory");
    if (cl_options_check(&opt) != 0)
        return kvserver_usage(cl_errdetail());
    if (cfg.threads == 0) {
        /* Half the CPUs: the committers and the engine's work under them
         * need CPU too, and so do clients on the same machine; on 2 cores
         * one I/O thread served more requests than two (in the benchmark,
         * where redis-benchmark takes a core of its own). */
        long n = sysconf(_SC_NPROCESSORS_ONLN) / 2;
        cfg.threads = n < 1 ? 1 : n > 16 ? 16 : (unsigned)n;
    }

    /* SIGTERM and SIGINT are taken by sigwait below; every thread started
     * from here on inherits the mask, so none of them is interrupted.  A
     * client that goes away must not kill the server with SIGPIPE. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    kvserver_fd_limit(&cfg.max_clients);

    cfg.sync = opt.sync;
#ifdef KVSERVER_CRASH
    /* The crash harness's hooks (KVSERVER_CRASHIO, KVSERVER_BROKEN), in
     * the test-only build: no effect unless their variables are set. */
    if (kvcrash_setup(dir, &opt, &cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "kvserver: %s\n", err);
        return KS_USAGE;
    }
#endif
    if ((rc = srv_start(&cfg, &s, addr, sizeof(addr), err, sizeof(err))) != 0) {
        fprintf(stderr, "kvserver: %s\n", err);
        return KS_SERVER;
    }
    if ((rc = cl_open(dir, &opt, &db)) != 0) {
        srv_stop(s);
        kvserver_report(report, rc, NULL);
        return kvserver_open_error(dir, rc);
    }
    {
        cl_recovery r;
        cl_recovery_report(db, &r);
        fprintf(stderr,
                "kvserver: %s %s (%" PRIu64 " log records replayed, %" PRIu64
                " us)\n",
                r.created ? "created" : "opened", dir, r.records, r.usec);
        if (kvserver_report(report, 0, &r) != 0) {
            srv_stop(s);
            cl_close(db);
            return KS_SERVER;
        }
    }
    if ((rc = srv_serve(s, db, err, sizeof(err))) != 0) {
        fprintf(stderr, "kvserver: %s\n", err);
        srv_stop(s);
        cl_close(db);
        return KS_SERVER;
    }
    printf("kvserver: listening on %s\n", addr);
    fflush(stdout);

    while (sigwait(&sigs, &sig) != 0)
        ;
    fprintf(stderr, "kvserver: %s: stopping\n",
            sig == SIGINT ? "SIGINT" : "SIGTERM");
    srv_stop(s);
    if ((rc = cl_checkpoint(db)) != 0) {
        fprintf(stderr, "kvserver: checkpoint: %s: %s\n", cl_strerror(rc),
                cl_errdetail());
        cl_errinfo(&ei);
        first = rc;
        status = KS_SERVER;
    }
    if ((rc = cl_close(db)) != 0) {
        fprintf(stderr, "kvserver: close: %s\n", cl_strerror(rc));
        if (first == 0) {
            cl_errinfo(&ei);
            first = rc;
        }
        status = KS_SERVER;
    }
    if (kvserver_report_stop(report, first, &ei) != 0)
        status = KS_SERVER;
#ifdef KVSERVER_CRASH
    kvcrash_done();
#endif
    return status;
}
