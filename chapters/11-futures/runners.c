/* runners.c: seven ways to run a workload's tasks, and a measured run of one (load.h).
 *
 * Every runner runs tasks 0 .. N-1 of the same workload, each through task_run (or
 * its two halves), which counts what the tasks did in a struct load_stats in shared
 * memory: so the processes of a runner report without a pipe of their own, and the
 * in-flight counter sees every process's tasks.
 *
 * Each runner notes when the last task's result is in hand (runner_last): a run's wall
 * time runs from its start, making the workers included, to that moment; ending the
 * workers after that is not counted (chapter 03's pool_join looks for its workers'
 * exits every 10 ms, which would add up to 10 ms to every run of a pool). cell.c runs
 * one in a fresh process and measures it.
 */
#include "load.h"
#include "executor.h"
#include "../03-pool/pool.h"
#include "../07-coroutine/coro.h"
#include "../07-coroutine/hub.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *const runner_name[NRUNNERS] = { "one thread", "threads",    "threads+GIL", "processes",
                                            "coroutines", "procs+coros", "procs+threads" };

/* the workload of this run, for threads, coroutines and forked workers alike */
static const struct load *g_load;
static struct load_stats *g_st;
int64_t runner_last; /* when the last task's result was in hand (runner_run) */

static void all_done(void)
{
    runner_last = now_ns();
}

/* ---- threads, with and without the GIL ---- */

struct thread_arg {
    long i;
    struct gil *gil;
    pthread_t th;
};

static void *one_task(void *p)
{
    struct thread_arg *a = p;
    if (!a->gil) {
        task_run(g_load, g_st, a->i, IO_BLOCKING, NULL);
        return NULL;
    }
    struct gil_thread t;
    gil_thread_init(&t, a->gil, "task");
    gil_take(&t, GIL_START);
    task_run(g_load, g_st, a->i, IO_BLOCKING, &t);
    gil_exit(&t);
    return NULL;
}

static void run_threads(bool with_gil)
{
    struct gil gil;
    if (with_gil)
        gil_init(&gil, &(struct gil_config){ .mode = GIL_NEW }); /* CPython's 3.2+ GIL, 5 ms */
    struct thread_arg *a = calloc((size_t)g_load->tasks, sizeof *a);
    if (!a)
        die("calloc");
    for (long i = 0; i < g_load->tasks; i++) {
        a[i] = (struct thread_arg){ .i = i, .gil = with_gil ? &gil : NULL };
        CHECK_PT(pthread_create(&a[i].th, NULL, one_task, &a[i]));
    }
    for (long i = 0; i < g_load->tasks; i++)
        CHECK_PT(pthread_join(a[i].th, NULL));
    all_done();
    free(a);
    if (with_gil)
        gil_destroy(&gil);
}

/* ---- processes: chapter 03's pool ---- */

static int proc_task(const void *arg, size_t len, void *out, size_t cap, size_t *out_len)
{
    long i;
    (void)len, (void)out, (void)cap;
    memcpy(&i, arg, sizeof i);
    task_run(g_load, g_st, i, IO_BLOCKING, NULL);
    *out_len = 0;
    return 0;
}

static void run_pool(void)
{
    struct pool *p = pool_new(g_load->cores, 256);
    pool_task *t = malloc((size_t)g_load->tasks * sizeof *t);
    if (!t)
        die("malloc");
    for (long i = 0; i < g_load->tasks; i++)
        t[i] = pool_apply_async(p, proc_task, &i, sizeof i);
    for (long i = 0; i < g_load->tasks; i++)
        if (pool_get(p, t[i], -1, NULL, 0, NULL) != POOL_OK)
            fatal("processes: task %ld failed", i);
    all_done();
    free(t);
    pool_close(p);
    pool_join(p);
    pool_free(p);
}

/* ---- coroutines on a hub: tasks i = first, first + step, ... ---- */

static void *coro_task(void *p)
{
    task_run(g_load, g_st, (long)(intptr_t)p, IO_HUB, NULL);
    return NULL;
}

static void run_hub(long first, long step)
{
    if (g_load->copied_stacks)
        hub_set_stack(0, CORO_COPY_STACK);
    size_t n = (size_t)((g_load->tasks - first + step - 1) / step);
    struct hub_task **t = calloc(n ? n : 1, sizeof *t);
    if (!t)
        die("calloc");
    for (size_t k = 0; k < n; k++)
        if (!(t[k] = hub_spawn(coro_task, (void *)(intptr_t)(first + (long)k * step))))
            die("hub_spawn");
    if (hub_joinall(t, n, -1) != 0)
        fatal("coroutines: joinall failed");
    all_done();
    free(t);
    hub_close();
    coro_cache_flush();
}

