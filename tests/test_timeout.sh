#!/bin/bash
# test_timeout.sh - a target that hangs does not stall a campaign: a
# verifier process that runs past --timeout is killed, its trial is a
# recovery violation, and the trials after it are verified (by a new
# verifier process, or one per state with --fresh-verifier); a replay
# says the same; the engine's campaigns do not run into the limit; a bad
# --timeout is refused; a campaign stopped and continued (Ctrl-Z, fg)
# takes no stop for a hang.
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

# a campaign stopped (as Ctrl-Z stops it) for longer than --timeout and
# continued: the stop is nobody's hang.  Its own process group of crash
# chains (long verifier runs) and of error trials beside crash trials
# (writers that wait for the branches of their run), stopped whole five
# times for 2.5 s once its trials run (its workers and their writers or
# verifiers: five processes or more), continued half a second each time.
setsid "$CT" --duration 25 --seed 3 --quiet --timeout 2 \
    --mode kill-io,torn,powerloss,chain,fsync-fail,write-fail \
    --dir "$T" --csv "$T/stop.csv" >"$T/stop.out" 2>&1 &
pid=$!
pg=$(ps -o pgid= -p "$pid" | tr -d ' ')
check "the stopped campaign leads its process group" "$pid" "$pg"
for _ in $(seq 600); do
    [ "$(ps -o pid= -g "$pg" | wc -l)" -ge 5 ] && break
    sleep 0.1
done
: >"$T/stopped"
for _ in 1 2 3 4 5; do
    kill -STOP -- "-$pg"
    ps -o pid= -g "$pg" | wc -l >>"$T/stopped"
    sleep 2.5
    kill -CONT -- "-$pg"
    sleep 0.5
done
wait "$pid"
check "stopped 5 x 2.5 s under --timeout 2, continued: exit 0" 0 $?
check "stopped and continued: no violation" "" "$(kinds "$T/stop.csv")"
n=$(sort -n "$T/stopped" | tail -1)
[ "$n" -ge 5 ] && ok || bad "at most $n processes were running when stopped"
n=$(col verdict <"$T/stop.csv" | wc -l)
[ "$n" -ge 10 ] && ok || bad "only $n trials around the stops"

# bad values
for v in 0 x 86401; do
    "$CT" --trials 1 --timeout "$v" >"$T/bad.out" 2>&1
    check "--timeout $v exits 2" 2 $?
done
contains "the message says the range" "$T/bad.out" "1..86400"
finish
