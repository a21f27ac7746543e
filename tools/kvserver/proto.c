/*
 * proto.c - the line protocol and RESP2 parsers and reply encoders of
 * kvserver (see proto.h for both protocols and their limits).
 *
 * The parsers are stateless: each call looks at the bytes from the start of
 * the next request and either finds the whole request, or says that more
 * bytes are needed, or rejects the stream.  A caller that receives a request
 * in pieces simply calls again with more bytes; the cost of looking at the
 * same prefix twice is bounded because a request is at most PROTO_REQ_MAX
 * bytes.
 */
#include "proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---------------------------------------------------------------------- */
/* parsing                                                                */
/* ---------------------------------------------------------------------- */

static void proto_add_arg(proto_req *req, const uint8_t *p, size_t n)
{
    if (req->argc < PROTO_MAX_ARGS) {
        req->argv[req->argc] = p;
        req->argl[req->argc] = n;
    }
    req->argc++;
}

int proto_detect(const uint8_t *buf, size_t len)
{
    size_t scan = len < PROTO_REQ_MAX ? len : PROTO_REQ_MAX;
    const uint8_t *nl;

    if (len == 0)
        return 0;
    if (buf[0] == '*')
        return PROTO_RESP;
    nl = memchr(buf, '\n', scan);
    if (nl == NULL)
        return len >= PROTO_REQ_MAX ? PROTO_LINE : 0;
    return nl > buf && nl[-1] == '\r' ? PROTO_RESP : PROTO_LINE;
}

/* One line: the command word, then words separated by runs of spaces,
 * except that (with set_rest) SET's value is everything after the space
 * ending the key. */
static int proto_parse_line(const uint8_t *buf, size_t len, int set_rest,
                            proto_req *req, size_t *used, const char **err)
{
    size_t scan = len < PROTO_REQ_MAX ? len : PROTO_REQ_MAX;
    const uint8_t *nl = memchr(buf, '\n', scan);
    size_t n, i = 0, start;
    int is_set;

    if (nl == NULL) {
        if (len >= PROTO_REQ_MAX) {
            *err = "line too long";
            return PROTO_BAD;
        }
        return PROTO_NEED;
    }
    n = (size_t)(nl - buf);
    *used = n + 1;
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    while (i < n && buf[i] == ' ')
        i++;
    if (i == n)
        return PROTO_SKIP;

    req->argc = 0;
    start = i;
    while (i < n && buf[i] != ' ')
        i++;
    proto_add_arg(req, buf + start, i - start);
    is_set = set_rest && i - start == 3 &&
             strncasecmp((const char *)buf + start, "SET", 3) == 0;
    for (;;) {
        while (i < n && buf[i] == ' ')
            i++;
        if (i == n)
            break;
        start = i;
        while (i < n && buf[i] != ' ')
            i++;
        proto_add_arg(req, buf + start, i - start);
        if (is_set && req->argc == 2) {
            /* buf[i] is the space after the key (or the end of the line:
             * then the value is missing, not empty). */
            if (i < n)
                proto_add_arg(req, buf + i + 1, n - i - 1);
            break;
        }
    }
    return PROTO_OK;
}

/* A decimal integer followed by "\r\n", starting at buf[*pos]; at most 18
 * digits, so it cannot overflow.  On PROTO_OK *pos moves past the "\r\n". */
static int proto_resp_int(const uint8_t *buf, size_t len, size_t *pos,
                          long long *out)
{
    size_t i = *pos, digits = 0;
    long long v = 0;
    int neg = 0;

    if (i < len && buf[i] == '-') {
        neg = 1;
        i++;
    }
    for (; i < len && buf[i] >= '0' && buf[i] <= '9'; i++) {
        if (++digits > 18)
            return PROTO_BAD;
        v = v * 10 + (buf[i] - '0');
    }
    if (i == len)
        return PROTO_NEED;
    if (digits == 0 || buf[i] != '\r')
        return PROTO_BAD;
    if (i + 1 == len)
        return PROTO_NEED;
    if (buf[i + 1] != '\n')
        return PROTO_BAD;
    *pos = i + 2;
    *out = neg ? -v : v;
    return PROTO_OK;
}

