/* test_pool.c: the tests of chapters/03-pool/pool.c.
 *
 * Results correct and in the right handles; workers reused; get with a timeout; a
 * task that fails, one that crashes, a worker killed mid-task (reported with its pid
 * and signal, and replaced, the other results intact); a worker that dies inside its
 * get, after stamping its record and before the commit, does not take the task with it;
 * terminate leaves no process; map with several chunk sizes; close and join, also when
 * a worker dies after close.
 *
 * test_pool_simple.c includes this file with POOL_SIMPLE defined, linked with
 * pool_simple.c: the cases that apply to the simple pool (results, reuse, timeouts,
 * failed tasks, misuse), and one of its own that shows the failure pool.c exists to
 * handle.
 */
#include "../chapters/03-pool/pool.h"
#ifndef POOL_SIMPLE
#include "../chapters/02-queue/queue.h"
#endif
#include "testutil.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#define MS(x) ((int64_t)(x) * NS_PER_MS)

/* what a task is told to do */
struct order {
    long value;
    int64_t sleep_ns;
    int fail_code; /* return this if non-zero */
    bool crash;    /* abort() */
    bool quit;     /* exit(0) from inside the task */
    _Atomic pid_t *started; /* if set: where to write the worker's pid as it starts */
};

static int obey(const void *arg, size_t len, void *out, size_t cap, size_t *out_len)
{
    struct order o;
    if (len != sizeof o || cap < sizeof(long) + sizeof(pid_t)) /* (no cmocka asserts in a worker) */
        return 99;
    memcpy(&o, arg, sizeof o);
    if (o.started)
        *o.started = getpid();
    if (o.sleep_ns)
        sleep_ns(o.sleep_ns);
    if (o.crash) {
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1) /* no core file, whatever ulimit -c says */
            return 98;
        abort();
    }
    if (o.quit)
        exit(0);
    if (o.fail_code)
        return o.fail_code;
    long v = o.value * o.value + 1;
    pid_t me = getpid();
    memcpy(out, &v, sizeof v);
    memcpy((char *)out + sizeof v, &me, sizeof me);
    *out_len = sizeof v + sizeof me;
    return 0;
}

static pool_task submit(struct pool *p, long value, int64_t sleep_for)
{
    struct order o = { .value = value, .sleep_ns = sleep_for };
    return pool_apply_async(p, obey, &o, sizeof o);
}

/* get, check the value, return the pid that ran it */
static pid_t check_result(struct pool *p, pool_task t, long value)
{
    unsigned char buf[64];
    struct pool_result r;
    int rc = pool_get(p, t, 10 * NS_PER_S, buf, sizeof buf, &r);
    if (rc != POOL_OK)
        fail_msg("task for %ld: %s", value, pool_status_name(rc));
    long v;
    pid_t pid;
    memcpy(&v, buf, sizeof v);
    memcpy(&pid, buf + sizeof v, sizeof pid);
    assert_int_equal(r.len, sizeof v + sizeof pid);
    assert_int_equal(v, value * value + 1);
    assert_int_equal(pid, r.pid);
    return pid;
}

static bool is_worker(struct pool *p, pid_t pid)
{
    pid_t pids[64];
    int n = pool_workers(p, pids, 64);
    for (int i = 0; i < n; i++)
        if (pids[i] == pid)
            return true;
    return false;
}

static bool gone(pid_t pid)
{
    return kill(pid, 0) == -1 && errno == ESRCH; /* ended and reaped */
}

#ifndef POOL_SIMPLE
/* waits until some worker runs task t; its pid */
static pid_t running(struct pool *p, pool_task t)
{
    for (int64_t end = now_ns() + 10 * NS_PER_S; now_ns() < end; sleep_ns(NS_PER_MS)) {
        pool_ready(p, t);
        pid_t pid = pool_running(p, t);
        if (pid)
            return pid;
    }
    fail_msg("no worker took the task in 10 s");
    return 0;
}
#endif

