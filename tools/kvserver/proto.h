/*
 * proto.h - the two wire protocols of kvserver: finding one request in a
 * connection's input bytes, naming its command and checking its arguments,
 * and encoding replies.  No I/O and no engine calls happen here, so the
 * parsers can be unit-tested byte by byte and fuzzed.
 *
 * A connection speaks one protocol for its whole life, chosen by how it
 * starts (proto_detect): a first byte '*' means RESP2, the Redis protocol;
 * otherwise a first line ended by "\r\n" means RESP2 too, in its inline form
 * (what redis-benchmark's PING_INLINE test and telnet send), and one ended
 * by a bare "\n" means the line protocol (what nc and the crash harness
 * send).
 *
 * Line protocol.  One request per line, ended by "\n" (a "\r" just before it
 * is dropped).  Words are separated by runs of spaces; the command name is
 * case-insensitive.  For SET the value is the rest of the line after the one
 * space that ends the key, so it may contain spaces (and may be empty:
 * "SET k " stores the empty value).  A blank line is ignored.  Replies are one
 * line each, ended by "\n":
 *   SET <key> <value>  OK
 *   GET <key>          VALUE <value> | NOT_FOUND
 *   DEL <key>          OK | NOT_FOUND
 *   PING               PONG
 *   STATS              STATS name=value name=value ...
 *   QUIT               OK, then the server closes the connection
 *   anything wrong     ERROR <message>
 * A value holding a "\n" cannot be sent back on a line: GET answers
 * ERROR for it (RESP can read it).
 *
 * RESP2.  A request starting with '*' is an array of bulk strings:
 *   *<n>\r\n  then n times  $<len>\r\n<len bytes>\r\n
 * with 1 <= n <= PROTO_RESP_MAX_ARGS and 0 <= len; "*0\r\n" is ignored.
 * Anything else after the '*' (another type byte, a negative or
 * non-decimal length, a missing "\r\n") is a protocol error.  A request
 * starting with any other byte is an inline command: one line of words
 * separated by spaces (no quoting; SET's value is one word here).  Replies
 * are the usual RESP2 types.
 *
 * Limits.  One request (line with its newline, or RESP array) is at most
 * PROTO_REQ_MAX bytes.  A request within that limit whose key or value is
 * over the engine's limits gets an error reply and the connection goes on;
 * a longer one, and any protocol error, gets an error reply after which the
 * stream cannot be trusted and the server closes the connection.
 */
#ifndef CL_PROTO_H
#define CL_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "crashlab.h"

/* Largest request in bytes: room for SET, the largest key and the largest
 * value with RESP framing, and then some, so that a value a little over
 * CL_VALUE_MAX gets a polite error instead of a closed connection. */
#define PROTO_REQ_MAX (128 * 1024)
/* Arguments recorded per request (command name included); a request with
 * more is parsed (its framing checked) but only counted. */
#define PROTO_MAX_ARGS 32
/* Largest RESP array accepted at all: more is a protocol error. */
#define PROTO_RESP_MAX_ARGS 4096

typedef enum proto_kind {
    PROTO_LINE = 1,
    PROTO_RESP = 2,
} proto_kind;

/* One parsed request.  The argument pointers point into the buffer given
 * to proto_parse and are valid as long as it is. */
typedef struct proto_req {
    size_t argc; /* arguments, command name included (may exceed
                    PROTO_MAX_ARGS: then only the first ones are kept) */
    const uint8_t *argv[PROTO_MAX_ARGS];
    size_t argl[PROTO_MAX_ARGS]; /* bytes */
} proto_req;

/* Results of proto_parse. */
enum proto_parse_result {
    PROTO_BAD = -1, /* protocol error: reply *err, then close */
    PROTO_NEED = 0, /* no complete request yet: read more bytes */
    PROTO_OK = 1,   /* one request in *req */
    PROTO_SKIP = 2, /* bytes to drop and nothing to answer (blank line, *0) */
};

/* Which protocol a connection speaks, from its first bytes buf[0, len).
 * @return PROTO_RESP or PROTO_LINE, or 0 if it cannot tell yet (no '*'
 *         and no complete first line).  A first line that is too long
 *         (PROTO_REQ_MAX bytes without a newline) counts as line protocol. */