static int proto_parse_resp(const uint8_t *buf, size_t len, proto_req *req,
                            size_t *used, const char **err)
{
    size_t pos = 1;
    long long n, blen;
    int r;

    if (len == 0)
        return PROTO_NEED;
    if (buf[0] != '*')
        return proto_parse_line(buf, len, 0, req, used, err);
    r = proto_resp_int(buf, len, &pos, &n);
    if (r == PROTO_NEED)
        goto need;
    if (r == PROTO_BAD || n < 0 || n > PROTO_RESP_MAX_ARGS) {
        *err = "Protocol error: invalid multibulk length";
        return PROTO_BAD;
    }
    if (n == 0) {
        *used = pos;
        return PROTO_SKIP;
    }
    req->argc = 0;
    for (long long j = 0; j < n; j++) {
        if (pos == len)
            goto need;
        if (buf[pos] != '$') {
            *err = "Protocol error: expected '$'";
            return PROTO_BAD;
        }
        pos++;
        r = proto_resp_int(buf, len, &pos, &blen);
        if (r == PROTO_NEED)
            goto need;
        if (r == PROTO_BAD || blen < 0 || blen > PROTO_REQ_MAX) {
            *err = "Protocol error: invalid bulk length";
            return PROTO_BAD;
        }
        if (pos + (size_t)blen + 2 > PROTO_REQ_MAX) {
            *err = "Protocol error: request too large";
            return PROTO_BAD;
        }
        if (len < pos + (size_t)blen + 2)
            goto need;
        if (buf[pos + blen] != '\r' || buf[pos + blen + 1] != '\n') {
            *err = "Protocol error: bulk string not followed by CRLF";
            return PROTO_BAD;
        }
        proto_add_arg(req, buf + pos, (size_t)blen);
        pos += (size_t)blen + 2;
    }
    *used = pos;
    return PROTO_OK;
need:
    if (len >= PROTO_REQ_MAX) {
        *err = "Protocol error: request too large";
        return PROTO_BAD;
    }
    return PROTO_NEED;
}

int proto_parse(proto_kind kind, const uint8_t *buf, size_t len, proto_req *req,
                size_t *used, const char **err)
{
    if (kind == PROTO_RESP)
        return proto_parse_resp(buf, len, req, used, err);
    return proto_parse_line(buf, len, 1, req, used, err);
}

/* ---------------------------------------------------------------------- */
/* commands                                                               */
/* ---------------------------------------------------------------------- */

#define PROTO_ANY ((size_t)-1)

/* The command table: name, op, whether line connections have it, and the
 * argument counts (command name included) on line and RESP connections. */
static const struct proto_cmd {
    const char *name;
    proto_op op;
    int line;
    size_t line_argc;
    size_t resp_min, resp_max;
} proto_cmds[] = {
    {"SET", PROTO_OP_SET, 1, 3, 3, PROTO_ANY},
    {"GET", PROTO_OP_GET, 1, 2, 2, 2},
    {"DEL", PROTO_OP_DEL, 1, 2, 2, PROTO_ANY},
    {"EXISTS", PROTO_OP_EXISTS, 0, 0, 2, PROTO_ANY},
    {"PING", PROTO_OP_PING, 1, 1, 1, 2},
    {"DBSIZE", PROTO_OP_DBSIZE, 0, 0, 1, 1},
    {"INFO", PROTO_OP_INFO, 0, 0, 1, PROTO_ANY},
    {"COMMAND", PROTO_OP_COMMAND, 0, 0, 1, PROTO_ANY},
    {"CONFIG", PROTO_OP_CONFIG, 0, 0, 2, PROTO_ANY},
    {"STATS", PROTO_OP_STATS, 1, 1, 1, 1},
    {"QUIT", PROTO_OP_QUIT, 1, 1, 1, PROTO_ANY},
};

/* Copy at most 32 bytes of a client-supplied name into dst for an error
 * message, lower-cased, with anything unprintable as '?'. */
static void proto_clean_name(char *dst, size_t cap, const uint8_t *s, size_t n)
{
    size_t i;

    if (n > 32)
        n = 32;
    for (i = 0; i < n && i + 1 < cap; i++) {
        uint8_t c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (uint8_t)(c - 'A' + 'a');
        dst[i] = (c >= 0x20 && c < 0x7f && c != '\'') ? (char)c : '?';
    }
    dst[i] = '\0';
}

static int proto_check_key(size_t klen, char *err, size_t errlen)
{
    if (klen == 0) {
        snprintf(err, errlen, "empty keys are not supported");
        return -1;
    }
    if (klen > CL_KEY_MAX) {
        snprintf(err, errlen, "key too long (at most %d bytes)", CL_KEY_MAX);
        return -1;
    }
    return 0;
}

