/* sync.h: Python's threading toolbox in C, every piece built on one futex mutex.
 *
 *   Python (threading)                       C                                  returns
 *   l = Lock()                               struct fmutex l = FMUTEX_INITIALIZER;
 *   l.acquire()                              fmutex_lock(&l)
 *   l.acquire(timeout=0.5) / (False)         fmutex_acquire(&l, 500 * NS_PER_MS) / (&l, 0)   OK, TIMEOUT
 *   l.release()                              fmutex_unlock(&l)                  OK, NOT_OWNED
 *   c = Condition(l)                         cond_init(&c, &l)
 *   c.wait(timeout)                          cond_wait(&c, timeout)             OK, TIMEOUT, NOT_OWNED
 *   c.wait_for(pred, timeout)                cond_wait_for(&c, pred, arg, timeout)   OK, TIMEOUT, NOT_OWNED
 *   c.notify(n), c.notify_all()              cond_notify(&c, n), cond_notify_all(&c)   OK, NOT_OWNED
 *   s = Semaphore(3)                         semaphore_init(&s, 3)              OK, INVALID (value < 0)
 *   s = BoundedSemaphore(3)                  bounded_semaphore_init(&s, 3)      OK, INVALID
 *   s.acquire(timeout=t)                     semaphore_acquire(&s, t)           OK, TIMEOUT
 *   s.release(n)                             semaphore_release(&s, n)           OK, TOO_MANY, INVALID
 *   e = Event(); e.set(); e.clear()          event_init(&e); event_set(&e); event_clear(&e)
 *   e.is_set(); e.wait(timeout)              event_is_set(&e); event_wait(&e, t)   OK (set), TIMEOUT
 *   b = Barrier(3, action, timeout)          barrier_init(&b, 3, action, arg, timeout)   OK, INVALID
 *   i = b.wait(); b.wait(timeout)            barrier_wait(&b, &i); barrier_wait_timeout(&b, t, &i)   OK, BROKEN
 *   b.reset(), b.abort()                     barrier_reset(&b), barrier_abort(&b)
 *   b.broken, b.n_waiting, b.parties         barrier_broken(&b), barrier_n_waiting(&b), b.parties
 *
 * Python raises where C returns a status (enum sync_status): TIMEOUT is Python's False
 * from acquire and wait, BROKEN its BrokenBarrierError, TOO_MANY the ValueError of a
 * release past a BoundedSemaphore's bound, NOT_OWNED the RuntimeError of a wait,
 * notify or release on a lock that is not held, INVALID the ValueError of a bad
 * argument. queue.Queue is in tqueue.h.
 *
 * Timeouts are relative, in ns: < 0 waits as long as it takes (Python's None), 0 does
 * not wait at all (blocking=False), > 0 waits at most that long. They turn into
 * CLOCK_MONOTONIC deadlines (common.h: deadline_in), so a wait that wakes early and
 * sleeps again never waits longer in total, and INT64_MAX means "forever" too.
 *
 * The layers (each .c file reads in one sitting):
 *   futex.h          the two system calls: wait if the word still holds v; wake n
 *   futex_mutex.c    Lock: the naive two-state mutex, then the three-state one, with
 *                    optional spinning
 *   cond.c           Condition: a FIFO of waiters, each asleep on a futex word of its
 *                    own, as CPython keeps a deque of waiter locks (Lib/threading.py)
 *   semaphore.c, event.c, barrier.c
 *                    built on a Lock and a Condition, the way Lib/threading.py builds
 *                    them
 *
 * All of it is for threads of one process (private futexes). A structure may be
 * destroyed once no thread uses it any more; only the queue owns memory.
 */
#ifndef WORKBOOK_SYNC_H
#define WORKBOOK_SYNC_H

#include "common.h"

#include <stdatomic.h>
#include <stdint.h>

enum sync_status {
    SYNC_OK = 0,
    SYNC_TIMEOUT,   /* the time ran out (Python: acquire/wait returned False) */
    SYNC_EMPTY,     /* tqueue_get: nothing came in time (queue.Empty) */
    SYNC_FULL,      /* tqueue_put: no room in time (queue.Full) */
    SYNC_BROKEN,    /* the barrier is broken (threading.BrokenBarrierError) */
    SYNC_TOO_MANY,  /* released or task_done'd more than acquired or put (ValueError) */
    SYNC_NOT_OWNED, /* the lock is not held (RuntimeError) */
    SYNC_SHUT_DOWN, /* the queue was shut down (queue.ShutDown, Python 3.13) */
    SYNC_INVALID,   /* a bad argument: a negative value, no parties (ValueError) */
};
/* "SYNC_TIMEOUT", ... ; and what Python would do instead: "returns False", ... */
const char *sync_status_name(int status);
const char *sync_status_python(int status);

/* ---- Lock: the futex mutexes (futex_mutex.c) -------------------------------------- */

