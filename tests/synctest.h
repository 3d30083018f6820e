/* synctest.h: helpers shared by the tests of chapters/09-sync (test_sync.c,
 * test_tqueue.c). Include after cmocka.h; call from the test's own thread only.
 *   start / join       pthread_create / pthread_join, asserted
 *   await_waiters      poll until n threads sleep on a Condition (fails after 10 s)
 *   assert_took        a timed call took at least its time, and came back (5 s bound)
 */
#ifndef WORKBOOK_SYNCTEST_H
#define WORKBOOK_SYNCTEST_H

#include "../chapters/09-sync/sync.h"

#include <pthread.h>

#define SECONDS(x) ((int64_t)((x) * 1e9))

#define assert_took(t0, at_least)                                                      \
    do {                                                                               \
        int64_t took_ = now_ns() - (t0);                                               \
        assert_true(took_ >= (at_least));                                              \
        assert_true(took_ < (at_least) + SECONDS(5));                                  \
    } while (0)

static inline void start(pthread_t *t, void *(*fn)(void *), void *arg)
{
    assert_int_equal(pthread_create(t, NULL, fn, arg), 0);
}

static inline void join(pthread_t t)
{
    assert_int_equal(pthread_join(t, NULL), 0);
}

/* the count is read under the condition's lock, as every other use of it */
static inline void await_waiters(struct cond *c, long n)
{
    int64_t deadline = deadline_in(SECONDS(10));
    for (;;) {
        fmutex_lock(c->lock);
        long w = c->waiting;
        fmutex_unlock(c->lock);
        if (w == n)
            return;
        assert_true(ns_left(deadline) > 0);
        sleep_ns(NS_PER_MS);
    }
}

#endif
