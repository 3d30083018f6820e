"""11_futures/runners.py: CPython's runners (load.py names them), and a measured run of
one, beside runners.c and cell.c.

Each runner runs tasks 0 .. N-1 of a workload and returns their records (start, end,
value, reply right; None for a task skipped past the deadline) and when the last
result was in hand. cell_run() runs one workload on one runner in a fresh forked
process, as cell.c does, and measures it: wall time from the start (workers started
included) to the last result in hand; CPU time of all its processes from that start
until they have ended (RUSAGE_SELF, and RUSAGE_CHILDREN once they are reaped: the
interpreter's own start and exit, and gevent's import, are not counted, as C has none
of them); the most tasks in progress at once (from every task's start and end on
CLOCK_MONOTONIC, which all processes share); and, on request, the peak private memory
of the run's processes, sampled every 5 ms.
"""
import asyncio
import collections
import concurrent.futures
import glob
import importlib
import os
import resource
import time

import wb
from load import (COROS, GEVENT, GIL, HYBRID, IO_TIMEOUT, ONE, POOL_THREADS, PROCS, RUNNER_NAMES, THREADS, atask,
                  begin, end, request, server_cpu_s, task)

SAMPLE_S = 0.005


# ---- the runners: each returns (records, when the last result was in hand) ---------------

def limit(ld):
    """How long a runner may wait for all its tasks: past the deadline, every task is
    skipped; before it, each takes its delay and its work."""
    return max(0.0, ld.deadline - time.monotonic()) + ld.delay / 1e9 + IO_TIMEOUT + 60


def run_one(ld):
    out = [task(ld, i) for i in range(ld.tasks)]
    return out, time.monotonic()


def run_threads(ld):
    with concurrent.futures.ThreadPoolExecutor(max_workers=ld.tasks) as ex:
        fs = [ex.submit(task, ld, i) for i in range(ld.tasks)]
        out = [f.result(limit(ld)) for f in fs]
        return out, time.monotonic()


def process_executor(n):
    return concurrent.futures.ProcessPoolExecutor(n, mp_context=wb.fork_context(), initializer=wb.worker_init)


def run_procs(ld):
    with process_executor(ld.cores) as ex:
        fs = [ex.submit(task, ld, i) for i in range(ld.tasks)]
        out = [f.result(limit(ld)) for f in fs]
        return out, time.monotonic()


async def agather(ld, ids):
    out = await asyncio.wait_for(asyncio.gather(*[atask(ld, i) for i in ids]), limit(ld))
    return out, time.monotonic()


def run_asyncio(ld, ids=None):
    return asyncio.run(agather(ld, range(ld.tasks) if ids is None else ids))


def hybrid_share(conn, ld, k):
    """One process of HYBRID: tasks k, k + cores, ... on its own asyncio loop."""
    wb.child_init()
    conn.send(run_asyncio(ld, range(k, ld.tasks, ld.cores))[0])
    conn.close()


def run_hybrid(ld):
    ctx = wb.fork_context()
    pipes, ps = [], []
    try:
        for k in range(ld.cores):
            a, b = ctx.Pipe(duplex=False)
            pipes.append(a)
            ps.append(ctx.Process(target=hybrid_share, args=(b, ld, k)))
            ps[-1].start()
            b.close()
        out = []
        for k, a in enumerate(pipes):
            if not a.poll(limit(ld)):
                raise RuntimeError(f"procs+asyncio: process {k} sent nothing")
            out += a.recv()
        return out, time.monotonic()
    finally:
        wb.end_all(ps, grace=10)
        for a in pipes:
            a.close()


def run_gevent(ld):
    import gevent  # (prepared: imported before the clock starts)
    import gevent.socket
    gs = [gevent.spawn(task, ld, i, gevent.socket) for i in range(ld.tasks)]
    gevent.joinall(gs, timeout=limit(ld))
    for g in gs:
        if not g.ready():
            raise RuntimeError("gevent: a greenlet did not finish in time")
        if not g.successful():
            raise g.exception
    return [g.value for g in gs], time.monotonic()


