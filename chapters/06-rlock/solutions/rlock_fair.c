/* solutions/rlock_fair.c: exercise 2 of chapter 06 (RLock), "predict before you run".
 *
 * The question: make the RLock fair: a release that finds waiters hands the lock to the
 * one that has waited longest (a ticket). What happens to lock_compare's two-core time
 * per pair, and to the sleeps?
 *
 * The answer: it gets far slower, by about the cost of a wake-up per pair. rlock.c is
 * unfair: the releaser can take the lock straight back before the waiter it signalled
 * is even running (what gil_retake shows for the GIL), so a thread does long runs of
 * pairs while the other sleeps, and only some pairs pay for a wake-up. With tickets
 * the lock belongs to the next waiter the moment it is released: the releaser's next
 * acquire must queue behind it and sleep, and nobody can use the lock until the woken
 * thread, on the other core, is running. Every pair pays a cross-core wake-up (chapter
 * 04's wakeup: tens of µs on a VM), and the pairs alternate exactly, 50% each. Fairness
 * is bought with throughput; that is why most locks, glibc's mutex and CPython's GIL
 * included, let a running thread barge in, and why CPython needed FORCE_SWITCHING to
 * make its GIL change hands at all.
 *
 * What it does: two threads on two CPUs take the lock, add 1 to a counter and release
 * it, for --duration, --repeat times each, with rlock.c and with a ticket RLock (same
 * API, fair); the time per pair (wall time over all pairs, checked against the
 * counter), the busier thread's share and the sleeps per million pairs (voluntary
 * context switches, as lock_compare counts them), medians.
 *
 * Run:  solutions/rlock_fair [--duration 30ms] [--repeat 5]
 * Look for: the fair lock's time per pair near one wake-up, its share 50.0%, and about
 * a million sleeps per million pairs.
 */
#include "../rlock.h"
#include "../../04-thread/thread.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

struct fair_rlock { /* a ticket lock that its owner may take again */
    pthread_mutex_t m;
    pthread_cond_t turn;
    unsigned long next, serving; /* tickets handed out, and the one whose turn it is */
    pthread_t owner;
    unsigned long count;
};

static void fair_init(struct fair_rlock *l)
{
    CHECK_PT(pthread_mutex_init(&l->m, NULL));
    CHECK_PT(pthread_cond_init(&l->turn, NULL));
    l->next = l->serving = l->count = 0;
}

static void fair_acquire(struct fair_rlock *l)
{
    CHECK_PT(pthread_mutex_lock(&l->m));
    if (l->count > 0 && pthread_equal(l->owner, pthread_self())) {
        l->count++;
    } else {
        unsigned long me = l->next++; /* a ticket: in line behind everyone before */
        while (l->serving != me)
            CHECK_PT(pthread_cond_wait(&l->turn, &l->m));
        l->owner = pthread_self();
        l->count = 1;
    }
    CHECK_PT(pthread_mutex_unlock(&l->m));
}

static void fair_release(struct fair_rlock *l)
{
    CHECK_PT(pthread_mutex_lock(&l->m));
    if (l->count == 0 || !pthread_equal(l->owner, pthread_self()))
        fatal("fair_release: not the owner");
    if (--l->count == 0) {
        l->serving++; /* the lock is now the next ticket's, whoever asks first */
        CHECK_PT(pthread_cond_broadcast(&l->turn));
    }
    CHECK_PT(pthread_mutex_unlock(&l->m));
}

static struct rlock g_unfair;
static struct fair_rlock g_fair;
static bool g_use_fair;
static atomic_bool g_stop;
static struct start_line g_start;
static volatile long g_counter;

struct worker {
    pthread_t id;
    int cpu;
    long pairs, sleeps;
    atomic_long progress; /* pairs so far, for the main thread */
};

static void *worker(void *arg)
{
    struct worker *w = arg;
    pin_to_cpu(w->cpu);
    start_line_wait(&g_start);
    long n = 0, slept = thread_sleeps();
    do {
        if (g_use_fair)
            fair_acquire(&g_fair);
        else if (rlock_acquire(&g_unfair, -1) != 0)
            fatal("rlock_acquire");
        g_counter = g_counter + 1;
        if (g_use_fair)
            fair_release(&g_fair);
        else if (rlock_release(&g_unfair) != 0)
            fatal("rlock_release");
        atomic_store_explicit(&w->progress, ++n, memory_order_relaxed);
    } while (!atomic_load_explicit(&g_stop, memory_order_relaxed));
    w->sleeps = thread_sleeps() - slept;
    w->pairs = n;
    return NULL;
}

