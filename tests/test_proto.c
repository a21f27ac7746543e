/*
 * test_proto.c - kvserver's protocol module: protocol detection, both
 * parsers (every command, limits, binary data, invalid input, requests
 * split at every byte boundary) and the exact bytes of every reply.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "testutil.h"

/* Parse buf as exactly one request of kind and return it. */
static proto_req parse_one(proto_kind kind, const char *buf, size_t len)
{
    proto_req req;
    size_t used = 0;
    const char *err = NULL;
    int r = proto_parse(kind, (const uint8_t *)buf, len, &req, &used, &err);

    if (r != PROTO_OK)
        fail_msg("parse of '%.*s' gave %d (%s)", (int)len, buf, r,
                 err ? err : "");
    assert_int_equal(used, len);
    return req;
}

static void assert_arg(const proto_req *req, size_t i, const char *s)
{
    assert_true(i < req->argc);
    assert_int_equal(req->argl[i], strlen(s));
    assert_memory_equal(req->argv[i], s, strlen(s));
}

/* The command of a one-request buffer, and its error message. */
static proto_op command_of(proto_kind kind, const char *buf, char *err)
{
    proto_req req = parse_one(kind, buf, strlen(buf));

    err[0] = '\0';
    return proto_command(kind, &req, err, 128);
}

static void assert_bad(proto_kind kind, const void *buf, size_t len,
                       const char *why)
{
    proto_req req;
    size_t used = 0;
    const char *err = NULL;
    int r = proto_parse(kind, buf, len, &req, &used, &err);

    if (r != PROTO_BAD)
        fail_msg("'%.*s' parsed as %d, expected a protocol error",
                 (int)(len > 40 ? 40 : len), (const char *)buf, r);
    assert_non_null(err);
    if (why != NULL && strstr(err, why) == NULL)
        fail_msg("error '%s' does not mention '%s'", err, why);
}

static void assert_need(proto_kind kind, const char *buf)
{
    proto_req req;
    size_t used = 0;
    const char *err = NULL;

    assert_int_equal(
        proto_parse(kind, (const uint8_t *)buf, strlen(buf), &req, &used, &err),
        PROTO_NEED);
}

/* ---------------------------------------------------------------------- */

static void test_proto_detect(void **state)
{
    (void)state;
    assert_int_equal(proto_detect((const uint8_t *)"", 0), 0);
    assert_int_equal(proto_detect((const uint8_t *)"*", 1), PROTO_RESP);
    assert_int_equal(proto_detect((const uint8_t *)"*1\r\n$4\r\nPING\r\n", 14),
                     PROTO_RESP);
    assert_int_equal(proto_detect((const uint8_t *)"PING\r\n", 6), PROTO_RESP);
    assert_int_equal(proto_detect((const uint8_t *)"PING\n", 5), PROTO_LINE);
    assert_int_equal(proto_detect((const uint8_t *)"\n", 1), PROTO_LINE);
    assert_int_equal(proto_detect((const uint8_t *)"PING", 4), 0);
    assert_int_equal(proto_detect((const uint8_t *)"PING\r", 5), 0);

    char *big = malloc(PROTO_REQ_MAX);
    memset(big, 'x', PROTO_REQ_MAX);
    assert_int_equal(proto_detect((uint8_t *)big, PROTO_REQ_MAX - 1), 0);
    assert_int_equal(proto_detect((uint8_t *)big, PROTO_REQ_MAX), PROTO_LINE);
    free(big);
}

