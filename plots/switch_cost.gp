# switch_cost.gp: one switch, by method (log scale).
# data: chapters/07-coroutine/switch_cost --data
#   block 0: method, median ns per switch, p10, p90, label, colour group
#   header lines "# ratio_bare: ..." and "# ratio_ucontext: ...": ratios of medians
data = ARG1; out = ARG2
load system("dirname '".ARG0."'")."/style.gp"
set terminal pngcairo size 1100,640 enhanced font "DejaVu Sans,12" linewidth 1.3 background "white"
set output out

fmt(ns) = ns >= 1e6 ? sprintf("%.3g ms", ns / 1e6) : ns >= 1000 ? sprintf("%.3g µs", ns / 1000) : sprintf("%.3g ns", ns)
rb = wb_header("ratio_bare"); ru = wb_header("ratio_ucontext")
ratios = (rb ne "" ? "coro\\_switch / bare swap: ".rb."x" : "").(ru ne "" ? "\nswapcontext / coro\\_switch: ".ru."x" : "")

set title "What one switch costs (half a round trip)"
set logscale y
set boxwidth 0.7
set grid noxtics
set key off
set xtics scale 0 font ",10"
set ylabel "time per switch, log scale"
set xrange [-0.6:8.6]
set yrange [0.3:3e5]
set ytics ("1 ns" 1, "10 ns" 10, "100 ns" 100, "1 µs" 1000, "10 µs" 10000, "100 µs" 100000)
set label 1 ratios at graph 0.02, graph 0.95 left font ",11" textcolor rgb "#333333"
plot data index 0 using 1:2:6:xtic(stringcolumn(5)) with boxes lc variable, \
     ''   index 0 using 1:2:3:4 with yerrorbars lt 7 lw 1.2 pt -1, \
     ''   index 0 using 1:($4 * 1.7):(fmt($2)) with labels font ",10"
