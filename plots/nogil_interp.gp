# nogil_interp.gp: chapter 08's workload under the GIL and free-threaded: speed-up over
# one thread of the same build, and one thread's overhead against the GIL build.
# data: chapters/12-nogil/nogil_interp --data (threads, gil_ms, atomic_ms, biased_ms,
#   overhead_atomic %, overhead_biased %, cores); with make compare, py:
#   python/12_nogil.py's nogil_interp_py.dat, the same columns for the lesson's job on
#   CPython's threads (a GIL build in gil_ms, a free-threaded one in biased_ms with its
#   overhead against the GIL build beside it): dashed, and a third bar when measured
data = ARG1; out = ARG2; py = ARGC >= 3 ? ARG3 : ""
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
PY = ""
pyov = NaN
if (wb_py) {
    # the first row's value of column c in the CPython file (NaN if none)
    pyfirst(c) = real(system(sprintf("awk '!/^#/ && NF {print ($%d == \"NaN\" ? \"NaN\" : $%d); exit}' '%s'", c, c, py)))
    pyg1 = pyfirst(2)
    pyb1 = pyfirst(4)
    pyov = pyfirst(6)
    if (pyg1 == pyg1) { PY = PY.(", '".py."' using 1:(pyg1/$2) with linespoints lt 2 dt 2 pt 6 title 'CPython with its GIL: the lesson job on threads'") }
    if (pyb1 == pyb1) { PY = PY.(", '".py."' using 1:(pyb1/$4) with linespoints lt 3 dt 2 pt 6 title 'CPython, free-threaded: the lesson job on threads'") }
}
gil_title = "GIL build (chapter 08's GIL, plain counts)"  # (an apostrophe would hide @PY from gnuplot's macros)
plot ideal(x) with lines lt 7 dt 3 lw 1.5 title "ideal: min(threads, cores)", \
     data using 1:(gil1/$2) with linespoints lt 2 title gil_title, \
     ''   using 1:(atomic1/$3) with linespoints lt 1 title "free-threaded, atomic counts", \
     ''   using 1:(biased1/$4) with linespoints lt 3 title "free-threaded, biased counts, immortal constant" @PY

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
PY = ""
if (pyov == pyov) {
    # a free-threaded CPython's one-thread overhead against its GIL build, beside the models'
    set xrange [-0.6:2.6]
    set xtics ("atomic counts" 0, "biased counts,\nimmortal constant" 1, "CPython\nfree-threaded" 2) scale 0
    set yrange [(ovlo < 0 || pyov < 0 ? 1.4 * (pyov < ovlo ? pyov : ovlo) : 0):1.3 * (pyov > ovhi ? pyov : (ovhi > 0 ? ovhi : 1))]
    PY = (", '".py."' every ::0::0 using (2):6 with boxes fs empty lt 3 dt 2 lw 2 notitle, '".py."' every ::0::0 using (2):6:(sprintf('%+.0f%%', $6)) with labels offset 0, 1 font ',11' notitle")
}
plot data every ::0::0 using (0):5 with boxes lt 1 notitle, \
     ''   every ::0::0 using (1):6 with boxes lt 3 notitle, \
     ''   every ::0::0 using (0):5:(sprintf("%+.0f%%", $5)) with labels offset 0, 1 font ",11" notitle, \
     ''   every ::0::0 using (1):6:(sprintf("%+.0f%%", $6)) with labels offset 0, 1 font ",11" notitle @PY
unset multiplot
