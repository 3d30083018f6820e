"""07_coroutine/copies.py: greenlet's copied stacks, beside copy_cost.c.

greenlet gives no greenlet a stack of its own: they all run on the thread's C stack, and
a switch saves the leaving greenlet's part of it to the heap and copies the arriving
one's back: what copy_cost.c's copied coroutines do. How much there is to copy is the C
stack between the greenlet's start and its switch, which Python code deepens only where
it goes through C: each level of list(map(hold, ...)) below adds one interpreter frame in
C (about 650 bytes on CPython 3.11). greenlet reports the bytes it saved
(_stack_saved); the depths are chosen to come near copy_cost's frame sizes.
  round trip   two greenlets A and B suspended at the same depth; the main greenlet
               switches to A, A back, then to B, B back...: each arrival copies the
               other's stack out and its own in. Median of --samples, per round trip.
  memory       --copy-tasks greenlets suspended at that depth, made in a forked child:
               its resident memory grown, per greenlet (the saved C stack, and the Python
               frames and objects each keeps).
Both blocks have copy_cost's columns; k is the bytes saved (C: the frame's locals, a
little under its saved bytes), and there is no "own stack" counterpart (NaN).
"""
import os
import time

import wb
from optional import NOT_INSTALLED, greenlet
from sleepers import rss_kib

C_SIZES = (8, 64, 512, 2048, 8192, 32768, 65536)  # copy_cost.c's g_sizes


def hold(depth):
    """Goes `depth` calls deep through C (map), then hands control back for ever."""
    if depth == 0:
        parent = greenlet.getcurrent().parent
        while True:
            parent.switch()
    list(map(hold, [depth - 1]))


def suspended(depth):
    g = greenlet.greenlet(hold)
    g.switch(depth)
    return g


def saved_bytes(depth):
    """What greenlet saves of a greenlet suspended at `depth`, once another one has
    taken its place on the stack."""
    a, b = suspended(depth), suspended(depth)
    a.switch()  # b's part is saved now, and a's was when b started
    return b._stack_saved


def depths():
    """The depths whose saved bytes come nearest copy_cost's sizes (one each)."""
    base = saved_bytes(0)
    per = max(1, saved_bytes(1) - base)
    return sorted({max(0, round((k - base) / per)) for k in C_SIZES})


def round_trips(a, b, rounds):
    t = time.perf_counter_ns()
    for _ in range(rounds):
        a.switch()
        b.switch()
    return (time.perf_counter_ns() - t) / (2 * rounds)


def weigh(conn, n, depth):
    """In a forked child: n greenlets suspended at `depth`; KiB grown per greenlet."""
    rss0 = rss_kib()
    gs = [suspended(depth) for _ in range(n)]
    greenlet.greenlet(lambda: None).switch()  # the last one made is saved away too
    conn.send(max(0.0, (rss_kib() - rss0) / n))
    del gs
    os._exit(0)  # no unwinding of n greenlets: the process ends


def part(args, d, cmp, cdat):
    cols0 = ["k (bytes): locals in the suspended frame", "saved (bytes): heap buffer per copied task",
             "copied (ns): round trip, median", "p10 (ns)", "p90 (ns)",
             "own (ns): round trip on stacks of their own"]
    cols1 = ["k (bytes): locals in the suspended frame", "copied (KiB): resident memory per copied task",
             "own (KiB): per task with a 128 KiB stack of its own"]
    if not greenlet:
        d.block("round trip", cols0)
        d.block("memory per suspended task", cols1)
        for q in ("greenlet round trip", "memory per suspended greenlet"):
            cmp.row(q, None, NOT_INSTALLED["greenlet"], ratio=False)
        return
    rows = []
    print(f"  a round trip into a greenlet and back (median of {args.samples}), and a suspended greenlet's memory "
          f"({args.copy_tasks} of them):")
    print(f"  {'depth':>6} {'saved bytes':>12} {'ns':>10} {'KiB each':>10}")
    ds = depths()
    for depth in ds:
        a, b = suspended(depth), suspended(depth)
        saved = saved_bytes(depth)
        n = max(50, args.copy_rounds * 512 // max(saved, 512))  # as many bytes copied at every depth
        round_trips(a, b, n // 10 + 1)  # warm-up
        s = wb.summary([round_trips(a, b, n) for _ in range(args.samples)])
        del a, b
        hung, _, msgs, code = wb.bounded(weigh, (args.copy_tasks, depth), timeout=120)
        if hung or code != 0 or not msgs:
            raise RuntimeError(f"weighing {args.copy_tasks} greenlets at depth {depth} failed (exit {code})")
        rows.append((saved, s, msgs[0]))
        print(f"  {depth:6d} {saved:12d} {s.median:10.1f} {msgs[0]:10.2f}")
    d.note("depths", " ".join(str(x) for x in ds))
    d.block("round trip", cols0)
    for saved, s, _ in rows:
        d.row(saved, saved, s.median, s.p10, s.p90, None)
    d.block("memory per suspended task", cols1)
    for saved, _, kib in rows:
        d.row(saved, kib, None)

    def nearest_c(saved):
        """copy_cost's row whose saved bytes are nearest: (saved, round trip ns, KiB)."""
        if not cdat:
            return None, None, None
        best = min(cdat.column(0, "saved"), key=lambda c: abs(c - saved))
        return int(best), cdat.at(0, "copied", "saved", best), \
            cdat.at(1, "copied", "k", cdat.at(0, "k", "saved", best))

    for saved, s, kib in (rows[0], rows[-1]):
        c_saved, c_ns, c_kib = nearest_c(saved)
        also = f" (C: a copied coroutine, {c_saved:,} bytes)" if c_saved else ""
        cmp.row(f"greenlet round trip in and back, {saved:,} bytes of C stack saved{also}", c_ns, s.median, "ns")
        cmp.row(f"a suspended greenlet with {saved:,} bytes saved: memory{also}", c_kib, kib, "KiB")
