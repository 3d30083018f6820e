"""09_sync/cost.py: what a lock costs (part 3), beside mutex_cost and
solutions/futex_semaphore.

1. mutex_cost's loop on threading.Lock: every thread loops on acquire, add 1 to a shared
   counter, release, for --duration; the cost is the wall time over all the pairs
   (checked against the counter), the median of --repeat runs, for 1 to --max-threads
   threads spread over the cores (thread i on CPU i mod cores) and all on CPU 0; beside
   it, the busiest thread's pairs over an even share and the sleeps (voluntary context
   switches, getrusage(RUSAGE_THREAD)) per million pairs. CPython's futex calls cannot
   be counted from Python: NaN.
2. One acquire+release pair, one thread, for Lock, RLock, Semaphore and
   BoundedSemaphore; and a Semaphore(3) shared by 4 threads (futex_semaphore's case).
"""
import re
import sys
import threading
import time

import wb

KINDS = ("naive futex", "futex", "futex, spinning", "pthread_mutex", "spinlock")
LOCK_KIND = 1  # threading.Lock's blocks: the three-state futex lock, the design it shares
COLUMNS = ["threads (count)", "ns (ns): wall time / all pairs, median", "ns_p10 (ns)", "ns_p90 (ns)",
           "busiest (ratio): the busiest thread's pairs / an even share, median",
           "calls (count): futex system calls per million pairs (NaN: not visible from Python)",
           "sleeps (count): voluntary context switches per million pairs, median"]


def lock_run(threads, duration, one_core):
    """One run (wb.lock_pairs): ns per pair, the busiest thread's share over an even one,
    sleeps per million pairs."""
    cpus = [0 if one_core else t % wb.cores() for t in range(threads)]
    ns, done, sleeps = wb.lock_pairs(threading.Lock(), cpus, duration)
    total = sum(done)
    return ns, max(done) / (total / threads), sum(sleeps) / total * 1e6


def sweep(args, d, cmp, cdat):
    res = {}
    for _ in range(args.repeat):  # round robin, so that a slow spell hits every point alike
        for one_core in (False, True):
            for t in range(1, args.max_threads + 1):
                res.setdefault((one_core, t), []).append(lock_run(t, args.duration / 1e9, one_core))
    wb.unpin()
    med = {}
    print(f"  threading.Lock: acquire, add 1, release; median of {args.repeat} runs of {args.duration / 1e6:g} ms")
    print(f"  {'placement':10} {'threads':>7} {'ns/pair':>9} {'busiest':>8} {'sleeps/M':>9}")
    for p, one_core in enumerate((False, True)):
        for k, kind in enumerate(KINDS):
            d.block(f"{kind}, {'one core' if one_core else 'spread'}" +
                    (" (CPython: threading.Lock)" if k == LOCK_KIND else " (none in CPython)"), COLUMNS)
            if k != LOCK_KIND:
                continue
            for t in range(1, args.max_threads + 1):
                r = res[(one_core, t)]
                s = wb.summary([x[0] for x in r])
                busiest, sleeps = wb.summary([x[1] for x in r]).median, wb.summary([x[2] for x in r]).median
                med[(one_core, t)] = (s.median, busiest, sleeps)
                d.row(t, s.median, s.p10, s.p90, busiest, None, sleeps)
                print(f"  {'one core' if one_core else 'spread':10} {t:7d} {s.median:9.1f} {busiest:8.2f} "
                      f"{sleeps:9.0f}")

    def c(one_core, kind, t, col="ns"):
        return cdat.at(5 * one_core + kind, col, "threads", t) if cdat else None

    cmp.row("threading.Lock: acquire + add 1 + release, 1 thread (C: the futex lock)", c(0, 1, 1),
            med[(False, 1)][0], "ns")
    cmp.row("the same, C's pthread_mutex", c(0, 3, 1), med[(False, 1)][0], "ns")
    top = args.max_threads
    if top >= 2:
        cmp.row("2 threads on 2 cores (C: the futex lock)", c(0, 1, 2), med[(False, 2)][0], "ns")
        cmp.row("2 threads on 2 cores: sleeps per million pairs (C: the futex lock)", c(0, 1, 2, "sleeps"),
                med[(False, 2)][2], "", ratio=False)
        cmp.row("2 threads on 2 cores: the busiest thread's pairs over an even share", c(0, 1, 2, "busiest"),
                med[(False, 2)][1], "x")
    cmp.row(f"{top} threads all on one core (C: the futex lock)", c(1, 1, top), med[(True, top)][0], "ns")
    if top >= 2:
        cmp.row(f"{top} threads all on one core (C: the spinlock)", c(1, 4, top), med[(True, top)][0], "ns")


