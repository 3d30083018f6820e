"""11_futures/load.py: the workloads of part 3 and 4, beside load.c: the loopback server
and the tasks (runners.py runs them).

A task is load.h's, in Python: a request to a loopback server (connect, send 16 bytes,
its number and the delay, and wait for the 8-byte reply, which the server holds back
that long; the reply is checked), then CPU work: `ticks` rounds of a loop of additions
in Python code, calibrated against the thread's own CPU time as tick_ns() does in C, so
that a task's CPU work costs the same milliseconds on both sides.

The server is a child process running an asyncio loop (a Protocol per connection, the
reply sent with call_later), on 127.0.0.1 at a port the kernel picks. It plays the part
of load.c's hub server, and is not part of any run: its CPU time is not counted, but
it is watched (server_cpu_s), to tell whether it or the runner set the pace.

The runners, numbered as choose's data file numbers its columns (RUNNER_NAMES):
  ONE       one thread, one task after the other, blocking sockets
  THREADS   ThreadPoolExecutor(max_workers=N), a thread per task as C's threads, on a
            free-threaded build with the GIL off (C's "threads" column)
  GIL       the same on a build with a GIL (C's "threads+GIL" column)
  PROCS     ProcessPoolExecutor(max_workers=cores), blocking sockets in the workers
  COROS     asyncio: a coroutine per task, asyncio.open_connection, on one loop
  HYBRID    a process per core, each an asyncio loop with every cores-th task
  GEVENT    gevent.spawn per task, gevent's cooperative sockets (if installed)
  POOL_THREADS  a ProcessPoolExecutor with a worker per core, whose task fetches its
            share on a ThreadPoolExecutor and parses each reply as it comes
            (as_completed): hybrid only
"""
import asyncio
import collections
import importlib.util
import resource
import socket
import struct
import time

import wb

ONE, THREADS, GIL, PROCS, COROS, HYBRID, GEVENT, POOL_THREADS = range(8)
RUNNER_NAMES = {ONE: "one thread", THREADS: "threads (GIL off)", GIL: "ThreadPoolExecutor",
                PROCS: "ProcessPoolExecutor", COROS: "asyncio", HYBRID: "procs+asyncio", GEVENT: "gevent",
                POOL_THREADS: "procs+threads"}
THREADS_COLUMN = GIL if wb.has_gil() else THREADS  # where CPython's threads land in C's columns
HAVE_GEVENT = importlib.util.find_spec("gevent") is not None
GEVENT_MISSING = "not installed (Debian: python3-gevent)"

REQUEST = struct.Struct("<Qq")  # task number, delay in ns
LINGER_RESET = struct.pack("ii", 1, 0)  # close with a reset: no TIME_WAIT (load.c's reset_close)
IO_TIMEOUT = 30.0  # s beyond the delay: no socket call waits longer
MASK = (1 << 64) - 1

# a workload: tasks; io (each makes a request); delay (ns); ticks of CPU work each; cores
# (processes of PROCS, HYBRID, POOL_THREADS); deadline (time.monotonic(): no task starts
# later); addr of the server
Load = collections.namedtuple("Load", "tasks io delay ticks cores deadline addr")


def mix64(x):
    """common.h's mix64 (splitmix64's finalizer): the server's reply to request x."""
    x = ((x ^ (x >> 30)) * 0xbf58476d1ce4e5b9) & MASK
    x = ((x ^ (x >> 27)) * 0x94d049bb133111eb) & MASK
    return x ^ (x >> 31)


def work(lo, n):
    """The CPU work: n rounds of a loop of additions, in Python code (it holds the GIL)."""
    s = 0
    for k in range(lo, lo + n):
        s += k
    return s


def _tick_ps(cpu_ns, slices=8):
    """The fastest of `slices` measurements of a round of work(), each over cpu_ns /
    slices of this thread's CPU time, in picoseconds (an int, for fork_map)."""
    best = None
    for _ in range(slices):
        t0, n = time.thread_time_ns(), 0
        while True:
            work(n, 1 << 15)  # (long loops, as a task's: they cost a little more a round)
            n += 1 << 15
            used = time.thread_time_ns() - t0
            if used >= cpu_ns // slices:
                break
        best = used / n if best is None else min(best, used / n)
    return round(best * 1000)


def tick_ns(cpu_ns):
    """ns of a thread's CPU time per round of work(), over cpu_ns of it (load.c's
    tick_ns: other work on the machine does not shrink the tasks). Measured in a fresh
    fork child, as every cell runs, the fastest of several slices, and before parts 1
    and 2: measured after them in the script's own process a round came out 1.6x slower
    than in the cells, and the tasks ran short (16 tasks of "10 ms" in 98 ms)."""
    _, (ps,) = wb.fork_map(_tick_ps, [(cpu_ns,)], timeout=60.0)
    return ps / 1000

