/* solutions/livelock.c: exercise 3 of chapter 05 (deadlock), "predict before you run".
 *
 * The question: deadlock_abba's --fix backoff takes the second lock with a trylock; if
 * it is taken, the thread lets go of its first lock, waits a short *random* time and
 * starts over. Make the wait fixed instead, with no pause between the two locks (and
 * then with one): can you make the two threads livelock, each backing off for ever
 * because the other does? Count the back-offs.
 *
 * The answer, measured: no, not for more than a few rounds. A back-off fails only when
 * *both* trylocks fall while both first locks are held. A thread lets go of its first
 * lock right after its trylock fails, so whichever thread tries second finds the lock
 * free again, unless the two tried within the same few nanoseconds. Staying in step to
 * the nanosecond, round after round, is what real machines cannot do: each sleep ends
 * a few µs late (the timer slack and the wake-up: chapter 04's wakeup), each core runs
 * at its own pace, and the symmetry breaks at once. A pause between the two locks
 * changes nothing: the later thread still wins. So a fixed wait works here, and the
 * collisions it cannot separate are rare. Livelocks need a protocol in which the
 * colliding parties cannot tell they collided until both have committed, and then
 * react the same way: two Ethernet stations on one wire, both sending at once, both
 * waiting the same time, colliding again. That is why Ethernet's back-off is random,
 * and why deadlock_abba's is too: the random wait costs nothing and rules the lockstep
 * out instead of relying on noise.
 *
 * What it does: thread ab takes A then B, thread ba B then A, --rounds times each,
 * released together, backing off on a busy trylock with a random wait of up to --wait
 * or a fixed wait of --wait; with no pause between the two locks and with a pause of
 * --wait. Each way for at most --limit. Prints the rounds done and the back-offs.
 *
 * Run:  solutions/livelock [--wait 1ms] [--rounds 20] [--limit 2s]
 * Look for: every way done, with a few back-offs per round at most.
 */
#include "common.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>

static pthread_mutex_t g_a = PTHREAD_MUTEX_INITIALIZER, g_b = PTHREAD_MUTEX_INITIALIZER;
static int64_t g_pause, g_wait, g_deadline;
static long g_rounds;
static bool g_random;
static atomic_int g_ready;

struct side {
    pthread_mutex_t *first, *second;
    uint64_t seed;
    long done, backoffs;
};

static void *run_side(void *arg)
{
    struct side *s = arg;
    atomic_fetch_add(&g_ready, 1);
    while (atomic_load(&g_ready) < 2) /* start together */
        ;
    while (s->done < g_rounds && ns_left(g_deadline) > 0) {
        CHECK_PT(pthread_mutex_lock(s->first));
        if (g_pause)
            sleep_ns(g_pause);
        int rc = pthread_mutex_trylock(s->second);
        if (rc == EBUSY) { /* back off: let go, wait, start over */
            CHECK_PT(pthread_mutex_unlock(s->first));
            s->backoffs++;
            sleep_ns(g_random ? (int64_t)(random_unit(&s->seed) * (double)g_wait) : g_wait);
            continue;
        }
        if (rc != 0)
            die_en(rc, "pthread_mutex_trylock");
        s->done++; /* both locks held: the round's work */
        CHECK_PT(pthread_mutex_unlock(s->second));
        CHECK_PT(pthread_mutex_unlock(s->first));
    }
    return NULL;
}

static bool way(bool random_wait, int64_t pause, int64_t limit)
{
    g_random = random_wait;
    g_pause = pause;
    atomic_store(&g_ready, 0);
    struct side s[2] = { { &g_a, &g_b, 1, 0, 0 }, { &g_b, &g_a, 2, 0, 0 } };
    pthread_t t[2];
    int64_t t0 = now_ns();
    g_deadline = t0 + limit;
    for (int i = 0; i < 2; i++)
        CHECK_PT(pthread_create(&t[i], NULL, run_side, &s[i]));
    for (int i = 0; i < 2; i++)
        CHECK_PT(pthread_join(t[i], NULL));
    bool done = s[0].done == g_rounds && s[1].done == g_rounds;
    printf("  %-12s %-9s %s after %.3f s: ab did %ld of %ld rounds, ba %ld; back-offs: ab %ld, ba %ld%s\n",
           random_wait ? "random wait," : "fixed wait,", pause ? "a pause:" : "no pause:", done ? "done" : "stopped",
           (double)(now_ns() - t0) / 1e9,
           s[0].done, g_rounds, s[1].done, s[0].backoffs, s[1].backoffs,
           done ? "" : ": stuck in step (a livelock)");
    return done;
}

int main(int argc, char **argv)
{
    int64_t limit = 2 * NS_PER_S;
    g_wait = NS_PER_MS;
    g_rounds = 20;
    const struct cli_opt opts[] = {
        { "wait", CLI_DURATION, &g_wait, "the back-off's wait (the random one: up to this), and the pause",
          NS_PER_US, 100 * NS_PER_MS, NULL, NULL },
        { "rounds", CLI_INT, &g_rounds, "rounds each thread must do", 1, 100000, "5", NULL },
        { "limit", CLI_DURATION, &limit, "how long each way may take", 10 * NS_PER_MS, 60 * NS_PER_S, "200ms",
          NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "Exercise 3: back-off with a random wait and with a fixed one (a livelock).", opts,
              &cli);
    char w[16];
    printf("two threads, A then B against B then A, a trylock for the second; on EBUSY, let go and wait %s\n",
           format_duration(g_wait, w, sizeof w));
    bool all = true;
    for (int pause = 0; pause < 2; pause++)
        for (int random_wait = 1; random_wait >= 0; random_wait--)
            all &= way(random_wait, pause ? g_wait : 0, limit);
    if (all)
        printf("no livelock: every way finished; the later of two colliding threads finds the lock free\n");
    return all ? 0 : 1;
}
