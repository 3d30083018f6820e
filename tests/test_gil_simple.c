/* test_gil_simple.c: the tests of chapters/08-gil/gil_simple.c.
 *
 * The cases of test_gil.c that apply to a GIL without a log, checked from outside:
 * never two holders (a counter of threads between their take and their drop, and a
 * plain counter that only the holder touches: ThreadSanitizer and the total would catch
 * a second holder); a drop request comes only after a whole interval and is honoured;
 * an interval too long to add to the clock never asks; switch_number counts changes of
 * holder only. Threads record; the test's own thread asserts after joining them.
 */
#include "common.h"
#include "testutil.h"
#include "../chapters/08-gil/gil_simple.h"
#include "../chapters/08-gil/gil.h" /* gil_work: one tick */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#define BOUND (10 * NS_PER_S)

static void join_within(pthread_t th, int64_t ns)
{
    struct timespec until = deadline_after(CLOCK_REALTIME, ns);
    int rc = pthread_timedjoin_np(th, NULL, &until);
    if (rc != 0)
        fail_msg("a thread did not end within %.0f s (pthread_timedjoin_np: %s)", (double)ns / 1e9, strerror(rc));
}

/* ---- under stress, never two holders ---- */

static struct gil_simple g_gil;
static atomic_int g_inside;      /* threads between a take and a drop */
static atomic_ulong g_violations;
static unsigned long g_counter;  /* touched only by the holder: no atomics, no lock */

struct stresser {
    int id;
    pthread_t th;
    int64_t until;
    unsigned long ticks;
};

static void enter(void)
{
    if (atomic_fetch_add(&g_inside, 1) != 0)
        atomic_fetch_add(&g_violations, 1);
}

static void *stress_main(void *arg)
{
    struct stresser *s = arg;
    uint64_t seed = (uint64_t)s->id + 1, sum = 0;
    gil_simple_take(&g_gil, s->id);
    enter();
    while (now_ns() < s->until) {
        uint64_t r = random_next(&seed);
        for (uint64_t k = 0; k < 50 + r % 400; k++, s->ticks++) {
            g_counter++;
            sum += gil_work(s->ticks);
            if (atomic_load_explicit(&g_gil.drop_request, memory_order_relaxed)) {
                atomic_fetch_sub(&g_inside, 1); /* the check point drops the GIL */
                gil_simple_check(&g_gil, s->id);
                enter();
            }
        }
        if (r % 4 == 0) { /* a blocking call now and then */
            atomic_fetch_sub(&g_inside, 1);
            gil_simple_drop(&g_gil);
            sleep_ns((int64_t)(r % 50) * NS_PER_US);
            gil_simple_take(&g_gil, s->id);
            enter();
        }
    }
    atomic_fetch_sub(&g_inside, 1);
    gil_simple_drop(&g_gil);
    return sum == 42 ? arg : NULL;
}

static void test_never_two_holders(void **state)
{
    (void)state;
    gil_simple_init(&g_gil, 50 * NS_PER_US);
    g_counter = 0;
    struct stresser s[4];
    int64_t until = now_ns() + 300 * NS_PER_MS;
    for (int i = 0; i < 4; i++) {
        s[i] = (struct stresser){ .id = i, .until = until };
        CHECK_PT(pthread_create(&s[i].th, NULL, stress_main, &s[i]));
    }
    unsigned long ticks = 0;
    for (int i = 0; i < 4; i++) {
        join_within(s[i].th, BOUND);
        ticks += s[i].ticks;
    }
    assert_int_equal(atomic_load(&g_violations), 0);
    assert_int_equal(g_counter, ticks); /* no update lost: one holder at a time */
    assert_true(g_gil.switch_number >= 2);   /* the threads really did take turns */
    assert_true(g_gil.drop_requests >= 1);   /* and some turns came from a request */
    assert_false(g_gil.locked);
    gil_simple_destroy(&g_gil);
}

/* ---- a drop request is honoured, and only after a whole interval ---- */

struct spinner {
    pthread_t th;
    atomic_bool stop, holding;
    uint64_t ticks;
};

