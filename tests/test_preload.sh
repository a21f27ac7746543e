#!/bin/bash
# test_preload.sh - the libc interposer in a separate program, through
# build/libcrashlab-preload.so (tests/ip_area runs tests/ip_workload, a
# plain program, under it):
#   - every call of the workload is seen and, under the root, tracked; the
#     files come out as without the interposer;
#   - outside the root nothing is tracked and no point numbered;
#   - a crash at each point k kills the program there;
#   - what cannot be modelled is refused with exit status 2, naming the
#     call and the file;
#   - strace -f -c agrees: the calls the interposer made into the C
#     library are the system calls the process made, and the calls it saw
#     from the program are those the program makes without it.
set -u
B=$(dirname "${CRASHTEST:-build/crashtest}")
SO=$(realpath "$B/libcrashlab-preload.so")
IPA=$B/tests/ip_area
IPW=$B/tests/ip_workload
T=$(mktemp -d "${TMPDIR:-/dev/shm}/crashlab-preload-XXXXXX")
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh"

# run OUT [ip_area options] -- ARGS: the workload on a fresh $T/root
run() {
    local out=$1
    shift
    rm -rf "$T/root" "$T/grave" "$T/shadow"
    mkdir -p "$T/root"
    "$IPA" --preload "$SO" "$@" >"$out"
}
val() { awk -v k="$1" -v n="$2" '$1 == k && $2 == n { print $3 }' "$3"; }

# 1. tracked
run "$T/r1" --shadow "$T/shadow" --grave "$T/grave" "$T/area" "$T/root" -- \
    "$IPW" "$T/root"
contains "workload ran" "$T/r1" "^status exited 0"
for c in "open 4" "write 7" "pwrite 1" "writev 1" "pwritev 1" "fsync 2" \
    "fdatasync 1" "ftruncate 1" "fallocate 2" "sync_file_range 1" \
    "syncfs 1" "rename 1" "unlink 1" "mkdir 1" "rmdir 1" "dup 2" \
    "fcntl 1" "lseek 2" "close 7" "fork 1"; do
    set -- $c
    check "calls of $1" "$2" "$(val calls "$1" "$T/r1")"
    [ "$1" = fork ] || check "tracked $1" "$2" "$(val tracked "$1" "$T/r1")"
done
points=$(awk '$1 == "points" { print $2 }' "$T/r1")
[ "${points:-0}" -ge 20 ] && ok || bad "points: $points (expected >= 20)"
check "file b" "16384" "$(stat -c %s "$T/root/b")"
check "b's first bytes" "aaaaaaaaaaaaaaaaaaaaa" "$(head -c 21 "$T/root/b")"
check "shadow log written" "yes" "$([ -s "$T/shadow" ] && echo yes)"
cp -r "$T/root" "$T/tracked"

# 2. the same outside the root: nothing tracked, the same files
mkdir -p "$T/other"
rm -rf "$T/plain" && mkdir -p "$T/plain"
"$IPA" --preload "$SO" "$T/area" "$T/other" -- "$IPW" "$T/plain" >"$T/r2"
contains "untracked ran" "$T/r2" "^status exited 0"
# one point: the syncfs, of the root's file system
check "untracked points" "1" "$(awk '$1 == "points" { print $2 }' "$T/r2")"
check "untracked tracked writes" "0" "$(val tracked write "$T/r2")"
check "untracked calls seen" "7" "$(val calls write "$T/r2")"
diff -r "$T/tracked" "$T/plain" >/dev/null && ok ||
    bad "files differ with and without tracking"

# 3. a crash at every point
for k in $(seq 1 "$points"); do
    run "$T/r3" --crash-at "$k" "$T/area" "$T/root" -- "$IPW" "$T/root"
    st=$(grep '^status' "$T/r3")
    out=$(grep '^outcome' "$T/r3")
    [ "$st" = "status signal 9" ] && [ "$out" = "outcome 1 $k" ] && ok ||
        bad "crash at $k: $st, $out"
done

