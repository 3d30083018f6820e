"""13_cluster/pool.py: the same job on multiprocessing.Pool, beside mpi_bench's fork pool
(chapters/13-cluster/pool_job.c): the map, one task's round trip, and a pool's start.

  pool_map    Pool(P) (fork), then pool.map over the job's --tasks tasks, chunksize=1:
              the map's wall time; and the start, from Pool() to the first result
  pool_trips  one apply_async(echo, (x,)).get() round trip, the parent on the first CPU
              and the one worker on the second (two cores) or on the first too (one core)
"""
import functools
import os
import time

import wb
from job import task_sum


def nothing():
    return None


def echo(x):
    return x


def pinned_worker(cpu):
    wb.worker_init()
    os.sched_setaffinity(0, {cpu})


def make_pool(workers, cpu=None):
    with wb.held_interrupts():  # a Pool interrupted half-made would keep its workers
        if cpu is None:
            return wb.fork_context().Pool(workers, initializer=wb.worker_init)
        return wb.fork_context().Pool(workers, initializer=pinned_worker, initargs=(cpu,))


def end_pool(pool):
    pool.terminate()
    pool.join()


def pool_map(workers, n, tasks):
    """(seconds for the map, the total, ms from Pool() to the first result)."""
    t = time.perf_counter()
    pool = make_pool(workers)
    try:
        pool.apply_async(nothing).get(60)
        start_ms = (time.perf_counter() - t) * 1e3
        t = time.perf_counter()
        total = sum(pool.map(functools.partial(task_sum, n, tasks), range(tasks), chunksize=1)) & ((1 << 64) - 1)
        return time.perf_counter() - t, total, start_ms
    finally:
        end_pool(pool)


def pool_trips(count, one_core):
    """[median, p10, p90] of `count` round trips, in µs; None with one CPU and two wanted."""
    cpus = sorted(os.sched_getaffinity(0))
    if not one_core and len(cpus) < 2:
        return None
    pool = make_pool(1, cpus[0] if one_core else cpus[1])
    saved = os.sched_getaffinity(0)
    try:
        wb.pin(cpus[0])
        for i in range(10):  # warm-up
            pool.apply_async(echo, (i,)).get(10)
        out = []
        for i in range(count):
            t = time.perf_counter_ns()
            if pool.apply_async(echo, (i,)).get(10) != i:
                raise RuntimeError("the worker sent back another number")
            out.append((time.perf_counter_ns() - t) / 1e3)
        s = wb.summary(out)
        return [s.median, s.p10, s.p90]
    finally:
        os.sched_setaffinity(0, saved)
        end_pool(pool)

