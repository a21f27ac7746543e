#!/bin/bash
# recovery_vs_log_size.sh - experiment 1: how long recovery takes as a
# function of the log it must replay.  For each torn-page protection mode
# and each size, a writer process (kvbench experiment load) puts 100000 keys,
# checkpoints, then overwrites random keys with single-put commits until
# the log since the checkpoint reaches the size, and is SIGKILLed; the
# crashed directory is then copied and recovered REPS times (open with
# recovery, on the real disk, page cache warm).
# Writes results/recovery_vs_log_size.csv: one row per recovery.
. "$(dirname "$0")/lib.sh"
KVBENCH=$BUILD/kvbench
DRV="$KVBENCH experiment"
exp_need "$KVBENCH"
if [ "$QUICK" = 1 ]; then
    SIZES="1 4 16"
    REPS=3
else
    SIZES="1 4 16 64 256"
    REPS=10
fi
exp_begin recovery_vs_log_size "$BUILD/exp-data/recovery_vs_log_size"
exp_header "QUICK=$QUICK experiments/recovery_vs_log_size.sh ($DRV load DIR --torn-protection MODE --wal-bytes SIZE --batch 1; then $REPS x $DRV recover COPY for SIZE in $SIZES MiB)"
exp_note "keys 100000, values 100 bytes, one put per commit; recovery time = cl_open of the crashed database (warm page cache)"
echo "torn_protection,wal_mib,rep,wal_bytes,records_written,recovery_us,records_replayed,bytes_replayed,pages_repaired,replay_mb_per_s" >>"$EXP_TMP"
for mode in none fpw dwb; do
    for mib in $SIZES; do
        exp_step "torn-page protection $mode, $mib MiB of log: writing"
        rm -rf "$EXP_DATA/crashed"
        load=$(exp_run "$KVBENCH" experiment load "$EXP_DATA/crashed" --torn-protection "$mode" \
            --wal-bytes "${mib}M" --batch 1)
        [ -n "$load" ] || exp_die "the writer printed nothing ($mode, $mib MiB)"
        for rep in $(seq 1 "$REPS"); do
            rm -rf "$EXP_DATA/copy"
            cp -a "$EXP_DATA/crashed" "$EXP_DATA/copy"
            rec=$(exp_run "$KVBENCH" experiment recover "$EXP_DATA/copy" --torn-protection "$mode")
            echo "$mode,$mib,$rep,$load,$rec" | awk -F, -v OFS=, \
                '{ print $0, sprintf("%.1f", $8 / ($6 > 0 ? $6 : 1)) }' >>"$EXP_TMP"
        done
        exp_step "  recovery p50 $(awk -F, -v m="$mode" -v s="$mib" '$1 == m && $2 == s { print $6 }' "$EXP_TMP" >"$EXP_SCRATCH/t"; exp_pct 50 "$EXP_SCRATCH/t") us"
    done
done
exp_end
