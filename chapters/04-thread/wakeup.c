/* wakeup.c: how long a sleeping thread takes to run once it is woken, and how late a
 * short sleep ends.
 *
 * Mirrors: what sits under every blocking call of the lessons (Queue.get(), a Lock that
 * another thread holds, Condition.wait(), time.sleep()): the kernel puts the thread to
 * sleep, and waking it is not free.
 *
 * Part 1, wake-ups. A sleeper thread waits on one of four things; the waker (the main
 * thread) leaves it asleep for --gap, reads the clock and wakes it; the sleeper reads
 * the clock as soon as it runs. Then the sleeper answers the same way, and the waker
 * waits for the answer (so on one core it gives up the CPU at once, as a thread handing
 * over work would).
 *   condition variable   pthread_cond_signal, then unlock (Condition.notify, Queue.put)
 *   futex                a word set to 1, FUTEX_WAKE (a mutex's unlock with a waiter)
 *   pipe                 a byte written; the sleeper waits in poll, then reads it
 *   spin                 no sleep: the sleeper spins on the word (for reference)
 * Each with both threads on one CPU ("same core") and on two ("other core"), the first
 * two this process may use. The blocks of rounds go round robin over the ways.
 *
 * Part 2, the timer slack. clock_nanosleep for 10 µs to 1 ms, with the thread's timer
 * slack as it is (PR_GET_TIMERSLACK: 50 µs unless changed), then with a slack of 1 ns
 * (common/'s tight_timer_slack()). The kernel may end a sleep up to the slack late, to
 * serve several timers with one interrupt; add the wake-up of part 1.
 *
 * Run:  ./wakeup [--rounds 2000] [--gap 100us] [--sleeps 200] [--data FILE]
 * Look for: a few µs on the same core, several times that on the other core (waking an
 * idle CPU), a spinning waiter far below both; a 50 µs sleep about the slack late with
 * the default slack, much less with 1 ns.
 * See also: thread.c's start line (why racing threads spin instead of sleeping),
 * ../06-rlock/lock_compare.c (how rarely a mutex's waiter really sleeps).
 */
#include "common.h"

#include <errno.h>
#include <linux/futex.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

enum kind { COND, FUTEX, PIPE, SPIN, NKINDS };
static const char *const kind_name[NKINDS] = { "condition variable", "futex", "pipe (poll, read)",
                                               "spin (no sleep)" };
enum { SAME, OTHER, NPLACES, BLOCKS = 10 };
#define WAIT_LIMIT (10 * NS_PER_S) /* no wait here may last longer: it would be a bug */

/* One direction of signalling: bell_ring() wakes whoever waits in bell_wait(). */
struct bell {
    enum kind kind;
    pthread_mutex_t m;
    pthread_cond_t c;
    int flag;         /* COND, under m */
    atomic_uint word; /* FUTEX, SPIN */
    int fd[2];        /* PIPE */
};

static void bell_init(struct bell *b, enum kind k)
{
    pthread_condattr_t ca;
    CHECK_PT(pthread_condattr_init(&ca));
    CHECK_PT(pthread_condattr_setclock(&ca, CLOCK_MONOTONIC));
    CHECK_PT(pthread_cond_init(&b->c, &ca));
    CHECK_PT(pthread_condattr_destroy(&ca));
    CHECK_PT(pthread_mutex_init(&b->m, NULL));
    b->kind = k;
    b->flag = 0;
    atomic_init(&b->word, 0);
    CHECK_SYS(pipe(b->fd));
}

static void bell_destroy(struct bell *b)
{
    CHECK_PT(pthread_cond_destroy(&b->c));
    CHECK_PT(pthread_mutex_destroy(&b->m));
    CHECK_SYS(close(b->fd[0]));
    CHECK_SYS(close(b->fd[1]));
}

