/*
 * report_read.c - the CSV rows and the JSON summary of report.c read back,
 * for crashtest --merge.  Only what report.c writes is accepted: the
 * columns in its order, its verdict and mode names; anything else is an
 * error with the reason, never a guess.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "num.h"
#include "report.h"

/* The columns rpt_csv_row writes, in order. */
enum {
    RC_TRIAL,
    RC_SEED,
    RC_MODE,
    RC_WORKLOAD,
    RC_VARIANT,
    RC_CRASH_POINT,
    RC_POINTS,
    RC_DELAY_US,
    RC_DAMAGE,
    RC_ISSUED,
    RC_ACKED,
    RC_DURABLE,
    RC_RECOVERED,
    RC_VERDICT,
    RC_VIOLATION,
    RC_RECOVERY_US,
    RC_BYTES,
    RC_RECORDS,
    RC_REPAIRED,
    RC_TAIL_CUT,
    RC_REC_CRASHES,
    RC_THREADS,
    RC_CLAIMED,
    RC_LINKS,
    RC_SYNC,
    RC_TORN,
    RC_PAGE_SIZE,
    RC_POOL_BYTES,
    RC_CHECKPOINT_BYTES,
    RC_SEGMENT_BYTES,
    RC_TXNS,
    RC_KEYS,
    RC_DRAIN,
    RC_REACHED,
    RC_US_WRITER,
    RC_US_DAMAGE,
    RC_US_VERIFY,
    RC_US_TOTAL,
    RC_DETAIL,
    RC_REPAIR,
    RC_REPAIR_K,
    RC_CKPT_MODE,
    RC_COLUMNS
};

int rpt_csv_is_header(const char *line)
{
    char buf[1024];
    FILE *f = fmemopen(buf, sizeof(buf), "w");
    size_t n;

    if (f == NULL)
        return 0;
    rpt_csv_header(f);
    n = (size_t)ftell(f);
    fclose(f);
    return n > 0 && n < sizeof(buf) && strlen(line) == n - 1 &&
           memcmp(line, buf, n - 1) == 0;
}

/* Split line into its fields (quoted ones unquoted) in place, into
 * field[0..max).  Returns how many, or -1 on a badly quoted field. */
static int rpt_csv_split(char *line, char **field, int max)
{
    int n = 0;
    char *p = line;

    for (;;) {
        char *out = p;
        if (n == max)
            return -1;
        field[n++] = p;
        if (*p == '"') {
            char *in = p + 1;
            for (;;) {
                if (*in == '\0')
                    return -1;
                if (*in == '"' && in[1] == '"') {
                    *out++ = '"';
                    in += 2;
                } else if (*in == '"') {
                    in++;
                    break;
                } else {
                    *out++ = *in++;
                }
            }
            if (*in != ',' && *in != '\0')
                return -1;
            *out = '\0';
            if (*in == '\0')
                return n;
            p = in + 1;
            continue;
        }
        while (*p != ',' && *p != '\0')
            p++;
        if (*p == '\0')
            return n;
        *p++ = '\0';
    }
}

/* A number column ("default" is 0 where allowed). */
static int rpt_csv_u64(const char *s, int dflt_ok, uint64_t max, uint64_t *v)
{
    if (dflt_ok && strcmp(s, "default") == 0) {
        *v = 0;
        return 0;
    }
    return num_parse_u64(s, 0, v) != 0 || *v > max ? -1 : 0;
}

/* The trial seed: 16 hex digits. */
static int rpt_csv_hex(const char *s, uint64_t *v)
{
    char buf[24];

    if (strlen(s) != 16 || strspn(s, "0123456789abcdef") != 16)
        return -1;
    snprintf(buf, sizeof(buf), "0x%s", s);
    return num_parse_u64(buf, 0, v);
}

static int rpt_csv_verdict(const char *verdict, const char *kind, uint8_t *out)
{
    if (strcmp(verdict, "ok") == 0 || strcmp(verdict, "detected") == 0 ||
        strcmp(verdict, "expected-loss") == 0) {
        if (kind[0] != '\0')
            return -1;
        *out = verdict[0] == 'o'   ? ORACLE_OK
               : verdict[0] == 'd' ? ORACLE_DETECTED
                                   : ORACLE_EXPECTED_LOSS;
        return 0;
    }
    if (strcmp(verdict, "violation") != 0)
        return -1;
    for (int k = ORACLE_DURABILITY; k < ORACLE_DETECTED; k++)
        if (strcmp(kind, oracle_kind_name((oracle_kind)k)) == 0) {
            *out = (uint8_t)k;
            return 0;
        }
    return -1;
}

