"""11_futures/matrix.py: the lessons' rule as CPython's matrix (part 3), beside choose.c.

choose's four workloads, sized by the number of cores C and with choose's options and
defaults (cpu: 8C tasks of --cpu of CPU work; io: 32C requests answered after --delay;
mixed: the same requests, each then --parse of CPU work; idle: --conns x C connections
answered after --idle), on CPython's runners (load.py): one thread,
ThreadPoolExecutor, ProcessPoolExecutor, asyncio, a process per core each with an
asyncio loop, and gevent if it is installed. Each cell is the median of --repeat runs,
each in a fresh process, the runners taking turns; a run cut short at --cap, or longer
than 400 ms, is not repeated (choose's rules). Beside the wall time: the cores busy
(CPU time / wall time), the most tasks in progress at once, and for idle the private
memory per connection held at once. Rows of choose_py.dat: choose's columns, the
runner numbered as choose numbers its columns (CPython's threads under "threads+GIL" on
a build with a GIL), gevent as runner 6.
"""
import time

import load
import wb
from load import COROS, GEVENT, GIL, HAVE_GEVENT, HYBRID, ONE, PROCS, RUNNER_NAMES, THREADS, THREADS_COLUMN
from runners import cell_run

WORKLOADS = ("cpu", "io", "mixed", "idle")
C_NAMES = ("one thread", "threads", "threads+GIL", "processes", "coroutines", "procs+coros")
PICK = {"cpu": PROCS, "io": GIL, "mixed": HYBRID, "idle": COROS}  # choose.c's pick[], in its columns
LONG_MS = 400.0


def loads(args, tick, addr, cores):
    t_cpu, t_parse = round(args.cpu / tick), round(args.parse / tick)
    return {"cpu": load.Load(args.cpu_tasks * cores, False, 0, t_cpu, cores, 0, addr),
            "io": load.Load(args.tasks * cores, True, args.delay, 0, cores, 0, addr),
            "mixed": load.Load(args.tasks * cores, True, args.delay, t_parse, cores, 0, addr),
            "idle": load.Load(args.conns * cores, True, args.idle, 0, cores, 0, addr)}


def describe(w, ld, tick):
    cpu_ms = ld.ticks * tick / 1e6
    if w == "cpu":
        return f"{ld.tasks} tasks x {cpu_ms:.1f} ms of CPU"
    if w == "mixed":
        return f"{ld.tasks} tasks x (a request answered after {ld.delay / 1e6:.0f} ms, then {cpu_ms:.1f} ms of CPU)"
    return f"{ld.tasks} {'requests' if w == 'io' else 'connections'}, answered after {ld.delay / 1e6:.0f} ms"