proto_op proto_command(proto_kind kind, const proto_req *req, char *err,
                       size_t errlen)
{
    const struct proto_cmd *cmd = NULL;
    char name[40];
    size_t argc = req->argc;

    proto_clean_name(name, sizeof(name), req->argv[0], req->argl[0]);
    for (size_t i = 0; i < sizeof(proto_cmds) / sizeof(proto_cmds[0]); i++) {
        const struct proto_cmd *c = &proto_cmds[i];
        if (req->argl[0] == strlen(c->name) &&
            strncasecmp((const char *)req->argv[0], c->name, req->argl[0]) ==
                0 &&
            (kind == PROTO_RESP || c->line)) {
            cmd = c;
            break;
        }
    }
    if (cmd == NULL) {
        snprintf(err, errlen, "unknown command '%s'", name);
        return PROTO_OP_ERROR;
    }
    if (kind == PROTO_LINE
            ? argc != cmd->line_argc
            : argc < cmd->resp_min ||
                  (cmd->resp_max != PROTO_ANY && argc > cmd->resp_max)) {
        snprintf(err, errlen, "wrong number of arguments for '%s'%s", name,
                 kind == PROTO_RESP ? " command" : "");
        return PROTO_OP_ERROR;
    }
    switch (cmd->op) {
    case PROTO_OP_SET:
        if (argc > 3) {
            snprintf(err, errlen, "syntax error (SET takes no options)");
            return PROTO_OP_ERROR;
        }
        if (proto_check_key(req->argl[1], err, errlen) != 0)
            return PROTO_OP_ERROR;
        if (req->argl[2] > CL_VALUE_MAX) {
            snprintf(err, errlen, "value too long (at most %d bytes)",
                     CL_VALUE_MAX);
            return PROTO_OP_ERROR;
        }
        break;
    case PROTO_OP_GET:
    case PROTO_OP_DEL:
    case PROTO_OP_EXISTS:
        if (argc > PROTO_MAX_ARGS) {
            snprintf(err, errlen, "too many keys (at most %d)",
                     PROTO_MAX_ARGS - 1);
            return PROTO_OP_ERROR;
        }
        for (size_t i = 1; i < argc; i++)
            if (proto_check_key(req->argl[i], err, errlen) != 0)
                return PROTO_OP_ERROR;
        break;
    default:
        break;
    }
    return cmd->op;
}

/* ---------------------------------------------------------------------- */
/* replies                                                                */
/* ---------------------------------------------------------------------- */

