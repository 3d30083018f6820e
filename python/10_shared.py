"""10_shared.py: Value, Manager and the start methods on CPython, beside chapter 10.

Measures what chapter 10's programs measure in C, one part each (in python/10_shared/):
  1. shared.py   shared_value: P processes add 1 to one multiprocessing.Value, with
                 lock=False, with the Value's own lock (taken per access) and inside
                 `with v.get_lock():`; the updates lost and the time per addition;
                 an Array filled slice by slice, with and without its lock;
  2. manager.py  manager_bench: a put + get through a Manager().Queue() proxy against a
                 multiprocessing.Queue and a pipe, P = 1 to 2 x cores; a dict proxy's
                 round trip; d["n"] += 1 from two processes (solutions/dict_counter);
                 manager_demo's stopped and killed server, and a killed client;
  3. starts.py   start_methods: what a fork, spawn and forkserver worker sees, and what
                 starting one costs as the parent's memory and threads grow;
  4. starts.py   fork_threads: a lock held by another thread when the worker starts;
                 os.register_at_fork; how often a fork finds the lock held; the
                 DeprecationWarning of Python 3.12 and later.

The lessons' idiom:   v = Value('i', 0); v.value += 1;   q = Manager().Queue()

Run:   python3 python/10_shared.py [--quick] [--data DIR]
Writes DIR/shared_value_py.dat, manager_bench_py.dat, start_methods_py.dat (the C
programs' blocks and columns; NaN for the atomic add, which Python has not) and
DIR/compare_10.json. Look for: updates lost with the Value's own lock, as in C, and
none with get_lock(); a manager round trip many times C's; spawn and forkserver in
tens of milliseconds where C's are under one; fork's worker stuck on a lock another
thread held.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "10_shared"))

import manager  # noqa: E402 (the parts, found through the path above)
import shared  # noqa: E402
import starts  # noqa: E402
import wb  # noqa: E402

MS, S = wb.NS_PER_MS, wb.NS_PER_S


def run():
    args = wb.parse(__doc__.split("\n")[0], [
        wb.Opt("iterations", "int", 20000, "part 1: additions per process with a lock (ten times more without)",
               100, 10_000_000, quick=1000),
        wb.Opt("max-procs", "int", 2 * wb.cores(), "parts 1 and 2: most processes", 1, 64, quick=2),
        wb.Opt("repeat", "int", 3, "parts 1 and 2: runs per point (the median is kept)", 1, 101, quick=1),
        wb.Opt("pairs", "int", 200, "part 2: put+get pairs per process through the manager (x10 for the others)",
               10, 1_000_000, quick=20),
        wb.Opt("trips", "int", 500, "part 2: round trips timed in this process", 10, 1_000_000, quick=20),
        wb.Opt("bound", "duration", 500 * MS, "part 2: manager_demo's bound on a call (ours is watched twice as long)",
               MS, 60 * S, quick=50 * MS),
        wb.Opt("step", "duration", 100 * MS, "part 2: pause before the server is killed", MS, 10 * S, quick=30 * MS),
        wb.Opt("increments", "int", 500, "part 2: d['n'] = d['n'] + 1 per process on a manager's dict", 1,
               1_000_000, quick=50),
        wb.Opt("start-repeat", "int", 5, "part 3: starts per method and point (the median is kept)", 1, 201,
               quick=1),
        wb.Opt("max-mib", "int", 256, "part 3: largest touched parent memory (MiB)", 0, 4096, quick=0),
        wb.Opt("max-threads", "int", 64 * wb.cores(), "part 3: most idle parent threads", 0, 4096, quick=0),
        wb.Opt("hold", "duration", 200 * MS, "part 4: how long the holder keeps the lock", MS, 10 * S, quick=30 * MS),
        wb.Opt("patience", "duration", S, "part 4: how long a worker waits for the lock", MS, 60 * S,
               quick=50 * MS),
        wb.Opt("forks", "int", 200, "part 4: forks while another thread takes and releases the lock", 1, 100000,
               quick=5),
    ])
    cmp = wb.Compare(args.data, "10", "Shared memory, managers, start methods")
    cdat = {e: wb.read_data(args.data, e) for e in ("shared_value", "manager_bench", "start_methods")}
    for v in cdat.values():
        cmp.c_data(v)
    print(f"Part 1: one counter, several processes ({wb.interpreter_short()})")
    with wb.DataFile(args.data, "shared_value", "shared_value (CPython): processes adding to one shared "
                                                "counter") as d:
        shared.part(args, d, cmp, cdat["shared_value"])
    print("Part 2: the manager")
    with wb.DataFile(args.data, "manager_bench", "manager_bench (CPython): put + get through a manager, a "
                                                 "multiprocessing.Queue and a pipe") as d:
        manager.part(args, d, cmp, cdat["manager_bench"])
    print("Part 3: fork, spawn, forkserver")
    starts.what_they_see(args, cmp)
    with wb.DataFile(args.data, "start_methods", "start_methods (CPython): start cost of fork, spawn and "
                                                 "forkserver") as d:
        starts.costs(args, d, cmp, cdat["start_methods"])
    print("Part 4: fork in a process with threads")
    starts.hazards(args, cmp)
    cmp.write()


if __name__ == "__main__":
    wb.main(run)
