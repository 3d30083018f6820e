/* solutions/cancel_count.c: exercise 1 of chapter 11. Predict before you run: ten
 * slow tasks go to an executor with two workers, then main cancels all ten at once.
 * How many cancel() calls return True on a ThreadPoolExecutor, and how many on a
 * ProcessPoolExecutor?
 *
 * A future can be cancelled only while PENDING. On threads, a task is RUNNING once a
 * worker thread has taken it: two of them. A ProcessPoolExecutor keeps its call queue
 * (the queue its worker processes read) filled with max_workers + EXTRA_QUEUED_CALLS
 * tasks waiting for a worker (Lib/concurrent/futures/process.py: EXTRA_QUEUED_CALLS
 * = 1), and marks each RUNNING as it goes in: two running and three waiting are five
 * RUNNING futures, although only two run. (CPython's manager fills the call queue only
 * when something wakes it, a submit or a result: if its workers had not yet taken
 * their first tasks when the last submit came, only three are RUNNING, and seven
 * cancels succeed; anything from 5 to 7 can happen there.)
 *
 * Run:  ./solutions/cancel_count [--workers 2] [--tasks 10]
 * Look for: "8 of 10" on threads and "5 of 10" on processes (with the defaults).
 */
#include "executor.h"

static int64_t g_work = 200 * NS_PER_MS;

static int slow(const void *arg, size_t len, void *out, size_t cap, size_t *out_len)
{
    (void)arg, (void)len, (void)out, (void)cap;
    sleep_ns(g_work);
    *out_len = 0;
    return 0;
}

static long count(struct executor *e, long n, long *running)
{
    struct future *fs[100];
    for (long i = 0; i < n; i++)
        if (executor_submit(e, slow, NULL, 0, &fs[i]) != FUTURE_OK)
            fatal("submit");
    sleep_ns(g_work / 4); /* the workers have taken what they take */
    long cancelled = 0;
    *running = 0;
    for (long i = 0; i < n; i++) {
        *running += future_running(fs[i]);
        cancelled += future_cancel(fs[i]);
    }
    for (long i = 0; i < n; i++) {
        future_result(fs[i], -1, NULL, 0, NULL); /* the running ones end; the others are cancelled */
        future_release(fs[i]);
    }
    executor_free(e);
    return cancelled;
}

int main(int argc, char **argv)
{
    long workers = 2, tasks = 10;
    const struct cli_opt opts[] = {
        { "workers", CLI_INT, &workers, "max_workers of both executors", 1, 16, NULL, NULL },
        { "tasks", CLI_INT, &tasks, "tasks submitted, then cancelled", 1, 100, NULL, NULL },
        { "work", CLI_DURATION, &g_work, "how long each task works (a sleep)", 10 * NS_PER_MS, 10 * NS_PER_S,
          "40ms", NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "How many of N submitted tasks can still be cancelled, on threads and on processes.",
              opts, &cli);
    long running, n;
    n = count(thread_executor_new((int)workers, "tpe"), tasks, &running);
    printf("ThreadPoolExecutor(%ld):  cancel() -> True for %ld of %ld (%ld were RUNNING)\n", workers, n, tasks,
           running);
    n = count(process_executor_new((int)workers, EXEC_REPLACE), tasks, &running);
    printf("ProcessPoolExecutor(%ld): cancel() -> True for %ld of %ld (%ld were RUNNING: %ld in the workers, "
           "the others waiting in the call queue)\n",
           workers, n, tasks, running, workers);
    return 0;
}
