/* gil.c: gil_simple.c's GIL with the rest of CPython's (see gil.h), following CPython's
 * Python/ceval_gil.c.
 *
 * Read gil_simple.c first: take, drop, the switch interval and the drop request, in
 * the same steps as below. What it lacks, and this file adds:
 *   - forced switching (step 4): a thread that drops the GIL on request waits until
 *     another thread has taken it. Without that wait the dropper, already running,
 *     often takes the GIL straight back while the waiter is still waking up, and the
 *     waiter must wait out another interval (gil_retake measures how often);
 *   - the old GIL of Python 2, and a mode with no GIL, for the experiments;
 *   - the log of every acquisition, the counters, and a live check of the invariant;
 *   - the eval breaker as a flag of its own, beside the drop request, as in CPython.
 * The steps keep gil_simple.c's numbers and, but for the forcing, its lines, on purpose.
 *
 * The new GIL (CPython 3.2+), step by step. T is a thread that wants the GIL, H the
 * thread that holds it.
 *
 *   1. T locks `mutex`. If `locked` is 0, it takes the GIL at once (step 5).
 *   2. Otherwise T waits on `cond` for at most the switch interval. Each wake-up
 *      starts a fresh wait of a whole interval: the interval is not a deadline.
 *   3. If the wait timed out, the GIL is still locked, and `switch_number` did not
 *      move while T waited (nobody else got the GIL meanwhile either), T sets the drop
 *      request and the eval breaker, and goes back to step 2.
 *   4. H reads the eval breaker at every check point. Seeing the drop request it drops
 *      the GIL: locked = 0, signal `cond` (one waiter wakes). With FORCE_SWITCHING it
 *      then waits on `switch_cond` until `last_holder` is another thread, so it cannot
 *      win the GIL straight back; then it queues for the GIL like anyone else (step 1).
 *   5. The taker sets locked = 1; if it is not the last holder, it becomes last_holder
 *      and switch_number goes up by one; it signals `switch_cond` (releasing an H
 *      waiting in step 4) and clears a pending drop request.
 *   A blocking call drops the GIL with no request (Py_BEGIN_ALLOW_THREADS), so nobody
 *   waits in step 4, and takes it back after (Py_END_ALLOW_THREADS), through step 1.
 *
 * The old GIL (CPython 2.x) is a plain lock built the same way (a flag, a mutex and a
 * condition variable, no timeout). Every check_interval ticks the holder releases it
 * and takes it straight back. The release signals one waiter, but the releaser is
 * already running and usually re-takes the lock before the waiter has even woken up.
 *
 * Differences from CPython, all deliberate: one GIL and no thread states (a small id
 * per thread); the eval breaker carries only the drop request (no signals, pending
 * calls or GC); the wait in step 4 loops on its condition (CPython waits once; a
 * spurious wake-up would end its wait early); and the instrumentation.
 *
 * The instrumentation: gil_take appends one entry to a log allocated up front (no
 * allocation, no lock beyond the GIL's own mutex, three clock reads per acquisition:
 * about 75 ns here), and a counter of holders, raised after `locked` is set and lowered
 * before it is cleared, must read 0 on every take.
 */
#include "gil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const char *const gil_mode_name[3] = { "new", "old", "none" };
const char *const gil_why_name[GIL_NWHY] = { "start", "request", "io", "ticks", "exit" };

int64_t gil_now(const struct gil *g)
{
    return now_ns() - g->t0;
}

void gil_init(struct gil *g, const struct gil_config *cfg)
{
    memset(g, 0, sizeof *g);
    g->mode = cfg->mode;
    g->interval_ns = cfg->interval_ns > 0 ? cfg->interval_ns : 5 * NS_PER_MS;
    g->force = !cfg->no_force;
    g->check_interval = cfg->check_interval > 0 ? cfg->check_interval : 100;
    g->ticker = g->check_interval;

    pthread_condattr_t ca;
    CHECK_PT(pthread_condattr_init(&ca));
    CHECK_PT(pthread_condattr_setclock(&ca, CLOCK_MONOTONIC)); /* timed waits on now_ns()'s clock */
    CHECK_PT(pthread_mutex_init(&g->mutex, NULL));
    CHECK_PT(pthread_cond_init(&g->cond, &ca));
    CHECK_PT(pthread_mutex_init(&g->switch_mutex, NULL));
    CHECK_PT(pthread_cond_init(&g->switch_cond, &ca));
    CHECK_PT(pthread_condattr_destroy(&ca));
    g->last_holder = -1;
    atomic_init(&g->drop_request, 0);
    atomic_init(&g->eval_breaker, 0);
    atomic_init(&g->forced_waits, 0);
    atomic_init(&g->holders, 0);
    atomic_init(&g->violations, 0);

    g->log_size = cfg->log_size;
    if (g->log_size > 0) {
        g->log = malloc(g->log_size * sizeof *g->log);
        if (!g->log)
            die("malloc(%zu log entries)", g->log_size);
        /* touch every page now, so no page fault lands inside a measurement */
        memset(g->log, 0, g->log_size * sizeof *g->log);
    }
    g->t0 = now_ns();
}

