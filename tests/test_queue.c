/* test_queue.c: the tests of chapters/02-queue/queue.c.
 *
 * FIFO order; the Full / Empty / Closed / TooBig results; timeouts that return in about
 * the time asked; 4 producer and 4 consumer processes passing 100,000 numbered messages,
 * each arriving exactly once; processes killed while holding the lock (in the middle of
 * a put, of a get), while waiting, or woken and not yet back, after which the others
 * recover and go on; named queues opened by another process, and their names removed
 * by the last detach and by SIGINT. Children report through their exit status;
 * assertions run in the parent.
 */
#include "../chapters/02-queue/queue.h"
#include "testutil.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MS(x) ((int64_t)(x) * NS_PER_MS)

/* the exit code of child `pid`, which must end within 30 s */
static int join_child(pid_t pid)
{
    int status;
    if (child_wait(pid, 30 * NS_PER_S, &status) == ETIMEDOUT) {
        kill(pid, SIGKILL);
        child_wait(pid, -1, &status);
        fail_msg("child %d did not end within 30 s", (int)pid);
    }
    return exitcode_of(status);
}

static void kill_and_reap(pid_t pid)
{
    assert_int_equal(kill(pid, SIGKILL), 0);
    assert_int_equal(join_child(pid), -SIGKILL);
}

static bool shm_exists(const char *name)
{
    char path[256];
    struct stat st;
    snprintf(path, sizeof path, "/dev/shm%s", name);
    return stat(path, &st) == 0;
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
    struct queue_stats st = queue_stats(q);
    assert_int_equal(st.puts, 28);
    assert_int_equal(st.gets, 23);
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
    struct queue_stats st = queue_stats(q);
    assert_int_equal(st.puts, MESSAGES);
    assert_int_equal(st.gets, MESSAGES);
    print_message("4 producers, 4 consumers, %d messages: %.2f s, %llu waits\n", MESSAGES, secs,
                  (unsigned long long)st.waits);
    assert_int_equal(munmap(seen, MESSAGES), 0);
    queue_detach(q);
}

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

/* Is process `pid` asleep in futex(2)? The kernel shows the system call a sleeping
 * process is in ("202 0x7f..."; "running" when it is not blocked). */
static bool in_futex(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/syscall", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    long nr = -1;
    bool ok = fgets(line, sizeof line, f) && sscanf(line, "%ld", &nr) == 1;
    fclose(f);
    return ok && nr == SYS_futex;
}

/* Waits (up to 10 s) until the queue has counted n sleeps in all and child `pid` is
 * asleep in the kernel: a wait is counted with the queue's lock held, and nobody holds
 * that lock for long here, so from then on a futex sleep is the wait itself. */
static void wait_asleep(struct queue *q, uint64_t n, pid_t pid)
{
    for (int64_t end = now_ns() + 10 * NS_PER_S; queue_stats(q).waits < n || !in_futex(pid); sleep_ns(MS(1)))
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
    assert_true(st.dead_waiters >= 5);
    assert_int_equal(st.owner_deaths, 0);
    queue_detach(q);
}

/* queue_test_hook in the producer (the test process): right after the put has woken a
 * consumer, and before it lets go of the lock, kill that consumer and reap it */
static pid_t g_victim;
static int g_victim_exit = 1;
static void kill_the_woken(const char *point)
{
    if (strcmp(point, "put:woke") != 0 || g_victim <= 0)
        return;
    int status;
    kill(g_victim, SIGKILL);
    if (child_wait(g_victim, 10 * NS_PER_S, &status) == 0)
        g_victim_exit = exitcode_of(status);
    g_victim = 0;
}

/* A consumer killed after a put woke it, before it could take the lock back: the
 * wake-up dies with it. A second consumer, asleep without a timeout, must still get
 * the message (the sleepers look at the queue once a second). */
static void test_killed_after_wakeup(void **state)
{
    (void)state;
    struct queue *q = queue_new(2, 16);
    pid_t first = fork_child(); /* the first to sleep: the one the put wakes */
    if (first == 0) {
        char buf[16];
        size_t len;
        queue_get(q, buf, sizeof buf, &len, QUEUE_FOREVER);
        _exit(8);
    }
    wait_asleep(q, 1, first);
    pid_t second = fork_child();
    if (second == 0) {
        char buf[16];
        size_t len;
        int rc = queue_get(q, buf, sizeof buf, &len, QUEUE_FOREVER);
        _exit(rc == QUEUE_OK && len == 4 && memcmp(buf, "wake", 4) == 0 ? 0 : 1);
    }
    wait_asleep(q, 2, second);
    g_victim = first;
    queue_test_hook = kill_the_woken;
    assert_int_equal(queue_put(q, "wake", 4, MS(1000)), QUEUE_OK);
    queue_test_hook = NULL;
    assert_int_equal(g_victim, 0);              /* the hook ran ... */
    assert_int_equal(g_victim_exit, -SIGKILL);  /* ... and killed the woken consumer */
    int status;
    if (child_wait(second, 10 * NS_PER_S, &status) == ETIMEDOUT) {
        kill(second, SIGKILL);
        child_wait(second, -1, &status);
        fail_msg("the second consumer slept on next to the message (a lost wake-up)");
    }
    assert_int_equal(exitcode_of(status), 0);
    struct queue_stats st = queue_stats(q);
    assert_int_equal(st.gets, 1);
    assert_int_equal(st.dead_waiters, 1); /* the dead consumer's slot was found and freed */
    queue_detach(q);
}

/* More sleepers than waiter slots: the rest poll, and everybody is served. */
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
    sleep_ns(MS(200));
    for (int i = 0; i < N; i++)
        assert_int_equal(queue_put(q, "m", 1, MS(1000)), QUEUE_OK);
    for (int i = 0; i < N; i++)
        assert_int_equal(join_child(pids[i]), 0);
    struct queue_stats st = queue_stats(q);
    assert_int_equal(st.gets, N);
    assert_true(st.polls > 0);
    queue_detach(q);
}

/* ---- named queues ---- */

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifo_and_hints),
        cmocka_unit_test(test_status_codes),
        cmocka_unit_test(test_timeouts),
        cmocka_unit_test(test_blocking_handoff),
        cmocka_unit_test(test_mpmc_exactly_once),
        cmocka_unit_test(test_killed_holding_lock),
        cmocka_unit_test(test_killed_while_waiting),
        cmocka_unit_test(test_killed_after_wakeup),
        cmocka_unit_test(test_many_waiters),
        cmocka_unit_test(test_named_queue),
        cmocka_unit_test(test_named_queue_sigint),
        cmocka_unit_test(test_open_waits_forever),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
