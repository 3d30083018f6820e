"""test_scripts.py: the tests of python/'s scripts (tests/run.sh runs it with $PYTHON).

    PYTHON tests/test_scripts.py --build DIR [--only 04]

For every python/NN_name.py (those of chapters matching --only):
  quick      it runs with --quick --data TMP within 120 s and exits 0, and writes
             TMP/compare_NN.json with at least one row;
  columns    each TMP/<experiment>_py.dat has the header of common/datafile.c (title,
             "# machine:", "# date:"), every block has the columns (names and units) of a
             block of the C program's own data file (the C program is run with --quick
             --data), and every row has one field per column;
  options    --help exits 0 with a usage; an unknown option, a stray argument, and for
             each option --help lists with a range one bad value (a word, a number out of
             range, a duration without its unit, in turn) exit 2 with a first line naming
             the option and its range;
  interrupt  a full run (not --quick: it is surely mid-way) sent SIGINT after 1.5 s ends
             within 15 s with status 130, and leaves nothing behind: no process carrying
             this run's mark, no new /tmp/pymp-*, /dev/shm/sem.mp-* or psm_*.
The output ends like a cmocka binary's, so that run.sh counts it the same way.
"""
import argparse
import glob
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "python"))
import wb  # noqa: E402: the scripts' own parser of data files

results = []  # (name, ok, message)


def check(name, ok, message=""):
    results.append((name, ok, message))
    print(f"[ {'    OK' if ok else 'FAILED'} ] {name}" + ("" if ok else f": {message}"))


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


def env_with(mark):
    env = dict(os.environ, WB_SCRIPT_MARK=mark, COLUMNS="1000")
    env.pop("PYTHONPATH", None)
    return env


def wait_gone(mark, seconds=5.0):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if not marked_processes(mark):
            return []
        time.sleep(0.1)
    return marked_processes(mark)


def c_columns(build, experiment, tmp):
    """The column keys of each block of the C program's data file, run now with --quick."""
    progs = glob.glob(os.path.join(build, "chapters", "*", experiment))
    if not progs:
        return None
    path = os.path.join(tmp, experiment + "_c.dat")
    subprocess.run([progs[0], "--quick", "--data", path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=120, check=True)
    return [b["columns"] for b in wb.Data(path).blocks]


def test_quick(script, build):
    name = os.path.basename(script)
    nn = name[:2]
    mark = f"{os.getpid()}-{nn}"
    with tempfile.TemporaryDirectory(prefix="wb-scripts-") as tmp:
        before = leftovers()
        try:
            r = subprocess.run([sys.executable, script, "--quick", "--data", tmp], capture_output=True, text=True,
                               timeout=120, env=env_with(mark))
            ok, msg = r.returncode == 0, f"exit {r.returncode}: {(r.stdout + r.stderr)[-800:]}"
        except subprocess.TimeoutExpired:
            ok, msg = False, "still running after 120 s"
        check(f"{name} --quick", ok, msg)
        left = wait_gone(mark)
        new = leftovers() - before
        check(f"{name} --quick leaves nothing behind", not left and not new,
              f"processes {left}, files {sorted(new)}")
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
            want = c_columns(build, exp, tmp)
            if want is None:
                problems.append(f"no C program named {exp} in {build}/chapters")
            for i, b in enumerate(data.blocks):
                if want is not None and b["columns"] not in want:
                    problems.append(f"block {i} ({b['name']}): columns {b['columns']} are none of the C file's")
                for row in b["rows"]:
                    if len(row) != len(b["columns"]):
                        problems.append(f"block {i}: a row of {len(row)} fields for {len(b['columns'])} columns")
                        break
            if not data.blocks:
                problems.append("no blocks")
            check(f"{name}: {exp}_py.dat has {exp}'s columns", not problems, "; ".join(problems))


def run_bad(script, args, mark):
    return subprocess.run([sys.executable, script, *args], capture_output=True, text=True, timeout=30,
                          env=env_with(mark))


def bad_values(kind, lo, hi):
    if kind == "INT":
        return ["x", str(int(lo) - 1), str(int(hi) + 1)]
    if kind == "REAL":
        return ["x", "nan", str(float(hi) * 10 + 1)]
    return ["x", "5", "99999s"]  # a word, a missing unit, out of range


def test_options(script):
    name = os.path.basename(script)
    mark = f"{os.getpid()}-opt"
    r = run_bad(script, ["--help"], mark)
    check(f"{name} --help", r.returncode == 0 and "usage:" in r.stdout, f"exit {r.returncode}")
    usage = r.stdout
    for args, what in ((["--no-such-option"], "unknown option"), (["stray"], "unexpected argument")):
        r = run_bad(script, args, mark)
        first = r.stderr.splitlines()[0] if r.stderr else ""
        check(f"{name} {args[0]}", r.returncode == 2 and what in first, f"exit {r.returncode}, said {first!r}")
    for i, m in enumerate(re.finditer(r"--([\w-]+) (INT|REAL|DURATION)\s+.*?; (\S+)\.\.(\S+) \(default", usage)):
        opt, kind, lo, hi = m.groups()
        for value in bad_values(kind, lo, hi)[i % 3:i % 3 + 1]:
            r = run_bad(script, [f"--{opt}", value], mark)
            first = r.stderr.splitlines()[0] if r.stderr else ""
            check(f"{name} --{opt} {value}", r.returncode == 2 and f"--{opt}" in first and f"{lo}..{hi}" in first,
                  f"exit {r.returncode}, said {first!r}")


def test_interrupt(script):
    name = os.path.basename(script)
    mark = f"{os.getpid()}-int-{name[:2]}"
    before = leftovers()
    with tempfile.TemporaryDirectory(prefix="wb-scripts-") as tmp:
        p = subprocess.Popen([sys.executable, script, "--data", tmp], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True, env=env_with(mark))
        time.sleep(1.5)
        p.send_signal(signal.SIGINT)
        try:
            _, err = p.communicate(timeout=15)
            ended = True
        except subprocess.TimeoutExpired:
            p.kill()
            _, err = p.communicate()
            ended = False
    left = wait_gone(mark)
    new = leftovers() - before
    check(f"{name}: SIGINT mid-run ends it (130), nothing left behind", ended and p.returncode == 130 and not left and not new,
          f"ended={ended} (exit {p.returncode}), processes {left}, files {sorted(new)}; {err[-300:]}")


def main():
    ap = argparse.ArgumentParser(description="the tests of python/'s scripts")
    ap.add_argument("--build", required=True, help="where the C programs are (the top, or build/<variant>)")
    ap.add_argument("--only", default="", help="only the chapters whose name contains this")
    args = ap.parse_args()
    chapters = [os.path.basename(d)[:2] for d in sorted(glob.glob(os.path.join(TOP, "chapters", "*" + args.only + "*")))]
    scripts = [s for nn in chapters for s in sorted(glob.glob(os.path.join(TOP, "python", f"{nn}_*.py")))]
    for s in scripts:
        test_quick(s, args.build)
        test_options(s)
        test_interrupt(s)
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
