/* startmethod.c: fork, spawn and forkserver (see startmethod.h).
 *
 * The result of every worker comes back through a pipe, 8 bytes; end of file on the
 * pipe means the worker has ended.
 *
 * fork: pipe, fork; the child looks its task up in its copy of the table, runs it,
 *   writes the result, _exit. The parent reaps it with waitpid.
 *
 * spawn: like CPython's (Lib/multiprocessing/popen_spawn_posix.py), two pipes and a new
 *   program: posix_spawn() runs this very program again (/proc/self/exe, read once at
 *   start) with the arguments `--spawned-worker PARENT_PID`, its fd 3 the task pipe and
 *   fd 4 the result pipe; every other descriptor is close-on-exec. The parent writes
 *   the task (its name and argument: CPython pickles the Process object into the pipe)
 *   and the worker's startmethod_main() reads it, runs it and writes the result. glibc's
 *   posix_spawn uses clone(CLONE_VM | CLONE_VFORK): the parent's memory is not copied,
 *   so the cost does not grow with it (CPython's _posixsubprocess uses vfork too).
 *
 * forkserver: like CPython's (Lib/multiprocessing/forkserver.py), a server process that
 *   forks workers on request. CPython starts its server with spawn, a fresh interpreter
 *   that imports only what set_forkserver_preload names; ours is forked by
 *   forkserver_start(), which the program calls at the top of main(), when it
 *   is still small and has one thread: the same property, a clean process to fork
 *   from. Parent and server talk over a socketpair (AF_UNIX, SOCK_SEQPACKET: whole
 *   messages, nothing in the file system). A request is the task plus the write end of
 *   the worker's result pipe, passed as a file descriptor (SCM_RIGHTS, as CPython's
 *   reduction.sendfds does). The server forks, answers with the worker's pid, and when
 *   the worker ends (SIGCHLD, read from a signalfd) writes its exit code into the same
 *   pipe and closes it: the parent cannot waitpid a process that is not its child.
 */
#include "startmethod.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

extern char **environ;

struct task_msg {
    char name[32];
    uint64_t arg;
};

static const struct start_task *g_tasks;
static char g_exe[PATH_MAX];
static pid_t g_fs_pid;      /* the fork server, 0 if none */
static int g_fs_sock = -1;  /* our end of the socketpair */

static const struct start_task *find_task(const char *name)
{
    for (const struct start_task *t = g_tasks; t && t->name; t++)
        if (strcmp(t->name, name) == 0)
            return t;
    return NULL;
}

void startmethod_main(int argc, char **argv, const struct start_task *tasks)
{
    g_tasks = tasks;
    if (argc >= 3 && strcmp(argv[1], "--spawned-worker") == 0) { /* a spawned worker */
        long parent = strtol(argv[2], NULL, 10);
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0UL, 0UL, 0UL) == -1)
            die("prctl(PR_SET_PDEATHSIG)");
        if (getppid() != (pid_t)parent) /* run by hand, or the parent is gone already */
            fatal("--spawned-worker: not started by pid %ld (spawn uses this option)", parent);
        struct task_msg m;
        if (read_all(3, &m, sizeof m) != (ssize_t)sizeof m)
            die("spawned worker: read the task from fd 3");
        m.name[sizeof m.name - 1] = '\0';
        const struct start_task *t = find_task(m.name);
        if (!t)
            fatal("spawned worker: no task named \"%s\"", m.name);
        uint64_t r = t->fn(m.arg);
        if (write_all(4, &r, sizeof r) == -1)
            die("spawned worker: write the result to fd 4");
        exit(0);
    }
    ssize_t n = readlink("/proc/self/exe", g_exe, sizeof g_exe - 1);
    if (n == -1)
        die("readlink(/proc/self/exe)");
    g_exe[n] = '\0';
}

const char *start_method_name(enum start_method m)
{
    static const char *const names[] = { "fork", "spawn", "forkserver" };
    return m < START_METHODS ? names[m] : "?";
}

/* a close-on-exec pipe whose ends are not fds 3 and 4 (which the spawned worker's
 * dup2 targets; dup2 onto itself would keep the close-on-exec flag) */
static void make_pipe(int fds[2])
{
    CHECK_SYS(pipe2(fds, O_CLOEXEC));
    for (int i = 0; i < 2; i++)
        if (fds[i] <= 4) {
            int hi = fcntl(fds[i], F_DUPFD_CLOEXEC, 5);
            if (hi == -1)
                die("fcntl(F_DUPFD_CLOEXEC)");
            CHECK_SYS(close(fds[i]));
            fds[i] = hi;
        }
}

/* ---- the fork server ---- */

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
        struct task_msg m;
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
        const struct start_task *t = find_task(m.name);
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

