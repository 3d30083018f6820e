"""13_cluster.py: the pool's job on MPI from Python (mpi4py), beside chapter 13's MPICH.

Runs what chapter 13's mpi_bench and mpi_map run in C (in python/13_cluster/):
  1. ranks.py   an MPI job of P ranks of Python (mpiexec -n P python3 -m mpi4py ...),
                P = 1 to --max-ranks, each with mpi_bench's maps of chapter 03's job
                (the sum of mix64(i) over --work million numbers): static (comm.scatter,
                comm.gather) and dynamic (rank 0 deals --tasks tasks with comm.send and
                comm.recv from MPI.ANY_SOURCE); every total checked against every other;
                each job's start (from starting mpiexec to every rank past MPI_Init); and
                with 2 ranks, one small task's round trip, the ranks on two cores and on
                one; with 3 ranks, the dealer's CPU time. (launch.py starts each job,
                with a deadline, and leaves no process or file behind, also on Ctrl-C.)
  2. pool.py    the same job on multiprocessing.Pool: the map, apply_async's round
                trip, a pool's start.
  3. A job whose rank 0 waits for a message that never comes (mpi_fault's stopped
     rank), ended by the deadline (not with --quick).
mpi4py is optional (Debian: python3-mpi4py; `make compare` installs it): without it the
MPI rows say "not installed" and the pool's run. The job is far smaller than C's (pure
Python hashes a number in a fraction of a microsecond, C in a nanosecond): compare the
speed-ups, round trips and start costs, not the seconds.

The lesson's idiom:   comm = MPI.COMM_WORLD; part = comm.scatter(slices, root=0)

Run:   python3 python/13_cluster.py [--quick] [--data DIR]
Writes DIR/mpi_bench_py.dat (mpi_bench's blocks and columns; the MPI columns NaN
without mpi4py) and DIR/compare_13.json. Look for: speed-ups like C's; a round trip of
microseconds across two cores and of a time slice on one (MPI's ranks poll); a start
of a few tenths of a second, as in C plus the interpreters' own start.
"""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "13_cluster"))

import launch  # noqa: E402 (the parts, found through the path above)
import pool  # noqa: E402
import wb  # noqa: E402
from job import job_sum  # noqa: E402

MS, S = wb.NS_PER_MS, wb.NS_PER_S
WAYS = ("static", "dynamic", "pool")


def mpi_part(args, tool, n):
    """Every MPI job of the sweep: {(way, P): [seconds]}, start ms per P, round trips,
    the per-rank work of the last 3-rank job."""
    secs, starts, trips, per_rank = {}, {}, {"two": [], "one": [], "two_buf": [], "one_buf": []}, None
    totals = set()
    timeout = args.timeout / 1e9
    argv = [n, args.tasks, args.trips, wb.cores()]
    for _ in range(args.repeat):
        for p in range(1, args.max_ranks + 1):
            r = launch.run_job(tool, p, argv, timeout)
            rep = r["report"]
            if r["timed_out"] or r["status"] != 0 or not rep:
                raise RuntimeError(f"the {p}-rank job failed (exit {r['status']}, timed out: {r['timed_out']}): "
                                   f"{r['out'][-600:]}")
            secs.setdefault(("static", p), []).append(rep["static_s"])
            secs.setdefault(("dynamic", p), []).append(rep["dynamic_s"])
            totals.update((rep["static_total"], rep["dynamic_total"]))
            starts.setdefault(p, []).append(r["start_ms"])
            if p == 2 and "trip" in rep:
                trips["two"].append(rep["trip"])
                trips["two_buf"].append(rep["trip_buffer"])
            if p == 3:
                per_rank = rep["per_rank"]
        if args.max_ranks >= 2:
            r = launch.run_job(tool, 2, argv, timeout, one_cpu=True)
            if r["status"] != 0 or not r["report"] or "trip" not in r["report"]:
                raise RuntimeError(f"the one-core job failed (exit {r['status']}): {r['out'][-600:]}")
            trips["one"].append(r["report"]["trip"])
            trips["one_buf"].append(r["report"]["trip_buffer"])
    return secs, starts, trips, per_rank, totals


