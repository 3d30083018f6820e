/* test_gil.c: the tests of chapter 08's simulated GIL (chapters/08-gil/gil.c).
 *
 * Threads record; the test's own thread asserts after joining them (cmocka's
 * assertions must not run in other threads). Timing is asserted only as generous
 * upper bounds, and as lower bounds that follow from the algorithm (a waiter cannot set
 * a drop request before its timed wait has run out), so the tests hold on a loaded
 * 2-core machine and under the sanitizers and valgrind.
 */
#include "common.h"
#include "testutil.h"
#include "../chapters/08-gil/gil.h"
#include "../chapters/08-gil/gil_workload.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define BOUND (10 * NS_PER_S) /* "in bounded time": far beyond anything a healthy run needs */

/* pthread_join with a time limit: a hung thread fails the test instead of hanging it */
static void join_within(pthread_t th, int64_t ns)
{
    struct timespec until = deadline_after(CLOCK_REALTIME, ns);
    int rc = pthread_timedjoin_np(th, NULL, &until);
    if (rc != 0)
        fail_msg("a thread did not end within %.0f s (pthread_timedjoin_np: %s)", (double)ns / 1e9, strerror(rc));
}

/* ---- under stress, never two holders ---- */

struct stresser {
    struct gil_thread t;
    pthread_t th;
    int64_t until; /* now_ns() deadline */
    unsigned seed;
};

static void *stress_main(void *arg)
{
    struct stresser *s = arg;
    uint64_t sum = 0, tick = 0;
    gil_take(&s->t, GIL_START);
    while (now_ns() < s->until) {
        s->seed = s->seed * 1103515245u + 12345u;
        unsigned r = s->seed >> 16;
        sum += gil_run(&s->t, tick, tick + 50 + r % 400);
        tick += 1000;
        if (r % 4 == 0) { /* a blocking call now and then */
            gil_io_begin(&s->t);
            sleep_ns((int64_t)(r % 50) * NS_PER_US);
            gil_io_end(&s->t);
        }
    }
    gil_exit(&s->t);
    return sum == 42 ? arg : NULL;
}

static void stress(enum gil_mode mode)
{
    struct gil g;
    gil_init(&g, &(struct gil_config){ .mode = mode, .interval_ns = 50 * NS_PER_US, .log_size = 1 << 20 });
    struct stresser s[4];
    int64_t until = now_ns() + 300 * NS_PER_MS;
    for (int i = 0; i < 4; i++) {
        gil_thread_init(&s[i].t, &g, "stress");
        s[i].until = until;
        s[i].seed = (unsigned)i + 1;
        CHECK_PT(pthread_create(&s[i].th, NULL, stress_main, &s[i]));
    }
    unsigned long holds = 0;
    for (int i = 0; i < 4; i++) {
        join_within(s[i].th, BOUND);
        holds += s[i].t.holds;
    }
    struct gil_stats st = gil_stats(&g);
    assert_int_equal(st.violations, 0);               /* the live check, on every take */
    assert_int_equal(st.holds, holds);
    assert_true(st.logged > 4);
    assert_int_equal(gil_log_overlaps(g.log, st.logged), 0); /* and the log, afterwards */
    assert_true(st.switches >= 2);                    /* the threads really did take turns */
    for (size_t i = 0; i < st.logged; i++)
        assert_true(g.log[i].left >= g.log[i].got && g.log[i].got >= g.log[i].asked);
    assert_false(st.locked);
    assert_int_equal(st.waiting, 0);
    gil_destroy(&g);
}

static void test_never_two_holders_new(void **state)
{
    (void)state;
    stress(GIL_NEW);
}

static void test_never_two_holders_old(void **state)
{
    (void)state;
    stress(GIL_OLD);
}

/* The checker itself finds overlaps: it is not a stub that always says 0. */
static void test_log_check_finds_overlaps(void **state)
{
    (void)state;
    struct gil_hold ok[3] = {
        { .asked = 0, .got = 10, .left = 20, .thread = 0 },
        { .asked = 5, .got = 20, .left = 30, .thread = 1 },
        { .asked = 25, .got = 31, .left = -1, .thread = 0 }, /* the last may be open */
    };
    assert_int_equal(gil_log_overlaps(ok, 3), 0);
    struct gil_hold bad[3] = {
        { .asked = 0, .got = 10, .left = 25, .thread = 0 }, /* still held at 20 */
        { .asked = 5, .got = 20, .left = 30, .thread = 1 },
        { .asked = 25, .got = 31, .left = 40, .thread = 0 },
    };
    assert_int_equal(gil_log_overlaps(bad, 3), 1);
    struct gil_hold open_mid[2] = {
        { .asked = 0, .got = 10, .left = -1, .thread = 0 }, /* never released */
        { .asked = 5, .got = 20, .left = 30, .thread = 1 },
    };
    assert_int_equal(gil_log_overlaps(open_mid, 2), 1);
}

