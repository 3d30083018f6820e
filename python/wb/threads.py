"""wb/threads.py: threads and CPUs, for the measurements.

  pin(), unpin()   the calling thread to one CPU, and back to all; two_cpus()
  threads_start_together(), join_all()   threads behind a barrier; a bounded join
  spin_until()     a busy wait on the clock
  tight_timer_slack()   short sleeps that end within a microsecond of their time
"""
import ctypes
import os
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
