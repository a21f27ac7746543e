/*
 * util.h - small process and file helpers for the harness (which, unlike
 * the engine, may use the file system directly).
 */
#ifndef CL_HARNESS_UTIL_H
#define CL_HARNESS_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

uint64_t util_now_us(void);
/* mkdir -p.  Returns 0 or an errno. */
int util_mkdirs(const char *path);
/* rm -rf (missing is fine).  Returns 0 or an errno. */
int util_rmrf(const char *path);
/* Copy the regular file src to dst.  Returns 0 or an errno. */
int util_copy_file(const char *src, const char *dst);
/* Copy the tree src into dst (created; a missing src leaves dst missing).
 * Returns 0 or an errno. */
int util_copy_tree(const char *src, const char *dst);
/* Total bytes of regular files in a tree. */
uint64_t util_tree_bytes(const char *path);
/* Reset the signals cmocka or a parent may have changed, for a forked
 * child that must die like a real process. */
void util_child_signals(void);
/* Wait for pid.  Returns the raw status. */
int util_wait(pid_t pid);
/* Wait up to us microseconds for child pid to end, without reaping it.
 * Returns 1 if it ended, 0 if the time ran out (where the kernel cannot
 * watch a pid, simply after sleeping the whole time). */
int util_wait_exit_us(pid_t pid, uint64_t us);
/* Describe a wait status: "exit 3", "signal 9 (Killed)". */
void util_status_text(int st, char *buf, size_t len);

#endif
