#!/bin/bash
# test_mutants.sh - the planted bugs (mutants/*.patch): every patch has the
# header scripts/mutants.sh reads and applies exactly to engine/ (a patch
# whose code changed under it fails here, not in make mutants); the
# shipped engine holds no trace of them; a patch that no longer applies
# makes scripts/mutant-build.sh fail; and one planted bug, built into its
# own crashtest, is caught by its campaign, with every trial before the
# first catch run and the first catch replaying to the same row.
set -u
cd "$(dirname "$0")/.." || exit 2
T=$(mktemp -d "${TMPDIR:-/dev/shm}/crashlab-mutants-XXXXXX")
trap 'rm -rf "$T"' EXIT
. tests/lib.sh

# 1. every patch: header, and an exact dry run against engine/
n=0
for p in mutants/*.patch; do
    name=$(basename "$p" .patch)
    n=$((n + 1))
    head -1 "$p" | grep -qx "Planted bug: $name" && ok || bad "$p: first line is not 'Planted bug: $name'"
    grep -q '^Breaks: ' "$p" && ok || bad "$p: no Breaks: line"
    grep -q '^Campaign: ' "$p" && ok || bad "$p: no Campaign: line"
    if out=$(patch -d . -p1 --fuzz=0 --dry-run -s <"$p" 2>&1); then
        ok
    else
        bad "$p does not apply exactly to engine/: $out"
    fi
done
[ "$n" -ge 25 ] && ok || bad "only $n planted bugs in mutants/"

# 2. the shipped engine has none of them
check "no CL_MUTANT in engine/" 0 "$(grep -c CL_MUTANT engine/*.[ch] | awk -F: '{ s += $2 } END { print s }')"

# 3. a patch that no longer applies (the line it changes is not in the
# engine as it says) is refused (exit 1)
sed 's/^-\(.*\)rc = io->fdatasync(io->ctx, fd);$/-\1rc = io->fdatasync(io->ctx, fd); \/* changed *\//' \
    mutants/skip-wal-fsync.patch >"$T/stale.patch"
MUTANT_BUILD=$T/b scripts/mutant-build.sh "$T/stale.patch" >/dev/null 2>"$T/err"
check "a stale patch: mutant-build exits 1" 1 $?
contains "the stale patch is named as not applying" "$T/err" "does not apply"

# 4. one planted bug built and caught, first catch replayed
dir=$(BUILD=$(dirname "${CRASHTEST:-build/crashtest}") MUTANT_BUILD=$T/b scripts/mutant-build.sh skip-wal-fsync 2>"$T/err")
check "skip-wal-fsync builds" 0 $?
CT=$dir/crashtest
"$CT" --seed 33 --threads 1 --mode powerloss --trials 200 --stop-at-first --quiet \
    --csv "$T/c.csv" >"$T/out" 2>&1
check "skip-wal-fsync is caught by powerloss (exit 1)" 1 $?
first=$(python3 -c 'import csv,sys
print(min(int(r["trial"]) for r in csv.DictReader(open(sys.argv[1])) if r["verdict"]=="violation"))' "$T/c.csv")
check "--stop-at-first: every trial before the first catch ran" \
    "$(seq 0 "$first" | tr '\n' ' ')" \
    "$(col trial <"$T/c.csv" | sort -n | awk -v f="$first" '$1 <= f' | tr '\n' ' ')"
line=$(grep -A2 "in trial $first:" "$T/out" | sed -n 's/^  replay: //p')
$line --quiet --csv "$T/r.csv" >/dev/null 2>&1
check "the replay of the first catch exits 1" 1 $?
check "the replay finds the same violation" \
    "$(python3 -c 'import csv,sys
print([r["violation"] for r in csv.DictReader(open(sys.argv[1])) if r["trial"]==sys.argv[2]][0])' "$T/c.csv" "$first")" \
    "$(col violation <"$T/r.csv")"
"${CRASHTEST:-build/crashtest}" --seed 33 --mode powerloss --trials 200 --quiet \
    --csv "$T/u.csv" >/dev/null 2>&1
check "the unmutated engine passes the same campaign" 0 $?

finish
