/* gil_cpu.c: a CPU-bound job split over T threads runs no faster under the GIL.
 *
 * Mirrors: the lessons' sum(range(10**7)) on 4 threads against 4 processes, and their
 * claim that CPU-bound threads don't speed up under the GIL and may even slow down,
 * while processes (each with a GIL of its own) do speed up.
 *
 * What it does: a fixed job of --work million ticks (gil.h: a tick is ~40 ns of
 * hashing, with a check point after it, like one bytecode) is cut into T equal slices
 * and run, for T = 1 to --max-threads (twice the cores; past 8, common.h's sweep_next
 * picks 12, 16, 24, 32 ...), seven ways:
 *   one thread        the whole job on one thread (the baseline)
 *   new GIL           T threads under the CPython 3 GIL (switch interval --interval)
 *   new GIL, 1 core   the same, every thread pinned to CPU 0
 *   old GIL           T threads under the Python 2 GIL (release every 100 ticks)
 *   old GIL, 1 core   the same, pinned to CPU 0
 *   no GIL            T threads with no lock at all (C threads, or free-threaded Python)
 *   processes         T forked processes, each with its own uncontended GIL
 * Every run's sum of the work must equal the one-thread sum, so a split that lost
 * work cannot pass for a fast one. Each time is the median of --repeat runs, which go
 * round robin over T and the ways, so a slow spell of the shared machine falls on all
 * of them alike; the one-thread time is the median of every T = 1 run of the thread
 * ways (each is the whole job on one thread), which steadies the baseline of every
 * ratio. The GIL runs also report how often the GIL changed hands.
 *
 * The default job, 3 million ticks, takes about 100 ms on one thread: long enough that a
 * scheduler tick or a migration between cores (a few ms) is lost in it, and that the
 * one-thread runs of the different ways agree within a few percent. On more than 4 cores
 * it grows with them, 0.75 million ticks per core, so that with a thread per core each
 * still runs about 25 ms, over a hundred times what starting it costs (a thread ~10 µs,
 * a process ~0.1 ms). The price: every GIL run takes the whole job's time, at every T.
 * One run of the whole job before the rounds warms up the machine (thread stacks, page
 * faults, the core's clock) and is not kept.
 *
 * Run:  ./gil_cpu [--work max(3,0.75*cores)] [--max-threads 2*cores] [--repeat 5] [--data FILE]
 * Look for: the GIL columns staying at (or above) the one-thread time for every T,
 * while "no GIL" and "processes" halve on 2 cores. The old GIL on 2 cores hands the
 * lock over far more often than the new one and pays for it.
 * See also: gil_timeline (who holds the GIL, drawn over time), gil_io (where threads
 * do overlap), ../01-process/cpu_processes.c.
 */
#include "gil.h"
#include "../01-process/process.h"

#include <stdlib.h>
#include <unistd.h>

enum { MAX_THREADS = 256 };
enum way { ONE, NEW, NEW_1CORE, OLD, OLD_1CORE, NOGIL, PROCS, NWAYS };
static const char *const way_name[NWAYS] = {
    "one thread", "new GIL", "new GIL, 1 core", "old GIL", "old GIL, 1 core", "no GIL", "processes",
};

struct worker {
    struct gil_thread t;
    pthread_t th;
    uint64_t from, to, sum;
    int cpu;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    if (w->cpu >= 0)
        pin_to_cpu(w->cpu);
    gil_take(&w->t, GIL_START);
    w->sum = gil_run(&w->t, w->from, w->to);
    gil_exit(&w->t);
    return NULL;
}

/* The job on `threads` threads under `mode`; returns wall ns, the sum and the switches. */
static int64_t run_threads(enum gil_mode mode, int threads, int cpu, uint64_t n, int64_t interval,
                           uint64_t *sum, unsigned long *switches)
{
    struct gil g;
    gil_init(&g, &(struct gil_config){ .mode = mode, .interval_ns = interval });
    struct worker *w = malloc((size_t)threads * sizeof *w);
    if (!w)
        die("malloc");
    int64_t t = now_ns();
    for (int i = 0; i < threads; i++) {
        gil_thread_init(&w[i].t, &g, "worker");
        w[i].from = n * (uint64_t)i / (uint64_t)threads;
        w[i].to = n * (uint64_t)(i + 1) / (uint64_t)threads;
        w[i].cpu = cpu;
        CHECK_PT(pthread_create(&w[i].th, NULL, worker_main, &w[i]));
    }
    *sum = 0;
    for (int i = 0; i < threads; i++) {
        CHECK_PT(pthread_join(w[i].th, NULL));
        *sum += w[i].sum;
    }
    t = now_ns() - t;
    *switches = gil_stats(&g).switches;
    gil_destroy(&g);
    free(w);
    return t;
}

