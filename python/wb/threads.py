"""wb/threads.py: threads and CPUs, for the measurements.

  pin(), unpin()   the calling thread to one CPU, and back to all; two_cpus()
  threads_start_together(), join_all()   threads behind a barrier; a bounded join
  spin_until()     a busy wait on the clock
  tight_timer_slack()   short sleeps that end within a microsecond of their time
  lock_pairs()     lock_compare's and mutex_cost's loop: acquire, add 1, release
"""
import ctypes
import os
import resource
import threading
import time

from .machine import cpu_mask

_libc = ctypes.CDLL(None, use_errno=True)
_PR_SET_TIMERSLACK = 29


def pin(cpu):
    """Pins the calling thread to one CPU (sched_setaffinity(0) is the calling thread
    on Linux)."""
    os.sched_setaffinity(0, {cpu})


def two_cpus():
    """The first two CPUs this process may run on, or None if it has only one."""
    cpus = sorted(os.sched_getaffinity(0))
    return cpus[:2] if len(cpus) >= 2 else None


def unpin():
    """Back to every CPU the process started with (not every online one: under taskset
    those are all it may use)."""
    os.sched_setaffinity(0, cpu_mask())


def tight_timer_slack():
    """common/'s tight_timer_slack: short sleeps end within a microsecond of their time
    (used for the simulated network, never for the interpreter being measured)."""
    _libc.prctl(_PR_SET_TIMERSLACK, 1, 0, 0, 0)


def spin_until(t):
    while time.perf_counter() < t:
        pass


def threads_start_together(targets):
    """Starts one thread per target behind a barrier, so they begin together; returns
    the threads (joined by the caller)."""
    barrier = threading.Barrier(len(targets))

    def go(f):
        barrier.wait(timeout=30)
        f()

    ts = [threading.Thread(target=go, args=(f,), daemon=True) for f in targets]
    for t in ts:
        t.start()
    return ts


def join_all(threads, timeout=120.0):
    """Joins threads within `timeout` seconds overall; a thread still running is an
    error (the measurement is broken), not a hang."""
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
        if t.is_alive():
            raise RuntimeError(f"thread {t.name} still running after {timeout:.0f} s")


def lock_pairs(lock, cpus, duration):
    """One thread per entry of cpus (a CPU to pin it to, or None) loops on lock.acquire(),
    counter += 1, lock.release() for `duration` seconds, the threads started together.
    Returns (ns per pair: the wall time over all the pairs, checked against the counter;
    each thread's pairs; each thread's sleeps, its voluntary context switches)."""
    threads = len(cpus)
    counter = [0]
    done = [0] * threads
    sleeps = [0] * threads

    def worker(t):
        def go():
            if cpus[t] is not None:
                pin(cpus[t])
            v0 = resource.getrusage(resource.RUSAGE_THREAD).ru_nvcsw
            n = 0
            stop = time.perf_counter() + duration  # the threads leave the start line together
            while n == 0 or time.perf_counter() < stop:
                for _ in range(100):
                    lock.acquire()
                    counter[0] += 1
                    lock.release()
                n += 100
            done[t] = n
            sleeps[t] = resource.getrusage(resource.RUSAGE_THREAD).ru_nvcsw - v0
        return go

    t0 = time.perf_counter()
    join_all(threads_start_together([worker(t) for t in range(threads)]), duration + 60)
    wall = time.perf_counter() - t0
    total = sum(done)
    if counter[0] != total:
        raise RuntimeError(f"the counter says {counter[0]}, the threads did {total} pairs")
    return wall / total * 1e9, done, sleeps