static void test_results_in_their_handles(void **state)
{
    (void)state;
    enum { N = 50 };
    struct pool *p = pool_new(3, 256);
    pool_task h[N];
    for (long i = 0; i < N; i++)
        h[i] = submit(p, i, i % 7 == 0 ? MS(5) : 0);
    for (long i = N - 1; i >= 0; i--) { /* backwards: results arrive in another order */
        pid_t pid = check_result(p, h[i], i);
        assert_true(is_worker(p, pid));
        assert_true(pool_ready(p, h[i]));
    }
    check_result(p, h[3], 3); /* a result can be read again */
    pool_close(p);
    pool_join(p);
    pool_free(p);
}

static void test_workers_reused(void **state)
{
    (void)state;
    enum { N = 60, W = 3 };
    struct pool *p = pool_new(W, 256);
    pid_t before[W];
    assert_int_equal(pool_workers(p, before, W), W);
    pool_task h[N];
    for (long i = 0; i < N; i++)
        h[i] = submit(p, i, MS(1));
    /* 60 tasks, and every one ran on one of the 3 pids pool_new forked: each worker
     * ran many tasks, and no process was started for a task */
    for (long i = 0; i < N; i++) {
        pid_t pid = check_result(p, h[i], i);
        assert_true(pid == before[0] || pid == before[1] || pid == before[2]);
    }
#ifndef POOL_SIMPLE
    assert_int_equal(pool_replaced(p), 0);
#endif
    pool_close(p);
    pool_join(p);
    pool_free(p);
}

static void test_get_timeout(void **state)
{
    (void)state;
    struct pool *p = pool_new(2, 256);
    pool_task slow = submit(p, 5, MS(300));
#ifndef POOL_SIMPLE
    pid_t runner = running(p, slow);
#endif
    struct pool_result r;
    int64_t t = now_ns();
    assert_int_equal(pool_get(p, slow, MS(50), NULL, 0, &r), POOL_TIMEOUT);
    t = now_ns() - t;
    assert_true(t >= MS(45) && t < MS(1000));
    assert_false(pool_ready(p, slow));
#ifndef POOL_SIMPLE
    assert_int_equal(r.pid, runner);
    assert_int_equal(check_result(p, slow, 5), runner); /* the task was not disturbed */
#else
    check_result(p, slow, 5); /* the task was not disturbed */
#endif
    pool_free(p);
}

/* A timeout too long to add to the clock is no limit (pool_get used to compute
 * now_ns() + timeout_ns, a signed overflow that UBSan stops at, and that without it
 * wrapped round to a negative deadline, which the pool took for "none" by luck). */
static void test_get_huge_timeouts(void **state)
{
    (void)state;
    struct pool *p = pool_new(2, 256);
    const int64_t timeouts[] = { INT64_MAX, INT64_MAX - 1 };
    for (size_t i = 0; i < ARRAY_LEN(timeouts); i++) {
        pool_task t = submit(p, 7, MS(100));
        unsigned char buf[64];
        struct pool_result r;
        int64_t t0 = now_ns();
        assert_int_equal(pool_get(p, t, timeouts[i], buf, sizeof buf, &r), POOL_OK);
        assert_true(now_ns() - t0 >= MS(90)); /* it waited for the task */
        long v;
        memcpy(&v, buf, sizeof v);
        assert_int_equal(v, 7 * 7 + 1);
    }
    pool_close(p);
    pool_join(p);
    pool_free(p);
}

