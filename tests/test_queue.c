/* test_queue.c: the tests of chapters/02-queue/queue.c.
 *
 * FIFO order; the Full / Empty / Closed / TooBig results; timeouts that return in about
 * the time asked; 4 producer and 4 consumer processes passing 100,000 numbered messages,
 * each arriving exactly once; processes killed while holding the lock (in the middle of
 * a put, of a get), while waiting, or woken and not yet back, after which the others
 * recover and go on; named queues opened by another process, and their names removed
 * by the last detach and by SIGINT. Children report through their exit status;
 * assertions run in the parent.
 *
 * test_queue_simple.c includes this file with QUEUE_SIMPLE defined, linked with
 * queue_simple.c: the cases that apply to the textbook queue (everything up to the
 * deaths, without the statistics it does not keep), and one of its own that shows the
 * failure queue.c exists to survive.
 */
#include "../chapters/02-queue/queue.h"
#include "testutil.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MS(x) ((int64_t)(x) * NS_PER_MS)

static void kill_and_reap(pid_t pid)
{
    assert_int_equal(kill(pid, SIGKILL), 0);
    assert_int_equal(join_child(pid), -SIGKILL);
}

/* ---- single process ---- */

static void test_fifo_and_hints(void **state)
{
    (void)state;
    struct queue *q = queue_new(5, 16);
    assert_true(queue_empty(q));
    assert_false(queue_full(q));
    for (int i = 0; i < 5; i++) {
        assert_int_equal(queue_qsize(q), i);
        assert_int_equal(queue_put(q, &i, sizeof i, QUEUE_FOREVER), QUEUE_OK);
    }
    assert_true(queue_full(q));
    assert_false(queue_empty(q));
    /* around the ring several times: order must hold across the wrap */
    for (int i = 0; i < 23; i++) {
        int v = -1;
        size_t len = 0;
        assert_int_equal(queue_get(q, &v, sizeof v, &len, QUEUE_FOREVER), QUEUE_OK);
        assert_int_equal(len, sizeof v);
        assert_int_equal(v, i);
        int next = i + 5;
        assert_int_equal(queue_put_nowait(q, &next, sizeof next), QUEUE_OK);
    }
#ifndef QUEUE_SIMPLE
    struct queue_stats st = queue_stats(q);
    assert_int_equal(st.puts, 28);
    assert_int_equal(st.gets, 23);
#endif
    assert_int_equal(queue_qsize(q), 5);
    queue_detach(q);
}

static void test_status_codes(void **state)
{
    (void)state;
    struct queue *q = queue_new(2, 8);
    char buf[8];
    size_t len;
    assert_int_equal(queue_get_nowait(q, buf, sizeof buf, &len), QUEUE_EMPTY);
    assert_int_equal(queue_put_nowait(q, "123456789", 9), QUEUE_TOO_BIG); /* max_msg is 8 */
    assert_int_equal(queue_put_nowait(q, "", 0), QUEUE_OK);                /* empty messages are fine */
    assert_int_equal(queue_put_nowait(q, "abcdefgh", 8), QUEUE_OK);
    assert_int_equal(queue_put_nowait(q, "x", 1), QUEUE_FULL);
    assert_int_equal(queue_get_nowait(q, buf, sizeof buf, &len), QUEUE_OK);
    assert_int_equal(len, 0);
    /* a buffer too small: TOO_BIG with the length, and the message stays */
    assert_int_equal(queue_get_nowait(q, buf, 4, &len), QUEUE_TOO_BIG);
    assert_int_equal(len, 8);
    assert_int_equal(queue_qsize(q), 1);
    /* close: puts refused, gets drain what is left, then CLOSED */
    queue_close(q);
    assert_int_equal(queue_put_nowait(q, "y", 1), QUEUE_CLOSED);
    assert_int_equal(queue_get(q, buf, sizeof buf, &len, QUEUE_FOREVER), QUEUE_OK);
    assert_memory_equal(buf, "abcdefgh", 8);
    assert_int_equal(queue_get(q, buf, sizeof buf, &len, QUEUE_FOREVER), QUEUE_CLOSED);
    assert_int_equal(queue_get_nowait(q, buf, sizeof buf, &len), QUEUE_CLOSED);
    assert_string_equal(queue_status_name(QUEUE_FULL), "QUEUE_FULL");
    queue_detach(q);
}

static void test_timeouts(void **state)
{
    (void)state;
    struct queue *q = queue_new(1, 8);
    char buf[8];
    size_t len;
    int64_t t = now_ns();
    assert_int_equal(queue_get(q, buf, sizeof buf, &len, MS(100)), QUEUE_EMPTY);
    t = now_ns() - t;
    assert_true(t >= MS(99));
    assert_true(t < MS(1000)); /* generous: the machine may be busy */
    assert_int_equal(queue_put(q, "a", 1, QUEUE_FOREVER), QUEUE_OK);
    t = now_ns();
    assert_int_equal(queue_put(q, "b", 1, MS(100)), QUEUE_FULL);
    t = now_ns() - t;
    assert_true(t >= MS(99));
    assert_true(t < MS(1000));
    t = now_ns();
    assert_int_equal(queue_put_nowait(q, "b", 1), QUEUE_FULL);
    assert_true(now_ns() - t < MS(50));
    queue_detach(q);
}

