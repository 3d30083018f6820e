/* condition_buffer.c: the bounded buffer three ways: a Condition with `if`, the same
 * with `while`, and two Semaphores; and the stolen wake-up that breaks the first.
 *
 * Mirrors: the producer/consumer pattern of the lessons, written with
 * threading.Condition the way queue.Queue is written inside (Lib/queue.py: one lock,
 * a not_empty and a not_full Condition):
 *     with not_empty:
 *         if not buf:            # the bug: must be `while not buf:`
 *             not_empty.wait()
 *         item = buf.popleft()   # IndexError if another consumer got there first
 *
 * Part 1 stages the stolen wake-up step by step. A consumer finds the buffer empty and
 * waits on not_empty. The producer puts an item and notifies it. Between that notify
 * and the moment the woken consumer has the lock back, another consumer takes the
 * item: here main plays that consumer, while it still holds the lock, so the run is
 * the same every time. With `if`, the woken consumer goes on and takes from an empty
 * buffer (caught here, and reported: in Python, an IndexError); with `while` it looks
 * again, finds nothing, and waits again until there is something.
 *
 * Part 2 lets it happen by itself: --producers and --consumers threads move --items
 * numbers through a --slots buffer, each way in turn. The `if` version's get reports
 * "nothing" when it finds the buffer empty after its wait (and its consumer asks
 * again), its put reports "full" when it finds no room after its wait (its producer
 * tries again); the `while` version counts the same wake-ups as "woke to nothing, went
 * back to sleep". The semaphore version has no such wake-ups: a semaphore's count is a
 * reservation, so a thread let in by `items` always finds an item. Every version is
 * checked: each number got exactly once. Waits are bounded (10 s), so a bug that would
 * hang the program ends it with a message instead.
 *
 * Run:  ./condition_buffer [--items 100000] [--slots 4] [--producers 2] [--consumers 2]
 * Look for: part 1, "if: ... took from an EMPTY buffer" against "while: ... waits
 * again"; part 2, hundreds of wake-ups to nothing with `if` and `while` (how many
 * depends on the machine and the moment), every one a failure for `if` and harmless
 * for `while`, and none with semaphores.
 * See also: tqueue.c (queue.Queue, written with while), cond.c.
 */
#include "sync.h"
#include "futex.h"

#include <pthread.h>
#include <stdlib.h>

enum way { IF, WHILE, SEMAPHORES, NWAYS };
static const char *const way_name[NWAYS] = { "if", "while", "two semaphores" };
enum { MAX_SLOTS = 64, NOTHING = -1, STOP = -2 };
#define PATIENCE (10 * NS_PER_S) /* a wait this long means a bug: stop, don't hang */

static struct {
    enum way way;
    struct fmutex m;
    struct cond not_empty, not_full;
    struct semaphore slots, items; /* free slots, items in the buffer */
    long ring[MAX_SLOTS];
    int cap, head, count;
    _Atomic long woke_empty, woke_full; /* wake-ups that found nothing / no room */
    _Atomic long sleeps;                /* futex waits of every thread (futex.h) */
    bool staged;                        /* part 1: say what happens */
} b;

static void wait_on(struct cond *c)
{
    if (cond_wait(c, PATIENCE) == SYNC_TIMEOUT)
        fatal("%s: a wait lasted %.0f s: stuck", way_name[b.way], (double)PATIENCE / 1e9);
}

static void acquire(struct semaphore *s)
{
    if (semaphore_acquire(s, PATIENCE) != SYNC_OK)
        fatal("%s: a wait lasted %.0f s: stuck", way_name[b.way], (double)PATIENCE / 1e9);
}

/* put: 0, or -1 when the `if` version found the buffer full after its wait */
static int put(long item)
{
    if (b.way == SEMAPHORES) {
        acquire(&b.slots);
        fmutex_lock(&b.m);
    } else {
        fmutex_lock(&b.m);
        if (b.way == IF) {
            if (b.count == b.cap)
                wait_on(&b.not_full);
            if (b.count == b.cap) { /* the next line would overwrite an item */
                atomic_fetch_add(&b.woke_full, 1);
                fmutex_unlock(&b.m);
                return -1;
            }
        } else {
            while (b.count == b.cap) {
                wait_on(&b.not_full);
                if (b.count == b.cap)
                    atomic_fetch_add(&b.woke_full, 1);
            }
        }
    }
    b.ring[(b.head + b.count) % b.cap] = item;
    b.count++;
    if (b.way == SEMAPHORES) {
        fmutex_unlock(&b.m);
        semaphore_release(&b.items, 1);
    } else {
        cond_notify(&b.not_empty, 1);
        fmutex_unlock(&b.m);
    }
    return 0;
}

