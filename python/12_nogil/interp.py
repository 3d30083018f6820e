"""12_nogil/interp.py: this interpreter's build, as the chapter asks about it: free-
threaded or not, the GIL on or off, and its subinterpreters, through whichever module
it has: concurrent.interpreters (3.14, PEP 734), _interpreters (3.13),
_xxsubinterpreters (3.8 to 3.12). Before 3.12 every subinterpreter shares the process's
one GIL; PEP 684 gave each its own in 3.12 (own_gil()).
"""
import importlib
import os
import shutil
import subprocess
import sys
import sysconfig

import wb


def free_threaded():
    """True for a free-threaded build running with the GIL off."""
    return bool(sysconfig.get_config_var("Py_GIL_DISABLED")) and not getattr(sys, "_is_gil_enabled", lambda: True)()


def own_gil():
    """Whether this interpreter's subinterpreters each have a GIL of their own (PEP 684)."""
    return sys.version_info >= (3, 12)


def gil_function():
    """What sys._is_gil_enabled() says, or that this interpreter has no such function."""
    f = getattr(sys, "_is_gil_enabled", None)
    return f"{f()}" if f else "no such function (3.13 added it)"


class Interpreters:
    """create(), run(id, code) (raises on an error in the code), destroy(id)."""

    def __init__(self):
        self.name = None
        try:
            from concurrent import interpreters as ci  # 3.14, PEP 734
            self.name, self._ci = "concurrent.interpreters", ci
            return
        except ImportError:
            pass
        for name in ("_interpreters", "_xxsubinterpreters"):
            try:
                self._mod = importlib.import_module(name)
                self.name = name
                return
            except ImportError:
                continue

    def create(self):
        return self._ci.create() if self.name == "concurrent.interpreters" else self._mod.create()

    def run(self, interp, code):
        if self.name == "concurrent.interpreters":
            interp.exec(code)
            return
        failed = self._mod.run_string(interp, code)  # 3.13 returns what failed; 3.12 raises
        if failed is not None:
            raise RuntimeError(f"in a subinterpreter: {getattr(failed, 'formatted', failed)}")

    def destroy(self, interp):
        if self.name == "concurrent.interpreters":
            interp.close()
        else:
            self._mod.destroy(interp)


def gil_sibling():
    """For a free-threaded python3.13t, the GIL build of the same version beside it
    (python3.13), or None."""
    if not sysconfig.get_config_var("Py_GIL_DISABLED"):
        return None
    exe = os.path.realpath(sys.executable)
    if not exe.endswith("t"):
        return None
    other = shutil.which(os.path.basename(exe)[:-1], path=os.path.dirname(exe))
    if not other:
        return None
    r = subprocess.run([other, "-c", "import sys, sysconfig; print(sys.version.split()[0], "
                        "bool(sysconfig.get_config_var('Py_GIL_DISABLED')))"], capture_output=True, text=True,
                       timeout=60)
    version, disabled = (r.stdout.split() + ["", ""])[:2]
    return other if r.returncode == 0 and version == sys.version.split()[0] and disabled == "False" else None


def describe():
    return f"{wb.interpreter_short()}; sys._is_gil_enabled(): {gil_function()}; subinterpreters: " \
           f"{Interpreters().name or 'none'}" + ("" if own_gil() else " (before 3.12: one GIL for all of them)")
