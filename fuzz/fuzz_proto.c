/*
 * fuzz_proto.c - kvserver's request parsers and reply encoders
 * (tools/kvserver/proto.h: the line protocol and RESP2) on arbitrary input
 * streams.
 *
 * Input: u8 mode (mode % 3: 0 the protocol proto_detect picks, 1 line,
 * 2 RESP), then the bytes a client sends.
 *
 * Properties: no crash, and:
 *   - proto_detect never changes its answer once it has given one;
 *   - the stream parses as the server reads it: each request found takes
 *     at least one byte, its arguments lie inside the bytes it took, and
 *     every shorter prefix of those bytes asks for more (PROTO_NEED), so a
 *     request split across reads parses the same; PROTO_NEED only below
 *     PROTO_REQ_MAX bytes, and PROTO_BAD with a message;
 *   - proto_command names a command or gives an error message;
 *   - a request's arguments written back as a RESP array parse to the same
 *     arguments;
 *   - replies built from request bytes (values, errors, text) cannot smuggle
 *     a second reply: a line reply has one newline, at its end; a RESP error
 *     or status has no CR or LF inside; a bulk string's header gives its
 *     length.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "proto.h"

/* Check one reply appended at b->data[from, b->len). */
static void fz_pr_reply(proto_kind kind, const proto_buf *b, size_t from)
{
    const uint8_t *r = b->data + from;
    size_t n = b->len - from;

    fz_require(n >= 2, "empty reply");
    if (kind == PROTO_LINE) {
        fz_require(memchr(r, '\n', n) == r + n - 1,
                   "a line reply holds a newline before its end");
    } else if (r[0] == '-' || r[0] == '+') {
        fz_require(r[n - 2] == '\r' && r[n - 1] == '\n' &&
                       memchr(r, '\n', n) == r + n - 1 &&
                       memchr(r, '\r', n) == r + n - 2,
                   "a RESP status or error holds CR or LF");
    } else if (r[0] == '$') {
        char *end;
        long long len = strtoll((const char *)r + 1, &end, 10);
        size_t hdr = (size_t)((const uint8_t *)end - r) + 2;
        fz_require(len == -1 || (len >= 0 && hdr + (size_t)len + 2 == n &&
                                 r[n - 2] == '\r' && r[n - 1] == '\n'),
                   "a bulk string's header does not give its length");
    }
}

/* The request's arguments as a RESP array parse back to themselves. */
static void fz_pr_roundtrip(const proto_req *req)
{
    proto_buf b = {0};
    proto_req again;
    size_t used = 0, total = 32;
    const char *err = NULL;
    char hdr[32];
    int n, rc;

    if (req->argc > PROTO_MAX_ARGS)
        return;
    for (size_t i = 0; i < req->argc; i++)
        total += req->argl[i] + 32;
    if (total > PROTO_REQ_MAX || proto_buf_reserve(&b, total) != 0)
        goto out;
    n = snprintf(hdr, sizeof(hdr), "*%zu\r\n", req->argc);
    memcpy(b.data + b.len, hdr, (size_t)n);
    b.len += (size_t)n;
    for (size_t i = 0; i < req->argc; i++) {
        n = snprintf(hdr, sizeof(hdr), "$%zu\r\n", req->argl[i]);
        memcpy(b.data + b.len, hdr, (size_t)n);
        b.len += (size_t)n;
        if (req->argl[i] > 0)
            memcpy(b.data + b.len, req->argv[i], req->argl[i]);
        b.len += req->argl[i];
        memcpy(b.data + b.len, "\r\n", 2);
        b.len += 2;
    }
    rc = proto_parse(PROTO_RESP, b.data, b.len, &again, &used, &err);
    fz_require(rc == PROTO_OK && used == b.len && again.argc == req->argc,
               "a request written back as RESP parses as %d (%s)", rc,
               err ? err : "");
    for (size_t i = 0; i < req->argc; i++)
        fz_require(again.argl[i] == req->argl[i] &&
                       (req->argl[i] == 0 ||
                        memcmp(again.argv[i], req->argv[i], req->argl[i]) == 0),
                   "argument %zu changed on the way back", i);
out:
    proto_buf_free(&b);
}

