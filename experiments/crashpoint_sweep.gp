# crashpoint_sweep.gp - results/crashpoint_sweep.png from the CSV of
# experiments/crashpoint_sweep.sh (variables in, out, subtitle): recovery
# time and log records replayed after a kill at each I/O point k, with the
# superblock writes (checkpoint ends) marked.
set terminal pngcairo size 1400,750 noenhanced font 'DejaVu Sans,11'
set output out
set datafile separator ','
# the kill rows alone (lines need consecutive points), and the kills
# before a superblock write: a pwrite to the page file below its first
# 4096 bytes
kills = sprintf("< grep ',kill-io,' '%s'", in)
sbw = sprintf("< grep ',kill-io,' '%s' | awk -F, '$9 ~ /^pages:/ { split($9, a, \":\"); if (a[2] + 0 < 4096) print }'", in)
stats kills using 6 nooutput name 'R'
set multiplot layout 2,1 title "Crash-point sweep: recovery work after a kill at every I/O point of one workload (checkpoint, crashtest --exhaustive)\n".subtitle
set grid
set key top left box opaque
set xlabel 'I/O point k of the writer (the crash happens before call k)'
set ylabel 'log records replayed'
set yrange [0:R_max * 1.2]
plot kills using 1:6 with steps lw 1.5 title 'records replayed (kill before k)', \
     sbw using 1:(R_max) with impulses lw 2 lc rgb '#d00000' title 'superblock write (checkpoint completes)'
set ylabel 'recovery time (ms)'
set logscale y
set yrange [*:*]
plot in using 1:($5 / 1000.0) every ::1 with points pt 7 ps 0.4 lc rgb '#9090c0' title 'every trial (kill, torn write, power cut)', \
     kills using 1:($5 / 1000.0) with lines lw 1.5 lc rgb '#000080' title 'kill before k'
unset multiplot
