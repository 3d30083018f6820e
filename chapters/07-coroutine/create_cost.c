/* create_cost.c: what it costs to make a task, run it to its first stop, and get rid
 * of it, from a generator to a process, with and without the stack cache.
 *
 * Mirrors: the lessons' claim that coroutines are cheap to create ("a coroutine is
 * just a function"), against asyncio.create_task, greenlet(run), gevent.spawn,
 * threading.Thread(...).start() and multiprocessing.Process(...).start().
 *
 * Each row makes one, runs it until it first stops, and disposes of it, --reps times
 * per sample; the median of --samples samples is printed, per task:
 *   generator          initialise its struct, call it once (generator.h);
 *   stackless task     aio_spawn, the loop runs it to its end, gather (aio.c): what
 *                      asyncio.create_task + await does, without the interpreter;
 *   coroutine, fresh   coro_create + switch in and out + coro_free with the stack
 *                      cache off: mmap, mprotect (guard page), a page fault, munmap;
 *   coroutine, cached  the same with the stack cache on and warm: the stack of the
 *                      previous one comes back, no system call at all;
 *   coroutine, copied  a CORO_COPY_STACK one: its first frame is copied onto the
 *                      shared stack, nothing is mapped;
 *   hub task, cached   hub_spawn + hub_join of a task that returns at once: the
 *                      coroutine, the task record, a trip through the ready queue;
 *   thread             pthread_create + pthread_join;
 *   process            fork + waitpid.
 * The rows take turns sample by sample, so a slow spell of the shared machine falls
 * on all alike. The cached and fresh rows differ only in coro_cache_limit.
 *
 * Run:  ./create_cost [--samples 21] [--reps 1000] [--data FILE]
 * Look for: a cached coroutine (well under a microsecond) against a fresh one (the
 * system calls: microseconds); the stackless task cheapest after the bare generator;
 * threads in tens of microseconds, processes in hundreds.
 * See also: coro.c (the stack cache), switch_cost.c (the switch itself), many_sleepers.c.
 */
#include "common.h"
#include "aio.h"
#include "coro.h"
#include "generator.h"
#include "hub.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

enum row { GEN, STACKLESS, FRESH, CACHED, COPIED, HUB, THREAD, PROCESS, NROWS };
static const struct {
    const char *name, *label; /* table; figure (gnuplot enhanced text) */
    int group;                /* the figure's colour, as in many_sleepers' figure */
    long divisor;             /* --reps / divisor per sample */
} g_row[NROWS] = {
    { "generator (init + first call)", "generator", 5, 1 },
    { "stackless task (spawn, run, gather)", "stackless\\ntask", 5, 1 },
    { "coroutine, fresh stack (mmap...)", "coroutine\\nfresh stack", 1, 20 },
    { "coroutine, cached stack", "coroutine\\ncached stack", 6, 1 },
    { "coroutine, copied stack", "coroutine\\ncopied stack", 3, 1 },
    { "hub task, cached stack", "hub task\\ncached", 6, 1 },
    { "thread (pthread_create + join)", "thread", 2, 50 },
    { "process (fork + waitpid)", "process", 4, 500 },
};

__attribute__((noinline)) static bool ticker_next(struct gen_ticker *t)
{
    return gen_ticker_next(t); /* (generator.h) */
}

static void *noop(void *arg)
{
    return arg;
}

/* copied stacks exist on the hand-written switch only */
static bool available(enum row r)
{
    return r != COPIED || strcmp(coro_backend(), "ucontext") != 0;
}

/* ---- stackless: a main task spawns n children that end at once, and gathers them ---- */

struct quick {
    struct aio_task task;
};

static bool quick_step(struct aio_task *t)
{
    GEN_BEGIN(&t->gen);
    GEN_END(&t->gen);
}

struct spawner {
    struct aio_task task;
    long n, i;
    struct quick *kids;
    struct aio_task **all;
};

static bool spawner_step(struct aio_task *t)
{
    struct spawner *s = (struct spawner *)t;
    GEN_BEGIN(&t->gen);
    for (s->i = 0; s->i < s->n; s->i++) {
        aio_spawn(&s->kids[s->i].task, quick_step);
        s->all[s->i] = &s->kids[s->i].task;
    }
    AIO_GATHER(t, s->all, (size_t)s->n);
    GEN_END(&t->gen);
}

static void stackless_births(long n)
{
    struct spawner s = { .n = n, .kids = malloc((size_t)n * sizeof *s.kids), .all = malloc((size_t)n * sizeof *s.all) };
    if (!s.kids || !s.all)
        die("malloc");
    if (aio_run(&s.task, spawner_step) != 0)
        fatal("aio_run");
    free(s.kids);
    free(s.all);
}

/* ---- one row: n births, in ns per birth ---- */

