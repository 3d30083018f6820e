# gil_fetch.gp: the interview question: fetching pages from a slow server with N threads,
# then with CPU-heavy parsing of each page.
# data: chapters/08-gil/gil_fetch --data (threads, fetch, gil, nogil: each median p10 p90 in
#   ms; rounds, serial parse, cores); with make compare, py: python/08_gil.py's same columns
#   (real threads on CPython, its server a process of its own), dashed with open symbols
data = ARG1; out = ARG2; py = ARGC >= 3 ? ARG3 : ""
load system("dirname '".ARG0."'")."/style.gp"

stats data using 13 nooutput
cores = STATS_max
stats data using 12 nooutput
parse = STATS_max
set multiplot layout 1, 2 title "Fetching pages with N threads under the GIL" font ",15"
set logscale x 2
set logscale y 10
set xlabel "fetcher threads N"
set ylabel "time to fetch every page (ms, log scale)"
# (both panels on one scale, a decade below the fastest run: the keys sit under the
# model lines, not across them)
set yrange [0.1:1000]
set key bottom left
set title "fetch only: the threads wait, and waiting overlaps" font ",12"
PY = wb_py ? sprintf(", '%s' using 1:2:3:4 with yerrorlines lt 1 dt 2 pt 6 title 'CPython (median, p10-p90)'", py) : ""
plot data using 1:11 with lines lt 7 dt 3 lw 1.5 title "pages / N × server delay", \
     ''   using 1:2:3:4 with yerrorlines lt 1 title "measured, GIL (median, p10-p90)" @PY

unset label 999
set title "fetch + parse: the parsing takes turns" font ",12"
PY = wb_py ? sprintf(", '%s' using 1:5:6:7 with yerrorlines lt 2 dt 2 pt 6 title 'CPython, GIL', '%s' using 1:8:9:10 with yerrorlines lt 3 dt 2 pt 8 title 'CPython, GIL off'", py, py) : ""
set key bottom left
plot data using 1:11 with lines lt 7 dt 3 lw 1.5 title "pages / N × server delay", \
     parse with lines lt 2 dt 2 lw 1.5 title "pages × parse: one parser at a time", \
     parse / cores with lines lt 3 dt 2 lw 1.5 title "pages × parse / cores", \
     data using 1:5:6:7 with yerrorlines lt 2 title "measured, GIL", \
     ''   using 1:8:9:10 with yerrorlines lt 3 title "measured, no GIL" @PY
unset multiplot
