/* gil_convoy.c: an I/O-bound thread beside CPU-bound ones: the convoy effect.
 *
 * Mirrors: the lessons' rule "threads for I/O-bound work": blocking I/O releases the
 * GIL, so I/O threads overlap. True on its own (gil_io), and it hides a cost: after
 * every blocking call the thread must take the GIL *back*, and if a CPU-bound thread
 * has it, the new GIL makes the I/O thread wait a whole switch interval before it may
 * even ask (then the holder drops it at its next check point). A request/response
 * makes two blocking calls (send, recv), so with one CPU-bound thread beside it an I/O
 * thread manages at most about 1 / (2 x interval) requests per second: 100 per second
 * at the default 5 ms, however fast the network. (David Beazley's 2010 finding,
 * CPython issue 7946; it is still how CPython switches.)
 *
 * What it does: a pinger thread (gil_workload.h) does request/response over a socketpair
 * with an echo thread (plain C, outside the GIL: the far end of a network, answering
 * after --rtt, 200 µs by default, a round trip within a data centre), alone and next
 * to 1 and 2 CPU-bound hog threads, under the new GIL with switch intervals 0.1, 1, 5
 * and 10 ms, and under the old GIL (release every 100 ticks); and once more with 1 hog
 * and every thread pinned to CPU 0. Unless --free, the hogs run on CPU 0 and the
 * pinger and echo on CPU 1 (left to itself the kernel sometimes puts the pinger on a
 * hog's core, and that run behaves like the one-core one). It reports requests per
 * second, the round trip (median, 10th and 90th percentiles), the share of the run the
 * hogs held the GIL, and beside them the model 1 / (2 x interval).
 *
 * Run:  ./gil_convoy [--duration 150ms] [--rtt 200us] [--free] [--data FILE]
 * Look for: thousands of requests per second alone; with one hog, a hundred or two per
 * second at 5 ms, whatever the network could do. The measurement beats the model by
 * up to 2x: the send returns in microseconds, and the I/O thread takes the GIL straight
 * back before the hog, woken on the other core (../04-thread/wakeup.c measures how
 * long that takes), gets to it; only the recv pays the interval. A second hog makes it
 * worse: the I/O thread and a hog both wait, and the drop can go to either. The old
 * GIL, which the hog releases every few microseconds, lets the I/O thread in much
 * sooner. With a very short round trip (--rtt 0ns) the I/O thread can win every race
 * instead and starve the hog: each drop wakes the waiting hog, which finds the GIL
 * taken again and starts a fresh interval, so its wait never runs out (the "hog %"
 * column).
 * The closing line gives the drop at CPython's default 5 ms from the medians of five
 * pairs of runs (alone, beside one hog); on a busy machine, where the hog can be slow
 * to get a CPU after each drop, a second line may say that the hog starved instead.
 * See also: gil_interval (the trade-off as the interval varies), gil_timeline.
 */
#include "gil_workload.h"

#include <math.h>
#include <stdlib.h>

enum { NCONF = 5, MAXHOGS = 2, PINNED = MAXHOGS + 1, NSERIES }; /* series: 0, 1, 2 hogs; 1 hog on CPU 0 */
enum { VERDICT_RUNS = 5 }; /* pairs of runs behind the closing lines */
#define STARVED 0.9 /* the hog held the GIL less than this share of the time: it starved */
static const char *const conf_name[NCONF] = { "new 0.1 ms", "new 1 ms", "new 5 ms", "new 10 ms", "old GIL" };
static const char *const conf_label[NCONF] = { "0.1 ms", "1 ms", "5 ms", "10 ms", "old GIL" };
static const int64_t conf_interval[NCONF] = { 100 * NS_PER_US, NS_PER_MS, 5 * NS_PER_MS, 10 * NS_PER_MS, 0 };

struct result {
    double rate;            /* requests per second */
    struct summary rtt;     /* us */
    struct summary retake;  /* us: the wait for the GIL after each blocking call */
    uint64_t requests;
    double hog_share;       /* share of the run the hogs held the GIL */
};

