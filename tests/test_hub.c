/* test_hub.c: the gevent-style hub of chapters/07-coroutine/hub.c: timers fire in
 * order and on time, join (result, timeout, errors), yield order, I/O readiness
 * wakes the right task, a loopback echo, 10,000 sleepers in bounded time, stacks and
 * descriptors given back, and independent hubs in two threads.
 * tests/test_hub_uc.c runs all of it again on the ucontext switch; tests/test_hub_simple.c
 * runs the cases that apply to hub_simple.c on coro_simple.c (HUB_SIMPLE: sleeping,
 * joining and yielding; no descriptors, detached tasks or copied stacks). */
#include "common.h"
#include "testutil.h"
#include "../chapters/07-coroutine/coro.h"
#include "../chapters/07-coroutine/hub.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(HUB_SIMPLE) && !defined(__x86_64__)
#define CORO_UCONTEXT 1 /* coro_simple.c's switch off x86-64 */
#endif
#ifdef CORO_UCONTEXT
#define EXPECTED_BACKEND "ucontext"
#elif defined(__aarch64__)
#define EXPECTED_BACKEND "aarch64 assembly"
#else
#define EXPECTED_BACKEND "x86-64 assembly"
#endif

static void test_backend(void **state)
{
    (void)state;
    assert_string_equal(coro_backend(), EXPECTED_BACKEND);
}

/* ---- timers ---- */

struct sleeper {
    int64_t ns;      /* how long to sleep */
    int64_t t0;      /* when the test started */
    int64_t woke;    /* when it woke, since t0 */
    int order;       /* the how-manieth to wake */
};
static int g_woken;

static void *sleep_task(void *arg)
{
    struct sleeper *s = arg;
    co_sleep(s->ns);
    s->woke = now_ns() - s->t0;
    s->order = g_woken++;
    return NULL;
}

static void test_timers_in_order_and_on_time(void **state)
{
    (void)state;
    static const int ms[] = { 120, 20, 80, 40, 100, 60, 0 };
    enum { N = ARRAY_LEN(ms) };
    struct sleeper s[N];
    struct hub_task *t[N];
    g_woken = 0;
    int64_t t0 = now_ns();
    for (int i = 0; i < N; i++) {
        s[i] = (struct sleeper){ .ns = ms[i] * NS_PER_MS, .t0 = t0 };
        t[i] = hub_spawn(sleep_task, &s[i]);
        assert_non_null(t[i]);
    }
    assert_int_equal(hub_joinall(t, N, 10 * NS_PER_S), 0);
    for (int i = 0; i < N; i++) {
        int rank = 0; /* how many sleep less: that is its expected place */
        for (int j = 0; j < N; j++)
            rank += ms[j] < ms[i];
        assert_int_equal(s[i].order, rank);
        assert_true(s[i].woke >= s[i].ns);                    /* never early */
        assert_true(s[i].woke <= s[i].ns + 300 * NS_PER_MS);  /* and not very late */
    }
    hub_close();
}

static void test_equal_sleeps_wake_in_spawn_order(void **state)
{
    (void)state;
    enum { N = 50 };
    struct sleeper s[N];
    struct hub_task *t[N];
    g_woken = 0;
    for (int i = 0; i < N; i++) {
        s[i] = (struct sleeper){ .ns = 20 * NS_PER_MS, .t0 = now_ns() };
        t[i] = hub_spawn(sleep_task, &s[i]);
    }
    assert_int_equal(hub_joinall(t, N, 10 * NS_PER_S), 0);
    for (int i = 0; i < N; i++)
        assert_int_equal(s[i].order, i);
    hub_close();
}

static void test_main_sleeps_too(void **state)
{
    (void)state;
    /* the main coroutine's co_sleep lets the tasks run meanwhile */
    struct sleeper s = { .ns = 10 * NS_PER_MS, .t0 = now_ns() };
    g_woken = 0;
    struct hub_task *t = hub_spawn(sleep_task, &s);
    int64_t t0 = now_ns();
    co_sleep(50 * NS_PER_MS);
    assert_true(now_ns() - t0 >= 50 * NS_PER_MS);
    assert_int_equal(g_woken, 1);
    assert_int_equal(hub_join(t, 0, NULL), 0);
    hub_close();
}

