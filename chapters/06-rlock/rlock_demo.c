/* rlock_demo.c: a lock its owner may take again, against one it may not.
 *
 * Mirrors: the lesson's threading.RLock, "a Lock and a counter, so the same thread can
 * acquire it several times; other threads get it once every acquire has had its
 * release", and the Lock that deadlocks on itself when its own holder asks again.
 *
 * Part 1: a recursive function takes the lock at each level, three deep, as code does
 *   when a locked method calls another locked method of the same object. With the
 *   RLock (rlock.c) each level adds 1 to the count and each return takes 1 off.
 * Part 2: the same function with a default pthread mutex. The second level asks for a
 *   mutex its own thread holds; a default mutex does not look at who holds it, so it
 *   waits for itself, forever. Here the wait is a timed lock (--timeout, 1 s): it gives
 *   up with ETIMEDOUT and the program reports the self-deadlock and unwinds.
 * Part 3: the rules. While main holds the RLock twice, thread "other" tries to release
 *   it (refused: EPERM, Python's RuntimeError), to take it without waiting (EBUSY) and
 *   with a timeout (ETIMEDOUT); then waits for it. Main's first release leaves count 1
 *   and other still waiting; the second frees it, and other gets it. Last, main
 *   releases once more than it acquired: refused, EPERM.
 *
 * Run:  ./rlock_demo [--timeout 1s]
 * Look for: count 1, 2, 3 and back; "gave up after 1.00s" in part 2; EPERM twice.
 * See also: ../05-deadlock/errorcheck.c (a mutex that returns EDEADLK instead),
 * lock_compare.c (what the RLock costs).
 */
#include "rlock.h"

#include <errno.h>
#include <semaphore.h>
#include <string.h>

static struct rlock g_rlock;
static pthread_mutex_t g_mutex = PTHREAD_MUTEX_INITIALIZER;
static int64_t g_timeout = NS_PER_S;
static int g_depth = 3;

static const char *code(int rc)
{
    return rc == 0 ? "0" : strerrorname_np(rc);
}

/* ---- part 1 ---- */

static void visit_rlock(int depth)
{
    int rc = rlock_acquire(&g_rlock, -1);
    if (rc != 0)
        die_en(rc, "rlock_acquire");
    trace("%*sdepth %d: acquired the RLock, count %lu", 2 * depth, "", depth, rlock_count(&g_rlock));
    if (depth < g_depth)
        visit_rlock(depth + 1);
    if ((rc = rlock_release(&g_rlock)) != 0)
        die_en(rc, "rlock_release");
    trace("%*sdepth %d: released, count %lu", 2 * depth, "", depth, rlock_count(&g_rlock));
}

/* ---- part 2 ---- */

static bool visit_mutex(int depth) /* false: gave up */
{
    struct timespec deadline = deadline_after(CLOCK_REALTIME, g_timeout);
    int64_t t = now_ns();
    int rc = pthread_mutex_timedlock(&g_mutex, &deadline);
    if (rc == ETIMEDOUT) {
        trace("%*sdepth %d: the mutex is held by this very thread (depth %d): it waits for itself;",
              2 * depth, "", depth, depth - 1);
        trace("%*s  gave up after %.2fs (ETIMEDOUT). pthread_mutex_lock would wait forever.",
              2 * depth, "", (double)(now_ns() - t) / 1e9);
        return false;
    }
    if (rc != 0)
        die_en(rc, "pthread_mutex_timedlock");
    trace("%*sdepth %d: locked the mutex", 2 * depth, "", depth);
    bool ok = depth < g_depth ? visit_mutex(depth + 1) : true;
    CHECK_PT(pthread_mutex_unlock(&g_mutex));
    trace("%*sdepth %d: unlocked%s", 2 * depth, "", depth, ok ? "" : " (unwinding after the self-deadlock)");
    return ok;
}

/* ---- part 3 ---- */

static sem_t g_tried; /* other -> main: done trying, now waiting for real */

static void *other(void *arg)
{
    (void)arg;
    trace_name("other");
    int rc = rlock_release(&g_rlock);
    trace("    release, not being the owner:     %s (Python: RuntimeError)", code(rc));
    if (rc != EPERM)
        fatal("expected EPERM");
    rc = rlock_acquire(&g_rlock, 0);
    trace("    acquire(blocking=False):          %s", code(rc));
    if (rc != EBUSY)
        fatal("expected EBUSY");
    int64_t t = now_ns();
    rc = rlock_acquire(&g_rlock, g_timeout / 4);
    trace("    acquire(timeout=%.3f):           %s after %.3fs", (double)(g_timeout / 4) / 1e9, code(rc),
          (double)(now_ns() - t) / 1e9);
    if (rc != ETIMEDOUT)
        fatal("expected ETIMEDOUT");
    trace("    acquire(), waiting as long as it takes...");
    CHECK_SYS(sem_post(&g_tried));
    t = now_ns();
    if ((rc = rlock_acquire(&g_rlock, -1)) != 0)
        die_en(rc, "rlock_acquire");
    trace("    ...got it after %.2fs, count %lu", (double)(now_ns() - t) / 1e9, rlock_count(&g_rlock));
    if ((rc = rlock_release(&g_rlock)) != 0)
        die_en(rc, "rlock_release");
    return NULL;
}

int main(int argc, char **argv)
{
    long depth = 3;
    const struct cli_opt opts[] = {
        { "timeout", CLI_DURATION, &g_timeout, "how long a timed lock waits", 10 * NS_PER_MS, 60 * NS_PER_S,
          "100ms", NULL },
        { "depth", CLI_INT, &depth, "levels of the recursive function", 2, 10, "3", NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "A recursive function takes an RLock three deep; a plain mutex deadlocks on\n"
                          "itself (caught with a timed lock); a non-owner's release is refused.", opts, &cli);
    g_depth = (int)depth;
    trace_start();
    rlock_init(&g_rlock);

    trace("part 1: a recursive function, the RLock taken at every level");
    visit_rlock(1);

    trace("part 2: the same function with a default mutex");
    visit_mutex(1);

    trace("part 3: who may release, and when others get it");
    int rc;
    for (int i = 0; i < 2; i++)
        if ((rc = rlock_acquire(&g_rlock, -1)) != 0)
            die_en(rc, "rlock_acquire");
    trace("main holds the RLock, count %lu", rlock_count(&g_rlock));
    CHECK_SYS(sem_init(&g_tried, 0, 0));
    pthread_t t;
    CHECK_PT(pthread_create(&t, NULL, other, NULL));
    while (sem_wait(&g_tried) == -1)
        if (errno != EINTR)
            die("sem_wait");
    sleep_ns(g_timeout / 10); /* let it settle into its wait */
    if ((rc = rlock_release(&g_rlock)) != 0)
        die_en(rc, "rlock_release");
    trace("main: released once, count %lu: still mine, other keeps waiting", rlock_count(&g_rlock));
    sleep_ns(g_timeout / 10);
    if ((rc = rlock_release(&g_rlock)) != 0)
        die_en(rc, "rlock_release");
    trace("main: released again: free, which wakes other");
    CHECK_PT(pthread_join(t, NULL));
    rc = rlock_release(&g_rlock);
    trace("main: one release more than acquired: %s (Python: RuntimeError)", code(rc));
    if (rc != EPERM)
        fatal("expected EPERM");
    CHECK_SYS(sem_destroy(&g_tried));
    rlock_destroy(&g_rlock);
    return 0;
}
