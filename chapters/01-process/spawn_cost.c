/* spawn_cost.c: what it costs to start a unit of work and wait for it to end.
 *
 * Mirrors: the price behind Process(...).start() and join(), against Thread.
 *
 * Part 1 times five ways to start something that does nothing, and reap it:
 *   fork + _exit + waitpid        a copy of this process (what multiprocessing's
 *                                 "fork" start method does)
 *   vfork + _exit + waitpid       the child borrows the parent's memory until it exits
 *   posix_spawn(/bin/true)        a new program; glibc uses clone(CLONE_VM|CLONE_VFORK)
 *   fork + exec(/bin/true)        the classic way to run a new program
 *   pthread_create + join         a thread: same process, nothing copied
 * Part 2 grows the parent's touched memory (0 to 256 MiB) and times fork again: fork
 * copies the page tables, one entry per 4 KiB page, so its cost grows with the memory
 * the parent has touched; with transparent huge pages (2 MiB pages) there are 512
 * times fewer entries to copy. posix_spawn and threads copy nothing and stay flat.
 *
 * Each number is the median of --repeat runs (after a warm-up), with the 10th and
 * 90th percentiles beside it.
 *
 * Run:  ./spawn_cost [--repeat 101] [--max-mib 256] [--data plots/data/spawn_cost.dat]
 * Look for: a thread costing a fraction of a process; fork climbing with memory while
 * posix_spawn and threads stay put.
 */
#include "common.h"

#include <pthread.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

enum method { FORK, VFORK, SPAWN, FORK_EXEC, THREAD, NMETHODS };
static const char *const method_name[NMETHODS] = {
    "fork + _exit + waitpid", "vfork + _exit + waitpid", "posix_spawn(/bin/true) + waitpid",
    "fork + exec(/bin/true) + waitpid", "pthread_create + join",
};
static const char *const method_label[NMETHODS] = {
    "fork", "vfork", "posix\\\\_spawn", "fork+exec", "thread",
};

static char *const true_argv[] = { "true", NULL };

static void reap_ok(pid_t pid)
{
    int status;
    if (child_wait(pid, -1, &status) != 0 || exitcode_of(status) != 0)
        fatal("child %d failed: exit code %d", (int)pid, exitcode_of(status));
}

static void *noop(void *arg)
{
    return arg;
}

/* one start and reap, in microseconds */
static double once_us(enum method m)
{
    int64_t t = now_ns();
    pid_t pid;
    switch (m) {
    case FORK: /* a plain fork: the child exits at once, nothing to flush or orphan */
        pid = fork();
        if (pid == -1)
            die("fork");
        if (pid == 0)
            _exit(0);
        reap_ok(pid);
        break;
    case VFORK:
        pid = vfork();
        if (pid == -1)
            die("vfork");
        if (pid == 0)
            _exit(0); /* the only safe things in a vfork child: _exit and exec */
        reap_ok(pid);
        break;
    case SPAWN: {
        int rc = posix_spawn(&pid, "/bin/true", NULL, NULL, true_argv, environ);
        if (rc != 0)
            die_en(rc, "posix_spawn /bin/true");
        reap_ok(pid);
        break;
    }
    case FORK_EXEC:
        pid = fork();
        if (pid == -1)
            die("fork");
        if (pid == 0) {
            execv("/bin/true", true_argv);
            _exit(127);
        }
        reap_ok(pid);
        break;
    case THREAD: {
        pthread_t th;
        CHECK_PT(pthread_create(&th, NULL, noop, NULL));
        CHECK_PT(pthread_join(th, NULL));
        break;
    }
    default:
        fatal("no such method");
    }
    return (double)(now_ns() - t) / 1e3;
}

static struct summary measure(enum method m, long repeat, double *samples)
{
    for (int i = 0; i < 3; i++) /* warm-up: page in the code paths and /bin/true */
        once_us(m);
    for (long i = 0; i < repeat; i++)
        samples[i] = once_us(m);
    return summarize(samples, (size_t)repeat);
}

/* A region of `mib` MiB, every page touched, with or without huge pages. */
static void *touched_region(long mib, bool huge)
{
    if (mib == 0)
        return NULL;
    size_t len = (size_t)mib << 20;
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        die("mmap %ld MiB", mib);
    if (madvise(p, len, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE) == -1 && !huge)
        die("madvise(MADV_NOHUGEPAGE)");
    memset(p, 1, len);
    return p;
}

