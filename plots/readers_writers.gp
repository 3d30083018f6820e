# readers_writers.gp: the writer's wait for a read-write lock against the number of
# busy readers, readers-preferring against writer-preferring.
# data: chapters/09-sync/readers_writers --data, block 0 readers-preferring, block 1
#   writer-preferring: readers, median wait (ms), p90, longest, writes, reads per second
data = ARG1; out = ARG2
load system("dirname '".ARG0."'")."/style.gp"

stats data using 1 nooutput
maxr = STATS_max
runs = system(sprintf("sed -n '1s/.*runs of \\([0-9.]* ms\\).*/\\1/p' '%s'", data))
label(b) = b == 0 ? "readers-preferring" : "writer-preferring"

set multiplot layout 1, 2 title "A writer among busy readers: who gets in?" font ",15"
set xrange [0.7:maxr + 0.3]
set xtics 1
set xlabel "readers (each holds the read lock about half the time)"
set key top left

set title "the writer's wait for the write lock" font ",13"
set logscale y 10
set yrange [0.01:1000]
set ylabel "ms (median, solid; 90th percentile, dashed)"
plot for [b=0:1] data index b using 1:2 with linespoints lt b+1 title label(b), \
     for [b=0:1] data index b using 1:3 with lines lt b+1 dt 2 notitle

unset label 999
unset logscale y
set title "what the writer got done" font ",13"
set yrange [0:*]
set ylabel "write locks taken in one run of ".runs
# the same key, on the right where neither line runs
set key at graph 0.97, graph 0.62 right top
plot for [b=0:1] data index b using 1:5 with linespoints lt b+1 title label(b)
unset multiplot
