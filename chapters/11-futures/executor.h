/* executor.h: ThreadPoolExecutor and ProcessPoolExecutor, one interface for both.
 *
 *   Python (concurrent.futures)              C
 *   ex = ThreadPoolExecutor(max_workers=4)   e = thread_executor_new(4, "tpe")  (0: min(32, cores + 4))
 *   ex = ProcessPoolExecutor(max_workers=2)  e = process_executor_new(2, EXEC_REPLACE)  (0: cores)
 *   f = ex.submit(fn, x)                     executor_submit(e, fn, &x, sizeof x, &f)   OK, SHUT_DOWN, BROKEN, TOO_BIG
 *   ex.map(fn, xs, timeout=t)                executor_map(e, fn, xs, sizeof xs[0], n, ys, sizeof ys[0], t, &got, &err)
 *   ex.shutdown(wait=True, cancel_futures=False)   executor_shutdown(e, true, false)
 *   with ThreadPoolExecutor() as ex: ...     ...; executor_free(e)  (shuts down and waits first)
 *
 * A task is the same function type for both, as in Python, where the same callable can
 * go to either executor: it reads `len` bytes of argument, writes at most `cap` bytes
 * of result to `out` and their number to *out_len, and returns 0, or a non-zero code
 * that its future reports as an exception (FUTURE_EXC_RAISED, the code). It is chapter
 * 03's pool_fn, so a process executor hands it to the pool as it is. Arguments and
 * results are at most EXEC_MSG_MAX bytes each.
 *
 * The thread executor (texec.c) runs tasks on threads it starts as they are needed,
 * up to max_workers, fed through a queue.Queue (chapter 09's tqueue). The process
 * executor (pexec.c) runs them in chapter 03's pool of worker processes, which are
 * forked when it is made, fed by a manager thread. A process executor has two ways to
 * meet a worker that dies in the middle of a task:
 *   EXEC_BREAK    Python's: the executor is broken. Every pending future, running or
 *                 queued, fails with BrokenProcessPool (FUTURE_EXC_BROKEN), the other
 *                 workers are stopped, and every later submit fails (FUTURE_BROKEN).
 *   EXEC_REPLACE  chapter 03's pool's: that task's future fails (FUTURE_EXC_DIED, with
 *                 the signal), a new worker takes the dead one's place, and everything
 *                 else goes on.
 *
 * Submit, shutdown without waiting, and the futures may be used from any thread;
 * shutdown with wait and free from one thread at a time (they join the workers or the
 * manager), free once no other thread uses the executor.
 */
#ifndef WORKBOOK_EXECUTOR_H
#define WORKBOOK_EXECUTOR_H

#include "future.h"

enum { EXEC_MSG_MAX = 1024 }; /* bytes of argument, and of result, per task */

typedef int exec_fn(const void *arg, size_t len, void *out, size_t cap, size_t *out_len);

enum exec_on_death { EXEC_REPLACE, EXEC_BREAK };

struct executor;

/* max_workers 0: Python's default (cores + 4, at most 32); name: the threads are
 * called name_0, name_1, ... (what ps -L shows). */
struct executor *thread_executor_new(int max_workers, const char *name);
/* max_workers 0: Python's default (the number of cores); at most 64 */
struct executor *process_executor_new(int max_workers, enum exec_on_death on_death);

int executor_submit(struct executor *e, exec_fn *fn, const void *arg, size_t len, struct future **f);
/* Python's map(fn, xs, timeout): submits every item, then takes the results in order
 * into out[] until one fails (its status: TIMEOUT, RAISED with *err filled in,
 * CANCELLED_ERROR) and cancels those not yet started, as Python's result iterator does
 * when it stops. *got: results delivered in order before that. */
int executor_map(struct executor *e, exec_fn *fn, const void *in, size_t in_size, size_t n, void *out,
                 size_t out_size, int64_t timeout_ns, size_t *got, struct future_error *err);
/* No more submits. cancel_futures: cancel the tasks not yet started. wait: return when
 * every task has ended and the workers with them. Safe to call more than once. */
void executor_shutdown(struct executor *e, bool wait, bool cancel_futures);
void executor_free(struct executor *e);

int executor_max_workers(const struct executor *e);
const char *executor_kind(const struct executor *e); /* "ThreadPoolExecutor", ... */

/* ---- for the two implementations ---------------------------------------------------- */
struct executor_ops {
    int (*submit)(struct executor *e, exec_fn *fn, const void *arg, size_t len, struct future **f);
    void (*shutdown)(struct executor *e, bool wait, bool cancel_futures);
    void (*free)(struct executor *e);
};
struct executor {
    const struct executor_ops *ops;
    const char *kind;
    int max_workers;
};

/* a task as it waits in a queue: its future (one reference held), function, argument */
struct work {
    struct future *f;
    exec_fn *fn;
    size_t len;
    unsigned char arg[];
};
struct work *work_new(struct future *f, exec_fn *fn, const void *arg, size_t len);
void work_free(struct work *w); /* drops the reference on its future */
/* runs w->fn and settles w->f with its result or its code (threads, and tests) */
void work_run(struct work *w);
int default_cores(void);

#endif