/* Wakes the waiter; returns the clock read just before the wake. */
static int64_t bell_ring(struct bell *b)
{
    int64_t t;
    if (b->kind == COND) {
        CHECK_PT(pthread_mutex_lock(&b->m));
        b->flag = 1;
        t = now_ns();
        CHECK_PT(pthread_cond_signal(&b->c));
        CHECK_PT(pthread_mutex_unlock(&b->m));
    } else if (b->kind == PIPE) {
        t = now_ns();
        if (write(b->fd[1], "x", 1) != 1)
            die("write(pipe)");
    } else { /* the clock first: a spinner sees the word at once */
        t = now_ns();
        atomic_store(&b->word, 1);
        if (b->kind == FUTEX)
            CHECK_SYS(syscall(SYS_futex, &b->word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0));
    }
    return t;
}

/* Waits until rung: at most WAIT_LIMIT, which only a bug could reach. */
static void bell_wait(struct bell *b)
{
    int64_t deadline = deadline_in(WAIT_LIMIT);
    if (b->kind == COND) {
        struct timespec ts = deadline_after(CLOCK_MONOTONIC, WAIT_LIMIT);
        CHECK_PT(pthread_mutex_lock(&b->m));
        while (!b->flag)
            CHECK_PT(pthread_cond_timedwait(&b->c, &b->m, &ts));
        b->flag = 0;
        CHECK_PT(pthread_mutex_unlock(&b->m));
    } else if (b->kind == PIPE) {
        struct pollfd p = { .fd = b->fd[0], .events = POLLIN };
        char c;
        int n = poll(&p, 1, (int)(WAIT_LIMIT / NS_PER_MS));
        if (n != 1 || read(b->fd[0], &c, 1) != 1)
            die("poll or read (pipe)%s", n == 0 ? ": nothing came within 10 s" : "");
    } else {
        for (long i = 0; atomic_load(&b->word) == 0; i++) {
            if ((b->kind == FUTEX || i % 4096 == 4095) && ns_left(deadline) == 0)
                fatal("%s: nobody rang within 10 s", kind_name[b->kind]);
            if (b->kind == SPIN)
                continue;
            struct timespec rel = ns_to_ts(ns_left(deadline));
            if (syscall(SYS_futex, &b->word, FUTEX_WAIT_PRIVATE, 0, &rel, NULL, 0) == -1 && errno != EAGAIN &&
                errno != EINTR && errno != ETIMEDOUT)
                die("futex(FUTEX_WAIT)");
        }
        atomic_store(&b->word, 0);
    }
}

struct pair {
    struct bell go, back;
    int cpu;              /* the sleeper's CPU */
    long rounds;
    _Atomic int64_t woke; /* the sleeper's clock reading, this round */
};

static void *sleeper(void *arg)
{
    struct pair *p = arg;
    pin_to_cpu(p->cpu);
    for (long i = 0; i < p->rounds; i++) {
        bell_wait(&p->go);
        atomic_store_explicit(&p->woke, now_ns(), memory_order_release);
        bell_ring(&p->back);
    }
    return NULL;
}

/* One block of rounds: the waker on cpu[0], the sleeper on cpu[place]; latencies in µs
 * go to lat[0..rounds). */
static void block(enum kind k, const int cpu[2], int place, long rounds, int64_t gap, double *lat)
{
    struct pair p = { .cpu = cpu[place], .rounds = rounds };
    bell_init(&p.go, k);
    bell_init(&p.back, k);
    atomic_init(&p.woke, 0);
    pin_to_cpu(cpu[0]);
    pthread_t t;
    CHECK_PT(pthread_create(&t, NULL, sleeper, &p));
    for (long i = 0; i < rounds; i++) {
        sleep_ns(gap); /* the sleeper is asleep by now, and its CPU idle */
        int64_t rang = bell_ring(&p.go);
        bell_wait(&p.back);
        lat[i] = (double)(atomic_load_explicit(&p.woke, memory_order_acquire) - rang) / 1e3;
    }
    CHECK_PT(pthread_join(t, NULL));
    bell_destroy(&p.go);
    bell_destroy(&p.back);
}

