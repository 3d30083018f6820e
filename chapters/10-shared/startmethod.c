/* startmethod.c: fork and spawn, and the common part of the three start methods (see
 * startmethod.h); the fork server is in forkserver.c.
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
 *   so the cost does not grow with it.
 *
 * forkserver: start_worker sends the request to the server (forkserver.c); the server
 *   forks the worker, and writes its exit code into the result pipe after the result.
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
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

extern char **environ;

static const struct start_task *g_tasks;
static char g_exe[PATH_MAX];

const struct start_task *start_task_find(const char *name)
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
        struct start_msg m;
        if (read_all(3, &m, sizeof m) != (ssize_t)sizeof m)
            die("spawned worker: read the task from fd 3");
        m.name[sizeof m.name - 1] = '\0';
        const struct start_task *t = start_task_find(m.name);
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
void start_pipe(int fds[2])
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

/* ---- starting a worker ---- */

static pid_t start_spawn(const struct start_msg *m, int result_w)
{
    int task[2];
    start_pipe(task);
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

void start_worker(enum start_method m, const char *task, uint64_t arg, struct worker *w)
{
    const struct start_task *t = start_task_find(task);
    if (!t)
        fatal("start_worker: no task named \"%s\" (did main() call startmethod_main?)", task);
    struct start_msg msg = { .arg = arg };
    snprintf(msg.name, sizeof msg.name, "%s", task);
    int res[2];
    start_pipe(res);
    memset(w, 0, sizeof *w);
    w->method = m;
    switch (m) {
    case START_FORK:
        w->pid = fork_child();
        if (w->pid == 0) {
            forkserver_forget(); /* the server's end of file must not wait for us */
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
        w->pid = forkserver_request(&msg, res[1]);
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
