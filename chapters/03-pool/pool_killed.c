/* pool_killed.c: a worker killed in the middle of a task.
 *
 * Mirrors: Pool(3).apply_async(f, (i,)).get(timeout) when a worker process dies during
 * a task (SIGKILL, the OOM killer, a crash in a C extension). Python's Pool replaces
 * the worker, but nothing tells the task's result: get() raises TimeoutError when it
 * has a timeout, and waits for ever without one (tried on this machine: see README).
 *
 * One source, built twice:
 *   pool_killed_simple   linked with pool_simple.c: workers over two pipes
 *   pool_killed          linked with pool.c: each worker stamps the task it takes
 * A pool of 3 runs 6 tasks; each works --work (a sleep) and returns its index squared.
 * Task 1 works four times as long and, as it starts, writes its worker's pid into
 * shared memory; the parent kills that pid with SIGKILL. Then it gets every result, with
 * a timeout of --patience (task 1 gets a second --patience), and lists the pool's
 * workers with the state the kernel gives each (/proc/PID/stat; Z: a zombie, a process
 * that has ended and was not waited for).
 * With pool_simple.c task 1 times out twice, longer than the task would ever take, and
 * nothing says why; its worker is a zombie, and nobody replaced it: 2 live workers are
 * left of 3. Exit 1. With pool.c, task 1 is POOL_DIED with the worker's pid and the
 * signal, and a new worker stands in its place. Exit 0.
 *
 * Run:  ./pool_killed_simple      (task 1 lost: 2 x --patience, 4 s)
 *       ./pool_killed
 * Look for: "POOL_TIMEOUT" twice and "a zombie, dead and not replaced"; then with pool.c
 * "POOL_DIED: worker NNN was killed by SIGKILL" and three live workers.
 * See also: pool_simple.c, pool.c (how the parent tells which task died), pool_faults.c.
 */
#include "pool.h"

#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifdef POOL_SIMPLE
#define WHICH "pool_simple.c: workers over two pipes"
#else
#define WHICH "pool.c: workers over two queues, each stamping the task it takes"
#endif

enum { VICTIM = 1, NTASKS = 6 };
static int64_t g_work = 300 * NS_PER_MS;
static _Atomic pid_t *g_victim; /* shared: the pid running the victim's task */

static int square(const void *arg, size_t len, void *out, size_t cap, size_t *out_len)
{
    long i;
    (void)len;
    (void)cap;
    memcpy(&i, arg, sizeof i);
    if (i == VICTIM)
        atomic_store(g_victim, getpid());
    sleep_ns(i == VICTIM ? 4 * g_work : g_work);
    long sq = i * i;
    memcpy(out, &sq, sizeof sq);
    *out_len = sizeof sq;
    return 0;
}

/* the kernel's one-letter state of process pid: R, S, Z ... ('?' if it is gone) */
static char state_of(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, line, sizeof line - 1) : -1;
    if (fd >= 0)
        close(fd);
    line[n > 0 ? n : 0] = '\0';
    const char *p = strrchr(line, ')'); /* the name may hold spaces and parentheses */
    return p && p[1] == ' ' ? p[2] : '?';
}

int main(int argc, char **argv)
{
    int64_t patience = 2 * NS_PER_S;
    const struct cli_opt opts[] = {
        { "work", CLI_DURATION, &g_work, "how long each task works (task 1: four times that)", NS_PER_MS,
          10 * NS_PER_S, "30ms", NULL },
        { "patience", CLI_DURATION, &patience, "the timeout of each get", 10 * NS_PER_MS, 60 * NS_PER_S, "200ms",
          NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "A pool worker killed in the middle of a task: is it reported and replaced?", opts, &cli);
    if (patience <= 4 * g_work)
        cli_error("--patience must be longer than four times --work (task 1's work)");

    trace_start();
    g_victim = mmap(NULL, sizeof *g_victim, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (g_victim == MAP_FAILED)
        die("mmap");
    struct pool *p = pool_new(3, 256);
    trace("Pool(3) on %s", WHICH);
    pool_task h[NTASKS];
    for (long i = 0; i < NTASKS; i++)
        h[i] = pool_apply_async(p, square, &i, sizeof i);
    for (int64_t end = now_ns() + 10 * NS_PER_S; atomic_load(g_victim) == 0; sleep_ns(NS_PER_MS))
        if (now_ns() > end)
            fatal("no worker started task %d within 10 s", VICTIM);
    pid_t victim = atomic_load(g_victim);
    sleep_ns(g_work / 2); /* well inside the task */
    CHECK_SYS(kill(victim, SIGKILL));
    trace("kill(%d, SIGKILL): the worker running task %d", (int)victim, VICTIM);

    char tbuf[32], t2[32], t3[32];
    format_duration(patience, tbuf, sizeof tbuf);
    int lost = 0;
    for (long i = 0; i < NTASKS; i++) {
        long sq = 0;
        struct pool_result r;
        int rc = pool_get(p, h[i], patience, &sq, sizeof sq, &r);
        if (rc == POOL_TIMEOUT && i == VICTIM) {
            trace("task %ld: get(timeout=%s) -> POOL_TIMEOUT; again ...", i, tbuf);
            rc = pool_get(p, h[i], patience, &sq, sizeof sq, &r);
        }
        if (rc == POOL_OK)
            trace("task %ld: POOL_OK %ld (pid %d)", i, sq, (int)r.pid);
        else if (rc == POOL_DIED)
            trace("task %ld: POOL_DIED: worker %d was killed by SIG%s while running it", i, (int)r.pid,
                  sigabbrev_np(r.signal));
        else
            trace("task %ld: get(timeout=%s) -> %s: no result after %s in all, the task's own %s long "
                  "past, and nothing says why", i, tbuf, pool_status_name(rc),
                  format_duration(2 * patience, t2, sizeof t2), format_duration(4 * g_work, t3, sizeof t3));
        lost += i == VICTIM ? rc != POOL_DIED : rc != POOL_OK || sq != i * i;
    }

    pid_t pids[8];
    int n = pool_workers(p, pids, 8), live = 0;
    for (int k = 0; k < n; k++) {
        char st = state_of(pids[k]);
        live += st != 'Z' && st != '?';
        trace("worker %d: state %c%s", (int)pids[k], st, st == 'Z' ? ": a zombie, dead and not replaced" : "");
    }
    trace("%d live workers of 3", live);
    pool_close(p);
    pool_join(p);
    pool_free(p);
    CHECK_SYS(munmap(g_victim, sizeof *g_victim));
    if (lost || live != 3) {
        trace("exit status 1: the task died with its worker unreported, and the pool shrank "
              "(pool_killed, on pool.c, reports and replaces)");
        return 1;
    }
    trace("the dead worker's task was reported, the worker replaced, every other result intact");
    return 0;
}