/* ---- starting a worker ---- */

static pid_t start_spawn(const struct task_msg *m, int result_w)
{
    int task[2];
    make_pipe(task);
    posix_spawn_file_actions_t fa;
    CHECK_PT(posix_spawn_file_actions_init(&fa));
    CHECK_PT(posix_spawn_file_actions_adddup2(&fa, task[0], 3));
    CHECK_PT(posix_spawn_file_actions_adddup2(&fa, result_w, 4));
    char parent[24];
    snprintf(parent, sizeof parent, "%d", (int)getpid());
    char *argv[] = { g_exe, "--spawned-worker", parent, NULL };
    fflush(stdout); /* the new program has its own buffers: what we wrote must be out */
    pid_t pid;
    int rc = posix_spawn(&pid, g_exe, &fa, NULL, argv, environ);
    if (rc != 0)
        die_en(rc, "posix_spawn(%s)", g_exe);
    CHECK_PT(posix_spawn_file_actions_destroy(&fa));
    /* write while we still hold a read end: no SIGPIPE even if the worker died */
    if (write_all(task[1], m, sizeof *m) == -1)
        die("write the task to the spawned worker");
    CHECK_SYS(close(task[0]));
    CHECK_SYS(close(task[1]));
    return pid;
}

static pid_t start_forkserver(const struct task_msg *m, int result_w)
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

void start_worker(enum start_method m, const char *task, uint64_t arg, struct worker *w)
{
    const struct start_task *t = find_task(task);
    if (!t)
        fatal("start_worker: no task named \"%s\" (did main() call startmethod_main?)", task);
    struct task_msg msg = { .arg = arg };
    snprintf(msg.name, sizeof msg.name, "%s", task);
    int res[2];
    make_pipe(res);
    memset(w, 0, sizeof *w);
    w->method = m;
    switch (m) {
    case START_FORK:
        w->pid = fork_child();
        if (w->pid == 0) {
            if (g_fs_sock >= 0)
                close(g_fs_sock); /* the server's end-of-file must not wait for us */
            close(res[0]);
            uint64_t r = t->fn(arg);
            if (write_all(res[1], &r, sizeof r) == -1)
                die_child("forked worker: write the result");
            _exit(0);
        }
        break;
    case START_SPAWN:
        w->pid = start_spawn(&msg, res[1]);
        break;
    case START_FORKSERVER:
        w->pid = start_forkserver(&msg, res[1]);
        break;
    case START_METHODS:
        fatal("start_worker: no such method");
    }
    CHECK_SYS(close(res[1])); /* now only the worker (and the server) hold it */
    w->fd = res[0];
}

int worker_wait(struct worker *w, int64_t timeout_ns)
{
    if (w->done)
        return 0;
    int64_t deadline = deadline_in(timeout_ns);
    while (w->fd >= 0) { /* read until end of file: the result, then (forkserver) the code */
        struct pollfd p = { .fd = w->fd, .events = POLLIN };
        int64_t left = ns_left(deadline);
        struct timespec ts = ns_to_ts(left);
        int n = ppoll(&p, 1, deadline == NO_DEADLINE ? NULL : &ts, NULL);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1)
            die("ppoll(result pipe)");
        if (n == 0)
            return ETIMEDOUT;
        ssize_t r = read(w->fd, w->buf + w->got, sizeof w->buf - w->got);
        if (r == -1 && errno == EINTR)
            continue;
        if (r == -1)
            die("read(result pipe)");
        if (r == 0 || w->got + (size_t)r == sizeof w->buf) {
            w->got += (size_t)r;
            CHECK_SYS(close(w->fd));
            w->fd = -1;
        } else {
            w->got += (size_t)r;
        }
    }
    size_t results = w->got;
    if (w->method == START_FORKSERVER) { /* the server's 8 bytes come last */
        int64_t code;
        if (w->got < sizeof code)
            fatal("the fork server sent no exit code for worker %d", (int)w->pid);
        memcpy(&code, w->buf + w->got - sizeof code, sizeof code);
        w->exitcode = (int)code;
        results -= sizeof code;
    } else {
        /* end of file came as the worker exited: it is reapable within microseconds,
         * so give it a moment even when the deadline has just passed */
        int status;
        int64_t t = deadline == NO_DEADLINE ? -1 : ns_left(deadline) + NS_PER_S;
        if (child_wait(w->pid, t, &status) == ETIMEDOUT)
            return ETIMEDOUT;
        w->exitcode = exitcode_of(status);
    }
    w->has_result = results == sizeof w->result;
    if (w->has_result)
        memcpy(&w->result, w->buf, sizeof w->result);
    w->done = true;
    return 0;
}
