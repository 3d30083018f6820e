/* test_startmethod.c: the tests of chapters/10-shared/startmethod.c.
 *
 * Every start method runs a task and returns its result and exit code 0; each worker
 * starts from what its method promises (fork: the parent now; spawn: a fresh program;
 * forkserver: the program when the server started), and has the parent it should; a
 * worker that dies reports no result and minus the signal, through the fork server
 * too; a wait with a timeout comes back in time with the worker still running; the
 * fork server stops, is reaped, and starts again on the next launch.
 *
 * This program spawns itself: main() calls startmethod_main() first, like any program that
 * uses spawn.
 */
#include "../chapters/10-shared/startmethod.h"
#include "testutil.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <unistd.h>

static long g_setting = 1;

static uint64_t square(uint64_t x)
{
    return x * x;
}
static uint64_t setting(uint64_t x)
{
    (void)x;
    return (uint64_t)g_setting;
}
static uint64_t parent(uint64_t x)
{
    (void)x;
    return (uint64_t)getppid();
}
static uint64_t die_by_kill(uint64_t x)
{
    (void)x;
    raise(SIGKILL);
    return 0;
}
static uint64_t nap(uint64_t ns)
{
    sleep_ns((int64_t)ns);
    return 1;
}

static const struct start_task g_tasks[] = {
    { "square", square }, { "setting", setting }, { "parent", parent },
    { "die", die_by_kill }, { "nap", nap }, { NULL, NULL },
};

static struct worker run(enum start_method m, const char *task, uint64_t arg)
{
    struct worker w;
    start_worker(m, task, arg, &w);
    assert_int_equal(worker_wait(&w, 30 * NS_PER_S), 0);
    assert_true(w.done);
    return w;
}

static void test_each_method_returns_its_result(void **state)
{
    (void)state;
    for (int m = 0; m < START_METHODS; m++) {
        struct worker w = run((enum start_method)m, "square", 12345);
        assert_true(w.has_result);
        assert_int_equal(w.result, 12345u * 12345u);
        assert_int_equal(w.exitcode, 0);
        assert_int_equal(w.fd, -1);
    }
}

static void test_what_each_starts_from(void **state)
{
    (void)state;
    forkserver_stop();
    g_setting = 2;
    forkserver_start(); /* the server has 2 */
    g_setting = 3;             /* the parent has 3; a new program has 1 */
    assert_int_equal(run(START_FORK, "setting", 0).result, 3);
    assert_int_equal(run(START_SPAWN, "setting", 0).result, 1);
    assert_int_equal(run(START_FORKSERVER, "setting", 0).result, 2);
    assert_int_equal(run(START_FORK, "parent", 0).result, getpid());
    assert_int_equal(run(START_SPAWN, "parent", 0).result, getpid());
    assert_int_equal(run(START_FORKSERVER, "parent", 0).result, forkserver_pid());
    g_setting = 1;
}

static void test_a_worker_that_dies(void **state)
{
    (void)state;
    for (int m = 0; m < START_METHODS; m++) {
        struct worker w = run((enum start_method)m, "die", 0);
        assert_false(w.has_result);
        assert_int_equal(w.exitcode, -SIGKILL);
    }
}

static void test_wait_timeout(void **state)
{
    (void)state;
    for (int m = 0; m < START_METHODS; m++) {
        struct worker w;
        start_worker((enum start_method)m, "nap", (uint64_t)(20 * NS_PER_S), &w);
        int64_t t = now_ns();
        assert_int_equal(worker_wait(&w, 100 * NS_PER_MS), ETIMEDOUT);
        t = now_ns() - t;
        assert_true(t >= 100 * NS_PER_MS && t < 5 * NS_PER_S);
        assert_false(w.done);
        assert_int_equal(kill(w.pid, SIGKILL), 0);
        assert_int_equal(worker_wait(&w, 10 * NS_PER_S), 0);
        assert_int_equal(w.exitcode, -SIGKILL);
    }
}

static void test_forkserver_stop_and_restart(void **state)
{
    (void)state;
    forkserver_start();
    pid_t first = forkserver_pid();
    assert_true(first > 0);
    forkserver_stop();
    assert_int_equal(forkserver_pid(), 0);
    assert_int_equal(kill(first, 0), -1); /* reaped */
    assert_int_equal(errno, ESRCH);
    assert_int_equal(run(START_FORKSERVER, "square", 3).result, 9); /* starts a new one */
    assert_true(forkserver_pid() > 0 && forkserver_pid() != first);
    forkserver_stop();
}

int main(int argc, char **argv)
{
    startmethod_main(argc, argv, g_tasks); /* a spawned worker of this test runs in here */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_method_returns_its_result),
        cmocka_unit_test(test_what_each_starts_from),
        cmocka_unit_test(test_a_worker_that_dies),
        cmocka_unit_test(test_wait_timeout),
        cmocka_unit_test(test_forkserver_stop_and_restart),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    forkserver_stop();
    return rc;
}
