/* test_executor.c: the tests of chapters/11-futures' executors, ThreadPoolExecutor
 * (texec.c, on chapter 09's queue) and ProcessPoolExecutor (pexec.c, on chapter 03's
 * pool): every task runs exactly once, with its result or its exception in its future;
 * an idle thread is reused before a new one starts; shutdown(wait) waits for the
 * running tasks and shutdown(wait=False) does not; submit after shutdown is refused;
 * shutdown(cancel_futures) cancels the queued tasks, not the running ones; map gives
 * the results in order, and stops at a timeout or an exception, cancelling the rest; a
 * process executor cannot cancel what waits in its call queue (max_workers + 1 tasks
 * beside the running ones); a
 * worker killed mid-task breaks a Python-style executor (every pending future fails,
 * submit refused) and costs a replacing one that task only; arguments too big are
 * refused. */
#include "../chapters/11-futures/executor.h"

#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "synctest.h"
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MS(x) ((int64_t)(x) * NS_PER_MS)

enum { NTASKS = 120 };

/* what the tasks did, in memory the worker processes share with the test */
struct runs {
    _Atomic int count[NTASKS];
    _Atomic long tid[NTASKS];
};
static struct runs *g_runs;

struct job {
    long i;
    int64_t sleep;
    int code;     /* != 0: the task "raises" */
    bool suicide; /* SIGKILL its own worker */
};

static int task(const void *arg, size_t len, void *out, size_t cap, size_t *out_len)
{
    struct job j;
    (void)cap;
    if (len != sizeof j)
        return 99;
    memcpy(&j, arg, sizeof j);
    atomic_fetch_add(&g_runs->count[j.i], 1);
    atomic_store(&g_runs->tid[j.i], (long)gettid());
    if (j.suicide)
        raise(SIGKILL);
    sleep_ns(j.sleep);
    if (j.code)
        return j.code;
    long y = j.i * j.i;
    memcpy(out, &y, sizeof y);
    *out_len = sizeof y;
    return 0;
}

