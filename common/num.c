/*
 * num.c - see num.h.
 */
#include "num.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>

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
