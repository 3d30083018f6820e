/* gil_timeline.c: who holds the GIL, over time, under the new GIL and the old one.
 *
 * Mirrors: the lessons' account of how the GIL switches: "Python 3 releases it on a
 * timer (they say after 15 ms), Python 2 after 100 ticks". Half right: CPython's
 * default switch interval is 5 ms (sys.getswitchinterval() returns 0.005), and the
 * interval is not a time slice: it is how long a *waiting* thread lets pass before it
 * asks the holder to drop the GIL. Python 2 released the GIL every 100 ticks, but
 * "released" is not "handed over": the releaser usually takes it straight back.
 *
 * What it does: --threads CPU-bound threads (hogs running ticks) for --duration, four
 * times: new GIL and old GIL, each with the threads free to use both cores and with
 * all of them pinned to CPU 0. The GIL's log records every acquisition. From it:
 *   holds   one acquisition each: from taking the GIL to dropping it
 *   turns   consecutive holds by the same thread merged: how long a thread keeps the
 *           GIL before another thread gets it
 * It prints a line per run that draws the holder over a --window (one character per
 * slice, the digit of the thread holding the GIL in its middle), a table of holds and
 * turns, and writes the turns in the window (lanes, for the figure) and histograms
 * of hold and turn lengths.
 *
 * Run:  ./gil_timeline [--threads 2] [--interval 5ms] [--duration 200ms] [--window 50ms]
 *                     [--no-force] [--data FILE]
 * Look for: new GIL turns of about one interval (5 ms plus a wake-up), alternating;
 * the old GIL releasing every few microseconds yet changing hands far less often, and
 * very differently on one core and on two: on two cores the waiter must wake on the
 * other core (../04-thread/wakeup.c measures how long that takes) before the releaser
 * takes the lock back; on one core it runs only when the kernel's scheduler preempts
 * the holder, so the scheduler sets the pace.
 * See also: gil_convoy (what those turns do to an I/O thread), gil_cpu.
 */
#include "gil_workload.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { NRUNS = 4, NBINS = 28 }; /* bins: 4 per decade from 1 µs to 10 s */
static const char *const run_name[NRUNS] = { "new GIL", "new GIL, 1 core", "old GIL", "old GIL, 1 core" };
static const enum gil_mode run_mode[NRUNS] = { GIL_NEW, GIL_NEW, GIL_OLD, GIL_OLD };
static const int run_cpu[NRUNS] = { -1, 0, -1, 0 };

struct turn {
    int thread;
    int64_t from, to;
};

static int bin_of(int64_t ns)
{
    double us = (double)ns / 1e3;
    int b = us <= 1 ? 0 : (int)floor(log10(us) * 4);
    return b >= NBINS ? NBINS - 1 : b;
}

static double bin_edge_us(int b)
{
    return pow(10, b / 4.0);
}

