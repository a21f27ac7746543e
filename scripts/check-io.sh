#!/bin/sh
# check-io.sh - fail if an engine file other than io_posix.c makes a
# file-system system call: every byte must go through the I/O table (cl_io).
# The same rule holds for the libc interposer (faults/interpose*.c) with
# interpose_real.c as its table: a file call made elsewhere in it by its
# libc name would come back into the interposer (or, made while a handler
# runs, escape the counts that tests/test_preload.sh checks against
# strace).  interpose_calls.c defines those names and interpose_spawn.c
# runs in the harness, not in the interposed process: both are exempt.
set -u
cd "$(dirname "$0")/.." || exit 2
pattern='(^|[^_[:alnum:]>.])(open|openat|creat|close|read|write|pread|pwrite|pread64|pwrite64|fsync|fdatasync|sync_file_range|ftruncate|truncate|rename|renameat|unlink|unlinkat|mkdir|rmdir|flock|fcntl|lseek|fstat|stat|lstat|opendir|readdir|fopen|fallocate|posix_fallocate|mmap|msync|syncfs)[[:space:]]*\('
bad=$(grep -nE "$pattern" engine/*.c engine/*.h 2>/dev/null |
      grep -v '^engine/io_posix\.c:' |
      grep -vE '^[^:]+:[0-9]+:[[:space:]]*(\*|/\*|//)')
if [ -n "$bad" ]; then
    echo "check-io: file-system calls outside engine/io_posix.c:" >&2
    echo "$bad" >&2
    exit 1
fi
bad=$(grep -nE "$pattern" faults/interpose*.c faults/interpose*.h 2>/dev/null |
      grep -vE '^faults/interpose_(real|calls|spawn)\.c:' |
      grep -vE '^[^:]+:[0-9]+:[[:space:]]*(\*|/\*|//)')
if [ -n "$bad" ]; then
    echo "check-io: file-system calls in the interposer outside interpose_real.c:" >&2
    echo "$bad" >&2
    exit 1
fi
echo "check-io: ok (no file-system calls outside the I/O table)"
