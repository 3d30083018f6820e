# gil_cpu.gp: a fixed CPU-bound job on T threads, under the GIL, without it, on processes.
# data: chapters/08-gil/gil_cpu --data (threads, one, new, new1, old, old1, nogil, procs,
#   hand-offs/s x4, cores); with make compare, py: python/08_gil.py's same columns (real
#   CPython threads in the new-GIL columns, or in no-GIL for a free-threaded build; its
#   processes; NaN for what CPython does not have): its speed-ups, dashed with open symbols
data = ARG1; out = ARG2; py = ARGC >= 3 ? ARG3 : ""
load system("dirname '".ARG0."'")."/style.gp"
# beside CPython (dashed) C's own dashed series are drawn thin and solid instead
CD = wb_py ? "dt 1 lw 1.2" : "dt 2"

stats data using 1 nooutput
maxt = STATS_max
stats data using 13 nooutput
cores = STATS_max

set multiplot layout 1, 2 title "A CPU-bound job split over T threads: the GIL lets one run at a time" font ",15"
set xrange [0.6:maxt + 0.4]
eval wb_counttics(maxt)
set xlabel "threads (or processes) T"
set arrow 1 from cores, graph 0 to cores, graph 1 nohead dt 2 lc rgb "#777777"
set label 1 wb_ncores(cores) at cores, graph 0.04 offset 0.6, 0 font ",10" textcolor rgb "#555555"

set ylabel "wall time (ms), median"
set yrange [0:*]
set offsets 0, 0, graph 0.45, 0
set key top left
# (CPython ran a job of its own, the lesson's additions: its times are not on this axis;
# its speed-ups are on the right)
PY = ""
plot data using 1:($2*1000) with lines lt 7 dt 3 lw 1.5 title "one thread, the whole job", \
     ''   using 1:($3*1000) with linespoints lt 1 title "T threads, new GIL (3.2+)", \
     ''   using 1:($4*1000) with linespoints lt 6 @CD title "new GIL, all on one core", \
     ''   using 1:($5*1000) with linespoints lt 2 title "T threads, old GIL (2.x)", \
     ''   using 1:($6*1000) with linespoints lt 5 @CD title "old GIL, all on one core", \
     ''   using 1:($7*1000) with linespoints lt 3 title "T threads, no GIL", \
     ''   using 1:($8*1000) with linespoints lt 4 title "T processes" @PY

unset label 999
set ylabel "speed-up over one thread (x)"
set yrange [0:cores + 0.8]
set offsets 0, 0, 0, 0
set key top left
ideal(x) = x < 1 ? NaN : (x <= cores ? x : cores)
set label 2 "(colours as on the left)" at graph 0.04, graph 0.87 font ",10" textcolor rgb "#555555"
if (wb_py) { set label 2 at graph 0.04, graph 0.62; set key font ",10" }
PY = wb_py ? sprintf(", '%s' using 1:($2/$3) with linespoints lt 1 dt 2 pt 6 title 'CPython: threads', '%s' using 1:($2/$4) with linespoints lt 6 dt 4 pt 6 title 'CPython: threads, one core', '%s' using 1:($2/$7) with linespoints lt 3 dt 2 pt 8 notitle, '%s' using 1:($2/$8) with linespoints lt 4 dt 2 pt 12 title 'CPython: processes'", py, py, py, py) : ""
plot ideal(x) with lines lt 7 dt 3 lw 1.5 title "ideal: min(T, cores)", \
     1 with lines lt 7 dt 3 lw 1 notitle, \
     data using 1:($2/$3) with linespoints lt 1 notitle, \
     ''   using 1:($2/$4) with linespoints lt 6 @CD notitle, \
     ''   using 1:($2/$5) with linespoints lt 2 notitle, \
     ''   using 1:($2/$6) with linespoints lt 5 @CD notitle, \
     ''   using 1:($2/$7) with linespoints lt 3 notitle, \
     ''   using 1:($2/$8) with linespoints lt 4 notitle @PY
unset multiplot
