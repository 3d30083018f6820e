/* queue_killed.c: a process killed while it holds the queue's lock.
 *
 * Mirrors: a multiprocessing.Queue shared by several processes, one of which dies in
 * the middle of a put (SIGKILL, the OOM killer, a crash). Python's documentation warns
 * that a process killed while it uses a queue may leave the queue unusable for the
 * others; this program shows why, and what it takes to make it otherwise.
 *
 * One source, built twice:
 *   queue_killed_simple   linked with queue_simple.c: a plain process-shared mutex
 *   queue_killed          linked with queue.c: a robust mutex
 * The steps:
 *   1. the parent puts "message 1" into a queue of 4 slots;
 *   2. a victim process puts "message 2"; a test hook stops it inside the put (the
 *      message copied into its slot, not yet committed, the lock held), and the parent
 *      kills it with SIGKILL;
 *   3. a consumer process gets twice and a producer process puts "message 3", each get
 *      and put with a timeout of --timeout;
 *   4. the parent gives them --limit to finish.
 * With queue_simple.c nobody will ever unlock the lock: the consumer and the producer
 * sleep in pthread_mutex_lock, which their timeouts do not reach. After --limit the
 * parent reports what the kernel says each is doing (/proc/PID/wchan), kills them and
 * exits 1. With queue.c the consumer's lock call returns EOWNERDEAD and repairs the
 * queue: it gets "message 1", then "message 3"; "message 2" was never committed and is
 * gone, as if the put had never begun. Exit 0.
 *
 * Run:  ./queue_killed_simple      (exits 1 after --limit, 3 s: the hang, reported)
 *       ./queue_killed
 * Look for: "still stuck after 3s", asleep in a futex wait, "exit status 1"; then with
 * queue.c "repaired after 1 owner death" and the messages 1 and 3.
 * See also: queue_simple.c, queue.c (where a process can die, and what happens then).
 */
#include "queue.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#ifdef QUEUE_SIMPLE
#define WHICH "queue_simple.c, a plain process-shared mutex"
#else
#define WHICH "queue.c, a robust process-shared mutex"
#endif

static int64_t g_timeout = NS_PER_S;
static int g_told = -1; /* the victim writes here when it stops */

/* queue_test_hook in the victim: stop inside the put, holding the lock */
static void stop_here(const char *point)
{
    if (strcmp(point, "put:copied") != 0)
        return;
    trace("put(\"message 2\"): copied into its slot, not yet committed; stopping, the lock held");
    if (write(g_told, "!", 1) != 1)
        die_child("write(pipe)");
    for (;;)
        pause();
}

static void get_traced(struct queue *q, char *buf, size_t cap, size_t *len)
{
    char tbuf[32];
    trace("get(timeout=%s) ...", format_duration(g_timeout, tbuf, sizeof tbuf));
    int rc = queue_get(q, buf, cap, len, g_timeout);
    if (rc != QUEUE_OK)
        *len = 0;
    trace("get(timeout=%s) -> %s \"%.*s\"", tbuf, queue_status_name(rc), (int)*len, buf);
}

static pid_t start(struct queue *q, const char *name)
{
    pid_t pid = fork_child();
    if (pid != 0)
        return pid;
    trace_name(name);
    char a[32] = "", b[32] = "";
    size_t na = 0, nb = 0;
    if (strcmp(name, "producer") == 0) {
        char tbuf[32];
        trace("put(\"message 3\", timeout=%s) ...", format_duration(g_timeout, tbuf, sizeof tbuf));
        int rc = queue_put(q, "message 3", 9, g_timeout);
        trace("put(\"message 3\", timeout=%s) -> %s", tbuf, queue_status_name(rc));
        _exit(rc == QUEUE_OK ? 0 : 2);
    }
    get_traced(q, a, sizeof a, &na);
    get_traced(q, b, sizeof b, &nb);
    _exit(na == 9 && memcmp(a, "message 1", 9) == 0 && nb == 9 && memcmp(b, "message 3", 9) == 0 ? 0 : 2);
}

