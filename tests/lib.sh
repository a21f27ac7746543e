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
# the closing line; the suite's exit status
finish() {
    echo "$(basename "$0"): $pass checks passed, $fail failed"
    [ "$fail" -eq 0 ]
}
