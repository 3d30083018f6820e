/* test_future.c: the tests of chapters/11-futures/future.c and wait.c, Python's
 * concurrent.futures.Future, wait() and as_completed(): the state machine and every
 * error path (a result that times out, a cancel refused while RUNNING or FINISHED, a
 * set_result refused once done, a result too big for the buffer), an exception
 * carried to result() and exception(), callbacks run exactly once each, in order, in
 * the finishing thread or at once when added late; a result() woken by another
 * thread; wait() with FIRST_COMPLETED, FIRST_EXCEPTION and ALL_COMPLETED, with and
 * without a timeout, on futures already done and on duplicates; as_completed in the
 * order of finishing, with a timeout; a future moved to RUNNING once finished dies with
 * a message; and a stress
 * test where many threads finish futures that many waiters watch. */
#include "../chapters/11-futures/future.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "synctest.h"
#include "testutil.h"
#include <stdlib.h>
#include <string.h>

#define MS(x) ((int64_t)(x) * NS_PER_MS)

static void set_long(struct future *f, long v)
{
    assert_int_equal(future_set_result(f, &v, sizeof v), FUTURE_OK);
}

static void test_states_and_result(void **state)
{
    (void)state;
    struct future *f = future_new();
    long v = 0;
    size_t len = 0;
    assert_int_equal(future_state(f), FUTURE_PENDING);
    assert_false(future_done(f));
    assert_int_equal(future_result(f, 0, &v, sizeof v, &len), FUTURE_TIMEOUT); /* no wait */
    int64_t t0 = now_ns();
    assert_int_equal(future_result(f, MS(30), &v, sizeof v, &len), FUTURE_TIMEOUT);
    assert_took(t0, MS(30));
    struct future_error e;
    assert_int_equal(future_exception(f, MS(1), &e), FUTURE_TIMEOUT);

    assert_true(future_set_running_or_notify_cancel(f)); /* PENDING -> RUNNING */
    assert_true(future_running(f));
    assert_false(future_cancel(f)); /* Python: a running future cannot be cancelled */
    assert_int_equal(future_state(f), FUTURE_RUNNING);

    set_long(f, 42);
    assert_int_equal(future_state(f), FUTURE_FINISHED);
    assert_true(future_done(f));
    assert_int_equal(future_result(f, -1, &v, sizeof v, &len), FUTURE_OK);
    assert_int_equal(v, 42);
    assert_int_equal(len, sizeof v);
    assert_int_equal(future_result(f, -1, &v, 4, &len), FUTURE_TOO_BIG); /* says how long it is */
    assert_int_equal(len, sizeof v);
    assert_int_equal(future_exception(f, -1, &e), FUTURE_OK);
    assert_int_equal(e.kind, FUTURE_EXC_NONE);
    /* done is done: no second result, no exception, no cancel */
    assert_int_equal(future_set_result(f, &v, sizeof v), FUTURE_INVALID_STATE);
    assert_int_equal(future_set_exception(f, FUTURE_EXC_RAISED, 1, "late"), FUTURE_INVALID_STATE);
    assert_false(future_cancel(f));
    assert_int_equal(future_result(f, 0, &v, sizeof v, NULL), FUTURE_OK);
    assert_int_equal(v, 42);
    future_release(f);
}

static void test_cancel(void **state)
{
    (void)state;
    struct future *f = future_new();
    assert_true(future_cancel(f)); /* PENDING: it goes */
    assert_true(future_cancelled(f));
    assert_true(future_done(f));
    assert_true(future_cancel(f)); /* again: still True, as in Python */
    assert_int_equal(future_result(f, -1, NULL, 0, NULL), FUTURE_CANCELLED_ERROR);
    assert_int_equal(future_exception(f, -1, NULL), FUTURE_CANCELLED_ERROR);
    assert_false(future_set_running_or_notify_cancel(f)); /* the executor must skip it */
    long v = 1;
    assert_int_equal(future_set_result(f, &v, sizeof v), FUTURE_INVALID_STATE);
    future_release(f);
}

