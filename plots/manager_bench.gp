# manager_bench.gp: one put and one get through a manager, a shared-memory queue, a pipe.
# data: chapters/10-shared/manager_bench --data, block t per transport (0 manager,
#   1 chapter 02's queue, 2 pipe): processes, median µs per put+get, p10, p90; with make
#   compare, py: python/10_shared.py's manager_bench_py.dat, the same blocks for a
#   Manager().Queue() proxy, a multiprocessing.Queue and one os.pipe(), dashed
data = ARG1; out = ARG2; py = ARGC >= 3 ? ARG3 : ""
load system("dirname '".ARG0."'")."/style.gp"

stats data using 1 nooutput
maxp = STATS_max
label(t) = t == 0 ? "manager (a round trip to the server per call)" : t == 1 ? "queue in shared memory (chapter 02)" : "one pipe for all"

set title "put + get on one queue shared by P processes"
set xrange [0.7:maxp + 0.3]
eval wb_counttics(maxp)
set xlabel "processes sharing the queue"
set logscale y 10
set ylabel "µs per put+get (wall time / all pairs; log scale)"
# a decade above the slowest point, for the key
set yrange [0.01:1e4]
if (wb_py) set yrange [0.01:1e5]  # (room for the legend above CPython's lines)
set format y "%g"
set key top left
set arrow 1 from wb_cores + 0.5, graph 0 to wb_cores + 0.5, graph 1 nohead dt 3 lc rgb "#888888"
set label 1 "more processes than cores" at wb_cores + 0.6, graph 0.04 left font ",10" textcolor rgb "#666666"
pylabel(t) = t == 0 ? "CPython: Manager().Queue() proxy" : t == 1 ? "CPython: multiprocessing.Queue" : "CPython: one os.pipe()"
PY = wb_py ? (", for [t=0:2] '".py."' index t using 1:2:3:4 with yerrorlines lt t+1 dt 2 pt 6 title pylabel(t)") : ""
plot for [t=0:2] data index t using 1:2:3:4 with yerrorlines lt t+1 title label(t) @PY
