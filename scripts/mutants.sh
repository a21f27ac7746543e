#!/bin/bash
# mutants.sh - the detection matrix of the bugs planted in the engine (make
# mutants): for each mutant of `crashtest --list-mutants`, crash campaigns
# with the mutant switched on, each stopping at its first violation; then
# the same campaigns on the unmutated engine, which must find nothing.
# Prints the matrix (mutant x mode: trials to the first catch and the kind
# of violation) and writes every campaign, with the replay command of its
# first catch, to results/mutants.csv.
#
# A full run tries every mutant in every mode (a mode the catalogue does not
# list for it gets the options of its first listed campaign), so the matrix
# also shows which modes cannot catch a bug.  QUICK=1 runs only the listed
# campaigns, with fewer trials: the CI version.
#
# Environment: CRASHTEST (default build-fiu/crashtest), SEED (default 1),
# TRIALS (default 200; QUICK: 100), OUT (default results/mutants.csv;
# QUICK: results/mutants-quick.csv).
# Exit status: 0 every mutant caught (but the equivalent ones) and no
# violation on the unmutated engine; 1 otherwise; 2 set-up error.
set -u
cd "$(dirname "$0")/.." || exit 2
CT=${CRASHTEST:-build-fiu/crashtest}
QUICK=${QUICK:-0}
SEED=${SEED:-1}
if [ "$QUICK" = 1 ]; then
    TRIALS=${TRIALS:-100}
    OUT=${OUT:-results/mutants-quick.csv}
else
    TRIALS=${TRIALS:-200}
    OUT=${OUT:-results/mutants.csv}
fi
MODES="kill-io kill-time torn powerloss recovery-crash eio enospc short-write fsync-fail"
T=$(mktemp -d "${TMPDIR:-/tmp}/mutants-XXXXXX")
trap 'rm -rf "$T"' EXIT

if ! "$CT" --list-mutants >"$T/catalogue" 2>"$T/err"; then
    echo "mutants: $CT --list-mutants failed: $(cat "$T/err")" >&2
    exit 2
fi
if ! "$CT" --mode eio --trials 1 --quiet >/dev/null 2>&1; then
    echo "mutants: $CT is not a fault-injection build (make FIU=1)" >&2
    exit 2
fi