/* ---- a drop request is honoured within a bounded time ---- */

struct spinner {
    struct gil_thread t;
    pthread_t th;
    atomic_bool stop, holding;
    uint64_t ticks, sum;
};

static void *spin_main(void *arg)
{
    struct spinner *s = arg;
    gil_take(&s->t, GIL_START);
    atomic_store(&s->holding, true);
    s->ticks = gil_run_until(&s->t, &s->stop, &s->sum);
    gil_exit(&s->t);
    return NULL;
}

static void spinner_start(struct spinner *s, struct gil *g)
{
    gil_thread_init(&s->t, g, "spinner");
    atomic_init(&s->stop, false);
    atomic_init(&s->holding, false);
    s->sum = 0;
    CHECK_PT(pthread_create(&s->th, NULL, spin_main, s));
    int64_t until = now_ns() + BOUND;
    while (!atomic_load(&s->holding) && now_ns() < until)
        sleep_ns(100 * NS_PER_US);
    assert_true(atomic_load(&s->holding));
}

static void *take_and_leave(void *arg)
{
    struct gil_thread *t = arg;
    gil_take(t, GIL_START);
    gil_exit(t);
    return NULL;
}

static void test_drop_request_honoured(void **state)
{
    (void)state;
    const int64_t interval = NS_PER_MS;
    struct gil g;
    gil_init(&g, &(struct gil_config){ .mode = GIL_NEW, .interval_ns = interval, .log_size = 1024 });
    struct spinner s;
    spinner_start(&s, &g);

    struct gil_thread me;
    gil_thread_init(&me, &g, "main");
    int64_t waited = gil_take(&me, GIL_START); /* the spinner never drops it on its own */
    atomic_store(&s.stop, true);
    gil_exit(&me);
    join_within(s.th, BOUND);

    struct gil_stats st = gil_stats(&g);
    /* Every request costs the waiter a whole interval of waiting first (a timed wait
     * cannot time out early; a busy machine may make it ask more than once, if the
     * spinner is slow to see the request). */
    assert_true(waited < BOUND);
    assert_true(st.drop_requests >= 1);
    assert_true((int64_t)st.drop_requests * interval <= waited);
    /* the spinner's first hold ended on the request: not before main could have asked
     * (a whole interval after it began to wait), and main took the GIL after that drop
     * and after its last request */
    assert_true(st.logged >= 2);
    assert_int_equal(g.log[0].thread, s.t.id);
    assert_int_equal(g.log[0].dropped, GIL_REQUEST);
    assert_int_equal(g.log[1].thread, me.id);
    const struct gil_hold *mine = &g.log[1];
    assert_true(g.log[0].left >= mine->asked + interval);
    assert_true(st.requested_at >= mine->asked + interval);
    assert_true(mine->got >= g.log[0].left && mine->got >= st.requested_at);
    assert_true(mine->got - g.log[0].left < BOUND);
    assert_true(s.ticks > 0);
    gil_destroy(&g);
}

/* ---- an interval too long to add to the clock: never a drop request ---- */

/* The holder runs 100 ms, then drops the GIL for I/O. A waiter whose interval is
 * INT64_MAX ns must wait for that drop without ever asking for it: an interval that
 * wrapped round into the past would make every timed wait end at once and ask. */
