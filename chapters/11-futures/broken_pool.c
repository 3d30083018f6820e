/* broken_pool.c: a worker process dies mid-task; Python's executor breaks, our pool
 * carries on. The two side by side.
 *
 * Mirrors: ProcessPoolExecutor when a worker dies (a crash in a C extension, the
 * out-of-memory killer, a kill -9):
 *
 *     with ProcessPoolExecutor(2) as ex:
 *         fs = [ex.submit(task, i) for i in range(8)]   # task 3 kills its own worker
 *         [f.result() for f in fs]   # 0, 1, then BrokenProcessPool for tasks 2 to 7
 *         ex.submit(task, 10)        # BrokenProcessPool again: the executor is dead
 *
 * CPython's manager thread waits on every worker's sentinel; when one becomes ready
 * with no result, it marks the executor broken, sets BrokenProcessPool on every
 * pending future, the running ones too, and terminates the other workers
 * (Lib/concurrent/futures/process.py, _ExecutorManagerThread.terminate_broken), and
 * every later submit raises it (ProcessPoolExecutor.submit). Chapter 03's pool instead
 * reports the one task whose worker died, forks a replacement, and goes on.
 *
 * Here the same eight tasks (each squares its number after one --unit of "work", a
 * sleep) run twice on two workers: with EXEC_BREAK, Python's behaviour, and with
 * EXEC_REPLACE, the pool's. Task 3 kills its own worker with SIGKILL halfway through.
 * When it dies, tasks 0 and 1 are done, task 2 is running in the other, healthy
 * worker, and tasks 4 to 7 wait. Then one more task is submitted to each executor.
 *
 * Run:  ./broken_pool [--unit 100ms]
 * Look for: task 2 (which had nothing to do with the death) BrokenProcessPool on the
 * left and a result on the right; the later submit refused on the left.
 * See also: pexec.c (both behaviours), chapter 03's pool_faults.c.
 */
#include "executor.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

enum { NTASKS = 8, KILLER = 3 };

static int64_t g_unit = 100 * NS_PER_MS;

static int task(const void *arg, size_t len, void *out, size_t cap, size_t *out_len)
{
    long i;
    (void)len;
    (void)cap;
    memcpy(&i, arg, sizeof i);
    if (i == KILLER) {
        sleep_ns(g_unit / 2);
        trace("    task %ld: kill(getpid(), SIGKILL)", i);
        raise(SIGKILL);
    }
    sleep_ns(g_unit);
    long y = i * i;
    memcpy(out, &y, sizeof y);
    *out_len = sizeof y;
    return 0;
}

struct outcome {
    char text[128];
    bool result;          /* a value came back */
    enum future_exc exc;  /* or this exception */
};

/* runs the eight tasks and one more on a fresh executor; fills out[NTASKS + 1] */
static void run(enum exec_on_death how, struct outcome *out)
{
    struct executor *e = process_executor_new(2, how);
    struct future *fs[NTASKS];
    for (long i = 0; i < NTASKS; i++)
        if (executor_submit(e, task, &i, sizeof i, &fs[i]) != FUTURE_OK)
            fatal("submit %ld", i);
    for (int i = 0; i <= NTASKS; i++) {
        struct future *f = i < NTASKS ? fs[i] : NULL;
        long v = 10, y;
        if (!f) { /* one more, after the death */
            int rc = executor_submit(e, task, &v, sizeof v, &f);
            if (rc != FUTURE_OK) {
                snprintf(out[i].text, sizeof out[i].text, "submit -> %s (%s)", future_status_name(rc),
                         future_status_python(rc));
                out[i].exc = FUTURE_EXC_BROKEN;
                continue;
            }
        }
        int rc = future_result(f, 30 * NS_PER_S, &y, sizeof y, NULL);
        struct future_error err = { 0 };
        future_exception(f, 0, &err);
        out[i].result = rc == FUTURE_OK;
        out[i].exc = err.kind;
        if (rc == FUTURE_OK)
            snprintf(out[i].text, sizeof out[i].text, "result %ld", y);
        else if (rc == FUTURE_RAISED && err.kind == FUTURE_EXC_BROKEN)
            snprintf(out[i].text, sizeof out[i].text, "BrokenProcessPool");
        else if (rc == FUTURE_RAISED)
            snprintf(out[i].text, sizeof out[i].text, "%s", err.what);
        else
            snprintf(out[i].text, sizeof out[i].text, "%s", future_status_name(rc));
        future_release(f);
    }
    executor_free(e);
}

int main(int argc, char **argv)
{
    const struct cli_opt opts[] = {
        { "unit", CLI_DURATION, &g_unit, "how long each task works (a sleep)", 20 * NS_PER_MS, 5 * NS_PER_S, "40ms",
          NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "A worker dies in a ProcessPoolExecutor: Python's executor breaks, our pool replaces "
                          "the worker.",
              opts, &cli);
    setvbuf(stdout, NULL, _IOLBF, 0);
    trace_start();
    struct outcome py[NTASKS + 1], ours[NTASKS + 1];
    printf("ProcessPoolExecutor(2), %d tasks; task %d kills its own worker halfway through\n", NTASKS, KILLER);
    printf("-- Python's way (EXEC_BREAK)\n");
    run(EXEC_BREAK, py);
    printf("-- chapter 03's pool's way (EXEC_REPLACE)\n");
    run(EXEC_REPLACE, ours);

    printf("\n  %-7s %-46s %s\n", "task", "Python's way: the executor breaks",
           "the pool's way: the worker is replaced");
    int wrong = 0;
    for (int i = 0; i <= NTASKS; i++) {
        char name[16];
        snprintf(name, sizeof name, i < NTASKS ? "%d" : "then %d", i < NTASKS ? i : 10);
        printf("  %-7s %-46s %s\n", name, py[i].text, ours[i].text);
        /* Python's: 0 and 1 finished before the death, everything after it is broken */
        wrong += i < 2 ? !py[i].result : py[i].exc != FUTURE_EXC_BROKEN;
        /* the pool's: only the killer's task is lost, and the executor goes on */
        wrong += i == KILLER ? ours[i].exc != FUTURE_EXC_DIED : !ours[i].result;
    }
    int py_lost = 0, ours_lost = 0;
    for (int i = 0; i < NTASKS; i++) {
        py_lost += !py[i].result;
        ours_lost += !ours[i].result;
    }
    printf("\nresults lost: %d of %d the Python way, %d of %d the pool's way\n", py_lost, NTASKS, ours_lost,
           NTASKS);
    printf("%s\n", wrong ? "SOME OUTCOMES WERE NOT AS EXPECTED" : "every outcome as expected");
    return wrong ? 1 : 0;
}
