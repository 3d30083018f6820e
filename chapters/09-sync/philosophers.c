/* philosophers.c: the dining philosophers deadlock, caught with timed locks, and two
 * fixes: one global order for the forks, and a Semaphore(N-1) at the table.
 *
 * Mirrors: the lessons' rule "take locks in one order" and their deadlock lesson (a
 * cycle of threads, each holding a lock the next one wants), in OSTEP's classic form
 * (chapter 31): N philosophers round a table, a fork between each two; to eat, one
 * needs both forks next to it. Every fork is a futex Lock (sync.h); every wait for a
 * fork is a timed acquire, so a deadlock is reported instead of hanging the program.
 *
 * Part 1 stages the deadlock: everybody sits down at once and picks up the left fork;
 * a Barrier makes sure all hold it before anybody reaches for the right one. Each
 * right fork is then held by the neighbour, who waits for *its* right fork: a cycle.
 * After --patience every philosopher gives up, and says which fork it holds and who
 * holds the one it wanted.
 * Part 2 lets --meals meals each run free, with short random pauses, three ways:
 *   left, then right   the bug: deadlocks when all hold their left fork at once,
 *                      which is likely but not certain: the table says if it did
 *   lowest fork first  the fix by order: the last philosopher takes fork 0 before
 *                      fork N-1, so no cycle can close
 *   a Semaphore(N-1)   the fix by a footman: at most N-1 sit at the table, so one of
 *                      them always has both forks free
 *
 * Run:  ./philosophers [--philosophers 5] [--meals 2000] [--patience 500ms]
 * Look for: part 1's five "gave up" lines and the cycle; part 2, both fixes eating
 * every meal with no timeout.
 * See also: ../05-deadlock/deadlock_abba.c (the two-lock cycle), barrier.c.
 */
#include "sync.h"

#include <pthread.h>
#include <stdlib.h>

enum way { NAIVE, ORDER, FOOTMAN, NWAYS };
static const char *const way_name[NWAYS] = { "left, then right", "lowest fork first", "a Semaphore(N-1)" };
enum { MAX_PHIL = 16 };

static struct {
    int n;
    enum way way;
    bool staged;                  /* part 1: a Barrier between the two forks */
    long meals;
    int64_t patience, pause;
    struct fmutex fork[MAX_PHIL];
    _Atomic int holder[MAX_PHIL]; /* who holds each fork, -1: nobody (for the report) */
    struct semaphore footman;
    struct barrier all_have_left, all_tried; /* part 1 */
    atomic_bool deadlock;         /* somebody's wait ran out: everybody stops */
    _Atomic long eaten;
    int waits_for[MAX_PHIL];      /* part 1: whose fork each one waited for */
} g;

static bool take(int me, int fork)
{
    if (fmutex_acquire(&g.fork[fork], g.patience) != SYNC_OK)
        return false;
    atomic_store(&g.holder[fork], me);
    return true;
}

static void put_down(int fork)
{
    atomic_store(&g.holder[fork], -1);
    fmutex_unlock(&g.fork[fork]);
}

static void *philosopher(void *arg)
{
    int me = (int)(intptr_t)arg, left = me, right = (me + 1) % g.n;
    int first = left, second = right;
    if (g.way == ORDER && first > second) { /* the last one: fork 0 first */
        first = right;
        second = left;
    }
    char name[16];
    snprintf(name, sizeof name, "philosopher-%d", me);
    trace_name(name);
    uint64_t seed = (uint64_t)me + 1;
    for (long m = 0; m < g.meals && !atomic_load(&g.deadlock); m++) {
        sleep_ns((int64_t)(random_unit(&seed) * (double)g.pause)); /* think */
        if (g.way == FOOTMAN && semaphore_acquire(&g.footman, g.patience) != SYNC_OK)
            fatal("no seat at the table in %.1f s", (double)g.patience / 1e9);
        if (!take(me, first)) {
            atomic_store(&g.deadlock, true);
        } else {
            if (g.staged && barrier_wait(&g.all_have_left, NULL) != SYNC_OK)
                fatal("the barrier broke");
            int64_t t0 = now_ns();
            bool got = take(me, second);
            if (!got) {
                int other = atomic_load(&g.holder[second]);
                g.waits_for[me] = other;
                if (g.staged)
                    trace("%*sholds fork %d; gave up on fork %d after %.3f s: philosopher-%d holds it", 2 * me, "",
                          first, second, (double)(now_ns() - t0) / 1e9, other);
                atomic_store(&g.deadlock, true);
            }
            /* part 1: nobody puts a fork down before everybody has tried (else the
             * first to give up would hand its fork to a neighbour still waiting) */
            if (g.staged && barrier_wait(&g.all_tried, NULL) != SYNC_OK)
                fatal("the barrier broke");
            if (got) {
                sleep_ns((int64_t)(random_unit(&seed) * (double)g.pause)); /* eat */
                atomic_fetch_add(&g.eaten, 1);
                put_down(second);
            }
            put_down(first);
        }
        if (g.way == FOOTMAN)
            semaphore_release(&g.footman, 1);
    }
    return NULL;
}