def fetch_share(ld, lo, hi):
    """In a worker of POOL_THREADS: tasks lo..hi-1 fetched on a ThreadPoolExecutor, each
    parsed here as its reply comes (as_completed)."""
    started = {}
    out = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(64, hi - lo))) as ex:
        for i in range(lo, hi):
            t0 = begin(ld)
            if t0 is not None:
                started[ex.submit(request, ld, i) if ld.io else ex.submit(int)] = (i, t0)
        for f in concurrent.futures.as_completed(started, timeout=limit(ld)):
            i, t0 = started[f]
            out.append(end(ld, i, t0, f.result()))
    return out


def run_pool_threads(ld):
    c = ld.cores
    with process_executor(c) as ex:
        fs = [ex.submit(fetch_share, ld, ld.tasks * k // c, ld.tasks * (k + 1) // c) for k in range(c)]
        out = [r for f in fs for r in f.result(limit(ld))]
        return out, time.monotonic()


RUNNERS = {ONE: run_one, THREADS: run_threads, GIL: run_threads, PROCS: run_procs, COROS: run_asyncio,
           HYBRID: run_hybrid, GEVENT: run_gevent, POOL_THREADS: run_pool_threads}


def prepare(runner):
    """What a runner needs loaded before its clock starts (and its memory is weighed)."""
    if runner == GEVENT:
        importlib.import_module("gevent.socket")


# ---- one measured run --------------------------------------------------------------------

def private_kib_tree(pid):
    """pid's private memory and its descendants' (children of any of its threads)."""
    kib = wb.private_kib(pid) or 0
    for path in glob.glob(f"/proc/{pid}/task/*/children"):
        try:
            with open(path) as f:
                kids = [int(c) for c in f.read().split()]
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue
        kib += sum(private_kib_tree(c) for c in kids)
    return kib


def peak_in_flight(records):
    events = sorted([(r[0], 1) for r in records] + [(r[1], -1) for r in records], key=lambda e: (e[0], e[1]))
    now = peak = 0
    for _, step in events:
        now += step
        peak = max(peak, now)
    return peak


def cpu_s():
    """CPU time of this process and of the children it has reaped, s."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def cell_child(conn, runner, ld, memory):
    wb.child_init()
    prepare(runner)
    base = wb.private_kib(os.getpid()) if memory else 0
    cpu0, t0 = cpu_s(), time.monotonic()
    records, last = RUNNERS[runner](ld)  # (its workers ended and reaped when it returns)
    cpu = cpu_s() - cpu0
    done = [r for r in records if r is not None]
    conn.send({"wall": last - t0, "cpu": cpu, "done": len(done), "wrong": sum(1 for r in done if not r[3]),
               "check": sum(r[2] for r in done), "peak": peak_in_flight(done), "base": base})
    conn.close()


Cell = collections.namedtuple("Cell", "wall cpu done wrong check peak mem_kib server_busy")


def cell_run(runner, ld, memory):
    """Runs ld on runner in a fresh forked process, measured (cell.c's cell_run).
    wall in ms, cpu in s; mem_kib: peak private memory above the start, or None."""
    ctx = wb.fork_context()
    a, b = ctx.Pipe(duplex=False)
    p = ctx.Process(target=cell_child, args=(b, runner, ld, memory), name=f"cell-{RUNNER_NAMES[runner]}")
    peak, server0 = 0, server_cpu_s()
    try:
        p.start()
        b.close()
        deadline = time.monotonic() + limit(ld) + 30
        while True:
            if memory:
                peak = max(peak, private_kib_tree(p.pid))
            if a.poll(SAMPLE_S if memory else 1.0):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{RUNNER_NAMES[runner]}: the run reported nothing in time")
        try:
            res = a.recv()
        except EOFError:
            p.join(10)
            raise RuntimeError(f"{RUNNER_NAMES[runner]}: the run failed (exit {p.exitcode})") from None
        p.join(30)
        if p.exitcode != 0:
            raise RuntimeError(f"{RUNNER_NAMES[runner]}: the run ended with {p.exitcode}")
    finally:
        wb.end_all([p])
        a.close()
    return Cell(res["wall"] * 1e3, res["cpu"], res["done"], res["wrong"], res["check"], res["peak"],
                max(0, peak - res["base"]) if memory else None, (server_cpu_s() - server0) / res["wall"])
