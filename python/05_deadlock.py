"""05_deadlock.py: the lessons' deadlocks on CPython, each in a child with a time limit.

Runs what chapter 05's deadlock_early_return, deadlock_abba and errorcheck show in C:
  1. The lesson's get_value: 30 threads share one Lock and the list [3, 6, 8, 1]; the
     lookup of index 4 returns early, before lock.release(). The program, run as the
     lesson wrote it (the main thread joins every thread), in a child process: a
     watchdog thread in it reports when nothing has moved for --stall, and the parent
     kills the child at its time limit and reports a hang. Then the fix, `with lock:`.
  2. A Lock released by a thread that never acquired it; a Lock acquired twice by the
     same thread, with acquire(timeout=...) so that it ends.
  3. Two locks taken in opposite orders (A then B against B then A, a pause between):
     with plain acquire() in a child with a time limit, and with
     acquire(timeout=...), which detects the cycle as a C timed lock does.
No hang can outlast its limit: every deadlock runs in a child that is killed.

The lesson's idiom:   lock.acquire(); if index >= len(lst): return ...; lock.release()

Run:   python3 python/05_deadlock.py [--quick] [--data DIR]
Writes DIR/compare_05.json (no figure). Look for: the same hang as in C, found only
from outside (a Lock has no owner to name), and the fixes that end it.
"""
import re
import threading
import time

import wb

VALUES = [3, 6, 8, 1]


def get_value_program(conn, threads, hold, stall, fixed):
    """The lesson's program, in a child of wb.bounded(); reports through conn."""
    lock = threading.Lock()
    printed = []

    def get_value(index):
        if fixed:
            with lock:
                if index >= len(VALUES):
                    return
                time.sleep(hold)
                printed.append(VALUES[index])
            return
        lock.acquire()
        if index >= len(VALUES):
            return  # the early return: lock.release() is never reached
        time.sleep(hold)
        printed.append(VALUES[index])
        lock.release()

    def watchdog():
        last, since = -1, time.monotonic()
        while True:
            time.sleep(stall / 4)
            if len(printed) != last:
                last, since = len(printed), time.monotonic()
            elif time.monotonic() - since >= stall:
                waiting = sum(1 for t in ts if t.is_alive())
                conn.send(("stalled", list(printed), lock.locked(), waiting))
                return

    ts = [threading.Thread(target=get_value, args=(i,), name=f"get_value-{i}", daemon=True) for i in range(threads)]
    threading.Thread(target=watchdog, daemon=True).start()
    for t in ts:
        t.start()
    for t in ts:
        t.join()  # the lesson's main thread: here it waits for ever
    conn.send(("done", list(printed), lock.locked(), 0))


def part1(args, cmp):
    hold, stall = args.hold / 1e9, args.stall / 1e9
    limit = len(VALUES) * hold + 2 * stall + 1.0
    stalled = lambda m: m[0] == "stalled"  # noqa: E731: the watchdog saw no progress
    hung, secs, msgs, _ = wb.bounded(get_value_program, (30, hold, stall, False), timeout=limit, stop_when=stalled)
    _, printed, locked, waiting = msgs[0] if msgs else ("?", [], None, None)
    if hung:
        verdict = (f"hung: printed {printed}, then nothing for {stall:g} s; lock.locked() = {locked}, no owner "
                   f"to name; {waiting} threads waiting; killed after {secs:.2f} s")
    else:
        verdict = f"ended by itself after {secs:.1f} s (unexpected)"
    print(f"  the lesson's get_value, 30 threads: {verdict}")
    fhung, fsecs, fmsgs, _ = wb.bounded(get_value_program, (30, hold, stall, True), timeout=limit)
    fixed = f"all 30 threads finished in {fsecs:.2f} s, values {fmsgs[-1][1]}" if not fhung and fmsgs else \
        f"hung (unexpected), killed after {fsecs:.1f} s"
    print(f"  with `with lock:`: {fixed}")

    c, cfix = None, None
    args_c = ["--hold", wb.format_duration(args.hold), "--stall", wb.format_duration(args.stall)]
    out = wb.run_c("05-deadlock/deadlock_early_return", args_c, timeout=60, status=1)
    if out:
        cmp.source("deadlock_early_return", f"chapters/05-deadlock/deadlock_early_return {' '.join(args_c)}, "
                                            f"run {wb.now_utc()}")
        m = re.search(r"held by (get_value-\d+) .*?; ([^;]*?the thread has ended)", out)
        n = re.search(r"\n\s*([0-9.]+)s .*exit status 1: a deadlock", out)
        c = f"watchdog report at {n.group(1) if n else '?'} s: held by {m.group(1) if m else '?'} " \
            f"({'ended' if m else '?'}); exit 1"
        out = wb.run_c("05-deadlock/deadlock_early_return", args_c + ["--fixed"], timeout=60)
        cfix = re.search(r"all 30 threads finished[^\n]*", out).group(0) if out else None
    cmp.row("the lesson's early return, 30 threads", c, verdict, ratio=False)
    cmp.row("the same with the release on every path (C: cleanup attribute; Python: with lock:)", cfix, fixed,
            ratio=False)


