# switch_cost.gp: one switch, and making a task, by method (log scale).
# data: chapters/07-coroutine/switch_cost --data
#   block 0: method, median ns per switch, p10, p90, label, colour group
#   block 1: row, median ns to make + run once + destroy, p10, p90, label, colour group
#   header lines "# goal_bare: ..." and "# goal_ucontext: ...": the two goals' ratios
data = ARG1; out = ARG2
load system("dirname '".ARG0."'")."/style.gp"
set terminal pngcairo size 1400,640 enhanced font "DejaVu Sans,12" linewidth 1.3 background "white"
set output out

fmt(ns) = ns >= 1e6 ? sprintf("%.3g ms", ns / 1e6) : ns >= 1000 ? sprintf("%.3g µs", ns / 1000) : sprintf("%.3g ns", ns)
goals = "coro\\_switch / bare swap: ".wb_header("goal_bare")."\nswapcontext / coro\\_switch: ".wb_header("goal_ucontext")

set multiplot title "What one switch costs, and what making a task costs" font ",15"
set logscale y
set boxwidth 0.7
set grid noxtics
set key off
set xtics scale 0 font ",10"

set origin 0, 0
set size 0.63, 0.95
set title "one switch (half a round trip)" font ",13"
set ylabel "time, log scale (ns)"
set xrange [-0.6:8.6]
set yrange [0.3:3e5]
set format y "10^{%T}"
set label 1 goals at graph 0.02, graph 0.95 left font ",11" textcolor rgb "#333333"
plot data index 0 using 1:2:6:xtic(stringcolumn(5)) with boxes lc variable, \
     ''   index 0 using 1:2:3:4 with yerrorbars lt 7 lw 1.2 pt -1, \
     ''   index 0 using 1:($4 * 1.7):(fmt($2)) with labels font ",10"

unset label 1
unset label 999 # the caption once is enough
set origin 0.63, 0
set size 0.37, 0.95
set title "make one, run it to its first stop, destroy it" font ",13"
set ylabel ""
set xrange [-0.6:4.6]
set yrange [1:3e6]
plot data index 1 using 1:2:6:xtic(stringcolumn(5)) with boxes lc variable, \
     ''   index 1 using 1:2:3:4 with yerrorbars lt 7 lw 1.2 pt -1, \
     ''   index 1 using 1:($4 * 1.7):(fmt($2)) with labels font ",10"
unset multiplot
