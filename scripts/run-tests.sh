#!/bin/bash
# run-tests.sh - run each test given (cmocka binaries and shell suites),
# report, and close with one line "N passed, N failed, N skipped" counting
# tests: a cmocka binary's tests from its closing lines, a shell suite's
# checks from its "N checks passed, N failed" line.  Exit non-zero if a
# test failed, a suite failed or ran nothing, or a test was skipped: a
# skipped test proves nothing, so it never counts as a pass.
#
# TEST_JOBS suites run at once (default: the number of cores); each one's
# output is kept and printed whole, in the order given, with its time.
set -u
jobs=${TEST_JOBS:-$(nproc)}
[ "$jobs" -ge 1 ] 2>/dev/null || jobs=1
failed=""
skipped=""
npass=0
nfail=0
nskip=0
start=$(date +%s)
dir=$(mktemp -d "${TMPDIR:-/tmp}/run-tests-XXXXXX")
trap 'rm -rf "$dir"' EXIT
tests=("$@")

# the number N of the first line of $out matching "PATTERN N", or 0
count() {
    printf '%s\n' "$out" | sed -n "s/^$1 *\([0-9][0-9]*\).*/\1/p" | head -1 |
        grep . || echo 0
}

# run_one I: suite I into $dir/I.out, its exit status and seconds into
# $dir/I.rc ("RC SECONDS"), written last
run_one() {
    local t0=$(date +%s) rc
    "${tests[$1]}" >"$dir/$1.out" 2>&1
    rc=$?
    echo "$rc $(($(date +%s) - t0))" >"$dir/$1.rc.tmp"
    mv "$dir/$1.rc.tmp" "$dir/$1.rc"
}

# report I: count suite I's results and print its output
report() {
    local t=${tests[$1]} rc secs p f s ran line
    read -r rc secs <"$dir/$1.rc"
    out=$(cat "$dir/$1.out")
    echo "== $t ($secs s)"
    printf '%s\n' "$out" | grep -vE '^\[ (RUN|      OK) '
    if printf '%s\n' "$out" | grep -q '^\[==========\] [0-9]* test(s) run'; then
        p=$(count '\[  PASSED  \]')
        f=$(count '\[  FAILED  \]')
        s=$(count '\[  SKIPPED \]')
        ran=$(count '\[==========\]')
        [ "$ran" -gt 0 ] || {
            echo "run-tests: $t ran no test" >&2
            f=$((f + 1))
        }
    else
        # a shell suite: "... N checks passed, N failed" (or targets)
        line=$(printf '%s\n' "$out" |
            grep -E '[0-9]+ [a-z]+ passed, [0-9]+ failed' | tail -1)
        p=$(echo "$line" | sed -n 's/.* \([0-9][0-9]*\) [a-z]* passed, .*/\1/p')
        f=$(echo "$line" | sed -n 's/.* passed, \([0-9][0-9]*\) failed.*/\1/p')
        s=0
        p=${p:-0}
        f=${f:-0}
        [ "$p" -gt 0 ] || [ "$f" -gt 0 ] || {
            echo "run-tests: $t reported no check" >&2
            f=$((f + 1))
        }
    fi
    # a non-zero exit with no failed test reported is a failure too
    [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
    npass=$((npass + p))
    nfail=$((nfail + f))
    nskip=$((nskip + s))
    [ "$f" -gt 0 ] && failed="$failed $t"
    [ "$s" -gt 0 ] && skipped="$skipped $t"
}

next=0    # the next suite to start
shown=0   # the next suite to report
running=0
while [ "$shown" -lt "${#tests[@]}" ]; do
    while [ "$running" -lt "$jobs" ] && [ "$next" -lt "${#tests[@]}" ]; do
        run_one "$next" &
        next=$((next + 1))
        running=$((running + 1))
    done
    if [ -e "$dir/$shown.rc" ]; then
        report "$shown"
        shown=$((shown + 1))
        continue
    fi
    wait -n
    running=$((running - 1))
done
wait
end=$(date +%s)
echo "run-tests: ${#tests[@]} suites in $((end - start)) s, $jobs at once"
[ -n "$failed" ] && echo "run-tests: FAILED:$failed" >&2
[ -n "$skipped" ] && echo "run-tests: SKIPPED (not a pass):$skipped" >&2
echo "$npass passed, $nfail failed, $nskip skipped"
[ -z "$failed" ] && [ -z "$skipped" ]
