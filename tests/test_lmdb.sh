#!/bin/bash
# test_lmdb.sh - crashtest --target lmdb, LMDB crashed through the libc
# interposer linked into crashtest, judged against the promise of its
# flags (docs/TARGETS.md): the positive controls.
#   default: no loss and no violation under process crashes, nor under
#   power cuts that keep directory entries (drop-unsynced-data);
#   nosync: power cuts lose acknowledged commits (expected losses),
#   process crashes never do;
#   nometasync: power cuts lose at most the last commit, never more;
#   the environment's directory entry is never synced: a power cut that
#   drops it loses every commit (a finding that depends on the file
#   system, docs/TARGETS.md);
#   recovery-crash (the open of the crashed environment crashed, then
#   opened again) keeps the default flags' promise; under fsync-fail a
#   failed flush's EIO reaches the workload, and LMDB's going on after it
#   loses commits (docs/FINDINGS.md: the reproducers are checked);
#   chain (recovered and crashed again up to three times): default keeps
#   every process's commits, nosync's losses are counted as expected, and
#   a link's lost commits are a durability violation;
#   a verifier that dies walking the recovered database is a structure
#   violation; a replay repeats a trial's row; bad flags are refused.
# Run by make test with CRASHTEST set to the binary.
set -u
CT=${CRASHTEST:-build/crashtest}
T=$(mktemp -d "${TMPDIR:-/dev/shm}/crashlab-lm-XXXXXX")
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh"

run() { campaign lmdb "$@"; } # run NAME ARGS...: lib.sh's campaign

# 1. default flags: durable at commit
run defkill --mode kill-io,kill-time --trials 60 --seed 3
check "default, process crashes: exit 0" 0 "$rc"
# a kill in the middle of the creation's first write can tear it: LMDB
# refuses the file, detected, not a violation (6b below)
check "default, process crashes: every row ok (or a torn creation)" 60 \
    "$(($(count ok "$T/defkill.csv") + $(count detected "$T/defkill.csv")))"
run defpl --mode powerloss --persist drop-unsynced-data --trials 80 --seed 2
check "default, power cuts: exit 0" 0 "$rc"
check "default, power cuts: every row ok" 80 "$(count ok "$T/defpl.csv")"
contains "the promise in the summary" "$T/defpl.out" "flags=default (promise: ack)"

# 2. nosync: expected losses under power cuts, none under process crashes
run nspl --lmdb-flags nosync --mode powerloss --persist drop-unsynced-data \
    --trials 80 --seed 2
check "nosync, power cuts: exit 0" 0 "$rc"
check "nosync, power cuts: no violation" "" "$(kinds "$T/nspl.csv")"
n=$(count expected-loss "$T/nspl.csv")
[ "$n" -ge 20 ] && ok || bad "nosync, power cuts: only $n expected losses"
run nskill --lmdb-flags nosync --mode kill-io --trials 40 --seed 2
check "nosync, process crashes: exit 0" 0 "$rc"
check "nosync, process crashes: every row ok" 40 "$(count ok "$T/nskill.csv")"

# 3. nometasync: the last commit may go, never one before it
run nmpl --lmdb-flags nometasync --mode powerloss --persist drop-unsynced-data \
    --trials 80 --seed 2
check "nometasync, power cuts: exit 0" 0 "$rc"
check "nometasync, power cuts: no violation" "" "$(kinds "$T/nmpl.csv")"
n=$(count expected-loss "$T/nmpl.csv")
[ "$n" -ge 5 ] && ok || bad "nometasync, power cuts: only $n expected losses"
contains "nometasync's promise" "$T/nmpl.out" "(promise: process+prev)"

