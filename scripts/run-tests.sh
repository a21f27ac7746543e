#!/bin/sh
# run-tests.sh - run each cmocka test binary given, report, and exit non-zero
# if any failed (by exit status, or because it ran no test at all).
set -u
failed=""
total=0
start=$(date +%s)
for t in "$@"; do
    total=$((total + 1))
    echo "== $t"
    out=$("$t" 2>&1)
    rc=$?
    printf '%s\n' "$out" | grep -vE '^\[ (RUN|      OK) ' 
    if [ $rc -ne 0 ]; then
        failed="$failed $t"
    elif printf '%s\n' "$out" | grep -q '^\[==========\] 0 test(s) run'; then
        echo "run-tests: $t ran no test" >&2
        failed="$failed $t"
    fi
done
end=$(date +%s)
if [ -n "$failed" ]; then
    echo "run-tests: FAILED:$failed" >&2
    exit 1
fi
echo "run-tests: all $total suites passed in $((end - start)) s"
