"""11_futures/futures.py: concurrent.futures itself (part 1), beside executor_demo.c,
wait_demo.c and solutions/cancel_count.c.

The same tasks as the C demos ("work" is a sleep of some units; a task squares its
number, or raises), on CPython's ThreadPoolExecutor and ProcessPoolExecutor (fork, as
pexec.c forks): a future's states, result(timeout), as_completed (with and without a
timeout), map(timeout), cancel() of PENDING and RUNNING futures, a task's exception,
wait() three ways, done-callbacks and the thread they run in, a Future set by hand, a
cancelled future that wait() does not count as done, and how many futures a busy
ProcessPoolExecutor(2) holds RUNNING (its call queue). The C demos run meanwhile, with
the same unit, and their transcripts give the C column (CRuns).
"""
import concurrent.futures as cf
import multiprocessing
import re
import threading
import time

import wb
from cside import find

LIMIT = 30.0  # s: no wait below is longer
RAN = []  # the tasks that ran (the thread executor's: the list is this process's)


def square(x, units, unit, code=0):
    time.sleep(units * unit)
    RAN.append(x)
    if code:
        raise ValueError(f"the task raised: it returned {code}")
    return x * x


def nap(seconds):
    time.sleep(seconds)


def state(f):
    return "CANCELLED" if f.cancelled() else "FINISHED" if f.done() else "RUNNING" if f.running() else "PENDING"


def process_executor(n, warm=True):
    ex = cf.ProcessPoolExecutor(n, mp_context=wb.fork_context(), initializer=wb.worker_init)
    if warm:  # the workers forked and the manager thread started (pexec.c forks at once)
        with wb.held_interrupts():  # (an executor interrupted half-started keeps its workers)
            ex.submit(int).result(LIMIT)
    return ex


def executor(kind, n):
    return cf.ThreadPoolExecutor(n) if kind == "thread" else process_executor(n)


def demo(kind, u):
    """executor_demo's parts on a <kind> executor of three workers."""
    r = {}
    with executor(kind, 3) as ex:
        f = ex.submit(square, 3, 2, u)
        r["state"] = state(f)
        t = time.monotonic()
        try:
            f.result(timeout=u / 2)
            r["timeout"] = None
        except cf.TimeoutError:
            r["timeout"] = (time.monotonic() - t) / u
        r["result"] = f.result(LIMIT)
        units = (5, 1, 4, 2, 3)
        fs = [ex.submit(square, i, k, u) for i, k in enumerate(units)]
        r["order"] = ", ".join(str(fs.index(f)) for f in cf.as_completed(fs, timeout=LIMIT))
        fs = [ex.submit(square, i, k, u) for i, k in enumerate(units)]
        got = []
        try:
            for f in cf.as_completed(fs, timeout=2.5 * u):
                got.append(fs.index(f))
            r["as_timeout"] = "no TimeoutError"
        except cf.TimeoutError as e:
            r["as_timeout"] = f"gave {', '.join(map(str, got))}, then TimeoutError('{e}')"
        cf.wait(fs, LIMIT)
        RAN.clear()
        got = []
        try:
            for y in ex.map(square, range(8), [1] * 8, [u] * 8, timeout=2.5 * u):
                got.append(y)
        except cf.TimeoutError:
            pass
        r["map"] = len(got)
        time.sleep(1.5 * u)  # the tasks map left running end
        r["map_ran"] = len(RAN) if kind == "thread" else None
        w = 3
        fs = [ex.submit(square, 100 + i, 3 if i < w else 1, u) for i in range(2 * w + 3)]
        time.sleep(u / 2)
        states = [state(f) for f in fs[w:]]
        r["pending"], r["running"] = states.count("PENDING"), states.count("RUNNING")
        r["cancelled"] = sum(f.cancel() for f in fs[w:])
        r["cancel_running"] = fs[0].cancel()
        try:
            fs[-1].result(LIMIT)
            r["cancelled_result"] = "a result"
        except cf.CancelledError:
            r["cancelled_result"] = "CancelledError"
        cf.wait(fs, LIMIT)
        f = ex.submit(square, 7, 1, u, 42)
        try:
            f.result(LIMIT)
            r["raised"] = "nothing"
        except ValueError as e:
            cause = e.__cause__
            r["raised"] = f"re-raised {type(e).__name__}" + (", the object exception() returns" if e is f.exception()
                                                             else ", not the object exception() returns")
            r["traceback"] = type(cause).__name__ if cause is not None else "none"
    return r


