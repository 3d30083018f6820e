/* solutions/hub_race.c: exercise 2 of chapter 07 (coroutines), "predict before you run".
 *
 * The question: two tasks on the hub each add 1 to a shared counter 1000 times, with a
 * hub_yield() between reading the counter and writing it back. What is the total? Where
 * exactly do coroutines need a lock?
 *
 * The answer: 1000, not 2000, every time. One thread runs the tasks and a task is never
 * preempted, so nothing can happen between two lines of a task *except* at a switch
 * point: a call that may switch (hub_yield, co_sleep, co_read: anything that can wait).
 * Here there is one between the read and the write, and the hub takes the tasks in
 * turn: A reads n, yields; B reads n, yields; A writes n + 1; B writes n + 1. Each pair
 * of additions counts once, deterministically, which makes the bug easy to reproduce
 * and easy to miss in review. Coroutines need a lock exactly where a read and the
 * write that depends on it have a switch point between them; with none in between
 * (part 2) the update is atomic for free. Where the switch cannot be moved out (the
 * value must be sent over a socket before it is updated, say), a lock made of the hub
 * itself does it (part 3): a flag, and waiters that yield until it is free, which is
 * what gevent.lock.Semaphore and asyncio.Lock are, with a queue of waiters instead of
 * the polling here.
 *
 * What it does: three rounds of two tasks x --adds additions: a yield between the read
 * and the write; the yield after the write; the yield between them inside a coroutine
 * lock.
 *
 * Run:  solutions/hub_race [--adds 1000]
 * Look for: 1000 of 2000, then 2000, then 2000.
 */
#include "../hub.h"
#include "../coro.h"

#include <stdint.h>

enum way { YIELD_INSIDE, YIELD_AFTER, LOCKED, NWAYS };
static const char *const way_name[NWAYS] = { "read, hub_yield(), write", "read, write, hub_yield()",
                                             "lock, read, hub_yield(), write, unlock" };

static long g_counter, g_adds;
static enum way g_way;
static bool g_locked; /* the coroutine lock: one thread, so a plain flag is enough */
static long g_waits;

static void co_lock(void)
{
    while (g_locked) { /* no switch point between the test and the set below */
        g_waits++;
        hub_yield();
    }
    g_locked = true;
}

static void co_unlock(void)
{
    g_locked = false;
}

static void *adder(void *arg)
{
    (void)arg;
    for (long i = 0; i < g_adds; i++) {
        if (g_way == LOCKED)
            co_lock();
        long v = g_counter;
        if (g_way != YIELD_AFTER)
            hub_yield(); /* a switch point between the read and the write */
        g_counter = v + 1;
        if (g_way == LOCKED)
            co_unlock();
        if (g_way == YIELD_AFTER)
            hub_yield();
    }
    return NULL;
}

int main(int argc, char **argv)
{
    g_adds = 1000;
    const struct cli_opt opts[] = {
        { "adds", CLI_INT, &g_adds, "additions per task", 1, 10000000, "100", NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "Exercise 2: the lost update on the hub, two tasks on one thread.", opts, &cli);
    bool ok = true;
    for (int w = 0; w < NWAYS; w++) {
        g_way = (enum way)w;
        g_counter = g_waits = 0;
        struct hub_task *t[2] = { hub_spawn(adder, NULL), hub_spawn(adder, NULL) };
        if (!t[0] || !t[1])
            die("hub_spawn");
        if (hub_joinall(t, 2, 60 * NS_PER_S) != 0)
            fatal("hub_joinall");
        printf("  %-40s total %ld of %ld", way_name[w], g_counter, 2 * g_adds);
        if (w == LOCKED)
            printf(" (a task found the lock taken %ld times)", g_waits);
        printf("\n");
        ok &= g_counter == (w == YIELD_INSIDE ? g_adds : 2 * g_adds);
    }
    hub_close();
    coro_cache_flush();
    return ok ? 0 : 1;
}
