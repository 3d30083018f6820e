"""08_gil.py: the GIL itself, measured on CPython, beside chapter 08's simulated GIL.

Measures what chapter 08's gil_timeline, gil_cpu, gil_convoy, gil_interval and gil_fetch
measure on the simulation in gil.c:
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
import asyncio
import math
import os
import re
import socket
import sys
import threading
import time
import zlib

import wb

GAP_NS = 20_000          # a longer gap in a spinning thread's clock: someone else ran
NBINS = 28               # gil_timeline.c's histogram: 4 bins per decade from 1 us


def bin_of(ns):
    us = ns / 1e3
    return min(NBINS - 1, 0 if us <= 1 else int(math.floor(math.log10(us) * 4)))


def bin_edge_us(b):
    return 10 ** (b / 4)


def two_cpus():
    cpus = sorted(os.sched_getaffinity(0))
    return cpus[:2] if len(cpus) >= 2 else None


# ---- part 1: turns -------------------------------------------------------------------


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


def part1(args, d, cmp):
    cmp.row("sys.getswitchinterval(), the default switch interval", 5.0, sys.getswitchinterval() * 1e3, "ms",
            "C: gil.c's default, CPython's DEFAULT_INTERVAL")
    print(f"  sys.getswitchinterval() = {sys.getswitchinterval()}")
    cpus = two_cpus()
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


# ---- part 2: the CPU-bound job ---------------------------------------------------------


def add_range(lo, hi, out, k):
    s = 0
    for i in range(lo, hi):
        s += i
    out[k] = s


def job_threads(n, t, cpu0):
    out = [0] * t

    def body(k):
        def go():
            if cpu0:
                wb.pin(0)
            add_range(n * k // t, n * (k + 1) // t, out, k)
        return go
    start = time.perf_counter()
    wb.join_all(wb.threads_start_together([body(k) for k in range(t)]))
    return time.perf_counter() - start, sum(out)


def job_child(lo, hi, fd):
    wb.child_init()
    out = [0]
    add_range(lo, hi, out, 0)
    os.write(fd, out[0].to_bytes(16, "little"))


def job_processes(n, t):
    ctx = wb.fork_context()
    r, w = os.pipe()
    ps = []
    try:
        start = time.perf_counter()
        for k in range(t):
            ps.append(ctx.Process(target=job_child, args=(n * k // t, n * (k + 1) // t, w)))
            ps[-1].start()
        os.close(w)
        w = -1
        total = 0
        for _ in range(t):
            b = b""
            while len(b) < 16:
                c = os.read(r, 16 - len(b))
                if not c:
                    raise RuntimeError("a child ended without its sum")
                b += c
            total += int.from_bytes(b, "little")
        for p in ps:
            p.join()
        return time.perf_counter() - start, total
    finally:
        for p in ps:
            if p.is_alive():
                p.kill()
                p.join()
        os.close(r)
        if w >= 0:
            os.close(w)


def part2(args, d, cmp, cdat):
    n = int(args.work * 1e6)
    expect = n * (n - 1) // 2
    ways = ("threads", "threads1", "procs")
    res = {(w, t): [] for w in ways for t in range(1, args.max_threads + 1)}
    for _ in range(args.repeat):
        for t in range(1, args.max_threads + 1):
            for w in ways:
                secs, total = job_processes(n, t) if w == "procs" else job_threads(n, t, w == "threads1")
                if total != expect:
                    raise RuntimeError(f"{w} x {t}: {total}, expected {expect}")
                res[(w, t)].append(secs)
    wb.unpin()
    med = {k: wb.summary(v).median for k, v in res.items()}
    one = wb.summary(res[("threads", 1)] + res[("threads1", 1)]).median
    gil = wb.has_gil()
    d.block("wall time vs threads", [
        "threads (count): T", "one_s (s): the whole job on one thread (median of all one-thread runs)",
        "new_s (s): T threads, CPython with its GIL", "new1_s (s): the same, all on CPU 0",
        "old_s (s): T threads, old GIL (none in CPython 3)", "old1_s (s)",
        "nogil_s (s): T threads, a free-threaded CPython with the GIL off", "procs_s (s): T processes",
        "new_sw (1/s): GIL hand-offs per second (not visible from Python)", "new1_sw (1/s)", "old_sw (1/s)",
        "old1_sw (1/s)", "cores (count): online CPUs"])
    print(f"  {args.work:g} million additions over T threads (GIL: {wb.gil_state()}) and T processes, "
          f"median of {args.repeat}, s:")
    for t in range(1, args.max_threads + 1):
        th, th1, pr = med[("threads", t)], med[("threads1", t)], med[("procs", t)]
        d.row(t, one, th if gil else None, th1, None, None, None if gil else th, pr, None, None, None, None,
              wb.cores())
        print(f"  T={t}: threads {th:.3f} ({one / th:.2f}x), on one core {th1:.3f}, processes {pr:.3f} "
              f"({one / pr:.2f}x)")
    for t in (2, 4):
        if t > args.max_threads:
            continue
        c_new = cdat.at(0, "one_s", "threads", t) / cdat.at(0, "new_s", "threads", t) if cdat else None
        c_pr = cdat.at(0, "one_s", "threads", t) / cdat.at(0, "procs_s", "threads", t) if cdat else None
        cmp.row(f"CPU-bound job on {t} threads: speed-up over one (C: the simulated new GIL)", c_new,
                one / med[("threads", t)], "x")
        cmp.row(f"CPU-bound job on {t} processes: speed-up over one thread", c_pr, one / med[("procs", t)], "x")


# ---- part 3: the convoy ----------------------------------------------------------------


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
    cpus = two_cpus()
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
        echo.join(5)
        if echo.is_alive():
            echo.kill()
            echo.join()
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


def part3(args, d, cmp, cdat):
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


def part3b(args, d, cmp, cdat):
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


# ---- part 4: the page fetcher ----------------------------------------------------------


def page_bytes(i, size):
    seed = zlib.crc32(str(i).encode())
    return (seed.to_bytes(4, "little") * (size // 4 + 1))[:size]


def server_main(conn, size, delay):
    """The loopback server, a child process: port 0 (the kernel picks it); each request
    "GET i" is answered with page i after `delay`."""
    wb.child_init()

    async def handle(reader, writer):
        try:
            line = await reader.readline()
            i = int(line.split()[1])
            await asyncio.sleep(delay)
            writer.write(page_bytes(i, size))
            await writer.drain()
        finally:
            writer.close()

    async def main():
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=128)
        conn.send(server.sockets[0].getsockname()[1])
        async with server:
            await server.serve_forever()
    asyncio.run(main())


def busy(cpu_seconds):
    """Parsing a page: Python code that runs until this thread has used cpu_seconds of
    CPU (its own clock, time.thread_time: waiting for the GIL does not count)."""
    end = time.thread_time() + cpu_seconds
    x = 0
    while time.thread_time() < end:
        x += 1
    return x


def fetch_all(port, pages, size, threads, parse):
    expect = {i: zlib.crc32(page_bytes(i, size)) for i in range(pages)}
    nxt = [0]
    lock = threading.Lock()
    bad = []

    def fetcher():
        while True:
            with lock:
                i = nxt[0]
                nxt[0] += 1
            if i >= pages:
                return
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.sendall(f"GET {i}\n".encode())
                buf = bytearray()
                while len(buf) < size:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    buf += chunk
            if zlib.crc32(buf) != expect[i]:
                bad.append(i)
            if parse:
                busy(parse)

    t = time.perf_counter()
    ts = [threading.Thread(target=fetcher, daemon=True) for _ in range(threads)]
    for th in ts:
        th.start()
    wb.join_all(ts, 120)
    secs = time.perf_counter() - t
    if bad:
        raise RuntimeError(f"pages {bad} came back wrong")
    return secs * 1e3


def part4(args, d, cmp, cdat):
    pages, size, delay, parse = args.pages, args.page_kib * 1024, args.delay / 1e9, args.parse / 1e9
    ctx = wb.fork_context()
    a, b = ctx.Pipe(duplex=False)
    server = ctx.Process(target=server_main, args=(b, size, delay))
    ns = [n for n in (1, 2, 4, 8, 16, 32, 64) if n <= args.max_fetchers]
    res = {}
    try:
        server.start()
        b.close()
        if not a.poll(10):
            raise RuntimeError("the server did not start")
        port = a.recv()
        fetch_all(port, pages, size, 4, 0)  # warm-up
        for _ in range(args.repeat):
            for n in ns:
                res.setdefault((n, 0), []).append(fetch_all(port, pages, size, n, 0))
                res.setdefault((n, 1), []).append(fetch_all(port, pages, size, n, parse))
    finally:
        server.kill()
        server.join()
        a.close()
    d.block("time to fetch all pages vs threads", [
        "threads (count): N", "fetch_ms (ms): fetch only", "fetch_p10 (ms)", "fetch_p90 (ms)",
        "gil_ms (ms): fetch and parse, CPython with its GIL", "gil_p10 (ms)", "gil_p90 (ms)",
        "nogil_ms (ms): fetch and parse, a free-threaded CPython with the GIL off", "nogil_p10 (ms)",
        "nogil_p90 (ms)", "rounds_ms (ms): ceil(pages / N) x delay, the wait for the server alone",
        "parse_ms (ms): pages x parse, all the parsing done one page at a time", "cores (count): online CPUs"])
    gil = wb.has_gil()
    print(f"  {pages} pages of {args.page_kib} KiB, server delay {delay * 1e3:g} ms, parse {parse * 1e3:g} ms; ms:")
    one = None
    for n in ns:
        f, p = wb.summary(res[(n, 0)]), wb.summary(res[(n, 1)])
        one = one or f.median
        parsed = [p.median, p.p10, p.p90]
        d.row(n, f.median, f.p10, f.p90, *(parsed if gil else [None] * 3), *([None] * 3 if gil else parsed),
              math.ceil(pages / n) * delay * 1e3, pages * parse * 1e3, wb.cores())
        print(f"  {n:3d} threads: fetch {f.median:7.1f} ({one / f.median:5.2f}x); with parsing {p.median:7.1f}")
    top = ns[-1]

    def c(col, n):
        return cdat.at(0, col, "threads", n) if cdat else None

    c_speed = c("fetch_ms", 1) / c("fetch_ms", top) if cdat else None
    cmp.row(f"fetching {pages} pages: speed-up of {top} threads over 1", c_speed,
            one / wb.summary(res[(top, 0)]).median, "x")
    cmp.row(f"fetch and parse ({parse * 1e3:g} ms of CPU a page), {top} threads; the floor pages x parse is "
            f"{pages * parse * 1e3:.1f} ms", c("gil_ms", top), wb.summary(res[(top, 1)]).median, "ms")


def floats(s):
    return [float(x) for x in s.split(",")]


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
        part1(args, d, cmp)
    print("Part 2: CPU-bound threads and processes")
    with wb.DataFile(args.data, "gil_cpu", "gil_cpu (CPython): a fixed CPU-bound job on T threads and T "
                                           "processes") as d:
        part2(args, d, cmp, cdat["gil_cpu"])
    print("Part 3: the convoy")
    with wb.DataFile(args.data, "gil_convoy", "gil_convoy (CPython): an I/O-bound thread beside CPU-bound "
                                              "threads") as d:
        part3(args, d, cmp, cdat["gil_convoy"])
    with wb.DataFile(args.data, "gil_interval", "gil_interval (CPython): I/O latency vs the switch interval") as d:
        part3b(args, d, cmp, cdat["gil_interval"])
    print("Part 4: the page fetcher")
    with wb.DataFile(args.data, "gil_fetch", "gil_fetch (CPython): fetching pages from a slow loopback server "
                                             "with N threads") as d:
        part4(args, d, cmp, cdat["gil_fetch"])
    cmp.write()


if __name__ == "__main__":
    wb.main(run)
