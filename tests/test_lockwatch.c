/* test_lockwatch.c: the tests of chapters/05-deadlock: the lockwatch module (holders,
 * trylock and timed lock, the wait-for chain of an ABBA deadlock, the watchdog's stall
 * detection and report) and deadlock_early_return (detects its deadlock within bounds,
 * names the holder, exits 1; --fixed completes). Code that leaves a thread blocked
 * forever runs in a child process (testutil.h), which simply exits.
 *
 * test_lockwatch_simple.c includes this file with LOCKWATCH_SIMPLE defined, linked with
 * lockwatch_simple.c: the cases about a lock and its holder's name, with the reports it
 * gives (the holder's name and no more: an ABBA deadlock is not named a cycle). Its
 * threads are plain pthreads, through the two stand-ins below (wthread_start's set-up
 * of the struct is lockwatch.c's, line for line, on purpose). */
#include "../chapters/05-deadlock/lockwatch.h"
#include "testutil.h"

#include <errno.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SECONDS(x) ((int64_t)((x) * 1e9))

#ifdef LOCKWATCH_SIMPLE
/* lockwatch_simple.c has no threads of its own: plain pthreads stand in for
 * wthread_start and wthread_join_all, named through the kernel (what it reads). */
static void *bootstrap(void *arg)
{
    struct wthread *t = arg;
    trace_name(t->name);
    t->fn(t->arg);
    return NULL;
}

void wthread_start(struct wthread *t, const char *name, void (*fn)(void *), void *arg)
{
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->fn = fn;
    t->arg = arg;
    CHECK_PT(pthread_create(&t->id, NULL, bootstrap, t));
}

/* joins each within stall_ns (the real one counts stall_ns from the last progress) */
int wthread_join_all(struct wthread *t, size_t n, int64_t stall_ns)
{
    for (size_t i = 0; i < n; i++) {
        struct timespec until = deadline_after(CLOCK_REALTIME, stall_ns);
        int rc = pthread_timedjoin_np(t[i].id, NULL, &until);
        if (rc == ETIMEDOUT)
            return ETIMEDOUT;
        CHECK_PT(rc);
        t[i].joined = true;
    }
    return 0;
}
#endif

static void sem_wait_ok(sem_t *s)
{
    while (sem_wait(s) == -1)
        if (errno != EINTR)
            die("sem_wait");
}

static void test_holder_recorded(void **state)
{
    (void)state;
    struct wlock l;
    char who[WATCH_NAME_MAX];
    wlock_init(&l, "L");
    assert_string_equal(wlock_holder(&l, who, sizeof who), "");
    wlock_lock(&l);
    assert_string_equal(wlock_holder(&l, who, sizeof who), "main");
    wlock_unlock(&l);
    assert_string_equal(wlock_holder(&l, who, sizeof who), "");
    assert_int_equal(wlock_trylock(&l), 0);
    assert_string_equal(wlock_holder(&l, who, sizeof who), "main");
    wlock_unlock(&l);
    wlock_destroy(&l);
}

/* ---- a thread holds a lock until told to let go ---- */

struct hold {
    struct wlock *lock;
    sem_t ready, go;
};

static void hold_until_go(void *arg)
{
    struct hold *h = arg;
    wlock_lock(h->lock);
    CHECK_SYS(sem_post(&h->ready));
    sem_wait_ok(&h->go);
    wlock_unlock(h->lock);
}

static void test_trylock_and_timedlock_name_the_holder(void **state)
{
    (void)state;
    struct wlock l;
    struct hold h = { .lock = &l };
    struct wthread t;
    wlock_init(&l, "L");
    assert_int_equal(sem_init(&h.ready, 0, 0), 0);
    assert_int_equal(sem_init(&h.go, 0, 0), 0);
    wthread_start(&t, "holder", hold_until_go, &h);
    sem_wait_ok(&h.ready);

    char who[WATCH_NAME_MAX], why[256];
    assert_string_equal(wlock_holder(&l, who, sizeof who), "holder");
    assert_int_equal(wlock_trylock(&l), EBUSY);
    int64_t t0 = now_ns();
    assert_int_equal(wlock_timedlock(&l, 100 * NS_PER_MS, why, sizeof why), ETIMEDOUT);
    int64_t waited = now_ns() - t0;
    assert_true(waited >= 90 * NS_PER_MS); /* a timed lock waits (almost) its time */
    assert_true(waited < SECONDS(5));      /* and comes back: generous, the machine is shared */
#ifdef LOCKWATCH_SIMPLE
    assert_string_equal(why, "main waits for L, held by holder"); /* all it knows */
#else
    assert_string_equal(why, "main waits for L, held by holder, which is not waiting for a lock");
#endif

    CHECK_SYS(sem_post(&h.go));
    assert_int_equal(wthread_join_all(&t, 1, SECONDS(5)), 0);
    assert_true(t.joined);
    assert_int_equal(wlock_timedlock(&l, SECONDS(5), why, sizeof why), 0);
    wlock_unlock(&l);
    wlock_destroy(&l);
    sem_destroy(&h.ready);
    sem_destroy(&h.go);
}

