#!/bin/bash
# test_sqlite.sh - crashtest --target sqlite, SQLite crashed through the
# libc interposer linked into crashtest, judged against the promise of
# its configuration (docs/TARGETS.md): the positive controls.
#   synchronous=OFF: power cuts lose acknowledged commits (expected
#   losses), process crashes never do;
#   WAL with NORMAL: power cuts may lose commits, never atomicity, order
#   or integrity_check;
#   WAL with FULL: no violation and no expected loss in any mode;
#   recovery-crash: SQLite's hot-journal rollback crashed, then
#   recovered, keeps EXTRA's promise;
#   fsync-fail: failed fdatasyncs reach the workload, ignored directory
#   fsyncs are error-handling violations;
#   chain: recovered and crashed again up to three times, every
#   process's acknowledgements held to the promise, losses a power cut
#   may take counted as expected;
#   a replay repeats a trial's row; --shrink and --keep-failures work;
#   modes it cannot run are refused.
# Run by make test with CRASHTEST set to the binary.
set -u
CT=${CRASHTEST:-build/crashtest}
T=$(mktemp -d "${TMPDIR:-/dev/shm}/crashlab-sq-XXXXXX")
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh"

run() { campaign sqlite "$@"; } # run NAME ARGS...: lib.sh's campaign

# 1. synchronous=OFF under power cuts: acknowledged commits lost, counted
# as expected losses (and shown in the summary), never as passes
run offpl --sqlite-sync off --mode powerloss --trials 200 --seed 3 \
    --keep-failures "$T/kept"
n=$(count expected-loss "$T/offpl.csv")
[ "$n" -ge 10 ] && ok || bad "sync off, power cuts: only $n expected losses"
contains "expected losses in the summary" "$T/offpl.out" "expected losses (acknowledged"
contains "the promise in the summary" "$T/offpl.out" "promise: process)"
# the same configuration under process crashes: nothing lost, exit 0
run offkill --sqlite-sync off --mode kill-io,torn,kill-time --trials 150 --seed 3
check "sync off, process crashes: exit 0" 0 "$rc"
check "sync off, process crashes: no expected loss" 0 "$(count expected-loss "$T/offkill.csv")"
check "sync off, process crashes: no violation" 0 "$(count violation "$T/offkill.csv")"
check "sync off, process crashes: every row ok" 150 "$(count ok "$T/offkill.csv")"

# 2. WAL with NORMAL under power cuts: losses allowed, nothing else
run walnormal --sqlite-journal wal --sqlite-sync normal --mode powerloss \
    --trials 200 --seed 3 --json
check "wal normal, power cuts: exit 0" 0 "$rc"
check "wal normal, power cuts: no violation of any kind" "" "$(kinds "$T/walnormal.csv")"
n=$(count expected-loss "$T/walnormal.csv")
[ "$n" -ge 1 ] && ok || bad "wal normal, power cuts: no expected loss"
contains "--json counts expected losses" "$T/walnormal.out" "\"expected-loss\": $n"

# 3. WAL with FULL: durable on commit, in every crash mode
run walfull --sqlite-journal wal --sqlite-sync full --trials 200 --seed 4 \
    --mode kill-io,kill-time,torn,powerloss,recovery-crash
check "wal full: exit 0" 0 "$rc"
check "wal full: no violation" 0 "$(count violation "$T/walfull.csv")"
check "wal full: no expected loss" 0 "$(count expected-loss "$T/walfull.csv")"
check "wal full: the five modes ran" \
    "kill-io kill-time powerloss recovery-crash torn " \
    "$(col mode <"$T/walfull.csv" | sort -u | tr '\n' ' ')"

