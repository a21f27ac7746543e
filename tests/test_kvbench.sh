#!/bin/bash
# test_kvbench.sh - kvbench end to end, small: the one-scenario form
# through kv, every scenario on our engine (recovery kills a real writer),
# two peers, the JSON and CSV outputs and the exit codes.  Run by make test
# with KV and KVBENCH set to the binaries under test.
set -u
KV=${KV:-build/kv}
KVBENCH=${KVBENCH:-build/kvbench}
T=$(mktemp -d "${TMPDIR:-/dev/shm}/crashlab-kvbench-XXXXXX")
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh"

"$KV" -d "$T/one" bench 300 benchkey 128 >"$T/out" 2>&1
check "kv bench N PREFIX SIZE" 0 $?
contains "one-scenario rate" "$T/out" "300 puts of 128-byte values"
contains "one-scenario read back" "$T/out" "read back: 300 of 300 keys"
contains "one-scenario fsyncs" "$T/out" "1.00 puts per fsync"
lat=$(grep '^latency:' "$T/out")
check "every latency figure has its unit" \
    "$(echo "$lat" | grep -oE ' [0-9]+\.[0-9]+' | wc -l)" \
    "$(echo "$lat" | grep -oE ' [0-9]+\.[0-9]+ us' | wc -l)"
# Without -d: ./kvbench.tmp, made and removed again.
KVABS=$(cd "$(dirname "$KV")" && pwd)/$(basename "$KV")
mkdir "$T/cwd"
(cd "$T/cwd" && "$KVABS" bench 20 benchkey 16 >/dev/null 2>&1)
check "kv bench without -d" 0 $?
check "kv bench without -d leaves nothing behind" "" "$(ls -A "$T/cwd")"
# A missing VALUE_SIZE is named as such.
(cd "$T/cwd" && "$KVABS" bench 10 benchkey >/dev/null 2>"$T/err")
check "kv bench N PREFIX" 2 $?
contains "the missing size is named" "$T/err" "VALUE_SIZE is missing"
check "nothing made for a usage error" "" "$(ls -A "$T/cwd")"

"$KVBENCH" --dir "$T/all" --quiet -n 400 --keys 400 --threads 1,3 \
    --passes 2 --batch 50 --json \
    sync-put sync-put-mt batch-put nosync-put get scan recovery >"$T/json"
check "every scenario on crashlab" 0 $?
for w in sync-put sync-put-mt batch-put nosync-put get scan recovery; do
    contains "JSON has $w" "$T/json" "\"scenario\": \"$w\""
done
contains "recovery found every key" "$T/json" '"keys_recovered": 400'
contains "sync-put-mt with 3 threads" "$T/json" '"threads": 3'
contains "no corrupt reads" "$T/json" '"corrupt_reads": 0'
python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$T/json"
check "JSON parses" 0 $?

"$KVBENCH" --dir "$T/peers" --quiet --engine crashlab,sqlite,lmdb -n 200 \
    --keys 200 --raw --csv "$T/csv" sync-put get >"$T/table"
check "two peers and the disk" 0 $?
contains "table ratios" "$T/table" "ours/peer"
contains "table disk line" "$T/table" "4 KiB append + fdatasync"
contains "CSV machine header" "$T/csv" "^# machine: "
contains "CSV file system" "$T/csv" "^# file system: "
contains "CSV columns" "$T/csv" "^engine,scenario,threads"
# one vocabulary of machine lines: kvbench's CSV and build/csvmeta (what the
# shell scripts write) name the same fields in the same order
hkeys() { sed -n 's/^# \([A-Za-z ]*\): .*/\1/p' | head -8 | tr '\n' ','; }
check "kvbench and csvmeta: the same header names" \
    "$("$(dirname "$KVBENCH")/csvmeta" --dir "$T" -- x | hkeys)" "$(hkeys <"$T/csv")"
check "the header names" "machine,CPU,cores,kernel,file system,date,commit,command," \
    "$(hkeys <"$T/csv")"
contains "CSV lmdb get row" "$T/csv" "^lmdb,get,1,"
contains "CSV disk row" "$T/csv" "^disk,disk-fdatasync-4k,"

