# recovery_vs_log_size.gp - results/recovery_vs_log_size.png from the CSV
# of experiments/recovery_vs_log_size.sh.  Variables (gnuplot -e): in (the
# CSV), out (the PNG), subtitle (machine and date).
# Left: recovery time p50 (line) and p99 (dashed) against the log since
# the last checkpoint; right: replay rate (log bytes read / recovery time),
# p50; one colour per torn-page protection mode.
set terminal pngcairo size 1400,600 noenhanced font 'DejaVu Sans,11'
set output out
set datafile separator ','
# per (mode, size): size MiB, p50 and p99 of recovery ms, p50 of MB/s
stat(m) = sprintf("< grep -v '^#' '%s' | awk -F, 'NR > 1 && $1 == \"%s\"' | sort -t, -k2,2n -k6,6n | awk -F, '{ k = $2; n[k]++; t[k, n[k]] = $6; r[k, n[k]] = $10; if (!(k in s)) { s[k] = 1; o[++m] = k } } END { for (i = 1; i <= m; i++) { k = o[i]; c = n[k]; p50 = int(0.5 * c + 0.999999); p99 = int(0.99 * c + 0.999999); q = 0; for (j = 1; j <= c; j++) x[j] = r[k, j]; for (a = 1; a <= c; a++) for (b = a + 1; b <= c; b++) if (x[b] < x[a]) { y = x[a]; x[a] = x[b]; x[b] = y }; print k, t[k, p50] / 1000, t[k, p99] / 1000, x[p50] } }'", in, m)
set multiplot layout 1,2 title "Recovery time vs log to replay, by torn-page protection mode (kill -9 after N MiB of single-put commits since a checkpoint)\n".subtitle
set logscale x 2
set xlabel 'log since the last checkpoint (MiB, log scale)'
set grid
set key top left box opaque
set title 'recovery time (cl_open of the crashed database)'
set ylabel 'recovery time (ms, log scale); solid p50, dashed p99'
set logscale y
set datafile separator whitespace
plot for [m in "none fpw dwb"] stat(m) using 1:2 with linespoints lw 2 pt 7 title m.' p50', \
     for [i=1:3] stat(word("none fpw dwb", i)) using 1:3 with lines dt 2 lw 1.5 lc i title word("none fpw dwb", i).' p99'
set title 'replay rate (log bytes replayed / recovery time)'
set ylabel 'replay rate (MB/s), p50'
unset logscale y
set yrange [0:*]
plot for [m in "none fpw dwb"] stat(m) using 1:4 with linespoints lw 2 pt 7 title m
unset multiplot
