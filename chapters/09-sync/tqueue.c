/* tqueue.c: queue.Queue on the futex Lock and three Conditions (tqueue.h).
 *
 * Lib/queue.py's layout (class Queue), piece for piece: one mutex guards the items
 * and the count of unfinished tasks, and three Conditions share it:
 *   not_empty        get waits on it while the queue is empty; put notifies one
 *   not_full         put waits on it while the queue is full; get notifies one
 *   all_tasks_done   join waits on it while tasks are unfinished; the task_done that
 *                    brings the count to 0 notifies them all
 * Every wait sits in a while loop that looks at the queue again when it wakes:
 * between the notify and the moment the woken thread has the mutex back, another
 * thread may have taken the item (condition_buffer.c shows what an if costs).
 *
 * Python keeps the items in a collections.deque; here a ring of pointers that starts
 * small and doubles whenever the items fill it, up to the queue's maxsize.
 */
#include "tqueue.h"

#include <stdlib.h>
#include <string.h>

void tqueue_init(struct tqueue *q, long maxsize)
{
    fmutex_init(&q->mutex, 0);
    cond_init(&q->not_empty, &q->mutex);
    cond_init(&q->not_full, &q->mutex);
    cond_init(&q->all_tasks_done, &q->mutex);
    q->maxsize = maxsize;
    q->cap = maxsize > 0 && maxsize < 16 ? (size_t)maxsize : 16; /* grows when needed */
    q->ring = malloc(q->cap * sizeof *q->ring);
    if (!q->ring)
        die("tqueue_init: malloc");
    q->head = q->count = 0;
    q->unfinished = 0;
    q->shut_down = false;
}

void tqueue_destroy(struct tqueue *q)
{
    free(q->ring);
    q->ring = NULL;
}

static bool is_full(struct tqueue *q)
{
    return q->maxsize > 0 && q->count >= (size_t)q->maxsize;
}

/* the ring is full (but the queue is not): twice the room, the items in order from 0 */
static void grow(struct tqueue *q)
{
    void **ring = malloc(2 * q->cap * sizeof *ring);
    if (!ring)
        die("tqueue_put: malloc");
    for (size_t i = 0; i < q->count; i++)
        ring[i] = q->ring[(q->head + i) % q->cap];
    free(q->ring);
    q->ring = ring;
    q->head = 0;
    q->cap *= 2;
}

static void *take(struct tqueue *q) /* mutex held, count > 0 */
{
    void *item = q->ring[q->head];
    q->head = (q->head + 1) % q->cap;
    q->count--;
    return item;
}

int tqueue_put(struct tqueue *q, void *item, int64_t timeout_ns)
{
    int64_t deadline = NO_DEADLINE;
    int rc = SYNC_OK;
    fmutex_lock(&q->mutex);
    if (is_full(q)) /* the clock is read only by a caller that must wait */
        deadline = deadline_in(timeout_ns);
    while (!q->shut_down && is_full(q)) {
        if (ns_left(deadline) == 0) {
            rc = SYNC_FULL;
            break;
        }
        cond_wait_until(&q->not_full, deadline);
    }
    if (q->shut_down)
        rc = SYNC_SHUT_DOWN;
    if (rc == SYNC_OK) {
        if (q->count == q->cap)
            grow(q);
        q->ring[(q->head + q->count) % q->cap] = item;
        q->count++;
        q->unfinished++;
        cond_notify(&q->not_empty, 1);
    }
    fmutex_unlock(&q->mutex);
    return rc;
}

int tqueue_get(struct tqueue *q, void **item, int64_t timeout_ns)
{
    int64_t deadline = NO_DEADLINE;
    int rc = SYNC_OK;
    fmutex_lock(&q->mutex);
    if (q->count == 0)
        deadline = deadline_in(timeout_ns);
    while (q->count == 0) {
        if (q->shut_down) {
            rc = SYNC_SHUT_DOWN;
            break;
        }
        if (ns_left(deadline) == 0) {
            rc = SYNC_EMPTY;
            break;
        }
        cond_wait_until(&q->not_empty, deadline);
    }
    if (rc == SYNC_OK) {
        *item = take(q);
        cond_notify(&q->not_full, 1);
    }
    fmutex_unlock(&q->mutex);
    return rc;
}

int tqueue_task_done(struct tqueue *q)
{
    int rc = SYNC_OK;
    fmutex_lock(&q->mutex);
    if (q->unfinished == 0)
        rc = SYNC_TOO_MANY; /* Python: "task_done() called too many times" */
    else if (--q->unfinished == 0)
        cond_notify_all(&q->all_tasks_done);
    fmutex_unlock(&q->mutex);
    return rc;
}

int tqueue_join(struct tqueue *q, int64_t timeout_ns)
{
    int64_t deadline = NO_DEADLINE;
    int rc = SYNC_OK;
    fmutex_lock(&q->mutex);
    if (q->unfinished > 0)
        deadline = deadline_in(timeout_ns);
    while (q->unfinished > 0) {
        if (ns_left(deadline) == 0) {
            rc = SYNC_TIMEOUT;
            break;
        }
        cond_wait_until(&q->all_tasks_done, deadline);
    }
    fmutex_unlock(&q->mutex);
    return rc;
}

void tqueue_shutdown(struct tqueue *q, bool immediate)
{
    fmutex_lock(&q->mutex);
    q->shut_down = true;
    if (immediate) {
        while (q->count > 0) {
            take(q);
            if (q->unfinished > 0)
                q->unfinished--;
        }
        if (q->unfinished == 0)
            cond_notify_all(&q->all_tasks_done);
    }
    cond_notify_all(&q->not_empty);
    cond_notify_all(&q->not_full);
    fmutex_unlock(&q->mutex);
}

long tqueue_qsize(struct tqueue *q)
{
    fmutex_lock(&q->mutex);
    long n = (long)q->count;
    fmutex_unlock(&q->mutex);
    return n;
}

bool tqueue_empty(struct tqueue *q)
{
    return tqueue_qsize(q) == 0;
}

bool tqueue_full(struct tqueue *q)
{
    fmutex_lock(&q->mutex);
    bool full = is_full(q);
    fmutex_unlock(&q->mutex);
    return full;
}

long tqueue_unfinished(struct tqueue *q)
{
    fmutex_lock(&q->mutex);
    long n = q->unfinished;
    fmutex_unlock(&q->mutex);
    return n;
}