static void test_proto_line_commands(void **state)
{
    char err[128];
    proto_req r;
    (void)state;

    r = parse_one(PROTO_LINE, "SET lang c\n", 11);
    assert_int_equal(r.argc, 3);
    assert_arg(&r, 0, "SET");
    assert_arg(&r, 1, "lang");
    assert_arg(&r, 2, "c");
    assert_int_equal(command_of(PROTO_LINE, "SET lang c\n", err), PROTO_OP_SET);

    /* The value is the rest of the line after the one space ending the
     * key: inner and extra spaces are kept, a "\r" before "\n" is not. */
    r = parse_one(PROTO_LINE, "set  k  two  words \r\n", 21);
    assert_int_equal(r.argc, 3);
    assert_arg(&r, 0, "set");
    assert_arg(&r, 1, "k");
    assert_arg(&r, 2, " two  words ");
    r = parse_one(PROTO_LINE, "SET k \n", 7);
    assert_int_equal(r.argc, 3);
    assert_arg(&r, 2, "");
    assert_int_equal(command_of(PROTO_LINE, "SET k \n", err), PROTO_OP_SET);

    assert_int_equal(command_of(PROTO_LINE, "GET k\n", err), PROTO_OP_GET);
    assert_int_equal(command_of(PROTO_LINE, "get k\r\n", err), PROTO_OP_GET);
    assert_int_equal(command_of(PROTO_LINE, "DEL k\n", err), PROTO_OP_DEL);
    assert_int_equal(command_of(PROTO_LINE, "PING\n", err), PROTO_OP_PING);
    assert_int_equal(command_of(PROTO_LINE, "  ping  \n", err), PROTO_OP_PING);
    assert_int_equal(command_of(PROTO_LINE, "STATS\n", err), PROTO_OP_STATS);
    assert_int_equal(command_of(PROTO_LINE, "QUIT\n", err), PROTO_OP_QUIT);

    /* Missing or extra arguments. */
    static const char *wrong[] = {"SET\n",     "SET k\n",   "GET\n",
                                  "GET a b\n", "DEL\n",     "DEL a b\n",
                                  "PING x\n",  "STATS x\n", "QUIT now\n"};
    for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
        assert_int_equal(command_of(PROTO_LINE, wrong[i], err), PROTO_OP_ERROR);
        assert_non_null(strstr(err, "wrong number of arguments"));
    }

    /* Unknown, and RESP-only, commands. */
    assert_int_equal(command_of(PROTO_LINE, "FROB x\n", err), PROTO_OP_ERROR);
    assert_string_equal(err, "unknown command 'frob'");
    assert_int_equal(command_of(PROTO_LINE, "EXISTS k\n", err), PROTO_OP_ERROR);
    assert_int_equal(command_of(PROTO_LINE, "DBSIZE\n", err), PROTO_OP_ERROR);
    assert_int_equal(command_of(PROTO_LINE, "\x01\xff\x7f\n", err),
                     PROTO_OP_ERROR);
    assert_string_equal(err, "unknown command '?\?\?'");
}

static void test_proto_line_skip_and_need(void **state)
{
    proto_req req;
    size_t used = 0;
    const char *err = NULL;
    (void)state;

    assert_int_equal(
        proto_parse(PROTO_LINE, (const uint8_t *)"\n", 1, &req, &used, &err),
        PROTO_SKIP);
    assert_int_equal(used, 1);
    assert_int_equal(proto_parse(PROTO_LINE, (const uint8_t *)"   \r\nPING\n",
                                 10, &req, &used, &err),
                     PROTO_SKIP);
    assert_int_equal(used, 5);
    assert_need(PROTO_LINE, "");
    assert_need(PROTO_LINE, "SET k v");
    assert_need(PROTO_LINE, "SET k v\r");
}

static void test_proto_line_limits(void **state)
{
    size_t n = CL_KEY_MAX + CL_VALUE_MAX + 16;
    char *buf = malloc(PROTO_REQ_MAX + 16), err[128];
    proto_req req;
    (void)state;

    /* The largest key and value fit; one byte more of either does not,
     * but only the command fails, the stream is fine. */
    for (int extra_k = 0; extra_k <= 1; extra_k++)
        for (int extra_v = 0; extra_v <= 1; extra_v++) {
            size_t kl = CL_KEY_MAX + extra_k, vl = CL_VALUE_MAX + extra_v;
            n = (size_t)sprintf(buf, "SET ");
            memset(buf + n, 'k', kl);
            n += kl;
            buf[n++] = ' ';
            memset(buf + n, 'v', vl);
            n += vl;
            buf[n++] = '\n';
            req = parse_one(PROTO_LINE, buf, n);
            assert_int_equal(req.argl[1], kl);
            assert_int_equal(req.argl[2], vl);
            proto_op op = proto_command(PROTO_LINE, &req, err, sizeof(err));
            if (extra_k) {
                assert_int_equal(op, PROTO_OP_ERROR);
                assert_non_null(strstr(err, "key too long"));
            } else if (extra_v) {
                assert_int_equal(op, PROTO_OP_ERROR);
                assert_non_null(strstr(err, "value too long"));
            } else
                assert_int_equal(op, PROTO_OP_SET);
        }

    /* A line of exactly PROTO_REQ_MAX bytes with its newline is parsed; a
     * longer one is a protocol error as soon as PROTO_REQ_MAX bytes are
     * there without a newline. */
    memset(buf, 'x', PROTO_REQ_MAX + 16);
    buf[PROTO_REQ_MAX - 1] = '\n';
    req = parse_one(PROTO_LINE, buf, PROTO_REQ_MAX);
    assert_int_equal(req.argl[0], PROTO_REQ_MAX - 1);
    buf[PROTO_REQ_MAX - 1] = 'x';
    buf[PROTO_REQ_MAX] = '\n';
    assert_bad(PROTO_LINE, buf, PROTO_REQ_MAX + 1, "line too long");
    assert_bad(PROTO_LINE, buf, PROTO_REQ_MAX, "line too long");
    {
        size_t used;
        const char *e;
        assert_int_equal(proto_parse(PROTO_LINE, (uint8_t *)buf,
                                     PROTO_REQ_MAX - 1, &req, &used, &e),
                         PROTO_NEED);
    }
    free(buf);
}

