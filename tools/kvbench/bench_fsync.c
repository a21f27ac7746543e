/*
 * bench_fsync.c - counting every fsync and fdatasync of the kvbench
 * process, whichever engine makes it.
 *
 * kvbench itself defines fsync() and fdatasync().  A dynamically linked
 * executable's definitions come first in symbol lookup, so the shared
 * libraries of the peer engines (SQLite, LMDB, LevelDB, RocksDB) and our
 * statically linked engine all call these; each counts and then makes the
 * system call itself.  No LD_PRELOAD, no strace.  What this does not see:
 * writes through a file opened O_SYNC/O_DSYNC (LMDB writes its meta page
 * that way), msync and sync_file_range.
 */
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bench.h"

static atomic_uint_fast64_t bench_fsyncs;

int fsync(int fd)
{
    atomic_fetch_add_explicit(&bench_fsyncs, 1, memory_order_relaxed);
    return (int)syscall(SYS_fsync, fd);
}

int fdatasync(int fd)
{
    atomic_fetch_add_explicit(&bench_fsyncs, 1, memory_order_relaxed);
    return (int)syscall(SYS_fdatasync, fd);
}

uint64_t bench_fsync_count(void)
{
    return atomic_load(&bench_fsyncs);
}
