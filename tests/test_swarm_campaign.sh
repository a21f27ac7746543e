#!/bin/bash
# test_swarm_campaign.sh - swarm testing and coverage: each workload
# variant draws its engine configuration and size from its seed (the same
# seed, the same rows), a pinned setting holds in every row and leaves the
# other draws alone, the coverage report counts what a campaign reached
# and names what it did not, the first variants' draw reaches the
# doublewrite ring's wrap, and the coverage-directed swarm draws further
# variants, per sync class.  Run by make test with CRASHTEST set to the
# binary.
set -u
CT=${CRASHTEST:-build/crashtest}
T=$(mktemp -d "${TMPDIR:-/dev/shm}/crashlab-sw-XXXXXX")
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh"

# 1. swarm: each workload variant draws its engine configuration and its
# size from its seed, so the same seed gives the same draw and the same
# rows; a pinned setting holds in every row and leaves the other draws
# alone; --segment-bytes is checked; the coverage counts of a campaign
# that must reach a mechanism are not zero, and a mechanism nothing
# reaches is named in a warning
"$CT" --seed 21 --trials 42 --mode kill-io,torn --quiet --dir "$T" --csv "$T/s1.csv" >/dev/null 2>&1
check "swarm campaign exits 0" 0 $?
"$CT" --seed 21 --trials 42 --mode kill-io,torn --quiet --dir "$T" --csv "$T/s2.csv" >/dev/null 2>&1
# the draw in every row; whole rows where the I/O points do not depend on
# timing (one writer thread, and no periodic sync or checkpoint thread)
rows='import csv,os,sys
for r in csv.DictReader(open(sys.argv[1])):
    for k in os.environ["CLOCK_COLUMNS"].split():
        r.pop(k)
    keys = r.keys() if (r["threads"]=="1" and r["sync"]!="periodic"
                        and r["checkpoint_mode"]!="background") else (
        "trial","mode","workload","variant","sync","torn","page_size",
        "pool_bytes","checkpoint_bytes","segment_bytes","txns","keys","drain",
        "checkpoint_mode")
    print(sorted((k, r[k]) for k in keys))'
check "same seed: same draw, same rows" "$(python3 -c "$rows" "$T/s1.csv")" "$(python3 -c "$rows" "$T/s2.csv")"
draws=$(python3 -c 'import csv,sys
print(len({(r["sync"],r["torn"],r["page_size"],r["pool_bytes"],r["checkpoint_bytes"],r["segment_bytes"],r["txns"]) for r in csv.DictReader(open(sys.argv[1]))}))' "$T/s1.csv")
[ "$draws" -ge 5 ] && ok || bad "swarm: only $draws configurations drawn"
"$CT" --seed 21 --trials 42 --mode kill-io,torn --sync commit --segment-bytes 65536 --quiet --dir "$T" --csv "$T/s3.csv" >/dev/null 2>&1
check "pinned: sync commit in every row" "commit" "$(col sync <"$T/s3.csv" | sort -u)"
check "pinned: 64 KiB segments in every row" "65536" "$(col segment_bytes <"$T/s3.csv" | sort -u)"
# (the first variants' draws, of those both campaigns ran: which further
# variants a campaign draws depends on what its pins let it reach, and so,
# through the number of variants of a kind, which variant each block runs)
base='import csv,sys
a,b=({(r["workload"],r["variant"]):r["torn"] for r in csv.DictReader(open(f)) if int(r["variant"])<4} for f in sys.argv[1:])
both=a.keys()&b.keys()
print(len(both)>=3, all(a[k]==b[k] for k in both))'
check "pinning leaves the other draws" "True True" "$(python3 -c "$base" "$T/s1.csv" "$T/s3.csv")"
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
# the doublewrite ring's wrap from the swarm's own draw: a dwb campaign of
# large values has crash states in the wrap (CL_ACT_DWB_WRAP, 0x2000 of
# the reached column) in the variants it draws first, not only in further
# ones drawn because those missed it (before the ring-sized checkpoint
# intervals of swarm.c, this campaign had none; 200 trials, so that every
# first variant gets blocks of trials)
"$CT" --seed 25 --trials 200 --threads 1 --mode kill-io,torn,powerloss --workload large-values \
    --torn-protection dwb --quiet --dir "$T" --csv "$T/wrap.csv" >/dev/null 2>&1
check "dwb campaign exits 0" 0 $?
wraps=$(python3 -c 'import csv,sys
print(sum(1 for r in csv.DictReader(open(sys.argv[1])) if int(r["variant"])<4 and int(r["reached"],16)&0x2000))' "$T/wrap.csv")
[ "$wraps" -gt 0 ] && ok || bad "no crash state in the doublewrite wrap among the first variants' trials"
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
print(int(a["coverage"]==a["coverage_sync_on_request"] and sum(a["coverage"].values())>0),
      int(sum(b["coverage"].values())>0 and not any(b["coverage_sync_on_request"].values())))' "$T/d1.json" "$T/d2.json")"
"$CT" --seed 24 --trials 160 --variants 1 --mode kill-io --workload inserts --no-swarm --quiet --dir "$T" --csv "$T/x3.csv" >/dev/null 2>&1
check "--no-swarm: no variant drawn beyond --variants" "0" "$(col variant <"$T/x3.csv" | sort -u)"
rm -f "$T"/s?.csv "$T/wrap.csv" "$T"/x?.csv "$T/p.json" "$T/seg.err" "$T/cov.json" "$T/few.out" "$T/few.json" "$T"/d?.json

finish
