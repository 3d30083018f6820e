/* solutions/robust_simple.c: exercise 2 of chapter 02 (queues), "predict before you run".
 *
 * The question: make queue_simple.c's mutex robust (on EOWNERDEAD, call
 * pthread_mutex_consistent and go on). Does a process killed holding the lock still
 * hang the others? Then kill a consumer asleep in its get, start another, put a
 * message, five times: which call hangs, in which round, and where?
 *
 * The answer: the robust mutex cures the first death: the next process to lock it gets
 * EOWNERDEAD and carries on. It does nothing for the second, because the dead consumer
 * held no mutex: it was asleep inside pthread_cond_wait, and glibc keeps a condition
 * variable's waiters in the shared memory (glibc bug 21422). The dead waiter stays
 * counted: a signal can be spent on it, so the live consumer sleeps on next to the
 * message; later, a signal waits for the dead waiters of an old group to leave, which
 * they never will, and the put hangs inside pthread_cond_signal *holding the queue's
 * lock*: every process of the queue is stuck behind it. Nobody died holding that lock,
 * so nobody ever gets EOWNERDEAD. That is why queue.c sleeps on futexes instead.
 *
 * What it does: a minimal textbook queue (one robust process-shared mutex, one
 * condition variable, a ring of numbers) in shared memory. Part 1 kills a process
 * holding the lock, then puts and gets. Part 2 runs --rounds rounds: a consumer
 * killed asleep in get(), a live consumer, a put made by a child process; a put or a
 * get that has not finished after --limit is reported with what the kernel says the
 * process is doing: a futex wait, on the condition variable's words or the mutex's.
 *
 * Run:  solutions/robust_simple [--rounds 5] [--limit 1s]
 * Look for: part 1 fine; in part 2 a live consumer that never gets its message, then a
 * put asleep in a futex on the condition variable, with the lock held. (A glibc that
 * fixes bug 21422 would pass every round.)
 */
#include "common.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

struct tq { /* in a MAP_SHARED mapping, made before fork */
    pthread_mutex_t lock;
    pthread_cond_t not_empty;
    uint64_t head, tail;
    long slot[4];
};

static struct tq *tq_new(void)
{
    struct tq *q = mmap(NULL, sizeof *q, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (q == MAP_FAILED)
        die("mmap");
    pthread_mutexattr_t ma;
    CHECK_PT(pthread_mutexattr_init(&ma));
    CHECK_PT(pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED));
    CHECK_PT(pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST)); /* the change */
    CHECK_PT(pthread_mutex_init(&q->lock, &ma));
    CHECK_PT(pthread_mutexattr_destroy(&ma));
    pthread_condattr_t ca;
    CHECK_PT(pthread_condattr_init(&ca));
    CHECK_PT(pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED));
    CHECK_PT(pthread_condattr_setclock(&ca, CLOCK_MONOTONIC));
    CHECK_PT(pthread_cond_init(&q->not_empty, &ca));
    CHECK_PT(pthread_condattr_destroy(&ca));
    return q;
}

static void tq_lock(struct tq *q)
{
    int rc = pthread_mutex_lock(&q->lock);
    if (rc == EOWNERDEAD) { /* the owner died: nothing to repair in this ring */
        printf("    pid %d: pthread_mutex_lock -> EOWNERDEAD; pthread_mutex_consistent, and on\n", (int)getpid());
        CHECK_PT(pthread_mutex_consistent(&q->lock));
    } else if (rc != 0) {
        die_en(rc, "pthread_mutex_lock");
    }
}

static void tq_put(struct tq *q, long v)
{
    tq_lock(q);
    q->slot[q->tail++ % 4] = v;
    CHECK_PT(pthread_cond_signal(&q->not_empty));
    CHECK_PT(pthread_mutex_unlock(&q->lock));
}

/* 0: got a message, woken for it; 2: a message was there only when the wait timed out
 * (the wake-up went elsewhere); 1: none */
static int tq_get(struct tq *q, int64_t timeout)
{
    struct timespec until = deadline_after(CLOCK_MONOTONIC, timeout);
    tq_lock(q);
    int rc = 0, got = q->head != q->tail;
    while (!got && rc == 0) {
        rc = pthread_cond_timedwait(&q->not_empty, &q->lock, &until);
        got = q->head != q->tail;
    }
    if (got)
        q->head++;
    CHECK_PT(pthread_mutex_unlock(&q->lock));
    return got ? (rc == 0 ? 0 : 2) : 1;
}

/* 'S' and the futex address when asleep in futex(2) (/proc/PID/syscall: 202 on
 * x86-64, 98 on aarch64), else 0 */
