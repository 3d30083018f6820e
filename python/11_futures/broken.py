"""11_futures/broken.py: a worker killed under a ProcessPoolExecutor (part 2), beside
broken_pool.c.

broken_pool's eight tasks on ProcessPoolExecutor(2): each squares its number after one
unit of work (a sleep); task 3 kills its own worker with SIGKILL halfway through. Which
futures come back with a result and which with BrokenProcessPool, how long after the
kill the last pending one failed, and what one more submit gets. It runs in a child
with a time limit (wb.bounded), so that an executor that never noticed the death could
not hang the script.
"""
import concurrent.futures as cf
import os
import re
import signal
import struct
import time

import wb

KILLER = 3
g_kill_fd = None  # where task 3 writes the time of its death (a pipe its worker inherited)


def task(i, unit):
    if i == KILLER:
        time.sleep(unit / 2)
        os.write(g_kill_fd, struct.pack("d", time.monotonic()))
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(unit)
    return i * i


def broken_child(conn, unit):
    global g_kill_fd
    r, g_kill_fd = os.pipe()
    ended = {}
    ex = cf.ProcessPoolExecutor(2, mp_context=wb.fork_context(), initializer=wb.worker_init)
    try:
        fs = [ex.submit(task, i, unit) for i in range(8)]
        for i, f in enumerate(fs):
            f.add_done_callback(lambda f, i=i: ended.setdefault(i, time.monotonic()))
        outcomes = []
        for f in fs:
            try:
                outcomes.append(f"result {f.result(30)}")
            except cf.process.BrokenProcessPool:
                outcomes.append("BrokenProcessPool")
        try:
            later = f"result {ex.submit(task, 10, unit).result(10)}"
        except cf.process.BrokenProcessPool:
            later = "BrokenProcessPool"
        killed = struct.unpack("d", os.read(r, 8))[0]
        end = time.monotonic() + 10
        while len(ended) < len(fs) and time.monotonic() < end:  # (callbacks run just after the wake-up)
            time.sleep(0.001)
        failed = [ended[i] - killed for i, o in enumerate(outcomes) if o == "BrokenProcessPool"]
        conn.send((outcomes, later, min(failed) * 1e3, max(failed) * 1e3))
    finally:
        ex.shutdown(wait=True, cancel_futures=True)


def part(args, cmp, c):
    unit = max(args.unit, 20 * wb.NS_PER_MS) / 1e9  # (as broken_pool's, whose least unit is 20 ms)
    hung, secs, msgs, _ = wb.bounded(broken_child, (unit,), timeout=30)
    if not msgs:
        raise RuntimeError(f"the broken-pool experiment reported nothing in {secs:.0f} s"
                           + (" (it hung)" if hung else ""))
    outcomes, later, first, last = msgs[0]
    out = c.out("broken")
    c_rows = re.findall(r"^  (\d)\s{2,}(result \d+|BrokenProcessPool)\s{2,}(.*)$", out or "", re.M)
    c_later = re.search(r"then 10 submit -> (\S+) \((\w+)\)\s+(.*)$", out or "", re.M)
    print(f"  ProcessPoolExecutor(2), 8 tasks of {unit * 1e3:g} ms, task 3 kills its own worker:")
    print(f"  {'task':6}{'CPython':28}{'C, Python`s way':28}C, the pool's way")
    for i, o in enumerate(outcomes):
        left, right = (c_rows[i][1], c_rows[i][2]) if i < len(c_rows) else ("", "")
        print(f"  {i:<6}{o:28}{left:28}{right}")
    print(f"  then 10 submit -> {later}; the futures failed {first:.1f} to {last:.1f} ms after the kill")
    lost = sum(o == "BrokenProcessPool" for o in outcomes)
    c_lost = re.search(r"results lost: (\d+) of 8 the Python way, (\d+) of 8 the pool's way", out or "")
    came = ", ".join(str(i) for i, o in enumerate(outcomes) if o.startswith("result"))
    c_came = ", ".join(k for k, left, _ in c_rows if left.startswith("result"))
    cmp.row("ProcessPoolExecutor(2), 8 tasks, task 3 kills its worker: the tasks whose result came back",
            c_came or None, came, ratio=False, note="C: broken_pool, EXEC_BREAK (Python's way)")
    cmp.row("... results lost (task 2 ran in the healthy worker)", int(c_lost.group(1)) if c_lost else None, lost,
            ratio=False)
    cmp.row("... the same with chapter 03's pool's way (EXEC_REPLACE): results lost",
            int(c_lost.group(2)) if c_lost else None, "(no such mode)", ratio=False)
    cmp.row("... then one more submit", c_later and "BrokenProcessPool", later, ratio=False)
    cmp.row("... from the kill to the last pending future failed", None, last, "ms",
            note="the manager thread waits on every worker's sentinel")
