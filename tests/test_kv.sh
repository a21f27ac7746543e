#!/bin/bash
# test_kv.sh - the kv command end to end: exit codes, the crash demo, and
# how damage to the log is reported.  Run by make test with KV set to the
# binary under test.
set -u
KV=${KV:-build/kv}
T=$(mktemp -d "${TMPDIR:-/dev/shm}/crashlab-kv-XXXXXX")
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh"

D=$T/db
"$KV" -d "$D" set lang c; check "set" 0 $?
[ "$("$KV" -d "$D" get lang)" = c ]; check "get prints the value" 0 $?
"$KV" -d "$D" get nope 2>"$T/err"; check "get of a missing key" 1 $?
contains "not-found message" "$T/err" "not found"
"$KV" -d "$D" del lang; check "del" 0 $?
"$KV" -d "$D" del lang 2>/dev/null; check "del of a missing key" 1 $?
"$KV" -d "$D" frobnicate 2>/dev/null; check "unknown command" 2 $?
"$KV" -d "$D" set onlykey 2>/dev/null; check "missing argument" 2 $?
"$KV" -d "$D" --sync sometimes get x 2>/dev/null; check "bad sync mode" 2 $?
"$KV" -d "$D" set "$(head -c 1100 /dev/zero | tr '\0' k)" v 2>"$T/err"
check "oversized key" 6 $?
contains "oversized key message" "$T/err" "too large"
"$KV" -d "$D" check >/dev/null; check "check" 0 $?

# The crash demo: a value set before a load survives kill -9 in the middle
# of the load.
"$KV" -d "$D" set lang c; check "set before load" 0 $?
"$KV" -d "$D" load --batch 50 >"$T/load.out" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q loaded "$T/load.out" && break; sleep 0.05; done
"$KV" -d "$D" get lang 2>"$T/err"; check "second process while loading" 5 $?
contains "locked message" "$T/err" "LOCK"
kill -9 $pid
wait $pid 2>/dev/null
[ "$("$KV" -d "$D" get lang)" = c ]; check "value survives kill -9" 0 $?
"$KV" -d "$D" check >/dev/null; check "check after the crash" 0 $?

# A truncated last record is cut and reported by kv recover.
D2=$T/db2
for i in 1 2 3 4 5; do "$KV" -d "$D2" set "k$i" "value $i" || exit 1; done
seg=$D2/wal-0000000000000001
size=$(stat -c %s "$seg")
truncate -s $((size - 10)) "$seg"
"$KV" -d "$D2" recover >"$T/rec"; check "recover after a truncated tail" 0 $?
contains "recover reports the cut" "$T/rec" "torn tail cut: wal-0000000000000001 at offset"
"$KV" -d "$D2" get k5 2>/dev/null; check "the cut record is gone" 1 $?
[ "$("$KV" -d "$D2" get k4)" = "value 4" ]; check "earlier records stay" 0 $?

# A byte flipped in the middle of a segment is corruption, never skipped:
# kv get fails naming the file and the offset.
D3=$T/db3
for i in $(seq 1 40); do "$KV" -d "$D3" --sync commit set "k$i" "value $i" || exit 1; done
seg=$D3/wal-0000000000000001
size=$(stat -c %s "$seg")
off=$((size / 2))
byte=$(od -An -tu1 -j $off -N1 "$seg" | tr -d ' ')
printf "$(printf '\\%03o' $(((byte + 1) % 256)))" |
    dd of="$seg" bs=1 seek=$off conv=notrunc status=none
"$KV" -d "$D3" get k1 2>"$T/err"; check "get on a damaged log" 3 $?
contains "message names the segment" "$T/err" "wal-0000000000000001"
contains "message names the offset" "$T/err" "offset"
"$KV" -d "$D3" get k1 2>/dev/null; check "still refused (nothing was cut)" 3 $?

finish