/* A RESP array of the given C strings. */
static size_t resp_encode(char *out, int n, ...)
{
    va_list ap;
    size_t len = (size_t)sprintf(out, "*%d\r\n", n);

    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        const char *a = va_arg(ap, const char *);
        len += (size_t)sprintf(out + len, "$%zu\r\n%s\r\n", strlen(a), a);
    }
    va_end(ap);
    return len;
}

static proto_op resp_command(char *err, int n, ...)
{
    char buf[4096];
    va_list ap;
    size_t len = (size_t)sprintf(buf, "*%d\r\n", n);
    proto_req req;

    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        const char *a = va_arg(ap, const char *);
        len += (size_t)sprintf(buf + len, "$%zu\r\n%s\r\n", strlen(a), a);
    }
    va_end(ap);
    req = parse_one(PROTO_RESP, buf, len);
    err[0] = '\0';
    return proto_command(PROTO_RESP, &req, err, 128);
}

static void test_proto_resp_commands(void **state)
{
    char err[128], buf[512];
    proto_req r;
    size_t n;
    (void)state;

    n = resp_encode(buf, 3, "SET", "key", "a value");
    r = parse_one(PROTO_RESP, buf, n);
    assert_int_equal(r.argc, 3);
    assert_arg(&r, 1, "key");
    assert_arg(&r, 2, "a value");

    assert_int_equal(resp_command(err, 3, "set", "k", "v"), PROTO_OP_SET);
    assert_int_equal(resp_command(err, 3, "SET", "k", ""), PROTO_OP_SET);
    assert_int_equal(resp_command(err, 2, "GET", "k"), PROTO_OP_GET);
    assert_int_equal(resp_command(err, 2, "DEL", "k"), PROTO_OP_DEL);
    assert_int_equal(resp_command(err, 4, "DEL", "a", "b", "c"), PROTO_OP_DEL);
    assert_int_equal(resp_command(err, 3, "EXISTS", "a", "b"), PROTO_OP_EXISTS);
    assert_int_equal(resp_command(err, 1, "PING"), PROTO_OP_PING);
    assert_int_equal(resp_command(err, 2, "PING", "hi"), PROTO_OP_PING);
    assert_int_equal(resp_command(err, 1, "DBSIZE"), PROTO_OP_DBSIZE);
    assert_int_equal(resp_command(err, 1, "INFO"), PROTO_OP_INFO);
    assert_int_equal(resp_command(err, 2, "INFO", "server"), PROTO_OP_INFO);
    assert_int_equal(resp_command(err, 1, "COMMAND"), PROTO_OP_COMMAND);
    assert_int_equal(resp_command(err, 2, "COMMAND", "DOCS"), PROTO_OP_COMMAND);
    assert_int_equal(resp_command(err, 3, "CONFIG", "GET", "save"),
                     PROTO_OP_CONFIG);
    assert_int_equal(resp_command(err, 1, "STATS"), PROTO_OP_STATS);
    assert_int_equal(resp_command(err, 1, "QUIT"), PROTO_OP_QUIT);

    assert_int_equal(resp_command(err, 2, "SET", "k"), PROTO_OP_ERROR);
    assert_string_equal(err, "wrong number of arguments for 'set' command");
    assert_int_equal(resp_command(err, 5, "SET", "k", "v", "EX", "10"),
                     PROTO_OP_ERROR);
    assert_non_null(strstr(err, "syntax error"));
    assert_int_equal(resp_command(err, 1, "GET"), PROTO_OP_ERROR);
    assert_int_equal(resp_command(err, 3, "GET", "a", "b"), PROTO_OP_ERROR);
    assert_int_equal(resp_command(err, 1, "DEL"), PROTO_OP_ERROR);
    assert_int_equal(resp_command(err, 1, "EXISTS"), PROTO_OP_ERROR);
    assert_int_equal(resp_command(err, 3, "PING", "a", "b"), PROTO_OP_ERROR);
    assert_int_equal(resp_command(err, 2, "DBSIZE", "x"), PROTO_OP_ERROR);
    assert_int_equal(resp_command(err, 1, "CONFIG"), PROTO_OP_ERROR);
    assert_int_equal(resp_command(err, 2, "FLUSHALL", "x"), PROTO_OP_ERROR);
    assert_string_equal(err, "unknown command 'flushall'");
    assert_int_equal(resp_command(err, 2, "GET", ""), PROTO_OP_ERROR);
    assert_non_null(strstr(err, "empty key"));
}

