/* lockwatch.c: lockwatch_simple.c's named lock, grown into a deadlock detector (see
 * lockwatch.h).
 *
 * Read lockwatch_simple.c first: a default mutex and, beside it, the name of the thread
 * that took it, so that a timed lock that gives up can say who has the lock. A name
 * alone cannot tell a holder that is merely slow from one caught in a deadlock, and a
 * thread stuck behind a deadlock learns nothing of it (who_holds_simple). Here:
 *   - every wait is recorded ("I wait for A") before the thread blocks, so a timed lock
 *     that gives up follows the chain of waits: to a holder that is busy, to one that
 *     has ended, or round a cycle, which it names even for a bystander (wait_chain);
 *   - threads of its own (wthread_start) record when they end, and a watchdog over
 *     progress (wthread_join_all) catches a hang on locks that have no timeout;
 *   - a report of every held lock (watch_report), with the kernel's view of each thread.
 * The struct and the timed lock's CLOCK_REALTIME deadline are lockwatch_simple.c's, on
 * purpose.
 *
 * One mutex, g_book, guards every record here: which thread waits for which lock, who
 * took each lock last, the list of live threads and locks, the progress clock. A
 * thread announces "I wait for A" before it blocks in pthread_mutex_lock and "I hold
 * A" once it has it; the report reads the same records, so it sees a consistent
 * picture. Then it asks the kernel for the rest:
 *   /proc/self/task/<tid>           exists while the thread does;
 *   /proc/self/task/<tid>/stat      its state: R running, S sleeping;
 *   /proc/self/task/<tid>/syscall   the system call it is blocked in: 202 is futex on
 *                                   x86-64, and its first argument is the address of
 *                                   the futex word, the mutex itself.
 * glibc's pthread_mutex_t also stores its owner's thread id (__data.__owner), which is
 * how an error-checking mutex knows who may unlock it; the report prints it beside our
 * own record.
 *
 * Timed waits use pthread_mutex_timedlock with a CLOCK_REALTIME deadline rather than
 * pthread_mutex_clocklock on CLOCK_MONOTONIC (which would not care if the wall clock
 * were set meanwhile): ThreadSanitizer (gcc 12, clang 14) and valgrind do not know
 * clocklock, and a lock they do not see taken turns into false race reports.
 */
#include "lockwatch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static pthread_mutex_t g_book = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_changed; /* a thread started or ended; CLOCK_MONOTONIC */
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static struct wthread *g_threads[WATCH_MAX_THREADS]; /* started, not yet joined */
static size_t g_nthreads;
static struct wlock *g_locks[WATCH_MAX_LOCKS];
static size_t g_nlocks;
static int64_t g_progress_at; /* when something last moved */
static struct wthread g_foreign[8]; /* threads not started by wthread_start */
static size_t g_nforeign;
static _Thread_local struct wthread *t_self;

static void init_once(void)
{
    pthread_condattr_t a;
    CHECK_PT(pthread_condattr_init(&a));
    CHECK_PT(pthread_condattr_setclock(&a, CLOCK_MONOTONIC));
    CHECK_PT(pthread_cond_init(&g_changed, &a));
    CHECK_PT(pthread_condattr_destroy(&a));
    g_progress_at = now_ns();
}

static void book_lock(void)
{
    CHECK_PT(pthread_once(&g_once, init_once));
    CHECK_PT(pthread_mutex_lock(&g_book));
}

static void book_unlock(void)
{
    CHECK_PT(pthread_mutex_unlock(&g_book));
}

/* under g_book */
static void enlist(struct wthread *t)
{
    if (g_nthreads == WATCH_MAX_THREADS)
        fatal("lockwatch: more than %d threads", WATCH_MAX_THREADS);
    g_threads[g_nthreads++] = t;
}

static void delist(struct wthread *t)
{
    for (size_t i = 0; i < g_nthreads; i++)
        if (g_threads[i] == t) { /* keep the rest in start order, for the report */
            memmove(&g_threads[i], &g_threads[i + 1], (g_nthreads - i - 1) * sizeof g_threads[0]);
            g_nthreads--;
            return;
        }
}

