"""07_coroutine/sleepers.py: N tasks that each sleep, on CPython, beside many_sleepers.c.

The lesson's asyncio example and beyond: N tasks started together, each sleeping
--sleep, then joined; each N in a fresh interpreter (spawn), so that its peak memory is
its own. Wall time, the time beyond the sleep per task (what starting and ending one
costs), memory per task. The kinds, in the blocks of many_sleepers' kinds they mirror:
  copied     gevent.spawn(gevent.sleep, s), gevent.joinall: greenlets on the hub,
             greenlet copying their stacks (C: hub tasks on copied stacks)
  stackless  asyncio.create_task(asyncio.sleep(s)) for each, one asyncio.gather
             (C: aio tasks; asyncio's tasks are generators on an event loop)
  thread     threading.Thread(target=time.sleep, args=(s,)) each
  process    multiprocessing.Process (fork) each; its private memory (USS), weighed
             once every child has said it is asleep
The stackful kinds (stacks of their own, fresh or from a cache) have no counterpart in
CPython: their blocks are empty. And the lesson's own numbers: 1000 asyncio tasks that
each sleep --lesson-sleep, beside many_sleepers --kind stackless with the same.
"""
import asyncio
import multiprocessing
import os
import re
import resource
import select
import threading
import time

import wb
from optional import HAVE_GEVENT, NOT_INSTALLED

SWEEP = (100, 300, 1000, 3000, 10000, 30000, 100000, 300000, 1000000)  # many_sleepers.c's
# many_sleepers.c's kinds, in its block order; None: no CPython counterpart
KINDS = (("stackful", None), ("warm", None), ("copied", "gevent"), ("stackless", "asyncio"), ("thread", "thread"),
         ("process", "process"))


def rss_kib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024



def process_sleeper(fd, seconds):
    wb.child_init()
    os.write(fd, b"z")  # asleep (nearly): weigh me
    time.sleep(seconds)


def run_processes(n, seconds):
    """n forked sleepers; the private memory of the last few, weighed once all are up."""
    ctx = wb.fork_context()
    r, w = os.pipe()
    ps = []
    try:
        for _ in range(n):
            ps.append(ctx.Process(target=process_sleeper, args=(w, seconds)))
            ps[-1].start()
        got = 0
        while got < n:
            if not select.select([r], [], [], 60)[0]:
                raise RuntimeError(f"only {got} of {n} sleepers said they were asleep within 60 s")
            b = os.read(r, 256)
            if not b:
                raise RuntimeError("a sleeper ended before saying it was asleep")
            got += len(b)
        few = [k for k in (wb.private_kib(p.pid) for p in reversed(ps)) if k][:8]  # the last ones: surely asleep
        for p in ps:
            p.join(seconds + 120)
        return sum(few) / len(few) if few else float("nan")
    finally:
        wb.end_all(ps)
        os.close(r)
        os.close(w)


def sleepers_child(conn, kind, n, seconds):
    """In a fresh interpreter: n tasks of `kind` that each sleep `seconds`, together."""
    wb.child_init()
    base = rss_kib()
    uss = None
    t0 = time.perf_counter()
    if kind == "asyncio":
        async def main():
            await asyncio.gather(*[asyncio.create_task(asyncio.sleep(seconds)) for _ in range(n)])
        asyncio.run(main())
    elif kind == "gevent":
        import gevent
        done = gevent.joinall([gevent.spawn(gevent.sleep, seconds) for _ in range(n)], timeout=seconds + 120)
        if len(done) != n:
            raise RuntimeError("not every greenlet finished")
    elif kind == "thread":
        ts = [threading.Thread(target=time.sleep, args=(seconds,), daemon=True) for _ in range(n)]
        for t in ts:
            t.start()
        wb.join_all(ts, seconds + 120)
    else:
        uss = run_processes(n, seconds)
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    conn.send((wall, uss if uss is not None else max(0.0, (peak - base) / n)))


def sleepers(kind, n, seconds):
    """(wall s, KiB per task) of n `kind` sleepers, in a fresh interpreter."""
    ctx = multiprocessing.get_context("spawn")
    a, b = ctx.Pipe(duplex=False)
    p = ctx.Process(target=sleepers_child, args=(b, kind, n, seconds))
    try:
        p.start()
        b.close()
        if not a.poll(seconds + 180):
            raise RuntimeError(f"{n} {kind} sleepers: no answer")
        return a.recv()
    finally:
        wb.end_all([p], grace=30)
        a.close()


