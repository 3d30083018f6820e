/* solutions/gil_deadline.c: exercise 2 of chapter 08 (the GIL).
 *
 * The question: in step 2 a waiter waits at most one switch interval, and every wake-up
 * starts a fresh wait. Make it a deadline instead: compute the time limit once, before
 * the loop, and wait until it. What happens to a CPU-bound thread starved by a chatty
 * I/O thread (gil_convoy --rtt 0ns --free), and what to the I/O thread?
 *
 * The answer: the starving stops. The chatty thread drops the GIL around every blocking
 * call, and every drop signals the waiting CPU-bound thread; by the time it runs on the
 * other core, the chatty thread has the GIL back. With a timeout the waiter then starts
 * a *fresh* interval, so its wait never runs out and it never asks for the GIL: it can
 * wait as long as the chatty thread keeps calling. With a deadline, the interval counts
 * from when it started to wait, wake-ups or not: after one interval it sets the drop
 * request, the chatty thread drops at its next check point and, with forced switching,
 * waits until the waiter has the GIL. The price is the chatty thread's: it now loses the
 * GIL for an interval at a time, as CPU-bound threads do to each other, and its own
 * requests wait behind the hog. (CPython keeps the timeout: Python/ceval_gil.c's
 * take_gil waits `interval` afresh each time round its loop.)
 *
 * What it does: a minimal GIL (gil_simple.c's, plus forced switching as gil.c has it)
 * taken with step 2 as a timeout, then as a deadline. A hog on one CPU runs ticks with a
 * check point after each; a chatty thread on another CPU holds the GIL for --hold of
 * ticks, drops it for a --io "system call" (a spin without the GIL), takes it back, for
 * --duration. Prints the hog's share of the GIL, its longest wait, the drop requests,
 * and the chatty thread's calls per second.
 *
 * Run:  solutions/gil_deadline [--hold 100us] [--io 0] [--duration 300ms]
 * Look for: with the timeout, the hog at a few percent and waits of a large part of the
 * run (on a busy machine less clearly: the hog gets lucky more often); with the
 * deadline, near half, its longest wait a few intervals at most.
 */
#include "../gil.h"
#include "../gil_simple.h"

#include <errno.h>
#include <unistd.h>

struct fgil {
    struct gil_simple g;     /* its mutex guards `switched` too */
    pthread_cond_t switched; /* broadcast when the GIL changes hands (FORCE_SWITCHING) */
    bool deadline;           /* step 2 as a deadline instead of a timeout */
};

static void take(struct fgil *f, int id)
{
    struct gil_simple *g = &f->g;
    CHECK_PT(pthread_mutex_lock(&g->mutex)); /* step 1 */
    int64_t limit = deadline_in(g->interval_ns); /* the deadline: once, before the loop */
    while (g->locked) {
        unsigned long saved_switch = g->switch_number;
        if (!f->deadline)
            limit = deadline_in(g->interval_ns); /* step 2 as CPython has it: afresh */
        struct timespec until = ns_to_ts(limit);
        int rc = pthread_cond_timedwait(&g->cond, &g->mutex, &until);
        if (rc != 0 && rc != ETIMEDOUT)
            die_en(rc, "pthread_cond_timedwait");
        if (ns_left(limit) == 0 && g->locked && g->switch_number == saved_switch) { /* step 3 */
            atomic_store_explicit(&g->drop_request, 1, memory_order_relaxed);
            g->drop_requests++;
            limit = deadline_in(g->interval_ns); /* the next interval, should this one fail */
        }
    }
    g->locked = 1; /* step 5 */
    if (g->last_holder != id) {
        g->last_holder = id;
        g->switch_number++;
        CHECK_PT(pthread_cond_broadcast(&f->switched));
    }
    atomic_store_explicit(&g->drop_request, 0, memory_order_relaxed);
    CHECK_PT(pthread_mutex_unlock(&g->mutex));
}

/* step 4 on a drop request, with forced switching: wait until another thread has it */
static void drop_on_request(struct fgil *f, int id)
{
    gil_simple_drop(&f->g);
    CHECK_PT(pthread_mutex_lock(&f->g.mutex));
    struct timespec until = deadline_after(CLOCK_MONOTONIC, 10 * NS_PER_S);
    while (f->g.last_holder == id) {
        int rc = pthread_cond_timedwait(&f->switched, &f->g.mutex, &until);
        if (rc == ETIMEDOUT) /* nobody took it: nobody wants it any more */
            break;
        if (rc != 0)
            die_en(rc, "pthread_cond_timedwait");
    }
    CHECK_PT(pthread_mutex_unlock(&f->g.mutex));
}

static struct fgil g_gil;
static atomic_bool g_stop;
static int64_t g_hold, g_io;

