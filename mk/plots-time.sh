#!/bin/sh
# mk/plots-time.sh CORES PART...: how long experiments take on a machine of CORES cores,
# from how long they take on 2 (mk/plots.mk): prints the seconds.
#
# Each PART is GROWTH:SECONDS, the seconds that part of an experiment takes on 2 cores
# and how they grow with the cores, as the sweeps follow them (common.h, sweep_next):
#   flat     they don't: the sweep is over something else (sizes, intervals, a fixed pair)
#   points   like the number of points from 1 to twice the cores (a fixed work per worker)
#   work     a job that grows with the cores, split over P workers for every point from 1
#            to twice the cores: cores x the sum over the points of 1 / min(P, cores)
#   serial   a job that grows with the cores and runs one worker at a time (under a GIL)
#            at every point: cores x the number of points
#   procs    a fixed work per worker, the workers taking turns at one server: the sum of
#            the points
# A model, not a measurement: a run on an idle machine of that size takes about this.
cores=${1:?usage: plots-time.sh CORES GROWTH:SECONDS ...}
shift
echo "$@" | awk -v c="$cores" '
function next_point(n, cores, max,    x) { # common/cpus.c, sweep_next
    x = n + 1
    if (n >= 8) { x = 8; while (x <= n) x = (x % 3 == 0) ? x / 3 * 4 : x / 2 * 3 }
    if (n < cores && x > cores) x = cores
    if (n < max && x > max) x = max
    return x
}
function points(c,    n, k, max) { max = c < 2 ? 4 : 2 * c; k = 0; for (n = 1; n <= max; n = next_point(n, c, max)) k++; return k }
function spread(c,    n, s, max) {
    max = c < 2 ? 4 : 2 * c; s = 0
    for (n = 1; n <= max; n = next_point(n, c, max)) s += 1 / (n < c ? n : c)
    return s
}
function sum_points(c,    n, s, max) { max = c < 2 ? 4 : 2 * c; s = 0; for (n = 1; n <= max; n = next_point(n, c, max)) s += n; return s }
function grow(g, n) {
    if (g == "flat") return 1
    if (g == "points") return points(n)
    if (g == "work") return n * spread(n)
    if (g == "serial") return n * points(n)
    if (g == "procs") return sum_points(n)
    print "plots-time.sh: no such growth: " g > "/dev/stderr"; exit 2
}
{
    total = 0
    for (i = 1; i <= NF; i++) {
        split($i, part, ":")
        total += part[2] * grow(part[1], c) / grow(part[1], 2)
    }
    printf "%.0f\n", total
}'