static char sleeping_on(pid_t pid, uintptr_t *addr)
{
    char path[64];
    long nr = -1;
    snprintf(path, sizeof path, "/proc/%d/syscall", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int n = fscanf(f, "%ld %" SCNxPTR, &nr, addr);
    fclose(f);
    return n == 2 && (nr == 202 || nr == 98) ? 'S' : 0;
}

static const char *where(struct tq *q, uintptr_t a)
{
    uintptr_t c = (uintptr_t)&q->not_empty, m = (uintptr_t)&q->lock;
    if (a >= c && a < c + sizeof q->not_empty)
        return "a futex inside the condition variable: stuck in pthread_cond_signal or _wait";
    if (a >= m && a < m + sizeof q->lock)
        return "the queue's mutex";
    return "some other futex";
}

/* Waits up to limit for child pid: its exit code, or -1 if it hung (then it is killed,
 * after saying where it sleeps). */
static int finished(struct tq *q, pid_t pid, int64_t limit, const char *what)
{
    int status;
    if (child_wait(pid, limit, &status) == 0)
        return exitcode_of(status);
    uintptr_t a = 0;
    if (sleeping_on(pid, &a))
        printf("    the %s (pid %d) is still asleep after %.1f s, in futex(%#" PRIxPTR "): %s\n", what, (int)pid,
               (double)limit / 1e9, a, where(q, a));
    else
        printf("    the %s (pid %d) has not finished after %.1f s\n", what, (int)pid, (double)limit / 1e9);
    CHECK_SYS(kill(pid, SIGKILL));
    child_wait(pid, -1, &status);
    return -1;
}

static pid_t getter(struct tq *q, int64_t timeout)
{
    pid_t pid = fork_child();
    if (pid == 0)
        _exit(tq_get(q, timeout));
    return pid;
}

/* until pid sleeps in a futex (its wait), at most 5 s */
static void until_asleep(pid_t pid)
{
    uintptr_t a;
    for (int64_t end = deadline_in(5 * NS_PER_S); !sleeping_on(pid, &a); sleep_ns(NS_PER_MS))
        if (ns_left(end) == 0)
            fatal("pid %d did not fall asleep", (int)pid);
    sleep_ns(5 * NS_PER_MS);
}

int main(int argc, char **argv)
{
    long rounds = 5;
    int64_t limit = NS_PER_S;
    const struct cli_opt opts[] = {
        { "rounds", CLI_INT, &rounds, "rounds of part 2", 1, 100, NULL, NULL },
        { "limit", CLI_DURATION, &limit, "how long a put or a get may take before it counts as hung",
          50 * NS_PER_MS, 60 * NS_PER_S, "150ms", NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "Exercise 2: the textbook queue with a robust mutex, and processes killed in it.",
              opts, &cli);
    setvbuf(stdout, NULL, _IOLBF, 0);

    printf("part 1: a process killed holding the (robust) lock\n");
    struct tq *q = tq_new();
    pid_t holder = fork_child();
    if (holder == 0) {
        tq_lock(q);
        for (;;)
            pause(); /* holding it until killed */
    }
    for (int64_t end = deadline_in(5 * NS_PER_S); pthread_mutex_trylock(&q->lock) != EBUSY; sleep_ns(NS_PER_MS))
        if (ns_left(end) == 0) /* (a trylock that succeeds means the holder is not there yet) */
            fatal("the holder did not take the lock");
        else
            CHECK_PT(pthread_mutex_unlock(&q->lock));
    int status;
    CHECK_SYS(kill(holder, SIGKILL));
    child_wait(holder, -1, &status);
    pid_t g = getter(q, limit);
    tq_put(q, 1);
    printf("  %s\n", finished(q, g, 2 * limit, "get") == 0 ? "a put and a get went through: part 1 passes"
                                                           : "the get failed");

    printf("part 2: each round, a consumer killed asleep in get(), then a live consumer and a put\n");
    for (long r = 1; r <= rounds; r++) {
        pid_t dead = getter(q, 60 * NS_PER_S);
        until_asleep(dead);
        CHECK_SYS(kill(dead, SIGKILL));
        child_wait(dead, -1, &status);
        pid_t live = getter(q, limit);
        until_asleep(live);
        pid_t putter = fork_child();
        if (putter == 0) {
            tq_put(q, r);
            _exit(0);
        }
        int put = finished(q, putter, limit, "put");
        int got = finished(q, live, 2 * limit, "live consumer");
        if (put == 0 && got == 0)
            printf("  round %ld: the live consumer was woken and got the message\n", r);
        else if (put == 0)
            printf("  round %ld: the live consumer slept on beside the message %s\n", r,
                   got == 2 ? "until its timeout: the wake-up went to a dead consumer" : "and never got it");
        else {
            printf("  round %ld: the put hung inside pthread_cond_signal, holding the queue's lock: every "
                   "process that touches the queue now hangs behind it\n", r);
            break; /* the lock's holder is alive (or was killed by us): no EOWNERDEAD saves this */
        }
    }
    CHECK_SYS(munmap(q, sizeof *q));
    return 0;
}
