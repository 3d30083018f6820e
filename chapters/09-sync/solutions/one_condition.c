/* solutions/one_condition.c: exercise 1 of chapter 09. The bounded buffer with one
 * Condition for producers and consumers alike, `while` loops, and notify(1): can it
 * get stuck? (Predict first; then run it.)
 *
 * It can. With one slot, one producer and two consumers (OSTEP, chapter 30, walks
 * through the same trap), this happens:
 *   1. both consumers find the buffer empty and wait       waiters: C1 C2
 *   2. the producer puts an item, notifies C1, loops, finds
 *      the buffer full and waits                            waiters: C2 P
 *   3. C1 takes the item and notifies one waiter: C2, the
 *      oldest, a consumer; C1 loops, finds it empty, waits  waiters: P C1
 *   4. C2 finds the buffer empty and waits again            waiters: P C1 C2
 * Everybody sleeps, and nobody is left to notify: the notify in step 3 went to a
 * thread that could do nothing with it. `while` made each thread safe from a stolen
 * wake-up, not from a wasted one. Two fixes: notify_all (every waiter looks, the
 * producer among them), or two conditions (Lib/queue.py's not_empty and not_full), so
 * that a consumer's notify can only reach a producer.
 *
 * The waits here are timed: a wait that runs out with every other thread asleep on the
 * condition is the deadlock, reported, and the run stops.
 *
 * Run:  solutions/one_condition [--items 10000] [--patience 200ms]
 */
#include "sync.h"

#include <pthread.h>

enum { CONSUMERS = 2, THREADS = CONSUMERS + 1 };

static struct {
    struct fmutex m;
    struct cond c; /* the only condition */
    long slot;
    bool full, all_notified, stuck;
    long items, moved;
    int64_t patience;
} g;

static void wake_one_or_all(void)
{
    if (g.all_notified)
        cond_notify_all(&g.c);
    else
        cond_notify(&g.c, 1);
}

/* waits on the condition; false when the wait ran out with everybody else asleep */
static bool wait_or_find_deadlock(void)
{
    if (cond_wait(&g.c, g.patience) == SYNC_TIMEOUT && g.c.waiting == THREADS - 1 && !g.stuck) {
        g.stuck = true;
        cond_notify_all(&g.c); /* so the others see it and stop too */
    }
    return !g.stuck;
}

static void *producer(void *arg)
{
    (void)arg;
    fmutex_lock(&g.m);
    for (long i = 0; i < g.items + CONSUMERS && !g.stuck; i++) { /* the last ones: stop */
        while (g.full && !g.stuck)
            wait_or_find_deadlock();
        if (g.stuck)
            break;
        g.slot = i < g.items ? i : -1;
        g.full = true;
        wake_one_or_all();
    }
    fmutex_unlock(&g.m);
    return NULL;
}

static void *consumer(void *arg)
{
    (void)arg;
    fmutex_lock(&g.m);
    for (;;) {
        while (!g.full && !g.stuck)
            wait_or_find_deadlock();
        if (g.stuck)
            break;
        long item = g.slot;
        g.full = false;
        wake_one_or_all();
        if (item < 0)
            break;
        g.moved++;
    }
    fmutex_unlock(&g.m);
    return NULL;
}

static void run(bool all)
{
    fmutex_init(&g.m, 0);
    cond_init(&g.c, &g.m);
    g.full = g.stuck = false;
    g.all_notified = all;
    g.moved = 0;
    pthread_t t[THREADS];
    int64_t t0 = now_ns();
    for (int i = 0; i < CONSUMERS; i++)
        CHECK_PT(pthread_create(&t[i], NULL, consumer, NULL));
    CHECK_PT(pthread_create(&t[CONSUMERS], NULL, producer, NULL));
    for (int i = 0; i < THREADS; i++)
        CHECK_PT(pthread_join(t[i], NULL));
    if (g.stuck)
        printf("  %-12s stuck after %ld of %ld items: all %d threads asleep on the one condition\n",
               all ? "notify_all" : "notify(1)", g.moved, g.items, THREADS);
    else
        printf("  %-12s all %ld items moved in %.1f ms\n", all ? "notify_all" : "notify(1)", g.moved,
               (double)(now_ns() - t0) / 1e6);
}

int main(int argc, char **argv)
{
    g.items = 10000;
    g.patience = 200 * NS_PER_MS;
    const struct cli_opt opts[] = {
        { "items", CLI_INT, &g.items, "items to move", 1, 10000000, "2000", NULL },
        { "patience", CLI_DURATION, &g.patience, "a wait this long with all asleep is the deadlock",
          NS_PER_MS, 60 * NS_PER_S, "50ms", NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "A bounded buffer of one slot, one producer, two consumers, and one\n"
                          "Condition for both sides: notify(1) against notify_all.", opts, &cli);
    printf("one slot, 1 producer, %d consumers, one Condition, `while` loops:\n", CONSUMERS);
    run(false);
    run(true);
    return 0;
}
