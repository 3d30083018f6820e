/* wait_demo.c: wait() three ways, done-callbacks, and a Future without an executor.
 *
 * Mirrors: concurrent.futures.wait and Future.add_done_callback:
 *
 *     done, not_done = wait(fs, return_when=FIRST_COMPLETED)   # or FIRST_EXCEPTION,
 *     done, not_done = wait(fs, timeout=0.15)                  # ALL_COMPLETED
 *     f.add_done_callback(lambda f: print("done", f))
 *     f = Future(); threading.Thread(target=lambda: f.set_result(1)).start()
 *
 * Three tasks of 3, 1 and 2 units ("work" is a sleep of --unit each) on an executor of
 * three workers, so all three start at once and finish at 1, 2 and 3 units:
 *   FIRST_COMPLETED  returns at 1 unit, with the 1-unit task done;
 *   FIRST_EXCEPTION  the 1-unit task raises: returns at 1 unit; with no task raising
 *                    it waits for all, like ALL_COMPLETED;
 *   ALL_COMPLETED    with a timeout of 1.5 units returns at 1.5 with one task done (a
 *                    timeout is no error for wait); without, at 3 units.
 * Then the callbacks: one added while the task runs runs in the thread that finishes
 * the future (a worker thread tpe_N; with --executor process, the executor's manager
 * thread, since the task itself runs in another process); one added after it is done
 * runs at once, in main. Each runs exactly once. Last, a Future that no executor
 * made: a plain thread sets its result; setting it again is InvalidStateError.
 *
 * Run:  ./wait_demo [--executor thread|process] [--unit 100ms]
 * Look for: the times at which each wait returns (1, 1, 3 units; 1.5 with the timeout),
 * the thread names in the callback lines, and "FUTURE_INVALID_STATE".
 * See also: wait.c (how the waiters are hung on the futures), executor_demo.c.
 */
#include "executor.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/prctl.h>

static int64_t g_unit = 100 * NS_PER_MS;

struct job {
    long units;
    int code;
};

static int work(const void *arg, size_t len, void *out, size_t cap, size_t *out_len)
{
    struct job j;
    (void)len;
    (void)cap;
    memcpy(&j, arg, sizeof j);
    sleep_ns(j.units * g_unit);
    memcpy(out, &j.units, sizeof j.units);
    *out_len = sizeof j.units;
    return j.code;
}

static void submit3(struct executor *e, struct future *fs[3], int raise_in)
{
    static const long units[] = { 3, 1, 2 };
    for (int i = 0; i < 3; i++) {
        struct job j = { units[i], i == raise_in ? 13 : 0 };
        int rc = executor_submit(e, work, &j, sizeof j, &fs[i]);
        if (rc != FUTURE_OK)
            fatal("submit: %s", future_status_name(rc));
    }
}

/* "{1}, not done {0, 2}" */
static const char *sets(const bool done[3], char *buf, size_t len)
{
    char d[32] = "", n[32] = "";
    for (int i = 0; i < 3; i++) {
        char *s = done[i] ? d : n;
        snprintf(s + strlen(s), sizeof d - strlen(s), "%s%d", s[0] ? ", " : "", i);
    }
    snprintf(buf, len, "done {%s}, not done {%s}", d, n);
    return buf;
}

static void one_wait(struct executor *e, const char *what, enum future_when when, int64_t timeout, int raise_in)
{
    struct future *fs[3];
    bool done[3];
    char buf[96];
    submit3(e, fs, raise_in);
    int64_t t0 = now_ns();
    future_wait(fs, 3, timeout, when, done);
    trace("main: wait(%s) returned after %.2f units: %s", what, (double)(now_ns() - t0) / (double)g_unit,
          sets(done, buf, sizeof buf));
    future_wait(fs, 3, -1, FUTURE_ALL_COMPLETED, NULL); /* a clean slate for the next */
    for (int i = 0; i < 3; i++)
        future_release(fs[i]);
}

static atomic_int g_calls;

static void on_done(struct future *f, void *arg)
{
    char name[16] = "?";
    prctl(PR_GET_NAME, (unsigned long)name, 0UL, 0UL, 0UL);
    atomic_fetch_add(&g_calls, 1);
    trace("callback \"%s\": the future is %s; I run in thread \"%s\"", (const char *)arg,
          future_state_name(future_state(f)), name);
}

static void *set_later(void *p)
{
    trace_name("plain_thread");
    sleep_ns(g_unit);
    long v = 42;
    int rc = future_set_result(p, &v, sizeof v);
    trace("f.set_result(42) -> %s", future_status_name(rc));
    return NULL;
}

int main(int argc, char **argv)
{
    int kind = 0;
    const struct cli_opt opts[] = {
        { "executor", CLI_CHOICE, &kind, "which executor runs the tasks", 0, 0, NULL, "thread|process" },
        { "unit", CLI_DURATION, &g_unit, "one unit of a task's work (a sleep)", 5 * NS_PER_MS, 2 * NS_PER_S, "20ms",
          NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "wait() with FIRST_COMPLETED, FIRST_EXCEPTION and ALL_COMPLETED; done-callbacks; "
                          "a Future set by hand.",
              opts, &cli);
    setvbuf(stdout, NULL, _IOLBF, 0);
    trace_start();
    struct executor *e = kind == 0 ? thread_executor_new(3, "tpe") : process_executor_new(3, EXEC_REPLACE);
    printf("%s(max_workers=3); tasks 0, 1, 2 work 3, 1, 2 units (1 unit = %.0f ms)\n", executor_kind(e),
           (double)g_unit / 1e6);
    one_wait(e, "FIRST_COMPLETED", FUTURE_FIRST_COMPLETED, -1, -1);
    one_wait(e, "FIRST_EXCEPTION, task 1 raises", FUTURE_FIRST_EXCEPTION, -1, 1);
    one_wait(e, "FIRST_EXCEPTION, none raises", FUTURE_FIRST_EXCEPTION, -1, -1);
    one_wait(e, "ALL_COMPLETED, timeout=1.5 units", FUTURE_ALL_COMPLETED, g_unit + g_unit / 2, -1);
    one_wait(e, "ALL_COMPLETED", FUTURE_ALL_COMPLETED, -1, -1);

    printf("-- add_done_callback\n");
    struct future *f;
    struct job j = { 1, 0 };
    if (executor_submit(e, work, &j, sizeof j, &f) != FUTURE_OK)
        fatal("submit");
    future_add_done_callback(f, on_done, "first, added while it runs");
    future_add_done_callback(f, on_done, "second, added while it runs");
    future_result(f, -1, NULL, 0, NULL);
    /* the callbacks run just after the state changes, which wakes us: let them finish */
    for (int64_t end = now_ns() + 10 * NS_PER_S; atomic_load(&g_calls) < 2 && now_ns() < end;)
        sleep_ns(NS_PER_MS);
    future_add_done_callback(f, on_done, "third, added once it was done");
    future_release(f);
    trace("main: 3 callbacks added, %d calls made", atomic_load(&g_calls));
    executor_free(e);

    printf("-- a Future without an executor\n");
    f = future_new();
    pthread_t t;
    CHECK_PT(pthread_create(&t, NULL, set_later, f));
    long v = 0;
    int rc = future_result(f, -1, &v, sizeof v, NULL);
    trace("main: f.result() -> %s, %ld", future_status_name(rc), v);
    CHECK_PT(pthread_join(t, NULL));
    rc = future_set_result(f, &v, sizeof v);
    trace("main: f.set_result(42) again -> %s (Python: %s)", future_status_name(rc), future_status_python(rc));
    future_release(f);
    return 0;
}
