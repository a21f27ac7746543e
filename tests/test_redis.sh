#!/bin/bash
# test_redis.sh - crashtest --target redis, redis-server crashed under the
# preload object with an append-only file, judged against the promise of
# its appendfsync (docs/TARGETS.md): the positive controls.
#   always: no loss and no violation under process crashes, nor under
#   power cuts that keep directory entries (drop-unsynced-data), with one
#   client and with concurrent clients sending MULTI/EXEC;
#   everysec: power cuts lose acknowledged writes (expected losses, never
#   a violation), process crashes lose none that were written;
#   recovery-crash: Redis's recovery killed at its own points, with and
#   without power cuts, loses nothing acknowledged under always;
#   fsync-fail: under always a failed AOF sync ends the server (its own
#   answer to the fault, not a set-up error) and nothing acknowledged is
#   lost; under everysec the failed background sync makes the server
#   refuse writes, which stops the clients with nothing acknowledged lost
#   against a process crash;
#   a replay repeats a trial's row; the findings of docs/TARGETS.md
#   replay as they were found; bad options are refused (exit 2); --json
#   prints the summary with the CSV's counts, the promise and replay
#   commands, and --merge refuses it.
# Run by make test with CRASHTEST set to the binary.
set -u
CT=${CRASHTEST:-build/crashtest}
T=$(mktemp -d "${TMPDIR:-/dev/shm}/crashlab-rd-XXXXXX")
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh"

if ! command -v redis-server >/dev/null || ! command -v redis-check-aof >/dev/null; then
    echo "test_redis.sh: redis-server and redis-check-aof are needed (make deps)" >&2
    exit 1
fi

run() { # run NAME ARGS...: a campaign into $T/NAME.csv and .out; sets rc
    local name=$1
    shift
    "$CT" --target redis --quiet --dir "$T" --csv "$T/$name.csv" "$@" \
        >"$T/$name.out" 2>&1
    rc=$?
}

# 1. always: durable on acknowledgement
run akill --clients 1 --sets 15 --mode kill-io --trials 20 --seed 3
check "always, process crashes: exit 0" 0 "$rc"
check "always, process crashes: every row ok" 20 "$(count ok "$T/akill.csv")"
run apl --clients 1 --sets 15 --mode powerloss --persist drop-unsynced-data \
    --trials 20 --seed 2
check "always, power cuts: exit 0" 0 "$rc"
check "always, power cuts: every row ok" 20 "$(count ok "$T/apl.csv")"
n=$(col acked <"$T/apl.csv" | awk '$1 > 0' | wc -l)
[ "$n" -ge 12 ] && ok || bad "always, power cuts: only $n trials acknowledged anything"

# 2. everysec: a power cut may lose the last second, a process crash nothing
run epl --redis-fsync everysec --clients 1 --sets 15 --mode powerloss \
    --persist drop-unsynced-data --trials 20 --seed 2
check "everysec, power cuts: exit 0" 0 "$rc"
check "everysec, power cuts: no violation" 20 \
    "$(($(count ok "$T/epl.csv") + $(count expected-loss "$T/epl.csv")))"
n=$(count expected-loss "$T/epl.csv")
[ "$n" -ge 8 ] && ok || bad "everysec, power cuts: only $n expected losses"
# A process crash loses nothing that was written; but while its
# background fsync is still running Redis postpones the write and still
# replies, so on a loaded machine a kill can lose acknowledged writes
# (docs/FINDINGS.md, 8): durability is the only violation allowed here
run ekill --redis-fsync everysec --clients 1 --sets 15 --mode kill-io \
    --trials 12 --seed 2
check "everysec, process crashes: every row ok or durability" 12 \
    "$(($(count ok "$T/ekill.csv") + $(count durability "$T/ekill.csv")))"

# 3. concurrent clients, MULTI/EXEC among their transactions
run conc --clients 3 --sets 15 --mode kill-io,powerloss \
    --persist drop-unsynced-data --trials 20 --seed 4
check "always, 3 clients: exit 0" 0 "$rc"
check "always, 3 clients: every row ok" 20 "$(count ok "$T/conc.csv")"
n=$(col declared <"$T/conc.csv" | awk '$1 > 15' | wc -l)
[ "$n" -ge 4 ] && ok || bad "3 clients: only $n trials got past one client's share"

