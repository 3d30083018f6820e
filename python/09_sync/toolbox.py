"""09_sync/toolbox.py: the rules of threading's Semaphore, Condition, Event, Barrier and
queue.Queue (part 1), beside semaphore_demo, event_barrier, queue_join and
solutions/futex_event, whose output gives the C side.

Every wait has a timeout: a rule that failed would end the part with an error, never
hang it. The pauses are the C programs' own (the same seeded splitmix64 numbers), so
both sides run the same schedule.
"""
import inspect
import queue
import re
import threading
import time

import wb

PATIENCE = 30.0  # every blocking call's bound: far beyond any wait of this part
M64 = (1 << 64) - 1


def random_unit(state):
    """common.h's random_unit (splitmix64): the C programs' seeded pauses."""
    state[0] = (state[0] + 0x9e3779b97f4a7c15) & M64
    x = state[0]
    x = ((x ^ (x >> 30)) * 0xbf58476d1ce4e5b9) & M64
    x = ((x ^ (x >> 27)) * 0x94d049bb133111eb) & M64
    x ^= x >> 31
    return (x >> 11) * 2.0 ** -53


def take(sem, what):
    if not sem.acquire(timeout=PATIENCE):
        raise RuntimeError(f"{what}: no acquire within {PATIENCE:g} s")


def start(targets):
    ts = [threading.Thread(target=f, daemon=True) for f in targets]
    for t in ts:
        t.start()
    return ts


def c_out(program, args):
    out = wb.run_c("09-sync/" + program, args, timeout=120)
    return out or ""


def find(pattern, text, cast=str):
    m = re.search(pattern, text)
    return cast(m.group(1)) if m else None


def semaphores(args, cmp):
    hold = args.hold / 1e9
    sem = threading.Semaphore(3)
    guard = threading.Lock()
    inside = [0, 0]  # now, most

    def user(n):
        def go():
            pause = hold + random_unit([n + 1]) * hold  # semaphore_demo's seeds: n + 1
            take(sem, "Semaphore(3)")
            with guard:
                inside[0] += 1
                inside[1] = max(inside)
            time.sleep(pause)
            with guard:
                inside[0] -= 1
            sem.release()
        return go

    wb.join_all(start([user(n) for n in range(10)]), 60 + 20 * hold)
    back = count_in(sem, 4)
    for _ in range(back):
        sem.release()
    rules = {}
    for kind in (threading.Semaphore, threading.BoundedSemaphore):
        s = kind(3)
        before = count_in(s, 4)  # takes all it can, keeps them
        for _ in range(before):
            s.release()
        try:
            s.release()  # one more than acquired
            said = "accepted silently"
        except ValueError as e:
            said = f"ValueError: {e}"
        rules[kind.__name__] = (before, said, count_in(s, 4))
    print(f"  Semaphore(3), 10 threads holding it {hold * 1e3:g} to {2 * hold * 1e3:g} ms: at most {inside[1]} "
          f"inside; {back} non-blocking acquires get in afterwards")
    for name, (before, said, after) in rules.items():
        print(f"  {name}(3): {before} of 3+1 get in; one release too many: {said}; then {after} of 3+1 get in")
    out = c_out("semaphore_demo", ["--hold", wb.format_duration(args.hold)])
    if out:
        cmp.source("semaphore_demo", f"chapters/09-sync/semaphore_demo --hold {wb.format_duration(args.hold)}, "
                                     f"run {wb.now_utc()}")
    cmp.row("Semaphore(3), 10 threads: most inside at once", find(r"at most (\d+) at once", out, int), inside[1],
            ratio=False)
    cmp.row("Semaphore(3): one release more than acquired",
            find(r" Semaphore\(3\): one release more than acquired: (\S+)", out), rules["Semaphore"][1],
            ratio=False)
    cmp.row("Semaphore(3) after that: non-blocking acquires that get in, of 3+1",
            find(r" Semaphore\(3\): now (\d+) of", out, int), rules["Semaphore"][2], ratio=False)
    cmp.row("BoundedSemaphore(3): one release more than acquired",
            find(r"BoundedSemaphore\(3\): one release more than acquired: (\S+)", out),
            rules["BoundedSemaphore"][1], ratio=False)


