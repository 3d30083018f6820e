"""11_futures.py: concurrent.futures and the lessons' rule on CPython, beside chapter 11.

Measures what chapter 11's executor_demo, wait_demo, solutions/cancel_count,
broken_pool, choose and hybrid show in C, one part each (in python/11_futures/:
futures.py, broken.py, matrix.py, hybrid.py; the workloads and runners in load.py):
  1. concurrent.futures itself, on ThreadPoolExecutor(3) and ProcessPoolExecutor(3)
     (fork): a future's state after submit, result(timeout), as_completed with and
     without a timeout, map with a timeout, cancel() of pending and running futures, an
     exception re-raised, wait() three ways, done-callbacks and the thread they run in,
     a Future set by hand, a cancelled future wait() does not count; the executors'
     defaults. Then cancel_count's question: how many of 10 futures are RUNNING (out of
     cancel()'s reach) in a busy ProcessPoolExecutor(2), its call queue.
  2. A worker killed (SIGKILL) under ProcessPoolExecutor(2): which of 8 futures fail
     with BrokenProcessPool, how soon, and what a later submit gets.
  3. The lessons' rule as a matrix: choose's workloads (CPU-bound, I/O-bound against a
     loopback server with a delay, mixed, many idle connections) on one thread,
     ThreadPoolExecutor, ProcessPoolExecutor, asyncio, a process per core each running
     an asyncio loop, and gevent; wall time, cores busy, tasks in progress, memory.
  4. hybrid's sweep: the two hybrids against each part alone as the CPU work grows.
The C demos of part 1 and 2 run beside, with the same unit of work, for the C column.

The lessons' idiom:   with ProcessPoolExecutor() as ex: fs = [ex.submit(f, x) for x in xs]

Run:   python3 python/11_futures.py [--quick] [--data DIR]
Writes DIR/choose_py.dat and DIR/hybrid_py.dat (choose's and hybrid's columns) and
DIR/compare_11.json. Look for: the winner of each workload on CPython beside C's (the
Markdown table after part 3), 5 futures RUNNING in a busy ProcessPoolExecutor(2), and
6 of 8 results lost when one worker dies.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "11_futures"))

import broken  # noqa: E402 (the parts, found through the path above)
import cside  # noqa: E402
import futures  # noqa: E402
import hybrid  # noqa: E402
import load  # noqa: E402
import matrix  # noqa: E402
import wb  # noqa: E402

MS, US, S = wb.NS_PER_MS, wb.NS_PER_US, wb.NS_PER_S


def run():
    args = wb.parse(__doc__.split("\n")[0], [
        wb.Opt("unit", "duration", 50 * MS, "parts 1-2: one unit of a task's work (a sleep)", 5 * MS, 2 * S,
               quick=10 * MS),
        wb.Opt("work", "duration", 80 * MS, "part 1: each task of cancel_count's experiment (a sleep)", 10 * MS,
               10 * S, quick=20 * MS),
        wb.Opt("trials", "int", 3, "part 1: runs of cancel_count's experiment on processes", 1, 100, quick=1),
        wb.Opt("cpu", "duration", 10 * MS, "part 3: CPU work of a cpu task", 100 * US, S, quick=2 * MS),
        wb.Opt("cpu-tasks", "int", 8, "part 3: cpu tasks per core", 1, 1000, quick=2),
        wb.Opt("tasks", "int", 32, "part 3: io and mixed tasks per core", 1, 1000, quick=4),
        wb.Opt("delay", "duration", 10 * MS, "part 3: the server's delay for io and mixed", 0, S, quick=2 * MS),
        wb.Opt("parse", "duration", 2 * MS, "part 3: CPU work of a mixed task", 0, S, quick=500 * US),
        wb.Opt("conns", "int", 500, "part 3: idle connections per core", 1, 5000, quick=16),
        wb.Opt("idle", "duration", 200 * MS, "part 3: the server's delay for an idle connection", 0, 10 * S,
               quick=20 * MS),
        wb.Opt("cap", "duration", 1500 * MS, "part 3: start no task after this long", 10 * MS, 60 * S,
               quick=100 * MS),
        wb.Opt("repeat", "int", 3, "parts 3-4: runs per cell (median)", 1, 15, quick=1),
        wb.Opt("hybrid-tasks", "int", 12, "part 4: tasks per core", 1, 1000, quick=4),
        wb.Opt("hybrid-delay", "duration", 10 * MS, "part 4: the server's delay for each request", 0, S,
               quick=2 * MS),
        wb.Opt("cpu-max", "duration", 4 * MS, "part 4: the largest CPU work per task", 0, S, quick=1 * MS),
    ])
    cmp = wb.Compare(args.data, "11", "Futures, and the lessons' rule")
    cdat = {e: wb.read_data(args.data, e) for e in ("choose", "hybrid")}
    for v in cdat.values():
        cmp.c_data(v)
    tick = load.tick_ns((5 if args.quick else 30) * MS)  # first: before anything else runs
    unit, c = wb.format_duration(args.unit), cside.CRuns()
    try:
        for kind in ("thread", "process"):
            c.start(f"demo-{kind}", "executor_demo", "--executor", kind, "--unit", unit)
            c.start(f"wait-{kind}", "wait_demo", "--executor", kind, "--unit", unit)
        c.start("cancel_count", "solutions/cancel_count", "--work", wb.format_duration(args.work))
        c.start("broken", "broken_pool", "--unit", wb.format_duration(max(args.unit, 20 * MS)))  # (its least)
        if c.procs:
            cmp.source("executor_demo, wait_demo, broken_pool, solutions/cancel_count",
                       f"run {wb.now_utc()} beside the script with its units of work")
        print(f"Part 1: concurrent.futures ({wb.interpreter_short()})")
        futures.part(args, cmp, c)
        futures.part_call_queue(args, cmp, c)
        print("Part 2: a worker killed under ProcessPoolExecutor(2)")
        broken.part(args, cmp, c)
    finally:
        c.close()
    with load.Server() as addr:
        print("Part 3: the lessons' rule, as a matrix of workloads and runners")
        with wb.DataFile(args.data, "choose", "choose (CPython): the lessons' rule as a matrix of workloads and "
                                              "runners") as d:
            matrix.part(args, d, cmp, cdat["choose"], addr, tick)
        print("Part 4: processes plus coroutines, processes plus threads, and each alone")
        with wb.DataFile(args.data, "hybrid", "hybrid (CPython): processes plus coroutines or threads, against "
                                              "each alone") as d:
            hybrid.part(args, d, cmp, cdat["hybrid"], addr, tick)
    cmp.write()


if __name__ == "__main__":
    wb.main(run)
