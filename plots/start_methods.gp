# start_methods.gp: the start cost of fork, spawn and forkserver as the parent grows.
# data: chapters/10-shared/start_methods --data, block 0 (x = MiB of touched parent
#   memory) and block 1 (x = idle parent threads): x, then median, p10, p90 in µs for
#   fork (2-4), spawn (5-7), forkserver (8-10). The points are evenly spaced, labelled
#   with their x (each is four times the one before). With make compare, py:
#   python/10_shared.py's start_methods_py.dat, the same columns for CPython's Process
#   with each start method, dashed with open symbols (the same x points)
data = ARG1; out = ARG2; py = ARGC >= 3 ? ARG3 : ""
load system("dirname '".ARG0."'")."/style.gp"

set multiplot layout 1, 2 title "Starting a worker by fork, spawn and forkserver: start, result back, reaped" font ",15"
set logscale y 10
set yrange [50:30000]
if (wb_py) set yrange [50:2e6]  # (CPython's spawn takes tens of ms; room for the legend)
set format y "%g"
set ylabel "time per worker (µs, median and 10th-90th percentile)"
set offsets 0.3, 0.3, 0, 0
set grid noxtics
set key top left

set title "as the parent's memory grows" font ",13"
set xlabel "memory the parent has touched (MiB, 4 KiB pages)"
PY = wb_py ? (", '".py."' index 0 using 0:2:3:4 with yerrorlines lt 2 dt 2 pt 6 title 'CPython: fork', '".py."' index 0 using 0:5:6:7 with yerrorlines lt 1 dt 2 pt 6 title 'CPython: spawn', '".py."' index 0 using 0:8:9:10 with yerrorlines lt 3 dt 2 pt 6 title 'CPython: forkserver'") : ""
if (wb_py) set key font ",10" spacing 1; set format y "%.0f"
plot data index 0 using 0:2:3:4:xtic(1) with yerrorlines lt 2 title "fork: copies the page tables", \
     ''   index 0 using 0:5:6:7 with yerrorlines lt 1 title "spawn: runs the program again", \
     ''   index 0 using 0:8:9:10 with yerrorlines lt 3 title "forkserver: a small server forks" @PY

unset label 999
set title "as the parent's idle threads grow" font ",13"
set xlabel "idle threads in the parent"
set ylabel ""
PY = wb_py ? (", '".py."' index 1 using 0:2:3:4 with yerrorlines lt 2 dt 2 pt 6 notitle, '".py."' index 1 using 0:5:6:7 with yerrorlines lt 1 dt 2 pt 6 notitle, '".py."' index 1 using 0:8:9:10 with yerrorlines lt 3 dt 2 pt 6 notitle") : ""
plot data index 1 using 0:2:3:4:xtic(1) with yerrorlines lt 2 title "fork", \
     ''   index 1 using 0:5:6:7 with yerrorlines lt 1 title "spawn", \
     ''   index 1 using 0:8:9:10 with yerrorlines lt 3 title "forkserver" @PY
unset multiplot