/* ---- join ---- */

static void *slow_answer(void *arg)
{
    co_sleep((int64_t)(intptr_t)arg);
    return (void *)42;
}

static void test_join_result_and_timeout(void **state)
{
    (void)state;
    struct hub_task *t = hub_spawn(slow_answer, (void *)(intptr_t)(200 * NS_PER_MS));
    void *r = NULL;
    int64_t t0 = now_ns();
    assert_int_equal(hub_join(t, 30 * NS_PER_MS, &r), ETIMEDOUT);
    int64_t waited = now_ns() - t0;
    assert_true(waited >= 30 * NS_PER_MS && waited < 2 * NS_PER_S);
    assert_null(r);
    assert_int_equal(hub_join(t, 5 * NS_PER_S, &r), 0); /* t lived on: join again */
    assert_ptr_equal(r, (void *)42);
    assert_int_equal(hub_stats().tasks, 0); /* the join freed it */
    hub_close();
}

static struct hub_task *g_self;

static void *join_self(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)hub_join(g_self, -1, NULL);
}

static struct hub_task *g_target;

static void *join_target(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)hub_join(g_target, -1, NULL);
}

static void test_join_errors(void **state)
{
    (void)state;
    void *r;
    g_self = hub_spawn(join_self, NULL);
    assert_int_equal(hub_join(g_self, NS_PER_S, &r), 0);
    assert_int_equal((intptr_t)r, EDEADLK); /* a task cannot join itself */

    /* one joiner per task, as with pthread_join */
    g_target = hub_spawn(slow_answer, (void *)(intptr_t)(50 * NS_PER_MS));
    struct hub_task *j = hub_spawn(join_target, NULL);
    hub_yield(); /* j starts and waits on the target */
    assert_int_equal(hub_join(g_target, NS_PER_S, NULL), EINVAL);
    assert_int_equal(hub_join(j, NS_PER_S, &r), 0);
    assert_int_equal((intptr_t)r, 0);
    hub_close();
}

#ifndef HUB_SIMPLE
static void *quick_task(void *arg)
{
    return arg;
}

static void test_detach_and_finished(void **state)
{
    (void)state;
    struct hub_task *a = hub_spawn(quick_task, "a");
    struct hub_task *b = hub_spawn(slow_answer, (void *)(intptr_t)(20 * NS_PER_MS));
    struct hub_task *c = hub_spawn(quick_task, "c");
    hub_detach(b); /* freed by the hub when it ends */
    assert_int_equal(hub_stats().tasks, 3);
    hub_yield(); /* a and c run to the end, b starts sleeping */
    assert_int_equal(hub_stats().tasks, 3);
    void *r;
    assert_int_equal(hub_join(a, 0, &r), 0); /* finished already: no waiting */
    assert_string_equal(r, "a");
    co_sleep(60 * NS_PER_MS);
    assert_int_equal(hub_stats().tasks, 1); /* b is gone; c waits for its join */
    assert_int_equal(hub_join(c, 0, &r), 0);
    assert_string_equal(r, "c");
    assert_int_equal(hub_stats().tasks, 0);
    hub_close();
}
#endif

/* ---- yield ---- */

static char g_trail[32];

static void *yielder(void *arg)
{
    char id = *(const char *)arg;
    for (int i = 0; i < 3; i++) {
        g_trail[strlen(g_trail)] = id;
        hub_yield();
    }
    return NULL;
}

static void test_yield_round_robin(void **state)
{
    (void)state;
    memset(g_trail, 0, sizeof g_trail);
    struct hub_task *t[3] = {
        hub_spawn(yielder, "a"), hub_spawn(yielder, "b"), hub_spawn(yielder, "c"),
    };
    assert_int_equal(hub_joinall(t, 3, 5 * NS_PER_S), 0);
    assert_string_equal(g_trail, "abcabcabc");
    assert_true(hub_stats().switches >= 9);
    hub_close();
}

/* ---- descriptors (hub_simple.c has none) ---- */

#ifndef HUB_SIMPLE
struct reader {
    int fd, index;
    char got[32];
    int order;
};
static int g_reads;

