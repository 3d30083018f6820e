/* solutions/futex_event.c: exercise 3 of chapter 09. An Event whose flag is itself
 * the futex word: set() stores 1 and wakes every sleeper with one system call, where
 * event.c (Python's design: a Lock, a flag, a Condition) wakes them one by one, each
 * of them then queueing for the Lock. How much later does the last waiter run?
 *
 *   wait:  while the flag is 0, futex_wait(&flag, 0): sleeps only if it is still 0
 *   set:   store 1, then futex_wake(&flag, INT_MAX) if anybody may sleep
 *   clear: store 0
 * As in the futex semaphore (futex_semaphore.c), a waiter counts itself before it
 * sleeps and set() reads the count after it stores the flag, both sequentially
 * consistent, so set() never skips a wake-up that is needed.
 *
 * The measurement: --waiters threads wait, main sets the event once they are all
 * asleep, and each waiter notes how long after set() it was running again. Median over
 * --repeat rounds, for the first and the last waiter to run.
 *
 * Run:  solutions/futex_event [--waiters 8] [--repeat 21]
 * Look for: the first waiter about as quick either way; the last one much later with
 * event.c, whose wake-ups come one system call at a time, under a Lock that every
 * woken waiter must take in turn.
 */
#include "sync.h"
#include "futex.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>

struct fevent {
    _Atomic uint32_t flag; /* the futex word */
    _Atomic uint32_t waiters;
};

static void fevent_wait(struct fevent *e)
{
    while (atomic_load_explicit(&e->flag, memory_order_acquire) == 0) {
        atomic_fetch_add(&e->waiters, 1);
        futex_wait(&e->flag, 0, NO_DEADLINE);
        atomic_fetch_sub(&e->waiters, 1);
    }
}

static void fevent_set(struct fevent *e)
{
    atomic_store(&e->flag, 1);
    if (atomic_load(&e->waiters) > 0)
        futex_wake(&e->flag, INT_MAX);
}

static struct {
    bool use_futex;
    struct event ev;
    struct fevent fe;
    _Atomic int ready;
    _Atomic int64_t set_at;
    int64_t *woke; /* per waiter: ns after set() */
} g;

static void *waiter(void *arg)
{
    int me = (int)(intptr_t)arg;
    atomic_fetch_add(&g.ready, 1);
    if (g.use_futex)
        fevent_wait(&g.fe);
    else if (event_wait(&g.ev, 10 * NS_PER_S) != SYNC_OK)
        fatal("not set in 10 s");
    g.woke[me] = now_ns() - atomic_load(&g.set_at);
    return NULL;
}

/* one round: the first and the last waiter's delay after set(), in us */
static void round_of(bool use_futex, int n, double *first, double *last)
{
    g.use_futex = use_futex;
    event_init(&g.ev);
    atomic_store(&g.fe.flag, 0);
    atomic_store(&g.fe.waiters, 0);
    atomic_store(&g.ready, 0);
    pthread_t t[64];
    for (int i = 0; i < n; i++)
        CHECK_PT(pthread_create(&t[i], NULL, waiter, (void *)(intptr_t)i));
    while (atomic_load(&g.ready) < n)
        sleep_ns(NS_PER_MS);
    sleep_ns(5 * NS_PER_MS); /* time to fall asleep */
    atomic_store(&g.set_at, now_ns());
    if (use_futex)
        fevent_set(&g.fe);
    else
        event_set(&g.ev);
    int64_t lo = INT64_MAX, hi = 0;
    for (int i = 0; i < n; i++) {
        CHECK_PT(pthread_join(t[i], NULL));
        lo = g.woke[i] < lo ? g.woke[i] : lo;
        hi = g.woke[i] > hi ? g.woke[i] : hi;
    }
    *first = (double)lo / 1e3;
    *last = (double)hi / 1e3;
}

int main(int argc, char **argv)
{
    long waiters = 8, repeat = 21;
    const struct cli_opt opts[] = {
        { "waiters", CLI_INT, &waiters, "threads waiting on the event", 1, 64, NULL, NULL },
        { "repeat", CLI_INT, &repeat, "rounds (the median is kept)", 1, 1000, "3", NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "An Event on a bare futex word against event.c: how soon the waiters run\n"
                          "after set().", opts, &cli);
    g.woke = calloc((size_t)waiters, sizeof *g.woke);
    double *first = calloc((size_t)(2 * repeat), sizeof *first), *last = calloc((size_t)(2 * repeat), sizeof *last);
    if (!g.woke || !first || !last)
        die("calloc");
    for (long r = 0; r < repeat; r++)
        for (int f = 0; f < 2; f++)
            round_of(f, (int)waiters, &first[f * repeat + r], &last[f * repeat + r]);
    printf("%ld waiters asleep on an event; after set(), median of %ld rounds:\n", waiters, repeat);
    for (int f = 0; f < 2; f++)
        printf("  %-32s first runs after %7.1f µs, last after %7.1f µs\n",
               f ? "futex word, one wake for all" : "event.c: Lock, flag, Condition",
               summarize(&first[f * repeat], (size_t)repeat).median, summarize(&last[f * repeat], (size_t)repeat).median);
    free(first);
    free(last);
    free(g.woke);
    return 0;
}
