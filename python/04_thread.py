"""04_thread.py: threading.Thread, the lost update and the Lock, on CPython.

Measures what chapter 04's threads_io, race_rate and lock_cost measure in C:
  1. The lessons' I/O example: two threads that each time.sleep(1) finish in about 1 s;
     and 100 threads sleeping 0.5 s.
  2. The lost update: two threads each add 1 to a global N times without a lock, started
     together, for N = 10^3 up to --max-iterations. Three ways: the lesson's
     `global_num += 1`; the same with sys.setswitchinterval(1e-6) (a switch request
     every microsecond); and `global_num = global_num + one()`, a call between the read
     and the write. The share of updates lost, median of --repeat races.
  3. What exactness costs: time per addition for 1 to 4 threads (--iterations each; ten
     times as many for the two cheap ways, as lock_cost.c does), with a Lock per
     addition, the lesson's Lock around the whole loop, and per-thread sums added once
     at the end (there is no atomic add in Python: NaN), threads spread over the cores
     (thread t on CPU t mod cores) and all on CPU 0.

The lesson's idiom:   lock.acquire(); global_num += 1; lock.release()

Run:   python3 python/04_thread.py [--quick] [--data DIR]
Writes DIR/race_rate_py.dat, DIR/lock_cost_py.dat and DIR/compare_04.json. Look for: the
lesson's loop losing nothing on this interpreter, the variant with a call losing a
large share, and per-thread sums that do not get faster with a second thread (the GIL).
"""
import re
import sys
import threading
import time

import wb

global_num = 0


def one():
    return 1


def add_lesson(n):
    global global_num
    for _ in range(n):
        global_num += 1


def add_with_call(n):
    global global_num
    for _ in range(n):
        global_num = global_num + one()


def sleepers(count, seconds):
    ts = [threading.Thread(target=time.sleep, args=(seconds,), daemon=True) for _ in range(count)]
    t = time.perf_counter()
    for th in ts:
        th.start()
    wb.join_all(ts, seconds + 60)
    return time.perf_counter() - t


def part1(args, cmp):
    long_s, short_s = args.long / 1e9, args.short / 1e9
    two, many = sleepers(2, long_s), sleepers(100, short_s)
    print(f"  2 threads each sleeping {long_s:g} s: all done in {two:.3f} s; 100 threads x {short_s:g} s: {many:.3f} s")
    c = {}
    out = wb.run_c("04-thread/threads_io", ["--long", wb.format_duration(args.long),
                                            "--short", wb.format_duration(args.short)], timeout=120)
    if out:
        cmp.source("threads_io", f"chapters/04-thread/threads_io --long {wb.format_duration(args.long)} "
                                  f"--short {wb.format_duration(args.short)}, run {wb.now_utc()}")
        found = re.findall(r"all done in ([0-9.]+) s", out)
        if len(found) == 2:
            c = {"two": float(found[0]), "many": float(found[1])}
    cmp.row(f"2 threads that each sleep {long_s:g} s: wall time", c.get("two"), two, "s")
    cmp.row(f"100 threads that each sleep {short_s:g} s: wall time", c.get("many"), many, "s")


def race(add, n, interval=None):
    """One race of two threads; returns the share of updates lost, in %."""
    global global_num
    global_num = 0
    old = sys.getswitchinterval()
    if interval:
        sys.setswitchinterval(interval)
    try:
        wb.join_all(wb.threads_start_together([lambda: add(n), lambda: add(n)]))
    finally:
        sys.setswitchinterval(old)
    return 100.0 * (2 * n - global_num) / (2 * n)


def steps(top):
    n, out = 1000, []
    while n <= top:
        out.append(n)
        n = n * 3 if str(n)[0] == "1" else n * 10 // 3
    return out


def part2(args, d, cmp, cdat):
    ways = [("2 threads, the lesson's global_num += 1", add_lesson, None),
            ("2 threads, global_num += 1 with sys.setswitchinterval(1e-6)", add_lesson, 1e-6),
            ("2 threads, global_num = global_num + one(): a call between read and write", add_with_call, None)]
    cols = ["iterations (count): additions per thread", "median (%): median share of updates lost", "p10 (%)",
            "p90 (%)", "any (%): share of the races that lost at least one update", "threads (count)",
            "pinned (0/1): 1 if all threads ran on CPU 0, 0 if spread over the cores"]
    print(f"  share of updates lost, median of {args.repeat} races (10th-90th percentile):")
    at_top = {}
    for title, add, interval in ways:
        d.block(title, cols)
        print(f"  {title}")
        for n in steps(args.max_iterations):
            lost = [race(add, n, interval) for _ in range(args.repeat)]
            s = wb.summary(lost)
            anyl = 100.0 * sum(1 for v in lost if v > 0) / len(lost)
            print(f"    {n:10d} {s.median:8.2f}%   ({s.p10:.2f} .. {s.p90:.2f}); {anyl:.0f}% of races lost some")
            d.row(n, s.median, s.p10, s.p90, anyl, 2, 0)
            at_top[title] = (n, s.median, sum(1 for v in lost if v == 0), len(lost))
    n = args.max_iterations
    c2 = cdat.at(0, "median", "iterations", at_top[ways[0][0]][0]) if cdat else None
    for title, _, _ in ways:
        top, med, exact, runs = at_top[title]
        cmp.row(f"{title.split(', ', 1)[1]}, {top:,} each: updates lost (median)", c2, med, "%",
                f"{exact} of {runs} CPython runs exact; C: race_rate, 2 threads over 2 cores", ratio=False)