static struct wthread *by_tid(pid_t tid)
{
    for (size_t i = 0; i < g_nthreads; i++)
        if (g_threads[i]->tid == tid)
            return g_threads[i];
    return NULL;
}

struct wthread *wthread_self(void)
{
    if (t_self)
        return t_self;
    book_lock();
    if (g_nforeign == ARRAY_LEN(g_foreign))
        fatal("lockwatch: too many threads not started by wthread_start");
    struct wthread *t = &g_foreign[g_nforeign++];
    t->tid = gettid();
    if (t->tid == getpid())
        snprintf(t->name, sizeof t->name, "main");
    else if (prctl(PR_GET_NAME, (unsigned long)t->name, 0UL, 0UL, 0UL) == -1)
        die("prctl(PR_GET_NAME)");
    t->started = true;
    enlist(t);
    book_unlock();
    t_self = t;
    return t;
}

void watch_progress(void)
{
    book_lock();
    g_progress_at = now_ns();
    book_unlock();
}

/* ---- locks ---- */

void wlock_init(struct wlock *l, const char *name)
{
    memset(l, 0, sizeof *l);
    CHECK_PT(pthread_mutex_init(&l->mutex, NULL)); /* a default mutex, as in the lessons */
    l->name = name;
    book_lock();
    if (g_nlocks == WATCH_MAX_LOCKS)
        fatal("lockwatch: more than %d locks", WATCH_MAX_LOCKS);
    g_locks[g_nlocks++] = l;
    book_unlock();
}

void wlock_destroy(struct wlock *l)
{
    book_lock();
    for (size_t i = 0; i < g_nlocks; i++)
        if (g_locks[i] == l)
            g_locks[i] = g_locks[--g_nlocks];
    book_unlock();
    CHECK_PT(pthread_mutex_destroy(&l->mutex));
}

static void waiting(struct wthread *self, struct wlock *l)
{
    book_lock();
    self->waiting_for = l;
    book_unlock();
}

static void took(struct wthread *self, struct wlock *l)
{
    book_lock();
    self->waiting_for = NULL;
    snprintf(l->holder, sizeof l->holder, "%s", self->name);
    l->holder_tid = self->tid;
    l->held_since = g_progress_at = now_ns();
    book_unlock();
}

void wlock_lock(struct wlock *l)
{
    struct wthread *self = wthread_self();
    waiting(self, l);
    CHECK_PT(pthread_mutex_lock(&l->mutex));
    took(self, l);
}

/* The chain of waits from `start`, under g_book:
 *   "ab waits for B, held by ba; ba waits for A, held by ab: a cycle, a deadlock"
 * Every thread the chain passes is remembered, so a chain that runs into a cycle it
 * is not part of (a third thread waiting for a lock of two deadlocked ones) stops
 * there and names the cycle:
 *   "c waits for A, held by ab; ab waits for B, held by ba; ba waits for A, held by ab:
 *    a cycle of ab and ba, a deadlock" */
static void wait_chain(struct wthread *start, char *buf, size_t len)
{
    struct wthread *seen[WATCH_MAX_THREADS];
    size_t n = 0, nseen = 0;
    buf[0] = '\0';
    for (struct wthread *t = start; t->waiting_for && nseen < ARRAY_LEN(seen) && n < len; nseen++) {
        struct wlock *l = t->waiting_for;
        const char *sep = nseen ? "; " : "";
        seen[nseen] = t;
        if (!l->holder_tid) {
            snprintf(buf + n, len - n, "%s%s waits for %s, which was just released", sep, t->name, l->name);
            return;
        }
        n += (size_t)snprintf(buf + n, len - n, "%s%s waits for %s, held by %s", sep, t->name, l->name, l->holder);
        if (n >= len)
            return;
        struct wthread *h = by_tid(l->holder_tid);
        if (h == t) {
            snprintf(buf + n, len - n, ", itself: a self-deadlock");
            return;
        }
        size_t first = 0; /* where the holder is in the chain, if it is */
        while (first <= nseen && seen[first] != h)
            first++;
        if (first == 0) {
            snprintf(buf + n, len - n, ": a cycle, a deadlock");
            return;
        }
        if (first <= nseen) { /* a cycle of seen[first..nseen] that start only waits on */
            n += (size_t)snprintf(buf + n, len - n, ": a cycle of");
            for (size_t k = first; k <= nseen && n < len; k++)
                n += (size_t)snprintf(buf + n, len - n, "%s %s", k == first ? "" : k == nseen ? " and" : ",",
                                      seen[k]->name);
            if (n < len)
                snprintf(buf + n, len - n, ", a deadlock");
            return;
        }
        if (!h || h->finished) {
            snprintf(buf + n, len - n, ", which has ended without unlocking it");
            return;
        }
        if (!h->waiting_for) {
            snprintf(buf + n, len - n, ", which is not waiting for a lock");
            return;
        }
        t = h;
    }
}

