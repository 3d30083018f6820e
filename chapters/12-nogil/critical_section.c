/* critical_section.c: per-object locks, and the two rules that keep them from
 * deadlocking (PEP 703's "Python critical sections").
 *
 * Mirrors: `a.extend(b)` in one thread while another runs `b.extend(a)`, and a list
 * method that calls back into Python code (a __eq__, a __del__) which touches a second
 * list. Under the GIL neither can deadlock: there is one lock. The free-threaded build
 * gives every list and dict its own lock (critsec.h), and each operation takes it.
 *
 * Two threads, t1 and t2, and two objects, A and B, each with a value (A = 100,
 * B = 100). t1 works on (A, B), t2 on (B, A); each moves 1 from its first object to its
 * second, --rounds times, both starting each round together. Four ways:
 *   two objects, in the order given     lock the first, then the second (a naive
 *                                       lock pair): t1 holds A and waits for B, t2
 *                                       holds B and waits for A. Deadlock.
 *   two objects, in address order       Py_BEGIN_CRITICAL_SECTION2: both lock the
 *                                       lower address first. No cycle can form.
 *   nested sections, plain locks        an outer section on the first object, an
 *                                       inner one on the second (a method that calls
 *                                       into code locking another object). Deadlock.
 *   nested sections, PEP 703            the same code with rule 2: a thread about to
 *                                       wait lets go of its outer section first and
 *                                       takes it back after. It completes; and the
 *                                       outer object may change while its section is
 *                                       suspended (counted: the price of the rule).
 * --pause holds the first lock a while, so the deadlocks happen every round; every wait
 * gives up after --timeout, which is how a deadlock is reported instead of hanging
 * (chapter 05 does the same with its lock watcher). A + B must stay 200 throughout.
 *
 * Run:  ./critical_section [--rounds 3] [--pause 20ms] [--timeout 200ms]
 * Look for: "deadlock" in the naive ways, every round; none in the PEP 703 ways, with
 * the suspensions counted.
 * See also: ../05-deadlock/deadlock_abba.c (the same cycle with two mutexes), critsec.c.
 */
#include "critsec.h"

#include <errno.h>
#include <stdlib.h>

enum way { TWO_NAIVE, TWO_ORDERED, NESTED_NAIVE, NESTED_PEP703, NWAYS };
static const char *const way_name[NWAYS] = {
    "two objects, in the order given", "two objects, address order (CRITICAL_SECTION2)",
    "nested sections, plain per-object locks", "nested sections, suspended while waiting (PEP 703)",
};

struct worker {
    pthread_t th;
    struct cs_thread t;
    struct cs_obj *first, *second;
    enum way way;
    long rounds;
    int64_t pause;
    pthread_barrier_t *round_start;
    long done, deadlocks, changed;  /* out */
};

/* One operation. Returns 0 or ETIMEDOUT (then the thread has let go of everything). */
static int move_one(struct worker *w)
{
    struct cs_thread *t = &w->t;
    struct cs_section outer, inner;
    if (w->way == TWO_NAIVE || w->way == TWO_ORDERED) {
        if (cs_begin2(t, &outer, w->first, w->second) != 0)
            goto stuck;
        w->first->value--;
        w->second->value++;
        return cs_end(t);
    }
    if (cs_begin(t, &outer, w->first) != 0)
        goto stuck;
    long before = w->first->value;   /* read under the outer section */
    sleep_ns(w->pause);               /* ...then call something that locks the other object */
    if (cs_begin(t, &inner, w->second) != 0)
        goto stuck;
    w->second->value++;
    if (cs_end(t) != 0)                /* resumes the outer section if it was suspended */
        goto stuck;
    if (w->first->value != before)    /* it was suspended, and the other thread got in */
        w->changed++;
    w->first->value--;
    return cs_end(t);
stuck:
    cs_abandon(t);
    return ETIMEDOUT;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    for (long r = 0; r < w->rounds; r++) {
        int rc = pthread_barrier_wait(w->round_start);
        if (rc != 0 && rc != PTHREAD_BARRIER_SERIAL_THREAD)
            die_en(rc, "pthread_barrier_wait");
        if (move_one(w) == 0) {
            w->done++;
        } else {
            w->deadlocks++;
            trace("%s: deadlock: %s; backed out", way_name[w->way], w->t.why);
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    long rounds = 3;
    int64_t pause = 20 * NS_PER_MS, timeout = 200 * NS_PER_MS;
    const struct cli_opt opts[] = {
        { "rounds", CLI_INT, &rounds, "operations per thread and way", 1, 1000, "2", NULL },
        { "pause", CLI_DURATION, &pause, "how long the first lock is held before the second is taken", 0, NS_PER_S, "5ms", NULL },
        { "timeout", CLI_DURATION, &timeout, "the longest wait for one lock (then: deadlock)", NS_PER_MS, 10 * NS_PER_S, "50ms", NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "Per-object locks: two-object and nested critical sections, naive and PEP 703's.", opts,
              &cli);
    if (timeout <= pause)
        cli_error("--timeout (%.0f ms) must be longer than --pause (%.0f ms)", (double)timeout / 1e6,
                  (double)pause / 1e6);
    trace_start();

    printf("%-52s %5s %9s %9s %9s %9s\n", "way", "done", "deadlock", "suspends", "resumes", "changed");
    for (int way = 0; way < NWAYS; way++) {
        struct cs_obj a, b;
        cs_obj_init(&a, "A", 100);
        cs_obj_init(&b, "B", 100);
        pthread_barrier_t round_start;
        CHECK_PT(pthread_barrier_init(&round_start, NULL, 2));
        bool pep703 = way == TWO_ORDERED || way == NESTED_PEP703;
        struct worker w[2];
        for (int i = 0; i < 2; i++) {
            w[i] = (struct worker){ .first = i == 0 ? &a : &b, .second = i == 0 ? &b : &a, .way = (enum way)way,
                                    .rounds = rounds, .pause = pause, .round_start = &round_start };
            cs_thread_init(&w[i].t, i == 0 ? "t1" : "t2", pep703, timeout);
            w[i].t.pause = pause; /* between the two locks of a two-object section */
            CHECK_PT(pthread_create(&w[i].th, NULL, worker_main, &w[i]));
        }
        for (int i = 0; i < 2; i++)
            CHECK_PT(pthread_join(w[i].th, NULL));
        if (a.value + b.value != 200)
            fatal("%s: A + B = %ld, not 200", way_name[way], a.value + b.value);
        printf("%-52s %5ld %9ld %9lu %9lu %9ld\n", way_name[way], w[0].done + w[1].done,
               w[0].deadlocks + w[1].deadlocks, w[0].t.suspends + w[1].t.suspends, w[0].t.resumes + w[1].t.resumes,
               w[0].changed + w[1].changed);
        CHECK_PT(pthread_barrier_destroy(&round_start));
        cs_obj_destroy(&a);
        cs_obj_destroy(&b);
    }
    printf("A + B stayed 200 in every way\n"
           "done: operations completed; deadlock: waits that ran out (%.0f ms), each backed out;\n"
           "suspends/resumes: outer sections let go before a wait and taken back after;\n"
           "changed: times the outer object was changed by the other thread while its section was suspended\n",
           (double)timeout / 1e6);
    return 0;
}
