/* sharing_cost.c: what one shared word costs once no lock is around everything.
 *
 * Mirrors: the question under "why did CPython have a GIL at all?". With one lock
 * around the interpreter, a counter is a plain add. Take the lock away and every word
 * that two threads touch becomes a question for the hardware: who has the cache line,
 * in what order do the stores become visible. This program asks it both questions.
 *
 * Part 1, the price of an increment: each of T = 1..--max-threads threads adds 1 to a
 * word --incs times, seven ways:
 *   plain, own line       a load and a store (what `x++` compiles to) on a word of its
 *                         own, 128 bytes from the next thread's
 *   plain, shared line    each thread its own word, but all words in one cache line:
 *                         FALSE SHARING, nothing is shared but the line moves anyway
 *   atomic, own line      a locked add (`lock xadd` on x86), relaxed order
 *   atomic, shared line   locked adds to own words in one line (false sharing again)
 *   atomic, one word      every thread adds to the same word: exact, and the line
 *                         travels between cores at every add
 *   seq_cst, one word     the same with memory_order_seq_cst (on x86 the same
 *                         instruction: a locked add is a full barrier already)
 *   plain, one word       load and store to one word from all threads: fast, and it
 *                         loses updates (the count comes out short). Written with
 *                         relaxed atomic loads and stores, so it is not undefined
 *                         behaviour, only wrong: the lost update of chapter 04.
 * Reported: ns per increment per thread (flat as T grows = no interference).
 *
 * Part 2, the order of stores (the store-buffer litmus test): two threads, x = y = 0,
 *     thread 1:  x = 1; r1 = y;          thread 2:  y = 1; r2 = x;
 * Interleave them any way you like: at least one of r1, r2 is 1. Yet on x86 (and ARM)
 * r1 = r2 = 0 happens: each core's store waits in its store buffer while its load
 * goes ahead. A fence between the store and the load (mfence), or seq_cst accesses,
 * forbid it. --trials trials each way, the two threads lined up before every trial.
 * If the outcome is never seen (one core, valgrind or a sanitizer serialising the
 * threads, or simply too few trials) the program says so.
 *
 * Run:  ./sharing_cost [--incs 2000000] [--max-threads N] [--repeat 3] [--trials 200000]
 * Look for: the shared-line and one-word columns growing with T while the own-line
 * ones stay flat; r1 = r2 = 0 in a fraction of the trials without a fence, never with.
 * See also: refcount.c (the same costs, for reference counts), ../04-thread/race.c.
 */
#include "team.h"

#include <sched.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

enum way { PLAIN_OWN, PLAIN_LINE, ATOMIC_OWN, ATOMIC_LINE, ATOMIC_ONE, SEQCST_ONE, PLAIN_ONE, NWAYS };
static const char *const way_name[NWAYS] = {
    "plain own", "plain line", "atomic own", "atomic line", "atomic one", "seq_cst one", "plain one",
};

static struct { alignas(128) atomic_long w; } g_padded[TEAM_MAX]; /* own line each */
static alignas(64) atomic_long g_packed[8];                        /* 8 words, one line */
static alignas(128) atomic_long g_one;

struct incs { enum way way; long n; };

static void inc_body(int i, void *arg)
{
    const struct incs *a = arg;
    atomic_long *w = a->way == PLAIN_OWN || a->way == ATOMIC_OWN ? &g_padded[i].w
                   : a->way == PLAIN_LINE || a->way == ATOMIC_LINE ? &g_packed[i % 8] : &g_one;
    long n = a->n;
    switch (a->way) {
    case PLAIN_OWN: case PLAIN_LINE: case PLAIN_ONE:
        for (long k = 0; k < n; k++) /* x++: load, add, store (no lock prefix) */
            atomic_store_explicit(w, atomic_load_explicit(w, memory_order_relaxed) + 1, memory_order_relaxed);
        break;
    case SEQCST_ONE:
        for (long k = 0; k < n; k++)
            atomic_fetch_add_explicit(w, 1, memory_order_seq_cst);
        break;
    default:
        for (long k = 0; k < n; k++)
            atomic_fetch_add_explicit(w, 1, memory_order_relaxed);
    }
}

