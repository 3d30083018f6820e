/* fork_threads.c: fork in a process that has threads, and the lock nobody will release.
 *
 * Mirrors: why Python 3.12's os.fork() warns "This process is multi-threaded, use of
 * fork() may lead to deadlocks in the child", and why 3.14 stopped using fork by default.
 *
 * fork copies the whole memory of the process, every lock included, but only the one
 * thread that called it. A lock that another thread held at that instant is held in
 * the child for ever: its owner does not exist there.
 *
 * Part 1, the hazard: a thread (the "holder") takes g_lock and keeps it for --hold, the
 * way a logging handler keeps its lock while it writes. While it does, main starts a
 * worker three ways (startmethod.c) and the worker tries to take g_lock, waiting at most
 * --patience (a timed lock, so the program cannot hang):
 *   fork        the child's copy of g_lock is held: it gives up: a deadlock, detected;
 *   spawn       a new program, its own g_lock, never locked: taken at once;
 *   forkserver  the server was forked at the top of main, before any thread: taken.
 * Part 2, the fix: pthread_atfork(prepare, parent, child). prepare takes g_lock before
 * fork copies anything, so fork waits until the holder lets go; then both parent and
 * child unlock their copies. The child's lock is consistent and free. Python's logging
 * module does this for its locks with os.register_at_fork (Lib/logging/__init__.py).
 * Part 3, how often, and malloc: a thread that takes and releases g_lock in a loop (it
 * holds it about half the time) while main forks --forks children, each of which
 * looks at g_lock with trylock: in a child nothing can ever change the lock, so
 * trylock's EBUSY is the deadlock, without waiting. Then the same with a thread that
 * calls malloc and free in a loop, and children that call malloc: none gets stuck,
 * because glibc's fork takes malloc's own locks before it forks and resets them in
 * the child (__libc_fork in posix/fork.c, glibc 2.34 and later: it calls
 * __malloc_fork_lock_parent): glibc does for malloc what part 2 does for g_lock. Other libraries' locks get no such care; in an
 * AddressSanitizer build (make SAN=address), whose malloc is the sanitizer's own, a
 * child now and then does get stuck, and the program says whose malloc it was.
 *
 * Timed locks use pthread_mutex_timedlock with a CLOCK_REALTIME deadline, which the
 * sanitizers and valgrind intercept (see chapter 05's README).
 *
 * Run:  ./fork_threads [--hold 200ms] [--patience 1s] [--forks 200]
 * Look for: fork's worker deadlocked, the other two fine; fork with the atfork
 * handlers waiting for the holder; about half of the children of part 3 stuck, and
 * none stuck in malloc.
 * See also: startmethod.c, forkserver.c, start_methods.c, ../05-deadlock/ (detecting a deadlock).
 */
#include "startmethod.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t g_hold = 200 * NS_PER_MS, g_patience = NS_PER_S;
static bool g_atfork_on; /* read by the handlers, which run in the thread that forks */

/* the task, run by every worker: 1 if it got the lock within --patience, 0 if not */
static uint64_t task_take_lock(uint64_t patience_ns)
{
    struct timespec deadline = deadline_after(CLOCK_REALTIME, (int64_t)patience_ns);
    int rc = pthread_mutex_timedlock(&g_lock, &deadline);
    if (rc == ETIMEDOUT)
        return 0;
    if (rc != 0)
        die_en(rc, "pthread_mutex_timedlock");
    CHECK_PT(pthread_mutex_unlock(&g_lock));
    return 1;
}

static const struct start_task g_tasks[] = { { "take_lock", task_take_lock }, { NULL, NULL } };

static void prepare(void)
{
    if (g_atfork_on)
        CHECK_PT(pthread_mutex_lock(&g_lock));
}
static void after(void) /* in the parent, and in the child: each unlocks its copy */
{
    if (g_atfork_on)
        CHECK_PT(pthread_mutex_unlock(&g_lock));
}

/* ---- the holder: takes g_lock, says so, keeps it for --hold ----
 * It then waits for main's word before it ends: a thread that has ended but not been
 * joined when fork copies the process is one ThreadSanitizer reports, in the child, as
 * leaked. */
static sem_t g_holding, g_may_end;

static void wait_for(sem_t *s)
{
    while (sem_wait(s) == -1)
        if (errno != EINTR)
            die("sem_wait");
}

static void *holder(void *arg)
{
    (void)arg;
    trace_name("holder");
    CHECK_PT(pthread_mutex_lock(&g_lock));
    trace("holder: I hold g_lock for %.0f ms", (double)g_hold / 1e6);
    CHECK_SYS(sem_post(&g_holding));
    sleep_ns(g_hold);
    CHECK_PT(pthread_mutex_unlock(&g_lock));
    trace("holder: released g_lock");
    wait_for(&g_may_end);
    return NULL;
}

static pthread_t start_holder(void)
{
    pthread_t t;
    CHECK_PT(pthread_create(&t, NULL, holder, NULL));
    wait_for(&g_holding);
    return t;
}

static void end_holder(pthread_t t)
{
    CHECK_SYS(sem_post(&g_may_end));
    CHECK_PT(pthread_join(t, NULL));
}

static bool run_worker(enum start_method m, int64_t *took_ns)
{
    struct worker w;
    int64_t t = now_ns();
    start_worker(m, "take_lock", (uint64_t)g_patience, &w);
    if (worker_wait(&w, g_patience + 30 * NS_PER_S) != 0)
        fatal("the %s worker did not end", start_method_name(m));
    *took_ns = now_ns() - t;
    if (!w.has_result || w.exitcode != 0)
        fatal("the %s worker failed: exit code %d", start_method_name(m), w.exitcode);
    return w.result == 1;
}