int rpt_csv_parse(const char *line, trial_result *r, char *err, size_t errlen)
{
    /* the numeric columns: where they go, their bounds, "default" */
    static const struct {
        int col;
        size_t off, width;
        int dflt;
    } nums[] = {
#define RN(c, field, d)                                                        \
    {c, offsetof(trial_result, field), sizeof(((trial_result *)0)->field), d}
        RN(RC_TRIAL, id, 0),
        RN(RC_VARIANT, variant, 0),
        RN(RC_CRASH_POINT, crash_point, 0),
        RN(RC_POINTS, points, 0),
        RN(RC_DELAY_US, delay_us, 0),
        RN(RC_ISSUED, issued, 0),
        RN(RC_ACKED, acked, 0),
        RN(RC_DURABLE, durable, 0),
        RN(RC_RECOVERED, recovered, 0),
        RN(RC_RECOVERY_US, recovery_us, 0),
        RN(RC_BYTES, bytes, 0),
        RN(RC_RECORDS, records, 0),
        RN(RC_REPAIRED, repaired, 0),
        RN(RC_REC_CRASHES, rec_crashes, 0),
        RN(RC_THREADS, threads, 0),
        RN(RC_CLAIMED, claimed, 0),
        RN(RC_LINKS, links, 0),
        RN(RC_PAGE_SIZE, cfg.page_size, 1),
        RN(RC_POOL_BYTES, cfg.pool_bytes, 1),
        RN(RC_CHECKPOINT_BYTES, cfg.checkpoint_bytes, 1),
        RN(RC_SEGMENT_BYTES, cfg.segment_bytes, 1),
        RN(RC_TXNS, cfg.txns, 0),
        RN(RC_KEYS, cfg.keys, 0),
        RN(RC_DRAIN, cfg.drain, 0),
        RN(RC_REACHED, reached, 0),
        RN(RC_US_WRITER, us_writer, 0),
        RN(RC_US_DAMAGE, us_damage, 0),
        RN(RC_US_VERIFY, us_verify, 0),
        RN(RC_US_TOTAL, us_total, 0),
        RN(RC_REPAIR_K, repair_k, 0),
#undef RN
    };
    size_t len = strlen(line);
    char *buf = malloc(len + 1), *f[RC_COLUMNS + 1];
    uint64_t v;
    trial_mode mode = MODE_KILL_IO;
    wl_kind kind = WL_INSERTS;
    cl_sync_mode sync = CL_SYNC_DEFAULT;
    cl_torn_mode torn = CL_TORN_DEFAULT;
    cl_ckpt_mode ckpt = CL_CKPT_DEFAULT;
    trial_repair repair = TRIAL_REPAIR_NONE;
    int n, bad = 0;

    if (buf == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memcpy(buf, line, len + 1);
    memset(r, 0, sizeof(*r));
    n = rpt_csv_split(buf, f, RC_COLUMNS + 1);
    if (n != RC_COLUMNS) {
        snprintf(err, errlen, "%d columns, not the %d of a crashtest CSV", n,
                 RC_COLUMNS);
        free(buf);
        return -1;
    }
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]) && !bad; i++) {
        uint64_t max =
            nums[i].width >= 8 ? UINT64_MAX : (1ull << (8 * nums[i].width)) - 1;
        char *p = (char *)r + nums[i].off;
        if (rpt_csv_u64(f[nums[i].col], nums[i].dflt, max, &v) != 0) {
            bad = 1;
            snprintf(err, errlen, "column %d: \"%.40s\" is not a number",
                     nums[i].col + 1, f[nums[i].col]);
            break;
        }
        if (nums[i].width == 1)
            *(uint8_t *)p = (uint8_t)v;
        else if (nums[i].width == 4)
            *(uint32_t *)p = (uint32_t)v;
        else
            *(uint64_t *)p = v;
    }
    if (!bad) {
        bad = 1;
        if (rpt_csv_hex(f[RC_SEED], &r->seed) != 0)
            snprintf(err, errlen, "bad seed \"%.40s\"", f[RC_SEED]);
        else if (trial_mode_parse(f[RC_MODE], &mode) != 0)
            snprintf(err, errlen, "unknown mode \"%.40s\"", f[RC_MODE]);
        else if (strcmp(f[RC_WORKLOAD], "sets") != 0 &&
                 wl_parse(f[RC_WORKLOAD], &kind) != 0)
            snprintf(err, errlen, "unknown workload \"%.40s\"", f[RC_WORKLOAD]);
        else if (rpt_csv_verdict(f[RC_VERDICT], f[RC_VIOLATION], &r->verdict) !=
                 0)
            snprintf(err, errlen, "unknown verdict \"%.40s\" / \"%.40s\"",
                     f[RC_VERDICT], f[RC_VIOLATION]);
        else if (cl_sync_parse(f[RC_SYNC], &sync) != 0 ||
                 cl_torn_parse(f[RC_TORN], &torn) != 0 ||
                 cl_ckpt_parse(f[RC_CKPT_MODE], &ckpt) != 0)
            snprintf(err, errlen,
                     "unknown sync, torn-page protection or checkpoint mode");
        else if (strcmp(f[RC_TAIL_CUT], "0") != 0 &&
                 strcmp(f[RC_TAIL_CUT], "1") != 0)
            snprintf(err, errlen, "tail_cut is 0 or 1");
        else if (trial_repair_parse(f[RC_REPAIR], &repair) != 0)
            snprintf(err, errlen, "unknown repair outcome \"%.40s\"",
                     f[RC_REPAIR]);
        else
            bad = 0;
    }
    if (!bad) {
        r->mode = (uint8_t)mode;
        r->workload =
            strcmp(f[RC_WORKLOAD], "sets") == 0 ? TRIAL_WL_SERVER : kind;
        r->cfg.sync = (uint8_t)sync;
        r->cfg.torn = (uint8_t)torn;
        r->cfg.ckpt = (uint8_t)ckpt;
        r->tail_cut = f[RC_TAIL_CUT][0] == '1';
        r->repair = (uint8_t)repair;
        snprintf(r->damage, sizeof(r->damage), "%s", f[RC_DAMAGE]);
        snprintf(r->detail, sizeof(r->detail), "%s", f[RC_DETAIL]);
    }
    free(buf);
    return bad ? -1 : 0;
}