def count_in(sem, most):
    """How many non-blocking acquires of sem succeed, up to `most` (they are kept)."""
    n = 0
    while n < most and sem.acquire(blocking=False):
        n += 1
    return n


def conditions(args, cmp):
    bare = re.sub(r" at 0x[0-9a-f]+", "", repr(threading.Condition()))
    lock_kind = "RLock" if "RLock" in bare else "Lock" if "lock" in bare.lower() else bare
    print(f"  threading.Condition(): {bare}")
    cmp.row("the lock of a Condition made without one", "Lock (cond.c takes the lock it is given)",
            lock_kind, ratio=False)

    # notify(2) among 5 waiters that began waiting in the order 0..4
    cond = threading.Condition(threading.Lock())
    arrived, released, woke = threading.Semaphore(0), set(), []

    def waiter(k):
        def go():
            with cond:
                arrived.release()  # main takes the lock only once wait() has let it go
                if not cond.wait_for(lambda: k in released, PATIENCE):
                    raise RuntimeError(f"waiter {k} never released")
                woke.append(k)
        return go

    ts = []
    for k in range(5):  # one at a time, so that they wait in this order
        ts += start([waiter(k)])
        take(arrived, "a waiter's start")
        with cond:  # (granted once waiter k is in the condition's queue)
            pass
    with cond:  # everyone may go now, but notify(2) wakes only two of them
        released.update(range(5))
        cond.notify(2)
    time.sleep(0.05)
    with cond:
        first = list(woke)
        cond.notify_all()
    wb.join_all(ts, PATIENCE)
    first = sorted(first)  # (the order they took the lock back in is the scheduler's)
    print(f"  notify(2) among 5 waiters (they began waiting as 0, 1, 2, 3, 4): woke {first}; notify_all: "
          f"then the other {len(woke) - len(first)}")
    cmp.row("notify(2) among 5 waiters, which began waiting as 0..4: who wakes",
            "0, 1: the 2 oldest (cond.c's FIFO; tests/test_sync.c)",
            ", ".join(map(str, first)) + (": the 2 oldest" if first == [0, 1] else ""), ratio=False)

    # a waiter whose time runs out while notify(1) picks it
    cond = threading.Condition(threading.Lock())
    got, late = {}, {}
    step = 0.05

    def short():
        with cond:
            got["a"] = cond.wait(step)

    def patient():
        with cond:
            t = time.perf_counter()
            got["b"] = cond.wait(PATIENCE)
            late["b"] = time.perf_counter() - t

    ta = start([short])[0]
    time.sleep(step / 5)
    tb = start([patient])[0]
    time.sleep(step / 5)
    with cond:  # held past a's timeout: a's wait has ended, but it cannot take the lock back
        time.sleep(2 * step)
        cond.notify(1)  # picks a, the oldest: its waiter lock is still in the deque
    ta.join(PATIENCE)
    time.sleep(2 * step)
    woken_b = "b" in got
    with cond:
        cond.notify(1)
    tb.join(PATIENCE)
    verdict = (f"wait returned {got.get('a')}; the other waiter was " +
               ("woken (the notification went to it)" if woken_b else "not woken: the notification was spent"))
    print(f"  a waiter whose 50 ms ran out while notify(1) picked it: {verdict}")
    cmp.row("a waiter whose time ran out just as notify(1) picked it", "reported as notified (cond.c)", verdict,
            ratio=False)


def events(args, cmp):
    firsts, lasts = [], []
    for _ in range(args.rounds):
        ev = threading.Event()
        asleep = threading.Semaphore(0)
        ran = []

        def waiter():
            asleep.release()
            if not ev.wait(PATIENCE):
                raise RuntimeError("Event never set")
            ran.append(time.perf_counter())

        ts = start([waiter] * 8)
        for _ in range(8):
            take(asleep, "waiter start")
        time.sleep(0.005)  # they are asleep in wait() by now
        t = time.perf_counter()
        ev.set()
        wb.join_all(ts, PATIENCE)
        firsts.append((min(ran) - t) * 1e6)
        lasts.append((max(ran) - t) * 1e6)
    first, last = wb.summary(firsts).median, wb.summary(lasts).median
    print(f"  8 waiters on an Event, after set(), median of {args.rounds}: first runs after {first:.1f} µs, "
          f"last after {last:.1f} µs")
    out = wb.run_c("09-sync/solutions/futex_event", ["--repeat", str(args.rounds)], timeout=120) or ""
    if out:
        cmp.source("futex_event", f"chapters/09-sync/solutions/futex_event --repeat {args.rounds}, run {wb.now_utc()}")
    m = re.search(r"event\.c:.*first runs after +([0-9.]+) [uµ]s, last after +([0-9.]+) [uµ]s", out)
    cmp.row("Event.set() with 8 waiters: the first runs after (C: event.c)", float(m.group(1)) if m else None,
            first, "µs")
    cmp.row("Event.set() with 8 waiters: the last runs after (C: event.c)", float(m.group(2)) if m else None,
            last, "µs")


