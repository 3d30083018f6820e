/* test_sync.c: the tests of chapters/09-sync's Condition, Semaphore,
 * BoundedSemaphore, Event and Barrier (cond.c, semaphore.c, event.c, barrier.c):
 * their semantics, every error path (an unheld lock, a release past the bound, bad
 * arguments, timeouts that come back in time, a broken barrier), notify(n) waking
 * exactly n in arrival order, and a stress test per primitive that checks its
 * invariant with several threads. Threads record what they saw; the assertions run
 * in the test's own thread. */
#include "../chapters/09-sync/sync.h"

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "synctest.h"
#include <limits.h>
#include <string.h>

/* ================================ Condition ================================ */

static void test_cond_needs_the_lock(void **state)
{
    (void)state;
    struct fmutex m = FMUTEX_INITIALIZER;
    struct cond c;
    cond_init(&c, &m);
    assert_int_equal(cond_wait(&c, 0), SYNC_NOT_OWNED); /* "cannot wait on un-acquired lock" */
    assert_int_equal(cond_wait_for(&c, NULL, NULL, 0), SYNC_NOT_OWNED);
    assert_int_equal(cond_notify(&c, 1), SYNC_NOT_OWNED);
    assert_int_equal(cond_notify_all(&c), SYNC_NOT_OWNED);
    assert_false(fmutex_locked(&m));
    fmutex_lock(&m);
    assert_int_equal(cond_notify(&c, 3), SYNC_OK); /* nobody waits: nothing happens */
    assert_int_equal(c.waiting, 0);
    fmutex_unlock(&m);
}

static void test_cond_wait_times_out_with_the_lock(void **state)
{
    (void)state;
    struct fmutex m = FMUTEX_INITIALIZER;
    struct cond c;
    cond_init(&c, &m);
    fmutex_lock(&m);
    int64_t t0 = now_ns();
    assert_int_equal(cond_wait(&c, 40 * NS_PER_MS), SYNC_TIMEOUT);
    assert_took(t0, 40 * NS_PER_MS);
    assert_true(fmutex_locked(&m)); /* it has the lock again */
    assert_int_equal(c.waiting, 0); /* and took itself off the list */
    assert_null(c.head);
    assert_null(c.tail);
    assert_int_equal(cond_wait(&c, 0), SYNC_TIMEOUT); /* wait(0): a look, no sleep */
    assert_int_equal(fmutex_unlock(&m), SYNC_OK);
}

/* waiters that record the order in which they came back */
enum { WAITERS = 5 };
struct waiters {
    struct fmutex m;
    struct cond c;
    int started;           /* guarded by m: waiter i waits only after waiter i-1 */
    int order[WAITERS];    /* guarded by m: who came back, in order */
    int returned;          /* guarded by m */
    int rc[WAITERS];
};
struct waiter_arg {
    struct waiters *w;
    int id;
};

static void *waiter(void *arg)
{
    struct waiter_arg *a = arg;
    struct waiters *w = a->w;
    fmutex_lock(&w->m);
    w->started++;
    w->rc[a->id] = cond_wait(&w->c, SECONDS(20));
    w->order[w->returned++] = a->id;
    fmutex_unlock(&w->m);
    return NULL;
}

static int returned(struct waiters *w)
{
    fmutex_lock(&w->m);
    int n = w->returned;
    fmutex_unlock(&w->m);
    return n;
}

