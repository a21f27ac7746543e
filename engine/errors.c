/*
 * errors.c - error names (cl_strerror) and this thread's most recent
 * failure: a detail message (cl_errdetail) that says which file, offset or
 * page it concerns, and the same in fields (cl_errinfo).
 */
#include "errors.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char err_detail[512];
static _Thread_local cl_err_info err_info = {.offset = CL_ERR_NO_OFFSET};

/* Format into a buffer of its own first: an argument may be the current
 * message (a caller adding context to it). */
static void err_vmessage(const char *fmt, va_list ap)
{
    char msg[sizeof(err_detail)];

    vsnprintf(msg, sizeof(msg), fmt, ap);
    memcpy(err_detail, msg, sizeof(err_detail));
}

static void err_info_set(int rc, cl_err_kind kind, const char *file,
                         uint64_t offset, uint32_t pgno)
{
    err_info.code = rc;
    err_info.kind = kind;
    snprintf(err_info.file, sizeof(err_info.file), "%s", file ? file : "");
    err_info.offset = offset;
    err_info.pgno = pgno;
}

static cl_err_kind err_kind_of(int rc)
{
    return rc > 0              ? CL_ERRK_IO
           : rc == CL_ECORRUPT ? CL_ERRK_STRUCTURE
                               : CL_ERRK_NONE;
}

int err_set(int rc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    err_vmessage(fmt, ap);
    va_end(ap);
    err_info_set(rc, err_kind_of(rc), NULL, CL_ERR_NO_OFFSET, 0);
    return rc;
}

void err_cause(int rc, cl_err_info *out)
{
    if (err_info.code == rc && rc != 0) {
        *out = err_info;
        return;
    }
    memset(out, 0, sizeof(*out));
    out->code = rc;
    out->kind = err_kind_of(rc);
    out->offset = CL_ERR_NO_OFFSET;
}

int err_set_readonly(const cl_err_info *cause, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    err_vmessage(fmt, ap);
    va_end(ap);
    err_info_set(CL_EREADONLY, cause->kind, cause->file, cause->offset,
                 cause->pgno);
    return CL_EREADONLY;
}

int err_set_at(int rc, cl_err_kind kind, const char *file, uint64_t offset,
               uint32_t pgno, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    err_vmessage(fmt, ap);
    va_end(ap);
    err_info_set(rc, kind, file, offset, pgno);
    return rc;
}

int err_reword(int rc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    err_vmessage(fmt, ap);
    va_end(ap);
    err_info.code = rc;
    return rc;
}

void err_clear(void)
{
    err_detail[0] = '\0';
    err_info_set(0, CL_ERRK_NONE, NULL, CL_ERR_NO_OFFSET, 0);
}

const char *cl_errdetail(void)
{
    return err_detail;
}

int cl_errinfo(cl_err_info *out)
{
    if (out == NULL)
        return CL_EINVAL;
    *out = err_info;
    return 0;
}

const char *cl_err_kind_name(cl_err_kind kind)
{
    static const char *const names[] = {
        "none",       "io",   "page",      "wal-record", "wal-segment",
        "superblock", "meta", "lsn-ahead", "structure",
    };

    return (unsigned)kind < sizeof(names) / sizeof(names[0]) ? names[kind]
                                                             : "?";
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
