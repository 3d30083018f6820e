"""07_coroutine/switches.py: one switch on CPython, beside switch_cost.c.

Half a round trip between two parties, the methods taking turns sample by sample, the
median of --samples: resuming a generator (next()), two greenlets switching to each
other, two threads taking turns through a threading.Condition (pinned to one CPU, then
to two), two processes bouncing a byte through two pipes (one CPU, two), and two asyncio
tasks awaiting asyncio.sleep(0) in turn. Each lands in the row of switch_cost's method
it mirrors; asyncio, which switch_cost has no row for, is a tenth.
"""
import asyncio
import os
import threading
import time

import bars
import wb
from optional import NOT_INSTALLED, greenlet


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
        wb.end_all([self.proc], grace=5)
        os.close(self.back_r)


async def _ping(n):
    for _ in range(n):
        await asyncio.sleep(0)


def asyncio_rounds(n, state):
    async def both():
        await asyncio.gather(_ping(n), _ping(n))
    state["loop"].run_until_complete(both())


# (switch_cost.c's method index, label, colour group, divisor of --rounds); the methods
# CPython has no counterpart of (the bare swap, FPU modes, swapcontext) are NaN rows
METHODS = [(0, "generator\\nnext()", 3, 1), (1, None, 7, 1), (2, "greenlet\\n.switch()", 1, 1), (3, None, 1, 1),
           (4, None, 5, 20), (5, "Condition\\n1 CPU", 2, 200), (6, "Condition\\n2 CPUs", 2, 200),
           (7, "processes\\n1 CPU", 4, 200), (8, "processes\\n2 CPUs", 4, 200), (9, "asyncio\\nsleep(0)", 6, 20)]


def measure(args):
    """{method index: [ns per switch, one per sample]}"""
    cpus = sorted(os.sched_getaffinity(0))[:2]
    wb.pin(cpus[0])
    state = {"gen": ticker(), "loop": asyncio.new_event_loop()}
    parties = []
    run = {0: gen_rounds, 9: asyncio_rounds}
    divisor = {m[0]: m[3] for m in METHODS}
    try:
        if greenlet:
            state["other"] = greenlet.greenlet(greenlet_partner)
            run[2] = greenlet_rounds
        for idx, cls, k in ((5, CondPartner, 0), (6, CondPartner, 1), (7, PipePartner, 0), (8, PipePartner, 1)):
            if k < len(cpus):
                parties.append(cls(cpus[k]))
                run[idx] = parties[-1].rounds
        for idx, f in run.items():  # warm-up
            f(args.rounds // divisor[idx] // 10 + 1, state)
        ns = {idx: [] for idx in run}
        for _ in range(args.samples):
            for idx, f in run.items():
                n = max(1, args.rounds // divisor[idx])
                t = time.perf_counter_ns()
                f(n, state)
                ns[idx].append((time.perf_counter_ns() - t) / (2 * n))
        return ns
    finally:
        for p in parties:
            p.close()
        state["loop"].close()
        wb.unpin()


def part(args, d, cmp, cdat):
    med = bars.write(d, "one switch, by method", ["method (index)", "median (ns): one switch", "p10 (ns)",
                                                   "p90 (ns)", "label (text)", "group (1-7): the figure's colour"],
                     [m[:3] for m in METHODS], measure(args),
                     f"one switch (half a round trip), median of {args.samples}")

    def c(idx):
        return cdat.at(0, "median", "method", idx) if cdat else None

    cmp.row("resume a generator: next() (C: generator.h)", c(0), med[0], "ns")
    cmp.row("greenlet.switch() between two greenlets (C: coro_switch, on stacks of their own)", c(2),
            med.get(2, NOT_INSTALLED["greenlet"]), "ns", "greenlet copies stacks: see the copy_cost rows")
    for idx, what in ((5, "two threads taking turns, one CPU (Condition; C: a condition variable)"),
                      (6, "two threads taking turns, two CPUs"), (7, "two processes, a byte through pipes, one CPU"),
                      (8, "two processes, a byte through pipes, two CPUs")):
        if idx in med:
            cmp.row(what, c(idx), med[idx], "ns")
    cmp.row("two asyncio tasks, await asyncio.sleep(0) in turn", None, med[9], "ns")
    return med