int proto_buf_reserve(proto_buf *b, size_t n)
{
    size_t cap;
    uint8_t *p;

    if (b->cap - b->len >= n)
        return 0;
    cap = b->cap ? b->cap : 1024;
    while (cap - b->len < n)
        cap *= 2;
    p = realloc(b->data, cap);
    if (p == NULL)
        return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

void proto_buf_free(proto_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

static int proto_put(proto_buf *b, const void *p, size_t n)
{
    if (proto_buf_reserve(b, n) != 0)
        return -1;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

static const char *proto_eol(proto_kind kind)
{
    return kind == PROTO_RESP ? "\r\n" : "\n";
}

int proto_reply_ok(proto_kind kind, proto_buf *b)
{
    return kind == PROTO_RESP ? proto_put(b, "+OK\r\n", 5)
                              : proto_put(b, "OK\n", 3);
}

int proto_reply_status(proto_kind kind, proto_buf *b, const char *s)
{
    size_t n = strlen(s);

    if (proto_buf_reserve(b, n + 3) != 0)
        return -1;
    if (kind == PROTO_RESP)
        b->data[b->len++] = '+';
    memcpy(b->data + b->len, s, n);
    b->len += n;
    return proto_put(b, proto_eol(kind), strlen(proto_eol(kind)));
}

int proto_reply_error(proto_kind kind, proto_buf *b, const char *msg)
{
    return proto_reply_error_code(kind, b, NULL, msg);
}

int proto_reply_error_code(proto_kind kind, proto_buf *b, const char *code,
                           const char *msg)
{
    const char *pre = kind == PROTO_RESP ? "-" : "ERROR ";
    size_t n = strlen(msg), np = strlen(pre), start = b->len;
    size_t nc = code != NULL ? strlen(code) : 0;

    if (code == NULL && kind == PROTO_RESP) {
        code = "ERR"; /* Redis's code for an error of no other code */
        nc = 3;
    }
    if (proto_buf_reserve(b, np + nc + 1 + n + 2) != 0)
        return -1;
    memcpy(b->data + b->len, pre, np);
    b->len += np;
    if (nc > 0) {
        memcpy(b->data + b->len, code, nc);
        b->len += nc;
        b->data[b->len++] = ' ';
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)msg[i];
        b->data[b->len++] = c < 0x20 || c == 0x7f ? ' ' : c;
    }
    if (proto_put(b, proto_eol(kind), strlen(proto_eol(kind))) != 0) {
        b->len = start;
        return -1;
    }
    return 0;
}

/* "<c><n>\r\n" into dst (at least 24 bytes); returns its length. */
static size_t proto_header(char *dst, char c, size_t n)
{
    char digits[24];
    size_t nd = 0, len = 0;

    do
        digits[nd++] = (char)('0' + n % 10);
    while ((n /= 10) > 0);
    dst[len++] = c;
    while (nd > 0)
        dst[len++] = digits[--nd];
    dst[len++] = '\r';
    dst[len++] = '\n';
    return len;
}

static int proto_bulk(proto_buf *b, const void *v, size_t vlen)
{
    char hdr[32];
    size_t n = proto_header(hdr, '$', vlen);

    if (proto_buf_reserve(b, n + vlen + 2) != 0)
        return -1;
    memcpy(b->data + b->len, hdr, n);
    b->len += n;
    if (vlen > 0)
        memcpy(b->data + b->len, v, vlen);
    b->len += vlen;
    b->data[b->len++] = '\r';
    b->data[b->len++] = '\n';
    return 0;
}

int proto_reply_value(proto_kind kind, proto_buf *b, const void *v, size_t vlen)
{
    if (kind == PROTO_RESP)
        return proto_bulk(b, v, vlen);
    if (vlen > 0 && memchr(v, '\n', vlen) != NULL)
        return proto_reply_error(kind, b,
                                 "value holds a newline: read it over RESP");
    if (proto_buf_reserve(b, 6 + vlen + 1) != 0)
        return -1;
    memcpy(b->data + b->len, "VALUE ", 6);
    b->len += 6;
    if (vlen > 0)
        memcpy(b->data + b->len, v, vlen);
    b->len += vlen;
    b->data[b->len++] = '\n';
    return 0;
}

int proto_reply_nil(proto_kind kind, proto_buf *b)
{
    return kind == PROTO_RESP ? proto_put(b, "$-1\r\n", 5)
                              : proto_put(b, "NOT_FOUND\n", 10);
}

int proto_reply_int(proto_kind kind, proto_buf *b, long long n)
{
    char s[32];
    int len = snprintf(s, sizeof(s), "%s%lld%s", kind == PROTO_RESP ? ":" : "",
                       n, proto_eol(kind));

    return proto_put(b, s, (size_t)len);
}

int proto_reply_text(proto_kind kind, proto_buf *b, const char *s, size_t len)
{
    if (kind == PROTO_RESP)
        return proto_bulk(b, s, len);
    if (proto_buf_reserve(b, len + 1) != 0)
        return -1;
    for (size_t i = 0; i < len; i++)
        b->data[b->len++] = s[i] == '\r' || s[i] == '\n' ? ' ' : (uint8_t)s[i];
    b->data[b->len++] = '\n';
    return 0;
}

int proto_reply_empty_array(proto_kind kind, proto_buf *b)
{
    return kind == PROTO_RESP ? proto_put(b, "*0\r\n", 4)
                              : proto_put(b, "\n", 1);
}

int proto_reply_pair(proto_kind kind, proto_buf *b, const void *a, size_t alen,
                     const void *v, size_t vlen)
{
    size_t start = b->len;

    if (kind == PROTO_LINE) {
        if (proto_buf_reserve(b, alen + vlen + 2) != 0)
            return -1;
        memcpy(b->data + b->len, a, alen);
        b->len += alen;
        b->data[b->len++] = ' ';
        if (vlen > 0)
            memcpy(b->data + b->len, v, vlen);
        b->len += vlen;
        b->data[b->len++] = '\n';
        return 0;
    }
    if (proto_put(b, "*2\r\n", 4) != 0 || proto_bulk(b, a, alen) != 0 ||
        proto_bulk(b, v, vlen) != 0) {
        b->len = start;
        return -1;
    }
    return 0;
}