/* ---- part 3: a thread that keeps working, and many forks ---- */
static _Atomic bool g_busy_stop;
static _Atomic long g_busy_rounds;

static void *lock_churn(void *arg)
{
    (void)arg;
    volatile int spin;
    while (!atomic_load(&g_busy_stop)) {
        CHECK_PT(pthread_mutex_lock(&g_lock));
        for (spin = 0; spin < 200; spin++) /* hold it a little while ... */
            ;
        CHECK_PT(pthread_mutex_unlock(&g_lock));
        for (spin = 0; spin < 200; spin++) /* ... and leave it free as long */
            ;
        atomic_fetch_add(&g_busy_rounds, 1);
    }
    return NULL;
}

static void *malloc_churn(void *arg)
{
    uint64_t seed = (uint64_t)(uintptr_t)arg;
    while (!atomic_load(&g_busy_stop)) {
        void *p[8];
        for (int i = 0; i < 8; i++)
            if (!(p[i] = malloc(16 + random_next(&seed) % 4096)))
                die("malloc");
        for (int i = 0; i < 8; i++)
            free(p[i]);
        atomic_fetch_add(&g_busy_rounds, 1);
    }
    return NULL;
}

/* forks n children while `busy` runs in another thread; each child runs check() and
 * exits with its answer (1: stuck). A child that does not end in 2 s counts as stuck
 * too, and is killed. Returns how many were. */
static long fork_while_busy(void *(*busy)(void *), int (*check)(void), long n)
{
    pthread_t t;
    atomic_store(&g_busy_stop, false);
    atomic_store(&g_busy_rounds, 0);
    CHECK_PT(pthread_create(&t, NULL, busy, (void *)(uintptr_t)42));
    while (atomic_load(&g_busy_rounds) < 100) /* let it get going */
        sched_yield();
    long stuck = 0;
    for (long i = 0; i < n; i++) {
        pid_t pid = fork_child();
        if (pid == 0)
            _exit(check());
        int status;
        if (child_wait(pid, 2 * NS_PER_S, &status) == ETIMEDOUT) {
            CHECK_SYS(kill(pid, SIGKILL));
            child_wait(pid, -1, &status);
            stuck++;
        } else if (exitcode_of(status) != 0) {
            stuck++;
        }
    }
    atomic_store(&g_busy_stop, true);
    CHECK_PT(pthread_join(t, NULL));
    return stuck;
}

static int child_trylock(void)
{
    return pthread_mutex_trylock(&g_lock) == EBUSY; /* held for good: a deadlock */
}

static int child_malloc(void)
{
    for (int i = 0; i < 100; i++) {
        void *p = malloc(16 + (size_t)i * 700); /* would hang if an arena lock were held */
        if (!p)
            return 2;
        free(p);
    }
    return 0;
}

int main(int argc, char **argv)
{
    startmethod_main(argc, argv, g_tasks); /* a spawned worker runs its task in here and exits */
    long forks = 200;
    const struct cli_opt opts[] = {
        { "hold", CLI_DURATION, &g_hold, "how long the holder keeps g_lock", NS_PER_MS, 10 * NS_PER_S, "30ms", NULL },
        { "patience", CLI_DURATION, &g_patience, "how long a worker waits for g_lock", NS_PER_MS, 60 * NS_PER_S,
          "100ms", NULL },
        { "forks", CLI_INT, &forks, "children forked in part 3, each way", 1, 100000, "20", NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "fork in a process with threads: a lock held by another thread stays held in the\n"
              "child; detected with a timed lock, fixed with pthread_atfork, avoided by spawning.", opts, &cli);
    trace_start();
    forkserver_start(); /* before any thread */
    CHECK_SYS(sem_init(&g_holding, 0, 0));
    CHECK_SYS(sem_init(&g_may_end, 0, 0));
    CHECK_PT(pthread_atfork(prepare, after, after));

    trace("part 1: a thread holds g_lock while a worker is started; the worker waits up to %.0f ms for it",
          (double)g_patience / 1e6);
    for (int m = 0; m < START_METHODS; m++) {
        pthread_t h = start_holder();
        int64_t took;
        bool got = run_worker((enum start_method)m, &took);
        trace("%-10s worker: %s", start_method_name((enum start_method)m),
              got ? "took g_lock at once"
                  : "g_lock still held when its patience ran out: DEADLOCK (its holder does not exist in the child)");
        end_holder(h);
    }

    trace("part 2: the same fork, with pthread_atfork handlers that take g_lock before the fork");
    g_atfork_on = true;
    pthread_t h = start_holder();
    int64_t took;
    bool got = run_worker(START_FORK, &took);
    end_holder(h);
    g_atfork_on = false;
    trace("fork+atfork worker: %s; start to end took %.0f ms: fork waited for the holder", got ? "took g_lock" : "DEADLOCK?!",
          (double)took / 1e6);

    trace("part 3: %ld forks while another thread keeps taking and releasing g_lock", forks);
    long stuck = fork_while_busy(lock_churn, child_trylock, forks);
    trace("%ld of %ld children (%.0f%%) found g_lock held: each would deadlock", stuck, forks,
          100.0 * (double)stuck / (double)forks);
    stuck = fork_while_busy(malloc_churn, child_malloc, forks);
#ifdef WB_ASAN /* AddressSanitizer brings its own malloc, which gets no such care at fork */
    const char *whose = " (AddressSanitizer's malloc, not glibc's)";
#else
    const char *whose = "";
#endif
    trace("%ld forks while another thread calls malloc and free: %ld children stuck in malloc%s", forks, stuck,
          whose);
    CHECK_SYS(sem_destroy(&g_holding));
    CHECK_SYS(sem_destroy(&g_may_end));
    forkserver_stop();
    return 0;
}
