#!/bin/bash
# test_perf_shares.sh - scripts/perf-shares.py counts each sample of
# `perf script` output once: by what the harness was doing (the default)
# or, with --kernel, by what had the kernel running (the system call
# nearest the sampled function, a page fault, other kernel work, or user
# code).  Fed a made-up recording of five samples.
set -u
cd "$(dirname "$0")/.." || exit 2
T=$(mktemp -d "${TMPDIR:-/dev/shm}/crashlab-perfshares-XXXXXX")
trap 'rm -rf "$T"' EXIT
. tests/lib.sh

cat >"$T/in" <<'PERF'
exe 100 1.0: 1 cpu-clock:
	ffffffff81000001 _copy_to_iter+0x1 ([kernel.kallsyms])
	ffffffff81000002 filemap_read+0x2 ([kernel.kallsyms])
	ffffffff81000003 __x64_sys_pread64+0x3 ([kernel.kallsyms])
	ffffffff81000004 entry_SYSCALL_64_after_hwframe+0x4 ([kernel.kallsyms])
	7f0000000001 __libc_pread+0x1 (/usr/lib/libc.so.6)
	555500000001 shadow_append+0x1 (/build/crashtest)

exe 100 1.1: 1 cpu-clock:
	ffffffff81000005 clear_page_erms+0x5 ([kernel.kallsyms])
	ffffffff81000006 exc_page_fault+0x6 ([kernel.kallsyms])
	ffffffff81000007 asm_exc_page_fault+0x7 ([kernel.kallsyms])
	555500000002 plimg_apply+0x2 (/build/crashtest)

exe 100 1.2: 1 cpu-clock:
	555500000003 bt_search+0x3 (/build/crashtest)
	555500000004 cl_commit+0x4 (/build/crashtest)

exe 100 1.3: 1 cpu-clock:
	ffffffff81000008 pvm_irq_enable+0x8 ([kernel.kallsyms])
	ffffffff81000009 asm_sysvec_apic_timer_interrupt+0x9 ([kernel.kallsyms])
	555500000005 cl_commit+0x5 (/build/crashtest)

exe 100 1.4: 1 cpu-clock:
	555500000006 main+0x6 (/build/crashtest)
PERF

scripts/perf-shares.py --kernel <"$T/in" >"$T/k" 2>"$T/err"
check "--kernel runs" 0 $?
contains "a read counts for its system call" "$T/k" '^ 20.0%  sys_pread64$'
contains "a fault counts as a page fault" "$T/k" '^ 20.0%  page fault$'
contains "an interrupt counts as other kernel work" "$T/k" '^ 20.0%  kernel, other$'
contains "samples without kernel functions count as user code" "$T/k" '^ 40.0%  user$'
check "nothing else is counted" 4 "$(wc -l <"$T/k")"

scripts/perf-shares.py <"$T/in" >"$T/g" 2>"$T/err"
check "the default grouping runs" 0 $?
contains "the shadow log's read is the crash I/O layer" "$T/g" '^ 20.0%  the crash I/O layer'
contains "the image's fault is the power-cut image" "$T/g" '^ 20.0%  the power-cut image$'
contains "commits are the engine" "$T/g" '^ 40.0%  the engine'
contains "the rest is not attributed" "$T/g" '^ 20.0%  not attributed$'

scripts/perf-shares.py --bogus <"$T/in" >/dev/null 2>&1
check "an unknown option is refused" 1 $?
scripts/perf-shares.py </dev/null >/dev/null 2>&1
check "no samples is an error" 1 $?

finish
