/* stop_the_world.c: how long it takes to stop every thread, and what one thread in a
 * long C call does to that.
 *
 * Mirrors: gc.collect() in a free-threaded build. The cycle collector needs every
 * other thread to stand still while it looks at reference counts (PEP 703: "Threads
 * running Python code must be paused"); under the GIL, holding the GIL was enough.
 * The same stop serves other jobs in CPython 3.13+ (some type and code object
 * changes, fork, sys.settrace on every thread).
 *
 * Part 1: T = 1..--max-threads threads run chapter 08's ticks (gil_work, ~40 ns each),
 * each followed by a safe point (stw_check: one relaxed load). The main thread stops
 * the world --stops times, a millisecond or so apart, and times each pause: from the
 * request to the last thread parked (stw.h). Up to the number of cores every thread is
 * on a CPU and parks within a tick or two plus its wake-up; past it, some thread is
 * always waiting for a CPU, and it can only park when the scheduler runs it.
 *
 * Part 2: one thread calls a C function that runs --ccall without a safe point (think
 * of a long NumPy operation or a regex match, C code that touches no Python object),
 * beside cores-1 ordinary threads, --stops / 2 stops; twice:
 *   attached   the call runs with the thread ATTACHED: the stop waits for it to end
 *   detached   the call is wrapped in detach/attach (Py_BEGIN_ALLOW_THREADS around
 *              it, as C extensions do for long calls): the stopper parks the thread
 *              itself at once, and the thread, back from its call, waits at attach
 *
 * Run:  ./stop_the_world [--stops 200] [--max-threads 2*cores] [--ccall 5ms]
 * Look for: pauses of microseconds up to the core count and of milliseconds past it;
 * the attached C call stretching the pause to a good part of --ccall, the detached one
 * not at all.
 * See also: stw.c (the mechanism), ../08-gil/gil.h (the tick and its check point).
 */
#include "stw.h"
#include "../08-gil/gil.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

struct mutator {
    pthread_t th;
    struct stw_thread t;
    struct stw_world *w;
    const atomic_bool *stop;
    int64_t ccall;       /* > 0: this thread makes C calls this long, without safe points */
    bool detach;         /* ... wrapped in detach/attach */
    uint64_t ticks, sum;
};

static void *mutator_main(void *arg)
{
    struct mutator *m = arg;
    stw_register(m->w, &m->t, "mutator");
    while (!atomic_load_explicit(m->stop, memory_order_relaxed)) {
        if (m->ccall > 0) {
            if (m->detach)
                stw_detach(&m->t);
            int64_t end = now_ns() + m->ccall; /* C code: busy, and no safe point inside */
            while (now_ns() < end)
                m->sum += gil_work(m->ticks++);
            if (m->detach)
                stw_attach(&m->t);
        } else {
            for (int k = 0; k < 256; k++) {
                m->sum += gil_work(m->ticks++);
                stw_check(&m->t); /* the safe point after every tick */
            }
        }
        stw_check(&m->t);
    }
    stw_unregister(&m->t);
    return NULL;
}

/* Runs n mutators (the first making C calls if ccall > 0), stops the world `stops`
 * times, and puts each pause (us) in pause[]. */
static void measure(int n, long stops, int64_t ccall, bool detach, double *pause)
{
    struct stw_world w;
    stw_init(&w);
    atomic_bool stop;
    atomic_init(&stop, false);
    struct mutator *m = calloc((size_t)n, sizeof *m);
    if (!m)
        die("calloc");
    for (int i = 0; i < n; i++) {
        m[i] = (struct mutator){ .w = &w, .stop = &stop, .ccall = i == 0 ? ccall : 0, .detach = detach };
        CHECK_PT(pthread_create(&m[i].th, NULL, mutator_main, &m[i]));
    }
    sleep_ns(2 * NS_PER_MS); /* let them all start */
    uint64_t rng = 12345;
    for (long k = 0; k < stops; k++) {
        sleep_ns(NS_PER_MS / 2 + (int64_t)(random_next(&rng) % (uint64_t)NS_PER_MS)); /* 0.5 to 1.5 ms */
        int stragglers;
        int64_t t0 = now_ns();
        if (stw_stop(&w, 5 * NS_PER_S, &stragglers) == ETIMEDOUT)
            fatal("%d thread(s) did not reach a safe point in 5 s", stragglers);
        pause[k] = (double)(now_ns() - t0) / 1e3;
        /* the world is stopped: a collector would look at every object now */
        stw_start(&w);
    }
    atomic_store(&stop, true);
    for (int i = 0; i < n; i++)
        CHECK_PT(pthread_join(m[i].th, NULL));
    stw_destroy(&w);
    free(m);
}

