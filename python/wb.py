"""wb.py: what every script in python/ shares.

The scripts python/NN_name.py run the lessons' Python on a real interpreter and measure
what chapter NN's C programs measure, so that `make compare` can put the two side by
side. This module gives them the workbook's conventions, in Python:

  options     parse(): validated options like the C programs' (--help, --quick,
              --data DIR); a bad value prints one line naming the option and the
              accepted range, then the usage, and exits 2
  data files  DataFile: a gnuplot data file with the header common/datafile.c writes
              ("# title", "# machine: ...", "# date: ..."), where the machine line
              names the interpreter in the compiler's place
  C's data    read_data(): a C program's data file, by block and column name;
              run_c(): run a C program (its --quick run, say) and keep its output
  the table   Compare: the rows of plots/compare.md for one chapter
  statistics  summary(): min, p10, median, p90, max, as common/stats.c computes them
  processes   child_init() for every child (it dies with its parent, the default
              signals; worker_init() for a Pool's workers), on_termination() for the main process (SIGTERM and SIGHUP end
              it through the same clean-up as Ctrl-C), bounded(): run a function that
              may hang in a child, with a time limit; pin(): one thread to one CPU

Adding a chapter's script (python/README.md says more):
  1. Drop python/NN_name.py here: a header docstring (what it measures, the lesson's
     idiom, how to run it), options from parse(), and for each C experiment it
     mirrors a DataFile at <DIR>/<experiment>_py.dat whose blocks have the C file's
     columns (same names and units; NaN where CPython has no counterpart), plus a
     Compare for the chapter's rows. `make compare` finds it by its name.
  2. Declare its figures in one place, the figure's gnuplot script: plots/<figure>.gp
     draws the CPython series when it gets the _py.dat file as a third argument
     (see plots/style.gp). Every figure of that experiment in the chapter's plots.mk
     is then redrawn with both runtimes.
  3. tests/python.sh runs the script with --quick and checks its data files' columns
     against the C program's; nothing to add there.
"""
import argparse
import ctypes
import json
import math
import multiprocessing
import os
import platform
import re
import signal
import subprocess
import sys
import sysconfig
import threading
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NS_PER_US, NS_PER_MS, NS_PER_S = 1000, 1000_000, 1000_000_000

# ---- options ---------------------------------------------------------------------------


def format_duration(ns):
    for unit, size in (("s", NS_PER_S), ("ms", NS_PER_MS), ("us", NS_PER_US)):
        if ns >= size:
            return f"{ns / size:g}{unit}"
    return f"{ns:g}ns"


def parse_duration(s):
    m = re.fullmatch(r"([0-9]+(?:\.[0-9]*)?)(ns|us|ms|s)", s)
    if not m:
        return None
    return round(float(m.group(1)) * {"ns": 1, "us": NS_PER_US, "ms": NS_PER_MS, "s": NS_PER_S}[m.group(2)])


class Opt:
    """One option: kind is int, real, duration (stored in ns), choice or flag. The
    range lo..hi includes both ends; quick is the value --quick uses when the option is
    not given; default is the value otherwise."""

    def __init__(self, name, kind, default, help, lo=None, hi=None, quick=None, choices=None):
        self.name, self.kind, self.default, self.help = name, kind, default, help
        self.lo, self.hi, self.quick, self.choices = lo, hi, quick, choices

    def show(self, v):
        return format_duration(v) if self.kind == "duration" else str(v)

    def range_text(self):
        if self.kind == "choice":
            return "|".join(self.choices)
        return f"{self.show(self.lo)}..{self.show(self.hi)}"

    def convert(self, s, die):
        name = "--" + self.name
        if self.kind == "choice":
            if s not in self.choices:
                die(f"{name}: '{s}' is not one of {self.range_text()}")
            return s
        if self.kind == "int":
            if not re.fullmatch(r"[+-]?[0-9]+", s):
                die(f"{name}: '{s}' is not a whole number (accepted: {self.range_text()})")
            v = int(s)
        elif self.kind == "real":
            try:
                v = float(s)
            except ValueError:
                v = math.nan
            if not math.isfinite(v):
                die(f"{name}: '{s}' is not a number (accepted: {self.range_text()})")
        else:
            v = parse_duration(s)
            if v is None:
                die(f"{name}: '{s}' is not a duration such as 20ms or 1.5s (accepted: {self.range_text()})")
        if not self.lo <= v <= self.hi:
            die(f"{name}: {s} is out of range (accepted: {self.range_text()})")
        return v


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own complaints, in the workbook's form
        m = re.match(r"unrecognized arguments: (\S+)", message)
        if m:
            what = m.group(1)
            message = f"unknown option '{what}'" if what.startswith("-") else \
                f"unexpected argument '{what}' (this program takes options only)"
        m = re.match(r"argument (--[\w-]+).*expected one argument", message)
        if m:
            message = f"{m.group(1)} needs a value"
        self.die(message)

    def die(self, message):
        sys.stderr.write(f"{self.prog}: {message}\n")
        self.print_usage(sys.stderr)
        sys.exit(2)


