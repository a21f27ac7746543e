/*
 * jsonstr.h - a string written as JSON, for every program that prints
 * JSON (crashtest's summary, kvbench's results).
 */
#ifndef CL_COMMON_JSONSTR_H
#define CL_COMMON_JSONSTR_H

#include <stdio.h>

/* s quoted and escaped as a JSON string: '"' and '\' escaped, control
 * characters as \u00XX. */
void json_put_string(FILE *f, const char *s);

#endif
