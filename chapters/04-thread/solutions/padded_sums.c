/* solutions/padded_sums.c: exercise 2 of chapter 04 (threads).
 *
 * The question: lock_cost's per-thread sums live on each thread's stack, and scale.
 * Put them in one shared array instead, long sum[T], a slot per thread: what does
 * that cost, and what does padding each slot to 64 bytes change?
 *
 * The answer: adjacent slots share a cache line, and a core can only write a line it
 * holds alone, so the line moves from core to core at nearly every addition although
 * no two threads ever touch the same variable: *false sharing*. The per-thread sums
 * then cost about what the shared atomic add does, several times their cost on the
 * stack. Padding each slot to a cache line of its own (64 bytes on x86-64 and most
 * Arm cores: `getconf LEVEL1_DCACHE_LINESIZE`) gives the speed back. (A compiler keeps
 * a sum it can see is private in a register; the slots here are written through a
 * volatile pointer, so every addition really stores, as a sum shared with anything
 * else would.)
 *
 * What it does: T = cores threads (2 at least) add 1 to their own slot --iterations
 * times: slots 8 bytes apart, slots 64 bytes apart, and a local variable written the same
 * way, each --repeat times round robin; ns per addition (wall time over all additions),
 * medians. Every slot is checked.
 *
 * Run:  solutions/padded_sums [--iterations 20000000] [--repeat 5]
 * Look for: the adjacent slots several times slower than the padded ones, which cost
 * what the local variable does.
 * See also: ../../12-nogil/solutions/false_sharing.c (the stride at which it stops).
 */
#include "../thread.h"

#include <stdalign.h>
#include <stdlib.h>
#include <unistd.h>

enum { MAXT = 64, LINE = 64 };
enum layout { ADJACENT, PADDED, LOCAL, NLAYOUTS };
static const char *const layout_name[NLAYOUTS] = { "one array, 8 bytes apart", "one array, 64 bytes apart",
                                                   "a local variable each" };

static alignas(LINE) long g_slots[MAXT * (LINE / sizeof(long))];
static long g_iterations;
static enum layout g_layout;
static struct start_line g_start;

static void *adder(void *arg)
{
    long me = (long)(intptr_t)arg, local = 0;
    volatile long *slot = g_layout == LOCAL ? &local
                        : g_layout == PADDED ? &g_slots[me * (LINE / (long)sizeof(long))] : &g_slots[me];
    start_line_wait(&g_start);
    for (long i = 0; i < g_iterations; i++)
        *slot = *slot + 1;
    if (*slot != g_iterations)
        fatal("thread %ld: its sum is %ld, not %ld", me, *slot, g_iterations);
    return NULL;
}

static double run(enum layout l, int threads)
{
    pthread_t t[MAXT];
    g_layout = l;
    for (size_t i = 0; i < ARRAY_LEN(g_slots); i++)
        g_slots[i] = 0;
    start_line_init(&g_start, threads + 1);
    for (int i = 0; i < threads; i++)
        CHECK_PT(pthread_create(&t[i], NULL, adder, (void *)(intptr_t)i));
    start_line_wait(&g_start);
    int64_t t0 = now_ns();
    for (int i = 0; i < threads; i++)
        CHECK_PT(pthread_join(t[i], NULL));
    return (double)(now_ns() - t0) / ((double)threads * (double)g_iterations);
}

int main(int argc, char **argv)
{
    long repeat = 5;
    g_iterations = 20000000;
    const struct cli_opt opts[] = {
        { "iterations", CLI_INT, &g_iterations, "additions per thread", 1000, 1000000000, "500000", NULL },
        { "repeat", CLI_INT, &repeat, "runs of each layout (the median is kept)", 1, 100, "1", NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "Exercise 2: per-thread sums side by side in one array (false sharing), padded,\n"
                          "and on each thread's stack.", opts, &cli);
    long cores = cpu_count();
    int threads = cores < 2 ? 2 : cores > MAXT ? MAXT : (int)cores;
    double *ns = malloc((size_t)(NLAYOUTS * repeat) * sizeof *ns);
    if (!ns)
        die("malloc");
    for (long r = 0; r < repeat; r++)
        for (int l = 0; l < NLAYOUTS; l++)
            ns[l * repeat + r] = run((enum layout)l, threads);
    printf("%d threads x %ld additions, each to a sum of its own; ns per addition, median of %ld\n", threads,
           g_iterations, repeat);
    double med[NLAYOUTS];
    for (int l = 0; l < NLAYOUTS; l++) {
        med[l] = summarize(&ns[l * repeat], (size_t)repeat).median;
        printf("  %-28s %8.2f\n", layout_name[l], med[l]);
    }
    printf("sharing a cache line made each addition %.1fx as dear as with a line each\n", med[ADJACENT] / med[PADDED]);
    free(ns);
    return 0;
}
