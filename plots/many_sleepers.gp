# many_sleepers.gp: N tasks that each sleep, as coroutines, threads and processes.
# data: chapters/07-coroutine/many_sleepers --data
#   blocks 0 coroutine, 1 thread, 2 process: tasks, wall s, extra ms, per-task us,
#   memory per task KiB, guard pages 0/1; header line "# sleep_s: ..."
data = ARG1; out = ARG2
load system("dirname '".ARG0."'")."/style.gp"
set terminal pngcairo size 1500,600 enhanced font "DejaVu Sans,12" linewidth 1.3 background "white"
set output out

sleep_s = real(wb_header("sleep_s"))
set multiplot layout 1, 3 title sprintf("N tasks that each sleep %g ms, started together and joined", sleep_s * 1000) font ",15"
set logscale x
set logscale y
set xlabel "tasks N"
set xrange [60:1.6e5]
set format x "10^{%T}"
set key top left

set title "wall time, first start to last join" font ",13"
set ylabel "seconds"
set yrange [sleep_s * 0.8:*]
set arrow 1 from graph 0, first sleep_s to graph 1, first sleep_s nohead dt 2 lc rgb "#777777"
set label 1 "one sleep" at graph 0.98, first sleep_s * 0.93 right font ",10" textcolor rgb "#555555"
plot data index 0 using 1:2 with linespoints lt 1 title "coroutines (hub)", \
     ''   index 0 using 1:($6 == 0 ? $2 : NaN) with points pt 6 ps 2.2 lc rgb "#0072B2" title "no guard pages", \
     ''   index 1 using 1:2 with linespoints lt 2 title "threads", \
     ''   index 2 using 1:2 with linespoints lt 4 title "processes"

unset arrow 1
unset label 1
unset label 999 # the caption once is enough
set title "time beyond one sleep, per task" font ",13"
set ylabel "microseconds per task"
set yrange [1:1000]
plot data index 0 using 1:4 with linespoints lt 1 title "coroutines", \
     ''   index 1 using 1:4 with linespoints lt 2 title "threads", \
     ''   index 2 using 1:4 with linespoints lt 4 title "processes"

set title "memory per task" font ",13"
set ylabel "KiB per task (processes: private memory)"
set yrange [1:1000]
plot data index 0 using 1:5 with linespoints lt 1 title "coroutines", \
     ''   index 1 using 1:5 with linespoints lt 2 title "threads", \
     ''   index 2 using 1:5 with linespoints lt 4 title "processes"
unset multiplot
