#!/bin/bash
# test-slurm.sh - the Slurm path for real (make test-slurm): a one-node
# Slurm cluster of this machine (2 CPUs), with its own munged, slurmctld
# and slurmd started here from a slurm.conf in a temporary directory (own
# ports and sockets: a Slurm or munge already on the machine is left
# alone); submit.sh submits a 4-shard array and its merge; the merged
# summary must be the one a single run of the same campaign prints (the
# figures the clock measures aside), and every shard's output must be
# kept.  Every daemon started here is stopped on the way out, pass or
# fail.  Exit 0 pass, 1 fail, 77 skipped: the machine cannot run the
# daemons (not root) -- a skip proves nothing and CI says so.
#
# Environment: CRASHTEST (default build/crashtest), TIMEOUT (seconds to
# wait for the jobs, default 150), SKIP_FILE (when skipping, the reason is
# also written there: how .ci/run tells a skip from a failure through make).
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
CT=$(cd "$(dirname "${CRASHTEST:-build/crashtest}")" && pwd)/$(basename "${CRASHTEST:-build/crashtest}")
TIMEOUT=${TIMEOUT:-150}

if [ "$(id -u)" != 0 ]; then
    why="slurmd must run as root to start jobs, and this is uid $(id -u)"
    echo "test-slurm: SKIPPED, NOT PASSED: $why: nothing was tested" >&2
    [ -n "${SKIP_FILE:-}" ] && echo "$why" >"$SKIP_FILE"
    exit 77
fi
for p in munged slurmctld slurmd sbatch squeue scontrol; do
    command -v "$p" >/dev/null || PATH=$PATH:/usr/sbin
    command -v "$p" >/dev/null || {
        echo "test-slurm: $p is missing (make test-slurm installs slurm-wlm and munge)" >&2
        exit 1
    }
done
[ -x "$CT" ] || { echo "test-slurm: no $CT (make builds it)" >&2; exit 1; }

