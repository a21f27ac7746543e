/*
 * crashtest - fork-based crash campaigns against a storage engine.
 *
 * Exit status: 0 no violation, 1 at least one violation, 2 usage or set-up
 * error.  See --help and the README.  The options are parsed in
 * crashtest_opts.c and turned into a campaign in crashtest_modes.c; main
 * draws the seed, makes the scratch directory and runs the campaign.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "crashtest.h"
#include "crc32c.h"
#include "fsutil.h"
#include "interpose.h"
#include "report.h"
#include "util.h"

void ct_print_seed(const campaign *c)
{
    fprintf(c->json ? stderr : stdout, "crashtest: seed 0x%016" PRIx64 "\n",
            c->seed);
    fflush(NULL);
}

void ct_print_exhaustive(const campaign *c)
{
    if (c->exhaustive)
        fprintf(c->json ? stderr : stdout,
                "crashtest: exhaustive: workload %s, %" PRIu64
                " I/O points (%" PRIu64 " pwrites): %" PRIu64 " trials\n",
                wl_name(c->kinds[0]), c->profiles[0].points,
                c->profiles[0].npwrites, c->exhaustive_total);
}

/* Whether the file path (not "-": standard output) can be written: its
 * directory is there and writable, and so is the file if it is there.
 * The rows of a campaign are written at its end: this tells before it
 * runs.  Returns 0, or prints why not and returns -1. */
static int ct_writable(const char *path, const char *what)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');

    if (strcmp(path, "-") == 0)
        return 0;
    if (slash == NULL)
        snprintf(dir, sizeof(dir), ".");
    else
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path + 1), path);
    if (access(dir, W_OK | X_OK) != 0 ||
        (access(path, F_OK) == 0 && access(path, W_OK) != 0)) {
        fprintf(stderr, "crashtest: %s %s cannot be written: %s\n", what, path,
                strerror(errno));
        return -1;
    }
    return 0;
}

/* Draw the seed if none was given, print it, make the scratch directory
 * and run the campaign.  Returns the exit status. */
static int ct_run(ct_args *a)
{
    campaign *c = &a->c;
    char scratch[2900];
    int rc;

    if (c->csv != NULL && ct_writable(c->csv, "--csv") != 0)
        return 2;
    if (c->env.keep_dir != NULL && fs_mkdirs(c->env.keep_dir) != 0) {
        fprintf(stderr, "crashtest: --keep-failures %s: cannot make it: %s\n",
                c->env.keep_dir, strerror(errno));
        return 2;
    }
    c->env.writers_on_disk = c->env.keep_dir != NULL;

    if (!a->have_seed) {
        while (getrandom(&c->seed, sizeof(c->seed), 0) != sizeof(c->seed))
            c->seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    }
    ct_print_seed(c);

    snprintf(scratch, sizeof(scratch), "%.2800s/crashtest-XXXXXX", a->dirbase);
    if (fs_mkdirs(a->dirbase) != 0 || mkdtemp(scratch) == NULL) {
        fprintf(stderr, "crashtest: cannot make a directory in %s: %s\n",
                a->dirbase, strerror(errno));
        return 2;
    }
    snprintf(c->dir, sizeof(c->dir), "%s", scratch);
    if (campaign_prepare(c) != 0) {
        fs_rmrf(c->dir);
        campaign_free(c);
        return 2;
    }
    ct_print_exhaustive(c);
    rc = campaign_run(c);
    fs_rmrf(c->dir);
    campaign_free(c);
    return rc;
}

static int ct_main(int argc, char **argv)
{
    static ct_args a;
    int rc;

    /* Every writer and verifier is a forked process, and with
     * lazy binding each of them would look up again every library function
     * it calls (writing, and so copying, the pages that hold the bindings).
     * Binding them all once, before the first fork, spares that.  And each
     * of them grows its heap into pages it touches for the first time,
     * where a page fault costs microseconds (tens of them in a virtual
     * machine): glibc's malloc asks for transparent huge pages for its
     * heap with glibc.malloc.hugetlb=1, one fault for 2 MiB where the
     * kernel allows them (docs/PERFORMANCE.md).  Both are read when a
     * process starts: run again with them set, once (a tunable the user
     * set stays; if the exec fails, go on without; the programs it runs
     * get the user's values). */
    util_reexec_tuned(argv);
    rpt_program = argv[0];
    /* a campaign stopped (Ctrl-Z) and continued is not a hang */
    util_watch_continue();
    /* ISA-L picks its CRC routine on first use (cpuid, slow in a VM):
     * choose it once here so every forked child inherits the choice. */
    (void)crc32c("crashlab", 8);
    /* And every file call of the harness and of the targets linked into
     * it goes through the interposer's wrappers, which look up the C
     * library's function at their first call: all of them once, here. */
    interpose_bind_now();
    if ((rc = ct_parse(argc, argv, &a)) != 0)
        return rc;
    if (a.help) {
        ct_print_help();
        return 0;
    }
    if (a.merge)
        return ct_merge(&a);
    if (a.redis_target)
        return ct_redis(&a);
    if (a.exec_cmd != NULL || a.verify_cmd != NULL)
        return ct_exec(&a);
    if ((rc = ct_expand(&a)) != 0)
        return rc;
    return ct_run(&a);
}

int main(int argc, char **argv)
{
    int rc = ct_main(argc, argv);

    /* a summary or rows that could not be written are a failed run */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "crashtest: cannot write the standard output: %s\n",
                strerror(errno));
        return 2;
    }
    return rc;
}