static void test_notify_n_wakes_exactly_n_oldest_first(void **state)
{
    (void)state;
    struct waiters w = { .returned = 0 };
    fmutex_init(&w.m, 0);
    cond_init(&w.c, &w.m);
    pthread_t t[WAITERS];
    struct waiter_arg a[WAITERS];
    for (int i = 0; i < WAITERS; i++) { /* one at a time, so the order is known */
        a[i] = (struct waiter_arg){ &w, i };
        start(&t[i], waiter, &a[i]);
        await_waiters(&w.c, i + 1);
    }
    fmutex_lock(&w.m);
    assert_int_equal(cond_notify(&w.c, 2), SYNC_OK);
    assert_int_equal(w.c.waiting, 3);
    fmutex_unlock(&w.m);
    int64_t deadline = deadline_in(SECONDS(10));
    while (returned(&w) < 2 && ns_left(deadline) > 0)
        sleep_ns(NS_PER_MS);
    sleep_ns(50 * NS_PER_MS); /* time for a third to come back, if one wrongly could */
    assert_int_equal(returned(&w), 2);
    assert_int_equal(w.order[0] + w.order[1], 0 + 1); /* the two oldest (either order) */

    fmutex_lock(&w.m);
    assert_int_equal(cond_notify(&w.c, 1), SYNC_OK);
    fmutex_unlock(&w.m);
    while (returned(&w) < 3 && ns_left(deadline) > 0)
        sleep_ns(NS_PER_MS);
    sleep_ns(20 * NS_PER_MS);
    assert_int_equal(returned(&w), 3);
    assert_int_equal(w.order[2], 2); /* then the next oldest */

    fmutex_lock(&w.m);
    assert_int_equal(cond_notify_all(&w.c), SYNC_OK);
    assert_int_equal(w.c.waiting, 0);
    fmutex_unlock(&w.m);
    for (int i = 0; i < WAITERS; i++)
        join(t[i]);
    assert_int_equal(w.returned, WAITERS);
    for (int i = 0; i < WAITERS; i++)
        assert_int_equal(w.rc[i], SYNC_OK);
}

/* wait_for: a wake-up that leaves the predicate false sends the waiter back to sleep */
struct gate {
    struct fmutex m;
    struct cond c;
    bool open;   /* the predicate */
    int checks;  /* how often the predicate was evaluated */
    int rc;
    bool done;
};

static bool gate_open(void *arg)
{
    struct gate *g = arg;
    g->checks++;
    return g->open;
}

static void *gate_waiter(void *arg)
{
    struct gate *g = arg;
    fmutex_lock(&g->m);
    g->rc = cond_wait_for(&g->c, gate_open, g, SECONDS(20));
    g->done = true;
    fmutex_unlock(&g->m);
    return NULL;
}

static void test_wait_for_sleeps_again_until_true(void **state)
{
    (void)state;
    struct gate g = { .open = false };
    fmutex_init(&g.m, 0);
    cond_init(&g.c, &g.m);
    pthread_t t;
    start(&t, gate_waiter, &g);
    await_waiters(&g.c, 1);
    for (int i = 0; i < 3; i++) { /* three notifies with the gate still shut */
        fmutex_lock(&g.m);
        assert_int_equal(cond_notify(&g.c, 1), SYNC_OK);
        fmutex_unlock(&g.m);
        await_waiters(&g.c, 1); /* it went back to sleep */
    }
    fmutex_lock(&g.m);
    assert_false(g.done);
    assert_int_equal(g.checks, 4); /* once at first, once per wake-up */
    g.open = true;
    cond_notify(&g.c, 1);
    fmutex_unlock(&g.m);
    join(t);
    assert_true(g.done);
    assert_int_equal(g.rc, SYNC_OK);
    assert_int_equal(g.checks, 5);

    /* still false at the deadline: TIMEOUT; already true: OK at once, no wait */
    g.open = false;
    fmutex_lock(&g.m);
    int64_t t0 = now_ns();
    assert_int_equal(cond_wait_for(&g.c, gate_open, &g, 30 * NS_PER_MS), SYNC_TIMEOUT);
    assert_took(t0, 30 * NS_PER_MS);
    g.open = true;
    assert_int_equal(cond_wait_for(&g.c, gate_open, &g, 0), SYNC_OK);
    fmutex_unlock(&g.m);
}

/* stress: a counter handed round between threads by a condition; each thread waits
 * for its turn, so every step is taken by exactly the thread whose turn it is */
enum { TURN_THREADS = 4, TURNS = 3000 };
static struct {
    struct fmutex m;
    struct cond c;
    int turn;        /* whose turn: step % TURN_THREADS */
    long step;
    long wrong;      /* a thread that went on out of turn */
} tr;

