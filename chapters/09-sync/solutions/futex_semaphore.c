/* solutions/futex_semaphore.c: exercise 2 of chapter 09. A semaphore whose counter
 * is itself the futex word, with no mutex and no condition (glibc's sem_t is built
 * this way), checked, and measured against semaphore.c's Lock + Condition one.
 *
 *   acquire: read the count; while it is > 0, try to compare-and-swap it to count-1:
 *            done. If it is 0, note that we wait (waiters + 1) and futex_wait(&count, 0):
 *            the kernel puts us to sleep only if the count is still 0.
 *   release: add 1 to the count; if anybody may be waiting, futex_wake one.
 *
 * The lost wake-up, again: a releaser that reads waiters == 0 must be sure no thread
 * is about to sleep. The waiter increments waiters *before* futex_wait checks the
 * count; the releaser increments the count *before* it reads waiters. Both are
 * sequentially consistent atomics, so at least one of them sees the other's write:
 * either the releaser sees the waiter and wakes it, or the waiter's futex_wait sees a
 * count of 1 and does not sleep. (With weaker orderings both could miss: this is the
 * store-then-load pattern that needs a full fence.)
 *
 * Run:  solutions/futex_semaphore [--pairs 200000]
 * Look for: never more than 3 inside a semaphore of 3; alone, the futex semaphore
 * cheaper than semaphore.c (one atomic each way, against a lock and an unlock around
 * the counter each way); under contention, cheaper again and with fewer system calls
 * (how many fewer varies a lot from run to run).
 */
#include "sync.h"
#include "futex.h"

#include <pthread.h>

struct fsem {
    _Atomic uint32_t count;   /* the futex word */
    _Atomic uint32_t waiters; /* threads in (or about to be in) futex_wait */
};

static int fsem_acquire(struct fsem *s, int64_t timeout_ns)
{
    int64_t deadline = INT64_MIN; /* not read from the clock until we must wait */
    for (;;) {
        uint32_t c = atomic_load_explicit(&s->count, memory_order_relaxed);
        while (c > 0)
            if (atomic_compare_exchange_weak_explicit(&s->count, &c, c - 1, memory_order_acquire,
                                                      memory_order_relaxed))
                return SYNC_OK;
        if (deadline == INT64_MIN)
            deadline = deadline_in(timeout_ns);
        if (ns_left(deadline) == 0)
            return SYNC_TIMEOUT;
        atomic_fetch_add(&s->waiters, 1); /* seq_cst: before futex_wait reads the count */
        futex_wait(&s->count, 0, deadline);
        atomic_fetch_sub(&s->waiters, 1);
    }
}

static void fsem_release(struct fsem *s)
{
    atomic_fetch_add(&s->count, 1); /* seq_cst: before we read waiters */
    if (atomic_load(&s->waiters) > 0)
        futex_wake(&s->count, 1);
}

/* ---- both semaphores, driven the same way ---- */

static struct {
    bool use_futex;
    struct fsem fs;
    struct semaphore ps;
    long pairs;
    _Atomic int inside, most;
    _Atomic unsigned long calls;
} g;

static void *user(void *arg)
{
    (void)arg;
    unsigned long before = futex_waits + futex_wakes;
    for (long i = 0; i < g.pairs; i++) {
        if (g.use_futex ? fsem_acquire(&g.fs, 10 * NS_PER_S) : semaphore_acquire(&g.ps, 10 * NS_PER_S))
            fatal("no way in after 10 s");
        int n = atomic_fetch_add_explicit(&g.inside, 1, memory_order_relaxed) + 1;
        int most = atomic_load_explicit(&g.most, memory_order_relaxed);
        while (n > most && !atomic_compare_exchange_weak(&g.most, &most, n))
            ;
        atomic_fetch_sub_explicit(&g.inside, 1, memory_order_relaxed);
        if (g.use_futex)
            fsem_release(&g.fs);
        else if (semaphore_release(&g.ps, 1) != SYNC_OK)
            fatal("release refused");
    }
    atomic_fetch_add(&g.calls, futex_waits + futex_wakes - before);
    return NULL;
}

static void run(bool use_futex, int threads, int value)
{
    g.use_futex = use_futex;
    atomic_store(&g.fs.count, (uint32_t)value);
    atomic_store(&g.fs.waiters, 0);
    if (semaphore_init(&g.ps, value) != SYNC_OK)
        fatal("semaphore_init");
    atomic_store(&g.most, 0);
    atomic_store(&g.calls, 0);
    pthread_t t[8];
    int64_t t0 = now_ns();
    for (int i = 0; i < threads; i++)
        CHECK_PT(pthread_create(&t[i], NULL, user, NULL));
    for (int i = 0; i < threads; i++)
        CHECK_PT(pthread_join(t[i], NULL));
    double pairs = (double)g.pairs * threads;
    printf("  %-24s %d thread%s, value %d: %7.1f ns per pair, %9.0f futex calls per million, at most %d inside\n",
           use_futex ? "futex word (this file)" : "Lock + Condition", threads, threads > 1 ? "s" : " ", value,
           (double)(now_ns() - t0) / pairs, 1e6 * (double)atomic_load(&g.calls) / pairs, atomic_load(&g.most));
    if (atomic_load(&g.most) > value)
        fatal("more than %d inside", value);
}

int main(int argc, char **argv)
{
    g.pairs = 200000;
    const struct cli_opt opts[] = {
        { "pairs", CLI_INT, &g.pairs, "acquire+release pairs per thread", 1, 100000000, "5000", NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "A semaphore on a bare futex word against semaphore.c's Lock + Condition.", opts, &cli);
    printf("acquire+release pairs (wall time / all pairs):\n");
    for (int f = 0; f < 2; f++)
        run(f, 1, 1);
    for (int f = 0; f < 2; f++)
        run(f, 4, 3);
    return 0;
}
