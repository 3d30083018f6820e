/* shared_value.c: processes adding to one shared counter, Python's Value and Array.
 *
 * Mirrors: the lesson's "processes don't share memory: use a Queue, a Pipe, or shared
 * memory (Value/Array)", and the counter every multiprocessing tutorial builds with
 * Value('i', 0).
 *
 * P processes, forked after the counter is made, each add 1 to it --iterations times,
 * four ways:
 *   lock=False       v.value += 1 on a RawValue: a load, an add, a store. Two processes
 *                    load the same number and one addition is lost. (A race between
 *                    processes: no sanitizer sees it, each instruments one process.
 *                    The loads and stores are relaxed atomics: well-defined C.)
 *   Value            the same line on Value('i', 0), Python's default lock=True. The
 *                    lock is taken for the load and again for the store, not across
 *                    both: updates are still lost, now at the price of two lock round
 *                    trips per addition.
 *   get_lock()       with v.get_lock(): v.value += 1. Exact. The load and the store take
 *                    the (recursive) lock again inside: three lock round trips.
 *   atomic add       one `lock xadd` instruction, exact; Python has no such call.
 * The processes wait at a start line in shared memory and leave it together
 * (together.c); each notes when it finished. "ns per addition" is the wall time from the start to the
 * last finish divided by all the additions, the median of --repeat runs run round
 * robin over the modes. The two ways without a lock do ten times --iterations: they
 * are that much faster, and a race that is over in a millisecond may never meet the
 * other process (a busy machine runs them one after the other).
 *
 * Then an Array: each process fills its own slice of Array('l', n). With disjoint
 * slices nothing is lost either way; the default lock (one for the whole array, taken
 * for every item) only costs time, and lock=False is the right call.
 *
 * With --data it also sweeps P from 1 to twice the cores, at most 64 (common.h's
 * sweep_next; past the cores a process holding the lock can be preempted, and the
 * others wait for it) and writes one block per mode: processes, ns per addition (median, p10, p90), % of updates lost (median).
 *
 * Run:  ./shared_value [--procs P] [--iterations 200000] [--repeat 3] [--data FILE]
 * Look for: "lost" above 0 for lock=False *and* for Value; exact totals for get_lock()
 * and the atomic add, and what each costs.
 * See also: ../04-thread/race.c (the same race between threads), sharedctypes.c.
 */
#include "sharedctypes.h"
#include "together.h"

#include <stdlib.h>
#include <unistd.h>

enum mode { RAW, VALUE, GET_LOCK, ATOMIC, NMODES };
static const char *const mode_name[NMODES] = { "lock=False", "Value (lock per access)", "with get_lock()",
                                               "atomic add" };
static const char *const mode_key[NMODES] = { "lock=False", "Value", "get_lock", "atomic" };
enum { MAX_PROCS = TOGETHER_MAX };

static void add_loop(enum mode m, struct value *v, long n)
{
    for (long i = 0; i < n; i++)
        switch (m) {
        case RAW:   /* v.value += 1 */
        case VALUE: /* the same line: the lock is inside get and inside set */
            value_set(v, value_get(v) + 1);
            break;
        case GET_LOCK:
            value_acquire(v);
            value_set(v, value_get(v) + 1);
            value_release(v);
            break;
        case ATOMIC:
            value_add_atomic(v, 1);
            break;
        case NMODES:
            break;
        }
}

struct run {
    long got;
    double ns_per_add;
};

struct add_job {
    enum mode m;
    struct value *v;
    long n;
};

static int add_body(int p, void *arg)
{
    (void)p;
    const struct add_job *j = arg;
    add_loop(j->m, j->v, j->n);
    return 0;
}

/* additions per process: ten times more for the fast ways, so every run lasts */
static long additions(enum mode m, long iterations)
{
    return m == RAW || m == ATOMIC ? 10 * iterations : iterations;
}

static struct run run_mode(enum mode m, int procs, long iterations)
{
    long n = additions(m, iterations);
    struct add_job j = { m, value_new(0, m != RAW), n };
    int64_t t = together(procs, NULL, add_body, &j, "an adder");
    struct run r = { value_get(j.v), (double)t / ((double)procs * (double)n) };
    value_free(j.v);
    return r;
}

struct fill_job {
    struct array *a;
    size_t per;
};

static int fill_body(int p, void *arg)
{
    const struct fill_job *j = arg;
    for (size_t i = (size_t)p * j->per; i < (size_t)(p + 1) * j->per; i++)
        array_set(j->a, i, (long)(i * i));
    return 0;
}

