/* executor_demo.c: concurrent.futures' everyday calls, on threads or on processes.
 *
 * Mirrors: lesson 004's executors, and what the documentation of concurrent.futures
 * shows with them:
 *
 *     with ThreadPoolExecutor(max_workers=3) as ex:     # or ProcessPoolExecutor
 *         f = ex.submit(square, 3)
 *         f.result(timeout=0.05)                        # TimeoutError: still running
 *         f.result()                                    # 9
 *         fs = [ex.submit(work, t) for t in (5, 1, 4, 2, 3)]
 *         for f in as_completed(fs): print(f.result())  # in the order they finish
 *         for y in ex.map(square, range(8), timeout=t): ...   # TimeoutError part way
 *         f.cancel()                                    # True if it had not started
 *         ex.submit(fails).result()                     # re-raises the task's exception
 *
 * The same program runs on either executor (--executor thread|process): the calls do
 * not change, as in Python. The tasks "work" by sleeping (--unit), and trace what they
 * do: on threads the lines carry the thread's name (tpe_0 ...), on processes the
 * worker's pid and name. Where the two executors differ, the output says so: a
 * ProcessPoolExecutor has already moved max_workers + 1 more tasks than it runs into
 * its call queue, where they are RUNNING and can no longer be cancelled.
 *
 * Run:  ./executor_demo [--executor thread|process] [--unit 100ms]
 * Look for: as_completed's order 1, 3, 2, 0, 4 with three workers (task 3 starts when
 * task 1 ends, task 4 when task 3 ends; --workers 5 gives 1, 3, 4, 2, 0); map's TimeoutError
 * after some results; cancel() true for a PENDING future, false for a RUNNING one;
 * result() of the failing task -> FUTURE_RAISED with "returned 42".
 * See also: future.c, texec.c, pexec.c; wait_demo.c (wait and callbacks).
 */
#include "executor.h"

#include <string.h>

static int64_t g_unit = 100 * NS_PER_MS;

struct job {
    long x;
    long units; /* work for this long (a sleep) */
    int code;   /* return this (non-zero: the task "raises") */
};

static int square(const void *arg, size_t len, void *out, size_t cap, size_t *out_len)
{
    struct job j;
    (void)len;
    (void)cap;
    memcpy(&j, arg, sizeof j);
    trace("    task %ld: starts, works %ld unit%s", j.x, j.units, j.units == 1 ? "" : "s");
    sleep_ns(j.units * g_unit);
    if (j.code) {
        trace("    task %ld: raises (returns %d)", j.x, j.code);
        return j.code;
    }
    long y = j.x * j.x;
    memcpy(out, &y, sizeof y);
    *out_len = sizeof y;
    return 0;
}

static struct future *submit(struct executor *e, long x, long units, int code)
{
    struct job j = { x, units, code };
    struct future *f;
    int rc = executor_submit(e, square, &j, sizeof j, &f);
    if (rc != FUTURE_OK)
        fatal("submit: %s", future_status_name(rc));
    return f;
}

static long value(struct future *f)
{
    long y = -1;
    int rc = future_result(f, -1, &y, sizeof y, NULL);
    if (rc != FUTURE_OK)
        fatal("result: %s", future_status_name(rc));
    return y;
}

static void part_result(struct executor *e)
{
    printf("-- submit, result(timeout)\n");
    struct future *f = submit(e, 3, 2, 0);
    sleep_ns(g_unit / 4);
    trace("main: f = submit(square, 3): state %s, done() %s", future_state_name(future_state(f)),
          future_done(f) ? "True" : "False");
    long y;
    int64_t t0 = now_ns();
    int rc = future_result(f, g_unit / 2, &y, sizeof y, NULL);
    trace("main: f.result(timeout=%.2fs) -> %s after %.3f s (Python: %s); the task goes on", (double)g_unit / 2e9,
          future_status_name(rc), (double)(now_ns() - t0) / 1e9, future_status_python(rc));
    y = value(f);
    trace("main: f.result() -> %ld, state %s", y, future_state_name(future_state(f)));
    future_release(f);
}

static void part_as_completed(struct executor *e)
{
    printf("-- as_completed: five tasks of 5, 1, 4, 2, 3 units\n");
    static const long units[] = { 5, 1, 4, 2, 3 };
    struct future *fs[5];
    for (long i = 0; i < 5; i++)
        fs[i] = submit(e, i, units[i], 0);
    struct as_completed *it = as_completed_new(fs, 5, -1);
    char order[64] = "";
    struct future *f;
    while (as_completed_next(it, &f) == FUTURE_OK && f) {
        long i = 0;
        while (fs[i] != f)
            i++;
        trace("main: as_completed gave task %ld (%ld unit%s): result %ld", i, units[i], units[i] == 1 ? "" : "s",
              value(f));
        snprintf(order + strlen(order), sizeof order - strlen(order), "%s%ld", order[0] ? ", " : "", i);
    }
    as_completed_free(it);
    trace("main: completion order %s (submission order 0, 1, 2, 3, 4)", order);
    for (int i = 0; i < 5; i++)
        future_release(fs[i]);
}

