#!/bin/bash
# test_faults.sh - fault injection end to end, in whichever flavour make test
# built (CRASHTEST names its crashtest).  In every build: the libfiu points
# (engine/io/*) are in the engine library only in the fault-injection
# flavour (checked with nm and strings); fsync-fail and write-fail run
# clean on the engine and replay exactly.  Normal build: the libfiu modes refuse to run
# and say why.  Fault-injection build: the error modes run clean on the
# engine and replay exactly.  (The planted bugs: tests/test_mutants.sh.)
set -u
CT=${CRASHTEST:-build/crashtest}
B=$(dirname "$CT")
T=$(mktemp -d "${TMPDIR:-/dev/shm}/crashlab-faults-XXXXXX")
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh"
# same_rows CAMPAIGN.CSV REPLAY.CSV ID: the replayed row equals the
# campaign's, but for the recovery time and the scratch directory in
# messages (a worker's in a campaign, "replay" in a replay)
same_rows() {
    python3 -c 'import csv,os,re,sys
a=[r for r in csv.DictReader(open(sys.argv[1])) if r["trial"]==sys.argv[3]][0]
b=list(csv.DictReader(open(sys.argv[2])))[0]
for r in (a, b):
    for k in os.environ["CLOCK_COLUMNS"].split():
        r.pop(k)
for r in (a, b):
    r["detail"] = re.sub(r"/crashtest-[^/]*/[^/]*/", "/SCRATCH/", r["detail"])
for k in a:
    if a[k] != b[k]:
        print("trial %s: %s differs: %r / %r" % (sys.argv[3], k, a[k], b[k]), file=sys.stderr)
sys.exit(0 if a == b else 1)' "$1" "$2" "$3"
}
# replay_sample SEED ARGS...: replay every 7th trial of the campaign in
# $T/c.csv (made with those arguments) and compare the rows
replay_sample() {
    local seed=$1 total=0 same=0 id
    shift
    for id in $(col trial <"$T/c.csv" | awk 'NR % 7 == 1'); do
        "$CT" --seed "$seed" --replay "$id" --quiet "$@" --csv "$T/r.csv" \
            >/dev/null 2>&1
        total=$((total + 1))
        same_rows "$T/c.csv" "$T/r.csv" "$id" && same=$((same + 1))
    done
    [ "$total" -ge 5 ] && ok || bad "only $total trials replayed"
    check "replayed rows equal the campaign's ($*)" "$total" "$same"
}

case "$B" in
*fiu*) fiu=1 ;;
*) fiu=0 ;;
esac

# 1. the points are compiled in only with FIU=1.  nm and strings must
# work and list the engine (cl_open), or a count of 0 would prove nothing.
nm "$B/libcrashlab.a" >"$T/lib.nm" 2>"$T/nm.err" || bad "nm $B/libcrashlab.a failed: $(cat "$T/nm.err")"
grep -q ' T cl_open$' "$T/lib.nm" && ok || bad "nm of $B/libcrashlab.a lists no cl_open"
nm "$B/kv" >"$T/kv.nm" 2>"$T/nm.err" || bad "nm $B/kv failed: $(cat "$T/nm.err")"
grep -q ' T main$' "$T/kv.nm" && ok || bad "nm of $B/kv lists no main"
strings "$B/libcrashlab.a" >"$T/lib.str" || bad "strings $B/libcrashlab.a failed"
grep -q 'cl_open' "$T/lib.str" && ok || bad "strings of $B/libcrashlab.a: no cl_open"
undef=$(grep -c ' U fiu_fail$' "$T/lib.nm")
names=$(grep -cE '^engine/io/' "$T/lib.str")
if [ $fiu = 1 ]; then
    [ "$undef" -gt 0 ] && ok || bad "FIU build: the engine calls no fiu_fail"
    [ "$names" -ge 14 ] && ok || bad "FIU build: only $names point names"
else
    check "normal build: no libfiu symbol in the engine" 0 "$undef"
    check "normal build: no point name in the engine" 0 "$names"
    check "normal build: kv does not link libfiu" 0 "$(grep -c fiu_ "$T/kv.nm")"
fi

# clean_mode SEED MODE FAULT_RE: a campaign of MODE on the engine exits 0
# with no violation row, every trial's damage matches FAULT_RE (its fault
# fired), and its trials replay exactly; the rows stay in $T/c.csv
clean_mode() {
    local seed=$1 mode=$2 re=$3
    "$CT" --seed "$seed" --mode "$mode" --trials 120 --quiet --csv "$T/c.csv" \
        >"$T/out" 2>&1
    check "$mode on the engine exits 0" 0 $?
    check "$mode: no violation rows" 0 "$(col verdict <"$T/c.csv" | grep -c violation)"
    check "$mode: every trial's fault fired" 0 "$(col damage <"$T/c.csv" | grep -Evc "$re")"
    replay_sample "$seed" --mode "$mode"
}
# at_least N RE WHAT: at least N rows of $T/c.csv have damage matching RE
at_least() {
    [ "$(col damage <"$T/c.csv" | grep -Ec "$2")" -ge "$1" ] && ok || bad "too few trials: $3"
}

# 2. fsync-fail and write-fail need no libfiu.  fsync-fail: a sync fails
# with EIO and loses the unsynced data; write-fail: one write or truncate
# fails with ENOSPC or EIO, the engine goes on after some (a full disk on
# a log append) and refuses writes after others
clean_mode 31 fsync-fail 'failed with EIO'
clean_mode 33 write-fail 'fault: (pwrite|ftruncate) at point [0-9]+ failed with (ENOSPC|EIO), no effect'
at_least 30 'failed with ENOSPC' "full disks"
at_least 5 'the engine went on without it' "the engine went on after a failed write"
at_least 5 'then writes were refused' "the engine refused writes after a failed write"

if [ $fiu = 0 ]; then
    # 3. the libfiu modes say what they need
    "$CT" --mode eio --trials 5 >"$T/out" 2>&1
    check "normal build: --mode eio exits 2" 2 $?
    grep -q "make FIU=1" "$T/out" && ok || bad "no 'make FIU=1' in: $(cat "$T/out")"
else
    # 4. every error mode, on the engine: no violation, exact replay
    "$CT" --seed 32 --mode errors --trials 240 --quiet --csv "$T/c.csv" \
        >"$T/out" 2>&1
    check "error modes on the engine exit 0" 0 $?
    check "error modes: no violation rows" 0 "$(col verdict <"$T/c.csv" | grep -c violation)"
    check "error modes: every mode ran" 5 "$(col mode <"$T/c.csv" | sort -u | wc -l)"
    # every trial's fault is in a call its workload makes: the counting
    # runs count libfiu's points, which are in the system's I/O table
    check "error modes: no trial without its fault" 0 \
        "$(col damage <"$T/c.csv" | grep -c 'makes no such call')"
    at_least 5 'the engine went on without it' "the engine went on after an error"
    at_least 5 'then writes were refused' "the engine refused writes"
    replay_sample 32 --mode errors
fi

finish