/* The naive one: 0 unlocked, 1 locked. Correct, but every unlock is a system call. */
struct fmutex_naive {
    _Atomic uint32_t word;
};
#define FMUTEX_NAIVE_INITIALIZER { 0 }
void fmutex_naive_lock(struct fmutex_naive *m);
void fmutex_naive_unlock(struct fmutex_naive *m);

/* The three-state one: 0 unlocked, 1 locked, 2 locked and maybe waited for. Zeroed is
 * unlocked and not spinning. spin: how many times a locker that finds the lock taken
 * looks again before it sleeps (0: sleep at once). Any thread may release it (Python's
 * Lock is not owned by a thread either; the RLock of chapter 06 is). */
struct fmutex {
    _Atomic uint32_t word;
    unsigned spin;
};
#define FMUTEX_INITIALIZER { 0, 0 }
enum { FMUTEX_SPIN = 100 }; /* a sensible spin for fmutex_init; mutex_cost.c tries it */
void fmutex_init(struct fmutex *m, unsigned spin);
void fmutex_lock(struct fmutex *m);
int fmutex_acquire(struct fmutex *m, int64_t timeout_ns); /* OK, TIMEOUT */
int fmutex_unlock(struct fmutex *m);                      /* OK, NOT_OWNED if not locked */
bool fmutex_locked(struct fmutex *m);                     /* Python's Lock.locked() */

/* ---- Condition (cond.c) -----------------------------------------------------------
 * Waits, notifies and predicates need the condition's lock held by the caller; a call
 * on an unlocked lock returns SYNC_NOT_OWNED (as Python checks, the lock cannot tell
 * which thread holds it). notify(n) wakes the n longest-waiting threads, exactly n if
 * that many wait; a waiter woken by notify returns SYNC_OK even if its time ran out
 * meanwhile, so no notification is lost. */
struct cond_waiter; /* one per waiting thread, on its own stack (cond.c) */
struct cond {
    struct fmutex *lock;
    struct cond_waiter *head, *tail; /* waiters, oldest first; guarded by lock */
    long waiting;                    /* how many; guarded by lock */
};
void cond_init(struct cond *c, struct fmutex *lock);
int cond_wait(struct cond *c, int64_t timeout_ns);
/* the same with an absolute deadline (a now_ns() time, or NO_DEADLINE) */
int cond_wait_until(struct cond *c, int64_t deadline);
/* Waits until pred(arg) is true (called with the lock held), sleeping again after
 * every wake-up that left it false. OK: it is true; TIMEOUT: still false at the end. */
int cond_wait_for(struct cond *c, bool (*pred)(void *arg), void *arg, int64_t timeout_ns);
int cond_notify(struct cond *c, long n);
int cond_notify_all(struct cond *c);

/* ---- Semaphore and BoundedSemaphore (semaphore.c) ---------------------------------- */
struct semaphore {
    struct fmutex lock;
    struct cond cond;
    long value; /* guarded by lock */
    long bound; /* BoundedSemaphore: the initial value; Semaphore: -1 (none) */
};
int semaphore_init(struct semaphore *s, long value);
int bounded_semaphore_init(struct semaphore *s, long value);
int semaphore_acquire(struct semaphore *s, int64_t timeout_ns);
int semaphore_release(struct semaphore *s, long n); /* n >= 1 */
long semaphore_value(struct semaphore *s);

/* ---- Event (event.c) ---------------------------------------------------------------- */
struct event {
    struct fmutex lock;
    struct cond cond;
    bool flag; /* guarded by lock */
};
void event_init(struct event *e);
void event_set(struct event *e);
void event_clear(struct event *e);
bool event_is_set(struct event *e);
int event_wait(struct event *e, int64_t timeout_ns);

/* ---- Barrier (barrier.c) -------------------------------------------------------------
 * action, when given, is run by the last thread to arrive, before any is let go; a
 * non-zero return is Python's exception in the action: the barrier breaks. */
enum barrier_state { BARRIER_FILLING, BARRIER_DRAINING, BARRIER_RESETTING, BARRIER_BROKEN };
struct barrier {
    struct fmutex lock;
    struct cond cond;
    int parties;
    int (*action)(void *arg);
    void *arg;
    int64_t timeout;          /* the default for barrier_wait; < 0: none */
    int count;                /* threads inside wait(); guarded by lock */
    enum barrier_state state; /* guarded by lock */
};
int barrier_init(struct barrier *b, int parties, int (*action)(void *), void *arg, int64_t timeout_ns);
/* index (may be NULL): 0 .. parties-1, the order of arrival; parties-1 is the last */
int barrier_wait(struct barrier *b, int *index);
int barrier_wait_timeout(struct barrier *b, int64_t timeout_ns, int *index);
void barrier_reset(struct barrier *b);
void barrier_abort(struct barrier *b);
bool barrier_broken(struct barrier *b);
int barrier_n_waiting(struct barrier *b);

#endif
