/* gil_retake.c: what forced switching is for: the GIL handed over, or taken back.
 *
 * Mirrors: two CPU-bound Python threads (`while True: x += 1`) under the new GIL. The
 * lessons say the GIL switches every interval. It does so only because CPython forces
 * it: a thread that drops the GIL on request waits until another thread has taken it
 * (FORCE_SWITCHING in CPython's source). Without that wait, the dropper, already
 * running, takes the GIL straight back while the waiter is still waking up; the waiter
 * finds it locked again and must wait a whole new interval before it may ask again.
 *
 * What it does: two threads run ticks with a check point after each, for --duration,
 * three times:
 *   gil_simple.c       the GIL of gil_simple.c: take, drop, interval, drop request
 *   gil.c, no forcing  gil.c with FORCE_SWITCHING off: the same algorithm, to show that
 *                      forcing is the difference, not the rest of gil.c
 *   gil.c              gil.c as CPython has it, with FORCE_SWITCHING
 * Each thread writes its id into a variable after every tick (it holds the GIL then),
 * and looks at it when a check point has dropped the GIL on request and taken it back:
 * its own id means nobody ran in between, a re-take; another means a hand-over, and
 * the time from the drop to the re-take was a wait. The table gives, per run: the
 * drops on request, the hand-overs, hand-overs per drop, the re-takes, and the waits'
 * median and longest, in ms and in intervals. Each run is bounded by --duration,
 * starvation or not; --repeat rounds go round robin over the three, and the table gives
 * medians. The threads run on a core each (--cpus spread), as on an idle machine with
 * two cores; --cpus one puts both on CPU 0, where the kernel's scheduler decides: it
 * runs the waiter the moment the dropper signals it, and the race is gone.
 *
 * Run:  ./gil_retake [--interval 5ms] [--duration 500ms] [--repeat 3] [--cpus spread]
 * Look for: 1.00 hand-over per drop and waits of about one interval with forcing;
 * re-takes, fewer hand-overs, and waits of many intervals without it.
 * See also: gil_simple.c, gil.c (step 4), gil_timeline --no-force.
 */
#include "gil_simple.h"
#include "gil_workload.h" /* gil.h, and place(): which CPU a thread runs on */

#include <stdlib.h>
#include <string.h>

enum { SIMPLE, FULL_NO_FORCE, FULL, NRUNS };
static const char *const run_name[NRUNS] = { "gil_simple.c", "gil.c, no forcing", "gil.c (FORCE_SWITCHING)" };

struct runner {
    int id, run, cpu;    /* cpu: where to pin the thread, or -1 */
    pthread_t th;
    struct gil_thread t; /* gil.c's view of the thread */
    double *waits;       /* ms from a drop on request to the re-take, after a hand-over */
    size_t nwaits, cap;
    unsigned long drops, retakes;
    uint64_t ticks, sum;
};

static struct gil g_full;
static struct gil_simple g_simple;
static atomic_bool g_stop;
static int g_last = -1; /* the thread that ran the last tick: read and written only with the GIL */

static void take(struct runner *r)
{
    if (r->run == SIMPLE)
        gil_simple_take(&g_simple, r->id);
    else
        gil_take(&r->t, GIL_START);
}

/* The check point after a tick. We look at the very flag the check point tests
 * (gil.c's check tests eval_breaker, which is set just after drop_request: reading
 * drop_request here could see a request the check does not see yet). Once set, it
 * stays set while we hold the GIL (only a taker clears it), so when we see it the
 * check will drop and re-take. */
static void check(struct runner *r)
{
    atomic_int *request = r->run == SIMPLE ? &g_simple.drop_request : &g_full.eval_breaker;
    if (!atomic_load_explicit(request, memory_order_relaxed)) {
        if (r->run == SIMPLE) /* nothing to do: the same one load the real check makes */
            gil_simple_check(&g_simple, r->id);
        else
            gil_check(&r->t);
        return;
    }
    int64_t dropped = now_ns();
    if (r->run == SIMPLE)
        gil_simple_check(&g_simple, r->id);
    else
        gil_check(&r->t);
    r->drops++;
    if (g_last == r->id)
        r->retakes++; /* nobody ran a tick while we were without it */
    else if (r->nwaits < r->cap)
        r->waits[r->nwaits++] = (double)(now_ns() - dropped) / 1e6;
    g_last = r->id;
}

static void *run_main(void *arg)
{
    struct runner *r = arg;
    if (r->cpu >= 0)
        pin_to_cpu(r->cpu);
    take(r);
    g_last = r->id; /* it holds the GIL now, even if the run ends before its first tick */
    while (!atomic_load_explicit(&g_stop, memory_order_relaxed)) {
        for (int k = 0; k < 64; k++, r->ticks++) {
            r->sum += gil_work(r->ticks);
            g_last = r->id;
            check(r);
        }
    }
    if (r->run == SIMPLE)
        gil_simple_drop(&g_simple);
    else
        gil_exit(&r->t);
    return NULL;
}

/* one run of the two threads for `duration` on GIL `run`: the row's numbers */
struct row {
    double drops, handovers, retakes, median_ms, longest_ms;
};

