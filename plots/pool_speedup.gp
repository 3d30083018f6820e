# pool_speedup.gp: a fixed CPU-bound job on pools of 1..W workers.
# data: chapters/03-pool/pool_bench --data, block 2
#   (workers, median s, p10, p90, speed-up, cores); with make compare, py: the same from
#   python/03_pool.py (its own job: the lesson's additions), dashed
data = ARG1; out = ARG2; py = ARGC >= 3 ? ARG3 : ""
load system("dirname '".ARG0."'")."/style.gp"

stats data index 2 using 1 nooutput
maxw = STATS_max
stats data index 2 using 6 nooutput
cores = STATS_max

set multiplot layout 1, 2 title "One CPU-bound job mapped over pools of 1 to W workers" font ",15"
set xrange [0.5:maxw + 0.5]
eval wb_counttics(maxw)
set xlabel "workers W"
set arrow 1 from cores, graph 0 to cores, graph 1 nohead dt 2 lc rgb "#777777"
set label 1 wb_ncores(cores) at cores, graph 0.04 offset 0.6, 0 font ",10" textcolor rgb "#555555"

set ylabel "seconds"
set yrange [0:*]
set offsets 0, 0, graph 0.25, 0
set key top right
PY = wb_py ? sprintf(", '%s' index 2 using 1:2:3:4 with yerrorlines lt 1 dt 2 pt 6 title 'CPython: Pool.map, its own job'", py) : ""
plot data index 2 using 1:2:3:4 with yerrorlines lt 1 title "map time: median, 10th-90th pct" @PY

unset label 999
set ylabel "speed-up over one worker (x)"
set yrange [0:(maxw > cores ? cores : maxw) + 1]
set offsets 0, 0, 0, 0
set key top left
ideal(x) = x < 1 ? NaN : (x <= cores ? x : cores)
PY = wb_py ? sprintf(", '%s' index 2 using 1:5 with linespoints lt 2 dt 2 pt 6 title 'CPython: time(1) / time(W)'", py) : ""
plot data index 2 using 1:5 with linespoints lt 2 title "measured: time(1) / time(W)", \
     ideal(x) with lines lt 7 dt 3 lw 1.5 title "ideal: min(W, cores)" @PY
unset multiplot
