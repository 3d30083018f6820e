/* sleepers.c: N tasks that each sleep, one function per kind of task, for
 * many_sleepers.c (which runs each in a fresh child process and prints the table).
 * Each run starts n tasks that sleep `sleep` each, waits for all, and fills a struct
 * sleep_result (sleepers.h): how many started, the wall time from the first start
 * to the last join, and the memory per task.
 */
#include "sleepers.h"
#include "aio.h"
#include "common.h"
#include "coro.h"
#include "hub.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* resident memory of this process now, in KiB */
long rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size, resident;
    if (!f || fscanf(f, "%ld %ld", &size, &resident) != 2)
        die("/proc/self/statm");
    fclose(f);
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* the highest resident memory this process has had, in KiB */
static long peak_rss_kib(void)
{
    struct rusage ru;
    CHECK_SYS(getrusage(RUSAGE_SELF, &ru));
    return ru.ru_maxrss;
}

/* private memory of process pid (what would be freed if it ended), in KiB */
static long uss_kib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/smaps_rollup", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long kb, sum = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "Private_Clean: %ld kB", &kb) == 1 || sscanf(line, "Private_Dirty: %ld kB", &kb) == 1)
            sum += kb;
    fclose(f);
    return sum;
}

static int64_t g_sleep;

/* growth of the resident memory, per task (a few pages of noise can make the growth
 * of a small run come out below zero: that is none) */
static double per_task_kib(long grew_kib, long tasks)
{
    return grew_kib <= 0 || tasks <= 0 ? 0.0 : (double)grew_kib / (double)tasks;
}

/* ---- stackful tasks on the hub (fresh stacks, a warm cache, copied stacks) ---- */

static void *coro_sleeper(void *arg)
{
    (void)arg;
    co_sleep(g_sleep);
    return NULL;
}

/* spawn n, join them all (asyncio.gather); false if a spawn failed */
static bool hub_round(struct hub_task **t, long n, struct sleep_result *r)
{
    for (r->created = 0; r->created < n; r->created++) {
        t[r->created] = hub_spawn(coro_sleeper, NULL);
        if (!t[r->created]) {
            r->err = errno;
            break;
        }
    }
    /* they run when we wait: asyncio.gather */
    int rc = hub_joinall(t, (size_t)r->created, g_sleep + 120 * NS_PER_S);
    if (rc != 0)
        fatal("joinall: %s", strerror(rc));
    return r->err == 0;
}

static void run_hub(enum sleeper_kind k, long n, long stack_kib, bool guard, struct sleep_result *r)
{
    struct hub_task **t = calloc((size_t)n, sizeof *t);
    if (!t)
        die("calloc");
    long rss0 = rss_kib();
    unsigned flags = (guard ? 0 : CORO_NO_GUARD) | (k == K_COPIED ? CORO_COPY_STACK : 0);
    hub_set_stack((size_t)stack_kib * 1024, flags);
    r->guard = guard;
    coro_cache_limit(k == K_WARM ? (size_t)n + 1 : 0); /* +1: the hub's own stack */
    if (k == K_WARM) { /* an untimed round, which leaves n stacks in the cache */
        int64_t s = g_sleep;
        g_sleep = 0;
        hub_round(t, n, r);
        g_sleep = s;
        r->created = 0;
    }
    int64_t t0 = now_ns();
    hub_round(t, n, r);
    r->wall_ns = now_ns() - t0;
    r->mem_kib = per_task_kib(peak_rss_kib() - rss0, r->created);
    hub_close();
    free(t);
}

/* ---- stackless tasks on the aio loop ---- */

struct aio_sleeper {
    struct aio_task task;
};

static bool aio_sleeper(struct aio_task *t)
{
    GEN_BEGIN(&t->gen);
    AIO_SLEEP(t, g_sleep);                            /* await asyncio.sleep(s) */
    GEN_END(&t->gen);
}

struct aio_main {
    struct aio_task task;
    long n;
    struct aio_sleeper *s;
    struct aio_task **all;
};

static bool aio_main(struct aio_task *t)
{
    struct aio_main *m = (struct aio_main *)t;
    GEN_BEGIN(&t->gen);
    for (long i = 0; i < m->n; i++) {
        aio_spawn(&m->s[i].task, aio_sleeper);        /* create_task(io_bound_task()) */
        m->all[i] = &m->s[i].task;
    }
    AIO_GATHER(t, m->all, (size_t)m->n);              /* await asyncio.gather(*tasks) */
    GEN_END(&t->gen);
}

