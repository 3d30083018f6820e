# switch_cost.gp: one switch, by method (log scale).
# data: chapters/07-coroutine/switch_cost --data
#   block 0: method, median ns per switch, p10, p90, label, colour group
#   header lines "# ratio_bare: ..." and "# ratio_ucontext: ...": ratios of medians
#   with make compare, py: python/07_coroutine.py's block in the same columns (next(),
#   greenlet.switch(), Condition, pipes in C's rows; asyncio.sleep(0) a tenth method),
#   drawn as open dashed bars to the right of C's (NaN where CPython has no counterpart)
data = ARG1; out = ARG2; py = ARGC >= 3 ? ARG3 : ""
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
set ylabel "ns per switch (log scale)"
set xrange [-0.6:8.6]
set yrange [0.3:3e5]
# one unit on the axis (ns); the bars' labels say µs or ms where that reads better
set ytics ("1" 1, "10" 10, "100" 100, "1 000" 1e3, "10 000" 1e4, "100 000" 1e5, "1 000 000" 1e6)
set label 1 ratios at graph 0.02, graph 0.95 left font ",11" textcolor rgb "#333333"
dx = 0; PY = ""
if (wb_py) {
    # CPython's bar to the right of C's, a tenth method (asyncio) at the end
    dx = 0.21
    set title "What one switch costs (half a round trip): C solid, CPython dashed"
    set boxwidth 0.4
    set xrange [-0.6:9.6]
    set yrange [0.3:3e6]
    set label 2 "CPython (open, dashed; values in grey): next(), greenlet.switch() (it copies\nstacks: see copy\\_cost), Condition, pipes, asyncio.sleep(0)" at graph 0.02, graph 0.83 left font ",10" textcolor rgb "#555555"
    PY = sprintf(", '%s' index 0 using ($1 + dx):2:6 with boxes fs empty dt 2 lw 2 lc variable, '%s' index 0 using ($1 + dx):2:3:4 with yerrorbars lt 7 lw 1 pt -1, '%s' index 0 using ($1 + dx):($4 * 1.7):(fmt($2)) with labels font ',9' textcolor rgb '#666666', '%s' index 0 using 1:(NaN):xtic($1 == 9 ? stringcolumn(5) : '') with points pt -1", py, py, py, py)
}
plot data index 0 using ($1 - dx):2:6:xtic(stringcolumn(5)) with boxes lc variable, \
     ''   index 0 using ($1 - dx):2:3:4 with yerrorbars lt 7 lw 1.2 pt -1, \
     ''   index 0 using ($1 - dx):($4 * 1.7):(fmt($2)) with labels font ",10" @PY
