#!/bin/bash
# test_replay.sh - broken-half (a transaction committed in two halves) is
# caught as atomicity violations, and replay repeats a trial exactly: a
# violation of that broken target (its mode, crash point, damage, window
# and verdict), and trials whose crash states came from a writer run
# shared with other trials (every column but the clock's), on the engine
# and on a broken target; --shrink finds a smaller reproducer that still
# fails.  Run by make test with
# CRASHTEST set to the binary.
set -u
CT=${CRASHTEST:-build/crashtest}
T=$(mktemp -d "${TMPDIR:-/dev/shm}/crashlab-rp-XXXXXX")
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh"

# a broken target's campaign, whose violations are replayed: broken-half
# commits each transaction in two halves, caught as atomicity violations
"$CT" --seed 12 --trials 100 --quiet --dir "$T" --target broken-half \
    --csv "$T/broken-half.csv" >"$T/broken-half.out" 2>&1
check "broken-half exits 1" 1 $?
n=$(col violation <"$T/broken-half.csv" | grep -c "^atomicity\$")
[ "$n" -ge 5 ] && ok || bad "broken-half: only $n atomicity violations"
grep -q -- "--replay" "$T/broken-half.out" && ok || bad "broken-half: no replay command printed"

# 1. replay repeats a trial: same crash point, same damage, same verdict
# (the first violation whose crash is at an I/O point of one writer
# thread: a kill after a delay, or concurrent writers, may not repeat)
id=$(python3 -c 'import csv,sys
print([r["trial"] for r in csv.DictReader(open(sys.argv[1])) if r["verdict"] == "violation" and r["mode"] != "kill-time" and r["threads"] == "1"][0])' "$T/broken-half.csv")
line=$(grep -m1 -- "--replay $id " "$T/broken-half.out" | sed 's/^ *replay: //; s/ *#.*//')
$line --csv "$T/replay.csv" --dir "$T" >"$T/replay.out" 2>&1
check "replay of a violation exits 1" 1 $?
orig=$(python3 -c 'import csv,sys
for r in csv.DictReader(open(sys.argv[1])):
    if r["trial"] == sys.argv[2]:
        print(r["mode"], r["crash_point"], r["damage"], r["issued"], r["acked"], r["recovered"], r["violation"])' "$T/broken-half.csv" "$id")
again=$(python3 -c 'import csv,sys
for r in csv.DictReader(open(sys.argv[1])):
    print(r["mode"], r["crash_point"], r["damage"], r["issued"], r["acked"], r["recovered"], r["violation"])' "$T/replay.csv")
check "replayed row equals the campaign's" "$orig" "$again"
$line --shrink --dir "$T" >"$T/shrink.out" 2>&1
grep -q "smallest reproducer" "$T/shrink.out" && ok || bad "shrink printed no reproducer"
repro=$(grep -A1 "smallest reproducer" "$T/shrink.out" | tail -1)
$repro --dir "$T" >/dev/null 2>&1
check "the shrunk reproducer still fails" 1 $?

# 2. trials that shared one writer run replay to the very same row: every
# column but the recovery time, for trials of each mode at an I/O point,
# on the engine and on a broken target (kill-time depends on timing,
# concurrent writers on their interleaving, and the I/O points of sync
# periodic and checkpoint mode background on when their threads run)
for tgt in engine broken-half; do
    "$CT" --seed 17 --trials 150 --quiet --dir "$T" --target "$tgt" \
        --csv "$T/b.csv" >/dev/null 2>&1
    ids=$(python3 -c 'import csv,sys
rows=[r for r in csv.DictReader(open(sys.argv[1]))
      if r["mode"]!="kill-time" and not r["mode"].startswith("server-")
      and r["threads"]=="1" and r["sync"]!="periodic"
      and r["checkpoint_mode"]!="background"]
print(" ".join(r["trial"] for r in rows[::16]))' "$T/b.csv")
    same=0
    total=0
    for id in $ids; do
        "$CT" --seed 17 --replay "$id" --quiet --dir "$T" --target "$tgt" \
            --csv "$T/r.csv" >/dev/null 2>&1
        total=$((total + 1))
        python3 -c 'import csv,os,sys
a=[r for r in csv.DictReader(open(sys.argv[1])) if r["trial"]==sys.argv[3]][0]
b=list(csv.DictReader(open(sys.argv[2])))[0]
for r in (a, b):
    for k in os.environ["CLOCK_COLUMNS"].split():
        r.pop(k)
sys.exit(0 if a==b else 1)' "$T/b.csv" "$T/r.csv" "$id" && same=$((same + 1))
    done
    [ "$total" -ge 6 ] && ok || bad "$tgt: only $total trials replayed"
    check "$tgt: replayed rows equal the campaign's" "$total" "$same"
done
rm -f "$T/b.csv" "$T/r.csv"

finish
