/* lock_cost.c: what making the counter exact costs, per addition, for 1 to 2 x cores threads.
 *
 * Mirrors: the lesson's remark that a lock "turns multi-tasking into single-tasking"
 * and costs speed, measured; and its choice of where to put the lock.
 *
 * Four exact ways to add --iterations per thread to one total:
 *   lock per addition   lock; counter += 1; unlock, every time
 *   lock around loop    the lesson's version: one lock held for a thread's whole loop,
 *                       so the threads run one after the other
 *   atomic add          atomic_fetch_add on the shared counter, no lock
 *   per-thread sums     each thread counts in its own variable and adds its sum to
 *                       the total once, under the lock, at the end
 * Every addition is a real load and store (the counters are volatile, so the compiler
 * cannot fold a loop into one addition), and every total is checked. The two fast
 * methods do 10 times --iterations, so that their runs, too, last long enough to time.
 *
 * The time per addition is the wall time of a run (from the moment the threads leave
 * their start line to the moment the last one is done) divided by all the additions of
 * all the threads: lower is better, and perfect scaling halves it from 1 to 2 threads
 * on 2 cores. Each point is the median of --repeat runs. Each configuration runs twice:
 * with the threads spread over the cores (thread t pinned to the t-th CPU, mod the
 * cores), and with all of them pinned to one core, where they take turns and never
 * touch the counter at the same time. The thread counts go to twice the cores
 * (--max-threads; past 8, common.h's sweep_next picks 12, 16, 24, 32 ...). The threads
 * are made before their start line, so a run's time is their additions alone; on one
 * core, past 4 threads each thread does 4/T of its share, so that a run there lasts no
 * longer than four threads' (the time per addition does not change with it).
 *
 * What to expect: per-thread sums scale with the cores; the loop-wide lock stays flat
 * (one thread at a time, whatever the count); the atomic add and above all the lock
 * per addition get much slower as soon as two cores share the counter: its cache line
 * moves from core to core on every addition, and a contended mutex makes futex system
 * calls (a thread that does have to sleep costs microseconds to wake from the other
 * core, though with a critical section this short that is rare). On one core the same locks stay cheap: nobody ever finds them taken, except
 * after a preemption inside the critical section.
 *
 * Run:  ./lock_cost [--iterations 500000] [--repeat 7] [--max-threads 2*cores] [--data FILE]
 * See also: race_fixed.c (the same methods, for correctness), ../06-rlock/lock_compare.c
 * (the cost of one lock and unlock for several kinds of lock).
 */
#include "thread.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

enum method { PER_ADD, WHOLE_LOOP, ATOMIC, LOCAL, NMETHODS };
static const char *const method_name[NMETHODS] = {
    "lock per addition", "lock around the loop", "atomic add", "per-thread sums",
};

static struct {
    enum method method;
    long iterations;
    struct start_line start;
} g_run;

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static volatile long g_counter;     /* under g_lock */
static atomic_long g_atomic_counter;

struct worker {
    pthread_t id;
    int cpu;
    int64_t began, ended;
};

static void *worker(void *arg)
{
    struct worker *w = arg;
    long n = g_run.iterations;
    pin_to_cpu(w->cpu);
    start_line_wait(&g_run.start);
    w->began = now_ns();
    switch (g_run.method) {
    case PER_ADD:
        for (long i = 0; i < n; i++) {
            CHECK_PT(pthread_mutex_lock(&g_lock));
            g_counter = g_counter + 1;
            CHECK_PT(pthread_mutex_unlock(&g_lock));
        }
        break;
    case WHOLE_LOOP:
        CHECK_PT(pthread_mutex_lock(&g_lock));
        for (long i = 0; i < n; i++)
            g_counter = g_counter + 1;
        CHECK_PT(pthread_mutex_unlock(&g_lock));
        break;
    case ATOMIC:
        for (long i = 0; i < n; i++)
            atomic_fetch_add_explicit(&g_atomic_counter, 1, memory_order_relaxed);
        break;
    case LOCAL: {
        volatile long mine = 0; /* on this thread's stack: no other core touches it */
        for (long i = 0; i < n; i++)
            mine = mine + 1;
        CHECK_PT(pthread_mutex_lock(&g_lock));
        g_counter = g_counter + mine;
        CHECK_PT(pthread_mutex_unlock(&g_lock));
        break;
    }
    default:
        fatal("no such method");
    }
    w->ended = now_ns();
    return NULL;
}

