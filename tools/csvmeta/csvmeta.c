/*
 * csvmeta - print the machine-metadata lines of a CSV (common/csvmeta.h)
 * for shell scripts, so that the experiment scripts, scripts/mutants.sh and
 * scripts/bench-server.sh write the same lines as kvbench, from the same
 * code.
 *
 * Usage: csvmeta [--lead STR] [--dir DIR] [--commit C] [--] COMMAND...
 *   --lead STR   what each line starts with (default "# ")
 *   --dir DIR    the data directory whose file system is named
 *   --commit C   the commit line (default: unknown)
 *   COMMAND...   the command line, joined with spaces
 * Exit status: 0, or 2 on a usage error.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "csvmeta.h"

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"lead", required_argument, NULL, 'l'},
        {"dir", required_argument, NULL, 'd'},
        {"commit", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *lead = "# ", *dir = NULL, *commit = NULL;
    char cmd[8192];
    size_t n = 0;
    int c;

    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'l':
            lead = optarg;
            break;
        case 'd':
            dir = optarg;
            break;
        case 'c':
            commit = optarg;
            break;
        case 'h':
            puts("usage: csvmeta [--lead STR] [--dir DIR] [--commit C] [--] "
                 "COMMAND...");
            return 0;
        default:
            fputs("usage: csvmeta [--lead STR] [--dir DIR] [--commit C] [--] "
                  "COMMAND...\n",
                  stderr);
            return 2;
        }
    }
    cmd[0] = '\0';
    for (int i = optind; i < argc && n < sizeof(cmd); i++)
        n += (size_t)snprintf(cmd + n, sizeof(cmd) - n, "%s%s",
                              i > optind ? " " : "", argv[i]);
    csvmeta_write(stdout, lead, dir, commit, cmd);
    return fflush(stdout) == 0 ? 0 : 1;
}
