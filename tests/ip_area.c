/*
 * ip_area.c - a test helper: run a program under the preload object with a
 * fresh area file, or make an area for a program started otherwise (under
 * strace), and print what the interposer recorded.
 *
 *   ip_area [options] AREA ROOT -- PROG [ARG...]   run PROG, print results
 *   ip_area [options] AREA ROOT                    create only (pid 0: the
 *                                                  first loader claims it)
 *   ip_area --show AREA                            print results
 * options: --preload SO --shadow PATH --grave DIR --crash-at K --strict
 *
 * Output, one fact a line: "status exited N" or "status signal N", then
 * "calls NAME N", "tracked NAME N", "real NAME N" for every counted call,
 * "points N", "outcome N K" (crashio outcome and crash point), and
 * "refused CALL PATH" when the interposer refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "interpose.h"

static void ipa_show(interpose_area *a)
{
    crashio_shared *sh = interpose_area_shared(a);

    for (int i = 0; i < IP_NCALLS; i++) {
        const char *n = interpose_call_name(i);
        printf("calls %s %llu\n", n, (unsigned long long)a->res.calls[i]);
        printf("tracked %s %llu\n", n, (unsigned long long)a->res.tracked[i]);
        printf("real %s %llu\n", n, (unsigned long long)a->res.real[i]);
    }
    printf("points %llu\n", (unsigned long long)sh->points);
    printf("outcome %u %llu\n", (unsigned)sh->outcome,
           (unsigned long long)sh->crash_point);
    if (a->res.refused)
        printf("refused %s %s\n", a->res.refused_call,
               a->res.refused_path[0] ? a->res.refused_path : "-");
}

static interpose_area *ipa_map(const char *path)
{
    int fd = open(path, O_RDWR);
    struct stat st;
    void *m;

    if (fd < 0 || fstat(fd, &st) != 0)
        return NULL;
    m = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
             0);
    close(fd);
    return m == MAP_FAILED ? NULL : m;
}

int main(int argc, char **argv)
{
    interpose_config cfg = {0};
    const char *preload = "build/libcrashlab-preload.so";
    interpose_area *a;
    int i = 1, st, rc;
    pid_t pid;

    if (argc == 3 && strcmp(argv[1], "--show") == 0) {
        if ((a = ipa_map(argv[2])) == NULL) {
            fprintf(stderr, "ip_area: %s: %s\n", argv[2], strerror(errno));
            return 2;
        }
        ipa_show(a);
        return 0;
    }
    for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0 && argv[i][2]; i++) {
        if (strcmp(argv[i], "--preload") == 0)
            preload = argv[++i];
        else if (strcmp(argv[i], "--shadow") == 0)
            snprintf(cfg.shadow_path, sizeof(cfg.shadow_path), "%s", argv[++i]);
        else if (strcmp(argv[i], "--grave") == 0)
            snprintf(cfg.graveyard_dir, sizeof(cfg.graveyard_dir), "%s",
                     argv[++i]);
        else if (strcmp(argv[i], "--crash-at") == 0)
            cfg.crash_at = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--strict") == 0)
            cfg.strict = 1;
        else
            break;
    }
    if (argc - i < 2) {
        fprintf(stderr, "usage: ip_area [options] AREA ROOT [-- PROG ARG...]"
                        "\n");
        return 2;
    }
    if (realpath(argv[i + 1], cfg.root) == NULL) {
        fprintf(stderr, "ip_area: %s: %s\n", argv[i + 1], strerror(errno));
        return 2;
    }
    if ((rc = interpose_area_create(argv[i], &cfg, 1024, &a)) != 0) {
        fprintf(stderr, "ip_area: %s: %s\n", argv[i], strerror(rc));
        return 2;
    }
    if (i + 2 >= argc)
        return 0;
    if (strcmp(argv[i + 2], "--") != 0 || i + 3 >= argc) {
        fprintf(stderr, "ip_area: expected -- PROG\n");
        return 2;
    }
    {
        interpose_spawn_opts o = {.preload = preload,
                                  .area_path = argv[i],
                                  .area = a,
                                  .argv = argv + i + 3,
                                  .fd3 = -1,
                                  .out_fd = -1};
        if ((rc = interpose_spawn(&o, &pid)) != 0) {
            fprintf(stderr, "ip_area: spawn: %s\n", strerror(rc));
            return 2;
        }
    }
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return 2;
    if (WIFEXITED(st))
        printf("status exited %d\n", WEXITSTATUS(st));
    else
        printf("status signal %d\n", WTERMSIG(st));
    ipa_show(a);
    return 0;
}