def counter_run(method, threads, n, pinned):
    """Time per addition (ns) for `threads` threads adding n each, exactly."""
    global global_num
    global_num = 0
    lock = threading.Lock()

    def per_addition():
        global global_num
        for _ in range(n):
            lock.acquire()
            global_num += 1
            lock.release()

    def around_loop():
        global global_num
        with lock:
            for _ in range(n):
                global_num += 1

    def per_thread():
        global global_num
        mine = 0
        for _ in range(n):
            mine += 1
        with lock:
            global_num += mine

    body = (per_addition, around_loop, None, per_thread)[method]

    def worker(t):
        def go():
            wb.pin(0 if pinned else t % wb.cores())
            body()
        return go

    t0 = time.perf_counter()
    wb.join_all(wb.threads_start_together([worker(t) for t in range(threads)]))
    dt = time.perf_counter() - t0
    if global_num != n * threads:
        raise RuntimeError(f"method {method}: {global_num} instead of {n * threads}")
    return dt / (n * threads) * 1e9


def part3(args, d, cmp, cdat):
    names = ("lock per addition", "lock around the loop (the lesson)", "atomic add (none in Python)",
             "per-thread sums")
    cols = ["threads (count)", "median (ns): wall time / all additions, median of the runs", "p10 (ns)", "p90 (ns)",
            "method (index): 0 lock per addition, 1 lock around the loop, 2 atomic add, 3 per-thread sums",
            "pinned (0/1): 1 if every thread ran on CPU 0, 0 if spread"]
    res = {}
    print(f"  ns per addition, {args.iterations} additions per thread ({10 * args.iterations} around the loop and "
          f"for per-thread sums), median of {args.repeat_lock}:")
    for p in (0, 1):
        for m, name in enumerate(names):
            d.block(f"{name}, {'all on CPU 0' if p else 'spread over the cores'}", cols)
            line = []
            for t in range(1, args.max_threads + 1):
                if m == 2:
                    d.row(t, None, None, None, m, p)
                    continue
                n = args.iterations * (1 if m == 0 else 10)  # as lock_cost.c: the cheap ways do 10 times more
                s = wb.summary([counter_run(m, t, n, p) for _ in range(args.repeat_lock)])
                res[(m, t, p)] = s.median
                d.row(t, s.median, s.p10, s.p90, m, p)
                line.append(f"{s.median:8.1f}")
            if line:
                print(f"  {name + (', CPU 0' if p else ''):40} " + " ".join(line))
    wb.unpin()

    def c(m, t):
        if not cdat:
            return None
        return cdat.at(4 * 0 + m, "median", "threads", t)

    cmp.row("lock per addition, 1 thread: time per addition", c(0, 1), res[(0, 1, 0)], "ns")
    if args.max_threads >= 2:
        cmp.row("lock per addition, 2 threads over 2 cores", c(0, 2), res[(0, 2, 0)], "ns")
        cmp.row("lock around the loop (the lesson), 2 threads", c(1, 2), res[(1, 2, 0)], "ns")
        cmp.row("per-thread sums, 2 threads", c(3, 2), res[(3, 2, 0)], "ns")
        cs = c(3, 1) / c(3, 2) if cdat else None
        cmp.row("per-thread sums: speed-up from 1 to 2 threads", cs, res[(3, 1, 0)] / res[(3, 2, 0)], "x")


def run():
    args = wb.parse(__doc__.split("\n")[0], [
        wb.Opt("long", "duration", wb.NS_PER_S, "part 1: how long each of two threads sleeps", wb.NS_PER_MS,
               60 * wb.NS_PER_S, quick=100 * wb.NS_PER_MS),
        wb.Opt("short", "duration", 500 * wb.NS_PER_MS, "part 1: how long each of 100 threads sleeps",
               wb.NS_PER_MS, 60 * wb.NS_PER_S, quick=50 * wb.NS_PER_MS),
        wb.Opt("max-iterations", "int", 1000_000, "part 2: longest loop, per thread", 1000, 100_000_000, quick=10000),
        wb.Opt("repeat", "int", 5, "part 2: races per point (the median is kept)", 1, 1000, quick=2),
        wb.Opt("iterations", "int", 100_000, "part 3: additions per thread", 1000, 100_000_000, quick=5000),
        wb.Opt("repeat-lock", "int", 5, "part 3: runs per point (the median is kept)", 1, 1000, quick=1),
        wb.Opt("max-threads", "int", 4, "part 3: most threads", 1, 16, quick=2),
    ])
    cmp = wb.Compare(args.data, "04", "Threads")
    race_c, lock_c = wb.read_data(args.data, "race_rate"), wb.read_data(args.data, "lock_cost")
    cmp.c_data(race_c)
    cmp.c_data(lock_c)
    print("Part 1: threads that sleep")
    part1(args, cmp)
    print("Part 2: the lost update")
    with wb.DataFile(args.data, "race_rate", "race_rate (CPython): share of updates lost by an unlocked counter") as d:
        part2(args, d, cmp, race_c)
    print("Part 3: what exactness costs")
    with wb.DataFile(args.data, "lock_cost", "lock_cost (CPython): time per addition to one exact counter") as d:
        part3(args, d, cmp, lock_c)
    cmp.write()


if __name__ == "__main__":
    wb.main(run)