/* Timeouts too long to add to the clock (INT64_MAX, INT64_MAX - 1) wait without a
 * limit: a get on an empty queue and a put on a full one both wait for the child that
 * makes them possible 100 ms later, instead of giving up at once. */
static void test_huge_timeouts(void **state)
{
    (void)state;
    const int64_t timeouts[] = { INT64_MAX, INT64_MAX - 1 };
    for (size_t i = 0; i < ARRAY_LEN(timeouts); i++) {
        struct queue *q = queue_new(1, 8);
        pid_t c = fork_child();
        if (c == 0) { /* put after 100 ms, then take one back after 100 ms more */
            char buf[8];
            size_t len;
            sleep_ns(MS(100));
            if (queue_put(q, "a", 1, 0) != QUEUE_OK)
                _exit(1);
            sleep_ns(MS(200));
            _exit(queue_get(q, buf, sizeof buf, &len, 0) == QUEUE_OK ? 0 : 2);
        }
        char buf[8];
        size_t len;
        int64_t t0 = now_ns();
        assert_int_equal(queue_get(q, buf, sizeof buf, &len, timeouts[i]), QUEUE_OK);
        assert_true(now_ns() - t0 >= MS(90));
        assert_int_equal(queue_put(q, "b", 1, 0), QUEUE_OK); /* full now */
        assert_int_equal(queue_put(q, "c", 1, timeouts[i]), QUEUE_OK); /* after the child's get */
        assert_true(now_ns() - t0 >= MS(290));
        assert_int_equal(join_child(c), 0);
        queue_detach(q);
    }
}

/* ---- between processes ---- */

static void test_blocking_handoff(void **state)
{
    (void)state;
    struct queue *q = queue_new(1, 16);
    pid_t c = fork_child();
    if (c == 0) { /* blocks until the parent puts, then sends it back */
        char buf[16];
        size_t len;
        if (queue_get(q, buf, sizeof buf, &len, 10 * NS_PER_S) != QUEUE_OK || len != 5 || memcmp(buf, "hello", 5))
            _exit(1);
        _exit(queue_put(q, "olleh", 5, 10 * NS_PER_S) == QUEUE_OK ? 0 : 2);
    }
    sleep_ns(MS(50));
    assert_int_equal(queue_put(q, "hello", 5, QUEUE_FOREVER), QUEUE_OK);
    assert_int_equal(join_child(c), 0);
    char buf[16];
    size_t len;
    assert_int_equal(queue_get_nowait(q, buf, sizeof buf, &len), QUEUE_OK);
    assert_memory_equal(buf, "olleh", 5);
    queue_detach(q);
}

enum { PRODUCERS = 4, CONSUMERS = 4, MESSAGES = 100000 };