/* ---- the litmus test ---- */
enum order { NO_FENCE, FENCE, SEQ_CST, NORDERS };
static const char *const order_name[NORDERS] = { "no fence", "mfence between", "seq_cst store, load" };

struct litmus {
    enum order order;
    long trials;
    atomic_int *x, *y;       /* fresh variables for every trial: nothing to reset */
    unsigned char *r1, *r2;
    atomic_long arrived;     /* a counting barrier: 2 per trial */
};

static void litmus_body(int i, void *arg)
{
    struct litmus *l = arg;
    atomic_int *mine = i == 0 ? l->x : l->y, *theirs = i == 0 ? l->y : l->x;
    unsigned char *r = i == 0 ? l->r1 : l->r2;
    uint64_t rng = (uint64_t)i + 1;
    for (long t = 0; t < l->trials; t++) {
        atomic_fetch_add(&l->arrived, 1);
        for (int spins = 0; atomic_load_explicit(&l->arrived, memory_order_acquire) < 2 * (t + 1);)
            if (++spins % 1024 == 0)
                sched_yield(); /* on one core, or under valgrind: let the other thread run */
        for (int d = (int)(random_next(&rng) % 8); d > 0; d--) /* a jitter of a few ns */
            atomic_signal_fence(memory_order_seq_cst);
#if defined(WB_TSAN)
        const bool seq = l->order != NO_FENCE; /* GCC's ThreadSanitizer has no fences: seq_cst instead */
#else
        const bool seq = l->order == SEQ_CST;
#endif
        if (seq) {
            atomic_store(&mine[t], 1);
            r[t] = (unsigned char)atomic_load(&theirs[t]);
        } else {
            atomic_store_explicit(&mine[t], 1, memory_order_relaxed);
            if (l->order == FENCE)
                atomic_thread_fence(memory_order_seq_cst);
            r[t] = (unsigned char)atomic_load_explicit(&theirs[t], memory_order_relaxed);
        }
    }
}

static long litmus_run(enum order order, long trials)
{
    struct litmus l = { .order = order, .trials = trials };
    l.x = calloc((size_t)trials, sizeof *l.x);
    l.y = calloc((size_t)trials, sizeof *l.y);
    l.r1 = calloc((size_t)trials, 1);
    l.r2 = calloc((size_t)trials, 1);
    if (!l.x || !l.y || !l.r1 || !l.r2)
        die("calloc");
    atomic_init(&l.arrived, 0);
    team_run(2, litmus_body, &l);
    long both0 = 0;
    for (long t = 0; t < trials; t++)
        both0 += l.r1[t] == 0 && l.r2[t] == 0;
    free(l.x), free(l.y), free(l.r1), free(l.r2);
    return both0;
}

