# stop_the_world.gp: the pause from the stop request to every thread parked, against the
# number of running threads; and with one thread in a long C call, attached or detached.
# data: chapters/12-nogil/stop_the_world --data (block 0: threads, median, p10, p90, max,
#   cores; block 1: detached, median, p10, p90, max, ccall us)
data = ARG1; out = ARG2
load system("dirname '".ARG0."'")."/style.gp"
set terminal pngcairo size 1300,640

stats data index 0 using 1 nooutput
maxt = STATS_max
stats data index 0 using 6 nooutput
cores = STATS_max
stats data index 1 using 6 nooutput
ccall_ms = STATS_max / 1000

set multiplot layout 1, 2 title "Stopping the world: every thread parked at a safe point" font ",15" \
    margins 0.07, 0.98, 0.2, 0.88 spacing 0.09, 0
set xrange [0.6:maxt + 0.4]
eval wb_counttics(maxt)
set xlabel "running threads (ticks of about 40 ns, a safe point after each)"
set logscale y 10
set ylabel "pause, µs: request to all parked (log scale)"
set yrange [0.5:1e5]
set arrow 1 from cores, graph 0 to cores, graph 1 nohead dt 2 lc rgb "#777777"
set label 1 wb_ncores(cores) at cores, graph 0.04 offset 0.6, 0 font ",10" textcolor rgb "#555555"
set key top left font ",10"
plot data index 0 using 1:2:3:4 with yerrorlines lt 1 title "median (bars: 10th to 90th percentile)", \
     ''   index 0 using 1:5 with points lt 2 pt 2 title "longest"

unset label 999
unset arrow 1
unset label 1
set xrange [-0.6:1.6]
set xtics ("C call attached\n(no safe point)" 0, "C call detached\n(Py\\_BEGIN\\_ALLOW\\_THREADS)" 1) scale 0
set xlabel sprintf("one thread in C calls of %.0f ms, beside the others", ccall_ms) offset 0, -1.3
set ylabel "pause, µs (median; bar: 10th to 90th percentile; log scale)"
set boxwidth 0.5
set style fill solid 0.85 border -1
set grid noxtics
unset key
plot data index 1 using 1:2 with boxes lt 1 notitle, \
     ''   index 1 using 1:2:3:4 with yerrorbars lt 7 pt -1 notitle, \
     ''   index 1 using 1:2:(sprintf("%.1f µs", $2)) with labels offset 0, 1.2 font ",10" notitle
unset multiplot
