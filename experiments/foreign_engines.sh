#!/bin/bash
# foreign_engines.sh - experiment 9: engines x configurations x crash
# modes.  Every documented configuration of every target crashtest runs
# (our engine, SQLite, LMDB, LevelDB, RocksDB, Redis; docs/TARGETS.md)
# under every crash mode (kill-io, torn, powerloss under a random device
# model per trial, powerloss with drop-unsynced-data (directory entries
# persist), recovery-crash, fsync-fail), one campaign per cell with the
# same seed and trial budget.  Each configuration is judged against its
# own promise: a broken promise is a violation (counted by kind), a loss
# of what the configuration never promised an expected loss.  A mode a
# target refuses (crashtest exits 2 before any trial) is a row with status
# "refused", not left out.  One CSV row per cell; violations are results
# here, so the experiment succeeds when every cell ran or was refused.
# A target that cannot run at all (its kill-io campaign of one trial is
# refused, e.g. redis-server is not installed) stops the experiment with
# exit status 2 before any row is written: make deps installs what it
# needs.
. "$(dirname "$0")/lib.sh"
CT=$BUILD/crashtest
exp_need "$CT" "$BUILD/libcrashlab-preload.so"
SEED=1
# Redis trials are two server starts and two redis-check-aof runs each:
# two clients of at most 30 transactions keep a trial short, and a cell
# of Redis has half the trials of the others (RTRIALS).
REDIS_OPTS="--clients 2 --sets 30"
# QUICK=1: a smoke test of every mode on one configuration per target,
# one workload variant of one workload (a campaign's set-up runs every
# variant of every workload once, longer than its trials here).
if [ "$QUICK" = 1 ]; then
    TRIALS=3 RTRIALS=2 QUICK_OPTS="--workload txn --variants 1"
else
    TRIALS=200 RTRIALS=100 QUICK_OPTS=
fi

# The cells: TARGET|CONFIGURATION|crashtest options|promise.  The promise
# is the target's for the configuration, in docs/ORACLE.md's vocabulary:
# for the library targets the one crashtest's summary line names, for
# the engine its sync mode's (harness/target_engine.c), for Redis its
# table in docs/TARGETS.md, which also says why.  Each cell checks it
# against the "promise" of crashtest's --json summary, so the table cannot
# drift from what crashtest judged.  QUICK=1 keeps the first configuration
# of each target.
CONFIGS="engine|sync commit|--sync commit|ack
engine|sync group|--sync group|ack
engine|sync off|--sync off|sync
sqlite|wal full|--sqlite-journal wal --sqlite-sync full|ack
sqlite|delete extra|--sqlite-journal delete --sqlite-sync extra|ack
sqlite|delete full|--sqlite-journal delete --sqlite-sync full|process+sync
sqlite|wal normal|--sqlite-journal wal --sqlite-sync normal|process+sync
sqlite|delete off|--sqlite-journal delete --sqlite-sync off|process
lmdb|default|--lmdb-flags default|ack
lmdb|nometasync|--lmdb-flags nometasync|process+prev
lmdb|nosync|--lmdb-flags nosync|process+sync
leveldb|sync true|--leveldb-sync true|ack
leveldb|sync mixed|--leveldb-sync mixed|process+sync
leveldb|sync false|--leveldb-sync false|process
rocksdb|sync true|--rocksdb-sync true|ack
rocksdb|sync mixed|--rocksdb-sync mixed|process+sync
rocksdb|sync false|--rocksdb-sync false|process
rocksdb|sync true background|--rocksdb-sync true --rocksdb-profile background|ack
rocksdb|sync false background|--rocksdb-sync false --rocksdb-profile background|process
redis|appendfsync always|--redis-fsync always $REDIS_OPTS|ack
redis|appendfsync everysec|--redis-fsync everysec $REDIS_OPTS|process"
if [ "$QUICK" = 1 ]; then
    CONFIGS=$(echo "$CONFIGS" | awk -F'|' '!seen[$1]++')
fi
# The modes: MODE|PERSIST|crashtest options.  PERSIST is the power-cut
# model (random: one of any-subset, per-file-prefix and ordered per
# trial, crashtest's default; it applies to every mode with a power cut).
MODES="kill-io|random|--mode kill-io
torn|random|--mode torn
powerloss|random|--mode powerloss
powerloss|drop-unsynced-data|--mode powerloss --persist drop-unsynced-data
recovery-crash|random|--mode recovery-crash
fsync-fail|random|--mode fsync-fail"

exp_begin foreign_engines /dev/shm/crashlab-exp-foreign_engines

# cell TARGET OPTS MODE_OPTS OUT [TRIALS]: one campaign of TRIALS (by
# default the target's budget) trials, its --json summary written to
# OUT; its exit status (0 clean, 1 violations, 2 refused or set-up error)
# is returned.  Redis runs workloads of its own (no --workload).
cell() {
    local target=$1 opts=$2 mopts=$3 out=$4 rc=0 n wopts=$QUICK_OPTS
    n=${5:-$(budget "$target")}
    [ "$target" = redis ] && wopts=
    rm -rf "$EXP_DATA" "$out" && mkdir -p "$EXP_DATA"
    # shellcheck disable=SC2086
    "$CT" --target "$target" $opts $mopts $wopts --seed "$SEED" \
        --trials "$n" --dir "$EXP_DATA" --quiet --json \
        >"$out" 2>"$EXP_SCRATCH/stderr" </dev/null || rc=$?
    return $rc
}