static void test_failed_and_crashed_tasks(void **state)
{
    (void)state;
    struct pool *p = pool_new(2, 256);
    struct order fail = { .fail_code = 7 };
    pool_task f = pool_apply_async(p, obey, &fail, sizeof fail);
#ifndef POOL_SIMPLE
    struct order crash = { .crash = true };
    pool_task c = pool_apply_async(p, obey, &crash, sizeof crash);
#endif
    pool_task ok = submit(p, 9, 0);
    struct pool_result r;
    assert_int_equal(pool_get(p, f, 10 * NS_PER_S, NULL, 0, &r), POOL_FAILED);
    assert_int_equal(r.code, 7);
    assert_true(r.pid > 0);
#ifndef POOL_SIMPLE
    assert_int_equal(pool_get(p, c, 10 * NS_PER_S, NULL, 0, &r), POOL_DIED);
    assert_int_equal(r.signal, SIGABRT);
    assert_true(gone(r.pid));
#endif
    check_result(p, ok, 9);
#ifndef POOL_SIMPLE
    assert_int_equal(pool_replaced(p), 1);
    /* a task that ends its worker with exit(0): not a worker leaving on STOP */
    struct order quit = { .quit = true };
    pool_task qt = pool_apply_async(p, obey, &quit, sizeof quit);
    assert_int_equal(pool_get(p, qt, 10 * NS_PER_S, NULL, 0, &r), POOL_DIED);
    assert_int_equal(r.signal, 0);
    assert_int_equal(r.exit_code, 0);
    assert_int_equal(pool_replaced(p), 2);
    pid_t pids[4];
    assert_int_equal(pool_workers(p, pids, 4), 2);
#endif
    /* a result bigger than the buffer */
    pool_task big = submit(p, 3, 0);
    char tiny[2];
    assert_int_equal(pool_get(p, big, 10 * NS_PER_S, tiny, sizeof tiny, &r), POOL_TOO_BIG);
    assert_int_equal(r.len, sizeof(long) + sizeof(pid_t));
    pool_free(p);
}

#ifdef POOL_SIMPLE
/* What pool.c exists for, missing here: a worker killed mid-task takes the task with
 * it. Its get times out, and again (the result will never come); the other results
 * are intact; and nobody replaces the worker: the next tasks all run on the two left,
 * and the dead one is a zombie until pool_join. (pool_killed_simple shows the same.) */
