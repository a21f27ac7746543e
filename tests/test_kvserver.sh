#!/bin/bash
# test_kvserver.sh - kvserver as a user starts it: without -d it serves
# ./kvserver.db; the README's nc example gets the replies it shows; RESP
# DEL and EXISTS take at most the keys docs/KVSERVER.md says, and the
# documents it points to exist; an
# option value the engine refuses is a usage error (exit 2) told before the
# server listens or makes the database.  Run by
# make test with KV set to the kv under test (kvserver is the one next to
# it).
set -u
KV=${KV:-build/kv}
KVSERVER=${KVSERVER:-$(cd "$(dirname "$KV")" && pwd)/kvserver}
T=$(mktemp -d "${TMPDIR:-/dev/shm}/crashlab-kvs-XXXXXX")
pid=""
trap '[ -n "$pid" ] && kill -9 $pid 2>/dev/null; rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh"

# start [ARGS...]: kvserver in $T/run on a free port; sets pid and port
start() {
    mkdir -p "$T/run"
    (cd "$T/run" && exec "$KVSERVER" --port 0 "$@" >"$T/out" 2>"$T/err") &
    pid=$!
    port=""
    for _ in $(seq 200); do
        port=$(sed -n 's/^kvserver: listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$T/out")
        [ -n "$port" ] && return 0
        kill -0 $pid 2>/dev/null || break
        sleep 0.05
    done
    bad "kvserver $* did not start: $(cat "$T/err")"
    return 1
}
stop() {
    kill -TERM $pid
    wait $pid
    check "kvserver stops with exit 0 on SIGTERM" 0 $?
    pid=""
}

# 1. no -d: the database is ./kvserver.db
if start; then
    [ -f "$T/run/kvserver.db/LOCK" ]; check "no -d serves ./kvserver.db" 0 $?
    # 2. the README's example, as printed there
    out=$(printf 'SET lang c\nGET lang\n' | nc -q1 127.0.0.1 "$port")
    check "README nc example" "OK
VALUE c" "$out"
    # 3. RESP DEL and EXISTS take at most as many keys as docs/KVSERVER.md
    # says
    req="*33\r\n\$3\r\nDEL\r\n"
    for _ in $(seq 32); do req="$req\$1\r\nk\r\n"; done
    out=$(printf '%b' "$req" | nc -q1 127.0.0.1 "$port" | tr -d '\r')
    n=$(sed -n 's/^-ERR too many keys (at most \([0-9]*\))$/\1/p' <<<"$out")
    [ -n "$n" ] || bad "DEL of 32 keys: '$out'"
    check "KVSERVER.md gives DEL and EXISTS the server's key limit" 2 \
        "$(grep -c "at most $n keys" "$(dirname "$0")/../docs/KVSERVER.md")"
    stop
fi
"$KV" -d "$T/run/kvserver.db" get lang >"$T/get" 2>&1
check "the value is in ./kvserver.db" "c" "$(cat "$T/get")"

# 4. bad values: exit 2 and the reason, before it listens or makes the
# database
bad_value() { # bad_value NAME PATTERN ARGS...
    local name=$1 pat=$2
    shift 2
    timeout 10 "$KVSERVER" --port 0 "$@" >"$T/out" 2>"$T/err"
    check "$name: exit 2" 2 $?
    contains "$name: message" "$T/err" "$pat"
    check "$name: not listening" "" "$(cat "$T/out")"
    [ ! -e "$T/bad" ]; check "$name: no database made" 0 $?
}
bad_value "--page-size 1000" "page size 1000 is not a power of two in 4096..65536" \
    -d "$T/bad" --page-size 1000
bad_value "--page-size 12288" "page size 12288 is not a power of two" \
    -d "$T/bad" --page-size 12288
bad_value "-d ''" "-d needs a directory" -d ""

# 5. docs/KVSERVER.md points only to documents of the repository
root=$(dirname "$0")/..
missing=""
while read -r d; do
    [ -e "$root/$d" ] || [ -e "$root/docs/$(basename "$d")" ] || missing="$missing $d"
done < <(grep -oE '\b[A-Za-z_/.]*[A-Z]+\.md\b' "$root/docs/KVSERVER.md" | sort -u)
check "documents KVSERVER.md names that are not in the repository" "" "$missing"

finish
