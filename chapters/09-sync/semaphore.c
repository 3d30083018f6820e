/* semaphore.c: threading.Semaphore and BoundedSemaphore (sync.h).
 *
 * Built the way Lib/threading.py builds them (class Semaphore, class
 * BoundedSemaphore): a counter guarded by a Lock, and a Condition on that Lock to
 * sleep on while the counter is 0.
 *   acquire: while value == 0, wait on the condition (until the deadline); then
 *            value - 1.
 *   release(n): value + n, and notify n waiters: each of them finds value > 0, unless
 *            a thread that was not waiting got there first, and then it waits again
 *            (the while loop).
 * A BoundedSemaphore remembers its initial value and refuses a release that would go
 * past it: releasing more than was acquired is a bug, and it is caught where it
 * happens rather than as one more thread inside later (Python: ValueError).
 *
 * glibc's sem_t takes a shorter road: the counter itself is the futex word, taken with
 * a compare-and-swap and no mutex at all (the chapter's exercises build one).
 */
#include "sync.h"

#include <limits.h>

static int init(struct semaphore *s, long value, long bound)
{
    if (value < 0)
        return SYNC_INVALID; /* Python: "semaphore initial value must be >= 0" */
    fmutex_init(&s->lock, 0);
    cond_init(&s->cond, &s->lock);
    s->value = value;
    s->bound = bound;
    return SYNC_OK;
}

int semaphore_init(struct semaphore *s, long value)
{
    return init(s, value, -1);
}

int bounded_semaphore_init(struct semaphore *s, long value)
{
    return init(s, value, value);
}

int semaphore_acquire(struct semaphore *s, int64_t timeout_ns)
{
    int rc = SYNC_OK;
    fmutex_lock(&s->lock);
    if (s->value == 0) { /* the clock is read only by a caller that must wait */
        int64_t deadline = deadline_in(timeout_ns);
        while (s->value == 0) {
            if (ns_left(deadline) == 0 || cond_wait_until(&s->cond, deadline) == SYNC_TIMEOUT) {
                if (s->value == 0) /* a release may have come with the timeout */
                    rc = SYNC_TIMEOUT;
                break;
            }
        }
    }
    if (rc == SYNC_OK)
        s->value--;
    fmutex_unlock(&s->lock);
    return rc;
}

int semaphore_release(struct semaphore *s, long n)
{
    if (n < 1)
        return SYNC_INVALID; /* Python: "n must be one or more" */
    int rc = SYNC_OK;
    fmutex_lock(&s->lock);
    if (s->bound >= 0 && s->value > s->bound - n)
        rc = SYNC_TOO_MANY; /* Python: "Semaphore released too many times" */
    else if (s->value > LONG_MAX - n)
        rc = SYNC_INVALID; /* the counter would overflow */
    else {
        s->value += n;
        cond_notify(&s->cond, n);
    }
    fmutex_unlock(&s->lock);
    return rc;
}

long semaphore_value(struct semaphore *s)
{
    fmutex_lock(&s->lock);
    long v = s->value;
    fmutex_unlock(&s->lock);
    return v;
}