static void run_stackless(long n, struct sleep_result *r)
{
    long rss0 = rss_kib();
    int64_t t0 = now_ns();
    /* the tasks' memory, and the list gather takes (asyncio keeps both too) */
    struct aio_main m = { .n = n, .s = malloc((size_t)n * sizeof *m.s), .all = malloc((size_t)n * sizeof *m.all) };
    if (!m.s || !m.all)
        die("malloc");
    int rc = aio_run(&m.task, aio_main);
    if (rc != 0)
        fatal("aio_run: %s", strerror(rc));
    r->created = n;
    r->wall_ns = now_ns() - t0;
    r->mem_kib = per_task_kib(peak_rss_kib() - rss0, n);
    free(m.s);
    free(m.all);
}

/* ---- threads and processes ---- */

static void *thread_sleeper(void *arg)
{
    (void)arg;
    sleep_ns(g_sleep);
    return NULL;
}

static void run_threads(long n, long stack_kib, struct sleep_result *r)
{
    pthread_t *th = calloc((size_t)n, sizeof *th);
    if (!th)
        die("calloc");
    pthread_attr_t attr;
    CHECK_PT(pthread_attr_init(&attr));
    /* glibc refuses a thread stack below its minimum: 16 KiB on x86-64, but 128 KiB on
     * aarch64 (where pages may be 64 KiB). Only touched pages count in the memory
     * measured, so a larger stack changes little there. */
    size_t size = (size_t)stack_kib * 1024;
    long min = sysconf(_SC_THREAD_STACK_MIN);
    if (min > 0 && size < (size_t)min)
        size = (size_t)min;
    CHECK_PT(pthread_attr_setstacksize(&attr, size));
    long rss0 = rss_kib();
    int64_t t0 = now_ns();
    for (r->created = 0; r->created < n; r->created++) {
        int rc = pthread_create(&th[r->created], &attr, thread_sleeper, NULL);
        if (rc != 0) { /* as far as the machine allows: stop here and say so */
            r->err = rc;
            break;
        }
    }
    for (long i = 0; i < r->created; i++)
        CHECK_PT(pthread_join(th[i], NULL));
    r->wall_ns = now_ns() - t0;
    r->mem_kib = per_task_kib(peak_rss_kib() - rss0, r->created);
    r->guard = true;
    CHECK_PT(pthread_attr_destroy(&attr));
    free(th);
}

static void run_processes(long n, struct sleep_result *r)
{
    pid_t *pid = calloc((size_t)n, sizeof *pid);
    if (!pid)
        die("calloc");
    int ready[2]; /* each child says "asleep" through it, so we weigh running ones */
    CHECK_SYS(pipe2(ready, O_CLOEXEC));
    int64_t t0 = now_ns();
    /* (a local count: *r is shared with the children, which must not read it) */
    for (long i = 0; i < n; i++) {
        pid[i] = fork_child();
        if (pid[i] == 0) {
            if (write(ready[1], "z", 1) != 1)
                die_child("write(pipe)");
            sleep_ns(g_sleep);
            _exit(0);
        }
    }
    r->created = n;
    r->guard = true;
    CHECK_SYS(close(ready[1]));
    char buf[256];
    for (long got = 0; got < n;) {
        ssize_t k = read(ready[0], buf, sizeof buf);
        if (k <= 0)
            die("read(pipe)");
        got += k;
    }
    CHECK_SYS(close(ready[0]));
    /* the last children forked are surely still asleep: weigh a few of them */
    long sum = 0, weighed = 0;
    for (long i = r->created - 1; i >= 0 && weighed < 8; i--) {
        long kb = uss_kib(pid[i]);
        if (kb >= 0) {
            sum += kb;
            weighed++;
        }
    }
    for (long i = 0; i < r->created; i++) {
        int status;
        if (child_wait(pid[i], g_sleep + 60 * NS_PER_S, &status) != 0 || exitcode_of(status) != 0)
            fatal("sleeper %d did not end cleanly", (int)pid[i]);
    }
    r->wall_ns = now_ns() - t0;
    r->mem_kib = weighed ? (double)sum / (double)weighed : NAN;
    free(pid);
}

void sleepers_run(enum sleeper_kind k, long n, int64_t sleep, long stack_kib, bool guard,
                  struct sleep_result *r)
{
    g_sleep = sleep;
    switch (k) {
    case K_STACKFUL: case K_WARM: case K_COPIED: run_hub(k, n, stack_kib, guard, r); break;
    case K_STACKLESS: run_stackless(n, r); break;
    case K_THREAD: run_threads(n, stack_kib, r); break;
    case K_PROCESS: run_processes(n, r); break;
    default: fatal("no such kind");
    }
}