static void test_mpmc_exactly_once(void **state)
{
    (void)state;
    struct queue *q = queue_new(64, sizeof(uint32_t)); /* small: lots of sleeping and waking */
    uint8_t *seen = mmap(NULL, MESSAGES, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(seen != MAP_FAILED);
    pid_t pids[PRODUCERS + CONSUMERS];
    int64_t t = now_ns();
    for (int p = 0; p < PRODUCERS; p++) {
        pids[p] = fork_child();
        if (pids[p] == 0) {
            for (uint32_t i = (uint32_t)p; i < MESSAGES; i += PRODUCERS)
                if (queue_put(q, &i, sizeof i, 10 * NS_PER_S) != QUEUE_OK)
                    _exit(1);
            _exit(0);
        }
    }
    for (int c = 0; c < CONSUMERS; c++) {
        pids[PRODUCERS + c] = fork_child();
        if (pids[PRODUCERS + c] == 0) {
            uint32_t i;
            size_t len;
            int rc;
            while ((rc = queue_get(q, &i, sizeof i, &len, 10 * NS_PER_S)) == QUEUE_OK) {
                if (len != sizeof i || i >= MESSAGES)
                    _exit(2);
                __atomic_fetch_add(&seen[i], 1, __ATOMIC_RELAXED);
            }
            _exit(rc == QUEUE_CLOSED ? 0 : 3);
        }
    }
    for (int p = 0; p < PRODUCERS; p++)
        assert_int_equal(join_child(pids[p]), 0);
    queue_close(q);
    for (int c = 0; c < CONSUMERS; c++)
        assert_int_equal(join_child(pids[PRODUCERS + c]), 0);
    double secs = (double)(now_ns() - t) / 1e9;
    long missing = 0, doubled = 0;
    for (long i = 0; i < MESSAGES; i++) {
        missing += seen[i] == 0;
        doubled += seen[i] > 1;
    }
    if (missing || doubled)
        fail_msg("%ld messages missing, %ld delivered more than once", missing, doubled);
#ifndef QUEUE_SIMPLE
    struct queue_stats st = queue_stats(q);
    assert_int_equal(st.puts, MESSAGES);
    assert_int_equal(st.gets, MESSAGES);
    print_message("4 producers, 4 consumers, %d messages: %.2f s, %llu waits\n", MESSAGES, secs,
                  (unsigned long long)st.waits);
#else
    assert_int_equal(queue_qsize(q), 0);
    print_message("4 producers, 4 consumers, %d messages: %.2f s\n", MESSAGES, secs);
#endif
    assert_int_equal(munmap(seen, MESSAGES), 0);
    queue_detach(q);
}

#ifndef QUEUE_SIMPLE
/* queue_test_hook: counts the sleeps that ran out of time */
static volatile int g_timeouts;

static void count_timeouts(const char *point)
{
    if (strcmp(point, "wait:timeout") == 0)
        g_timeouts = g_timeouts + 1;
}

/* Every wake-up arrives: two processes bat a number to and fro through two queues of
 * one slot, so that nearly every get finds its queue empty and sleeps, or is on its way
 * to sleep when the put comes (the case a put's saved system call must get right). A
 * lost wake-up leaves the get asleep until its once-a-second look, which the hook
 * counts as a timeout: there must be none. Either side stops at the first one. */
static void test_wakeups_arrive(void **state)
{
    (void)state;
    enum { ROUNDS = 2000 };
    struct queue *ping = queue_new(1, sizeof(int)), *pong = queue_new(1, sizeof(int));
    g_timeouts = 0;
    queue_test_hook = count_timeouts;
    pid_t c = fork_child();
    if (c == 0) { /* sends back what it gets, until the parent closes ping; at its first
                   * lost wake-up it closes pong instead, which stops the parent too */
        int n;
        size_t len;
        while (!g_timeouts && queue_get(ping, &n, sizeof n, &len, 10 * NS_PER_S) == QUEUE_OK)
            if (queue_put(pong, &n, sizeof n, 10 * NS_PER_S) != QUEUE_OK)
                _exit(2);
        queue_close(pong);
        _exit(g_timeouts ? 1 : 0);
    }
    int rounds = 0;
    for (int n = 0; n < ROUNDS && !g_timeouts; n++, rounds++) {
        int back = -1;
        size_t len;
        assert_int_equal(queue_put(ping, &n, sizeof n, 10 * NS_PER_S), QUEUE_OK);
        int rc = queue_get(pong, &back, sizeof back, &len, 10 * NS_PER_S);
        if (rc == QUEUE_CLOSED && g_timeouts == 0)
            break; /* the child stopped: its exit status says why */
        assert_int_equal(rc, QUEUE_OK);
        assert_int_equal(back, n);
    }
    queue_test_hook = NULL;
    queue_close(ping);
    int child = join_child(c);
    uint64_t waits = queue_stats(ping).waits + queue_stats(pong).waits;
    print_message("%d round trips, %llu sleeps\n", rounds, (unsigned long long)waits);
    if (g_timeouts || child == 1)
        fail_msg("a wake-up was lost: a get slept until its look, after %d round trips (%s)", rounds,
                 g_timeouts ? "the parent's" : "the child's");
    assert_int_equal(child, 0);
    assert_true(waits > 0);
    queue_detach(ping);
    queue_detach(pong);
}
#endif

/* ---- death at the worst moments ---- */

static int g_signal_fd = -1;

/* queue_test_hook in a child: at `g_stop_at`, tell the parent and wait to be killed */
static const char *g_stop_at;
static void stop_here(const char *point)
{
    if (strcmp(point, g_stop_at) == 0) {
        if (write(g_signal_fd, "!", 1) != 1)
            _exit(9);
        for (;;)
            pause();
    }
}

/* a child that enters the queue and is killed at `point`, holding the lock */
static void die_inside(struct queue *q, const char *point)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t c = fork_child();
    if (c == 0) {
        g_signal_fd = fds[1];
        g_stop_at = point;
        queue_test_hook = stop_here;
        char buf[16];
        size_t len;
        if (strncmp(point, "put", 3) == 0)
            queue_put(q, "doomed", 6, QUEUE_FOREVER);
        else
            queue_get(q, buf, sizeof buf, &len, QUEUE_FOREVER);
        _exit(8); /* not reached */
    }
    char x;
    assert_int_equal(read(fds[0], &x, 1), 1); /* it is inside, holding the lock */
    kill_and_reap(c);
    close(fds[0]);
    close(fds[1]);
}

#ifdef QUEUE_SIMPLE
/* The failure queue.c exists to survive, on the textbook queue: a process killed
 * holding the lock leaves it locked for good. A get with a 50 ms timeout, started
 * after that, has not come back a second later: it sleeps in pthread_mutex_lock, which
 * its timeout does not bound. (queue_killed_simple shows the same, with a report.) */