/* Summarizes v[0..n): the median and 10th to 90th percentile into the data row and, as
 * "median (p10..p90)", into cell; returns the median. */
static double cell(FILE *data, double *v, size_t n, char *cell, size_t len)
{
    struct summary s = summarize(v, n);
    snprintf(cell, len, "%.1f (%.1f..%.1f)", s.median, s.p10, s.p90);
    data_row(data, " %.3f %.3f %.3f", s.median, s.p10, s.p90);
    return s.median;
}

static void part1(long rounds, int64_t gap, FILE *data)
{
    cpu_set_t before;
    CHECK_SYS(sched_getaffinity(0, sizeof before, &before));
    int cpu[2];
    int nplaces = first_cpus(cpu, 2) == 2 ? NPLACES : 1;
    long per = rounds / BLOCKS;
    double *lat = malloc((size_t)(NKINDS * NPLACES * BLOCKS * per) * sizeof *lat);
    if (!lat)
        die("malloc");
#define LAT(k, pl) (&lat[((size_t)(k) * NPLACES + (size_t)(pl)) * BLOCKS * (size_t)per])
    for (int b = 0; b < BLOCKS; b++) /* round robin over the ways, block by block */
        for (int k = 0; k < NKINDS; k++)
            for (int pl = k == SPIN ? OTHER : SAME; pl < nplaces; pl++)
                block((enum kind)k, cpu, pl, per, gap, LAT(k, pl) + (size_t)(b * per));
    CHECK_SYS(sched_setaffinity(0, sizeof before, &before));

    static const char *const cols[] = {
        "kind (index): 0 condition variable, 1 futex, 2 pipe, 3 spin",
        "same (µs): median wake-up, both threads on one CPU (NaN for spin)", "same_p10 (µs)", "same_p90 (µs)",
        "other (µs): median wake-up, the sleeper on another CPU (NaN with one CPU)", "other_p10 (µs)",
        "other_p90 (µs)", "label (text)", NULL,
    };
    data_block(data, "wake-up latency: the clock before the wake to the sleeper running", cols);
    char cpus[32], gaps[16], text[48];
    snprintf(cpus, sizeof cpus, cpu[1] >= 0 ? "CPUs %d and %d" : "CPU %d only", cpu[0], cpu[1]);
    printf("part 1: from the clock read just before the wake to the sleeper running, µs\n"
           "(median, and 10th to 90th percentile, of %ld wake-ups each; %s; %s gaps)\n", per * BLOCKS, cpus,
           format_duration(gap, gaps, sizeof gaps));
    printf("  %-20s %24s %24s\n", "", "same core", "other core");
    double med[NKINDS][NPLACES];
    for (int k = 0; k < NKINDS; k++) {
        printf("  %-20s", kind_name[k]);
        data_row(data, "%d", k);
        for (int pl = SAME; pl < NPLACES; pl++) {
            med[k][pl] = NAN;
            if ((k == SPIN && pl == SAME) || pl >= nplaces)
                data_row(data, " NaN NaN NaN");
            else
                med[k][pl] = cell(data, LAT(k, pl), (size_t)(BLOCKS * per), text, sizeof text);
            printf(" %24s", isnan(med[k][pl]) ? "n/a" : text);
        }
        printf("\n");
        data_row(data, " \"%s\"\n", kind_name[k]);
    }
#undef LAT
    if (nplaces == NPLACES)
        printf("on the other core a wake-up took %.1fx as long as on the same core (futex, medians); "
               "a spinning waiter saw the word %.0fx sooner than a sleeping one\n",
               med[FUTEX][OTHER] / med[FUTEX][SAME], med[FUTEX][OTHER] / med[SPIN][OTHER]);
    else
        printf("one CPU only: no other-core runs\n");
    free(lat);
}

