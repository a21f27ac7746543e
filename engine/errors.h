/*
 * errors.h - setting this thread's error detail and error info
 * (engine-internal).
 */
#ifndef CL_ERRORS_H
#define CL_ERRORS_H

#include <stdint.h>

#include "crashlab.h"

/* Record a detail message for this thread's current failure and return rc,
 * so call sites read: return err_set(CL_ECORRUPT, "page %u: ...", pgno);
 * The failure's kind is CL_ERRK_IO for an errno, CL_ERRK_STRUCTURE for
 * CL_ECORRUPT, CL_ERRK_NONE otherwise, with no file or place. */
int err_set(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The failure this thread recorded last (cl_errinfo's) if its code is rc,
 * else one of rc's kind (as err_set records it) with no place.  OUT:
 * *out. */
void err_cause(int rc, cl_err_info *out);

/* Record a refusal, CL_EREADONLY (returned), of a handle an earlier
 * failure made read-only: cl_errinfo gives the code CL_EREADONLY with
 * that failure's kind and place (cause), so that a program sees why. */
int err_set_readonly(const cl_err_info *cause, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* err_set with the failure's kind and place: file ("" or NULL if none),
 * byte offset (CL_ERR_NO_OFFSET if none), page number (0 if none). */
int err_set_at(int rc, cl_err_kind kind, const char *file, uint64_t offset,
               uint32_t pgno, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* Replace the message of the current failure (a caller adding context),
 * keeping its kind and place; returns rc. */
int err_reword(int rc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Forget this thread's failure: message and info. */
void err_clear(void);

#endif
