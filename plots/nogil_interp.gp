# nogil_interp.gp: chapter 08's workload under the GIL and free-threaded: speed-up over
# one thread of the same build, and one thread's overhead against the GIL build.
# data: chapters/12-nogil/nogil_interp --data (threads, gil_ms, atomic_ms, biased_ms,
#   overhead_atomic %, overhead_biased %, cores)
data = ARG1; out = ARG2
load system("dirname '".ARG0."'")."/style.gp"
set terminal pngcairo size 1300,640

stats data using 1 nooutput
maxt = STATS_max
stats data using 7 nooutput
cores = STATS_max
stats data using 2 every ::0::0 nooutput
gil1 = STATS_max
stats data using 3 every ::0::0 nooutput
atomic1 = STATS_max
stats data using 4 every ::0::0 nooutput
biased1 = STATS_max
stats data using 5 every ::0::0 nooutput
ova = STATS_max
stats data using 6 every ::0::0 nooutput
ovb = STATS_max
ovlo = ova < ovb ? ova : ovb
ovhi = ova > ovb ? ova : ovb

set multiplot layout 1, 2 title "One interpreter, three builds: with the GIL, and free-threaded" font ",15" \
    margins 0.07, 0.98, 0.2, 0.88 spacing 0.09, 0
set xrange [0.6:maxt + 0.4]
eval wb_counttics(maxt)
set xlabel "threads sharing a fixed job"
set ylabel "speed-up over one thread of the same build (x)"
set yrange [0:cores + 0.8]
set arrow 1 from cores, graph 0 to cores, graph 1 nohead dt 2 lc rgb "#777777"
set label 1 wb_ncores(cores) at cores, graph 0.04 offset 0.6, 0 font ",10" textcolor rgb "#555555"
ideal(x) = x < 1 ? NaN : (x <= cores ? x : cores)
set key top left font ",10"
plot ideal(x) with lines lt 7 dt 3 lw 1.5 title "ideal: min(threads, cores)", \
     data using 1:(gil1/$2) with linespoints lt 2 title "GIL build (chapter 08's GIL, plain counts)", \
     ''   using 1:(atomic1/$3) with linespoints lt 1 title "free-threaded, atomic counts", \
     ''   using 1:(biased1/$4) with linespoints lt 3 title "free-threaded, biased counts, immortal constant"

unset label 999
unset arrow 1
unset label 1
set xrange [-0.6:1.6]
set xtics ("atomic counts" 0, "biased counts,\nimmortal constant" 1) scale 0
set xlabel "free-threaded build, one thread" offset 0, -1.3
set ylabel "slower than the GIL build, one thread (%)"
set yrange [(ovlo < 0 ? 1.4 * ovlo : 0):(ovhi > 0 ? 1.3 * ovhi : 1)]
set boxwidth 0.5
set style fill solid 0.85 border -1
set grid noxtics
unset key
set xzeroaxis lt -1
plot data every ::0::0 using (0):5 with boxes lt 1 notitle, \
     ''   every ::0::0 using (1):6 with boxes lt 3 notitle, \
     ''   every ::0::0 using (0):5:(sprintf("%+.0f%%", $5)) with labels offset 0, 1 font ",11" notitle, \
     ''   every ::0::0 using (1):6:(sprintf("%+.0f%%", $6)) with labels offset 0, 1 font ",11" notitle
unset multiplot