def measure(w, ld, runners, args):
    runs = {r: [] for r in runners}
    for _ in range(args.repeat):
        for r in runners:
            if runs[r] and (runs[r][-1][0].done < ld.tasks or runs[r][0][0].wall > LONG_MS):
                continue  # cut short once, it would be again; long: the noise is small beside it
            one = ld._replace(deadline=time.monotonic() + args.cap / 1e9)
            cell = cell_run(r, one, w == "idle")
            if cell.wrong:
                raise RuntimeError(f"{RUNNER_NAMES[r]} on {w}: {cell.wrong} wrong replies")
            if cell.done == ld.tasks and cell.check != load.expected(ld):
                raise RuntimeError(f"{RUNNER_NAMES[r]} on {w}: the tasks' values do not add up")
            runs[r].append((cell, cell.done < ld.tasks))
    out = {}
    for r, rs in runs.items():
        capped = rs[-1][1]
        cell = rs[-1][0] if capped else sorted(rs, key=lambda x: x[0].wall)[len(rs) // 2][0]
        out[r] = {"cell": cell, "capped": capped, "ms": cell.wall, "busy": cell.cpu * 1e3 / cell.wall}
    return out


def winner(row):
    done = sorted((v["ms"], r) for r, v in row.items() if not v["capped"])
    return (done[0][1] if done else None), (done[1][1] if len(done) > 1 else None)


def name(r):
    return "threads" if r == THREADS else RUNNER_NAMES[r]


def c_cells(cdat):
    """choose.dat's cells: {workload: {runner: (wall, capped, done, tasks, kib, busy)}}, or {}."""
    out = {}
    if cdat is None:
        return out
    for row in cdat.block(0)["rows"]:
        out.setdefault(WORKLOADS[int(row[0])], {})[int(row[1])] = (row[2], row[4] > 0, row[5], row[6], row[9], row[7])
    return out


def c_winner(cw):
    done = sorted((v[0], r) for r, v in cw.items() if not v[1])
    return done[0] if done else (None, None), (done[1] if len(done) > 1 else (None, None))


def tables(res, runners, ls, what):
    def table(title, cell, only=None):
        print(f"\n  {title}\n    {'workload':8}" + "".join(f" {name(r)[:19]:>19}" for r in runners))
        for w in only or WORKLOADS:
            print(f"    {w:8}" + "".join(f" {cell(w, res[w][r]):>19}" for r in runners))
    table("wall time, ms (> cap: cut short, with the tasks done)",
          lambda w, v: f"> {v['ms']:.0f} ({v['cell'].done})" if v["capped"] else f"{v['ms']:.1f}")
    table("cores busy: CPU time / wall time (above 1: parallel)", lambda w, v: f"{v['busy']:.2f}")
    table("tasks in progress at once, at the peak (above 1: concurrent)", lambda w, v: f"{v['cell'].peak}")
    table("idle: private memory at the peak per connection held at once, KiB",
          lambda w, v: f"{v['cell'].mem_kib / max(1, v['cell'].peak):.1f}", ["idle"])
    busy = {w: max(v["cell"].server_busy for v in res[w].values()) for w in WORKLOADS}
    print("\n  every reply was right, and every complete run added up to the expected sum; the server (an asyncio\n"
          "  process) kept at most " + ", ".join(f"{busy[w]:.2f} ({w})" for w in WORKLOADS) +
          " of a core busy over a run\n")
    print("| workload | " + " | ".join(name(r) for r in runners) +
          " | winner, ahead of the next by | the lessons' pick |")
    print("|---|" + "---|" * (len(runners) + 2))
    for w in WORKLOADS:
        best, second = winner(res[w])
        cells = []
        for r in runners:
            v = res[w][r]
            cells.append(f"> {v['ms']:.0f} ms ({v['cell'].done} of {ls[w].tasks} done)" if v["capped"] else
                         f"**{v['ms']:.1f} ms**" if r == best else f"{v['ms']:.1f} ms")
        pick = THREADS_COLUMN if PICK[w] == GIL else PICK[w]
        p = res[w][pick]
        where = "cut short" if p["capped"] else "the winner" if pick == best else \
            f"{p['ms'] / res[w][best]['ms']:.2f}x the winner's time"
        lead = f"{res[w][second]['ms'] / res[w][best]['ms']:.2f}x" if second is not None else "-"
        print(f"| {w}: {what[w]} | " + " | ".join(cells) +
              f" | {name(best)}, {lead} | {name(pick)}, {where} |")


def part(args, d, cmp, cdat, addr, tick):
    cores = wb.cores()
    load.raise_fd_limit(args.conns * cores + 256)
    ls = loads(args, tick, addr, cores)
    runners = [ONE, THREADS_COLUMN, PROCS, COROS, HYBRID] + ([GEVENT] if HAVE_GEVENT else [])
    print(f"  {cores} cores; a round of CPU work (an addition in a Python loop) is {tick:.1f} ns; median of "
          f"{args.repeat} run(s) per cell (one if it takes over {LONG_MS:.0f} ms), each in a fresh process; no task "
          f"starts after {args.cap / 1e6:.0f} ms" + ("" if HAVE_GEVENT else f"; gevent {load.GEVENT_MISSING}"))
    what = {w: describe(w, ls[w], tick) for w in WORKLOADS}
    for w in WORKLOADS:
        print(f"    {w:6} {what[w]}")
    res = {w: measure(w, ls[w], runners, args) for w in WORKLOADS}
    tables(res, sorted(runners), ls, what)
    d.note("cores", cores)
    d.note("cap_ms", f"{args.cap / 1e6:.0f}")
    for k, w in enumerate(WORKLOADS):
        d.note(f"workload{k}", f"{w}: {what[w]}")
    d.note("runners", "0 one thread, 1 threads (a free-threaded build, GIL off), 2 ThreadPoolExecutor (GIL), "
                      "3 ProcessPoolExecutor, 4 asyncio, 5 procs+asyncio, 6 gevent")
    d.block("cells", [
        "workload: 0 cpu, 1 io, 2 mixed, 3 idle", "runner: 0 one thread .. 5 procs+asyncio, 6 gevent (see runners)",
        "wall (ms): median", "over_best: wall / the row's best complete wall", "capped: 1 if cut short",
        "done: tasks done (of tasks)", "tasks", "busy: CPU time / wall time", "peak: tasks in progress at once",
        "kib_per_conn (KiB): idle only, peak private memory / connections held at once (peak); -1 elsewhere"])
    for k, w in enumerate(WORKLOADS):
        best, _ = winner(res[w])
        for r in sorted(runners):
            v = res[w][r]
            kib = v["cell"].mem_kib / max(1, v["cell"].peak) if w == "idle" else -1
            d.row(k, r, v["ms"], v["ms"] / res[w][best]["ms"] if best is not None else 0, int(v["capped"]),
                  v["cell"].done, ls[w].tasks, v["busy"], v["cell"].peak, kib)
    rows(res, cmp, c_cells(cdat))


def rows(res, cmp, c):
    for w in WORKLOADS:
        best, second = winner(res[w])
        (cb_ms, cbest), (cs_ms, _) = c_winner(c.get(w, {}))
        cmp.row(f"{w}: the winner, ahead of the next by",
                f"{C_NAMES[cbest]} ({cb_ms:.1f} ms), {cs_ms / cb_ms:.2f}x" if cbest is not None else None,
                f"{name(best)} ({res[w][best]['ms']:.1f} ms), {res[w][second]['ms'] / res[w][best]['ms']:.2f}x",
                ratio=False)
        pick = THREADS_COLUMN if PICK[w] == GIL else PICK[w]
        cp = c.get(w, {}).get(PICK[w])
        cmp.row(f"{w}: the lessons' pick ({C_NAMES[PICK[w]]}; CPython: {name(pick)}), its time over the winner's",
                cp[0] / cb_ms if cp and not cp[1] and cb_ms else None,
                None if res[w][pick]["capped"] else res[w][pick]["ms"] / res[w][best]["ms"], "x")
    one, c1 = res["cpu"][ONE], c.get("cpu", {}).get(ONE)
    cmp.row("cpu: one thread, CPU time per task (each is planned as --cpu of work)",
            c1[0] * c1[5] / c1[3] if c1 else None, one["cell"].cpu * 1e3 / max(1, one["cell"].done), "ms",
            note="the calibration's check: near --cpu on both sides")
    th = res["cpu"][THREADS_COLUMN]
    cmp.row(f"cpu: {name(THREADS_COLUMN)}, cores busy (CPU time / wall time; above 1: parallel)",
            c.get("cpu", {}).get(2, (None,) * 6)[5], th["busy"], "cores", note="C: threads under the simulated GIL")
    for r, cr in ((THREADS_COLUMN, 2), (COROS, 4), (GEVENT, None), (HYBRID, 5), (PROCS, 3)):
        if r not in res["idle"]:
            if r == GEVENT:
                cmp.row("idle: memory per connection, gevent", None, load.GEVENT_MISSING, ratio=False)
            continue
        v = res["idle"][r]
        cv = c.get("idle", {}).get(cr) if cr is not None else None
        cmp.row(f"idle: memory per connection, {name(r)}" + (f" (C: {C_NAMES[cr]})" if cr is not None else ""),
                cv[4] if cv else None, v["cell"].mem_kib / max(1, v["cell"].peak), "KiB")
    for r, cr in ((THREADS_COLUMN, 2), (COROS, 4)):
        v, cv = res["idle"][r], c.get("idle", {}).get(cr)
        cmp.row(f"idle: wall time, {name(r)} (C: {C_NAMES[cr]})", cv[0] if cv else None, v["ms"], "ms")
