/* nogil_interp.c: chapter 08's interpreter-like workload, built three ways: with the
 * GIL, and free-threaded with atomic or with biased reference counts.
 *
 * Mirrors: python3.13 against python3.13t / python3.14t running the same CPU-bound
 * threads. The two questions every free-threaded release answers with a number: how
 * much slower is one thread (the single-thread overhead), and how much faster are N?
 *
 * The work is chapter 08's: ticks of ~40 ns of hashing (gil_work), each followed by its
 * check point (gil_check). Around each tick, what an interpreter does to the objects it
 * touches: an incref and a decref of a constant (LOAD_CONST: None, a small int, shared
 * by every thread) and of a local object the thread made itself (LOAD_FAST). Three
 * builds of the same loop:
 *   GIL        chapter 08's new GIL (gil.c, 5 ms interval) and plain counts (refcnt.h)
 *   atomic     no GIL (gil.c's GIL_NONE: the check point is a load that never fires);
 *              every incref and decref a locked instruction, constants included
 *   biased     no GIL; biased counts (the owner's are plain stores), the constant
 *              immortal (never written), and the owner's merge queue checked at the
 *              check points: PEP 703's design, reduced to reference counting
 * A fixed job of --work million ticks is split over T = 1..--max-threads threads; runs
 * go round robin (builds, T, --repeat rounds) and each time is a median. Every run's
 * sum of the work is checked against the first one's.
 *
 * What the toy leaves out, so its overhead is not CPython's: per-object locks on lists
 * and dicts, deferred reference counting, the specialising interpreter (which 3.13t ran
 * without), mimalloc and its per-thread heaps, the cycle collector, and every real
 * bytecode: here the reference counts are a fixed share of a fixed tick.
 *
 * Run:  ./nogil_interp [--work 0.6*cores] [--max-threads max(4,cores)] [--repeat 3]
 *       [--mortal] (the constant is not immortal in the biased build)
 * Look for: the single-thread overhead of atomic against biased; the GIL build's
 * speed-up staying near 1x while the biased build's follows the cores and the atomic
 * build's falls short (its constant's count is one cache line every thread writes).
 * See also: refcount.c (the counts alone), ../08-gil/gil_cpu.c (the GIL build alone).
 */
#include "refcnt.h"
#include "../08-gil/gil.h"

#include <stdlib.h>
#include <unistd.h>

enum build { B_GIL, B_ATOMIC, B_BIASED, NBUILDS };
static const char *const build_name[NBUILDS] = { "GIL", "atomic", "biased" };

struct worker {
    pthread_t th;
    enum build build;
    struct gil *gil;
    struct rc_obj *constant;
    uint64_t from, to, sum;
};

static void no_dealloc(struct rc_obj *o)
{
    fatal("object %p freed while in use", (void *)o);
}

/* One build's loop: the same ticks, the same check point, its own counts. */
#define TICKS(INC, DEC, EXTRA)                                                          \
    for (uint64_t i = w->from; i < w->to; i++) {                                        \
        INC(c);                                                                         \
        INC(own);                                                                       \
        sum += gil_work(i);                                                             \
        DEC(own);                                                                       \
        DEC(c);                                                                         \
        EXTRA;                                                                          \
        gil_check(&t);                                                                  \
    }
#define BRC_INC(o) brc_incref(o, &me)
#define BRC_DEC(o) brc_decref(o, &me)

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct gil_thread t;
    struct rc_thread me;
    struct rc_obj own_obj, *own = &own_obj, *c = w->constant;
    gil_thread_init(&t, w->gil, "worker");
    rc_thread_init(&me);
    rc_init(own, &me, no_dealloc, NULL);
    uint64_t sum = 0;
    gil_take(&t, GIL_START);
    switch (w->build) {
    case B_GIL: TICKS(plain_incref, plain_decref, (void)0); break;
    case B_ATOMIC: TICKS(atomic_incref, atomic_decref, (void)0); break;
    default: TICKS(BRC_INC, BRC_DEC, if ((i & 63) == 0) rc_thread_merge(&me)); break;
    }
    gil_exit(&t);
    rc_thread_exit(&me);
    w->sum = sum;
    return NULL;
}

/* The job on `threads` threads of one build; returns the wall time in ns. */
static int64_t run(enum build b, int threads, uint64_t n, bool mortal, uint64_t *sum)
{
    struct gil g;
    gil_init(&g, &(struct gil_config){ .mode = b == B_GIL ? GIL_NEW : GIL_NONE });
    struct rc_thread main_thread;
    rc_thread_init(&main_thread);
    struct rc_obj constant;
    rc_init(&constant, &main_thread, no_dealloc, NULL);
    if (b == B_BIASED && !mortal)
        rc_make_immortal(&constant);
    struct worker w[64];
    int64_t t0 = now_ns();
    for (int i = 0; i < threads; i++) {
        w[i] = (struct worker){ .build = b, .gil = &g, .constant = &constant,
                                .from = n * (uint64_t)i / (uint64_t)threads,
                                .to = n * (uint64_t)(i + 1) / (uint64_t)threads };
        CHECK_PT(pthread_create(&w[i].th, NULL, worker_main, &w[i]));
    }
    *sum = 0;
    for (int i = 0; i < threads; i++) {
        CHECK_PT(pthread_join(w[i].th, NULL));
        *sum += w[i].sum;
    }
    int64_t ns = now_ns() - t0;
    long left = b == B_GIL ? constant.plain : b == B_ATOMIC ? atomic_load(&constant.count)
              : rc_is_immortal(&constant) ? 1 : (long)rc_biased_count(&constant);
    if (left != 1)
        fatal("%s build, %d threads: the constant's count ended at %ld, not 1", build_name[b], threads, left);
    rc_thread_exit(&main_thread);
    gil_destroy(&g);
    return ns;
}

