/* queue_simple.c: the textbook queue between processes, to read in one sitting.
 *
 * A ring of fixed-size slots in a MAP_SHARED mapping made before fork(), one
 * process-shared mutex around it, and two process-shared condition variables: a get
 * sleeps on `not_empty` until a put signals it, a put on `not_full` until a get does.
 * `tail` counts the messages ever put, `head` those ever taken: the queue holds
 * tail - head, the next put writes slot tail % capacity (counting, not wrapping, tells
 * full from empty).
 *
 * The API is queue.c's, a subset of queue.h, so a program links either one
 * (queue_killed_simple is queue_killed linked with this file; tests/test_queue_simple.c
 * runs the cases of test_queue.c that apply). What it lacks, and queue.c adds:
 *   - a robust lock: a process killed holding the mutex leaves it locked for good, and
 *     every other process's next put or get sleeps in pthread_mutex_lock for ever (a
 *     timeout bounds the wait for room or data, which it never reaches): queue_killed;
 *   - waits that survive a death: glibc keeps a condition variable's bookkeeping in the
 *     shared memory, where a process killed inside a wait or a signal can leave it
 *     broken for everybody (queue.c's header); queue.c sleeps on futexes instead;
 *   - named queues (shm_open), queue_get_claim for the pool, statistics, more hooks.
 * Deliberate duplicates of queue.c: the ring (counters, slot arithmetic, the range
 * checks), the same in both so that only the locking and the waiting differ.
 */
#include "queue.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>

/* queue_killed stops a process here to kill it holding the lock (queue.h) */
void (*queue_test_hook)(const char *point);

struct queue {                /* all of it in the shared mapping */
    pthread_mutex_t lock;     /* guards everything below */
    pthread_cond_t not_empty; /* gets wait here for a message */
    pthread_cond_t not_full;  /* puts wait here for a free slot */
    long capacity;
    size_t max_msg, stride, map_len;
    uint64_t head, tail;      /* messages taken off / put on, ever */
    int closed;
    _Alignas(64) unsigned char slots[]; /* each: [size_t length][max_msg bytes] */
};

static unsigned char *slot_at(struct queue *q, uint64_t pos)
{
    return q->slots + (pos % (uint64_t)q->capacity) * q->stride;
}

struct queue *queue_new(long capacity, size_t max_msg)
{
    if (capacity < 1 || capacity > (1L << 24) || max_msg < 1 || max_msg > ((size_t)1 << 26))
        fatal("queue: capacity %ld or max_msg %zu out of range (1..%ld, 1..%zu)", capacity, max_msg, 1L << 24,
              (size_t)1 << 26);
    size_t stride = (sizeof(size_t) + max_msg + 63) / 64 * 64;
    size_t len = sizeof(struct queue) + (size_t)capacity * stride;
    struct queue *q = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (q == MAP_FAILED)
        die("mmap(%zu bytes, MAP_SHARED | MAP_ANONYMOUS)", len);
    pthread_mutexattr_t ma; /* PROCESS_SHARED: the lock works for every process mapping it */
    CHECK_PT(pthread_mutexattr_init(&ma));
    CHECK_PT(pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED));
    CHECK_PT(pthread_mutex_init(&q->lock, &ma));
    CHECK_PT(pthread_mutexattr_destroy(&ma));
    pthread_condattr_t ca; /* and timed waits on CLOCK_MONOTONIC, now_ns()'s clock */
    CHECK_PT(pthread_condattr_init(&ca));
    CHECK_PT(pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED));
    CHECK_PT(pthread_condattr_setclock(&ca, CLOCK_MONOTONIC));
    CHECK_PT(pthread_cond_init(&q->not_empty, &ca));
    CHECK_PT(pthread_cond_init(&q->not_full, &ca));
    CHECK_PT(pthread_condattr_destroy(&ca));
    q->capacity = capacity;
    q->max_msg = max_msg;
    q->stride = stride;
    q->map_len = len; /* the mapping came zero-filled: head = tail = closed = 0 */
    return q;
}

void queue_detach(struct queue *q)
{
    CHECK_SYS(munmap(q, q->map_len));
}