static void *read_task(void *arg)
{
    struct reader *r = arg;
    ssize_t n = co_read(r->fd, r->got, sizeof r->got - 1);
    if (n > 0)
        r->got[n] = '\0';
    r->order = g_reads++;
    return (void *)n;
}

static void test_io_wakes_the_right_task(void **state)
{
    (void)state;
    enum { N = 5 };
    int p[N][2];
    struct reader r[N];
    struct hub_task *t[N];
    g_reads = 0;
    for (int i = 0; i < N; i++) {
        assert_int_equal(pipe2(p[i], O_CLOEXEC | O_NONBLOCK), 0);
        r[i] = (struct reader){ .fd = p[i][0], .index = i, .order = -1 };
        t[i] = hub_spawn(read_task, &r[i]);
    }
    hub_yield(); /* all five are waiting now */
    static const int write_order[N] = { 3, 0, 4, 2, 1 };
    for (int k = 0; k < N; k++) {
        int i = write_order[k];
        char msg[32];
        int len = snprintf(msg, sizeof msg, "for reader %d", i);
        assert_int_equal(write(p[i][1], msg, (size_t)len), len);
        for (int spin = 0; spin < 100 && g_reads == k; spin++)
            co_sleep(NS_PER_MS); /* until that reader has run */
        assert_int_equal(g_reads, k + 1);
    }
    assert_int_equal(hub_joinall(t, N, 5 * NS_PER_S), 0);
    for (int k = 0; k < N; k++) {
        int i = write_order[k];
        char want[32];
        snprintf(want, sizeof want, "for reader %d", i);
        assert_string_equal(r[i].got, want);
        assert_int_equal(r[i].order, k);
    }
    for (int i = 0; i < N; i++) {
        close(p[i][0]);
        close(p[i][1]);
    }
    hub_close();
}

static void test_wait_fd_timeout_and_busy(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
    int64_t t0 = now_ns();
    assert_int_equal(co_wait_fd(p[0], EPOLLIN, 30 * NS_PER_MS), ETIMEDOUT);
    assert_true(now_ns() - t0 >= 30 * NS_PER_MS);
    assert_int_equal(co_wait_fd(p[1], EPOLLOUT, NS_PER_S), 0); /* a pipe is writable */
    /* a second waiter on the same descriptor is refused (gevent refuses it too) */
    struct reader r = { .fd = p[0] };
    struct hub_task *t = hub_spawn(read_task, &r);
    hub_yield();
    assert_int_equal(co_wait_fd(p[0], EPOLLIN, NS_PER_S), EEXIST);
    assert_int_equal(write(p[1], "x", 1), 1);
    void *n;
    assert_int_equal(hub_join(t, NS_PER_S, &n), 0);
    assert_int_equal((intptr_t)n, 1);
    close(p[0]);
    close(p[1]);
    hub_close();
}
#endif

static void *nap(void *arg)
{
    co_sleep((int64_t)(intptr_t)arg);
    return NULL;
}

/* ---- timeouts at the end of the clock ---- */

#ifndef HUB_SIMPLE
static void *write_later(void *arg)
{
    int fd = (int)(intptr_t)arg;
    co_sleep(10 * NS_PER_MS);
    return (void *)(intptr_t)write(fd, "x", 1);
}
#endif

/* timeouts and sleeps so long that now + timeout would overflow: they mean "no
 * limit", and must neither wrap to a time in the past (firing at once) nor block the
 * timers of everybody else */
