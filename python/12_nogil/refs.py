"""12_nogil/refs.py: reference counts seen from Python (part 1), beside refcount.c.

1. sys.getrefcount() of None, True, the small int 1, an interned string and a new
   object, before and after 100,000 more references to each: a mortal object's count
   grows by 100,000; an immortal one's (PEP 683, Python 3.12 and later) stays put.
2. What one incref + decref costs as Python code sees it: `s[0] = x` stores a new
   reference to x in a list and drops the one it replaces (one incref and one decref of
   x, plus the store). Each of T threads runs the statement --refs times, on an object
   of its own, on one object for all, and on None; ns per statement per thread (the
   wall time of all T over --refs: flat as T grows means it scales), the median of
   --repeat. The GIL build fills refcount's plain columns (one object for all in the
   plain_shared column, without the race: the GIL serialises the threads), a
   free-threaded build the biased ones, None the immortal column where None is
   immortal.
"""
import sys
import time

import wb
from interp import free_threaded

UNROLL = 10


def _loop():
    body = "\n".join(["        s[0] = x"] * UNROLL)
    src = f"def loop(x, n):\n    s = [x]\n    for _ in range(n):\n{body}\n"
    space = {}
    exec(compile(src, "<refs>", "exec"), space)
    return space["loop"]


LOOP = _loop()
LOOP(object(), 1000)  # (warm-up: the first calls of a code object run slower)


def counts(cmp):
    shown = [("None", None), ("True", True), ("the small int 1", 1), ("an interned string", sys.intern("wb-refs")),
             ("a new object()", object())]
    mortal_none = None
    for name, o in shown:
        before = sys.getrefcount(o)
        keep = [o] * 100_000
        after = sys.getrefcount(o)
        del keep
        immortal = after == before
        said = f"{before:,}, then unchanged: immortal" if immortal else f"{before:,}, then +{after - before:,}"
        print(f"  sys.getrefcount({name}): {said}")
        c = "never written (an immortal count)" if name != "a new object()" else "+100,000 (a mortal count)"
        cmp.row(f"sys.getrefcount({name}) with 100,000 more references", c, said, ratio=False)
        if name == "None":
            mortal_none = not immortal
    return mortal_none


def run_threads(objs, n):
    """Each thread runs LOOP on its object; returns ns per statement per thread."""
    t = time.perf_counter()
    wb.join_all(wb.threads_start_together([lambda o=o: LOOP(o, n // UNROLL) for o in objs]), 600)
    return (time.perf_counter() - t) / (n // UNROLL * UNROLL) * 1e9


def costs(args, d, cmp, cdat, mortal_none):
    ft = free_threaded()
    ways = ("own", "shared", "None")
    res = {}
    shared = object()
    for _ in range(args.repeat):
        for t in range(1, args.max_threads + 1):
            res.setdefault(("own", t), []).append(run_threads([object() for _ in range(t)], args.refs))
            res.setdefault(("shared", t), []).append(run_threads([shared] * t, args.refs))
            res.setdefault(("None", t), []).append(run_threads([None] * t, args.refs))
    med = {k: wb.summary(v).median for k, v in res.items()}
    d.block("cost per pair vs threads", [
        "threads (count)", "plain_own (ns): the GIL build, `s[0] = x`, each thread its own object",
        "atomic_own (ns): (no CPython build counts atomically)", "atomic_shared (ns): (none)",
        "biased_own (ns): a free-threaded build, each thread its own object",
        "biased_shared (ns): a free-threaded build, one object for all",
        "immortal (ns): None, where it is immortal (3.12 and later)",
        "plain_shared (ns): the GIL build, one object for all (no race: the GIL takes turns)", "cores (count)"])
    print(f"  ns per `s[0] = x` (an incref and a decref of x, and the store), per thread; {args.refs} per thread, "
          f"median of {args.repeat}")
    print(f"  {'threads':>7} " + " ".join(f"{w:>10}" for w in ways))
    for t in range(1, args.max_threads + 1):
        own, sh, none = (med[(w, t)] for w in ways)
        imm = None if mortal_none else none
        if ft:
            d.row(t, None, None, None, own, sh, imm, None, wb.cores())
        else:
            d.row(t, own, None, None, None, None, imm, sh, wb.cores())
        print(f"  {t:7d} " + " ".join(f"{med[(w, t)]:10.1f}" for w in ways))

    def c(col, t):
        return cdat.at(0, col, "threads", t) if cdat else None

    kind = "biased" if ft else "plain"
    cmp.row(f"one thread, its own object: `s[0] = x` (C: one {kind} incref + decref)", c(kind + "_own", 1),
            med[("own", 1)], "ns", "CPython: a bytecode's dispatch and a list store around them")
    if args.max_threads >= 2:
        cmp.row(f"two threads, each its own object, per thread (C: {kind})", c(kind + "_own", 2), med[("own", 2)],
                "ns")
        cmp.row("two threads, own objects: per thread, over one thread", c(kind + "_own", 2) / c(kind + "_own", 1)
                if cdat else None, med[("own", 2)] / med[("own", 1)], "x",
                "GIL build: the threads take turns, so each takes twice as long")
        cmp.row("two threads, one object for all, per thread (C: biased, non-owners)", c("biased_shared", 2),
                med[("shared", 2)], "ns")
    cmp.row("None against an object of one's own, one thread (C: immortal against plain)",
            c("immortal", 1) / c("plain_own", 1) if cdat else None, med[("None", 1)] / med[("own", 1)], "x",
            "3.11: None is mortal, its count written like any other" if mortal_none else "")


def part(args, d, cmp, cdat):
    mortal_none = counts(cmp)
    costs(args, d, cmp, cdat, mortal_none)
