# hybrid.gp: processes plus coroutines (or threads) against each alone, as the CPU
# work per task grows.
# data: chapters/11-futures/hybrid --data, block 0 (CPU ms per task; median wall ms of
#   processes, coroutines, threads under a GIL, threads, procs+coros, procs+threads);
#   header lines "# tasks: ...", "# cores: ...", "# delay_ms: ..."
data = ARG1; out = ARG2
load system("dirname '".ARG0."'")."/style.gp"

tasks = int(real(wb_header("tasks")))
cores = int(real(wb_header("cores")))
delay = real(wb_header("delay_ms"))
set title sprintf("%d tasks on %d cores, each a request answered after %g ms, then CPU work\n{/*0.75 median wall time; the hybrids dashed}", tasks, cores, delay)
set xlabel "CPU work per task (ms)"
set ylabel "wall time (ms)"
set yrange [0:*]
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
