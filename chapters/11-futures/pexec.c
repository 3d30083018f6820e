/* pexec.c: ProcessPoolExecutor (executor.h), on chapter 03's pool of worker processes.
 *
 * Lib/concurrent/futures/process.py has the caller's threads, a manager thread
 * (_ExecutorManagerThread) and the worker processes:
 *
 *   submit        under the executor's lock: refuse if broken or shut down; make the
 *                 future and a work item, put it in the work queue (a queue.Queue of
 *                 work ids in Python, chapter 09's tqueue of items here)
 *   the manager   moves items from the work queue into the "call queue" the workers
 *                 read, which holds max_workers + EXTRA_QUEUED_CALLS (1) items waiting
 *                 for a worker; each moves from PENDING to RUNNING as it goes, so from
 *                 then on cancel() fails, and Python keeps the call queue that short for
 *                 this very reason (the comment on EXTRA_QUEUED_CALLS). So up to
 *                 2 x max_workers + 1 futures are RUNNING: those the workers run, and
 *                 those waiting in the call queue. Then the manager waits for a result,
 *                 a submit or a worker's end, and settles futures.
 *   a dead worker Python's manager waits on every worker's sentinel; one that becomes
 *                 ready without a result is a worker that died. It marks the executor
 *                 broken and fails every pending future, running or queued, with
 *                 BrokenProcessPool, then terminates the other workers
 *                 (_ExecutorManagerThread.terminate_broken). EXEC_BREAK does the same.
 *                 EXEC_REPLACE keeps chapter 03's behaviour: the pool reports the task
 *                 as POOL_DIED, forks a new worker, and only that future fails.
 *
 * Chapter 03's pool is the call queue and the workers (pool_apply_async puts a task,
 * pool_get waits for its result and looks after the workers while it waits). It must
 * be used from one thread: the manager is that thread. The pool gives nothing to wait
 * on for "any task", so the manager waits on the oldest task in slices of SLICE_NS and
 * between slices looks at the work queue and at every other task (pool_ready): a
 * submit or a result out of order is seen within a slice (Python's manager wakes on a
 * pipe written by submit, and on the result queue).
 *
 * The workers are forked by pool_new, in the thread that makes the executor, before
 * the manager thread exists: forking a process that has other threads copies only the
 * forking thread, and a lock some other thread held stays held in the child (chapter
 * 10). Python forks its workers before starting the manager for the same reason
 * (ProcessPoolExecutor._start_executor_manager_thread, with the fork start method).
 * A replacement worker (EXEC_REPLACE) is forked by the manager thread while the other
 * threads run: it runs only the pool's worker loop and the tasks, so a task must not
 * take locks that the parent's other threads use (Python has the same hazard when it
 * replaces a worker under fork: the comment in _adjust_process_count).
 */
#include "executor.h"
#include "../03-pool/pool.h"
#include "../09-sync/sync.h"
#include "../09-sync/tqueue.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum { EXTRA_QUEUED_CALLS = 1 }; /* Python's value (process.py) */
/* the pool's messages: a message plus the pool's own headers (under 64 bytes); a task
 * may write up to what is left after the result's header */
enum { POOL_MSG = EXEC_MSG_MAX + 64, RESULT_CAP = POOL_MSG };
#define SLICE_NS NS_PER_MS

struct flight {
    pool_task t;
    struct work *w;
};

struct pexec {
    struct executor base;
    enum exec_on_death on_death;
    struct pool *pool;        /* used by the manager thread only, once it runs */
    struct tqueue queue;      /* struct work *, submitted and not yet in the pool */
    struct flight *fl;        /* in the pool, running or waiting: at most `limit`, oldest first */
    int nfl, limit;
    pthread_t manager;
    struct fmutex lock;       /* guards the flags */
    bool shutdown, broken, joined;
};

static bool is_broken(struct pexec *x)
{
    fmutex_lock(&x->lock);
    bool b = x->broken;
    fmutex_unlock(&x->lock);
    return b;
}

static void fail_broken(struct work *w)
{
    /* a future cancelled meanwhile refuses it (INVALID_STATE): Python ignores that too */
    future_set_exception(w->f, FUTURE_EXC_BROKEN, 0,
                         "BrokenProcessPool: a process in the pool was terminated abruptly");
    work_free(w);
}

/* a task's result came: settle its future */
static void settle(struct work *w, const struct pool_result *r, const unsigned char *buf)
{
    switch (r->status) {
    case POOL_OK:
        future_set_result(w->f, buf, r->len);
        break;
    case POOL_FAILED:
        future_set_exception(w->f, FUTURE_EXC_RAISED, r->code, "the task raised: it returned %d (pid %d)",
                             r->code, (int)r->pid);
        break;
    case POOL_DIED:
        if (r->signal)
            future_set_exception(w->f, FUTURE_EXC_DIED, r->signal, "worker %d was killed by SIG%s while running it",
                                 (int)r->pid, sigabbrev_np(r->signal));
        else
            future_set_exception(w->f, FUTURE_EXC_DIED, 0, "worker %d exited (code %d) while running it",
                                 (int)r->pid, r->exit_code);
        break;
    default:
        fatal("ProcessPoolExecutor: the pool said %s", pool_status_name(r->status));
    }
    work_free(w);
}