def pair_ns(make, pairs):
    lock = make()
    acquire, release = lock.acquire, lock.release
    t = time.perf_counter()
    for _ in range(pairs):
        acquire()
        release()
    return (time.perf_counter() - t) / pairs * 1e9


def shared_sem_ns(pairs):
    """A Semaphore(3) shared by 4 threads, pairs/4 each: wall / all pairs."""
    sem = threading.Semaphore(3)
    each = pairs // 4

    def go():
        for _ in range(each):
            if not sem.acquire(timeout=30):
                raise RuntimeError("Semaphore(3): no acquire within 30 s")
            sem.release()

    t = time.perf_counter()
    wb.join_all(wb.threads_start_together([go] * 4), 120)
    return (time.perf_counter() - t) / (4 * each) * 1e9


def lock_kind():
    """What threading.Lock is made of in this interpreter: a PyMutex since gh-117721
    (Modules/_threadmodule.c, 3.13.1), before that the platform's lock, which
    sys.thread_info names ('semaphore': a POSIX sem_t, Python/thread_pthread.h)."""
    if sys.version_info >= (3, 13, 1) or sys.thread_info.lock == "pymutex":
        return "a PyMutex (gh-117721)"
    return {"semaphore": "a POSIX semaphore, sem_t (sys.thread_info.lock: 'semaphore')",
            "mutex+cond": "a mutex and a condition variable (sys.thread_info.lock: 'mutex+cond')"}.get(
        sys.thread_info.lock, str(sys.thread_info.lock))


def primitives(args, cmp):
    kinds = [("Lock", threading.Lock), ("RLock", threading.RLock), ("Semaphore(1)", lambda: threading.Semaphore(1)),
             ("BoundedSemaphore(1)", lambda: threading.BoundedSemaphore(1))]
    res = {}
    for _ in range(3):
        for name, make in kinds:
            res.setdefault(name, []).append(pair_ns(make, args.pairs))
    med = {name: wb.summary(v).median for name, v in res.items()}
    shared = wb.summary([shared_sem_ns(args.pairs) for _ in range(3)]).median
    print("  one acquire+release pair, one thread (median of 3), ns: " +
          ", ".join(f"{n} {v:.1f}" for n, v in med.items()) + f"; Semaphore(3) shared by 4 threads {shared:.1f}")
    out = wb.run_c("09-sync/solutions/futex_semaphore", ["--pairs", str(args.pairs)], timeout=120) or ""
    if out:
        cmp.source("futex_semaphore", f"chapters/09-sync/solutions/futex_semaphore --pairs {args.pairs}, "
                                      f"run {wb.now_utc()}")

    def c(threads):
        m = re.search(rf"Lock \+ Condition +{threads} threads? *, value \d: +([0-9.]+) ns per pair", out)
        return float(m.group(1)) if m else None

    cmp.row("what threading.Lock is made of", "a futex word, three states (futex_mutex.c)", lock_kind(), ratio=False)
    cmp.row("Lock: acquire + release alone", None, med["Lock"], "ns")
    cmp.row("RLock: acquire + release alone", None, med["RLock"], "ns")
    cmp.row("Semaphore(1): acquire + release alone (C: semaphore.c, a Lock and a Condition)", c(1),
            med["Semaphore(1)"], "ns")
    cmp.row("BoundedSemaphore(1): acquire + release alone", None, med["BoundedSemaphore(1)"], "ns")
    cmp.row("Semaphore(3) shared by 4 threads: per pair (C: semaphore.c)", c(4), shared, "ns")


def part(args, d, cmp, cdat):
    sweep(args, d, cmp, cdat)
    primitives(args, cmp)
