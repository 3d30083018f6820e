/* switch_cost.c: what one switch costs, from a generator to a process.
 *
 * Mirrors: the lessons' claim that switching coroutines is far cheaper than switching
 * threads ("no thread context switch, the program switches itself"), and greenlet's
 * switch() against the kernel's.
 *
 * It times a round trip (there and back: two switches) between two parties, and
 * prints half of it, the cost of one switch:
 *   generator resume       next() on a stackless generator (generator.h): a call
 *                          that jumps into a switch statement, and a return;
 *   bare register swap     the floor: six pushes, two moves, six pops and a ret
 *                          between two stacks, no bookkeeping at all (bare_switch.c);
 *   coro_switch            ours (coro.c): the same swap, plus the current-coroutine
 *                          pointer and the value handed over; and again for a
 *                          coroutine with FPU modes of its own (CORO_OWN_FPU: two
 *                          control-word stores and loads more);
 *   swapcontext            ucontext(3), the portable way: it also saves the signal
 *                          mask, with a rt_sigprocmask system call each time
 *                          (bare_switch.c);
 *   threads, condvar       two threads taking turns through a mutex and condition
 *                          variable: each turn wakes the other through the kernel
 *                          (futex); on one CPU (both pinned there: a real context
 *                          switch) and on two (a wake-up sent to the other core);
 *   processes, pipe        two processes bouncing a byte through two pipes, on one
 *                          CPU and on two (the threads and the processes: handoff.c).
 * The methods take turns sample by sample (round robin), so a slow spell of the
 * shared machine falls on all of them alike; each number is the median of --samples.
 *
 * Printed at the end, from the same run: coro_switch against the bare swap, and
 * swapcontext and a thread hand-off against coro_switch. Under a sanitizer the bare
 * swap and raw swapcontext are left out (they switch stacks without telling the
 * sanitizer) and the timings mean little anyway. What it costs to make each kind of
 * task is create_cost.c's subject.
 *
 * Run:  ./switch_cost [--samples 21] [--rounds 100000] [--data FILE]
 * Look for: nanoseconds for the user-space switches, microseconds for the kernel's.
 * See also: coro.c (the switch, register by register), create_cost.c, plots/switch_cost.gp.
 */
#include "common.h"
#include "bare_switch.h"
#include "coro.h"
#include "generator.h"
#include "handoff.h"

#include <stdlib.h>
#include <string.h>

enum method { GEN, BARE, CORO, CORO_FPU, UCTX, THR1, THR2, PROC1, PROC2, NMETHODS };
static const struct {
    const char *name;   /* for the table */
    const char *label;  /* for the figure (gnuplot's enhanced text) */
    int group;          /* the figure's colour: 1 stackful, 2 thread, 3 stackless, ... */
    long divisor;       /* round trips per sample: --rounds / divisor */
} g_m[NMETHODS] = {
    { "generator resume (stackless)", "generator", 3, 1 },
    { "bare register swap (floor)", "bare\\nswap", 7, 1 },
    { "coro_switch (ours)", "coro\\\\_switch\\n(ours)", 1, 1 },
    { "coro_switch, own FPU modes", "ours, own\\nFPU modes", 1, 1 },
    { "swapcontext (ucontext)", "swap-\\ncontext", 5, 20 },
    { "threads, condvar, one CPU", "threads\\n1 CPU", 2, 200 },
    { "threads, condvar, two CPUs", "threads\\n2 CPUs", 2, 200 },
    { "processes, pipe, one CPU", "processes\\n1 CPU", 4, 200 },
    { "processes, pipe, two CPUs", "processes\\n2 CPUs", 4, 200 },
};

static int g_cpu[2] = { -1, -1 }; /* the two CPUs we may run on; -1: none */

/* ---- the generator ---- */

__attribute__((noinline)) static bool ticker_next(struct gen_ticker *t)
{
    return gen_ticker_next(t); /* (generator.h) */
}

static struct gen_ticker g_ticker;

static void gen_rounds(long n)
{
    for (long i = 0; i < n; i++)
        ticker_next(&g_ticker);
}

/* ---- our coroutine ---- */

static struct coro *g_co, *g_co_fpu;

static void *coro_loop(void *arg)
{
    (void)arg;
    struct coro *back = coro_main();
    for (;;)
        coro_switch(back, NULL);
    return NULL;
}

static void coro_rounds(struct coro *c, long n)
{
    for (long i = 0; i < n; i++)
        coro_switch(c, NULL);
}

static struct turns g_thr[2];    /* threads on one CPU, on two */
static struct bounce g_proc[2];  /* processes on one CPU, on two */

/* ---- the methods, round robin ---- */

static bool available(enum method m)
{
    switch (m) {
#ifndef HAVE_BARE
    case BARE: return false;
#endif
#ifndef HAVE_RAW_UCONTEXT
    case UCTX: return false;
#endif
    case THR1: case PROC1: return g_cpu[0] >= 0;
    case THR2: case PROC2: return g_cpu[1] >= 0;
    default: return true;
    }
}

static void run_rounds(enum method m, long n)
{
    switch (m) {
    case GEN: gen_rounds(n); break;
#ifdef HAVE_BARE
    case BARE: bare_rounds(n); break;
#endif
    case CORO: coro_rounds(g_co, n); break;
    case CORO_FPU: coro_rounds(g_co_fpu, n); break;
#ifdef HAVE_RAW_UCONTEXT
    case UCTX: raw_uc_rounds(n); break;
#endif
    case THR1: turns_rounds(&g_thr[0], n); break;
    case THR2: turns_rounds(&g_thr[1], n); break;
    case PROC1: bounce_rounds(&g_proc[0], n); break;
    case PROC2: bounce_rounds(&g_proc[1], n); break;
    default: fatal("no such method");
    }
}