int wlock_timedlock(struct wlock *l, int64_t timeout_ns, char *why, size_t len)
{
    struct wthread *self = wthread_self();
    struct timespec deadline = deadline_after(CLOCK_REALTIME, timeout_ns);
    waiting(self, l);
    int rc = pthread_mutex_timedlock(&l->mutex, &deadline);
    if (rc == 0) {
        took(self, l);
        return 0;
    }
    if (rc != ETIMEDOUT)
        die_en(rc, "pthread_mutex_timedlock(%s)", l->name);
    book_lock();
    if (why && len)
        wait_chain(self, why, len);
    self->waiting_for = NULL;
    book_unlock();
    return ETIMEDOUT;
}

int wlock_trylock(struct wlock *l)
{
    int rc = pthread_mutex_trylock(&l->mutex);
    if (rc == EBUSY)
        return EBUSY;
    if (rc != 0)
        die_en(rc, "pthread_mutex_trylock(%s)", l->name);
    took(wthread_self(), l);
    return 0;
}

void wlock_unlock(struct wlock *l)
{
    book_lock();
    l->holder[0] = '\0';
    l->holder_tid = 0;
    book_unlock();
    CHECK_PT(pthread_mutex_unlock(&l->mutex));
}

const char *wlock_holder(struct wlock *l, char *buf, size_t len)
{
    book_lock();
    snprintf(buf, len, "%s", l->holder);
    book_unlock();
    return buf;
}

/* ---- threads ---- */

static void *bootstrap(void *arg)
{
    struct wthread *t = arg;
    t_self = t;
    CHECK_PT(pthread_setname_np(pthread_self(), t->name));
    book_lock();
    t->tid = gettid();
    t->started = true;
    g_progress_at = now_ns(); /* a thread starting is progress too */
    CHECK_PT(pthread_cond_broadcast(&g_changed));
    book_unlock();

    t->fn(t->arg);

    book_lock();
    t->finished = true;
    g_progress_at = now_ns();
    CHECK_PT(pthread_cond_broadcast(&g_changed));
    book_unlock();
    return NULL;
}

void wthread_start(struct wthread *t, const char *name, void (*fn)(void *), void *arg)
{
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->fn = fn;
    t->arg = arg;
    book_lock();
    enlist(t);
    int rc = pthread_create(&t->id, NULL, bootstrap, t);
    if (rc != 0)
        die_en(rc, "pthread_create %s", name);
    while (!t->started)
        CHECK_PT(pthread_cond_wait(&g_changed, &g_book));
    book_unlock();
}

/* joins the threads of t[0..n) that have ended; under g_book, which it lets go of
 * while it joins (a finished thread's join returns at once) */
static void join_finished(struct wthread *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!t[i].finished || t[i].joined)
            continue;
        book_unlock();
        CHECK_PT(pthread_join(t[i].id, NULL));
        book_lock();
        t[i].joined = true;
        delist(&t[i]);
    }
}