void gil_destroy(struct gil *g)
{
    CHECK_PT(pthread_mutex_lock(&g->mutex));
    int locked = g->locked, waiting = g->waiting;
    CHECK_PT(pthread_mutex_unlock(&g->mutex));
    if (locked || waiting)
        fatal("gil_destroy: the GIL is %s and %d thread(s) wait for it", locked ? "held" : "free",
              waiting);
    CHECK_PT(pthread_cond_destroy(&g->cond));
    CHECK_PT(pthread_mutex_destroy(&g->mutex));
    CHECK_PT(pthread_cond_destroy(&g->switch_cond));
    CHECK_PT(pthread_mutex_destroy(&g->switch_mutex));
    free(g->log);
    g->log = NULL;
}

void gil_thread_init(struct gil_thread *t, struct gil *g, const char *name)
{
    memset(t, 0, sizeof *t);
    t->gil = g;
    t->name = name;
    t->hold = SIZE_MAX;
    CHECK_PT(pthread_mutex_lock(&g->mutex));
    t->id = g->nthreads++;
    CHECK_PT(pthread_mutex_unlock(&g->mutex));
}

/* SET_GIL_DROP_REQUEST and RESET_GIL_DROP_REQUEST. CPython stores both flags with
 * relaxed atomics; the reset recomputes the breaker from the request, and may clear it
 * just after another waiter set the request: that waiter times out again and asks
 * again (CPython's comment: "the eval loop will release the GIL eventually anyway"). */
static void set_drop_request(struct gil *g)
{
    atomic_store_explicit(&g->drop_request, 1, memory_order_relaxed);
    atomic_store_explicit(&g->eval_breaker, 1, memory_order_relaxed);
}

static void reset_drop_request(struct gil *g)
{
    atomic_store_explicit(&g->drop_request, 0, memory_order_relaxed);
    atomic_store_explicit(&g->eval_breaker, atomic_load_explicit(&g->drop_request, memory_order_relaxed),
                          memory_order_relaxed);
}

int64_t gil_take(struct gil_thread *t, enum gil_why why)
{
    struct gil *g = t->gil;
    if (g->mode == GIL_NONE)
        return 0;
    int64_t asked = gil_now(g);
    CHECK_PT(pthread_mutex_lock(&g->mutex));                          /* step 1 */
    int others = g->waiting;
    if (g->locked) {
        g->waiting++;
        if (g->mode == GIL_OLD) {
            /* Python 2: wait, with no timeout and no request, until the lock is free */
            while (g->locked)
                CHECK_PT(pthread_cond_wait(&g->cond, &g->mutex));
        } else {
            while (g->locked) {
                unsigned long saved_switch = g->switch_number;
                /* step 2: a fresh wait of one whole interval each time round */
                struct timespec until = deadline_after(CLOCK_MONOTONIC, g->interval_ns);
                int rc = pthread_cond_timedwait(&g->cond, &g->mutex, &until);
                if (rc != 0 && rc != ETIMEDOUT)
                    die_en(rc, "pthread_cond_timedwait");
                /* step 3: a whole interval passed and the holder never changed */
                if (rc == ETIMEDOUT && g->locked && g->switch_number == saved_switch) {
                    g->requested_at = gil_now(g); /* before the holder can see it */
                    set_drop_request(g);
                    g->drop_requests++;
                }
            }
        }
        g->waiting--;
        others = g->waiting;
    }

    /* step 5 */
    bool force = g->mode == GIL_NEW && g->force;
    if (force) /* last_holder changes only under switch_mutex: drop_gil reads it there */
        CHECK_PT(pthread_mutex_lock(&g->switch_mutex));
    g->locked = 1;
    if (atomic_fetch_add(&g->holders, 1) != 0)
        atomic_fetch_add(&g->violations, 1);
    if (g->last_holder != t->id) {
        g->last_holder = t->id;
        g->switch_number++;
    }
    if (force) {
        CHECK_PT(pthread_cond_signal(&g->switch_cond));
        CHECK_PT(pthread_mutex_unlock(&g->switch_mutex));
    }
    if (atomic_load_explicit(&g->drop_request, memory_order_relaxed))
        reset_drop_request(g);

    int64_t got = gil_now(g);
    size_t i = g->n_holds++;
    if (i < g->log_size) {
        g->log[i] = (struct gil_hold){ .asked = asked, .got = got, .left = -1, .thread = (int16_t)t->id,
                                       .took = (uint8_t)why, .dropped = GIL_NWHY,
                                       .waiting = (uint8_t)(others > 255 ? 255 : others) };
        t->hold = i;
    } else {
        t->hold = SIZE_MAX;
    }
    CHECK_PT(pthread_mutex_unlock(&g->mutex));

    t->holding = true;
    t->got_at = got;
    t->holds++;
    t->waited_ns += got - asked;
    return got - asked;
}

