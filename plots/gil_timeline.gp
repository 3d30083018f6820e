# gil_timeline.gp: who holds the GIL over time, one lane per thread (David Beazley's style).
# data: chapters/08-gil/gil_timeline --data, blocks 0-3 (lane, from_ms, to_ms): new GIL,
#   new GIL on one core, old GIL, old GIL on one core; with make compare, py:
#   python/08_gil.py's blocks 0 and 1, real CPython on two cores and on one (who ran when,
#   from each thread's own clock), as two more lanes' panels
data = ARG1; out = ARG2; py = ARGC >= 3 ? ARG3 : ""
load system("dirname '".ARG0."'")."/style.gp"
set terminal pngcairo size 1000,760

stats data index 0 using 1 nooutput
lanes = STATS_max
stats data index 0 using 3 nooutput
win = STATS_max
names = "'new GIL (3.2+), 2 cores' 'new GIL, all threads on one core' 'old GIL (2.x), 2 cores' 'old GIL, all threads on one core'"
colors = "#0072B2 #D55E00 #009E73 #CC79A7"

np = wb_py ? 6 : 4
if (wb_py) { set terminal pngcairo size 1000,1000; set output out }
set multiplot layout np, 1 title "Who holds the GIL: CPU-bound threads, one lane each" font ",15" \
    margins 0.1, 0.97, 0.12, 0.9 spacing 0, 0.055
set xrange [0:win]
set yrange [0.4:lanes + 0.6]
set ytics 1
set format y "T%g"
set grid noytics
set key off
set border 1
set tics nomirror
do for [b = 0:3] {
    set title word(names, b + 1) font ",12" offset 0, -0.6
    if (b == 3 && !wb_py) { set xlabel "time (ms)"; set format x "%g" } else { unset xlabel; set format x "" }
    if (b > 0) { unset label 999 }
    plot data index b using 2:1:($3 - $2):(0) with vectors nohead lw 14 lc rgb word(colors, b + 1)
}
if (wb_py) {
    pynames = "'CPython (the real GIL), 2 cores' 'CPython, both threads on one core'"
    do for [b = 0:1] {
        set title word(pynames, b + 1) font ",12" offset 0, -0.6
        if (b == 1) { set xlabel "time (ms)"; set format x "%g" }
        plot py index b using 2:1:($3 - $2):(0) with vectors nohead lw 14 lc rgb "#000000" dt 1
    }
}
unset multiplot
