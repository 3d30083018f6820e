/* solutions/batched_add.c: exercise 1 of chapter 10 (shared_value).
 *
 * The exercise: the counter is exact with get_lock() around every addition, but each
 * addition then pays three lock round trips on a lock every process wants. Keep it
 * exact and make it cheap.
 *
 * The answer: share less. Each process counts in a local variable of its own (no other
 * process can see it, so nothing to lock), then adds its total to the shared Value once,
 * under get_lock(): P lock round trips in all instead of P x N. Python's version:
 *     local = 0
 *     for _ in range(n): local += 1
 *     with v.get_lock(): v.value += local
 *
 * Run:  solutions/batched_add [--procs P] [--iterations 200000]
 * Look for: both totals exact, and how many times faster the batched one is.
 */
#include "sharedctypes.h"

#include <unistd.h>

static double run(bool batched, long procs, long n, long *total)
{
    struct value *v = value_new(0, true);
    pid_t pids[64];
    int64_t t = now_ns();
    for (long p = 0; p < procs; p++) {
        pids[p] = fork_child();
        if (pids[p] != 0)
            continue;
        if (batched) {
            volatile long local = 0; /* every addition really happens, in our own memory */
            for (long i = 0; i < n; i++)
                local = local + 1;
            value_acquire(v);
            value_set(v, value_get(v) + local);
            value_release(v);
        } else {
            for (long i = 0; i < n; i++) {
                value_acquire(v);
                value_set(v, value_get(v) + 1);
                value_release(v);
            }
        }
        _exit(0);
    }
    for (long p = 0; p < procs; p++)
        child_wait(pids[p], -1, NULL);
    t = now_ns() - t;
    *total = value_get(v);
    value_free(v);
    return (double)t / (double)(procs * n);
}

int main(int argc, char **argv)
{
    long cores = cpu_count(), procs = cores < 2 ? 2 : cores, n = 200000;
    const struct cli_opt opts[] = {
        { "procs", CLI_INT, &procs, "processes adding (default: the cores, at least 2)", 1, 64, NULL, NULL },
        { "iterations", CLI_INT, &n, "additions per process", 1, 100000000, "20000", NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "Exercise 1: an exact shared counter without a lock per addition.", opts, &cli);
    long each, batch;
    double ns_each = run(false, procs, n, &each), ns_batch = run(true, procs, n, &batch);
    printf("%ld processes x %ld additions, expected %ld\n", procs, n, procs * n);
    printf("get_lock() around every addition: total %ld, %.1f ns per addition (start to end)\n", each, ns_each);
    printf("local count, one locked add each: total %ld, %.1f ns per addition (%.0fx faster)\n", batch, ns_batch,
           ns_each / ns_batch);
    return each == procs * n && batch == procs * n ? 0 : 1;
}
