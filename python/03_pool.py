"""03_pool.py: multiprocessing.Pool on CPython, beside chapter 03's pool.

Measures what chapter 03's pool_demo, pool_queue, pool_faults and pool_bench show in C:
  1. The lesson's Pool(3) over 10 tasks with random sleeps: how many children exist right
     after Pool(3), and how many distinct pids ran the tasks.
  2. What a task costs: apply_async(f, (x,)).get() one at a time (the round trip), and
     map(f, items, chunksize) for chunk sizes 1 to 1024, per item; f returns its argument.
  3. What a pool buys: a CPU-bound job (additions) in 48 tasks on pools of 1..W workers.
  4. Manager().Queue(), the lesson's queue for pool tasks: one put + get through the
     proxy; and a queue made before the pool reaching the workers by inheritance, under
     the fork and the forkserver start methods.
  5. A worker killed (SIGKILL) in the middle of a task: what get(timeout) says, for Pool;
     and what concurrent.futures.ProcessPoolExecutor does with its pending tasks.

The lesson's idiom:   po = Pool(3); po.apply_async(worker, (i,)); po.close(); po.join()

Run:   python3 python/03_pool.py [--quick] [--data DIR]
Writes DIR/pool_bench_py.dat (pool_bench's three blocks) and DIR/compare_03.json. Look
for: three pids for ten tasks, as in C; tens of microseconds per unbatched task where
C's pool spends one; the speed-up stopping at the number of cores in both.
"""
import concurrent.futures
import multiprocessing
import multiprocessing.managers
import os
import queue
import random
import re
import signal
import time

import wb

CHUNKS = tuple(1 << k for k in range(11))
g_queue = None  # part 4: a queue made before the pool, reached by inheritance


def identity(x):
    return x


def sleeper(i, seconds):
    time.sleep(seconds)
    return i, os.getpid()


def add_up(bounds):
    lo, hi = bounds
    s = 0
    for i in range(lo, hi):
        s += i
    return s


def kill_own_worker(_=None):
    os.kill(os.getpid(), signal.SIGKILL)


def nap(i):
    time.sleep(0.05)
    return i


def writer():
    if g_queue is None:
        return "no queue in this worker"
    for ch in "itcast":
        g_queue.put(ch)
    return "wrote 6 letters"


def reader():
    if g_queue is None:
        return "no queue in this worker"
    try:
        return "".join(g_queue.get(True, 2.0) for _ in range(6))
    except queue.Empty:
        return "nothing arrived in 2 s"


def pool(n, method="fork"):
    with wb.held_interrupts():  # a Pool interrupted half-made would keep its workers for ever
        return multiprocessing.get_context(method).Pool(n, initializer=wb.worker_init)


def lesson_pool(args, cmp):
    rng = random.Random(1)
    sleeps = [rng.random() * 2 * args.scale for _ in range(10)]
    p = pool(3)
    try:
        children = len(multiprocessing.active_children())
        results = [p.apply_async(sleeper, (i, s)) for i, s in enumerate(sleeps)]
        p.close()
        pids = {r.get(60)[1] for r in results}
        p.join()
    finally:
        p.terminate()
        p.join()
    print(f"  Pool(3): {children} children right after it was made; 10 tasks ran on {len(pids)} distinct pids")
    c_made = c_pids = None
    out = wb.run_c("03-pool/pool_demo", ["--scale", f"{args.scale:g}"], timeout=60)
    if out:
        cmp.source("pool_demo", f"chapters/03-pool/pool_demo --scale {args.scale:g}, run {wb.now_utc()}")
        m = re.search(r"workers forked now: ([0-9, ]+)", out)
        c_made = len(m.group(1).split(",")) if m else None
        m = re.search(r"ran on (\d+) distinct pids", out)
        c_pids = int(m.group(1)) if m else None
    cmp.row("children of Pool(3) right after it is made, before any task", c_made, children, ratio=False)
    cmp.row("distinct pids that ran the 10 tasks of Pool(3)", c_pids, len(pids), ratio=False)


