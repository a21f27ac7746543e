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
/* The summary as JSON, with what crashtest --merge needs to put the
 * shards of a campaign together again: the version, the shard, the
 * campaign's trial count or duration and the options that define its
 * trials. */
void rpt_json(FILE *f, const campaign *c, const trial_result *res, size_t n,
              uint64_t elapsed_us, int interrupted);
/* Write rows (with a header unless header is 0) to path.  Returns 0 or
 * -1. */
int rpt_csv_file(const char *path, const trial_result *res, size_t n,
                 int header);
void rpt_csv_header(FILE *f);
void rpt_csv_row(FILE *f, const trial_result *r);

/* ---- reading them back (report_read.c), for crashtest --merge ---- */

/* 1 if line is the CSV header rpt_csv_header writes (without its
 * newline). */
int rpt_csv_is_header(const char *line);
/* Parse one CSV row (without its newline) as rpt_csv_row writes it.
 * Returns 0, or -1 with the reason in err. */
int rpt_csv_parse(const char *line, trial_result *r, char *err, size_t errlen);
/* The value of "key" in a JSON summary written by rpt_json, after the
 * first occurrence of "key":, or NULL.  within: search only after this
 * key's opening brace (NULL: anywhere). */
const char *rpt_json_find(const char *json, const char *within,
                          const char *key);
/* The JSON string at v (as rpt_json_find gives it) unescaped into out.
 * Returns 0, or -1 if it is no string or does not fit. */
int rpt_json_string(const char *v, char *out, size_t len);
/* The JSON number at v.  Returns 0 or -1. */
int rpt_json_number(const char *v, double *out);

#endif