# 4. refusals: exit 2, the call and the file named
refused() { # refused NAME CALL PATH ARGS...
    local name=$1 call=$2 path=$3
    shift 3
    run "$T/r4" --strict "$T/area" "$T/root" -- "$IPW" "$T/root" "$@" \
        2>"$T/r4.err"
    check "$name: status" "status exited 2" "$(grep '^status' "$T/r4")"
    check "$name: refusal" "refused $call $path" "$(grep '^refused' "$T/r4")"
    contains "$name: message" "$T/r4.err" "crashlab interposer: refused $call"
}
refused "shared writable map" mmap "$T/root/r" mmap
refused "direct system call" syscall - syscall
refused "stdio stream" fopen "$T/root/r" fopen
refused "write outside the root" open "$T/out" outside "$T/out"
refused "stdio stream outside the root" fopen "$T/out2" fopen-outside "$T/out2"
refused "rename exchange" renameat2 "$T/root/r" exchange

# 5. strace -f -c
if ! command -v strace >/dev/null; then
    bad "strace is not installed (make deps-test installs it)"
    finish
    exit
fi
rm -rf "$T/root" "$T/grave" && mkdir -p "$T/root"
"$IPA" --shadow "$T/shadow" --grave "$T/grave" "$T/area" "$T/root"
strace -f -c -o "$T/st1" -E LD_PRELOAD="$SO" -E CRASHLAB_INTERPOSE="$T/area" \
    "$IPW" "$T/root" && ok || bad "workload under strace and the preload"
"$IPA" --show "$T/area" >"$T/r5"
rm -rf "$T/plain" && mkdir -p "$T/plain"
strace -f -c -o "$T/st2" "$IPW" "$T/plain" && ok || bad "plain workload"
# compare KIND RESULTS STRACE: for each interposer call, its KIND count
# against the sum of the system calls it maps to
compare() {
    python3 - "$@" <<'PY'
import sys
kind, res, st = sys.argv[1:4]
sc = {}
for line in open(st):
    w = line.split()
    if len(w) >= 5 and w[-1] != "total" and w[3].isdigit():
        sc[w[-1]] = int(w[3])
mine = {}
for line in open(res):
    w = line.split()
    if len(w) == 3 and w[0] == kind:
        mine[w[1]] = int(w[2])
# interposer call -> the system calls it is made of.  open, close, mmap
# and fcntl are left out: the dynamic loader and stdio make them behind
# the C library's own back, where no interposer can see them.
m = {"write": ["write"], "pwrite": ["pwrite64"], "writev": ["writev"],
     "pwritev": ["pwritev"], "lseek": ["lseek"], "ftruncate": ["ftruncate"],
     "fallocate": ["fallocate"], "fsync": ["fsync"],
     "fdatasync": ["fdatasync"], "sync_file_range": ["sync_file_range"],
     "rename": ["rename", "renameat", "renameat2"],
     "unlink": ["unlink"], "mkdir": ["mkdir", "mkdirat"],
     "dup": ["dup", "dup2", "dup3"], "fork": ["clone", "fork", "clone3"]}
if kind == "calls":
    # the program's rmdir and unlink both reach unlinkat or their own
    m["unlink"] = ["unlink", "unlinkat", "rmdir"]
    mine["unlink"] = mine.get("unlink", 0) + mine.get("rmdir", 0)
    m["syncfs"] = ["syncfs"]
else:
    m["unlink"] = ["unlink", "unlinkat", "rmdir"]
    mine["unlink"] = mine.get("unlink", 0) + mine.get("rmdir", 0)
bad = 0
for c, names in m.items():
    a = mine.get(c, 0)
    b = sum(sc.get(n, 0) for n in names)
    if a != b:
        print("%s %s: interposer %d, strace %d (%s)" % (kind, c, a, b, "+".join(names)))
        bad = 1
print("compared %d calls, %d system calls in all" % (len(m), sum(sc.values())))
sys.exit(bad)
PY
}
compare real "$T/r5" "$T/st1" >"$T/cmp1" && ok ||
    bad "interposer's C library calls vs strace: $(cat "$T/cmp1")"
compare calls "$T/r5" "$T/st2" >"$T/cmp2" && ok ||
    bad "program's calls vs strace without the interposer: $(cat "$T/cmp2")"
cat "$T/cmp1" "$T/cmp2"
finish
