/*
 * report.h - what a campaign prints: progress, violations with their
 * replay command, the summary, CSV rows and JSON.
 */
#ifndef CL_REPORT_H
#define CL_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "campaign.h"

/* The program name used in replay commands (argv[0]). */
extern const char *rpt_program;

/* The command line that replays trial id of campaign c. */
void rpt_replay_command(const campaign *c, uint64_t id, char *buf, size_t len);
/* One line for a violation as soon as it is found, with its replay
 * command. */
void rpt_violation(FILE *f, const campaign *c, const trial_result *r);
/* The plan of one trial (replay). */
void rpt_spec(FILE *f, const campaign *c, const trial_spec *s);
/* The outcome of one trial (replay). */
void rpt_result(FILE *f, const campaign *c, const trial_result *r);
/* The progress line: on a terminal rewritten in place, else a plain line
 * every 10 s; final ends it. */
void rpt_progress(FILE *f, const campaign *c, const trial_result *res, size_t n,
                  uint64_t total, uint64_t elapsed_us, int final);
/* The summary (f NULL: only count).  Returns the number of violations. */
int rpt_summary(FILE *f, const campaign *c, const trial_result *res, size_t n,
                uint64_t elapsed_us, int interrupted);
void rpt_json(FILE *f, const campaign *c, const trial_result *res, size_t n,
              uint64_t elapsed_us);
/* Write rows (with a header unless header is 0) to path.  Returns 0 or
 * -1. */
int rpt_csv_file(const char *path, const trial_result *res, size_t n,
                 int header);
void rpt_csv_header(FILE *f);
void rpt_csv_row(FILE *f, const trial_result *r);

#endif
