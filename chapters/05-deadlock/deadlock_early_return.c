/* deadlock_early_return.c: a lock that is never released because a function returned
 * early, and every thread that comes after it waiting forever.
 *
 * Mirrors: the lesson's get_value(index): 30 threads each take one lock, look up
 * their index in the list [3, 6, 8, 1], sleep 0.2 s and release. The index check
 * returns early, before the release, so the first thread with an index past the end
 * leaves the lock locked when it returns; every thread after it blocks in acquire().
 * The Python program hangs there. This one must not:
 *
 *   - a watchdog (the main thread, in lockwatch.c's wthread_join_all) joins the
 *     threads as they end and notices when nothing has happened for --stall (1 s);
 *   - it then reports the lock: who took it last (a thread that has ended: the kernel
 *     no longer lists it), the owner glibc wrote into the mutex, the threads waiting
 *     and what the kernel says they do (sleeping in futex(), on the mutex's address);
 *   - and exits with status 1. The blocked threads cannot be joined (they will never
 *     return) nor safely cancelled (a thread cancelled inside pthread_mutex_lock
 *     leaves the mutex's state undefined); exit() ends them with the process.
 *
 * Which thread leaks the lock depends on the order in which the threads get it. Here
 * that is usually index order (each thread is up before the next one starts, and the
 * kernel wakes a futex's waiters roughly first come, first served), so get_value-4
 * leaks it after four values; nothing promises that order, though, and the report
 * names whoever it was.
 *
 * --fixed: the lock is released on every path. C has no `with lock:`; the fix here is
 * gcc's and clang's cleanup attribute, which calls a function when a variable goes
 * out of scope, however the block is left (return included). In portable C the fix
 * is one exit: `goto out;` and a single unlock before the one return.
 *
 * Run:  ./deadlock_early_return            (exits 1 after about a second, with a report)
 *       ./deadlock_early_return --fixed    (all 30 threads finish, exit 0)
 * Look for: "held by get_value-N ... the thread has ended", and the waiters.
 * See also: deadlock_abba.c (a deadlock between two locks), errorcheck.c (a mutex
 * that refuses misuse instead of hanging).
 */
#include "lockwatch.h"

#include <stdint.h>
#include <stdlib.h>

static struct wlock g_lock;
static int64_t g_hold = 200 * NS_PER_MS;
static const int g_table[] = { 3, 6, 8, 1 };

/* the lesson's get_value, bug included */
static void get_value(int index)
{
    wlock_lock(&g_lock);
    trace("took the lock, looking up index %d", index);
    if (index >= (int)ARRAY_LEN(g_table)) {
        trace("index %d is out of range: returning early, the lock still held", index);
        return; /* the bug: the release below never runs */
    }
    trace("value %d", g_table[index]);
    sleep_ns(g_hold);
    wlock_unlock(&g_lock);
}

/* ---- the fix: the lock is released whichever way the function is left ---- */

static void unlock_at_scope_end(struct wlock **l)
{
    wlock_unlock(*l);
}
/* `with lock:` for C (a GNU extension that gcc and clang share) */
#define WITH_LOCK(name, l)                                                             \
    struct wlock *name __attribute__((cleanup(unlock_at_scope_end))) = (wlock_lock(l), (l))

static void get_value_fixed(int index)
{
    WITH_LOCK(held, &g_lock);
    (void)held;
    trace("took the lock, looking up index %d", index);
    if (index >= (int)ARRAY_LEN(g_table)) {
        trace("index %d is out of range: returning early, and the lock goes with us", index);
        return; /* unlock_at_scope_end(&held) runs here */
    }
    trace("value %d", g_table[index]);
    sleep_ns(g_hold);
} /* ... and here */

static bool g_fixed;

static void worker(void *arg)
{
    int index = (int)(intptr_t)arg;
    if (g_fixed)
        get_value_fixed(index);
    else
        get_value(index);
}

int main(int argc, char **argv)
{
    static struct wthread threads[100];
    long n = 30;
    int64_t stall = NS_PER_S;
    const struct cli_opt opts[] = {
        { "threads", CLI_INT, &n, "threads, each looking up its own index", 1, (double)ARRAY_LEN(threads), "30", NULL },
        { "hold", CLI_DURATION, &g_hold, "how long a lookup holds the lock", 0, 10 * NS_PER_S, "10ms", NULL },
        { "stall", CLI_DURATION, &stall, "the watchdog's limit: no progress for this long", 10 * NS_PER_MS,
          60 * NS_PER_S, "200ms", NULL },
        { "fixed", CLI_FLAG, &g_fixed, "release the lock on every path", 0, 0, NULL, NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "30 threads share one lock; an early return skips the release and the\n"
                          "rest wait forever. A watchdog reports who holds it and exits 1.", opts, &cli);
    if (stall < 2 * g_hold) { /* a lookup holds the lock that long with no progress */
        char s1[32], s2[32];
        cli_error("--stall (%s) must be at least twice --hold (%s), or a lookup looks like a deadlock",
                  format_duration(stall, s1, sizeof s1), format_duration(g_hold, s2, sizeof s2));
    }

    trace_start();
    wlock_init(&g_lock, "lock");
    trace("%ld threads look up their index in [3, 6, 8, 1] under one lock%s", n,
          g_fixed ? " (--fixed: released on every path)" : "");
    for (long i = 0; i < n; i++) {
        char name[WATCH_NAME_MAX];
        snprintf(name, sizeof name, "get_value-%d", (int)(i % 100));
        wthread_start(&threads[i], name, worker, (void *)(intptr_t)i);
    }
    if (wthread_join_all(threads, (size_t)n, stall) == 0) {
        char holder[WATCH_NAME_MAX];
        trace("all %ld threads finished; the lock is %s", n,
              wlock_holder(&g_lock, holder, sizeof holder)[0] ? "STILL HELD" : "free");
        wlock_destroy(&g_lock);
        return 0;
    }
    watch_report();
    trace("exit status 1: a deadlock. The waiting threads cannot be joined; exit ends them.");
    exit(1);
}
