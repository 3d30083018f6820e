/* test_rlock.c: the tests of chapters/06-rlock/rlock.c: re-entry and the count, the
 * three ways to acquire (blocking, non-blocking, timed), releases refused (by a
 * non-owner, one too many), hand-off to a waiter, and mutual exclusion under load.
 * Threads record what they saw; the assertions run in the test's own thread. */
#include "../chapters/06-rlock/rlock.h"
#include "testutil.h"

#include <errno.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include <sys/wait.h>

#define SECONDS(x) ((int64_t)((x) * 1e9))

static void sem_wait_ok(sem_t *s)
{
    while (sem_wait(s) == -1)
        if (errno != EINTR)
            die("sem_wait");
}

static void test_reentry_and_count(void **state)
{
    (void)state;
    struct rlock l;
    rlock_init(&l);
    assert_false(rlock_is_owned(&l));
    for (unsigned long i = 1; i <= 3; i++) {
        assert_int_equal(rlock_acquire(&l, -1), 0);
        assert_int_equal(rlock_count(&l), i);
        assert_true(rlock_is_owned(&l));
    }
    assert_int_equal(rlock_acquire(&l, 0), 0);           /* non-blocking re-entry works too */
    assert_int_equal(rlock_acquire(&l, NS_PER_MS), 0);   /* and a timed one */
    assert_int_equal(rlock_count(&l), 5);
    for (unsigned long i = 5; i >= 1; i--) {
        assert_int_equal(rlock_release(&l), 0);
        assert_int_equal(rlock_count(&l), i - 1);
    }
    assert_false(rlock_is_owned(&l));
    assert_int_equal(rlock_release(&l), EPERM); /* one release more than acquired */
    assert_int_equal(rlock_count(&l), 0);
    rlock_destroy(&l);
}

/* ---- another thread holds the lock (count 2) until told to let go ---- */

struct holder {
    struct rlock *l;
    sem_t ready, go;
    int64_t release_gap; /* between its two releases */
};

static void *hold(void *arg)
{
    struct holder *h = arg;
    if (rlock_acquire(h->l, -1) != 0 || rlock_acquire(h->l, -1) != 0)
        fatal("holder could not acquire");
    CHECK_SYS(sem_post(&h->ready));
    sem_wait_ok(&h->go);
    sleep_ns(h->release_gap);
    if (rlock_release(h->l) != 0)
        fatal("first release refused");
    sleep_ns(h->release_gap);
    if (rlock_release(h->l) != 0)
        fatal("second release refused");
    return NULL;
}

static pthread_t start_holder(struct holder *h, struct rlock *l, int64_t gap)
{
    pthread_t t;
    h->l = l;
    h->release_gap = gap;
    assert_int_equal(sem_init(&h->ready, 0, 0), 0);
    assert_int_equal(sem_init(&h->go, 0, 0), 0);
    assert_int_equal(pthread_create(&t, NULL, hold, h), 0);
    sem_wait_ok(&h->ready);
    return t;
}

static void test_others_refused_while_held(void **state)
{
    (void)state;
    struct rlock l;
    struct holder h;
    rlock_init(&l);
    pthread_t t = start_holder(&h, &l, 0);

    assert_false(rlock_is_owned(&l));
    assert_int_equal(rlock_count(&l), 2);
    assert_int_equal(rlock_release(&l), EPERM); /* not the owner: RuntimeError in Python */
    assert_int_equal(rlock_count(&l), 2);       /* and nothing changed */
    assert_int_equal(rlock_acquire(&l, 0), EBUSY);

    int64_t t0 = now_ns();
    assert_int_equal(rlock_acquire(&l, 100 * NS_PER_MS), ETIMEDOUT);
    int64_t waited = now_ns() - t0;
    assert_true(waited >= 100 * NS_PER_MS);   /* a monotonic deadline: never early */
    assert_true(waited < SECONDS(5));         /* and it comes back (generous bound) */
    assert_int_equal(rlock_count(&l), 2);

    CHECK_SYS(sem_post(&h.go));
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(rlock_count(&l), 0);
    assert_int_equal(rlock_acquire(&l, 0), 0);  /* free now */
    assert_int_equal(rlock_release(&l), 0);
    rlock_destroy(&l);
    sem_destroy(&h.ready);
    sem_destroy(&h.go);
}