def hang_part(args, tool, n):
    r = launch.run_job(tool, 2, [n, args.tasks, args.trips, wb.cores(), "hang"], args.hang / 1e9)
    return r


def median3(runs):
    """[median, p10, p90] over runs of [median, p10, p90]: the median of each, as
    mpi_bench.c reports its round trips."""
    return [wb.summary([r[k] for r in runs]).median for k in range(3)] if runs else [None] * 3


def run():
    args = wb.parse(__doc__.split("\n")[0], [
        wb.Opt("max-ranks", "int", 2 * wb.cores(), "largest job (ranks, workers)", 2, 64, quick=2),
        wb.Opt("work", "real", 0.5 * wb.cores(), "the job, in millions of hashes", 0.001, 1000, quick=0.05),
        wb.Opt("tasks", "int", 48, "tasks the dynamic map and the pool deal out", 1, 10000, quick=12),
        wb.Opt("trips", "int", 2000, "round trips measured (MPI across cores, the pool)", 10, 1_000_000,
               quick=20),
        wb.Opt("repeat", "int", 3, "runs per point (the median is kept)", 1, 100, quick=1),
        wb.Opt("timeout", "duration", 120 * S, "how long one MPI job may take", S, 3600 * S),
        wb.Opt("hang", "duration", 2 * S, "the deadline of the job that hangs (part 3)", S, 60 * S),
    ])
    n = max(args.tasks, int(args.work * 1e6))
    cmp = wb.Compare(args.data, "13", "MPI")
    cdat = wb.read_data(args.data, "mpi_bench")
    cmp.c_data(cdat)
    tool = launch.mpi()
    c_lib = None
    if cdat:
        with open(cdat.path) as f:
            m = re.search(r"^# MPICH Version:\s*([0-9.]+)", f.read(), re.M)
            c_lib = f"MPICH {m.group(1)}" if m else None
    mpi_name = f"mpi4py {tool[0]} on {tool[1].split(',')[0]} ({os.path.basename(tool[2])})" if tool else \
        "mpi4py not installed (Debian: python3-mpi4py)"
    print(f"{mpi_name}; {wb.interpreter_short()}; {n:,} hashes in {args.tasks} tasks, P = 1..{args.max_ranks}, "
          f"{wb.cores()} cores")
    cmp.row("the MPI measured", f"{c_lib or 'MPICH'} (mpiexec.mpich: hydra)", mpi_name,
            ratio=False)
    secs, starts, trips, per_rank, totals = ({}, {}, {}, None, set())
    if tool:
        print("Part 1: MPI jobs of Python ranks")
        secs, starts, trips, per_rank, totals = mpi_part(args, tool, n)
    print("Part 2: the same job on multiprocessing.Pool")
    pool_trips = {"two": [], "one": []}
    pool_start = {}
    for _ in range(args.repeat):
        for p in range(1, args.max_ranks + 1):
            t, total, start_ms = pool.pool_map(p, n, args.tasks)
            secs.setdefault(("pool", p), []).append(t)
            pool_start.setdefault(p, []).append(start_ms)
            totals.add(total)
        for way in ("two", "one"):
            r = pool.pool_trips(args.trips, way == "one")
            if r:
                pool_trips[way].append(r)
    expect = job_sum(0, n)  # the job on one process, here
    if totals != {expect}:
        raise RuntimeError(f"totals {sorted(totals)} differ from the one-process total {expect:#x}")
    print(f"  every total matched the one-process total ({expect:#x})")
    hang = hang_part(args, tool, n) if tool and not args.quick else None

    with wb.DataFile(args.data, "mpi_bench", "mpi_bench (CPython): chapter 03's CPU-bound job on mpi4py and on "
                                             "multiprocessing.Pool") as d:
        d.note("MPI", mpi_name)
        d.block("the job against P", [
            "P (count): ranks (static, dynamic) or workers (pool)", "static_s (s): median time, comm.scatter/gather",
            "static_p10 (s)", "static_p90 (s)", "static_x (x): speed-up, time(1) / time(P)",
            "dynamic_s (s): median time, rank 0 dealing to P-1 ranks", "dynamic_p10 (s)", "dynamic_p90 (s)",
            "dynamic_x (x): speed-up over static with 1 rank",
            "pool_s (s): median time, multiprocessing.Pool.map, chunksize=1", "pool_p10 (s)", "pool_p90 (s)",
            "pool_x (x): speed-up, time(1) / time(P)", "cores (count): online CPUs"])
        med = {}
        print(f"  {'P':>3} {'static s':>9} {'x':>6} {'dynamic s':>10} {'x':>6} {'pool s':>8} {'x':>6}")
        for p in range(1, args.max_ranks + 1):
            row = [p]
            for w in WAYS:
                s = wb.summary(secs[(w, p)]) if (w, p) in secs else None
                med[(w, p)] = s.median if s else None
                row += [s.median, s.p10, s.p90] if s else [None] * 3
                base = med[("static" if w != "pool" else "pool", 1)]
                row.append(base / s.median if s and base else None)
            d.row(*row, wb.cores())
            shown = [float("nan") if v is None else v for v in row]
            print(f"  {p:3d} " + " ".join(f"{shown[1 + 4 * k]:9.3f} {shown[4 + 4 * k]:5.2f}x" for k in range(3)))
        d.block("round trip of one 8-byte task", [
            "way (index): 0 MPI (comm.send/recv), ranks on two cores; 1 MPI, both ranks on one core; 2 Pool "
            "(apply_async + get), parent and worker on two cores; 3 Pool, on one core",
            "us (us): median over the runs of each run's median", "p10 (us): likewise", "p90 (us): likewise"])
        t = {0: median3(trips.get("two")), 1: median3(trips.get("one")), 2: median3(pool_trips["two"]),
             3: median3(pool_trips["one"])}
        tb = {0: median3(trips.get("two_buf")), 1: median3(trips.get("one_buf"))}
        names = ("MPI, two cores", "MPI, one core", "Pool, two cores", "Pool, one core")
        for k in range(4):
            d.row(k, *t[k])
            if t[k][0] is not None:
                extra = f"; comm.Send/Recv of a buffer {tb[k][0]:.2f} µs" if k < 2 and tb[k][0] is not None else ""
                print(f"  round trip, {names[k]:16} {t[k][0]:10.2f} µs{extra}")
        d.block("starting a job", [
            "P (count): ranks or workers",
            "mpi_ms (ms): median, mpiexec started to every rank past MPI_Init (the import of mpi4py.MPI)",
            "mpi_p10 (ms)", "mpi_p90 (ms)", "pool_ms (ms): median, Pool() to the first result", "pool_p10 (ms)",
            "pool_p90 (ms)"])
        for p in range(1, args.max_ranks + 1):
            sm = wb.summary(starts[p]) if p in starts else None
            sp = wb.summary(pool_start[p])
            d.row(p, *([sm.median, sm.p10, sm.p90] if sm else [None] * 3), sp.median, sp.p10, sp.p90)
        print("  start of a job, ms (median): " + "; ".join(
            f"P={p}: " + (f"MPI {wb.summary(starts[p]).median:.0f}, " if p in starts else "") +
            f"Pool {wb.summary(pool_start[p]).median:.1f}" for p in range(1, args.max_ranks + 1)))

    rows(args, cmp, cdat, tool, med, t, tb, starts, pool_start, per_rank, hang, n)
    cmp.write()