/* get: the item, or NOTHING when the `if` version found the buffer empty after its wait */
static long get(void)
{
    if (b.way == SEMAPHORES) {
        acquire(&b.items);
        fmutex_lock(&b.m);
    } else {
        fmutex_lock(&b.m);
        if (b.way == IF) {
            if (b.count == 0)
                wait_on(&b.not_empty);
            if (b.count == 0) { /* Python: IndexError: pop from an empty deque */
                atomic_fetch_add(&b.woke_empty, 1);
                fmutex_unlock(&b.m);
                return NOTHING;
            }
        } else {
            while (b.count == 0) {
                wait_on(&b.not_empty);
                if (b.count == 0) {
                    atomic_fetch_add(&b.woke_empty, 1);
                    if (b.staged)
                        trace("    woken, looked again with `while`: empty, so it waits again");
                }
            }
        }
    }
    long item = b.ring[b.head];
    b.head = (b.head + 1) % b.cap;
    b.count--;
    if (b.way == SEMAPHORES) {
        fmutex_unlock(&b.m);
        semaphore_release(&b.slots, 1);
    } else {
        cond_notify(&b.not_full, 1);
        fmutex_unlock(&b.m);
    }
    return item;
}

static void reset(enum way w, int slots)
{
    b.way = w;
    fmutex_init(&b.m, 0);
    cond_init(&b.not_empty, &b.m);
    cond_init(&b.not_full, &b.m);
    if (semaphore_init(&b.slots, slots) != SYNC_OK || semaphore_init(&b.items, 0) != SYNC_OK)
        fatal("semaphore_init");
    b.cap = slots;
    b.head = b.count = 0;
    atomic_store(&b.woke_empty, 0);
    atomic_store(&b.woke_full, 0);
    atomic_store(&b.sleeps, 0);
}

/* ---- part 1: the stolen wake-up, staged ---- */

static void *staged_consumer(void *arg)
{
    (void)arg;
    trace_name("consumer-1");
    trace("    get(): the buffer is empty: wait on not_empty");
    long item;
    while ((item = get()) == NOTHING)
        trace("    woken, and went on with `if`: took from an EMPTY buffer (Python: IndexError); asks again");
    trace("    got item %ld", item);
    return NULL;
}

static void staged(enum way w)
{
    reset(w, 4);
    b.staged = true;
    trace("%s:", way_name[w]);
    pthread_t t;
    CHECK_PT(pthread_create(&t, NULL, staged_consumer, NULL));
    for (;;) { /* until consumer-1 sleeps on not_empty */
        fmutex_lock(&b.m);
        bool waiting = b.not_empty.waiting == 1;
        fmutex_unlock(&b.m);
        if (waiting)
            break;
        sleep_ns(NS_PER_MS);
    }
    fmutex_lock(&b.m);
    b.ring[0] = 1;
    b.count = 1;
    cond_notify(&b.not_empty, 1);
    trace("producer: put item 1, notify(1) on not_empty");
    b.count = 0; /* the thief: a second consumer, in before consumer-1 has the lock */
    trace("consumer-2: took item 1 before consumer-1 had the lock back");
    fmutex_unlock(&b.m);
    /* consumer-1 wakes and acts on what it finds; wait until it has (bounded) */
    int64_t deadline = deadline_in(PATIENCE);
    for (bool done = false; !done; sleep_ns(NS_PER_MS)) {
        if (ns_left(deadline) == 0)
            fatal("consumer-1 did not wake up");
        fmutex_lock(&b.m);
        done = atomic_load(&b.woke_empty) == 1 && (w == IF || b.not_empty.waiting == 1);
        fmutex_unlock(&b.m);
    }
    trace("producer: put item 2");
    if (put(2) != 0)
        fatal("put");
    CHECK_PT(pthread_join(t, NULL));
    b.staged = false;
}

