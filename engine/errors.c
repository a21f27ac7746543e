/*
 * errors.c - error names (cl_strerror) and the per-thread detail message
 * (cl_errdetail) that says which file, offset or page a failure concerns.
 */
#include "errors.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "crashlab.h"

static _Thread_local char err_detail[512];

int err_set(int rc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err_detail, sizeof(err_detail), fmt, ap);
    va_end(ap);
    return rc;
}

void err_clear(void)
{
    err_detail[0] = '\0';
}

const char *cl_errdetail(void)
{
    return err_detail;
}

const char *cl_strerror(int rc)
{
    switch (rc) {
    case CL_OK:
        return "success";
    case CL_ENOTFOUND:
        return "key not found";
    case CL_ECORRUPT:
        return "database corruption detected";
    case CL_EINVAL:
        return "invalid argument";
    case CL_ETOOBIG:
        return "key or value too large";
    case CL_EREADONLY:
        return "database is read-only after an I/O failure; reopen it";
    case CL_ELOCKED:
        return "database is locked by another process";
    case CL_ENOMEM:
        return "out of memory";
    case CL_EFORMAT:
        return "unsupported file format";
    }
    if (rc > 0)
        return strerror(rc);
    return "unknown error";
}