def expected(ld):
    """What the values of all ld.tasks tasks must add up to."""
    n = ld.tasks * ld.ticks
    return n * (n - 1) // 2 + (sum(mix64(i) for i in range(ld.tasks)) if ld.io else 0)


def raise_fd_limit(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < need:
        if hard != resource.RLIM_INFINITY and hard < need:
            raise RuntimeError(f"{need} open files are needed, and the hard limit is {hard} (ulimit -Hn)")
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))


# ---- the server -------------------------------------------------------------------------

def server_main(conn):
    wb.child_init()

    async def main():
        loop = asyncio.get_running_loop()

        class Connection(asyncio.Protocol):
            def connection_made(self, transport):
                self.transport, self.buf = transport, b""

            def data_received(self, data):
                self.buf += data
                while len(self.buf) >= REQUEST.size:
                    i, delay = REQUEST.unpack_from(self.buf)
                    self.buf = self.buf[REQUEST.size:]
                    loop.call_later(max(0, delay) / 1e9, self.reply, mix64(i).to_bytes(8, "little"))

            def reply(self, b):
                if not self.transport.is_closing():
                    self.transport.write(b)

        server = await loop.create_server(Connection, "127.0.0.1", 0, backlog=4096)
        conn.send(server.sockets[0].getsockname()[1])
        await asyncio.Event().wait()  # until it is killed
    asyncio.run(main())


def server_cpu_s():
    """The server's CPU time so far, s (0 if there is none): its time on a CPU in ns,
    /proc/PID/schedstat's first field (stat's are in clock ticks, too coarse here)."""
    if g_server_pid is None:
        return 0.0
    with open(f"/proc/{g_server_pid}/schedstat") as f:
        return int(f.read().split()[0]) / 1e9


g_server_pid = None


class Server:
    """The loopback server, a child process; `with Server() as addr:`. Its CPU time
    over each run (server_cpu_s) shows whether it, rather than the runner, set the pace."""

    def __enter__(self):
        ctx = wb.fork_context()
        a, b = ctx.Pipe(duplex=False)
        self.p = ctx.Process(target=server_main, args=(b,), name="server")
        try:
            self.p.start()
            b.close()
            if not a.poll(10):
                raise RuntimeError("the loopback server did not start within 10 s")
            global g_server_pid
            addr = ("127.0.0.1", a.recv())
            g_server_pid = self.p.pid
            return addr
        except BaseException:
            wb.end_all([self.p])
            raise
        finally:
            a.close()

    def __exit__(self, *exc):
        global g_server_pid
        g_server_pid = None
        wb.end_all([self.p])


# ---- a task, blocking, on asyncio, and its halves ----------------------------------------

def request(ld, i, sockets=socket):
    """Task i's request on a blocking socket (`sockets`: the socket module, or gevent's)."""
    s = sockets.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.settimeout(ld.delay / 1e9 + IO_TIMEOUT)
        s.connect(ld.addr)
        s.sendall(REQUEST.pack(i, ld.delay))
        buf = b""
        while len(buf) < 8:
            chunk = s.recv(8 - len(buf))
            if not chunk:
                raise RuntimeError(f"request {i}: the server closed the connection")
            buf += chunk
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RESET)
    finally:
        s.close()
    return int.from_bytes(buf, "little")


def begin(ld):
    """The start of a task, or None if it is past the deadline (skipped)."""
    t = time.monotonic()
    return None if t >= ld.deadline else t


def end(ld, i, t0, reply):
    """The CPU work, then the task's record: (start, end, value, reply right)."""
    v = work(i * ld.ticks, ld.ticks)
    return (t0, time.monotonic(), v + reply, not ld.io or reply == mix64(i))


def task(ld, i, sockets=socket):
    t0 = begin(ld)
    if t0 is None:
        return None
    return end(ld, i, t0, request(ld, i, sockets) if ld.io else 0)


async def arequest(ld, i):
    reader, writer = await asyncio.open_connection(*ld.addr)
    try:
        writer.write(REQUEST.pack(i, ld.delay))
        buf = await reader.readexactly(8)
        writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RESET)
    finally:
        writer.close()
    return int.from_bytes(buf, "little")


async def atask(ld, i):
    t0 = begin(ld)
    if t0 is None:
        return None
    return end(ld, i, t0, await arequest(ld, i) if ld.io else 0)
