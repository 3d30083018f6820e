"""08_gil/fetch.py: the interview question (part 4), beside gil_fetch.c.

N threads fetch --pages pages from a loopback server (a child process on an asyncio
loop, port chosen by the kernel) that answers each request after --delay; then the same
with --parse of CPU time per page, spent in Python code, which holds the GIL. Fetching
overlaps (a blocking recv lets the GIL go); parsing does not, on a GIL build.
"""
import asyncio
import math
import socket
import threading
import time
import zlib

import wb


def page_bytes(i, size):
    seed = zlib.crc32(str(i).encode())
    return (seed.to_bytes(4, "little") * (size // 4 + 1))[:size]


def server_main(conn, size, delay):
    """The loopback server, a child process: port 0 (the kernel picks it); each request
    "GET i" is answered with page i after `delay`."""
    wb.child_init()

    async def handle(reader, writer):
        try:
            line = await reader.readline()
            i = int(line.split()[1])
            await asyncio.sleep(delay)
            writer.write(page_bytes(i, size))
            await writer.drain()
        finally:
            writer.close()

    async def main():
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=128)
        conn.send(server.sockets[0].getsockname()[1])
        async with server:
            await server.serve_forever()
    asyncio.run(main())


def busy(cpu_seconds):
    """Parsing a page: Python code that runs until this thread has used cpu_seconds of
    CPU (its own clock, time.thread_time: waiting for the GIL does not count)."""
    end = time.thread_time() + cpu_seconds
    x = 0
    while time.thread_time() < end:
        x += 1
    return x


def fetch_all(port, pages, size, threads, parse):
    expect = {i: zlib.crc32(page_bytes(i, size)) for i in range(pages)}
    nxt = [0]
    lock = threading.Lock()
    bad = []

    def fetcher():
        while True:
            with lock:
                i = nxt[0]
                nxt[0] += 1
            if i >= pages:
                return
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.sendall(f"GET {i}\n".encode())
                buf = bytearray()
                while len(buf) < size:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    buf += chunk
            if zlib.crc32(buf) != expect[i]:
                bad.append(i)
            if parse:
                busy(parse)

    t = time.perf_counter()
    ts = [threading.Thread(target=fetcher, daemon=True) for _ in range(threads)]
    for th in ts:
        th.start()
    wb.join_all(ts, 120)
    secs = time.perf_counter() - t
    if bad:
        raise RuntimeError(f"pages {bad} came back wrong")
    return secs * 1e3


def part(args, d, cmp, cdat):
    pages, size, delay, parse = args.pages, args.page_kib * 1024, args.delay / 1e9, args.parse / 1e9
    ctx = wb.fork_context()
    a, b = ctx.Pipe(duplex=False)
    server = ctx.Process(target=server_main, args=(b, size, delay))
    ns = [n for n in (1, 2, 4, 8, 16, 32, 64) if n <= args.max_fetchers]
    res = {}
    try:
        server.start()
        b.close()
        if not a.poll(10):
            raise RuntimeError("the server did not start")
        port = a.recv()
        fetch_all(port, pages, size, 4, 0)  # warm-up
        for _ in range(args.repeat):
            for n in ns:
                res.setdefault((n, 0), []).append(fetch_all(port, pages, size, n, 0))
                res.setdefault((n, 1), []).append(fetch_all(port, pages, size, n, parse))
    finally:
        server.kill()
        server.join()
        a.close()
    d.block("time to fetch all pages vs threads", [
        "threads (count): N", "fetch_ms (ms): fetch only", "fetch_p10 (ms)", "fetch_p90 (ms)",
        "gil_ms (ms): fetch and parse, CPython with its GIL", "gil_p10 (ms)", "gil_p90 (ms)",
        "nogil_ms (ms): fetch and parse, a free-threaded CPython with the GIL off", "nogil_p10 (ms)",
        "nogil_p90 (ms)", "rounds_ms (ms): ceil(pages / N) x delay, the wait for the server alone",
        "parse_ms (ms): pages x parse, all the parsing done one page at a time", "cores (count): online CPUs"])
    gil = wb.has_gil()
    print(f"  {pages} pages of {args.page_kib} KiB, server delay {delay * 1e3:g} ms, parse {parse * 1e3:g} ms; ms:")
    one = None
    for n in ns:
        f, p = wb.summary(res[(n, 0)]), wb.summary(res[(n, 1)])
        one = one or f.median
        parsed = [p.median, p.p10, p.p90]
        d.row(n, f.median, f.p10, f.p90, *(parsed if gil else [None] * 3), *([None] * 3 if gil else parsed),
              math.ceil(pages / n) * delay * 1e3, pages * parse * 1e3, wb.cores())
        print(f"  {n:3d} threads: fetch {f.median:7.1f} ({one / f.median:5.2f}x); with parsing {p.median:7.1f}")
    top = ns[-1]

    def c(col, n):
        return cdat.at(0, col, "threads", n) if cdat else None

    c_speed = c("fetch_ms", 1) / c("fetch_ms", top) if cdat else None
    cmp.row(f"fetching {pages} pages: speed-up of {top} threads over 1", c_speed,
            one / wb.summary(res[(top, 0)]).median, "x")
    cmp.row(f"fetch and parse ({parse * 1e3:g} ms of CPU a page), {top} threads; the floor pages x parse is "
            f"{pages * parse * 1e3:.1f} ms", c("gil_ms", top), wb.summary(res[(top, 1)]).median, "ms")
