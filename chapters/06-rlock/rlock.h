/* rlock.h: Python's threading.RLock in C: an owner, a count, a mutex and a condition
 * variable.
 *
 *   Python                               C
 *   l = threading.RLock()                struct rlock l; rlock_init(&l);
 *   l.acquire()                          rlock_acquire(&l, -1)               0
 *   l.acquire(blocking=False)            rlock_acquire(&l, 0)                0 or EBUSY
 *   l.acquire(timeout=0.5)               rlock_acquire(&l, 500 * NS_PER_MS)  0 or ETIMEDOUT
 *   l.release()                          rlock_release(&l)                   0 or EPERM
 *     (RuntimeError: cannot release un-acquired lock)
 *   l._is_owned()                        rlock_is_owned(&l)
 *   the count in repr(l)                 rlock_count(&l)
 *
 * The thread that holds it may acquire it again; each acquire needs its release, and
 * other threads get it only when the count is back to 0. A release by a thread that
 * does not hold it, or one release too many, is refused with EPERM and changes
 * nothing. An acquire that would overflow the count returns EAGAIN (Python: an
 * OverflowError).
 */
#ifndef WORKBOOK_RLOCK_H
#define WORKBOOK_RLOCK_H

#include "common.h"

#include <pthread.h>

struct rlock {
    pthread_mutex_t m;      /* guards the fields below, held only for a moment */
    pthread_cond_t freed;   /* signalled when the count drops to 0 (CLOCK_MONOTONIC) */
    pthread_t owner;        /* meaningful only while count > 0 */
    unsigned long count;    /* how many times the owner holds it; 0: free */
    unsigned waiters;       /* threads in acquire, waiting for count == 0 */
};

void rlock_init(struct rlock *l);
void rlock_destroy(struct rlock *l);
/* timeout_ns < 0: wait as long as it takes; 0: don't wait; > 0: wait at most that long */
int rlock_acquire(struct rlock *l, int64_t timeout_ns);
int rlock_release(struct rlock *l);
bool rlock_is_owned(struct rlock *l);   /* by the calling thread */
unsigned long rlock_count(struct rlock *l);

#endif
