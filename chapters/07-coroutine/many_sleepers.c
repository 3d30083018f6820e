/* many_sleepers.c: N tasks that each sleep, as coroutines, threads and processes.
 *
 * Mirrors: the lesson's asyncio example, 1000 tasks that each `await
 * asyncio.sleep(1)`, gathered, finishing in about one second; and the lessons' claim
 * that coroutines are far lighter than threads, and threads than processes.
 *
 *     async def io_bound_task():           static void *sleeper(void *arg)
 *         await asyncio.sleep(1)           {   co_sleep(g_sleep); return NULL; }
 *     tasks = [create_task(io_bound_task())      t[i] = hub_spawn(sleeper, NULL);
 *              for _ in range(1000)]
 *     await asyncio.gather(*tasks)         hub_joinall(t, n, timeout);
 *
 * What it does: for each kind and each N of the sweep (100, 300, 1000, ... up to the
 * kind's cap), start N tasks that sleep --sleep each, wait for all, and measure:
 *   wall time     from the first start to the last join. Sleeping together, N tasks
 *                 take one sleep plus the cost of starting and ending them all;
 *   memory/task   how much the process's resident memory grew at its peak, per task
 *                 (coroutines: mostly the one stack page each touches; threads: the
 *                 touched stack pages and glibc's thread descriptor and TLS). For
 *                 processes, the private memory (USS: Private_Clean + Private_Dirty in
 *                 /proc/PID/smaps_rollup) of a few sleeping children, averaged.
 *                 None of this counts the kernel's side: each thread or process also
 *                 has a 16 KiB kernel stack and its task structures, and each process
 *                 its page tables.
 * Each measurement runs in a fresh child process, so one run's leftovers (cached
 * thread stacks, a grown heap) don't weigh on the next and the peak is its own.
 *
 * The kinds:
 *   coroutine  tasks on the hub (hub.c): one thread, one epoll, a timer heap. Each
 *              task has a 64 KiB stack (--stack-kib) with a guard page, while the
 *              guard pages fit: a guarded stack is two kernel memory areas (VMAs),
 *              and the kernel allows vm.max_map_count (65530 by default) per process,
 *              so beyond about 30,000 coroutines the stacks go without guards;
 *   thread     one pthread per task with the same stack size, each in nanosleep;
 *              capped by --max-threads (and by what the kernel allows: the run
 *              stops at the first pthread_create that fails and says so);
 *   process    one fork per task, each in nanosleep; capped by --max-procs.
 *
 * The sweep's default sleep is short (200ms) to keep `make plots` quick; run
 * `./many_sleepers --tasks 1000 --sleep 1s` for the lesson's own numbers.
 *
 * Run:  ./many_sleepers [--tasks 0] [--kind all|coroutine|thread|process]
 *                       [--sleep 200ms] [--data FILE]
 * Look for: coroutines staying near one sleep up to 100,000 tasks at a few KiB each;
 * threads paying tens of microseconds and about ten KiB per task; processes paying
 * hundreds of microseconds and much more memory per task.
 * See also: hub.c (the scheduler), switch_cost.c (the cost of one switch).
 */
#include "common.h"
#include "coro.h"
#include "hub.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

enum kind { CORO, THREAD, PROCESS, NKINDS };
static const char *const kind_name[NKINDS] = { "coroutine", "thread", "process" };

static int64_t g_sleep = 200 * NS_PER_MS;
static long g_stack_kib = 64;

/* what one run reports to the parent, through a shared page */
struct result {
    long created;       /* tasks actually started */
    int err;            /* errno of the start that failed, or 0 */
    bool guard;         /* coroutines: stacks had guard pages */
    int64_t wall_ns;
    double mem_kib;     /* memory per task, KiB */
};

/* resident memory of this process now, in KiB */
static long rss_kib(void)
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

/* ---- the three kinds of sleeper ---- */

static void *coro_sleeper(void *arg)
{
    (void)arg;
    co_sleep(g_sleep);
    return NULL;
}

static void run_coroutines(long n, bool guard, struct result *r)
{
    struct hub_task **t = calloc((size_t)n, sizeof *t);
    if (!t)
        die("calloc");
    long rss0 = rss_kib();
    hub_set_stack((size_t)g_stack_kib * 1024, guard ? 0 : CORO_NO_GUARD);
    r->guard = guard;
    int64_t t0 = now_ns();
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
    r->wall_ns = now_ns() - t0;
    r->mem_kib = (double)(peak_rss_kib() - rss0) / (double)(r->created ? r->created : 1);
    hub_close();
    free(t);
}

static void *thread_sleeper(void *arg)
{
    (void)arg;
    sleep_ns(g_sleep);
    return NULL;
}

static void run_threads(long n, struct result *r)
{
    pthread_t *th = calloc((size_t)n, sizeof *th);
    if (!th)
        die("calloc");
    pthread_attr_t attr;
    CHECK_PT(pthread_attr_init(&attr));
    CHECK_PT(pthread_attr_setstacksize(&attr, (size_t)g_stack_kib * 1024));
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
    r->mem_kib = (double)(peak_rss_kib() - rss0) / (double)(r->created ? r->created : 1);
    CHECK_PT(pthread_attr_destroy(&attr));
    free(th);
}

static void run_processes(long n, struct result *r)
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

