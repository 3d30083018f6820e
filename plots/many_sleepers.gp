# many_sleepers.gp: N tasks that each sleep, by kind of task.
# data: chapters/07-coroutine/many_sleepers --data
#   blocks 0 stackful, 1 warm (stack cache), 2 copied, 3 stackless, 4 thread,
#   5 process: tasks, wall s, extra ms, per-task us, memory per task KiB, guard pages
#   0/1; header line "# sleep_s: ..."
#   with make compare, py: python/07_coroutine.py's file, the same six blocks: gevent
#   greenlets in the copied block, asyncio tasks in the stackless one, threads, processes
#   (the stackful blocks empty), drawn dashed with open symbols in the same colours
data = ARG1; out = ARG2; py = ARGC >= 3 ? ARG3 : ""
load system("dirname '".ARG0."'")."/style.gp"
set terminal pngcairo size 1500,(wb_py ? 760 : 640) enhanced font "DejaVu Sans,12" linewidth 1.3 background "white"
set output out

sleep_s = real(wb_header("sleep_s"))
# each series ends where its kind stops: a cap (threads: the kernel's limits nearby;
# processes: a thousand is enough to see the trend), not a failure; its last point says
# "cap". rows(f, i): the data rows of block i of file f (0 for an empty block)
rows(f, i) = int(system(sprintf("awk -v b=%d '/^# block /{n = $3 + 0} !/^#/ && NF && n == b {c++} END {print c + 0}' '%s'", i, f)))
capc = ""; do for [i=0:5] { capc = capc.sprintf(" %d", rows(data, i) - 1) }
capp = ""; if (wb_py) { do for [i=0:5] { capp = capp.sprintf(" %d", rows(py, i) - 1) } }
lastc(i) = int(word(capc, i + 1))
lastp(i) = int(word(capp, i + 1))
CAP = "textcolor rgb '#555555' font ',9' offset 0, 0.75 notitle"
caps(col) = sprintf(", for [i=0:5] '%s' index i using 1:($0 == lastc(i) ? $%d : NaN):('cap') with labels %s", data, col, CAP) . \
            (wb_py ? sprintf(", for [i=2:5] '%s' index i using 1:($0 == lastp(i) ? $%d : NaN):('cap') with labels %s", py, col, CAP) : "")

set multiplot layout 1, 3 title sprintf("N tasks that each sleep %g ms, started together and joined%s\n{/*0.7 \"cap\": a series' last point, where its kind's limit stops the sweep (many\\_sleepers --max-...), not a failure}", sleep_s * 1000, wb_py ? ": C solid, CPython dashed" : "") font ",15"
set logscale x
set logscale y
set xlabel "tasks N"
set xrange [60:1.6e6]
set xtics ("100" 100, "1k" 1000, "10k" 10000, "100k" 100000, "1M" 1000000)
set key top left
if (wb_py) { set key font ",10" spacing 0.9 }
pyplot(col) = sprintf(", '%s' index 2 using 1:%d with linespoints lt 3 dt 2 pt 8 title 'CPython: gevent greenlets', '%s' index 3 using 1:%d with linespoints lt 5 dt 2 pt 10 title 'CPython: asyncio tasks', '%s' index 4 using 1:%d with linespoints lt 2 dt 2 pt 4 title 'CPython: threads', '%s' index 5 using 1:%d with linespoints lt 4 dt 2 pt 12 title 'CPython: processes'", py, col, py, col, py, col, py, col)

set title "wall time, first start to last join" font ",13"
set ylabel "seconds (log scale)"
set yrange [sleep_s * 0.8:sleep_s * (wb_py ? 40 : 8)]
set ytics ("0.02" 0.02, "0.05" 0.05, "0.1" 0.1, "0.2" 0.2, "0.3" 0.3, "0.5" 0.5, "0.7" 0.7, "1" 1, "1.5" 1.5, \
           "2" 2, "3" 3, "5" 5, "10" 10, "20" 20, "50" 50)
# beside CPython the left panel's key would sit on the data: the other two panels name
# the series in the same colours
if (wb_py) { set key off; set label 2 "colours as in the other panels;\n○: stacks without guard pages" at graph 0.04, graph 0.95 left font ",10" textcolor rgb "#555555" }
set arrow 1 from graph 0, first sleep_s to graph 1, first sleep_s nohead dt 2 lc rgb "#777777"
set label 1 "one sleep" at graph 0.98, first sleep_s * 0.93 right font ",10" textcolor rgb "#555555"
PY = wb_py ? pyplot(2) : ""
CAPS2 = caps(2)
plot data index 0 using 1:2 with linespoints lt 1 title "stackful, fresh stacks", \
     ''   index 0 using 1:($6 == 0 ? $2 : NaN) with points pt 6 ps 2.2 lc rgb "#0072B2" title "(no guard pages)", \
     ''   index 1 using 1:2 with linespoints lt 6 title "stackful, warm cache", \
     ''   index 1 using 1:($6 == 0 ? $2 : NaN) with points pt 6 ps 2.2 lc rgb "#56B4E9" notitle, \
     ''   index 2 using 1:2 with linespoints lt 3 title "copied stacks", \
     ''   index 3 using 1:2 with linespoints lt 5 title "stackless", \
     ''   index 4 using 1:2 with linespoints lt 2 title "threads", \
     ''   index 5 using 1:2 with linespoints lt 4 title "processes" @PY @CAPS2

unset arrow 1
unset label 1
unset label 2
set key on
unset label 999 # the caption once is enough
set ytics auto
set title "time beyond one sleep, per task" font ",13"
set ylabel "µs per task (log scale)"
set yrange [0.05:(wb_py ? 30000 : 1000)]
set key top right
PY = wb_py ? pyplot(4) : ""
CAPS4 = caps(4)
plot data index 0 using 1:4 with linespoints lt 1 title "stackful, fresh", \
     ''   index 1 using 1:4 with linespoints lt 6 title "stackful, warm", \
     ''   index 2 using 1:4 with linespoints lt 3 title "copied", \
     ''   index 3 using 1:4 with linespoints lt 5 title "stackless", \
     ''   index 4 using 1:4 with linespoints lt 2 title "threads", \
     ''   index 5 using 1:4 with linespoints lt 4 title "processes" @PY @CAPS4

set title "memory per task" font ",13"
set ylabel "KiB per task (processes: private memory; log scale)"
set yrange [0.02:(wb_py ? 30000 : 1000)]
set key top right
PY = wb_py ? pyplot(5) : ""
CAPS5 = caps(5)
plot data index 0 using 1:5 with linespoints lt 1 title "stackful, fresh", \
     ''   index 1 using 1:5 with linespoints lt 6 title "stackful, warm", \
     ''   index 2 using 1:5 with linespoints lt 3 title "copied", \
     ''   index 3 using 1:5 with linespoints lt 5 title "stackless", \
     ''   index 4 using 1:5 with linespoints lt 2 title "threads", \
     ''   index 5 using 1:5 with linespoints lt 4 title "processes" @PY @CAPS5
unset multiplot
