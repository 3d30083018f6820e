"""09_sync.py: threading's toolbox on CPython, beside chapter 09's futex-built one.

Runs what chapter 09's programs show in C, one part each (in python/09_sync/):
  1. toolbox.py  semaphore_demo: Semaphore(3) in front of 10 threads (never more than 3
                 inside), one release too many on a Semaphore and a BoundedSemaphore;
                 Condition: the lock a bare Condition() makes, notify(2) among 5
                 waiters (who wakes, in which order), and a waiter whose time runs out
                 while notify() picks it; event_barrier and futex_event: how soon 8
                 waiters run after Event.set(), a Barrier(4, action), a Barrier that
                 times out, reset() and abort(); queue_join: task_done() and join(),
                 one task_done() too many, join's timeout and shutdown() (3.13);
  2. buffer.py   condition_buffer part 2: the bounded buffer with `if`, with `while`
                 and with two semaphores, 2 producers and 2 consumers through 4 slots:
                 the wake-ups that find nothing (with `if`, an IndexError each);
  3. cost.py     mutex_cost: acquire, add 1, release on threading.Lock for --duration,
                 1 to 2 x cores threads, spread over the cores and all on CPU 0;
                 and one acquire+release pair of Lock, RLock, Semaphore,
                 BoundedSemaphore, with futex_semaphore's Semaphore(3) shared by 4.

The lessons' idiom:   sem = threading.Semaphore(3); with sem: ...;  q.task_done(); q.join()

Run:   python3 python/09_sync.py [--quick] [--data DIR]
Writes DIR/mutex_cost_py.dat (mutex_cost's blocks: threading.Lock in the "futex" blocks,
the three-state lock it resembles; NaN for the other four kinds) and DIR/compare_09.json.
Look for: the same rules as the C toolbox (3 inside, ValueError where C says
SYNC_TOO_MANY, BrokenBarrierError for every party); a notification spent on nobody
where cond.c reports it; wake-ups to nothing in the buffer as in C; a Lock pair several
times the futex lock's.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "09_sync"))

import buffer  # noqa: E402 (the parts, found through the path above)
import cost  # noqa: E402
import toolbox  # noqa: E402
import wb  # noqa: E402

MS, S = wb.NS_PER_MS, wb.NS_PER_S


def run():
    args = wb.parse(__doc__.split("\n")[0], [
        wb.Opt("hold", "duration", 60 * MS, "part 1: shortest hold of the Semaphore(3) (each holds hold..2*hold)",
               MS, 10 * S, quick=4 * MS),
        wb.Opt("timeout", "duration", 200 * MS, "part 1: the Barrier's timeout (party-2 comes 2.5 times as late)",
               MS, 60 * S, quick=20 * MS),
        wb.Opt("rounds", "int", 21, "part 1: Event.set() rounds with 8 waiters (the median is kept)", 1, 1000,
               quick=3),
        wb.Opt("work", "duration", 40 * MS, "part 1: shortest queue job (each takes work..2*work)", 0, 10 * S,
               quick=4 * MS),
        wb.Opt("items", "int", 20000, "part 2: numbers moved through the buffer, each way", 100, 10_000_000,
               quick=2000),
        wb.Opt("duration", "duration", 40 * MS, "part 3: length of one run of the lock loop", MS, 10 * S,
               quick=2 * MS),
        wb.Opt("repeat", "int", 5, "part 3: runs per point (the median is kept)", 1, 101, quick=1),
        wb.Opt("max-threads", "int", 2 * wb.cores(), "part 3: most threads", 1, 64, quick=2),
        wb.Opt("pairs", "int", 200_000, "part 3: acquire+release pairs per primitive", 1000, 100_000_000,
               quick=5000),
    ])
    cmp = wb.Compare(args.data, "09", "Sync")
    cdat = wb.read_data(args.data, "mutex_cost")
    cmp.c_data(cdat)
    print(f"Part 1: the toolbox's rules ({wb.interpreter_short()})")
    toolbox.part(args, cmp)
    print("Part 2: the bounded buffer: if, while, two semaphores")
    buffer.part(args, cmp)
    print("Part 3: what a lock costs")
    with wb.DataFile(args.data, "mutex_cost", "mutex_cost (CPython): lock+unlock cost and fairness of "
                                              "threading.Lock") as d:
        cost.part(args, d, cmp, cdat)
    cmp.write()


if __name__ == "__main__":
    wb.main(run)
