"""08_gil/convoy.py: the convoy effect (part 3), beside gil_convoy.c and gil_interval.c.

An I/O thread does request/response over a socketpair with an echo process that answers
after --rtt (the far end of a network): alone, and beside 1 and 2 CPU-bound threads, at
switch intervals 0.1, 1, 5 and 10 ms, and beside 1 with every thread on one core
(part). Then one CPU-bound thread and the I/O thread for intervals from 0.1 to 50 ms
(part_interval). Each blocking call gives the GIL away, and getting it back waits for
the CPU-bound thread's switch interval: about 1 / (2 x interval) requests a second.
"""
import os
import socket
import sys
import threading
import time

import wb


def echo_main(sock, other_end, rtt, cpu):
    """The far end of the network, a process of its own: answers every byte after rtt."""
    wb.child_init()
    other_end.close()  # the I/O thread's end: open here, it would hide the end of file
    wb.tight_timer_slack()
    if cpu is not None:
        wb.pin(cpu)
    while True:
        b = sock.recv(1)
        if not b:
            os._exit(0)
        if rtt:
            time.sleep(rtt)
        sock.sendall(b)


def io_run(interval, hogs, rtt, seconds, one_core):
    """An I/O thread beside `hogs` CPU-bound threads for `seconds`. Returns requests per
    second and the round trips (µs)."""
    cpus = wb.two_cpus()
    hog_cpu = 0 if cpus else None
    io_cpu = (0 if one_core else cpus[1]) if cpus else None
    a, b = socket.socketpair()
    echo = wb.fork_context().Process(target=echo_main, args=(b, a, rtt, io_cpu))
    stop = [False]
    trips = []
    old = sys.getswitchinterval()
    hs = []
    try:
        echo.start()
        b.close()
        a.settimeout(10)

        def pinger(until):
            if io_cpu is not None:
                wb.pin(io_cpu)
            while len(trips) < 3 or time.perf_counter() < until:  # at least 3, however slow
                t = time.perf_counter()
                a.send(b"x")
                if a.recv(1) != b"x":
                    raise RuntimeError("the echo ended")
                trips.append((time.perf_counter() - t) * 1e6)

        sys.setswitchinterval(interval)
        hs = [threading.Thread(target=hog, args=(stop, hog_cpu), daemon=True) for _ in range(hogs)]
        for h in hs:
            h.start()
        time.sleep(0.01)
        start = time.perf_counter()
        p = threading.Thread(target=pinger, args=(start + seconds,), daemon=True)
        p.start()
        p.join(seconds + 30)
        wall = time.perf_counter() - start
    finally:
        stop[0] = True
        sys.setswitchinterval(old)
        for h in hs:
            h.join(10)
        a.close()
        wb.end_all([echo], grace=5)
    if not trips:
        raise RuntimeError("the I/O thread made no request")
    return len(trips) / wall, trips


def hog(stop, cpu):
    """A CPU-bound thread: `while True: x += 1`, until told to stop."""
    if cpu is not None:
        wb.pin(cpu)
    x = 0
    while not stop[0]:
        x += 1


def io_runs(args, interval, hogs, seconds, one_core):
    """--io-repeat runs: the median rate, and the round trips of all the runs."""
    rates, trips = [], []
    for _ in range(args.io_repeat):
        r, t = io_run(interval, hogs, args.rtt / 1e9, seconds, one_core)
        rates.append(r)
        trips += t
    return wb.summary(rates).median, wb.summary(trips)


