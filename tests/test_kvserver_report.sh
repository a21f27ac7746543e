#!/bin/bash
# test_kvserver_report.sh - kvserver --report FILE: after an open, one line
# "open" + tab-separated name=value fields that programs read instead of
# the log (the crash harness reads recovery figures from it): result=ok
# and the recovery figures after a successful open, also after a crash;
# result=error and the engine's code when the open is refused; after a
# stop by signal a second line, "stop", with result=ok, or result=error
# and the engine's code when the stop failed.
set -u
KVS=$(dirname "${KV:-build/kv}")/kvserver
T=$(mktemp -d "${TMPDIR:-/dev/shm}/crashlab-kvsreport-XXXXXX")
pids=()
trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh"

# field NAME FILE: the value of NAME in the report
field() { tr '\t' '\n' <"$2" | sed -n "s/^$1=//p"; }
# start DIR REPORT: kvserver in the background; its port in $port
start() {
    "$KVS" -d "$1" --port 0 --report "$2" >"$T/out" 2>>"$T/log" &
    pids+=($!)
    pid=$!
    for _ in $(seq 100); do
        port=$(sed -n 's/^kvserver: listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$T/out")
        [ -n "$port" ] && return 0
        sleep 0.05
    done
    return 1
}

start "$T/db" "$T/r1" || bad "kvserver did not start"
check "first field" open "$(cut -f1 "$T/r1")"
check "created: result" ok "$(field result "$T/r1")"
check "created: created" 1 "$(field created "$T/r1")"
check "created: nothing replayed" 0 "$(field records "$T/r1")"
field usec "$T/r1" | grep -qE '^[0-9]+$' && ok || bad "usec is not a number: $(cat "$T/r1")"

# a second server on the same directory is refused (locked)
"$KVS" -d "$T/db" --port 0 --report "$T/r2" >/dev/null 2>&1
check "locked: exit 5" 5 $?
check "locked: result" error "$(field result "$T/r2")"
field rc "$T/r2" | grep -qE '^-[0-9]+$' && ok || bad "locked: rc is not an engine code: $(cat "$T/r2")"

# writes, a crash, and the restart reports what it replayed
for i in $(seq 20); do printf 'SET k%d v%d\n' "$i" "$i"; done | timeout 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port; cat >&3; for i in \$(seq 20); do read -r l <&3; done; echo QUIT >&3" 
kill -9 "$pid"
wait "$pid" 2>/dev/null
start "$T/db" "$T/r3" || bad "kvserver did not restart"
check "restart: result" ok "$(field result "$T/r3")"
check "restart: not created" 0 "$(field created "$T/r3")"
# (the pipelined SETs are committed in groups: a record holds many)
[ "$(field records "$T/r3")" -ge 1 ] && ok || bad "restart: no record replayed: $(cat "$T/r3")"
[ "$(field bytes "$T/r3")" -gt 0 ] && ok || bad "restart: no log byte read: $(cat "$T/r3")"
kill -TERM "$pid"
wait "$pid"
check "clean stop" 0 $?
check "clean stop: the open line stays first" open "$(sed -n 1p "$T/r3" | cut -f1)"
check "clean stop: a stop line" "$(printf 'stop\tresult=ok')" "$(sed -n 2p "$T/r3")"

# a stop that fails says so, with the engine's code: a disk that refuses
# writes (a file-size limit; SIGXFSZ ignored, so writes past it fail)
(
    trap '' XFSZ
    prlimit --fsize=262144 "$KVS" -d "$T/db4" --port 0 --report "$T/r4" \
        >"$T/out4" 2>>"$T/log" &
    echo $! >"$T/pid4"
    wait $!
    echo $? >"$T/st4"
) &
port=
for _ in $(seq 100); do
    port=$(sed -n 's/^kvserver: listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$T/out4" 2>/dev/null)
    [ -n "$port" ] && break
    sleep 0.05
done
[ -n "$port" ] && ok || bad "limited kvserver did not start"
pids+=("$(cat "$T/pid4")")
v=$(printf '%01000d' 0)
for i in $(seq 400); do printf 'SET k%d %s\n' "$i" "$v"; done | timeout 20 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port; cat >&3; while read -r l <&3; do [ \"\$l\" = OK ] || { echo \"\$l\"; break; }; done" >"$T/err4"
check "limited: a SET refused" "ERROR File too large" "$(head -1 "$T/err4")"
kill -TERM "$(cat "$T/pid4")"
for _ in $(seq 200); do [ -s "$T/st4" ] && break; sleep 0.05; done
check "failed stop: exit 1" 1 "$(cat "$T/st4" 2>/dev/null)"
check "failed stop: result" error "$(sed -n 2p "$T/r4" | tr '\t' '\n' | sed -n 's/^result=//p')"
sed -n 2p "$T/r4" | tr '\t' '\n' | sed -n 's/^rc=//p' | grep -qE '^-[0-9]+$' && ok ||
    bad "failed stop: rc is not an engine code: $(cat "$T/r4")"
sed -n 2p "$T/r4" | grep -q "kind=" && ok || bad "failed stop: no kind: $(cat "$T/r4")"
finish
