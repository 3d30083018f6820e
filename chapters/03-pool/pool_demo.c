/* pool_demo.c: the lessons' Pool(3) running 10 tasks, each a random sleep.
 *
 * Mirrors:  po = Pool(3)
 *           for i in range(10): po.apply_async(worker, (i,))
 *           print("----start----"); po.close(); po.join(); print("-----end-----")
 * where worker(msg) prints its start and pid, sleeps random.random() * 2 seconds and
 * prints the time it took.
 *
 * What it shows:
 *   - pool_new(3) forks the three workers at once (the lesson says a process is made
 *     when a request comes and the pool is not yet full; multiprocessing starts all of
 *     them in Pool(), and so do we);
 *   - ten tasks queue up; each worker takes the next one as soon as it is free, so
 *     only three pids appear and each runs several tasks;
 *   - "----start----" prints before any task has finished: apply_async only queues;
 *   - close() then join() waits until the queue is drained and the workers have left.
 * The sleeps come from a fixed seed, so every run has the same ten durations; which
 * worker gets which task is left to the scheduler.
 *
 * Run:  ./pool_demo              (sleeps of 0 to 2 s, as in the lesson: about 3.3 s)
 *       ./pool_demo --scale 0.1  (the same run, ten times faster)
 * Look for: three pids only; a task starting on a pid the moment that pid's previous
 * task ends; the total time against the sum of the sleeps.
 * See also: pool_faults.c (a worker that dies), pool_bench.c (what a task costs).
 */
#include "pool.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct job {
    int index;
    int64_t sleep_ns;
};

/* the lesson's worker(msg): runs in a pool process */
static int worker(const void *arg, size_t len, void *out, size_t cap, size_t *out_len)
{
    struct job j;
    (void)len;
    (void)out;
    (void)cap;
    memcpy(&j, arg, sizeof j);
    int64_t t = now_ns();
    trace("%d started, pid %d", j.index, (int)getpid());
    sleep_ns(j.sleep_ns);
    trace("%d done, took %.2f s", j.index, (double)(now_ns() - t) / 1e9);
    *out_len = 0;
    return 0;
}

int main(int argc, char **argv)
{
    long workers = 3, tasks = 10, seed = 1;
    double scale = 1.0;
    const struct cli_opt opts[] = {
        { "workers", CLI_INT, &workers, "processes in the pool", 1, 16, NULL, NULL },
        { "tasks", CLI_INT, &tasks, "tasks to run", 1, 1000, NULL, NULL },
        { "scale", CLI_REAL, &scale, "multiplies every sleep (the lesson's are 0 to 2 s)", 0.001, 10, "0.02", NULL },
        { "seed", CLI_INT, &seed, "seed of the random sleeps", 0, 1000000, NULL, NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "The lessons' Pool(3) running 10 tasks that sleep a random 0 to 2 s.", opts, &cli);

    trace_start();
    srand48(seed);
    struct pool *p = pool_new((int)workers, 256);
    pid_t pids[16];
    int n = pool_workers(p, pids, 16);
    char list[200] = "";
    for (int i = 0; i < n; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%d", i ? ", " : "", (int)pids[i]);
    trace("Pool(%ld): workers forked now: %s", workers, list);

    pool_task *h = malloc((size_t)tasks * sizeof *h);
    if (!h)
        die("malloc");
    double total_sleep = 0;
    for (int i = 0; i < tasks; i++) {
        struct job j = { .index = i, .sleep_ns = (int64_t)(drand48() * 2.0 * scale * 1e9) };
        total_sleep += (double)j.sleep_ns / 1e9;
        h[i] = pool_apply_async(p, worker, &j, sizeof j);
    }
    printf("----start----\n");
    fflush(stdout);
    int64_t t = now_ns();
    pool_close(p);
    pool_join(p);
    double took = (double)(now_ns() - t) / 1e9;
    printf("-----end-----\n");

    /* which pids ran the tasks: results remember their worker */
    pid_t seen[16];
    int nseen = 0, failed = 0;
    for (int i = 0; i < tasks; i++) {
        struct pool_result r;
        if (pool_get(p, h[i], 0, NULL, 0, &r) != POOL_OK)
            failed++;
        bool known = false;
        for (int k = 0; k < nseen; k++)
            known = known || seen[k] == r.pid;
        if (!known && nseen < 16)
            seen[nseen++] = r.pid;
    }
    printf("%ld tasks ran on %d distinct pids (a pool of %ld); %d failed\n", tasks, nseen, workers, failed);
    printf("%.2f s of sleeping done in %.2f s\n", total_sleep, took);
    free(h);
    pool_free(p);
    return failed ? 1 : 0;
}