/* one run: ns per pair; the busier thread's share (%) and sleeps per million pairs */
static double run(bool fair, const int cpu[2], int64_t duration, double *share, double *sleeps)
{
    g_use_fair = fair;
    g_counter = 0;
    atomic_store(&g_stop, false);
    start_line_init(&g_start, 3);
    struct worker w[2] = { { .cpu = cpu[0] }, { .cpu = cpu[1] } };
    atomic_init(&w[0].progress, 0);
    atomic_init(&w[1].progress, 0);
    for (int i = 0; i < 2; i++)
        CHECK_PT(pthread_create(&w[i].id, NULL, worker, &w[i]));
    start_line_wait(&g_start);
    int64_t t0 = now_ns(), limit = deadline_in(10 * NS_PER_S);
    sleep_ns(duration);
    /* on a busy machine one thread may not have run yet: a run counts only once both
     * have done some pairs (or after 10 s, whatever they did) */
    while ((atomic_load(&w[0].progress) < 100 || atomic_load(&w[1].progress) < 100) && ns_left(limit) > 0)
        sleep_ns(NS_PER_MS);
    atomic_store(&g_stop, true);
    for (int i = 0; i < 2; i++)
        CHECK_PT(pthread_join(w[i].id, NULL));
    double ns = (double)(now_ns() - t0);
    long pairs = w[0].pairs + w[1].pairs;
    if (pairs != g_counter)
        fatal("%ld pairs, but the counter says %ld", pairs, g_counter);
    *share = 100.0 * (double)(w[0].pairs > w[1].pairs ? w[0].pairs : w[1].pairs) / (double)pairs;
    *sleeps = 1e6 * (double)(w[0].sleeps + w[1].sleeps) / (double)pairs;
    return ns / (double)pairs;
}

int main(int argc, char **argv)
{
    int64_t duration = 30 * NS_PER_MS;
    long repeat = 5;
    const struct cli_opt opts[] = {
        { "duration", CLI_DURATION, &duration, "length of one run", NS_PER_MS, 10 * NS_PER_S, "5ms", NULL },
        { "repeat", CLI_INT, &repeat, "runs of each lock (the median is kept)", 1, 1000, "1", NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "Exercise 2: rlock.c against a fair (ticket) RLock, two threads on two cores.", opts,
              &cli);
    int cpu[2];
    if (first_cpus(cpu, 2) < 2)
        cpu[1] = cpu[0]; /* one CPU: both threads on it, and the table says so */
    rlock_init(&g_unfair);
    fair_init(&g_fair);
    double *v = malloc((size_t)(6 * repeat) * sizeof *v);
    if (!v)
        die("malloc");
    for (long r = 0; r < repeat; r++)
        for (int f = 0; f < 2; f++)
            v[(3 * f) * repeat + r] = run(f, cpu, duration, &v[(3 * f + 1) * repeat + r], &v[(3 * f + 2) * repeat + r]);
    printf("two threads on CPUs %d and %d: lock, add 1, unlock, for %.0f ms; medians of %ld\n", cpu[0], cpu[1],
           (double)duration / 1e6, repeat);
    printf("  %-24s %12s %16s %24s\n", "", "ns per pair", "busier thread", "sleeps per million pairs");
    static const char *const name[2] = { "rlock.c (unfair)", "ticket RLock (fair)" };
    double ns[2];
    for (int f = 0; f < 2; f++) {
        ns[f] = summarize(&v[(3 * f) * repeat], (size_t)repeat).median;
        printf("  %-24s %12.1f %15.1f%% %24.0f\n", name[f], ns[f], summarize(&v[(3 * f + 1) * repeat], (size_t)repeat).median,
               summarize(&v[(3 * f + 2) * repeat], (size_t)repeat).median);
    }
    printf("the fair lock took %.0fx as long per pair\n", ns[1] / ns[0]);
    rlock_destroy(&g_unfair);
    free(v);
    return 0;
}
