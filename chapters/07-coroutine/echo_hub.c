/* echo_hub.c: an echo server on the hub, many connections at once on one thread.
 *
 * Mirrors: what gevent is for. The lesson's point that a coroutine "switches to
 * another greenlet when it meets I/O, and comes back when the I/O is done": a
 * server written as if each connection had its own blocking thread, running on a
 * single thread.
 *
 *     # gevent                                   C, on the hub
 *     def handle(conn):                          static void *handle(void *arg)
 *         while data := conn.recv(4096):             while ((n = co_read(fd, buf, ..)) > 0)
 *             conn.sendall(data)                         co_write(fd, buf, n);
 *     while True:                                for (i = 0; i < clients; i++)
 *         conn, _ = listener.accept()                fd = co_accept(lfd, ...);
 *         gevent.spawn(handle, conn)                 hub_spawn(handle, ...);
 *
 * What it does: the server listens on 127.0.0.1 at a port the kernel picks (port 0),
 * then forks a client process. The client (echo_client.c), on a hub of its own, opens
 * --clients connections at once, and on each sends --messages messages of random
 * sizes (1 to --size bytes, a pattern that differs per connection and message), reads
 * every reply back in full and compares it byte for byte. The server accepts exactly
 * --clients connections, spawns a task per connection, and counts how many are open
 * at the same moment: all of them, on one thread, each task blocked in its own
 * co_read while the hub waits in epoll for whichever socket has data.
 *
 * Bounded: the client gives up after --timeout, the server waits at most a little
 * longer, and either way the client process is reaped. Giving up is done the hub's
 * way: hub_cancel_wait wakes every task still blocked on a socket with ETIMEDOUT, so
 * each one returns through its own cleanup (co_close, free) instead of being dropped
 * with its memory. Loopback only; nothing is left behind (the client dies with the
 * server: see fork_child).
 *
 * Run:  ./echo_hub [--clients 500] [--messages 100] [--size 1000] [--timeout 20s]
 * Look for: "peak N connections open at once" with N = --clients, and "0 wrong".
 * See also: echo_client.c (the client), hub.c (co_read, co_accept...), gevent_demo.c.
 */
#include "common.h"
#include "echo_client.h"
#include "hub.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static long g_clients = 500, g_messages = 100, g_size = 1000;
static int64_t g_timeout = 20 * NS_PER_S;

/* ---- the server ---- */

struct server {
    int lfd;
    int *fd;            /* each connection's socket, -1 once closed */
    long open, peak, accepted, failed;
    uint64_t bytes, reads;
};

struct conn {
    struct server *s;
    long i;
};

static void *handle(void *arg)
{
    struct conn *c = arg;
    struct server *s = c->s;
    int fd = s->fd[c->i];
    char buf[4096];
    ssize_t n;
    if (++s->open > s->peak)
        s->peak = s->open;
    while ((n = co_read(fd, buf, sizeof buf)) > 0) {
        s->bytes += (uint64_t)n;
        s->reads++;
        if (co_write(fd, buf, (size_t)n) != n) {
            n = -1;
            break;
        }
    }
    if (n < 0)
        s->failed++;
    s->open--;
    s->fd[c->i] = -1;
    CHECK_SYS(co_close(fd)); /* the hub forgets it, then close(2) */
    free(c);
    return NULL;
}

static void *acceptor(void *arg)
{
    struct server *s = arg;
    struct hub_task **t = calloc((size_t)g_clients, sizeof *t);
    if (!t)
        die("calloc");
    int rc = 0;
    long n;
    for (n = 0; n < g_clients; n++) {
        int fd = co_accept(s->lfd, NULL, NULL);
        if (fd == -1) { /* main cancelled the wait: the clients are late */
            rc = errno;
            trace("server: accept: %s", strerror(rc));
            break;
        }
        struct conn *c = malloc(sizeof *c);
        if (!c)
            die("malloc");
        *c = (struct conn){ .s = s, .i = n };
        s->fd[n] = fd;
        s->accepted++;
        t[n] = hub_spawn(handle, c);
        if (!t[n])
            die("hub_spawn");
        if (n == 0 || n + 1 == g_clients)
            trace("server: accepted connection %ld of %ld", n + 1, g_clients);
    }
    int jrc = hub_joinall(t, (size_t)n, g_timeout);
    if (jrc != 0) {
        /* wake every connection still blocked in co_read or co_write: each fails with
         * ETIMEDOUT and ends the usual way (it closes its socket, frees its record) */
        trace("server: connections still open after the timeout: cancelling their waits");
        for (long i = 0; i < n; i++)
            if (s->fd[i] >= 0)
                hub_cancel_wait(s->fd[i], ETIMEDOUT);
        if (hub_joinall(t, (size_t)n, NS_PER_S) != 0)
            fatal("server: a connection did not end after its wait was cancelled");
        rc = jrc;
    }
    free(t);
    return (void *)(intptr_t)rc;
}

