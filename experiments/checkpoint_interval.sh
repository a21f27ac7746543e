#!/bin/bash
# checkpoint_interval.sh - experiment 2: the checkpoint interval trade-off.
# For each automatic checkpoint threshold (log bytes between checkpoints):
# sustained put throughput (kvbench experiment put-rate: durable batches of
# 100 random puts, group commit, for a fixed time on a new database), and
# recovery time after kills at random points of the checkpoint cycle
# (kvbench experiment crash-cycle: a writer killed after a random amount of log,
# uniform over the interval that follows its first checkpoint's start, then
# the database recovered; TRIALS times).
. "$(dirname "$0")/lib.sh"
KVBENCH=$BUILD/kvbench
DRV="$KVBENCH experiment"
exp_need "$KVBENCH"
if [ "$QUICK" = 1 ]; then
    SIZES="1 4 16"
    SECS=1
    TRIALS=5
else
    SIZES="1 4 16 64 256"
    SECS=10
    TRIALS=20
fi
exp_begin checkpoint_interval "$BUILD/exp-data/checkpoint_interval"
exp_header "QUICK=$QUICK experiments/checkpoint_interval.sh ($DRV put-rate DIR --checkpoint-bytes SIZE --seconds $SECS; $DRV crash-cycle DIR --checkpoint-bytes SIZE --trials $TRIALS; SIZE in $SIZES MiB)"
exp_note "put-rate: batches of 100 puts (random keys of 100000, 100-byte values), group commit; crash-cycle: writer in sync mode off (log synced before the kill)"
echo "checkpoint_mib,kind,trial,puts,seconds,puts_per_sec,checkpoints,wal_syncs,recovery_us,records_replayed,bytes_replayed" >>"$EXP_TMP"
for mib in $SIZES; do
    exp_step "checkpoint every $mib MiB: put throughput for $SECS s"
    rm -rf "$EXP_DATA/db"
    r=$(exp_run "$KVBENCH" experiment put-rate "$EXP_DATA/db" --checkpoint-bytes "${mib}M" --seconds "$SECS")
    echo "$r" | awk -F, -v m="$mib" -v OFS=, \
        '{ print m, "throughput", 0, $1, $2, sprintf("%.0f", $1 / $2), $3, $4, "", "", "" }' >>"$EXP_TMP"
    exp_step "  $(echo "$r" | awk -F, '{ printf "%.0f puts/s, %d checkpoints", $1 / $2, $3 }'); $TRIALS kills at random points"
    rm -rf "$EXP_DATA/db"
    exp_run "$KVBENCH" experiment crash-cycle "$EXP_DATA/db" --checkpoint-bytes "${mib}M" --trials "$TRIALS" |
        awk -F, -v m="$mib" -v OFS=, '{ print m, "recovery", $1, "", "", "", "", "", $2, $3, $4 }' >>"$EXP_TMP"
    [ "$(grep -c "^$mib,recovery," "$EXP_TMP")" = "$TRIALS" ] || exp_die "crash-cycle rows missing ($mib MiB)"
done
exp_end