static void test_killed_holding_lock_hangs(void **state)
{
    (void)state;
    struct queue *q = queue_new(4, 16);
    assert_int_equal(queue_put(q, "first", 5, QUEUE_FOREVER), QUEUE_OK);
    die_inside(q, "put:copied");
    pid_t getter = fork_child();
    if (getter == 0) {
        char buf[16];
        size_t len;
        _exit(queue_get(q, buf, sizeof buf, &len, MS(50)) == QUEUE_OK ? 0 : 1);
    }
    int status;
    assert_int_equal(child_wait(getter, NS_PER_S, &status), ETIMEDOUT);
    assert_true(asleep_in_futex(getter, NULL));
    kill_and_reap(getter);
    queue_detach(q);
}
#else
static void test_killed_holding_lock(void **state)
{
    (void)state;
    struct queue *q = queue_new(4, 16);
    assert_int_equal(queue_put(q, "first", 5, QUEUE_FOREVER), QUEUE_OK);

    /* killed in the middle of a put: the message never happened */
    die_inside(q, "put:copied");
    assert_int_equal(queue_qsize(q), 1); /* recovers here: EOWNERDEAD */
    struct queue_stats st = queue_stats(q);
    assert_int_equal(st.owner_deaths, 1);

    /* killed in the middle of a get: the message is still there for the next one */
    die_inside(q, "get:copied");
    char buf[16];
    size_t len;
    assert_int_equal(queue_get_nowait(q, buf, sizeof buf, &len), QUEUE_OK);
    assert_int_equal(len, 5);
    assert_memory_equal(buf, "first", 5);
    assert_int_equal(queue_stats(q).owner_deaths, 2);

    /* killed holding the lock while another process is blocked on it, in get */
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t holder = fork_child();
    if (holder == 0) {
        g_signal_fd = fds[1];
        g_stop_at = "put:copied";
        queue_test_hook = stop_here;
        queue_put(q, "doomed", 6, QUEUE_FOREVER);
        _exit(8);
    }
    char x;
    assert_int_equal(read(fds[0], &x, 1), 1);
    pid_t getter = fork_child();
    if (getter == 0) { /* blocks on the lock, then (after the repair) on the empty queue */
        if (queue_get(q, buf, sizeof buf, &len, 10 * NS_PER_S) != QUEUE_OK)
            _exit(1);
        _exit(len == 5 && memcmp(buf, "later", 5) == 0 ? 0 : 2);
    }
    sleep_ns(MS(50));
    kill_and_reap(holder);
    sleep_ns(MS(20));
    assert_int_equal(queue_put(q, "later", 5, QUEUE_FOREVER), QUEUE_OK);
    assert_int_equal(join_child(getter), 0);
    assert_int_equal(queue_stats(q).owner_deaths, 3);
    assert_int_equal(queue_qsize(q), 0);

    /* and the queue goes on working normally */
    for (int i = 0; i < 10; i++)
        assert_int_equal(queue_put(q, &i, sizeof i, MS(100)), i < 4 ? QUEUE_OK : QUEUE_FULL);
    close(fds[0]);
    close(fds[1]);
    queue_detach(q);
}

/* Waits (up to 10 s) until the queue has counted n sleeps in all and child `pid` is
 * asleep in the kernel: a wait is counted with the queue's lock held, and nobody holds
 * that lock for long here, so from then on a futex sleep is the wait itself. */
static void wait_asleep(struct queue *q, uint64_t n, pid_t pid)
{
    for (int64_t end = now_ns() + 10 * NS_PER_S; queue_stats(q).waits < n || !asleep_in_futex(pid, NULL); sleep_ns(MS(1)))
        if (now_ns() > end)
            fail_msg("process %d was not asleep in its wait after 10 s (%llu waits, %llu expected)", (int)pid,
                     (unsigned long long)queue_stats(q).waits, (unsigned long long)n);
}

/* The case that wedges glibc's shared condition variables: a process killed while it
 * waits. Five rounds: a consumer is killed in its wait, then a live consumer must still
 * get the next message (glibc's own condvars lose it in round 2 and then hang). */
static void test_killed_while_waiting(void **state)
{
    (void)state;
    struct queue *q = queue_new(2, 16);
    uint64_t waits = 0;
    for (int round = 0; round < 5; round++) {
        pid_t dead = fork_child();
        if (dead == 0) {
            char buf[16];
            size_t len;
            queue_get(q, buf, sizeof buf, &len, QUEUE_FOREVER);
            _exit(8);
        }
        wait_asleep(q, ++waits, dead); /* killed asleep, not on its way to sleep */
        kill_and_reap(dead);
        pid_t live = fork_child();
        if (live == 0) {
            char buf[16];
            size_t len;
            int rc = queue_get(q, buf, sizeof buf, &len, 10 * NS_PER_S);
            _exit(rc == QUEUE_OK && len == 5 && memcmp(buf, "hello", 5) == 0 ? 0 : 1);
        }
        wait_asleep(q, ++waits, live); /* so the put must wake it */
        assert_int_equal(queue_put(q, "hello", 5, MS(1000)), QUEUE_OK);
        assert_int_equal(join_child(live), 0);
        waits = queue_stats(q).waits;
    }
    /* a producer killed while waiting for room */
    assert_int_equal(queue_put(q, "a", 1, 0), QUEUE_OK);
    assert_int_equal(queue_put(q, "b", 1, 0), QUEUE_OK);
    pid_t dead = fork_child();
    if (dead == 0) {
        queue_put(q, "c", 1, QUEUE_FOREVER);
        _exit(8);
    }
    wait_asleep(q, waits + 1, dead);
    kill_and_reap(dead);
    char buf[16];
    size_t len;
    assert_int_equal(queue_get_nowait(q, buf, sizeof buf, &len), QUEUE_OK);
    assert_int_equal(queue_put(q, "d", 1, MS(1000)), QUEUE_OK);
    struct queue_stats st = queue_stats(q);
    assert_int_equal(st.puts, 5 + 3); /* the dead put and took nothing */
    assert_int_equal(st.gets, 5 + 1);
    assert_int_equal(st.owner_deaths, 0);
    queue_detach(q);
}

/* queue_test_hook in a child: at `g_stop_at`, send the parent our pid and wait to be
 * killed */
