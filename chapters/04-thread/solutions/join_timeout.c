/* solutions/join_timeout.c: exercise 3 of chapter 04 (threads).
 *
 * The question: give the Thread a join with a timeout, like Python's join(timeout),
 * with pthread_clockjoin_np, and show that it returns on time with the thread still
 * alive, and that a later join still works.
 *
 * The answer: pthread_clockjoin_np (glibc 2.31) waits for the thread until an absolute
 * time on a clock of our choosing, CLOCK_MONOTONIC here, so setting the wall clock
 * neither stretches nor cuts the wait, and returns ETIMEDOUT if the thread is still
 * running then. The thread is not disturbed: join it again later. Python's
 * join(timeout) returns None either way and you must ask is_alive(); in C the return
 * value says it. Two details:
 *  - ThreadSanitizer (gcc 12, clang 14) does not know pthread_clockjoin_np: it would
 *    see neither the join nor what it orders (a data race on everything the thread
 *    wrote, and a "thread leak"). Under TSan this program uses pthread_timedjoin_np,
 *    which TSan does intercept, with a CLOCK_REALTIME deadline (chapter 05's timed locks
 *    make the same trade for pthread_mutex_clocklock).
 *  - In thread.c, a successful timed join must do what thread_join does after
 *    pthread_join: mark the thread joined and take it off the registry, under g_lock.
 *    This program keeps to plain pthreads so that it can show the call on its own.
 *
 * What it does: starts a thread that works (sleeps) for --work; joins it with a
 * timeout of a third of that: ETIMEDOUT, on time, the thread alive; then with a timeout
 * well beyond its end: joined, with its result.
 *
 * Run:  solutions/join_timeout [--work 600ms]
 * Look for: "ETIMEDOUT after 0.20 s", "still running: yes"; then "joined after".
 */
#include "common.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

static int64_t g_work;
static atomic_bool g_done;

static void *worker(void *arg)
{
    sleep_ns(g_work);
    atomic_store(&g_done, true);
    return arg;
}

/* pthread_join with a relative timeout; 0 or ETIMEDOUT */
static int join_timeout(pthread_t t, void **result, int64_t timeout_ns)
{
#ifdef WB_TSAN
    struct timespec until = deadline_after(CLOCK_REALTIME, timeout_ns);
    return pthread_timedjoin_np(t, result, &until);
#else
    struct timespec until = deadline_after(CLOCK_MONOTONIC, timeout_ns);
    return pthread_clockjoin_np(t, result, CLOCK_MONOTONIC, &until);
#endif
}

int main(int argc, char **argv)
{
    g_work = 600 * NS_PER_MS;
    const struct cli_opt opts[] = {
        { "work", CLI_DURATION, &g_work, "how long the thread runs", 30 * NS_PER_MS, 60 * NS_PER_S, "150ms", NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "Exercise 3: join a thread with a timeout, then join it for good.", opts, &cli);
    static char answer[] = "42";
    pthread_t t;
    int64_t t0 = now_ns();
    CHECK_PT(pthread_create(&t, NULL, worker, answer));
    void *result = NULL;
    int rc = join_timeout(t, &result, g_work / 3);
    printf("join(timeout=%.2f s) -> %s after %.2f s; still running: %s\n", (double)g_work / 3e9,
           rc == 0 ? "0" : strerrorname_np(rc), (double)(now_ns() - t0) / 1e9, atomic_load(&g_done) ? "no" : "yes");
    if (rc != ETIMEDOUT)
        fatal("expected ETIMEDOUT, got %s", rc == 0 ? "0" : strerror(rc));
    rc = join_timeout(t, &result, 10 * g_work);
    printf("join(timeout=%.2f s) -> %s after %.2f s; the thread returned \"%s\"\n", 10 * (double)g_work / 1e9,
           rc == 0 ? "0, joined" : strerrorname_np(rc), (double)(now_ns() - t0) / 1e9, result ? (char *)result : "?");
    if (rc != 0)
        die_en(rc, "the second join");
    return 0;
}
