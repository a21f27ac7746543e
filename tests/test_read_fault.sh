#!/bin/bash
# test_read_fault.sh - a read that fails in the verifier's first session
# (harness/trial.c, trial_read_fault): one trial in four of kill-io, torn
# and powerloss gets one; the engine answers it with an error (or a state
# that keeps its promise), so such a campaign has no violation and says
# in the damage column which read failed and what came of it; and the
# planted bug read-error-as-end (recovery takes a failed read of the log
# for the end of the file, and removes the segment it was reading) is
# caught by it, where the same trial of the engine is ok.
set -u
cd "$(dirname "$0")/.." || exit 2
CT=${CRASHTEST:-build/crashtest}
T=$(mktemp -d "${TMPDIR:-/dev/shm}/crashlab-readfault-XXXXXX")
trap 'rm -rf "$T"' EXIT
. tests/lib.sh

# 1. the engine: failed reads, no violation, counted and described
"$CT" --seed 1 --mode kill-io,torn,powerloss --trials 120 --jobs 2 \
    --dir "$T" --quiet --json --csv "$T/rf.csv" >"$T/rf.json" 2>"$T/rf.err"
check "a campaign with failing reads on the engine exits 0" 0 $?
n=$(col damage <"$T/rf.csv" | grep -c 'failing (EIO): ')
[ "$n" -ge 15 ] && [ "$n" -le 45 ] && ok ||
    bad "about one trial in four has a failing read: $n of 120"
check "each kind of trial has them" 3 \
    "$(python3 -c 'import csv,sys
print(len({r["mode"] for r in csv.DictReader(open(sys.argv[1])) if "failing (EIO)" in r["damage"]}))' "$T/rf.csv")"
check "some open failed on its read" 1 \
    "$(col damage <"$T/rf.csv" | grep -q 'failing (EIO): the open failed' && echo 1)"
check "some read-back failed on its read" 1 \
    "$(col damage <"$T/rf.csv" | grep -q 'failing (EIO): the read-back failed' && echo 1)"
python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
sys.exit(0 if d["coverage"]["read_failed"] > 0 else 1)' "$T/rf.json" &&
    ok || bad "the JSON coverage counts read_failed"

# 2. a replay repeats the failing read: trial 12 of that campaign
"$CT" --seed 1 --mode kill-io,torn,powerloss --trials 120 --replay 12 \
    --dir "$T" >"$T/r12.out" 2>&1
check "the replay exits 0" 0 $?
contains "the replay names the read and what came of it" "$T/r12.out" \
    "then a first open and read-back with read 1 failing (EIO): the open failed"
contains "and its verdict is ok" "$T/r12.out" "verdict: ok"

# 3. the planted bug: trial 297 of seed 2 of its campaign
OPTS="--segment-bytes 65536 --sync off --threads 1 --mode powerloss --trials 300"
dir=$(BUILD=$(dirname "$CT") MUTANT_BUILD=$T/b scripts/mutant-build.sh \
    read-error-as-end 2>"$T/err")
check "read-error-as-end builds" 0 $?
# shellcheck disable=SC2086
"$dir/crashtest" --seed 2 --replay 297 $OPTS --dir "$T" >"$T/m.out" 2>&1
check "the planted bug: the replay exits 1" 1 $?
contains "the planted bug: a durability violation after the failing read" \
    "$T/m.out" "verdict: durability: with read 7 failing (EIO) in the first open and read-back, which returned"
# shellcheck disable=SC2086
"$CT" --seed 2 --replay 297 $OPTS --dir "$T" >"$T/e.out" 2>&1
check "the engine: the same trial exits 0" 0 $?
contains "the engine: the same read fails" "$T/e.out" "with read 7 failing (EIO)"
contains "the engine: ok" "$T/e.out" "verdict: ok"

finish
