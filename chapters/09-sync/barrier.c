/* barrier.c: threading.Barrier (sync.h).
 *
 * The design of Lib/threading.py (class Barrier): a count of the threads inside
 * wait(), and a state, all guarded by one Lock with one Condition to wait on.
 *
 *   FILLING    threads arrive and wait. The last to arrive runs the action, then
 *              moves the barrier to DRAINING and wakes everybody.
 *   DRAINING   the released threads leave, one by one. A thread arriving for the next
 *              round waits at the door until the last one has left, which moves the
 *              barrier back to FILLING: so the barrier can be used again and again,
 *              and a fast thread can never slip into the round it just left.
 *   BROKEN     a waiter's time ran out, the action failed, or abort() was called.
 *              Every thread inside wait() and every later caller gets SYNC_BROKEN
 *              (Python: BrokenBarrierError), until reset().
 *   RESETTING  reset() while threads were inside: they leave with SYNC_BROKEN, and
 *              the last one out makes the barrier FILLING again.
 *
 * A timeout breaks the barrier for everybody, not only for the thread that gave up:
 * the others could never be released now that one party is missing, so they had
 * better learn it at once than each wait out its own timeout.
 */
#include "sync.h"

int barrier_init(struct barrier *b, int parties, int (*action)(void *), void *arg, int64_t timeout_ns)
{
    if (parties < 1)
        return SYNC_INVALID;
    fmutex_init(&b->lock, 0);
    cond_init(&b->cond, &b->lock);
    b->parties = parties;
    b->action = action;
    b->arg = arg;
    b->timeout = timeout_ns;
    b->count = 0;
    b->state = BARRIER_FILLING;
    return SYNC_OK;
}

static void break_barrier(struct barrier *b) /* lock held */
{
    b->state = BARRIER_BROKEN;
    cond_notify_all(&b->cond);
}

int barrier_wait_timeout(struct barrier *b, int64_t timeout_ns, int *index)
{
    int64_t deadline = deadline_in(timeout_ns);
    int rc = SYNC_OK;
    fmutex_lock(&b->lock);
    /* the door: wait while the previous round drains or resets */
    while (b->state == BARRIER_DRAINING || b->state == BARRIER_RESETTING)
        cond_wait_until(&b->cond, NO_DEADLINE);
    if (b->state == BARRIER_BROKEN) {
        fmutex_unlock(&b->lock);
        return SYNC_BROKEN;
    }
    int me = b->count++;
    if (index)
        *index = me;
    if (me + 1 == b->parties) { /* the last to arrive: run the action, release all */
        if (b->action && b->action(b->arg) != 0) {
            break_barrier(b);
            rc = SYNC_BROKEN;
        } else {
            b->state = BARRIER_DRAINING;
            cond_notify_all(&b->cond);
        }
    } else {
        while (b->state == BARRIER_FILLING)
            if (cond_wait_until(&b->cond, deadline) == SYNC_TIMEOUT && b->state == BARRIER_FILLING)
                break_barrier(b); /* we gave up: nobody else can be released now */
        if (b->state != BARRIER_DRAINING)
            rc = SYNC_BROKEN;
    }
    /* leaving: the last one out of a draining or resetting round opens the door */
    if (--b->count == 0 && (b->state == BARRIER_DRAINING || b->state == BARRIER_RESETTING)) {
        b->state = BARRIER_FILLING;
        cond_notify_all(&b->cond);
    }
    fmutex_unlock(&b->lock);
    return rc;
}

int barrier_wait(struct barrier *b, int *index)
{
    return barrier_wait_timeout(b, b->timeout, index);
}

void barrier_reset(struct barrier *b)
{
    fmutex_lock(&b->lock);
    if (b->count > 0) {
        if (b->state == BARRIER_FILLING || b->state == BARRIER_BROKEN)
            b->state = BARRIER_RESETTING; /* those inside leave broken; the last resets */
    } else {
        b->state = BARRIER_FILLING;
    }
    cond_notify_all(&b->cond);
    fmutex_unlock(&b->lock);
}

void barrier_abort(struct barrier *b)
{
    fmutex_lock(&b->lock);
    break_barrier(b);
    fmutex_unlock(&b->lock);
}

bool barrier_broken(struct barrier *b)
{
    fmutex_lock(&b->lock);
    bool broken = b->state == BARRIER_BROKEN;
    fmutex_unlock(&b->lock);
    return broken;
}

int barrier_n_waiting(struct barrier *b)
{
    fmutex_lock(&b->lock);
    int n = b->state == BARRIER_FILLING ? b->count : 0;
    fmutex_unlock(&b->lock);
    return n;
}
