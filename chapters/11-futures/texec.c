/* texec.c: ThreadPoolExecutor (executor.h), on chapter 09's queue.Queue and Semaphore.
 *
 * Lib/concurrent/futures/thread.py, piece for piece:
 *
 *   submit      under the executor's lock: refuse after shutdown; make the future
 *               and a work item holding it; put the item in the work queue; then
 *               "adjust the thread count": if a thread is idle (the idle semaphore
 *               can be taken without waiting), it will take the item; otherwise, if
 *               fewer than max_workers threads exist, start one. Threads are started
 *               as tasks arrive, never ahead of them, and never stopped until shutdown.
 *   a worker    loops: take an item from the queue (blocking); run it, which first
 *               moves its future from PENDING to RUNNING, or skips it if it was
 *               cancelled while queued; release the idle semaphore. An item of NULL
 *               means shutdown: put it back for the next worker, and end.
 *   shutdown    mark it shut down; with cancel_futures, take every item still queued
 *               and cancel its future; put one NULL; with wait, join every thread.
 *
 * Python's queue is a SimpleQueue (no task_done, no bound); tqueue is chapter 09's
 * queue.Queue, unbounded here, whose join() we never use. Python names its threads
 * "ThreadPoolExecutor-N_k"; ours are "<name>_k".
 */
#include "executor.h"
#include "../09-sync/sync.h"
#include "../09-sync/tqueue.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_THREADS = 4096 };

struct texec {
    struct executor base;
    char name[12];
    struct tqueue queue;      /* struct work *, or NULL: shut down */
    struct semaphore idle;    /* threads waiting for work */
    struct fmutex lock;       /* guards what follows */
    pthread_t *threads;
    int nthreads;
    bool shutdown, joined;
};

struct worker_arg {
    struct texec *x;
    int k;
};

static void *worker(void *p)
{
    struct worker_arg a = *(struct worker_arg *)p;
    free(p);
    char name[16];
    snprintf(name, sizeof name, "%s_%d", a.x->name, a.k);
    trace_name(name);
    for (;;) {
        void *item;
        if (tqueue_get(&a.x->queue, &item, -1) != SYNC_OK)
            fatal("ThreadPoolExecutor: the work queue failed");
        if (!item) { /* shutdown: pass the word on to the next worker */
            tqueue_put(&a.x->queue, NULL, -1);
            return NULL;
        }
        work_run(item);
        work_free(item);
        semaphore_release(&a.x->idle, 1);
    }
}

/* lock held: Python's _adjust_thread_count */
static void adjust_thread_count(struct texec *x)
{
    if (semaphore_acquire(&x->idle, 0) == SYNC_OK)
        return; /* an idle thread will take it */
    if (x->nthreads >= x->base.max_workers)
        return;
    struct worker_arg *a = malloc(sizeof *a);
    if (!a)
        die("ThreadPoolExecutor: malloc");
    *a = (struct worker_arg){ .x = x, .k = x->nthreads };
    CHECK_PT(pthread_create(&x->threads[x->nthreads], NULL, worker, a));
    x->nthreads++;
}

static int texec_submit(struct executor *e, exec_fn *fn, const void *arg, size_t len, struct future **f)
{
    struct texec *x = (struct texec *)e;
    fmutex_lock(&x->lock);
    if (x->shutdown) {
        fmutex_unlock(&x->lock);
        return FUTURE_SHUT_DOWN;
    }
    *f = future_new();
    struct work *w = work_new(*f, fn, arg, len);
    tqueue_put(&x->queue, w, -1);
    adjust_thread_count(x);
    fmutex_unlock(&x->lock);
    return FUTURE_OK;
}

static void texec_shutdown(struct executor *e, bool wait, bool cancel_futures)
{
    struct texec *x = (struct texec *)e;
    fmutex_lock(&x->lock);
    if (cancel_futures) {
        void *item;
        while (tqueue_get(&x->queue, &item, 0) == SYNC_OK) {
            if (!item) { /* shut down before: the NULL stays for the workers */
                tqueue_put(&x->queue, NULL, -1);
                break;
            }
            future_cancel(((struct work *)item)->f);
            work_free(item);
        }
    }
    if (!x->shutdown) {
        x->shutdown = true;
        tqueue_put(&x->queue, NULL, -1); /* wakes the workers blocked in get */
    }
    fmutex_unlock(&x->lock);
    if (wait && !x->joined) { /* no thread starts after shutdown: nthreads is final */
        for (int k = 0; k < x->nthreads; k++)
            CHECK_PT(pthread_join(x->threads[k], NULL));
        x->joined = true;
    }
}

static void texec_free(struct executor *e)
{
    struct texec *x = (struct texec *)e;
    texec_shutdown(e, true, false);
    void *item; /* the NULL the last worker put back */
    while (tqueue_get(&x->queue, &item, 0) == SYNC_OK)
        if (item)
            work_free(item);
    tqueue_destroy(&x->queue);
    free(x->threads);
    free(x);
}

static const struct executor_ops texec_ops = { texec_submit, texec_shutdown, texec_free };

struct executor *thread_executor_new(int max_workers, const char *name)
{
    if (max_workers == 0) { /* Python: min(32, cpu_count + 4) */
        max_workers = default_cores() + 4;
        if (max_workers > 32)
            max_workers = 32;
    }
    if (max_workers < 1 || max_workers > MAX_THREADS)
        fatal("ThreadPoolExecutor: max_workers %d (1..%d; Python: ValueError)", max_workers, MAX_THREADS);
    struct texec *x = calloc(1, sizeof *x);
    if (!x || !(x->threads = calloc((size_t)max_workers, sizeof *x->threads)))
        die("ThreadPoolExecutor: calloc");
    x->base = (struct executor){ .ops = &texec_ops, .kind = "ThreadPoolExecutor", .max_workers = max_workers };
    snprintf(x->name, sizeof x->name, "%s", name ? name : "tpe");
    tqueue_init(&x->queue, 0);
    semaphore_init(&x->idle, 0);
    fmutex_init(&x->lock, 0);
    return &x->base;
}