static void part_map(struct executor *e)
{
    int n = 8;
    int64_t timeout = 2 * g_unit + g_unit / 2;
    printf("-- map(square, range(%d), timeout=%.2fs), each task 1 unit\n", n, (double)timeout / 1e9);
    struct job in[8];
    long out[8];
    for (int i = 0; i < n; i++)
        in[i] = (struct job){ .x = i, .units = 1 };
    size_t got;
    int rc = executor_map(e, square, in, sizeof in[0], (size_t)n, out, sizeof out[0], timeout, &got, NULL);
    char list[128] = "";
    for (size_t i = 0; i < got; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%ld", i ? ", " : "", out[i]);
    trace("main: map gave [%s], then %s (Python: %s); the %zu tasks not delivered were cancelled "
          "(those already running finish, unseen)",
          list, future_status_name(rc), future_status_python(rc), (size_t)n - got);
    sleep_ns(g_unit); /* the tasks map left running end before the next part */
}

static void part_cancel(struct executor *e)
{
    int w = executor_max_workers(e), n = 2 * w + 3;
    printf("-- cancel: %d long tasks to keep the %d workers busy, then %d more\n", w, w, n - w);
    struct future *fs[2 * 16 + 3];
    for (int i = 0; i < n; i++)
        fs[i] = submit(e, 100 + i, i < w ? 3 : 1, 0);
    sleep_ns(g_unit / 2); /* let the executor hand out what it hands out */
    int pending = 0, running = 0, cancelled = 0;
    for (int i = w; i < n; i++) {
        enum future_state s = future_state(fs[i]);
        pending += s == FUTURE_PENDING;
        running += s == FUTURE_RUNNING;
        cancelled += future_cancel(fs[i]);
    }
    trace("main: of the %d waiting tasks %d were PENDING, %d RUNNING; cancel() -> True for %d%s", n - w, pending,
          running, cancelled, running ? " (the RUNNING ones wait in the pool's call queue, out of reach)" : "");
    bool ok = future_cancel(fs[0]);
    trace("main: task 100 is running: cancel() -> %s", ok ? "True" : "False");
    int rc = future_result(fs[n - 1], -1, NULL, 0, NULL);
    trace("main: result() of task %d -> %s (Python: %s)", 100 + n - 1, future_status_name(rc),
          future_status_python(rc));
    for (int i = 0; i < n; i++) {
        future_result(fs[i], -1, NULL, 0, NULL); /* let the running ones end */
        future_release(fs[i]);
    }
}

static void part_exception(struct executor *e)
{
    printf("-- an exception in a task\n");
    struct future *f = submit(e, 7, 1, 42);
    long y;
    int rc = future_result(f, -1, &y, sizeof y, NULL);
    struct future_error err;
    future_exception(f, -1, &err);
    trace("main: f.result() -> %s (Python: %s); f.exception(): code %d, \"%s\"", future_status_name(rc),
          future_status_python(rc), err.code, err.what);
    future_release(f);
}

int main(int argc, char **argv)
{
    int kind = 0;
    long workers = 3;
    const struct cli_opt opts[] = {
        { "executor", CLI_CHOICE, &kind, "which executor runs the tasks", 0, 0, NULL, "thread|process" },
        { "workers", CLI_INT, &workers, "max_workers", 1, 16, NULL, NULL },
        { "unit", CLI_DURATION, &g_unit, "one unit of a task's work (a sleep)", NS_PER_MS, 2 * NS_PER_S, "20ms",
          NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "submit, result(timeout), as_completed, map(timeout), cancel and exceptions "
                          "on a ThreadPoolExecutor or a ProcessPoolExecutor.",
              opts, &cli);
    setvbuf(stdout, NULL, _IOLBF, 0);
    trace_start();
    struct executor *e = kind == 0 ? thread_executor_new((int)workers, "tpe") :
                                     process_executor_new((int)workers, EXEC_REPLACE);
    printf("%s(max_workers=%d)\n", executor_kind(e), executor_max_workers(e));
    part_result(e);
    part_as_completed(e);
    part_map(e);
    part_cancel(e);
    part_exception(e);
    int64_t t0 = now_ns();
    executor_free(e); /* the end of the with-block: shutdown(wait=True) */
    printf("shutdown(wait=True) took %.3f s: every task had ended\n", (double)(now_ns() - t0) / 1e9);
    return 0;
}
