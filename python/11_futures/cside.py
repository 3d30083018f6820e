"""11_futures/cside.py: the C side of part 1's rows: chapter 11's demos (executor_demo,
wait_demo, broken_pool, solutions/cancel_count), run with the same unit of work as the
Python side while it runs (they mostly sleep), their transcripts read back by pattern.
"""
import os
import re
import subprocess

import wb


class CRuns:
    """The C demos, started together (they mostly sleep) and read when their numbers are
    needed; any still running when the script ends is killed."""

    def __init__(self):
        self.procs = {}

    def start(self, key, program, *args):
        path = os.path.join(wb.TOP, "chapters", "11-futures", program)
        if os.access(path, os.X_OK):
            self.procs[key] = subprocess.Popen([path, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                               text=True)

    def out(self, key):
        p = self.procs.get(key)
        if p is None:
            return None
        out, err = p.communicate(timeout=60)
        if p.returncode != 0:
            raise RuntimeError(f"{' '.join(p.args)} exited {p.returncode}: {err.strip()[:300]}")
        return out

    def close(self):
        for p in self.procs.values():
            if p.poll() is None:
                p.kill()
            p.communicate()


def find(pattern, text, conv=str):
    m = re.search(pattern, text or "")
    return conv(m.group(1)) if m else None