def wait_demo(u):
    """wait_demo's wait() calls on ThreadPoolExecutor(3): tasks of 3, 1, 2 units."""
    out = {}
    with cf.ThreadPoolExecutor(3) as ex:
        for what, when, fail, timeout in (("FIRST_COMPLETED", cf.FIRST_COMPLETED, None, None),
                                          ("FIRST_EXCEPTION, task 1 raises", cf.FIRST_EXCEPTION, 1, None),
                                          ("FIRST_EXCEPTION, none raises", cf.FIRST_EXCEPTION, None, None),
                                          ("ALL_COMPLETED, timeout=1.5 units", cf.ALL_COMPLETED, None, 1.5 * u),
                                          ("ALL_COMPLETED", cf.ALL_COMPLETED, None, None)):
            t = time.monotonic()
            fs = [ex.submit(square, i, k, u, 13 if i == fail else 0) for i, k in enumerate((3, 1, 2))]
            done, _ = cf.wait(fs, timeout=timeout or LIMIT, return_when=when)
            out[what] = ((time.monotonic() - t) / u, "{" + ", ".join(str(fs.index(f)) for f in sorted(
                done, key=fs.index)) + "}")
            cf.wait(fs, LIMIT)
    return out


def callbacks(kind, u):
    """Which thread runs a done-callback: two added while the task runs, one after."""
    calls = []

    def note(name):
        def cb(f):
            t = threading.current_thread()
            calls.append((name, type(t).__name__ if t.name.startswith("Thread-") else t.name, state(f)))
        return cb

    with executor(kind, 3) as ex:
        f = ex.submit(square, 1, 1, u)
        f.add_done_callback(note("first"))
        f.add_done_callback(note("second"))
        f.result(LIMIT)
        end = time.monotonic() + LIMIT
        while len(calls) < 2 and time.monotonic() < end:  # they run just after result() wakes
            time.sleep(0.001)
        f.add_done_callback(note("third"))
    return calls


def by_hand(u):
    f = cf.Future()
    t = threading.Thread(target=lambda: (time.sleep(u), f.set_result(42)), name="plain_thread")
    t.start()
    value = f.result(LIMIT)
    t.join(LIMIT)
    try:
        f.set_result(42)
        again = "accepted"
    except cf.InvalidStateError:
        again = "InvalidStateError"
    return value, again


def cancelled_wait(u):
    """A future cancelled while queued behind a busy worker: done() says yes at once;
    wait() counts it only when the worker reaches it (CANCELLED_AND_NOTIFIED)."""
    with cf.ThreadPoolExecutor(1) as ex:
        t0 = time.monotonic()
        ex.submit(square, 0, 3, u)
        f = ex.submit(square, 1, 1, u)
        ok, done = f.cancel(), f.done()
        t = time.monotonic()
        _, not_done = cf.wait([f], timeout=u)
        first = ((time.monotonic() - t) / u, f in not_done)
        cf.wait([f], timeout=LIMIT)
        return ok, done, first, (time.monotonic() - t0) / u


def executor_facts():
    """Defaults and when the workers appear."""
    r = {}
    with cf.ThreadPoolExecutor() as ex:
        r["tpe_default"] = ex._max_workers
        for i in range(5):
            ex.submit(nap, 0.001).result(LIMIT)
            time.sleep(0.002)
        r["tpe_threads"] = len(ex._threads)
    ex = cf.ProcessPoolExecutor(mp_context=wb.fork_context(), initializer=wb.worker_init)
    with ex:
        r["ppe_default"] = ex._max_workers
        r["ppe_made"] = len(multiprocessing.active_children())
        with wb.held_interrupts():
            ex.submit(int).result(LIMIT)
        r["ppe_submitted"] = len(multiprocessing.active_children())
    return r


