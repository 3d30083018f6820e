/* queue.h: a bounded queue of byte messages in shared memory, for processes.
 *
 * What multiprocessing.Queue gives Python programs, in C, with the machinery in view:
 * a ring of fixed-size slots in a MAP_SHARED mapping and a process-shared lock. Two
 * files implement it; a program links one of them:
 *   queue_simple.c  the textbook form, to read first: one mutex, two condition
 *                   variables; queue_new, put, get, close, the hints and queue_detach
 *   queue.c         everything below, robust: a robust mutex, and two futex words that
 *                   waiting puts and gets sleep on
 *
 *   Python (multiprocessing.Queue)          C
 *   q = Queue(3)                            q = queue_new(3, 64);  (3 messages of <= 64 B)
 *   q.put(b"x")                             queue_put(q, "x", 1, QUEUE_FOREVER)
 *   q.put(b"x", True, 2)                    queue_put(q, "x", 1, 2 * NS_PER_S)
 *   q.put_nowait(b"x")                      queue_put_nowait(q, "x", 1)
 *   q.get(); q.get(True, 2)                 queue_get(q, buf, sizeof buf, &len, timeout)
 *   q.get_nowait()                          queue_get_nowait(q, buf, sizeof buf, &len)
 *   raise queue.Full / queue.Empty          return QUEUE_FULL / QUEUE_EMPTY
 *   q.qsize(), q.empty(), q.full()          queue_qsize(q), queue_empty(q), queue_full(q)
 *   queue.Queue.shutdown() (Python 3.13)    queue_close(q): end of stream
 *
 * Two ways to share one:
 *  - queue_new() maps anonymous shared memory. Make it before fork(): the children
 *    inherit the mapping (Python: "shared through inheritance"). The kernel frees it
 *    when the last process unmaps it or exits, so nothing can be left behind.
 *  - queue_create(name) makes a named one (shm_open) that unrelated processes attach to
 *    with queue_open(name). The name is removed when the last attached process
 *    detaches, and by any attached process that SIGINT or SIGTERM ends.
 *
 * With queue.c, a process killed at any instant, even holding the queue's lock or
 * asleep in a wait, leaves the queue intact for the others, and never blocks their puts
 * and gets (queue.c says how). With queue_simple.c it can hang them all (queue_killed).
 *
 * Create, open and detach queues from one thread of a process; puts and gets may come
 * from any thread of any process that has the queue.
 */
#ifndef WORKBOOK_QUEUE_H
#define WORKBOOK_QUEUE_H

#include "common.h"

/* the results of put and get */
enum queue_status {
    QUEUE_OK = 0,
    QUEUE_FULL,    /* put: no room before the timeout (Python's queue.Full) */
    QUEUE_EMPTY,   /* get: nothing came before the timeout (Python's queue.Empty) */
    QUEUE_CLOSED,  /* put: the queue was closed; get: closed and drained, nothing will come */
    QUEUE_TOO_BIG, /* put: longer than the queue's maximum message; get: longer than the
                    * buffer (the message stays in the queue, *len says how long it is) */
};

/* timeouts, in ns: any value >= 0 waits that long at most */
#define QUEUE_FOREVER ((int64_t)-1) /* block until done: Python's block=True, timeout=None */
#define QUEUE_NOWAIT  ((int64_t)0)  /* don't block: put_nowait / get_nowait */

struct queue;

/* A queue of `capacity` messages of at most `max_msg` bytes each, in anonymous shared
 * memory: for this process and the children it forks afterwards. Dies on failure. */
struct queue *queue_new(long capacity, size_t max_msg);

/* A named queue ("/wb-something"); fails (dies) if the name exists. */
struct queue *queue_create(const char *name, long capacity, size_t max_msg);
/* Attaches to the named queue, waiting up to timeout_ns (QUEUE_FOREVER: no limit) for
 * its creator to make it. Returns NULL with errno ENOENT if it did not appear in time. */
struct queue *queue_open(const char *name, int64_t timeout_ns);

/* Done with the queue in this process: unmaps it. The last attached process of a named
 * queue also removes the name. A forked child that inherited the queue may call it too
 * (it only unmaps). */
void queue_detach(struct queue *q);

int queue_put(struct queue *q, const void *msg, size_t len, int64_t timeout_ns);
int queue_get(struct queue *q, void *buf, size_t cap, size_t *len, int64_t timeout_ns);
static inline int queue_put_nowait(struct queue *q, const void *msg, size_t len)
{
    return queue_put(q, msg, len, QUEUE_NOWAIT);
}
static inline int queue_get_nowait(struct queue *q, void *buf, size_t cap, size_t *len)
{
    return queue_get(q, buf, cap, len, QUEUE_NOWAIT);
}

/* End of stream: from now on puts return QUEUE_CLOSED; gets return what is left, then
 * QUEUE_CLOSED. Wakes everybody who waits. */
void queue_close(struct queue *q);

/* Hints only: true when asked, maybe false by the time the caller looks (queue.c). */
long queue_qsize(struct queue *q);
bool queue_empty(struct queue *q);
bool queue_full(struct queue *q);

long queue_capacity(const struct queue *q);
size_t queue_max_msg(const struct queue *q);
/* "QUEUE_FULL", ...: here, so that queue.c and queue_simple.c share it */
static inline const char *queue_status_name(int status)
{
    static const char *const names[] = { "QUEUE_OK", "QUEUE_FULL", "QUEUE_EMPTY", "QUEUE_CLOSED",
                                         "QUEUE_TOO_BIG" };
    return status >= 0 && (size_t)status < ARRAY_LEN(names) ? names[status] : "QUEUE_?";
}

/* For a consumer that must know, whatever instant it dies at, whether it had taken a
 * message (the process pool does). claim(seq, msg, len, arg) runs inside the queue's
 * critical section, after the message is copied out and before it is taken off the
 * queue. seq numbers the messages: 0 for the first ever put, 1 for the next, ...
 * Message seq has been taken off for good once queue_taken(q) > seq. */
typedef void queue_claim_fn(uint64_t seq, const void *msg, size_t len, void *arg);
int queue_get_claim(struct queue *q, void *buf, size_t cap, size_t *len, int64_t timeout_ns,
                    queue_claim_fn *claim, void *arg);
uint64_t queue_taken(struct queue *q);

/* What happened so far, for the demos and tests. */
struct queue_stats {
    uint64_t puts, gets;      /* messages put on and taken off */
    uint64_t waits;           /* times a put or get went to sleep (each sleep of at
                               * most a second counts: see queue.c) */
    uint64_t owner_deaths;    /* the lock's owner died: EOWNERDEAD, repaired */
    long head, tail;          /* ring positions: next slot to read, next to write */
};
struct queue_stats queue_stats(struct queue *q);

/* For the tests: when set, called at these points, so that a test can kill a process
 * exactly there. Inside the critical section: "put:copied" (message in its slot, not
 * yet on the queue), "put:woke" (a sleeping consumer, if any, just woken; the message
 * not yet on the queue), "get:copied" (message copied out, not yet taken off). Outside
 * it, in a put or get that slept: "wait:woken" (woken, the lock not yet taken back),
 * "wait:timeout" (its sleep ran out, the lock not yet taken back) and "wait:busy" (back
 * from its sleep, it found the lock taken: it yields its CPU once, then blocks on it). */
extern void (*queue_test_hook)(const char *point);

#endif
