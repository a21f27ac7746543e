#!/bin/bash
# test_broken_targets.sh - the oracle's rules, each proven by the default
# campaign (no mode options) on a target that breaks it: acknowledged
# commits are what must survive (a target that acknowledges without
# syncing, a sync call that syncs nothing, a durable LSN that claims too
# much); crash chains (a recovery that leaves what it replayed undurable
# while new commits build on it), and their replay; the engine keeps every
# promise in the buffered sync modes; a close that syncs nothing, caught in
# the writer's close; a verifier that dies is a recovery
# violation and the next states are still verified; the states verified
# after detected corruption (which does not end the verifier process) are
# a fresh process's; crashed recoveries
# and chain links give the same rows in memory as on disk.  Run by make test
# with CRASHTEST set to the binary.
set -u
CT=${CRASHTEST:-build/crashtest}
T=$(mktemp -d "${TMPDIR:-/dev/shm}/crashlab-bt-XXXXXX")
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh"

# 1. the oracle trusts acknowledgements: the default campaign (no mode
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

# 2. crash chains: a target whose recovery leaves what it replayed
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

# the writer's close: half of the workloads close the engine after their
# last transaction, and a close that returned 0 has made every commit
# durable.  The default campaign crashes inside it or right after it
# (reached bit 0x80000), and catches a target whose close syncs nothing
# there alone (after it returned: the promise is raised then).
n=$(python3 -c 'import csv,sys
print(sum(1 for r in csv.DictReader(open(sys.argv[1])) if int(r["reached"],16)&0x80000))' "$T/sync-off.csv")
[ "$n" -gt 0 ] && ok || bad "engine, sync off: no crash state in the writer's close"
"$CT" --seed 1 --trials 3000 --stop-at-first --quiet --dir "$T" \
    --target broken-close --csv "$T/close.csv" >"$T/close.out" 2>&1
check "broken-close exits 1" 1 $?
check "broken-close: every violation a crash in or after the writer's close" "True" \
    "$(python3 -c 'import csv,sys
v = [r for r in csv.DictReader(open(sys.argv[1])) if r["verdict"] == "violation"]
print(len(v) > 0 and all(int(r["reached"],16)&0x80000 for r in v))' "$T/close.csv")"

# 2b. two read paths: a target whose point reads miss keys that its scan
# finds is caught as a structure violation in every mode, and the engine
# is not (it passes every other check of this file's campaigns)
"$CT" --seed 1 --trials 200 --quiet --dir "$T" --target broken-lookup \
    --csv "$T/lookup.csv" >/dev/null 2>&1
check "broken-lookup exits 1" 1 $?
check "broken-lookup: structure violations, in every engine mode" \
    "structure 8" "$(python3 -c 'import csv,sys
v = [r for r in csv.DictReader(open(sys.argv[1])) if r["verdict"] == "violation"]
print(" ".join(sorted({r["violation"] for r in v})), len({r["mode"] for r in v if not r["mode"].startswith("server")}))' "$T/lookup.csv")"

# 3. a verifier that dies: a target whose recovery aborts its process on
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

# 3b. detected corruption (the engine refusing torn pages it cannot
# repair) does not end the job's verifier process, as a violation does:
# the states it verifies after one give the rows of a fresh process per
# state, in the final verification (torn) and in a chain link's recovery
# (chain, where the link's crash core and sample are let go of)
for mt in torn:100 chain:80; do
    m=${mt%:*}
    for fv in "" --fresh-verifier; do
        "$CT" --seed 4 --trials "${mt#*:}" --mode $m --torn-protection none \
            $fv --jobs 1 --quiet --dir "$T" --csv "$T/det$m$fv.csv" \
            >/dev/null 2>&1
        check "$m, no torn-page protection ${fv:+$fv }exits 0" 0 $?
    done
    python3 "$(dirname "$0")/verdict_rows.py" "$T/det$m.csv" >"$T/det-rows.csv"
    python3 "$(dirname "$0")/verdict_rows.py" "$T/det$m--fresh-verifier.csv" \
        >"$T/det-fresh-rows.csv"
    check "$m, detected corruption: the same rows with --fresh-verifier" "" \
        "$(diff "$T/det-rows.csv" "$T/det-fresh-rows.csv" | head -4)"
    check "$m, detected corruption: detected states, states after them" \
        yes "$(python3 -c 'import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
d = [i for i, r in enumerate(rows) if r["verdict"] == "detected"]
print("yes" if len(d) >= 2 and d[0] < len(rows) - 5 else "no: %s" % d)' \
            "$T/det-rows.csv")"
done

# 4. crashed recoveries and chain links run in the verifier's memory,
# unless the campaign keeps its failures' images (then on disk): the rows
# are the same either way, recoveries that abort their process included.
for t in engine broken-abort; do
    for m in recovery-crash chain; do
        for where in memory disk; do
            keep=
            [ "$where" = disk ] && keep="--keep-failures $T/kept-$t-$m"
            # shellcheck disable=SC2086
            "$CT" --seed 5 --trials 60 --mode "$m" --target "$t" --jobs 1 \
                --quiet --dir "$T" $keep --csv "$T/$t-$m-$where.csv" \
                >/dev/null 2>&1
            python3 "$(dirname "$0")/verdict_rows.py" "$T/$t-$m-$where.csv" \
                >"$T/$t-$m-$where-rows.csv"
        done
        check "$t $m: the same rows in memory as on disk" "" \
            "$(diff "$T/$t-$m-memory-rows.csv" "$T/$t-$m-disk-rows.csv" | head -4)"
        check "$t $m: rows compared, crashed recoveries among them" yes \
            "$(python3 -c 'import csv,sys
rows = list(csv.DictReader(open(sys.argv[1])))
print("yes" if len(rows) > 20 and any(int(r["recovery_crashes"]) + int(r["chain_links"]) > 0 for r in rows) else "no")' "$T/$t-$m-memory-rows.csv")"
    done
done

finish
