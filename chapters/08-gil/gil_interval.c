/* gil_interval.c: the switch interval trades CPU throughput against I/O latency.
 *
 * Mirrors: sys.setswitchinterval(), which the lessons allude to ("Python 3 switches on
 * a timer", 15 ms by their account; CPython's default is 5 ms). A short interval hands
 * the GIL around more often: waiting threads, the I/O-bound ones above all, get it
 * sooner, and every hand-off costs the CPU-bound threads a wake-up and a cold cache.
 * A long one lets the CPU-bound threads run undisturbed, and the I/O thread waits.
 *
 * What it does: for switch intervals from 0.1 ms to 50 ms, --hogs CPU-bound threads
 * and one I/O-bound pinger (request/response over a socketpair with a --rtt round trip,
 * as in gil_convoy) run together for --duration (at least 8 intervals), the hogs on
 * CPU 0 and the I/O side on CPU 1 unless --free (see gil_convoy). It reports the hogs'
 * throughput two
 * ways: the share of the wall time some hog held the GIL (from the GIL's own
 * accounting, immune to the speed of the machine), and their ticks per second over
 * those of one thread running alone, measured just before and just after (a virtual
 * CPU's speed drifts by 20% from one moment to the next here, so this one is noisy;
 * it also shows the cold caches a hand-off leaves). And the pinger's round-trip time,
 * its requests per second, and the GIL hand-offs per second.
 *
 * Run:  ./gil_interval [--hogs 1] [--duration 150ms] [--max-interval 50ms] [--rtt 200us]
 *                     [--free] [--data FILE]
 * Look for: the round trip growing in step with the interval (one to two intervals per
 * request: the recv's re-take waits it out, the send's often doesn't); the hogs' share
 * climbing towards 1.0 as the interval grows, and giving up a few percent at 0.1 ms,
 * where the GIL changes hands thousands of times a second and each hand-off between
 * cores leaves it idle while a thread wakes (../04-thread/wakeup.c measures that).
 * See also: gil_convoy, gil_timeline.
 */
#include "gil_workload.h"

#include <stdlib.h>

enum { NINT = 9, MAXHOGS = 4 };
static const double interval_ms[NINT] = { 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50 };

