/* solutions/philosophers.c: exercise 2 of chapter 05 (deadlock).
 *
 * The question: five philosophers, five forks (locks); each takes the fork on the left,
 * then the one on the right. Catch the deadlock with lockwatch, then fix it with a
 * global order.
 *
 * The answer: once every philosopher holds the left fork, each waits for the right one,
 * which the neighbour holds: a cycle of five waits, and nobody eats again. lockwatch's
 * timed lock sees it: the first philosopher whose wait runs out gets the whole chain,
 * "phil-0 waits for fork-1, held by phil-1; phil-1 waits for fork-2, ...", back to
 * itself. The fix numbers the forks and makes everyone take the lower-numbered one
 * first: the last philosopher, whose right fork is fork 0, takes it before its left
 * one. A cycle of waits would need someone to hold a higher fork while waiting for a
 * lower one, which nobody ever does, so none can form. (Chapter 09's philosophers
 * program has the other classic fixes.)
 *
 * What it does: part 1, every philosopher takes the left fork, pauses --pause (so that
 * all five hold one: the deadlock for sure), then waits for the right one with a timed
 * lock, philosopher i at most 1 s + i x 0.2 s; the first to give up prints the cycle and
 * puts its fork down, which lets the others through. Part 2, the same dinner in fork
 * order, --rounds meals each: nobody waits long, everybody eats.
 *
 * Run:  solutions/philosophers [--rounds 3] [--pause 50ms]
 * Look for: "a cycle, a deadlock" through all five in part 1; "every philosopher ate
 * 3 times" in part 2.
 */
#include "../lockwatch.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

enum { N = 5 };

static struct wlock g_fork[N];
static int64_t g_pause, g_limit;
static long g_rounds;
static bool g_ordered;

struct phil {
    int i;
    int meals, gave_up;
};

static void dine(void *arg)
{
    struct phil *p = arg;
    int left = p->i, right = (p->i + 1) % N;
    int first = left, second = right;
    if (g_ordered && right < left) { /* the global order: the lower fork first */
        first = right;
        second = left;
    }
    for (long r = 0; r < g_rounds; r++) {
        wlock_lock(&g_fork[first]);
        sleep_ns(g_pause);
        char why[512];
        int rc = wlock_timedlock(&g_fork[second], g_limit + p->i * 200 * NS_PER_MS, why, sizeof why);
        if (rc == ETIMEDOUT) {
            trace("gave up on fork-%d: %s", second, why);
            wlock_unlock(&g_fork[first]);
            p->gave_up++;
            return; /* leaves the table: the others can go on */
        }
        if (rc != 0)
            die_en(rc, "wlock_timedlock");
        p->meals++;
        wlock_unlock(&g_fork[second]);
        wlock_unlock(&g_fork[first]);
    }
}

static int dinner(bool ordered)
{
    g_ordered = ordered;
    struct phil p[N];
    struct wthread t[N];
    char name[N][16];
    for (int i = 0; i < N; i++) {
        p[i] = (struct phil){ .i = i };
        snprintf(name[i], sizeof name[i], "phil-%d", i);
    }
    for (int i = 0; i < N; i++)
        wthread_start(&t[i], name[i], dine, &p[i]);
    if (wthread_join_all(t, N, 30 * NS_PER_S) != 0)
        fatal("the dinner stopped moving for 30 s");
    int gave_up = 0, meals = 0;
    for (int i = 0; i < N; i++) {
        gave_up += p[i].gave_up;
        meals += p[i].meals;
    }
    trace("%s: %d meals of %ld, %d philosopher(s) gave up", ordered ? "in fork order" : "left then right",
          meals, N * g_rounds, gave_up);
    return gave_up;
}

int main(int argc, char **argv)
{
    g_rounds = 3;
    g_pause = 50 * NS_PER_MS;
    g_limit = NS_PER_S;
    const struct cli_opt opts[] = {
        { "rounds", CLI_INT, &g_rounds, "meals per philosopher", 1, 1000, NULL, NULL },
        { "pause", CLI_DURATION, &g_pause, "between taking the first fork and the second", NS_PER_MS, NS_PER_S,
          "20ms", NULL },
        { "limit", CLI_DURATION, &g_limit, "philosopher 0's wait for the second fork (i: + i x 200ms)",
          100 * NS_PER_MS, 60 * NS_PER_S, "200ms", NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "Exercise 2: five dining philosophers: the deadlock, caught, and the fork order.",
              opts, &cli);
    trace_start();
    for (int i = 0; i < N; i++) {
        static char names[N][16];
        snprintf(names[i], sizeof names[i], "fork-%d", i);
        wlock_init(&g_fork[i], names[i]);
    }
    trace("part 1: each takes the left fork, then the right");
    int part1 = dinner(false);
    trace("part 2: each takes the lower-numbered fork first (phil-4: fork-0, then fork-4)");
    int part2 = dinner(true);
    for (int i = 0; i < N; i++)
        wlock_destroy(&g_fork[i]);
    if (part1 > 0 && part2 == 0)
        trace("the deadlock was caught with its cycle, and the fork order made it impossible");
    return part1 > 0 && part2 == 0 ? 0 : 1;
}
