/* process.c: a Process object over fork(2), waitpid(2) and kill(2).
 *
 * What Python does for you, spelled out:
 *  - start() forks. The child runs the target and leaves with _exit, never returning
 *    into the parent's code and never running the parent's atexit handlers (Python's
 *    child calls os._exit after the target, for the same reason).
 *  - is_alive() and join() reap the child with waitpid: a child that has ended stays
 *    a zombie (its exit status kept by the kernel) until its parent collects it.
 *  - At exit, multiprocessing terminates the daemon children and joins the others;
 *    process_at_exit() below does the same, registered with atexit() by the first start.
 *    It uses the daemon flag each child had when it started, as Python refuses to
 *    change the flag afterwards.
 *  - Names and current_process(): multiprocessing keeps a counter per process
 *    (Lib/multiprocessing/process.py, _process_counter) and gives each new Process an
 *    identity, its parent's identity plus the next count; the default name is
 *    "Process-" and the identity joined by ':'. In the child, _bootstrap makes the new
 *    Process the current one and starts the counter again at 1. So do we.
 */
#include "process.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

/* the children started and not yet reaped, for the at-exit pass, and whether each was
 * a daemon when it started */
static struct process *g_children[64];
static bool g_daemonic[64];
static size_t g_nchildren;

/* this process, as current_process() shows it, and its count of children started */
static struct process g_main = { .name = "MainProcess" };
static struct process *g_current = &g_main;
static unsigned g_counter;

static void forget(struct process *p)
{
    for (size_t i = 0; i < g_nchildren; i++)
        if (g_children[i] == p) {
            g_nchildren--;
            g_children[i] = g_children[g_nchildren];
            g_daemonic[i] = g_daemonic[g_nchildren];
            return;
        }
}

static void finish(struct process *p, int status)
{
    p->finished = true;
    p->exitcode = exitcode_of(status);
    forget(p);
}

static void process_at_exit(void)
{
    for (size_t i = 0; i < g_nchildren; i++)
        if (g_daemonic[i] && process_is_alive(g_children[i]))
            process_terminate(g_children[i]);
    while (g_nchildren > 0) /* process_join removes the child from the list */
        process_join(g_children[0], -1);
}

void process_start(struct process *p)
{
    static bool registered;
    if (p->pid != 0)
        fatal("process_start: %s was already started", p->name ? p->name : "the process");
    if (g_nchildren == ARRAY_LEN(g_children))
        fatal("process_start: more than %zu children", ARRAY_LEN(g_children));
    if (!registered) {
        if (atexit(process_at_exit) != 0)
            fatal("atexit failed");
        registered = true;
    }
    /* the identity: ours, then the count ("2", or "2:1" in the child Process-2) */
    unsigned count = ++g_counter;
    int n = snprintf(p->identity, sizeof p->identity, "%s%s%u", g_current->identity,
                     g_current->identity[0] ? ":" : "", count);
    if (n < 0 || (size_t)n >= sizeof p->identity)
        fatal("process_start: processes nested too deep for a name (%s:%u)", g_current->identity, count);
    if (!p->name) {
        snprintf(p->default_name, sizeof p->default_name, "Process-%s", p->identity);
        p->name = p->default_name;
    }
    p->parent = getpid();
    pid_t pid = fork_child(); /* flushes stdio; the child dies if we die */
    if (pid == 0) {
        /* what _bootstrap does: this Process is now the current one, with a fresh
         * count and none of the parent's children */
        p->pid = getpid();
        g_current = p;
        g_counter = 0;
        g_nchildren = 0;
        trace_name(p->name);
        int code = p->target(p->arg);
        process_at_exit(); /* the child's own children: as Python's child does at its end */
        fflush(stdout);
        _exit(code);
    }
    p->pid = pid;
    p->finished = false;
    g_daemonic[g_nchildren] = p->daemon;
    g_children[g_nchildren++] = p;
}

int process_set_daemon(struct process *p, bool daemon)
{
    if (p->pid != 0)
        return EBUSY; /* Python: AssertionError('process has already started') */
    p->daemon = daemon;
    return 0;
}

const struct process *process_current(void)
{
    if (g_current == &g_main) { /* the main record: this process, whatever its pid */
        g_main.pid = getpid();
        g_main.parent = getppid();
    }
    return g_current;
}

bool process_is_alive(struct process *p)
{
    if (p->pid == 0 || p->finished)
        return false;
    int status;
    pid_t r = waitpid(p->pid, &status, WNOHANG);
    if (r == -1)
        die("waitpid(%d)", (int)p->pid);
    if (r == 0)
        return true; /* still running */
    finish(p, status);
    return false;
}

void process_join(struct process *p, int64_t timeout_ns)
{
    if (p->pid == 0)
        fatal("process_join: %s was never started", p->name);
    if (p->finished)
        return;
    int status;
    if (child_wait(p->pid, timeout_ns, &status) == 0)
        finish(p, status);
}

void process_terminate(struct process *p)
{
    if (p->pid == 0 || p->finished)
        return;
    if (kill(p->pid, SIGTERM) == -1 && errno != ESRCH) /* ESRCH: gone already */
        die("kill(%d, SIGTERM)", (int)p->pid);
}

int64_t process_split_sum(uint64_t n, int procs, process_part_fn *part, void *arg, uint64_t *sum)
{
    if (procs < 1 || procs > PROCESS_SPLIT_MAX)
        fatal("process_split_sum: %d processes (1..%d)", procs, PROCESS_SPLIT_MAX);
    pid_t *pids = malloc((size_t)procs * sizeof *pids);
    if (!pids)
        die("malloc");
    int fds[2];
    CHECK_SYS(pipe(fds));
    int64_t t = now_ns();
    for (int p = 0; p < procs; p++) {
        uint64_t from = n * (uint64_t)p / (uint64_t)procs, to = n * (uint64_t)(p + 1) / (uint64_t)procs;
        pids[p] = fork_child(); /* dies with us if we are interrupted */
        if (pids[p] == 0) {
            uint64_t s = part(from, to, arg);
            /* 8 bytes is far below PIPE_BUF: each write lands whole, never mixed */
            if (write(fds[1], &s, sizeof s) != (ssize_t)sizeof s)
                die_child("write");
            _exit(0);
        }
    }
    CHECK_SYS(close(fds[1]));
    *sum = 0;
    for (int p = 0; p < procs; p++) {
        uint64_t s;
        if (read(fds[0], &s, sizeof s) != (ssize_t)sizeof s)
            die("read partial sum %d of %d", p + 1, procs);
        *sum += s;
    }
    for (int p = 0; p < procs; p++) {
        int status;
        child_wait(pids[p], -1, &status);
        if (exitcode_of(status) != 0)
            fatal("worker %d ended with exit code %d", (int)pids[p], exitcode_of(status));
    }
    t = now_ns() - t;
    CHECK_SYS(close(fds[0]));
    free(pids);
    return t;
}
