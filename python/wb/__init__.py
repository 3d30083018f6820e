"""wb: what every script in python/ shares.

The scripts python/NN_name.py run the lessons' Python on a real interpreter and measure
what chapter NN's C programs measure, so that `make compare` can put the two side by
side. This package gives them the workbook's conventions, in Python, one concern a file:

  options.py   parse(), Opt: validated options like the C programs' (--help, --quick,
               --data DIR); a bad value prints one line naming the option and the
               accepted range, then the usage, and exits 2
  machine.py   the machine and the interpreter, as a data file's header names them;
               private_kib(): a process's private memory
  data.py      DataFile: a gnuplot data file with common/datafile.c's header;
               Data, read_data(): a data file read back by block and column name (the
               C program's, beside ours); run_c(): run a C program and keep its output
  table.py     Compare: the rows of plots/compare.md for one chapter; show(); summary()
               (min, p10, median, p90, max, as common/stats.c computes them)
  children.py  main(run) for every script (SIGTERM as Ctrl-C, exit 130, helpers
               stopped); child_init() first in every child (it dies with its parent;
               worker_init() for a Pool's workers); bounded(): run what may hang in a
               child, with a time limit; end_all(), held_interrupts(); fork_map():
               a function in fork children, all at once, their results back
  threads.py   pin(): one thread to one CPU; threads started together, joined bounded;
               lock_pairs(): acquire, add 1, release, on several threads

Scripts use the names below as wb.NAME (`import wb`); python/README.md says how to add
a chapter's script.
"""
from .children import (bounded, child_init, end_all, fork_context, fork_map, held_interrupts, main, on_termination,
                       read_exact, stop_helpers, worker_init)
from .data import TOP, Data, DataFile, column_key, read_data, run_c
from .machine import (cores, cpu_model, gil_state, has_gil, interpreter_long, interpreter_short, machine_prefix,
                      machine_string, modules, now_utc, private_kib)
from .options import NS_PER_MS, NS_PER_S, NS_PER_US, Opt, format_duration, parse, parse_duration
from .table import Compare, Summary, percentile, show, summary
from .threads import (join_all, lock_pairs, pin, spin_until, threads_start_together, tight_timer_slack, two_cpus,
                      unpin)

__all__ = [
    "bounded", "child_init", "end_all", "fork_context", "fork_map", "held_interrupts", "main", "on_termination",
    "read_exact", "stop_helpers", "worker_init",
    "TOP", "Data", "DataFile", "column_key", "read_data", "run_c",
    "cores", "cpu_model", "gil_state", "has_gil", "interpreter_long", "interpreter_short", "machine_prefix",
    "machine_string", "modules", "now_utc", "private_kib",
    "NS_PER_MS", "NS_PER_S", "NS_PER_US", "Opt", "format_duration", "parse", "parse_duration",
    "Compare", "Summary", "percentile", "show", "summary",
    "join_all", "lock_pairs", "pin", "spin_until", "threads_start_together", "tight_timer_slack", "two_cpus",
    "unpin",
]