static int64_t dinner(enum way way, bool staged)
{
    g.way = way;
    g.staged = staged;
    atomic_store(&g.deadlock, false);
    atomic_store(&g.eaten, 0);
    for (int i = 0; i < g.n; i++) {
        fmutex_init(&g.fork[i], 0);
        atomic_store(&g.holder[i], -1);
        g.waits_for[i] = -1;
    }
    if (semaphore_init(&g.footman, g.n - 1) != SYNC_OK ||
        barrier_init(&g.all_have_left, g.n, NULL, NULL, 10 * NS_PER_S) != SYNC_OK ||
        barrier_init(&g.all_tried, g.n, NULL, NULL, g.patience + 10 * NS_PER_S) != SYNC_OK)
        fatal("init");
    pthread_t t[MAX_PHIL];
    int64_t t0 = now_ns();
    for (int i = 0; i < g.n; i++)
        CHECK_PT(pthread_create(&t[i], NULL, philosopher, (void *)(intptr_t)i));
    for (int i = 0; i < g.n; i++)
        CHECK_PT(pthread_join(t[i], NULL));
    return now_ns() - t0;
}

int main(int argc, char **argv)
{
    long n = 5, meals = 2000;
    int64_t patience = 500 * NS_PER_MS, pause = 50 * NS_PER_US;
    const struct cli_opt opts[] = {
        { "philosophers", CLI_INT, &n, "philosophers (and forks)", 2, MAX_PHIL, NULL, NULL },
        { "meals", CLI_INT, &meals, "meals each in part 2", 1, 10000000, "100", NULL },
        { "patience", CLI_DURATION, &patience, "longest wait for a fork before calling it a deadlock",
          NS_PER_MS, 60 * NS_PER_S, "250ms", NULL },
        { "pause", CLI_DURATION, &pause, "longest think or eat (random, 0 up to this)", 0, NS_PER_S, NULL, NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "Dining philosophers: the deadlock (caught by timed locks), then the\n"
                          "fixes by lock order and by a Semaphore(N-1).", opts, &cli);
    trace_name("main");
    g.n = (int)n;
    g.patience = patience;
    g.pause = pause;

    trace("part 1: %d philosophers pick up their left fork at once, then reach for the right", g.n);
    g.meals = 1;
    dinner(NAIVE, true);
    char cycle[256] = "";
    int who = 0, len = 0;
    for (int i = 0; i < g.n && who >= 0; i++, who = g.waits_for[who])
        len += snprintf(cycle + len, sizeof cycle - (size_t)len, "%d -> ", who);
    if (who == 0)
        trace("deadlock: a cycle of waits, philosopher %s0", cycle);
    else
        trace("no cycle this time (meals eaten: %ld)", atomic_load(&g.eaten));

    printf("\npart 2: %ld meals each, running free (pauses up to %.0f µs; a wait over %.3f s ends the run)\n",
           meals, (double)pause / 1e3, (double)patience / 1e9);
    printf("  %-19s %15s %10s  %s\n", "way", "meals eaten", "ms", "result");
    g.meals = meals;
    for (int w = 0; w < NWAYS; w++) {
        int64_t took = dinner((enum way)w, false);
        bool dl = atomic_load(&g.deadlock);
        printf("  %-19s %7ld/%-7ld %10.1f  %s\n", way_name[w], atomic_load(&g.eaten), meals * n,
               (double)(took - (dl ? patience : 0)) / 1e6,
               dl ? "deadlock: a wait for a fork ran out" : "every meal eaten, no wait ran out");
    }
    return 0;
}
