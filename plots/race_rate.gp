# race_rate.gp: the share of updates an unlocked counter loses, by loop length.
# data: chapters/04-thread/race_rate --data, one block per configuration (its title in
#   the "# block N: ..." line): iterations, median %, p10 %, p90 %, any-loss %,
#   threads, pinned (1: all threads on CPU 0)
data = ARG1; out = ARG2
load system("dirname '".ARG0."'")."/style.gp"

nb = int(system(sprintf("grep -c '^# block ' '%s'", data)))
blocktitle(i) = system(sprintf("sed -n 's/^# block %d: //p' '%s'", i, data))
# the last block is the one-core run: dashed, in black
lc_of(i) = i == nb - 1 ? 7 : i + 1
dt_of(i) = i == nb - 1 ? 2 : 1

set multiplot layout 1, 2 title "Lost updates: threads adding 1 to one counter without a lock" font ",15"
set logscale x 10
set format x "10^{%L}"
set xlabel "additions per thread"
set mxtics 10
set xrange [700:*]
set offsets 0, graph 0.05, 0, 0
set key top left

set ylabel "updates lost (% of all, median and 10th-90th percentile)"
set yrange [0:100]
set ytics 10
set style fill transparent solid 0.12 noborder
plot for [i=0:nb-1] data index i using 1:3:4 with filledcurves lc lc_of(i) notitle, \
     for [i=0:nb-1] data index i using 1:2 with linespoints lt lc_of(i) dt dt_of(i) title blocktitle(i)

unset label 999 # the caption once is enough
set ylabel "races that lost at least one update (%)"
set yrange [0:105]
plot for [i=0:nb-1] data index i using 1:5 with linespoints lt lc_of(i) dt dt_of(i) notitle
unset multiplot