def parse(about, opts, argv=None):
    """Parses the command line; returns a namespace with one attribute per option (dashes
    become underscores), plus quick (bool), data (a directory, or None) and die(message),
    for checks that span options (same form: one line, the usage, exit 2)."""
    prog = os.path.basename(sys.argv[0])
    p = _Parser(prog=prog, description=about, formatter_class=argparse.RawDescriptionHelpFormatter,
                allow_abbrev=False)
    for o in opts:
        if o.kind == "flag":
            p.add_argument("--" + o.name, action="store_true", help=o.help)
            continue
        shown = o.show(o.default)
        quick = f", --quick {o.show(o.quick)}" if o.quick is not None else ""
        p.add_argument("--" + o.name, metavar=o.kind.upper() if o.kind != "choice" else "WORD",
                       help=f"{o.help}; {o.range_text()} (default {shown}{quick})")
    p.add_argument("--quick", action="store_true", help="a small, fast run (what the tests use)")
    p.add_argument("--data", metavar="DIR",
                   help="write <experiment>_py.dat and compare_NN.json into DIR, and read the C "
                        "programs' data files from there")
    args = p.parse_args(argv)
    for o in opts:
        if o.kind == "flag":
            continue
        attr = o.name.replace("-", "_")
        given = getattr(args, attr)
        if given is None:
            setattr(args, attr, o.quick if args.quick and o.quick is not None else o.default)
        else:
            setattr(args, attr, o.convert(given, p.die))
    if args.data is not None and not os.path.isdir(args.data):
        p.die(f"--data: '{args.data}' is not a directory")
    args.die = p.die
    return args


# ---- the machine and the interpreter ---------------------------------------------------


def cpu_model():
    """'Intel Xeon', as common/datafile.c writes it: /proc/cpuinfo's first model name,
    without "(R)", "(TM)", " CPU", " Processor" and the clock rate."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    name = line.split(":", 1)[1].split("@")[0].strip()
                    for noise in ("(R)", "(TM)", " CPU", " Processor"):
                        name = name.replace(noise, "")
                    return name.strip()
    except OSError:
        pass
    return "unknown CPU"


def cores():
    return os.sysconf("SC_NPROCESSORS_ONLN")


def gil_state():
    """'GIL' for a default build; for a free-threaded one, whether the GIL is on."""
    if not sysconfig.get_config_var("Py_GIL_DISABLED"):
        return "GIL"
    enabled = getattr(sys, "_is_gil_enabled", lambda: True)()
    return "free-threaded, GIL " + ("on" if enabled else "off")


def has_gil():
    return gil_state() != "free-threaded, GIL off"


def interpreter_short():
    return f"{platform.python_implementation()} {platform.python_version()} ({gil_state()})"


def modules():
    """'greenlet 2.0.2, gevent 22.10.2': the optional modules chapter 07 compares, or
    'greenlet not installed' and so on."""
    import importlib.metadata
    out = []
    for name in ("greenlet", "gevent"):
        try:
            out.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            out.append(f"{name} not installed")
    return ", ".join(out)


def interpreter_long():
    return f"{platform.python_implementation()} {sys.version.split()[0]}, {gil_state()}, " \
           f"{sys.executable}; build: {' '.join(sys.version.split()[1:])}; {modules()}"


def machine_prefix():
    """'Intel Xeon, 2 cores, Linux 6.18.44': the part of a data file's machine line that
    says where it was measured (C's adds the compiler, ours the interpreter)."""
    u = os.uname()
    release = re.split(r"[-+]", u.release)[0]
    return f"{cpu_model()}, {cores()} cores, {u.sysname} {release}"


def machine_string():
    return f"{machine_prefix()}, {interpreter_short()}"


def now_utc():
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())


