#!/usr/bin/env python3
"""perf-shares.py - what a crash campaign's CPU samples were doing, from
`perf script` output of `perf record -g` over crashtest built with frame
pointers (make CFLAGS=-fno-omit-frame-pointer): each sample counts for the
first of these groups whose functions are on its stack, in this order --
the crash I/O layer (shadow log records, the hooks, snapshots and sampled
copies), the power-cut image, the engine (commits, recoveries, read-back,
check), the oracle, processes (fork, exit), clean-up, profile building;
the rest is not attributed (the unwinder loses the caller of a C library
function without a frame pointer).  docs/PERFORMANCE.md quotes its output.

With --kernel, each sample counts instead for what had the kernel running
when it was taken: the system call on its stack nearest the sampled
function (sys_<name>), a page fault, or "user" when no kernel function is
on it ("kernel, other" for the rest: interrupts, the scheduler, stacks the
unwinder cut).

usage: perf record -g -F 1500 -o P -- build/crashtest ... ;
       perf script -i P | scripts/perf-shares.py [--kernel]
"""
import collections
import signal
import sys

GROUPS = [
    ("the crash I/O layer: shadow log, hooks, snapshots, sampled copies",
     {"shadow_append", "crashio_log_write", "trial_batch_on_point",
      "trial_sample_point", "trial_batch_at_txn", "fs_copy_tree",
      "fs_copy_file", "fs_share_tree", "fs_tree", "crashio_point",
      "crashio_tear", "crashio_new", "crashio_free"}),
    ("the power-cut image", {"plimg_apply"}),
    ("the engine: writers' workloads, recoveries, read-back, check",
     {"eng_open_common", "eng_commit_own", "eng_read_all", "eng_collect"}),
    ("the oracle",
     {"oracle_judge_claim", "oracle_judge_skip", "oracle_prefix_build_skip",
      "trial_prefix_of", "oracle_judge_mt", "oracle_map_put", "om_set"}),
    ("processes: fork, exit", {"_Fork", "__libc_fork"}),
    ("clean-up", {"fs_rmrf", "unlinkat"}),
    ("profiles (counting runs)", {"campaign_prepare"}),
]


def group(syms):
    for name, funcs in GROUPS:
        if syms & funcs:
            return name
        if name.startswith("the engine") and any(
                s.startswith("cl_") for s in syms):
            return name
    return "not attributed"


def kernel_entry(stack):
    """stack: the sample's functions, the sampled one first."""
    for f in stack:
        for prefix in ("__x64_sys_", "__do_sys_"):
            if f.startswith(prefix):
                return "sys_" + f[len(prefix):]
        if f == "exc_page_fault":
            return "page fault"
    if any(f.startswith(("entry_SYSCALL", "asm_")) for f in stack):
        return "kernel, other"
    return "user"


def main():
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # | head is no error
    kernel = sys.argv[1:] == ["--kernel"]
    if sys.argv[1:] and not kernel:
        sys.exit("usage: perf script -i P | perf-shares.py [--kernel]")
    counts = collections.Counter()
    total = 0
    for block in sys.stdin.read().split("\n\n"):
        lines = block.strip().split("\n")[1:]
        stack = [l.split()[1].split("+")[0] for l in lines
                 if len(l.split()) > 1]
        if not stack:
            continue
        total += 1
        counts[kernel_entry(stack) if kernel else group(set(stack))] += 1
    if total == 0:
        sys.exit("perf-shares: no samples read")
    for name, n in counts.most_common():
        print("%5.1f%%  %s" % (100.0 * n / total, name))


main()
