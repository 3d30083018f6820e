/* pool_job.c: the chapter's job on chapter 03's fork pool (see pool_job.h). */
#include "pool_job.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_MSG = 256, PATIENCE_S = 60 };

int pool_slice_task(const void *arg, size_t len, void *out, size_t cap, size_t *out_len)
{
    struct pool_slice s;
    (void)len;
    (void)cap;
    memcpy(&s, arg, sizeof s);
    if (s.die)
        raise(SIGKILL);
    uint64_t sum = job_sum(s.from, s.to);
    memcpy(out, &sum, sizeof sum);
    *out_len = sizeof sum;
    return 0;
}

static uint64_t run(struct pool *p, const struct pool_slice *s)
{
    uint64_t sum;
    pool_task h = pool_apply_async(p, pool_slice_task, s, sizeof *s);
    int st = pool_get(p, h, PATIENCE_S * NS_PER_S, &sum, sizeof sum, NULL);
    if (st != POOL_OK)
        fatal("a pool task: %s", pool_status_name(st));
    return sum;
}

double pool_job_time(int workers, const struct job *job, uint64_t *total, double *start_ms)
{
    struct pool_slice *s = calloc((size_t)job->tasks, sizeof *s);
    uint64_t *part = malloc((size_t)job->tasks * sizeof *part);
    if (!s || !part)
        die("malloc");
    for (long k = 0; k < job->tasks; k++)
        job_slice(job->n, k, job->tasks, &s[k].from, &s[k].to);
    int64_t t0 = now_ns();
    struct pool *p = pool_new(workers, MAX_MSG);
    run(p, &(struct pool_slice){ 0, 1000, 0 });
    *start_ms = (double)(now_ns() - t0) / 1e6;
    int64_t t = now_ns();
    struct pool_result bad;
    if (pool_map(p, pool_slice_task, s, sizeof *s, (size_t)job->tasks, part, sizeof *part, 1, &bad) != POOL_OK)
        fatal("the pool's map: %s", pool_status_name(bad.status));
    double secs = (double)(now_ns() - t) / 1e9;
    pool_close(p);
    pool_join(p);
    pool_free(p);
    *total = 0;
    for (long k = 0; k < job->tasks; k++)
        *total += part[k];
    free(s);
    free(part);
    return secs;
}

static int pin_task(const void *arg, size_t len, void *out, size_t cap, size_t *out_len)
{
    int cpu;
    (void)len;
    (void)out;
    (void)cap;
    memcpy(&cpu, arg, sizeof cpu);
    pin_to_cpu(cpu);
    *out_len = 0;
    return 0;
}

void pool_job_trips(int cpu, long trips, double *us)
{
    cpu_set_t all;
    CHECK_SYS(sched_getaffinity(0, sizeof all, &all));
    pin_to_cpu(cpu_nth(0));
    struct pool *p = pool_new(1, MAX_MSG);
    pool_task h = pool_apply_async(p, pin_task, &cpu, sizeof cpu);
    if (pool_get(p, h, PATIENCE_S * NS_PER_S, NULL, 0, NULL) != POOL_OK)
        fatal("could not pin the pool's worker");
    struct pool_slice none = { 0, 0, 0 };
    for (long i = -20; i < trips; i++) { /* 20 to warm up */
        int64_t t = now_ns();
        run(p, &none);
        if (i >= 0)
            us[i] = (double)(now_ns() - t) / 1e3;
    }
    pool_close(p);
    pool_join(p);
    pool_free(p);
    CHECK_PT(pthread_setaffinity_np(pthread_self(), sizeof all, &all));
}