/* EXEC_BREAK, a worker died: Python's terminate_broken */
static void break_executor(struct pexec *x, unsigned char *buf)
{
    fmutex_lock(&x->lock);
    x->broken = x->shutdown = true;
    fmutex_unlock(&x->lock);
    for (int i = 0; i < x->nfl; i++) { /* results already in stay results */
        struct pool_result r;
        int rc = pool_get(x->pool, x->fl[i].t, 0, buf, RESULT_CAP, &r);
        if (rc == POOL_OK || rc == POOL_FAILED)
            settle(x->fl[i].w, &r, buf);
        else
            fail_broken(x->fl[i].w);
    }
    x->nfl = 0;
    pool_terminate(x->pool);
    void *item;
    while (tqueue_get(&x->queue, &item, 0) == SYNC_OK)
        fail_broken(item);
}

/* settles every task of the pool that has ended; false if the executor broke */
static bool collect(struct pexec *x, unsigned char *buf)
{
    for (int i = 0; i < x->nfl;) {
        if (!pool_ready(x->pool, x->fl[i].t)) {
            i++;
            continue;
        }
        struct pool_result r;
        pool_get(x->pool, x->fl[i].t, 0, buf, RESULT_CAP, &r);
        if (r.status == POOL_DIED && x->on_death == EXEC_BREAK) {
            break_executor(x, buf);
            return false;
        }
        settle(x->fl[i].w, &r, buf);
        memmove(&x->fl[i], &x->fl[i + 1], (size_t)(x->nfl - i - 1) * sizeof x->fl[0]);
        x->nfl--;
    }
    return true;
}

static void *manager(void *p)
{
    struct pexec *x = p;
    trace_name("manager");
    unsigned char *buf = malloc(RESULT_CAP);
    if (!buf)
        die("ProcessPoolExecutor: malloc");
    bool stopping = false;
    for (;;) {
        /* fill the pool up to the limit; with nothing in it, sleep until a submit */
        while (!stopping && x->nfl < x->limit) {
            void *item;
            int rc = tqueue_get(&x->queue, &item, x->nfl == 0 ? -1 : 0);
            if (rc == SYNC_SHUT_DOWN)
                stopping = true;
            if (rc != SYNC_OK)
                break;
            struct work *w = item;
            if (is_broken(x))
                fail_broken(w); /* submitted just before it broke */
            else if (!future_set_running_or_notify_cancel(w->f))
                work_free(w); /* cancelled while queued */
            else
                x->fl[x->nfl++] = (struct flight){ pool_apply_async(x->pool, w->fn, w->arg, w->len), w };
        }
        if (x->nfl == 0) {
            if (stopping)
                break;
            continue;
        }
        /* wait for the oldest a slice at most, then take whatever has ended */
        pool_get(x->pool, x->fl[0].t, SLICE_NS, NULL, 0, NULL);
        collect(x, buf);
    }
    free(buf);
    pool_close(x->pool); /* nothing after a terminate */
    pool_join(x->pool);
    return NULL;
}

static int pexec_submit(struct executor *e, exec_fn *fn, const void *arg, size_t len, struct future **f)
{
    struct pexec *x = (struct pexec *)e;
    int rc = FUTURE_OK;
    fmutex_lock(&x->lock);
    if (x->broken)
        rc = FUTURE_BROKEN;
    else if (x->shutdown)
        rc = FUTURE_SHUT_DOWN;
    else {
        *f = future_new();
        struct work *w = work_new(*f, fn, arg, len);
        tqueue_put(&x->queue, w, -1);
    }
    fmutex_unlock(&x->lock);
    return rc;
}

static void pexec_shutdown(struct executor *e, bool wait, bool cancel_futures)
{
    struct pexec *x = (struct pexec *)e;
    fmutex_lock(&x->lock);
    if (cancel_futures) { /* those still queued; those in the pool are RUNNING */
        void *item;
        while (tqueue_get(&x->queue, &item, 0) == SYNC_OK) {
            future_cancel(((struct work *)item)->f);
            work_free(item);
        }
    }
    x->shutdown = true;
    tqueue_shutdown(&x->queue, false); /* the manager drains the rest, then ends */
    fmutex_unlock(&x->lock);
    if (wait && !x->joined) {
        CHECK_PT(pthread_join(x->manager, NULL));
        x->joined = true;
    }
}

static void pexec_free(struct executor *e)
{
    struct pexec *x = (struct pexec *)e;
    pexec_shutdown(e, true, false);
    pool_free(x->pool);
    tqueue_destroy(&x->queue);
    free(x->fl);
    free(x);
}

static const struct executor_ops pexec_ops = { pexec_submit, pexec_shutdown, pexec_free };

struct executor *process_executor_new(int max_workers, enum exec_on_death on_death)
{
    if (max_workers == 0) /* Python: os.cpu_count(), os.process_cpu_count() from 3.13 */
        max_workers = default_cores();
    if (max_workers < 1 || max_workers > 64)
        fatal("ProcessPoolExecutor: max_workers %d (1..64; Python: ValueError)", max_workers);
    struct pexec *x = calloc(1, sizeof *x);
    if (!x || !(x->fl = calloc(2 * (size_t)max_workers + EXTRA_QUEUED_CALLS, sizeof *x->fl)))
        die("ProcessPoolExecutor: calloc");
    x->base = (struct executor){ .ops = &pexec_ops, .kind = "ProcessPoolExecutor", .max_workers = max_workers };
    x->on_death = on_death;
    x->limit = 2 * max_workers + EXTRA_QUEUED_CALLS; /* running, and the call queue */
    tqueue_init(&x->queue, 0);
    fmutex_init(&x->lock, 0);
    x->pool = pool_new(max_workers, POOL_MSG);
    CHECK_PT(pthread_create(&x->manager, NULL, manager, x));
    return &x->base;
}
