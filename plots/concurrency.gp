# concurrency.gp: concurrency and parallelism, measured: for each workload on each
# runner, how many tasks were in progress at once, and how many cores were busy.
# data: chapters/11-futures/choose --data, block 0 (workload, runner, wall ms, over
#   best, capped, done, tasks, cores busy = CPU time / wall time, peak in flight, ...);
#   with make compare, py: python/11_futures.py's same cells on CPython's runners, drawn
#   with open symbols (its threads in the "threads under a GIL" colour: a real GIL)
data = ARG1; out = ARG2; py = ARGC >= 3 ? ARG3 : ""
load system("dirname '".ARG0."'")."/style.gp"

cores = real(wb_header("cores"))
set title "Concurrent or parallel? Every run of the matrix, measured\n{/*0.75 concurrent: more than one task in progress at once; parallel: more than one core busy}"
set xlabel "cores busy: CPU time / wall time of the run"
set ylabel "tasks in progress at once (peak)"
set logscale y
set yrange [0.6:4000]
set xrange [0:cores + 0.4]
set key outside right top Left reverse spacing 1.2
set arrow 1 from 1, graph 0 to 1, graph 1 nohead dt 2 lc rgb "#777777"
set arrow 2 from graph 0, first 1.4 to graph 1, first 1.4 nohead dt 2 lc rgb "#777777"
set label 1 "parallel and concurrent" at graph 0.98, graph 0.96 right font ",11" textcolor rgb "#555555"
set label 2 "concurrent, not parallel" at first 0.03, graph 0.96 left font ",11" textcolor rgb "#555555"
set label 3 "neither" at first 0.03, first 0.8 left font ",11" textcolor rgb "#555555"
# point type by workload: cpu, io, mixed, idle
ptype(w) = w == 0 ? 5 : w == 1 ? 7 : w == 2 ? 9 : 13
array names[6] = ["one thread", "threads", "threads under a GIL", "processes (a pool of C)", "coroutines (one hub)", "procs + coros (C hubs)"]
# CPython's: the open symbol of each workload's, gevent (runner 6) in black
PY = wb_py ? sprintf(", for [k = 0:6] '%s' index 0 using ($2 == k ? $8 : 1/0):9:(ptype($1) - 1) with points lt (k + 1) pt variable ps 1.8 lw 1.5 notitle, keyentry with points lt 7 pt 6 ps 1.5 title 'gevent (CPython)', keyentry with points pt 6 lc rgb '#555555' title 'open symbols: CPython'", py) : ""
plot for [k = 0:5] data index 0 using ($2 == k ? $8 : 1/0):9:(ptype($1)) with points lt (k + 1) pt variable ps 1.8 notitle, \
     for [k = 0:5] keyentry with points lt (k + 1) pt 7 ps 1.5 title names[k + 1], \
     keyentry with points pt 5 lc rgb "#555555" title "cpu", \
     keyentry with points pt 7 lc rgb "#555555" title "io", \
     keyentry with points pt 9 lc rgb "#555555" title "mixed", \
     keyentry with points pt 13 lc rgb "#555555" title "idle" @PY
