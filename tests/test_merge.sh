#!/bin/bash
# test_merge.sh - crashtest --merge: the summary merged from 4 shards (and
# from 3 shards of an exhaustive campaign) is
# the summary one run of the same campaign prints, line for line, but for
# what the clock measured; the recovery percentiles and the mean time per
# trial are those of all the shards' rows, computed here again from the
# CSV files; the merged CSV is the shards' rows in trial order; a
# violation in a shard comes out of the merge with a replay command that
# reproduces it; shards that are not the whole of one campaign (another
# seed, options or version, a shard missing or given twice, overlapping or
# missing CSV rows, an incomplete shard, CSV rows of another seed or
# other modes) are refused with exit 2 and a
# message that says which; the merged JSON names the shards' promise.
# Run by make test with CRASHTEST set.
set -u
CT=${CRASHTEST:-build/crashtest}
T=$(mktemp -d "${TMPDIR:-/dev/shm}/crashlab-merge-XXXXXX")
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh"

# A campaign whose every verdict and coverage count is a function of its
# seed: crashes at I/O points, one writer thread, no periodic sync thread.
ARGS=(--seed 7 --trials 160 --mode kill-io,torn,powerloss --threads 1
    --sync commit --jobs 1 --quiet --dir "$T")
"$CT" "${ARGS[@]}" --csv "$T/all.csv" >"$T/all.txt" 2>"$T/all.err"
check "single run exits 0" 0 $?
for i in 0 1 2 3; do
    "$CT" "${ARGS[@]}" --shard $i/4 --json --csv "$T/s$i.csv" \
        >"$T/s$i.json" 2>"$T/s$i.err"
    check "shard $i/4 exits 0" 0 $?
done
S=("$T"/s0.json "$T"/s1.json "$T"/s2.json "$T"/s3.json
    "$T"/s0.csv "$T"/s1.csv "$T"/s2.csv "$T"/s3.csv)
"$CT" --merge "${S[@]}" --csv "$T/m.csv" >"$T/m.txt" 2>"$T/m.err"
check "merge exits 0" 0 $?

# the summaries with the measured figures masked
mask() {
    sed -E -e '/ trials in /s/[0-9]+(\.[0-9]+)?/N/g' -e 's/ on N jobs?:/ on N jobs:/' \
        -e '/time per trial|recovery time/s/[0-9]+/N/g' "$1"
}
check "merged summary = single run's (clock figures aside)" \
    "$(mask "$T/all.txt")" "$(mask "$T/m.txt")"
grep -q "^ *B-tree split  *[1-9]" "$T/m.txt" && ok ||
    bad "merged coverage table missing: $(cat "$T/m.txt")"
contains "trials of the 4 shards, 4 jobs" "$T/m.txt" "^160 trials in .* s on 4 jobs: "
contains "merge names the shards and the rate per job-second" "$T/m.err" \
    "merged 4 shards: 160 trials, .* crash states verified per job-second"

# figures from the rows: percentiles as report.c takes them, the mean time
figures='import csv,sys
rows=[r for f in sys.argv[1:] for r in csv.reader(open(f)) if r[0]!="trial"]
h=next(csv.reader(open(sys.argv[1])))
rows=[dict(zip(h,r)) for r in rows]
t=sorted(int(r["recovery_us"]) for r in rows
         if r["violation"]!="writer" and int(r["recovery_us"])>0)
p=lambda q: t[min(int(q*(len(t)-1)+0.5),len(t)-1)]
n=len(rows); s=lambda k: sum(int(r[k]) for r in rows)//n
print("time per trial (mean): %d us = writer %d + damage %d + recovery and verification %d + clean-up" % (s("us_total"),s("us_writer"),s("us_damage"),s("us_verify")))
print("recovery time (open of the crashed database): p50 %d us, p99 %d us, max %d us" % (p(.5),p(.99),t[-1]))'
check "percentiles and mean time from all the shards' rows" \
    "$(python3 -c "$figures" "$T"/s0.csv "$T"/s1.csv "$T"/s2.csv "$T"/s3.csv)" \
    "$(sed -n 's/^  \(time per trial\|recovery time\)/\1/p' "$T/m.txt")"
