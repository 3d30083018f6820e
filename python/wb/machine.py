"""wb/machine.py: where a measurement was made: the machine (as common/datafile.c names
it in a data file's "# machine:" line) and the interpreter (version, build, GIL or
free-threaded, the optional modules chapter 07 compares)."""
import os
import platform
import re
import sys
import sysconfig
import time


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


# the CPUs this process may run on when it started (taskset, a cpuset), as common/cpus.c
# counts them: not os.cpu_count(), which counts every online CPU
_MASK = sorted(os.sched_getaffinity(0))


def cores():
    return len(_MASK)


def cpu_mask():
    return list(_MASK)


def cores_string():
    """'2 cores', or '1 core (of 2 online)' under taskset: common/datafile.c's words."""
    n, online = cores(), os.sysconf("SC_NPROCESSORS_ONLN")
    return f"{n} core{'' if n == 1 else 's'}" + (f" (of {online} online)" if online > n else "")


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
    return f"{cpu_model()}, {cores_string()}, {u.sysname} {release}"


def machine_string():
    return f"{machine_prefix()}, {interpreter_short()}"


def now_utc():
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())


def private_kib(pid):
    """The private memory of process pid (its smaps_rollup's Private_Clean + Private_Dirty)
    in KiB, or None if it has ended."""
    kib = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith(("Private_Clean:", "Private_Dirty:")):
                    kib += int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return kib
