/* lock_compare.c: what one lock and unlock costs, for four kinds of lock, alone and
 * with two threads.
 *
 * Mirrors: the choice between threading.Lock and threading.RLock, and the lessons'
 * remark that locks cost speed; with the pthread types underneath.
 *
 *   mutex            PTHREAD_MUTEX_DEFAULT: one atomic instruction to lock, one to
 *                    unlock, a futex system call only when a thread has to wait
 *   error-checking   PTHREAD_MUTEX_ERRORCHECK: the same, plus an owner check
 *   recursive        PTHREAD_MUTEX_RECURSIVE: owner and count kept in the mutex
 *   RLock (rlock.c)  owner and count beside a mutex and a condition variable: two
 *                    lock/unlock pairs of the inner mutex per acquire/release pair
 *
 * Each thread loops on lock, add 1 to a shared counter, unlock, for --duration; the
 * result is the wall time divided by all the pairs of all the threads (checked against
 * the counter), the median of --repeat runs, in three placements:
 *   1 thread             the uncontended cost: nobody else ever holds the lock
 *   2 threads, 1 core    both pinned to CPU 0: they take turns by time slice, so
 *                        the lock is almost never found taken, and never by a thread
 *                        that is running
 *   2 threads, 2 cores   pinned to CPUs 0 and 1: the lock's cache line moves between
 *                        the cores at every hand-over, and a thread that finds the
 *                        lock taken may have to sleep in the kernel until the holder
 *                        wakes it from the other core, which costs microseconds
 *                        (../04-thread/wakeup.c measures how many)
 * Beside each two-thread time the table prints the share of the pairs done by the
 * busier thread (50% is a fair split; near 100% means one thread had the lock to
 * itself), and a second table counts how often the threads slept: their voluntary
 * context switches during the loop, per million pairs. A pthread mutex's waiter waits
 * in futex() on the lock word itself and sleeps only if it is still locked, which
 * with a critical section this short it rarely is; the RLock's waiter sleeps on a
 * condition variable until the owner's release signals it.
 *
 * On a busy machine the two-core runs change character: the thread pinned to a core
 * that another program also wants runs only part of the time, its partner locks and
 * unlocks alone meanwhile, and the split drifts towards 100% while the average drops.
 *
 * Run:  ./lock_compare [--duration 30ms] [--repeat 7] [--data FILE]
 * Look for: the four kinds close together alone and on one core; on two cores every
 * kind several times dearer, and the RLock far behind, with thousands of sleeps per
 * million pairs where the mutexes have tens.
 * See also: rlock.c, ../04-thread/lock_cost.c (where to put the lock).
 */
#include "rlock.h"
#include "../04-thread/thread.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

enum kind { MUTEX, ERRORCHECK, RECURSIVE, RLOCK, NKINDS };
static const char *const kind_name[NKINDS] = {
    "mutex", "error-checking mutex", "recursive mutex", "RLock (rlock.c)",
};
static const char *const kind_label[NKINDS] = { /* for the figure (gnuplot enhanced text) */
    "mutex", "error-checking", "recursive", "RLock (rlock.c)",
};
enum place { ONE_THREAD, ONE_CORE, TWO_CORES, NPLACES };
static const char *const place_name[NPLACES] = {
    "1 thread", "2 threads, 1 core", "2 threads, 2 cores",
};

static struct {
    enum kind kind;
    pthread_mutex_t mutex;
    struct rlock rlock;
    struct start_line start;
    atomic_bool stop;
    volatile long counter;
} g;

struct worker {
    pthread_t id;
    int cpu;          /* -1: not pinned */
    long pairs;
    long sleeps;      /* voluntary context switches during the loop */
    int64_t began, ended;
};

static void *worker(void *arg)
{
    struct worker *w = arg;
    if (w->cpu >= 0)
        pin_to_cpu(w->cpu);
    start_line_wait(&g.start);
    long n = 0, slept = thread_sleeps();
    w->began = now_ns();
    if (g.kind == RLOCK) {
        do {
            int rc = rlock_acquire(&g.rlock, -1);
            if (rc != 0)
                die_en(rc, "rlock_acquire");
            g.counter = g.counter + 1;
            if ((rc = rlock_release(&g.rlock)) != 0)
                die_en(rc, "rlock_release");
            n++;
        } while (!atomic_load_explicit(&g.stop, memory_order_relaxed));
    } else {
        do {
            CHECK_PT(pthread_mutex_lock(&g.mutex));
            g.counter = g.counter + 1;
            CHECK_PT(pthread_mutex_unlock(&g.mutex));
            n++;
        } while (!atomic_load_explicit(&g.stop, memory_order_relaxed));
    }
    w->ended = now_ns();
    w->sleeps = thread_sleeps() - slept;
    w->pairs = n;
    return NULL;
}

