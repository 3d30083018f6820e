"""08_gil.py: the GIL itself, measured on CPython, beside chapter 08's simulated GIL.

Measures what chapter 08's gil_timeline, gil_cpu, gil_convoy, gil_interval and gil_fetch
measure on the simulation in gil.c, one part each (in python/08_gil/: turns.py, cpujob.py,
convoy.py, fetch.py):
  1. sys.getswitchinterval(), and how long a CPU-bound thread keeps the GIL: two threads
     spin, each noting when it runs (a gap of more than 20 µs in its own clock readings
     means another thread had the GIL); a turn lasts until the other thread runs. At 1, 5
     and 50 ms, on two cores and (5 ms) both pinned to one; median and spread of the
     turns, and who ran when over a 50 ms window. And a thread inside one long call
     (sum(range(n))), which holds the GIL for the whole call: the longest gap the
     spinning thread beside it sees.
  2. The lesson's CPU-bound job (additions) split over T = 1..4 threads, threads pinned
     to one core, and T processes: wall time and speed-up.
  3. The convoy: an I/O thread does request/response over a socketpair with an echo
     process that answers after --rtt (the far end of a network), alone and beside 1 and
     2 CPU-bound threads, at switch intervals 0.1, 1, 5 and 10 ms; and beside 1 with
     every thread on one core. Then one CPU-bound thread and the I/O thread for
     intervals from 0.1 to 50 ms.
  4. The interview question: N threads fetch 32 pages from a loopback server (a child
     process, port chosen by the kernel) that answers each request after --delay; then
     the same with --parse of CPU time per page (Python code: it holds the GIL).

The lesson's idiom:   threading.Thread(target=fetch, args=(url,)) for each page

Run:   python3 python/08_gil.py [--quick] [--data DIR]
Writes DIR/gil_timeline_py.dat, gil_cpu_py.dat, gil_convoy_py.dat, gil_interval_py.dat,
gil_fetch_py.dat (the C programs' columns; what CPython does not let us see, such as
each acquisition or the old GIL, is NaN) and DIR/compare_08.json. Look for: turns of
about the interval, as in gil.c; no speed-up for threads, 2x for processes; an I/O thread
slowed to about 1 / (2 x interval) requests per second by one CPU-bound thread.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "08_gil"))

import convoy  # noqa: E402 (the parts, found through the path above)
import cpujob  # noqa: E402
import fetch  # noqa: E402
import turns  # noqa: E402
import wb  # noqa: E402


def run():
    args = wb.parse(__doc__.split("\n")[0], [
        wb.Opt("duration", "duration", 500 * wb.NS_PER_MS, "part 1: length of each two-thread run", 10 * wb.NS_PER_MS,
               60 * wb.NS_PER_S, quick=100 * wb.NS_PER_MS),
        wb.Opt("sum-n", "int", 10_000_000, "part 1: n of the long sum(range(n)) call", 1000, 10**9, quick=1_000_000),
        wb.Opt("work", "real", 5, "part 2: the job, in millions of additions", 0.01, 1000, quick=0.5),
        wb.Opt("max-threads", "int", 4, "part 2: largest number of threads (and processes)", 1, 64, quick=2),
        wb.Opt("repeat", "int", 3, "runs of each point in parts 2 and 4 (the median is kept)", 1, 100, quick=1),
        wb.Opt("io-repeat", "int", 2, "runs of each point in part 3", 1, 100, quick=1),
        wb.Opt("rtt", "duration", 200 * wb.NS_PER_US, "part 3: the echo's delay (the network's round trip)", 0,
               wb.NS_PER_S),
        wb.Opt("io-duration", "duration", 250 * wb.NS_PER_MS, "part 3: length of each run with CPU-bound threads "
               "(alone: a quarter)", 10 * wb.NS_PER_MS, 60 * wb.NS_PER_S, quick=40 * wb.NS_PER_MS),
        wb.Opt("pages", "int", 32, "part 4: pages to fetch", 1, 10000, quick=8),
        wb.Opt("page-kib", "int", 16, "part 4: size of a page, KiB", 1, 1024, quick=4),
        wb.Opt("delay", "duration", 4 * wb.NS_PER_MS, "part 4: the server's delay before each reply", 0,
               10 * wb.NS_PER_S, quick=2 * wb.NS_PER_MS),
        wb.Opt("parse", "duration", 800 * wb.NS_PER_US, "part 4: CPU time to parse one page", 0, 10 * wb.NS_PER_S,
               quick=500 * wb.NS_PER_US),
        wb.Opt("max-fetchers", "int", 32, "part 4: most fetcher threads (1, 2, 4, ... up to it)", 1, 64, quick=4),
    ])
    args.intervals = [5] if args.quick else [1, 5, 50]
    args.convoy_intervals = [5] if args.quick else [0.1, 1, 5, 10]
    args.sweep_intervals = [1, 5] if args.quick else [0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50]
    cmp = wb.Compare(args.data, "08", "The GIL")
    cdat = {e: wb.read_data(args.data, e) for e in ("gil_cpu", "gil_convoy", "gil_interval", "gil_fetch")}
    for v in cdat.values():
        cmp.c_data(v)
    print(f"Part 1: who holds the GIL, and for how long ({wb.interpreter_short()})")
    with wb.DataFile(args.data, "gil_timeline", "gil_timeline (CPython): who runs over time, two CPU-bound "
                                                "threads") as d:
        turns.part(args, d, cmp)
    print("Part 2: CPU-bound threads and processes")
    with wb.DataFile(args.data, "gil_cpu", "gil_cpu (CPython): a fixed CPU-bound job on T threads and T "
                                           "processes") as d:
        cpujob.part(args, d, cmp, cdat["gil_cpu"])
    print("Part 3: the convoy")
    with wb.DataFile(args.data, "gil_convoy", "gil_convoy (CPython): an I/O-bound thread beside CPU-bound "
                                              "threads") as d:
        convoy.part(args, d, cmp, cdat["gil_convoy"])
    with wb.DataFile(args.data, "gil_interval", "gil_interval (CPython): I/O latency vs the switch interval") as d:
        convoy.part_interval(args, d, cmp, cdat["gil_interval"])
    print("Part 4: the page fetcher")
    with wb.DataFile(args.data, "gil_fetch", "gil_fetch (CPython): fetching pages from a slow loopback server "
                                             "with N threads") as d:
        fetch.part(args, d, cmp, cdat["gil_fetch"])
    cmp.write()


if __name__ == "__main__":
    wb.main(run)
