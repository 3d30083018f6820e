/* test_tqueue.c: the tests of chapters/09-sync/tqueue.c, Python's queue.Queue: FIFO
 * order, Full and Empty (at once and after a timeout), a blocked get or put released
 * by the other side, the ring growing past its first size with its items in order,
 * task_done()/join() (and task_done called too many times), shutdown (graceful and
 * immediate), and a stress test: producers and consumers through a small queue, every
 * item got exactly once, join returning only after the last task_done. */
#include "../chapters/09-sync/tqueue.h"

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "synctest.h"
#include <stdlib.h>

#define ITEM(i) ((void *)(intptr_t)(i))

static void test_fifo_full_empty(void **state)
{
    (void)state;
    struct tqueue q;
    void *item;
    tqueue_init(&q, 3); /* Queue(3), as in the lesson */
    assert_true(tqueue_empty(&q));
    assert_int_equal(tqueue_get(&q, &item, 0), SYNC_EMPTY); /* get_nowait */
    for (int i = 1; i <= 3; i++)
        assert_int_equal(tqueue_put(&q, ITEM(i), 0), SYNC_OK);
    assert_true(tqueue_full(&q));
    assert_int_equal(tqueue_qsize(&q), 3);
    assert_int_equal(tqueue_put(&q, ITEM(4), 0), SYNC_FULL); /* put_nowait */
    int64_t t0 = now_ns();
    assert_int_equal(tqueue_put(&q, ITEM(4), 40 * NS_PER_MS), SYNC_FULL);
    int64_t took = now_ns() - t0;
    assert_true(took >= 40 * NS_PER_MS && took < SECONDS(5));
    for (int i = 1; i <= 3; i++) {
        assert_int_equal(tqueue_get(&q, &item, -1), SYNC_OK);
        assert_ptr_equal(item, ITEM(i)); /* first in, first out */
    }
    t0 = now_ns();
    assert_int_equal(tqueue_get(&q, &item, 40 * NS_PER_MS), SYNC_EMPTY);
    took = now_ns() - t0;
    assert_true(took >= 40 * NS_PER_MS && took < SECONDS(5));
    assert_int_equal(tqueue_put(&q, NULL, 0), SYNC_OK); /* NULL is an item too */
    assert_int_equal(tqueue_get(&q, &item, 0), SYNC_OK);
    assert_null(item);
    assert_int_equal(tqueue_unfinished(&q), 4); /* no task_done yet */
    tqueue_destroy(&q);
}

static void test_grows_in_order(void **state)
{
    (void)state;
    struct tqueue q;
    void *item;
    tqueue_init(&q, 0); /* unbounded */
    int next_in = 0, next_out = 0;
    /* move the head off 0 first, so growing must unwrap the ring */
    for (; next_in < 10; next_in++)
        assert_int_equal(tqueue_put(&q, ITEM(next_in), 0), SYNC_OK);
    for (; next_out < 7; next_out++) {
        assert_int_equal(tqueue_get(&q, &item, 0), SYNC_OK);
        assert_ptr_equal(item, ITEM(next_out));
    }
    for (; next_in < 5000; next_in++)
        assert_int_equal(tqueue_put(&q, ITEM(next_in), 0), SYNC_OK); /* never full */
    assert_false(tqueue_full(&q));
    assert_int_equal(tqueue_qsize(&q), 5000 - 7);
    for (; next_out < 5000; next_out++) {
        assert_int_equal(tqueue_get(&q, &item, 0), SYNC_OK);
        assert_ptr_equal(item, ITEM(next_out));
    }
    assert_int_equal(tqueue_get(&q, &item, 0), SYNC_EMPTY);
    tqueue_destroy(&q);

    tqueue_init(&q, 100); /* bounded above the first ring size: grows to 100, no further */
    for (int i = 0; i < 100; i++)
        assert_int_equal(tqueue_put(&q, ITEM(i), 0), SYNC_OK);
    assert_int_equal(tqueue_put(&q, ITEM(100), 0), SYNC_FULL);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(tqueue_get(&q, &item, 0), SYNC_OK);
        assert_ptr_equal(item, ITEM(i));
    }
    tqueue_destroy(&q);
}

struct side {
    struct tqueue *q;
    void *item;
    int rc;
};

static void *getter(void *arg)
{
    struct side *s = arg;
    s->rc = tqueue_get(s->q, &s->item, SECONDS(20));
    return NULL;
}