# 4. LMDB never syncs the directory it creates data.mdb in: a power cut
# that drops unsynced directory entries takes every commit with it
run dirpl --mode powerloss --persist drop-unsynced-files --trials 10 --seed 2
check "default, files dropped: exit 1" 1 "$rc"
check "default, files dropped: durability only" "durability " "$(kinds "$T/dirpl.csv")"
python3 - "$T/dirpl.csv" <<'EOF' && ok || bad "files dropped: a violation without a lost create"
import csv, re, sys
rows = [r for r in csv.DictReader(open(sys.argv[1])) if r["verdict"] == "violation"]
sys.exit(0 if rows and all(re.search(r"[1-9] creates lost", r["damage"])
                           for r in rows) else 1)
EOF

# 5. a verifier that dies walking the recovered database: nosync under a
# power cut that keeps any subset of its unsynced sectors
"$CT" --seed 1 --replay 51 --target lmdb --lmdb-flags nosync \
    --mode kill-io,kill-time,torn,powerloss --dir "$T" \
    --csv "$T/died.csv" >"$T/died.out" 2>&1
check "a dying walk exits 1" 1 $?
check "a dying walk is a structure violation" "structure " "$(kinds "$T/died.csv")"
contains "a dying walk says so" "$T/died.out" "the verifier died reading back or checking"

# 6. a replay of an expected-loss trial repeats its row (but the clock)
id=$(first_trial expected-loss "$T/nspl.csv")
"$CT" --seed 2 --replay "$id" --target lmdb --lmdb-flags nosync --mode powerloss \
    --persist drop-unsynced-data --dir "$T" --csv "$T/replay.csv" >"$T/replay.out" 2>&1
check "replay of an expected loss exits 0" 0 $?
same_row "replay of an expected loss" "$T/nspl.csv" "$id" "$T/replay.csv"

# 6b. the creation torn: LMDB writes both meta pages in one write at point
# 5 and refuses the file when it is torn; nothing was begun, so the
# refusal is detected (docs/ORACLE.md), not a violation; the whole write
# then recovers an empty environment
"$CT" --seed 10 --replay 3 --target lmdb --mode torn --crash-point 5 \
    --dir "$T" --csv "$T/tcreate.csv" >"$T/tcreate.out" 2>&1
check "a torn creation exits 0" 0 $?
check "a torn creation is detected" 1 "$(count detected "$T/tcreate.csv")"
contains "a torn creation: the meta pages' write" "$T/tcreate.out" "data.mdb offset 0 length 8192"
"$CT" --seed 10 --replay 3 --target lmdb --mode kill-io --crash-point 6 \
    --dir "$T" --csv "$T/kcreate.csv" >"$T/kcreate.out" 2>&1
check "a kill after the creation's write exits 0" 0 $?
check "a kill after the creation's write is ok" 1 "$(count ok "$T/kcreate.csv")"

# 7. recovery-crash: LMDB's open of the crashed environment (it writes
# nothing to data.mdb; its calls are the opens and the lock file's
# set-up) crashed under the interposer, with and without a power cut,
# then opened again: the default flags keep every commit through it.  The
# only violations are torn first crashes (the torn meta page, 4 above),
# decided before any recovery was crashed.
run rc --mode recovery-crash --persist drop-unsynced-data --trials 100 --seed 1
check "recovery-crash, default: exit 0 or 1" 1 "$((rc <= 1))"
rcrash_controls "recovery-crash, default" "$T/rc.csv"

# 8. fsync-fail: a failed fdatasync's EIO reaches the commit or sync call
# that made it, and LMDB goes on.  What it loses doing so (docs/
# FINDINGS.md): a failed flush of the first commit loses the meta pages
# written at creation, which nothing writes again, and after a power cut
# the environment no longer opens, every later commit with it; those are
# the only violations of the default flags here.
run ff --mode fsync-fail --persist drop-unsynced-data --trials 60 --seed 1
check "fsync-fail, default: exit 1" 1 "$rc"
sync_errors "fsync-fail, default" "$T/ff.csv" 30
python3 - "$T/ff.csv" <<'EOF' && ok || bad "fsync-fail, default: a violation other than the first flush's"
import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1])) if r["verdict"] == "violation"]
odd = [r["trial"] for r in rows if r["violation"] != "recovery"
       or not r["damage"].startswith("fault: fdatasync at point 7 failed")]
