#!/bin/sh
# run.sh - run libFuzzer targets one after the other (make fuzz).
#
# Usage: fuzz/run.sh TARGET...
# Environment: FUZZ_SECONDS (per target, default 60), FUZZ_BIN (directory of
# the fuzzers, default build-fuzz), FUZZ_CORPUS (generated seeds, default
# build/fuzz/corpus), FUZZ_TIMEOUT (seconds one input may take before it
# counts as a hang, default 25), FUZZ_JOBS (targets run at the same time,
# default 1), FUZZ_ARGS (more libFuzzer options).
#
# Each target reads its seeds (FUZZ_CORPUS/<target without _fixcrc>/ and
# fuzz/regress/<target>/) and keeps what it finds interesting in
# fuzz/work/<target>/ (not committed), so later runs go on from there.  A
# crash, hang, leak or out-of-memory input is saved under
# fuzz/crashes/<target>/ next to a .cmd file with the commands that
# reproduce it; the script then goes on with the next target and exits 1 at
# the end.  Exec counts are printed and appended to fuzz/work/stats.csv.
set -u
cd "$(dirname "$0")/.." || exit 2
secs=${FUZZ_SECONDS:-60}
bin=${FUZZ_BIN:-build-fuzz}
corpus=${FUZZ_CORPUS:-build/fuzz/corpus}
timeout=${FUZZ_TIMEOUT:-25}
jobs=${FUZZ_JOBS:-1}
mkdir -p fuzz/work
results=$(mktemp fuzz/work/results.XXXXXX)
trap 'rm -f "$results"' EXIT
[ -f fuzz/work/stats.csv ] ||
    echo "date,target,seconds,execs,corpus,result" >fuzz/work/stats.csv

# Run one target; append "<target> <execs> <ok|FAILED>" to $results.
run_one() {
    t=$1
    base=${t%_fixcrc}
    work=fuzz/work/$t
    crashes=fuzz/crashes/$t
    log=fuzz/work/$t.log
    mkdir -p "$work" "$crashes"
    t0=$(date +%s)
    set -- "$work"
    [ -d "$corpus/$base" ] && set -- "$@" "$corpus/$base"
    [ -d "fuzz/regress/$t" ] && set -- "$@" "fuzz/regress/$t"
    # shellcheck disable=SC2086
    "$bin/$t" -max_total_time="$secs" -timeout="$timeout" \
        -rss_limit_mb=2048 -use_value_profile=1 -print_final_stats=1 \
        -artifact_prefix="$crashes/" ${FUZZ_ARGS:-} "$@" >"$log" 2>&1
    rc=$?
    elapsed=$(($(date +%s) - t0))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    units=$(sed -n 's/.*#[0-9]*.*DONE *cov: .* corp: \([0-9]*\).*/\1/p' "$log" |
        tail -1)
    execs=${execs:-0}
    if [ $rc -eq 0 ]; then
        result=ok
        printf '%-24s %5s s %12s execs  corpus %s  ok\n' "$t" "$elapsed" \
            "$execs" "${units:-?}"
    else
        result=FAILED
        art=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
        {
            echo "== $t FAILED (exit $rc) after $elapsed s, $execs execs;" \
                "log: $log"
            grep -E 'ERROR|property violated|^    #[0-9]+ |SUMMARY|^  ' "$log" |
                grep -v 'in fuzzer::' | head -25
            if [ -n "$art" ] && [ -f "$art" ]; then
                {
                    echo "# found by make fuzz ($t) on" \
                        "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
                    echo "# with libFuzzer (make fuzz-build):"
                    echo "$bin/$t $art"
                    echo "# without libFuzzer (make build/fuzz/replay_$t):"
                    echo "build/fuzz/replay_$t $art"
                    echo "# once fixed, keep it as a regression input:"
                    echo "mkdir -p fuzz/regress/$t && mv $art fuzz/regress/$t/"
                } >"$art.cmd"
                echo "== saved $art; reproduce with:"
                sed -n 3p "$art.cmd"
                sed -n 5p "$art.cmd"
            fi
        } | cat # one write per report when targets run side by side
    fi
    echo "$t $execs $result" >>"$results"
    echo "$(date -u +%Y-%m-%dT%H:%M:%SZ),$t,$elapsed,$execs,${units:-},$result" \
        >>fuzz/work/stats.csv
}

# Deal the targets round-robin into $jobs lists, run the lists side by side.
i=0
for t in "$@"; do
    eval "list$((i % jobs))=\"\${list$((i % jobs)):-} $t\""
    i=$((i + 1))
done
j=0
while [ $j -lt "$jobs" ] && [ $j -lt $# ]; do
    eval "l=\${list$j:-}"
    (for t in $l; do run_one "$t"; done) &
    j=$((j + 1))
done
wait

total=$(awk '{ s += $2 } END { print s + 0 }' "$results")
failed=$(awk '$3 == "FAILED" { printf " %s", $1 }' "$results")
echo "fuzz: $# targets, $(echo "$failed" | wc -w) failed, $total execs in total"
if [ -n "$failed" ]; then
    echo "fuzz: FAILED:$failed (inputs under fuzz/crashes/)" >&2
    exit 1
fi