/* one run; ns per lock+unlock pair, the busier thread's share of the pairs (%), and
 * how often the threads slept, per million pairs */
static double run_once(enum kind k, enum place p, int64_t duration, double *busier, double *sleeps)
{
    static const int mutex_type[NKINDS] = { PTHREAD_MUTEX_DEFAULT, PTHREAD_MUTEX_ERRORCHECK,
                                            PTHREAD_MUTEX_RECURSIVE, PTHREAD_MUTEX_DEFAULT };
    pthread_mutexattr_t attr;
    CHECK_PT(pthread_mutexattr_init(&attr));
    CHECK_PT(pthread_mutexattr_settype(&attr, mutex_type[k]));
    CHECK_PT(pthread_mutex_init(&g.mutex, &attr));
    CHECK_PT(pthread_mutexattr_destroy(&attr));
    rlock_init(&g.rlock);
    g.kind = k;
    g.counter = 0;
    atomic_store(&g.stop, false);

    struct worker w[2] = { { .cpu = p == ONE_THREAD ? -1 : cpu_nth(0) }, { .cpu = cpu_nth(p == TWO_CORES ? 1 : 0) } };
    int n = p == ONE_THREAD ? 1 : 2;
    start_line_init(&g.start, n + 1);
    for (int i = 0; i < n; i++)
        CHECK_PT(pthread_create(&w[i].id, NULL, worker, &w[i]));
    start_line_wait(&g.start); /* the clock starts when the workers do, not before */
    sleep_ns(duration);
    atomic_store(&g.stop, true);
    long pairs = 0, slept = 0;
    int64_t first = INT64_MAX, last = 0;
    for (int i = 0; i < n; i++) {
        CHECK_PT(pthread_join(w[i].id, NULL));
        pairs += w[i].pairs;
        slept += w[i].sleeps;
        first = w[i].began < first ? w[i].began : first;
        last = w[i].ended > last ? w[i].ended : last;
    }
    *busier = 100.0 * (double)(w[0].pairs > w[1].pairs || n == 1 ? w[0].pairs : w[1].pairs) / (double)pairs;
    *sleeps = 1e6 * (double)slept / (double)pairs;
    if (pairs != g.counter)
        fatal("%s, %s: %ld pairs but the counter says %ld", kind_name[k], place_name[p], pairs, g.counter);
    rlock_destroy(&g.rlock);
    CHECK_PT(pthread_mutex_destroy(&g.mutex));
    return (double)(last - first) / (double)pairs;
}

