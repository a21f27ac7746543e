/*
 * cli.c - parsing shared by the command-line programs (cli.h).
 */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>

int cli_parse_u64(const char *s, int base, uint64_t *out)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(s, &end, base);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-')
        return -1;
    *out = v;
    return 0;
}
