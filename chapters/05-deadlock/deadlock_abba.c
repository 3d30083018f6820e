/* deadlock_abba.c: two threads, two locks, taken in opposite orders.
 *
 * Mirrors: the lesson's definition of a deadlock, "threads each wait for the other to
 * release a resource, and none will go first", in its classic form, and the advice of
 * the lessons' essay: always take locks in one order.
 *
 * Thread ab takes A, then B; thread ba takes B, then A. If each gets its first lock
 * before the other gets its second, each waits for a lock the other holds: a cycle,
 * and neither can move again. --pause (between the first lock and the second) makes
 * that all but certain. How it is caught, never hanging:
 *   --lock timed   (default) the second lock is a timed lock: ab waits --timeout
 *                  (1 s), ba half as long again. ab's wait runs out first, while ba
 *                  still waits, so ab sees the whole cycle: it reports the chain of
 *                  waits, lets go of its first lock and stops; ba gets its lock and
 *                  finishes that round; the program exits 1. (With equal limits both
 *                  waits would run out at the same instant, each thread might find the
 *                  other already gone from its wait, and both might back out.)
 *   --lock plain   both locks are plain pthread_mutex_lock, which waits forever; the
 *                  main thread is a watchdog that sees no progress for --timeout
 *                  (beyond the longest deliberate sleep: --stagger, or two --pause),
 *                  reports the cycle and exits 1 (the two threads cannot be joined).
 * The fixes, with --fix:
 *   order          both threads take A before B. No cycle can form: whoever holds A
 *                  is the only one that can be waiting for B.
 *   backoff        the second lock is a trylock; if it is taken, let go of the first,
 *                  wait a short random time and start over. Nobody waits while holding
 *                  a lock, so no cycle; the cost is retries (counted), and without the
 *                  random wait the two could retry in step forever (a livelock).
 * --stagger starts ba later. With a stagger longer than ab's work the run finishes
 * (exit 0): the lock-order inversion is still in the code, it just did not bite.
 * helgrind and ThreadSanitizer both report it from such a run, because they record
 * the order in which each thread takes locks, not whether a hang happened:
 *     make -C chapters/05-deadlock lockorder
 * runs both tools on `--lock plain --stagger 100ms` and checks that both flag it.
 * (TSan records lock order only for locks that can block forever: it says nothing
 * about timed locks, hence --lock plain there.)
 *
 * Run:  ./deadlock_abba                   (exits 1 after about a second, with a report)
 *       ./deadlock_abba --fix order       ./deadlock_abba --fix backoff
 *       ./deadlock_abba --lock plain
 * Look for: "ab waits for B, held by ba; ba waits for A, held by ab: a cycle".
 * See also: deadlock_early_return.c, lockwatch.c.
 */
#include "lockwatch.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

enum fix { FIX_NONE, FIX_ORDER, FIX_BACKOFF };
enum lock_kind { LOCK_TIMED, LOCK_PLAIN };

static struct wlock g_a, g_b;
static int g_fix = FIX_NONE, g_lock_kind = LOCK_TIMED;
static int64_t g_pause = 50 * NS_PER_MS, g_timeout = NS_PER_S, g_stagger;
static long g_rounds = 3;
static long g_shared; /* guarded by A and B together */
static pthread_barrier_t g_ready;
static atomic_bool g_gave_up;

struct side {
    const char *indent; /* ba's lines are indented: two threads, two columns */
    struct wlock *first, *second;
    int64_t delay;      /* before its first round */
    int64_t patience;   /* how long its timed lock waits */
    long rounds_done, backoffs;
    unsigned seed;
    char why[512];      /* the chain of waits, if the timed lock ran out */
};

static void run_side(void *arg)
{
    struct side *s = arg;
    int rc = pthread_barrier_wait(&g_ready);
    if (rc != 0 && rc != PTHREAD_BARRIER_SERIAL_THREAD)
        die_en(rc, "pthread_barrier_wait");
    sleep_ns(s->delay);
    for (long r = 1; r <= g_rounds; r++) {
        wlock_lock(s->first);
        trace("%sround %ld: took %s", s->indent, r, s->first->name);
        sleep_ns(g_pause);
        if (g_fix == FIX_BACKOFF) {
            while (wlock_trylock(s->second) == EBUSY) {
                wlock_unlock(s->first);
                s->backoffs++;
                trace("%s%s is taken: let go of %s, back off, retry", s->indent, s->second->name, s->first->name);
                sleep_ns((int64_t)(rand_r(&s->seed) % 1000) * g_pause / 1000 + NS_PER_MS / 10);
                wlock_lock(s->first);
            }
        } else if (g_lock_kind == LOCK_TIMED) {
            trace("%swant %s (waiting at most %.2fs)", s->indent, s->second->name, (double)s->patience / 1e9);
            int got = wlock_timedlock(s->second, s->patience, s->why, sizeof s->why);
            if (got == ETIMEDOUT && atomic_exchange(&g_gave_up, true)) {
                /* Only if the machine stalled ab for half a timeout: the other thread
                 * is backing out already, and one of us letting go is enough. */
                trace("%sgave up on %s too, but the other thread is letting go already: waiting again",
                      s->indent, s->second->name);
                got = wlock_timedlock(s->second, s->patience, s->why, sizeof s->why);
            }
            if (got == ETIMEDOUT) {
                trace("%sgave up on %s after %.2fs: %s", s->indent, s->second->name,
                      (double)s->patience / 1e9, s->why);
                wlock_unlock(s->first);
                return;
            }
        } else {
            trace("%swant %s (waiting as long as it takes)", s->indent, s->second->name);
            wlock_lock(s->second);
        }
        trace("%sround %ld: took %s too: working with both", s->indent, r, s->second->name);
        g_shared++;
        wlock_unlock(s->second);
        wlock_unlock(s->first);
        s->rounds_done = r;
        if (atomic_load(&g_gave_up))
            return;
    }
}

