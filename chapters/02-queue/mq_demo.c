/* mq_demo.c: the Queue(3) transcript on the kernel's own queue, a POSIX message queue.
 *
 * Mirrors: the same steps as queue_demo.c (q = Queue(3); three puts; full(); a put
 * with a 2 s timeout; put_nowait; reading back), done with mq_open, mq_send,
 * mq_timedsend and mq_receive instead of our shared-memory ring.
 *
 * What it shows:
 *   - the kernel keeps the messages; the queue has a name (/wb-mq-PID) and, where the
 *     mqueue file system is mounted, shows up as a file under /dev/mqueue whose
 *     contents are its state (QSIZE: the bytes queued);
 *   - mq_maxmsg = 3 makes it Queue(3); mq_getattr's mq_curmsgs is qsize();
 *   - mq_timedsend on a full queue gives up with ETIMEDOUT after the timeout. Its
 *     deadline is an absolute CLOCK_REALTIME time, so setting the wall clock moves it
 *     (our queue's timed waits use CLOCK_MONOTONIC and cannot be moved);
 *   - a descriptor opened with O_NONBLOCK fails with EAGAIN at once;
 *   - the parent reads message 1 (FIFO), sends an urgent message into the free slot, and
 *     a child process drains the rest: FIFO for messages of one priority, but unlike
 *     multiprocessing.Queue, a message queue orders by priority first: a message sent
 *     with priority 1 overtakes those sent with 0;
 *   - the name is removed at exit and on SIGINT/SIGTERM; the kernel frees the queue
 *     when the last descriptor closes.
 *
 * Run:  ./mq_demo [--timeout 2s]
 * Look for: "gave up with ETIMEDOUT after 2.000s", EAGAIN at once; message 1 first, then
 * the urgent message overtaking messages 2 and 3.
 * See also: queue_demo.c (the same on our queue), queue_bench.c (how fast each is).
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char g_name[64];

static void remove_name(void)
{
    mq_unlink(g_name); /* a system call, like unlink: safe in a signal handler */
}

static long qsize(mqd_t mq)
{
    struct mq_attr a;
    CHECK_SYS(mq_getattr(mq, &a));
    return a.mq_curmsgs;
}

static void send_traced(mqd_t mq, const char *msg, unsigned prio)
{
    /* bounded, as every wait in the workbook: a full queue here would be a bug */
    struct timespec deadline = deadline_after(CLOCK_REALTIME, NS_PER_S);
    if (mq_timedsend(mq, msg, strlen(msg), prio, &deadline) == -1)
        die("mq_timedsend(\"%s\")", msg);
    trace("send(\"%s\", priority %u) -> ok   (mq_curmsgs %ld)", msg, prio, qsize(mq));
}

/* the kernel's own view of the queue, if /dev/mqueue is mounted */
static void show_mqueue_file(void)
{
    char path[96], line[256] = "";
    snprintf(path, sizeof path, "/dev/mqueue%s", g_name);
    FILE *f = fopen(path, "r");
    if (!f) {
        trace("(no %s: the mqueue file system is not mounted here)", path);
        return;
    }
    if (fgets(line, sizeof line, f))
        line[strcspn(line, "\n")] = '\0';
    fclose(f);
    char *out = line; /* squeeze the padding: "QSIZE:27 NOTIFY:0 ..." */
    for (char *p = line; *p; p++)
        if (*p != ' ' || (out > line && out[-1] != ' '))
            *out++ = *p;
    while (out > line && out[-1] == ' ')
        out--;
    *out = '\0';
    trace("cat %s -> %s", path, line);
}

int main(int argc, char **argv)
{
    int64_t timeout = 2 * NS_PER_S;
    const struct cli_opt opts[] = {
        { "timeout", CLI_DURATION, &timeout, "how long mq_timedsend waits on a full queue", NS_PER_MS,
          60 * NS_PER_S, "100ms", NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "The Queue(3) transcript on a POSIX message queue (mq_open, mq_timedsend).", opts,
              &cli);

    trace_start();
    snprintf(g_name, sizeof g_name, "/wb-mq-%d", (int)getpid());
    on_termination(remove_name);
    if (atexit(remove_name) != 0)
        fatal("atexit failed");
    struct mq_attr attr = { .mq_maxmsg = 3, .mq_msgsize = 64 };
    mqd_t mq = mq_open(g_name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
    if (mq == (mqd_t)-1)
        die("mq_open(%s, O_CREAT | O_EXCL)", g_name);
    trace("mq_open(\"%s\", maxmsg=3, msgsize=64): the kernel holds the messages", g_name);

    send_traced(mq, "message 1", 0);
    send_traced(mq, "message 2", 0);
    trace("full? mq_curmsgs %ld of 3 -> False", qsize(mq));
    send_traced(mq, "message 3", 0);
    trace("full? mq_curmsgs %ld of 3 -> True", qsize(mq));
    show_mqueue_file();

    char tbuf[32];
    format_duration(timeout, tbuf, sizeof tbuf);
    trace("mq_timedsend(\"message 4\", deadline = CLOCK_REALTIME now + %s) ...", tbuf);
    struct timespec deadline = deadline_after(CLOCK_REALTIME, timeout);
    int64_t t = now_ns();
    int rc = mq_timedsend(mq, "message 4", 9, 0, &deadline);
    int err = errno;
    double waited = (double)(now_ns() - t) / 1e9;
    if (rc == 0 || err != ETIMEDOUT)
        fatal("mq_timedsend on a full queue: expected ETIMEDOUT, got %s", rc == 0 ? "success" : strerror(err));
    trace("gave up with ETIMEDOUT after %.3fs (asked %s); mq_curmsgs %ld", waited, tbuf, qsize(mq));

    mqd_t nb = mq_open(g_name, O_WRONLY | O_NONBLOCK);
    if (nb == (mqd_t)-1)
        die("mq_open(%s, O_NONBLOCK)", g_name);
    t = now_ns();
    rc = mq_send(nb, "message 4", 9, 0);
    err = errno;
    if (rc == 0 || err != EAGAIN)
        fatal("non-blocking mq_send on a full queue: expected EAGAIN, got %s", rc == 0 ? "success" : strerror(err));
    trace("mq_send on an O_NONBLOCK descriptor -> EAGAIN after %.1f µs, without sleeping",
          (double)(now_ns() - t) / 1e3);
    CHECK_SYS(mq_close(nb));

    /* make room for one urgent message: the reader will see it first */
    char buf[64];
    unsigned prio;
    ssize_t n = mq_receive(mq, buf, sizeof buf, &prio);
    if (n < 0)
        die("mq_receive");
    trace("mq_receive -> \"%.*s\": the oldest message, and room for one more", (int)n, buf);
    send_traced(mq, "urgent", 1);

    pid_t pid = fork_child();
    if (pid == 0) { /* the child inherits the descriptor, like any file descriptor */
        trace_name("reader");
        long left = qsize(mq);
        trace("reader: mq_curmsgs says %ld", left);
        for (long i = 0; i < left; i++) {
            n = mq_receive(mq, buf, sizeof buf, &prio);
            if (n < 0)
                die_child("mq_receive");
            trace("mq_receive -> \"%.*s\" (priority %u)", (int)n, buf, prio);
        }
        _exit(0);
    }
    int status;
    child_wait(pid, -1, &status);
    if (exitcode_of(status) != 0)
        fatal("the reader failed: exit code %d", exitcode_of(status));
    CHECK_SYS(mq_close(mq));
    CHECK_SYS(mq_unlink(g_name));
    trace("mq_unlink(\"%s\"): the name is gone; the queue went with its last descriptor", g_name);
    return 0;
}
