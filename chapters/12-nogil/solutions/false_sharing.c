/* solutions/false_sharing.c: exercise 1 of chapter 12. How far apart must two threads'
 * words be before they stop slowing each other down?
 *
 * Two threads, each adding 1 to a word of its own --incs times (a locked add, relaxed
 * order), the two words `stride` bytes apart, for strides of 8 to 256 bytes. Nothing is
 * shared in the program; only the hardware shares: while both words sit in one 64-byte
 * cache line, each add must take the line from the other core. The first stride that
 * puts them on separate lines is the cliff. (Some Intel cores also fetch lines in
 * pairs, so 64 can still cost a little more than 128.)
 *
 * Run:  ./solutions/false_sharing [--incs 2000000] [--repeat 3]
 * Look for: the same cost up to 32 bytes, then a drop by an order of magnitude.
 * See also: sharing_cost.c (its "line" columns use a stride of 8, its "own" ones 128).
 */
#include "team.h"

#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>

static alignas(256) unsigned char g_area[512];

struct args { size_t stride; long n; };

static void body(int i, void *arg)
{
    const struct args *a = arg;
    atomic_long *w = (atomic_long *)(void *)(g_area + (size_t)i * a->stride);
    for (long k = 0; k < a->n; k++)
        atomic_fetch_add_explicit(w, 1, memory_order_relaxed);
}

int main(int argc, char **argv)
{
    long incs = 2000000, repeat = 3;
    const struct cli_opt opts[] = {
        { "incs", CLI_INT, &incs, "increments per thread and run", 1000, 1000000000, "100000", NULL },
        { "repeat", CLI_INT, &repeat, "runs of each (the median is kept)", 1, 1000, "1", NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "Two threads' atomic adds to words 8 to 256 bytes apart: where false sharing ends.", opts,
              &cli);
    static const size_t strides[] = { 8, 16, 32, 64, 128, 256 };
    double v[1000];
    printf("  %8s %14s\n", "stride", "ns per add");
    for (size_t s = 0; s < ARRAY_LEN(strides); s++) {
        struct args a = { strides[s], incs };
        for (long r = 0; r < repeat; r++)
            v[r] = (double)team_run(2, body, &a) / (double)incs;
        printf("  %6zu B %14.2f%s\n", strides[s], summarize(v, (size_t)repeat).median,
               strides[s] < 64 ? "   (one cache line)" : "");
    }
    /* thread 0's word is at offset 0 for every stride: it holds every one of its adds */
    long got = atomic_load((atomic_long *)(void *)g_area), want = (long)ARRAY_LEN(strides) * repeat * incs;
    if (got != want)
        fatal("thread 0's word holds %ld, expected %ld", got, want);
    printf("every add landed\n");
    return 0;
}
