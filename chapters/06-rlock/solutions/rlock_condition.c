/* solutions/rlock_condition.c: exercise 3 of chapter 06 (RLock).
 *
 * The question: write Python's Condition on top of the RLock. wait() must release *all*
 * levels of the count and restore them afterwards, as CPython's Condition does with the
 * RLock's _release_save and _acquire_restore (Lib/threading.py).
 *
 * The answer: wait() notes the count, gives the lock up entirely (count 0, a waiter
 * signalled), sleeps until notified, then takes the lock again like any acquire and
 * puts the count back. To lose no notify, the waiter is put on the Condition's list
 * *before* the RLock is released, and notify is only allowed to the RLock's owner (as
 * in Python, where it raises RuntimeError otherwise): a notify can then only come after
 * the waiter is listed. Each waiter sleeps on a flag of its own, as CPython's waiters
 * each block on a lock of their own, so notify(n) wakes exactly n of them, the oldest
 * first. The trap it avoids is part 2: a pthread recursive mutex with
 * pthread_cond_wait unlocks *one* level, so a waiter holding it twice still holds it,
 * and the thread that should notify cannot get in.
 *
 * What it does: part 1: main holds the RLock three deep and waits on the Condition; a
 * second thread acquires the RLock (possible only because all three levels went),
 * sets the data and notifies; main wakes with its count back at 3. Part 2: the same
 * with a PTHREAD_MUTEX_RECURSIVE mutex locked twice and pthread_cond_timedwait: the
 * notifier's timed lock gives up, and so does the wait.
 *
 * Run:  solutions/rlock_condition [--limit 300ms]
 * Look for: "woke with the count back at 3"; then "ETIMEDOUT: the waiter still holds
 * one level".
 */
#include "../rlock.h"

#include <errno.h>
#include <stdatomic.h>

struct cond_waiter {
    pthread_mutex_t m;
    pthread_cond_t c;
    bool notified;
    struct cond_waiter *next;
};

struct condition { /* Python's Condition(RLock()) */
    struct rlock *lock;
    struct cond_waiter *head, *tail; /* guarded by the RLock: only its owner touches them */
};

/* CPython's RLock._release_save: give up every level; returns the count */
static unsigned long release_save(struct rlock *l)
{
    CHECK_PT(pthread_mutex_lock(&l->m));
    unsigned long count = l->count;
    l->count = 0;
    if (l->waiters > 0)
        CHECK_PT(pthread_cond_signal(&l->freed));
    CHECK_PT(pthread_mutex_unlock(&l->m));
    return count;
}

/* CPython's RLock._acquire_restore: take it again, with the count it had */
static void acquire_restore(struct rlock *l, unsigned long count)
{
    if (rlock_acquire(l, -1) != 0)
        fatal("rlock_acquire");
    CHECK_PT(pthread_mutex_lock(&l->m));
    l->count = count;
    CHECK_PT(pthread_mutex_unlock(&l->m));
}

static int cond_wait(struct condition *cv)
{
    if (!rlock_is_owned(cv->lock))
        return EPERM; /* Python: RuntimeError: cannot wait on un-acquired lock */
    struct cond_waiter w = { .notified = false };
    CHECK_PT(pthread_mutex_init(&w.m, NULL));
    CHECK_PT(pthread_cond_init(&w.c, NULL));
    if (cv->tail) /* listed while we still hold the RLock: no notify can miss us */
        cv->tail->next = &w;
    else
        cv->head = &w;
    cv->tail = &w;
    unsigned long saved = release_save(cv->lock);
    CHECK_PT(pthread_mutex_lock(&w.m));
    while (!w.notified)
        CHECK_PT(pthread_cond_wait(&w.c, &w.m));
    CHECK_PT(pthread_mutex_unlock(&w.m));
    acquire_restore(cv->lock, saved);
    CHECK_PT(pthread_cond_destroy(&w.c));
    CHECK_PT(pthread_mutex_destroy(&w.m));
    return 0;
}

static int cond_notify(struct condition *cv, int n)
{
    if (!rlock_is_owned(cv->lock))
        return EPERM; /* Python: RuntimeError: cannot notify on un-acquired lock */
    for (; n > 0 && cv->head; n--) {
        struct cond_waiter *w = cv->head;
        cv->head = w->next;
        if (!cv->head)
            cv->tail = NULL;
        CHECK_PT(pthread_mutex_lock(&w->m));
        w->notified = true;
        CHECK_PT(pthread_cond_signal(&w->c));
        CHECK_PT(pthread_mutex_unlock(&w->m));
    }
    return 0;
}

