/* start_methods.c: Python's three start methods, fork, spawn and forkserver, in C.
 *
 * Mirrors: multiprocessing.set_start_method('fork' | 'spawn' | 'forkserver'), and the
 * change of Python 3.14, which made 'forkserver' the default on Linux (see README).
 *
 * Part 1 starts one worker with each method (startmethod.c and forkserver.c say how)
 * and the worker tells who it is: its parent, how many threads it has, what it sees of a
 * global the main program set *after* starting the fork server and three idle
 * threads. fork's worker sees the parent as it is now (the global set; one thread,
 * the one that forked: the other three are not copied); spawn's is a new program (the
 * global at its initial value); the fork server's worker is a copy of the server,
 * made when the program had just started (the global not yet set; its parent is the
 * server, not us).
 *
 * Part 2 measures the start cost of each method: from the start until the worker's
 * result is back and the worker reaped, for a task that returns at once, the median
 * of --repeat starts (round robin over the methods, after a warm-up). First as the parent's touched
 * memory grows (0 MiB to --max-mib, small pages), then as its idle threads grow (0 to
 * 64 per core). fork copies the parent's page tables, so it grows with the memory;
 * spawn runs a new program and the fork server forks a small process, so neither
 * cares how big the parent is.
 *
 * Run:  ./start_methods [--repeat 31] [--max-mib 256] [--data FILE]
 * Look for: three different answers for the global in part 1; fork's cost climbing
 * with memory while spawn and forkserver stay flat in part 2.
 * See also: startmethod.c and forkserver.c (the machinery), fork_threads.c (why fork with threads is
 * dangerous), ../01-process/spawn_cost.c (fork against posix_spawn and threads).
 */
#include "startmethod.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static long g_setting = 0; /* the main program sets it to 42 once it is running */

static long threads_now(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        die("fopen /proc/self/status");
    char line[256];
    long n = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "Threads: %ld", &n) == 1)
            break;
    fclose(f);
    return n;
}

/* part 1's task: say who we are; return our parent's pid */
static uint64_t task_report(uint64_t method)
{
    trace("worker (%s): my parent is %d, I have %ld thread(s), g_setting = %ld",
          start_method_name((enum start_method)method), (int)getppid(), threads_now(), g_setting);
    return (uint64_t)getppid();
}

static uint64_t task_echo(uint64_t x)
{
    return x;
}

static const struct start_task g_tasks[] = { { "report", task_report }, { "echo", task_echo }, { NULL, NULL } };

/* ---- idle threads in the parent ---- */
static pthread_mutex_t g_idle_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_idle_cond = PTHREAD_COND_INITIALIZER;
static bool g_idle_stop;
static pthread_t g_idle[1024];
static long g_nidle;

static void *idle(void *arg)
{
    CHECK_PT(pthread_mutex_lock(&g_idle_lock));
    while (!g_idle_stop)
        CHECK_PT(pthread_cond_wait(&g_idle_cond, &g_idle_lock));
    CHECK_PT(pthread_mutex_unlock(&g_idle_lock));
    return arg;
}

static void idle_threads(long n) /* grow to n idle threads, or (n = 0) end them all */
{
    if (n == 0) {
        CHECK_PT(pthread_mutex_lock(&g_idle_lock));
        g_idle_stop = true;
        CHECK_PT(pthread_cond_broadcast(&g_idle_cond));
        CHECK_PT(pthread_mutex_unlock(&g_idle_lock));
        while (g_nidle > 0)
            CHECK_PT(pthread_join(g_idle[--g_nidle], NULL));
        g_idle_stop = false;
    }
    for (; g_nidle < n; g_nidle++)
        CHECK_PT(pthread_create(&g_idle[g_nidle], NULL, idle, NULL));
}

/* one start of `m` until the result is back and the worker reaped, in µs */
static double start_us(enum start_method m)
{
    struct worker w;
    int64_t t = now_ns();
    start_worker(m, "echo", 7, &w);
    if (worker_wait(&w, 30 * NS_PER_S) != 0)
        fatal("%s worker %d did not end within 30 s", start_method_name(m), (int)w.pid);
    t = now_ns() - t;
    if (!w.has_result || w.result != 7 || w.exitcode != 0)
        fatal("%s worker %d: no result or exit code %d", start_method_name(m), (int)w.pid, w.exitcode);
    return (double)t / 1e3;
}

/* the median start cost of each method, and its spread, into row[method][3] */
static void measure(long repeat, double row[START_METHODS][3])
{
    double v[START_METHODS][201];
    for (long r = 0; r < repeat; r++)
        for (int m = 0; m < START_METHODS; m++)
            v[m][r] = start_us((enum start_method)m);
    for (int m = 0; m < START_METHODS; m++) {
        struct summary s = summarize(v[m], (size_t)repeat);
        row[m][0] = s.median, row[m][1] = s.p10, row[m][2] = s.p90;
    }
}

static void keep_least(double least[START_METHODS], double row[START_METHODS][3])
{
    for (int m = 0; m < START_METHODS; m++)
        if (least[m] == 0 || row[m][0] < least[m])
            least[m] = row[m][0];
}

