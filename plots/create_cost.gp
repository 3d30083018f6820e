# create_cost.gp: make a task, run it to its first stop, dispose of it (log scale).
# data: chapters/07-coroutine/create_cost --data
#   block 0: row, median ns, p10, p90, label, colour group
#   header line "# ratio_fresh_cached: ...": fresh stack / cached stack, medians
#   with make compare, py: python/07_coroutine.py's block in the same columns (a
#   generator, asyncio tasks, a greenlet in the copied-stack row, gevent.spawn + join in
#   the hub task's, a thread, os.fork), open dashed bars to the right of C's
data = ARG1; out = ARG2; py = ARGC >= 3 ? ARG3 : ""
load system("dirname '".ARG0."'")."/style.gp"
set terminal pngcairo size 1100,640 enhanced font "DejaVu Sans,12" linewidth 1.3 background "white"
set output out

fmt(ns) = ns >= 1e6 ? sprintf("%.3g ms", ns / 1e6) : ns >= 1000 ? sprintf("%.3g µs", ns / 1000) : sprintf("%.3g ns", ns)

set title "Making a task, running it to its first stop, and getting rid of it"
set logscale y
set boxwidth 0.7
set grid noxtics
set key off
set xtics scale 0 font ",10"
set ylabel "ns per task (log scale)"
set xrange [-0.6:7.6]
set yrange [1:3e6]
# one unit on the axis (ns); the bars' labels say µs or ms where that reads better
set ytics ("1" 1, "10" 10, "100" 100, "1 000" 1000, "10 000" 10000, "100 000" 100000, "1 000 000" 1e6, "10 000 000" 1e7)
set label 1 "a fresh stack costs ".wb_header("ratio_fresh_cached")."x a cached one" at graph 0.02, graph 0.95 left font ",11" textcolor rgb "#333333"
dx = 0; PY = ""
if (wb_py) {
    dx = 0.21
    set title "Making a task, running it to its first stop, and getting rid of it: C solid, CPython dashed"
    set boxwidth 0.4
    set yrange [1:3e7]
    set label 2 "CPython (open, dashed; values in grey): a generator, asyncio.create\\_task + gather,\na greenlet (copies its stack), gevent.spawn + join, threading.Thread, os.fork" at graph 0.02, graph 0.86 left font ",10" textcolor rgb "#555555"
    PY = sprintf(", '%s' index 0 using ($1 + dx):2:6 with boxes fs empty dt 2 lw 2 lc variable, '%s' index 0 using ($1 + dx):2:3:4 with yerrorbars lt 7 lw 1 pt -1, '%s' index 0 using ($1 + dx):($4 * 1.7):(fmt($2)) with labels font ',9' textcolor rgb '#666666'", py, py, py)
}
plot data index 0 using ($1 - dx):2:6:xtic(stringcolumn(5)) with boxes lc variable, \
     ''   index 0 using ($1 - dx):2:3:4 with yerrorbars lt 7 lw 1.2 pt -1, \
     ''   index 0 using ($1 - dx):($4 * 1.7):(fmt($2)) with labels font ",10" @PY