static bool my_turn(void *arg)
{
    return tr.turn == (int)(intptr_t)arg || tr.step >= (long)TURNS * TURN_THREADS;
}

static void *taker(void *arg)
{
    int me = (int)(intptr_t)arg;
    for (;;) {
        fmutex_lock(&tr.m);
        if (cond_wait_for(&tr.c, my_turn, arg, SECONDS(20)) != SYNC_OK)
            fatal("taker %d: no turn in 20 s", me);
        if (tr.step >= (long)TURNS * TURN_THREADS) {
            fmutex_unlock(&tr.m);
            return NULL;
        }
        if (tr.turn != me)
            tr.wrong++;
        tr.step++;
        tr.turn = (int)(tr.step % TURN_THREADS);
        cond_notify_all(&tr.c);
        fmutex_unlock(&tr.m);
    }
}

static void test_cond_stress_turns(void **state)
{
    (void)state;
    fmutex_init(&tr.m, 0);
    cond_init(&tr.c, &tr.m);
    tr.turn = 0;
    tr.step = tr.wrong = 0;
    pthread_t t[TURN_THREADS];
    for (int i = 0; i < TURN_THREADS; i++)
        start(&t[i], taker, (void *)(intptr_t)i);
    for (int i = 0; i < TURN_THREADS; i++)
        join(t[i]);
    assert_int_equal(tr.step, (long)TURNS * TURN_THREADS);
    assert_int_equal(tr.wrong, 0);
    assert_int_equal(tr.c.waiting, 0);
}

/* ================================ Semaphore ================================ */

static void test_semaphore_errors_and_bound(void **state)
{
    (void)state;
    struct semaphore s;
    assert_int_equal(semaphore_init(&s, -1), SYNC_INVALID);
    assert_int_equal(bounded_semaphore_init(&s, -1), SYNC_INVALID);

    assert_int_equal(bounded_semaphore_init(&s, 2), SYNC_OK);
    assert_int_equal(semaphore_release(&s, 1), SYNC_TOO_MANY); /* ValueError */
    assert_int_equal(semaphore_value(&s), 2);                  /* nothing changed */
    assert_int_equal(semaphore_acquire(&s, -1), SYNC_OK);
    assert_int_equal(semaphore_release(&s, 2), SYNC_TOO_MANY); /* 1 + 2 > 2 */
    assert_int_equal(semaphore_release(&s, 0), SYNC_INVALID);  /* n must be >= 1 */
    assert_int_equal(semaphore_release(&s, 1), SYNC_OK);
    assert_int_equal(semaphore_value(&s), 2);

    assert_int_equal(semaphore_init(&s, 1), SYNC_OK); /* unbounded: may go past */
    assert_int_equal(semaphore_release(&s, 3), SYNC_OK);
    assert_int_equal(semaphore_value(&s), 4);
    assert_int_equal(semaphore_release(&s, LONG_MAX), SYNC_INVALID); /* would overflow */
    assert_int_equal(semaphore_value(&s), 4);
}

static void test_semaphore_timeouts(void **state)
{
    (void)state;
    struct semaphore s;
    assert_int_equal(semaphore_init(&s, 1), SYNC_OK);
    assert_int_equal(semaphore_acquire(&s, 0), SYNC_OK);
    int64_t t0 = now_ns();
    assert_int_equal(semaphore_acquire(&s, 0), SYNC_TIMEOUT); /* blocking=False */
    assert_true(now_ns() - t0 < SECONDS(1));
    t0 = now_ns();
    assert_int_equal(semaphore_acquire(&s, 40 * NS_PER_MS), SYNC_TIMEOUT);
    assert_took(t0, 40 * NS_PER_MS);
    assert_int_equal(semaphore_value(&s), 0);
    assert_int_equal(s.cond.waiting, 0);
}

struct sem_waiter {
    struct semaphore *s;
    int rc;
};

static void *sem_acquirer(void *arg)
{
    struct sem_waiter *w = arg;
    w->rc = semaphore_acquire(w->s, SECONDS(20));
    return NULL;
}

