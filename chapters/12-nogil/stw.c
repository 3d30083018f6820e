/* stw.c: thread states and stop-the-world (see stw.h). */
#include "stw.h"

#include <errno.h>
#include <string.h>

void stw_init(struct stw_world *w)
{
    memset(w, 0, sizeof *w);
    atomic_init(&w->eval_breaker, 0);
    pthread_condattr_t ca;
    CHECK_PT(pthread_condattr_init(&ca));
    CHECK_PT(pthread_condattr_setclock(&ca, CLOCK_MONOTONIC));
    CHECK_PT(pthread_mutex_init(&w->mutex, NULL));
    CHECK_PT(pthread_cond_init(&w->parked, &ca));
    CHECK_PT(pthread_cond_init(&w->restarted, &ca));
    CHECK_PT(pthread_condattr_destroy(&ca));
}

void stw_destroy(struct stw_world *w)
{
    if (w->n != 0)
        fatal("stw_destroy: %d threads still registered", w->n);
    CHECK_PT(pthread_cond_destroy(&w->parked));
    CHECK_PT(pthread_cond_destroy(&w->restarted));
    CHECK_PT(pthread_mutex_destroy(&w->mutex));
}

void stw_register(struct stw_world *w, struct stw_thread *t, const char *name)
{
    t->w = w;
    t->name = name;
    t->parks = 0;
    atomic_init(&t->state, STW_DETACHED);
    CHECK_PT(pthread_mutex_lock(&w->mutex));
    /* not in the middle of a stop: its countdown did not count this thread (CPython
     * holds the runtime's HEAD_LOCK for the whole stop, which has the same effect) */
    while (w->requested)
        CHECK_PT(pthread_cond_wait(&w->restarted, &w->mutex));
    if (w->n == STW_MAX)
        fatal("stw_register: more than %d threads", STW_MAX);
    w->threads[w->n++] = t;
    CHECK_PT(pthread_mutex_unlock(&w->mutex));
    stw_attach(t);
}

/* One less thread to wait for (under mutex). */
static void count_parked(struct stw_world *w)
{
    if (--w->countdown == 0)
        CHECK_PT(pthread_cond_signal(&w->parked));
}

void stw_unregister(struct stw_thread *t)
{
    struct stw_world *w = t->w;
    stw_detach(t);
    CHECK_PT(pthread_mutex_lock(&w->mutex));
    /* a stop in progress may be waiting for this thread: it has left, so it is done */
    int was = atomic_exchange(&t->state, STW_SUSPENDED);
    if (w->requested && was != STW_SUSPENDED)
        count_parked(w);
    for (int i = 0; i < w->n; i++)
        if (w->threads[i] == t) {
            w->threads[i] = w->threads[--w->n];
            break;
        }
    CHECK_PT(pthread_mutex_unlock(&w->mutex));
}

void stw_attach(struct stw_thread *t)
{
    for (;;) {
        int expect = STW_DETACHED;
        if (atomic_compare_exchange_strong(&t->state, &expect, STW_ATTACHED))
            return;
        /* SUSPENDED by a stopper: wait for the world to start again */
        CHECK_PT(pthread_mutex_lock(&t->w->mutex));
        while (atomic_load(&t->state) == STW_SUSPENDED)
            CHECK_PT(pthread_cond_wait(&t->w->restarted, &t->w->mutex));
        CHECK_PT(pthread_mutex_unlock(&t->w->mutex));
    }
}

void stw_detach(struct stw_thread *t)
{
    atomic_store(&t->state, STW_DETACHED);
    /* a stopper waiting for this thread to park will find it detached: wake it */
    if (atomic_load_explicit(&t->w->eval_breaker, memory_order_relaxed)) {
        CHECK_PT(pthread_mutex_lock(&t->w->mutex));
        CHECK_PT(pthread_cond_signal(&t->w->parked));
        CHECK_PT(pthread_mutex_unlock(&t->w->mutex));
    }
}

void stw_park(struct stw_thread *t)
{
    struct stw_world *w = t->w;
    CHECK_PT(pthread_mutex_lock(&w->mutex));
    if (w->requested && atomic_load(&t->state) == STW_ATTACHED) {
        atomic_store(&t->state, STW_SUSPENDED);
        t->parks++;
        count_parked(w);
        while (atomic_load(&t->state) == STW_SUSPENDED)
            CHECK_PT(pthread_cond_wait(&w->restarted, &w->mutex));
        atomic_store(&t->state, STW_ATTACHED); /* stw_start made it DETACHED */
    }
    CHECK_PT(pthread_mutex_unlock(&w->mutex));
}

/* CPython's park_detached_threads: the stopper suspends detached threads itself. */
static void park_detached(struct stw_world *w)
{
    for (int i = 0; i < w->n; i++) {
        int expect = STW_DETACHED;
        if (atomic_compare_exchange_strong(&w->threads[i]->state, &expect, STW_SUSPENDED))
            count_parked(w);
    }
}

static void restart(struct stw_world *w)
{
    for (int i = 0; i < w->n; i++) {
        int expect = STW_SUSPENDED;
        atomic_compare_exchange_strong(&w->threads[i]->state, &expect, STW_DETACHED);
    }
    w->requested = false;
    atomic_store(&w->eval_breaker, 0);
    CHECK_PT(pthread_cond_broadcast(&w->restarted));
}

int stw_stop(struct stw_world *w, int64_t timeout_ns, int *stragglers)
{
    int64_t deadline = deadline_in(timeout_ns);
    CHECK_PT(pthread_mutex_lock(&w->mutex));
    w->requested = true;
    w->countdown = w->n;
    w->epoch++;
    atomic_store(&w->eval_breaker, 1);
    for (;;) {
        park_detached(w); /* again each time round: a thread may have detached since */
        if (w->countdown == 0)
            break;
        int64_t left = ns_left(deadline);
        if (left == 0) {
            if (stragglers)
                *stragglers = w->countdown;
            restart(w);
            CHECK_PT(pthread_mutex_unlock(&w->mutex));
            return ETIMEDOUT;
        }
        /* CPython polls every 1 ms as well as waiting for the event */
        struct timespec until = deadline_after(CLOCK_MONOTONIC, left < NS_PER_MS ? left : NS_PER_MS);
        int rc = pthread_cond_timedwait(&w->parked, &w->mutex, &until);
        if (rc != 0 && rc != ETIMEDOUT)
            die_en(rc, "pthread_cond_timedwait");
    }
    if (stragglers)
        *stragglers = 0;
    CHECK_PT(pthread_mutex_unlock(&w->mutex));
    return 0;
}

void stw_start(struct stw_world *w)
{
    CHECK_PT(pthread_mutex_lock(&w->mutex));
    restart(w);
    CHECK_PT(pthread_mutex_unlock(&w->mutex));
}
