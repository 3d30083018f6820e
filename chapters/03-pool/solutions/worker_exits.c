/* solutions/worker_exits.c: exercise 1 of chapter 03 (pools), "predict before you run".
 *
 * The question: Python's maxtasksperchild makes a worker leave after N tasks, on
 * purpose, and the pool starts a new one. If a task simply calls exit(0), as a worker
 * leaving on purpose would, what does its get() return, and is the worker replaced?
 * Which of worker_ended's cases (pool.c) is that, and what must change so that a
 * planned departure is not reported as POOL_DIED?
 *
 * The answer: POOL_DIED, exit code 0, and a new worker, like any death in a task:
 * worker_ended sees that the worker had taken a task (its record stamped, the get
 * committed) and that no result came, so the task died with it; it does not care how
 * the process ended. The other results are untouched. For maxtasksperchild the worker
 * must leave *between* tasks: after its result is in the results queue, before it
 * takes the next task. worker_ended then finds nothing taken (`took` is false): no task
 * is reported, and the worker is replaced like any worker that "ends any other way".
 * What must change is only the bookkeeping: count such an end as planned (a flag in the
 * worker's record, set before it leaves) rather than in pool_replaced(), the count of
 * abnormal ends. A worker that dies inside a task must stay POOL_DIED.
 *
 * What it does: a pool of 2 workers, 6 tasks that each return their index squared;
 * task 2 calls _exit(0) instead. Reads every result and the count of replaced workers.
 *
 * Run:  solutions/worker_exits
 * Look for: "task 2: POOL_DIED, exit code 0", the others POOL_OK, one worker replaced.
 */
#include "../pool.h"

#include <string.h>
#include <unistd.h>

enum { LEAVES = 2, NTASKS = 6 };

static int square_or_leave(const void *arg, size_t len, void *out, size_t cap, size_t *out_len)
{
    long i;
    (void)len;
    (void)cap;
    memcpy(&i, arg, sizeof i);
    if (i == LEAVES) /* a worker leaving on purpose, in the middle of its task (_exit: */
        _exit(0);    /* the worker is a copy of the parent, whose atexit work is not its own) */
    long sq = i * i;
    memcpy(out, &sq, sizeof sq);
    *out_len = sizeof sq;
    return 0;
}

int main(int argc, char **argv)
{
    struct cli cli = { 0 };
    cli_parse(argc, argv, "Exercise 1: a task that calls exit(0): what does the pool report?", NULL, &cli);
    struct pool *p = pool_new(2, 64);
    pid_t before[2];
    pool_workers(p, before, 2);
    pool_task t[NTASKS];
    for (long i = 0; i < NTASKS; i++)
        t[i] = pool_apply_async(p, square_or_leave, &i, sizeof i);
    int died = 0;
    for (long i = 0; i < NTASKS; i++) {
        long v = 0;
        struct pool_result r;
        int rc = pool_get(p, t[i], 10 * NS_PER_S, &v, sizeof v, &r);
        if (rc == POOL_OK)
            printf("task %ld: POOL_OK %ld (pid %d)\n", i, v, (int)r.pid);
        else if (rc == POOL_DIED && r.signal == 0)
            printf("task %ld: POOL_DIED, exit code %d: worker %d left in the middle of it\n", i, r.exit_code,
                   (int)r.pid);
        else
            printf("task %ld: %s\n", i, pool_status_name(rc));
        died += rc == POOL_DIED;
        if (rc != (i == LEAVES ? POOL_DIED : POOL_OK) || (rc == POOL_OK && v != i * i))
            fatal("task %ld: not what the pool promises", i);
    }
    pid_t after[2];
    pool_workers(p, after, 2);
    printf("workers before: %d %d; after: %d %d; replaced: %ld\n", (int)before[0], (int)before[1], (int)after[0],
           (int)after[1], pool_replaced(p));
    printf("an exit in a task is a death like any other: to leave on purpose, a worker must go between tasks\n");
    pool_close(p);
    pool_join(p);
    pool_free(p);
    return died == 1 ? 0 : 1;
}