# budget TARGET: the trials of a cell of TARGET.
budget() {
    if [ "$1" = redis ]; then echo "$RTRIALS"; else echo "$TRIALS"; fi
}

# Every target must run before anything is measured: a kill-io campaign
# of one trial of its first configuration.
for target in $(echo "$CONFIGS" | cut -d'|' -f1 | uniq); do
    opts=$(echo "$CONFIGS" | awk -F'|' -v t="$target" '$1 == t { print $3; exit }')
    exp_step "can $target run? (one kill-io trial)"
    rc=0
    cell "$target" "$opts" "--mode kill-io" "$EXP_SCRATCH/probe" 1 || rc=$?
    if [ $rc -ge 2 ]; then
        cat "$EXP_SCRATCH/stderr" >&2
        exp_unavailable "crashtest --target $target cannot run here (exit $rc; make deps installs the packages of every target)"
    fi
    [ "$target" = engine ] && cp "$EXP_SCRATCH/probe" "$EXP_SCRATCH/kinds.json"
done
# The violation kinds are the JSON's verdicts but ok, detected and
# expected-loss, in its order; one column each.
KINDS=$(python3 -c '
import json, sys
v = json.load(open(sys.argv[1]))["verdicts"]
print(",".join(k for k in v if k not in ("ok", "detected", "expected-loss")))
' "$EXP_SCRATCH/kinds.json") || exp_die "no verdicts in crashtest's --json"

exp_header "QUICK=$QUICK experiments/foreign_engines.sh ($CT --target T CONFIG --mode M [--persist drop-unsynced-data] ${QUICK_OPTS:+$QUICK_OPTS }--seed $SEED --trials $TRIALS --json --dir $EXP_DATA; redis: $REDIS_OPTS --trials $RTRIALS)"
exp_note "$TRIALS trials per cell ($RTRIALS for redis), crashtest's default jobs (one per core); power cuts under --persist random (one of any-subset, per-file-prefix, ordered per trial) unless the persist column says drop-unsynced-data; fs model posix-strict"
exp_note "violations = broken promises (the sum of the kind columns); expected_losses = acknowledged commits lost where the configuration promised nothing; detected = damage the target refused where nothing was promised; status refused = crashtest exit 2 before any trial"
echo "target,configuration,mode,persist,promise,status,trials,seconds,states_per_second,violations,$KINDS,expected_losses,detected" >>"$EXP_TMP"

ncells=$(($(echo "$CONFIGS" | wc -l) * $(echo "$MODES" | wc -l)))
i=0
while IFS='|' read -r target config opts promise; do
    while IFS='|' read -r mode persist mopts; do
        i=$((i + 1))
        exp_step "[$i/$ncells] $target $config, $mode ($persist): $(budget "$target") trials"
        rc=0
        cell "$target" "$opts" "$mopts" "$EXP_SCRATCH/out" || rc=$?
        if [ $rc -ge 2 ]; then
            # Refused before any trial: no summary (and no trial CSV).
            if [ -s "$EXP_SCRATCH/out" ]; then
                cat "$EXP_SCRATCH/stderr" >&2
                exp_die "$target $config $mode: exit $rc after trials had run (a set-up error)"
            fi
            echo "$target,$config,$mode,$persist,$promise,refused,0,,,,$(echo "$KINDS" | sed 's/[^,]//g'),," >>"$EXP_TMP"
            exp_step "  refused (exit $rc)"
            continue
        fi
        python3 - "$EXP_SCRATCH/out" "$KINDS" "$(budget "$target")" "$promise" \
            "$target,$config,$mode,$persist,$promise" >>"$EXP_TMP" <<'PY' ||
import json, sys
out, kinds, want, promise, key = sys.argv[1:]
kinds = kinds.split(",")
j = json.load(open(out))
n, trials, secs, rate = (j["verdicts"], j["trials"], j["seconds"],
                         j["states_per_second"])
if j.get("promise") != promise:
    sys.exit("crashtest judged the promise %r, the table says %r" % (j.get("promise"), promise))
unknown = set(n) - set(kinds) - {"ok", "detected", "expected-loss"}
if unknown or trials != int(want):
    sys.exit("unexpected verdicts %s or %d trials of %s" % (sorted(unknown), trials, want))
v = [n.get(k, 0) for k in kinds]
print("%s,ran,%d,%.1f,%.1f,%d,%s,%d,%d" % (key, trials, secs, rate, sum(v),
      ",".join(map(str, v)), n.get("expected-loss", 0), n.get("detected", 0)))
PY
            exp_die "$target $config $mode: its summary could not be read"
        exp_step "  $(tail -1 "$EXP_TMP")"
    done <<<"$MODES"
done <<<"$CONFIGS"
exp_end