/* One process's slice of the job, under a GIL of its own (no other thread wants it).
 * process_split_sum, from chapter 01's process.c, forks one child per slice and adds
 * up their sums. */
static uint64_t proc_slice(uint64_t from, uint64_t to, void *arg)
{
    (void)arg;
    struct gil g;
    struct gil_thread me;
    gil_init(&g, &(struct gil_config){ .mode = GIL_NEW });
    gil_thread_init(&me, &g, "proc");
    gil_take(&me, GIL_START);
    uint64_t part = gil_run(&me, from, to);
    gil_exit(&me);
    gil_destroy(&g);
    return part;
}

int main(int argc, char **argv)
{
    int cores = cpu_count();
    double work_m = cores > 4 ? 0.75 * cores : 3;
    long max_threads = cores < 2 ? 4 : 2 * cores > MAX_THREADS ? MAX_THREADS : 2 * cores, repeat = 5;
    int64_t interval = 5 * NS_PER_MS;
    const struct cli_opt opts[] = {
        { "work", CLI_REAL, &work_m, "the job, in millions of ticks (~40 ns each), 3 or 0.75 per core", 0.01, 100000, "0.2",
          NULL },
        { "max-threads", CLI_INT, &max_threads,
          "largest number of threads (and processes), twice the cores (at least 4)", 1, MAX_THREADS, "3", NULL },
        { "repeat", CLI_INT, &repeat, "runs of each (the median is kept)", 1, 1000, "1", NULL },
        { "interval", CLI_DURATION, &interval, "the new GIL's switch interval", 10 * NS_PER_US, NS_PER_S, NULL, NULL },
        { 0 },
    };
    struct cli cli = { .measures = true };
    cli_parse(argc, argv, "A fixed CPU-bound job on 1..T threads under the GIL, without it, and on processes.",
              opts, &cli);

    uint64_t n = (uint64_t)(work_m * 1e6);
    size_t nt = (size_t)max_threads, nr = (size_t)repeat;
    /* wall[way][T-1][run], and the switches per second of the GIL ways */
    double *wall = calloc(NWAYS * nt * nr, sizeof *wall);
    double *swps = calloc(NWAYS * nt * nr, sizeof *swps);
    if (!wall || !swps)
        die("calloc");
#define AT(a, way, t, r) (a)[((size_t)(way) * nt + (size_t)(t) - 1) * nr + (size_t)(r)]

    uint64_t expect = 0;
    {
        uint64_t sum;
        unsigned long switches;
        run_threads(GIL_NEW, 1, -1, n, interval, &sum, &switches); /* the warm-up, not kept */
    }
    for (size_t r = 0; r < nr; r++) {
        for (int t = 1; t <= (int)nt; t = sweep_next(t, cores, (int)nt)) {
            for (int way = 0; way < NWAYS; way++) {
                if (way == ONE && t > 1)
                    continue; /* the baseline is measured once per round */
                uint64_t sum;
                unsigned long switches = 0;
                int64_t ns;
                switch (way) {
                case ONE: ns = run_threads(GIL_NEW, 1, -1, n, interval, &sum, &switches); break;
                case NEW: ns = run_threads(GIL_NEW, t, -1, n, interval, &sum, &switches); break;
                case NEW_1CORE: ns = run_threads(GIL_NEW, t, cpu_nth(0), n, interval, &sum, &switches); break;
                case OLD: ns = run_threads(GIL_OLD, t, -1, n, interval, &sum, &switches); break;
                case OLD_1CORE: ns = run_threads(GIL_OLD, t, cpu_nth(0), n, interval, &sum, &switches); break;
                case NOGIL: ns = run_threads(GIL_NONE, t, -1, n, interval, &sum, &switches); break;
                default: ns = process_split_sum(n, t, proc_slice, NULL, &sum); break;
                }
                if (r == 0 && way == ONE)
                    expect = sum;
                else if (sum != expect)
                    fatal("%s with %d threads summed %#llx, one thread %#llx", way_name[way], t,
                          (unsigned long long)sum, (unsigned long long)expect);
                AT(wall, way, t, r) = (double)ns / 1e9;
                AT(swps, way, t, r) = (double)switches / ((double)ns / 1e9);
            }
        }
    }

    /* The baseline pools every run of the job on one thread (the T = 1 runs of all the
     * thread ways: one thread with an uncontended GIL, or none, is the same thing), since
     * on a shared virtual machine the speed of a core drifts between runs. */
    double *pool = malloc((size_t)(NOGIL + 1) * nr * sizeof *pool);
    if (!pool)
        die("malloc");
    size_t np = 0;
    for (int way = ONE; way <= NOGIL; way++)
        for (size_t r = 0; r < nr; r++)
            pool[np++] = AT(wall, way, 1, r);
    double base = summarize(pool, np).median;
    free(pool);
    static double med[NWAYS][MAX_THREADS], sw[NWAYS][MAX_THREADS];
    for (int way = 0; way < NWAYS; way++) {
        for (int t = 1; t <= (int)nt; t = sweep_next(t, cores, (int)nt)) {
            int src = way == ONE ? 1 : t;
            med[way][t - 1] = way == ONE ? base : summarize(&AT(wall, way, src, 0), nr).median;
            sw[way][t - 1] = summarize(&AT(swps, way, src, 0), nr).median;
        }
    }

    printf("a job of %.2f million ticks on 1..%ld threads, " CORES_FMT ", switch interval %.3g ms, "
           "median of %ld runs\n", work_m, max_threads, CORES_ARG(cores), (double)interval / 1e6, repeat);
    printf("wall time, s:\n  %7s", "threads");
    for (int way = 0; way < NWAYS; way++)
        printf(" %15s", way_name[way]);
    printf("\n");
    for (int t = 1; t <= (int)nt; t = sweep_next(t, cores, (int)nt)) {
        printf("  %7d", t);
        for (int way = 0; way < NWAYS; way++)
            printf(" %15.3f", med[way][t - 1]);
        printf("\n");
    }
    printf("speed-up over one thread (x):\n  %7s", "threads");
    for (int way = 1; way < NWAYS; way++)
        printf(" %15s", way_name[way]);
    printf("\n");
    for (int t = 1; t <= (int)nt; t = sweep_next(t, cores, (int)nt)) {
        printf("  %7d", t);
        for (int way = 1; way < NWAYS; way++)
            printf(" %14.2fx", med[ONE][t - 1] / med[way][t - 1]);
        printf("\n");
    }
    printf("GIL hand-offs per second (switch_number / wall time):\n  %7s", "threads");
    for (int way = NEW; way <= OLD_1CORE; way++)
        printf(" %15s", way_name[way]);
    printf("\n");
    for (int t = 1; t <= (int)nt; t = sweep_next(t, cores, (int)nt)) {
        printf("  %7d", t);
        for (int way = NEW; way <= OLD_1CORE; way++)
            printf(" %15.0f", sw[way][t - 1]);
        printf("\n");
    }
    printf("every run's sum matched the one-thread sum (%#llx)\n", (unsigned long long)expect);

    FILE *data = data_open(cli.data, "gil_cpu: a fixed CPU-bound job on T threads, with and without the GIL");
    static const char *const cols[] = {
        "threads (count): T",
        "one_s (s): the whole job on one thread (median of all one-thread runs)",
        "new_s (s): T threads, new GIL", "new1_s (s): T threads, new GIL, all on CPU 0",
        "old_s (s): T threads, old GIL", "old1_s (s): T threads, old GIL, all on CPU 0",
        "nogil_s (s): T threads, no GIL", "procs_s (s): T processes",
        "new_sw (1/s): GIL hand-offs per second, new GIL", "new1_sw (1/s)", "old_sw (1/s)", "old1_sw (1/s)",
        "cores (count): the CPUs it may use (common.h, cpu_count)", NULL,
    };
    data_block(data, "wall time vs threads", cols);
    for (int t = 1; t <= (int)nt; t = sweep_next(t, cores, (int)nt)) {
        data_row(data, "%d", t);
        for (int way = 0; way < NWAYS; way++)
            data_row(data, " %.5f", med[way][t - 1]);
        for (int way = NEW; way <= OLD_1CORE; way++)
            data_row(data, " %.1f", sw[way][t - 1]);
        data_row(data, " %d\n", cores);
    }
    data_close(data);
    free(wall);
    free(swps);
    return 0;
}