static void test_release_n_lets_n_in(void **state)
{
    (void)state;
    struct semaphore s;
    assert_int_equal(semaphore_init(&s, 0), SYNC_OK);
    pthread_t t[3];
    struct sem_waiter w[3];
    for (int i = 0; i < 3; i++) {
        w[i] = (struct sem_waiter){ &s, -1 };
        start(&t[i], sem_acquirer, &w[i]);
    }
    await_waiters(&s.cond, 3);
    assert_int_equal(semaphore_release(&s, 2), SYNC_OK);
    await_waiters(&s.cond, 1); /* two were let go, one still waits */
    int64_t deadline = deadline_in(SECONDS(10));
    while (semaphore_value(&s) != 0 && ns_left(deadline) > 0)
        sleep_ns(NS_PER_MS); /* the two take their units when they run */
    assert_int_equal(semaphore_value(&s), 0);
    sleep_ns(20 * NS_PER_MS);
    assert_int_equal(s.cond.waiting, 1); /* the third is still asleep */
    assert_int_equal(semaphore_release(&s, 1), SYNC_OK);
    for (int i = 0; i < 3; i++) {
        join(t[i]);
        assert_int_equal(w[i].rc, SYNC_OK);
    }
    assert_int_equal(semaphore_value(&s), 0);
}

/* stress: never more than N inside a Semaphore(N) */
enum { SEM_N = 3, SEM_THREADS = 8, SEM_ROUNDS = 2000 };
static struct {
    struct semaphore s;
    _Atomic int inside, most;
} sm;

static void *sem_user(void *arg)
{
    (void)arg;
    for (int i = 0; i < SEM_ROUNDS; i++) {
        if (semaphore_acquire(&sm.s, SECONDS(20)) != SYNC_OK)
            fatal("sem_user: no entry in 20 s");
        int n = atomic_fetch_add(&sm.inside, 1) + 1;
        int most = atomic_load(&sm.most);
        while (n > most && !atomic_compare_exchange_weak(&sm.most, &most, n))
            ;
        if (i % 64 == 0)
            sleep_ns(20 * NS_PER_US); /* now and then stay a while, so others pile up */
        atomic_fetch_sub(&sm.inside, 1);
        if (semaphore_release(&sm.s, 1) != SYNC_OK)
            fatal("sem_user: release refused");
    }
    return NULL;
}

static void test_semaphore_stress_at_most_n_inside(void **state)
{
    (void)state;
    assert_int_equal(bounded_semaphore_init(&sm.s, SEM_N), SYNC_OK);
    atomic_store(&sm.inside, 0);
    atomic_store(&sm.most, 0);
    pthread_t t[SEM_THREADS];
    for (int i = 0; i < SEM_THREADS; i++)
        start(&t[i], sem_user, NULL);
    for (int i = 0; i < SEM_THREADS; i++)
        join(t[i]);
    assert_true(atomic_load(&sm.most) <= SEM_N);
    assert_true(atomic_load(&sm.most) >= 1);
    assert_int_equal(semaphore_value(&sm.s), SEM_N); /* every acquire had its release */
}

/* ================================== Event ================================== */

static void test_event_set_clear_wait(void **state)
{
    (void)state;
    struct event e;
    event_init(&e);
    assert_false(event_is_set(&e));
    int64_t t0 = now_ns();
    assert_int_equal(event_wait(&e, 30 * NS_PER_MS), SYNC_TIMEOUT);
    assert_took(t0, 30 * NS_PER_MS);
    assert_int_equal(event_wait(&e, 0), SYNC_TIMEOUT);
    event_set(&e);
    assert_true(event_is_set(&e));
    t0 = now_ns();
    assert_int_equal(event_wait(&e, -1), SYNC_OK); /* set: no wait at all */
    assert_int_equal(event_wait(&e, 0), SYNC_OK);
    assert_true(now_ns() - t0 < SECONDS(1));
    event_set(&e); /* setting it twice is fine */
    event_clear(&e);
    assert_false(event_is_set(&e));
    assert_int_equal(event_wait(&e, 0), SYNC_TIMEOUT);
}

struct ev_waiter {
    struct event *e;
    int rc;
};

