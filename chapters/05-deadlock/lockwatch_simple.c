/* lockwatch_simple.c: a lock that knows its holder's name, and a timed lock that says it.
 *
 * lockwatch's idea and nothing more: a default mutex, and beside it the name of the
 * thread that took it (the kernel's name for the thread, which pthread_setname_np sets;
 * "main" for the main thread). A timed lock that gives up says who has the lock:
 *     "ab waits for B, held by ba"
 * One small mutex, g_names, guards the names, so that a waiter can read one while the
 * holder may be letting go: a name is written after the lock is taken and cleared
 * before it is released.
 *
 * The API is lockwatch.c's, a subset of lockwatch.h (wlock_init, destroy, lock,
 * timedlock, trylock, unlock, holder), so a program links either one: who_holds_simple
 * is who_holds linked with this file. What it lacks, and lockwatch.c adds:
 *   - who waits for what. With only the holder's name, a report cannot tell a holder
 *     that is merely slow from one that waits for a lock the caller holds (a deadlock),
 *     nor tell a thread stuck behind a deadlock that there is one: who_holds shows both.
 *     lockwatch.c records every wait, follows the chain of waits, and names the cycle;
 *   - threads with names and a watchdog over progress (wthread_start, _join_all), and
 *     a report of every lock with the kernel's view of each thread (watch_report).
 * Deliberately as in lockwatch.c: the struct (lockwatch.h's), and the timed lock's
 * CLOCK_REALTIME deadline (lockwatch.c's header says why).
 */
#include "lockwatch.h"

#include <errno.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static pthread_mutex_t g_names = PTHREAD_MUTEX_INITIALIZER; /* guards every lock's holder */

void wlock_init(struct wlock *l, const char *name)
{
    memset(l, 0, sizeof *l);
    CHECK_PT(pthread_mutex_init(&l->mutex, NULL)); /* a default mutex, as in the lessons */
    l->name = name;
}

void wlock_destroy(struct wlock *l)
{
    CHECK_PT(pthread_mutex_destroy(&l->mutex));
}

/* the calling thread's name, as `ps -L` shows it */
static const char *my_name(char *buf, size_t len)
{
    if (gettid() == getpid())
        snprintf(buf, len, "main");
    else if (prctl(PR_GET_NAME, (unsigned long)buf, 0UL, 0UL, 0UL) == -1) /* buf: 16 bytes */
        die("prctl(PR_GET_NAME)");
    return buf;
}

/* the caller has just taken l: its name goes beside the lock */
static void took(struct wlock *l)
{
    char me[WATCH_NAME_MAX];
    my_name(me, sizeof me);
    CHECK_PT(pthread_mutex_lock(&g_names));
    snprintf(l->holder, sizeof l->holder, "%s", me);
    l->holder_tid = gettid();
    l->held_since = now_ns();
    CHECK_PT(pthread_mutex_unlock(&g_names));
}

void wlock_lock(struct wlock *l)
{
    CHECK_PT(pthread_mutex_lock(&l->mutex));
    took(l);
}

int wlock_timedlock(struct wlock *l, int64_t timeout_ns, char *why, size_t len)
{
    struct timespec deadline = deadline_after(CLOCK_REALTIME, timeout_ns);
    int rc = pthread_mutex_timedlock(&l->mutex, &deadline);
    if (rc == 0) {
        took(l);
        return 0;
    }
    if (rc != ETIMEDOUT)
        die_en(rc, "pthread_mutex_timedlock(%s)", l->name);
    if (why && len) { /* all it knows: who waits (we do), and who holds */
        char me[WATCH_NAME_MAX];
        my_name(me, sizeof me);
        CHECK_PT(pthread_mutex_lock(&g_names));
        if (l->holder_tid)
            snprintf(why, len, "%s waits for %s, held by %s", me, l->name, l->holder);
        else
            snprintf(why, len, "%s waits for %s, which was just released", me, l->name);
        CHECK_PT(pthread_mutex_unlock(&g_names));
    }
    return ETIMEDOUT;
}

int wlock_trylock(struct wlock *l)
{
    int rc = pthread_mutex_trylock(&l->mutex);
    if (rc == 0)
        took(l);
    else if (rc != EBUSY)
        die_en(rc, "pthread_mutex_trylock(%s)", l->name);
    return rc;
}

void wlock_unlock(struct wlock *l)
{
    CHECK_PT(pthread_mutex_lock(&g_names));
    l->holder[0] = '\0';
    l->holder_tid = 0;
    CHECK_PT(pthread_mutex_unlock(&g_names));
    CHECK_PT(pthread_mutex_unlock(&l->mutex));
}

const char *wlock_holder(struct wlock *l, char *buf, size_t len)
{
    CHECK_PT(pthread_mutex_lock(&g_names));
    snprintf(buf, len, "%s", l->holder);
    CHECK_PT(pthread_mutex_unlock(&g_names));
    return buf;
}
