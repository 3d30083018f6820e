"""test_scripts.py: the tests of python/'s scripts (tests/run.sh runs it with $PYTHON).

    PYTHON tests/test_scripts.py --build DIR [--only 04] [--jobs 2]

For every python/NN_name.py (those of chapters matching --only), as jobs run --jobs at a
time (each job a process: the scripts' quick runs mostly wait):
  quick      it runs with --quick --data TMP within 120 s and exits 0, writes
             TMP/compare_NN.json with at least one row, and no process of its own is
             left once it has ended;
  columns    each TMP/<experiment>_py.dat has the header of common/datafile.c (title,
             "# machine:", "# date:"), the blocks of the C program's own data file (the
             program run with --quick --data), block for block: as many, each with the
             same columns (names and units), every row one field per column;
  interrupt  a second --quick run gets SIGINT as soon as it has a thread or a child
             process (so it is surely mid-way, with something to clean up): it ends
             within 15 s with status 130 and no process of its own left;
  options    --help exits 0 with a usage; an unknown option, and one bad value of one of
             the ranged options --help lists (a word, a number out of range, a duration
             without its unit, in turn from script to script), exit 2 with a first line
             naming the option (and its range).
And once, in this process: wb.parse itself, every kind of bad value for every kind of
option, a stray argument, an option without its value; and at the end, that no run left
multiprocessing's temporary directories, named semaphores or shared memory behind.
The output ends like a cmocka binary's, so that run.sh counts it the same way.
"""
import argparse
import concurrent.futures
import contextlib
import glob
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "python"))
import wb  # noqa: E402: the scripts' own parser of data files, and their options

results = []  # (name, ok, message)


def check(name, ok, message=""):
    results.append((name, ok, message))
    print(f"[ {'    OK' if ok else 'FAILED'} ] {name}" + ("" if ok else f": {message}"), flush=True)


def leftovers():
    """What multiprocessing can leave: its temporary directories, named semaphores and
    shared memory (anything else in /dev/shm is for tests/leftovers.sh to judge)."""
    return set(glob.glob("/tmp/pymp-*")) | set(glob.glob("/dev/shm/sem.mp-*")) | set(glob.glob("/dev/shm/psm_*"))


def marked_processes(mark):
    found = []
    for d in glob.glob("/proc/[0-9]*"):
        try:
            with open(f"{d}/environ", "rb") as f:
                if f"WB_SCRIPT_MARK={mark}".encode() in f.read().split(b"\0"):
                    found.append(int(os.path.basename(d)))
        except OSError:
            pass
    return found


def wait_gone(mark, seconds=5.0):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if not marked_processes(mark):
            return []
        time.sleep(0.1)
    return marked_processes(mark)


def env_with(mark):
    env = dict(os.environ, WB_SCRIPT_MARK=mark, COLUMNS="1000")
    env.pop("PYTHONPATH", None)
    return env


def has_helpers(pid):
    """Whether process pid has a second thread or a child process."""
    try:
        if len(os.listdir(f"/proc/{pid}/task")) > 1:
            return True
    except OSError:
        return False
    for d in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(d) as f:
                if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                    return True
        except (OSError, IndexError, ValueError):
            pass
    return False


# ---- the jobs (each runs in a worker thread, and returns what the checks need) ----------


