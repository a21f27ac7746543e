#!/bin/sh
# check-io.sh - fail if an engine file other than io_posix.c makes a
# file-system system call: every byte must go through the I/O table (cl_io).
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
echo "check-io: ok (no file-system calls outside the I/O table)"