static void test_huge_interval_never_asks(void **state)
{
    (void)state;
    const int64_t intervals[] = { INT64_MAX, INT64_MAX - 1 };
    for (size_t i = 0; i < ARRAY_LEN(intervals); i++) {
        struct gil g;
        gil_init(&g, &(struct gil_config){ .mode = GIL_NEW, .interval_ns = intervals[i], .log_size = 64 });
        struct spinner s;
        spinner_start(&s, &g);
        struct gil_thread me;
        gil_thread_init(&me, &g, "main");
        int64_t t0 = now_ns();
        pthread_t th;
        CHECK_PT(pthread_create(&th, NULL, take_and_leave, &me));
        /* wait until main's thread waits for the GIL, then let the spinner run on */
        while (gil_stats(&g).waiting == 0 && now_ns() - t0 < BOUND)
            sleep_ns(NS_PER_MS);
        sleep_ns(100 * NS_PER_MS);
        struct gil_stats mid = gil_stats(&g);
        atomic_store(&s.stop, true); /* the spinner exits, dropping the GIL */
        join_within(s.th, BOUND);
        join_within(th, BOUND);
        assert_int_equal(mid.waiting, 1);
        assert_int_equal(mid.drop_requests, 0);
        struct gil_stats st = gil_stats(&g);
        assert_int_equal(st.drop_requests, 0);
        assert_int_equal(st.holds, 2);
        assert_int_equal(g.log[0].dropped, GIL_EXIT); /* not GIL_REQUEST */
        assert_int_equal(g.log[1].thread, me.id);
        gil_destroy(&g);
    }
}

/* ---- forced switching hands the GIL to the waiter ---- */

static void forced(bool force, size_t *requests, size_t *handed, size_t *kept, unsigned long *forced_waits)
{
    struct gil g;
    gil_init(&g, &(struct gil_config){ .mode = GIL_NEW, .interval_ns = 200 * NS_PER_US, .no_force = !force,
                                       .log_size = 1 << 18 });
    atomic_bool stop;
    atomic_init(&stop, false);
    struct hog h[2];
    hogs_start(h, 2, &g, &stop, -1);
    sleep_ns(150 * NS_PER_MS);
    atomic_store(&stop, true);
    for (int i = 0; i < 2; i++)
        join_within(h[i].th, BOUND);
    struct gil_stats st = gil_stats(&g);
    assert_int_equal(st.violations, 0);
    *requests = *handed = *kept = 0;
    for (size_t i = 0; i + 1 < st.logged; i++) {
        if (g.log[i].dropped != GIL_REQUEST)
            continue;
        ++*requests;
        if (g.log[i + 1].thread != g.log[i].thread)
            ++*handed;
        else
            ++*kept;
    }
    *forced_waits = st.forced_waits;
    gil_destroy(&g);
}

static void test_forced_switch_hands_over(void **state)
{
    (void)state;
    size_t requests, handed, kept;
    unsigned long waits;
    forced(true, &requests, &handed, &kept, &waits);
    assert_true(requests >= 1);
    assert_int_equal(kept, 0); /* every drop on request went to the other thread */
    assert_int_equal(handed, requests);
    /* (whether the dropper had to wait for it depends on timing: the waiter may take the
     * GIL before the dropper looks, as on one core, so `waits` is not asserted here) */
}

/* Without FORCE_SWITCHING a thread that drops the GIL on request takes it straight
 * back if nobody else has: it does not wait for a hand-over. Alone on the GIL with a
 * drop request pending (set here by hand, as a waiter would), it drops and re-takes
 * it; with forcing on, the same drop would wait for ever for another taker. */
static void *drop_on_request(void *arg)
{
    struct gil_thread *t = arg;
    gil_take(t, GIL_START);
    atomic_store(&t->gil->drop_request, 1); /* SET_GIL_DROP_REQUEST */
    atomic_store(&t->gil->eval_breaker, 1);
    gil_run(t, 0, 10); /* the first check point sees it */
    gil_exit(t);
    return NULL;
}

static void test_no_forcing_retakes(void **state)
{
    (void)state;
    struct gil g;
    gil_init(&g, &(struct gil_config){ .mode = GIL_NEW, .no_force = true, .log_size = 64 });
    struct gil_thread t;
    gil_thread_init(&t, &g, "alone");
    pthread_t th;
    CHECK_PT(pthread_create(&th, NULL, drop_on_request, &t));
    join_within(th, BOUND); /* with forcing, it would still be waiting */
    struct gil_stats st = gil_stats(&g);
    assert_int_equal(st.holds, 2);
    assert_int_equal(g.log[0].dropped, GIL_REQUEST);
    assert_int_equal(g.log[1].took, GIL_REQUEST);
    assert_int_equal(g.log[1].thread, t.id); /* it took its own GIL back */
    assert_int_equal(g.log[1].dropped, GIL_EXIT);
    assert_int_equal(st.switches, 1);
    gil_destroy(&g);
}

