/*
 * bench_syscalls.c - kvbench experiment syscalls: what the kernel charges
 * for the calls a crash state makes most (docs/PERFORMANCE.md), so that a
 * harness's figures can be read against the machine's: a bare system call
 * (getppid), a 4 KiB pread and an fstat of a file in the directory given,
 * a page fault (a fresh anonymous page touched; its mapping, of 256
 * pages, removed after each round, as a process's exit or a free does),
 * and the same per 4 KiB of a fresh transparent huge page.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"
#include "clk.h"
#include "fsutil.h"

#define BSC_FILE_PAGES 16
#define BSC_MAP_PAGES 256

#define BSC_HUGE ((size_t)2 << 20)
#define BSC_NCALLS 5

static const char *const bsc_names[BSC_NCALLS] = {
    "getppid", "pread-4k", "fstat", "page-fault", "page-fault-thp"};

/* The kB of anonymous huge pages the process has mapped now (0 where
 * /proc/self/smaps_rollup does not say). */
static unsigned long bsc_huge_kb(void)
{
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    char line[256];
    unsigned long kb = 0;

    while (f != NULL && fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "AnonHugePages: %lu kB", &kb) == 1)
            break;
    if (f != NULL)
        fclose(f);
    return kb;
}

/* Set by the first bsc_huge when no huge page came. */
static int bsc_no_huge;

/* Touch every 4 KiB page of a fresh 2 MiB of memory that asks for a
 * transparent huge page (MADV_HUGEPAGE, what glibc.malloc.hugetlb=1 asks
 * for a heap: crashtest's processes run so), then remove it: the pages
 * touched, 0 on a failure.  Where the kernel gives none, these are 4 KiB
 * page faults again. */
static uint64_t bsc_huge(uint64_t n)
{
    char *m = mmap(NULL, 2 * BSC_HUGE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
         *a;

    if (m == MAP_FAILED)
        return 0;
    a = (char *)(((uintptr_t)m + BSC_HUGE - 1) & ~(uintptr_t)(BSC_HUGE - 1));
    (void)madvise(a, BSC_HUGE, MADV_HUGEPAGE);
    for (size_t off = 0; off < BSC_HUGE; off += 4096)
        a[off] = 1;
    if (n == 0)
        bsc_no_huge = bsc_huge_kb() == 0;
    munmap(m, 2 * BSC_HUGE);
    return BSC_HUGE / 4096;
}

/* One round of measurement c on fd: the calls it made, 0 on a failure. */
static uint64_t bsc_round(int c, int fd, uint64_t n, char *buf)
{
    struct stat st;

    switch (c) {
    case 0:
        (void)getppid();
        return 1;
    case 1:
        return pread(fd, buf, 4096, (off_t)(n % BSC_FILE_PAGES) * 4096) == 4096;
    case 2:
        return fstat(fd, &st) == 0;
    case 4:
        return bsc_huge(n);
    default: {
        size_t len = (size_t)BSC_MAP_PAGES * 4096;
        char *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED)
            return 0;
        for (size_t off = 0; off < len; off += 4096)
            m[off] = 1;
        munmap(m, len);
        return BSC_MAP_PAGES;
    }
    }
}

int bench_syscalls(const char *dir, double seconds)
{
    char path[4200], buf[4096];
    int fd = -1, rc = 1;

    if (fs_mkdirs(dir) != 0 || fs_join(path, sizeof(path), dir, "syscalls") ||
        (fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
        fprintf(stderr, "kvbench experiment: %s: %s\n", dir, strerror(errno));
        return 1;
    }
    memset(buf, 0xa5, sizeof(buf));
    for (int i = 0; i < BSC_FILE_PAGES; i++)
        if (pwrite(fd, buf, sizeof(buf), (off_t)i * 4096) != 4096) {
            fprintf(stderr, "kvbench experiment: writing %s: %s\n", path,
                    strerror(errno));
            goto out;
        }
    for (int c = 0; c < BSC_NCALLS; c++) {
        uint64_t n = 0, k;
        uint64_t t0 = clk_now_ns(), t;
        do {
            if ((k = bsc_round(c, fd, n, buf)) == 0) {
                fprintf(stderr, "kvbench experiment: %s failed: %s\n",
                        bsc_names[c], strerror(errno));
                goto out;
            }
            n += k;
        } while ((t = clk_now_ns() - t0) <
                 (uint64_t)(seconds / BSC_NCALLS * 1e9));
        printf("%s,%" PRIu64 ",%.3f,%.3f\n", bsc_names[c], n, (double)t / 1e9,
               (double)t / 1e3 / (double)n);
        if (c == 4 && bsc_no_huge)
            fprintf(stderr,
                    "kvbench experiment: the kernel gave no transparent huge "
                    "page (/sys/kernel/mm/transparent_hugepage/enabled): "
                    "page-fault-thp measured 4 KiB faults\n");
    }
    rc = 0;
out:
    close(fd);
    unlink(path);
    return rc;
}