/* one run; returns ns per addition */
static double run_once(enum method m, int threads, long n, bool pinned)
{
    struct worker *w = malloc((size_t)threads * sizeof *w);
    if (!w)
        die("malloc");
    g_run.method = m;
    g_run.iterations = n;
    start_line_init(&g_run.start, threads);
    g_counter = 0;
    atomic_store(&g_atomic_counter, 0);
    for (int t = 0; t < threads; t++) {
        w[t].cpu = cpu_nth(pinned ? 0 : t); /* the t-th CPU we may use, mod the cores */
        CHECK_PT(pthread_create(&w[t].id, NULL, worker, &w[t]));
    }
    for (int t = 0; t < threads; t++)
        CHECK_PT(pthread_join(w[t].id, NULL));
    long got = m == ATOMIC ? atomic_load(&g_atomic_counter) : g_counter;
    if (got != threads * n)
        fatal("%s with %d threads: got %ld of %ld", method_name[m], threads, got, threads * n);
    int64_t first = w[0].began, last = w[0].ended;
    for (int t = 1; t < threads; t++) {
        if (w[t].began < first)
            first = w[t].began;
        if (w[t].ended > last)
            last = w[t].ended;
    }
    free(w);
    return (double)(last - first) / (double)(threads * n);
}

int main(int argc, char **argv)
{
    int cores = cpu_count();
    long iterations = 500000, repeat = 7, max_threads = cores < 2 ? 4 : 2 * cores;
    const struct cli_opt opts[] = {
        { "iterations", CLI_INT, &iterations, "additions per thread", 1000, 100000000, "20000", NULL },
        { "repeat", CLI_INT, &repeat, "runs per point (the median is kept)", 1, 1000, "2", NULL },
        { "max-threads", CLI_INT, &max_threads, "most threads, twice the cores (at least 4)", 1, 2 * MAX_CORES,
          "4", NULL },
        { 0 },
    };
    struct cli cli = { .measures = true };
    cli_parse(argc, argv, "Time per addition to one exact counter: a lock per addition, a lock\n"
                          "around the loop, an atomic add, per-thread sums; 1 to 2 x cores threads,\n"
                          "spread over the cores and all on one core.", opts, &cli);

    size_t npoints = (size_t)(NMETHODS * 2 * max_threads);
    double *ns = malloc(npoints * (size_t)repeat * sizeof *ns);
    if (!ns)
        die("malloc");
#define NS(m, p, t, r) ns[((((size_t)(m) * 2 + (size_t)(p)) * (size_t)max_threads + (size_t)(t) - 1) * (size_t)repeat) + (size_t)(r)]
    for (long r = 0; r < repeat; r++) /* round robin over every configuration */
        for (int p = 0; p < 2; p++)
            for (int t = 1; t <= max_threads; t = sweep_next(t, cores, (int)max_threads))
                for (int m = 0; m < NMETHODS; m++) { /* the two fast ones run 10x longer */
                    long n = m == WHOLE_LOOP || m == LOCAL ? 10 * iterations : iterations;
                    if (p == 1 && t > 4) /* one core: no more than four threads' work a run */
                        n = n * 4 / t;
                    NS(m, p, t, r) = run_once((enum method)m, t, n, p == 1);
                }

    FILE *data = data_open(cli.data, "lock_cost: time per addition to one exact counter");
    static const char *const cols[] = {
        "threads (count)", "median (ns): wall time / all additions, median of the runs",
        "p10 (ns)", "p90 (ns)", "method (index): 0 lock per addition, 1 lock around the loop, "
        "2 atomic add, 3 per-thread sums", "pinned (0/1): 1 if every thread ran on one core, 0 if spread", NULL,
    };
    printf("ns per addition (wall time / all additions; median of %ld runs of %ld additions per thread,\n"
           "%ld for the lock around the loop and the per-thread sums)\n", repeat, iterations, 10 * iterations);
    for (int p = 0; p < 2; p++) {
        printf("%s\n  %-22s", p ? "all threads on one core:" : "threads spread over the cores:", "threads");
        for (int t = 1; t <= max_threads; t = sweep_next(t, cores, (int)max_threads))
            printf(" %8d", t);
        printf("\n");
        for (int m = 0; m < NMETHODS; m++) {
            char title[96];
            snprintf(title, sizeof title, "%s, %s", method_name[m], p ? "all on one core" : "spread over the cores");
            data_block(data, title, cols);
            printf("  %-22s", method_name[m]);
            for (int t = 1; t <= max_threads; t = sweep_next(t, cores, (int)max_threads)) {
                struct summary s = summarize(&NS(m, p, t, 0), (size_t)repeat);
                printf(" %8.2f", s.median);
                data_row(data, "%d %.3f %.3f %.3f %d %d\n", t, s.median, s.p10, s.p90, m, p);
            }
            printf("\n");
        }
    }
#undef NS
    printf(CORES_FMT "; every total was exact\n", CORES_ARG(cores));
    free(ns);
    data_close(data);
    return 0;
}
