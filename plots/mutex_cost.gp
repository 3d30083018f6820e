# mutex_cost.gp: ns per lock+unlock pair for five locks, by thread count, with the
# threads spread over the cores (left) and all on one core (right).
# data: chapters/09-sync/mutex_cost --data, block 5*p + k for placement p (0 spread, 1
#   one core) and lock k (0 naive futex, 1 futex, 2 futex spinning, 3 pthread_mutex,
#   4 spinlock): threads, median ns, p10, p90, busiest share, futex calls per million
#   pairs, sleeps per million pairs; with make compare, py: python/09_sync.py's
#   mutex_cost_py.dat, the same blocks with threading.Lock in the futex lock's (1 and 6),
#   drawn dashed with open symbols in both panels
data = ARG1; out = ARG2; py = ARGC >= 3 ? ARG3 : ""
load system("dirname '".ARG0."'")."/style.gp"

stats data using 1 nooutput
maxt = STATS_max
cores = wb_cores # (style.gp: from the machine line)
label(k) = k == 0 ? "naive futex (2 states)" : k == 1 ? "futex (3 states)" : k == 2 ? "futex, spinning" : \
           k == 3 ? "pthread\\_mutex" : "spinlock (test and test-and-set)"

set multiplot layout 1, 2 title "One lock+unlock pair on a shared counter: five locks" font ",15"
set xrange [0.7:maxt + 0.3]
eval wb_counttics(maxt)
set xlabel "threads"
set logscale y 10
set yrange [3:3000]
if (wb_py) set yrange [3:30000]  # (room for the legend above CPython's line)
set ylabel "ns per pair (wall time / all pairs; median, 10th-90th percentile)"
set key top left
if (cores > 0 && cores < maxt) {
    set arrow 1 from cores + 0.5, graph 0 to cores + 0.5, graph 1 nohead dt 3 lc rgb "#888888"
    set label 1 "more threads than cores ->" at cores + 0.55, graph 0.04 left font ",10" textcolor rgb "#555555"
}

PY = wb_py ? (", '".py."' index 1 using 1:2:3:4 with yerrorlines lt 7 dt 2 pt 6 title 'CPython: threading.Lock'") : ""
set title sprintf("spread: thread i on CPU i mod %d", cores) font ",13"
plot for [k=0:4] data index k using 1:2:3:4 with yerrorlines lt k+1 title label(k) @PY

unset label 999
unset arrow 1
unset label 1
set title "one core: every thread on one CPU" font ",13"
set ylabel ""
PY = wb_py ? (", '".py."' index 6 using 1:2:3:4 with yerrorlines lt 7 dt 2 pt 6 notitle") : ""
plot for [k=0:4] data index 5+k using 1:2:3:4 with yerrorlines lt k+1 notitle @PY
unset multiplot
