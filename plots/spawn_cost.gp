# spawn_cost.gp: the cost of starting and reaping one unit of work, by method.
# data: chapters/01-process/spawn_cost --data, block 0 (method, median, p10, p90, label);
#   with make compare, py: python/01_process.py's spawn_cost_py.dat, the same columns for
#   os.fork, Process (fork, forkserver, spawn) and Thread, drawn as open dashed bars to the
#   right of C's, on a log scale (a new interpreter takes tens of milliseconds)
data = ARG1; out = ARG2; py = ARGC >= 3 ? ARG3 : ""
load system("dirname '".ARG0."'")."/style.gp"

set title "Starting and reaping a unit of work that does nothing"
set ylabel "time to start and reap (µs)"
set xlabel "how the work is started"
set boxwidth 0.6
set xrange [-0.6:4.6]
set yrange [0:*]
set offsets 0, 0, graph 0.12, 0
set grid noxtics
set key top left
fmtus(us) = us >= 1000 ? sprintf("%.3g ms", us / 1000) : sprintf("%.0f µs", us)
PY = ""
if (wb_py) {
    set title "Starting and reaping a unit of work that does nothing: C, and CPython (dashed)"
    set logscale y 10
    set yrange [5:5e5]
    set offsets 0, 0, 0, 0
    set xrange [-0.6:10.1]
    set xtics font ",10"
    set arrow 1 from 4.75, graph 0 to 4.75, graph 1 nohead dt 3 lc rgb "#777777"
    set key font ",11"
    set label 1 "C" at 3.7, graph 0.96 center font ",13"
    set label 2 "CPython" at 7.5, graph 0.96 center font ",13"
    PY = sprintf(", '%s' index 0 using ($1 + 5.5):2:xtic(stringcolumn(5)) with boxes fs empty lt 2 dt 2 lw 2 title 'CPython: median', '%s' index 0 using ($1 + 5.5):2:3:4 with yerrorbars lt 7 lw 1.2 pt -1 notitle, '%s' index 0 using ($1 + 5.5):($4 * 1.15):(fmtus($2)) with labels offset 0, 0.6 font ',10' notitle", py, py, py)
}
plot data index 0 using 1:2:xtic(stringcolumn(5)) with boxes lt 1 title "median", \
     ''   index 0 using 1:2:3:4 with yerrorbars lt 7 lw 1.2 pt -1 title "10th to 90th percentile", \
     ''   index 0 using 1:($4 * (wb_py ? 1.15 : 1)):(fmtus($2)) with labels offset 0, (wb_py ? 0.6 : 1) notitle @PY
