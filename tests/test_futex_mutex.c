/* test_futex_mutex.c: the tests of chapters/09-sync/futex_mutex.c: the naive
 * two-state lock and the three-state one (with and without spinning): the word's
 * states, which operations make system calls, timed and non-blocking acquires,
 * a release of an unlocked lock refused, and mutual exclusion under load (nobody
 * else inside, no increment lost). Threads record what they saw; the assertions run
 * in the test's own thread. */
#include "../chapters/09-sync/sync.h"
#include "../chapters/09-sync/futex.h"

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#define SECONDS(x) ((int64_t)((x) * 1e9))

static uint32_t word_of(struct fmutex *m)
{
    return atomic_load(&m->word);
}

/* ---- which operations go to the kernel ---- */

static void test_naive_unlock_always_calls_the_kernel(void **state)
{
    (void)state;
    struct fmutex_naive m = FMUTEX_NAIVE_INITIALIZER;
    unsigned long waits = futex_waits, wakes = futex_wakes;
    for (int i = 0; i < 1000; i++) {
        fmutex_naive_lock(&m);
        assert_int_equal(atomic_load(&m.word), 1);
        fmutex_naive_unlock(&m);
        assert_int_equal(atomic_load(&m.word), 0);
    }
    assert_int_equal(futex_waits - waits, 0);    /* never had to wait */
    assert_int_equal(futex_wakes - wakes, 1000); /* but woke "somebody" every time */
}

static void test_three_state_uncontended_makes_no_system_call(void **state)
{
    (void)state;
    struct fmutex m = FMUTEX_INITIALIZER;
    unsigned long waits = futex_waits, wakes = futex_wakes;
    for (int i = 0; i < 1000; i++) {
        fmutex_lock(&m);
        assert_int_equal(word_of(&m), 1); /* locked, nobody waiting */
        assert_true(fmutex_locked(&m));
        assert_int_equal(fmutex_unlock(&m), SYNC_OK);
        assert_int_equal(word_of(&m), 0);
    }
    assert_int_equal(futex_waits - waits, 0);
    assert_int_equal(futex_wakes - wakes, 0);
    assert_false(fmutex_locked(&m));
}

static void test_release_unlocked_is_refused(void **state)
{
    (void)state;
    struct fmutex m = FMUTEX_INITIALIZER;
    assert_int_equal(fmutex_unlock(&m), SYNC_NOT_OWNED); /* Python: RuntimeError */
    assert_int_equal(word_of(&m), 0);
    fmutex_lock(&m);
    assert_int_equal(fmutex_unlock(&m), SYNC_OK);
    assert_int_equal(fmutex_unlock(&m), SYNC_NOT_OWNED); /* one release too many */
    assert_string_equal(sync_status_name(SYNC_NOT_OWNED), "SYNC_NOT_OWNED");
    assert_string_equal(sync_status_python(SYNC_NOT_OWNED), "raises RuntimeError");
    assert_string_equal(sync_status_name(99), "SYNC_?");
}

static void test_acquire_held_times_out(void **state)
{
    (void)state;
    struct fmutex m = FMUTEX_INITIALIZER;
    fmutex_lock(&m);
    unsigned long waits = futex_waits;
    assert_int_equal(fmutex_acquire(&m, 0), SYNC_TIMEOUT); /* blocking=False */
    assert_int_equal(futex_waits - waits, 0);              /* ... asks no kernel */
    assert_int_equal(word_of(&m), 1);

    int64_t t0 = now_ns();
    assert_int_equal(fmutex_acquire(&m, 50 * NS_PER_MS), SYNC_TIMEOUT);
    int64_t waited = now_ns() - t0;
    assert_true(waited >= 50 * NS_PER_MS); /* a monotonic deadline: never early */
    assert_true(waited < SECONDS(5));      /* and it comes back (generous bound) */
    assert_int_equal(word_of(&m), 2);      /* it said it was waiting */
    unsigned long wakes = futex_wakes;
    assert_int_equal(fmutex_unlock(&m), SYNC_OK);
    assert_int_equal(futex_wakes - wakes, 1); /* so this unlock wakes (nobody) */
    assert_int_equal(fmutex_acquire(&m, 0), SYNC_OK);
    assert_int_equal(fmutex_unlock(&m), SYNC_OK);
}

/* ---- a holder, and a waiter that must sleep until it lets go ---- */

struct handoff {
    struct fmutex m;
    _Atomic int phase;      /* 1: the holder has the lock */
    int64_t hold;           /* how long it keeps it */
    unsigned long wakes;    /* the holder's futex_wake calls */
};

