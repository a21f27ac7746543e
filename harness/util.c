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

/* The variables util_reexec_tuned sets; the user's values wait in
 * CRASHLAB_ORIG_<name> across the exec, and CRASHLAB_REEXEC marks a
 * process that is the exec's. */
static const char *const util_tuned[] = {"LD_BIND_NOW", "GLIBC_TUNABLES"};
#define UTIL_REEXEC_MARK "CRASHLAB_REEXEC"

#define UTIL_NTUNED (sizeof(util_tuned) / sizeof(util_tuned[0]))

/* The name under which util_tuned[i]'s user's value waits. */
static void util_orig_name(size_t i, char *out, size_t len)
{
    snprintf(out, len, "CRASHLAB_ORIG_%s", util_tuned[i]);
}

/* Give the variables of util_tuned the user's values back (or unset
 * them), and drop the saved values and the mark. */
static void util_reexec_restore(void)
{
    for (size_t i = 0; i < UTIL_NTUNED; i++) {
        char orig[64];
        const char *o;
        util_orig_name(i, orig, sizeof(orig));
        if ((o = getenv(orig)) != NULL)
            setenv(util_tuned[i], o, 1);
        else
            unsetenv(util_tuned[i]);
        unsetenv(orig);
    }
    unsetenv(UTIL_REEXEC_MARK);
}

/* Save the user's values of util_tuned (the set ones) for
 * util_reexec_restore.  Returns 0, or -1 with none saved. */
static int util_reexec_save(void)
{
    char orig[64];

    for (size_t i = 0; i < UTIL_NTUNED; i++) {
        const char *v = getenv(util_tuned[i]);
        util_orig_name(i, orig, sizeof(orig));
        if (v != NULL && setenv(orig, v, 1) != 0)
            goto fail;
    }
    return 0;
fail:
    for (size_t i = 0; i < UTIL_NTUNED; i++) {
        util_orig_name(i, orig, sizeof(orig));
        unsetenv(orig);
    }
    return -1;
}

void util_reexec_tuned(char **argv)
{
    const char *t = getenv("GLIBC_TUNABLES");
    int bind = getenv("LD_BIND_NOW") == NULL,
        huge = t == NULL || strstr(t, "glibc.malloc.hugetlb") == NULL;
    char *tun;

    if (getenv(UTIL_REEXEC_MARK) != NULL) {
        /* the exec's process: both were read at its start; the programs
         * it runs get the user's environment (and it never runs itself
         * again, whatever a secure-mode start dropped); its name is the
         * program's again, not /proc/self/exe's */
        const char *base = strrchr(argv[0], '/');
        util_reexec_restore();
        util_name_process(base != NULL ? base + 1 : argv[0]);
        return;
    }
    if ((!bind && !huge) ||
        (tun = malloc((t != NULL ? strlen(t) : 0) + 32)) == NULL)
        return;
    sprintf(tun, "%s%sglibc.malloc.hugetlb=1", t != NULL ? t : "",
            t != NULL && *t ? ":" : "");
    if (util_reexec_save() == 0) {
        if ((!huge || setenv("GLIBC_TUNABLES", tun, 1) == 0) &&
            (!bind || setenv("LD_BIND_NOW", "1", 1) == 0) &&
            setenv(UTIL_REEXEC_MARK, "1", 1) == 0)
            execv("/proc/self/exe", argv);
        /* not run again: on as it is, the environment as it was */
        util_reexec_restore();
    }
    free(tun);
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