/* ---- timeouts too long to add to the clock: no limit, not a time in the past ---- */

struct patient {
    struct wlock *lock;
    int64_t timeout;
    _Atomic int rc; /* -1 while it waits */
};

static void wait_patiently(void *arg)
{
    struct patient *p = arg;
    int rc = wlock_timedlock(p->lock, p->timeout, NULL, 0);
    if (rc == 0)
        wlock_unlock(p->lock);
    p->rc = rc;
}

static void nap(void *arg)
{
    sleep_ns(*(int64_t *)arg);
}

static void test_huge_timeouts(void **state)
{
    (void)state;
    const int64_t timeouts[] = { INT64_MAX, INT64_MAX - 1 };
    for (size_t i = 0; i < ARRAY_LEN(timeouts); i++) {
        /* a timed lock that waits for a lock held 200 ms */
        struct wlock l;
        struct hold h = { .lock = &l };
        struct wthread t[2];
        wlock_init(&l, "L");
        assert_int_equal(sem_init(&h.ready, 0, 0), 0);
        assert_int_equal(sem_init(&h.go, 0, 0), 0);
        wthread_start(&t[0], "holder", hold_until_go, &h);
        sem_wait_ok(&h.ready);
        struct patient p = { .lock = &l, .timeout = timeouts[i], .rc = -1 };
        wthread_start(&t[1], "patient", wait_patiently, &p);
        sleep_ns(200 * NS_PER_MS);
        int early = p.rc;
        CHECK_SYS(sem_post(&h.go));
        assert_int_equal(wthread_join_all(t, 2, SECONDS(10)), 0);
        if (early != -1)
            fail_msg("wlock_timedlock(INT64_MAX%s) returned %d while the lock was held", i ? " - 1" : "", early);
        assert_int_equal(p.rc, 0);
        wlock_destroy(&l);
        sem_destroy(&h.ready);
        sem_destroy(&h.go);

        /* a join with that much patience waits for a thread that ends after 100 ms */
        int64_t pause = 100 * NS_PER_MS, t0 = now_ns();
        wthread_start(&t[0], "napper", nap, &pause);
        assert_int_equal(wthread_join_all(t, 1, timeouts[i]), 0);
        assert_true(now_ns() - t0 >= 90 * NS_PER_MS);
    }
}

/* ---- ABBA with timed locks: the chain of waits is a cycle ---- */

static struct wlock g_a, g_b;
static pthread_barrier_t g_both;

struct side {
    struct wlock *first, *second;
    int rc;
    char why[256];
};

static void abba_side(void *arg)
{
    struct side *s = arg;
    wlock_lock(s->first);
    int rc = pthread_barrier_wait(&g_both); /* each holds its first lock now */
    if (rc != 0 && rc != PTHREAD_BARRIER_SERIAL_THREAD)
        die_en(rc, "pthread_barrier_wait");
    s->rc = wlock_timedlock(s->second, 300 * NS_PER_MS, s->why, sizeof s->why);
    if (s->rc == 0)
        wlock_unlock(s->second);
    wlock_unlock(s->first);
}

