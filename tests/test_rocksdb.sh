#!/bin/bash
# test_rocksdb.sh - crashtest --target rocksdb, RocksDB crashed through the
# libc interposer linked into crashtest, judged against the promise of its
# write options (docs/TARGETS.md): the positive controls.
#   sync=true: no loss and no violation under process crashes, nor under
#   power cuts that keep directory entries (drop-unsynced-data);
#   sync=false: power cuts lose acknowledged writes (expected losses),
#   process crashes never do;
#   recovery-crash (the recovery at open crashed, then recovered again)
#   and fsync-fail (a failed sync's EIO reaches the workload, writes are
#   refused after it) keep sync=true's promise;
#   chain (recovered and crashed again up to three times): sync=false's
#   power cut losses are counted as expected, nothing else is lost;
#   a replay repeats a trial's row (the I/O points of the deterministic
#   profile are numbered the same in every run); a bad option is refused;
#   after a failed open, RepairDB's result is judged and reported apart
#   (the repair columns), the verdict unchanged; the background profile
#   (flushes and compactions in RocksDB's threads) keeps sync=true's
#   promise through process kills and runs no fsync-fail.
# Run by make test with CRASHTEST set to the binary.
set -u
CT=${CRASHTEST:-build/crashtest}
T=$(mktemp -d "${TMPDIR:-/dev/shm}/crashlab-rdb-XXXXXX")
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh"

# run NAME ARGS...: lib.sh's campaign, every variant at its workload's
# default size (--no-swarm)
run() { campaign rocksdb "$@" --no-swarm; }

# 1. sync=true: durable at acknowledgement
run tkill --mode kill-io,kill-time --trials 40 --seed 3
check "sync=true, process crashes: exit 0" 0 "$rc"
check "sync=true, process crashes: every row ok" 40 "$(count ok "$T/tkill.csv")"
run tpl --mode powerloss --persist drop-unsynced-data --trials 40 --seed 2
check "sync=true, power cuts: exit 0" 0 "$rc"
check "sync=true, power cuts: every row ok" 40 "$(count ok "$T/tpl.csv")"
contains "the promise in the summary" "$T/tpl.out" "sync=true (promise: ack)"

# 2. sync=false: expected losses under power cuts, none under process
# crashes
run fpl --rocksdb-sync false --mode powerloss --persist drop-unsynced-data \
    --trials 40 --seed 2
check "sync=false, power cuts: exit 0" 0 "$rc"
check "sync=false, power cuts: no violation" "" "$(kinds "$T/fpl.csv")"
n=$(count expected-loss "$T/fpl.csv")
[ "$n" -ge 10 ] && ok || bad "sync=false, power cuts: only $n expected losses"
contains "sync=false's promise" "$T/fpl.out" "sync=false (promise: process)"
run fkill --rocksdb-sync false --mode kill-io --trials 30 --seed 2
check "sync=false, process crashes: exit 0" 0 "$rc"
check "sync=false, process crashes: every row ok" 30 "$(count ok "$T/fkill.csv")"

# 3. a replay of an expected-loss trial repeats its row (but the clock)
id=$(first_trial expected-loss "$T/fpl.csv")
"$CT" --seed 2 --replay "$id" --target rocksdb --rocksdb-sync false \
    --mode powerloss --persist drop-unsynced-data --no-swarm --dir "$T" \
    --csv "$T/replay.csv" >"$T/replay.out" 2>&1
check "replay of an expected loss exits 0" 0 $?
same_row "replay of an expected loss" "$T/fpl.csv" "$id" "$T/replay.csv"

# 4. recovery-crash: RocksDB's recovery at open (the WAL replayed into a
# new table, a new manifest, the OPTIONS file) crashed under the
# interposer, with and without a power cut, then recovered again:
# sync=true keeps every write through it
run rc --mode recovery-crash --persist drop-unsynced-data --trials 40 --seed 1
check "recovery-crash, sync=true: exit 0 or 1" 1 "$((rc <= 1))"
rcrash_controls "recovery-crash, sync=true" "$T/rc.csv"
n=$(col damage <"$T/rc.csv" | grep -c 'recovery 1 killed at [0-9]*/[1-9][0-9]')
[ "$n" -ge 10 ] && ok || bad "recovery-crash: only $n crashes in a recovery of 10 points or more"

# 5. fsync-fail: a failed sync's EIO reaches the write, flush or open
# that made it, RocksDB refuses every write after it (a failed sync of
# its OPTIONS file fails the open: fail_if_options_file_error), and
# nothing sync=true acknowledged is lost
fsync_fail_refused rocksdb 40 20 --no-swarm

# 6. chain: the crashed database recovered by a process that goes on
# with the workload under the interposer and is crashed in turn (up to
# three times, power cut or not): sync=false keeps every process's
# writes against the kills, and its power cuts' losses are counted as
# expected, not passed, also in a link's own recovery (small workloads:
# each link opens RocksDB again)
chain_campaign rocksdb chain 2 --rocksdb-sync false --trials 8 --txns 20 \
    --no-swarm
