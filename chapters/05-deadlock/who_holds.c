/* who_holds.c: a timed lock gives up; does its report say why?
 *
 * Mirrors: acquire(timeout=...) returning False in a Python program that hangs. Python
 * says nothing more; a lock that knows its holder's name says who has it. Is that
 * enough to tell a deadlock from a slow holder?
 *
 * One source, built twice:
 *   who_holds_simple   linked with lockwatch_simple.c: each lock knows its holder's name
 *   who_holds          linked with lockwatch.c: it also knows who waits for what
 * Part 1, a slow holder: `slow` takes A and works 2 x --timeout with it; `waiter` tries
 * A with a timed lock of --timeout, gives up and prints the report, then tries again,
 * three times as long, and gets it. Nothing was wrong but impatience.
 * Part 2, a deadlock: `ab` holds A and wants B, `ba` holds B and wants A (timed locks
 * of 2 x and 4 x --timeout); `c` wants A for --timeout: stuck behind the cycle, not in
 * it. c gives up first, then ab, which lets go of A so that ba can finish.
 * With lockwatch_simple.c every report has the same form, "X waits for L, held by H",
 * for the slow holder as for the deadlock: from a name alone nobody can tell them apart,
 * and c cannot learn that it waits on a deadlock. Exit 1. With lockwatch.c the slow
 * holder "is not waiting for a lock", and both c and ab name the cycle. Exit 0.
 *
 * Run:  ./who_holds_simple          ./who_holds
 * Look for: the three "gave up" lines, and whether they name a cycle.
 * See also: lockwatch_simple.c, lockwatch.c (the chain of waits), deadlock_abba.c.
 */
#include "lockwatch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#ifdef LOCKWATCH_SIMPLE
#define WHICH "lockwatch_simple.c: a lock knows its holder's name"
#else
#define WHICH "lockwatch.c: a lock knows its holder, and each thread what it waits for"
#endif

static int64_t g_timeout = NS_PER_S;
static struct wlock g_a, g_b;
static pthread_barrier_t g_held; /* part 1: slow and waiter; part 2: ab, ba and c */

struct role {
    const char *name;
    struct wlock *first, *second; /* first: taken and held (NULL: none) */
    int64_t hold, patience;       /* how long to hold first; how long to wait for second */
    bool retry;                   /* after giving up, wait again, three times as long */
    char why[512];                /* the report, if the timed lock gave up */
};

static void barrier(void)
{
    int rc = pthread_barrier_wait(&g_held);
    if (rc != 0 && rc != PTHREAD_BARRIER_SERIAL_THREAD)
        die_en(rc, "pthread_barrier_wait");
}

static void *play(void *arg)
{
    struct role *r = arg;
    trace_name(r->name); /* the kernel's name for the thread: what lockwatch_simple reads */
    if (r->first) {
        wlock_lock(r->first);
        trace("took %s", r->first->name);
    }
    barrier(); /* everybody holds what they hold */
    if (r->second) {
        trace("want %s (waiting at most %.2fs)", r->second->name, (double)r->patience / 1e9);
        int rc = wlock_timedlock(r->second, r->patience, r->why, sizeof r->why);
        if (rc != 0) {
            trace("gave up on %s after %.2fs: %s", r->second->name, (double)r->patience / 1e9, r->why);
            if (r->retry) {
                trace("want %s again (waiting at most %.2fs)", r->second->name, 3 * (double)r->patience / 1e9);
                rc = wlock_timedlock(r->second, 3 * r->patience, NULL, 0);
            }
        }
        if (rc == 0) {
            trace("took %s", r->second->name);
            wlock_unlock(r->second);
        }
    }
    sleep_ns(r->hold);
    if (r->first)
        wlock_unlock(r->first);
    return NULL;
}

/* runs the roles, each on a thread of its own, and joins them */
static void run(struct role *roles, unsigned n)
{
    pthread_t th[3];
    CHECK_PT(pthread_barrier_init(&g_held, NULL, n));
    for (unsigned i = 0; i < n; i++)
        CHECK_PT(pthread_create(&th[i], NULL, play, &roles[i]));
    for (unsigned i = 0; i < n; i++)
        CHECK_PT(pthread_join(th[i], NULL));
    CHECK_PT(pthread_barrier_destroy(&g_held));
}

int main(int argc, char **argv)
{
    const struct cli_opt opts[] = {
        { "timeout", CLI_DURATION, &g_timeout, "the shortest timed lock; the others wait 2 and 4 times as long",
          10 * NS_PER_MS, 10 * NS_PER_S, "100ms", NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "A timed lock gives up: does its report tell a slow holder from a deadlock?", opts,
              &cli);

    trace_start();
    trace("locks from %s", WHICH);
    wlock_init(&g_a, "A");
    wlock_init(&g_b, "B");

    trace("part 1: a slow holder");
    struct role slow[2] = {
        { .name = "slow", .first = &g_a, .hold = 2 * g_timeout },
        { .name = "waiter", .second = &g_a, .patience = g_timeout, .retry = true },
    };
    run(slow, 2);

    trace("part 2: a deadlock, and a bystander");
    struct role cycle[3] = {
        { .name = "ab", .first = &g_a, .second = &g_b, .patience = 2 * g_timeout },
        { .name = "ba", .first = &g_b, .second = &g_a, .patience = 4 * g_timeout },
        { .name = "c", .second = &g_a, .patience = g_timeout },
    };
    run(cycle, 3);

    wlock_destroy(&g_a);
    wlock_destroy(&g_b);
    if (!strstr(cycle[0].why, "a deadlock") || !strstr(cycle[2].why, "a deadlock") ||
        strstr(slow[1].why, "a deadlock")) {
        trace("exit status 1: the deadlock's reports read like the slow holder's, \"X waits for L, held by H\":");
        trace("no report names the cycle, and c cannot tell that it waits behind a deadlock (who_holds, on");
        trace("lockwatch.c, can)");
        return 1;
    }
    trace("the slow holder was told from the deadlock, and both ab and the bystander c named the cycle");
    return 0;
}
