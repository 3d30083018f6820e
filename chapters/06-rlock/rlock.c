/* rlock.c: a re-entrant lock built from a mutex and a condition variable (rlock.h).
 *
 * The mutex m is not the lock the user holds: it only guards the record of who
 * holds the RLock (owner, count) and is let go of before acquire returns. Holding
 * the RLock means "count > 0 and owner is me". So:
 *   - acquire by the owner: count + 1, at once (that is the whole point);
 *   - acquire by anyone else: sleep on the condition variable until count is 0, then
 *     become the owner with count 1; with a timeout, give up at the deadline;
 *   - release: only the owner may, and the last release (count back to 0) wakes one
 *     waiter.
 * Waiting on a condition variable can wake up for nothing (a "spurious wakeup", or
 * another waiter got there first), so every wait sits in a loop that checks count.
 *
 * CPython's RLock (Modules/_threadmodule.c) has the same three fields around a plain
 * lock; it reads the owner without a lock, which the GIL makes safe there. With real
 * parallel threads we read and write them under m.
 *
 * pthreads has a re-entrant mutex of its own, PTHREAD_MUTEX_RECURSIVE: the owner and
 * the count live inside the mutex, and it offers the same operations (trylock,
 * timedlock, EPERM for an unlock by a non-owner). This module builds the thing from
 * its parts to show what is inside; lock_compare.c measures what each costs.
 */
#include "rlock.h"

#include <errno.h>
#include <limits.h>

void rlock_init(struct rlock *l)
{
    pthread_condattr_t a;
    CHECK_PT(pthread_mutex_init(&l->m, NULL));
    CHECK_PT(pthread_condattr_init(&a));
    CHECK_PT(pthread_condattr_setclock(&a, CLOCK_MONOTONIC));
    CHECK_PT(pthread_cond_init(&l->freed, &a));
    CHECK_PT(pthread_condattr_destroy(&a));
    l->count = 0;
    l->waiters = 0;
}

void rlock_destroy(struct rlock *l)
{
    if (l->count != 0)
        fatal("rlock_destroy: the lock is still held (count %lu)", l->count);
    CHECK_PT(pthread_cond_destroy(&l->freed));
    CHECK_PT(pthread_mutex_destroy(&l->m));
}

int rlock_acquire(struct rlock *l, int64_t timeout_ns)
{
    pthread_t self = pthread_self();
    int rc = 0;
    CHECK_PT(pthread_mutex_lock(&l->m));
    if (l->count > 0 && pthread_equal(l->owner, self)) {
        if (l->count == ULONG_MAX)
            rc = EAGAIN;
        else
            l->count++; /* re-entry: the owner takes it again */
        CHECK_PT(pthread_mutex_unlock(&l->m));
        return rc;
    }
    /* read the clock only if we have to wait; deadline_in saturates, so a timeout too
     * long to add to the clock (INT64_MAX) means no limit, not a time in the past */
    int64_t deadline = NO_DEADLINE;
    if (l->count > 0 && timeout_ns > 0)
        deadline = deadline_in(timeout_ns);
    struct timespec until = ns_to_ts(deadline);
    l->waiters++;
    while (l->count > 0) {
        if (timeout_ns == 0) {
            rc = EBUSY;
            break;
        }
        int w = deadline == NO_DEADLINE ? pthread_cond_wait(&l->freed, &l->m)
                                        : pthread_cond_timedwait(&l->freed, &l->m, &until);
        if (w == ETIMEDOUT && l->count > 0) {
            rc = ETIMEDOUT;
            break;
        }
        if (w != 0 && w != ETIMEDOUT)
            die_en(w, "pthread_cond_wait");
    }
    l->waiters--;
    if (rc == 0) {
        l->owner = self;
        l->count = 1;
    }
    CHECK_PT(pthread_mutex_unlock(&l->m));
    return rc;
}

int rlock_release(struct rlock *l)
{
    CHECK_PT(pthread_mutex_lock(&l->m));
    if (l->count == 0 || !pthread_equal(l->owner, pthread_self())) {
        CHECK_PT(pthread_mutex_unlock(&l->m));
        return EPERM; /* not ours to release: nothing changes */
    }
    if (--l->count == 0 && l->waiters > 0)
        CHECK_PT(pthread_cond_signal(&l->freed));
    CHECK_PT(pthread_mutex_unlock(&l->m));
    return 0;
}

bool rlock_is_owned(struct rlock *l)
{
    CHECK_PT(pthread_mutex_lock(&l->m));
    bool mine = l->count > 0 && pthread_equal(l->owner, pthread_self());
    CHECK_PT(pthread_mutex_unlock(&l->m));
    return mine;
}

unsigned long rlock_count(struct rlock *l)
{
    CHECK_PT(pthread_mutex_lock(&l->m));
    unsigned long n = l->count;
    CHECK_PT(pthread_mutex_unlock(&l->m));
    return n;
}
