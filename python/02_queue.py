"""02_queue.py: multiprocessing.Queue and Pipe on CPython, beside chapter 02's queue.

Measures what chapter 02's queue_demo, queue_writer_reader and queue_bench show in C:
  1. The lesson's Queue(3) transcript, timed: three puts, full(), a put with a timeout
     that raises queue.Full, put_nowait raising at once, and a child process reading
     the messages back in FIFO order, then get_nowait raising queue.Empty.
  2. Why empty() is a hint: q.put(x) followed at once by q.empty(), --tries times. put()
     hands the object to the queue's feeder thread and returns before it reaches the pipe.
  3. A consumer killed (SIGKILL) while it waits in get(): does a second consumer still
     get the next message? (get() waits holding the queue's read lock, a semaphore that
     nobody releases for a dead process.)
  4. Throughput like queue_bench: P producer processes send numbered messages of one size
     (8 B to 64 KiB) to C consumer processes through a multiprocessing.Queue (1/1, 2/2)
     and a Pipe(duplex=False) (1/1); the consumers count the messages and sum their
     numbers, so a lost one stops the script. Median of --repeat runs, round robin.

The lesson's idiom:   q = Queue(3); q.put(msg, True, 2); q.put_nowait(msg); q.get()

Run:   python3 python/02_queue.py [--quick] [--data DIR]
Writes DIR/queue_bench_py.dat (queue_bench's columns; the POSIX mq blocks are NaN: the
standard library has none) and DIR/compare_02.json. Look for: Full after the timeout as
in C; empty() saying True right after a put; the killed consumer taking the queue with
it; tens of thousands of messages a second where the C queue moves millions.
"""
import queue
import re
import struct
import time

import wb

SIZES = (8, 64, 512, 4096, 16384, 65536)


def reader(q, conn):
    wb.child_init()
    got = [q.get(True, 5.0) for _ in range(3)]  # the feeder thread may still be writing
    t = time.perf_counter()
    try:
        q.get_nowait()
        empty_us = None
    except queue.Empty:
        empty_us = (time.perf_counter() - t) * 1e6
    conn.send((got, empty_us))


def transcript(args, cmp):
    ctx = wb.fork_context()
    q = ctx.Queue(3)
    for i in (1, 2, 3):
        q.put(f"message {i}")
    full = q.full()
    t = time.perf_counter()
    try:
        q.put("message 4", True, args.timeout / 1e9)
        full_s = None
    except queue.Full:
        full_s = time.perf_counter() - t
    t = time.perf_counter()
    try:
        q.put_nowait("message 4")
        nowait_us = None
    except queue.Full:
        nowait_us = (time.perf_counter() - t) * 1e6
    a, b = ctx.Pipe(duplex=False)
    p = ctx.Process(target=reader, args=(q, b))
    try:
        p.start()
        b.close()
        if not a.poll(10):
            raise RuntimeError("the reader sent nothing in 10 s")
        order, empty_us = a.recv()
        p.join(10)
    finally:
        wb.end_all([p])
        a.close()
        q.close()
        q.join_thread()
    print(f"  Queue(3) after three puts: full() = {full}; put(timeout={wb.format_duration(args.timeout)}) -> "
          f"queue.Full after {full_s:.3f} s; put_nowait -> queue.Full after {nowait_us:.1f} µs")
    print(f"  a child read: {', '.join(order)}; then get_nowait -> queue.Empty after {empty_us:.1f} µs")

    out = wb.run_c("02-queue/queue_demo", ["--timeout", wb.format_duration(args.timeout)], timeout=30)
    c = {}
    if out:
        cmp.source("queue_demo", f"chapters/02-queue/queue_demo --timeout {wb.format_duration(args.timeout)}, "
                                 f"run {wb.now_utc()}")
        for key, pattern in (("full", r"gave up with QUEUE_FULL after ([0-9.]+)s"),
                             ("nowait", r"put_nowait.*QUEUE_FULL after ([0-9.]+)us"),
                             ("empty", r"QUEUE_EMPTY after ([0-9.]+)us"),
                             ("order", r"read in this order: (.*)")):
            m = re.search(pattern, out)
            c[key] = (m.group(1) if key == "order" else float(m.group(1))) if m else None
    cmp.row(f"put(x, True, {wb.format_duration(args.timeout)}) on a full Queue(3): queue.Full after",
            c.get("full"), full_s, "s")
    cmp.row("put_nowait on a full Queue(3): queue.Full after", c.get("nowait"), nowait_us, "µs")
    cmp.row("get_nowait on an empty queue, in another process: queue.Empty after", c.get("empty"), empty_us, "µs")
    cmp.row("the order another process reads the three messages in", c.get("order"), ", ".join(order), ratio=False)


