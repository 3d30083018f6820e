/* process_daemon.c: what happens to children when their parent ends.
 *
 * Mirrors: Process(daemon=True) versus the default daemon=False, and the lesson's
 * "the main process waits for its children unless they are daemons".
 *
 * Part 1, C on its own: nothing waits. A parent that returns from main leaves its
 * child running, an orphan, and the kernel gives the orphan a new parent: the nearest
 * "subreaper" (this program makes itself one with PR_SET_CHILD_SUBREAPER so it can
 * watch), or else pid 1. The orphan sees its ppid change.
 *
 * Part 2, Python's rule, which is a library's at-exit handler (multiprocessing's
 * _exit_function), done here by process.c: when main returns, daemon children are
 * terminated and the others are joined. A daemon child that ticks forever is cut off
 * (exit code -15) at the moment main returns; a non-daemon worker finishes its four
 * ticks first, and the program ends only then.
 *
 * Run:  ./process_daemon [--step 200ms]
 * Look for: the orphan's "my parent is now <pid of this program>", the daemon's ticks
 * stopping when main returns, and the worker's going on until tick 4.
 * Bounded: every child ends within a few steps, and an interrupted run leaves none.
 * See also: process_basics.c.
 */
#include "process.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static int64_t g_step = 500 * NS_PER_MS;

/* ---- part 1: an orphan ---- */

static void orphan(pid_t top)
{
    pid_t parent = getppid();
    trace_name("orphan");
    trace("my parent is %d", (int)parent);
    int64_t give_up = now_ns() + 10 * g_step;
    while (getppid() == parent) { /* poll until the parent has gone */
        if (now_ns() > give_up)
            _exit(1);
        sleep_ns(NS_PER_MS);
    }
    /* Our new parent is the subreaper: die with it too, as the other children do. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0UL, 0UL, 0UL) == -1)
        die_child("prctl(PR_SET_PDEATHSIG)");
    if (getppid() != top)
        _exit(1);
    trace("my parent ended; my parent is now %d (the subreaper; else it would be pid 1)", (int)getppid());
    sleep_ns(g_step);
    trace("done");
    fflush(stdout);
    _exit(0);
}

static void part1(void)
{
    pid_t top = getpid();
    if (prctl(PR_SET_CHILD_SUBREAPER, 1UL, 0UL, 0UL, 0UL) == -1)
        die("prctl(PR_SET_CHILD_SUBREAPER)");
    trace("part 1: a parent that returns without waiting; this program (pid %d) is the subreaper", (int)top);

    pid_t middle = fork_child();
    if (middle == 0) {
        trace_name("parent");
        /* a plain fork, without fork_child's death signal: this child must outlive us */
        fflush(stdout);
        pid_t kid = fork();
        if (kid == -1)
            die_child("fork");
        if (kid == 0)
            orphan(top);
        sleep_ns(g_step);
        trace("returning from main without waiting for %d", (int)kid);
        fflush(stdout);
        _exit(0);
    }
    int status;
    child_wait(middle, -1, &status);
    /* the orphan is our child now: wait for any child */
    pid_t r;
    while ((r = waitpid(-1, &status, 0)) == -1 && errno == EINTR)
        ;
    if (r == -1)
        die("waitpid(-1)");
    trace("reaped the orphan, pid %d, exit code %d", (int)r, exitcode_of(status));
    if (prctl(PR_SET_CHILD_SUBREAPER, 0UL, 0UL, 0UL, 0UL) == -1)
        die("prctl(PR_SET_CHILD_SUBREAPER)");
}

/* ---- part 2: daemon and non-daemon children ---- */

struct ticker {
    int ticks;
};

static int tick(void *arg)
{
    const struct ticker *t = arg;
    for (int i = 1; i <= t->ticks; i++) {
        trace("tick %d of %d", i, t->ticks);
        sleep_ns(g_step);
    }
    trace("finished");
    return 0;
}

static struct ticker g_forever = { .ticks = 1000 }, g_four = { .ticks = 4 };
static struct process g_daemon = { .name = "daemon_child", .target = tick, .arg = &g_forever, .daemon = true };
static struct process g_worker = { .name = "worker", .target = tick, .arg = &g_four };

/* Registered before the first process_start, so atexit runs it after process.c's
 * handler has terminated the daemon and joined the worker. */
static void report_at_exit(void)
{
    trace("after the at-exit pass: %s exitcode=%d (terminated), %s exitcode=%d (joined)",
          g_daemon.name, g_daemon.exitcode, g_worker.name, g_worker.exitcode);
}

int main(int argc, char **argv)
{
    const struct cli_opt opts[] = {
        { "step", CLI_DURATION, &g_step, "the children's tick", NS_PER_MS, 10 * NS_PER_S, "20ms", NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv,
              "Orphans, and daemon versus non-daemon children when the parent ends.", opts, &cli);
    trace_start();
    part1();

    trace("part 2: a daemon child and a non-daemon worker, then main returns");
    if (atexit(report_at_exit) != 0)
        fatal("atexit failed");
    process_start(&g_daemon);
    process_start(&g_worker);
    sleep_ns(2 * g_step + g_step / 2);
    trace("main is done and returns: daemons are terminated, the others joined");
    return 0;
}
