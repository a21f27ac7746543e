#!/bin/bash
# mutants.sh - the detection matrix of the bugs planted in the engine (make
# mutants).  Each planted bug is a patch, mutants/<name>.patch, whose header
# says what it breaks and which campaigns should catch it ("Campaign: MODE
# OPTIONS").  For each: the patch is applied to a scratch copy of engine/
# and built into its own crashtest and kvserver-crash (scripts/mutant-build.sh),
# which then runs
#   - the campaigns the header names (a full run: every crash mode, a mode
#     the header does not name getting the options of its first campaign),
#     each stopping at its first violation, with one writer thread unless
#     the campaign names --threads (so the matrix is the same every run);
#   - the default campaign: crashtest with no mode, workload or engine
#     option, --stop-at-first, at most DEFAULT_TRIALS trials: the number of
#     trials to its first violation, or "not caught";
# then the named campaigns run on the unmutated engine, which must find
# nothing.  Prints the matrix and writes every campaign, with the replay
# command of its first catch, as CSV.
#
# Environment: SEED (default 1), TRIALS (default 200; QUICK: 100),
# DEFAULT_TRIALS (default 20000; QUICK: 0, the default campaign is not run),
# DEFAULT_JOBS (its --jobs, default 1: the first catch is the same for any),
# OUT (default build/mutants.csv), MUTANTS (names; default every patch),
# BUILD (the build whose flavour the planted bugs are built in, default
# build-fiu: the error modes some campaigns name need libfiu), CRASHTEST
# (the unmutated crashtest, default $BUILD/crashtest).
# A header line "Awaits: ..." marks a planted bug that no campaign of
# today's harness can reach (what the harness needs first is said there):
# it is run and reported like the others, but its escape does not fail the
# run; once a campaign catches it, the matrix says to drop the line.
# Exit status: 0 every patch applies, every mutant is caught by a campaign
# (but the equivalent and the awaiting ones) and the unmutated engine has
# no violation; 1 otherwise; 2 set-up error.
set -u
cd "$(dirname "$0")/.." || exit 2
export BUILD=${BUILD:-build-fiu}
CT0=${CRASHTEST:-$BUILD/crashtest}
QUICK=${QUICK:-0}
SEED=${SEED:-1}
if [ "$QUICK" = 1 ]; then
    TRIALS=${TRIALS:-100}
    DEFAULT_TRIALS=${DEFAULT_TRIALS:-0}
else
    TRIALS=${TRIALS:-200}
    DEFAULT_TRIALS=${DEFAULT_TRIALS:-20000}
fi
OUT=${OUT:-build/mutants.csv}
MODES="kill-io kill-time torn powerloss recovery-crash chain eio enospc short-write fsync-fail write-fail"
T=$(mktemp -d "${TMPDIR:-/tmp}/mutants-XXXXXX")
trap 'rm -rf "$T"' EXIT

