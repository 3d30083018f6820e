# queue_bench.gp: messages per second between processes, by message size.
# data: chapters/02-queue/queue_bench --data; blocks 0-5: queue 1/1, queue 2/2, mq 1/1,
#   mq 2/2, pipe 1/1, pipe 2/2; columns: size, M msgs/s (median, p10, p90), MB/s; with
#   make compare, py: python/02_queue.py's blocks in the same order (multiprocessing.Queue
#   1/1 and 2/2, no POSIX mq, Pipe 1/1), dashed with open symbols
data = ARG1; out = ARG2; py = ARGC >= 3 ? ARG3 : ""
load system("dirname '".ARG0."'")."/style.gp"
# beside CPython (dashed) C's own dashed series are drawn thin and solid instead
CD = wb_py ? "dt 1 lw 1.2" : "dt 2"

set multiplot layout 1, 2 title "Messages between processes: our queue, a POSIX message queue, a pipe" font ",15"
set logscale x 2
set logscale y 10
set xrange [6:90000]
set xtics ("8" 8, "64" 64, "512" 512, "4 Ki" 4096, "16 Ki" 16384, "64 Ki" 65536)
set xlabel "message size (bytes)"
set key bottom left

set ylabel "messages per second (millions)"
set yrange [0.01:20]
PY = ""
if (wb_py) {
    set yrange [0.0005:20]
    set key bottom left font ",9" spacing 0.9
    PY = sprintf(", '%s' index 0 using 1:2:3:4 with yerrorlines lt 1 dt 2 pt 6 title 'CPython: multiprocessing.Queue, 1 / 1', '%s' index 1 using 1:2 with linespoints lt 1 dt 3 pt 6 title 'CPython: Queue, 2 / 2', '%s' index 4 using 1:2:3:4 with yerrorlines lt 3 dt 2 pt 8 title 'CPython: Pipe(duplex=False), 1 / 1'", py, py, py)
}
plot data index 0 using 1:2:3:4 with yerrorlines lt 1 title "queue, 1 producer / 1 consumer", \
     ''   index 1 using 1:2 with linespoints lt 1 @CD pt 6 title "queue, 2 / 2", \
     ''   index 4 using 1:2:3:4 with yerrorlines lt 3 title "pipe, 1 / 1", \
     ''   index 5 using 1:2 with linespoints lt 3 @CD pt 8 title "pipe, 2 / 2 (atomic writes: up to 4 KiB)", \
     ''   index 2 using 1:2:3:4 with yerrorlines lt 2 title "POSIX mq, 1 / 1 (up to msgsize\\_max)", \
     ''   index 3 using 1:2 with linespoints lt 2 @CD pt 4 title "POSIX mq, 2 / 2" @PY

unset label 999 # the caption once is enough
set ylabel "throughput (MB/s, 10^6 bytes per second)"
set yrange [1:20000]
set key bottom right
PY = ""
if (wb_py) {
    set yrange [0.1:20000]
    set key bottom right font ",9" spacing 0.9
    PY = sprintf(", '%s' index 0 using 1:5 with linespoints lt 1 dt 2 pt 6 title 'CPython: Queue, 1 / 1', '%s' index 1 using 1:5 with linespoints lt 1 dt 3 pt 6 title 'CPython: Queue, 2 / 2', '%s' index 4 using 1:5 with linespoints lt 3 dt 2 pt 8 title 'CPython: Pipe, 1 / 1'", py, py, py)
}
plot data index 0 using 1:5 with linespoints lt 1 title "queue, 1 / 1", \
     ''   index 1 using 1:5 with linespoints lt 1 @CD pt 6 title "queue, 2 / 2", \
     ''   index 4 using 1:5 with linespoints lt 3 title "pipe, 1 / 1", \
     ''   index 5 using 1:5 with linespoints lt 3 @CD pt 8 title "pipe, 2 / 2", \
     ''   index 2 using 1:5 with linespoints lt 2 title "POSIX mq, 1 / 1", \
     ''   index 3 using 1:5 with linespoints lt 2 @CD pt 4 title "POSIX mq, 2 / 2" @PY
unset multiplot
