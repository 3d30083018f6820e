# copy_cost.gp: copied stacks against stacks of their own.
# data: chapters/07-coroutine/copy_cost --data
#   block 0: K bytes of locals, saved bytes, copied round trip ns (median, p10, p90),
#            own-stack round trip ns
#   block 1: K bytes, copied KiB per suspended task, own-stack KiB per task
#   with make compare, py: python/07_coroutine.py's greenlets in the same columns, K being
#   the bytes of C stack greenlet saves (no own-stack counterpart: NaN), drawn dashed
data = ARG1; out = ARG2; py = ARGC >= 3 ? ARG3 : ""
load system("dirname '".ARG0."'")."/style.gp"
set terminal pngcairo size 1400,620 enhanced font "DejaVu Sans,12" linewidth 1.3 background "white"
set output out

set multiplot layout 1, 2 title "Copied stacks (greenlet's way) against stacks of their own".(wb_py ? ": C solid, CPython's greenlet dashed" : "") font ",15"
set logscale xy
set xlabel "bytes of locals in the suspended frame".(wb_py ? " (greenlet: bytes of C stack it saves)" : "")
set xrange [5:1.3e5]
set xtics ("8 B" 8, "64 B" 64, "512 B" 512, "4 KiB" 4096, "64 KiB" 65536)
set key top left

set title "a round trip into the coroutine and back" font ",13"
set ylabel "ns per round trip (log scale)"
# up to 100 µs: room above the 64 KiB point and its 90th percentile (CPython's reaches 20 µs)
set yrange [10:1e5]
set ytics ("10" 10, "100" 100, "1 000" 1000, "10 000" 10000, "100 000" 100000)
PY = wb_py ? sprintf(", '%s' index 0 using 1:3:4:5 with yerrorlines lt 3 dt 2 pt 8 title 'CPython: two greenlets, greenlet.switch()'", py) : ""
t_copied = "copied: its frames copied in, the other's out" # (a quote in the plot line would hide @PY)
plot data index 0 using 1:3:4:5 with yerrorlines lt 3 title t_copied, \
     ''   index 0 using 1:6 with linespoints lt 1 title "a stack of its own: no copy" @PY

unset label 999 # the caption once is enough
set title "memory per suspended task" font ",13"
set ylabel "resident KiB per task (log scale)"
set yrange [0.1:500]
set ytics ("0.1" 0.1, "1" 1, "10" 10, "100" 100)
PY = wb_py ? sprintf(", '%s' index 1 using 1:2 with linespoints lt 3 dt 2 pt 8 title 'CPython: a greenlet (saved stack + Python frames)'", py) : ""
plot data index 1 using 1:2 with linespoints lt 3 title "copied: a heap buffer of its frames", \
     ''   index 1 using 1:3 with linespoints lt 1 title "a stack of its own: the pages it touched" @PY
unset multiplot