# ---- data files ------------------------------------------------------------------------


def _fmt(v):
    if isinstance(v, str):
        return '"' + v.replace('"', "'") + '"'
    if isinstance(v, bool):
        return str(int(v))
    if isinstance(v, int):
        return str(v)
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "NaN"
    return f"{v:.6g}"


class DataFile:
    """A gnuplot data file, written whole or not at all (to NAME.part, renamed on
    close). With dirname None it does nothing, so a script can always call it."""

    def __init__(self, dirname, experiment, title):
        self.path = None if dirname is None else os.path.join(dirname, experiment + "_py.dat")
        self.blocks = 0
        self.f = None
        if self.path:
            self.f = open(self.path + ".part", "w")
            self.f.write(f"# {title}\n# machine: {machine_string()}\n# date: {now_utc()}\n"
                         f"# interpreter: {interpreter_long()}\n")

    def block(self, name, columns):
        if not self.f:
            return
        if self.blocks:
            self.f.write("\n\n")
        self.f.write(f"# block {self.blocks}: {name}\n# columns:\n")
        for i, c in enumerate(columns, 1):
            self.f.write(f"#   {i}  {c}\n")
        self.blocks += 1

    def row(self, *values):
        if self.f:
            self.f.write(" ".join(_fmt(v) for v in values) + "\n")

    def note(self, key, value):
        if self.f:
            self.f.write(f"# {key}: {value}\n")

    def close(self):
        if self.f:
            self.f.close()
            os.replace(self.path + ".part", self.path)
            self.f = None

    def discard(self):
        if self.f:
            self.f.close()
            os.unlink(self.path + ".part")
            self.f = None

    def __enter__(self):
        return self

    def __exit__(self, kind, value, tb):
        if kind is None:
            self.close()
        else:
            self.discard()


def column_key(spec):
    """'median (us): one switch' -> 'median (us)': a column's name and unit."""
    return spec.split(":", 1)[0].strip()


class Data:
    """A data file read back: header lines (header['machine'], ...) and blocks, each a
    name, column keys (name and unit) and rows of values (numbers or text)."""

    def __init__(self, path):
        self.path, self.header, self.blocks = path, {}, []
        cur = None
        with open(path) as f:
            for line in f:
                line = line.rstrip("\n")
                m = re.match(r"# block \d+: (.*)", line)
                if m:
                    cur = {"name": m.group(1), "columns": [], "rows": []}
                    self.blocks.append(cur)
                    continue
                m = re.match(r"#\s+\d+\s+(.*)", line)
                if m and cur is not None and not cur["rows"]:
                    cur["columns"].append(column_key(m.group(1)))
                    continue
                m = re.match(r"# ([\w ]+): (.*)", line)
                if m and line.startswith("# ") and m.group(1) not in ("block", "columns"):
                    self.header.setdefault(m.group(1), m.group(2))
                    continue
                if not line.strip() or line.startswith("#") or cur is None:
                    continue
                cur["rows"].append([_value(t) for t in _split(line)])

    def column(self, block, name):
        """The values of column `name` ('median', or 'median (us)') in block `block`
        (its index, or the start of its name)."""
        b = self.block(block)
        for i, c in enumerate(b["columns"]):
            if c == name or c.split(" (")[0] == name:
                return [r[i] if i < len(r) else math.nan for r in b["rows"]]
        raise KeyError(f"{self.path}: block '{b['name']}' has no column '{name}'")

    def block(self, which):
        if isinstance(which, int):
            return self.blocks[which]
        for b in self.blocks:
            if b["name"].startswith(which):
                return b
        raise KeyError(f"{self.path}: no block '{which}'")

    def at(self, block, name, key_name, key):
        """The value of `name` in the row whose `key_name` column equals `key`."""
        for k, v in zip(self.column(block, key_name), self.column(block, name)):
            if k == key:
                return v
        return math.nan


def _split(line):
    return [a or b for a, b in re.findall(r'"([^"]*)"|(\S+)', line)]


def _value(t):
    try:
        return float(t)
    except ValueError:
        return t


def read_data(dirname, experiment):
    """The C program's data file <dirname>/<experiment>.dat, or None if it is missing."""
    if dirname is None:
        return None
    path = os.path.join(dirname, experiment + ".dat")
    return Data(path) if os.path.exists(path) else None


