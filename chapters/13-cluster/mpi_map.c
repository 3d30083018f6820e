/* mpi_map.c: Pool.map on MPI: chapter 03's CPU-bound job, cut up two ways.
 *
 * Mirrors: Pool.map over a job that has outgrown one machine, written the mpi4py way:
 * comm.scatter / comm.gather (static), and comm.send / comm.recv with a dealer on rank
 * 0 (dynamic, like a loop of apply_async).
 *
 * The job is chapter 03's pool_bench part 2: add up mix64(i) for i below --work million,
 * in --tasks tasks. One MPI job runs it twice (cluster.c):
 *   static   MPI_Scatter gives each rank one of `size` equal slices, MPI_Gather brings
 *            back one sum from each;
 *   dynamic  rank 0 deals the tasks one at a time to whichever worker asks next.
 * Then rank 0 computes the total alone, and both maps' totals must equal it. For each
 * map, a row per rank: its host and pid, the tasks it did, its time computing, its time
 * in the map, and the CPU time it used meanwhile.
 *
 * Run:  ./mpi_map [--ranks 3] [--work 120] [--tasks 48]
 *       Outside mpiexec it starts itself as `mpiexec -n RANKS ./mpi_map ...` and waits
 *       at most --timeout (launch.c). Started by mpiexec (mpiexec -n 4 ./mpi_map, or on
 *       a cluster, mpiexec -f hosts -n 16 ./mpi_map), it is one of the ranks.
 * Look for: the same total three times; in the dynamic map, rank 0 computes nothing
 * yet uses as much CPU as the others: it waits for messages by polling.
 */
#include "cluster.h"
#include "launch.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { HOST = 64, NCOL = 5 };

/* Every rank's numbers to rank 0, which prints them. */
static void report(const struct rank_work *me, int rank, int size, const char *dealer_note)
{
    int64_t row[NCOL] = { getpid(), me->tasks, me->work_ns, me->wall_ns, me->cpu_ns };
    char host[MPI_MAX_PROCESSOR_NAME] = "", name[HOST] = "";
    int len;
    CHECK_MPI(MPI_Get_processor_name(host, &len));
    snprintf(name, sizeof name, "%s", host);
    int64_t *rows = NULL;
    char *names = NULL;
    if (rank == 0 && (!(rows = malloc((size_t)size * sizeof row)) || !(names = malloc((size_t)size * HOST))))
        die("malloc");
    CHECK_MPI(MPI_Gather(row, NCOL, MPI_INT64_T, rows, NCOL, MPI_INT64_T, 0, MPI_COMM_WORLD));
    CHECK_MPI(MPI_Gather(name, HOST, MPI_CHAR, names, HOST, MPI_CHAR, 0, MPI_COMM_WORLD));
    if (rank == 0) {
        printf("  %4s %-12s %8s %6s %10s %10s %8s\n", "rank", "host", "pid", "tasks", "computing", "in the map",
               "CPU");
        for (int r = 0; r < size; r++) {
            const int64_t *x = &rows[r * NCOL];
            printf("  %4d %-12.12s %8lld %6lld %8.3f s %8.3f s %6.3f s%s\n", r, &names[r * HOST], (long long)x[0],
                   (long long)x[1], (double)x[2] / 1e9, (double)x[3] / 1e9, (double)x[4] / 1e9,
                   r == 0 && dealer_note ? dealer_note : "");
        }
    }
    free(rows);
    free(names);
}

int main(int argc, char **argv)
{
    long ranks = 3, work = 120, tasks = 48;
    int64_t timeout = 60 * NS_PER_S;
    const struct cli_opt opts[] = {
        { "ranks", CLI_INT, &ranks, "ranks to start (mpiexec -n) when run outside mpiexec", 1, 64, NULL, NULL },
        { "work", CLI_INT, &work, "the job, in millions of hashes", 1, 100000, "4", NULL },
        { "tasks", CLI_INT, &tasks, "tasks the dynamic map deals out", 1, 10000, "12", NULL },
        { "timeout", CLI_DURATION, &timeout, "how long the job may take, start-up included", NS_PER_S,
          3600 * NS_PER_S, NULL, NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    launch_parse(argc, argv, "Chapter 03's CPU-bound job on MPI: static (scatter/gather) and dynamic (a dealer).",
                 opts, &cli, NULL);

    if (!launch_in_job()) { /* we are the launcher: run the job, and say how it ended */
        printf("mpi_map: not started by mpiexec: running it with %ld ranks\n", ranks);
        return launch_job("mpi_map", (int)ranks, argv, timeout);
    }

    int rank, size;
    mpi_start(&argc, &argv, &rank, &size);
    struct job job = { (uint64_t)work * 1000000, tasks };
    struct rank_work me;
    if (rank == 0)
        printf("%d ranks: %ld million hashes (chapter 03's CPU-bound job)\n\n"
               "static: MPI_Scatter gives each rank one of %d equal slices, MPI_Gather brings back %d sums\n",
               size, work, size, size);
    uint64_t total_static = map_static(&job, &me);
    report(&me, rank, size, NULL);
    if (rank == 0)
        printf("  static total %#018llx in %.3f s\n\n", (unsigned long long)total_static, (double)me.wall_ns / 1e9);

    if (rank == 0 && size == 2)
        printf("dynamic: rank 0 deals %ld tasks, one at a time, to its one worker\n", tasks);
    else if (rank == 0 && size > 2)
        printf("dynamic: rank 0 deals %ld tasks, one at a time, to whichever of %d workers asks next\n", tasks,
               size - 1);
    else if (rank == 0)
        printf("dynamic: one rank, no one to deal to: rank 0 does the %ld tasks itself\n", tasks);
    uint64_t total_dynamic = map_dynamic(&job, &me, NULL);
    report(&me, rank, size, size > 1 ? "  (the dealer)" : NULL);
    if (rank == 0)
        printf("  dynamic total %#018llx in %.3f s\n\n", (unsigned long long)total_dynamic,
               (double)me.wall_ns / 1e9);

    int status = 0;
    if (rank == 0) {
        uint64_t one = job_sum(0, job.n);
        printf("one process: rank 0 alone computes %#018llx\n", (unsigned long long)one);
        if (total_static == one && total_dynamic == one) {
            printf("both maps' totals equal the one-process total\n");
        } else {
            printf("MISMATCH: static %s, dynamic %s\n", total_static == one ? "right" : "wrong",
                   total_dynamic == one ? "right" : "wrong");
            status = 1;
        }
    }
    fflush(stdout);
    CHECK_MPI(MPI_Finalize());
    return status;
}
