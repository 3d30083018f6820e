"""10_shared/shared.py: processes adding to one multiprocessing.Value (part 1), beside
shared_value.c.

P processes (fork), made after the counter, wait at a multiprocessing.Barrier and each
add 1 to the counter --iterations times, three ways (the fourth of the C file, an
atomic add, has no Python call: NaN):
  lock=False   Value('i', 0, lock=False): v.value += 1 on the bare number (ten times as
               many additions, as shared_value.c does: they are that much faster)
  Value        Value('i', 0), whose lock is taken for the read and again for the write
  get_lock     with v.get_lock(): v.value += 1
Each process notes its start and finish (time.monotonic_ns, the one clock of every
process); the cost is the last finish less the first start over all the additions,
the median of --repeat runs made round robin; the share lost, the median. Then an
Array('l'): each process fills its own slice, with the array's lock and without.
"""
import ctypes
import re
import time

import wb

MODES = ("lock=False", "Value", "get_lock")
LABELS = {"lock=False": "lock=False", "Value": "Value (lock per access)", "get_lock": "with get_lock()",
          "atomic": "atomic add"}


def adder(mode, v, n, gate, stamps, k):
    wb.child_init()
    gate.wait(30)
    t = time.monotonic_ns()
    if mode == "get_lock":
        for _ in range(n):
            with v.get_lock():
                v.value += 1
    else:
        for _ in range(n):
            v.value += 1
    stamps[2 * k], stamps[2 * k + 1] = t, time.monotonic_ns()


def filler(arr, lo, hi, gate, stamps, k):
    wb.child_init()
    gate.wait(30)
    t = time.monotonic_ns()
    for i in range(lo, hi):
        arr[i] = i
    stamps[2 * k], stamps[2 * k + 1] = t, time.monotonic_ns()


def together(target, argsof, procs):
    """Starts `procs` fork children at a Barrier; returns the time from the first start to
    the last finish, in ns."""
    ctx = wb.fork_context()
    gate = ctx.Barrier(procs)
    stamps = ctx.Array(ctypes.c_int64, 2 * procs, lock=False)
    ps = [ctx.Process(target=target, args=(*argsof(k), gate, stamps, k)) for k in range(procs)]
    try:
        for p in ps:
            p.start()
        wb.end_all(ps, 120)  # (waits for them; one still running then is killed)
        for p in ps:
            if p.exitcode != 0:
                raise RuntimeError(f"an adding process exited {p.exitcode}")
    finally:
        wb.end_all(ps)
    return max(stamps[1::2]) - min(stamps[0::2])


def add_run(mode, procs, iterations):
    """ns per addition and % lost, for one run."""
    ctx = wb.fork_context()
    v = ctx.Value("i", 0, lock=(mode != "lock=False"))
    n = iterations * (10 if mode == "lock=False" else 1)
    ns = together(adder, lambda k: (mode, v, n), procs)
    got = v.value
    return ns / (n * procs), 100.0 * (n * procs - got) / (n * procs)


def array_ns(procs, iterations, lock):
    ctx = wb.fork_context()
    n = iterations * procs
    arr = ctx.Array("l", n, lock=lock)
    ns = together(filler, lambda k: (arr, n * k // procs, n * (k + 1) // procs), procs)
    if any(arr[i] != i for i in range(n)):
        raise RuntimeError("an item of the Array is wrong")
    return ns / n


def part(args, d, cmp, cdat):
    res = {}
    for _ in range(args.repeat):
        for procs in range(1, args.max_procs + 1):
            for m in MODES:
                res.setdefault((m, procs), []).append(add_run(m, procs, args.iterations))
    cols = ["procs: processes adding at once", "ns_median (ns): wall time / all additions, median",
            "ns_p10 (ns): 10th percentile", "ns_p90 (ns): 90th percentile", "lost (%): updates lost, median"]
    print(f"  P processes each add 1 to one Value {args.iterations} times ({10 * args.iterations} with lock=False); "
          f"median of {args.repeat}")
    print(f"  {'way':26} {'P':>3} {'ns per add':>11} {'lost':>8}")
    med = {}
    for m in MODES + ("atomic",):
        d.block(m if m != "get_lock" else "get_lock", cols)
        if m == "atomic":
            continue  # (no atomic add on a Value in Python: the block stays NaN)
        for procs in range(1, args.max_procs + 1):
            r = res[(m, procs)]
            s, lost = wb.summary([x[0] for x in r]), wb.summary([x[1] for x in r]).median
            med[(m, procs)] = (s.median, lost)
            d.row(procs, s.median, s.p10, s.p90, lost)
            print(f"  {LABELS[m]:26} {procs:3d} {s.median:11.1f} {lost:7.2f}%")
    p = min(max(2, wb.cores()), args.max_procs)
    lock = wb.fork_context().Value("i", 0).get_lock()
    kind = f"{type(lock).__module__}.{type(lock).__name__}"
    print(f"  Value('i', 0).get_lock() is a {kind}")
    cmp.row("the lock of a Value (it is taken again inside `with v.get_lock():`)",
            "a process-shared recursive mutex", kind, ratio=False)
    with_lock, without = array_ns(p, args.iterations, True), array_ns(p, args.iterations, False)
    print(f"  Array('l', {p * args.iterations}), each of {p} processes fills its own slice: every item right; "
          f"ns per item {with_lock:.1f} with the array's lock, {without:.1f} with lock=False "
          f"({with_lock / without:.1f}x)")

    def c(m, col):
        return cdat.at(MODES.index(m) if m in MODES else 3, col, "procs", p) if cdat else None

    for m in MODES:
        cmp.row(f"{LABELS[m]}: v.value += 1, {p} processes: updates lost", c(m, "lost"), med[(m, p)][1], "%",
                ratio=False)
    for m in MODES:
        cmp.row(f"{LABELS[m]}: time per addition, {p} processes", c(m, "ns_median"), med[(m, p)][0], "ns")
    cmp.row(f"atomic add, {p} processes (no Python call)", c("atomic", "ns_median"), "none", "ns", ratio=False)
    out = wb.run_c("10-shared/shared_value", ["--procs", str(p), "--iterations", str(args.iterations),
                                              "--repeat", "1"], timeout=120) or ""
    ca = re.search(r"ns per item: ([0-9.]+) with the array's lock, ([0-9.]+) with lock=False", out)
    if out:
        cmp.source("shared_value (Array)", f"chapters/10-shared/shared_value --procs {p} --iterations "
                                           f"{args.iterations} --repeat 1, run {wb.now_utc()}")
    cmp.row(f"Array('l'), each of {p} processes fills its own slice: ns per item with the array's lock",
            float(ca.group(1)) if ca else None, with_lock, "ns")
    cmp.row("the same with lock=False", float(ca.group(2)) if ca else None, without, "ns")