static void test_proto_resp_many_keys(void **state)
{
    char *buf = malloc(65536), err[128];
    size_t n;
    proto_req r;
    (void)state;

    /* As many keys as are recorded: fine; one more: a command error. */
    for (int nkeys = PROTO_MAX_ARGS - 1; nkeys <= PROTO_MAX_ARGS; nkeys++) {
        n = (size_t)sprintf(buf, "*%d\r\n$3\r\nDEL\r\n", nkeys + 1);
        for (int i = 0; i < nkeys; i++)
            n += (size_t)sprintf(buf + n, "$3\r\nk%02d\r\n", i);
        r = parse_one(PROTO_RESP, buf, n);
        assert_int_equal(r.argc, (size_t)nkeys + 1);
        if (nkeys < PROTO_MAX_ARGS) {
            assert_int_equal(proto_command(PROTO_RESP, &r, err, sizeof(err)),
                             PROTO_OP_DEL);
            assert_arg(&r, (size_t)nkeys, "k30");
        } else {
            assert_int_equal(proto_command(PROTO_RESP, &r, err, sizeof(err)),
                             PROTO_OP_ERROR);
            assert_non_null(strstr(err, "too many keys"));
        }
    }
    /* The largest array accepted, of empty strings. */
    n = (size_t)sprintf(buf, "*%d\r\n", PROTO_RESP_MAX_ARGS);
    for (int i = 0; i < PROTO_RESP_MAX_ARGS; i++)
        n += (size_t)sprintf(buf + n, "$0\r\n\r\n");
    r = parse_one(PROTO_RESP, buf, n);
    assert_int_equal(r.argc, PROTO_RESP_MAX_ARGS);
    free(buf);
}

static void test_proto_resp_binary(void **state)
{
    uint8_t key[256], val[1024], buf[2048];
    size_t n;
    proto_req r;
    char err[128];
    (void)state;

    for (int i = 0; i < 256; i++)
        key[i] = (uint8_t)(255 - i);
    for (int i = 0; i < 1024; i++)
        val[i] = (uint8_t)(i * 7);
    n = (size_t)sprintf((char *)buf, "*3\r\n$3\r\nSET\r\n$256\r\n");
    memcpy(buf + n, key, 256);
    n += 256;
    n += (size_t)sprintf((char *)buf + n, "\r\n$1024\r\n");
    memcpy(buf + n, val, 1024);
    n += 1024;
    memcpy(buf + n, "\r\n", 2);
    n += 2;
    r = parse_one(PROTO_RESP, (char *)buf, n);
    assert_int_equal(r.argl[1], 256);
    assert_memory_equal(r.argv[1], key, 256);
    assert_int_equal(r.argl[2], 1024);
    assert_memory_equal(r.argv[2], val, 1024);
    assert_int_equal(proto_command(PROTO_RESP, &r, err, sizeof(err)),
                     PROTO_OP_SET);
}

