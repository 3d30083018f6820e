/* race.c: the lost update. A DELIBERATE DATA RACE: this program is wrong on purpose.
 *
 * Mirrors: the lesson's two threads that each add 1 to a global 1,000,000 times, here
 * without the lock. (What CPython itself does with that code is in the README: on
 * 3.11 it loses nothing, and why.)
 *
 * `counter = counter + 1` is three steps for the CPU: load the value into a register,
 * add 1, store it back. Two threads on two cores can both load 41, both store 42:
 * one of the two additions is lost. The program starts --threads threads together and
 * has each add 1 --iterations times, then prints the expected total, what it got,
 * and the share of updates lost, for --rounds rounds.
 *
 * Two things would hide the race, and the program defeats both:
 *   - the compiler, which may turn the loop into one `counter += n` (then there is
 *     nothing to interleave): the counter is volatile, so every load and every store
 *     really happens. volatile does not make the access atomic, and it orders nothing
 *     between threads: it only stops the compiler from merging or dropping accesses.
 *   - the start: creating a thread takes tens of microseconds, and a short loop is over
 *     before the next thread runs. A barrier releases all threads at once: a spinning
 *     one (thread.h's start line), since pthread_barrier_wait puts the early threads
 *     to sleep and waking one on another core takes 10 µs or more (wakeup.c).
 * Relaxed atomic loads and stores would keep the steps apart as well and make the
 * program well-defined C; volatile is used so that ThreadSanitizer sees what it is, a
 * data race, and says so (a test checks that it does).
 *
 * Under ThreadSanitizer (make SAN=thread) expect "WARNING: ThreadSanitizer: data race"
 * and exit status 66; ASan and UBSan have nothing to say about it.
 *
 * Run:  ./race [--threads 2] [--iterations 1000000] [--rounds 3]
 * Look for: "got" below "expected", by a different amount every round.
 * See also: race_fixed.c (a mutex and an atomic add make it exact), race_rate.c (how
 * much is lost, and when), taskset -c 0 ./race (one core: see the README).
 */
#include "thread.h"

#include <pthread.h>
#include <stdlib.h>

static volatile long g_counter; /* shared by every adder, with no lock: the race */
static long g_iterations;
static struct start_line g_start;

static void *adder(void *arg)
{
    (void)arg;
    trace_name("adder");
    start_line_wait(&g_start); /* all threads leave it together */
    for (long i = 0; i < g_iterations; i++) {
        long v = g_counter; /* load */
        g_counter = v + 1;  /* add, store: another thread may have stored in between */
    }
    return NULL;
}

int main(int argc, char **argv)
{
    long threads = 2, rounds = 3;
    g_iterations = 1000000;
    const struct cli_opt opts[] = {
        { "threads", CLI_INT, &threads, "threads adding to the one counter", 1, 64, "2", NULL },
        { "iterations", CLI_INT, &g_iterations, "additions per thread", 1, 1000000000, "100000", NULL },
        { "rounds", CLI_INT, &rounds, "times to run the whole race", 1, 1000, "3", NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "Threads add 1 to one counter without a lock: updates are lost\n"
                          "(a deliberate data race).", opts, &cli);

    pthread_t *ids = malloc((size_t)threads * sizeof *ids);
    if (!ids)
        die("malloc");
    long expected = threads * g_iterations;
    printf("%ld threads x %ld additions to one unlocked counter\n", threads, g_iterations);
    printf("  %5s %12s %12s %12s %8s\n", "round", "expected", "got", "lost", "lost %");
    long total_lost = 0;
    for (long r = 1; r <= rounds; r++) {
        g_counter = 0;
        start_line_init(&g_start, (int)threads);
        for (long t = 0; t < threads; t++)
            CHECK_PT(pthread_create(&ids[t], NULL, adder, NULL));
        for (long t = 0; t < threads; t++)
            CHECK_PT(pthread_join(ids[t], NULL));
        long got = g_counter;
        if (got > expected || got < 1)
            fatal("got %ld of %ld: a lost update can only lose", got, expected);
        total_lost += expected - got;
        printf("  %5ld %12ld %12ld %12ld %7.2f%%\n", r, expected, got, expected - got,
               100.0 * (double)(expected - got) / (double)expected);
    }
    printf("lost %.2f%% of all %ld updates; got <= expected in every round\n",
           100.0 * (double)total_lost / (double)(expected * rounds), expected * rounds);
    free(ids);
    return 0;
}
