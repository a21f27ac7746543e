/*
 * replay.c - run a fuzz target's LLVMFuzzerTestOneInput on files, without
 * libFuzzer, so that regression inputs and seed corpora are checked by
 * `make test` with any C compiler (and under ASan/UBSan with SAN=1).
 *
 * Usage: replay_<target> PATH...   (a directory means every file in it,
 * in name order; subdirectories are skipped)
 * Prints one line per directory or file and exits 0 when every input ran
 * to completion; a property violation or sanitizer report aborts the
 * process, naming the input last printed on stderr.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* Read a whole file.  Returns a malloc'd buffer (OUT: *len) or NULL. */
static uint8_t *rp_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *b = NULL;
    size_t cap = 0, n = 0, got;

    if (f == NULL)
        return NULL;
    do {
        if (n == cap) {
            uint8_t *nb = realloc(b, cap ? cap * 2 : 65536);
            if (nb == NULL) {
                free(b);
                fclose(f);
                return NULL;
            }
            b = nb;
            cap = cap ? cap * 2 : 65536;
        }
        got = fread(b + n, 1, cap - n, f);
        n += got;
    } while (got > 0);
    if (ferror(f)) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *len = n;
    return b;
}

static int rp_file(const char *path)
{
    size_t len = 0;
    uint8_t *b = rp_read(path, &len);

    if (b == NULL) {
        fprintf(stderr, "replay: cannot read %s: %s\n", path, strerror(errno));
        return 1;
    }
    fprintf(stderr, "replay: %s\n", path);
    LLVMFuzzerTestOneInput(b, len);
    free(b);
    return 0;
}

static int rp_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int rp_dir(const char *dir, unsigned *count)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **names = NULL, path[4096];
    size_t n = 0, cap = 0;
    int bad = 0;

    if (d == NULL) {
        fprintf(stderr, "replay: cannot open %s: %s\n", dir, strerror(errno));
        return 1;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            char **nn =
                realloc(names, (cap = cap ? 2 * cap : 64) * sizeof(*nn));
            if (nn == NULL) {
                bad = 1;
                break;
            }
            names = nn;
        }
        if ((names[n] = strdup(e->d_name)) == NULL) {
            bad = 1;
            break;
        }
        n++;
    }
    closedir(d);
    if (n > 1)
        qsort(names, n, sizeof(*names), rp_name_cmp);
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            bad |= rp_file(path);
            (*count)++;
        }
        free(names[i]);
    }
    free(names);
    return bad;
}

int main(int argc, char **argv)
{
    int bad = 0;

    for (int i = 1; i < argc; i++) {
        struct stat st;
        unsigned count = 0;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            bad = 1;
        } else if (S_ISDIR(st.st_mode)) {
            bad |= rp_dir(argv[i], &count);
            printf("replay: %s: %u inputs\n", argv[i], count);
        } else {
            bad |= rp_file(argv[i]);
            printf("replay: %s: 1 input\n", argv[i]);
        }
    }
    return bad;
}
