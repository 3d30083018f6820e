"""06_rlock.py: threading.RLock and threading.Lock on CPython, beside chapter 06's RLock.

Runs what chapter 06's rlock_demo and lock_compare show in C:
  1. A recursive function that takes the RLock at every level, three deep, with the
     count the RLock reports (its repr); the same function with a plain Lock, whose
     second acquire (with a time limit) waits for its own thread.
  2. The rules: a release by a thread that does not own the RLock, acquire(blocking=
     False) and acquire(timeout=...) while another thread owns it, a blocking acquire
     that waits through the owner's first release until its second, and one release
     more than acquired.
  3. What a lock costs: acquire, add 1 to a shared counter, release, in a loop for
     --duration, for Lock and RLock; one thread, two threads on one CPU, two threads on
     two CPUs; the busier thread's share of the pairs, and how often a thread slept
     (voluntary context switches, getrusage(RUSAGE_THREAD)) per million pairs.

The lesson's idiom:   l = threading.RLock(); l.acquire(); l.acquire(); l.release(); l.release()

Run:   python3 python/06_rlock.py [--quick] [--data DIR]
Writes DIR/lock_compare_py.dat (lock_compare's columns; the error-checking and
recursive pthread kinds have no Python counterpart: NaN) and DIR/compare_06.json. Look
for: the same rules as rlock.c; a Lock+release several times C's mutex alone, and on
two cores a cost set by the GIL's hand-offs rather than by the lock.
"""
import re
import threading
import time

import wb


def depth_of(rlock):
    m = re.search(r"count=(\d+)", repr(rlock))
    return int(m.group(1)) if m else None


def recurse(lock, depth, limit, counts, timeout):
    got = lock.acquire(timeout=timeout)
    if not got:
        return f"depth {depth}: gave up after {timeout:g} s (its own thread holds it)"
    try:
        counts.append(depth_of(lock))
        if depth < limit:
            return recurse(lock, depth + 1, limit, counts, timeout)
        return f"reached depth {depth}"
    finally:
        lock.release()


def part1(args, cmp):
    timeout = args.timeout / 1e9
    counts = []
    r = recurse(threading.RLock(), 1, 3, counts, timeout)
    t = time.perf_counter()
    p = recurse(threading.Lock(), 1, 3, [], timeout)
    plain_s = time.perf_counter() - t
    print(f"  RLock, three deep: {r}, counts {counts}; plain Lock: {p} ({plain_s:.3f} s)")
    c = {}
    out = wb.run_c("06-rlock/rlock_demo", ["--timeout", wb.format_duration(args.timeout)], timeout=60)
    if out:
        cmp.source("rlock_demo", f"chapters/06-rlock/rlock_demo --timeout {wb.format_duration(args.timeout)}, "
                                 f"run {wb.now_utc()}")
        c["counts"] = [int(x) for x in re.findall(r"acquired the RLock, count (\d+)", out)][:3]
        m = re.search(r"gave up after ([0-9.]+)s \(ETIMEDOUT\)", out)
        c["plain"] = float(m.group(1)) if m else None
        m = re.search(r"release, not being the owner: +(\w+)", out)
        c["foreign"] = m.group(1) if m else None
        m = re.search(r"got it after ([0-9.]+)s", out)
        c["waited"] = float(m.group(1)) if m else None
        m = re.search(r"one release more than acquired: (\w+)", out)
        c["extra"] = m.group(1) if m else None
    cmp.row("the RLock's count at depths 1, 2, 3", str(c.get("counts")) if c else None, str(counts), ratio=False)
    cmp.row("a plain lock taken again by its holder, with a time limit: gives up after", c.get("plain"), plain_s, "s")
    return c


def part2(args, cmp, c):
    rl = threading.RLock()
    rl.acquire()
    rl.acquire()
    seen = {}
    step = args.timeout / 1e9 / 2

    def other():
        try:
            rl.release()
            seen["foreign"] = "released (unexpected)"
        except RuntimeError as e:
            seen["foreign"] = f"RuntimeError: {e}"
        seen["nonblocking"] = rl.acquire(blocking=False)
        t = time.perf_counter()
        seen["timed"] = (rl.acquire(timeout=step), time.perf_counter() - t)
        t = time.perf_counter()
        if not rl.acquire(timeout=60):  # (bounded: main may be interrupted holding it)
            raise RuntimeError("main never released the RLock")
        seen["waited"] = time.perf_counter() - t
        rl.release()

    th = threading.Thread(target=other, daemon=True)
    th.start()
    time.sleep(step * 2)  # other is in its blocking acquire by now
    rl.release()  # count 1: still ours
    time.sleep(step / 2)
    rl.release()  # free: wakes other
    th.join(10)
    try:
        rl.release()
        extra = "released (unexpected)"
    except RuntimeError as e:
        extra = f"RuntimeError: {e}"
    print(f"  another thread: release -> {seen['foreign']}; acquire(blocking=False) -> {seen['nonblocking']}; "
          f"acquire(timeout={step:g}) -> {seen['timed'][0]} after {seen['timed'][1]:.3f} s; acquire() waited "
          f"{seen['waited']:.3f} s, through main's first release until its second")
    print(f"  main, one release more than acquired: {extra}")
    cmp.row("release by a thread that does not own the RLock", c.get("foreign"), seen["foreign"], ratio=False)
    cmp.row("a blocking acquire waits through the owner's first release to its second: it waited",
            c.get("waited"), seen["waited"], "s", "each side's own pauses", ratio=False)
    cmp.row("one release more than acquired", c.get("extra"), extra, ratio=False)