static struct row measure(int run, int64_t interval, int64_t duration, int placement)
{
    if (run == SIMPLE)
        gil_simple_init(&g_simple, interval);
    else
        gil_init(&g_full, &(struct gil_config){ .mode = GIL_NEW, .interval_ns = interval,
                                                 .no_force = run == FULL_NO_FORCE });
    atomic_store(&g_stop, false);
    g_last = -1;
    struct runner r[2];
    size_t cap = (size_t)(4 * duration / interval) + 16;
    double *waits = malloc(2 * cap * sizeof *waits); /* ms: the first half for thread 0 */
    if (!waits)
        die("malloc");
    for (int i = 0; i < 2; i++) {
        r[i] = (struct runner){ .id = i, .run = run, .cpu = place(placement, i == 1), .waits = waits + (size_t)i * cap,
                                .cap = cap };
        if (run != SIMPLE)
            gil_thread_init(&r[i].t, &g_full, i ? "two" : "one");
    }
    for (int i = 0; i < 2; i++)
        CHECK_PT(pthread_create(&r[i].th, NULL, run_main, &r[i]));
    sleep_ns(duration);
    atomic_store(&g_stop, true);
    for (int i = 0; i < 2; i++)
        CHECK_PT(pthread_join(r[i].th, NULL));
    if (run == SIMPLE)
        gil_simple_destroy(&g_simple);
    else
        gil_destroy(&g_full);
    if (r[0].sum + r[1].sum == 42) /* keep the work: the sums are used */
        printf("(an unlikely sum)\n");

    struct row row = { .drops = (double)(r[0].drops + r[1].drops), .retakes = (double)(r[0].retakes + r[1].retakes) };
    row.handovers = row.drops - row.retakes;
    memmove(waits + r[0].nwaits, waits + cap, r[1].nwaits * sizeof *waits); /* side by side */
    size_t n = r[0].nwaits + r[1].nwaits;
    if (n > 0) {
        struct summary w = summarize(waits, n);
        row.median_ms = w.median;
        row.longest_ms = w.max;
    }
    free(waits);
    return row;
}

int main(int argc, char **argv)
{
    int64_t interval = 5 * NS_PER_MS, duration = 500 * NS_PER_MS;
    long repeat = 3;
    int placement = CPU_SPREAD;
    const struct cli_opt opts[] = {
        { "interval", CLI_DURATION, &interval, "the switch interval", 100 * NS_PER_US, 100 * NS_PER_MS, "1ms", NULL },
        { "duration", CLI_DURATION, &duration, "length of each run (at least 20 intervals)", 10 * NS_PER_MS,
          60 * NS_PER_S, "100ms", NULL },
        { "repeat", CLI_INT, &repeat, "rounds through the three GILs (the table: medians)", 1, 100, "1", NULL },
        { "cpus", CLI_CHOICE, &placement, "spread: a core each; one: both on CPU 0; free: the kernel decides", 0, 0,
          NULL, "spread|one|free" },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "Two CPU-bound threads under the new GIL, with and without forced switching.", opts, &cli);
    if (duration < 20 * interval)
        cli_error("--duration must be at least 20 times --interval");

    struct row *rows = malloc((size_t)repeat * NRUNS * sizeof *rows);
    if (!rows)
        die("malloc");
    for (long k = 0; k < repeat; k++) /* round robin: a slow moment of the machine hits all three */
        for (int run = 0; run < NRUNS; run++)
            rows[k * NRUNS + run] = measure(run, interval, duration, placement);

    char ibuf[32], dbuf[32];
    static const char *const where[] = { "on a core each", "both on CPU 0", "where the kernel puts them" };
    printf("two CPU-bound threads %s, switch interval %s, runs of %s; medians of %ld round(s)\n", where[placement],
           format_duration(interval, ibuf, sizeof ibuf), format_duration(duration, dbuf, sizeof dbuf), repeat);
    printf("  %-24s %6s %10s %8s %8s | %10s %10s %10s %10s\n", "GIL", "drops", "hand-overs", "per drop", "re-takes",
           "median ms", "longest ms", "median /i", "longest /i");
    double ims = (double)interval / 1e6, *v = malloc((size_t)repeat * sizeof *v);
    if (!v)
        die("malloc");
    for (int run = 0; run < NRUNS; run++) {
        double med[6];
        for (int c = 0; c < 6; c++) {
            for (long k = 0; k < repeat; k++) {
                const struct row *w = &rows[k * NRUNS + run];
                const double x[6] = { w->drops, w->handovers, w->drops > 0 ? w->handovers / w->drops : 0,
                                      w->retakes, w->median_ms, w->longest_ms };
                v[k] = x[c];
            }
            med[c] = summarize(v, (size_t)repeat).median;
        }
        printf("  %-24s %6.0f %10.0f %8.2f %8.0f | %10.2f %10.2f %10.1f %10.1f\n", run_name[run], med[0], med[1],
               med[2], med[3], med[4], med[5], med[4] / ims, med[5] / ims);
    }
    printf("(drops: on request; re-takes: drops after which the dropper took the GIL straight back, nobody\n"
           " else having run; waits: from a drop to the re-take after a hand-over, in ms and in intervals)\n");
    free(v);
    free(rows);
    return 0;
}
