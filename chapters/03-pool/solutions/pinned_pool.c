/* solutions/pinned_pool.c: exercise 2 of chapter 03 (pools), "predict before you run".
 *
 * The question: run pool_bench pinned to one core (taskset -c 0, which the workers
 * inherit) and unpinned. Which of its numbers change? Why does the map with chunk 1 not
 * get slower on one core, although three processes now share it?
 *
 * The answer: the lone task's round trip gets *faster* on one core. A round trip is two
 * sleeps and two wake-ups (the idle worker woken by the task, the parent by the
 * result), and a wake-up on the same core costs a context switch while one on the other
 * core must first get an idle CPU running (chapter 04's wakeup measures both). The map
 * with chunk 1 hardly moves: while tasks are queued nobody sleeps, so there is no
 * wake-up to pay. On one core the parent fills the tasks queue during its time slice,
 * the workers then empty it during theirs: the scheduler batches the stream. On two
 * cores they work at the same time, but every message's cache line moves between the
 * cores. Only CPU-bound work, part 2, needs the second core.
 *
 * What it does: a pool of 2 workers, a task that returns its 8-byte argument, in two
 * placements, taken in turn --repeat times: everything on one CPU; the parent on one
 * CPU and the workers on another (sched_setaffinity on the workers' pids). In each, the
 * median round trip of one task (apply_async + get) and the time per item of a map with
 * chunk 1.
 *
 * Run:  solutions/pinned_pool [--trips 500] [--items 20000] [--repeat 3]
 * Look for: a shorter round trip on one core; about the same map cost in both.
 */
#include "../pool.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>

static int identity(const void *arg, size_t len, void *out, size_t cap, size_t *out_len)
{
    (void)cap;
    memcpy(out, arg, len);
    *out_len = len;
    return 0;
}

static void pin(pid_t pid, int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    CHECK_SYS(sched_setaffinity(pid, sizeof set, &set));
}

/* One run in a placement: the round trip's median in µs, and µs per item of the map. */
static void run(const int cpu[2], bool spread, long trips, size_t items, double *trip, double *item)
{
    pin(0, cpu[0]); /* the parent */
    struct pool *p = pool_new(2, 64);
    pid_t w[2];
    int nw = pool_workers(p, w, 2);
    for (int i = 0; i < nw; i++)
        pin(w[i], spread ? cpu[1] : cpu[0]);
    double *t = malloc((size_t)trips * sizeof *t);
    uint64_t *in = malloc(items * sizeof *in), *out = malloc(items * sizeof *out);
    if (!t || !in || !out)
        die("malloc");
    for (long k = 0; k <= trips; k++) { /* trip 0 warms up */
        uint64_t x = (uint64_t)k, y = 0;
        int64_t t0 = now_ns();
        pool_task h = pool_apply_async(p, identity, &x, sizeof x);
        if (pool_get(p, h, 10 * NS_PER_S, &y, sizeof y, NULL) != POOL_OK || y != x)
            fatal("round trip: wrong result");
        if (k > 0)
            t[k - 1] = (double)(now_ns() - t0) / 1e3;
    }
    *trip = summarize(t, (size_t)trips).median;
    for (size_t i = 0; i < items; i++)
        in[i] = mix64(i);
    int64_t t0 = now_ns();
    if (pool_map(p, identity, in, sizeof *in, items, out, sizeof *out, 1, NULL) != POOL_OK ||
        memcmp(in, out, items * sizeof *in) != 0)
        fatal("map: wrong results");
    *item = (double)(now_ns() - t0) / 1e3 / (double)items;
    pool_close(p);
    pool_join(p);
    pool_free(p);
    free(t);
    free(in);
    free(out);
}

int main(int argc, char **argv)
{
    long trips = 500, items = 20000, repeat = 3;
    const struct cli_opt opts[] = {
        { "trips", CLI_INT, &trips, "round trips per run", 10, 1000000, "50", NULL },
        { "items", CLI_INT, &items, "items in the map", 100, 10000000, "2000", NULL },
        { "repeat", CLI_INT, &repeat, "runs of each placement (the median is kept)", 1, 100, "1", NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "Exercise 2: a pool's round trip and stream, all on one core and spread over two.", opts,
              &cli);
    cpu_set_t mask;
    CHECK_SYS(sched_getaffinity(0, sizeof mask, &mask));
    int cpu[2];
    int places = first_cpus(cpu, 2);
    double *v = malloc((size_t)(4 * repeat) * sizeof *v);
    if (!v)
        die("malloc");
    for (long r = 0; r < repeat; r++)
        for (int s = 0; s < places; s++)
            run(cpu, s == 1, trips, (size_t)items, &v[(2 * s) * repeat + r], &v[(2 * s + 1) * repeat + r]);
    CHECK_SYS(sched_setaffinity(0, sizeof mask, &mask));
    printf("a pool of 2 workers, a task that returns its argument; medians of %ld runs\n", repeat);
    printf("  %-40s %14s %16s\n", "placement", "round trip µs", "map, µs/item");
    static const char *const name[2] = { "parent and workers on one CPU", "parent on one CPU, workers on another" };
    double trip[2];
    for (int s = 0; s < places; s++) {
        trip[s] = summarize(&v[(2 * s) * repeat], (size_t)repeat).median;
        double item = summarize(&v[(2 * s + 1) * repeat], (size_t)repeat).median;
        printf("  %-40s %13.1f %15.2f\n", name[s], trip[s], item);
    }
    if (places == 2)
        printf("a lone task's round trip took %.1fx as long across two cores as on one\n", trip[1] / trip[0]);
    else
        printf("one CPU only: no spread placement\n");
    free(v);
    return 0;
}