static void stop_and_tell(const char *point)
{
    if (strcmp(point, g_stop_at) == 0) {
        pid_t me = getpid();
        if (write(g_signal_fd, &me, sizeof me) != sizeof me)
            _exit(9);
        for (;;)
            pause();
    }
}

/* A consumer that waits for "wake" and stops at `stop_at` if it gets there. */
static pid_t waiting_consumer(struct queue *q, int fd, const char *stop_at)
{
    pid_t c = fork_child();
    if (c == 0) {
        g_signal_fd = fd;
        g_stop_at = stop_at;
        queue_test_hook = stop_and_tell;
        char buf[16];
        size_t len;
        int rc = queue_get(q, buf, sizeof buf, &len, QUEUE_FOREVER);
        _exit(rc == QUEUE_OK && len == 4 && memcmp(buf, "wake", 4) == 0 ? 0 : 1);
    }
    return c;
}

/* The pid a child sent through fd, within 10 s. */
static pid_t read_pid(int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    pid_t pid = 0;
    if (poll(&p, 1, 10000) != 1 || read(fd, &pid, sizeof pid) != sizeof pid)
        fail_msg("no child reached its stop within 10 s");
    return pid;
}

/* A consumer killed after a put woke it, before it could take the lock back: the
 * wake-up dies with it. The other consumer, asleep without a timeout, must still get
 * the message (the sleepers look at the queue once a second). Both would stop at
 * "wait:woken"; the one the put wakes does, and is killed there. The other one must
 * find the message by looking (had it been woken, it would have stopped too). */
static void test_killed_after_wakeup(void **state)
{
    (void)state;
    struct queue *q = queue_new(2, 16);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t c0 = waiting_consumer(q, fds[1], "wait:woken");
    wait_asleep(q, 1, c0);
    pid_t c1 = waiting_consumer(q, fds[1], "wait:woken");
    wait_asleep(q, 2, c1);
    assert_int_equal(queue_put(q, "wake", 4, MS(1000)), QUEUE_OK);
    pid_t woken = read_pid(fds[0]);
    assert_true(woken == c0 || woken == c1);
    kill_and_reap(woken);
    pid_t other = woken == c0 ? c1 : c0;
    int status;
    if (child_wait(other, 10 * NS_PER_S, &status) == ETIMEDOUT) {
        kill(other, SIGKILL);
        child_wait(other, -1, &status);
        fail_msg("the other consumer slept on next to the message (a lost wake-up)");
    }
    assert_int_equal(exitcode_of(status), 0);
    struct queue_stats st = queue_stats(q);
    assert_int_equal(st.gets, 1);
    assert_int_equal(st.owner_deaths, 0);
    close(fds[0]);
    close(fds[1]);
    queue_detach(q);
}

/* A timed get whose sleep runs out and that is killed right then, before it takes the
 * lock back: with glibc's condition variables this was the instant a waiter held the
 * condition variable's internal lock (to cancel its wait), and a death there made the
 * next signal block for ever. Here it must cost nobody anything: a put and a get by
 * others go through at once. */
static void test_killed_as_its_wait_times_out(void **state)
{
    (void)state;
    struct queue *q = queue_new(1, 16);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    for (int round = 0; round < 3; round++) {
        pid_t c = fork_child();
        if (c == 0) {
            g_signal_fd = fds[1];
            g_stop_at = "wait:timeout";
            queue_test_hook = stop_and_tell;
            char buf[16];
            size_t len;
            queue_get(q, buf, sizeof buf, &len, MS(20));
            _exit(8); /* not reached */
        }
        assert_int_equal(read_pid(fds[0]), c);
        kill_and_reap(c);
        int64_t t0 = now_ns();
        char buf[16];
        size_t len;
        assert_int_equal(queue_put(q, "next", 4, 10 * NS_PER_S), QUEUE_OK);
        assert_int_equal(queue_get(q, buf, sizeof buf, &len, 10 * NS_PER_S), QUEUE_OK);
        assert_true(now_ns() - t0 < NS_PER_S); /* at once, generously */
    }
    /* and a put killed the same way, waiting for room */
    assert_int_equal(queue_put(q, "full", 4, 0), QUEUE_OK);
    pid_t c = fork_child();
    if (c == 0) {
        g_signal_fd = fds[1];
        g_stop_at = "wait:timeout";
        queue_test_hook = stop_and_tell;
        queue_put(q, "more", 4, MS(20));
        _exit(8);
    }
    assert_int_equal(read_pid(fds[0]), c);
    kill_and_reap(c);
    char buf[16];
    size_t len;
    assert_int_equal(queue_get(q, buf, sizeof buf, &len, 10 * NS_PER_S), QUEUE_OK);
    assert_int_equal(queue_put(q, "last", 4, 10 * NS_PER_S), QUEUE_OK);
    struct queue_stats st = queue_stats(q);
    assert_int_equal(st.puts, 3 + 2);
    assert_int_equal(st.owner_deaths, 0);
    close(fds[0]);
    close(fds[1]);
    queue_detach(q);
}

/* A producer killed right after its put woke a sleeping consumer, still holding the
 * lock, the message not yet on the queue (with condition variables, the instant after
 * or inside pthread_cond_signal). The consumer wakes, finds the lock's owner dead,
 * repairs, finds no message, and sleeps again; the next put reaches it. */