static void part2(long sleeps, FILE *data)
{
    static const int asked_us[] = { 10, 20, 50, 100, 200, 500, 1000 };
    enum { NASKED = ARRAY_LEN(asked_us) };
    int slack = prctl(PR_GET_TIMERSLACK, 0UL, 0UL, 0UL, 0UL);
    if (slack == -1)
        die("prctl(PR_GET_TIMERSLACK)");
    double *late = malloc((size_t)(2 * NASKED * sleeps) * sizeof *late);
    if (!late)
        die("malloc");
#define LATE(tight, a) (&late[((size_t)(tight) * NASKED + (size_t)(a)) * (size_t)sleeps])
    for (int tight = 0; tight < 2; tight++) {
        if (tight)
            tight_timer_slack();
        for (long r = 0; r < sleeps; r++)
            for (int a = 0; a < NASKED; a++) {
                struct timespec ts = ns_to_ts(asked_us[a] * NS_PER_US);
                int64_t t0 = now_ns();
                int rc = clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
                if (rc != 0)
                    die_en(rc, "clock_nanosleep");
                LATE(tight, a)[r] = (double)(now_ns() - t0 - asked_us[a] * NS_PER_US) / 1e3;
            }
    }
    if (prctl(PR_SET_TIMERSLACK, (unsigned long)slack, 0UL, 0UL, 0UL) == -1) /* as it was */
        die("prctl(PR_SET_TIMERSLACK)");

    static const char *const cols[] = {
        "asked (µs): the sleep asked for", "slack (µs): median lateness with the default slack",
        "slack_p10 (µs)", "slack_p90 (µs)", "tight (µs): median lateness with a slack of 1 ns", "tight_p10 (µs)",
        "tight_p90 (µs)", "default_slack (ns): PR_GET_TIMERSLACK", NULL,
    };
    data_block(data, "how late a sleep ends", cols);
    printf("\npart 2: how late clock_nanosleep returns, µs (median, and 10th to 90th percentile, of %ld sleeps)\n"
           "this thread's timer slack: %d ns (prctl PR_GET_TIMERSLACK)\n", sleeps, slack);
    char head[40], text[2][48];
    snprintf(head, sizeof head, "slack %.0f µs (default)", slack / 1e3);
    printf("  %8s %25s %24s\n", "asked", head, "slack 1 ns");
    double at50[2] = { 0, 0 };
    for (int a = 0; a < NASKED; a++) {
        data_row(data, "%d", asked_us[a]);
        for (int tight = 0; tight < 2; tight++) {
            double m = cell(data, LATE(tight, a), (size_t)sleeps, text[tight], sizeof text[tight]);
            if (asked_us[a] == 50)
                at50[tight] = m;
        }
        data_row(data, " %d\n", slack);
        printf("  %5d µs %24s %24s\n", asked_us[a], text[0], text[1]);
    }
#undef LATE
    printf("a 50 µs sleep ended %.1f µs late with the default slack, %.1f µs with 1 ns\n", at50[0], at50[1]);
    free(late);
}

int main(int argc, char **argv)
{
    long rounds = 2000, sleeps = 200;
    int64_t gap = 100 * NS_PER_US;
    const struct cli_opt opts[] = {
        { "rounds", CLI_INT, &rounds, "wake-ups per way (part 1)", BLOCKS, 1000000, "100", NULL },
        { "gap", CLI_DURATION, &gap, "how long the sleeper sleeps before each wake-up", 10 * NS_PER_US,
          100 * NS_PER_MS, NULL, NULL },
        { "sleeps", CLI_INT, &sleeps, "sleeps per length and slack (part 2)", 1, 100000, "20", NULL },
        { 0 },
    };
    struct cli cli = { .measures = true };
    cli_parse(argc, argv, "How long a sleeping thread takes to run once woken (condition variable, futex,\n"
                          "pipe; same core and other core), and how late short sleeps end with and\n"
                          "without the timer slack.", opts, &cli);
    FILE *data = data_open(cli.data, "wakeup: wake-up latency and the timer slack");
    part1(rounds, gap, data);
    part2(sleeps, data);
    data_close(data);
    return 0;
}
