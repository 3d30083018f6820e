/* event_barrier.c: starting workers together with an Event and with a Barrier; a
 * barrier that times out, and how every party learns that it broke.
 *
 * Mirrors: threading.Event and threading.Barrier:
 *     go = threading.Event()                  b = threading.Barrier(4, action=f, timeout=t)
 *     # workers: go.wait()                    # workers: i = b.wait()
 *     go.set()                                # BrokenBarrierError when it breaks
 *
 * Part 1, the starting gun: --workers threads wait on an Event; main sets it once all
 * are asleep, and each worker says how long after the set() it was running. set()
 * wakes them one at a time (cond.c makes a futex_wake per waiter), so the last one
 * starts later than the first.
 * Part 2, a Barrier with an action, used twice: each worker works a different time,
 * then waits; the last to arrive runs the action, and only then are all let go. Each
 * wait returns an index (0 for the first to arrive, parties-1 for the last).
 * Part 3, the broken barrier: a Barrier(3) with a timeout, and one party late. The
 * first to give up breaks it for everybody: both waiting parties return
 * SYNC_BROKEN (Python: BrokenBarrierError) at the timeout, and the late one gets it
 * at once when it comes. After reset() all three pass (with longer timeouts of their
 * own, so that a slow machine cannot break this round). Then abort(): a party that
 * fails tells the others at once instead of letting them wait out their timeouts.
 *
 * Run:  ./event_barrier [--workers 4] [--timeout 200ms]
 * Look for: part 2's action line before every "passed" line of its round; part 3's
 * two BROKEN returns at the timeout, the late party's BROKEN at once, and abort()
 * reaching the others at once, long before their timeout.
 * See also: event.c, barrier.c (the states: filling, draining, resetting, broken).
 */
#include "sync.h"

#include <pthread.h>
#include <stdlib.h>

static struct {
    struct event go;
    int64_t set_at; /* written before event_set, read after event_wait */
    struct barrier b;
    int64_t work, timeout;
    int round;      /* guarded by the barrier's lock: the action updates it */
} g;

struct worker {
    pthread_t id;
    int n;
    int64_t delay;   /* part 3: how late this party comes */
    int64_t timeout; /* part 3: its own timeout; 0: the barrier's */
    bool aborts;     /* part 3: fails, and calls abort() instead of waiting */
};

static void name_me(const char *what, int n)
{
    char name[16];
    snprintf(name, sizeof name, "%s-%d", what, n);
    trace_name(name);
}

static void *gun_worker(void *arg)
{
    struct worker *w = arg;
    name_me("worker", w->n);
    if (event_wait(&g.go, 10 * NS_PER_S) != SYNC_OK)
        fatal("no start signal in 10 s");
    trace("%*srunning, %.0f µs after set()", 2 * w->n, "", (double)(now_ns() - g.set_at) / 1e3);
    return NULL;
}

static int action(void *arg)
{
    (void)arg; /* runs under the barrier's lock, by the last thread to arrive */
    trace("action: all arrived, round %d done", ++g.round);
    return 0;
}

static void *round_worker(void *arg)
{
    struct worker *w = arg;
    name_me("worker", w->n);
    for (int r = 0; r < 2; r++) {
        sleep_ns(g.work * (1 + (w->n + r) % 4)); /* everybody works a different time */
        trace("%*sarrives at the barrier", 2 * w->n, "");
        int index, rc = barrier_wait(&g.b, &index);
        if (rc != SYNC_OK)
            fatal("barrier_wait: %s", sync_status_name(rc));
        trace("%*spassed, index %d", 2 * w->n, "", index);
    }
    return NULL;
}

