/* solutions/rlock_fast.c: exercise 1 of chapter 06 (RLock).
 *
 * The question: give the RLock a fast path for its owner: keep `owner` in an atomic and
 * let the owner's re-entry skip the inner mutex. Measure re-entry before and after, and
 * check it under ThreadSanitizer.
 *
 * The answer: re-entry drops from two lock/unlock pairs of the inner mutex to a load and
 * an add, several times cheaper. It is safe because of who may write what: `owner` is
 * written only under the mutex, and only a thread that holds the RLock can find its own
 * identity there (nobody else ever stores it), so a relaxed load that sees "me" cannot
 * be wrong; a load that sees another thread, or nobody, sends the caller the slow way.
 * `count` is touched only by the owner while it holds the lock, and handed from owner
 * to owner through the mutex. Waiters must then not read `count`: they wait for `owner`
 * to become nobody, which the last release sets under the mutex. (CPython's RLock in
 * Modules/_threadmodule.c reads its owner without a lock in the same way, and counts
 * without one too, trusting the GIL; here the atomic and the ownership rule replace it.)
 *
 * What it does: times an acquire + release one level down (re-entry) and at the top
 * (the first acquire and last release), for rlock.c and for this fast RLock; then
 * --threads threads each add 1 to a counter --adds times, taking the fast RLock three
 * levels deep for each: the total must be exact (run under make SAN=thread: silent).
 *
 * Run:  solutions/rlock_fast [--pairs 5000000] [--adds 200000]
 * Look for: re-entry several times cheaper with the fast path; the total exact.
 */
#include "../rlock.h"
#include "../../04-thread/thread.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>

struct fast_rlock {
    pthread_mutex_t m;
    pthread_cond_t freed;
    _Atomic(const void *) owner; /* the owner's identity (below), NULL: free */
    unsigned long count;         /* the owner's alone while it holds the lock */
};

static _Thread_local char t_me; /* a thread's identity: the address of its own byte */

static void fast_init(struct fast_rlock *l)
{
    CHECK_PT(pthread_mutex_init(&l->m, NULL));
    CHECK_PT(pthread_cond_init(&l->freed, NULL));
    atomic_init(&l->owner, NULL);
    l->count = 0;
}

static void fast_acquire(struct fast_rlock *l)
{
    if (atomic_load_explicit(&l->owner, memory_order_relaxed) == &t_me) {
        l->count++; /* the fast path: ours already, no mutex */
        return;
    }
    CHECK_PT(pthread_mutex_lock(&l->m));
    while (atomic_load_explicit(&l->owner, memory_order_relaxed) != NULL)
        CHECK_PT(pthread_cond_wait(&l->freed, &l->m));
    atomic_store_explicit(&l->owner, &t_me, memory_order_relaxed);
    CHECK_PT(pthread_mutex_unlock(&l->m));
    l->count = 1;
}

static int fast_release(struct fast_rlock *l)
{
    if (atomic_load_explicit(&l->owner, memory_order_relaxed) != &t_me)
        return EPERM;
    if (--l->count > 0)
        return 0; /* still held: nobody else needs to know */
    CHECK_PT(pthread_mutex_lock(&l->m));
    atomic_store_explicit(&l->owner, NULL, memory_order_relaxed);
    CHECK_PT(pthread_cond_signal(&l->freed));
    CHECK_PT(pthread_mutex_unlock(&l->m));
    return 0;
}

static struct rlock g_slow;
static struct fast_rlock g_fast;

/* ns per acquire + release, at depth 2 (re-entry) or at the top */
static double time_pairs(bool fast, bool reentry, long pairs)
{
    if (reentry)
        fast ? fast_acquire(&g_fast) : (void)rlock_acquire(&g_slow, -1);
    int64_t t0 = now_ns();
    for (long i = 0; i < pairs; i++) {
        if (fast) {
            fast_acquire(&g_fast);
            fast_release(&g_fast);
        } else {
            rlock_acquire(&g_slow, -1);
            rlock_release(&g_slow);
        }
    }
    double ns = (double)(now_ns() - t0) / (double)pairs;
    if (reentry && (fast ? fast_release(&g_fast) : rlock_release(&g_slow)) != 0)
        fatal("release failed");
    return ns;
}

static long g_adds;
static long g_total;
static struct start_line g_start;

static void *adder(void *arg)
{
    (void)arg;
    start_line_wait(&g_start);
    for (long i = 0; i < g_adds; i++) {
        for (int d = 0; d < 3; d++)
            fast_acquire(&g_fast);
        g_total = g_total + 1;
        for (int d = 0; d < 3; d++)
            if (fast_release(&g_fast) != 0)
                fatal("fast_release: not the owner");
    }
    return NULL;
}

int main(int argc, char **argv)
{
    long pairs = 5000000, threads = 2;
    g_adds = 200000;
    const struct cli_opt opts[] = {
        { "pairs", CLI_INT, &pairs, "acquire + release pairs per measurement", 1000, 1000000000, "100000", NULL },
        { "threads", CLI_INT, &threads, "threads in the exactness check", 2, 64, NULL, NULL },
        { "adds", CLI_INT, &g_adds, "additions per thread in the exactness check", 1, 100000000, "20000", NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "Exercise 1: an RLock whose owner re-enters without the inner mutex.", opts, &cli);
    rlock_init(&g_slow);
    fast_init(&g_fast);
    printf("ns per acquire + release, one thread (median of 3)\n  %-36s %10s %10s\n", "", "rlock.c", "fast path");
    static const char *const what[2] = { "first acquire, last release", "re-entry (already held once)" };
    double med[2][2];
    for (int reentry = 0; reentry < 2; reentry++) {
        for (int fast = 0; fast < 2; fast++) {
            double v[3];
            for (int r = 0; r < 3; r++)
                v[r] = time_pairs(fast, reentry, pairs);
            med[reentry][fast] = summarize(v, 3).median;
        }
        printf("  %-36s %10.1f %10.1f\n", what[reentry], med[reentry][0], med[reentry][1]);
    }
    printf("re-entry is %.1fx cheaper with the fast path\n", med[1][0] / med[1][1]);

    pthread_t t[64];
    start_line_init(&g_start, (int)threads);
    for (long i = 0; i < threads; i++)
        CHECK_PT(pthread_create(&t[i], NULL, adder, NULL));
    for (long i = 0; i < threads; i++)
        CHECK_PT(pthread_join(t[i], NULL));
    printf("%ld threads x %ld additions, the fast RLock taken 3 deep for each: total %ld, %s\n", threads, g_adds,
           g_total, g_total == threads * g_adds ? "exact" : "WRONG");
    rlock_destroy(&g_slow);
    return g_total == threads * g_adds ? 0 : 1;
}
