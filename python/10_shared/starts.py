"""10_shared/starts.py: the three start methods and fork's hazards on CPython (parts 3
and 4), beside start_methods.c and fork_threads.c.

Part 3, start_methods: the fork server is started first (as start_methods starts its
own at the top of main); then this module's g_setting is set to 42 and three idle
threads are started, and one worker per method says what it sees: its parent, its
threads, g_setting. Then the start cost (Process.start(), the worker's result back
through a Pipe, join()) of fork, spawn and forkserver as this process's touched memory
grows (0 to --max-mib MiB, small pages) and as its idle threads grow (0 to 64 per
core), the median of --start-repeat starts made round robin, after a warm-up.

Part 4, fork_threads: a thread holds g_lock for --hold while a worker is started with
each method and waits up to --patience for the lock; the same fork with
os.register_at_fork handlers that take the lock before the fork (logging's fix for its
own locks); --forks forks while another thread keeps taking and releasing the lock, how
many children find it held; and whether this interpreter warns when a process with
threads forks (DeprecationWarning, Python 3.12 and later).
"""
import mmap
import multiprocessing
import multiprocessing.forkserver
import os
import re
import threading
import time
import warnings

import wb

METHODS = ("fork", "spawn", "forkserver")
g_setting = 0  # set to 42 by the parent once it runs: what does each worker see?
g_lock = threading.Lock()  # held by a thread of the parent while workers start (part 4)
g_atfork = threading.Lock()  # the one lock with at-fork handlers (part 4), taken nowhere else


def threads_now():
    with open("/proc/self/status") as f:
        return int(re.search(r"^Threads:\s+(\d+)", f.read(), re.M).group(1))


def init():
    """wb.child_init() in a worker whose parent is the process that started it (fork,
    spawn); a forkserver worker's parent is the fork server (which ends with the
    script), and child_init would take it for an orphan."""
    parent = multiprocessing.parent_process()
    if parent is None or os.getppid() == parent.pid:
        wb.child_init()


def whoami(conn):
    """A worker's report: parent, threads, g_setting."""
    init()
    conn.send((os.getppid(), threads_now(), g_setting))
    conn.close()


def quick_task(conn):
    init()
    conn.send(os.getpid())
    conn.close()


def start_one(method, target):
    """Starts a worker, gets its result, joins it: (seconds, result)."""
    ctx = multiprocessing.get_context(method)
    r, w = ctx.Pipe(duplex=False)
    p = ctx.Process(target=target, args=(w,))
    try:
        t = time.perf_counter()
        p.start()
        w.close()
        if not r.poll(60):
            raise RuntimeError(f"no result from the {method} worker within 60 s")
        got = r.recv()
        p.join(60)
        secs = time.perf_counter() - t
        if p.exitcode != 0:
            raise RuntimeError(f"the {method} worker exited {p.exitcode}")
        return secs, got
    finally:
        wb.end_all([p])
        r.close()
        w.close()


def idle_threads(n, stop):
    ts = [threading.Thread(target=stop.wait, args=(600,), daemon=True) for _ in range(n)]
    for t in ts:
        t.start()
    return ts


