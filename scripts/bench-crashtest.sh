#!/bin/bash
# bench-crashtest.sh - crash states verified per second of fixed crash
# campaigns, side by side for --jobs 1 and 2, for the default campaign (all
# modes) and kill-io alone, at a few workload sizes; with the machine and
# the file system the trials ran on.  A benchmark, not a test: it always
# exits 0 unless a campaign fails.
#
# Environment: CRASHTEST (default build/crashtest), TRIALS (default 3000),
# SEED (default 1), DIR (scratch directory, default /dev/shm or /tmp).
set -u
CT=${CRASHTEST:-build/crashtest}
TRIALS=${TRIALS:-3000}
SEED=${SEED:-1}
DIR=${DIR:-/dev/shm}
[ -w "$DIR" ] || DIR=/tmp

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
mem=$(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
fs=$(stat -f -c %T "$DIR" 2>/dev/null || echo "?")
echo "crashtest benchmark: crash states verified per second (more is better)"
echo "machine: ${cpu:-?}, $(nproc) cores online, $mem RAM, Linux $(uname -r)"
echo "scratch: $DIR ($fs); $TRIALS trials per run, seed $SEED;" \
    "commit $(git rev-parse --short HEAD 2>/dev/null || echo ?)"
if [ -n "$(cat /proc/loadavg 2>/dev/null | awk '$1 > 0.5')" ]; then
    echo "note: load average $(cut -d' ' -f1-3 /proc/loadavg) before the runs:" \
        "other work shares the cores"
fi
echo

# rate MODE TXNS JOBS: the rate a campaign printed
rate() {
    local args=(--seed "$SEED" --trials "$TRIALS" --jobs "$3" --quiet
        --dir "$DIR")
    [ "$1" != all ] && args+=(--mode "$1")
    [ "$2" != default ] && args+=(--txns "$2")
    local out
    out=$("$CT" "${args[@]}" 2>&1) || {
        echo "bench-crashtest: campaign failed: $CT ${args[*]}" >&2
        echo "$out" >&2
        exit 1
    }
    echo "$out" | sed -n 's/.*: \([0-9]*\) crash states verified per second.*/\1/p'
}

printf "%-22s %-18s %10s %10s\n" "campaign" "transactions" "--jobs 1" "--jobs 2"
for mode in all kill-io; do
    for txns in 16 default 96; do
        label=$([ "$txns" = default ] && echo "default (10-48)" || echo "$txns")
        name=$([ "$mode" = all ] && echo "all modes" || echo "$mode only")
        printf "%-22s %-18s %10s %10s\n" "$name" "$label" \
            "$(rate "$mode" "$txns" 1)" "$(rate "$mode" "$txns" 2)"
    done
done
