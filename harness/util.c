/*
 * util.c - see util.h.
 */
#include "util.h"

#include "clk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t util_conts;

static void util_on_continue(int sig)
{
    (void)sig;
    util_conts++;
}

void util_watch_continue(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = util_on_continue;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGCONT, &sa, NULL);
}

unsigned long util_continues(void)
{
    return (unsigned long)util_conts;
}

int util_continued(unsigned long *seen)
{
    unsigned long now = util_continues();

    if (now == *seen)
        return 0;
    *seen = now;
    return 1;
}

void util_child_signals(void)
{
    static const int sigs[] = {SIGSEGV, SIGABRT, SIGBUS, SIGILL,
                               SIGFPE,  SIGPIPE, SIGINT, SIGTERM};

    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        signal(sigs[i], SIG_DFL);
}

void util_reexec_tuned(char **argv)
{
    const char *t = getenv("GLIBC_TUNABLES");
    int bind = getenv("LD_BIND_NOW") == NULL,
        huge = t == NULL || strstr(t, "glibc.malloc.hugetlb") == NULL;
    char buf[1024];

    if (bind)
        bind = setenv("LD_BIND_NOW", "1", 1) == 0;
    if (huge) {
        int n = snprintf(buf, sizeof(buf), "%s%sglibc.malloc.hugetlb=1",
                         t != NULL ? t : "", t != NULL && *t ? ":" : "");
        huge = n > 0 && (size_t)n < sizeof(buf) &&
               setenv("GLIBC_TUNABLES", buf, 1) == 0;
    }
    if (bind || huge)
        execv("/proc/self/exe", argv);
}

void util_name_process(const char *name)
{
    prctl(PR_SET_NAME, name, 0, 0, 0);
}

int util_wait(pid_t pid)
{
    int st = 0;

    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return st;
}

int util_wait_within(pid_t pid, uint64_t us, int *st)
{
    uint64_t full = us, end = clk_now_us() + us, now;
    unsigned long conts = util_continues();

    if (us == 0) {
        *st = util_wait(pid);
        return 0;
    }
    while (util_wait_exit_us(pid, us) == 0) {
        /* where the kernel cannot watch a pid, util_wait_exit_us slept
         * the whole time: the child may have ended meanwhile */
        if (waitpid(pid, st, WNOHANG) == pid)
            return 0;
        if ((now = clk_now_us()) >= end && util_continued(&conts)) {
            end = now + full; /* stopped and continued: not pid's time */
        } else if (now >= end) {
            kill(pid, SIGKILL);
            *st = util_wait(pid);
            return 1;
        }
        us = end - now;
    }
    *st = util_wait(pid);
    return 0;
}

int util_wait_exit_us(pid_t pid, uint64_t us)
{
    struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};
    int fd = -1, rc = 0;

#ifdef SYS_pidfd_open
    fd = (int)syscall(SYS_pidfd_open, pid, 0);
#endif
    if (fd < 0) {
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
        return 0;
    }
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        uint64_t t0 = clk_now_us(), spent;
        int n = ppoll(&p, 1, &ts, NULL);
        if (n > 0) {
            rc = 1;
            break;
        }
        if (n == 0 || errno != EINTR)
            break;
        spent = clk_now_us() - t0;
        us = us > spent ? us - spent : 0;
        ts.tv_sec = (time_t)(us / 1000000);
        ts.tv_nsec = (long)(us % 1000000) * 1000;
    }
    close(fd);
    return rc;
}

void util_status_text(int st, char *buf, size_t len)
{
    if (WIFEXITED(st))
        snprintf(buf, len, "exit %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(buf, len, "signal %d (%s)", WTERMSIG(st),
                 strsignal(WTERMSIG(st)));
    else
        snprintf(buf, len, "status %#x", st);
}

void util_strip_dir(char *s, const char *dir)
{
    size_t n = strlen(dir);
    char *w = s, *p;

    if (n == 0)
        return;
    while ((p = strstr(s, dir)) != NULL) {
        size_t keep = (size_t)(p - s);
        memmove(w, s, keep);
        w += keep;
        s = p + n + (p[n] == '/');
    }
    memmove(w, s, strlen(s) + 1);
}

void util_appendf(char *buf, size_t len, const char *fmt, ...)
{
    size_t n = strnlen(buf, len);
    va_list ap;

    if (n + 1 >= len)
        return;
    va_start(ap, fmt);
    vsnprintf(buf + n, len - n, fmt, ap);
    va_end(ap);
}
