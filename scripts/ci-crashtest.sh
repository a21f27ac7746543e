#!/bin/bash
# ci-crashtest.sh - the crash campaigns CI runs on every submission: every
# mode and workload on the default settings and on the settings that take
# other paths through the engine (no torn-page protection, doublewrite,
# sync off and periodic, small pool, 4 KiB sectors), and failed fsyncs that
# lose the unsynced writes (fsync-fail, the error mode that needs no
# libfiu; make mutants QUICK=1 covers the others), and kvserver crashed
# under concurrent clients (every server mode; then many clients, sync
# commit and ordered power cuts), all from one seed derived from the
# commit, so a rerun of the same commit repeats them (the server
# campaigns only in their parameters: the server's threads and the
# clients interleave as they will).
# A violation prints its replay command; the script exits 1 if any campaign
# found one.
#
# Usage: scripts/ci-crashtest.sh [TRIALS_PER_CAMPAIGN]   (default 1000)
set -u
cd "$(dirname "$0")/.." || exit 2
CT=${CRASHTEST:-build/crashtest}
N=${1:-1000}
commit=$(git rev-parse HEAD 2>/dev/null || echo 0000000000000000)
seed=0x${commit:0:16}
echo "ci-crashtest: seed $seed (from commit $commit), $N trials per campaign"
status=0
while read -r name args; do
    [ -z "$name" ] && continue
    echo
    echo "--- campaign $name: $CT --seed $seed --trials $N --quiet $args"
    # shellcheck disable=SC2086
    "$CT" --seed "$seed" --trials "$N" --quiet $args
    rc=$?
    if [ $rc -eq 1 ]; then
        echo "ci-crashtest: campaign $name found violations (replay commands above)"
        status=1
    elif [ $rc -ne 0 ]; then
        echo "ci-crashtest: campaign $name could not run (exit $rc)"
        status=2
    fi
done <<'CAMPAIGNS'
defaults
no-torn-protection --torn-protection none
doublewrite       --torn-protection dwb --sector 4096
sync-off          --sync off --pool-bytes 262144
sync-periodic     --sync periodic --checkpoint-bytes 65536
commit-ordered    --sync commit --persist ordered --page-size 16384
fsync-failures    --mode fsync-fail
server            --target server
server-clients    --target server --clients 24 --sets 40 --sync commit --persist ordered
CAMPAIGNS
exit $status
