/* gil_io.c: threads that block with the GIL released overlap; threads that block
 * holding it do not.
 *
 * Mirrors: the lessons' two threads that each time.sleep(1) and finish in about one
 * second, not two: time.sleep, like every blocking call in CPython (socket recv, file
 * read, select), releases the GIL for its duration (Py_BEGIN_ALLOW_THREADS) and takes
 * it back after (Py_END_ALLOW_THREADS).
 *
 * What it does: --threads threads of "Python code" each run a few ticks, block once
 * for --sleep, and run a few ticks more, three ways:
 *   sleep, GIL released     time.sleep: gil_io_begin / nanosleep / gil_io_end
 *   read, GIL released      os.read on a pipe: each thread blocks in read(2) until a
 *                           feeder thread (plain C, outside the GIL, standing in for a
 *                           device or another process) writes to every pipe after --sleep
 *   sleep, GIL held         a C extension that forgot Py_BEGIN_ALLOW_THREADS: it blocks
 *                           with the GIL in hand, and everyone else waits
 * The trace shows when each thread takes and drops the GIL; the table the wall time of
 * each way against --sleep.
 *
 * Run:  ./gil_io [--threads 2] [--sleep 1s]
 * Look for: the first two ways taking one --sleep in all, the third --threads of them;
 * in the trace, the second thread taking the GIL while the first one sleeps.
 * See also: gil_cpu (CPU-bound threads, which don't overlap), gil_fetch.
 */
#include "gil.h"

#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

enum way { SLEEP_RELEASED, READ_RELEASED, SLEEP_HELD, NWAYS };
static const char *const way_name[NWAYS] = { "sleep, GIL released", "read, GIL released", "sleep, GIL held" };

struct sleeper {
    struct gil_thread t;
    pthread_t th;
    enum way way;
    int64_t sleep;
    int fd;      /* READ_RELEASED: the pipe to read */
    int indent;  /* each thread's lines in a column of their own */
    char name[24];
};

static void *sleeper_main(void *arg)
{
    struct sleeper *s = arg;
    trace_name(s->name);
    int64_t waited = gil_take(&s->t, GIL_START);
    trace("%*stook the GIL (waited %.2f ms for it)", s->indent, "", (double)waited / 1e6);
    uint64_t sum = gil_run(&s->t, 0, 2000); /* some Python before the call */
    char c;
    switch (s->way) {
    case SLEEP_RELEASED:
        trace("%*sdrop the GIL, sleep %.3g s", s->indent, "", (double)s->sleep / 1e9);
        gil_io_begin(&s->t);
        sleep_ns(s->sleep);
        break;
    case READ_RELEASED: {
        trace("%*sdrop the GIL, read(pipe)", s->indent, "");
        gil_io_begin(&s->t);
        struct pollfd p = { .fd = s->fd, .events = POLLIN }; /* bounded: never hang */
        int rc = poll(&p, 1, (int)((s->sleep + 10 * NS_PER_S) / NS_PER_MS));
        if (rc == -1)
            die("poll");
        if (rc == 0)
            fatal("the feeder never wrote");
        if (read(s->fd, &c, 1) != 1)
            die("read");
        break;
    }
    default:
        trace("%*ssleep %.3g s holding the GIL", s->indent, "", (double)s->sleep / 1e9);
        sleep_ns(s->sleep);
        break;
    }
    waited = s->way == SLEEP_HELD ? 0 : gil_io_end(&s->t);
    trace("%*sback, with the GIL (waited %.2f ms for it)", s->indent, "", (double)waited / 1e6);
    sum += gil_run(&s->t, 2000, 4000); /* and some after */
    gil_exit(&s->t);
    return sum == 42 ? arg : NULL;
}

struct feeder {
    pthread_t th;
    int64_t sleep;
    int *fds;
    int n;
};

static void *feeder_main(void *arg)
{
    struct feeder *f = arg;
    trace_name("feeder");
    sleep_ns(f->sleep);
    trace("write a byte to each of the %d pipes", f->n);
    for (int i = 0; i < f->n; i++)
        if (write(f->fds[i], "x", 1) != 1)
            die("write");
    return NULL;
}

