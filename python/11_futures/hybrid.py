"""11_futures/hybrid.py: processes plus coroutines, processes plus threads, against each
alone (part 4), beside hybrid.c.

hybrid's load: --hybrid-tasks per core, each a request to the loopback server answered
after --hybrid-delay, then CPU work swept over --cpu-max x 0, 1/4, 1/2, 1; on CPython's
runners (load.py): ProcessPoolExecutor alone, asyncio alone, ThreadPoolExecutor alone
(a thread per task), a process per core each with an asyncio loop, and a
ProcessPoolExecutor whose tasks fetch their share on a ThreadPoolExecutor and parse
each reply as it comes. Medians of --repeat runs, each in a fresh process, the runners
taking turns. hybrid_py.dat has hybrid.dat's columns: CPython's threads under
threads_gil on a build with a GIL (threads, GIL off, otherwise), the other NaN.
"""
import math
import time

import load
import wb
from load import COROS, GIL, HYBRID, POOL_THREADS, PROCS, THREADS, THREADS_COLUMN
from runners import cell_run

FRACTIONS = (0, 0.25, 0.5, 1)
COLUMNS = (PROCS, COROS, GIL, THREADS, HYBRID, POOL_THREADS)  # hybrid.dat's, in its order


def part(args, d, cmp, cdat, addr, tick):
    cores = wb.cores()
    runners = [r for r in COLUMNS if r not in (GIL, THREADS) or r == THREADS_COLUMN]
    ntasks = args.hybrid_tasks * cores
    d.note("tasks", ntasks)
    d.note("cores", cores)
    d.note("delay_ms", f"{args.hybrid_delay / 1e6:.1f}")
    d.block("points", ["cpu (ms): CPU work per task", "processes (ms): median wall time", "coroutines (ms)",
                       "threads_gil (ms)", "threads (ms)", "procs_coros (ms)", "procs_threads (ms)"])
    print(f"  {ntasks} tasks on {cores} cores, each a request answered after {args.hybrid_delay / 1e6:.1f} ms, then "
          f"CPU work; median of {args.repeat} run(s)")
    print(f"    {'CPU/task':9}" + "".join(f" {load.RUNNER_NAMES[r]:>19}" for r in runners) + "  hybrids / best part")
    ms = {}
    for frac in FRACTIONS:
        ld = load.Load(ntasks, True, args.hybrid_delay, round(frac * args.cpu_max / tick), cores, 0, addr)
        walls = {r: [] for r in runners}
        for _ in range(args.repeat):
            for r in runners:  # (no cut-off, as in hybrid.c: a deadline far beyond any run)
                cell = cell_run(r, ld._replace(deadline=time.monotonic() + 120), False)
                if cell.wrong or cell.check != load.expected(ld):
                    raise RuntimeError(f"{load.RUNNER_NAMES[r]}: wrong replies, or values that do not add up")
                walls[r].append(cell.wall)
        cpu_ms = ld.ticks * tick / 1e6
        ms[frac] = {r: wb.summary(walls[r]).median for r in runners}
        best_part = min(ms[frac][r] for r in runners if r not in (HYBRID, POOL_THREADS))
        print(f"    {cpu_ms:6.2f} ms" + "".join(f" {ms[frac][r]:19.1f}" for r in runners) +
              f"  {ms[frac][HYBRID] / best_part:.2f}, {ms[frac][POOL_THREADS] / best_part:.2f}")
        d.row(cpu_ms, *[ms[frac].get(r) for r in COLUMNS])
    last, th = ms[FRACTIONS[-1]], THREADS_COLUMN
    print(f"  at {args.cpu_max / 1e6:g} ms of CPU per task, procs+asyncio took {last[HYBRID] / last[COROS]:.2f}x the "
          f"time of asyncio alone and {last[HYBRID] / last[PROCS]:.2f}x that of ProcessPoolExecutor alone; "
          f"procs+threads {last[POOL_THREADS] / last[th]:.2f}x that of ThreadPoolExecutor alone")
    print(f"  with no CPU work, ProcessPoolExecutor alone took {ms[0][PROCS] / ms[0][HYBRID]:.1f}x the time of "
          f"procs+asyncio")

    def c(col, row):
        return cdat.column(0, col)[row] if cdat else math.nan

    top = args.cpu_max / 1e6
    cmp.row(f"at {top:g} ms of CPU per task: procs+coroutines over coroutines alone (CPython: asyncio)",
            c("procs_coros", -1) / c("coroutines", -1), last[HYBRID] / last[COROS], "x")
    cmp.row(f"at {top:g} ms: procs+coroutines over processes alone", c("procs_coros", -1) / c("processes", -1),
            last[HYBRID] / last[PROCS], "x")
    cmp.row(f"at {top:g} ms: procs+threads over threads alone (C: under the simulated GIL)",
            c("procs_threads", -1) / c("threads_gil", -1), last[POOL_THREADS] / last[th], "x")
    cmp.row("no CPU work: processes alone over procs+coroutines", c("processes", 0) / c("procs_coros", 0),
            ms[0][PROCS] / ms[0][HYBRID], "x")
    cmp.row(f"at {top:g} ms: procs+coroutines, wall time", c("procs_coros", -1), last[HYBRID], "ms")
