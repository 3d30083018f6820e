"""13_cluster/launch.py: start an MPI job of ranks.py with a deadline, and leave nothing
behind, also on Ctrl-C: what chapters/13-cluster/launch.c does for the C programs.

mpi4py runs on whichever MPI it was built with: Debian's python3-mpi4py on Open MPI
(Debian's default MPI), not on the chapter's MPICH; a pip-built one may use MPICH. The
job is started with that MPI's own launcher: mpiexec.openmpi (--oversubscribe, for more
ranks than cores; --bind-to none, so that the ranks keep the affinity they are given,
as MPICH's hydra does by default; --allow-run-as-root where we are root) or
mpiexec.mpich.

A job runs under a launcher process of its own (a fork child), which:
  - makes itself a child subreaper (prctl PR_SET_CHILD_SUBREAPER), so that a rank
    orphaned by its launcher's death is handed to it, not to init;
  - starts mpiexec with a mark in its environment (WB_MPI_JOB=...), which mpiexec passes
    to every rank: at the end, any process that carries the mark is killed;
  - points the MPI's files at a private temporary directory (TMPDIR, Open MPI's
    session directory and its shared-memory segments), removed at the end;
  - waits at most the deadline, then ends the job: SIGTERM to mpiexec, a second, then
    SIGKILL to everything marked; every child reaped;
  - does the same when it gets SIGTERM or SIGINT (the script's Ctrl-C), then reports.
"""
import glob
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import ctypes

import wb

HERE = os.path.dirname(os.path.abspath(__file__))
_libc = ctypes.CDLL(None, use_errno=True)
_PR_SET_CHILD_SUBREAPER = 36
_jobs = itertools.count(1)


def mpi():
    """(mpi4py's version, its MPI library, the launcher's path), or None when mpi4py is
    not installed or no launcher of its MPI is found."""
    try:
        import mpi4py
    except ImportError:
        return None
    mpi4py.rc.initialize = False  # (asking for the library's name needs no MPI_Init)
    mpi4py.rc.finalize = False
    from mpi4py import MPI
    library = MPI.Get_library_version().splitlines()[0].strip()
    names = ["mpiexec.openmpi", "mpirun.openmpi"] if "Open MPI" in library else \
        ["mpiexec.mpich", "mpiexec.hydra"] if "MPICH" in library else []
    for name in names + ["mpiexec"]:
        path = shutil.which(name)
        if path:
            return mpi4py.__version__, library, path
    return None


def command(launcher, library, ranks, argv):
    flags = []
    if "Open MPI" in library:
        flags = ["--oversubscribe", "--bind-to", "none"] + (["--allow-run-as-root"] if os.geteuid() == 0 else [])
    return [launcher, *flags, "-n", str(ranks), sys.executable, "-m", "mpi4py", os.path.join(HERE, "ranks.py"),
            *map(str, argv)]


def marked(mark):
    """The processes whose environment carries WB_MPI_JOB=mark."""
    found = []
    want = f"WB_MPI_JOB={mark}".encode()
    for d in glob.glob("/proc/[0-9]*"):
        try:
            with open(d + "/environ", "rb") as f:
                if want in f.read().split(b"\0"):
                    found.append(int(os.path.basename(d)))
        except OSError:
            pass
    return [p for p in found if p != os.getpid()]


def kill_marked(mark, seconds=5.0):
    """SIGKILL to every marked process until none is left (bounded); returns the ones
    still there at the end."""
    end = time.monotonic() + seconds
    left = marked(mark)
    while left and time.monotonic() < end:
        for p in left:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.02)
        left = marked(mark)
    return left


def _reap_all(seconds=5.0):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.01)


def _launcher(conn, cmd, env, timeout):
    """The launcher process (see the module's docstring)."""
    wb.child_init()

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if _libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")
    res = {"status": None, "out": "", "timed_out": False, "interrupted": False, "t0": time.monotonic_ns()}
    p = None
    try:
        p = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
        res["out"], _ = p.communicate(timeout=timeout)
        res["status"] = p.returncode
    except subprocess.TimeoutExpired:
        res["timed_out"] = True
    except KeyboardInterrupt:
        res["interrupted"] = True
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # (the clean-up is bounded: let it finish)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if p is not None and p.poll() is None:
            p.terminate()  # mpiexec ends its ranks
            try:
                p.wait(1.0)
            except subprocess.TimeoutExpired:
                pass
        res["left"] = kill_marked(env["WB_MPI_JOB"])
        _reap_all()
        res["elapsed"] = (time.monotonic_ns() - res["t0"]) / 1e9
        try:
            conn.send(res)
        except OSError:
            pass


def run_job(tool, ranks, argv, timeout, one_cpu=False):
    """Runs one job of `ranks` ranks of ranks.py; returns the launcher's report, with
    rank 0's JSON line as "report" (None if there is none) and "start_ms" (from starting
    mpiexec to every rank past MPI_Init and a barrier)."""
    version, library, launcher = tool
    mark = f"{os.getpid()}-{next(_jobs)}"
    tmp = a = b = p = None
    try:
        with wb.held_interrupts():  # a Ctrl-C now comes after tmp is set, for the finally
            tmp = tempfile.mkdtemp(prefix=f"wb-13-cluster-{os.getpid()}-")
        env = dict(os.environ, WB_MPI_JOB=mark, TMPDIR=tmp, OMPI_MCA_btl_vader_backing_directory=tmp,
                   PYTHONPATH=HERE)
        ctx = wb.fork_context()
        a, b = ctx.Pipe(duplex=False)
        p = ctx.Process(target=_launcher, args=(b, command(launcher, library, ranks, argv), env, timeout))
        saved = os.sched_getaffinity(0)
        if one_cpu:
            wb.pin(sorted(saved)[0])  # the launcher, mpiexec and the ranks inherit it
        try:
            with wb.held_interrupts():  # a Ctrl-C between fork() and p knowing the pid
                p.start()               # would leave the launcher running, unknown to p
        finally:
            os.sched_setaffinity(0, saved)
        b.close()
        if not a.poll(timeout + 30):
            raise RuntimeError(f"the launcher of a {ranks}-rank job did not report")
        res = a.recv()
        p.join(30)
    finally:
        with wb.held_interrupts():  # the clean-up is bounded: a Ctrl-C waits for its end
            if p is not None and p.is_alive():
                p.terminate()  # (an interrupt here: the launcher ends the job, then itself)
                p.join(15)
            if p is not None:
                wb.end_all([p])
            kill_marked(mark)
            if tmp is not None:
                shutil.rmtree(tmp, ignore_errors=True)
            for end in (a, b):
                if end is not None:
                    end.close()
    res["report"] = None
    for line in res["out"].splitlines():
        if line.startswith("{"):
            res["report"] = json.loads(line)
    if res["report"]:
        res["start_ms"] = (res["report"]["started"] - res["t0"]) / 1e6
    return res
