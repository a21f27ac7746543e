# mutants.gp - results/mutants.png from the CSV of experiments/mutants.sh
# (variables in, out, subtitle): a heat map of crash trials to the first
# detection, planted bug x crash mode; blank where not run, "-" where the
# campaign's trials all passed.
set terminal pngcairo size 1400,800 noenhanced font 'DejaVu Sans,11'
set output out
set datafile separator ','
# mutants and modes in order of appearance (the unmutated engine left out)
# plus a last column: the default campaign (no options), from the column
# default_campaign_trials ("not run" leaves it blank)
cells = sprintf("< grep -v '^#' '%s' | awk -F, 'NR > 1 && $1 != \"none\" { if (!($1 in mi)) { mi[$1] = nm++; mn[nm - 1] = $1 } if (!($2 in di)) { di[$2] = nd++ } print di[$2], mi[$1], ($4 == \"yes\" ? $5 : -1), $2, $1; if ($6 != \"not run\" && !($1 in dm)) { dm[$1] = ($6 ~ /^[0-9]+$/ ? $6 : -1) } } END { for (m in dm) print nd, mi[m], dm[m], \"default\", m }'", in)
set datafile separator whitespace
stats cells using 1:2 nooutput name 'S'
set title "Planted bugs: crash trials until the first detection, per crash mode and in the default campaign (fewer is better; grey '-': not caught in any trial; blank: not run)\n".subtitle
set xrange [-0.5:S_max_x + 0.5]
set yrange [S_max_y + 0.5:-0.5]
set xtics rotate by -30 left
set xlabel 'crash mode'
set ylabel 'planted bug (mutants/<name>.patch)'
set cblabel 'trials to the first detection (log scale)'
set logscale cb
set cbrange [1:*]
set palette defined (0 '#1a9850', 0.5 '#fee08b', 1 '#d73027')
set style fill solid 1.0 noborder
set key off
plot cells using 1:2:(0.5):(0.5):xtic(4):ytic(5) with boxxyerror fc rgb '#b8b8b8', \
     cells using 1:2:(0.5):(0.5):($3 > 0 ? $3 : NaN) with boxxyerror fc palette, \
     cells using 1:2:($3 > 0 ? sprintf('%d', $3) : '-') with labels font ',9'