def c_columns(build, experiment, tmp):
    """The column keys of each block of the C program's data file, run now with --quick,
    or None if the program is not there."""
    progs = glob.glob(os.path.join(build, "chapters", "*", experiment))
    if not progs:
        return None
    path = os.path.join(tmp, experiment + "_c.dat")
    subprocess.run([progs[0], "--quick", "--data", path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=120, check=True)
    return [b["columns"] for b in wb.Data(path).blocks]


def tail(path, n=800):
    with open(path, errors="replace") as f:
        return f.read()[-n:]


def quick_run(script, tmp):
    """A --quick run. Its output goes to a file, not a pipe: a child it left running
    would hold a pipe open, and the run would seem to last as long as that child."""
    mark = f"{os.getpid()}-quick-{os.path.basename(script)[:2]}"
    out = os.path.join(tmp, "output.txt")
    with open(out, "w") as f:
        try:
            r = subprocess.run([sys.executable, script, "--quick", "--data", tmp], stdout=f, stderr=subprocess.STDOUT,
                               timeout=120, env=env_with(mark))
            ok, msg = r.returncode == 0, f"exit {r.returncode}: {tail(out)}"
        except subprocess.TimeoutExpired:
            ok, msg = False, "still running after 120 s"
    return ok, msg, wait_gone(mark)


def interrupt_run(script, tmp):
    """A --quick run, sent SIGINT as soon as it has a thread or a child."""
    mark = f"{os.getpid()}-int-{os.path.basename(script)[:2]}"
    out = os.path.join(tmp, "output.txt")
    with open(out, "w") as f:
        p = subprocess.Popen([sys.executable, script, "--quick", "--data", tmp], stdout=subprocess.DEVNULL,
                             stderr=f, env=env_with(mark))
    deadline = time.monotonic() + 60
    busy = False
    while p.poll() is None and time.monotonic() < deadline:
        if has_helpers(p.pid):
            busy = True
            break
        time.sleep(0.005)
    if busy:
        p.send_signal(signal.SIGINT)
    try:
        p.wait(timeout=15)
        ended = True
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        ended = False
    return busy, ended, p.returncode, tail(out, 300), wait_gone(mark)


def run_options(script, index):
    """--help, an unknown option and one bad value: [(what, args, exit, stdout, stderr)]."""
    mark = f"{os.getpid()}-opt-{os.path.basename(script)[:2]}"
    out = []

    def run(what, args):
        r = subprocess.run([sys.executable, script, *args], capture_output=True, text=True, timeout=30,
                           env=env_with(mark))
        out.append((what, args, r.returncode, r.stdout, r.stderr))
        return r

    usage = run("help", ["--help"]).stdout
    run("unknown", ["--no-such-option"])
    ranged = re.findall(r"--([\w-]+) (INT|REAL|DURATION)\s+.*?; (\S+)\.\.(\S+) \(default", usage)
    if ranged:
        opt, kind, lo, hi = ranged[index % len(ranged)]
        value = bad_values(kind, lo, hi)[index % 3]
        run(f"bad {kind} {lo}..{hi}", [f"--{opt}", value])
    return out


def bad_values(kind, lo, hi):
    if kind == "INT":
        return ["x", str(int(lo) - 1), str(int(hi) + 1)]
    if kind == "REAL":
        return ["x", "nan", str(float(hi) * 10 + 1)]
    return ["x", "5", "99999s"]  # a word, a missing unit, out of range


# ---- the checks ------------------------------------------------------------------------


def check_quick(name, nn, tmp, outcome, c_cols):
    ok, msg, left = outcome
    check(f"{name} --quick", ok, msg)
    check(f"{name} --quick: no process of its own left", not left, f"processes {left}")
    if not ok:
        return
    try:
        with open(os.path.join(tmp, f"compare_{nn}.json")) as f:
            rows = json.load(f)["rows"]
        check(f"{name} writes compare_{nn}.json", len(rows) > 0, "no rows")
    except (OSError, ValueError, KeyError) as e:
        check(f"{name} writes compare_{nn}.json", False, str(e))
    for path in sorted(glob.glob(os.path.join(tmp, "*_py.dat"))):
        exp = os.path.basename(path)[:-len("_py.dat")]
        problems = []
        with open(path) as f:
            head = [f.readline() for _ in range(3)]
        if not (head[0].startswith("# ") and head[1].startswith("# machine: ") and head[2].startswith("# date: ")):
            problems.append(f"header {head!r}")
        data = wb.Data(path)
        want = c_cols.get(exp)
        if want is None:
            problems.append(f"no C program named {exp} (or its --quick run failed)")
        elif len(data.blocks) != len(want):
            problems.append(f"{len(data.blocks)} blocks, the C file has {len(want)}")
        for i, b in enumerate(data.blocks):
            if want is not None and i < len(want) and b["columns"] != want[i]:
                problems.append(f"block {i} ({b['name']}): columns {b['columns']}, the C file's are {want[i]}")
            if not b["rows"]:
                problems.append(f"block {i} ({b['name']}) has no row (gnuplot's index would skip it)")
            for row in b["rows"]:
                if len(row) != len(b["columns"]):
                    problems.append(f"block {i}: a row of {len(row)} fields for {len(b['columns'])} columns")
                    break
        check(f"{name}: {exp}_py.dat has {exp}'s blocks and columns", not problems, "; ".join(problems[:3]))


def check_interrupt(name, outcome):
    busy, ended, code, err, left = outcome
    check(f"{name}: SIGINT mid-run ends it (130), no process of its own left",
          busy and ended and code == 130 and not left,
          f"{'interrupted' if busy else 'never had a thread or a child to interrupt'}, ended={ended} (exit {code}), "
          f"processes {left}; {err}")


def check_options(name, runs):
    for what, args, code, out, err in runs:
        first = err.splitlines()[0] if err else ""
        if what == "help":
            check(f"{name} --help", code == 0 and "usage:" in out, f"exit {code}")
        elif what == "unknown":
            check(f"{name} {args[0]}", code == 2 and "unknown option" in first, f"exit {code}, said {first!r}")
        else:
            rng = what.split()[-1]
            check(f"{name} {' '.join(args)}", code == 2 and args[0] in first and rng in first,
                  f"exit {code}, said {first!r}")


def check_parser():
    """wb.parse, in this process: every kind of option, every kind of bad value."""
    opts = [wb.Opt("n", "int", 5, "a count", 1, 10, quick=2), wb.Opt("r", "real", 0.5, "a real", 0.1, 2),
            wb.Opt("d", "duration", wb.NS_PER_MS, "a time", wb.NS_PER_US, wb.NS_PER_S),
            wb.Opt("k", "choice", "a", "a word", choices=["a", "b"]), wb.Opt("f", "flag", False, "a flag")]
    bad = [(["--n", "x"], "--n"), (["--n", "0"], "--n"), (["--n", "11"], "--n"), (["--r", "nan"], "--r"),
           (["--r", "x"], "--r"), (["--r", "3"], "--r"), (["--d", "5"], "--d"), (["--d", "2s"], "--d"),
           (["--d", "1ns"], "--d"), (["--k", "c"], "--k"), (["stray"], "unexpected argument"),
           (["--n"], "--n needs a value"), (["--nope"], "unknown option"), (["--data", "/no/such/dir"], "--data")]
    for argv, what in bad:
        err = io.StringIO()
        code = None
        with contextlib.redirect_stderr(err):
            try:
                wb.parse("test", opts, argv)
            except SystemExit as e:
                code = e.code
        first = err.getvalue().splitlines()[0] if err.getvalue() else ""
        check(f"wb.parse {' '.join(argv)}", code == 2 and what in first and "usage:" in err.getvalue(),
              f"exit {code}, said {first!r}")
    a = wb.parse("test", opts, ["--quick", "--d", "1.5ms", "--f"])
    check("wb.parse: values, --quick's and the defaults", (a.n, a.r, a.d, a.k, a.f) == (2, 0.5, 1500000, "a", True),
          f"{(a.n, a.r, a.d, a.k, a.f)}")
    try:
        wb.parse("test", [wb.Opt("n", "int", 50, "a count", 1, 10)], [])
        ok = False
    except ValueError:
        ok = True
    check("wb.parse refuses a default outside its own range", ok, "it was accepted")


def check_cluster_tmp():
    """13_cluster's launch.run_job, in this process, interrupted (a real SIGINT to
    ourselves) at its two worst moments: just after it made its temporary directory,
    and in the middle of its clean-up. The directory must be gone either way. No MPI is
    needed: the interrupts come before any job starts."""
    sys.path.insert(0, os.path.join(TOP, "python", "13_cluster"))
    import launch
    mine = os.path.join(tempfile.gettempdir(), f"wb-13-cluster-{os.getpid()}-*")

    real_fork, real_kill = wb.fork_context, launch.kill_marked

    def no_job():
        raise RuntimeError("no job today")

    def interrupt_then_no_job():
        os.kill(os.getpid(), signal.SIGINT)  # its KeyboardInterrupt strikes here, at once
        no_job()

    def interrupt_then_kill(mark):
        os.kill(os.getpid(), signal.SIGINT)
        return real_kill(mark)

    real_os_fork = os.fork

    def fork_then_interrupt():  # (multiprocessing's fork: the launcher, here /bin/false's)
        pid = real_os_fork()
        if pid != 0:
            os.kill(os.getpid(), signal.SIGINT)
        return pid

    moments = {"right after making its directory": (interrupt_then_no_job, real_kill, real_os_fork),
               "in its clean-up": (no_job, interrupt_then_kill, real_os_fork),
               "right after forking its launcher": (real_fork, real_kill, fork_then_interrupt)}
    for moment, (fork_context, kill, fork) in moments.items():
        wb.fork_context, launch.kill_marked, os.fork = fork_context, kill, fork
        raised = None
        try:
            launch.run_job(("test", "no MPI", "/bin/false"), 2, [], timeout=1)
        except BaseException as e:  # noqa: B902 (KeyboardInterrupt is what we expect)
            raised = type(e).__name__
        finally:
            wb.fork_context, launch.kill_marked, os.fork = real_fork, real_kill, real_os_fork
        left = glob.glob(mine)
        for d in left:
            shutil.rmtree(d, ignore_errors=True)
        try:
            child = os.waitpid(-1, os.WNOHANG)[0] or "one still running"  # (and reaped now, if ended)
        except ChildProcessError:
            child = None
        check(f"13_cluster run_job interrupted {moment}: its temporary directory removed, its launcher ended",
              not left and not child and raised == "KeyboardInterrupt",
              f"left {left}, child {child}, raised {raised}")


def experiments(nn):
    """chapter nn's experiments, from its plots.mk: the C programs whose data a script mirrors."""
    out = []
    for mk in glob.glob(os.path.join(TOP, "chapters", f"{nn}-*", "plots.mk")):
        with open(mk) as f:
            out += re.findall(r"call experiment,[^,]+,([^,]+),", f.read())
    return out


def main():
    ap = argparse.ArgumentParser(description="the tests of python/'s scripts")
    ap.add_argument("--build", required=True, help="where the C programs are (the top, or build/<variant>)")
    ap.add_argument("--only", default="", help="only the chapters whose name contains this")
    ap.add_argument("--jobs", type=int, default=2, help="runs at a time (default 2)")
    args = ap.parse_args()
    # a shell that runs us in the background has SIGINT ignored, and an ignored signal
    # stays ignored in our children: the interrupt runs would find nothing to interrupt
    signal.signal(signal.SIGINT, signal.default_int_handler)
    chapters = [os.path.basename(d)[:2]
                for d in sorted(glob.glob(os.path.join(TOP, "chapters", "*" + args.only + "*")))]
    scripts = [s for nn in chapters for s in sorted(glob.glob(os.path.join(TOP, "python", f"{nn}_*.py")))]
    before = leftovers()
    check_parser()
    check_cluster_tmp()
    with tempfile.TemporaryDirectory(prefix="wb-scripts-") as tmp, \
            concurrent.futures.ThreadPoolExecutor(max(1, args.jobs)) as pool:
        dirs = {s: (os.path.join(tmp, os.path.basename(s)[:2] + "q"), os.path.join(tmp, os.path.basename(s)[:2] + "i"))
                for s in scripts}
        for q, i in dirs.values():
            os.mkdir(q)
            os.mkdir(i)
        exps = sorted({e for s in scripts for e in experiments(os.path.basename(s)[:2])})
        cjobs = {e: pool.submit(c_columns, args.build, e, tmp) for e in exps}
        jobs = {s: (pool.submit(quick_run, s, dirs[s][0]), pool.submit(interrupt_run, s, dirs[s][1]),
                    pool.submit(run_options, s, k)) for k, s in enumerate(scripts)}
        c_cols = {}
        for e, j in cjobs.items():
            try:
                c_cols[e] = j.result()
            except (subprocess.SubprocessError, OSError) as err:
                check(f"the C program {e} --quick --data", False, str(err))
        for s, (q, i, o) in jobs.items():
            name = os.path.basename(s)
            check_quick(name, name[:2], dirs[s][0], q.result(), c_cols)
            check_interrupt(name, i.result())
            check_options(name, o.result())
    new = leftovers() - before
    check("the scripts left no multiprocessing file or semaphore behind", not new, f"{sorted(new)}")
    failed = [r for r in results if not r[1]]
    print(f"[==========] scripts: {len(results)} test(s) run.")
    print(f"[  PASSED  ] {len(results) - len(failed)} test(s).")
    if failed:
        print(f"[  FAILED  ] {len(failed)} test(s), listed below:")
        for n, _, _ in failed:
            print(f"[  FAILED  ] {n}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