/* Parse requests from buf until it runs out or the stream is rejected. */
static void fz_pr_stream(proto_kind kind, const uint8_t *buf, size_t len)
{
    proto_buf out = {0};
    size_t off = 0;

    while (off < len) {
        const uint8_t *p = buf + off;
        size_t left = len - off, used = 0, u2, last;
        const char *err = NULL;
        proto_req req, pre;
        char msg[256];
        proto_op op;
        int rc = proto_parse(kind, p, left, &req, &used, &err);

        if (rc == PROTO_NEED) {
            fz_require(left < PROTO_REQ_MAX, "NEED after %zu bytes", left);
            break;
        }
        if (rc == PROTO_BAD) {
            fz_require(err != NULL && err[0] != '\0', "BAD without message");
            break;
        }
        fz_require((rc == PROTO_OK || rc == PROTO_SKIP) && used >= 1 &&
                       used <= left,
                   "parse gave %d using %zu of %zu bytes", rc, used, left);
        /* Shorter prefixes of the request's bytes ask for more. */
        for (size_t k = used - 1; k > 0; k = k > 64 ? k / 2 : k - 1) {
            int r2 = proto_parse(kind, p, k, &pre, &u2, &err);
            fz_require(r2 == PROTO_NEED,
                       "a %zu-byte prefix of a %zu-byte request gives %d", k,
                       used, r2);
        }
        if (rc == PROTO_OK) {
            fz_require(req.argc >= 1, "a request without a command");
            for (size_t i = 0; i < req.argc && i < PROTO_MAX_ARGS; i++)
                fz_require(req.argv[i] >= p &&
                               req.argv[i] + req.argl[i] <= p + used,
                           "argument %zu lies outside its request", i);
            msg[0] = '\0';
            op = proto_command(kind, &req, msg, sizeof(msg));
            fz_require(op != PROTO_OP_ERROR ||
                           (msg[0] != '\0' && strlen(msg) < sizeof(msg)),
                       "an error without a message");
            fz_pr_roundtrip(&req);
            last =
                req.argc <= PROTO_MAX_ARGS ? req.argc - 1 : PROTO_MAX_ARGS - 1;
            out.len = 0;
            if (op == PROTO_OP_ERROR && proto_reply_error(kind, &out, msg) == 0)
                fz_pr_reply(kind, &out, 0);
            out.len = 0;
            if (proto_reply_value(kind, &out, req.argv[last], req.argl[last]) ==
                0)
                fz_pr_reply(kind, &out, 0);
            out.len = 0;
            if (proto_reply_text(kind, &out, (const char *)req.argv[0],
                                 req.argl[0]) == 0)
                fz_pr_reply(kind, &out, 0);
        }
        off += used;
    }
    proto_buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {data, size};
    unsigned mode = fz_u8(&in) % 3;
    int kind = 0, k2;

    /* Once proto_detect answers, more bytes do not change the answer. */
    for (size_t k = 0;; k = k < 64 ? k + 1 : k * 2) {
        if (k > in.left)
            k = in.left;
        k2 = proto_detect(in.p, k);
        if (kind != 0)
            fz_require(k2 == kind, "detect changed from %d to %d at %zu", kind,
                       k2, k);
        kind = k2;
        if (k == in.left)
            break;
    }
    if (mode == 1)
        kind = PROTO_LINE;
    else if (mode == 2)
        kind = PROTO_RESP;
    else if ((kind = proto_detect(in.p, in.left)) == 0)
        return 0;
    fz_pr_stream((proto_kind)kind, in.p, in.left);
    return 0;
}