static struct result run(int conf, int hogs, enum placement pl, int64_t duration, int64_t rtt)
{
    struct gil g;
    gil_init(&g, &(struct gil_config){ .mode = conf_interval[conf] ? GIL_NEW : GIL_OLD,
                                       .interval_ns = conf_interval[conf] });
    atomic_bool stop;
    atomic_init(&stop, false);
    struct echo e;
    echo_start(&e, place(pl, true), rtt);
    struct hog h[MAXHOGS];
    int64_t t0 = now_ns();
    hogs_start(h, hogs, &g, &stop, place(pl, false));
    /* let the hogs get going: on a busy machine a new thread may wait a while for a
     * CPU, and a run begun before a hog has the GIL would measure the I/O thread alone */
    for (int64_t end = now_ns() + NS_PER_S; hogs > 0 && gil_stats(&g).holds == 0 && now_ns() < end;)
        sleep_ns(100 * NS_PER_US);
    struct pinger p;
    pinger_start(&p, &g, e.fd, &stop, 20, 1 << 20, place(pl, true));
    sleep_ns(duration);
    atomic_store(&stop, true);
    hogs_join(h, hogs);
    int64_t held = 0, wall = now_ns() - t0;
    for (int i = 0; i < hogs; i++)
        held += h[i].t.held_ns;
    pinger_join(&p);
    echo_stop(&e);
    struct gil_stats st = gil_stats(&g);
    if (st.violations)
        fatal("two threads held the GIL at once");
    gil_destroy(&g);

    struct result r = { .requests = p.requests, .hog_share = (double)held / (double)wall };
    r.rate = p.elapsed > 0 ? (double)p.requests * 1e9 / (double)p.elapsed : 0;
    r.rtt = summary_us(p.rtt, p.n);
    r.retake = summary_us(p.retake, p.nretake);
    if (p.n == 0) /* not one round trip in the time given: no latency to report */
        r.rtt.median = r.rtt.p10 = r.rtt.p90 = NAN;
    if (p.nretake == 0)
        r.retake.p90 = NAN;
    pinger_free(&p);
    return r;
}

