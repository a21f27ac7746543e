#!/bin/bash
# test_leveldb.sh - crashtest --target leveldb, LevelDB crashed through the
# libc interposer linked into crashtest, judged against the promise of its
# write options (docs/TARGETS.md): the positive controls.
#   sync=true: no loss and no violation under process crashes, nor under
#   power cuts that keep directory entries (drop-unsynced-data);
#   sync=false: power cuts lose acknowledged writes (expected losses),
#   process crashes never do;
#   mixed: power cuts lose only writes after the last sync=true one;
#   recovery-crash (the recovery at open crashed, then recovered again)
#   and fsync-fail (a failed sync's EIO reaches the workload, writes are
#   refused after it) keep sync=true's promise;
#   chain (recovered and crashed again up to three times): sync=true
#   keeps every process's writes, sync=false's losses are counted as
#   expected;
#   a replay repeats a trial's row; a bad option is refused;
#   after a failed open, RepairDB's result is judged and reported apart
#   (the repair columns), the verdict unchanged.
# Run by make test with CRASHTEST set to the binary.
set -u
CT=${CRASHTEST:-build/crashtest}
T=$(mktemp -d "${TMPDIR:-/dev/shm}/crashlab-ld-XXXXXX")
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh"

run() { campaign leveldb "$@"; } # run NAME ARGS...: lib.sh's campaign

# 1. sync=true: durable at acknowledgement
run tkill --mode kill-io,kill-time --trials 60 --seed 3
check "sync=true, process crashes: exit 0" 0 "$rc"
check "sync=true, process crashes: every row ok" 60 "$(count ok "$T/tkill.csv")"
run tpl --mode powerloss --persist drop-unsynced-data --trials 80 --seed 2
check "sync=true, power cuts: exit 0" 0 "$rc"
check "sync=true, power cuts: every row ok" 80 "$(count ok "$T/tpl.csv")"
contains "the promise in the summary" "$T/tpl.out" "sync=true (promise: ack)"

# 2. sync=false: expected losses under power cuts, none under process
# crashes
run fpl --leveldb-sync false --mode powerloss --persist drop-unsynced-data \
    --trials 80 --seed 2
check "sync=false, power cuts: exit 0" 0 "$rc"
check "sync=false, power cuts: no violation" "" "$(kinds "$T/fpl.csv")"
n=$(count expected-loss "$T/fpl.csv")
[ "$n" -ge 20 ] && ok || bad "sync=false, power cuts: only $n expected losses"
run fkill --leveldb-sync false --mode kill-io --trials 40 --seed 2
check "sync=false, process crashes: exit 0" 0 "$rc"
check "sync=false, process crashes: every row ok" 40 "$(count ok "$T/fkill.csv")"

# 3. mixed: what a sync=true write acknowledged stays, with all before it
run mpl --leveldb-sync mixed --mode powerloss --persist drop-unsynced-data \
    --trials 80 --seed 2
check "mixed, power cuts: exit 0" 0 "$rc"
check "mixed, power cuts: no violation" "" "$(kinds "$T/mpl.csv")"
n=$(count expected-loss "$T/mpl.csv")
[ "$n" -ge 10 ] && ok || bad "mixed, power cuts: only $n expected losses"
contains "mixed's promise" "$T/mpl.out" "(promise: process+sync)"

# 4. a replay of an expected-loss trial repeats its row (but the clock)
id=$(first_trial expected-loss "$T/fpl.csv")
"$CT" --seed 2 --replay "$id" --target leveldb --leveldb-sync false \
    --mode powerloss --persist drop-unsynced-data --dir "$T" \
    --csv "$T/replay.csv" >"$T/replay.out" 2>&1
check "replay of an expected loss exits 0" 0 $?
same_row "replay of an expected loss" "$T/fpl.csv" "$id" "$T/replay.csv"

# 5. recovery-crash: LevelDB's recovery at open (the log replayed into a
# new table, a new manifest and CURRENT) crashed under the interposer,
# with and without a power cut, then recovered again: sync=true keeps
# every write through it.  The only violations are torn first crashes
# (the torn log tail paranoid_checks refuses, docs/TARGETS.md), decided
# before any recovery was crashed.
run rc --mode recovery-crash --persist drop-unsynced-data --trials 100 --seed 1
check "recovery-crash, sync=true: exit 0 or 1" 1 "$((rc <= 1))"
rcrash_controls "recovery-crash, sync=true" "$T/rc.csv"
n=$(col damage <"$T/rc.csv" | grep -c 'recovery 1 killed at [0-9]*/[1-9][0-9]')
[ "$n" -ge 10 ] && ok || bad "recovery-crash: only $n crashes in a recovery of 10 points or more"

# 5b. a crashed recovery's point is the same call in a batch's snapshot
# and in the killed writer's own files: LevelDB deletes obsolete files in
# the order it lists them, so a crash state is listed in one order
# whichever way it was made (fs_copy_tree).  Trial 12 of this campaign
# kills the second recovery among those deletes; its replay once printed
# another verdict than the row.
run mrc --leveldb-sync mixed --mode recovery-crash --trials 13 --seed 1
"$CT" --seed 1 --replay 12 --target leveldb --leveldb-sync mixed \
    --mode recovery-crash --dir "$T" --csv "$T/mrc12.csv" >"$T/mrc12.out" 2>&1
same_row "replay of a crashed LevelDB recovery" "$T/mrc.csv" 12 "$T/mrc12.csv"