def rows(args, cmp, cdat, tool, med, t, tb, starts, pool_start, per_rank, hang, n):
    missing = "mpi4py not installed"

    def c(block, col, key, k):
        return cdat.at(block, col, key, k) if cdat else None

    def mpi(v):
        return v if tool else missing

    two = min(2, args.max_ranks)
    cmp.row(f"static map on {two} ranks: speed-up over 1", c(0, "static_x", "P", two),
            mpi(med[("static", 1)] / med[("static", two)] if tool else None), "x")
    cmp.row(f"dynamic map, {two} ranks (a dealer and {two - 1} worker): speed-up over static on 1",
            c(0, "dynamic_x", "P", two), mpi(med[("static", 1)] / med[("dynamic", two)] if tool else None), "x")
    top = args.max_ranks
    if top > two:
        cmp.row(f"static map on {top} ranks (past the cores): speed-up over 1", c(0, "static_x", "P", top),
                mpi(med[("static", 1)] / med[("static", top)] if tool else None), "x")
    cmp.row(f"the pool on {two} workers: speed-up over 1 (C: chapter 03's pool; CPython: multiprocessing.Pool)",
            c(0, "pool_x", "P", two), med[("pool", 1)] / med[("pool", two)], "x")
    cmp.row(f"the job on one pool worker (not the same size: C's is mpi_bench's --work, CPython's {n:,} hashes)",
            c(0, "pool_s", "P", 1), med[("pool", 1)], "s", ratio=False)
    cmp.row("one small task there and back, ranks on two cores (CPython: comm.send/recv, pickled)",
            c(1, "us", "way", 0), mpi(t[0][0]), "µs")
    cmp.row("the same with comm.Send/Recv of a one-number buffer (no pickling)", c(1, "us", "way", 0), mpi(tb[0][0]),
            "µs")
    cmp.row("the same, both ranks on one core (they poll: a time slice each way)", c(1, "us", "way", 1), mpi(t[1][0]),
            "µs")
    cmp.row("one task there and back on the pool, two cores (CPython: apply_async + get)", c(1, "us", "way", 2),
            t[2][0], "µs")
    cmp.row("the same on one core", c(1, "us", "way", 3), t[3][0], "µs")
    for p in sorted({1, top}):
        cmp.row(f"starting a job of {p} rank{'s' if p > 1 else ''}: mpiexec to every rank past MPI_Init",
                c(2, "mpi_ms", "P", p), mpi(wb.summary(starts[p]).median if p in starts else None), "ms")
    cmp.row(f"starting a pool of {top}: to the first result", c(2, "pool_ms", "P", top),
            wb.summary(pool_start[top]).median, "ms")
    if per_rank:
        done, busy, wall, cpu = per_rank[0]
        share = 100 * cpu / wall if wall else None
        c_share = c_dealer_share(cmp) if not args.quick else None
        cmp.row("the dealer's CPU time over its time in the dynamic map, 3 ranks (it computes nothing)", c_share,
                share, "%", "C: mpi_map, 3 ranks", ratio=False)
        print(f"  3 ranks, dynamic map: the dealer used {cpu:.3f} s of CPU in {wall:.3f} s; the workers did "
              + ", ".join(str(r[0]) for r in per_rank[1:]) + " tasks")
    if hang:
        left = "nothing left" if not hang["left"] else f"{len(hang['left'])} processes left"
        said = (f"ended at the deadline, after {hang['elapsed']:.2f} s; {left}" if hang["timed_out"] else
                f"ended by itself (exit {hang['status']}): unexpected")
        print(f"  a job whose rank 0 waits for a message that never comes: {said}")
        cmp.row("a job whose rank waits for ever (C: mpi_fault's stopped rank)", "ended at its deadline; nothing left",
                said, ratio=False)
    elif not args.quick:
        cmp.row("a job whose rank waits for ever", "ended at its deadline; nothing left", missing, ratio=False)


def c_dealer_share(cmp):
    out = wb.run_c("13-cluster/mpi_map", ["--quick", "--ranks", "3"], timeout=120)
    if out:
        cmp.source("mpi_map", f"chapters/13-cluster/mpi_map --quick --ranks 3, run {wb.now_utc()}")
    m = re.search(r"^ +0 +\S+ +\d+ +0 +[0-9.]+ s +([0-9.]+) s +([0-9.]+) s +\(the dealer\)", out or "", re.M)
    return 100 * float(m.group(2)) / float(m.group(1)) if m and float(m.group(1)) else None


if __name__ == "__main__":
    wb.main(run)
