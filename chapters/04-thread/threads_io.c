/* threads_io.c: threads that wait overlap their waits.
 *
 * Mirrors: the lessons' I/O-bound example, two threads that each time.sleep(1) and
 * finish together in about 1 s rather than 2, and the same idea with many threads.
 *
 * A sleeping thread is off the CPU: the kernel keeps it on a timer list and runs
 * something else, so N sleeps overlap whatever N is (a blocking read or a network
 * wait behaves the same way). Part 1 starts two threads that sleep --long each; part
 * 2 starts --threads threads that sleep --short each. Both print the wall time, what
 * running the sleeps one after another would take, how long starting the threads
 * took, and how late the threads woke: a sleep ends when the timer fires plus the
 * timer slack (50 µs by default, prctl(2)) plus the time to be scheduled; wakeup.c
 * measures both.
 *
 * Run:  ./threads_io                      (1 s and 0.5 s, as in the lessons)
 *       ./threads_io --threads 1000 --short 100ms
 * Look for: "2 threads ... in 1.00 s" and "100 threads ... in 0.50 s".
 * See also: ../08-gil/ (why the same holds under Python's GIL: sleeping releases it).
 */
#include "common.h"

#include <pthread.h>
#include <stdlib.h>

struct sleeper {
    pthread_t id;
    int64_t sleep;
    int64_t began, woke; /* when its sleep began and ended */
};

static void *sleeper(void *arg)
{
    struct sleeper *s = arg;
    s->began = now_ns();
    sleep_ns(s->sleep);
    s->woke = now_ns();
    return NULL;
}

static void run(int n, int64_t sleep, const char *what)
{
    struct sleeper *s = calloc((size_t)n, sizeof *s);
    double *late = malloc((size_t)n * sizeof *late);
    if (!s || !late)
        die("calloc");
    int64_t t0 = now_ns();
    for (int i = 0; i < n; i++) {
        s[i].sleep = sleep;
        CHECK_PT(pthread_create(&s[i].id, NULL, sleeper, &s[i]));
    }
    int64_t started = now_ns() - t0;
    for (int i = 0; i < n; i++)
        CHECK_PT(pthread_join(s[i].id, NULL));
    int64_t wall = now_ns() - t0;
    for (int i = 0; i < n; i++) /* how long after its sleep should have ended it woke */
        late[i] = (double)(s[i].woke - s[i].began - sleep) / 1e3;
    struct summary w = summarize(late, (size_t)n);
    printf("%s: %d threads, each sleeping %.3f s\n", what, n, (double)sleep / 1e9);
    printf("  all done in %.3f s  (one after another: %.3f s)\n", (double)wall / 1e9,
           (double)sleep * n / 1e9);
    printf("  starting them took %.2f ms; each woke %.0f to %.0f µs late (median %.0f µs)\n",
           (double)started / 1e6, w.min, w.max, w.median);
    free(late);
    free(s);
}

int main(int argc, char **argv)
{
    int64_t longer = NS_PER_S, shorter = 500 * NS_PER_MS;
    long threads = 100;
    const struct cli_opt opts[] = {
        { "long", CLI_DURATION, &longer, "part 1: how long each of two threads sleeps", NS_PER_MS, 60 * NS_PER_S, "100ms", NULL },
        { "short", CLI_DURATION, &shorter, "part 2: how long each thread sleeps", NS_PER_MS, 60 * NS_PER_S, "50ms", NULL },
        { "threads", CLI_INT, &threads, "part 2: how many threads", 1, 5000, "100", NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "Threads that sleep overlap: 2 threads x 1 s take 1 s, 100 threads x 0.5 s\n"
                          "take 0.5 s.", opts, &cli);
    run(2, longer, "part 1");
    run((int)threads, shorter, "part 2");
    return 0;
}