/* the first two CPUs this process may run on */
static void find_cpus(void)
{
    first_cpus(g_cpu, 2);
}

int main(int argc, char **argv)
{
    long samples = 21, rounds = 100000;
    const struct cli_opt opts[] = {
        { "samples", CLI_INT, &samples, "samples per method (the median is reported)", 3, 1001, "3", NULL },
        { "rounds", CLI_INT, &rounds, "round trips per sample for the fastest methods", 200, 100000000, "2000", NULL },
        { 0 },
    };
    struct cli cli = { .measures = true };
    cli_parse(argc, argv,
              "The cost of one switch between coroutines, threads and processes.", opts, &cli);

    find_cpus();
    FILE *data = data_open(cli.data, "switch_cost: one switch, by method");
    printf("switch_cost: %s; our switch: %s%s\n", machine_string(), coro_backend(),
#if defined(WB_ASAN) || defined(WB_TSAN)
           " (sanitizer build: the timings mean little)"
#else
           ""
#endif
    );
    if (g_cpu[0] >= 0)
        pin_to_cpu(g_cpu[0]); /* main stays on the first CPU; helpers go where told */

    /* the parties, made once */
    g_co = coro_create(coro_loop, 0, 0);
    g_co_fpu = coro_create(coro_loop, 0, CORO_OWN_FPU);
    if (!g_co || !g_co_fpu)
        die("coro_create");
#ifdef HAVE_BARE
    bare_setup();
#endif
#ifdef HAVE_RAW_UCONTEXT
    raw_uc_setup();
#endif
    if (g_cpu[0] >= 0)
        turns_start(&g_thr[0], g_cpu[0]);
    if (g_cpu[1] >= 0)
        turns_start(&g_thr[1], g_cpu[1]);
    if (g_cpu[0] >= 0)
        bounce_start(&g_proc[0], g_cpu[0]);
    if (g_cpu[1] >= 0)
        bounce_start(&g_proc[1], g_cpu[1]);

    /* round robin over the methods, one sample each per turn */
    double *ns = calloc((size_t)(NMETHODS * samples), sizeof *ns);
    if (!ns)
        die("calloc");
    for (int m = 0; m < NMETHODS; m++) /* warm-up */
        if (available((enum method)m))
            run_rounds((enum method)m, rounds / g_m[m].divisor / 10 + 1);
    for (long s = 0; s < samples; s++) {
        for (int m = 0; m < NMETHODS; m++) {
            if (!available((enum method)m))
                continue;
            long n = rounds / g_m[m].divisor;
            int64_t t = now_ns();
            run_rounds((enum method)m, n);
            ns[m * samples + s] = (double)(now_ns() - t) / (2.0 * (double)n); /* 2 switches */
        }
    }
    struct summary sw[NMETHODS];
    printf("\nOne switch (a round trip is two; median of %ld samples)\n", samples);
    printf("  %-32s %12s %12s %12s %14s\n", "method", "ns/switch", "p10", "p90", "switches/s");
    static const char *const cols1[] = {
        "method (index)", "median (ns): one switch", "p10 (ns)", "p90 (ns)", "label (text)",
        "group (1-7): the figure's colour", NULL,
    };
    data_block(data, "one switch, by method", cols1);
    for (int m = 0; m < NMETHODS; m++) {
        if (!available((enum method)m)) {
            printf("  %-32s %12s\n", g_m[m].name, "-");
            data_row(data, "%d NaN NaN NaN \"%s\" %d\n", m, g_m[m].label, g_m[m].group);
            sw[m].median = 0;
            continue;
        }
        sw[m] = summarize(&ns[m * samples], (size_t)samples);
        printf("  %-32s %12.1f %12.1f %12.1f %14.0f\n", g_m[m].name, sw[m].median, sw[m].p10, sw[m].p90,
               1e9 / sw[m].median);
        data_row(data, "%d %.3f %.3f %.3f \"%s\" %d\n", m, sw[m].median, sw[m].p10, sw[m].p90, g_m[m].label,
                 g_m[m].group);
    }
    fflush(stdout);

    printf("\nRatios of medians from this run:\n");
    if (strcmp(coro_backend(), "ucontext") == 0)
        printf("  (this build's coro_switch is the ucontext one)\n");
    if (available(BARE)) {
        printf("  coro_switch / bare swap         = %6.2fx\n", sw[CORO].median / sw[BARE].median);
        data_row(data, "# ratio_bare: %.2f\n", sw[CORO].median / sw[BARE].median);
    }
    if (available(UCTX)) {
        printf("  swapcontext / coro_switch       = %6.1fx\n", sw[UCTX].median / sw[CORO].median);
        data_row(data, "# ratio_ucontext: %.0f\n", sw[UCTX].median / sw[CORO].median);
    }
    if (available(THR1))
        printf("  threads (one CPU) / coro_switch = %6.0fx\n", sw[THR1].median / sw[CORO].median);

    for (int i = 0; i < 2; i++) {
        if (g_cpu[i] >= 0) {
            turns_stop(&g_thr[i]);
            bounce_stop(&g_proc[i]);
        }
    }
    coro_free(g_co);
    coro_free(g_co_fpu);
#ifdef HAVE_BARE
    bare_teardown();
#endif
#ifdef HAVE_RAW_UCONTEXT
    raw_uc_teardown();
#endif
    free(ns);
    data_close(data);
    return 0;
}