int wthread_join_all(struct wthread *t, size_t n, int64_t stall_ns)
{
    book_lock();
    for (;;) {
        join_finished(t, n);
        size_t left = 0;
        for (size_t i = 0; i < n; i++)
            left += !t[i].joined;
        if (left == 0)
            break;
        /* the last progress plus stall_ns, saturating: a stall_ns too long to add
         * (INT64_MAX) is no limit, not a time wrapped round into the past */
        int64_t wake = stall_ns > NO_DEADLINE - g_progress_at ? NO_DEADLINE : g_progress_at + stall_ns;
        if (now_ns() >= wake) {
            book_unlock();
            return ETIMEDOUT;
        }
        struct timespec ts = ns_to_ts(wake);
        int rc = wake == NO_DEADLINE ? pthread_cond_wait(&g_changed, &g_book)
                                     : pthread_cond_timedwait(&g_changed, &g_book, &ts);
        if (rc != 0 && rc != ETIMEDOUT)
            die_en(rc, "pthread_cond_timedwait");
    }
    book_unlock();
    return 0;
}

/* ---- the report ---- */

/* what the kernel says thread `tid` is doing, into buf */
static const char *kernel_view(pid_t tid, char *buf, size_t len)
{
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(buf, len, "gone from /proc/self/task: the thread has ended");
        return buf;
    }
    char state = '?';
    if (fgets(line, sizeof line, f)) {
        char *p = strrchr(line, ')'); /* the name may hold spaces and parentheses */
        if (p && p[1] == ' ')
            state = p[2];
    }
    fclose(f);
    snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)tid);
    char sys[128] = "";
    f = fopen(path, "r");
    if (f) {
        if (fgets(line, sizeof line, f)) {
            long nr;
            char a1[32];
            if (sscanf(line, "%ld %31s", &nr, a1) == 2)
                snprintf(sys, sizeof sys, ", in system call %ld%s(%s, ...)", nr, nr == 202 ? " futex" : "", a1);
        }
        fclose(f);
    }
    snprintf(buf, len, "state %c (%s)%s", state,
             state == 'S' ? "sleeping" : state == 'R' ? "running" : "see proc(5)", sys);
    return buf;
}

void watch_report(void)
{
    book_lock();
    int64_t now = now_ns();
    trace("watchdog: no progress for %.2fs; what each lock looks like:", (double)(now - g_progress_at) / 1e9);
    for (size_t i = 0; i < g_nlocks; i++) {
        struct wlock *l = g_locks[i];
        size_t nwait = 0;
        for (size_t k = 0; k < g_nthreads; k++)
            nwait += g_threads[k]->waiting_for == l;
        if (!l->holder_tid && nwait == 0)
            continue;
        char view[256];
        if (l->holder_tid) {
            trace("  lock \"%s\" (a mutex at %p): held by %s (tid %d) for %.2fs; %s", l->name, (void *)&l->mutex,
                  l->holder, (int)l->holder_tid, (double)(now - l->held_since) / 1e9,
                  kernel_view(l->holder_tid, view, sizeof view));
#ifdef __GLIBC__
            trace("    glibc's mutex word says: locked, owner tid %d", l->mutex.__data.__owner);
#endif
        } else {
            trace("  lock \"%s\": free, but %zu thread(s) about to take it", l->name, nwait);
        }
        size_t shown = 0;
        for (size_t k = 0; k < g_nthreads; k++) {
            struct wthread *t = g_threads[k];
            if (t->waiting_for != l)
                continue;
            if (shown < 3)
                trace("    waiting: %-15s (tid %d) %s", t->name, (int)t->tid, kernel_view(t->tid, view, sizeof view));
            shown++;
        }
        if (shown > 3) {
            char names[512];
            size_t n = 0;
            for (size_t k = 0, j = 0; k < g_nthreads && n < sizeof names; k++)
                if (g_threads[k]->waiting_for == l && j++ >= 3)
                    n += (size_t)snprintf(names + n, sizeof names - n, " %s", g_threads[k]->name);
            trace("    and %zu more waiting, all the same way:%s", shown - 3, names);
        }
    }
    /* cycles: follow each waiter's chain; a chain that comes back to it is a deadlock */
    for (size_t k = 0; k < g_nthreads; k++) {
        struct wthread *t = g_threads[k];
        if (!t->waiting_for)
            continue;
        char chain[512];
        wait_chain(t, chain, sizeof chain);
        if (strstr(chain, "a cycle") || strstr(chain, "self-deadlock")) {
            trace("  %s", chain);
            break; /* every thread of a cycle, or waiting on one, would print it again */
        }
    }
    book_unlock();
}
