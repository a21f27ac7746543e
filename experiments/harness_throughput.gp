# harness_throughput.gp - results/harness_throughput.png from the CSV of
# experiments/harness_throughput.sh (variables in, out, subtitle).
# Left: crash states verified per second of each mode and of the default
# mix (--jobs 2), next to the machine's fork + exit + wait rate and an
# open and close of an empty database; right: against --jobs.
set terminal pngcairo size 1400,600 noenhanced font 'DejaVu Sans,11'
set output out
set datafile separator ','
sel(s, m, c) = (strcol(1) eq s && strcol(2) eq m) ? column(c) : NaN
is(s, c) = strcol(1) eq s ? column(c) : NaN
label(x) = strcol(1) eq 'jobs' ? '' : strcol(2)
set multiplot layout 1,2 title "Harness throughput: crash states verified per second (crashtest, fixed campaigns, seed 1)\n".subtitle
set grid y
set yrange [1:*]
set logscale y
set title 'per mode (--jobs 2), and what the machine allows (one process)'
set ylabel 'per second (log scale)'
set style fill solid 0.6
set boxwidth 0.7
set xtics rotate by -30 left
plot in using 0:(is('limit', 6)):xtic(label(0)) every ::1 with boxes lc rgb '#999999' title 'machine limit', \
     in using 0:(is('mix', 6)) every ::1 with boxes lc rgb '#cc3333' title 'default mix', \
     in using 0:(is('mode', 6)) every ::1 with boxes lc rgb '#3366cc' title 'one mode'
unset logscale y
set yrange [0:*]
set xtics norotate 1
set style fill empty
set key bottom right box opaque
set title 'vs parallel trials'
set xlabel 'crashtest --jobs'
set ylabel 'crash states verified per second'
plot in using 3:(sel('jobs', 'all', 6)) every ::1 with linespoints lw 2 pt 7 title 'default mix', \
     in using 3:(sel('jobs', 'kill-io', 6)) every ::1 with linespoints lw 2 pt 7 title 'kill-io only'
unset multiplot
