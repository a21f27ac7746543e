#!/bin/bash
# test_exec.sh - crashtest --exec on any program (docs/TARGETS.md):
#   - the worked example (examples/applog: an append-and-fsync log) passes
#     every mode;
#   - its deliberately wrong variant (a rename without an fsync of the
#     directory) is caught under power loss, with a replay line that
#     reproduces the violation, and is not caught by process crashes alone
#     (a kill leaves the page cache, which holds the rename);
#   - SQLite in journal_mode=DELETE (examples/sqlitekv) keeps its
#     documented promise: synchronous=FULL may lose the last acknowledged
#     commit in a power cut (the journal's unlink is not synced) but never
#     shows half a transaction, and loses nothing in process crashes;
#     synchronous=EXTRA loses nothing; in WAL mode (its -shm declared
#     non-durable) NORMAL may lose acknowledged commits in a power cut but
#     never shows half a transaction, and FULL loses nothing;
#   - --json prints the summary with the counts of the CSV, the promise
#     and a replay command per violation; --merge refuses it;
#   - crashtest runs with LD_BIND_NOW and glibc's huge-page tunable set,
#     a tunable of the user's kept, and its programs with the user's
#     environment;
#   - bad input is a set-up error (exit 2) that names the problem: PROG
#     that does not start, exits early, never acknowledges, writes outside
#     its directory; PROG2 that prints malformed lines; a bad --mode;
#     --exec without --verify.
set -u
CT=${CRASHTEST:-build/crashtest}
B=$(dirname "$CT")
EX=$B/examples/bin
T=$(mktemp -d "${TMPDIR:-/dev/shm}/crashlab-exec-XXXXXX")
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh"

exec_ct() { # exec_ct OUT PROG VERIFY ARGS...: crashtest --exec, its status
    local out=$1 prog=$2 verify=$3
    shift 3
    "$CT" --exec "$prog" --verify "$verify" --dir "$T" --quiet "$@" \
        >"$out" 2>&1
}

# 1. the correct example: no violation in any mode
exec_ct "$T/ok" "$EX/applog {dir}" "$EX/applog-verify {dir}" \
    --trials 200 --seed 7 --csv "$T/ok.csv"
check "applog: exit status" 0 $?
contains "applog: summary" "$T/ok" "200 trials .* violations 0"
check "applog: CSV rows" 200 "$(tail -n +2 "$T/ok.csv" | wc -l)"
for m in kill-io torn powerloss recovery-crash fsync-fail; do
    n=$(tail -n +2 "$T/ok.csv" | awk -F, -v m=$m '$2 == m' | wc -l)
    [ "$n" -gt 20 ] && ok || bad "applog: only $n $m trials of 200"
done
n=$(col failed_point <"$T/ok.csv" | awk '$1 > 0' | wc -l)
[ "$n" -gt 20 ] && ok || bad "applog: only $n fsync-fail trials failed a sync"

# 1b. a failed fsync retried (applog-fsync-retry acknowledges once the
# retry succeeds, though the kernel may have dropped what the failed one
# covered): fsync-fail catches it, the crash modes cannot
exec_ct "$T/retry" "$EX/applog-fsync-retry {dir}" "$EX/applog-verify {dir}" \
    --trials 40 --seed 1 --mode fsync-fail
check "applog-fsync-retry under fsync-fail: exit status" 1 $?
contains "applog-fsync-retry: the violation" "$T/retry" \
    "VIOLATION lost-acknowledged: fsync-fail at sync call"
exec_ct "$T/retry2" "$EX/applog-fsync-retry {dir}" "$EX/applog-verify {dir}" \
    --trials 60 --seed 1 --mode kill-io,torn,powerloss
check "applog-fsync-retry under the crash modes: exit status" 0 $?
# applog itself dies on a failed fsync, saying so on stderr: its answer,
# and its message must not reach the protocol on fd 3 (no --csv here, so
# the campaign's log may be descriptor 3 when the program starts)
exec_ct "$T/ffail" "$EX/applog {dir}" "$EX/applog-verify {dir}" \
    --trials 20 --seed 2 --mode fsync-fail
check "applog under fsync-fail: exit status" 0 $?
contains "applog under fsync-fail: it exited on its own" "$T/ffail" \
    "20 trials .* violations 0"

# 2. the wrong variant: caught under power loss, with a replay that
# reproduces it; never by process crashes
exec_ct "$T/broken" "$EX/applog-broken {dir}" "$EX/applog-verify {dir}" \
    --trials 200 --seed 7 --mode powerloss
check "applog-broken under power loss: exit status" 1 $?
contains "applog-broken: the violation" "$T/broken" \
    "VIOLATION lost-acknowledged: powerloss"
replay=$(grep -m1 '  replay: ' "$T/broken" | sed 's/^  replay: crashtest //')
if [ -n "$replay" ]; then
    eval "\"\$CT\" --dir \"\$T\" $replay" >"$T/replay" 2>&1
    check "replay: exit status" 1 $?
    contains "replay: same verdict" "$T/replay" "lost-acknowledged"
