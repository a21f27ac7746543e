/*
 * kvclient.c - see kvclient.h.
 */
#include "kvclient.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int kvc_connect(kvc_conn *k, unsigned port)
{
    struct sockaddr_in a;
    int one = 1, rc;

    memset(k, 0, sizeof(*k));
    k->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (k->fd < 0)
        return errno;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    while ((rc = connect(k->fd, (struct sockaddr *)&a, sizeof(a))) != 0 &&
           errno == EINTR)
        ;
    if (rc != 0 || fcntl(k->fd, F_SETFL, O_NONBLOCK) != 0) {
        rc = errno;
        close(k->fd);
        k->fd = -1;
        return rc;
    }
    /* requests go out one by one as the window allows: no Nagle delay */
    setsockopt(k->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return 0;
}

void kvc_close(kvc_conn *k)
{
    if (k->fd >= 0)
        close(k->fd);
    free(k->out);
    free(k->in);
    memset(k, 0, sizeof(*k));
    k->fd = -1;
}

/* Make room for n more bytes in *buf (len used, *cap allocated). */
static int kvc_reserve(uint8_t **buf, size_t len, size_t *cap, size_t n)
{
    size_t want = len + n, c = *cap ? *cap : 4096;
    uint8_t *p;

    if (want <= *cap)
        return 0;
    while (c < want)
        c *= 2;
    if ((p = realloc(*buf, c)) == NULL)
        return ENOMEM;
    *buf = p;
    *cap = c;
    return 0;
}

int kvc_queue(kvc_conn *k, const void *a, size_t alen, const void *b,
              size_t blen)
{
    if (k->ooff == k->olen)
        k->ooff = k->olen = 0;
    if (kvc_reserve(&k->out, k->olen, &k->ocap, alen + blen) != 0)
        return ENOMEM;
    memcpy(k->out + k->olen, a, alen);
    if (blen > 0)
        memcpy(k->out + k->olen + alen, b, blen);
    k->olen += alen + blen;
    return 0;
}

size_t kvc_unsent(const kvc_conn *k)
{
    return k->olen - k->ooff;
}

void kvc_flush(kvc_conn *k)
{
    while (!k->wfail && k->ooff < k->olen) {
        ssize_t n = send(k->fd, k->out + k->ooff, k->olen - k->ooff,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            k->ooff += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        } else {
            k->wfail = 1;
            k->ooff = k->olen = 0;
        }
    }
}

int kvc_fill(kvc_conn *k)
{
    while (!k->eof) {
        ssize_t n;
        if (k->ipos > 0) { /* keep only the unread bytes */
            memmove(k->in, k->in + k->ipos, k->ilen - k->ipos);
            k->ilen -= k->ipos;
            k->ipos = 0;
        }
        if (kvc_reserve(&k->in, k->ilen, &k->icap, 16384) != 0)
            return ENOMEM;
        n = recv(k->fd, k->in + k->ilen, k->icap - k->ilen, MSG_DONTWAIT);
        if (n > 0)
            k->ilen += (size_t)n;
        else if (n < 0 && errno == EINTR)
            continue;
        else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        else
            k->eof = 1; /* end of stream, or reset by a dead server */
    }
    return 0;
}

const uint8_t *kvc_line(kvc_conn *k, size_t *len)
{
    uint8_t *start = k->in + k->ipos;
    uint8_t *nl;

    if (k->ipos == k->ilen)
        return NULL;
    nl = memchr(start, '\n', k->ilen - k->ipos);
    if (nl == NULL) {
        if (k->ilen - k->ipos > KVC_LINE_MAX)
            k->toolong = 1;
        return NULL;
    }
    *len = (size_t)(nl - start);
    k->ipos += *len + 1;
    return start;
}
