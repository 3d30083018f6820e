/* test_critsec.c: the tests of chapter 12's critical sections (chapters/12-nogil/critsec.c).
 *
 * Two threads taking two objects in opposite orders: the naive way deadlocks, and the
 * deadlock is detected (a bounded wait returns ETIMEDOUT and both can back out); the
 * address-ordered two-object section and PEP 703's suspend-while-waiting rule complete.
 * The suspension is seen from outside: while a thread waits for its inner lock, its
 * outer object's lock is free. Misuse (ending a section that was never begun) dies.
 */
#include "common.h"
#include "testutil.h"
#include "../chapters/12-nogil/critsec.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

enum { TWO, NESTED };

struct racer {
    pthread_t th;
    struct cs_thread t;
    struct cs_obj *first, *second;
    int shape;
    long ops;
    pthread_barrier_t *go;
    long done, timeouts; /* out */
};

static void *racer_main(void *arg)
{
    struct racer *r = arg;
    int rc = pthread_barrier_wait(r->go);
    if (rc != 0 && rc != PTHREAD_BARRIER_SERIAL_THREAD)
        die_en(rc, "pthread_barrier_wait");
    for (long i = 0; i < r->ops; i++) {
        struct cs_section outer, inner;
        int e;
        if (r->shape == TWO) {
            e = cs_begin2(&r->t, &outer, r->first, r->second);
            if (e == 0) {
                r->first->value--;
                r->second->value++;
                e = cs_end(&r->t);
            }
        } else {
            e = cs_begin(&r->t, &outer, r->first);
            if (e == 0) {
                sleep_ns(r->t.pause);
                e = cs_begin(&r->t, &inner, r->second);
            }
            if (e == 0) {
                r->second->value++;
                e = cs_end(&r->t);
            }
            if (e == 0) {
                r->first->value--;
                e = cs_end(&r->t);
            }
        }
        if (e == 0) {
            r->done++;
        } else {
            r->timeouts++;
            cs_abandon(&r->t);
        }
    }
    return NULL;
}

/* Two threads on (A, B) and (B, A); returns the timeouts, checks A + B. */
static long race(int shape, bool pep703, int64_t pause, int64_t timeout, long ops, unsigned long *suspends)
{
    struct cs_obj a, b;
    cs_obj_init(&a, "A", 1000);
    cs_obj_init(&b, "B", 1000);
    pthread_barrier_t go;
    assert_int_equal(pthread_barrier_init(&go, NULL, 2), 0);
    struct racer r[2];
    for (int i = 0; i < 2; i++) {
        r[i] = (struct racer){ .first = i ? &b : &a, .second = i ? &a : &b, .shape = shape, .ops = ops, .go = &go };
        cs_thread_init(&r[i].t, i ? "t2" : "t1", pep703, timeout);
        r[i].t.pause = pause;
        assert_int_equal(pthread_create(&r[i].th, NULL, racer_main, &r[i]), 0);
    }
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_join(r[i].th, NULL), 0);
    assert_int_equal(a.value + b.value, 2000);
    assert_int_equal(r[0].done + r[0].timeouts, ops);
    /* nothing is left locked */
    assert_int_equal(pthread_mutex_trylock(&a.mutex), 0);
    assert_int_equal(pthread_mutex_trylock(&b.mutex), 0);
    assert_int_equal(pthread_mutex_unlock(&a.mutex), 0);
    assert_int_equal(pthread_mutex_unlock(&b.mutex), 0);
    if (suspends)
        *suspends = r[0].t.suspends + r[1].t.suspends;
    assert_int_equal(pthread_barrier_destroy(&go), 0);
    cs_obj_destroy(&a);
    cs_obj_destroy(&b);
    return r[0].timeouts + r[1].timeouts;
}

static void test_two_naive_deadlocks(void **state)
{
    (void)state;
    int64_t t0 = now_ns();
    assert_true(race(TWO, false, 20 * NS_PER_MS, 100 * NS_PER_MS, 1, NULL) >= 1);
    assert_true(now_ns() - t0 < 5 * NS_PER_S); /* detected, not hung */
}

