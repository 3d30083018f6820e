# plots/style.gp: the look every figure shares.
#
# Each figure script starts with
#     data = ARG1; out = ARG2
#     load system("dirname '".ARG0."'")."/style.gp"
# and is run as   gnuplot -c plots/NAME.gp DATA.dat OUT.png   (make plots does this).
# (`load` hides the script's ARG1 and ARG2 from this file, hence the two variables.)
# This file sets the terminal and output file, the colours and lines, and the caption:
# the machine and the date of the measurement, read from the data file's header
# (written by common/datafile.c), so a figure always says where its numbers came from.

if (!exists("out") || out eq "") { print "usage: gnuplot -c plots/NAME.gp DATA.dat OUT.png"; exit }

set terminal pngcairo size 1000,620 enhanced font "DejaVu Sans,12" linewidth 1.3 background "white"
set output out
set encoding utf8

set border 3 lc rgb "#444444"
set tics nomirror out
set grid xtics ytics lc rgb "#e3e3e3" lw 1 dt solid
set key top left Left reverse noopaque samplen 2.5 spacing 1.15
set title font ",15"
set bmargin 6
set style fill solid 0.85 border -1

# a colour-blind-safe set (Okabe-Ito), in the same order in every figure
set linetype 1 lc rgb "#0072B2" lw 2 pt 7  ps 1.1
set linetype 2 lc rgb "#D55E00" lw 2 pt 5  ps 1.1
set linetype 3 lc rgb "#009E73" lw 2 pt 9  ps 1.3
set linetype 4 lc rgb "#CC79A7" lw 2 pt 13 ps 1.3
set linetype 5 lc rgb "#E69F00" lw 2 pt 11 ps 1.3
set linetype 6 lc rgb "#56B4E9" lw 2 pt 15 ps 1.3
set linetype 7 lc rgb "#000000" lw 2 pt 3  ps 1.1
set linetype cycle 7

# the tics of an axis of counts (threads, processes) that goes up to m: every count up to
# 12, then 1 and a round step (the sweeps follow the machine: m is often twice its
# cores). A figure says   eval wb_counttics(maxt)
wb_countstep(m) = m <= 12 ? 1 : m <= 24 ? 2 : m <= 48 ? 4 : m <= 96 ? 8 : 16
wb_counttics(m) = sprintf("set xtics %d; %s", wb_countstep(m), wb_countstep(m) > 1 ? "set xtics add ('1' 1)" : "")

# the caption, from the data file's header lines "# machine: ..." and "# date: ..."
wb_header_of(file, key) = system(sprintf("sed -n 's/^# %s: //p' '%s' | head -n 1", key, file))
wb_header(key) = wb_header_of(data, key)
wb_caption = "Measured on ".wb_header("machine")."  ·  ".wb_header("date")
# the cores the sweeps followed (common/cpus.c), from the machine line: "2 cores",
# "1 core (of 2 online)", "16 cores (WB_CORES; 2 usable)"
wb_ncores(n) = sprintf("%d core%s", n, n == 1 ? "" : "s")
wb_cores = int(system(sprintf("sed -n 's/^# machine: [^,]*, \\([0-9]*\\) core.*/\\1/p' '%s' | head -n 1", data)))

# CPython beside C (make compare, mk/compare.mk): a figure script that was given a third
# argument, the CPython data file python/NN_name.py wrote (<experiment>_py.dat, the C
# file's columns), sets `py` to it before loading this file, and draws the CPython
# series dashed, with open symbols, "CPython" in their titles; the caption names both
# measurements. Without it (make plots) py is "" and the figure is C's alone.
if (!exists("py")) py = ""
wb_py = (py ne "")
# the C file's machine line is "CPU, N cores, kernel, compiler"; the CPython file's
# "CPU, N cores, kernel, interpreter": the caption names the machine once
wb_tail(file) = system(sprintf("sed -n 's/^# machine: [^,]*, [^,]*, [^,]*, //p' '%s' | head -n 1", file))
wb_head(file) = system(sprintf("sed -n 's/^# machine: \\([^,]*, [^,]*, [^,]*\\), .*/\\1/p' '%s' | head -n 1", file))
if (wb_py) wb_caption = "Measured on ".wb_head(data).":  C ".wb_tail(data).", ".wb_header("date").\
    ";  ".wb_tail(py).", ".wb_header_of(py, "date")
set label 999 wb_caption at screen 0.5, 0.022 center font ",10" textcolor rgb "#555555" noenhanced
