"""12_nogil/scaling.py: a CPU-bound job on threads, processes and subinterpreters (part
2), beside nogil_interp.c and subinterpreters.c's part 1.

The lesson's job (chapter 08's: `for i in range(lo, hi): s += i`, --work million
additions) split over N = 1 to --max-workers threads of this interpreter, N processes
(fork) and, where the interpreter has them, N subinterpreters (each run from a thread of
its own: with a GIL each, they run at once); wall time, the median of --repeat runs made
round robin; every sum checked. With the GIL the threads stay at about 1x; free-threaded
(sys._is_gil_enabled() False) they should scale like the processes. A free-threaded
build's overhead on one thread is measured against the GIL build of the same version
beside it (python3.13 beside python3.13t), when there is one.
"""
import os
import subprocess
import time

import wb
from interp import Interpreters, free_threaded, gil_sibling, own_gil

JOB = """
import os
def job(lo, hi):
    s = 0
    for i in range(lo, hi):
        s += i
    return s
"""
exec(JOB)  # job(), here and (as source) in every subinterpreter and sibling interpreter


def threads_run(n, w):
    out = [0] * w

    def body(k):
        def go():
            out[k] = job(n * k // w, n * (k + 1) // w)  # noqa: F821 (defined by exec above)
        return go

    t = time.perf_counter()
    wb.join_all(wb.threads_start_together([body(k) for k in range(w)]), 600)
    return time.perf_counter() - t, sum(out)


def processes_run(n, w):
    return wb.fork_map(job, [(n * k // w, n * (k + 1) // w) for k in range(w)])  # noqa: F821


def interps_run(api, n, w):
    """w subinterpreters, each run by a thread of its own; the sums come back through a
    pipe (os.write in the subinterpreter)."""
    ids = [api.create() for _ in range(w)]
    r, wfd = os.pipe()
    try:
        codes = [JOB + f"os.write({wfd}, (str(job({n * k // w}, {n * (k + 1) // w})) + '\\n').encode())\n"
                 for k in range(w)]
        errors = []

        def body(k):
            def go():
                try:
                    api.run(ids[k], codes[k])
                except Exception as e:  # reported by the main thread
                    errors.append(e)
            return go

        t = time.perf_counter()
        wb.join_all(wb.threads_start_together([body(k) for k in range(w)]), 600)
        secs = time.perf_counter() - t
        if errors:
            raise errors[0]
        os.close(wfd)
        wfd = -1
        text = b""
        while chunk := os.read(r, 4096):
            text += chunk
        return secs, sum(int(x) for x in text.split())
    finally:
        for i in ids:
            api.destroy(i)
        os.close(r)
        if wfd >= 0:
            os.close(wfd)


def sibling_one_thread(exe, n, repeat):
    """The job on one thread of the GIL build `exe`: the median of `repeat` runs, in s."""
    code = JOB + f"import time\nt = time.perf_counter()\njob(0, {n})\nprint(time.perf_counter() - t)\n"
    return wb.summary([float(subprocess.run([exe, "-c", code], capture_output=True, text=True, timeout=600,
                                            check=True).stdout) for _ in range(repeat)]).median


def part(args, nd, sd, cmp, cdat_nogil, cdat_sub):
    n = int(args.work * 1e6)
    expect = n * (n - 1) // 2
    api = Interpreters()
    ways = ["threads", "procs"] + (["interps"] if api.name else [])
    res = {}
    for _ in range(args.repeat):
        for w in range(1, args.max_workers + 1):
            for way in ways:
                if way == "procs":
                    secs, sums = processes_run(n, w)
                    total = sum(sums)
                else:
                    secs, total = threads_run(n, w) if way == "threads" else interps_run(api, n, w)
                if total != expect:
                    raise RuntimeError(f"{way} x {w}: sum {total}, expected {expect}")
                res.setdefault((way, w), []).append(secs * 1e3)
    med = {k: wb.summary(v).median for k, v in res.items()}
    ft = free_threaded()
    sibling = gil_sibling() if ft else None
    gil_one = sibling_one_thread(sibling, n, args.repeat) * 1e3 if sibling else None
    overhead = (med[("threads", 1)] / gil_one - 1) * 100 if gil_one else None
    nd.block("wall time vs threads", [
        "threads (count)", "gil_ms (ms): this interpreter's threads, if it has a GIL",
        "atomic_ms (ms): (no CPython build counts atomically)",
        "biased_ms (ms): this interpreter's threads, if it is free-threaded with the GIL off",
        "overhead_atomic (%): (none)",
        "overhead_biased (%): one thread, free-threaded against the GIL build of the same version (NaN: not "
        "measured)", "cores (count)"])
    sd.block("part 1: CPU-bound job vs workers", [
        "workers (count)", "threads_ms (ms): N threads of this interpreter", "interps_ms (ms): N subinterpreters, " +
        ("a GIL each" if own_gil() else "one GIL for all; before 3.12 they share it") +
        "; NaN: none in this interpreter",
        "procs_ms (ms): N processes (fork)", "cores (count)"])
    print(f"  {args.work:g} million additions over N workers ({wb.gil_state()}; subinterpreters: "
          f"{api.name or 'none'}), median of {args.repeat}, ms:")
    print(f"  {'N':>3} {'threads':>10} {'processes':>10} {'interps':>10}   speed-up: threads processes interps")
    for w in range(1, args.max_workers + 1):
        th, pr, it = med[("threads", w)], med[("procs", w)], med.get(("interps", w))
        nd.row(w, None if ft else th, None, th if ft else None, None, overhead, wb.cores())
        sd.row(w, th, it, pr, wb.cores())
        sp = [med[(x, 1)] / med[(x, w)] if (x, w) in med else None for x in ("threads", "procs", "interps")]
        print(f"  {w:3d} {th:10.1f} {pr:10.1f} {it if it is not None else float('nan'):10.1f}   " +
              " ".join(f"{x:.2f}x" if x else "-" for x in sp))
    if overhead is not None:
        print(f"  one thread: {med[('threads', 1)]:.1f} ms here, {gil_one:.1f} ms on {sibling}: {overhead:+.1f}%")

    def cn(col, t):
        return cdat_nogil.at(0, col, "threads", t) if cdat_nogil else None

    def cs(col, t):
        return cdat_sub.at(0, col, "workers", t) if cdat_sub else None

    two = min(2, args.max_workers)
    col = "biased_ms" if ft else "gil_ms"
    cmp.row(f"CPU-bound job on {two} threads: speed-up over one (C: the {'biased' if ft else 'GIL'} build)",
            cn(col, 1) / cn(col, two) if cdat_nogil else None, med[("threads", 1)] / med[("threads", two)], "x")
    cmp.row(f"the same on {two} processes", cs("procs_ms", 1) / cs("procs_ms", two) if cdat_sub else None,
            med[("procs", 1)] / med[("procs", two)], "x")
    cmp.row(f"the same on {two} subinterpreters (C: a GIL each)", cs("interps_ms", 1) / cs("interps_ms", two)
            if cdat_sub else None, med[("interps", 1)] / med[("interps", two)] if api.name else
            "not in this interpreter", "x", "" if own_gil() else
            f"{api.name} before 3.12: every subinterpreter under the process's one GIL")
    cmp.row("free-threaded, one thread: slower than the GIL build by (C: biased counts)",
            cn("overhead_biased", 1), overhead if overhead is not None else
            "not measured: " + ("no GIL build of this version beside it" if ft else "this is a GIL build"), "%",
            ratio=False)
    cmp.row(f"the job on one thread (not the same job: C's ticks, CPython's {args.work:g} million additions)",
            cn("gil_ms", 1), med[("threads", 1)], "ms", ratio=False)
