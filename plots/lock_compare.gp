# lock_compare.gp: the cost of a lock+unlock pair, by kind of lock and placement.
# data: chapters/06-rlock/lock_compare --data, block 0: kind, then median/p10/p90 for
#   1 thread, 2 threads on one core, 2 threads on two cores; the busier thread's share
#   of the pairs on one core and on two; the label; then how often a thread slept per
#   million pairs on one core and on two (columns 14-15: quoted in the README, not drawn);
#   with make compare, py: python/06_rlock.py's threading.Lock (row 0) and RLock (row 3),
#   drawn as open dashed bars beside C's (NaN rows: the pthread kinds Python has not)
data = ARG1; out = ARG2; py = ARGC >= 3 ? ARG3 : ""
load system("dirname '".ARG0."'")."/style.gp"

set title "One lock and one unlock: four kinds of lock, alone and shared by two threads"
set ylabel "ns per lock+unlock pair (wall time / all pairs)"
set xlabel "kind of lock"
set boxwidth 0.26
set xrange [-0.6:3.6]
# log scale: a few slow runs (a thread preempted while holding the lock) would
# otherwise flatten every bar
set logscale y 10
set yrange [1:3000]
set grid noxtics
set key top left
set style fill solid 0.85 border -1
w = 0.27
set label 3 "(%): the busier thread's share of the pairs (50% is fair)" at graph 0.02, graph 0.69 left font ",10" textcolor rgb "#555555"
PY = ""
if (wb_py) {
    # CPython's Lock (its row 0) and RLock (row 3) as two more groups on the right
    set title "One acquire and one release: C's locks, and CPython's (open, dashed)"
    set xrange [-0.6:5.9]
    set yrange [1:1e4]
    set arrow 1 from 3.65, graph 0 to 3.65, graph 1 nohead dt 3 lc rgb "#777777"
    set label 2 "CPython" at 4.8, graph 0.93 center font ",13"
    pyx(k) = k == 0 ? 4.3 : 5.3
    PY = sprintf(", '%s' index 0 using (pyx($1)-w):2 with boxes fs empty lt 1 dt 2 lw 2 notitle, '%s' index 0 using (pyx($1)):5:xtic($1 == 0 ? 'Lock' : 'RLock') with boxes fs empty lt 3 dt 2 lw 2 notitle, '%s' index 0 using (pyx($1)+w):8 with boxes fs empty lt 2 dt 2 lw 2 notitle, '%s' index 0 using (pyx($1)-w):2:3:4 with yerrorbars lc rgb '#000000' lw 1 pt 0 notitle, '%s' index 0 using (pyx($1)):5:6:7 with yerrorbars lc rgb '#000000' lw 1 pt 0 notitle, '%s' index 0 using (pyx($1)+w):8:9:10 with yerrorbars lc rgb '#000000' lw 1 pt 0 notitle, '%s' index 0 using (pyx($1)-w):4:(sprintf('%%.0f', $2)) with labels offset 0, 0.7 font ',10' notitle, '%s' index 0 using (pyx($1)):7:(sprintf('%%.0f', $5)) with labels offset 0, 0.7 font ',10' notitle, '%s' index 0 using (pyx($1)+w):10:(sprintf('%%.0f\n(%%.0f%%%%)', $8, $12)) with labels offset 0, 1.5 font ',10' notitle", py, py, py, py, py, py, py, py, py)
}
plot data index 0 using ($1-w):2 with boxes lt 1 title "1 thread", \
     ''   index 0 using ($1):5:xtic(stringcolumn(13)) with boxes lt 3 title "2 threads on one core", \
     ''   index 0 using ($1+w):8 with boxes lt 2 title "2 threads on two cores", \
     ''   index 0 using ($1-w):2:3:4 with yerrorbars lc rgb "#000000" lw 1 pt 0 title "10th to 90th percentile", \
     ''   index 0 using ($1):5:6:7 with yerrorbars lc rgb "#000000" lw 1 pt 0 notitle, \
     ''   index 0 using ($1+w):8:9:10 with yerrorbars lc rgb "#000000" lw 1 pt 0 notitle, \
     ''   index 0 using ($1-w):4:(sprintf("%.0f", $2)) with labels offset 0, 0.7 font ",10" notitle, \
     ''   index 0 using ($1):7:(sprintf("%.0f", $5)) with labels offset 0, 0.7 font ",10" notitle, \
     ''   index 0 using ($1+w):10:(sprintf("%.0f\n(%.0f%%)", $8, $12)) with labels offset 0, 1.5 font ",10" notitle @PY
