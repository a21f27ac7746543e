#!/bin/sh
# bench-server.sh - kvserver against redis-server at the same durability,
# measured with redis-benchmark; prints a table and writes results/server.csv.
#
# Usage: scripts/bench-server.sh [path/to/kvserver]     (make bench-server)
#
# Both servers keep their data in one directory on the same disk (default
# build/bench-server under the project: not /dev/shm, fsync must cost what
# it costs on a disk):
#   kvserver -d DIR/kvserver            sync mode group (the default): OK
#                                       once the commit is durable
#   redis-server --appendonly yes --appendfsync always --save ''
#                                       the reply follows the AOF fsync
# For each test (SET, GET), client count (1, 10, 50) and pipeline depth
# (1, 16) the two servers run in turn, REPEAT times with the order swapped
# each time, and the median requests per second of each is reported (the
# CSV also lists every run, space-separated, in its last two columns).
#
# Environment: BENCH_DIR (data directory), N (requests per run without
# pipelining, default 20000), NP (with pipelining, default 200000), REPEAT
# (default 3), KEYSPACE (redis-benchmark -r, default 100000), CLIENTS
# (default "1 10 50"), PIPELINES (default "1 16"), OUT (default
# results/server.csv).
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
KVSERVER=${1:-$ROOT/build/kvserver}
BENCH_DIR=${BENCH_DIR:-$ROOT/build/bench-server}
N=${N:-20000}
NP=${NP:-200000}
REPEAT=${REPEAT:-3}
KEYSPACE=${KEYSPACE:-100000}
CLIENTS=${CLIENTS:-"1 10 50"}
PIPELINES=${PIPELINES:-"1 16"}
OUT=${OUT:-$ROOT/results/server.csv}

for tool in redis-server redis-benchmark redis-cli; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "bench-server: $tool not found (make deps installs redis-tools" \
            "and redis-server)" >&2
        exit 1
    fi
done
[ -x "$KVSERVER" ] || { echo "bench-server: no $KVSERVER (run make)" >&2; exit 1; }

KS_PID=""
RS_PID=""
cleanup() {
    [ -n "$KS_PID" ] && kill "$KS_PID" 2>/dev/null && wait "$KS_PID" 2>/dev/null
    [ -n "$RS_PID" ] && kill "$RS_PID" 2>/dev/null && wait "$RS_PID" 2>/dev/null
    rm -rf "$BENCH_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rm -rf "$BENCH_DIR"
mkdir -p "$BENCH_DIR/kvserver" "$BENCH_DIR/redis" "$(dirname "$OUT")"

# kvserver on a free port, learnt from its listening line.
"$KVSERVER" -d "$BENCH_DIR/kvserver" --port 0 >"$BENCH_DIR/kvserver.out" \
    2>"$BENCH_DIR/kvserver.log" &
KS_PID=$!
i=0
while ! grep -q 'listening on' "$BENCH_DIR/kvserver.out" 2>/dev/null; do
    i=$((i + 1))
    if [ $i -gt 600 ] || ! kill -0 "$KS_PID" 2>/dev/null; then
        echo "bench-server: kvserver did not start:" >&2
        cat "$BENCH_DIR/kvserver.log" >&2
        exit 1
    fi
    sleep 0.1
done
KS_PORT=$(sed -n 's/^kvserver: listening on .*:\([0-9]*\)$/\1/p' \
    "$BENCH_DIR/kvserver.out")

# redis-server on the first free port from 16379 on.
RS_PORT=16379
while :; do
    redis-server --port "$RS_PORT" --bind 127.0.0.1 --dir "$BENCH_DIR/redis" \
        --appendonly yes --appendfsync always --save '' --daemonize no \
        --logfile "$BENCH_DIR/redis.log" &
    RS_PID=$!
    i=0
    while [ $i -lt 100 ] && kill -0 "$RS_PID" 2>/dev/null &&
        [ "$(redis-cli -p "$RS_PORT" ping 2>/dev/null)" != PONG ]; do
        i=$((i + 1))
        sleep 0.1
    done
    if kill -0 "$RS_PID" 2>/dev/null &&
        [ "$(redis-cli -p "$RS_PORT" ping 2>/dev/null)" = PONG ]; then
        break
    fi
    kill "$RS_PID" 2>/dev/null || true
    wait "$RS_PID" 2>/dev/null || true
    RS_PID=""
    RS_PORT=$((RS_PORT + 1))
    if [ $RS_PORT -gt 16479 ]; then
        echo "bench-server: cannot start redis-server:" >&2
        cat "$BENCH_DIR/redis.log" >&2
        exit 1
    fi
done

# One redis-benchmark run; prints "rps p50_ms".
run_one() { # port test clients pipeline requests
    redis-benchmark -p "$1" -t "$2" -c "$3" -P "$4" -n "$5" -r "$KEYSPACE" \
        --csv 2>/dev/null |
        awk -F'"' -v t="$(echo "$2" | tr a-z A-Z)" \
            '$2 == t { print $4, $10; found = 1 }
             END { if (!found) print "0 0" }'
}

median() { # numbers on stdin
    sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print 0;
        else if (NR % 2) print v[(NR + 1) / 2];
        else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git -C "$ROOT" status --porcelain -- tools engine scripts \
    2>/dev/null)" ]; then
    COMMIT="$COMMIT+dirty"
fi
TMP_CSV="$BENCH_DIR/rows.csv"
: >"$TMP_CSV"

{
    echo "# bench-server: kvserver vs redis-server, redis-benchmark"
    # the machine lines in the project's one vocabulary (common/csvmeta.h)
    "$(dirname "$KVSERVER")/csvmeta" --dir "$BENCH_DIR" --commit "$COMMIT" -- \
        "N=$N NP=$NP REPEAT=$REPEAT KEYSPACE=$KEYSPACE" \
        "scripts/bench-server.sh $KVSERVER" || exit 2
    echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg)" \
        "(other processes share the machine; runs are interleaved)"
    echo "# kvserver: -d DIR (defaults: sync group, torn-protection fpw," \
        "$(redis-cli -p "$KS_PORT" info | tr -d '\r' |
            awk -F: '/^io_threads:/ { io = $2 }
                     /^committer_threads:/ { cm = $2 }
                     END { print io " I/O threads, " cm " committers)" }')"
    echo "# redis: $(redis-server --version | awk '{ print $3 }')" \
        "--appendonly yes --appendfsync always --save ''"
    echo "# redis-benchmark -t TEST -c CLIENTS -P PIPELINE -n REQUESTS" \
        "-r $KEYSPACE; rps = median of $REPEAT runs"
} >"$BENCH_DIR/header"
cat "$BENCH_DIR/header"
printf '\n%-4s %7s %8s %9s %13s %13s %7s\n' test clients pipeline requests \
    kvserver_rps redis_rps ratio

