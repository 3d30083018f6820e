/* race_rate.c: how many updates the race of race.c loses, and when.
 *
 * Mirrors: the question the lesson's Lock answers without asking: how often does the
 * unlocked `global_num += 1` actually go wrong? (A DELIBERATE DATA RACE, as in race.c.)
 *
 * It runs race.c's loop (a volatile counter, a separate load and store, threads
 * released together by a spinning barrier) for a range of iterations per thread, with
 * threads spread over the cores (thread t pinned to the t-th CPU, mod the cores), and
 * with 2 threads pinned to one core. (Pinned both ways: left to itself, the scheduler may
 * put both threads on one core when the other core is busy, and the machine this was
 * written on is shared.) Each point
 * is the median share of updates lost over --repeat races, with the 10th and 90th
 * percentiles, and the share of races that lost anything at all. The races run round
 * robin (every configuration once, then again), so a busy spell of the machine does not
 * fall on one point only.
 *
 * The thread counts follow the machine: 2, one per core, one more than the cores (one
 * core runs two of them), and twice the cores (--max-threads): 2, 3 and 4 on 2 cores,
 * 2, 16, 17 and 32 on 16. A race's length is its loop, per thread, whatever the count:
 * the threads are made before the start line, so their start is not in it.
 *
 * What to expect:
 *   - The shortest loops lose less, and some of their races nothing: a thread can be
 *     nearly done before the next one gets going, even after the start line.
 *   - Long loops on two cores lose a large share: the two cores take turns owning
 *     the counter's cache line, and every load that meets a store in flight loses.
 *   - On one core nothing runs at the same time; a thread loses updates only when it
 *     is preempted between its load and its store. That is rare (a time slice is
 *     milliseconds), but the loss is huge when it happens: the stale value it stores
 *     wipes out everything the other thread added meanwhile.
 *
 * Run:  ./race_rate [--repeat 11] [--max-iterations 10000000] [--data FILE]
 * Look for: the share lost rising with the loop length; one core near 0 for short
 * loops and then jumping.
 * See also: race.c, plots/race_rate.gp (the figure).
 */
#include "thread.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

static volatile long g_counter; /* the race, as in race.c */
static long g_iterations;
static struct start_line g_start;

static void *adder(void *arg)
{
    pin_to_cpu((int)(intptr_t)arg);
    start_line_wait(&g_start);
    for (long i = 0; i < g_iterations; i++) {
        long v = g_counter;
        g_counter = v + 1;
    }
    return NULL;
}

/* one race; returns the share of updates lost, in percent */
static double race_once(int threads, long n, bool one_core)
{
    pthread_t *ids = malloc((size_t)threads * sizeof *ids);
    if (!ids)
        die("malloc");
    g_counter = 0;
    g_iterations = n;
    start_line_init(&g_start, threads);
    for (int t = 0; t < threads; t++) {
        int cpu = cpu_nth(one_core ? 0 : t); /* the t-th CPU we may use, mod the cores */
        CHECK_PT(pthread_create(&ids[t], NULL, adder, (void *)(intptr_t)cpu));
    }
    for (int t = 0; t < threads; t++)
        CHECK_PT(pthread_join(ids[t], NULL));
    free(ids);
    long expected = threads * n, got = g_counter;
    if (got > expected)
        fatal("got %ld of %ld", got, expected);
    return 100.0 * (double)(expected - got) / (double)expected;
}

struct config {
    int threads;
    bool pinned;
    const char *label;
};

int main(int argc, char **argv)
{
    int cores = cpu_count();
    long repeat = 11, max_n = 10000000, max_threads = cores < 2 ? 4 : 2 * cores;
    const struct cli_opt opts[] = {
        { "repeat", CLI_INT, &repeat, "races per point (the median is kept)", 1, 1000, "2", NULL },
        { "max-iterations", CLI_INT, &max_n, "longest loop, per thread", 1000, 100000000, "10000", NULL },
        { "max-threads", CLI_INT, &max_threads,
          "most threads spread over the cores, twice the cores (at least 4); the others: 2, the cores, one more", 2,
          2 * MAX_CORES, "3", NULL },
        { 0 },
    };
    struct cli cli = { .measures = true };
    cli_parse(argc, argv, "The share of updates an unlocked counter loses, by loop length and\n"
                          "threads, on all cores and on one (a deliberate data race).", opts, &cli);

    struct config configs[5];
    size_t nconf = 0;
    const long counts[] = { 2, cores, cores + 1, max_threads }; /* in order; the same count once */
    for (size_t i = 0; i < ARRAY_LEN(counts); i++)
        if (counts[i] <= max_threads && (nconf == 0 || counts[i] > configs[nconf - 1].threads))
            configs[nconf++] = (struct config){ (int)counts[i], false, NULL };
    configs[nconf++] = (struct config){ 2, true, NULL };
    static const long steps[] = { 1000, 3000, 10000, 30000, 100000, 300000, 1000000, 3000000,
                                  10000000, 30000000, 100000000 };
    size_t nsteps = 0;
    while (nsteps < ARRAY_LEN(steps) && steps[nsteps] <= max_n)
        nsteps++;

    double *lost = malloc(nconf * nsteps * (size_t)repeat * sizeof *lost);
    if (!lost)
        die("malloc");
#define LOST(c, s, r) lost[((c) * nsteps + (s)) * (size_t)repeat + (size_t)(r)]
    for (long r = 0; r < repeat; r++)
        for (size_t c = 0; c < nconf; c++)
            for (size_t s = 0; s < nsteps; s++)
                LOST(c, s, r) = race_once(configs[c].threads, steps[s], configs[c].pinned);

    FILE *data = data_open(cli.data, "race_rate: share of updates lost by an unlocked counter");
    static const char *const cols[] = {
        "iterations (count): additions per thread",
        "median (%): median share of updates lost", "p10 (%)", "p90 (%)",
        "any (%): share of the races that lost at least one update",
        "threads (count)", "pinned (0/1): 1 if all threads ran on one core, 0 if spread over the cores", NULL,
    };
    printf("Share of updates lost (median of %ld races, 10th-90th percentile), " CORES_FMT "\n", repeat, CORES_ARG(cores));
    for (size_t c = 0; c < nconf; c++) {
        char title[96];
        if (configs[c].pinned)
            snprintf(title, sizeof title, "%d threads on one core", configs[c].threads);
        else
            snprintf(title, sizeof title, "%d threads on %d core%s", configs[c].threads, cores, cores == 1 ? "" : "s");
        data_block(data, title, cols);
        printf("%s\n  %12s %9s %18s %10s\n", title, "iterations", "lost %", "p10..p90 %", "any lost");
        for (size_t s = 0; s < nsteps; s++) {
            double any = 0;
            for (long r = 0; r < repeat; r++)
                any += LOST(c, s, r) > 0;
            any = 100.0 * any / (double)repeat;
            struct summary sum = summarize(&LOST(c, s, 0), (size_t)repeat);
            printf("  %12ld %8.2f%% %8.2f..%-8.2f %9.0f%%\n", steps[s], sum.median, sum.p10, sum.p90, any);
            data_row(data, "%ld %.4f %.4f %.4f %.1f %d %d\n", steps[s], sum.median, sum.p10, sum.p90, any,
                     configs[c].threads, configs[c].pinned);
        }
    }
#undef LOST
    free(lost);
    data_close(data);
    return 0;
}
