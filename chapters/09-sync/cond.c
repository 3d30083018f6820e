/* cond.c: Python's threading.Condition on the futex mutex (sync.h).
 *
 * CPython's Condition (Lib/threading.py, class Condition) keeps a deque of waiter
 * locks: wait() makes a new lock, acquires it, appends it, releases the condition's
 * lock and blocks acquiring its own lock a second time; notify(n) releases the first n
 * waiter locks. This is the same design with the lock replaced by what it costs
 * underneath: a waiter is a record on the waiting thread's own stack, holding one
 * futex word (0: still waiting, 1: notified), linked into a FIFO under the
 * condition's lock.
 *
 *   wait:    append my record; unlock; sleep on my word until it is 1 or time is up;
 *            lock again. Under the lock, look at the word once more: 1 means notify
 *            took my record off the list (even if my time ran out meanwhile: the
 *            notification is mine, and I report it); 0 means I timed out, and I take
 *            my record off the list myself.
 *   notify:  under the lock, take the first n records off the list; for each, store
 *            1 in its word (release) and futex_wake it.
 *
 * Why a word per waiter rather than one shared word (the usual futex condvar, a
 * sequence number every waiter sleeps on)? Because it gives Python's guarantees
 * exactly: notify(n) wakes exactly the n oldest waiters, never more (a waiter cannot
 * "see" a notify meant for another), and a thread that starts waiting after a notify
 * cannot take that notify. The price: notify_all makes one system call per waiter
 * (a shared word would need one), and every woken waiter then queues for the lock.
 *
 * Why the word stays valid while notify uses it: notify holds the condition's lock
 * while it stores and wakes, and the waiter cannot return from wait before it has
 * that lock again, so its stack record outlives every use.
 *
 * Python differs in one corner: there a waiter whose time runs out just as notify
 * releases its lock returns False, and the notification is spent on nobody. Here it
 * returns SYNC_OK.
 */
#include "sync.h"
#include "futex.h"

struct cond_waiter {
    _Atomic uint32_t notified; /* the futex word this waiter sleeps on */
    struct cond_waiter *next;
};

void cond_init(struct cond *c, struct fmutex *lock)
{
    c->lock = lock;
    c->head = c->tail = NULL;
    c->waiting = 0;
}

static void unlink_waiter(struct cond *c, struct cond_waiter *w)
{
    struct cond_waiter **p = &c->head, *prev = NULL;
    while (*p != w) {
        prev = *p;
        p = &(*p)->next;
    }
    *p = w->next;
    if (c->tail == w)
        c->tail = prev;
    c->waiting--;
}

int cond_wait_until(struct cond *c, int64_t deadline)
{
    if (!fmutex_locked(c->lock))
        return SYNC_NOT_OWNED; /* Python: "cannot wait on un-acquired lock" */
    struct cond_waiter w = { .next = NULL };
    atomic_init(&w.notified, 0);
    if (c->tail)
        c->tail->next = &w;
    else
        c->head = &w;
    c->tail = &w;
    c->waiting++;

    fmutex_unlock(c->lock);
    while (atomic_load_explicit(&w.notified, memory_order_acquire) == 0)
        if (futex_wait(&w.notified, 0, deadline) == ETIMEDOUT)
            break;
    fmutex_lock(c->lock);

    if (atomic_load_explicit(&w.notified, memory_order_acquire) == 1)
        return SYNC_OK; /* notify took us off the list */
    unlink_waiter(c, &w);
    return SYNC_TIMEOUT;
}

int cond_wait(struct cond *c, int64_t timeout_ns)
{
    return cond_wait_until(c, deadline_in(timeout_ns));
}

int cond_wait_for(struct cond *c, bool (*pred)(void *arg), void *arg, int64_t timeout_ns)
{
    if (!fmutex_locked(c->lock))
        return SYNC_NOT_OWNED;
    int64_t deadline = deadline_in(timeout_ns);
    while (!pred(arg)) {
        /* woken (or not yet waited) and the predicate is false: back to sleep */
        if (ns_left(deadline) == 0 || cond_wait_until(c, deadline) == SYNC_TIMEOUT)
            return pred(arg) ? SYNC_OK : SYNC_TIMEOUT;
    }
    return SYNC_OK;
}

int cond_notify(struct cond *c, long n)
{
    if (!fmutex_locked(c->lock))
        return SYNC_NOT_OWNED; /* Python: "cannot notify on un-acquired lock" */
    for (; n > 0 && c->head; n--) {
        struct cond_waiter *w = c->head;
        c->head = w->next;
        if (!c->head)
            c->tail = NULL;
        c->waiting--;
        atomic_store_explicit(&w->notified, 1, memory_order_release);
        futex_wake(&w->notified, 1);
    }
    return SYNC_OK;
}

int cond_notify_all(struct cond *c)
{
    if (!fmutex_locked(c->lock))
        return SYNC_NOT_OWNED;
    return cond_notify(c, c->waiting);
}