static void test_killed_after_waking(void **state)
{
    (void)state;
    struct queue *q = queue_new(2, 16);
    pid_t consumer = fork_child();
    if (consumer == 0) {
        char buf[16];
        size_t len;
        int rc = queue_get(q, buf, sizeof buf, &len, 10 * NS_PER_S);
        _exit(rc == QUEUE_OK && len == 5 && memcmp(buf, "later", 5) == 0 ? 0 : 1);
    }
    wait_asleep(q, 1, consumer);
    die_inside(q, "put:woke");
    /* the consumer repairs the lock (or we do) and goes back to sleep */
    for (int64_t end = now_ns() + 10 * NS_PER_S; queue_stats(q).owner_deaths == 0; sleep_ns(MS(1)))
        if (now_ns() > end)
            fail_msg("nobody repaired the lock");
    assert_int_equal(queue_qsize(q), 0); /* the dying put never happened */
    int64_t t0 = now_ns();
    assert_int_equal(queue_put(q, "later", 5, MS(1000)), QUEUE_OK);
    assert_int_equal(join_child(consumer), 0);
    assert_true(now_ns() - t0 < 5 * NS_PER_S);
    assert_int_equal(queue_stats(q).owner_deaths, 1);
    queue_detach(q);
}

/* queue_test_hook for test_woken_while_locked: the producer says "w" at "put:woke" and
 * holds on there, lock held, until the parent writes to g_go_fd; the consumer says "b"
 * at "wait:busy" */
static int g_go_fd = -1;
static void hold_or_report(const char *point)
{
    char c;
    if (strcmp(point, "put:woke") == 0) {
        if (write(g_signal_fd, "w", 1) != 1 || read(g_go_fd, &c, 1) != 1)
            _exit(9);
    } else if (strcmp(point, "wait:busy") == 0) {
        if (write(g_signal_fd, "b", 1) != 1)
            _exit(9);
    }
}

/* A consumer woken while its waker still holds the lock (a put wakes before it commits)
 * yields its CPU once before it blocks on the lock, and reports at "wait:busy" just
 * before. The producer is held in its critical section, right after the wake, until
 * the consumer has reported (or 10 s have passed); then both finish, and the message
 * arrives. */
static void test_woken_while_locked(void **state)
{
    (void)state;
    struct queue *q = queue_new(2, 16);
    int sig[2], go[2];
    assert_int_equal(pipe(sig), 0);
    assert_int_equal(pipe(go), 0);
    pid_t consumer = fork_child();
    if (consumer == 0) {
        g_signal_fd = sig[1];
        queue_test_hook = hold_or_report;
        char buf[16];
        size_t len;
        int rc = queue_get(q, buf, sizeof buf, &len, 10 * NS_PER_S);
        _exit(rc == QUEUE_OK && len == 4 && memcmp(buf, "wake", 4) == 0 ? 0 : 1);
    }
    wait_asleep(q, 1, consumer);
    pid_t producer = fork_child();
    if (producer == 0) {
        g_signal_fd = sig[1];
        g_go_fd = go[0];
        queue_test_hook = hold_or_report;
        _exit(queue_put(q, "wake", 4, 10 * NS_PER_S) == QUEUE_OK ? 0 : 1);
    }
    bool woke = false, busy = false; /* "w" and "b", in either order */
    struct pollfd p = { .fd = sig[0], .events = POLLIN };
    char c;
    while (!(woke && busy) && poll(&p, 1, 10000) == 1 && read(sig[0], &c, 1) == 1) {
        woke = woke || c == 'w';
        busy = busy || c == 'b';
    }
    assert_int_equal(write(go[1], "g", 1), 1); /* let the producer finish, whatever came */
    int produced = join_child(producer), consumed = join_child(consumer);
    if (!busy)
        fail_msg("the woken consumer did not report the lock taken (producer %s)",
                 woke ? "held at put:woke" : "never reached put:woke");
    assert_true(woke);
    assert_int_equal(produced, 0);
    assert_int_equal(consumed, 0);
    struct queue_stats st = queue_stats(q);
    assert_int_equal(st.gets, 1);
    assert_int_equal(st.owner_deaths, 0);
    for (int i = 0; i < 2; i++) {
        close(sig[i]);
        close(go[i]);
    }
    queue_detach(q);
}

/* ---- waiters killed at random moments, while others go on ---- */

enum { STRESS_MESSAGES = 20000, STRESS_VICTIMS = 300 };

struct stress {
    uint8_t seen[STRESS_MESSAGES];    /* by the live consumer */
    uint8_t claimed[STRESS_MESSAGES]; /* by a victim, inside its get, before the commit */
    int64_t slowest[2];               /* the live producer's and consumer's slowest call, ns */
};

static void victim_claims(uint64_t seq, const void *msg, size_t len, void *arg)
{
    struct stress *st = arg;
    uint32_t v;
    (void)seq;
    if (len == sizeof v) {
        memcpy(&v, msg, sizeof v);
        if (v < STRESS_MESSAGES)
            __atomic_store_n(&st->claimed[v], 1, __ATOMIC_RELAXED);
    }
}