def dispatch(args, d, cmp, cdat):
    items = list(range(args.items))
    per_item = {c: [] for c in CHUNKS}
    trips = []
    p = pool(args.workers)
    try:
        p.map(identity, items[:1000], 10)  # warm-up
        for _ in range(args.repeat):
            for c in CHUNKS:
                t = time.perf_counter()
                out = p.map(identity, items, c)
                per_item[c].append((time.perf_counter() - t) / len(items) * 1e6)
                if out != items:
                    raise RuntimeError(f"map with chunk {c} returned the wrong items")
            for i in range(args.trips // args.repeat):
                t = time.perf_counter()
                if p.apply_async(identity, (i,)).get(10) != i:
                    raise RuntimeError("apply_async returned the wrong value")
                trips.append((time.perf_counter() - t) * 1e6)
    finally:
        p.terminate()
        p.join()
    rt = wb.summary(trips)
    print(f"  a pool of {args.workers}: round trip of apply_async + get: {rt.median:.1f} µs "
          f"(p10 {rt.p10:.1f}, p90 {rt.p90:.1f}); map over {args.items} items, µs per item:")
    d.block("map: time per item vs chunk size",
            ["chunk (items): items per task", "us (us): median time per item", "p10 (us)", "p90 (us)"])
    for c in CHUNKS:
        s = wb.summary(per_item[c])
        print(f"  {c:8d} {s.median:12.3f} {s.p10:12.3f} {s.p90:12.3f}")
        d.row(c, s.median, s.p10, s.p90)
    d.block("round trip", ["us (us): median round trip of one apply_async + get", "p10 (us)", "p90 (us)"])
    d.row(rt.median, rt.p10, rt.p90)
    cmp.row("one task's round trip, apply_async + get", cdat.column(1, "us")[0] if cdat else None, rt.median, "µs")
    for c in (1, 1024):
        cmp.row(f"map, time per item with chunk size {c}", cdat.at(0, "us", "chunk", c) if cdat else None,
                wb.summary(per_item[c]).median, "µs")


def speedup(args, d, cmp, cdat):
    n, tasks = args.work * 1000_000, 48
    bounds = [(n * k // tasks, n * (k + 1) // tasks) for k in range(tasks)]
    expect = n * (n - 1) // 2
    secs = {w: [] for w in range(1, args.max_workers + 1)}
    for _ in range(args.repeat):
        for w in secs:
            p = pool(w)
            try:
                p.map(identity, range(w), 1)  # every worker up before the clock starts
                t = time.perf_counter()
                total = sum(p.map(add_up, bounds, 1))
                secs[w].append(time.perf_counter() - t)
            finally:
                p.terminate()
                p.join()
            if total != expect:
                raise RuntimeError(f"{w} workers summed {total}, expected {expect}")
    d.block("CPU-bound job vs workers", [
        "workers (count): processes in the pool", "median_s (s): median time of the map", "p10_s (s)",
        "p90_s (s)", "speedup (x): median time with 1 worker / median time with W", "cores (count): online CPUs"])
    print(f"  {args.work} million additions in {tasks} tasks, pools of 1..{args.max_workers}, {wb.cores()} cores:")
    one = wb.summary(secs[1]).median
    for w in secs:
        s = wb.summary(secs[w])
        print(f"  {w:8d} {s.median:10.3f} {s.p10:10.3f} {s.p90:10.3f} {one / s.median:8.2f}x")
        d.row(w, s.median, s.p10, s.p90, one / s.median, wb.cores())
        if w == 2:
            cmp.row("CPU-bound job on a pool of 2: speed-up over 1 worker",
                    cdat.at(2, "speedup", "workers", 2) if cdat else None, one / s.median, "x")


def queues(args, cmp):
    global g_queue
    ctx = wb.fork_context()
    m = multiprocessing.managers.SyncManager(ctx=ctx)  # Manager(), with our initializer
    with wb.held_interrupts():  # (a server started, its shutdown not yet registered)
        m.start(wb.child_init)
    with m:
        mq = m.Queue()
        for i in range(10):
            mq.put(i)
            mq.get()
        ts = []
        for i in range(args.trips):
            t = time.perf_counter()
            mq.put(i)
            mq.get()
            ts.append((time.perf_counter() - t) * 1e6)
    plain = ctx.Queue()
    pts = []
    for i in range(args.trips):
        t = time.perf_counter()
        plain.put(i)
        plain.get()
        pts.append((time.perf_counter() - t) * 1e6)
    plain.close()
    plain.join_thread()
    mq_us, q_us = wb.summary(ts).median, wb.summary(pts).median
    print(f"  put + get in one process: Manager().Queue() {mq_us:.1f} µs, multiprocessing.Queue {q_us:.1f} µs")
    cmp.row("put + get through Manager().Queue() (a proxy: two round trips to the server process)", None, mq_us,
            "µs", "C: no manager; the queue is inherited")
    cmp.row("put + get on a multiprocessing.Queue in one process", None, q_us, "µs")
    seen = {}
    for method in ("fork", "forkserver"):
        g_queue = multiprocessing.get_context(method).Queue()
        p = pool(2, method)
        try:
            r = p.apply_async(reader)
            w = p.apply_async(writer)
            seen[method] = r.get(10)
            w.get(10)
        finally:
            p.terminate()
            p.join()
            g_queue.close()
            g_queue = None
        print(f"  a global Queue made before Pool(2), {method}: the reader task got {seen[method]!r}")
    cmp.row("a queue made before the pool, read by one task, written by another: fork", "itcast",
            seen["fork"], note="C: chapters/03-pool/pool_queue", ratio=False)
    cmp.row("the same under the forkserver start method", "(pool.c always forks)", seen["forkserver"], ratio=False)


def pool_death(conn, patience):
    """In a child of bounded(): Pool(3), one task SIGKILLs its own worker."""
    p = pool(3)
    pids = {c.pid for c in multiprocessing.active_children()}
    ok = [p.apply_async(nap, (i,)) for i in range(3)]
    doomed = p.apply_async(kill_own_worker)
    t = time.perf_counter()
    try:
        doomed.get(patience)
        verdict = "returned (unexpected)"
    except multiprocessing.TimeoutError:
        verdict = f"TimeoutError after {time.perf_counter() - t:.1f} s (no sign of the death)"
    others = [r.get(10) for r in ok]
    time.sleep(0.2)
    replaced = len({c.pid for c in multiprocessing.active_children()} - pids)
    conn.send((verdict, len(others), replaced))
    t = time.perf_counter()
    p.terminate()
    p.join()
    conn.send(time.perf_counter() - t)


def executor_death(conn):
    """In a child of bounded(): ProcessPoolExecutor(2), task 3 SIGKILLs its own worker."""
    ex = concurrent.futures.ProcessPoolExecutor(2, mp_context=wb.fork_context(), initializer=wb.worker_init)
    futs = [ex.submit(kill_own_worker if i == 3 else nap, i) for i in range(8)]
    came, broke = [], []
    for i, f in enumerate(futs):
        try:
            f.result(30)
            came.append(i)
        except concurrent.futures.process.BrokenProcessPool:
            broke.append(i)
    try:
        ex.submit(nap, 8).result(10)
        later = "a later submit ran"
    except concurrent.futures.process.BrokenProcessPool:
        later = "a later submit raised it too"
    conn.send(f"tasks {came} came back, {broke} raised BrokenProcessPool; {later}")
    ex.shutdown(wait=True, cancel_futures=True)


def faults(args, cmp):
    """Each experiment runs in a child with a time limit, so that a pool that does not
    recover from the death cannot hang the script."""
    limit = args.patience / 1e9 + 10
    hung, secs, msgs, _ = wb.bounded(pool_death, (args.patience / 1e9,), timeout=limit)
    if not msgs:
        raise RuntimeError(f"the Pool experiment reported nothing in {secs:.0f} s")
    verdict, nothers, replaced = msgs[0]
    ended = f"terminate() took {msgs[1]:.2f} s" if len(msgs) > 1 else \
        f"terminate() had not returned after {secs:.0f} s: the child was killed"
    print(f"  Pool(3), a task's worker SIGKILLed: get() -> {verdict}; the other {nothers} results came back; "
          f"{replaced} worker(s) replaced; {ended}")
    c_verdict = None
    out = wb.run_c("03-pool/pool_faults", ["--quick"], timeout=30)
    if out:
        cmp.source("pool_faults", f"chapters/03-pool/pool_faults --quick, run {wb.now_utc()}")
        if re.search(r"task 4: POOL_DIED", out):
            c_verdict = "POOL_DIED (worker killed by SIGKILL), within its 10 ms check"
    cmp.row("a task whose worker is SIGKILLed: its get(timeout)", c_verdict, verdict, ratio=False)
    cmp.row("workers replaced after that death", 1 if c_verdict else None, replaced, ratio=False)

    hung, secs, msgs, _ = wb.bounded(executor_death, timeout=60)
    verdict = msgs[0] if msgs else f"no answer in {secs:.0f} s"
    print(f"  ProcessPoolExecutor(2), 8 tasks, task 3 kills its worker: {verdict}")
    cmp.row("ProcessPoolExecutor(2), 8 tasks, task 3's worker killed", "only task 3 lost (pool.c)", verdict,
            ratio=False)


def run():
    args = wb.parse(__doc__.split("\n")[0], [
        wb.Opt("scale", "real", 0.1, "part 1: multiplies the lesson's sleeps of 0 to 2 s", 0.001, 10, quick=0.02),
        wb.Opt("workers", "int", 2, "workers for part 2", 1, 64),
        wb.Opt("items", "int", 10000, "items per map in part 2", 1024, 1_000_000, quick=1024),
        wb.Opt("trips", "int", 1000, "round trips in part 2, and put + get pairs in part 4", 10, 1_000_000, quick=30),
        wb.Opt("work", "int", 10, "part 3's job, in millions of additions", 1, 1000, quick=1),
        wb.Opt("max-workers", "int", min(8, 2 * wb.cores()), "largest pool in part 3", 1, 64, quick=2),
        wb.Opt("repeat", "int", 3, "runs per configuration in parts 2 and 3 (the median is kept)", 1, 100, quick=1),
        wb.Opt("patience", "duration", wb.NS_PER_S, "part 5: how long get() waits for the killed task",
               10 * wb.NS_PER_MS, 60 * wb.NS_PER_S, quick=300 * wb.NS_PER_MS),
    ])
    cmp = wb.Compare(args.data, "03", "Process pools")
    cdat = wb.read_data(args.data, "pool_bench")
    cmp.c_data(cdat)
    print("Part 1: the lesson's Pool(3)")
    lesson_pool(args, cmp)
    with wb.DataFile(args.data, "pool_bench", "pool_bench (CPython): the cost of a Pool task, and CPU-bound "
                                              "speed-up") as d:
        print("Part 2: what a task costs")
        dispatch(args, d, cmp, cdat)
        print("Part 3: what a pool buys")
        speedup(args, d, cmp, cdat)
    print("Part 4: queues for pool tasks")
    queues(args, cmp)
    print("Part 5: a worker that dies")
    faults(args, cmp)
    cmp.write()


if __name__ == "__main__":
    wb.main(run)