static void test_huge_timeouts(void **state)
{
    (void)state;
    static const int64_t huge[] = { INT64_MAX, INT64_MAX - 1, INT64_MAX - 1000 };
    for (size_t i = 0; i < ARRAY_LEN(huge); i++) {
        struct hub_task *forever = hub_spawn(nap, (void *)(intptr_t)huge[i]);
        hub_yield(); /* it sleeps now, "for ever" */
        /* a 200 ms join of a 20 ms sleeper returns while that sleeper exists */
        struct hub_task *t = hub_spawn(nap, (void *)(intptr_t)(20 * NS_PER_MS));
        int64_t t0 = now_ns();
        assert_int_equal(hub_join(t, 200 * NS_PER_MS, NULL), 0);
        assert_true(now_ns() - t0 < 2 * NS_PER_S);
        /* a join with a huge timeout waits for the task (it does not time out at once) */
        t = hub_spawn(nap, (void *)(intptr_t)(20 * NS_PER_MS));
        t0 = now_ns();
        assert_int_equal(hub_join(t, huge[i], NULL), 0);
        assert_true(now_ns() - t0 >= 20 * NS_PER_MS);
        struct hub_task *ts[2] = { hub_spawn(nap, (void *)(intptr_t)(5 * NS_PER_MS)),
                                   hub_spawn(nap, (void *)(intptr_t)(10 * NS_PER_MS)) };
        assert_int_equal(hub_joinall(ts, 2, huge[i]), 0);
#ifndef HUB_SIMPLE
        /* and so does a wait for a descriptor */
        int p[2];
        assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
        t = hub_spawn(write_later, (void *)(intptr_t)p[1]);
        assert_int_equal(co_wait_fd(p[0], EPOLLIN, huge[i]), 0);
        void *w;
        assert_int_equal(hub_join(t, NS_PER_S, &w), 0);
        assert_int_equal((intptr_t)w, 1);
        close(p[0]);
        close(p[1]);
#endif
        assert_false(hub_join(forever, 0, NULL) == 0); /* still asleep */
        hub_close(); /* drops it */
    }
}

/* ---- closed descriptors (hub_simple.c gets them wrong: hub_closed_fd_simple) ---- */

#ifndef HUB_SIMPLE

struct fdwait {
    int fd;
    int64_t timeout;
    int rc;           /* what co_wait_fd returned */
    int64_t took;     /* how long it waited */
};

static void *wait_on(void *arg)
{
    struct fdwait *w = arg;
    int64_t t0 = now_ns();
    w->rc = co_wait_fd(w->fd, EPOLLIN, w->timeout);
    w->took = now_ns() - t0;
    return NULL;
}

struct reuse {
    struct fdwait *a;   /* the first waiter, on the descriptor closed under it */
    struct fdwait b;    /* the second one, on a new pipe that gets the same number */
    int newpipe[2];
    bool hub_close_fd;  /* close with co_close (else plain close behind the hub's back) */
};

static void *close_and_reuse(void *arg)
{
    struct reuse *r = arg;
    if (r->hub_close_fd)
        assert_int_equal(co_close(r->a->fd), 0);
    else
        assert_int_equal(close(r->a->fd), 0);
    assert_int_equal(pipe2(r->newpipe, O_CLOEXEC | O_NONBLOCK), 0);
    r->b.fd = r->newpipe[0];
    wait_on(&r->b);
    return NULL;
}

/* Task A waits on fd N with a 100 ms timeout; task B closes N, makes a new pipe (which
 * gets number N again) and waits on it. A's end must not take B's watch with it: a
 * write to B's pipe after A's timeout wakes B. */
static void check_reused_number(bool hub_close_fd)
{
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
    struct fdwait a = { .fd = p[0], .timeout = 100 * NS_PER_MS, .rc = -1 };
    struct reuse r = { .a = &a, .b = { .timeout = 3 * NS_PER_S, .rc = -1 }, .hub_close_fd = hub_close_fd };
    struct hub_task *ta = hub_spawn(wait_on, &a), *tb = hub_spawn(close_and_reuse, &r);
    co_sleep(250 * NS_PER_MS); /* A's 100 ms are over */
    assert_int_equal(r.b.fd, p[0]); /* the same number (else the test proves nothing) */
    assert_int_equal(hub_join(ta, NS_PER_S, NULL), 0);
    /* A's wait ended: its descriptor was closed (EBADF), or its time ran out */
    assert_true(a.rc == EBADF || a.rc == ETIMEDOUT);
    if (hub_close_fd) /* a close through the hub wakes the waiter at once */
        assert_true(a.rc == EBADF && a.took < 90 * NS_PER_MS);
    assert_int_equal(write(r.newpipe[1], "x", 1), 1);
    int64_t t0 = now_ns();
    assert_int_equal(hub_join(tb, 5 * NS_PER_S, NULL), 0);
    assert_int_equal(r.b.rc, 0); /* woken by the write, not timed out */
    assert_true(now_ns() - t0 < NS_PER_S);
    close(r.newpipe[0]);
    close(r.newpipe[1]);
    close(p[1]);
    hub_close();
}

