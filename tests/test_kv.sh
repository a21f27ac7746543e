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
# values the engine would refuse are usage errors, told before the open
"$KV" -d "$T/ps" --page-size 1000 get a 2>"$T/err"; check "bad page size" 2 $?
contains "bad page size message" "$T/err" "page size 1000 is not a power of two in 4096..65536"
"$KV" -d "$T/ps" --page-size 1000 set a 1 2>/dev/null; check "bad page size on set" 2 $?
[ ! -e "$T/ps" ]; check "a bad page size made nothing" 0 $?
"$KV" -d "" get a 2>"$T/err"; check "empty -d" 2 $?
contains "empty -d message" "$T/err" "-d needs a directory"
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
check "the locked message names the path once" 1 "$(grep -o "$D" "$T/err" | wc -l)"
kill -9 $pid
wait $pid 2>/dev/null
[ "$("$KV" -d "$D" get lang)" = c ]; check "value survives kill -9" 0 $?
"$KV" -d "$D" check >/dev/null; check "check after the crash" 0 $?

# load prints its total once, whether or not its last commit crossed a
# progress count
check "load of 3 in one batch prints the total once" "loaded 3" \
    "$("$KV" -d "$T/ld" load --count 3 --batch 100000)"
check "load of 10000 prints the total once" "loaded 10000" \
    "$("$KV" -d "$T/ld" load --count 10000 --batch 5000 --value-size 1)"
check "load of 20001 prints its progress and the total" "loaded 10000
loaded 20000
loaded 20001" "$("$KV" -d "$T/ld" load --count 20001 --batch 1000 --value-size 1)"

# A close checkpoints: the next open has no record to replay.
D1=$T/db1
"$KV" -d "$D1" set a 1 && "$KV" -d "$D1" set b 2 || exit 1
"$KV" -d "$D1" recover >"$T/rec1"; check "recover after clean closes" 0 $?
contains "a close checkpoints" "$T/rec1" "records replayed: 0"

# A truncated last record is cut and reported by kv recover (the closes
# leave the log, as a crash would).
D2=$T/db2
for i in 1 2 3 4 5; do
    "$KV" -d "$D2" --no-close-checkpoint set "k$i" "value $i" || exit 1
done
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
for i in $(seq 1 40); do
    "$KV" -d "$D3" --sync commit --no-close-checkpoint set "k$i" "value $i" ||
        exit 1
done
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

# Help and usage: no command touches the database when asked for help, an
# unknown command is named, and a word that looks like an option is not
# taken for a key.
D4=$T/db4
"$KV" -d "$D4" set k v || exit 1
"$KV" -d "$D4" get --help >"$T/out" 2>&1; check "get --help" 0 $?
contains "get --help prints get's usage" "$T/out" "usage: kv .* get KEY"
"$KV" -d "$D4" set --help x >"$T/out" 2>&1; check "set --help x" 0 $?
"$KV" -d "$D4" get -- --help 2>/dev/null; check "set --help stored nothing" 1 $?
"$KV" -d "$D4" help >"$T/out" 2>&1; check "kv help" 0 $?
contains "kv help lists the commands" "$T/out" "checkpoint"
"$KV" help scan >"$T/out" 2>&1; check "kv help scan" 0 $?
contains "kv help scan" "$T/out" "usage: kv .* scan"
"$KV" -d "$D4" frobnicate 2>"$T/err"; check "unknown command" 2 $?
contains "the unknown command is named" "$T/err" "'frobnicate'"
"$KV" -d "$D4" set -x y 2>/dev/null; check "an unknown option is refused" 2 $?
"$KV" -d "$D4" set -- -1 minus; check "set -- -1" 0 $?
check "get -- -1" "minus" "$("$KV" -d "$D4" get -- -1)"

# Only set and load create a database: a mistyped path is an error and
# leaves nothing behind.
for cmd in "get x" "del x" "scan" "check" "recover" "checkpoint" "stats"; do
    # shellcheck disable=SC2086
    "$KV" -d "$T/typo" $cmd >/dev/null 2>"$T/err"
    check "kv $cmd on a missing database" 4 $?
    [ ! -e "$T/typo" ]; check "kv $cmd created nothing" 0 $?
done
contains "missing database message" "$T/err" "no such database"

# A log without its page file is a damaged database, not a missing one:
# no command is told to create one, and set does not replace the log.
D5=$T/db5
"$KV" -d "$D5" load --count 200 --batch 1 >/dev/null || exit 1
rm "$D5/pages"
segs=$(cd "$D5" && md5sum wal-*)
"$KV" -d "$D5" get x >/dev/null 2>"$T/err"
check "get beside a log without its page file" 3 $?
contains "the message names the log segment" "$T/err" "$D5/wal-0"
grep -q "creates one" "$T/err" && bad "get advises creating a database: $(cat "$T/err")" || ok
"$KV" -d "$D5" set new 1 2>"$T/err"
check "set beside a log without its page file" 3 $?
[ ! -e "$D5/pages" ]; check "set created no page file" 0 $?
check "the log is left as it was" "$segs" "$(cd "$D5" && md5sum wal-*)"

# scan escapes what would make its lines ambiguous; get prints raw bytes.
"$KV" -d "$D4" set "$(printf 'a\tb')" "$(printf 'one\ntwo\\x\001')" || exit 1
"$KV" -d "$D4" scan --prefix a >"$T/scan"; check "scan" 0 $?
check "scan escapes tab, newline, backslash and control bytes" \
    'a\tb	one\ntwo\\x\x01' "$(cat "$T/scan")"
check "one line per key" 1 "$(wc -l <"$T/scan")"
# --limit 0 is no limit, as kv.1 says
"$KV" -d "$D4" scan >"$T/scan.all" || exit 1
"$KV" -d "$D4" scan --limit 0 >"$T/scan0"; check "scan --limit 0" 0 $?
check "scan --limit 0 prints every key" "$(cat "$T/scan.all")" "$(cat "$T/scan0")"
check "scan --limit 1 prints one" 1 "$("$KV" -d "$D4" scan --limit 1 | wc -l)"
mandoc -T ascii "$(dirname "$0")/../man/kv.1" | command col -bx | tr -s ' \n' ' ' |
    grep -q "at most n of them (n 0, the default: every one)" && ok ||
    bad "kv.1 does not say what scan --limit 0 does"
check "get prints the value unescaped" "$(printf 'one\ntwo\\x\001')" \
    "$("$KV" -d "$D4" get "$(printf 'a\tb')")"

finish
