# sharing_cost.gp: ns per increment by sharing (own line, false sharing, one word) vs
# threads; and the store-buffer litmus test with and without a fence.
# data: chapters/12-nogil/sharing_cost --data (block 0: threads, plain_own, plain_line,
#   atomic_own, atomic_line, atomic_one, seqcst_one, plain_one, lost %, cores;
#   block 1: order, both0, trials, percent)
data = ARG1; out = ARG2
load system("dirname '".ARG0."'")."/style.gp"
set terminal pngcairo size 1300,640

stats data index 0 using 1 nooutput
maxt = STATS_max
stats data index 0 using 10 nooutput
cores = STATS_max
stats data index 1 using 4 nooutput
maxpct = STATS_max

set multiplot layout 1, 2 title "What a shared word costs without a GIL" font ",15" \
    margins 0.07, 0.98, 0.2, 0.84 spacing 0.09, 0
set xrange [0.7:maxt + 0.3]
eval wb_counttics(maxt)
set xlabel "threads, each incrementing"
set logscale y 10
set ylabel "ns per increment, per thread (median; log scale)"
set yrange [0.1:1000]
set key top left font ",10" spacing 1
set title "the price of an increment" font ",13"
plot data index 0 using 1:2 with linespoints lt 3 title "plain (load, add, store), own cache line", \
     ''   index 0 using 1:3 with linespoints lt 3 dt 2 title "plain, own word in a shared line (false sharing)", \
     ''   index 0 using 1:8 with linespoints lt 5 dt 3 title "plain, one word for all: fast and wrong (updates lost)", \
     ''   index 0 using 1:4 with linespoints lt 1 title "atomic add, own cache line", \
     ''   index 0 using 1:5 with linespoints lt 1 dt 2 title "atomic add, own word in a shared line", \
     ''   index 0 using 1:6 with linespoints lt 2 title "atomic add, one word for all", \
     ''   index 0 using 1:7 with linespoints lt 4 dt 4 title "seq\\_cst add, one word for all"

unset label 999
unset logscale y
set title "the store-buffer litmus test: both loads before both stores?" font ",13"
set xrange [-0.6:2.6]
set xtics ("no fence" 0, "mfence between" 1, "seq\\_cst store, load" 2) scale 0
set xlabel "x = 1; r1 = y   ||   y = 1; r2 = x"
set ylabel "trials that ended r1 = r2 = 0 (%)"
set yrange [0:(maxpct > 0 ? 1.3 * maxpct : 1)]
set boxwidth 0.6
set style fill solid 0.85 border -1
set grid noxtics
unset key
plot data index 1 using 1:4 with boxes lt 2 notitle, \
     ''   index 1 using 1:4:(sprintf("%d of %d", $2, $3)) with labels offset 0, 1 font ",10" notitle
unset multiplot
