"""08_gil/turns.py: who holds the GIL, and for how long (part 1), beside gil_timeline.c.

sys.getswitchinterval(); two CPU-bound threads that spin, each noting when it runs: a
gap of more than 20 µs in its own clock readings means another thread had the GIL, and
a turn lasts until the other thread runs. At 1, 5 and 50 ms, on two cores and (5 ms)
both pinned to one; the median and spread of the turns, and who ran when over a 50 ms
window (gil_timeline's blocks). And a thread inside one long call (sum(range(n))),
which keeps the GIL for the whole call: the longest wait of a spinning thread beside it.
"""
import math
import re
import sys
import threading
import time

import wb


GAP_NS = 20_000          # a longer gap in a spinning thread's clock: someone else ran
NBINS = 28               # gil_timeline.c's histogram: 4 bins per decade from 1 us


def bin_of(ns):
    us = ns / 1e3
    return min(NBINS - 1, 0 if us <= 1 else int(math.floor(math.log10(us) * 4)))


def bin_edge_us(b):
    return 10 ** (b / 4)


def spin(until_ns, stretches):
    """Runs until until_ns, noting (from, to) of every stretch it ran without a gap."""
    clock = time.perf_counter_ns
    start = last = clock()
    while last < until_ns:
        now = clock()
        if now - last > GAP_NS:
            stretches.append((start, last))
            start = now
        last = now
    stretches.append((start, last))


def turns_of(per_thread):
    """Stretches of all threads, merged into turns: (thread, from, to), in time order."""
    marks = sorted((a, b, t) for t, st in enumerate(per_thread) for a, b in st)
    turns = []
    for a, b, t in marks:
        if turns and turns[-1][0] == t:
            turns[-1][2] = max(turns[-1][2], b)
        else:
            turns.append([t, a, b])
    return turns


def spinners(interval, seconds, cpus):
    """Two CPU-bound threads for `seconds` at switch interval `interval`; cpus: each
    thread's CPU (None: free). Returns the turns."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(interval)
    stretches = [[], []]
    until = [0]

    def body(t):
        def go():
            if cpus:
                wb.pin(cpus[t])
            if not until[0]:
                until[0] = time.perf_counter_ns() + int(seconds * 1e9)
            spin(until[0], stretches[t])
        return go
    try:
        wb.join_all(wb.threads_start_together([body(0), body(1)]), seconds + 30)
    finally:
        sys.setswitchinterval(old)
    return turns_of(stretches)


def turn_lengths_us(turns):
    inner = turns[1:-1]  # the first and last are cut short by the run's edges
    return [(b - a) / 1e3 for _, a, b in inner]


def c_turn_median(interval_ns, duration_ns, quick):
    """The median turn of gil_timeline's "new GIL" line at this interval."""
    more = ["--quick"] if quick else ["--duration", wb.format_duration(duration_ns)]
    out = wb.run_c("08-gil/gil_timeline", ["--interval", wb.format_duration(interval_ns)] + more, timeout=120)
    if not out:
        return None
    m = re.search(r"^\s*new GIL\s+([0-9.]+)\s+([0-9.]+)\s+([0-9.]+)\s+([0-9.]+)", out, re.M)
    return float(m.group(4)) if m else None


