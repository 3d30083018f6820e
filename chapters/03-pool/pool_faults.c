/* pool_faults.c: what happens to a pool's results when tasks fail and workers die.
 *
 * Mirrors: Pool(3).apply_async(...).get(timeout) when things go wrong: a task that
 * raises, a task that is slow, a worker process that is killed or crashes. In Python
 * 3.11 (tried on this machine) the first two work as expected, but a worker killed
 * with SIGKILL in the middle of a task is quietly replaced and its task's get() waits
 * for ever (or raises TimeoutError if given a timeout): nothing reports the death.
 *
 * Nine tasks square their index after --work of "work" (a sleep); among them:
 *   task 2  is slow (4 x --work): a get with a timeout of --work returns POOL_TIMEOUT,
 *           then a second get waits and succeeds: the task was never affected;
 *   task 4  is the victim: once a worker is running it, we SIGKILL that worker;
 *   task 6  fails: it returns the code 42 (a Python task raising an exception);
 *   task 7  crashes: it calls abort(), and its worker dies by SIGABRT.
 * Every result is then read in order. Expect: POOL_DIED for tasks 4 and 7 with the
 * dead worker's pid and the signal, POOL_FAILED code 42 for task 6, the right squares
 * everywhere else, two workers replaced, and the pool still taking work.
 *
 * Run:  ./pool_faults [--work 300ms]
 * Look for: "task 4: POOL_DIED: worker NNN was killed by SIGKILL while running it",
 * the new pids in the "workers after" line.
 * See also: pool.c (how the parent tells which task died with a worker).
 */
#include "pool.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static int64_t g_work = 300 * NS_PER_MS;

enum { SLOW = 2, VICTIM = 4, FAILS = 6, CRASHES = 7, NTASKS = 9 };

static int square(const void *arg, size_t len, void *out, size_t cap, size_t *out_len)
{
    long i;
    (void)len;
    (void)cap;
    memcpy(&i, arg, sizeof i);
    trace("task %ld started", i);
    sleep_ns(i == SLOW || i == VICTIM ? 4 * g_work : g_work);
    if (i == FAILS) {
        trace("task %ld: returning the error code 42", i);
        return 42;
    }
    if (i == CRASHES) {
        trace("task %ld: calling abort()", i);
        /* no core file left behind, whatever `ulimit -c` says */
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
            die_child("prctl(PR_SET_DUMPABLE)");
        abort();
    }
    long sq = i * i;
    memcpy(out, &sq, sizeof sq);
    *out_len = sizeof sq;
    return 0;
}

static void show_workers(struct pool *p, const char *when)
{
    pid_t pids[16];
    int n = pool_workers(p, pids, 16);
    char list[200] = "";
    for (int i = 0; i < n; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), " %d", (int)pids[i]);
    trace("workers %s:%s", when, list);
}

int main(int argc, char **argv)
{
    const struct cli_opt opts[] = {
        { "work", CLI_DURATION, &g_work, "how long each task works", NS_PER_MS, 10 * NS_PER_S, "30ms", NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "A pool's results when a task fails, is slow, crashes, or its worker is killed.",
              opts, &cli);

    trace_start();
    struct pool *p = pool_new(3, 256);
    show_workers(p, "before");
    pool_task h[NTASKS];
    for (long i = 0; i < NTASKS; i++)
        h[i] = pool_apply_async(p, square, &i, sizeof i);

    /* wait until a worker has taken the victim, then kill that worker */
    pid_t victim = 0;
    for (int64_t end = now_ns() + 10 * NS_PER_S; victim == 0 && now_ns() < end;) {
        pool_ready(p, h[VICTIM]); /* lets the pool look after itself while we wait */
        victim = pool_running(p, h[VICTIM]);
        if (victim == 0)
            sleep_ns(NS_PER_MS);
    }
    if (victim == 0)
        fatal("no worker took task %d in 10 s", VICTIM);
    sleep_ns(g_work / 2); /* well inside the task */
    CHECK_SYS(kill(victim, SIGKILL));
    trace("kill(%d, SIGKILL): the worker running task %d", (int)victim, VICTIM);

    char tbuf[32];
    struct pool_result r;
    long sq;
    int rc = pool_get(p, h[SLOW], g_work, &sq, sizeof sq, &r);
    trace("task %d: get(timeout=%s) -> %s (still running on pid %d)", SLOW,
          format_duration(g_work, tbuf, sizeof tbuf), pool_status_name(rc), (int)r.pid);

    int wrong = 0;
    for (long i = 0; i < NTASKS; i++) {
        rc = pool_get(p, h[i], 30 * NS_PER_S, &sq, sizeof sq, &r);
        if (rc == POOL_OK) {
            trace("task %ld: POOL_OK %ld (pid %d)", i, sq, (int)r.pid);
            wrong += sq != i * i || i == VICTIM || i == FAILS || i == CRASHES;
        } else if (rc == POOL_DIED) {
            if (r.signal)
                trace("task %ld: POOL_DIED: worker %d was killed by SIG%s while running it", i, (int)r.pid,
                      sigabbrev_np(r.signal));
            else
                trace("task %ld: POOL_DIED: worker %d exited (code %d) while running it", i, (int)r.pid,
                      r.exit_code);
            wrong += i != VICTIM && i != CRASHES;
        } else if (rc == POOL_FAILED) {
            trace("task %ld: POOL_FAILED: the task returned %d (pid %d)", i, r.code, (int)r.pid);
            wrong += i != FAILS;
        } else {
            trace("task %ld: %s", i, pool_status_name(rc));
            wrong++;
        }
    }
    show_workers(p, "after");
    trace("%ld workers were replaced", pool_replaced(p));

    long ten = 10;
    pool_task more = pool_apply_async(p, square, &ten, sizeof ten);
    rc = pool_get(p, more, 30 * NS_PER_S, &sq, sizeof sq, &r);
    trace("one more task after all that: %s %ld (pid %d)", pool_status_name(rc), sq, (int)r.pid);
    wrong += rc != POOL_OK || sq != 100;
    pool_close(p);
    pool_join(p);
    pool_free(p);
    printf("%s\n", wrong ? "SOME RESULTS WERE WRONG" : "every result was reported correctly");
    return wrong ? 1 : 0;
}