static void test_closed_fd_number_reused(void **state)
{
    (void)state;
    check_reused_number(false);
}

static void test_co_close_wakes_waiter(void **state)
{
    (void)state;
    check_reused_number(true);
}

/* runs in a child (it crashed before): the file stays open elsewhere, through a dup or
 * a forked child, so closing our descriptor does not take it out of the epoll set; the
 * task whose wait it was ends (its stack is gone); then the pipe becomes readable. The
 * hub must not wake a dead task. Exits 0 if all went well. */
static void stale_watch_child(void *arg)
{
    bool by_fork = arg != NULL;
    int p[2];
    CHECK_SYS(pipe2(p, O_CLOEXEC | O_NONBLOCK));
    int keep = -1;
    pid_t holder = -1;
    if (by_fork) {
        holder = fork_child();
        if (holder == 0) { /* holds the read end (and the write end) open */
            sleep_ns(10 * NS_PER_S);
            _exit(0);
        }
    } else {
        keep = dup(p[0]);
        CHECK_SYS(keep);
    }
    struct fdwait a = { .fd = p[0], .timeout = 50 * NS_PER_MS };
    struct hub_task *t = hub_spawn(wait_on, &a);
    hub_yield();                   /* A waits on p[0] */
    CHECK_SYS(close(p[0]));        /* behind the hub's back */
    if (hub_join(t, 5 * NS_PER_S, NULL) != 0) /* A times out and ends; its stack is freed */
        _exit(3);
    for (int i = 0; i < 5; i++) /* spread the next allocations over the old stack */
        hub_join(hub_spawn(nap, (void *)(intptr_t)NS_PER_MS), NS_PER_S, NULL);
    CHECK_SYS(write(p[1], "x", 1)); /* the old file is readable now */
    co_sleep(50 * NS_PER_MS);      /* the hub polls epoll meanwhile */
    int q[2];                      /* and a new wait works as it should */
    CHECK_SYS(pipe2(q, O_CLOEXEC | O_NONBLOCK));
    CHECK_SYS(write(q[1], "y", 1));
    int rc = co_wait_fd(q[0], EPOLLIN, NS_PER_S);
    hub_close();
    if (holder > 0) {
        CHECK_SYS(kill(holder, SIGKILL));
        int status;
        child_wait(holder, -1, &status);
    }
    _exit(rc == 0 && a.rc == ETIMEDOUT ? 0 : 4);
}

static void check_stale_watch(bool by_fork)
{
    struct captured *c = malloc(sizeof *c);
    assert_non_null(c);
    capture(stale_watch_child, by_fork ? (void *)1 : NULL, 30 * NS_PER_S, c);
    if (!WIFEXITED(c->status) || WEXITSTATUS(c->status) != 0)
        fail_msg("the child ended with %d\n%s", exitcode_of(c->status), c->err);
    free(c);
}

static void test_closed_fd_open_through_dup(void **state)
{
    (void)state;
    check_stale_watch(false);
}

static void test_closed_fd_open_in_forked_child(void **state)
{
    (void)state;
    check_stale_watch(true);
}

/* one task reads a socket while another writes to it, as gevent allows */
struct duplex {
    int fd;
    ssize_t got, sent;
};

static void *duplex_reader(void *arg)
{
    struct duplex *d = arg;
    char buf[64];
    d->got = co_read(d->fd, buf, sizeof buf);
    return NULL;
}

static void *duplex_writer(void *arg)
{
    struct duplex *d = arg;
    /* fill the socket until it would block, then one more write: it must wait */
    static char chunk[65536];
    ssize_t n;
    while ((n = write(d->fd, chunk, sizeof chunk)) > 0)
        ;
    d->sent = co_write(d->fd, chunk, sizeof chunk);
    return NULL;
}

