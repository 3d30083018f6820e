/* test_aio.c: the stackless tasks of chapters/07-coroutine/aio.c: timers fire in order
 * and on time, gather waits for all and every result is there, a socket read and a
 * write that must wait, a sleep past the end of the clock, a deadlock reported, and
 * many tasks (a scaled-down million) in bounded time. */
#include "common.h"
#include "../chapters/07-coroutine/aio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- timers ---- */

struct sleeper {
    struct aio_task task;
    int64_t ns, t0, woke;
    int order;
};
static int g_woken;

static bool sleep_step(struct aio_task *t)
{
    struct sleeper *s = (struct sleeper *)t;
    GEN_BEGIN(&t->gen);
    AIO_SLEEP(t, s->ns);
    s->woke = now_ns() - s->t0;
    s->order = g_woken++;
    GEN_END(&t->gen);
}

struct gatherer {
    struct aio_task task;
    size_t n;
    struct sleeper *kids;
    struct aio_task **ptrs;
};

static bool gather_step(struct aio_task *t)
{
    struct gatherer *g = (struct gatherer *)t;
    GEN_BEGIN(&t->gen);
    for (size_t i = 0; i < g->n; i++) {
        aio_spawn(&g->kids[i].task, sleep_step);
        g->ptrs[i] = &g->kids[i].task;
    }
    AIO_GATHER(t, g->ptrs, g->n);
    GEN_END(&t->gen);
}

static void run_sleepers(const int64_t *ns, size_t n, struct sleeper *s)
{
    struct aio_task **ptrs = calloc(n, sizeof *ptrs);
    assert_non_null(ptrs);
    g_woken = 0;
    int64_t t0 = now_ns();
    for (size_t i = 0; i < n; i++)
        s[i] = (struct sleeper){ .ns = ns[i], .t0 = t0, .order = -1 };
    struct gatherer g = { .n = n, .kids = s, .ptrs = ptrs };
    assert_int_equal(aio_run(&g.task, gather_step), 0);
    for (size_t i = 0; i < n; i++)
        assert_true(s[i].task.done);
    free(ptrs);
}

static void test_timers_in_order_and_on_time(void **state)
{
    (void)state;
    static const int64_t ms[] = { 120, 20, 80, 40, 100, 60, 0 };
    enum { N = ARRAY_LEN(ms) };
    int64_t ns[N];
    struct sleeper s[N];
    for (int i = 0; i < N; i++)
        ns[i] = ms[i] * NS_PER_MS;
    run_sleepers(ns, N, s);
    for (int i = 0; i < N; i++) {
        int rank = 0;
        for (int j = 0; j < N; j++)
            rank += ms[j] < ms[i];
        assert_int_equal(s[i].order, rank);
        assert_true(s[i].woke >= s[i].ns);                   /* never early */
        assert_true(s[i].woke <= s[i].ns + 300 * NS_PER_MS); /* and not very late */
    }
}

static void test_equal_sleeps_in_spawn_order(void **state)
{
    (void)state;
    enum { N = 50 };
    int64_t ns[N];
    struct sleeper s[N];
    for (int i = 0; i < N; i++)
        ns[i] = 20 * NS_PER_MS;
    run_sleepers(ns, N, s);
    for (int i = 0; i < N; i++)
        assert_int_equal(s[i].order, i);
}

/* ---- gather: every result ---- */

struct square {
    struct aio_task task;
    long in, out;
};

static bool square_step(struct aio_task *t)
{
    struct square *q = (struct square *)t;
    GEN_BEGIN(&t->gen);
    AIO_SLEEP(t, (10 - q->in % 10) * NS_PER_MS); /* they finish out of order */
    q->out = q->in * q->in;
    GEN_END(&t->gen);
}

struct squares {
    struct aio_task task;
    struct square q[40];
    struct aio_task *ptrs[40];
    long sum;
};

static bool squares_step(struct aio_task *t)
{
    struct squares *m = (struct squares *)t;
    GEN_BEGIN(&t->gen);
    for (int i = 0; i < 40; i++) {
        m->q[i].in = i;
        aio_spawn(&m->q[i].task, square_step);
        m->q[i].in = i; /* (aio_spawn clears only the task part) */
        m->ptrs[i] = &m->q[i].task;
    }
    AIO_GATHER(t, m->ptrs, 20); /* the first half, then all: some are done already */
    AIO_GATHER(t, m->ptrs, 40);
    for (int i = 0; i < 40; i++)
        m->sum += m->q[i].out;
    GEN_END(&t->gen);
}

static void test_gather_returns_all_results(void **state)
{
    (void)state;
    struct squares m = { .sum = 0 };
    assert_int_equal(aio_run(&m.task, squares_step), 0);
    for (int i = 0; i < 40; i++)
        assert_int_equal(m.q[i].out, (long)i * i);
    assert_int_equal(m.sum, 39L * 40 * 79 / 6);
}

/* ---- a socket ---- */

struct pair {
    struct aio_task task, reader, writer;
    int fd[2];
    char in[64];
    ssize_t got, sent;
    char *big;
    size_t big_len;
    ssize_t big_done, drained;
    struct aio_task *both[2];
    char sink[4096];
};