def empty_after_put(args, cmp):
    q = wb.fork_context().Queue()
    said_empty = 0
    try:
        for i in range(args.tries):
            q.put(i)
            if q.empty():
                said_empty += 1
            q.get(True, 5.0)
    finally:
        q.close()
        q.join_thread()
    print(f"  q.put(x); q.empty() said True in {said_empty} of {args.tries} tries")
    cmp.row(f"q.put(x) then q.empty() says True (of {args.tries} tries)", None, said_empty, "",
            "C: not measured; queue_put has written the ring when it returns", ratio=False)


def blocked_consumer(q, conn):
    wb.child_init()
    conn.send("waiting")
    q.get()  # blocks, holding the queue's read lock: killed here


def killed_consumer(args, cmp):
    ctx = wb.fork_context()
    q = ctx.Queue()
    a, b = ctx.Pipe(duplex=False)
    p = ctx.Process(target=blocked_consumer, args=(q, b))
    try:
        p.start()
        b.close()
        if not a.poll(10):
            raise RuntimeError("the consumer never started")
        a.recv()
        time.sleep(0.2)  # it is inside get() now
        p.kill()
        p.join()
        q.put("after the kill")
        t = time.perf_counter()
        try:
            got = q.get(True, args.patience / 1e9)
            verdict = f"got {got!r} after {time.perf_counter() - t:.3f} s"
        except queue.Empty:
            verdict = f"queue.Empty after {time.perf_counter() - t:.1f} s, the message still queued"
    finally:
        wb.end_all([p])
        a.close()
        q.close()
        q.join_thread()
    print(f"  a consumer killed in get(); a second consumer: {verdict}")
    cmp.row("a consumer is killed while it waits in get(); the next get()", "delivered", verdict,
            note="C: tests/test_queue.c, test_killed_while_waiting (make test)", ratio=False)


def producer(tx, n, size, first, gate, pipe_end):
    wb.child_init()
    pad = bytes(size - 8)
    gate.wait(30)
    if pipe_end is not None:
        for i in range(first, first + n):
            pipe_end.send_bytes(struct.pack("<Q", i) + pad)
        pipe_end.send_bytes(b"")
    else:
        for i in range(first, first + n):
            tx.put(struct.pack("<Q", i) + pad)
        tx.put(None)
        tx.close()
        tx.join_thread()


def consumer(rx, results, gate, pipe_end):
    wb.child_init()
    count = total = 0
    gate.wait(30)
    while True:
        m = pipe_end.recv_bytes() if pipe_end is not None else rx.get()
        if not m:
            break
        count += 1
        total += struct.unpack_from("<Q", m)[0]
    results.put((count, total, time.perf_counter()))


def one_run(kind, pairs, size, n):
    """n messages of `size` bytes from `pairs` producers to `pairs` consumers; messages
    per second from the gate's opening to the last consumer's last message."""
    ctx = wb.fork_context()
    gate, results = ctx.Event(), ctx.Queue()
    q = ctx.Queue() if kind == "Queue" else None
    rx_end, tx_end = ctx.Pipe(duplex=False) if kind == "Pipe" else (None, None)
    per = n // pairs
    procs = [ctx.Process(target=producer, args=(q, per, size, k * per, gate, tx_end)) for k in range(pairs)]
    procs += [ctx.Process(target=consumer, args=(q, results, gate, rx_end)) for _ in range(pairs)]
    try:
        for p in procs:
            p.start()
        for end in (rx_end, tx_end):
            if end is not None:
                end.close()
        t0 = time.perf_counter()
        gate.set()
        got = [results.get(True, 120) for _ in range(pairs)]
        for p in procs:
            p.join(30)
        count, total = sum(g[0] for g in got), sum(g[1] for g in got)
        want = per * pairs
        if count != want or total != want * (want - 1) // 2:
            raise RuntimeError(f"{kind} {pairs}/{pairs} {size} B: got {count} messages summing to {total}")
        return want / (max(g[2] for g in got) - t0)
    finally:
        wb.end_all(procs)
        if q is not None:
            q.close()
        results.close()


