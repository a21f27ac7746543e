#!/bin/bash
# test_verdict_wording.sh - verdicts come from the engine's error info, not
# from the wording of its messages: the engine is built again with its
# torn-page message reworded (a patch applied to a scratch copy, as for the
# planted bugs), and a campaign where torn pages are detected gives the
# same verdict in every trial as with the real engine (one writer thread:
# trials with concurrent committers do not repeat their interleaving).
set -u
cd "$(dirname "$0")/.." || exit 2
CT=${CRASHTEST:-build/crashtest}
T=$(mktemp -d "${TMPDIR:-/dev/shm}/crashlab-wording-XXXXXX")
trap 'rm -rf "$T"' EXIT
. tests/lib.sh

# the patch: every "is torn or corrupt" of the engine says something else
mkdir -p "$T/a/engine" "$T/b/engine"
files=$(grep -l "is torn or corrupt" engine/*.c)
[ -n "$files" ] && ok || bad "no torn-page message in engine/"
for f in $files; do
    cp "$f" "$T/a/$f"
    sed 's/is torn or corrupt/failed validation/g' "$f" >"$T/b/$f"
done
(cd "$T" && diff -ru a b) | sed 's|^--- a/|--- a/|; s|^+++ b/|+++ b/|' >"$T/reword.patch"
dir=$(BUILD=$(dirname "$CT") MUTANT_BUILD=$T/build scripts/mutant-build.sh "$T/reword.patch" 2>"$T/err")
check "the reworded engine builds" 0 $?

args="--seed 7 --threads 1 --mode torn,powerloss --torn-protection none --checkpoint-bytes 16384 --checkpoint-mode inline --pool-bytes 262144 --trials 300 --quiet"
# shellcheck disable=SC2086
"$CT" $args --csv "$T/real.csv" >/dev/null 2>&1
check "the real engine: no violation" 0 $?
# shellcheck disable=SC2086
"$dir/crashtest" $args --csv "$T/reworded.csv" >/dev/null 2>&1
check "the reworded engine: no violation" 0 $?
detected=$(col verdict <"$T/real.csv" | grep -c '^detected$')
[ "$detected" -ge 3 ] && ok || bad "only $detected detected torn pages: the test shows nothing"
check "every trial has the same verdict" "$(col verdict <"$T/real.csv" | md5sum)" \
    "$(col verdict <"$T/reworded.csv" | md5sum)"
grep -q "failed validation" "$T/reworded.csv" && ok || bad "the reworded message never shows"
grep -q "is torn or corrupt" "$T/reworded.csv" && bad "the old wording shows" || ok

finish