/* kB of this process's memory that sits in transparent huge pages */
static long anon_huge_kb(void)
{
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    if (!f)
        return 0;
    char line[256];
    long kb = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

int main(int argc, char **argv)
{
    long repeat = 101, mem_repeat = 21, max_mib = 256;
    const struct cli_opt opts[] = {
        { "repeat", CLI_INT, &repeat, "runs per method in part 1", 5, 100000, "5", NULL },
        { "mem-repeat", CLI_INT, &mem_repeat, "runs per point in part 2", 3, 10000, "3", NULL },
        { "max-mib", CLI_INT, &max_mib, "largest touched memory in part 2 (MiB)", 0, 4096, "4", NULL },
        { 0 },
    };
    struct cli cli = { .measures = true };
    cli_parse(argc, argv, "The cost of starting and reaping a process or a thread, and of fork as\n"
                          "the parent's memory grows.", opts, &cli);

    FILE *data = data_open(cli.data, "spawn_cost: start and reap one unit of work");
    double *samples = malloc((size_t)(repeat > mem_repeat ? repeat : mem_repeat) * sizeof *samples);
    if (!samples)
        die("malloc");
    fflush(stdout); /* nothing buffered may be copied into the forked children */

    printf("Part 1: start and reap one unit of work that does nothing\n");
    printf("(median of %ld runs, with the 10th and 90th percentiles, in microseconds)\n", repeat);
    static const char *const cols1[] = {
        "method (index)", "median (us)", "p10 (us)", "p90 (us)", "label (text)", NULL,
    };
    data_block(data, "start and reap, by method", cols1);
    for (int m = 0; m < NMETHODS; m++) {
        struct summary s = measure((enum method)m, repeat, samples);
        printf("  %-34s %9.1f   (%.1f .. %.1f)\n", method_name[m], s.median, s.p10, s.p90);
        fflush(stdout);
        data_row(data, "%d %.2f %.2f %.2f \"%s\"\n", m, s.median, s.p10, s.p90, method_label[m]);
    }

    printf("\nPart 2: the same as the parent's touched memory grows\n");
    printf("(median of %ld runs, microseconds; THP = transparent huge pages)\n", mem_repeat);
    printf("  %8s %12s %12s %12s %12s\n", "MiB", "fork", "fork (THP)", "posix_spawn", "thread");
    static const char *const cols2[] = {
        "mib (MiB): memory the parent touched",
        "fork (us): median fork + _exit + waitpid, 4 KiB pages", "fork_p10 (us)", "fork_p90 (us)",
        "fork_thp (us): the same with huge pages (NaN if none were given)", "thp_p10 (us)", "thp_p90 (us)",
        "spawn (us): median posix_spawn(/bin/true) + waitpid", "spawn_p10 (us)", "spawn_p90 (us)",
        "thread (us): median pthread_create + join", "thread_p10 (us)", "thread_p90 (us)", NULL,
    };
    data_block(data, "cost vs touched memory", cols2);
    static const long sizes[] = { 0, 1, 4, 16, 64, 128, 256, 512, 1024, 2048, 4096 };
    for (size_t i = 0; i < ARRAY_LEN(sizes) && sizes[i] <= max_mib; i++) {
        long mib = sizes[i];
        struct summary r[4];
        bool have_thp = false;
        void *small = touched_region(mib, false);
        fflush(stdout);
        r[0] = measure(FORK, mem_repeat, samples);
        r[2] = measure(SPAWN, mem_repeat, samples);
        r[3] = measure(THREAD, mem_repeat, samples);
        if (small && munmap(small, (size_t)mib << 20) == -1)
            die("munmap");
        void *huge = touched_region(mib, true);
        if (mib >= 4 && anon_huge_kb() >= mib * 1024 / 2) { /* most of it in huge pages */
            have_thp = true;
            r[1] = measure(FORK, mem_repeat, samples);
        }
        if (huge && munmap(huge, (size_t)mib << 20) == -1)
            die("munmap");
        char thp[32] = "-";
        if (have_thp)
            snprintf(thp, sizeof thp, "%.1f", r[1].median);
        printf("  %8ld %12.1f %12s %12.1f %12.1f\n", mib, r[0].median, thp, r[2].median, r[3].median);
        fflush(stdout);
        data_row(data, "%ld %.2f %.2f %.2f ", mib, r[0].median, r[0].p10, r[0].p90);
        if (have_thp)
            data_row(data, "%.2f %.2f %.2f ", r[1].median, r[1].p10, r[1].p90);
        else
            data_row(data, "NaN NaN NaN ");
        data_row(data, "%.2f %.2f %.2f %.2f %.2f %.2f\n", r[2].median, r[2].p10, r[2].p90,
                 r[3].median, r[3].p10, r[3].p90);
    }
    free(samples);
    data_close(data);
    return 0;
}
