/* solutions/deferred.c: exercise 2 of chapter 12. Biased counting does nothing for an
 * object every thread uses, unless it is immortal; PEP 703's third technique, deferred
 * reference counting, covers the objects that must stay able to die.
 *
 * Every tick (chapter 08's gil_work) pushes and pops one shared object on the thread's
 * stack, as an interpreter does with a module-level function it calls in a loop. The
 * object was made by the main thread, so the workers are never its owner. Three ways:
 *   biased     the push increfs and the pop decrefs: non-owners, so an atomic add on
 *              the shared count, one cache line written by every thread
 *   deferred   the object is marked deferred and the interpreter skips the counting for
 *              stack references (CPython sets the top bits of ob_ref_local). Its count
 *              no longer says who holds it: only a collector that stops the world and
 *              scans every thread's stack may decide it is garbage. Here the main
 *              thread frees it after the workers have ended (their stacks are empty)
 *   immortal   never counted, never freed
 * A fixed job is split over 1..--max-threads threads; each way's speed-up is over its
 * own one-thread time.
 *
 * Run:  ./solutions/deferred [--work 0.6*cores] [--max-threads cores] [--repeat 3]
 * Look for: biased stuck near 1x (or below) while deferred and immortal follow the
 * cores; the deferred object freed exactly once, at the end.
 * See also: nogil_interp.c --mortal (the same effect inside the three builds).
 */
#include "refcnt.h"
#include "team.h"
#include "../08-gil/gil.h"

#include <stdlib.h>
#include <unistd.h>

enum way { BIASED, DEFERRED, IMMORTAL, NWAYS };
static const char *const way_name[NWAYS] = { "biased", "deferred", "immortal" };

static atomic_int g_frees;
static void count_free(struct rc_obj *o)
{
    (void)o;
    atomic_fetch_add(&g_frees, 1);
}

struct job {
    enum way way;
    struct rc_obj *func;
    uint64_t n;
    int threads;
    uint64_t sums[TEAM_MAX];
};

/* The interpreter's stack push and pop: counted unless the object is deferred. */
static inline void push(struct rc_obj *o, bool deferred, const struct rc_thread *me)
{
    if (!deferred)
        brc_incref(o, me);
}
static inline void pop(struct rc_obj *o, bool deferred, const struct rc_thread *me)
{
    if (!deferred)
        brc_decref(o, me);
}

static void body(int i, void *arg)
{
    struct job *j = arg;
    struct rc_thread me;
    rc_thread_init(&me);
    bool deferred = j->way == DEFERRED;
    uint64_t sum = 0, from = j->n * (uint64_t)i / (uint64_t)j->threads, to = j->n * (uint64_t)(i + 1) / (uint64_t)j->threads;
    for (uint64_t k = from; k < to; k++) {
        push(j->func, deferred, &me);
        sum += gil_work(k);
        pop(j->func, deferred, &me);
    }
    j->sums[i] = sum;
    rc_thread_exit(&me);
}

int main(int argc, char **argv)
{
    long cores = cpu_count();
    double work_m = 0.6 * (double)cores;
    long max_threads = cores < 2 ? 2 : cores > TEAM_MAX ? TEAM_MAX : cores, repeat = 3;
    const struct cli_opt opts[] = {
        { "work", CLI_REAL, &work_m, "the job, in millions of ticks", 0.01, 1000, "0.1", NULL },
        { "max-threads", CLI_INT, &max_threads, "largest number of threads (default: the cores)", 1, TEAM_MAX, NULL, NULL },
        { "repeat", CLI_INT, &repeat, "runs of each (the median is kept)", 1, 1000, "1", NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "A shared function object: biased, deferred and immortal counting, 1..N threads.", opts, &cli);

    struct rc_thread main_thread;
    rc_thread_init(&main_thread);
    uint64_t n = (uint64_t)(work_m * 1e6);
    double ms[NWAYS][TEAM_MAX], v[1000];
    printf("  %7s %12s %12s %12s | %9s %9s %9s\n", "threads", "biased ms", "deferred ms", "immortal ms", "biased x",
           "deferred x", "immortal x");
    for (int t = 1; t <= (int)max_threads; t++) {
        for (int w = 0; w < NWAYS; w++) {
            for (long r = 0; r < repeat; r++) {
                struct rc_obj func;
                atomic_store(&g_frees, 0);
                rc_init(&func, &main_thread, count_free, NULL);
                if (w == IMMORTAL)
                    rc_make_immortal(&func);
                struct job *j = calloc(1, sizeof *j);
                if (!j)
                    die("calloc");
                *j = (struct job){ .way = (enum way)w, .func = &func, .n = n, .threads = t };
                v[r] = (double)team_run(t, body, j) / 1e6;
                free(j);
                /* the "collector": every stack is empty now, so the owner's reference is the
                 * only one left, whatever the count says */
                if (w != IMMORTAL)
                    brc_decref(&func, &main_thread);
                if (atomic_load(&g_frees) != (w == IMMORTAL ? 0 : 1))
                    fatal("%s: the object was freed %d times", way_name[w], atomic_load(&g_frees));
            }
            ms[w][t - 1] = summarize(v, (size_t)repeat).median;
        }
        printf("  %7d %12.1f %12.1f %12.1f | %8.2fx %8.2fx %8.2fx\n", t, ms[0][t - 1], ms[1][t - 1], ms[2][t - 1],
               ms[0][0] / ms[0][t - 1], ms[1][0] / ms[1][t - 1], ms[2][0] / ms[2][t - 1]);
    }
    printf("the biased and deferred objects were each freed exactly once, the immortal one never\n");
    rc_thread_exit(&main_thread);
    return 0;
}