static void *party(void *arg)
{
    struct worker *w = arg;
    name_me("party", w->n);
    sleep_ns(w->delay);
    if (w->aborts) {
        trace("%*sfails, and calls abort()", 2 * w->n, "");
        barrier_abort(&g.b);
        return NULL;
    }
    int64_t t0 = now_ns();
    trace("%*swaits (n_waiting was %d)", 2 * w->n, "", barrier_n_waiting(&g.b));
    int rc = w->timeout ? barrier_wait_timeout(&g.b, w->timeout, NULL) : barrier_wait(&g.b, NULL);
    trace("%*s%s after %.3f s%s", 2 * w->n, "", sync_status_name(rc), (double)(now_ns() - t0) / 1e9,
          rc == SYNC_BROKEN ? " (Python: BrokenBarrierError)" : "");
    return NULL;
}

static void run(void *(*fn)(void *), struct worker *w, int n)
{
    for (int i = 0; i < n; i++)
        CHECK_PT(pthread_create(&w[i].id, NULL, fn, &w[i]));
    for (int i = 0; i < n; i++)
        CHECK_PT(pthread_join(w[i].id, NULL));
}

int main(int argc, char **argv)
{
    long workers = 4;
    int64_t timeout = 200 * NS_PER_MS;
    const struct cli_opt opts[] = {
        { "workers", CLI_INT, &workers, "workers in parts 1 and 2", 1, 16, NULL, NULL },
        { "timeout", CLI_DURATION, &timeout, "part 3's barrier timeout", NS_PER_MS, 60 * NS_PER_S, "20ms", NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "Workers started together by an Event and by a Barrier; a Barrier that\n"
                          "times out, and abort().", opts, &cli);
    trace_name("main");
    g.work = timeout / 20;
    g.timeout = timeout;
    struct worker *w = calloc((size_t)workers, sizeof *w);
    if (!w)
        die("calloc");
    for (int i = 0; i < workers; i++)
        w[i].n = i;

    trace("part 1: %ld workers wait on an Event", workers);
    event_init(&g.go);
    for (int i = 0; i < workers; i++)
        CHECK_PT(pthread_create(&w[i].id, NULL, gun_worker, &w[i]));
    for (int64_t deadline = deadline_in(10 * NS_PER_S);; sleep_ns(NS_PER_MS)) {
        fmutex_lock(&g.go.lock); /* until all are asleep on it */
        bool all = g.go.cond.waiting == workers;
        fmutex_unlock(&g.go.lock);
        if (all)
            break;
        if (ns_left(deadline) == 0)
            fatal("the workers did not start");
    }
    g.set_at = now_ns();
    trace("set()");
    event_set(&g.go);
    for (int i = 0; i < workers; i++)
        CHECK_PT(pthread_join(w[i].id, NULL));

    trace("part 2: Barrier(%ld, action), two rounds", workers);
    if (barrier_init(&g.b, (int)workers, action, NULL, -1) != SYNC_OK)
        fatal("barrier_init");
    run(round_worker, w, (int)workers);

    trace("part 3: Barrier(3, timeout=%.3f s); party-2 comes %.3f s late", (double)timeout / 1e9,
          2.5 * (double)timeout / 1e9);
    if (barrier_init(&g.b, 3, NULL, NULL, timeout) != SYNC_OK)
        fatal("barrier_init");
    struct worker p[3] = { { .n = 0 }, { .n = 1, .delay = timeout / 10 }, { .n = 2, .delay = timeout * 5 / 2 } };
    run(party, p, 3);
    trace("broken: %s; reset(), and from now on each party waits up to %.1f s", barrier_broken(&g.b) ? "yes" : "no",
          (double)(50 * timeout) / 1e9);
    barrier_reset(&g.b);
    p[2].delay = timeout / 5;
    for (int i = 0; i < 3; i++)
        p[i].timeout = 50 * timeout;
    run(party, p, 3);
    trace("abort(): party-2 fails before it gets there");
    p[2].aborts = true;
    p[2].delay = timeout / 5;
    run(party, p, 3);
    trace("broken: %s", barrier_broken(&g.b) ? "yes" : "no");
    free(w);
    return 0;
}