def run_c(program, args=(), timeout=60, status=0):
    """Runs chapters/<program> (say '02-queue/queue_demo') and returns its stdout, or None
    if it is not built. An exit status other than `status`, or a time-out, is an error:
    the C side must work."""
    path = os.path.join(TOP, "chapters", program)
    if not os.access(path, os.X_OK):
        return None
    r = subprocess.run([path, *args], capture_output=True, text=True, timeout=timeout)
    if r.returncode != status:
        raise RuntimeError(f"{program} {' '.join(args)} exited {r.returncode}: {r.stderr.strip()[:300]}")
    return r.stdout


# ---- the comparison table --------------------------------------------------------------


class Compare:
    """The rows of plots/compare.md for one chapter, written to <DIR>/compare_NN.json.
    A row: what is measured, the C value, the CPython value (numbers, or text such as
    "not installed"), the unit, and a note. The ratio CPython / C is computed for
    numbers in the same unit, unless ratio=False or the unit is "x" (a ratio of two
    speed-ups says little)."""

    def __init__(self, dirname, chapter, title):
        self.path = None if dirname is None else os.path.join(dirname, f"compare_{chapter}.json")
        self.chapter, self.title = chapter, title
        self.rows, self.sources = [], {}

    def source(self, what, description):
        """Where the C numbers came from ('spawn_cost.dat', 'measured <date> ...')."""
        self.sources[what] = description

    def c_data(self, data):
        if data is not None:
            self.source(os.path.basename(data.path),
                        f"{data.header.get('date', '?')}, {data.header.get('machine', '?')}")

    def row(self, quantity, c, py, unit="", note="", ratio=True):
        self.rows.append({"quantity": quantity, "c": _clean(c), "py": _clean(py), "unit": unit,
                          "note": note, "ratio": bool(ratio) and unit != "x"})
        print(f"  {quantity}: C {show(c, unit)} | CPython {show(py, unit)}" + (f"  ({note})" if note else ""))

    def write(self):
        if not self.path:
            return
        doc = {"chapter": self.chapter, "title": self.title, "interpreter": interpreter_long(),
               "machine": machine_string(), "machine_prefix": machine_prefix(), "date": now_utc(),
               "c_sources": self.sources, "rows": self.rows}
        with open(self.path + ".part", "w") as f:
            json.dump(doc, f, indent=1, ensure_ascii=False)
            f.write("\n")
        os.replace(self.path + ".part", self.path)


def _clean(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def show(v, unit=""):
    """A value for the table: numbers with three significant digits and the unit."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        s = f"{v:,}"
    elif abs(v) >= 100:
        s = f"{v:,.0f}"
    else:
        s = f"{v:.3g}"
    return f"{s} {unit}".strip() if unit not in ("x", "%") else s + unit


# ---- statistics ------------------------------------------------------------------------


def percentile(sorted_v, p):
    """common/stats.c's percentile: interpolated between neighbours."""
    n = len(sorted_v)
    if p <= 0:
        return sorted_v[0]
    if p >= 100:
        return sorted_v[-1]
    rank = p / 100 * (n - 1)
    lo = int(rank)
    if lo + 1 >= n:
        return sorted_v[-1]
    return sorted_v[lo] + (rank - lo) * (sorted_v[lo + 1] - sorted_v[lo])


class Summary:
    def __init__(self, values):
        v = sorted(values)
        if not v:
            raise ValueError("summary of no values")
        self.n, self.min, self.max = len(v), v[0], v[-1]
        self.p10, self.median, self.p90 = (percentile(v, p) for p in (10, 50, 90))


def summary(values):
    return Summary(values)


# ---- processes, threads, signals -------------------------------------------------------

_libc = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG, _PR_SET_TIMERSLACK = 1, 29
_main_pid = os.getpid()


def child_init():
    """Call first in a child process started from the main thread (a Process's target):
    the kernel kills it when its parent dies (prctl PR_SET_PDEATHSIG, as common/'s
    fork_child does), and SIGINT and SIGTERM are back to their defaults (the main
    process turns them into KeyboardInterrupt; a child must simply die).
    Not for a Pool's workers: see worker_init."""
    if _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG)")
    _default_signals()
    if os.getppid() == 1:  # the parent died before prctl: nobody will reap us
        os._exit(1)


