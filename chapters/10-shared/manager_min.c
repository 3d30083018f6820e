/* manager_min.c: the smallest manager: a server process that owns a dict, and clients
 * in other processes that call it over a Unix socket. The whole idea in one page.
 *
 * Mirrors: d = multiprocessing.Manager().dict(); d[key] = value in worker processes;
 * the parent reads d afterwards.
 *
 * The dict lives in one process only, the server. Nobody else can touch its memory;
 * they send it requests: a message with an operation, a key, a value; the server does
 * the work and sends a reply. Every call is a round trip to another process. Here:
 *   - the server is forked; it listens on a Unix socket in Linux's abstract namespace
 *     (a name that starts with a NUL byte: no file, nothing to clean up);
 *   - SOCK_SEQPACKET keeps message boundaries: one send, one whole message received;
 *   - requests and replies are one fixed-size struct; the server answers them one at
 *     a time, from poll(), in a single thread;
 *   - three workers connect and each sets d["worker-N"]; the parent reads them back,
 *     then asks the server to stop.
 * What it leaves out (manager.c adds it): a queue whose get() can block, a list,
 * timeouts, error replies, and any care for a server that dies or stops answering:
 * here a call to a dead server dies with the error, and one to a stuck server hangs.
 *
 * Run:  ./manager_min
 * Look for: each worker's pid in the dict the parent reads, set in another process.
 * See also: manager.c (the robust manager), manager_demo.c.
 */
#include "common.h"

#include <poll.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

enum { SET, GET, STOP };
struct msg { /* a request, and the reply to it */
    int op;
    int found;
    char key[32];
    char value[64];
};

static struct sockaddr_un g_addr;
static socklen_t g_addrlen;

/* ---- the server: owns the dict, answers one request at a time ---- */
static noreturn void serve(int listener)
{
    struct { char key[32], value[64]; } dict[64];
    int n = 0;
    struct pollfd fds[16] = { { .fd = listener, .events = POLLIN } };
    int nfds = 1;
    trace_name("manager");
    for (;;) {
        if (poll(fds, (nfds_t)nfds, -1) == -1)
            die_child("poll");
        if ((fds[0].revents & POLLIN) && nfds < 16) { /* a new client */
            int fd = accept(listener, NULL, NULL);
            if (fd == -1)
                die_child("accept");
            fds[nfds++] = (struct pollfd){ .fd = fd, .events = POLLIN };
        }
        for (int i = 1; i < nfds; i++) {
            struct msg m;
            if (!fds[i].revents)
                continue;
            if (recv(fds[i].fd, &m, sizeof m, 0) != sizeof m) { /* the client closed */
                close(fds[i].fd);
                fds[i--] = fds[--nfds];
                continue;
            }
            int k = 0;
            while (k < n && strcmp(dict[k].key, m.key) != 0)
                k++;
            m.found = k < n;
            if (m.op == SET && k == n && n < 64)
                strcpy(dict[n++].key, m.key);
            if (m.op == SET && k < 64)
                strcpy(dict[k].value, m.value);
            if (m.op == GET && m.found)
                strcpy(m.value, dict[k].value);
            if (send(fds[i].fd, &m, sizeof m, MSG_NOSIGNAL) != sizeof m)
                die_child("send the reply");
            if (m.op == STOP)
                _exit(0);
        }
    }
}

/* ---- the client side: a connection, and a call = send a request, wait for the reply */
static int connect_to_manager(void)
{
    int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    if (fd == -1 || connect(fd, (struct sockaddr *)&g_addr, g_addrlen) == -1)
        die("connect to the manager");
    return fd;
}

static void call(int fd, struct msg *m)
{
    if (send(fd, m, sizeof *m, MSG_NOSIGNAL) != sizeof *m || recv(fd, m, sizeof *m, 0) != sizeof *m)
        die("call the manager");
}

int main(int argc, char **argv)
{
    struct cli cli = { 0 };
    cli_parse(argc, argv, "The smallest manager: a server process owns a dict; workers set keys over a socket.",
              NULL, &cli);
    trace_start();
    g_addr.sun_family = AF_UNIX; /* sun_path[0] stays '\0': the abstract namespace */
    int len = snprintf(g_addr.sun_path + 1, sizeof g_addr.sun_path - 1, "wb-manager-min-%d", (int)getpid());
    g_addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)len);
    int listener = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    if (listener == -1 || bind(listener, (struct sockaddr *)&g_addr, g_addrlen) == -1 || listen(listener, 16) == -1)
        die("listen on @%s", g_addr.sun_path + 1);
    pid_t server = fork_child();
    if (server == 0)
        serve(listener);
    CHECK_SYS(close(listener));
    trace("manager: pid %d, listening at @%s", (int)server, g_addr.sun_path + 1);

    pid_t workers[3];
    for (int i = 0; i < 3; i++) {
        workers[i] = fork_child();
        if (workers[i] == 0) {
            trace_name("worker");
            int fd = connect_to_manager();
            struct msg m = { .op = SET };
            snprintf(m.key, sizeof m.key, "worker-%d", i);
            snprintf(m.value, sizeof m.value, "set by pid %d", (int)getpid());
            call(fd, &m);
            trace("d[\"%s\"] = \"%s\"", m.key, m.value);
            _exit(0);
        }
    }
    for (int i = 0; i < 3; i++)
        child_wait(workers[i], -1, NULL);

    int fd = connect_to_manager();
    for (int i = 0; i < 4; i++) {
        struct msg m = { .op = GET };
        snprintf(m.key, sizeof m.key, "worker-%d", i);
        call(fd, &m);
        trace("parent: d[\"%s\"] -> %s", m.key, m.found ? m.value : "(no such key)");
    }
    struct msg stop = { .op = STOP };
    call(fd, &stop);
    CHECK_SYS(close(fd));
    int status;
    child_wait(server, -1, &status);
    trace("manager stopped: exit code %d", exitcode_of(status));
    return 0;
}
