/* thread_daemon.c: what ends a thread, and what "daemon" means in C.
 *
 * Mirrors: Thread(target=..., daemon=True) and setDaemon(True) against the default,
 * and the lesson's rule "the main thread waits for its threads to finish, unless they
 * are daemons, which die with it".
 *
 * C has no daemon flag. Its rules are the process's:
 *   - returning from main calls exit(), which ends the process, and every thread in
 *     it, at once: in C every thread is a daemon;
 *   - pthread_exit() in main ends only the main thread: the process lives on until its
 *     last thread ends, then exits with status 0;
 *   - a detached thread (pthread_detach) is one nobody will join: its resources are
 *     freed as soon as it ends. It is not a daemon in either sense: it still dies
 *     when main returns.
 * Python's rule is a step the interpreter runs after the main module ends: join every
 * non-daemon thread (threading._shutdown), then exit, which ends the daemons.
 * thread.c's thread_shutdown() is that step.
 *
 * Each scenario runs in a child process of its own (so that each can end "its" main);
 * in each, a worker ticks once per step, and the parent reports how long the child
 * lived. A tick line's thread name says which worker it is.
 *   1. C's rule: main returns after the worker's second tick; the worker stops there.
 *   2. Python's rule: py_worker (daemon=False, 4 ticks) is joined; py_daemon (daemon=
 *      True, would tick 1000 times) is cut off when main returns after that join.
 *   3. pthread_exit from main: the worker finishes its 4 ticks, the process exits 0.
 *   4. A detached thread: cut off like the worker of scenario 1.
 *
 * Under ThreadSanitizer scenario 3 is skipped (TSan's own background thread never
 * ends, so such a process would never end), and TSan's habit of sleeping 1 s in
 * exit() is turned off below, since it would let the workers of 1 and 4 go on.
 *
 * Run:  ./thread_daemon [--step 200ms]
 * Look for: the ticks that stop short and those that finish, and each child's life
 * time. Bounded: every worker ticks a fixed number of times, and each child is given
 * a deadline; an interrupted run leaves no child behind.
 * See also: thread_basics.c, ../01-process/process_daemon.c (the same for processes).
 */
#include "thread.h"

#include <errno.h>
#include <semaphore.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

/* ThreadSanitizer's exit() sleeps 1 s by default "to let other threads finish": here
 * that would hide the very thing shown, so it is turned off (an environment variable
 * TSAN_OPTIONS still has the last word). Without TSan nobody calls this. */
const char *__tsan_default_options(void);
const char *__tsan_default_options(void)
{
    return "atexit_sleep_ms=0";
}

static int64_t g_step = 500 * NS_PER_MS;
static sem_t g_ticked; /* posted after every tick, so main can wait for "tick 2" */

struct ticker {
    int ticks;
};

static void tick(void *arg)
{
    const struct ticker *t = arg;
    for (int i = 1; i <= t->ticks; i++) {
        sleep_ns(g_step);
        trace("tick %d of %d", i, t->ticks);
        CHECK_SYS(sem_post(&g_ticked));
    }
}

static void wait_ticks(int n)
{
    for (int i = 0; i < n; i++)
        while (sem_wait(&g_ticked) == -1)
            if (errno != EINTR)
                die("sem_wait");
}

/* 1: C's rule. In a child; returning from here is main returning. */
static void c_rule(void)
{
    /* static: the worker outlives this function by a moment (exit() runs after it
     * returns), and must not read a stack frame that is gone */
    static struct ticker five = { 5 };
    static struct thread worker = { .name = "worker", .target = tick, .arg = &five };
    thread_start(&worker);
    wait_ticks(2);
    trace("main returns now: exit() ends the process and the worker with it");
}

/* 2: Python's rule */
static void python_rule(void)
{
    static struct ticker four = { 4 }, forever = { 1000 };
    static struct thread worker = { .name = "py_worker", .target = tick, .arg = &four };
    static struct thread daemon = { .name = "py_daemon", .target = tick, .arg = &forever, .daemon = true };
    thread_start(&worker);
    thread_start(&daemon);
    trace("main's own code is done; thread_shutdown() joins the non-daemon threads");
    thread_shutdown();
    trace("joined py_worker; main returns now: py_daemon dies with the process");
}

/* 3: pthread_exit from main */
static void main_exits_alone(void)
{
#ifdef WB_TSAN
    trace("scenario 3 skipped under ThreadSanitizer: its own background thread never ends, so");
    trace("a process whose main thread calls pthread_exit would never end either");
    return;
#endif
    static struct ticker four = { 4 };
    static struct thread worker = { .name = "late_worker", .target = tick, .arg = &four };
    thread_start(&worker);
    trace("main calls pthread_exit(): only the main thread ends; the process goes on");
    pthread_exit(NULL); /* the last thread to end calls exit(0) */
}

/* 4: a detached thread, made with pthreads directly (thread.c's threads are joinable) */
static void *detached_main(void *arg)
{
    trace_name("detached");
    tick(arg);
    return NULL;
}

static void detached_thread(void)
{
    static struct ticker five = { 5 };
    pthread_attr_t attr;
    pthread_t id;
    CHECK_PT(pthread_attr_init(&attr));
    CHECK_PT(pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED));
    CHECK_PT(pthread_create(&id, &attr, detached_main, &five));
    CHECK_PT(pthread_attr_destroy(&attr));
    wait_ticks(2);
    trace("main returns now: detached or not, the thread ends with the process");
}

struct scenario {
    const char *title;
    void (*run)(void);
};

/* Runs one scenario in a child process; its main is the child's main. */
static void run_scenario(int n, const struct scenario *s)
{
    trace("scenario %d: %s", n, s->title);
    int64_t t = now_ns();
    pid_t pid = fork_child();
    if (pid == 0) {
        CHECK_SYS(sem_init(&g_ticked, 0, 0));
        s->run();
        exit(0); /* what returning from main does */
    }
    int status;
    /* The longest worker ends after 5 ticks; a daemon left running (1000 ticks) would
     * mean the scenario is broken: give up long before it would end. */
    int64_t limit = 20 * g_step + 5 * NS_PER_S;
    if (child_wait(pid, limit, &status) == ETIMEDOUT) {
        CHECK_SYS(kill(pid, SIGKILL));
        child_wait(pid, -1, &status);
        fatal("scenario %d did not end in time", n);
    }
    trace("scenario %d: the process lived %.2fs (%.1f steps), exit code %d", n,
          (double)(now_ns() - t) / 1e9, (double)(now_ns() - t) / (double)g_step, exitcode_of(status));
}

int main(int argc, char **argv)
{
    const struct cli_opt opts[] = {
        { "step", CLI_DURATION, &g_step, "time between ticks", NS_PER_MS, NS_PER_S, "20ms", NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "What ends a thread: return from main, pthread_exit, join at exit\n"
                          "(Python's non-daemon rule), detached threads.", opts, &cli);
    static const struct scenario scenarios[] = {
        { "C's rule: main returns while a worker (5 ticks) runs", c_rule },
        { "Python's rule: join the non-daemon thread, then return", python_rule },
        { "main calls pthread_exit while a worker (4 ticks) runs", main_exits_alone },
        { "a detached thread (5 ticks) when main returns", detached_thread },
    };
    trace_start();
    for (size_t i = 0; i < ARRAY_LEN(scenarios); i++)
        run_scenario((int)i + 1, &scenarios[i]);
    return 0;
}
