# spawn_cost.gp: the cost of starting and reaping one unit of work, by method.
# data: chapters/01-process/spawn_cost --data, block 0 (method, median, p10, p90, label)
data = ARG1; out = ARG2
load system("dirname '".ARG0."'")."/style.gp"

set title "Starting and reaping a unit of work that does nothing"
set ylabel "time to start and reap (µs)"
set xlabel "how the work is started"
set boxwidth 0.6
set xrange [-0.6:4.6]
set yrange [0:*]
set offsets 0, 0, graph 0.12, 0
set grid noxtics
set key top left
plot data index 0 using 1:2:xtic(stringcolumn(5)) with boxes lt 1 title "median", \
     ''   index 0 using 1:2:3:4 with yerrorbars lt 7 lw 1.2 pt -1 title "10th to 90th percentile", \
     ''   index 0 using 1:4:(sprintf("%.0f µs", $2)) with labels offset 0, 1 notitle