def worker_init():
    """A Pool's or an executor's initializer. The death signal of child_init is sent when
    the *thread* that forked the child ends, and Pool forks replacement workers from a
    helper thread that ends in terminate(): the worker would be killed there, perhaps
    holding the pool's queue lock, and terminate() would wait for that lock for ever.
    So a worker watches its parent instead: a daemon thread that ends the worker when
    the parent is gone (checked every 0.2 s)."""
    _default_signals()
    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _default_signals():
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, signal.SIG_DFL)


def tight_timer_slack():
    """common/'s tight_timer_slack: short sleeps end within a microsecond of their time
    (used for the simulated network, never for the interpreter being measured)."""
    _libc.prctl(_PR_SET_TIMERSLACK, 1, 0, 0, 0)


def _terminate(signum, frame):
    if os.getpid() == _main_pid:
        raise KeyboardInterrupt(f"signal {signum}")
    os._exit(128 + signum)


def on_termination():
    """SIGTERM and SIGHUP end the main process the way Ctrl-C does (KeyboardInterrupt),
    so every `finally:` runs: children are ended and joined, sockets closed."""
    for s in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, _terminate)


def fork_context():
    return multiprocessing.get_context("fork")


def _bounded_child(conn, func, args):
    child_init()
    try:
        func(conn, *args)
    finally:
        conn.close()


def bounded(func, args=(), timeout=5.0, stop_when=None):
    """Runs func(conn, *args) in a forked child, for at most `timeout` seconds. func may
    send progress through conn (a Pipe end). Returns (hung, seconds, messages, exitcode):
    a child still running at the time limit, or when a message satisfies stop_when
    (a watchdog's report that it is stuck), is killed (SIGKILL) and reported as hung."""
    ctx = fork_context()
    parent_end, child_end = ctx.Pipe(duplex=False)
    p = ctx.Process(target=_bounded_child, args=(child_end, func, args))  # may have children
    start = time.monotonic()
    messages = []
    try:
        p.start()
        child_end.close()
        deadline = start + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not parent_end.poll(left):
                break
            try:
                messages.append(parent_end.recv())
            except EOFError:  # the child ended
                p.join(max(0.0, deadline - time.monotonic()))
                break
            if stop_when and stop_when(messages[-1]):
                break
        hung = p.is_alive()
        elapsed = time.monotonic() - start
        if hung:
            p.kill()
        p.join()
        return hung, elapsed, messages, p.exitcode
    finally:
        if p.is_alive():
            p.kill()
            p.join()
        parent_end.close()


def pin(cpu):
    """Pins the calling thread to one CPU (sched_setaffinity(0) is the calling thread
    on Linux)."""
    os.sched_setaffinity(0, {cpu})


def unpin():
    os.sched_setaffinity(0, range(cores()))


def stop_helpers():
    """Ends multiprocessing's helper processes now, rather than when this process exits,
    so that nothing is left when the script ends: the forkserver first (its socket lives
    in multiprocessing's temporary directory), then multiprocessing's own exit handler
    (it removes named semaphores and that directory, and joins children), then the
    resource tracker, which then has nothing left to clean up."""
    from multiprocessing import forkserver, resource_tracker, util
    for helper in (getattr(forkserver, "_forkserver", None), None, getattr(resource_tracker, "_resource_tracker", None)):
        if helper is None:
            util._exit_function()
        elif getattr(helper, "_stop", None):
            helper._stop()


def main(run):
    """Runs run() with the workbook's process hygiene: SIGTERM and SIGHUP as Ctrl-C, the
    helpers stopped at the end, and an interrupt reported in one line (exit 130)."""
    on_termination()
    try:
        run()
    except KeyboardInterrupt:
        sys.stderr.write(f"{os.path.basename(sys.argv[0])}: interrupted; every child ended\n")
        sys.exit(130)
    finally:
        stop_helpers()


def spin_until(t):
    while time.perf_counter() < t:
        pass


def threads_start_together(targets):
    """Starts one thread per target behind a barrier, so they begin together; returns
    the threads (joined by the caller)."""
    barrier = threading.Barrier(len(targets))

    def go(f):
        barrier.wait(timeout=30)
        f()

    ts = [threading.Thread(target=go, args=(f,), daemon=True) for f in targets]
    for t in ts:
        t.start()
    return ts


def join_all(threads, timeout=120.0):
    """Joins threads within `timeout` seconds overall; a thread still running is an
    error (the measurement is broken), not a hang."""
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
        if t.is_alive():
            raise RuntimeError(f"thread {t.name} still running after {timeout:.0f} s")
