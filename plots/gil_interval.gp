# gil_interval.gp: the switch interval trades the CPU-bound threads' throughput for the
# I/O-bound thread's latency.
# data: chapters/08-gil/gil_interval --data (interval ms, throughput ratio, rtt median p10
#   p90 us, re-take p90 us, requests/s, hand-offs/s, run ms, solo ticks/s, held share);
#   with make compare, py: python/08_gil.py's same columns (round trips only: the share is
#   not visible from Python), dashed
data = ARG1; out = ARG2; py = ARGC >= 3 ? ARG3 : ""
load system("dirname '".ARG0."'")."/style.gp"

set multiplot layout 1, 2 title "Choosing the switch interval: throughput against latency" font ",15"
set logscale x 10
set xrange [0.07:70]
set xtics ("0.1" 0.1, "1" 1, "5" 5, "10" 10, "50" 50)
set xlabel "switch interval (ms, log scale)"
# the two intervals, each named beside its line, on its right
set arrow 1 from 5, graph 0 to 5, graph 1 nohead dt 3 lc rgb "#777777"
set label 1 "CPython's default, 5 ms" at 5, graph 0.03 rotate by 90 left offset 0.9, 0 font ",10" textcolor rgb "#555555"
set arrow 2 from 15, graph 0 to 15, graph 1 nohead dt 3 lc rgb "#D55E00"
set label 2 "the lessons' 15 ms" at 15, graph 0.03 rotate by 90 left offset 0.9, 0 font ",10" textcolor rgb "#D55E00"
set ylabel "share of the time the CPU-bound thread held the GIL (%)"
set yrange [60:102]
set key bottom right
# (column 2, its ticks per second over one thread's alone, is in the data too; on a shared
# virtual machine a core switches between two speeds about 30% apart, too much noise to draw it)
plot data using 1:($11 * 100) with linespoints lt 1 notitle, \
     100 with lines lt 7 dt 3 lw 1 notitle

unset label 999
set logscale y 10
set yrange [1:3e5]
set ylabel "I/O thread's round trip (µs, log scale)"
# the left panel names the two intervals; here the key, at the bottom left, below every
# curve, hides their lines where it crosses them
unset label 1
unset label 2
set key bottom left font ",10" samplen 2 opaque
PY = wb_py ? sprintf(", '%s' using 1:3:4:5 with yerrorlines lt 2 dt 2 pt 6 title 'CPython: median, 10th-90th pct', '%s' using 1:(1e6 / $7) with linespoints lt 4 dt 2 pt 12 title 'CPython: mean'", py, py) : ""
plot data using 1:3:4:5 with yerrorlines lt 2 title "median, 10th-90th pct", \
     ''   using 1:(1e6 / $7) with linespoints lt 4 pt 6 title "mean (1 / requests per s)", \
     1000 * x with lines lt 7 dt 3 lw 1.5 title "one interval", \
     2000 * x with lines lt 7 dt 2 lw 1.5 title "two (send and recv wait)" @PY
unset multiplot
