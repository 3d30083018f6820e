/* tqueue.h: Python's queue.Queue in C: a thread-safe FIFO of pointers, with
 * task_done() and join(), built on sync.h's Lock and Conditions.
 *
 *   Python (queue)                           C                                  returns
 *   q = queue.Queue(maxsize=3)               tqueue_init(&q, 3)   (0: unbounded)
 *   q.put(item); q.put(item, timeout=t)      tqueue_put(&q, item, -1); (&q, item, t)   OK, FULL, SHUT_DOWN
 *   q.put_nowait(item)                       tqueue_put(&q, item, 0)            OK, FULL, SHUT_DOWN
 *   item = q.get(); q.get(timeout=t)         tqueue_get(&q, &item, -1); (&q, &item, t) OK, EMPTY, SHUT_DOWN
 *   q.get_nowait()                           tqueue_get(&q, &item, 0)           OK, EMPTY, SHUT_DOWN
 *   q.task_done()                            tqueue_task_done(&q)               OK, TOO_MANY
 *   q.join()                                 tqueue_join(&q, -1)                OK, TIMEOUT
 *   q.shutdown(immediate=False) (3.13)       tqueue_shutdown(&q, false)
 *   q.qsize(), q.empty(), q.full()           tqueue_qsize(&q), tqueue_empty(&q), tqueue_full(&q)
 *   q.unfinished_tasks                       tqueue_unfinished(&q)
 *
 * The statuses are sync.h's: FULL and EMPTY are queue.Full and queue.Empty, SHUT_DOWN
 * queue.ShutDown, TOO_MANY the ValueError of "task_done() called too many times".
 * Timeouts in ns as everywhere in sync.h: < 0 no limit, 0 don't block (the _nowait
 * forms), > 0 at most that long. join() takes one too (Python's has none): -1 is
 * Python's.
 *
 * Every put counts one unfinished task; a consumer calls task_done() once it has
 * *finished* with an item it got, and join() returns when the count is back to 0:
 * every item put has been got and processed, not merely taken off the queue.
 *
 * shutdown (Python 3.13): from then on puts fail with SHUT_DOWN, blocked ones too;
 * gets drain what is left and then fail with SHUT_DOWN. immediate = true also throws
 * away what is left (taking each away from the unfinished count, which may release
 * join) and makes blocked gets fail at once.
 *
 * The items are the caller's: the queue stores the pointers and never looks at them.
 * NULL is an item like any other (a "stop" sentinel, say).
 */
#ifndef WORKBOOK_TQUEUE_H
#define WORKBOOK_TQUEUE_H

#include "sync.h"

struct tqueue {
    struct fmutex mutex; /* guards everything below; the three conditions share it */
    struct cond not_empty, not_full, all_tasks_done;
    void **ring;         /* the items, in a circular buffer of cap slots */
    size_t cap, head, count;
    long maxsize;        /* <= 0: no bound (the ring grows as needed) */
    long unfinished;     /* put minus task_done */
    bool shut_down;
};

void tqueue_init(struct tqueue *q, long maxsize);
void tqueue_destroy(struct tqueue *q); /* frees the ring; the items are the caller's */
int tqueue_put(struct tqueue *q, void *item, int64_t timeout_ns);
int tqueue_get(struct tqueue *q, void **item, int64_t timeout_ns);
int tqueue_task_done(struct tqueue *q);
int tqueue_join(struct tqueue *q, int64_t timeout_ns);
void tqueue_shutdown(struct tqueue *q, bool immediate);
/* Hints, as in Python: true when asked, maybe not by the time the caller acts. */
long tqueue_qsize(struct tqueue *q);
bool tqueue_empty(struct tqueue *q);
bool tqueue_full(struct tqueue *q);
long tqueue_unfinished(struct tqueue *q);

#endif