static void test_timed_abba_reports_cycle(void **state)
{
    (void)state;
    wlock_init(&g_a, "A");
    wlock_init(&g_b, "B");
    assert_int_equal(pthread_barrier_init(&g_both, NULL, 2), 0);
    struct side x = { .first = &g_a, .second = &g_b }, y = { .first = &g_b, .second = &g_a };
    struct wthread t[2];
    wthread_start(&t[0], "x", abba_side, &x);
    wthread_start(&t[1], "y", abba_side, &y);
    assert_int_equal(wthread_join_all(t, 2, SECONDS(10)), 0);
    assert_true(x.rc == ETIMEDOUT || y.rc == ETIMEDOUT);
#ifdef LOCKWATCH_SIMPLE
    /* the holder's name, and nothing that says the holder waits too: no cycle */
    if (!(x.rc == ETIMEDOUT && strcmp(x.why, "x waits for B, held by y") == 0) &&
        !(y.rc == ETIMEDOUT && strcmp(y.why, "y waits for A, held by x") == 0))
        fail_msg("unexpected reports:\n  x: %s\n  y: %s", x.why, y.why);
#else
    /* the first to time out sees the other still waiting: a cycle */
    const char *cycle_x = "x waits for B, held by y; y waits for A, held by x: a cycle, a deadlock";
    const char *cycle_y = "y waits for A, held by x; x waits for B, held by y: a cycle, a deadlock";
    if (strcmp(x.why, cycle_x) != 0 && strcmp(y.why, cycle_y) != 0)
        fail_msg("no cycle reported:\n  x: %s\n  y: %s", x.why, y.why);
#endif
    assert_int_equal(pthread_barrier_destroy(&g_both), 0);
    wlock_destroy(&g_a);
    wlock_destroy(&g_b);
}

#ifndef LOCKWATCH_SIMPLE
/* ---- a third thread waiting on a deadlocked pair: the chain names their cycle ---- */

static void lock_both(void *arg)
{
    struct side *s = arg;
    wlock_lock(s->first);
    int rc = pthread_barrier_wait(&g_both);
    if (rc != 0 && rc != PTHREAD_BARRIER_SERIAL_THREAD)
        die_en(rc, "pthread_barrier_wait");
    wlock_lock(s->second); /* never returns: the other side holds it */
}

/* in a child: x and y deadlock for good (untimed locks), then main waits for A */
static void third_waiter_scenario(void *arg)
{
    (void)arg;
    static struct wthread t[2];
    static struct side x, y;
    wlock_init(&g_a, "A");
    wlock_init(&g_b, "B");
    if (pthread_barrier_init(&g_both, NULL, 2) != 0)
        fatal("pthread_barrier_init");
    x = (struct side){ .first = &g_a, .second = &g_b };
    y = (struct side){ .first = &g_b, .second = &g_a };
    wthread_start(&t[0], "x", lock_both, &x);
    wthread_start(&t[1], "y", lock_both, &y);
    /* wait until both sleep in the kernel on their second lock */
    int64_t end = now_ns() + SECONDS(10);
    while (!(asleep_in_futex(t[0].tid, &g_b.mutex) && asleep_in_futex(t[1].tid, &g_a.mutex)))
        if (now_ns() > end)
            fatal("x and y did not both block on their second lock");
        else
            sleep_ns(NS_PER_MS);
    char why[512];
    int rc = wlock_timedlock(&g_a, 50 * NS_PER_MS, why, sizeof why);
    printf("rc=%d why=%s\n", rc, why);
    fflush(stdout);
    watch_report();
}

static void test_third_waiter_names_the_cycle(void **state)
{
    (void)state;
    struct captured c;
    capture(third_waiter_scenario, NULL, SECONDS(30), &c);
    if (!WIFEXITED(c.status) || WEXITSTATUS(c.status) != 0)
        fail_msg("the scenario failed:\n%s\n%s", c.out, c.err);
    const char *want = "rc=110 why=main waits for A, held by x; x waits for B, held by y; "
                       "y waits for A, held by x: a cycle of x and y, a deadlock\n";
    if (!strstr(c.out, want))
        fail_msg("expected\n  %sin\n%s", want, c.out);
    /* the watchdog's report names the cycle too */
    if (!strstr(c.out, "x waits for B, held by y; y waits for A, held by x: a cycle, a deadlock"))
        fail_msg("the report names no cycle:\n%s", c.out);
}

/* ---- the watchdog: a lock leaked by a thread that ended, a waiter stuck forever ---- */

static struct wlock g_leaked;

static void leak(void *arg)
{
    (void)arg;
    wlock_lock(&g_leaked); /* and return without unlocking */
}

static void wait_forever(void *arg)
{
    (void)arg;
    wlock_lock(&g_leaked);
    wlock_unlock(&g_leaked); /* never reached */
}

