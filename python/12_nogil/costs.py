"""12_nogil/costs.py: what a thread, a subinterpreter and a process cost to start, and
to pass a message to (part 3), beside subinterpreters.c's parts 2 and 3.

1. Start one, run nothing in it, end it: threading.Thread start + join; a
   subinterpreter's create + destroy (where the interpreter has them); os.fork +
   os._exit + waitpid. The median of --starts.
2. --messages messages of 64 B to 64 KiB, from one thread to another through a
   queue.Queue (a reference to one bytes object: nothing is copied), and from one
   process to another through a multiprocessing Pipe (send_bytes: a copy through the
   kernel); µs per message, the time from the first send until the receiver has them
   all. Between subinterpreters: not measured (NaN).
3. A collection, seen from another thread: gc.collect() over --garbage objects in
   reference cycles, while a second thread notes how long it went without running. With
   the GIL the collector holds it throughout: the other thread stands still for about
   as long as a collection takes alone (stop_the_world.c's model must stop the threads
   itself).
"""
import gc
import os
import queue
import threading
import time

import wb
from interp import Interpreters

SIZES = (64, 1024, 4096, 16384, 65536)


def nothing():
    pass


def starts(args, d, cmp, cdat):
    api = Interpreters()

    def thread():
        t = threading.Thread(target=nothing)
        t.start()
        t.join()

    def interp():
        api.destroy(api.create())

    def process():
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        if os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) != 0:
            raise RuntimeError("the forked child failed")

    kinds = [("a thread", thread), ("an interpreter", interp if api.name else None), ("a process", process)]
    d.block("part 2: start and end one", ["kind (index): 0 thread, 1 subinterpreter (NaN: none here), 2 process "
                                          "(os.fork)", "median (us)", "p10 (us)", "p90 (us)"])
    med = {}
    print(f"  start one, run nothing, end it; median of {args.starts}:")
    for k, (name, f) in enumerate(kinds):
        if f is None:
            d.row(k, None, None, None)
            print(f"  {name:16} not in this interpreter")
            continue
        f()  # warm-up
        times = []
        for _ in range(args.starts):
            t = time.perf_counter()
            f()
            times.append((time.perf_counter() - t) * 1e6)
        s = wb.summary(times)
        med[k] = s.median
        d.row(k, s.median, s.p10, s.p90)
        print(f"  {name:16} {s.median:10.1f} µs  (p10 {s.p10:.1f}, p90 {s.p90:.1f})")

    def c(k):
        return cdat.at(1, "median", "kind", k) if cdat else None

    cmp.row("start + end a thread", c(0), med[0], "µs")
    cmp.row("start + end an interpreter (C: a struct with a GIL; CPython: create + destroy, its own modules)", c(1),
            med.get(1, "not in this interpreter (3.12 and later)"), "µs")
    cmp.row("start + end a process (fork)", c(2), med[2], "µs")


def thread_messages(payload, count):
    q = queue.Queue()
    got = [0]

    def receiver():
        for _ in range(count):
            got[0] += len(q.get(timeout=60))

    th = threading.Thread(target=receiver, daemon=True)
    th.start()
    t = time.perf_counter()
    for _ in range(count):
        q.put(payload)
    th.join(120)
    secs = time.perf_counter() - t
    if got[0] != count * len(payload):
        raise RuntimeError("the receiving thread missed messages")
    return secs / count * 1e6


def receive(conn, ack, count, size):
    wb.child_init()
    n = 0
    for _ in range(count):
        n += len(conn.recv_bytes())
    ack.send_bytes(str(n == count * size).encode())


def process_messages(payload, count):
    ctx = wb.fork_context()
    r, w = ctx.Pipe(duplex=False)
    ar, aw = ctx.Pipe(duplex=False)
    p = ctx.Process(target=receive, args=(r, aw, count, len(payload)))
    try:
        p.start()
        time.sleep(0.01)  # (the child is ready to read)
        t = time.perf_counter()
        for _ in range(count):
            w.send_bytes(payload)
        if not ar.poll(120) or ar.recv_bytes() != b"True":
            raise RuntimeError("the receiving process missed messages")
        secs = time.perf_counter() - t
        p.join(30)
        return secs / count * 1e6
    finally:
        wb.end_all([p])
        for c in (r, w, ar, aw):
            c.close()


def messages(args, d, cmp, cdat):
    d.block("part 3: us per message vs size", [
        "size (bytes): one message", "pointer_us (us): threads pass a reference (queue.Queue)",
        "interp_us (us): subinterpreters (not measured: NaN)", "proc_us (us): processes pass a copy (a Pipe)"])
    print(f"  µs per message, {args.messages} messages:  {'bytes':>6} {'threads':>10} {'processes':>10}")
    res = {}
    for size in SIZES:
        payload = os.urandom(size)
        th = wb.summary([thread_messages(payload, args.messages) for _ in range(args.repeat)]).median
        pr = wb.summary([process_messages(payload, args.messages) for _ in range(args.repeat)]).median
        res[size] = (th, pr)
        d.row(size, th, None, pr)
        print(f"  {'':38} {size:6d} {th:10.2f} {pr:10.2f}")

    def c(col, size):
        return cdat.at(2, col, "size", size) if cdat else None

    for size in (SIZES[0], SIZES[-1]):
        cmp.row(f"a {size:,}-byte message between threads (C: a pointer through chapter 02's queue; CPython: "
                "queue.Queue)", c("pointer_us", size), res[size][0], "µs")
        cmp.row(f"a {size:,}-byte message between processes (C: a copy through chapter 02's queue; CPython: a "
                "Pipe)", c("proc_us", size), res[size][1], "µs")


def make_cycles(n):
    junk = []
    for _ in range(n // 2):
        a, b = [], []
        a.append(b)
        b.append(a)  # a cycle: only the collector can free it
        junk.append(a)
    return junk


def gc_pause(args, cmp, cdat):
    """The same garbage collected twice: alone (how long a collection takes), then with a
    second thread spinning (the longest it went without running)."""
    gc.collect()
    junk = make_cycles(args.garbage)
    del junk
    t = time.perf_counter()
    found = gc.collect()
    alone = time.perf_counter() - t
    stop = threading.Event()
    gaps = [0.0]

    def spin():
        last = time.perf_counter()
        while not stop.is_set():
            now = time.perf_counter()
            gaps[0] = max(gaps[0], now - last)
            last = now

    junk = make_cycles(args.garbage)
    del junk
    th = threading.Thread(target=spin, daemon=True)
    th.start()
    time.sleep(0.02)  # (both threads are running)
    gaps[0] = 0.0
    again = gc.collect()
    time.sleep(0.01)
    stop.set()
    th.join(10)
    if again != found:
        raise RuntimeError(f"the two collections freed {found} and {again} objects")
    print(f"  gc.collect() of {found} objects: {alone * 1e3:.1f} ms alone; beside it, a spinning thread's longest "
          f"stretch without running: {gaps[0] * 1e3:.1f} ms")
    cmp.row(f"a collection of {found:,} objects in cycles, alone", None, alone * 1e3, "ms")
    cmp.row("... the same beside a spinning thread: the longest the thread went without running (C: "
            "stop_the_world's median pause to stop 1 thread)", cdat.at(0, "median", "threads", 1) / 1e3 if cdat else
            None, gaps[0] * 1e3, "ms", "CPython's collector holds the GIL: the thread stands still for about a whole "
            "collection", ratio=False)
