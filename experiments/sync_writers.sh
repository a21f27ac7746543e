#!/bin/bash
# sync_writers.sh - experiment 3: durable commit throughput against the
# number of writer threads in each sync mode (commit, group, periodic):
# kvbench experiment writers, each thread putting its own keys one put per
# commit for a fixed time, counting puts and the log's fsyncs; and the
# disk's raw 4 KiB append + fdatasync rate in the same directory.
. "$(dirname "$0")/lib.sh"
KVBENCH=$BUILD/kvbench
DRV="$KVBENCH experiment"
exp_need "$KVBENCH"
if [ "$QUICK" = 1 ]; then
    THREADS="1 4 16"
    SECS=0.5
else
    THREADS="1 2 4 8 16"
    SECS=3
fi
exp_begin sync_writers "$BUILD/exp-data/sync_writers"
exp_header "QUICK=$QUICK experiments/sync_writers.sh ($DRV writers DIR --sync MODE --threads T --seconds $SECS for T in $THREADS; $DRV raw DIR --seconds $SECS)"
exp_note "100-byte values, one put per commit, periodic sync every 100 ms (its puts are not durable on return)"
echo "sync,threads,puts,seconds,puts_per_sec,wal_syncs,puts_per_fsync" >>"$EXP_TMP"
exp_step "raw 4 KiB append + fdatasync for $SECS s"
exp_run "$KVBENCH" experiment raw "$EXP_DATA/raw" --seconds "$SECS" |
    awk -F, -v OFS=, '{ print "raw-fdatasync", 1, $1, $2, sprintf("%.0f", $1 / $2), $1, 1 }' >>"$EXP_TMP"
for mode in commit group periodic; do
    for t in $THREADS; do
        rm -rf "$EXP_DATA/db"
        r=$(exp_run "$KVBENCH" experiment writers "$EXP_DATA/db" --sync "$mode" --threads "$t" --seconds "$SECS")
        echo "$r" | awk -F, -v m="$mode" -v t="$t" -v OFS=, \
            '{ print m, t, $1, $2, sprintf("%.0f", $1 / $2), $3, sprintf("%.1f", $1 / ($3 > 0 ? $3 : 1)) }' >>"$EXP_TMP"
        exp_step "sync $mode, $t threads: $(tail -1 "$EXP_TMP" | cut -d, -f5) puts/s"
    done
done
exp_end
