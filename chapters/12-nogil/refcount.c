/* refcount.c: what one incref+decref costs, four ways, from 1 thread to every core.
 *
 * Mirrors: nothing you write in Python, and everything it runs. Every time Python code
 * names an object (`x = y`, a call, a loop variable) CPython adds 1 to the object's
 * reference count and later takes 1 away: Py_INCREF and Py_DECREF, hundreds of millions
 * of times a second. Under the GIL they are a plain add. Without it they must be
 * something else, and this is the first price of removing the GIL (PEP 703).
 *
 * Each thread does --pairs incref+decref pairs on one object, six ways (refcnt.h):
 *   plain, own object       the GIL build's `ob_refcnt++`; safe: nobody else touches it
 *   atomic, own object      a `lock xadd` each time, though nobody else touches it
 *   atomic, shared object   every thread on one object (think of None, or a function
 *                           every thread calls): the cache line moves from core to core
 *   biased, own object      PEP 703: the owner's plain add, after one check of ob_tid
 *   biased, shared object   non-owners of one object: the atomic shared count
 *   immortal, shared object one load and a comparison; nothing is written
 * and with --race a seventh: plain, shared object, the GIL build's count with no GIL:
 * A DELIBERATE DATA RACE. It loses updates (the count ends wrong: the object would be
 * freed while in use, or never), and ThreadSanitizer reports it.
 * After each run every count must be back where it started (1), except the racy one.
 *
 * Run:  ./refcount [--pairs 2000000] [--max-threads N] [--repeat 3] [--race] [--data FILE]
 * Look for: atomic vs plain on one thread (the cost of a lock prefix, paid even with no
 * other thread around), the shared columns growing with threads (one cache line
 * bouncing between cores), biased and immortal staying near plain.
 * See also: sharing_cost.c (the hardware underneath), nogil_interp.c (in an interpreter).
 */
#include "refcnt.h"
#include "team.h"

#include <stdlib.h>
#include <unistd.h>

enum way { PLAIN_OWN, ATOMIC_OWN, ATOMIC_SHARED, BIASED_OWN, BIASED_SHARED, IMMORTAL, PLAIN_SHARED, NWAYS };
static const char *const way_name[NWAYS] = {
    "plain own", "atomic own", "atomic shared", "biased own", "biased shared", "immortal", "plain shared",
};

static void no_dealloc(struct rc_obj *o)
{
    fatal("object %p freed: a count reached 0 that should not have", (void *)o);
}

/* The racy count reaches 0 while both threads still hold a reference: CPython would
 * free the object under them. Here it is only counted. */
static atomic_long g_early_frees;
static void early_free(struct rc_obj *o)
{
    (void)o;
    atomic_fetch_add(&g_early_frees, 1);
}

struct run {
    enum way way;
    long pairs;
    struct rc_obj *shared;     /* for the shared ways */
    struct rc_obj own[TEAM_MAX];
};

/* One thread's loop. The signal fence is a compiler barrier only (no instruction): it
 * stops the compiler from cancelling each incref against its decref, as the code an
 * interpreter runs between the two would. */
static void body(int i, void *arg)
{
    struct run *r = arg;
    struct rc_thread me;
    rc_thread_init(&me);
    struct rc_obj *own = &r->own[i], *sh = r->shared;
    rc_init(own, &me, no_dealloc, NULL);
    long n = r->pairs;
#define LOOP(INC, DEC)                                                                      \
    for (long k = 0; k < n; k++) {                                                          \
        INC;                                                                                \
        atomic_signal_fence(memory_order_seq_cst);                                          \
        DEC;                                                                                \
    }
    switch (r->way) {
    case PLAIN_OWN: LOOP(plain_incref(own), plain_decref(own)); break;
    case ATOMIC_OWN: LOOP(atomic_incref(own), atomic_decref(own)); break;
    case ATOMIC_SHARED: LOOP(atomic_incref(sh), atomic_decref(sh)); break;
    case BIASED_OWN: LOOP(brc_incref(own, &me), brc_decref(own, &me)); break;
    case BIASED_SHARED:
    case IMMORTAL: LOOP(brc_incref(sh, &me), brc_decref(sh, &me)); break;
    default: LOOP(plain_incref(sh), plain_decref(sh)); break; /* the race */
    }
    long left = r->way == PLAIN_OWN ? own->plain
              : r->way == ATOMIC_OWN ? atomic_load(&own->count)
              : r->way == BIASED_OWN ? (long)rc_biased_count(own) : 1;
    if (left != 1)
        fatal("%s: thread %d's own object ended with count %ld, not 1", way_name[r->way], i, left);
    rc_thread_exit(&me);
}