static double run(enum way way, int threads, int64_t sleep, unsigned long *holds)
{
    struct gil g;
    gil_init(&g, &(struct gil_config){ .mode = GIL_NEW, .log_size = 256 });
    struct sleeper *s = calloc((size_t)threads, sizeof *s);
    int *rfd = calloc((size_t)threads, sizeof *rfd), *wfd = calloc((size_t)threads, sizeof *wfd);
    if (!s || !rfd || !wfd)
        die("calloc");
    for (int i = 0; i < threads; i++) {
        int p[2];
        CHECK_SYS(pipe(p));
        rfd[i] = p[0];
        wfd[i] = p[1];
    }
    printf("%s: %d threads\n", way_name[way], threads);
    fflush(stdout);
    int64_t t = now_ns();
    struct feeder f = { .sleep = sleep, .fds = wfd, .n = threads };
    if (way == READ_RELEASED)
        CHECK_PT(pthread_create(&f.th, NULL, feeder_main, &f));
    for (int i = 0; i < threads; i++) {
        snprintf(s[i].name, sizeof s[i].name, "thread%d", i + 1);
        s[i].indent = 4 * i;
        gil_thread_init(&s[i].t, &g, s[i].name);
        s[i].way = way;
        s[i].sleep = sleep;
        s[i].fd = rfd[i];
        CHECK_PT(pthread_create(&s[i].th, NULL, sleeper_main, &s[i]));
    }
    for (int i = 0; i < threads; i++)
        CHECK_PT(pthread_join(s[i].th, NULL));
    if (way == READ_RELEASED)
        CHECK_PT(pthread_join(f.th, NULL));
    double secs = (double)(now_ns() - t) / 1e9;
    struct gil_stats st = gil_stats(&g);
    if (st.violations != 0 || gil_log_overlaps(g.log, st.logged) != 0)
        fatal("two threads held the GIL at once");
    *holds = (unsigned long)st.holds;
    for (int i = 0; i < threads; i++) {
        CHECK_SYS(close(rfd[i]));
        CHECK_SYS(close(wfd[i]));
    }
    free(s);
    free(rfd);
    free(wfd);
    gil_destroy(&g);
    return secs;
}

int main(int argc, char **argv)
{
    long threads = 2;
    int64_t sleep = NS_PER_S;
    const struct cli_opt opts[] = {
        { "threads", CLI_INT, &threads, "threads that block", 1, 16, NULL, NULL },
        { "sleep", CLI_DURATION, &sleep, "how long each one blocks", NS_PER_MS, 10 * NS_PER_S, "50ms", NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "Threads blocking with the GIL released overlap; holding it, they queue.", opts, &cli);

    double secs[NWAYS];
    unsigned long holds[NWAYS];
    trace_start();
    for (int way = 0; way < NWAYS; way++)
        secs[way] = run(way, (int)threads, sleep, &holds[way]);

    double s = (double)sleep / 1e9;
    printf("\n%ld threads, each blocking once for %.3g s, under the new GIL:\n", threads, s);
    printf("  %-22s %9s %12s %14s\n", "way", "wall s", "in sleeps", "GIL acquired");
    for (int way = 0; way < NWAYS; way++)
        printf("  %-22s %9.3f %11.2fx %14lu\n", way_name[way], secs[way], secs[way] / s, holds[way]);
    /* The verdict comes from the measurement: overlapping threads take about one
     * blocking time in all, threads taking turns one per thread; the line is drawn
     * half-way between. (One thread alone has nothing to overlap with.) */
    for (int way = 0; way < NWAYS; way++) {
        double expect = way == SLEEP_HELD ? (double)threads : 1.0, ratio = secs[way] / s;
        const char *verdict = threads < 2                           ? "one thread, nothing to overlap"
                              : ratio < (1.0 + (double)threads) / 2 ? "the threads overlapped"
                                                                    : "the threads took turns";
        printf("%s: %s (%.2f of the blocking time, the GIL predicts about %.0f)\n", way_name[way], verdict, ratio,
               expect);
        if (ratio < expect - 0.5 || ratio > expect + 0.5)
            printf("  (off from what the GIL predicts: a busy machine can stretch short runs)\n");
    }
    return 0;
}
