/*
 * ip_workload.c - a test helper: a plain program (no crashlab code) that
 * makes each file call the interposer handles, on files under DIR, a fixed
 * number of times, so that the interposer's counts can be checked against
 * strace's.  With a second argument it instead does one thing the
 * interposer must refuse: "mmap", "syscall", "fopen", "outside FILE",
 * "fopen-outside FILE", "exchange".
 *
 * usage: ip_workload DIR [mmap | syscall | fopen | outside FILE |
 *                          fopen-outside FILE | exchange]
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static char *ipw_path(const char *dir, const char *name)
{
    char *p;

    if (asprintf(&p, "%s/%s", dir, name) < 0)
        exit(3);
    return p;
}

#define CHECK(x)                                                               \
    do {                                                                       \
        if (!(x)) {                                                            \
            fprintf(stderr, "ip_workload: %s failed (line %d)\n", #x,          \
                    __LINE__);                                                 \
            exit(3);                                                           \
        }                                                                      \
    } while (0)

static int ipw_refused(const char *dir, int argc, char **argv)
{
    char *f = ipw_path(dir, "r");
    int fd = open(f, O_RDWR | O_CREAT, 0644);

    CHECK(fd >= 0);
    CHECK(ftruncate(fd, 4096) == 0);
    if (strcmp(argv[2], "mmap") == 0) {
        void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        CHECK(m != MAP_FAILED);
        memset(m, 1, 4096);
    } else if (strcmp(argv[2], "syscall") == 0) {
        CHECK(syscall(SYS_pwrite64, fd, "x", 1, 0) == 1);
    } else if (strcmp(argv[2], "fopen") == 0) {
        FILE *s = fopen(f, "w");
        CHECK(s != NULL);
        fclose(s);
    } else if (strcmp(argv[2], "outside") == 0 && argc > 3) {
        int o = open(argv[3], O_WRONLY | O_CREAT, 0644);
        CHECK(o >= 0);
        close(o);
    } else if (strcmp(argv[2], "fopen-outside") == 0 && argc > 3) {
        FILE *s = fopen(argv[3], "a");
        CHECK(s != NULL);
        fclose(s);
    } else if (strcmp(argv[2], "exchange") == 0) {
        char *g = ipw_path(dir, "r2");
        close(open(g, O_WRONLY | O_CREAT, 0644));
        CHECK(renameat2(AT_FDCWD, f, AT_FDCWD, g, RENAME_EXCHANGE) == 0);
    } else {
        return 4;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *dir;
    char *a, *b, *sub, *ap;
    char buf[1000];
    struct iovec iov[2] = {{buf, 100}, {buf + 100, 200}};
    int fd, fd2, fd3, dfd, afd;
    pid_t child;

    if (argc < 2) {
        fprintf(stderr, "usage: ip_workload DIR [refusal]\n");
        return 2;
    }
    dir = argv[1];
    if (argc > 2)
        return ipw_refused(dir, argc, argv);
    memset(buf, 'a', sizeof(buf));
    a = ipw_path(dir, "a");
    b = ipw_path(dir, "b");
    sub = ipw_path(dir, "sub");
    ap = ipw_path(dir, "sub/log");

    /* 1 open, 2 write, 1 pwrite, 1 writev, 1 pwritev, 1 lseek */
    CHECK((fd = open(a, O_WRONLY | O_CREAT | O_TRUNC, 0644)) >= 0);
    CHECK(write(fd, buf, 1000) == 1000);
    CHECK(write(fd, buf, 10) == 10);
    CHECK(pwrite(fd, buf, 500, 4096) == 500);
    CHECK(writev(fd, iov, 2) == 300);
    CHECK(pwritev(fd, iov, 2, 8192) == 300);
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    /* dup, dup2, fcntl(F_DUPFD): the offset is shared; 3 writes */
    CHECK((fd2 = dup(fd)) >= 0);
    CHECK(write(fd2, buf, 7) == 7);
    CHECK(dup2(fd, 50) == 50);
    CHECK(write(50, buf, 7) == 7);
    CHECK((fd3 = fcntl(fd, F_DUPFD_CLOEXEC, 60)) >= 60);
    CHECK(write(fd3, buf, 7) == 7);
    CHECK(lseek(fd, 0, SEEK_CUR) == 21);
    /* 1 fsync, 1 fdatasync, 1 ftruncate, 1 fallocate, 1 posix_fallocate,
     * 1 sync_file_range */
    CHECK(fsync(fd) == 0);
    CHECK(fdatasync(fd2) == 0);
    CHECK(ftruncate(fd, 9000) == 0);
    CHECK(fallocate(fd, 0, 0, 12288) == 0);
    CHECK(posix_fallocate(fd, 0, 16384) == 0);
    CHECK(sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE) == 0);
    CHECK(close(fd3) == 0 && close(50) == 0 && close(fd2) == 0);
    CHECK(close(fd) == 0);
    /* 1 mkdir, 1 rename, an O_APPEND and an O_SYNC file */
    CHECK(mkdir(sub, 0755) == 0);
    CHECK(rename(a, b) == 0);
    CHECK((afd = open(ap, O_WRONLY | O_CREAT | O_APPEND | O_SYNC, 0644)) >= 0);
    CHECK(write(afd, "one\n", 4) == 4);
    CHECK(write(afd, "two\n", 4) == 4);
    CHECK(close(afd) == 0);
    /* a directory fsync, syncfs */
    CHECK((dfd = open(dir, O_RDONLY | O_DIRECTORY)) >= 0);
    CHECK(fsync(dfd) == 0);
    CHECK(syncfs(dfd) == 0);
    CHECK(close(dfd) == 0);
    /* unlink, rmdir, creat */
    CHECK(unlink(ap) == 0);
    CHECK(rmdir(sub) == 0);
    CHECK((fd = creat(a, 0644)) >= 0);
    CHECK(close(fd) == 0);
    /* fork: the child changes nothing and exits */
    CHECK((child = fork()) >= 0);
    if (child == 0)
        _exit(0);
    CHECK(waitpid(child, NULL, 0) == child);
    return 0;
}
