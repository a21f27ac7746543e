#!/bin/sh
# bench.sh - make bench: every kvbench scenario on our engine, SQLite,
# LMDB, LevelDB and RocksDB in one interleaved run (three rounds, median
# round reported), the disk's raw 4 KiB append + fdatasync rate in the
# same directory, our engine's peak memory, and recovery with the default
# checkpoint interval.  Prints the side-by-side table and writes
# results/bench.csv (with a '#' header: machine, CPU, cores, kernel, file
# system, date, commit, command, load average) and results/bench.png.
#
# Environment: KVBENCH (default build/kvbench), BENCH_DIR (where the
# databases go, default build/bench-data: the real disk under the project
# folder), BENCH_ROUNDS (3), BENCH_SECONDS (cap of each put or get run,
# 1.5), BENCH_OUT (results), BENCH_VIA (how the run was started, for the
# CSV's command line: make bench sets "make bench").
set -eu
cd "$(dirname "$0")/.."
KVBENCH=${KVBENCH:-build/kvbench}
DIR=${BENCH_DIR:-build/bench-data}
ROUNDS=${BENCH_ROUNDS:-3}
SECONDS_CAP=${BENCH_SECONDS:-1.5}
OUT=${BENCH_OUT:-results}
mkdir -p "$OUT" "$DIR"
BENCH_COMMIT=$(git describe --always --dirty 2>/dev/null || echo unknown)
BENCH_COMMAND="${BENCH_VIA:-experiments/bench.sh} (experiments/bench.sh: $KVBENCH --engine all --raw --rounds $ROUNDS --seconds $SECONDS_CAP --dir $DIR)"
export BENCH_COMMIT BENCH_COMMAND
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Other work on the machine skews every engine's numbers (less so their
# ratios, as the rounds interleave): say how busy it was.
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# 1. the side-by-side run
"$KVBENCH" --engine all --raw --rounds "$ROUNDS" --seconds "$SECONDS_CAP" \
    --dir "$DIR" --csv "$tmp/main.csv" \
    sync-put sync-put-mt batch-put nosync-put get scan recovery
# 2. ours only: peak memory, and recovery with the default checkpoint
#    interval (crashes at random points of the checkpoint cycle)
echo
echo "== ours only: recovery with the default checkpoint interval, memory"
"$KVBENCH" --engine crashlab --dir "$DIR" --csv "$tmp/ours.csv" --quiet \
    recovery-ckpt memory | sed -n '/^recovery-ckpt\|^memory:/p'

load_after=$(cut -d' ' -f1-3 /proc/loadavg)
echo "load average (1, 5, 15 min): $load_before before the run, $load_after after"
sed "/^# command: /a # load average (1, 5, 15 min): $load_before before the run, $load_after after" \
    "$tmp/main.csv" >"$OUT/bench.csv"
grep -v '^#' "$tmp/ours.csv" | tail -n +2 >>"$OUT/bench.csv"

# 3. the plot: throughput per scenario and engine (log scale) with the
#    disk's fsync rate as a line, and recovery times
awk -F, '
    /^#/ || $1 == "engine" { next }
    { key = $2; if ($2 == "sync-put-mt") key = "sync-put-mt T=" $3
      v[key, $1] = $7; ms[key, $1] = $6 * 1000
      if (!(key in seen)) { seen[key] = 1; order[n++] = key } }
    $1 == "disk" { raw = $7 }
    END {
      split("crashlab sqlite lmdb leveldb rocksdb", e, " ")
      print "scenario crashlab sqlite lmdb leveldb rocksdb" > "'"$tmp"'/rate.dat"
      for (i = 0; i < n; i++) {
        k = order[i]
        if (k ~ /^(disk|recovery|memory)/) continue
        line = "\"" k "\""
        for (j = 1; j <= 5; j++) line = line " " ((k, e[j]) in v ? v[k, e[j]] : "NaN")
        print line > "'"$tmp"'/rate.dat"
      }
      # one row per engine: name, ms (LMDB has no log to replay)
      for (j = 1; j <= 5; j++)
        print "\"" e[j] (e[j] == "lmdb" ? " (no log)" : "") "\" " \
          (("recovery", e[j]) in ms ? ms["recovery", e[j]] : "NaN") > "'"$tmp"'/rec.dat"
      print raw > "'"$tmp"'/raw.dat"
    }' "$OUT/bench.csv"
machine=$(sed -n 's/^# machine: //p' "$OUT/bench.csv")
cpu=$(sed -n 's/^# CPU: //p' "$OUT/bench.csv")
cores=$(sed -n 's/^# cores: //p' "$OUT/bench.csv")
fs=$(sed -n 's/^# file system: //p' "$OUT/bench.csv" | sed 's/ (.*//')
date=$(sed -n 's/^# date: //p' "$OUT/bench.csv")
gnuplot -e "rate='$tmp/rate.dat'; rec='$tmp/rec.dat'; raw=$(cat "$tmp/raw.dat"); out='$OUT/bench.png'; subtitle='$cpu, $cores cores, $machine; $fs; $date'" \
    experiments/bench.gp
test -s "$OUT/bench.png"
echo "bench: wrote $OUT/bench.csv and $OUT/bench.png"