static void *putter(void *arg)
{
    struct side *s = arg;
    s->rc = tqueue_put(s->q, s->item, SECONDS(20));
    return NULL;
}

static void test_blocked_sides_released(void **state)
{
    (void)state;
    struct tqueue q;
    void *item;
    pthread_t t;
    tqueue_init(&q, 1);
    struct side g = { &q, NULL, -1 };
    start(&t, getter, &g);
    await_waiters(&q.not_empty, 1);
    assert_int_equal(tqueue_put(&q, ITEM(7), 0), SYNC_OK);
    join(t);
    assert_int_equal(g.rc, SYNC_OK);
    assert_ptr_equal(g.item, ITEM(7));

    assert_int_equal(tqueue_put(&q, ITEM(1), 0), SYNC_OK);
    struct side p = { &q, ITEM(2), -1 };
    start(&t, putter, &p);
    await_waiters(&q.not_full, 1);
    assert_int_equal(tqueue_get(&q, &item, 0), SYNC_OK);
    assert_ptr_equal(item, ITEM(1));
    join(t);
    assert_int_equal(p.rc, SYNC_OK);
    assert_int_equal(tqueue_get(&q, &item, 0), SYNC_OK);
    assert_ptr_equal(item, ITEM(2));
    tqueue_destroy(&q);
}

static void test_task_done_and_join(void **state)
{
    (void)state;
    struct tqueue q;
    void *item;
    tqueue_init(&q, 0);
    assert_int_equal(tqueue_join(&q, 0), SYNC_OK);            /* nothing unfinished */
    assert_int_equal(tqueue_task_done(&q), SYNC_TOO_MANY);    /* ValueError */
    assert_int_equal(tqueue_put(&q, ITEM(1), 0), SYNC_OK);
    assert_int_equal(tqueue_put(&q, ITEM(2), 0), SYNC_OK);
    assert_int_equal(tqueue_get(&q, &item, 0), SYNC_OK);
    assert_int_equal(tqueue_get(&q, &item, 0), SYNC_OK);
    assert_true(tqueue_empty(&q));
    int64_t t0 = now_ns(); /* empty, yet two tasks are not done: join waits */
    assert_int_equal(tqueue_join(&q, 30 * NS_PER_MS), SYNC_TIMEOUT);
    int64_t took = now_ns() - t0;
    assert_true(took >= 30 * NS_PER_MS && took < SECONDS(5));
    assert_int_equal(tqueue_task_done(&q), SYNC_OK);
    assert_int_equal(tqueue_join(&q, 0), SYNC_TIMEOUT);
    assert_int_equal(tqueue_task_done(&q), SYNC_OK);
    assert_int_equal(tqueue_join(&q, 0), SYNC_OK);
    assert_int_equal(tqueue_task_done(&q), SYNC_TOO_MANY); /* one too many */
    assert_int_equal(tqueue_unfinished(&q), 0);
    tqueue_destroy(&q);
}

static void *joiner(void *arg)
{
    struct side *s = arg;
    s->rc = tqueue_join(s->q, SECONDS(20));
    return NULL;
}

