# fork_memory.gp: fork's cost against the memory the parent has touched, on log axes,
# with the straight line fitted to fork's points (its slope: µs per MiB).
# data: chapters/01-process/spawn_cost --data, block 1; with make compare, py: the same
#   columns from python/01_process.py (Process(fork), Process(spawn), Thread), dashed, on
#   a log scale
data = ARG1; out = ARG2; py = ARGC >= 3 ? ARG3 : ""
load system("dirname '".ARG0."'")."/style.gp"

# the slope of fork's line: microseconds per MiB touched (a least-squares fit of the
# relative error, each point weighted by 1 / its time, so that the small ones count too)
set fit quiet nolog
f(x) = a + b * x
a = 100; b = 30
fit f(x) data index 1 using 1:2:2 yerror via a, b

# the x axis is logarithmic, so that 0 to 16 MiB is as readable as 64 to 256; 0 MiB,
# which a log axis cannot show, sits at x0, labelled "0"
x0 = 0.35
X(m) = m > 0 ? m : x0
set title "fork copies page tables: its cost grows with the parent's touched memory"
set xlabel "memory the parent has touched (MiB, log scale)"
set ylabel "time to start and reap (µs, log scale)"
set logscale xy 10
set xrange [0.25:400]
set xtics ("0" x0, "1" 1, "4" 4, "16" 16, "64" 64, "128" 128, "256" 256)
set mxtics default
set yrange [5:3e4]
set format y "%.0f"
set key top left
set samples 200
fitline = sprintf("fit: %.0f µs + %.1f µs per MiB", a, b)
PY = ""
if (wb_py) {
    set title "fork copies page tables: C's fork, and CPython's Process (dashed)"
    set yrange [5:5e6]
    set format y "10^{%L}"
    set key top left font ",10" spacing 1 maxrows 5 width -4
    PY = sprintf(", '%s' index 1 using (X($1)):2:3:4 with yerrorlines lt 2 dt 2 pt 6 title 'CPython: Process(fork).start() + join()', '%s' index 1 using (X($1)):5:6:7 with yerrorlines lt 5 dt 2 pt 4 title 'CPython: the same, huge pages', '%s' index 1 using (X($1)):8:9:10 with yerrorlines lt 1 dt 2 pt 8 title 'CPython: Process(spawn), a new interpreter', '%s' index 1 using (X($1)):11:12:13 with yerrorlines lt 3 dt 2 pt 6 title 'CPython: Thread.start() + join()'", py, py, py, py)
}
plot data index 1 using (X($1)):2:3:4 with yerrorlines lt 2 title "fork, 4 KiB pages", \
     [x=x0:256] f(x) with lines lt 2 dt 3 lw 3 title fitline, \
     ''   index 1 using (X($1)):5:6:7 with yerrorlines lt 5 title "fork, 2 MiB transparent huge pages", \
     ''   index 1 using (X($1)):8:9:10 with yerrorlines lt 1 title "posix\\_spawn(/bin/true)", \
     ''   index 1 using (X($1)):11:12:13 with yerrorlines lt 3 title "pthread\\_create + join" @PY
