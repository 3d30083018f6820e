# mpi_costs.gp: what talking to an MPI job and starting one cost, against chapter 03's
# pool. data: chapters/13-cluster/mpi_bench --data, block 1 (way, round trip median,
# p10, p90) and block 2 (P, MPI start median/p10/p90, pool start median/p10/p90); with
# make compare, py: python/13_cluster.py's mpi_bench_py.dat (mpi4py's comm.send/recv and
# multiprocessing.Pool's apply_async), open dashed bars beside C's and dashed lines
data = ARG1; out = ARG2; py = ARGC >= 3 ? ARG3 : ""
load system("dirname '".ARG0."'")."/style.gp"

stats data index 2 using 1 nooutput
maxp = STATS_max

set multiplot layout 1, 2 title "What MPI costs on one machine, against chapter 03's pool" font ",15"

set title "one 8-byte task there and back" font ",13"
set logscale y 10
set format y "10^{%T}"
set ylabel "round trip (µs, log scale)"
set xrange [-0.6:3.6]
set yrange [0.1:*]
set offsets 0, 0, graph 0.15, 0
set boxwidth 0.6
set grid noxtics
set key top left
set xtics ("MPI\ntwo cores" 0, "MPI\none core" 1, "pool\ntwo cores" 2, "pool\none core" 3)
PY = ""
cx = 0  # (beside CPython, C's bars move left and CPython's open dashed ones stand on the right)
cl = 0  # (C's value labels: moved left beside CPython's, which move right, so that
        # two values of the same height do not run into each other)
if (wb_py) {
    set boxwidth 0.36
    cx = -0.19
    cl = -0.8
    set yrange [0.1:1e7]  # (room for the legend above the one-core bars and their labels)
    PY = (", '".py."' index 1 using ($1+0.19):2 with boxes fs empty lt 2 dt 2 lw 2 title 'CPython: mpi4py, multiprocessing.Pool', '".py."' index 1 using ($1+0.19):2:3:4 with yerrorbars lt 7 lw 1.2 pt -1 notitle, '".py."' index 1 using ($1+0.19):4:($2 >= 10 ? sprintf('%.0f', $2) : sprintf('%.2f', $2)) with labels offset 0.8, 0.8 font ',9' notitle")
}
plot data index 1 using ($1+cx):2 with boxes lt 1 title (wb_py ? "C: median" : "median"), \
     ''   index 1 using ($1+cx):2:3:4 with yerrorbars lt 7 lw 1.2 pt -1 title "10th to 90th percentile", \
     ''   index 1 using ($1+cx):4:($2 >= 10 ? sprintf(wb_py ? "%.0f" : "%.0f µs", $2) : sprintf(wb_py ? "%.2f" : "%.2f µs", $2)) with labels offset cl, 0.8 font (wb_py ? ",9" : ",12") notitle @PY

unset label 999 # the caption once is enough
set title "starting a job of P processes" font ",13"
set ylabel "time to start (ms, log scale)"
set xlabel "processes P"
set xrange [0.5:maxp + 0.5]
eval wb_counttics(maxp)
set yrange [0.1:*]
set grid xtics ytics
set key top left
PY = wb_py ? (", '".py."' index 2 using 1:2:3:4 with yerrorlines lt 2 dt 2 pt 6 title 'CPython: mpiexec, Python ranks (import mpi4py.MPI)', '".py."' index 2 using 1:5:6:7 with yerrorlines lt 3 dt 2 pt 6 title 'CPython: Pool() until the first result'") : ""
if (wb_py) { set key top left font ",10" spacing 1; set yrange [0.1:1e5] }
plot data index 2 using 1:2:3:4 with yerrorlines lt 2 title "mpiexec: until every rank is past MPI\\_Init", \
     ''   index 2 using 1:5:6:7 with yerrorlines lt 3 title "pool\\_new: until the first result" @PY
unset multiplot
