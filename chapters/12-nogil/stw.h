/* stw.h: stopping the world. Thread states, and a pause of every thread at a safe point.
 *
 * Under the GIL a thread that holds it knows no other thread runs Python: the garbage
 * collector can look at every object and every reference count, because nothing
 * changes under it. Without the GIL the collector must make that true itself: it asks
 * every thread to stop, waits until all have, does its work, and lets them go (PEP 703,
 * "Stop-the-World"; CPython's Python/pystate.c, stop_the_world / start_the_world).
 *
 * Each thread is in one of three states, an atomic word:
 *   ATTACHED   running Python: it may touch objects (what holding the GIL was)
 *   DETACHED   in a blocking call, or in C code that touches no object (what
 *              Py_BEGIN_ALLOW_THREADS releasing the GIL was)
 *   SUSPENDED  parked for a stop (CPython calls it _Py_THREAD_SUSPENDED; PEP 703 "GC")
 *
 * stw_stop: set the eval breaker (one flag every attached thread reads at its safe
 * points: a relaxed load, as gil_check does in chapter 08); move every DETACHED thread
 * to SUSPENDED itself, with a compare-and-swap (it cannot be touching objects); then
 * wait until each ATTACHED thread has seen the flag and parked. The pause is the time
 * from the request to the last one parked: how long the slowest thread takes to reach
 * its next safe point. A thread in a long C call that did not detach has no safe point
 * until the call returns; a thread that is not on a CPU at all (more threads than
 * cores) reaches one only when the scheduler runs it.
 * stw_start: every SUSPENDED thread becomes DETACHED and is woken; those that were
 * running attach again and go on.
 *
 * A stop that has not parked everyone within its timeout is called off (the world
 * restarts) and reported, so a stuck thread cannot hang the program.
 */
#ifndef WORKBOOK_STW_H
#define WORKBOOK_STW_H

#include "common.h"

#include <pthread.h>
#include <stdatomic.h>

enum stw_state { STW_DETACHED, STW_ATTACHED, STW_SUSPENDED };
enum { STW_MAX = 256 };

struct stw_thread;

struct stw_world {
    atomic_int eval_breaker;     /* read by every attached thread at each safe point */
    pthread_mutex_t mutex;
    pthread_cond_t parked;       /* the stopper waits here for the countdown */
    pthread_cond_t restarted;    /* suspended threads wait here for stw_start */
    bool requested;              /* a stop is on (under mutex) */
    int countdown;               /* threads not yet parked (under mutex) */
    unsigned long epoch;         /* stops so far (under mutex) */
    struct stw_thread *threads[STW_MAX]; /* under mutex */
    int n;
};

struct stw_thread {
    struct stw_world *w;
    _Atomic int state;           /* enum stw_state */
    unsigned long parks;         /* times this thread parked itself at a safe point */
    const char *name;
};

void stw_init(struct stw_world *w);
void stw_destroy(struct stw_world *w);

/* A new thread joins DETACHED (after any stop in progress) and attaches; it leaves
 * by stw_unregister, which a stop in progress counts as parked. */
void stw_register(struct stw_world *w, struct stw_thread *t, const char *name);
void stw_unregister(struct stw_thread *t);

void stw_attach(struct stw_thread *t);   /* waits while the world is stopped */
void stw_detach(struct stw_thread *t);

/* The safe point: one relaxed load when nobody asks for anything. */
void stw_park(struct stw_thread *t);
static inline void stw_check(struct stw_thread *t)
{
    if (atomic_load_explicit(&t->w->eval_breaker, memory_order_relaxed))
        stw_park(t);
}

/* Stops every registered thread but the caller (which must not be registered, or be
 * detached). Returns 0 once all are parked, or ETIMEDOUT after timeout_ns (then the
 * world is already running again); *stragglers gets how many had not parked. */
int stw_stop(struct stw_world *w, int64_t timeout_ns, int *stragglers);
void stw_start(struct stw_world *w);

#endif