# trials that shared one writer run (snapshot batches, taken in the
# interposer's on_point hook) replay alone to the very same row, in each
# mode at an I/O point (kill-time depends on timing)
ids=$(python3 -c 'import csv,sys
rows=[r for r in csv.DictReader(open(sys.argv[1])) if r["mode"]!="kill-time"]
print(" ".join(r["trial"] for r in rows[::16]))' "$T/walfull.csv")
total=0
for id in $ids; do
    "$CT" --seed 4 --replay "$id" --target sqlite --sqlite-journal wal \
        --sqlite-sync full --mode kill-io,kill-time,torn,powerloss,recovery-crash \
        --dir "$T" --csv "$T/r.csv" >/dev/null 2>&1
    total=$((total + 1))
    same_row "wal full: trial $id replayed alone" "$T/walfull.csv" "$id" "$T/r.csv"
done
[ "$total" -ge 8 ] && ok || bad "wal full: only $total trials replayed"

# fsync-fail trials in a rollback-journal mode branch off the writer run
# they share with kill-io trials (target_ops.forkable: the branch goes on
# in the writer's own files, which get back what they held after it); with
# synchronous=OFF the run makes no sync to fail, and they take a snapshot
# of the shared run as a kill-io trial does.  Either way each replays
# alone to the very same row.  In WAL mode (the -shm file is mapped) they
# run alone.  The profile's snapshot column is the copies they took.
prof() { python3 -c 'import json,sys
print(json.load(open(sys.argv[1]))["profile"]["fsync-fail"]["snapshot"])' "$1"; }
for cfg in "truncate normal" "delete off"; do
    set -- $cfg
    "$CT" --target sqlite --jobs 2 --quiet --dir "$T" --csv "$T/branch.csv" \
        --sqlite-journal "$1" --sqlite-sync "$2" --mode kill-io,fsync-fail \
        --trials 64 --seed 5 --json --profile >"$T/branch.json" 2>/dev/null
    rc=$?
    check "$cfg: exit 0 or 1 (ignored directory fsyncs)" 1 \
        "$([ "$rc" -le 1 ] && echo 1 || echo "$rc")"
    [ "$(prof "$T/branch.json")" -gt 0 ] && ok ||
        bad "$cfg: fsync-fail trials did not share a writer run"
    ids=$(python3 -c 'import csv,sys
rows=[r for r in csv.DictReader(open(sys.argv[1])) if r["mode"]=="fsync-fail"]
print(" ".join(r["trial"] for r in rows[::5]))' "$T/branch.csv")
    total=0
    for id in $ids; do
        "$CT" --seed 5 --replay "$id" --target sqlite --sqlite-journal "$1" \
            --sqlite-sync "$2" --mode kill-io,fsync-fail --dir "$T" \
            --csv "$T/r.csv" >/dev/null 2>&1
        total=$((total + 1))
        same_row "$cfg: fsync-fail trial $id replayed alone" "$T/branch.csv" \
            "$id" "$T/r.csv"
    done
    [ "$total" -ge 5 ] && ok || bad "$cfg: only $total trials replayed"
done
check "delete off: no sync to fail, then killed" yes \
    "$(python3 -c 'import csv,sys
r=[r for r in csv.DictReader(open(sys.argv[1])) if r["mode"]=="fsync-fail"]
print("yes" if r and all(x["damage"].startswith("fault: none (the workload "
    "makes no such call); then killed before point") for x in r) else "no")' \
    "$T/branch.csv")"
"$CT" --target sqlite --jobs 2 --quiet --dir "$T" --sqlite-journal wal \
    --mode kill-io,fsync-fail --trials 16 --seed 5 --json --profile \
    >"$T/walbranch.json" 2>/dev/null
check "wal: fsync-fail trials run alone" 0 "$(prof "$T/walbranch.json")"

# 4. a replay of an expected-loss trial repeats its row (but the clock)
id=$(first_trial expected-loss "$T/offpl.csv")
"$CT" --seed 3 --replay "$id" --target sqlite --sqlite-sync off --mode powerloss \
    --dir "$T" --csv "$T/replay.csv" >"$T/replay.out" 2>&1
check "replay of an expected loss exits 0" 0 $?
same_row "replay of an expected loss" "$T/offpl.csv" "$id" "$T/replay.csv"

# 5. --shrink on a violation of synchronous=OFF under a power cut: an
# earlier crash point and fewer transactions that still fail the same way
id=$(python3 -c 'import csv,sys
print(next(r["trial"] for r in csv.DictReader(open(sys.argv[1])) if r["violation"] == "prefix"))' "$T/offpl.csv")
"$CT" --seed 3 --replay "$id" --shrink --target sqlite --sqlite-sync off \
    --mode powerloss --dir "$T" >"$T/shrink.out" 2>&1
check "the replay of a prefix violation exits 1" 1 $?
repro=$(grep -A1 "smallest reproducer" "$T/shrink.out" | tail -1)
cp0=$(python3 -c 'import csv,sys
print(next(r["crash_point"] for r in csv.DictReader(open(sys.argv[1])) if r["trial"] == sys.argv[2]))' "$T/offpl.csv" "$id")
cp1=$(echo "$repro" | sed -n 's/.*--crash-point \([0-9]*\).*/\1/p')
[ -n "$cp1" ] && [ "$cp1" -lt "$cp0" ] && ok || bad "shrink kept crash point $cp1 (was $cp0)"
$repro --dir "$T" --csv "$T/repro.csv" >/dev/null 2>&1
check "the shrunk reproducer exits 1" 1 $?
check "the shrunk reproducer fails the same way" prefix "$(col violation <"$T/repro.csv")"

# 6. --keep-failures keeps the power-cut image SQLite was given: one
# integrity_check of a kept recovery violation refuses it too
id=$(python3 -c 'import csv,sys
print(next(r["trial"] for r in csv.DictReader(open(sys.argv[1])) if r["violation"] == "recovery"))' "$T/offpl.csv")
contains "trial.txt names the verdict" "$T/kept/trial-$id/trial.txt" "verdict: recovery"
cp -r "$T/kept/trial-$id/crashed" "$T/k" # SQLite may roll a hot journal back
python3 -c 'import sqlite3,sys
try:
    c = sqlite3.connect(sys.argv[1])
    ok = c.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
except sqlite3.DatabaseError:
    ok = False
sys.exit(1 if ok else 0)' "$T/k/db" && ok ||
    bad "the kept image of trial $id passes integrity_check"

# 7. recovery-crash: SQLite's own recovery at open (the rollback of a hot
# journal) crashed under the interposer, with and without a power cut,
# then recovered again: EXTRA promises every commit, and keeps it
run rcrash --sqlite-sync extra --mode recovery-crash --trials 40 --seed 2
check "recovery-crash, extra: exit 0" 0 "$rc"
check "recovery-crash, extra: no violation" 0 "$(count violation "$T/rcrash.csv")"
n=$(col recovery_crashes <"$T/rcrash.csv" | grep -vc '^0$')
[ "$n" -ge 10 ] && ok || bad "recovery-crash: only $n trials crashed a recovery"
# a crash inside a rollback that wrote (a recovery of more than one point)
n=$(col damage <"$T/rcrash.csv" | grep -c 'recovery 1 killed at [0-9]*/\([2-9]\|[1-9][0-9]\)')
[ "$n" -ge 1 ] && ok || bad "recovery-crash: no crash inside a hot-journal rollback"

# 8. fsync-fail: an fsync fails with EIO and loses its file's unsynced
# writes.  A failed fdatasync reaches the commit or sync call that made
# it (SQLITE_IOERR) and nothing is lost beyond the promise; SQLite ignores
# a failed fsync of the directory after it creates its journal, and the
# commit that made it returns SQLITE_OK: error-handling, and only that
run ffail --mode fsync-fail --trials 60 --seed 1
check "fsync-fail, delete full: exit 1" 1 "$rc"
n=$(col damage <"$T/ffail.csv" | grep -c '^fault: fdatasync .*returned EIO')
[ "$n" -ge 10 ] && ok || bad "fsync-fail: only $n failed fdatasyncs reached the workload"
python3 - "$T/ffail.csv" <<'EOF2' && ok || bad "fsync-fail: a violation other than an ignored directory sync"
import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1])) if r["verdict"] == "violation"]
odd = [r["trial"] for r in rows if r["violation"] != "error-handling"
       or not r["damage"].startswith("fault: dirsync")
       or "no error reached the workload" not in r["damage"]]
print("odd trials:", odd, file=sys.stderr) if odd else None
sys.exit(1 if odd or not rows else 0)
EOF2

# in WAL mode the ignored directory fsync is the one after the WAL is
# created: a power cut then loses the file, and with it the commits FULL
# promised (docs/FINDINGS.md); --fail-at pins the failing sync
"$CT" --seed 1 --replay 18 --target sqlite --sqlite-journal wal \
    --mode fsync-fail --txns 1 --max-ops 1 --crash-point 54 --fail-at 25 \
    --dir "$T" --csv "$T/walff.csv" >"$T/walff.out" 2>&1
check "wal full, ignored directory fsync: exit 1" 1 $?
check "wal full, ignored directory fsync: durability" durability \
    "$(col violation <"$T/walff.csv")"
"$CT" --seed 1 --replay 18 --target sqlite --mode fsync-fail --fail-at 1 \
    --dir "$T" >/dev/null 2>&1
check "--fail-at at a point that is no sync exits 2" 2 $?

# 9. chain: the crashed database recovered by a process that goes on with
# the workload under the interposer and is crashed in turn (up to three
# times, power cut or not), the whole chain's acknowledgements held to
# DELETE+FULL's promise (process+sync): none broken, and a power cut that
# undoes the last commit (its journal's unlink not yet synced) counted as
# an expected loss, also where a link's own recovery lost it; a replay of
# that trial repeats its row
chain_campaign sqlite chain 1 --trials 32 --txns 40
check "chain, delete full: exit 0" 0 "$rc"
id=$(link_loss "$T/chain.csv")
"$CT" --seed 1 --replay "$id" --target sqlite --mode chain \
    --persist drop-unsynced-data --txns 40 --dir "$T" \
    --csv "$T/creplay.csv" >"$T/creplay.out" 2>&1
check "chain: replay of an expected loss exits 0" 0 $?
same_row "chain: replay of an expected loss" "$T/chain.csv" "$id" "$T/creplay.csv"

# 10. what it cannot run yet is refused, not skipped
for m in eio; do
    "$CT" --target sqlite --mode "$m" --trials 5 --dir "$T" >"$T/refuse.out" 2>&1
    check "mode $m refused with exit 2" 2 $?
    contains "mode $m: the refusal names it" "$T/refuse.out" "cannot run mode $m"
done
"$CT" --target sqlite --threads 2 --trials 5 --dir "$T" >"$T/refuse.out" 2>&1
check "--threads 2 refused with exit 2" 2 $?
"$CT" --target sqlite --sqlite-sync sometimes --trials 5 >"$T/refuse.out" 2>&1
check "a bad --sqlite-sync exits 2" 2 $?
# a call the interposer cannot model is a set-up error, not a violation:
# WAL's -shm index mapped shared, once --nondurable no longer declares it
"$CT" --target sqlite --sqlite-journal wal --nondurable .none --trials 5 \
    --dir "$T" >"$T/refuse.out" 2>&1
check "an interposer refusal exits 2" 2 $?
contains "the refusal names the call and the file" "$T/refuse.out" \
    "crashtest: the interposer refused mmap of .*db-shm"

finish
