/* mutex_cost.c: what a lock+unlock pair costs, how fairly the lock is shared, and how
 * often it asks the kernel, for five locks, from one thread to twice the cores.
 *
 * Mirrors: threading.Lock, which is a mutex like these underneath, and the lessons'
 * advice to keep critical sections small; and the question a lock's writer must
 * answer: spin or sleep?
 *
 *   naive futex      futex_mutex.c, two states: a futex_wake on every unlock
 *   futex            futex_mutex.c, three states: system calls only under contention
 *   futex, spinning  the same, looking FMUTEX_SPIN times before it sleeps (--spin)
 *   pthread_mutex    glibc's default mutex (the same three-state design inside)
 *   spinlock         test-and-test-and-set: never sleeps, spins until the lock is free
 *
 * Each thread loops on lock, add 1 to a shared counter, unlock, for --duration; the
 * cost is the wall time over all the pairs of all the threads (checked against the
 * counter), the median of --repeat runs taken round-robin. Two placements:
 *   spread     thread i pinned to CPU i mod cores: up to the core count every thread
 *              has a core; past it, threads share cores and get preempted
 *   one core   every thread pinned to CPU 0: only one runs at a time
 * and from 1 thread to 2 x the cores it may use (--max-threads).
 * Beside the cost, three counts per million pairs: futex system calls (counted in the
 * futex locks' own code, futex.h; glibc's mutex cannot be counted from outside
 * without tracing, and the spinlock makes none), sleeps (voluntary context switches,
 * getrusage(RUSAGE_THREAD), for every kind), and the fairness: the busiest thread's
 * pairs over an even share (1.00: even; the thread count: one thread did everything).
 *
 * Run:  ./mutex_cost [--duration 40ms] [--repeat 5] [--max-threads N] [--data FILE]
 * Look for: alone, the naive lock several times dearer than the others (its system
 * call per unlock); under contention, the naive lock making a system call or more per
 * pair and the three-state one far fewer; the spinlock fast while every thread has a
 * core and collapsing when threads outnumber cores (and on one core), because the
 * holder may be preempted while the others spin out their time slices.
 * See also: futex_mutex.c, ../06-rlock/lock_compare.c.
 */
#include "sync.h"
#include "futex.h"
#include "../04-thread/thread.h"

#include <math.h>
#include <stdlib.h>
#include <unistd.h>

enum kind { NAIVE, FUTEX, FUTEX_SPIN, PTHREAD, SPINLOCK, NKINDS };
static const char *const kind_name[NKINDS] = {
    "naive futex", "futex", "futex, spinning", "pthread_mutex", "spinlock",
};
enum place { SPREAD, ONE_CORE, NPLACES };
static const char *const place_name[NPLACES] = { "spread", "one core" };

static struct {
    enum kind kind;
    struct fmutex_naive naive;
    struct fmutex fm;
    pthread_mutex_t pm;
    _Atomic uint32_t spin; /* the spinlock: 0 free, 1 taken */
    struct start_line start;
    atomic_bool stop;
    long counter; /* guarded by the lock under test */
} g;

/* false: the run ended while we spun (so that with many threads on one core, the run
 * does not last until every spinner has had the lock once more) */
static bool spin_lock(void)
{
    while (atomic_exchange_explicit(&g.spin, 1, memory_order_acquire) != 0)
        while (atomic_load_explicit(&g.spin, memory_order_relaxed) != 0) {
            if (atomic_load_explicit(&g.stop, memory_order_relaxed))
                return false;
            cpu_relax(); /* test, and only then test-and-set */
        }
    return true;
}

static void spin_unlock(void)
{
    atomic_store_explicit(&g.spin, 0, memory_order_release);
}

struct worker {
    pthread_t id;
    int cpu;
    long pairs, sleeps;
    unsigned long futex_calls;
    int64_t began, ended;
};

#define LOOP(lock, unlock)                                                             \
    do {                                                                               \
        lock;                                                                          \
        g.counter = g.counter + 1;                                                     \
        unlock;                                                                        \
        n++;                                                                           \
    } while (!atomic_load_explicit(&g.stop, memory_order_relaxed))

static void *worker(void *arg)
{
    struct worker *w = arg;
    pin_to_cpu(w->cpu);
    start_line_wait(&g.start);
    long n = 0, slept = thread_sleeps();
    unsigned long calls = futex_waits + futex_wakes;
    w->began = now_ns();
    switch (g.kind) {
    case NAIVE: LOOP(fmutex_naive_lock(&g.naive), fmutex_naive_unlock(&g.naive)); break;
    case FUTEX:
    case FUTEX_SPIN: LOOP(fmutex_lock(&g.fm), fmutex_unlock(&g.fm)); break;
    case PTHREAD: LOOP(CHECK_PT(pthread_mutex_lock(&g.pm)), CHECK_PT(pthread_mutex_unlock(&g.pm))); break;
    case SPINLOCK: LOOP(if (!spin_lock()) break, spin_unlock()); break;
    case NKINDS: break;
    }
    w->ended = now_ns();
    w->sleeps = thread_sleeps() - slept;
    w->futex_calls = futex_waits + futex_wakes - calls;
    w->pairs = n;
    return NULL;
}

