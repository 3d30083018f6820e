/* future.c: concurrent.futures.Future on chapter 09's Lock and Condition (future.h).
 *
 * Lib/concurrent/futures/_base.py, class Future, piece for piece: a state, a result or
 * an exception, a Condition (`_condition`) that result() and exception() wait on, a
 * list of done-callbacks, and a list of waiters, the records that wait() and
 * as_completed() hang on every future they watch (wait.c). Everything is guarded by
 * the Condition's Lock:
 *
 *   set_result / set_exception   PENDING or RUNNING -> FINISHED; tell every waiter;
 *                                notify_all on the Condition; then, outside the lock,
 *                                run the callbacks in the order they were added
 *   cancel                       PENDING -> CANCELLED, the same three steps;
 *                                RUNNING or FINISHED: refused
 *   result(timeout)              wait on the Condition until done or the deadline
 *
 * The callbacks are taken off the future under the lock and run after it is released,
 * so a callback may call anything on the future (its result, say) without deadlocking,
 * and each runs exactly once: a callback added after the state changed finds the
 * future done and runs at once, in the caller, as Python's add_done_callback does.
 *
 * One difference, on purpose. Python tells wait() and as_completed() about a
 * cancellation only when the executor next looks at the future
 * (set_running_or_notify_cancel moves it to CANCELLED_AND_NOTIFIED): until then a
 * wait() does not count the cancelled future as done. Here cancel() tells them at once.
 */
#include "future.h"
#include "../09-sync/sync.h"
#include "waiter.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct callback {
    future_callback *fn;
    void *arg;
    struct callback *next;
};

struct future {
    struct fmutex lock;
    struct cond cond;             /* result() and exception() wait here */
    enum future_state state;
    unsigned char *value;         /* the result's bytes (malloc'd), len of them */
    size_t len;
    struct future_error error;    /* kind FUTURE_EXC_NONE: no exception */
    struct callback *callbacks;   /* in the order added */
    struct callback **cb_tail;
    struct waiter_link *waiters;  /* wait() and as_completed() watching it (wait.c) */
    _Atomic long refs;
};

struct future *future_new(void)
{
    struct future *f = calloc(1, sizeof *f);
    if (!f)
        die("future_new: calloc");
    fmutex_init(&f->lock, 0);
    cond_init(&f->cond, &f->lock);
    f->state = FUTURE_PENDING;
    f->cb_tail = &f->callbacks;
    atomic_init(&f->refs, 1);
    return f;
}

void future_ref(struct future *f)
{
    atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed);
}

void future_release(struct future *f)
{
    /* release: everything this thread did to f happens before the free */
    long left = atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) - 1;
    if (left > 0)
        return;
    if (left < 0)
        fatal("future_release: a future released more often than referenced");
    if (f->waiters)
        fatal("future_release: freed while wait() or as_completed() watches it");
    for (struct callback *c = f->callbacks, *next; c; c = next) { /* never ran */
        next = c->next;
        free(c);
    }
    free(f->value);
    free(f);
}

static bool is_done(const struct future *f) /* FINISHED or CANCELLED */
{
    return f->state >= FUTURE_CANCELLED;
}

enum future_state future_state(struct future *f)
{
    fmutex_lock(&f->lock);
    enum future_state s = f->state;
    fmutex_unlock(&f->lock);
    return s;
}

bool future_done(struct future *f)
{
    return future_state(f) >= FUTURE_CANCELLED;
}

bool future_running(struct future *f)
{
    return future_state(f) == FUTURE_RUNNING;
}

bool future_cancelled(struct future *f)
{
    return future_state(f) == FUTURE_CANCELLED;
}

/* The state has just become FINISHED or CANCELLED (lock held): tell the waiters and
 * the threads in result(), and hand back the callbacks to run once the lock is free. */
static struct callback *announce(struct future *f)
{
    bool exception = f->state == FUTURE_FINISHED && f->error.kind != FUTURE_EXC_NONE;
    for (struct waiter_link *l = f->waiters; l; l = l->next)
        waiter_add(l->w, f, exception);
    cond_notify_all(&f->cond);
    struct callback *cbs = f->callbacks;
    f->callbacks = NULL;
    f->cb_tail = &f->callbacks;
    return cbs;
}

static void run_callbacks(struct future *f, struct callback *c)
{
    while (c) {
        struct callback *next = c->next;
        c->fn(f, c->arg);
        free(c);
        c = next;
    }
}

bool future_cancel(struct future *f)
{
    fmutex_lock(&f->lock);
    if (f->state == FUTURE_RUNNING || f->state == FUTURE_FINISHED) {
        fmutex_unlock(&f->lock);
        return false;
    }
    if (f->state == FUTURE_CANCELLED) {
        fmutex_unlock(&f->lock);
        return true;
    }
    f->state = FUTURE_CANCELLED;
    struct callback *cbs = announce(f);
    fmutex_unlock(&f->lock);
    run_callbacks(f, cbs);
    return true;
}