def cancel_count(kind, workers, tasks, work, warm):
    """cancel_count's experiment: submit `tasks` of `work` s each, wait work/4, cancel
    them all. (RUNNING futures, cancel() -> True)."""
    ex = cf.ThreadPoolExecutor(workers) if kind == "thread" else process_executor(workers, warm)
    with ex:
        with wb.held_interrupts():  # (the first submit of a cold executor forks its workers)
            fs = [ex.submit(nap, work) for _ in range(tasks)]
        time.sleep(work / 4)
        running = sum(f.running() for f in fs)
        return running, sum(f.cancel() for f in fs)


def most_running(workers, tasks, work):
    """The most futures RUNNING at once while `tasks` of `work` s run to the end on a
    ProcessPoolExecutor(workers) whose workers are up, sampled every millisecond."""
    most = 0
    with process_executor(workers) as ex:
        fs = [ex.submit(nap, work) for _ in range(tasks)]
        end = time.monotonic() + LIMIT
        while not all(f.done() for f in fs) and time.monotonic() < end:
            most = max(most, sum(f.running() for f in fs))
            time.sleep(0.001)
    return most


def units_done(text, what):
    """('1.01 units, {1}') from a wait_demo line, or None."""
    m = re.search(r"wait\(" + re.escape(what) + r"\) returned after ([0-9.]+) units: done (\{[^}]*\})", text or "")
    return f"{float(m.group(1)):.2f} units, done {m.group(2)}" if m else None


def part(args, cmp, c):
    u = args.unit / 1e9
    print(f"  one unit of work: {u * 1e3:g} ms (a sleep), as in the C demos run beside")
    for kind, name in (("thread", "ThreadPoolExecutor(3)"), ("process", "ProcessPoolExecutor(3)")):
        r = demo(kind, u)
        out = c.out(f"demo-{kind}")
        cmp.row(f"{name}: a future's state right after submit", find(r"state (\w+), done", out), r["state"],
                ratio=False)
        if kind == "thread":
            cmp.row("result(timeout=0.5 units) of a 2-unit task: TimeoutError after (units; the task goes on)",
                    find(r"after ([0-9.]+) s \(Python: TimeoutError\)", out, lambda s: float(s) * 1e9 / args.unit),
                    r["timeout"], "units")
            cmp.row("as_completed over tasks of 5, 1, 4, 2, 3 units: the order they come in",
                    find(r"completion order ([0-9, ]+) \(", out), r["order"], ratio=False)
            cmp.row("as_completed(timeout=2.5 units) over the same", None, r["as_timeout"], ratio=False)
            cmp.row("map(square, range(8), timeout=2.5 units), 1 unit each: results before TimeoutError",
                    find(r"map gave \[([^]]*)\]", out, lambda s: len(s.split(","))), r["map"], ratio=False)
            cmp.row("... the 2 not delivered were running: they ran anyway (tasks that ran, of 8)", None,
                    r["map_ran"], ratio=False, note="map's clean-up cancels only what has not started")
        m = re.search(r"(\d+) were PENDING, (\d+) RUNNING; cancel\(\) -> True for (\d+)", out or "")
        cmp.row(f"{name}, 3 busy workers, 6 tasks waiting: PENDING / RUNNING / cancel() True",
                " / ".join(m.groups()) if m else None,
                f"{r['pending']} / {r['running']} / {r['cancelled']}", ratio=False)
        if kind == "thread":
            cmp.row("cancel() of a running future; result() of a cancelled one",
                    find(r"is running: cancel\(\) -> (\w+)", out, lambda s: s + "; CancelledError"),
                    f"{r['cancel_running']}; {r['cancelled_result']}", ratio=False)
        cmp.row(f"{name}: a task that raises: result()",
                "re-raised" if out and "FUTURE_RAISED" in out else None, r["raised"], ratio=False)
        if kind == "process":
            cmp.row("... its __cause__: the worker's traceback, pickled", "only the task's return code",
                    r["traceback"], ratio=False)
    out = c.out("wait-thread")
    for what, (after, done) in wait_demo(u).items():
        cmp.row(f"ThreadPoolExecutor(3), tasks of 3, 1, 2 units: wait({what}) returned after",
                units_done(out, what), f"{after:.2f} units, done {done}", ratio=False)
    for kind in ("thread", "process"):
        calls = callbacks(kind, u)
        out = c.out(f"wait-{kind}")
        c_threads = re.findall(r'callback "(\w+),[^"]*": the future is \w+; I run in thread "(\w+)"', out or "")
        cmp.row(f"done-callbacks on a {kind} executor: the thread each runs in (two added while it runs, one after)",
                ", ".join(t for _, t in c_threads) or None, ", ".join(t for _, t, _ in calls), ratio=False)
    value, again = by_hand(u)
    out = c.out("wait-thread")
    cmp.row("a Future set by a plain thread: result(); set_result() again",
            find(r"f.result\(\) -> FUTURE_OK, (\d+)", out, lambda s: s + "; InvalidStateError")
            if out and "FUTURE_INVALID_STATE" in out else None, f"{value}; {again}", ratio=False)
    ok, done, (after, counted_not), total = cancelled_wait(u)
    cmp.row("a future cancelled while queued behind a 3-unit task (ThreadPoolExecutor(1)): wait(timeout=1 unit)",
            None, f"not_done (done() is {done}), after {after:.2f} units" if counted_not else f"done, {after:.2f}",
            ratio=False, note="future.c tells the waiters in cancel(); Python when the worker reaches it")
    cmp.row("... wait() without a timeout returned, from the start (units)", None, total, "units")
    f = executor_facts()
    cmp.row("ThreadPoolExecutor() default max_workers (min(32, cores + 4))", None, f["tpe_default"], ratio=False)
    cmp.row("threads it started for 5 tasks submitted one after another", None, f["tpe_threads"], ratio=False)
    cmp.row("ProcessPoolExecutor() default max_workers (the cores)", None, f["ppe_default"], ratio=False)
    cmp.row("worker processes right after ProcessPoolExecutor() is made / after its first submit", None,
            f"{f['ppe_made']} / {f['ppe_submitted']}", ratio=False, note="pexec.c forks them when it is made")