/* ---- part 2: free running ---- */

static long g_items, g_producers;
static _Atomic unsigned char *g_got; /* how often each item was got */

static void *producer(void *arg)
{
    for (long i = (long)(intptr_t)arg; i < g_items; i += g_producers)
        while (put(i) != 0) /* `if`: no room after all; ask again */
            ;
    atomic_fetch_add(&b.sleeps, (long)futex_waits);
    return NULL;
}

static void *consumer(void *arg)
{
    (void)arg;
    for (long item; (item = get()) != STOP;) {
        if (item != NOTHING) /* `if`: nothing after all; ask again */
            atomic_fetch_add(&g_got[item], 1);
    }
    atomic_fetch_add(&b.sleeps, (long)futex_waits);
    return NULL;
}

int main(int argc, char **argv)
{
    long items = 100000, slots = 4, producers = 2, consumers = 2;
    const struct cli_opt opts[] = {
        { "items", CLI_INT, &items, "numbers to move through the buffer", 1, 100000000, "3000", NULL },
        { "slots", CLI_INT, &slots, "the buffer's size", 1, MAX_SLOTS, NULL, NULL },
        { "producers", CLI_INT, &producers, "producer threads", 1, 64, NULL, NULL },
        { "consumers", CLI_INT, &consumers, "consumer threads", 1, 64, NULL, NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "The bounded buffer with a Condition and `if`, with `while`, and with\n"
                          "two semaphores; the stolen wake-up staged, then counted.", opts, &cli);
    trace_name("main");
    trace("part 1: the stolen wake-up, staged (main plays the producer and consumer-2)");
    staged(IF);
    staged(WHILE);

    g_items = items;
    g_producers = producers;
    g_got = calloc((size_t)items, sizeof *g_got);
    pthread_t *t = calloc((size_t)(producers + consumers), sizeof *t);
    if (!g_got || !t)
        die("calloc");
    printf("\npart 2: %ld producers and %ld consumers move %ld items through %ld slots\n", producers, consumers,
           items, slots);
    printf("  %-15s %9s %9s %14s %14s %10s  %s\n", "way", "ms", "ns/item", "woke to empty", "woke to full",
           "sleeps", "every item once?");
    for (int w = 0; w < NWAYS; w++) {
        reset((enum way)w, (int)slots);
        for (long i = 0; i < items; i++)
            atomic_store(&g_got[i], 0);
        int64_t t0 = now_ns();
        for (long i = 0; i < consumers; i++)
            CHECK_PT(pthread_create(&t[i], NULL, consumer, NULL));
        for (long i = 0; i < producers; i++)
            CHECK_PT(pthread_create(&t[consumers + i], NULL, producer, (void *)(intptr_t)i));
        for (long i = 0; i < producers; i++)
            CHECK_PT(pthread_join(t[consumers + i], NULL));
        for (long i = 0; i < consumers; i++) /* one STOP per consumer, after every item */
            while (put(STOP) != 0)
                ;
        for (long i = 0; i < consumers; i++)
            CHECK_PT(pthread_join(t[i], NULL));
        int64_t took = now_ns() - t0;
        long once = 0;
        for (long i = 0; i < items; i++)
            once += atomic_load(&g_got[i]) == 1;
        printf("  %-15s %9.1f %9.1f %14ld %14ld %10ld  %s\n", way_name[w], (double)took / 1e6,
               (double)took / (double)items, atomic_load(&b.woke_empty), atomic_load(&b.woke_full),
               atomic_load(&b.sleeps), once == items ? "yes" : "NO");
        if (once != items)
            fatal("%s: %ld of %ld items got exactly once", way_name[w], once, items);
    }
    printf("(`if`: each wake-up to nothing is a get or put that failed and had to ask again;\n"
           " `while`: the same wake-ups, each followed by a look and another wait;\n"
           " sleeps: the threads' futex waits, on the conditions, semaphores and mutexes)\n");
    free(t);
    free(g_got);
    return 0;
}
