/* queue_demo.c: the lessons' Queue(3) transcript, on a queue in shared memory.
 *
 * Mirrors:  q = multiprocessing.Queue(3); q.put(...) x3; q.full(); q.put(msg, True, 2);
 *           q.put_nowait(msg); then reading the messages back with get_nowait().
 *
 * What it shows, step by step:
 *   1. Queue(3) is a ring of three slots in a MAP_SHARED mapping, with a robust
 *      process-shared mutex (queue.c explains the layout);
 *   2. two puts, full() is false; a third put, full() is true;
 *   3. a put with a 2 s timeout sleeps on the queue's futex for puts (a deadline on
 *      CLOCK_MONOTONIC) and gives up with QUEUE_FULL, Python's queue.Full, after about
 *      2 s: the measured time is printed;
 *   4. put_nowait fails with QUEUE_FULL at once (microseconds: it never sleeps);
 *   5. the lesson's "if not q.full(): q.put_nowait(...)" is skipped;
 *   6. a *child process* drains the queue with get_nowait: the messages come out in
 *      FIFO order, through memory the parent wrote, and a last get_nowait says
 *      QUEUE_EMPTY (Python's queue.Empty). The parent then sees the child's gets in
 *      the shared counters.
 *
 * Run:  ./queue_demo                  (the lesson's 2 s timeout)
 *       ./queue_demo --timeout 200ms
 * Look for: "gave up with QUEUE_FULL after 2.000s"; put_nowait failing in microseconds;
 * messages 1, 2, 3 in order in another process.
 * See also: queue_writer_reader.c (why empty() and qsize() are only hints), mq_demo.c
 * (the same transcript on the kernel's POSIX message queue).
 */
#include "queue.h"

#include <string.h>
#include <unistd.h>

static const char *yes_no(bool b)
{
    return b ? "True" : "False";
}

static void put_traced(struct queue *q, const char *msg)
{
    int rc = queue_put(q, msg, strlen(msg), QUEUE_FOREVER);
    struct queue_stats st = queue_stats(q);
    trace("put(\"%s\") -> %s   (qsize %ld, next write slot %ld)", msg, queue_status_name(rc),
          queue_qsize(q), st.tail);
}

/* the reader: a child process with the queue inherited through fork */
static void drain(struct queue *q)
{
    trace_name("reader");
    trace("reader: qsize() says %ld; reading that many with get_nowait()", queue_qsize(q));
    long n = queue_qsize(q);
    char order[200] = "";
    for (long i = 0; i < n; i++) {
        char buf[64];
        size_t len;
        int rc = queue_get_nowait(q, buf, sizeof buf, &len);
        if (rc != QUEUE_OK)
            fatal("get_nowait: %s", queue_status_name(rc));
        trace("get_nowait() -> \"%.*s\"", (int)len, buf);
        snprintf(order + strlen(order), sizeof order - strlen(order), "%s%.*s", i ? ", " : "", (int)len, buf);
    }
    trace("read in this order: %s", order);
    char buf[64];
    size_t len;
    int64_t t = now_ns();
    int rc = queue_get_nowait(q, buf, sizeof buf, &len);
    trace("one more get_nowait() -> %s after %.1f µs (Python raises queue.Empty)", queue_status_name(rc),
          (double)(now_ns() - t) / 1e3);
    queue_detach(q); /* the child's mapping only; the parent's stays */
}

int main(int argc, char **argv)
{
    int64_t timeout = 2 * NS_PER_S;
    const struct cli_opt opts[] = {
        { "timeout", CLI_DURATION, &timeout, "how long the blocking put waits on a full queue",
          NS_PER_MS, 60 * NS_PER_S, "100ms", NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "The lessons' Queue(3) transcript, on a queue in shared memory.", opts, &cli);

    trace_start();
    struct queue *q = queue_new(3, 64);
    trace("q = Queue(3): a ring of %ld slots of <= %zu bytes in a MAP_SHARED mapping", queue_capacity(q),
          queue_max_msg(q));
    put_traced(q, "message 1");
    put_traced(q, "message 2");
    trace("full() -> %s", yes_no(queue_full(q)));
    put_traced(q, "message 3");
    trace("full() -> %s", yes_no(queue_full(q)));

    char tbuf[32];
    trace("put(\"message 4\", block=True, timeout=%s): waiting for a free slot ...",
          format_duration(timeout, tbuf, sizeof tbuf));
    int64_t t = now_ns();
    int rc = queue_put(q, "message 4", 9, timeout);
    double waited = (double)(now_ns() - t) / 1e9;
    trace("gave up with %s after %.3fs (asked %s); qsize() = %ld  (Python raises queue.Full)",
          queue_status_name(rc), waited, tbuf, queue_qsize(q));

    t = now_ns();
    rc = queue_put_nowait(q, "message 4", 9);
    trace("put_nowait(\"message 4\") -> %s after %.1f µs, without sleeping; qsize() = %ld",
          queue_status_name(rc), (double)(now_ns() - t) / 1e3, queue_qsize(q));

    if (!queue_full(q))
        queue_put_nowait(q, "message 4", 9);
    else
        trace("if not full(): put_nowait(...)  -> skipped, full() said True");

    pid_t pid = fork_child();
    if (pid == 0) {
        drain(q);
        _exit(0);
    }
    int status;
    child_wait(pid, -1, &status);
    if (exitcode_of(status) != 0)
        fatal("the reader failed: exit code %d", exitcode_of(status));
    struct queue_stats st = queue_stats(q);
    trace("parent: the reader took %llu of %llu messages; the counters live in the shared mapping",
          (unsigned long long)st.gets, (unsigned long long)st.puts);
    trace("parent: qsize() = %ld, the put with a timeout slept %llu time(s) on the queue's futex",
          queue_qsize(q), (unsigned long long)st.waits);
    queue_detach(q);
    return 0;
}