static void test_reader_and_writer_on_one_socket(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    struct duplex d = { .fd = sv[0], .got = -2, .sent = -2 };
    struct hub_task *r = hub_spawn(duplex_reader, &d), *w = hub_spawn(duplex_writer, &d);
    hub_yield(); /* both wait on sv[0] now: one for EPOLLIN, one for EPOLLOUT */
    assert_int_equal(d.got, -2);
    assert_int_equal(d.sent, -2);
    /* the other end reads everything (the writer gets room) and says hello */
    static char sink[1 << 16];
    assert_int_equal(write(sv[1], "hello", 5), 5);
    int64_t until = now_ns() + 5 * NS_PER_S;
    while (d.sent == -2 && now_ns() < until) {
        while (read(sv[1], sink, sizeof sink) > 0)
            ;
        co_sleep(NS_PER_MS);
    }
    assert_int_equal(hub_join(r, 5 * NS_PER_S, NULL), 0);
    assert_int_equal(hub_join(w, 5 * NS_PER_S, NULL), 0);
    assert_int_equal(d.got, 5);
    assert_int_equal(d.sent, 65536);
    /* two readers at once are still refused */
    struct duplex d2 = { .fd = sv[0], .got = -2 };
    r = hub_spawn(duplex_reader, &d2);
    hub_yield();
    assert_int_equal(co_wait_fd(sv[0], EPOLLIN, NS_PER_S), EEXIST);
    assert_int_equal(co_close(sv[0]), 0); /* and a close through the hub wakes it */
    assert_int_equal(hub_join(r, NS_PER_S, NULL), 0);
    assert_int_equal(d2.got, -1);
    close(sv[1]);
    hub_close();
}

/* a loopback echo: co_accept, co_connect, co_read, co_write */
struct echo {
    int lfd;
    struct sockaddr_in addr;
    size_t len;
    int ok;
};

static void *echo_server(void *arg)
{
    struct echo *e = arg;
    int c = co_accept(e->lfd, NULL, NULL);
    if (c == -1)
        return NULL;
    char buf[4096];
    ssize_t n;
    while ((n = co_read(c, buf, sizeof buf)) > 0)
        if (co_write(c, buf, (size_t)n) != n)
            break;
    close(c);
    return NULL;
}

static void *echo_client(void *arg)
{
    struct echo *e = arg;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1 || co_connect(fd, (struct sockaddr *)&e->addr, sizeof e->addr) == -1)
        return NULL;
    char *out = malloc(e->len), *in = malloc(e->len);
    for (size_t i = 0; i < e->len; i++)
        out[i] = (char)(i * 7 + 3);
    /* larger than one read; small enough for the loopback buffers to hold all of the
     * echo while we are still writing (this one task writes, then reads) */
    e->ok = co_write(fd, out, e->len) == (ssize_t)e->len;
    shutdown(fd, SHUT_WR);
    size_t got = 0;
    ssize_t n;
    while (got < e->len && (n = co_read(fd, in + got, e->len - got)) > 0)
        got += (size_t)n;
    e->ok = e->ok && got == e->len && memcmp(in, out, e->len) == 0;
    free(out);
    free(in);
    close(fd);
    return NULL;
}

static void test_loopback_echo(void **state)
{
    (void)state;
    struct echo e = { .len = 64 * 1024 };
    e.lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    assert_true(e.lfd >= 0);
    e.addr.sin_family = AF_INET;
    e.addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof e.addr;
    assert_int_equal(bind(e.lfd, (struct sockaddr *)&e.addr, sizeof e.addr), 0);
    assert_int_equal(getsockname(e.lfd, (struct sockaddr *)&e.addr, &len), 0);
    assert_int_equal(listen(e.lfd, 8), 0);
    struct hub_task *t[2] = { hub_spawn(echo_server, &e), hub_spawn(echo_client, &e) };
    assert_int_equal(hub_joinall(t, 2, 10 * NS_PER_S), 0);
    assert_true(e.ok);
    close(e.lfd);
    hub_close();
}
#endif /* HUB_SIMPLE */

/* ---- many ---- */

