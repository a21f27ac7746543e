/*
 * applog.c - the worked example of `crashtest --exec` (docs/TARGETS.md):
 * a program that keeps a key-value state in a plain append-only log file
 * (applog.h) and acknowledges each transaction once its record is synced.
 *
 *   applog DIR     30 transactions on DIR/log; every 10th, the log is
 *                  compacted: the state so far is written to DIR/log.tmp,
 *                  synced, and renamed over DIR/log
 *
 * The crash-safe recipe, step by step:
 *   1. creating DIR/log: fsync of DIR, or the file may vanish in a power
 *      cut along with every acknowledged record in it;
 *   2. each transaction: declare it on fd 3, append its one record, fsync
 *      the log, and only then acknowledge it;
 *   3. compaction: write and fsync DIR/log.tmp, rename it over DIR/log,
 *      fsync DIR -- without that last step the rename may not survive a
 *      power cut, the old log comes back, and the records appended to the
 *      new one after it are lost although acknowledged.
 * Built with APPLOG_NO_DIRSYNC it skips the fsync of step 3: the
 * deliberately wrong variant (build/examples/applog-broken), which
 * crashtest must catch under power loss and only then.  Built with
 * APPLOG_FSYNC_RETRY it retries a failed fsync of step 2 and acknowledges
 * the transaction when the retry succeeds (applog-fsync-retry), as if the
 * data the failed fsync covered were still on its way to the disk: on
 * Linux the kernel may have dropped it, and the retry then has nothing to
 * write; crashtest's fsync-fail mode must catch it.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "applog.h"
#include "crashlab_ack.h"

#define APPLOG_TXNS 30
#define APPLOG_KEYS 5

static void applog_die(const char *what)
{
    perror(what);
    exit(1);
}

/* Append one record of n key/value pairs to fd (one write). */
static void applog_put(int fd, unsigned long id, const char *const *kv, int n)
{
    char line[512];
    int len = snprintf(line, sizeof(line), "%lu", id);

    for (int i = 0; i < 2 * n; i++)
        len += snprintf(line + len, sizeof(line) - (size_t)len, "\t%s", kv[i]);
    len += snprintf(line + len, sizeof(line) - (size_t)len, "\t%08x\n",
                    applog_hash(line, (size_t)len));
    if (write(fd, line, (size_t)len) != len)
        applog_die("write");
}

static void applog_dirsync(const char *dir)
{
    int d = open(dir, O_RDONLY | O_DIRECTORY);

    if (d < 0 || fsync(d) != 0 || close(d) != 0)
        applog_die("fsync of the directory");
}

int main(int argc, char **argv)
{
    char log[4096], tmp[4096], vals[APPLOG_KEYS][32], total[32];
    int fd;

    if (argc != 2) {
        fprintf(stderr, "usage: applog DIR\n");
        return 2;
    }
    snprintf(log, sizeof(log), "%.4000s/log", argv[1]);
    snprintf(tmp, sizeof(tmp), "%.4000s/log.tmp", argv[1]);
    memset(vals, 0, sizeof(vals));
    total[0] = '\0';
    /* 1. */
    if ((fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644)) < 0)
        applog_die("open");
    applog_dirsync(argv[1]);
    for (unsigned long id = 1; id <= APPLOG_TXNS; id++) {
        char key[16], val[32], tot[32];
        const char *kv[4] = {key, val, "total", tot};
        int n = id % 3 == 0 ? 2 : 1; /* every third sets two keys */

        /* 2. */
        snprintf(key, sizeof(key), "k%lu", id % APPLOG_KEYS);
        snprintf(val, sizeof(val), "v%lu", id);
        snprintf(tot, sizeof(tot), "%lu", id);
        crashlab_txn(id, key, val);
        if (n == 2)
            crashlab_txn(id, "total", tot);
        applog_put(fd, id, kv, n);
        if (fsync(fd) != 0)
#ifdef APPLOG_FSYNC_RETRY
            if (fsync(fd) != 0)
#endif
                applog_die("fsync");
        crashlab_ack(id);
        snprintf(vals[id % APPLOG_KEYS], sizeof(vals[0]), "%s", val);
        if (n == 2)
            snprintf(total, sizeof(total), "%s", tot);

        if (id % 10 == 0) {
            /* 3. */
            int t = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (t < 0)
                applog_die("open log.tmp");
            for (int k = 0; k < APPLOG_KEYS; k++) {
                char kk[16];
                const char *p[2] = {kk, vals[k]};
                snprintf(kk, sizeof(kk), "k%d", k);
                if (vals[k][0] != '\0')
                    applog_put(t, 0, p, 1);
            }
            if (total[0] != '\0') {
                const char *p[2] = {"total", total};
                applog_put(t, 0, p, 1);
            }
            if (fsync(t) != 0 || close(t) != 0 || close(fd) != 0)
                applog_die("fsync of log.tmp");
            if (rename(tmp, log) != 0)
                applog_die("rename");
#ifndef APPLOG_NO_DIRSYNC
            applog_dirsync(argv[1]);
#endif
            if ((fd = open(log, O_WRONLY | O_APPEND)) < 0)
                applog_die("open");
        }
    }
    if (close(fd) != 0)
        applog_die("close");
    return 0;
}
