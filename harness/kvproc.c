/*
 * kvproc.c - see kvproc.h.
 */
#include "kvproc.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "clk.h"
#include "num.h"
#include "util.h"

extern char **environ;

/* Close every descriptor from `first` on (in the child, before exec). */
static void kvproc_close_from(int first)
{
#ifdef SYS_close_range
    if (syscall(SYS_close_range, (unsigned)first, ~0u, 0) == 0)
        return;
#endif
    for (int fd = first; fd < 4096; fd++)
        close(fd);
}

/* The server's environment: this process's, without LD_BIND_NOW (a
 * short-lived server starts faster binding lazily; crashtest's own
 * processes were bound at its start) and without any KVSERVER_ variable,
 * plus extra
 * (NULL-terminated).  Returns a malloc'd array (of borrowed strings), or
 * NULL. */
static char **kvproc_envp(char *const *extra)
{
    size_t n = 0, m = 0, k = 0;
    char **e;

    while (environ[n] != NULL)
        n++;
    while (extra[m] != NULL)
        m++;
    if ((e = malloc((n + m + 1) * sizeof(*e))) == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "LD_BIND_NOW=", 12) != 0 &&
            strncmp(environ[i], "KVSERVER_", 9) != 0)
            e[k++] = environ[i];
    for (size_t i = 0; i < m; i++)
        e[k++] = extra[i];
    e[k] = NULL;
    return e;
}

/* In the child: descriptors 0 (null), 1 (the pipe), 2 (the log) and, for
 * crashio, 3 (the shared area); signals as a fresh process has them; its
 * own process group; killed when its parent dies.  Then exec. */
_Noreturn static void kvproc_child(const kvproc_args *a, pid_t parent,
                                   int nullfd, int outfd, int logfd,
                                   const char *const *argv, char **envp)
{
    sigset_t none;

    util_child_signals();
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    setpgid(0, 0);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
        _exit(127);
    if (dup2(nullfd, 0) < 0 || dup2(outfd, 1) < 0 || dup2(logfd, 2) < 0)
        _exit(127);
    if (a->memfd >= 0 &&
        ((a->memfd != 3 && dup2(a->memfd, 3) < 0) || fcntl(3, F_SETFD, 0) != 0))
        _exit(127);
    kvproc_close_from(a->memfd >= 0 ? 4 : 3);
    execve(a->path, (char *const *)argv, envp);
    _exit(127);
}