else
    bad "no replay line in: $(cat "$T/broken")"
fi
exec_ct "$T/kill" "$EX/applog-broken {dir}" "$EX/applog-verify {dir}" \
    --trials 200 --seed 7 --mode kill-io,torn
check "applog-broken under process crashes: exit status" 0 $?

# 3. SQLite, DELETE journal: FULL against EXTRA.  sqlitekv acknowledges
# each commit as its configuration promises it: FULL in DELETE mode against
# a crash of the program only (crashlab_ack_process), so a power cut that
# loses one is an expected loss, not a violation
SQ="$EX/sqlitekv {dir}"
SV="$EX/sqlitekv-verify {dir}"
exec_ct "$T/sq" "$SQ full" "$SV" --trials 150 --seed 5 --mode powerloss \
    --csv "$T/sq.csv"
check "sqlite FULL, power loss: exit status" 0 $?
contains "sqlite FULL, power loss: losses, never half a transaction" "$T/sq" \
    "violations 0 (lost-acknowledged 0, not-a-prefix 0); expected losses [1-9]"
python3 -c 'import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1]))
        if r["verdict"] == "expected-loss"]
assert rows and all(int(r["acked"]) <= int(r["recovered"]) <
                    int(r["acked_process"]) for r in rows), rows' "$T/sq.csv" &&
    ok || bad "sqlite FULL: expected losses not between the two promises"
exec_ct "$T/sq" "$SQ full" "$SV" --trials 150 --seed 5 --mode kill-io,torn
check "sqlite FULL, process crashes: exit status" 0 $?
contains "sqlite FULL, process crashes: nothing lost" "$T/sq" \
    "violations 0 (lost-acknowledged 0, not-a-prefix 0); expected losses 0 "
exec_ct "$T/sq" "$SQ extra" "$SV" --trials 100 --seed 5 --csv "$T/sqx.csv"
check "sqlite EXTRA, every mode: exit status" 0 $?
# its verifier's open rolls a hot journal back: recovery-crash kills it
n=$(col recovery_point <"$T/sqx.csv" | awk '$1 > 0' | wc -l)
[ "$n" -ge 3 ] && ok || bad "sqlite EXTRA: only $n recoveries were crashed"
exec_ct "$T/sq" "$SQ normal wal" "$SV" --trials 150 --seed 5 \
    --mode powerloss --nondurable -shm
contains "sqlite WAL NORMAL, power loss: never half a transaction" "$T/sq" \
    "violations 0 (lost-acknowledged 0, not-a-prefix 0)"
exec_ct "$T/sq" "$SQ full wal" "$SV" --trials 100 --seed 5 --nondurable -shm
check "sqlite WAL FULL, every mode: exit status" 0 $?
exec_ct "$T/sq" "$SQ full wal" "$SV" --trials 5 --seed 5
check "sqlite WAL without --nondurable: exit status" 2 $?
contains "sqlite WAL without --nondurable: the map refused" "$T/sq" \
    "refused mmap of .*kv.db-shm"

# 4. bad input: exit 2, the problem named
setup_error() { # setup_error NAME PATTERN PROG VERIFY ARGS...
    local name=$1 pat=$2
    shift 2
    exec_ct "$T/bad" "$@" --trials 5 --seed 1
    check "$name: exit status" 2 $?
    contains "$name: message" "$T/bad" "$pat"
}
setup_error "PROG missing" "could not be started" \
    "$T/no-such-program {dir}" "$EX/applog-verify {dir}"
setup_error "PROG exits early" "exited with status 1" \
    "false {dir}" "$EX/applog-verify {dir}"
setup_error "PROG never acknowledges" "acknowledged no transaction" \
    "true {dir}" "$EX/applog-verify {dir}"
setup_error "PROG writes outside its directory" \
    "refused open of $T/outside: a file outside the root" \
    "$B/tests/ip_workload {dir} outside $T/outside" "$EX/applog-verify {dir}"
setup_error "PROG2 prints a malformed line" "is not KEY<TAB>VALUE" \
    "$EX/applog {dir}" "echo malformed {dir}"
setup_error "PROG2 missing" "could not be started" \
    "$EX/applog {dir}" "$T/no-such-verifier {dir}"
setup_error "PROG2 prints another state" "not the state after all" \
    "$EX/applog {dir}" "printf k1\\tv0\\n"
setup_error "a bad --mode" "--mode is kill-io, torn, powerloss" \
    "$EX/applog {dir}" "$EX/applog-verify {dir}" --mode eio
"$CT" --exec "$EX/applog {dir}" >"$T/bad" 2>&1
check "--exec without --verify: exit status" 2 $?
contains "--exec without --verify: message" "$T/bad" "go together"

