"""10_shared/manager.py: Manager() on CPython (part 2), beside manager_bench.c and
manager_demo.c.

1. manager_bench's measurement: P processes (fork) each put a 64-byte item on one
   shared queue and get one back, --pairs times, through a Manager().Queue() proxy;
   --pairs x 10 through a multiprocessing.Queue (a pipe, a lock and a feeder thread:
   what CPython has where chapter 02 has its queue in shared memory) and through one
   os.pipe() for all (64-byte writes, each whole). The time from the first start to the
   last finish over all the pairs, the median of --repeat runs, P = 1 to --max-procs.
2. One round trip, in this process: q.put + q.get on the proxy, d[k] = v and d[k] on a
   Manager().dict() proxy; where the manager listens (a file, or Linux's abstract
   namespace).
3. The server goes wrong, as in manager_demo: stopped (SIGSTOP) while a call waits
   (watched for twice manager_demo's --bound), and killed (SIGKILL) while a get()
   waits; and a client killed while it waits in get(), then one put: does the item
   reach the queue or the dead client's server thread? Each in a child of wb.bounded,
   so that a call that never returns is reported, not waited for.
4. solutions/dict_counter's race: two processes run d["n"] = d["n"] + 1 --increments
   times each on a manager's dict, then the same inside a manager's Lock.
"""
import os
import queue
import re
import shutil
import signal
import tempfile
import time

import multiprocessing.managers

import wb

ITEM = bytes(range(64))
WAYS = ("manager", "queue", "pipe")
LABELS = {"manager": "Manager().Queue() proxy", "queue": "multiprocessing.Queue", "pipe": "one os.pipe()"}


def make_manager(address=None):
    """Manager(), with our initializer. A server that will be killed gets an address in
    a directory of ours: multiprocessing's own would stay behind with the killed server."""
    m = multiprocessing.managers.SyncManager(address, ctx=wb.fork_context())
    with wb.held_interrupts():  # (a server started, its shutdown not yet registered)
        m.start(wb.child_init)
    return m


def trader(way, q, pairs, gate, stamps, k):
    wb.child_init()
    gate.wait(30)
    t = time.monotonic_ns()
    if way == "pipe":
        r, w = q
        for _ in range(pairs):
            os.write(w, ITEM)
            if len(os.read(r, len(ITEM))) != len(ITEM):
                raise RuntimeError("a short read from the pipe")
    else:
        for _ in range(pairs):
            q.put(ITEM)
            q.get(timeout=30)
    stamps[2 * k], stamps[2 * k + 1] = t, time.monotonic_ns()


def trade_run(way, q, procs, pairs):
    """µs per put+get pair with `procs` processes sharing q."""
    ctx = wb.fork_context()
    gate = ctx.Barrier(procs)
    stamps = ctx.Array("q", 2 * procs, lock=False)
    ps = [ctx.Process(target=trader, args=(way, q, pairs, gate, stamps, k)) for k in range(procs)]
    try:
        for p in ps:
            p.start()
        wb.end_all(ps, 120)
        if any(p.exitcode != 0 for p in ps):
            raise RuntimeError(f"{way}: a process exited {[p.exitcode for p in ps]}")
    finally:
        wb.end_all(ps)
    return (max(stamps[1::2]) - min(stamps[0::2])) / (procs * pairs) / 1e3


def sweep(args, d, cmp, cdat, m):
    ctx = wb.fork_context()
    mq, q = m.Queue(), ctx.Queue()
    r, w = os.pipe()
    res = {}
    try:
        for _ in range(args.repeat):
            for procs in range(1, args.max_procs + 1):
                res.setdefault(("manager", procs), []).append(trade_run("manager", mq, procs, args.pairs))
                res.setdefault(("queue", procs), []).append(trade_run("queue", q, procs, 10 * args.pairs))
                res.setdefault(("pipe", procs), []).append(trade_run("pipe", (r, w), procs, 10 * args.pairs))
    finally:
        os.close(r)
        os.close(w)
        q.close()
        q.join_thread()
    cols = ["procs: processes sharing the queue", "us_median (us): wall time / all put+get pairs, median",
            "us_p10 (us)", "us_p90 (us)"]
    med = {}
    print(f"  P processes each put a 64-byte item and get one, {args.pairs} times through the manager "
          f"({10 * args.pairs} otherwise); median of {args.repeat}, µs per pair:")
    print(f"  {'P':>3} " + " ".join(f"{LABELS[x]:>24}" for x in WAYS))
    for way in WAYS:
        d.block(way, cols)
        for procs in range(1, args.max_procs + 1):
            s = wb.summary(res[(way, procs)])
            med[(way, procs)] = s.median
            d.row(procs, s.median, s.p10, s.p90)
    for procs in range(1, args.max_procs + 1):
        print(f"  {procs:3d} " + " ".join(f"{med[(x, procs)]:24.2f}" for x in WAYS))

    def c(way, procs):
        return cdat.at(WAYS.index(way), "us_median", "procs", procs) if cdat else None

    for procs in sorted({1, min(2, args.max_procs), args.max_procs}):
        cmp.row(f"put + get through a manager's queue, {procs} process{'es' if procs > 1 else ''} "
                "(C: manager.c)", c("manager", procs), med[("manager", procs)], "µs")
    cmp.row("put + get on a queue without a server, 1 process (C: chapter 02's in shared memory; CPython: "
            "multiprocessing.Queue)", c("queue", 1), med[("queue", 1)], "µs")
    cmp.row("put + get on one pipe, 1 process (write + read)", c("pipe", 1), med[("pipe", 1)], "µs")
    cmp.row("the manager over the queue without a server, 1 process", c("manager", 1) / c("queue", 1) if cdat else None,
            med[("manager", 1)] / med[("queue", 1)], "x")