static double births_ns(enum row r, long n)
{
    if (r == FRESH)
        coro_cache_limit(0);
    int64_t t0 = now_ns();
    for (long i = 0; i < n && r != STACKLESS; i++) {
        switch (r) {
        case GEN: {
            struct gen_ticker tk = { .n = 0 };
            ticker_next(&tk);
            __asm__ volatile("" : : "r"(&tk) : "memory"); /* keep it */
            break;
        }
        case FRESH: case CACHED: case COPIED: {
            struct coro *c = coro_create(noop, 0, r == COPIED ? CORO_COPY_STACK : 0);
            if (!c)
                die("coro_create");
            coro_switch(c, NULL); /* it runs noop and returns at once */
            coro_free(c);
            break;
        }
        case HUB: {
            struct hub_task *t = hub_spawn(noop, NULL);
            if (!t || hub_join(t, NS_PER_S, NULL) != 0)
                fatal("hub_spawn/hub_join");
            break;
        }
        case THREAD: {
            pthread_t th;
            CHECK_PT(pthread_create(&th, NULL, noop, NULL));
            CHECK_PT(pthread_join(th, NULL));
            break;
        }
        case PROCESS: {
            pid_t pid = fork(); /* the child ends at once: nothing to flush or orphan */
            if (pid == -1)
                die("fork");
            if (pid == 0)
                _exit(0);
            int status;
            if (child_wait(pid, 5 * NS_PER_S, &status) != 0)
                fatal("a child did not end");
            break;
        }
        default:
            fatal("no such row");
        }
    }
    if (r == STACKLESS)
        stackless_births(n);
    double ns = (double)(now_ns() - t0) / (double)n;
    if (r == FRESH)
        coro_cache_limit(CORO_CACHE_DEFAULT);
    return ns;
}

int main(int argc, char **argv)
{
    long samples = 21, reps = 1000;
    const struct cli_opt opts[] = {
        { "samples", CLI_INT, &samples, "samples per row (the median is reported)", 3, 1001, "3", NULL },
        { "reps", CLI_INT, &reps, "births per sample for the cheapest rows", 500, 1000000, "500", NULL },
        { 0 },
    };
    struct cli cli = { .measures = true };
    cli_parse(argc, argv,
              "The cost of making a task, running it to its first stop and getting rid of it:\n"
              "generators, stackless tasks, coroutines with and without the stack cache,\n"
              "threads, processes.", opts, &cli);
    FILE *data = data_open(cli.data, "create_cost: make a task, run it to its first stop, dispose of it");
    printf("create_cost: %s%s\n", machine_string(),
#if defined(WB_ASAN) || defined(WB_TSAN)
           " (sanitizer build: the timings mean little)"
#else
           ""
#endif
    );
    fflush(stdout); /* nothing buffered may be copied into the forked children */
    double *ns = calloc((size_t)(NROWS * samples), sizeof *ns);
    if (!ns)
        die("calloc");
    for (int r = 0; r < NROWS; r++) /* warm-up: the cache gets its stack, the hub its loop */
        if (available((enum row)r))
            births_ns((enum row)r, 2);
    for (long s = 0; s < samples; s++)
        for (int r = 0; r < NROWS; r++)
            if (available((enum row)r))
                ns[r * samples + s] = births_ns((enum row)r, reps / g_row[r].divisor);
    hub_close();

    printf("\nmake one, run it to its first stop, get rid of it (median of %ld samples)\n", samples);
    printf("  %-38s %12s %12s %12s\n", "what", "ns", "p10", "p90");
    static const char *const cols[] = {
        "row (index)", "median (ns): make, run once, dispose of", "p10 (ns)", "p90 (ns)", "label (text)",
        "group (1-7): the figure's colour", NULL,
    };
    data_block(data, "making one, by kind", cols);
    struct summary sum[NROWS];
    for (int r = 0; r < NROWS; r++) {
        if (!available((enum row)r)) {
            printf("  %-38s %12s  (not on the ucontext switch)\n", g_row[r].name, "-");
            data_row(data, "%d NaN NaN NaN \"%s\" %d\n", r, g_row[r].label, g_row[r].group);
            continue;
        }
        sum[r] = summarize(&ns[r * samples], (size_t)samples);
        printf("  %-38s %12.1f %12.1f %12.1f\n", g_row[r].name, sum[r].median, sum[r].p10, sum[r].p90);
        data_row(data, "%d %.2f %.2f %.2f \"%s\" %d\n", r, sum[r].median, sum[r].p10, sum[r].p90, g_row[r].label,
                 g_row[r].group);
    }
    printf("\nratios of medians from this run:\n");
    printf("  coroutine, fresh stack / cached stack = %.0fx\n", sum[FRESH].median / sum[CACHED].median);
    printf("  thread / cached coroutine             = %.0fx\n", sum[THREAD].median / sum[CACHED].median);
    printf("  cached coroutine / stackless task     = %.1fx\n", sum[CACHED].median / sum[STACKLESS].median);
    data_row(data, "# ratio_fresh_cached: %.0f\n", sum[FRESH].median / sum[CACHED].median);
    free(ns);
    data_close(data);
    return 0;
}
