/*
 * errors.h - setting this thread's error detail (engine-internal).
 */
#ifndef CL_ERRORS_H
#define CL_ERRORS_H

/* Record a detail message for this thread's current failure and return rc,
 * so call sites read: return err_set(CL_ECORRUPT, "page %u: ...", pgno); */
int err_set(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Forget this thread's detail message. */
void err_clear(void);

#endif