def barriers(args, cmp):
    # Barrier(4, action): indexes, and who runs the action
    runner = []
    b = threading.Barrier(4, action=lambda: runner.append(threading.current_thread().name), timeout=PATIENCE)
    idx = {}

    def party(k):
        def go():
            time.sleep(0.002 * (k + 1))
            idx[threading.current_thread().name] = b.wait()
        return go

    ts = [threading.Thread(target=party(k), name=f"worker-{k}", daemon=True) for k in range(4)]
    for t in ts:
        t.start()
    wb.join_all(ts, PATIENCE)
    by = idx.get(runner[0]) if runner else None
    print(f"  Barrier(4, action): indexes {sorted(idx.values())}; the action ran in the party that got index {by}")
    out = c_out("event_barrier", ["--timeout", wb.format_duration(args.timeout)])
    if out:
        cmp.source("event_barrier", f"chapters/09-sync/event_barrier --timeout {wb.format_duration(args.timeout)}, "
                                    f"run {wb.now_utc()}")
    c_by = None
    m = re.search(r"(worker-\d+) +action: all arrived", out)
    if m:
        c_by = find(re.escape(m.group(1)) + r" +passed, index (\d+)", out[m.end():], int)
    cmp.row("Barrier(4, action): index of the party that runs the action", c_by, by,
            note="the last to arrive gets n - 1", ratio=False)

    # Barrier(3, timeout): party-1 comes a tenth of the timeout after party-0, party-2
    # 2.5 timeouts late; then reset(); then abort() by party-2
    t_out = args.timeout / 1e9
    b = threading.Barrier(3, timeout=t_out)
    broke = {}

    def party3(k, delay, abort=False, limit=None):
        def go():
            time.sleep(delay)
            t = time.perf_counter()
            if abort:
                b.abort()
                broke[k] = ("aborted", t)
                return
            try:
                b.wait(limit)
                broke[k] = ("passed", time.perf_counter() - t)
            except threading.BrokenBarrierError:
                broke[k] = ("BrokenBarrierError", time.perf_counter() - t, time.perf_counter())
        return go

    wb.join_all(start([party3(0, 0), party3(1, t_out / 10), party3(2, 2.5 * t_out)]), PATIENCE)
    first = dict(broke)
    b.reset()
    broke.clear()
    wb.join_all(start([party3(k, 0.002 * k, limit=PATIENCE) for k in range(3)]), PATIENCE)
    after_reset = dict(broke)
    broke.clear()
    wb.join_all(start([party3(0, 0, limit=PATIENCE), party3(1, 0.002, limit=PATIENCE),
                       party3(2, 0.004, abort=True)]), PATIENCE)
    aborted = dict(broke)
    learned = max(aborted[k][2] for k in (0, 1)) - aborted[2][1]
    for k in range(3):
        print(f"  Barrier(3, timeout={t_out:g}): party-{k}: {first[k][0]} after {first[k][1]:.3f} s")
    print(f"  after reset(): {', '.join(after_reset[k][0] for k in range(3))}; after party-2's abort(): the others "
          f"{aborted[0][0]}, {aborted[1][0]}, the last {learned * 1e3:.2f} ms after the abort")
    c_after = [None] * 3
    for k, x in re.findall(r"party-(\d) +SYNC_BROKEN after ([0-9.]+) s", out):
        if c_after[int(k)] is None:  # (the first time each party broke: the timeout round)
            c_after[int(k)] = float(x)
    what = ("times out" if k == 0 else "came a tenth of the timeout later" if k == 1 else "came 2.5 timeouts late"
            for k in range(3))
    for k, w in enumerate(what):
        cmp.row(f"Barrier(3, timeout={t_out:g} s): party-{k}, which {w}: broken after", c_after[k], first[k][1], "s",
                f"C: SYNC_BROKEN; CPython: {first[k][0]}", ratio=False)
    c_learn = None
    m = re.search(r"([0-9.]+)s +\d+ party-2 +fails, and calls abort\(\)", out)
    if m:
        ends = [float(x) for x in re.findall(r"([0-9.]+)s +\d+ party-[01] +SYNC_BROKEN", out[m.end():])]
        c_learn = (max(ends) - float(m.group(1))) * 1e3 if ends else None
    cmp.row("abort() by one party: the others' BrokenBarrierError comes after", c_learn, learned * 1e3, "ms",
            "C: from event_barrier's timestamps, 1 ms resolution", ratio=False)