/* each side holds one socket per client: make sure the limit allows it */
static void enough_descriptors(long need)
{
    struct rlimit rl;
    CHECK_SYS(getrlimit(RLIMIT_NOFILE, &rl));
    if ((rlim_t)need <= rl.rlim_cur)
        return;
    if ((rlim_t)need > rl.rlim_max)
        fatal("%ld clients need %ld descriptors, but the hard limit is %lu (ulimit -Hn)", g_clients,
              need, (unsigned long)rl.rlim_max);
    rl.rlim_cur = (rlim_t)need;
    CHECK_SYS(setrlimit(RLIMIT_NOFILE, &rl));
}

int main(int argc, char **argv)
{
    const struct cli_opt opts[] = {
        { "clients", CLI_INT, &g_clients, "connections open at once", 1, 20000, "20", NULL },
        { "messages", CLI_INT, &g_messages, "messages per connection", 1, 1000000, "10", NULL },
        { "size", CLI_INT, &g_size, "largest message (bytes)", 1, 1 << 20, "200", NULL },
        { "timeout", CLI_DURATION, &g_timeout, "the client gives up after this long",
          100 * NS_PER_MS, 600 * NS_PER_S, NULL, NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv,
              "An echo server on the hub, serving many loopback connections at once on one\n"
              "thread, and a client process that checks every reply.", opts, &cli);

    enough_descriptors(g_clients + 64);
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) /* a peer gone: let write say EPIPE */
        die("signal(SIGPIPE)");
    trace_start();

    struct server s = { 0 };
    s.lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s.lfd == -1)
        die("socket");
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t alen = sizeof addr;
    CHECK_SYS(bind(s.lfd, (struct sockaddr *)&addr, sizeof addr)); /* port 0: any free one */
    CHECK_SYS(getsockname(s.lfd, (struct sockaddr *)&addr, &alen));
    CHECK_SYS(listen(s.lfd, SOMAXCONN));
    trace("server: listening on 127.0.0.1:%d (one thread, one hub)", ntohs(addr.sin_port));

    /* fork before either side makes its hub: each process gets its own */
    pid_t pid = fork_child();
    if (pid == 0) {
        CHECK_SYS(close(s.lfd));
        struct echo_load load = { g_clients, g_messages, g_size, g_timeout };
        int code = echo_clients(addr, &load);
        fflush(stdout);
        _exit(code);
    }

    s.fd = calloc((size_t)g_clients, sizeof *s.fd);
    if (!s.fd)
        die("calloc");
    int64_t t0 = now_ns();
    struct hub_task *acc = hub_spawn(acceptor, &s);
    if (!acc)
        die("hub_spawn");
    void *res = NULL;
    int rc = hub_join(acc, g_timeout + 5 * NS_PER_S, &res);
    if (rc == ETIMEDOUT) { /* still accepting: the clients never all came */
        hub_cancel_wait(s.lfd, ETIMEDOUT);
        rc = hub_join(acc, -1, &res); /* it ends within its own timeout now */
    }
    double secs = (double)(now_ns() - t0) / 1e9;
    if (rc == 0 && res == NULL)
        trace("server: all %ld connections served and closed; peak %ld connections open at once; "
              "%lu reads, %lu bytes echoed in %.3f s", s.accepted, s.peak, (unsigned long)s.reads,
              (unsigned long)s.bytes, secs);
    else
        trace("server: gave up after %.1f s with %ld of %ld connections accepted", secs, s.accepted, g_clients);
    hub_close();
    CHECK_SYS(close(s.lfd));
    free(s.fd);

    int status;
    if (child_wait(pid, 5 * NS_PER_S, &status) != 0) {
        trace("server: the client did not end: killing it");
        CHECK_SYS(kill(pid, SIGKILL));
        child_wait(pid, -1, &status);
    }
    int code = exitcode_of(status);
    trace("server: the client exited with %d%s", code, code == 0 ? " (every reply was right)" : "");
    return code == 0 && rc == 0 && res == NULL && s.failed == 0 ? 0 : 1;
}
