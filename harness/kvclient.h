/*
 * kvclient.h - a non-blocking client connection to kvserver for the server
 * trials (trial_server.c): requests are queued as bytes and sent as the
 * socket takes them, replies are received into a buffer and taken line by
 * line, so one single-threaded poll loop in the harness can drive many
 * clients at once and keep, in its own memory, the count of what each was
 * answered.
 */
#ifndef CL_KVCLIENT_H
#define CL_KVCLIENT_H

#include <stddef.h>
#include <stdint.h>

/* Replies longer than this (a GET's "VALUE " line of a value of at most
 * CL_VALUE_MAX bytes is far shorter) are a protocol error. */
#define KVC_LINE_MAX (256 * 1024)

typedef struct kvc_conn {
    int fd;       /* -1 when not connected */
    uint8_t *out; /* queued request bytes */
    size_t olen;  /* bytes queued */
    size_t ooff;  /* of which sent */
    size_t ocap;  /* bytes allocated */
    uint8_t *in;  /* received bytes */
    size_t ilen;  /* bytes received */
    size_t ipos;  /* of which taken by kvc_line */
    size_t icap;  /* bytes allocated */
    int eof;      /* the server closed (or reset) the connection */
    int wfail;    /* sending failed: the server is gone */
    int toolong;  /* a reply line over KVC_LINE_MAX */
} kvc_conn;

/* Connect to 127.0.0.1:port (a blocking connect, then non-blocking).
 * @return 0 or an errno (ECONNREFUSED once the server is dead). */
int kvc_connect(kvc_conn *k, unsigned port);
/* Close and free.  A closed kvc_conn may be closed again. */
void kvc_close(kvc_conn *k);
/* Queue bytes a[0, alen) then b[0, blen) (b may be NULL).
 * @return 0, or ENOMEM. */
int kvc_queue(kvc_conn *k, const void *a, size_t alen, const void *b,
              size_t blen);
/* Bytes queued and not yet sent. */
size_t kvc_unsent(const kvc_conn *k);
/* Send what the socket takes now (never blocks, never raises SIGPIPE);
 * on failure set wfail and drop the queue. */
void kvc_flush(kvc_conn *k);
/* Receive what is waiting (never blocks); at end of stream or on an error
 * set eof.  @return 0, or ENOMEM. */
int kvc_fill(kvc_conn *k);
/* Take the next complete reply line, without its "\n".
 * @param len OUT: its bytes.
 * @return the line (valid until the next kvc_fill), or NULL when no
 *         complete line has arrived (toolong set if one never can). */
const uint8_t *kvc_line(kvc_conn *k, size_t *len);

#endif