static void test_shutdown(void **state)
{
    (void)state;
    struct tqueue q;
    void *item;
    pthread_t t;

    /* graceful: puts refused, gets drain what is there, then SHUT_DOWN */
    tqueue_init(&q, 2);
    assert_int_equal(tqueue_put(&q, ITEM(1), 0), SYNC_OK);
    assert_int_equal(tqueue_put(&q, ITEM(2), 0), SYNC_OK);
    struct side p = { &q, ITEM(3), -1 };
    start(&t, putter, &p); /* blocked: the queue is full */
    await_waiters(&q.not_full, 1);
    tqueue_shutdown(&q, false);
    join(t);
    assert_int_equal(p.rc, SYNC_SHUT_DOWN); /* the blocked put is refused too */
    assert_int_equal(tqueue_put(&q, ITEM(4), -1), SYNC_SHUT_DOWN);
    assert_int_equal(tqueue_get(&q, &item, -1), SYNC_OK);
    assert_ptr_equal(item, ITEM(1));
    assert_int_equal(tqueue_get(&q, &item, -1), SYNC_OK);
    assert_ptr_equal(item, ITEM(2));
    assert_int_equal(tqueue_get(&q, &item, -1), SYNC_SHUT_DOWN); /* no hang */
    tqueue_destroy(&q);

    /* a get blocked on an empty queue is released by shutdown */
    tqueue_init(&q, 0);
    struct side g = { &q, NULL, -1 };
    start(&t, getter, &g);
    await_waiters(&q.not_empty, 1);
    tqueue_shutdown(&q, false);
    join(t);
    assert_int_equal(g.rc, SYNC_SHUT_DOWN);
    tqueue_destroy(&q);

    /* immediate: what is left is thrown away, and join is released */
    tqueue_init(&q, 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(tqueue_put(&q, ITEM(i), 0), SYNC_OK);
    assert_int_equal(tqueue_get(&q, &item, 0), SYNC_OK); /* one in progress */
    struct side j = { &q, NULL, -1 };
    start(&t, joiner, &j);
    await_waiters(&q.all_tasks_done, 1);
    tqueue_shutdown(&q, true);
    assert_int_equal(tqueue_qsize(&q), 0);
    assert_int_equal(tqueue_unfinished(&q), 1); /* the one being worked on */
    assert_int_equal(tqueue_get(&q, &item, 0), SYNC_SHUT_DOWN);
    assert_int_equal(tqueue_task_done(&q), SYNC_OK); /* its worker finishes */
    join(t);
    assert_int_equal(j.rc, SYNC_OK);
    tqueue_destroy(&q);
}

/* stress: producers and consumers through a 4-slot queue */
enum { PRODUCERS = 3, CONSUMERS = 3, PER_PRODUCER = 4000, TOTAL = PRODUCERS * PER_PRODUCER };
static struct {
    struct tqueue q;
    _Atomic int seen[TOTAL];  /* how often each item was got */
    _Atomic int done;         /* task_done calls */
} st;

static void *producer(void *arg)
{
    int first = (int)(intptr_t)arg * PER_PRODUCER;
    for (int i = 0; i < PER_PRODUCER; i++)
        if (tqueue_put(&st.q, ITEM(first + i + 1), SECONDS(20)) != SYNC_OK)
            fatal("producer: put failed");
    return NULL;
}

static void *consumer(void *arg)
{
    (void)arg;
    for (;;) {
        void *item;
        if (tqueue_get(&st.q, &item, SECONDS(20)) != SYNC_OK)
            fatal("consumer: get failed");
        if (item == NULL) { /* the stop sentinel */
            tqueue_task_done(&st.q);
            return NULL;
        }
        atomic_fetch_add(&st.seen[(intptr_t)item - 1], 1);
        atomic_fetch_add(&st.done, 1);
        if (tqueue_task_done(&st.q) != SYNC_OK)
            fatal("consumer: task_done refused");
    }
}

static void test_stress_every_item_once(void **state)
{
    (void)state;
    tqueue_init(&st.q, 4);
    for (int i = 0; i < TOTAL; i++)
        atomic_store(&st.seen[i], 0);
    atomic_store(&st.done, 0);
    pthread_t p[PRODUCERS], c[CONSUMERS];
    for (int i = 0; i < CONSUMERS; i++)
        start(&c[i], consumer, NULL);
    for (int i = 0; i < PRODUCERS; i++)
        start(&p[i], producer, (void *)(intptr_t)i);
    for (int i = 0; i < PRODUCERS; i++)
        join(p[i]);
    assert_int_equal(tqueue_join(&st.q, SECONDS(60)), SYNC_OK);
    assert_int_equal(atomic_load(&st.done), TOTAL); /* join waited for every task */
    for (int i = 0; i < CONSUMERS; i++)
        assert_int_equal(tqueue_put(&st.q, NULL, SECONDS(20)), SYNC_OK);
    for (int i = 0; i < CONSUMERS; i++)
        join(c[i]);
    for (int i = 0; i < TOTAL; i++)
        assert_int_equal(atomic_load(&st.seen[i]), 1); /* none lost, none twice */
    assert_int_equal(tqueue_qsize(&st.q), 0);
    assert_int_equal(tqueue_unfinished(&st.q), 0);
    tqueue_destroy(&st.q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifo_full_empty),
        cmocka_unit_test(test_grows_in_order),
        cmocka_unit_test(test_blocked_sides_released),
        cmocka_unit_test(test_task_done_and_join),
        cmocka_unit_test(test_shutdown),
        cmocka_unit_test(test_stress_every_item_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