int proto_detect(const uint8_t *buf, size_t len);

/* Parse the first request in buf[0, len).
 * @param req  OUT: the request (PROTO_OK only).
 * @param used OUT: bytes it took (PROTO_OK and PROTO_SKIP).
 * @param err  OUT: a reply message for PROTO_BAD, e.g. "line too long".
 * @return a proto_parse_result.  PROTO_NEED is never returned once len
 *         reaches PROTO_REQ_MAX: the request is then too long (PROTO_BAD). */
int proto_parse(proto_kind kind, const uint8_t *buf, size_t len, proto_req *req,
                size_t *used, const char **err);

/* The commands. */
typedef enum proto_op {
    PROTO_OP_ERROR = 0, /* unknown command or bad arguments */
    PROTO_OP_SET,
    PROTO_OP_GET,
    PROTO_OP_DEL,
    PROTO_OP_EXISTS,
    PROTO_OP_PING,
    PROTO_OP_DBSIZE,
    PROTO_OP_INFO,
    PROTO_OP_COMMAND,
    PROTO_OP_CONFIG,
    PROTO_OP_STATS,
    PROTO_OP_QUIT,
} proto_op;

/* Name the command of req and check its arguments: count, and keys of
 * 1..CL_KEY_MAX bytes and values of at most CL_VALUE_MAX bytes.  Line
 * connections have SET GET DEL PING STATS QUIT; RESP ones also EXISTS,
 * DBSIZE, INFO, COMMAND and CONFIG (DEL and EXISTS take several keys, SET no
 * options, PING an optional message).
 * @param err OUT: on PROTO_OP_ERROR, the message for the error reply
 *            (without the "ERROR "/"-ERR " prefix), NUL-terminated.
 * @return the command. */
proto_op proto_command(proto_kind kind, const proto_req *req, char *err,
                       size_t errlen);

/* A growable output buffer. */
typedef struct proto_buf {
    uint8_t *data;
    size_t len; /* bytes held */
    size_t cap; /* bytes allocated */
} proto_buf;

/* Make room for n more bytes.  @return 0, or -1 when out of memory. */
int proto_buf_reserve(proto_buf *b, size_t n);
void proto_buf_free(proto_buf *b);

/* Replies, appended to b.  Each returns 0, or -1 when out of memory (b is
 * then unchanged). */
/* OK / +OK */
int proto_reply_ok(proto_kind kind, proto_buf *b);
/* A bare status word: "<s>" / "+<s>" (s is trusted text, e.g. PONG). */
int proto_reply_status(proto_kind kind, proto_buf *b, const char *s);
/* ERROR <msg> / -ERR <msg>; control characters in msg become spaces. */
int proto_reply_error(proto_kind kind, proto_buf *b, const char *msg);
/* An error with a code word for programs (code: upper-case letters, e.g.
 * CORRUPT): ERROR <code> <msg> / -<code> <msg>, as Redis's error codes. */
int proto_reply_error_code(proto_kind kind, proto_buf *b, const char *code,
                           const char *msg);
/* A found value: VALUE <v> / a bulk string.  On a line connection a value
 * holding "\n" is answered with an ERROR instead. */
int proto_reply_value(proto_kind kind, proto_buf *b, const void *v,
                      size_t vlen);
/* An absent value: NOT_FOUND / the null bulk string. */
int proto_reply_nil(proto_kind kind, proto_buf *b);
/* An integer: :<n> (line: the number on its own line). */
int proto_reply_int(proto_kind kind, proto_buf *b, long long n);
/* A block of text: a bulk string / the text as one line ("\r" and "\n"
 * becoming spaces). */
int proto_reply_text(proto_kind kind, proto_buf *b, const char *s, size_t len);
/* An empty array: *0 (line: an empty line). */
int proto_reply_empty_array(proto_kind kind, proto_buf *b);
/* A two-element array of bulk strings, as CONFIG GET answers (line: the
 * two on one line, separated by a space). */
int proto_reply_pair(proto_kind kind, proto_buf *b, const void *a, size_t alen,
                     const void *v, size_t vlen);

#endif
