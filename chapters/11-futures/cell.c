/* cell.c: one run of a workload on a runner, in a fresh process, measured (load.h).
 *
 * cell_run forks a fresh child for each run, so that a run's threads, stacks, hub and
 * worker processes start from nothing and its memory is its own; the tasks count what
 * they did in memory shared with the parent (struct load_stats). While the child runs,
 * the parent (if asked) samples the private memory of the child and of its children
 * every SAMPLE_NS, and keeps the peak; the CPU time comes from getrusage(RUSAGE_CHILDREN),
 * which counts a child once it has been waited for, together with the children it
 * waited for itself (a pool's workers, the processes of a hybrid).
 */
#include "load.h"

#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#define SAMPLE_NS (5 * NS_PER_MS)

struct shared {
    struct load_stats st;
    int64_t wall;
    long base_kib; /* private memory when the run started */
};

void cell_run(enum runner r, const struct load *l, bool memory, struct cell *c)
{
    if (l->cores < 1 || l->cores > 64)
        fatal("cell_run: %d cores (1..64)", l->cores);
    struct shared *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED)
        die("mmap");
    memset(sh, 0, sizeof *sh);
    struct rusage before, after;
    CHECK_SYS(getrusage(RUSAGE_CHILDREN, &before));
    pid_t pid = fork_child();
    if (pid == 0) {
        sh->base_kib = memory ? private_kib(getpid()) : 0;
        int64_t t0 = now_ns();
        runner_run(r, l, &sh->st);
        sh->wall = runner_last - t0;
        fflush(stdout);
        _exit(0);
    }
    long peak = 0;
    int status;
    for (;;) {
        if (memory) {
            long kib = private_kib_tree(pid);
            peak = kib > peak ? kib : peak;
        }
        if (child_wait(pid, memory ? SAMPLE_NS : -1, &status) == 0)
            break;
    }
    if (exitcode_of(status) != 0)
        fatal("%s: the run ended with %d", runner_name[r], exitcode_of(status));
    CHECK_SYS(getrusage(RUSAGE_CHILDREN, &after));
    double cpu = (double)(after.ru_utime.tv_sec - before.ru_utime.tv_sec + after.ru_stime.tv_sec -
                          before.ru_stime.tv_sec) +
                 (double)(after.ru_utime.tv_usec - before.ru_utime.tv_usec + after.ru_stime.tv_usec -
                          before.ru_stime.tv_usec) / 1e6;
    *c = (struct cell){ .wall = sh->wall, .cpu = cpu, .done = atomic_load(&sh->st.done),
                        .skipped = atomic_load(&sh->st.skipped), .wrong = atomic_load(&sh->st.wrong),
                        .peak = atomic_load(&sh->st.peak), .check = atomic_load(&sh->st.check),
                        .mem_kib = memory ? (double)(peak - sh->base_kib) : -1 };
    CHECK_SYS(munmap(sh, sizeof *sh));
}
