/* solutions/same_order.c: exercise 4 of chapter 12. The naive per-object locks of
 * critical_section.c, with both threads taking A before B.
 *
 * Both naive ways stop deadlocking: whoever holds A is the only one that can wait for
 * B (chapter 05's lock-order rule). The catch is who chooses the order. For a
 * two-object operation the callee can (Py_BEGIN_CRITICAL_SECTION2 sorts by address).
 * For nested sections it cannot: the outer lock is taken by one piece of code (a list
 * method), the inner one by whatever that code calls (an element's __eq__, a __del__),
 * and t2's call may nest them the other way round. That is the case PEP 703's second
 * rule, suspending the outer sections while waiting, exists for.
 *
 * Run:  ./solutions/same_order [--rounds 3] [--pause 20ms]
 * Look for: "done" equal to the operations, no deadlock, in both naive ways.
 */
#include "critsec.h"

#include <stdlib.h>

struct worker {
    pthread_t th;
    struct cs_thread t;
    struct cs_obj *a, *b;
    bool nested;
    long rounds, done, deadlocks;
    int64_t pause;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    for (long r = 0; r < w->rounds; r++) {
        struct cs_section outer, inner;
        int rc;
        if (!w->nested) {
            rc = cs_begin2(&w->t, &outer, w->a, w->b); /* in the order given: A, then B */
            if (rc == 0) {
                w->a->value--, w->b->value++;
                rc = cs_end(&w->t);
            }
        } else {
            rc = cs_begin(&w->t, &outer, w->a);
            if (rc == 0) {
                sleep_ns(w->pause);
                rc = cs_begin(&w->t, &inner, w->b);
            }
            if (rc == 0) {
                w->b->value++;
                rc = cs_end(&w->t);
            }
            if (rc == 0) {
                w->a->value--;
                rc = cs_end(&w->t);
            }
        }
        if (rc == 0) {
            w->done++;
        } else {
            w->deadlocks++;
            cs_abandon(&w->t);
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    long rounds = 3;
    int64_t pause = 20 * NS_PER_MS;
    const struct cli_opt opts[] = {
        { "rounds", CLI_INT, &rounds, "operations per thread and way", 1, 1000, "2", NULL },
        { "pause", CLI_DURATION, &pause, "how long the first lock is held before the second", 0, NS_PER_S, "5ms", NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "Naive per-object locks, both threads taking A before B: no deadlock.", opts, &cli);
    for (int nested = 0; nested < 2; nested++) {
        struct cs_obj a, b;
        cs_obj_init(&a, "A", 100);
        cs_obj_init(&b, "B", 100);
        struct worker w[2];
        for (int i = 0; i < 2; i++) {
            w[i] = (struct worker){ .a = &a, .b = &b, .nested = nested, .rounds = rounds, .pause = pause };
            cs_thread_init(&w[i].t, i ? "t2" : "t1", false, 10 * NS_PER_S);
            w[i].t.pause = pause;
            CHECK_PT(pthread_create(&w[i].th, NULL, worker_main, &w[i]));
        }
        for (int i = 0; i < 2; i++)
            CHECK_PT(pthread_join(w[i].th, NULL));
        if (a.value + b.value != 200)
            fatal("A + B = %ld", a.value + b.value);
        printf("%-40s done %ld of %ld, deadlocks %ld\n", nested ? "nested sections, both A then B" :
               "two objects, both A then B", w[0].done + w[1].done, 2 * rounds, w[0].deadlocks + w[1].deadlocks);
        cs_obj_destroy(&a);
        cs_obj_destroy(&b);
    }
    return 0;
}
