/* solutions/forkserver_preload.c: exercise 3 of chapter 10 (start_methods).
 *
 * The exercise: Python's multiprocessing.set_forkserver_preload(["big_module"]) makes
 * the fork server import modules before it forks any worker, so that workers start
 * with them ready. Do the same with a table the workers need (--mib of it), and
 * measure what it does to the start cost.
 *
 * The answer: build the table, then start the fork server. Each worker finds the table
 * ready (it checks a few entries): the work of building it is done once, not once per
 * worker. But the server is no longer small, and every fork now copies the page tables
 * of the table: the start cost climbs back towards plain fork's (start_methods' figure).
 * Preload what every worker needs, and nothing else.
 *
 * Run:  solutions/forkserver_preload [--mib 64] [--repeat 11] [--rounds 3]
 * Look for: the preloaded server's workers slower to start, by about what fork pays
 * for that much memory, and the table found ready.
 */
#include "startmethod.h"

#include <string.h>
#include <sys/mman.h>

static uint64_t *g_table;
static size_t g_entries;

static uint64_t check_table(uint64_t i)
{
    if (!g_table)
        return 0;
    return g_table[i % g_entries] == mix64(i % g_entries) ? 1 : 0;
}

static const struct start_task g_tasks[] = { { "check_table", check_table }, { NULL, NULL } };

/* starts `repeat` workers through the current fork server; their start times (µs)
 * into v[], and whether every one found the table */
static bool sample(long repeat, double *v)
{
    bool ok = true;
    for (long r = 0; r < repeat; r++) {
        struct worker w;
        int64_t t = now_ns();
        start_worker(START_FORKSERVER, "check_table", (uint64_t)r * 7919, &w);
        if (worker_wait(&w, 30 * NS_PER_S) != 0 || !w.has_result)
            fatal("a worker did not finish");
        v[r] = (double)(now_ns() - t) / 1e3;
        ok = ok && w.result == 1;
    }
    return ok;
}

int main(int argc, char **argv)
{
    startmethod_main(argc, argv, g_tasks);
    long mib = 64, repeat = 11, rounds = 3;
    const struct cli_opt opts[] = {
        { "mib", CLI_INT, &mib, "size of the preloaded table (MiB)", 1, 1024, "8", NULL },
        { "repeat", CLI_INT, &repeat, "workers started each way in each round", 1, 201, "5", NULL },
        { "rounds", CLI_INT, &rounds, "rounds of both ways", 1, 3, "1", NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "Exercise 3: a fork server with a preloaded table, and what it costs to start workers.",
              opts, &cli);
    /* rounds of both, so that a busy spell of the machine falls on both alike */
    size_t bytes = (size_t)mib << 20;
    g_entries = bytes / sizeof *g_table;
    double plain[3 * 201], preloaded[3 * 201];
    bool found_plain = false, found_preloaded = true;
    for (long round = 0; round < rounds; round++) {
        forkserver_start(); /* small: nothing preloaded */
        found_plain |= sample(repeat, plain + round * repeat);
        forkserver_stop();
        g_table = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (g_table == MAP_FAILED)
            die("mmap %ld MiB", mib);
        if (madvise(g_table, bytes, MADV_NOHUGEPAGE) == -1)
            die("madvise");
        for (size_t i = 0; i < g_entries; i++) /* the preload: build it, then start the server */
            g_table[i] = mix64(i);
        forkserver_start();
        found_preloaded &= sample(repeat, preloaded + round * repeat);
        forkserver_stop();
        CHECK_SYS(munmap(g_table, bytes));
        g_table = NULL;
    }
    size_t n = (size_t)(rounds * repeat);
    double a = summarize(plain, n).median, b = summarize(preloaded, n).median;
    printf("plain fork server:      %7.0f µs per worker (median of %zu); table found: %s\n", a, n,
           found_plain ? "yes?!" : "no");
    printf("with a %ld MiB preload: %7.0f µs per worker (median of %zu); table found: %s (%.1fx the plain start)\n",
           mib, b, n, found_preloaded ? "yes, ready" : "no?!", b / a);
    bool ok = found_preloaded && !found_plain;
    return ok ? 0 : 1;
}