print("odd trials:", odd, file=sys.stderr) if odd else None
sys.exit(1 if odd or not rows else 0)
EOF
id=$(first_fault_trial "$T/ff.csv" 'commit of transaction [1-9]')
replay_row "a replay of an fsync-fail trial" "$T/ff.csv" "$id" --seed 1 \
    --target lmdb --mode fsync-fail --persist drop-unsynced-data
# the findings' reproducers (docs/FINDINGS.md): default, three commits
# acknowledged after the first one's flush failed, none readable;
# nometasync, a commit before the failed one lost (its meta page was the
# failed flush's to make durable)
"$CT" --seed 1 --replay 30 --target lmdb --persist drop-unsynced-data \
    --mode fsync-fail --txns 4 --max-ops 1 --max-value 8 --crash-point 20 \
    --fail-at 7 --dir "$T" --csv "$T/first.csv" >"$T/first.out" 2>&1
check "first flush failed: exit 1" 1 $?
check "first flush failed: a recovery violation" "recovery " "$(kinds "$T/first.csv")"
check "first flush failed: commits acknowledged after it" 4 "$(col acked <"$T/first.csv")"
"$CT" --seed 1 --replay 30 --lmdb-flags nometasync --target lmdb \
    --persist drop-unsynced-data --mode fsync-fail --txns 18 --max-value 512 \
    --crash-point 97 --fail-at 86 --dir "$T" --csv "$T/nmff.csv" >"$T/nmff.out" 2>&1
check "nometasync, failed flush: exit 1" 1 $?
check "nometasync, failed flush: durability" "durability " "$(kinds "$T/nmff.csv")"

# 9. chain: the crashed environment opened by a process that goes on with
# the workload under the interposer and is crashed in turn (up to three
# times, power cut or not): the default flags keep every process's
# commits where directory entries persist (the only violations are torn
# first crashes, decided before any link); nosync's power cuts lose
# commits, counted as expected, also in a link's own recovery.  And a
# link's acknowledgements are held like the writer's: in trial 4 of seed
# 1 the writer dies in the creation, a link recovers nothing, creates
# data.mdb again and commits 9 transactions, and a power cut undoes the
# unsynced creation (the directory finding, 4 above): a durability
# violation
chain_campaign lmdb chain 0 --trials 12
chain_campaign lmdb chainns 3 --lmdb-flags nosync --trials 12
"$CT" --seed 1 --replay 4 --target lmdb --mode chain --dir "$T" \
    --csv "$T/clink.csv" >"$T/clink.out" 2>&1
check "chain, a link's commits lost: exit 1" 1 $?
check "chain, a link's commits lost: durability" "durability " "$(kinds "$T/clink.csv")"
check "chain, a link's commits lost: 9 acknowledged" 9 "$(col acked <"$T/clink.csv")"
contains "chain, a link's commits lost: the writer died in the creation" \
    "$T/clink.csv" "killed before point 3/.*; link 1 recovered 0, went on"

# 10. refusals: bad flags, MDB_WRITEMAP, lock.mdb's map undeclared
"$CT" --target lmdb --lmdb-flags sometimes --trials 5 >"$T/refuse.out" 2>&1
check "a bad --lmdb-flags exits 2" 2 $?
contains "the message lists the flags" "$T/refuse.out" "default, nometasync or nosync"
"$CT" --target lmdb --lmdb-flags writemap --trials 5 >"$T/refuse.out" 2>&1
check "--lmdb-flags writemap exits 2" 2 $?
contains "writemap's refusal says why" "$T/refuse.out" "writemap is refused: .*shared writable map"
"$CT" --target lmdb --nondurable .none --trials 5 --dir "$T" >"$T/refuse.out" 2>&1
check "lock.mdb's map undeclared exits 2" 2 $?
contains "the refusal names the call and the file" "$T/refuse.out" \
    "crashtest: the interposer refused mmap of .*lock.mdb"

finish
