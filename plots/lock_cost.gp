# lock_cost.gp: time per addition to one exact counter, by method and thread count.
# data: chapters/04-thread/lock_cost --data, block 4*p + m for placement p (0 spread
#   over the cores, 1 all on CPU 0) and method m (0 lock per addition, 1 lock around
#   the loop, 2 atomic add, 3 per-thread sums): threads, median ns, p10, p90, m, p; with
#   make compare, py: python/04_thread.py's blocks in the same order (no atomic add in
#   Python: NaN), dashed with open symbols
data = ARG1; out = ARG2; py = ARGC >= 3 ? ARG3 : ""
load system("dirname '".ARG0."'")."/style.gp"

stats data using 1 nooutput
maxt = STATS_max
label(m) = m == 0 ? "lock per addition" : m == 1 ? "lock around the loop (the lesson)" : m == 2 ? "atomic add" : "per-thread sums"

set multiplot layout 1, 2 title "Making a shared counter exact: time per addition" font ",15"
set xrange [0.7:maxt + 0.3]
eval wb_counttics(maxt)
set xlabel "threads"
set logscale y 10
set yrange [0.1:1000]
set ylabel "ns per addition (wall time / all additions)"
set key top left

set title sprintf("threads spread over the %s (grey line)", wb_ncores(wb_cores)) font ",13"
set arrow 1 from wb_cores, graph 0 to wb_cores, graph 1 nohead dt 2 lc rgb "#777777"
PY = wb_py ? sprintf(", for [m=0:3] '%s' index m using 1:2:3:4 with yerrorlines lt m+1 dt 2 pt 6 title (m == 2 ? '' : 'CPython: '.label(m))", py) : ""
if (wb_py) { set key top left font ",9" spacing 0.85; set yrange [0.1:3e5] }
plot for [m=0:3] data index m using 1:2:3:4 with yerrorlines lt m+1 title label(m) @PY

unset label 999
set title "all threads on one core" font ",13"
unset arrow 1
set ylabel ""
PY = wb_py ? sprintf(", for [m=0:3] '%s' index 4+m using 1:2:3:4 with yerrorlines lt m+1 dt 2 pt 6 notitle", py) : ""
plot for [m=0:3] data index 4+m using 1:2:3:4 with yerrorlines lt m+1 notitle @PY
unset multiplot
