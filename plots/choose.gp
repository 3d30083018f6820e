# choose.gp: the lessons' rule as a matrix: wall time of each workload on each runner.
# data: chapters/11-futures/choose --data, block 0 (workload, runner, wall ms, over the
#   row's best, capped, done, tasks, cores busy, peak in flight, KiB per connection);
#   header lines "# workloadN: ..." describe the rows, "# cap_ms: ..." the cut-off;
#   with make compare, py: python/11_futures.py's same cells (runner 2 its
#   ThreadPoolExecutor under the real GIL, 3 ProcessPoolExecutor, 4 asyncio, 5 a process
#   per core with asyncio, 6 gevent), drawn as a second matrix below C's, and as hatched
#   bars beside C's in the memory panel
data = ARG1; out = ARG2; py = ARGC >= 3 ? ARG3 : ""
load system("dirname '".ARG0."'")."/style.gp"
set terminal pngcairo size 1500,(wb_py ? 1250 : 680) enhanced font "DejaVu Sans,12" linewidth 1.3 background "white"
set output out

cap = real(wb_header("cap_ms"))
array names[6] = ["one thread", "threads\n(one a task)", "threads\nunder a GIL", "processes\n(a pool of C)", "coroutines\n(one hub)", "procs + coros\n(C hubs)"]
set multiplot title "The lessons' rule, measured: each workload on each runner\n{/*0.75 colour: time over the row's best (the winner is 1x); hatched: cut short at the cap, with the tasks done}" font ",15"

# ---- left: the matrix ----
set origin 0, 0
set size 0.72, 0.93
if (wb_py) {
    set origin 0, 0.49
    set size 0.7, 0.45
    set title "C: chapter 11's runners" font ",13"
    set colorbox user origin 0.645, 0.3 size 0.012, 0.5
}
set lmargin 36
set rmargin 10
set tmargin 3
set xrange [-0.5:(wb_py ? 6.5 : 5.5)]
set yrange [-0.5:3.5]
set xtics () nomirror scale 0
do for [k = 0:5] { set xtics add (names[k + 1] k) }
set xtics offset 0, -0.3
if (wb_py) { set xtics font ",10" }
set ytics () scale 0
# "mixed: 64 tasks x ..." -> "mixed" on one line, what it is below
# (the mixed row's "x (a request ..., then ...)" on two lines of its own)
rest(s) = strstrt(s, ", then") ? s[1:strstrt(s, ", then") - 1]."\n".s[strstrt(s, ", then") + 2:strlen(s)] : s
two_lines(s) = s[1:strstrt(s, ": ") - 1]."\n".rest(s[strstrt(s, ": ") + 2:strlen(s)])
do for [w = 0:3] { set ytics add (two_lines(wb_header(sprintf("workload%d", w))) 3 - w) }
set ytics font ",10"
unset grid
set border 0
set logscale cb
set cbrange [1:100]
set cbtics ("1x" 1, "2x" 2, "5x" 5, "10x" 10, "30x" 30, "100x" 100)
set cblabel "time over the row's best"
set palette defined (0 "#e6f4ea", 0.25 "#fff2b3", 0.55 "#f4a261", 1 "#c0392b")
set colorbox user origin 0.655, 0.2 size 0.012, 0.6
set cblabel offset 1.5, 0
set style fill solid 1.0 noborder
lbl(ms, r, capped, done, n) = capped > 0 ? sprintf("> %.0f ms\n%d of %d done", ms, int(done), int(n)) : sprintf("%.1f ms\n%.2fx", ms, r)
plot data index 0 using 2:($5 > 0 ? 1/0 : 3 - $1):(0.48):(0.48):($4 < 1 ? 1 : $4) with boxxyerror lc palette notitle, \
     ''   index 0 using 2:($5 > 0 ? 3 - $1 : 1/0):(0.48):(0.48) with boxxyerror fs pattern 4 lc rgb "#aaaaaa" notitle, \
     ''   index 0 using 2:($5 == 0 && $4 < 1.0005 ? 3 - $1 : 1/0):(0.46):(0.46) with boxxyerror fs empty lc rgb "#222222" lw 2.5 notitle, \
     ''   index 0 using 2:(3 - $1):(lbl($3, $4, $5, $6, $7)) with labels font ",10" notitle