"$KVBENCH" --dir "$T/x" frobnicate 2>"$T/err"
check "unknown scenario" 2 $?
contains "the unknown scenario is named" "$T/err" "'frobnicate'"
"$KVBENCH" --dir "$T/x" --engine nosuch 2>/dev/null
check "unknown engine" 2 $?
# kvbench experiment: each measurement prints its CSV fields; strict options
X="$KVBENCH experiment"
fields() { awk -F, '{ print NF }' | sort -u | tr '\n' ' '; }
check "experiment raw" "2 " "$($X raw "$T/e1" --seconds 0.1 | fields)"
check "experiment put-rate" "4 " "$($X put-rate "$T/e2" --seconds 0.1 --checkpoint-bytes 256K | fields)"
check "experiment writers" "3 " "$($X writers "$T/e3" --threads 2 --seconds 0.1 --sync commit | fields)"
check "experiment load" "2 " "$($X load "$T/e4" --wal-bytes 64K --keys 1000 --batch 1 | fields)"
check "experiment recover" "4 " "$($X recover "$T/e4" | fields)"
check "experiment fork" "2 " "$($X fork "$T/e7" --seconds 0.05 | fields)"
check "experiment open-close" "2 " "$($X open-close "$T/e7" --seconds 0.05 | fields)"
check "experiment fork-open" "2 " "$($X fork-open "$T/e7" --seconds 0.05 | fields)"
$X syscalls "$T/e8" --seconds 0.2 >"$T/sys.csv"
check "experiment syscalls" "0 4 getppid pread-4k fstat page-fault page-fault-thp" \
    "$? $(fields <"$T/sys.csv")$(cut -d, -f1 "$T/sys.csv" | tr '\n' ' ' | sed 's/ $//')"
check "experiment syscalls: every cost measured" "" \
    "$(awk -F, '$2 <= 0 || $4 <= 0' "$T/sys.csv")"
[ -z "$(ls "$T/e8")" ] && ok || bad "experiment syscalls left its file behind"
$X io-tables "$T/e9" --seconds 0.4 >"$T/io.csv"
check "experiment io-tables" "0 5 posix,off posix,commit memfs,off memfs,commit crashio-posix,off crashio-posix,commit crashio-memfs,off crashio-memfs,commit" \
    "$? $(fields <"$T/io.csv")$(cut -d, -f1,2 "$T/io.csv" | tr '\n' ' ' | sed 's/ $//')"
check "experiment io-tables: every table ran" "" \
    "$(awk -F, '$3 <= 0 || $5 <= 0' "$T/io.csv")"
[ ! -e "$T/e9" ] && ok || bad "experiment io-tables left its files behind"
[ -f "$T/e7/LOCK" ] || [ -n "$(ls "$T/e7")" ] && ok || bad "open-close made its database"
check "experiment crash-cycle" "4 " "$($X crash-cycle "$T/e5" --checkpoint-bytes 128K --trials 2 --keys 1000 | fields)"
check "experiment crash-cycle, checkpoints in background" "4 " "$($X crash-cycle "$T/e8" --checkpoint-bytes 128K --checkpoint-mode background --trials 2 --keys 1000 | fields)"
# our engine's own settings: the checkpoints they ask for are made (the
# stats of a put-rate run count them), bad ones are usage errors
check "put-rate with checkpoints in background checkpoints" "yes" \
    "$($X put-rate "$T/e9" --checkpoint-bytes 64K --checkpoint-mode background --seconds 0.2 | awk -F, '{print ($3 > 0 ? "yes" : "no")}')"
"$KVBENCH" --dir "$T/co" --quiet -n 300 --trials 2 --crashlab-options checkpoint-mode=spread,checkpoint-bytes=64K,torn-protection=dwb \
    recovery-ckpt nosync-put >/dev/null 2>&1
check "--crashlab-options: a run with them" 0 $?
for v in checkpoint-mode=fuzzy checkpoint-bytes=0 torn-protection=x sync=off nonsense; do
    "$KVBENCH" --dir "$T/co" --crashlab-options "$v" sync-put >/dev/null 2>&1
    check "--crashlab-options '$v' is a usage error" 2 $?
done
for bad in "raw $T/e6 --seconds 1x" "put-rate $T/e6 --batch -1" "load $T/e6 --wal-bytes 1X" \
    "load $T/e6 --wal-bytes 99999999999999999999" "put-rate --seconds 1 $T/e6" \
    "frobnicate $T/e6" "raw $T/e6 extra" "put-rate $T/e6 --checkpoint-mode fuzzy"; do
    $X $bad >/dev/null 2>&1
    check "experiment $bad: usage error" 2 $?
done
for v in 1x " 1" -1 nan; do
    "$KVBENCH" --dir "$T/x" --seconds "$v" sync-put 2>/dev/null
    check "--seconds '$v' is a usage error" 2 $?
done

finish
