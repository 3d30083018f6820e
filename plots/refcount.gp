# refcount.gp: ns per incref+decref pair, per thread, for the kinds of reference count.
# data: chapters/12-nogil/refcount --data (threads, plain_own, atomic_own, atomic_shared,
#   biased_own, biased_shared, immortal, plain_shared or NaN, cores); with make compare,
#   py: python/12_nogil.py's refcount_py.dat, the same columns for `s[0] = x` on CPython
#   (a GIL build in the plain columns, a free-threaded one in the biased ones, None in the
#   immortal one where it is immortal; NaN elsewhere), dashed with open symbols
data = ARG1; out = ARG2; py = ARGC >= 3 ? ARG3 : ""
load system("dirname '".ARG0."'")."/style.gp"

stats data using 1 nooutput
maxt = STATS_max
# the racy column is NaN unless refcount ran with --race: no key entry then
raced = system(sprintf("awk '!/^#/ && NF && $8 != \"NaN\" {n++} END {print n + 0}' '%s'", data)) + 0
set title "One incref + decref: what the GIL's plain count becomes without the GIL"
set xrange [0.7:maxt + 0.3]
eval wb_counttics(maxt)
set xlabel "threads, each doing increfs and decrefs"
set logscale y 10
set ylabel "ns per incref+decref, per thread (median; log scale)"
set yrange [0.3:1000]
set key top left font ",10" spacing 1
PY = ""
cdt = wb_py ? 1 : 2  # (beside CPython only CPython is dashed)
if (wb_py) {
    # a column of the CPython file with at least one number in it
    pyhas(c) = system(sprintf("awk '!/^#/ && NF && $%d != \"NaN\" {n++} END {print n + 0}' '%s'", c, py)) + 0
    set yrange [0.3:10000]  # (room for the legend)
    if (pyhas(2)) { PY = PY.(", '".py."' using 1:2 with linespoints lt 3 dt 2 pt 6 title 'CPython: s[0] = x, own object (GIL build)'") }
    if (pyhas(8)) { PY = PY.(", '".py."' using 1:8 with linespoints lt 7 dt 2 pt 6 title 'CPython: s[0] = x, one object for all (GIL build)'") }
    if (pyhas(5)) { PY = PY.(", '".py."' using 1:5 with linespoints lt 6 dt 2 pt 6 title 'CPython: s[0] = x, own object (free-threaded)'") }
    if (pyhas(6)) { PY = PY.(", '".py."' using 1:6 with linespoints lt 2 dt 2 pt 6 title 'CPython: s[0] = x, one object for all (free-threaded)'") }
    if (pyhas(7)) { PY = PY.(", '".py."' using 1:7 with linespoints lt 4 dt 2 pt 6 title 'CPython: s[0] = None (immortal)'") }
}
plot data using 1:2 with linespoints lt 3 title "plain, own object (the GIL build)", \
     ''   using 1:3 with linespoints lt 1 dt cdt title "atomic, own object", \
     ''   using 1:4 with linespoints lt 1 title "atomic, one object for all", \
     ''   using 1:5 with linespoints lt 6 dt cdt title "biased, own object (owner: plain store)", \
     ''   using 1:6 with linespoints lt 2 title "biased, one object for all (non-owners: atomic)", \
     ''   using 1:7 with linespoints lt 4 title "immortal, one object for all (nothing written)", \
     ''   using 1:8 with linespoints lt 7 dt 3 title (raced ? "plain, one object for all: a data race, wrong" : "") @PY
