"""07_coroutine.py: generators, greenlet, gevent and asyncio on CPython, beside chapter 07.

Measures what chapter 07's switch_cost, gevent_demo and many_sleepers measure in C:
  1. One switch, half a round trip between two parties: resuming a generator (next()),
     two greenlets switching to each other, two threads taking turns through a
     threading.Condition (pinned to one CPU, then to two), two processes bouncing a byte
     through two pipes (one CPU, two), and two asyncio tasks that await
     asyncio.sleep(0) in turn. Median of --samples, the methods taking turns.
     And making one, running it to its first stop and getting rid of it: a generator, a
     greenlet, a thread (start + join), a process (os.fork + os._exit + waitpid), an
     asyncio task.
  2. The lesson's gevent program (monkey.patch_all(), two workers printing and sleeping
     random times, gevent.joinall), in a fresh interpreter, with the same random sleeps
     as gevent_demo: are the lines in the same order, and how long does it take? And
     unpatched, where time.sleep blocks every greenlet.
  3. The lesson's asyncio example and beyond: N tasks that each sleep, started together
     and joined, each N in a fresh interpreter (spawn): asyncio tasks up to 100,000,
     threads and gevent greenlets up to 10,000, processes up to 300 (each forked
     interpreter soon has megabytes of its own); wall time, time beyond the sleep per
     task, memory per task.
greenlet and gevent are optional: without them their rows say "not installed".

The lesson's idiom:   gr1 = greenlet(test1); gr1.switch()   and   gevent.joinall([...])

Run:   python3 python/07_coroutine.py [--quick] [--data DIR]
Writes DIR/switch_cost_py.dat, DIR/many_sleepers_py.dat and DIR/compare_07.json. Look
for: switches in hundreds of nanoseconds where C's take ten; gevent's lines in
gevent_demo's order; 100,000 asyncio tasks sleeping together at about a KiB each.
"""
import asyncio
import importlib.util
import multiprocessing
import os
import re
import resource
import subprocess
import sys
import threading
import time

import wb

try:
    import greenlet
except ImportError:
    greenlet = None
# gevent is imported only where it runs (a fresh interpreter each time): here, only whether
# it is there
HAVE_GEVENT = importlib.util.find_spec("gevent") is not None

NOT_INSTALLED = {"greenlet": "not installed (Debian: python3-greenlet)",
                 "gevent": "not installed (Debian: python3-gevent)"}

# ---- part 1: one switch ----------------------------------------------------------------


def ticker():
    n = 0
    while True:
        n += 1
        yield n


def gen_rounds(n, state):
    g = state["gen"]
    for _ in range(n):
        next(g)


def greenlet_rounds(n, state):
    other = state["other"]
    for _ in range(n):
        other.switch()


def greenlet_partner():
    parent = greenlet.getcurrent().parent
    while True:
        parent.switch()


class CondPartner:
    """A thread pinned to `cpu` that answers every turn through a Condition."""

    def __init__(self, cpu):
        self.cond, self.turn, self.stop = threading.Condition(), 0, False
        self.thread = threading.Thread(target=self.loop, args=(cpu,), daemon=True)
        self.thread.start()

    def loop(self, cpu):
        wb.pin(cpu)
        with self.cond:
            while True:
                while self.turn == 0 and not self.stop:
                    self.cond.wait(10)
                if self.stop:
                    return
                self.turn = 0
                self.cond.notify()

    def rounds(self, n, state=None):
        with self.cond:
            for _ in range(n):
                self.turn = 1
                self.cond.notify()
                while self.turn == 1:
                    if not self.cond.wait(10):
                        raise RuntimeError("the partner thread did not answer in 10 s")

    def close(self):
        with self.cond:
            self.stop = True
            self.cond.notify()
        self.thread.join(10)


def pipe_partner(cpu, rfd, wfd, others):
    wb.child_init()
    for fd in others:  # the parent's ends: with them open here, no end of file would come
        os.close(fd)
    wb.pin(cpu)
    while True:
        b = os.read(rfd, 1)
        if not b:
            os._exit(0)
        os.write(wfd, b)