static void print_row(FILE *f, long x, double row[START_METHODS][3])
{
    printf("%10ld", x);
    for (int m = 0; m < START_METHODS; m++)
        printf(" %12.0f", row[m][0]);
    printf("\n");
    data_row(f, "%ld", x);
    for (int m = 0; m < START_METHODS; m++)
        data_row(f, " %.1f %.1f %.1f", row[m][0], row[m][1], row[m][2]);
    data_row(f, "\n");
}

int main(int argc, char **argv)
{
    startmethod_main(argc, argv, g_tasks); /* a spawned worker runs its task in here and exits */
    long repeat = 31, max_mib = 256;
    const struct cli_opt opts[] = {
        { "repeat", CLI_INT, &repeat, "starts per method and point (the median is reported)", 1, 201, "3", NULL },
        { "max-mib", CLI_INT, &max_mib, "largest touched parent memory (MiB)", 0, 4096, "16", NULL },
        { 0 },
    };
    struct cli cli = { .measures = true };
    cli_parse(argc, argv, "Python's start methods in C: fork, spawn (run the program again, send the task\n"
              "through a pipe) and forkserver (a server started early forks the workers).", opts, &cli);
    trace_start();
    forkserver_start(); /* now: one thread, a few hundred KiB */
    trace("fork server started: pid %d, while this program has %ld thread", (int)forkserver_pid(),
          threads_now());

    g_setting = 42; /* then the program gets going: settings, threads */
    idle_threads(3);
    trace("main: g_setting = %ld, %ld threads now (Python 3.12 would warn at a fork: this process is "
          "multi-threaded)", g_setting, threads_now());
    for (int m = 0; m < START_METHODS; m++) {
        struct worker w;
        start_worker((enum start_method)m, "report", (uint64_t)m, &w);
        if (worker_wait(&w, 30 * NS_PER_S) != 0)
            fatal("worker %d did not end within 30 s", (int)w.pid);
        trace("%-10s worker %d: exit code %d, result: parent %d%s", start_method_name((enum start_method)m),
              (int)w.pid, w.exitcode, (int)w.result,
              (pid_t)w.result == getpid() ? " (us)" : (pid_t)w.result == forkserver_pid() ? " (the fork server)" : "");
    }
    idle_threads(0);

    long cores = cpu_count();
    long page = sysconf(_SC_PAGESIZE), free_mib = sysconf(_SC_AVPHYS_PAGES) * (page / 1024) / 1024;
    if (max_mib > free_mib / 4) /* leave the machine room to breathe */
        max_mib = free_mib / 4;
    FILE *f = data_open(cli.data, "start_methods: the cost of starting a worker by fork, spawn and forkserver");
    static const char *const cols[] = {
        "x: MiB of touched parent memory (block 0), idle parent threads (block 1)",
        "fork_med (us): start to result and reaped, median", "fork_p10 (us)", "fork_p90 (us)",
        "spawn_med (us)", "spawn_p10 (us)", "spawn_p90 (us)",
        "forkserver_med (us)", "forkserver_p10 (us)", "forkserver_p90 (us)", NULL,
    };
    printf("\nstart cost: start, result back, reaped (median of %ld, µs)\n%10s %12s %12s %12s\n", repeat,
           "MiB", "fork", "spawn", "forkserver");
    data_block(f, "memory", cols);
    for (int w = 0; w < 3; w++) /* a warm-up: the first starts of each kind are slower */
        for (int m = 0; m < START_METHODS; m++)
            start_us((enum start_method)m);
    double row[START_METHODS][3], least[START_METHODS] = { 0 };
    for (long mib = 0; mib <= max_mib; mib = mib ? mib * 4 : 4) {
        size_t len = (size_t)mib << 20;
        void *p = NULL;
        if (len) {
            p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (p == MAP_FAILED)
                die("mmap %ld MiB", mib);
            if (madvise(p, len, MADV_NOHUGEPAGE) == -1) /* small pages, as a heap mostly has */
                die("madvise(MADV_NOHUGEPAGE)");
            memset(p, 1, len);
        }
        measure(repeat, row);
        print_row(f, mib, row);
        keep_least(least, row);
        if (p)
            CHECK_SYS(munmap(p, len));
    }
    printf("%10s %12s %12s %12s\n", "threads", "fork", "spawn", "forkserver");
    data_block(f, "threads", cols);
    for (long t = 0; t <= 64 * cores; t = t ? t * 4 : cores) {
        idle_threads(t);
        measure(repeat, row);
        print_row(f, t, row);
        keep_least(least, row);
        if (cli.quick && t >= cores)
            break;
    }
    idle_threads(0);
    /* the cheapest point of each: a busy spell of the machine, which slows every method
     * at the point it falls on, cannot make one look like the other */
    printf("cheapest start of all points: fork %.0f µs, spawn %.0f µs (%.1fx: loading and linking a program), "
           "forkserver %.0f µs\n", least[START_FORK], least[START_SPAWN], least[START_SPAWN] / least[START_FORK],
           least[START_FORKSERVER]);
    data_close(f);
    forkserver_stop();
    return 0;
}