int kvproc_start(const kvproc_args *a, kvproc *p)
{
    char ckpt[32], page[32], ev[4][4400], *extra[5];
    const char *argv[20];
    char **envp;
    int pfd[2] = {-1, -1}, logfd = -1, nullfd = -1, rc = 0, n = 0, x = 0;
    pid_t parent = getpid(), pid;

    memset(p, 0, sizeof(*p));
    p->out = -1;
    argv[n++] = a->path;
    argv[n++] = "-d";
    argv[n++] = a->dir;
    argv[n++] = "--port";
    argv[n++] = "0";
    argv[n++] = "--sync";
    argv[n++] = cl_sync_name(a->eng->sync);
    argv[n++] = "--torn-protection";
    argv[n++] = cl_torn_name(a->eng->torn);
    if (a->eng->checkpoint_mode != CL_CKPT_DEFAULT) {
        argv[n++] = "--checkpoint-mode";
        argv[n++] = cl_ckpt_name(a->eng->checkpoint_mode);
    }
    if (a->eng->checkpoint_bytes != 0) {
        snprintf(ckpt, sizeof(ckpt), "%" PRIu64, a->eng->checkpoint_bytes);
        argv[n++] = "--checkpoint-bytes";
        argv[n++] = ckpt;
    }
    if (a->eng->page_size != 0) {
        snprintf(page, sizeof(page), "%u", a->eng->page_size);
        argv[n++] = "--page-size";
        argv[n++] = page;
    }
    if (a->report != NULL) {
        /* a report left by an earlier start must not pass for this one's */
        if (unlink(a->report) != 0 && errno != ENOENT)
            return errno;
        argv[n++] = "--report";
        argv[n++] = a->report;
    }
    argv[n] = NULL;
    if (a->memfd >= 0) {
        snprintf(ev[x], sizeof(ev[x]), "KVSERVER_CRASHIO=shm=3 %s", a->crashio);
        extra[x] = ev[x];
        x++;
        if (a->shadow != NULL) {
            snprintf(ev[x], sizeof(ev[x]), "KVSERVER_CRASHIO_SHADOW=%s",
                     a->shadow);
            extra[x] = ev[x];
            x++;
            snprintf(ev[x], sizeof(ev[x]), "KVSERVER_CRASHIO_GRAVEYARD=%s",
                     a->graveyard);
            extra[x] = ev[x];
            x++;
        }
    }
    if (a->broken != NULL) {
        snprintf(ev[x], sizeof(ev[x]), "KVSERVER_BROKEN=%s", a->broken);
        extra[x] = ev[x];
        x++;
    }
    extra[x] = NULL;
    if ((envp = kvproc_envp(extra)) == NULL)
        return ENOMEM;
    if (pipe2(pfd, O_CLOEXEC) != 0 ||
        (logfd = open(a->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                      0644)) < 0 ||
        (nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
        rc = errno;
        goto out;
    }
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        rc = errno;
        goto out;
    }
    if (pid == 0)
        kvproc_child(a, parent, nullfd, pfd[1], logfd, argv, envp);
    p->pid = pid;
    p->out = pfd[0];
    pfd[0] = -1;
out:
    free(envp);
    if (pfd[0] >= 0)
        close(pfd[0]);
    if (pfd[1] >= 0)
        close(pfd[1]);
    if (logfd >= 0)
        close(logfd);
    if (nullfd >= 0)
        close(nullfd);
    return rc;
}