static void *holder(void *arg)
{
    struct handoff *h = arg;
    fmutex_lock(&h->m);
    atomic_store(&h->phase, 1);
    sleep_ns(h->hold);
    unsigned long before = futex_wakes;
    if (fmutex_unlock(&h->m) != SYNC_OK)
        fatal("holder: unlock refused");
    h->wakes = futex_wakes - before;
    return NULL;
}

static void handoff(unsigned spin, int64_t timeout)
{
    struct handoff h = { .hold = 30 * NS_PER_MS };
    fmutex_init(&h.m, spin);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, holder, &h), 0);
    while (atomic_load(&h.phase) == 0)
        sleep_ns(NS_PER_MS);
    unsigned long waits = futex_waits;
    int64_t t0 = now_ns();
    if (timeout < 0)
        fmutex_lock(&h.m);
    else
        assert_int_equal(fmutex_acquire(&h.m, timeout), SYNC_OK);
    assert_true(now_ns() - t0 < SECONDS(5));
    assert_true(futex_waits - waits >= 1); /* it slept (30 ms is far past any spin) */
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(h.wakes, 1);          /* and the holder's unlock woke it */
    assert_int_equal(word_of(&h.m), 2);    /* a woken thread takes it as "maybe waiters" */
    assert_int_equal(fmutex_unlock(&h.m), SYNC_OK);
}

static void test_waiter_sleeps_and_is_woken(void **state)
{
    (void)state;
    handoff(0, -1);
    handoff(FMUTEX_SPIN, -1);
    handoff(0, SECONDS(10)); /* a timed acquire that succeeds */
}

/* Python's Lock may be released by another thread than the one that acquired it */
static void *release_it(void *arg)
{
    return (void *)(intptr_t)fmutex_unlock(arg);
}

static void test_other_thread_may_release(void **state)
{
    (void)state;
    struct fmutex m = FMUTEX_INITIALIZER;
    fmutex_lock(&m);
    pthread_t t;
    void *rc;
    assert_int_equal(pthread_create(&t, NULL, release_it, &m), 0);
    assert_int_equal(pthread_join(t, &rc), 0);
    assert_int_equal((intptr_t)rc, SYNC_OK);
    assert_false(fmutex_locked(&m));
}

/* ---- mutual exclusion under load ---- */

enum { THREADS = 4, ROUNDS = 20000 };

static struct {
    int kind; /* 0 naive, 1 three-state, 2 three-state spinning */
    struct fmutex_naive naive;
    struct fmutex m;
    _Atomic int inside;
    _Atomic bool crowded; /* somebody found another thread inside */
    long counter; /* guarded by the lock under test only */
} g;

static void *adder(void *arg)
{
    (void)arg;
    for (int i = 0; i < ROUNDS; i++) {
        if (g.kind == 0)
            fmutex_naive_lock(&g.naive);
        else
            fmutex_lock(&g.m);
        if (atomic_fetch_add_explicit(&g.inside, 1, memory_order_relaxed) != 0)
            atomic_store(&g.crowded, true);
        g.counter = g.counter + 1;
        atomic_fetch_sub_explicit(&g.inside, 1, memory_order_relaxed);
        if (g.kind == 0)
            fmutex_naive_unlock(&g.naive);
        else if (fmutex_unlock(&g.m) != SYNC_OK)
            fatal("unlock refused");
    }
    return NULL;
}

static void stress(int kind)
{
    g.kind = kind;
    atomic_store(&g.naive.word, 0);
    fmutex_init(&g.m, kind == 2 ? FMUTEX_SPIN : 0);
    atomic_store(&g.inside, 0);
    atomic_store(&g.crowded, false);
    g.counter = 0;
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, adder, NULL), 0);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    assert_int_equal(g.counter, THREADS * ROUNDS); /* no increment lost */
    assert_false(atomic_load(&g.crowded));         /* never two inside */
    assert_int_equal(kind == 0 ? atomic_load(&g.naive.word) : word_of(&g.m), 0);
}

static void test_naive_excludes(void **state)
{
    (void)state;
    stress(0);
}

static void test_three_state_excludes(void **state)
{
    (void)state;
    stress(1);
}

static void test_spinning_excludes(void **state)
{
    (void)state;
    stress(2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_naive_unlock_always_calls_the_kernel),
        cmocka_unit_test(test_three_state_uncontended_makes_no_system_call),
        cmocka_unit_test(test_release_unlocked_is_refused),
        cmocka_unit_test(test_acquire_held_times_out),
        cmocka_unit_test(test_waiter_sleeps_and_is_woken),
        cmocka_unit_test(test_other_thread_may_release),
        cmocka_unit_test(test_naive_excludes),
        cmocka_unit_test(test_three_state_excludes),
        cmocka_unit_test(test_spinning_excludes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