# 3b. recovery-crash: the restart's own I/O points (Redis makes its AOF
# directory and cuts a torn tail at start) are crashed, a power cut or
# not after each crash; always keeps what it acknowledged
run arc --clients 1 --sets 15 --mode recovery-crash \
    --persist drop-unsynced-data --trials 16 --seed 1
check "always, recovery crashes: exit 0" 0 "$rc"
check "always, recovery crashes: every row ok" 16 "$(count ok "$T/arc.csv")"
n=$(col recovery_point <"$T/arc.csv" | awk '$1 > 0' | wc -l)
[ "$n" -ge 12 ] && ok || bad "recovery crashes: only $n recoveries were killed"
# a power cut that left half a command: the recovery cuts the torn tail
# (point 1, a truncate(2) by path) before it makes its directory (point
# 2), and is killed after the cut (one client, always: a replay repeats)
run arct --clients 1 --sets 30 --mode recovery-crash --trials 60 --seed 1 \
    --replay 56
check "recovery crash after Redis's cut: exit 0" 0 "$rc"
check "recovery crash after Redis's cut: killed at its second point" 2 \
    "$(col recovery_point <"$T/arct.csv")"
check "recovery crash after Redis's cut: ok" 1 "$(count ok "$T/arct.csv")"

# 3c. fsync-fail: the drawn sync of the run fails and loses what it
# covered, then a power cut.  always: Redis exits rather than acknowledge
# (exit status 1 is its answer, the trial goes on), so nothing
# acknowledged is lost.  One client: every run makes the probe's syncs,
# one per command; concurrent clients share syncs, so a run may make
# fewer than the one drawn
run aff --clients 1 --sets 15 --mode fsync-fail --trials 12 --seed 1
check "always, failed syncs: exit 0" 0 "$rc"
check "always, failed syncs: every row ok" 12 "$(count ok "$T/aff.csv")"
n=$(col failed_point <"$T/aff.csv" | awk '$1 > 0' | wc -l)
check "always, failed syncs: each trial's sync failed" 12 "$n"
n=$(paste -d, <(col declared <"$T/aff.csv") <(col acked <"$T/aff.csv") |
    awk -F, '$2 < $1' | wc -l)
check "always, failed syncs: the transaction of the failed sync unacknowledged" 12 "$n"
run aff2 --clients 3 --sets 15 --mode fsync-fail --trials 12 --seed 2
check "always, 3 clients, failed syncs: exit 0" 0 "$rc"
check "always, 3 clients, failed syncs: every row ok" 12 "$(count ok "$T/aff2.csv")"
n=$(col failed_point <"$T/aff2.csv" | awk '$1 > 0' | wc -l)
[ "$n" -ge 4 ] && ok || bad "3 clients: only $n of 12 runs reached their failed sync"
# everysec syncs once a second: a run of a few seconds makes a sync to
# fail, after which Redis refuses writes (an error reply ends a client's
# run unacknowledged, never a set-up error); a power cut then owes nothing
run eff --redis-fsync everysec --clients 1 --sets 40000 --mode fsync-fail \
    --trials 1 --seed 1 --timeout 60
check "everysec, a failed sync: exit 0" 0 "$rc"
n=$(col failed_point <"$T/eff.csv")
[ "${n:-0}" -gt 0 ] && ok || bad "everysec: no sync failed in a run of 40000 sets"
n=$(paste -d, <(col declared <"$T/eff.csv") <(col acked <"$T/eff.csv") |
    awk -F, '$2 < $1 && $1 < 40000' | wc -l)
check "everysec, a failed sync: the clients stopped at a refusal" 1 "$n"

# 4. a replay repeats its row (one client, always: the server's calls come
# in the same order every run)
t=$(col trial <"$T/apl.csv" | sed -n 7p)
"$CT" --target redis --clients 1 --sets 15 --mode powerloss \
    --persist drop-unsynced-data --seed 2 --replay "$t" --dir "$T" \
    --csv "$T/replay.csv" >"$T/replay.out" 2>&1
check "replay: exit 0" 0 $?
same_row "replay of trial $t" "$T/apl.csv" "$t" "$T/replay.csv"
contains "replay: its trial, said in full" "$T/replay.out" "^trial $t: powerloss"