/* ---- switch_number counts changes of holder only ---- */

struct once {
    struct gil_thread t;
    int times;
};

static void *take_drop_main(void *arg)
{
    struct once *o = arg;
    for (int i = 0; i < o->times; i++) {
        gil_take(&o->t, i == 0 ? GIL_START : GIL_IO);
        gil_drop(&o->t, i + 1 == o->times ? GIL_EXIT : GIL_IO);
    }
    return NULL;
}

static void run_once(struct once *o)
{
    pthread_t th;
    CHECK_PT(pthread_create(&th, NULL, take_drop_main, o));
    join_within(th, BOUND);
}

static void test_switch_number(void **state)
{
    (void)state;
    struct gil g;
    gil_init(&g, &(struct gil_config){ .mode = GIL_NEW, .log_size = 64 });
    struct once a = { .times = 5 }, b = { .times = 3 };
    gil_thread_init(&a.t, &g, "a");
    gil_thread_init(&b.t, &g, "b");
    run_once(&a);
    assert_int_equal(gil_stats(&g).switches, 1); /* five takes by one thread: one change */
    run_once(&b);
    assert_int_equal(gil_stats(&g).switches, 2);
    run_once(&b);
    assert_int_equal(gil_stats(&g).switches, 2); /* b again: no change */
    run_once(&a);
    assert_int_equal(gil_stats(&g).switches, 3);
    struct gil_stats st = gil_stats(&g);
    assert_int_equal(st.holds, 5 + 3 + 3 + 5);
    assert_int_equal(st.drop_requests, 0);
    gil_destroy(&g);
}

/* ---- releasing for I/O lets another thread run ---- */

struct reader {
    struct gil_thread t;
    int in_io_fd;   /* it writes a byte here once it is inside its blocking call */
    int wake_fd;    /* and blocks reading this */
    int rc;
};

static void *reader_main(void *arg)
{
    struct reader *r = arg;
    char c = 'x';
    gil_take(&r->t, GIL_START);
    gil_io_begin(&r->t);
    r->rc = -1;
    if (write(r->in_io_fd, &c, 1) == 1) {
        struct pollfd p = { .fd = r->wake_fd, .events = POLLIN };
        if (poll(&p, 1, (int)(BOUND / NS_PER_MS)) == 1 && read(r->wake_fd, &c, 1) == 1)
            r->rc = 0; /* the main thread ran, under the GIL, and woke us */
    }
    gil_io_end(&r->t);
    gil_exit(&r->t);
    return NULL;
}

static void test_io_lets_another_run(void **state)
{
    (void)state;
    struct gil g; /* an interval far beyond the test: no drop request can come into it */
    gil_init(&g, &(struct gil_config){ .mode = GIL_NEW, .interval_ns = 100 * NS_PER_S, .log_size = 64 });
    int in_io[2], wake[2];
    CHECK_SYS(pipe(in_io));
    CHECK_SYS(pipe(wake));
    struct reader r = { .in_io_fd = in_io[1], .wake_fd = wake[0] };
    gil_thread_init(&r.t, &g, "reader");
    pthread_t th;
    CHECK_PT(pthread_create(&th, NULL, reader_main, &r));

    char c;
    struct pollfd p = { .fd = in_io[0], .events = POLLIN };
    assert_int_equal(poll(&p, 1, (int)(BOUND / NS_PER_MS)), 1);
    assert_int_equal(read(in_io[0], &c, 1), 1);
    /* the reader is in its blocking call: we get the GIL without waiting for it */
    struct gil_thread me;
    gil_thread_init(&me, &g, "main");
    int64_t waited = gil_take(&me, GIL_START);
    uint64_t sum = gil_run(&me, 0, 1000);
    assert_int_equal(write(wake[1], &c, 1), 1);
    gil_exit(&me);
    join_within(th, BOUND);

    struct gil_stats st = gil_stats(&g);
    assert_int_equal(r.rc, 0);
    assert_true(waited < BOUND);
    assert_int_equal(st.drop_requests, 0);
    assert_int_equal(st.holds, 3);
    assert_int_equal(g.log[0].thread, r.t.id);
    assert_int_equal(g.log[0].dropped, GIL_IO);
    assert_int_equal(g.log[1].thread, me.id);   /* we ran while it was blocked */
    assert_int_equal(g.log[2].thread, r.t.id);
    assert_int_equal(g.log[2].took, GIL_IO);
    assert_true(sum != 0);
    for (int i = 0; i < 2; i++) {
        CHECK_SYS(close(in_io[i]));
        CHECK_SYS(close(wake[i]));
    }
    gil_destroy(&g);
}