/* Array('l', procs * per): each process fills its slice; returns ns per item */
static double fill_array(int procs, size_t per, bool lock)
{
    struct fill_job j = { array_new((size_t)procs * per, lock), per };
    int64_t t = together(procs, NULL, fill_body, &j, "a filler");
    for (size_t i = 0; i < array_len(j.a); i++)
        if (array_obj(j.a)[i] != (long)(i * i))
            fatal("a[%zu] = %ld, expected %zu", i, array_obj(j.a)[i], i * i);
    array_free(j.a);
    return (double)t / (double)(procs * per);
}

static double lost_pct(long got, long expected)
{
    return 100.0 * (double)(expected - got) / (double)expected;
}

int main(int argc, char **argv)
{
    long cores = cpu_count();
    long procs = cores < 2 ? 2 : cores, iterations = 200000, repeat = 3;
    const struct cli_opt opts[] = {
        { "procs", CLI_INT, &procs, "processes adding to the counter (default: the cores, at least 2)", 1,
          MAX_PROCS, NULL, NULL },
        { "iterations", CLI_INT, &iterations, "additions per process with a lock (ten times more without)", 1,
          10000000, "20000", NULL },
        { "repeat", CLI_INT, &repeat, "runs per measurement (the median is reported)", 1, 101, "1", NULL },
        { 0 },
    };
    struct cli cli = { .measures = true };
    cli_parse(argc, argv, "Processes adding to one shared counter: lock=False, Value, get_lock(), atomic add;\n"
              "and an Array filled with and without its lock.", opts, &cli);

    printf("%ld processes each add 1 to one shared counter %ld times (%ld without a lock), " CORES_FMT "\n", procs,
           iterations, 10 * iterations, CORES_ARG(cores));
    printf("%-24s %12s %12s %8s %14s\n", "", "expected", "got", "lost", "ns per add");
    double ns[NMODES][101];
    struct run last[NMODES];
    for (long r = 0; r < repeat; r++) /* round robin: a slow spell falls on every mode */
        for (int m = 0; m < NMODES; m++) {
            last[m] = run_mode((enum mode)m, (int)procs, iterations);
            ns[m][r] = last[m].ns_per_add;
        }
    for (int m = 0; m < NMODES; m++) {
        long expected = procs * additions((enum mode)m, iterations);
        printf("%-24s %12ld %12ld %7.2f%% %14.1f\n", mode_name[m], expected, last[m].got,
               lost_pct(last[m].got, expected), summarize(ns[m], (size_t)repeat).median);
    }

    size_t per = (size_t)iterations;
    double locked = fill_array((int)procs, per, true), raw = fill_array((int)procs, per, false);
    printf("Array('l', %zu), each process fills its own slice of %zu: every item right; "
           "ns per item: %.1f with the array's lock, %.1f with lock=False (%.1fx)\n",
           (size_t)procs * per, per, locked, raw, locked / raw);

    if (!cli.data)
        return 0;
    FILE *f = data_open(cli.data, "shared_value: processes adding 1 to a shared counter, four ways");
    printf("\nsweep: ns per addition (median of %ld) and %% of updates lost, by processes\n%6s", repeat, "procs");
    for (int m = 0; m < NMODES; m++)
        printf(" %12s %7s", mode_key[m], "lost");
    printf("\n");
    long max_procs = 2 * cores < MAX_PROCS ? 2 * cores : MAX_PROCS;
    double res[MAX_PROCS + 1][NMODES][4];
    for (long p = 1; p <= max_procs; p = sweep_next((int)p, (int)cores, (int)max_procs)) {
        double lost[NMODES][101];
        for (long r = 0; r < repeat; r++)
            for (int m = 0; m < NMODES; m++) {
                struct run x = run_mode((enum mode)m, (int)p, iterations);
                ns[m][r] = x.ns_per_add;
                lost[m][r] = lost_pct(x.got, p * additions((enum mode)m, iterations));
            }
        printf("%6ld", p);
        for (int m = 0; m < NMODES; m++) {
            struct summary s = summarize(ns[m], (size_t)repeat);
            double l = summarize(lost[m], (size_t)repeat).median;
            res[p][m][0] = s.median, res[p][m][1] = s.p10, res[p][m][2] = s.p90, res[p][m][3] = l;
            printf(" %12.1f %6.1f%%", s.median, l);
        }
        printf("\n");
    }
    static const char *const cols[] = { "procs: processes adding at once",
                                        "ns_median (ns): wall time / all additions, median",
                                        "ns_p10 (ns): 10th percentile", "ns_p90 (ns): 90th percentile",
                                        "lost (%): updates lost, median", NULL };
    for (int m = 0; m < NMODES; m++) {
        data_block(f, mode_key[m], cols);
        for (long p = 1; p <= max_procs; p = sweep_next((int)p, (int)cores, (int)max_procs))
            data_row(f, "%ld %.2f %.2f %.2f %.3f\n", p, res[p][m][0], res[p][m][1], res[p][m][2], res[p][m][3]);
    }
    data_close(f);
    return 0;
}