int main(int argc, char **argv)
{
    long nhogs = 1;
    int64_t duration = 150 * NS_PER_MS;
    bool free_placement = false;
    int64_t max_interval = 50 * NS_PER_MS, rtt = 200 * NS_PER_US;
    const struct cli_opt opts[] = {
        { "hogs", CLI_INT, &nhogs, "CPU-bound threads beside the I/O thread", 1, MAXHOGS, NULL, NULL },
        { "duration", CLI_DURATION, &duration, "length of each run (at least 8 intervals)", 10 * NS_PER_MS,
          60 * NS_PER_S, "15ms", NULL },
        { "max-interval", CLI_DURATION, &max_interval, "the longest interval measured (from 0.1 ms up)",
          100 * NS_PER_US, 50 * NS_PER_MS, "10ms", NULL },
        { "rtt", CLI_DURATION, &rtt, "the network's round trip (the echo's delay)", 0, NS_PER_S, NULL, NULL },
        { "free", CLI_FLAG, &free_placement, "let the kernel place the threads (default: hogs on CPU 0, I/O on CPU 1)",
          0, 0, NULL, NULL },
        { 0 },
    };
    struct cli cli = { .measures = true };
    cli_parse(argc, argv, "CPU throughput and I/O latency as the switch interval goes from 0.1 ms to 50 ms.", opts,
              &cli);

    FILE *data = data_open(cli.data, "gil_interval: CPU throughput and I/O latency vs the switch interval");
    static const char *const cols[] = {
        "interval_ms (ms): the switch interval",
        "throughput (ratio): the hogs' ticks per second over one thread's alone",
        "rtt (us): median round trip of the I/O thread", "rtt_p10 (us)", "rtt_p90 (us)",
        "retake_p90 (us): 90th percentile of the wait for the GIL after a blocking call",
        "rate (1/s): requests per second", "switches (1/s): GIL hand-offs per second",
        "duration_ms (ms): length of the run",
        "solo (1/s): ticks per second of one thread alone (mean of just before and just after)",
        "held (ratio): share of the wall time a hog held the GIL", NULL,
    };
    data_block(data, "throughput and latency vs switch interval", cols);
    printf("%ld CPU-bound thread(s) and one I/O-bound thread (round trip %.0f µs), under the new GIL; %s\n", nhogs,
           (double)rtt / 1e3,
           free_placement ? "threads where the kernel puts them" : "CPU-bound threads on CPU 0, I/O on CPU 1");
    printf("  %11s %11s %11s %12s %12s %11s %11s %11s\n", "interval ms", "hogs held", "throughput", "rtt µs",
           "rtt p90 µs", "requests/s", "hand-offs/s", "run ms");
    for (int i = 0; i < NINT; i++) {
        int64_t interval = (int64_t)(interval_ms[i] * 1e6);
        if (interval > max_interval)
            break;
        int64_t d = duration > 8 * interval ? duration : 8 * interval;
        /* the baseline: one CPU-bound thread alone, no I/O, no contention */
        double solo = gil_tick_rate(duration / 5);
        struct gil g;
        gil_init(&g, &(struct gil_config){ .mode = GIL_NEW, .interval_ns = interval });
        atomic_bool stop;
        atomic_init(&stop, false);
        struct echo e;
        enum placement pl = free_placement ? CPU_FREE : CPU_SPREAD;
        echo_start(&e, place(pl, true), rtt);
        struct hog h[MAXHOGS];
        int64_t t0 = now_ns();
        hogs_start(h, (int)nhogs, &g, &stop, place(pl, false));
        struct pinger p;
        pinger_start(&p, &g, e.fd, &stop, 20, 1 << 18, place(pl, true));
        sleep_ns(d);
        atomic_store(&stop, true);
        hogs_join(h, (int)nhogs);
        int64_t secs_ns = now_ns() - t0; /* the hogs ran within t0 .. now */
        pinger_join(&p);
        echo_stop(&e);
        struct gil_stats st = gil_stats(&g);
        if (st.violations)
            fatal("two threads held the GIL at once");
        gil_destroy(&g);

        solo = (solo + gil_tick_rate(duration / 5)) / 2;
        uint64_t ticks = 0;
        int64_t held = 0;
        for (int k = 0; k < nhogs; k++) {
            ticks += h[k].ticks;
            held += h[k].t.held_ns;
        }
        double held_share = (double)held / (double)secs_ns;
        double thr = (double)ticks / ((double)secs_ns / 1e9) / solo;
        struct summary trip = summary_us(p.rtt, p.n), re = summary_us(p.retake, p.nretake);
        double rate = p.elapsed > 0 ? (double)p.requests * 1e9 / (double)p.elapsed : 0;
        double sw = (double)st.switches / ((double)secs_ns / 1e9);
        printf("  %11.1f %11.3f %11.3f %11.0f %11.0f %11.0f %11.0f %11.0f\n", interval_ms[i], held_share, thr,
               trip.median, trip.p90, rate, sw, (double)d / 1e6);
        data_row(data, "%.2f %.4f %.2f %.2f %.2f %.2f %.1f %.1f %.1f %.0f %.4f\n", interval_ms[i], thr, trip.median,
                 trip.p10, trip.p90, re.p90, rate, sw, (double)d / 1e6, solo, held_share);
        pinger_free(&p);
    }
    data_close(data);
    printf("(hogs held: share of the time a CPU-bound thread held the GIL; throughput: their ticks/s over one\n"
           " thread's alone, 1.0 being the most the GIL allows; rtt: the I/O thread's round trip)\n");
    return 0;
}