def part(args, d, cmp, cdat):
    rtt, dur = args.rtt / 1e9, args.io_duration / 1e9
    confs = [(0.1, "0.1 ms"), (1, "1 ms"), (5, "5 ms"), (10, "10 ms")]
    d.block("requests per second and round-trip time", [
        "conf (index): 0..3 switch interval 0.1, 1, 5, 10 ms; 4 old GIL (none in CPython 3)",
        "interval_ms (ms): switch interval (0: old GIL)",
        "model (1/s): 1 / (2 x interval), the rate with one hog (NaN: no model)",
        "rate0 (1/s): requests per second, alone", "rate1 (1/s): beside 1 hog", "rate2 (1/s): beside 2 hogs",
        "rtt0 (us): median round trip, alone", "rtt0_p10 (us)", "rtt0_p90 (us)",
        "rtt1 (us): median round trip, 1 hog", "rtt1_p10 (us)", "rtt1_p90 (us)",
        "rtt2 (us): median round trip, 2 hogs", "rtt2_p10 (us)", "rtt2_p90 (us)",
        "rate1c (1/s): beside 1 hog, every thread on CPU 0", "rtt1c (us)", "rtt1c_p10 (us)", "rtt1c_p90 (us)",
        "hog1 (ratio): share of the run the hog held the GIL (not visible from Python)",
        "hog2 (ratio): the same, 2 hogs", "hog1c (ratio): the same, 1 hog on one core",
        "label: the configuration (the switch interval)"])
    print(f"  an I/O thread (echo after {rtt * 1e6:.0f} µs) beside CPU-bound threads; requests/s (median round "
          f"trip, µs), median of {args.io_repeat} runs:")
    res = {}
    for c, (ms, label) in enumerate(confs):
        if ms not in args.convoy_intervals:
            continue
        r = [io_runs(args, ms / 1e3, h, dur / 4 if h == 0 else dur, False) for h in (0, 1, 2)]
        rc = io_runs(args, ms / 1e3, 1, dur, True)
        res[ms] = r
        row = [c, ms, 1e3 / (2 * ms)] + [x[0] for x in r]
        for x in r:
            row += [x[1].median, x[1].p10, x[1].p90]
        d.row(*row, rc[0], rc[1].median, rc[1].p10, rc[1].p90, None, None, None, label)
        print(f"  {label:>7}: alone {r[0][0]:6.0f} ({r[0][1].median:6.0f}) | 1 hog {r[1][0]:5.0f} "
              f"({r[1][1].median:6.0f}) | 2 hogs {r[2][0]:5.0f} ({r[2][1].median:6.0f}) | 1 hog, one core "
              f"{rc[0]:5.0f} ({rc[1].median:6.0f})")
    d.row(4, 0, None, *([None] * 19), "old GIL")
    ms = 5 if 5 in res else min(res)

    def c(col):
        return cdat.at(0, col, "interval_ms", ms) if cdat else None

    cmp.row(f"I/O thread alone: requests per second (echo after {rtt * 1e6:.0f} µs; {ms:g} ms interval)", c("rate0"),
            res[ms][0][0], "1/s")
    cmp.row(f"the same beside 1 CPU-bound thread (model 1 / (2 x interval): {1e3 / (2 * ms):.0f})", c("rate1"),
            res[ms][1][0], "1/s")
    cmp.row("the same beside 2 CPU-bound threads", c("rate2"), res[ms][2][0], "1/s")
    cmp.row("its round trip beside 1 CPU-bound thread (median)", c("rtt1"), res[ms][1][1].median, "µs")
    cmp.row("its round trip beside 1 CPU-bound thread, 90th percentile", c("rtt1_p90"), res[ms][1][1].p90, "µs")


def part_interval(args, d, cmp, cdat):
    d.block("throughput and latency vs switch interval", [
        "interval_ms (ms): the switch interval",
        "throughput (ratio): the hogs' work per second over one thread's alone (not measured here)",
        "rtt (us): median round trip of the I/O thread", "rtt_p10 (us)", "rtt_p90 (us)",
        "retake_p90 (us): 90th percentile of the wait for the GIL after a blocking call (not visible)",
        "rate (1/s): requests per second", "switches (1/s): GIL hand-offs per second (not visible)",
        "duration_ms (ms): length of the run", "solo (1/s): not measured here",
        "held (ratio): share of the wall time a hog held the GIL (not visible)"])
    out = {}
    for ms in args.sweep_intervals:
        secs = max(args.io_duration / 1e9, 8 * ms / 1e3)
        rate, s = io_runs(args, ms / 1e3, 1, secs, False)
        out[ms] = s.median
        d.row(ms, None, s.median, s.p10, s.p90, None, rate, None, secs * 1e3, None, None)
    print("  one CPU-bound thread beside the I/O thread, median round trip by interval: " +
          ", ".join(f"{ms:g} ms: {v / 1e3:.2f} ms" for ms, v in out.items()))
    top = max(out)
    cmp.row(f"the I/O thread's round trip at a {top:g} ms switch interval, beside one CPU-bound thread",
            cdat.at(0, "rtt", "interval_ms", top) / 1e3 if cdat else None, out[top] / 1e3, "ms")