/* ---- JSON ---- */

const char *rpt_json_find(const char *json, const char *within, const char *key)
{
    char pat[128];
    const char *p;
    size_t n;

    if (within != NULL) {
        snprintf(pat, sizeof(pat), "\"%s\": {", within);
        if ((p = strstr(json, pat)) == NULL)
            return NULL;
        json = p + strlen(pat);
    }
    n = (size_t)snprintf(pat, sizeof(pat), "\"%s\":", key);
    if ((p = strstr(json, pat)) == NULL)
        return NULL;
    p += n;
    while (*p == ' ' || *p == '\n')
        p++;
    return p;
}

int rpt_json_string(const char *v, char *out, size_t len)
{
    size_t n = 0;

    if (v == NULL || *v++ != '"')
        return -1;
    for (; *v != '"'; v++) {
        char ch = *v;
        if (ch == '\0' || n + 1 >= len)
            return -1;
        if (ch == '\\') {
            v++;
            if (*v == '"' || *v == '\\')
                ch = *v;
            else if (*v == 'u' && strncmp(v, "u00", 3) == 0 && v[3] && v[4]) {
                char hex[3] = {v[3], v[4], 0};
                ch = (char)strtol(hex, NULL, 16);
                v += 4;
            } else {
                return -1;
            }
        }
        out[n++] = ch;
    }
    out[n] = '\0';
    return 0;
}

int rpt_json_number(const char *v, double *out)
{
    char *end;

    if (v == NULL || !((*v >= '0' && *v <= '9') || *v == '-'))
        return -1;
    *out = strtod(v, &end);
    return end == v ? -1 : 0;
}
