/* test_stw.c: the tests of chapter 12's stop-the-world (chapters/12-nogil/stw.c).
 *
 * A stop parks every running thread (their states say SUSPENDED and their work stands
 * still while the world is stopped), and a start lets them all go on; a detached
 * thread (in a blocking call) is parked by the stopper without its help, and waits at
 * attach until the world restarts; a thread with no safe point makes the stop time out,
 * report it, and restart the world. Bounds are generous: the machine may be busy.
 */
#include "common.h"
#include "testutil.h"
#include "../chapters/12-nogil/stw.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>

enum { N = 4 };

struct runner {
    pthread_t th;
    struct stw_thread t;
    struct stw_world *w;
    atomic_bool *stop;
    atomic_ulong progress;
    int64_t block;       /* > 0: one blocking call this long, detached, first */
    int64_t busy;        /* > 0: one C call this long with no safe point, first */
    atomic_bool in_call, attached_after;
};

static void *runner_main(void *arg)
{
    struct runner *r = arg;
    stw_register(r->w, &r->t, "runner");
    if (r->block > 0) {
        stw_detach(&r->t);
        atomic_store(&r->in_call, true);
        sleep_ns(r->block);
        atomic_store(&r->in_call, false);
        stw_attach(&r->t); /* waits here while the world is stopped */
        atomic_store(&r->attached_after, true);
    }
    if (r->busy > 0) {
        atomic_store(&r->in_call, true);
        for (int64_t end = now_ns() + r->busy; now_ns() < end;)
            ;
        atomic_store(&r->in_call, false);
    }
    while (!atomic_load(r->stop)) {
        atomic_fetch_add_explicit(&r->progress, 1, memory_order_relaxed);
        stw_check(&r->t);
    }
    stw_unregister(&r->t);
    return NULL;
}

/* Starts n runners; with `wait`, returns once each has registered and is running. */
static void start_runners(struct runner *r, int n, struct stw_world *w, atomic_bool *stop, bool wait)
{
    for (int i = 0; i < n; i++) {
        r[i].w = w;
        r[i].stop = stop;
        atomic_init(&r[i].progress, 0);
        atomic_init(&r[i].in_call, false);
        atomic_init(&r[i].attached_after, false);
        assert_int_equal(pthread_create(&r[i].th, NULL, runner_main, &r[i]), 0);
    }
    for (int i = 0; wait && i < n; i++)
        for (int64_t until = now_ns() + 5 * NS_PER_S; atomic_load(&r[i].progress) == 0 && now_ns() < until;)
            sleep_ns(NS_PER_MS);
}

/* Waits (5 s at most) until the runner is inside its call. */
static void wait_in_call(struct runner *r)
{
    for (int64_t until = now_ns() + 5 * NS_PER_S; !atomic_load(&r->in_call) && now_ns() < until;)
        sleep_ns(NS_PER_MS);
    assert_true(atomic_load(&r->in_call));
}

static void test_parks_everyone_and_releases(void **state)
{
    (void)state;
    struct stw_world w;
    stw_init(&w);
    atomic_bool stop;
    atomic_init(&stop, false);
    struct runner r[N] = { 0 };
    start_runners(r, N, &w, &stop, true);
    for (int round = 0; round < 5; round++) {
        int stragglers = -1;
        assert_int_equal(stw_stop(&w, 10 * NS_PER_S, &stragglers), 0);
        assert_int_equal(stragglers, 0);
        unsigned long before[N];
        for (int i = 0; i < N; i++) {
            assert_int_equal(atomic_load(&r[i].t.state), STW_SUSPENDED);
            before[i] = atomic_load(&r[i].progress);
        }
        sleep_ns(20 * NS_PER_MS);
        for (int i = 0; i < N; i++) /* stopped means stopped */
            assert_int_equal(atomic_load(&r[i].progress), before[i]);
        stw_start(&w);
        for (int i = 0; i < N; i++) {
            int64_t until = now_ns() + 5 * NS_PER_S;
            while (atomic_load(&r[i].progress) == before[i] && now_ns() < until)
                sleep_ns(NS_PER_MS);
            assert_true(atomic_load(&r[i].progress) > before[i]); /* and going again */
        }
    }
    atomic_store(&stop, true);
    for (int i = 0; i < N; i++) {
        assert_int_equal(pthread_join(r[i].th, NULL), 0);
        assert_true(r[i].t.parks >= 1);
    }
    stw_destroy(&w);
}

