"""07_coroutine/interleave.py: the lesson's gevent program, beside gevent_demo.c.

monkey.patch_all(), two workers that print a counter and sleep a random time, then
gevent.joinall: run in a fresh interpreter with the same random sleeps as gevent_demo
(common/common.h's mix64, number for number), are the lines in the same order, and
does joinall come after the longer worker's sleeps rather than their sum? And without
monkey.patch_all(), where time.sleep blocks every greenlet: the sum, as
gevent_demo --unpatched.
"""
import re
import subprocess
import sys

import wb
from optional import HAVE_GEVENT, NOT_INSTALLED

GEVENT_LESSON = r'''
import sys, time
seed, scale, count, patched = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
if patched:
    from gevent import monkey
    monkey.patch_all()  # time.sleep now switches to the hub
import gevent

M = (1 << 64) - 1
def mix64(x):  # splitmix64, as common/common.h: the C demo's random sleeps, number for number
    x = ((x ^ (x >> 30)) * 0xbf58476d1ce4e5b9) & M
    x = ((x ^ (x >> 27)) * 0x94d049bb133111eb) & M
    return x ^ (x >> 31)

def coroutine_work(name, state):
    for i in range(count):
        print(f"{time.perf_counter() - t0:.3f} {name} {i}", flush=True)
        state = (state + 0x9e3779b97f4a7c15) & M
        time.sleep((mix64(state) >> 11) * 2.0 ** -53 * scale)

t0 = time.perf_counter()
gevent.joinall([gevent.spawn(coroutine_work, "work1", seed * 2 + 1),
                gevent.spawn(coroutine_work, "work2", seed * 2 + 2)], timeout=4 * count * scale + 10)
print(f"{time.perf_counter() - t0:.3f} joinall")
'''


def lesson_gevent(scale, count, patched):
    r = subprocess.run([sys.executable, "-c", GEVENT_LESSON, "1", f"{scale!r}", str(count), "1" if patched else "0"],
                       capture_output=True, text=True, timeout=4 * count * scale + 30)
    if r.returncode != 0:
        raise RuntimeError(f"the gevent lesson failed: {r.stderr.strip()[-300:]}")
    order = re.findall(r"(work[12] \d+)", r.stdout)
    wall = float(re.search(r"([0-9.]+) joinall", r.stdout).group(1))
    return order, wall


def part(args, cmp):
    if not HAVE_GEVENT:
        for q in ("gevent: the lesson's two workers (same random sleeps as gevent_demo): line order",
                  "gevent: joinall after", "the same without monkey patching (time.sleep blocks: the sum)"):
            cmp.row(q, None, NOT_INSTALLED["gevent"], ratio=False)
        print(f"  gevent: {NOT_INSTALLED['gevent']}")
        return
    order, wall = lesson_gevent(args.scale, 10, True)
    _, wall_unpatched = lesson_gevent(args.scale, 10, False)
    c_order = c_wall = c_unpatched = None
    out = wb.run_c("07-coroutine/gevent_demo", ["--scale", f"{args.scale:g}"], timeout=60)
    if out:
        cmp.source("gevent_demo", f"chapters/07-coroutine/gevent_demo --scale {args.scale:g} (seed 1), "
                                  f"run {wb.now_utc()}")
        c_order = [re.sub(r"\s+", " ", m) for m in re.findall(r"(work[12] \d+)\s*$", out, re.M)]
        c_wall = float(re.search(r"joinall returned after ([0-9.]+) s", out).group(1))
        out2 = wb.run_c("07-coroutine/gevent_demo", ["--scale", f"{args.scale:g}", "--unpatched"], timeout=60)
        m = re.search(r"joinall returned after ([0-9.]+) s", out2 or "")
        c_unpatched = float(m.group(1)) if m else None
    if c_order is None:
        same = None
    elif order == c_order:
        same = f"the same order, all {len(order)} lines"
    else:
        k = next((i for i, (a, b) in enumerate(zip(order, c_order)) if a != b), min(len(order), len(c_order)))
        same = f"differs from line {k + 1} on (C: {c_order[k] if k < len(c_order) else '-'}, " \
               f"gevent: {order[k] if k < len(order) else '-'})"
    print(f"  gevent, patched: {' '.join(x.replace('work', 'w') for x in order)}")
    print(f"  joinall after {wall:.3f} s patched, {wall_unpatched:.3f} s unpatched; against gevent_demo: {same}")
    cmp.row("gevent: the lesson's two workers (same random sleeps as gevent_demo): line order", "the hub's",
            same or "no C run", ratio=False)
    cmp.row(f"gevent: joinall after (sleeps of 0 to {args.scale:g} s)", c_wall, wall, "s")
    cmp.row("the same without monkey patching (time.sleep blocks: the sum)", c_unpatched, wall_unpatched, "s")
