/*
 * cli.c - parsing shared by the command-line programs (cli.h).
 */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>

int cli_parse_u64(const char *s, int base, uint64_t *out)
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