static bool reader_step(struct aio_task *t)
{
    struct pair *p = (struct pair *)((char *)t - offsetof(struct pair, reader));
    GEN_BEGIN(&t->gen);
    AIO_READ(t, p->fd[0], p->in, 5, &p->got); /* waits: nothing there yet */
    /* then drain the big write of the other end, so that it can finish */
    while (p->drained < (ssize_t)p->big_len) {
        AIO_READ(t, p->fd[0], p->sink, sizeof p->sink, &p->got);
        if (p->got <= 0)
            break;
        p->drained += p->got;
    }
    GEN_END(&t->gen);
}

static bool writer_step(struct aio_task *t)
{
    struct pair *p = (struct pair *)((char *)t - offsetof(struct pair, writer));
    GEN_BEGIN(&t->gen);
    AIO_SLEEP(t, 20 * NS_PER_MS);
    AIO_WRITE(t, p->fd[1], "hello", 5, &p->sent);
    /* more than the socket holds: the write must wait for the reader */
    AIO_WRITE(t, p->fd[1], p->big, p->big_len, &p->big_done);
    GEN_END(&t->gen);
}

static bool pair_step(struct aio_task *t)
{
    struct pair *p = (struct pair *)t;
    GEN_BEGIN(&t->gen);
    aio_spawn(&p->reader, reader_step);
    aio_spawn(&p->writer, writer_step);
    p->both[0] = &p->reader;
    p->both[1] = &p->writer;
    AIO_GATHER(t, p->both, 2);
    GEN_END(&t->gen);
}

static void test_socket_read_and_write(void **state)
{
    (void)state;
    struct pair *p = calloc(1, sizeof *p);
    assert_non_null(p);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, p->fd), 0);
    p->big_len = 4 << 20;
    p->big = calloc(1, p->big_len);
    assert_non_null(p->big);
    assert_int_equal(aio_run(&p->task, pair_step), 0);
    assert_int_equal(p->sent, 5);
    assert_int_equal(p->big_done, (ssize_t)p->big_len);
    assert_int_equal(p->drained, (ssize_t)p->big_len);
    assert_memory_equal(p->in, "hello", 5);
    assert_int_equal(aio_close(p->fd[0]), 0);
    assert_int_equal(aio_close(p->fd[1]), 0);
    free(p->big);
    free(p);
}

/* ---- the end of the clock, and a deadlock ---- */

struct forever {
    struct aio_task task, sleeper, quick;
    struct aio_task *quick_only[1];
    int64_t took;
};

static bool forever_sleep(struct aio_task *t)
{
    GEN_BEGIN(&t->gen);
    AIO_SLEEP(t, INT64_MAX - 1000);
    GEN_END(&t->gen);
}

static bool quick_sleep(struct aio_task *t)
{
    GEN_BEGIN(&t->gen);
    AIO_SLEEP(t, 20 * NS_PER_MS);
    GEN_END(&t->gen);
}

static bool forever_step(struct aio_task *t)
{
    struct forever *f = (struct forever *)t;
    GEN_BEGIN(&t->gen);
    aio_spawn(&f->sleeper, forever_sleep);
    aio_spawn(&f->quick, quick_sleep);
    f->quick_only[0] = &f->quick;
    f->took = now_ns();
    AIO_GATHER(t, f->quick_only, 1); /* the eternal sleeper does not hold it up */
    f->took = now_ns() - f->took;
    f->quick_only[0] = &f->sleeper;
    AIO_GATHER(t, f->quick_only, 1); /* nothing can ever end this: EDEADLK */
    GEN_END(&t->gen);
}

static void test_sleep_forever_and_deadlock(void **state)
{
    (void)state;
    struct forever f = { .took = 0 };
    assert_int_equal(aio_run(&f.task, forever_step), EDEADLK);
    assert_true(f.quick.done);
    assert_false(f.sleeper.done);
    assert_true(f.took >= 20 * NS_PER_MS && f.took < 2 * NS_PER_S);
}

/* ---- many ---- */

static void test_many_tasks(void **state)
{
    (void)state;
    enum { N = 200000 }; /* the benchmark runs a million; this is its scaled-down twin */
    int64_t *ns = malloc(N * sizeof *ns);
    struct sleeper *s = malloc(N * sizeof *s);
    assert_non_null(ns);
    assert_non_null(s);
    for (int i = 0; i < N; i++)
        ns[i] = 50 * NS_PER_MS;
    int64_t t0 = now_ns();
    run_sleepers(ns, N, s);
    int64_t wall = now_ns() - t0;
    assert_true(wall >= 50 * NS_PER_MS);
    assert_true(wall < 30 * NS_PER_S); /* one after the other: 10,000 s */
    for (int i = 0; i < N; i++)
        assert_int_equal(s[i].order, i); /* equal sleeps: in spawn order */
    free(ns);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timers_in_order_and_on_time),
        cmocka_unit_test(test_equal_sleeps_in_spawn_order),
        cmocka_unit_test(test_gather_returns_all_results),
        cmocka_unit_test(test_socket_read_and_write),
        cmocka_unit_test(test_sleep_forever_and_deadlock),
        cmocka_unit_test(test_many_tasks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
