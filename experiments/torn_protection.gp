# torn_protection.gp - results/torn_protection.png from the CSV of
# experiments/torn_protection.sh (variables in, out, subtitle): per
# protection mode and sector size, the share of trials in each outcome.
set terminal pngcairo size 1400,650 noenhanced font 'DejaVu Sans,11'
set output out
set datafile separator ','
set title "Torn writes and power cuts vs torn-page protection: how each crash trial's recovery ended\n".subtitle
set style data histograms
set style histogram rowstacked
set style fill solid 0.85 border -1
set boxwidth 0.7
set yrange [0:108]
set ytics 0,20,100
set ylabel 'share of crash trials (%)'
set xlabel 'torn-page protection / atomic sector size (bytes)'
set grid ytics
set key outside right top vertical box
pct(c) = 100.0 * column(c) / column(3)
plot in using (pct(4)):xtic(sprintf('%s / %s', strcol(1), strcol(2))) every ::1 title 'clean', \
     '' using (pct(5)) every ::1 title 'repaired (page images / doublewrite)', \
     '' using (pct(6)) every ::1 title 'refused: corruption detected', \
     '' using (pct(7)) every ::1 lc rgb '#d00000' title 'silently wrong (must be 0)', \
     '' using ($0):(104):(sprintf('wrong: %d/%d', $7, $3)) every ::1 with labels font ',9' notitle
