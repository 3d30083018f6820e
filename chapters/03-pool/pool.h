/* pool.h: a pool of worker processes, Python's multiprocessing.Pool, over 02-queue's queue.
 *
 *   Python                                   C
 *   p = Pool(3)                              p = pool_new(3, 4096);  (messages <= 4 KiB)
 *   r = p.apply_async(f, (x,))               t = pool_apply_async(p, f, &x, sizeof x);
 *   r.ready()                                pool_ready(p, t)
 *   r.get(timeout=2)                         pool_get(p, t, 2 * NS_PER_S, buf, sizeof buf, &res)
 *   p.map(f, xs, chunksize=8)                pool_map(p, f, xs, sizeof xs[0], n, ys, sizeof ys[0], 8, &res)
 *   p.close(); p.join()                      pool_close(p); pool_join(p);
 *   p.terminate()                            pool_terminate(p);
 *                                            pool_free(p);  (terminates what still runs)
 *
 * Two files implement it; a program links one of them:
 *   pool_simple.c  to read first: workers forked over two pipes; pool_new, apply_async,
 *                  ready, get, close, join, free and pool_workers
 *   pool.c         everything here, on 02-queue's queue, with dead workers reported
 *                  and replaced (as below)
 *
 * The workers are forked by pool_new, so a task is named by a plain function pointer:
 * the children are copies of the parent, code at the same addresses. Each worker runs
 * task after task. With pool.c, a worker that dies in the middle of a task (a crash,
 * SIGKILL) is noticed: that task's result says POOL_DIED with the worker's pid and the signal, a
 * new worker takes its place and every other result is unaffected.
 *
 * Use a pool from one thread of the process that made it.
 */
#ifndef WORKBOOK_POOL_H
#define WORKBOOK_POOL_H

#include "common.h"

/* A task. Runs in a worker: `arg` holds the len bytes given to pool_apply_async; write
 * at most `cap` bytes of result to `out` and their number to *out_len. Return 0, or a
 * non-zero code that the caller sees as POOL_FAILED (Python: the task raised). */
typedef int pool_fn(const void *arg, size_t len, void *out, size_t cap, size_t *out_len);

enum pool_status {
    POOL_OK = 0,
    POOL_TIMEOUT,   /* get: not finished within the timeout; ask again later */
    POOL_FAILED,    /* the task returned a non-zero code (result.code) */
    POOL_DIED,      /* the worker died while running it (result.pid, result.signal) */
    POOL_CANCELLED, /* pool_terminate() came first */
    POOL_TOO_BIG,   /* get: the result (result.len bytes) does not fit in the buffer */
};

struct pool_result {
    int status;    /* enum pool_status */
    int code;      /* POOL_FAILED: what the task returned */
    pid_t pid;     /* the worker that ran it, or died running it */
    int signal;    /* POOL_DIED: the signal that ended the worker (0: it exited) */
    int exit_code; /* POOL_DIED by exit(): the exit code */
    size_t len;    /* bytes of result */
};

typedef uint64_t pool_task; /* a handle; 0 is never one */

#define POOL_MAX_WORKERS 256 /* pool.c's limit (pool_simple.c's is 64) */
struct pool *pool_new(int workers, size_t max_msg);
pool_task pool_apply_async(struct pool *p, pool_fn *fn, const void *arg, size_t len);
bool pool_ready(struct pool *p, pool_task t);
/* Waits up to timeout_ns (< 0: for ever) for task t; copies its result into buf. The
 * result stays available: get may be called again. Returns result->status. */
int pool_get(struct pool *p, pool_task t, int64_t timeout_ns, void *buf, size_t cap,
             struct pool_result *result);
/* fn on each of the n items of in[] (in_size bytes each), results into out[] (out_size
 * bytes each), `chunk` items per task. Returns POOL_OK, or the status of the first
 * chunk that failed, described in *first_bad (may be NULL). */
int pool_map(struct pool *p, pool_fn *fn, const void *in, size_t in_size, size_t n, void *out,
             size_t out_size, size_t chunk, struct pool_result *first_bad);
void pool_close(struct pool *p);     /* no more tasks */
void pool_join(struct pool *p);      /* after close: wait for the tasks and the workers */
void pool_terminate(struct pool *p); /* stop the workers now; unfinished tasks: CANCELLED */
void pool_free(struct pool *p);      /* terminates if needed; frees everything */

/* The current workers' pids, up to max; returns how many. */
int pool_workers(struct pool *p, pid_t *pids, int max);
/* The pid of the worker running task t right now, or 0. */
pid_t pool_running(struct pool *p, pool_task t);
long pool_replaced(const struct pool *p); /* workers replaced after an abnormal end */
/* "POOL_DIED", ...: here, so that pool.c and pool_simple.c share it */
static inline const char *pool_status_name(int status)
{
    static const char *const names[] = { "POOL_OK", "POOL_TIMEOUT", "POOL_FAILED", "POOL_DIED",
                                         "POOL_CANCELLED", "POOL_TOO_BIG" };
    return status >= 0 && (size_t)status < ARRAY_LEN(names) ? names[status] : "POOL_?";
}

#endif
