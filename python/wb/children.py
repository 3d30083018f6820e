"""wb/children.py: children and signals, so that no script can hang or leave anything
behind.

  main(run)      runs a script: SIGTERM and SIGHUP end it as Ctrl-C does (every
                 `finally:` runs), multiprocessing's helpers are stopped at the end, an
                 interrupt is reported in one line with exit status 130
  child_init()   first thing in a child process: it dies with its parent, signals at
                 their defaults (worker_init() for a Pool's or an executor's workers)
  bounded()      runs a function that may hang in a child, killed at a time limit
  end_all()      kills and reaps the children a function started, in its `finally:`
  fork_map()     func(*args) in one fork child per args, all at once: their results back
  held_interrupts()   Ctrl-C held back while a Pool or a Manager is being made
(Threads and CPUs are threads.py's.)
"""
import contextlib
import ctypes
import multiprocessing
import os
import select
import signal
import sys
import threading
import time

_libc = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1
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
    # the parent died before prctl: we were handed to init (or to a subreaper, such as
    # a systemd user session), and nobody will end us
    parent = multiprocessing.parent_process()
    if os.getppid() == 1 or (parent is not None and parent.pid is not None and os.getppid() != parent.pid):
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
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGALRM):
        signal.signal(s, signal.SIG_DFL)


def _terminate(signum, frame):
    if os.getpid() == _main_pid:
        raise KeyboardInterrupt(f"signal {signum}")
    os._exit(128 + signum)


def _unraisable(what):
    """sys.unraisablehook. An exception raised where Python can only print it is lost:
    a Ctrl-C that lands in an at-fork handler (logging's, when multiprocessing forks) is
    printed as "Exception ignored in ..." and the script runs on. So the main process
    delivers a lost KeyboardInterrupt again 10 ms later, through SIGALRM."""
    if issubclass(what.exc_type, KeyboardInterrupt) and os.getpid() == _main_pid:
        signal.setitimer(signal.ITIMER_REAL, 0.01)
        return
    sys.__unraisablehook__(what)


def on_termination():
    """SIGTERM and SIGHUP end the main process the way Ctrl-C does (KeyboardInterrupt),
    so every `finally:` runs: children are ended and joined, sockets closed. And an
    interrupt that Python would lose is delivered again (_unraisable)."""
    for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGALRM):
        signal.signal(s, _terminate)
    sys.unraisablehook = _unraisable


def fork_context():
    return multiprocessing.get_context("fork")


def end_all(processes, grace=0.0):
    """The `finally:` of whoever started processes: waits up to `grace` seconds in all
    for them to end, kills those still running, and reaps every one that was started
    (an interrupt may have come before all were)."""
    started = [p for p in processes if p.pid is not None]
    deadline = time.monotonic() + grace
    for p in started:
        p.join(max(0.0, deadline - time.monotonic()))
    for p in started:
        if p.is_alive():
            p.kill()
        p.join()


def _fork_map_child(func, args, fd):
    child_init()
    os.write(fd, f"{func(*args)}\n".encode())


def fork_map(func, arglists, timeout=600.0):
    """Runs func(*args) in one fork child for each args of arglists, all at once (each
    child calls child_init() first; func returns an int, which comes back through a
    pipe). Returns (seconds from the first start until every result is back, the
    results in the order they came). A child that ends without its result, or one still
    running at `timeout`, is an error; every child is reaped."""
    ctx = fork_context()
    r, w = os.pipe()
    ps = []
    try:
        t = time.monotonic()
        for args in arglists:
            ps.append(ctx.Process(target=_fork_map_child, args=(func, args, w)))
            ps[-1].start()
        os.close(w)
        w = -1
        text = b""
        while text.count(b"\n") < len(ps):
            left = t + timeout - time.monotonic()
            if left <= 0 or not select.select([r], [], [], left)[0]:
                raise RuntimeError(f"fork_map: no result from every child within {timeout:g} s")
            chunk = os.read(r, 4096)
            if not chunk:
                raise RuntimeError("fork_map: a child ended without its result")
            text += chunk
        secs = time.monotonic() - t
        end_all(ps, 60)
        return secs, [int(x) for x in text.split()]
    finally:
        end_all(ps)
        os.close(r)
        if w >= 0:
            os.close(w)


def read_exact(fd, n):
    """n bytes from descriptor fd; an error if it reaches end of file first (the writer
    ended without sending them)."""
    data = b""
    while len(data) < n:
        chunk = os.read(fd, n - len(data))
        if not chunk:
            raise RuntimeError(f"end of file after {len(data)} of {n} bytes: the writer ended")
        data += chunk
    return data


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


@contextlib.contextmanager
def held_interrupts():
    """Holds Ctrl-C, SIGTERM and SIGHUP back while the block runs, and delivers them at
    its end (KeyboardInterrupt). For constructors that leave helpers running when they
    are interrupted half-way: Pool() (its worker handler thread goes on replacing the
    workers that the exit handler terminates, and the exit handler waits for them for
    ever), a Manager's start() (its server process, before the shutdown is registered)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    got = []

    def hold(signum, frame):
        if os.getpid() != _main_pid:  # a child forked inside the block: it just ends
            os._exit(128 + signum)
        got.append(signum)

    old = {s: signal.signal(s, hold) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGALRM)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        if got:
            raise KeyboardInterrupt(f"signal {got[0]}")


def _end_children(seconds=5.0):
    """Children still running when the script ends (a bug, or a clean-up an interrupt
    cut short) would keep multiprocessing's exit handler waiting for ever: they get
    SIGTERM, a bounded wait, then SIGKILL, and a line on stderr."""
    late = multiprocessing.active_children()
    if not late:
        return
    sys.stderr.write(f"{os.path.basename(sys.argv[0])}: {len(late)} children still running at the end; "
                     "ending them\n")
    for p in late:
        p.terminate()
    deadline = time.monotonic() + seconds
    for p in late:
        p.join(max(0.0, deadline - time.monotonic()))
        if p.is_alive():
            p.kill()
            p.join()


def stop_helpers():
    """Ends multiprocessing's helper processes now, rather than when this process exits,
    so that nothing is left when the script ends: the forkserver first (its socket lives
    in multiprocessing's temporary directory), then the pools and managers (their
    finalizers), any child still running (_end_children), multiprocessing's own exit
    handler (it removes named semaphores and that directory), and the resource tracker,
    which then has nothing left to clean up."""
    from multiprocessing import forkserver, resource_tracker, util
    server = getattr(forkserver, "_forkserver", None)
    if server is not None and getattr(server, "_stop", None):
        server._stop()
    util._run_finalizers(0)
    _end_children()
    util._exit_function()
    tracker = getattr(resource_tracker, "_resource_tracker", None)
    if tracker is not None and getattr(tracker, "_stop", None):
        tracker._stop()


def main(run):
    """Runs run() with the workbook's process hygiene: SIGTERM and SIGHUP as Ctrl-C, the
    helpers stopped at the end (a Ctrl-C during that clean-up is held back until it is
    done: it is bounded), and an interrupt reported in one line (exit 130)."""
    on_termination()
    interrupted = False
    try:
        run()
    except KeyboardInterrupt:
        interrupted = True
    finally:
        try:
            with held_interrupts():
                stop_helpers()
        except KeyboardInterrupt:
            interrupted = True
    if interrupted:
        sys.stderr.write(f"{os.path.basename(sys.argv[0])}: interrupted; every child ended\n")
        sys.exit(130)