# 5. the findings of docs/TARGETS.md, replayed (one client, always):
# a torn last append that makes the server refuse to start is
# unavailability, judged by its exit status (recovery); a torn value
# loaded as data (prefix); a dangling MULTI left by Redis's truncation,
# which redis-check-aof rejects (structure)
finding() { # finding NAME TRIAL VERDICT PATTERN
    "$CT" --target redis --clients 1 --sets 30 --seed 1 --replay "$2" \
        --mode kill-io,torn,powerloss --dir "$T" >"$T/f$2" 2>&1
    check "$1: exit 1" 1 $?
    contains "$1: $3" "$T/f$2" "^trial $2: .*; $3: $4"
}
finding "refused to start" 32 recovery \
    "redis-server refused to start on the crash image (exit status 1)"
finding "torn value loaded" 107 prefix "client 0: its keys are the state after no prefix"
finding "dangling MULTI" 104 structure "redis-check-aof exited with 1"

# 6. what is refused
"$CT" --target redis --redis-fsync no --trials 1 >"$T/bad1" 2>&1
check "--redis-fsync no: exit 2" 2 $?
contains "--redis-fsync no: says why" "$T/bad1" "always or everysec"
"$CT" --target redis --mode kill-time --trials 1 >"$T/bad2" 2>&1
check "--mode kill-time: exit 2" 2 $?
contains "--mode kill-time: says what runs" "$T/bad2" "kill-io, torn, powerloss, recovery-crash, fsync-fail"
"$CT" --target redis --shard 1/2 --trials 1 >"$T/bad3" 2>&1
check "--shard: exit 2" 2 $?
contains "--shard: says what runs" "$T/bad3" "runs --trials trials of its own"

# 7. --json: the summary on stdout (the text on stderr) with the counts of
# the CSV and the text, the configuration's promise, each violation's
# replay command (the torn-value finding of section 5 is among trials
# 100..109); --merge refuses it (no shards)
"$CT" --target redis --clients 1 --sets 30 --seed 1 --trials 110 --jobs 2 \
    --mode kill-io,torn,powerloss --dir "$T" --json --csv "$T/j.csv" \
    >"$T/j.json" 2>"$T/j.err"
check "--json: exit 1" 1 $?
python3 -c 'import csv, json, re, sys
d = json.load(open(sys.argv[1]))
rows = list(csv.DictReader(open(sys.argv[2])))
text = open(sys.argv[3]).read()
assert d["target"] == "redis" and d["promise"] == "ack", d
assert d["redis_appendfsync"] == "always" and d["redis_clients"] == 1, d
assert d["trials"] == len(rows) == 110 and d["jobs"] == 2, d
for m in ("kill-io", "torn", "powerloss"):
    assert d["modes"][m] == sum(r["mode"] == m for r in rows), (m, d)
for k, n in d["verdicts"].items():
    assert n == sum(r["verdict"] == k for r in rows), (k, n)
v = [r for r in rows if r["verdict"] not in ("ok", "detected",
                                              "expected-loss")]
m = re.search(r"violations (\d+) \(durability (\d+), prefix (\d+), "
              r"recovery (\d+), structure (\d+)\)", text)
vd = d["verdicts"]
assert m and [int(x) for x in m.groups()] == [len(v), vd["durability"],
    vd["prefix"], vd["recovery"], vd["structure"]], m
assert [x["trial"] for x in d["violations"]] == [int(r["trial"]) for r in v]
assert 107 in [x["trial"] for x in d["violations"]], d["violations"]
assert all(" --replay %d " % x["trial"] in x["replay"] and
           " --target redis " in x["replay"] for x in d["violations"])
for k in ("shard", "duration", "coverage", "recovery_us", "swarm"):
    assert k not in d, k' "$T/j.json" "$T/j.csv" "$T/j.err" &&
    ok || bad "--json: the summary and the CSV disagree: $(cat "$T/j.json")"
replay=$(python3 -c 'import json, sys
v = json.load(open(sys.argv[1]))["violations"]
print([x for x in v if x["trial"] == 107][0]["replay"])' "$T/j.json")
eval "$replay --dir \"\$T\"" >"$T/jreplay" 2>&1
check "--json: the replay command of trial 107: exit 1" 1 $?
contains "--json: the replay command of trial 107: same verdict" \
    "$T/jreplay" "^trial 107: .*; prefix: "
"$CT" --merge "$T/j.json" "$T/j.csv" >"$T/jmerge" 2>&1
check "--merge of a redis summary: exit 2" 2 $?
contains "--merge of a redis summary: says why" "$T/jmerge" \
    "a --target redis campaign, which runs no shards"

finish
