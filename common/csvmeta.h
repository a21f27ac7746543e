/*
 * csvmeta.h - the machine-metadata lines that head every CSV of the
 * project (kvbench's, the experiments', the planted-bug matrix's, the
 * server benchmark's), in one vocabulary, so that one reader (a plot's
 * subtitle, a person) finds the same names everywhere:
 *
 *   machine: x86_64 <vendor> <product>, 23.5 GiB RAM[, virtual machine ...]
 *   CPU: <model name>
 *   cores: <online CPUs>
 *   kernel: Linux <release>
 *   file system: <type> on <device> mounted at <mount point> (<dir>)
 *   date: <UTC, ISO 8601>
 *   commit: <as given, or unknown>
 *   command: <as given>
 *
 * Shell scripts get the same lines from build/csvmeta (tools/csvmeta/).
 */
#ifndef CL_COMMON_CSVMETA_H
#define CL_COMMON_CSVMETA_H

#include <stdio.h>

/* Write the lines above to f, each starting with lead ("# " in a CSV, ""
 * in a report).  dir: the data directory whose file system is named (NULL:
 * the current one); commit and command: NULL or "" for unknown/none. */
void csvmeta_write(FILE *f, const char *lead, const char *dir,
                   const char *commit, const char *command);

#endif
