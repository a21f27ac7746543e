# lib.sh - what the shell suites share (sourced by tests/test_*.sh): check
# counters, assertions, a CSV column reader and the closing line.
pass=0
fail=0

ok() { pass=$((pass + 1)); }
bad() { echo "FAILED: $*" >&2; fail=$((fail + 1)); }
check() { # check NAME EXPECTED ACTUAL
    if [ "$2" = "$3" ]; then ok; else bad "$1: got '$3', expected '$2'"; fi
}
contains() { # contains NAME FILE PATTERN
    if grep -q -- "$3" "$2"; then ok; else bad "$1: '$3' not in: $(cat "$2")"; fi
}
# The CSV columns the clock measures, which differ between two runs of one
# trial (python: os.environ["CLOCK_COLUMNS"].split()).
export CLOCK_COLUMNS="recovery_us us_writer us_damage us_verify us_total"
# column NAME of a CSV on stdin
col() { python3 -c 'import csv,sys; n=sys.argv[1]; [print(r[n]) for r in csv.DictReader(sys.stdin)]' "$1" 2>/dev/null; }
# count VERDICT FILE: rows of a CSV with that verdict column
count() { col verdict <"$2" | grep -c "^$1\$"; }
# kinds FILE: the violation kinds of a CSV, sorted, one line
kinds() { col violation <"$1" | grep -v '^$' | sort -u | tr '\n' ' '; }
# first_trial VERDICT FILE: the number of the first trial with that verdict
first_trial() {
    python3 -c 'import csv,sys
print(next(r["trial"] for r in csv.DictReader(open(sys.argv[2])) if r["verdict"] == sys.argv[1]))' "$1" "$2"
}
# campaign TARGET NAME ARGS...: a campaign of $CT on TARGET (two jobs,
# trial directories in $T) into $T/NAME.csv and $T/NAME.out; sets rc
campaign() {
    local target=$1 name=$2
    shift 2
    "$CT" --target "$target" --jobs 2 --quiet --dir "$T" \
        --csv "$T/$name.csv" "$@" >"$T/$name.out" 2>&1
    rc=$?
}
# second_stage NAME CSV OUTCOME K: the one row of CSV, a replay whose
# open failed, is still a recovery violation, and its second stage (the
# repair columns) is OUTCOME with the state after K transactions
second_stage() {
    check "$1: a recovery violation" recovery "$(col violation <"$2")"
    check "$1: the second stage is $3" "$3" "$(col repair <"$2")"
    check "$1: the repaired state is after $4 transactions" "$4" \
        "$(col repair_k <"$2")"
}
# same_row NAME CSV TRIAL REPLAY_CSV: the replay's row equals the trial's
# row of CSV but for the clock's columns
same_row() {
    python3 - "$2" "$3" "$4" <<'EOF' && ok || bad "$1: the replay's row differs"
import csv, os, sys
skip = set(os.environ["CLOCK_COLUMNS"].split())
a = next(r for r in csv.DictReader(open(sys.argv[1])) if r["trial"] == sys.argv[2])
b = next(csv.DictReader(open(sys.argv[3])))
diff = [k for k in a if k not in skip and a[k] != b[k]]
if diff:
    print("differs in", diff, file=sys.stderr)
sys.exit(1 if diff else 0)
EOF
}
# rcrash_controls NAME CSV: the positive controls of a recovery-crash
# campaign of an interposed target: at least 20 trials crashed a
# recovery, 5 of them with a power cut, and none of those is a
# violation; a violation may only be a torn first crash whose clean
# recovery already failed (recovery_crashes 0: the torn findings of
# docs/TARGETS.md, decided before any recovery was crashed)
rcrash_controls() {
    python3 - "$2" <<'EOF' && ok || bad "$1: recovery-crash controls"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
crashed = [r for r in rows if r["recovery_crashes"] != "0"]
power = [r for r in crashed if "+ power cut" in r["damage"]]
odd = [r["trial"] for r in rows if r["verdict"] == "violation"
       and (r["recovery_crashes"] != "0" or not r["damage"].startswith("torn "))]
if len(crashed) < 20 or len(power) < 5 or odd:
    print("crashed", len(crashed), "with a power cut", len(power),
          "odd violations", odd, file=sys.stderr)
    sys.exit(1)
EOF
}
# chain_controls NAME CSV LOSSES: the controls of a chain campaign of an
# interposed target: at least half the trials ran a link (recovered and
# went on under the interposer) and one ran three; a violation may only be
# a torn first crash decided before any link (chain_links 0: the torn
# findings of docs/TARGETS.md); LOSSES 0: no expected loss (a promise that
# a power cut does not weaken), else at least LOSSES of them, with one
# taken from a link's own recovery (counted, never passed)
chain_controls() {
    python3 - "$2" "$3" <<'EOF' && ok || bad "$1: chain controls"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
want = int(sys.argv[2])
linked = [r for r in rows if r["chain_links"] != "0"]
deep = [r for r in rows if r["chain_links"] == "3"]
odd = [r["trial"] for r in rows if r["verdict"] == "violation"
       and (r["chain_links"] != "0" or not r["damage"].startswith("torn "))]
lost = [r for r in rows if r["verdict"] == "expected-loss"]
in_link = [r for r in lost if "a link recovered fewer" in r["detail"]]
if (2 * len(linked) < len(rows) or not deep or odd or (want == 0 and lost)
        or (want > 0 and (len(lost) < want or not in_link))):
    print("linked", len(linked), "three links", len(deep), "odd violations",
          odd, "expected losses", len(lost), "in a link", len(in_link),
          file=sys.stderr)
    sys.exit(1)
EOF
}
# chain_campaign TARGET NAME LOSSES ARGS...: a chain campaign of TARGET
# under drop-unsynced-data with seed 1 (campaign, into $T/NAME.csv) that
# exits 0 or 1 (a torn first crash's violation) and passes
# chain_controls with LOSSES
chain_campaign() {
    local target=$1 name=$2 losses=$3
    shift 3
    campaign "$target" "$name" --mode chain --persist drop-unsynced-data \
        --seed 1 "$@"
    check "$name: exit 0 or 1" 1 "$((rc <= 1))"
    chain_controls "$name" "$T/$name.csv" "$losses"
}
# link_loss CSV: the first trial of a chain campaign whose expected loss
# a link's own recovery took
link_loss() {
    python3 -c 'import csv,sys
print(next(r["trial"] for r in csv.DictReader(open(sys.argv[1]))
           if "a link recovered fewer" in r["detail"]))' "$1"
}
# sync_errors NAME CSV MIN: at least MIN trials of an fsync-fail campaign
# had their failed sync's EIO reach the workload (the open, a commit, a
# sync or checkpoint call returned it)
sync_errors() {
    local n
    n=$(col damage <"$2" | grep -c '^fault: [a-z]* at point [0-9]* failed with EIO.* returned EIO')
    [ "$n" -ge "$3" ] && ok || bad "$1: only $n failed syncs reached the workload"
}
# first_fault_trial CSV WHAT: the number of the first trial of an
# fsync-fail campaign whose damage says WHAT (a regular expression)
first_fault_trial() {
    python3 -c 'import csv,re,sys
print(next(r["trial"] for r in csv.DictReader(open(sys.argv[1]))
           if re.search(sys.argv[2], r["damage"])))' "$1" "$2"
}
# replay_row NAME CSV TRIAL ARGS...: $CT --replay TRIAL with ARGS (the
# campaign's options) exits 0 and repeats TRIAL's row of CSV (same_row)
replay_row() {
    local name=$1 csv=$2 id=$3
    shift 3
    "$CT" --replay "$id" "$@" --dir "$T" --csv "$T/replay-$id.csv" \
        >"$T/replay-$id.out" 2>&1
    check "$name: exit 0" 0 $?
    same_row "$name" "$csv" "$id" "$T/replay-$id.csv"
}
# fsync_fail_refused TARGET TRIALS MIN ARGS...: an fsync-fail campaign
# (seed 1, drop-unsynced-data power cuts, ARGS added) of a target that
# refuses every write after a failed sync (LevelDB, RocksDB) into
# $T/ff.csv: exit 0 and no violation; at least MIN failed syncs reached
# the workload, and MIN/2 of them were followed by refused writes; a
# replay of a trial whose commit met the error repeats its row
fsync_fail_refused() {
    local target=$1 trials=$2 min=$3 n id
    shift 3
    campaign "$target" ff --mode fsync-fail --persist drop-unsynced-data \
        --trials "$trials" --seed 1 "$@"
    check "$target fsync-fail: exit 0" 0 "$rc"
    check "$target fsync-fail: no violation" "" "$(kinds "$T/ff.csv")"
    sync_errors "$target fsync-fail" "$T/ff.csv" "$min"
    n=$(col damage <"$T/ff.csv" | grep -c 'returned EIO, then writes were refused')
    [ "$n" -ge $((min / 2)) ] && ok || bad "$target fsync-fail: only $n refusals after a failed sync"
    id=$(first_fault_trial "$T/ff.csv" 'commit of transaction')
    replay_row "$target fsync-fail: a replay" "$T/ff.csv" "$id" --seed 1 \
        --target "$target" --mode fsync-fail --persist drop-unsynced-data "$@"
}
# the closing line; the suite's exit status
finish() {
    echo "$(basename "$0"): $pass checks passed, $fail failed"
    [ "$fail" -eq 0 ]
}
