# subinterpreters.gp: threads under one GIL, interpreters with a GIL each, processes:
# CPU-bound speed-up, the cost to start one, the cost to pass a message.
# data: chapters/12-nogil/subinterpreters --data (block 0: workers, threads_ms, interps_ms,
#   procs_ms, cores; block 1: kind, median, p10, p90 (us); block 2: size, pointer_us,
#   interp_us, proc_us); with make compare, py: python/12_nogil.py's
#   subinterpreters_py.dat, the same blocks for CPython's threads, subinterpreters (NaN
#   where the interpreter has none) and processes: dashed lines, open dashed bars
data = ARG1; out = ARG2; py = ARGC >= 3 ? ARG3 : ""
load system("dirname '".ARG0."'")."/style.gp"
set terminal pngcairo size 1500,640

stats data index 0 using 1 nooutput
maxw = STATS_max
stats data index 0 using 5 nooutput
cores = STATS_max
stats data index 0 using 2 every ::0::0 nooutput
t1 = STATS_max
stats data index 0 using 3 every ::0::0 nooutput
i1 = STATS_max
stats data index 0 using 4 every ::0::0 nooutput
p1 = STATS_max

set multiplot layout 1, 3 title "One GIL per interpreter (PEP 684): like processes to run, like threads to start" \
    font ",15" margins 0.06, 0.98, 0.2, 0.88 spacing 0.07, 0
set xrange [0.6:maxw + 0.4]
eval wb_counttics(maxw)
set xlabel "workers sharing a CPU-bound job"
set ylabel "speed-up over one worker (x)"
set yrange [0:cores + 0.8]
set arrow 1 from cores, graph 0 to cores, graph 1 nohead dt 2 lc rgb "#777777"
set label 1 wb_ncores(cores) at cores, graph 0.04 offset 0.6, 0 font ",10" textcolor rgb "#555555"
set key top left font ",10"
PY = ""
if (wb_py) {
    pyfirst(c) = real(system(sprintf("awk '!/^#/ && NF {print ($%d == \"NaN\" ? \"NaN\" : $%d); exit}' '%s'", c, c, py)))
    pyt1 = pyfirst(2)
    pyi1 = pyfirst(3)
    pyp1 = pyfirst(4)
    PY = (", '".py."' index 0 using 1:(pyt1/$2) with linespoints lt 2 dt 2 pt 6 title 'CPython: threads', '".py."' index 0 using 1:(pyp1/$4) with linespoints lt 4 dt 2 pt 6 title 'CPython: processes'")
    # "subinterpreters, a GIL each" (3.12 and later) or "..., one GIL for all": the CPython file says which
    pyititle = "CPython: ".system(sprintf("sed -n 's/^#  *3  interps_ms (ms): N \\(subinterpreters, [^;]*\\);.*/\\1/p' '%s' | head -n 1", py))
    if (pyi1 == pyi1) { PY = PY.(", '".py."' index 0 using 1:(pyi1/$3) with linespoints lt 3 dt 2 pt 6 title pyititle") }
}
plot data index 0 using 1:(t1/$2) with linespoints lt 2 title "threads, one GIL", \
     ''   index 0 using 1:(i1/$3) with linespoints lt 3 title "interpreters, a GIL each", \
     ''   index 0 using 1:(p1/$4) with linespoints lt 4 title "processes" @PY

unset label 999
unset arrow 1
unset label 1
set xrange [-0.6:2.6]
set xtics ("thread" 0, "interpreter\n(ours: a GIL only)" 1, "process\n(fork)" 2) scale 0
set xlabel "start one, run nothing, end it" offset 0, -1.3
set logscale y 10
set ylabel "µs (median; bar: 10th to 90th percentile; log scale)"
set yrange [1:3000]
set boxwidth 0.55
set style fill solid 0.85 border -1
set grid noxtics
unset key
PY = ""
cx = 0  # (beside CPython, C's bars move left and CPython's open dashed ones stand on the right)
if (wb_py) {
    set boxwidth 0.32
    set yrange [1:1e5]
    cx = -0.17
    PY = (", '".py."' index 1 using ($1+0.17):2:($1 == 0 ? 2 : $1 == 1 ? 3 : 4) with boxes fs empty dt 2 lw 2 lc variable notitle, '".py."' index 1 using ($1+0.17):2:3:4 with yerrorbars lt 7 pt -1 notitle, '".py."' index 1 using ($1+0.17):2:(sprintf('%.0f', $2)) with labels offset 0, 1.2 font ',9' notitle")
    set label 3 "solid: C;  open, dashed: CPython" at graph 0.5, graph 0.95 center font ",10"
}
plot data index 1 using ($1+cx):2:($1 == 0 ? 2 : $1 == 1 ? 3 : 4) with boxes lc variable notitle, \
     ''   index 1 using ($1+cx):2:3:4 with yerrorbars lt 7 pt -1 notitle, \
     ''   index 1 using ($1+cx):2:(sprintf(wb_py ? "%.0f" : "%.0f µs", $2)) with labels offset 0, 1.2 font (wb_py ? ",9" : ",10") notitle @PY
unset label 3

set xrange [40:100000]
set logscale x 2
set xtics ("64 B" 64, "1 KiB" 1024, "4 KiB" 4096, "16 KiB" 16384, "64 KiB" 65536) scale 1
set grid xtics
set xlabel "message size (log scale)" offset 0, 0
set ylabel "µs per message, through chapter 02's queue (log scale)"
set yrange [0.05:100]
set key top left font ",10"
PY = ""
if (wb_py) {
    set yrange [0.05:1000]
    PY = (", '".py."' index 2 using 1:2 with linespoints lt 2 dt 2 pt 6 title 'CPython: threads, queue.Queue', '".py."' index 2 using 1:4 with linespoints lt 4 dt 2 pt 6 title 'CPython: processes, a Pipe'")
}
plot data index 2 using 1:2 with linespoints lt 2 title "threads of one interpreter: a pointer", \
     ''   index 2 using 1:3 with linespoints lt 3 title "interpreters: a copy", \
     ''   index 2 using 1:4 with linespoints lt 4 title "processes: a copy" @PY
unset multiplot