/* ThreadSanitizer treats every coroutine as a thread of its own (a fiber): gcc's TSan
 * runtime holds at most 8128 threads and fibers at a time, and maps over a megabyte
 * for each, so its builds run fewer. So does a run under valgrind: each stack is
 * registered with it, and when the stack pointer leaves one stack it searches its list
 * of them for the next (coregrind/m_stacks.c, find_stack_by_addr), so the time grows
 * faster than the number of stacks: 10,000 added 4 to 6 s to the run here, 1000 a
 * fraction of a second. */
#ifdef WB_TSAN
#define SLEEPERS 1000
#else
#define SLEEPERS 10000
#endif

static void test_ten_thousand_sleepers(void **state)
{
    (void)state;
    const int N = under_valgrind() ? 1000 : SLEEPERS;
    struct hub_task **t = calloc((size_t)N, sizeof *t);
    assert_non_null(t);
    int64_t t0 = now_ns();
    for (int i = 0; i < N; i++) {
        t[i] = hub_spawn(nap, (void *)(intptr_t)(50 * NS_PER_MS));
        assert_non_null(t[i]);
    }
    assert_int_equal(hub_stats().tasks, N);
    assert_int_equal(hub_joinall(t, N, 20 * NS_PER_S), 0);
    int64_t wall = now_ns() - t0;
    assert_true(wall >= 50 * NS_PER_MS);
    assert_true(wall < 10 * NS_PER_S); /* serially it would be 500 s */
    assert_int_equal(hub_stats().tasks, 0);
    free(t);
    hub_close();
}

/* ---- tasks on copied stacks (CORO_COPY_STACK) ---- */

#ifndef HUB_SIMPLE

static void test_copied_stack_tasks(void **state)
{
    (void)state;
    hub_set_stack(0, CORO_COPY_STACK);
#ifdef CORO_UCONTEXT
    errno = 0;
    assert_null(hub_spawn(nap, NULL)); /* not on the ucontext switch */
    assert_int_equal(errno, ENOTSUP);
#else
    /* sleepers wake in order, yields go round robin, and an echo over loopback works,
     * every task's frames copied away and back at each switch */
    enum { N = 2000 };
    struct hub_task **t = calloc(N, sizeof *t);
    assert_non_null(t);
    for (int i = 0; i < N; i++) {
        t[i] = hub_spawn(nap, (void *)(intptr_t)((i % 10) * NS_PER_MS));
        assert_non_null(t[i]);
    }
    assert_int_equal(hub_joinall(t, N, 20 * NS_PER_S), 0);
    free(t);
    memset(g_trail, 0, sizeof g_trail);
    struct hub_task *y[3] = {
        hub_spawn(yielder, "a"), hub_spawn(yielder, "b"), hub_spawn(yielder, "c"),
    };
    assert_int_equal(hub_joinall(y, 3, 5 * NS_PER_S), 0);
    assert_string_equal(g_trail, "abcabcabc");
    test_loopback_echo(state); /* (it closes the hub) */
    hub_set_stack(0, CORO_COPY_STACK);
    static const int ms[] = { 60, 20, 40 };
    struct sleeper sl[3];
    struct hub_task *ts[3];
    g_woken = 0;
    for (int i = 0; i < 3; i++) {
        sl[i] = (struct sleeper){ .ns = ms[i] * NS_PER_MS, .t0 = now_ns() };
        ts[i] = hub_spawn(sleep_task, &sl[i]);
    }
    assert_int_equal(hub_joinall(ts, 3, 5 * NS_PER_S), 0);
    assert_int_equal(sl[0].order, 2);
    assert_int_equal(sl[1].order, 0);
    assert_int_equal(sl[2].order, 1);
#endif
    hub_close();
}
#endif

/* ---- what is given back ---- */

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    int n = 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

static int count_maps(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    assert_non_null(f);
    int n = 0, ch;
    while ((ch = fgetc(f)) != EOF)
        n += ch == '\n';
    fclose(f);
    return n;
}

static void run_a_hub(void)
{
    struct hub_task *t[100];
    for (int i = 0; i < 100; i++)
        t[i] = hub_spawn(nap, (void *)(intptr_t)((i % 5) * NS_PER_MS));
    assert_int_equal(hub_joinall(t, 50, 5 * NS_PER_S), 0);
    /* the other 50 are closed down unjoined: some finished, some still asleep */
    hub_close();
#ifndef HUB_SIMPLE
    coro_cache_flush(); /* the stacks kept for reuse, too */
#endif
}

