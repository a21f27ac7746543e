# lib.sh - what the shell suites share (sourced by tests/test_*.sh): check
# counters, assertions, a CSV column reader and the closing line.
pass=0
fail=0

ok() { pass=$((pass + 1)); }
bad() { echo "FAILED: $*" >&2; fail=$((fail + 1)); }
check() { # check NAME EXPECTED ACTUAL
    if [ "$2" = "$3" ]; then ok; else bad "$1: got '$3', expected '$2'"; fi
}
contains() { # contains NAME FILE PATTERN
    if grep -q -- "$3" "$2"; then ok; else bad "$1: '$3' not in: $(cat "$2")"; fi
}
# The CSV columns the clock measures, which differ between two runs of one
# trial (python: os.environ["CLOCK_COLUMNS"].split()).
export CLOCK_COLUMNS="recovery_us us_writer us_damage us_verify us_total"
# column NAME of a CSV on stdin
col() { python3 -c 'import csv,sys; n=sys.argv[1]; [print(r[n]) for r in csv.DictReader(sys.stdin)]' "$1" 2>/dev/null; }
# count VERDICT FILE: rows of a CSV with that verdict column
count() { col verdict <"$2" | grep -c "^$1\$"; }
# kinds FILE: the violation kinds of a CSV, sorted, one line
kinds() { col violation <"$1" | grep -v '^$' | sort -u | tr '\n' ' '; }
# first_trial VERDICT FILE: the number of the first trial with that verdict
first_trial() {
    python3 -c 'import csv,sys
print(next(r["trial"] for r in csv.DictReader(open(sys.argv[2])) if r["verdict"] == sys.argv[1]))' "$1" "$2"
}
# campaign TARGET NAME ARGS...: a campaign of $CT on TARGET (two jobs,
# trial directories in $T) into $T/NAME.csv and $T/NAME.out; sets rc
campaign() {
    local target=$1 name=$2
    shift 2
    "$CT" --target "$target" --jobs 2 --quiet --dir "$T" \
        --csv "$T/$name.csv" "$@" >"$T/$name.out" 2>&1
    rc=$?
}
# same_row NAME CSV TRIAL REPLAY_CSV: the replay's row equals the trial's
# row of CSV but for the clock's columns
same_row() {
    python3 - "$2" "$3" "$4" <<'EOF' && ok || bad "$1: the replay's row differs"
import csv, os, sys
skip = set(os.environ["CLOCK_COLUMNS"].split())
a = next(r for r in csv.DictReader(open(sys.argv[1])) if r["trial"] == sys.argv[2])
b = next(csv.DictReader(open(sys.argv[3])))
diff = [k for k in a if k not in skip and a[k] != b[k]]
if diff:
    print("differs in", diff, file=sys.stderr)
sys.exit(1 if diff else 0)
EOF
}
# the closing line; the suite's exit status
finish() {
    echo "$(basename "$0"): $pass checks passed, $fail failed"
    [ "$fail" -eq 0 ]
}