static void *spin_main(void *arg)
{
    struct spinner *s = arg;
    uint64_t sum = 0;
    gil_simple_take(&g_gil, 1);
    atomic_store(&s->holding, true);
    while (!atomic_load_explicit(&s->stop, memory_order_relaxed)) {
        sum += gil_work(s->ticks++);
        gil_simple_check(&g_gil, 1);
    }
    gil_simple_drop(&g_gil);
    return sum == 42 ? arg : NULL;
}

static void spinner_start(struct spinner *s)
{
    atomic_init(&s->stop, false);
    atomic_init(&s->holding, false);
    s->ticks = 0;
    CHECK_PT(pthread_create(&s->th, NULL, spin_main, s));
    for (int64_t until = now_ns() + BOUND; !atomic_load(&s->holding) && now_ns() < until;)
        sleep_ns(100 * NS_PER_US);
    assert_true(atomic_load(&s->holding));
}

static void test_drop_request_honoured(void **state)
{
    (void)state;
    const int64_t interval = NS_PER_MS;
    gil_simple_init(&g_gil, interval);
    struct spinner s;
    spinner_start(&s);
    int64_t t0 = now_ns();
    gil_simple_take(&g_gil, 0); /* the spinner never drops it on its own */
    int64_t waited = now_ns() - t0;
    atomic_store(&s.stop, true);
    gil_simple_drop(&g_gil);
    join_within(s.th, BOUND);
    /* each request costs a whole interval of waiting first (a busy machine may make the
     * waiter ask more than once, if the spinner is slow to see the request) */
    assert_true(g_gil.drop_requests >= 1);
    assert_true((int64_t)g_gil.drop_requests * interval <= waited);
    assert_true(waited < BOUND);
    assert_true(s.ticks > 0);
    assert_int_equal(g_gil.switch_number, 3); /* spinner, main, spinner again to leave */
    gil_simple_destroy(&g_gil);
}

/* An interval of INT64_MAX ns never runs out: the waiter never asks, and gets the GIL
 * only when the spinner leaves (an interval wrapped round into the past would ask). */
static void *take_and_leave(void *arg)
{
    (void)arg;
    gil_simple_take(&g_gil, 0);
    gil_simple_drop(&g_gil);
    return NULL;
}

static void test_huge_interval_never_asks(void **state)
{
    (void)state;
    const int64_t intervals[] = { INT64_MAX, INT64_MAX - 1 };
    for (size_t i = 0; i < ARRAY_LEN(intervals); i++) {
        gil_simple_init(&g_gil, intervals[i]);
        struct spinner s;
        spinner_start(&s);
        pthread_t th;
        CHECK_PT(pthread_create(&th, NULL, take_and_leave, NULL));
        sleep_ns(100 * NS_PER_MS);
        CHECK_PT(pthread_mutex_lock(&g_gil.mutex));
        unsigned long mid = g_gil.drop_requests;
        CHECK_PT(pthread_mutex_unlock(&g_gil.mutex));
        atomic_store(&s.stop, true);
        join_within(s.th, BOUND);
        join_within(th, BOUND);
        assert_int_equal(mid, 0);
        assert_int_equal(g_gil.drop_requests, 0);
        assert_int_equal(g_gil.switch_number, 2);
        gil_simple_destroy(&g_gil);
    }
}

/* ---- switch_number counts changes of holder only ---- */

static void test_switch_number(void **state)
{
    (void)state;
    gil_simple_init(&g_gil, 5 * NS_PER_MS);
    static const int takers[] = { 0, 0, 0, 0, 0, 1, 1, 0 };
    static const unsigned long after[] = { 1, 1, 1, 1, 1, 2, 2, 3 };
    for (size_t i = 0; i < ARRAY_LEN(takers); i++) {
        gil_simple_take(&g_gil, takers[i]);
        assert_int_equal(g_gil.switch_number, after[i]);
        assert_int_equal(g_gil.last_holder, takers[i]);
        gil_simple_drop(&g_gil);
    }
    assert_int_equal(g_gil.drop_requests, 0);
    gil_simple_destroy(&g_gil);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_never_two_holders),
        cmocka_unit_test(test_drop_request_honoured),
        cmocka_unit_test(test_huge_interval_never_asks),
        cmocka_unit_test(test_switch_number),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
