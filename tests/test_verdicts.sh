#!/bin/bash
# test_verdicts.sh - a fixed campaign's verdicts do not move: the default
# campaign with seed 1, 300 trials, gives the rows of
# tests/data/verdicts-seed1.csv (what was crashed where, the damage, the
# oracle's window and verdict, the swarm's draw: tests/verdict_rows.py
# says which rows and columns) on two jobs, and its first 100 trials the
# same rows on one, also with a fresh verifier process per crash state
# (--fresh-verifier) instead of each job's long-lived one.  And campaigns
# of one crash mode at a time give the rows with the writers' files in
# their memory that they give with them on disk (as a campaign that keeps
# failed states, --keep-failures, has them).  A change that
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
# the whole campaign on two jobs; its first 100 trials on one (a trial is a
# function of the seed and its number alone, whatever the job or the
# trial limit), nor on the verifier's process
for run in "2 300" "1 100" "1 100 --fresh-verifier"; do
    set -- $run
    "$CT" --seed 1 --trials "$2" --jobs "$1" ${3:-} --quiet --dir "$T" \
        --csv "$T/v$1.csv" >"$T/out" 2>&1
    check "campaign of $2 trials with --jobs $1 ${3:-}exits 0" 0 $?
    python3 "$HERE/verdict_rows.py" "$T/v$1.csv" >"$T/rows$1"
    python3 -c 'import csv,sys
rows = list(csv.reader(open(sys.argv[1])))
print("\n".join(",".join(r) for r in rows if r[0] == "trial" or int(r[0]) < int(sys.argv[2])))' \
        "$EXPECTED" "$2" >"$T/want$1"
    python3 -c 'import csv,sys
print("\n".join(",".join(r) for r in csv.reader(open(sys.argv[1]))))' "$T/rows$1" >"$T/got$1"
    if cmp -s "$T/want$1" "$T/got$1"; then
        ok
    else
        bad "--jobs $1 ${3:-}, $2 trials: the rows differ from $EXPECTED (first differences below; see this file's header to regenerate it when the change is meant)"
        diff "$T/want$1" "$T/got$1" | head -8 >&2
    fi
done
# writers in memory and on disk: the same crash states, the same rows
for mode in kill-io torn powerloss recovery-crash chain fsync-fail write-fail; do
    for where in mem disk; do
        keep=
        [ $where = disk ] && keep="--keep-failures $T/kept"
        "$CT" --seed 5 --trials 80 --jobs 1 --mode $mode $keep --quiet \
            --dir "$T" --csv "$T/$where.csv" >"$T/out" 2>&1
        check "--mode $mode, writers' files $where: exits 0" 0 $?
        python3 "$HERE/verdict_rows.py" "$T/$where.csv" >"$T/$where.rows"
    done
    # rows the seed decides alone: most of them (verdict_rows.py)
    rows=$(wc -l <"$T/mem.rows")
    check "--mode $mode: over 30 rows" 1 "$((rows > 30))"
    if cmp -s "$T/mem.rows" "$T/disk.rows"; then
        ok
    else
        bad "--mode $mode: the rows of writers in memory differ from those on disk"
        diff "$T/disk.rows" "$T/mem.rows" | head -8 >&2
    fi
done
# the rows cover every mode they may, and the expected file is not empty
check "modes in the expected rows" "chain fsync-fail kill-io powerloss recovery-crash torn write-fail" \
    "$(col mode <"$EXPECTED" | sort -u | tr '\n' ' ' | sed 's/ $//')"
check "expected rows" 205 "$(col trial <"$EXPECTED" | wc -l)"
finish
