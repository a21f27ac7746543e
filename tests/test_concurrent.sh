#!/bin/bash
# test_concurrent.sh - crash trials of concurrent writers (several threads
# committing on one handle): the real engine runs clean; the broken target
# whose group commit acknowledges a follower on a sync begun before its
# commit is caught, with exit status 1; a violation's replay says that it
# repeats parameters, not the interleaving, and --keep-failures keeps the
# crashed image and the commit order; a bad thread count exits 2.  Run by
# make test with CRASHTEST set to the binary.
set -u
CT=${CRASHTEST:-build/crashtest}
T=$(mktemp -d "${TMPDIR:-/dev/shm}/crashlab-mt-XXXXXX")
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh"

# 1. the real engine, eight threads, every crash mode: no violation
"$CT" --seed 21 --trials 150 --threads 8 --quiet --dir "$T" \
    --csv "$T/eng.csv" >"$T/eng.out" 2>&1
check "engine with 8 threads exits 0" 0 $?
check "no violation rows" 0 "$(col verdict <"$T/eng.csv" | grep -c violation)"
n=$(col damage <"$T/eng.csv" | grep -c "of a concurrent run (8 threads)")
[ "$n" -ge 10 ] && ok || bad "only $n crashes inside concurrent runs"

# 2. the broken group commit is caught by engine trials alone
"$CT" --seed 2 --trials 1500 --threads 8 --sync group --stop-at-first --quiet --dir "$T" \
    --target broken-follower --keep-failures "$T/kept" \
    --csv "$T/bf.csv" >"$T/bf.out" 2>&1
check "broken-follower exits 1" 1 $?
check "its violations are durability" "durability" \
    "$(col violation <"$T/bf.csv" | grep -v '^$' | sort -u)"
contains "the replay note" "$T/bf.out" "not the interleaving"
kept=$(ls -d "$T"/kept/trial-* | head -1)
[ -d "$kept/crashed" ] && ok || bad "no crashed image kept"
contains "the commit order is kept" "$kept/commits.txt" "acked,required"
contains "trial.txt says what a replay repeats" "$kept/trial.txt" \
    "not its interleaving"

# 3. the same target with one thread: every commit leads its own sync
"$CT" --seed 2 --trials 100 --threads 1 --quiet --dir "$T" \
    --target broken-follower >/dev/null 2>&1
check "broken-follower with one thread exits 0" 0 $?

# 4. a verbose replay of a concurrent trial says what it repeats
line=$(grep -m1 -- "--replay" "$T/bf.out" | sed 's/^ *replay: //; s/ *#.*//')
$line --dir "$T" >"$T/replay.out" 2>&1
contains "replay names the threads" "$T/replay.out" "8 writer threads"
contains "replay repeats parameters" "$T/replay.out" "not the interleaving"

# 5. usage
"$CT" --threads 9 >/dev/null 2>&1; check "--threads 9" 2 $?
"$CT" --threads 0 >/dev/null 2>&1; check "--threads 0" 2 $?

finish