def part2(args, cmp):
    lock = threading.Lock()
    lock.acquire()
    outcome = []

    def other():
        try:
            lock.release()
            outcome.append("released it: no error")
        except RuntimeError as e:
            outcome.append(f"RuntimeError: {e}")

    t = threading.Thread(target=other)
    t.start()
    t.join(10)
    print(f"  a Lock held by main, released by another thread: {outcome[0]}")
    t0 = time.perf_counter()
    lock.acquire()
    again = lock.acquire(timeout=args.timeout / 1e9)
    secs = time.perf_counter() - t0
    lock.release()
    print(f"  a Lock acquired twice by one thread: acquire(timeout={wb.format_duration(args.timeout)}) -> {again} "
          f"after {secs:.3f} s")
    c1 = c2 = None
    out = wb.run_c("05-deadlock/errorcheck", ["--timeout", wb.format_duration(args.timeout)], timeout=60)
    if out:
        cmp.source("errorcheck", f"chapters/05-deadlock/errorcheck --timeout {wb.format_duration(args.timeout)}, "
                                 f"run {wb.now_utc()}")
        if re.search(r"unlock by a thread that does not own it: +EPERM", out):
            c1 = "EPERM (error-checking mutex)"
        m = re.search(r"lock again by the owner, gave up after ([0-9.]+)s", out)
        c2 = float(m.group(1)) if m else None
    cmp.row("a lock released by a thread that does not hold it", c1, outcome[0], ratio=False)
    cmp.row("a lock taken twice by one thread, with a time limit: gives up after", c2, secs, "s",
            "C: default mutex, pthread_mutex_timedlock; an error-checking one says EDEADLK at once")


def abba_program(conn, pause, timeout, stall):
    """Thread ab takes A then B, thread ba B then A; with timeout None both take the
    second lock with a plain acquire(), else ab waits `timeout` and ba half as long
    again (with one limit both would give up at the same instant and report no cycle).
    The main thread says when nothing has ended for `stall`, then waits on."""
    a, b = threading.Lock(), threading.Lock()

    def side(first, second, name, limit):
        with first:
            time.sleep(pause)
            got = second.acquire() if limit is None else second.acquire(timeout=limit)
            if got:
                second.release()
                conn.send((name, "took both"))
            else:
                conn.send((name, f"gave up after {limit:g} s"))

    ts = [threading.Thread(target=side, args=(a, b, "ab", timeout), daemon=True),
          threading.Thread(target=side, args=(b, a, "ba", timeout and 1.5 * timeout), daemon=True)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(stall)
        if t.is_alive():
            conn.send(("main", "stalled"))
    for t in ts:
        t.join()


def part3(args, cmp):
    pause, timeout, stall = args.pause / 1e9, args.timeout / 1e9, args.stall / 1e9
    hung, secs, msgs, _ = wb.bounded(abba_program, (pause, None, stall), timeout=pause + stall + 5,
                                     stop_when=lambda m: m == ("main", "stalled"))
    plain = f"hung: nothing for {stall:g} s, killed after {secs:.2f} s" if hung else \
        f"finished in {secs:.2f} s: {msgs}"
    hung2, secs2, msgs2, _ = wb.bounded(abba_program, (pause, timeout, 10 * timeout + stall),
                                        timeout=pause + 3 * timeout + stall + 5)
    timed = ", ".join(f"{n} {w}" for n, w in msgs2) + f"; done in {secs2:.2f} s"
    print(f"  A/B against B/A, plain acquire(): {plain}")
    print(f"  the same with acquire(timeout=...): {timed}")
    c = None
    cargs = ["--pause", wb.format_duration(args.pause), "--timeout", wb.format_duration(args.timeout)]
    out = wb.run_c("05-deadlock/deadlock_abba", cargs, timeout=60, status=1)
    if out:
        cmp.source("deadlock_abba", f"chapters/05-deadlock/deadlock_abba {' '.join(cargs)}, run {wb.now_utc()}")
        m = re.search(r"(\w+) +gave up on \w after ([0-9.]+)s", out)
        n = re.search(r"(\w+) +\s*round 1: took \w too", out)
        c = f"{m.group(1)} gave up after {m.group(2)} s naming the cycle" + \
            (f", {n.group(1)} took both" if n else "") + "; exit 1" if m else None
    cplain = None
    out = wb.run_c("05-deadlock/deadlock_abba", cargs + ["--lock", "plain"], timeout=60, status=1)
    if out:
        m = re.search(r"\n\s*([0-9.]+)s .*a cycle, a deadlock", out)
        cplain = f"hangs; its watchdog names the cycle at {m.group(1)} s; exit 1" if m else None
    cmp.row("two locks in opposite orders, plain acquire() (C: --lock plain)", cplain, plain, ratio=False)
    cmp.row("the same, the second lock with a time limit", c, timed, ratio=False)


def run():
    args = wb.parse(__doc__.split("\n")[0], [
        wb.Opt("hold", "duration", 200 * wb.NS_PER_MS, "how long a lookup holds the lock (the lesson's 0.2 s)", 0,
               10 * wb.NS_PER_S, quick=10 * wb.NS_PER_MS),
        wb.Opt("stall", "duration", wb.NS_PER_S, "no progress for this long is a hang", 10 * wb.NS_PER_MS,
               60 * wb.NS_PER_S, quick=200 * wb.NS_PER_MS),
        wb.Opt("timeout", "duration", wb.NS_PER_S, "how long a timed acquire waits", 10 * wb.NS_PER_MS,
               60 * wb.NS_PER_S, quick=200 * wb.NS_PER_MS),
        wb.Opt("pause", "duration", 50 * wb.NS_PER_MS, "time between a thread's first lock and its second", 0,
               wb.NS_PER_S, quick=5 * wb.NS_PER_MS),
    ])
    if args.stall < 2 * args.hold:
        args.die("--stall must be at least twice --hold, or an honest lookup looks like a hang")
    cmp = wb.Compare(args.data, "05", "Deadlock")
    print("Part 1: the early return")
    part1(args, cmp)
    print("Part 2: a lock without an owner")
    part2(args, cmp)
    print("Part 3: two locks, two orders")
    part3(args, cmp)
    cmp.write()


if __name__ == "__main__":
    wb.main(run)
