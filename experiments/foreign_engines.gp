# foreign_engines.gp - results/foreign_engines.png from the CSV of
# experiments/foreign_engines.sh (variables in, out, subtitle): a heat map,
# one row per target and configuration, one column per crash mode; the
# colour is broken promises (violations) per 100 trials, each cell's label
# its violations / trials and, below, its expected losses (losses of what
# the configuration never promised); grey cells were refused.
# The CSV's rows are configuration-major with the same modes in the same
# order for every configuration, so a row's place gives its cell.
set terminal pngcairo size 1300,1200 noenhanced font 'DejaVu Sans,11'
set output out
set datafile separator ','
set datafile columnheaders
stats in using 0 nooutput
ncells = STATS_records
# the modes: the rows of the first configuration
first = ''
stats in every ::0::0 using (first = strcol(1).strcol(2), 0) nooutput
stats in using (strcol(1).strcol(2) eq first ? 1 : 0) nooutput
nmodes = int(STATS_sum)
nconf = ncells / nmodes
col(i) = int(i) % nmodes
row(i) = nconf - 1 - int(int(i) / nmodes)
refused = 'refused'
set title "Engines x configurations x crash modes: broken promises per 100 crash trials\n(label: violations / trials, exp: expected losses, losses of what the configuration never promised)\n".subtitle
set xrange [-0.5:nmodes - 0.5]
set yrange [-0.5:nconf - 0.5]
set xlabel 'crash mode (power-cut model)'
set ytics scale 0 font ',10'
set xtics scale 0 font ',10'
set cbrange [0:100]
set cblabel 'violations per 100 trials'
set palette defined (0 '#ffffff', 1 '#ffe0b0', 20 '#ff8040', 100 '#d02020')
set style fill solid 1.0 border lc rgb '#808080'
set key off
mlabel(m, p) = p eq 'random' ? m : m."\n(".p.")"
ran = "strcol('status') eq 'ran'"
rate(dummy) = strcol('status') eq 'ran' ? 100.0 * column('violations') / column('trials') : NaN
grey(dummy) = strcol('status') eq 'ran' ? NaN : row($0)
text(dummy) = strcol('status') eq 'ran' ? \
    sprintf("%d/%d\nexp %d", column('violations'), column('trials'), \
            column('expected_losses')) : strcol('status')
plot in using (col($0)):(row($0)):(0.5):(0.5):(rate(0)) \
         with boxxyerror fc palette, \
     '' using (col($0)):(grey(0)):(0.5):(0.5) with boxxyerror fc rgb '#c8c8c8', \
     '' using (col($0)):(row($0)):(text(0)) with labels font ',9', \
     '' every nmodes using (0):(nconf - 1 - $0):ytic(sprintf('%s %s (%s)', \
         strcol('target'), strcol('configuration'), strcol('promise'))) \
         with points ps 0, \
     '' every ::0::(nmodes - 1) using (col($0)):(row($0)):xtic(mlabel( \
         strcol('mode'), strcol('persist'))) with points ps 0