/* a process per core, each a hub with every cores-th task */
static void run_hybrid(void)
{
    pid_t pid[64];
    for (int k = 0; k < g_load->cores; k++)
        if ((pid[k] = fork_child()) == 0) {
            run_hub(k, g_load->cores);
            _exit(0);
        }
    for (int k = 0; k < g_load->cores; k++) {
        int status;
        child_wait(pid[k], -1, &status);
        if (exitcode_of(status) != 0)
            fatal("procs+coros: process %d ended with %d", k, exitcode_of(status));
    }
    all_done();
}

/* ---- a process pool whose tasks use a thread pool ---- */

static int fetch(const void *arg, size_t len, void *out, size_t cap, size_t *out_len)
{
    long i;
    (void)len, (void)cap;
    memcpy(&i, arg, sizeof i);
    uint64_t reply = task_request(g_load, g_st, i, IO_BLOCKING, NULL);
    memcpy(out, &reply, sizeof reply);
    *out_len = sizeof reply;
    return 0;
}

/* in a worker process: fetch tasks [from, to) on threads, "parse" here as they come */
static int share(const void *arg, size_t len, void *out, size_t cap, size_t *out_len)
{
    long r[2];
    (void)len, (void)out, (void)cap;
    memcpy(r, arg, sizeof r);
    long n = r[1] - r[0], started = 0;
    struct future **fs = calloc((size_t)(n ? n : 1), sizeof *fs);
    long *ids = calloc((size_t)(n ? n : 1), sizeof *ids);
    if (!fs || !ids)
        die("calloc");
    struct executor *e = thread_executor_new(n < 1 ? 1 : n > 64 ? 64 : (int)n, "fetch");
    for (long i = r[0]; i < r[1]; i++)
        if (task_begin(g_load, g_st)) {
            ids[started] = i;
            if (executor_submit(e, fetch, &i, sizeof i, &fs[started++]) != FUTURE_OK)
                fatal("procs+threads: submit");
        }
    struct as_completed *it = as_completed_new(fs, (size_t)started, -1);
    struct future *f;
    while (as_completed_next(it, &f) == FUTURE_OK && f) {
        long k = 0;
        while (fs[k] != f)
            k++;
        uint64_t reply;
        if (future_result(f, -1, &reply, sizeof reply, NULL) != FUTURE_OK)
            fatal("procs+threads: a fetch failed");
        task_end(g_load, g_st, ids[k], reply, NULL);
    }
    as_completed_free(it);
    for (long k = 0; k < started; k++)
        future_release(fs[k]);
    executor_free(e);
    free(fs);
    free(ids);
    *out_len = 0;
    return 0;
}

static void run_pool_threads(void)
{
    int c = g_load->cores;
    struct executor *e = process_executor_new(c, EXEC_REPLACE);
    struct future *fs[64];
    for (int k = 0; k < c; k++) {
        long r[2] = { g_load->tasks * k / c, g_load->tasks * (k + 1) / c };
        if (executor_submit(e, share, r, sizeof r, &fs[k]) != FUTURE_OK)
            fatal("procs+threads: submit");
    }
    for (int k = 0; k < c; k++) {
        if (future_result(fs[k], -1, NULL, 0, NULL) != FUTURE_OK)
            fatal("procs+threads: a share failed");
        future_release(fs[k]);
    }
    all_done();
    executor_free(e);
}

/* ---- one measured run ---- */

void runner_run(enum runner r, const struct load *l, struct load_stats *st)
{
    g_load = l;
    g_st = st;
    switch (r) {
    case R_ONE:
        for (long i = 0; i < g_load->tasks; i++)
            task_run(g_load, g_st, i, IO_BLOCKING, NULL);
        all_done();
        break;
    case R_THREADS:
    case R_GIL:
        run_threads(r == R_GIL);
        break;
    case R_PROCS:
        run_pool();
        break;
    case R_COROS:
        run_hub(0, 1);
        break;
    case R_HYBRID:
        run_hybrid();
        break;
    default:
        run_pool_threads();
    }
}
