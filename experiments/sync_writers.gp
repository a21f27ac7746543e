# sync_writers.gp - results/sync_writers.png from the CSV of
# experiments/sync_writers.sh (variables in, out, subtitle).
# Left: puts/s against writer threads per sync mode, with the disk's raw
# 4 KiB append + fdatasync rate as a line; right: puts per log fsync.
set terminal pngcairo size 1400,600 noenhanced font 'DejaVu Sans,11'
set output out
set datafile separator ','
stats in using (strcol(1) eq 'raw-fdatasync' ? $5 : NaN) nooutput name 'RAW'
raw = RAW_max
set multiplot layout 1,2 title "Durable commit throughput vs writer threads, by sync mode (one put per commit)\n".subtitle
set logscale x 2
set logscale y
set xlabel 'writer threads (log scale)'
set grid
set key top left box opaque
set xrange [0.8:20]
set title 'throughput'
set ylabel 'puts per second (log scale)'
set yrange [500:3e7]
sel(m, c) = strcol(1) eq m ? column(c) : NaN
plot for [m in "commit group periodic"] in using 2:(sel(m, 5)) with linespoints lw 2 pt 7 title m, \
     raw with lines dt 2 lw 2 lc rgb '#000000' title sprintf('disk: 4 KiB append + fdatasync = %.0f/s', raw)
set title 'puts per fsync of the log'
set ylabel 'puts per fsync (log scale)'
set yrange [0.5:1e6]
plot for [m in "commit group periodic"] in using 2:(sel(m, 7)) with linespoints lw 2 pt 7 title m
unset multiplot