/* what one run measured: ns per pair; the busiest thread's share over an even one;
 * futex calls and sleeps per million pairs (calls: NaN where not counted) */
enum { NS, BUSIEST, CALLS, SLEEPS, NFIELDS };
struct result {
    double v[NFIELDS];
};

static struct result run_once(enum kind k, enum place p, int n, int64_t duration, unsigned spin)
{
    g.kind = k;
    fmutex_init(&g.fm, k == FUTEX_SPIN ? spin : 0);
    atomic_store(&g.naive.word, 0);
    atomic_store(&g.spin, 0);
    CHECK_PT(pthread_mutex_init(&g.pm, NULL));
    g.counter = 0;
    atomic_store(&g.stop, false);
    struct worker *w = calloc((size_t)n, sizeof *w);
    if (!w)
        die("calloc");
    start_line_init(&g.start, n + 1);
    for (int i = 0; i < n; i++) {
        w[i].cpu = cpu_nth(p == SPREAD ? i : 0); /* the i-th CPU we may use, mod the cores */
        CHECK_PT(pthread_create(&w[i].id, NULL, worker, &w[i]));
    }
    start_line_wait(&g.start);
    sleep_ns(duration);
    atomic_store(&g.stop, true);
    long pairs = 0, most = 0, sleeps = 0;
    unsigned long calls = 0;
    int64_t first = INT64_MAX, last = 0;
    for (int i = 0; i < n; i++) {
        CHECK_PT(pthread_join(w[i].id, NULL));
        pairs += w[i].pairs;
        most = w[i].pairs > most ? w[i].pairs : most;
        sleeps += w[i].sleeps;
        calls += w[i].futex_calls;
        first = w[i].began < first ? w[i].began : first;
        last = w[i].ended > last ? w[i].ended : last;
    }
    if (pairs != g.counter)
        fatal("%s: %ld pairs, but the counter says %ld", kind_name[k], pairs, g.counter);
    CHECK_PT(pthread_mutex_destroy(&g.pm));
    free(w);
    return (struct result){ {
        [NS] = (double)(last - first) / (double)pairs,
        [BUSIEST] = (double)most * n / (double)pairs,
        [CALLS] = k == PTHREAD || k == SPINLOCK ? NAN : 1e6 * (double)calls / (double)pairs,
        [SLEEPS] = 1e6 * (double)sleeps / (double)pairs,
    } };
}

/* the summary of one field over a point's repeats (NaN if not measured) */
static struct summary over_repeats(const struct result *r, long repeat, int field)
{
    double v[repeat];
    for (long i = 0; i < repeat; i++)
        v[i] = r[i].v[field];
    if (isnan(v[0]))
        return (struct summary){ .median = NAN, .p10 = NAN, .p90 = NAN };
    return summarize(v, (size_t)repeat);
}

/* "2.5x", or "-" when there is nothing to divide by (no system call at all) */
static const char *ratio(double a, double b)
{
    static char buf[4][32];
    static int next;
    char *r = buf[next++ % 4];
    if (b > 0 && !isnan(a))
        snprintf(r, sizeof buf[0], a / b < 10 ? "%.2fx" : "%.0fx", a / b);
    else
        snprintf(r, sizeof buf[0], "- (no call to divide by)");
    return r;
}

