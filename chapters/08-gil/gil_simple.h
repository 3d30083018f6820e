/* gil_simple.h: CPython's GIL (3.2 and later) at its smallest: take, drop, the switch
 * interval and the drop request. gil_simple.c is the code, and says what it leaves out.
 *
 *   CPython (Python/ceval_gil.c)          here
 *   take_gil(tstate)                      gil_simple_take(g, id)
 *   drop_gil(...)                         gil_simple_drop(g)
 *   the eval breaker on a back-edge       gil_simple_check(g, id)
 *   sys.setswitchinterval(0.005)          gil_simple_init(g, 5 * NS_PER_MS)
 *
 * A thread is named by a small id of the caller's choosing (0, 1, ...).
 */
#ifndef WORKBOOK_GIL_SIMPLE_H
#define WORKBOOK_GIL_SIMPLE_H

#include "common.h"

#include <pthread.h>
#include <stdatomic.h>

struct gil_simple {
    pthread_mutex_t mutex;       /* guards the fields up to drop_request */
    pthread_cond_t cond;         /* signalled when the GIL is dropped */
    int locked;                  /* the GIL itself: 1 while a thread holds it */
    int last_holder;             /* the id of the thread that took it last (-1: none) */
    unsigned long switch_number; /* takes by a thread other than the last holder */
    unsigned long drop_requests; /* times a waiter asked the holder to let go */
    int64_t interval_ns;         /* how long a waiter waits before it asks */
    atomic_int drop_request;     /* the holder reads it at every check point, with no lock */
};

void gil_simple_init(struct gil_simple *g, int64_t interval_ns);
void gil_simple_destroy(struct gil_simple *g);
void gil_simple_take(struct gil_simple *g, int id);
void gil_simple_drop(struct gil_simple *g);

/* The check point after every tick of "bytecode": one relaxed load when nobody asks. */
static inline void gil_simple_check(struct gil_simple *g, int id)
{
    if (atomic_load_explicit(&g->drop_request, memory_order_relaxed)) {
        gil_simple_drop(g);
        gil_simple_take(g, id); /* other threads may run in between, or not: see gil_retake */
    }
}

#endif