class PipePartner:
    """A forked process pinned to `cpu` that sends back every byte."""
    parent_ends = set()  # every partner's parent-side ends, closed in each child

    def __init__(self, cpu):
        self.to_r, self.to_w = os.pipe()
        self.back_r, self.back_w = os.pipe()
        PipePartner.parent_ends |= {self.to_w, self.back_r}
        self.proc = wb.fork_context().Process(target=pipe_partner, args=(cpu, self.to_r, self.back_w,
                                                                         sorted(PipePartner.parent_ends)))
        self.proc.start()
        os.close(self.to_r)
        os.close(self.back_w)

    def rounds(self, n, state=None):
        for _ in range(n):
            os.write(self.to_w, b"x")
            if os.read(self.back_r, 1) != b"x":
                raise RuntimeError("the pipe partner ended")

    def close(self):
        os.close(self.to_w)
        PipePartner.parent_ends -= {self.to_w, self.back_r}
        self.proc.join(5)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()
        os.close(self.back_r)


async def _ping(n):
    for _ in range(n):
        await asyncio.sleep(0)


def asyncio_rounds(n, state):
    async def both():
        await asyncio.gather(_ping(n), _ping(n))
    state["loop"].run_until_complete(both())


# (index, label, colour group, divisor of --rounds) as in switch_cost.c; None: no Python
METHODS = [(0, "generator", 3, 1), (1, None, 7, 1), (2, "greenlet", 1, 1), (3, None, 1, 1), (4, None, 5, 20),
           (5, "Condition\\n1 CPU", 2, 200), (6, "Condition\\n2 CPUs", 2, 200), (7, "processes\\n1 CPU", 4, 200),
           (8, "processes\\n2 CPUs", 4, 200), (9, "asyncio\\nsleep(0)", 6, 20)]
C_LABEL = {0: "generator", 2: "coro_switch (ours)", 5: "threads, condvar, one CPU", 6: "threads, condvar, two CPUs",
           7: "processes, pipe, one CPU", 8: "processes, pipe, two CPUs"}


