"""wb/options.py: the scripts' command lines, validated the way the C programs' are
(common/cli.c): --help, --quick, --data DIR, and each option's range; a bad value gets
one line naming the option and the accepted range, then the usage, and exit status 2.

    args = wb.parse("what the script does", [wb.Opt("samples", "int", 21, "samples", 3, 1001, quick=3)])

Durations are written as the C programs take them (20ms, 1.5s) and stored in ns.
"""
import argparse
import math
import os
import re
import sys

NS_PER_US, NS_PER_MS, NS_PER_S = 1000, 1000_000, 1000_000_000


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
    for checks that span options (same form: one line, the usage, exit 2).
    An option whose default or --quick value is outside its own range is the script's
    mistake, not the user's: ValueError."""
    for o in opts:
        for v in (o.default, o.quick):
            if v is not None and o.kind not in ("flag", "choice") and not o.lo <= v <= o.hi:
                raise ValueError(f"option --{o.name}: {v} is outside its range {o.range_text()}")
            if v is not None and o.kind == "choice" and v not in o.choices:
                raise ValueError(f"option --{o.name}: {v} is none of {o.range_text()}")
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
