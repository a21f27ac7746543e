# bench.gp - results/bench.png from the data bench.sh extracts from
# results/bench.csv.  Variables (gnuplot -e): rate (scenario, then ops/s
# of crashlab sqlite lmdb leveldb rocksdb), rec (recovery after kill -9:
# one row per engine, name and ms), raw (the disk's 4 KiB append +
# fdatasync rate), out, subtitle.
set terminal pngcairo size 1600,900 enhanced font 'DejaVu Sans,12'
set output out
set termoption noenhanced
set datafile missing 'NaN'
set multiplot layout 1,2 title "kvbench: the same scenarios on five engines, one interleaved run\n".subtitle font ',14'

# left: throughput, log scale, with the disk's fsync rate as a line
set size 0.78,0.92
set origin 0,0
set title 'throughput (median of the rounds)'
set ylabel 'operations per second (scan: keys per second; log scale)'
set logscale y
set yrange [100:*]
set grid ytics
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set xtics rotate by -30 left
set key top left box opaque
plot for [i=2:6] rate using i:xtic(1) title columnheader(i), \
     raw with lines dashtype 2 linewidth 2 linecolor rgb '#000000' \
         title sprintf('disk: 4 KiB append + fdatasync = %.0f/s', raw)

# right: recovery after kill -9 with the load in the log, one bar per
# engine in the left panel's colours, each labelled with its time
set size 0.22,0.92
set origin 0.78,0
set title "recovery after kill -9\n(200,000 puts in the log)"
set ylabel 'open + first read, ms (log scale)'
set yrange [0.01:20000]
set style fill solid 0.85 border -1
set boxwidth 0.8
set xrange [-0.6:4.6]
set xtics rotate by -45 left font ',11'
unset key
plot rec using 0:2:($0 + 1):xtic(1) with boxes linecolor variable notitle, \
     rec using 0:2:(sprintf('%.1f', $2)) with labels offset 0,0.8 font ',10' notitle
unset multiplot