def touched(mib):
    if mib == 0:
        return None
    m = mmap.mmap(-1, mib << 20, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    if hasattr(mmap, "MADV_NOHUGEPAGE"):
        m.madvise(mmap.MADV_NOHUGEPAGE)  # small pages, as start_methods.c touches them
    for off in range(0, mib << 20, mmap.PAGESIZE):
        m[off] = 1
    return m


def what_they_see(args, cmp):
    global g_setting
    multiprocessing.forkserver.ensure_running()  # the server starts now, small and with one thread
    server = getattr(multiprocessing.forkserver._forkserver, "_forkserver_pid", None)
    stop = threading.Event()
    ts = idle_threads(3, stop)
    g_setting = 42
    threads = threads_now()
    seen = {}
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for m in METHODS:
                seen[m] = start_one(m, whoami)[1]
    finally:
        stop.set()
        wb.join_all(ts, 10)
        g_setting = 0
    fork_warned = [str(w.message).split(",")[0] for w in caught if issubclass(w.category, DeprecationWarning)]
    print(f"  this process: g_setting = 42, {threads} threads; the fork server is pid {server}")
    for m in METHODS:
        ppid, threads, g = seen[m]
        who = "us" if ppid == os.getpid() else "the fork server" if ppid == server else str(ppid)
        print(f"  {m:10} worker: my parent is {who}, I have {threads} thread(s), g_setting = {g}")
    out = wb.run_c("10-shared/start_methods", ["--quick"], timeout=120) or ""
    if out:
        cmp.source("start_methods", f"chapters/10-shared/start_methods --quick, run {wb.now_utc()}")
    for m in METHODS:
        cm = re.search(rf"worker \({m}\): my parent is (\d+), I have (\d+) thread\(s\), g_setting = (\d+)", out)
        cmp.row(f"{m} worker, started after g_setting = 42 and 3 threads: it sees g_setting =",
                int(cm.group(3)) if cm else None, seen[m][2], ratio=False)
    cmp.row("... and has this many threads, each way", "1, 1, 1" if out else None,
            ", ".join(str(seen[m][1]) for m in METHODS), ratio=False)
    cmp.row("the forkserver worker's parent", "the fork server" if out else None,
            "the fork server" if seen["forkserver"][0] == server else str(seen["forkserver"][0]), ratio=False)
    cmp.row("multiprocessing.Process(fork) in a process with 3 other threads: a DeprecationWarning",
            "(no warning in C)", f"DeprecationWarning: {fork_warned[0]}" if fork_warned else "none (before 3.12)",
            ratio=False)
    cmp.row("multiprocessing's default start method", "fork (start_methods: any of the three)",
            multiprocessing.get_start_method(), ratio=False)


def costs(args, d, cmp, cdat):
    mibs = [m for m in (0, 4, 16, 64, 256, 1024) if m <= args.max_mib]
    counts = [n for n in (0, 2, 8, 32, 128, 512) if n <= args.max_threads]
    cols = ["x: MiB of touched parent memory (block 0), idle parent threads (block 1)",
            "fork_med (us): start to result and reaped, median", "fork_p10 (us)", "fork_p90 (us)", "spawn_med (us)",
            "spawn_p10 (us)", "spawn_p90 (us)", "forkserver_med (us)", "forkserver_p10 (us)", "forkserver_p90 (us)"]
    for m in METHODS if args.start_repeat > 1 else ():  # warm-up (what_they_see started each once)
        start_one(m, quick_task)
    med = {}
    print(f"  start, result back, join (median of {args.start_repeat}, µs):")
    print(f"  {'':22} " + " ".join(f"{m:>12}" for m in METHODS))
    for block, (name, xs) in enumerate((("memory", mibs), ("threads", counts))):
        d.block(name, cols)
        for x in xs:
            stop = threading.Event()
            mem, ts = (touched(x), []) if block == 0 else (None, idle_threads(x, stop))
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DeprecationWarning)  # (part 4 reports it)
                    runs = {m: [] for m in METHODS}
                    for _ in range(args.start_repeat):
                        for m in METHODS:
                            runs[m].append(start_one(m, quick_task)[0] * 1e6)
            finally:
                stop.set()
                wb.join_all(ts, 10)
                if mem is not None:
                    mem.close()
            s = {m: wb.summary(v) for m, v in runs.items()}
            d.row(x, *[v for m in METHODS for v in (s[m].median, s[m].p10, s[m].p90)])
            med[(block, x)] = {m: s[m].median for m in METHODS}
            unit = "MiB touched" if block == 0 else "idle threads"
            print(f"  {x:5d} {unit:16} " + " ".join(f"{s[m].median:12.0f}" for m in METHODS))

    def c(block, x, m):
        return cdat.at(block, m + "_med", "x", x) if cdat else None

    for m in METHODS:
        cmp.row(f"{m}: start + result + join, nothing touched", c(0, 0, m), med[(0, 0)][m], "µs")
    top = mibs[-1]
    if top > 0:
        for m in ("fork", "forkserver"):
            cmp.row(f"{m}, after touching {top} MiB", c(0, top, m), med[(0, top)][m], "µs")
    many = counts[-1]
    if many > 0:
        cmp.row(f"fork, with {many} idle threads", c(1, many, "fork"), med[(1, many)]["fork"], "µs")


def try_lock(conn, patience, which):
    """A worker waits up to `patience` for this module's lock named `which`."""
    init()
    t = time.perf_counter()
    got = globals()[which].acquire(timeout=patience)
    conn.send((got, time.perf_counter() - t))
    conn.close()


def held_start(method, hold, patience, at_fork=False):
    """A thread holds g_lock (or g_atfork) for `hold` seconds while a worker is started
    with `method`; the worker waits up to `patience` for the lock. Returns (took it,
    how long it waited, start to end in seconds)."""
    lock = g_atfork if at_fork else g_lock
    holding = threading.Event()

    def hold_it():
        with lock:
            holding.set()
            time.sleep(hold)

    th = threading.Thread(target=hold_it, daemon=True)
    th.start()
    if not holding.wait(10):
        raise RuntimeError("the holder never took the lock")
    ctx = multiprocessing.get_context(method)
    r, w = ctx.Pipe(duplex=False)
    p = ctx.Process(target=try_lock, args=(w, patience, "g_atfork" if at_fork else "g_lock"))
    try:
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            p.start()
        w.close()
        if not r.poll(patience + 30):
            raise RuntimeError(f"the {method} worker never answered")
        got, waited = r.recv()
        p.join(30)
        return got, waited, time.perf_counter() - t
    finally:
        wb.end_all([p])
        r.close()
        w.close()
        th.join(hold + 10)