void gil_drop(struct gil_thread *t, enum gil_why why)
{
    struct gil *g = t->gil;
    if (g->mode == GIL_NONE)
        return;
    if (!t->holding)
        fatal("gil_drop: thread %d (%s) does not hold the GIL", t->id, t->name ? t->name : "?");
    /* still the holder: the log entry and the counters are ours alone */
    int64_t left = gil_now(g);
    if (t->hold != SIZE_MAX) {
        g->log[t->hold].left = left;
        g->log[t->hold].dropped = (uint8_t)why;
    }
    t->held_ns += left - t->got_at;
    t->holding = false;
    atomic_fetch_sub(&g->holders, 1);

    /* step 4 */
    CHECK_PT(pthread_mutex_lock(&g->mutex));
    g->locked = 0;
    CHECK_PT(pthread_cond_signal(&g->cond));
    CHECK_PT(pthread_mutex_unlock(&g->mutex));

    /* FORCE_SWITCHING: on a drop request, don't come back until someone else has had
     * the GIL. A thread that is leaving for good (GIL_EXIT) skips this, as CPython's
     * drop_gil does when it is given no thread state. */
    if (g->mode == GIL_NEW && g->force && why != GIL_EXIT &&
        atomic_load_explicit(&g->drop_request, memory_order_relaxed)) {
        CHECK_PT(pthread_mutex_lock(&g->switch_mutex));
        if (g->last_holder == t->id) {
            reset_drop_request(g);
            atomic_fetch_add(&g->forced_waits, 1);
            while (g->last_holder == t->id)
                CHECK_PT(pthread_cond_wait(&g->switch_cond, &g->switch_mutex));
        }
        CHECK_PT(pthread_mutex_unlock(&g->switch_mutex));
    }
}

/* The eval breaker is set: CPython's _Py_HandlePending, reduced to the drop request. */
void gil_eval_breaker(struct gil_thread *t)
{
    if (atomic_load_explicit(&t->gil->drop_request, memory_order_relaxed)) {
        gil_drop(t, GIL_REQUEST);
        /* other threads may run now */
        gil_take(t, GIL_REQUEST);
    }
}

/* Python 2's ceval loop, when _Py_Ticker runs out: "Give another thread a chance". */
void gil_old_switch(struct gil_thread *t)
{
    t->gil->ticker = t->gil->check_interval;
    gil_drop(t, GIL_TICKS);
    /* other threads may run now (if they manage to wake up in time) */
    gil_take(t, GIL_TICKS);
}

uint64_t gil_run(struct gil_thread *t, uint64_t from, uint64_t to)
{
    uint64_t sum = 0;
    for (uint64_t i = from; i < to; i++) {
        sum += gil_work(i);
        gil_check(t); /* the back-edge */
    }
    return sum;
}

uint64_t gil_run_until(struct gil_thread *t, const atomic_bool *stop, uint64_t *sum)
{
    uint64_t n = 0, s = 0;
    while (!atomic_load_explicit(stop, memory_order_relaxed)) {
        for (int k = 0; k < 64; k++, n++) {
            s += gil_work(n);
            gil_check(t);
        }
    }
    *sum += s;
    return n;
}

/* This thread's CPU time, ns. */
static int64_t thread_cpu_ns(void)
{
    struct timespec ts;
    CHECK_SYS(clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts));
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

/* Timed on the thread's CPU clock, not the wall clock: on a busy machine the thread
 * loses the CPU now and then, and a wall-clock rate would come out low (a "2 ms" parse
 * in gil_fetch was a quarter of that under load). */
double gil_tick_rate(int64_t ns)
{
    struct gil g;
    struct gil_thread t;
    gil_init(&g, &(struct gil_config){ .mode = GIL_NEW });
    gil_thread_init(&t, &g, "calibrate");
    gil_take(&t, GIL_START);
    uint64_t n = 0, chunk = 4096, sum = 0;
    int64_t start = thread_cpu_ns(), end;
    do {
        sum += gil_run(&t, n, n + chunk);
        n += chunk;
        end = thread_cpu_ns();
    } while (end - start < ns);
    gil_exit(&t);
    gil_destroy(&g);
    if (sum == 42) /* keep the work: the sum is used */
        fprintf(stderr, "(an unlikely sum)\n");
    return (double)n * 1e9 / (double)(end - start);
}

struct gil_stats gil_stats(struct gil *g)
{
    CHECK_PT(pthread_mutex_lock(&g->mutex));
    struct gil_stats s = {
        .holds = g->n_holds,
        .logged = g->n_holds < g->log_size ? g->n_holds : g->log_size,
        .switches = g->switch_number,
        .drop_requests = g->drop_requests,
        .forced_waits = atomic_load(&g->forced_waits),
        .violations = atomic_load(&g->violations),
        .requested_at = g->requested_at,
        .locked = g->locked != 0,
        .waiting = g->waiting,
    };
    CHECK_PT(pthread_mutex_unlock(&g->mutex));
    return s;
}

size_t gil_log_overlaps(const struct gil_hold *log, size_t n)
{
    size_t bad = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        if (log[i].left < 0 || log[i].left > log[i + 1].got || log[i].got > log[i].left)
            bad++;
    }
    return bad;
}
