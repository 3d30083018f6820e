/* process_basics.c: the life of a child process, Python's Process API in C.
 *
 * Mirrors: multiprocessing.Process(target=aaa, name="aaa_process", args=(5,)) with
 * start(), is_alive(), join(timeout), join(), terminate() and exitcode.
 *
 * What it shows, step by step (each line is stamped with time, pid and name):
 *   1. the parent's pid and ppid (the shell's pid);
 *   2. a child named aaa_process counts to 5 with a pause between counts, printing its
 *      pid and ppid, which is the parent's pid; the kernel knows it by that name too
 *      (/proc/PID/comm is what `ps` prints);
 *   3. join with a timeout returns while the child still runs: is_alive stays yes;
 *   4. a full join reaps it: exit code 0;
 *   5. terminate() sends SIGTERM to a child that would loop forever: exit code -15,
 *      Python's way of saying "killed by signal 15";
 *   6. a child whose target returns 3 (sys.exit(3) in Python): exit code 3.
 *
 * Run:  ./process_basics            (pauses of 0.5 s, as in the lesson)
 *       ./process_basics --step 50ms
 * Look for: the same pid on both sides of the fork (the child's ppid), join(timeout)
 * coming back on time with the child alive, and the two kinds of exit code.
 * See also: process_daemon.c (what happens to children when the parent ends).
 */
#include "process.h"

#include <string.h>
#include <unistd.h>

static int64_t g_step = 500 * NS_PER_MS;

struct count_args {
    int n;
};

/* the target of aaa_process: count to n, pausing between counts */
static int count_up(void *arg)
{
    const struct count_args *a = arg;
    trace("child: my pid is %d, my parent's is %d", (int)getpid(), (int)getppid());
    for (int i = 1; i <= a->n; i++) {
        trace("count %d of %d", i, a->n);
        sleep_ns(g_step);
    }
    return 0;
}

static int loop_forever(void *arg)
{
    (void)arg;
    trace("looping until somebody stops me");
    for (int i = 0; i < 1000; i++) /* "forever", but bounded all the same */
        sleep_ns(g_step);
    return 1;
}

static int exit_three(void *arg)
{
    (void)arg;
    trace("returning 3, as sys.exit(3) would");
    return 3;
}

/* the name the kernel has for a process: what ps prints in its COMMAND column */
static const char *kernel_name(pid_t pid, char *buf, size_t len)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        die("fopen %s", path);
    if (!fgets(buf, (int)len, f))
        die("read %s", path);
    fclose(f);
    buf[strcspn(buf, "\n")] = '\0';
    return buf;
}

static const char *yes_no(bool b)
{
    return b ? "yes" : "no";
}

int main(int argc, char **argv)
{
    const struct cli_opt opts[] = {
        { "step", CLI_DURATION, &g_step, "pause between the child's counts", NS_PER_MS, 10 * NS_PER_S, "20ms", NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv,
              "A child process from start to exit code: Python's Process API over fork,\n"
              "waitpid and kill.", opts, &cli);

    trace_start();
    trace("parent: my pid is %d, my parent's is %d (the shell, or whatever ran me)", (int)getpid(), (int)getppid());

    struct count_args five = { .n = 5 };
    struct process aaa = { .name = "aaa_process", .target = count_up, .arg = &five };
    trace("before start: is_alive=%s, pid=none", yes_no(process_is_alive(&aaa)));
    process_start(&aaa);
    trace("started %s: pid %d, is_alive=%s", aaa.name, (int)aaa.pid, yes_no(process_is_alive(&aaa)));

    int64_t t = now_ns();
    process_join(&aaa, 2 * g_step);
    bool alive = process_is_alive(&aaa); /* no: it ended (on a very busy machine) and is reaped */
    char code[16] = "none yet";
    if (!alive)
        snprintf(code, sizeof code, "%d", aaa.exitcode);
    trace("join(timeout=%.2fs) came back after %.2fs: is_alive=%s, exitcode=%s",
          (double)(2 * g_step) / 1e9, (double)(now_ns() - t) / 1e9, yes_no(alive), code);
    if (alive) { /* not reaped: its /proc entry is there, even if it has just ended */
        char comm[32];
        trace("the kernel knows pid %d as \"%s\" (/proc/%d/comm, what ps shows)", (int)aaa.pid,
              kernel_name(aaa.pid, comm, sizeof comm), (int)aaa.pid);
    }
    process_join(&aaa, -1);
    trace("join() came back after %.2fs: is_alive=%s, exitcode=%d", (double)(now_ns() - t) / 1e9,
          yes_no(process_is_alive(&aaa)), aaa.exitcode);

    struct process looper = { .name = "looper", .target = loop_forever };
    process_start(&looper);
    sleep_ns(g_step);
    process_terminate(&looper);
    trace("terminate() sent SIGTERM to %s (pid %d)", looper.name, (int)looper.pid);
    process_join(&looper, -1);
    trace("%s: exitcode=%d (minus the signal number: killed by SIGTERM)", looper.name, looper.exitcode);

    struct process three = { .name = "exit_three", .target = exit_three };
    process_start(&three);
    process_join(&three, -1);
    trace("%s: exitcode=%d", three.name, three.exitcode);
    return 0;
}