static void test_killed_worker_task_lost(void **state)
{
    (void)state;
    enum { N = 6 };
    _Atomic pid_t *started = mmap(NULL, sizeof *started, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(started != MAP_FAILED);
    *started = 0;
    struct pool *p = pool_new(3, 256);
    struct order o = { .value = 100, .sleep_ns = 5 * NS_PER_S, .started = started };
    pool_task victim = pool_apply_async(p, obey, &o, sizeof o);
    for (int64_t end = now_ns() + 10 * NS_PER_S; *started == 0 && now_ns() < end;)
        sleep_ns(NS_PER_MS);
    pid_t pid = *started;
    assert_true(pid > 0);
    assert_int_equal(kill(pid, SIGKILL), 0);
    struct pool_result r;
    assert_int_equal(pool_get(p, victim, MS(300), NULL, 0, &r), POOL_TIMEOUT);
    pool_task h[N];
    for (long i = 0; i < N; i++)
        h[i] = submit(p, i, MS(10));
    for (long i = 0; i < N; i++)
        assert_int_not_equal(check_result(p, h[i], i), pid); /* intact, on the others */
    assert_int_equal(pool_get(p, victim, MS(300), NULL, 0, &r), POOL_TIMEOUT);
    assert_true(is_worker(p, pid)); /* still counted: not replaced */
    assert_false(gone(pid));        /* a zombie: nobody has waited for it */
    pool_close(p);
    pool_join(p);
    assert_true(gone(pid));
    pool_free(p);
    assert_int_equal(munmap(started, sizeof *started), 0);
}
#else
static void test_killed_worker(void **state)
{
    (void)state;
    enum { N = 12 };
    struct pool *p = pool_new(3, 256);
    pool_task victim = submit(p, 100, 5 * NS_PER_S);
    pool_task h[N];
    for (long i = 0; i < N; i++)
        h[i] = submit(p, i, MS(10));
    pid_t pid = running(p, victim);
    assert_int_equal(kill(pid, SIGKILL), 0);
    struct pool_result r;
    int64_t t = now_ns();
    assert_int_equal(pool_get(p, victim, 10 * NS_PER_S, NULL, 0, &r), POOL_DIED);
    assert_true(now_ns() - t < 2 * NS_PER_S); /* noticed quickly, not after the 5 s task */
    assert_int_equal(r.pid, pid);
    assert_int_equal(r.signal, SIGKILL);
    for (long i = 0; i < N; i++)
        check_result(p, h[i], i); /* every other result intact */
    assert_true(gone(pid));
    assert_false(is_worker(p, pid));
    pid_t pids[8];
    assert_int_equal(pool_workers(p, pids, 8), 3); /* replaced */
    assert_int_equal(pool_replaced(p), 1);
    pool_task after = submit(p, 42, 0);
    check_result(p, after, 42);
    pool_close(p);
    pool_join(p);
    for (int i = 0; i < 3; i++)
        assert_true(gone(pids[i]));
    pool_free(p);
}

/* queue_test_hook in the workers (inherited through fork): the first worker to reach
 * "get:copied" kills itself there, inside the tasks queue's critical section, after
 * queue_get_claim stamped its record and before the get is committed */
static pid_t g_parent;
static _Atomic int *g_armed; /* shared, so that only one worker dies */
static void die_in_claimed_get(const char *point)
{
    if (getpid() != g_parent && strcmp(point, "get:copied") == 0 && atomic_exchange(g_armed, 0))
        raise(SIGKILL);
}

/* pool.c's first case: stamped but not committed means the worker took nothing. The
 * task must not be reported dead; it stays queued and the replacement runs it. */
static void test_worker_dies_inside_get(void **state)
{
    (void)state;
    g_parent = getpid();
    g_armed = mmap(NULL, sizeof *g_armed, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(g_armed != MAP_FAILED);
    *g_armed = 1;
    queue_test_hook = die_in_claimed_get;
    struct pool *p = pool_new(1, 256); /* one worker: the parent sees its death before any
                                        * other worker can take the task */
    pool_task t = submit(p, 6, 0);
    pid_t pid = check_result(p, t, 6); /* POOL_OK (run by the replacement), not POOL_DIED */
    assert_int_equal(*g_armed, 0);     /* a worker did die in there */
    for (int64_t end = now_ns() + 10 * NS_PER_S; pool_replaced(p) == 0 && now_ns() < end; sleep_ns(MS(1)))
        pool_ready(p, t); /* lets the parent notice the death (it looks every 10 ms) */
    assert_int_equal(pool_replaced(p), 1);
    assert_true(is_worker(p, pid));
    pool_close(p);
    pool_join(p);
    pool_free(p);
    queue_test_hook = NULL;
    assert_int_equal(munmap(g_armed, sizeof *g_armed), 0);
}

static void test_worker_dies_after_close(void **state)
{
    (void)state;
    struct pool *p = pool_new(2, 256);
    pool_task victim = submit(p, 1, 5 * NS_PER_S);
    pool_task h[6];
    for (long i = 0; i < 6; i++)
        h[i] = submit(p, i, MS(20));
    pid_t pid = running(p, victim);
    pool_close(p);
    assert_int_equal(kill(pid, SIGKILL), 0);
    int64_t t = now_ns();
    pool_join(p); /* the replacement must take the dead worker's STOP */
    assert_true(now_ns() - t < 3 * NS_PER_S);
    struct pool_result r;
    assert_int_equal(pool_get(p, victim, 0, NULL, 0, &r), POOL_DIED);
    for (long i = 0; i < 6; i++)
        check_result(p, h[i], i);
    pid_t pids[4];
    assert_int_equal(pool_workers(p, pids, 4), 0);
    pool_free(p);
}

static void test_terminate(void **state)
{
    (void)state;
    struct pool *p = pool_new(4, 256);
    pid_t pids[4];
    assert_int_equal(pool_workers(p, pids, 4), 4);
    pool_task h[8];
    for (long i = 0; i < 8; i++)
        h[i] = submit(p, i, 10 * NS_PER_S);
    running(p, h[0]);
    int64_t t = now_ns();
    pool_terminate(p);
    assert_true(now_ns() - t < 3 * NS_PER_S);
    for (int i = 0; i < 4; i++)
        assert_true(gone(pids[i]));
    struct pool_result r;
    for (long i = 0; i < 8; i++)
        assert_int_equal(pool_get(p, h[i], 0, NULL, 0, &r), POOL_CANCELLED);
    assert_int_equal(pool_workers(p, pids, 4), 0);
    pool_free(p);
}

static int triple(const void *arg, size_t len, void *out, size_t cap, size_t *out_len)
{
    uint32_t x;
    (void)len;
    (void)cap;
    memcpy(&x, arg, sizeof x);
    if (x == 777777)
        return 5; /* fails on this one item */
    uint64_t y = 3 * (uint64_t)x;
    memcpy(out, &y, sizeof y);
    *out_len = sizeof y;
    return 0;
}

static void test_map_chunks(void **state)
{
    (void)state;
    enum { N = 1000 };
    struct pool *p = pool_new(3, 16384); /* room for a chunk of all N results */
    uint32_t in[N];
    uint64_t out[N];
    for (uint32_t i = 0; i < N; i++)
        in[i] = i * 7 + 1;
    static const size_t chunks[] = { 1, 3, 7, 64, 500, 999, 1000, 5000 };
    for (size_t c = 0; c < ARRAY_LEN(chunks); c++) {
        size_t chunk = chunks[c]; /* 5000: more than there are items, one task */
        memset(out, 0, sizeof out);
        assert_int_equal(pool_map(p, triple, in, sizeof *in, N, out, sizeof *out, chunk, NULL), POOL_OK);
        for (size_t i = 0; i < N; i++)
            if (out[i] != 3 * (uint64_t)in[i])
                fail_msg("chunk %zu: item %zu is %llu", chunk, i, (unsigned long long)out[i]);
    }
    assert_int_equal(pool_map(p, triple, in, sizeof *in, 0, out, sizeof *out, 4, NULL), POOL_OK);
    in[500] = 777777;
    struct pool_result bad;
    assert_int_equal(pool_map(p, triple, in, sizeof *in, N, out, sizeof *out, 10, &bad), POOL_FAILED);
    assert_int_equal(bad.code, 5);
    pool_close(p);
    pool_join(p);
    pool_free(p);
}

#endif /* POOL_SIMPLE */

static void apply_after_close(void *arg)
{
    (void)arg;
    struct pool *p = pool_new(1, 256);
    pool_close(p);
    submit(p, 1, 0); /* dies: a programming error, Python's ValueError */
}

static void test_apply_after_close(void **state)
{
    (void)state;
    struct captured c;
    capture(apply_after_close, NULL, 10 * NS_PER_S, &c);
    assert_int_equal(exitcode_of(c.status), 1);
    assert_non_null(strstr(c.err, "after pool_close"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_results_in_their_handles),
        cmocka_unit_test(test_workers_reused),
        cmocka_unit_test(test_get_timeout),
        cmocka_unit_test(test_get_huge_timeouts),
        cmocka_unit_test(test_failed_and_crashed_tasks),
#ifdef POOL_SIMPLE
        cmocka_unit_test(test_killed_worker_task_lost),
#else
        cmocka_unit_test(test_killed_worker),
        cmocka_unit_test(test_worker_dies_inside_get),
        cmocka_unit_test(test_worker_dies_after_close),
        cmocka_unit_test(test_terminate),
        cmocka_unit_test(test_map_chunks),
#endif
        cmocka_unit_test(test_apply_after_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