static void *ev_waiter(void *arg)
{
    struct ev_waiter *w = arg;
    w->rc = event_wait(w->e, SECONDS(20));
    return NULL;
}

static void test_event_set_wakes_all_even_if_cleared_at_once(void **state)
{
    (void)state;
    struct event e;
    event_init(&e);
    pthread_t t[4];
    struct ev_waiter w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct ev_waiter){ &e, -1 };
        start(&t[i], ev_waiter, &w[i]);
    }
    await_waiters(&e.cond, 4);
    event_set(&e);
    event_clear(&e); /* the sleepers were already let go by set */
    for (int i = 0; i < 4; i++) {
        join(t[i]);
        assert_int_equal(w[i].rc, SYNC_OK);
    }
}

/* stress: rounds of set/clear; every waiter passes every round exactly once */
enum { EV_THREADS = 4, EV_ROUNDS = 300 };
static struct {
    struct event go[2];    /* rounds alternate between two events */
    struct semaphore back; /* each waiter reports back once per round */
    _Atomic int passed[EV_ROUNDS];
} ev;

static void *ev_runner(void *arg)
{
    (void)arg;
    for (int r = 0; r < EV_ROUNDS; r++) {
        if (event_wait(&ev.go[r % 2], SECONDS(20)) != SYNC_OK)
            fatal("ev_runner: round %d never came", r);
        atomic_fetch_add(&ev.passed[r], 1);
        if (semaphore_release(&ev.back, 1) != SYNC_OK)
            fatal("ev_runner: release");
    }
    return NULL;
}

static void test_event_stress_rounds(void **state)
{
    (void)state;
    event_init(&ev.go[0]);
    event_init(&ev.go[1]);
    assert_int_equal(semaphore_init(&ev.back, 0), SYNC_OK);
    for (int r = 0; r < EV_ROUNDS; r++)
        atomic_store(&ev.passed[r], 0);
    pthread_t t[EV_THREADS];
    for (int i = 0; i < EV_THREADS; i++)
        start(&t[i], ev_runner, NULL);
    for (int r = 0; r < EV_ROUNDS; r++) {
        event_clear(&ev.go[(r + 1) % 2]); /* shut the next round's gate first */
        event_set(&ev.go[r % 2]);
        for (int i = 0; i < EV_THREADS; i++)
            assert_int_equal(semaphore_acquire(&ev.back, SECONDS(20)), SYNC_OK);
        assert_int_equal(atomic_load(&ev.passed[r]), EV_THREADS);
        if (r > 0)
            assert_int_equal(atomic_load(&ev.passed[r - 1]), EV_THREADS); /* no one twice */
    }
    for (int i = 0; i < EV_THREADS; i++)
        join(t[i]);
}

/* ================================= Barrier ================================= */

static void test_barrier_invalid(void **state)
{
    (void)state;
    struct barrier b;
    assert_int_equal(barrier_init(&b, 0, NULL, NULL, -1), SYNC_INVALID);
    assert_int_equal(barrier_init(&b, 1, NULL, NULL, -1), SYNC_OK);
    int index = -1;
    assert_int_equal(barrier_wait(&b, &index), SYNC_OK); /* one party: never waits */
    assert_int_equal(index, 0);
    assert_int_equal(b.parties, 1);
}

struct party {
    struct barrier *b;
    int64_t timeout;  /* < -1: use the barrier's own */
    int rc, index;
    int64_t took;
};

static void *party(void *arg)
{
    struct party *p = arg;
    int64_t t0 = now_ns();
    p->rc = p->timeout < -1 ? barrier_wait(p->b, &p->index)
                            : barrier_wait_timeout(p->b, p->timeout, &p->index);
    p->took = now_ns() - t0;
    return NULL;
}

static int g_actions;
static int count_action(void *arg)
{
    (void)arg;
    g_actions++; /* run by the last to arrive, under the barrier's lock */
    return 0;
}

static int failing_action(void *arg)
{
    (void)arg;
    return -1; /* Python: the action raised */
}

