# gil_convoy.gp: an I/O-bound thread's requests per second and round trip beside CPU-bound
# threads, by GIL configuration, with the model rate 1 / (2 x interval); and how much of
# the run the CPU-bound thread got.
# data: chapters/08-gil/gil_convoy --data (conf, interval ms, model, rate0..2, rtt0..2 with
#   p10 and p90, rate1c, rtt1c with p10 and p90, hog share with 1 hog, 2 hogs, 1 hog on one
#   core, label); with make compare, py: python/08_gil.py's same columns (the real GIL at
#   0.1, 1, 5 and 10 ms; no old GIL; the hogs' share not visible from Python), drawn as a
#   dashed marker over each of C's bars
data = ARG1; out = ARG2; py = ARGC >= 3 ? ARG3 : ""
load system("dirname '".ARG0."'")."/style.gp"
set terminal pngcairo size 1400,740

# each panel's key sits above it (the bars fill their panels to the top), at a place of
# its own on the page: panels from x = 0.06, 0.39, 0.72; both models, one interval per
# blocking call and two, in the rate and the round-trip panels
set multiplot layout 1, 3 title "The convoy effect: an I/O thread next to CPU-bound threads" font ",15" \
    margins 0.06, 0.98, 0.17, 0.70 spacing 0.07, 0
set style data histogram
set style histogram clustered gap 1.2
set style fill solid 0.85 border -1
set boxwidth 1
set grid noxtics
set xtics scale 0 font ",10"
set xlabel "new GIL with this switch interval, or the old GIL"
set key at screen 0.06, 0.91 left top Left reverse font ",10" spacing 1 samplen 2.5
set logscale y 10
set format y "10^{%T}"
set ylabel "requests per second (log scale)"
# from the slowest rate to the model's 1 / interval at 0.1 ms
set yrange [20:2e4]
PY = wb_py ? sprintf(", '%s' using ($0 - 0.3):4 with points lc rgb '#000000' pt 6 ps 1.6 lw 2 title 'CPython, over the bar of the same kind', '%s' using ($0 - 0.1):5 with points lc rgb '#000000' pt 6 ps 1.6 lw 2 notitle, '%s' using ($0 + 0.1):6 with points lc rgb '#000000' pt 6 ps 1.6 lw 2 notitle, '%s' using ($0 + 0.3):16 with points lc rgb '#000000' pt 6 ps 1.6 lw 2 notitle", py, py, py, py) : ""
plot data using 4:xtic(23) lt 3 title "alone", \
     ''   using 5 lt 1 title "beside 1 CPU-bound thread", \
     ''   using 6 lt 2 title "beside 2", \
     ''   using 16 lt 4 title "beside 1, all on one core", \
     ''   using ($0):3:($0 - 0.45):($0 + 0.45) with xerrorbars lt 7 lw 3 pt -1 title "model: 1 / (2 × interval)", \
     ''   using ($0):(2 * $3):($0 - 0.45):($0 + 0.45) with xerrorbars lc rgb "#888888" lw 2 dt 2 pt -1 \
          title "1 / interval (only the recv waits)" @PY

unset label 999
set style histogram errorbars gap 1.2 lw 1
set ylabel "round trip, µs (median, 10th-90th pct; log scale)"
# from the round trip alone (about 200 µs) to two intervals of 10 ms, and the 90th
# percentiles beside the CPU-bound threads
set yrange [100:5e4]
set key at screen 0.39, 0.91 left top Left reverse font ",10"
set label 2 "(bar colours as on the left)" at graph 0.02, graph 0.95 font ",10" textcolor rgb "#555555"
PY = wb_py ? sprintf(", '%s' using ($0 - 0.3):7:8:9 with yerrorbars lc rgb '#000000' pt 6 ps 1.4 lw 1.5 title 'CPython (open circles)', '%s' using ($0 - 0.1):10:11:12 with yerrorbars lc rgb '#000000' pt 6 ps 1.4 lw 1.5 notitle, '%s' using ($0 + 0.1):13:14:15 with yerrorbars lc rgb '#000000' pt 6 ps 1.4 lw 1.5 notitle, '%s' using ($0 + 0.3):17:18:19 with yerrorbars lc rgb '#000000' pt 6 ps 1.4 lw 1.5 notitle", py, py, py, py) : ""
plot data using 7:8:9:xtic(23) lt 3 notitle, \
     ''   using 10:11:12 lt 1 notitle, \
     ''   using 13:14:15 lt 2 notitle, \
     ''   using 17:18:19 lt 4 notitle, \
     ''   using ($0):($2 > 0 ? 2000 * $2 : NaN):($0 - 0.45):($0 + 0.45) with xerrorbars lt 7 lw 3 pt -1 \
          title "model: 2 × interval", \
     ''   using ($0):($2 > 0 ? 1000 * $2 : NaN):($0 - 0.45):($0 + 0.45) with xerrorbars lc rgb "#888888" lw 2 dt 2 pt -1 \
          title "one interval (only the recv waits)" @PY

unset label 2
set style histogram clustered gap 1.2
unset logscale y
set format y "%g"
set yrange [0:105]
set ylabel "share of the run the CPU-bound thread(s) held the GIL (%)"
set key at screen 0.72, 0.91 left top Left reverse font ",10"
plot data using (100 * $20):xtic(23) lt 1 title "1 CPU-bound thread", \
     ''   using (100 * $21) lt 2 title "2", \
     ''   using (100 * $22) lt 4 title "1, all on one core", \
     100 with lines lt 7 dt 3 lw 1 notitle
unset multiplot
