# fork_memory.gp: fork's cost against the memory the parent has touched.
# data: chapters/01-process/spawn_cost --data, block 1; with make compare, py: the same
#   columns from python/01_process.py (Process(fork), Process(spawn), Thread), dashed, on
#   a log scale
data = ARG1; out = ARG2; py = ARGC >= 3 ? ARG3 : ""
load system("dirname '".ARG0."'")."/style.gp"

# the slope of fork's line: microseconds per MiB touched (a least-squares fit)
set fit quiet nolog
f(x) = a + b * x
a = 100; b = 30
fit f(x) data index 1 using 1:2 via a, b

set title "fork copies page tables: its cost grows with the parent's touched memory"
set xlabel "memory the parent has touched (MiB)"
set ylabel "time to start and reap (µs)"
set yrange [0:*]
set key top left
PY = ""
if (wb_py) {
    set title "fork copies page tables: C's fork, and CPython's Process (dashed)"
    set logscale y 10
    set yrange [5:5e6]
    set key top left font ",10" spacing 1 maxrows 4 width -4
    PY = sprintf(", '%s' index 1 using 1:2:3:4 with yerrorlines lt 2 dt 2 pt 6 title 'CPython: Process(fork).start() + join()', '%s' index 1 using 1:5:6:7 with yerrorlines lt 5 dt 2 pt 4 title 'CPython: the same, huge pages', '%s' index 1 using 1:8:9:10 with yerrorlines lt 1 dt 2 pt 8 title 'CPython: Process(spawn), a new interpreter', '%s' index 1 using 1:11:12:13 with yerrorlines lt 3 dt 2 pt 6 title 'CPython: Thread.start() + join()'", py, py, py, py)
}
plot data index 1 using 1:2:3:4 with yerrorlines lt 2 title sprintf("fork, 4 KiB pages (+%.0f µs per MiB)", b), \
     ''   index 1 using 1:5:6:7 with yerrorlines lt 5 title "fork, 2 MiB transparent huge pages", \
     ''   index 1 using 1:8:9:10 with yerrorlines lt 1 title "posix\\_spawn(/bin/true)", \
     ''   index 1 using 1:11:12:13 with yerrorlines lt 3 title "pthread\\_create + join" @PY