static int setup(void **state)
{
    (void)state;
    g_runs = mmap(NULL, sizeof *g_runs, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return g_runs == MAP_FAILED ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    return munmap(g_runs, sizeof *g_runs);
}

static struct future *submit(struct executor *e, struct job j)
{
    struct future *f = NULL;
    assert_int_equal(executor_submit(e, task, &j, sizeof j, &f), FUTURE_OK);
    return f;
}

static void check_value(struct future *f, long i)
{
    long y = -1;
    assert_int_equal(future_result(f, SECONDS(20), &y, sizeof y, NULL), FUTURE_OK);
    assert_int_equal(y, i * i);
}

/* NTASKS tasks, one in ten raising: every one runs once, its future says how it ended */
static void every_task_once(struct executor *e)
{
    memset(g_runs, 0, sizeof *g_runs);
    struct future *fs[NTASKS];
    for (long i = 0; i < NTASKS; i++)
        fs[i] = submit(e, (struct job){ .i = i, .code = i % 10 == 3 ? 7 : 0 });
    for (long i = 0; i < NTASKS; i++) {
        if (i % 10 == 3) {
            struct future_error err;
            assert_int_equal(future_result(fs[i], SECONDS(20), NULL, 0, NULL), FUTURE_RAISED);
            assert_int_equal(future_exception(fs[i], 0, &err), FUTURE_OK);
            assert_int_equal(err.kind, FUTURE_EXC_RAISED);
            assert_int_equal(err.code, 7);
        } else {
            check_value(fs[i], i);
        }
        future_release(fs[i]);
    }
    executor_free(e);
    for (long i = 0; i < NTASKS; i++)
        assert_int_equal(atomic_load(&g_runs->count[i]), 1);
}

static void test_threads_run_every_task_once(void **state)
{
    (void)state;
    every_task_once(thread_executor_new(4, "t"));
}

static void test_processes_run_every_task_once(void **state)
{
    (void)state;
    every_task_once(process_executor_new(3, EXEC_REPLACE));
}

static void test_idle_thread_reused(void **state)
{
    (void)state;
    memset(g_runs, 0, sizeof *g_runs);
    struct executor *e = thread_executor_new(8, "t");
    for (long i = 0; i < 5; i++) { /* one at a time: a thread is idle each time */
        struct future *f = submit(e, (struct job){ .i = i });
        check_value(f, i);
        future_release(f);
        /* the worker says it is idle just after it sets the result (as in Python):
         * give it time, or the next submit starts a thread */
        sleep_ns(MS(50));
    }
    executor_free(e);
    int distinct = 1;
    for (long i = 1; i < 5; i++) {
        bool seen = false;
        for (long k = 0; k < i; k++)
            seen = seen || atomic_load(&g_runs->tid[k]) == atomic_load(&g_runs->tid[i]);
        distinct += !seen;
    }
    assert_true(distinct <= 2); /* 1 unless a worker was very late; 5 if never reused */
}

static void shutdown_semantics(struct executor *e)
{
    struct future *f = submit(e, (struct job){ .i = 3, .sleep = MS(150) });
    sleep_ns(MS(20)); /* it runs */
    int64_t t0 = now_ns();
    executor_shutdown(e, false, false); /* returns at once, the task goes on */
    assert_true(now_ns() - t0 < MS(100));
    assert_false(future_done(f));
    struct future *g;
    long x = 1;
    assert_int_equal(executor_submit(e, task, &x, sizeof x, &g), FUTURE_SHUT_DOWN);
    assert_null(g);
    executor_shutdown(e, true, false); /* waits for it */
    assert_true(future_done(f));
    assert_took(t0, MS(100));
    check_value(f, 3);
    future_release(f);
    executor_free(e);
}

static void test_shutdown_wait(void **state)
{
    (void)state;
    shutdown_semantics(thread_executor_new(2, "t"));
    shutdown_semantics(process_executor_new(2, EXEC_REPLACE));
}

/* one worker busy, more queued: which can still be cancelled */
static void cancel_queued(struct executor *e, int reachable_from)
{
    struct future *fs[6];
    for (long i = 0; i < 6; i++)
        fs[i] = submit(e, (struct job){ .i = i, .sleep = i == 0 ? MS(100) : MS(1) });
    sleep_ns(MS(30));
    executor_shutdown(e, true, true); /* cancel_futures: the queued ones go */
    check_value(fs[0], 0);
    for (int i = 1; i < 6; i++) {
        if (i < reachable_from)
            check_value(fs[i], i); /* it was RUNNING already */
        else
            assert_int_equal(future_result(fs[i], 0, NULL, 0, NULL), FUTURE_CANCELLED_ERROR);
        future_release(fs[i]);
    }
    future_release(fs[0]);
    executor_free(e);
}

static void test_shutdown_cancel_futures(void **state)
{
    (void)state;
    cancel_queued(thread_executor_new(1, "t"), 1);
    /* a process executor of 1 has 3 tasks in its pool: 1 running, 2 in the call queue */
    cancel_queued(process_executor_new(1, EXEC_REPLACE), 3);
}

static void map_semantics(struct executor *e)
{
    struct job in[8];
    long out[8];
    size_t got;
    for (long i = 0; i < 8; i++)
        in[i] = (struct job){ .i = i };
    assert_int_equal(executor_map(e, task, in, sizeof in[0], 8, out, sizeof out[0], -1, &got, NULL), FUTURE_OK);
    assert_int_equal(got, 8);
    for (long i = 0; i < 8; i++)
        assert_int_equal(out[i], i * i);
    for (long i = 0; i < 8; i++) /* item 2 hangs on: a timeout there */
        in[i] = (struct job){ .i = i, .sleep = i == 2 ? MS(300) : 0 };
    int64_t t0 = now_ns();
    assert_int_equal(executor_map(e, task, in, sizeof in[0], 8, out, sizeof out[0], MS(100), &got, NULL),
                     FUTURE_TIMEOUT);
    assert_took(t0, MS(90));
    assert_int_equal(got, 2);
    struct future_error err;
    in[2] = (struct job){ .i = 2, .code = 5 }; /* item 2 raises */
    assert_int_equal(executor_map(e, task, in, sizeof in[0], 8, out, sizeof out[0], -1, &got, &err), FUTURE_RAISED);
    assert_int_equal(got, 2);
    assert_int_equal(err.code, 5);
    executor_free(e);
}

static void test_map(void **state)
{
    (void)state;
    map_semantics(thread_executor_new(3, "t"));
    map_semantics(process_executor_new(2, EXEC_REPLACE));
}

/* worker A dies in task 1 while B runs task 0; tasks 2..5 wait */
static void kill_one(enum exec_on_death how)
{
    memset(g_runs, 0, sizeof *g_runs);
    struct executor *e = process_executor_new(2, how);
    struct future *fs[6];
    fs[0] = submit(e, (struct job){ .i = 0, .sleep = MS(200) });
    fs[1] = submit(e, (struct job){ .i = 1, .suicide = true });
    for (long i = 2; i < 6; i++) /* long enough that none can finish before the death is seen */
        fs[i] = submit(e, (struct job){ .i = i, .sleep = MS(200) });
    struct future_error err;
    for (int i = 0; i < 6; i++) {
        long y;
        int rc = future_result(fs[i], SECONDS(20), &y, sizeof y, NULL);
        assert_int_equal(future_exception(fs[i], 0, &err), FUTURE_OK);
        if (how == EXEC_BREAK) { /* Python: every pending future, the running task 0 too */
            assert_int_equal(rc, FUTURE_RAISED);
            assert_int_equal(err.kind, FUTURE_EXC_BROKEN);
        } else if (i == 1) { /* the pool: that task only, with the signal */
            assert_int_equal(rc, FUTURE_RAISED);
            assert_int_equal(err.kind, FUTURE_EXC_DIED);
            assert_int_equal(err.code, SIGKILL);
        } else {
            assert_int_equal(rc, FUTURE_OK);
        }
        future_release(fs[i]);
    }
    struct future *f;
    long x = 6;
    int rc = executor_submit(e, task, &x, sizeof x, &f);
    if (how == EXEC_BREAK) {
        assert_int_equal(rc, FUTURE_BROKEN);
    } else {
        assert_int_equal(rc, FUTURE_OK);
        future_release(f);
    }
    executor_free(e);
    if (how == EXEC_REPLACE)
        for (int i = 0; i < 6; i++)
            assert_int_equal(atomic_load(&g_runs->count[i]), 1); /* none ran twice */
}

static void test_dead_worker_breaks(void **state)
{
    (void)state;
    kill_one(EXEC_BREAK);
}

static void test_dead_worker_replaced(void **state)
{
    (void)state;
    kill_one(EXEC_REPLACE);
}

static void test_too_big(void **state)
{
    (void)state;
    struct executor *e = thread_executor_new(1, "t");
    static char big[EXEC_MSG_MAX + 1];
    struct future *f;
    assert_int_equal(executor_submit(e, task, big, sizeof big, &f), FUTURE_TOO_BIG);
    assert_null(f);
    assert_int_equal(executor_max_workers(e), 1);
    assert_string_equal(executor_kind(e), "ThreadPoolExecutor");
    executor_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_run_every_task_once),
        cmocka_unit_test(test_processes_run_every_task_once),
        cmocka_unit_test(test_idle_thread_reused),
        cmocka_unit_test(test_shutdown_wait),
        cmocka_unit_test(test_shutdown_cancel_futures),
        cmocka_unit_test(test_map),
        cmocka_unit_test(test_dead_worker_breaks),
        cmocka_unit_test(test_dead_worker_replaced),
        cmocka_unit_test(test_too_big),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