check "chain, sync=false: exit 0" 0 "$rc"

# 7. an open that fails says why in RocksDB's own words: trial 183 of this
# campaign (strict POSIX: a recovery's table file, never made durable in
# the directory, is named by a manifest that is)
"$CT" --seed 1 --replay 183 --target rocksdb --rocksdb-sync false \
    --mode recovery-crash --dir "$T" --csv "$T/why.csv" >"$T/why.out" 2>&1
check "trial 183, recovery-crash: exit 1" 1 $?
check "trial 183: a recovery violation" recovery "$(col violation <"$T/why.csv")"
contains "the failed open carries RocksDB's status text" "$T/why.csv" \
    "open failed: database corruption detected: Corruption: "
# and its second stage, reported apart with the verdict unchanged:
# RepairDB on a copy of the state salvages the state after 0
# transactions, which keeps every promised one (a power cut of the
# crashed recovery: sync=false promises none of the 15 acknowledged)
second_stage "trial 183" "$T/why.csv" ok 0
check "trial 183: promised 0" 0 "$(col durable <"$T/why.csv")"
contains "trial 183: the replay prints the second stage" "$T/why.out" \
    "second stage: repair ok"

# 7b. a torn manifest append (trial 470, 512-byte sectors): RocksDB
# refuses to open, a recovery violation as before; RepairDB keeps all
# 176 acknowledged writes
"$CT" --seed 1 --replay 470 --target rocksdb \
    --mode kill-io,kill-time,torn,powerloss --dir "$T" \
    --csv "$T/rep470.csv" >"$T/rep470.out" 2>&1
check "trial 470: exit 1" 1 $?
second_stage "trial 470" "$T/rep470.csv" ok 176

# 8. a bad option is refused
"$CT" --target rocksdb --rocksdb-sync sometimes --trials 5 >"$T/refuse.out" 2>&1
check "a bad --rocksdb-sync exits 2" 2 $?
contains "the message lists the choices" "$T/refuse.out" "true, false or mixed"
"$CT" --target rocksdb --rocksdb-sync '' --trials 5 >"$T/refuse2.out" 2>&1
check "an empty --rocksdb-sync exits 2" 2 $?

# 9. the background profile: RocksDB flushes its 64 KiB memtables and
# compacts in its own threads while the writer commits.  sync=true keeps
# every acknowledged write through process kills; the background work is
# there (the large-values workload makes more I/O points than in the
# deterministic profile, whose only flush is the checkpoint's); a replay
# says it repeats the parameters, not which call is the crash point;
# fsync-fail runs (the failing sync counted among the syncs, since the
# flushes move the point numbers), RocksDB refuses writes after it and
# the power cut loses nothing acknowledged; a bad profile is refused.
wl="--workload large-values --variants 1"
run bgkill --rocksdb-profile background --mode kill-io --trials 30 --seed 4 $wl
check "background profile, process kills: exit 0" 0 "$rc"
check "background profile, process kills: every row ok" 30 \
    "$(count ok "$T/bgkill.csv")"
contains "the profile in the summary" "$T/bgkill.out" \
    "sync=true, background profile (promise: ack)"
run detkill --mode kill-io --trials 1 --seed 4 $wl
pbg=$(col points <"$T/bgkill.csv" | head -1)
pdet=$(col points <"$T/detkill.csv" | head -1)
check "background flushes add I/O points ($pbg > $pdet)" 1 \
    "$([ "${pbg:-0}" -gt "${pdet:-0}" ] && echo 1 || echo 0)"
# shellcheck disable=SC2086
"$CT" --seed 4 --replay 0 --target rocksdb --rocksdb-profile background \
    --mode kill-io --no-swarm $wl --dir "$T" >"$T/bgrep.out" 2>&1
check "background profile, a replay: exit 0" 0 $?
contains "the replay says what it repeats" "$T/bgrep.out" \
    "the target's own threads work beside the writer: this replay repeats"
run bgff --rocksdb-profile background --mode fsync-fail --trials 12 --seed 1 $wl
check "background profile, failed syncs: exit 0" 0 "$rc"
check "background profile, failed syncs: every row ok" 12 \
    "$(count ok "$T/bgff.csv")"
n=$(col damage <"$T/bgff.csv" | grep -v "not reached" |
    grep -c "^fault: sync call [0-9]* of the run (point [1-9][0-9]*) failed")
[ "$n" -ge 8 ] && ok || bad "background profile: only $n of 12 syncs failed"
"$CT" --target rocksdb --rocksdb-profile sideways --trials 5 \
    >"$T/bgbad.out" 2>&1
check "a bad --rocksdb-profile exits 2" 2 $?
contains "the message lists the choices" "$T/bgbad.out" \
    "deterministic or background"

finish