bool future_set_running_or_notify_cancel(struct future *f)
{
    fmutex_lock(&f->lock);
    enum future_state s = f->state;
    if (s == FUTURE_PENDING)
        f->state = FUTURE_RUNNING;
    fmutex_unlock(&f->lock);
    if (s != FUTURE_PENDING && s != FUTURE_CANCELLED)
        fatal("future_set_running_or_notify_cancel: the future is %s (Python: RuntimeError, Future "
              "in unexpected state)", future_state_name(s));
    return s == FUTURE_PENDING;
}

/* PENDING or RUNNING -> FINISHED with a value (copy, len) or an exception (err) */
static int finish(struct future *f, unsigned char *copy, size_t len, const struct future_error *err)
{
    fmutex_lock(&f->lock);
    if (is_done(f)) {
        fmutex_unlock(&f->lock);
        free(copy);
        return FUTURE_INVALID_STATE;
    }
    f->value = copy;
    f->len = len;
    if (err)
        f->error = *err;
    f->state = FUTURE_FINISHED;
    struct callback *cbs = announce(f);
    fmutex_unlock(&f->lock);
    run_callbacks(f, cbs);
    return FUTURE_OK;
}

int future_set_result(struct future *f, const void *data, size_t len)
{
    unsigned char *copy = NULL;
    if (len > 0) { /* copied before the lock is taken: nobody waits on a malloc */
        copy = malloc(len);
        if (!copy)
            die("future_set_result: malloc");
        memcpy(copy, data, len);
    }
    return finish(f, copy, len, NULL);
}

int future_set_exception(struct future *f, enum future_exc kind, int code, const char *fmt, ...)
{
    struct future_error e = { .kind = kind, .code = code };
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e.what, sizeof e.what, fmt, ap);
    va_end(ap);
    if (kind == FUTURE_EXC_NONE)
        fatal("future_set_exception: an exception of kind NONE");
    return finish(f, NULL, 0, &e);
}

/* waits until f is done or the deadline passes; lock held */
static void wait_done(struct future *f, int64_t timeout_ns)
{
    if (is_done(f) || timeout_ns == 0)
        return;
    int64_t deadline = deadline_in(timeout_ns);
    while (!is_done(f))
        if (cond_wait_until(&f->cond, deadline) == SYNC_TIMEOUT)
            break;
}

/* waits for f; returns with the lock held: OK if FINISHED, else CANCELLED_ERROR or TIMEOUT */
static int wait_finished(struct future *f, int64_t timeout_ns)
{
    fmutex_lock(&f->lock);
    wait_done(f, timeout_ns);
    if (f->state == FUTURE_CANCELLED)
        return FUTURE_CANCELLED_ERROR;
    return f->state == FUTURE_FINISHED ? FUTURE_OK : FUTURE_TIMEOUT;
}

int future_result(struct future *f, int64_t timeout_ns, void *buf, size_t cap, size_t *len)
{
    int rc = wait_finished(f, timeout_ns);
    if (rc == FUTURE_OK && f->error.kind != FUTURE_EXC_NONE)
        rc = FUTURE_RAISED;
    else if (rc == FUTURE_OK) {
        if (len)
            *len = f->len;
        rc = f->len > cap ? FUTURE_TOO_BIG : FUTURE_OK;
        if (rc == FUTURE_OK && f->len > 0)
            memcpy(buf, f->value, f->len);
    }
    fmutex_unlock(&f->lock);
    return rc;
}

int future_exception(struct future *f, int64_t timeout_ns, struct future_error *err)
{
    int rc = wait_finished(f, timeout_ns);
    if (rc == FUTURE_OK && err)
        *err = f->error;
    fmutex_unlock(&f->lock);
    return rc;
}

void future_add_done_callback(struct future *f, future_callback *fn, void *arg)
{
    struct callback *c = malloc(sizeof *c);
    if (!c)
        die("future_add_done_callback: malloc");
    *c = (struct callback){ .fn = fn, .arg = arg };
    fmutex_lock(&f->lock);
    bool done = is_done(f);
    if (!done) {
        *f->cb_tail = c;
        f->cb_tail = &c->next;
    }
    fmutex_unlock(&f->lock);
    if (done)
        run_callbacks(f, c);
}

/* ---- the waiters' side (wait.c): link and unlink a waiter, under f's lock ---------- */

bool future_watch(struct future *f, struct waiter_link *l)
{
    fmutex_lock(&f->lock);
    bool done = is_done(f);
    if (done)
        waiter_add(l->w, f, f->state == FUTURE_FINISHED && f->error.kind != FUTURE_EXC_NONE);
    else {
        l->next = f->waiters;
        f->waiters = l;
    }
    fmutex_unlock(&f->lock);
    return !done;
}

void future_unwatch(struct future *f, struct waiter_link *l)
{
    fmutex_lock(&f->lock);
    for (struct waiter_link **p = &f->waiters; *p; p = &(*p)->next)
        if (*p == l) {
            *p = l->next;
            break;
        }
    fmutex_unlock(&f->lock);
}
