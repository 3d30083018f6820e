# mutex_futex.gp: futex system calls per million lock+unlock pairs for the three futex
# locks, by thread count, spread over the cores (solid) and on one core (dashed).
# data: chapters/09-sync/mutex_cost --data (see mutex_cost.gp); column 6. No call at
#   all is drawn on the bottom line, marked "none".
data = ARG1; out = ARG2
load system("dirname '".ARG0."'")."/style.gp"

stats data using 1 nooutput
maxt = STATS_max
label(k) = k == 0 ? "naive futex (2 states)" : k == 1 ? "futex (3 states)" : "futex, spinning"
calls(c) = c > 0 ? c : 0.2

set title "How often each futex lock asks the kernel"
set xrange [0.7:maxt + 0.3]
eval wb_counttics(maxt)
set xlabel "threads"
set logscale y 10
set yrange [0.1:1e9]
set format y "10^{%L}"
set ytics add ("none" 0.2)
set ylabel "futex system calls per million lock+unlock pairs (median)"
set key top center maxrows 3 width -3 samplen 2
plot for [k=0:2] data index k using 1:(calls($6)) with linespoints lt k+1 title label(k).", spread", \
     for [k=0:2] data index 5+k using 1:(calls($6)) with linespoints lt k+1 dt 2 title label(k).", one core"