# ---- below, with make compare: CPython's matrix ----
if (wb_py) {
    unset label 999
    set origin 0, 0.04
    set size 0.7, 0.45
    set title wb_tail(py).": CPython's runners, its threads under its real GIL" font ",13" noenhanced
    array pynames[7] = ["one thread", "threads\n(GIL off)", "ThreadPool-\nExecutor", "ProcessPool-\nExecutor", "asyncio", "procs +\nasyncio", "gevent"]
    set xtics () font ",10"
    do for [k = 0:6] { set xtics add (pynames[k + 1] k) }
    stats py index 0 using ($2 == 1 ? 1 : 0) nooutput
    if (STATS_sum == 0) { set label 10 "no GIL-free\nthreads in\nthis build" at 1, 1.5 center font ",10" textcolor rgb "#777777" }
    stats py index 0 using ($2 == 6 ? 1 : 0) nooutput
    if (STATS_sum == 0) { set label 11 "gevent not\ninstalled" at 6, 1.5 center font ",10" textcolor rgb "#777777" }
    plot py index 0 using 2:($5 > 0 ? 1/0 : 3 - $1):(0.48):(0.48):($4 < 1 ? 1 : $4) with boxxyerror lc palette notitle, \
         '' index 0 using 2:($5 > 0 ? 3 - $1 : 1/0):(0.48):(0.48) with boxxyerror fs pattern 4 lc rgb "#aaaaaa" notitle, \
         '' index 0 using 2:($5 == 0 && $4 < 1.0005 ? 3 - $1 : 1/0):(0.46):(0.46) with boxxyerror fs empty lc rgb "#222222" lw 2.5 notitle, \
         '' index 0 using 2:(3 - $1):(lbl($3, $4, $5, $6, $7)) with labels font ",10" notitle
    unset label 10
    unset label 11
    unset title
}

# ---- right: memory per idle connection ----
unset label 999
set origin 0.74, 0.0
set size 0.26, 0.93
if (wb_py) { set origin 0.735, 0.04; set size 0.265, 0.90 }
set lmargin 9
set rmargin 3
set border 3
set grid ytics
unset logscale cb
unset colorbox
set title "idle: memory per open connection\n{/*0.8 peak private memory / connections open at once}" font ",12"
set xrange [-0.6:(wb_py ? 6.6 : 5.6)]
set xtics ("one\nthread" 0, "threads" 1, "+GIL" 2, "procs" 3, "coros" 4, "procs\n+coros" 5) font ",10" offset 0, 0
if (wb_py) { set xtics add ("gevent" 6); set xtics rotate by 45 right offset 0.5, 0 }
set ytics auto font ",10"
set logscale y
set yrange [0.5:(wb_py ? 30000 : 300)]
set ylabel "KiB per connection"
set style fill solid 0.85 border -1
set boxwidth (wb_py ? 0.4 : 0.7) absolute
dx = wb_py ? -0.21 : 0
PY = wb_py ? sprintf(", '%s' index 0 using ($1 == 3 && $10 > 0 ? $2 + 0.21 : 1/0):10 with boxes fs pattern 2 border lc rgb '#D55E00' title 'CPython', '%s' index 0 using ($1 == 3 && $10 > 0 ? $2 + 0.21 : 1/0):10:(sprintf('%%.0f', $10)) with labels offset 0.3, 0.7 font ',9' textcolor rgb '#D55E00' notitle", py, py) : ""
if (wb_py) { set key top left Left reverse font ",10" }
plot data index 0 using ($1 == 3 && $10 > 0 ? $2 + dx : 1/0):10 with boxes lc rgb "#0072B2" title (wb_py ? "C" : ""), \
     ''   index 0 using ($1 == 3 && $10 > 0 ? $2 + dx : 1/0):10:(sprintf(wb_py ? "%.0f" : "%.1f", $10)) with labels offset (wb_py ? -0.3 : 0), 0.7 font (wb_py ? ",9" : ",10") notitle, \
     ''   index 0 using ($1 == 3 && $10 >= 0 && $10 < 0.5 ? $2 + dx : 1/0):(0.6):(sprintf("%.1f", $10)) with labels offset 0, 0.7 font ",10" notitle @PY
unset multiplot
