"""wb/table.py: a chapter's rows of plots/compare.md (Compare, written to
compare_NN.json for python/compare.py), the way a value is shown there (show), and the
statistics every script reports (summary: min, p10, median, p90, max, as common/stats.c
computes them)."""
import json
import math
import os

from .machine import interpreter_long, machine_prefix, machine_string, now_utc


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
