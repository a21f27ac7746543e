#!/bin/bash
# test_verdicts.sh - a fixed campaign's verdicts do not move: the default
# campaign with seed 1, 300 trials, gives the rows of
# tests/data/verdicts-seed1.csv (what was crashed where, the damage, the
# oracle's window and verdict, the swarm's draw: tests/verdict_rows.py
# says which rows and columns), on one job and on two.  A change that
# makes the harness faster must leave them as they are; a change that
# means to alter what a campaign does (the workloads, the draws, the
# engine's I/O) regenerates the file in the same commit:
#   build/crashtest --seed 1 --trials 300 --quiet --csv /tmp/v.csv &&
#   tests/verdict_rows.py /tmp/v.csv >tests/data/verdicts-seed1.csv
# Run by make test with CRASHTEST set to the binary.
set -u
CT=${CRASHTEST:-build/crashtest}
HERE=$(dirname "$0")
T=$(mktemp -d "${TMPDIR:-/dev/shm}/crashlab-verdicts-XXXXXX")
trap 'rm -rf "$T"' EXIT
. "$HERE/lib.sh"

EXPECTED=$HERE/data/verdicts-seed1.csv
for jobs in 1 2; do
    "$CT" --seed 1 --trials 300 --jobs "$jobs" --quiet --dir "$T" \
        --csv "$T/v$jobs.csv" >"$T/out" 2>&1
    check "campaign with --jobs $jobs exits 0" 0 $?
    python3 "$HERE/verdict_rows.py" "$T/v$jobs.csv" >"$T/rows$jobs"
    if cmp -s "$EXPECTED" "$T/rows$jobs"; then
        ok
    else
        bad "--jobs $jobs: the rows differ from $EXPECTED (first differences below; see this file's header to regenerate it when the change is meant)"
        diff "$EXPECTED" "$T/rows$jobs" | head -8 >&2
    fi
done
# the rows cover every mode they may, and the expected file is not empty
check "modes in the expected rows" "chain fsync-fail kill-io powerloss recovery-crash torn" \
    "$(col mode <"$EXPECTED" | sort -u | tr '\n' ' ' | sed 's/ $//')"
check "verdicts in the expected rows" "detected ok" \
    "$(col verdict <"$EXPECTED" | sort -u | tr '\n' ' ' | sed 's/ $//')"
finish
