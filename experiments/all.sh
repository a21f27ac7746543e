#!/bin/bash
# all.sh - make experiments: run the named experiments in turn, stopping at
# the first that fails, with the time each took.  Experiment "bench" is
# make bench's experiments/bench.sh (QUICK=1: one round, short runs).
# Environment: QUICK, BUILD, EXP_OUT (see lib.sh).
set -u
cd "$(dirname "$0")/.." || exit 2
QUICK=${QUICK:-0}
BUILD=${BUILD:-build}
if [ "$QUICK" = 1 ]; then
    EXP_OUT=${EXP_OUT:-build/results-quick}
else
    EXP_OUT=${EXP_OUT:-results}
fi
export QUICK BUILD EXP_OUT
t0=$(date +%s)
summary=""
for name in "$@"; do
    t=$(date +%s)
    echo "=== experiment $name$([ "$QUICK" = 1 ] && echo ' (QUICK=1)') -> $EXP_OUT/$name.csv"
    if [ "$name" = bench ]; then
        if [ "$QUICK" = 1 ]; then
            env BENCH_ROUNDS=1 BENCH_SECONDS=0.2 BENCH_OUT="$EXP_OUT" \
                BENCH_VIA="make experiments QUICK=1" \
                BENCH_DIR="$BUILD/exp-data/bench" KVBENCH="$BUILD/kvbench" \
                experiments/bench.sh
        else
            env BENCH_OUT="$EXP_OUT" BENCH_DIR="$BUILD/exp-data/bench" \
                BENCH_VIA="make experiments" \
                KVBENCH="$BUILD/kvbench" experiments/bench.sh
        fi
    else
        "experiments/$name.sh"
    fi
    rc=$?
    if [ $rc != 0 ]; then
        echo "=== experiment $name FAILED (exit $rc) after $(($(date +%s) - t)) s; stopping" >&2
        exit 1
    fi
    summary="$summary$(printf '  %-22s %5d s' "$name" $(($(date +%s) - t)))\n"
done
echo "=== experiments done in $(($(date +%s) - t0)) s:"
printf "%b" "$summary"