/* One measurement, in a fresh child process. */
static void measure(enum kind k, long n, bool guard, struct result *out)
{
    struct result *r = mmap(NULL, sizeof *r, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (r == MAP_FAILED)
        die("mmap");
    memset(r, 0, sizeof *r);
    pid_t pid = fork_child();
    if (pid == 0) {
        switch (k) {
        case CORO: run_coroutines(n, guard, r); break;
        case THREAD: r->guard = true; run_threads(n, r); break;
        case PROCESS: r->guard = true; run_processes(n, r); break;
        default: break;
        }
        _exit(0);
    }
    int status;
    /* bounded: far more than any run should take */
    if (child_wait(pid, 2 * g_sleep + 300 * NS_PER_S, &status) != 0)
        fatal("the %s run with %ld tasks did not end", kind_name[k], n);
    if (exitcode_of(status) != 0)
        fatal("the %s run with %ld tasks failed (exit code %d)", kind_name[k], n, exitcode_of(status));
    *out = *r;
    CHECK_SYS(munmap(r, sizeof *r));
}

static long max_map_count(void)
{
    long v = 65530; /* the kernel's default, if /proc does not say */
    FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
    if (f) {
        if (fscanf(f, "%ld", &v) != 1)
            v = 65530;
        fclose(f);
    }
    return v;
}

int main(int argc, char **argv)
{
    long tasks = 0, max_coros = 100000, max_threads = 10000, max_procs = 1000;
    int kind = NKINDS; /* all */
    const struct cli_opt opts[] = {
        { "tasks", CLI_INT, &tasks, "run this many tasks only (0: the sweep 100, 300, ...)", 0, 1000000, NULL, NULL },
        { "kind", CLI_CHOICE, &kind, "which kind of task", 0, 0, NULL, "coroutine|thread|process|all" },
        { "sleep", CLI_DURATION, &g_sleep, "how long each task sleeps", 0, 60 * NS_PER_S, "20ms", NULL },
        { "max-coros", CLI_INT, &max_coros, "largest sweep point for coroutines", 1, 1000000, "1000", NULL },
        { "max-threads", CLI_INT, &max_threads, "largest sweep point for threads", 1, 30000, "100", NULL },
        { "max-procs", CLI_INT, &max_procs, "largest sweep point for processes", 1, 5000, "100", NULL },
        { "stack-kib", CLI_INT, &g_stack_kib, "stack per coroutine and per thread (KiB)", 16, 8192, NULL, NULL },
        { 0 },
    };
    struct cli cli = { .measures = true };
    cli_parse(argc, argv,
              "N tasks that each sleep, as coroutines on a hub, as threads and as processes:\n"
              "wall time and memory per task.", opts, &cli);

    static const long sweep[] = { 100, 300, 1000, 3000, 10000, 30000, 100000, 300000, 1000000 };
    const long cap[NKINDS] = { max_coros, max_threads, max_procs };
    long maps = max_map_count();
    FILE *data = data_open(cli.data, "many_sleepers: N tasks that each sleep, by kind");
    data_row(data, "# sleep_s: %.3f\n", (double)g_sleep / 1e9);
    char sl[32];
    printf("many_sleepers: N tasks each sleep %s; every run in a fresh child process\n",
           format_duration(g_sleep, sl, sizeof sl));
    printf("  %-10s %8s %10s %14s %14s %12s  %s\n", "kind", "tasks", "wall (s)", "beyond the", "per task",
           "memory per", "");
    printf("  %-10s %8s %10s %14s %14s %12s\n", "", "", "", "sleep (ms)", "(us)", "task (KiB)");
    static const char *const cols[] = {
        "tasks (count)", "wall (s): first start to last join", "extra (ms): wall time beyond one sleep",
        "per_task (us): extra / tasks", "mem (KiB): resident memory per task (processes: USS)",
        "guard (0/1): the stacks had guard pages (threads: glibc's; processes: the kernel's)", NULL,
    };
    for (int k = 0; k < NKINDS; k++) {
        if (kind != NKINDS && kind != k)
            continue;
        char name[64];
        snprintf(name, sizeof name, "%s", kind_name[k]);
        data_block(data, name, cols);
        long ns[ARRAY_LEN(sweep)];
        size_t count = 0;
        if (tasks)
            ns[count++] = tasks;
        for (size_t i = 0; !tasks && i < ARRAY_LEN(sweep) && sweep[i] <= cap[k]; i++)
            ns[count++] = sweep[i];
        for (size_t i = 0; i < count; i++) {
            long n = ns[i];
            /* a guarded stack is two memory areas; leave room for the rest */
            bool guard = 2 * n + 2000 < maps;
            struct result r;
            measure((enum kind)k, n, guard, &r);
            double wall = (double)r.wall_ns / 1e9, extra = (double)(r.wall_ns - g_sleep) / 1e6;
            char note[128] = "";
            if (k == CORO && !r.guard)
                snprintf(note, sizeof note, "no guard pages (vm.max_map_count is %ld)", maps);
            if (r.err)
                snprintf(note, sizeof note, "only %ld started: %s", r.created, strerror(r.err));
            printf("  %-10s %8ld %10.3f %14.1f %14.2f %12.1f  %s\n", kind_name[k], r.created, wall, extra,
                   extra * 1e3 / (double)(r.created ? r.created : 1), r.mem_kib, note);
            fflush(stdout);
            data_row(data, "%ld %.4f %.3f %.4f %.2f %d\n", r.created, wall, extra,
                     extra * 1e3 / (double)(r.created ? r.created : 1), r.mem_kib, r.guard);
            if (r.err)
                break; /* as far as the machine allows */
        }
    }
    data_close(data);
    return 0;
}
