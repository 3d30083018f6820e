# mpi_costs.gp: what talking to an MPI job and starting one cost, against chapter 03's
# pool. data: chapters/13-cluster/mpi_bench --data, block 1 (way, round trip median,
# p10, p90) and block 2 (P, MPI start median/p10/p90, pool start median/p10/p90)
data = ARG1; out = ARG2
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
plot data index 1 using 1:2 with boxes lt 1 title "median", \
     ''   index 1 using 1:2:3:4 with yerrorbars lt 7 lw 1.2 pt -1 title "10th to 90th percentile", \
     ''   index 1 using 1:4:($2 >= 10 ? sprintf("%.0f µs", $2) : sprintf("%.2f µs", $2)) with labels offset 0, 0.8 notitle

unset label 999 # the caption once is enough
set title "starting a job of P processes" font ",13"
set ylabel "time to start (ms, log scale)"
set xlabel "processes P"
set xrange [0.5:maxp + 0.5]
eval wb_counttics(maxp)
set yrange [0.1:*]
set grid xtics ytics
set key top left
plot data index 2 using 1:2:3:4 with yerrorlines lt 2 title "mpiexec: until every rank is past MPI\\_Init", \
     ''   index 2 using 1:5:6:7 with yerrorlines lt 3 title "pool\\_new: until the first result"
unset multiplot