struct stats {
    int64_t held, longest_wait;
    long calls;
};

static void *hog(void *arg)
{
    struct stats *s = arg;
    pin_to_cpu(cpu_nth(0));
    uint64_t x = 0;
    int64_t asked = now_ns();
    take(&g_gil, 0);
    int64_t got = now_ns();
    s->longest_wait = got - asked;
    while (!atomic_load_explicit(&g_stop, memory_order_relaxed)) {
        x += gil_work(x);
        if (atomic_load_explicit(&g_gil.g.drop_request, memory_order_relaxed)) { /* the check point */
            s->held += now_ns() - got;
            drop_on_request(&g_gil, 0);
            asked = now_ns();
            take(&g_gil, 0);
            got = now_ns();
            if (got - asked > s->longest_wait)
                s->longest_wait = got - asked;
        }
    }
    s->held += now_ns() - got;
    gil_simple_drop(&g_gil.g);
    return (void *)(uintptr_t)(x & 1);
}

static void *chatty(void *arg)
{
    struct stats *s = arg;
    pin_to_cpu(cpu_nth(1));
    uint64_t x = 0;
    while (!atomic_load_explicit(&g_stop, memory_order_relaxed)) {
        take(&g_gil, 1);
        for (int64_t end = now_ns() + g_hold; now_ns() < end;) {
            x += gil_work(x);
            if (atomic_load_explicit(&g_gil.g.drop_request, memory_order_relaxed)) {
                drop_on_request(&g_gil, 1);
                take(&g_gil, 1);
            }
        }
        gil_simple_drop(&g_gil.g); /* Py_BEGIN_ALLOW_THREADS around a quick call */
        for (int64_t end = now_ns() + g_io; now_ns() < end;)
            ;
        s->calls++;
    }
    return (void *)(uintptr_t)(x & 1);
}

static void run(bool deadline, int64_t duration, int64_t interval)
{
    gil_simple_init(&g_gil.g, interval);
    CHECK_PT(pthread_cond_init(&g_gil.switched, NULL));
    g_gil.deadline = deadline;
    atomic_store(&g_stop, false);
    struct stats s[2] = { { 0 }, { 0 } };
    pthread_t t[2];
    CHECK_PT(pthread_create(&t[1], NULL, chatty, &s[1]));
    sleep_ns(NS_PER_MS); /* the chatty thread has the GIL: the hog must ask */
    CHECK_PT(pthread_create(&t[0], NULL, hog, &s[0]));
    sleep_ns(duration);
    atomic_store(&g_stop, true);
    for (int i = 0; i < 2; i++)
        CHECK_PT(pthread_join(t[i], NULL));
    printf("  %-34s %8.1f%% %12.1f %10lu %12.0f\n", deadline ? "step 2 a deadline" : "step 2 a timeout (CPython)",
           100.0 * (double)s[0].held / (double)duration, (double)s[0].longest_wait / 1e6, g_gil.g.drop_requests,
           (double)s[1].calls / ((double)duration / 1e9));
    CHECK_PT(pthread_cond_destroy(&g_gil.switched));
    gil_simple_destroy(&g_gil.g);
}

int main(int argc, char **argv)
{
    int64_t duration = 300 * NS_PER_MS, interval = 5 * NS_PER_MS;
    g_hold = 100 * NS_PER_US;
    g_io = 0;
    const struct cli_opt opts[] = {
        { "hold", CLI_DURATION, &g_hold, "the chatty thread's run with the GIL between calls", NS_PER_US,
          10 * NS_PER_MS, NULL, NULL },
        { "io", CLI_DURATION, &g_io, "its call without the GIL", 0, 10 * NS_PER_MS, NULL, NULL },
        { "interval", CLI_DURATION, &interval, "the switch interval", 100 * NS_PER_US, NS_PER_S, NULL, NULL },
        { "duration", CLI_DURATION, &duration, "length of each run", 10 * NS_PER_MS, 60 * NS_PER_S, "60ms", NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "Exercise 2: step 2 of the GIL as a timeout and as a deadline, a hog beside a chatty\n"
                          "I/O thread.", opts, &cli);
    if (cpu_count() < 2)
        fatal("needs two CPUs (the starving needs the hog to wake on another core)");
    char h[16], io[16], iv[16];
    printf("a hog (CPU 0) and a chatty thread (CPU 1: %s with the GIL, %s without, in turn); interval %s\n",
           format_duration(g_hold, h, sizeof h), format_duration(g_io, io, sizeof io),
           format_duration(interval, iv, sizeof iv));
    printf("  %-34s %9s %12s %10s %12s\n", "", "hog held", "longest ms", "requests", "calls/s");
    run(false, duration, interval);
    run(true, duration, interval);
    return 0;
}
