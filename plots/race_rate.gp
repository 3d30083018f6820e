# race_rate.gp: the share of updates an unlocked counter loses, by loop length.
# data: chapters/04-thread/race_rate --data, one block per configuration (its title in
#   the "# block N: ..." line): iterations, median %, p10 %, p90 %, any-loss %,
#   threads, pinned (1: all threads on CPU 0); with make compare, py: python/04_thread.py's
#   blocks (the lesson's `global_num += 1`, the same at a 1 µs switch interval, and with a
#   call between the read and the write), dashed with open symbols in their own colours
data = ARG1; out = ARG2; py = ARGC >= 3 ? ARG3 : ""
load system("dirname '".ARG0."'")."/style.gp"

nb = int(system(sprintf("grep -c '^# block ' '%s'", data)))
blocktitle(i) = system(sprintf("sed -n 's/^# block %d: //p' '%s'", i, data))
# the last block is the one-core run: dashed, in black
lc_of(i) = i == nb - 1 ? 7 : i + 1
dt_of(i) = i == nb - 1 && !wb_py ? 2 : 1  # (beside CPython only CPython is dashed)

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
PY = ""
if (wb_py) {
    pynb = int(system(sprintf("grep -c '^# block ' '%s'", py)))
    pytitle(i) = "CPython: ".system(sprintf("sed -n 's/^# block %d: 2 threads, \\([^:]*\\).*/\\1/p' '%s'", i, py))
    set key top left font ",9" spacing 0.9
    PY = sprintf(", for [i=0:pynb-1] '%s' index i using 1:2 with linespoints lt 4+i dt 2 pt 6+2*i ps 1.3 title pytitle(i) noenhanced", py)
}
plot for [i=0:nb-1] data index i using 1:3:4 with filledcurves lc lc_of(i) notitle, \
     for [i=0:nb-1] data index i using 1:2 with linespoints lt lc_of(i) dt dt_of(i) title blocktitle(i) @PY

unset label 999 # the caption once is enough
set ylabel "races that lost at least one update (%)"
set yrange [0:105]
# the same key, in the middle, where every curve is at 0 or 100 %
set key at graph 0.04, graph 0.8 left top
# (CPython's series, dashed, are named in the left panel's key)
if (wb_py) { set key font ",10"; set label 3 "dashed, open symbols: CPython,\nas in the left panel's key" at graph 0.04, graph 0.5 left font ",9" textcolor rgb "#555555" }
PY = wb_py ? sprintf(", for [i=0:pynb-1] '%s' index i using 1:5 with linespoints lt 4+i dt 2 pt 6+2*i ps 1.3 notitle", py) : ""
plot for [i=0:nb-1] data index i using 1:5 with linespoints lt lc_of(i) dt dt_of(i) title blocktitle(i) @PY
unset multiplot