/* a victim: puts and gets with every kind of timeout, until it is killed */
static noreturn void victim(struct queue *q, struct stress *st, uint64_t seed)
{
    static const int64_t timeouts[] = { 0, 20 * NS_PER_US, 200 * NS_PER_US, MS(2), QUEUE_FOREVER };
    for (;;) {
        uint64_t r = random_next(&seed);
        int64_t t = timeouts[r % ARRAY_LEN(timeouts)];
        uint32_t v = STRESS_MESSAGES + (uint32_t)(r >> 40); /* not one of the live messages */
        size_t len;
        if (r & (1u << 20))
            queue_put(q, &v, sizeof v, t);
        else
            queue_get_claim(q, &v, sizeof v, &len, t, victim_claims, st);
    }
}

static int64_t elapsed_since(int64_t t0)
{
    return now_ns() - t0;
}

/* Victim processes put and get with all kinds of timeouts, and are SIGKILLed at random
 * moments: asleep, on the way to sleep, just woken, timing out, holding the lock. A
 * live producer and a live consumer pass STRESS_MESSAGES numbered messages meanwhile.
 * Every live put and get must complete, none slower than a few seconds (a wake-up lost
 * with a dying victim costs at most the once-a-second look), and no message may be
 * lost or doubled: each one reaches the live consumer once, or a victim claimed it. */
