/*
 * crashlab_ack.h - what a program run by `crashtest --exec` tells the
 * harness, on file descriptor 3 (docs/TARGETS.md, "The --exec protocol").
 *
 * Before it issues transaction ID, the program declares what the
 * transaction does: crashlab_txn(ID, key, value) once per key it sets
 * (value NULL: deletes).  When the transaction is durable by the
 * program's own promise, it says so: crashlab_ack(ID), which also vouches
 * for every transaction declared before ID, against any crash.  A program
 * whose promise is weaker, that a transaction survives a crash of the
 * program but not a power cut (written to the operating system, not
 * synced), says that with crashlab_ack_process(ID): a power cut that then
 * loses it is counted as an expected loss, not a violation.  IDs are
 * positive and increase from one transaction to the next.
 *
 * On the descriptor each call is one line of TAB-separated fields, with
 * backslash, TAB and newline in keys and values written as \\, \t and \n:
 *     txn ID KEY VALUE     del ID KEY     ack ID     ackp ID
 * Without a descriptor 3 (the program run by hand) the calls do nothing.
 * Header-only: copy it next to the program, no library to link.
 */
#ifndef CRASHLAB_ACK_H
#define CRASHLAB_ACK_H

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define CRASHLAB_ACK_FD 3

/* Append s escaped to buf[*n..cap); returns 0, or -1 when full. */
static inline int crashlab_ack_escape_(char *buf, size_t *n, size_t cap,
                                       const char *s)
{
    for (; *s != '\0'; s++) {
        char c = *s, e = c == '\\'   ? '\\'
                         : c == '\t' ? 't'
                         : c == '\n' ? 'n'
                                     : 0;
        if (*n + 2 >= cap)
            return -1;
        if (e != 0) {
            buf[(*n)++] = '\\';
            buf[(*n)++] = e;
        } else {
            buf[(*n)++] = c;
        }
    }
    return 0;
}

/* Write one whole line with one write (a pipe keeps it together). */
static inline void crashlab_ack_line_(const char *buf, size_t n)
{
    while (n > 0) {
        ssize_t w = write(CRASHLAB_ACK_FD, buf, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* no descriptor 3: run by hand */
        buf += w;
        n -= (size_t)w;
    }
}

/* Declare that transaction id sets key to value (value NULL: deletes
 * key).  Keys and values up to about 4 KiB in all, escaped; a longer
 * one makes crashtest stop with a set-up error. */
static inline void crashlab_txn(unsigned long id, const char *key,
                                const char *value)
{
    char buf[4096];
    size_t n = (size_t)snprintf(buf, sizeof(buf), "%s\t%lu\t",
                                value ? "txn" : "del", id);

    int full = crashlab_ack_escape_(buf, &n, sizeof(buf), key) != 0;

    if (!full && value != NULL) {
        buf[n++] = '\t';
        full = crashlab_ack_escape_(buf, &n, sizeof(buf), value) != 0;
    }
    if (full) /* the harness stops with a set-up error on this line */
        n = (size_t)snprintf(buf, sizeof(buf), "toolong\t%lu\n", id);
    else
        buf[n++] = '\n';
    crashlab_ack_line_(buf, n);
}

/* Transaction id, and every one declared before it, is durable. */
static inline void crashlab_ack(unsigned long id)
{
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "ack\t%lu\n", id);

    crashlab_ack_line_(buf, (size_t)n);
}

/* Transaction id, and every one declared before it, survives a crash of
 * the program (not necessarily a power cut). */
static inline void crashlab_ack_process(unsigned long id)
{
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "ackp\t%lu\n", id);

    crashlab_ack_line_(buf, (size_t)n);
}

#endif
