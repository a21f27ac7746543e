/*
 * num.c - see num.h.
 */
#include "num.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int num_parse_u64(const char *s, int base, uint64_t *out)
{
    char *end;
    unsigned long long v;

    if (!isdigit((unsigned char)s[0])) /* strtoull takes spaces and signs */
        return -1;
    errno = 0;
    v = strtoull(s, &end, base);
    if (errno != 0 || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

int num_parse_size(const char *s, uint64_t *out)
{
    static const char suffixes[] = "KMG";
    char digits[32];
    size_t n = strlen(s);
    const char *suf;
    unsigned shift = 0;
    uint64_t v;

    if (n == 0 || n >= sizeof(digits))
        return -1;
    memcpy(digits, s, n + 1);
    if ((suf = strchr(suffixes, digits[n - 1])) != NULL && *suf != '\0') {
        shift = 10 * (unsigned)(suf - suffixes + 1);
        digits[n - 1] = '\0';
    }
    if (num_parse_u64(digits, 10, &v) != 0 || v > (UINT64_MAX >> shift))
        return -1;
    *out = v << shift;
    return 0;
}

int num_parse_double(const char *s, double *out)
{
    char *end;
    double v;

    /* strtod takes spaces, signs, "inf", "nan" and hexadecimal: a value
     * starts with a digit or a point followed by a digit. */
    if (!isdigit((unsigned char)s[0]) &&
        !(s[0] == '.' && isdigit((unsigned char)s[1])))
        return -1;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        return -1;
    errno = 0;
    v = strtod(s, &end);
    if (errno != 0 || *end != '\0' || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}