# campaign MUTANT MODE OPTIONS: run it (MUTANT none: the unmutated engine,
# every trial) and append a row to $T/rows:
# mutant|mode|options|caught|trials|kind|replay
campaign() {
    local mutant=$1 mode=$2 opts=$3 extra rc first kind replay
    if [ "$mutant" = none ]; then
        extra=""
    else
        extra="--stop-at-first --mutant $mutant"
    fi
    rm -f "$T/c.csv"
    # shellcheck disable=SC2086
    "$CT" --seed "$SEED" --trials "$TRIALS" --quiet $extra \
        --mode "$mode" $opts --csv "$T/c.csv" >"$T/out" 2>"$T/err"
    rc=$?
    if [ $rc -ge 2 ] || [ ! -f "$T/c.csv" ]; then
        echo "mutants: campaign failed ($mutant, $mode $opts): exit $rc" >&2
        tail -3 "$T/err" >&2
        exit 2
    fi
    read -r first kind < <(python3 -c '
import csv, sys
v = [(int(r["trial"]), r["violation"]) for r in csv.DictReader(open(sys.argv[1]))
     if r["verdict"] == "violation"]
print("%d %s" % min(v) if v else "- -")' "$T/c.csv")
    replay=""
    if [ "$first" != "-" ]; then
        replay=$(grep -A2 "in trial $first:" "$T/err" | sed -n 's/^  replay: //p' | head -1)
        echo "$mutant|$mode|$opts|yes|$((first + 1))|$kind|$replay" >>"$T/rows"
    else
        echo "$mutant|$mode|$opts|no|$TRIALS|-|" >>"$T/rows"
    fi
}

: >"$T/rows"
: >"$T/clean"
names=$(cut -f1 "$T/catalogue" | uniq)
for m in $names; do
    base=$(awk -F'\t' -v m="$m" '$1 == m { print $3; exit }' "$T/catalogue")
    [ "$base" = "-" ] && base=""
    if [ "$QUICK" = 1 ]; then
        modes=$(awk -F'\t' -v m="$m" '$1 == m { print $2 }' "$T/catalogue")
    else
        modes=$MODES
    fi
    for mode in $modes; do
        opts=$(awk -F'\t' -v m="$m" -v d="$mode" '$1 == m && $2 == d { print $3; exit }' "$T/catalogue")
        if [ -z "$opts" ]; then opts=$base; elif [ "$opts" = "-" ]; then opts=""; fi
        echo "mutants: $m in $mode${opts:+ ($opts)}" >&2
        campaign "$m" "$mode" "$opts"
        printf '%s|%s\n' "$mode" "$opts" >>"$T/clean"
    done
done
sort -u "$T/clean" | while IFS='|' read -r mode opts; do
    echo "mutants: unmutated engine in $mode${opts:+ ($opts)}" >&2
    campaign none "$mode" "$opts"
done

# The CSV, with a header saying where and how it was made.
mkdir -p "$(dirname "$OUT")"
{
    echo "# mutants.csv - detection matrix of the planted bugs (scripts/mutants.sh)"
    # the machine lines in the project's one vocabulary (common/csvmeta.h)
    "$(dirname "$CT")/csvmeta" --dir /dev/shm \
        --commit "$(git rev-parse HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')" \
        -- "QUICK=$QUICK SEED=$SEED TRIALS=$TRIALS CRASHTEST=$CT scripts/mutants.sh" ||
        exit 2
    echo "mutant,mode,options,caught,trials,violation,replay,breaks"
    python3 -c '
import csv, sys
breaks = {}
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split("\t")
    breaks[f[0]] = f[3]
w = csv.writer(sys.stdout, lineterminator="\n")
for line in open(sys.argv[2]):
    m, mode, opts, caught, trials, kind, replay = line.rstrip("\n").split("|", 6)
    w.writerow([m, mode, opts, caught, trials, kind, replay,
                breaks.get(m, "the unmutated engine")])' "$T/catalogue" "$T/rows"
} >"$OUT"

# The matrix, and the verdict.
python3 - "$T/catalogue" "$T/rows" "$TRIALS" "$MODES" <<'EOF'
import sys
cat, rows, trials, modes = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split()
abbrev = {"durability": "dur", "atomicity": "atom", "prefix": "pre",
          "structure": "struct", "recovery": "rec", "idempotence": "idem",
          "writer": "writer", "error-handling": "err"}
order, equiv, listed = [], {}, {}
for line in open(cat):
    f = line.rstrip("\n").split("\t")
    if f[0] not in order:
        order.append(f[0])
    equiv[f[0]] = f[4] != "-"
    listed.setdefault(f[0], set()).add(f[1])
cells, best, clean = {}, {}, []
for line in open(rows):
    m, mode, opts, caught, n, kind, replay = line.rstrip("\n").split("|", 6)
    if m == "none":
        clean.append((mode, opts, caught, n, kind, replay))
        continue
    cells[(m, mode)] = (caught, int(n), kind)
    if caught == "yes" and (m not in best or int(n) < best[m][0]):
        best[m] = (int(n), mode, replay)
w = max(len(m) for m in order) + 2
print("detection matrix: trials to the first violation (of %s), and its kind;"
      % trials)
print("'-' not caught, '.' not run; * marks the modes the catalogue names\n")
print("%-*s" % (w, "mutant") + "".join("%-16s" % d for d in modes))
escaped = []
for m in order:
    line = "%-*s" % (w, m)
    for d in modes:
        c = cells.get((m, d))
        if c is None:
            t = "."
        elif c[0] == "yes":
            t = "%d %s" % (c[1], abbrev.get(c[2], c[2]))
        else:
            t = "-"
        if d in listed[m]:
            t += "*"
        line += "%-16s" % t
    if m not in best:
        line += "  (equivalent)" if equiv[m] else "  ESCAPED"
        if not equiv[m]:
            escaped.append(m)
    print(line)
print("\nfirst catch of each mutant, replay:")
for m in order:
    if m in best:
        print("  %s (%s, trial %d):\n    %s" % (m, best[m][1], best[m][0] - 1,
                                              best[m][2]))
bad = [c for c in clean if c[2] == "yes"]
print("\nunmutated engine: %d campaigns of %s trials, %s" % (
    len(clean), trials,
    "no violation" if not bad else "%d with violations" % len(bad)))
for mode, opts, caught, n, kind, replay in bad:
    print("  VIOLATION (%s) in %s %s:\n    %s" % (kind, mode, opts, replay))
caught = sum(1 for m in order if m in best)
missed = [m for m in order if m not in best and equiv[m]]
print("\n%d of %d mutants caught%s%s" % (caught, len(order),
      "; escaped: " + " ".join(escaped) if escaped else "",
      "; not caught, equivalent: " + " ".join(missed) if missed else ""))
sys.exit(1 if escaped or bad else 0)
EOF
rc=$?
echo "(written to $OUT)"
exit $rc
