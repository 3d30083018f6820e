# cpu_processes.gp: a fixed CPU-bound job split over P processes.
# data: chapters/01-process/cpu_processes --data
#   (procs, median, p10, p90, speedup, cpu seconds, cores); with make compare, py: the
#   same columns from python/01_process.py (the lesson's additions on Process(fork)), dashed
data = ARG1; out = ARG2; py = ARGC >= 3 ? ARG3 : ""
load system("dirname '".ARG0."'")."/style.gp"
# beside CPython (dashed) C's own dashed series are drawn thin and solid instead
CD = wb_py ? "dt 1 lw 1.2" : "dt 2"

stats data using 1 nooutput
maxp = STATS_max
stats data using 7 nooutput
cores = STATS_max

set multiplot layout 1, 2 title "One CPU-bound job split over P processes" font ",15"
set xrange [0.5:maxp + 0.5]
eval wb_counttics(maxp)
set xlabel "processes P"
set arrow 1 from cores, graph 0 to cores, graph 1 nohead dt 2 lc rgb "#777777"
set label 1 wb_ncores(cores) at cores, graph 0.04 offset 0.6, 0 font ",10" textcolor rgb "#555555"

set ylabel "seconds"
set yrange [0:*]
set offsets 0, 0, graph 0.25, 0
set key top right
PY = wb_py ? sprintf(", '%s' using 1:2:3:4 with yerrorlines lt 1 dt 2 pt 6 title 'CPython: wall time (its own job)', '%s' using 1:6 with linespoints lt 5 dt 4 pt 4 title 'CPython: CPU time of the children'", py, py) : ""
plot data using 1:6 with linespoints lt 5 @CD title "CPU time of all the children", \
     ''   using 1:2:3:4 with yerrorlines lt 1 title "wall time (median, 10th-90th pct)" @PY

unset label 999 # the caption once is enough
set ylabel "speed-up over one process (x)"
set yrange [0:(maxp > cores ? cores : maxp) + 1]
set offsets 0, 0, 0, 0
set key top left
ideal(x) = x < 1 ? NaN : (x <= cores ? x : cores)
PY = wb_py ? sprintf(", '%s' using 1:5 with linespoints lt 2 dt 2 pt 6 title 'CPython: wall(1) / wall(P)'", py) : ""
plot data using 1:5 with linespoints lt 2 title "measured: wall(1) / wall(P)", \
     ideal(x) with lines lt 7 dt 3 lw 1.5 title "ideal: min(P, cores)" @PY
unset multiplot