static void test_exception_carried(void **state)
{
    (void)state;
    struct future *f = future_new();
    assert_true(future_set_running_or_notify_cancel(f));
    assert_int_equal(future_set_exception(f, FUTURE_EXC_RAISED, 42, "boom %d", 7), FUTURE_OK);
    long v = -1;
    assert_int_equal(future_result(f, -1, &v, sizeof v, NULL), FUTURE_RAISED);
    assert_int_equal(v, -1); /* nothing copied */
    struct future_error e;
    assert_int_equal(future_exception(f, -1, &e), FUTURE_OK);
    assert_int_equal(e.kind, FUTURE_EXC_RAISED);
    assert_int_equal(e.code, 42);
    assert_string_equal(e.what, "boom 7");
    future_release(f);
}

struct setter {
    struct future *f;
    int64_t after;
    long value;
    int exc; /* set an exception instead */
    pthread_t th;
};

static void *set_later(void *p)
{
    struct setter *s = p;
    sleep_ns(s->after);
    if (s->exc)
        future_set_exception(s->f, FUTURE_EXC_RAISED, s->exc, "raised");
    else
        future_set_result(s->f, &s->value, sizeof s->value);
    return NULL;
}

static void test_result_woken_by_another_thread(void **state)
{
    (void)state;
    struct setter s = { .f = future_new(), .after = MS(30), .value = 7 };
    start(&s.th, set_later, &s);
    long v = 0;
    int64_t t0 = now_ns();
    assert_int_equal(future_result(s.f, -1, &v, sizeof v, NULL), FUTURE_OK);
    assert_took(t0, MS(25));
    assert_int_equal(v, 7);
    join(s.th);
    future_release(s.f);
}

/* callbacks record who ran, in what order, in which thread */
static atomic_int g_calls;
static int g_order[8], g_rc[8];
static pthread_t g_thread[8];

static void record(struct future *f, void *arg) /* no assertions here: another thread */
{
    int k = atomic_fetch_add(&g_calls, 1);
    g_order[k] = (int)(intptr_t)arg;
    g_thread[k] = pthread_self();
    long v;
    /* a callback may look at its future: the lock is not held (else: a deadlock) */
    g_rc[k] = future_result(f, 0, &v, sizeof v, NULL);
}

static void test_callbacks_once_in_order(void **state)
{
    (void)state;
    atomic_store(&g_calls, 0);
    struct setter s = { .f = future_new(), .after = MS(20), .value = 1 };
    future_add_done_callback(s.f, record, (void *)1);
    future_add_done_callback(s.f, record, (void *)2);
    start(&s.th, set_later, &s);
    join(s.th);
    assert_int_equal(atomic_load(&g_calls), 2); /* ran before set_result returned */
    assert_int_equal(g_order[0], 1);
    assert_int_equal(g_order[1], 2);
    assert_true(pthread_equal(g_thread[0], s.th)); /* in the thread that finished it */
    assert_int_equal(g_rc[0], FUTURE_OK);        /* and saw it finished */
    future_add_done_callback(s.f, record, (void *)3); /* done already: at once, here */
    assert_int_equal(atomic_load(&g_calls), 3);
    assert_true(pthread_equal(g_thread[2], pthread_self()));
    assert_int_equal(future_set_result(s.f, &s.value, sizeof s.value), FUTURE_INVALID_STATE);
    assert_false(future_cancel(s.f));
    assert_int_equal(atomic_load(&g_calls), 3); /* none ran twice */
    future_release(s.f);

    struct future *f = future_new(); /* a cancel runs them too */
    future_add_done_callback(f, record, (void *)4);
    assert_true(future_cancel(f));
    assert_true(future_cancel(f));
    assert_int_equal(atomic_load(&g_calls), 4);
    assert_int_equal(g_order[3], 4);
    assert_int_equal(g_rc[3], FUTURE_CANCELLED_ERROR);
    future_release(f);

    f = future_new(); /* a future freed unfinished frees its callbacks (valgrind, ASan) */
    future_add_done_callback(f, record, (void *)5);
    future_release(f);
    assert_int_equal(atomic_load(&g_calls), 4);
}