static struct rlock g_rlock;
static struct condition g_cv = { &g_rlock, NULL, NULL };
static int g_data;
static pthread_mutex_t g_rec;
static pthread_cond_t g_rec_cond;
static int64_t g_limit;

static void *notifier(void *arg)
{
    (void)arg;
    trace_name("notifier");
    int rc = rlock_acquire(&g_rlock, 10 * NS_PER_S);
    if (rc != 0)
        die_en(rc, "rlock_acquire");
    trace("got the RLock (count %lu): the waiter gave up every level", rlock_count(&g_rlock));
    g_data = 42;
    if (cond_notify(&g_cv, 1) != 0)
        fatal("cond_notify");
    trace("data = 42, notify(1), release");
    if (rlock_release(&g_rlock) != 0)
        fatal("rlock_release");
    return NULL;
}

static void *rec_notifier(void *arg)
{
    (void)arg;
    trace_name("notifier");
    struct timespec until = deadline_after(CLOCK_REALTIME, g_limit);
    int rc = pthread_mutex_timedlock(&g_rec, &until);
    if (rc == 0) {
        trace("got the recursive mutex: notify");
        CHECK_PT(pthread_cond_signal(&g_rec_cond));
        CHECK_PT(pthread_mutex_unlock(&g_rec));
    } else if (rc == ETIMEDOUT) {
        trace("pthread_mutex_timedlock: ETIMEDOUT: the waiter still holds one level, nobody can notify it");
    } else {
        die_en(rc, "pthread_mutex_timedlock");
    }
    return NULL;
}

int main(int argc, char **argv)
{
    g_limit = 300 * NS_PER_MS;
    const struct cli_opt opts[] = {
        { "limit", CLI_DURATION, &g_limit, "part 2's timed lock and timed wait", 10 * NS_PER_MS, 10 * NS_PER_S,
          "100ms", NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "Exercise 3: Python's Condition on the RLock: wait() releases every level.", opts, &cli);
    trace_start();
    trace("part 1: a Condition on rlock.c");
    rlock_init(&g_rlock);
    for (int d = 0; d < 3; d++)
        if (rlock_acquire(&g_rlock, -1) != 0)
            fatal("rlock_acquire");
    trace("holding the RLock, count %lu; wait() for data", rlock_count(&g_rlock));
    pthread_t t;
    CHECK_PT(pthread_create(&t, NULL, notifier, NULL));
    while (g_data != 42)
        if (cond_wait(&g_cv) != 0)
            fatal("cond_wait");
    trace("woke with the count back at %lu; data = %d", rlock_count(&g_rlock), g_data);
    CHECK_PT(pthread_join(t, NULL));
    for (int d = 0; d < 3; d++)
        if (rlock_release(&g_rlock) != 0)
            fatal("rlock_release");
    rlock_destroy(&g_rlock);

    trace("part 2: PTHREAD_MUTEX_RECURSIVE, locked twice, and pthread_cond_timedwait");
    pthread_mutexattr_t ma;
    CHECK_PT(pthread_mutexattr_init(&ma));
    CHECK_PT(pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE));
    CHECK_PT(pthread_mutex_init(&g_rec, &ma));
    CHECK_PT(pthread_mutexattr_destroy(&ma));
    CHECK_PT(pthread_cond_init(&g_rec_cond, NULL)); /* CLOCK_REALTIME, as timedlock's */
    CHECK_PT(pthread_mutex_lock(&g_rec));
    CHECK_PT(pthread_mutex_lock(&g_rec));
    CHECK_PT(pthread_create(&t, NULL, rec_notifier, NULL));
    struct timespec until = deadline_after(CLOCK_REALTIME, 2 * g_limit);
    int rc = pthread_cond_timedwait(&g_rec_cond, &g_rec, &until); /* unlocks one level only */
    trace("pthread_cond_timedwait -> %s", rc == 0 ? "0" : rc == ETIMEDOUT ? "ETIMEDOUT: never notified" : "?");
    CHECK_PT(pthread_join(t, NULL));
    CHECK_PT(pthread_mutex_unlock(&g_rec));
    CHECK_PT(pthread_mutex_unlock(&g_rec));
    CHECK_PT(pthread_cond_destroy(&g_rec_cond));
    CHECK_PT(pthread_mutex_destroy(&g_rec));
    return rc == ETIMEDOUT ? 0 : 1;
}