/* ---- the old GIL re-takes without a hand-off ---- */

static void test_old_gil_retakes(void **state)
{
    (void)state;
    /* alone: one release and re-take every check_interval ticks, nothing else */
    struct gil g;
    gil_init(&g, &(struct gil_config){ .mode = GIL_OLD, .check_interval = 100, .log_size = 1024 });
    struct gil_thread me;
    gil_thread_init(&me, &g, "main");
    gil_take(&me, GIL_START);
    gil_run(&me, 0, 100 * 50);
    gil_exit(&me);
    struct gil_stats st = gil_stats(&g);
    assert_int_equal(st.holds, 51);
    assert_int_equal(st.switches, 1);
    assert_int_equal(st.drop_requests, 0);
    assert_int_equal(st.forced_waits, 0);
    for (size_t i = 1; i < st.logged; i++) {
        assert_int_equal(g.log[i].took, GIL_TICKS);
        assert_int_equal(g.log[i - 1].dropped, GIL_TICKS);
    }
    gil_destroy(&g);

    /* Two CPU-bound threads: every 100 ticks the holder lets go and takes the lock
     * again at once, and nothing makes it hand over: it usually gets the lock back
     * itself (on a quiet machine, often while the other thread is waiting for it; on a
     * busy one, the other may simply not be running). So the releases far outnumber
     * the changes of holder, and there are no drop requests or forced waits at all. */
    gil_init(&g, &(struct gil_config){ .mode = GIL_OLD, .log_size = 1 << 18 });
    atomic_bool stop;
    atomic_init(&stop, false);
    struct hog h[2];
    hogs_start(h, 2, &g, &stop, -1);
    sleep_ns(100 * NS_PER_MS);
    atomic_store(&stop, true);
    for (int i = 0; i < 2; i++)
        join_within(h[i].th, BOUND);
    st = gil_stats(&g);
    size_t retaken = 0; /* a release for ticks followed by a take by the same thread */
    for (size_t i = 0; i + 1 < st.logged; i++)
        if (g.log[i].dropped == GIL_TICKS && g.log[i + 1].thread == g.log[i].thread)
            retaken++;
    assert_true(h[0].ticks > 0 && h[1].ticks > 0); /* both ran */
    assert_true(st.switches >= 2);                /* and the GIL changed hands */
    assert_true(retaken > 4 * st.switches);       /* but mostly it went back to the releaser */
    assert_int_equal(st.drop_requests, 0);
    assert_int_equal(st.forced_waits, 0);
    assert_int_equal(st.violations, 0);
    gil_destroy(&g);
}

/* ---- clean shutdown: every thread ends, nobody is left waiting ---- */

static void test_clean_shutdown(void **state)
{
    (void)state;
    struct gil g;
    gil_init(&g, &(struct gil_config){ .mode = GIL_NEW, .interval_ns = 100 * NS_PER_US, .log_size = 1 << 16 });
    atomic_bool stop;
    atomic_init(&stop, false);
    struct echo e;
    echo_start(&e, -1, 0);
    struct hog h[3];
    hogs_start(h, 3, &g, &stop, -1);
    struct pinger p;
    pinger_start(&p, &g, e.fd, &stop, 10, 1024, -1);
    sleep_ns(100 * NS_PER_MS);
    atomic_store(&stop, true); /* every thread is running, waiting, or forced-waiting now */
    for (int i = 0; i < 3; i++)
        join_within(h[i].th, BOUND);
    join_within(p.th, BOUND);
    echo_stop(&e);
    struct gil_stats st = gil_stats(&g);
    assert_false(st.locked);
    assert_int_equal(st.waiting, 0);
    assert_int_equal(atomic_load(&g.holders), 0);
    assert_int_equal(st.violations, 0);
    assert_true(p.t.holds >= 1); /* every thread had the GIL at least once, and let it go */
    for (int i = 0; i < 3; i++)
        assert_true(h[i].t.holds >= 1);
    pinger_free(&p);
    gil_destroy(&g);
}

/* ---- misuse is refused, loudly ---- */

