"""09_sync/buffer.py: the bounded buffer three ways (part 2), beside condition_buffer's
part 2.

2 producers and 2 consumers move --items numbers through 4 slots: a deque with a lock
and Conditions not_empty and not_full, the way Lib/queue.py builds queue.Queue, with
`if` around each wait, then with `while`; then with two Semaphores (free slots and
items) and the lock. With `if`, a consumer woken to a buffer another consumer has
already emptied calls popleft() on an empty deque: IndexError, counted, and it asks
again; a producer woken to a full buffer is counted and tries again. With `while` the
same wake-ups are counted as a look and another wait. Every number must arrive once.
"""
import collections
import re
import threading
import time

import wb

PATIENCE = 30.0
SLOTS, PRODUCERS, CONSUMERS = 4, 2, 2


class Buffer:
    def __init__(self):
        self.buf = collections.deque()
        self.lock = threading.Lock()
        self.not_empty = threading.Condition(self.lock)
        self.not_full = threading.Condition(self.lock)
        self.free = threading.Semaphore(SLOTS)
        self.items = threading.Semaphore(0)
        self.woke_empty = self.woke_full = 0

    def wait(self, cond):
        if not cond.wait(PATIENCE):
            raise RuntimeError("a wait ran out of patience: the buffer is stuck")

    def put_if(self, x):
        with self.lock:
            while True:  # asks again after a failed put
                if len(self.buf) >= SLOTS:
                    self.wait(self.not_full)
                if len(self.buf) < SLOTS:
                    break
                self.woke_full += 1  # would have overwritten an item
            self.buf.append(x)
            self.not_empty.notify()

    def get_if(self):
        with self.lock:
            while True:  # asks again after a failed get
                if not self.buf:
                    self.wait(self.not_empty)
                try:
                    x = self.buf.popleft()
                    break
                except IndexError:
                    self.woke_empty += 1
            self.not_full.notify()
            return x

    def put_while(self, x):
        with self.lock:
            while len(self.buf) >= SLOTS:
                self.wait(self.not_full)
                if len(self.buf) >= SLOTS:
                    self.woke_full += 1
            self.buf.append(x)
            self.not_empty.notify()

    def get_while(self):
        with self.lock:
            while not self.buf:
                self.wait(self.not_empty)
                if not self.buf:
                    self.woke_empty += 1
            x = self.buf.popleft()
            self.not_full.notify()
            return x

    def put_sem(self, x):
        if not self.free.acquire(timeout=PATIENCE):
            raise RuntimeError("no free slot within the patience")
        with self.lock:
            self.buf.append(x)
        self.items.release()

    def get_sem(self):
        if not self.items.acquire(timeout=PATIENCE):
            raise RuntimeError("no item within the patience")
        with self.lock:
            x = self.buf.popleft()
        self.free.release()
        return x


def move(way, items):
    b = Buffer()
    put, get = getattr(b, "put_" + way), getattr(b, "get_" + way)
    got = [[] for _ in range(CONSUMERS)]

    def producer(k):
        def go():
            for x in range(k, items, PRODUCERS):
                put(x)
        return go

    def consumer(k):
        def go():
            for _ in range(items // CONSUMERS + (k < items % CONSUMERS)):
                got[k].append(get())
        return go

    t = time.perf_counter()
    wb.join_all(wb.threads_start_together([producer(k) for k in range(PRODUCERS)] +
                                          [consumer(k) for k in range(CONSUMERS)]), 120 + items * 1e-3)
    secs = time.perf_counter() - t
    every = sorted(x for g in got for x in g) == list(range(items))
    return secs, b.woke_empty, b.woke_full, every


def part(args, cmp):
    names = {"if": "if", "while": "while", "sem": "two semaphores"}
    res = {w: move(w, args.items) for w in names}
    print(f"  {PRODUCERS} producers and {CONSUMERS} consumers move {args.items} items through {SLOTS} slots")
    print(f"  {'way':16} {'ms':>9} {'ns/item':>9} {'woke to empty':>14} {'woke to full':>13}  every item once?")
    for w, (secs, empty, full, every) in res.items():
        print(f"  {names[w]:16} {secs * 1e3:9.1f} {secs / args.items * 1e9:9.0f} {empty:14d} {full:13d}  "
              f"{'yes' if every else 'NO'}")
        if not every:
            raise RuntimeError(f"{names[w]}: an item was lost or got twice")
    out = wb.run_c("09-sync/condition_buffer", ["--items", str(args.items)], timeout=120) or ""
    if out:
        cmp.source("condition_buffer", f"chapters/09-sync/condition_buffer --items {args.items}, run {wb.now_utc()}")
    c = {}
    for w, name in names.items():
        m = re.search(rf"^  {re.escape(name)} +([0-9.]+) +([0-9.]+) +(\d+) +(\d+)", out, re.M)
        c[w] = (float(m.group(2)), int(m.group(3)), int(m.group(4))) if m else (None, None, None)
    n = args.items
    cmp.row(f"with `if`: gets that woke to an empty buffer, of {n:,} (CPython: IndexError)", c["if"][1],
            res["if"][1], ratio=False)
    cmp.row(f"with `if`: puts that woke to a full buffer, of {n:,}", c["if"][2], res["if"][2], ratio=False)
    cmp.row(f"with `while`: wake-ups to an empty or full buffer, of {n:,} items", _sum(c["while"][1:]),
            res["while"][1] + res["while"][2], ratio=False)
    cmp.row("with two semaphores: wake-ups to nothing", _sum(c["sem"][1:]), res["sem"][1] + res["sem"][2],
            ratio=False)
    for w in ("while", "sem"):
        cmp.row(f"{names[w]}: time per item, {PRODUCERS} producers, {CONSUMERS} consumers", c[w][0],
                res[w][0] / n * 1e9, "ns")


def _sum(v):
    return None if None in v else sum(v)
