# checkpoint_interval.gp - results/checkpoint_interval.png from the CSV of
# experiments/checkpoint_interval.sh (variables in, out, subtitle).
# Left axis: sustained put throughput; right axis: p50 and p99 recovery time
# after kills at random points of the checkpoint cycle.
set terminal pngcairo size 1100,650 noenhanced font 'DejaVu Sans,11'
set output out
agg = sprintf("< grep -v '^#' '%s' | awk -F, 'NR > 1' | sort -t, -k1,1n -k9,9n | awk -F, '$2 == \"throughput\" { tp[$1] = $6 } $2 == \"recovery\" { k = $1; n[k]++; v[k, n[k]] = $9; if (!(k in s)) { s[k] = 1; o[++m] = k } } END { for (i = 1; i <= m; i++) { k = o[i]; c = n[k]; print k, tp[k], v[k, int(0.5 * c + 0.999999)] / 1000, v[k, int(0.99 * c + 0.999999)] / 1000 } }'", in)
set title "Checkpoint interval trade-off: put throughput vs recovery time after kill -9 at random points\n".subtitle
set logscale x 2
set xlabel 'automatic checkpoint interval (MiB of log, log scale)'
set ylabel 'sustained put throughput (puts/s; durable batches of 100)'
set y2label 'recovery time (ms)'
set yrange [0:*]
set y2range [0:*]
set ytics nomirror
set y2tics
set grid
set key top center box opaque
plot agg using 1:2 axes x1y1 with linespoints lw 2 pt 7 title 'put throughput (left axis)', \
     agg using 1:3 axes x1y2 with linespoints lw 2 pt 5 title 'recovery p50 (right axis)', \
     agg using 1:4 axes x1y2 with linespoints lw 2 pt 4 dt 2 title 'recovery p99 (right axis)'