T=$(mktemp -d /tmp/crashlab-slurm-XXXXXX)
chmod 755 "$T"
pids=()
stop() {
    local rc=$?
    # the jobs first (their steps end with them), then the daemons
    if [ "${#pids[@]}" -gt 0 ]; then
        scancel --quiet --user root 2>/dev/null
        for _ in $(seq 50); do
            [ -z "$(squeue -h 2>/dev/null)" ] && break
            sleep 0.1
        done
    fi
    for p in "${pids[@]}"; do
        kill "$p" 2>/dev/null
    done
    for p in "${pids[@]}"; do
        for _ in $(seq 50); do
            kill -0 "$p" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$p" 2>/dev/null
    done
    if [ "$rc" -ne 0 ]; then
        for f in "$T"/*.log "$T"/out/*.log "$T"/out/slurm-*.out; do
            [ -f "$f" ] && { echo "--- $f"; tail -20 "$f"; }
        done >&2
    fi
    rm -rf "$T"
    exit "$rc"
}
trap stop EXIT
trap 'exit 1' INT TERM

# free TCP ports for slurmctld and slurmd
read -r cport dport < <(python3 -c 'import socket
s=[socket.socket() for _ in range(2)]
[x.bind(("127.0.0.1",0)) for x in s]
print(*[x.getsockname()[1] for x in s])')
host=$(hostname -s)
mkdir -p "$T/state" "$T/spool" "$T/out"
cat >"$T/slurm.conf" <<CONF
ClusterName=crashlab
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$cport
SlurmdPort=$dport
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$T/munge.sock
CredType=cred/munge
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/slurmctld.log
SlurmdLogFile=$T/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
MinJobAge=600
NodeName=$host NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=crashlab Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$T/slurm.conf

# munge: a fresh key, its own socket
dd if=/dev/urandom of="$T/munge.key" bs=1024 count=1 status=none
chmod 400 "$T/munge.key"
munged --foreground --force --socket="$T/munge.sock" --key-file="$T/munge.key" \
    --pid-file="$T/munged.pid" --log-file="$T/munged.log" \
    --seed-file="$T/munged.seed" 2>>"$T/munged.log" &
pids+=($!)
for _ in $(seq 50); do [ -S "$T/munge.sock" ] && break; sleep 0.1; done
[ -S "$T/munge.sock" ] || { echo "test-slurm: munged did not start" >&2; exit 1; }
slurmctld -D -c -f "$T/slurm.conf" >>"$T/slurmctld.log" 2>&1 &
pids+=($!)
slurmd -D -f "$T/slurm.conf" -N "$host" >>"$T/slurmd.log" 2>&1 &
pids+=($!)
up=0
for _ in $(seq 300); do
    if sinfo -h -N -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
        up=1
        break
    fi
    sleep 0.1
done
[ "$up" = 1 ] || { echo "test-slurm: the node did not come up: $(sinfo -N 2>&1)" >&2; exit 1; }
echo "test-slurm: a one-node cluster is up: $(sinfo -h -N -o '%N %c CPUs %T')"

# the campaign: crashes at I/O points with one writer thread and commit
# sync, whose verdicts and coverage are functions of the seed
ARGS=(--seed 0x51 --trials 240 --mode kill-io,torn,powerloss --threads 1
    --sync commit)
t0=$(date +%s)
ids=$(CRASHTEST=$CT "$root/scripts/slurm/submit.sh" -n 4 -o "$T/out" -c 1 \
    -s "--time=10" -- "${ARGS[@]}") || { echo "test-slurm: submit failed" >&2; exit 1; }
array=$(echo "$ids" | sed -n 1p)
merge=$(echo "$ids" | sed -n 2p)
state=""
while [ $(($(date +%s) - t0)) -lt "$TIMEOUT" ]; do
    state=$(scontrol show job "$merge" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p')
    case $state in COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY) break ;; esac
    sleep 1
done
echo "test-slurm: array $array and merge $merge: merge $state after $(($(date +%s) - t0)) s"
fail=0
bad() { echo "test-slurm: FAILED: $*" >&2; fail=1; }
[ "$state" = COMPLETED ] || bad "the merge job ended $state (or not in ${TIMEOUT} s): $(scontrol show job "$merge" 2>&1 | grep -E 'JobState|Reason')"
for i in 0 1 2 3; do
    ts=$(scontrol show job "${array}_$i" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' | head -1)
    [ "$ts" = COMPLETED ] || bad "array task $i: $ts"
    [ -s "$T/out/shard-$i.json" ] || bad "shard $i: no JSON summary kept"
    [ -s "$T/out/shard-$i.csv" ] || bad "shard $i: no CSV kept"
    [ -f "$T/out/slurm-${array}_$i.out" ] || bad "shard $i: no Slurm output file"
done
"$CT" "${ARGS[@]}" --jobs 2 --quiet >"$T/single.txt" 2>"$T/single.log" ||
    bad "the single run failed"
mask() {
    sed -E -e '/ trials in /s/[0-9]+(\.[0-9]+)?/N/g' -e 's/ on N jobs?:/ on N jobs:/' \
        -e '/time per trial|recovery time/s/[0-9]+/N/g' "$1"
}
if [ "$(mask "$T/single.txt")" = "$(mask "$T/out/summary.txt")" ]; then
    echo "test-slurm: the merged summary is the single run's:"
    sed 's/^/  /' "$T/out/summary.txt"
else
    bad "the merged summary differs from the single run's:"
    diff <(mask "$T/single.txt") <(mask "$T/out/summary.txt") >&2
fi
grep -q "^240 trials in .* on 4 jobs" "$T/out/summary.txt" ||
    bad "the summary does not count 240 trials of 4 jobs"
[ "$fail" = 0 ] || exit 1
echo "test-slurm: passed ($(($(date +%s) - t0)) s of jobs and checks)"
