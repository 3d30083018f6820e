/* load.h: the workloads that choose.c and hybrid.c measure, and the runners they
 * measure them on.
 *
 * A workload is N tasks, all alike. A task does up to two things, in this order:
 *   - a request to a loopback server: connect, send 16 bytes, and wait for the 8-byte
 *     reply, which the server holds back `delay` (a page fetched from a slow site, a
 *     call to a database); the reply is checked;
 *   - CPU work: `ticks` rounds of chapter 08's gil_work (about 40 ns each), the
 *     "parsing" of what came back.
 * CPU-bound is ticks only; I/O-bound is the request only; mixed is both; many idle
 * connections is the request with a long delay and many tasks.
 *
 * The server (load.c) is a process of its own running chapter 07's hub, a coroutine per
 * connection, so it can hold thousands of connections at once and answer each one on
 * time. It listens on 127.0.0.1 at a port the kernel chooses.
 *
 * A runner (runners.c) is one way to run the tasks:
 *   R_ONE        one thread, one task after the other, blocking I/O
 *   R_THREADS    a thread per task, all at once, no GIL (C threads, free-threaded Python)
 *   R_GIL        the same threads under chapter 08's simulated GIL: the CPU work holds
 *                it (ticks with check points), every blocking call drops it
 *   R_PROCS      chapter 03's pool with a worker process per core, a task at a time
 *                each, blocking I/O (Pool(), ProcessPoolExecutor())
 *   R_COROS      one thread, a coroutine per task on chapter 07's hub (gevent, asyncio)
 *   R_HYBRID     a process per core, each a hub with its share of the tasks as
 *                coroutines (lesson 001's "processes plus coroutines")
 *   R_POOL_THREADS  a ProcessPoolExecutor with a worker per core whose tasks each
 *                fetch their share on a ThreadPoolExecutor and do the CPU work as
 *                the replies come (as_completed)
 *
 * cell_run (cell.c) runs one workload on one runner in a fresh child process and
 * measures it: wall time, CPU time of all its processes, how many tasks were in flight
 * at once, and (on request) the peak of its private memory. A task that would start
 * after the workload's deadline is skipped, so no runner can take much longer than the
 * deadline.
 */
#ifndef WORKBOOK_LOAD_H
#define WORKBOOK_LOAD_H

#include "common.h"
#include "../08-gil/gil.h"

#include <netinet/in.h>
#include <stdatomic.h>

/* ---- the server (load.c) ---- */
struct server {
    pid_t pid;
    struct sockaddr_in addr;
};
void server_start(struct server *s);
void server_stop(struct server *s);
void server_kill_now(void); /* async-signal-safe, for on_termination */

/* ---- a workload and its tasks (load.c) ---- */
struct load {
    long tasks;
    bool io;               /* each task makes a request ... */
    int64_t delay;         /* ... that the server holds this long */
    uint64_t ticks;        /* CPU work per task, in ticks */
    int cores;             /* processes for R_PROCS, R_HYBRID, R_POOL_THREADS */
    int64_t deadline;      /* no task starts after this now_ns() time (NO_DEADLINE) */
    bool copied_stacks;    /* hub coroutines on copied stacks (CORO_COPY_STACK) */
    struct sockaddr_in server;
};

/* What the tasks did, in memory shared by every process of a run. */
struct load_stats {
    _Atomic long in_flight, peak; /* tasks started and not finished: now, at most */
    _Atomic long done, skipped, wrong;
    _Atomic uint64_t check;       /* the sum of every task's replies and CPU work */
};

enum io_how { IO_BLOCKING, IO_HUB };
/* Task i: the request (if l->io), then the CPU work; under the GIL if t is not NULL
 * (the caller holds it; blocking calls drop it). false if skipped (past the deadline). */
bool task_run(const struct load *l, struct load_stats *st, long i, enum io_how how, struct gil_thread *t);
/* the two halves, for runners that split them (R_POOL_THREADS); task_begin returns
 * false if the task is skipped */
bool task_begin(const struct load *l, struct load_stats *st);
uint64_t task_request(const struct load *l, struct load_stats *st, long i, enum io_how how, struct gil_thread *t);
void task_end(const struct load *l, struct load_stats *st, long i, uint64_t part, struct gil_thread *t);
/* ns of CPU time per tick, measured over cpu_ns of this thread's CPU time (so that
 * other work on the machine does not shrink the tasks) */
double tick_ns(int64_t cpu_ns);
/* what the checksum of all l->tasks tasks must be, done by one thread */
uint64_t load_expected(const struct load *l);

/* ---- runners (runners.c) ---- */
enum runner { R_ONE, R_THREADS, R_GIL, R_PROCS, R_COROS, R_HYBRID, R_POOL_THREADS, NRUNNERS };
extern const char *const runner_name[NRUNNERS];

struct cell {
    int64_t wall;       /* ns, first task started to last finished (and workers ended) */
    double cpu;         /* s of CPU time, all its processes and threads */
    long done, skipped, wrong, peak;
    uint64_t check;
    double mem_kib;     /* peak private memory above the start, all its processes (-1: not sampled) */
};
/* Runs l on r in this process (runners.c); notes in runner_last (a now_ns() time)
 * when the last task's result was in hand. */
void runner_run(enum runner r, const struct load *l, struct load_stats *st);
extern int64_t runner_last;
/* Runs l on r in a fresh child process (cell.c); samples memory every few ms if
 * `memory`. */
void cell_run(enum runner r, const struct load *l, bool memory, struct cell *c);

/* ---- helpers (load.c) ---- */
long private_kib(pid_t pid);           /* Private_Clean + Private_Dirty, /proc/pid/smaps_rollup */
long private_kib_tree(pid_t pid);      /* pid and its children */
void raise_fd_limit(long need);        /* soft RLIMIT_NOFILE up to need (dies if the hard one is lower) */

#endif
