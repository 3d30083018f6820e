"""07_coroutine/births.py: making a task on CPython, beside create_cost.c.

Each row makes one, runs it until it first stops, and gets rid of it, --reps times per
sample (fewer for the costly rows, as in create_cost.c), the median of --samples:
  generator       ticker(), next(), close()                      (C: generator.h)
  asyncio task    N asyncio.create_task() of a coroutine that returns at once, then
                  one asyncio.gather() of them all               (C: aio_spawn + AIO_GATHER)
  greenlet        greenlet(f).switch(): f runs to its end on the shared stack
                                                                 (C: a copied-stack coroutine)
  gevent          gevent.spawn(f) + join(): the hub runs it      (C: hub_spawn + hub_join)
  thread          threading.Thread(target=f).start() + join()
  process         os.fork() + os._exit(0) + os.waitpid()
The rows take turns sample by sample, except gevent's, which runs in a fresh interpreter
of its own (importing gevent in the measuring process would add its fork hooks to the
process row). create_cost's rows for coroutines on stacks of their own have no
counterpart in CPython: NaN.
"""
import asyncio
import multiprocessing
import os
import threading
import time

import bars
import wb
from optional import HAVE_GEVENT, NOT_INSTALLED, greenlet
from switches import ticker


def noop():
    return None


async def _noop():
    return None


def make_generator(n, state):
    for _ in range(n):
        g = ticker()
        next(g)
        g.close()


def make_tasks(n, state):
    async def spawner():
        await asyncio.gather(*[asyncio.create_task(_noop()) for _ in range(n)])
    state["loop"].run_until_complete(spawner())


def make_greenlet(n, state):
    for _ in range(n):
        greenlet.greenlet(noop).switch()


def make_thread(n, state):
    for _ in range(n):
        t = threading.Thread(target=noop)
        t.start()
        t.join()


def make_process(n, state):
    for _ in range(n):
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        if os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) != 0:
            raise RuntimeError("a forked child failed")


def gevent_child(conn, n, samples):
    """In a fresh interpreter: gevent.spawn + join, n per sample; sends ns per task."""
    wb.child_init()
    import gevent
    for _ in range(max(1, n // 10)):  # warm-up: the hub starts
        gevent.spawn(noop).join()
    out = []
    for _ in range(samples):
        t = time.perf_counter_ns()
        for _ in range(n):
            gevent.spawn(noop).join()
        out.append((time.perf_counter_ns() - t) / n)
    conn.send(out)


def gevent_samples(n, samples):
    ctx = multiprocessing.get_context("spawn")
    a, b = ctx.Pipe(duplex=False)
    p = ctx.Process(target=gevent_child, args=(b, n, samples))
    try:
        p.start()
        b.close()
        if not a.poll(120):
            raise RuntimeError("the gevent child did not answer in 120 s")
        return a.recv()
    finally:
        wb.end_all([p], grace=10)
        a.close()


# (create_cost.c's row, label, colour group, divisor of --reps, what makes one)
ROWS = [(0, "generator", 5, 1, make_generator),
        (1, "asyncio\\ntask", 5, 1, make_tasks),
        (2, "-", 1, 1, None),
        (3, "-", 6, 1, None),
        (4, "greenlet", 3, 1, make_greenlet if greenlet else None),
        (5, "gevent\\nspawn+join", 6, 1, None),  # (in a fresh interpreter: gevent_samples)
        (6, "thread", 2, 50, make_thread),
        (7, "process\\n(os.fork)", 4, 500, make_process)]


def part(args, d, cmp, cdat):
    state = {"loop": asyncio.new_event_loop()}
    ns = {r[0]: [] for r in ROWS if r[4]}
    try:
        for idx, _, _, div, f in ROWS:  # warm-up
            if f:
                f(2, state)
        for _ in range(args.samples):
            for idx, _, _, div, f in ROWS:
                if f:
                    n = max(1, args.reps // div)
                    t = time.perf_counter_ns()
                    f(n, state)
                    ns[idx].append((time.perf_counter_ns() - t) / n)
    finally:
        state["loop"].close()
    if HAVE_GEVENT:
        ns[5] = gevent_samples(args.reps, args.samples)
    med = bars.write(d, "making one, by kind", ["row (index)", "median (ns): make, run once, dispose of", "p10 (ns)",
                                                "p90 (ns)", "label (text)", "group (1-7): the figure's colour"],
                     [r[:3] for r in ROWS], ns,
                     f"make one, run it to its first stop, get rid of it, median of {args.samples}")

    def c(idx):
        return cdat.at(0, "median", "row", idx) if cdat else None

    cmp.row("make a generator, run it to its first yield, close it (C: generator.h)", c(0), med[0], "ns")
    cmp.row("asyncio.create_task() of a coroutine that returns at once, gathered (C: an aio task)", c(1), med[1],
            "ns")
    cmp.row("make a greenlet, run it to its end (C: a coroutine on a copied stack)", c(4),
            med.get(4, NOT_INSTALLED["greenlet"]), "ns")
    cmp.row("gevent.spawn() + join() of a function that returns at once (C: hub_spawn + hub_join)", c(5),
            med.get(5, NOT_INSTALLED["gevent"]), "ns")
    cmp.row("threading.Thread: start and join", c(6), med[6], "ns")
    cmp.row("os.fork() + os._exit() + os.waitpid()", c(7), med[7], "ns")
    return med