check "merged CSV: the shards' rows in trial order" \
    "$( (head -1 "$T/s0.csv"; cat "$T"/s?.csv | grep -v '^trial,' | sort -t, -k1,1n) | md5sum)" \
    "$(md5sum <"$T/m.csv")"
check "merged CSV: the single run's trials" "$(col trial <"$T/all.csv")" "$(col trial <"$T/m.csv")"

# the merged JSON is a campaign's summary (shard 0/1), which merges again
"$CT" --merge --json "${S[@]}" >"$T/m.json" 2>/dev/null
check "merge --json exits 0" 0 $?
check "merged JSON: all trials, shard 0/1" "160 0/1 160" "$(python3 -c 'import json,sys
d=json.load(open(sys.argv[1])); print(d["trials"], d["shard"], sum(d["modes"].values()))' "$T/m.json")"
check "merged JSON: the promise of sync commit, as each shard's" \
    "ack ack ack ack ack" "$(python3 -c 'import json,sys
print(*(json.load(open(f))["promise"] for f in sys.argv[1:]))' "$T/m.json" "$T"/s?.json)"
check "merged JSON: the violations per mode add up to the verdicts'" 0 \
    "$(python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
print(sum(d["mode_violations"].values()) - len(d["violations"]))' "$T/m.json")"
"$CT" --merge "$T/m.json" "$T/m.csv" >"$T/mm.txt" 2>/dev/null
check "a merged campaign merges again to the same summary" \
    "$(mask "$T/m.txt" | grep -v ' trials in ')" "$(mask "$T/mm.txt" | grep -v ' trials in ')"

# an exhaustive campaign in 3 shards: its enumeration and coverage lines
E=(--seed 4 --exhaustive --workload inserts --txns 4 --jobs 1 --quiet --dir "$T")
"$CT" "${E[@]}" >"$T/e.txt" 2>/dev/null
for i in 0 1 2; do
    "$CT" "${E[@]}" --shard $i/3 --json --csv "$T/e$i.csv" >"$T/e$i.json" 2>/dev/null
done
"$CT" --merge "$T"/e?.json "$T"/e?.csv >"$T/em.txt" 2>/dev/null
check "exhaustive: merge exits 0" 0 $?
check "exhaustive: merged summary = single run's" "$(mask "$T/e.txt")" "$(mask "$T/em.txt")"
contains "exhaustive: every point killed" "$T/em.txt" "kill at every point and after the end: \([0-9]*\) of \1$"

# refusals: exit 2 and the reason
refused() { # refused NAME PATTERN FILE...
    local name=$1 pat=$2
    shift 2
    "$CT" --merge "$@" >"$T/r.out" 2>"$T/r.err"
    check "$name: exit 2" 2 $?
    contains "$name: message" "$T/r.err" "$pat"
    check "$name: no summary" "" "$(cat "$T/r.out")"
}
refused "a shard missing" "1 of the 4 shards missing: 3/4" \
    "$T"/s[012].json "$T"/s[012].csv
refused "a shard twice" "shard 1/4 is given twice" \
    "${S[@]}" "$T/s1.json"
refused "a CSV twice" "trial 1 is in .*s1.csv and in .*s1.csv: overlapping" \
    "${S[@]}" "$T/s1.csv"
refused "a CSV missing" "shard 2/4: its summary .* counts 40 trials, the CSV files given hold 0" \
    "$T"/s?.json "$T"/s[013].csv
"$CT" "${ARGS[@]}" --seed 8 --shard 2/4 --json --csv "$T/o.csv" >"$T/o.json" 2>/dev/null
refused "another seed" "not shards of one campaign: the seed differs" \
    "$T"/s[013].json "$T"/s[013].csv "$T/o.json" "$T/o.csv"
# the CSV of another campaign's shard with the right summaries: its rows'
# trial seeds, or its modes, are not this campaign's
refused "the CSV of another seed" "o.csv line 1: trial 2 is not this campaign's: its seed" \
    "$T"/s?.json "$T"/s[013].csv "$T/o.csv"