/* n parties with these timeouts; returns after all are done */
static void run_parties(struct barrier *b, struct party *p, int n, int64_t timeout)
{
    pthread_t t[8];
    for (int i = 0; i < n; i++) {
        p[i] = (struct party){ .b = b, .timeout = timeout, .rc = -1, .index = -1 };
        start(&t[i], party, &p[i]);
    }
    for (int i = 0; i < n; i++)
        join(t[i]);
}

static void test_barrier_rounds_indices_action(void **state)
{
    (void)state;
    struct barrier b;
    g_actions = 0;
    assert_int_equal(barrier_init(&b, 3, count_action, NULL, -1), SYNC_OK);
    for (int round = 1; round <= 3; round++) { /* the same barrier, used again */
        struct party p[3];
        run_parties(&b, p, 3, -2);
        int seen = 0;
        for (int i = 0; i < 3; i++) {
            assert_int_equal(p[i].rc, SYNC_OK);
            assert_in_range(p[i].index, 0, 2);
            seen |= 1 << p[i].index;
        }
        assert_int_equal(seen, 7); /* indices 0, 1, 2: one each */
        assert_int_equal(g_actions, round);
        assert_int_equal(barrier_n_waiting(&b), 0);
        assert_false(barrier_broken(&b));
    }
}

static void test_barrier_timeout_breaks_it_for_all(void **state)
{
    (void)state;
    struct barrier b;
    assert_int_equal(barrier_init(&b, 3, NULL, NULL, -1), SYNC_OK);
    struct party p[2];
    pthread_t t[2];
    /* two of three parties come: one with a 50 ms timeout, one without any */
    p[0] = (struct party){ .b = &b, .timeout = -1, .rc = -1 };
    start(&t[0], party, &p[0]);
    await_waiters(&b.cond, 1);
    assert_int_equal(barrier_n_waiting(&b), 1);
    p[1] = (struct party){ .b = &b, .timeout = 50 * NS_PER_MS, .rc = -1 };
    int64_t t0 = now_ns();
    start(&t[1], party, &p[1]);
    join(t[1]);
    join(t[0]);
    assert_took(t0, 50 * NS_PER_MS);
    assert_int_equal(p[1].rc, SYNC_BROKEN); /* the one that gave up */
    assert_int_equal(p[0].rc, SYNC_BROKEN); /* and the one that would have waited forever */
    assert_true(p[1].took >= 50 * NS_PER_MS);
    assert_true(barrier_broken(&b));
    assert_int_equal(barrier_n_waiting(&b), 0);
    t0 = now_ns();
    assert_int_equal(barrier_wait_timeout(&b, SECONDS(10), NULL), SYNC_BROKEN); /* at once */
    assert_true(now_ns() - t0 < SECONDS(1));

    barrier_reset(&b);
    assert_false(barrier_broken(&b));
    struct party q[3];
    run_parties(&b, q, 3, SECONDS(20));
    for (int i = 0; i < 3; i++)
        assert_int_equal(q[i].rc, SYNC_OK);
}

static void test_barrier_default_timeout(void **state)
{
    (void)state;
    struct barrier b;
    assert_int_equal(barrier_init(&b, 2, NULL, NULL, 30 * NS_PER_MS), SYNC_OK);
    int64_t t0 = now_ns();
    assert_int_equal(barrier_wait(&b, NULL), SYNC_BROKEN);
    assert_took(t0, 30 * NS_PER_MS);
}