static void test_stacks_and_fds_freed(void **state)
{
    (void)state;
    run_a_hub(); /* the first round may leave malloc's own mappings behind */
    int fds = count_fds(), maps = count_maps();
    run_a_hub();
    assert_int_equal(count_fds(), fds);   /* the epoll descriptor is closed */
#ifndef WB_TSAN /* TSan keeps the memory of each fiber's state for reuse */
    /* (valgrind's own mappings are in the list too, and it adds and merges them as it
     * works) */
    if (!under_valgrind())
        assert_int_equal(count_maps(), maps); /* every stack is unmapped */
#else
    (void)maps;
#endif
}

/* ---- a hub per thread ---- */

struct thread_run {
    int sleepers_ok, pipe_ok;
};

#ifndef HUB_SIMPLE
static void *read_into(void *arg)
{
    char *buf = arg; /* 8 bytes; the first is the descriptor */
    int fd = buf[0];
    ssize_t n = co_read(fd, buf, 7);
    buf[n > 0 ? n : 0] = '\0';
    return NULL;
}
#endif

static void *hub_thread(void *arg)
{
    struct thread_run *r = arg;
    struct hub_task *t[200];
    for (int i = 0; i < 200; i++)
        t[i] = hub_spawn(nap, (void *)(intptr_t)((i % 7) * NS_PER_MS));
    r->sleepers_ok = hub_joinall(t, 200, 10 * NS_PER_S) == 0;
#ifdef HUB_SIMPLE
    r->pipe_ok = 1; /* (no descriptors) */
#else
    int p[2];
    if (pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0) {
        char buf[8] = { (char)p[0] };
        struct hub_task *rt = hub_spawn(read_into, buf);
        co_sleep(NS_PER_MS);
        r->pipe_ok = write(p[1], "hello", 5) == 5 && hub_join(rt, NS_PER_S, NULL) == 0 &&
                     strcmp(buf, "hello") == 0;
        close(p[0]);
        close(p[1]);
    }
#endif
    hub_close();
    return NULL;
}

static void test_hub_per_thread(void **state)
{
    (void)state;
    struct thread_run r[2] = { { 0 } };
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        CHECK_PT(pthread_create(&th[i], NULL, hub_thread, &r[i]));
    for (int i = 0; i < 2; i++)
        CHECK_PT(pthread_join(th[i], NULL));
    for (int i = 0; i < 2; i++) {
        assert_true(r[i].sleepers_ok);
        assert_true(r[i].pipe_ok);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backend),
        cmocka_unit_test(test_timers_in_order_and_on_time),
        cmocka_unit_test(test_equal_sleeps_wake_in_spawn_order),
        cmocka_unit_test(test_main_sleeps_too),
        cmocka_unit_test(test_join_result_and_timeout),
        cmocka_unit_test(test_join_errors),
#ifndef HUB_SIMPLE
        cmocka_unit_test(test_detach_and_finished),
#endif
        cmocka_unit_test(test_yield_round_robin),
#ifndef HUB_SIMPLE
        cmocka_unit_test(test_io_wakes_the_right_task),
        cmocka_unit_test(test_wait_fd_timeout_and_busy),
#endif
        cmocka_unit_test(test_huge_timeouts),
#ifndef HUB_SIMPLE
        cmocka_unit_test(test_closed_fd_number_reused),
        cmocka_unit_test(test_co_close_wakes_waiter),
        cmocka_unit_test(test_closed_fd_open_through_dup),
        cmocka_unit_test(test_closed_fd_open_in_forked_child),
        cmocka_unit_test(test_reader_and_writer_on_one_socket),
        cmocka_unit_test(test_loopback_echo),
#endif
        cmocka_unit_test(test_ten_thousand_sleepers),
#ifndef HUB_SIMPLE
        cmocka_unit_test(test_copied_stack_tasks),
#endif
        cmocka_unit_test(test_stacks_and_fds_freed),
        cmocka_unit_test(test_hub_per_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
