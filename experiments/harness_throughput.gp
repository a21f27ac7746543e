# harness_throughput.gp - results/harness_throughput.png from the CSV of
# experiments/harness_throughput.sh (variables in, out, subtitle).
# Left: crash states verified per second against --jobs; right: against
# the transactions per workload, --jobs = the number of cores.
set terminal pngcairo size 1400,600 noenhanced font 'DejaVu Sans,11'
set output out
set datafile separator ','
sel(s, m, c) = (strcol(1) eq s && strcol(2) eq m) ? column(c) : NaN
set multiplot layout 1,2 title "Harness throughput: crash states verified per second (crashtest, fixed campaigns, seed 1)\n".subtitle
set grid
set key bottom right box opaque
set yrange [0:*]
set title 'vs parallel trials (default workloads)'
set xlabel 'crashtest --jobs'
set ylabel 'crash states verified per second'
set xtics 1
plot in using 3:(sel('jobs', 'all', 7)) every ::1 with linespoints lw 2 pt 7 title 'all modes (default campaign)', \
     in using 3:(sel('jobs', 'kill-io', 7)) every ::1 with linespoints lw 2 pt 7 title 'kill-io only'
set title 'vs workload size (--jobs = cores)'
set xlabel 'transactions per workload (--txns, log scale)'
set logscale x 2
set xtics auto
plot in using 4:(sel('txns', 'all', 7)) every ::1 with linespoints lw 2 pt 7 title 'all modes', \
     in using 4:(sel('txns', 'kill-io', 7)) every ::1 with linespoints lw 2 pt 7 title 'kill-io only'
unset multiplot
