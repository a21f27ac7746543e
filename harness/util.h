/*
 * util.h - small process and file helpers for the harness (which, unlike
 * the engine, may use the file system directly).
 */
#ifndef CL_HARNESS_UTIL_H
#define CL_HARNESS_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Reset the signals cmocka or a parent may have changed, for a forked
 * child that must die like a real process. */
void util_child_signals(void);
/* Name this process (what ps, top and perf show), e.g. "ct-writer". */
void util_name_process(const char *name);
/* Run this program again (argv) with LD_BIND_NOW set and glibc's malloc
 * on transparent huge pages (GLIBC_TUNABLES glibc.malloc.hugetlb=1),
 * unless both are set already (a hugetlb tunable of the user's is kept),
 * once: the process the exec starts gives both variables back the values
 * the user had, for the programs it runs (glibc read them at its start).
 * Returns only in that process, or if nothing was to be done or the exec
 * failed (the environment then as it was). */
void util_reexec_tuned(char **argv);
/* Count the SIGCONTs this process gets, and every process forked from it
 * (the handler restarts interrupted calls, SA_RESTART, and an exec drops
 * it).  A campaign that was stopped (Ctrl-Z, SIGSTOP) and continued must
 * not take the stop for a hang of the process it was waiting for (a
 * worker its writer or verifier, a writer a branch of its run): a wait of
 * util_wait_within that runs out after a continue gets its whole time
 * again. */
void util_watch_continue(void);
/* How many SIGCONTs this process has had since util_watch_continue. */
unsigned long util_continues(void);
/* Whether a SIGCONT came since *seen (a util_continues() value), which it
 * then brings up to date: a deadline that ran out may start again. */
int util_continued(unsigned long *seen);
/* Wait for pid.  Returns the raw status. */
int util_wait(pid_t pid);
/* Wait up to us microseconds for child pid to end, without reaping it.
 * Returns 1 if it ended, 0 if the time ran out (where the kernel cannot
 * watch a pid, simply after sleeping the whole time). */
int util_wait_exit_us(pid_t pid, uint64_t us);
/* Wait for child pid's end (and reap it), at most us microseconds (0: no
 * limit); past it, kill it (SIGKILL) and reap it.  *st: its wait status.
 * Returns 1 if it was killed for the time, else 0. */
int util_wait_within(pid_t pid, uint64_t us, int *st);
/* Remove every "dir/" from s (in place), so that a message naming the
 * files of a trial's database reads the same in every scratch directory
 * (a campaign's worker, a replay). */
void util_strip_dir(char *s, const char *dir);
/* Describe a wait status: "exit 3", "signal 9 (Killed)". */
void util_status_text(int st, char *buf, size_t len);
/* Append printf-formatted text to the string in buf[0..len), cut to fit. */
void util_appendf(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