def part(args, d, cmp):
    cmp.row("sys.getswitchinterval(), the default switch interval", 5.0, sys.getswitchinterval() * 1e3, "ms",
            "C: gil.c's default, CPython's DEFAULT_INTERVAL")
    print(f"  sys.getswitchinterval() = {sys.getswitchinterval()}")
    cpus = wb.two_cpus()
    runs = {"new GIL": spinners(0.005, args.duration / 1e9, None),
            "new GIL, 1 core": spinners(0.005, args.duration / 1e9, [0, 0] if cpus else None)}
    hist = {}
    for r, name in enumerate(("new GIL", "new GIL, 1 core", "old GIL", "old GIL, 1 core")):
        d.block(f"{name}: turns in the window" + ("" if name in runs else " (no old GIL in CPython 3)"),
                ["lane (count): thread number, 1..T", "from_ms (ms): the turn began (ms into the window)",
                 "to_ms (ms): it ended"])
        if name not in runs:
            d.row(1, None, None)
            continue
        turns = runs[name]
        w0 = turns[0][1] + 10_000_000
        w1 = w0 + 50_000_000
        for t, a, b in turns:
            if b > w0 and a < w1:
                d.row(t + 1, (max(a, w0) - w0) / 1e6, (min(b, w1) - w0) / 1e6)
        h = [0.0] * NBINS
        for t, a, b in turns[1:-1]:
            h[bin_of(b - a)] += b - a
        hist[name] = h
        s = wb.summary(turn_lengths_us(turns))
        print(f"  two CPU-bound threads, 5 ms, {name:16}: {len(turns)} turns, median {s.median:.0f} µs "
              f"(p10 {s.p10:.0f}, p90 {s.p90:.0f}, longest {s.max:.0f})")
    d.block("histograms of hold and turn lengths", [
        "lo_us (us): bin from", "hi_us (us): bin to", "mid_us (us): geometric middle",
        "new_holds (%): share of holds in the bin (NaN: CPython does not show its acquisitions)",
        "new1_holds (%): new GIL, 1 core", "old_holds (%): old GIL", "old1_holds (%): old GIL, 1 core",
        "new_turns (%): share of the time spent in turns of this length, CPython on two cores",
        "new1_turns (%): CPython, both threads on CPU 0", "old_turns (%)", "old1_turns (%)"])
    for b in range(NBINS):
        shares = [100 * hist[n][b] / sum(hist[n]) if sum(hist[n]) else 0.0 for n in ("new GIL", "new GIL, 1 core")]
        d.row(bin_edge_us(b), bin_edge_us(b + 1), math.sqrt(bin_edge_us(b) * bin_edge_us(b + 1)), None, None, None,
              None, *shares, None, None)

    for ms in args.intervals:
        secs = max(args.duration / 1e9, 20 * ms / 1e3)
        turns = runs["new GIL"] if ms == 5 else spinners(ms / 1e3, secs, None)
        s = wb.summary(turn_lengths_us(turns))
        c = c_turn_median(int(ms * wb.NS_PER_MS), max(int(12 * ms * wb.NS_PER_MS), 200 * wb.NS_PER_MS), args.quick)
        cmp.row(f"two CPU-bound threads, switch interval {ms:g} ms: a turn lasts (median; CPython "
                f"10th-90th pct {s.p10 / 1e3:.2f}-{s.p90 / 1e3:.2f} ms)", c and c / 1e3, s.median / 1e3, "ms")
    cmp.source("gil_timeline", f"chapters/08-gil/gil_timeline --interval 1ms, 5ms, 50ms, run {wb.now_utc()}")
    s1 = wb.summary(turn_lengths_us(runs["new GIL, 1 core"]))
    cmp.row("the same at 5 ms, both threads on one core", None, s1.median / 1e3, "ms",
            "C: gil_timeline's 'new GIL, 1 core' line in plots/data/gil_timeline.txt")

    # one long call: the GIL is released only between bytecodes, never inside sum()
    n = args.sum_n
    t = time.perf_counter()
    total = sum(range(n))
    alone = time.perf_counter() - t
    stretches = []
    stop = [False]

    def caller():
        while not stop[0]:
            if sum(range(n)) != total:
                raise RuntimeError("sum changed")
    th = threading.Thread(target=caller, daemon=True)
    th.start()
    try:
        spin(time.perf_counter_ns() + int(max(0.3, 4 * alone) * 1e9), stretches)
    finally:
        stop[0] = True
        th.join(30)
    gaps = [(b[0] - a[1]) / 1e6 for a, b in zip(stretches, stretches[1:])]
    longest = max(gaps) if gaps else float("nan")
    print(f"  a thread calling sum(range({n:,})) ({alone * 1e3:.0f} ms a call): the spinner beside it waited "
          f"up to {longest:.0f} ms at a time")
    cmp.row(f"a thread inside one sum(range({n:,})) call ({alone * 1e3:.0f} ms): the longest wait of a thread "
            "beside it", None, longest, "ms", "the GIL is not released inside a call to C code")