# 5. --json: the summary on stdout (the text on stderr), its counts those
# of the CSV and of the text, the promise named, each violation with a
# replay command that reproduces it; --merge refuses it (no shards)
"$CT" --exec "$EX/applog-broken {dir}" --verify "$EX/applog-verify {dir}" \
    --dir "$T" --trials 40 --seed 7 --mode powerloss --json \
    --csv "$T/j.csv" >"$T/j.json" 2>"$T/j.err"
check "--json: exit status" 1 $?
python3 -c 'import csv, json, re, sys
d = json.load(open(sys.argv[1]))
rows = list(csv.DictReader(open(sys.argv[2])))
text = open(sys.argv[3]).read()
v = [r for r in rows if r["verdict"] != "ok"]
assert d["target"] == "exec" and d["promise"] == "ack", d
assert d["trials"] == len(rows) == 40 and d["campaign_trials"] == 40, d
assert d["modes"] == {"powerloss": 40}, d["modes"]
assert d["mode_violations"] == {"powerloss": len(v)}, d
lost = sum(r["verdict"] == "lost-acknowledged" for r in rows)
notp = sum(r["verdict"] == "not-a-prefix" for r in rows)
vd = d["verdicts"]
assert vd["ok"] == 40 - len(v) and vd["durability"] == lost, vd
assert vd["prefix"] == notp and lost > 0, vd
m = re.search(r"violations (\d+) \(lost-acknowledged (\d+), "
              r"not-a-prefix (\d+)\)", text)
assert m and [int(x) for x in m.groups()] == [len(v), lost, notp], m
assert [x["trial"] for x in d["violations"]] == [int(r["trial"]) for r in v]
assert all(x["kind"] == "durability" and " --replay %d " % x["trial"] in
           x["replay"] for x in d["violations"]), d["violations"]
for k in ("shard", "duration", "coverage", "recovery_us", "swarm"):
    assert k not in d, k
assert d["exec_io_points"] > 0, d' "$T/j.json" "$T/j.csv" "$T/j.err" &&
    ok || bad "--json: the summary and the CSV disagree: $(cat "$T/j.json")"
replay=$(python3 -c 'import json, sys
print(json.load(open(sys.argv[1]))["violations"][0]["replay"])' "$T/j.json")
eval "$replay --dir \"\$T\"" >"$T/jreplay" 2>&1
check "--json: its first replay command: exit status" 1 $?
contains "--json: its first replay command: same verdict" "$T/jreplay" \
    "lost-acknowledged"
"$CT" --merge "$T/j.json" "$T/j.csv" >"$T/jmerge" 2>&1
check "--merge of an --exec summary: exit status" 2 $?
contains "--merge of an --exec summary: says why" "$T/jmerge" \
    "a --exec campaign, which runs no shards"
"$CT" --exec "$EX/applog {dir}" --verify "$EX/applog-verify {dir}" \
    --shard 1/2 >"$T/jshard" 2>&1
check "--exec --shard: exit status" 2 $?

# 7. crashtest runs itself with LD_BIND_NOW and glibc's malloc on huge
# pages, added to the user's tunables (a hugetlb tunable of the user's
# kept), and gives the programs it runs (here the verifying one) the
# user's environment back (man crashtest, ENVIRONMENT): the program sees
# its own variables, and in its parent's /proc environ the environment
# crashtest was started with the second time, the tuned ones
cat >"$T/envprog" <<EOF
#!/bin/sh
echo "\${GLIBC_TUNABLES-unset}|\${LD_BIND_NOW-unset}|\$(env | grep -c '^CRASHLAB_')|\$(tr '\\0' '\\n' </proc/\$PPID/environ | grep -E '^(GLIBC_TUNABLES|LD_BIND_NOW)=' | sort | tr '\\n' ' ')" >>"$T/env"
exec "$EX/applog-verify" "\$@"
EOF
chmod +x "$T/envprog"
for u in unset glibc.malloc.check=0 glibc.malloc.hugetlb=0; do
    : >"$T/env"
    if [ $u = unset ]; then
        set -- -u GLIBC_TUNABLES
    else
        set -- GLIBC_TUNABLES=$u
    fi
    env -u LD_BIND_NOW "$@" "$CT" --exec "$EX/applog {dir}" \
        --verify "$T/envprog {dir}" --dir "$T" --quiet --trials 3 \
        --mode kill-io >"$T/envout" 2>&1
    check "environment (user's tunables: $u): exit status" 0 $?
    # glibc ends each tunable it uses with a NUL in the environment's
    # own copy: of the user's and the added one, the parent shows the
    # first
    case $u in
    unset) want="unset|unset|0|GLIBC_TUNABLES=glibc.malloc.hugetlb=1 LD_BIND_NOW=1 " ;;
    *) want="$u|unset|0|GLIBC_TUNABLES=$u LD_BIND_NOW=1 " ;;
    esac
    check "environment (user's tunables: $u): the program's, crashtest's" \
        "$want" "$(sort -u "$T/env")"
done
finish
