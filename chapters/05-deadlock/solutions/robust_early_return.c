/* solutions/robust_early_return.c: exercise 1 of chapter 05 (deadlock).
 *
 * The question: make deadlock_early_return's mutex robust (PTHREAD_MUTEX_ROBUST). When
 * get_value-4 returns holding it, what does the next thread's lock return, and can
 * everyone carry on? Why is that possible at all?
 *
 * The answer: the next pthread_mutex_lock returns EOWNERDEAD, and the caller *owns* the
 * lock: it must make the data consistent, call pthread_mutex_consistent, and go on.
 * Here every out-of-range lookup leaks the lock again, and every next thread repairs
 * it: all the threads finish. It works because the kernel learns about the lock: glibc
 * registers a list per thread with set_robust_list(2), and links each robust mutex the
 * thread holds into it, in user memory. When a thread ends, the kernel walks that list
 * (its "robust futex list"); for each mutex whose lock word still holds the thread's id
 * it sets FUTEX_OWNER_DIED in the word and wakes one waiter. A default mutex is never
 * on the list, so nobody ever hears of the death. The repair is the hard part: the lock
 * is back, but whatever it guarded may be half updated (chapter 02's queue.c is built
 * so that nothing ever is). And the bug is still there: a robust mutex is a safety
 * net for a thread or process that *dies*, not a substitute for releasing on every path.
 *
 * What it does: --threads threads run the lesson's get_value on [3, 6, 8, 1] with a
 * robust mutex; each holds it --hold for a value, and an out-of-range index returns
 * holding it. Each EOWNERDEAD is reported, repaired and counted.
 *
 * Run:  solutions/robust_early_return [--threads 10] [--hold 50ms]
 * Look for: "EOWNERDEAD" lines naming the thread that ended holding the lock, and every
 * thread finishing.
 */
#include "common.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

static pthread_mutex_t g_lock;
static int64_t g_hold;
/* Both written under g_lock, but atomics: a thread that takes the lock after its owner
 * died has no unlock to order it after that owner's writes (the kernel handed the lock
 * over), and ThreadSanitizer, rightly strict, would call plain accesses a race. */
static atomic_int g_repairs;
static atomic_int g_last_holder = -1; /* the index of the thread that took it last */
static const int g_table[] = { 3, 6, 8, 1 };

static void lock_robust(int me)
{
    int rc = pthread_mutex_lock(&g_lock);
    if (rc == EOWNERDEAD) { /* we own it; the previous owner ended holding it */
        trace("EOWNERDEAD: get_value-%d ended holding the lock; repairing (nothing to fix here), "
              "pthread_mutex_consistent", atomic_load(&g_last_holder));
        CHECK_PT(pthread_mutex_consistent(&g_lock));
        atomic_fetch_add(&g_repairs, 1);
    } else if (rc != 0) {
        die_en(rc, "pthread_mutex_lock");
    }
    atomic_store(&g_last_holder, me);
}

static void *get_value(void *arg)
{
    int index = (int)(intptr_t)arg;
    char me[16];
    snprintf(me, sizeof me, "get_value-%d", index);
    trace_name(me);
    lock_robust(index);
    if (index >= (int)ARRAY_LEN(g_table)) {
        trace("index %d is out of range: returning early, the lock still held", index);
        return NULL; /* the lesson's bug, kept */
    }
    trace("value %d", g_table[index]);
    sleep_ns(g_hold);
    CHECK_PT(pthread_mutex_unlock(&g_lock));
    return NULL;
}

int main(int argc, char **argv)
{
    long threads = 10;
    g_hold = 50 * NS_PER_MS;
    const struct cli_opt opts[] = {
        { "threads", CLI_INT, &threads, "threads, one per index", 5, 100, "6", NULL },
        { "hold", CLI_DURATION, &g_hold, "how long a lookup holds the lock", 0, 10 * NS_PER_S, "5ms", NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "Exercise 1: the early return with a robust mutex: EOWNERDEAD instead of a hang.",
              opts, &cli);
    trace_start();
    pthread_mutexattr_t ma;
    CHECK_PT(pthread_mutexattr_init(&ma));
    CHECK_PT(pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST));
    CHECK_PT(pthread_mutex_init(&g_lock, &ma));
    CHECK_PT(pthread_mutexattr_destroy(&ma));
    pthread_t t[100];
    for (long i = 0; i < threads; i++)
        CHECK_PT(pthread_create(&t[i], NULL, get_value, (void *)(intptr_t)i));
    for (long i = 0; i < threads; i++) /* every join returns: nobody waits for ever */
        CHECK_PT(pthread_join(t[i], NULL));
    lock_robust(-1); /* the last thread left it held too */
    trace("all %ld threads finished; the lock was repaired %d times", threads, atomic_load(&g_repairs));
    CHECK_PT(pthread_mutex_unlock(&g_lock));
    CHECK_PT(pthread_mutex_destroy(&g_lock));
    return atomic_load(&g_repairs) == threads - (long)ARRAY_LEN(g_table) ? 0 : 1;
}