for p in $PIPELINES; do
    for c in $CLIENTS; do
        for t in set get; do
            n=$N
            [ "$p" -gt 1 ] && n=$NP
            : >"$BENCH_DIR/ks" && : >"$BENCH_DIR/rs"
            r=0
            while [ $r -lt "$REPEAT" ]; do
                if [ $((r % 2)) -eq 0 ]; then
                    run_one "$KS_PORT" $t "$c" "$p" "$n" >>"$BENCH_DIR/ks"
                    run_one "$RS_PORT" $t "$c" "$p" "$n" >>"$BENCH_DIR/rs"
                else
                    run_one "$RS_PORT" $t "$c" "$p" "$n" >>"$BENCH_DIR/rs"
                    run_one "$KS_PORT" $t "$c" "$p" "$n" >>"$BENCH_DIR/ks"
                fi
                r=$((r + 1))
            done
            ks=$(awk '{ print $1 }' "$BENCH_DIR/ks" | median)
            rs=$(awk '{ print $1 }' "$BENCH_DIR/rs" | median)
            ksp=$(awk '{ print $2 }' "$BENCH_DIR/ks" | median)
            rsp=$(awk '{ print $2 }' "$BENCH_DIR/rs" | median)
            ratio=$(awk -v a="$ks" -v b="$rs" \
                'BEGIN { if (b > 0) printf "%.2f", a / b; else print "nan" }')
            T=$(echo $t | tr a-z A-Z)
            printf '%-4s %7s %8s %9s %13.0f %13.0f %7s\n' "$T" "$c" "$p" "$n" \
                "$ks" "$rs" "$ratio"
            ksall=$(awk '{ print $1 }' "$BENCH_DIR/ks" | paste -sd ' ')
            rsall=$(awk '{ print $1 }' "$BENCH_DIR/rs" | paste -sd ' ')
            echo "$T,$c,$p,$n,$ks,$rs,$ratio,$ksp,$rsp,$ksall,$rsall" \
                >>"$TMP_CSV"
        done
    done
done

{
    cat "$BENCH_DIR/header"
    echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "test,clients,pipeline,requests,kvserver_rps,redis_rps,ratio,kvserver_p50_ms,redis_p50_ms,kvserver_runs,redis_runs"
    cat "$TMP_CSV"
} >"$OUT"
echo
echo "bench-server: wrote $OUT"
