"""wb/children.py: children, threads and signals, so that no script can hang or leave
anything behind.

  main(run)      runs a script: SIGTERM and SIGHUP end it as Ctrl-C does (every
                 `finally:` runs), multiprocessing's helpers are stopped at the end, an
                 interrupt is reported in one line with exit status 130
  child_init()   first thing in a child process: it dies with its parent, signals at
                 their defaults (worker_init() for a Pool's or an executor's workers)
  bounded()      runs a function that may hang in a child, killed at a time limit
  pin(), unpin() one thread to one CPU, and back; two_cpus()
  threads_start_together(), join_all()   threads behind a barrier; a bounded join
"""
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time

from .machine import cores


_libc = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG, _PR_SET_TIMERSLACK = 1, 29
_main_pid = os.getpid()


def child_init():
    """Call first in a child process started from the main thread (a Process's target):
    the kernel kills it when its parent dies (prctl PR_SET_PDEATHSIG, as common/'s
    fork_child does), and SIGINT and SIGTERM are back to their defaults (the main
    process turns them into KeyboardInterrupt; a child must simply die).
    Not for a Pool's workers: see worker_init."""
    if _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG)")
    _default_signals()
    if os.getppid() == 1:  # the parent died before prctl: nobody will reap us
        os._exit(1)


def worker_init():
    """A Pool's or an executor's initializer. The death signal of child_init is sent when
    the *thread* that forked the child ends, and Pool forks replacement workers from a
    helper thread that ends in terminate(): the worker would be killed there, perhaps
    holding the pool's queue lock, and terminate() would wait for that lock for ever.
    So a worker watches its parent instead: a daemon thread that ends the worker when
    the parent is gone (checked every 0.2 s)."""
    _default_signals()
    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _default_signals():
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, signal.SIG_DFL)


def tight_timer_slack():
    """common/'s tight_timer_slack: short sleeps end within a microsecond of their time
    (used for the simulated network, never for the interpreter being measured)."""
    _libc.prctl(_PR_SET_TIMERSLACK, 1, 0, 0, 0)


def _terminate(signum, frame):
    if os.getpid() == _main_pid:
        raise KeyboardInterrupt(f"signal {signum}")
    os._exit(128 + signum)


def on_termination():
    """SIGTERM and SIGHUP end the main process the way Ctrl-C does (KeyboardInterrupt),
    so every `finally:` runs: children are ended and joined, sockets closed."""
    for s in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, _terminate)


def fork_context():
    return multiprocessing.get_context("fork")


def _bounded_child(conn, func, args):
    child_init()
    try:
        func(conn, *args)
    finally:
        conn.close()


def bounded(func, args=(), timeout=5.0, stop_when=None):
    """Runs func(conn, *args) in a forked child, for at most `timeout` seconds. func may
    send progress through conn (a Pipe end). Returns (hung, seconds, messages, exitcode):
    a child still running at the time limit, or when a message satisfies stop_when
    (a watchdog's report that it is stuck), is killed (SIGKILL) and reported as hung."""
    ctx = fork_context()
    parent_end, child_end = ctx.Pipe(duplex=False)
    p = ctx.Process(target=_bounded_child, args=(child_end, func, args))  # may have children
    start = time.monotonic()
    messages = []
    try:
        p.start()
        child_end.close()
        deadline = start + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not parent_end.poll(left):
                break
            try:
                messages.append(parent_end.recv())
            except EOFError:  # the child ended
                p.join(max(0.0, deadline - time.monotonic()))
                break
            if stop_when and stop_when(messages[-1]):
                break
        hung = p.is_alive()
        elapsed = time.monotonic() - start
        if hung:
            p.kill()
        p.join()
        return hung, elapsed, messages, p.exitcode
    finally:
        if p.is_alive():
            p.kill()
            p.join()
        parent_end.close()


def pin(cpu):
    """Pins the calling thread to one CPU (sched_setaffinity(0) is the calling thread
    on Linux)."""
    os.sched_setaffinity(0, {cpu})


def two_cpus():
    """The first two CPUs this process may run on, or None if it has only one."""
    cpus = sorted(os.sched_getaffinity(0))
    return cpus[:2] if len(cpus) >= 2 else None


def unpin():
    os.sched_setaffinity(0, range(cores()))


def stop_helpers():
    """Ends multiprocessing's helper processes now, rather than when this process exits,
    so that nothing is left when the script ends: the forkserver first (its socket lives
    in multiprocessing's temporary directory), then multiprocessing's own exit handler
    (it removes named semaphores and that directory, and joins children), then the
    resource tracker, which then has nothing left to clean up."""
    from multiprocessing import forkserver, resource_tracker, util
    for helper in (getattr(forkserver, "_forkserver", None), None, getattr(resource_tracker, "_resource_tracker", None)):
        if helper is None:
            util._exit_function()
        elif getattr(helper, "_stop", None):
            helper._stop()


def main(run):
    """Runs run() with the workbook's process hygiene: SIGTERM and SIGHUP as Ctrl-C, the
    helpers stopped at the end, and an interrupt reported in one line (exit 130)."""
    on_termination()
    try:
        run()
    except KeyboardInterrupt:
        sys.stderr.write(f"{os.path.basename(sys.argv[0])}: interrupted; every child ended\n")
        sys.exit(130)
    finally:
        stop_helpers()


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