def pairs_run(lock, threads, duration, cpus):
    """Every thread loops on acquire, counter += 1, release for `duration` seconds
    (wb.lock_pairs). Returns ns per pair (wall / all pairs), the busier thread's share
    (%), sleeps per million pairs."""
    ns, done, sleeps = wb.lock_pairs(lock, cpus if cpus is not None else [None] * threads, duration)
    total = sum(done)
    return ns, 100.0 * max(done) / total, sum(sleeps) / total * 1e6


def part3(args, d, cmp, cdat):
    places = [(1, None), (2, [0, 0]), (2, [0, 1] if wb.cores() >= 2 else None)]
    kinds = {0: ("Lock", threading.Lock), 3: ("RLock", threading.RLock)}
    res = {}
    for _ in range(args.repeat):
        for k, (_, make) in kinds.items():
            for pl, (threads, cpus) in enumerate(places):
                if threads == 2 and cpus is None:
                    continue
                res.setdefault((k, pl), []).append(pairs_run(make(), threads, args.duration / 1e9, cpus))
    d.block("ns per lock+unlock pair, by kind and placement", [
        "kind (index): 0 threading.Lock, 1 error-checking (none), 2 recursive (none), 3 threading.RLock",
        "one (ns): 1 thread, median", "one_p10 (ns)", "one_p90 (ns)",
        "core (ns): 2 threads on CPU 0, median", "core_p10 (ns)", "core_p90 (ns)",
        "cores (ns): 2 threads on CPUs 0 and 1, median (NaN with one core)", "cores_p10 (ns)", "cores_p90 (ns)",
        "core_busier (%): 2 threads on CPU 0, median share of the pairs done by the busier thread",
        "cores_busier (%): the same on CPUs 0 and 1", "label (text)",
        "core_sleeps (count): 2 threads on CPU 0, median number of times a thread slept (voluntary context "
        "switches) per million pairs", "cores_sleeps (count): the same on CPUs 0 and 1"])
    print(f"  ns per acquire+release pair (median of {args.repeat} runs of {args.duration / 1e6:g} ms): "
          "1 thread | 2 threads, 1 CPU | 2 threads, 2 CPUs (busier thread's share; sleeps per million pairs)")
    med = {}
    for k in range(4):
        if k not in kinds:
            d.row(k, *([None] * 11), ("error-checking", "recursive")[k - 1], None, None)
            continue
        row, busier, sleeps = [k], [], []
        for pl in range(3):
            r = res.get((k, pl))
            if not r:
                row += [None] * 3
                busier.append(None)
                sleeps.append(None)
                continue
            s = wb.summary([x[0] for x in r])
            med[(k, pl)] = s.median
            row += [s.median, s.p10, s.p90]
            busier.append(wb.summary([x[1] for x in r]).median)
            sleeps.append(wb.summary([x[2] for x in r]).median)
        d.row(*row, busier[1], busier[2], kinds[k][0], sleeps[1], sleeps[2])
        print(f"  {kinds[k][0]:6} " + " | ".join(
            f"{med[(k, pl)]:8.1f}" + (f" ({busier[pl]:.0f}%; {sleeps[pl]:.0f})" if pl else "")
            for pl in range(3) if (k, pl) in med))
        if k == 0:
            sleeps_lock = sleeps[2]

    def c(kind, col):
        return cdat.at(0, col, "kind", kind) if cdat else None

    cmp.row("Lock acquire + release, one thread (C: default mutex)", c(0, "one"), med[(0, 0)], "ns")
    cmp.row("RLock acquire + release, one thread (C: rlock.c)", c(3, "one"), med[(3, 0)], "ns")
    if (0, 2) in med:
        cmp.row("Lock, two threads on two cores (C: default mutex)", c(0, "cores"), med[(0, 2)], "ns")
        cmp.row("RLock, two threads on two cores (C: rlock.c)", c(3, "cores"), med[(3, 2)], "ns")
        cmp.row("Lock, two threads on two cores: sleeps per million pairs", c(0, "cores_sleeps"), sleeps_lock, "",
                ratio=False)


def run():
    args = wb.parse(__doc__.split("\n")[0], [
        wb.Opt("timeout", "duration", wb.NS_PER_S, "how long a timed acquire waits", 10 * wb.NS_PER_MS,
               60 * wb.NS_PER_S, quick=100 * wb.NS_PER_MS),
        wb.Opt("duration", "duration", 30 * wb.NS_PER_MS, "length of one run in part 3", wb.NS_PER_MS,
               10 * wb.NS_PER_S, quick=4 * wb.NS_PER_MS),
        wb.Opt("repeat", "int", 7, "runs per point in part 3 (the median is kept)", 1, 1000, quick=2),
    ])
    cmp = wb.Compare(args.data, "06", "RLock")
    cdat = wb.read_data(args.data, "lock_compare")
    cmp.c_data(cdat)
    print("Part 1: three deep, and the plain lock's self-deadlock")
    c = part1(args, cmp)
    print("Part 2: who may release, and when others get it")
    part2(args, cmp, c)
    print("Part 3: what each lock costs")
    with wb.DataFile(args.data, "lock_compare", "lock_compare (CPython): the cost of one acquire+release pair") as d:
        part3(args, d, cmp, cdat)
    cmp.write()


if __name__ == "__main__":
    wb.main(run)