int main(int argc, char **argv)
{
    long cores = cpu_count();
    double work_m = 0.6 * (double)cores;
    long max_threads = cores < 4 ? 4 : cores > 64 ? 64 : cores, repeat = 3;
    bool mortal = false;
    const struct cli_opt opts[] = {
        { "work", CLI_REAL, &work_m, "the job, in millions of ticks (default 0.6 per core)", 0.01, 1000, "0.1", NULL },
        { "max-threads", CLI_INT, &max_threads, "largest number of threads (default: the cores, at least 4)", 1, 64, "3", NULL },
        { "repeat", CLI_INT, &repeat, "runs of each (the median is kept)", 1, 1000, "1", NULL },
        { "mortal", CLI_FLAG, &mortal, "the biased build's constant is not immortal", 0, 0, NULL, NULL },
        { 0 },
    };
    struct cli cli = { .measures = true };
    cli_parse(argc, argv, "Chapter 08's workload under the GIL and free-threaded (atomic and biased counts).", opts,
              &cli);

    uint64_t n = (uint64_t)(work_m * 1e6), expect = 0, sum;
    size_t nt = (size_t)max_threads, nr = (size_t)repeat;
    double *wall = calloc(NBUILDS * nt * nr, sizeof *wall), med[NBUILDS][64] = { { 0 } };
    if (!wall)
        die("calloc");
    run(B_GIL, 1, n / 4 + 1, mortal, &sum); /* a warm-up, not kept */
    for (size_t r = 0; r < nr; r++)
        for (int t = 1; t <= (int)nt; t = sweep_next(t, (int)cores, (int)nt))
            for (int b = 0; b < NBUILDS; b++) {
                int64_t ns = run((enum build)b, t, n, mortal, &sum);
                if (r == 0 && t == 1 && b == 0)
                    expect = sum;
                else if (sum != expect)
                    fatal("%s build, %d threads: the work summed to %#llx, not %#llx", build_name[b], t,
                          (unsigned long long)sum, (unsigned long long)expect);
                wall[((size_t)b * nt + (size_t)t - 1) * nr + r] = (double)ns / 1e6;
            }

    printf("a job of %.2f million ticks (gil_work + 2 increfs + 2 decrefs + a check point), " CORES_FMT ", median of %ld "
           "runs%s\n", work_m, CORES_ARG(cores), repeat, mortal ? "; the constant is mortal" : "");
    printf("  %7s %10s %10s %10s | %9s %9s %9s\n", "threads", "GIL ms", "atomic ms", "biased ms", "GIL x",
           "atomic x", "biased x");
    for (int t = 1; t <= (int)nt; t = sweep_next(t, (int)cores, (int)nt)) {
        for (int b = 0; b < NBUILDS; b++)
            med[b][t - 1] = summarize(&wall[((size_t)b * nt + (size_t)t - 1) * nr], nr).median;
        printf("  %7d %10.1f %10.1f %10.1f | %8.2fx %8.2fx %8.2fx\n", t, med[B_GIL][t - 1], med[B_ATOMIC][t - 1],
               med[B_BIASED][t - 1], med[B_GIL][0] / med[B_GIL][t - 1], med[B_ATOMIC][0] / med[B_ATOMIC][t - 1],
               med[B_BIASED][0] / med[B_BIASED][t - 1]);
    }
    double ov_atomic = 100.0 * (med[B_ATOMIC][0] / med[B_GIL][0] - 1), ov_biased = 100.0 * (med[B_BIASED][0] / med[B_GIL][0] - 1);
    int at = (int)(cores < (long)nt ? cores : (long)nt);
    printf("one thread, against the GIL build: atomic %+.0f%%, biased %+.0f%%\n", ov_atomic, ov_biased);
    printf("%d threads, against the GIL build with %d: atomic %.2fx, biased %.2fx\n", at, at,
           med[B_GIL][at - 1] / med[B_ATOMIC][at - 1], med[B_GIL][at - 1] / med[B_BIASED][at - 1]);
    printf("every run's work matched the first run's sum (%#llx)\n", (unsigned long long)expect);

    FILE *data = data_open(cli.data, "nogil_interp: chapter 08's workload with the GIL and free-threaded");
    static const char *const cols[] = {
        "threads (count)", "gil_ms (ms): GIL build, plain counts", "atomic_ms (ms): no GIL, atomic counts",
        "biased_ms (ms): no GIL, biased counts, immortal constant", "overhead_atomic (%): one thread vs GIL",
        "overhead_biased (%)", "cores (count)", NULL,
    };
    data_block(data, "wall time vs threads", cols);
    for (int t = 1; t <= (int)nt; t = sweep_next(t, (int)cores, (int)nt))
        data_row(data, "%d %.3f %.3f %.3f %.1f %.1f %ld\n", t, med[B_GIL][t - 1], med[B_ATOMIC][t - 1],
                 med[B_BIASED][t - 1], ov_atomic, ov_biased, cores);
    data_close(data);
    free(wall);
    return 0;
}
