#!/bin/bash
# test_crashtest.sh - the crash harness end to end: a campaign over every
# mode on the real engine has no violation; the broken targets whose bugs
# any campaign sees are caught with the violation each commits;
# a trial limit may cut a block and --duration stops; exhaustive mode
# covers every point; shards add up to the campaign; JSON, --profile,
# --keep-failures; bad usage exits 2; a scratch directory removed under
# a campaign is a set-up failure.  Run by make test with CRASHTEST set
# to the binary.  (Replay and shrink: test_replay.sh; the oracle's rules:
# test_broken_targets.sh; the server target: test_server_target.sh; swarm
# and coverage: test_swarm_campaign.sh.)
set -u
CT=${CRASHTEST:-build/crashtest}
T=$(mktemp -d "${TMPDIR:-/dev/shm}/crashlab-ct-XXXXXX")
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh"

# 1. the real engine: every mode, every workload, no violation
"$CT" --seed 11 --trials 350 --quiet --dir "$T" --csv "$T/all.csv" >"$T/all.out" 2>&1
check "campaign on the engine exits 0" 0 $?
check "one row per trial" 350 "$(col trial <"$T/all.csv" | wc -l)"
check "every engine mode ran (the crash modes, chain, fsync-fail and write-fail)" 8 "$(col mode <"$T/all.csv" | sort -u | grep -vc '^server-')"
# the default campaign makes ids 126 and 253 server trials (one in 127)
check "server trials in the default campaign" "126 253" \
    "$(python3 -c 'import csv,sys