int main(int argc, char **argv)
{
    long cores = cpu_count();
    int64_t duration = 40 * NS_PER_MS;
    long repeat = 5, max_threads = 2 * cores, spin = FMUTEX_SPIN;
    const struct cli_opt opts[] = {
        { "duration", CLI_DURATION, &duration, "length of one run", NS_PER_MS, 10 * NS_PER_S, "2ms", NULL },
        { "repeat", CLI_INT, &repeat, "runs per point (the median is kept)", 1, 1000, "1", NULL },
        { "max-threads", CLI_INT, &max_threads, "most threads (default: 2 x the cores)", 1, 1024, NULL, NULL },
        { "spin", CLI_INT, &spin, "looks before a spinning futex lock sleeps", 1, 1000000, NULL, NULL },
        { 0 },
    };
    struct cli cli = { .measures = true };
    cli_parse(argc, argv, "Lock+unlock cost, fairness and futex system calls of five locks (naive\n"
                          "and three-state futex locks, spinning, pthread_mutex, a spinlock),\n"
                          "from 1 thread to 2 x the cores, spread over the cores and on one core.", opts, &cli);

    /* thread counts: 1, 2, 4, ... below the cores, then the cores, one more, twice */
    int nt = 0, threads[64];
    for (long t = 1; t < cores && t <= max_threads; t *= 2)
        threads[nt++] = (int)t;
    const long past[] = { cores, cores + 1, 2 * cores, max_threads };
    for (size_t i = 0; i < ARRAY_LEN(past); i++)
        if (past[i] <= max_threads && (nt == 0 || threads[nt - 1] < past[i]))
            threads[nt++] = (int)past[i];
    size_t npoints = (size_t)NPLACES * NKINDS * (size_t)nt;
    struct result *res = calloc(npoints * (size_t)repeat, sizeof *res);
    if (!res)
        die("calloc");
#define RES(p, k, t) (&res[((((size_t)(p) * NKINDS + (size_t)(k)) * (size_t)nt) + (size_t)(t)) * (size_t)repeat])
    for (long r = 0; r < repeat; r++) /* round robin: a noisy moment hits every point alike */
        for (int p = 0; p < NPLACES; p++)
            for (int t = 0; t < nt; t++)
                for (int k = 0; k < NKINDS; k++)
                    RES(p, k, t)[r] = p == ONE_CORE && threads[t] == 1 ? RES(SPREAD, k, t)[r]
                                      : run_once((enum kind)k, (enum place)p, threads[t], duration, (unsigned)spin);

    FILE *data = data_open(cli.data, "mutex_cost: lock+unlock cost, fairness and futex calls of five locks");
    static const char *const cols[] = {
        "threads (count)", "ns (ns): wall time / all pairs, median", "ns_p10 (ns)", "ns_p90 (ns)",
        "busiest (ratio): the busiest thread's pairs / an even share, median",
        "calls (count): futex system calls per million pairs, median (NaN: not counted)",
        "sleeps (count): voluntary context switches per million pairs, median", NULL,
    };
    printf("lock+unlock pairs on a shared counter: median of %ld runs of %.0f ms; " CORES_FMT "\n"
           "(busiest: the busiest thread's pairs over an even share; futex calls and sleeps\n"
           "per million pairs; futex calls are counted in the futex locks' code only)\n",
           repeat, (double)duration / 1e6, CORES_ARG(cores));
    for (int p = 0; p < NPLACES; p++) {
        printf("\n%s: %s\n", place_name[p], p == SPREAD ? "thread i on CPU i mod cores" : "every thread on CPU 0");
        printf("  %7s  %-16s %9s %9s %13s %11s\n", "threads", "lock", "ns/pair", "busiest", "futex calls/M", "sleeps/M");
        for (int k = 0; k < NKINDS; k++) {
            char block[96];
            snprintf(block, sizeof block, "%s, %s", kind_name[k], place_name[p]);
            data_block(data, block, cols);
            for (int t = 0; t < nt; t++) {
                struct result *r = RES(p, k, t);
                struct summary ns = over_repeats(r, repeat, NS);
                double busiest = over_repeats(r, repeat, BUSIEST).median;
                double calls = over_repeats(r, repeat, CALLS).median;
                double sleeps = over_repeats(r, repeat, SLEEPS).median;
                char c[32] = "-"; /* not counted */
                if (!isnan(calls))
                    snprintf(c, sizeof c, "%.0f", calls);
                printf("  %7d  %-16s %9.1f %9.2f %13s %11.0f\n", threads[t], kind_name[k], ns.median, busiest, c,
                       sleeps);
                data_row(data, "%d %.2f %.2f %.2f %.3f %.0f %.0f\n", threads[t], ns.median, ns.p10, ns.p90,
                         busiest, calls, sleeps);
            }
        }
    }
    /* the ratios the chapter's README reads, from this run: at the core count (or the
     * most threads below it) and at the most threads */
    int tc = 0, tm = nt - 1;
    while (tc < nt - 1 && threads[tc] < cores)
        tc++;
#define MEDIAN(p, k, t, f) over_repeats(RES(p, k, t), repeat, f).median
    printf("\nratios from this run:\n");
    printf("  1 thread, ns/pair: futex / pthread_mutex %s", ratio(MEDIAN(SPREAD, FUTEX, 0, NS), MEDIAN(SPREAD, PTHREAD, 0, NS)));
    printf(", naive futex / pthread_mutex %s\n", ratio(MEDIAN(SPREAD, NAIVE, 0, NS), MEDIAN(SPREAD, PTHREAD, 0, NS)));
    for (int p = 0; p < NPLACES; p++) {
        int t = p == SPREAD ? tc : tm;
        printf("  %d threads, %s, futex calls: naive / futex %s", threads[t], place_name[p],
               ratio(MEDIAN(p, NAIVE, t, CALLS), MEDIAN(p, FUTEX, t, CALLS)));
        printf(", naive / spinning %s\n", ratio(MEDIAN(p, NAIVE, t, CALLS), MEDIAN(p, FUTEX_SPIN, t, CALLS)));
    }
    printf("  spinlock, ns/pair: %d threads / %d threads, spread %s", threads[tm], threads[tc],
           ratio(MEDIAN(SPREAD, SPINLOCK, tm, NS), MEDIAN(SPREAD, SPINLOCK, tc, NS)));
    printf("; %d threads / 1 thread, one core %s\n", threads[tm],
           ratio(MEDIAN(ONE_CORE, SPINLOCK, tm, NS), MEDIAN(ONE_CORE, SPINLOCK, 0, NS)));
    printf("  %d threads, one core, ns/pair: spinlock / futex %s\n", threads[tm],
           ratio(MEDIAN(ONE_CORE, SPINLOCK, tm, NS), MEDIAN(ONE_CORE, FUTEX, tm, NS)));
#undef MEDIAN
#undef RES
    free(res);
    data_close(data);
    return 0;
}