static void test_proto_resp_limits(void **state)
{
    char *buf = malloc(PROTO_REQ_MAX + 64), err[128];
    size_t n;
    proto_req r;
    (void)state;

    /* Largest value: fine; one byte over the engine's limit: a command
     * error with the stream intact. */
    for (int extra = 0; extra <= 1; extra++) {
        size_t vl = CL_VALUE_MAX + extra;
        n = (size_t)sprintf(buf, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%zu\r\n", vl);
        memset(buf + n, 'v', vl);
        n += vl;
        memcpy(buf + n, "\r\n", 2);
        n += 2;
        r = parse_one(PROTO_RESP, buf, n);
        assert_int_equal(proto_command(PROTO_RESP, &r, err, sizeof(err)),
                         extra ? PROTO_OP_ERROR : PROTO_OP_SET);
    }
    /* A bulk string that cannot fit in a request is refused at once, from
     * its header alone. */
    n = (size_t)sprintf(buf, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n",
                        PROTO_REQ_MAX);
    assert_bad(PROTO_RESP, buf, n, "request too large");
    n = (size_t)sprintf(buf, "*1\r\n$%d\r\n", PROTO_REQ_MAX + 1);
    assert_bad(PROTO_RESP, buf, n, "invalid bulk length");
    /* Many small strings adding up to more than a request. */
    n = (size_t)sprintf(buf, "*4000\r\n");
    while (n + 40 < PROTO_REQ_MAX + 64) {
        n += (size_t)sprintf(buf + n, "$30\r\n%030d\r\n", 0);
        if (n >= PROTO_REQ_MAX)
            break;
    }
    assert_bad(PROTO_RESP, buf, n, "request too large");
    free(buf);
}

static void test_proto_resp_invalid(void **state)
{
    static const struct {
        const char *in;
        const char *why;
    } bad[] = {
        {"*-1\r\n", "multibulk length"},
        {"*-5\r\n", "multibulk length"},
        {"*4097\r\n", "multibulk length"},
        {"*1234567890123456789\r\n", "multibulk length"},
        {"*99999999999999999999999\r\n", "multibulk length"},
        {"*\r\n", "multibulk length"},
        {"*x\r\n", "multibulk length"},
        {"*+1\r\n", "multibulk length"},
        {"*1\n", "multibulk length"},
        {"*1\r\r", "multibulk length"},
        {"*1 \r\n", "multibulk length"},
        {"*1\r\n$-1\r\n", "bulk length"},
        {"*1\r\n$\r\n", "bulk length"},
        {"*1\r\n$99999999999\r\n", "bulk length"},
        {"*1\r\n$3x\r\n", "bulk length"},
        {"*1\r\n:5\r\n", "expected '$'"},
        {"*1\r\n+PING\r\n", "expected '$'"},
        {"*2\r\n$4\r\nPING\r\n*1\r\n", "expected '$'"},
        {"*1\r\n$4\r\nPINGx\r\n", "CRLF"},
        {"*1\r\n$4\r\nPING\n\r", "CRLF"},
        {"*1\r\n$4\r\nPIN\r\n\r\n", "CRLF"},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_bad(PROTO_RESP, bad[i].in, strlen(bad[i].in), bad[i].why);
    /* Truncated but valid so far: more is needed. */
    static const char *partial[] = {"*",
                                    "*1",
                                    "*1\r",
                                    "*1\r\n",
                                    "*1\r\n$",
                                    "*1\r\n$4",
                                    "*1\r\n$4\r\n",
                                    "*1\r\n$4\r\nPI",
                                    "*1\r\n$4\r\nPING",
                                    "*1\r\n$4\r\nPING\r",
                                    "*-",
                                    "*12345678901234",
                                    "*1\r\n$-0\r\n"}; /* "-0" is 0 */
    for (size_t i = 0; i < sizeof(partial) / sizeof(partial[0]); i++)
        assert_need(PROTO_RESP, partial[i]);
}

static void test_proto_resp_inline_and_empty(void **state)
{
    proto_req r;
    size_t used = 0;
    const char *err = NULL;
    char e[128];
    (void)state;

    r = parse_one(PROTO_RESP, "PING\r\n", 6);
    assert_int_equal(r.argc, 1);
    assert_int_equal(proto_command(PROTO_RESP, &r, e, sizeof(e)),
                     PROTO_OP_PING);
    /* Inline SET splits every word: no rest-of-line value. */
    r = parse_one(PROTO_RESP, "SET a b c\r\n", 11);
    assert_int_equal(r.argc, 4);
    assert_int_equal(proto_command(PROTO_RESP, &r, e, sizeof(e)),
                     PROTO_OP_ERROR);
    assert_int_equal(proto_parse(PROTO_RESP, (const uint8_t *)"*0\r\n*1\r\n", 8,
                                 &r, &used, &err),
                     PROTO_SKIP);
    assert_int_equal(used, 4);
    assert_int_equal(
        proto_parse(PROTO_RESP, (const uint8_t *)"\r\n", 2, &r, &used, &err),
        PROTO_SKIP);
}

/* ---------------------------------------------------------------------- */
/* streams split at every byte boundary                                   */
/* ---------------------------------------------------------------------- */

/* Feed stream to the parsers as a connection would receive it, in pieces
 * cut at the given offsets, detecting the protocol from the first bytes as
 * the server does, and describe what came out: one "argc:arg|arg|...;" per
 * request ("SKIP;" and "BAD:<err>;" for the others, stopping at BAD). */
static char *transcript(const uint8_t *stream, size_t len, const size_t *cuts,
                        size_t ncuts, char *out, size_t cap)
{
    uint8_t *buf = malloc(len + 1);
    size_t have = 0, off = 0, o = 0, next = 0;
    proto_kind kind = 0;

    out[0] = '\0';
    for (size_t piece = 0; piece <= ncuts; piece++) {
        size_t end = piece < ncuts ? cuts[piece] : len;
        memcpy(buf + have, stream + next, end - next);
        have += end - next;
        next = end;
        if (kind == 0 &&
            (kind = (proto_kind)proto_detect(buf + off, have - off)) == 0)
            continue;
        for (;;) {
            proto_req req;
            size_t used = 0;
            const char *err = NULL;
            int r = proto_parse(kind, buf + off, have - off, &req, &used, &err);
            if (r == PROTO_NEED)
                break;
            if (r == PROTO_BAD) {
                o += (size_t)snprintf(out + o, cap - o, "BAD:%s;", err);
                free(buf);
                return out;
            }
            off += used;
            if (r == PROTO_SKIP) {
                o += (size_t)snprintf(out + o, cap - o, "SKIP;");
                continue;
            }
            o += (size_t)snprintf(out + o, cap - o, "%zu:", req.argc);
            for (size_t i = 0; i < req.argc && i < PROTO_MAX_ARGS; i++) {
                for (size_t j = 0; j < req.argl[i] && o + 4 < cap; j++) {
                    uint8_t c = req.argv[i][j];
                    if (c >= 0x20 && c < 0x7f && c != '|' && c != ';')
                        out[o++] = (char)c;
                    else
                        o += (size_t)snprintf(out + o, cap - o, "\\%02x", c);
                }
                o += (size_t)snprintf(out + o, cap - o, "|");
            }
            o += (size_t)snprintf(out + o, cap - o, ";");
        }
    }
    if (off < have)
        o += (size_t)snprintf(out + o, cap - o, "REST:%zu;", have - off);
    free(buf);
    return out;
}

/* Every way of cutting stream in two, and byte by byte, gives the same
 * requests as the whole stream at once. */
static void check_splits(const void *stream, size_t len, const char *expect)
{
    size_t cap = 64 * 1024, *cuts = malloc(len * sizeof(size_t));
    char *whole = malloc(cap), *got = malloc(cap);

    transcript(stream, len, NULL, 0, whole, cap);
    if (expect != NULL)
        assert_string_equal(whole, expect);
    for (size_t k = 0; k <= len; k++) {
        transcript(stream, len, &k, 1, got, cap);
        if (strcmp(got, whole) != 0)
            fail_msg("cut at %zu: got %s, whole %s", k, got, whole);
    }
    for (size_t k = 0; k < len; k++)
        cuts[k] = k;
    transcript(stream, len, cuts, len, got, cap);
    assert_string_equal(got, whole);
    free(cuts);
    free(whole);
    free(got);
}

static void test_proto_split_line(void **state)
{
    static const char s[] = "SET a one two\nGET a\n\nDEL a\r\n  PING\nSTATS\n"
                            "SET k \nQUIT\nGET partial";
    (void)state;
    check_splits(s, strlen(s),
                 "3:SET|a|one two|;2:GET|a|;SKIP;2:DEL|a|;1:PING|;1:STATS|;"
                 "3:SET|k||;1:QUIT|;REST:11;");
}

static void test_proto_split_resp(void **state)
{
    uint8_t s[512];
    size_t n = 0;
    (void)state;

    n += (size_t)sprintf((char *)s + n, "*3\r\n$3\r\nSET\r\n$2\r\nk1\r\n"
                                        "$5\r\n");
    memcpy(s + n, "a\r\n\0b", 5); /* binary value with CRLF and NUL */
    n += 5;
    n += (size_t)sprintf((char *)s + n, "\r\n*2\r\n$3\r\nGET\r\n$2\r\nk1\r\n"
                                        "*0\r\n*1\r\n$4\r\nPING\r\nPING\r\n"
                                        "*2\r\n$3\r\nDEL\r\n$0\r\n\r\n");
    check_splits(s, n,
                 "3:SET|k1|a\\0d\\0a\\00b|;2:GET|k1|;SKIP;1:PING|;1:PING|;"
                 "2:DEL||;");
}

static void test_proto_split_bad(void **state)
{
    static const char resp[] = "*1\r\n$4\r\nPING\r\n*1\r\n$-3\r\nxyz";
    static const char line[] = "PING\nGET x\n";
    (void)state;
    check_splits(resp, strlen(resp),
                 "1:PING|;BAD:Protocol error: invalid bulk length;");
    check_splits(line, strlen(line), "1:PING|;2:GET|x|;");
}

/* Random pipelines of random requests, binary keys and values included. */
static void test_proto_split_random(void **state)
{
    rng gen = {20240607};
    uint8_t *s = malloc(4096);
    (void)state;

    for (int round = 0; round < 20; round++) {
        size_t n = 0;
        int resp = round % 2;
        for (int req = 0; req < 6; req++) {
            uint8_t key[16], val[40];
            size_t kl = 1 + rng_below(&gen, sizeof(key)),
                   vl = rng_below(&gen, sizeof(val));
            rng_fill(&gen, key, kl);
            rng_fill(&gen, val, vl);
            if (!resp) { /* line protocol: no spaces or newlines inside */
                for (size_t i = 0; i < kl; i++)
                    if (key[i] == ' ' || key[i] == '\n' || key[i] == '\r')
                        key[i] = 'k';
                for (size_t i = 0; i < vl; i++)
                    if (val[i] == '\n' || val[i] == '\r')
                        val[i] = 'v';
                n += (size_t)sprintf((char *)s + n, "SET ");
                memcpy(s + n, key, kl);
                n += kl;
                s[n++] = ' ';
                memcpy(s + n, val, vl);
                n += vl;
                s[n++] = '\n';
            } else {
                n += (size_t)sprintf((char *)s + n,
                                     "*3\r\n$3\r\nSET\r\n$%zu\r\n", kl);
                memcpy(s + n, key, kl);
                n += kl;
                n += (size_t)sprintf((char *)s + n, "\r\n$%zu\r\n", vl);
                memcpy(s + n, val, vl);
                n += vl;
                s[n++] = '\r';
                s[n++] = '\n';
            }
        }
        check_splits(s, n, NULL);
    }
    free(s);
}

/* ---------------------------------------------------------------------- */
/* replies                                                                */
/* ---------------------------------------------------------------------- */

static void assert_buf(proto_buf *b, const void *expect, size_t n)
{
    assert_int_equal(b->len, n);
    assert_memory_equal(b->data, expect, n);
    b->len = 0;
}
#define ASSERT_BUF(b, lit) assert_buf((b), (lit), sizeof(lit) - 1)

static void test_proto_replies(void **state)
{
    proto_buf b = {0};
    char big[70000];
    (void)state;

    assert_int_equal(proto_reply_ok(PROTO_LINE, &b), 0);
    ASSERT_BUF(&b, "OK\n");
    proto_reply_ok(PROTO_RESP, &b);
    ASSERT_BUF(&b, "+OK\r\n");
    proto_reply_status(PROTO_LINE, &b, "PONG");
    ASSERT_BUF(&b, "PONG\n");
    proto_reply_status(PROTO_RESP, &b, "PONG");
    ASSERT_BUF(&b, "+PONG\r\n");
    proto_reply_error(PROTO_LINE, &b, "bad\r\nthing");
    ASSERT_BUF(&b, "ERROR bad  thing\n");
    proto_reply_error(PROTO_RESP, &b, "bad");
    ASSERT_BUF(&b, "-ERR bad\r\n");
    proto_reply_error_code(PROTO_LINE, &b, "CORRUPT", "page: x");
    ASSERT_BUF(&b, "ERROR CORRUPT page: x\n");
    proto_reply_error_code(PROTO_RESP, &b, "CORRUPT", "page: x");
    ASSERT_BUF(&b, "-CORRUPT page: x\r\n");
    proto_reply_value(PROTO_LINE, &b, "a b", 3);
    ASSERT_BUF(&b, "VALUE a b\n");
    proto_reply_value(PROTO_LINE, &b, "", 0);
    ASSERT_BUF(&b, "VALUE \n");
    proto_reply_value(PROTO_LINE, &b, "a\nb", 3);
    ASSERT_BUF(&b, "ERROR value holds a newline: read it over RESP\n");
    proto_reply_value(PROTO_RESP, &b, "a\r\n\0", 4);
    ASSERT_BUF(&b, "$4\r\na\r\n\0\r\n");
    proto_reply_value(PROTO_RESP, &b, "", 0);
    ASSERT_BUF(&b, "$0\r\n\r\n");
    proto_reply_nil(PROTO_LINE, &b);
    ASSERT_BUF(&b, "NOT_FOUND\n");
    proto_reply_nil(PROTO_RESP, &b);
    ASSERT_BUF(&b, "$-1\r\n");
    proto_reply_int(PROTO_RESP, &b, 42);
    ASSERT_BUF(&b, ":42\r\n");
    proto_reply_int(PROTO_LINE, &b, -3);
    ASSERT_BUF(&b, "-3\n");
    proto_reply_text(PROTO_RESP, &b, "a:1\r\nb:2\r\n", 10);
    ASSERT_BUF(&b, "$10\r\na:1\r\nb:2\r\n\r\n");
    proto_reply_text(PROTO_LINE, &b, "a=1\nb=2", 7);
    ASSERT_BUF(&b, "a=1 b=2\n");
    proto_reply_empty_array(PROTO_RESP, &b);
    ASSERT_BUF(&b, "*0\r\n");
    proto_reply_pair(PROTO_RESP, &b, "save", 4, "", 0);
    ASSERT_BUF(&b, "*2\r\n$4\r\nsave\r\n$0\r\n\r\n");
    proto_reply_pair(PROTO_LINE, &b, "save", 4, "x", 1);
    ASSERT_BUF(&b, "save x\n");

    /* A large value grows the buffer and comes out whole. */
    memset(big, 'z', sizeof(big));
    assert_int_equal(proto_reply_value(PROTO_RESP, &b, big, sizeof(big)), 0);
    assert_int_equal(b.len, sizeof(big) + 10);
    assert_memory_equal(b.data, "$70000\r\nzzz", 11);
    assert_memory_equal(b.data + b.len - 3, "z\r\n", 3);
    proto_buf_free(&b);
    assert_null(b.data);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_proto_detect),
        cmocka_unit_test(test_proto_line_commands),
        cmocka_unit_test(test_proto_line_skip_and_need),
        cmocka_unit_test(test_proto_line_limits),
        cmocka_unit_test(test_proto_resp_commands),
        cmocka_unit_test(test_proto_resp_many_keys),
        cmocka_unit_test(test_proto_resp_binary),
        cmocka_unit_test(test_proto_resp_limits),
        cmocka_unit_test(test_proto_resp_invalid),
        cmocka_unit_test(test_proto_resp_inline_and_empty),
        cmocka_unit_test(test_proto_split_line),
        cmocka_unit_test(test_proto_split_resp),
        cmocka_unit_test(test_proto_split_bad),
        cmocka_unit_test(test_proto_split_random),
        cmocka_unit_test(test_proto_replies),
    };

    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