static void test_waiter_gets_it_after_the_last_release(void **state)
{
    (void)state;
    struct rlock l;
    struct holder h;
    rlock_init(&l);
    pthread_t t = start_holder(&h, &l, 20 * NS_PER_MS);
    int64_t t0 = now_ns();
    CHECK_SYS(sem_post(&h.go)); /* it releases twice, each after a 20 ms pause */
    assert_int_equal(rlock_acquire(&l, SECONDS(10)), 0); /* waits through both */
    assert_true(now_ns() - t0 >= 40 * NS_PER_MS);         /* not freed by the first */
    assert_true(rlock_is_owned(&l));
    assert_int_equal(rlock_count(&l), 1); /* a new owner starts at 1 */
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(rlock_release(&l), 0);
    rlock_destroy(&l);
    sem_destroy(&h.ready);
    sem_destroy(&h.go);
}

/* ---- timeouts too long to add to the clock ---- */

struct long_waiter {
    struct rlock *l;
    int64_t timeout;
    _Atomic int rc; /* -1 while it waits */
};

static void *wait_long(void *arg)
{
    struct long_waiter *w = arg;
    int rc = rlock_acquire(w->l, w->timeout);
    if (rc == 0 && rlock_release(w->l) != 0)
        fatal("release");
    w->rc = rc;
    return NULL;
}

/* INT64_MAX ns (292 years) is a wait without a limit, not a deadline wrapped round into
 * the past: rlock_acquire used to give up with ETIMEDOUT after a few microseconds. The
 * waiter must still be waiting 200 ms later, and get the lock once it is released. */
static void test_huge_timeouts_wait(void **state)
{
    (void)state;
    const int64_t timeouts[] = { INT64_MAX, INT64_MAX - 1 };
    for (size_t i = 0; i < ARRAY_LEN(timeouts); i++) {
        struct rlock l;
        struct holder h;
        rlock_init(&l);
        pthread_t holder = start_holder(&h, &l, 0);
        struct long_waiter w = { .l = &l, .timeout = timeouts[i], .rc = -1 };
        pthread_t waiter;
        assert_int_equal(pthread_create(&waiter, NULL, wait_long, &w), 0);
        sleep_ns(200 * NS_PER_MS);
        int early = w.rc;
        CHECK_SYS(sem_post(&h.go)); /* release, so the waiter ends either way */
        assert_int_equal(pthread_join(holder, NULL), 0);
        assert_int_equal(pthread_join(waiter, NULL), 0);
        if (early != -1)
            fail_msg("timeout INT64_MAX%s: rlock_acquire returned %d (%s) while the lock was held",
                     i ? " - 1" : "", early, early > 0 ? strerror(early) : "?");
        assert_int_equal(w.rc, 0);
        assert_int_equal(rlock_count(&l), 0);
        rlock_destroy(&l);
        sem_destroy(&h.ready);
        sem_destroy(&h.go);
    }
}

/* ---- mutual exclusion: re-entrant increments from several threads ---- */

enum { WORKERS = 4, ROUNDS = 20000 };
static struct rlock g_l;
static long g_total; /* guarded by g_l only */

static void add_one(int depth)
{
    if (rlock_acquire(&g_l, -1) != 0)
        fatal("acquire");
    if (depth > 1)
        add_one(depth - 1);
    else
        g_total = g_total + 1;
    if (rlock_release(&g_l) != 0)
        fatal("release");
}

static void *adder(void *arg)
{
    (void)arg;
    for (int i = 0; i < ROUNDS; i++)
        add_one(1 + i % 3); /* taken one, two or three deep */
    return NULL;
}

static void test_mutual_exclusion(void **state)
{
    (void)state;
    pthread_t t[WORKERS];
    rlock_init(&g_l);
    g_total = 0;
    for (int i = 0; i < WORKERS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, adder, NULL), 0);
    for (int i = 0; i < WORKERS; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    assert_int_equal(g_total, WORKERS * ROUNDS);
    assert_int_equal(rlock_count(&g_l), 0);
    rlock_destroy(&g_l);
}

/* destroying a held lock is a bug the module stops at */
static void destroy_held(void *arg)
{
    (void)arg;
    struct rlock l;
    rlock_init(&l);
    if (rlock_acquire(&l, -1) != 0)
        fatal("acquire");
    rlock_destroy(&l);
}

static void test_destroy_held_is_fatal(void **state)
{
    (void)state;
    struct captured c;
    capture(destroy_held, NULL, SECONDS(10), &c);
    assert_true(WIFEXITED(c.status));
    assert_int_equal(WEXITSTATUS(c.status), 1);
    assert_non_null(strstr(c.err, "still held"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reentry_and_count),
        cmocka_unit_test(test_others_refused_while_held),
        cmocka_unit_test(test_waiter_gets_it_after_the_last_release),
        cmocka_unit_test(test_huge_timeouts_wait),
        cmocka_unit_test(test_mutual_exclusion),
        cmocka_unit_test(test_destroy_held_is_fatal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