static void test_barrier_abort_reset_failing_action(void **state)
{
    (void)state;
    struct barrier b;
    struct party p[2];
    pthread_t t[2];
    assert_int_equal(barrier_init(&b, 3, NULL, NULL, -1), SYNC_OK);
    for (int i = 0; i < 2; i++) {
        p[i] = (struct party){ .b = &b, .timeout = SECONDS(20), .rc = -1 };
        start(&t[i], party, &p[i]);
    }
    await_waiters(&b.cond, 2);
    barrier_abort(&b); /* Python: abort() */
    for (int i = 0; i < 2; i++) {
        join(t[i]);
        assert_int_equal(p[i].rc, SYNC_BROKEN);
    }
    assert_true(barrier_broken(&b));
    barrier_reset(&b);
    assert_false(barrier_broken(&b));

    /* reset while two wait: they leave broken, and the barrier works afterwards */
    for (int i = 0; i < 2; i++) {
        p[i] = (struct party){ .b = &b, .timeout = SECONDS(20), .rc = -1 };
        start(&t[i], party, &p[i]);
    }
    await_waiters(&b.cond, 2);
    barrier_reset(&b);
    for (int i = 0; i < 2; i++) {
        join(t[i]);
        assert_int_equal(p[i].rc, SYNC_BROKEN);
    }
    assert_false(barrier_broken(&b));
    struct party q[3];
    run_parties(&b, q, 3, SECONDS(20));
    for (int i = 0; i < 3; i++)
        assert_int_equal(q[i].rc, SYNC_OK);

    /* an action that fails breaks the barrier for all three */
    assert_int_equal(barrier_init(&b, 3, failing_action, NULL, -1), SYNC_OK);
    run_parties(&b, q, 3, SECONDS(20));
    for (int i = 0; i < 3; i++)
        assert_int_equal(q[i].rc, SYNC_BROKEN);
    assert_true(barrier_broken(&b));
}

/* stress: rounds in lock-step; nobody starts round r+1 before all finished round r */
enum { BAR_THREADS = 4, BAR_ROUNDS = 500 };
static struct {
    struct barrier b;
    _Atomic int arrived[BAR_ROUNDS];
    _Atomic long early; /* a thread saw a round not everybody had reached */
    int actions;
} br;

static int bar_action(void *arg)
{
    (void)arg;
    br.actions++;
    return 0;
}

static void *bar_runner(void *arg)
{
    (void)arg;
    for (int r = 0; r < BAR_ROUNDS; r++) {
        atomic_fetch_add(&br.arrived[r], 1);
        if (barrier_wait(&br.b, NULL) != SYNC_OK)
            fatal("bar_runner: broken in round %d", r);
        if (atomic_load(&br.arrived[r]) != BAR_THREADS)
            atomic_fetch_add(&br.early, 1);
    }
    return NULL;
}

static void test_barrier_stress_lockstep(void **state)
{
    (void)state;
    assert_int_equal(barrier_init(&br.b, BAR_THREADS, bar_action, NULL, SECONDS(20)), SYNC_OK);
    for (int r = 0; r < BAR_ROUNDS; r++)
        atomic_store(&br.arrived[r], 0);
    atomic_store(&br.early, 0);
    br.actions = 0;
    pthread_t t[BAR_THREADS];
    for (int i = 0; i < BAR_THREADS; i++)
        start(&t[i], bar_runner, NULL);
    for (int i = 0; i < BAR_THREADS; i++)
        join(t[i]);
    assert_int_equal(atomic_load(&br.early), 0);
    assert_int_equal(br.actions, BAR_ROUNDS);
    assert_false(barrier_broken(&br.b));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cond_needs_the_lock),
        cmocka_unit_test(test_cond_wait_times_out_with_the_lock),
        cmocka_unit_test(test_notify_n_wakes_exactly_n_oldest_first),
        cmocka_unit_test(test_wait_for_sleeps_again_until_true),
        cmocka_unit_test(test_cond_stress_turns),
        cmocka_unit_test(test_semaphore_errors_and_bound),
        cmocka_unit_test(test_semaphore_timeouts),
        cmocka_unit_test(test_release_n_lets_n_in),
        cmocka_unit_test(test_semaphore_stress_at_most_n_inside),
        cmocka_unit_test(test_event_set_clear_wait),
        cmocka_unit_test(test_event_set_wakes_all_even_if_cleared_at_once),
        cmocka_unit_test(test_event_stress_rounds),
        cmocka_unit_test(test_barrier_invalid),
        cmocka_unit_test(test_barrier_rounds_indices_action),
        cmocka_unit_test(test_barrier_timeout_breaks_it_for_all),
        cmocka_unit_test(test_barrier_default_timeout),
        cmocka_unit_test(test_barrier_abort_reset_failing_action),
        cmocka_unit_test(test_barrier_stress_lockstep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
