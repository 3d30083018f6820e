"""12_nogil.py: what chapter 12's model says about CPython, measured on this interpreter.

Measures what chapter 12's refcount, nogil_interp and subinterpreters measure on their
models, one part each (in python/12_nogil/):
  1. refs.py     reference counts as Python sees them: sys.getrefcount() of None, True,
                 1, an interned string, a new object, as 100,000 more references are
                 made (immortal objects, Python 3.12 and later, do not count them); what
                 `s[0] = x` (one incref, one decref) costs a thread, on its own object,
                 on one shared object, on None, for 1 to cores threads;
  2. scaling.py  the lesson's CPU-bound job on N threads, N processes and N
                 subinterpreters (3.12 and later); on a free-threaded build with the GIL
                 off, its speed-up, and its one-thread overhead against the GIL build of
                 the same version beside it;
  3. costs.py    starting a thread, a subinterpreter and a process; a message from 64 B
                 to 64 KiB between threads and between processes;
  4. costs.py    gc.collect() seen from another thread (it holds the GIL throughout).
interp.py says what this interpreter is: free-threaded or not, sys._is_gil_enabled(),
which subinterpreter module it has. What it has not is a row that says so.

The lesson's idiom:   threading.Thread(target=job) x N, on python3.13 and python3.13t

Run:   python3 python/12_nogil.py [--quick] [--data DIR]
       PYTHON=python3.14t make compare ONLY=12   (a free-threaded build, if you have one)
Writes DIR/refcount_py.dat, nogil_interp_py.dat, subinterpreters_py.dat (the C
programs' blocks and columns: the GIL build in the GIL columns, a free-threaded one in
the biased ones, NaN for what this interpreter has not) and DIR/compare_12.json. Look
for: with the GIL, two threads no faster than one and processes twice as fast; None's
count growing on 3.11 and standing still from 3.12; a thread's `s[0] = x` costing each
of two threads twice what it costs one.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "12_nogil"))

import costs  # noqa: E402 (the parts, found through the path above)
import interp  # noqa: E402
import refs  # noqa: E402
import scaling  # noqa: E402
import wb  # noqa: E402


def run():
    args = wb.parse(__doc__.split("\n")[0], [
        wb.Opt("refs", "int", 2_000_000, "part 1: `s[0] = x` per thread and run", 10_000, 1_000_000_000,
               quick=50_000),
        wb.Opt("max-threads", "int", wb.cores(), "part 1: most threads", 1, 64, quick=2),
        wb.Opt("work", "real", 3, "part 2: the job, in millions of additions", 0.01, 1000, quick=0.2),
        wb.Opt("max-workers", "int", max(4, wb.cores()), "part 2: most workers", 1, 64, quick=2),
        wb.Opt("repeat", "int", 3, "runs of each point (the median is kept)", 1, 100, quick=1),
        wb.Opt("starts", "int", 200, "part 3: starts of each kind", 3, 100000, quick=10),
        wb.Opt("messages", "int", 2000, "part 3: messages per size", 10, 10_000_000, quick=50),
        wb.Opt("garbage", "int", 400_000, "part 4: objects in reference cycles for gc.collect()", 2, 100_000_000,
               quick=20_000),
    ])
    cmp = wb.Compare(args.data, "12", "Without the GIL")
    cdat = {e: wb.read_data(args.data, e) for e in ("refcount", "nogil_interp", "subinterpreters", "stop_the_world")}
    for v in cdat.values():
        cmp.c_data(v)
    print(f"This interpreter: {interp.describe()}")
    cmp.row("the interpreter measured", "three builds of one loop: GIL, atomic, biased", wb.gil_state(),
            ratio=False)
    cmp.row("sys._is_gil_enabled()", "—", interp.gil_function(), ratio=False)
    print("Part 1: reference counts")
    with wb.DataFile(args.data, "refcount", "refcount (CPython): `s[0] = x`, one incref + decref, per thread") as d:
        refs.part(args, d, cmp, cdat["refcount"])
    print("Part 2: a CPU-bound job on threads, processes, subinterpreters")
    with wb.DataFile(args.data, "subinterpreters", "subinterpreters (CPython): threads, subinterpreters, "
                                                   "processes") as sd:
        with wb.DataFile(args.data, "nogil_interp", "nogil_interp (CPython): the lesson's job on threads") as nd:
            scaling.part(args, nd, sd, cmp, cdat["nogil_interp"], cdat["subinterpreters"])
        print("Part 3: starting one, and passing it a message")
        costs.starts(args, sd, cmp, cdat["subinterpreters"])
        costs.messages(args, sd, cmp, cdat["subinterpreters"])
    print("Part 4: a garbage collection, seen from another thread")
    costs.gc_pause(args, cmp, cdat["stop_the_world"])
    cmp.write()


if __name__ == "__main__":
    wb.main(run)
