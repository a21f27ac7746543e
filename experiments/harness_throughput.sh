#!/bin/bash
# harness_throughput.sh - experiment 8: crash states verified per second by
# crashtest, against --jobs (parallel trials) for the default campaign and
# for kill-io alone, and against the workload size (--txns) with every
# core busy.  Each point is one fixed campaign (seed 1) on /dev/shm; the
# rate is crashtest's own (trials / wall time, from --json).
. "$(dirname "$0")/lib.sh"
CT=$BUILD/crashtest
exp_need "$CT"
if [ "$QUICK" = 1 ]; then
    TRIALS=150
    JOBS="1 2"
    TXNS="16 64"
else
    TRIALS=2000
    JOBS="1 2 3 4"
    TXNS="8 16 32 64 128 256"
fi
exp_begin harness_throughput /dev/shm/crashlab-exp-harness_throughput
exp_header "QUICK=$QUICK experiments/harness_throughput.sh ($CT --seed 1 --trials $TRIALS --json --dir $EXP_DATA [--mode kill-io] --jobs J [--txns N]; J in $JOBS; N in $TXNS)"
exp_note "the server trials of the default campaign (one in 127) are included; the machine has $(nproc) cores"
echo "sweep,mode,jobs,txns,trials,seconds,states_per_sec" >>"$EXP_TMP"
# point SWEEP MODE JOBS TXNS: one campaign, one row
point() {
    local args=(--seed 1 --trials "$TRIALS" --json --quiet --dir "$EXP_DATA" --jobs "$3")
    [ "$2" != all ] && args+=(--mode "$2")
    [ "$4" != default ] && args+=(--txns "$4")
    exp_run "$CT" "${args[@]}" >"$EXP_SCRATCH/j"
    python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print("%s,%s,%s,%s,%d,%.3f,%.1f" % (sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5],
      d["trials"], d["seconds"], d["states_per_second"]))' "$EXP_SCRATCH/j" "$@" >>"$EXP_TMP"
    exp_step "$1: mode $2, --jobs $3, --txns $4: $(tail -1 "$EXP_TMP" | cut -d, -f7) states/s"
}
for mode in all kill-io; do
    for j in $JOBS; do
        point jobs "$mode" "$j" default
    done
done
for mode in all kill-io; do
    for n in $TXNS; do
        point txns "$mode" "$(nproc)" "$n"
    done
done
exp_end
