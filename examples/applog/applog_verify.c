/*
 * applog_verify.c - the verify program of the worked example: read DIR/log
 * (applog.h) up to its first invalid record and print the state as
 * KEY<TAB>VALUE lines, the format `crashtest --verify` reads.  A missing
 * log is an empty state.
 *
 *   applog-verify DIR
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "applog.h"

#define APPLOG_MAXKEYS 64

int main(int argc, char **argv)
{
    char path[4096], line[1024], *keys[APPLOG_MAXKEYS], *vals[APPLOG_MAXKEYS];
    int n = 0;
    FILE *f;

    if (argc != 2) {
        fprintf(stderr, "usage: applog-verify DIR\n");
        return 2;
    }
    snprintf(path, sizeof(path), "%.4000s/log", argv[1]);
    if ((f = fopen(path, "r")) == NULL) {
        if (errno == ENOENT)
            return 0;
        perror(path);
        return 1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        size_t len = strlen(line);
        char *last, *field[8], *save = NULL;
        int nf = 0;

        if (len == 0 || line[len - 1] != '\n')
            break; /* cut short */
        line[--len] = '\0';
        if ((last = strrchr(line, '\t')) == NULL ||
            strtoul(last + 1, NULL, 16) !=
                applog_hash(line, (size_t)(last - line)) ||
            strlen(last + 1) != 8)
            break; /* torn or never written */
        *last = '\0';
        for (char *w = strtok_r(line, "\t", &save); w && nf < 8;
             w = strtok_r(NULL, "\t", &save))
            field[nf++] = w;
        for (int i = 1; i + 1 < nf; i += 2) {
            int k = 0;
            while (k < n && strcmp(keys[k], field[i]) != 0)
                k++;
            if (k == n) {
                if (n == APPLOG_MAXKEYS)
                    break;
                keys[n++] = strdup(field[i]);
            } else {
                free(vals[k]);
            }
            vals[k] = strdup(field[i + 1]);
        }
    }
    fclose(f);
    for (int k = 0; k < n; k++)
        printf("%s\t%s\n", keys[k], vals[k]);
    return 0;
}
