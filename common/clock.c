/* clock.c: monotonic time in nanoseconds, sleeps that survive signals, and the
 * absolute deadlines that the timed waits of pthreads and POSIX IPC take. */
#include "common.h"

#include <errno.h>
#include <sys/prctl.h>

int64_t ts_to_ns(struct timespec ts)
{
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

struct timespec ns_to_ts(int64_t ns)
{
    struct timespec ts = { .tv_sec = (time_t)(ns / NS_PER_S), .tv_nsec = (long)(ns % NS_PER_S) };
    if (ts.tv_nsec < 0) { /* keep tv_nsec in [0, 1e9) for negative ns */
        ts.tv_sec -= 1;
        ts.tv_nsec += NS_PER_S;
    }
    return ts;
}

int64_t now_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
        die("clock_gettime(CLOCK_MONOTONIC)");
    return ts_to_ns(ts);
}

/* An absolute sleep: when a signal handler interrupts it, sleeping again to the same
 * deadline loses no time (a relative nanosleep restarted in a loop would drift). */
void sleep_until_ns(int64_t t)
{
    struct timespec ts = ns_to_ts(t);
    int rc;
    while ((rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL)) == EINTR)
        ;
    if (rc != 0)
        die_en(rc, "clock_nanosleep");
}

void sleep_ns(int64_t ns)
{
    if (ns > 0)
        sleep_until_ns(now_ns() + ns);
}

/* t + ns for ns >= 0, stopping at INT64_MAX instead of wrapping round (which would be
 * undefined behaviour, and in practice a deadline far in the past) */
static int64_t add_saturating(int64_t t, int64_t ns)
{
    return ns > INT64_MAX - t ? INT64_MAX : t + ns;
}

int64_t deadline_in(int64_t timeout_ns)
{
    if (timeout_ns < 0)
        return NO_DEADLINE;
    return add_saturating(now_ns(), timeout_ns);
}

int64_t ns_left(int64_t deadline)
{
    if (deadline == NO_DEADLINE)
        return NO_DEADLINE;
    int64_t now = now_ns();
    return deadline > now ? deadline - now : 0;
}

struct timespec deadline_after(clockid_t clk, int64_t ns)
{
    struct timespec now;
    if (clock_gettime(clk, &now) == -1)
        die("clock_gettime");
    int64_t t = ts_to_ns(now);
    return ns_to_ts(ns >= 0 ? add_saturating(t, ns) : t + ns);
}

void tight_timer_slack(void)
{
    if (prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL) == -1)
        die("prctl(PR_SET_TIMERSLACK)");
}
