/* event.c: threading.Event (sync.h).
 *
 * As in Lib/threading.py (class Event): a flag guarded by a Lock, and a Condition to
 * wait on. set() raises the flag and wakes every waiter; clear() lowers it; wait()
 * returns at once if the flag is up, else sleeps until set() or the timeout, and
 * reports the flag as it finds it when it wakes. A set() followed at once by a clear()
 * still lets the waiters that were asleep go: set() took them off the condition's list
 * and each returns SYNC_OK, as Python's wait returns True then.
 */
#include "sync.h"

void event_init(struct event *e)
{
    fmutex_init(&e->lock, 0);
    cond_init(&e->cond, &e->lock);
    e->flag = false;
}

void event_set(struct event *e)
{
    fmutex_lock(&e->lock);
    e->flag = true;
    cond_notify_all(&e->cond);
    fmutex_unlock(&e->lock);
}

void event_clear(struct event *e)
{
    fmutex_lock(&e->lock);
    e->flag = false;
    fmutex_unlock(&e->lock);
}

bool event_is_set(struct event *e)
{
    fmutex_lock(&e->lock);
    bool set = e->flag;
    fmutex_unlock(&e->lock);
    return set;
}

int event_wait(struct event *e, int64_t timeout_ns)
{
    fmutex_lock(&e->lock);
    int rc = e->flag ? SYNC_OK : cond_wait(&e->cond, timeout_ns);
    fmutex_unlock(&e->lock);
    return rc;
}