int main(int argc, char **argv)
{
    long cores = cpu_count();
    long stops = 200, max_threads = 2 * cores < 4 ? 4 : 2 * cores;
    int64_t ccall = 5 * NS_PER_MS;
    const struct cli_opt opts[] = {
        { "stops", CLI_INT, &stops, "stops of the world per measurement", 5, 100000, "20", NULL },
        { "max-threads", CLI_INT, &max_threads, "largest number of running threads (default: twice the cores)", 1, STW_MAX, "3", NULL },
        { "ccall", CLI_DURATION, &ccall, "the length of part 2's C call", 100 * NS_PER_US, NS_PER_S, "2ms", NULL },
        { 0 },
    };
    struct cli cli = { .measures = true };
    cli_parse(argc, argv, "The pause to stop every thread at a safe point, 1..N threads; a long C call beside them.",
              opts, &cli);

    double *pause = calloc((size_t)stops, sizeof *pause);
    if (!pause)
        die("calloc");
    FILE *data = data_open(cli.data, "stop_the_world: the pause from the request to every thread parked");
    static const char *const cols[] = {
        "threads (count): running threads", "median (us): pause", "p10 (us)", "p90 (us)", "max (us)",
        "cores (count)", NULL,
    };
    data_block(data, "pause vs threads", cols);
    printf("part 1: the pause to stop T running threads, %ld stops each (" CORES_FMT ")\n", stops, CORES_ARG(cores));
    printf("  %7s %11s %11s %11s %11s\n", "threads", "median µs", "p10 µs", "p90 µs", "max µs");
    for (int t = 1; t <= (int)max_threads; t = sweep_next(t, (int)cores, (int)max_threads)) {
        measure(t, stops, 0, false, pause);
        struct summary s = summarize(pause, (size_t)stops);
        printf("  %7d %10.1f %10.1f %10.1f %10.1f%s\n", t, s.median, s.p10, s.p90, s.max,
               t == (int)cores ? "   <- one thread per core" : "");
        data_row(data, "%d %.2f %.2f %.2f %.2f %ld\n", t, s.median, s.p10, s.p90, s.max, cores);
    }

    int n2 = cores < 2 ? 2 : (int)cores;
    static const char *const cols2[] = {
        "detached (0/1): the C call was wrapped in detach/attach", "median (us): pause", "p10 (us)", "p90 (us)",
        "max (us)", "ccall (us): the call's length", NULL,
    };
    data_block(data, "a long C call beside the others", cols2);
    printf("part 2: %d threads, one of them in C calls of %.1f ms with no safe point, %ld stops\n", n2,
           (double)ccall / 1e6, stops / 2 < 5 ? 5 : stops / 2);
    printf("  %-30s %11s %11s %11s %11s\n", "the C call", "median µs", "p10 µs", "p90 µs", "max µs");
    double med[2];
    long stops2 = stops / 2 < 5 ? 5 : stops / 2;
    for (int d = 0; d < 2; d++) {
        measure(n2, stops2, ccall, d == 1, pause);
        struct summary s = summarize(pause, (size_t)stops2);
        med[d] = s.median;
        printf("  %-30s %10.1f %10.1f %10.1f %10.1f\n", d ? "detached around the call" : "attached (no safe point)",
               s.median, s.p10, s.p90, s.max);
        data_row(data, "%d %.2f %.2f %.2f %.2f %.1f\n", d, s.median, s.p10, s.p90, s.max, (double)ccall / 1e3);
    }
    printf("an attached C call made the median pause %.0fx longer than a detached one\n", med[0] / med[1]);
    printf("every stop parked every thread, and every thread went on after it\n");
    data_close(data);
    free(pause);
    return 0;
}
