# wakeup.gp: how long a woken thread takes to run, and how late a short sleep ends.
# data: chapters/04-thread/wakeup --data; block 0: kind, then median/p10/p90 in µs on
#   the same core and on the other core, the label; block 1: the sleep asked (µs), then
#   median/p10/p90 lateness in µs with the default slack and with a 1 ns slack, and the
#   default slack in ns
data = ARG1; out = ARG2
load system("dirname '".ARG0."'")."/style.gp"

slack_us = real(system(sprintf("awk '!/^#/ && NF == 8 && $1 + 0 >= 10 { print $8 / 1000; exit }' '%s'", data)))

set multiplot layout 1, 2 title "Waking a sleeping thread, and ending a sleep" font ",15"

# left: the four ways to wake a thread, on one core and across two
set title "from the wake to the woken thread running" font ",12"
set ylabel "µs (median; bar: 10th to 90th percentile; log scale)"
set xlabel "what the sleeper waits on" offset 0, -1
set logscale y 10
set yrange [0.05:300]
set ytics ("0.1" 0.1, "1" 1, "10" 10, "100" 100)
set xrange [-0.6:3.6]
set grid noxtics
set boxwidth 0.36
set key top left
w = 0.19
set xtics ("condition\nvariable" 0, "futex" 1, "pipe\n(poll, read)" 2, "spin\n(no sleep)" 3)
plot data index 0 using ($1-w):2 with boxes lt 1 title "same core", \
     ''   index 0 using ($1+w):5 with boxes lt 2 title "other core", \
     ''   index 0 using ($1-w):2:3:4 with yerrorbars lc rgb "#000000" lw 1 pt 0 notitle, \
     ''   index 0 using ($1+w):5:6:7 with yerrorbars lc rgb "#000000" lw 1 pt 0 notitle, \
     ''   index 0 using ($1-w):4:(sprintf($2 < 1 ? "%.2f" : "%.1f", $2)) with labels offset 0, 0.7 font ",10" notitle, \
     ''   index 0 using ($1+w):7:(sprintf($5 < 1 ? "%.2f" : "%.1f", $5)) with labels offset 0, 0.7 font ",10" notitle

# right: how late clock_nanosleep returns, with the default slack and with 1 ns
unset label 999 # the caption once is enough
set title "how late a sleep ends (clock\\_nanosleep)" font ",12"
set xlabel "sleep asked for (µs, log scale)" offset 0, 0
set ylabel "µs late (median; bar: 10th to 90th percentile)"
unset logscale y
set yrange [0:*]
set ytics auto
set offsets 0, 0, graph 0.3, 0 # room for the key above the lines
set xrange [7:1400]
set logscale x 10
set xtics ("10" 10, "20" 20, "50" 50, "100" 100, "200" 200, "500" 500, "1000" 1000)
set grid xtics ytics
set key top right
plot data index 1 using 1:2:3:4 with yerrorlines lt 2 title sprintf("default timer slack (%.0f µs)", slack_us), \
     ''   index 1 using 1:5:6:7 with yerrorlines lt 1 title "PR\\_SET\\_TIMERSLACK 1 ns", \
     slack_us with lines lt 7 dt 2 lw 1 title "the default slack"
unset multiplot
