/* race_fixed.c: the same additions as race.c, made exact three ways.
 *
 * Mirrors: the lesson's fix, a threading.Lock held around the whole 1,000,000-step
 * loop, and the two finer fixes Python does not need to offer.
 *
 *   mutex per addition   lock; counter = counter + 1; unlock. Only one thread is
 *                        between lock and unlock at a time, so no load can see a
 *                        value another thread is about to replace. The unlock also
 *                        publishes the store to the next thread that locks.
 *   mutex around loop    the lesson's version: each thread holds the lock for all
 *                        its additions, so the threads run one after the other (the
 *                        lesson's "multi-task turned into single-task").
 *   atomic add           atomic_fetch_add: on x86 one `lock add` instruction; the core
 *                        owns the cache line from load to store, and no other core
 *                        can slip in between. No lock at all.
 *
 * The threads start together at a start line (a barrier), as in race.c, and each method's total
 * is checked: the program exits 1 if any is not exact. The times printed are one run
 * each, for orientation only; lock_cost.c measures them properly. ThreadSanitizer
 * finds nothing here (the smoke tests run it under TSan too).
 *
 * Run:  ./race_fixed [--threads 2] [--iterations 1000000]
 * Look for: "exact" three times.
 * See also: race.c, lock_cost.c.
 */
#include "thread.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

enum method { PER_ADD, WHOLE_LOOP, ATOMIC, NMETHODS };
static const char *const method_name[NMETHODS] = {
    "mutex per addition", "mutex around the loop", "atomic add",
};

static long g_iterations;
static enum method g_method;
static struct start_line g_start;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static long g_counter;            /* only touched under g_lock */
static atomic_long g_atomic_counter;

static void *adder(void *arg)
{
    (void)arg;
    start_line_wait(&g_start);
    switch (g_method) {
    case PER_ADD:
        for (long i = 0; i < g_iterations; i++) {
            CHECK_PT(pthread_mutex_lock(&g_lock));
            g_counter = g_counter + 1;
            CHECK_PT(pthread_mutex_unlock(&g_lock));
        }
        break;
    case WHOLE_LOOP:
        CHECK_PT(pthread_mutex_lock(&g_lock));
        for (long i = 0; i < g_iterations; i++)
            g_counter = g_counter + 1; /* the compiler may fold this: it is exact either way */
        CHECK_PT(pthread_mutex_unlock(&g_lock));
        break;
    case ATOMIC:
        for (long i = 0; i < g_iterations; i++)
            atomic_fetch_add_explicit(&g_atomic_counter, 1, memory_order_relaxed);
        break;
    default:
        fatal("no such method");
    }
    return NULL;
}

int main(int argc, char **argv)
{
    long threads = 2;
    g_iterations = 1000000;
    const struct cli_opt opts[] = {
        { "threads", CLI_INT, &threads, "threads adding to the one counter", 1, 64, "2", NULL },
        { "iterations", CLI_INT, &g_iterations, "additions per thread", 1, 1000000000, "100000", NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "The same additions as race, made exact: a mutex per addition, a mutex\n"
                          "around the loop, an atomic add.", opts, &cli);

    pthread_t *ids = malloc((size_t)threads * sizeof *ids);
    if (!ids)
        die("malloc");
    long expected = threads * g_iterations;
    int wrong = 0;
    printf("%ld threads x %ld additions to one counter\n", threads, g_iterations);
    for (int m = 0; m < NMETHODS; m++) {
        g_method = (enum method)m;
        g_counter = 0;
        atomic_store(&g_atomic_counter, 0);
        start_line_init(&g_start, (int)threads);
        int64_t t = now_ns();
        for (long k = 0; k < threads; k++)
            CHECK_PT(pthread_create(&ids[k], NULL, adder, NULL));
        for (long k = 0; k < threads; k++)
            CHECK_PT(pthread_join(ids[k], NULL)); /* join: we see every store they made */
        t = now_ns() - t;
        long got = m == ATOMIC ? atomic_load(&g_atomic_counter) : g_counter;
        printf("  %-22s expected %ld, got %ld: %s  (%.1f ms, one run)\n", method_name[m], expected,
               got, got == expected ? "exact" : "WRONG", (double)t / 1e6);
        wrong += got != expected;
    }
    free(ids);
    if (wrong)
        fatal("%d method(s) lost updates", wrong);
    return 0;
}
