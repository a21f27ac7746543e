#!/bin/bash
# test_crashtest.sh - the crash harness end to end: a campaign over every
# mode on the real engine has no violation; each deliberately broken target
# is caught with the violation it commits (those that break the oracle's
# promise rules and crash chains by the default campaign); replay repeats a trial exactly,
# also one whose crash state came from a writer run shared with other
# trials; a trial limit may cut a block and --duration stops; exhaustive
# mode covers every point; shards add up to the campaign; the server
# target (kvserver crashed under concurrent clients) runs clean, its two
# broken variants are caught, and its replays repeat a trial's parameters;
# bad usage exits 2.  Run by make test with CRASHTEST set to the binary
# (the kvserver next to it is the server).
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
for pair in broken-ack:durability broken-half:atomicity broken-lose:prefix; do
    tgt=${pair%%:*}
    kind=${pair##*:}
    "$CT" --seed 12 --trials 100 --quiet --dir "$T" --target "$tgt" \
        --csv "$T/$tgt.csv" >"$T/$tgt.out" 2>&1
    check "$tgt exits 1" 1 $?
    n=$(col violation <"$T/$tgt.csv" | grep -c "^$kind\$")
    [ "$n" -ge 5 ] && ok || bad "$tgt: only $n $kind violations"
    grep -q -- "--replay" "$T/$tgt.out" && ok || bad "$tgt: no replay command printed"
done

# 2b. the oracle trusts acknowledgements: the default campaign (no mode
# options) catches a target that acknowledges group commits without
# syncing (its durable LSN honest), one whose sync call syncs nothing in
# sync off, and one whose durable LSN claims more than is durable
for pair in broken-nosync:durability broken-sync:durability broken-claim:claimed; do
    tgt=${pair%%:*}
    kind=${pair##*:}
    "$CT" --seed 1 --trials 3000 --stop-at-first --quiet --dir "$T" \
        --target "$tgt" --csv "$T/$tgt.csv" >"$T/$tgt.out" 2>&1
    check "$tgt exits 1" 1 $?
    n=$(col violation <"$T/$tgt.csv" | grep -c "^$kind\$")
    [ "$n" -ge 1 ] && ok || bad "$tgt: no $kind violation"
done
# 2c. crash chains: a target whose recovery leaves what it replayed
# undurable while new commits build on it (a checkpoint before the first
# commit after recovery, its syncs skipped) is caught by the default
# campaign, in chain trials only, and a chain trial replays exactly
"$CT" --seed 1 --trials 3000 --stop-at-first --quiet --dir "$T" \
    --target broken-rckpt --csv "$T/rckpt.csv" >"$T/rckpt.out" 2>&1
check "broken-rckpt exits 1" 1 $?
check "broken-rckpt: caught by chain trials only" "chain" \
    "$(python3 -c 'import csv,sys
print(" ".join(sorted({r["mode"] for r in csv.DictReader(open(sys.argv[1])) if r["verdict"] == "violation"})))' "$T/rckpt.csv")"
"$CT" --seed 1 --trials 300 --mode kill-io,kill-time,torn,powerloss,recovery-crash \
    --quiet --dir "$T" --target broken-rckpt >/dev/null 2>&1
check "broken-rckpt: no other mode sees it" 0 $?
line=$(grep -m1 -- "--replay" "$T/rckpt.out" | sed 's/^ *replay: //; s/ *#.*//')
id=$(echo "$line" | sed 's/.*--replay \([0-9]*\).*/\1/')
$line --csv "$T/rckpt-replay.csv" --dir "$T" >"$T/rckpt-replay.out" 2>&1
check "chain replay exits 1" 1 $?
fields='print(r["mode"], r["damage"], r["issued"], r["acked"], r["durable"], r["recovered"], r["chain_links"], r["violation"])'
check "chain replay: the campaign's row" \
    "$(python3 -c 'import csv,sys
for r in csv.DictReader(open(sys.argv[1])):
    if r["trial"] == sys.argv[2]:
        '"$fields" "$T/rckpt.csv" "$id")" \
    "$(python3 -c 'import csv,sys
for r in csv.DictReader(open(sys.argv[1])):
    '"$fields" "$T/rckpt-replay.csv")"
# the engine itself keeps every promise in the buffered modes
for m in off periodic; do
    "$CT" --seed 13 --trials 200 --sync $m --quiet --dir "$T" \
        --csv "$T/sync-$m.csv" >/dev/null 2>&1
    check "engine, sync $m, exits 0" 0 $?
done

# 2d. a verifier that dies: a target whose recovery aborts its process on
# some crash states (those where it replayed an odd number of records).
# Each such state is a recovery violation, the states after it are still
# verified (the job's verifier process is replaced), and the rows are
# those of a fresh verifier process per state.
for fv in "" --fresh-verifier; do
    "$CT" --seed 3 --trials 80 --mode kill-io --target broken-abort $fv --jobs 1 \
        --quiet --dir "$T" --csv "$T/abort$fv.csv" >/dev/null 2>&1
    check "broken-abort ${fv:+$fv }exits 1" 1 $?
done
check "broken-abort: violations are recovery ones, and other states OK" \
    "ok recovery" "$(python3 -c 'import csv,sys
rows = list(csv.DictReader(open(sys.argv[1])))
kinds = {r["violation"] if r["verdict"] == "violation" else r["verdict"] for r in rows}
# an OK state after the first violation
first = min(i for i, r in enumerate(rows) if r["verdict"] == "violation")
later_ok = any(r["verdict"] == "ok" for r in rows[first + 1:])
print(" ".join(sorted(kinds)) if later_ok else "no OK state after a violation")' "$T/abort.csv")"
python3 "$(dirname "$0")/verdict_rows.py" "$T/abort.csv" >"$T/abort-rows.csv"
python3 "$(dirname "$0")/verdict_rows.py" "$T/abort--fresh-verifier.csv" >"$T/abort-fresh-rows.csv"
check "broken-abort: the same rows with --fresh-verifier" "" \
    "$(diff "$T/abort-rows.csv" "$T/abort-fresh-rows.csv" | head -4)"
check "broken-abort: rows compared" yes \
    "$([ "$(wc -l <"$T/abort-rows.csv")" -gt 20 ] && echo yes)"

# 3. replay repeats a trial: same crash point, same damage, same verdict
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

# 3b. trials that shared one writer run replay to the very same row: every
# column but the recovery time, for trials of each mode at an I/O point,
# on the engine and on a broken target (kill-time depends on timing,
# concurrent writers on their interleaving, and sync periodic's I/O points
# on when its sync thread runs)
for tgt in engine broken-half; do
    "$CT" --seed 17 --trials 150 --quiet --dir "$T" --target "$tgt" \
        --csv "$T/b.csv" >/dev/null 2>&1
    ids=$(python3 -c 'import csv,sys
rows=[r for r in csv.DictReader(open(sys.argv[1]))
      if r["mode"]!="kill-time" and not r["mode"].startswith("server-")
      and r["threads"]=="1" and r["sync"]!="periodic"]
print(" ".join(r["trial"] for r in rows[::8]))' "$T/b.csv")
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
    [ "$total" -ge 12 ] && ok || bad "$tgt: only $total trials replayed"
    check "$tgt: replayed rows equal the campaign's" "$total" "$same"
done
rm -f "$T/b.csv" "$T/r.csv"

# 3c. a trial limit that cuts a block, and --duration
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

# 6. the server target: kvserver on a fresh directory, C clients each
# writing its own keys, killed at a delay or at an I/O point (torn, power
# cut), restarted, every key read back
"$CT" --seed 19 --trials 40 --target server --quiet --dir "$T" \
    --csv "$T/srv.csv" >"$T/srv.out" 2>&1
check "server campaign exits 0" 0 $?
check "server: one row per trial" 40 "$(col trial <"$T/srv.csv" | wc -l)"
check "server: the four server modes" \
    "server-kill-io server-kill-time server-powerloss server-torn" \
    "$(col mode <"$T/srv.csv" | sort -u | tr '\n' ' ' | sed 's/ $//')"
check "server: the workload column" "sets" "$(col workload <"$T/srv.csv" | sort -u)"
check "server: no violation rows" 0 "$(col verdict <"$T/srv.csv" | grep -c violation)"
[ "$(python3 -c 'import csv,sys
print(sum(int(r["acked"]) for r in csv.DictReader(open(sys.argv[1]))))' "$T/srv.csv")" -gt 1000 ] &&
    ok || bad "server: the clients got few acknowledgements"
grep -q "server trials: kvserver, 4 clients" "$T/srv.out" && ok || bad "server: summary line"
[ "$(ls "$T" | grep -vc '\.csv$\|\.out$\|^kept$')" = 0 ] && ok ||
    bad "server: scratch left behind: $(ls "$T")"

# 6b. the deliberately broken servers are caught: durability violations
for pair in server-broken-skip:10 server-broken-ack:1; do
    tgt=${pair%%:*}
    least=${pair##*:}
    "$CT" --seed 20 --trials 40 --target "$tgt" --quiet --dir "$T" \
        --csv "$T/$tgt.csv" >"$T/$tgt.out" 2>&1
    check "$tgt exits 1" 1 $?
    n=$(col violation <"$T/$tgt.csv" | grep -c '^durability$')
    [ "$n" -ge "$least" ] && ok || bad "$tgt: only $n durability violations"
    grep -q -- "--replay [0-9]* --target $tgt" "$T/$tgt.out" && ok ||
        bad "$tgt: no replay command printed"
done

# 6c. a server trial's replay repeats its parameters and says what it
# cannot repeat
line=$(grep -m1 -- "--replay" "$T/server-broken-skip.out" | sed 's/^ *replay: //; s/ *#.*//')
id=$(echo "$line" | sed 's/.*--replay \([0-9]*\).*/\1/')
$line --csv "$T/sreplay.csv" --dir "$T" >"$T/sreplay.out" 2>&1
rc=$?
[ $rc -le 1 ] && ok || bad "server replay: exit $rc"
grep -q "interleave differently in every run" "$T/sreplay.out" && ok ||
    bad "server replay: no note on what it cannot repeat"
orig=$(python3 -c 'import csv,sys
for r in csv.DictReader(open(sys.argv[1])):
    if r["trial"] == sys.argv[2]:
        print(r["mode"], r["seed"], r["crash_point"], r["delay_us"], r["variant"])' "$T/server-broken-skip.csv" "$id")
again=$(python3 -c 'import csv,sys
for r in csv.DictReader(open(sys.argv[1])):
    print(r["mode"], r["seed"], r["crash_point"], r["delay_us"], r["variant"])' "$T/sreplay.csv")
check "server replay: same parameters" "$orig" "$again"
"$CT" --seed 11 --replay 126 --dir "$T" >"$T/dreplay.out" 2>&1
check "default campaign's server trial replays" 0 $?
grep -q "mode server-kill-time" "$T/dreplay.out" && ok || bad "default replay: not a server trial"

# 6d. server usage: a missing server, an engine-only mode, no server
# trials in an engine-only campaign, and kvserver's hooks refuse nonsense
"$CT" --target server --kvserver "$T/nothing" --trials 1 >/dev/null 2>&1
check "missing kvserver" 2 $?
"$CT" --target server --mode recovery-crash --trials 1 >/dev/null 2>&1
check "server target, engine-only mode" 2 $?
"$CT" --seed 11 --trials 130 --mode engine --quiet --dir "$T" --csv "$T/eng.csv" >/dev/null 2>&1
check "--mode engine: no server trial" 0 "$(col mode <"$T/eng.csv" | grep -c '^server-')"
KVS=$(dirname "$CT")/kvserver-crash
KVSERVER_CRASHIO="shm=99" "$KVS" -d "$T/x" --port 0 >/dev/null 2>"$T/kvs.err"
check "kvserver: bad KVSERVER_CRASHIO exits 2" 2 $?
grep -q "KVSERVER_CRASHIO" "$T/kvs.err" && ok || bad "kvserver: no message on KVSERVER_CRASHIO"
KVSERVER_BROKEN=sometimes "$KVS" -d "$T/x" --port 0 >/dev/null 2>&1
check "kvserver: bad KVSERVER_BROKEN exits 2" 2 $?
rm -rf "$T/x"

# 7. JSON, keep-failures, usage errors
"$CT" --seed 15 --trials 20 --json --quiet --dir "$T" >"$T/j.json" 2>/dev/null
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["trials"]==20' "$T/j.json" && ok || bad "JSON summary"
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
"$CT" --shrink >/dev/null 2>&1; check "shrink without replay" 2 $?
"$CT" --help | grep -q -- "--exhaustive"; check "help" 0 $?
check "help prints no doubled percent sign" 0 "$("$CT" --help | grep -c '%%')"
# the summary names one job in the singular, more in the plural
"$CT" --seed 17 --trials 4 --jobs 1 --quiet --dir "$T" >"$T/j1.out" 2>&1
contains "one job" "$T/j1.out" "trials in .* s on 1 job: "
"$CT" --seed 17 --trials 4 --jobs 2 --quiet --dir "$T" >"$T/j2.out" 2>&1
contains "two jobs" "$T/j2.out" "trials in .* s on 2 jobs: "

# 8. swarm: each workload variant draws its engine configuration and its
# size from its seed, so the same seed gives the same draw and the same
# rows; a pinned setting holds in every row and leaves the other draws
# alone; --segment-bytes is checked; the coverage counts of a campaign
# that must reach a mechanism are not zero, and a mechanism nothing
# reaches is named in a warning
"$CT" --seed 21 --trials 42 --mode kill-io,torn --quiet --dir "$T" --csv "$T/s1.csv" >/dev/null 2>&1
check "swarm campaign exits 0" 0 $?
"$CT" --seed 21 --trials 42 --mode kill-io,torn --quiet --dir "$T" --csv "$T/s2.csv" >/dev/null 2>&1
# the draw in every row; whole rows where the I/O points do not depend on
# timing (one writer thread, and no periodic sync thread)
rows='import csv,os,sys
for r in csv.DictReader(open(sys.argv[1])):
    for k in os.environ["CLOCK_COLUMNS"].split():
        r.pop(k)
    keys = r.keys() if r["threads"]=="1" and r["sync"]!="periodic" else (
        "trial","mode","workload","variant","sync","torn","page_size",
        "pool_bytes","checkpoint_bytes","segment_bytes","txns","keys","drain")
    print(sorted((k, r[k]) for k in keys))'
check "same seed: same draw, same rows" "$(python3 -c "$rows" "$T/s1.csv")" "$(python3 -c "$rows" "$T/s2.csv")"
draws=$(python3 -c 'import csv,sys
print(len({(r["sync"],r["torn"],r["page_size"],r["pool_bytes"],r["checkpoint_bytes"],r["segment_bytes"],r["txns"]) for r in csv.DictReader(open(sys.argv[1]))}))' "$T/s1.csv")
[ "$draws" -ge 5 ] && ok || bad "swarm: only $draws configurations drawn"
"$CT" --seed 21 --trials 42 --mode kill-io,torn --sync commit --segment-bytes 65536 --quiet --dir "$T" --csv "$T/s3.csv" >/dev/null 2>&1
check "pinned: sync commit in every row" "commit" "$(col sync <"$T/s3.csv" | sort -u)"
check "pinned: 64 KiB segments in every row" "65536" "$(col segment_bytes <"$T/s3.csv" | sort -u)"
# (the first variants' draws: which further variants a campaign draws
# depends on what its pins let it reach)
base='import csv,sys
print(sorted({(r["workload"],r["variant"],r["torn"]) for r in csv.DictReader(open(sys.argv[1])) if int(r["variant"])<4}))'
check "pinning leaves the other draws" "$(python3 -c "$base" "$T/s1.csv")" "$(python3 -c "$base" "$T/s3.csv")"
"$CT" --seed 21 --trials 1 --no-swarm --quiet --dir "$T" --csv "$T/s4.csv" >/dev/null 2>&1
check "--no-swarm: the engine's defaults" "group fpw default default" \
    "$(col sync <"$T/s4.csv") $(col torn <"$T/s4.csv") $(col pool_bytes <"$T/s4.csv") $(col segment_bytes <"$T/s4.csv")"
for bad in 0 65535 1073741825 64k -1 ""; do
    "$CT" --segment-bytes "$bad" --trials 1 >/dev/null 2>"$T/seg.err"
    check "--segment-bytes '$bad' exits 2" 2 $?
    grep -q -- "--segment-bytes needs a number in 65536..1073741824" "$T/seg.err" && ok || bad "--segment-bytes '$bad': no clear message"
done
"$CT" --seed 22 --trials 40 --mode kill-io --workload large-values --torn-protection dwb \
    --segment-bytes 65536 --pool-bytes 262144 --json --quiet --dir "$T" >"$T/cov.json" 2>/dev/null
check "coverage campaign exits 0" 0 $?
check "large values through dwb with 64 KiB segments reach overflow chains, the doublewrite area and segment rolls" "0 0 0" \
    "$(python3 -c 'import json,sys
c=json.load(open(sys.argv[1]))["coverage"]
print(*[int(c[m]==0) for m in ("overflow","doublewrite","segment_roll")])' "$T/cov.json")"
"$CT" --seed 23 --trials 10 --mode kill-io --workload inserts --txns 4 --no-swarm --quiet --dir "$T" >"$T/few.out" 2>&1
check "an inserts-only campaign exits 0" 0 $?
grep "never reached" "$T/few.out" | grep -q "B-tree merge" && ok || bad "no warning naming the merge nothing reached"
"$CT" --seed 23 --trials 10 --mode kill-io --workload inserts --txns 4 --no-swarm --json --quiet --dir "$T" >"$T/few.json" 2>/dev/null
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert "merge" in d["unreached"] and d["coverage"]["merge"]==0' "$T/few.json" && ok || bad "JSON: merge not unreached"
# coverage-directed swarm: one variant of one small kind leaves most
# mechanisms unreached, so the campaign draws further variants (numbers
# from --variants on) and its trials run them; a trial of such a variant
# replays exactly; --no-swarm draws none
"$CT" --seed 24 --trials 160 --variants 1 --mode kill-io --workload inserts --quiet --dir "$T" --csv "$T/x1.csv" >/dev/null 2>&1
check "one-variant campaign exits 0" 0 $?
xv=$(python3 -c 'import csv,sys
print(sorted({int(r["variant"]) for r in csv.DictReader(open(sys.argv[1]))})[-1])' "$T/x1.csv")
[ "$xv" -ge 1 ] && ok || bad "no variant drawn beyond --variants 1 (highest $xv)"
xid=$(python3 -c 'import csv,sys
print([r for r in csv.DictReader(open(sys.argv[1])) if int(r["variant"])>=1 and r["sync"]!="periodic"][0]["trial"])' "$T/x1.csv")
"$CT" --seed 24 --trials 160 --variants 1 --mode kill-io --workload inserts --replay "$xid" --dir "$T" --csv "$T/x2.csv" >/dev/null 2>&1
strip='import csv,os,sys
for r in csv.DictReader(open(sys.argv[1])):
    if r["trial"] == sys.argv[2]:
        [r.pop(k) for k in os.environ["CLOCK_COLUMNS"].split()]
        print(sorted(r.items()))'
check "a drawn variant's trial replays exactly" "$(python3 -c "$strip" "$T/x1.csv" "$xid")" "$(python3 -c "$strip" "$T/x2.csv" "$xid")"
# ... and per sync class: when the first variants all sync the log at
# each commit, a further variant syncs it on request (sync off), and the
# table's second column counts that class's crash states alone
"$CT" --seed 24 --trials 160 --variants 1 --mode kill-io --workload checkpoint --quiet --dir "$T" --csv "$T/x4.csv" >/dev/null 2>&1
check "one-variant checkpoint campaign exits 0" 0 $?
python3 -c 'import csv,sys
rows=list(csv.DictReader(open(sys.argv[1])))
first={r["sync"] for r in rows if r["variant"]=="0"}
more={r["sync"] for r in rows if int(r["variant"])>=1}
assert first <= {"commit","group"} or first <= {"off","periodic"}, first
want={"off"} if first <= {"commit","group"} else {"commit","group"}
assert first <= {"commit","group"} and more & want, (first, more)' "$T/x4.csv" && ok || bad "no further variant of the other sync class"
"$CT" --seed 24 --trials 40 --mode kill-io --workload inserts --sync off --json --quiet --dir "$T" >"$T/d1.json" 2>/dev/null
"$CT" --seed 24 --trials 40 --mode kill-io --workload inserts --sync commit --json --quiet --dir "$T" >"$T/d2.json" 2>/dev/null
check "sync off: every crash state counts in the sync-on-request column; sync commit: none" "1 1" \
    "$(python3 -c 'import json,sys
a,b=(json.load(open(f)) for f in sys.argv[1:])
print(int(a["coverage"]==a["coverage_sync_on_request"] and a["coverage"]["split"]>0),
      int(b["coverage"]["split"]>0 and not any(b["coverage_sync_on_request"].values())))' "$T/d1.json" "$T/d2.json")"
"$CT" --seed 24 --trials 160 --variants 1 --mode kill-io --workload inserts --no-swarm --quiet --dir "$T" --csv "$T/x3.csv" >/dev/null 2>&1
check "--no-swarm: no variant drawn beyond --variants" "0" "$(col variant <"$T/x3.csv" | sort -u)"
rm -f "$T"/s?.csv "$T"/x?.csv "$T/p.json" "$T/seg.err" "$T/cov.json" "$T/few.out" "$T/few.json" "$T"/d?.json

finish