[ -x "$CT0" ] || { echo "mutants: no $CT0 (make FIU=1)" >&2; exit 2; }
names=${MUTANTS:-$(for p in mutants/*.patch; do basename "$p" .patch; done)}

# The catalogue from the patches' headers, one line per named campaign:
# name TAB mode TAB options ("-" none) TAB breaks TAB equivalent ("-" none)
# TAB awaits ("-" none)
for m in $names; do
    [ -f "mutants/$m.patch" ] || { echo "mutants: no mutants/$m.patch" >&2; exit 2; }
done
# shellcheck disable=SC2086
python3 - $names >"$T/catalogue" <<'PY' || exit 2
import sys
for name in sys.argv[1:]:
    path = "mutants/%s.patch" % name
    fields, key = {}, None
    for line in open(path):
        if line.startswith("--- ") or line.startswith("diff "):
            break
        if line.startswith("  ") and key:
            fields[key][-1] += " " + line.strip()
        elif ":" in line:
            key, val = line.split(":", 1)
            fields.setdefault(key, []).append(val.strip())
    if fields.get("Planted bug") != [name] or not fields.get("Breaks") or not fields.get("Campaign"):
        sys.exit("mutants: %s: header needs 'Planted bug: %s', 'Breaks:' and 'Campaign:' lines" % (path, name))
    for c in fields["Campaign"]:
        mode, _, opts = c.partition(" ")
        print("\t".join([name, mode, opts.strip() or "-", fields["Breaks"][0],
                         fields.get("Equivalent", ["-"])[0],
                         fields.get("Awaits", ["-"])[0]]))
PY

# run_ct CSV WHAT CRASHTEST ARGS...: run crashtest with ARGS into CSV
# (output in $T/out and $T/err); a set-up error (exit 2, or no CSV) stops
# everything.
run_ct() {
    local csv=$1 what=$2 rc
    shift 2
    rm -f "$csv"
    "$@" --csv "$csv" >"$T/out" 2>"$T/err"
    rc=$?
    if [ $rc -ge 2 ] || [ ! -f "$csv" ]; then
        echo "mutants: $what failed: exit $rc" >&2
        tail -3 "$T/err" >&2
        exit 2
    fi
}

# campaign CRASHTEST MUTANT MODE OPTIONS: run it (MUTANT none: the unmutated
# engine, every trial) and append mutant|mode|options|caught|trials|kind|replay
# to $T/rows.
campaign() {
    local ct=$1 mutant=$2 mode=$3 opts=$4 extra="" first kind replay
    [ "$mutant" = none ] || extra="--stop-at-first"
    # One writer thread unless the campaign names its threads: trials of
    # concurrent writers interleave differently in every run, and a catch
    # that depends on an interleaving would make the matrix differ run to
    # run (server campaigns are concurrent by nature and stay so).
    case "$mode $opts" in
    server-* | *--threads*) ;;
    *) extra="$extra --threads 1" ;;
    esac
    # shellcheck disable=SC2086
    run_ct "$T/c.csv" "campaign ($mutant, $mode $opts)" "$ct" --seed "$SEED" \
        --trials "$TRIALS" --quiet $extra --mode "$mode" $opts
    read -r first kind < <(first_violation "$T/c.csv")
    if [ "$first" != "-" ]; then
        replay=$(grep -A2 "in trial $first:" "$T/err" | sed -n 's/^  replay: //p' | head -1)
        echo "$mutant|$mode|$opts|yes|$((first + 1))|$kind|$replay" >>"$T/rows"
    else
        echo "$mutant|$mode|$opts|no|$TRIALS|-|" >>"$T/rows"
    fi
}

# first_violation CSV: "TRIAL KIND" of the first violation, or "- -".
first_violation() {
    python3 -c '
import csv, sys
v = [(int(r["trial"]), r["violation"]) for r in csv.DictReader(open(sys.argv[1]))
     if r["verdict"] == "violation"]
print("%d %s" % min(v) if v else "- -")' "$1"
}

# default_campaign CRASHTEST MUTANT: the default campaign's trials to the
# first violation, into $T/default.
default_campaign() {
    local ct=$1 mutant=$2 first kind
    if [ "$DEFAULT_TRIALS" = 0 ]; then
        echo "$mutant|not run" >>"$T/default"
        return
    fi
    run_ct "$T/d.csv" "default campaign ($mutant)" "$ct" --seed "$SEED" \
        --trials "$DEFAULT_TRIALS" --stop-at-first --quiet \
        --jobs "${DEFAULT_JOBS:-1}"
    read -r first kind < <(first_violation "$T/d.csv")
    if [ "$first" = "-" ]; then
        echo "$mutant|not caught in $DEFAULT_TRIALS" >>"$T/default"
    else
        echo "$mutant|$((first + 1))" >>"$T/default"
    fi
}

: >"$T/rows"
: >"$T/clean"
: >"$T/default"
for m in $names; do
    echo "mutants: building $m" >&2
    dir=$(scripts/mutant-build.sh "$m")
    rc=$?
    [ $rc = 0 ] || exit $rc
    ct=$dir/crashtest
    base=$(awk -F'\t' -v m="$m" '$1 == m { print $3; exit }' "$T/catalogue")
    [ "$base" = "-" ] && base=""
    if [ "$QUICK" = 1 ]; then
        modes=$(awk -F'\t' -v m="$m" '$1 == m { print $2 }' "$T/catalogue")
    else
        modes="$MODES $(awk -F'\t' -v m="$m" '$1 == m && $2 ~ /^server-/ { print $2 }' "$T/catalogue")"
    fi
    for mode in $modes; do
        opts=$(awk -F'\t' -v m="$m" -v d="$mode" '$1 == m && $2 == d { print $3; exit }' "$T/catalogue")
        if [ -z "$opts" ]; then opts=$base; elif [ "$opts" = "-" ]; then opts=""; fi
        echo "mutants: $m in $mode${opts:+ ($opts)}" >&2
        campaign "$ct" "$m" "$mode" "$opts"
        printf '%s|%s\n' "$mode" "$opts" >>"$T/clean"
    done
    [ "$DEFAULT_TRIALS" = 0 ] || echo "mutants: $m in the default campaign" >&2
    default_campaign "$ct" "$m"
done
sort -u "$T/clean" | while IFS='|' read -r mode opts; do
    echo "mutants: unmutated engine in $mode${opts:+ ($opts)}" >&2
    campaign "$CT0" none "$mode" "$opts"
done

# The CSV, with a header saying where and how it was made.
mkdir -p "$(dirname "$OUT")"
{
    echo "# mutants.csv - detection matrix of the planted bugs (scripts/mutants.sh)"
    # the machine lines in the project's one vocabulary (common/csvmeta.h)
    "$BUILD/csvmeta" --dir /dev/shm \
        --commit "$(git rev-parse HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')" \
        -- "QUICK=$QUICK SEED=$SEED TRIALS=$TRIALS DEFAULT_TRIALS=$DEFAULT_TRIALS DEFAULT_JOBS=${DEFAULT_JOBS:-1} BUILD=$BUILD scripts/mutants.sh" ||
        exit 2
    echo "mutant,mode,options,caught,trials,default_campaign_trials,violation,replay,breaks"
    python3 -c '
import csv, sys
breaks, dflt = {}, {}
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split("\t")
    breaks[f[0]] = f[3]
for line in open(sys.argv[3]):
    m, v = line.rstrip("\n").split("|", 1)
    dflt[m] = v
w = csv.writer(sys.stdout, lineterminator="\n")
for line in open(sys.argv[2]):
    m, mode, opts, caught, trials, kind, replay = line.rstrip("\n").split("|", 6)
    w.writerow([m, mode, opts, caught, trials, dflt.get(m, "-"), kind, replay,
                breaks.get(m, "the unmutated engine")])' "$T/catalogue" "$T/rows" "$T/default"
} >"$OUT"
# The matrix, and the verdict.
python3 - "$T/catalogue" "$T/rows" "$TRIALS" "$MODES" "$T/default" <<'EOF'
import sys
cat, rows, trials, modes = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split()
dflt = dict(l.rstrip("\n").split("|", 1) for l in open(sys.argv[5]))
abbrev = {"durability": "dur", "atomicity": "atom", "prefix": "pre",
          "structure": "struct", "recovery": "rec", "idempotence": "idem",
          "writer": "writer", "error-handling": "err"}
order, equiv, listed, awaits = [], {}, {}, {}
for line in open(cat):
    f = line.rstrip("\n").split("\t")
    if f[0] not in order:
        order.append(f[0])
    equiv[f[0]] = f[4] != "-"
    awaits[f[0]] = f[5] != "-"
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
modes += sorted({l.split("\t")[1] for l in open(cat)} - set(modes))
print("%-*s" % (w, "mutant") + "".join("%-16s" % d for d in modes) + "default")
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
    line += dflt.get(m, "-")
    if m not in best:
        if equiv[m]:
            line += "  (equivalent)"
        elif awaits[m]:
            line += "  (awaits a sharper harness)"
        else:
            line += "  ESCAPED"
            escaped.append(m)
    elif awaits[m]:
        line += "  (caught: drop its Awaits line)"
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
waiting = [m for m in order if m not in best and awaits[m]]
print("\n%d of %d mutants caught%s%s%s" % (caught, len(order),
      "; escaped: " + " ".join(escaped) if escaped else "",
      "; not caught, equivalent: " + " ".join(missed) if missed else "",
      "; not caught, awaiting a sharper harness: " + " ".join(waiting)
      if waiting else ""))
sys.exit(1 if escaped or bad else 0)
EOF
rc=$?
echo "(written to $OUT)"
exit $rc
