# gil_holds.gp: how long a thread keeps the GIL: each hold, and each turn (holds by one
# thread in a row), new GIL and old, on two cores and on one.
# data: chapters/08-gil/gil_timeline --data, block 4 (lo, hi, mid us, 4 x % of holds,
#   4 x % of the time in turns); with make compare, py: python/08_gil.py's block 4 (CPython's
#   turns, seen from the threads' own clocks, on two cores and on one; its acquisitions,
#   the holds, are not visible from Python: NaN), dashed
data = ARG1; out = ARG2; py = ARGC >= 3 ? ARG3 : ""
load system("dirname '".ARG0."'")."/style.gp"
# two cores: filled bars (translucent, so that one behind another shows); one core: an
# outline on top, dashed (beside CPython, whose series are dashed, thin and solid)
CD = wb_py ? "lw 1.8 dt 1" : "lw 2.5 dt 2"
BAR = "fs transparent solid 0.35 noborder"

set multiplot layout 1, 2 title "How long a thread keeps the GIL (CPU-bound threads)" font ",15"
set logscale x 10
set xrange [1:1e5]
set xtics ("1 µs" 1, "10 µs" 10, "100 µs" 100, "1 ms" 1000, "10 ms" 1e4, "100 ms" 1e5)
set yrange [0:105]
# the key between the old GIL's holds (µs, on the left) and the new GIL's (ms, on the right)
set key at graph 0.42, graph 0.99 center top samplen 2
set xlabel "length of a hold (take to drop)"
set ylabel "share of all holds (%)"
plot data index 4 using 3:4:1:2:(0):4 with boxxyerror lt 1 @BAR title "new GIL, two cores", \
     ''   index 4 using 3:6:1:2:(0):6 with boxxyerror lt 3 @BAR title "old GIL, two cores", \
     ''   index 4 using 3:5 with histeps lt 6 @CD title "new GIL, one core", \
     ''   index 4 using 3:7 with histeps lt 4 @CD title "old GIL, one core"
set arrow 1 from 5000, graph 0 to 5000, graph 1 nohead dt 3 lc rgb "#777777"
set label 1 "5 ms" at 5000, graph 0.55 right offset -0.5, 0 font ",10" textcolor rgb "#555555"
unset label 999
set key inside top left
set xlabel "length of a turn (until another thread takes the GIL)"
PY = wb_py ? sprintf(", '%s' index 4 using 3:8 with histeps lc rgb '#000000' lw 2 dt 2 title 'CPython, two cores', '%s' index 4 using 3:9 with histeps lc rgb '#777777' lw 2 dt 3 title 'CPython, one core'", py, py) : ""
set ylabel "share of the time spent in such turns (%)"
plot data index 4 using 3:8:1:2:(0):8 with boxxyerror lt 1 @BAR title "new GIL, two cores", \
     ''   index 4 using 3:10:1:2:(0):10 with boxxyerror lt 3 @BAR title "old GIL, two cores", \
     ''   index 4 using 3:9 with histeps lt 6 @CD title "new GIL, one core", \
     ''   index 4 using 3:11 with histeps lt 4 @CD title "old GIL, one core" @PY
unset multiplot
