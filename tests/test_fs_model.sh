#!/bin/bash
# test_fs_model.sh - crashtest --fs-model: a bad name is refused (exit 2);
# the model is in the JSON summary, in the damage of the rows and in the
# replay lines; and a finding that holds only under strict POSIX goes
# away under ext4-ordered: the planted bug recovery-no-dirsync (recovery
# builds on a log segment whose directory entry was never synced) loses
# acknowledged commits after a power cut when a file's fsync does not
# keep its creation, and none when it does (ext4 data=ordered, rule E1
# of faults/powerloss.c).
set -u
cd "$(dirname "$0")/.." || exit 2
CT=${CRASHTEST:-build/crashtest}
T=$(mktemp -d "${TMPDIR:-/dev/shm}/crashlab-fsmodel-XXXXXX")
trap 'rm -rf "$T"' EXIT
. tests/lib.sh

# 1. a bad name
"$CT" --fs-model ext3 --trials 1 >"$T/bad.out" 2>&1
check "a bad --fs-model exits 2" 2 $?
contains "the message names the choices" "$T/bad.out" "posix-strict or ext4-ordered"

# 2. recorded: the JSON summary, the rows' damage, the replay line
"$CT" --seed 1 --mode powerloss --trials 6 --jobs 2 --dir "$T" --quiet \
    --fs-model ext4-ordered --json --csv "$T/pl.csv" >"$T/pl.json" 2>&1
check "an ext4-ordered campaign exits 0" 0 $?
contains "the JSON names the model" "$T/pl.json" '"fs_model": "ext4-ordered"'
check "every power cut's damage names it" 6 \
    "$(col damage <"$T/pl.csv" | grep -c '/ext4-ordered: ')"
"$CT" --seed 1 --mode powerloss --trials 2 --dir "$T" --quiet --json \
    >"$T/strict.json" 2>&1
contains "the default is posix-strict" "$T/strict.json" '"fs_model": "posix-strict"'

# 3. a finding of strict POSIX only: trial 99 of seed 4 of the planted
# bug's first named campaign (its first catch), replayed under each model
# (its commits went on in a segment whose creation only the directory sync
# would make durable under strict POSIX, docs/FAULTS.md)
dir=$(BUILD=$(dirname "$CT") MUTANT_BUILD=$T/b scripts/mutant-build.sh \
    recovery-no-dirsync 2>"$T/err")
check "recovery-no-dirsync builds" 0 $?
run() { # run FS: replay trial 99 under FS into $T/FS.csv, $T/FS.out
    "$dir/crashtest" --seed 4 --mode chain --segment-bytes 65536 \
        --threads 1 --replay 99 --fs-model "$1" --dir "$T" \
        --csv "$T/$1.csv" >"$T/$1.out" 2>&1
}
run posix-strict
check "posix-strict: the planted bug loses commits (exit 1)" 1 $?
check "posix-strict: a durability violation" durability "$(col violation <"$T/posix-strict.csv")"
run ext4-ordered
check "ext4-ordered: the same trial passes (exit 0)" 0 $?
check "ext4-ordered: verdict ok" ok "$(col verdict <"$T/ext4-ordered.csv")"
contains "ext4-ordered: the chain's power cut names the model" \
    "$T/ext4-ordered.csv" "power cut (of what the killed ones left too) under ext4-ordered"
"$dir/crashtest" --seed 4 --mode chain --segment-bytes 65536 --threads 1 \
    --trials 100 --stop-at-first --fs-model posix-strict --dir "$T" \
    >"$T/line.out" 2>&1
contains "the replay line repeats --fs-model" "$T/line.out" \
    "replay 99 .*--fs-model posix-strict"

finish
