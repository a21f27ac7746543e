#!/bin/bash
# test_timeout.sh - a target that hangs does not stall a campaign: a
# verifier process that runs past --timeout is killed, its trial is a
# recovery violation, and the trials after it are verified (by a new
# verifier process, or one per state with --fresh-verifier); a replay
# says the same; the engine's campaigns do not run into the limit; a bad
# --timeout is refused.
# Run by make test with CRASHTEST set to the binary.
set -u
CT=${CRASHTEST:-build/crashtest}
T=$(mktemp -d "${TMPDIR:-/dev/shm}/crashlab-to-XXXXXX")
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh"

# broken-hang's recovery never returns when it replayed an odd number of
# log records
campaign broken-hang hang --mode kill-io --threads 1 --trials 12 --seed 1 \
    --timeout 1
check "a hanging recovery exits 1" 1 "$rc"
check "every trial has its row" 12 "$(col verdict <"$T/hang.csv" | wc -l)"
check "hangs are recovery violations" "recovery " "$(kinds "$T/hang.csv")"
n=$(count violation "$T/hang.csv")
[ "$n" -ge 3 ] && ok || bad "only $n hanging recoveries"
n=$(count ok "$T/hang.csv")
[ "$n" -ge 1 ] && ok || bad "no trial verified besides the hanging ones"
contains "the summary names the violations" "$T/hang.out" "violations by kind: recovery $(count violation "$T/hang.csv")"

# the same with a verifier process per state: the same verdicts (one
# writer thread: the crash states repeat)
campaign broken-hang fresh --mode kill-io --threads 1 --trials 12 --seed 1 \
    --timeout 1 \
    --fresh-verifier
check "fresh verifiers: exit 1" 1 "$rc"
check "fresh verifiers: the same verdicts" "$(col verdict <"$T/hang.csv")" \
    "$(col verdict <"$T/fresh.csv")"

# a replay of a hanging trial
id=$(first_trial violation "$T/hang.csv")
"$CT" --seed 1 --replay "$id" --target broken-hang --mode kill-io --threads 1 \
    --timeout 1 \
    --dir "$T" --csv "$T/replay.csv" >"$T/replay.out" 2>&1
check "the replay exits 1" 1 $?
check "the replay: a recovery violation" "recovery " "$(kinds "$T/replay.csv")"

# the engine's trials finish well within the limit (ten seconds: the
# sanitizers slow them)
campaign engine eng --trials 60 --seed 1 --timeout 10
check "the engine under --timeout 10: exit 0" 0 "$rc"
check "the engine under --timeout 10: no violation" "" "$(kinds "$T/eng.csv")"

# bad values
for v in 0 x 86401; do
    "$CT" --trials 1 --timeout "$v" >"$T/bad.out" 2>&1
    check "--timeout $v exits 2" 2 $?
done
contains "the message says the range" "$T/bad.out" "1..86400"
finish
