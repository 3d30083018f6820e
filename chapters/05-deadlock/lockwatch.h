/* lockwatch.h: mutexes that know who holds them and who waits, threads a watchdog can
 * join with a deadline, and a report that names the culprits.
 *
 * A pthread mutex knows its owner (glibc keeps the owner's thread id in the mutex)
 * but not who waits for it, and nothing tells a program it has stopped moving. The
 * deadlock demos of this chapter use these wrappers so that a hang becomes a report:
 *
 *   struct wlock a;                 a mutex plus bookkeeping
 *   wlock_init(&a, "A");
 *   wlock_lock(&a);                 blocks like pthread_mutex_lock (no limit)
 *   wlock_timedlock(&a, NS_PER_S, why, sizeof why)
 *                                   0, or ETIMEDOUT with the wait-for chain in `why`
 *   wlock_trylock(&a);              0 or EBUSY
 *   wlock_unlock(&a);
 *
 *   struct wthread t[30];           threads with names, started by wthread_start
 *   wthread_start(&t[i], "get_value-4", fn, arg);
 *   wthread_join_all(t, 30, NS_PER_S)
 *                                   0 when all have ended (and are joined), or
 *                                   ETIMEDOUT after a second with no progress
 *   watch_report();                 every held lock: holder, waiters, the kernel's view
 *
 * Two files implement it; a program links one of them:
 *   lockwatch_simple.c  to read first: the wlock_ calls only, and a timed lock's report
 *                       names the holder, no more ("ab waits for B, held by ba")
 *   lockwatch.c         everything here
 *
 * The structs must stay in place while the module knows them: a wthread from its
 * start until it is joined, a wlock from wlock_init to wlock_destroy.
 * Progress is any lock taken, any thread started or ended, or a call to
 * watch_progress().
 * The bookkeeping has its own mutex; the locks themselves are plain default mutexes,
 * so helgrind and ThreadSanitizer see ordinary pthread calls.
 */
#ifndef WORKBOOK_LOCKWATCH_H
#define WORKBOOK_LOCKWATCH_H

#include "common.h"

#include <pthread.h>

enum { WATCH_NAME_MAX = 16, WATCH_MAX_THREADS = 128, WATCH_MAX_LOCKS = 32 };

struct wthread {
    char name[WATCH_NAME_MAX];
    void (*fn)(void *arg);
    void *arg;
    pthread_t id;
    pid_t tid;                 /* the kernel's thread id, for /proc/self/task/<tid> */
    bool started, finished, joined;
    struct wlock *waiting_for; /* the lock it is blocked on, or NULL */
};

struct wlock {
    pthread_mutex_t mutex;     /* the real lock */
    const char *name;
    /* who took it last, kept even after that thread has ended (the point of a report
     * on a lock leaked by an early return) */
    char holder[WATCH_NAME_MAX];
    pid_t holder_tid;          /* 0 when free */
    int64_t held_since;        /* now_ns() when taken */
};

void wlock_init(struct wlock *l, const char *name);
void wlock_destroy(struct wlock *l);
void wlock_lock(struct wlock *l);
/* Waits at most timeout_ns. On ETIMEDOUT, if why is not NULL, it receives the chain
 * of waits that starts at the caller, taken while it still waited, such as
 *   "ab waits for B, held by ba; ba waits for A, held by ab: a cycle, a deadlock"
 * or, for a caller stuck behind a cycle it is not part of,
 *   "c waits for A, held by ab; ...: a cycle of ab and ba, a deadlock" */
int wlock_timedlock(struct wlock *l, int64_t timeout_ns, char *why, size_t len);
int wlock_trylock(struct wlock *l);
void wlock_unlock(struct wlock *l);
/* The holder's name, or "" when the lock is free, copied into buf. */
const char *wlock_holder(struct wlock *l, char *buf, size_t len);

/* Starts fn(arg) in a new thread named `name`; returns once it runs. */
void wthread_start(struct wthread *t, const char *name, void (*fn)(void *), void *arg);
/* Joins the n threads as they end. Returns 0 once all have ended, or ETIMEDOUT as soon
 * as stall_ns go by without progress; the threads still running are left unjoined
 * (a thread blocked forever in pthread_mutex_lock cannot be joined, or safely
 * cancelled: the caller reports and exits). */
int wthread_join_all(struct wthread *t, size_t n, int64_t stall_ns);
/* The calling thread's struct: the one it was started with, or a record made on first
 * use for threads started otherwise (the main thread is "main"). */
struct wthread *wthread_self(void);

void watch_progress(void);
/* trace() lines: for every lock that is held, who holds it and since when, whether the
 * holder still exists, the owner glibc recorded in the mutex, who waits for it and
 * what the kernel says each waiter is doing; then any cycle of waits. */
void watch_report(void);

#endif