int main(int argc, char **argv)
{
    long cores = cpu_count();
    long incs = 2000000, max_threads = cores < 2 ? 2 : cores > TEAM_MAX ? TEAM_MAX : cores, repeat = 3, trials = 200000;
    const struct cli_opt opts[] = {
        { "incs", CLI_INT, &incs, "increments per thread and run", 1000, 1000000000, "100000", NULL },
        { "max-threads", CLI_INT, &max_threads, "largest number of threads (default: the cores)", 1, TEAM_MAX, NULL, NULL },
        { "repeat", CLI_INT, &repeat, "runs of each (the median is kept)", 1, 1000, "1", NULL },
        { "trials", CLI_INT, &trials, "litmus trials per ordering", 100, 100000000, "5000", NULL },
        { 0 },
    };
    struct cli cli = { .measures = true };
    cli_parse(argc, argv, "The cost of a shared word (true and false sharing) and the store-buffer litmus test.",
              opts, &cli);

    size_t nt = (size_t)max_threads, nr = (size_t)repeat;
    double *ns = calloc((size_t)NWAYS * nt * nr, sizeof *ns), med[NWAYS][TEAM_MAX];
    double lost[TEAM_MAX] = { 0 };
    if (!ns)
        die("calloc");
    for (size_t r = 0; r < nr; r++)
        for (int t = 1; t <= (int)nt; t = sweep_next(t, (int)cores, (int)nt))
            for (int w = 0; w < NWAYS; w++) {
                struct incs a = { (enum way)w, incs };
                atomic_store(&g_one, 0);
                int64_t wall = team_run(t, inc_body, &a);
                ns[((size_t)w * nt + (size_t)t - 1) * nr + r] = (double)wall / (double)incs;
                long got = atomic_load(&g_one), want = (long)t * incs;
                if ((w == ATOMIC_ONE || w == SEQCST_ONE) && got != want)
                    fatal("%s: %ld increments counted, %ld made", way_name[w], got, want);
                if (w == PLAIN_ONE)
                    lost[t - 1] += 100.0 * (double)(want - got) / (double)want / (double)nr;
            }

    printf("part 1: ns per increment, per thread; %ld increments per thread, " CORES_FMT ", median of %ld runs\n  %7s",
           incs, CORES_ARG(cores), repeat, "threads");
    for (int w = 0; w < NWAYS; w++)
        printf(" %12s", way_name[w]);
    printf(" %12s\n", "lost (plain one)");
    for (int t = 1; t <= (int)nt; t = sweep_next(t, (int)cores, (int)nt)) {
        printf("  %7d", t);
        for (int w = 0; w < NWAYS; w++) {
            med[w][t - 1] = summarize(&ns[((size_t)w * nt + (size_t)t - 1) * nr], nr).median;
            printf(" %12.2f", med[w][t - 1]);
        }
        printf(" %11.1f%%\n", lost[t - 1]);
    }
    printf("one thread: a locked add costs %.1fx a plain one\n", med[ATOMIC_OWN][0] / med[PLAIN_OWN][0]);

    printf("part 2: the store-buffer litmus test, %ld trials each (x = 1; r1 = y  ||  y = 1; r2 = x)\n", trials);
    long both0[NORDERS];
    for (int o = 0; o < NORDERS; o++) {
        both0[o] = litmus_run((enum order)o, trials);
        printf("  %-22s r1 = r2 = 0 in %8ld of %ld trials (%.3f%%)\n", order_name[o], both0[o], trials,
               100.0 * (double)both0[o] / (double)trials);
    }
    if (both0[NO_FENCE] > 0)
        printf("without a fence each core's load overtook its own store (the store buffer); with one, never\n");
    else
        printf("r1 = r2 = 0 was not seen without a fence in this run (" CORES_FMT "%s): the threads never overlapped "
               "closely enough; try more --trials, on two or more idle cores\n", CORES_ARG(cores),
#if defined(WB_TSAN)
               ", ThreadSanitizer runs the threads one at a time"
#else
               ""
#endif
        );
    if (both0[FENCE] > 0 || both0[SEQ_CST] > 0)
        fatal("r1 = r2 = 0 with a fence or seq_cst: the hardware or the compiler broke its promise");

    FILE *data = data_open(cli.data, "sharing_cost: ns per increment, true and false sharing; the litmus test");
    static const char *const cols[] = {
        "threads (count)", "plain_own (ns)", "plain_line (ns): false sharing", "atomic_own (ns)",
        "atomic_line (ns): false sharing", "atomic_one (ns): one word", "seqcst_one (ns)",
        "plain_one (ns): lossy", "lost (%): plain_one's lost updates", "cores (count)", NULL,
    };
    data_block(data, "ns per increment vs threads", cols);
    for (int t = 1; t <= (int)nt; t = sweep_next(t, (int)cores, (int)nt)) {
        data_row(data, "%d", t);
        for (int w = 0; w < NWAYS; w++)
            data_row(data, " %.3f", med[w][t - 1]);
        data_row(data, " %.2f %ld\n", lost[t - 1], cores);
    }
    static const char *const lcols[] = {
        "order (index): 0 no fence, 1 mfence, 2 seq_cst", "both0 (count): trials with r1 = r2 = 0",
        "trials (count)", "percent (%)", NULL,
    };
    data_block(data, "store-buffer litmus test", lcols);
    for (int o = 0; o < NORDERS; o++)
        data_row(data, "%d %ld %ld %.4f\n", o, both0[o], trials, 100.0 * (double)both0[o] / (double)trials);
    data_close(data);
    free(ns);
    return 0;
}