print(" ".join(r["trial"] for r in csv.DictReader(open(sys.argv[1])) if r["mode"].startswith("server-")))' "$T/all.csv")"
check "every workload ran" 7 "$(col workload <"$T/all.csv" | grep -v '^sets$' | sort -u | wc -l)"
check "no violation rows" 0 "$(col verdict <"$T/all.csv" | grep -c violation)"
grep -q "crash states verified per second" "$T/all.out" && ok || bad "summary line missing"
grep -q "recovery time" "$T/all.out" && ok || bad "recovery time missing"
[ "$(ls "$T")" = "all.csv
all.out" ] && ok || bad "scratch directories left behind: $(ls "$T")"

# 2. the broken targets are caught, each with its own violation
# (broken-half, atomicity: test_replay.sh, which replays its violations)
for pair in broken-ack:durability broken-lose:prefix; do
    tgt=${pair%%:*}
    kind=${pair##*:}
    "$CT" --seed 12 --trials 100 --quiet --dir "$T" --target "$tgt" \
        --csv "$T/$tgt.csv" >"$T/$tgt.out" 2>&1
    check "$tgt exits 1" 1 $?
    n=$(col violation <"$T/$tgt.csv" | grep -c "^$kind\$")
    [ "$n" -ge 5 ] && ok || bad "$tgt: only $n $kind violations"
    grep -q -- "--replay" "$T/$tgt.out" && ok || bad "$tgt: no replay command printed"
done

# kill-time: a writer of one thread without a sync thread serves its
# kill-time trials from the runs it shares with the block's other trials
# (each state the snapshot at the first I/O point after the trial's
# delay: snapshot time in its profile, and a point of the profile's run);
# one that acknowledges before it commits is caught by them.  A
# concurrent writer, or one with a sync thread (periodic), is killed for
# real after the delay (no snapshot).  Either way the delay runs from the
# writer's first I/O point, as the counting run's time it was drawn from
# (before it a new process has made no file): hardly a trial may find
# an empty directory (at point 0), which a third did when delays ran from
# the fork.
for how in "1 commit broken-ack shared" "2 commit engine own" "1 periodic engine own"; do
    set -- $how
    "$CT" --seed 19 --trials 80 --mode kill-io,kill-time --threads "$1" \
        --sync "$2" --target "$3" --profile --json --csv "$T/kt.csv" --quiet \
        --dir "$T" >"$T/kt.json" 2>/dev/null
    rc=$?
    check "kill-time $how: exit" "$([ "$3" = engine ] && echo 0 || echo 1)" $rc
    python3 -c 'import csv,json,re,sys
p=json.load(open(sys.argv[1]))["profile"]["kill-time"]
assert (p["snapshot"]>0)==(sys.argv[3]=="shared"), p
v=[r for r in csv.DictReader(open(sys.argv[2])) if r["mode"]=="kill-time"]
assert len(v)==40, len(v)
at=[re.search(r"killed after [0-9]+ us, at point ([0-9]+)/([0-9]+)$", r["damage"]) for r in v]
assert all(at), [r["damage"] for r in v]
assert sum(int(m.group(1))==0 for m in at)<=2, [r["damage"] for r in v]
if sys.argv[3]=="shared":
    assert all(int(m.group(1))<=int(m.group(2)) for m in at)
    assert sum(r["violation"]=="durability" for r in v)>=5, [r["violation"] for r in v]' \
        "$T/kt.json" "$T/kt.csv" "$4" && ok || bad "kill-time $how"
done

# 3. a trial limit that cuts a block, and --duration
"$CT" --seed 18 --trials 77 --quiet --dir "$T" --csv "$T/cut.csv" >/dev/null 2>&1
check "a cut block: exit 0" 0 $?
check "a cut block: every trial once" "$(seq 0 76 | tr '\n' ' ')" \
    "$(col trial <"$T/cut.csv" | sort -n | tr '\n' ' ')"
# (by the clock, not a trial count: a loaded machine runs few trials a
# second, under ASan fewer still)
t0=$(date +%s%N)
"$CT" --seed 18 --duration 1 --quiet --dir "$T" --csv "$T/dur.csv" >"$T/dur.out" 2>&1
check "--duration: exit 0" 0 $?
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$(col trial <"$T/dur.csv" | wc -l)" -ge 1 ] && ok || bad "--duration ran no trial"
[ "$ms" -ge 1000 ] && ok || bad "--duration 1 stopped after $ms ms"
[ "$ms" -lt 60000 ] && ok || bad "--duration 1 ran $ms ms"
for d in 1x " 1" -1 inf 0; do
    "$CT" --duration "$d" --trials 1 --quiet --dir "$T" >/dev/null 2>&1
    check "--duration '$d' is a usage error" 2 $?
done
rm -f "$T/cut.csv" "$T/dur.csv" "$T/dur.out"

# 4. exhaustive: every point of a small workload, every damage class
"$CT" --seed 13 --exhaustive --workload inserts --txns 12 --quiet --dir "$T" \
    --csv "$T/ex.csv" >"$T/ex.out" 2>&1
check "exhaustive on the engine exits 0" 0 $?
points=$(col points <"$T/ex.csv" | head -1)
kills=$(col mode <"$T/ex.csv" | grep -c '^kill-io$')
check "a kill at every point" $((points + 1)) "$kills"
check "each kill point once" $((points + 1)) "$(python3 -c 'import csv,sys
print(len({r["crash_point"] for r in csv.DictReader(open(sys.argv[1])) if r["mode"]=="kill-io"}))' "$T/ex.csv")"
grep -q "exhaustive coverage" "$T/ex.out" && ok || bad "no coverage report"

# 5. shards: the CSVs of 3 shards hold exactly the campaign's trials
for i in 0 1 2; do
    "$CT" --seed 14 --trials 60 --shard $i/3 --quiet --dir "$T" --csv "$T/s$i.csv" >/dev/null 2>&1
done
"$CT" --seed 14 --trials 60 --quiet --dir "$T" --csv "$T/s.csv" >/dev/null 2>&1
a=$(cat "$T"/s0.csv "$T"/s1.csv "$T"/s2.csv | col trial | sort -n | tr '\n' ' ')
b=$(col trial <"$T/s.csv" | sort -n | tr '\n' ' ')
check "shards cover the campaign" "$b" "$a"

# 6. JSON, keep-failures, usage errors
"$CT" --seed 15 --trials 20 --json --quiet --dir "$T" >"$T/j.json" 2>/dev/null
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["trials"]==20' "$T/j.json" && ok || bad "JSON summary"
# the promise: a swarm draws the sync mode, so either one promise or the
# trials under each; pinned to off, the engine promises what a sync call
# made durable
python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
p=d.get("promises", {d.get("promise"): d["trials"]})
assert sum(p.values())==20 and set(p) <= {"ack", "sync"}, d' "$T/j.json" &&
    ok || bad "JSON summary: promise"
"$CT" --seed 15 --trials 6 --sync off --mode kill-io --json --quiet \
    --dir "$T" >"$T/js.json" 2>/dev/null
check "JSON summary of sync off: its promise" "sync 6 0" "$(python3 -c '
import json,sys; d=json.load(open(sys.argv[1]))
print(d["promise"], d["modes"]["kill-io"], d["mode_violations"]["kill-io"])' "$T/js.json")"
# a library target: its configuration's promise (SQLite's default,
# journal_mode=delete synchronous=full: docs/TARGETS.md)
"$CT" --seed 15 --trials 3 --target sqlite --mode kill-io --json --quiet \
    --dir "$T" >"$T/jq.json" 2>/dev/null
check "JSON summary of SQLite: its promise" "sqlite process+sync" \
    "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
print(d["target"], d["promise"])' "$T/jq.json")"
# --profile: each mode's phases in the JSON, which add up to no more than
# the trial's total time
"$CT" --seed 15 --trials 40 --mode kill-io,powerloss --profile --json --quiet --dir "$T" >"$T/p.json" 2>/dev/null
python3 -c 'import json,sys
p=json.load(open(sys.argv[1]))["profile"]
assert set(p)=={"all","kill-io","powerloss"}, p
for m,ph in p.items():
    parts=sum(v for k,v in ph.items() if k!="total")
    assert ph["total"]>0 and ph["open"]>0 and ph["writer"]>0, (m,ph)
    assert abs(parts-ph["total"])<=len(ph), (m,ph)
assert p["powerloss"]["image"]>0 and p["kill-io"]["image"]==0, p' "$T/p.json" && ok || bad "JSON profile per mode"
"$CT" --seed 15 --trials 8 --mode kill-io --profile --quiet --dir "$T" 2>/dev/null | grep -q "^  kill-io  *[0-9]" && ok || bad "--profile table"
"$CT" --seed 16 --trials 30 --quiet --dir "$T" --target broken-lose --keep-failures "$T/kept" >/dev/null 2>&1
[ -f "$(ls -d "$T"/kept/trial-* | head -1)/trial.txt" ] && ok || bad "keep-failures kept nothing"
[ -d "$(ls -d "$T"/kept/trial-* | head -1)/crashed" ] && ok || bad "no crashed image kept"
"$CT" --mode sideways >/dev/null 2>&1; check "bad mode" 2 $?
"$CT" --trials 0 >/dev/null 2>&1; check "zero trials" 2 $?
# the engine's page-size rule (cl_options_check)
"$CT" --page-size 1000 --trials 1 >/dev/null 2>&1; check "page size 1000" 2 $?
"$CT" --page-size 131072 --trials 1 >/dev/null 2>&1; check "page size 131072" 2 $?
"$CT" --shrink >/dev/null 2>&1; check "shrink without replay" 2 $?
"$CT" --help | grep -q -- "--exhaustive"; check "help" 0 $?
check "help prints no doubled percent sign" 0 "$("$CT" --help | grep -c '%%')"
# the summary names one job in the singular, more in the plural
"$CT" --seed 17 --trials 4 --jobs 1 --quiet --dir "$T" >"$T/j1.out" 2>&1
contains "one job" "$T/j1.out" "trials in .* s on 1 job: "
"$CT" --seed 17 --trials 4 --jobs 2 --quiet --dir "$T" >"$T/j2.out" 2>&1
contains "two jobs" "$T/j2.out" "trials in .* s on 2 jobs: "

# outputs that cannot be written are set-up failures, found before the
# campaign where they can be
"$CT" --trials 5 --seed 3 --csv /proc/nope/x.csv --dir "$T" --quiet \
    >"$T/nocsv.out" 2>&1
check "--csv into a missing directory: exit 2" 2 $?
contains "--csv into a missing directory: said" "$T/nocsv.out" \
    "--csv /proc/nope/x.csv cannot be written"
check "--csv into a missing directory: before any trial" 0 \
    "$(grep -c "crash states verified" "$T/nocsv.out")"
"$CT" --seed 1 --replay 5 --csv /proc/nope/x.csv --dir "$T" >"$T/nocsv2.out" 2>&1
check "a replay's --csv into a missing directory: exit 2" 2 $?
"$CT" --trials 4 --json --dir "$T" --quiet >/dev/full 2>"$T/full.err"
check "a summary written to a full device: exit 2" 2 $?
contains "a summary written to a full device: said" "$T/full.err" \
    "cannot write the standard output"
"$CT" --trials 4 --json --csv - --dir "$T" --quiet >"$T/both.out" 2>&1
check "--json with --csv -: exit 2" 2 $?
"$CT" --target broken-half --trials 20 --seed 11 --keep-failures /proc/nope \
    --dir "$T" --quiet >"$T/nokeep.out" 2>&1
check "--keep-failures that cannot be made: exit 2" 2 $?
contains "--keep-failures that cannot be made: said" "$T/nokeep.out" \
    "--keep-failures /proc/nope: cannot make it"

# 7. a scratch directory removed under a running campaign is the harness's
# set-up failure (exit 2, its message), never a verdict on the target:
# here only the workers' marker files go, so every trial itself runs as
# it would, and the campaign must still stop with exit 2
mkdir -p "$T/gone"
timeout 300 "$CT" --seed 18 --trials 1000000 --jobs 2 --quiet --dir "$T/gone" \
    --csv "$T/gone.csv" >"$T/gone.out" 2>&1 &
ctpid=$!
for _ in $(seq 600); do
    [ "$(ls "$T"/gone/crashtest-*/w*/.crashtest-scratch 2>/dev/null | wc -l)" = 2 ] && break
    sleep 0.1
done
rm -f "$T"/gone/crashtest-*/w*/.crashtest-scratch
wait $ctpid
check "a removed scratch directory: exit 2" 2 $?
contains "a removed scratch directory: said" "$T/gone.out" "scratch directory .* was removed under the campaign"
check "a removed scratch directory: no violation" 0 "$(grep -c VIOLATION "$T/gone.out")"

finish
