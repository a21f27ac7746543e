#!/bin/bash
# test_sqlite.sh - crashtest --target sqlite, SQLite crashed through the
# libc interposer linked into crashtest, judged against the promise of
# its configuration (docs/TARGETS.md): the positive controls.
#   synchronous=OFF: power cuts lose acknowledged commits (expected
#   losses), process crashes never do;
#   WAL with NORMAL: power cuts may lose commits, never atomicity, order
#   or integrity_check;
#   WAL with FULL: no violation and no expected loss in any mode;
#   a replay repeats a trial's row; modes it cannot run are refused.
# Run by make test with CRASHTEST set to the binary.
set -u
CT=${CRASHTEST:-build/crashtest}
T=$(mktemp -d "${TMPDIR:-/dev/shm}/crashlab-sq-XXXXXX")
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh"

run() { # run NAME ARGS...: a campaign into $T/NAME.csv, .out; sets rc
    local name=$1
    shift
    "$CT" --target sqlite --jobs 2 --quiet --dir "$T" --csv "$T/$name.csv" \
        "$@" >"$T/$name.out" 2>&1
    rc=$?
}

# 1. synchronous=OFF under power cuts: acknowledged commits lost, counted
# as expected losses (and shown in the summary), never as passes
run offpl --sqlite-sync off --mode powerloss --trials 200 --seed 3
n=$(count expected-loss "$T/offpl.csv")
[ "$n" -ge 10 ] && ok || bad "sync off, power cuts: only $n expected losses"
contains "expected losses in the summary" "$T/offpl.out" "expected losses (acknowledged"
contains "the promise in the summary" "$T/offpl.out" "promise: process)"
# the same configuration under process crashes: nothing lost, exit 0
run offkill --sqlite-sync off --mode kill-io,torn,kill-time --trials 150 --seed 3
check "sync off, process crashes: exit 0" 0 "$rc"
check "sync off, process crashes: no expected loss" 0 "$(count expected-loss "$T/offkill.csv")"
check "sync off, process crashes: no violation" 0 "$(count violation "$T/offkill.csv")"
check "sync off, process crashes: every row ok" 150 "$(count ok "$T/offkill.csv")"

# 2. WAL with NORMAL under power cuts: losses allowed, nothing else
run walnormal --sqlite-journal wal --sqlite-sync normal --mode powerloss \
    --trials 200 --seed 3 --json
check "wal normal, power cuts: exit 0" 0 "$rc"
check "wal normal, power cuts: no violation of any kind" "" "$(kinds "$T/walnormal.csv")"
n=$(count expected-loss "$T/walnormal.csv")
[ "$n" -ge 1 ] && ok || bad "wal normal, power cuts: no expected loss"
contains "--json counts expected losses" "$T/walnormal.out" "\"expected-loss\": $n"

# 3. WAL with FULL: durable on commit, in every mode it runs
run walfull --sqlite-journal wal --sqlite-sync full --trials 200 --seed 4
check "wal full: exit 0" 0 "$rc"
check "wal full: no violation" 0 "$(count violation "$T/walfull.csv")"
check "wal full: no expected loss" 0 "$(count expected-loss "$T/walfull.csv")"
check "wal full: the four modes ran" "kill-io kill-time powerloss torn " \
    "$(col mode <"$T/walfull.csv" | sort -u | tr '\n' ' ')"

# 4. a replay of an expected-loss trial repeats its row (but the clock)
id=$(first_trial expected-loss "$T/offpl.csv")
"$CT" --seed 3 --replay "$id" --target sqlite --sqlite-sync off --mode powerloss \
    --dir "$T" --csv "$T/replay.csv" >"$T/replay.out" 2>&1
check "replay of an expected loss exits 0" 0 $?
same_row "replay of an expected loss" "$T/offpl.csv" "$id" "$T/replay.csv"

# 5. what it cannot run yet is refused, not skipped
for m in chain recovery-crash fsync-fail; do
    "$CT" --target sqlite --mode "$m" --trials 5 --dir "$T" >"$T/refuse.out" 2>&1
    check "mode $m refused with exit 2" 2 $?
    contains "mode $m: the refusal names it" "$T/refuse.out" "cannot run mode $m"
done
"$CT" --target sqlite --threads 2 --trials 5 --dir "$T" >"$T/refuse.out" 2>&1
check "--threads 2 refused with exit 2" 2 $?
"$CT" --target sqlite --sqlite-sync sometimes --trials 5 >"$T/refuse.out" 2>&1
check "a bad --sqlite-sync exits 2" 2 $?
# a call the interposer cannot model is a set-up error, not a violation:
# WAL's -shm index mapped shared, once --nondurable no longer declares it
"$CT" --target sqlite --sqlite-journal wal --nondurable .none --trials 5 \
    --dir "$T" >"$T/refuse.out" 2>&1
check "an interposer refusal exits 2" 2 $?
contains "the refusal names the call and the file" "$T/refuse.out" \
    "crashtest: the interposer refused mmap of .*db-shm"

finish
