#!/bin/bash
# test_run_tests.sh - scripts/run-tests.sh counts what each suite reports
# and closes with "N passed, N failed, N skipped": a skipped cmocka test is
# not a pass and fails the run, as do a failed test, a suite that exits
# non-zero without saying why, and one that ran nothing.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d "${TMPDIR:-/dev/shm}/crashlab-runtests-XXXXXX")
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh"

# suite NAME EXIT LINES...: a fake suite printing LINES and exiting EXIT
suite() {
    local name=$1 rc=$2
    shift 2
    { echo '#!/bin/sh'; printf "echo '%s'\n" "$@"; echo "exit $rc"; } >"$T/$name"
    chmod +x "$T/$name"
}
suite pass 0 '[==========] Running 2 test(s).' '[==========] 2 test(s) run.' \
    '[  PASSED  ] 2 test(s).'
suite skip 0 '[==========] Running 2 test(s).' '[  SKIPPED ] b' \
    '[==========] 2 test(s) run.' '[  PASSED  ] 1 test(s).' \
    '[  SKIPPED ] 1 test(s), listed below:' '[  SKIPPED ] b'
suite fail 1 '[==========] Running 3 test(s).' '[==========] 3 test(s) run.' \
    '[  PASSED  ] 2 test(s).' '[  FAILED  ] 1 test(s), listed below:'
suite none 0 '[==========] Running 0 test(s).' '[==========] 0 test(s) run.'
suite shell 0 'test_x.sh: 5 checks passed, 0 failed'
suite crash 139 'test_y.sh: 3 checks passed, 0 failed'

run() { # run SUITES...: closing line in $last, exit status in $rc
    "$ROOT/scripts/run-tests.sh" "$@" >"$T/out" 2>"$T/err"
    rc=$?
    last=$(tail -1 "$T/out")
}
run "$T/pass" "$T/shell"
check "all passing: exit 0" 0 "$rc"
check "all passing: closing line" "7 passed, 0 failed, 0 skipped" "$last"
run "$T/pass" "$T/skip"
check "a skipped test fails the run" 1 "$rc"
check "skipped counted" "3 passed, 0 failed, 1 skipped" "$last"
contains "skipped suite named" "$T/err" "SKIPPED (not a pass): $T/skip"
run "$T/fail"
check "a failed test fails the run" 1 "$rc"
check "failed counted" "2 passed, 1 failed, 0 skipped" "$last"
run "$T/none"
check "a suite that ran nothing fails the run" 1 "$rc"
run "$T/crash"
check "a suite dying without a failed check fails the run" 1 "$rc"
check "its death counted as a failure" "3 passed, 1 failed, 0 skipped" "$last"

# suites run at once (TEST_JOBS) are reported whole, in the order given:
# a slow first suite's output comes before a quick second one's
{ echo '#!/bin/sh'; echo 'sleep 1'; echo "echo 'slow.sh: 2 checks passed, 0 failed'"; } >"$T/slow"
chmod +x "$T/slow"
TEST_JOBS=2 "$ROOT/scripts/run-tests.sh" "$T/slow" "$T/shell" "$T/fail" >"$T/out" 2>"$T/err"
check "at once: a failure fails the run" 1 $?
check "at once: counted" "9 passed, 1 failed, 0 skipped" "$(tail -1 "$T/out")"
check "at once: reported in the order given" "$T/slow $T/shell $T/fail" \
    "$(sed -n 's/^== \([^ ]*\) ([0-9]* s)$/\1/p' "$T/out" | tr '\n' ' ' | sed 's/ $//')"
check "at once: each suite's output under its name" "slow.sh: 2 checks passed, 0 failed" \
    "$(sed -n "\\|^== $T/slow |{n;p}" "$T/out")"
finish
