#!/bin/bash
# harness_throughput.sh - experiment 8 (also make bench-crashtest): crash
# states verified per second by crashtest, for each crash mode of the
# default campaign and for the default mix, next to what the machine
# allows: the rate of fork + exit + wait of an empty child, and of an
# open and close of an empty database (in one process, and in a child
# forked for each, which is what a verifier costs at the least).  Each
# campaign is a fixed one (seed 1) on /dev/shm; its rate is crashtest's
# own (trials / wall time, from --json), and the fork rate is measured
# again just before it, so that the ratio of the two holds even while
# other work shares the machine.  Also the default mix and kill-io
# against --jobs.
. "$(dirname "$0")/lib.sh"
CT=$BUILD/crashtest
KVB=$BUILD/kvbench
exp_need "$CT" "$KVB" "$BUILD/csvmeta"
MODES="kill-io kill-time torn powerloss recovery-crash chain fsync-fail write-fail"
if [ "$QUICK" = 1 ]; then
    TRIALS=100
    MODE_TRIALS=40
    JOBS="1 2"
    LIMIT_SECONDS=0.3
else
    TRIALS=${TRIALS:-2000}
    MODE_TRIALS=${MODE_TRIALS:-700}
    JOBS="1 2 4"
    LIMIT_SECONDS=2
fi
exp_begin harness_throughput /dev/shm/crashlab-exp-harness_throughput
exp_header "QUICK=$QUICK experiments/harness_throughput.sh ($CT --seed 1 --trials N --json --dir $EXP_DATA [--mode M] --jobs J; N $TRIALS for the default mix, $MODE_TRIALS per mode; $KVB experiment fork|open-close|fork-open --seconds $LIMIT_SECONDS)"
exp_note "the default mix includes its server trials (one in 127); the machine has $(nproc) cores; load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "sweep,mode,jobs,trials,seconds,states_per_sec,forks_per_sec,ratio_to_fork" >>"$EXP_TMP"

# forks_per_sec: fork + exit + wait of an empty child, per second, now
forks_per_sec() {
    exp_run "$KVB" experiment fork "$EXP_DATA/fork" --seconds "$LIMIT_SECONDS" |
        awk -F, '{ printf "%.1f", $1 / $2 }'
}

# limit NAME: one row of a machine limit (jobs 1): ops per second
limit() {
    rm -rf "$EXP_DATA/limit"
    local rate
    rate=$(exp_run "$KVB" experiment "$1" "$EXP_DATA/limit" --seconds "$LIMIT_SECONDS" |
        awk -F, '{ printf "%.1f", $1 / $2 }')
    local f
    f=$(forks_per_sec)
    echo "limit,$1,1,0,$LIMIT_SECONDS,$rate,$f,$(awk -v a="$rate" -v b="$f" 'BEGIN { printf "%.3f", a / b }')" >>"$EXP_TMP"
    exp_step "limit: $1: $rate per second (fork: $f/s)"
}

# point SWEEP MODE JOBS TRIALS: one campaign, one row
point() {
    local args=(--seed 1 --trials "$4" --json --quiet --dir "$EXP_DATA/ct" --jobs "$3")
    [ "$2" != all ] && args+=(--mode "$2")
    local f
    f=$(forks_per_sec)
    exp_run "$CT" "${args[@]}" >"$EXP_SCRATCH/j"
    python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
f = float(sys.argv[6])
print("%s,%s,%s,%d,%.3f,%.1f,%.1f,%.3f" % (sys.argv[2], sys.argv[3], sys.argv[4],
      d["trials"], d["seconds"], d["states_per_second"], f,
      d["states_per_second"] / f if f > 0 else 0))' "$EXP_SCRATCH/j" "$1" "$2" "$3" "$4" "$f" >>"$EXP_TMP"
    exp_step "$1: mode $2, --jobs $3: $(tail -1 "$EXP_TMP" | cut -d, -f6) states/s (fork: $f/s)"
}

for l in fork open-close fork-open; do
    limit "$l"
done
point mix all 2 "$TRIALS"
for m in $MODES; do
    point mode "$m" 2 "$MODE_TRIALS"
done
for mode in all kill-io; do
    for j in $JOBS; do
        point jobs "$mode" "$j" "$TRIALS"
    done
done
exp_end