int main(int argc, char **argv)
{
    int64_t duration = 30 * NS_PER_MS;
    long repeat = 7;
    const struct cli_opt opts[] = {
        { "duration", CLI_DURATION, &duration, "length of one run", NS_PER_MS, 10 * NS_PER_S, "4ms", NULL },
        { "repeat", CLI_INT, &repeat, "runs per point (the median is kept)", 1, 1000, "2", NULL },
        { 0 },
    };
    struct cli cli = { .measures = true };
    cli_parse(argc, argv, "The cost of a lock+unlock pair: default, error-checking and recursive\n"
                          "mutexes and rlock.c's RLock; 1 thread, 2 threads on 1 core, on 2 cores.", opts, &cli);

    long cores = cpu_count();
    int nplaces = cores >= 2 ? NPLACES : NPLACES - 1; /* one core: no two-core runs */
    double *ns = malloc((size_t)(NKINDS * NPLACES * repeat) * sizeof *ns);
    double *busy = malloc((size_t)(NKINDS * NPLACES * repeat) * sizeof *busy);
    double *sleeps = malloc((size_t)(NKINDS * NPLACES * repeat) * sizeof *sleeps);
    if (!ns || !busy || !sleeps)
        die("malloc");
#define NS(k, p, r) ns[((size_t)(k) * NPLACES + (size_t)(p)) * (size_t)repeat + (size_t)(r)]
#define BUSY(k, p, r) busy[((size_t)(k) * NPLACES + (size_t)(p)) * (size_t)repeat + (size_t)(r)]
#define SLEEPS(k, p, r) sleeps[((size_t)(k) * NPLACES + (size_t)(p)) * (size_t)repeat + (size_t)(r)]
    for (long r = 0; r < repeat; r++) /* round robin, so a noisy moment hits every point alike */
        for (int p = 0; p < nplaces; p++)
            for (int k = 0; k < NKINDS; k++)
                NS(k, p, r) = run_once((enum kind)k, (enum place)p, duration, &BUSY(k, p, r), &SLEEPS(k, p, r));

    FILE *data = data_open(cli.data, "lock_compare: the cost of one lock+unlock pair");
    static const char *const cols[] = {
        "kind (index): 0 mutex, 1 error-checking, 2 recursive, 3 RLock",
        "one (ns): 1 thread, median", "one_p10 (ns)", "one_p90 (ns)",
        "core (ns): 2 threads on CPU 0, median", "core_p10 (ns)", "core_p90 (ns)",
        "cores (ns): 2 threads on CPUs 0 and 1, median (NaN with one core)", "cores_p10 (ns)", "cores_p90 (ns)",
        "core_busier (%): 2 threads on CPU 0, median share of the pairs done by the busier thread",
        "cores_busier (%): the same on CPUs 0 and 1", "label (text)",
        "core_sleeps (count): 2 threads on CPU 0, median number of times a thread slept (voluntary "
        "context switches) per million pairs",
        "cores_sleeps (count): the same on CPUs 0 and 1", NULL,
    };
    data_block(data, "ns per lock+unlock pair, by kind and placement", cols);
    printf("ns per lock+unlock pair (wall time / all pairs; median of %ld runs of %.0f ms; " CORES_FMT ")\n"
           "and, for two threads, the share of the pairs the busier thread did (50%% is fair)\n",
           repeat, (double)duration / 1e6, CORES_ARG(cores));
    printf("  %-22s %10s %20s %20s\n", "", place_name[0], place_name[1], place_name[2]);
    for (int k = 0; k < NKINDS; k++) {
        printf("  %-22s", kind_name[k]);
        data_row(data, "%d", k);
        double share[NPLACES] = { 0, NAN, NAN };
        for (int p = 0; p < NPLACES; p++) {
            if (p >= nplaces) {
                printf(" %20s", "n/a");
                data_row(data, " NaN NaN NaN");
                continue;
            }
            struct summary s = summarize(&NS(k, p, 0), (size_t)repeat);
            if (p == ONE_THREAD) {
                printf(" %10.1f", s.median);
            } else {
                share[p] = summarize(&BUSY(k, p, 0), (size_t)repeat).median;
                printf(" %10.1f (%5.1f%%)", s.median, share[p]);
            }
            data_row(data, " %.2f %.2f %.2f", s.median, s.p10, s.p90);
        }
        printf("\n");
        data_row(data, " %.1f %.1f \"%s\"", share[ONE_CORE], share[TWO_CORES], kind_label[k]);
        for (int p = ONE_CORE; p < NPLACES; p++)
            data_row(data, " %.1f", p < nplaces ? summarize(&SLEEPS(k, p, 0), (size_t)repeat).median : NAN);
        data_row(data, "\n");
    }
    printf("how often a thread had to sleep (voluntary context switches per million pairs, median)\n");
    printf("  %-22s %10s %20s %20s\n", "", "", place_name[1], place_name[2]);
    for (int k = 0; k < NKINDS; k++) {
        printf("  %-22s %10s", kind_name[k], "");
        for (int p = ONE_CORE; p < NPLACES; p++) {
            if (p >= nplaces)
                printf(" %20s", "n/a");
            else
                printf(" %20.1f", summarize(&SLEEPS(k, p, 0), (size_t)repeat).median);
        }
        printf("\n");
    }
#undef SLEEPS
#undef BUSY
#undef NS
    free(ns);
    free(busy);
    free(sleeps);
    data_close(data);
    return 0;
}
