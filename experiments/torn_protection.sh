#!/bin/bash
# torn_protection.sh - experiment 4: torn writes against torn-page
# protection.  For each protection mode (none, fpw, dwb) and atomic sector
# size (512, 4096), a crash campaign of torn writes and power cuts
# (crashtest --mode torn,powerloss, a small buffer pool and frequent
# checkpoints so that page writes happen and can be torn); each trial's
# recovery is classified: clean, repaired (pages rebuilt from log images or
# the doublewrite area), refused (the damage was detected and open failed
# with a corruption error), or silently wrong (the oracle found a
# violation).  Every campaign runs its whole budget, so the silently wrong
# column counts every such trial; the CSV and the figure are written
# either way, and then the experiment fails (exit 1), with crashtest's
# replay command of each first violation, if any count is not zero.
. "$(dirname "$0")/lib.sh"
CT=$BUILD/crashtest
exp_need "$CT"
if [ "$QUICK" = 1 ]; then TRIALS=200; else TRIALS=3000; fi
OPTS="--mode torn,powerloss --checkpoint-bytes 16384 --pool-bytes 262144"
exp_begin torn_protection /dev/shm/crashlab-exp-torn_protection
exp_header "QUICK=$QUICK experiments/torn_protection.sh ($CT --seed 1 --trials $TRIALS $OPTS --torn-protection MODE --sector S --dir $EXP_DATA)"
exp_note "every workload, power cuts under a random persistence model per trial; counts are trials"
echo "torn_protection,sector,trials,clean,repaired,refused,silently_wrong" >>"$EXP_TMP"
for mode in none fpw dwb; do
    for sector in 512 4096; do
        exp_step "torn-page protection $mode, $sector-byte sectors: $TRIALS trials"
        # Exit 1 (violations) is a result here, counted below; only a
        # set-up error (2) stops the experiment.
        # shellcheck disable=SC2086
        "$CT" --seed 1 --trials "$TRIALS" $OPTS --torn-protection "$mode" \
            --sector "$sector" --dir "$EXP_DATA" --quiet \
            --csv "$EXP_SCRATCH/c.csv" >/dev/null 2>"$EXP_SCRATCH/stderr"
        rc=$?
        if [ $rc -ge 2 ] || [ ! -s "$EXP_SCRATCH/c.csv" ]; then
            cat "$EXP_SCRATCH/stderr" >&2
            exp_die "crashtest failed (exit $rc) with $mode/$sector"
        fi
        # (no replay line: no violation, which is not an error here)
        { grep -m1 '^  replay: ' "$EXP_SCRATCH/stderr" || true; } |
            sed "s/^  replay: /$mode\/$sector: /" >>"$EXP_SCRATCH/replays"
        python3 - "$EXP_SCRATCH/c.csv" "$mode" "$sector" >>"$EXP_TMP" <<'PY'
import csv, sys
n = {"clean": 0, "repaired": 0, "refused": 0, "silently_wrong": 0}
for r in csv.DictReader(open(sys.argv[1])):
    v = r["verdict"]
    if v == "ok":
        n["repaired" if int(r["pages_repaired"]) > 0 else "clean"] += 1
    elif v == "detected":
        n["refused"] += 1
    else:
        n["silently_wrong"] += 1
print("%s,%s,%d,%d,%d,%d,%d" % (sys.argv[2], sys.argv[3], sum(n.values()),
      n["clean"], n["repaired"], n["refused"], n["silently_wrong"]))
PY
        exp_step "  $(tail -1 "$EXP_TMP")"
    done
done
wrong=$(grep -v '^#' "$EXP_TMP" | awk -F, 'NR > 1 { s += $7 } END { print s + 0 }')
exp_end
if [ "$wrong" != 0 ]; then
    echo "experiment torn_protection: $wrong silently wrong recoveries (an engine bug); first of each campaign:" >&2
    cat "$EXP_SCRATCH/replays" >&2 2>/dev/null
    exit 1
fi
