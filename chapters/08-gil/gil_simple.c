/* gil_simple.c: CPython's GIL (3.2 and later), small enough to read before gil.c.
 *
 * The GIL is a flag, `locked`, under a mutex, with a condition variable. T wants it,
 * H holds it:
 *   1. T locks the mutex; if `locked` is 0, it takes the GIL at once (step 5).
 *   2. Otherwise T waits on `cond` for at most the switch interval (5 ms in CPython).
 *      Every wake-up starts a fresh wait of a whole interval.
 *   3. If the wait timed out, the GIL is still locked, and `switch_number` has not
 *      moved meanwhile (nobody else got the GIL either), T sets the drop request.
 *   4. H reads it at its next check point and drops the GIL (locked = 0, signal
 *      `cond`: one waiter wakes), then queues for it again, from step 1.
 *   5. The taker sets locked = 1; if it is not the last holder, it becomes the last
 *      holder and switch_number goes up; a pending drop request is cleared.
 * A blocking call is a drop before it and a take after it, with no request.
 *
 * What it leaves out, and gil.c has:
 *   - forced switching (FORCE_SWITCHING, which CPython's source always defines): after
 *     a drop on request, H waits until another thread has taken the GIL. Without it H,
 *     already running, often takes the GIL straight back while T is still waking up,
 *     and T waits another whole interval, and another: gil_retake measures it;
 *   - the old GIL of Python 2, a GIL-free mode, the log of every acquisition and the
 *     counters the experiments read, and the eval breaker as a flag of its own.
 * Deliberately as in gil.c: the steps, with the same numbers, nearly line for line (its
 * step 4 adds the forcing).
 */
#include "gil_simple.h"

#include <errno.h>
#include <string.h>

void gil_simple_init(struct gil_simple *g, int64_t interval_ns)
{
    memset(g, 0, sizeof *g);
    pthread_condattr_t ca;
    CHECK_PT(pthread_condattr_init(&ca));
    CHECK_PT(pthread_condattr_setclock(&ca, CLOCK_MONOTONIC)); /* timed waits on now_ns()'s clock */
    CHECK_PT(pthread_cond_init(&g->cond, &ca));
    CHECK_PT(pthread_condattr_destroy(&ca));
    CHECK_PT(pthread_mutex_init(&g->mutex, NULL));
    g->last_holder = -1;
    g->interval_ns = interval_ns;
    atomic_init(&g->drop_request, 0);
}

void gil_simple_destroy(struct gil_simple *g)
{
    CHECK_PT(pthread_cond_destroy(&g->cond));
    CHECK_PT(pthread_mutex_destroy(&g->mutex));
}

void gil_simple_take(struct gil_simple *g, int id)
{
    CHECK_PT(pthread_mutex_lock(&g->mutex)); /* step 1 */
    while (g->locked) {
        unsigned long saved_switch = g->switch_number;
        struct timespec until = deadline_after(CLOCK_MONOTONIC, g->interval_ns); /* step 2 */
        int rc = pthread_cond_timedwait(&g->cond, &g->mutex, &until);
        if (rc != 0 && rc != ETIMEDOUT)
            die_en(rc, "pthread_cond_timedwait");
        if (rc == ETIMEDOUT && g->locked && g->switch_number == saved_switch) { /* step 3 */
            atomic_store_explicit(&g->drop_request, 1, memory_order_relaxed);
            g->drop_requests++;
        }
    }
    g->locked = 1; /* step 5 */
    if (g->last_holder != id) {
        g->last_holder = id;
        g->switch_number++;
    }
    if (atomic_load_explicit(&g->drop_request, memory_order_relaxed))
        atomic_store_explicit(&g->drop_request, 0, memory_order_relaxed);
    CHECK_PT(pthread_mutex_unlock(&g->mutex));
}

void gil_simple_drop(struct gil_simple *g)
{
    CHECK_PT(pthread_mutex_lock(&g->mutex)); /* step 4 */
    g->locked = 0;
    CHECK_PT(pthread_cond_signal(&g->cond)); /* one waiter wakes, and must get the mutex */
    CHECK_PT(pthread_mutex_unlock(&g->mutex));
}