static void test_waiters_killed_at_random(void **state)
{
    (void)state;
    struct queue *q = queue_new(4, sizeof(uint32_t));
    struct stress *st = mmap(NULL, sizeof *st, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(st != MAP_FAILED);
    pid_t producer = fork_child();
    if (producer == 0) {
        for (uint32_t i = 0; i < STRESS_MESSAGES; i++) {
            int64_t t0 = now_ns();
            if (queue_put(q, &i, sizeof i, 10 * NS_PER_S) != QUEUE_OK)
                _exit(1);
            if (elapsed_since(t0) > st->slowest[0])
                st->slowest[0] = elapsed_since(t0);
            if (i % 64 == 0)
                sleep_ns(20 * NS_PER_US); /* now and then let the queue run empty */
        }
        _exit(0);
    }
    pid_t consumer = fork_child();
    if (consumer == 0) {
        for (;;) {
            uint32_t v;
            size_t len;
            int64_t t0 = now_ns();
            int rc = queue_get(q, &v, sizeof v, &len, 10 * NS_PER_S);
            if (rc == QUEUE_CLOSED)
                _exit(0);
            if (rc != QUEUE_OK || len != sizeof v)
                _exit(1);
            if (elapsed_since(t0) > st->slowest[1])
                st->slowest[1] = elapsed_since(t0);
            if (v < STRESS_MESSAGES)
                st->seen[v]++;
        }
    }
    uint64_t seed = 42;
    int victims = 0;
    for (int64_t end = now_ns() + 2 * NS_PER_S; victims < STRESS_VICTIMS && now_ns() < end; victims++) {
        pid_t v = fork_child();
        if (v == 0)
            victim(q, st, UINT64_C(1000) + (uint64_t)victims);
        sleep_ns((int64_t)(random_next(&seed) % (3 * NS_PER_MS))); /* 0 to 3 ms */
        kill_and_reap(v);
    }
    assert_int_equal(join_child(producer), 0);
    queue_close(q);
    assert_int_equal(join_child(consumer), 0);
    long lost = 0, doubled = 0, claimed = 0;
    for (long i = 0; i < STRESS_MESSAGES; i++) {
        lost += st->seen[i] == 0 && !st->claimed[i];
        doubled += st->seen[i] > 1;
        claimed += st->claimed[i];
    }
    struct queue_stats qs = queue_stats(q);
    print_message("%d victims killed; %ld messages claimed by them; %llu owner deaths repaired; slowest "
                  "live put %.1f ms, get %.1f ms\n", victims, claimed, (unsigned long long)qs.owner_deaths,
                  (double)st->slowest[0] / 1e6, (double)st->slowest[1] / 1e6);
    if (lost || doubled)
        fail_msg("%ld messages lost, %ld delivered twice", lost, doubled);
    assert_true(victims >= 20);
    assert_true(st->slowest[0] < 5 * NS_PER_S && st->slowest[1] < 5 * NS_PER_S);
    assert_int_equal(munmap(st, sizeof *st), 0);
    queue_detach(q);
}

/* Many sleepers at once (more than the 64 the queue's earlier design had room for):
 * each put wakes one of them, and every one is served. */
static void test_many_waiters(void **state)
{
    (void)state;
    enum { N = 70 };
    struct queue *q = queue_new(N, 8);
    pid_t pids[N];
    for (int i = 0; i < N; i++) {
        pids[i] = fork_child();
        if (pids[i] == 0) {
            char buf[8];
            size_t len;
            _exit(queue_get(q, buf, sizeof buf, &len, 20 * NS_PER_S) == QUEUE_OK ? 0 : 1);
        }
    }
    for (int i = 0; i < N; i++)
        wait_asleep(q, (uint64_t)N, pids[i]);
    for (int i = 0; i < N; i++)
        assert_int_equal(queue_put(q, "m", 1, MS(1000)), QUEUE_OK);
    for (int i = 0; i < N; i++)
        assert_int_equal(join_child(pids[i]), 0);
    struct queue_stats st = queue_stats(q);
    assert_int_equal(st.gets, N);
    assert_true(st.waits >= N);
    queue_detach(q);
}

/* ---- named queues ---- */

static bool shm_exists(const char *name)
{
    char path[256];
    struct stat st;
    snprintf(path, sizeof path, "/dev/shm%s", name);
    return stat(path, &st) == 0;
}

static void test_named_queue(void **state)
{
    (void)state;
    char name[64];
    snprintf(name, sizeof name, "/wb-test-queue-%d", (int)getpid());
    errno = 0;
    assert_null(queue_open(name, MS(30)));
    assert_int_equal(errno, ENOENT);

    struct queue *q = queue_create(name, 4, 32);
    assert_true(shm_exists(name));
    pid_t c = fork_child();
    if (c == 0) { /* attaches by name, not through the inherited handle */
        struct queue *mine = queue_open(name, NS_PER_S);
        if (!mine)
            _exit(1);
        char buf[32];
        size_t len;
        if (queue_get(mine, buf, sizeof buf, &len, 10 * NS_PER_S) != QUEUE_OK || len != 4 || memcmp(buf, "ping", 4))
            _exit(2);
        if (queue_put(mine, "pong", 4, 10 * NS_PER_S) != QUEUE_OK)
            _exit(3);
        queue_detach(mine);
        _exit(0);
    }
    assert_int_equal(queue_put(q, "ping", 4, QUEUE_FOREVER), QUEUE_OK);
    assert_int_equal(join_child(c), 0);
    char buf[32];
    size_t len;
    assert_int_equal(queue_get(q, buf, sizeof buf, &len, MS(1000)), QUEUE_OK);
    assert_memory_equal(buf, "pong", 4);
    assert_true(shm_exists(name)); /* the child detached; we are still attached */

    /* an attached process that is killed does not keep the name alive */
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    c = fork_child();
    if (c == 0) {
        struct queue *mine = queue_open(name, NS_PER_S);
        if (!mine || write(fds[1], "!", 1) != 1)
            _exit(1);
        for (;;)
            pause();
    }
    char x;
    assert_int_equal(read(fds[0], &x, 1), 1);
    kill_and_reap(c);
    close(fds[0]);
    close(fds[1]);
    queue_detach(q);
    assert_false(shm_exists(name)); /* the last one out removed it */
}

/* queue_open(name, QUEUE_FOREVER) waits for the creator, as the header's timeout
 * convention says (it used to try once and return ENOENT). */
static void test_open_waits_forever(void **state)
{
    (void)state;
    char name[64];
    snprintf(name, sizeof name, "/wb-test-open-%d", (int)getpid());
    pid_t c = fork_child();
    if (c == 0) {
        struct queue *mine = queue_open(name, QUEUE_FOREVER);
        if (!mine)
            _exit(1);
        if (queue_put(mine, "here", 4, 10 * NS_PER_S) != QUEUE_OK)
            _exit(2);
        queue_detach(mine);
        _exit(0);
    }
    sleep_ns(MS(100)); /* the child is (almost surely) already waiting */
    struct queue *q = queue_create(name, 2, 8);
    char buf[8];
    size_t len;
    int rc = queue_get(q, buf, sizeof buf, &len, 10 * NS_PER_S);
    assert_int_equal(join_child(c), 0);
    assert_int_equal(rc, QUEUE_OK);
    assert_memory_equal(buf, "here", 4);
    queue_detach(q);
    assert_false(shm_exists(name));
}

static void create_then_sigint(void *arg)
{
    struct queue *q = queue_create(arg, 2, 8);
    (void)q;
    raise(SIGINT); /* on_termination removes the name, then the process dies by SIGINT */
    _exit(7);
}

static void test_named_queue_sigint(void **state)
{
    (void)state;
    char name[64];
    snprintf(name, sizeof name, "/wb-test-sigint-%d", (int)getpid());
    struct captured c;
    capture(create_then_sigint, name, 10 * NS_PER_S, &c);
    assert_true(WIFSIGNALED(c.status));
    assert_int_equal(WTERMSIG(c.status), SIGINT);
    assert_false(shm_exists(name));
}

#endif /* QUEUE_SIMPLE */

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifo_and_hints),
        cmocka_unit_test(test_status_codes),
        cmocka_unit_test(test_timeouts),
        cmocka_unit_test(test_huge_timeouts),
        cmocka_unit_test(test_blocking_handoff),
        cmocka_unit_test(test_mpmc_exactly_once),
#ifndef QUEUE_SIMPLE
        cmocka_unit_test(test_wakeups_arrive),
#endif
#ifdef QUEUE_SIMPLE
        cmocka_unit_test(test_killed_holding_lock_hangs),
#else
        cmocka_unit_test(test_killed_holding_lock),
        cmocka_unit_test(test_killed_while_waiting),
        cmocka_unit_test(test_killed_after_wakeup),
        cmocka_unit_test(test_killed_as_its_wait_times_out),
        cmocka_unit_test(test_killed_after_waking),
        cmocka_unit_test(test_woken_while_locked),
        cmocka_unit_test(test_waiters_killed_at_random),
        cmocka_unit_test(test_many_waiters),
        cmocka_unit_test(test_named_queue),
        cmocka_unit_test(test_named_queue_sigint),
        cmocka_unit_test(test_open_waits_forever),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