def round_trips(args, cmp, m):
    q, dct = m.Queue(), m.dict()
    for i in range(20):  # warm-up: the connection is made on the first call
        q.put(i)
        q.get()
        dct["k"] = i
        _ = dct["k"]
    qt, st, gt = [], [], []
    for i in range(args.trips):
        t0 = time.perf_counter()
        q.put(ITEM)
        q.get()
        t1 = time.perf_counter()
        dct["k"] = i
        t2 = time.perf_counter()
        if dct["k"] != i:
            raise RuntimeError("the dict proxy returned another value")
        t3 = time.perf_counter()
        qt.append((t1 - t0) * 1e6)
        st.append((t2 - t1) * 1e6)
        gt.append((t3 - t2) * 1e6)
    qm, sm, gm = (wb.summary(x).median for x in (qt, st, gt))
    addr = m.address
    where = "abstract namespace" if isinstance(addr, str) and addr.startswith("\0") else f"a file ({addr})"
    print(f"  in this process, median of {args.trips}: q.put + q.get {qm:.1f} µs; d[k] = v {sm:.1f} µs; "
          f"d[k] {gm:.1f} µs; the manager listens at {where}")
    cmp.row("a manager's dict, one process: d[k] = v, one round trip", None, sm, "µs", "C: manager.c has no dict "
            "timing")
    cmp.row("a manager's dict: d[k], one round trip", None, gm, "µs")
    cmp.row("where the manager listens", "abstract namespace, with a uid check (SO_PEERCRED)",
            "abstract namespace" if where.startswith("abstract") else "a file in a private directory", ratio=False)


def stopped_server(conn, where):
    """In a child of wb.bounded: a manager whose server is stopped while len() waits."""
    m = make_manager(os.path.join(where, "stopped"))
    try:
        lst = m.list([1, 2])
        len(lst)
        os.kill(m._process.pid, signal.SIGSTOP)
        conn.send(("stopped", time.perf_counter()))
        conn.send(("len", len(lst)))  # never returns while the server is stopped
    finally:
        os.kill(m._process.pid, signal.SIGKILL)
        m._process.join(10)


def killed_server(conn, step, where):
    """In a child of wb.bounded: a manager whose server is killed while q.get() waits."""
    m = make_manager(os.path.join(where, "killed"))
    q = m.Queue()
    pid = m._process.pid
    killer = wb.fork_context().Process(target=kill_later, args=(pid, step))
    killer.start()
    t = time.perf_counter()
    try:
        q.get()  # no timeout: the lesson's get()
        what = "returned"
    except Exception as e:  # what a proxy raises when its server dies
        what = type(e).__name__
    conn.send((what, (time.perf_counter() - t - step) * 1e3))
    killer.join(10)
    m._process.join(10)


def kill_later(pid, step):
    wb.child_init()
    time.sleep(step)
    os.kill(pid, signal.SIGKILL)


def getter(q):
    wb.child_init()
    q.get()  # waits until it is killed


def dead_client(conn, step, where):
    """In a child of wb.bounded: a client killed in q.get(), then one item put."""
    m = make_manager(os.path.join(where, "dead"))
    q = m.Queue()
    p = wb.fork_context().Process(target=getter, args=(q,))
    p.start()
    time.sleep(step)  # it waits in get() by now
    p.kill()
    p.join(10)
    time.sleep(step)
    q.put("item")
    try:
        q.get(timeout=0.5)
        conn.send("kept: the next get() had it")
    except queue.Empty:
        conn.send("lost: taken by the dead client's server thread")
    m.shutdown()