# 5c. sync=false promises nothing against a power cut: a crashed
# recovery's power cut that drops what the killed writer left unsynced
# (which the recovery went on with) is a power cut after the writer's
# commits, so what it loses is an expected loss, never a durability
# violation
run frc --leveldb-sync false --mode recovery-crash --persist drop-unsynced-data \
    --trials 60 --seed 1
check "recovery-crash, sync=false: no durability violation" 0 \
    "$(col violation <"$T/frc.csv" | grep -c durability)"
n=$(python3 -c 'import csv,sys
print(sum(1 for r in csv.DictReader(open(sys.argv[1]))
          if r["verdict"] == "expected-loss"
          and "(of what the killed ones left too)" in r["damage"]))' "$T/frc.csv")
[ "$n" -ge 3 ] && ok || bad "recovery-crash, sync=false: only $n expected losses from a recovery's power cut over the writer's writes"

# 6. fsync-fail: a failed sync's EIO reaches the write (or the open) that
# made it, LevelDB refuses every write after it, and nothing sync=true
# acknowledged is lost
fsync_fail_refused leveldb 60 30

# 7. chain: the crashed database recovered by a process that goes on
# with the workload under the interposer and is crashed in turn (up to
# three times, power cut or not), every process's writes held to the
# promise: sync=true loses none (the only violations are torn first
# crashes, decided before any link); sync=false's power cuts lose
# writes, counted as expected losses, not passes, also in a link's own
# recovery, and a replay of such a trial repeats its row
chain_campaign leveldb ctrue 0 --trials 8
chain_campaign leveldb cfalse 2 --leveldb-sync false --trials 12
id=$(link_loss "$T/cfalse.csv")
"$CT" --seed 1 --replay "$id" --target leveldb --leveldb-sync false \
    --mode chain --persist drop-unsynced-data --dir "$T" \
    --csv "$T/creplay.csv" >"$T/creplay.out" 2>&1
check "chain: replay of an expected loss exits 0" 0 $?
same_row "chain: replay of an expected loss" "$T/cfalse.csv" "$id" "$T/creplay.csv"

# 8. the second stage after a failed open: RepairDB on a copy of the
# state, judged by the oracle, reported in the repair columns; the
# verdict stays recovery and the exit status 1.  Trial 3 (a power cut
# under the per-file-prefix model keeps CURRENT's rename but not the
# creation of the manifest it names, the directory finding) repairs to
# the 37 acknowledged writes and the unacknowledged 38th; trial 2 of torn
# (the log append torn, zeros after it) repairs to the 5 acknowledged and
# a part of the unacknowledged sixth: no prefix explains it.  The kept
# state is the one the open refused, not the repaired copy (RepairDB
# moves the old manifests into lost/).
"$CT" --seed 1 --replay 3 --target leveldb --mode powerloss --dir "$T" \
    --keep-failures "$T/keep" --csv "$T/rep3.csv" >"$T/rep3.out" 2>&1
check "trial 3, power cut: exit 1" 1 $?
second_stage "trial 3" "$T/rep3.csv" ok 38
check "trial 3: promised 37" 37 "$(col durable <"$T/rep3.csv")"
contains "trial 3: the replay prints the second stage" "$T/rep3.out" \
    "second stage: repair ok"
[ -d "$T/keep/trial-3/recovered" ] && [ ! -e "$T/keep/trial-3/recovered/lost" ] &&
    ok || bad "trial 3: the kept state is not the one the open refused"
"$CT" --seed 1 --replay 2 --target leveldb --mode torn --dir "$T" \
    --csv "$T/rep2.csv" >"$T/rep2.out" 2>&1
check "trial 2, torn: exit 1" 1 $?
second_stage "trial 2" "$T/rep2.csv" no-prefix 0

# the campaign's summaries count the second stages the CSV rows hold
"$CT" --seed 1 --target leveldb --mode powerloss --trials 12 --dir "$T" \
    --json --csv "$T/stages.csv" >"$T/stages.json" 2>"$T/stages.err"
check "12 power cuts: exit 1 (refused opens are recovery violations)" 1 $?
python3 - "$T/stages.json" "$T/stages.csv" >"$T/stages.cmp" 2>&1 <<'PY'
import collections, csv, json, sys
got = json.load(open(sys.argv[1]))["second_stage"]
rows = collections.Counter(r["repair"] for r in csv.DictReader(open(sys.argv[2])))
want = {k: rows.get(k, 0) for k in ("ok", "lost", "no-prefix", "failed")}
print("json", got, "csv", want)
sys.exit(0 if got == want and sum(want.values()) > 0 else 1)
PY
check "the JSON summary's second_stage counts the CSV's repair column: $(cat "$T/stages.cmp")" 0 $?
"$CT" --seed 1 --target leveldb --mode powerloss --trials 12 --dir "$T" \
    --csv "$T/stages2.csv" >"$T/stages.out" 2>&1
want=$(col repair <"$T/stages2.csv" | awk '{n[$1]++} END {
    printf "ok %d, lost %d, no-prefix %d, failed %d", n["ok"], n["lost"],
        n["no-prefix"], n["failed"] }')
contains "the text summary counts the second stages" "$T/stages.out" \
    "second stage after a refused open .*: $want\$"

# 9. a bad option is refused
"$CT" --target leveldb --leveldb-sync sometimes --trials 5 >"$T/refuse.out" 2>&1
check "a bad --leveldb-sync exits 2" 2 $?
contains "the message lists the choices" "$T/refuse.out" "true, false or mixed"

finish