def sweep(args, d):
    """Runs the sweep into d; returns {(kind, n): (wall s, µs per task beyond the sleep, KiB)}."""
    seconds = args.sleep / 1e9
    caps = {"asyncio": args.max_tasks, "thread": args.max_threads, "process": args.max_procs,
            "gevent": args.max_greenlets if HAVE_GEVENT else 0}
    d.note("sleep_s", f"{seconds:.3f}")
    cols = ["tasks (count)", "wall (s): first start to last join", "extra (ms): wall time beyond one sleep",
            "per_task (us): extra / tasks", "mem (KiB): resident memory per task (processes: USS)",
            "guard (0/1): the stacks had guard pages (threads: glibc's; processes: the kernel's)"]
    res = {}
    print(f"  N tasks each sleeping {seconds:g} s, every N in a fresh interpreter:")
    print(f"  {'kind':10} {'tasks':>8} {'wall s':>9} {'extra ms':>9} {'µs/task':>9} {'KiB/task':>9}")
    for c_kind, kind in KINDS:
        d.block(c_kind + (f" (CPython: {kind})" if kind else " (no counterpart in CPython)"), cols)
        for n in SWEEP if kind else ():
            if n > caps[kind]:
                break
            wall, mem = sleepers(kind, n, seconds)
            extra = (wall - seconds) * 1e3
            res[(kind, n)] = (wall, extra / n * 1e3, mem)
            d.row(n, wall, extra, extra / n * 1e3, mem, 1 if kind in ("thread", "process") else None)
            print(f"  {kind:10} {n:8d} {wall:9.3f} {extra:9.1f} {extra / n * 1e3:9.2f} {mem:9.2f}")
    return res


def part(args, d, cmp, cdat):
    res = sweep(args, d)
    seconds = args.sleep / 1e9

    def c(block, col, n):
        return cdat.at(block, col, "tasks", n) if cdat else None

    def top(kind):
        return max((n for (k, n) in res if k == kind), default=None)

    n = top("asyncio")
    cmp.row(f"{n:,} asyncio tasks sleeping {seconds:g} s together: wall time (C: stackless aio tasks)",
            c(3, "wall", n), res[("asyncio", n)][0], "s")
    cmp.row(f"{n:,} asyncio tasks: time beyond the sleep, per task (C: aio tasks)", c(3, "per_task", n),
            res[("asyncio", n)][1], "µs")
    cmp.row(f"{n:,} asyncio tasks: memory per task (C: aio tasks)", c(3, "mem", n), res[("asyncio", n)][2], "KiB")
    n = top("gevent")
    if n:
        cmp.row(f"{n:,} gevent greenlets: time beyond the sleep, per task (C: hub tasks on copied stacks)",
                c(2, "per_task", n), res[("gevent", n)][1], "µs")
        cmp.row(f"{n:,} gevent greenlets: memory per task (C: hub tasks on copied stacks)", c(2, "mem", n),
                res[("gevent", n)][2], "KiB")
    else:
        cmp.row("gevent greenlets sleeping together", None, NOT_INSTALLED["gevent"], ratio=False)
    n = top("thread")
    cmp.row(f"{n:,} threads: time beyond the sleep, per thread", c(4, "per_task", n), res[("thread", n)][1], "µs")
    cmp.row(f"{n:,} threads: memory per thread", c(4, "mem", n), res[("thread", n)][2], "KiB")
    n = top("process")
    cmp.row(f"{n:,} processes: time beyond the sleep, per process", c(5, "per_task", n), res[("process", n)][1],
            "µs")
    cmp.row(f"{n:,} processes: private memory per process", c(5, "mem", n), res[("process", n)][2], "KiB")


def lesson(args, cmp):
    """The lesson's example: 1000 tasks that each sleep --lesson-sleep, gathered."""
    seconds = args.lesson_sleep / 1e9
    wall, _ = sleepers("asyncio", 1000, seconds)
    c = None
    cargs = ["--tasks", "1000", "--sleep", wb.format_duration(args.lesson_sleep), "--kind", "stackless"]
    out = wb.run_c("07-coroutine/many_sleepers", cargs, timeout=120)
    if out:
        cmp.source("many_sleepers", f"chapters/07-coroutine/many_sleepers {' '.join(cargs)}, run {wb.now_utc()}")
        m = re.search(r"^\s*stackless\s+1000\s+([0-9.]+)", out, re.M)
        c = float(m.group(1)) if m else None
    print(f"  the lesson's 1000 asyncio tasks that each sleep {seconds:g} s: {wall:.3f} s")
    cmp.row(f"the lesson: 1000 asyncio tasks that each sleep {seconds:g} s, gathered: wall time (C: aio tasks)", c,
            wall, "s")
