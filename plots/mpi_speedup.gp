# mpi_speedup.gp: chapter 03's CPU-bound job on MPI (static, dynamic) and on the fork pool,
# against the number of processes. data: chapters/13-cluster/mpi_bench --data, block 0
#   (P, static median/p10/p90/speed-up, dynamic median/p10/p90/speed-up,
#    pool median/p10/p90/speed-up, cores); with make compare, py: python/13_cluster.py's
#   mpi_bench_py.dat (mpi4py's ranks and multiprocessing.Pool on a smaller job of the same
#   kind): its speed-ups, dashed, on the right only (its seconds are another job's)
data = ARG1; out = ARG2; py = ARGC >= 3 ? ARG3 : ""
load system("dirname '".ARG0."'")."/style.gp"

stats data index 0 using 1 nooutput
maxp = STATS_max
stats data index 0 using 14 nooutput
cores = STATS_max

set multiplot layout 1, 2 title "One CPU-bound job: MPI on one machine against chapter 03's pool" font ",15"
set xrange [0.5:maxp + 0.5]
eval wb_counttics(maxp)
set xlabel "processes P (MPI ranks, or pool workers)"
set arrow 1 from cores, graph 0 to cores, graph 1 nohead dt 2 lc rgb "#777777"
set label 1 wb_ncores(cores) at cores, graph 0.04 offset 0.6, 0 font ",10" textcolor rgb "#555555"

set ylabel "seconds (median, 10th-90th percentile)"
set yrange [0:*]
set offsets 0, 0, graph 0.3, 0
set key top right
plot data index 0 using ($1-0.08):2:3:4 with yerrorlines lt 1 title "MPI static: scatter, gather", \
     ''   index 0 using 1:6:7:8 with yerrorlines lt 2 title "MPI dynamic: rank 0 deals", \
     ''   index 0 using ($1+0.08):10:11:12 with yerrorlines lt 3 title "fork pool (chapter 03)"

unset label 999 # the caption once is enough
set ylabel "speed-up over one process (x)"
set yrange [0:(maxp > cores ? cores : maxp) + 1]
set offsets 0, 0, 0, 0
set key top left
ideal(x) = x < 1 ? NaN : (x <= cores ? x : cores)
PY = ""
if (wb_py) {
    set key top left font ",10" spacing 1
    set yrange [0:(maxp > cores ? cores : maxp) + 2]  # (room for the legend)
    PY = (", '".py."' index 0 using 1:5 with linespoints lt 1 dt 2 pt 6 title 'CPython: mpi4py static', '".py."' index 0 using 1:9 with linespoints lt 2 dt 2 pt 6 title 'CPython: mpi4py dynamic', '".py."' index 0 using 1:13 with linespoints lt 3 dt 2 pt 6 title 'CPython: multiprocessing.Pool'")
}
plot data index 0 using 1:5 with linespoints lt 1 title "MPI static", \
     ''   index 0 using 1:9 with linespoints lt 2 title "MPI dynamic (P-1 ranks work)", \
     ''   index 0 using 1:13 with linespoints lt 3 title "fork pool", \
     ideal(x) with lines lt 7 dt 3 lw 1.5 title "ideal: min(P, cores)" @PY
unset multiplot
