/* forkserver.c: the fork server of startmethod.h.
 *
 * Like CPython's (Lib/multiprocessing/forkserver.py), a server process that forks
 * workers on request. CPython starts its server like a spawned worker, a fresh
 * interpreter that imports what set_forkserver_preload names (by default the main
 * module) and nothing else of the parent's; ours is forked by forkserver_start(),
 * which the program calls at the top of main(), when it is still small and has one
 * thread: the same property, a clean process to fork from.
 *
 * Parent and server talk over a socketpair (AF_UNIX, SOCK_SEQPACKET: whole messages,
 * nothing in the file system). A request is the task plus the write end of the
 * worker's result pipe, passed as a file descriptor (SCM_RIGHTS, as CPython's
 * reduction.sendfds does). The server forks, answers with the worker's pid, and when
 * the worker ends (SIGCHLD, read from a signalfd) writes its exit code into the same
 * pipe and closes it: the parent cannot waitpid a process that is not its child.
 * When the parent closes its end, the server ends its workers and exits.
 */
#include "startmethod.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t g_fs_pid;      /* the fork server, 0 if none */
static int g_fs_sock = -1;  /* our end of the socketpair */

static noreturn void serve(int sock)
{
    trace_name("forkserver");
    sigset_t chld, old;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    CHECK_PT(pthread_sigmask(SIG_BLOCK, &chld, &old));
    int sfd = signalfd(-1, &chld, SFD_CLOEXEC);
    if (sfd == -1)
        die_child("signalfd");
    signal(SIGPIPE, SIG_IGN); /* a parent that stopped listening must not kill us */
    struct { pid_t pid; int fd; } kids[128];
    int nkids = 0;
    for (;;) {
        struct pollfd p[2] = { { .fd = sock, .events = POLLIN }, { .fd = sfd, .events = POLLIN } };
        if (poll(p, 2, -1) == -1) {
            if (errno == EINTR)
                continue;
            die_child("forkserver: poll");
        }
        if (p[1].revents) { /* children ended: tell each one's parent its exit code */
            struct signalfd_siginfo si;
            if (read(sfd, &si, sizeof si) == -1 && errno != EAGAIN)
                die_child("forkserver: read(signalfd)");
            int st;
            pid_t pid;
            while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
                for (int i = 0; i < nkids; i++)
                    if (kids[i].pid == pid) {
                        int64_t code = exitcode_of(st);
                        (void)write_all(kids[i].fd, &code, sizeof code); /* EPIPE: nobody reads */
                        close(kids[i].fd);
                        kids[i] = kids[--nkids];
                        break;
                    }
        }
        if (!p[0].revents)
            continue;
        struct start_msg m;
        union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } ctl;
        struct iovec iov = { &m, sizeof m };
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                              .msg_controllen = sizeof ctl.buf };
        ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
        if (n == -1 && errno == EINTR)
            continue;
        if (n <= 0) /* the parent closed its end (or is gone): stop, with every worker */
            break;
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        if (n != (ssize_t)sizeof m || !c || c->cmsg_type != SCM_RIGHTS || nkids == (int)ARRAY_LEN(kids))
            fatal("forkserver: a bad request");
        int fd;
        memcpy(&fd, CMSG_DATA(c), sizeof fd);
        m.name[sizeof m.name - 1] = '\0';
        const struct start_task *t = start_task_find(m.name);
        int32_t reply = -1;
        if (t) {
            pid_t pid = fork_child(); /* dies if the server dies */
            if (pid == 0) {
                CHECK_PT(pthread_sigmask(SIG_SETMASK, &old, NULL));
                signal(SIGPIPE, SIG_DFL);
                close(sock);
                close(sfd);
                for (int i = 0; i < nkids; i++)
                    close(kids[i].fd);
                trace_name("fs-worker");
                uint64_t r = t->fn(m.arg);
                if (write_all(fd, &r, sizeof r) == -1)
                    die_child("forkserver worker: write the result");
                _exit(0);
            }
            kids[nkids].pid = pid;
            kids[nkids++].fd = fd;
            reply = (int32_t)pid;
        } else {
            close(fd);
        }
        if (send(sock, &reply, sizeof reply, MSG_NOSIGNAL) == -1)
            break;
    }
    for (int i = 0; i < nkids; i++) { /* the parent is done with us: end what still runs */
        kill(kids[i].pid, SIGKILL);
        waitpid(kids[i].pid, NULL, 0);
    }
    _exit(0);
}

void forkserver_start(void)
{
    if (g_fs_pid)
        return;
    int sv[2];
    CHECK_SYS(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv));
    pid_t pid = fork_child();
    if (pid == 0) {
        close(sv[0]);
        serve(sv[1]);
    }
    CHECK_SYS(close(sv[1]));
    g_fs_sock = sv[0];
    g_fs_pid = pid;
}

void forkserver_stop(void)
{
    if (!g_fs_pid)
        return;
    CHECK_SYS(close(g_fs_sock)); /* the server sees end of file and stops */
    g_fs_sock = -1;
    int status;
    if (child_wait(g_fs_pid, 5 * NS_PER_S, &status) == ETIMEDOUT) {
        CHECK_SYS(kill(g_fs_pid, SIGKILL));
        child_wait(g_fs_pid, -1, &status);
    }
    g_fs_pid = 0;
}

pid_t forkserver_pid(void)
{
    return g_fs_pid;
}

void forkserver_forget(void)
{
    if (g_fs_sock >= 0)
        close(g_fs_sock); /* in a forked child: the parent's end is the parent's */
    g_fs_sock = -1;
    g_fs_pid = 0;
}

pid_t forkserver_request(const struct start_msg *m, int result_w)
{
    forkserver_start();
    union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } ctl;
    memset(&ctl, 0, sizeof ctl);
    struct iovec iov = { (void *)m, sizeof *m };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                          .msg_controllen = sizeof ctl.buf };
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &result_w, sizeof result_w);
    if (sendmsg(g_fs_sock, &msg, MSG_NOSIGNAL) == -1)
        die("sendmsg to the fork server (pid %d)", (int)g_fs_pid);
    struct pollfd p = { .fd = g_fs_sock, .events = POLLIN };
    int n = poll(&p, 1, 10000); /* it answers at once; 10 s means something is wrong */
    int32_t pid = -1;
    if (n == 1 && recv(g_fs_sock, &pid, sizeof pid, 0) == (ssize_t)sizeof pid && pid > 0)
        return (pid_t)pid;
    fatal("the fork server (pid %d) did not start the worker%s", (int)g_fs_pid,
          n == 0 ? ": no answer in 10 s" : "");
}