int main(int argc, char **argv)
{
    const struct cli_opt opts[] = {
        { "fix", CLI_CHOICE, &g_fix, "none: A-B and B-A; order: both A-B; backoff: trylock and retry", 0, 0,
          NULL, "none|order|backoff" },
        { "lock", CLI_CHOICE, &g_lock_kind, "how the second lock is taken without --fix backoff", 0, 0, NULL,
          "timed|plain" },
        { "rounds", CLI_INT, &g_rounds, "rounds of lock, lock, work, unlock, unlock per thread", 1, 1000, "3", NULL },
        { "pause", CLI_DURATION, &g_pause, "time between a thread's first lock and its second", 0, NS_PER_S,
          "5ms", NULL },
        { "timeout", CLI_DURATION, &g_timeout, "how long a timed lock, or the watchdog, waits", 10 * NS_PER_MS,
          60 * NS_PER_S, "200ms", NULL },
        { "stagger", CLI_DURATION, &g_stagger, "how much later ba starts than ab", 0, 10 * NS_PER_S, NULL, NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "Two threads take two locks in opposite orders: a deadlock, caught by a\n"
                          "timed lock or a watchdog; fixed by one lock order or by backing off.", opts, &cli);

    trace_start();
    wlock_init(&g_a, "A");
    wlock_init(&g_b, "B");
    static const char *const fix_name[] = { "none", "order", "backoff" };
    bool abba = g_fix != FIX_ORDER;
    trace("ab takes A then B; ba takes %s; fix: %s; second lock: %s", abba ? "B then A" : "A then B too",
          fix_name[g_fix], g_fix == FIX_BACKOFF ? "trylock" : g_lock_kind == LOCK_TIMED ? "timed" : "plain");
    static struct side ab = { .indent = "", .first = &g_a, .second = &g_b, .seed = 1 };
    static struct side ba = { .indent = "                            ", .seed = 2 };
    ba.first = abba ? &g_b : &g_a;
    ba.second = abba ? &g_a : &g_b;
    ba.delay = g_stagger;
    ab.patience = g_timeout;
    ba.patience = g_timeout + g_timeout / 2; /* ab gives up first, seeing ba still waiting */
    CHECK_PT(pthread_barrier_init(&g_ready, NULL, 2));
    static struct wthread threads[2];
    wthread_start(&threads[0], "ab", run_side, &ab);
    wthread_start(&threads[1], "ba", run_side, &ba);

    /* The watchdog (for --lock plain; with timed locks the threads always end) waits
     * for --timeout without progress beyond the longest stretch a run that works
     * spends asleep on purpose: ba's stagger, or a pause and a back-off in a row. */
    int64_t asleep = g_stagger > 2 * g_pause + NS_PER_MS ? g_stagger : 2 * g_pause + NS_PER_MS;
    int64_t stall = (g_lock_kind == LOCK_PLAIN || g_fix != FIX_NONE ? g_timeout : 10 * g_timeout) + asleep;
    if (wthread_join_all(threads, 2, stall) != 0) {
        watch_report();
        trace("exit status 1: a deadlock. The two threads cannot be joined; exit ends them.");
        exit(1);
    }
    CHECK_PT(pthread_barrier_destroy(&g_ready));
    if (atomic_load(&g_gave_up)) {
        trace("deadlock detected by a timed lock: ab did %ld of %ld rounds, ba %ld; exit status 1",
              ab.rounds_done, g_rounds, ba.rounds_done);
        wlock_destroy(&g_a);
        wlock_destroy(&g_b);
        return 1;
    }
    trace("done: ab did %ld of %ld rounds, ba %ld; the shared count is %ld; back-offs: ab %ld, ba %ld",
          ab.rounds_done, g_rounds, ba.rounds_done, g_shared, ab.backoffs, ba.backoffs);
    wlock_destroy(&g_a);
    wlock_destroy(&g_b);
    return 0;
}