int main(int argc, char **argv)
{
    int64_t duration = 150 * NS_PER_MS, rtt = 200 * NS_PER_US;
    bool free_placement = false;
    const struct cli_opt opts[] = {
        { "duration", CLI_DURATION, &duration, "length of each run with hogs (alone: a quarter)", 10 * NS_PER_MS,
          60 * NS_PER_S, "20ms", NULL },
        { "rtt", CLI_DURATION, &rtt, "the network's round trip (the echo's delay)", 0, NS_PER_S, NULL, NULL },
        { "free", CLI_FLAG, &free_placement, "let the kernel place the threads (default: hogs on CPU 0, I/O on CPU 1)",
          0, 0, NULL, NULL },
        { 0 },
    };
    struct cli cli = { .measures = true };
    cli_parse(argc, argv, "An I/O-bound thread's requests/s and latency beside 0, 1, 2 CPU-bound threads.", opts,
              &cli);
    struct result res[NCONF][NSERIES];
    for (int c = 0; c < NCONF; c++)
        for (int sr = 0; sr < NSERIES; sr++)
            res[c][sr] = run(c, sr == PINNED ? 1 : sr, sr == PINNED ? CPU_ONE : free_placement ? CPU_FREE : CPU_SPREAD,
                             sr == 0 ? duration / 4 : duration, rtt);

    printf("request/response over a socketpair (round trip %.0f µs) beside 0, 1, 2 CPU-bound threads, %.0f ms per "
           "run; %s\n", (double)rtt / 1e3, (double)duration / 1e6,
           free_placement ? "threads where the kernel puts them" : "CPU-bound threads on CPU 0, I/O on CPU 1");
    printf("  %-10s %8s |%8s %8s %8s %8s |%8s %8s %8s %8s |%8s %8s\n", "GIL", "model/s", "alone/s", "1 hog/s",
           "2 hogs/s", "1 core/s", "alone", "1 hog", "2 hogs", "1 core", "re-take", "hog %");
    FILE *data = data_open(cli.data, "gil_convoy: an I/O-bound thread beside CPU-bound threads");
    static const char *const cols[] = {
        "conf (index): 0..3 new GIL at 0.1, 1, 5, 10 ms; 4 old GIL",
        "interval_ms (ms): switch interval (0: old GIL)",
        "model (1/s): 1 / (2 x interval), the rate with one hog (NaN: no model)",
        "rate0 (1/s): requests per second, alone", "rate1 (1/s): beside 1 hog", "rate2 (1/s): beside 2 hogs",
        "rtt0 (us): median round trip, alone", "rtt0_p10 (us)", "rtt0_p90 (us)",
        "rtt1 (us): median round trip, 1 hog", "rtt1_p10 (us)", "rtt1_p90 (us)",
        "rtt2 (us): median round trip, 2 hogs", "rtt2_p10 (us)", "rtt2_p90 (us)",
        "rate1c (1/s): beside 1 hog, every thread on CPU 0", "rtt1c (us)", "rtt1c_p10 (us)", "rtt1c_p90 (us)",
        "hog1 (ratio): share of the run the hog held the GIL, 1 hog", "hog2 (ratio): the same, 2 hogs",
        "hog1c (ratio): the same, 1 hog on one core",
        "label: the configuration (new GIL: its interval)", NULL,
    };
    data_block(data, "requests per second and round-trip time", cols);
    for (int c = 0; c < NCONF; c++) {
        double model = conf_interval[c] ? 1e9 / (2.0 * (double)conf_interval[c]) : 0;
        char m[16] = "-";
        if (model > 0)
            snprintf(m, sizeof m, "%.0f", model);
        printf("  %-10s %8s |%8.0f %8.0f %8.0f %8.0f |%8.0f %8.0f %8.0f %8.0f |%8.0f %8.1f\n", conf_name[c], m,
               res[c][0].rate, res[c][1].rate, res[c][2].rate, res[c][PINNED].rate, res[c][0].rtt.median,
               res[c][1].rtt.median, res[c][2].rtt.median, res[c][PINNED].rtt.median, res[c][1].retake.p90,
               100 * res[c][1].hog_share);
        data_row(data, "%d %.3f %s", c, (double)conf_interval[c] / 1e6, model > 0 ? m : "NaN");
        for (int sr = 0; sr <= MAXHOGS; sr++)
            data_row(data, " %.1f", res[c][sr].rate);
        for (int sr = 0; sr <= MAXHOGS; sr++)
            data_row(data, " %.2f %.2f %.2f", res[c][sr].rtt.median, res[c][sr].rtt.p10, res[c][sr].rtt.p90);
        data_row(data, " %.1f %.2f %.2f %.2f", res[c][PINNED].rate, res[c][PINNED].rtt.median, res[c][PINNED].rtt.p10,
                 res[c][PINNED].rtt.p90);
        data_row(data, " %.4f %.4f %.4f", res[c][1].hog_share, res[c][2].hog_share, res[c][PINNED].hog_share);
        data_row(data, " \"%s\"\n", conf_label[c]);
    }
    data_close(data);
    printf("(requests per second, then the median round trip in µs; 1 core: 1 hog, every thread on CPU 0;\n"
           " re-take: 90th percentile of the wait for the GIL after a blocking call, 1 hog, in µs;\n"
           " hog %%: the share of the run the one hog held the GIL (low: the I/O thread starved it);\n"
           " model: one interval lost per blocking call, two per request)\n");
    /* The verdict at the default 5 ms: the table's pair of runs (alone, 1 hog) and
     * VERDICT_RUNS - 1 more, taken in turn; the medians of each. The GIL cannot serve
     * both threads at full speed: either the I/O thread pays an interval per blocking
     * call, or, when the hog is slow to get a CPU after each drop (a busy machine), the
     * I/O thread takes the GIL back first every time and the hog starves instead (see
     * the README). The line says which one happened. */
    double alone[VERDICT_RUNS], beside[VERDICT_RUNS], share[VERDICT_RUNS];
    alone[0] = res[2][0].rate;
    beside[0] = res[2][1].rate;
    share[0] = res[2][1].hog_share;
    for (int i = 1; i < VERDICT_RUNS; i++) {
        enum placement pl = free_placement ? CPU_FREE : CPU_SPREAD;
        alone[i] = run(2, 0, pl, duration / 4, rtt).rate;
        struct result r = run(2, 1, pl, duration, rtt);
        beside[i] = r.rate;
        share[i] = r.hog_share;
    }
    double a = summarize(alone, VERDICT_RUNS).median, b = summarize(beside, VERDICT_RUNS).median;
    double held = summarize(share, VERDICT_RUNS).median;
    printf("at CPython's default 5 ms, one CPU-bound thread ");
    if (b >= a) /* (--rtt 0 with --free can do this: nothing to convoy) */
        printf("did not cut the I/O thread's rate: %.2fx of its rate alone", a > 0 ? b / a : 1.0);
    else if (b > 0)
        printf("cut the I/O thread's rate %.0f-fold", a / b);
    else /* not one request in most runs: below one per run */
        printf("cut the I/O thread's rate more than %.0f-fold", a * (double)duration / 1e9);
    printf(" (medians of %d runs: %.0f/s alone, %.0f/s beside it, which held the GIL %d%% of the time)\n",
           VERDICT_RUNS, a, b, (int)(100 * held));
    if (held < STARVED) /* the other way the GIL can fail these two threads */
        printf("the CPU-bound thread held the GIL only %d%% of the time (under %.0f%%): the I/O thread won it "
               "back after its calls, and the hog starved instead\n", (int)(100 * held), 100 * STARVED);
    return 0;
}
