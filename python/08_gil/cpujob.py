"""08_gil/cpujob.py: the lesson's CPU-bound job on threads and processes (part 2),
beside gil_cpu.c.

The additions split over T = 1..--max-threads threads, threads all pinned to one core,
and T processes (fork): wall time and speed-up over the whole job on one thread, the
median of --repeat. Under the GIL the threads take turns; the processes run at once.
"""
import time

import wb


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


def add_part(lo, hi):
    out = [0]
    add_range(lo, hi, out, 0)
    return out[0]


def job_processes(n, t):
    secs, sums = wb.fork_map(add_part, [(n * k // t, n * (k + 1) // t) for k in range(t)])
    return secs, sum(sums)


def part(args, d, cmp, cdat):
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
