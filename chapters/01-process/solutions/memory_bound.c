/* solutions/memory_bound.c: exercise 3 of chapter 01 (processes).
 *
 * The question: cpu_processes' job is all arithmetic, so P processes on P cores take
 * 1/P of the time. Make each child's work read a large array instead: does the
 * speed-up hold when the job is limited by memory rather than by the CPU?
 *
 * The answer: up to a point, and the point depends on the machine. Every core has its
 * own arithmetic, but all of them share the memory controllers. One core streaming
 * through memory cannot use all of their bandwidth, so a second one still helps; the
 * speed-up stops once the cores together ask for as many bytes per second as the memory
 * delivers. This program prints the GB/s at each P: where the memory-bound line falls
 * behind the CPU-bound one, the memory is the limit.
 *
 * What it does: a CPU-bound job (hashing numbers, as cpu_processes) and a memory-bound
 * one (summing an array of --mib MiB, --passes times over) split over P = 1 .. cores
 * processes with process_split_sum() from process.c; the array is filled before the
 * forks, so the children share it copy-on-write and read it without copying it (in
 * huge pages where the kernel allows, so that a fork costs little). Round robin over P
 * and the two jobs, --repeat rounds, medians; every total is checked.
 *
 * Run:  solutions/memory_bound [--mib 256] [--passes 4] [--repeat 3]
 * Look for: the two speed-up columns side by side. On a 2-core VM both may reach about
 * 2x; on a machine with many cores the memory-bound one flattens well before the
 * number of cores.
 */
#include "../process.h"

#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static const uint64_t *g_array;
static long g_passes;

static uint64_t cpu_part(uint64_t from, uint64_t to, void *arg)
{
    (void)arg;
    uint64_t s = 0;
    for (uint64_t i = from; i < to; i++)
        s += mix64(i);
    return s;
}

static uint64_t mem_part(uint64_t from, uint64_t to, void *arg)
{
    (void)arg;
    uint64_t s = 0;
    for (long p = 0; p < g_passes; p++)
        for (uint64_t i = from; i < to; i++)
            s += g_array[i];
    return s;
}

int main(int argc, char **argv)
{
    long mib = 256, passes = 4, repeat = 3;
    const struct cli_opt opts[] = {
        { "mib", CLI_INT, &mib, "size of the array the memory-bound job reads", 1, 16384, "16", NULL },
        { "passes", CLI_INT, &passes, "times the job reads the whole array", 1, 1000, "2", NULL },
        { "repeat", CLI_INT, &repeat, "rounds over P (the median is kept)", 1, 100, "1", NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "Exercise 3: speed-up with P processes, a CPU-bound job against a memory-bound one.",
              opts, &cli);
    long cores = cpu_count();
    int maxp = cores < 2 ? 2 : (int)cores;
    uint64_t n = (uint64_t)mib * 1024 * 1024 / sizeof(uint64_t);
    /* huge pages where the kernel has them: each fork then copies a few page-table
     * entries instead of one per 4 KiB (chapter 01's fork_memory figure), which would
     * otherwise add to the time of every P */
    uint64_t *a = mmap(NULL, n * sizeof *a, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (a == MAP_FAILED)
        die("mmap(%ld MiB)", mib);
    (void)madvise(a, n * sizeof *a, MADV_HUGEPAGE); /* a hint: fails where THP is off */
    uint64_t expect_mem = 0;
    for (uint64_t i = 0; i < n; i++) {
        a[i] = mix64(i);
        expect_mem += a[i];
    }
    expect_mem *= (uint64_t)passes;
    g_array = a;
    g_passes = passes;
    uint64_t cpu_n = n * (uint64_t)passes / 2; /* about as long as the memory job on one core */
    uint64_t expect_cpu = cpu_part(0, cpu_n, NULL);

    double *t = malloc((size_t)(2 * maxp * repeat) * sizeof *t);
    if (!t)
        die("malloc");
#define T(job, p, r) t[((size_t)(job) * (size_t)maxp + (size_t)(p) - 1) * (size_t)repeat + (size_t)(r)]
    for (long r = 0; r < repeat; r++)
        for (int p = 1; p <= maxp; p++)
            for (int job = 0; job < 2; job++) {
                uint64_t sum;
                int64_t ns = job == 0 ? process_split_sum(cpu_n, p, cpu_part, NULL, &sum)
                                      : process_split_sum(n, p, mem_part, NULL, &sum);
                if (sum != (job == 0 ? expect_cpu : expect_mem))
                    fatal("P = %d: the %s job's total is wrong", p, job == 0 ? "CPU-bound" : "memory-bound");
                T(job, p, r) = (double)ns / 1e9;
            }
    printf("a CPU-bound job (%llu hashes) and a memory-bound one (%ld passes over %ld MiB), split over P\n"
           "processes; " CORES_FMT "; medians of %ld\n", (unsigned long long)cpu_n, passes, mib, CORES_ARG(cores), repeat);
    printf("  %3s %12s %10s %12s %10s %10s\n", "P", "CPU-bound s", "speed-up", "memory s", "speed-up", "GB/s");
    double one[2] = { 0, 0 };
    for (int p = 1; p <= maxp; p++) {
        double med[2];
        for (int job = 0; job < 2; job++) {
            med[job] = summarize(&T(job, p, 0), (size_t)repeat).median;
            if (p == 1)
                one[job] = med[job];
        }
        printf("  %3d %12.3f %9.2fx %12.3f %9.2fx %10.1f\n", p, med[0], one[0] / med[0], med[1], one[1] / med[1],
               (double)n * 8.0 * (double)passes / med[1] / 1e9);
    }
#undef T
    printf("every total matched the one-process total\n");
    free(t);
    CHECK_SYS(munmap(a, n * sizeof *a));
    return 0;
}
