/*
 * crashtest.h - the crashtest program's command line: option parsing
 * (crashtest_opts.c), the expansion of mode and workload lists into a
 * campaign (crashtest_modes.c), and main (crashtest.c), which runs it.
 */
#ifndef CL_CRASHTEST_H
#define CL_CRASHTEST_H

#include "campaign.h"

/* What the command line says, and the campaign it is turned into. */
typedef struct ct_args {
    campaign c;
    const char *dirbase;       /* where the scratch directory goes */
    const char *mode_list;     /* --mode, as given ("all" by default) */
    const char *workload_list; /* --workload, as given ("all") */
    int have_seed;
    int no_swarm;      /* --no-swarm: every variant runs the campaign's
                          configuration */
    int server_target; /* --target names a server target */
    int help;          /* --help */
    int merge;         /* --merge: the rest are the shards' files */
    char **merge_files;
    int nmerge;
    int campaign_opts;       /* options given other than those --merge takes */
    int describe_only;       /* the campaign is only described (the shards'
                                of --merge): nothing it would run is looked
                                for */
    char kvserver[2100];     /* kvserver-crash next to this program */
    const char *exec_cmd;    /* --exec: a program to crash (exec.h) */
    const char *verify_cmd;  /* --verify: the program that reads it back */
    const char *preload;     /* --preload: the interposer's object */
    uint32_t exec_timeout;   /* --exec-timeout, seconds */
    const char *nondurable;  /* --nondurable: suffixes */
    int redis_target;        /* --target redis (redis.h) */
    const char *redis_fsync; /* --redis-fsync, or NULL */
} ct_args;

/* Run the --exec campaign the options describe.  Returns the exit
 * status. */
int ct_exec(ct_args *a);

/* Run the --target redis campaign the options describe.  Returns the
 * exit status. */
int ct_redis(ct_args *a);

/* The preload object: path if not NULL, else libcrashlab-preload.so next
 * to this program, into buf.  Returns 0, or 2 after a usage message. */
int ct_preload(const char *path, char *buf, size_t len);

/* The campaign seed of --exec and --target redis: --seed, or one drawn
 * from the clock and the process id; printed. */
uint64_t ct_seed(const ct_args *a);

/* Print msg and the pointer to --help on stderr.  Returns 2 (the exit
 * status of a usage error). */
int ct_usage(const char *msg);

/* Parse the options into a (defaults first).  Returns 0, or 2 after a
 * message on stderr. */
int ct_parse(int argc, char **argv, ct_args *a);

/* Fill what the options leave open: defaults, the modes and workloads the
 * lists name, the server and libfiu.  Returns 0, or 2 after a
 * message on stderr. */
int ct_expand(ct_args *a);

/* The lines a campaign starts with (on stderr with --json): its seed;
 * and, for an exhaustive campaign (after campaign_prepare), what it
 * enumerates. */
void ct_print_seed(const campaign *c);
void ct_print_exhaustive(const campaign *c);

/* crashtest --merge: put the shards named in a together and print the
 * campaign's summary.  Returns the exit status: 0, 1 (violations) or 2
 * (files that are not the whole of one campaign, after a message). */
int ct_merge(const ct_args *a);

/* Print the help text on stdout. */
void ct_print_help(void);

#endif