_atfork = {"got": False}


def _before():
    _atfork["got"] = g_atfork.acquire(timeout=30)  # (bounded: a fork never waits for ever)


def _after():
    if _atfork["got"]:
        g_atfork.release()


def bump(x):
    return x + 1


def bare(x):
    with g_lock:
        x += 1
    return x


def calling(x):
    with g_lock:
        x = bump(x)
    return x


def busy_forks(n, body):
    """n forks while another thread keeps taking and releasing g_lock (body: one round);
    how many children find it held."""
    stop = threading.Event()

    def churn():
        x = 0
        while not stop.is_set():
            x = body(x)

    th = threading.Thread(target=churn, daemon=True)
    th.start()
    held = 0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            for _ in range(n):
                pid = os.fork()
                if pid == 0:
                    os._exit(1 if g_lock.locked() else 0)  # nobody in the child can ever release it
                _, status = os.waitpid(pid, 0)
                held += os.waitstatus_to_exitcode(status) == 1
                time.sleep(0.0002)
    finally:
        stop.set()
        th.join(10)
    return held


def fork_warning():
    """What os.fork() says in a process with another thread: the warning's first words,
    or None."""
    stop = threading.Event()
    ts = idle_threads(1, stop)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            pid = os.fork()
            if pid == 0:
                os._exit(0)
            os.waitpid(pid, 0)
    finally:
        stop.set()
        wb.join_all(ts, 10)
    w = [x for x in caught if issubclass(x.category, DeprecationWarning)]
    return str(w[0].message) if w else None


def hazards(args, cmp):
    hold, patience = args.hold / 1e9, args.patience / 1e9
    res = {m: held_start(m, hold, patience) for m in METHODS}
    for m in METHODS:
        got, waited, _ = res[m]
        print(f"  {m:10} worker: " + (f"took g_lock after {waited * 1e3:.1f} ms" if got else
                                      f"g_lock still held after {waited * 1e3:.0f} ms: DEADLOCK (its holder does not "
                                      "exist in the child)"))
    os.register_at_fork(before=_before, after_in_parent=_after, after_in_child=_after)
    got, waited, total = held_start("fork", hold, patience, at_fork=True)
    print(f"  fork with at-fork handlers that take the lock first: the worker {'took' if got else 'did not take'} "
          f"it; start to end {total * 1e3:.0f} ms (the holder kept it {hold * 1e3:g} ms)")
    held = {b.__name__: busy_forks(args.forks, b) for b in (bare, calling)}
    print(f"  {args.forks} forks while another thread loops on `with g_lock: x += 1`: {held['bare']} children found "
          f"it held; on `with g_lock: x = bump(x)`: {held['calling']}")
    said = fork_warning()
    print(f"  os.fork() with another thread running: {said or 'no warning'}")
    hs, ps = wb.format_duration(args.hold), wb.format_duration(args.patience)
    out = wb.run_c("10-shared/fork_threads", ["--hold", hs, "--patience", ps, "--forks", str(args.forks)],
                   timeout=120) or ""
    if out:
        cmp.source("fork_threads", f"chapters/10-shared/fork_threads --hold {hs} --patience {ps} --forks "
                                   f"{args.forks}, run {wb.now_utc()}")

    def verdict(got):
        return "took the lock" if got else "deadlock: the lock stays held"

    for m in METHODS:
        cm = re.search(rf"{m} +worker: ([^\n]*)", out)
        c = None if not cm else "deadlock: the lock stays held" if "DEADLOCK" in cm.group(1) else "took the lock"
        cmp.row(f"a thread holds a lock while a {m} worker starts: the worker", c, verdict(res[m][0]), ratio=False)
    ca = re.search(r"fork\+atfork worker: took g_lock; start to end took (\d+) ms", out)
    cmp.row(f"fork with at-fork handlers (C: pthread_atfork; CPython: os.register_at_fork): start to end, the lock "
            f"held {hold * 1e3:g} ms", float(ca.group(1)) if ca else None, total * 1e3 if got else None, "ms")
    cb = re.search(r"(\d+) of \d+ children \((\d+)%\) found g_lock held", out)
    cmp.row(f"{args.forks} forks while another thread loops on `with lock: x += 1`: children that find the lock held",
            float(cb.group(2)) if cb else None, 100 * held["bare"] / args.forks, "%",
            "no bytecode inside that section hands the GIL over", ratio=False)
    cmp.row("the same with a Python function call inside the section: `with lock: x = bump(x)`",
            float(cb.group(2)) if cb else None, 100 * held["calling"] / args.forks, "%", "C: the same loop as above",
            ratio=False)
    cmp.row("os.fork() in a process with another thread: warns", "no (C has no such warning)",
            ("DeprecationWarning: " + said.split(",")[0]) if said else "no (DeprecationWarning from 3.12)",
            ratio=False)
