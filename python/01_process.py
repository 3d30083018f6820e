"""01_process.py: what a multiprocessing.Process costs, and what it buys, on CPython.

Measures what chapter 01's spawn_cost and cpu_processes measure in C:
  1. Process(target=f).start() + join() for a target that does nothing, with each start
     method: fork (a copy of this interpreter), forkserver (a fork of a small server
     process), spawn (a new interpreter: fork + exec of python3); os.fork() + os._exit()
     + os.waitpid() (the system call without multiprocessing's bookkeeping); and
     threading.Thread(...).start() + join() beside them. Median of --repeat after a
     warm-up, with the 10th and 90th percentiles.
  2. Process(fork) again as this process's touched memory grows (an mmap'd region, every
     page written, with and without transparent huge pages), against spawn and threads.
  3. The lessons' claim for processes: a CPU-bound job (the lesson's additions, a plain
     `for i in range(n): s += i` loop) split over P = 1..--max-procs processes; the
     wall time, the speed-up and the children's CPU time. Runs go round robin over P.

The lesson's idiom:   p = Process(target=work, args=(lo, hi)); p.start(); p.join()

Run:   python3 python/01_process.py [--quick] [--data DIR]
Writes DIR/spawn_cost_py.dat and DIR/cpu_processes_py.dat (the C programs' columns) and
DIR/compare_01.json (the rows of plots/compare.md), reading DIR/spawn_cost.dat and
DIR/cpu_processes.dat for the C side. Look for: fork costing a few times C's fork, spawn
tens of milliseconds (a whole interpreter starts), and the speed-up of 2 processes near
2 on two cores, as in C.
"""
import mmap
import multiprocessing
import os
import re
import resource
import struct
import threading
import time

import wb

METHODS = ("fork", "forkserver", "spawn")


def nothing():
    pass


def once_us(kind):
    t = time.perf_counter_ns()
    if kind == "os.fork":  # the system call alone, without multiprocessing's bookkeeping
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        if os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) != 0:
            raise RuntimeError("os.fork child failed")
    elif kind == "thread":
        th = threading.Thread(target=nothing)
        th.start()
        th.join()
    else:
        p = multiprocessing.get_context(kind).Process(target=nothing)
        p.start()
        p.join()
        if p.exitcode != 0:
            raise RuntimeError(f"Process({kind}) exited {p.exitcode}")
    return (time.perf_counter_ns() - t) / 1e3


def measure(kind, repeat):
    for _ in range(2):  # warm-up: the forkserver starts, the code paths are paged in
        once_us(kind)
    return wb.summary([once_us(kind) for _ in range(repeat)])