int kvproc_listen(kvproc *p, uint64_t timeout_us)
{
    char buf[256];
    size_t n = 0;
    uint64_t until = clk_now_us() + timeout_us;

    for (;;) {
        struct pollfd pf = {.fd = p->out, .events = POLLIN};
        uint64_t now = clk_now_us();
        struct timespec ts;
        ssize_t r;
        char *nl, *colon;
        if (now >= until)
            return KVPROC_SILENT;
        ts.tv_sec = (time_t)((until - now) / 1000000);
        ts.tv_nsec = (long)((until - now) % 1000000) * 1000;
        if (ppoll(&pf, 1, &ts, NULL) <= 0)
            continue;
        r = read(p->out, buf + n, sizeof(buf) - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return KVPROC_ENDED;
        n += (size_t)r;
        buf[n] = '\0';
        if ((nl = strchr(buf, '\n')) == NULL) {
            if (n == sizeof(buf) - 1)
                return KVPROC_ENDED; /* not kvserver's line */
            continue;
        }
        *nl = '\0';
        colon = strrchr(buf, ':');
        if (strncmp(buf, "kvserver: listening on ", 23) != 0 || colon == NULL ||
            sscanf(colon + 1, "%u", &p->port) != 1)
            return KVPROC_ENDED;
        close(p->out);
        p->out = -1;
        return KVPROC_LISTENING;
    }
}

void kvproc_reap(kvproc *p, int sig)
{
    if (p->pid > 0) {
        if (sig != 0)
            kill(p->pid, sig);
        p->status = util_wait(p->pid);
        p->pid = 0;
    }
    if (p->out >= 0)
        close(p->out);
    p->out = -1;
}

/* The last len - 1 bytes (at most) of the log into buf, NUL-ended.
 * Returns the bytes read. */
static size_t kvproc_log_read(const char *log, char *buf, size_t len)
{
    FILE *f = fopen(log, "r");
    size_t n = 0;

    buf[0] = '\0';
    if (f == NULL)
        return 0;
    if (fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        if (size > (long)len - 1)
            fseek(f, size - (long)len + 1, SEEK_SET);
        else
            rewind(f);
        n = fread(buf, 1, len - 1, f);
    }
    fclose(f);
    buf[n] = '\0';
    return n;
}

void kvproc_log_tail(const char *log, char *out, size_t len)
{
    char buf[4096], *start;
    size_t n = kvproc_log_read(log, buf, sizeof(buf));

    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    if (n == 0) {
        snprintf(out, len, "no message");
        return;
    }
    start = buf + n;
    while (start > buf && start[-1] != '\n')
        start--;
    snprintf(out, len, "%.*s", (int)(len - 1), start);
}

/* One name=value field of a report into r.  Returns 0, or -1 if a known
 * name has a bad value (an unknown name is skipped). */
static int kvproc_report_field(const char *name, const char *v,
                               kvproc_report *r)
{
    static const struct {
        const char *name;
        size_t off;
    } u64s[] = {
        {"records", offsetof(kvproc_report, records)},
        {"bytes", offsetof(kvproc_report, bytes)},
        {"pages_repaired", offsetof(kvproc_report, pages_repaired)},
        {"usec", offsetof(kvproc_report, usec)},
    };
    uint64_t n;

    if (strcmp(name, "result") == 0) {
        if (strcmp(v, "ok") != 0 && strcmp(v, "error") != 0)
            return -1;
        r->ok = strcmp(v, "ok") == 0;
        return 0;
    }
    if (strcmp(name, "kind") == 0) {
        if (strlen(v) >= sizeof(r->kind))
            return -1;
        memcpy(r->kind, v, strlen(v) + 1);
        return 0;
    }
    if (strcmp(name, "rc") == 0) {
        char *end;
        long x;
        errno = 0;
        x = strtol(v, &end, 10);
        if (errno != 0 || end == v || *end != '\0' || x < INT_MIN ||
            x > INT_MAX)
            return -1;
        r->rc = (int)x;
        return 0;
    }
    if (strcmp(name, "created") == 0 || strcmp(name, "tail_cut") == 0) {
        if (num_parse_u64(v, 10, &n) != 0 || n > 1)
            return -1;
        *(name[0] == 'c' ? &r->created : &r->tail_cut) = (int)n;
        return 0;
    }
    for (size_t i = 0; i < sizeof(u64s) / sizeof(u64s[0]); i++)
        if (strcmp(name, u64s[i].name) == 0)
            return num_parse_u64(v, 10, (uint64_t *)((char *)r + u64s[i].off));
    return 0;
}

/* One line of the report, its first word name, into r.  Returns 0, or
 * -1 (not such a line). */
static int kvproc_report_line(char *line, const char *name, kvproc_report *r)
{
    char *save = NULL, *f = strtok_r(line, "\t", &save);
    int have_result = 0;

    if (f == NULL || strcmp(f, name) != 0)
        return -1;
    while ((f = strtok_r(NULL, "\t", &save)) != NULL) {
        char *eq = strchr(f, '=');
        if (eq == NULL)
            return -1;
        *eq = '\0';
        if (kvproc_report_field(f, eq + 1, r) != 0)
            return -1;
        have_result |= strcmp(f, "result") == 0;
    }
    return have_result ? 0 : -1;
}

int kvproc_report_read(const char *path, kvproc_report *r)
{
    char buf[1024], *nl;
    size_t n = kvproc_log_read(path, buf, sizeof(buf));
    kvproc_report stop;

    memset(r, 0, sizeof(*r));
    if (n == 0 || buf[n - 1] != '\n')
        return -1; /* missing, empty or cut short */
    buf[n - 1] = '\0';
    if ((nl = strchr(buf, '\n')) != NULL)
        *nl = '\0';
    if (kvproc_report_line(buf, "open", r) != 0)
        return -1;
    if (nl != NULL) {
        if (strchr(nl + 1, '\n') != NULL)
            return -1; /* a report has two lines at most */
        memset(&stop, 0, sizeof(stop));
        if (kvproc_report_line(nl + 1, "stop", &stop) != 0)
            return -1;
        r->stopped = 1;
        r->stop_ok = stop.ok;
        r->stop_rc = stop.rc;
        memcpy(r->stop_kind, stop.kind, sizeof(r->stop_kind));
    }
    return 0;
}
