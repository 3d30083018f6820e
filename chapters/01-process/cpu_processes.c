/* cpu_processes.c: CPU-bound work split over P processes.
 *
 * Mirrors: the lessons' claim that two processes doing the same CPU-bound work (their
 * 100,000,000 additions, or sum(range(10**7)) on 4 processes) finish in about half the
 * time of one: processes run on different cores at once, with no GIL between them.
 *
 * What it does: a fixed total of work (hashing the numbers 0..N-1 and summing the
 * hashes, which no compiler can reduce to a formula) is cut into P equal slices, one
 * per child process, for P = 1 to --max-procs (twice the cores: 1..4 on 2 cores; past 8,
 * common.h's sweep_next picks 12, 16, 24, 32 ...). Each child sends its partial sum back
 * through a pipe; the parent adds them and checks the total against the one-process
 * answer, so a wrong split cannot pass for a fast one. Wall time is the median of
 * --repeat runs; speed-up is time(1) / time(P) from the same run. The runs go round
 * robin (P = 1, 2, ..., max, then again), so a slow spell of the machine falls on
 * every P alike instead of on one. The CPU time the children used (getrusage) is
 * printed beside the wall time: the same work, spread over more cores.
 *
 * The job grows with the cores (50 million hashes per core, about 50 ms of one core's
 * time each), so that at P = cores every process still runs about 50 ms: hundreds of
 * times the ~0.1 ms a fork costs, and a speed-up that measures the cores, not the forks.
 *
 * Run:  ./cpu_processes [--work 50*cores] [--max-procs 2*cores] [--repeat 7] [--data FILE]
 * Look for: the time halving from 1 to 2 processes on a 2-core machine, and nothing
 * more to gain past the number of cores (more processes than cores take turns).
 * Interrupting it (Ctrl-C) leaves no child behind: each dies with its parent.
 */
#include "process.h"

#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

/* one slice of the job: runs in a child of process_split_sum (process.c), which
 * forks one child per slice and adds up their sums, sent back through a pipe */
static uint64_t work(uint64_t from, uint64_t to, void *arg)
{
    (void)arg;
    uint64_t sum = 0;
    for (uint64_t i = from; i < to; i++)
        sum += mix64(i); /* a hash: its sum has no closed form */
    return sum;
}

/* CPU time (user + system) used by our reaped children so far, in seconds */
static double children_cpu_s(void)
{
    struct rusage ru;
    CHECK_SYS(getrusage(RUSAGE_CHILDREN, &ru));
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int main(int argc, char **argv)
{
    long cores = cpu_count();
    long work_m = 50 * cores, max_procs = cores < 2 ? 4 : 2 * cores, repeat = 7;
    const struct cli_opt opts[] = {
        { "work", CLI_INT, &work_m, "total work, in millions of hashed numbers, 50 per core", 1,
          1000000, "20", NULL },
        { "max-procs", CLI_INT, &max_procs, "largest number of processes, twice the cores (at least 4)", 1,
          2 * MAX_CORES, "4", NULL },
        { "repeat", CLI_INT, &repeat, "runs per process count (the median is kept)", 1, 1000, "1", NULL },
        { 0 },
    };
    struct cli cli = { .measures = true };
    cli_parse(argc, argv, "A fixed CPU-bound job split over 1, 2, ... processes: time and speed-up.", opts, &cli);

    uint64_t n = (uint64_t)work_m * 1000000;
    double *wall = malloc((size_t)(max_procs * repeat) * sizeof *wall);
    double *cpu = malloc((size_t)(max_procs * repeat) * sizeof *cpu);
    if (!wall || !cpu)
        die("malloc");
    uint64_t expect = 0;
    for (long r = 0; r < repeat; r++) {
        for (int procs = 1; procs <= max_procs; procs = sweep_next(procs, (int)cores, (int)max_procs)) {
            uint64_t sum;
            double c = children_cpu_s();
            wall[(procs - 1) * repeat + r] = (double)process_split_sum(n, procs, work, NULL, &sum) / 1e9;
            cpu[(procs - 1) * repeat + r] = children_cpu_s() - c;
            if (r == 0 && procs == 1)
                expect = sum;
            else if (sum != expect)
                fatal("%d processes got %#llx, one process got %#llx", procs,
                      (unsigned long long)sum, (unsigned long long)expect);
        }
    }

    FILE *data = data_open(cli.data, "cpu_processes: a fixed CPU-bound job split over P processes");
    static const char *const cols[] = {
        "procs (count): P, the number of processes",
        "median_s (s): median wall time", "p10_s (s)", "p90_s (s)",
        "speedup (x): median time with 1 process / median time with P",
        "cpu_s (s): median CPU time (user + system) of the P children together",
        "cores (count): the CPUs it may use (common.h, cpu_count), for the figure", NULL,
    };
    data_block(data, "wall time and speed-up vs processes", cols);
    printf("%ld million hashes split over 1..%ld processes, " CORES_FMT ", median of %ld runs\n",
           work_m, max_procs, CORES_ARG(cores), repeat);
    printf("  %5s %10s %10s %10s %9s %10s\n", "procs", "median s", "p10 s", "p90 s", "speed-up", "CPU s");
    double one = 0, one_cpu = 0, last_cpu = 0;
    for (int procs = 1; procs <= max_procs; procs = sweep_next(procs, (int)cores, (int)max_procs)) {
        struct summary s = summarize(&wall[(procs - 1) * repeat], (size_t)repeat);
        struct summary c = summarize(&cpu[(procs - 1) * repeat], (size_t)repeat);
        if (procs == 1) {
            one = s.median;
            one_cpu = c.median;
        }
        last_cpu = c.median;
        printf("  %5d %10.3f %10.3f %10.3f %8.2fx %10.3f\n", procs, s.median, s.p10, s.p90, one / s.median, c.median);
        data_row(data, "%d %.4f %.4f %.4f %.3f %.4f %ld\n", procs, s.median, s.p10, s.p90, one / s.median,
                 c.median, cores);
    }
    printf("every run's total matched the one-process total (%#llx)\n", (unsigned long long)expect);
    printf("CPU time of the %ld children together: %.2fx one process's (the work is split, not repeated)\n",
           max_procs, one_cpu > 0 ? last_cpu / one_cpu : 0);
    free(wall);
    free(cpu);
    data_close(data);
    return 0;
}
