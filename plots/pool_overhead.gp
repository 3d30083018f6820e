# pool_overhead.gp: the time a pool spends per item, by chunk size, against the round
# trip of one task. data: chapters/03-pool/pool_bench --data, blocks 0 (chunk, us per
# item: median, p10, p90) and 1 (round trip: median, p10, p90); with make compare, py: the
# same from python/02_queue.py's Pool (dashed, open circles; its round trip dotted)
data = ARG1; out = ARG2; py = ARGC >= 3 ? ARG3 : ""
load system("dirname '".ARG0."'")."/style.gp"

stats data index 1 using 1 nooutput
trip = STATS_max

set title "What a pool task costs: time per item of a map, by chunk size"
set logscale x 2
set logscale y 10
set xrange [0.7:1500]
set yrange [0.001:*]
set xtics ("1" 1, "2" 2, "4" 4, "8" 8, "16" 16, "32" 32, "64" 64, "128" 128, "256" 256, "512" 512, "1024" 1024)
set xlabel "items per task (chunk size); 1 = one task per item"
set ylabel "time per item (µs)"
set key bottom left
set label 1 sprintf("one task's round trip, apply\\_async + get: %.0f µs", trip) at 1.2, trip * 1.6 left font ",11" textcolor rgb "#000000"
PY = ""
if (wb_py) {
    stats py index 1 using 1 nooutput
    pytrip = STATS_max
    set title "What a pool task costs: time per item of a map (CPython's Pool dashed)"
    set label 1 at 24, (pytrip > trip ? trip / 1.9 : trip * 1.6)
    set label 2 sprintf("CPython's round trip: %.0f µs", pytrip) at 1.2, (pytrip > trip ? pytrip * 1.6 : pytrip / 1.9) left font ",11" textcolor rgb "#D55E00"
    PY = sprintf(", pytrip with lines lt 2 dt 3 notitle, '%s' index 0 using 1:2:3:4 with yerrorlines lt 2 dt 2 pt 6 title 'CPython: Pool(2).map(f, items, chunksize)'", py)
}
plot trip with lines lt 7 dt 3 notitle, \
     data index 0 using 1:2:3:4 with yerrorlines lt 1 title "a map over the items: median, 10th-90th percentile" @PY