def part_call_queue(args, cmp, c):
    """cancel_count's question, and how many futures are RUNNING in a busy executor."""
    work = args.work / 1e9
    out = c.out("cancel_count")
    print(f"  10 tasks of {work * 1e3:g} ms on 2 workers; after {work * 250:g} ms, RUNNING futures and "
          "cancel() -> True:")
    rows = {}
    for kind, warm, label in (("thread", True, "ThreadPoolExecutor(2)"),
                              ("process", True, "ProcessPoolExecutor(2), workers up"),
                              ("process", False, "ProcessPoolExecutor(2), cold (its first submit forks them)")):
        rows[label] = [cancel_count(kind, 2, 10, work, warm) for _ in range(args.trials if kind == "process" else 1)]
        print(f"  {label:58s} " + "; ".join(f"{r} RUNNING, {k} cancelled" for r, k in rows[label]))
    c_thread = find(r"ThreadPoolExecutor\(2\):\s+cancel\(\) -> True for (\d+ of \d+ \(\d+) were RUNNING", out)
    c_process = find(r"ProcessPoolExecutor\(2\):\s+cancel\(\) -> True for (\d+ of \d+ \(\d+) were RUNNING", out)

    def show(rs):
        return f"{', '.join(str(k) for _, k in rs)} of 10 ({', '.join(str(r) for r, _ in rs)} RUNNING)"

    cmp.row("10 tasks on ThreadPoolExecutor(2), all cancelled after a quarter of a task: cancel() True",
            c_thread and c_thread + " RUNNING)", show(rows["ThreadPoolExecutor(2)"]), ratio=False)
    cmp.row("the same on ProcessPoolExecutor(2), its workers up", c_process and c_process + " RUNNING)",
            show(rows["ProcessPoolExecutor(2), workers up"]), ratio=False)
    cmp.row("the same, the executor cold (the first submit forks the workers)", None,
            show(rows["ProcessPoolExecutor(2), cold (its first submit forks them)"]), ratio=False)
    most = most_running(2, 10, work)
    print(f"  while 10 tasks run to the end on ProcessPoolExecutor(2), at most {most} futures were RUNNING at once")
    cmp.row("most futures RUNNING at once, 10 tasks run to the end on ProcessPoolExecutor(2) (sampled every ms)",
            find(r"\((\d+) were RUNNING: 2 in the workers", out, int), most, ratio=False,
            note="2 running, max_workers + 1 in the call queue")
