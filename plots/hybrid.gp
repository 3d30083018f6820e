# hybrid.gp: processes plus coroutines (or threads) against each alone, as the CPU
# work per task grows.
# data: chapters/11-futures/hybrid --data, block 0 (CPU ms per task; median wall ms of
#   processes, coroutines, threads under a GIL, threads, procs+coros, procs+threads);
#   header lines "# tasks: ...", "# cores: ...", "# delay_ms: ..."; with make compare,
#   py: python/11_futures.py's same sweep on CPython's runners (its threads under
#   threads_gil, a real GIL), drawn in a second panel on the same axes
data = ARG1; out = ARG2; py = ARGC >= 3 ? ARG3 : ""
load system("dirname '".ARG0."'")."/style.gp"
if (wb_py) {
    set terminal pngcairo size 1500,650 enhanced font "DejaVu Sans,12" linewidth 1.3 background "white"
    set output out
    stats [*:*] [*:*] data index 0 using 2 nooutput
    ymax = STATS_max
    stats py index 0 using 2 nooutput
    ymax = (STATS_max > ymax ? STATS_max : ymax) * 1.5
    stats py index 0 using 1:(valid(5) ? 1 : 0) nooutput
    py_nogil = STATS_sum_y > 0
    set multiplot layout 1, 2 title sprintf("%d tasks on %d cores, each a request answered after %g ms, then CPU work: C, and CPython\n{/*0.75 median wall time; the hybrids dashed}", int(real(wb_header("tasks"))), int(real(wb_header("cores"))), real(wb_header("delay_ms"))) font ",15"
}

tasks = int(real(wb_header("tasks")))
cores = int(real(wb_header("cores")))
delay = real(wb_header("delay_ms"))
set title sprintf("%d tasks on %d cores, each a request answered after %g ms, then CPU work\n{/*0.75 median wall time; the hybrids dashed}", tasks, cores, delay)
if (wb_py) { set title "C: chapter 11's runners" font ",13" }
set xlabel "CPU work per task (ms)"
set ylabel "wall time (ms)"
set yrange [0:*]
if (wb_py) { set yrange [0:ymax] }
set offsets 0.2, 0.2, graph 0.05, 0
set xtics 1
set autoscale xfix
set key top left
plot data index 0 using 1:2 with linespoints lt 4 title "processes (a pool of C, a task at a time)", \
     ''   index 0 using 1:3 with linespoints lt 5 title "coroutines (one hub)", \
     ''   index 0 using 1:4 with linespoints lt 3 title "threads under a GIL", \
     ''   index 0 using 1:5 with linespoints lt 2 title "threads (no GIL)", \
     ''   index 0 using 1:6 with linespoints lt 6 dt 2 lw 3 title "procs + coros (a hub per core)", \
     ''   index 0 using 1:7 with linespoints lt 1 dt 2 lw 3 title "procs + threads (ProcessPoolExecutor of ThreadPoolExecutors)"

# ---- with make compare: CPython's runners, the same sweep ----
if (wb_py) {
    unset label 999
    set title wb_tail(py).": CPython's runners" font ",13" noenhanced
    plot py index 0 using 1:2 with linespoints lt 4 pt 4 title "ProcessPoolExecutor(cores), a task at a time", \
         '' index 0 using 1:3 with linespoints lt 5 pt 10 title "asyncio (one loop)", \
         '' index 0 using 1:4 with linespoints lt 3 pt 8 title "ThreadPoolExecutor, a thread a task, GIL", \
         '' index 0 using 1:($5 == $5 ? $5 : 1/0) with linespoints lt 2 pt 4 title (py_nogil ? "threads, GIL off" : ""), \
         '' index 0 using 1:6 with linespoints lt 6 pt 14 dt 2 lw 3 title "procs + asyncio (a loop per core)", \
         '' index 0 using 1:7 with linespoints lt 1 pt 6 dt 2 lw 3 title "procs + threads (ProcessPoolExecutor of ThreadPoolExecutors)"
    unset multiplot
}
