#!/bin/bash
# crashpoint_sweep.sh - experiment 5: one workload crashed at every I/O
# point k (crashtest --exhaustive: a kill before each point, a torn write at
# each pwrite, a power cut at each point), with the recovery time and the
# log records replayed at each k; superblock writes (the end of each
# checkpoint) are marked from the torn-write rows, which name the file and
# offset written at k.
. "$(dirname "$0")/lib.sh"
CT=$BUILD/crashtest
exp_need "$CT"
if [ "$QUICK" = 1 ]; then TXNS=48; else TXNS=400; fi
exp_begin crashpoint_sweep /dev/shm/crashlab-exp-crashpoint_sweep
exp_header "QUICK=$QUICK experiments/crashpoint_sweep.sh ($CT --seed 1 --exhaustive --workload checkpoint --txns $TXNS --dir $EXP_DATA --jobs 1)"
exp_note "--jobs 1 so that recovery times are not shared with a parallel trial; write is what the I/O call at k wrote (file:offset) when it is a pwrite"
echo "crash_point,points,mode,verdict,recovery_us,records_replayed,bytes_replayed,pages_repaired,write" >>"$EXP_TMP"
exp_step "workload checkpoint, $TXNS transactions: every I/O point"
exp_run "$CT" --seed 1 --exhaustive --workload checkpoint --txns "$TXNS" \
    --dir "$EXP_DATA" --jobs 1 --quiet --csv "$EXP_SCRATCH/c.csv" >"$EXP_SCRATCH/summary"
python3 - "$EXP_SCRATCH/c.csv" >>"$EXP_TMP" <<'PY'
import csv, re, sys
rows = list(csv.DictReader(open(sys.argv[1])))
write = {}
for r in rows:
    m = re.match(r"torn pwrite at point (\d+)/\d+: (\S+) offset (\d+)", r["damage"])
    if m:
        write[int(m.group(1))] = "%s:%s" % (m.group(2), m.group(3))
for r in sorted(rows, key=lambda r: (int(r["crash_point"]), r["mode"])):
    k = int(r["crash_point"])
    print("%d,%s,%s,%s,%s,%s,%s,%s,%s" % (k, r["points"], r["mode"], r["verdict"],
          r["recovery_us"], r["records_replayed"], r["bytes_replayed"],
          r["pages_repaired"], write.get(k, "")))
PY
exp_step "  $(grep 'crash states verified' "$EXP_SCRATCH/summary")"
exp_end
