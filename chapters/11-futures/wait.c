/* wait.c: concurrent.futures.wait() and as_completed() (future.h).
 *
 * Both hang one waiter on every future they watch (waiter.h), as Python's
 * _create_and_install_waiters does (Lib/concurrent/futures/_base.py). A future that
 * finishes calls waiter_add, which appends it to the waiter's list of finished
 * futures, in the order they finish, and wakes the waiting thread; that thread decides
 * whether what it waits for has happened:
 *
 *   FIRST_COMPLETED    one future in the list
 *   FIRST_EXCEPTION    one that finished with an exception, or none left pending
 *   ALL_COMPLETED      none left pending
 *   as_completed       the next one in the list, once per call
 *
 * Python takes every future's lock at once, in order of address (_AcquireFutures),
 * to see which are done and install its waiter in one step. Here each future is looked
 * at and linked under its own lock (future_watch): a future done by then is added to
 * the list at once, any other when it finishes, so each is counted exactly once
 * either way, without holding many locks together.
 *
 * The waiter holds a reference on every future it watches, and takes its links off
 * them before it goes away, so no future can call into a waiter that is gone.
 */
#include "future.h"
#include "../09-sync/sync.h"
#include "waiter.h"

#include <stdlib.h>

enum waiter_kind { W_FIRST_COMPLETED, W_FIRST_EXCEPTION, W_ALL_COMPLETED, W_AS_COMPLETED };

struct waiter {
    struct fmutex lock;          /* guards what follows */
    struct cond cond;            /* the waiting thread sleeps here */
    enum waiter_kind kind;
    size_t n;                    /* distinct futures watched */
    struct future **fs;          /* them, a reference held on each */
    struct waiter_link *links;   /* links[i] hangs on fs[i] ... */
    bool *linked;                /* ... if linked[i] (it was not done yet) */
    size_t pending;              /* not finished yet */
    bool exception;              /* one finished with an exception */
    struct future **finished;    /* in the order they finished */
    size_t nfinished, head;      /* as_completed gives finished[head] next */
};

void waiter_add(struct waiter *w, struct future *f, bool exception)
{
    fmutex_lock(&w->lock);
    w->finished[w->nfinished++] = f;
    w->pending--;
    w->exception = w->exception || exception;
    cond_notify_all(&w->cond);
    fmutex_unlock(&w->lock);
}

static int by_address(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (struct future *const *)a, y = (uintptr_t) * (struct future *const *)b;
    return (x > y) - (x < y);
}

static void waiter_init(struct waiter *w, struct future *const *fs, size_t n, enum waiter_kind kind)
{
    *w = (struct waiter){ .kind = kind };
    w->fs = malloc((n ? n : 1) * sizeof *w->fs);
    w->links = calloc(n ? n : 1, sizeof *w->links);
    w->linked = calloc(n ? n : 1, sizeof *w->linked);
    w->finished = malloc((n ? n : 1) * sizeof *w->finished);
    if (!w->fs || !w->links || !w->linked || !w->finished)
        die("wait: malloc");
    /* a set, as Python makes of fs: each future once */
    for (size_t i = 0; i < n; i++)
        w->fs[i] = fs[i];
    qsort(w->fs, n, sizeof *w->fs, by_address);
    for (size_t i = 0; i < n; i++)
        if (w->n == 0 || w->fs[w->n - 1] != w->fs[i])
            w->fs[w->n++] = w->fs[i];
    fmutex_init(&w->lock, 0);
    cond_init(&w->cond, &w->lock);
    w->pending = w->n;
    for (size_t i = 0; i < w->n; i++) {
        future_ref(w->fs[i]);
        w->links[i].w = w;
        w->linked[i] = future_watch(w->fs[i], &w->links[i]);
    }
}

static void waiter_destroy(struct waiter *w)
{
    for (size_t i = 0; i < w->n; i++) {
        if (w->linked[i])
            future_unwatch(w->fs[i], &w->links[i]);
        future_release(w->fs[i]);
    }
    free(w->fs);
    free(w->links);
    free(w->linked);
    free(w->finished);
}

/* has what we wait for happened? (w->lock held) */
static bool fired(const struct waiter *w)
{
    if (w->pending == 0)
        return true;
    switch (w->kind) {
    case W_FIRST_COMPLETED:
        return w->nfinished > 0;
    case W_FIRST_EXCEPTION:
        return w->exception;
    case W_AS_COMPLETED:
        return w->head < w->nfinished;
    default:
        return false;
    }
}

/* waits until fired or the deadline; w->lock held; false if the time ran out */
static bool wait_fired(struct waiter *w, int64_t deadline)
{
    while (!fired(w))
        if (ns_left(deadline) == 0 || cond_wait_until(&w->cond, deadline) == SYNC_TIMEOUT)
            return fired(w);
    return true;
}

size_t future_wait(struct future *const *fs, size_t n, int64_t timeout_ns, enum future_when when, bool *done)
{
    static const enum waiter_kind kinds[] = { W_FIRST_COMPLETED, W_FIRST_EXCEPTION, W_ALL_COMPLETED };
    if ((size_t)when >= ARRAY_LEN(kinds))
        fatal("future_wait: no such return_when: %d (Python: ValueError)", (int)when);
    struct waiter w;
    waiter_init(&w, fs, n, kinds[when]);
    int64_t deadline = deadline_in(timeout_ns);
    fmutex_lock(&w.lock);
    wait_fired(&w, deadline);
    fmutex_unlock(&w.lock);
    waiter_destroy(&w);
    size_t ndone = 0;
    for (size_t i = 0; i < n; i++) {
        bool d = future_done(fs[i]);
        ndone += d;
        if (done)
            done[i] = d;
    }
    return ndone;
}

struct as_completed {
    struct waiter w;
    int64_t deadline;
};

struct as_completed *as_completed_new(struct future *const *fs, size_t n, int64_t timeout_ns)
{
    struct as_completed *it = malloc(sizeof *it);
    if (!it)
        die("as_completed: malloc");
    it->deadline = deadline_in(timeout_ns);
    waiter_init(&it->w, fs, n, W_AS_COMPLETED);
    return it;
}

int as_completed_next(struct as_completed *it, struct future **f)
{
    struct waiter *w = &it->w;
    int rc = FUTURE_OK;
    *f = NULL;
    fmutex_lock(&w->lock);
    if (w->head < w->n) {
        if (wait_fired(w, it->deadline))
            *f = w->finished[w->head++];
        else
            rc = FUTURE_TIMEOUT; /* Python: TimeoutError("k (of n) futures unfinished") */
    }
    fmutex_unlock(&w->lock);
    return rc;
}

size_t as_completed_left(struct as_completed *it)
{
    fmutex_lock(&it->w.lock);
    size_t left = it->w.n - it->w.head;
    fmutex_unlock(&it->w.lock);
    return left;
}

void as_completed_free(struct as_completed *it)
{
    waiter_destroy(&it->w);
    free(it);
}
