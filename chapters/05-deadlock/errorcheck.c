/* errorcheck.c: a mutex that refuses misuse with an error code instead of hanging.
 *
 * Mirrors: what Python's Lock does not do. lock.acquire() twice in one thread just
 * hangs (the self-deadlock of a plain Lock), and the lessons' early return leaves a
 * lock nobody can release. POSIX has a mutex type that checks its owner:
 *
 *   PTHREAD_MUTEX_ERRORCHECK  lock by the owner     -> EDEADLK ("would deadlock")
 *                             unlock by a non-owner -> EPERM
 *                             unlock when unlocked  -> EPERM
 *   PTHREAD_MUTEX_DEFAULT     lock by the owner     -> waits forever
 *   (glibc: = NORMAL)         unlock by a non-owner -> undefined; glibc just unlocks
 *
 * The check is cheap because glibc keeps the owner's thread id in the mutex anyway
 * (the report of deadlock_early_return.c prints it): an error-checking lock compares
 * it with the caller's id. Part 2 shows the default mutex's self-deadlock, bounded:
 * the second lock is a timed lock, which gives up after --timeout with ETIMEDOUT where
 * pthread_mutex_lock would never return. The default mutex's wrong-thread unlock is
 * not run: it is undefined behaviour.
 *
 * Under ThreadSanitizer, expect it to flag the deliberate wrong-thread unlocks too
 * ("unlock of an unlocked mutex (or by a wrong thread)") and exit 66.
 *
 * Run:  ./errorcheck [--timeout 1s]
 * Look for: EDEADLK, EPERM, EPERM, and ETIMEDOUT after the timeout.
 * See also: ../06-rlock/rlock_demo.c (a lock that may be taken again by its owner).
 */
#include "common.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

static pthread_mutex_t g_m;

/* "0 (success)" or "EDEADLK (Resource deadlock avoided)" */
static const char *result(int rc, char *buf, size_t len)
{
    if (rc == 0)
        snprintf(buf, len, "0 (success)");
    else
        snprintf(buf, len, "%s (%s)", strerrorname_np(rc), strerror(rc));
    return buf;
}

/* the other thread's attempts on a mutex the main thread holds */
static void *other(void *arg)
{
    (void)arg;
    char buf[128];
    trace_name("other");
    int rc = pthread_mutex_unlock(&g_m);
    trace("    unlock by a thread that does not own it: %s", result(rc, buf, sizeof buf));
    if (rc != EPERM)
        fatal("expected EPERM");
    rc = pthread_mutex_trylock(&g_m);
    trace("    trylock while main holds it:             %s", result(rc, buf, sizeof buf));
    if (rc != EBUSY)
        fatal("expected EBUSY");
    return NULL;
}

static void expect(int rc, int want, const char *what)
{
    char buf[128];
    trace("%-46s %s", what, result(rc, buf, sizeof buf));
    if (rc != want)
        fatal("%s: expected %s", what, want ? strerrorname_np(want) : "0");
}

int main(int argc, char **argv)
{
    int64_t timeout = NS_PER_S;
    const struct cli_opt opts[] = {
        { "timeout", CLI_DURATION, &timeout, "how long part 2's timed lock waits", NS_PER_MS, 60 * NS_PER_S,
          "100ms", NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "An error-checking mutex returns EDEADLK and EPERM where a default mutex\n"
                          "would hang or misbehave.", opts, &cli);
    trace_start();

    trace("part 1: PTHREAD_MUTEX_ERRORCHECK");
    pthread_mutexattr_t attr;
    CHECK_PT(pthread_mutexattr_init(&attr));
    CHECK_PT(pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK));
    CHECK_PT(pthread_mutex_init(&g_m, &attr));
    CHECK_PT(pthread_mutexattr_destroy(&attr));
    expect(pthread_mutex_lock(&g_m), 0, "lock:");
    expect(pthread_mutex_lock(&g_m), EDEADLK, "lock again by the owner:");
    pthread_t t;
    CHECK_PT(pthread_create(&t, NULL, other, NULL));
    CHECK_PT(pthread_join(t, NULL));
    expect(pthread_mutex_unlock(&g_m), 0, "unlock by the owner:");
    expect(pthread_mutex_unlock(&g_m), EPERM, "unlock again, now that it is unlocked:");
    CHECK_PT(pthread_mutex_destroy(&g_m));

    trace("part 2: PTHREAD_MUTEX_DEFAULT, the same second lock, with a time limit");
    CHECK_PT(pthread_mutex_init(&g_m, NULL));
    expect(pthread_mutex_lock(&g_m), 0, "lock:");
    struct timespec deadline = deadline_after(CLOCK_REALTIME, timeout);
    int64_t t0 = now_ns();
    int rc = pthread_mutex_timedlock(&g_m, &deadline);
    char what[96];
    snprintf(what, sizeof what, "lock again by the owner, gave up after %.2fs:", (double)(now_ns() - t0) / 1e9);
    expect(rc, ETIMEDOUT, what);
    trace("the default mutex does not check its owner: pthread_mutex_lock here would never return");
    expect(pthread_mutex_unlock(&g_m), 0, "unlock by the owner:");
    CHECK_PT(pthread_mutex_destroy(&g_m));
    return 0;
}
