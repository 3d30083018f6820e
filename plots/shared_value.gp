# shared_value.gp: processes adding 1 to one shared counter, four ways.
# data: chapters/10-shared/shared_value --data, block m per mode (0 lock=False,
#   1 Value with its lock per access, 2 with get_lock(), 3 atomic add):
#   processes, median ns per addition, p10, p90, % of updates lost (median); with make
#   compare, py: python/10_shared.py's shared_value_py.dat, the same blocks for CPython's
#   Value (block 3, the atomic add, NaN), dashed with open symbols
data = ARG1; out = ARG2; py = ARGC >= 3 ? ARG3 : ""
load system("dirname '".ARG0."'")."/style.gp"

stats data using 1 nooutput
maxp = STATS_max
cores = wb_cores # (style.gp: from the machine line)
label(m) = m == 0 ? "lock=False: v.value += 1" : m == 1 ? "Value (lock per access): v.value += 1" : \
           m == 2 ? "with v.get\\_lock(): v.value += 1" : "atomic add (no Python equivalent)"

set multiplot layout 1, 2 title "Processes adding 1 to one counter in shared memory (Value)" font ",15"
set xrange [0.7:maxp + 0.3]
eval wb_counttics(maxp)
set xlabel "processes adding at once"
set arrow 1 from cores + 0.5, graph 0 to cores + 0.5, graph 1 nohead dt 3 lc rgb "#888888"
set label 1 "more processes than cores" at cores + 0.6, graph 0.04 left font ",10" textcolor rgb "#666666"

set title "cost: time per addition" font ",13"
set logscale y 10
set yrange [1:5000]
set format y "%g"
set ylabel "ns per addition (wall time / all additions)"
set key top left
if (wb_py) set key font ",10" spacing 1; set yrange [1:1e5]  # (room for the legend)
PY = wb_py ? (", for [m=0:2] '".py."' index m using 1:2:3:4 with yerrorlines lt m+1 dt 2 pt 6 title 'CPython: '.label(m)") : ""
plot for [m=0:3] data index m using 1:2:3:4 with yerrorlines lt m+1 title label(m) @PY

unset label 999
unset logscale y
set format y "%g"
set title "updates lost" font ",13"
set ylabel "updates lost (% of all, median)"
# room above 100 % for the key
set yrange [0:130]
set ytics 0, 20, 100
set key top left
# (with get_lock() and the atomic add nothing is lost: their lines lie on 0)
PY = wb_py ? (", for [m=0:2] '".py."' index m using 1:5 with linespoints lt m+1 dt 2 pt 6 notitle") : ""
plot for [m=0:3] data index m using 1:5 with linespoints lt m+1 title label(m) @PY
unset multiplot
