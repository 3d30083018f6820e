/* solutions/late_wakeup.c: exercise 1 of chapter 02 (queues).
 *
 * The question: queue.c's put wakes a sleeping consumer *before* it commits the message
 * (see queue_put). Had it woken after the commit, which death, at which instant, would
 * leave a consumer asleep next to a message until its once-a-second look? And which
 * death does that already today?
 *
 * The answer: with the wake after the commit, a producer killed between the two: the
 * message is in the queue, the consumer asleep, and the lock's owner dead. A robust
 * mutex tells the next process that *takes the lock*, and the sleeping consumer takes
 * nothing until its look, up to a second later (LOOK_NS). Waking first closes that
 * window: if the producer dies after the wake, the consumer is already on its way to
 * the lock, finds the owner dead and repairs; if it dies before, the message was never
 * committed. Today one death still costs a look: a consumer killed after it was woken,
 * before it took the lock back. The wake-up dies with it, and another consumer sleeps
 * on beside the message.
 *
 * What it does: kills a process at three of queue_test_hook's points, each while a
 * consumer sleeps in get(), and times how long that consumer takes to get a message
 * put right after the death:
 *   1. a producer at "put:copied": the lock held, nobody woken, nothing committed;
 *   2. a producer at "put:woke": the consumer woken, the message not committed;
 *   3. with two consumers asleep, the one woken for a message, at "wait:woken".
 *
 * Run:  solutions/late_wakeup
 * Look for: cases 1 and 2 served at once, case 3 after up to a second.
 */
#include "../queue.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *g_stop_at;
static int g_tell_fd;

/* In a child: at g_stop_at, tell the parent our pid and wait to be killed. */
static void stop_here(const char *point)
{
    if (strcmp(point, g_stop_at) != 0)
        return;
    pid_t me = getpid();
    if (write_all(g_tell_fd, &me, sizeof me) == -1)
        die_child("write");
    for (;;)
        pause();
}

static pid_t read_pid(int fd)
{
    pid_t pid;
    if (read_all(fd, &pid, sizeof pid) != (ssize_t)sizeof pid)
        fatal("a child did not report");
    return pid;
}

/* A consumer: one get of up to 10 s; exit 0 if it got a message. Stops at `stop_at`. */
static pid_t consumer(struct queue *q, const char *stop_at, int tell_fd)
{
    pid_t pid = fork_child();
    if (pid == 0) {
        g_stop_at = stop_at;
        g_tell_fd = tell_fd;
        queue_test_hook = stop_at ? stop_here : NULL;
        char buf[16];
        size_t len;
        _exit(queue_get(q, buf, sizeof buf, &len, 10 * NS_PER_S) == QUEUE_OK ? 0 : 1);
    }
    return pid;
}

/* Until the queue has counted n sleeps and `pid` sleeps in the kernel. */
static void wait_asleep(struct queue *q, uint64_t n, pid_t pid)
{
    char path[64], state = 0;
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    for (int64_t end = deadline_in(10 * NS_PER_S); ns_left(end) > 0; sleep_ns(NS_PER_MS)) {
        FILE *f = fopen(path, "r");
        if (!f)
            die("fopen %s", path);
        int ok = fscanf(f, "%*d (%*[^)]) %c", &state);
        fclose(f);
        if (ok == 1 && state == 'S' && queue_stats(q).waits >= n)
            return;
    }
    fatal("process %d did not fall asleep in its get", (int)pid);
}

static void kill_and_reap(pid_t pid)
{
    int status;
    CHECK_SYS(kill(pid, SIGKILL));
    child_wait(pid, -1, &status);
}

/* Times a sleeping consumer's get of the message put at the start: ms. */
static double served_after(struct queue *q, pid_t consumer_pid)
{
    int64_t t0 = now_ns();
    if (queue_put(q, "next", 4, NS_PER_S) != QUEUE_OK)
        fatal("put after the death failed");
    int status;
    if (child_wait(consumer_pid, 10 * NS_PER_S, &status) != 0 || exitcode_of(status) != 0)
        fatal("the consumer did not get the message");
    return (double)(now_ns() - t0) / 1e6;
}

int main(int argc, char **argv)
{
    struct cli cli = { 0 };
    cli_parse(argc, argv, "Exercise 1: which death leaves a consumer asleep next to a message?", NULL, &cli);
    int fds[2];
    CHECK_SYS(pipe(fds));
    static const char *const point[2] = { "put:copied", "put:woke" };
    for (int k = 0; k < 2; k++) { /* cases 1 and 2: a producer dies inside its put */
        struct queue *q = queue_new(4, 16);
        pid_t c = consumer(q, NULL, -1);
        wait_asleep(q, 1, c);
        pid_t p = fork_child();
        if (p == 0) {
            g_stop_at = point[k];
            g_tell_fd = fds[1];
            queue_test_hook = stop_here;
            queue_put(q, "lost", 4, NS_PER_S);
            _exit(1); /* not reached */
        }
        read_pid(fds[0]);
        kill_and_reap(p);
        double ms = served_after(q, c);
        printf("%d. a producer killed at %-11s the sleeping consumer got the next message after %6.1f ms "
               "(repairs: %llu)\n", k + 1, point[k], ms, (unsigned long long)queue_stats(q).owner_deaths);
        queue_detach(q);
    }
    /* case 3: two consumers asleep; the one woken for a message dies before it can take it */
    struct queue *q = queue_new(4, 16);
    pid_t c[2];
    for (int i = 0; i < 2; i++) {
        c[i] = consumer(q, "wait:woken", fds[1]);
        wait_asleep(q, (uint64_t)i + 1, c[i]);
    }
    int64_t t0 = now_ns();
    if (queue_put(q, "wake", 4, NS_PER_S) != QUEUE_OK)
        fatal("put failed");
    pid_t woken = read_pid(fds[0]);
    kill_and_reap(woken);
    pid_t other = woken == c[0] ? c[1] : c[0];
    int status;
    if (child_wait(other, 10 * NS_PER_S, &status) != 0 || exitcode_of(status) != 0)
        fatal("the other consumer did not get the message");
    printf("3. a consumer killed at wait:woken  the other consumer got the message after %6.1f ms "
           "(it slept on beside it until its once-a-second look)\n", (double)(now_ns() - t0) / 1e6);
    queue_detach(q);
    CHECK_SYS(close(fds[0]));
    CHECK_SYS(close(fds[1]));
    return 0;
}
