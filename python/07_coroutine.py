"""07_coroutine.py: generators, greenlet, gevent and asyncio on CPython, beside chapter 07.

Measures what chapter 07's switch_cost, create_cost, copy_cost, gevent_demo and
many_sleepers measure in C, one part each (in python/07_coroutine/):
  1. switches.py   one switch: next() on a generator, greenlet.switch(), two threads
                   through a Condition and two processes through pipes (one CPU, two),
                   two asyncio tasks awaiting sleep(0) in turn;
  2. births.py     making a task, running it to its first stop, getting rid of it: a
                   generator, asyncio.create_task + gather, a greenlet, gevent.spawn +
                   join, a thread, os.fork;
  3. copies.py     greenlet's copied stacks: a round trip into a greenlet and back as the
                   C stack it saves grows, and what a suspended greenlet weighs;
  4. interleave.py the lesson's gevent program, with gevent_demo's random sleeps;
  5. sleepers.py   N tasks that each sleep, each N in a fresh interpreter: asyncio tasks
                   (beside the stackless aio tasks) up to 100,000, gevent greenlets
                   (beside the copied-stack hub tasks), threads, processes; and the
                   lesson's 1000 asyncio tasks sleeping 1 s.
greenlet and gevent are optional: without them their rows say "not installed".

The lesson's idiom:   gr1 = greenlet(test1); gr1.switch()   and
                      await asyncio.gather(*[create_task(io_bound_task()) for _ in range(1000)])

Run:   python3 python/07_coroutine.py [--quick] [--data DIR]
Writes DIR/switch_cost_py.dat, create_cost_py.dat, copy_cost_py.dat, many_sleepers_py.dat
(the C programs' blocks and columns) and DIR/compare_07.json. Look for: switches and
births in hundreds of nanoseconds where C's stackless ones take a few; greenlet's round
trip growing with the stack it copies, as copy_cost's copied coroutines; gevent's lines
in gevent_demo's order; 100,000 asyncio tasks sleeping together at about a KiB each.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "07_coroutine"))

import births  # noqa: E402 (the parts, found through the path above)
import copies  # noqa: E402
import interleave  # noqa: E402
import sleepers  # noqa: E402
import switches  # noqa: E402
import wb  # noqa: E402

MS, S = wb.NS_PER_MS, wb.NS_PER_S


def run():
    args = wb.parse(__doc__.split("\n")[0], [
        wb.Opt("samples", "int", 21, "parts 1-3: samples per method (the median is reported)", 3, 1001, quick=3),
        wb.Opt("rounds", "int", 100000, "part 1: round trips per sample for the fastest methods", 200, 100_000_000,
               quick=2000),
        wb.Opt("reps", "int", 1000, "part 2: births per sample for the cheapest rows", 100, 1000000, quick=100),
        wb.Opt("copy-rounds", "int", 20000, "part 3: round trips per sample (fewer as the copies grow)", 100,
               10000000, quick=300),
        wb.Opt("copy-tasks", "int", 2000, "part 3: suspended greenlets weighed per depth", 10, 100000, quick=100),
        wb.Opt("scale", "real", 0.1, "part 4: longest sleep in seconds (the lesson: 1)", 0.001, 10, quick=0.02),
        wb.Opt("sleep", "duration", 200 * MS, "part 5: how long each task sleeps", 0, 60 * S, quick=20 * MS),
        wb.Opt("lesson-sleep", "duration", S, "part 5: the lesson's sleep, for its 1000 tasks", 0, 60 * S,
               quick=50 * MS),
        wb.Opt("max-tasks", "int", 100000, "part 5: largest sweep point for asyncio", 100, 1000000, quick=1000),
        wb.Opt("max-greenlets", "int", 10000, "part 5: largest sweep point for gevent", 100, 1000000, quick=100),
        wb.Opt("max-threads", "int", 10000, "part 5: largest sweep point for threads", 100, 30000, quick=100),
        wb.Opt("max-procs", "int", 300, "part 5: largest sweep point for processes (each forked CPython "
               "keeps about 2 MiB of its own)", 100, 5000, quick=100),
    ])
    cmp = wb.Compare(args.data, "07", "Coroutines")
    cdat = {e: wb.read_data(args.data, e) for e in ("switch_cost", "create_cost", "copy_cost", "many_sleepers")}
    for v in cdat.values():
        cmp.c_data(v)
    versions = wb.modules()
    print(f"Part 1: what a switch costs ({versions})")
    with wb.DataFile(args.data, "switch_cost", "switch_cost (CPython): one switch, by method") as d:
        d.note("modules", versions)
        switches.part(args, d, cmp, cdat["switch_cost"])
    print("Part 2: what making a task costs")
    with wb.DataFile(args.data, "create_cost", "create_cost (CPython): make a task, run it to its first stop, "
                                                "dispose of it") as d:
        d.note("modules", versions)
        births.part(args, d, cmp, cdat["create_cost"])
    print("Part 3: greenlet's copied stacks")
    with wb.DataFile(args.data, "copy_cost", "copy_cost (CPython): greenlet's copied stacks") as d:
        d.note("modules", versions)
        copies.part(args, d, cmp, cdat["copy_cost"])
    print("Part 4: gevent's interleaving")
    interleave.part(args, cmp)
    print("Part 5: many sleepers")
    sleepers.lesson(args, cmp)
    with wb.DataFile(args.data, "many_sleepers", "many_sleepers (CPython): N tasks that each sleep, by kind") as d:
        d.note("modules", versions)
        sleepers.part(args, d, cmp, cdat["many_sleepers"])
    cmp.write()


if __name__ == "__main__":
    wb.main(run)