/* three futures finished by threads at 20, 40 and 60 ms, in the order given */
static void finish_three(struct setter s[3], struct future *fs[3], const int order[3], int exc_at)
{
    for (int i = 0; i < 3; i++) {
        fs[i] = future_new();
        s[i] = (struct setter){ .f = fs[i], .after = MS(20) * (order[i] + 1), .value = i,
                                .exc = i == exc_at ? 9 : 0 };
        start(&s[i].th, set_later, &s[i]);
    }
}

static void join_three(struct setter s[3], struct future *fs[3])
{
    for (int i = 0; i < 3; i++) {
        join(s[i].th);
        future_release(fs[i]);
    }
}

static void test_wait_modes(void **state)
{
    (void)state;
    struct setter s[3];
    struct future *fs[3];
    bool done[3];
    static const int order[3] = { 2, 0, 1 }; /* fs[1] first, then fs[2], then fs[0] */

    finish_three(s, fs, order, -1);
    int64_t t0 = now_ns();
    assert_int_equal(future_wait(fs, 3, -1, FUTURE_FIRST_COMPLETED, done), 1);
    assert_took(t0, MS(15));
    assert_true(done[1] && !done[0] && !done[2]);
    join_three(s, fs);

    finish_three(s, fs, order, 2); /* the second to finish raises */
    assert_int_equal(future_wait(fs, 3, -1, FUTURE_FIRST_EXCEPTION, done), 2);
    assert_true(done[1] && done[2] && !done[0]);
    join_three(s, fs);

    finish_three(s, fs, order, -1); /* none raises: FIRST_EXCEPTION waits for all */
    assert_int_equal(future_wait(fs, 3, -1, FUTURE_FIRST_EXCEPTION, done), 3);
    join_three(s, fs);

    finish_three(s, fs, order, -1);
    t0 = now_ns();
    assert_int_equal(future_wait(fs, 3, MS(30), FUTURE_ALL_COMPLETED, done), 1); /* a timeout: no error */
    assert_took(t0, MS(30));
    assert_true(done[1] && !done[0]);
    assert_int_equal(future_wait(fs, 3, -1, FUTURE_ALL_COMPLETED, done), 3);
    assert_true(done[0] && done[1] && done[2]);
    /* all done already: at once, whatever the mode; duplicates count once */
    struct future *dup[4] = { fs[0], fs[0], fs[1], fs[2] };
    t0 = now_ns();
    assert_int_equal(future_wait(dup, 4, MS(500), FUTURE_FIRST_COMPLETED, NULL), 4);
    assert_int_equal(future_wait(dup, 4, -1, FUTURE_ALL_COMPLETED, NULL), 4);
    assert_true(now_ns() - t0 < MS(400));
    assert_int_equal(future_wait(NULL, 0, -1, FUTURE_FIRST_COMPLETED, NULL), 0); /* nothing to wait for */
    join_three(s, fs);

    struct future *f = future_new(); /* a cancel completes a wait at once */
    struct future *one[1] = { f };
    future_cancel(f);
    assert_int_equal(future_wait(one, 1, MS(500), FUTURE_FIRST_EXCEPTION, done), 1);
    future_release(f);
}