static bool has_data(const struct queue *q)
{
    return q->closed || q->tail != q->head;
}

static bool has_room(const struct queue *q)
{
    return q->closed || q->tail - q->head < (uint64_t)q->capacity;
}

/* With the lock held: waits on cv until ready(q), or until timeout_ns runs out (0:
 * don't wait; < 0: no limit). The wait lets go of the lock while it sleeps. */
static bool await(struct queue *q, pthread_cond_t *cv, bool (*ready)(const struct queue *), int64_t timeout_ns)
{
    if (ready(q) || timeout_ns == 0)
        return ready(q);
    int64_t deadline = deadline_in(timeout_ns); /* NO_DEADLINE for "forever" */
    struct timespec until = ns_to_ts(deadline);
    while (!ready(q)) {
        int rc = deadline == NO_DEADLINE ? pthread_cond_wait(cv, &q->lock)
                                         : pthread_cond_timedwait(cv, &q->lock, &until);
        if (rc == ETIMEDOUT)
            return ready(q);
        if (rc != 0)
            die_en(rc, "pthread_cond_timedwait(queue)");
    }
    return true;
}

int queue_put(struct queue *q, const void *msg, size_t len, int64_t timeout_ns)
{
    if (len > q->max_msg)
        return QUEUE_TOO_BIG;
    CHECK_PT(pthread_mutex_lock(&q->lock));
    int rc = !await(q, &q->not_full, has_room, timeout_ns) ? QUEUE_FULL : q->closed ? QUEUE_CLOSED : QUEUE_OK;
    if (rc == QUEUE_OK) {
        unsigned char *slot = slot_at(q, q->tail);
        memcpy(slot, &len, sizeof len);
        if (len)
            memcpy(slot + sizeof len, msg, len);
        if (queue_test_hook)
            queue_test_hook("put:copied"); /* in its slot, not yet in the queue */
        q->tail++;
        CHECK_PT(pthread_cond_signal(&q->not_empty)); /* wake one get, if any waits */
    }
    CHECK_PT(pthread_mutex_unlock(&q->lock));
    return rc;
}

int queue_get(struct queue *q, void *buf, size_t cap, size_t *len, int64_t timeout_ns)
{
    CHECK_PT(pthread_mutex_lock(&q->lock));
    int rc = !await(q, &q->not_empty, has_data, timeout_ns) ? QUEUE_EMPTY
             : q->tail == q->head                             ? QUEUE_CLOSED /* closed, and drained */
                                                              : QUEUE_OK;
    if (rc == QUEUE_OK) {
        const unsigned char *slot = slot_at(q, q->head);
        size_t n;
        memcpy(&n, slot, sizeof n);
        if (len)
            *len = n;
        if (n > cap) { /* the message stays; if we were woken for it, pass that on */
            rc = QUEUE_TOO_BIG;
            CHECK_PT(pthread_cond_signal(&q->not_empty));
        } else {
            if (n)
                memcpy(buf, slot + sizeof n, n);
            q->head++;
            CHECK_PT(pthread_cond_signal(&q->not_full)); /* wake one put, if any waits */
        }
    }
    CHECK_PT(pthread_mutex_unlock(&q->lock));
    return rc;
}

void queue_close(struct queue *q)
{
    CHECK_PT(pthread_mutex_lock(&q->lock));
    q->closed = 1;
    CHECK_PT(pthread_cond_broadcast(&q->not_empty)); /* everybody who waits looks again */
    CHECK_PT(pthread_cond_broadcast(&q->not_full));
    CHECK_PT(pthread_mutex_unlock(&q->lock));
}

/* Hints only: true when the lock was held, maybe false by the time the caller looks. */
long queue_qsize(struct queue *q)
{
    CHECK_PT(pthread_mutex_lock(&q->lock));
    long n = (long)(q->tail - q->head);
    CHECK_PT(pthread_mutex_unlock(&q->lock));
    return n;
}

bool queue_empty(struct queue *q)
{
    return queue_qsize(q) == 0;
}

bool queue_full(struct queue *q)
{
    return queue_qsize(q) >= q->capacity;
}
