/*
 * exec_oracle.c - the --exec protocol's two texts and the oracle that
 * compares them (exec.h, crashlab_ack.h).
 *
 * fd 3, from PROG, one line each:   txn ID KEY VALUE | del ID KEY | ack ID
 *                                   | ackp ID
 * stdout, from PROG2, one line each: KEY VALUE
 * Fields are separated by one TAB; in keys and values a backslash starts
 * an escape: \\ \t \n.  IDs are positive decimal numbers; the lines of one
 * transaction are consecutive and IDs increase from one transaction to
 * the next; an ack names a declared transaction and vouches for it and
 * every one before it, against any crash; an ackp (crashlab_ack_process)
 * the same against a crash of the program only, not a power cut.  A key
 * appears at most once in PROG2's output.
 *
 * The verdict: the recovered state must equal the state after the first j
 * declared transactions for some j >= what the crash must keep: the
 * acknowledged count after a power cut, the larger of the two counts after
 * a crash of the program alone (nothing promised lost, nothing half-done
 * visible: prefix consistency, atomicity and durability together).  A
 * power cut that takes what only a process crash was promised is an
 * expected loss: not a violation, and not a pass either.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec.h"
#include "num.h"

/* Unescape s[0..n) into a new string.  NULL: a bad escape (or ENOMEM). */
static char *ex_unescape(const char *s, size_t n)
{
    char *out = malloc(n + 1);
    size_t o = 0;

    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '\\') {
            out[o++] = s[i];
            continue;
        }
        if (++i == n)
            goto bad;
        switch (s[i]) {
        case '\\':
            out[o++] = '\\';
            break;
        case 't':
            out[o++] = '\t';
            break;
        case 'n':
            out[o++] = '\n';
            break;
        default:
            goto bad;
        }
    }
    out[o] = '\0';
    return out;
bad:
    free(out);
    return NULL;
}

/* Split line[0..n) at TABs into at most max fields.  Returns the count. */
static size_t ex_split(const char *line, size_t n, const char **f, size_t *fl,
                       size_t max)
{
    size_t k = 0, start = 0;

    for (size_t i = 0; i <= n; i++)
        if (i == n || line[i] == '\t') {
            if (k == max)
                return max + 1;
            f[k] = line + start;
            fl[k++] = i - start;
            start = i + 1;
        }
    return k;
}

static int ex_id(const char *s, size_t n, uint64_t *id)
{
    char buf[24];

    if (n == 0 || n >= sizeof(buf))
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if (buf[i] < '0' || buf[i] > '9')
            return -1;
    return num_parse_u64(buf, 0, id) == 0 && *id > 0 ? 0 : -1;
}

static int ex_field_is(const char *f, size_t n, const char *word)
{
    return n == strlen(word) && memcmp(f, word, n) == 0;
}

int ex_decl_parse(const char *buf, size_t len, ex_decl *d, char *err,
                  size_t errlen)
{
    size_t pos = 0, lineno = 0, cap = 0;
    uint64_t acked_id[2] = {0, 0}; /* ack, ackp */

    memset(d, 0, sizeof(*d));
    while (pos < len) {
        const char *line = buf + pos, *f[5];
        const char *nl = memchr(line, '\n', len - pos);
        size_t n, fl[5], k;
        uint64_t id;

        lineno++;
        if (nl == NULL) {
            /* PROG died in the middle of a line: the declaration was
             * never complete, so the transaction was never issued. */
            break;
        }
        n = (size_t)(nl - line);
        pos += n + 1;
        k = ex_split(line, n, f, fl, 4);
        if (k == 2 &&
            (ex_field_is(f[0], fl[0], "ack") ||
             ex_field_is(f[0], fl[0], "ackp")) &&
            ex_id(f[1], fl[1], &id) == 0) {
            int proc = fl[0] == 4; /* ackp */
            size_t i = 0;
            if (id < acked_id[proc])
                continue; /* an older ack says nothing new */
            while (i < d->ntxns && d->txns[i].id != id)
                i++;
            if (i == d->ntxns) {
                snprintf(err, errlen,
                         "fd 3 line %zu acknowledges transaction %" PRIu64
                         ", which was never declared",
                         lineno, id);
                return -1;
            }
            acked_id[proc] = id;
            if (proc)
                d->acked_process = i + 1;
            else
                d->acked = i + 1;
            continue;
        }
        if (!((k == 4 && ex_field_is(f[0], fl[0], "txn")) ||
              (k == 3 && ex_field_is(f[0], fl[0], "del"))) ||
            ex_id(f[1], fl[1], &id) != 0) {
            snprintf(err, errlen,
                     "fd 3 line %zu is not 'txn ID KEY VALUE', 'del ID KEY', "
                     "'ack ID' or 'ackp ID' (TAB-separated): %.60s",
                     lineno, line);
            return -1;
        }
        if (d->ntxns == 0 || d->txns[d->ntxns - 1].id != id) {
            ex_txn *t;
            if (d->ntxns > 0 && id < d->txns[d->ntxns - 1].id) {
                snprintf(err, errlen,
                         "fd 3 line %zu: transaction %" PRIu64
                         " declared after %" PRIu64 " (IDs must increase)",
                         lineno, id, d->txns[d->ntxns - 1].id);
                return -1;
            }
            if (d->ntxns == cap) {
                cap = cap ? 2 * cap : 64;
                if ((t = realloc(d->txns, cap * sizeof(*t))) == NULL)
                    goto nomem;
                d->txns = t;
            }
            t = &d->txns[d->ntxns++];
            memset(t, 0, sizeof(*t));
            t->id = id;
        }
        {
            ex_txn *t = &d->txns[d->ntxns - 1];
            ex_op *o = realloc(t->ops, (t->nops + 1) * sizeof(*o));
            if (o == NULL)
                goto nomem;
            t->ops = o;
            o = &t->ops[t->nops++];
            o->key = ex_unescape(f[2], fl[2]);
            o->value = k == 4 ? ex_unescape(f[3], fl[3]) : NULL;
            if (o->key == NULL || (k == 4 && o->value == NULL)) {
                snprintf(err, errlen,
                         "fd 3 line %zu: a bad escape (only \\\\, "
                         "\\t and \\n)",
                         lineno);
                return -1;
            }
        }
    }
    return 0;
nomem:
    snprintf(err, errlen, "out of memory");
    return -1;
}

