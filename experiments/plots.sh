#!/bin/bash
# plots.sh - make plots: render DIR/<name>.png again from DIR/<name>.csv with
# experiments/<name>.gp, for each experiment named, without running it.
# bench.png is the exception: experiments/bench.sh derives its plot data
# while it runs, so only make bench renders it.
# Environment: EXP_OUT (default results).
set -u
cd "$(dirname "$0")/.." || exit 2
EXP_OUT=${EXP_OUT:-results}
# exp_plot and its helpers, without starting an experiment
. experiments/lib.sh
set +e
rc=0
for name in "$@"; do
    if [ "$name" = bench ]; then
        echo "plots: $EXP_OUT/bench.png is rendered by make bench only (skipped)"
        continue
    fi
    # Only a CSV that experiments/<name>.sh wrote (results/mutants.csv may
    # also come from make mutants, without the header the plot reads).
    if ! head -1 "$EXP_OUT/$name.csv" 2>/dev/null | grep -q "experiments/$name.sh"; then
        echo "plots: $EXP_OUT/$name.csv was not written by experiments/$name.sh (skipped)"
        continue
    fi
    if exp_plot "$name" "$EXP_OUT/$name.csv" "$EXP_OUT/$name.png"; then
        echo "plots: $EXP_OUT/$name.png"
    else
        rc=1
    fi
done
exit $rc