static void destroy_held(void *arg)
{
    (void)arg;
    struct gil g;
    struct gil_thread t;
    gil_init(&g, &(struct gil_config){ .mode = GIL_NEW });
    gil_thread_init(&t, &g, "t");
    gil_take(&t, GIL_START);
    gil_destroy(&g); /* dies */
}

static void drop_unheld(void *arg)
{
    (void)arg;
    struct gil g;
    struct gil_thread t;
    gil_init(&g, &(struct gil_config){ .mode = GIL_NEW });
    gil_thread_init(&t, &g, "nobody");
    gil_drop(&t, GIL_IO); /* dies */
}

static void test_misuse(void **state)
{
    (void)state;
    struct captured *c = malloc(sizeof *c);
    assert_non_null(c);
    capture(destroy_held, NULL, BOUND, c);
    assert_true(WIFEXITED(c->status) && WEXITSTATUS(c->status) == 1);
    assert_non_null(strstr(c->err, "gil_destroy: the GIL is held"));
    capture(drop_unheld, NULL, BOUND, c);
    assert_true(WIFEXITED(c->status) && WEXITSTATUS(c->status) == 1);
    assert_non_null(strstr(c->err, "does not hold the GIL"));
    free(c);
}

/* ---- no GIL: the lock does nothing ---- */

static void test_no_gil(void **state)
{
    (void)state;
    struct gil g;
    gil_init(&g, &(struct gil_config){ .mode = GIL_NONE, .log_size = 16 });
    struct gil_thread a, b;
    gil_thread_init(&a, &g, "a");
    gil_thread_init(&b, &g, "b");
    gil_take(&a, GIL_START);
    gil_take(&b, GIL_START); /* both "hold" it: there is nothing to hold */
    assert_int_equal(gil_run(&a, 0, 10), gil_run(&b, 0, 10));
    gil_exit(&a);
    gil_exit(&b);
    assert_int_equal(gil_stats(&g).holds, 0);
    gil_destroy(&g);
}

/* ---- the tick rate counts the thread's own CPU time ---- */

static atomic_bool g_spin_stop;

static void *spinner(void *arg)
{
    (void)arg;
    while (!atomic_load_explicit(&g_spin_stop, memory_order_relaxed))
        ;
    return NULL;
}

/* gil_tick_rate with another thread spinning on the same CPU: the calibrating thread
 * runs about half the time, and a rate timed on the wall clock came out about half
 * (gil_fetch's "2 ms" parse was then 1 ms of work). Timed on the thread's CPU clock it
 * stays near the rate alone. In a child, so that the pin does not outlive the test. */
static void test_tick_rate_under_load(void **state)
{
    (void)state;
    pid_t pid = fork_child();
    if (pid == 0) {
        pin_to_cpu(cpu_nth(0)); /* the spinner inherits the pin: one CPU for both */
        double alone = gil_tick_rate(40 * NS_PER_MS);
        pthread_t t;
        atomic_store(&g_spin_stop, false);
        CHECK_PT(pthread_create(&t, NULL, spinner, NULL));
        double shared = gil_tick_rate(40 * NS_PER_MS);
        atomic_store(&g_spin_stop, true);
        CHECK_PT(pthread_join(t, NULL));
        if (shared < 0.7 * alone)
            fprintf(stderr, "tick rate alone %.3g/s, beside a spinner on its CPU %.3g/s (%.2f)\n", alone,
                    shared, shared / alone);
        _exit(shared >= 0.7 * alone ? 0 : 1);
    }
    int status;
    assert_int_equal(child_wait(pid, 60 * NS_PER_S, &status), 0);
    assert_int_equal(exitcode_of(status), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_check_finds_overlaps),
        cmocka_unit_test(test_never_two_holders_new),
        cmocka_unit_test(test_never_two_holders_old),
        cmocka_unit_test(test_drop_request_honoured),
        cmocka_unit_test(test_forced_switch_hands_over),
        cmocka_unit_test(test_no_forcing_retakes),
        cmocka_unit_test(test_huge_interval_never_asks),
        cmocka_unit_test(test_switch_number),
        cmocka_unit_test(test_io_lets_another_run),
        cmocka_unit_test(test_old_gil_retakes),
        cmocka_unit_test(test_clean_shutdown),
        cmocka_unit_test(test_misuse),
        cmocka_unit_test(test_no_gil),
        cmocka_unit_test(test_tick_rate_under_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
