"""wb/data.py: data files. DataFile writes one with the header common/datafile.c writes
("# title", "# machine: ...", "# date: ...", then blocks of named columns), the machine
line naming the interpreter in the compiler's place; Data reads one back (a C program's
or a script's) by block and column; read_data finds the C program's file beside ours;
run_c runs a C program (its --quick run, say) and keeps its output."""
import math
import os
import re
import subprocess

from .machine import interpreter_long, machine_string, now_utc

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


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
    close). With dirname None it does nothing, so a script can always call it.
    A block left without rows gets one row of NaN: gnuplot's `index N` does not count a
    block with no data line, so every later block would be drawn as the one before."""

    def __init__(self, dirname, experiment, title):
        self.path = None if dirname is None else os.path.join(dirname, experiment + "_py.dat")
        self.blocks = 0
        self.columns, self.rows = 0, 0
        self.f = None
        if self.path:
            self.f = open(self.path + ".part", "w")
            self.f.write(f"# {title}\n# machine: {machine_string()}\n# date: {now_utc()}\n"
                         f"# interpreter: {interpreter_long()}\n")

    def _end_block(self):
        if self.blocks and not self.rows:
            self.row(*[None] * self.columns)

    def block(self, name, columns):
        if not self.f:
            return
        self._end_block()
        if self.blocks:
            self.f.write("\n\n")
        self.f.write(f"# block {self.blocks}: {name}\n# columns:\n")
        for i, c in enumerate(columns, 1):
            self.f.write(f"#   {i}  {c}\n")
        self.blocks += 1
        self.columns, self.rows = len(columns), 0

    def row(self, *values):
        if self.f:
            self.f.write(" ".join(_fmt(v) for v in values) + "\n")
            self.rows += 1

    def note(self, key, value):
        if self.f:
            self.f.write(f"# {key}: {value}\n")

    def close(self):
        if self.f:
            self._end_block()
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