static void test_as_completed(void **state)
{
    (void)state;
    struct setter s[3];
    struct future *fs[4];
    static const int order[3] = { 2, 0, 1 };
    finish_three(s, fs, order, 0);
    fs[3] = future_new();
    set_long(fs[3], 3); /* done before as_completed starts: given first */
    struct future *in[5] = { fs[0], fs[1], fs[2], fs[3], fs[1] }; /* a duplicate */
    struct as_completed *it = as_completed_new(in, 5, -1);
    static const int expect[4] = { 3, 1, 2, 0 };
    struct future *f;
    for (int k = 0; k < 4; k++) {
        assert_int_equal(as_completed_next(it, &f), FUTURE_OK);
        assert_ptr_equal(f, fs[expect[k]]);
        assert_true(future_done(f));
    }
    assert_int_equal(as_completed_next(it, &f), FUTURE_OK); /* StopIteration */
    assert_null(f);
    as_completed_free(it);
    join_three(s, fs);
    future_release(fs[3]);

    struct future *a = future_new(), *b = future_new(); /* with a timeout */
    set_long(a, 1);
    struct future *two[2] = { a, b };
    it = as_completed_new(two, 2, MS(30));
    int64_t t0 = now_ns();
    assert_int_equal(as_completed_next(it, &f), FUTURE_OK);
    assert_ptr_equal(f, a);
    assert_int_equal(as_completed_next(it, &f), FUTURE_TIMEOUT); /* "1 (of 2) futures unfinished" */
    assert_took(t0, MS(25));
    assert_int_equal(as_completed_left(it), 1);
    as_completed_free(it);
    assert_true(future_cancel(b));
    future_release(a);
    future_release(b);
}

static void run_finished(void *arg)
{
    (void)arg;
    struct future *f = future_new();
    long v = 1;
    future_set_result(f, &v, sizeof v);
    future_set_running_or_notify_cancel(f);
}

static void test_misuse_dies(void **state)
{
    (void)state;
    struct captured c;
    capture(run_finished, NULL, SECONDS(10), &c);
    assert_int_equal(exitcode_of(c.status), 1);
    assert_non_null(strstr(c.err, "Future in unexpected state"));
}

/* ---- stress: T threads finish N futures each; W waiters watch them all ---- */
enum { T = 4, N = 200, W = 3 };
static struct future *g_fs[T * N];

static void *finisher(void *p)
{
    long t = (long)(intptr_t)p;
    for (long i = t; i < T * N; i += T) {
        if (i % 7 == 0 && future_cancel(g_fs[i]))
            continue;
        long v = i;
        if (future_set_running_or_notify_cancel(g_fs[i]))
            future_set_result(g_fs[i], &v, sizeof v);
    }
    return NULL;
}

static void *watcher(void *p)
{
    long *seen = p;
    struct as_completed *it = as_completed_new(g_fs, T * N, SECONDS(20));
    struct future *f;
    while (as_completed_next(it, &f) == FUTURE_OK && f)
        (*seen)++;
    as_completed_free(it);
    return NULL;
}

static void test_stress(void **state)
{
    (void)state;
    for (int i = 0; i < T * N; i++)
        g_fs[i] = future_new();
    pthread_t w[W], t[T];
    long seen[W] = { 0 };
    for (int k = 0; k < W; k++)
        start(&w[k], watcher, &seen[k]);
    for (long k = 0; k < T; k++)
        start(&t[k], finisher, (void *)(intptr_t)k);
    assert_int_equal(future_wait(g_fs, T * N, SECONDS(20), FUTURE_ALL_COMPLETED, NULL), T * N);
    for (int k = 0; k < T; k++)
        join(t[k]);
    for (int k = 0; k < W; k++) {
        join(w[k]);
        assert_int_equal(seen[k], T * N); /* every future once to every watcher */
    }
    for (int i = 0; i < T * N; i++) {
        long v = -1;
        int rc = future_result(g_fs[i], 0, &v, sizeof v, NULL);
        assert_true(rc == FUTURE_OK ? v == i : rc == FUTURE_CANCELLED_ERROR && i % 7 == 0);
        future_release(g_fs[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_states_and_result),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_exception_carried),
        cmocka_unit_test(test_result_woken_by_another_thread),
        cmocka_unit_test(test_callbacks_once_in_order),
        cmocka_unit_test(test_wait_modes),
        cmocka_unit_test(test_as_completed),
        cmocka_unit_test(test_misuse_dies),
        cmocka_unit_test(test_stress),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
