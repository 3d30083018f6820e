/* pipe_demo.c: Pipe(), a duplex channel between two processes: request and reply.
 *
 * Mirrors: parent_conn, child_conn = multiprocessing.Pipe(); conn.send(...), conn.recv(),
 * conn.poll(timeout), and the EOFError a reader gets once the other end is closed.
 *
 * What it shows:
 *   - Pipe() (duplex=True) is socketpair(AF_UNIX, SOCK_STREAM): two connected
 *     sockets, each end can send and receive. Pipe(duplex=False) is pipe(2): one end
 *     only reads, the other only writes (shown at the end: writing to a read end fails
 *     with EBADF);
 *   - a byte stream has no message boundaries, so, like Python's Connection, each
 *     message goes out as a 4-byte big-endian length and then the bytes;
 *   - the child speaks first (duplex), then answers --requests requests "square N";
 *   - poll with a timeout (conn.poll(0.1)) says "nothing yet" while the child works on
 *     a slow request, then "ready" when the reply comes;
 *   - the parent closes its end; the child's next receive sees end-of-file (Python
 *     raises EOFError) and the child exits.
 *
 * Run:  ./pipe_demo [--requests 3] [--delay 500ms]
 * Look for: replies carrying the child's pid, "poll(...) -> False", then "-> True" after
 * about --delay, and the child's "EOF" line.
 * See also: queue_bench.c (a pipe's throughput next to our queue's).
 */
#include "common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int64_t g_delay = 500 * NS_PER_MS;

/* reads exactly len bytes (common.h's read_all); false on end-of-file before the
 * first byte */
static bool read_exactly(int fd, void *buf, size_t len)
{
    ssize_t n = read_all(fd, buf, len);
    if (n == -1)
        die("read");
    if (n == 0 && len > 0)
        return false;
    if ((size_t)n < len)
        fatal("end-of-file in the middle of a message");
    return true;
}

/* conn.send_bytes(msg): the length, in network byte order, then the bytes */
static void send_msg(int fd, const char *msg)
{
    uint32_t len = htonl((uint32_t)strlen(msg));
    if (write_all(fd, &len, sizeof len) == -1 || write_all(fd, msg, strlen(msg)) == -1)
        die("write");
}

/* conn.recv_bytes(): false at end-of-file (Python's EOFError) */
static bool recv_msg(int fd, char *buf, size_t cap)
{
    uint32_t len;
    if (!read_exactly(fd, &len, sizeof len))
        return false;
    len = ntohl(len);
    if (len >= cap)
        fatal("a message of %u bytes does not fit in %zu", len, cap);
    if (!read_exactly(fd, buf, len))
        fatal("end-of-file in the middle of a message");
    buf[len] = '\0';
    return true;
}

/* conn.poll(timeout): is a message (or end-of-file) waiting? */
static bool poll_for(int fd, int64_t timeout_ns)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    struct timespec ts = ns_to_ts(timeout_ns);
    for (;;) {
        int n = ppoll(&p, 1, &ts, NULL);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1)
            die("ppoll");
        return n == 1;
    }
}

static void child(int fd)
{
    trace_name("child");
    char buf[256], reply[300];
    snprintf(reply, sizeof reply, "hello from the child, pid %d", (int)getpid());
    send_msg(fd, reply);
    for (;;) {
        if (!recv_msg(fd, buf, sizeof buf)) {
            trace("recv: end-of-file (Python: EOFError): the parent closed its end; exiting");
            return;
        }
        long n;
        if (sscanf(buf, "square %ld", &n) == 1) {
            snprintf(reply, sizeof reply, "%ld * %ld = %ld (pid %d)", n, n, n * n, (int)getpid());
        } else if (sscanf(buf, "slow %ld", &n) == 1) {
            sleep_ns(g_delay);
            snprintf(reply, sizeof reply, "%ld * %ld = %ld, slowly (pid %d)", n, n, n * n, (int)getpid());
        } else {
            snprintf(reply, sizeof reply, "what is \"%s\"?", buf);
        }
        send_msg(fd, reply);
    }
}

int main(int argc, char **argv)
{
    long requests = 3;
    const struct cli_opt opts[] = {
        { "requests", CLI_INT, &requests, "requests the parent sends", 1, 1000, "3", NULL },
        { "delay", CLI_DURATION, &g_delay, "how long the child takes over the slow request", NS_PER_MS,
          10 * NS_PER_S, "40ms", NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "Pipe(): a duplex channel (socketpair) between two processes, request and reply.",
              opts, &cli);

    trace_start();
    int sv[2];
    CHECK_SYS(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
    trace("parent_conn, child_conn = Pipe(): socketpair gave descriptors %d and %d", sv[0], sv[1]);
    pid_t pid = fork_child();
    if (pid == 0) {
        CHECK_SYS(close(sv[0])); /* the child keeps its own end only */
        child(sv[1]);
        _exit(0);
    }
    CHECK_SYS(close(sv[1]));
    int conn = sv[0];

    char buf[300];
    if (!recv_msg(conn, buf, sizeof buf))
        fatal("the child closed its end early");
    trace("recv -> \"%s\"", buf);
    for (long i = 1; i <= requests; i++) {
        char req[64];
        snprintf(req, sizeof req, "square %ld", i);
        send_msg(conn, req);
        if (!recv_msg(conn, buf, sizeof buf))
            fatal("the child closed its end early");
        trace("send \"%s\" -> recv \"%s\"", req, buf);
    }

    send_msg(conn, "slow 7");
    char tbuf[32];
    int64_t t = now_ns();
    bool ready = poll_for(conn, g_delay / 4);
    trace("send \"slow 7\"; poll(%s) -> %s after %.3fs", format_duration(g_delay / 4, tbuf, sizeof tbuf),
          ready ? "True" : "False: nothing yet", (double)(now_ns() - t) / 1e9);
    ready = poll_for(conn, g_delay + 5 * NS_PER_S);
    trace("poll(%s) -> %s after %.3fs", format_duration(g_delay + 5 * NS_PER_S, tbuf, sizeof tbuf),
          ready ? "True" : "False", (double)(now_ns() - t) / 1e9);
    if (!ready || !recv_msg(conn, buf, sizeof buf))
        fatal("no reply to the slow request");
    trace("recv -> \"%s\"", buf);

    CHECK_SYS(close(conn));
    trace("parent_conn.close()");
    int status;
    if (child_wait(pid, 5 * NS_PER_S, &status) != 0)
        fatal("the child did not notice the end-of-file");
    trace("child exitcode=%d", exitcode_of(status));

    int p[2];
    CHECK_SYS(pipe(p));
    ssize_t n = write(p[0], "x", 1);
    int err = errno;
    trace("Pipe(duplex=False) is pipe(2): writing to its read end -> %s", n == -1 ? strerror(err) : "worked?!");
    CHECK_SYS(close(p[0]));
    CHECK_SYS(close(p[1]));
    return exitcode_of(status) == 0 && n == -1 ? 0 : 1;
}