int main(int argc, char **argv)
{
    long cores = cpu_count();
    long pairs = 2000000, max_threads = cores < 2 ? 2 : cores > TEAM_MAX ? TEAM_MAX : cores, repeat = 3;
    bool race = false;
    const struct cli_opt opts[] = {
        { "pairs", CLI_INT, &pairs, "incref+decref pairs per thread and run", 1000, 1000000000, "100000", NULL },
        { "max-threads", CLI_INT, &max_threads, "largest number of threads (default: the cores)", 1, TEAM_MAX, NULL, NULL },
        { "repeat", CLI_INT, &repeat, "runs of each (the median is kept)", 1, 1000, "1", NULL },
        { "race", CLI_FLAG, &race, "also run the plain count on a shared object (a deliberate data race)", 0, 0, NULL, NULL },
        { 0 },
    };
    struct cli cli = { .measures = true };
    cli_parse(argc, argv, "ns per incref+decref: plain, atomic, biased (PEP 703), immortal; 1..N threads.", opts, &cli);

    int nways = race ? NWAYS : NWAYS - 1;
    size_t nt = (size_t)max_threads, nr = (size_t)repeat;
    double *ns = calloc((size_t)NWAYS * nt * nr, sizeof *ns), med[NWAYS][TEAM_MAX];
    long lost[TEAM_MAX] = { 0 };
    struct run *r = aligned_alloc(64, sizeof *r);
    if (!ns || !r)
        die("malloc");
    struct rc_thread main_thread; /* owns the shared object, and never touches it */
    rc_thread_init(&main_thread);
    struct rc_obj shared;

    for (size_t rep = 0; rep < nr; rep++) {
        for (int t = 1; t <= (int)nt; t = sweep_next(t, (int)cores, (int)nt)) {
            for (int w = 0; w < nways; w++) {
                rc_init(&shared, &main_thread, w == PLAIN_SHARED ? early_free : no_dealloc, NULL);
                if (w == IMMORTAL)
                    rc_make_immortal(&shared);
                r->way = (enum way)w;
                r->pairs = pairs;
                r->shared = &shared;
                int64_t wall = team_run(t, body, r);
                ns[((size_t)w * nt + (size_t)t - 1) * nr + rep] = (double)wall / (double)pairs;
                long left = w == ATOMIC_SHARED ? atomic_load(&shared.count)
                          : w == BIASED_SHARED ? (long)rc_biased_count(&shared)
                          : w == PLAIN_SHARED ? shared.plain : 1;
                if (w == PLAIN_SHARED)
                    lost[t - 1] += labs(left - 1);
                else if (left != 1)
                    fatal("%s with %d threads: the shared count ended at %ld, not 1", way_name[w], t, left);
                if (w == IMMORTAL && !rc_is_immortal(&shared))
                    fatal("the immortal object's count was written");
            }
        }
    }
    rc_thread_exit(&main_thread);

    printf("ns per incref+decref pair, per thread (flat as threads grow = it scales); %ld pairs per thread, "
           CORES_FMT ", median of %ld runs\n  %7s", pairs, CORES_ARG(cores), repeat, "threads");
    for (int w = 0; w < nways; w++)
        printf(" %14s", way_name[w]);
    printf("\n");
    for (int t = 1; t <= (int)nt; t = sweep_next(t, (int)cores, (int)nt)) {
        printf("  %7d", t);
        for (int w = 0; w < nways; w++) {
            med[w][t - 1] = summarize(&ns[((size_t)w * nt + (size_t)t - 1) * nr], nr).median;
            printf(" %14.2f", med[w][t - 1]);
        }
        printf("\n");
    }
    printf("one thread, against plain: atomic %.1fx, biased %.1fx, immortal %.1fx\n",
           med[ATOMIC_OWN][0] / med[PLAIN_OWN][0], med[BIASED_OWN][0] / med[PLAIN_OWN][0],
           med[IMMORTAL][0] / med[PLAIN_OWN][0]);
    if (nt >= 2)
        printf("%zu threads on one object, against each on its own: atomic %.1fx, biased (non-owners) %.1fx\n", nt,
               med[ATOMIC_SHARED][nt - 1] / med[ATOMIC_OWN][nt - 1], med[BIASED_SHARED][nt - 1] / med[BIASED_OWN][nt - 1]);
    printf("every count came back to 1 (the immortal one was never written)\n");
    if (race) {
        for (int t = 1; t <= (int)nt; t = sweep_next(t, (int)cores, (int)nt))
            printf("plain count on a shared object, %d thread%s: ended %ld away from 1 over %ld runs%s\n", t,
                   t > 1 ? "s" : "", lost[t - 1], repeat, t > 1 ? " (the race)" : "");
        printf("plain count on a shared object: it reached 0 %ld times while every thread still held a reference "
               "(the object would have been freed in use)\n", atomic_load(&g_early_frees));
    }

    FILE *data = data_open(cli.data, "refcount: ns per incref+decref pair, per thread, four kinds of count");
    static const char *const cols[] = {
        "threads (count)", "plain_own (ns): the GIL build's count, each thread its own object",
        "atomic_own (ns)", "atomic_shared (ns): every thread on one object",
        "biased_own (ns): the owner's path", "biased_shared (ns): non-owners, one object",
        "immortal (ns): one immortal object", "plain_shared (ns): the race (NaN when not run)",
        "cores (count)", NULL,
    };
    data_block(data, "cost per pair vs threads", cols);
    for (int t = 1; t <= (int)nt; t = sweep_next(t, (int)cores, (int)nt)) {
        data_row(data, "%d", t);
        for (int w = 0; w < NWAYS; w++) {
            if (w < nways)
                data_row(data, " %.3f", med[w][t - 1]);
            else
                data_row(data, " NaN");
        }
        data_row(data, " %ld\n", cores);
    }
    data_close(data);
    free(ns);
    free(r);
    return 0;
}