int main(int argc, char **argv)
{
    long threads = 2;
    int64_t interval = 5 * NS_PER_MS, duration = 200 * NS_PER_MS, window = 50 * NS_PER_MS;
    bool no_force = false;
    const struct cli_opt opts[] = {
        { "threads", CLI_INT, &threads, "CPU-bound threads", 2, 9, NULL, NULL },
        { "interval", CLI_DURATION, &interval, "the new GIL's switch interval", 10 * NS_PER_US, NS_PER_S, NULL, NULL },
        { "duration", CLI_DURATION, &duration, "length of each run", 10 * NS_PER_MS, 60 * NS_PER_S, "40ms", NULL },
        { "window", CLI_DURATION, &window, "the stretch drawn, after the first 10 ms", NS_PER_MS, 60 * NS_PER_S, "20ms", NULL },
        { "no-force", CLI_FLAG, &no_force, "new GIL without FORCE_SWITCHING", 0, 0, NULL, NULL },
        { 0 },
    };
    struct cli cli = { .measures = true };
    cli_parse(argc, argv, "Who holds the GIL over time: the new GIL and the old, on two cores and on one.", opts,
              &cli);
    const int64_t skip = 10 * NS_PER_MS;
    if (skip + window > duration)
        cli_error("--window %.0f ms does not fit in --duration %.0f ms after the first 10 ms",
                  (double)window / 1e6, (double)duration / 1e6);

    FILE *data = data_open(cli.data, "gil_timeline: who holds the GIL over time, new GIL and old");
    static const char *const lane_cols[] = {
        "lane (count): thread number, 1..T", "from_ms (ms): the turn began (ms into the window)",
        "to_ms (ms): it ended", NULL,
    };
    unsigned long hist_holds[NRUNS][NBINS] = { { 0 } }, hist_turns[NRUNS][NBINS] = { { 0 } };
    double turn_time[NRUNS][NBINS] = { { 0 } };
    const int width = 100;

    printf("%ld CPU-bound threads, %.0f ms per run, switch interval %.3g ms%s; the holder over %.0f ms, "
           "one character per %.2f ms:\n", threads, (double)duration / 1e6, (double)interval / 1e6,
           no_force ? " (FORCE_SWITCHING off)" : "", (double)window / 1e6, (double)window / 1e6 / width);
    char summary[NRUNS][256];
    for (int r = 0; r < NRUNS; r++) {
        struct gil g;
        size_t cap = (size_t)(duration / (2 * NS_PER_US)) + 4096; /* old GIL: a hold per ~4 µs */
        gil_init(&g, &(struct gil_config){ .mode = run_mode[r], .interval_ns = interval, .no_force = no_force,
                                           .log_size = cap });
        atomic_bool stop;
        atomic_init(&stop, false);
        struct hog h[9];
        hogs_start(h, (int)threads, &g, &stop, run_cpu[r]);
        sleep_ns(duration);
        atomic_store(&stop, true);
        hogs_join(h, (int)threads);
        struct gil_stats st = gil_stats(&g);
        if (st.violations || gil_log_overlaps(g.log, st.logged))
            fatal("%s: two threads held the GIL at once", run_name[r]);
        if (st.logged < st.holds)
            fatal("%s: the log overflowed (%zu of %zu holds kept)", run_name[r], st.logged, st.holds);

        /* holds -> turns; the measured stretch starts when the last thread has begun */
        int64_t begin = 0;
        for (size_t i = 0; i < st.logged; i++)
            if (g.log[i].took == GIL_START && g.log[i].got > begin)
                begin = g.log[i].got;
        struct turn *turns = malloc(st.logged * sizeof *turns);
        double *holds_us = malloc(st.logged * sizeof *holds_us);
        if (!turns || !holds_us)
            die("malloc");
        size_t nt = 0, nh = 0, kept = 0;
        for (size_t i = 0; i < st.logged; i++) {
            const struct gil_hold *x = &g.log[i];
            if (x->dropped == GIL_EXIT || x->got < begin)
                continue;
            holds_us[nh++] = (double)(x->left - x->got) / 1e3;
            hist_holds[r][bin_of(x->left - x->got)]++;
            if (nt > 0 && turns[nt - 1].thread == x->thread) {
                turns[nt - 1].to = x->left;
                if (x->waiting > 0)
                    kept++; /* re-taken by the releaser while another thread waited */
            } else {
                turns[nt++] = (struct turn){ x->thread, x->got, x->left };
            }
        }
        double *turns_us = malloc((nt ? nt : 1) * sizeof *turns_us);
        if (!turns_us)
            die("malloc");
        for (size_t i = 0; i < nt; i++) {
            int64_t len = turns[i].to - turns[i].from;
            turns_us[i] = (double)len / 1e3;
            /* the first and last turns are cut short by the run's edges */
            if (i > 0 && i + 1 < nt) {
                hist_turns[r][bin_of(len)]++;
                turn_time[r][bin_of(len)] += (double)len;
            }
        }

        /* the window: lanes for the figure, and a line of text */
        int64_t w0 = begin + skip, w1 = w0 + window;
        char line[128];
        for (int c = 0; c < width; c++) {
            int64_t mid = w0 + (2 * c + 1) * window / (2 * width);
            line[c] = '.';
            for (size_t i = 0; i < nt; i++)
                if (turns[i].from <= mid && mid < turns[i].to)
                    line[c] = (char)('1' + turns[i].thread);
        }
        line[width] = '\0';
        printf("  %-16s |%s|\n", run_name[r], line);
        char title[64];
        snprintf(title, sizeof title, "%s: turns in the window", run_name[r]);
        data_block(data, title, lane_cols);
        for (size_t i = 0; i < nt; i++) {
            if (turns[i].to <= w0 || turns[i].from >= w1)
                continue;
            int64_t a = turns[i].from < w0 ? w0 : turns[i].from, b = turns[i].to > w1 ? w1 : turns[i].to;
            data_row(data, "%d %.4f %.4f\n", turns[i].thread + 1, (double)(a - w0) / 1e6, (double)(b - w0) / 1e6);
        }

        /* (a slow run, under valgrind say, may end before every thread has had a turn) */
        double secs = st.logged > 0 ? (double)(g.log[st.logged - 1].left - begin) / 1e9 : 0;
        if (secs <= 0)
            secs = 1e-9;
        struct summary sh = nh ? summarize(holds_us, nh) : (struct summary){ 0 };
        struct summary stt = nt ? summarize(turns_us, nt) : (struct summary){ 0 };
        snprintf(summary[r], sizeof summary[r], "  %-16s %9.0f %9.0f %9.1f %9.1f %9.0f %9lu %8lu %9zu",
                 run_name[r], (double)nh / secs, (double)nt / secs, sh.median, stt.median, stt.max, st.drop_requests,
                 st.forced_waits, kept);
        free(turns);
        free(holds_us);
        free(turns_us);
        gil_destroy(&g);
    }
    printf("\n  %-16s %9s %9s %10s %10s %9s %9s %8s %9s\n", "", "holds/s", "turns/s", "hold µs", "turn µs",
           "max turn", "requests", "forced", "re-takes");
    for (int r = 0; r < NRUNS; r++)
        printf("%s\n", summary[r]);
    printf("(hold, turn: medians in µs; max turn in µs; requests: drop requests set by waiters; forced: drops\n"
           " that waited for the hand-over; re-takes: releases the releaser won back while another waited)\n");

    static const char *const hist_cols[] = {
        "lo_us (us): bin from", "hi_us (us): bin to", "mid_us (us): geometric middle",
        "new_holds (%): share of holds in the bin, new GIL", "new1_holds (%): new GIL, 1 core",
        "old_holds (%): old GIL", "old1_holds (%): old GIL, 1 core",
        "new_turns (%): share of the time spent in turns of this length, new GIL", "new1_turns (%)",
        "old_turns (%)", "old1_turns (%)", NULL,
    };
    data_block(data, "histograms of hold and turn lengths", hist_cols);
    double hold_total[NRUNS] = { 0 }, time_total[NRUNS] = { 0 };
    for (int r = 0; r < NRUNS; r++)
        for (int b = 0; b < NBINS; b++) {
            hold_total[r] += (double)hist_holds[r][b];
            time_total[r] += turn_time[r][b];
        }
    for (int b = 0; b < NBINS; b++) {
        data_row(data, "%.3f %.3f %.3f", bin_edge_us(b), bin_edge_us(b + 1), sqrt(bin_edge_us(b) * bin_edge_us(b + 1)));
        for (int r = 0; r < NRUNS; r++)
            data_row(data, " %.3f", hold_total[r] > 0 ? 100.0 * (double)hist_holds[r][b] / hold_total[r] : 0.0);
        for (int r = 0; r < NRUNS; r++)
            data_row(data, " %.3f", time_total[r] > 0 ? 100.0 * turn_time[r][b] / time_total[r] : 0.0);
        data_row(data, "\n");
    }
    data_close(data);
    printf("CPython's default switch interval is 5 ms: sys.getswitchinterval() returns 0.005 (the lessons say 15 ms)\n");
    return 0;
}