/* in a child: the stuck thread is left behind when it exits */
static void stall_scenario(void *arg)
{
    (void)arg;
    static struct wthread leaker, waiter;
    trace("a lock leaked by a thread that returns, and a thread that waits for it");
    wlock_init(&g_leaked, "leaked");
    wthread_start(&leaker, "leaker", leak, NULL);
    if (wthread_join_all(&leaker, 1, SECONDS(5)) != 0)
        fatal("the leaker did not end");
    wthread_start(&waiter, "waiter", wait_forever, NULL);
    int64_t t0 = now_ns();
    int rc = wthread_join_all(&waiter, 1, 200 * NS_PER_MS);
    printf("join_all: %s after %.3f s\n", rc == ETIMEDOUT ? "stalled" : "joined", (double)(now_ns() - t0) / 1e9);
    fflush(stdout);
    watch_report();
}

static void test_watchdog_reports_leaked_lock(void **state)
{
    (void)state;
    struct captured c;
    capture(stall_scenario, NULL, SECONDS(30), &c);
    if (!WIFEXITED(c.status) || WEXITSTATUS(c.status) != 0)
        fail_msg("the scenario failed:\n%s\n%s", c.out, c.err);
    double secs = -1;
    const char *p = strstr(c.out, "join_all: stalled after ");
    if (!p || sscanf(p, "join_all: stalled after %lf", &secs) != 1)
        fail_msg("no stall detected:\n%s", c.out);
    assert_true(secs >= 0.15 && secs < 5.0); /* about the 200 ms asked for; generous */
    const char *must[] = {
        "lock \"leaked\"", "held by leaker (tid", "gone from /proc/self/task: the thread has ended",
        "glibc's mutex word says: locked, owner tid", "waiting: waiter", "state S (sleeping)",
    };
    for (size_t i = 0; i < ARRAY_LEN(must); i++)
        if (!strstr(c.out, must[i]))
            fail_msg("the report lacks \"%s\":\n%s", must[i], c.out);
}

/* ---- the program ---- */

static void program_path(const char *prog, char *buf, size_t len)
{
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    assert_true(n > 0);
    exe[n] = '\0';
    *strrchr(exe, '/') = '\0';
    *strrchr(exe, '/') = '\0';
    snprintf(buf, len, "%s/chapters/05-deadlock/%s", exe, prog);
    if (access(buf, X_OK) != 0)
        fail_msg("%s is not built (make -C chapters/05-deadlock)", buf);
}

static void test_early_return_detected(void **state)
{
    (void)state;
    char path[4200];
    program_path("deadlock_early_return", path, sizeof path);
    char *argv[] = { path, "--quick", NULL };
    struct captured c;
    int64_t t0 = now_ns();
    capture_exec(argv, SECONDS(60), &c);
    double secs = (double)(now_ns() - t0) / 1e9;
    if (!WIFEXITED(c.status) || WEXITSTATUS(c.status) != 1)
        fail_msg("expected exit status 1:\n%s\n%s", c.out, c.err);
    assert_true(secs < 20.0); /* --quick: a 200 ms watchdog; bounded, generously */
    /* the holder the report names is the thread that returned early */
    int leaker = -1;
    const char *p = strstr(c.out, "get_value-");
    for (; p; p = strstr(p + 1, "get_value-")) {
        int idx;
        if (sscanf(p, "get_value-%*d index %d is out of range", &idx) == 1) {
            leaker = idx;
            break;
        }
    }
    if (leaker < 0)
        fail_msg("no thread returned early:\n%s", c.out);
    char held[64];
    snprintf(held, sizeof held, "held by get_value-%d (tid", leaker);
    if (!strstr(c.out, held) || !strstr(c.out, "the thread has ended") ||
        !strstr(c.out, "waiting: get_value-"))
        fail_msg("the report does not name the holder get_value-%d and the waiters:\n%s", leaker, c.out);

    char *fixed[] = { path, "--quick", "--fixed", NULL };
    capture_exec(fixed, SECONDS(60), &c);
    if (!WIFEXITED(c.status) || WEXITSTATUS(c.status) != 0 ||
        !strstr(c.out, "all 30 threads finished; the lock is free"))
        fail_msg("--fixed did not complete:\n%s\n%s", c.out, c.err);
}

#endif /* LOCKWATCH_SIMPLE */

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_holder_recorded),
        cmocka_unit_test(test_trylock_and_timedlock_name_the_holder),
        cmocka_unit_test(test_huge_timeouts),
        cmocka_unit_test(test_timed_abba_reports_cycle),
#ifndef LOCKWATCH_SIMPLE
        cmocka_unit_test(test_third_waiter_names_the_cycle),
        cmocka_unit_test(test_watchdog_reports_leaked_lock),
        cmocka_unit_test(test_early_return_detected),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