def bench(args, cmp, cdat):
    confs = [("Queue", 1), ("Queue", 2), ("mq", 1), ("mq", 2), ("Pipe", 1), ("Pipe", 2)]
    rates = {}
    for _ in range(args.repeat):
        for kind, pairs in confs:
            if kind == "mq" or (kind == "Pipe" and pairs == 2):
                continue
            for size in SIZES:
                n = max(2 * pairs, min(args.messages, (args.mbytes << 20) // size)) // pairs * pairs
                rates.setdefault((kind, pairs, size), []).append(one_run(kind, pairs, size, n))
    with wb.DataFile(args.data, "queue_bench", "queue_bench (CPython): messages per second between processes") as d:
        print(f"  {'':14} " + " ".join(f"{s:>9}" for s in SIZES) + "   (thousands of messages/s)")
        for kind, pairs in confs:
            name = {"Queue": "multiprocessing.Queue", "mq": "mq (no POSIX mq in the standard library)",
                    "Pipe": "Pipe(duplex=False)" + (" (a Connection is not safe for two readers)" if pairs == 2 else "")}
            d.block(f"{name[kind]} {pairs}/{pairs}", [
                "size (B): message size",
                "msgs (M/s): median millions of messages per second", "msgs_p10 (M/s)", "msgs_p90 (M/s)",
                "mbps (MB/s): median megabytes (10^6 bytes) per second"])
            line = []
            for size in SIZES:
                r = rates.get((kind, pairs, size))
                if not r:
                    d.row(size, None, None, None, None)
                    continue
                s = wb.summary(r)
                d.row(size, s.median / 1e6, s.p10 / 1e6, s.p90 / 1e6, s.median * size / 1e6)
                line.append(f"{s.median / 1e3:9.1f}")
            if line:
                print(f"  {kind + f' {pairs}/{pairs}':14} " + " ".join(line))

    def c_rate(block, size):
        return cdat.at(block, "msgs", "size", size) * 1e6 if cdat else None

    def py_rate(kind, pairs, size):
        return wb.summary(rates[(kind, pairs, size)]).median

    cmp.row("64 B messages per second, 1 producer / 1 consumer (our queue; multiprocessing.Queue)",
            c_rate(0, 64), py_rate("Queue", 1, 64), "msg/s")
    cmp.row("64 B messages per second, 2 / 2 (our queue; multiprocessing.Queue)",
            c_rate(1, 64), py_rate("Queue", 2, 64), "msg/s")
    cmp.row("64 B messages per second, 1 / 1 (a pipe; Pipe(duplex=False))", c_rate(4, 64),
            py_rate("Pipe", 1, 64), "msg/s")
    big = SIZES[-1]
    cmp.row(f"{big // 1024} KiB messages, 1 / 1 (our queue; multiprocessing.Queue)",
            cdat.at(0, "mbps", "size", big) if cdat else None, py_rate("Queue", 1, big) * big / 1e6, "MB/s")


def run():
    args = wb.parse(__doc__.split("\n")[0], [
        wb.Opt("timeout", "duration", 2 * wb.NS_PER_S, "the timed put's timeout (the lesson's 2 s)",
               wb.NS_PER_MS, 60 * wb.NS_PER_S, quick=100 * wb.NS_PER_MS),
        wb.Opt("tries", "int", 200, "puts followed by empty() in part 2", 1, 100000, quick=50),
        wb.Opt("patience", "duration", 2 * wb.NS_PER_S, "how long the second consumer waits in part 3",
               10 * wb.NS_PER_MS, 60 * wb.NS_PER_S, quick=300 * wb.NS_PER_MS),
        wb.Opt("messages", "int", 20000, "messages per run in part 4 (fewer for large sizes, see --mbytes)",
               10, 10_000_000, quick=500),
        wb.Opt("mbytes", "int", 32, "at most this many MiB per run in part 4", 1, 4096, quick=1),
        wb.Opt("repeat", "int", 3, "runs per configuration in part 4 (the median is kept)", 1, 100, quick=1),
    ])
    cmp = wb.Compare(args.data, "02", "Queues between processes")
    cdat = wb.read_data(args.data, "queue_bench")
    cmp.c_data(cdat)
    print("Part 1: the lesson's Queue(3)")
    transcript(args, cmp)
    print("Part 2: empty() right after put()")
    empty_after_put(args, cmp)
    print("Part 3: a consumer killed while it waits")
    killed_consumer(args, cmp)
    print("Part 4: messages between processes")
    bench(args, cmp, cdat)
    cmp.write()


if __name__ == "__main__":
    wb.main(run)
