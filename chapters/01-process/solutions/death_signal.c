/* solutions/death_signal.c: exercise 1 of chapter 01 (processes), "predict before you
 * run".
 *
 * The question: process_basics starts its looper with fork_child(). Kill the program
 * with kill -9 while the looper runs: does the looper die with it, or live on? And a
 * child made with a bare fork()?
 *
 * The answer: the fork_child() one dies at once, the bare one lives on. kill -9 runs
 * nothing in the dying program (no signal handler, no atexit, no Python finalizer), so
 * only the kernel can act, and only if it was asked beforehand: fork_child asks it with
 * prctl(PR_SET_PDEATHSIG, SIGKILL), "kill me when my parent dies". The bare child is
 * simply re-parented: to the nearest subreaper, else to pid 1, and runs on. (Python's
 * daemon flag cannot help here either: it is honoured by the parent's at-exit handler,
 * which a SIGKILL never runs.)
 *
 * What it does: makes itself a subreaper, so that orphans come to it and it can watch
 * and reap them; forks a "program" that starts two loopers, one with fork_child() and
 * one with a bare fork(); SIGKILLs the program; after --wait looks at both loopers in
 * /proc; then ends the survivor. The bare looper ends itself if this whole program goes
 * (its parent is then neither the program nor us), so no run leaves it behind; a real
 * orphan would run on.
 *
 * Run:  solutions/death_signal [--wait 100ms]
 * Look for: "fork_child ...: gone" and "bare fork ...: still running, its parent now".
 */
#include "common.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t g_bare; /* the bare looper, for the SIGINT clean-up */

static void kill_bare(void)
{
    if (g_bare > 0)
        kill((pid_t)g_bare, SIGKILL);
}

/* A looper: sleeps in 10 ms steps while its parent is `a` or `b`. */
static noreturn void loop_while_parent(pid_t a, pid_t b)
{
    for (int i = 0; i < 3000; i++) { /* 30 s at most, whatever happens */
        pid_t pp = getppid();
        if (pp != a && pp != b)
            _exit(0);
        sleep_ns(10 * NS_PER_MS);
    }
    _exit(0);
}

/* "R (running)" or "S (sleeping)" and the parent, from /proc/PID/stat */
static int proc_state(pid_t pid, char *state, pid_t *ppid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int pp = 0, n = fscanf(f, "%*d (%*[^)]) %c %d", state, &pp);
    fclose(f);
    *ppid = pp;
    return n == 2 ? 0 : -1;
}

int main(int argc, char **argv)
{
    int64_t wait = 100 * NS_PER_MS;
    const struct cli_opt opts[] = {
        { "wait", CLI_DURATION, &wait, "how long after the kill to look", 10 * NS_PER_MS, 10 * NS_PER_S, "50ms",
          NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "Exercise 1: kill -9 a program; which of its children die with it?", opts, &cli);
    on_termination(kill_bare);
    CHECK_SYS(prctl(PR_SET_CHILD_SUBREAPER, 1UL, 0UL, 0UL, 0UL));
    pid_t me = getpid();
    int fds[2];
    CHECK_SYS(pipe(fds));

    pid_t program = fork_child(); /* the program that gets kill -9 */
    if (program == 0) {
        pid_t self = getpid(), kids[2];
        kids[0] = fork_child(); /* like process_basics' looper */
        if (kids[0] == 0)
            loop_while_parent(self, self);
        kids[1] = fork(); /* no death signal */
        if (kids[1] == -1)
            die_child("fork");
        if (kids[1] == 0)
            loop_while_parent(self, me);
        if (write_all(fds[1], kids, sizeof kids) == -1)
            die_child("write");
        for (;;)
            pause(); /* until the kill */
    }
    CHECK_SYS(close(fds[1]));
    pid_t kids[2];
    if (read_all(fds[0], kids, sizeof kids) != (ssize_t)sizeof kids)
        fatal("the program did not report its children");
    CHECK_SYS(close(fds[0]));
    g_bare = kids[1];
    printf("the program, pid %d, started two loopers: pid %d with fork_child(), pid %d with a bare fork()\n",
           (int)program, (int)kids[0], (int)kids[1]);

    CHECK_SYS(kill(program, SIGKILL)); /* kill -9 */
    int status;
    child_wait(program, -1, &status);
    printf("kill -9 %d: the program ended with exit code %d\n", (int)program, exitcode_of(status));
    sleep_ns(wait);

    static const char *const how[2] = { "fork_child()  (PR_SET_PDEATHSIG)", "a bare fork() (no death signal)" };
    for (int k = 0; k < 2; k++) {
        /* both are ours now (we are the subreaper): a dead one is our zombie */
        pid_t r = waitpid(kids[k], &status, WNOHANG);
        if (r == -1)
            die("waitpid(%d)", (int)kids[k]);
        char state;
        pid_t ppid;
        if (r == kids[k])
            printf("looper started with %s: gone, ended by %s, %.0f ms after its parent\n", how[k],
                   WIFSIGNALED(status) ? sigabbrev_np(WTERMSIG(status)) : "exit", (double)wait / 1e6);
        else if (proc_state(kids[k], &state, &ppid) == 0)
            printf("looper started with %s: still running (state %c), its parent now %d (%s)\n", how[k], state,
                   (int)ppid, ppid == me ? "this program, the subreaper; without one it would be pid 1" : "?");
    }
    CHECK_SYS(kill(kids[1], SIGKILL)); /* the survivor, which would otherwise run on */
    child_wait(kids[1], -1, &status);
    g_bare = 0;
    printf("killed and reaped the survivor: only a death signal set up in advance ends a child with its parent\n");
    return 0;
}