def switches(args, d, cmp, cdat):
    cpus = sorted(os.sched_getaffinity(0))[:2]
    wb.pin(cpus[0])
    state = {"gen": ticker(), "loop": asyncio.new_event_loop()}
    parties = []
    run = {0: gen_rounds, 9: asyncio_rounds}
    try:
        if greenlet:
            state["other"] = greenlet.greenlet(greenlet_partner)
            run[2] = greenlet_rounds
        for idx, cls, k in ((5, CondPartner, 0), (6, CondPartner, 1), (7, PipePartner, 0), (8, PipePartner, 1)):
            if k < len(cpus):
                parties.append(cls(cpus[k]))
                run[idx] = parties[-1].rounds
        for idx, f in run.items():  # warm-up
            f(args.rounds // dict((m[0], m[3]) for m in METHODS)[idx] // 10 + 1, state)
        ns = {idx: [] for idx in run}
        for _ in range(args.samples):
            for idx, _, _, div in METHODS:
                if idx in run:
                    n = max(1, args.rounds // div)
                    t = time.perf_counter_ns()
                    run[idx](n, state)
                    ns[idx].append((time.perf_counter_ns() - t) / (2 * n))
    finally:
        for p in parties:
            p.close()
        state["loop"].close()
        wb.unpin()
    d.block("one switch, by method", ["method (index)", "median (ns): one switch", "p10 (ns)", "p90 (ns)",
                                      "label (text)", "group (1-7): the figure's colour"])
    print(f"  one switch (half a round trip), median of {args.samples}, ns:")
    med = {}
    for idx, label, group, _ in METHODS:
        if idx not in ns:
            d.row(idx, None, None, None, label or "-", group)
            continue
        s = wb.summary(ns[idx])
        med[idx] = s.median
        d.row(idx, s.median, s.p10, s.p90, label, group)
        print(f"  {label.replace(chr(92) + 'n', ' '):24} {s.median:12.1f} ({s.p10:.1f} .. {s.p90:.1f})")

    def c(idx):
        return cdat.at(0, "median", "method", idx) if cdat else None

    cmp.row("resume a generator: next() (C: generator.h)", c(0), med[0], "ns")
    cmp.row("switch between two greenlets (C: coro_switch)", c(2), med.get(2, NOT_INSTALLED["greenlet"]), "ns")
    for idx, what in ((5, "two threads taking turns, one CPU (Condition; C: condvar)"),
                      (6, "two threads taking turns, two CPUs"), (8, "two processes, a byte through pipes, two CPUs")):
        if idx in med:
            cmp.row(what, c(idx), med[idx], "ns")
    cmp.row("two asyncio tasks, await asyncio.sleep(0) in turn", None, med[9], "ns")
    return med


async def _noop():
    return None


def make_generator(reps):
    for _ in range(reps):
        g = ticker()
        next(g)
        g.close()


def make_greenlet(reps):
    for _ in range(reps):
        greenlet.greenlet(lambda: None).switch()


def make_thread(reps):
    for _ in range(reps):
        t = threading.Thread(target=lambda: None)
        t.start()
        t.join()


def make_process(reps):
    for _ in range(reps):
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)


def make_task(reps):
    async def many():
        for _ in range(reps):
            await asyncio.create_task(_noop())
    asyncio.run(many())


def creation(args, d, cmp, cdat):
    makers = [(0, "generator", make_generator, 3, 1000), (1, "greenlet", make_greenlet if greenlet else None, 1, 200),
              (2, "ucontext", None, 5, 0), (3, "thread", make_thread, 2, 20), (4, "process", make_process, 4, 5),
              (5, "asyncio task", make_task, 6, 100)]
    d.block("making one, by method", ["row (index)", "median (ns): make, run once, destroy", "p10 (ns)", "p90 (ns)",
                                      "label (text)", "group (1-7): the figure's colour"])
    med = {}
    print("  make one, run it to its first stop, destroy it, ns:")
    for idx, label, f, group, reps in makers:
        if f is None:
            d.row(idx, None, None, None, label, group)
            continue
        f(reps)  # warm-up
        samples = []
        for _ in range(args.samples):
            t = time.perf_counter_ns()
            f(reps)
            samples.append((time.perf_counter_ns() - t) / reps)
        s = wb.summary(samples)
        med[idx] = s.median
        d.row(idx, s.median, s.p10, s.p90, label, group)
        print(f"  {label:24} {s.median:12.1f} ({s.p10:.1f} .. {s.p90:.1f})")

    def c(idx):
        return cdat.at(1, "median", "row", idx) if cdat else None

    cmp.row("make a generator and run it to its first yield", c(0), med[0], "ns")
    cmp.row("make a greenlet, run it, end it (C: a coroutine with its own stack)", c(1),
            med.get(1, NOT_INSTALLED["greenlet"]), "ns")
    cmp.row("make a thread, start and join it", c(3), med[3], "ns")
    cmp.row("make an asyncio task and await it", None, med[5], "ns")


# ---- part 2: gevent's interleaving -----------------------------------------------------

GEVENT_LESSON = r'''
import sys, time
seed, scale, count, patched = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
if patched:
    from gevent import monkey
    monkey.patch_all()  # time.sleep now switches to the hub
import gevent

M = (1 << 64) - 1
def mix64(x):  # splitmix64, as common/common.h: the C demo's random sleeps, number for number
    x = ((x ^ (x >> 30)) * 0xbf58476d1ce4e5b9) & M
    x = ((x ^ (x >> 27)) * 0x94d049bb133111eb) & M
    return x ^ (x >> 31)

def coroutine_work(name, state):
    for i in range(count):
        print(f"{time.perf_counter() - t0:.3f} {name} {i}", flush=True)
        state = (state + 0x9e3779b97f4a7c15) & M
        time.sleep((mix64(state) >> 11) * 2.0 ** -53 * scale)

t0 = time.perf_counter()
gevent.joinall([gevent.spawn(coroutine_work, "work1", seed * 2 + 1),
                gevent.spawn(coroutine_work, "work2", seed * 2 + 2)], timeout=4 * count * scale + 10)
print(f"{time.perf_counter() - t0:.3f} joinall")
'''


def lesson_gevent(scale, count, patched):
    r = subprocess.run([sys.executable, "-c", GEVENT_LESSON, "1", f"{scale!r}", str(count), "1" if patched else "0"],
                       capture_output=True, text=True, timeout=4 * count * scale + 30)
    if r.returncode != 0:
        raise RuntimeError(f"the gevent lesson failed: {r.stderr.strip()[-300:]}")
    order = re.findall(r"(work[12] \d+)", r.stdout)
    wall = float(re.search(r"([0-9.]+) joinall", r.stdout).group(1))
    return order, wall


def interleaving(args, cmp):
    if not HAVE_GEVENT:
        for q in ("gevent: the lesson's two workers (same random sleeps as gevent_demo): line order",
                  "gevent: joinall after", "the same without monkey patching (time.sleep blocks: the sum)"):
            cmp.row(q, None, NOT_INSTALLED["gevent"], ratio=False)
        print(f"  gevent: {NOT_INSTALLED['gevent']}")
        return
    order, wall = lesson_gevent(args.scale, 10, True)
    _, wall_unpatched = lesson_gevent(args.scale, 10, False)
    c_order = c_wall = c_unpatched = None
    out = wb.run_c("07-coroutine/gevent_demo", ["--scale", f"{args.scale:g}"], timeout=60)
    if out:
        cmp.source("gevent_demo", f"chapters/07-coroutine/gevent_demo --scale {args.scale:g} (seed 1), "
                                  f"run {wb.now_utc()}")
        c_order = [re.sub(r"\s+", " ", m) for m in re.findall(r"(work[12] \d+)\s*$", out, re.M)]
        c_wall = float(re.search(r"joinall returned after ([0-9.]+) s", out).group(1))
        out2 = wb.run_c("07-coroutine/gevent_demo", ["--scale", f"{args.scale:g}", "--unpatched"], timeout=60)
        m = re.search(r"joinall returned after ([0-9.]+) s", out2 or "")
        c_unpatched = float(m.group(1)) if m else None
    if c_order is None:
        same = None
    elif order == c_order:
        same = f"the same order, all {len(order)} lines"
    else:
        k = next((i for i, (a, b) in enumerate(zip(order, c_order)) if a != b), min(len(order), len(c_order)))
        same = f"differs from line {k + 1} on (C: {c_order[k] if k < len(c_order) else '-'}, " \
               f"gevent: {order[k] if k < len(order) else '-'})"
    print(f"  gevent, patched: {' '.join(x.replace('work', 'w') for x in order)}")
    print(f"  joinall after {wall:.3f} s patched, {wall_unpatched:.3f} s unpatched; against gevent_demo: {same}")
    cmp.row("gevent: the lesson's two workers (same random sleeps as gevent_demo): line order", "the hub's",
            same or "no C run", ratio=False)
    cmp.row(f"gevent: joinall after (sleeps of 0 to {args.scale:g} s)", c_wall, wall, "s")
    cmp.row("the same without monkey patching (time.sleep blocks: the sum)", c_unpatched, wall_unpatched, "s")


# ---- part 3: many sleepers -------------------------------------------------------------


def rss_kib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def uss_kib(pid):
    kib = 0
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith(("Private_Clean:", "Private_Dirty:")):
                kib += int(line.split()[1])
    return kib


def process_sleeper(seconds):
    time.sleep(seconds)


def sleepers_child(conn, kind, n, seconds):
    """In a fresh interpreter: n tasks of `kind` that each sleep `seconds`, together."""
    wb.child_init()
    base = rss_kib()
    uss = None
    t0 = time.perf_counter()
    if kind == "asyncio":
        async def main():
            await asyncio.gather(*[asyncio.create_task(asyncio.sleep(seconds)) for _ in range(n)])
        asyncio.run(main())
    elif kind == "gevent":
        import gevent as gv
        done = gv.joinall([gv.spawn(gv.sleep, seconds) for _ in range(n)], timeout=seconds + 120)
        if len(done) != n:
            raise RuntimeError("not every greenlet finished")
    elif kind == "thread":
        ts = [threading.Thread(target=time.sleep, args=(seconds,), daemon=True) for _ in range(n)]
        for t in ts:
            t.start()
        wb.join_all(ts, seconds + 120)
    else:
        ctx = wb.fork_context()
        ps = []
        try:
            for _ in range(n):
                ps.append(ctx.Process(target=process_sleeper, args=(seconds,)))
                ps[-1].start()
            few = []
            for p in ps[-5:]:  # the last ones started are surely still asleep
                try:
                    few.append(uss_kib(p.pid))
                except FileNotFoundError:
                    pass
            uss = sum(few) / len(few) if few else float("nan")
            for p in ps:
                p.join(seconds + 120)
        finally:
            for p in ps:
                if p.is_alive():
                    p.kill()
                    p.join()
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    conn.send((wall, uss if uss is not None else (peak - base) / n))


def sleepers(kind, n, seconds):
    ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: its peak memory is this run's
    a, b = ctx.Pipe(duplex=False)
    p = ctx.Process(target=sleepers_child, args=(b, kind, n, seconds))
    p.start()
    try:
        b.close()
        if not a.poll(seconds + 180):
            raise RuntimeError(f"{n} {kind} sleepers: no answer")
        wall, mem = a.recv()
        p.join(30)
        return wall, mem
    finally:
        if p.is_alive():
            p.kill()
        p.join()
        a.close()


def many(args, d, cmp, cdat):
    seconds = args.sleep / 1e9
    caps = {"asyncio": args.max_tasks, "thread": args.max_threads, "process": args.max_procs,
            "gevent": args.max_greenlets if HAVE_GEVENT else 0}
    sweep = [100, 300, 1000, 10000, 100000, 1000000]  # most of many_sleepers' sweep
    d.note("sleep_s", f"{seconds:.3f}")
    cols = ["tasks (count)", "wall (s): first start to last join", "extra (ms): wall time beyond one sleep",
            "per_task (us): extra / tasks", "mem (KiB): resident memory per task (processes: USS)",
            "guard (0/1): the stacks had guard pages (threads: glibc's; processes: the kernel's)"]
    res = {}
    print(f"  N tasks each sleeping {seconds:g} s, every N in a fresh interpreter:")
    print(f"  {'kind':10} {'tasks':>8} {'wall s':>9} {'extra ms':>9} {'us/task':>9} {'KiB/task':>9}")
    for kind, title, guard in (("asyncio", "coroutine: asyncio tasks", None), ("thread", "thread", 1),
                               ("process", "process: multiprocessing.Process (fork)", 1),
                               ("gevent", "greenlet: gevent.spawn + gevent.sleep", None)):
        d.block(title, cols)
        for n in sweep:
            if n > caps[kind]:
                break
            wall, mem = sleepers(kind, n, seconds)
            extra = (wall - seconds) * 1e3
            res[(kind, n)] = (wall, extra / n * 1e3, mem)
            d.row(n, wall, extra, extra / n * 1e3, mem, guard)
            print(f"  {kind:10} {n:8d} {wall:9.3f} {extra:9.1f} {extra / n * 1e3:9.2f} {mem:9.2f}")

    def c(block, col, n):
        return cdat.at(block, col, "tasks", n) if cdat else None

    top = max(n for (k, n) in res if k == "asyncio")
    cmp.row(f"{top:,} asyncio tasks sleeping {seconds:g} s together: wall time (C: coroutines on the hub)",
            c(0, "wall", top), res[("asyncio", top)][0], "s")
    cmp.row(f"{top:,} asyncio tasks: time beyond the sleep, per task", c(0, "per_task", top),
            res[("asyncio", top)][1], "µs")
    cmp.row(f"{top:,} asyncio tasks: memory per task", c(0, "mem", top), res[("asyncio", top)][2], "KiB")
    if HAVE_GEVENT:
        tg = max(n for (k, n) in res if k == "gevent")
        cmp.row(f"{tg:,} gevent greenlets: memory per task (C: coroutines)", c(0, "mem", tg),
                res[("gevent", tg)][2], "KiB")
    else:
        cmp.row("gevent greenlets: memory per task", None, NOT_INSTALLED["gevent"], ratio=False)
    tt = max(n for (k, n) in res if k == "thread")
    cmp.row(f"{tt:,} threads: memory per thread", c(1, "mem", tt), res[("thread", tt)][2], "KiB")
    tp = max(n for (k, n) in res if k == "process")
    cmp.row(f"{tp:,} processes: private memory per process", c(2, "mem", tp), res[("process", tp)][2], "KiB")


def lesson_asyncio(args, cmp):
    seconds = args.lesson_sleep / 1e9
    wall, _ = sleepers("asyncio", 1000, seconds)
    c = None
    cargs = ["--tasks", "1000", "--sleep", wb.format_duration(args.lesson_sleep), "--kind", "coroutine"]
    out = wb.run_c("07-coroutine/many_sleepers", cargs, timeout=120)
    if out:
        cmp.source("many_sleepers", f"chapters/07-coroutine/many_sleepers {' '.join(cargs)}, run {wb.now_utc()}")
        m = re.search(r"coroutine\s+1000\s+([0-9.]+)", out)
        c = float(m.group(1)) if m else None
    print(f"  the lesson's 1000 asyncio tasks that each sleep {seconds:g} s: {wall:.3f} s")
    cmp.row(f"the lesson: 1000 tasks that each sleep {seconds:g} s, gathered: wall time", c, wall, "s")


def run():
    args = wb.parse(__doc__.split("\n")[0], [
        wb.Opt("samples", "int", 21, "part 1: samples per method (the median is reported)", 3, 1001, quick=3),
        wb.Opt("rounds", "int", 100000, "part 1: round trips per sample for the fastest methods", 200, 100_000_000,
               quick=2000),
        wb.Opt("scale", "real", 0.1, "part 2: longest sleep in seconds (the lesson: 1)", 0.001, 10, quick=0.02),
        wb.Opt("sleep", "duration", 200 * wb.NS_PER_MS, "part 3: how long each task sleeps", 0, 60 * wb.NS_PER_S,
               quick=20 * wb.NS_PER_MS),
        wb.Opt("lesson-sleep", "duration", wb.NS_PER_S, "part 3: the lesson's sleep, for its 1000 tasks", 0,
               60 * wb.NS_PER_S, quick=50 * wb.NS_PER_MS),
        wb.Opt("max-tasks", "int", 100000, "part 3: largest sweep point for asyncio", 100, 1000000, quick=1000),
        wb.Opt("max-greenlets", "int", 10000, "part 3: largest sweep point for gevent", 100, 1000000, quick=1000),
        wb.Opt("max-threads", "int", 10000, "part 3: largest sweep point for threads", 100, 30000, quick=100),
        wb.Opt("max-procs", "int", 300, "part 3: largest sweep point for processes (each forked CPython "
               "keeps about 2 MiB of its own)", 100, 5000, quick=100),
    ])
    cmp = wb.Compare(args.data, "07", "Coroutines")
    sw, ms = wb.read_data(args.data, "switch_cost"), wb.read_data(args.data, "many_sleepers")
    cmp.c_data(sw)
    cmp.c_data(ms)
    versions = wb.modules()
    print(f"Part 1: what a switch costs ({versions})")
    with wb.DataFile(args.data, "switch_cost", "switch_cost (CPython): one switch, and making a task, by method") as d:
        d.note("modules", versions)
        switches(args, d, cmp, sw)
        creation(args, d, cmp, sw)
    print("Part 2: gevent's interleaving")
    interleaving(args, cmp)
    print("Part 3: many sleepers")
    lesson_asyncio(args, cmp)
    with wb.DataFile(args.data, "many_sleepers", "many_sleepers (CPython): N tasks that each sleep, by kind") as d:
        many(args, d, cmp, ms)
    cmp.write()


if __name__ == "__main__":
    wb.main(run)