static void test_two_ordered_completes(void **state)
{
    (void)state;
    assert_int_equal(race(TWO, true, 20 * NS_PER_MS, 2 * NS_PER_S, 2, NULL), 0);
    assert_int_equal(race(TWO, true, 0, 2 * NS_PER_S, 20000, NULL), 0); /* and under stress */
}

static void test_nested_naive_deadlocks(void **state)
{
    (void)state;
    assert_true(race(NESTED, false, 20 * NS_PER_MS, 100 * NS_PER_MS, 1, NULL) >= 1);
}

static void test_nested_pep703_completes(void **state)
{
    (void)state;
    unsigned long suspends;
    assert_int_equal(race(NESTED, true, 20 * NS_PER_MS, 2 * NS_PER_S, 2, &suspends), 0);
    assert_true(suspends >= 1);
    assert_int_equal(race(NESTED, true, 0, 2 * NS_PER_S, 5000, NULL), 0);
}

/* While t waits for Y, its outer section on X must be suspended: X's lock is free. */
struct waiter {
    pthread_t th;
    struct cs_thread t;
    struct cs_obj *x, *y;
    atomic_bool took_outer;
    int rc_inner, rc_end;
};

static void *waiter_main(void *arg)
{
    struct waiter *w = arg;
    struct cs_section outer, inner;
    if (cs_begin(&w->t, &outer, w->x) != 0)
        fatal("waiter: outer section");
    atomic_store(&w->took_outer, true);
    w->rc_inner = cs_begin(&w->t, &inner, w->y); /* Y is held: suspends X, waits */
    if (w->rc_inner == 0) {
        cs_end(&w->t); /* resumes X */
        w->rc_end = cs_end(&w->t);
    }
    return NULL;
}

static void test_suspended_while_waiting(void **state)
{
    (void)state;
    struct cs_obj x, y;
    cs_obj_init(&x, "X", 0);
    cs_obj_init(&y, "Y", 0);
    assert_int_equal(pthread_mutex_lock(&y.mutex), 0); /* someone holds Y */
    struct waiter w = { .x = &x, .y = &y };
    atomic_init(&w.took_outer, false);
    cs_thread_init(&w.t, "waiter", true, 5 * NS_PER_S);
    assert_int_equal(pthread_create(&w.th, NULL, waiter_main, &w), 0);
    /* X is locked by the waiter at first, then let go when it starts waiting for Y */
    for (int64_t until = now_ns() + 3 * NS_PER_S; !atomic_load(&w.took_outer) && now_ns() < until;)
        sleep_ns(NS_PER_MS / 10);
    assert_true(atomic_load(&w.took_outer)); /* it holds X, or has let go of it to wait for Y */
    bool x_free = false;
    for (int64_t until = now_ns() + 3 * NS_PER_S; !x_free && now_ns() < until;) {
        sleep_ns(NS_PER_MS);
        if (pthread_mutex_trylock(&x.mutex) == 0) {
            x_free = true;
            assert_int_equal(pthread_mutex_unlock(&x.mutex), 0);
        }
    }
    assert_true(x_free);
    assert_int_equal(pthread_mutex_unlock(&y.mutex), 0);
    assert_int_equal(pthread_join(w.th, NULL), 0);
    assert_int_equal(w.rc_inner, 0);
    assert_int_equal(w.rc_end, 0);
    assert_int_equal(w.t.suspends, 1);
    assert_int_equal(w.t.resumes, 1);
    assert_null(w.t.top);
    cs_obj_destroy(&x);
    cs_obj_destroy(&y);
}

static void end_without_begin(void *arg)
{
    (void)arg;
    struct cs_thread t;
    cs_thread_init(&t, "lost", true, NS_PER_S);
    cs_end(&t);
}

static void test_misuse(void **state)
{
    (void)state;
    struct captured *c = malloc(sizeof *c);
    assert_non_null(c);
    capture(end_without_begin, NULL, 10 * NS_PER_S, c);
    assert_true(WIFEXITED(c->status) && WEXITSTATUS(c->status) != 0);
    assert_non_null(strstr(c->err, "is in no critical section"));
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_naive_deadlocks),
        cmocka_unit_test(test_two_ordered_completes),
        cmocka_unit_test(test_nested_naive_deadlocks),
        cmocka_unit_test(test_nested_pep703_completes),
        cmocka_unit_test(test_suspended_while_waiting),
        cmocka_unit_test(test_misuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