static void test_detached_thread_is_parked_for_it(void **state)
{
    (void)state;
    struct stw_world w;
    stw_init(&w);
    atomic_bool stop;
    atomic_init(&stop, false);
    struct runner r[2] = { { .block = 300 * NS_PER_MS }, { 0 } };
    start_runners(&r[1], 1, &w, &stop, true);
    start_runners(&r[0], 1, &w, &stop, false);
    wait_in_call(&r[0]);
    assert_int_equal(stw_stop(&w, 10 * NS_PER_S, NULL), 0);
    assert_true(atomic_load(&r[0].in_call)); /* stopped while it was still in its call */
    assert_int_equal(atomic_load(&r[0].t.state), STW_SUSPENDED);
    /* its call ends; it must not attach until the world starts again */
    for (int64_t until = now_ns() + 5 * NS_PER_S; atomic_load(&r[0].in_call) && now_ns() < until;)
        sleep_ns(NS_PER_MS);
    sleep_ns(20 * NS_PER_MS);
    assert_false(atomic_load(&r[0].attached_after));
    stw_start(&w);
    for (int64_t until = now_ns() + 5 * NS_PER_S; !atomic_load(&r[0].attached_after) && now_ns() < until;)
        sleep_ns(NS_PER_MS);
    assert_true(atomic_load(&r[0].attached_after));
    atomic_store(&stop, true);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_join(r[i].th, NULL), 0);
    stw_destroy(&w);
}

static void test_no_safe_point_times_out(void **state)
{
    (void)state;
    struct stw_world w;
    stw_init(&w);
    atomic_bool stop;
    atomic_init(&stop, false);
    struct runner r[2] = { { .busy = 500 * NS_PER_MS }, { 0 } };
    start_runners(&r[1], 1, &w, &stop, true);
    start_runners(&r[0], 1, &w, &stop, false);
    wait_in_call(&r[0]);
    int stragglers = 0;
    int64_t t0 = now_ns();
    assert_int_equal(stw_stop(&w, 50 * NS_PER_MS, &stragglers), ETIMEDOUT);
    assert_true(now_ns() - t0 < NS_PER_S);
    assert_int_equal(stragglers, 1);
    /* the world was restarted: the other runner goes on */
    unsigned long before = atomic_load(&r[1].progress);
    for (int64_t until = now_ns() + 5 * NS_PER_S; atomic_load(&r[1].progress) == before && now_ns() < until;)
        sleep_ns(NS_PER_MS);
    assert_true(atomic_load(&r[1].progress) > before);
    atomic_store(&stop, true);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_join(r[i].th, NULL), 0);
    stw_destroy(&w);
}

/* A thread that registers while a stop waits for another one must not count as that
 * other thread: the stop may return only once the busy thread has parked. (Before
 * stw_register waited out a stop in progress, the newcomer was parked and counted in
 * the busy thread's place, and the stop returned with a thread still running.) */
struct stopper {
    struct stw_world *w;
    struct runner *busy;
    int rc;
    bool busy_at_return;
};

static void *stopper_main(void *arg)
{
    struct stopper *s = arg;
    s->rc = stw_stop(s->w, 5 * NS_PER_S, NULL);
    s->busy_at_return = atomic_load(&s->busy->in_call);
    return NULL;
}

static void test_register_during_stop(void **state)
{
    (void)state;
    struct stw_world w;
    stw_init(&w);
    atomic_bool stop;
    atomic_init(&stop, false);
    struct runner r[2] = { { .busy = 300 * NS_PER_MS }, { 0 } };
    start_runners(&r[0], 1, &w, &stop, false);
    wait_in_call(&r[0]);
    struct stopper s = { .w = &w, .busy = &r[0] };
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, stopper_main, &s), 0);
    sleep_ns(30 * NS_PER_MS); /* the stop is waiting for the busy thread */
    start_runners(&r[1], 1, &w, &stop, false);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(s.rc, 0);
    assert_false(s.busy_at_return); /* every registered thread had parked */
    stw_start(&w);
    atomic_store(&stop, true);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_join(r[i].th, NULL), 0);
    stw_destroy(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parks_everyone_and_releases),
        cmocka_unit_test(test_detached_thread_is_parked_for_it),
        cmocka_unit_test(test_no_safe_point_times_out),
        cmocka_unit_test(test_register_during_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