"$CT" "${ARGS[@]}" --mode torn,powerloss,kill-io --sync off --shard 2/4 --json \
    --csv "$T/o.csv" >/dev/null 2>&1
refused "the CSV of other modes" "o.csv line 1: trial 2 is not this campaign's: .* mode kill-io, the campaign's trial 2 .* mode powerloss" \
    "$T"/s?.json "$T"/s[013].csv "$T/o.csv"
"$CT" "${ARGS[@]}" --sync group --shard 2/4 --json --csv "$T/o.csv" >"$T/o.json" 2>/dev/null
refused "other options" "not shards of one campaign: the option string differs" \
    "$T"/s[013].json "$T"/s[013].csv "$T/o.json" "$T/o.csv"
"$CT" "${ARGS[@]}" --trials 200 --shard 2/4 --json --csv "$T/o.csv" >"$T/o.json" 2>/dev/null
refused "another trial count" "not shards of one campaign: the trial count differs" \
    "$T"/s[013].json "$T"/s[013].csv "$T/o.json" "$T/o.csv"
sed 's/"version": "[^"]*"/"version": "0.0.0-other"/' "$T/s2.json" >"$T/o.json"
refused "another version" "not shards of one campaign: the crashlab version differs" \
    "$T"/s[013].json "$T"/s?.csv "$T/o.json"
"$CT" "${ARGS[@]}" --shard 1/3 --json --csv "$T/o.csv" >"$T/o.json" 2>/dev/null
refused "another shard count" "the number of shards differs" \
    "$T"/s[023].json "$T"/s[023].csv "$T/o.json" "$T/o.csv"
# an interrupted shard: fewer rows than its share, as its summary says
python3 -c 'import json,sys
d=json.load(open(sys.argv[1])); d["trials"]-=5; d["interrupted"]=True
json.dump(d,open(sys.argv[2],"w"))' "$T/s3.json" "$T/o.json"
head -n -5 "$T/s3.csv" >"$T/o.csv"
refused "an incomplete shard" "shard 3/4 .* is incomplete: 35 of its 40 trials ran (interrupted)" \
    "$T"/s[012].json "$T"/s[012].csv "$T/o.json" "$T/o.csv"
printf 'trial,seed\n1,2\n' >"$T/bad.csv"
refused "not a crashtest CSV" "bad.csv line 1: not a row of a crashtest CSV" \
    "${S[@]}" "$T/bad.csv"
echo '{"seed": "0x1"}' >"$T/bad.json"
refused "not a shard summary" "bad.json: not the JSON summary of a shard" \
    "${S[@]}" "$T/bad.json"
refused "no summary at all" "needs the JSON summary of every shard" "$T"/s?.csv
"$CT" --merge >/dev/null 2>&1
check "--merge without files: exit 2" 2 $?
"$CT" --merge --seed 3 "${S[@]}" >/dev/null 2>&1
check "--merge with a campaign option: exit 2" 2 $?
"$CT" "$T/s0.json" >/dev/null 2>&1
check "a file without --merge: exit 2" 2 $?

# a violation in a shard: the merge exits 1 and prints its replay command,
# which reproduces it (modes whose crash is at an I/O point, one writer
# thread: a kill after a delay, or concurrent writers, may not repeat)
B=(--seed 5 --trials 40 --target broken-half --mode kill-io,torn,powerloss --threads 1 --jobs 1 --quiet --dir "$T")
for i in 0 1; do
    "$CT" "${B[@]}" --shard $i/2 --json --csv "$T/b$i.csv" >"$T/b$i.json" 2>/dev/null
done
"$CT" --merge "$T"/b?.json "$T"/b?.csv >"$T/b.txt" 2>"$T/b.err"
check "merge of a broken target's shards exits 1" 1 $?
contains "the merge lists replay commands" "$T/b.txt" "violations; replay with:"
contains "and prints each violation" "$T/b.err" "^VIOLATION (atomicity) in trial"
line=$(grep -m1 -- "--replay" "$T/b.txt" | sed 's/ *#.*//')
$line --dir "$T" >/dev/null 2>&1
check "the merged replay command reproduces the violation" 1 $?
finish