void ex_decl_free(ex_decl *d)
{
    for (size_t i = 0; i < d->ntxns; i++) {
        for (size_t j = 0; j < d->txns[i].nops; j++) {
            free(d->txns[i].ops[j].key);
            free(d->txns[i].ops[j].value);
        }
        free(d->txns[i].ops);
    }
    free(d->txns);
    memset(d, 0, sizeof(*d));
}

static int ex_find(const ex_op *kv, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(kv[i].key, key) == 0)
            return (int)i;
    return -1;
}

int ex_state_parse(const char *buf, size_t len, ex_state *s, char *err,
                   size_t errlen)
{
    size_t pos = 0, lineno = 0;

    memset(s, 0, sizeof(*s));
    while (pos < len) {
        const char *line = buf + pos, *f[3];
        const char *nl = memchr(line, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - line) : len - pos, fl[3], k;
        ex_op *kv;

        lineno++;
        pos += n + 1;
        k = ex_split(line, n, f, fl, 2);
        if (k != 2) {
            snprintf(err, errlen,
                     "line %zu of the verify program's output is not "
                     "KEY<TAB>VALUE: %.60s",
                     lineno, line);
            return -1;
        }
        if ((kv = realloc(s->kv, (s->n + 1) * sizeof(*kv))) == NULL) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        s->kv = kv;
        kv = &s->kv[s->n];
        kv->key = ex_unescape(f[0], fl[0]);
        kv->value = ex_unescape(f[1], fl[1]);
        if (kv->key == NULL || kv->value == NULL) {
            free(kv->key);
            free(kv->value);
            snprintf(err, errlen,
                     "line %zu of the verify program's output has a bad "
                     "escape (only \\\\, \\t and \\n)",
                     lineno);
            return -1;
        }
        s->n++;
        if (ex_find(s->kv, s->n - 1, kv->key) >= 0) {
            snprintf(err, errlen,
                     "line %zu of the verify program's output repeats a key",
                     lineno);
            return -1;
        }
    }
    return 0;
}

void ex_state_free(ex_state *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->kv[i].key);
        free(s->kv[i].value);
    }
    free(s->kv);
    memset(s, 0, sizeof(*s));
}

/* The model state, as borrowed pointers into the declaration. */
typedef struct ex_model {
    const char **key, **value;
    size_t n, cap;
} ex_model;

static int ex_model_apply(ex_model *m, const ex_txn *t)
{
    for (size_t i = 0; i < t->nops; i++) {
        size_t j = 0;
        while (j < m->n && strcmp(m->key[j], t->ops[i].key) != 0)
            j++;
        if (t->ops[i].value == NULL) {
            if (j < m->n) {
                m->key[j] = m->key[m->n - 1];
                m->value[j] = m->value[m->n - 1];
                m->n--;
            }
            continue;
        }
        if (j == m->n) {
            if (m->n == m->cap) {
                size_t cap = m->cap ? 2 * m->cap : 64;
                const char **k = realloc(m->key, cap * sizeof(*k));
                const char **v;
                if (k == NULL)
                    return -1;
                m->key = k;
                if ((v = realloc(m->value, cap * sizeof(*v))) == NULL)
                    return -1;
                m->value = v;
                m->cap = cap;
            }
            m->key[m->n++] = t->ops[i].key;
        }
        m->value[j] = t->ops[i].value;
    }
    return 0;
}

static int ex_model_equal(const ex_model *m, const ex_state *s)
{
    if (m->n != s->n)
        return 0;
    for (size_t i = 0; i < s->n; i++) {
        size_t j = 0;
        while (j < m->n && strcmp(m->key[j], s->kv[i].key) != 0)
            j++;
        if (j == m->n || strcmp(m->value[j], s->kv[i].value) != 0)
            return 0;
    }
    return 1;
}

size_t ex_decl_kept(const ex_decl *d, int power)
{
    return power || d->acked_process < d->acked ? d->acked : d->acked_process;
}

ex_verdict ex_check(const ex_decl *d, const ex_state *s, int power,
                    int64_t *match)
{
    ex_model m = {0};

    *match = -1;
    if (ex_model_equal(&m, s))
        *match = 0;
    for (size_t j = 0; j < d->ntxns; j++) {
        if (ex_model_apply(&m, &d->txns[j]) != 0)
            break;
        if (ex_model_equal(&m, s))
            *match = (int64_t)j + 1;
    }
    free(m.key);
    free(m.value);
    if (*match < 0)
        return EX_NOT_PREFIX;
    if (*match < (int64_t)ex_decl_kept(d, power))
        return EX_LOST_ACK;
    return *match < (int64_t)ex_decl_kept(d, 0) ? EX_EXPECTED_LOSS : EX_OK;
}

const char *ex_verdict_name(ex_verdict v)
{
    switch (v) {
    case EX_OK:
        return "ok";
    case EX_LOST_ACK:
        return "lost-acknowledged";
    case EX_NOT_PREFIX:
        return "not-a-prefix";
    case EX_EXPECTED_LOSS:
        return "expected-loss";
    }
    return "?";
}