def faults(args, cmp):
    bound = args.bound / 1e9
    where = None
    try:
        with wb.held_interrupts():  # a Ctrl-C now comes after `where` is set, for the finally
            where = tempfile.mkdtemp(prefix=f"wb-10-shared-{os.getpid()}-")
        hung, secs, msgs, _ = wb.bounded(stopped_server, (where,), timeout=2 * bound)
        got = dict(msgs)
        _, _, msgs, _ = wb.bounded(killed_server, (args.step / 1e9, where), timeout=args.step / 1e9 + 10)
        died, after = msgs[0] if msgs else ("no answer", None)
        _, _, msgs, _ = wb.bounded(dead_client, (args.step / 1e9, where), timeout=2 * args.step / 1e9 + 10)
        item = msgs[0] if msgs else "no answer"
    finally:
        if where is not None:
            with wb.held_interrupts():
                shutil.rmtree(where, ignore_errors=True)
    stopped = ("still waiting at the time limit: a proxy call has no timeout" if hung and "len" not in got
               else f"returned {got.get('len')}")
    print(f"  SIGSTOP to the server, then len(l): {stopped} ({2 * bound:g} s); SIGKILL to the server while "
          f"q.get() waits: {died}" + (f", {after:.1f} ms after the kill" if after is not None else ""))
    out = wb.run_c("10-shared/manager_demo", ["--bound", wb.format_duration(args.bound),
                                             "--step", wb.format_duration(args.step)], timeout=60) or ""
    if out:
        cmp.source("manager_demo", f"chapters/10-shared/manager_demo --bound {wb.format_duration(args.bound)} "
                                   f"--step {wb.format_duration(args.step)}, run {wb.now_utc()}")
    ct = re.search(r"len\(l\) -> (MGR_\w+) after (\d+) ms", out)
    cd = re.search(r"the task's get\(\) -> (MGR_\w+), ([0-9.]+) ms after the kill", out)
    cmp.row("a call to a stopped server (SIGSTOP)", f"{ct.group(1)} after {ct.group(2)} ms (the proxy's bound)"
            if ct else None, stopped, ratio=False)
    cmp.row("a get() waiting when the server is killed: it fails with", cd.group(1) if cd else None, died,
            ratio=False)
    cmp.row("... this long after the kill", float(cd.group(2)) if cd else None, after, "ms")
    print(f"  a client killed while it waits in q.get(), then one put: the item is {item}")
    cmp.row("a client killed while it waits in get(), then one put: the item is",
            "kept: the server's thread saw the client die (tests/test_manager.c)", item, ratio=False)


def adder(d, n, lock, gate):
    wb.child_init()
    gate.wait(30)
    for _ in range(n):
        if lock is None:
            d["n"] = d["n"] + 1
        else:
            with lock:
                d["n"] = d["n"] + 1


def dict_race(args, cmp, m):
    ctx = wb.fork_context()
    got = {}
    for way, lock in (("bare", None), ("locked", m.Lock())):
        d, gate = m.dict({"n": 0}), ctx.Barrier(2)
        ps = [ctx.Process(target=adder, args=(d, args.increments, lock, gate)) for _ in range(2)]
        try:
            for p in ps:
                p.start()
            wb.end_all(ps, 120)
        finally:
            wb.end_all(ps)
        got[way] = d["n"]
    want = 2 * args.increments
    print(f"  two processes, {args.increments} times d['n'] = d['n'] + 1 each on a manager's dict: {got['bare']} of "
          f"{want}; inside a manager's Lock: {got['locked']}")
    out = wb.run_c("10-shared/solutions/dict_counter", ["--increments", str(args.increments)], timeout=60) or ""
    if out:
        cmp.source("dict_counter", f"chapters/10-shared/solutions/dict_counter --increments {args.increments}, run "
                                   f"{wb.now_utc()}")
    cb = re.search(r'd\["n"\] = d\["n"\] \+ 1: +(\d+)', out)
    cl = re.search(r"inside a lock \(a queue token\): +(\d+)", out)
    cmp.row(f"two processes, d['n'] = d['n'] + 1, {args.increments} times each on a manager's dict: total, of {want}",
            int(cb.group(1)) if cb else None, got["bare"], ratio=False)
    cmp.row("the same inside a lock (C: a queue holding one token; CPython: a manager's Lock)",
            int(cl.group(1)) if cl else None, got["locked"], ratio=False)


def part(args, d, cmp, cdat):
    m = make_manager()
    with m:
        sweep(args, d, cmp, cdat, m)
        round_trips(args, cmp, m)
        dict_race(args, cmp, m)
    faults(args, cmp)