def touched(mib, huge):
    """An anonymous mapping of mib MiB with every page written; None for 0."""
    if mib == 0:
        return None
    m = mmap.mmap(-1, mib << 20, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    advice = getattr(mmap, "MADV_HUGEPAGE" if huge else "MADV_NOHUGEPAGE", None)
    if advice is not None:
        m.madvise(advice)
    for off in range(0, mib << 20, mmap.PAGESIZE):
        m[off] = 1
    return m


def anon_huge_kb():
    with open("/proc/self/smaps_rollup") as f:
        for line in f:
            if line.startswith("AnonHugePages:"):
                return int(line.split()[1])
    return 0


def named_child(conn):
    wb.child_init()  # (it holds the parent's end too: without the parent, no end of file)
    conn.recv()  # wait until the parent has looked


def kernel_name(cmp):
    """What ps shows for Process(name="aaa_process"): /proc/PID/comm."""
    ctx = multiprocessing.get_context("fork")
    a, b = ctx.Pipe()
    p = ctx.Process(target=named_child, args=(b,), name="aaa_process")
    try:
        p.start()
        with open(f"/proc/{p.pid}/comm") as f:
            comm = f.read().strip()
        a.send("done")
        p.join(10)
    finally:
        wb.end_all([p])
        a.close()
        b.close()
    c = None
    out = wb.run_c("01-process/process_basics", ["--quick"], timeout=30)
    if out:
        cmp.source("process_basics", f"chapters/01-process/process_basics --quick, run {wb.now_utc()}")
        m = re.search(r'the kernel knows pid \d+ as "([^"]*)"', out)
        c = m.group(1) if m else None
    print(f"  Process(name='aaa_process'): the kernel (ps) calls the child {comm!r}")
    cmp.row("the name ps shows for Process(name='aaa_process') (C: prctl(PR_SET_NAME))", c, comm, ratio=False)


def add_up(lo, hi, fd):
    s = 0
    for i in range(lo, hi):
        s += i
    os.write(fd, struct.pack("<Q", s % (1 << 64)))


def split_sum(n, procs):
    """The job 0 + 1 + ... + n-1 split over `procs` fork children; returns the wall time
    and the total, read back through one pipe (8 bytes per child: each write is whole)."""
    ctx = multiprocessing.get_context("fork")
    r, w = os.pipe()
    children = []
    try:
        t = time.perf_counter()
        for k in range(procs):
            p = ctx.Process(target=child, args=(n * k // procs, n * (k + 1) // procs, w))
            p.start()
            children.append(p)
        os.close(w)
        w = -1
        total = sum(struct.unpack("<Q", wb.read_exact(r, 8))[0] for _ in range(procs))
        for p in children:
            p.join()
        return time.perf_counter() - t, total % (1 << 64)
    finally:
        wb.end_all(children)
        os.close(r)
        if w >= 0:
            os.close(w)


def child(lo, hi, fd):
    wb.child_init()
    add_up(lo, hi, fd)


def children_cpu():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def part1(args, data, cmp, cdat):
    print(f"Part 1: start and join a unit of work that does nothing (median of {args.repeat}, µs)")
    data.block("start and reap, by method",
               ["method (index): 0 os.fork, 1 Process(fork), 2 Process(forkserver), 3 Process(spawn), 4 Thread",
                "median (us)", "p10 (us)", "p90 (us)", "label (text)"])
    res = {}
    for i, kind in enumerate(("os.fork",) + METHODS + ("thread",)):
        s = measure(kind, args.repeat if kind != "spawn" else max(3, args.repeat // 4))
        res[kind] = s
        label = {"thread": "Thread", "os.fork": "os.fork"}.get(kind, f"Process\\n({kind})")
        print(f"  {label:22} {s.median:10.1f}   ({s.p10:.1f} .. {s.p90:.1f})")
        data.row(i, s.median, s.p10, s.p90, label)
    c = (lambda label: cdat.at(0, "median", "label", label)) if cdat else (lambda label: None)
    cmp.row("fork + exit + wait (C: fork; CPython: os.fork)", c("fork"), res["os.fork"].median, "µs")
    cmp.row("start + join a process (C: fork; CPython: Process, fork method)", c("fork"), res["fork"].median, "µs")
    cmp.row("start + join through a fork server (CPython: forkserver method)", None, res["forkserver"].median,
            "µs", "C's process.c always forks the parent itself")
    cmp.row("start + join a new program (C: fork + exec of /bin/true; CPython: spawn, a new interpreter)",
            c("fork+exec"), res["spawn"].median, "µs")
    cmp.row("start + join a thread (pthread_create; threading.Thread)", c("thread"), res["thread"].median, "µs")
    return res


def part2(args, data, cmp, cdat):
    print(f"\nPart 2: the same as this process's touched memory grows (median of {args.mem_repeat}, µs)")
    print(f"  {'MiB':>8} {'fork':>12} {'fork (THP)':>12} {'spawn':>12} {'thread':>12}")
    data.block("cost vs touched memory", [
        "mib (MiB): memory the parent touched",
        "fork (us): median Process(fork) start + join, 4 KiB pages", "fork_p10 (us)", "fork_p90 (us)",
        "fork_thp (us): the same with huge pages (NaN if none were given)", "thp_p10 (us)", "thp_p90 (us)",
        "spawn (us): median Process(spawn) start + join", "spawn_p10 (us)", "spawn_p90 (us)",
        "thread (us): median Thread start + join", "thread_p10 (us)", "thread_p90 (us)"])
    last = None
    for mib in (0, 1, 4, 16, 64, 128, 256, 512, 1024):
        if mib > args.max_mib:
            break
        small = touched(mib, False)
        try:
            fk = measure("fork", args.mem_repeat)
            sp = measure("spawn", max(3, args.mem_repeat // 3))
            th = measure("thread", args.mem_repeat)
        finally:
            if small is not None:
                small.close()
        huge = touched(mib, True)
        try:
            thp = measure("fork", args.mem_repeat) if mib >= 4 and anon_huge_kb() >= mib * 1024 // 2 else None
        finally:
            if huge is not None:
                huge.close()
        print(f"  {mib:8d} {fk.median:12.1f} {thp.median if thp else '-':>12} {sp.median:12.1f} {th.median:12.1f}")
        s = [thp.median, thp.p10, thp.p90] if thp else [None] * 3
        data.row(mib, fk.median, fk.p10, fk.p90, *s, sp.median, sp.p10, sp.p90, th.median, th.p10, th.p90)
        last = (mib, fk.median)
    if last:
        cfork = cdat.at(1, "fork", "mib", last[0]) if cdat else None
        cmp.row(f"start + join a process after touching {last[0]} MiB (fork)", cfork, last[1], "µs")


def part3(args, data, cmp, cdat):
    n = args.work * 1000_000
    print(f"\nPart 3: {args.work} million additions split over 1..{args.max_procs} processes, {wb.cores()} cores, "
          f"median of {args.repeat_cpu}")
    expect = n * (n - 1) // 2 % (1 << 64)
    wall = {p: [] for p in range(1, args.max_procs + 1)}
    cpu = {p: [] for p in wall}
    for _ in range(args.repeat_cpu):
        for p in wall:
            c0 = children_cpu()
            t, total = split_sum(n, p)
            if total != expect:
                raise RuntimeError(f"{p} processes summed {total}, expected {expect}")
            wall[p].append(t)
            cpu[p].append(children_cpu() - c0)
    data.block("wall time and speed-up vs processes", [
        "procs (count): P, the number of processes", "median_s (s): median wall time", "p10_s (s)", "p90_s (s)",
        "speedup (x): median time with 1 process / median time with P",
        "cpu_s (s): median CPU time (user + system) of the P children together", "cores (count): online CPUs"])
    print(f"  {'procs':>5} {'median s':>10} {'p10 s':>10} {'p90 s':>10} {'speed-up':>9} {'CPU s':>10}")
    one = wb.summary(wall[1]).median
    speedup = {}
    for p in wall:
        s, c = wb.summary(wall[p]), wb.summary(cpu[p])
        speedup[p] = one / s.median
        print(f"  {p:5d} {s.median:10.3f} {s.p10:10.3f} {s.p90:10.3f} {speedup[p]:8.2f}x {c.median:10.3f}")
        data.row(p, s.median, s.p10, s.p90, speedup[p], c.median, wb.cores())
    for p in (2, 4):
        if p in speedup:
            c = cdat.at(0, "speedup", "procs", p) if cdat else None
            cmp.row(f"CPU-bound job on {p} processes: speed-up over one", c, speedup[p], "x")
    cmp.row("CPU-bound job on one process", cdat.at(0, "median_s", "procs", 1) if cdat else None, one, "s",
            f"not the same job: C sums hashes of its numbers, CPython adds {args.work} million numbers",
            ratio=False)


def run():
    args = wb.parse(__doc__.split("\n")[0], [
        wb.Opt("repeat", "int", 51, "runs per start method in part 1", 3, 10000, quick=3),
        wb.Opt("mem-repeat", "int", 9, "runs per point in part 2", 3, 1000, quick=3),
        wb.Opt("max-mib", "int", 256, "largest touched memory in part 2 (MiB)", 0, 1024, quick=4),
        wb.Opt("work", "int", 10, "part 3's job, in millions of additions", 1, 1000, quick=1),
        wb.Opt("max-procs", "int", min(8, 2 * wb.cores()), "largest number of processes in part 3", 1, 64, quick=2),
        wb.Opt("repeat-cpu", "int", 3, "runs per process count in part 3", 1, 100, quick=1),
    ])
    cmp = wb.Compare(args.data, "01", "Processes")
    spawn_c, cpu_c = wb.read_data(args.data, "spawn_cost"), wb.read_data(args.data, "cpu_processes")
    cmp.c_data(spawn_c)
    cmp.c_data(cpu_c)
    cmp.row("multiprocessing's default start method on Linux", "fork", multiprocessing.get_start_method(),
            note="C: process.c always forks", ratio=False)
    kernel_name(cmp)
    with wb.DataFile(args.data, "spawn_cost", "spawn_cost (CPython): start and join one unit of work") as d:
        part1(args, d, cmp, spawn_c)
        part2(args, d, cmp, spawn_c)
    with wb.DataFile(args.data, "cpu_processes", "cpu_processes (CPython): a fixed CPU-bound job split over P "
                                                 "processes") as d:
        part3(args, d, cmp, cpu_c)
    cmp.write()


if __name__ == "__main__":
    wb.main(run)