def queues(args, cmp):
    work = args.work / 1e9
    jobs, workers = (6 if args.quick else 10), 3
    q = queue.Queue()
    seed = [1]
    pauses = [work + random_unit(seed) * work for _ in range(jobs)]
    stamps = {"took": 0.0, "done": 0.0}
    guard = threading.Lock()

    def worker():
        while True:
            item = q.get(timeout=PATIENCE)
            if item is None:
                q.task_done()
                return
            with guard:
                stamps["took"] = time.perf_counter()
            time.sleep(item)
            with guard:
                stamps["done"] = time.perf_counter()
            q.task_done()

    ts = start([worker] * workers)
    for p in pauses:
        q.put(p)
    joined = []
    joiner = threading.Thread(target=lambda: (q.join(), joined.append(time.perf_counter())), daemon=True)
    joiner.start()  # (join has no timeout: a thread of its own, joined with one)
    joiner.join(PATIENCE)
    if not joined:
        raise RuntimeError("join() did not return")
    after_empty, after_done = joined[0] - stamps["took"], joined[0] - stamps["done"]
    for _ in ts:
        q.put(None)
    wb.join_all(ts, PATIENCE)
    try:
        q.task_done()
        extra = "accepted"
    except ValueError as e:
        extra = f"ValueError: {e}"
    join_timeout = "timeout" in inspect.signature(queue.Queue.join).parameters
    shutdown = hasattr(queue.Queue, "shutdown")
    print(f"  {jobs} jobs, {workers} workers: join() returned {after_empty * 1e3:.1f} ms after the last job was "
          f"taken, {after_done * 1e3:.3f} ms after the last task_done(); one task_done() too many: {extra}")
    print(f"  Queue.join has a timeout: {'yes' if join_timeout else 'no'}; Queue.shutdown: "
          f"{'yes' if shutdown else 'no (3.13 added it)'}")
    out = c_out("queue_join", ["--work", wb.format_duration(args.work), "--jobs", str(jobs)])
    if out:
        cmp.source("queue_join", f"chapters/09-sync/queue_join --work {wb.format_duration(args.work)} --jobs {jobs}, "
                                 f"run {wb.now_utc()}")
    m = re.search(r"join\(\) returned ([0-9.]+) s after the queue ran empty, ([0-9.]+) ms after", out)
    cmp.row("join() returned after the last job was taken (the queue empty)", float(m.group(1)) * 1e3 if m else None,
            after_empty * 1e3, "ms", "the last job's length: the same seeded pauses", ratio=False)
    cmp.row("join() returned after the last task_done()", float(m.group(2)) if m else None, after_done * 1e3, "ms")
    cmp.row("one task_done() too many", find(r"task_done\(\) too many: (\S+)", out), extra, ratio=False)
    cmp.row("join() with a timeout", "yes (tqueue_join's own extension)", "yes" if join_timeout else "no",
            ratio=False)
    cmp.row("Queue.shutdown()", "yes (tqueue_shutdown, 3.13's)", "yes" if shutdown else "not in this interpreter",
            ratio=False)


def part(args, cmp):
    semaphores(args, cmp)
    conditions(args, cmp)
    events(args, cmp)
    barriers(args, cmp)
    queues(args, cmp)