/* what the kernel says a process is asleep in ("0" when it is running) */
static const char *wchan(pid_t pid, char *buf, size_t len)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/wchan", (int)pid);
    snprintf(buf, len, "?");
    int fd = open(path, O_RDONLY);
    if (fd >= 0) {
        ssize_t n = read(fd, buf, len - 1);
        buf[n > 0 ? n : 0] = '\0';
        close(fd);
    }
    return buf;
}

int main(int argc, char **argv)
{
    int64_t limit = 3 * NS_PER_S;
    const struct cli_opt opts[] = {
        { "timeout", CLI_DURATION, &g_timeout, "the timeout of each get and put after the kill", NS_PER_MS,
          10 * NS_PER_S, "100ms", NULL },
        { "limit", CLI_DURATION, &limit, "how long the parent waits for them before it calls it a hang",
          10 * NS_PER_MS, 60 * NS_PER_S, "500ms", NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "A process killed while it holds the queue's lock: does the queue survive?", opts, &cli);
    if (limit < 2 * g_timeout)
        cli_error("--limit must be at least twice --timeout (the consumer may wait twice)");

    trace_start();
    struct queue *q = queue_new(4, 32);
    trace("q = a queue of 4 slots on %s", WHICH);
    trace("put(\"message 1\") -> %s", queue_status_name(queue_put(q, "message 1", 9, QUEUE_FOREVER)));

    int fds[2];
    CHECK_SYS(pipe(fds));
    pid_t victim = fork_child();
    if (victim == 0) {
        trace_name("victim");
        g_told = fds[1];
        queue_test_hook = stop_here;
        queue_put(q, "message 2", 9, QUEUE_FOREVER);
        _exit(3); /* not reached */
    }
    struct pollfd p = { .fd = fds[0], .events = POLLIN };
    char x;
    if (poll(&p, 1, 10000) != 1 || read(fds[0], &x, 1) != 1)
        fatal("the victim did not reach its stop within 10 s");
    CHECK_SYS(kill(victim, SIGKILL));
    int status;
    child_wait(victim, -1, &status);
    trace("kill(%d, SIGKILL): the victim died holding the queue's lock", (int)victim);
    CHECK_SYS(close(fds[0]));
    CHECK_SYS(close(fds[1]));

    const char *names[2] = { "consumer", "producer" };
    pid_t pids[2] = { start(q, names[0]), start(q, names[1]) };
    int64_t deadline = deadline_in(limit);
    int stuck = 0, failed = 0;
    for (int i = 0; i < 2; i++) {
        if (child_wait(pids[i], ns_left(deadline), &status) == 0) {
            failed += exitcode_of(status) != 0;
            continue;
        }
        char w[64], lbuf[32], tbuf[32];
        trace("%s (pid %d) still stuck after %s, its %s timeout long past: asleep in the kernel at %s",
              names[i], (int)pids[i], format_duration(limit, lbuf, sizeof lbuf),
              format_duration(g_timeout, tbuf, sizeof tbuf), wchan(pids[i], w, sizeof w));
        stuck++;
    }
    if (stuck) {
        for (int i = 0; i < 2; i++)
            if (kill(pids[i], SIGKILL) == 0)
                child_wait(pids[i], -1, &status);
        trace("the dead victim still owns the lock and nobody will ever unlock it: every process that");
        trace("touches the queue sleeps in pthread_mutex_lock for good, whatever its timeout");
        trace("exit status 1: %d process(es) hung (queue_killed, on queue.c, survives this)", stuck);
        queue_detach(q); /* only unmaps: takes no lock */
        return 1;
    }
#ifndef QUEUE_SIMPLE
    trace("both finished; the queue was repaired after %llu owner death(s): \"message 2\" was never "
          "committed, and is gone",
          (unsigned long long)queue_stats(q).owner_deaths);
#endif
    trace("%s", failed ? "SOMETHING WENT WRONG: see the lines above" : "the queue survived the death of its lock's owner");
    queue_detach(q);
    return failed ? 1 : 0;
}
